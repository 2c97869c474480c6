/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev48_mcp_clock.c - review 48, the MCP gateway's waits
 * against a wall clock that steps back. Every timed wait of src/mcp (a
 * send on a full queue to a server, a worker waiting on a peer, a
 * session's stream and its keepalive, the session janitor that ends idle
 * sessions) slept on a condition of the default clock, CLOCK_REALTIME,
 * until "the wall clock now plus N": a wall clock stepped back an hour
 * right after that reading left each of them asleep for the hour (no
 * idle session ended, each holding a server process). The conditions are
 * now made by chio__mcp_cond_init() (CLOCK_MONOTONIC) and the deadlines
 * by chio__mcp_deadline() on the same clock.
 *
 * The step is simulated with tests/common/wallclock.h (CLOCK_REALTIME an
 * hour ahead of the clock the kernel waits on); the wait runs on a thread
 * of its own so that a wait that sleeps the hour fails the test instead
 * of holding it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "common/wallclock.h"
#include "mcp/mcp_internal.h"

typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int rc, done; /* done: atomic */
} waiter;

static void *wait_main(void *arg)
{
    waiter *w = arg;
    struct timespec ts;

    pthread_mutex_lock(&w->mu);
    chio__mcp_deadline(&ts, 200);
    w->rc = pthread_cond_timedwait(&w->cv, &w->mu, &ts);
    pthread_mutex_unlock(&w->mu);
    __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

Test(rev48_mcp_clock, a_timed_wait_ends_on_time_with_the_wall_clock_stepped_back)
{
    static waiter w; /* static: a thread still asleep when the test fails outlives it */
    pthread_t t;
    uint64_t t0, end;

    pthread_mutex_init(&w.mu, NULL);
    cr_assert_eq(chio__mcp_cond_init(&w.cv), 0);
    wc_realtime_ahead(3600);
    t0 = testutil_now_ms();
    cr_assert_eq(pthread_create(&t, NULL, wait_main, &w), 0);
    for (end = t0 + 10000; testutil_now_ms() < end && !__atomic_load_n(&w.done, __ATOMIC_ACQUIRE);)
        testutil_nap_ms(10);
    wc_realtime_ahead(0);
    cr_assert(__atomic_load_n(&w.done, __ATOMIC_ACQUIRE),
              "a 200 ms wait was still asleep after 10 s with the wall clock stepped back an "
              "hour");
    pthread_join(t, NULL);
    cr_expect_eq(w.rc, ETIMEDOUT);
    cr_expect_geq(testutil_now_ms() - t0, 150, "the wait ended early");
}
