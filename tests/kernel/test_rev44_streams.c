/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev44_streams.c - review 44 of resource reads and
 * prompt gets through the public API: prompt arguments that are not a
 * JSON object are denied invalid_request with a receipt and never reach
 * the provider (evaluate.h promises it an object). Helpers: provider A
 * sets an answer and an error and says CHIO_ENOTMINE, B serves, P echoes
 * its arguments.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/chio.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

static const char *const tools[] = {"t"};
static const char pscope[] =
    "{\"resource_grants\":[{\"uri_pattern\":\"file:///pub/*\",\"operations\":[\"read\"]}],"
    "\"prompt_grants\":[{\"prompt_name\":\"p*\",\"operations\":[\"get\"]}]}";

static char g_seen[256];
static int a_read(void *user, const char *uri, chio_output *out)
{
    (void)user;
    snprintf(g_seen, sizeof g_seen, "%s", uri);
    chio_output_set_json(out, "\"A-secret\"", 10);
    chio_output_set_error(out, "A error");
    return CHIO_ENOTMINE;
}
static int b_read(void *user, const char *uri, chio_output *out)
{
    (void)user;
    (void)uri;
    if (strstr(uri, "bad"))
        return chio_output_set_json(out, "{nope", 5), 0;
    return chio_output_set_json(out, "{ \"b\" : 1 }", 11);
}
static int p_get(void *user, const char *name, const char *args, size_t len, chio_output *out)
{
    (void)user;
    snprintf(g_seen, sizeof g_seen, "%s|%.*s", name, (int)len, args);
    return chio_output_set_json(out, args, len);
}

static chio_kernel *mk(char sid[CHIO_SESSION_ID_LEN + 1])
{
    chio_kernel *k = kt_echo_kernel(NULL, NULL, "srv", tools, 1);
    chio_resource_provider rp;
    chio_prompt_provider pp;
    chio_capability *cap = NULL;
    const char *tok;
    chio_error err;

    chio_error_init(&err);
    memset(&rp, 0, sizeof rp);
    rp.provider_id = "A";
    rp.read = a_read;
    cr_assert_eq(chio_kernel_register_resource_provider(k, &rp, &err), 0);
    rp.provider_id = "B";
    rp.read = b_read;
    cr_assert_eq(chio_kernel_register_resource_provider(k, &rp, &err), 0);
    cr_assert_eq(chio_kernel_register_resource_provider(k, &rp, &err), CHIO_EDUPLICATE);
    memset(&pp, 0, sizeof pp);
    pp.provider_id = "P";
    pp.get = p_get;
    cr_assert_eq(chio_kernel_register_prompt_provider(k, &pp, &err), 0);
    cr_assert_eq(chio_kernel_issue_capability(k, "cap-do", TK_AGENT_PUB, pscope, strlen(pscope), 0,
                                              3600, &cap, &err),
                 0, "%s", err.message);
    tok = chio_capability_json(cap, NULL);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, &tok, NULL, 1, sid, &err), 0);
    chio_capability_free(cap);
    return k;
}

static void hash_binds(const chio_response *r)
{
    const chio_json *h = chio_json_get(chio_receipt_root(r->receipt), "content_hash");
    char want[65];
    size_t hlen = 0;
    const char *got = h ? chio_json_string(h, &hlen) : NULL;
    cr_assert_eq(
        chio_sha256_hex(r->output ? r->output : "null", r->output ? r->output_len : 4, want), 0);
    cr_expect(got && hlen == 64 && memcmp(got, want, 64) == 0);
}

/* A prompt provider is promised a canonical JSON object (evaluate.h): an
 * agent's arguments of another type ([1], "x", null, 7) are denied
 * invalid_request with a receipt that binds no output, and the provider
 * is not asked; an object still reaches it, canonical. Before, they went
 * to the provider and were allowed. */
Test(rev44_streams, prompt_arguments_that_are_not_an_object_are_denied_with_a_receipt)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = mk(sid);
    chio_response r;
    chio_error err;
    size_t len;
    const char *bad[] = {"[1]", "\"x\"", "null", "7", " [ {\"a\":1} ] "};
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        g_seen[0] = '\0';
        chio_error_init(&err);
        memset(&r, 0, sizeof r);
        cr_assert_eq(
            chio_kernel_get_prompt(k, sid, NULL, "cap-do", "px", bad[i], strlen(bad[i]), &r, &err),
            0, "%s: %s", bad[i], err.message);
        cr_assert_not_null(r.receipt, "%s: no receipt", bad[i]);
        cr_expect_eq(r.verdict, CHIO_VERDICT_DENY, "%s: verdict %d", bad[i], r.verdict);
        cr_expect_eq(r.code, CHIO_CODE_INVALID_REQUEST, "%s: code %s", bad[i],
                     chio_code_name(r.code));
        cr_expect_null(r.output, "%s: output %s", bad[i], r.output);
        cr_expect_eq(g_seen[0], '\0', "%s: the provider was asked (%s)", bad[i], g_seen);
        cr_expect(strstr(chio_receipt_json(r.receipt, &len), "\"deny\"") != NULL);
        hash_binds(&r);
        chio_response_destroy(&r);
    }
    chio_error_init(&err);
    memset(&r, 0, sizeof r);
    cr_assert_eq(
        chio_kernel_get_prompt(k, sid, NULL, "cap-do", "px", "{\"z\":1,\"a\":[2]}", 15, &r, &err),
        0, "%s", err.message);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW);
    cr_expect_str_eq(g_seen, "px|{\"a\":[2],\"z\":1}");
    cr_assert_not_null(r.output);
    cr_expect_str_eq(r.output, "{\"a\":[2],\"z\":1}");
    hash_binds(&r);
    chio_response_destroy(&r);
    /* NULL arguments are {} (evaluate.h). */
    chio_error_init(&err);
    memset(&r, 0, sizeof r);
    cr_assert_eq(chio_kernel_get_prompt(k, sid, NULL, "cap-do", "px", NULL, 0, &r, &err), 0);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW);
    cr_expect_str_eq(g_seen, "px|{}");
    chio_response_destroy(&r);
    chio_kernel_free(k);
}

/* ---- listing while another registration grows the arrays ------------------------------------ */

static int noop_get(void *user, const char *name, const char *args, size_t len, chio_output *out)
{
    (void)user;
    (void)name;
    (void)args;
    (void)len;
    return chio_output_set_json(out, "{}", 2);
}

/* A list function that registers 64 more prompt providers (registration
 * grows the array with realloc, freeing the one the listing was reading)
 * and then lists something that is not an array. */
static int registering_list(void *user, chio_output *out)
{
    chio_kernel *k = user;
    chio_prompt_provider pp;
    char id[16];
    int i;

    for (i = 0; i < 64; i++) {
        memset(&pp, 0, sizeof pp);
        snprintf(id, sizeof id, "x%d", i);
        pp.provider_id = id;
        pp.get = noop_get;
        cr_assert_eq(chio_kernel_register_prompt_provider(k, &pp, NULL), 0);
    }
    return chio_output_set_json(out, "{}", 2);
}

/* Listing runs before the first session opens, when another thread may
 * still register: it reads a copy of the providers taken under the build
 * lock, not the array registration reallocates (it named the failing
 * provider through the freed array: AddressSanitizer's heap-use-after-free
 * in make asan). */
Test(rev44_streams, listing_reads_the_providers_registered_when_it_began)
{
    chio_kernel *k = kt_echo_kernel(NULL, NULL, "srv", tools, 1);
    chio_prompt_provider pp;
    char *out = NULL;
    size_t len = 0;
    chio_error err;

    memset(&pp, 0, sizeof pp);
    pp.provider_id = "lister";
    pp.list = registering_list;
    pp.get = noop_get;
    pp.user = k;
    cr_assert_eq(chio_kernel_register_prompt_provider(k, &pp, NULL), 0);
    chio_error_init(&err);
    cr_expect_eq(chio_kernel_list_prompts(k, &out, &len, &err), CHIO_EFORMAT);
    cr_expect_null(out);
    cr_expect_not_null(strstr(err.message, "provider 'lister' did not list"), "%s", err.message);
    chio_kernel_free(k);
}
