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
