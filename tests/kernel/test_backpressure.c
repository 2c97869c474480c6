/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_backpressure.c - the kernel's one in-flight credit
 * budget (ring + signed-not-committed + committed-not-completed) against a
 * slow disk (chio__kernel_slow_commits): the count never exceeds it, the
 * memory stays bounded, nothing is lost; try-sign's CHIO_EAGAIN when it is
 * spent; and callbacks that call the kernel again (sign and evaluate):
 * synchronous calls fail at once with CHIO_EDEADLK, asynchronous ones work,
 * none of them hangs (each wait is bounded by 10 s).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"
#include "kernel_internal.h"

#define IAT 1710000000u
#define NOW 1710000300u

TestSuite(backpressure);

/* ---- the budget ---------------------------------------------------------------------------- */

Test(backpressure, async_submitters_never_exceed_the_budget_and_lose_nothing)
{
    char msg[SC_MSG];
    cr_assert_eq(sc_credit_budget(msg), 0, "%s", msg);
}

/* Resident memory in bytes (/proc/self/statm, second field). */
static uint64_t rss_bytes(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    cr_assert_not_null(f);
    cr_assert_eq(fscanf(f, "%lu %lu", &size, &resident), 2);
    fclose(f);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

enum { RSS_CAP = 64, RSS_TOTAL = 100 * RSS_CAP, RSS_META = 4 * 1024 };

typedef struct rss_run {
    chio_kernel *k;
    uint32_t *calls;
    uint32_t failed, over; /* atomic */
    uint64_t stored;       /* bytes of committed receipts (atomic) */
} rss_run;

typedef struct rss_req {
    rss_run *run;
    uint32_t *calls;
} rss_req;

static void rss_cb(void *ctx, int rc, chio_receipt *r)
{
    rss_req *q = ctx;

    if (rc != 0)
        __atomic_add_fetch(&q->run->failed, 1, __ATOMIC_RELAXED);
    if (chio_kernel_in_flight(q->run->k) > RSS_CAP)
        __atomic_add_fetch(&q->run->over, 1, __ATOMIC_RELAXED);
    if (r != NULL) {
        size_t len = 0;
        chio_receipt_json(r, &len);
        __atomic_add_fetch(&q->run->stored, len, __ATOMIC_RELAXED);
    }
    __atomic_add_fetch(q->calls, 1, __ATOMIC_RELAXED);
    chio_receipt_free(r);
    free(q);
}

/* A receipt body carrying @meta (4 KiB of metadata), unique per @n. */
static chio_receipt_builder *big_builder(uint64_t n, const char *meta, size_t len)
{
    chio_receipt_builder *b = kt_builder(n);

    cr_assert_not_null(b);
    cr_assert_eq(chio_receipt_builder_set_metadata(b, meta, len, NULL), 0);
    return b;
}

/*
 * 100 x the budget of 4 KiB receipts submitted asynchronously against
 * commits slowed to 300 us per receipt. The store's memtable may grow by
 * up to the bytes committed (S, ~28 MiB here); an unbounded backlog adds
 * about three copies of every receipt not yet committed (with the budget
 * disabled: ~4300 requests waiting, RSS +150 MiB with S = 14 MiB; with it
 * +12 MiB). So the resident size may grow by S plus 16 MiB, not more.
 */
#if defined(__SANITIZE_ADDRESS__)
#define BP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BP_ASAN 1
#endif
#endif
#ifndef BP_ASAN
#define BP_ASAN 0
#endif

Test(backpressure, resident_memory_stays_bounded_under_a_slow_disk, .timeout = 120)
{
    chio_kernel_config cfg;
    chio_kernel_metrics m;
    rss_run run;
    char *meta = malloc(RSS_META + 32);
    uint64_t base = 0, peak = 0, now, stored_at_base = 0;
    char *tmp = testutil_tmpdir(), *path = NULL;
    size_t len;
    int i;

    cr_assert_not_null(meta);
    len = (size_t)snprintf(meta, 32, "{\"pad\":\"");
    memset(meta + len, 'x', RSS_META);
    len += RSS_META;
    memcpy(meta + len, "\"}", 3);
    len += 2;
    memset(&run, 0, sizeof(run));
    run.calls = calloc(RSS_TOTAL, sizeof(uint32_t));
    cr_assert_not_null(run.calls);
    cr_assert_geq(asprintf(&path, "%s/db", tmp), 0);
    kt_config(&cfg, path);
    cfg.ring_capacity = RSS_CAP;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    run.k = kt_kernel(&cfg);
    cr_assert_eq(chio_kernel_start(run.k, NULL), 0);
    chio__kernel_slow_commits(run.k, 300); /* 300 us per receipt */
    for (i = 0; i < RSS_TOTAL; i++) {
        rss_req *q = malloc(sizeof(*q));
        cr_assert_not_null(q);
        q->run = &run;
        q->calls = &run.calls[i];
        cr_assert_eq(chio_kernel_sign_receipt_async(run.k, big_builder((uint64_t)i, meta, len),
                                                    rss_cb, q, NULL),
                     0, "submission %d", i);
        cr_assert_leq(chio_kernel_in_flight(run.k), RSS_CAP);
        if (i == 4 * RSS_CAP) { /* the pipeline is full and warm */
            base = rss_bytes();
            stored_at_base = __atomic_load_n(&run.stored, __ATOMIC_RELAXED);
        }
        if (i > 4 * RSS_CAP && i % 64 == 0 && (now = rss_bytes()) > peak)
            peak = now;
    }
    cr_assert_eq(chio_kernel_drain(run.k, NULL), 0);
    /* AddressSanitizer keeps freed memory in quarantine: RSS says nothing
     * there (the in-flight bounds below still hold). */
    if (!BP_ASAN)
        cr_expect_lt(peak, base + (run.stored - stored_at_base) + ((uint64_t)16 << 20),
                     "RSS grew from %llu to %llu bytes with %llu bytes committed",
                     (unsigned long long)base, (unsigned long long)peak,
                     (unsigned long long)(run.stored - stored_at_base));
    cr_assert_leq(chio__kernel_in_flight_high_water(run.k), RSS_CAP);
    cr_assert_eq(chio_kernel_in_flight(run.k), 0);
    cr_assert_eq(run.over, 0);
    cr_assert_eq(run.failed, 0);
    for (i = 0; i < RSS_TOTAL; i++)
        cr_assert_eq(run.calls[i], 1, "request %d: %u callbacks", i, run.calls[i]);
    chio_kernel_metrics_get(run.k, &m);
    cr_assert_eq(m.receipts_signed, RSS_TOTAL);
    cr_assert_eq(m.last_seq, RSS_TOTAL);
    cr_assert_gt(m.blocking_episodes, 0);
    chio_kernel_free(run.k);
    free(run.calls);
    free(meta);
    testutil_rmrf(tmp);
    free(tmp);
    free(path);
}

static void count_cb(void *ctx, int rc, chio_receipt *r)
{
    (void)rc;
    chio_receipt_free(r);
    __atomic_add_fetch((int *)ctx, 1, __ATOMIC_RELAXED);
}

/* For testutil_wait_until: every credit of @k is back. */
static int no_credit_out(void *k)
{
    return chio_kernel_in_flight(k) == 0;
}

/* With every credit held by requests waiting on a slow commit, try-sign
 * says CHIO_EAGAIN at once (and still takes the builder: ASan would see a
 * leak otherwise); it signs again once they completed. A commit begun
 * before the hook is reset takes a second per receipt: the four requests
 * still hold their credits when they are counted, and a try-sign that
 * waited for a credit would take that long, even with this thread
 * descheduled for a while (a noisy host). */
Test(backpressure, try_sign_says_eagain_when_the_budget_is_spent)
{
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_receipt *r = (chio_receipt *)1;
    chio_error err;
    int done = 0, i;
    struct timespec t0, t1;

    kt_config(&cfg, NULL);
    cfg.ring_capacity = 4;
    k = kt_kernel(&cfg);
    cr_assert_eq(chio_kernel_start(k, NULL), 0);
    chio__kernel_slow_commits(k, 1000 * 1000);
    for (i = 0; i < 4; i++)
        cr_assert_eq(
            chio_kernel_sign_receipt_async(k, kt_builder((uint64_t)i), count_cb, &done, NULL), 0);
    cr_assert_eq(chio_kernel_in_flight(k), 4);
    chio_error_init(&err);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(chio_kernel_try_sign_receipt(k, kt_builder(10), &r, &err), CHIO_EAGAIN);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_assert_null(r);
    cr_assert(strstr(err.message, "in-flight") != NULL, "%s", err.message);
    cr_assert_lt((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec), 500000000L,
                 "try-sign waited");
    chio__kernel_slow_commits(k, 0);
    /* A credit comes back once its callback has returned (the commit
     * under way still takes its second per receipt). */
    cr_assert(testutil_wait_until(no_credit_out, k, 30000), "%llu credits still out after 30 s",
              (unsigned long long)chio_kernel_in_flight(k));
    cr_assert_eq(done, 4);
    cr_assert_eq(chio_kernel_try_sign_receipt(k, kt_builder(11), &r, &err), 0, "%s", err.message);
    chio_receipt_free(r);
    chio_kernel_free(k);
}

/* ---- callbacks calling the kernel ---------------------------------------------------------- */

Test(backpressure, sign_callbacks_calling_the_kernel_never_hang)
{
    char msg[SC_MSG];
    cr_assert_eq(sc_reentrant_callbacks(msg), 0, "%s", msg);
}

static uint64_t test_clock(void *ctx)
{
    (void)ctx;
    return NOW;
}

typedef struct eval_reentry {
    chio_kernel *k;
    const char *sid;
    int sync_rc, async_rc, sign_rc;
    int a_done, b_done; /* atomic */
    char a_thread[32], b_thread[32];
} eval_reentry;

static void fill_call(chio_call *c, const char *sid)
{
    memset(c, 0, sizeof(*c));
    c->session_id = sid;
    c->capability_id = "cap-r";
    c->server_id = "srv";
    c->tool_name = "read";
    c->arguments_json = "{\"x\":1}";
    c->arguments_len = 7;
}

static void eval_b(void *ctx, int rc, chio_response *resp, const chio_error *err)
{
    eval_reentry *e = ctx;

    (void)err;
    pthread_getname_np(pthread_self(), e->b_thread, sizeof(e->b_thread));
    __atomic_store_n(&e->b_done, rc == 0 && resp->verdict == CHIO_VERDICT_ALLOW ? 1 : 2,
                     __ATOMIC_RELEASE);
}

static void eval_a(void *ctx, int rc, chio_response *resp, const chio_error *err)
{
    eval_reentry *e = ctx;
    chio_response inner;
    chio_receipt *got = NULL;
    chio_call c;
    chio_error ierr;

    (void)err;
    pthread_getname_np(pthread_self(), e->a_thread, sizeof(e->a_thread));
    fill_call(&c, e->sid);
    chio_error_init(&ierr);
    chio_response_init(&inner);
    /* Would wait for this very thread: refused before any check runs. */
    e->sync_rc = chio_kernel_evaluate(e->k, &c, &inner, &ierr);
    chio_response_destroy(&inner);
    e->sign_rc = chio_kernel_sign_receipt(e->k, kt_builder(1), &got, NULL);
    chio_receipt_free(got);
    /* Asynchronous evaluation needs no wait: it works. */
    e->async_rc = chio_kernel_evaluate_async(e->k, &c, eval_b, e, NULL);
    __atomic_store_n(&e->a_done, rc == 0 && resp->verdict == CHIO_VERDICT_ALLOW ? 1 : 2,
                     __ATOMIC_RELEASE);
}

/* Wait up to 10 s for *@flag. */
static int wait_flag(const int *flag)
{
    struct timespec nap = {0, 1000 * 1000};
    int i;

    for (i = 0; i < 10000; i++) {
        if (__atomic_load_n(flag, __ATOMIC_ACQUIRE))
            return 1;
        nanosleep(&nap, NULL);
    }
    return 0;
}

Test(backpressure, evaluate_callbacks_calling_the_kernel_never_hang)
{
    static const char *const tools[] = {"read"};
    chio_kernel *k = kt_echo_kernel(NULL, test_clock, "srv", tools, 1);
    char sid[CHIO_SESSION_ID_LEN + 1];
    char *tok = tk_token(TK_KERNEL_SEED, "cap-r", TK_AGENT_PUB,
                         "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\","
                         "\"operations\":[\"invoke\"]}]}",
                         IAT, 1000, NULL, 0);
    const char *caps[1] = {tok};
    chio_kernel_metrics m;
    eval_reentry e;
    chio_call c;
    chio_error err;
    int i;

    cr_assert_not_null(tok);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    for (i = 0; i < 5; i++) {
        memset(&e, 0, sizeof(e));
        e.k = k;
        e.sid = sid;
        fill_call(&c, sid);
        cr_assert_eq(chio_kernel_evaluate_async(k, &c, eval_a, &e, &err), 0, "%s", err.message);
        /* A hang fails here (the kernel is leaked, not freed, then). */
        cr_assert(wait_flag(&e.a_done), "the evaluate callback never finished");
        cr_assert(wait_flag(&e.b_done), "the nested asynchronous evaluation never completed");
        cr_assert_eq(e.a_done, 1);
        cr_assert_eq(e.b_done, 1);
        cr_assert_eq(e.sync_rc, CHIO_EDEADLK, "evaluate from a callback: %s",
                     chio_err_name(e.sync_rc));
        cr_assert_eq(e.sign_rc, CHIO_EDEADLK, "sign from a callback: %s", chio_err_name(e.sign_rc));
        cr_assert_eq(e.async_rc, 0, "evaluate_async from a callback: %s",
                     chio_err_name(e.async_rc));
        cr_assert_str_eq(e.a_thread, "chio-complete");
        cr_assert_str_eq(e.b_thread, "chio-complete");
    }
    cr_assert_eq(chio_kernel_drain(k, NULL), 0);
    chio_kernel_metrics_get(k, &m);
    cr_assert_eq(m.receipts_signed, 10, "no receipt for the refused calls");
    chio_kernel_free(k);
    free(tok);
}

static int tool_runs; /* atomic */

static int counting_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                         size_t len, chio_output *out)
{
    __atomic_add_fetch(&tool_runs, 1, __ATOMIC_RELAXED);
    return kt_echo_tool(user, ctx, tool, args, len, out);
}

typedef struct spent {
    chio_kernel *k;
    const char *sid;
    int eval_rc, sign_rc, runs_before, runs_after;
    uint64_t in_flight;
    int calls; /* callbacks of the refused signing: must stay 0 */
    int done;  /* atomic */
} spent;

static void never_cb(void *ctx, int rc, chio_response *resp, const chio_error *err)
{
    (void)ctx;
    (void)rc;
    (void)resp;
    (void)err;
    cr_assert_fail("a refused evaluation called back");
}

static void spent_cb(void *ctx, int rc, chio_response *resp, const chio_error *err)
{
    spent *s = ctx;
    chio_call c;

    (void)rc;
    (void)resp;
    (void)err;
    s->in_flight = chio_kernel_in_flight(s->k);
    fill_call(&c, s->sid);
    s->runs_before = __atomic_load_n(&tool_runs, __ATOMIC_RELAXED);
    s->eval_rc = chio_kernel_evaluate_async(s->k, &c, never_cb, NULL, NULL);
    s->runs_after = __atomic_load_n(&tool_runs, __ATOMIC_RELAXED);
    s->sign_rc = chio_kernel_sign_receipt_async(s->k, kt_builder(7), count_cb, &s->calls, NULL);
    __atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
}

/* A callback finding the budget spent: its asynchronous calls fail at once
 * with CHIO_EDEADLK, and the evaluation runs no tool (its receipt could
 * not be had). */
Test(backpressure, callback_with_the_budget_spent_gets_edeadlk_and_runs_no_tool)
{
    static const char *const tools[] = {"read"};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_kernel *k;
    char sid[CHIO_SESSION_ID_LEN + 1];
    char *tok = tk_token(TK_KERNEL_SEED, "cap-r", TK_AGENT_PUB,
                         "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\","
                         "\"operations\":[\"invoke\"]}]}",
                         IAT, 1000, NULL, 0);
    const char *caps[1] = {tok};
    int other = 0;
    spent s;
    chio_call c;
    chio_error err;

    cr_assert_not_null(tok);
    kt_config(&cfg, NULL);
    cfg.clock = test_clock;
    cfg.ring_capacity = 2;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = counting_tool;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    /* A second per receipt: the first receipt's callback cannot run before
     * the second credit is taken, even with this thread descheduled a
     * while between the two submissions (a noisy host). */
    chio__kernel_slow_commits(k, 1000 * 1000);
    memset(&s, 0, sizeof(s));
    s.k = k;
    s.sid = sid;
    fill_call(&c, sid);
    cr_assert_eq(chio_kernel_evaluate_async(k, &c, spent_cb, &s, &err), 0, "%s", err.message);
    /* The second credit: held while the first receipt commits and calls back. */
    cr_assert_eq(chio_kernel_sign_receipt_async(k, kt_builder(1), count_cb, &other, NULL), 0);
    cr_assert(wait_flag(&s.done), "the callback never finished");
    cr_assert_eq(s.in_flight, 2);
    cr_assert_eq(s.eval_rc, CHIO_EDEADLK, "%s", chio_err_name(s.eval_rc));
    cr_assert_eq(s.runs_after, s.runs_before, "a tool ran without a receipt to come");
    cr_assert_eq(s.sign_rc, CHIO_EDEADLK, "%s", chio_err_name(s.sign_rc));
    chio__kernel_slow_commits(k, 0);
    cr_assert_eq(chio_kernel_drain(k, NULL), 0);
    cr_assert_eq(other, 1);
    cr_assert_eq(s.calls, 0);
    cr_assert_eq(chio_kernel_in_flight(k), 0);
    chio_kernel_free(k);
    free(tok);
}

/* ---- drain from a callback ---------------------------------------------------------------- */

/* A session on @k holding one token for srv/read; the token, to free. */
static char *open_read_session(chio_kernel *k, char sid[CHIO_SESSION_ID_LEN + 1])
{
    char *tok = tk_token(TK_KERNEL_SEED, "cap-r", TK_AGENT_PUB,
                         "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\","
                         "\"operations\":[\"invoke\"]}]}",
                         IAT, 1000, NULL, 0);
    const char *caps[1] = {tok};
    chio_error err;

    cr_assert_not_null(tok);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    return tok;
}

typedef struct drain_in {
    chio_kernel *k;
    int drain_rc; /* what chio_kernel_drain() said from inside (a tool) */
    int guard_rc; /* ... from a guard */
    int done;     /* atomic */
} drain_in;

static drain_in drain_ctx; /* the tool and the guard reach it through here */

static void drain_cb(void *ctx, int rc, chio_response *resp, const chio_error *err)
{
    drain_in *d = ctx;

    (void)rc;
    (void)resp;
    (void)err;
    d->drain_rc = chio_kernel_drain(d->k, NULL);
    __atomic_store_n(&d->done, 1, __ATOMIC_RELEASE);
}

static void late_cb(void *ctx, int rc, chio_response *resp, const chio_error *err)
{
    (void)resp;
    (void)err;
    usleep(2000); /* still completing when the host drains */
    if (rc == 0)
        __atomic_add_fetch((int *)ctx, 1, __ATOMIC_RELAXED);
}

/* The completion thread cannot join itself: drain from a completion
 * callback used to return 0 with that thread still running (and never
 * joined), so a drain and free from the host pulled the kernel from under
 * it (heap-use-after-free under ASan). It is refused with CHIO_EDEADLK
 * and the kernel serves on; the host's drain then completes everything. */
Test(backpressure, drain_from_a_completion_callback_is_refused)
{
    static const char *const tools[] = {"read"};
    chio_kernel *k = kt_echo_kernel(NULL, test_clock, "srv", tools, 1);
    char sid[CHIO_SESSION_ID_LEN + 1];
    char *tok;
    chio_kernel_metrics m;
    drain_in d;
    chio_call c;
    chio_error err;
    int i, late = 0;

    chio_error_init(&err);
    tok = open_read_session(k, sid);
    memset(&d, 0, sizeof(d));
    d.k = k;
    fill_call(&c, sid);
    cr_assert_eq(chio_kernel_evaluate_async(k, &c, drain_cb, &d, &err), 0, "%s", err.message);
    for (i = 0; i < 20; i++)
        cr_assert_eq(chio_kernel_evaluate_async(k, &c, late_cb, &late, &err), 0, "%s", err.message);
    cr_assert(wait_flag(&d.done), "the callback never finished");
    cr_assert_eq(d.drain_rc, CHIO_EDEADLK, "%s", chio_err_name(d.drain_rc));
    chio_kernel_metrics_get(k, &m);
    cr_assert_eq(m.draining, 0, "a refused drain changes nothing");
    cr_assert_eq(chio_kernel_drain(k, NULL), 0);
    cr_assert_eq(late, 20, "every callback ran before drain returned");
    chio_kernel_free(k);
    free(tok);
}

static int draining_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                         size_t len, chio_output *out)
{
    drain_ctx.drain_rc = chio_kernel_drain(drain_ctx.k, NULL);
    return kt_echo_tool(user, ctx, tool, args, len, out);
}

static int draining_guard(void *user, const chio_guard_input *in, chio_guard_verdict *verdict,
                          char *details, size_t cap)
{
    (void)user;
    (void)in;
    (void)details;
    (void)cap;
    drain_ctx.guard_rc = chio_kernel_drain(drain_ctx.k, NULL);
    *verdict = CHIO_GUARD_PASS;
    return 0;
}

/* A tool or a guard runs inside its call, which drain waits for: drain
 * from there used to wait for its own thread forever. Refused with
 * CHIO_EDEADLK; the call ends normally and the kernel serves on. */
Test(backpressure, drain_from_a_tool_or_a_guard_is_refused)
{
    static const char *const tools[] = {"read"};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_kernel *k;
    char sid[CHIO_SESSION_ID_LEN + 1];
    char *tok;
    chio_response resp;
    chio_call c;
    chio_error err;

    kt_config(&cfg, NULL);
    cfg.clock = test_clock;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = draining_tool;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_add_guard(k, "drainer", draining_guard, NULL, &err), 0, "%s",
                 err.message);
    tok = open_read_session(k, sid);
    memset(&drain_ctx, 0, sizeof(drain_ctx));
    drain_ctx.k = k;
    fill_call(&c, sid);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &resp, &err), 0, "%s", err.message);
    cr_assert_eq(drain_ctx.guard_rc, CHIO_EDEADLK, "drain from a guard: %s",
                 chio_err_name(drain_ctx.guard_rc));
    cr_assert_eq(drain_ctx.drain_rc, CHIO_EDEADLK, "drain from a tool: %s",
                 chio_err_name(drain_ctx.drain_rc));
    cr_assert_eq(resp.verdict, CHIO_VERDICT_ALLOW);
    chio_response_destroy(&resp);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &resp, &err), 0, "the kernel serves on: %s",
                 err.message);
    chio_response_destroy(&resp);
    cr_assert_eq(chio_kernel_drain(k, NULL), 0);
    chio_kernel_free(k);
    free(tok);
}
