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
 * Counters, expiries, references and the retired stack are atomics (see
 * "Lifetime"); the one lock is the kernel's bw_mu, which orders the
 * charges' store writes (see "Budgets survive restarts") and the commit
 * thread's row deletions (see "Reclaiming").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_internal.h"
#include "scope.h"

/* Budgets survive restarts. Every charge (the count after it) is written
 * to the store's "budgets" family before the tool is dispatched
 * (chio__check_budget waits for it; synced under CHIO_DURABILITY_SYNC), and
 * the start restores `used` from there. The guarantee: a budget of N
 * allows at most N dispatches, across any number of drains, restarts and
 * crashes (a SIGKILL while a tool runs included). Fail closed: a crash
 * after the write and before the dispatch (or the receipt) wastes that
 * charge, never grants an extra call; a write that fails fails the kernel
 * closed and the call is an error, its tool not run.
 *
 * The writes are grouped: a checker queues its budget on the kernel's
 * write queue (bw_mu) and waits; one of the waiters, the leader, takes the
 * whole queue and writes one row per queued budget in one WriteBatch
 * (outside bw_mu), with the budget's counter as it is then (at least every
 * charge queued before), so concurrent charges share a write (and a sync).
 * One leader at a time and `committed` (the highest count written, under
 * bw_mu) make the row only grow: a lower count is never written after a
 * higher one. The receipt's WriteBatch carries no charge. Calls whose
 * grant has no max_invocations take no part in any of this. */

/* Reclaiming. A budget whose capability has expired (the latest
 * expires_at of any token charged against it; a token is valid only while
 * now < expires_at) can never be charged again: check 2 refuses the token
 * first, and the kernel clock does not go back. So it is dropped, from
 * memory and from the store:
 *
 *  - the persisted row carries the expiry (BE64 count, BE64 expires_at;
 *    commit.c writes the latest expiry charged with the highest count);
 *  - at start, rows whose expiry has passed are neither loaded nor kept:
 *    they are deleted in one (unsynced) batch, and a lost delete is redone
 *    by the next start;
 *  - while serving, a sweep drops expired budgets from the table,
 *    amortised (chio__reclaim_sweep): at most once per CHIO__SWEEP_SECS of
 *    kernel time and only while the budget and revocation tables hold more
 *    than CHIO__SWEEP_MIN_ROWS entries (fewer are kept, so a clock that
 *    steps back answers on the clock alone), run by whoever inserts a
 *    budget or closes a session, and
 *    at most CHIO__BUDGET_SWEEP_MAX per sweep (the rest stay, still
 *    expired, for the next one, which is then due CHIO__SWEEP_CATCHUP_SECS
 *    later: see mediate.h). A dropped budget goes on the retired stack (see
 *    "Lifetime") and the commit thread drains that stack into its next
 *    group's WriteBatch as row deletions (chio__budgets_put_deletes),
 *    holding bw_mu from the check below until that batch is written, so
 *    no charge is written between the check and the deletion. The stack holds only budgets
 *    that were in the table, so it never grows past what the table held;
 *    a group with no receipts writes nothing and leaves the deletions to
 *    the next group that does. Deletions lost to a crash or a failed write
 *    are redone at the next start.
 *
 * A charge is written before its budget can be retired (the checker
 * holds a reference until its write is done, the queue one while the
 * budget waits), so a row is never written again after its deletion by
 * the budget it was deleted for. A deletion never lowers a live budget:
 * only rows of budgets expired at the sweep (or at start) are deleted, and
 * a deletion is skipped when the table holds a budget under that key again
 * (a token re-issued with the id: that budget owns the row; one created
 * after the check writes its charges after the deletion, bw_mu being held
 * until then). A row with no known expiry
 * (the 8-byte form of earlier versions) is loaded with none and kept
 * until a charge writes its expiry; so is a budget in memory.
 *
 * Lifetime. Checkers hold a reference (taken under the shard lock by the
 * map's hold) while they charge and until their charge is written; the
 * write queue holds one while the budget is queued or being written. A
 * budget whose last reference goes is pushed on the retired stack, which
 * chio__budgets_put_deletes (commit stage only) empties once per group:
 * a budget retired is out of the table and off the queue, so nobody can
 * find it again. Destroy frees what is left.
 *
 * A charge racing the sweep: a checker that found the budget charges it
 * (the count goes on and is written; its row is deleted after, as above). One that misses it
 * creates a fresh budget, and then reads the clock again: the sweep read the clock before removing,
 * so the checker sees its token expired (on the clock, or on the floor the
 * sweep raised first when the clock stepped back) and is refused
 * capability_expired. A budget is never restarted under a live token.
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

    (void)klen;
    if (exp == 0 || c->now < exp || c->n >= c->k->med.sweep_max_budgets)
        return 0;
    /* A token of this id that an open session holds and that is still
     * valid could charge it yet (budget_held.c): keep it. @key is the id,
     * its NUL, then the grant index. */
    if (chio__held_until(c->k, (const char *)key) > c->now)
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

int chio__budgets_put_deletes(chio_kernel *k, chio__store_batch *batch)
{
    chio__budget *b, *next, *live;

    /* Commit stage only. A batch with nothing in it will not be written
     * (no receipt in the group): leave the deletions for the next group.
     * The relaxed peek only avoids the exchange when nothing is retired. */
    if (chio__store_batch_count(batch) == 0 ||
        __atomic_load_n((chio__budget **)&k->med.retired_budgets, __ATOMIC_RELAXED) == NULL)
        return 0;
    /* Held until the batch is written (chio__budgets_deletes_done): no
     * charge of a budget created after the check below is written before
     * the deletion (see "Reclaiming"). */
    pthread_mutex_lock(&k->bw_mu);
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
    return 1;
}

void chio__budgets_deletes_done(chio_kernel *k)
{
    pthread_mutex_unlock(&k->bw_mu);
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

/* Drop the write queue, each budget's queue reference with it: a write
 * failed or the kernel failed closed, so nothing is written again. Under
 * bw_mu. */
static void queue_drop(chio_kernel *k)
{
    chio__budget *b, *next;

    for (b = k->bw_pending; b != NULL; b = next) {
        next = b->wnext;
        b->wnext = NULL;
        b->wstate = 0;
        budget_release(k, b);
    }
    k->bw_pending = NULL;
}

/* The leader's write of @list (taken off the queue; outside bw_mu): one row
 * per budget, its counter as it is now (every charge queued before the
 * leader took the queue is in it: bw_mu orders them) and its latest
 * expiry, never below what was written before (`committed` is only
 * changed by a leader, one at a time). */
static int queue_write(chio_kernel *k, chio__budget *list, chio_error *err)
{
    chio__budget *b;
    uint64_t exp;

    chio__store_batch_clear(k->bw_batch);
    for (b = list; b != NULL; b = b->wnext) {
        /* relaxed: see above; the values order nothing else */
        b->wcount = __atomic_load_n(&b->used, __ATOMIC_RELAXED);
        exp = __atomic_load_n(&b->expires_at, __ATOMIC_RELAXED);
        if (b->wcount < b->committed)
            b->wcount = b->committed;
        b->wexp = exp > b->committed_expires_at ? exp : b->committed_expires_at;
        chio__store_batch_put_budget(k->bw_batch, k->store, b->key, b->klen, b->wcount, b->wexp);
    }
    return chio__store_write(k->store, k->bw_batch, k->durability == CHIO_DURABILITY_SYNC, err);
}

/* Wait until @b's row holds at least @count and @exp (written by this
 * thread as the leader or by another one; see "Budgets survive restarts").
 * The caller holds a reference on @b. 0, or the store error (the kernel
 * failed closed: the caller must not dispatch). */
static int budget_persist(chio_kernel *k, chio__budget *b, uint64_t count, uint64_t exp,
                          chio_error *err)
{
    chio__budget *list, *x, *next;
    chio_error werr;
    int rc = 0, wrc, lead_failed = 0;

    pthread_mutex_lock(&k->bw_mu);
    while (b->committed < count || b->committed_expires_at < exp) {
        if (k->bw_rc != 0 || __atomic_load_n(&k->failed, __ATOMIC_SEQ_CST)) {
            queue_drop(k);
            rc = k->bw_rc != 0 ? k->bw_rc : CHIO_EFAILED;
            break;
        }
        if (b->wstate == 0) { /* queue it, with a reference of the queue's */
            __atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED); /* ours keeps it alive */
            b->wstate = 1;
            b->wnext = k->bw_pending;
            k->bw_pending = b;
        }
        if (k->bw_writing) { /* the leader's write may cover us, or the next one */
            pthread_cond_wait(&k->bw_cv, &k->bw_mu);
            continue;
        }
        list = k->bw_pending; /* lead: write the whole queue */
        k->bw_pending = NULL;
        k->bw_writing = 1;
        for (x = list; x != NULL; x = x->wnext)
            x->wstate = 2;
        pthread_mutex_unlock(&k->bw_mu);
        chio_error_init(&werr);
        wrc = queue_write(k, list, &werr);
        if (wrc != 0)
            lead_failed = wrc;
        pthread_mutex_lock(&k->bw_mu);
        for (x = list; x != NULL; x = next) {
            next = x->wnext;
            x->wnext = NULL;
            x->wstate = 0;
            if (wrc == 0) {
                x->committed = x->wcount;
                x->committed_expires_at = x->wexp;
            }
            budget_release(k, x); /* the queue's reference */
        }
        if (wrc != 0)
            k->bw_rc = wrc == CHIO_ECORRUPT ? wrc : CHIO_ESTORE;
        k->bw_writing = 0;
        pthread_cond_broadcast(&k->bw_cv);
    }
    pthread_mutex_unlock(&k->bw_mu);
    /* Failed closed (and logged) only now, after the waiters were told and
     * with bw_mu released: the log line takes the kernel's log lock, which
     * a waiter may hold (a call submitted from the log sink charges its
     * budget on the sink's thread), so logging before the broadcast could
     * leave both waiting for each other. The store's own failure flag is
     * already up (a caller leaving the kernel sees it). */
    if (lead_failed != 0)
        chio__kernel_fail_closed(k, lead_failed, &werr);
    if (rc != 0)
        return chio__fail(err, rc, CHIO_NO_OFFSET,
                          "budget charge not written (the kernel failed closed after a store "
                          "error); tool not run");
    return 0;
}

/* A refused charge of @b by a token expiring at @exp (which raised the
 * budget's expiry): wait until the row holds that expiry too (see
 * charge_grant), unless the row is of the 8-byte form, with no known
 * expiry, which is never dropped as expired (see "Reclaiming"). */
static int refusal_persist(chio_kernel *k, chio__budget *b, uint64_t exp, chio_error *err)
{
    int no_expiry;

    pthread_mutex_lock(&k->bw_mu);
    no_expiry = b->committed > 0 && b->committed_expires_at == 0;
    pthread_mutex_unlock(&k->bw_mu);
    return no_expiry ? 0 : budget_persist(k, b, 0, exp, err);
}

/* Take one invocation of grant @grant: *code NONE when taken (or the
 * grant has no budget), BUDGET_EXHAUSTED with a reason when it is spent,
 * CAPABILITY_EXPIRED (or NOT_YET_VALID) when the token is no longer valid
 * at its budget's first charge. */
static int charge_grant(chio_kernel *k, const chio_capability *cap, uint32_t grant, chio_code *code,
                        char *reason, size_t cap_reason, chio_error *err)
{
    const chio__tool_grant *tg = &chio__capability_scope(cap)->grants[grant];
    const char *id = chio_capability_id(cap);
    size_t idlen = strlen(id), klen = idlen + 5;
    char key[CHIO__CHARGE_KEY_MAX];
    chio__budget *b;
    uint64_t cur, exp = chio_capability_expires_at(cap);
    int created, rc;

    *code = CHIO_CODE_NONE;
    if (!tg->has_max_invocations)
        return 0;
    *code = CHIO_CODE_BUDGET_EXHAUSTED; /* fail closed */
    if (klen > sizeof(key)) {
        snprintf(reason, cap_reason, "capability id too long for budget accounting");
        return 0;
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
        return 0;
    }
    /* The budget lives as long as its latest-expiring token. */
    raise_expiry(b, exp);
    if (created) {
        chio__reclaim_sweep(k, chio__kernel_now(k), 0);
        /* Swept under us (see above), or expired since check 2: the
         * token's answer, not this budget's (check_budget stops). */
        *code = chio__time_since_check(k, cap, reason, cap_reason);
        if (*code != CHIO_CODE_NONE) {
            budget_release(k, b);
            return 0;
        }
        *code = CHIO_CODE_BUDGET_EXHAUSTED; /* fail closed */
    }
    /* Take one invocation unless the budget is spent; the CAS makes the
     * count exact however many threads race (relaxed: the counter orders
     * nothing else; the write below reads it under bw_mu). */
    cur = __atomic_load_n(&b->used, __ATOMIC_RELAXED);
    do {
        if (cur >= tg->max_invocations) {
            snprintf(reason, cap_reason, "grant %u: max_invocations %llu reached", grant,
                     (unsigned long long)tg->max_invocations);
            /* Refused, but this token (a renewal of the id expiring later)
             * raised the budget's expiry, which keeps the budget, and so
             * the refusal, while it is valid: the row must say so too, or
             * a start after the earlier token expired drops it as expired
             * and the renewal finds a fresh budget (review 44). Written
             * once per raise; nothing to keep when nothing was charged. */
            rc = k->store != NULL && cur > 0 ? refusal_persist(k, b, exp, err) : 0;
            budget_release(k, b);
            return rc;
        }
    } while (!__atomic_compare_exchange_n(&b->used, &cur, cur + 1, 1, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
    /* In the store before the dispatch (see "Budgets survive restarts"). */
    rc = k->store != NULL ? budget_persist(k, b, cur + 1, exp, err) : 0;
    budget_release(k, b);
    if (rc == 0)
        *code = CHIO_CODE_NONE;
    return rc;
}

int chio__check_budget(chio_kernel *k, const chio_capability *cap, const chio__grant_list *grants,
                       chio_code *code, char *reason, size_t cap_reason, chio_error *err)
{
    char why[256];
    uint32_t i;
    int rc;

    *code = CHIO_CODE_BUDGET_EXHAUSTED; /* fail closed: no grant at all */
    snprintf(reason, cap_reason, "no grant to charge");
    for (i = 0; i < grants->n; i++) {
        rc = charge_grant(k, cap, grants->idx[i], code, why, sizeof(why), err);
        if (rc != 0 || *code == CHIO_CODE_NONE)
            return rc;
        if (*code != CHIO_CODE_BUDGET_EXHAUSTED) { /* the token expired: no grant can take it */
            snprintf(reason, cap_reason, "%s", why);
            return 0;
        }
        /* Spent: the next grant that allows the call may have budget left
         * (chio tries every matching grant); the reason names the first. */
        if (i == 0)
            snprintf(reason, cap_reason, "%s", why);
    }
    return 0;
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

    if (k->bw_batch == NULL) /* the charge writes' (budget_persist) */
        k->bw_batch = chio__store_batch_new();
    c.drop = chio__store_batch_new();
    if (c.drop == NULL || k->bw_batch == NULL) {
        chio__store_batch_free(c.drop); /* k->bw_batch stays for a retry (freed with k) */
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory loading budgets");
    }
    rc = chio__store_scan_budgets(k->store, load_budget, &c, err);
    if (rc == CHIO_ENOMEM)
        rc = chio__fail(err, rc, CHIO_NO_OFFSET, "out of memory loading budgets");
    /* One batch, not synced: a lost delete is redone by the next start. */
    if (rc == 0 && c.ndropped > 0)
        rc = chio__store_write(k->store, c.drop, 0, err);
    chio__store_batch_free(c.drop);
    return rc;
}
