/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev23_scope.c - review 23 of checks 6 and 9: what deny
 * reasons and guard evidence may carry (no flagged secret, hostile guard
 * details kept inside their string), through the real pipeline. The
 * review's regex_match and domain_glob rows live in test_constraints.c.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NOW 1710000300u

static uint64_t clock_fn(void *ctx)
{
    (void)ctx;
    return NOW;
}

/* A kernel with the echo tool "t" on server "srv", at NOW. */
static chio_kernel *echo_kernel(void)
{
    static const char *const tools[] = {"t"};

    return kt_echo_kernel(NULL, clock_fn, "srv", tools, 1);
}

/* Call "t" with @args under a token @id of @scope in a new session; the
 * response in @r (the caller destroys it). */
static void call_t(chio_kernel *k, const char *id, const char *scope, const char *args,
                   chio_response *r)
{
    char sid[CHIO_SESSION_ID_LEN + 1], *tok;
    const char *caps[1];
    chio_error err;
    chio_call c;

    tok = tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB, scope, NOW - 10, 100, NULL, 0);
    cr_assert_not_null(tok, "%s: token", id);
    caps[0] = tok;
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0, "%s: %s",
                 id, err.message);
    memset(&c, 0, sizeof(c));
    c.session_id = sid;
    c.capability_id = id;
    c.server_id = "srv";
    c.tool_name = "t";
    c.arguments_json = args;
    c.arguments_len = strlen(args);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_evaluate(k, &c, r, &err), 0, "%s: %s", id, err.message);
    free(tok);
}

/* A value a secret_leak guard flags is redacted from the receipt's
 * parameters; no deny reason or guard evidence may quote it instead. */
#define SECRET "AKIAABCDEFGHIJKLMNOP"

Test(rev23_scope, deny_reasons_never_quote_a_flagged_secret)
{
    static const char *const prefixes[] = {"/etc/"};
    static const char *const patterns[] = {"AKIA[0-9A-Z]{16}"};
    static const struct {
        const char *constraint; /* NULL: none, the guard denies */
        const char *args;
        chio_code code;
    } rows[] = {
        {NULL, "{\"p\":\"/etc/" SECRET "\"}", CHIO_CODE_GUARD_DENIED},
        {NULL, "{\"/etc/" SECRET "\":1}", CHIO_CODE_GUARD_DENIED},
        {"{\"type\":\"path_prefix\",\"value\":\"/ws\"}", "{\"p\":\"/tmp/" SECRET "\"}",
         CHIO_CODE_CONSTRAINT_VIOLATED},
        {"{\"type\":\"domain_exact\",\"value\":\"a.example.com\"}",
         "{\"url\":\"https://" SECRET ".evil.com/\"}", CHIO_CODE_CONSTRAINT_VIOLATED},
        {"{\"type\":\"domain_glob\",\"value\":\"*.example.com\"}",
         "{\"q\":\"see https://" SECRET ".evil.com/ now\"}", CHIO_CODE_CONSTRAINT_VIOLATED},
        {"{\"type\":\"custom\",\"value\":[\"key\",\"" SECRET "\"]}", "{\"key\":\"other\"}",
         CHIO_CODE_CONSTRAINT_VIOLATED},
    };
    chio_kernel *k = echo_kernel();
    chio_error err;
    size_t i;

    cr_assert_eq(chio_kernel_add_forbidden_path_guard(k, "no-etc", prefixes, 1, &err), 0);
    cr_assert_eq(chio_kernel_add_secret_leak_guard(k, "no-keys", patterns, 1, &err), 0);
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char scope[1024], id[32], *copy;
        const char *json;
        chio_response r;
        size_t len;

        snprintf(id, sizeof(id), "cap-secret-%zu", i);
        snprintf(scope, sizeof(scope),
                 "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
                 "\"operations\":[\"invoke\"]%s%s%s}]}",
                 rows[i].constraint ? ",\"constraints\":[" : "",
                 rows[i].constraint ? rows[i].constraint : "", rows[i].constraint ? "]" : "");
        call_t(k, id, scope, rows[i].args, &r);
        cr_expect(r.verdict == CHIO_VERDICT_DENY && r.code == rows[i].code,
                  "row %zu: verdict %d code %s", i, r.verdict, chio_code_name(r.code));
        cr_expect_null(strstr(r.reason, SECRET), "row %zu: the reason quotes the secret: %s", i,
                       r.reason);
        cr_assert_not_null(r.receipt, "row %zu: no receipt", i);
        json = chio_receipt_json(r.receipt, &len);
        cr_assert_not_null(json);
        copy = strndup(json, len);
        cr_assert_not_null(copy);
        cr_expect_null(strstr(copy, SECRET), "row %zu: the receipt holds the secret: %s", i, copy);
        free(copy);
        chio_response_destroy(&r);
    }
    chio_kernel_free(k);
}

/* A host guard's details are untrusted text: quotes, backslashes, control
 * bytes, invalid UTF-8 and a buffer filled to the end without a NUL must
 * stay one JSON string in a receipt that verifies and still says deny. */
static int hostile_guard(void *user, const chio_guard_input *in, chio_guard_verdict *verdict,
                         char *details, size_t cap)
{
    static const char evil[] = "\"},\"verdict\":\"allow\",\"x\":{\"\\\x01\x1f\xff\xc3(\xed\xa0\x80";
    size_t i;

    (void)user;
    (void)in;
    for (i = 0; i < cap; i++)
        details[i] = evil[i % (sizeof(evil) - 1)];
    *verdict = CHIO_GUARD_DENY;
    return 0;
}

Test(rev23_scope, hostile_guard_details_stay_inside_their_string)
{
    chio_kernel *k = echo_kernel();
    chio_error err;
    const char *json, *d;
    chio_receipt_report rep;
    chio_json_doc *doc = NULL;
    const chio_json *ev;
    chio_response r;
    size_t len;
    int passed;

    cr_assert_eq(chio_kernel_add_guard(k, "hostile", hostile_guard, NULL, &err), 0);
    call_t(k, "cap-hostile",
           "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
           "\"operations\":[\"invoke\"]}]}",
           "{}", &r);
    cr_expect(r.verdict == CHIO_VERDICT_DENY && r.code == CHIO_CODE_GUARD_DENIED);
    cr_assert_not_null(r.receipt);
    memset(&rep, 0, sizeof(rep));
    cr_assert_eq(chio_receipt_verify(r.receipt, NULL, 0, &rep), 0);
    cr_expect(rep.signature_valid && rep.receipt_id_valid && rep.parameter_hash_valid);
    cr_expect_eq(rep.decision, CHIO_VERDICT_DENY);
    json = chio_receipt_json(r.receipt, &len);
    cr_assert_eq(chio_json_parse(json, len, &doc, &err), 0, "%s", err.message);
    ev = chio_json_get(chio_json_root(doc), "evidence");
    cr_assert_eq(chio_json_size(ev), 1);
    d = chio_json_string(chio_json_get(chio_json_at(ev, 0), "details"), NULL);
    cr_expect_not_null(d);
    passed = 1;
    cr_expect_eq(chio_json_get_bool(chio_json_get(chio_json_at(ev, 0), "verdict"), &passed), 0);
    cr_expect_eq(passed, 0, "the evidence says the guard passed");
    chio_json_doc_free(doc);
    chio_response_destroy(&r);
    chio_kernel_free(k);
}
