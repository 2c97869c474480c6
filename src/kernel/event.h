/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/event.h - futex-based waiting for the signing pipeline: a single
 * "done" word per request and an event count for "the ring has space" /
 * "the ring has work". Linux futexes; nothing here allocates or locks.
 *
 * Event count protocol (no lost wake-ups):
 *   waiter:   key = chio__event_prepare(ev);   -- announces itself, then reads seq
 *             if (condition now true) chio__event_cancel(ev);
 *             else chio__event_wait(ev, key);   -- sleeps only while seq == key
 *   signaler: make the condition true; chio__event_signal(ev, n);
 * All four operations are sequentially consistent, so either the waiter's
 * recheck sees the condition, or the signaler sees waiters > 0 and wakes,
 * or the futex sees seq != key and does not sleep.
 */
#ifndef CHIO_KERNEL_EVENT_H
#define CHIO_KERNEL_EVENT_H

#include <limits.h>
#include <stdint.h>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline void chio__futex_wait(uint32_t *addr, uint32_t expected)
{
    /* Returns on a wake, a signal, or at once when *addr != expected;
     * every caller loops on its own condition. */
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static inline void chio__futex_wake(uint32_t *addr, int n)
{
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

/* The same with a bit set: a waiter sleeps on one bit of @bits, a wake
 * reaches the sleepers whose bit is in its set (FUTEX_*_BITSET). */
static inline void chio__futex_wait_bits(uint32_t *addr, uint32_t expected, uint32_t bits)
{
    syscall(SYS_futex, addr, FUTEX_WAIT_BITSET_PRIVATE, expected, NULL, NULL, bits);
}

static inline void chio__futex_wake_bits(uint32_t *addr, uint32_t bits)
{
    syscall(SYS_futex, addr, FUTEX_WAKE_BITSET_PRIVATE, INT32_MAX, NULL, NULL, bits);
}

typedef struct chio__event {
    uint32_t seq;     /* bumped by every signal; the futex word */
    uint32_t waiters; /* threads between prepare and wait/cancel */
} chio__event;

static inline uint32_t chio__event_prepare(chio__event *ev)
{
    /* seq_cst: the increment must be visible before we read seq and
     * recheck the caller's condition (pairs with chio__event_signal). */
    __atomic_add_fetch(&ev->waiters, 1, __ATOMIC_SEQ_CST);
    return __atomic_load_n(&ev->seq, __ATOMIC_SEQ_CST);
}

static inline void chio__event_cancel(chio__event *ev)
{
    __atomic_sub_fetch(&ev->waiters, 1, __ATOMIC_SEQ_CST);
}

static inline void chio__event_wait(chio__event *ev, uint32_t key)
{
    chio__futex_wait(&ev->seq, key);
    __atomic_sub_fetch(&ev->waiters, 1, __ATOMIC_SEQ_CST);
}

static inline void chio__event_signal(chio__event *ev, int n)
{
    /* seq_cst: the caller's condition update is ordered before the bump,
     * and the bump before our read of waiters (pairs with prepare). */
    __atomic_add_fetch(&ev->seq, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&ev->waiters, __ATOMIC_SEQ_CST) != 0)
        chio__futex_wake(&ev->seq, n);
}

/*
 * Like chio__event_signal, but does nothing at all when nobody waits: no
 * bump, no syscall, one load. For a signaler on a hot path (the credit
 * budget returns a credit per request). Still no lost wake-up: with every
 * operation sequentially consistent, a waiter whose prepare comes after
 * our load of waiters also comes after the caller's condition update, so
 * its recheck sees the condition; one whose prepare came before is seen
 * here, and then the bump makes its futex wait return or be woken.
 */
static inline void chio__event_signal_waiting(chio__event *ev, int n)
{
    /* seq_cst: ordered after the caller's condition update (pairs with
     * chio__event_prepare's increment and the waiter's recheck). */
    if (__atomic_load_n(&ev->waiters, __ATOMIC_SEQ_CST) == 0)
        return;
    __atomic_add_fetch(&ev->seq, 1, __ATOMIC_SEQ_CST);
    chio__futex_wake(&ev->seq, n);
}

/*
 * Waiting on one bit of an event: a waiter sleeps with its own bit, and a
 * signal wakes, in one system call, every sleeper whose bit is in @bits
 * (the commit stage wakes a whole group of synchronous callers at once;
 * a sleeper sharing a bit with a woken one rechecks and sleeps again).
 * The protocol is chio__event_signal_waiting's: every operation,
 * the waiter's condition among them, sequentially consistent.
 */
static inline void chio__event_wait_bits(chio__event *ev, uint32_t key, uint32_t bits)
{
    chio__futex_wait_bits(&ev->seq, key, bits);
    __atomic_sub_fetch(&ev->waiters, 1, __ATOMIC_SEQ_CST);
}

static inline void chio__event_signal_bits(chio__event *ev, uint32_t bits)
{
    /* seq_cst: ordered after the condition updates (pairs with
     * chio__event_prepare's increment and the waiter's recheck). */
    if (bits == 0 || __atomic_load_n(&ev->waiters, __ATOMIC_SEQ_CST) == 0)
        return;
    __atomic_add_fetch(&ev->seq, 1, __ATOMIC_SEQ_CST);
    chio__futex_wake_bits(&ev->seq, bits);
}

#endif
