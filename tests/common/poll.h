/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/common/poll.h - waiting for a condition with a deadline, so that no
 * test sleeps a fixed time and hopes the thing it checks has happened by
 * then. testutil_wait_until() asks @cond again every millisecond until it
 * says yes or @timeout_ms has passed, and says which; a test then asserts on
 * that answer, naming what it waited for. Loops that must do more than ask
 * (send a request, read a pipe) use testutil_now_ms() for their deadline.
 *
 * Header-only and free of Criterion: tests/kernel/tsan_main.c (a plain
 * process) runs the same scenarios as the suite and uses it too.
 */
#ifndef CHIO_TEST_POLL_H
#define CHIO_TEST_POLL_H

#include <stdint.h>
#include <time.h>

/* Monotonic milliseconds. */
static inline uint64_t testutil_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Sleep @ms milliseconds: only between two looks at a condition. */
static inline void testutil_nap_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* 1 as soon as @cond(@arg) is nonzero, 0 when it was still zero after
 * @timeout_ms. @cond is asked at least once, and once more at the deadline. */
static inline int testutil_wait_until(int (*cond)(void *arg), void *arg, unsigned timeout_ms)
{
    uint64_t end = testutil_now_ms() + timeout_ms;

    for (;;) {
        if (cond(arg))
            return 1;
        if (testutil_now_ms() >= end)
            return cond(arg) != 0;
        testutil_nap_ms(1);
    }
}

/* For testutil_wait_until: *(int *)@flag, read with acquire. */
static inline int testutil_flag_set(void *flag)
{
    return __atomic_load_n((int *)flag, __ATOMIC_ACQUIRE) != 0;
}

#endif
