/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev28_storefault.c - review 28: the signing and
 * persistence path under real faults of the store's file system.
 *   - a store directory removed or moved away while the kernel serves: the
 *     next commit fails closed (an error, no receipt) instead of "allow"
 *     for receipts that are in no log; a moved log still audits clean;
 *     asynchronous requests in flight are all answered, none with both an
 *     error and a receipt, and the kernel leaves no descriptor open;
 *   - a store whose sentinel file cannot be written is not opened;
 *   - a full disk (a 2 MiB tmpfs, mounted in a mount namespace of the test
 *     process's own, so nothing stays mounted; root only): every allowed
 *     receipt is in the log, freeing the space does not revive the failed
 *     kernel, a new kernel continues the sequence, the budget is never
 *     given back, and the CLI audit of the log is clean.
 * Real kernel, RocksDB, Ed25519 and CLI.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"
#include "kernel_internal.h"

#define IAT 1710000000u
#define NOW 1710000300u
#define CPB 10

static char *dir;

static uint64_t sf_clock(void *ctx)
{
    (void)ctx;
    return NOW;
}

static void setup(void)
{
    dir = testutil_tmpdir();
}

static void teardown(void)
{
    char *mnt;

    /* the full-disk test's tmpfs (in this process's own namespace) */
    if (asprintf(&mnt, "%s/small", dir) >= 0) {
        (void)umount2(mnt, MNT_DETACH);
        free(mnt);
    }
    testutil_rmrf(dir);
    free(dir);
}

TestSuite(rev28_storefault, .init = setup, .fini = teardown);

static char *sf_path(const char *name)
{
    char *p;

    cr_assert_geq(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

/* A kernel on @db (NOSYNC, checkpoints every CPB receipts) with tool srv/t. */
static chio_kernel *sf_kernel(const char *db)
{
    static const char *const tools[] = {"t"};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_kernel *k;

    kt_config(&cfg, db);
    cfg.clock = sf_clock;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    cfg.checkpoint_batch_size = CPB;
    k = kt_kernel(&cfg);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = kt_echo_tool;
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, NULL), 0);
    return k;
}

/* A session holding "cap-sf" for srv/t (@max > 0: max_invocations). */
static void sf_open(chio_kernel *k, uint64_t max, char sid[CHIO_SESSION_ID_LEN + 1])
{
    char scope[256], *tok;
    const char *caps[1];
    chio_error err;

    snprintf(scope, sizeof(scope),
             "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\",\"operations\":"
             "[\"invoke\"]%s%llu}]}",
             max > 0 ? ",\"max_invocations\":" : "", (unsigned long long)max);
    if (max == 0) /* no budget: drop the number again */
        snprintf(scope, sizeof(scope),
                 "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\",\"operations\":"
                 "[\"invoke\"]}]}");
    tok = tk_token(TK_KERNEL_SEED, "cap-sf", TK_AGENT_PUB, scope, IAT, 100000, NULL, 0);
    cr_assert_not_null(tok);
    caps[0] = tok;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    free(tok);
}

/* One call to srv/t. Returns the status; *verdict and *code the answer.
 * An error never carries a receipt; an answer always does. */
static int sf_call(chio_kernel *k, const char *sid, chio_verdict *verdict, chio_code *code,
                   chio_error *err)
{
    chio_response r;
    chio_call c;
    int rc;

    memset(&c, 0, sizeof(c));
    c.session_id = sid;
    c.capability_id = "cap-sf";
    c.server_id = "srv";
    c.tool_name = "t";
    c.arguments_json = "{\"n\":1}";
    c.arguments_len = 7;
    chio_error_init(err);
    chio_response_init(&r);
    rc = chio_kernel_evaluate(k, &c, &r, err);
    if (rc == 0) {
        cr_assert_not_null(r.receipt, "an answer without a receipt");
        *verdict = r.verdict;
        *code = r.code;
    } else {
        cr_assert_null(r.receipt, "an error with a receipt");
    }
    chio_response_destroy(&r);
    return rc;
}

static int sf_failed(chio_kernel *k)
{
    chio_kernel_metrics m;

    chio_kernel_metrics_get(k, &m);
    return m.failed;
}

/* The CLI audit of @db is clean. */
static void sf_audit_ok(const char *db)
{
    cli_result r = testutil_run_cli((const char *const[]){"receipt", "verify", "--receipt-db", db,
                                                          "--trusted-key", TEST_PUB, NULL},
                                    NULL, 0);

    cr_expect_eq(r.status, 0, "audit of %s: %s %s", db, r.out, r.err);
    cr_expect_neq(strstr(r.out, "\"log_problems\":0"), NULL, "audit of %s: %s", db, r.out);
    testutil_cli_free(&r);
}

/* ---- the store's directory removed or moved away -------------------------------------------- */

/* Before: RocksDB appends to the WAL it holds open, so after `rm -rf` of
 * the store the kernel answered "allow" for a couple of thousand calls
 * (until its next flush needed a new file), every receipt in a deleted
 * file. */
Test(rev28_storefault, a_store_removed_while_serving_fails_closed_instead_of_allowing)
{
    char *db = sf_path("db"), sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = sf_kernel(db);
    chio_verdict v;
    chio_code code;
    chio_error err;
    int rc;

    sf_open(k, 0, sid);
    cr_assert_eq(sf_call(k, sid, &v, &code, &err), 0, "%s", err.message);
    cr_expect_eq(v, CHIO_VERDICT_ALLOW);
    testutil_rmrf(db);
    rc = sf_call(k, sid, &v, &code, &err);
    cr_expect_eq(rc, CHIO_ESTORE, "a call after the store was removed: %s (%s)", chio_err_name(rc),
                 err.message);
    cr_expect_neq(strstr(err.message, "receipt store"), NULL, "%s", err.message);
    cr_expect(sf_failed(k), "the kernel did not fail closed");
    rc = sf_call(k, sid, &v, &code, &err);
    cr_expect_eq(rc, CHIO_EFAILED, "%s", chio_err_name(rc));
    chio_kernel_free(k);
    free(db);
}

/* A log moved away keeps what was committed before (the failed group may
 * be in it too: its caller got an error, never an allow) and audits clean;
 * a kernel on the moved log continues it. */
Test(rev28_storefault, a_store_moved_away_fails_closed_and_the_moved_log_audits_clean)
{
    char *db = sf_path("db"), *moved = sf_path("moved"), sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = sf_kernel(db);
    kt_log_report rep;
    chio_verdict v;
    chio_code code;
    chio_error err;
    int i, rc;

    sf_open(k, 0, sid);
    for (i = 0; i < 3; i++)
        cr_assert_eq(sf_call(k, sid, &v, &code, &err), 0, "%s", err.message);
    cr_assert_eq(rename(db, moved), 0);
    rc = sf_call(k, sid, &v, &code, &err);
    cr_expect_eq(rc, CHIO_ESTORE, "a call after the store moved: %s (%s)", chio_err_name(rc),
                 err.message);
    cr_expect(sf_failed(k));
    chio_kernel_free(k);
    rep = kt_check_log_owed(moved, CPB, 1);
    cr_expect_geq(rep.receipts, 3);
    cr_expect_leq(rep.receipts, 4);
    k = sf_kernel(moved);
    sf_open(k, 0, sid);
    cr_expect_eq(sf_call(k, sid, &v, &code, &err), 0, "%s", err.message);
    chio_kernel_free(k);
    kt_check_log(moved, CPB);
    sf_audit_ok(moved);
    free(db);
    free(moved);
}

/* ---- asynchronous requests across the removal ------------------------------------------------ */

typedef struct sf_async {
    int accepted, answered, ok, failed, bad;
} sf_async;

static void sf_async_cb(void *ctx, int rc, chio_receipt *r)
{
    sf_async *a = ctx;

    /* Callbacks run on the one completion thread; the test thread reads
     * `answered` with acquire (sf_all_answered), after the others. */
    if (rc == 0 && r != NULL)
        a->ok++;
    else if (rc != 0 && r == NULL)
        a->failed++;
    else
        a->bad++;
    chio_receipt_free(r);
    __atomic_add_fetch(&a->answered, 1, __ATOMIC_RELEASE);
}

static int sf_all_answered(void *arg)
{
    sf_async *a = arg;

    return __atomic_load_n(&a->answered, __ATOMIC_ACQUIRE) == a->accepted;
}

/* Open descriptors of this process. */
static int sf_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    cr_assert_not_null(d);
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own */
}

/* Requests in flight when the store vanishes each get their callback
 * (an error without a receipt once the commit fails), later submissions
 * are refused, the drain returns, and the kernel's descriptors go with it. */
Test(rev28_storefault, asynchronous_requests_across_a_removal_are_all_answered)
{
    char *db = sf_path("db");
    int fds = sf_fds(), i, rc;
    sf_async a = {0, 0, 0, 0, 0};
    chio_kernel *k = sf_kernel(db);
    chio_receipt *r = NULL;
    chio_error err;

    cr_assert_eq(chio_kernel_sign_receipt(k, kt_builder(1), &r, NULL), 0);
    chio_receipt_free(r);
    for (i = 0; i < 400; i++) {
        if (i == 200)
            testutil_rmrf(db);
        chio_error_init(&err);
        rc = chio_kernel_sign_receipt_async(k, kt_builder(2 + (uint64_t)i), sf_async_cb, &a, &err);
        if (rc == 0)
            a.accepted++;
        else
            cr_expect(rc == CHIO_EFAILED || rc == CHIO_ESTORE, "%s", chio_err_name(rc));
    }
    cr_assert(testutil_wait_until(sf_all_answered, &a, 30000), "%d of %d answered", a.answered,
              a.accepted);
    cr_expect_eq(a.bad, 0, "an answer with an error and a receipt, or neither");
    cr_expect(sf_failed(k), "the kernel did not fail closed");
    cr_expect_neq(chio_kernel_sign_receipt(k, kt_builder(999), &r, NULL), 0);
    chio_kernel_drain(k, NULL);
    chio_kernel_free(k);
    cr_expect_eq(sf_fds(), fds, "descriptors left open");
    free(db);
}

/* Before: a failed sentinel write was ignored; the store opened unmarked
 * (a later open could not tell it from a damaged one). A directory in
 * the way of the sentinel's temporary file is a real failure of the
 * write (EISDIR). */
Test(rev28_storefault, a_store_whose_sentinel_cannot_be_written_is_not_opened)
{
    char *db = sf_path("db"), *tmp;
    chio_store *s = NULL;
    chio_error err;
    int rc;

    cr_assert_eq(mkdir(db, 0700), 0);
    cr_assert_geq(asprintf(&tmp, "%s/CHIO-RECEIPT-STORE.tmp", db), 0);
    cr_assert_eq(mkdir(tmp, 0700), 0);
    chio_error_init(&err);
    rc = chio_store_open(db, CHIO_STORE_READ_WRITE, &s, &err);
    cr_expect_eq(rc, CHIO_ESTORE, "%s: %s", chio_err_name(rc), err.message);
    cr_expect_null(s);
    cr_expect_neq(strstr(err.message, "sentinel"), NULL, "%s", err.message);
    if (s != NULL)
        chio_store_close(s);
    /* the obstacle gone, the same directory opens and is marked */
    cr_assert_eq(rmdir(tmp), 0);
    chio_error_init(&err);
    cr_expect_eq(chio_store_open(db, CHIO_STORE_READ_WRITE, &s, &err), 0, "%s", err.message);
    chio_store_close(s);
    free(tmp);
    free(db);
}

/* ---- a full disk ------------------------------------------------------------------------------
 */

#define SF_BUDGET 400

Test(rev28_storefault, a_full_disk_keeps_every_allow_the_sequence_and_the_budget)
{
    char *mnt = sf_path("small"), *db, *filler, sid[CHIO_SESSION_ID_LEN + 1];
    uint64_t before = 0, after = 0, i;
    const char *why;
    kt_log_report rep;
    chio_kernel *k;
    chio_verdict v;
    chio_code code;
    chio_error err;
    int rc = 0;

    cr_assert_eq(mkdir(mnt, 0700), 0);
    why = testutil_private_tmpfs(mnt, "2m");
    if (why != NULL) {
        fprintf(stderr, "SKIP: %s (%s)\n", why, strerror(errno));
        cr_skip_test("%s", why);
    }
    cr_assert_geq(asprintf(&db, "%s/db", mnt), 0);
    cr_assert_geq(asprintf(&filler, "%s/filler", mnt), 0);
    k = sf_kernel(db);
    sf_open(k, SF_BUDGET, sid);
    for (i = 0; i < 20; i++) {
        cr_assert_eq(sf_call(k, sid, &v, &code, &err), 0, "%s", err.message);
        before++;
    }
    testutil_fill_fs(filler);
    /* Until the disk refuses: each answer has its receipt (sf_call). */
    for (i = 0; i < SF_BUDGET && rc == 0; i++) {
        rc = sf_call(k, sid, &v, &code, &err);
        if (rc == 0) {
            cr_assert_eq(v, CHIO_VERDICT_ALLOW, "budget spent before the disk filled");
            before++;
        }
    }
    cr_assert(rc == CHIO_ESTORE || rc == CHIO_EFAILED, "the disk never filled: %s",
              chio_err_name(rc));
    cr_expect(sf_failed(k));
    /* Space again: the failed kernel stays failed (operations.md). */
    cr_assert_eq(unlink(filler), 0);
    rc = sf_call(k, sid, &v, &code, &err);
    cr_expect_eq(rc, CHIO_EFAILED, "a failed kernel served again: %s", chio_err_name(rc));
    chio_kernel_free(k);

    /* Every allowed receipt is in the log, numbered 1..n without a gap. */
    rep = kt_check_log_owed(db, CPB, 64);
    cr_expect_geq(rep.receipts, before);
    cr_expect_leq(rep.receipts, before + 1, "more receipts than answers");
    /* A new kernel continues the sequence; the budget charged before the
     * failure stays charged: at most one call (the one that failed) wasted. */
    k = sf_kernel(db);
    sf_open(k, SF_BUDGET, sid);
    for (i = 0; i <= SF_BUDGET; i++) {
        cr_assert_eq(sf_call(k, sid, &v, &code, &err), 0, "%s", err.message);
        if (v != CHIO_VERDICT_ALLOW)
            break;
        after++;
    }
    cr_expect_eq(code, CHIO_CODE_BUDGET_EXHAUSTED, "%s", chio_code_name(code));
    cr_expect_leq(before + after, SF_BUDGET, "the budget was given back");
    cr_expect_geq(before + after, SF_BUDGET - 1, "more than the failed call wasted");
    chio_kernel_free(k);
    rep = kt_check_log(db, CPB);
    cr_expect_geq(rep.last, before + after + 1);
    sf_audit_ok(db);
    free(db);
    free(filler);
    free(mnt);
}
