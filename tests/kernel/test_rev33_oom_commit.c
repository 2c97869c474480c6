/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev33_oom_commit.c - review 33: allocation failure on
 * the calling thread of every kind of call (an allow, each deny kind, a
 * streamed call, a nested sampling request, a budget charge), synchronous
 * and asynchronous. The injector (common/failalloc.h) fails the Nth
 * allocation of libchio and OpenSSL for N = 1 .. the allocations of one
 * call, once alone and once with every later one failing too. After each:
 * a result of 0 comes with a verified receipt that is in the store, an
 * error with an empty response, never an allow for a call denied without
 * faults; the next call without faults gives the answer it gives without
 * faults (the kernel is not wedged: a failure while the commit stage
 * builds a group used to fail the kernel closed for good); and the whole
 * log audits clean (a failed SHA-256 of the hash chain used to enter the
 * chain, so the log no longer audited and the kernel refused to restart
 * on it). Real kernel, RocksDB and OpenSSL.
 */
#include <criterion/criterion.h>

#include "common/failalloc.h"
#include "kernel/kernelutil.h"
#include "kernel/oomkit.h"

TestSuite(rev33_oom_commit);

static void sweep_all(fa_mode mode, int async, int audit)
{
    ok_env env;
    kt_log_report rep;

    ok_start(&env);
    for (size_t i = 0; i < OK_NKINDS; i++)
        ok_sweep(&env, &ok_kinds[i], FA_THIS_THREAD, mode, async, audit);
    chio_kernel_free(env.k);
    env.k = NULL;
    rep = kt_check_log(env.db, OK_CPB);
    cr_assert_gt(rep.receipts, 0);
    ok_audit(env.db);
    /* and a restart continues the log */
    env.k = ok_kernel(env.db);
    ok_open_session(&env);
    ok_baseline(&env, &ok_kinds[0], FA_THIS_THREAD, 0, 0);
    chio_kernel_free(env.k);
    env.k = NULL;
    ok_audit(env.db);
    ok_stop(&env);
}

Test(rev33_oom_commit, injector_fails_what_it_is_told_to)
{
    cr_assert(fa_active());
}

Test(rev33_oom_commit, the_log_audits_clean_after_each_failed_allocation_of_an_allow)
{
    ok_env env;

    ok_start(&env);
    ok_sweep(&env, &ok_kinds[0], FA_THIS_THREAD, FA_ONLY_NTH, 0, 1);
    chio_kernel_free(env.k);
    env.k = NULL;
    ok_audit(env.db);
    ok_stop(&env);
}

Test(rev33_oom_commit, each_allocation_of_each_kind_of_call_fails_alone)
{
    sweep_all(FA_ONLY_NTH, 0, 0);
}

Test(rev33_oom_commit, memory_stays_short_from_each_allocation_of_each_kind_of_call)
{
    sweep_all(FA_FROM_NTH, 0, 0);
}

/* Under ASan this sweep is also the leak check of the asynchronous path:
 * when the response could not be filled (its reason's copy failing after
 * the output, request id and child receipts had moved in), the call
 * returned ENOMEM and freed its context without them (LeakSanitizer in
 * make asan, session 33). */
Test(rev33_oom_commit, each_allocation_of_an_asynchronous_call_fails_alone)
{
    sweep_all(FA_ONLY_NTH, 1, 0);
}
