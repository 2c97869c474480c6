/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/rev28util.c - the review 28 suites' kernel, tools, host,
 * call and receipt checks (rev28util.h).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/poll.h"
#include "kernel/kernelutil.h"
#include "kernel/rev28util.h"
#include "kernel/tokens.h"

rs_plan_t rs_plan;
int rs_running, rs_go;
unsigned rs_pause_ms;
uint64_t rs_duration;
chio_nested_fn rs_handler;
const char *rs_secret;
int rs_host_calls;
chio_kernel *rs_k;
char rs_sid[CHIO_SESSION_ID_LEN + 1];

uint64_t rs_clock(void *ctx)
{
    (void)ctx;
    return RS_NOW;
}

static int rs_stream_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                          size_t len, chio_output *out)
{
    size_t i;

    (void)user;
    (void)tool;
    (void)args;
    (void)len;
    (void)out;
    for (i = 0; rs_plan.chunks[i] != NULL && i < 16; i++) {
        if (i > 0 && rs_pause_ms > 0) { /* the duration passing is what the test waits for */
            uint64_t until = testutil_now_ms() + rs_pause_ms;
            while (testutil_now_ms() < until)
                testutil_nap_ms(5);
        }
        rs_plan.rcs[i] =
            chio_tool_ctx_emit_chunk(ctx, rs_plan.chunks[i], strlen(rs_plan.chunks[i]));
    }
    if (rs_plan.req != NULL) {
        char *reply = NULL;
        size_t rlen = 0;
        rs_plan.rc =
            chio_tool_ctx_sample(ctx, rs_plan.req, rs_plan.req_len, 0, &reply, &rlen, NULL);
        chio_free(reply);
    }
    return 0;
}

int rs_sample_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                   chio_output *out)
{
    char *reply = NULL;
    size_t rlen = 0;
    int i;

    (void)user;
    (void)tool;

    if (__atomic_load_n(&rs_running, __ATOMIC_ACQUIRE) == 1) {
        __atomic_store_n(&rs_running, 2, __ATOMIC_RELEASE);
        while (!__atomic_load_n(&rs_go, __ATOMIC_ACQUIRE))
            testutil_nap_ms(1);
    }
    for (i = 0; i < (rs_plan.repeat ? rs_plan.repeat : 1) && i < 32; i++) {
        reply = NULL;
        if (rs_plan.elicit)
            rs_plan.rc =
                chio_tool_ctx_elicit(ctx, rs_plan.req, rs_plan.req_len, &reply, &rlen, NULL);
        else
            rs_plan.rc =
                chio_tool_ctx_sample(ctx, rs_plan.req, rs_plan.req_len, 0, &reply, &rlen, NULL);
        rs_plan.rcs2[i] = rs_plan.rc;
        chio_free(reply);
    }
    return chio_output_set_json(out, args, len);
}

int rs_host(void *user, chio_nested_kind kind, const char *session_id, const char *req, size_t len,
            chio_output *reply)
{
    (void)user;
    (void)kind;
    (void)session_id;
    (void)req;
    (void)len;
    rs_host_calls++;
    return chio_output_set_json(reply, "\"ok\"", 4);
}

static void rs_reg(const char *server, int streaming, kt_tool_fn fn)
{
    kt_serve_t(rs_k, server, streaming, fn);
}

void rs_setup(const char *path, uint64_t stream_bytes, uint64_t arg_cap, const rs_tool *extra)
{
    chio_kernel_config cfg;
    chio_error err;
    const char *caps[1];
    char *tok;

    kt_config(&cfg, path);
    cfg.clock = rs_clock;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    cfg.allow_sampling = 1;
    cfg.allow_elicitation = 1;
    if (stream_bytes)
        cfg.max_stream_total_bytes = stream_bytes == NO_BYTES ? 0 : stream_bytes;
    if (arg_cap)
        cfg.max_argument_bytes = arg_cap;
    if (rs_duration)
        cfg.max_stream_duration_secs = rs_duration;
    rs_k = kt_kernel(&cfg);
    rs_reg("srv-stream", 1, rs_stream_tool);
    rs_reg("srv-sample", 0, rs_sample_tool);
    for (; extra != NULL && extra->server != NULL; extra++)
        rs_reg(extra->server, extra->streaming, extra->fn);
    cr_assert_eq(
        chio_kernel_set_nested_handler(rs_k, rs_handler ? rs_handler : rs_host, NULL, &err), 0);
    if (rs_secret != NULL)
        cr_assert_eq(
            chio_kernel_add_secret_leak_guard(rs_k, "SecretLeakGuard", &rs_secret, 1, &err), 0,
            "%s", err.message);
    tok = tk_token(TK_KERNEL_SEED, "cap-f", TK_AGENT_PUB,
                   "{\"grants\":[{\"server_id\":\"*\",\"tool_name\":\"*\","
                   "\"operations\":[\"invoke\"]}]}",
                   RS_NOW - 10, 100, NULL, 0);
    cr_assert_not_null(tok);
    caps[0] = tok;
    cr_assert_eq(chio_kernel_open_session(rs_k, TK_AGENT_PUB, caps, NULL, 1, rs_sid, &err), 0, "%s",
                 err.message);
    free(tok);
    memset(&rs_plan, 0, sizeof(rs_plan));
    rs_host_calls = 0;
}

void rs_call(const char *server, chio_response *r)
{
    chio_call c;
    chio_error err;

    memset(&c, 0, sizeof(c));
    c.session_id = rs_sid;
    c.capability_id = "cap-f";
    c.server_id = server;
    c.tool_name = "t";
    c.arguments_json = "{}";
    c.arguments_len = 2;
    chio_error_init(&err);
    memset(r, 0, sizeof(*r));
    cr_assert_eq(chio_kernel_evaluate(rs_k, &c, r, &err), 0, "%s", err.message);
    cr_assert_not_null(r->receipt);
}

void rs_expect_hash_binds_output(const chio_response *r)
{
    const chio_json *h = chio_json_get(chio_receipt_root(r->receipt), "content_hash");
    char want[65];
    size_t hlen = 0;
    const char *got = h ? chio_json_string(h, &hlen) : NULL;

    cr_assert_not_null(r->output);
    cr_assert_eq(chio_sha256_hex(r->output, r->output_len, want), 0);
    cr_assert_not_null(got);
    cr_expect(hlen == 64 && memcmp(got, want, 64) == 0, "content_hash %.*s, output hash %s",
              (int)hlen, got, want);
}

void rs_expect_refused_unrecordable(const chio_response *r, const char *why)
{
    chio_receipt *back = NULL;
    const char *js;
    size_t len;

    cr_expect_eq(rs_plan.rc, CHIO_EDENIED, "nested rc %d", rs_plan.rc);
    cr_expect_eq(rs_host_calls, 0, "the host was asked a question no receipt can record");
    cr_assert_eq(r->nchildren, 1, "no child receipt (nested rc %d)", rs_plan.rc);
    js = chio_receipt_json(r->children[0], &len);
    cr_expect_eq(chio_receipt_parse(js, len, &back, NULL), 0,
                 "the child receipt does not read back");
    chio_receipt_free(back);
    cr_expect(len < 4096 && strstr(js, "\"arguments_rejected\"") != NULL &&
                  strstr(js, "chio_omitted_arguments") != NULL && strstr(js, why) != NULL,
              "child receipt: %.600s", js);
    cr_expect(strstr(js, "\"parent_request_id\"") != NULL, "no parent link: %.600s", js);
}
