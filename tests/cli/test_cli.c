/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_cli.c - the `chio` binary end to end: every command's
 * --help, exit codes (0 ok, 1 negative verification, 2 bad usage/input),
 * seed files (permissions, exactly one trailing newline), canonical
 * vectors through `chio canon`, re-signing the upstream receipts, issuing
 * the upstream token, and malformed input of every kind.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sched.h>
#include <unistd.h>

#include "chio/chio.h"
#include "common/poll.h"
#include "common/testutil.h"

#define SEED07 "0707070707070707070707070707070707070707070707070707070707070707"
#define PUB07  "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"
#define SEED0B "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
#define PUB0B  "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a"
#define SUBJ   "0b513ad9b4924015ca0902ed079044d3ac5dbec2306f06948c10da8eb6e39f2d"

static char *dir;
static chio_json_doc *vectors;

static void setup(void)
{
    dir = testutil_tmpdir();
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
    chio_json_doc_free(vectors);
    vectors = NULL;
}

static char *path(const char *name)
{
    char *p;
    cr_assert_geq(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

static char *seed_file(const char *name, const char *content, unsigned mode)
{
    char *p = path(name);
    cr_assert_eq(testutil_write_file(p, content, strlen(content), mode), 0);
    return p;
}

static cli_result run(const char *in, const char *const *argv)
{
    return testutil_run_cli(argv, in, in ? strlen(in) : 0);
}

#define RUN(in, ...) run(in, (const char *const[]){__VA_ARGS__, NULL})

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

TestSuite(cli, .init = setup, .fini = teardown);

Test(cli, help_and_usage_errors)
{
    const char *const cmds[][4] = {{"--help", NULL, NULL},
                                   {"keygen", "--help", NULL},
                                   {"pubkey", "--help", NULL},
                                   {"canon", "--help", NULL},
                                   {"receipt", "sign", "--help"},
                                   {"receipt", "verify", "--help"},
                                   {"capability", "issue", "--help"},
                                   {"capability", "verify", "--help"}};
    size_t i;

    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        cli_result r = testutil_run_cli(cmds[i], NULL, 0);
        cr_expect_eq(r.status, 0, "%s %s: status %d", cmds[i][0], cmds[i][1] ? cmds[i][1] : "",
                     r.status);
        cr_expect(strstr(r.out, "usage:") != NULL, "%s: no usage on stdout", cmds[i][0]);
        testutil_cli_free(&r);
    }
    cli_result r = RUN(NULL, "frobnicate");
    cr_expect_eq(r.status, 2);
    cr_expect(strstr(r.err, "unknown command") != NULL);
    testutil_cli_free(&r);
    r = RUN(NULL, "keygen", "--bogus");
    cr_expect_eq(r.status, 2);
    testutil_cli_free(&r);
    r = RUN(NULL, "receipt");
    cr_expect_eq(r.status, 2);
    testutil_cli_free(&r);
    r = RUN(NULL, "--version");
    cr_expect_eq(r.status, 0);
    cr_expect(strstr(r.out, CHIO_VERSION_STRING) != NULL);
    testutil_cli_free(&r);
}

Test(cli, keygen_writes_private_seed_and_never_overwrites)
{
    char *out = path("key.seed");
    struct stat st;
    cli_result r = RUN(NULL, "keygen", "--out", out), p;
    size_t len;
    char *seed;

    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_eq(stat(out, &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0600);
    seed = testutil_read_file(out, &len);
    cr_expect_eq(len, 65);
    cr_expect_eq(seed[64], '\n');
    cr_expect_eq(strlen(r.out), 65, "public key hex + newline: [%s]", r.out);
    p = RUN(NULL, "pubkey", "--seed-file", out);
    cr_expect_eq(p.status, 0);
    cr_expect_str_eq(p.out, r.out);
    testutil_cli_free(&p);
    testutil_cli_free(&r);
    r = RUN(NULL, "keygen", "--out", out);
    cr_expect_eq(r.status, 2);
    cr_expect(strstr(r.err, "overwrite") != NULL, "%s", r.err);
    free(seed);
    seed = testutil_read_file(out, &len);
    cr_expect_eq(len, 65, "existing seed untouched");
    testutil_cli_free(&r);
    r = RUN(NULL, "keygen");
    cr_expect_eq(r.status, 2);
    testutil_cli_free(&r);
    free(seed);
    free(out);
}

Test(cli, seed_file_rules)
{
    struct {
        const char *content;
        unsigned mode;
        int status;
        const char *msg;
    } cases[] = {
        {SEED07, 0600, 0, NULL},
        {SEED07 "\n", 0600, 0, NULL},
        {"0x" SEED07 "\n", 0400, 0, NULL},
        {SEED07 "\n\n", 0600, 2, "CHIO_ESEED_NEWLINE"},
        {SEED07 "\r\n", 0600, 2, "CHIO_ESEED_SPACE"},
        {" " SEED07, 0600, 2, "CHIO_ESEED_SPACE"},
        {SEED07 "0\n", 0600, 2, "CHIO_ESEED_ODD"},
        {"zz07070707070707070707070707070707070707070707070707070707070707", 0600, 2,
         "CHIO_ESEED_NONHEX"},
        {"0707\n", 0600, 2, "CHIO_ESEED_LENGTH"},
        {"", 0600, 2, "CHIO_ESEED_LENGTH"},
        {SEED07 "\n", 0640, 2, "group or others"},
        {SEED07 "\n", 0604, 2, "group or others"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char name[32];
        snprintf(name, sizeof(name), "seed%zu", i);
        char *p = seed_file(name, cases[i].content, cases[i].mode);
        cli_result r = RUN(NULL, "pubkey", "--seed-file", p);
        cr_expect_eq(r.status, cases[i].status, "case %zu: status %d (%s)", i, r.status, r.err);
        if (cases[i].status == 0)
            cr_expect_str_eq(r.out, PUB07 "\n");
        else
            cr_expect(strstr(r.err, cases[i].msg) != NULL, "case %zu: [%s] lacks %s", i, r.err,
                      cases[i].msg);
        cr_expect_null(strstr(r.err, "070707070707"), "seed must not be echoed");
        testutil_cli_free(&r);
        free(p);
    }
    cli_result r = RUN(NULL, "pubkey", "--seed-file", "/nonexistent/seed");
    cr_expect_eq(r.status, 2);
    testutil_cli_free(&r);
}

Test(cli, canon_matches_all_vectors)
{
    const chio_json *cases;
    size_t i, n, passed = 0;

    vectors = testutil_load_vectors("chio-canonical-v1.json");
    cases = chio_json_get(chio_json_root(vectors), "cases");
    n = chio_json_size(cases);
    for (i = 0; i < n; i++) {
        const chio_json *c = chio_json_at(cases, i);
        size_t inlen, wantlen;
        const char *in = chio_json_string(chio_json_get(c, "input_json"), &inlen);
        const char *want = chio_json_string(chio_json_get(c, "canonical_json"), &wantlen);
        const char *argv[] = {"canon", NULL};
        cli_result r = testutil_run_cli(argv, in, inlen);
        if (r.status == 0 && r.out_len == wantlen && memcmp(r.out, want, wantlen) == 0)
            passed++;
        else
            cr_expect_fail("case %zu: [%s] want [%s] (%s)", i, r.out, want, r.err);
        testutil_cli_free(&r);
    }
    fprintf(stderr, "chio canon vectors: %zu/%zu cases passed\n", passed, n);
    cr_assert_eq(passed, n);
}

Test(cli, canon_rejects_bad_json_with_offsets)
{
    struct {
        const char *in;
        size_t len;
        const char *code;
    } cases[] = {
        {"{\"a\":1,}", 8, "CHIO_EJSON_SYNTAX"},
        {"{\"a\":", 5, "CHIO_EJSON_TRUNCATED"},
        {"\"\xff\"", 3, "CHIO_EJSON_UTF8"},
        {"\"\\ud800\"", 8, "CHIO_EJSON_SURROGATE"},
        {"{\"a\":1,\"a\":2}", 13, "CHIO_EJSON_DUPKEY"},
        {"{} {}", 5, "CHIO_EJSON_TRAILING"},
        {"1e999", 5, "CHIO_EJSON_NUMBER"},
        {"", 0, "CHIO_EJSON_TRUNCATED"},
    };
    size_t i;
    char deep[400];

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *argv[] = {"canon", NULL};
        cli_result r = testutil_run_cli(argv, cases[i].in, cases[i].len);
        cr_expect_eq(r.status, 2, "case %zu", i);
        cr_expect_eq(r.out_len, 0);
        cr_expect(strstr(r.err, cases[i].code) != NULL, "case %zu: %s", i, r.err);
        cr_expect(strstr(r.err, "byte") != NULL, "case %zu: no offset in %s", i, r.err);
        testutil_cli_free(&r);
    }
    memset(deep, '[', 200);
    memset(deep + 200, ']', 200);
    const char *argv[] = {"canon", NULL};
    cli_result r = testutil_run_cli(argv, deep, sizeof(deep));
    cr_expect_eq(r.status, 2);
    cr_expect(strstr(r.err, "CHIO_EJSON_DEPTH") != NULL, "%s", r.err);
    testutil_cli_free(&r);
}

static char *vector_receipt(const char *id)
{
    const chio_json *cases;
    size_t i, len;
    char *out;

    chio_json_doc_free(vectors);
    vectors = testutil_load_vectors("chio-receipt-v1.json");
    cases = chio_json_get(chio_json_root(vectors), "cases");
    for (i = 0; i < chio_json_size(cases); i++) {
        const chio_json *c = chio_json_at(cases, i);
        if (strcmp(chio_json_string(chio_json_get(c, "id"), NULL), id) == 0) {
            cr_assert_eq(chio_json_write_canonical(chio_json_get(c, "receipt"), &out, &len), 0);
            return out;
        }
    }
    cr_assert_fail("no case %s", id);
    return NULL;
}

Test(cli, receipt_sign_reproduces_upstream_bytes)
{
    const char *ids[] = {"allow_receipt", "deny_receipt"};
    char *seed = seed_file("s07", SEED07 "\n", 0600);
    size_t i;

    for (i = 0; i < 2; i++) {
        char *want = vector_receipt(ids[i]);
        cli_result r = RUN(want, "receipt", "sign", "--seed-file", seed);
        cr_expect_eq(r.status, 0, "%s", r.err);
        cr_expect_eq(r.out_len, strlen(want) + 1);
        cr_expect_eq(memcmp(r.out, want, strlen(want)), 0, "%s: got %s", ids[i], r.out);
        cr_expect_eq(r.out[r.out_len - 1], '\n');
        testutil_cli_free(&r);
        free(want);
        chio_json_doc_free(vectors);
        vectors = NULL;
    }
    free(seed);
}

Test(cli, receipt_sign_refuses_bad_bodies)
{
    char *seed = seed_file("s07", SEED07, 0600);
    char *body = vector_receipt("allow_receipt");
    char *bad;
    cli_result r;

    /* trace observation with a decision breaks the semantic rules */
    char *k = strstr(body, "mediated_decision");
    cr_assert_geq(asprintf(&bad, "%.*strace_observation%s", (int)(k - body), body, k + 17), 0);
    r = RUN(bad, "receipt", "sign", "--seed-file", seed);
    cr_expect_eq(r.status, 2);
    cr_expect(strstr(r.err, "CHIO_ESEMANTIC") != NULL, "%s", r.err);
    cr_expect_eq(r.out_len, 0);
    testutil_cli_free(&r);
    free(bad);
    r = RUN("not json", "receipt", "sign", "--seed-file", seed);
    cr_expect_eq(r.status, 2);
    testutil_cli_free(&r);
    r = RUN(body, "receipt", "sign");
    cr_expect_eq(r.status, 2, "missing --seed-file");
    testutil_cli_free(&r);
    free(body);
    free(seed);
}

Test(cli, receipt_verify_reports_and_exit_codes)
{
    const chio_json *cases;
    char *lines = NULL, *file;
    size_t i, cap = 0, len = 0;

    vectors = testutil_load_vectors("chio-receipt-v1.json");
    cases = chio_json_get(chio_json_root(vectors), "cases");
    for (i = 0; i < chio_json_size(cases); i++) {
        char *one;
        size_t olen;
        cr_assert_eq(chio_json_write_canonical(chio_json_get(chio_json_at(cases, i), "receipt"),
                                               &one, &olen),
                     0);
        if (len + olen + 2 > cap) {
            cap = (len + olen + 2) * 2;
            lines = realloc(lines, cap);
        }
        memcpy(lines + len, one, olen);
        len += olen;
        lines[len++] = '\n';
        lines[len] = '\0';
        free(one);
    }
    file = path("receipts.jsonl");
    cr_assert_eq(testutil_write_file(file, lines, len, 0644), 0);

    /* three of five vectors are intact; two are tampered */
    cli_result r = RUN(NULL, "receipt", "verify", file);
    cr_expect_eq(r.status, 1, "%s", r.err);
    cr_expect_eq(count_lines(r.out), 5);
    cr_expect(strstr(r.out, "\"ok\":true") != NULL);
    cr_expect(strstr(r.out, "\"ok\":false") != NULL);
    cr_expect(strstr(r.out, "\"result\":\"Observed\"") != NULL);
    cr_expect(strstr(r.out, "\"result\":\"Invalid\"") != NULL, "tampered receipts: %s", r.out);
    testutil_cli_free(&r);

    /* only the allow receipt, from stdin, with the right and a wrong trusted key */
    char *allow = vector_receipt("allow_receipt");
    r = RUN(allow, "receipt", "verify", "--trusted-key", PUB07);
    cr_expect_eq(r.status, 0, "%s", r.out);
    cr_expect(strstr(r.out, "\"signer_trusted\":true") != NULL);
    cr_expect(strstr(r.out, "\"authorized\":true") != NULL);
    cr_expect(strstr(r.out, "\"id\":\"c9909f73") != NULL);
    cr_expect(strstr(r.out, "\"signer_key_hex\":\"" PUB07 "\"") != NULL);
    testutil_cli_free(&r);
    r = RUN(allow, "receipt", "verify", "--trusted-key", PUB0B);
    cr_expect_eq(r.status, 1);
    cr_expect(strstr(r.out, "\"signer_trusted\":false") != NULL);
    testutil_cli_free(&r);
    r = RUN(allow, "receipt", "verify");
    cr_expect_eq(r.status, 0, "integrity-only check passes without trusted keys");
    /* a self-consistent report: what was not checked is null, not false,
     * and nothing claims an authorization no trusted key vouches for */
    cr_expect_not_null(strstr(r.out, "\"signer_trusted\":null"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"authorized\":null"), "%s", r.out);
    cr_expect_null(strstr(r.out, "Authorized"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"result\":\"Allowed\""), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"not_checked\":[\"signer\"]"), "%s", r.out);
    cr_expect_not_null(
        strstr(r.out, "\"checked\":[\"signature\",\"receipt_id\",\"parameter_hash\"]"), "%s",
        r.out);
    cr_expect_not_null(strstr(r.out, "\"ok\":true"), "%s", r.out);
    cr_expect_not_null(strstr(r.err, "no --trusted-key given"), "%s", r.err);
    testutil_cli_free(&r);
    r = RUN(allow, "receipt", "verify", "--trusted-key", PUB07);
    cr_expect_not_null(strstr(r.out, "\"result\":\"Authorized\""), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"not_checked\":[]"), "%s", r.out);
    cr_expect_null(strstr(r.err, "no --trusted-key"), "%s", r.err);
    testutil_cli_free(&r);
    r = RUN(allow, "receipt", "verify", "--trusted-key", PUB0B);
    cr_expect_not_null(strstr(r.out, "\"result\":\"Untrusted\""), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"authorized\":false"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"ok\":false"), "%s", r.out);
    testutil_cli_free(&r);
    r = RUN(allow, "receipt", "verify", "--allow-legacy");
    cr_expect_eq(r.status, 2, "--allow-legacy without --receipt-db is bad usage");
    testutil_cli_free(&r);
    r = RUN(allow, "receipt", "verify", "--trusted-key", "abcd");
    cr_expect_eq(r.status, 2, "a malformed trusted key is bad usage");
    testutil_cli_free(&r);

    free(allow);
    free(file);
    free(lines);
}

Test(cli, receipt_verify_bad_input)
{
    char *allow = vector_receipt("allow_receipt");
    const char *inputs[] = {"{\"a\":", "\"\xff\"", "[[[[[[[[[[", "{}", "42"};
    size_t i;
    char *mod;

    for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        cli_result r = RUN(inputs[i], "receipt", "verify");
        cr_expect_eq(r.status, 2, "input %zu: status %d", i, r.status);
        cr_expect(strstr(r.out, "\"ok\":false") != NULL, "input %zu: %s", i, r.out);
        testutil_cli_free(&r);
    }
    /* wrong-length signature and truncated kernel key */
    char *sig = strstr(allow, "\"signature\":\"") + 13;
    cr_assert_geq(asprintf(&mod, "%.*s%s", (int)(sig - allow), allow, sig + 2), 0);
    cli_result r = RUN(mod, "receipt", "verify");
    cr_expect_eq(r.status, 2);
    cr_expect(strstr(r.out, "CHIO_ESIGFORMAT") != NULL, "%s", r.out);
    testutil_cli_free(&r);
    free(mod);
    char *key = strstr(allow, "\"kernel_key\":\"") + 14;
    cr_assert_geq(asprintf(&mod, "%.*s%s", (int)(key - allow), allow, key + 1), 0);
    r = RUN(mod, "receipt", "verify");
    cr_expect_eq(r.status, 2);
    cr_expect(strstr(r.out, "CHIO_EKEY") != NULL, "%s", r.out);
    testutil_cli_free(&r);
    free(mod);
    /* a good line and a bad line: every line reported, bad input wins */
    cr_assert_geq(asprintf(&mod, "%s\n{broken\n", allow), 0);
    r = RUN(mod, "receipt", "verify");
    cr_expect_eq(r.status, 2);
    cr_expect_eq(count_lines(r.out), 2);
    cr_expect(strstr(r.out, "\"line\":2") != NULL, "%s", r.out);
    testutil_cli_free(&r);
    free(mod);
    free(allow);
}

#define SCOPE                                                                               \
    "{\"grants\":[{\"constraints\":[{\"type\":\"path_prefix\",\"value\":\"/workspace/\"}]," \
    "\"max_invocations\":3,\"operations\":[\"invoke\",\"read_result\"],\"server_id\":"      \
    "\"srv-files\",\"tool_name\":\"file_read\"}]}"

Test(cli, capability_issue_and_verify)
{
    char *seed = seed_file("s0b", SEED0B "\n", 0600);
    char *tok;
    cli_result r =
        RUN(NULL, "capability", "issue", "--seed-file", seed, "--subject", SUBJ, "--scope", SCOPE,
            "--ttl", "600", "--id", "cap-bindings-direct", "--now", "1710000200");

    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out,
                     "\"signature\":\"bf98e7d482dee58f37b6f859b9eddd54191dbb1145321be7dff9aa59fbf"
                     "47e7647873dd40c585956ebc098b64f7f853d7ceb83685c01410c7decd6a477db920c\"") !=
                  NULL,
              "issued token must match upstream's signature: %s", r.out);
    tok = strdup(r.out);
    testutil_cli_free(&r);

    r = RUN(tok, "capability", "verify", "--at", "1710000300", "--trusted-key", PUB0B);
    cr_expect_eq(r.status, 0, "%s", r.out);
    cr_expect_str_eq(r.out, "{\"checked\":[\"signature\",\"time\",\"delegation_chain\",\"issuer\"],"
                            "\"delegation_chain_shape_valid\":true,\"id\":\"cap-bindings-direct\","
                            "\"issuer_trusted\":true,\"not_checked\":[],\"ok\":true,"
                            "\"signature_valid\":true,\"time_status\":\"valid\"}\n");
    testutil_cli_free(&r);
    /* without trusted keys the issuer is not checked, and the report says so */
    r = RUN(tok, "capability", "verify", "--at", "1710000300");
    cr_expect_eq(r.status, 0, "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"issuer_trusted\":null"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"not_checked\":[\"issuer\"]"), "%s", r.out);
    cr_expect_not_null(strstr(r.err, "no --trusted-key given"), "%s", r.err);
    testutil_cli_free(&r);
    r = RUN(tok, "capability", "verify", "--at", "1710000800");
    cr_expect_eq(r.status, 1);
    cr_expect(strstr(r.out, "\"time_status\":\"expired\"") != NULL);
    testutil_cli_free(&r);
    r = RUN(tok, "capability", "verify", "--at", "1710000199");
    cr_expect_eq(r.status, 1);
    cr_expect(strstr(r.out, "\"time_status\":\"not_yet_valid\"") != NULL);
    testutil_cli_free(&r);
    r = RUN(tok, "capability", "verify", "--at", "1710000300", "--trusted-key", PUB07);
    cr_expect_eq(r.status, 1);
    cr_expect(strstr(r.out, "\"issuer_trusted\":false") != NULL);
    testutil_cli_free(&r);

    /* usage errors */
    r = RUN(tok, "capability", "verify");
    cr_expect_eq(r.status, 2, "--at is required");
    testutil_cli_free(&r);
    r = RUN(tok, "capability", "verify", "--at", "-5");
    cr_expect_eq(r.status, 2);
    testutil_cli_free(&r);
    r = RUN(NULL, "capability", "issue", "--seed-file", seed, "--subject", SUBJ, "--scope", "{",
            "--ttl", "5");
    cr_expect_eq(r.status, 2);
    testutil_cli_free(&r);
    r = RUN(NULL, "capability", "issue", "--seed-file", seed, "--subject", "xyz", "--scope", SCOPE,
            "--ttl", "5");
    cr_expect_eq(r.status, 2);
    cr_expect(strstr(r.err, "CHIO_EKEY") != NULL, "%s", r.err);
    testutil_cli_free(&r);
    r = RUN(NULL, "capability", "issue", "--seed-file", seed, "--subject", SUBJ, "--scope", SCOPE,
            "--ttl", "0");
    cr_expect_eq(r.status, 2);
    testutil_cli_free(&r);
    r = RUN("{\"id\":1}", "capability", "verify", "--at", "1");
    cr_expect_eq(r.status, 2);
    testutil_cli_free(&r);
    free(tok);
    free(seed);
}

Test(cli, capability_verify_vectors)
{
    const chio_json *cases;
    size_t i;

    vectors = testutil_load_vectors("chio-capability-v1.json");
    cases = chio_json_get(chio_json_root(vectors), "cases");
    for (i = 0; i < chio_json_size(cases); i++) {
        const chio_json *c = chio_json_at(cases, i), *want = chio_json_get(c, "expected");
        char *tok, at[32];
        size_t len;
        uint64_t t;
        int sig;
        chio_json_get_uint64(chio_json_get(c, "verify_at"), &t);
        snprintf(at, sizeof(at), "%llu", (unsigned long long)t);
        cr_assert_eq(chio_json_write_canonical(chio_json_get(c, "capability"), &tok, &len), 0);
        cli_result r = RUN(tok, "capability", "verify", "--at", at, "--max-depth", "4");
        chio_json_get_bool(chio_json_get(want, "signature_valid"), &sig);
        cr_expect(strstr(r.out, sig ? "\"signature_valid\":true" : "\"signature_valid\":false"),
                  "case %zu: %s", i, r.out);
        char ts[64];
        snprintf(ts, sizeof(ts), "\"time_status\":\"%s\"",
                 chio_json_string(chio_json_get(want, "time_status"), NULL));
        cr_expect(strstr(r.out, ts) != NULL, "case %zu: %s", i, r.out);
        cr_expect(strstr(r.out, "\"delegation_chain_shape_valid\":true") != NULL);
        testutil_cli_free(&r);
        free(tok);
    }
}

Test(cli, bench_budget_mode_charges_a_budget_per_call)
{
    char *db = path("bench-budget");
    cli_result r = RUN(NULL, "bench", "--receipt-db", db, "--threads", "2", "--calls", "20",
                       "--durability", "nosync", "--budget", "--json");

    cr_expect_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "\"mode\":\"evaluate-budget\"") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "\"errors\":0,") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "\"calls\":20,") != NULL, "%s", r.out);
    testutil_cli_free(&r);
    r = RUN(NULL, "bench", "--receipt-db", db, "--threads", "1", "--calls", "2", "--synthetic",
            "--budget");
    cr_expect_eq(r.status, 2, "%s", r.err);
    cr_expect(strstr(r.err, "--budget applies to full evaluations") != NULL, "%s", r.err);
    testutil_cli_free(&r);
    free(db);
}

/* --signer-realtime: the run reports what the system applied, and a
 * refusal is the kernel's warning on stderr, never a silent downgrade. */
Test(cli, bench_signer_realtime_reports_whether_it_was_applied)
{
    char *db = path("bench-rt");
    cli_result r = RUN(NULL, "bench", "--receipt-db", db, "--threads", "4", "--calls", "40",
                       "--durability", "nosync", "--signer-realtime", "2", "--json");
    int applied;

    cr_expect_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "\"signer_realtime\":2,") != NULL, "%s", r.out);
    applied = strstr(r.out, "\"signer_realtime_applied\":true") != NULL;
    cr_expect(applied || strstr(r.out, "\"signer_realtime_applied\":false") != NULL, "%s", r.out);
    cr_expect_eq(strstr(r.err, "signer_realtime_not_applied") != NULL, !applied, "%s", r.err);
    cr_expect(strstr(r.out, "\"errors\":0,") != NULL, "%s", r.out);
    testutil_cli_free(&r);
    for (size_t i = 0; i < 3; i++) {
        const char *bad[] = {"0", "100", "x"};
        r = RUN(NULL, "bench", "--receipt-db", db, "--threads", "1", "--calls", "1",
                "--signer-realtime", bad[i]);
        cr_expect_eq(r.status, 2, "%s: %s", bad[i], r.err);
        cr_expect(strstr(r.err, "--signer-realtime must be") != NULL, "%s", r.err);
        testutil_cli_free(&r);
    }
    free(db);
}

/* The per-thread breakdown: the signer's CPU per call is at least most of
 * a signature (it signs every receipt of a loaded run), the kinds and the
 * callers add up to no more than the process's CPU per call, and the
 * signer's shares of the run's wall time are fractions, and so are the
 * machine's idle and steal shares over the calls. A broken reading
 * (wrong file, wrong units, the phase's start taken after the calls) fails
 * one of these. */
Test(cli, bench_reports_cpu_per_call_by_thread)
{
    static const char *const kinds[] = {"signer",  "commit",       "checkpoint",
                                        "rocksdb", "other_kernel", "callers"};
    char *db = path("bench-threads");
    /* 2,000 calls: long enough for /proc/stat's clock ticks (10 ms). */
    cli_result r = RUN(NULL, "bench", "--receipt-db", db, "--threads", "4", "--calls", "2000",
                       "--durability", "nosync", "--json");
    chio_json_doc *doc = NULL;
    const chio_json *root, *by;
    double v, sum = 0, total = 0, busy = -1, waiting = -1, idle = -1, steal = -1;
    size_t i;

    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_eq(chio_json_parse(r.out, strlen(r.out), &doc, NULL), 0, "%s", r.out);
    root = chio_json_root(doc);
    by = chio_json_get(root, "thread_cpu_per_call_us");
    cr_assert(by != NULL, "%s", r.out);
    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        cr_assert_eq(chio_json_get_double(chio_json_get(by, kinds[i]), &v), 0, "%s: %s", kinds[i],
                     r.out);
        cr_expect(v >= 0, "%s: %s", kinds[i], r.out);
        sum += v;
    }
    cr_assert_eq(chio_json_get_double(chio_json_get(root, "cpu_per_call_us"), &total), 0);
    chio_json_get_double(chio_json_get(by, "signer"), &v);
    /* Some calls sign on their caller (an idle pipeline), so not all. */
    cr_expect(v > 0, "%s", r.out);
    cr_expect(sum <= total * 1.01 + 0.05, "%s", r.out);
    cr_assert_eq(chio_json_get_double(chio_json_get(root, "signer_busy"), &busy), 0);
    cr_assert_eq(chio_json_get_double(chio_json_get(root, "signer_waiting_for_cpu"), &waiting), 0);
    cr_expect(busy > 0 && busy <= 1.0, "%s", r.out);
    cr_expect(waiting >= 0 && busy + waiting <= 1.01, "%s", r.out);
    /* The machine's idle and steal shares over the calls (/proc/stat). */
    cr_assert_eq(chio_json_get_double(chio_json_get(root, "machine_idle"), &idle), 0, "%s", r.out);
    cr_assert_eq(chio_json_get_double(chio_json_get(root, "machine_steal"), &steal), 0, "%s",
                 r.out);
    cr_expect(idle >= 0 && steal >= 0 && idle + steal <= 1.0, "%s", r.out);
    /* One signing loop per CPU it may run on: as many loops as CPUs, each
     * signature's CPU in the range of the single-thread raw sign (a
     * neighbour may slow it; nothing makes it 5x faster or 20x slower),
     * and the ratio printed is the one its members give. */
    {
        double n = 0, all_us = 0, raw_us = 0, per_sec = 0, ratio = 0;
        cr_assert_eq(chio_json_get_double(chio_json_get(root, "sign_all_cpus"), &n), 0, "%s",
                     r.out);
        cpu_set_t set;
        CPU_ZERO(&set);
        cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
        cr_expect_eq((long)n, (long)CPU_COUNT(&set), "%s", r.out);
        cr_assert_eq(chio_json_get_double(chio_json_get(root, "sign_all_cpus_us"), &all_us), 0);
        cr_assert_eq(chio_json_get_double(chio_json_get(root, "raw_sign_us"), &raw_us), 0);
        cr_expect(raw_us > 0 && all_us > raw_us / 5 && all_us < raw_us * 20, "%s", r.out);
        cr_assert_eq(chio_json_get_double(chio_json_get(root, "sign_all_cpus_per_sec"), &per_sec),
                     0);
        cr_expect(per_sec > 0, "%s", r.out);
        cr_assert_eq(
            chio_json_get_double(chio_json_get(root, "cpu_per_call_to_sign_all_cpus"), &ratio), 0);
        cr_expect(ratio > 0 && ratio > total / all_us * 0.99 && ratio < total / all_us * 1.01, "%s",
                  r.out);
    }
    /* A thread hand-off's CPU, with a CPU idle and all busy: a futex wake
     * and sleep costs microseconds, never nothing and never a
     * signature's hundredfold. */
    {
        double idle_us = 0, busy_us = 0;
        cr_assert_eq(chio_json_get_double(chio_json_get(root, "handoff_idle_cpu_us"), &idle_us), 0,
                     "%s", r.out);
        cr_assert_eq(chio_json_get_double(chio_json_get(root, "handoff_busy_cpu_us"), &busy_us), 0,
                     "%s", r.out);
        cr_expect(idle_us > 0.05 && idle_us < 5000, "%s", r.out);
        cr_expect(busy_us > 0.05 && busy_us < 5000, "%s", r.out);
    }
    chio_json_doc_free(doc);
    testutil_cli_free(&r);
    free(db);
}

/* A reading command given a --receipt-db that is a file, or that does not
 * exist, says which, names the option and exits 2 (it used to say only "no
 * receipt store at PATH", the same as for an empty directory). Each row:
 * the command's words, then its options after --receipt-db DIR. */
Test(cli, reading_a_store_names_a_file_or_a_missing_path)
{
    static const char *const cmds[][5] = {
        {"receipt list", "receipt", "list", NULL, NULL},
        {"receipt verify", "receipt", "verify", NULL, NULL},
        {"checkpoint list", "checkpoint", "list", NULL, NULL},
        {"checkpoint prove", "checkpoint", "prove", "--seq", "1"},
        {"export", "export", "--nats", "nats://127.0.0.1:1", NULL},
        {"fleet witness", "fleet", "witness", "--nats", "nats://127.0.0.1:1"}};
    char *file = seed_file("not-a-store", "x\n", 0644), *missing = path("no-such-store");
    const char *const dbs[] = {file, missing};
    const char *const why[] = {"is not a directory", ": no such directory"};
    size_t i, d;

    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        for (d = 0; d < 2; d++) {
            const char *argv[8] = {NULL};
            size_t n = 0, k;
            cli_result r;
            char *want;

            for (k = 1; k < 5; k++)
                if (cmds[i][k] != NULL)
                    argv[n++] = cmds[i][k];
            argv[n++] = "--receipt-db";
            argv[n++] = dbs[d];
            r = testutil_run_cli(argv, NULL, 0);
            cr_assert_geq(asprintf(&want, "chio %s: --receipt-db %s%s%s", cmds[i][0], dbs[d],
                                   d == 0 ? " " : "", why[d]),
                          0);
            cr_expect_eq(r.status, 2, "%s: %d", cmds[i][0], r.status);
            cr_expect(strstr(r.err, want) != NULL, "%s: %s", cmds[i][0], r.err);
            free(want);
            testutil_cli_free(&r);
        }
    free(file);
    free(missing);
}

/* mcp serve-http checks --listen before it touches anything: a bad address
 * exits 2 with one line naming it, with no store created and no kernel
 * started (it used to create the store and start and drain a kernel
 * before the MCP layer refused the address). */
Test(cli, mcp_serve_http_refuses_a_bad_listen_before_the_store)
{
    static const char *const bad[] = {"0.0.0.0:0", "10.0.0.1:8080", "127.0.0.1:65536",
                                      "127.0.0.1", "localhost:80",  "127.0.0.1:x"};
    char *seed = seed_file("mcp.seed", SEED07 "\n", 0600),
         *pol = seed_file("mcp-policy.json",
                          "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[]}",
                          0600),
         *db = path("mcp-db");
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cli_result r = RUN(NULL, "mcp", "serve-http", "--policy", pol, "--receipt-db", db,
                           "--seed-file", seed, "--listen", bad[i], "--", "/bin/cat");
        char *want;
        struct stat st;

        cr_assert_geq(asprintf(&want,
                               "chio mcp serve-http: --listen '%s' is not a loopback IPv4 "
                               "address and port (127.0.0.1:PORT)\n",
                               bad[i]),
                      0);
        cr_expect_eq(r.status, 2, "%s: exit %d", bad[i], r.status);
        cr_expect_str_eq(r.err, want, "%s", bad[i]);
        cr_expect_neq(stat(db, &st), 0, "%s: the store was created", bad[i]);
        free(want);
        testutil_cli_free(&r);
    }
    free(seed);
    free(pol);
    free(db);
}

/* A key mistake is one line that says what is wrong: keygen --out naming a
 * directory says so (it used to call the directory an existing file), and
 * bench with a bad --seed-file prints the seed rule it broke and nothing
 * more (it used to add "no signing key", with and without
 * --compare-sidecar). */
Test(cli, key_mistakes_are_one_clear_line)
{
    char *bad = seed_file("bad.seed", "zz\n", 0600), *db = path("bench-bad-seed");
    cli_result r = RUN(NULL, "keygen", "--out", dir);
    char *want;

    cr_assert_geq(asprintf(&want,
                           "chio keygen: --out %s is a directory: give the new seed file's name\n",
                           dir),
                  0);
    cr_expect_eq(r.status, 2);
    cr_expect_str_eq(r.err, want);
    free(want);
    testutil_cli_free(&r);
    r = RUN(NULL, "bench", "--receipt-db", db, "--threads", "1", "--calls", "1", "--seed-file",
            bad);
    cr_expect_eq(r.status, 2);
    cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
    cr_expect(strstr(r.err, "chio bench: seed file ") == r.err, "%s", r.err);
    testutil_cli_free(&r);
    r = RUN(NULL, "bench", "--receipt-db", db, "--compare-sidecar", "--calls", "1", "--seed-file",
            bad);
    cr_expect_eq(r.status, 2);
    cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
    cr_expect(strstr(r.err, "chio bench: seed file ") == r.err, "%s", r.err);
    testutil_cli_free(&r);
    free(bad);
    free(db);
}

/* Run `chio @a @b` with a pseudo-terminal as stdin; wait (5 s at most) for
 * a line on its stderr, then type Ctrl-D. Returns that line ("" if none)
 * and the exit status in @status. */
static char *run_on_terminal(const char *a, const char *b, int *status)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY), errp[2], st = 0;
    char *line = calloc(1, 512);
    size_t n = 0;
    uint64_t end = testutil_now_ms() + 5000;
    pid_t pid;

    cr_assert(master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0 && line != NULL);
    cr_assert_eq(pipe(errp), 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int slave = open(ptsname(master), O_RDWR | O_NOCTTY), devnull = open("/dev/null", O_WRONLY);
        if (slave < 0 || devnull < 0 || dup2(slave, 0) < 0 || dup2(devnull, 1) < 0 ||
            dup2(errp[1], 2) < 0)
            _exit(127);
        execl(CHIO_TEST_CLI, CHIO_TEST_CLI, a, b, (char *)NULL);
        _exit(127);
    }
    close(errp[1]);
    while (n < 511 && memchr(line, '\n', n) == NULL && testutil_now_ms() < end) {
        struct pollfd p = {errp[0], POLLIN, 0};
        ssize_t got;
        if (poll(&p, 1, 50) <= 0)
            continue;
        got = read(errp[0], line + n, 511 - n);
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    cr_expect_eq(write(master, "\x04", 1), 1);
    while (waitpid(pid, &st, WNOHANG) == 0 && testutil_now_ms() < end + 5000)
        testutil_nap_ms(5);
    if (waitpid(pid, &st, WNOHANG) == 0) { /* still waiting on the terminal */
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    close(errp[0]);
    close(master);
    return line;
}

/* A command reading stdin from a terminal says so on stderr, with how to
 * end it, rather than waiting in silence (it used to print nothing until
 * the input ended); Ctrl-D then ends it as an empty input. */
Test(cli, reading_a_terminal_says_so)
{
    static const char *const cmds[][2] = {
        {"receipt", "verify"}, {"checkpoint", "verify-proof"}, {"canon", NULL}};
    size_t i;

    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        char name[32], *want, *line;
        int status;

        snprintf(name, sizeof(name), "%s%s%s", cmds[i][0], cmds[i][1] ? " " : "",
                 cmds[i][1] ? cmds[i][1] : "");
        line = run_on_terminal(cmds[i][0], cmds[i][1], &status);
        cr_assert_geq(asprintf(&want,
                               "chio %s: reading standard input from the terminal; end it with "
                               "Ctrl-D ('chio %s --help' shows how to give a file)\n",
                               name, name),
                      0);
        cr_expect_str_eq(line, want, "%s", name);
        cr_expect_eq(status, 2, "%s: an empty input is malformed: %d", name, status);
        free(want);
        free(line);
    }
}

/* --receipt-db naming the directory above a store (the demo's ./state for
 * ./state/receipts) names the store below (it used to say only "no receipt
 * store at state"). */
Test(cli, a_store_one_level_down_is_named)
{
    char *parent = path("state"), *db = path("state/receipts"), *want;
    cli_result r;

    cr_assert_eq(mkdir(parent, 0700), 0);
    r = RUN(NULL, "bench", "--receipt-db", db, "--threads", "1", "--calls", "1", "--durability",
            "nosync");

    cr_assert_eq(r.status, 0, "%s", r.err);
    testutil_cli_free(&r);
    r = RUN(NULL, "receipt", "list", "--receipt-db", parent);
    cr_assert_geq(asprintf(&want,
                           "chio receipt list: --receipt-db %s holds no receipt store, but %s "
                           "does: did you mean --receipt-db %s?\n",
                           parent, db, db),
                  0);
    cr_expect_eq(r.status, 2);
    cr_expect_str_eq(r.err, want);
    free(want);
    testutil_cli_free(&r);
    free(parent);
    free(db);
}
