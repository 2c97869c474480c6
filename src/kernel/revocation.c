/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/revocation.c - the kernel's revocation list, which check 3
 * (authz.c) reads through chio__revoked: revoking an id, loading the list
 * from the store at start, and dropping revocations no valid token can
 * name; plus the amortised reclaiming sweep, which also drops the budgets
 * of expired capabilities (budget.c).
 *
 * Owns one concurrent table (shmap.c):
 *   revocations  capability id -> present. Written to the store (synced)
 *                before it is inserted here; loaded from the store at start.
 *                Dropped, from memory and store together, only once no
 *                token naming the id can be valid: see "How long a
 *                revocation is kept" below.
 * The revocation list is bounded (CHIO_MAX_REVOCATION_ID_LEN,
 * CHIO_MAX_REVOCATIONS); revokers are serialised by revoke_mu.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_internal.h"

/* How long a revocation is kept (issue 11). A token is valid only while
 * now < expires_at, so a revocation can go once no token naming its id can
 * still be valid. Tokens name an id in two ways: as their own id, and as a
 * link of their delegation chain; and in this codebase a delegated token's
 * expires_at is not bounded by its ancestors' (the links carry only a
 * timestamp; see chio_capability_verify), so a revoked ancestor can be
 * named by tokens that outlive every token the kernel knows. Hence:
 *
 *  - when the kernel refuses every delegated token (max_delegation_depth
 *    0: check 4 denies any chain, whatever check 3 says), the bound is the
 *    latest expires_at among the tokens with that id held by open sessions
 *    at revocation time that pass check 1 (a forged token with the id and
 *    an early expires_at must not shorten it); it is stored in the record
 *    ({"revoked_at":N,"expires_at":M}) and the revocation is dropped, from
 *    memory and from the store, once the kernel clock reaches it;
 *  - otherwise, or when no open session holds a token with that id, no
 *    bound is known: the record has no expires_at and is kept for good.
 *
 * A stored bound is only used while the kernel still refuses delegation:
 * a kernel started with max_delegation_depth > 0 keeps every revocation.
 * This relies on capability ids naming one token (an issuer does not issue
 * a second token with a revoked id and a later expires_at); budgets make
 * the same assumption. Drops happen when revocations are loaded at start
 * and in the amortised sweep (chio__reclaim_sweep). In memory the value is
 * (void *)1 (kept) or a heap uint64_t with the bound; readers only test it
 * against NULL, so the sweep may free it under the shard's write lock. */

void chio__expired_floor_raise(chio_kernel *k, uint64_t expires_at)
{
    uint64_t seen = __atomic_load_n(&k->med.expired_floor, __ATOMIC_SEQ_CST);

    /* seq_cst, and before the entry is removed (under its shard's lock):
     * a checker that misses the entry reads the floor after the removal. */
    while (seen < expires_at &&
           !__atomic_compare_exchange_n(&k->med.expired_floor, &seen, expires_at, 0,
                                        __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        ;
    /* Persisted ahead of the deletions it allows (store_internal.h): a
     * restart with the clock stepped back must not forget it. */
    if (k->store != NULL)
        chio__store_note_expired_floor(k->store, expires_at);
}

int chio__expired_by_floor(chio_kernel *k, uint64_t expires_at)
{
    return __atomic_load_n(&k->med.expired_floor, __ATOMIC_SEQ_CST) >= expires_at;
}

int chio__revoked(chio_kernel *k, const char *id)
{
    return chio__shmap_get(&k->med.revocations, id, strlen(id)) != NULL;
}

/* The guards and the budget's synced write run between check 3 and the
 * dispatch, and host code may take any time there: a revocation that
 * returned meanwhile must stop the tool (issue: review-races). Only the
 * lookups: check 3 already refused ids the list cannot hold. */
uint64_t chio__revoke_gen(const chio_kernel *k)
{
    /* Pairs with the seq_cst increment in chio_kernel_revoke_capability():
     * a revocation that returned before this load is seen by the check 3
     * lookups after it, or raises the value the second check reads. */
    return __atomic_load_n(&k->revoke_gen, __ATOMIC_SEQ_CST);
}

chio_code chio__revoked_since_check(chio_kernel *k, const chio_capability *cap, uint64_t seen_gen,
                                    char *reason, size_t cap_reason)
{
    size_t i, depth = chio_capability_delegation_depth(cap);
    const char *id;

    if (chio__revoke_gen(k) == seen_gen)
        return CHIO_CODE_NONE; /* nothing revoked since check 3 looked */

    if (chio__revoked(k, chio_capability_id(cap))) {
        snprintf(reason, cap_reason, "capability '%.100s' was revoked during the call",
                 chio_capability_id(cap));
        return CHIO_CODE_CAPABILITY_REVOKED;
    }
    for (i = 0; i < depth; i++) {
        id = chio_capability_delegation_id(cap, i);
        if (id != NULL && chio__revoked(k, id)) {
            snprintf(reason, cap_reason,
                     "delegation ancestor '%.100s' (link %zu) was revoked during the call", id, i);
            return CHIO_CODE_CAPABILITY_REVOKED;
        }
    }
    return CHIO_CODE_NONE;
}

#define REVOCATION_KEPT ((void *)1)

static void *revocation_value(uint64_t expires_at)
{
    uint64_t *v;

    if (expires_at == 0)
        return REVOCATION_KEPT;
    v = malloc(sizeof(*v));
    if (v != NULL)
        *v = expires_at;
    return v;
}

void chio__revocation_free(void *v)
{
    if (v != REVOCATION_KEPT)
        free(v);
}

/* The bound of a record's "expires_at" (0: none). */
static uint64_t record_expiry(const char *value, size_t vlen)
{
    static const char key[] = "\"expires_at\":";
    size_t i, n = sizeof(key) - 1;
    uint64_t v = 0;

    for (i = 0; i + n <= vlen; i++) {
        if (memcmp(value + i, key, n) != 0)
            continue;
        for (i += n; i < vlen && value[i] >= '0' && value[i] <= '9'; i++) {
            if (v > (UINT64_MAX - 9) / 10)
                return 0; /* not a number this kernel writes: keep */
            v = v * 10 + (uint64_t)(value[i] - '0');
        }
        return v;
    }
    return 0;
}

typedef struct held_expiry {
    chio_kernel *k;
    const char *id;
    uint64_t latest;
} held_expiry;

static void held_one(void *ctx, const void *key, size_t klen, void *value)
{
    held_expiry *h = ctx;
    chio__session *s = value;
    const chio__session_cap *sc;

    (void)key;
    (void)klen;
    /* The session cannot be freed while its shard's read lock is held (it
     * leaves the table under the write lock first), and its tokens live as
     * long as it does. */
    sc = chio__session_find_cap(s, h->id);
    /* Only a token a trusted issuer signed names the revoked token: anyone
     * can open a session holding a forged one with the same id and an
     * early expires_at, which must not cut the revocation short. A token
     * with a delegation chain is refused at check 4 by such a kernel. */
    if (sc != NULL && chio_capability_expires_at(sc->cap) > h->latest &&
        chio_capability_delegation_depth(sc->cap) == 0 && chio__token_trusted(h->k, sc))
        h->latest = chio_capability_expires_at(sc->cap);
}

/* The bound for revoking @id now (0: none known, keep for good). */
static uint64_t revocation_bound(chio_kernel *k, const char *id)
{
    held_expiry h = {k, id, 0};

    if (k->max_delegation_depth != 0)
        return 0;
    chio__shmap_each(&k->med.sessions, held_one, &h);
    return h.latest;
}

typedef struct load_ctx {
    chio_kernel *k;
    uint64_t now;
    chio__store_batch *drop; /* expired records to delete */
    size_t ndropped;
} load_ctx;

static int load_one(void *ctx, const char *id, size_t len, const char *value, size_t vlen)
{
    load_ctx *c = ctx;
    chio_kernel *k = c->k;
    uint64_t exp = k->max_delegation_depth == 0 ? record_expiry(value, vlen) : 0;
    void *v;

    if (exp != 0 && c->now >= exp) {
        chio__expired_floor_raise(k, exp);
        chio__store_batch_delete_revocation(c->drop, k->store, id, len);
        c->ndropped++;
        return 0;
    }
    v = revocation_value(exp);
    if (v == NULL || chio__shmap_put_if_absent(&k->med.revocations, id, len, v) != v) {
        chio__revocation_free(v);
        return CHIO_ENOMEM;
    }
    k->nrevocations++; /* the starting thread, before any revoker can run */
    return 0;
}

int chio__revocations_load(chio_kernel *k, chio_error *err)
{
    load_ctx c = {k, 0, NULL, 0};
    int rc;

    if (__atomic_load_n(&k->med.revocations_loaded, __ATOMIC_ACQUIRE))
        return 0;
    k->nrevocations = 0;
    c.now = chio__kernel_now(k);
    c.drop = chio__store_batch_new();
    if (c.drop == NULL)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory loading revocations");
    rc = chio__store_scan_revocation_records(k->store, load_one, &c, err);
    if (rc == CHIO_ENOMEM)
        rc = chio__fail(err, rc, CHIO_NO_OFFSET, "out of memory loading revocations");
    /* Not synced: a lost delete is redone by the next load. */
    if (rc == 0 && c.ndropped > 0)
        rc = chio__store_write(k->store, c.drop, 0, err);
    chio__store_batch_free(c.drop);
    if (rc == 0)
        __atomic_store_n(&k->med.revocations_loaded, 1, __ATOMIC_RELEASE);
    return rc;
}

typedef struct rsweep_ctx {
    chio_kernel *k;
    uint64_t now;
    chio__store_batch *drop;
    size_t n;
} rsweep_ctx;

static int revocation_expired(void *ctx, const void *key, size_t klen, void *value)
{
    rsweep_ctx *c = ctx;

    if (value == REVOCATION_KEPT || c->now < *(const uint64_t *)value)
        return 0;
    chio__expired_floor_raise(c->k, *(const uint64_t *)value);
    chio__store_batch_delete_revocation(c->drop, c->k->store, key, klen);
    chio__revocation_free(value);
    c->n++;
    return 1;
}

/* Drop expired revocations (memory, then store). Needs the store open. */
static size_t revocations_sweep(chio_kernel *k, uint64_t now)
{
    rsweep_ctx c = {k, now, NULL, 0};
    chio_error err;

    if (!__atomic_load_n(&k->med.revocations_loaded, __ATOMIC_ACQUIRE) ||
        chio__kernel_enter(k) != 0)
        return 0;
    c.drop = chio__store_batch_new();
    if (c.drop != NULL) {
        /* revoke_mu: the count stays exact, and a revoker of the same id
         * never interleaves with its drop. */
        pthread_mutex_lock(&k->revoke_mu);
        chio__shmap_sweep(&k->med.revocations, revocation_expired, &c);
        k->nrevocations -= c.n;
        chio_error_init(&err);
        /* Not synced; a failed or lost delete is redone by the next load. */
        if (c.n > 0)
            (void)chio__store_write(k->store, c.drop, 0, &err);
        pthread_mutex_unlock(&k->revoke_mu);
        chio__store_batch_free(c.drop);
    }
    chio__kernel_leave(k);
    return c.n;
}

size_t chio__reclaim_sweep(chio_kernel *k, uint64_t now, int force)
{
    uint64_t due = __atomic_load_n(&k->med.next_sweep, __ATOMIC_RELAXED);
    size_t nb;

    if (!force && now < due)
        return 0;
    /* One sweeper per period: the others see the new due time. */
    if (!__atomic_compare_exchange_n(&k->med.next_sweep, &due, now + CHIO__SWEEP_SECS, 0,
                                     __ATOMIC_RELAXED, __ATOMIC_RELAXED) &&
        !force)
        return 0;
    /* Few entries: keep them (kernel.md's answers on the clock alone when
     * the clock steps back); counted at most once per period. */
    if (!force && chio__shmap_count(&k->med.budgets) + chio__shmap_count(&k->med.revocations) <=
                      k->med.sweep_min_rows)
        return 0;
    nb = chio__budgets_sweep(k, now);
    /* A full sweep may have left expired budgets behind: the next is due
     * soon, or budgets created faster than one sweep drops per period
     * would pile up for good (mediate.h). Unless another sweeper moved it. */
    due = now + CHIO__SWEEP_SECS;
    if (nb >= k->med.sweep_max_budgets)
        (void)__atomic_compare_exchange_n(&k->med.next_sweep, &due, now + CHIO__SWEEP_CATCHUP_SECS,
                                          0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    return nb + revocations_sweep(k, now);
}

int chio_kernel_revoke_capability(chio_kernel *k, const char *capability_id, chio_error *err)
{
    chio__store_batch *b;
    char value[96];
    size_t idlen;
    uint64_t bound;
    void *v;
    int n, rc, added = 0;

    if (k == NULL || capability_id == NULL || capability_id[0] == '\0' ||
        !chio__utf8_valid(capability_id, strlen(capability_id)))
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "capability id must be a non-empty UTF-8 string");
    idlen = strlen(capability_id);
    if (idlen > CHIO__MAX_REVOCATION_ID_LEN)
        return chio__fail(err, CHIO_ETOOBIG, CHIO_NO_OFFSET,
                          "capability id is %zu bytes; at most %d can be revoked", idlen,
                          CHIO__MAX_REVOCATION_ID_LEN);
    rc = chio__kernel_enter(k);
    if (rc != 0)
        return chio__fail(err, rc, CHIO_NO_OFFSET, "kernel is draining or drained");
    rc = chio__kernel_ensure_started(k, err);
    if (rc != 0 || chio__revoked(k, capability_id))
        goto out;
    /* Revocations are rare and each one waits for a synced write anyway:
     * one at a time keeps the count, and so the bound, exact. */
    pthread_mutex_lock(&k->revoke_mu);
    if (chio__revoked(k, capability_id))
        goto unlock;
    if (k->nrevocations >= k->max_revocations) {
        rc = chio__fail(err, CHIO_ELIMIT, CHIO_NO_OFFSET,
                        "the revocation list is full (%llu ids); no more can be revoked",
                        (unsigned long long)k->max_revocations);
        goto unlock;
    }
    b = chio__store_batch_new();
    if (b == NULL) {
        rc = chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
        goto unlock;
    }
    bound = revocation_bound(k, capability_id);
    if (bound != 0)
        n = snprintf(value, sizeof(value), "{\"revoked_at\":%llu,\"expires_at\":%llu}",
                     (unsigned long long)chio__kernel_now(k), (unsigned long long)bound);
    else
        n = snprintf(value, sizeof(value), "{\"revoked_at\":%llu}",
                     (unsigned long long)chio__kernel_now(k));
    chio__store_batch_put_revocation(b, k->store, capability_id, value, (size_t)n);
    /* Persist (synced) before it takes effect: a revocation the caller was
     * told about survives a crash. */
    rc = chio__store_write(k->store, b, 1, err);
    chio__store_batch_free(b);
    if (rc == 0)
        k->nrevocations++;
    if (rc == 0) {
        v = revocation_value(bound);
        if (v == NULL ||
            chio__shmap_put_if_absent(&k->med.revocations, capability_id, idlen, v) != v) {
            chio__revocation_free(v);
            rc = chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET,
                            "out of memory (the revocation is stored and applies after a restart)");
        }
    }
    added = rc == 0;
    /* seq_cst, after the id is in the list: see chio__revoke_gen(). */
    if (added)
        __atomic_add_fetch(&k->revoke_gen, 1, __ATOMIC_SEQ_CST);
unlock:
    pthread_mutex_unlock(&k->revoke_mu);
    if (added) /* after the unlock: a log sink runs host code */
        chio__log(k, CHIO_LOG_INFO, "capability_revoked", NULL, "\"revoked\":true");
out:
    chio__kernel_leave(k);
    return rc;
}

void chio__kernel_set_max_revocations(chio_kernel *k, uint64_t max)
{
    pthread_mutex_lock(&k->revoke_mu);
    k->max_revocations = max;
    pthread_mutex_unlock(&k->revoke_mu);
}

int chio_kernel_is_revoked(chio_kernel *k, const char *capability_id)
{
    int rc;

    if (k == NULL || capability_id == NULL)
        return CHIO_EINVAL; /* never "not revoked" for a question not asked */
    /* The list in memory is the store's only once the kernel started (a
     * restart loads it there): before that, start it, as a call would, so
     * an id revoked in an earlier run never reads as "not revoked". A
     * kernel drained before it ever started cannot answer (EDRAINED). */
    if (!__atomic_load_n(&k->med.revocations_loaded, __ATOMIC_ACQUIRE)) {
        rc = chio__kernel_enter(k);
        if (rc != 0)
            return rc;
        rc = chio__kernel_ensure_started(k, NULL);
        chio__kernel_leave(k);
        if (rc != 0)
            return rc;
    }
    return chio__revoked(k, capability_id);
}
