/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev32_life_held.c - review 32 of the kernel's
 * lifecycle and sessions: the attacks that found the kernel right, kept
 * as coverage (the findings and their regression tests are in
 * test_rev32_life.c). Real kernel, RocksDB, threads:
 *   - drains with asynchronous and synchronous calls queued, three runs on
 *     one store: every accepted call is answered once, the log holds
 *     exactly the answered decisions, contiguous from 1 across the
 *     restarts, with a checkpoint per crossed boundary and the counters
 *     restored at each start;
 *   - a streamed call in flight when drain begins sends chunks and makes
 *     nested sampling and elicitation requests after it began: answered
 *     whole, every receipt stored;
 *   - registration from another thread racing the first open_session:
 *     a prefix of registrations succeeds and serves, the rest are refused
 *     CHIO_ESERVING naming the cause;
 *   - session ids are the canonical base64url of 16 random bytes.
 * Waits are polls bounded by deadlines; nothing sleeps and hopes.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chio/chio.h"
#include "common/poll.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

static const char *const tools_t[] = {"t"};

/* ---- drain with calls queued, then restart ------------------------------------------------- */

#define RS_THREADS 3
#define RS_BATCH   7
#define RS_RUNS    3

typedef struct restart_run {
    chio_kernel *k;
    char sid[CHIO_SESSION_ID_LEN + 1];
    int ok;        /* atomic: decisions answered (sync rc 0, callbacks rc 0) */
    int callbacks; /* atomic */
    int accepted;  /* atomic: asynchronous submissions accepted */
    int bad;       /* atomic */
    int stop;      /* atomic */
} restart_run;

static void rs_cb(void *ctx, int rc, chio_response *resp, const chio_error *err)
{
    restart_run *run = ctx;

    (void)err;
    if (rc != 0 || resp->receipt == NULL || resp->verdict != CHIO_VERDICT_ALLOW)
        __atomic_store_n(&run->bad, 1, __ATOMIC_RELEASE);
    else
        __atomic_add_fetch(&run->ok, 1, __ATOMIC_ACQ_REL);
    __atomic_add_fetch(&run->callbacks, 1, __ATOMIC_ACQ_REL);
}

/* Async calls (and every fourth a sync one) until the kernel drains. */
static void *rs_submitter(void *arg)
{
    restart_run *run = arg;
    chio_response resp;
    chio_call c;
    int i, rc;

    kt_grant_call(&c, run->sid, "cap-a", "{\"n\":1}", 7);
    for (i = 0; !__atomic_load_n(&run->stop, __ATOMIC_ACQUIRE); i++) {
        if (i % 4 == 3) {
            rc = chio_kernel_evaluate(run->k, &c, &resp, NULL);
            if (rc == 0 && resp.receipt != NULL && resp.verdict == CHIO_VERDICT_ALLOW)
                __atomic_add_fetch(&run->ok, 1, __ATOMIC_ACQ_REL);
            else if (rc != CHIO_EDRAINED)
                __atomic_store_n(&run->bad, 1, __ATOMIC_RELEASE);
            chio_response_destroy(&resp);
        } else {
            rc = chio_kernel_evaluate_async(run->k, &c, rs_cb, run, NULL);
            if (rc == 0)
                __atomic_add_fetch(&run->accepted, 1, __ATOMIC_ACQ_REL);
            else if (rc != CHIO_EDRAINED)
                __atomic_store_n(&run->bad, 1, __ATOMIC_RELEASE);
        }
        if (rc == CHIO_EDRAINED)
            break;
    }
    return NULL;
}

static int rs_busy(void *arg)
{
    return __atomic_load_n(&((restart_run *)arg)->callbacks, __ATOMIC_ACQUIRE) >= 40;
}

/* kernel.md: drain signs and persists everything queued and emits the
 * checkpoints of every boundary crossed; sequence numbers are contiguous
 * from 1 and survive restarts; checkpoint counters are restored on open.
 * Three runs on one store, each drained while asynchronous calls are
 * queued: every accepted call is called back once, the log holds exactly
 * the answered decisions, contiguous, with receipts / batch checkpoints,
 * and the next run starts where the last one ended. */
Test(rev32_life_held, drains_with_calls_queued_lose_nothing_across_restarts)
{
    char *dir = testutil_tmpdir(), db[512];
    chio_kernel_config cfg;
    chio_kernel_metrics m;
    pthread_t th[RS_THREADS];
    uint64_t total = 0;
    restart_run run;
    int r, i;

    snprintf(db, sizeof(db), "%s/db", dir);
    for (r = 0; r < RS_RUNS; r++) {
        memset(&run, 0, sizeof(run));
        kt_config(&cfg, db);
        cfg.durability = CHIO_DURABILITY_NOSYNC;
        cfg.log_level = CHIO_LOG_ERROR;
        cfg.checkpoint_batch_size = RS_BATCH;
        cfg.ring_capacity = 64;
        run.k = kt_kernel(&cfg);
        kt_serve_echo(run.k, "srv", tools_t, 1);
        cr_assert_eq(chio_kernel_start(run.k, NULL), 0);
        cr_assert_eq(chio_kernel_metrics_get(run.k, &m), 0);
        cr_expect_eq(m.last_seq, total, "run %d starts at %llu, not after %llu", r,
                     (unsigned long long)m.last_seq, (unsigned long long)total);
        cr_expect_eq(m.last_checkpoint_seq, total / RS_BATCH, "run %d: checkpoint counter %llu", r,
                     (unsigned long long)m.last_checkpoint_seq);
        kt_grant_session(run.k, (uint64_t)time(NULL), "cap-a", "", run.sid);
        for (i = 0; i < RS_THREADS; i++)
            cr_assert_eq(pthread_create(&th[i], NULL, rs_submitter, &run), 0);
        cr_assert(testutil_wait_until(rs_busy, &run, 30000), "run %d: no calls answered", r);
        cr_assert_eq(chio_kernel_drain(run.k, NULL), 0);
        /* Drain returned: every accepted call was called back, once. */
        cr_expect_eq(__atomic_load_n(&run.callbacks, __ATOMIC_ACQUIRE),
                     __atomic_load_n(&run.accepted, __ATOMIC_ACQUIRE), "run %d", r);
        __atomic_store_n(&run.stop, 1, __ATOMIC_RELEASE);
        for (i = 0; i < RS_THREADS; i++)
            pthread_join(th[i], NULL);
        cr_expect_eq(__atomic_load_n(&run.bad, __ATOMIC_ACQUIRE), 0, "run %d: a bad answer", r);
        cr_expect_eq(__atomic_load_n(&run.callbacks, __ATOMIC_ACQUIRE),
                     __atomic_load_n(&run.accepted, __ATOMIC_ACQUIRE), "run %d", r);
        cr_assert_eq(chio_kernel_metrics_get(run.k, &m), 0);
        total += (uint64_t)__atomic_load_n(&run.ok, __ATOMIC_ACQUIRE);
        cr_expect_eq(m.last_seq, total, "run %d: %llu committed, %llu answered", r,
                     (unsigned long long)m.last_seq, (unsigned long long)total);
        cr_expect_eq(m.last_checkpoint_seq, total / RS_BATCH, "run %d", r);
        chio_kernel_free(run.k);
        cr_expect_eq(kt_check_log(db, RS_BATCH).receipts, total, "run %d", r);
    }
    testutil_rmrf(dir);
    free(dir);
}

/* ---- a call in flight when drain begins finishes whole ------------------------------------- */

typedef struct inflight_drain {
    chio_kernel *k;
    int tool_in;   /* atomic: the tool runs */
    int draining;  /* atomic: "kernel_draining" was logged */
    int saw_drain; /* the tool saw drain begin (within 10 s) */
    int emit_rc, sample_rc, elicit_rc;
} inflight_drain;

static inflight_drain g_id;

static void id_sink(void *ctx, chio_log_level level, const char *json, size_t len)
{
    (void)level;
    if (memmem(json, len, "\"kernel_draining\"", 17) != NULL)
        __atomic_store_n(&((inflight_drain *)ctx)->draining, 1, __ATOMIC_RELEASE);
}

static int id_host(void *user, chio_nested_kind kind, const char *session_id, const char *req,
                   size_t len, chio_output *reply)
{
    (void)user;
    (void)kind;
    (void)session_id;
    (void)req;
    (void)len;
    return chio_output_set_json(reply, "{\"ok\":true}", 11);
}

/* Streams a chunk, samples and elicits, all after drain began. */
static int id_stream_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                          size_t len, chio_output *out)
{
    inflight_drain *d = user;
    char *reply = NULL;
    size_t rlen = 0;
    uint64_t deadline = testutil_now_ms() + 10000;

    (void)tool;
    (void)args;
    (void)len;
    (void)out;
    __atomic_store_n(&d->tool_in, 1, __ATOMIC_RELEASE);
    while (!(d->saw_drain = __atomic_load_n(&d->draining, __ATOMIC_ACQUIRE)) &&
           testutil_now_ms() < deadline)
        sched_yield();
    d->emit_rc = chio_tool_ctx_emit_chunk(ctx, "{\"part\":1}", 10);
    d->sample_rc = chio_tool_ctx_sample(ctx, "{\"messages\":[]}", 15, 0, &reply, &rlen, NULL);
    chio_free(reply);
    reply = NULL;
    d->elicit_rc = chio_tool_ctx_elicit(ctx, "{\"message\":\"?\"}", 15, &reply, &rlen, NULL);
    chio_free(reply);
    return chio_tool_ctx_emit_chunk(ctx, "{\"part\":2}", 10);
}

typedef struct id_call {
    chio_call c;
    chio_response resp;
    int rc;
} id_call;

static void *id_caller(void *arg)
{
    id_call *ic = arg;

    ic->rc = chio_kernel_evaluate(g_id.k, &ic->c, &ic->resp, NULL);
    return NULL;
}

static void *id_drainer(void *arg)
{
    (void)arg;
    chio_kernel_drain(g_id.k, NULL);
    return NULL;
}

static int id_tool_in(void *arg)
{
    return __atomic_load_n(&((inflight_drain *)arg)->tool_in, __ATOMIC_ACQUIRE);
}

/* kernel.md: drain finishes calls in flight. A streamed call whose tool
 * sends chunks and asks for sampling and elicitation after drain began is
 * answered whole: allowed, its chunks as output, both nested requests
 * answered with their child receipts, every receipt in the store. */
Test(rev32_life_held, a_streamed_call_with_nested_requests_in_flight_at_drain_finishes_whole)
{
    char *dir = testutil_tmpdir(), db[512], sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel_config cfg;
    chio_tool_server ts;
    pthread_t caller, drainer;
    id_call ic;

    snprintf(db, sizeof(db), "%s/db", dir);
    memset(&g_id, 0, sizeof(g_id));
    kt_config(&cfg, db);
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.allow_sampling = 1;
    cfg.allow_elicitation = 1;
    cfg.checkpoint_batch_size = 3;
    cfg.log_level = CHIO_LOG_INFO; /* the sink hears kernel_draining */
    cfg.log = id_sink;
    cfg.log_ctx = &g_id;
    g_id.k = kt_kernel(&cfg);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools_t;
    ts.ntools = 1;
    ts.invoke = kt_echo_tool;
    ts.invoke_stream = id_stream_tool;
    ts.user = &g_id;
    cr_assert_eq(chio_kernel_register_tool_server(g_id.k, &ts, NULL), 0);
    cr_assert_eq(chio_kernel_set_nested_handler(g_id.k, id_host, NULL, NULL), 0);
    kt_grant_session(g_id.k, (uint64_t)time(NULL), "cap-a", "", sid);
    memset(&ic, 0, sizeof(ic));
    kt_grant_call(&ic.c, sid, "cap-a", "{}", 2);
    cr_assert_eq(pthread_create(&caller, NULL, id_caller, &ic), 0);
    cr_assert(testutil_wait_until(id_tool_in, &g_id, 10000), "the tool never ran");
    cr_assert_eq(pthread_create(&drainer, NULL, id_drainer, NULL), 0);
    cr_assert_eq(pthread_join(caller, NULL), 0);
    cr_assert_eq(pthread_join(drainer, NULL), 0);
    cr_expect(g_id.saw_drain, "the tool never saw drain begin");
    cr_expect_eq(ic.rc, 0);
    cr_expect_eq(ic.resp.verdict, CHIO_VERDICT_ALLOW);
    cr_expect_not_null(ic.resp.receipt);
    cr_expect_str_eq(ic.resp.output ? ic.resp.output : "", "[{\"part\":1},{\"part\":2}]");
    cr_expect_eq(g_id.emit_rc, 0);
    cr_expect_eq(g_id.sample_rc, 0);
    cr_expect_eq(g_id.elicit_rc, 0);
    cr_expect_eq(ic.resp.nchildren, 2);
    chio_response_destroy(&ic.resp);
    chio_kernel_free(g_id.k);
    /* Two child receipts and the call's: one full checkpoint batch. */
    cr_expect_eq(kt_check_log(db, 3).receipts, 3);
    cr_expect_eq(kt_check_log(db, 3).checkpoints, 1);
    testutil_rmrf(dir);
    free(dir);
}

/* ---- registration racing the first open_session --------------------------------------------- */

#define REG_SERVERS 32
#define REG_ROUNDS  100

typedef struct reg_race {
    chio_kernel *k;
    int go;                     /* atomic */
    int rc[REG_SERVERS];        /* each registration's result */
    char msg[REG_SERVERS][256]; /* and message */
} reg_race;

static reg_race g_rr;

static void *registrar(void *arg)
{
    reg_race *rr = arg;
    chio_tool_server ts;
    chio_error err;
    char id[16];
    int i;

    while (!__atomic_load_n(&rr->go, __ATOMIC_ACQUIRE))
        ;
    for (i = 0; i < REG_SERVERS; i++) {
        memset(&ts, 0, sizeof(ts));
        snprintf(id, sizeof(id), "s%d", i);
        ts.server_id = id;
        ts.tool_names = tools_t;
        ts.ntools = 1;
        ts.invoke = kt_echo_tool;
        chio_error_init(&err);
        rr->rc[i] = chio_kernel_register_tool_server(rr->k, &ts, &err);
        memcpy(rr->msg[i], err.message, sizeof(rr->msg[i]));
        rr->msg[i][sizeof(rr->msg[i]) - 1] = '\0';
    }
    return NULL;
}

/* kernel.md: "Registration closes when serving starts (first session
 * opened): later registration is refused with a clear error". Raced from
 * another thread against the first open_session: the registrations form
 * a prefix that succeeded, every one of them serving calls, then only
 * CHIO_ESERVING refusals naming the cause, whose servers are unknown to
 * the kernel (tool_not_registered). */
Test(rev32_life_held, registration_racing_the_first_open_session_closes_cleanly)
{
    char *tok = tk_token(TK_KERNEL_SEED, "cap-any", TK_AGENT_PUB,
                         "{\"grants\":[{\"server_id\":\"*\",\"tool_name\":\"*\","
                         "\"operations\":[\"invoke\"]}]}",
                         (uint64_t)time(NULL) - 10, 100, NULL, 0);
    const char *caps[1] = {tok};
    char sid[CHIO_SESSION_ID_LEN + 1], server[16];
    chio_kernel_config cfg;
    chio_response resp;
    chio_call c;
    pthread_t th;
    int round, i, refused, some_ok = 0, some_refused = 0;

    cr_assert_not_null(tok);
    for (round = 0; round < REG_ROUNDS; round++) {
        memset(&g_rr, 0, sizeof(g_rr));
        kt_config(&cfg, NULL);
        cfg.durability = CHIO_DURABILITY_NOSYNC;
        g_rr.k = kt_kernel(&cfg);
        cr_assert_eq(pthread_create(&th, NULL, registrar, &g_rr), 0);
        __atomic_store_n(&g_rr.go, 1, __ATOMIC_RELEASE);
        for (i = 0; i < round % 50; i++) /* vary where the open lands */
            sched_yield();
        cr_assert_eq(chio_kernel_open_session(g_rr.k, TK_AGENT_PUB, caps, NULL, 1, sid, NULL), 0);
        cr_assert_eq(pthread_join(th, NULL), 0);
        for (i = 0, refused = 0; i < REG_SERVERS; i++) {
            if (g_rr.rc[i] != 0) {
                cr_assert_eq(g_rr.rc[i], CHIO_ESERVING, "round %d, server %d: %d (%s)", round, i,
                             g_rr.rc[i], g_rr.msg[i]);
                cr_assert_not_null(strstr(g_rr.msg[i], "serving"), "%s", g_rr.msg[i]);
                refused = 1;
            } else {
                cr_assert(!refused, "round %d: server %d registered after a refusal", round, i);
            }
            snprintf(server, sizeof(server), "s%d", i);
            memset(&c, 0, sizeof(c));
            c.session_id = sid;
            c.capability_id = "cap-any";
            c.server_id = server;
            c.tool_name = "t";
            cr_assert_eq(chio_kernel_evaluate(g_rr.k, &c, &resp, NULL), 0);
            cr_assert_eq(resp.verdict, g_rr.rc[i] == 0 ? CHIO_VERDICT_ALLOW : CHIO_VERDICT_DENY,
                         "round %d, server %d", round, i);
            if (g_rr.rc[i] != 0)
                cr_assert_eq(resp.code, CHIO_CODE_TOOL_NOT_REGISTERED);
            chio_response_destroy(&resp);
        }
        some_refused |= refused;
        some_ok |= g_rr.rc[0] == 0;
        chio_kernel_free(g_rr.k);
    }
    free(tok);
    cr_log_info("rounds with a registration before the open: %d; with a refusal: %d", some_ok,
                some_refused);
}

/* ---- session ids ---------------------------------------------------------------------------- */

/* kernel.md: an id is "sess-" + 22 base64url characters of 16 random
 * bytes. 22 characters carry 132 bits, so the last holds 2 bits of the
 * 16th byte and 4 zero bits: it is one of A, Q, g, w, or the id is not
 * the encoding of 16 bytes. Every other position takes many values over
 * a few hundred ids (random, not a counter), and no id repeats. */
Test(rev32_life_held, session_ids_encode_sixteen_random_bytes)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    static char ids[256][CHIO_SESSION_ID_LEN + 1];
    int seen[CHIO_SESSION_ID_LEN][64];
    chio_kernel *k = kt_echo_kernel(NULL, NULL, "srv", tools_t, 1);
    size_t i, j, pos, distinct;

    memset(seen, 0, sizeof(seen));
    for (i = 0; i < 256; i++) {
        cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, NULL, NULL, 0, ids[i], NULL), 0);
        cr_assert_eq(strlen(ids[i]), CHIO_SESSION_ID_LEN);
        cr_assert_eq(strncmp(ids[i], "sess-", 5), 0);
        for (pos = 5; pos < CHIO_SESSION_ID_LEN; pos++) {
            const char *at = strchr(b64, ids[i][pos]);
            cr_assert(at != NULL && *at != '\0', "%s: not base64url", ids[i]);
            seen[pos][at - b64] = 1;
        }
        cr_assert_not_null(strchr("AQgw", ids[i][CHIO_SESSION_ID_LEN - 1]),
                           "%s: the last character carries bits past the 16th byte", ids[i]);
        for (j = 0; j < i; j++)
            cr_assert_str_neq(ids[i], ids[j]);
    }
    for (pos = 5; pos < CHIO_SESSION_ID_LEN - 1; pos++) {
        for (distinct = 0, j = 0; j < 64; j++)
            distinct += (size_t)seen[pos][j];
        cr_expect_gt(distinct, 32, "position %zu took %zu values over 256 ids", pos, distinct);
    }
    for (distinct = 0, j = 0; j < 64; j++)
        distinct += (size_t)seen[CHIO_SESSION_ID_LEN - 1][j];
    cr_expect_eq(distinct, 4, "the last position took %zu values", distinct);
    chio_kernel_free(k);
}
