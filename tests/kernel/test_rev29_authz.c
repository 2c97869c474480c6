/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev29_authz.c - review 29 of the authorization path
 * (checks 1 to 6) from a hostile agent's side: calls the kernel allowed
 * that it must deny.
 *   - look-alikes NFKC folds to more than one character (the two dot
 *     leaders U+2025 and U+FE30 are "..") or that the tables missed
 *     (U+FE68 is "\") let a path climb out of a path_prefix, a resource
 *     prefix grant and a forbidden_path guard;
 *   - a kernel refusing delegation dropped a revocation once the tokens
 *     held with its id expired, and then allowed a later token with the id
 *     (and, restarted with delegation, a token naming it in its chain).
 * Each test names what the old code did. Every call, allowed or denied,
 * must leave a receipt whose verdict matches. Real kernel, real Ed25519,
 * RocksDB (ephemeral, or a directory across a restart), real guards.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"
#include "kernel_internal.h"

#define IAT 1710000000u
#define NOW 1710000300u

static uint64_t clock_fn(void *ctx)
{
    (void)ctx;
    return NOW;
}

static int read_any(void *user, const char *uri, chio_output *out)
{
    (void)user;
    (void)uri;
    return chio_output_set_json(out, "\"content\"", 9);
}

TestSuite(rev29_authz);

/* A kernel at NOW with the echo tool srv/t, the resource provider "files"
 * (serves every URI) and, when @forbidden is not NULL, a forbidden_path
 * guard on that prefix. */
static chio_kernel *authz_kernel(const char *forbidden)
{
    static const char *const tools[] = {"t"};
    chio_kernel *k = kt_echo_kernel(NULL, clock_fn, "srv", tools, 1);
    chio_resource_provider rp;
    chio_error err;

    chio_error_init(&err);
    memset(&rp, 0, sizeof(rp));
    rp.provider_id = "files";
    rp.read = read_any;
    cr_assert_eq(chio_kernel_register_resource_provider(k, &rp, &err), 0, "%s", err.message);
    if (forbidden != NULL)
        cr_assert_eq(chio_kernel_add_forbidden_path_guard(k, "fp", &forbidden, 1, &err), 0, "%s",
                     err.message);
    return k;
}

/* A session of the test agent holding one kernel-signed token (@id,
 * @scope, valid from IAT for an hour). */
static void open_with(chio_kernel *k, const char *id, const char *scope,
                      char sid[CHIO_SESSION_ID_LEN + 1])
{
    char *tok = tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB, scope, IAT, 3600, NULL, 0);
    const char *caps[1];
    chio_error err;

    cr_assert_not_null(tok);
    caps[0] = tok;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    free(tok);
}

/* The code of a decision, checking its receipt: allow, or deny naming
 * the code (kernel checks) or a guard. */
static chio_code decided(chio_response *r)
{
    const chio_json *d;
    const char *verdict;

    cr_assert_not_null(r->receipt, "every decision has a receipt");
    d = chio_json_get(chio_receipt_root(r->receipt), "decision");
    verdict = chio_json_string(chio_json_get(d, "verdict"), NULL);
    cr_expect_str_eq(verdict, r->code == CHIO_CODE_NONE ? "allow" : "deny");
    return r->code;
}

/* One call of srv/t under @cap with @args. */
static chio_code call(chio_kernel *k, const char *sid, const char *cap, const char *args)
{
    chio_response r;
    chio_error err;
    chio_call c;
    chio_code code;

    kt_call_init(&c, sid, cap, "t", args);
    chio_error_init(&err);
    chio_response_init(&r);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    code = decided(&r);
    chio_response_destroy(&r);
    return code;
}

/* One resource read of @uri under @cap. */
static chio_code read_uri(chio_kernel *k, const char *sid, const char *cap, const char *uri)
{
    chio_response r;
    chio_error err;
    chio_code code;

    chio_error_init(&err);
    chio_response_init(&r);
    cr_assert_eq(chio_kernel_read_resource(k, sid, NULL, cap, uri, &r, &err), 0, "%s", err.message);
    code = decided(&r);
    chio_response_destroy(&r);
    return code;
}

/* ---- look-alike dots and slashes --------------------------------------------------------- */

#define LA_SCOPE                                                                           \
    "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\",\"operations\":[\"invoke\"]," \
    "\"constraints\":[{\"type\":\"path_prefix\",\"value\":\"/w\"}]}],"                     \
    "\"resource_grants\":[{\"uri_pattern\":\"file:///pub/*\",\"operations\":[\"read\"]}]}"

/* U+2025 TWO DOT LEADER and U+FE30 (its vertical form) are ".." after NFKC,
 * U+FE68 SMALL REVERSE SOLIDUS is "\". The old code folded only the
 * one-character look-alikes (U+FF0E, U+FE52, U+2024, U+FF0F, U+FF3C), so
 * it allowed every "before" row below: a path_prefix "/w" held for
 * "/w/\u2025/etc/passwd", a resource grant on the prefix "file:///pub/" covered
 * "file:///pub/\u2025/etc/passwd", and a forbidden_path guard on /etc
 * passed "/w/\u2025/etc/passwd"; a tool or provider that reads
 * the path after NFKC opens /etc/passwd. */
Test(rev29_authz, two_dot_leaders_and_small_backslashes_are_read_as_dots_and_slashes)
{
    static const struct {
        const char *args;
        int allow;
    } calls[] = {
        {"{\"path\":\"/w/\\u2025/etc/passwd\"}", 0},               /* before: allowed */
        {"{\"path\":\"/w/\\ufe30/etc/passwd\"}", 0},               /* before: allowed */
        {"{\"path\":\"/w/..\\ufe68..\\ufe68etc\"}", 0},            /* before: allowed */
        {"{\"path\":\"/w/a\",\"x\":\"/w/\\u2025/\\u2025/e\"}", 0}, /* before: allowed */
        {"{\"path\":\"/w/a\\u2025b\"}", 1},                        /* a name, not a segment */
        {"{\"path\":\"/w/\\u2026/x\"}", 1},                        /* "...": a name */
        {"{\"path\":\"/w/a\"}", 1},
    };
    static const struct {
        const char *uri;
        int allow;
    } reads[] = {
        {"file:///pub/\xe2\x80\xa5/etc/passwd", 0}, /* before: allowed */
        {"file:///pub/\xef\xb8\xb0/etc/passwd", 0}, /* before: allowed */
        {"file:///pub/..\xef\xb9\xa8..\xef\xb9\xa8"
         "etc/passwd",
         0},                                     /* before: allowed */
        {"file:///pub/%E2%80%A5/etc/passwd", 0}, /* before: allowed */
        {"file:///pub/a\xe2\x80\xa5"
         "b",
         1},
        {"file:///pub/a", 1},
    };
    chio_kernel *k = authz_kernel(NULL), *g = authz_kernel("/etc");
    char sid[CHIO_SESSION_ID_LEN + 1], gsid[CHIO_SESSION_ID_LEN + 1];
    size_t i;

    open_with(k, "cap-la", LA_SCOPE, sid);
    for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
        cr_expect_eq(call(k, sid, "cap-la", calls[i].args),
                     calls[i].allow ? CHIO_CODE_NONE : CHIO_CODE_CONSTRAINT_VIOLATED,
                     "call %zu: %s", i, calls[i].args);
    for (i = 0; i < sizeof(reads) / sizeof(reads[0]); i++)
        cr_expect_eq(read_uri(k, sid, "cap-la", reads[i].uri),
                     reads[i].allow ? CHIO_CODE_NONE : CHIO_CODE_OUT_OF_SCOPE, "read %zu: %s", i,
                     reads[i].uri);

    /* The forbidden_path guard reads paths the same way. */
    open_with(g, "cap-guard",
              "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
              "\"operations\":[\"invoke\"]}]}",
              gsid);
    cr_expect_eq(call(g, gsid, "cap-guard", "{\"p\":\"/w/\\u2025/etc/passwd\"}"),
                 CHIO_CODE_GUARD_DENIED, "before: allowed");
    cr_expect_eq(call(g, gsid, "cap-guard", "{\"p\":\"/w/x/\\u2025/etc/passwd\"}"), CHIO_CODE_NONE,
                 "/w/etc/passwd is not under /etc");
    chio_kernel_free(k);
    chio_kernel_free(g);
}

/* Review 43: a resource URI's ".." with an invisible format character in
 * it (a zero-width space, a soft hyphen), as written or percent-encoded,
 * was under a prefix grant, though path_prefix already dropped such
 * characters: a provider that strips them before it resolves the path
 * climbs out of "file:///pub/". */
Test(rev29_authz, invisible_characters_in_a_dot_segment_of_a_resource_uri_are_dropped)
{
    static const struct {
        const char *uri;
        int allow;
    } reads[] = {
        {"file:///pub/..\xe2\x80\x8b/etc/passwd", 0}, /* ZWSP; before: allowed */
        {"file:///pub/.\xc2\xad./etc/passwd", 0},     /* soft hyphen; before: allowed */
        {"file:///pub/..%E2%80%8B/etc/passwd", 0},    /* encoded; before: allowed */
        {"file:///pub/a\xe2\x80\x8b"
         "b/c",
         1}, /* a name */
        {"file:///pub/caf%C3%A9.txt", 1},
    };
    chio_kernel *k = authz_kernel(NULL);
    char sid[CHIO_SESSION_ID_LEN + 1];
    size_t i;

    open_with(k, "cap-zw", LA_SCOPE, sid);
    for (i = 0; i < sizeof(reads) / sizeof(reads[0]); i++)
        cr_expect_eq(read_uri(k, sid, "cap-zw", reads[i].uri),
                     reads[i].allow ? CHIO_CODE_NONE : CHIO_CODE_OUT_OF_SCOPE, "read %zu: %s", i,
                     reads[i].uri);
    chio_kernel_free(k);
}

/* Review 44: an empty segment after the prefix was under a prefix grant;
 * a provider that strips "file:///pub/" and joins the rest onto its root
 * (os.path.join("/pub", "/etc/passwd") is "/etc/passwd") left it. Now a
 * URI whose path holds one, as written or in a reading (%2f, a
 * backslash), is covered only by "*" or an exact pattern. */
Test(rev29_authz, an_empty_segment_in_a_resource_uri_leaves_a_prefix_grant)
{
    static const struct {
        const char *uri;
        int allow;
    } reads[] = {
        {"file:///pub//etc/passwd", 0},   /* before: allowed */
        {"file:///pub/%2fetc/passwd", 0}, /* before: allowed */
        {"file:///pub/\\etc/passwd", 0},  {"file:///pub/a//b", 0},
        {"file:///pub/a/b.txt", 1},       {"file:///pub/a/b?x=//y", 1}, /* a query, not the path */
    };
    chio_kernel *k = authz_kernel(NULL);
    char sid[CHIO_SESSION_ID_LEN + 1];
    size_t i;

    open_with(k, "cap-es", LA_SCOPE, sid);
    for (i = 0; i < sizeof(reads) / sizeof(reads[0]); i++)
        cr_expect_eq(read_uri(k, sid, "cap-es", reads[i].uri),
                     reads[i].allow ? CHIO_CODE_NONE : CHIO_CODE_OUT_OF_SCOPE, "read %zu: %s", i,
                     reads[i].uri);
    chio_kernel_free(k);
}

/* ---- revocations are kept -------------------------------------------------------------------- */

#define RV_SCOPE \
    "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\",\"operations\":[\"invoke\"]}]}"

static uint64_t rv_now = NOW;

static uint64_t rv_clock(void *ctx)
{
    (void)ctx;
    return __atomic_load_n(&rv_now, __ATOMIC_RELAXED);
}

/* A kernel on the store @db at rv_now, delegation depth @depth, with the
 * echo tool srv/t. */
static chio_kernel *rv_kernel(const char *db, uint32_t depth)
{
    static const char *const tools[] = {"t"};
    chio_kernel_config cfg;
    chio_kernel *k;

    kt_config(&cfg, db);
    cfg.clock = rv_clock;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    cfg.max_delegation_depth = depth;
    k = kt_kernel(&cfg);
    kt_serve_echo(k, "srv", tools, 1);
    return k;
}

/* One call of srv/t with @tok (opened in a fresh session) under its id. */
static chio_code call_with(chio_kernel *k, const char *tok, const char *id)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, &tok, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    return call(k, sid, id, "{}");
}

/* kernel.md check 3 denies a token whose id, or an id in its delegation
 * chain, was revoked. A kernel refusing delegation (max_delegation_depth
 * 0) used to drop a revocation once the tokens with that id held at
 * revocation time had expired (their latest expires_at, when its tables
 * held over 1024 entries; forced here): then a second token with the id
 * and a later expires_at, held by no session when the id was revoked, was
 * allowed, and so was, after a restart with delegation allowed, a
 * delegated token naming the id in its chain. A revocation now stays. */
Test(rev29_authz, a_revoked_id_stays_revoked_after_its_held_tokens_expire)
{
    char *dir = testutil_tmpdir(), *db = NULL;
    char *first = tk_token(TK_KERNEL_SEED, "cap-x", TK_AGENT_PUB, RV_SCOPE, IAT, 400, NULL, 0);
    char *second = tk_token(TK_KERNEL_SEED, "cap-x", TK_AGENT_PUB, RV_SCOPE, IAT, 36000, NULL, 0);
    tk_link link = {"cap-x", TK_KERNEL_SEED, TK_AGENT_PUB, IAT, NULL};
    char *child =
        tk_token(TK_KERNEL_SEED, "cap-child", TK_AGENT_PUB, RV_SCOPE, IAT, 36000, &link, 1);
    chio_kernel *k;
    chio_error err;
    const char *held = first;
    char sid[CHIO_SESSION_ID_LEN + 1];

    cr_assert(first != NULL && second != NULL && child != NULL);
    cr_assert_geq(asprintf(&db, "%s/db", dir), 0);
    rv_now = NOW;
    k = rv_kernel(db, 0);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, &held, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    cr_assert_eq(chio_kernel_revoke_capability(k, "cap-x", &err), 0, "%s", err.message);
    cr_expect_eq(call_with(k, second, "cap-x"), CHIO_CODE_CAPABILITY_REVOKED);
    rv_now = IAT + 1000; /* past the held token's expiry */
    chio__reclaim_sweep(k, rv_now, 1);
    cr_expect_eq(chio_kernel_is_revoked(k, "cap-x"), 1, "before: dropped");
    cr_expect_eq(call_with(k, second, "cap-x"), CHIO_CODE_CAPABILITY_REVOKED, "before: allowed");
    chio_kernel_free(k);

    /* Restarted past the held token's expiry (the old load dropped the
     * row there), now accepting delegation. */
    rv_now = IAT + 2000;
    k = rv_kernel(db, CHIO_DEFAULT_MAX_DELEGATION_DEPTH);
    cr_expect_eq(chio_kernel_is_revoked(k, "cap-x"), 1, "before: dropped at load");
    cr_expect_eq(call_with(k, second, "cap-x"), CHIO_CODE_CAPABILITY_REVOKED, "before: allowed");
    cr_expect_eq(call_with(k, child, "cap-child"), CHIO_CODE_CAPABILITY_REVOKED,
                 "before: allowed (a revoked ancestor)");
    chio_kernel_free(k);
    testutil_rmrf(dir);
    free(dir);
    free(db);
    free(first);
    free(second);
    free(child);
}
