/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_token_attacks.c - what an agent holding a valid token
 * can try with token JSON and names it crafts, and that the kernel reads
 * each attempt the way the issuer signed it or fails closed:
 *   - a grant whose constraint list is null (chio cannot read it; read as
 *     "no constraints" it allowed every argument) is unusable;
 *   - a resource URI with a "." or ".." segment, as written or
 *     percent-decoded, is not under a prefix grant (a grant of
 *     "file:///pub/" and any suffix did allow "file:///pub/../etc/passwd",
 *     and the provider was handed it); since review 42 also a segment a
 *     provider reads as one with a path parameter ("..;x", Tomcat) or a
 *     trailing space (".. ", Windows);
 *   - a token re-encoded by its holder (escapes, number forms, a null or
 *     empty chain, key case) means what was signed or is refused.
 * Real kernel, real Ed25519, ephemeral RocksDB.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define IAT 1710000000u
#define NOW 1710000300u

TestSuite(token_attacks);

static uint64_t ta_clock(void *ctx)
{
    (void)ctx;
    return NOW;
}

/* Counts the reads that reach the provider. */
static int ta_provide(void *user, const char *uri, chio_output *out)
{
    (void)uri;
    (*(int *)user)++;
    return chio_output_set_json(out, "\"text\"", 6);
}

static chio_kernel *ta_kernel(int *reads)
{
    static const char *const tools[] = {"read"};
    chio_resource_provider rp;
    chio_kernel *k = kt_echo_kernel(NULL, ta_clock, "srv", tools, 1);
    chio_error err;

    chio_error_init(&err);
    memset(&rp, 0, sizeof(rp));
    rp.provider_id = "files";
    rp.read = ta_provide;
    rp.user = reads;
    cr_assert_eq(chio_kernel_register_resource_provider(k, &rp, &err), 0, "%s", err.message);
    return k;
}

static char *ta_token(const char *id, const char *scope)
{
    char *t = tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB, scope, IAT, 1000, NULL, 0);

    cr_assert_not_null(t, "token %s", id);
    return t;
}

/* Open a session with @toks; returns chio_kernel_open_session's result. */
static int ta_open(chio_kernel *k, const char *const *toks, size_t n,
                   char sid[CHIO_SESSION_ID_LEN + 1])
{
    chio_error err;

    chio_error_init(&err);
    return chio_kernel_open_session(k, TK_AGENT_PUB, toks, NULL, n, sid, &err);
}

/* The receipt's decision must be @verdict and the code @code. */
static void ta_expect(const chio_response *r, chio_verdict verdict, chio_code code,
                      const char *what)
{
    cr_assert_not_null(r->receipt, "%s: no receipt", what);
    cr_expect_eq(r->verdict, verdict, "%s: verdict %d (%s)", what, (int)r->verdict, r->reason);
    cr_expect_eq(r->code, code, "%s: code %s, want %s (%s)", what, chio_code_name(r->code),
                 chio_code_name(code), r->reason);
}

static void ta_call(chio_kernel *k, const char *sid, const char *cap, const char *args,
                    chio_verdict verdict, chio_code code, const char *what)
{
    chio_call c;
    chio_response r;
    chio_error err;

    memset(&c, 0, sizeof(c));
    c.session_id = sid;
    c.capability_id = cap;
    c.server_id = "srv";
    c.tool_name = "read";
    c.arguments_json = args;
    c.arguments_len = strlen(args);
    chio_error_init(&err);
    chio_response_init(&r);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s: %s", what, err.message);
    ta_expect(&r, verdict, code, what);
    chio_response_destroy(&r);
}

static void ta_read(chio_kernel *k, const char *sid, const char *cap, const char *uri,
                    chio_verdict verdict, chio_code code)
{
    chio_response r;
    chio_error err;

    chio_error_init(&err);
    chio_response_init(&r);
    cr_assert_eq(chio_kernel_read_resource(k, sid, NULL, cap, uri, &r, &err), 0, "%s: %s", uri,
                 err.message);
    ta_expect(&r, verdict, code, uri);
    chio_response_destroy(&r);
}

Test(token_attacks, a_null_constraint_list_makes_the_grant_unusable)
{
    int reads = 0;
    chio_kernel *k = ta_kernel(&reads);
    char sid[CHIO_SESSION_ID_LEN + 1];
    char *bare = ta_token("cap-null", "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\","
                                      "\"operations\":[\"invoke\"],\"constraints\":null}]}");
    char *both = ta_token("cap-both", "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\","
                                      "\"operations\":[\"invoke\"],\"constraints\":null},"
                                      "{\"server_id\":\"srv\",\"tool_name\":\"read\","
                                      "\"operations\":[\"invoke\"],\"constraints\":[{\"type\":"
                                      "\"path_prefix\",\"value\":\"/workspace\"}]}]}");
    const char *toks[2] = {bare, both};

    cr_assert_eq(ta_open(k, toks, 2, sid), 0);
    ta_call(k, sid, "cap-null", "{\"path\":\"/etc/passwd\"}", CHIO_VERDICT_DENY,
            CHIO_CODE_UNSUPPORTED_GRANT, "null constraints alone");
    ta_call(k, sid, "cap-null", "{\"path\":\"/workspace/a\"}", CHIO_VERDICT_DENY,
            CHIO_CODE_UNSUPPORTED_GRANT, "null constraints, any argument");
    /* The grant beside it still applies, with its own constraint. */
    ta_call(k, sid, "cap-both", "{\"path\":\"/etc/passwd\"}", CHIO_VERDICT_DENY,
            CHIO_CODE_CONSTRAINT_VIOLATED, "listed constraint fails");
    ta_call(k, sid, "cap-both", "{\"path\":\"/workspace/a\"}", CHIO_VERDICT_ALLOW, CHIO_CODE_NONE,
            "listed constraint holds");
    free(bare);
    free(both);
    chio_kernel_free(k);
}

Test(token_attacks, a_resource_uri_that_can_climb_is_not_under_a_prefix_grant)
{
    static const struct {
        const char *uri;
        int allowed;
    } rows[] = {
        {"file:///pub/a.txt", 1},
        {"file:///pub/..a/.b/...", 1}, /* dots inside names are names */
        {"file:///pub/../etc/passwd", 0},
        {"file:///pub/a/../../etc/passwd", 0},
        {"file:///pub/%2e%2e/etc/passwd", 0},
        {"file:///pub/%2E./etc/passwd", 0},
        {"file:///pub/..%2fetc%2fpasswd", 0},
        {"file:///pub/..%5Cetc", 0},
        {"file:///pub/a\\..\\..\\etc", 0},
        {"file:///pub/x?/../../etc", 0},
        {"file:///pub/.", 0},
        {"file:///pub/x/..", 0},
        {"file:///pubx", 0}, /* not under the prefix at all */
        /* readings a provider that decodes twice or folds Unicode takes */
        {"file:///pub/%252e%252e/etc/passwd", 0},
        {"file:///pub/%25252e%25252e/etc", 0},
        {"file:///pub/\xef\xbc\x8e\xef\xbc\x8e/etc/passwd", 0}, /* U+FF0E twice */
        {"file:///pub/..\xef\xbc\x8f/x", 0},                    /* U+FF0F */
        {"file:///pub/%c0%ae%C0%AE/etc", 0},                    /* overlong dots, encoded */
        {"file:///pub/%00/%2e%2e/etc", 0},                      /* a NUL, then dots */
        {"file:///pub/%2525252525252541", 0}, /* still decoding after four readings */
        {"file:///pub/100%25/x%2541.txt", 1}, /* ends as "100%/xA.txt" */
        {"file:///pub/caf\xc3\xa9.txt", 1},
        /* review 42: path parameters and trailing spaces */
        {"file:///pub/..;/etc/passwd", 0},      /* Tomcat, Jetty: ".." */
        {"file:///pub/..;jsessionid=1/etc", 0}, /* the same */
        {"file:///pub/.;x/a", 0},
        {"file:///pub/.. ", 0},       /* Windows trims the last segment */
        {"file:///pub/..%20/etc", 0}, /* decoded */
        {"file:///pub/a;b/c.txt", 1}, /* a parameter on a name */
        {"file:///pub/a .txt", 1},    /* a space in a name */
        {"file:///pub/ ../x", 1},     /* a leading space is part of the name */
        {"file:///pub/...;x/a", 1},   /* three dots stay a name */
    };
    int reads = 0, want_reads = 0;
    chio_kernel *k = ta_kernel(&reads);
    char sid[CHIO_SESSION_ID_LEN + 1];
    char *pub = ta_token("cap-pub", "{\"resource_grants\":[{\"uri_pattern\":\"file:///pub/*\","
                                    "\"operations\":[\"read\"]}]}");
    char *all = ta_token("cap-all", "{\"resource_grants\":[{\"uri_pattern\":\"*\","
                                    "\"operations\":[\"read\"]}]}");
    char *exact = ta_token("cap-exact", "{\"resource_grants\":[{\"uri_pattern\":"
                                        "\"file:///pub/../shared/x\",\"operations\":[\"read\"]}]}");
    const char *toks[3] = {pub, all, exact};
    size_t i;

    cr_assert_eq(ta_open(k, toks, 3, sid), 0);
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        ta_read(k, sid, "cap-pub", rows[i].uri,
                rows[i].allowed ? CHIO_VERDICT_ALLOW : CHIO_VERDICT_DENY,
                rows[i].allowed ? CHIO_CODE_NONE : CHIO_CODE_OUT_OF_SCOPE);
        want_reads += rows[i].allowed;
        cr_expect_eq(reads, want_reads, "%s: the provider was asked %d times, want %d", rows[i].uri,
                     reads, want_reads);
    }
    /* What the issuer granted outright still holds: every URI, or that one. */
    ta_read(k, sid, "cap-all", "file:///pub/../etc/passwd", CHIO_VERDICT_ALLOW, CHIO_CODE_NONE);
    ta_read(k, sid, "cap-exact", "file:///pub/../shared/x", CHIO_VERDICT_ALLOW, CHIO_CODE_NONE);
    cr_expect_eq(reads, want_reads + 2);
    free(pub);
    free(all);
    free(exact);
    chio_kernel_free(k);
}

/* @from replaced by @to in @tok (the replacement must apply). */
static char *ta_edit(const char *tok, const char *from, const char *to)
{
    char *t = tk_replace(tok, from, to);

    cr_assert_not_null(t, "'%s' is not in the token", from);
    return t;
}

typedef struct ta_variant {
    char *tok;
    int opens;        /* the session opens with it */
    chio_code code;   /* the call's code when it does */
    const char *what; /* the re-encoding */
} ta_variant;

Test(token_attacks, a_re_encoded_token_means_what_was_signed_or_is_refused)
{
    int reads = 0;
    chio_kernel *k = ta_kernel(&reads);
    char sid[CHIO_SESSION_ID_LEN + 1];
    char *tok = ta_token("cap-re", "{\"grants\":[{\"constraints\":[{\"type\":\"max_length\","
                                   "\"value\":10}],\"max_invocations\":5,\"operations\":["
                                   "\"invoke\"],\"server_id\":\"srv\",\"tool_name\":\"read\"}]}");
    char upper[65];
    size_t i;
    ta_variant rows[7];

    snprintf(upper, sizeof(upper), "%s", TK_AGENT_PUB);
    for (i = 0; upper[i]; i++)
        upper[i] = (char)(upper[i] >= 'a' && upper[i] <= 'f' ? upper[i] - 32 : upper[i]);
    rows[0] = (ta_variant){ta_edit(tok, "\"read\"", "\"r\\u0065ad\""), 1, CHIO_CODE_NONE,
                           "an escape for a letter"};
    rows[1] = (ta_variant){ta_edit(tok, "\"id\":", "\"delegation_chain\":null,\"id\":"), 1,
                           CHIO_CODE_NONE, "a null chain added"};
    rows[2] = (ta_variant){ta_edit(tok, "\"id\":", "\"delegation_chain\":[],\"id\":"), 1,
                           CHIO_CODE_NONE, "an empty chain added"};
    rows[3] = (ta_variant){ta_edit(tok, TK_AGENT_PUB, upper), 1, CHIO_CODE_NONE,
                           "the subject in capitals"};
    rows[4] = (ta_variant){ta_edit(tok, "\"value\":10", "\"value\":10.0"), 1,
                           CHIO_CODE_UNSUPPORTED_GRANT, "max_length 10.0"};
    rows[5] = (ta_variant){ta_edit(tok, "\"max_invocations\":5", "\"max_invocations\":5e0"), 0,
                           CHIO_CODE_NONE, "max_invocations 5e0"};
    rows[6] = (ta_variant){ta_edit(tok, "\"issued_at\":1710000000", "\"issued_at\":1.71e9"), 0,
                           CHIO_CODE_NONE, "issued_at 1.71e9"};
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *one[1] = {rows[i].tok};
        int rc = ta_open(k, one, 1, sid);
        cr_expect_eq(rc == 0, rows[i].opens, "%s: open_session returned %d", rows[i].what, rc);
        if (rc == 0)
            ta_call(k, sid, "cap-re", "{\"q\":\"short\"}",
                    rows[i].code == CHIO_CODE_NONE ? CHIO_VERDICT_ALLOW : CHIO_VERDICT_DENY,
                    rows[i].code, rows[i].what);
        free(rows[i].tok);
    }
    free(tok);
    chio_kernel_free(k);
}
