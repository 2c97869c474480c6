/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev45_dispatch.c - review 45 of the tool's side of a
 * call (kernel/dispatch.c) through the public API: a streamed chunk at
 * the reader's depth limit is a bad chunk, since the output wraps it in
 * one more array and must stay readable by chio_json_parse(); and a failed
 * chio_output_set_json() sticks, so a good answer set after a bad one
 * does not turn a tool's (plain or streamed) or a nested reply's failure
 * into a success.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chio/chio.h"
#include "kernel/kernelutil.h"

/* What the tools did: their calls' return codes. */
static int g_depth;  /* deep_tool: the chunk's nesting */
static int g_rcs[3]; /* return codes the tools saw */
static int g_host_asked;

/* A kernel serving srv/t through @fn (streamed when @stream), sampling
 * allowed, @nested its host handler (NULL: none). */
static chio_kernel *mk(int stream, kt_tool_fn fn, chio_nested_fn nested)
{
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_error err;

    kt_config(&cfg, NULL);
    cfg.max_stream_total_bytes = 1u << 20;
    cfg.allow_sampling = 1;
    k = kt_kernel(&cfg);
    kt_serve_t(k, "srv", stream, fn);
    chio_error_init(&err);
    if (nested != NULL)
        cr_assert_eq(chio_kernel_set_nested_handler(k, nested, NULL, &err), 0, "%s", err.message);
    return k;
}

/* One call of srv/t with "{}" in a fresh session on @k; the response into
 * @r (the caller destroys it). Fails the test when the call fails or has
 * no receipt. */
static void call(chio_kernel *k, const char *request_id, chio_response *r)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_call c;
    chio_error err;

    kt_grant_session(k, (uint64_t)time(NULL), "cap-45", "", sid);
    kt_grant_call(&c, sid, "cap-45", "{}", 2);
    c.request_id = request_id;
    chio_error_init(&err);
    chio_response_init(r);
    cr_assert_eq(chio_kernel_evaluate(k, &c, r, &err), 0, "%s: %s", request_id, err.message);
    cr_assert_not_null(r->receipt, "%s: no receipt", request_id);
}

/* The decision's guard (the code's name on a deny) of receipt @rec. */
static const char *guard_of(const chio_receipt *rec)
{
    const chio_json *d = chio_json_get(chio_receipt_root(rec), "decision");

    return chio_json_string(chio_json_get(d, "guard"), NULL);
}

/* The receipt's content_hash is the SHA-256 of @r's output ("null" when
 * none), and a verifier can recompute it: the output reads back with
 * chio_json_canonicalize() as itself. */
static void output_verifies(const chio_response *r, const char *tag)
{
    const chio_json *h = chio_json_get(chio_receipt_root(r->receipt), "content_hash");
    const char *out = r->output ? r->output : "null";
    size_t olen = r->output ? r->output_len : 4, hlen = 0, clen = 0;
    const char *got = h ? chio_json_string(h, &hlen) : NULL;
    char want[65], *canon = NULL;

    cr_assert_eq(chio_sha256_hex(out, olen, want), 0);
    cr_expect(got && hlen == 64 && memcmp(got, want, 64) == 0, "%s: content_hash %s", tag,
              got ? got : "(none)");
    cr_expect_eq(chio_json_canonicalize(out, olen, &canon, &clen, NULL), 0,
                 "%s: the output does not read back", tag);
    cr_expect(canon && clen == olen && memcmp(canon, out, olen) == 0, "%s: not canonical", tag);
    chio_free(canon);
}

/* ---- F1: a chunk at the reader's depth limit ------------------------------------------------ */

/* Emits one chunk of g_depth nested arrays, then a good chunk 1. */
static int deep_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                     chio_output *out)
{
    char buf[2 * CHIO_JSON_MAX_DEPTH + 2];
    int i;

    (void)user;
    (void)tool;
    (void)args;
    (void)len;
    (void)out;
    for (i = 0; i < g_depth; i++) {
        buf[i] = '[';
        buf[g_depth + i] = ']';
    }
    g_rcs[0] = chio_tool_ctx_emit_chunk(ctx, buf, 2 * (size_t)g_depth);
    g_rcs[1] = chio_tool_ctx_emit_chunk(ctx, "1", 1);
    return 0;
}

/* The output of a streamed call is the JSON array of its chunks
 * (evaluate.h), one level deeper than its deepest chunk. A chunk
 * CHIO_JSON_MAX_DEPTH - 1 deep is kept: the output is CHIO_JSON_MAX_DEPTH
 * deep, allowed, and reads back. One CHIO_JSON_MAX_DEPTH deep is a bad
 * chunk (CHIO_EJSON_DEPTH, dropped; the next chunk is still taken) and
 * the call a tool_error deny with no output. Before, it was kept and the
 * call allowed with an output chio_json_parse() refuses, so no verifier
 * could recompute its content_hash with chio_json_canonicalize(). */
Test(rev45_dispatch, a_chunk_at_the_readers_depth_limit_is_a_bad_chunk)
{
    chio_kernel *k = mk(1, deep_tool, NULL);
    chio_response r;
    chio_json_doc *doc = NULL;

    g_depth = CHIO_JSON_MAX_DEPTH - 1;
    call(k, "deep-127", &r);
    cr_expect_eq(g_rcs[0], 0, "127 deep: rc %d", g_rcs[0]);
    cr_expect_eq(g_rcs[1], 0);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "127 deep: verdict %d (%s)", r.verdict, r.reason);
    cr_expect_eq(r.code, CHIO_CODE_NONE);
    cr_expect_eq(chio_receipt_verdict(r.receipt), CHIO_VERDICT_ALLOW);
    cr_assert_not_null(r.output);
    cr_expect_eq(chio_json_parse(r.output, r.output_len, &doc, NULL), 0);
    chio_json_doc_free(doc);
    output_verifies(&r, "127 deep");
    chio_response_destroy(&r);

    g_depth = CHIO_JSON_MAX_DEPTH;
    call(k, "deep-128", &r);
    cr_expect_eq(g_rcs[0], CHIO_EJSON_DEPTH, "128 deep: rc %d", g_rcs[0]);
    cr_expect_eq(g_rcs[1], 0, "the next chunk: rc %d", g_rcs[1]);
    cr_expect_eq(r.verdict, CHIO_VERDICT_DENY, "128 deep: verdict %d, output %.40s", r.verdict,
                 r.output ? r.output : "(none)");
    cr_expect_eq(r.code, CHIO_CODE_TOOL_ERROR, "128 deep: code %s", chio_code_name(r.code));
    cr_expect_null(r.output);
    cr_expect_not_null(strstr(r.reason, "invalid chunk"), "reason: %s", r.reason);
    cr_expect_eq(chio_receipt_verdict(r.receipt), CHIO_VERDICT_DENY);
    cr_expect_str_eq(guard_of(r.receipt), "tool_error");
    output_verifies(&r, "128 deep");
    chio_response_destroy(&r);
    chio_kernel_free(k);
}

/* ---- F2: a failed output set sticks --------------------------------------------------------- */

/* Sets a bad answer, then a good one; streamed, it emits a chunk first. */
static int bad_then_good_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                              size_t len, chio_output *out)
{
    (void)user;
    (void)tool;
    (void)args;
    (void)len;
    g_rcs[2] = chio_tool_ctx_emit_chunk(ctx, "\"chunk\"", 7);
    g_rcs[0] = chio_output_set_json(out, "{bad", 4);
    g_rcs[1] = chio_output_set_json(out, "\"ok\"", 4);
    return 0;
}

/* The host answers a nested request with a bad reply, then a good one. */
static int bad_then_good_host(void *user, chio_nested_kind kind, const char *sid, const char *req,
                              size_t len, chio_output *reply)
{
    (void)user;
    (void)kind;
    (void)sid;
    (void)req;
    (void)len;
    g_host_asked++;
    g_rcs[0] = chio_output_set_json(reply, "{bad", 4);
    g_rcs[1] = chio_output_set_json(reply, "\"good\"", 6);
    return 0;
}

/* Makes one sampling request, its rc in g_rcs[2]; answers "done". */
static int sampling_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                         size_t len, chio_output *out)
{
    char *reply = NULL;
    chio_error err;

    (void)user;
    (void)tool;
    (void)args;
    (void)len;
    chio_error_init(&err);
    g_rcs[2] = chio_tool_ctx_sample(ctx, "{\"messages\":[]}", 15, 0, &reply, NULL, &err);
    cr_expect_null(reply, "reply %s", reply);
    chio_free(reply);
    return chio_output_set_json(out, "\"done\"", 6);
}

/* "A bad answer turns the call into a tool error" (evaluate.h), and it
 * stays one: a later good chio_output_set_json() changes nothing and
 * returns the first failure's code. A plain tool and a streamed one are
 * tool_error denies with no output; the host's reply to a nested request
 * fails (CHIO_EFAILED to the tool, no reply, a tool_error deny child
 * receipt) and the call, whose tool answered, is allowed. Before, the
 * good set overwrote the failure: both calls were allowed (output "ok",
 * or the chunks) and the tool got the reply "good". */
Test(rev45_dispatch, a_failed_output_set_sticks)
{
    static const char *const tag[] = {"plain", "streamed"};
    chio_response r;
    chio_kernel *k;
    int stream;

    for (stream = 0; stream < 2; stream++) {
        memset(g_rcs, 0, sizeof g_rcs);
        k = mk(stream, bad_then_good_tool, NULL);
        call(k, tag[stream], &r);
        cr_expect_eq(g_rcs[0], CHIO_EJSON_SYNTAX, "%s: first set rc %d", tag[stream], g_rcs[0]);
        cr_expect_eq(g_rcs[1], g_rcs[0], "%s: second set rc %d", tag[stream], g_rcs[1]);
        cr_expect_eq(g_rcs[2], stream ? 0 : CHIO_EINVAL, "%s: chunk rc %d", tag[stream], g_rcs[2]);
        cr_expect_eq(r.verdict, CHIO_VERDICT_DENY, "%s: verdict %d, output %s", tag[stream],
                     r.verdict, r.output ? r.output : "(none)");
        cr_expect_eq(r.code, CHIO_CODE_TOOL_ERROR, "%s: code %s", tag[stream],
                     chio_code_name(r.code));
        cr_expect_null(r.output, "%s: output %s", tag[stream], r.output);
        cr_expect_not_null(strstr(r.reason, "not valid JSON"), "%s: reason %s", tag[stream],
                           r.reason);
        cr_expect_eq(chio_receipt_verdict(r.receipt), CHIO_VERDICT_DENY);
        cr_expect_str_eq(guard_of(r.receipt), "tool_error");
        output_verifies(&r, tag[stream]);
        chio_response_destroy(&r);
        chio_kernel_free(k);
    }

    memset(g_rcs, 0, sizeof g_rcs);
    g_host_asked = 0;
    k = mk(0, sampling_tool, bad_then_good_host);
    call(k, "nested", &r);
    cr_expect_eq(g_host_asked, 1);
    cr_expect_eq(g_rcs[0], CHIO_EJSON_SYNTAX, "host: first set rc %d", g_rcs[0]);
    cr_expect_eq(g_rcs[1], g_rcs[0], "host: second set rc %d", g_rcs[1]);
    cr_expect_eq(g_rcs[2], CHIO_EFAILED, "sample rc %d", g_rcs[2]);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "verdict %d (%s)", r.verdict, r.reason);
    cr_expect_str_eq(r.output, "\"done\"");
    cr_assert_eq(r.nchildren, 1);
    cr_expect_eq(chio_receipt_verdict(r.children[0]), CHIO_VERDICT_DENY);
    cr_expect_str_eq(guard_of(r.children[0]), "tool_error");
    chio_response_destroy(&r);
    chio_kernel_free(k);
}
