/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/common/wallclock.h - a wall clock that steps, for the test binary
 * (test-only: linked into build/test-chio, never into the library). It
 * interposes clock_gettime() for the whole process, as failalloc.c
 * interposes malloc, and passes every call through unchanged while
 * disarmed (one relaxed atomic load).
 *
 * Armed with wc_realtime_ahead(N), CLOCK_REALTIME reads N seconds ahead
 * of the clock the kernel's futexes wait on: what a thread sees when the
 * wall clock steps back N seconds right after it read it. A wait whose
 * deadline was computed from CLOCK_REALTIME then sleeps N seconds too
 * long; one counted on CLOCK_MONOTONIC is unaffected. Criterion runs each
 * test in a process of its own, so arming affects that test only.
 */
#ifndef CHIO_TEST_WALLCLOCK_H
#define CHIO_TEST_WALLCLOCK_H

/* Make CLOCK_REALTIME read @secs seconds ahead (0 disarms). */
void wc_realtime_ahead(long secs);

#endif /* CHIO_TEST_WALLCLOCK_H */
