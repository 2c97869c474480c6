/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev30_async.c - review 30 of the asynchronous and
 * cancellable entry points under real concurrency (real kernel, RocksDB
 * under the test's temp dir, Ed25519, threads):
 *   - a host cancel racing the dispatch and the commit: every call is a
 *     decision with a committed receipt (allow with output, or cancelled
 *     without), whether or not its tool ran;
 *   - drain racing asynchronous calls whose callbacks submit more calls
 *     and close their sessions: every accepted call is called back exactly
 *     once, every rc 0 callback's receipt is in the store and nothing else
 *     is, and the in-flight budget is whole again after the drain;
 *   - the error paths (refused calls, refused options, closed and draining
 *     sessions, callbacks refused for a spent budget) return every credit
 *     and every session count: the kernel still takes a full budget of
 *     calls and the session closes at once;
 *   - an asynchronous call from the log sink with the budget spent (a
 *     finding: it ran its tool, then waited for a credit holding the log
 *     lock) fails at once with CHIO_EDEADLK before any check or dispatch;
 *   - the callback of a session's only asynchronous call can close the
 *     session (a finding: the submitter still counted in the session
 *     while the callback ran, and the close failed "cannot close while 1
 *     request(s) remain active").
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
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NOW 1710000100u

static uint64_t fixed_clock(void *ctx)
{
    (void)ctx;
    return NOW;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Yield until *@v reads at least @want or @ms pass; returns the last read. */
static int wait_at_least(const int *v, int want, uint64_t ms)
{
    uint64_t end = mono_ms() + ms;
    struct timespec nap = {0, 200000};
    int seen;

    while ((seen = __atomic_load_n(v, __ATOMIC_ACQUIRE)) < want && mono_ms() < end)
        nanosleep(&nap, NULL);
    return seen;
}

/* Poll the kernel's in-flight gauge down to zero, for @ms at most. */
static uint64_t wait_in_flight_zero(chio_kernel *k, uint64_t ms)
{
    uint64_t end = mono_ms() + ms, n;
    struct timespec nap = {0, 200000};

    while ((n = chio_kernel_in_flight(k)) != 0 && mono_ms() < end)
        nanosleep(&nap, NULL);
    return n;
}

/* ---- the tool ---------------------------------------------------------------------------- */

static int g_tool_runs;

/* {"spin":N}: polls chio_tool_ctx_cancelled() N times (returns early once
 * cancelled); then answers its arguments. */
static int spin_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                     chio_output *out)
{
    const char *p = strstr(args, "\"spin\":");
    long n = p ? strtol(p + 7, NULL, 10) : 0, i;

    (void)user;
    (void)tool;
    __atomic_add_fetch(&g_tool_runs, 1, __ATOMIC_RELAXED);
    for (i = 0; i < n && !chio_tool_ctx_cancelled(ctx); i++)
        sched_yield();
    return chio_output_set_json(out, args, len);
}

static chio_kernel *spin_kernel(const char *path, uint32_t ring)
{
    static const char *const tools[] = {"t"};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_error err;
    chio_kernel *k;

    kt_config(&cfg, path);
    cfg.clock = fixed_clock;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    cfg.checkpoint_batch_size = 0;
    cfg.signer_threads = 2;
    if (ring != 0)
        cfg.ring_capacity = ring;
    k = kt_kernel(&cfg);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = spin_tool;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0, "%s", err.message);
    __atomic_store_n(&g_tool_runs, 0, __ATOMIC_RELAXED);
    return k;
}

/* ---- a cancel racing the dispatch and the commit ------------------------------------------ */

#define CANCEL_THREADS 4
#define CANCEL_CALLS   60

typedef struct cancel_slot {
    int flag;     /* the call's cancel flag */
    int started;  /* the caller is about to call */
    int finished; /* the call returned */
} cancel_slot;

typedef struct cancel_run {
    chio_kernel *k;
    const char *sid;
    cancel_slot slots[CANCEL_THREADS][CANCEL_CALLS];
    int allows, cancels, others, errors;
    char why[512];
} cancel_run;

typedef struct cancel_arg {
    cancel_run *run;
    int t;
} cancel_arg;

static void *cancel_caller(void *p)
{
    cancel_arg *a = p;
    cancel_run *run = a->run;
    chio_call_options o;
    chio_response resp;
    chio_error err;
    char args[64];
    chio_call c;
    int i, rc;

    for (i = 0; i < CANCEL_CALLS; i++) {
        cancel_slot *s = &run->slots[a->t][i];
        /* A spread of tool lengths: the cancel lands before, during and
         * after the tool, and while the receipt is being committed. */
        snprintf(args, sizeof(args), "{\"spin\":%d}", (i * 37) % 400);
        kt_grant_call(&c, run->sid, "cap-a", args, strlen(args));
        memset(&o, 0, sizeof(o));
        o.cancel = &s->flag;
        if (i % 5 == 4)
            o.timeout_ms = 1; /* the timeout races the same way */
        chio_error_init(&err);
        __atomic_store_n(&s->started, 1, __ATOMIC_RELEASE);
        rc = chio_kernel_evaluate_ex(run->k, &c, &o, &resp, &err);
        __atomic_store_n(&s->finished, 1, __ATOMIC_RELEASE);
        if (rc != 0) {
            __atomic_add_fetch(&run->errors, 1, __ATOMIC_RELAXED);
            snprintf(run->why, sizeof(run->why), "call %d/%d: %.200s", a->t, i, err.message);
        } else if (resp.verdict == CHIO_VERDICT_ALLOW && resp.output != NULL &&
                   resp.receipt != NULL) {
            __atomic_add_fetch(&run->allows, 1, __ATOMIC_RELAXED);
        } else if (resp.verdict == CHIO_VERDICT_CANCELLED && resp.code == CHIO_CODE_CANCELLED &&
                   resp.output == NULL && resp.receipt != NULL) {
            __atomic_add_fetch(&run->cancels, 1, __ATOMIC_RELAXED);
        } else {
            __atomic_add_fetch(&run->others, 1, __ATOMIC_RELAXED);
        }
        chio_response_destroy(&resp);
    }
    return NULL;
}

/* Flips each call's flag once its caller started, after a varying spin. */
static void *canceller(void *p)
{
    cancel_run *run = p;
    int i, t;
    long spin;

    for (i = 0; i < CANCEL_CALLS; i++)
        for (t = 0; t < CANCEL_THREADS; t++) {
            cancel_slot *s = &run->slots[t][i];
            (void)wait_at_least(&s->started, 1, 10000);
            for (spin = 0;
                 spin < (i * 53 + t * 17) % 300 && !__atomic_load_n(&s->finished, __ATOMIC_ACQUIRE);
                 spin++)
                sched_yield();
            __atomic_store_n(&s->flag, 1, __ATOMIC_RELAXED);
        }
    return NULL;
}

Test(rev30_async, a_cancel_racing_dispatch_and_commit_always_leaves_a_committed_decision)
{
    char path[512], sid[CHIO_SESSION_ID_LEN + 1], *dir = testutil_tmpdir();
    pthread_t callers[CANCEL_THREADS], cth;
    cancel_arg args[CANCEL_THREADS];
    cancel_run *run = calloc(1, sizeof(*run));
    kt_log_report rep;
    int t, total = CANCEL_THREADS * CANCEL_CALLS;

    cr_assert_not_null(run);
    snprintf(path, sizeof(path), "%s/receipts", dir);
    run->k = spin_kernel(path, 0);
    kt_grant_session(run->k, NOW, "cap-a", "", sid);
    run->sid = sid;
    for (t = 0; t < CANCEL_THREADS; t++) {
        args[t].run = run;
        args[t].t = t;
        cr_assert_eq(pthread_create(&callers[t], NULL, cancel_caller, &args[t]), 0);
    }
    cr_assert_eq(pthread_create(&cth, NULL, canceller, run), 0);
    for (t = 0; t < CANCEL_THREADS; t++)
        pthread_join(callers[t], NULL);
    pthread_join(cth, NULL);
    cr_expect_eq(run->errors, 0, "%d calls failed: %s", run->errors, run->why);
    cr_expect_eq(run->others, 0, "%d answers neither an allow nor a clean cancel", run->others);
    cr_expect_eq(run->allows + run->cancels, total);
    cr_expect_eq(wait_in_flight_zero(run->k, 10000), 0);
    chio_kernel_free(run->k);
    /* One receipt per call: every tool that ran has its call's decision
     * in the store, and no cancel produced a second or a missing one. */
    rep = kt_check_log(path, 0);
    cr_expect_eq(rep.receipts, (uint64_t)total, "%llu receipts for %d calls",
                 (unsigned long long)rep.receipts, total);
    cr_expect_leq(__atomic_load_n(&g_tool_runs, __ATOMIC_RELAXED), total);
    free(run);
    testutil_rmrf(dir);
    free(dir);
}

/* ---- drain racing asynchronous chains and session closes --------------------------------- */

#define CHAIN_THREADS 3
#define CHAIN_POOL    30000

typedef struct chain_run chain_run;

typedef struct chain_call {
    chain_run *run;
    char sid[CHIO_SESSION_ID_LEN + 1];
    int accepted; /* submission returned 0: the callback is owed */
    int runs;     /* callbacks seen */
    int depth;    /* calls this one's callback may still chain */
} chain_call;

struct chain_run {
    chio_kernel *k;
    chain_call pool[CHAIN_POOL];
    int next;                   /* pool entries handed out */
    int callbacks, ok, sync_ok; /* callbacks run, rc 0 ones, sync allows and denies */
    int bad;                    /* contract breaches seen, with why */
    int closes, close_active;   /* closes from callbacks: 0, or "cannot close while" */
    char why[512];
};

static void chain_bad(chain_run *run, const char *what, const char *detail)
{
    __atomic_add_fetch(&run->bad, 1, __ATOMIC_RELAXED);
    snprintf(run->why, sizeof(run->why), "%.100s: %.200s", what, detail);
}

/* The errors a refused submission may give while sessions close and the
 * kernel drains (none of them signs anything). */
static int refusal_ok(int rc)
{
    return rc == CHIO_EDRAINED || rc == CHIO_ESESSION_CLOSED || rc == CHIO_ESESSION_DRAINING ||
           rc == CHIO_ENOSESSION || rc == CHIO_EDEADLK;
}

static void chain_cb(void *ctx, int rc, chio_response *resp, const chio_error *err);

/* Submit one asynchronous call of @sid; 0 when accepted. */
static int chain_submit(chain_run *run, const char *sid, int depth)
{
    int i = __atomic_fetch_add(&run->next, 1, __ATOMIC_RELAXED), rc;
    chain_call *c;
    chio_error err;
    chio_call call;

    if (i >= CHAIN_POOL)
        return CHIO_EDRAINED; /* pool spent: stop submitting */
    c = &run->pool[i];
    c->run = run;
    memcpy(c->sid, sid, sizeof(c->sid));
    c->depth = depth;
    kt_grant_call(&call, c->sid, "cap-a", "{\"spin\":3}", 10);
    chio_error_init(&err);
    /* Accepted before the submission, since the callback may run first. */
    __atomic_store_n(&c->accepted, 1, __ATOMIC_RELEASE);
    rc = chio_kernel_evaluate_async(run->k, &call, chain_cb, c, &err);
    if (rc != 0) {
        __atomic_store_n(&c->accepted, 0, __ATOMIC_RELEASE);
        if (!refusal_ok(rc))
            chain_bad(run, "submission refused unexpectedly", err.message);
    }
    return rc;
}

static void chain_cb(void *ctx, int rc, chio_response *resp, const chio_error *err)
{
    chain_call *c = ctx;
    chain_run *run = c->run;
    chio_error cerr;
    int n, crc;

    if (__atomic_add_fetch(&c->runs, 1, __ATOMIC_ACQ_REL) != 1)
        chain_bad(run, "a callback ran twice", c->sid);
    if (!__atomic_load_n(&c->accepted, __ATOMIC_ACQUIRE))
        chain_bad(run, "a callback ran for a refused submission", c->sid);
    if (rc == 0 && (resp->receipt == NULL || resp->request_id == NULL))
        chain_bad(run, "rc 0 without a receipt", c->sid);
    if (rc != 0)
        chain_bad(run, "a callback with an error", err->message);
    if (rc == 0)
        __atomic_add_fetch(&run->ok, 1, __ATOMIC_RELAXED);
    n = __atomic_add_fetch(&run->callbacks, 1, __ATOMIC_RELEASE);
    if (c->depth > 0)
        (void)chain_submit(run, c->sid, c->depth - 1);
    if (n % 7 == 0) { /* close the session from its own callback */
        chio_error_init(&cerr);
        crc = chio_kernel_close_session(run->k, c->sid, &cerr);
        if (crc == 0)
            __atomic_add_fetch(&run->closes, 1, __ATOMIC_RELAXED);
        else if (crc == CHIO_ESESSION_ACTIVE && strstr(cerr.message, "cannot close while") != NULL)
            __atomic_add_fetch(&run->close_active, 1, __ATOMIC_RELAXED);
        else
            chain_bad(run, "close from a callback", cerr.message);
    }
}

typedef struct chain_thread {
    chain_run *run;
    int stop;
} chain_thread;

/* One session of this thread's at a time: a new one once it is closed. */
static void *chain_submitter(void *p)
{
    chain_thread *ct = p;
    chain_run *run = ct->run;
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_response resp;
    chio_error err;
    chio_call call;
    int i, rc, have = 0;

    for (i = 0; !__atomic_load_n(&ct->stop, __ATOMIC_ACQUIRE); i++) {
        if (!have) {
            char *tok = tk_token(TK_KERNEL_SEED, "cap-a", TK_AGENT_PUB,
                                 "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
                                 "\"operations\":[\"invoke\"]}]}",
                                 NOW - 10, 100, NULL, 0);
            const char *caps[1] = {tok};
            chio_error_init(&err);
            rc = chio_kernel_open_session(run->k, TK_AGENT_PUB, caps, NULL, 1, sid, &err);
            free(tok);
            if (rc == CHIO_EDRAINED)
                break;
            if (rc != 0) {
                chain_bad(run, "open_session", err.message);
                break;
            }
            have = 1;
        }
        if (i % 4 == 3) { /* a synchronous call among them */
            kt_grant_call(&call, sid, "cap-a", "{\"spin\":1}", 10);
            chio_error_init(&err);
            rc = chio_kernel_evaluate(run->k, &call, &resp, &err);
            if (rc == 0 && resp.receipt != NULL)
                __atomic_add_fetch(&run->sync_ok, 1, __ATOMIC_RELAXED);
            else if (rc == 0 || !refusal_ok(rc))
                chain_bad(run, "sync call", rc ? err.message : "rc 0 without a receipt");
            chio_response_destroy(&resp);
        } else {
            rc = chain_submit(run, sid, i % 3);
        }
        if (rc == CHIO_EDRAINED)
            break;
        if (rc == CHIO_ESESSION_CLOSED || rc == CHIO_ESESSION_DRAINING || rc == CHIO_ENOSESSION)
            have = 0;
    }
    return NULL;
}

Test(rev30_async, drain_racing_async_chains_and_closes_calls_each_back_once_and_loses_nothing)
{
    char path[512], *dir = testutil_tmpdir();
    chain_run *run = calloc(1, sizeof(*run));
    chain_thread ct[CHAIN_THREADS];
    pthread_t th[CHAIN_THREADS];
    kt_log_report rep;
    chio_error err;
    int i, owed = 0, ran = 0;

    cr_assert_not_null(run);
    snprintf(path, sizeof(path), "%s/receipts", dir);
    run->k = spin_kernel(path, 16); /* a small budget: callbacks meet it spent */
    for (i = 0; i < CHAIN_THREADS; i++) {
        ct[i].run = run;
        ct[i].stop = 0;
        cr_assert_eq(pthread_create(&th[i], NULL, chain_submitter, &ct[i]), 0);
    }
    /* Drain in the thick of it: once callbacks are running. */
    cr_assert_geq(wait_at_least(&run->callbacks, 400, 30000), 400, "callbacks never ran");
    chio_error_init(&err);
    cr_expect_eq(chio_kernel_drain(run->k, &err), 0, "%s", err.message);
    for (i = 0; i < CHAIN_THREADS; i++)
        __atomic_store_n(&ct[i].stop, 1, __ATOMIC_RELEASE);
    for (i = 0; i < CHAIN_THREADS; i++)
        pthread_join(th[i], NULL);
    cr_expect_eq(chio_kernel_in_flight(run->k), 0, "credits left after the drain");
    cr_expect_eq(run->bad, 0, "%d breaches; last: %s", run->bad, run->why);
    for (i = 0; i < CHAIN_POOL && i < run->next; i++) {
        owed += run->pool[i].accepted;
        ran += run->pool[i].runs;
        cr_expect_eq(run->pool[i].runs, run->pool[i].accepted, "call %d: accepted %d, %d callbacks",
                     i, run->pool[i].accepted, run->pool[i].runs);
    }
    cr_expect_eq(ran, owed);
    cr_expect_gt(run->closes + run->close_active, 0, "no close raced the calls");
    chio_kernel_free(run->k);
    rep = kt_check_log(path, 0);
    cr_expect_eq(rep.receipts, (uint64_t)(run->ok + run->sync_ok),
                 "%llu receipts stored, %d async and %d sync decisions answered",
                 (unsigned long long)rep.receipts, run->ok, run->sync_ok);
    free(run);
    testutil_rmrf(dir);
    free(dir);
}

/* ---- error paths return their credits and session counts --------------------------------- */

typedef struct err_run {
    chio_kernel *k;
    const char *live, *draining, *closed;
    int cbs, ok, bad;
    char why[512];
} err_run;

static void err_cb(void *ctx, int rc, chio_response *resp, const chio_error *err)
{
    err_run *run = ctx;

    (void)err;
    if (rc == 0 && resp->receipt != NULL)
        __atomic_add_fetch(&run->ok, 1, __ATOMIC_RELAXED);
    else
        __atomic_add_fetch(&run->bad, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&run->cbs, 1, __ATOMIC_RELEASE);
}

/* Every refused request of one round; each must fail with @want. */
static void refuse_round(err_run *run)
{
    static const uintptr_t junk = 1;
    struct {
        const char *sid, *cap, *args;
        int reserved, want;
    } cases[] = {
        {run->live, "cap-a", "{\"spin\":}", 0, CHIO_EJSON_SYNTAX},
        {run->live, "cap-a", "{\"a\":\"\\u0000\"}", 0, CHIO_EINVAL},
        {run->live, NULL, "{}", 0, CHIO_EINVAL},
        {run->live, "cap-a", "{}", 1, CHIO_EINVAL},
        {run->draining, "cap-a", "{}", 0, CHIO_ESESSION_DRAINING},
        {run->closed, "cap-a", "{}", 0, CHIO_ESESSION_CLOSED},
        {"sess-AAAAAAAAAAAAAAAAAAAAAA", "cap-a", "{}", 0, CHIO_ENOSESSION},
    };
    chio_call_options o;
    chio_response resp;
    chio_error err;
    chio_call c;
    size_t i;
    int rc;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        kt_grant_call(&c, cases[i].sid, cases[i].cap, cases[i].args, strlen(cases[i].args));
        if (cases[i].reserved)
            c.reserved[0] = (void *)&junk;
        chio_error_init(&err);
        rc = chio_kernel_evaluate_async(run->k, &c, err_cb, run, &err);
        if (rc != cases[i].want) {
            __atomic_add_fetch(&run->bad, 1, __ATOMIC_RELAXED);
            snprintf(run->why, sizeof(run->why), "async case %zu: %d (%.200s)", i, rc, err.message);
        }
        chio_error_init(&err);
        rc = chio_kernel_evaluate(run->k, &c, &resp, &err);
        chio_response_destroy(&resp);
        if (rc != cases[i].want) {
            __atomic_add_fetch(&run->bad, 1, __ATOMIC_RELAXED);
            snprintf(run->why, sizeof(run->why), "sync case %zu: %d (%.200s)", i, rc, err.message);
        }
    }
    /* Options refused before any check. */
    kt_grant_call(&c, run->live, "cap-a", "{}", 2);
    memset(&o, 0, sizeof(o));
    o.flags = 0x80;
    if (chio_kernel_evaluate_ex(run->k, &c, &o, &resp, NULL) != CHIO_EINVAL)
        __atomic_add_fetch(&run->bad, 1, __ATOMIC_RELAXED);
    chio_response_destroy(&resp);
    o.flags = CHIO_CALL_DECIDE_ONLY;
    if (chio_kernel_read_resource_ex(run->k, run->live, NULL, "cap-a", "mem://x", &o, &resp,
                                     NULL) != CHIO_EINVAL)
        __atomic_add_fetch(&run->bad, 1, __ATOMIC_RELAXED);
    chio_response_destroy(&resp);
}

static void *refuser(void *p)
{
    int i;

    for (i = 0; i < 200; i++)
        refuse_round(p);
    return NULL;
}

/* A full budget of accepted calls from one thread, then another. */
static void *full_budget(void *p)
{
    err_run *run = p;
    chio_error err;
    chio_call c;
    int i;

    for (i = 0; i < 64; i++) {
        kt_grant_call(&c, run->live, "cap-a", "{\"spin\":2}", 10);
        chio_error_init(&err);
        if (chio_kernel_evaluate_async(run->k, &c, err_cb, run, &err) != 0) {
            __atomic_add_fetch(&run->bad, 1, __ATOMIC_RELAXED);
            snprintf(run->why, sizeof(run->why), "valid call refused: %.200s", err.message);
        }
    }
    return NULL;
}

Test(rev30_async, refused_calls_give_back_every_credit_and_session_count)
{
    char path[512], live[CHIO_SESSION_ID_LEN + 1], dr[CHIO_SESSION_ID_LEN + 1],
        cl[CHIO_SESSION_ID_LEN + 1], *dir = testutil_tmpdir();
    err_run run;
    pthread_t th[4];
    chio_error err;
    int i;

    memset(&run, 0, sizeof(run));
    snprintf(path, sizeof(path), "%s/receipts", dir);
    run.k = spin_kernel(path, 4); /* four credits: one leaked is a quarter gone */
    kt_grant_session(run.k, NOW, "cap-a", "", live);
    kt_grant_session(run.k, NOW, "cap-a", "", dr);
    kt_grant_session(run.k, NOW, "cap-a", "", cl);
    cr_assert_eq(chio_kernel_begin_draining_session(run.k, dr, NULL), 0);
    cr_assert_eq(chio_kernel_close_session(run.k, cl, NULL), 0);
    run.live = live;
    run.draining = dr;
    run.closed = cl;
    for (i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, refuser, &run), 0);
    for (i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    cr_expect_eq(run.bad, 0, "%d unexpected results; last: %s", run.bad, run.why);
    cr_expect_eq(run.cbs, 0, "a refused submission was called back");
    cr_expect_eq(wait_in_flight_zero(run.k, 10000), 0, "a refusal kept a credit");
    cr_expect_gt(chio_kernel_unreceipted_errors(run.k, NULL), 0);
    /* The kernel still takes a full budget, many times over, from threads
     * racing for it. */
    for (i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, full_budget, &run), 0);
    for (i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    cr_expect_eq(wait_at_least(&run.cbs, 256, 30000), 256);
    cr_expect_eq(run.ok, 256, "%d of 256 calls answered with a receipt", run.ok);
    cr_expect_eq(run.bad, 0, "%s", run.why);
    cr_expect_eq(wait_in_flight_zero(run.k, 10000), 0);
    /* No refused call left the live session counted as in flight. */
    chio_error_init(&err);
    cr_expect_eq(chio_kernel_close_session(run.k, live, &err), 0, "%s", err.message);
    chio_kernel_free(run.k);
    cr_expect_eq(kt_check_log(path, 0).receipts, 256);
    testutil_rmrf(dir);
    free(dir);
}

/* ---- an asynchronous call from the log sink ------------------------------------------------ */

/* The budget is held by callbacks that wait (on the completion thread)
 * until the sink's own call has returned or 5 s passed. */
typedef struct sink_run {
    chio_kernel *k;
    const char *sid;
    int holders_in;  /* holding callbacks entered */
    int sink_calls;  /* calls the sink made */
    int sink_done;   /* the sink's call returned */
    int sink_rc;     /* what it returned */
    int waited_out;  /* a holder gave up waiting: the sink's call blocked */
    int inner_cbs;   /* callbacks of the sink's call */
    int runs_before; /* tool runs before the sink's call */
    int runs_inside; /* tool runs seen when the sink's call returned */
} sink_run;

static sink_run g_sink;

static void inner_cb(void *ctx, int rc, chio_response *resp, const chio_error *err)
{
    (void)ctx;
    (void)rc;
    (void)resp;
    (void)err;
    __atomic_add_fetch(&g_sink.inner_cbs, 1, __ATOMIC_RELEASE);
}

static void holder_cb(void *ctx, int rc, chio_response *resp, const chio_error *err)
{
    (void)ctx;
    (void)rc;
    (void)resp;
    (void)err;
    __atomic_add_fetch(&g_sink.holders_in, 1, __ATOMIC_RELEASE);
    if (wait_at_least(&g_sink.sink_done, 1, 5000) < 1)
        __atomic_store_n(&g_sink.waited_out, 1, __ATOMIC_RELEASE);
}

/* On the revocation's info line: one asynchronous call, from the sink. */
static void submitting_sink(void *ctx, chio_log_level level, const char *json, size_t len)
{
    chio_error err;
    chio_call c;
    int rc;

    (void)ctx;
    (void)level;
    if (memmem(json, len, "\"capability_revoked\"", 20) == NULL ||
        __atomic_add_fetch(&g_sink.sink_calls, 1, __ATOMIC_RELAXED) != 1)
        return;
    g_sink.runs_before = __atomic_load_n(&g_tool_runs, __ATOMIC_RELAXED);
    kt_grant_call(&c, g_sink.sid, "cap-a", "{\"spin\":1}", 10);
    chio_error_init(&err);
    rc = chio_kernel_evaluate_async(g_sink.k, &c, inner_cb, NULL, &err);
    g_sink.runs_inside = __atomic_load_n(&g_tool_runs, __ATOMIC_RELAXED);
    g_sink.sink_rc = rc;
    __atomic_store_n(&g_sink.sink_done, 1, __ATOMIC_RELEASE);
}

/* A log sink's asynchronous call with the in-flight budget spent waited
 * for a credit holding the log lock, after its tool had run: the credits
 * come back through callbacks and the commit stage, which may log and so
 * wait for the sink. It is now refused at once (CHIO_EDEADLK), before any
 * check or dispatch, as from a completion callback. */
Test(rev30_async, an_async_call_from_the_log_sink_with_the_budget_spent_fails_before_its_tool)
{
    char path[512], sid[CHIO_SESSION_ID_LEN + 1], *dir = testutil_tmpdir();
    static const char *const tools[] = {"t"};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_error err;
    chio_call c;
    int i;

    memset(&g_sink, 0, sizeof(g_sink));
    snprintf(path, sizeof(path), "%s/receipts", dir);
    kt_config(&cfg, path);
    cfg.clock = fixed_clock;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_INFO;
    cfg.log = submitting_sink;
    cfg.checkpoint_batch_size = 0;
    cfg.ring_capacity = 2;
    g_sink.k = kt_kernel(&cfg);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = spin_tool;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_register_tool_server(g_sink.k, &ts, &err), 0, "%s", err.message);
    __atomic_store_n(&g_tool_runs, 0, __ATOMIC_RELAXED);
    kt_grant_session(g_sink.k, NOW, "cap-a", "", sid);
    g_sink.sid = sid;
    /* Spend the budget: two calls whose callbacks hold their credits. */
    for (i = 0; i < 2; i++) {
        kt_grant_call(&c, sid, "cap-a", "{\"spin\":1}", 10);
        cr_assert_eq(chio_kernel_evaluate_async(g_sink.k, &c, holder_cb, NULL, &err), 0, "%s",
                     err.message);
    }
    cr_assert_eq(wait_at_least(&g_sink.holders_in, 1, 10000), 1);
    cr_assert_eq(chio_kernel_in_flight(g_sink.k), 2);
    /* Logs capability_revoked at info on this thread: the sink submits. */
    cr_assert_eq(chio_kernel_revoke_capability(g_sink.k, "cap-other", &err), 0, "%s", err.message);
    cr_assert_eq(g_sink.sink_calls, 1);
    cr_expect_eq(g_sink.sink_rc, CHIO_EDEADLK, "the sink's call gave %d", g_sink.sink_rc);
    cr_expect_eq(g_sink.runs_inside, g_sink.runs_before, "the sink's call ran its tool");
    cr_expect_eq(__atomic_load_n(&g_sink.waited_out, __ATOMIC_ACQUIRE), 0,
                 "the sink's call waited for the budget");
    cr_expect_eq(wait_in_flight_zero(g_sink.k, 10000), 0);
    chio_kernel_free(g_sink.k);
    cr_expect_eq(g_sink.inner_cbs, g_sink.sink_rc == 0 ? 1 : 0);
    cr_expect_eq(kt_check_log(path, 0).receipts, g_sink.sink_rc == 0 ? 3u : 2u);
    testutil_rmrf(dir);
    free(dir);
}

/* ---- closing a session from its last call's callback ----------------------------------------- */

typedef struct last_call {
    chio_kernel *k;
    char sid[CHIO_SESSION_ID_LEN + 1];
    int done, close_rc;
    char why[256];
} last_call;

static void close_from_cb(void *ctx, int rc, chio_response *resp, const chio_error *err)
{
    last_call *l = ctx;
    chio_error cerr;

    (void)rc;
    (void)resp;
    (void)err;
    chio_error_init(&cerr);
    l->close_rc = chio_kernel_close_session(l->k, l->sid, &cerr);
    if (l->close_rc != 0)
        snprintf(l->why, sizeof(l->why), "%d %.200s", l->close_rc, cerr.message);
    __atomic_store_n(&l->done, 1, __ATOMIC_RELEASE);
}

/* Submits one call per fresh session and waits for its callback's close,
 * @n times, as a SCHED_IDLE thread: on the one CPU it shares with the
 * kernel's threads it yields to them as soon as it has handed its receipt
 * on, so the callback runs while the submitter is still returning. */
typedef struct last_loop {
    last_call *l;
    int n, active, bad;
} last_loop;

static void *last_submitter(void *p)
{
    last_loop *lp = p;
    struct sched_param sp;
    chio_error err;
    chio_call c;
    int i;

    memset(&sp, 0, sizeof(sp));
    (void)pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
    for (i = 0; i < lp->n; i++) {
        kt_grant_session(lp->l->k, NOW, "cap-a", "", lp->l->sid);
        __atomic_store_n(&lp->l->done, 0, __ATOMIC_RELEASE);
        kt_grant_call(&c, lp->l->sid, "cap-a", "{}", 2);
        chio_error_init(&err);
        if (chio_kernel_evaluate_async(lp->l->k, &c, close_from_cb, lp->l, &err) != 0 ||
            wait_at_least(&lp->l->done, 1, 10000) != 1) {
            lp->bad++;
            break;
        }
        if (lp->l->close_rc != 0)
            lp->active++;
    }
    return NULL;
}

/* The submitter of an asynchronous call left its session only after the
 * receipt was queued, and the callback may run before that: closing the
 * session from the callback of its only call failed "cannot close while 1
 * request(s) remain active" (and forced it to draining) for a call the
 * host had already been told was complete. */
Test(rev30_async, the_callback_of_a_sessions_only_call_can_close_it)
{
    last_loop lp;
    last_call l;
    cpu_set_t one, all;
    pthread_t th;

    memset(&l, 0, sizeof(l));
    memset(&lp, 0, sizeof(lp));
    lp.l = &l;
    lp.n = 400;
    /* One CPU for this thread and so for every thread the kernel starts. */
    cr_assert_eq(pthread_getaffinity_np(pthread_self(), sizeof(all), &all), 0);
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one);
    cr_assert_eq(pthread_setaffinity_np(pthread_self(), sizeof(one), &one), 0);
    l.k = spin_kernel(NULL, 0);
    cr_assert_eq(chio_kernel_start(l.k, NULL), 0);
    cr_assert_eq(pthread_create(&th, NULL, last_submitter, &lp), 0);
    pthread_join(th, NULL);
    cr_assert_eq(pthread_setaffinity_np(pthread_self(), sizeof(all), &all), 0);
    cr_expect_eq(lp.bad, 0, "a call failed or was never called back");
    cr_expect_eq(lp.active, 0, "%d of %d closes from the callback failed; last: %s", lp.active,
                 lp.n, l.why);
    chio_kernel_free(l.k);
}
