/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev58_providers.c - chio_call_options.provider
 * (review 17 of the services, F1): a read or get for one provider. The
 * MCP gateway's denied reads and gets were filed under tool_server "*"
 * (no provider had answered), so `chio receipt list --tool-server` found
 * its allowed reads and none of its refusals. With the option, only the
 * named provider is asked and every receipt of the request names it,
 * allowed, denied before any provider ran, cancelled or not found; an id
 * that is no provider id is refused with nothing signed.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "chio/chio.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

/* Calls each provider had. */
static int calls_a, calls_b, calls_p;

/* "a": only URIs under file:///pub/a/. */
static int read_a(void *user, const char *uri, chio_output *out)
{
    (void)user;
    calls_a++;
    if (strncmp(uri, "file:///pub/a/", 14) != 0)
        return CHIO_ENOTMINE;
    return chio_output_set_json(out, "\"from a\"", 8);
}

/* "b": any URI. */
static int read_b(void *user, const char *uri, chio_output *out)
{
    (void)user;
    (void)uri;
    calls_b++;
    return chio_output_set_json(out, "\"from b\"", 8);
}

static int get_p(void *user, const char *name, const char *args, size_t len, chio_output *out)
{
    (void)user;
    (void)name;
    (void)args;
    (void)len;
    calls_p++;
    return chio_output_set_json(out, "\"hello\"", 7);
}

static const char scope[] =
    "{\"resource_grants\":[{\"uri_pattern\":\"file:///pub/*\",\"operations\":[\"read\"]}],"
    "\"prompt_grants\":[{\"prompt_name\":\"greet\",\"operations\":[\"get\"]}]}";

static chio_kernel *two_providers(char sid[CHIO_SESSION_ID_LEN + 1])
{
    static const char *const tools[] = {"t"};
    chio_kernel *k = kt_echo_kernel(NULL, NULL, "srv", tools, 1);
    chio_resource_provider ra = {.provider_id = "a", .read = read_a};
    chio_resource_provider rb = {.provider_id = "b", .read = read_b};
    chio_prompt_provider pp = {.provider_id = "p", .get = get_p};
    chio_capability *cap = NULL;
    const char *tok;
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_register_resource_provider(k, &ra, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_register_resource_provider(k, &rb, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_register_prompt_provider(k, &pp, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_issue_capability(k, "cap-p", TK_AGENT_PUB, scope, strlen(scope), 0,
                                              3600, &cap, &err),
                 0, "%s", err.message);
    tok = chio_capability_json(cap, NULL);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, &tok, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    chio_capability_free(cap);
    calls_a = calls_b = calls_p = 0;
    return k;
}

/* A read of @uri (a get of @prompt when not NULL) for @provider: the
 * verdict and code @v / @code, a verified receipt whose tool_server is
 * @server. */
static void expect_named(chio_kernel *k, const char *sid, const char *uri, const char *prompt,
                         const char *provider, const int *cancel, chio_verdict v, chio_code code,
                         const char *server)
{
    chio_call_options o;
    chio_response r;
    chio_error err;
    chio_receipt_report rep;
    const chio_json *root;
    int rc;

    memset(&o, 0, sizeof(o));
    o.provider = provider;
    o.cancel = cancel;
    chio_error_init(&err);
    rc = prompt != NULL
             ? chio_kernel_get_prompt_ex(k, sid, NULL, "cap-p", prompt, "{}", 2, &o, &r, &err)
             : chio_kernel_read_resource_ex(k, sid, NULL, "cap-p", uri, &o, &r, &err);
    cr_assert_eq(rc, 0, "%s: %s", prompt ? prompt : uri, err.message);
    cr_expect_eq(r.verdict, v, "%s: %s (%s)", prompt ? prompt : uri, chio_verdict_name(r.verdict),
                 r.reason);
    cr_expect_eq(r.code, code, "%s: %s (%s)", prompt ? prompt : uri, chio_code_name(r.code),
                 r.reason);
    cr_assert_not_null(r.receipt);
    cr_assert_eq(chio_receipt_verify(r.receipt, NULL, 0, &rep), 0);
    cr_expect(rep.signature_valid && rep.receipt_id_valid);
    root = chio_receipt_root(r.receipt);
    cr_expect_str_eq(chio_json_string(chio_json_get(root, "tool_server"), NULL), server,
                     "%s: the receipt's tool_server", prompt ? prompt : uri);
    chio_response_destroy(&r);
}

Test(rev58_providers, a_read_for_one_provider_names_it_in_every_receipt)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = two_providers(sid);
    int cancel = 1;

    /* denied before any provider ran: named all the same (it was "*") */
    expect_named(k, sid, "file:///priv/x", NULL, "b", NULL, CHIO_VERDICT_DENY,
                 CHIO_CODE_OUT_OF_SCOPE, "b");
    expect_named(k, sid, NULL, "other", "p", NULL, CHIO_VERDICT_DENY, CHIO_CODE_OUT_OF_SCOPE, "p");
    expect_named(k, sid, "file:///pub/x", NULL, "b", &cancel, CHIO_VERDICT_CANCELLED,
                 CHIO_CODE_CANCELLED, "b");
    cr_expect_eq(calls_a + calls_b + calls_p, 0, "no provider is asked before an allow");
    /* without the option, as before: "*" when none answered */
    expect_named(k, sid, "file:///priv/x", NULL, NULL, NULL, CHIO_VERDICT_DENY,
                 CHIO_CODE_OUT_OF_SCOPE, "*");
    /* allowed: only the named provider is asked ("a" comes first and
     * would have answered file:///pub/a/x) */
    expect_named(k, sid, "file:///pub/a/x", NULL, "b", NULL, CHIO_VERDICT_ALLOW, CHIO_CODE_NONE,
                 "b");
    cr_expect_eq(calls_a, 0, "provider a was asked");
    cr_expect_eq(calls_b, 1);
    /* the named provider does not have it: not_found, named, "b" not asked */
    expect_named(k, sid, "file:///pub/x", NULL, "a", NULL, CHIO_VERDICT_DENY, CHIO_CODE_NOT_FOUND,
                 "a");
    cr_expect_eq(calls_a, 1);
    cr_expect_eq(calls_b, 1, "provider b was asked after the named one declined");
    /* no provider of that id: not_found with its receipt */
    expect_named(k, sid, "file:///pub/x", NULL, "nope", NULL, CHIO_VERDICT_DENY,
                 CHIO_CODE_NOT_FOUND, "nope");
    cr_expect_eq(calls_a + calls_b, 2);
    expect_named(k, sid, NULL, "greet", "p", NULL, CHIO_VERDICT_ALLOW, CHIO_CODE_NONE, "p");
    cr_expect_eq(calls_p, 1);
    chio_kernel_free(k);
}

Test(rev58_providers, a_provider_option_that_is_no_provider_id_is_refused_and_signs_nothing)
{
    static char big[65538];
    const char *const bad[] = {"", "*", "b\xff", big};
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = two_providers(sid);
    chio_kernel_metrics m0, m1;
    chio_call_options o;
    chio_response r;
    chio_error err;
    chio_call c;
    const char *bad_name;
    size_t i;

    memset(big, 'b', sizeof(big) - 1);
    cr_assert_eq(chio_kernel_metrics_get(k, &m0), 0);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&o, 0, sizeof(o));
        o.provider = bad[i];
        chio_error_init(&err);
        if (bad[i] == big)
            bad_name = "(65537 bytes)";
        else
            bad_name = bad[i];
        cr_expect_eq(
            chio_kernel_read_resource_ex(k, sid, NULL, "cap-p", "file:///pub/x", &o, &r, &err),
            CHIO_EINVAL, "provider '%s'", bad_name);
        cr_expect_null(r.receipt);
        cr_expect_eq(
            chio_kernel_get_prompt_ex(k, sid, NULL, "cap-p", "greet", "{}", 2, &o, &r, &err),
            CHIO_EINVAL, "provider '%s'", bad_name);
    }
    /* a tool call names its server in chio_call */
    memset(&o, 0, sizeof(o));
    o.provider = "b";
    memset(&c, 0, sizeof(c));
    c.session_id = sid;
    c.capability_id = "cap-p";
    c.server_id = "srv";
    c.tool_name = "t";
    chio_error_init(&err);
    cr_expect_eq(chio_kernel_evaluate_ex(k, &c, &o, &r, &err), CHIO_EINVAL);
    cr_expect(strstr(err.message, "provider") != NULL, "%s", err.message);
    cr_assert_eq(chio_kernel_metrics_get(k, &m1), 0);
    cr_expect_eq(m1.receipts_signed, m0.receipts_signed, "a refused option signed a receipt");
    cr_expect_eq(calls_a + calls_b + calls_p, 0);
    chio_kernel_free(k);
}
