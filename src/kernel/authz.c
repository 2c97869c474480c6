/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/authz.c - checks 1 to 8 of the pipeline that concern the token:
 * signature and issuer, time, revocation, delegation chain, subject, scope
 * (constraints in constraints.c) and the invocation budget; plus the
 * kernel's revocation list and capability issuing.
 *
 * Owns three concurrent tables (shmap.c):
 *   token_cache  sha256(canonical token bytes) -> {signature ok, issuer
 *                trusted, chain links ok}. Only the time-independent,
 *                revocation-independent facts are cached, so time and
 *                revocation are evaluated on every call and a hit can never
 *                let an expired or revoked token through; a tampered token
 *                has other bytes, so another key, and is verified afresh.
 *   revocations  capability id -> present. Written to the store (synced)
 *                before it is inserted here; loaded from the store at start.
 *   budgets      capability id + grant index -> chio__budget, whose counter
 *                is bumped with a compare-and-swap that never passes
 *                max_invocations; restored from the store at start.
 * The revocation list is bounded (CHIO_MAX_REVOCATION_ID_LEN,
 * CHIO_MAX_REVOCATIONS); revokers are serialised by revoke_mu.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_internal.h"
#include "scope.h"

/* ---- checks 1-5 --------------------------------------------------------------------- */

static const chio__verified *verified_of(chio_kernel *k, const chio__session_cap *sc,
                                         chio__verified *local)
{
    chio__verified *hit = chio__shmap_get(&k->med.token_cache, sc->hash, 32), *fresh, *in;
    chio_capability_report rep;

    if (hit != NULL)
        return hit;
    /* Depth is judged per call (check 4), so verify links with no limit. */
    memset(local, 0, sizeof(*local));
    if (chio_capability_verify(sc->cap, 0, k->med.trusted, k->med.ntrusted, -1, &rep) != 0)
        return local; /* all zero: denied as invalid_signature */
    local->sig_ok = (uint8_t)rep.signature_valid;
    local->issuer_trusted = (uint8_t)rep.issuer_trusted;
    local->chain_ok = (uint8_t)rep.delegation_chain_shape_valid;
    fresh = malloc(sizeof(*fresh));
    if (fresh == NULL)
        return local;
    *fresh = *local;
    in = chio__shmap_put_if_absent(&k->med.token_cache, sc->hash, 32, fresh);
    if (in != fresh)
        free(fresh); /* cache full, or another thread cached it first */
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

static chio__budget *budget_entry(chio_kernel *k, const char *key, size_t klen, uint64_t used);

chio__budget *chio__budget_get(chio_kernel *k, const char *key, size_t klen)
{
    return budget_entry(k, key, klen, 0);
}

static chio__budget *budget_entry(chio_kernel *k, const char *key, size_t klen, uint64_t used)
{
    chio__budget *b = chio__shmap_get(&k->med.budgets, key, klen), *fresh;

    if (b != NULL)
        return b;
    fresh = calloc(1, sizeof(*fresh));
    if (fresh == NULL)
        return NULL;
    fresh->used = fresh->committed = used;
    b = chio__shmap_put_if_absent(&k->med.budgets, key, klen, fresh);
    if (b != fresh)
        free(fresh);
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
    uint64_t cur;

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
    b = budget_entry(k, key, klen, 0);
    if (b == NULL) {
        snprintf(reason, cap_reason, "out of memory for budget accounting");
        return CHIO_CODE_BUDGET_EXHAUSTED; /* fail closed */
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
            return CHIO_CODE_BUDGET_EXHAUSTED;
        }
    } while (!__atomic_compare_exchange_n(&b->used, &cur, cur + 1, 1, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
    memcpy(charge->key, key, klen);
    charge->keylen = (uint32_t)klen;
    charge->count = cur + 1;
    return CHIO_CODE_NONE;
}

static int load_budget(void *ctx, const char *key, size_t klen, uint64_t count)
{
    chio_kernel *k = ctx;
    chio__budget *b;

    if (klen < 6 || klen > CHIO__CHARGE_KEY_MAX || key[klen - 5] != '\0')
        return 0; /* not a key this kernel writes: ignore */
    b = budget_entry(k, key, klen, count);
    if (b == NULL)
        return CHIO_ENOMEM;
    if (b->used < count) /* only the starting thread runs here */
        b->used = count;
    if (b->committed < count)
        b->committed = count;
    return 0;
}

int chio__budgets_load(chio_kernel *k, chio_error *err)
{
    int rc = chio__store_scan_budgets(k->store, load_budget, k, err);

    if (rc == CHIO_ENOMEM)
        return chio__fail(err, rc, CHIO_NO_OFFSET, "out of memory loading budgets");
    return rc;
}

/* ---- revocation ------------------------------------------------------------------------ */

static int load_one(void *ctx, const char *id, size_t len)
{
    chio_kernel *k = ctx;

    if (chio__shmap_put_if_absent(&k->med.revocations, id, len, (void *)1) == NULL)
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
    rc = chio__store_scan_revocations(k->store, load_one, k, err);
    if (rc == CHIO_ENOMEM)
        return chio__fail(err, rc, CHIO_NO_OFFSET, "out of memory loading revocations");
    if (rc == 0)
        __atomic_store_n(&k->med.revocations_loaded, 1, __ATOMIC_RELEASE);
    return rc;
}

int chio_kernel_revoke_capability(chio_kernel *k, const char *capability_id, chio_error *err)
{
    chio__store_batch *b;
    char value[64];
    size_t idlen;
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
    n = snprintf(value, sizeof(value), "{\"revoked_at\":%llu}",
                 (unsigned long long)chio__kernel_now(k));
    chio__store_batch_put_revocation(b, k->store, capability_id, value, (size_t)n);
    /* Persist (synced) before it takes effect: a revocation the caller was
     * told about survives a crash. */
    rc = chio__store_write(k->store, b, 1, err);
    chio__store_batch_free(b);
    if (rc == 0)
        k->nrevocations++;
    if (rc == 0 &&
        chio__shmap_put_if_absent(&k->med.revocations, capability_id, idlen, (void *)1) == NULL)
        rc = chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET,
                        "out of memory (the revocation is stored and applies after a restart)");
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
        return 0;
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
