/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev47_api.c - review 47 of the kernel's public API,
 * lifecycle and error paths. Suite rev47_api:
 * - nested children of calls with long request ids: a child receipt's
 *   request id cut the call's id at 150 bytes, so the first children of
 *   two calls whose ids differed only after byte 150 had one request id;
 *   now a long id stands in a child's id as its first 64 bytes and the
 *   SHA-256 of the whole id (both places that name a child: an answered
 *   request and one refused unparsed);
 * - a revocation that ran out of memory after its store write was counted
 *   against CHIO_MAX_REVOCATIONS, and its retry counted it again: a list
 *   short of the bound refused a new id with CHIO_ELIMIT;
 * - chio_output_set_error() after a failed chio_output_set_json()
 *   replaced the failure's text, so the receipt's reason named only what
 *   the tool said (or, cleared, nothing), not the answer the kernel
 *   refused; now the failure's text stays first.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/failalloc.h"
#include "kernel/kernelutil.h"
#include "kernel_internal.h"

TestSuite(rev47_api);

static uint64_t clock_now = 1710000000;

/* A kernel on an ephemeral store with clock_now, errors logged only,
 * taking at most @arg_cap bytes of arguments (0: the default). */
static chio_kernel *kernel(uint64_t arg_cap)
{
    chio_kernel_config cfg;

    kt_config(&cfg, NULL);
    cfg.clock = kt_clock_at;
    cfg.clock_ctx = &clock_now;
    cfg.log_level = CHIO_LOG_ERROR;
    if (arg_cap != 0)
        cfg.max_argument_bytes = arg_cap;
    return kt_kernel(&cfg);
}

/* ---- nested child ids --------------------------------------------------------------------- */

/* Two nested requests: one answered (sampling is off: a deny child
 * receipt), one over max_argument_bytes (refused unparsed). */
static int two_nested(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                      size_t len, chio_output *out)
{
    static const char big[] = "{\"messages\":[\"0123456789012345678901234567890123456789\"]}";
    char *reply = NULL;

    (void)user;
    (void)tool;
    cr_expect_eq(chio_tool_ctx_sample(ctx, "{\"messages\":[]}", 15, 0, &reply, NULL, NULL),
                 CHIO_EDENIED);
    free(reply);
    cr_expect_eq(chio_tool_ctx_sample(ctx, big, sizeof(big) - 1, 0, &reply, NULL, NULL),
                 CHIO_EDENIED);
    free(reply);
    return chio_output_set_json(out, args, len);
}

static const char *meta(const chio_receipt *r, const char *key)
{
    const chio_json *ctx =
        chio_json_get(chio_json_get(chio_receipt_root(r), "metadata"), "receipt_context");
    const char *s = chio_json_string(chio_json_get(ctx, key), NULL);

    cr_assert_not_null(s, "metadata.receipt_context.%s missing", key);
    return s;
}

/* One call of srv/t with request id @rid; its two children into @r. */
static void call_with_id(chio_kernel *k, const char *sid, const char *rid, chio_response *r)
{
    chio_call c;
    chio_error err;

    kt_grant_call(&c, sid, "cap-n", "{}", 2);
    c.request_id = rid;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_evaluate(k, &c, r, &err), 0, "%s", err.message);
    cr_assert_eq(r->verdict, CHIO_VERDICT_ALLOW, "%s", r->reason);
    cr_assert_eq(r->nchildren, 2);
    cr_assert_str_eq(meta(r->children[0], "parent_request_id"), rid);
    cr_assert_str_eq(meta(r->children[1], "parent_request_id"), rid);
}

Test(rev47_api, children_of_long_request_ids_never_share_an_id)
{
    chio_kernel *k = kernel(48);
    char sid[CHIO_SESSION_ID_LEN + 1], a[200], b[200], want[300], hash[65];
    chio_response ra, rb, rs;
    size_t i, j;

    kt_serve_t(k, "srv", 0, two_nested);
    kt_grant_session(k, clock_now, "cap-n", "", sid);
    /* 160 bytes, alike but for byte 158 */
    memset(a, 'r', 160);
    a[160] = '\0';
    memcpy(b, a, sizeof(a));
    a[158] = 'x';
    b[158] = 'y';
    call_with_id(k, sid, a, &ra);
    call_with_id(k, sid, b, &rb);
    for (i = 0; i < 2; i++)
        for (j = 0; j < 2; j++)
            cr_expect_str_neq(meta(ra.children[i], "request_id"),
                              meta(rb.children[j], "request_id"),
                              "child %zu of one call and child %zu of the other share an id", i, j);
    /* the form: the first 64 bytes, "~sha256:", the hash of the whole id */
    cr_assert_eq(chio_sha256_hex(a, strlen(a), hash), 0);
    for (i = 0; i < 2; i++) {
        snprintf(want, sizeof(want), "%.64s~sha256:%s/nested-%zu", a, hash, i + 1);
        cr_expect_str_eq(meta(ra.children[i], "request_id"), want);
    }
    /* a short id is kept whole, as before */
    call_with_id(k, sid, "short-1", &rs);
    cr_expect_str_eq(meta(rs.children[0], "request_id"), "short-1/nested-1");
    cr_expect_str_eq(meta(rs.children[1], "request_id"), "short-1/nested-2");
    chio_response_destroy(&ra);
    chio_response_destroy(&rb);
    chio_response_destroy(&rs);
    chio_kernel_free(k);
}

/* A long id cut inside a character: the child's id stays UTF-8 (its
 * receipt is signed and reads back) and names the whole id's hash. */
Test(rev47_api, a_long_request_id_cut_inside_a_character)
{
    chio_kernel *k = kernel(48);
    char sid[CHIO_SESSION_ID_LEN + 1], rid[220];
    chio_response r;
    chio_receipt *back = NULL;
    const char *js;
    size_t len;

    kt_serve_t(k, "srv", 0, two_nested);
    kt_grant_session(k, clock_now, "cap-n", "", sid);
    memset(rid, 'q', 63);
    rid[63] = '\0';
    for (int i = 0; i < 50; i++) /* 163 bytes */
        strcat(rid, "\xc3\xa9"); /* é straddles byte 64 */
    call_with_id(k, sid, rid, &r);
    js = chio_receipt_json(r.children[0], &len);
    cr_expect_eq(chio_receipt_parse(js, len, &back, NULL), 0);
    chio_receipt_free(back);
    cr_expect(strstr(meta(r.children[0], "request_id"), "~sha256:") != NULL, "%s",
              meta(r.children[0], "request_id"));
    chio_response_destroy(&r);
    chio_kernel_free(k);
}

/* ---- the revocation count after an allocation failure -------------------------------------- */

Test(rev47_api, a_revocation_short_of_memory_is_counted_once)
{
    chio_kernel *k = kernel(0);
    uint64_t nth, listed = 1, failed = 0;
    char id[32];

    cr_assert(fa_active(), "the allocation injector is not linked in");
    cr_assert_eq(chio_kernel_start(k, NULL), 0);
    cr_assert_eq(chio_kernel_revoke_capability(k, "cap-warm", NULL), 0);
    /* The Nth allocation of a revocation fails, for N = 1, 2, ... until one
     * succeeds with none failing; each failed one is retried. */
    for (nth = 1; nth < 64; nth++) {
        int rc;

        snprintf(id, sizeof(id), "cap-%llu", (unsigned long long)nth);
        fa_arm(nth, FA_THIS_THREAD, FA_ONLY_NTH);
        rc = chio_kernel_revoke_capability(k, id, NULL);
        fa_disarm();
        if (rc != 0) {
            cr_assert_eq(rc, CHIO_ENOMEM, "%s", chio_errno_name(rc));
            failed++;
            cr_assert_eq(chio_kernel_revoke_capability(k, id, NULL), 0, "retry of %s", id);
        }
        cr_assert_eq(chio_kernel_is_revoked(k, id), 1);
        listed++;
        if (rc == 0 && fa_failures() == 0)
            break;
    }
    cr_assert_gt(failed, 0, "no allocation of a revocation failed");
    /* Room for exactly one more id: the list holds @listed. */
    chio__kernel_set_max_revocations(k, listed + 1);
    cr_expect_eq(chio_kernel_revoke_capability(k, "cap-one-more", NULL), 0,
                 "the list holds %llu ids, its bound is %llu, yet a new id is refused",
                 (unsigned long long)listed, (unsigned long long)(listed + 1));
    cr_expect_eq(chio_kernel_revoke_capability(k, "cap-two-more", NULL), CHIO_ELIMIT);
    chio_kernel_free(k);
}

/* ---- chio_output_set_error after a failed set ----------------------------------------------- */

static const char *error_after; /* what the tool says after its failed set */
static int clear_after;         /* or it clears the error */

static int bad_then_error(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                          size_t len, chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    (void)args;
    (void)len;
    cr_expect_neq(chio_output_set_json(out, "{\"a\":", 5), 0);
    if (clear_after)
        chio_output_set_error(out, NULL);
    else if (error_after != NULL) {
        chio_output_set_error(out, "an older message");
        chio_output_set_error(out, error_after);
    }
    return 0; /* "success": the failed set decides */
}

static int says_boom(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                     chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    (void)args;
    (void)len;
    chio_output_set_error(out, "first");
    chio_output_set_error(out, "boom");
    return 1;
}

/* One call of srv/t on a fresh kernel whose tool is @fn: its reason. */
static void reason_of(kt_tool_fn fn, char *reason, size_t cap)
{
    chio_kernel *k = kernel(0);
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_call c;
    chio_response r;
    chio_error err;

    kt_serve_t(k, "srv", 0, fn);
    kt_grant_session(k, clock_now, "cap-o", "", sid);
    kt_grant_call(&c, sid, "cap-o", "{}", 2);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    cr_assert_eq(r.verdict, CHIO_VERDICT_DENY);
    cr_assert_eq(r.code, CHIO_CODE_TOOL_ERROR);
    cr_assert_not_null(r.receipt);
    snprintf(reason, cap, "%s", r.reason);
    chio_response_destroy(&r);
    chio_kernel_free(k);
}

Test(rev47_api, set_error_after_a_failed_set_keeps_the_failure)
{
    char reason[512];

    error_after = "upstream said all is well";
    clear_after = 0;
    reason_of(bad_then_error, reason, sizeof(reason));
    cr_expect(strstr(reason, "result is not valid JSON") != NULL, "%s", reason);
    cr_expect(strstr(reason, "upstream said all is well") != NULL, "%s", reason);
    /* a later message replaces an earlier one, after the failure's text */
    cr_expect(strstr(reason, "an older message") == NULL, "%s", reason);
    error_after = NULL;
    clear_after = 1;
    reason_of(bad_then_error, reason, sizeof(reason));
    cr_expect(strstr(reason, "result is not valid JSON") != NULL, "cleared: %s", reason);
    /* without a failed set, set_error sets (and replaces) the text */
    reason_of(says_boom, reason, sizeof(reason));
    cr_expect_str_eq(reason, "tool 't' failed: boom");
}
