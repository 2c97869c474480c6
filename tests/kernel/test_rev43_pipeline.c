/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev43_pipeline.c - review 43 of the kernel pipeline,
 * sessions and lifecycle (spec/kernel.md "Lifecycle", "Sessions", "The
 * pipeline, in order"):
 *   - which error without a receipt answers when several hold:
 *     docs/spec-reading.md has the kernel-wide ones first
 *     (kernel_drained, web3_evidence_required), then the session's, and
 *     invalid arguments after all of these ("a call to a session that does
 *     not take calls hears that, whatever its arguments"). A NULL or
 *     non-UTF-8 capability id, request id, server id or tool name (kernel.md
 *     lists invalid UTF-8 among the invalid arguments), and a prompt name or
 *     resource URI, were refused before the kernel and the session were
 *     looked at: a drained kernel, an unmet require_web3_evidence or a
 *     closed session answered invalid_arguments.
 * Real kernel, real Ed25519, an in-memory log.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NOW 1710000300u

static uint64_t fixed_clock(void *ctx)
{
    (void)ctx;
    return NOW;
}

/* A kernel serving srv/t (echo) with one session holding cap-1; its id
 * into @sid. @web3: require_web3_evidence with no durable store. */
static chio_kernel *kernel_with_session(int web3, char sid[CHIO_SESSION_ID_LEN + 1])
{
    static const char *const tools[] = {"t"};
    chio_kernel_config cfg;
    chio_kernel *k;

    kt_config(&cfg, NULL);
    cfg.clock = fixed_clock;
    cfg.require_web3_evidence = web3;
    k = kt_kernel(&cfg);
    kt_serve_echo(k, "srv", tools, 1);
    kt_grant_session(k, NOW, "cap-1", "", sid);
    return k;
}

/* The variants of one call whose ids are invalid arguments. */
enum bad { BAD_CAP_NULL, BAD_CAP_UTF8, BAD_REQ_UTF8, BAD_SERVER_UTF8, BAD_TOOL_UTF8, NBAD };

static int call_with(chio_kernel *k, const char *sid, enum bad b)
{
    chio_response r;
    chio_call c;
    int rc;

    kt_grant_call(&c, sid, "cap-1", "{}", 2);
    c.server_id = "srv";
    c.tool_name = "t";
    if (b == BAD_CAP_NULL)
        c.capability_id = NULL;
    else if (b == BAD_CAP_UTF8)
        c.capability_id = "cap-\xff";
    else if (b == BAD_REQ_UTF8)
        c.request_id = "req-\xc3";
    else if (b == BAD_SERVER_UTF8)
        c.server_id = "srv\xfe";
    else
        c.tool_name = "t\x80";
    rc = chio_kernel_evaluate(k, &c, &r, NULL);
    cr_expect_null(r.receipt, "an error has no receipt (variant %d)", (int)b);
    chio_response_destroy(&r);
    return rc;
}

static int read_with(chio_kernel *k, const char *sid, const char *uri)
{
    chio_response r;
    int rc = chio_kernel_read_resource(k, sid, NULL, "cap-1", uri, &r, NULL);

    chio_response_destroy(&r);
    return rc;
}

static int prompt_with(chio_kernel *k, const char *sid, const char *name, size_t args_len)
{
    chio_response r;
    int rc = chio_kernel_get_prompt(k, sid, NULL, "cap-1", name, NULL, args_len, &r, NULL);

    chio_response_destroy(&r);
    return rc;
}

/* The kernel-wide and session errors answer whatever the ids are: before
 * review 43 each of these calls answered CHIO_EINVAL (invalid_arguments). */
Test(rev43_pipeline, a_kernel_or_session_that_does_not_serve_answers_before_invalid_ids)
{
    char sid[CHIO_SESSION_ID_LEN + 1], closed[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k;
    int b;

    /* a closed session, an unknown one, a draining one */
    k = kernel_with_session(0, sid);
    kt_grant_session(k, NOW, "cap-1", "", closed);
    cr_assert_eq(chio_kernel_close_session(k, closed, NULL), 0);
    for (b = 0; b < NBAD; b++) {
        cr_expect_eq(call_with(k, closed, (enum bad)b), CHIO_ESESSION_CLOSED, "variant %d", b);
        cr_expect_eq(call_with(k, "sess-unknown", (enum bad)b), CHIO_ENOSESSION, "variant %d", b);
        /* a session that serves: the ids are the error */
        cr_expect_eq(call_with(k, sid, (enum bad)b), CHIO_EINVAL, "variant %d", b);
    }
    cr_expect_eq(read_with(k, closed, NULL), CHIO_ESESSION_CLOSED);
    cr_expect_eq(read_with(k, closed, "file:///\xff"), CHIO_ESESSION_CLOSED);
    cr_expect_eq(prompt_with(k, closed, "p\xff", 0), CHIO_ESESSION_CLOSED);
    cr_expect_eq(prompt_with(k, closed, "p", 5), CHIO_ESESSION_CLOSED);
    cr_expect_eq(read_with(k, sid, NULL), CHIO_EINVAL);
    cr_expect_eq(prompt_with(k, sid, "p", 5), CHIO_EINVAL);
    cr_assert_eq(chio_kernel_begin_draining_session(k, sid, NULL), 0);
    for (b = 0; b < NBAD; b++)
        cr_expect_eq(call_with(k, sid, (enum bad)b), CHIO_ESESSION_DRAINING, "variant %d", b);
    /* a drained kernel */
    cr_assert_eq(chio_kernel_drain(k, NULL), 0);
    for (b = 0; b < NBAD; b++)
        cr_expect_eq(call_with(k, sid, (enum bad)b), CHIO_EDRAINED, "variant %d", b);
    cr_expect_eq(read_with(k, sid, "file:///\xff"), CHIO_EDRAINED);
    cr_expect_eq(prompt_with(k, sid, NULL, 0), CHIO_EDRAINED);
    chio_kernel_free(k);

    /* require_web3_evidence unmet: every call, whatever its ids */
    k = kernel_with_session(1, sid);
    for (b = 0; b < NBAD; b++)
        cr_expect_eq(call_with(k, sid, (enum bad)b), CHIO_EWEB3, "variant %d", b);
    cr_expect_eq(read_with(k, sid, NULL), CHIO_EWEB3);
    cr_expect_eq(prompt_with(k, sid, "p", 5), CHIO_EWEB3);
    chio_kernel_free(k);
}
