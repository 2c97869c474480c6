/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev24_lifecycle.c - when registration is open
 * (spec/kernel.md "Lifecycle"; review 24):
 *   - registration closes when serving starts, that is with the first
 *     session opened: an open_session that fails (a malformed token, two
 *     tokens with one id and other bytes) opened nothing, so registration
 *     stays open, and the server registered then serves calls;
 *   - after drain every call is an error, registration included
 *     (CHIO_EDRAINED), for a kernel that never served.
 * Real kernel, real Ed25519, ephemeral RocksDB.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define IAT   1710000000u
#define SCOPE "{\"grants\":[{\"server_id\":\"*\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}]}"

static uint64_t lc_clock(void *ctx)
{
    (void)ctx;
    return IAT + 300;
}

TestSuite(rev24_lifecycle);

static chio_kernel *lc_kernel(void)
{
    chio_kernel_config cfg;

    kt_config(&cfg, NULL);
    cfg.clock = lc_clock;
    cfg.log_level = CHIO_LOG_ERROR;
    return kt_kernel(&cfg);
}

static chio_tool_server lc_server(const char *id)
{
    static const char *const tools[] = {"t"};
    chio_tool_server ts;

    memset(&ts, 0, sizeof(ts));
    ts.server_id = id;
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = kt_echo_tool;
    return ts;
}

Test(rev24_lifecycle, a_failed_open_session_leaves_registration_open)
{
    chio_kernel *k = lc_kernel();
    char sid[CHIO_SESSION_ID_LEN + 1];
    char *tok = tk_token(TK_KERNEL_SEED, "c", TK_AGENT_PUB, SCOPE, IAT, 1000, NULL, 0);
    char *other = tk_token(TK_KERNEL_SEED, "c", TK_AGENT_PUB, SCOPE, IAT, 2000, NULL, 0);
    const char *bad[1] = {"{\"id\":"}, *twice[2] = {tok, other}, *good[1] = {tok};
    chio_tool_server ts = lc_server("srv");
    chio_response resp;
    chio_call call;
    chio_error err;

    cr_assert(tok != NULL && other != NULL);
    chio_error_init(&err);
    cr_assert_lt(chio_kernel_open_session(k, TK_AGENT_PUB, bad, NULL, 1, sid, &err), 0);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, twice, NULL, 2, sid, &err),
                 CHIO_EDUPLICATE);
    /* Nothing was opened: the build phase goes on. */
    cr_expect_eq(chio_kernel_register_tool_server(k, &ts, &err), 0, "%s", err.message);
    cr_expect_eq(chio_kernel_add_forbidden_path_guard(k, "g", NULL, 0, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, good, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    memset(&call, 0, sizeof(call));
    call.session_id = sid;
    call.capability_id = "c";
    call.server_id = "srv";
    call.tool_name = "t";
    cr_assert_eq(chio_kernel_evaluate(k, &call, &resp, &err), 0, "%s", err.message);
    cr_expect_eq(resp.verdict, CHIO_VERDICT_ALLOW, "%s", resp.reason ? resp.reason : "");
    chio_response_destroy(&resp);
    /* Now a session is open: closed. */
    ts = lc_server("late");
    cr_expect_eq(chio_kernel_register_tool_server(k, &ts, &err), CHIO_ESERVING);
    chio_kernel_free(k);
    free(tok);
    free(other);
}

static int lc_nested(void *user, chio_nested_kind kind, const char *session_id, const char *req,
                     size_t len, chio_output *reply)
{
    (void)user;
    (void)kind;
    (void)session_id;
    (void)req;
    (void)len;
    return chio_output_set_json(reply, "null", 4);
}

Test(rev24_lifecycle, registration_after_drain_is_refused)
{
    chio_kernel *k = lc_kernel();
    chio_tool_server ts = lc_server("srv");
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_drain(k, &err), 0, "%s", err.message);
    cr_expect_eq(chio_kernel_register_tool_server(k, &ts, &err), CHIO_EDRAINED);
    cr_expect_neq(strstr(err.message, "drain"), NULL, "%s", err.message);
    cr_expect_eq(chio_kernel_add_forbidden_path_guard(k, "g", NULL, 0, &err), CHIO_EDRAINED);
    cr_expect_eq(chio_kernel_add_secret_leak_guard(k, "s", NULL, 0, &err), CHIO_EDRAINED);
    cr_expect_eq(chio_kernel_set_nested_handler(k, lc_nested, NULL, &err), CHIO_EDRAINED);
    chio_kernel_free(k);
}
