/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/queue.h - the bounded MPMC signing queue: a Concurrency Kit
 * ck_ring in MPMC mode over caller-provided storage, plus backpressure.
 *
 * Producers (caller threads) never take a lock: a full ring makes them spin
 * briefly and then sleep on the `space` event, and at most one producer
 * per CPU is inside the enqueue at a time (the others sleep on `gate`);
 * consumers (signer threads) sleep on the `work` event when it is empty. The contract is MPMC: any
 * number of threads on either side.
 */
#ifndef CHIO_KERNEL_QUEUE_H
#define CHIO_KERNEL_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include <ck_ring.h>

#include "event.h"

typedef struct chio__queue {
    ck_ring_t ring;
    ck_ring_buffer_t *slots; /* caller-provided storage, capacity entries */
    unsigned capacity;
    chio__event space;      /* producers wait here for room */
    chio__event work;       /* consumers wait here for requests */
    uint64_t blocked;       /* blocking episodes (atomic) */
    uint64_t high_water;    /* deepest depth seen (atomic) */
    unsigned producers;     /* producers inside the enqueue now (atomic) */
    unsigned max_producers; /* one per online CPU, at least 2 */
    chio__event gate;       /* producers wait here for a place in the enqueue */
} chio__queue;

/* @slots must hold @capacity entries; @capacity a power of two >= 2. The
 * ring keeps one slot free, so at most capacity - 1 requests wait. */
void chio__queue_init_mpmc(chio__queue *q, ck_ring_buffer_t *slots, unsigned capacity);

/* Enqueue @item. With @block, wait for room (spin, then sleep); without,
 * return CHIO_EAGAIN when full. Returns 0 or CHIO_EAGAIN. */
int chio__queue_push_mpmc(chio__queue *q, void *item, int block);

/* Dequeue up to @max items into @items without waiting; returns the count
 * and wakes producers waiting for room. */
size_t chio__queue_pop_batch_mpmc(chio__queue *q, void **items, size_t max);

/* Requests waiting now (approximate under concurrency). */
unsigned chio__queue_depth(const chio__queue *q);

#endif
