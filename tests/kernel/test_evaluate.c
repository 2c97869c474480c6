/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_evaluate.c - the mediation pipeline against a real
 * kernel, real RocksDB and real Ed25519: every code of the pipeline with a
 * receipt that verifies and carries the right decision; the errors that
 * produce no receipt; sessions; revocation (also of a delegation ancestor,
 * and across a restart); the verified-token cache never hiding a
 * revocation, an expiry or a tampered token; streams; nested flows;
 * resources and prompts; registration rules; and the concurrency
 * scenarios of med_scenarios.c.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/med_scenarios.h"
#include "kernel/tokens.h"
#include "kernel_internal.h"

#define IAT 1710000000u
#define NOW 1710000300u

static uint64_t g_now = NOW;
static char *dir;

static void setup(void)
{
    g_now = NOW;
    dir = testutil_tmpdir();
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
}

TestSuite(evaluate, .init = setup, .fini = teardown);

/* ---- fixtures ---------------------------------------------------------------------------- */

static int echo_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                     chio_output *out)
{
    char *buf;
    int rc;

    (void)user;
    (void)ctx;
    (void)tool;
    cr_assert_geq(asprintf(&buf, "{\"echo\":%.*s}", (int)len, args), 0);
    rc = chio_output_set_json(out, buf, strlen(buf));
    free(buf);
    return rc;
}

static int failing_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                        size_t len, chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    (void)args;
    (void)len;
    chio_output_set_error(out, "disk on fire");
    return -1;
}

typedef struct stream_plan {
    int chunks;
    const char *chunk;
    int delay_ms;
    int stopped; /* emit_chunk said CHIO_ESTREAM_LIMIT */
} stream_plan;

static int stream_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                       size_t len, chio_output *out)
{
    stream_plan *p = user;
    int i;

    (void)tool;
    (void)args;
    (void)len;
    (void)out;
    for (i = 0; i < p->chunks; i++) {
        if (p->delay_ms) {
            struct timespec ts = {p->delay_ms / 1000, (p->delay_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (chio_tool_ctx_emit_chunk(ctx, p->chunk, strlen(p->chunk)) == CHIO_ESTREAM_LIMIT) {
            p->stopped = 1;
            break;
        }
    }
    return 0;
}

typedef struct nested_plan {
    chio_nested_kind kind;
    int rc;
    char *reply;
} nested_plan;

static int nesting_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                        size_t len, chio_output *out)
{
    nested_plan *p = user;
    size_t rlen;

    p->rc = p->kind == CHIO_NESTED_ELICITATION
                ? chio_tool_ctx_elicit(ctx, "{\"message\":\"name?\"}", 19, &p->reply, &rlen, NULL)
                : chio_tool_ctx_sample(ctx, "{\"messages\":[]}", 15,
                                       p->kind == CHIO_NESTED_SAMPLING_WITH_TOOLS, &p->reply, &rlen,
                                       NULL);
    return echo_tool(NULL, ctx, tool, args, len, out);
}

static int host_answer(void *user, chio_nested_kind kind, const char *session_id, const char *req,
                       size_t len, chio_output *reply)
{
    (void)user;
    (void)session_id;
    (void)req;
    (void)len;
    return kind == CHIO_NESTED_ELICITATION ? chio_output_set_json(reply, "{\"name\":\"ada\"}", 14)
                                           : chio_output_set_json(reply, "\"sampled\"", 9);
}

static int evidence_guard(void *user, const chio_guard_input *in, chio_guard_verdict *v,
                          char *details, size_t cap)
{
    (void)user;
    *v = strstr(in->arguments_json, "forbidden") ? CHIO_GUARD_DENY : CHIO_GUARD_PASS;
    snprintf(details, cap, "looked at %s/%s", in->server_id, in->tool_name);
    return 0;
}

static int erroring_guard(void *user, const chio_guard_input *in, chio_guard_verdict *v,
                          char *details, size_t cap)
{
    (void)user;
    (void)in;
    (void)details;
    (void)cap;
    *v = CHIO_GUARD_PASS; /* then fail: the kernel must deny anyway */
    return -7;
}

static stream_plan g_stream = {4, "\"0123456789abcd\"", 0, 0}; /* 16 canonical bytes */
static nested_plan g_nested;

typedef void (*cfg_fn)(chio_kernel_config *cfg);

/* A kernel on the test clock with servers srv/{read,write}, srv-fail/boom,
 * srv-stream/s, srv-nest/n; @path NULL = ephemeral. */
static chio_kernel *kernel_with(const char *path, cfg_fn tweak)
{
    static const char *const tools[] = {"read", "write"};
    static const char *const one[] = {"boom"};
    static const char *const st[] = {"s"};
    static const char *const nt[] = {"n"};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_kernel *k;
    chio_error err;

    kt_config(&cfg, path);
    cfg.clock = kt_clock_at;
    cfg.clock_ctx = &g_now;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    if (tweak)
        tweak(&cfg);
    k = kt_kernel(&cfg);
    chio_error_init(&err);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 2;
    ts.invoke = echo_tool;
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0, "%s", err.message);
    ts.server_id = "srv-fail";
    ts.tool_names = one;
    ts.ntools = 1;
    ts.invoke = failing_tool;
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0);
    ts.server_id = "srv-stream";
    ts.tool_names = st;
    ts.invoke = echo_tool;
    ts.invoke_stream = stream_tool;
    ts.user = &g_stream;
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0);
    ts.server_id = "srv-nest";
    ts.tool_names = nt;
    ts.invoke = nesting_tool;
    ts.invoke_stream = NULL;
    ts.user = &g_nested;
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0);
    return k;
}

static const char *ALL_SCOPE = "{\"grants\":[{\"server_id\":\"*\",\"tool_name\":\"*\","
                               "\"operations\":[\"invoke\"]}],"
                               "\"resource_grants\":[{\"uri_pattern\":\"file:///docs/*\","
                               "\"operations\":[\"read\"]}],"
                               "\"prompt_grants\":[{\"prompt_name\":\"greet\","
                               "\"operations\":[\"get\"]}]}";

static char *token(const char *id, const char *scope)
{
    char *t = tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB, scope, IAT, 1000, NULL, 0);
    cr_assert_not_null(t);
    return t;
}

static int eval(chio_kernel *k, const char *sid, const char *cap, const char *server,
                const char *tool, const char *args, chio_response *resp, chio_error *err)
{
    chio_call c;

    memset(&c, 0, sizeof(c));
    c.session_id = sid;
    c.capability_id = cap;
    c.server_id = server;
    c.tool_name = tool;
    c.arguments_json = args;
    c.arguments_len = args ? strlen(args) : 0;
    c.request_id = "req-1";
    chio_error_init(err);
    chio_response_init(resp);
    return chio_kernel_evaluate(k, &c, resp, err);
}

/* The receipt verifies under the kernel key and its decision is @verdict
 * with @guard (NULL: no guard member; "*": any guard). */
static void expect_receipt(const chio_response *r, const char *verdict, const char *guard)
{
    uint8_t pub[32];
    chio_receipt_report rep;
    const chio_json *d, *g;

    cr_assert_not_null(r->receipt);
    chio_pubkey_from_hex(TEST_PUB, 64, pub);
    cr_assert_eq(chio_receipt_verify(r->receipt, pub, 1, &rep), 0);
    cr_expect(rep.ok, "receipt does not verify");
    d = chio_json_get(chio_receipt_root(r->receipt), "decision");
    cr_assert_not_null(d);
    cr_expect_str_eq(chio_json_string(chio_json_get(d, "verdict"), NULL), verdict);
    g = chio_json_get(d, "guard");
    if (guard == NULL) {
        cr_expect_null(g);
    } else {
        cr_assert_not_null(g);
        if (strcmp(guard, "*") != 0)
            cr_expect_str_eq(chio_json_string(g, NULL), guard);
    }
    if (strcmp(verdict, "allow") != 0) {
        cr_expect_not_null(chio_json_string(chio_json_get(d, "reason"), NULL));
        cr_expect_gt(strlen(r->reason), 0);
    }
}

/* A denial with @code: response and receipt agree. */
static void expect_deny(chio_kernel *k, const char *sid, const char *cap, const char *server,
                        const char *tool, const char *args, chio_code code)
{
    chio_response r;
    chio_error err;

    cr_assert_eq(eval(k, sid, cap, server, tool, args, &r, &err), 0, "%s", err.message);
    cr_expect_eq(r.verdict, CHIO_VERDICT_DENY, "verdict %d, code %s (%s)", r.verdict,
                 chio_code_name(r.code), r.reason);
    cr_expect_eq(r.code, code, "code %s, want %s (%s)", chio_code_name(r.code),
                 chio_code_name(code), r.reason);
    cr_expect_null(r.output);
    expect_receipt(&r, "deny", code == CHIO_CODE_GUARD_DENIED ? "*" : chio_code_name(code));
    chio_response_destroy(&r);
}

static void expect_allow(chio_kernel *k, const char *sid, const char *cap, const char *server,
                         const char *tool, const char *args)
{
    chio_response r;
    chio_error err;

    cr_assert_eq(eval(k, sid, cap, server, tool, args, &r, &err), 0, "%s", err.message);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "code %s (%s)", chio_code_name(r.code), r.reason);
    if (r.verdict == CHIO_VERDICT_ALLOW)
        expect_receipt(&r, "allow", NULL);
    chio_response_destroy(&r);
}

static uint64_t signed_count(chio_kernel *k)
{
    chio_kernel_metrics m;

    chio_kernel_metrics_get(k, &m);
    return m.receipts_signed;
}

/* ---- allow ------------------------------------------------------------------------------- */

Test(evaluate, allow_carries_output_hash_context_and_evidence)
{
    chio_kernel *k = kernel_with(NULL, NULL);
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = token("cap-1", ALL_SCOPE), hash[65];
    const chio_json *root, *ctx, *ev;
    chio_response r;
    chio_error err;

    cr_assert_eq(chio_kernel_add_guard(k, "Looker", evidence_guard, NULL, &err), 0);
    kt_open1(k, tok, sid);
    cr_assert_eq(eval(k, sid, "cap-1", "srv", "read", "{ \"b\": 2, \"a\": [1] }", &r, &err), 0,
                 "%s", err.message);
    cr_assert_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", r.reason);
    cr_expect_eq(r.code, CHIO_CODE_NONE);
    cr_expect_str_eq(r.reason, "");
    cr_expect_str_eq(r.output, "{\"echo\":{\"a\":[1],\"b\":2}}");
    cr_expect_str_eq(r.request_id, "req-1");
    expect_receipt(&r, "allow", NULL);
    root = chio_receipt_root(r.receipt);
    chio_sha256_hex(r.output, r.output_len, hash);
    cr_expect_str_eq(chio_json_string(chio_json_get(root, "content_hash"), NULL), hash);
    cr_expect_str_eq(chio_receipt_capability_id(r.receipt), "cap-1");
    cr_expect_str_eq(chio_receipt_tool_server(r.receipt), "srv");
    cr_expect_str_eq(chio_receipt_tool_name(r.receipt), "read");
    cr_expect_eq(chio_receipt_timestamp(r.receipt), NOW);
    ctx = chio_json_get(chio_json_get(root, "metadata"), "receipt_context");
    cr_assert_not_null(ctx);
    cr_expect_str_eq(chio_json_string(chio_json_get(ctx, "request_id"), NULL), "req-1");
    cr_expect_str_eq(chio_json_string(chio_json_get(ctx, "session_id"), NULL), sid);
    ev = chio_json_get(root, "evidence");
    cr_assert_eq(chio_json_size(ev), 1);
    cr_expect_str_eq(chio_json_string(chio_json_get(chio_json_at(ev, 0), "guard_name"), NULL),
                     "Looker");
    cr_expect_str_eq(chio_json_string(chio_json_get(chio_json_at(ev, 0), "details"), NULL),
                     "looked at srv/read");
    chio_response_destroy(&r);
    free(tok);
    chio_kernel_free(k);
}

Test(evaluate, session_ids_have_the_spec_format)
{
    chio_kernel *k = kernel_with(NULL, NULL);
    char a[CHIO_SESSION_ID_LEN + 1], b[CHIO_SESSION_ID_LEN + 1], *tok = token("c", ALL_SCOPE);
    chio_session_state st;
    size_t i;

    kt_open1(k, tok, a);
    kt_open1(k, tok, b);
    cr_expect_eq(strlen(a), 27);
    cr_expect_eq(strncmp(a, "sess-", 5), 0);
    for (i = 5; i < 27; i++)
        cr_expect(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                         a[i]) != NULL);
    cr_expect_str_neq(a, b);
    cr_assert_eq(chio_kernel_session_state(k, a, &st), 0);
    cr_expect_eq(st, CHIO_SESSION_READY);
    cr_expect_str_eq(chio_session_state_name(st), "ready");
    cr_expect_eq(chio_kernel_session_state(k, "sess-nope", &st), CHIO_ENOSESSION);
    free(tok);
    chio_kernel_free(k);
}

/* ---- every code ----------------------------------------------------------------------------- */

Test(evaluate, invalid_signature_on_a_tampered_token)
{
    chio_kernel *k = kernel_with(NULL, NULL);
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = token("cap-t", ALL_SCOPE);
    char *bad = tk_replace(tok, "\"expires_at\":1710001000", "\"expires_at\":1719999999");

    cr_assert_not_null(bad);
    kt_open1(k, bad, sid);
    expect_deny(k, sid, "cap-t", "srv", "read", "{}", CHIO_CODE_INVALID_SIGNATURE);
    free(tok);
    free(bad);
    chio_kernel_free(k);
}

Test(evaluate, untrusted_issuer)
{
    chio_kernel *k = kernel_with(NULL, NULL);
    char sid[CHIO_SESSION_ID_LEN + 1];
    char *tok = tk_token(TK_OTHER_SEED, "cap-o", TK_AGENT_PUB, ALL_SCOPE, IAT, 1000, NULL, 0);

    kt_open1(k, tok, sid);
    expect_deny(k, sid, "cap-o", "srv", "read", "{}", CHIO_CODE_UNTRUSTED_ISSUER);
    free(tok);
    chio_kernel_free(k);
}

static uint8_t other_pub[32];
static void trust_other(chio_kernel_config *cfg)
{
    char hex[65];

    tk_pub(TK_OTHER_SEED, hex);
    chio_pubkey_from_hex(hex, 64, other_pub);
    cfg->ca_public_keys = other_pub;
    cfg->n_ca_public_keys = 1;
}

Test(evaluate, ca_public_keys_are_trusted_issuers)
{
    chio_kernel *k = kernel_with(NULL, trust_other);
    char sid[CHIO_SESSION_ID_LEN + 1];
    char *tok = tk_token(TK_OTHER_SEED, "cap-o", TK_AGENT_PUB, ALL_SCOPE, IAT, 1000, NULL, 0);

    kt_open1(k, tok, sid);
    expect_allow(k, sid, "cap-o", "srv", "read", "{}");
    free(tok);
    chio_kernel_free(k);
}

Test(evaluate, expired_at_the_exact_second_and_not_yet_valid)
{
    chio_kernel *k = kernel_with(NULL, NULL);
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = token("cap-e", ALL_SCOPE);

    kt_open1(k, tok, sid);
    g_now = IAT + 1000 - 1; /* last valid second */
    expect_allow(k, sid, "cap-e", "srv", "read", "{}");
    g_now = IAT + 1000; /* now == expires_at */
    expect_deny(k, sid, "cap-e", "srv", "read", "{}", CHIO_CODE_CAPABILITY_EXPIRED);
    g_now = IAT; /* now == issued_at: valid */
    expect_allow(k, sid, "cap-e", "srv", "read", "{}");
    g_now = IAT - 1;
    expect_deny(k, sid, "cap-e", "srv", "read", "{}", CHIO_CODE_CAPABILITY_NOT_YET_VALID);
    free(tok);
    chio_kernel_free(k);
}

Test(evaluate, revoked_token)
{
    chio_kernel *k = kernel_with(NULL, NULL);
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = token("cap-r", ALL_SCOPE);
    chio_error err;

    kt_open1(k, tok, sid);
    expect_allow(k, sid, "cap-r", "srv", "read", "{}");
    cr_assert_eq(chio_kernel_revoke_capability(k, "cap-r", &err), 0, "%s", err.message);
    cr_expect(chio_kernel_is_revoked(k, "cap-r"));
    expect_deny(k, sid, "cap-r", "srv", "read", "{}", CHIO_CODE_CAPABILITY_REVOKED);
    cr_assert_eq(chio_kernel_revoke_capability(k, "cap-r", &err), 0); /* twice: no-op */
    free(tok);
    chio_kernel_free(k);
}

/* Agent A (other seed) got "parent-1" from the kernel and delegated to the agent. */
static char *delegated(const char *id, int nlinks, int broken)
{
    char other[65];
    tk_link links[3];
    int i;

    memset(links, 0, sizeof(links));
    tk_pub(TK_OTHER_SEED, other);
    for (i = 0; i < nlinks; i++) {
        links[i].capability_id = i == 0 ? "parent-1" : "parent-2";
        links[i].delegator_seed = TK_OTHER_SEED;
        links[i].delegatee_pub = i == nlinks - 1 ? TK_AGENT_PUB : other;
        links[i].timestamp = IAT + (uint64_t)i;
    }
    if (broken) /* link 1's delegator is not link 0's delegatee */
        links[0].delegatee_pub = TK_AGENT_PUB;
    return tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB, ALL_SCOPE, IAT, 1000, links, (size_t)nlinks);
}

Test(evaluate, revoking_a_delegation_ancestor_revokes_the_token)
{
    chio_kernel *k = kernel_with(NULL, NULL);
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = delegated("child-1", 1, 0);
    chio_error err;

    cr_assert_not_null(tok);
    kt_open1(k, tok, sid);
    expect_allow(k, sid, "child-1", "srv", "read", "{}");
    cr_assert_eq(chio_kernel_revoke_capability(k, "parent-1", &err), 0);
    expect_deny(k, sid, "child-1", "srv", "read", "{}", CHIO_CODE_CAPABILITY_REVOKED);
    free(tok);
    chio_kernel_free(k);
}

Test(evaluate, delegation_invalid_and_depth_exceeded)
{
    chio_kernel *k = kernel_with(NULL, NULL); /* max_delegation_depth 4 */
    char sid[CHIO_SESSION_ID_LEN + 1], *bad = delegated("broken", 2, 1),
                                       *ok2 = delegated("ok2", 2, 0);
    char *tampered = tk_replace(ok2, "\"timestamp\":1710000001", "\"timestamp\":1710000002");
    const char *caps[3] = {bad, ok2, tampered};
    chio_error err;

    cr_assert_not_null(bad);
    cr_assert_not_null(tampered);
    /* the tampered one keeps the id ok2 with other bytes: its own session */
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 3, sid, &err),
                 CHIO_EDUPLICATE);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 2, sid, &err), 0);
    expect_deny(k, sid, "broken", "srv", "read", "{}", CHIO_CODE_DELEGATION_INVALID);
    expect_allow(k, sid, "ok2", "srv", "read", "{}");
    kt_open1(k, tampered, sid);
    /* the token signature covers the chain, so a changed link fails check 1 first */
    expect_deny(k, sid, "ok2", "srv", "read", "{}", CHIO_CODE_INVALID_SIGNATURE);
    free(bad);
    free(ok2);
    free(tampered);
    chio_kernel_free(k);
}

static void depth_one(chio_kernel_config *cfg)
{
    cfg->max_delegation_depth = 1;
}

Test(evaluate, delegation_depth_exceeded)
{
    chio_kernel *k = kernel_with(NULL, depth_one);
    char sid[CHIO_SESSION_ID_LEN + 1], *two = delegated("two", 2, 0), *one = delegated("one", 1, 0);
    const char *caps[2] = {two, one};
    chio_error err;

    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 2, sid, &err), 0);
    expect_deny(k, sid, "two", "srv", "read", "{}", CHIO_CODE_DELEGATION_DEPTH_EXCEEDED);
    expect_allow(k, sid, "one", "srv", "read", "{}");
    free(two);
    free(one);
    chio_kernel_free(k);
}

Test(evaluate, subject_mismatch)
{
    chio_kernel *k = kernel_with(NULL, NULL);
    char sid[CHIO_SESSION_ID_LEN + 1], other[65], *tok;

    tk_pub(TK_OTHER_SEED, other);
    tok = tk_token(TK_KERNEL_SEED, "cap-s", other, ALL_SCOPE, IAT, 1000, NULL, 0);
    kt_open1(k, tok, sid); /* the session's agent is TK_AGENT_PUB */
    expect_deny(k, sid, "cap-s", "srv", "read", "{}", CHIO_CODE_SUBJECT_MISMATCH);
    free(tok);
    chio_kernel_free(k);
}

Test(evaluate, agent_id_spelling_is_normalised)
{
    chio_kernel *k = kernel_with(NULL, NULL);
    char sid[CHIO_SESSION_ID_LEN + 1], upper[80], *tok = token("cap-u", ALL_SCOPE);
    const char *caps[1] = {tok};
    size_t i;

    snprintf(upper, sizeof(upper), "0x%s", TK_AGENT_PUB);
    for (i = 2; upper[i]; i++)
        upper[i] = (char)(upper[i] >= 'a' && upper[i] <= 'f' ? upper[i] - 32 : upper[i]);
    cr_assert_eq(chio_kernel_open_session(k, upper, caps, NULL, 1, sid, NULL), 0);
    expect_allow(k, sid, "cap-u", "srv", "read", "{}");
    free(tok);
    chio_kernel_free(k);
}

Test(evaluate, out_of_scope_and_constraint_violated)
{
    chio_kernel *k = kernel_with(NULL, NULL);
    char sid[CHIO_SESSION_ID_LEN + 1];
    char *tok = token("cap-p", "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\","
                               "\"operations\":[\"invoke\"],\"constraints\":[{\"type\":"
                               "\"path_prefix\",\"value\":\"/workspace\"}]},"
                               "{\"server_id\":\"srv\",\"tool_name\":\"write\","
                               "\"operations\":[\"read_result\"]}]}");

    kt_open1(k, tok, sid);
    expect_allow(k, sid, "cap-p", "srv", "read", "{\"path\":\"/workspace/a/b.txt\"}");
    expect_deny(k, sid, "cap-p", "srv", "write", "{}", CHIO_CODE_OUT_OF_SCOPE); /* no invoke */
    expect_deny(k, sid, "cap-p", "srv-fail", "boom", "{}", CHIO_CODE_OUT_OF_SCOPE);
    expect_deny(k, sid, "cap-p", "srv", "read", "{\"path\":\"/workspace/../etc/passwd\"}",
                CHIO_CODE_CONSTRAINT_VIOLATED);
    expect_deny(k, sid, "cap-p", "srv", "read", "{\"path\":\"/workspacex/a\"}",
                CHIO_CODE_CONSTRAINT_VIOLATED);
    expect_deny(k, sid, "cap-p", "srv", "read", "{}", CHIO_CODE_CONSTRAINT_VIOLATED);
    free(tok);
    chio_kernel_free(k);
}

Test(evaluate, tool_not_registered_comes_after_scope)
{
    chio_kernel *k = kernel_with(NULL, NULL);
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = token("cap-n", ALL_SCOPE);

    kt_open1(k, tok, sid);
    expect_deny(k, sid, "cap-n", "srv-missing", "x", "{}", CHIO_CODE_TOOL_NOT_REGISTERED);
    expect_deny(k, sid, "cap-n", "srv", "delete", "{}", CHIO_CODE_TOOL_NOT_REGISTERED);
    free(tok);
    chio_kernel_free(k);
}

Test(evaluate, budget_exhausted)
{
    chio_kernel *k = kernel_with(NULL, NULL);
    char sid[CHIO_SESSION_ID_LEN + 1];
    char *tok = token("cap-b", "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"*\","
                               "\"operations\":[\"invoke\"],\"max_invocations\":2}]}");

    kt_open1(k, tok, sid);
    expect_allow(k, sid, "cap-b", "srv", "read", "{}");
    expect_allow(k, sid, "cap-b", "srv", "write", "{}");
    expect_deny(k, sid, "cap-b", "srv", "read", "{}", CHIO_CODE_BUDGET_EXHAUSTED);
    free(tok);
    chio_kernel_free(k);
}

Test(evaluate, guards_deny_in_order_with_evidence)
{
    static const char *const prefixes[] = {"/etc/"};
    static const char *const patterns[] = {"AKIA[0-9A-Z]{16}"};
    chio_kernel *k = kernel_with(NULL, NULL);
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = token("cap-g", ALL_SCOPE);
    const chio_json *ev, *d;
    chio_response r;
    chio_error err;

    cr_assert_eq(chio_kernel_add_guard(k, "Looker", evidence_guard, NULL, &err), 0);
    cr_assert_eq(chio_kernel_add_forbidden_path_guard(k, "ForbiddenPathGuard", prefixes, 1, &err),
                 0);
    cr_assert_eq(chio_kernel_add_secret_leak_guard(k, "SecretLeakGuard", patterns, 1, &err), 0);
    kt_open1(k, tok, sid);

    cr_assert_eq(
        eval(k, sid, "cap-g", "srv", "read", "{\"x\":{\"y\":[\"/etc/passwd\"]}}", &r, &err), 0);
    cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED);
    expect_receipt(&r, "deny", "ForbiddenPathGuard");
    ev = chio_json_get(chio_receipt_root(r.receipt), "evidence");
    cr_assert_eq(chio_json_size(ev), 2); /* Looker passed, the path guard denied, stop */
    cr_expect_str_eq(chio_json_string(chio_json_get(chio_json_at(ev, 1), "guard_name"), NULL),
                     "ForbiddenPathGuard");
    d = chio_json_get(chio_json_at(ev, 1), "verdict");
    cr_expect_eq(chio_json_typeof(d), CHIO_JSON_BOOL);
    chio_response_destroy(&r);

    cr_assert_eq(
        eval(k, sid, "cap-g", "srv", "read", "{\"note\":\"key AKIAABCDEFGHIJKLMNOP\"}", &r, &err),
        0);
    cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED);
    expect_receipt(&r, "deny", "SecretLeakGuard");
    ev = chio_json_get(chio_receipt_root(r.receipt), "evidence");
    cr_expect_null(
        strstr(chio_json_string(chio_json_get(chio_json_at(ev, 2), "details"), NULL), "AKIA"),
        "evidence must not repeat the secret");
    chio_response_destroy(&r);

    cr_assert_eq(eval(k, sid, "cap-g", "srv", "read", "{\"w\":\"forbidden\"}", &r, &err), 0);
    expect_receipt(&r, "deny", "Looker");
    chio_response_destroy(&r);
    expect_allow(k, sid, "cap-g", "srv", "read", "{\"path\":\"/home/a\"}");
    free(tok);
    chio_kernel_free(k);
}

Test(evaluate, a_failing_guard_denies)
{
    chio_kernel *k = kernel_with(NULL, NULL);
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = token("cap-fg", ALL_SCOPE);
    chio_response r;
    chio_error err;

    cr_assert_eq(chio_kernel_add_guard(k, "Broken", erroring_guard, NULL, &err), 0);
    kt_open1(k, tok, sid);
    cr_assert_eq(eval(k, sid, "cap-fg", "srv", "read", "{}", &r, &err), 0);
    cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED);
    expect_receipt(&r, "deny", "Broken");
    chio_response_destroy(&r);
    free(tok);
    chio_kernel_free(k);
}

Test(evaluate, tool_error)
{
    chio_kernel *k = kernel_with(NULL, NULL);
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = token("cap-x", ALL_SCOPE);
    chio_response r;
    chio_error err;

    kt_open1(k, tok, sid);
    expect_deny(k, sid, "cap-x", "srv-fail", "boom", "{}", CHIO_CODE_TOOL_ERROR);
    cr_assert_eq(eval(k, sid, "cap-x", "srv-fail", "boom", "{}", &r, &err), 0);
    cr_expect_neq(strstr(r.reason, "disk on fire"), NULL);
    chio_response_destroy(&r);
    free(tok);
    chio_kernel_free(k);
}

static void stream_small(chio_kernel_config *cfg)
{
    cfg->max_stream_total_bytes = 40;
}

Test(evaluate, stream_over_total_bytes_is_incomplete_and_truncated)
{
    chio_kernel *k = kernel_with(NULL, stream_small);
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = token("cap-st", ALL_SCOPE), hash[65];
    chio_response r;
    chio_error err;

    kt_open1(k, tok, sid);
    cr_assert_eq(eval(k, sid, "cap-st", "srv-stream", "s", "{}", &r, &err), 0);
    cr_expect_eq(r.verdict, CHIO_VERDICT_INCOMPLETE);
    cr_expect_eq(r.code, CHIO_CODE_STREAM_LIMIT);
    cr_expect_str_eq(r.output, "[\"0123456789abcd\",\"0123456789abcd\"]"); /* 2 x 16 <= 40 */
    cr_expect(g_stream.stopped);
    expect_receipt(&r, "incomplete", NULL);
    chio_sha256_hex(r.output, r.output_len, hash);
    cr_expect_str_eq(
        chio_json_string(chio_json_get(chio_receipt_root(r.receipt), "content_hash"), NULL), hash);
    chio_response_destroy(&r);
    free(tok);
    chio_kernel_free(k);
}

Test(evaluate, stream_within_limits_is_allowed)
{
    chio_kernel *k = kernel_with(NULL, NULL);
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = token("cap-st", ALL_SCOPE);
    chio_response r;
    chio_error err;

    kt_open1(k, tok, sid);
    cr_assert_eq(eval(k, sid, "cap-st", "srv-stream", "s", "{}", &r, &err), 0);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW);
    cr_expect_eq(strlen(r.output), 2 + 4 * 16 + 3);
    expect_receipt(&r, "allow", NULL);
    chio_response_destroy(&r);
    free(tok);
    chio_kernel_free(k);
}

static void stream_one_second(chio_kernel_config *cfg)
{
    cfg->max_stream_duration_secs = 1;
}

Test(evaluate, stream_over_duration_is_incomplete)
{
    chio_kernel *k = kernel_with(NULL, stream_one_second);
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = token("cap-sd", ALL_SCOPE);
    chio_response r;
    chio_error err;

    g_stream.chunks = 3;
    g_stream.delay_ms = 600; /* the third chunk is past 1 s */
    kt_open1(k, tok, sid);
    cr_assert_eq(eval(k, sid, "cap-sd", "srv-stream", "s", "{}", &r, &err), 0);
    cr_expect_eq(r.verdict, CHIO_VERDICT_INCOMPLETE);
    cr_expect_eq(r.code, CHIO_CODE_STREAM_LIMIT);
    cr_expect_neq(strstr(r.reason, "max_stream_duration_secs"), NULL);
    expect_receipt(&r, "incomplete", NULL);
    chio_response_destroy(&r);
    free(tok);
    chio_kernel_free(k);
}

static void stream_huge_duration(chio_kernel_config *cfg)
{
    /* x 1000 wraps to 384 ms in 64 bits: such a limit must mean "never". */
    cfg->max_stream_duration_secs = UINT64_MAX / 1000u + 1u;
}

Test(evaluate, stream_duration_limit_past_the_millisecond_range_never_ends_a_stream)
{
    chio_kernel *k = kernel_with(NULL, stream_huge_duration);
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = token("cap-sh", ALL_SCOPE);
    chio_response r;
    chio_error err;

    g_stream.chunks = 3;
    g_stream.delay_ms = 250; /* past 384 ms by the third chunk */
    kt_open1(k, tok, sid);
    cr_assert_eq(eval(k, sid, "cap-sh", "srv-stream", "s", "{}", &r, &err), 0);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", r.reason);
    chio_response_destroy(&r);
    free(tok);
    chio_kernel_free(k);
}

/* ---- nested flows -------------------------------------------------------------------------- */

static void allow_nested(chio_kernel_config *cfg)
{
    cfg->allow_sampling = 1;
    cfg->allow_elicitation = 1;
}

static void nested_case(cfg_fn tweak, chio_nested_kind kind, int want_rc, const char *want_guard)
{
    chio_kernel *k = kernel_with(NULL, tweak);
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = token("cap-ns", ALL_SCOPE);
    const chio_json *ctx;
    chio_response r;
    chio_error err;

    cr_assert_eq(chio_kernel_set_nested_handler(k, host_answer, NULL, &err), 0);
    kt_open1(k, tok, sid);
    g_nested.kind = kind;
    cr_assert_eq(eval(k, sid, "cap-ns", "srv-nest", "n", "{}", &r, &err), 0);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW);
    cr_expect_eq(g_nested.rc, want_rc, "nested rc %d", g_nested.rc);
    cr_assert_eq(r.nchildren, 1);
    cr_expect_str_eq(chio_receipt_tool_name(r.children[0]), kind == CHIO_NESTED_ELICITATION
                                                                ? "elicitation/create"
                                                                : "sampling/createMessage");
    {
        chio_response child = {0};
        child.receipt = r.children[0];
        child.reason = (char *)"x";
        expect_receipt(&child, want_guard ? "deny" : "allow", want_guard);
    }
    if (want_guard != NULL) { /* the reason names what is not allowed */
        const chio_json *d = chio_json_get(chio_receipt_root(r.children[0]), "decision");
        const char *why = chio_json_string(chio_json_get(d, "reason"), NULL);
        cr_assert_not_null(why);
        cr_expect_not_null(strstr(why, kind == CHIO_NESTED_ELICITATION           ? "elicitation is"
                                       : kind == CHIO_NESTED_SAMPLING_WITH_TOOLS ? "with tool use"
                                                                                 : "sampling is"),
                           "%s", why);
    }
    ctx = chio_json_get(chio_json_get(chio_receipt_root(r.children[0]), "metadata"),
                        "receipt_context");
    cr_expect_str_eq(chio_json_string(chio_json_get(ctx, "parent_request_id"), NULL), "req-1");
    if (want_rc == 0)
        cr_expect_str_eq(g_nested.reply,
                         kind == CHIO_NESTED_ELICITATION ? "{\"name\":\"ada\"}" : "\"sampled\"");
    chio_free(g_nested.reply);
    g_nested.reply = NULL;
    chio_response_destroy(&r);
    free(tok);
    chio_kernel_free(k);
}

Test(evaluate, nested_sampling_refused_by_default_with_a_child_receipt)
{
    nested_case(NULL, CHIO_NESTED_SAMPLING, CHIO_EDENIED, "sampling_not_allowed");
}

Test(evaluate, nested_sampling_allowed_gets_the_host_answer)
{
    nested_case(allow_nested, CHIO_NESTED_SAMPLING, 0, NULL);
}

Test(evaluate, nested_sampling_with_tools_needs_its_own_flag)
{
    nested_case(allow_nested, CHIO_NESTED_SAMPLING_WITH_TOOLS, CHIO_EDENIED,
                "sampling_tool_use_not_allowed");
}

Test(evaluate, nested_elicitation)
{
    nested_case(NULL, CHIO_NESTED_ELICITATION, CHIO_EDENIED, "elicitation_not_allowed");
    nested_case(allow_nested, CHIO_NESTED_ELICITATION, 0, NULL);
}

/* ---- errors without a receipt ------------------------------------------------------------------
 */

static void expect_error(chio_kernel *k, const char *sid, const char *cap, const char *args,
                         int want, const char *name)
{
    uint64_t before = signed_count(k);
    chio_response r;
    chio_error err;
    int rc = eval(k, sid, cap, "srv", "read", args, &r, &err);

    cr_expect_eq(rc, want, "rc %s (%s), want %s", chio_err_name(rc), err.message,
                 chio_err_name(want));
    cr_expect_null(r.receipt);
    cr_expect_str_eq(chio_error_code_name(rc), name);
    cr_expect_gt(strlen(err.message), 0);
    cr_expect_eq(signed_count(k), before, "an error signed a receipt");
    chio_response_destroy(&r);
}

Test(evaluate, errors_without_a_receipt)
{
    chio_kernel *k = kernel_with(NULL, NULL);
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = token("cap-1", ALL_SCOPE);

    kt_open1(k, tok, sid);
    expect_allow(k, sid, "cap-1", "srv", "read", "{}");
    expect_error(k, "sess-AAAAAAAAAAAAAAAAAAAAAA", "cap-1", "{}", CHIO_ENOSESSION,
                 "unknown_session");
    expect_error(k, "whatever", "cap-1", "{}", CHIO_ENOSESSION, "unknown_session");
    expect_deny(k, sid, "cap-unknown", "srv", "read", "{}", CHIO_CODE_UNKNOWN_CAPABILITY);
    expect_error(k, sid, "cap-1", "{\"a\":", CHIO_EJSON_TRUNCATED, "invalid_arguments");
    expect_error(k, sid, "cap-1", "{\"a\":1}x", CHIO_EJSON_TRAILING, "invalid_arguments");
    expect_error(k, sid, "cap-1", "{\"a\":\"x\\u0000y\"}", CHIO_EINVAL, "invalid_arguments");
    expect_error(k, sid, "cap-1", "{\"a\":\"\xff\"}", CHIO_EJSON_UTF8, "invalid_arguments");
    cr_assert_eq(chio_kernel_begin_draining_session(k, sid, NULL), 0);
    expect_error(k, sid, "cap-1", "{}", CHIO_ESESSION_DRAINING, "session_draining");
    cr_assert_eq(chio_kernel_close_session(k, sid, NULL), 0);
    expect_error(k, sid, "cap-1", "{}", CHIO_ESESSION_CLOSED, "session_closed");
    cr_assert_eq(chio_kernel_drain(k, NULL), 0);
    expect_error(k, sid, "cap-1", "{}", CHIO_EDRAINED, "kernel_drained");
    /* every one of them counted, by reason */
    cr_expect_eq(chio_kernel_unreceipted_errors(k, "unknown_session"), 2);
    cr_expect_eq(chio_kernel_unreceipted_errors(k, "invalid_arguments"), 4);
    cr_expect_eq(chio_kernel_unreceipted_errors(k, "session_draining"), 1);
    cr_expect_eq(chio_kernel_unreceipted_errors(k, "session_closed"), 1);
    cr_expect_eq(chio_kernel_unreceipted_errors(k, "kernel_drained"), 1);
    cr_expect_eq(chio_kernel_unreceipted_errors(k, NULL), 9);
    cr_expect_eq(chio_kernel_unreceipted_errors(k, "no_such_reason"), 0);
    {
        char *text = NULL;
        size_t len;
        cr_assert_eq(chio_kernel_metrics_prometheus(k, &text, &len), 0);
        cr_expect_not_null(
            strstr(text, "chio_unreceipted_errors_total{reason=\"unknown_session\"} 2\n"), "%s",
            text);
        cr_expect_not_null(
            strstr(text, "chio_unreceipted_errors_total{reason=\"store_failure\"} 0\n"));
        chio_free(text);
    }
    free(tok);
    chio_kernel_free(k);
}

static void web3(chio_kernel_config *cfg)
{
    cfg->require_web3_evidence = 1;
}

static void web3_no_checkpoints(chio_kernel_config *cfg)
{
    cfg->require_web3_evidence = 1;
    cfg->checkpoint_batch_size = 0;
}

Test(evaluate, require_web3_evidence_unmet_signs_nothing)
{
    char *path, sid[CHIO_SESSION_ID_LEN + 1], *tok = token("cap-w", ALL_SCOPE);
    chio_kernel *k = kernel_with(NULL, web3); /* ephemeral: no durable store */

    kt_open1(k, tok, sid);
    expect_error(k, sid, "cap-w", "{}", CHIO_EWEB3, "web3_evidence_required");
    chio_kernel_free(k);
    cr_assert_geq(asprintf(&path, "%s/w", dir), 0);
    k = kernel_with(path, web3_no_checkpoints);
    kt_open1(k, tok, sid);
    expect_error(k, sid, "cap-w", "{}", CHIO_EWEB3, "web3_evidence_required");
    chio_kernel_free(k);
    k = kernel_with(path, web3); /* durable and checkpoints on: fine */
    kt_open1(k, tok, sid);
    expect_allow(k, sid, "cap-w", "srv", "read", "{}");
    chio_kernel_free(k);
    free(path);
    free(tok);
}

Test(evaluate, store_failure_is_an_error_never_an_allow)
{
    char *path, sid[CHIO_SESSION_ID_LEN + 1], *tok = token("cap-f", ALL_SCOPE);
    chio_kernel *k;
    chio_response r;
    chio_error err;
    int rc;

    cr_assert_geq(asprintf(&path, "%s/f", dir), 0);
    k = kernel_with(path, NULL);
    kt_open1(k, tok, sid);
    expect_allow(k, sid, "cap-f", "srv", "read", "{}");
    chio__store_fail_writes(chio__kernel_store(k), -1);
    rc = eval(k, sid, "cap-f", "srv", "read", "{}", &r, &err);
    cr_expect(rc == CHIO_ESTORE || rc == CHIO_EFAILED, "rc %s", chio_err_name(rc));
    cr_expect_str_eq(chio_error_code_name(rc), "store_failure");
    cr_expect_null(r.receipt);
    cr_expect_null(r.output);
    chio_response_destroy(&r);
    rc = eval(k, sid, "cap-f", "srv", "read", "{}", &r, &err);
    cr_expect_eq(rc, CHIO_EFAILED);
    chio_response_destroy(&r);
    chio_kernel_free(k);
    free(path);
    free(tok);
}

/* ---- registration and sessions -----------------------------------------------------------------
 */

Test(evaluate, registration_closes_when_serving_and_ids_are_unique)
{
    static const char *const tools[] = {"t"};
    chio_kernel *k = kernel_with(NULL, NULL);
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = token("c", ALL_SCOPE);
    chio_tool_server ts;
    chio_error err;

    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = echo_tool;
    cr_expect_eq(chio_kernel_register_tool_server(k, &ts, &err), CHIO_EDUPLICATE);
    cr_expect_neq(strstr(err.message, "already registered"), NULL);
    cr_expect_eq(chio_kernel_add_guard(k, "g", evidence_guard, NULL, &err), 0);
    cr_expect_eq(chio_kernel_add_guard(k, "g", evidence_guard, NULL, &err), CHIO_EDUPLICATE);
    ts.server_id = "";
    cr_expect_eq(chio_kernel_register_tool_server(k, &ts, &err), CHIO_EINVAL);
    {
        static const char *const bad[] = {"(unclosed"};
        cr_expect_eq(chio_kernel_add_secret_leak_guard(k, "s", bad, 1, &err), CHIO_EINVAL);
    }
    kt_open1(k, tok, sid);
    ts.server_id = "srv-late";
    cr_expect_eq(chio_kernel_register_tool_server(k, &ts, &err), CHIO_ESERVING);
    cr_expect_neq(strstr(err.message, "serving"), NULL);
    cr_expect_eq(chio_kernel_add_guard(k, "late", evidence_guard, NULL, &err), CHIO_ESERVING);
    cr_expect_eq(chio_kernel_set_nested_handler(k, host_answer, NULL, &err), CHIO_ESERVING);
    free(tok);
    chio_kernel_free(k);
}

Test(evaluate, open_session_rejects_bad_tokens)
{
    chio_kernel *k = kernel_with(NULL, NULL);
    char sid[CHIO_SESSION_ID_LEN + 1];
    const char *caps[1] = {"{\"id\":\"x\"}"};
    chio_error err;

    chio_error_init(&err);
    cr_expect_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), CHIO_EFORMAT);
    cr_expect_neq(strstr(err.message, "capability 0"), NULL);
    caps[0] = "not json";
    cr_expect_lt(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0);
    cr_expect_eq(chio_kernel_open_session(k, NULL, caps, NULL, 1, sid, &err), CHIO_EINVAL);
    cr_expect_eq(chio_kernel_open_session(k, TK_AGENT_PUB, NULL, NULL, 0, sid, &err), 0);
    chio_kernel_free(k);
}

Test(evaluate, open_session_bounds_the_number_of_tokens)
{
    chio_kernel *k = kernel_with(NULL, NULL);
    char sid[CHIO_SESSION_ID_LEN + 1];
    char *tok = tk_token(TK_KERNEL_SEED, "cap-many", TK_AGENT_PUB, ALL_SCOPE, IAT, 1000, NULL, 0);
    const char **caps = calloc(CHIO_MAX_SESSION_TOKENS + 1, sizeof(*caps));
    chio_error err;
    size_t i;

    cr_assert_not_null(caps);
    for (i = 0; i <= CHIO_MAX_SESSION_TOKENS; i++)
        caps[i] = tok;
    chio_error_init(&err);
    /* One past the bound is refused before any token is parsed. */
    cr_expect_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, CHIO_MAX_SESSION_TOKENS + 1,
                                          sid, &err),
                 CHIO_ETOOBIG);
    cr_expect_neq(strstr(err.message, "at most"), NULL);
    /* The bound itself opens (identical copies collapse to one). */
    cr_expect_eq(
        chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, CHIO_MAX_SESSION_TOKENS, sid, &err),
        0, "%s", err.message);
    free(caps);
    free(tok);
    chio_kernel_free(k);
}

Test(evaluate, close_and_drain_rules_on_unknown_sessions)
{
    chio_kernel *k = kernel_with(NULL, NULL);
    chio_error err;

    cr_expect_eq(chio_kernel_close_session(k, "sess-none", &err), CHIO_ENOSESSION);
    cr_expect_eq(chio_kernel_begin_draining_session(k, "sess-none", &err), CHIO_ENOSESSION);
    chio_kernel_free(k);
}

/* ---- the cache never hides anything ------------------------------------------------------------
 */

Test(evaluate, cache_never_hides_revocation_expiry_or_tampering)
{
    chio_kernel *k = kernel_with(NULL, NULL);
    char s1[CHIO_SESSION_ID_LEN + 1], s2[CHIO_SESSION_ID_LEN + 1], *tok = token("cap-c", ALL_SCOPE);
    char *bad = tk_replace(tok, "\"tool_name\":\"*\"", "\"tool_name\":\"read\"");
    chio_error err;
    int i;

    kt_open1(k, tok, s1);
    for (i = 0; i < 3; i++) /* warm the cache */
        expect_allow(k, s1, "cap-c", "srv", "read", "{}");
    cr_expect_geq(chio__shmap_count(&k->med.token_cache), 1);
    kt_open1(k, bad, s2); /* same id, tampered bytes: a different cache key */
    expect_deny(k, s2, "cap-c", "srv", "read", "{}", CHIO_CODE_INVALID_SIGNATURE);
    expect_allow(k, s1, "cap-c", "srv", "read", "{}");
    g_now = IAT + 1000;
    expect_deny(k, s1, "cap-c", "srv", "read", "{}", CHIO_CODE_CAPABILITY_EXPIRED);
    g_now = NOW;
    cr_assert_eq(chio_kernel_revoke_capability(k, "cap-c", &err), 0);
    expect_deny(k, s1, "cap-c", "srv", "read", "{}", CHIO_CODE_CAPABILITY_REVOKED);
    free(tok);
    free(bad);
    chio_kernel_free(k);
}

Test(evaluate, revocation_survives_a_restart)
{
    char *path, sid[CHIO_SESSION_ID_LEN + 1], *tok = token("cap-p", ALL_SCOPE);
    chio_kernel *k;
    chio_error err;

    cr_assert_geq(asprintf(&path, "%s/r", dir), 0);
    k = kernel_with(path, NULL);
    cr_assert_eq(chio_kernel_revoke_capability(k, "cap-p", &err), 0, "%s", err.message);
    chio_kernel_free(k);
    k = kernel_with(path, NULL);
    kt_open1(k, tok, sid);
    expect_deny(k, sid, "cap-p", "srv", "read", "{}", CHIO_CODE_CAPABILITY_REVOKED);
    cr_expect(chio_kernel_is_revoked(k, "cap-p"));
    chio_kernel_free(k);
    free(path);
    free(tok);
}

Test(evaluate, kernel_issued_capabilities_are_trusted)
{
    chio_kernel *k = kernel_with(NULL, NULL);
    chio_capability *cap;
    char sid[CHIO_SESSION_ID_LEN + 1];
    const char *json;
    chio_error err;

    cr_assert_eq(chio_kernel_issue_capability(k, "issued-1", TK_AGENT_PUB, ALL_SCOPE,
                                              strlen(ALL_SCOPE), 0, 60, &cap, &err),
                 0, "%s", err.message);
    cr_expect_eq(chio_capability_issued_at(cap), NOW);
    json = chio_capability_json(cap, NULL);
    kt_open1(k, json, sid);
    expect_allow(k, sid, "issued-1", "srv", "read", "{}");
    chio_capability_free(cap);
    chio_kernel_free(k);
}

/* ---- asynchronous evaluation -------------------------------------------------------------------
 */

typedef struct async_box {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, rc;
    chio_verdict verdict;
    chio_receipt *receipt;
} async_box;

static void on_done(void *ctx, int rc, chio_response *resp, const chio_error *err)
{
    async_box *b = ctx;

    (void)err;
    pthread_mutex_lock(&b->mu);
    b->rc = rc;
    b->verdict = resp->verdict;
    b->receipt = resp->receipt; /* keep it */
    resp->receipt = NULL;
    b->done++;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

Test(evaluate, async_evaluate_calls_back_after_commit)
{
    chio_kernel *k = kernel_with(NULL, NULL);
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = token("cap-a", ALL_SCOPE);
    async_box b = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, NULL};
    chio_call c;
    chio_error err;

    kt_open1(k, tok, sid);
    memset(&c, 0, sizeof(c));
    c.session_id = sid;
    c.capability_id = "cap-a";
    c.server_id = "srv";
    c.tool_name = "read";
    cr_assert_eq(chio_kernel_evaluate_async(k, &c, on_done, &b, &err), 0, "%s", err.message);
    pthread_mutex_lock(&b.mu);
    while (!b.done)
        pthread_cond_wait(&b.cv, &b.mu);
    pthread_mutex_unlock(&b.mu);
    cr_expect_eq(b.rc, 0);
    cr_expect_eq(b.verdict, CHIO_VERDICT_ALLOW);
    cr_assert_not_null(b.receipt);
    cr_expect_eq(chio_receipt_verdict(b.receipt), CHIO_VERDICT_ALLOW);
    chio_receipt_free(b.receipt);
    c.session_id = "sess-missing";
    cr_expect_eq(chio_kernel_evaluate_async(k, &c, on_done, &b, &err), CHIO_ENOSESSION);
    cr_expect_eq(b.done, 1);
    free(tok);
    chio_kernel_free(k);
}

/* ---- resources and prompts
 * ------------------------------------------------------------------------ */

static int docs_read(void *user, const char *uri, chio_output *out)
{
    (void)user;
    if (strncmp(uri, "file:///docs/", 13) != 0)
        return CHIO_ENOTMINE;
    return chio_output_set_json(out, "{\"text\":\"hello\"}", 16);
}

static int docs_list(void *user, chio_output *out)
{
    (void)user;
    return chio_output_set_json(out, "[{\"uri\":\"file:///docs/a\"}]", 26);
}

static int greet_get(void *user, const char *name, const char *args, size_t len, chio_output *out)
{
    char buf[256];

    (void)user;
    if (strcmp(name, "greet") != 0)
        return CHIO_ENOTMINE;
    snprintf(buf, sizeof(buf), "{\"prompt\":\"hi\",\"args\":%.*s}", (int)len, args);
    return chio_output_set_json(out, buf, strlen(buf));
}

Test(evaluate, resources_and_prompts_are_mediated)
{
    chio_kernel *k = kernel_with(NULL, NULL);
    chio_resource_provider rp = {.provider_id = "docs", .list = docs_list, .read = docs_read};
    chio_prompt_provider pp = {.provider_id = "prompts", .get = greet_get};
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = token("cap-rp", ALL_SCOPE), *list;
    chio_response r;
    chio_error err;
    size_t len;

    cr_assert_eq(chio_kernel_register_resource_provider(k, &rp, &err), 0);
    cr_assert_eq(chio_kernel_register_resource_provider(k, &rp, &err), CHIO_EDUPLICATE);
    cr_assert_eq(chio_kernel_register_prompt_provider(k, &pp, &err), 0);
    kt_open1(k, tok, sid);
    cr_assert_eq(chio_kernel_list_resources(k, &list, &len, &err), 0);
    cr_expect_str_eq(list, "[{\"uri\":\"file:///docs/a\"}]");
    chio_free(list);

    cr_assert_eq(chio_kernel_read_resource(k, sid, NULL, "cap-rp", "file:///docs/a", &r, &err), 0,
                 "%s", err.message);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW);
    cr_expect_str_eq(r.output, "{\"text\":\"hello\"}");
    expect_receipt(&r, "allow", NULL);
    cr_expect_str_eq(chio_receipt_tool_server(r.receipt), "docs");
    cr_expect_str_eq(chio_receipt_tool_name(r.receipt), "resources/read");
    chio_response_destroy(&r);

    cr_assert_eq(chio_kernel_read_resource(k, sid, NULL, "cap-rp", "file:///etc/x", &r, &err), 0);
    cr_expect_eq(r.code, CHIO_CODE_OUT_OF_SCOPE);
    expect_receipt(&r, "deny", "out_of_scope");
    chio_response_destroy(&r);

    cr_assert_eq(
        chio_kernel_get_prompt(k, sid, NULL, "cap-rp", "greet", "{\"who\":\"ada\"}", 13, &r, &err),
        0);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW);
    cr_expect_str_eq(r.output, "{\"args\":{\"who\":\"ada\"},\"prompt\":\"hi\"}");
    expect_receipt(&r, "allow", NULL);
    chio_response_destroy(&r);

    cr_assert_eq(chio_kernel_get_prompt(k, sid, NULL, "cap-rp", "other", NULL, 0, &r, &err), 0);
    cr_expect_eq(r.code, CHIO_CODE_OUT_OF_SCOPE);
    chio_response_destroy(&r);
    free(tok);
    chio_kernel_free(k);
}

Test(evaluate, resource_nobody_has_is_not_found)
{
    chio_kernel *k = kernel_with(NULL, NULL);
    chio_resource_provider rp = {.provider_id = "docs", .read = docs_read};
    char sid[CHIO_SESSION_ID_LEN + 1];
    char *tok = token("cap-nf", "{\"resource_grants\":[{\"uri_pattern\":\"*\","
                                "\"operations\":[\"read\"]}]}");
    chio_response r;
    chio_error err;

    cr_assert_eq(chio_kernel_register_resource_provider(k, &rp, &err), 0);
    kt_open1(k, tok, sid);
    cr_assert_eq(chio_kernel_read_resource(k, sid, NULL, "cap-nf", "s3://b/k", &r, &err), 0);
    cr_expect_eq(r.code, CHIO_CODE_NOT_FOUND);
    expect_receipt(&r, "deny", "not_found");
    chio_response_destroy(&r);
    free(tok);
    chio_kernel_free(k);
}

/* ---- receipts reach the store
 * ---------------------------------------------------------------------- */

Test(evaluate, every_decision_is_persisted_in_order)
{
    char *path, sid[CHIO_SESSION_ID_LEN + 1], *tok = token("cap-l", ALL_SCOPE);
    chio_kernel *k;
    kt_log_report rep;

    cr_assert_geq(asprintf(&path, "%s/l", dir), 0);
    k = kernel_with(path, NULL);
    kt_open1(k, tok, sid);
    expect_allow(k, sid, "cap-l", "srv", "read", "{}");
    expect_deny(k, sid, "cap-l", "srv-fail", "boom", "{}", CHIO_CODE_TOOL_ERROR);
    expect_deny(k, sid, "cap-l", "srv", "nope", "{}", CHIO_CODE_TOOL_NOT_REGISTERED);
    chio_kernel_free(k);
    rep = kt_check_log(path, 0);
    cr_expect_eq(rep.receipts, 3);
    free(path);
    free(tok);
}

/* ---- concurrency
 * ------------------------------------------------------------------------------------- */

Test(evaluate, budget_race_64_threads_exactly_10_allows)
{
    char msg[SC_MSG] = "";
    cr_expect_eq(ms_budget_race(msg), 0, "%s", msg);
}

Test(evaluate, close_with_a_call_in_flight)
{
    char msg[SC_MSG] = "";
    cr_expect_eq(ms_close_inflight(msg), 0, "%s", msg);
}

Test(evaluate, drain_with_a_call_in_flight)
{
    char msg[SC_MSG] = "";
    cr_expect_eq(ms_drain_inflight(msg), 0, "%s", msg);
}

Test(evaluate, mixed_load_with_revocations)
{
    char msg[SC_MSG] = "";
    cr_expect_eq(ms_mixed(msg), 0, "%s", msg);
}

/* ---- text cut to fit never costs a decision its receipt
 * ------------------------------------------- */

static int long_error_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                           size_t len, chio_output *out)
{
    char msg[1024] = "x";
    int i;

    (void)user;
    (void)ctx;
    (void)tool;
    (void)args;
    (void)len;
    for (i = 0; i < 300; i++)
        strcat(msg, "\xc3\xa9"); /* é: the 255-byte cut splits one */
    chio_output_set_error(out, msg);
    return -1;
}

Test(evaluate, multibyte_text_cut_to_fit_still_gets_a_receipt)
{
    static const char *const prefixes[] = {"/etc/"};
    static const char *const tools[] = {"boom"};
    chio_kernel *k = kernel_with(NULL, NULL);
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = token("cap-m", ALL_SCOPE), name[256] = "a";
    char args[1024] = "{\"path\":\"/etc/";
    chio_tool_server ts;
    chio_error err;
    int i;

    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv-long";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = long_error_tool;
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0);
    cr_assert_eq(chio_kernel_add_forbidden_path_guard(k, "paths", prefixes, 1, &err), 0);
    kt_open1(k, tok, sid);
    for (i = 0; i < 60; i++)
        strcat(name, "\xc3\xa9");
    expect_deny(k, sid, "cap-m", "srv", name, "{}", CHIO_CODE_TOOL_NOT_REGISTERED);
    expect_deny(k, sid, "cap-m", "srv-long", "boom", "{}", CHIO_CODE_TOOL_ERROR);
    for (i = 0; i < 150; i++)
        strcat(args, "\xe2\x82\xac"); /* €, 3 bytes */
    strcat(args, "\"}");
    expect_deny(k, sid, "cap-m", "srv", "read", args, CHIO_CODE_GUARD_DENIED);
    free(tok);
    chio_kernel_free(k);
}
