/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/rev28_race_scenarios.c - see rev28_race_scenarios.h.
 * Real kernels (ephemeral store), real threads; every wait is a join of
 * threads that end on their own (each makes a fixed number of calls).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chio/chio.h"
#include "common/poll.h"
#include "kernel/rev28_race_scenarios.h"
#include "kernel/scenarios.h"
#include "kernel/tokens.h"
#include "kernel_internal.h"

#define NOW SC_NOW

static int echo_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                     chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    return chio_output_set_json(out, args, len);
}

/* A kernel on the store-less path, clock @clock, with tool "t" of "srv". */
static chio_kernel *kernel(chio_clock_fn clock, char *msg)
{
    static const char *const tools[] = {"t"};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_kernel *k = NULL;
    chio_error err;

    chio_error_init(&err);
    if (sc_config(&cfg, NULL) != 0) {
        sc_fail(msg, "config");
        return NULL;
    }
    cfg.clock = clock;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    if (chio_kernel_new(&cfg, &k, &err) != 0) {
        sc_fail(msg, "kernel_new: %s", err.message);
        return NULL;
    }
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = echo_tool;
    if (chio_kernel_register_tool_server(k, &ts, &err) != 0) {
        sc_fail(msg, "register: %s", err.message);
        chio_kernel_free(k);
        return NULL;
    }
    return k;
}

/* One call of tool "t" with @cap and @args: the return code; the verdict
 * and code in *@v and *@code. */
static int call(chio_kernel *k, const char *sid, const char *cap, const char *args, chio_verdict *v,
                chio_code *code)
{
    chio_response resp;
    chio_error err;
    chio_call c;
    int rc;

    memset(&c, 0, sizeof(c));
    c.session_id = sid;
    c.capability_id = cap;
    c.server_id = "srv";
    c.tool_name = "t";
    c.arguments_json = args;
    c.arguments_len = strlen(args);
    chio_error_init(&err);
    chio_response_init(&resp);
    rc = chio_kernel_evaluate(k, &c, &resp, &err);
    *v = resp.verdict;
    *code = resp.code;
    chio_response_destroy(&resp);
    return rc;
}

/* A metrics scraper: scrapes until *stop (atomic). */
typedef struct scraper {
    chio_kernel *k;
    int stop, failed, scrapes;
} scraper;

static void *scrape_thread(void *arg)
{
    scraper *s = arg;
    char *text;
    size_t len;

    while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
        if (chio_kernel_metrics_prometheus(s->k, &text, &len) != 0 ||
            strstr(text, "chio_budgets") == NULL)
            s->failed = 1;
        chio_free(text);
        s->scrapes++;
    }
    return NULL;
}

/* ---- the pattern cache under churn ------------------------------------------------------ */

enum { RX_TOKENS = 160, RX_THREADS = 8, RX_CALLS = 240 };

typedef struct rx_worker {
    chio_kernel *k;
    const char *sid;
    unsigned seed;
    int bad; /* calls whose answer was wrong */
    char what[128];
} rx_worker;

static void *rx_thread(void *arg)
{
    rx_worker *w = arg;
    char cap[32], args[64];
    chio_verdict v;
    chio_code code;
    int i, t, match, rc;

    for (i = 0; i < RX_CALLS; i++) {
        w->seed = w->seed * 1103515245u + 12345u;
        t = (int)((w->seed >> 8) % RX_TOKENS);
        match = (w->seed >> 20) & 1;
        snprintf(cap, sizeof(cap), "cap-rx-%d", t);
        snprintf(args, sizeof(args), "{\"q\":\"p%d-%s\"}", t, match ? "abc" : "ABC");
        rc = call(w->k, w->sid, cap, args, &v, &code);
        if (rc != 0 || v != (match ? CHIO_VERDICT_ALLOW : CHIO_VERDICT_DENY) ||
            (!match && code != CHIO_CODE_CONSTRAINT_VIOLATED)) {
            if (w->bad++ == 0)
                snprintf(w->what, sizeof(w->what), "%s %s: rc %d verdict %d code %d", cap, args, rc,
                         (int)v, (int)code);
        }
    }
    return NULL;
}

/* The tokens cap-rx-0.. with pattern "^pI-[a-z]{0,30}$" on argument q. */
static char **rx_tokens(void)
{
    char **toks = calloc(RX_TOKENS, sizeof(*toks)), id[32], scope[256];
    int i;

    for (i = 0; toks != NULL && i < RX_TOKENS; i++) {
        snprintf(id, sizeof(id), "cap-rx-%d", i);
        snprintf(scope, sizeof(scope),
                 "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\",\"operations\":"
                 "[\"invoke\"],\"constraints\":[{\"type\":\"regex_match\",\"value\":"
                 "\"^p%d-[a-z]{0,30}$\"}]}]}",
                 i);
        toks[i] = tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB, scope, NOW - 100, 100000, NULL, 0);
    }
    return toks;
}

int r28_regex_churn(char *msg)
{
    chio_kernel *k = kernel(sc_fixed_clock, msg);
    char **toks = rx_tokens(), sid[CHIO_SESSION_ID_LEN + 1];
    pthread_t th[RX_THREADS], sth;
    rx_worker w[RX_THREADS];
    scraper s = {k, 0, 0, 0};
    chio_error err;
    int i, rc = 0;

    chio_error_init(&err);
    for (i = 0; toks != NULL && i < RX_TOKENS; i++)
        if (toks[i] == NULL)
            rc = sc_fail(msg, "token %d could not be built", i);
    if (k == NULL || toks == NULL || rc != 0) {
        rc = k == NULL ? -1 : sc_fail(msg, "tokens could not be built");
        goto out;
    }
    if (chio_kernel_open_session(k, TK_AGENT_PUB, (const char *const *)toks, NULL, RX_TOKENS, sid,
                                 &err) != 0) {
        rc = sc_fail(msg, "open_session: %s", err.message);
        goto out;
    }
    /* One byte a shard: every pattern put evicts what its shard held. */
    chio__shmap_set_max_weight(&k->med.regexes, CHIO__SHMAP_SHARDS);
    pthread_create(&sth, NULL, scrape_thread, &s);
    for (i = 0; i < RX_THREADS; i++) {
        w[i] = (rx_worker){k, sid, 17u * (unsigned)i + 1u, 0, ""};
        pthread_create(&th[i], NULL, rx_thread, &w[i]);
    }
    for (i = 0; i < RX_THREADS; i++)
        pthread_join(th[i], NULL);
    __atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
    pthread_join(sth, NULL);
    for (i = 0; i < RX_THREADS && rc == 0; i++)
        if (w[i].bad)
            rc = sc_fail(msg, "thread %d: %d wrong answers, first %s", i, w[i].bad, w[i].what);
    if (rc == 0 && s.failed)
        rc = sc_fail(msg, "a metrics scrape failed");
out:
    for (i = 0; toks != NULL && i < RX_TOKENS; i++)
        free(toks[i]);
    free(toks);
    chio_kernel_free(k);
    return rc;
}

/* ---- one budget, charged while others are swept ------------------------------------------ */

enum { BS_MAX = 40, BS_THREADS = 16, BS_CALLS = 5, BS_CHURN = 12 };

static uint64_t bs_now = NOW;

static uint64_t bs_clock(void *ctx)
{
    (void)ctx;
    return __atomic_load_n(&bs_now, __ATOMIC_RELAXED);
}

typedef struct bs_worker {
    chio_kernel *k;
    const char *sid;
    int allows, exhausted, other;
    char what[96];
} bs_worker;

static void *bs_thread(void *arg)
{
    bs_worker *w = arg;
    chio_verdict v;
    chio_code code;
    int i, rc;

    for (i = 0; i < BS_CALLS; i++) {
        rc = call(w->k, w->sid, "cap-b", "{}", &v, &code);
        if (rc == 0 && v == CHIO_VERDICT_ALLOW)
            w->allows++;
        else if (rc == 0 && code == CHIO_CODE_BUDGET_EXHAUSTED)
            w->exhausted++;
        else if (w->other++ == 0)
            snprintf(w->what, sizeof(w->what), "rc %d verdict %d code %d", rc, (int)v, (int)code);
    }
    return NULL;
}

typedef struct bs_churn {
    chio_kernel *k;
    int allows, failed;
    char what[160];
} bs_churn;

/* Short-lived budgeted tokens, one call each, then the clock moves past
 * them and a sweep is forced (as session closes and budget creation
 * trigger one). */
static void *churn_thread(void *arg)
{
    bs_churn *c = arg;
    char id[32], *tok, sid[CHIO_SESSION_ID_LEN + 1];
    const char *caps[1];
    chio_verdict v;
    chio_code code;
    chio_error err;
    uint64_t now;
    int i;

    for (i = 0; i < BS_CHURN && !c->failed; i++) {
        now = bs_clock(NULL);
        snprintf(id, sizeof(id), "cap-x-%d", i);
        tok = tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB,
                       "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\",\"operations\":"
                       "[\"invoke\"],\"max_invocations\":1}]}",
                       now, 2, NULL, 0);
        caps[0] = tok;
        chio_error_init(&err);
        if (tok == NULL ||
            chio_kernel_open_session(c->k, TK_AGENT_PUB, caps, NULL, 1, sid, &err) != 0) {
            c->failed = 1;
            snprintf(c->what, sizeof(c->what), "open %s: %.100s", id, err.message);
        } else if (call(c->k, sid, id, "{}", &v, &code) != 0 || v != CHIO_VERDICT_ALLOW) {
            c->failed = 1;
            snprintf(c->what, sizeof(c->what), "%s: verdict %d code %d", id, (int)v, (int)code);
        } else {
            c->allows++;
        }
        (void)chio_kernel_close_session(c->k, sid, NULL);
        free(tok);
        __atomic_add_fetch(&bs_now, 3, __ATOMIC_RELAXED);
        (void)chio__reclaim_sweep(c->k, bs_clock(NULL), i % 2);
    }
    return NULL;
}

int r28_budget_sweeps(char *msg)
{
    chio_kernel *k;
    char *tok, sid[CHIO_SESSION_ID_LEN + 1];
    const char *caps[1];
    pthread_t th[BS_THREADS], cth, sth;
    bs_worker w[BS_THREADS];
    bs_churn c;
    scraper s;
    chio_error err;
    int i, rc = 0, allows = 0, exhausted = 0;

    __atomic_store_n(&bs_now, NOW, __ATOMIC_RELAXED);
    if ((k = kernel(bs_clock, msg)) == NULL)
        return -1;
    /* Every sweep looks, and drops at most two: the catch-up path. */
    k->med.sweep_min_rows = 0;
    k->med.sweep_max_budgets = 2;
    tok = tk_token(TK_KERNEL_SEED, "cap-b", TK_AGENT_PUB,
                   "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\",\"operations\":"
                   "[\"invoke\"],\"max_invocations\":40}]}",
                   NOW - 100, 1000000, NULL, 0);
    caps[0] = tok;
    chio_error_init(&err);
    if (tok == NULL || chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err) != 0) {
        rc = sc_fail(msg, "open_session: %s", err.message);
        goto out;
    }
    c = (bs_churn){k, 0, 0, ""};
    s = (scraper){k, 0, 0, 0};
    pthread_create(&sth, NULL, scrape_thread, &s);
    pthread_create(&cth, NULL, churn_thread, &c);
    for (i = 0; i < BS_THREADS; i++) {
        w[i] = (bs_worker){k, sid, 0, 0, 0, ""};
        pthread_create(&th[i], NULL, bs_thread, &w[i]);
    }
    for (i = 0; i < BS_THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_join(cth, NULL);
    __atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
    pthread_join(sth, NULL);
    for (i = 0; i < BS_THREADS && rc == 0; i++) {
        if (w[i].other)
            rc = sc_fail(msg, "thread %d: %d calls neither allowed nor budget_exhausted, first %s",
                         i, w[i].other, w[i].what);
        allows += w[i].allows;
        exhausted += w[i].exhausted;
    }
    if (rc == 0 && (allows != BS_MAX || exhausted != BS_THREADS * BS_CALLS - BS_MAX))
        rc = sc_fail(msg, "%d allows and %d budget_exhausted (want %d and %d)", allows, exhausted,
                     BS_MAX, BS_THREADS * BS_CALLS - BS_MAX);
    if (rc == 0 && (c.failed || c.allows != BS_CHURN))
        rc = sc_fail(msg, "short-lived tokens: %d of %d allowed; %s", c.allows, BS_CHURN, c.what);
    if (rc == 0 && s.failed)
        rc = sc_fail(msg, "a metrics scrape failed");
out:
    free(tok);
    chio_kernel_free(k);
    return rc;
}

/* ---- a nested request from a thread other than the tool's ------------------------------- */

static const char FX_REQ[] = "{\"messages\":[]}";

/* The tool's nested request and its reader thread's, in step: the host
 * answering the tool's lets the reader ask, and waits until it did. */
typedef struct fx_state {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int phase; /* 1: the host is answering the tool's request; 2: the reader asked */
    chio_tool_ctx *ctx;
    int tool_rc, reader_rc, timed_out;
    char reader_msg[256];
} fx_state;

static fx_state fx;

/* Wait (under fx.mu) until fx.phase reaches @phase, 5 s at most. */
static void fx_wait(int phase)
{
    struct timespec dl;

    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 5;
    while (fx.phase < phase)
        if (pthread_cond_timedwait(&fx.cv, &fx.mu, &dl) != 0) {
            fx.timed_out = 1;
            return;
        }
}

static void fx_set(int phase)
{
    fx.phase = phase;
    pthread_cond_broadcast(&fx.cv);
}

static void *fx_reader(void *arg)
{
    chio_error err;
    char *reply = NULL;
    size_t rlen;

    (void)arg;
    pthread_mutex_lock(&fx.mu);
    fx_wait(1);
    pthread_mutex_unlock(&fx.mu);
    chio_error_init(&err);
    fx.reader_rc = chio_tool_ctx_sample(fx.ctx, FX_REQ, sizeof(FX_REQ) - 1, 0, &reply, &rlen, &err);
    snprintf(fx.reader_msg, sizeof(fx.reader_msg), "%s", err.message);
    chio_free(reply);
    pthread_mutex_lock(&fx.mu);
    fx_set(2);
    pthread_mutex_unlock(&fx.mu);
    return NULL;
}

static int fx_host(void *user, chio_nested_kind kind, const char *session_id, const char *req,
                   size_t len, chio_output *reply)
{
    (void)user;
    (void)kind;
    (void)session_id;
    (void)req;
    (void)len;
    pthread_mutex_lock(&fx.mu);
    fx_set(1);
    fx_wait(2);
    pthread_mutex_unlock(&fx.mu);
    return chio_output_set_json(reply, "\"ok\"", 4);
}

static int fx_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                   chio_output *out)
{
    pthread_t th;
    char *reply = NULL;
    size_t rlen;

    (void)user;
    (void)tool;
    (void)args;
    (void)len;
    fx.ctx = ctx;
    if (pthread_create(&th, NULL, fx_reader, NULL) != 0)
        return -1;
    fx.tool_rc = chio_tool_ctx_sample(ctx, FX_REQ, sizeof(FX_REQ) - 1, 0, &reply, &rlen, NULL);
    chio_free(reply);
    pthread_join(th, NULL); /* ends: fx_wait is bounded */
    return chio_output_set_json(out, "{}", 2);
}

int r28_foreign_nested(char *msg)
{
    static const char *const tools[] = {"t"};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_kernel *k = NULL;
    chio_error err;
    chio_verdict v = CHIO_VERDICT_NONE;
    chio_code code = CHIO_CODE_NONE;
    char *tok = NULL, sid[CHIO_SESSION_ID_LEN + 1];
    const char *caps[1];
    int rc = 0;

    memset(&fx, 0, sizeof(fx));
    pthread_mutex_init(&fx.mu, NULL);
    pthread_cond_init(&fx.cv, NULL);
    chio_error_init(&err);
    if (sc_config(&cfg, NULL) != 0)
        return sc_fail(msg, "config");
    cfg.clock = sc_fixed_clock;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    cfg.allow_sampling = 1;
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = fx_tool;
    tok = tk_token(TK_KERNEL_SEED, "cap-n", TK_AGENT_PUB,
                   "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\",\"operations\":"
                   "[\"invoke\"]}]}",
                   NOW - 100, 1000, NULL, 0);
    caps[0] = tok;
    if (tok == NULL || chio_kernel_new(&cfg, &k, &err) != 0 ||
        chio_kernel_register_tool_server(k, &ts, &err) != 0 ||
        chio_kernel_set_nested_handler(k, fx_host, NULL, &err) != 0 ||
        chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err) != 0) {
        rc = sc_fail(msg, "setup: %s", err.message);
        goto out;
    }
    if (call(k, sid, "cap-n", "{}", &v, &code) != 0 || v != CHIO_VERDICT_ALLOW)
        rc = sc_fail(msg, "the call: verdict %d code %d", (int)v, (int)code);
    else if (fx.timed_out)
        rc = sc_fail(msg, "the host and the reader thread did not meet within 5 s");
    else if (fx.tool_rc != 0)
        rc = sc_fail(msg, "the tool's own nested request: %s", chio_strerror(fx.tool_rc));
    else if (fx.reader_rc != CHIO_EINVAL ||
             strstr(fx.reader_msg, "a thread other than the tool's") == NULL)
        rc = sc_fail(msg, "the reader thread's nested request: %s, \"%s\"",
                     chio_strerror(fx.reader_rc), fx.reader_msg);
out:
    free(tok);
    chio_kernel_free(k);
    pthread_cond_destroy(&fx.cv);
    pthread_mutex_destroy(&fx.mu);
    return rc;
}

/* ---- revocation, session closes and callbacks under load --------------------------------- */

enum { RV_THREADS = 12, RV_CALLS = 40, RV_SLOTS = RV_THREADS * RV_CALLS };

/* What the storm saw: the tool's runs, runs of calls begun after the
 * revocation returned, and each asynchronous call's callbacks. */
static struct {
    int revoked; /* set (release) once chio_kernel_revoke_capability returned */
    int runs, late_runs, submitted, called, bad_cb;
    int cb[RV_SLOTS];
} rv;

static int rv_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                   chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    __atomic_add_fetch(&rv.runs, 1, __ATOMIC_RELAXED);
    if (memmem(args, len, "\"late\":1", 8) != NULL)
        __atomic_add_fetch(&rv.late_runs, 1, __ATOMIC_RELAXED);
    return chio_output_set_json(out, "{}", 2);
}

static void rv_cb(void *ctx, int rc, chio_response *resp, const chio_error *err)
{
    int *slot = ctx;

    (void)rc;
    (void)resp;
    (void)err;
    if (__atomic_add_fetch(slot, 1, __ATOMIC_RELAXED) != 1)
        __atomic_store_n(&rv.bad_cb, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&rv.called, 1, __ATOMIC_RELEASE);
}

typedef struct rv_worker {
    chio_kernel *k;
    const char *sid;
    int index, bad;
    int closing; /* the close storm: session errors are answers, late calls must fail */
    char what[128];
} rv_worker;

/* The close storm's answer to a call: 0 when it is one the storm allows. */
static int close_answer(int rc, int late)
{
    if (rc == CHIO_ESESSION_DRAINING || rc == CHIO_ESESSION_CLOSED)
        return 0;
    return rc == 0 && late ? -1001 : rc; /* begun after close returned: refused */
}

static void *rv_thread(void *arg)
{
    rv_worker *w = arg;
    chio_response resp;
    chio_error err;
    chio_call c;
    int i, late, rc, *slot;

    for (i = 0; i < RV_CALLS; i++) {
        late = __atomic_load_n(&rv.revoked, __ATOMIC_ACQUIRE);
        memset(&c, 0, sizeof(c));
        c.session_id = w->sid;
        c.capability_id = "cap-r";
        c.server_id = "srv";
        c.tool_name = "t";
        c.arguments_json = late ? "{\"late\":1}" : "{\"late\":0}";
        c.arguments_len = 10;
        chio_error_init(&err);
        if (i % 2) {
            slot = &rv.cb[w->index * RV_CALLS + i];
            rc = chio_kernel_evaluate_async(w->k, &c, rv_cb, slot, &err);
            if (rc == 0)
                __atomic_add_fetch(&rv.submitted, 1, __ATOMIC_RELAXED);
            if (w->closing)
                rc = close_answer(rc, late);
        } else {
            chio_response_init(&resp);
            rc = chio_kernel_evaluate(w->k, &c, &resp, &err);
            if (w->closing)
                rc = close_answer(rc, late);
            else if (rc == 0 && late && resp.code != CHIO_CODE_CAPABILITY_REVOKED)
                rc = -1000;
            chio_response_destroy(&resp);
        }
        if (rc != 0 && w->bad++ == 0)
            snprintf(w->what, sizeof(w->what), "call %d%s: %d %.80s", i, late ? " (late)" : "", rc,
                     err.message);
    }
    return NULL;
}

static int rv_ran_some(void *arg)
{
    (void)arg;
    return __atomic_load_n(&rv.runs, __ATOMIC_RELAXED) >= 40;
}

static int rv_all_called(void *arg)
{
    (void)arg;
    return __atomic_load_n(&rv.called, __ATOMIC_ACQUIRE) ==
           __atomic_load_n(&rv.submitted, __ATOMIC_RELAXED);
}

/* Close @sid until it closes (10 s at most): every failure must be
 * "cannot close while N request(s) remain active". */
static int close_until_closed(chio_kernel *k, const char *sid, char *msg)
{
    uint64_t end = testutil_now_ms() + 10000;
    chio_error err;
    int rc;

    for (;;) {
        chio_error_init(&err);
        rc = chio_kernel_close_session(k, sid, &err);
        if (rc == 0)
            return 0;
        if (rc != CHIO_ESESSION_ACTIVE || strstr(err.message, "cannot close while") == NULL)
            return sc_fail(msg, "close_session: %s (%s)", chio_strerror(rc), err.message);
        if (testutil_now_ms() >= end)
            return sc_fail(msg, "the session did not close within 10 s: %s", err.message);
    }
}

/* The storm: revoke the token (@closing 0) or close the session. */
static int storm(int closing, char *msg)
{
    static const char *const tools[] = {"t"};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_kernel *k = NULL;
    chio_error err;
    char *tok = NULL, sid[CHIO_SESSION_ID_LEN + 1];
    const char *caps[1];
    pthread_t th[RV_THREADS], sth;
    rv_worker w[RV_THREADS];
    scraper s;
    int i, rc = 0;

    memset(&rv, 0, sizeof(rv));
    chio_error_init(&err);
    if (sc_config(&cfg, NULL) != 0)
        return sc_fail(msg, "config");
    cfg.clock = sc_fixed_clock;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = rv_tool;
    tok = tk_token(TK_KERNEL_SEED, "cap-r", TK_AGENT_PUB,
                   "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\",\"operations\":"
                   "[\"invoke\"]}]}",
                   NOW - 100, 1000, NULL, 0);
    caps[0] = tok;
    if (tok == NULL || chio_kernel_new(&cfg, &k, &err) != 0 ||
        chio_kernel_register_tool_server(k, &ts, &err) != 0 ||
        chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err) != 0) {
        rc = sc_fail(msg, "setup: %s", err.message);
        goto out;
    }
    s = (scraper){k, 0, 0, 0};
    pthread_create(&sth, NULL, scrape_thread, &s);
    for (i = 0; i < RV_THREADS; i++) {
        w[i] = (rv_worker){k, sid, i, 0, closing, ""};
        pthread_create(&th[i], NULL, rv_thread, &w[i]);
    }
    (void)testutil_wait_until(rv_ran_some, NULL, 10000);
    rc = closing ? close_until_closed(k, sid, msg)
         : chio_kernel_revoke_capability(k, "cap-r", &err) != 0
             ? sc_fail(msg, "revoke: %s", err.message)
             : 0;
    __atomic_store_n(&rv.revoked, 1, __ATOMIC_RELEASE);
    for (i = 0; i < RV_THREADS; i++)
        pthread_join(th[i], NULL);
    if (!testutil_wait_until(rv_all_called, NULL, 10000) && rc == 0)
        rc = sc_fail(msg, "%d of %d callbacks ran within 10 s", rv.called, rv.submitted);
    __atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
    pthread_join(sth, NULL);
    for (i = 0; i < RV_THREADS && rc == 0; i++)
        if (w[i].bad)
            rc = sc_fail(msg, "thread %d: %d bad calls, first %s", i, w[i].bad, w[i].what);
    if (rc == 0 && rv.late_runs != 0)
        rc =
            sc_fail(msg, "%d tool runs of calls begun after the revocation returned", rv.late_runs);
    if (rc == 0 && rv.bad_cb)
        rc = sc_fail(msg, "a callback ran twice");
    if (rc == 0 && s.failed)
        rc = sc_fail(msg, "a metrics scrape failed");
out:
    free(tok);
    chio_kernel_free(k);
    return rc;
}

int r28_revoke_storm(char *msg)
{
    return storm(0, msg);
}

int r28_close_storm(char *msg)
{
    return storm(1, msg);
}
