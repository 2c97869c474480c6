/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/authz.c - checks 1 to 8 of the pipeline that concern the token:
 * signature and issuer, time, revocation, delegation chain, subject, scope
 * (constraints in constraints.c) and the invocation budget; plus the
 * kernel's revocation list and capability issuing.
 *
 * Owns three concurrent tables (shmap.c):
 *   token_cache  sha256(canonical token bytes) -> {signature ok, issuer
 *                trusted, chain links ok}, three bits packed into the
 *                value pointer (no allocation, nothing to free on
 *                eviction). Only the time-independent,
 *                revocation-independent facts are cached, so time and
 *                revocation are evaluated on every call and a hit can never
 *                let an expired or revoked token through; a tampered token
 *                has other bytes, so another key, and is verified afresh.
 *                Bounded (CHIO__TOKEN_CACHE_MAX): a full shard evicts by
 *                CLOCK, so a hot working set stays cached under any churn
 *                of cold tokens, and an evicted token is just verified again.
 *   revocations  capability id -> present. Written to the store (synced)
 *                before it is inserted here; loaded from the store at start.
 *                Dropped, from memory and store together, only once no
 *                token naming the id can be valid: see "revocation" below.
 *   budgets      capability id + grant index -> chio__budget, whose counter
 *                is bumped with a compare-and-swap that never passes
 *                max_invocations; restored from the store at start. Budgets
 *                of expired capabilities are dropped, from memory and from
 *                the store (see "check 8", "Reclaiming").
 * The revocation list is bounded (CHIO_MAX_REVOCATION_ID_LEN,
 * CHIO_MAX_REVOCATIONS); revokers are serialised by revoke_mu.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_internal.h"
#include "scope.h"

/* ---- checks 1-5 --------------------------------------------------------------------- */

/* A cache value: bit 3 always set (never NULL), bits 0-2 the facts. */
#define VERIFIED_TAG 8u

static const chio__verified *verified_of(chio_kernel *k, const chio__session_cap *sc,
                                         chio__verified *local)
{
    uintptr_t hit = (uintptr_t)chio__shmap_get(&k->med.token_cache, sc->hash, 32), v;
    chio_capability_report rep;

    memset(local, 0, sizeof(*local));
    if (hit != 0) {
        local->sig_ok = (uint8_t)(hit & 1u);
        local->issuer_trusted = (uint8_t)((hit >> 1) & 1u);
        local->chain_ok = (uint8_t)((hit >> 2) & 1u);
        return local;
    }
    /* Depth is judged per call (check 4), so verify links with no limit. */
    if (chio_capability_verify(sc->cap, 0, k->med.trusted, k->med.ntrusted, -1, &rep) != 0)
        return local; /* all zero: denied as invalid_signature */
    local->sig_ok = (uint8_t)(rep.signature_valid != 0);
    local->issuer_trusted = (uint8_t)(rep.issuer_trusted != 0);
    local->chain_ok = (uint8_t)(rep.delegation_chain_shape_valid != 0);
    v = VERIFIED_TAG | local->sig_ok | (uintptr_t)local->issuer_trusted << 1 |
        (uintptr_t)local->chain_ok << 2;
    /* NULL (out of memory) or another thread's equal value: both fine. */
    (void)chio__shmap_put_if_absent(&k->med.token_cache, sc->hash, 32, (void *)v);
    return local;
}

static int revoked(chio_kernel *k, const char *id)
{
    return chio__shmap_get(&k->med.revocations, id, strlen(id)) != NULL;
}

chio_code chio__check_token(chio_kernel *k, const chio__session_cap *sc, const char *agent,
                            uint64_t now, char *reason, size_t cap)
{
    const chio_capability *c = sc->cap;
    chio__verified local;
    const chio__verified *v = verified_of(k, sc, &local);
    size_t i, depth;

    /* 1. signature, then issuer */
    if (!v->sig_ok) {
        snprintf(reason, cap, "capability signature does not verify under its issuer key");
        return CHIO_CODE_INVALID_SIGNATURE;
    }
    if (!v->issuer_trusted) {
        snprintf(reason, cap, "capability issuer %s is not a trusted issuer",
                 chio_capability_issuer_hex(c));
        return CHIO_CODE_UNTRUSTED_ISSUER;
    }
    /* 2. time: valid iff issued_at <= now < expires_at */
    if (now >= chio_capability_expires_at(c)) {
        snprintf(reason, cap, "capability expired at %llu (now %llu)",
                 (unsigned long long)chio_capability_expires_at(c), (unsigned long long)now);
        return CHIO_CODE_CAPABILITY_EXPIRED;
    }
    if (now < chio_capability_issued_at(c)) {
        snprintf(reason, cap, "capability is not valid before %llu (now %llu)",
                 (unsigned long long)chio_capability_issued_at(c), (unsigned long long)now);
        return CHIO_CODE_CAPABILITY_NOT_YET_VALID;
    }
    /* 3. revocation of the token or of any id in its delegation chain */
    if (revoked(k, chio_capability_id(c))) {
        snprintf(reason, cap, "capability '%.100s' has been revoked", chio_capability_id(c));
        return CHIO_CODE_CAPABILITY_REVOKED;
    }
    depth = chio_capability_delegation_depth(c);
    for (i = 0; i < depth; i++) {
        const char *id = chio_capability_delegation_id(c, i);
        if (id != NULL && revoked(k, id)) {
            snprintf(reason, cap, "delegation ancestor '%.100s' (link %zu) has been revoked", id,
                     i);
            return CHIO_CODE_CAPABILITY_REVOKED;
        }
    }
    /* A revocation may have been dropped between check 2 and check 3 only
     * when its bound passed, which bounds this token's expires_at (see
     * "revocation" below); read the clock again so such a token is refused
     * as expired. Only kernels that refuse delegation ever drop one. */
    if (k->max_delegation_depth == 0 && chio__kernel_now(k) >= chio_capability_expires_at(c)) {
        snprintf(reason, cap, "capability expired at %llu",
                 (unsigned long long)chio_capability_expires_at(c));
        return CHIO_CODE_CAPABILITY_EXPIRED;
    }
    /* 4. delegation chain: depth, then the links (chio's order) */
    if (depth > k->max_delegation_depth) {
        snprintf(reason, cap, "delegation chain has %zu links; at most %u are allowed", depth,
                 k->max_delegation_depth);
        return CHIO_CODE_DELEGATION_DEPTH_EXCEEDED;
    }
    if (!v->chain_ok) {
        snprintf(reason, cap,
                 "delegation chain is invalid (a link signature, delegator/delegatee "
                 "connection or timestamp order fails)");
        return CHIO_CODE_DELEGATION_INVALID;
    }
    /* 5. subject binding */
    if (strcmp(chio_capability_subject_hex(c), agent) != 0) {
        snprintf(reason, cap, "capability subject %.64s is not the calling agent",
                 chio_capability_subject_hex(c));
        return CHIO_CODE_SUBJECT_MISMATCH;
    }
    return CHIO_CODE_NONE;
}

/* ---- check 6: scope ------------------------------------------------------------------- */

static int name_matches(const char *grant, const char *name)
{
    return strcmp(grant, "*") == 0 || strcmp(grant, name) == 0;
}

/* Why @tg is unusable, into @why; 0 when the kernel enforces all of it. */
static int grant_unsupported(const chio_capability *cap, const chio__tool_grant *tg, uint32_t g,
                             char *why, size_t cap_why)
{
    const char *top = chio_capability_unknown_field(cap);

    if (top != NULL)
        snprintf(why, cap_why, "the capability has a field the kernel does not enforce ('%.60s')",
                 top);
    else if (tg->unsupported != NULL)
        snprintf(why, cap_why, "grant %u asks for %s%s%.60s%s, which the kernel does not enforce",
                 g, tg->unsupported, tg->unsupported_name ? " '" : "",
                 tg->unsupported_name ? tg->unsupported_name : "", tg->unsupported_name ? "'" : "");
    else
        return 0;
    return 1;
}

chio_code chio__check_tool_scope(chio_kernel *k, const chio_capability *cap, const char *server,
                                 const char *tool, const chio_json *args, size_t args_canonical_len,
                                 uint32_t *grant, char *reason, size_t cap_reason)
{
    const chio__scope *sc = chio__capability_scope(cap);
    uint32_t g, c;
    int matched = 0, usable = 0;
    char first_reason[256] = "", unsupported[256] = "";

    for (g = 0; g < sc->ngrants; g++) {
        const chio__tool_grant *tg = &sc->grants[g];
        char why[256];
        int ok = 1;

        if (!name_matches(tg->server_id, server) || !name_matches(tg->tool_name, tool) ||
            !(tg->ops & CHIO__OP_INVOKE))
            continue;
        /* A grant asking for what the kernel does not enforce is unusable
         * (fail closed), whatever its constraints say. */
        if (grant_unsupported(cap, tg, g, why, sizeof(why))) {
            if (!matched)
                snprintf(unsupported, sizeof(unsupported), "%s", why);
            matched = 1;
            continue;
        }
        for (c = 0; c < tg->nconstraints && ok; c++)
            ok = chio__constraint_holds(k, &tg->constraints[c], args, args_canonical_len, why,
                                        sizeof(why));
        if (ok) {
            *grant = g;
            return CHIO_CODE_NONE;
        }
        if (!usable)
            snprintf(first_reason, sizeof(first_reason), "grant %u: %.200s", g, why);
        matched = usable = 1;
    }
    if (!matched) {
        snprintf(reason, cap_reason, "no grant allows invoke of %.100s/%.100s", server, tool);
        return CHIO_CODE_OUT_OF_SCOPE;
    }
    if (!usable) {
        snprintf(reason, cap_reason, "%s", unsupported);
        return CHIO_CODE_UNSUPPORTED_GRANT;
    }
    snprintf(reason, cap_reason, "%s", first_reason);
    return CHIO_CODE_CONSTRAINT_VIOLATED;
}

chio_code chio__check_pattern_scope(const chio_capability *cap, int prompts, const char *name,
                                    char *reason, size_t cap_reason)
{
    const chio__scope *sc = chio__capability_scope(cap);
    const chio__pattern_grant *g = prompts ? sc->prompts : sc->resources;
    uint32_t n = prompts ? sc->nprompts : sc->nresources, i;
    unsigned op = prompts ? CHIO__OP_GET : CHIO__OP_READ;
    const char *top = chio_capability_unknown_field(cap), *unknown = NULL;

    for (i = 0; i < n; i++) {
        if (!(g[i].ops & op) || !chio__pattern_matches(g[i].pattern, name))
            continue;
        if (top == NULL && g[i].unsupported_name == NULL)
            return CHIO_CODE_NONE;
        if (unknown == NULL)
            unknown = top ? top : g[i].unsupported_name;
    }
    if (unknown != NULL) {
        snprintf(reason, cap_reason,
                 "the matching %s grant has a field the kernel does not enforce ('%.60s')",
                 prompts ? "prompt" : "resource", unknown);
        return CHIO_CODE_UNSUPPORTED_GRANT;
    }
    snprintf(reason, cap_reason, "no %s grant allows %s of '%.200s'",
             prompts ? "prompt" : "resource", prompts ? "get" : "read", name);
    return CHIO_CODE_OUT_OF_SCOPE;
}

/* ---- check 8: budget ------------------------------------------------------------------ */

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
        if (now >= exp) { /* it may have been swept under us: see above */
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

/* ---- revocation ------------------------------------------------------------------------ */

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
 *    at revocation time; it is stored in the record
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
    if (sc != NULL && chio_capability_expires_at(sc->cap) > h->latest)
        h->latest = chio_capability_expires_at(sc->cap);
}

/* The bound for revoking @id now (0: none known, keep for good). */
static uint64_t revocation_bound(chio_kernel *k, const char *id)
{
    held_expiry h = {id, 0};

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

    if (!force && now < due)
        return 0;
    /* One sweeper per period: the others see the new due time. */
    if (!__atomic_compare_exchange_n(&k->med.next_sweep, &due, now + CHIO__SWEEP_SECS, 0,
                                     __ATOMIC_RELAXED, __ATOMIC_RELAXED) &&
        !force)
        return 0;
    return chio__budgets_sweep(k, now) + revocations_sweep(k, now);
}

int chio_kernel_revoke_capability(chio_kernel *k, const char *capability_id, chio_error *err)
{
    chio__store_batch *b;
    char value[96];
    size_t idlen;
    uint64_t bound;
    void *v;
    int n, rc;

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
    if (rc != 0 || revoked(k, capability_id))
        goto out;
    /* Revocations are rare and each one waits for a synced write anyway:
     * one at a time keeps the count, and so the bound, exact. */
    pthread_mutex_lock(&k->revoke_mu);
    if (revoked(k, capability_id))
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
    if (rc == 0)
        chio__log(k, CHIO_LOG_INFO, "capability_revoked", NULL, "\"revoked\":true");
unlock:
    pthread_mutex_unlock(&k->revoke_mu);
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
    if (k == NULL || capability_id == NULL)
        return CHIO_EINVAL; /* never "not revoked" for a question not asked */
    return revoked(k, capability_id);
}

int chio_kernel_issue_capability(chio_kernel *k, const char *id, const char *subject_hex,
                                 const char *scope_json, size_t scope_len, uint64_t issued_at,
                                 uint64_t ttl_secs, chio_capability **out, chio_error *err)
{
    if (k == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL kernel");
    return chio_capability_issue(k->kp, id, subject_hex, scope_json, scope_len,
                                 issued_at ? issued_at : chio__kernel_now(k), ttl_secs, out, err);
}
