/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/oomkit.c - the kernel and the checked call of the
 * allocation-failure suites (see oomkit.h). The checks run with the
 * injector disarmed: they may allocate.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/failalloc.h"
#include "common/poll.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/oomkit.h"
#include "kernel/tokens.h"

static uint64_t ok_clock(void *ctx)
{
    (void)ctx;
    return OK_NOW;
}

static int ok_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                   chio_output *out)
{
    char *reply = NULL;
    int rc;

    (void)user;
    if (strcmp(tool, "err") == 0) {
        chio_output_set_error(out, "the tool failed");
        return 1;
    }
    if (strcmp(tool, "nest") == 0) {
        rc = chio_tool_ctx_sample(ctx, "{\"messages\":[]}", 15, 0, &reply, NULL, NULL);
        if (rc != 0)
            return rc;
        rc = chio_output_set_json(out, reply, strlen(reply));
        chio_free(reply);
        return rc;
    }
    return chio_output_set_json(out, args, len);
}

static int ok_stream(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                     chio_output *out)
{
    (void)user;
    (void)tool;
    (void)args;
    (void)len;
    (void)out;
    for (int i = 0; i < 3; i++) {
        int rc = chio_tool_ctx_emit_chunk(ctx, "{\"c\":1}", 7);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int ok_nested(void *user, chio_nested_kind kind, const char *sid, const char *req,
                     size_t len, chio_output *reply)
{
    (void)user;
    (void)kind;
    (void)sid;
    (void)req;
    (void)len;
    return chio_output_set_json(reply, "{\"ok\":1}", 8);
}

static int ok_guard(void *user, const chio_guard_input *in, chio_guard_verdict *verdict,
                    char *details, size_t cap)
{
    (void)user;
    (void)details;
    (void)cap;
    *verdict = strcmp(in->tool_name, "g") == 0 ? CHIO_GUARD_DENY : CHIO_GUARD_PASS;
    return 0;
}

chio_kernel *ok_kernel(const char *db)
{
    static const char *const tools[] = {"t", "err", "nest", "g", "b", "x"};
    static const char *const stools[] = {"s"};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_error err;
    chio_kernel *k;

    kt_config(&cfg, db);
    cfg.clock = ok_clock;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    cfg.checkpoint_batch_size = OK_CPB;
    cfg.allow_sampling = 1;
    k = kt_kernel(&cfg);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 6;
    ts.invoke = ok_tool;
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, NULL), 0);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "ssrv";
    ts.tool_names = stools;
    ts.ntools = 1;
    ts.invoke = ok_tool;
    ts.invoke_stream = ok_stream;
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, NULL), 0);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_add_guard(k, "deny-g", ok_guard, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_set_nested_handler(k, ok_nested, NULL, &err), 0, "%s", err.message);
    return k;
}

void ok_open_session(ok_env *env)
{
    static const char scope[] =
        "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\",\"operations\":[\"invoke\"]},"
        "{\"server_id\":\"srv\",\"tool_name\":\"err\",\"operations\":[\"invoke\"]},"
        "{\"server_id\":\"srv\",\"tool_name\":\"nest\",\"operations\":[\"invoke\"]},"
        "{\"server_id\":\"srv\",\"tool_name\":\"g\",\"operations\":[\"invoke\"]},"
        "{\"server_id\":\"srv\",\"tool_name\":\"b\",\"operations\":[\"invoke\"],"
        "\"max_invocations\":100000},"
        "{\"server_id\":\"ssrv\",\"tool_name\":\"s\",\"operations\":[\"invoke\"]}]}";
    const char *caps[2];
    chio_error err;
    char *tok, *old;

    tok = tk_token(TK_KERNEL_SEED, "cap-ok", TK_AGENT_PUB, scope, OK_NOW - 10, 100000, NULL, 0);
    old = tk_token(TK_KERNEL_SEED, "cap-old", TK_AGENT_PUB, scope, OK_NOW - 1000, 10, NULL, 0);
    cr_assert(tok != NULL && old != NULL);
    caps[0] = tok;
    caps[1] = old;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(env->k, TK_AGENT_PUB, caps, NULL, 2, env->sid, &err), 0,
                 "%s", err.message);
    free(tok);
    free(old);
}

void ok_start(ok_env *env)
{
    memset(env, 0, sizeof(*env));
    env->dir = testutil_tmpdir();
    cr_assert_geq(asprintf(&env->db, "%s/db", env->dir), 0);
    env->k = ok_kernel(env->db);
    ok_open_session(env);
    cr_assert_eq(chio_kernel_start(env->k, NULL), 0);
}

void ok_stop(ok_env *env)
{
    chio_store_close(env->reader);
    env->reader = NULL;
    chio_kernel_free(env->k);
    env->k = NULL;
    testutil_rmrf(env->dir);
    free(env->dir);
    free(env->db);
}

/* A read-only handle on @db. A live kernel's compaction can delete a file
 * between the open's reading of the manifest and of the file: try again
 * (100 times at most, 10 ms apart). */
static chio_store *ok_open_ro(const char *db)
{
    chio_store *s = NULL;
    chio_error err;

    for (int i = 0;; i++) {
        chio_error_init(&err);
        if (chio_store_open(db, CHIO_STORE_READ_ONLY, &s, &err) == 0)
            return s;
        cr_assert_lt(i, 100, "opening %s read-only: %s", db, err.message);
        testutil_nap_ms(10);
    }
}

/* @env's secondary handle, caught up with the live kernel. Opening a
 * RocksDB instance for each check cost most of a sweep's time (three opens
 * a call); one secondary per kernel catches up instead. A handle opened
 * behind an earlier kernel is opened again, and so is one that cannot
 * catch up (a restarted primary, or a compaction deleting a file between
 * the reading of the manifest and of the file: 100 tries, 10 ms apart). */
static chio_store *ok_reader(ok_env *env)
{
    chio_error err;

    for (int i = 0;; i++) {
        if (env->reader != NULL && env->read_of != env->k) {
            chio_store_close(env->reader);
            env->reader = NULL;
        }
        chio_error_init(&err);
        if (env->reader == NULL &&
            chio_store_open(env->db, CHIO_STORE_SECONDARY, &env->reader, &err) == 0)
            env->read_of = env->k;
        if (env->reader != NULL && chio_store_catch_up(env->reader, &err) == 0)
            return env->reader;
        cr_assert_lt(i, 100, "reading %s as a secondary: %s", env->db, err.message);
        env->read_of = NULL; /* open it again */
        testutil_nap_ms(10);
    }
}

uint64_t ok_store_last(ok_env *env)
{
    uint64_t first = 0, last = 0;
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_store_seq_range(ok_reader(env), &first, &last, &err), 0, "%s", err.message);
    return last;
}

static void ok_trusted(uint8_t key[32])
{
    for (int i = 0; i < 32; i++) {
        unsigned v;
        cr_assert_eq(sscanf(TEST_PUB + 2 * i, "%2x", &v), 1);
        key[i] = (uint8_t)v;
    }
}

/* @r verifies under the test kernel key and is in @env's store. */
static void ok_check_receipt(ok_env *env, const chio_receipt *r, chio_verdict verdict)
{
    chio_receipt_report rep;
    chio_error err;
    uint8_t key[32];
    uint64_t seq;

    cr_assert_not_null(r, "a decision without a receipt");
    ok_trusted(key);
    cr_assert_eq(chio_receipt_verify(r, key, 1, &rep), 0);
    cr_assert(rep.ok, "a returned receipt does not verify");
    cr_assert_eq(rep.decision, verdict, "receipt verdict %d, response %d", rep.decision, verdict);
    chio_error_init(&err);
    cr_assert_eq(chio_store_find_receipt(ok_reader(env), chio_receipt_id(r), &seq, &err), 0,
                 "a returned receipt is not in the store: %s", err.message);
}

/* The call every checked call makes: @cap on @server/@tool in @env's session. */
static void ok_fill_call(chio_call *c, const ok_env *env, const char *cap, const char *server,
                         const char *tool)
{
    memset(c, 0, sizeof(*c));
    c->session_id = env->sid;
    c->capability_id = cap;
    c->server_id = server;
    c->tool_name = tool;
    c->arguments_json = "{\"n\":1}";
    c->arguments_len = 7;
}

/* Ends an injection armed by @f (none when NULL) and records what it did. */
static void ok_disarm(ok_result *res, const ok_fault *f)
{
    if (f != NULL) { /* else whatever the caller armed stays armed */
        res->counted = fa_disarm();
        res->failures = fa_failures();
    }
    fa_failed_site(res->site, sizeof(res->site));
}

ok_result ok_call(ok_env *env, const char *cap, const char *server, const char *tool,
                  const ok_fault *f)
{
    ok_result res;
    chio_response r;
    chio_call c;
    chio_error err;
    uint64_t before;

    memset(&res, 0, sizeof(res));
    ok_fill_call(&c, env, cap, server, tool);
    chio_error_init(&err);
    chio_response_init(&r);
    before = ok_store_last(env);
    if (f != NULL)
        fa_arm(f->nth, f->threads, f->mode);
    res.rc = chio_kernel_evaluate(env->k, &c, &r, &err);
    ok_disarm(&res, f);
    snprintf(res.message, sizeof(res.message), "%s", err.message);
    res.verdict = r.verdict;
    res.code = r.code;
    res.nchildren = r.nchildren;
    res.receipts = ok_store_last(env) - before;
    if (res.rc == 0) {
        ok_check_receipt(env, r.receipt, r.verdict);
        for (size_t i = 0; i < r.nchildren; i++)
            ok_check_receipt(env, r.children[i], chio_receipt_verdict(r.children[i]));
        cr_assert_geq(res.receipts, 1 + r.nchildren);
    } else {
        cr_assert_eq(r.receipt, NULL, "an error (%d) with a receipt", res.rc);
        cr_assert_eq(r.output, NULL, "an error (%d) with output", res.rc);
        cr_assert_eq(r.nchildren, 0);
        cr_assert_neq(err.code, 0, "an error without an error record");
    }
    chio_response_destroy(&r);
    return res;
}

/* What an asynchronous call's completion left. */
typedef struct ok_async {
    int done, rc;
    chio_verdict verdict;
    chio_code code;
    chio_receipt *receipt;
    int had_output;
    size_t nchildren;
    char message[256];
} ok_async;

static void ok_async_done(void *ctx, int rc, chio_response *resp, const chio_error *err)
{
    ok_async *a = ctx;

    a->rc = rc;
    a->verdict = resp->verdict;
    a->code = resp->code;
    a->receipt = resp->receipt;
    resp->receipt = NULL; /* kept */
    a->had_output = resp->output != NULL;
    a->nchildren = resp->nchildren;
    snprintf(a->message, sizeof(a->message), "%s", err != NULL ? err->message : "");
    __atomic_store_n(&a->done, 1, __ATOMIC_RELEASE);
}

static int ok_async_finished(void *arg)
{
    return __atomic_load_n(&((ok_async *)arg)->done, __ATOMIC_ACQUIRE);
}

ok_result ok_call_async(ok_env *env, const char *cap, const char *server, const char *tool,
                        const ok_fault *f)
{
    ok_async a;
    ok_result res;
    chio_call c;
    chio_error err;
    uint64_t before;

    memset(&a, 0, sizeof(a));
    memset(&res, 0, sizeof(res));
    ok_fill_call(&c, env, cap, server, tool);
    chio_error_init(&err);
    before = ok_store_last(env);
    if (f != NULL)
        fa_arm(f->nth, f->threads, f->mode);
    res.rc = chio_kernel_evaluate_async(env->k, &c, ok_async_done, &a, &err);
    if (res.rc == 0) {
        cr_assert(testutil_wait_until(ok_async_finished, &a, 30000), "no completion in 30 s");
        res.rc = a.rc;
        snprintf(res.message, sizeof(res.message), "%s", a.message);
    } else {
        snprintf(res.message, sizeof(res.message), "%s", err.message);
    }
    ok_disarm(&res, f);
    res.verdict = a.verdict;
    res.code = a.code;
    res.nchildren = a.nchildren;
    res.receipts = ok_store_last(env) - before;
    if (res.rc == 0) {
        ok_check_receipt(env, a.receipt, a.verdict);
    } else {
        cr_assert_eq(a.receipt, NULL, "an error (%d) with a receipt", res.rc);
        cr_assert(!a.had_output, "an error (%d) with output", res.rc);
    }
    chio_receipt_free(a.receipt);
    return res;
}

static void ok_problem(void *ctx, const char *json, size_t len)
{
    (void)ctx;
    fprintf(stderr, "audit problem: %.*s\n", (int)len, json);
}

uint64_t ok_audit(const char *db)
{
    chio_store_audit out;
    chio_store *s = NULL;
    chio_error err;
    uint8_t key[32];

    ok_trusted(key);
    chio_error_init(&err);
    s = ok_open_ro(db);
    cr_assert_eq(chio_store_audit_log(s, key, 1, ok_problem, NULL, &out, &err), 0, "%s",
                 err.message);
    chio_store_close(s);
    cr_assert_eq(out.invalid, 0, "the audit found %llu problems (see stderr)",
                 (unsigned long long)out.invalid);
    cr_assert_eq(out.gaps, 0);
    cr_assert_eq(out.checkpoints, out.checkpoints_valid);
    return out.receipts;
}

const ok_kind ok_kinds[OK_NKINDS] = {
    {"allow", "cap-ok", "srv", "t", CHIO_VERDICT_ALLOW, CHIO_CODE_NONE, 0},
    {"expired", "cap-old", "srv", "t", CHIO_VERDICT_DENY, CHIO_CODE_CAPABILITY_EXPIRED, 0},
    {"out_of_scope", "cap-ok", "srv", "x", CHIO_VERDICT_DENY, CHIO_CODE_OUT_OF_SCOPE, 0},
    {"guard_denied", "cap-ok", "srv", "g", CHIO_VERDICT_DENY, CHIO_CODE_GUARD_DENIED, 0},
    {"tool_error", "cap-ok", "srv", "err", CHIO_VERDICT_DENY, CHIO_CODE_TOOL_ERROR, 0},
    {"stream", "cap-ok", "ssrv", "s", CHIO_VERDICT_ALLOW, CHIO_CODE_NONE, 0},
    {"nested", "cap-ok", "srv", "nest", CHIO_VERDICT_ALLOW, CHIO_CODE_NONE, 1},
    {"budget", "cap-ok", "srv", "b", CHIO_VERDICT_ALLOW, CHIO_CODE_NONE, 0},
};

static ok_result ok_any_call(ok_env *env, const ok_kind *k, const ok_fault *f, int async)
{
    return async ? ok_call_async(env, k->cap, k->server, k->tool, f)
                 : ok_call(env, k->cap, k->server, k->tool, f);
}

uint64_t ok_baseline(ok_env *env, const ok_kind *k, fa_threads threads, int async, uint64_t after)
{
    ok_fault f = {0, threads, FA_ONLY_NTH};
    ok_result r = ok_any_call(env, k, &f, async);

    cr_assert_eq(r.rc, 0, "%s: %s without faults after allocation %llu failed: %s", k->name,
                 chio_errno_name(r.rc), (unsigned long long)after, r.message);
    cr_assert_eq(r.verdict, k->verdict, "%s: %s (%s) without faults after allocation %llu failed",
                 k->name, chio_verdict_name(r.verdict), chio_code_name(r.code),
                 (unsigned long long)after);
    cr_assert_eq(r.code, k->code, "%s: code %s after allocation %llu failed", k->name,
                 chio_code_name(r.code), (unsigned long long)after);
    cr_assert_eq(r.nchildren, k->nchildren, "%s: %zu children", k->name, r.nchildren);
    return r.counted;
}

void ok_sweep(ok_env *env, const ok_kind *k, fa_threads threads, fa_mode mode, int async, int audit)
{
    uint64_t n = ok_baseline(env, k, threads, async, 0);
    int verbose = getenv("CHIO_OOM_VERBOSE") != NULL;

    for (uint64_t i = 1; i <= n + 2; i++) {
        ok_fault f = {i, threads, mode};
        ok_result r = ok_any_call(env, k, &f, async);

        if (verbose)
            fprintf(stderr,
                    "oom %s threads=%d mode=%d async=%d: allocation %llu at %s: %s %s "
                    "(%s) %s, %llu receipts stored\n",
                    k->name, (int)threads, (int)mode, async, (unsigned long long)i, r.site,
                    chio_errno_name(r.rc), chio_verdict_name(r.verdict), chio_code_name(r.code),
                    r.message, (unsigned long long)r.receipts);
        if (r.rc == 0 && k->verdict != CHIO_VERDICT_ALLOW)
            cr_assert_neq(r.verdict, CHIO_VERDICT_ALLOW,
                          "%s: allocation %llu failed turned a deny into an allow", k->name,
                          (unsigned long long)i);
        if (audit)
            ok_audit(env->db);
        ok_baseline(env, k, threads, async, i);
    }
}
