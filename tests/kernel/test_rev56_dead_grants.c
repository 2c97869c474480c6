/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev56_dead_grants.c - chio_capability_never_allows():
 * a grant whose constraint value alone makes check 6 deny every call
 * (review 6 CLI F2, second half). Before, nothing told an issuer that a
 * grant with regex_match "(" or path_prefix "C:/w" allowed nothing:
 * `capability verify` said ok with no "unusable" member.
 *
 * Every value the function calls dead is checked against the kernel: a
 * call under it with arguments built to satisfy it (a path under it, a
 * URL of the host, a string the pattern was meant for) is denied
 * constraint_violated, with the reason the function quotes. Every value it
 * calls live has a call the kernel allows.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/chio.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NOW 1710000300u

static uint64_t at_now(void *ctx)
{
    (void)ctx;
    return NOW;
}

/* The token kt_grant_session() issues for @constraints, parsed. */
static chio_capability *grant_token(const char *id, const char *constraints)
{
    char scope[1024], *tok;
    chio_capability *cap = NULL;

    snprintf(scope, sizeof(scope),
             "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\",\"operations\":"
             "[\"invoke\"],\"constraints\":[%s]}]}",
             constraints);
    tok = tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB, scope, NOW - 10, 100, NULL, 0);
    cr_assert_not_null(tok);
    cr_assert_eq(chio_capability_parse(tok, strlen(tok), &cap, NULL), 0);
    free(tok);
    return cap;
}

typedef struct dead_row {
    const char *constraint;
    const char *args[4]; /* calls built to satisfy it; NULL-terminated */
} dead_row;

static const dead_row dead[] = {
    {"{\"type\":\"regex_match\",\"value\":\"(\"}", {"{\"a\":\"(\"}", "{\"a\":\"x\"}", NULL}},
    {"{\"type\":\"regex_match\",\"value\":\"\\\\d+\"}", {"{\"a\":\"123\"}", NULL}},
    {"{\"type\":\"regex_match\",\"value\":\"a{2000}{2000}\"}", {"{\"a\":\"a\"}", NULL}},
    {KT_PP("C:/w"), {"{\"path\":\"C:/w/a\"}", "{\"path\":\"C:/w\"}", "{\"path\":\"/w/a\"}", NULL}},
    {KT_PP("/work space"), {"{\"path\":\"/work space/a\"}", "{\"path\":\"/work\"}", NULL}},
    {KT_PP("/a/../.."), {"{\"path\":\"/a\"}", "{\"path\":\"/\"}", "{\"path\":\"a\"}", NULL}},
    {KT_DX(""), {"{\"url\":\"https://example.com/\"}", NULL}},
    {KT_DG(""), {"{\"url\":\"https://example.com/\"}", NULL}},
    {KT_DG("*.example.com."),
     {"{\"url\":\"https://a.example.com/\"}", "{\"url\":\"https://a.example.com./\"}",
      "{\"host\":\"a.example.com.\"}", NULL}},
    {KT_DG("*."), {"{\"url\":\"https://a.example.com./\"}", NULL}},
    /* review 10 L1: exact values that are no host name */
    {KT_DX("https://example.com"),
     {"{\"url\":\"https://example.com/\"}", "{\"url\":\"https://example.com\"}", NULL}},
    {KT_DX("example.com:443"),
     {"{\"url\":\"https://example.com:443/\"}", "{\"host\":\"example.com:443\"}", NULL}},
    {KT_DX("*.example.com"),
     {"{\"url\":\"https://a.example.com/\"}", "{\"url\":\"https://*.example.com/\"}", NULL}},
    {KT_DX("a..b"), {"{\"url\":\"http://a..b/\"}", "{\"host\":\"a..b\"}", NULL}},
    {KT_DX("exa mple.com"), {"{\"url\":\"https://exa mple.com/\"}", NULL}},
    /* a host is read as ASCII (punycode); the value is compared as written */
    {KT_DX("b\u00fccher.example"),
     {"{\"url\":\"https://b\u00fccher.example/\"}", "{\"host\":\"b\u00fccher.example\"}",
      "{\"url\":\"https://xn--bcher-kva.example/\"}", NULL}},
};

/* The grant's own reason (after "constraint_violated): ") is the reason
 * check 6 gives each call under it. */
Test(rev56_dead_grants, every_value_called_dead_is_one_the_kernel_denies_every_call_under)
{
    static const char *const tools[] = {"t"};
    chio_kernel *k = kt_echo_kernel(NULL, at_now, "srv", tools, 1);

    for (size_t i = 0; i < sizeof(dead) / sizeof(dead[0]); i++) {
        char id[32], why[512], sid[CHIO_SESSION_ID_LEN + 1];
        const char *reason;
        chio_capability *cap;
        int found = -1;

        snprintf(id, sizeof(id), "cap-dead-%zu", i);
        cap = grant_token(id, dead[i].constraint);
        cr_assert_eq(chio_capability_never_allows(cap, &found, why, sizeof(why)), 0);
        cr_assert_eq(found, 1, "%s: not called dead", dead[i].constraint);
        cr_expect_not_null(strstr(why, "grant 0 (server 'srv', tool 't') allows no call"), "%s",
                           why);
        reason = strstr(why, "constraint_violated): ");
        cr_assert_not_null(reason, "%s", why);
        reason += strlen("constraint_violated): ");
        chio_capability_free(cap);
        kt_grant_session(k, NOW, id, dead[i].constraint, sid);
        for (size_t j = 0; dead[i].args[j] != NULL; j++) {
            chio_response r;
            chio_error err;
            chio_call c;

            kt_grant_call(&c, sid, id, dead[i].args[j], strlen(dead[i].args[j]));
            chio_response_init(&r);
            chio_error_init(&err);
            cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
            cr_assert_not_null(r.receipt);
            cr_expect_eq(r.code, CHIO_CODE_CONSTRAINT_VIOLATED, "%s with %s: %s",
                         dead[i].constraint, dead[i].args[j], chio_code_name(r.code));
            cr_expect_not_null(strstr(r.reason, reason), "%s with %s: the kernel says '%s'",
                               dead[i].constraint, dead[i].args[j], r.reason);
            chio_response_destroy(&r);
        }
    }
    chio_kernel_free(k);
}

/* Values the arguments decide: not dead, and a call the kernel allows.
 * The empty prefix covers relative paths; a glob without the final dot
 * matches; an enforced pattern matches. */
Test(rev56_dead_grants, values_the_arguments_decide_are_not_called_dead)
{
    static const kt_row live[] = {
        {KT_PP(""), "{\"path\":\"notes/a.txt\"}", 1},
        {KT_PP("/"), "{\"path\":\"/etc/hosts\"}", 1},
        {KT_PP("/work"), "{\"path\":\"/work/a\"}", 1},
        {KT_DX("example.com."), "{\"url\":\"https://example.com/\"}", 1},
        {KT_DX("[::1]"), "{\"url\":\"http://[::1]:8080/x\"}", 1},
        {KT_DX("192.168.0.1"), "{\"url\":\"http://192.168.0.1/\"}", 1},
        {KT_DX("EXAMPLE.com"), "{\"url\":\"https://example.com/\"}", 1},
        {KT_DG("*.example.com"), "{\"url\":\"https://a.example.com./\"}", 1},
        {"{\"type\":\"regex_match\",\"value\":\"^a+$\"}", "{\"a\":\"aaa\"}", 1},
        {"{\"type\":\"max_length\",\"value\":0}", "{}", 1},
    };

    for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
        char why[64] = "x";
        chio_capability *cap = grant_token("cap-live", live[i].constraint);
        int found = -1;

        cr_assert_eq(chio_capability_never_allows(cap, &found, why, sizeof(why)), 0);
        cr_expect_eq(found, 0, "%s called dead: %s", live[i].constraint, why);
        cr_expect_str_empty(why);
        chio_capability_free(cap);
    }
    kt_run_rows_at(NOW, live, sizeof(live) / sizeof(live[0]));
}

/* One dead grant leaves the token's other grants usable, and is named by
 * its index; a grant the kernel does not enforce is chio_capability_
 * unenforced()'s to name, not this function's. */
Test(rev56_dead_grants, the_dead_grant_is_named_and_the_others_stay_usable)
{
    static const char *const tools[] = {"t", "u"};
    const char *scope =
        "{\"grants\":["
        "{\"server_id\":\"srv\",\"tool_name\":\"t\",\"operations\":[\"invoke\"],\"constraints\":"
        "[{\"type\":\"regex_match\",\"value\":\"(\"}],\"dpop_required\":true},"
        "{\"server_id\":\"srv\",\"tool_name\":\"u\",\"operations\":[\"invoke\"]},"
        "{\"server_id\":\"srv\",\"tool_name\":\"t\",\"operations\":[\"invoke\"],\"constraints\":"
        "[{\"type\":\"max_length\",\"value\":9},{\"type\":\"path_prefix\",\"value\":\"a b\"}]}]}";
    char *tok = tk_token(TK_KERNEL_SEED, "cap-two", TK_AGENT_PUB, scope, NOW - 10, 100, NULL, 0);
    char why[512], sid[CHIO_SESSION_ID_LEN + 1];
    chio_capability *cap = NULL;
    chio_kernel *k = kt_echo_kernel(NULL, at_now, "srv", tools, 2);
    chio_response r;
    chio_error err;
    chio_call c;
    int found = 0;

    cr_assert_not_null(tok);
    cr_assert_eq(chio_capability_parse(tok, strlen(tok), &cap, NULL), 0);
    cr_assert_eq(chio_capability_never_allows(cap, &found, why, sizeof(why)), 0);
    cr_assert_eq(found, 1);
    cr_expect_not_null(strstr(why, "grant 2 (server 'srv', tool 't')"), "%s", why);
    cr_expect_not_null(strstr(why, "(constraint 1, constraint_violated)"), "%s", why);
    chio_capability_free(cap);
    kt_open1(k, tok, sid);
    kt_call_init(&c, sid, "cap-two", "u", "{\"a\":\"b\"}");
    chio_response_init(&r);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", r.reason);
    chio_response_destroy(&r);
    free(tok);
    chio_kernel_free(k);
}

Test(rev56_dead_grants, argument_errors)
{
    chio_capability *cap = grant_token("cap-args", KT_PP("C:/w"));
    char why[8] = "zzzzzzz";
    int found = 7;

    cr_expect_eq(chio_capability_never_allows(NULL, &found, why, sizeof(why)), CHIO_EINVAL);
    cr_expect_eq(found, 0);
    cr_expect_eq(chio_capability_never_allows(cap, NULL, why, sizeof(why)), CHIO_EINVAL);
    cr_expect_eq(chio_capability_never_allows(cap, &found, NULL, 4), CHIO_EINVAL);
    /* no room for the reason: still found */
    cr_expect_eq(chio_capability_never_allows(cap, &found, NULL, 0), 0);
    cr_expect_eq(found, 1);
    /* cut to fit, NUL-terminated */
    cr_expect_eq(chio_capability_never_allows(cap, &found, why, sizeof(why)), 0);
    cr_expect_eq(found, 1);
    cr_expect_str_eq(why, "grant 0");
    chio_capability_free(cap);
}
