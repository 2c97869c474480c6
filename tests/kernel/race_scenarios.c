/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/race_scenarios.c - see race_scenarios.h.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/poll.h"
#include "kernel/race_scenarios.h"
#include "kernel/scenarios.h"
#include "kernel/tokens.h"

#define NOW SC_NOW
#define ALL_SCOPE \
    "{\"grants\":[{\"server_id\":\"*\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}]}"
/* Longest wait for a callback: a hang fails the scenario instead. */
#define WAIT_MS 10000

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
        return sc_fail(msg, "token or config");
    }
    cfg.clock = sc_fixed_clock;
    cfg.log_level = CHIO_LOG_ERROR;
    cfg.allow_sampling = allow_sampling;
    cfg.ring_capacity = ring_capacity;
    if (chio_kernel_new(&cfg, &e->k, &err) != 0) {
        free(tok);
        return sc_fail(msg, "kernel_new: %s", err.message);
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
        rc = sc_fail(msg, "setup: %s", err.message);
    if (rc == 0 &&
        chio_kernel_sign_receipt_async(e->k, sc_builder(1), submit_from_callback, e, &err) != 0)
        rc = sc_fail(msg, "sign_receipt_async: %s", err.message);
    if (rc == 0 && !testutil_wait_until(flag_set, &e->done, WAIT_MS))
        rc = sc_fail(msg, "the evaluation did not complete within %d ms", WAIT_MS);
    if (rc == 0 && e->submit_rc != 0)
        rc = sc_fail(msg, "evaluate_async from the callback: %s after its tool ran %d time(s)",
                     chio_errno_name(e->submit_rc), e->tool_runs);
    if (rc == 0 && (e->eval_rc != 0 || !e->receipt_ok || e->verdict != CHIO_VERDICT_ALLOW))
        rc = sc_fail(msg, "the evaluation ended rc %d, verdict %s, receipt verifies %d", e->eval_rc,
                     chio_verdict_name(e->verdict), e->receipt_ok);
    if (rc == 0 && e->tool_runs != 1)
        rc = sc_fail(msg, "the tool ran %d times", e->tool_runs);
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
        return sc_fail(msg, "out of memory");
    e->sample_rc = 1; /* not called */
    rc = run_from_callback(e, c->allow_sampling, c->ring_capacity, sampling_tool, msg);
    if (rc == 0 && (e->sample_rc != c->want_sample_rc || e->host_calls != c->want_host_calls))
        rc = sc_fail(msg,
                     "the tool's sampling request: %s (want %s), host asked %d time(s) (want %d)",
                     chio_errno_name(e->sample_rc), chio_errno_name(c->want_sample_rc),
                     e->host_calls, c->want_host_calls);
    if (rc == 0 && e->nchildren != c->want_children)
        rc = sc_fail(msg, "%zu child receipts (want %zu)", e->nchildren, c->want_children);
    if (rc == 0 && e->nchildren > 0 && (e->child != c->want_child_verdict || !e->child_ok))
        rc = sc_fail(msg, "child receipt verdict %s (want %s), verifies %d",
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
        return sc_fail(msg, "out of memory");
    rc = run_from_callback(e, 0, 4, signing_tool, msg);
    /* The kernel was freed (drained): every accepted sign's callback ran. */
    if (rc == 0 && (e->tool_sign_bad != 0 || e->tool_sign_cbs != e->tool_signs_ok ||
                    e->tool_signs_ok + e->tool_signs_refused != 3))
        rc = sc_fail(msg, "the tool's signs: %d accepted, %d refused, %d callbacks, %d bad",
                     e->tool_signs_ok, e->tool_signs_refused, e->tool_sign_cbs, e->tool_sign_bad);
    if (rc == 0 || __atomic_load_n(&e->done, __ATOMIC_ACQUIRE))
        free(e);
    return rc;
}

/* ---- drain racing calls, session closes and opens ---------------------------------- */

enum { DR_THREADS = 6, DR_SESSIONS = 4, DR_IDS = 1024, DR_ALLOWS = 100 };

typedef struct drace {
    chio_kernel *k;
    const char *tok;
    char *sids[DR_SESSIONS]; /* atomic pointers; replaced ones are kept in old[] */
    char *old[4096];
    int nold;
    int allows;  /* atomic */
    int drained; /* atomic: chio_kernel_drain() returned */
    int bad;     /* atomic */
    char msg[SC_MSG];
    pthread_mutex_t mu;
} drace;

typedef struct dworker {
    drace *d;
    int t, nids;
    char (*ids)[80];
} dworker;

static void dr_bad(drace *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dr_bad(drace *d, const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&d->mu);
    if (d->bad++ == 0) {
        va_start(ap, fmt);
        vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&d->mu);
}

typedef struct dasync {
    int rc, allowed, done; /* done: atomic, set last */
    char id[80];
} dasync;

static void dr_done(void *ctx, int rc, chio_response *resp, const chio_error *err)
{
    dasync *a = ctx;

    (void)err;
    a->rc = rc;
    if (rc == 0 && resp->receipt != NULL && resp->verdict == CHIO_VERDICT_ALLOW) {
        a->allowed = 1;
        snprintf(a->id, sizeof(a->id), "%s", chio_receipt_id(resp->receipt));
    }
    __atomic_store_n(&a->done, 1, __ATOMIC_RELEASE);
}

/* One call, sync or async (waited for); 0 or its error. */
static int dr_call(dworker *w, int async, const char *sid, char id[80], int *allowed)
{
    chio_call c;
    chio_response resp;
    chio_error err;
    dasync a;
    int rc;

    memset(&c, 0, sizeof(c));
    c.session_id = sid;
    c.capability_id = "cap";
    c.server_id = "srv";
    c.tool_name = "t";
    chio_error_init(&err);
    *allowed = 0;
    if (async) {
        memset(&a, 0, sizeof(a));
        rc = chio_kernel_evaluate_async(w->d->k, &c, dr_done, &a, &err);
        if (rc != 0)
            return rc;
        if (!testutil_wait_until(flag_set, &a.done, WAIT_MS)) {
            dr_bad(w->d, "thread %d: an async callback did not run within %d ms", w->t, WAIT_MS);
            abort(); /* @a is on this stack: nothing safe is left to do */
        }
        *allowed = a.allowed;
        memcpy(id, a.id, 80);
        return a.rc;
    }
    chio_response_init(&resp);
    rc = chio_kernel_evaluate(w->d->k, &c, &resp, &err);
    if (rc == 0 && resp.receipt == NULL)
        dr_bad(w->d, "thread %d: a decision without a receipt", w->t);
    if (rc == 0 && resp.receipt != NULL && resp.verdict == CHIO_VERDICT_ALLOW) {
        *allowed = 1;
        snprintf(id, 80, "%s", chio_receipt_id(resp.receipt));
    }
    chio_response_destroy(&resp);
    return rc;
}

static void *dr_worker(void *arg)
{
    dworker *w = arg;
    drace *d = w->d;
    char id[80];
    int i, rc, allowed, after;

    for (i = 0;; i++) {
        after = __atomic_load_n(&d->drained, __ATOMIC_ACQUIRE);
        rc =
            dr_call(w, i % 2, __atomic_load_n(&d->sids[(w->t + i) % DR_SESSIONS], __ATOMIC_ACQUIRE),
                    id, &allowed);
        if (after) { /* the drain had returned before this call started */
            if (rc != CHIO_EDRAINED)
                dr_bad(d, "thread %d: a call after the drain: %s", w->t, chio_errno_name(rc));
            return NULL;
        }
        if (rc != 0 && rc != CHIO_ESESSION_DRAINING && rc != CHIO_ESESSION_CLOSED &&
            rc != CHIO_EDRAINED)
            dr_bad(d, "thread %d: %s", w->t, chio_errno_name(rc));
        if (rc == 0 && !allowed)
            dr_bad(d, "thread %d: a call was denied", w->t);
        if (allowed && w->nids < DR_IDS) {
            memcpy(w->ids[w->nids++], id, 80);
            __atomic_add_fetch(&d->allows, 1, __ATOMIC_RELAXED);
        }
    }
}

/* Close or drain a session, then put a new one in its place. */
static void *dr_churn(void *arg)
{
    drace *d = arg;
    const char *caps[1] = {d->tok};
    chio_error err;
    char *sid, *fresh;
    int i, rc;

    for (i = 0; !__atomic_load_n(&d->drained, __ATOMIC_ACQUIRE) && d->nold < 4096; i++) {
        sid = __atomic_load_n(&d->sids[i % DR_SESSIONS], __ATOMIC_ACQUIRE);
        chio_error_init(&err);
        rc = i % 2 ? chio_kernel_begin_draining_session(d->k, sid, &err)
                   : chio_kernel_close_session(d->k, sid, &err);
        if (rc != 0 && rc != CHIO_ESESSION_ACTIVE && rc != CHIO_ESESSION_CLOSED)
            dr_bad(d, "closing a session: %s", err.message);
        fresh = malloc(CHIO_SESSION_ID_LEN + 1);
        if (fresh == NULL)
            break;
        rc = chio_kernel_open_session(d->k, TK_AGENT_PUB, caps, NULL, 1, fresh, &err);
        if (rc != 0) {
            if (rc != CHIO_EDRAINED)
                dr_bad(d, "opening a session: %s", err.message);
            free(fresh);
            continue;
        }
        __atomic_store_n(&d->sids[i % DR_SESSIONS], fresh, __ATOMIC_RELEASE);
        d->old[d->nold++] = sid;
        testutil_nap_ms(1); /* let calls reach the new session */
    }
    return NULL;
}

static int enough_allows(void *p)
{
    return __atomic_load_n(&((drace *)p)->allows, __ATOMIC_RELAXED) >= DR_ALLOWS;
}

/* Every allow the workers saw is in the store at @path. */
static int dr_check_store(const char *path, dworker *w, char *msg)
{
    chio_store *st = NULL;
    chio_error err;
    uint64_t seq;
    int t, i, rc = 0;

    chio_error_init(&err);
    if (chio_store_open(path, CHIO_STORE_READ_ONLY, &st, &err) != 0)
        return sc_fail(msg, "store: %s", err.message);
    for (t = 0; t < DR_THREADS && rc == 0; t++)
        for (i = 0; i < w[t].nids && rc == 0; i++)
            if (chio_store_find_receipt(st, w[t].ids[i], &seq, &err) != 0)
                rc = sc_fail(msg, "allow %s (thread %d) has no receipt in the store", w[t].ids[i],
                             t);
    chio_store_close(st);
    return rc;
}

static int echo_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                     chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    return chio_output_set_json(out, args, len);
}

static int dr_start(drace *d, const char *path, char *msg)
{
    static const char *const tools[] = {"t"};
    const char *caps[1] = {d->tok};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_error err;
    int i;

    chio_error_init(&err);
    if (d->tok == NULL || sc_config(&cfg, path) != 0)
        return sc_fail(msg, "token or config");
    cfg.clock = sc_fixed_clock;
    cfg.log_level = CHIO_LOG_ERROR;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.signer_threads = 2;
    if (chio_kernel_new(&cfg, &d->k, &err) != 0)
        return sc_fail(msg, "kernel_new: %s", err.message);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = echo_tool;
    if (chio_kernel_register_tool_server(d->k, &ts, &err) != 0)
        return sc_fail(msg, "register: %s", err.message);
    for (i = 0; i < DR_SESSIONS; i++) {
        d->sids[i] = malloc(CHIO_SESSION_ID_LEN + 1);
        if (d->sids[i] == NULL ||
            chio_kernel_open_session(d->k, TK_AGENT_PUB, caps, NULL, 1, d->sids[i], &err) != 0)
            return sc_fail(msg, "open_session: %s", err.message);
    }
    return 0;
}

int rs_drain_races(const char *dir, char *msg)
{
    drace *d = calloc(1, sizeof(*d));
    dworker w[DR_THREADS];
    pthread_t th[DR_THREADS], churn;
    sc_log_report rep;
    chio_error err;
    char path[1024];
    int i, started = 0, churning = 0, rc;

    if (d == NULL)
        return sc_fail(msg, "out of memory");
    memset(w, 0, sizeof(w));
    pthread_mutex_init(&d->mu, NULL);
    snprintf(path, sizeof(path), "%s/drain-races-db", dir);
    d->tok = tk_token(TK_KERNEL_SEED, "cap", TK_AGENT_PUB, ALL_SCOPE, NOW - 100, 1000, NULL, 0);
    rc = dr_start(d, path, msg);
    for (i = 0; rc == 0 && i < DR_THREADS; i++, started++) {
        w[i] = (dworker){d, i, 0, calloc(DR_IDS, 80)};
        if (w[i].ids == NULL || pthread_create(&th[i], NULL, dr_worker, &w[i]) != 0)
            rc = sc_fail(msg, "cannot start worker %d", i);
    }
    if (rc == 0 && !(churning = pthread_create(&churn, NULL, dr_churn, d) == 0))
        rc = sc_fail(msg, "cannot start the session churn");
    if (rc == 0 && !testutil_wait_until(enough_allows, d, WAIT_MS))
        rc = sc_fail(msg, "fewer than %d allows within %d ms", DR_ALLOWS, WAIT_MS);
    chio_error_init(&err);
    if (d->k != NULL && chio_kernel_drain(d->k, &err) != 0 && rc == 0)
        rc = sc_fail(msg, "drain: %s", err.message);
    __atomic_store_n(&d->drained, 1, __ATOMIC_RELEASE);
    for (i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (churning)
        pthread_join(churn, NULL);
    chio_kernel_free(d->k);
    if (rc == 0 && d->bad)
        rc = sc_fail(msg, "%d bad outcomes; first: %s", d->bad, d->msg);
    if (rc == 0)
        rc = dr_check_store(path, w, msg);
    if (rc == 0)
        rc = sc_check_log(path, 100, &rep, msg);
    for (i = 0; i < DR_THREADS; i++)
        free(w[i].ids);
    for (i = 0; i < DR_SESSIONS; i++)
        free(d->sids[i]);
    for (i = 0; i < d->nold; i++)
        free(d->old[i]);
    free((char *)d->tok);
    pthread_mutex_destroy(&d->mu);
    free(d);
    return rc;
}
