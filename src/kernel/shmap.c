/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/shmap.c - see shmap.h. FNV-1a (mixed) picks the shard and the bucket; a
 * shard doubles its buckets at load factor 1 (and never shrinks them: a
 * bucket is one pointer). Every entry also sits on its shard's CLOCK ring
 * (insertion order, doubly linked so removal is O(1) there); a bounded map
 * (the token cache, the pattern cache) evicts from it when a shard is
 * full. The CLOCK bit is set by readers under the read lock, so it is an
 * atomic byte (relaxed: it is a hint, ordering nothing). A map may also be
 * bounded by weight (the pattern cache: bytes of compiled automata), and
 * then evicts as many entries as it takes to stay under it.
 */
#include <stdlib.h>
#include <string.h>

#include "shmap.h"

struct chio__shmap_entry {
    chio__shmap_entry *next;                    /* bucket chain */
    chio__shmap_entry *clock_prev, *clock_next; /* the shard's CLOCK ring */
    uint8_t used;                               /* CLOCK bit (atomic) */
    uint32_t weight;                            /* in the padding: entries keep their size */
    uint64_t hash;
    void *value;
    size_t klen;
    unsigned char key[];
};

static uint64_t fnv1a(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = 1469598103934665603ull;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    /* FNV-1a leaves the last bytes of a key in the low and middle bits;
     * the shard is picked from the top ones, so mix (MurmurHash3's
     * finaliser): keys that differ only at the end (ids, patterns) must
     * spread over the shards, or a bounded map thrashes in a few. */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

int chio__shmap_init(chio__shmap *m, size_t max_entries, void (*free_value)(void *))
{
    size_t i;

    memset(m, 0, sizeof(*m));
    m->free_value = free_value;
    m->max_per_shard =
        max_entries ? (max_entries + CHIO__SHMAP_SHARDS - 1) / CHIO__SHMAP_SHARDS : 0;
    for (i = 0; i < CHIO__SHMAP_SHARDS; i++) {
        chio__shmap_shard *s = &m->shards[i];
        pthread_rwlock_init(&s->lock, NULL);
        s->nbuckets = 16;
        s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
        if (s->buckets == NULL) {
            chio__shmap_destroy(m);
            return -1;
        }
    }
    return 0;
}

void chio__shmap_destroy(chio__shmap *m)
{
    size_t i, b;

    for (i = 0; i < CHIO__SHMAP_SHARDS; i++) {
        chio__shmap_shard *s = &m->shards[i];
        for (b = 0; s->buckets != NULL && b < s->nbuckets; b++) {
            chio__shmap_entry *e = s->buckets[b], *next;
            for (; e != NULL; e = next) {
                next = e->next;
                if (m->free_value)
                    m->free_value(e->value);
                free(e);
            }
        }
        free(s->buckets);
        s->buckets = NULL;
        pthread_rwlock_destroy(&s->lock);
    }
}

static chio__shmap_shard *shard_of(chio__shmap *m, uint64_t h)
{
    return &m->shards[(h >> 58) % CHIO__SHMAP_SHARDS];
}

static chio__shmap_entry *find(chio__shmap_shard *s, uint64_t h, const void *key, size_t klen)
{
    chio__shmap_entry *e = s->buckets[h % s->nbuckets];

    for (; e != NULL; e = e->next)
        if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
            return e;
    return NULL;
}

/* A reader's use of @e, under the shard lock (either mode): set the CLOCK
 * bit (only when clear, to keep hot entries' cache lines shared) and take
 * the caller's hold. */
static void touch(chio__shmap *m, chio__shmap_entry *e)
{
    if (m->max_per_shard != 0 && !__atomic_load_n(&e->used, __ATOMIC_RELAXED))
        __atomic_store_n(&e->used, 1, __ATOMIC_RELAXED);
    if (m->hold != NULL)
        m->hold(e->value);
}

void chio__shmap_set_hold(chio__shmap *m, void (*hold)(void *))
{
    m->hold = hold;
}

void chio__shmap_set_max_weight(chio__shmap *m, size_t max_weight)
{
    m->max_weight_shard = (max_weight + CHIO__SHMAP_SHARDS - 1) / CHIO__SHMAP_SHARDS;
}

/* Unlink @e from its bucket and the CLOCK ring (write lock held). */
static void unlink_entry(chio__shmap_shard *s, chio__shmap_entry *e)
{
    chio__shmap_entry **pp = &s->buckets[e->hash % s->nbuckets];

    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    if (e->clock_next == e) {
        s->hand = NULL;
    } else {
        e->clock_prev->clock_next = e->clock_next;
        e->clock_next->clock_prev = e->clock_prev;
        if (s->hand == e)
            s->hand = e->clock_next;
    }
    s->count--;
    s->weight -= e->weight;
}

/* The CLOCK victim of a full shard (write lock held): the hand clears set
 * bits until it meets a clear one. Ends within two turns of the ring. */
static chio__shmap_entry *clock_victim(chio__shmap_shard *s)
{
    chio__shmap_entry *e = s->hand;

    while (__atomic_load_n(&e->used, __ATOMIC_RELAXED)) {
        __atomic_store_n(&e->used, 0, __ATOMIC_RELAXED);
        e = e->clock_next;
    }
    s->hand = e;
    return e;
}

void *chio__shmap_get(chio__shmap *m, const void *key, size_t klen)
{
    uint64_t h = fnv1a(key, klen);
    chio__shmap_shard *s = shard_of(m, h);
    chio__shmap_entry *e;
    void *v;

    pthread_rwlock_rdlock(&s->lock);
    e = find(s, h, key, klen);
    v = e ? e->value : NULL;
    if (e != NULL)
        touch(m, e);
    pthread_rwlock_unlock(&s->lock);
    return v;
}

static void grow(chio__shmap_shard *s)
{
    size_t n = s->nbuckets * 2, b;
    chio__shmap_entry **nb = calloc(n, sizeof(*nb));

    if (nb == NULL)
        return; /* keep the longer chains */
    for (b = 0; b < s->nbuckets; b++) {
        chio__shmap_entry *e = s->buckets[b], *next;
        for (; e != NULL; e = next) {
            next = e->next;
            e->next = nb[e->hash % n];
            nb[e->hash % n] = e;
        }
    }
    free(s->buckets);
    s->buckets = nb;
    s->nbuckets = n;
}

/* Must the shard evict before it takes an entry of @weight? (write lock) */
static int over_bound(const chio__shmap *m, const chio__shmap_shard *s, size_t weight)
{
    if (s->hand == NULL)
        return 0; /* nothing left to evict */
    return (m->max_per_shard != 0 && s->count >= m->max_per_shard) ||
           (m->max_weight_shard != 0 && s->weight + weight > m->max_weight_shard);
}

/* Free evicted entries (linked by `next`), outside the lock. */
static void free_evicted(chio__shmap *m, chio__shmap_entry *e)
{
    chio__shmap_entry *next;

    for (; e != NULL; e = next) {
        next = e->next;
        if (m->free_value)
            m->free_value(e->value);
        free(e);
    }
}

void *chio__shmap_put_if_absent(chio__shmap *m, const void *key, size_t klen, void *value)
{
    return chio__shmap_put_weighted(m, key, klen, value, 0);
}

void *chio__shmap_put_weighted(chio__shmap *m, const void *key, size_t klen, void *value,
                               size_t weight)
{
    uint64_t h = fnv1a(key, klen);
    chio__shmap_shard *s = shard_of(m, h);
    chio__shmap_entry *e, *evicted = NULL, *victim;
    void *v;

    if (weight > UINT32_MAX)
        weight = UINT32_MAX;
    pthread_rwlock_wrlock(&s->lock);
    e = find(s, h, key, klen);
    if (e != NULL) {
        v = e->value;
        touch(m, e);
        pthread_rwlock_unlock(&s->lock);
        return v;
    }
    /* Unlinked victims are unreachable: chain them on `next` (free after). */
    while (over_bound(m, s, weight)) {
        victim = clock_victim(s);
        unlink_entry(s, victim);
        victim->next = evicted;
        evicted = victim;
    }
    e = malloc(sizeof(*e) + klen);
    if (e == NULL) {
        pthread_rwlock_unlock(&s->lock);
        free_evicted(m, evicted);
        return NULL;
    }
    e->used = 0;
    e->hash = h;
    e->weight = (uint32_t)weight;
    e->klen = klen;
    e->value = value;
    memcpy(e->key, key, klen);
    e->next = s->buckets[h % s->nbuckets];
    s->buckets[h % s->nbuckets] = e;
    /* Join the ring just behind the hand: the last place it reaches. */
    if (s->hand == NULL) {
        e->clock_prev = e->clock_next = e;
        s->hand = e;
    } else {
        e->clock_next = s->hand;
        e->clock_prev = s->hand->clock_prev;
        e->clock_prev->clock_next = e;
        s->hand->clock_prev = e;
    }
    s->count++;
    s->weight += weight;
    if (s->count > s->nbuckets)
        grow(s);
    pthread_rwlock_unlock(&s->lock);
    /* The victims are unreachable now; free them outside the lock. */
    free_evicted(m, evicted);
    return value;
}

void *chio__shmap_remove(chio__shmap *m, const void *key, size_t klen, const void *value)
{
    uint64_t h = fnv1a(key, klen);
    chio__shmap_shard *s = shard_of(m, h);
    chio__shmap_entry *e;
    void *v = NULL;

    pthread_rwlock_wrlock(&s->lock);
    e = find(s, h, key, klen);
    if (e != NULL && (value == NULL || e->value == value)) {
        unlink_entry(s, e);
        v = e->value;
    } else {
        e = NULL;
    }
    pthread_rwlock_unlock(&s->lock);
    free(e);
    return v;
}

size_t chio__shmap_sweep(chio__shmap *m,
                         int (*drop)(void *ctx, const void *key, size_t klen, void *value),
                         void *ctx)
{
    size_t i, b, n = 0;

    for (i = 0; i < CHIO__SHMAP_SHARDS; i++) {
        chio__shmap_shard *s = &m->shards[i];
        pthread_rwlock_wrlock(&s->lock);
        for (b = 0; b < s->nbuckets; b++) {
            chio__shmap_entry *e = s->buckets[b], *next;
            for (; e != NULL; e = next) {
                next = e->next;
                if (drop(ctx, e->key, e->klen, e->value)) {
                    unlink_entry(s, e);
                    free(e);
                    n++;
                }
            }
        }
        pthread_rwlock_unlock(&s->lock);
    }
    return n;
}

size_t chio__shmap_count(chio__shmap *m)
{
    size_t i, n = 0;

    for (i = 0; i < CHIO__SHMAP_SHARDS; i++) {
        pthread_rwlock_rdlock(&m->shards[i].lock);
        n += m->shards[i].count;
        pthread_rwlock_unlock(&m->shards[i].lock);
    }
    return n;
}

void chio__shmap_each(chio__shmap *m,
                      void (*fn)(void *ctx, const void *key, size_t klen, void *value), void *ctx)
{
    size_t i, b;

    for (i = 0; i < CHIO__SHMAP_SHARDS; i++) {
        chio__shmap_shard *s = &m->shards[i];
        pthread_rwlock_rdlock(&s->lock);
        for (b = 0; b < s->nbuckets; b++) {
            chio__shmap_entry *e;
            for (e = s->buckets[b]; e != NULL; e = e->next)
                fn(ctx, e->key, e->klen, e->value);
        }
        pthread_rwlock_unlock(&s->lock);
    }
}
