/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev31_streams.c - review 31 of checks 10 and 11 for
 * streamed tools, through the public API with a real kernel
 * (rev28util.h): a streamed tool that fails without having heard of the
 * duration limit is a tool error (check 10 before 11), one that heard of
 * it (a refused chunk, or chio_tool_ctx_cancelled() on its own thread or
 * another) stays incomplete; a streamed tool whose result failed to set
 * is a tool error, as a plain tool's is. Each call has its one receipt
 * with the verdict it answers. And, found sound: a huge tool error text
 * that is not UTF-8 (cut, repaired, withheld under a secret_leak guard);
 * a plain tool's output of any JSON type hashed in canonical form, and
 * output that is not JSON a tool error; empty, NUL-holding and non-UTF-8
 * chunks; a cancel after a stream's limit; one stored receipt for every
 * outcome of checks 10 to 12.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/rev28util.h"

/* How each tool below ends its wait: it returns a failure (with a message)
 * once the stream duration passed, having emitted one chunk. */
enum wait_kind {
    WAIT_UNSEEN = 0, /* waits on its own clock, never asking the kernel */
    WAIT_POLLED = 1, /* polls chio_tool_ctx_cancelled() on its own thread */
    WAIT_HELPER = 2  /* a thread of its own polls chio_tool_ctx_cancelled() */
};

static enum wait_kind g_wait;
static int g_heard; /* chio_tool_ctx_cancelled() said 1 */

/* A helper thread of the tool polling its context (10 s at most). */
static void *helper_poll(void *arg)
{
    chio_tool_ctx *ctx = arg;
    uint64_t t0 = testutil_now_ms();

    while (!(g_heard = chio_tool_ctx_cancelled(ctx)) && testutil_now_ms() - t0 < 10000)
        testutil_nap_ms(10);
    return NULL;
}

/* Emit one chunk, wait past the 1 s duration limit as g_wait says, then
 * fail with a message (as a tool whose upstream broke). */
static int late_failing_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                             size_t len, chio_output *out)
{
    uint64_t t0 = testutil_now_ms();
    pthread_t t;

    (void)user;
    (void)tool;
    (void)args;
    (void)len;
    rs_plan.rcs[0] = chio_tool_ctx_emit_chunk(ctx, "\"a\"", 3);
    if (g_wait == WAIT_HELPER) {
        if (pthread_create(&t, NULL, helper_poll, ctx) != 0)
            return -1;
        pthread_join(t, NULL);
    } else if (g_wait == WAIT_POLLED) {
        while (!(g_heard = chio_tool_ctx_cancelled(ctx)) && testutil_now_ms() - t0 < 10000)
            testutil_nap_ms(10);
    } else {
        while (testutil_now_ms() - t0 < 1100) /* past the limit, never asking */
            testutil_nap_ms(10);
    }
    chio_output_set_error(out, "upstream reset the connection");
    return -1;
}

/* Emit one chunk, then set a result that is not JSON (ignoring the
 * error) and return 0. */
static int bad_result_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                           size_t len, chio_output *out)
{
    (void)user;
    (void)tool;
    (void)args;
    (void)len;
    rs_plan.rcs[0] = chio_tool_ctx_emit_chunk(ctx, "\"a\"", 3);
    rs_plan.rc = chio_output_set_json(out, "{bad", 4);
    return 0;
}

/* rs_setup() with a 1 s stream duration and this file's tools. */
static void setup(void)
{
    static const rs_tool extra[] = {
        {"srv-late", 1, late_failing_tool}, {"srv-badset", 1, bad_result_tool}, {NULL, 0, NULL}};

    rs_duration = 1;
    rs_setup(NULL, 0, 0, extra);
    rs_duration = 0;
    g_heard = 0;
}

/* The receipt's decision verdict is @want. */
static void expect_receipt_verdict(const chio_response *r, const char *want)
{
    const chio_json *d = chio_json_get(chio_receipt_root(r->receipt), "decision");
    const chio_json *v = chio_json_get(d, "verdict");
    size_t n = 0;
    const char *s = v != NULL ? chio_json_string(v, &n) : NULL;

    cr_assert_not_null(s, "receipt without a decision verdict");
    cr_expect_str_eq(s, want);
}

/* A streamed tool failed after the duration limit passed, without ever
 * hearing of it (no chunk refused, chio_tool_ctx_cancelled() never
 * asked): the limit was found only at its return, and the call was
 * `incomplete` with its chunks, the tool's failure and message lost.
 * Check 10 comes before 11: it is a tool_error deny now, no output. */
Test(rev31_streams, a_tool_failing_without_hearing_of_the_duration_limit_is_a_tool_error)
{
    chio_response r;

    setup();
    g_wait = WAIT_UNSEEN;
    rs_call("srv-late", &r);
    cr_expect_eq(rs_plan.rcs[0], 0);
    cr_expect_eq(r.verdict, CHIO_VERDICT_DENY, "verdict %d, output %s", r.verdict,
                 r.output ? r.output : "(none)");
    cr_expect_eq(r.code, CHIO_CODE_TOOL_ERROR);
    cr_expect_null(r.output);
    cr_expect(strstr(r.reason, "upstream reset the connection") != NULL, "reason: %s", r.reason);
    expect_receipt_verdict(&r, "deny");
    chio_response_destroy(&r);
    chio_kernel_free(rs_k);
}

/* A tool told of the limit by chio_tool_ctx_cancelled(), on its own
 * thread or on a thread of its own, may fail as it stops: the call stays
 * incomplete with its chunks, and the receipt binds that output. */
Test(rev31_streams, a_tool_that_heard_of_the_duration_limit_stays_incomplete)
{
    static const enum wait_kind kinds[] = {WAIT_POLLED, WAIT_HELPER};
    size_t i;

    for (i = 0; i < 2; i++) {
        chio_response r;

        setup();
        g_wait = kinds[i];
        rs_call("srv-late", &r);
        cr_expect(g_heard, "kind %zu: chio_tool_ctx_cancelled() never said 1", i);
        cr_expect_eq(r.verdict, CHIO_VERDICT_INCOMPLETE, "kind %zu: verdict %d", i, r.verdict);
        cr_expect_eq(r.code, CHIO_CODE_STREAM_LIMIT);
        cr_expect_str_eq(r.output, "[\"a\"]");
        rs_expect_hash_binds_output(&r);
        expect_receipt_verdict(&r, "incomplete");
        chio_response_destroy(&r);
        chio_kernel_free(rs_k);
    }
}

/* A plain tool whose chio_output_set_json() failed is a tool error; a
 * streamed one was allowed with its chunks. Now the same tool_error deny,
 * saying why. */
Test(rev31_streams, a_streamed_tool_whose_result_failed_to_set_is_a_tool_error)
{
    chio_response r;

    setup();
    rs_call("srv-badset", &r);
    cr_expect_eq(rs_plan.rcs[0], 0);
    cr_expect_neq(rs_plan.rc, 0);
    cr_expect_eq(r.verdict, CHIO_VERDICT_DENY, "verdict %d, output %s", r.verdict,
                 r.output ? r.output : "(none)");
    cr_expect_eq(r.code, CHIO_CODE_TOOL_ERROR);
    cr_expect_null(r.output);
    cr_expect(strstr(r.reason, "not valid JSON") != NULL, "reason: %s", r.reason);
    expect_receipt_verdict(&r, "deny");
    chio_response_destroy(&r);
    chio_kernel_free(rs_k);
}

/* ---- what a tool hands back: its error text and its output ------------------------------- */

static const char *g_text; /* the error message or the output of the tools below */
static size_t g_text_len;

/* A plain tool failing with g_text as its message. */
static int failing_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                        size_t len, chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    (void)args;
    (void)len;
    chio_output_set_error(out, g_text);
    return -1;
}

/* A plain tool answering g_text (ignoring a refusal: the kernel decides). */
static int answering_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                          size_t len, chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    (void)args;
    (void)len;
    (void)chio_output_set_json(out, g_text, g_text_len);
    return 0;
}

/* A streamed tool emitting g_text as its one chunk, then one good one. */
static int chunk_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                      size_t len, chio_output *out)
{
    (void)user;
    (void)tool;
    (void)args;
    (void)len;
    (void)out;
    rs_plan.rcs[0] = chio_tool_ctx_emit_chunk(ctx, g_text, g_text_len);
    rs_plan.rcs[1] = chio_tool_ctx_emit_chunk(ctx, "1", 1);
    return 0;
}

static void setup_text(void)
{
    static const rs_tool extra[] = {{"srv-err", 0, failing_tool},
                                    {"srv-out", 0, answering_tool},
                                    {"srv-chunk", 1, chunk_tool},
                                    {NULL, 0, NULL}};

    rs_setup(NULL, 0, 0, extra);
}

/* The receipt verifies (signature, id, parameter hash) and says @want. */
static void expect_receipt_verifies(const chio_response *r, const char *want)
{
    chio_receipt_report rep;

    cr_assert_eq(chio_receipt_verify(r->receipt, NULL, 0, &rep), 0);
    cr_expect(rep.signature_valid && rep.receipt_id_valid && rep.parameter_hash_valid,
              "receipt does not verify (%d %d %d)", rep.signature_valid, rep.receipt_id_valid,
              rep.parameter_hash_valid);
    cr_expect_str_eq(rep.decision_name, want);
}

/* The reason the caller got is the one the (parsed, so UTF-8) receipt
 * signed. */
static void expect_reason_signed(const chio_response *r)
{
    const chio_json *d = chio_json_get(chio_receipt_root(r->receipt), "decision");
    size_t n = 0;
    const char *s = chio_json_string(chio_json_get(d, "reason"), &n);

    cr_assert_not_null(s, "receipt without a reason");
    cr_expect_eq(n, strlen(r->reason));
    cr_expect_str_eq(s, r->reason);
}

/* A tool's error text of 1 MiB with bytes that are not UTF-8 (a stray
 * continuation, an overlong NUL, a surrogate, a cut sequence at the 255th
 * byte), and a secret past that cut: one tool_error receipt that verifies,
 * its reason the caller's, cut and repaired; with a secret_leak guard the
 * text is withheld whole (the secret lies past the cut). */
Test(rev31_streams, a_huge_invalid_utf8_tool_error_gets_one_verifiable_receipt)
{
    size_t n = (size_t)1 << 20;
    char *msg = malloc(n + 1);
    int guarded;

    cr_assert_not_null(msg);
    memset(msg, 'e', n);
    memcpy(msg, "bad \x80 \xc0\x80 \xed\xa0\x80 ", 13);
    msg[254] = (char)0xe2; /* a three-byte sequence the 255-byte cut splits */
    msg[255] = (char)0x82;
    msg[256] = (char)0xac;
    memcpy(msg + 4096, "AKIA-SECRET-0001", 16);
    msg[n] = '\0';
    g_text = msg;
    for (guarded = 0; guarded < 2; guarded++) {
        chio_response r;

        rs_secret = guarded ? "AKIA-SECRET-[0-9]+" : NULL;
        setup_text();
        rs_secret = NULL;
        rs_call("srv-err", &r);
        cr_expect_eq(r.verdict, CHIO_VERDICT_DENY);
        cr_expect_eq(r.code, CHIO_CODE_TOOL_ERROR);
        cr_expect_null(r.output);
        cr_expect_lt(strlen(r.reason), 1024, "reason of %zu bytes", strlen(r.reason));
        cr_expect(strstr(r.reason, "AKIA") == NULL, "reason: %.300s", r.reason);
        if (guarded)
            cr_expect(strstr(r.reason, "withheld") != NULL, "reason: %.300s", r.reason);
        else
            cr_expect(strstr(r.reason, "bad ") != NULL, "reason: %.300s", r.reason);
        expect_reason_signed(&r);
        expect_receipt_verifies(&r, "deny");
        chio_response_destroy(&r);
        chio_kernel_free(rs_k);
    }
    free(msg);
}

/* A plain tool's output of any JSON type is the allow's canonical output
 * (keys in UTF-16 order, numbers in the shortest round-trip form, strings
 * as UTF-8 with only the required escapes), and content_hash is the
 * SHA-256 of exactly that, written out here by hand; output that is not
 * JSON, or not one value, or not UTF-8, is a tool_error deny. */
Test(rev31_streams, a_plain_tools_output_is_hashed_in_canonical_form)
{
    static const struct {
        const char *text, *canon;
    } rows[] = {
        {" 42 ", "42"},
        {"1.0E2", "100"},
        {"-0.0", "0"},
        {"\"\\u00e9\\u2028\\u001f/\"", "\"\xc3\xa9\xe2\x80\xa8\\u001f/\""},
        {"[1, {\"b\": 1, \"a\": [true, null]}]", "[1,{\"a\":[true,null],\"b\":1}]"},
        {"{\"\\ufb00\":1,\"\\ud83d\\ude00\":2,\"z\":0.000001}",
         "{\"z\":0.000001,\"\xf0\x9f\x98\x80\":2,\"\xef\xac\x80\":1}"},
        {"null", "null"},
    };
    static const char *const bad[] = {"{", "1 2", "", "\"\xff\"", "{\"a\":1,}"};
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        chio_response r;

        setup_text();
        g_text = rows[i].text;
        g_text_len = strlen(rows[i].text);
        rs_call("srv-out", &r);
        cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s: verdict %d", rows[i].text, r.verdict);
        cr_expect_str_eq(r.output, rows[i].canon);
        rs_expect_hash_binds_output(&r);
        expect_receipt_verifies(&r, "allow");
        chio_response_destroy(&r);
        chio_kernel_free(rs_k);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        chio_response r;

        setup_text();
        g_text = bad[i];
        g_text_len = strlen(bad[i]);
        rs_call("srv-out", &r);
        cr_expect_eq(r.verdict, CHIO_VERDICT_DENY, "%s: verdict %d", bad[i], r.verdict);
        cr_expect_eq(r.code, CHIO_CODE_TOOL_ERROR);
        cr_expect_null(r.output);
        expect_receipt_verifies(&r, "deny");
        chio_response_destroy(&r);
        chio_kernel_free(rs_k);
    }
}

/* A chunk of zero bytes, one with a NUL inside its length, one that is
 * not UTF-8, or whitespace only, is a bad chunk: the call is a tool_error
 * deny with its one receipt, whatever good chunk follows. */
Test(rev31_streams, empty_nul_and_non_utf8_chunks_are_bad_chunks)
{
    static const struct {
        const char *text;
        size_t len;
    } rows[] = {{"", 0}, {"1\0", 2}, {"\"\xff\"", 3}, {"  ", 2}, {"\"a\0b\"", 5}};
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        chio_response r;

        setup_text();
        g_text = rows[i].text;
        g_text_len = rows[i].len;
        rs_call("srv-chunk", &r);
        cr_expect_neq(rs_plan.rcs[0], 0, "row %zu accepted", i);
        cr_expect_eq(r.verdict, CHIO_VERDICT_DENY, "row %zu: verdict %d", i, r.verdict);
        cr_expect_eq(r.code, CHIO_CODE_TOOL_ERROR);
        cr_expect_null(r.output);
        expect_receipt_verifies(&r, "deny");
        chio_response_destroy(&r);
        chio_kernel_free(rs_k);
    }
}

/* ---- cancellation against a stream's limits ------------------------------------------------ */

static int g_cancel; /* the host's cancel flag */

/* A streamed tool past the byte limit: the host cancels while it runs,
 * then the tool fails. */
static int cancelled_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                          size_t len, chio_output *out)
{
    (void)user;
    (void)tool;
    (void)args;
    (void)len;
    rs_plan.rcs[0] = chio_tool_ctx_emit_chunk(ctx, "\"abc\"", 5);
    rs_plan.rcs[1] = chio_tool_ctx_emit_chunk(ctx, "\"def\"", 5);
    __atomic_store_n(&g_cancel, 1, __ATOMIC_SEQ_CST);
    chio_output_set_error(out, "stopped");
    return -1;
}

/* A call whose stream hit its byte limit and that the host then cancelled
 * (the tool returning after the cancel, with an error) is one `cancelled`
 * receipt: no output, content_hash of `null`, reason "cancelled by the
 * host"; it verifies. */
Test(rev31_streams, a_stream_cancelled_after_its_limit_is_one_cancelled_receipt)
{
    static const rs_tool extra[] = {{"srv-cancel", 1, cancelled_tool}, {NULL, 0, NULL}};
    chio_call_options o;
    chio_response r;
    chio_call c;
    chio_error err;
    const chio_json *h;
    char want[65];
    size_t n = 0;

    rs_setup(NULL, 6, 0, extra);
    g_cancel = 0;
    memset(&o, 0, sizeof(o));
    o.cancel = &g_cancel;
    memset(&c, 0, sizeof(c));
    c.session_id = rs_sid;
    c.capability_id = "cap-f";
    c.server_id = "srv-cancel";
    c.tool_name = "t";
    c.arguments_json = "{}";
    c.arguments_len = 2;
    chio_error_init(&err);
    memset(&r, 0, sizeof(r));
    cr_assert_eq(chio_kernel_evaluate_ex(rs_k, &c, &o, &r, &err), 0, "%s", err.message);
    cr_expect_eq(rs_plan.rcs[0], 0);
    cr_expect_eq(rs_plan.rcs[1], CHIO_ESTREAM_LIMIT);
    cr_expect_eq(r.verdict, CHIO_VERDICT_CANCELLED, "verdict %d", r.verdict);
    cr_expect_eq(r.code, CHIO_CODE_CANCELLED);
    cr_expect_null(r.output);
    cr_expect_str_eq(r.reason, "cancelled by the host");
    cr_assert_not_null(r.receipt);
    h = chio_json_get(chio_receipt_root(r.receipt), "content_hash");
    cr_assert_eq(chio_sha256_hex("null", 4, want), 0);
    cr_expect_str_eq(chio_json_string(h, &n), want);
    expect_receipt_verifies(&r, "cancelled");
    chio_response_destroy(&r);
    chio_kernel_free(rs_k);
}

/* ---- one receipt per call ------------------------------------------------------------------ */

/* Every outcome of checks 10 to 12 (allow, incomplete at the byte limit,
 * tool_error from a failing tool, from a bad chunk and from a result that
 * failed to set, cancelled) leaves exactly one receipt in a real store,
 * with sequence numbers contiguous and every receipt verifying. */
Test(rev31_streams, every_outcome_of_checks_10_to_12_leaves_one_stored_receipt)
{
    static const rs_tool extra[] = {{"srv-err", 0, failing_tool},
                                    {"srv-badset", 1, bad_result_tool},
                                    {"srv-chunk", 1, chunk_tool},
                                    {"srv-cancel", 1, cancelled_tool},
                                    {NULL, 0, NULL}};
    static const char *const ok_chunks[] = {"\"ab\"", NULL};
    static const char *const big_chunks[] = {"\"abc\"", "\"def\"", NULL};
    char *dir = testutil_tmpdir();
    chio_call_options o;
    chio_response r;
    chio_call c;
    chio_error err;
    kt_log_report rep;

    rs_setup(dir, 6, 0, extra);
    rs_plan.chunks = ok_chunks;
    rs_call("srv-stream", &r);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW);
    chio_response_destroy(&r);
    rs_plan.chunks = big_chunks;
    rs_call("srv-stream", &r);
    cr_expect_eq(r.verdict, CHIO_VERDICT_INCOMPLETE);
    chio_response_destroy(&r);
    g_text = "broken";
    rs_call("srv-err", &r);
    cr_expect_eq(r.code, CHIO_CODE_TOOL_ERROR);
    chio_response_destroy(&r);
    g_text = "{bad";
    g_text_len = 4;
    rs_call("srv-chunk", &r);
    cr_expect_eq(r.code, CHIO_CODE_TOOL_ERROR);
    chio_response_destroy(&r);
    rs_call("srv-badset", &r);
    cr_expect_eq(r.code, CHIO_CODE_TOOL_ERROR);
    chio_response_destroy(&r);
    g_cancel = 0;
    memset(&o, 0, sizeof(o));
    o.cancel = &g_cancel;
    memset(&c, 0, sizeof(c));
    c.session_id = rs_sid;
    c.capability_id = "cap-f";
    c.server_id = "srv-cancel";
    c.tool_name = "t";
    c.arguments_json = "{}";
    c.arguments_len = 2;
    chio_error_init(&err);
    memset(&r, 0, sizeof(r));
    cr_assert_eq(chio_kernel_evaluate_ex(rs_k, &c, &o, &r, &err), 0, "%s", err.message);
    cr_expect_eq(r.verdict, CHIO_VERDICT_CANCELLED);
    chio_response_destroy(&r);
    cr_assert_eq(chio_kernel_drain(rs_k, &err), 0, "%s", err.message);
    chio_kernel_free(rs_k);
    rep = kt_check_log(dir, CHIO_DEFAULT_CHECKPOINT_BATCH_SIZE);
    cr_expect_eq(rep.receipts, 6, "%llu receipts", (unsigned long long)rep.receipts);
    testutil_rmrf(dir);
    free(dir);
}

/* What the byte limit counts: the chunks' canonical bytes (chio's payload
 * bytes), not the output array's brackets and commas. Four one-byte
 * chunks fit a limit of 4 (the output is 9 bytes, which the receipt
 * binds); a fifth is refused. So the output holds at most twice the limit
 * plus two bytes (docs/security.md). */
Test(rev31_streams, the_byte_limit_counts_chunks_not_the_arrays_commas)
{
    static const char *const chunks[] = {"1", "2", "3", "4", "5", NULL};
    chio_response r;
    int j;

    rs_setup(NULL, 4, 0, NULL);
    rs_plan.chunks = chunks;
    rs_call("srv-stream", &r);
    for (j = 0; j < 5; j++)
        cr_expect_eq(rs_plan.rcs[j], j < 4 ? 0 : CHIO_ESTREAM_LIMIT, "chunk %d: rc %d", j,
                     rs_plan.rcs[j]);
    cr_expect_eq(r.verdict, CHIO_VERDICT_INCOMPLETE);
    cr_expect_str_eq(r.output, "[1,2,3,4]");
    rs_expect_hash_binds_output(&r);
    chio_response_destroy(&r);
    chio_kernel_free(rs_k);
}
