/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/model/test_capability.c - capability tokens: every case of the
 * upstream vectors, byte-identical re-issuing of the upstream token,
 * delegation chains built here (valid, broken at each rule, too deep),
 * issuer trust and malformed tokens.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chio/capability.h"
#include "common/testutil.h"
#include "internal.h"
#include "model.h"

#define SEED0B "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
#define SEED0C "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c"
#define SEED0D "0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d"
#define PUB0B  "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a"
#define SUBJ   "0b513ad9b4924015ca0902ed079044d3ac5dbec2306f06948c10da8eb6e39f2d"
#define SCOPE                                                                               \
    "{\"grants\":[{\"constraints\":[{\"type\":\"path_prefix\",\"value\":\"/workspace/\"}]," \
    "\"max_invocations\":3,\"operations\":[\"invoke\",\"read_result\"],\"server_id\":"      \
    "\"srv-files\",\"tool_name\":\"file_read\"}]}"

static chio_json_doc *vectors;

static void fini(void)
{
    chio_json_doc_free(vectors);
    vectors = NULL;
}

static chio_keypair *kp(const char *seed)
{
    chio_keypair *k;
    cr_assert_eq(chio_keypair_from_seed_hex(seed, 64, &k, NULL), 0);
    return k;
}

static chio_capability *parse_ok(const char *text, size_t len)
{
    chio_capability *c = NULL;
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_capability_parse(text, len, &c, &err), 0, "parse: %s", err.message);
    return c;
}

TestSuite(capability_vectors, .fini = fini);

Test(capability_vectors, every_case_matches)
{
    const chio_json *cases;
    size_t i, n, passed = 0;

    vectors = testutil_load_vectors("chio-capability-v1.json");
    cases = chio_json_get(chio_json_root(vectors), "cases");
    n = chio_json_size(cases);
    cr_assert_eq(n, 6);
    for (i = 0; i < n; i++) {
        const chio_json *c = chio_json_at(cases, i);
        const chio_json *want = chio_json_get(c, "expected");
        const char *id = chio_json_string(chio_json_get(c, "id"), NULL);
        uint64_t at;
        int sig, shape;
        size_t len;
        char *text;
        chio_capability *cap;
        chio_capability_report rep;

        cr_assert_eq(chio_json_get_uint64(chio_json_get(c, "verify_at"), &at), 0);
        cr_assert_eq(chio_json_write_canonical(chio_json_get(c, "capability"), &text, &len), 0);
        cap = parse_ok(text, len);
        cr_assert_eq(chio_capability_verify(cap, at, NULL, 0, -1, &rep), 0);
        chio_json_get_bool(chio_json_get(want, "signature_valid"), &sig);
        chio_json_get_bool(chio_json_get(want, "delegation_chain_shape_valid"), &shape);
        const char *ts = chio_json_string(chio_json_get(want, "time_status"), NULL);
        if (rep.signature_valid == sig && rep.delegation_chain_shape_valid == shape &&
            strcmp(rep.time_status_name, ts) == 0)
            passed++;
        else
            cr_expect_fail("%s: got sig=%d shape=%d time=%s, want sig=%d shape=%d time=%s", id,
                           rep.signature_valid, rep.delegation_chain_shape_valid,
                           rep.time_status_name, sig, shape, ts);
        chio_capability_free(cap);
        free(text);
    }
    fprintf(stderr, "capability vectors: %zu/%zu cases passed\n", passed, n);
    cr_assert_eq(passed, n);
}

Test(capability_vectors, issuing_reproduces_upstream_token)
{
    const chio_json *c = chio_json_at(
        chio_json_get(chio_json_root(vectors = testutil_load_vectors("chio-capability-v1.json")),
                      "cases"),
        0);
    chio_keypair *issuer = kp(SEED0B);
    chio_capability *cap = NULL;
    chio_error err;
    char *want;
    size_t wlen, glen;
    const char *got;

    chio_error_init(&err);
    cr_assert_str_eq(chio_json_string(chio_json_get(c, "id"), NULL), "direct_valid");
    cr_assert_eq(chio_capability_issue(issuer, "cap-bindings-direct", SUBJ, SCOPE, strlen(SCOPE),
                                       1710000200, 600, &cap, &err),
                 0, "%s", err.message);
    cr_assert_eq(chio_json_write_canonical(chio_json_get(c, "capability"), &want, &wlen), 0);
    got = chio_capability_json(cap, &glen);
    cr_expect_eq(glen, wlen);
    cr_expect_eq(memcmp(got, want, wlen), 0, "issued:\n%s\nupstream:\n%s", got, want);
    free(want);
    chio_capability_free(cap);
    chio_keypair_free(issuer);
}

Test(capability_issue, normal_form_and_defaults)
{
    chio_keypair *issuer = kp(SEED0B);
    chio_capability *cap = NULL;
    chio_capability_report rep;
    uint8_t trusted[32];
    chio_error err;
    const char *scope =
        "{\"grants\":[{\"server_id\":\"s\",\"tool_name\":\"*\",\"operations\":[\"invoke\"],"
        "\"constraints\":[],\"max_invocations\":null}],\"resource_grants\":[],"
        "\"prompt_grants\":null}";

    chio_error_init(&err);
    cr_assert_eq(
        chio_capability_issue(issuer, NULL, "0X" SUBJ, scope, strlen(scope), 1000, 60, &cap, &err),
        CHIO_EKEY, "only a lowercase 0x prefix is accepted");
    cr_assert_eq(
        chio_capability_issue(issuer, NULL, "0x" SUBJ, scope, strlen(scope), 1000, 60, &cap, &err),
        0, "%s", err.message);
    const char *json = chio_capability_json(cap, NULL);
    cr_expect_null(strstr(json, "constraints"), "empty constraints dropped: %s", json);
    cr_expect_null(strstr(json, "resource_grants"));
    cr_expect_null(strstr(json, "prompt_grants"));
    cr_expect_null(strstr(json, "null"));
    cr_expect_eq(strlen(chio_capability_id(cap)), 36, "a UUIDv7 id");
    cr_expect_eq(chio_capability_id(cap)[14], '7');
    cr_expect_str_eq(chio_capability_subject_hex(cap), SUBJ);
    cr_expect_eq(chio_capability_expires_at(cap), 1060);
    chio_keypair_public_key(issuer, trusted);
    cr_assert_eq(chio_capability_verify(cap, 1000, trusted, 1, 4, &rep), 0);
    cr_expect(rep.ok && rep.signature_valid && rep.issuer_trusted);
    cr_assert_eq(chio_capability_verify(cap, 1059, trusted, 1, 4, &rep), 0);
    cr_expect_eq(rep.time_status, CHIO_TIME_VALID);
    cr_assert_eq(chio_capability_verify(cap, 1060, trusted, 1, 4, &rep), 0);
    cr_expect_eq(rep.time_status, CHIO_TIME_EXPIRED);
    cr_expect_not(rep.ok);
    cr_assert_eq(chio_capability_verify(cap, 999, NULL, 0, 4, &rep), 0);
    cr_expect_eq(rep.time_status, CHIO_TIME_NOT_YET_VALID);
    cr_expect_not(rep.issuer_trusted);
    chio_capability_free(cap);
    chio_keypair_free(issuer);
}

Test(capability_issue, rejects_bad_input)
{
    chio_keypair *issuer = kp(SEED0B);
    chio_capability *cap = NULL;
    chio_error err;

    chio_error_init(&err);
    cr_expect_eq(chio_capability_issue(issuer, "c", SUBJ, SCOPE, strlen(SCOPE), 0, 0, &cap, &err),
                 CHIO_ERANGE);
    cr_expect_eq(
        chio_capability_issue(issuer, "c", SUBJ, SCOPE, strlen(SCOPE), UINT64_MAX, 2, &cap, &err),
        CHIO_ERANGE);
    cr_expect_eq(chio_capability_issue(issuer, "c", "abcd", SCOPE, strlen(SCOPE), 0, 5, &cap, &err),
                 CHIO_EKEY);
    cr_expect_eq(
        chio_capability_issue(issuer, "c", SUBJ, "{\"grants\":[{}]}", 15, 0, 5, &cap, &err),
        CHIO_EFORMAT);
    const char *badop =
        "{\"grants\":[{\"server_id\":\"s\",\"tool_name\":\"t\",\"operations\":[\"fly\"]}]}";
    cr_expect_eq(chio_capability_issue(issuer, "c", SUBJ, badop, strlen(badop), 0, 5, &cap, &err),
                 CHIO_EFORMAT);
    cr_expect(strstr(err.message, "fly") != NULL, "%s", err.message);
    const char *extra = "{\"grants\":[],\"admin\":true}";
    cr_expect_eq(chio_capability_issue(issuer, "c", SUBJ, extra, strlen(extra), 0, 5, &cap, &err),
                 CHIO_EFORMAT);
    cr_expect_eq(chio_capability_issue(issuer, "c", SUBJ, "{", 1, 0, 5, &cap, &err),
                 CHIO_EJSON_TRUNCATED);
    cr_expect_eq(chio_capability_issue(issuer, "", SUBJ, SCOPE, strlen(SCOPE), 0, 5, &cap, &err),
                 CHIO_EINVAL);
    cr_expect_null(cap);
    chio_keypair_free(issuer);
}

/* ---- delegation chains built here ------------------------------------------------ */

static char *signed_link(chio_keypair *delegator, const char *cap_id, const char *delegatee,
                         uint64_t ts)
{
    char *body, *out, sighex[129];
    uint8_t sig[64];
    chio_json_doc *d;
    char *canon;
    size_t clen;

    cr_assert_geq(asprintf(&body,
                           "{\"capability_id\":\"%s\",\"delegator\":\"%s\",\"delegatee\":\"%s\","
                           "\"timestamp\":%llu}",
                           cap_id, chio_keypair_public_hex(delegator), delegatee,
                           (unsigned long long)ts),
                  0);
    cr_assert_eq(chio_json_parse(body, strlen(body), &d, NULL), 0);
    cr_assert_eq(chio_json_write_canonical(chio_json_root(d), &canon, &clen), 0);
    cr_assert_eq(chio_keypair_sign(delegator, canon, clen, sig), 0);
    testutil_hex(sig, 64, sighex);
    cr_assert_geq(asprintf(&out, "%.*s,\"signature\":\"%s\"}", (int)strlen(body) - 1, body, sighex),
                  0);
    free(body);
    free(canon);
    chio_json_doc_free(d);
    return out;
}

/* A token signed by @issuer with the given chain (JSON array text). */
static chio_capability *token_with_chain(chio_keypair *issuer, const char *chain)
{
    char *body, *canon, *full, sighex[129];
    size_t clen;
    uint8_t sig[64];
    chio_json_doc *d;

    cr_assert_geq(asprintf(&body,
                           "{\"id\":\"cap-x\",\"issuer\":\"%s\",\"subject\":\"%s\",\"scope\":%s,"
                           "\"issued_at\":100,\"expires_at\":200,\"delegation_chain\":%s,"
                           "\"schema\":\"chio.capability.v1\"}",
                           chio_keypair_public_hex(issuer), SUBJ, SCOPE, chain),
                  0);
    cr_assert_eq(chio_json_parse(body, strlen(body), &d, NULL), 0);
    cr_assert_eq(chio_json_write_canonical(chio_json_root(d), &canon, &clen), 0);
    cr_assert_eq(chio_keypair_sign(issuer, canon, clen, sig), 0);
    testutil_hex(sig, 64, sighex);
    cr_assert_geq(
        asprintf(&full, "%.*s,\"signature\":\"%s\"}", (int)strlen(body) - 1, body, sighex), 0);
    chio_capability *cap = parse_ok(full, strlen(full));
    free(body);
    free(canon);
    free(full);
    chio_json_doc_free(d);
    return cap;
}

static chio_capability_report check_chain(const char *l1, const char *l2, long max_depth)
{
    chio_keypair *issuer = kp(SEED0B);
    char *chain;
    chio_capability *cap;
    chio_capability_report rep;

    cr_assert_geq(asprintf(&chain, "[%s%s%s]", l1, l2 ? "," : "", l2 ? l2 : ""), 0);
    cap = token_with_chain(issuer, chain);
    cr_assert_eq(chio_capability_verify(cap, 150, NULL, 0, max_depth, &rep), 0);
    cr_expect(rep.signature_valid, "token signature itself must be fine");
    cr_expect_eq(chio_capability_delegation_depth(cap), l2 ? 2 : 1);
    cr_expect_str_eq(chio_capability_delegation_id(cap, 0), "cap-root");
    chio_capability_free(cap);
    chio_keypair_free(issuer);
    free(chain);
    return rep;
}

Test(capability_chain, valid_and_broken_chains)
{
    chio_keypair *a = kp(SEED0B), *b = kp(SEED0C), *c = kp(SEED0D);
    char *l1 = signed_link(a, "cap-root", chio_keypair_public_hex(b), 110);
    char *l2 = signed_link(b, "cap-mid", chio_keypair_public_hex(c), 120);
    char *l2_early = signed_link(b, "cap-mid", chio_keypair_public_hex(c), 105);
    char *l2_disconnected = signed_link(c, "cap-mid", chio_keypair_public_hex(a), 120);
    chio_capability_report rep;

    rep = check_chain(l1, l2, 4);
    cr_expect(rep.delegation_chain_shape_valid);
    cr_expect_eq(rep.chain_error_link, -1);
    rep = check_chain(l1, l2, -1);
    cr_expect(rep.delegation_chain_shape_valid);

    rep = check_chain(l1, l2, 1);
    cr_expect_not(rep.delegation_chain_shape_valid);
    cr_expect(rep.delegation_depth_exceeded);
    rep = check_chain(l1, l2, 2);
    cr_expect(rep.delegation_chain_shape_valid, "depth == max is allowed");

    rep = check_chain(l1, l2_early, 4);
    cr_expect_not(rep.delegation_chain_shape_valid, "timestamps must not decrease");
    cr_expect_eq(rep.chain_error_link, 1);

    rep = check_chain(l1, l2_disconnected, 4);
    cr_expect_not(rep.delegation_chain_shape_valid, "delegator must be the previous delegatee");
    cr_expect_eq(rep.chain_error_link, 1);

    /* a link whose body was changed after signing */
    char *bad = strdup(l1);
    memcpy(strstr(bad, "\"timestamp\":110"), "\"timestamp\":111", 15);
    rep = check_chain(bad, NULL, 4);
    cr_expect_not(rep.delegation_chain_shape_valid, "link signature must verify");
    cr_expect_eq(rep.chain_error_link, 0);

    free(bad);
    free(l1);
    free(l2);
    free(l2_early);
    free(l2_disconnected);
    chio_keypair_free(a);
    chio_keypair_free(b);
    chio_keypair_free(c);
}

static void cap_fails(const char *from, const char *to, int code)
{
    chio_keypair *issuer = kp(SEED0B);
    chio_capability *cap = NULL, *bad = (chio_capability *)1;
    chio_error err;
    char *mod;
    const char *json;
    int rc;

    cr_assert_eq(
        chio_capability_issue(issuer, "cap-1", SUBJ, SCOPE, strlen(SCOPE), 100, 10, &cap, NULL), 0);
    json = chio_capability_json(cap, NULL);
    const char *at = strstr(json, from);
    cr_assert_not_null(at, "%s not in %s", from, json);
    cr_assert_geq(asprintf(&mod, "%.*s%s%s", (int)(at - json), json, to, at + strlen(from)), 0);
    chio_error_init(&err);
    rc = chio_capability_parse(mod, strlen(mod), &bad, &err);
    cr_expect_eq(rc, code, "[%s -> %s] got %s (%s)", from, to, chio_err_name(rc), err.message);
    if (rc == 0)
        chio_capability_free(bad);
    else
        cr_expect_null(bad);
    free(mod);
    chio_capability_free(cap);
    chio_keypair_free(issuer);
}

Test(capability_parse, malformed_tokens)
{
    cap_fails("\"issued_at\":100", "\"issued_at\":-100", CHIO_EFORMAT);
    cap_fails("\"issued_at\":100", "\"issued_at\":1e2", CHIO_EFORMAT);
    cap_fails("\"expires_at\":110", "\"expires_at\":99999999999999999999", CHIO_EFORMAT);
    cap_fails("\"issuer\":\"66", "\"issuer\":\"", CHIO_EKEY);
    cap_fails("\"subject\":\"0b", "\"subject\":\"zz", CHIO_EKEY);
    cap_fails("\"signature\":\"", "\"signature\":\"00", CHIO_ESIGFORMAT);
    cap_fails("\"id\":\"cap-1\"", "\"id\":7", CHIO_EFORMAT);
    cap_fails("\"id\":\"cap-1\"", "\"id\":\"cap-1\",\"schema\":\"chio.capability.v2\"",
              CHIO_ESCHEMA);
    cap_fails("\"operations\":[\"invoke\"", "\"operations\":[\"launch\"", CHIO_EFORMAT);
    cap_fails("\"id\":\"cap-1\"", "\"id\":\"cap-1\",\"id\":\"cap-2\"", CHIO_EJSON_DUPKEY);
    cap_fails("\"scope\":{", "\"scope\":7,\"x\":{", CHIO_EFORMAT);
    cap_fails("\"id\":\"cap-1\"", "\"id\":\"cap-1\",\"delegation_chain\":[{}]", CHIO_EFORMAT);
    /* unknown constraint type: parses (and is denied at evaluation) */
    cap_fails("\"path_prefix\"", "\"geo_fence\"", 0);
}

Test(capability_parse, tampering_and_unknown_fields_break_the_signature)
{
    chio_keypair *issuer = kp(SEED0B);
    chio_capability *cap, *t;
    chio_capability_report rep;
    char *mod;
    const char *json;

    cr_assert_eq(
        chio_capability_issue(issuer, "cap-1", SUBJ, SCOPE, strlen(SCOPE), 100, 10, &cap, NULL), 0);
    json = chio_capability_json(cap, NULL);
    /* an added top-level field is kept in the signed bytes, so it breaks the signature */
    cr_assert_geq(asprintf(&mod, "{\"admin\":true,%s", json + 1), 0);
    t = parse_ok(mod, strlen(mod));
    cr_expect_str_eq(chio_capability_unknown_field(t), "admin");
    cr_assert_eq(chio_capability_verify(t, 105, NULL, 0, -1, &rep), 0);
    cr_expect_not(rep.signature_valid);
    chio_capability_free(t);
    free(mod);
    /* an explicit schema equal to the implied one does not change the bytes */
    cr_assert_geq(asprintf(&mod, "{\"schema\":\"chio.capability.v1\",%s", json + 1), 0);
    t = parse_ok(mod, strlen(mod));
    cr_expect_null(chio_capability_unknown_field(t));
    cr_assert_eq(chio_capability_verify(t, 105, NULL, 0, -1, &rep), 0);
    cr_expect(rep.signature_valid);
    chio_capability_free(t);
    free(mod);
    /* null / empty delegation_chain means none */
    cr_assert_geq(asprintf(&mod, "{\"delegation_chain\":[],%s", json + 1), 0);
    t = parse_ok(mod, strlen(mod));
    cr_assert_eq(chio_capability_verify(t, 105, NULL, 0, -1, &rep), 0);
    cr_expect(rep.signature_valid);
    chio_capability_free(t);
    free(mod);
    chio_capability_free(cap);
    chio_keypair_free(issuer);
}

/* Request ids: RFC 9562 UUIDv7 (version 7, variant 10), unique, and a
 * forked child draws fresh random bytes rather than its parent's block
 * (core/id_random.c keeps one per thread). */
static int uuid_cmp(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

Test(capability, request_ids_are_uuidv7_unique_and_fresh_after_fork)
{
    enum { N = 200 };
    static char ids[3 * N][37];
    int p[2], st, i, n = 0;
    pid_t pid;

    for (i = 0; i < N; i++, n++) {
        cr_assert_eq(chio__uuid_v7(ids[n]), 0);
        cr_expect_eq(ids[n][14], '7', "%s", ids[n]);
        cr_expect(strchr("89ab", ids[n][19]) != NULL, "%s", ids[n]);
    }
    cr_assert_eq(pipe(p), 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        char id[37];
        for (i = 0; i < N; i++)
            if (chio__uuid_v7(id) != 0 || write(p[1], id, 37) != 37)
                _exit(1);
        _exit(0);
    }
    close(p[1]);
    for (i = 0; i < N; i++, n++)
        cr_assert_eq(read(p[0], ids[n], 37), 37);
    close(p[0]);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    for (i = 0; i < N; i++, n++)
        cr_assert_eq(chio__uuid_v7(ids[n]), 0);
    qsort(ids, (size_t)n, sizeof(ids[0]), uuid_cmp);
    for (i = 1; i < n; i++)
        cr_assert_str_neq(ids[i - 1], ids[i], "a request id came out twice");
}
