/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/revocation.c - the kernel's revocation list, which check 3
 * (authz.c) reads through chio__revoked: revoking an id and loading the
 * list from the store at start (a revocation is never dropped); plus the
 * amortised reclaiming sweep, which drops the budgets of expired
 * capabilities (budget.c), and the floor it raises.
 *
 * Owns one concurrent table (shmap.c):
 *   revocations  capability id -> present. Written to the store (synced)
 *                before it is inserted here; loaded from the store at start.
 *                Never dropped: see "A revocation is kept" below.
 * The revocation list is bounded (CHIO_MAX_REVOCATION_ID_LEN,
 * CHIO_MAX_REVOCATIONS); revokers are serialised by revoke_mu.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_internal.h"

/* A revocation is kept, in memory and in the store, for the kernel's
 * life and across restarts (review 29). Check 3 denies every token whose
 * id, or an id in its delegation chain, is on the list, and nothing the
 * kernel holds can tell that no such token will ever come: an issuer may
 * have signed another token with the id (a renewal) that no session held
 * when it was revoked, or a delegated token naming it, valid after every
 * token the kernel saw. An earlier version (issue 11) dropped the
 * revocation of a kernel refusing delegation once the tokens with the id
 * held at revocation time had expired, and then allowed such a token.
 * Rows such a version stored with a bound ({"revoked_at":N,
 * "expires_at":M}) are kept like any other. The list's size is bounded by
 * CHIO_MAX_REVOCATIONS (then revoking fails with CHIO_ELIMIT), as in a
 * kernel that accepts delegation, which always kept every revocation. */

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

void chio__revocation_free(void *v)
{
    (void)v; /* every value is REVOCATION_KEPT */
}

static int load_one(void *ctx, const char *id, size_t len, const char *value, size_t vlen)
{
    chio_kernel *k = ctx;

    (void)value; /* a bound an earlier version stored is not used: kept */
    (void)vlen;
    if (chio__shmap_put_if_absent(&k->med.revocations, id, len, REVOCATION_KEPT) != REVOCATION_KEPT)
        return CHIO_ENOMEM;
    k->nrevocations++; /* the starting thread, before any revoker can run */
    return 0;
}

int chio__revocations_load(chio_kernel *k, chio_error *err)
{
    int rc;

    if (__atomic_load_n(&k->med.revocations_loaded, __ATOMIC_ACQUIRE))
        return 0;
    k->nrevocations = 0;
    rc = chio__store_scan_revocation_records(k->store, load_one, k, err);
    if (rc == CHIO_ENOMEM)
        rc = chio__fail(err, rc, CHIO_NO_OFFSET, "out of memory loading revocations");
    if (rc == 0)
        __atomic_store_n(&k->med.revocations_loaded, 1, __ATOMIC_RELEASE);
    return rc;
}

size_t chio__reclaim_sweep(chio_kernel *k, uint64_t now, int force)
{
    uint64_t due = __atomic_load_n(&k->med.next_sweep, __ATOMIC_RELAXED);
    size_t nb;

    /* Due at most CHIO__SWEEP_SECS after the clock reading that set it:
     * one further ahead was set by a clock that has since stepped back,
     * and is due now (review 48: a clock a year ahead once stopped every
     * sweep for that year, and expired budgets piled up). */
    if (!force && now < due && due - now <= CHIO__SWEEP_SECS)
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
    return nb;
}

int chio_kernel_revoke_capability(chio_kernel *k, const char *capability_id, chio_error *err)
{
    chio__store_batch *b;
    char value[96];
    size_t idlen;
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
        return chio__fail(err, rc, CHIO_NO_OFFSET, "%s", chio__kernel_enter_refusal(rc));
    rc = chio__kernel_ensure_started(k, err);
    if (rc != 0 || chio__revoked(k, capability_id))
        goto out;
    /* A kernel that failed closed confirms nothing it would write: its
     * store may take this write (its sentinel's mark failed, not
     * RocksDB), but what is on disk is unknown until it is reopened. */
    if (__atomic_load_n(&k->failed, __ATOMIC_SEQ_CST)) {
        rc = chio__fail(err, CHIO_EFAILED, CHIO_NO_OFFSET,
                        "kernel failed closed after a receipt store error; the revocation is not "
                        "written: reopen the kernel and revoke again");
        goto out;
    }
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
    n = snprintf(value, sizeof(value), "{\"revoked_at\":%llu}",
                 (unsigned long long)chio__kernel_now(k));
    chio__store_batch_put_revocation(b, k->store, capability_id, value, (size_t)n);
    /* Persist (synced) before it takes effect: a revocation the caller was
     * told about survives a crash. */
    rc = chio__store_write(k->store, b, 1, err);
    chio__store_batch_free(b);
    if (rc == 0 && chio__shmap_put_if_absent(&k->med.revocations, capability_id, idlen,
                                             REVOCATION_KEPT) != REVOCATION_KEPT)
        rc = chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET,
                        "out of memory (the revocation is stored and applies after a restart)");
    /* Counted once it is in the list: the bound counts the ids held. One
     * stored but not listed (out of memory above) is counted by the retry
     * that lists it, or by the next start's load; counted here too, each
     * retry counted it again and a list short of the bound refused new
     * ids with CHIO_ELIMIT (review 47). */
    added = rc == 0;
    if (added)
        k->nrevocations++;
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
