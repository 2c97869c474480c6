/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/budget_held.c - the capability ids that open sessions hold with
 * an invocation budget, each with the latest expires_at among the held
 * tokens of that id, so that the budget sweep (budget.c) never drops the
 * budget of an id while a held token of it could still charge it.
 *
 * A budget lives as long as the latest-expiring token charged against it;
 * a token of the same id that was presented (its session open) but has not
 * charged yet raised nothing. Without this table the sweep dropped the
 * budget once the charged token expired, and the held renewal then found a
 * fresh budget: max_invocations 1 allowed two calls (review 45). Now a
 * fresh budget goes only to a token presented after the sweep (or after a
 * restart, which drops the rows of expired budgets), as
 * docs/spec-reading.md says.
 *
 * Entries are counted (one per session holding the id) and leave with the
 * last session; the expiry kept is the latest ever held while the entry
 * lives (a later close does not lower it: the sweep keeps such a budget a
 * little longer, never shorter). Bounded by the tokens of open sessions.
 * Locking: held_mu guards the counts and expiries; the sweep calls
 * chio__held_until() under a budget shard lock (order: budget shard,
 * held_mu, held shard); session open and close take held_mu only. Not on
 * a call's path.
 */
#include <stdlib.h>
#include <string.h>

#include "kernel_internal.h"
#include "scope.h"

typedef struct chio__held {
    uint64_t count;   /* sessions holding the id (under held_mu) */
    uint64_t max_exp; /* the latest expires_at held (under held_mu) */
    size_t klen;
    char key[]; /* the capability id (the map keeps a pointer to it) */
} chio__held;

/* Does @cap have a grant with an invocation budget? */
static int budgeted(const chio_capability *cap)
{
    const chio__scope *sc = chio__capability_scope(cap);
    uint32_t i;

    for (i = 0; sc != NULL && i < sc->ngrants; i++)
        if (sc->grants[i].has_max_invocations)
            return 1;
    return 0;
}

/* Forget one holder of @cap's id. Under held_mu. */
static void held_drop(chio_kernel *k, const chio_capability *cap)
{
    const char *id = chio_capability_id(cap);
    chio__held *h = chio__shmap_get(&k->med.held, id, strlen(id));

    if (h == NULL || --h->count > 0)
        return;
    chio__shmap_remove(&k->med.held, h->key, h->klen, h);
    free(h);
}

/* Note one holder of @cap's id. 0, or CHIO_ENOMEM. Under held_mu. */
static int held_add(chio_kernel *k, const chio_capability *cap)
{
    const char *id = chio_capability_id(cap);
    size_t len = strlen(id);
    uint64_t exp = chio_capability_expires_at(cap);
    chio__held *h = chio__shmap_get(&k->med.held, id, len);

    if (h == NULL) {
        h = calloc(1, sizeof(*h) + len + 1);
        if (h == NULL)
            return CHIO_ENOMEM;
        memcpy(h->key, id, len + 1);
        h->klen = len;
        if (chio__shmap_put_if_absent(&k->med.held, h->key, len, h) != h) {
            free(h); /* out of memory (no one else adds: held_mu) */
            return CHIO_ENOMEM;
        }
    }
    h->count++;
    if (exp > h->max_exp)
        h->max_exp = exp;
    return 0;
}

int chio__held_add(chio_kernel *k, const chio__session *s)
{
    size_t i, j;
    int rc = 0;

    pthread_mutex_lock(&k->med.held_mu);
    for (i = 0; i < s->ncaps && rc == 0; i++)
        if (budgeted(s->caps[i].cap))
            rc = held_add(k, s->caps[i].cap);
    if (rc != 0) /* undo: the session is not opened */
        for (j = 0; j + 1 < i; j++)
            if (budgeted(s->caps[j].cap))
                held_drop(k, s->caps[j].cap);
    pthread_mutex_unlock(&k->med.held_mu);
    return rc;
}

void chio__held_remove(chio_kernel *k, const chio__session *s)
{
    size_t i;

    pthread_mutex_lock(&k->med.held_mu);
    for (i = 0; i < s->ncaps; i++)
        if (budgeted(s->caps[i].cap))
            held_drop(k, s->caps[i].cap);
    pthread_mutex_unlock(&k->med.held_mu);
}

uint64_t chio__held_until(chio_kernel *k, const char *id)
{
    chio__held *h;
    uint64_t exp;

    pthread_mutex_lock(&k->med.held_mu);
    h = chio__shmap_get(&k->med.held, id, strlen(id));
    exp = h != NULL ? h->max_exp : 0;
    pthread_mutex_unlock(&k->med.held_mu);
    return exp;
}
