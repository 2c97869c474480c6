/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_limits.c - the kernel's bounds for long-running hosts:
 *   - arguments text over max_argument_bytes (tool calls and prompt gets) is
 *     never parsed and the call is denied with a receipt
 *     (arguments_rejected, a summary as parameters, the SHA-256 of the raw
 *     text bound as metadata.redaction.original_parameter_hash);
 *   - arguments at the cap are allowed, and the call's peak memory growth
 *     (peak RSS, VmHWM after clear_refs) stays under 3x the arguments text,
 *     with an ephemeral store and with a RocksDB directory (10x before
 *     issue 11; 2.0x measured);
 *   - every CHIO_E* code an API of chio/evaluate.h can return has its own
 *     chio_error_code_name() (session_active for a close with calls in
 *     flight).
 * Real kernel, real Ed25519, ephemeral RocksDB (and a directory for the
 * memory test).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define IAT 1710000000u
#define NOW 1710000300u

#define GRANTS                                                                               \
    "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}]," \
    "\"prompt_grants\":[{\"prompt_name\":\"*\",\"operations\":[\"get\"]}]}"

static uint64_t lt_clock(void *ctx)
{
    (void)ctx;
    return NOW;
}

TestSuite(limits);

static int prompt_get(void *user, const char *name, const char *args, size_t len, chio_output *out)
{
    (void)user;
    (void)name;
    (void)args;
    (void)len;
    return chio_output_set_json(out, "\"hello\"", 7);
}

/* "read" echoes its arguments; "write" answers null (the memory test: what
 * the kernel itself holds, not the tool's output). */
static int read_or_write(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                         size_t len, chio_output *out)
{
    if (strcmp(tool, "write") == 0)
        return chio_output_set_json(out, "null", 4);
    return kt_echo_tool(user, ctx, tool, args, len, out);
}

/* A log sink for the next lt_kernel_at (NULL: error-level logs to stderr). */
static chio_log_fn lt_log;
static void *lt_log_ctx;

/* A kernel ("srv": read, write) with a prompt provider, a session
 * holding cap-1 (tools and prompts), and arguments capped at @cap (0:
 * the default). */
static chio_kernel *lt_kernel_at(const char *path, uint64_t cap, char sid[CHIO_SESSION_ID_LEN + 1])
{
    static const char *const tools[] = {"read", "write"};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_prompt_provider pp;
    chio_kernel *k;
    chio_error err;
    char *tok = tk_token(TK_KERNEL_SEED, "cap-1", TK_AGENT_PUB, GRANTS, IAT, 1000, NULL, 0);
    const char *toks[1] = {tok};

    cr_assert_not_null(tok);
    kt_config(&cfg, path);
    cfg.clock = lt_clock;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    if (lt_log != NULL) {
        cfg.log = lt_log;
        cfg.log_ctx = lt_log_ctx;
        cfg.log_level = CHIO_LOG_INFO;
    }
    if (cap != 0)
        cfg.max_argument_bytes = cap;
    k = kt_kernel(&cfg);
    chio_error_init(&err);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 2;
    ts.invoke = read_or_write;
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0, "%s", err.message);
    memset(&pp, 0, sizeof(pp));
    pp.provider_id = "prompts";
    pp.get = prompt_get;
    cr_assert_eq(chio_kernel_register_prompt_provider(k, &pp, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, toks, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    free(tok);
    return k;
}

static chio_kernel *lt_kernel(uint64_t cap, char sid[CHIO_SESSION_ID_LEN + 1])
{
    return lt_kernel_at(NULL, cap, sid);
}

static int lt_call_tool(chio_kernel *k, const char *sid, const char *tool, const char *args,
                        size_t len, chio_response *r, chio_error *err)
{
    chio_call c;

    memset(&c, 0, sizeof(c));
    c.session_id = sid;
    c.capability_id = "cap-1";
    c.server_id = "srv";
    c.tool_name = tool;
    c.request_id = "req-1";
    c.arguments_json = args;
    c.arguments_len = len;
    chio_error_init(err);
    chio_response_init(r);
    return chio_kernel_evaluate(k, &c, r, err);
}

static int lt_call(chio_kernel *k, const char *sid, const char *args, size_t len, chio_response *r,
                   chio_error *err)
{
    return lt_call_tool(k, sid, "read", args, len, r, err);
}

/* {"s":"xxx..."} of exactly @n bytes. */
static char *args_of(size_t n)
{
    char *s = malloc(n + 1);

    cr_assert(n >= 8);
    cr_assert_not_null(s);
    memcpy(s, "{\"s\":\"", 6);
    memset(s + 6, 'x', n - 8);
    memcpy(s + n - 2, "\"}", 3);
    return s;
}

/* The receipt verifies, denies with arguments_rejected, stores a summary
 * and binds the SHA-256 of @raw (the text as given). */
static void expect_over_cap_receipt(const chio_response *r, const char *raw, size_t len)
{
    const chio_json *root, *params, *om, *red;
    chio_receipt_report rep;
    uint8_t pub[32];
    char want[65];

    cr_assert_not_null(r->receipt, "no receipt");
    cr_expect_eq(r->verdict, CHIO_VERDICT_DENY);
    cr_expect_eq(r->code, CHIO_CODE_ARGUMENTS_REJECTED, "code %s (%s)", chio_code_name(r->code),
                 r->reason);
    cr_expect(strstr(r->reason, "max_argument_bytes") != NULL, "reason: %s", r->reason);
    cr_assert_eq(chio_pubkey_from_hex(TEST_PUB, 64, pub), 0);
    cr_assert_eq(chio_receipt_verify(r->receipt, pub, 1, &rep), 0);
    cr_expect(rep.ok && rep.parameter_hash_valid, "receipt does not verify");
    root = chio_receipt_root(r->receipt);
    cr_expect_str_eq(chio_json_string(chio_json_get(root, "redaction_mode"), NULL), "summary");
    params = chio_json_get(chio_json_get(root, "action"), "parameters");
    om = chio_json_get(params, "chio_omitted_arguments");
    cr_assert_not_null(om, "no summary");
    {
        uint64_t n = 0;
        cr_expect_eq(chio_json_get_uint64(chio_json_get(om, "text_bytes"), &n), 0);
        cr_expect_eq(n, (uint64_t)len);
    }
    red = chio_json_get(chio_json_get(root, "metadata"), "redaction");
    cr_assert_not_null(red);
    cr_assert_eq(chio_sha256_hex(raw, len, want), 0);
    cr_expect_str_eq(chio_json_string(chio_json_get(red, "original_parameter_hash"), NULL), want);
}

Test(limits, arguments_over_the_cap_are_denied_with_a_receipt_unparsed)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = lt_kernel(64, sid);
    chio_response r;
    chio_error err;
    char *args = args_of(65);
    /* over the cap and not even JSON: never parsed, still a receipt */
    static const char junk[] =
        "{\"a\":\"\xff\xfe not json at all ........................................";

    cr_assert_eq(lt_call(k, sid, args, 65, &r, &err), 0, "%s", err.message);
    expect_over_cap_receipt(&r, args, 65);
    cr_expect_null(r.output, "the tool ran");
    chio_response_destroy(&r);

    cr_assert_eq(lt_call(k, sid, junk, sizeof(junk) - 1, &r, &err), 0, "%s", err.message);
    expect_over_cap_receipt(&r, junk, sizeof(junk) - 1);
    chio_response_destroy(&r);

    /* at the cap: parsed and allowed */
    args[63] = '\0';
    memcpy(args + 61, "\"}", 2);
    cr_assert_eq(lt_call(k, sid, args, 63, &r, &err), 0, "%s", err.message);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", r.reason);
    chio_response_destroy(&r);
    free(args);
    args = args_of(64);
    cr_assert_eq(lt_call(k, sid, args, 64, &r, &err), 0, "%s", err.message);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", r.reason);
    chio_response_destroy(&r);
    cr_expect_eq(chio_kernel_unreceipted_errors(k, NULL), 0);
    free(args);
    chio_kernel_free(k);
}

Test(limits, prompt_arguments_over_the_cap_are_denied_with_a_receipt)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = lt_kernel(64, sid);
    chio_response r;
    chio_error err;
    char *args = args_of(65);

    chio_error_init(&err);
    chio_response_init(&r);
    cr_assert_eq(chio_kernel_get_prompt(k, sid, "req-p", "cap-1", "greet", args, 65, &r, &err), 0,
                 "%s", err.message);
    expect_over_cap_receipt(&r, args, 65);
    chio_response_destroy(&r);
    free(args);
    args = args_of(64);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_get_prompt(k, sid, "req-p", "cap-1", "greet", args, 64, &r, &err), 0,
                 "%s", err.message);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", r.reason);
    chio_response_destroy(&r);
    free(args);
    chio_kernel_free(k);
}

Test(limits, the_default_cap_is_4_mib)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = lt_kernel(0, sid);
    size_t cap = (size_t)CHIO_DEFAULT_MAX_ARGUMENT_BYTES;
    chio_response r;
    chio_error err;
    char *args = args_of(cap + 1);

    cr_assert_eq(cap, (size_t)4 << 20);
    cr_assert_eq(lt_call(k, sid, args, cap + 1, &r, &err), 0, "%s", err.message);
    expect_over_cap_receipt(&r, args, cap + 1);
    chio_response_destroy(&r);
    free(args);
    chio_kernel_free(k);
}

/* ---- peak memory ---------------------------------------------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
#define LT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LT_ASAN 1
#endif
#endif

/* Peak RSS growth of one allowed call with @len bytes of arguments (one
 * string, the worst case for copies), over @len; the least of three runs
 * (a fresh kernel each, warmed up by a small call) to shed noise. */
static double peak_ratio(size_t len, const char *path)
{
    double best = 1e9;
    int run;

    for (run = 0; run < 3; run++) {
        char sid[CHIO_SESSION_ID_LEN + 1];
        char *dir = path ? testutil_tmpdir() : NULL;
        chio_kernel *k = lt_kernel_at(dir, len, sid);
        chio_response r;
        chio_error err;
        char *args = args_of(len);
        long base, peak;

        cr_assert_eq(lt_call(k, sid, "{}", 2, &r, &err), 0, "%s", err.message);
        chio_response_destroy(&r);
        if (!kt_reset_peak()) {
            free(args);
            chio_kernel_free(k);
            return -1;
        }
        base = kt_status_kib("VmRSS");
        cr_assert_eq(lt_call_tool(k, sid, "write", args, len, &r, &err), 0, "%s", err.message);
        peak = kt_status_kib("VmHWM");
        cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", r.reason);
        chio_response_destroy(&r);
        free(args);
        chio_kernel_free(k);
        if (dir != NULL) {
            testutil_rmrf(dir);
            free(dir);
        }
        if ((double)(peak - base) * 1024.0 / (double)len < best)
            best = (double)(peak - base) * 1024.0 / (double)len;
    }
    return best;
}

Test(limits, arguments_at_the_cap_are_allowed_with_bounded_peak_memory)
{
    size_t len = (size_t)CHIO_DEFAULT_MAX_ARGUMENT_BYTES * 4; /* 16 MiB: RSS noise is small */
    double ratio = peak_ratio(len, NULL), durable = peak_ratio(len, "durable");

    if (ratio < 0)
        cr_skip_test("no /proc/self/clear_refs: peak RSS cannot be reset");
    cr_log_info("peak RSS growth for %zu bytes of arguments: %.2fx (ephemeral store), %.2fx "
                "(RocksDB directory)",
                len, ratio, durable);
#ifdef LT_ASAN
    (void)ratio; /* ASan's quarantine and shadow memory inflate RSS */
    (void)durable;
#else
    /* Before issue 11: 10.0x (ephemeral). Now 2.0x for both: the parsed
     * arguments plus the signing message while the receipt is prepared
     * (the document is freed once the message is written; the message
     * becomes the stored form in place), then the store's WriteBatch and
     * memtable copies while it commits (a large receipt's own copy is
     * freed once it is in the batch, whose buffer it keeps afterwards; an
     * ephemeral store writes no WAL). */
    cr_expect(ratio < 3.0, "ephemeral store: peak memory %.2fx the arguments (want < 3x)", ratio);
    cr_expect(durable < 3.0, "RocksDB directory: peak memory %.2fx the arguments (want < 3x)",
              durable);
#endif
}

/* ---- error names ------------------------------------------------------------------------ */

typedef struct closer {
    chio_kernel *k;
    const char *sid;
    int rc;
    char msg[256];
} closer;

static void *close_thread(void *arg)
{
    closer *c = arg;
    chio_error err;

    chio_error_init(&err);
    c->rc = chio_kernel_close_session(c->k, c->sid, &err);
    snprintf(c->msg, sizeof(c->msg), "%s", err.message);
    return NULL;
}

/* While its own call is in flight, another thread closes the session. */
static int closing_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                        size_t len, chio_output *out)
{
    pthread_t t;

    (void)ctx;
    (void)tool;
    if (pthread_create(&t, NULL, close_thread, user) != 0)
        return CHIO_ESYS;
    pthread_join(t, NULL);
    return chio_output_set_json(out, args, len);
}

Test(limits, closing_a_session_with_calls_in_flight_is_session_active)
{
    static const char *const tools[] = {"close"};
    char sid[CHIO_SESSION_ID_LEN + 1];
    char *tok = tk_token(TK_KERNEL_SEED, "cap-1", TK_AGENT_PUB, GRANTS, IAT, 1000, NULL, 0);
    const char *toks[1] = {tok};
    chio_kernel_config cfg;
    chio_tool_server ts;
    closer cl = {.sid = sid};
    chio_response r;
    chio_kernel *k;
    chio_error err;
    chio_call c;

    cr_assert_not_null(tok);
    kt_config(&cfg, NULL);
    cfg.clock = lt_clock;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    cl.k = k;
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = closing_tool;
    ts.user = &cl;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, toks, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    free(tok);
    memset(&c, 0, sizeof(c));
    c.session_id = sid;
    c.capability_id = "cap-1";
    c.server_id = "srv";
    c.tool_name = "close";
    c.request_id = "req-1";
    chio_error_init(&err);
    chio_response_init(&r);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    chio_response_destroy(&r);
    cr_expect_eq(cl.rc, CHIO_ESESSION_ACTIVE, "close: %s (%s)", chio_err_name(cl.rc), cl.msg);
    cr_expect_str_eq(chio_error_code_name(cl.rc), "session_active");
    cr_expect(strstr(cl.msg, "remain active") != NULL, "%s", cl.msg);
    chio_kernel_free(k);
}

Test(limits, every_code_of_the_evaluate_api_has_a_name)
{
    static const struct {
        int rc;
        const char *name;
    } rows[] = {
        {CHIO_ENOSESSION, "unknown_session"},     {CHIO_ESESSION_DRAINING, "session_draining"},
        {CHIO_ESESSION_CLOSED, "session_closed"}, {CHIO_ESESSION_ACTIVE, "session_active"},
        {CHIO_EDRAINED, "kernel_drained"},        {CHIO_EWEB3, "web3_evidence_required"},
        {CHIO_ENOCAP, "unknown_capability"},      {CHIO_ESTORE, "store_failure"},
        {CHIO_EFAILED, "store_failure"},          {CHIO_EINVAL, "invalid_arguments"},
        {CHIO_ETOOBIG, "invalid_arguments"},      {CHIO_EJSON_SYNTAX, "invalid_arguments"},
        {CHIO_EDEADLK, "would_deadlock"},         {CHIO_ESERVING, "kernel_serving"},
        {CHIO_EDUPLICATE, "duplicate"},           {CHIO_ELIMIT, "limit_reached"},
        {CHIO_ECANCELLED, "cancelled"},           {CHIO_EDENIED, "denied"},
        {CHIO_ESTREAM_LIMIT, "stream_limit"},     {CHIO_ENOTMINE, "not_handled"},
        {CHIO_ENOMEM, "internal_error"},          {-12345, "internal_error"},
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        cr_expect_str_eq(chio_error_code_name(rows[i].rc), rows[i].name, "%s",
                         chio_err_name(rows[i].rc));
}

/* ---- large receipts --------------------------------------------------------------------- */

#define LR_THREADS 3
#define LR_CALLS   6 /* per thread: large and small alternate */

typedef struct lr_worker {
    chio_kernel *k;
    const char *sid;
    size_t large;
    chio_receipt *got[LR_CALLS];
    int rc[LR_CALLS];
} lr_worker;

static void *lr_run(void *arg)
{
    lr_worker *w = arg;
    char *big = args_of(w->large);
    int i;

    for (i = 0; i < LR_CALLS; i++) {
        chio_response r;
        chio_error err;
        w->rc[i] = (i % 2 == 0) ? lt_call(w->k, w->sid, big, w->large, &r, &err)
                                : lt_call(w->k, w->sid, "{\"s\":\"small\"}", 13, &r, &err);
        w->got[i] = w->rc[i] == 0 ? r.receipt : NULL;
        r.receipt = NULL; /* kept past the kernel's life */
        chio_response_destroy(&r);
    }
    free(big);
    return NULL;
}

/* A receipt over 1 MiB is committed alone and keeps its bytes in the
 * store's write batch afterwards: racing callers, large and small receipts
 * mixed, each returned receipt verifies, is NUL-terminated, outlives its
 * kernel and is byte for byte what the store holds under its id. */
Test(limits, large_receipts_are_returned_as_stored)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    char *dir = testutil_tmpdir();
    chio_kernel *k = lt_kernel_at(dir, 0, sid);
    lr_worker w[LR_THREADS];
    pthread_t th[LR_THREADS];
    chio_store *st;
    chio_error err;
    int t, i, large = 0;

    for (t = 0; t < LR_THREADS; t++) {
        memset(&w[t], 0, sizeof(w[t]));
        w[t].k = k;
        w[t].sid = sid;
        w[t].large = ((size_t)3 << 19) + 1000 * (size_t)t; /* 1.5 MiB and a bit */
        cr_assert_eq(pthread_create(&th[t], NULL, lr_run, &w[t]), 0);
    }
    for (t = 0; t < LR_THREADS; t++)
        pthread_join(th[t], NULL);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_drain(k, &err), 0, "%s", err.message);
    chio_kernel_free(k);

    chio_error_init(&err);
    cr_assert_eq(chio_store_open(dir, CHIO_STORE_READ_ONLY, &st, &err), 0, "%s", err.message);
    for (t = 0; t < LR_THREADS; t++)
        for (i = 0; i < LR_CALLS; i++) {
            chio_receipt *r = w[t].got[i];
            chio_receipt_report rep;
            const char *json;
            char *stored = NULL;
            size_t len = 0, slen = 0;
            uint64_t seq = 0;

            cr_assert_eq(w[t].rc[i], 0, "thread %d call %d failed", t, i);
            cr_assert_not_null(r);
            json = chio_receipt_json(r, &len);
            cr_expect_eq(strlen(json), len, "not NUL-terminated at its length");
            large += len >= ((size_t)1 << 20);
            cr_assert_eq(chio_receipt_verify(r, NULL, 0, &rep), 0);
            cr_expect(rep.signature_valid && rep.receipt_id_valid && rep.parameter_hash_valid,
                      "thread %d call %d does not verify", t, i);
            cr_assert_eq(chio_store_find_receipt(st, chio_receipt_id(r), &seq, &err), 0, "%s",
                         err.message);
            cr_assert_eq(chio_store_get_receipt(st, seq, &stored, &slen, &err), 0, "%s",
                         err.message);
            cr_expect(slen == len && memcmp(stored, json, len) == 0,
                      "thread %d call %d: returned bytes differ from the stored ones", t, i);
            chio_free(stored);
            chio_receipt_free(r);
        }
    cr_expect_eq(large, LR_THREADS * LR_CALLS / 2);
    chio_store_close(st);
    testutil_rmrf(dir);
    free(dir);
}

/* ---- deny logging ------------------------------------------------------------------------ */

typedef struct lt_sink {
    pthread_mutex_t mu;
    int info_decisions;
    unsigned long long not_logged;
} lt_sink;

static void lt_sink_fn(void *ctx, chio_log_level level, const char *json, size_t len)
{
    lt_sink *s = ctx;
    char line[1024]; /* the sink's text is not NUL-terminated */
    const char *p;

    if (len >= sizeof(line))
        len = sizeof(line) - 1;
    memcpy(line, json, len);
    line[len] = '\0';
    pthread_mutex_lock(&s->mu);
    if (level == CHIO_LOG_INFO && strstr(line, "\"event\":\"decision\"") != NULL) {
        s->info_decisions++;
        p = strstr(line, "\"denies_not_logged\":");
        if (p != NULL)
            s->not_logged += strtoull(p + 20, NULL, 10);
    }
    pthread_mutex_unlock(&s->mu);
}

/* 2,000 denied calls in a burst: at info, one decision line a second (with
 * how many denies it stands for), not one per deny; every deny still has
 * its receipt. */
Test(limits, denies_are_logged_at_info_once_a_second)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    lt_sink sink = {PTHREAD_MUTEX_INITIALIZER, 0, 0};
    chio_kernel_metrics m;
    chio_kernel *k;
    struct timespec t0, t1;
    int i, n = 2000;

    lt_log = lt_sink_fn;
    lt_log_ctx = &sink;
    k = lt_kernel_at(NULL, 0, sid);
    lt_log = NULL;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < n; i++) {
        chio_response r;
        chio_error err;
        chio_call c;

        memset(&c, 0, sizeof(c));
        c.session_id = sid;
        c.capability_id = "cap-unknown";
        c.server_id = "srv";
        c.tool_name = "read";
        c.request_id = "req-deny";
        c.arguments_json = "{}";
        c.arguments_len = 2;
        chio_error_init(&err);
        chio_response_init(&r);
        cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
        cr_assert_eq(r.verdict, CHIO_VERDICT_DENY);
        cr_assert_not_null(r.receipt);
        chio_response_destroy(&r);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    chio_kernel_metrics_get(k, &m);
    cr_expect_geq(m.last_seq, (uint64_t)n, "every deny has its receipt");
    chio_kernel_free(k);
    /* One line per started second of the burst (the coarse clock may tick
     * once more), never one per deny. */
    cr_expect_geq(sink.info_decisions, 1);
    cr_expect_leq(sink.info_decisions, (int)(t1.tv_sec - t0.tv_sec) + 3, "%d info lines in %ld s",
                  sink.info_decisions, (long)(t1.tv_sec - t0.tv_sec));
    cr_expect_leq(sink.not_logged + (unsigned long long)sink.info_decisions, (unsigned long long)n);
}
