/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_reliability.c - the kernel on a bad day: cancelled and
 * hung tools, tools returning garbage, a failing store answered within a
 * bounded time, a full disk (a size-limited tmpfs, when the test may
 * mount one), retention (archiving old receipts with their checkpoints,
 * by age and by size, crash-safe), and key hygiene (the seed wiped on free,
 * never in a log line, mlock available, locked by default, kept out of core
 * dumps: a live keyholder process scanned through /proc/PID/mem).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"
#include "kernel_internal.h"

#define IAT 1710000000u

static uint64_t g_now = IAT + 10;
static char *dir;

static void setup(void)
{
    g_now = IAT + 10;
    dir = testutil_tmpdir();
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
}

TestSuite(reliability, .init = setup, .fini = teardown);

static char *path_in(const char *name)
{
    char *p;
    cr_assert_geq(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

/* ---- tools that misbehave -------------------------------------------------------------- */

static int hanging_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                        size_t len, chio_output *out)
{
    int *entered = user;
    uint64_t end = testutil_now_ms() + 30000;

    (void)tool;
    (void)args;
    (void)len;
    __atomic_store_n(entered, 1, __ATOMIC_SEQ_CST);
    /* Hangs until the host cancels (30 s at most, so that a kernel that
     * never cancels fails the test instead of hanging it). */
    while (!chio_tool_ctx_cancelled(ctx) && testutil_now_ms() < end)
        testutil_nap_ms(2);
    return chio_output_set_json(out, "\"too late\"", 10);
}

static int garbage_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                        size_t len, chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    (void)args;
    (void)len;
    chio_output_set_json(out, "{\"unterminated\": ", 17);
    return 0; /* claims success with an invalid result */
}

static int g_entered;

static chio_kernel *kernel_with_tools(const char *path)
{
    static const char *const hang[] = {"hang"};
    static const char *const junk[] = {"junk"};
    static const char *const ok[] = {"echo"};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_kernel *k;

    kt_config(&cfg, path);
    cfg.clock = kt_clock_at;
    cfg.clock_ctx = &g_now;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    cfg.checkpoint_batch_size = 10;
    k = kt_kernel(&cfg);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv-hang";
    ts.tool_names = hang;
    ts.ntools = 1;
    ts.invoke = hanging_tool;
    ts.user = &g_entered;
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, NULL), 0);
    ts.server_id = "srv-junk";
    ts.tool_names = junk;
    ts.invoke = garbage_tool;
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, NULL), 0);
    ts.server_id = "srv";
    ts.tool_names = ok;
    ts.invoke = kt_echo_tool;
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, NULL), 0);
    return k;
}

static void open_all(chio_kernel *k, char sid[CHIO_SESSION_ID_LEN + 1])
{
    char *tok = tk_token(TK_KERNEL_SEED, "cap-r", TK_AGENT_PUB,
                         "{\"grants\":[{\"server_id\":\"*\",\"tool_name\":\"*\","
                         "\"operations\":[\"invoke\"]}]}",
                         IAT, 100000000, NULL, 0);
    const char *caps[1] = {tok};

    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, NULL), 0);
    free(tok);
}

static chio_call make_call(const char *sid, const char *server, const char *tool)
{
    chio_call c;

    memset(&c, 0, sizeof(c));
    c.session_id = sid;
    c.capability_id = "cap-r";
    c.server_id = server;
    c.tool_name = tool;
    c.arguments_json = "{\"n\":1}";
    c.arguments_len = 7;
    return c;
}

static void expect_verified(const chio_response *r, const char *verdict)
{
    uint8_t pub[32];
    chio_receipt_report rep;

    cr_assert_not_null(r->receipt);
    chio_pubkey_from_hex(TEST_PUB, 64, pub);
    cr_assert_eq(chio_receipt_verify(r->receipt, pub, 1, &rep), 0);
    cr_expect(rep.ok);
    cr_expect_str_eq(
        chio_json_string(
            chio_json_get(chio_json_get(chio_receipt_root(r->receipt), "decision"), "verdict"),
            NULL),
        verdict);
}

typedef struct canceller {
    int flag;
    int saw_entry; /* the tool was running when the flag was set */
} canceller;

/* Cancel once the hung tool is running (waiting 10 s at most for it). */
static void *cancel_later(void *arg)
{
    canceller *c = arg;

    c->saw_entry = testutil_wait_until(testutil_flag_set, &g_entered, 10000);
    __atomic_store_n(&c->flag, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

Test(reliability, a_hung_tool_cancelled_by_the_host_gets_a_cancelled_receipt)
{
    chio_kernel *k = kernel_with_tools(NULL);
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_call c;
    chio_call_options o;
    chio_response r;
    chio_error err;
    canceller can = {0, 0};
    pthread_t th;

    open_all(k, sid);
    c = make_call(sid, "srv-hang", "hang");
    memset(&o, 0, sizeof(o));
    o.cancel = &can.flag;
    pthread_create(&th, NULL, cancel_later, &can);
    cr_assert_eq(chio_kernel_evaluate_ex(k, &c, &o, &r, &err), 0, "%s", err.message);
    pthread_join(th, NULL);
    cr_expect(can.saw_entry, "the hung tool never started");
    cr_expect_eq(r.verdict, CHIO_VERDICT_CANCELLED);
    cr_expect_str_eq(chio_code_name(r.code), "cancelled");
    cr_expect_null(r.output);
    expect_verified(&r, "cancelled");
    chio_response_destroy(&r);

    /* A timeout cancels by itself. */
    g_entered = 0;
    memset(&o, 0, sizeof(o));
    o.timeout_ms = 80;
    cr_assert_eq(chio_kernel_evaluate_ex(k, &c, &o, &r, &err), 0);
    cr_expect_eq(r.verdict, CHIO_VERDICT_CANCELLED);
    cr_expect_neq(strstr(r.reason, "timeout"), NULL, "%s", r.reason);
    expect_verified(&r, "cancelled");
    chio_response_destroy(&r);

    /* Cancelled before dispatch: the tool never runs. */
    g_entered = 0;
    can.flag = 1;
    memset(&o, 0, sizeof(o));
    o.cancel = &can.flag;
    cr_assert_eq(chio_kernel_evaluate_ex(k, &c, &o, &r, &err), 0);
    cr_expect_eq(r.verdict, CHIO_VERDICT_CANCELLED);
    cr_expect_eq(g_entered, 0, "a call cancelled before dispatch reached its tool");
    chio_response_destroy(&r);

    /* The kernel keeps serving. */
    c = make_call(sid, "srv", "echo");
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW);
    chio_response_destroy(&r);
    chio_kernel_free(k);
}

Test(reliability, a_tool_returning_invalid_json_is_a_deny_with_a_receipt)
{
    chio_kernel *k = kernel_with_tools(NULL);
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_call c;
    chio_response r;
    chio_error err;

    open_all(k, sid);
    c = make_call(sid, "srv-junk", "junk");
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0);
    cr_expect_eq(r.verdict, CHIO_VERDICT_DENY);
    cr_expect_eq(r.code, CHIO_CODE_TOOL_ERROR);
    cr_expect_neq(strstr(r.reason, "not valid JSON"), NULL, "%s", r.reason);
    expect_verified(&r, "deny");
    chio_response_destroy(&r);
    chio_kernel_free(k);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

typedef struct failer {
    chio_kernel *k;
    const char *sid;
    int rc;
    uint64_t ms;
} failer;

static void *call_during_failure(void *arg)
{
    failer *f = arg;
    chio_call c = make_call(f->sid, "srv", "echo");
    chio_response r;
    uint64_t t0 = mono_ms();

    f->rc = chio_kernel_evaluate(f->k, &c, &r, NULL);
    f->ms = mono_ms() - t0;
    cr_expect_null(r.receipt);
    chio_response_destroy(&r);
    return NULL;
}

Test(reliability, a_failing_store_answers_every_caller_quickly_and_never_allows)
{
    char *path = path_in("fail"), sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = kernel_with_tools(path);
    failer f[8];
    pthread_t th[8];
    int i;

    open_all(k, sid);
    {
        chio_call c = make_call(sid, "srv", "echo");
        chio_response r;
        cr_assert_eq(chio_kernel_evaluate(k, &c, &r, NULL), 0);
        chio_response_destroy(&r);
    }
    chio__store_fail_writes(chio__kernel_store(k), -1);
    for (i = 0; i < 8; i++) {
        f[i] = (failer){k, sid, 0, 0};
        pthread_create(&th[i], NULL, call_during_failure, &f[i]);
    }
    for (i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        cr_expect(f[i].rc == CHIO_ESTORE || f[i].rc == CHIO_EFAILED, "caller %d: %s", i,
                  chio_err_name(f[i].rc));
        cr_expect_lt(f[i].ms, 5000, "caller %d waited %llu ms", i, (unsigned long long)f[i].ms);
    }
    chio_kernel_free(k);
    free(path);
}

/* ---- a full disk ---------------------------------------------------------------------------- */

Test(reliability, a_full_disk_fails_closed_and_loses_nothing)
{
    char *mnt = path_in("small"), *db, *filler, sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k;
    chio_kernel_metrics m;
    uint64_t allowed = 0, i;
    kt_log_report rep;
    FILE *f;
    int rc = 0;

    cr_assert_eq(mkdir(mnt, 0700), 0);
    /* In a mount namespace of this test process's own (Criterion runs each
     * test in a process of its own), so a failing test leaves nothing
     * mounted on the host. */
    if (geteuid() != 0 || unshare(CLONE_NEWNS) != 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", mnt, "tmpfs", 0, "size=6m") != 0) {
        fprintf(stderr,
                "SKIP: cannot mount a size-limited tmpfs here (%s); the disk-full test "
                "needs root\n",
                strerror(errno));
        cr_skip_test("cannot mount a size-limited tmpfs (needs root)");
    }
    cr_assert_geq(asprintf(&db, "%s/db", mnt), 0);
    cr_assert_geq(asprintf(&filler, "%s/filler", mnt), 0);
    k = kernel_with_tools(db);
    open_all(k, sid);
    /* Leave RocksDB about 1.5 MiB, then fill it. */
    f = fopen(filler, "w");
    cr_assert_not_null(f);
    {
        static char block[65536];
        memset(block, 'f', sizeof(block));
        for (i = 0; i < 60; i++)
            if (fwrite(block, 1, sizeof(block), f) != sizeof(block))
                break;
    }
    fclose(f);
    for (i = 0; i < 100000 && rc == 0; i++) {
        chio_call c = make_call(sid, "srv", "echo");
        chio_response r;
        rc = chio_kernel_evaluate(k, &c, &r, NULL);
        if (rc == 0) {
            cr_assert_not_null(r.receipt); /* never an allow without a receipt */
            allowed++;
        } else {
            cr_expect_null(r.receipt);
        }
        chio_response_destroy(&r);
    }
    cr_expect(rc == CHIO_ESTORE || rc == CHIO_EFAILED, "the disk never filled up: %s",
              chio_err_name(rc));
    chio_kernel_metrics_get(k, &m);
    cr_expect(m.failed);
    chio_kernel_free(k);

    /* Free the space: the log holds every allowed receipt, and a reopened
     * kernel continues it. */
    cr_assert_eq(unlink(filler), 0);
    /* The failed kernel may owe the checkpoints cut but not yet written;
     * the reopened one cuts them (checked exactly below). */
    rep = kt_check_log_owed(db, 10, 128);
    cr_expect_geq(rep.receipts, allowed);
    k = kernel_with_tools(db);
    open_all(k, sid);
    {
        chio_call c = make_call(sid, "srv", "echo");
        chio_response r;
        cr_assert_eq(chio_kernel_evaluate(k, &c, &r, NULL), 0);
        cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW);
        chio_response_destroy(&r);
    }
    chio_kernel_metrics_get(k, &m);
    cr_expect_eq(m.last_seq, rep.last + 1, "sequence did not continue");
    chio_kernel_free(k);
    kt_check_log(db, 10);
    umount(mnt);
    free(db);
    free(filler);
    free(mnt);
}

/* ---- retention ------------------------------------------------------------------------------ */

static chio_kernel *retention_kernel(const char *live, const char *archive, uint32_t days,
                                     uint64_t max_bytes)
{
    chio_kernel_config cfg;

    kt_config(&cfg, live);
    cfg.clock = kt_clock_at;
    cfg.clock_ctx = &g_now;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    cfg.checkpoint_batch_size = 10;
    cfg.retention_config.enabled = 1;
    cfg.retention_config.retention_days = days;
    cfg.retention_config.max_size_bytes = max_bytes;
    cfg.retention_config.archive_path = archive;
    return kt_kernel(&cfg);
}

static void sign_n(chio_kernel *k, uint64_t n, uint64_t base)
{
    uint64_t i;

    for (i = 0; i < n; i++) {
        chio_receipt *r;
        cr_assert_eq(chio_kernel_sign_receipt(k, kt_builder(base + i), &r, NULL), 0);
        chio_receipt_free(r);
    }
}

/* The CLI audit of @db passes (an archive log: with --allow-archive). */
static void expect_cli_audit_ok(const char *db, const char *want)
{
    cli_result r = testutil_run_cli(
        (const char *const[]){"receipt", "verify", "--receipt-db", db, "--trusted-key", TEST_PUB,
                              strstr(db, "archive") != NULL ? "--allow-archive" : NULL, NULL},
        NULL, 0);

    cr_expect_eq(r.status, 0, "audit of %s: %s", db, r.out);
    cr_expect_neq(strstr(r.out, want), NULL, "audit of %s: %s", db, r.out);
    testutil_cli_free(&r);
}

Test(reliability, retention_archives_old_receipts_with_their_checkpoints)
{
    char *live = path_in("live"), *arch = path_in("archive");
    chio_kernel *k = retention_kernel(live, arch, 1, 0);
    chio_archive_report rep;
    chio_error err;

    sign_n(k, 50, 0);             /* timestamps IAT+10: old in two days */
    g_now = IAT + 10 + 2 * 86400; /* two days later */
    sign_n(k, 25, 50);            /* seqs 51..75: recent */
    /* Checkpoints land after the calls that complete them: archiving
     * moves all but the newest one written, so wait for 61-70. */
    kt_wait_checkpoint(k, 7);
    cr_assert_eq(chio_kernel_run_retention(k, &rep, &err), 0, "%s", err.message);
    cr_expect_eq(rep.receipts_moved, 50);
    cr_expect_eq(rep.checkpoints_moved, 5);
    cr_expect_eq(rep.first_seq, 1);
    cr_expect_eq(rep.last_seq, 50);
    cr_expect_lt(rep.live_bytes_after, rep.live_bytes_before);
    sign_n(k, 10, 75); /* the chain continues after archiving */
    chio_kernel_free(k);

    expect_cli_audit_ok(arch, "\"receipts\":50,\"first_seq\":1,\"last_seq\":50,\"gaps\":0,"
                              "\"invalid\":0,\"checkpoints\":5,\"checkpoints_valid\":5");
    expect_cli_audit_ok(live, "\"receipts\":35,\"first_seq\":51,\"last_seq\":85,\"gaps\":0,"
                              "\"invalid\":0,\"checkpoints\":3,\"checkpoints_valid\":3");
    /* The kernel reopens the live log and continues it. */
    k = retention_kernel(live, arch, 1, 0);
    sign_n(k, 5, 85);
    chio_kernel_free(k);
    expect_cli_audit_ok(live, "\"last_seq\":90,\"gaps\":0,\"invalid\":0");
    free(live);
    free(arch);
}

Test(reliability, retention_by_size_keeps_the_newest_checkpoint)
{
    char *live = path_in("live"), *arch = path_in("archive");
    chio_kernel *k = retention_kernel(live, arch, 0, 20000); /* ~15 receipts */
    chio_archive_report rep;
    chio_error err;

    sign_n(k, 60, 0);
    kt_wait_checkpoint(k, 6); /* written after the calls that complete them */
    cr_assert_eq(chio_kernel_run_retention(k, &rep, &err), 0, "%s", err.message);
    cr_expect_gt(rep.receipts_moved, 0);
    cr_expect_eq(rep.receipts_moved % 10, 0, "whole checkpoint ranges move");
    cr_expect_leq(rep.receipts_moved, 50, "the newest checkpoint stays");
    cr_expect_leq(rep.live_bytes_after, 20000 + 15000);
    chio_kernel_free(k);
    expect_cli_audit_ok(arch, "\"gaps\":0,\"invalid\":0");
    expect_cli_audit_ok(live, "\"gaps\":0,\"invalid\":0");
    free(live);
    free(arch);
}

static int in_store(chio_store *s, uint64_t seq)
{
    char *json = NULL;
    int rc = chio_store_get_receipt(s, seq, &json, NULL, NULL);

    free(json);
    return rc == 0;
}

Test(reliability, a_crash_during_archiving_loses_nothing)
{
    char *live = path_in("live"), *arch = path_in("archive");
    chio_kernel *k = retention_kernel(live, arch, 1, 0);
    chio_archive_report rep;
    chio_store *ls, *as;
    chio_error err;
    uint64_t seq;
    int rc;

    sign_n(k, 40, 0);
    g_now = IAT + 10 + 2 * 86400;
    sign_n(k, 10, 40);
    chio_kernel_free(k);

    /* The archive write succeeds, the live delete fails: the state a crash
     * between the two leaves behind. */
    cr_assert_eq(chio_store_open(live, CHIO_STORE_READ_WRITE, &ls, &err), 0, "%s", err.message);
    chio__store_fail_writes(ls, -1);
    rc = chio_store_archive(ls, arch, IAT + 86400, 0, 1, &rep, &err);
    cr_expect_eq(rc, CHIO_ESTORE);
    chio_store_close(ls);
    cr_assert_eq(chio_store_open(live, CHIO_STORE_READ_ONLY, &ls, &err), 0);
    cr_assert_eq(chio_store_open(arch, CHIO_STORE_READ_ONLY, &as, &err), 0);
    for (seq = 1; seq <= 50; seq++)
        cr_expect(in_store(ls, seq) || in_store(as, seq), "receipt %llu is in neither store",
                  (unsigned long long)seq);
    chio_store_close(ls);
    chio_store_close(as);

    /* The next pass finishes the job. */
    cr_assert_eq(chio_store_open(live, CHIO_STORE_READ_WRITE, &ls, &err), 0);
    cr_assert_eq(chio_store_archive(ls, arch, IAT + 86400, 0, 1, &rep, &err), 0, "%s", err.message);
    cr_expect_eq(rep.receipts_moved, 40);
    chio_store_close(ls);
    expect_cli_audit_ok(arch, "\"receipts\":40,\"first_seq\":1,\"last_seq\":40,\"gaps\":0");
    expect_cli_audit_ok(live, "\"receipts\":10,\"first_seq\":41,\"last_seq\":50,\"gaps\":0");
    free(live);
    free(arch);
}

Test(reliability, retention_needs_an_archive_path)
{
    chio_kernel_config cfg;
    chio_kernel *k = NULL;
    chio_error err;
    char *live = path_in("live");

    kt_config(&cfg, live);
    cfg.retention_config.enabled = 1;
    cfg.retention_config.retention_days = 1;
    cr_expect_eq(chio_kernel_new(&cfg, &k, &err), CHIO_ECONFIG);
    cr_expect_neq(strstr(err.message, "archive_path"), NULL, "%s", err.message);
    free(live);
}

/* ---- key hygiene ---------------------------------------------------------------------------- */

static int g_wiped = -1;

static void inspect_freed(const void *mem, size_t len)
{
    const unsigned char *p = mem;
    size_t i;

    g_wiped = 1;
    for (i = 0; i < len; i++)
        if (p[i] != 0)
            g_wiped = 0;
}

Test(reliability, the_seed_is_wiped_when_the_keypair_is_freed)
{
    chio_keypair *kp;

    cr_assert_eq(chio_keypair_from_seed_hex(TEST_SEED, 64, &kp, NULL), 0);
    chio__keypair_set_free_hook(inspect_freed);
    chio_keypair_free(kp);
    chio__keypair_set_free_hook(NULL);
    cr_expect_eq(g_wiped, 1, "the keypair's memory was not all zero when freed");
}

typedef struct log_sink {
    pthread_mutex_t mu;
    char *all;
    size_t len;
    int lines;
} log_sink;

static void capture(void *ctx, chio_log_level level, const char *json, size_t len)
{
    log_sink *s = ctx;

    (void)level;
    pthread_mutex_lock(&s->mu);
    s->all = realloc(s->all, s->len + len + 2);
    memcpy(s->all + s->len, json, len);
    s->len += len;
    s->all[s->len++] = '\n';
    s->all[s->len] = '\0';
    s->lines++;
    pthread_mutex_unlock(&s->mu);
}

Test(reliability, the_seed_never_reaches_a_log_line)
{
    log_sink sink = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};
    char *path = path_in("logs"), sid[CHIO_SESSION_ID_LEN + 1], upper[65];
    chio_kernel_config cfg;
    chio_kernel *k;
    size_t i;

    kt_config(&cfg, path);
    cfg.log = capture;
    cfg.log_ctx = &sink;
    cfg.log_level = CHIO_LOG_DEBUG;
    cfg.checkpoint_batch_size = 5;
    k = kt_kernel(&cfg);
    open_all(k, sid);
    sign_n(k, 12, 0);
    chio__store_fail_writes(chio__kernel_store(k), 1); /* an error path logs too */
    {
        chio_receipt *r = NULL;
        chio_kernel_sign_receipt(k, kt_builder(99), &r, NULL);
        chio_receipt_free(r);
    }
    chio_kernel_drain(k, NULL);
    chio_kernel_free(k);
    /* The lines every run logs (whether a checkpoint line comes before the
     * failed write is timing): the scan below must have seen each kind. */
    cr_assert_not_null(sink.all, "the test must see log lines");
    cr_expect_not_null(strstr(sink.all, "\"kernel_started\""), "%s", sink.all);
    cr_expect_not_null(strstr(sink.all, "\"session_opened\""), "%s", sink.all);
    cr_expect_not_null(strstr(sink.all, "\"store_write_failed\""), "%s", sink.all);
    cr_expect_not_null(strstr(sink.all, "\"kernel_drained\""), "%s", sink.all);
    for (i = 0; i < 64; i++)
        upper[i] = (char)(TEST_SEED[i] >= 'a' ? TEST_SEED[i] - 32 : TEST_SEED[i]);
    upper[64] = '\0';
    cr_expect_null(strstr(sink.all, TEST_SEED), "a log line holds the seed");
    cr_expect_null(strstr(sink.all, upper), "a log line holds the seed (upper case)");
    cr_expect_null(strstr(sink.all, "07070707070707070707"), "a log line holds part of the seed");
    free(sink.all);
    free(path);
}

Test(reliability, key_memory_can_be_locked)
{
    chio_kernel_config cfg;
    chio_kernel *k = NULL;
    chio_error err;
    int rc;

    kt_config(&cfg, NULL);
    cfg.lock_key_memory = 1;
    rc = chio_kernel_new(&cfg, &k, &err);
    /* mlock may be refused by RLIMIT_MEMLOCK; then the error says so. */
    if (rc == CHIO_ESYS)
        cr_expect_neq(strstr(err.message, "RLIMIT_MEMLOCK"), NULL, "%s", err.message);
    else
        cr_expect_eq(rc, 0, "%s", err.message);
    chio_kernel_free(k);
}

/* ---- keys stay out of core dumps ------------------------------------------------------------- */

#define KEYHOLDER CHIO_RELIABILITY_DIR "/keyholder"

typedef struct dump_scan {
    size_t raw_dumpable, hex_dumpable; /* copies in memory a core dump would hold */
    size_t raw_dd;                     /* copies in pages flagged dd (MADV_DONTDUMP) */
    size_t regions, dd_regions, unread;
    int open_errno; /* /proc/<pid>/mem or smaps could not be opened */
} dump_scan;

/* Occurrences of @pat in @fd's memory [start, end), read in chunks that
 * overlap by the pattern's length. */
static size_t count_in(int fd, unsigned long start, unsigned long end, const void *pat, size_t plen,
                       int *unreadable)
{
    static unsigned char buf[(1 << 20) + 128];
    size_t found = 0, keep = 0;
    unsigned long at = start;

    while (at < end) {
        size_t want = end - at > (1u << 20) ? (1u << 20) : end - at;
        ssize_t n = pread(fd, buf + keep, want, (off_t)at);
        const unsigned char *p = buf, *hit;
        size_t have;

        if (n <= 0) {
            *unreadable = 1;
            break;
        }
        have = keep + (size_t)n;
        /* memchr + memcmp, not memmem: ASan's memmem interceptor is a
         * naive quadratic search, minutes over a process image. */
        while ((size_t)(buf + have - p) >= plen &&
               (hit = memchr(p, *(const unsigned char *)pat,
                             (size_t)(buf + have - p) - plen + 1)) != NULL) {
            if (memcmp(hit, pat, plen) == 0)
                found++;
            p = hit + 1;
        }
        keep = have >= plen - 1 ? plen - 1 : have;
        memmove(buf, buf + have - keep, keep);
        at += (unsigned long)n;
    }
    return found;
}

/* Scan the live process @pid as a core dump would see it: every readable
 * mapping of /proc/PID/smaps, apart from those flagged dd. */
static dump_scan scan_memory(pid_t pid, const uint8_t seed[32], const char *hex)
{
    char path[64], line[512], upper[65];
    dump_scan s;
    unsigned long start = 0, end = 0;
    int readable = 0, memfd, have = 0;
    long resident = 0;
    FILE *f;
    size_t i;

    memset(&s, 0, sizeof(s));
    for (i = 0; i < 64; i++)
        upper[i] = (char)(hex[i] >= 'a' ? hex[i] - 32 : hex[i]);
    upper[64] = '\0';
    snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
    memfd = open(path, O_RDONLY);
    if (memfd < 0) {
        s.open_errno = errno;
        return s;
    }
    snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
    f = fopen(path, "r");
    if (f == NULL) {
        s.open_errno = errno;
        close(memfd);
        return s;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char perms[8] = "", name[256] = "";
        unsigned long a, b;
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %255s", &a, &b, perms, name) >= 3) {
            start = a;
            end = b;
            readable = perms[0] == 'r' && strcmp(name, "[vvar]") != 0 &&
                       strcmp(name, "[vsyscall]") != 0 && strcmp(name, "[vvar_vclock]") != 0;
            have = 1;
            resident = 0;
            continue;
        }
        /* Pages neither resident nor swapped hold nothing a dump could
         * show (ASan maps terabytes that way). */
        if (have && (strncmp(line, "Rss:", 4) == 0 || strncmp(line, "Swap:", 5) == 0)) {
            resident += strtol(strchr(line, ':') + 1, NULL, 10);
            continue;
        }
        if (have && strncmp(line, "VmFlags:", 8) == 0) {
            int dd = strstr(line, " dd") != NULL, bad = 0;
            have = 0;
            if (!readable || resident == 0)
                continue;

            s.regions++;
            if (dd) {
                s.dd_regions++;
                /* Where the key page is; not the terabytes of ASan's
                 * shadow, also dd. */
                if (end - start <= (64ul << 20))
                    s.raw_dd += count_in(memfd, start, end, seed, 32, &bad);
            } else {
                s.raw_dumpable += count_in(memfd, start, end, seed, 32, &bad);
                s.hex_dumpable += count_in(memfd, start, end, hex, 64, &bad);
                s.hex_dumpable += count_in(memfd, start, end, upper, 64, &bad);
            }
            s.unread += bad;
        }
    }
    fclose(f);
    close(memfd);
    return s;
}

/*
 * Scan @pid's memory for the seed. The scanner reads the seed into its own
 * buffers, and on some machines (seen on an AMD Zen 5 VM, cause not pinned
 * down: an AVX-512 string routine is likely) one of those
 * reads left a copy on the scanning thread's stack, which a later scan of
 * the same process counted as the key's: a scan of this very process is
 * therefore made by a forked child, which reads the parent (waiting, its
 * stack still) through /proc/<parent>/mem and reports over a pipe.
 */
static dump_scan scan_process(pid_t pid, const uint8_t seed[32], const char *hex)
{
    dump_scan s;
    pid_t child;
    int pfd[2], status = 0;
    ssize_t n;

    memset(&s, 0, sizeof(s));
    if (pid == getpid()) {
        cr_assert_eq(pipe(pfd), 0);
        (void)prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0); /* Yama: let the child read us */
        child = fork();
        cr_assert_neq(child, -1);
        if (child == 0) {
            dump_scan r = scan_memory(getppid(), seed, hex);
            _exit(write(pfd[1], &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1);
        }
        close(pfd[1]);
        n = read(pfd[0], &s, sizeof(s));
        close(pfd[0]);
        cr_assert_eq(waitpid(child, &status, 0), child);
        cr_assert(n == (ssize_t)sizeof(s) && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the scanning child failed");
    } else {
        s = scan_memory(pid, seed, hex);
    }
    if (s.open_errno != 0)
        cr_skip_test("cannot read the memory of process %d: %s", (int)pid, strerror(s.open_errno));
    return s;
}

/* What the keyholder reports of its key's memory on its "ready" line. */
typedef struct keyholder_state {
    int locked, dontdump, scanned, secure;
    size_t copies, pages;
    unsigned long long scan_us;
} keyholder_state;

/* Start the keyholder with a fresh random seed (from a 0600 file), wait
 * for "ready", scan it, end it. */
static dump_scan run_keyholder(int secure_heap, keyholder_state *ks)
{
    char *seed_path = path_in("seed"), hex[65], ready[128];
    int in[2], out[2], pid_read = 0, status;
    chio_keypair *kp;
    uint8_t seed[32];
    dump_scan s;
    FILE *rd;
    pid_t pid;
    int fd;

    cr_assert_eq(chio_keypair_generate(&kp, NULL), 0);
    cr_assert_eq(chio_keypair_write_seed_hex(kp, hex), 0);
    chio_keypair_free(kp);
    cr_assert_eq(chio__hex_decode_exact(hex, 64, seed, 32), 0);
    fd = open(seed_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, hex, 64), 64);
    close(fd);
    cr_assert_eq(pipe(in), 0);
    cr_assert_eq(pipe(out), 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        if (secure_heap)
            execl(KEYHOLDER, KEYHOLDER, "--secure-heap", "--seed-file", seed_path, (char *)NULL);
        else
            execl(KEYHOLDER, KEYHOLDER, "--seed-file", seed_path, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    rd = fdopen(out[0], "r");
    cr_assert_not_null(rd);
    if (fgets(ready, sizeof(ready), rd) == NULL ||
        sscanf(ready, "ready %d %d %d %d %zu %zu %llu %d", &pid_read, &ks->locked, &ks->dontdump,
               &ks->scanned, &ks->copies, &ks->pages, &ks->scan_us, &ks->secure) != 8) {
        close(in[1]);
        waitpid(pid, &status, 0);
        cr_assert_fail("keyholder did not get ready (status %d)", status);
    }
    cr_assert_eq(pid_read, (int)pid);
    s = scan_process(pid, seed, hex);
    close(in[1]); /* the keyholder exits */
    fclose(rd);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "keyholder status %d", status);
    unlink(seed_path);
    free(seed_path);
    OPENSSL_cleanse(hex, sizeof(hex));
    OPENSSL_cleanse(seed, sizeof(seed));
    return s;
}

/*
 * What a core dump of a host would hold, read from a live keyholder
 * process: every readable mapping except those flagged dd in smaps (what
 * the kernel leaves out of a core dump). Checked: the seed's hex (either
 * case) is nowhere in it; the seed's 32 bytes are in a dd page (the
 * keypair's own page); and, when the keypair reports its protection
 * complete (dontdump 1: the scan at key creation ran and marked every copy
 * it found), nowhere outside dd pages. OpenSSL 3.0 keeps its own copy of
 * the private key in its ordinary heap (OSSL_PARAM_get_octet_string's
 * OPENSSL_malloc); key creation finds it there and marks its page
 * MADV_DONTDUMP (exactly one copy, one or two pages). With a secure heap
 * the key is moved into it first (EVP_PKEY_dup), so the scan finds no copy
 * and marks nothing; the secure heap is itself dd.
 */
static void expect_dump_holds_no_seed(int secure_heap)
{
    keyholder_state ks = {-1, -1, -1, -1, 0, 0, 0};
    dump_scan s = run_keyholder(secure_heap, &ks);

    cr_log_info("%s: %zu regions (%zu dd), seed copies: %zu dumpable, %zu in dd pages; "
                "key page locked %d; key creation: scanned %d, %zu copies of OpenSSL's, "
                "%zu pages marked, %llu us, secure heap %d",
                secure_heap ? "secure heap" : "default", s.regions, s.dd_regions, s.raw_dumpable,
                s.raw_dd, ks.locked, ks.scanned, ks.copies, ks.pages, ks.scan_us, ks.secure);
    cr_expect_eq(ks.dontdump, 1,
                 "the key's memory is not reported out of core dumps (scanned %d, %zu copies, "
                 "%zu pages)",
                 ks.scanned, ks.copies, ks.pages);
    cr_expect_eq(ks.scanned, 1, "key creation did not scan for OpenSSL's copy");
    cr_expect_geq(s.raw_dd, 1, "the seed is in no page flagged dd (the keypair's page is not dd)");
    if (ks.dontdump == 1)
        cr_expect_eq(s.raw_dumpable, 0, "a core dump would hold %zu copies of the seed bytes",
                     s.raw_dumpable);
    else
        cr_expect_leq(s.raw_dumpable, 1, "%zu dumpable copies of the seed bytes", s.raw_dumpable);
    cr_expect_eq(s.hex_dumpable, 0, "a core dump would hold the seed's hex (%zu copies)",
                 s.hex_dumpable);
    cr_expect_eq(s.unread, 0, "%zu regions could not be read", s.unread);
    if (secure_heap) {
        cr_expect_eq(ks.secure, 1, "the key was not moved into the secure heap");
        cr_expect_eq(ks.copies, 0, "%zu copies outside the secure heap", ks.copies);
    } else {
        /* OpenSSL 3.0's one copy; more would be a new copy to look at. */
        cr_expect_eq(ks.copies, 1, "key creation found %zu copies of the seed", ks.copies);
        cr_expect(ks.pages == 1 || ks.pages == 2, "%zu pages marked", ks.pages);
    }
}

Test(reliability, a_core_dump_holds_no_seed, .timeout = 60)
{
    expect_dump_holds_no_seed(0);
}

Test(reliability, a_core_dump_holds_no_seed_with_a_secure_heap, .timeout = 60)
{
    expect_dump_holds_no_seed(1);
}

/* A fresh random keypair and its seed, copied into @dd_seed (a page of the
 * caller's, DONTDUMP, so the copy is not counted as dumpable). */
static chio_keypair *keypair_with_seed(uint8_t *dd_seed, char hex[65])
{
    chio_keypair *kp;

    cr_assert_eq(chio_keypair_generate(&kp, NULL), 0);
    cr_assert_eq(chio_keypair_write_seed_hex(kp, hex), 0);
    cr_assert_eq(chio__hex_decode_exact(hex, 64, dd_seed, 32), 0);
    return kp;
}

/* In this process: two keypairs whose OpenSSL copies likely share a heap
 * page; freeing one keeps the other's copy out of dumps (the marks are
 * refcounted per page), and freeing both leaves no copy of either. */
Test(reliability, openssl_key_copies_stay_marked_until_their_key_is_freed, .timeout = 60)
{
    long ps = sysconf(_SC_PAGESIZE);
    uint8_t *seeds =
        mmap(NULL, (size_t)ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    chio__key_dump_state st;
    char hex_a[65], hex_b[65];
    chio_keypair *a, *b;
    dump_scan s;
    int dd = -1;

    cr_assert_neq(seeds, MAP_FAILED);
    cr_assert_eq(madvise(seeds, (size_t)ps, MADV_DONTDUMP), 0);
    a = keypair_with_seed(seeds, hex_a);
    b = keypair_with_seed(seeds + 32, hex_b);
    cr_assert_eq(chio__keypair_dump_state(b, &st), 0);
    cr_expect_eq(chio_keypair_memory_locked(b, &dd, NULL) >= 0, 1);
    cr_expect_eq(dd, 1, "scanned %d errno %d copies %zu unmarked %zu unread %zu", st.scanned,
                 st.scan_errno, st.copies, st.unmarked, st.unread);
    cr_expect_geq(st.copies, 1, "OpenSSL's copy was not found");
    cr_log_info("key creation scan: %zu regions, %zu bytes, %llu us, %zu copies, %zu pages",
                st.regions, st.bytes, (unsigned long long)(st.scan_ns / 1000), st.copies, st.pages);
    cr_expect_eq(chio__keypair_dump_state(NULL, &st), CHIO_EINVAL);

    s = scan_process(getpid(), seeds, hex_a);
    cr_expect_eq(s.raw_dumpable, 0, "key a: %zu dumpable copies", s.raw_dumpable);
    chio_keypair_free(a);
    s = scan_process(getpid(), seeds + 32, hex_b);
    cr_expect_eq(s.raw_dumpable, 0, "key b after a's free: %zu dumpable copies", s.raw_dumpable);
    cr_expect_geq(s.raw_dd, 1, "key b's copies are gone");
    chio_keypair_free(b);
    s = scan_process(getpid(), seeds, hex_a);
    cr_expect_eq(s.raw_dumpable + s.raw_dd, 1, "key a: %zu copies after free (1: ours)",
                 s.raw_dumpable + s.raw_dd);
    s = scan_process(getpid(), seeds + 32, hex_b);
    cr_expect_eq(s.raw_dumpable + s.raw_dd, 1, "key b: %zu copies after free (1: ours)",
                 s.raw_dumpable + s.raw_dd);
    OPENSSL_cleanse(seeds, (size_t)ps);
    munmap(seeds, (size_t)ps);
}

/* Without /proc (hidden here by a tmpfs in a mount namespace of this test
 * process's own) key creation cannot look for OpenSSL's copy: the key is
 * still built and usable, and says it is not out of core dumps. */
Test(reliability, a_key_without_proc_reports_its_copy_unprotected)
{
    uint8_t sig[CHIO_SIGNATURE_BYTES];
    chio__key_dump_state st;
    chio_keypair *kp = NULL;
    int dd = -1, built;

    if (geteuid() != 0 || unshare(CLONE_NEWNS) != 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", "/proc", "tmpfs", 0, "size=64k") != 0)
        cr_skip_test("cannot hide /proc here (needs root): %s", strerror(errno));
    built = chio_keypair_from_seed_hex(TEST_SEED, 64, &kp, NULL);
    memset(&st, 0, sizeof(st));
    if (built == 0) {
        cr_expect_eq(chio__keypair_dump_state(kp, &st), 0);
        (void)chio_keypair_memory_locked(kp, &dd, NULL);
        cr_expect_eq(chio_keypair_sign(kp, "m", 1, sig), 0);
        chio_keypair_free(kp);
    }
    /* The real /proc back before any assertion can end the test: LeakSanitizer
     * reads /proc/PID/task when the process exits, and fails the run
     * ("Can't open /proc/PID/task") while the tmpfs hides it. */
    cr_assert_eq(umount2("/proc", MNT_DETACH), 0, "%s", strerror(errno));
    cr_assert_eq(access("/proc/self/task", R_OK), 0, "/proc is still hidden");
    cr_assert_eq(built, 0);
    cr_expect_eq(dd, 0, "a key whose OpenSSL copy was not looked for reported dontdump");
    cr_expect_eq(st.scanned, 0);
    cr_expect_eq(st.scan_errno, ENOENT, "errno %d", st.scan_errno);
}

/* Keys are locked by default where RLIMIT_MEMLOCK allows, and say so when
 * not; the kernel then logs key_memory_unlocked once. */
Test(reliability, key_memory_is_locked_by_default_or_reported)
{
    chio_keypair *kp;
    int dd = -1, e = -1, locked;

    cr_assert_eq(chio_keypair_from_seed_hex(TEST_SEED, 64, &kp, NULL), 0);
    locked = chio_keypair_memory_locked(kp, &dd, &e);
    cr_expect_eq(dd, 1, "the key page is not excluded from core dumps");
    if (locked == 1)
        cr_expect_eq(e, 0);
    else
        cr_expect(locked == 0 && e != 0, "locked %d errno %d", locked, e);
    cr_expect_eq(chio_keypair_lock_memory(kp, NULL) == 0, locked == 1);
    chio_keypair_free(kp);
    cr_expect_eq(chio_keypair_memory_locked(NULL, NULL, NULL), CHIO_EINVAL);
}

/* Drop CAP_IPC_LOCK from this (forked test) process's effective set, so
 * that RLIMIT_MEMLOCK applies when the suite runs as root. */
static void drop_ipc_lock(void)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];

    if (syscall(SYS_capget, &h, d) != 0)
        return;
    d[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
    (void)syscall(SYS_capset, &h, d);
}

/* With RLIMIT_MEMLOCK at 0 (and no CAP_IPC_LOCK) the key cannot be locked:
 * it is still kept out of core dumps, the kernel warns once
 * (key_memory_unlocked), and lock_key_memory = 1 refuses to build. */
Test(reliability, an_unlockable_key_is_reported_and_refused_in_strict_mode)
{
    log_sink sink = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};
    struct rlimit none = {0, 0};
    chio_kernel_config cfg;
    chio_kernel *k = NULL;
    chio_keypair *kp;
    chio_error err;
    int dd = -1;

    cr_assert_eq(setrlimit(RLIMIT_MEMLOCK, &none), 0); /* this test's own process */
    drop_ipc_lock();
    cr_assert_eq(chio_keypair_from_seed_hex(TEST_SEED, 64, &kp, NULL), 0);
    if (chio_keypair_memory_locked(kp, &dd, NULL) == 1) {
        chio_keypair_free(kp);
        cr_skip_test("mlock succeeds with RLIMIT_MEMLOCK 0 (CAP_IPC_LOCK)");
    }
    cr_expect_eq(dd, 1, "an unlocked key must still be out of core dumps");
    chio_keypair_free(kp);

    kt_config(&cfg, NULL);
    cfg.log = capture;
    cfg.log_ctx = &sink;
    cfg.log_level = CHIO_LOG_WARN;
    k = kt_kernel(&cfg);
    cr_expect_eq(chio__kernel_check_key_memory(k), 1);
    cr_expect_eq(chio__kernel_check_key_memory(k), 0, "warned twice");
    chio_kernel_free(k);
    cr_assert_not_null(sink.all);
    cr_expect_neq(strstr(sink.all, "\"key_memory_unlocked\""), NULL, "%s", sink.all);
    cr_expect_neq(strstr(sink.all, "\"level\":\"warn\""), NULL, "%s", sink.all);
    free(sink.all);

    kt_config(&cfg, NULL);
    cfg.lock_key_memory = 1;
    chio_error_init(&err);
    k = NULL;
    cr_expect_eq(chio_kernel_new(&cfg, &k, &err), CHIO_ESYS);
    cr_expect_neq(strstr(err.message, "RLIMIT_MEMLOCK"), NULL, "%s", err.message);
    chio_kernel_free(k);
}
