/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev44_delegation.c - review 44 of delegation chains
 * and nested flows, through the public API with a real kernel, RocksDB
 * store and Ed25519:
 *   - a nested request (sampling or elicitation) made once the kernel
 *     has failed closed after a receipt store error is refused before the
 *     host is asked: its child receipt could not be committed, so the
 *     user or the agent's model was asked with no record of the question
 *     (a tool is never run in that state; a nested request was).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define IAT 1710000000u
#define NOW 1710000300u

static uint64_t d44_clock(void *ctx)
{
    (void)ctx;
    return NOW;
}

/* ---- nested requests of a kernel that failed closed ------------------------------------- */

static chio_kernel *fc_k;
static char *fc_db;
static char fc_sid[CHIO_SESSION_ID_LEN + 1];
static int fc_host_asked, fc_inner_rc, fc_sample_rc, fc_elicit_rc;

static int fc_host(void *user, chio_nested_kind kind, const char *session_id, const char *req,
                   size_t len, chio_output *reply)
{
    (void)user;
    (void)kind;
    (void)session_id;
    (void)req;
    (void)len;
    fc_host_asked++;
    return chio_output_set_json(reply, "{\"text\":\"ok\"}", 13);
}

/* "echo" echoes; "t" removes the store, makes one call of "echo" (whose
 * commit fails, so the kernel fails closed), then asks for a sampling and
 * an elicitation. */
static int fc_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                   chio_output *out)
{
    chio_response r;
    chio_error err;
    chio_call c;
    char *reply = NULL;

    (void)user;
    if (strcmp(tool, "echo") == 0)
        return chio_output_set_json(out, args, len);
    testutil_rmrf(fc_db);
    kt_call_init(&c, fc_sid, "cap-fc", "echo", "{}");
    chio_error_init(&err);
    chio_response_init(&r);
    fc_inner_rc = chio_kernel_evaluate(fc_k, &c, &r, &err);
    chio_response_destroy(&r);
    fc_sample_rc = chio_tool_ctx_sample(ctx, "{\"messages\":[]}", 15, 0, &reply, NULL, &err);
    chio_free(reply);
    reply = NULL;
    fc_elicit_rc = chio_tool_ctx_elicit(ctx, "{\"message\":\"pin?\"}", 18, &reply, NULL, &err);
    chio_free(reply);
    return chio_output_set_json(out, args, len);
}

Test(rev44_delegation, a_kernel_that_failed_closed_sends_no_nested_request_to_the_host)
{
    static const char *const tools[] = {"t", "echo"};
    const char *scope = "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"*\","
                        "\"operations\":[\"invoke\"]}]}";
    char *dir = testutil_tmpdir(), *tok;
    const char *caps[1];
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_response r;
    chio_error err;
    chio_call c;
    chio_kernel_metrics m;
    int rc;

    cr_assert_geq(asprintf(&fc_db, "%s/db", dir), 0);
    kt_config(&cfg, fc_db);
    cfg.clock = d44_clock;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    cfg.allow_sampling = 1;
    cfg.allow_elicitation = 1;
    fc_k = kt_kernel(&cfg);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 2;
    ts.invoke = fc_tool;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_register_tool_server(fc_k, &ts, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_set_nested_handler(fc_k, fc_host, NULL, &err), 0, "%s", err.message);
    tok = tk_token(TK_KERNEL_SEED, "cap-fc", TK_AGENT_PUB, scope, IAT, 1000, NULL, 0);
    cr_assert_not_null(tok);
    caps[0] = tok;
    cr_assert_eq(chio_kernel_open_session(fc_k, TK_AGENT_PUB, caps, NULL, 1, fc_sid, &err), 0, "%s",
                 err.message);
    free(tok);

    fc_host_asked = 0;
    kt_call_init(&c, fc_sid, "cap-fc", "t", "{}");
    chio_error_init(&err);
    chio_response_init(&r);
    rc = chio_kernel_evaluate(fc_k, &c, &r, &err);
    /* the store is gone: the call itself is an error, never an allow */
    cr_expect_neq(rc, 0, "the outer call was answered after the store went away");
    cr_expect_null(r.receipt);
    chio_response_destroy(&r);
    chio_kernel_metrics_get(fc_k, &m);
    cr_assert(m.failed, "the kernel did not fail closed (inner call rc %d)", fc_inner_rc);
    cr_expect_neq(fc_inner_rc, 0, "the inner call was answered after the store went away");
    cr_expect_eq(fc_sample_rc, CHIO_EFAILED, "sampling: %s", chio_err_name(fc_sample_rc));
    cr_expect_eq(fc_elicit_rc, CHIO_EFAILED, "elicitation: %s", chio_err_name(fc_elicit_rc));
    cr_expect_eq(fc_host_asked, 0, "the host was asked %d time(s) with no receipt possible",
                 fc_host_asked);
    chio_kernel_free(fc_k);
    fc_k = NULL;
    testutil_rmrf(dir);
    free(dir);
    free(fc_db);
    fc_db = NULL;
}
