/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev46_clock.c - a clock that reaches its own kernel
 * through another kernel's clock (review 46). Kernel A's revoke runs A's
 * clock under A's revocation lock; A's clock revokes on kernel B, whose
 * clock revokes on A. The kernel remembered only the innermost clock a
 * thread ran, so that last call was not refused and locked A's revocation
 * mutex a second time on the same thread: the thread hung for good. It
 * must be refused with CHIO_EDEADLK, and A's own revoke still succeed.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "chio/chio.h"
#include "common/poll.h"
#include "kernel/kernelutil.h"

typedef struct clock_pair {
    chio_kernel *a, *b;
    pthread_t caller; /* the clocks act only on this thread */
    int armed;        /* atomic: the caller's revoke began */
    int inner_rc;     /* B's clock's revoke on A */
    int outer_rc;     /* the caller's revoke on A */
    int done;         /* atomic: the caller's revoke returned */
} clock_pair;

static _Thread_local int in_a, in_b; /* each clock acts once per thread */

static int acting(clock_pair *p)
{
    return __atomic_load_n(&p->armed, __ATOMIC_ACQUIRE) && pthread_equal(pthread_self(), p->caller);
}

static uint64_t clock_a(void *ctx)
{
    clock_pair *p = ctx;

    if (acting(p) && !in_a) {
        in_a = 1;
        (void)chio_kernel_revoke_capability(p->b, "through-b", NULL);
        in_a = 0;
    }
    return 1700000000;
}

static uint64_t clock_b(void *ctx)
{
    clock_pair *p = ctx;

    if (acting(p) && !in_b) {
        in_b = 1;
        p->inner_rc = chio_kernel_revoke_capability(p->a, "back-into-a", NULL);
        in_b = 0;
    }
    return 1700000000;
}

static void *revoke_on_a(void *arg)
{
    clock_pair *p = arg;

    p->caller = pthread_self();
    __atomic_store_n(&p->armed, 1, __ATOMIC_RELEASE);
    p->outer_rc = chio_kernel_revoke_capability(p->a, "first", NULL);
    __atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static int revoke_returned(void *arg)
{
    return __atomic_load_n(&((clock_pair *)arg)->done, __ATOMIC_ACQUIRE);
}

Test(rev46_clock, a_clock_reaching_its_kernel_through_another_kernels_clock_is_refused)
{
    chio_kernel_config ca, cb;
    clock_pair p;
    pthread_t t;

    memset(&p, 0, sizeof(p));
    p.inner_rc = -1;
    kt_config(&ca, NULL);
    ca.clock = clock_a;
    ca.clock_ctx = &p;
    kt_config(&cb, NULL);
    cb.clock = clock_b;
    cb.clock_ctx = &p;
    p.a = kt_kernel(&ca);
    p.b = kt_kernel(&cb);
    cr_assert_eq(pthread_create(&t, NULL, revoke_on_a, &p), 0);
    /* Without the fix the thread never returns: fail instead of hanging
     * (the forked test process ends with it). */
    cr_assert(testutil_wait_until(revoke_returned, &p, 10000),
              "a revoke on A from B's clock, inside A's clock, still waits after 10 s");
    cr_assert_eq(pthread_join(t, NULL), 0);
    cr_assert_eq(p.inner_rc, CHIO_EDEADLK, "B's clock calling A inside A's clock: %s",
                 chio_errno_name(p.inner_rc));
    cr_assert_eq(p.outer_rc, 0, "A's own revoke: %s", chio_errno_name(p.outer_rc));
    cr_assert_eq(chio_kernel_drain(p.a, NULL), 0);
    cr_assert_eq(chio_kernel_drain(p.b, NULL), 0);
    chio_kernel_free(p.a);
    chio_kernel_free(p.b);
}

/* ---- a drain from the tool of the fifth nested kernel ---------------------------------- */

/* Five kernels, each tool "t" calling t on the next kernel, the last one
 * draining its own kernel from inside its tool. The kernel tracked four
 * kernels a thread was inside; the fifth's drain waited for its own call
 * and the thread hung. */
#define NESTED 5
static chio_kernel *nest[NESTED];
static char nest_sid[NESTED][CHIO_SESSION_ID_LEN + 1];
static _Thread_local int nest_level;
static int drain_rc = -1;

static int nest_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                     chio_output *out)
{
    int level = nest_level;

    (void)user, (void)ctx, (void)tool, (void)args, (void)len;
    if (level == NESTED - 1) {
        drain_rc = chio_kernel_drain(nest[level], NULL);
    } else {
        chio_call c;
        chio_response r;
        chio_error err;

        kt_grant_call(&c, nest_sid[level + 1], "nest", "{}", 2);
        chio_error_init(&err);
        chio_response_init(&r);
        nest_level = level + 1;
        (void)chio_kernel_evaluate(nest[level + 1], &c, &r, &err);
        nest_level = level;
        chio_response_destroy(&r);
    }
    return chio_output_set_json(out, "{}", 2);
}

static void *nest_call(void *arg)
{
    chio_call c;
    chio_response r;
    chio_error err;

    (void)arg;
    kt_grant_call(&c, nest_sid[0], "nest", "{}", 2);
    chio_error_init(&err);
    chio_response_init(&r);
    (void)chio_kernel_evaluate(nest[0], &c, &r, &err);
    chio_response_destroy(&r);
    __atomic_store_n(&drain_rc, drain_rc == -1 ? -2 : drain_rc, __ATOMIC_RELEASE);
    return NULL;
}

static int nest_returned(void *arg)
{
    (void)arg;
    return __atomic_load_n(&drain_rc, __ATOMIC_ACQUIRE) != -1;
}

Test(rev46_clock, a_drain_from_the_tool_of_the_fifth_nested_kernel_is_refused)
{
    uint64_t now = (uint64_t)time(NULL);
    chio_kernel_config cfg;
    pthread_t t;
    int i;

    for (i = 0; i < NESTED; i++) {
        kt_config(&cfg, NULL);
        nest[i] = kt_kernel(&cfg);
        kt_serve_t(nest[i], "srv", 0, nest_tool);
        kt_grant_session(nest[i], now, "nest", "", nest_sid[i]);
    }
    cr_assert_eq(pthread_create(&t, NULL, nest_call, NULL), 0);
    cr_assert(testutil_wait_until(nest_returned, NULL, 10000),
              "a drain from the fifth nested kernel's own tool still waits after 10 s");
    cr_assert_eq(pthread_join(t, NULL), 0);
    cr_assert_eq(drain_rc, CHIO_EDEADLK, "the drain: %s", chio_errno_name(drain_rc));
    for (i = NESTED - 1; i >= 0; i--) {
        cr_assert_eq(chio_kernel_drain(nest[i], NULL), 0, "kernel %d drains after", i);
        chio_kernel_free(nest[i]);
    }
}
