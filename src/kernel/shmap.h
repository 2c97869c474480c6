/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/shmap.h - a sharded hash map from byte-string keys to pointers,
 * for the kernel's concurrent tables (sessions, verified-token cache,
 * revocations, invocation budgets). Each of CHIO__SHMAP_SHARDS shards has its
 * own rwlock and chained buckets, so lookups from many threads only meet
 * when their keys hash to the same shard, and no table is ever serialised
 * on one lock. Entries are never removed by the map; values live until the
 * map is destroyed (the free function sees each one).
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
} chio__shmap_shard;

typedef struct chio__shmap {
    chio__shmap_shard shards[CHIO__SHMAP_SHARDS];
    size_t max_per_shard; /* 0 = unbounded; else a full shard takes no more */
    void (*free_value)(void *value);
} chio__shmap;

/* @max_entries 0 = unbounded. Returns 0 or -1 (allocation failure). */
int chio__shmap_init(chio__shmap *m, size_t max_entries, void (*free_value)(void *));
void chio__shmap_destroy(chio__shmap *m);

/* The value stored under @key, or NULL. */
void *chio__shmap_get(chio__shmap *m, const void *key, size_t klen);

/* Store @value under @key unless a value is there; returns the value now in
 * the map (the existing one, or @value). NULL when the value could not be
 * stored (allocation failure, or the shard of a bounded map is full): the
 * caller keeps @value. When an existing value wins, @value is not taken. */
void *chio__shmap_put_if_absent(chio__shmap *m, const void *key, size_t klen, void *value);

/* Number of entries (approximate under concurrency). */
size_t chio__shmap_count(chio__shmap *m);

/* Call @fn for every entry (takes each shard's read lock in turn). */
void chio__shmap_each(chio__shmap *m,
                      void (*fn)(void *ctx, const void *key, size_t klen, void *value), void *ctx);

#endif
