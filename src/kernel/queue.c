/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/queue.c - see queue.h. The ring itself is ck_ring's MPMC mode
 * (its own fences are documented in ck_ring.h); this file adds the waiting
 * around it. It never allocates and never takes a lock.
 */
#include <unistd.h>

#include <ck_pr.h>

#include "chio/error.h"
#include "queue.h"

/* Spins before a full-ring producer goes to sleep: long enough to ride out
 * a signer that is between batches, short enough not to burn a core. */
#define PUSH_SPINS 256

void chio__queue_init_mpmc(chio__queue *q, ck_ring_buffer_t *slots, unsigned capacity)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    q->max_producers = cpus < 2 ? 2 : (unsigned)cpus;
    q->producers = 0;
    ck_ring_init(&q->ring, capacity);
    q->slots = slots;
    q->capacity = capacity;
    q->space.seq = q->space.waiters = 0;
    q->work.seq = q->work.waiters = 0;
    q->gate.seq = q->gate.waiters = 0;
    q->blocked = 0;
    q->high_water = 0;
}

unsigned chio__queue_depth(const chio__queue *q)
{
    return ck_ring_size(&q->ring);
}

static void note_depth(chio__queue *q)
{
    uint64_t depth = ck_ring_size(&q->ring);
    uint64_t seen = __atomic_load_n(&q->high_water, __ATOMIC_RELAXED);

    /* Relaxed: a statistic; the CAS only keeps it monotonic. */
    while (depth > seen && !__atomic_compare_exchange_n(&q->high_water, &seen, depth, 1,
                                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

/*
 * ck_ring's MPMC enqueue publishes slots in ticket order: a producer that
 * has taken a ticket spins until every earlier ticket is published. With
 * far more caller threads than cores, a producer preempted inside that
 * window leaves all later ones spinning on the cores it needs (a convoy we
 * measured at 87 calls/s with 64 callers on 2 cores). So at most one
 * producer per core is let into the ring at a time. One that finds the
 * gate full spins briefly and then sleeps on the `gate` event until a
 * producer leaves (no sched_yield loop burning a core meanwhile); a
 * leaving producer wakes one sleeper, and skips the wake-up entirely when
 * nobody sleeps (one load). No producer waits for a particular other one.
 */
#define GATE_SPINS 64

static void gate_leave(chio__queue *q)
{
    /* seq_cst: the leave is ordered before our read of the gate's waiters
     * (pairs with the prepare/recheck in gate_enter). */
    __atomic_sub_fetch(&q->producers, 1, __ATOMIC_SEQ_CST);
    chio__event_signal_waiting(&q->gate, 1);
}

static int gate_try_enter(chio__queue *q)
{
    /* Acquire/release: the counter only bounds concurrency; the ring's own
     * fences order the slot contents. */
    if (__atomic_add_fetch(&q->producers, 1, __ATOMIC_ACQUIRE) <= q->max_producers)
        return 1;
    /* Back out without a wake-up (a wake per failed try would storm the
     * sleepers). A sleeper whose recheck counted our brief increment still
     * wakes: we are a producer that keeps trying, so we enter and leave
     * soon, and that leave sees it waiting. */
    __atomic_sub_fetch(&q->producers, 1, __ATOMIC_SEQ_CST);
    return 0;
}

static void gate_enter(chio__queue *q)
{
    uint32_t key;
    int spins;

    for (;;) {
        for (spins = 0; spins < GATE_SPINS; spins++) {
            if (gate_try_enter(q))
                return;
            ck_pr_stall();
        }
        key = chio__event_prepare(&q->gate);
        /* Recheck after announcing ourselves: a producer that left before
         * our prepare is seen here; one that leaves after it sees us
         * waiting and wakes us (event.h). */
        if (__atomic_load_n(&q->producers, __ATOMIC_SEQ_CST) < q->max_producers) {
            chio__event_cancel(&q->gate);
            continue;
        }
        chio__event_wait(&q->gate, key);
    }
}

static int gated_enqueue(chio__queue *q, void *item)
{
    int ok;

    gate_enter(q);
    ok = ck_ring_enqueue_mpmc(&q->ring, q->slots, item);
    gate_leave(q);
    return ok;
}

static int try_push(chio__queue *q, void *item)
{
    if (!gated_enqueue(q, item))
        return 0;
    note_depth(q);
    /* Wake one sleeping signer (the event orders our enqueue before its
     * recheck of the ring). */
    chio__event_signal(&q->work, 1);
    return 1;
}

int chio__queue_push_mpmc(chio__queue *q, void *item, int block)
{
    int spins, counted = 0;
    uint32_t key;

    if (try_push(q, item))
        return 0;
    if (!block)
        return CHIO_EAGAIN;
    for (;;) {
        for (spins = 0; spins < PUSH_SPINS; spins++) {
            ck_pr_stall();
            if (try_push(q, item))
                return 0;
        }
        if (!counted) {
            counted = 1; /* one episode however long it lasts */
            __atomic_add_fetch(&q->blocked, 1, __ATOMIC_RELAXED);
        }
        key = chio__event_prepare(&q->space);
        if (try_push(q, item)) {
            chio__event_cancel(&q->space);
            return 0;
        }
        chio__event_wait(&q->space, key);
    }
}

size_t chio__queue_pop_batch_mpmc(chio__queue *q, void **items, size_t max)
{
    size_t n = 0;

    while (n < max && ck_ring_dequeue_mpmc(&q->ring, q->slots, &items[n]))
        n++;
    if (n > 0)
        chio__event_signal(&q->space, (int)n);
    return n;
}
