/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_redaction.c - receipts do not leak the secrets they
 * block. A value (or object key) a built-in secret_leak guard flags is
 * replaced in the stored parameters by a marker; parameter_hash covers what
 * is stored, so the receipt verifies as it is; the original arguments' hash
 * is bound in metadata.redaction; the secret is nowhere in the log, nor in
 * what `chio receipt list` prints. Child receipts of nested requests are
 * redacted too. Real kernel, RocksDB store, Ed25519, CLI.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define IAT    1710000000u
#define NOW    1710000300u
#define SECRET "AKIAABCDEFGHIJKLMNOP"
#define GUARD  "SecretGuard"

static char *dir;

static uint64_t rd_clock(void *ctx)
{
    (void)ctx;
    return NOW;
}

static void setup(void)
{
    dir = testutil_tmpdir();
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
}

TestSuite(redaction, .init = setup, .fini = teardown);

/* Asks the agent's model for a completion that quotes a secret. */
static int sampler(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                   chio_output *out)
{
    static const char req[] = "{\"messages\":[{\"content\":\"my key is " SECRET "\"}]}";
    char *reply = NULL;
    size_t rlen;

    (void)user;
    (void)tool;
    chio_tool_ctx_sample(ctx, req, sizeof(req) - 1, 0, &reply, &rlen, NULL);
    chio_free(reply);
    return chio_output_set_json(out, args, len);
}

static int host_answer(void *user, chio_nested_kind kind, const char *session_id, const char *req,
                       size_t len, chio_output *reply)
{
    (void)user;
    (void)kind;
    (void)session_id;
    (void)req;
    (void)len;
    return chio_output_set_json(reply, "\"ok\"", 4);
}

static chio_kernel *rd_kernel(const char *path)
{
    static const char *const tools[] = {"read", "sample"};
    static const char *const patterns[] = {"AKIA[0-9A-Z]{16}"};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_kernel *k;
    chio_error err;

    kt_config(&cfg, path);
    cfg.clock = rd_clock;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    cfg.allow_sampling = 1;
    k = kt_kernel(&cfg);
    chio_error_init(&err);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = kt_echo_tool;
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0, "%s", err.message);
    ts.server_id = "srv-nest";
    ts.tool_names = tools + 1;
    ts.invoke = sampler;
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_set_nested_handler(k, host_answer, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_add_secret_leak_guard(k, GUARD, patterns, 1, &err), 0, "%s",
                 err.message);
    return k;
}

static void rd_open(chio_kernel *k, char sid[CHIO_SESSION_ID_LEN + 1], char **tok)
{
    const char *toks[1];
    chio_error err;

    *tok = tk_token(TK_KERNEL_SEED, "cap-1", TK_AGENT_PUB,
                    "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\",\"operations\":"
                    "[\"invoke\"]},{\"server_id\":\"srv-nest\",\"tool_name\":\"sample\","
                    "\"operations\":[\"invoke\"]}]}",
                    IAT, 1000, NULL, 0);
    cr_assert_not_null(*tok);
    toks[0] = *tok;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, toks, NULL, 1, sid, &err), 0, "%s",
                 err.message);
}

static void rd_call(chio_kernel *k, const char *sid, const char *server, const char *tool,
                    const char *args, chio_response *r)
{
    chio_call c;
    chio_error err;

    memset(&c, 0, sizeof(c));
    c.session_id = sid;
    c.capability_id = "cap-1";
    c.server_id = server;
    c.tool_name = tool;
    c.request_id = "req-1";
    c.arguments_json = args;
    c.arguments_len = strlen(args);
    chio_error_init(&err);
    chio_response_init(r);
    cr_assert_eq(chio_kernel_evaluate(k, &c, r, &err), 0, "%s", err.message);
}

/* The receipt verifies as stored (parameter_hash too) and does not hold the
 * secret anywhere. */
static void expect_clean(const chio_receipt *rec)
{
    chio_receipt_report rep;
    uint8_t pub[32];
    size_t len;
    const char *text = chio_receipt_json(rec, &len);

    cr_assert_eq(chio_pubkey_from_hex(TEST_PUB, 64, pub), 0);
    cr_assert_eq(chio_receipt_verify(rec, pub, 1, &rep), 0);
    cr_expect(rep.ok && rep.parameter_hash_valid, "a redacted receipt does not verify");
    cr_expect_null(strstr(text, SECRET), "the receipt stores the secret: %s", text);
}

/* metadata.redaction of @rec, with the original hash of @orig_args. */
static const chio_json *expect_redaction(const chio_receipt *rec, const char *orig_args,
                                         uint64_t count)
{
    const chio_json *root = chio_receipt_root(rec), *red;
    char *canon, want[65];
    size_t clen;
    uint64_t n = 0;

    cr_expect_str_eq(chio_json_string(chio_json_get(root, "redaction_mode"), NULL), "redacted");
    red = chio_json_get(chio_json_get(root, "metadata"), "redaction");
    cr_assert_not_null(red, "no metadata.redaction");
    cr_assert_eq(chio_json_canonicalize(orig_args, strlen(orig_args), &canon, &clen, NULL), 0);
    cr_assert_eq(chio_sha256_hex(canon, clen, want), 0);
    chio_free(canon);
    cr_expect_str_eq(chio_json_string(chio_json_get(red, "original_parameter_hash"), NULL), want);
    cr_expect_str_eq(chio_json_string(chio_json_get(red, "guard"), NULL), GUARD);
    cr_expect_eq(chio_json_get_uint64(chio_json_get(red, "redacted_values"), &n), 0);
    cr_expect_eq(n, count);
    return chio_json_get(chio_json_get(root, "action"), "parameters");
}

Test(redaction, a_blocked_secret_is_redacted_in_the_receipt)
{
    static const char args[] = "{\"note\":\"key " SECRET " here\",\"path\":\"/x\"}";
    char sid[CHIO_SESSION_ID_LEN + 1], *tok;
    chio_kernel *k = rd_kernel(NULL);
    const chio_json *params;
    chio_response r;

    rd_open(k, sid, &tok);
    rd_call(k, sid, "srv", "read", args, &r);
    cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED, "%s", chio_code_name(r.code));
    expect_clean(r.receipt);
    params = expect_redaction(r.receipt, args, 1);
    cr_expect_str_eq(chio_json_string(chio_json_get(params, "note"), NULL),
                     "[REDACTED:secret_leak]");
    cr_expect_str_eq(chio_json_string(chio_json_get(params, "path"), NULL), "/x");
    chio_response_destroy(&r);
    free(tok);
    chio_kernel_free(k);
}

Test(redaction, a_secret_in_an_object_key_is_redacted)
{
    static const char args[] = "{\"" SECRET "\":1,\"ok\":[\"" SECRET "\"]}";
    char sid[CHIO_SESSION_ID_LEN + 1], *tok;
    chio_kernel *k = rd_kernel(NULL);
    const chio_json *params;
    chio_response r;

    rd_open(k, sid, &tok);
    rd_call(k, sid, "srv", "read", args, &r);
    cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED);
    expect_clean(r.receipt);
    params = expect_redaction(r.receipt, args, 2);
    cr_expect_not_null(chio_json_get(params, "[REDACTED:secret_leak:1]"));
    cr_expect_str_eq(chio_json_string(chio_json_at(chio_json_get(params, "ok"), 0), NULL),
                     "[REDACTED:secret_leak]");
    chio_response_destroy(&r);
    free(tok);
    chio_kernel_free(k);
}

Test(redaction, a_secret_split_by_zero_width_characters_is_caught_and_redacted)
{
    /* U+200B inside the key id */
    static const char args[] = "{\"note\":\"AKIAABCD\xe2\x80\x8b"
                               "EFGHIJKLMNOP\"}";
    char sid[CHIO_SESSION_ID_LEN + 1], *tok;
    chio_kernel *k = rd_kernel(NULL);
    chio_response r;
    size_t len;

    rd_open(k, sid, &tok);
    rd_call(k, sid, "srv", "read", args, &r);
    cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED, "%s", chio_code_name(r.code));
    expect_redaction(r.receipt, args, 1);
    cr_expect_null(strstr(chio_receipt_json(r.receipt, &len), "EFGHIJKLMNOP"));
    chio_response_destroy(&r);
    free(tok);
    chio_kernel_free(k);
}

Test(redaction, a_call_denied_before_the_guards_is_redacted_too)
{
    static const char args[] = "{\"note\":\"" SECRET "\"}";
    char sid[CHIO_SESSION_ID_LEN + 1], *tok;
    chio_kernel *k = rd_kernel(NULL);
    chio_response r;

    rd_open(k, sid, &tok);
    rd_call(k, sid, "srv", "write", args, &r); /* no grant for write */
    cr_expect_eq(r.code, CHIO_CODE_OUT_OF_SCOPE, "%s", chio_code_name(r.code));
    expect_clean(r.receipt);
    expect_redaction(r.receipt, args, 1);
    chio_response_destroy(&r);
    free(tok);
    chio_kernel_free(k);
}

Test(redaction, clean_calls_are_stored_verbatim)
{
    static const char args[] = "{\"note\":\"nothing to see\"}";
    char sid[CHIO_SESSION_ID_LEN + 1], *tok;
    chio_kernel *k = rd_kernel(NULL);
    const chio_json *root;
    chio_response r;

    rd_open(k, sid, &tok);
    rd_call(k, sid, "srv", "read", args, &r);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW);
    root = chio_receipt_root(r.receipt);
    cr_expect_str_eq(chio_json_string(chio_json_get(root, "redaction_mode"), NULL), "none");
    cr_expect_null(chio_json_get(chio_json_get(root, "metadata"), "redaction"));
    cr_expect_str_eq(
        chio_json_string(
            chio_json_get(chio_json_get(chio_json_get(root, "action"), "parameters"), "note"),
            NULL),
        "nothing to see");
    chio_response_destroy(&r);
    free(tok);
    chio_kernel_free(k);
}

Test(redaction, nested_requests_are_redacted_in_child_receipts)
{
    char sid[CHIO_SESSION_ID_LEN + 1], *tok;
    chio_kernel *k = rd_kernel(NULL);
    chio_response r;

    rd_open(k, sid, &tok);
    rd_call(k, sid, "srv-nest", "sample", "{}", &r);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", r.reason);
    cr_assert_eq(r.nchildren, 1);
    expect_clean(r.children[0]);
    expect_redaction(r.children[0], "{\"messages\":[{\"content\":\"my key is " SECRET "\"}]}", 1);
    chio_response_destroy(&r);
    free(tok);
    chio_kernel_free(k);
}

Test(redaction, the_secret_is_not_in_the_log_nor_in_receipt_list)
{
    static const char args[] = "{\"token\":\"" SECRET "\"}";
    char sid[CHIO_SESSION_ID_LEN + 1], *tok, path[512];
    chio_kernel *k;
    chio_response r;
    chio_store *st;
    uint64_t first, last, seq;
    cli_result res;

    snprintf(path, sizeof(path), "%s/receipts", dir);
    k = rd_kernel(path);
    rd_open(k, sid, &tok);
    rd_call(k, sid, "srv", "read", args, &r);
    cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED);
    chio_response_destroy(&r);
    cr_assert_eq(chio_kernel_drain(k, NULL), 0);
    chio_kernel_free(k);

    cr_assert_eq(chio_store_open(path, CHIO_STORE_READ_ONLY, &st, NULL), 0);
    cr_assert_eq(chio_store_seq_range(st, &first, &last, NULL), 0);
    cr_assert_geq(last, 1);
    for (seq = first; seq <= last; seq++) {
        char *json;
        size_t len;
        cr_assert_eq(chio_store_get_receipt(st, seq, &json, &len, NULL), 0);
        cr_expect_null(memmem(json, len, SECRET, strlen(SECRET)), "seq %llu stores the secret",
                       (unsigned long long)seq);
        chio_free(json);
    }
    chio_store_close(st);
    {
        const char *argv[] = {"receipt", "list", "--receipt-db", path, NULL};
        res = testutil_run_cli(argv, NULL, 0);
    }
    cr_expect_eq(res.status, 0, "%s", res.err);
    cr_expect_not_null(strstr(res.out, "REDACTED"), "%s", res.out);
    cr_expect_null(strstr(res.out, SECRET), "receipt list prints the secret");
    testutil_cli_free(&res);
    free(tok);
}
