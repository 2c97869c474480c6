/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev32_tools.c - review 32's API misuse sweep (suite
 * rev32_kapi, see tests/kernel/test_rev32_api.c): the host's callbacks
 * misusing the API. The calls a tool makes on its context and output, with
 * NULL and bad arguments, from inside a running call and on a NULL context:
 * each is a documented code, and the call still ends with a receipt. A
 * guard answering a verdict outside its enum, its details buffer full of
 * bytes that are not UTF-8: the call is denied with a receipt.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "chio/chio.h"
#include "kernel/kernelutil.h"
#include "kernel/rev32api.h"
#include "kernel/tokens.h"

#define NOW 1700000000u

static uint64_t fixed_clock(void *ctx)
{
    (void)ctx;
    return NOW;
}

static const char *const TOOLS[] = {"t"};

/* ---- a tool's context and output ---------------------------------------------------------- */

Test(rev32_kapi, tool_context_and_output_calls_on_null)
{
    char *reply = (char *)1;
    size_t len = 0;
    chio_error err;

    RC(chio_output_set_json(NULL, "1", 1), CHIO_EINVAL);
    chio_output_set_error(NULL, "x");
    RC(chio_tool_ctx_emit_chunk(NULL, "1", 1), CHIO_EINVAL);
    cr_expect_eq(chio_tool_ctx_cancelled(NULL), 0);
    cr_expect_null(chio_tool_ctx_session_id(NULL));
    cr_expect_null(chio_tool_ctx_request_id(NULL));
    ERC(chio_tool_ctx_sample(NULL, "{}", 2, 0, &reply, &len, &err), CHIO_EINVAL);
    ERC(chio_tool_ctx_elicit(NULL, "{}", 2, &reply, &len, &err), CHIO_EINVAL);
}

/* A tool that misuses its own context: NULL and bad arguments to every
 * call it may make. Records the results for the test to check. */
typedef struct misuse_log {
    int set_null, set_huge, set_nul, emit_null, sample_null_reply, sample_null_text;
    int elicit_null_reply, sample_no_len, elicit_no_len, emit_unstreamed;
    char *sampled;
} misuse_log;

static int misusing_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                         size_t len, chio_output *out)
{
    misuse_log *m = user;
    size_t rlen;
    char *reply = NULL;

    (void)tool;
    (void)args;
    (void)len;
    m->set_null = chio_output_set_json(out, NULL, 1);
    m->set_huge = chio_output_set_json(out, "1", SIZE_MAX);
    m->set_nul = chio_output_set_json(out, "\"\0\"", 3);
    chio_output_set_error(out, NULL);
    m->emit_null = chio_tool_ctx_emit_chunk(ctx, NULL, 1);
    m->sample_null_reply = chio_tool_ctx_sample(ctx, "{}", 2, 0, NULL, &rlen, NULL);
    m->sample_null_text = chio_tool_ctx_sample(ctx, NULL, 2, 0, &reply, &rlen, NULL);
    m->elicit_null_reply = chio_tool_ctx_elicit(ctx, "{}", 2, NULL, NULL, NULL);
    cr_expect_null(reply);
    /* The reply's length is optional (the reply is NUL-terminated). */
    m->sample_no_len = chio_tool_ctx_sample(ctx, "{}", 2, 0, &m->sampled, NULL, NULL);
    m->elicit_no_len = chio_tool_ctx_elicit(ctx, "{}", 2, &reply, NULL, NULL);
    chio_free(reply);
    /* A chunk from a tool that is not streamed. */
    m->emit_unstreamed = chio_tool_ctx_emit_chunk(ctx, "1", 1);
    return chio_output_set_json(out, "1", 1);
}

Test(rev32_kapi, a_tool_misusing_its_context_gets_codes_and_the_call_ends_with_a_receipt)
{
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_tool_server ts;
    chio_response resp;
    chio_call call;
    chio_error err;
    char sid[CHIO_SESSION_ID_LEN + 1];
    misuse_log m;

    memset(&m, 0, sizeof m);
    kt_config(&cfg, NULL);
    cfg.clock = fixed_clock;
    cfg.log_level = CHIO_LOG_ERROR;
    cfg.allow_sampling = 1;
    cfg.allow_elicitation = 1;
    k = kt_kernel(&cfg);
    memset(&ts, 0, sizeof ts);
    ts.server_id = "srv";
    ts.tool_names = TOOLS;
    ts.ntools = 1;
    ts.invoke = misusing_tool;
    ts.user = &m;
    ERC(chio_kernel_register_tool_server(k, &ts, &err), 0);
    kt_grant_session(k, NOW, "cap-1", "", sid);
    kt_grant_call(&call, sid, "cap-1", "{}", 2);
    chio_response_init(&resp);
    ERC(chio_kernel_evaluate(k, &call, &resp, &err), 0);
    cr_expect_eq(m.set_null, CHIO_EINVAL);
    cr_expect_eq(m.set_huge, CHIO_ETOOBIG);
    cr_expect_eq(m.set_nul, CHIO_EJSON_CONTROL);
    cr_expect_eq(m.emit_null, CHIO_EINVAL);
    cr_expect_eq(m.sample_null_reply, CHIO_EINVAL);
    cr_expect_eq(m.sample_null_text, CHIO_EINVAL);
    cr_expect_eq(m.elicit_null_reply, CHIO_EINVAL);
    cr_expect_eq(m.sample_no_len, 0);
    cr_expect_eq(m.emit_unstreamed, CHIO_EINVAL, "got %s", chio_errno_name(m.emit_unstreamed));
    cr_expect_eq(m.elicit_no_len, 0);
    cr_expect_str_eq(m.sampled ? m.sampled : "(none)", "null");
    chio_free(m.sampled);
    cr_expect_not_null(resp.receipt);
    chio_response_destroy(&resp);
    chio_kernel_free(k);
}

/* ---- a guard's answer out of range ------------------------------------------------------- */

/* A guard that answers a verdict outside chio_guard_verdict and fills its
 * details buffer to the last byte with bytes that are not UTF-8, no NUL. */
static int odd_guard(void *user, const chio_guard_input *in, chio_guard_verdict *v, char *d,
                     size_t cap)
{
    (void)in;
    *v = (chio_guard_verdict)(intptr_t)user;
    memset(d, 0xff, cap);
    return 0;
}

static void guard_denies(intptr_t verdict)
{
    chio_kernel *k = kt_echo_kernel(NULL, fixed_clock, "srv", TOOLS, 1);
    chio_response resp;
    chio_call call;
    chio_error err;
    char sid[CHIO_SESSION_ID_LEN + 1];

    ERC(chio_kernel_add_guard(k, "odd", odd_guard, (void *)verdict, &err), 0);
    kt_grant_session(k, NOW, "cap-1", "", sid);
    kt_grant_call(&call, sid, "cap-1", "{}", 2);
    chio_response_init(&resp);
    ERC(chio_kernel_evaluate(k, &call, &resp, &err), 0);
    cr_expect_eq(resp.verdict, CHIO_VERDICT_DENY, "verdict %ld", (long)verdict);
    cr_expect_eq(resp.code, CHIO_CODE_GUARD_DENIED);
    cr_expect_not_null(resp.receipt);
    cr_expect_null(resp.output);
    chio_response_destroy(&resp);
    chio_kernel_free(k);
}

Test(rev32_kapi, a_guard_verdict_outside_its_enum_denies_with_a_receipt)
{
    guard_denies(2);
    guard_denies(-1);
    guard_denies(INT32_MAX);
}
