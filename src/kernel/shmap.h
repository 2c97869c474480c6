/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/shmap.h - a sharded hash map from byte-string keys to pointers,
 * for the kernel's concurrent tables (sessions, verified-token cache,
 * revocations, invocation budgets, compiled patterns). Each of
 * CHIO__SHMAP_SHARDS shards has its own rwlock and chained buckets, so
 * lookups from many threads only meet when their keys hash to the same
 * shard, and no table is ever serialised on one lock.
 *
 * Lifetime of values. A value leaves the map by chio__shmap_remove or
 * chio__shmap_sweep (the caller gets it back), by eviction from a bounded
 * map (the map calls free_value on it), or at destroy (free_value). A
 * reader that must keep using a value after the shard lock is dropped
 * while another thread may remove it sets a `hold` function
 * (chio__shmap_set_hold): get and put_if_absent call it on the value they
 * return while the shard's lock is still held, so a remover (which needs
 * the write lock) can only unlink it after the reader took its reference.
 * Maps without a hold hand out values that the owner never frees while
 * serving, or plain data packed into the pointer.
 */
#ifndef CHIO_KERNEL_SHMAP_H
#define CHIO_KERNEL_SHMAP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define CHIO__SHMAP_SHARDS 64

typedef struct chio__shmap_entry chio__shmap_entry;

typedef struct chio__shmap_shard {
    pthread_rwlock_t lock;
    chio__shmap_entry **buckets;
    size_t nbuckets, count;
    size_t weight;           /* the entries' weights together (chio__shmap_put_weighted) */
    chio__shmap_entry *hand; /* CLOCK ring of the shard's entries (bounded maps evict here) */
} chio__shmap_shard;

typedef struct chio__shmap {
    chio__shmap_shard shards[CHIO__SHMAP_SHARDS];
    size_t max_per_shard;    /* 0 = unbounded; else a full shard evicts (CLOCK) */
    size_t max_weight_shard; /* 0 = unbounded; else a shard evicts past this weight */
    void (*free_value)(void *value);
    void (*hold)(void *value); /* NULL: values are borrowed (see above) */
} chio__shmap;

/* @max_entries 0 = unbounded; else a full shard evicts its least recently
 * used entry by the CLOCK rule (a hit sets the entry's bit; the hand
 * clears set bits and takes the first clear one) and passes its value to
 * @free_value. Returns 0 or -1 (allocation failure). */
int chio__shmap_init(chio__shmap *m, size_t max_entries, void (*free_value)(void *));
void chio__shmap_destroy(chio__shmap *m);
/* Set before the map is shared. */
void chio__shmap_set_hold(chio__shmap *m, void (*hold)(void *));
/* Bound the map by weight too (set before it is shared): a shard whose
 * entries would weigh more than @max_weight / CHIO__SHMAP_SHARDS with a
 * new one evicts (CLOCK) until they do not, or until the new entry is the
 * shard's only one (one heavier than a shard's share is still stored).
 * Only for a map bounded by count too: readers keep the CLOCK bits only
 * there. */
void chio__shmap_set_max_weight(chio__shmap *m, size_t max_weight);

/* The value stored under @key (held, when the map has a hold), or NULL. */
void *chio__shmap_get(chio__shmap *m, const void *key, size_t klen);

/* Store @value under @key unless a value is there; returns the value now in
 * the map (the existing one, held when the map has a hold, or @value). NULL
 * when the value could not be stored (allocation failure): the caller
 * keeps @value. When an existing value wins, @value is not taken. A full
 * shard of a bounded map evicts one entry to make room. */
void *chio__shmap_put_if_absent(chio__shmap *m, const void *key, size_t klen, void *value);
/* chio__shmap_put_if_absent for an entry of weight @weight (see
 * chio__shmap_set_max_weight; put_if_absent stores weight 0). */
void *chio__shmap_put_weighted(chio__shmap *m, const void *key, size_t klen, void *value,
                               size_t weight);

/* Remove the entry under @key when its value is @value (any value when
 * @value is NULL) and return the removed value (the caller now owns the
 * map's reference), else NULL. Safe against concurrent readers: it takes
 * the shard's write lock. */
void *chio__shmap_remove(chio__shmap *m, const void *key, size_t klen, const void *value);

/* Remove every entry for which @drop returns nonzero; @drop then owns the
 * value. Runs under each shard's write lock in turn, so @drop must not
 * call back into the map. Returns the number removed. */
size_t chio__shmap_sweep(chio__shmap *m,
                         int (*drop)(void *ctx, const void *key, size_t klen, void *value),
                         void *ctx);

/* Number of entries (approximate under concurrency). */
size_t chio__shmap_count(chio__shmap *m);

/* Call @fn for every entry (takes each shard's read lock in turn; the
 * value is valid for the duration of the call). */
void chio__shmap_each(chio__shmap *m,
                      void (*fn)(void *ctx, const void *key, size_t klen, void *value), void *ctx);

#endif
