/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev55_async_log.c - review 5 of stop 55 (observe):
 * chio_kernel_evaluate_async() logged its "decision" event before the
 * receipt was pushed, so a call whose receipt then failed (the store
 * removed under the kernel) had a decision line and no receipt; the sync
 * path logs after the commit. Now the async path logs in its completion,
 * once the receipt is committed.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <time.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"

static int g_decisions; /* "decision" events logged (atomic) */

static void sink(void *ctx, chio_log_level level, const char *json, size_t len)
{
    static const char ev[] = "\"event\":\"decision\"";

    (void)ctx;
    (void)level;
    if (memmem(json, len, ev, sizeof(ev) - 1) != NULL) /* @json is not NUL-terminated */
        __atomic_add_fetch(&g_decisions, 1, __ATOMIC_SEQ_CST);
}

typedef struct done {
    int n, rc;
    chio_verdict verdict;
} done;

static void on_done(void *ctx, int rc, chio_response *resp, const chio_error *err)
{
    done *d = ctx;

    (void)err;
    d->rc = rc;
    d->verdict = rc == 0 ? resp->verdict : CHIO_VERDICT_NONE;
    __atomic_add_fetch(&d->n, 1, __ATOMIC_RELEASE);
}

static void call_async(chio_kernel *k, const char *sid, done *d)
{
    chio_call c;
    chio_error err;

    kt_grant_call(&c, sid, "cap-a", "{}", 2);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_evaluate_async(k, &c, on_done, d, &err), 0, "%s", err.message);
    cr_assert(testutil_wait_until(testutil_flag_set, &d->n, 10000), "no completion");
}

Test(rev55_async_log, an_async_decision_is_logged_only_once_its_receipt_is_committed)
{
    char *dir = testutil_tmpdir(), *db = testutil_join(dir, "db"), sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel_config cfg;
    chio_kernel *k;
    done d1 = {0}, d2 = {0};

    kt_config(&cfg, db);
    cfg.log = sink;
    cfg.log_level = CHIO_LOG_DEBUG;
    k = kt_kernel(&cfg);
    kt_serve_t(k, "srv", 0, kt_echo_tool);
    kt_grant_session(k, (uint64_t)time(NULL), "cap-a", "", sid);

    call_async(k, sid, &d1);
    cr_expect_eq(d1.rc, 0);
    cr_expect_eq(d1.verdict, CHIO_VERDICT_ALLOW);
    cr_expect_eq(__atomic_load_n(&g_decisions, __ATOMIC_SEQ_CST), 1);

    testutil_rmrf(db); /* the next commit fails closed */
    call_async(k, sid, &d2);
    cr_expect_neq(d2.rc, 0, "the receipt was committed to a removed store");
    cr_expect_eq(__atomic_load_n(&g_decisions, __ATOMIC_SEQ_CST), 1,
                 "a decision was logged for a call whose receipt failed");
    chio_kernel_free(k);
    testutil_rmrf(dir);
    free(db);
    free(dir);
}
