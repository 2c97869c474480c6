/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/race_scenarios.c - see race_scenarios.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/poll.h"
#include "kernel/race_scenarios.h"
#include "kernel/scenarios.h"
#include "kernel/tokens.h"

#define NOW 1710000300u
#define ALL_SCOPE \
    "{\"grants\":[{\"server_id\":\"*\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}]}"
/* Longest wait for a callback: a hang fails the scenario instead. */
#define WAIT_MS 10000

static int fail(char *msg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(char *msg, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, SC_MSG, fmt, ap);
    va_end(ap);
    return -1;
}

static uint64_t fixed_clock(void *ctx)
{
    (void)ctx;
    return NOW;
}

static int verifies(const chio_receipt *r)
{
    uint8_t pub[32];
    chio_receipt_report rep;

    chio_pubkey_from_hex(SC_PUB, 64, pub);
    return r != NULL && chio_receipt_verify(r, pub, 1, &rep) == 0 && rep.ok;
}

static int flag_set(void *p)
{
    return __atomic_load_n((int *)p, __ATOMIC_ACQUIRE) != 0;
}

/* ---- one evaluation submitted from a sign callback ---------------------------------- */

/* Shared by the callbacks, the tool and the nested handler of a scenario.
 * The kernel's completion thread writes it; the scenario reads it after
 * `done` (release/acquire). */
typedef struct cb_eval {
    chio_kernel *k;
    char sid[CHIO_SESSION_ID_LEN + 1];
    int submit_rc;        /* chio_kernel_evaluate_async() from the callback */
    int eval_rc;          /* the evaluation's callback */
    chio_verdict verdict; /* the call's */
    int receipt_ok;       /* its receipt verifies */
    size_t nchildren;     /* child receipts */
    chio_verdict child;   /* the first child's verdict */
    int child_ok;         /* it verifies */
    int sample_rc;        /* chio_tool_ctx_sample() in the tool */
    int host_calls;       /* the nested handler */
    int tool_runs, tool_signs_ok, tool_signs_refused, tool_sign_bad, tool_sign_cbs;
    int done; /* atomic: nothing more will be written */
} cb_eval;

static void eval_done(void *ctx, int rc, chio_response *resp, const chio_error *err)
{
    cb_eval *e = ctx;

    (void)err;
    e->eval_rc = rc;
    if (rc == 0) {
        e->verdict = resp->verdict;
        e->receipt_ok = verifies(resp->receipt);
        e->nchildren = resp->nchildren;
        if (resp->nchildren > 0) {
            e->child = chio_receipt_verdict(resp->children[0]);
            e->child_ok = verifies(resp->children[0]);
        }
    }
    __atomic_store_n(&e->done, 1, __ATOMIC_RELEASE);
}

/* The first request's callback, on the completion thread: submit the call. */
static void submit_from_callback(void *ctx, int rc, chio_receipt *receipt)
{
    cb_eval *e = ctx;
    chio_call c;
    chio_error err;

    (void)rc;
    chio_receipt_free(receipt);
    memset(&c, 0, sizeof(c));
    c.session_id = e->sid;
    c.capability_id = "cap";
    c.server_id = "srv";
    c.tool_name = "t";
    chio_error_init(&err);
    e->submit_rc = chio_kernel_evaluate_async(e->k, &c, eval_done, e, &err);
    if (e->submit_rc != 0) /* eval_done will not run */
        __atomic_store_n(&e->done, 1, __ATOMIC_RELEASE);
}

static int answer_host(void *user, chio_nested_kind kind, const char *session_id,
                       const char *request, size_t len, chio_output *reply)
{
    cb_eval *e = user;

    (void)kind;
    (void)session_id;
    (void)request;
    (void)len;
    e->host_calls++;
    return chio_output_set_json(reply, "\"sampled\"", 9);
}

static int sampling_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                         size_t len, chio_output *out)
{
    cb_eval *e = user;
    char *reply = NULL;
    size_t rlen = 0;
    chio_error err;

    (void)tool;
    (void)args;
    (void)len;
    chio_error_init(&err);
    e->tool_runs++;
    e->sample_rc = chio_tool_ctx_sample(ctx, "{\"messages\":[]}", 15, 0, &reply, &rlen, &err);
    free(reply);
    return chio_output_set_json(out, "1", 1);
}

static void tool_sign_done(void *ctx, int rc, chio_receipt *receipt)
{
    cb_eval *e = ctx;

    if (rc != 0 || !verifies(receipt))
        e->tool_sign_bad++;
    chio_receipt_free(receipt);
    e->tool_sign_cbs++;
}

/* Three asynchronous signs from inside the tool (the completion thread). */
static int signing_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                        size_t len, chio_output *out)
{
    cb_eval *e = user;
    chio_error err;
    int i, rc;

    (void)ctx;
    (void)tool;
    (void)args;
    (void)len;
    e->tool_runs++;
    for (i = 0; i < 3; i++) {
        chio_error_init(&err);
        rc = chio_kernel_sign_receipt_async(e->k, sc_builder(100 + (uint64_t)i), tool_sign_done, e,
                                            &err);
        if (rc == 0)
            e->tool_signs_ok++;
        else if (rc == CHIO_EDEADLK)
            e->tool_signs_refused++;
        else
            e->tool_sign_bad++;
    }
    return chio_output_set_json(out, "1", 1);
}

/* An ephemeral kernel serving "srv"/"t" through @invoke, a session for
 * the agent, and the sign request whose callback submits the call. */
static int run_from_callback(cb_eval *e, int allow_sampling, uint32_t ring_capacity,
                             int (*invoke)(void *, chio_tool_ctx *, const char *, const char *,
                                           size_t, chio_output *),
                             char *msg)
{
    static const char *const tools[] = {"t"};
    char *tok = tk_token(TK_KERNEL_SEED, "cap", TK_AGENT_PUB, ALL_SCOPE, NOW - 100, 1000, NULL, 0);
    const char *caps[1] = {tok};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_error err;
    int rc = 0;

    chio_error_init(&err);
    if (tok == NULL || sc_config(&cfg, NULL) != 0) {
        free(tok);
        return fail(msg, "token or config");
    }
    cfg.clock = fixed_clock;
    cfg.log_level = CHIO_LOG_ERROR;
    cfg.allow_sampling = allow_sampling;
    cfg.ring_capacity = ring_capacity;
    if (chio_kernel_new(&cfg, &e->k, &err) != 0) {
        free(tok);
        return fail(msg, "kernel_new: %s", err.message);
    }
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = invoke;
    ts.user = e;
    if (chio_kernel_register_tool_server(e->k, &ts, &err) != 0 ||
        chio_kernel_set_nested_handler(e->k, answer_host, e, &err) != 0 ||
        chio_kernel_open_session(e->k, TK_AGENT_PUB, caps, NULL, 1, e->sid, &err) != 0)
        rc = fail(msg, "setup: %s", err.message);
    if (rc == 0 &&
        chio_kernel_sign_receipt_async(e->k, sc_builder(1), submit_from_callback, e, &err) != 0)
        rc = fail(msg, "sign_receipt_async: %s", err.message);
    if (rc == 0 && !testutil_wait_until(flag_set, &e->done, WAIT_MS))
        rc = fail(msg, "the evaluation did not complete within %d ms", WAIT_MS);
    if (rc == 0 && e->submit_rc != 0)
        rc = fail(msg, "evaluate_async from the callback: %s after its tool ran %d time(s)",
                  chio_errno_name(e->submit_rc), e->tool_runs);
    if (rc == 0 && (e->eval_rc != 0 || !e->receipt_ok || e->verdict != CHIO_VERDICT_ALLOW))
        rc = fail(msg, "the evaluation ended rc %d, verdict %s, receipt verifies %d", e->eval_rc,
                  chio_verdict_name(e->verdict), e->receipt_ok);
    if (rc == 0 && e->tool_runs != 1)
        rc = fail(msg, "the tool ran %d times", e->tool_runs);
    /* After a hang the kernel is leaked: freeing it would wait forever. */
    if (rc == 0 || __atomic_load_n(&e->done, __ATOMIC_ACQUIRE))
        chio_kernel_free(e->k);
    free(tok);
    return rc;
}

int rs_nested_from_callback(const rs_nested_case *c, char *msg)
{
    cb_eval *e = calloc(1, sizeof(*e));
    int rc;

    if (e == NULL)
        return fail(msg, "out of memory");
    e->sample_rc = 1; /* not called */
    rc = run_from_callback(e, c->allow_sampling, c->ring_capacity, sampling_tool, msg);
    if (rc == 0 && (e->sample_rc != c->want_sample_rc || e->host_calls != c->want_host_calls))
        rc = fail(msg, "the tool's sampling request: %s (want %s), host asked %d time(s) (want %d)",
                  chio_errno_name(e->sample_rc), chio_errno_name(c->want_sample_rc), e->host_calls,
                  c->want_host_calls);
    if (rc == 0 && e->nchildren != c->want_children)
        rc = fail(msg, "%zu child receipts (want %zu)", e->nchildren, c->want_children);
    if (rc == 0 && e->nchildren > 0 && (e->child != c->want_child_verdict || !e->child_ok))
        rc = fail(msg, "child receipt verdict %s (want %s), verifies %d",
                  chio_verdict_name(e->child), chio_verdict_name(c->want_child_verdict),
                  e->child_ok);
    if (rc == 0 || __atomic_load_n(&e->done, __ATOMIC_ACQUIRE))
        free(e);
    return rc;
}

int rs_tool_signs_from_callback(char *msg)
{
    cb_eval *e = calloc(1, sizeof(*e));
    int rc;

    if (e == NULL)
        return fail(msg, "out of memory");
    rc = run_from_callback(e, 0, 4, signing_tool, msg);
    /* The kernel was freed (drained): every accepted sign's callback ran. */
    if (rc == 0 && (e->tool_sign_bad != 0 || e->tool_sign_cbs != e->tool_signs_ok ||
                    e->tool_signs_ok + e->tool_signs_refused != 3))
        rc = fail(msg, "the tool's signs: %d accepted, %d refused, %d callbacks, %d bad",
                  e->tool_signs_ok, e->tool_signs_refused, e->tool_sign_cbs, e->tool_sign_bad);
    if (rc == 0 || __atomic_load_n(&e->done, __ATOMIC_ACQUIRE))
        free(e);
    return rc;
}
