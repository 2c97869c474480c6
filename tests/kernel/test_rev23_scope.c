/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev23_scope.c - review 23 of check 6 (regex_match) and
 * check 11 (stream limits): regressions for the holes found, through the
 * real pipeline. Each row is one constraint, one argument object and
 * whether chio's reading allows the call (else it must be denied with
 * constraint_violated and a receipt).
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

static int echo(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    return chio_output_set_json(out, args, len);
}

typedef struct row {
    const char *constraint; /* {"type":..,"value":..} */
    const char *args;
    int allow;
} row;

static void run_rows(const row *rows, size_t n)
{
    static const char *const tools[] = {"t"};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_kernel *k;
    chio_error err;
    size_t i;

    kt_config(&cfg, NULL);
    cfg.clock = clock_fn;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = echo;
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0);
    for (i = 0; i < n; i++) {
        char scope[1024], id[32], sid[CHIO_SESSION_ID_LEN + 1], *tok;
        const char *caps[1];
        chio_response r;
        chio_call c;

        snprintf(id, sizeof(id), "cap-rx-%zu", i);
        snprintf(scope, sizeof(scope),
                 "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
                 "\"operations\":[\"invoke\"],\"constraints\":[%s]}]}",
                 rows[i].constraint);
        tok = tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB, scope, NOW - 10, 100, NULL, 0);
        cr_assert_not_null(tok, "row %zu: token", i);
        caps[0] = tok;
        cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0,
                     "row %zu: %s", i, err.message);
        memset(&c, 0, sizeof(c));
        c.session_id = sid;
        c.capability_id = id;
        c.server_id = "srv";
        c.tool_name = "t";
        c.arguments_json = rows[i].args;
        c.arguments_len = strlen(rows[i].args);
        chio_error_init(&err);
        cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "row %zu: %s", i, err.message);
        if (rows[i].allow)
            cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "row %zu (%s on %s): denied: %s", i,
                         rows[i].constraint, rows[i].args, r.reason);
        else
            cr_expect(r.verdict == CHIO_VERDICT_DENY && r.code == CHIO_CODE_CONSTRAINT_VIOLATED,
                      "row %zu (%s on %s): verdict %d code %s", i, rows[i].constraint, rows[i].args,
                      r.verdict, chio_code_name(r.code));
        cr_expect_not_null(r.receipt);
        chio_response_destroy(&r);
        free(tok);
    }
    chio_kernel_free(k);
}

/* A token's pattern means what it means to chio (Rust `regex`): POSIX's
 * wider readings must not allow what chio denies. */
/* One regex_match row: pattern P (JSON string body) against {"q": A}. */
#define RX(P, A, allow)                                                              \
    {                                                                                \
        "{\"type\":\"regex_match\",\"value\":\"" P "\"}", "{\"q\":\"" A "\"}", allow \
    }

Test(rev23_scope, regex_match_reads_patterns_as_chio_does)
{
    static const row rows[] = {
        /* '.' does not match a newline in chio */
        RX("^safe.*$", "safe\\n/etc/passwd", 0),
        RX("^safe.*$", "safe-ok", 1),
        RX("^[^\\\\n]+$", "a\\nb", 0), /* the pattern's \n is a newline to chio */
        /* '.' and [^set] are one code point, not one byte */
        RX("^..$", "\\u00e9", 0),
        RX("^.$", "\\u00e9", 1),
        RX("^..$", "ab", 1),
        RX("^[^/]{2}$", "\\u00e9", 0),
        RX("^[^/]$", "\\u00e9", 1),
        RX("^[^/]+$", "a\\u00e9b", 1),
        RX("^[^/]+$", "a/b", 0),
        RX("^[^-a]+$", "b-c", 0),
        RX("^[^a-]+$", "bc\\u00e9", 1),
        RX("^[^]a]+$", "b]", 0),
        /* escapes POSIX reads as letters: refused, never "ddd" */
        RX("^\\\\d{3}$", "ddd", 0),
        RX("^[^\\\\d]+$", "123", 0), /* [^\d] is "not '\' or 'd'" to POSIX */
        RX("^\\\\W+$", "\\u00e9", 0),
        /* backreferences (unbounded matching work; chio refuses them) */
        RX("^(a)\\\\1$", "aa", 0),
        /* lazy quantifiers: the same matches, never "(a+)?" */
        RX("^a+?$", "", 0),
        RX("^a+?$", "aa", 1),
        RX("^x{2}?$", "", 0),
        RX("^(?:ab)+$", "abab", 1),
        /* a non-ASCII literal is one unit under a quantifier */
        RX("^\\u00e9+$", "\\u00e9\\u00e9", 1),
        /* what both read alike still works */
        RX("^[a-z]+\\\\.txt$", "abc.txt", 1),
        RX("^[a-z]+\\\\.txt$", "abcxtxt", 0),
        RX("^\\\\w+$", "abc_1", 1),
        RX("^a\\\\/b$", "a/b", 1),
        RX("^[[:alpha:]]+$", "ab1", 0),
        RX("^SELECT ", "SELECT 1", 1),
        /* set syntax, flags and open repeats chio reads otherwise: refused */
        RX("^[a-z&&[^x]]$", "a", 0),
        RX("(?i)abc", "ABC", 0),
        RX("a{,3}", "a", 0),
        RX("^*a", "a", 0),
        RX("a)", "a)", 0), /* an unmatched ')' is an error to chio */
        /* the automaton's size is bounded: seconds and gigabytes before */
        RX("^((a{1,250}){1,250}){1,250}$", "aaa", 0),
        RX("^(a{1,90}){1,90}$", "aaa", 1),
        RX("^.{1,1000}$", "aaa", 1),
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* domain_glob is chio's glob: only '*' is special. */
#define DG(G, U, allow)                                                                \
    {                                                                                  \
        "{\"type\":\"domain_glob\",\"value\":\"" G "\"}", "{\"url\":\"" U "\"}", allow \
    }

Test(rev23_scope, domain_glob_has_only_the_star_wildcard)
{
    static const row rows[] = {
        DG("api?.example.com", "https://apix.example.com/", 0),
        DG("api[xy].example.com", "https://apix.example.com/", 0),
        DG("api\\\\x.example.com", "https://apix.example.com/", 0),
        DG("*.example.com", "https://a.b.example.com/", 1),
        DG("*.example.com", "https://example.com/", 0),
        DG("a*b*c.com", "https://axxbyyc.com/", 1),
        DG("a*b*c.com", "https://axxbyyd.com/", 0),
        DG("*", "https://anything.example.org/", 1),
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* A value a secret_leak guard flags is redacted from the receipt's
 * parameters; no deny reason or guard evidence may quote it instead. */
#define SECRET "AKIAABCDEFGHIJKLMNOP"

Test(rev23_scope, deny_reasons_never_quote_a_flagged_secret)
{
    static const char *const tools[] = {"t"};
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
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_kernel *k;
    chio_error err;
    size_t i;

    kt_config(&cfg, NULL);
    cfg.clock = clock_fn;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = echo;
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0);
    cr_assert_eq(chio_kernel_add_forbidden_path_guard(k, "no-etc", prefixes, 1, &err), 0);
    cr_assert_eq(chio_kernel_add_secret_leak_guard(k, "no-keys", patterns, 1, &err), 0);
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char scope[1024], id[32], sid[CHIO_SESSION_ID_LEN + 1], *tok, *copy;
        const char *caps[1], *json;
        chio_response r;
        chio_call c;
        size_t len;

        snprintf(id, sizeof(id), "cap-secret-%zu", i);
        snprintf(scope, sizeof(scope),
                 "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
                 "\"operations\":[\"invoke\"]%s%s%s}]}",
                 rows[i].constraint ? ",\"constraints\":[" : "",
                 rows[i].constraint ? rows[i].constraint : "", rows[i].constraint ? "]" : "");
        tok = tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB, scope, NOW - 10, 100, NULL, 0);
        cr_assert_not_null(tok, "row %zu: token", i);
        caps[0] = tok;
        cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0,
                     "row %zu: %s", i, err.message);
        memset(&c, 0, sizeof(c));
        c.session_id = sid;
        c.capability_id = id;
        c.server_id = "srv";
        c.tool_name = "t";
        c.arguments_json = rows[i].args;
        c.arguments_len = strlen(rows[i].args);
        chio_error_init(&err);
        cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "row %zu: %s", i, err.message);
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
        free(tok);
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
    static const char *const tools[] = {"t"};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_kernel *k;
    chio_error err;
    char sid[CHIO_SESSION_ID_LEN + 1], *tok;
    const char *caps[1], *json, *d;
    chio_receipt_report rep;
    chio_json_doc *doc = NULL;
    const chio_json *ev;
    chio_response r;
    chio_call c;
    size_t len;
    int passed;

    kt_config(&cfg, NULL);
    cfg.clock = clock_fn;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = echo;
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0);
    cr_assert_eq(chio_kernel_add_guard(k, "hostile", hostile_guard, NULL, &err), 0);
    tok = tk_token(TK_KERNEL_SEED, "cap-hostile", TK_AGENT_PUB,
                   "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
                   "\"operations\":[\"invoke\"]}]}",
                   NOW - 10, 100, NULL, 0);
    cr_assert_not_null(tok);
    caps[0] = tok;
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0);
    memset(&c, 0, sizeof(c));
    c.session_id = sid;
    c.capability_id = "cap-hostile";
    c.server_id = "srv";
    c.tool_name = "t";
    c.arguments_json = "{}";
    c.arguments_len = 2;
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
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
    free(tok);
    chio_kernel_free(k);
}
