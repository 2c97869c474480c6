/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/budget.c - check 8 of the pipeline, the invocation budget of a
 * tool grant: charging it, restoring the counters from the store at start,
 * and reclaiming the budgets of expired capabilities (the amortised sweep
 * that runs it is chio__reclaim_sweep, in revocation.c).
 *
 * Owns one concurrent table (shmap.c):
 *   budgets      capability id + grant index -> chio__budget, whose counter
 *                is bumped with a compare-and-swap that never passes
 *                max_invocations; restored from the store at start (see
 *                "Budgets survive restarts" below). Budgets of expired
 *                capabilities are dropped, from memory and from the store
 *                (see "Reclaiming").
 * No lock of its own beyond the table's shard locks: counters, expiries,
 * references and the retired stack are atomics (see "Lifetime").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_internal.h"
#include "scope.h"

/* Budgets survive restarts. Every charge (the count after it) goes to the
 * commit thread with its receipt and is written, in the receipt's
 * WriteBatch, to the store's "budgets" family whenever it exceeds the
 * highest count already committed for that budget (signer.c); the start
 * restores `used` from there. The guarantee: a budget of N allows at most N
 * calls whose receipts are in the log, across any number of drains,
 * restarts and crashes. The tool is dispatched before its receipt is
 * committed, so a crash (or a failed store write) between the dispatch and
 * the commit loses that receipt and its charge together: the caller got no
 * answer, and after a restart that invocation is available again. At most
 * the calls in flight at the crash can be re-granted that way; a charge
 * that reached the store is never lost, and a lower count committed after
 * a higher one never lowers it. */

/* Reclaiming. A budget whose capability has expired (the latest
 * expires_at of any token charged against it; a token is valid only while
 * now < expires_at) can never be charged again: check 2 refuses the token
 * first, and the kernel clock does not go back. So it is dropped, from
 * memory and from the store:
 *
 *  - the persisted row carries the expiry (BE64 count, BE64 expires_at;
 *    signer.c writes the latest expiry charged with the highest count);
 *  - at start, rows whose expiry has passed are neither loaded nor kept:
 *    they are deleted in one (unsynced) batch, and a lost delete is redone
 *    by the next start;
 *  - while serving, a sweep drops expired budgets from the table,
 *    amortised (chio__reclaim_sweep): at most once per CHIO__SWEEP_SECS of
 *    kernel time, run by whoever inserts a budget or closes a session, and
 *    at most BUDGET_SWEEP_MAX per sweep (the rest stay, still expired, for
 *    the next one). A dropped budget goes on the retired stack (see
 *    "Lifetime") and the commit thread, the one store writer on the hot
 *    path, drains that stack into its next group's WriteBatch as row
 *    deletions (chio__budgets_put_deletes). The stack holds only budgets
 *    that were in the table, so it never grows past what the table held;
 *    a group with no receipts writes nothing and leaves the deletions to
 *    the next group that does. Deletions lost to a crash or a failed write
 *    are redone at the next start.
 *
 * A charge committing after its row's deletion (a call in flight at the
 * sweep) writes the row again with its count and expiry: harmless, as the
 * capability has expired; the commit thread's fresh entry carries that
 * expiry, so the next sweep drops it and the row again. A deletion never
 * lowers a live budget: only rows of budgets expired at the sweep (or at
 * start) are deleted, and a deletion is skipped when the table holds a
 * budget under that key again (a token re-issued with the id: that budget
 * owns the row; one created after the check charges in a later group,
 * which rewrites the row after the deletion). A row with no known expiry
 * (the 8-byte form of earlier versions) is loaded with none and kept
 * until a charge writes its expiry; so is a budget in memory.
 *
 * Lifetime. Checkers hold a reference (taken under the shard lock by the
 * map's hold) while they charge. The commit thread reads `committed`
 * through chio__budget_get without a reference; so a budget whose last
 * reference goes is not freed but pushed on the retired stack, which
 * chio__budgets_put_deletes (commit stage only) empties once per group,
 * after the group's charges: by then the commit thread holds no pointer
 * from chio__budget_get, and a budget retired before the emptying is out
 * of the table, so it cannot find it again. Destroy frees what is left.
 *
 * A charge racing the sweep: a checker that found the budget charges it
 * (the count goes on; the commit thread, no longer finding it, writes the
 * charge as it comes). One that misses it creates a fresh budget, and
 * then reads the clock again: the sweep read the clock before removing,
 * so (the kernel clock being monotonic) the checker sees its token
 * expired and is refused. A budget is never restarted under a live token.
 * Budgets are keyed by capability id: a token re-issued with an id whose
 * earlier token expired and was swept starts a fresh budget. */

void chio__budget_hold(void *v)
{
    chio__budget *b = v;

    /* relaxed: taken under the shard lock (see session.c's hold). */
    __atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
}

static void budget_release(chio_kernel *k, chio__budget *b)
{
    chio__budget *head;

    if (__atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    /* Push on the retired stack (release: the budget's last writes are
     * visible to whoever pops it). Pops take the whole stack at once, so
     * there is no ABA. */
    head = __atomic_load_n((chio__budget **)&k->med.retired_budgets, __ATOMIC_RELAXED);
    do
        b->next = head;
    while (!__atomic_compare_exchange_n((chio__budget **)&k->med.retired_budgets, &head, b, 1,
                                        __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

void chio__budgets_retired_free(chio_kernel *k)
{
    chio__budget *b, *next;

    if (__atomic_load_n((chio__budget **)&k->med.retired_budgets, __ATOMIC_RELAXED) == NULL)
        return;
    b = __atomic_exchange_n((chio__budget **)&k->med.retired_budgets, NULL, __ATOMIC_ACQUIRE);
    for (; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
}

/* Most budgets one sweep drops (each becomes a row deletion in a commit
 * group): bounds the deletion batch; the rest wait for the next sweep. */
#define BUDGET_SWEEP_MAX 65536

typedef struct sweep_ctx {
    chio_kernel *k;
    uint64_t now;
    size_t n;
} sweep_ctx;

static int budget_expired(void *ctx, const void *key, size_t klen, void *value)
{
    sweep_ctx *c = ctx;
    chio__budget *b = value;
    /* relaxed: see raise_expiry. A checker raising it as we drop the
     * budget is handled as "A charge racing the sweep" below. */
    uint64_t exp = __atomic_load_n(&b->expires_at, __ATOMIC_RELAXED);

    (void)key;
    (void)klen;
    if (exp == 0 || c->now < exp || c->n >= BUDGET_SWEEP_MAX)
        return 0;
    chio__expired_floor_raise(c->k, exp);
    c->n++;
    budget_release(c->k, b); /* the table's reference: its row goes with it */
    return 1;
}

size_t chio__budgets_sweep(chio_kernel *k, uint64_t now)
{
    sweep_ctx c = {k, now, 0};

    return chio__shmap_sweep(&k->med.budgets, budget_expired, &c);
}

void chio__budgets_put_deletes(chio_kernel *k, chio__store_batch *batch)
{
    chio__budget *b, *next, *live;

    /* Commit stage only. A batch with nothing in it will not be written
     * (no receipt in the group): leave the deletions for the next group.
     * The relaxed peek only avoids the exchange when nothing is retired. */
    if (chio__store_batch_count(batch) == 0 ||
        __atomic_load_n((chio__budget **)&k->med.retired_budgets, __ATOMIC_RELAXED) == NULL)
        return;
    /* acquire: pairs with budget_release's release push, so each popped
     * budget's key and last writes are visible. The whole stack at once:
     * no ABA. */
    b = __atomic_exchange_n((chio__budget **)&k->med.retired_budgets, NULL, __ATOMIC_ACQUIRE);
    for (; b != NULL; b = next) {
        next = b->next;
        live = chio__shmap_get(&k->med.budgets, b->key, b->klen);
        if (live != NULL)
            budget_release(k, live); /* a budget under this key again: it owns the row */
        else
            chio__store_batch_delete_budget(batch, k->store, b->key, b->klen);
        free(b);
    }
}

/* The budget under @key with a reference (budget_release drops it),
 * created with @used when absent (*created = 1). NULL: out of memory. */
static chio__budget *budget_entry(chio_kernel *k, const char *key, size_t klen, uint64_t used,
                                  int *created)
{
    chio__budget *b = chio__shmap_get(&k->med.budgets, key, klen), *fresh;

    *created = 0;
    if (b != NULL)
        return b;
    fresh = calloc(1, sizeof(*fresh) + klen);
    if (fresh == NULL)
        return NULL;
    memcpy(fresh->key, key, klen); /* published with the entry, under the shard lock */
    fresh->klen = (uint32_t)klen;
    fresh->used = fresh->committed = used;
    fresh->refs = 2; /* the table's and ours */
    b = chio__shmap_put_if_absent(&k->med.budgets, key, klen, fresh);
    if (b != fresh)
        free(fresh); /* another checker's won (held for us), or out of memory */
    else
        *created = 1;
    return b;
}

/* Raise @b's expiry to @exp (atomic max; relaxed: the value orders
 * nothing else, and the sweep judges it against a clock it read first). */
static void raise_expiry(chio__budget *b, uint64_t exp)
{
    uint64_t seen = __atomic_load_n(&b->expires_at, __ATOMIC_RELAXED);

    while (seen < exp && !__atomic_compare_exchange_n(&b->expires_at, &seen, exp, 1,
                                                      __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

chio__budget *chio__budget_get(chio_kernel *k, const char *key, size_t klen, uint64_t expires_at)
{
    chio__budget *b;
    int created;

    /* Commit stage only (see "Lifetime" above). Created when absent, so
     * that a lower count committed later never lowers the stored one. In
     * a serving kernel it is absent only when a charge commits after the
     * sweep dropped its (expired) budget: the entry gets the charge's
     * expiry, so the next sweep drops it (and its row) again. */
    b = budget_entry(k, key, klen, 0, &created);
    if (b != NULL) {
        raise_expiry(b, expires_at);
        budget_release(k, b); /* retired at the worst: freed by put_deletes, after our use */
    }
    return b;
}

chio_code chio__check_budget(chio_kernel *k, const chio_capability *cap, uint32_t grant,
                             chio__charge *charge, char *reason, size_t cap_reason)
{
    const chio__tool_grant *tg = &chio__capability_scope(cap)->grants[grant];
    const char *id = chio_capability_id(cap);
    size_t idlen = strlen(id), klen = idlen + 5;
    char key[CHIO__CHARGE_KEY_MAX];
    chio__budget *b;
    uint64_t cur, exp = chio_capability_expires_at(cap);
    int created;

    charge->keylen = 0;
    if (!tg->has_max_invocations)
        return CHIO_CODE_NONE;
    if (klen > sizeof(key)) {
        snprintf(reason, cap_reason, "capability id too long for budget accounting");
        return CHIO_CODE_BUDGET_EXHAUSTED; /* fail closed */
    }
    memcpy(key, id, idlen);
    key[idlen] = '\0';
    key[idlen + 1] = (char)(grant >> 24);
    key[idlen + 2] = (char)(grant >> 16);
    key[idlen + 3] = (char)(grant >> 8);
    key[idlen + 4] = (char)grant;
    b = budget_entry(k, key, klen, 0, &created);
    if (b == NULL) {
        snprintf(reason, cap_reason, "out of memory for budget accounting");
        return CHIO_CODE_BUDGET_EXHAUSTED; /* fail closed */
    }
    /* The budget lives as long as its latest-expiring token. */
    raise_expiry(b, exp);
    if (created) {
        uint64_t now = chio__kernel_now(k);
        chio__reclaim_sweep(k, now, 0);
        if (now >= exp || chio__expired_by_floor(k, exp)) { /* swept under us: see above */
            budget_release(k, b);
            snprintf(reason, cap_reason, "grant %u: the capability expired during the call", grant);
            return CHIO_CODE_BUDGET_EXHAUSTED;
        }
    }
    /* Take one invocation unless the budget is spent; the CAS makes the
     * count exact however many threads race (relaxed: the counter orders
     * nothing else; the charge travels to the commit thread through the
     * sign request, published by the ring hand-off). */
    cur = __atomic_load_n(&b->used, __ATOMIC_RELAXED);
    do {
        if (cur >= tg->max_invocations) {
            snprintf(reason, cap_reason, "grant %u: max_invocations %llu reached", grant,
                     (unsigned long long)tg->max_invocations);
            budget_release(k, b);
            return CHIO_CODE_BUDGET_EXHAUSTED;
        }
    } while (!__atomic_compare_exchange_n(&b->used, &cur, cur + 1, 1, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
    budget_release(k, b);
    memcpy(charge->key, key, klen);
    charge->keylen = (uint32_t)klen;
    charge->count = cur + 1;
    charge->expires_at = exp;
    return CHIO_CODE_NONE;
}

typedef struct bload_ctx {
    chio_kernel *k;
    uint64_t now;
    chio__store_batch *drop; /* rows of expired capabilities to delete */
    size_t ndropped;
} bload_ctx;

static int load_budget(void *ctx, const char *key, size_t klen, uint64_t count, uint64_t expires_at)
{
    bload_ctx *c = ctx;
    chio_kernel *k = c->k;
    chio__budget *b;
    int created;

    if (klen < 6 || klen > CHIO__CHARGE_KEY_MAX || key[klen - 5] != '\0')
        return 0;                                  /* not a key this kernel writes: ignore */
    if (expires_at != 0 && c->now >= expires_at) { /* can never be charged again */
        chio__expired_floor_raise(k, expires_at);
        chio__store_batch_delete_budget(c->drop, k->store, key, klen);
        c->ndropped++;
        return 0;
    }
    b = budget_entry(k, key, klen, count, &created);
    if (b == NULL)
        return CHIO_ENOMEM;
    /* Only the starting thread runs here: plain accesses, published to the
     * serving threads when they start. */
    if (b->used < count)
        b->used = count;
    if (b->committed < count)
        b->committed = count;
    if (b->committed_expires_at < expires_at)
        b->committed_expires_at = expires_at;
    raise_expiry(b, expires_at); /* 0: none known, kept */
    budget_release(k, b);
    return 0;
}

int chio__budgets_load(chio_kernel *k, chio_error *err)
{
    bload_ctx c = {k, chio__kernel_now(k), NULL, 0};
    int rc;

    c.drop = chio__store_batch_new();
    if (c.drop == NULL)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory loading budgets");
    rc = chio__store_scan_budgets(k->store, load_budget, &c, err);
    if (rc == CHIO_ENOMEM)
        rc = chio__fail(err, rc, CHIO_NO_OFFSET, "out of memory loading budgets");
    /* One batch, not synced: a lost delete is redone by the next start. */
    if (rc == 0 && c.ndropped > 0)
        rc = chio__store_write(k->store, c.drop, 0, err);
    chio__store_batch_free(c.drop);
    return rc;
}
