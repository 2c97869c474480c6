/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev32_life.c - review 32 of the kernel's lifecycle,
 * sessions and "nothing lost" guarantees (spec/kernel.md "Lifecycle",
 * "Sessions"), with a real kernel, real threads and real host callbacks:
 *   - the host clock runs on the thread draining or starting the kernel
 *     (drain's own log lines read it; start reads it under its lock): a
 *     clock that called chio_kernel_drain() or chio_kernel_free() there
 *     waited forever for the drain it was inside, and one that started
 *     the kernel (any call that starts it) locked the start lock its
 *     thread held. Every call from the clock that enters the kernel, and
 *     drain, now fail at once with CHIO_EDEADLK;
 *   - a provider's list callback runs inside the kernel like its read:
 *     drain (and free) from it is refused, and listing after drain is an
 *     error ("after drain every call returns an error"), before a host
 *     provider is asked;
 *   - chio_kernel_free() racing a drain that waits on another: free saw
 *     the kernel drained and freed it while the waiting drain still read
 *     its state (a use after free); free now waits for every drain under
 *     way.
 * What held under the same attack is in test_rev32_life_held.c.
 * Waits are polls bounded by deadlines; nothing sleeps and hopes.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "chio/chio.h"
#include "common/poll.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NOW 1710000100u

static const char *const tools_t[] = {"t"};

/* ---- a clock that calls into its kernel ------------------------------------------------------ */

/* What the clock does when armed, on the thread named (0: any). */
enum { CLK_NONE = 0, CLK_DRAIN, CLK_FREE, CLK_START, CLK_REVOKE };

typedef struct clock_probe {
    chio_kernel *k;
    int action;     /* CLK_*, done once */
    pthread_t only; /* the thread it acts on */
    int armed;      /* atomic */
    int done;       /* atomic: the action returned */
    int rc;         /* what it returned */
    char msg[256];
} clock_probe;

static clock_probe g_clk;

static uint64_t probing_clock(void *ctx)
{
    clock_probe *p = ctx;
    chio_error err;
    int rc = 0;

    if (!pthread_equal(pthread_self(), p->only) ||
        !__atomic_exchange_n(&p->armed, 0, __ATOMIC_ACQ_REL))
        return NOW;
    chio_error_init(&err);
    switch (p->action) {
    case CLK_DRAIN:
        rc = chio_kernel_drain(p->k, &err);
        break;
    case CLK_FREE:
        chio_kernel_free(p->k); /* refused: the kernel is left alone */
        break;
    case CLK_START:
        rc = chio_kernel_start(p->k, &err);
        break;
    case CLK_REVOKE:
        rc = chio_kernel_revoke_capability(p->k, "cap-from-clock", &err);
        break;
    default:
        break;
    }
    p->rc = rc;
    snprintf(p->msg, sizeof(p->msg), "%s", err.message);
    __atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
    return NOW;
}

typedef struct lifecycle_run {
    chio_kernel *k;
    int what; /* 0 drain, 1 start */
    int rc;
    int finished; /* atomic */
} lifecycle_run;

static void *run_lifecycle(void *arg)
{
    lifecycle_run *r = arg;
    chio_error err;

    chio_error_init(&err);
    /* The clock acts on this thread only, armed before it runs. */
    g_clk.only = pthread_self();
    __atomic_store_n(&g_clk.armed, 1, __ATOMIC_RELEASE);
    r->rc = r->what == 0 ? chio_kernel_drain(r->k, &err) : chio_kernel_start(r->k, &err);
    __atomic_store_n(&r->finished, 1, __ATOMIC_RELEASE);
    return NULL;
}

static int lifecycle_finished(void *arg)
{
    return __atomic_load_n(&((lifecycle_run *)arg)->finished, __ATOMIC_ACQUIRE);
}

static void quiet_sink(void *ctx, chio_log_level level, const char *json, size_t len)
{
    (void)ctx;
    (void)level;
    (void)json;
    (void)len;
}

/* A kernel on the probing clock, logging at info (drain's lines read the
 * clock) into a sink that drops them. */
static chio_kernel *clock_kernel(const char *path)
{
    chio_kernel_config cfg;
    chio_kernel *k;

    kt_config(&cfg, path);
    cfg.clock = probing_clock;
    cfg.clock_ctx = &g_clk;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_INFO;
    cfg.log = quiet_sink;
    k = kt_kernel(&cfg);
    kt_serve_echo(k, "srv", tools_t, 1);
    return k;
}

/* Drain (@what 0) or start (1) @k on a thread of its own, the clock doing
 * @action on that thread; both must come back within 10 s. */
static void lifecycle_with_clock(chio_kernel *k, int what, int action, lifecycle_run *r)
{
    pthread_t th;

    memset(&g_clk, 0, sizeof(g_clk));
    g_clk.k = k;
    g_clk.action = action;
    memset(r, 0, sizeof(*r));
    r->k = k;
    r->what = what;
    cr_assert_eq(pthread_create(&th, NULL, run_lifecycle, r), 0);
    cr_assert(testutil_wait_until(lifecycle_finished, r, 10000),
              "%s hung: the clock's call on its thread waited for it (clock call done: %d)",
              what == 0 ? "chio_kernel_drain" : "chio_kernel_start",
              __atomic_load_n(&g_clk.done, __ATOMIC_ACQUIRE));
    pthread_join(th, NULL);
    cr_assert(__atomic_load_n(&g_clk.done, __ATOMIC_ACQUIRE), "the clock never acted");
}

/* kernel.md: drain "joins the threads"; a drain from the clock on the
 * draining thread (drain logs, and the log line reads the clock) waited
 * for the drain it was inside: the draining thread hung for good. It is
 * refused with CHIO_EDEADLK, and the outer drain completes. */
Test(rev32_life, drain_from_the_clock_on_the_draining_thread_is_refused_not_hung)
{
    char *dir = testutil_tmpdir(), db[512], sid[CHIO_SESSION_ID_LEN + 1];
    chio_response resp;
    lifecycle_run r;
    chio_kernel *k;
    chio_call c;

    snprintf(db, sizeof(db), "%s/db", dir);
    k = clock_kernel(db);
    kt_grant_session(k, NOW, "cap-a", "", sid);
    kt_grant_call(&c, sid, "cap-a", "{}", 2);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &resp, NULL), 0);
    cr_assert_eq(resp.verdict, CHIO_VERDICT_ALLOW);
    chio_response_destroy(&resp);

    lifecycle_with_clock(k, 0, CLK_DRAIN, &r);
    cr_expect_eq(g_clk.rc, CHIO_EDEADLK, "drain from the clock: %d (%s)", g_clk.rc, g_clk.msg);
    cr_expect_not_null(strstr(g_clk.msg, "clock"), "%s", g_clk.msg);
    cr_expect_eq(r.rc, 0, "the outer drain: %d", r.rc);
    cr_expect_eq(chio_kernel_evaluate(k, &c, &resp, NULL), CHIO_EDRAINED);
    chio_response_destroy(&resp);
    chio_kernel_free(k);
    kt_check_log(db, CHIO_DEFAULT_CHECKPOINT_BATCH_SIZE);
    testutil_rmrf(dir);
    free(dir);
}

/* chio_kernel_free() from the clock during a drain frees nothing (as from
 * a callback); the drain completes and the host frees the kernel after. */
Test(rev32_life, free_from_the_clock_during_drain_frees_nothing_and_drain_completes)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    lifecycle_run r;
    chio_kernel *k;

    k = clock_kernel(NULL);
    kt_grant_session(k, NOW, "cap-a", "", sid);
    cr_assert_eq(chio_kernel_start(k, NULL), 0);
    lifecycle_with_clock(k, 0, CLK_FREE, &r);
    cr_expect_eq(r.rc, 0, "the outer drain: %d", r.rc);
    chio_kernel_free(k); /* still whole: the free from the clock did nothing */
}

/* Starting the kernel reads the clock under the start lock: a clock that
 * started the kernel (chio_kernel_start, or any call that starts it:
 * revoke) locked the lock its own thread held. Refused with CHIO_EDEADLK;
 * the outer start succeeds and the kernel serves. */
Test(rev32_life, a_call_that_would_start_the_kernel_from_the_clock_during_start_is_refused)
{
    static const int actions[] = {CLK_START, CLK_REVOKE};
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_response resp;
    lifecycle_run r;
    chio_kernel *k;
    chio_call c;
    size_t i;

    for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        k = clock_kernel(NULL);
        kt_grant_session(k, NOW, "cap-a", "", sid);
        lifecycle_with_clock(k, 1, actions[i], &r);
        cr_expect_eq(g_clk.rc, CHIO_EDEADLK, "action %zu from the clock: %d (%s)", i, g_clk.rc,
                     g_clk.msg);
        cr_expect_eq(r.rc, 0, "the outer start: %d", r.rc);
        cr_expect_eq(chio_kernel_is_revoked(k, "cap-from-clock"), 0, "nothing was revoked");
        kt_grant_call(&c, sid, "cap-a", "{}", 2);
        cr_expect_eq(chio_kernel_evaluate(k, &c, &resp, NULL), 0);
        cr_expect_eq(resp.verdict, CHIO_VERDICT_ALLOW);
        chio_response_destroy(&resp);
        chio_kernel_free(k);
    }
}

/* ---- provider lists -------------------------------------------------------------------------- */

typedef struct list_probe {
    chio_kernel *k;
    int action; /* 0 answer, 1 drain, 2 free */
    int rc;
    int calls;
    char msg[256];
} list_probe;

static int probing_list(void *user, chio_output *out)
{
    list_probe *p = user;
    chio_error err;

    p->calls++;
    chio_error_init(&err);
    if (p->action == 1)
        p->rc = chio_kernel_drain(p->k, &err);
    else if (p->action == 2)
        chio_kernel_free(p->k);
    snprintf(p->msg, sizeof(p->msg), "%s", err.message);
    return chio_output_set_json(out, "[{\"uri\":\"mem://a\"}]", 19);
}

static int probing_read(void *user, const char *uri, chio_output *out)
{
    (void)user;
    (void)uri;
    return chio_output_set_json(out, "\"a\"", 3);
}

static int probing_get(void *user, const char *name, const char *args, size_t len, chio_output *out)
{
    (void)user;
    (void)name;
    (void)args;
    (void)len;
    return chio_output_set_json(out, "\"p\"", 3);
}

static chio_kernel *list_kernel(list_probe *p)
{
    chio_resource_provider rp;
    chio_prompt_provider pp;
    chio_kernel *k;

    k = kt_echo_kernel(NULL, NULL, "srv", tools_t, 1);
    memset(p, 0, sizeof(*p));
    p->k = k;
    memset(&rp, 0, sizeof(rp));
    rp.provider_id = "res";
    rp.list = probing_list;
    rp.read = probing_read;
    rp.user = p;
    cr_assert_eq(chio_kernel_register_resource_provider(k, &rp, NULL), 0);
    memset(&pp, 0, sizeof(pp));
    pp.provider_id = "pro";
    pp.list = probing_list;
    pp.get = probing_get;
    pp.user = p;
    cr_assert_eq(chio_kernel_register_prompt_provider(k, &pp, NULL), 0);
    return k;
}

/* A provider's list runs inside the kernel, as its read does: drain from
 * it would pull the kernel from under the listing (free did: a use after
 * free), so it is refused with CHIO_EDEADLK and the kernel serves on. */
Test(rev32_life, drain_or_free_from_a_providers_list_is_refused)
{
    list_probe p;
    chio_kernel *k;
    char *out = NULL;
    size_t len = 0;
    int action;

    for (action = 1; action <= 2; action++) {
        k = list_kernel(&p);
        p.action = action;
        cr_assert_eq(chio_kernel_list_resources(k, &out, &len, NULL), 0);
        cr_expect_eq(p.calls, 1);
        cr_expect_str_eq(out, "[{\"uri\":\"mem://a\"}]");
        chio_free(out);
        if (action == 1) {
            cr_expect_eq(p.rc, CHIO_EDEADLK, "drain from a list: %d (%s)", p.rc, p.msg);
            cr_expect_eq(chio_kernel_list_prompts(k, &out, &len, NULL), 0, "the kernel serves on");
            chio_free(out);
        }
        chio_kernel_free(k);
    }
}

/* kernel.md: "After drain every call returns an error". Listing resources
 * or prompts after drain asked the host's providers and answered; it is
 * CHIO_EDRAINED now, and no provider is asked. */
Test(rev32_life, listing_after_drain_is_an_error_and_asks_no_provider)
{
    chio_error err;
    list_probe p;
    chio_kernel *k;
    char *out = NULL;
    size_t len = 0;

    k = list_kernel(&p);
    cr_assert_eq(chio_kernel_drain(k, NULL), 0);
    chio_error_init(&err);
    cr_expect_eq(chio_kernel_list_resources(k, &out, &len, &err), CHIO_EDRAINED);
    cr_expect_null(out);
    cr_expect_not_null(strstr(err.message, "drain"), "%s", err.message);
    cr_expect_eq(chio_kernel_list_prompts(k, &out, &len, &err), CHIO_EDRAINED);
    cr_expect_null(out);
    cr_expect_eq(p.calls, 0, "a provider was asked after drain");
    chio_kernel_free(k);
}

/* ---- free racing another drain ----------------------------------------------------------------
 */

typedef struct free_race {
    chio_kernel *k;
    int cb_in, draining;    /* atomic: the held callback runs; drain began */
    int release;            /* atomic: the held callback may return */
    int held, hold_release; /* atomic: the second drainer is held in a signal */
    int freed;              /* atomic: chio_kernel_free() returned */
    pid_t waiter, freer;    /* atomic: tids */
} free_race;

static free_race g_fr;

static void fr_held_cb(void *ctx, int rc, chio_receipt *r)
{
    free_race *fr = ctx;

    (void)rc;
    chio_receipt_free(r);
    __atomic_store_n(&fr->cb_in, 1, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&fr->release, __ATOMIC_ACQUIRE))
        sched_yield();
}

static void fr_sink(void *ctx, chio_log_level level, const char *json, size_t len)
{
    (void)level;
    if (memmem(json, len, "\"kernel_draining\"", 17) != NULL)
        __atomic_store_n(&((free_race *)ctx)->draining, 1, __ATOMIC_RELEASE);
}

/* Holds the second drainer, between two looks at the kernel's state. */
static void fr_hold(int sig)
{
    (void)sig;
    __atomic_store_n(&g_fr.held, 1, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&g_fr.hold_release, __ATOMIC_ACQUIRE))
        ;
}

static void *fr_first_drain(void *arg)
{
    chio_kernel_drain(((free_race *)arg)->k, NULL);
    return NULL;
}

static void *fr_second_drain(void *arg)
{
    free_race *fr = arg;

    __atomic_store_n(&fr->waiter, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
    chio_kernel_drain(fr->k, NULL);
    return NULL;
}

static void *fr_free(void *arg)
{
    free_race *fr = arg;

    __atomic_store_n(&fr->freer, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
    chio_kernel_free(fr->k);
    __atomic_store_n(&fr->freed, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Thread @tid of this process sleeps in (clock_)nanosleep: a drain
 * waiting for another one naps there between looks at the state. */
static int napping(pid_t tid)
{
    char path[64], buf[64];
    long nr = -1;
    FILE *f;

    if (tid == 0)
        return 0;
    snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
    f = fopen(path, "r");
    if (f == NULL)
        return 0;
    if (fgets(buf, sizeof(buf), f) != NULL)
        nr = strtol(buf, NULL, 10);
    fclose(f);
    return nr == SYS_clock_nanosleep || nr == SYS_nanosleep;
}

static int fr_started(void *arg)
{
    free_race *fr = arg;

    return __atomic_load_n(&fr->cb_in, __ATOMIC_ACQUIRE) &&
           __atomic_load_n(&fr->draining, __ATOMIC_ACQUIRE);
}

static int fr_waiter_naps(void *arg)
{
    return napping(__atomic_load_n(&((free_race *)arg)->waiter, __ATOMIC_ACQUIRE));
}

static int fr_freer_naps(void *arg)
{
    return napping(__atomic_load_n(&((free_race *)arg)->freer, __ATOMIC_ACQUIRE));
}

static int fr_held(void *arg)
{
    return __atomic_load_n(&((free_race *)arg)->held, __ATOMIC_ACQUIRE);
}

static int fr_freed(void *arg)
{
    return __atomic_load_n(&((free_race *)arg)->freed, __ATOMIC_ACQUIRE);
}

/* chio_kernel_drain() is idempotent: a second caller waits, looking at the
 * kernel's state, until the first has drained; chio_kernel_free() drains
 * first. With one drain under way and a second waiting, a free on a third
 * thread freed the kernel as soon as it saw it drained, and the waiting
 * drain's next look read freed memory (ASan: heap-use-after-free in
 * chio_kernel_drain). The waiter is held here between two looks (a
 * signal on its thread); free now waits until it has returned. */
Test(rev32_life, free_waits_for_a_drain_still_waiting_on_another)
{
    struct sigaction sa, old;
    chio_kernel_config cfg;
    pthread_t a, b, f;
    int freed_early;

    memset(&g_fr, 0, sizeof(g_fr));
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fr_hold;
    cr_assert_eq(sigaction(SIGUSR1, &sa, &old), 0);
    kt_config(&cfg, NULL);
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_INFO;
    cfg.log = fr_sink;
    cfg.log_ctx = &g_fr;
    g_fr.k = kt_kernel(&cfg);
    /* A callback held open keeps the first drain joining the threads. */
    cr_assert_eq(chio_kernel_sign_receipt_async(g_fr.k, kt_builder(1), fr_held_cb, &g_fr, NULL), 0);
    cr_assert_eq(pthread_create(&a, NULL, fr_first_drain, &g_fr), 0);
    cr_assert(testutil_wait_until(fr_started, &g_fr, 10000), "the first drain did not begin");
    cr_assert_eq(pthread_create(&b, NULL, fr_second_drain, &g_fr), 0);
    cr_assert(testutil_wait_until(fr_waiter_naps, &g_fr, 10000), "no second drain waits");
    cr_assert_eq(pthread_create(&f, NULL, fr_free, &g_fr), 0);
    cr_assert(testutil_wait_until(fr_freer_naps, &g_fr, 10000), "free does not wait");
    cr_assert_eq(pthread_kill(b, SIGUSR1), 0);
    cr_assert(testutil_wait_until(fr_held, &g_fr, 10000), "the second drain was not held");
    __atomic_store_n(&g_fr.release, 1, __ATOMIC_RELEASE);
    cr_assert_eq(pthread_join(a, NULL), 0);
    /* Drained now; the second drain is still inside, held: free must not
     * return (it did at once on the old code). A second is plenty. */
    freed_early = testutil_wait_until(fr_freed, &g_fr, 1000);
    cr_assert(!freed_early, "chio_kernel_free returned while another drain was still inside");
    __atomic_store_n(&g_fr.hold_release, 1, __ATOMIC_RELEASE);
    cr_assert_eq(pthread_join(b, NULL), 0);
    cr_assert_eq(pthread_join(f, NULL), 0);
    cr_assert_eq(sigaction(SIGUSR1, &old, NULL), 0);
}
