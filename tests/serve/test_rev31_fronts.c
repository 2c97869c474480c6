/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/serve/test_rev31_fronts.c - review 31 of the sidecar against the
 * library: the same call through `chio serve`'s evaluate route (the serve
 * layer in-process, chio_serve_handle(), as the HTTP layer calls it) and
 * through chio_kernel_evaluate() on the same kernel must get the same
 * verdict, code and parameter_hash. Suite rev31_fronts:
 * - "parameters" that were not an object (an array, a number, a string,
 *   null) were a 400 with no receipt, where chio_kernel_evaluate() decides
 *   on any JSON value (an allow under a grant without constraints). Now
 *   the kernel decides them through the sidecar too, with the receipt,
 *   and holds them to the grant's constraints as it does in-process
 *   (max_length reads every string, path_prefix denies a value naming no
 *   path);
 * - pinned (they held before): number and string forms a re-serialising
 *   front door could change (1e2, -0, 1.0, integers past 2^53 and past
 *   uint64, escaped keys, U+2028) hash as in-process; absent parameters
 *   are {}; arguments 126 and 127 levels deep are denied
 *   arguments_rejected with a receipt by both, and 128 levels, which the
 *   kernel still denies with a receipt, are a body past 128 levels: 400
 *   invalid_json (docs/spec-reading.md, "Front doors");
 * - a token sent with a capability_id other than its own was a 400 with no
 *   receipt, where a session holding that token is denied
 *   unknown_capability with a receipt in-process. Now the kernel decides
 *   it through the sidecar too, the receipt naming the id sent.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "serve/serve.h"
#include "serve/serve_internal.h"

#define BEARER  "rev31-fronts-bearer-0123456789"
#define SUBJECT "3333333333333333333333333333333333333333333333333333333333333333"
#define SCOPE \
    "{\"grants\":[{\"server_id\":\"s\",\"tool_name\":\"read\",\"operations\":[\"invoke\"]}]}"

static chio_serve *srv;
static char sid[CHIO_SESSION_ID_LEN + 1]; /* an in-process session holding "inproc" */
static char *inproc_json;                 /* that token's JSON text */

/* A sidecar with the tool s:read, the token "minted" minted through its
 * route, and an in-process session on its kernel holding "inproc" (the
 * same scope, issued by the same kernel). */
static void fronts_setup(void)
{
    static const char *const tools[] = {"s:read"};
    chio_serve_config cfg;
    chio_keypair *kp = NULL;
    chio_capability *cap = NULL;
    chio_serve_request rq;
    chio_serve_reply rep;
    const char *tj;
    size_t tl;
    chio_error err;

    cr_assert_eq(chio_keypair_generate(&kp, NULL), 0);
    memset(&cfg, 0, sizeof(cfg));
    cfg.keypair = kp;
    cfg.nosync = 1;
    cfg.bearer_token = BEARER;
    cfg.quiet = 1;
    cfg.tools = tools;
    cfg.ntools = 1;
    chio_error_init(&err);
    cr_assert_eq(chio_serve_new(&cfg, &srv, &err), 0, "%s", err.message);
    memset(&rq, 0, sizeof(rq));
    memset(&rep, 0, sizeof(rep));
    rq.method = "POST";
    rq.path = "/v1/capabilities/mint";
    rq.authorization = "Bearer " BEARER;
    rq.body = "{\"subject\":\"" SUBJECT "\",\"scope\":" SCOPE ",\"id\":\"minted\"}";
    rq.body_len = strlen(rq.body);
    chio_serve_handle(srv, &rq, &rep);
    cr_assert_eq(rep.status, 200, "%.*s", (int)rep.body_len, rep.body);
    free(rep.body);
    cr_assert_eq(chio_kernel_issue_capability(srv->k, "inproc", SUBJECT, SCOPE, strlen(SCOPE), 0,
                                              3600, &cap, &err),
                 0, "%s", err.message);
    tj = chio_capability_json(cap, &tl);
    inproc_json = strndup(tj, tl);
    cr_assert_eq(chio_kernel_open_session(srv->k, SUBJECT, &tj, &tl, 1, sid, &err), 0, "%s",
                 err.message);
    chio_capability_free(cap);
}

static void fronts_teardown(void)
{
    free(inproc_json);
    chio_serve_free(srv);
}

TestSuite(rev31_fronts, .init = fronts_setup, .fini = fronts_teardown);

/* The 64 hex digits after "parameter_hash":" in @text into @hex (fails the
 * test without one). */
static void hash_of(const char *text, char hex[65])
{
    const char *p = strstr(text, "\"parameter_hash\":\"");

    cr_assert_not_null(p, "no parameter_hash in %.400s", text);
    memcpy(hex, p + 18, 64);
    hex[64] = '\0';
}

/* One decision: verdict and code names, the receipt's parameter_hash. */
typedef struct decision {
    char verdict[32], code[48], hash[65];
} decision;

/* @args (NULL: none) through chio_kernel_evaluate() on the sidecar's kernel. */
static void in_process(const char *args, decision *d)
{
    chio_call c;
    chio_response r;
    chio_error err;
    const char *rj;
    size_t rl;

    memset(&c, 0, sizeof(c));
    chio_response_init(&r);
    chio_error_init(&err);
    c.session_id = sid;
    c.capability_id = "inproc";
    c.server_id = "s";
    c.tool_name = "read";
    c.arguments_json = args;
    c.arguments_len = args != NULL ? strlen(args) : 0;
    cr_assert_eq(chio_kernel_evaluate(srv->k, &c, &r, &err), 0, "%s: %s", args, err.message);
    snprintf(d->verdict, sizeof(d->verdict), "%s", chio_verdict_name(r.verdict));
    snprintf(d->code, sizeof(d->code), "%s", chio_code_name(r.code));
    rj = chio_receipt_json(r.receipt, &rl);
    hash_of(rj, d->hash);
    chio_response_destroy(&r);
}

/* POST evaluate for the minted token with @member (",\"parameters\":..."
 * or ""); the status, and the decision when it is 200. */
static unsigned through_sidecar(const char *member, decision *d, char **text)
{
    chio_serve_request rq;
    chio_serve_reply rep;
    char *body;
    const char *v, *c;

    body = malloc(strlen(member) + 128);
    cr_assert_not_null(body);
    sprintf(body, "{\"capability_id\":\"minted\",\"tool_server\":\"s\",\"tool_name\":\"read\"%s}",
            member);
    memset(&rq, 0, sizeof(rq));
    memset(&rep, 0, sizeof(rep));
    rq.method = "POST";
    rq.path = "/v1/evaluate";
    rq.authorization = "Bearer " BEARER;
    rq.body = body;
    rq.body_len = strlen(body);
    chio_serve_handle(srv, &rq, &rep);
    free(body);
    *text = strndup(rep.body, rep.body_len);
    free(rep.body);
    if (rep.status != 200)
        return rep.status;
    v = strstr(*text, "{\"verdict\":\"");
    c = strstr(*text, ",\"code\":\"");
    cr_assert(v != NULL && c != NULL, "%s", *text);
    snprintf(d->verdict, sizeof(d->verdict), "%.*s", (int)strcspn(v + 12, "\""), v + 12);
    snprintf(d->code, sizeof(d->code), "%.*s", (int)strcspn(c + 9, "\""), c + 9);
    hash_of(*text, d->hash);
    return rep.status;
}

/* @args in-process and as "parameters" through the sidecar: one decision. */
static void same_decision(const char *args)
{
    decision a, b;
    char *member = malloc(strlen(args) + 16), *text = NULL;
    unsigned st;

    cr_assert_not_null(member);
    sprintf(member, ",\"parameters\":%s", args);
    in_process(args, &a);
    st = through_sidecar(member, &b, &text);
    cr_assert_eq(st, 200, "%.80s: the sidecar answered %u %s", args, st, text);
    cr_expect_str_eq(b.verdict, a.verdict, "%.80s", args);
    cr_expect_str_eq(b.code, a.code, "%.80s", args);
    cr_expect_str_eq(b.hash, a.hash, "%.80s: the receipts bind other parameters", args);
    free(member);
    free(text);
}

Test(rev31_fronts, parameters_that_are_not_an_object_are_decided_as_in_process)
{
    static const char *const values[] = {"[1]", "null", "5", "\"x\"", "[\"/etc/passwd\"]", "true"};
    decision d;
    char *text = NULL;
    size_t i;

    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++)
        same_decision(values[i]);
    /* ... and the receipt holds them as given. */
    cr_assert_eq(through_sidecar(",\"parameters\":[1]", &d, &text), 200, "%s", text);
    cr_assert_not_null(strstr(text, "\"parameters\":[1]"), "%s", text);
    free(text);
}

Test(rev31_fronts, number_and_string_forms_hash_as_in_process)
{
    static const char *const values[] = {
        "{\"a\":1e2}",
        "{\"a\":-0}",
        "{\"a\":-0.0}",
        "{\"a\":1.0}",
        "{\"a\":9007199254740993}",
        "{\"a\":18446744073709551615}",
        "{\"a\":18446744073709551616}",
        "{\"a\":-9223372036854775809}",
        "{\"a\":123456789012345678901234567890}",
        "{\"a\":1E+21,\"b\":5e-324,\"c\":1e-400}",
        "{\"\\u0061\":\"\\u2028\\/\\ud83d\\ude00\"}",
        "{\"a\":\"\xe2\x80\xa8\"}",
        "{}",
    };
    size_t i;

    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++)
        same_decision(values[i]);
}

Test(rev31_fronts, absent_parameters_are_the_empty_object_in_both)
{
    decision a, b;
    char *text = NULL;

    in_process(NULL, &a);
    cr_assert_eq(through_sidecar("", &b, &text), 200, "%s", text);
    cr_expect_str_eq(b.hash, a.hash);
    cr_expect_str_eq(b.verdict, "allow");
    free(text);
}

/* {"a":{"a":...1...}} @depth levels deep (malloc'd). */
static char *nested(int depth)
{
    char *p = malloc((size_t)depth * 6 + 2);
    size_t o = 0;
    int i;

    cr_assert_not_null(p);
    for (i = 0; i < depth; i++, o += 5)
        memcpy(p + o, "{\"a\":", 5);
    p[o++] = '1';
    for (i = 0; i < depth; i++)
        p[o++] = '}';
    p[o] = '\0';
    return p;
}

Test(rev31_fronts, deep_arguments_are_denied_with_a_receipt_up_to_the_bodys_depth)
{
    decision d;
    char *args, *member, *text = NULL;
    int depth;

    for (depth = 126; depth <= 127; depth++) {
        args = nested(depth);
        same_decision(args);
        free(args);
    }
    in_process(args = nested(128), &d);
    cr_assert_str_eq(d.code, "arguments_rejected");
    member = malloc(strlen(args) + 16);
    cr_assert_not_null(member);
    sprintf(member, ",\"parameters\":%s", args);
    cr_assert_eq(through_sidecar(member, &d, &text), 400, "%s", text);
    cr_assert_not_null(strstr(text, "\"invalid_json\""), "%s", text);
    free(text);
    free(member);
    free(args);
}

/* POST @body to evaluate with the extra header lines @capheader (NULL:
 * none); the status and the reply's body in *@text. */
static unsigned post_evaluate(const char *body, const char *capheader, char **text)
{
    chio_serve_request rq;
    chio_serve_reply rep;

    memset(&rq, 0, sizeof(rq));
    memset(&rep, 0, sizeof(rep));
    rq.method = "POST";
    rq.path = "/v1/evaluate";
    rq.authorization = "Bearer " BEARER;
    rq.capability_header = capheader;
    rq.body = body;
    rq.body_len = strlen(body);
    chio_serve_handle(srv, &rq, &rep);
    *text = strndup(rep.body, rep.body_len);
    free(rep.body);
    return rep.status;
}

/* @in as base64url without padding (malloc'd). */
static char *b64url(const char *in)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = strlen(in), i, o = 0;
    char *out = malloc(n * 4 / 3 + 4);

    cr_assert_not_null(out);
    for (i = 0; i + 2 < n; i += 3) {
        unsigned v =
            (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
        out[o++] = al[v >> 18 & 63];
        out[o++] = al[v >> 12 & 63];
        out[o++] = al[v >> 6 & 63];
        out[o++] = al[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned char)in[i] << 16;
        out[o++] = al[v >> 18 & 63];
        out[o++] = al[v >> 12 & 63];
    } else if (n - i == 2) {
        unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
        out[o++] = al[v >> 18 & 63];
        out[o++] = al[v >> 12 & 63];
        out[o++] = al[v >> 6 & 63];
    }
    out[o] = '\0';
    return out;
}

Test(rev31_fronts, a_capability_id_other_than_the_tokens_is_denied_with_a_receipt)
{
    decision a;
    chio_call c;
    chio_response r;
    chio_error err;
    char *body, *text = NULL, *hdr = b64url(inproc_json);
    const char *tail = ",\"capability_id\":\"other\",\"tool_server\":\"s\",\"tool_name\":\"read\"}";

    /* In-process: the session holds "inproc"; the call names "other". */
    memset(&c, 0, sizeof(c));
    chio_response_init(&r);
    chio_error_init(&err);
    c.session_id = sid;
    c.capability_id = "other";
    c.server_id = "s";
    c.tool_name = "read";
    cr_assert_eq(chio_kernel_evaluate(srv->k, &c, &r, &err), 0, "%s", err.message);
    snprintf(a.code, sizeof(a.code), "%s", chio_code_name(r.code));
    cr_assert_eq(r.verdict, CHIO_VERDICT_DENY);
    cr_assert_str_eq(a.code, "unknown_capability");
    chio_response_destroy(&r);

    /* The token inline, then in X-Chio-Capability: the same decision. */
    body = malloc(strlen(inproc_json) + strlen(tail) + 32);
    cr_assert_not_null(body);
    sprintf(body, "{\"capability\":%s%s", inproc_json, tail);
    cr_assert_eq(post_evaluate(body, NULL, &text), 200, "%s", text);
    cr_expect_not_null(strstr(text, "\"verdict\":\"deny\""), "%s", text);
    cr_expect_not_null(strstr(text, a.code), "want %s: %s", a.code, text);
    cr_expect_not_null(strstr(text, "\"capability_id\":\"other\""), "%s", text);
    free(text);
    cr_assert_eq(post_evaluate("{\"capability_id\":\"other\",\"tool_server\":\"s\",\"tool_name\":"
                               "\"read\"}",
                               hdr, &text),
                 200, "%s", text);
    cr_expect_not_null(strstr(text, "\"verdict\":\"deny\""), "%s", text);
    cr_expect_not_null(strstr(text, a.code), "want %s: %s", a.code, text);
    free(text);
    free(body);
    free(hdr);
}

/* A token for s:read under @scope: minted through the sidecar as @id, and
 * issued in-process as "@id-lib" in a session of its own (*@sid). */
static void both_tokens(const char *scope, const char *id, char sid_out[CHIO_SESSION_ID_LEN + 1])
{
    chio_capability *cap = NULL;
    chio_error err;
    char libid[64], *body = malloc(strlen(scope) + 256), *text = NULL;
    chio_serve_request rq;
    chio_serve_reply rep;
    const char *tj;
    size_t tl;

    cr_assert_not_null(body);
    sprintf(body, "{\"subject\":\"" SUBJECT "\",\"scope\":%s,\"id\":\"%s\"}", scope, id);
    memset(&rq, 0, sizeof(rq));
    memset(&rep, 0, sizeof(rep));
    rq.method = "POST";
    rq.path = "/v1/capabilities/mint";
    rq.authorization = "Bearer " BEARER;
    rq.body = body;
    rq.body_len = strlen(body);
    chio_serve_handle(srv, &rq, &rep);
    text = strndup(rep.body, rep.body_len);
    cr_assert_eq(rep.status, 200, "%s", text);
    free(rep.body);
    free(text);
    free(body);
    snprintf(libid, sizeof(libid), "%s-lib", id);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_issue_capability(srv->k, libid, SUBJECT, scope, strlen(scope), 0, 3600,
                                              &cap, &err),
                 0, "%s", err.message);
    tj = chio_capability_json(cap, &tl);
    cr_assert_eq(chio_kernel_open_session(srv->k, SUBJECT, &tj, &tl, 1, sid_out, &err), 0, "%s",
                 err.message);
    chio_capability_free(cap);
}

Test(rev31_fronts, parameters_that_are_not_an_object_meet_the_grants_constraints)
{
    static const char *const scopes[] = {
        "{\"grants\":[{\"server_id\":\"s\",\"tool_name\":\"read\",\"operations\":[\"invoke\"],"
        "\"constraints\":[{\"type\":\"max_length\",\"value\":4}]}]}",
        "{\"grants\":[{\"server_id\":\"s\",\"tool_name\":\"read\",\"operations\":[\"invoke\"],"
        "\"constraints\":[{\"type\":\"path_prefix\",\"value\":\"/workspace/\"}]}]}",
    };
    static const char *const args[] = {
        "\"xxxxxxxxxx\"", "[\"xxxxxxxxxx\"]", "\"/etc/passwd\"", "[\"/etc/passwd\"]", "null", "5"};
    char s2[CHIO_SESSION_ID_LEN + 1], id[16], libid[24], *body, *text = NULL;
    size_t k, i;

    for (k = 0; k < sizeof(scopes) / sizeof(scopes[0]); k++) {
        snprintf(id, sizeof(id), "con-%zu", k);
        snprintf(libid, sizeof(libid), "%s-lib", id);
        both_tokens(scopes[k], id, s2);
        for (i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
            chio_call c;
            chio_response r;
            chio_error err;

            memset(&c, 0, sizeof(c));
            chio_response_init(&r);
            chio_error_init(&err);
            c.session_id = s2;
            c.capability_id = libid;
            c.server_id = "s";
            c.tool_name = "read";
            c.arguments_json = args[i];
            c.arguments_len = strlen(args[i]);
            cr_assert_eq(chio_kernel_evaluate(srv->k, &c, &r, &err), 0, "%s", err.message);
            body = malloc(strlen(args[i]) + 128);
            cr_assert_not_null(body);
            sprintf(body,
                    "{\"capability_id\":\"%s\",\"tool_server\":\"s\",\"tool_name\":\"read\","
                    "\"parameters\":%s}",
                    id, args[i]);
            cr_assert_eq(post_evaluate(body, NULL, &text), 200, "%s", text);
            cr_expect_not_null(strstr(text, chio_code_name(r.code)), "%s %s: want %s: %s", id,
                               args[i], chio_code_name(r.code), text);
            /* Only a grant the value cannot break allows it. */
            cr_expect(r.verdict == CHIO_VERDICT_DENY ||
                          (k == 0 && (strcmp(args[i], "null") == 0 || strcmp(args[i], "5") == 0)),
                      "%s %s: %s", id, args[i], chio_code_name(r.code));
            free(text);
            free(body);
            chio_response_destroy(&r);
        }
    }
}
