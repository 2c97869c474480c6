/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev33_oom_threads.c - review 33: allocation failure on
 * the kernel's own threads (signers, commit, checkpoint, completion) while
 * asynchronous calls of every kind run: the Nth allocation of those
 * threads fails for N = 1 .. their allocations for one call. After each:
 * the completion's result is 0 only with a verified receipt in the store,
 * the next call without faults is answered as without faults (a checkpoint
 * whose signature failed for lack of memory used to fail the kernel closed
 * for good), and at the end the log audits clean with every checkpoint.
 */
#include <criterion/criterion.h>

#include "common/failalloc.h"
#include "common/poll.h"
#include "kernel/kernelutil.h"
#include "kernel/oomkit.h"

TestSuite(rev33_oom_threads);

Test(rev33_oom_threads, each_allocation_of_the_pipeline_threads_fails_alone)
{
    ok_env env;
    kt_log_report rep;

    ok_start(&env);
    for (size_t i = 0; i < OK_NKINDS; i++)
        ok_sweep(&env, &ok_kinds[i], FA_OTHER_THREADS, FA_ONLY_NTH, 1, 0);
    cr_assert_eq(chio_kernel_drain(env.k, NULL), 0);
    chio_kernel_free(env.k);
    env.k = NULL;
    rep = kt_check_log(env.db, OK_CPB);
    cr_assert_gt(rep.checkpoints, 0);
    ok_audit(env.db);
    ok_stop(&env);
}

/* Every allocation off the calling thread fails from now on: the callers
 * sign and commit their own receipts (the pipeline is idle), but the
 * checkpoint thread cannot sign the checkpoint they cut. After its retries
 * the kernel fails closed (in about 7 s); the log has no checkpoint
 * missing (a failed signature used to be taken for a count and the
 * checkpoint skipped, the next one written after the gap, the kernel going
 * on) and a restart cuts the owed one again. The retries take their whole
 * schedule (1 ms doubling to 1 s, about 7 s) although the calls keep
 * cutting and dropping checkpoints: each of those woke the retrying thread
 * early, and the kernel failed closed about 1 s after memory ran short. */
Test(rev33_oom_threads, a_checkpoint_that_cannot_be_signed_is_never_skipped)
{
    ok_env env;
    kt_log_report rep;
    ok_result r;
    uint64_t start, end;

    ok_start(&env);
    start = testutil_now_ms();
    end = start + 60000;
    fa_arm(1, FA_OTHER_THREADS, FA_FROM_NTH);
    /* a call the pipeline's threads sign fails (not signed); one the
     * caller signs commits until the kernel fails closed */
    do {
        r = ok_call(&env, "cap-ok", "srv", "t", NULL);
        cr_assert(r.rc == 0 || r.rc == CHIO_ECRYPTO || r.rc == CHIO_ENOMEM || r.rc == CHIO_EFAILED,
                  "%s: %s", chio_errno_name(r.rc), r.message);
        if (r.rc != CHIO_EFAILED)
            testutil_nap_ms(20);
    } while (r.rc != CHIO_EFAILED && testutil_now_ms() < end);
    fa_disarm();
    cr_assert_eq(r.rc, CHIO_EFAILED, "the kernel went on for 60 s without its checkpoint");
    cr_expect_geq(testutil_now_ms() - start, 4000,
                  "failed closed %llu ms after memory ran short: the retries were cut short",
                  (unsigned long long)(testutil_now_ms() - start));
    chio_kernel_free(env.k);
    env.k = NULL;
    ok_audit(env.db);
    env.k = ok_kernel(env.db);
    ok_open_session(&env);
    ok_baseline(&env, &ok_kinds[0], FA_THIS_THREAD, 0, 0);
    chio_kernel_free(env.k);
    env.k = NULL;
    rep = kt_check_log(env.db, OK_CPB);
    cr_assert_gt(rep.checkpoints, 0);
    ok_audit(env.db);
    ok_stop(&env);
}
