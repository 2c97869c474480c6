/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_api_abuse.c - the public API used carelessly by a host:
 * arguments at the edge of their type and callbacks that call back in.
 *
 *   null_kernel     registration with a NULL kernel is CHIO_EINVAL before
 *                   anything is read through it (UBSan builds aborted on
 *                   the member access)
 *   long_timeout    a chio_call_options.timeout_ms too long to count in
 *                   nanoseconds is no timeout at all, for tools, resources
 *                   and prompts (it wrapped around to a deadline already
 *                   passed, and the call was cancelled at once)
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "chio/chio.h"
#include "common/poll.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define SCOPE_ALL                                                                            \
    "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}]," \
    "\"resource_grants\":[{\"uri_pattern\":\"*\",\"operations\":[\"read\"]}],"               \
    "\"prompt_grants\":[{\"prompt_name\":\"*\",\"operations\":[\"get\"]}]}"

TestSuite(api_abuse);

/* ---- null_kernel -------------------------------------------------------------------- */

static int read_one(void *user, const char *uri, chio_output *out)
{
    (void)user;
    (void)uri;
    return chio_output_set_json(out, "1", 1);
}

static int get_one(void *user, const char *name, const char *args, size_t len, chio_output *out)
{
    (void)user;
    (void)name;
    (void)args;
    (void)len;
    return chio_output_set_json(out, "1", 1);
}

Test(api_abuse, registering_a_provider_on_a_null_kernel_is_einval)
{
    chio_resource_provider rp;
    chio_prompt_provider pp;
    chio_error err;

    memset(&rp, 0, sizeof(rp));
    memset(&pp, 0, sizeof(pp));
    rp.provider_id = "rp";
    rp.read = read_one;
    pp.provider_id = "pp";
    pp.get = get_one;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_register_resource_provider(NULL, &rp, &err), CHIO_EINVAL);
    cr_assert_eq(err.code, CHIO_EINVAL);
    cr_assert(strstr(err.message, "NULL kernel") != NULL, "%s", err.message);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_register_prompt_provider(NULL, &pp, &err), CHIO_EINVAL);
    cr_assert(strstr(err.message, "NULL kernel") != NULL, "%s", err.message);
}

/* ---- long_timeout ------------------------------------------------------------------- */

/* A kernel serving tool srv/t (echo), a resource and a prompt provider,
 * with a session holding token "c" for every grant; the session id in @sid. */
static chio_kernel *serving_kernel(char sid[CHIO_SESSION_ID_LEN + 1])
{
    static const char *const tools[] = {"t"};
    chio_resource_provider rp;
    chio_prompt_provider pp;
    chio_capability *cap = NULL;
    chio_kernel *k = kt_echo_kernel(NULL, NULL, "srv", tools, 1);
    const char *tok[1];
    chio_error err;

    memset(&rp, 0, sizeof(rp));
    memset(&pp, 0, sizeof(pp));
    rp.provider_id = "rp";
    rp.read = read_one;
    pp.provider_id = "pp";
    pp.get = get_one;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_register_resource_provider(k, &rp, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_register_prompt_provider(k, &pp, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_issue_capability(k, "c", TK_AGENT_PUB, SCOPE_ALL, strlen(SCOPE_ALL), 0,
                                              3600, &cap, &err),
                 0, "%s", err.message);
    tok[0] = chio_capability_json(cap, NULL);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, tok, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    chio_capability_free(cap);
    return k;
}

Test(api_abuse, a_timeout_too_long_to_count_is_no_timeout)
{
    /* UINT64_MAX ms, and the first value whose nanoseconds pass 2^64. */
    const uint64_t timeouts[] = {UINT64_MAX, UINT64_MAX / 1000000u + 1};
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = serving_kernel(sid);
    chio_call_options opt;
    chio_response resp;
    chio_call call;
    chio_error err;
    size_t i;

    memset(&call, 0, sizeof(call));
    call.session_id = sid;
    call.capability_id = "c";
    call.server_id = "srv";
    call.tool_name = "t";
    for (i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
        memset(&opt, 0, sizeof(opt));
        opt.timeout_ms = timeouts[i];
        chio_error_init(&err);
        cr_assert_eq(chio_kernel_evaluate_ex(k, &call, &opt, &resp, &err), 0, "%s", err.message);
        cr_assert_eq(resp.verdict, CHIO_VERDICT_ALLOW, "tool, timeout %llu ms: %s (%s)",
                     (unsigned long long)timeouts[i], chio_verdict_name(resp.verdict), resp.reason);
        chio_response_destroy(&resp);
        cr_assert_eq(chio_kernel_read_resource_ex(k, sid, NULL, "c", "mem://x", &opt, &resp, &err),
                     0, "%s", err.message);
        cr_assert_eq(resp.verdict, CHIO_VERDICT_ALLOW, "resource, timeout %llu ms: %s (%s)",
                     (unsigned long long)timeouts[i], chio_verdict_name(resp.verdict), resp.reason);
        chio_response_destroy(&resp);
        cr_assert_eq(
            chio_kernel_get_prompt_ex(k, sid, NULL, "c", "greet", NULL, 0, &opt, &resp, &err), 0,
            "%s", err.message);
        cr_assert_eq(resp.verdict, CHIO_VERDICT_ALLOW, "prompt, timeout %llu ms: %s (%s)",
                     (unsigned long long)timeouts[i], chio_verdict_name(resp.verdict), resp.reason);
        chio_response_destroy(&resp);
    }
    chio_kernel_free(k);
}
