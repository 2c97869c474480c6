/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/evaluate.c - the pipeline of spec/kernel.md for tool calls
 * (chio_kernel_evaluate(), _ex() with cancellation and a timeout, and
 * _async()): admission (kernel, store, session, token, arguments), checks
 * 1-9, dispatch, and the receipt, signed and committed before the caller
 * hears the decision. The steps live beside it (request.h): codes.c,
 * request.c (admission, pre-checks, guards), dispatch.c (dispatch, streams,
 * the tool context), nested.c (nested sampling/elicitation), decision.c (the receipt and the
 * response); providers.c runs the same pipeline for resource reads and prompt gets.
 *
 * Everything up to the receipt runs on the caller's thread. A request holds
 * the kernel (chio__kernel_enter: drain waits for it) from admission until
 * its receipt is queued (a synchronous one: committed), so a call admitted
 * before a drain still gets its receipt. It holds its session
 * (chio__session_enter: close waits for it) as long, except that an
 * asynchronous call leaves it just before its receipt is handed on (its
 * callback may run, and close the session, before the submitter returns);
 * a reference keeps the session's tokens alive for every call using them.
 *
 * Fail closed: a guard that errors denies; a receipt that cannot be
 * committed turns the answer into an error (never an allow without a
 * receipt); an allocation failure on the decision path errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "request.h"

/* ---- tool calls ------------------------------------------------------------------------------ */

/* CHIO_CALL_DECIDE_ONLY: the allow a tool that set no result would give. */
static int decide_only_allow(mreq *r, chio_error *err)
{
    r->output = strdup("null");
    if (r->output == NULL)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    r->output_len = 4;
    r->verdict = CHIO_VERDICT_ALLOW;
    return 0;
}

/* Checks 1-10 of a tool call, after admission; @grants receives the
 * grants check 6 finds for check 8. */
static int decide_checked(mreq *r, const chio_call *call, chio__grant_list *grants, chio_error *err)
{
    chio_kernel *k = r->k;
    const chio__server_reg *srv;
    chio_code code;
    int rc;

    if (chio__pre_checks(r))
        return 0;
    r->revoke_gen = chio__revoke_gen(k);
    code = chio__check_token(k, r->sc, r->s->agent, r->now, r->reason, sizeof(r->reason));
    if (code == CHIO_CODE_NONE)
        code = chio__check_tool_scope(k, r->sc->cap, call->server_id, call->tool_name,
                                      chio_json_root(r->args_doc), r->args_len, grants, r->reason,
                                      sizeof(r->reason));
    if (code != CHIO_CODE_NONE) {
        chio__deny(r, code, NULL);
        return 0;
    }
    srv = r->decide_only ? NULL : chio__find_server(k, call->server_id);
    if (!r->decide_only && (srv == NULL || !chio__server_has_tool(srv, call->tool_name))) {
        snprintf(r->reason, sizeof(r->reason), "%s '%.100s' is not registered",
                 srv == NULL ? "tool server" : "tool",
                 srv == NULL ? call->server_id : call->tool_name);
        chio__deny(r, CHIO_CODE_TOOL_NOT_REGISTERED, NULL);
        return 0;
    }
    /* A charge is in the store before the dispatch; a store error fails
     * the kernel closed and the call is an error (as below). */
    rc = chio__check_budget(k, r->sc->cap, grants, &code, r->reason, sizeof(r->reason), err);
    if (rc != 0)
        return rc;
    if (code != CHIO_CODE_NONE) {
        chio__deny(r, code, NULL);
        return 0;
    }
    if (chio__run_guards(r, call->server_id, call->tool_name, err) != 0)
        return err ? err->code : CHIO_ENOMEM;
    if (r->verdict == CHIO_VERDICT_DENY)
        return 0;
    if (chio__is_cancelled(r)) { /* not dispatched */
        chio__cancel_decision(r);
        return 0;
    }
    /* Checks 2 and 3 again, last before the dispatch: an expiry passed, or
     * a revocation that returned, while the guards or the budget write ran
     * stops the tool. What is left is this check's race with a revoker in
     * flight: a revocation applies to the calls that reach this line after
     * it took effect. */
    code = chio__time_since_check(k, r->sc->cap, r->reason, sizeof(r->reason));
    if (code == CHIO_CODE_NONE)
        code =
            chio__revoked_since_check(k, r->sc->cap, r->revoke_gen, r->reason, sizeof(r->reason));
    if (code != CHIO_CODE_NONE) {
        chio__deny(r, code, NULL);
        return 0;
    }
    /* A kernel that already knows its store cannot commit never runs a
     * tool (the answer would be an error after the tool's side effects). */
    if (__atomic_load_n(&k->failed, __ATOMIC_SEQ_CST))
        return chio__fail(err, CHIO_EFAILED, CHIO_NO_OFFSET,
                          "kernel failed closed after a receipt store error; tool not run");
    rc = r->decide_only ? decide_only_allow(r, err) : chio__dispatch(r, srv, err);
    if (rc == 0 && chio__is_cancelled(r))
        chio__cancel_decision(r);
    return rc;
}

static int decide_tool(mreq *r, const chio_call *call, chio_error *err)
{
    chio__grant_list grants;
    int rc;

    grants.idx = grants.local;
    grants.n = 0;
    rc = decide_checked(r, call, &grants, err);
    chio__grant_list_free(&grants);
    return rc;
}

/* Admission, argument parsing and the decision of a tool call. */
static int prepare_tool(mreq *r, const chio_call *call, chio_error *err)
{
    int rc;

    if (call == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL call");
    if (!chio__all_zero(call->reserved, sizeof(call->reserved)))
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "chio_call.reserved must be zero (zero the struct before use)");
    /* The kernel and the session answer before invalid ids or arguments
     * (chio__admit()). */
    rc = chio__admit(r, call->session_id, call->capability_id, call->request_id, err);
    if (rc == 0 && (call->server_id == NULL || call->tool_name == NULL ||
                    !chio__utf8_valid(call->server_id, strlen(call->server_id)) ||
                    !chio__utf8_valid(call->tool_name, strlen(call->tool_name))))
        rc = chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                        "server id and tool name must be UTF-8 strings");
    if (rc == 0)
        rc = chio__parse_args(r, call->arguments_json, call->arguments_len, 1, err);
    if (rc != 0)
        return rc;
    r->server = call->server_id;
    r->tool = call->tool_name;
    if ((rc = chio__bound_id(r, "server id", &r->server, err)) != 0 ||
        (rc = chio__bound_id(r, "tool name", &r->tool, err)) != 0)
        return rc;
    if (r->invalid_request == NULL && (r->server[0] == '\0' || r->tool[0] == '\0'))
        r->invalid_request = "the server id or the tool name is empty";
    return decide_tool(r, call, err);
}

/*
 * Allows are logged at debug. Denies at info at most once a second per
 * kernel (with how many denies were not logged at info since), the others
 * at debug: an agent hammering denied calls must not turn each into a log
 * line under the log lock. The receipts hold every decision.
 */
static void log_decision(chio_kernel *k, chio_verdict verdict, chio_code code)
{
    struct timespec ts;
    uint64_t sec, last, skipped;

    if (verdict == CHIO_VERDICT_ALLOW) {
        chio__log(k, CHIO_LOG_DEBUG, "decision", NULL, "\"verdict\":\"%s\",\"code\":\"%s\"",
                  chio_verdict_name(verdict), chio_code_name(code));
        return;
    }
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    sec = (uint64_t)ts.tv_sec + 1; /* 0 = never logged */
    /* Relaxed: the CAS only elects one logger per second; the counter is
     * a statistic read by that logger, not a publication. */
    last = __atomic_load_n(&k->deny_log_sec, __ATOMIC_RELAXED);
    if (last != sec && __atomic_compare_exchange_n(&k->deny_log_sec, &last, sec, 0,
                                                   __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        skipped = __atomic_exchange_n(&k->deny_log_skipped, 0, __ATOMIC_RELAXED);
        chio__log(k, CHIO_LOG_INFO, "decision", NULL,
                  "\"verdict\":\"%s\",\"code\":\"%s\",\"denies_not_logged\":%llu",
                  chio_verdict_name(verdict), chio_code_name(code), (unsigned long long)skipped);
        return;
    }
    __atomic_add_fetch(&k->deny_log_skipped, 1, __ATOMIC_RELAXED);
    chio__log(k, CHIO_LOG_DEBUG, "decision", NULL, "\"verdict\":\"%s\",\"code\":\"%s\"",
              chio_verdict_name(verdict), chio_code_name(code));
}

/* Sign synchronously and answer. The answer is built before the receipt
 * is signed (as the asynchronous path does), so nothing can fail once the
 * receipt is durable: an error from this call always means no receipt. */
int chio__finish_sync(mreq *r, chio_response *resp, chio_error *err)
{
    chio__receipt_fields f;
    chio_receipt *rec = NULL;
    char hash[65];
    int rc = chio__mreq_fields(r, &f, hash, err);

    if (rc == 0 && chio__fill_response(r, resp) != 0) {
        free(f.params_owned); /* the signer did not take it */
        rc = chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
    if (rc == 0)
        rc = chio__kernel_sign_entered(r->k, &f, 0, &rec, err);
    chio__mreq_leave(r);
    if (rc != 0) {
        chio_response_destroy(resp);
        return rc; /* no receipt: an error, never a decision */
    }
    log_decision(r->k, r->verdict, r->code);
    resp->receipt = rec;
    return 0;
}

#ifdef CHIO_OTEL
/* One span per evaluation (otel.c); @resp is read only when @rc is 0.
 * Session strings live as long as the kernel (sessions are never freed
 * while serving), so they may be read after the call returned. */
void chio__otel_report(chio_kernel *k, uint64_t start, const chio__session *s, const char *tool,
                       const char *server, const char *cap_id, const char *request_id, int rc,
                       const chio_response *resp)
{
    chio__otel_call c;

    memset(&c, 0, sizeof(c));
    c.start_unix_nano = start;
    c.tool = tool;
    c.server = server;
    c.request_id = rc == 0 && resp->request_id ? resp->request_id : request_id;
    c.session_id = s ? s->id : NULL;
    c.agent_id = s ? s->agent : NULL;
    c.capability_id = cap_id;
    c.receipt_id = rc == 0 && resp->receipt ? chio_receipt_id(resp->receipt) : NULL;
    c.verdict = rc == 0 ? chio_verdict_name(resp->verdict) : "error";
    c.code = rc == 0 ? chio_code_name(resp->code) : chio_errno_reason(rc);
    chio__otel_emit(k, &c);
}
#endif

/* A call's options: reserved zero, no provider, no flag but
 * CHIO_CALL_DECIDE_ONLY. */
static int options_ok(const chio_call_options *opts, chio_error *err)
{
    if (opts != NULL && !chio__all_zero(opts->reserved, sizeof(opts->reserved)))
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "chio_call_options.reserved must be zero");
    if (opts != NULL && opts->provider != NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "chio_call_options.provider is for resource reads and prompt gets; "
                          "a tool call names its server in chio_call.server_id");
    if (opts != NULL && (opts->flags & ~CHIO_CALL_DECIDE_ONLY) != 0)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "chio_call_options.flags has unknown bits (0x%llx)",
                          (unsigned long long)(opts->flags & ~CHIO_CALL_DECIDE_ONLY));
    return 0;
}

int chio_kernel_evaluate(chio_kernel *k, const chio_call *call, chio_response *resp,
                         chio_error *err)
{
    return chio_kernel_evaluate_ex(k, call, NULL, resp, err);
}

int chio_kernel_evaluate_ex(chio_kernel *k, const chio_call *call, const chio_call_options *opts,
                            chio_response *resp, chio_error *err)
{
    mreq r;
    int rc;
#ifdef CHIO_OTEL
    uint64_t start = chio__otel_now_ns();
#endif

    if (k == NULL || resp == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL kernel or response");
    memset(resp, 0, sizeof(*resp));
    if ((rc = chio__kernel_refuse_reentry(k, err)) != 0) /* from a callback (kernel.h) */
        return rc;
    chio__mreq_init(&r, k);
    rc = options_ok(opts, err);
    if (rc == 0 && opts != NULL) {
        r.cancel = opts->cancel;
        r.timeout_ms = opts->timeout_ms;
        r.decide_only = (opts->flags & CHIO_CALL_DECIDE_ONLY) != 0;
        r.deadline_ns = chio__deadline_ns(opts->timeout_ms);
    }
    if (rc == 0)
        rc = prepare_tool(&r, call, err);
    if (rc == 0)
        rc = chio__finish_sync(&r, resp, err);
    if (rc != 0)
        chio__count_unreceipted(k, rc);
#ifdef CHIO_OTEL
    /* Every evaluation counted has its span, argument errors too (review
     * 5 O4: bad options and a NULL call were counted with none). */
    chio__otel_report(k, start, r.s, call ? call->tool_name : NULL, call ? call->server_id : NULL,
                      call ? call->capability_id : NULL,
                      r.request_id ? r.request_id
                      : call       ? call->request_id
                                   : NULL,
                      rc, resp);
#endif
    chio__mreq_destroy(&r);
    return rc;
}

typedef struct async_eval {
    chio_evaluate_cb cb;
    void *ctx;
    chio_response resp;
    chio_kernel *k;
#ifdef CHIO_OTEL
    uint64_t start;
    const chio__session *s;
    char *tool, *server, *cap_id; /* copies: the caller's strings are gone */
#endif
} async_eval;

static void async_free(async_eval *a)
{
#ifdef CHIO_OTEL
    chio__session_put((chio__session *)a->s);
    free(a->tool);
    free(a->server);
    free(a->cap_id);
#endif
    free(a);
}

static void async_done(void *ctx, int rc, chio_receipt *receipt)
{
    async_eval *a = ctx;
    chio_error err;

    chio_error_init(&err);
    if (rc != 0) {
        chio__count_unreceipted(a->k, rc);
        chio_response_destroy(&a->resp);
        chio__fail(&err, rc, CHIO_NO_OFFSET, "receipt not committed: %s", chio_strerror(rc));
    } else {
        a->resp.receipt = receipt;
        /* Logged once its receipt is committed, as on the sync path: a
         * decision whose receipt failed has no log line (review 5). */
        log_decision(a->k, a->resp.verdict, a->resp.code);
    }
#ifdef CHIO_OTEL
    chio__otel_report(a->k, a->start, a->s, a->tool, a->server, a->cap_id, NULL, rc, &a->resp);
#endif
    a->cb(a->ctx, rc, &a->resp, &err);
    chio_response_destroy(&a->resp);
    async_free(a);
}

int chio_kernel_evaluate_async(chio_kernel *k, const chio_call *call, chio_evaluate_cb cb,
                               void *ctx, chio_error *err)
{
    chio__receipt_fields f;
    char hash[65];
    int have_fields = 0, held;
    async_eval *a;
    mreq r;
    int rc;

    if (k == NULL || cb == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL kernel or callback");
    if (chio__kernel_in_clock(k)) /* refused before any check, not counted (kernel.h) */
        return chio__fail(err, CHIO_EDEADLK, CHIO_NO_OFFSET, "%s", chio__clock_refusal);
    /* From a callback: the receipt's credit before the dispatch (kernel.h),
     * this request's alone, whatever the tool submits meanwhile. */
    held = chio__kernel_credit_ahead(k, err);
    if (held < 0)
        return held;
    a = calloc(1, sizeof(*a));
    if (a == NULL) {
        if (held)
            chio__credits_release(k, 1);
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
    a->cb = cb;
    a->ctx = ctx;
    a->k = k;
#ifdef CHIO_OTEL
    a->start = chio__otel_now_ns();
#endif
    chio__mreq_init(&r, k);
    rc = prepare_tool(&r, call, err);
#ifdef CHIO_OTEL
    if (rc == 0) {
        a->s = r.s;
        chio__session_hold(r.s); /* async_free drops it */
        a->tool = strdup(call->tool_name);
        a->server = strdup(call->server_id);
        a->cap_id = strdup(call->capability_id);
        if (a->tool == NULL || a->server == NULL || a->cap_id == NULL)
            rc = chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
#endif
    if (rc == 0 && (rc = chio__mreq_fields(&r, &f, hash, err)) == 0)
        have_fields = 1;
    if (rc == 0 && chio__fill_response(&r, &a->resp) != 0)
        rc = chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    if (rc == 0) {
        /* The callback may run before this thread is back from the
         * signing: the call must no longer count in its session by then,
         * or a close from the callback would fail "cannot close while 1
         * request(s) remain active" for a call already answered. The
         * kernel stays entered (drain waits for the push); the session's
         * memory stays held (chio__mreq_destroy drops it). */
        chio__mreq_leave_session(&r);
        rc = chio__kernel_sign_async_entered(k, &f, held, async_done, a, err);
        held = 0; /* the request's now, whatever the outcome */
    }
    if (have_fields)
        free(f.params_owned); /* taken by the signer unless refused before it */
#ifdef CHIO_OTEL
    if (rc != 0) /* a NULL call too: counted below, so it has its span */
        chio__otel_report(k, a->start, r.s, call ? call->tool_name : NULL,
                          call ? call->server_id : NULL, call ? call->capability_id : NULL,
                          r.request_id ? r.request_id
                          : call       ? call->request_id
                                       : NULL,
                          rc, NULL);
#endif
    chio__mreq_destroy(&r);
    if (held) /* the request was not made */
        chio__credits_release(k, 1);
    if (rc != 0) {
        chio__count_unreceipted(k, rc);
        chio_response_destroy(&a->resp); /* filled, then the push failed */
        async_free(a);
    }
    return rc;
}
