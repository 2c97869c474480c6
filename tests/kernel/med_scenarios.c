/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/med_scenarios.c - see med_scenarios.h.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/poll.h"
#include "kernel/med_scenarios.h"
#include "kernel/scenarios.h"
#include "kernel/tokens.h"

#define NOW SC_NOW

/* ---- tools ------------------------------------------------------------------------------- */

static int echo_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                     chio_output *out)
{
    char buf[4096];

    (void)user;
    (void)ctx;
    (void)tool;
    snprintf(buf, sizeof(buf), "{\"echo\":%.*s}", (int)len, args);
    return chio_output_set_json(out, buf, strlen(buf));
}

/* A tool that blocks until released. */
typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int entered, released;
} gate;

static int blocking_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                         size_t len, chio_output *out)
{
    gate *g = user;

    pthread_mutex_lock(&g->mu);
    g->entered++;
    pthread_cond_broadcast(&g->cv);
    while (!g->released)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    return echo_tool(NULL, ctx, tool, args, len, out);
}

static void gate_wait_entered(gate *g, int n)
{
    pthread_mutex_lock(&g->mu);
    while (g->entered < n)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void gate_release(gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->released = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* ---- setup --------------------------------------------------------------------------------- */

/* An ephemeral kernel on the fixed clock with tool server "srv" (tools
 * "t" and "block"; "block" waits on @g when given). */
static chio_kernel *kernel(gate *g, char *msg)
{
    static const char *const tools[] = {"t"};
    static const char *const btools[] = {"block"};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_kernel *k = NULL;
    chio_error err;

    chio_error_init(&err);
    if (sc_config(&cfg, NULL) != 0) {
        sc_fail(msg, "config");
        return NULL;
    }
    cfg.clock = sc_fixed_clock;
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
    if (chio_kernel_register_tool_server(k, &ts, &err) != 0)
        goto bad;
    if (g != NULL) {
        ts.server_id = "srv-block";
        ts.tool_names = btools;
        ts.invoke = blocking_tool;
        ts.user = g;
        if (chio_kernel_register_tool_server(k, &ts, &err) != 0)
            goto bad;
    }
    return k;
bad:
    sc_fail(msg, "register: %s", err.message);
    chio_kernel_free(k);
    return NULL;
}

static int open_with(chio_kernel *k, const char *token, char id[CHIO_SESSION_ID_LEN + 1], char *msg)
{
    chio_error err;
    const char *caps[1] = {token};

    chio_error_init(&err);
    if (token == NULL)
        return sc_fail(msg, "token could not be built");
    if (chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, id, &err) != 0)
        return sc_fail(msg, "open_session: %s", err.message);
    return 0;
}

static int call(chio_kernel *k, const char *sid, const char *cap, const char *server,
                const char *tool, chio_response *resp, chio_error *err)
{
    chio_call c;

    memset(&c, 0, sizeof(c));
    c.session_id = sid;
    c.capability_id = cap;
    c.server_id = server;
    c.tool_name = tool;
    c.arguments_json = "{\"q\":1}";
    c.arguments_len = 7;
    chio_error_init(err);
    return chio_kernel_evaluate(k, &c, resp, err);
}

static int receipt_ok(const chio_response *r)
{
    uint8_t pub[32];
    chio_receipt_report rep;

    chio_pubkey_from_hex(SC_PUB, 64, pub);
    return r->receipt != NULL && chio_receipt_verify(r->receipt, pub, 1, &rep) == 0 && rep.ok;
}

/* ---- budget race ----------------------------------------------------------------------------- */

typedef struct race {
    chio_kernel *k;
    const char *sid;
    pthread_barrier_t *start;
    int rc;
    chio_verdict verdict;
    chio_code code;
    int verified;
} race;

static void *race_thread(void *arg)
{
    race *r = arg;
    chio_response resp;
    chio_error err;

    chio_response_init(&resp);
    pthread_barrier_wait(r->start);
    r->rc = call(r->k, r->sid, "cap-budget", "srv", "t", &resp, &err);
    r->verdict = resp.verdict;
    r->code = resp.code;
    r->verified = receipt_ok(&resp);
    chio_response_destroy(&resp);
    return NULL;
}

int ms_budget_race(char *msg)
{
    enum { N = 64 };
    pthread_t th[N];
    race rs[N];
    pthread_barrier_t start;
    char sid[CHIO_SESSION_ID_LEN + 1], *tok;
    chio_kernel *k = kernel(NULL, msg);
    int i, allows = 0, exhausted = 0, rc = 0;

    if (k == NULL)
        return -1;
    tok = tk_token(TK_KERNEL_SEED, "cap-budget", TK_AGENT_PUB,
                   "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
                   "\"operations\":[\"invoke\"],\"max_invocations\":10}]}",
                   NOW - 100, 1000, NULL, 0);
    if (open_with(k, tok, sid, msg) != 0) {
        free(tok);
        chio_kernel_free(k);
        return -1;
    }
    pthread_barrier_init(&start, NULL, N);
    for (i = 0; i < N; i++) {
        rs[i] = (race){k, sid, &start, 0, 0, 0, 0};
        pthread_create(&th[i], NULL, race_thread, &rs[i]);
    }
    for (i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
    for (i = 0; i < N && rc == 0; i++) {
        if (rs[i].rc != 0)
            rc = sc_fail(msg, "call %d failed: %s", i, chio_strerror(rs[i].rc));
        else if (!rs[i].verified)
            rc = sc_fail(msg, "call %d: receipt does not verify", i);
        else if (rs[i].verdict == CHIO_VERDICT_ALLOW)
            allows++;
        else if (rs[i].code == CHIO_CODE_BUDGET_EXHAUSTED)
            exhausted++;
    }
    if (rc == 0 && (allows != 10 || exhausted != N - 10))
        rc = sc_fail(msg, "%d allows and %d budget_exhausted (want 10 and %d)", allows, exhausted,
                     N - 10);
    free(tok);
    chio_kernel_free(k);
    return rc;
}

/* ---- close / drain with calls in flight ------------------------------------------------------ */

typedef struct blocked {
    chio_kernel *k;
    const char *sid;
    int rc;
    chio_verdict verdict;
    int verified;
} blocked;

static void *blocked_thread(void *arg)
{
    blocked *b = arg;
    chio_response resp;
    chio_error err;

    chio_response_init(&resp);
    b->rc = call(b->k, b->sid, "cap-all", "srv-block", "block", &resp, &err);
    b->verdict = resp.verdict;
    b->verified = receipt_ok(&resp);
    chio_response_destroy(&resp);
    return NULL;
}

static char *all_token(void)
{
    return tk_token(TK_KERNEL_SEED, "cap-all", TK_AGENT_PUB,
                    "{\"grants\":[{\"server_id\":\"*\",\"tool_name\":\"*\","
                    "\"operations\":[\"invoke\"]}]}",
                    NOW - 100, 1000, NULL, 0);
}

int ms_close_inflight(char *msg)
{
    gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    chio_kernel *k = kernel(&g, msg);
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = all_token();
    chio_session_state st;
    chio_response resp;
    chio_error err;
    blocked b;
    pthread_t th;
    int rc = 0, crc;

    if (k == NULL || open_with(k, tok, sid, msg) != 0) {
        free(tok);
        chio_kernel_free(k);
        return -1;
    }
    b = (blocked){k, sid, 0, 0, 0};
    pthread_create(&th, NULL, blocked_thread, &b);
    gate_wait_entered(&g, 1);

    chio_error_init(&err);
    crc = chio_kernel_close_session(k, sid, &err);
    if (crc != CHIO_ESESSION_ACTIVE ||
        strcmp(err.message, "cannot close while 1 request(s) remain active") != 0)
        rc = sc_fail(msg, "close with a call in flight: rc %d '%s'", crc, err.message);
    if (rc == 0 && (chio_kernel_session_state(k, sid, &st) != 0 || st != CHIO_SESSION_DRAINING))
        rc = sc_fail(msg, "session not forced to draining");
    chio_response_init(&resp);
    if (rc == 0 &&
        (crc = call(k, sid, "cap-all", "srv", "t", &resp, &err)) != CHIO_ESESSION_DRAINING)
        rc = sc_fail(msg, "new call on a draining session: rc %d", crc);
    if (rc == 0 && resp.receipt != NULL)
        rc = sc_fail(msg, "a refused call has a receipt");
    chio_response_destroy(&resp);

    gate_release(&g);
    pthread_join(th, NULL);
    if (rc == 0 && (b.rc != 0 || b.verdict != CHIO_VERDICT_ALLOW || !b.verified))
        rc = sc_fail(msg, "the in-flight call did not finish with a verified allow (rc %d)", b.rc);
    if (rc == 0 && (crc = chio_kernel_close_session(k, sid, &err)) != 0)
        rc = sc_fail(msg, "close after the call: %s", err.message);
    if (rc == 0 && (chio_kernel_session_state(k, sid, &st) != 0 || st != CHIO_SESSION_CLOSED))
        rc = sc_fail(msg, "session not closed");
    if (rc == 0 && chio_kernel_close_session(k, sid, &err) != 0)
        rc = sc_fail(msg, "closing a closed session is not a no-op");
    if (rc == 0 && chio_kernel_begin_draining_session(k, sid, &err) != CHIO_ESESSION_CLOSED)
        rc = sc_fail(msg, "a closed session went back to draining");
    chio_response_init(&resp);
    if (rc == 0 && (crc = call(k, sid, "cap-all", "srv", "t", &resp, &err)) != CHIO_ESESSION_CLOSED)
        rc = sc_fail(msg, "call on a closed session: rc %d", crc);
    chio_response_destroy(&resp);
    free(tok);
    chio_kernel_free(k);
    return rc;
}

typedef struct drainer {
    chio_kernel *k;
    int rc, done;
} drainer;

/* For testutil_wait_until: the kernel says a drain has begun. */
static int kernel_draining(void *k)
{
    chio_kernel_metrics m;

    return chio_kernel_metrics_get(k, &m) == 0 && m.draining;
}

static void *drain_thread(void *arg)
{
    drainer *d = arg;

    d->rc = chio_kernel_drain(d->k, NULL);
    __atomic_store_n(&d->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

int ms_drain_inflight(char *msg)
{
    gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    chio_kernel *k = kernel(&g, msg);
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = all_token();
    chio_kernel_metrics m;
    chio_response resp;
    chio_error err;
    drainer d;
    blocked b;
    pthread_t th, dt;
    int rc = 0, crc;

    if (k == NULL || open_with(k, tok, sid, msg) != 0) {
        free(tok);
        chio_kernel_free(k);
        return -1;
    }
    b = (blocked){k, sid, 0, 0, 0};
    pthread_create(&th, NULL, blocked_thread, &b);
    gate_wait_entered(&g, 1);
    d = (drainer){k, 0, 0};
    pthread_create(&dt, NULL, drain_thread, &d);
    /* Wait (10 s at most) until the drain has begun, then: new calls are
     * refused, and the drain is still waiting for the blocked call. */
    if (!testutil_wait_until(kernel_draining, k, 10000))
        rc = sc_fail(msg, "the kernel did not start draining within 10 s");
    chio_response_init(&resp);
    if (rc == 0 && (crc = call(k, sid, "cap-all", "srv", "t", &resp, &err)) != CHIO_EDRAINED)
        rc = sc_fail(msg, "a new call during drain: rc %d", crc);
    chio_response_destroy(&resp);
    if (rc == 0 && __atomic_load_n(&d.done, __ATOMIC_SEQ_CST))
        rc = sc_fail(msg, "drain returned while a call was in flight");
    gate_release(&g);
    pthread_join(th, NULL);
    pthread_join(dt, NULL);
    if (rc == 0 && (b.rc != 0 || b.verdict != CHIO_VERDICT_ALLOW || !b.verified))
        rc = sc_fail(msg, "the in-flight call lost its receipt (rc %d)", b.rc);
    chio_kernel_metrics_get(k, &m);
    if (rc == 0 && m.receipts_signed != 1)
        rc = sc_fail(msg, "%llu receipts signed, want 1", (unsigned long long)m.receipts_signed);
    free(tok);
    chio_kernel_free(k);
    return rc;
}

/* ---- mixed load with revocation ---------------------------------------------------------------
 */

enum { MIX_THREADS = 16, MIX_SESSIONS = 8, MIX_CALLS = 60 };

typedef struct mixed {
    chio_kernel *k;
    char sids[MIX_SESSIONS][CHIO_SESSION_ID_LEN + 1];
    int revoked_done[MIX_SESSIONS]; /* atomic: revocation of cap-<i> returned */
    int errors;                     /* atomic */
    char msg[SC_MSG];
    pthread_mutex_t mu;
} mixed;

typedef struct mixed_arg {
    mixed *m;
    int t;
} mixed_arg;

static void *mixed_thread(void *arg)
{
    mixed_arg *a = arg;
    mixed *m = a->m;
    int i;

    for (i = 0; i < MIX_CALLS; i++) {
        int s = (a->t + i) % MIX_SESSIONS;
        char cap[16];
        chio_response resp;
        chio_error err;
        int was_revoked = __atomic_load_n(&m->revoked_done[s], __ATOMIC_SEQ_CST), rc;

        snprintf(cap, sizeof(cap), "cap-%d", s);
        chio_response_init(&resp);
        chio_error_init(&err);
        {
            chio_call c;
            memset(&c, 0, sizeof(c));
            c.session_id = m->sids[s];
            c.capability_id = cap;
            c.server_id = "srv";
            c.tool_name = "t";
            c.arguments_json = i % 7 == 0 ? "{\"path\":\"/etc/shadow\"}" : "{\"path\":\"/w/a\"}";
            c.arguments_len = strlen(c.arguments_json);
            rc = chio_kernel_evaluate(m->k, &c, &resp, &err);
        }
        if (rc != 0 || !receipt_ok(&resp) ||
            (was_revoked && resp.code != CHIO_CODE_CAPABILITY_REVOKED) ||
            (i % 7 == 0 && resp.verdict == CHIO_VERDICT_ALLOW)) {
            pthread_mutex_lock(&m->mu);
            if (m->errors++ == 0)
                snprintf(m->msg, sizeof(m->msg), "thread %d call %d: rc %d verdict %d code %s",
                         a->t, i, rc, resp.verdict, chio_code_name(resp.code));
            pthread_mutex_unlock(&m->mu);
        }
        chio_response_destroy(&resp);
    }
    return NULL;
}

int ms_mixed(char *msg)
{
    static const char *const prefixes[] = {"/etc/"};
    mixed *m = calloc(1, sizeof(*m));
    pthread_t th[MIX_THREADS];
    mixed_arg args[MIX_THREADS];
    chio_error err;
    int i, rc = 0;

    if (m == NULL)
        return sc_fail(msg, "out of memory");
    pthread_mutex_init(&m->mu, NULL);
    m->k = kernel(NULL, msg);
    if (m->k == NULL) {
        free(m);
        return -1;
    }
    chio_error_init(&err);
    if (chio_kernel_add_forbidden_path_guard(m->k, "paths", prefixes, 1, &err) != 0)
        rc = sc_fail(msg, "guard: %s", err.message);
    for (i = 0; rc == 0 && i < MIX_SESSIONS; i++) {
        char id[16], *tok;
        snprintf(id, sizeof(id), "cap-%d", i);
        tok = tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB,
                       "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"*\","
                       "\"operations\":[\"invoke\"]}]}",
                       NOW - 100, 1000, NULL, 0);
        rc = open_with(m->k, tok, m->sids[i], msg);
        free(tok);
    }
    for (i = 0; rc == 0 && i < MIX_THREADS; i++) {
        args[i] = (mixed_arg){m, i};
        pthread_create(&th[i], NULL, mixed_thread, &args[i]);
    }
    if (rc == 0) {
        for (i = 0; i < MIX_SESSIONS; i += 2) {
            char id[16];
            snprintf(id, sizeof(id), "cap-%d", i);
            if (chio_kernel_revoke_capability(m->k, id, &err) != 0)
                rc = sc_fail(msg, "revoke: %s", err.message);
            __atomic_store_n(&m->revoked_done[i], 1, __ATOMIC_SEQ_CST);
        }
        for (i = 0; i < MIX_THREADS; i++)
            pthread_join(th[i], NULL);
    }
    if (rc == 0 && m->errors)
        rc = sc_fail(msg, "%d bad outcomes; first: %s", m->errors, m->msg);
    chio_kernel_free(m->k);
    pthread_mutex_destroy(&m->mu);
    free(m);
    return rc;
}
