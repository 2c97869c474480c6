/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/session.c - sessions: ids, the state machine
 * initializing -> ready -> draining -> closed (ready -> closed and
 * initializing -> closed too; never back), and the count of calls in
 * flight that close_session must respect.
 *
 * The table is a sharded map (shmap.c): lookups from many threads meet only
 * on the shard of their id. A session is reference counted: the table holds
 * one reference, and chio__session_find takes one for its caller under the
 * shard's read lock (the map's hold), which the caller drops with
 * chio__session_put. Close, once the session is CLOSED, records the id as
 * a tombstone and removes the session from the table (under the shard's
 * write lock, so after every reader that found it has its reference), then
 * drops the table's reference; the last put frees it. So no thread ever
 * sees a freed session, and the table holds only open (or draining)
 * sessions. The tombstones are bounded: the ids of the last
 * CHIO__SESSION_TOMBSTONES closed sessions, oldest forgotten first; a late
 * call on one of those is told "closed", on an older one "unknown session"
 * (the same answer as for an id never opened).
 *
 * Tombstone before removal: close inserts the id into `closed` before it
 * removes the session, and a caller that misses the session looks at
 * `closed` after its miss. The miss took the shard lock after the removal
 * released it, which orders the tombstone before the caller's look-up; so
 * a recently closed session is never reported unknown.
 *
 * Calls against close: the state and the count of calls in flight are one
 * atomic word (sw), changed only by compare-and-swap:
 *   call:  READY, n  -> READY, n + 1    (refused, uncounted, unless READY)
 *   close: any, 0    -> CLOSED, 0       (the winner removes the session)
 *          any, n>0  -> DRAINING, n     ("cannot close while n request(s)")
 * So close never reaches CLOSED (and never removes the session) while an
 * admitted call is between enter and leave, and the n it reports is the
 * number admitted at the instant admissions stopped: a call refused at
 * that instant was never counted (with two words, one counted for a few
 * instructions and then backing out made a close fail "cannot close
 * while 1 request(s) remain active" with nothing in flight). The reference count
 * is separate from this pair: it only keeps the memory alive for whoever
 * found the session (a call that backs out still reads the id for its
 * error message), never decides admission.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "guard_scan.h"
#include "kernel_internal.h"

/* The session word: state in the high half, calls in flight in the low. */
#define SW(state, n) (((uint64_t)(uint32_t)(state) << 32) | (uint32_t)(n))
#define SW_STATE(w)  ((int)((w) >> 32))
#define SW_COUNT(w)  ((uint32_t)(w))

const char *chio_session_state_name(chio_session_state s)
{
#define CHIO__SESSION_STATE_STR(name, str) str,
    static const char *const names[] = {CHIO_SESSION_STATE_MAP(CHIO__SESSION_STATE_STR)};
#undef CHIO__SESSION_STATE_STR

    return (int)s >= 0 && (size_t)s < sizeof(names) / sizeof(names[0]) ? names[s] : NULL;
}

/* "sess-" + base64url (no padding) of 16 random bytes = 22 characters. */
static int new_session_id(char out[CHIO_SESSION_ID_LEN + 1])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t r[18] = {0}; /* two zero bytes pad the last group */
    char text[24];
    size_t i, o = 0;

    if (RAND_bytes(r, 16) != 1)
        return CHIO_ECRYPTO;
    for (i = 0; i < 18; i += 3) {
        uint32_t v = (uint32_t)r[i] << 16 | (uint32_t)r[i + 1] << 8 | r[i + 2];
        text[o++] = b64[(v >> 18) & 63];
        text[o++] = b64[(v >> 12) & 63];
        text[o++] = b64[(v >> 6) & 63];
        text[o++] = b64[v & 63];
    }
    /* 128 bits are 21 full sextets and 2 bits: the first 22 characters. */
    memcpy(out, "sess-", 5);
    memcpy(out + 5, text, 22);
    out[CHIO_SESSION_ID_LEN] = '\0';
    return 0;
}

/* Public keys in any accepted spelling become lowercase hex; other agent
 * ids stay as given (and then match no capability subject). */
static char *normalise_agent(const char *agent)
{
    uint8_t pk[32];
    char *out;

    if (chio_pubkey_from_hex(agent, strlen(agent), pk) != 0)
        return strdup(agent);
    out = malloc(65);
    if (out != NULL)
        chio__hex_encode(pk, 32, out);
    return out;
}

void chio__session_free(void *v)
{
    chio__session *s = v;
    size_t i;

    for (i = 0; i < s->ncaps; i++)
        chio_capability_free(s->caps[i].cap);
    free(s->caps);
    free(s->agent);
    free(s);
}

static int cap_cmp(const void *a, const void *b)
{
    const chio__session_cap *x = a, *y = b;

    return strcmp(chio_capability_id(x->cap), chio_capability_id(y->cap));
}

static int same_bytes(const chio_capability *a, const chio_capability *b)
{
    size_t alen, blen;
    const char *aj = chio_capability_json(a, &alen), *bj = chio_capability_json(b, &blen);

    return alen == blen && memcmp(aj, bj, alen) == 0;
}

/* Parse the tokens into @s, sorted by id (chio__session_find_cap searches
 * them); duplicates by id must be byte-identical and collapse. Sorting,
 * not comparing each token with every other: n log n, so a session opened
 * with many tokens costs no quadratic work. */
static int load_caps(chio__session *s, const char *const *caps, const size_t *lens, size_t n,
                     chio_error *err)
{
    size_t i, j;
    int rc;

    s->caps = calloc(n ? n : 1, sizeof(*s->caps));
    if (s->caps == NULL)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    for (i = 0; i < n; i++) {
        chio_capability *cap;
        chio_error perr;
        const char *json;
        size_t len;

        if (caps[i] == NULL)
            return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "capability %zu is NULL", i);
        chio_error_init(&perr);
        rc = chio_capability_parse(caps[i], lens ? lens[i] : strlen(caps[i]), &cap, &perr);
        if (rc != 0)
            return chio__fail(err, rc, perr.offset, "capability %zu: %s", i, perr.message);
        json = chio_capability_json(cap, &len);
        s->caps[s->ncaps].cap = cap;
        chio_sha256(json, len, s->caps[s->ncaps].hash);
        s->ncaps++;
    }
    if (s->ncaps < 2)
        return 0;
    qsort(s->caps, s->ncaps, sizeof(*s->caps), cap_cmp);
    /* Collapse runs of one id; any copy with other bytes is an error. */
    for (i = 0, j = 1; j < s->ncaps; j++) {
        if (cap_cmp(&s->caps[i], &s->caps[j]) != 0) {
            s->caps[++i] = s->caps[j];
            continue;
        }
        if (!same_bytes(s->caps[i].cap, s->caps[j].cap)) {
            rc = chio__fail(err, CHIO_EDUPLICATE, CHIO_NO_OFFSET,
                            "capability id '%.200s' is given twice with different bytes",
                            chio_capability_id(s->caps[i].cap));
            /* chio__session_free frees caps[0..ncaps): keep every token
             * still owned there exactly once. */
            for (; j < s->ncaps; j++)
                s->caps[++i] = s->caps[j];
            s->ncaps = i + 1;
            return rc;
        }
        chio_capability_free(s->caps[j].cap);
    }
    s->ncaps = i + 1;
    return 0;
}

/*
 * The session @s, in the table now, becomes ready for calls. Serving
 * starts first, with the first session opened, before any call can be
 * admitted on it (chio__session_enter admits only READY): registration
 * closes (see registry.c). Only here, once nothing can fail: an open
 * that failed (out of memory for its table entry, no randomness for its
 * id) opened nothing and leaves registration open (docs/configuration.md;
 * before review 46 serving began before the id was drawn and the session
 * stored, and such an open closed registration for good). seq_cst: the
 * call that reads READY (session_enter) sees every registration made
 * before serving began. A close or drain that won the word meanwhile
 * (it would have to guess the id) keeps its state.
 */
static void become_ready(chio_kernel *k, chio__session *s)
{
    uint64_t w = SW(CHIO_SESSION_INITIALIZING, 0);

    pthread_mutex_lock(&k->med.build_mu);
    __atomic_store_n(&k->med.serving, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&k->med.build_mu);
    __atomic_compare_exchange_n(&s->sw, &w, SW(CHIO_SESSION_READY, 0), 0, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
}

int chio_kernel_open_session(chio_kernel *k, const char *agent_id,
                             const char *const *capabilities_json, const size_t *capability_lens,
                             size_t ncaps, char id_out[CHIO_SESSION_ID_LEN + 1], chio_error *err)
{
    chio__session *s;
    int rc, held = 0;

    if (k == NULL || agent_id == NULL || id_out == NULL || (ncaps > 0 && capabilities_json == NULL))
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL kernel, agent, id or tokens");
    id_out[0] = '\0';
    if (!chio__utf8_valid(agent_id, strlen(agent_id)))
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "agent id is not UTF-8");
    if (ncaps > CHIO_MAX_SESSION_TOKENS)
        return chio__fail(err, CHIO_ETOOBIG, CHIO_NO_OFFSET,
                          "%zu capability tokens: a session holds at most %d", ncaps,
                          CHIO_MAX_SESSION_TOKENS);
    rc = chio__kernel_enter(k);
    if (rc != 0)
        return chio__fail(err, rc, CHIO_NO_OFFSET, "%s", chio__kernel_enter_refusal(rc));

    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        rc = chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
        goto out;
    }
    s->sw = SW(CHIO_SESSION_INITIALIZING, 0);
    s->agent = normalise_agent(agent_id);
    if (s->agent == NULL) {
        rc = chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
        goto out;
    }
    rc = load_caps(s, capabilities_json, capability_lens, ncaps, err);
    if (rc != 0)
        goto out;
    /* Its budgeted ids are held from now on: the sweep keeps their
     * budgets while these tokens are valid (budget_held.c). */
    rc = chio__held_add(k, s);
    if (rc != 0) {
        rc = chio__fail(err, rc, CHIO_NO_OFFSET, "out of memory");
        goto out;
    }
    held = 1;
    for (;;) {
        void *in;
        rc = new_session_id(s->id);
        if (rc != 0) {
            rc = chio__fail(err, rc, CHIO_NO_OFFSET, "no randomness for the session id");
            goto out;
        }
        /* Initializing while it enters the table (the map's lock publishes
         * the rest): no call is admitted until it is ready, below. Two
         * references: the table's, and ours until the id is copied. */
        s->sw = SW(CHIO_SESSION_INITIALIZING, 0);
        s->refs = 2;
        in = chio__shmap_put_if_absent(&k->med.sessions, s->id, CHIO_SESSION_ID_LEN, s);
        if (in == s)
            break;
        if (in == NULL) {
            rc = chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
            goto out;
        }
        chio__session_put(in); /* the hold put_if_absent took on the other one */
        /* 128 random bits collided: draw again. */
    }
    become_ready(k, s);
    memcpy(id_out, s->id, CHIO_SESSION_ID_LEN + 1);
    chio__log(k, CHIO_LOG_DEBUG, "session_opened", NULL,
              "\"session_id\":\"%s\",\"capabilities\":%zu", s->id, s->ncaps);
    chio__session_put(s);
    s = NULL;
out:
    if (s != NULL && held)
        chio__held_remove(k, s);
    if (s != NULL)
        chio__session_free(s);
    chio__kernel_leave(k);
    return rc;
}

void chio__session_hold(void *v)
{
    chio__session *s = v;

    /* relaxed: the reference is taken under the shard lock, which orders
     * it before any removal; only the final decrement needs ordering. */
    __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
}

void chio__session_put(chio__session *s)
{
    if (s == NULL)
        return;
    /* acq_rel: every thread's uses happen before the free by the last. */
    if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0)
        chio__session_free(s);
}

chio__session *chio__session_find(chio_kernel *k, const char *id)
{
    size_t len;

    if (id == NULL)
        return NULL;
    len = strlen(id);
    if (len != CHIO_SESSION_ID_LEN)
        return NULL;
    return chio__shmap_get(&k->med.sessions, id, len);
}

int chio__session_recently_closed(chio_kernel *k, const char *id)
{
    size_t len;

    if (id == NULL)
        return 0;
    len = strlen(id);
    if (len != CHIO_SESSION_ID_LEN)
        return 0;
    return chio__shmap_get(&k->med.closed, id, len) != NULL;
}

size_t chio__session_count(chio_kernel *k)
{
    return chio__shmap_count(&k->med.sessions);
}

/* Remember @id as closed, forgetting the oldest tombstone when full. */
static void tombstone(chio_kernel *k, const char *id)
{
    chio__mediation *m = &k->med;
    char *slot;

    pthread_mutex_lock(&m->tomb_mu);
    slot = m->tomb_ring[m->tomb_head];
    if (m->tomb_n == CHIO__SESSION_TOMBSTONES)
        chio__shmap_remove(&m->closed, slot, CHIO_SESSION_ID_LEN, NULL);
    else
        m->tomb_n++;
    memcpy(slot, id, CHIO_SESSION_ID_LEN + 1);
    /* Out of memory: no tombstone, and a late call hears "unknown". */
    (void)chio__shmap_put_if_absent(&m->closed, slot, CHIO_SESSION_ID_LEN, (void *)1);
    m->tomb_head = (m->tomb_head + 1) % CHIO__SESSION_TOMBSTONES;
    pthread_mutex_unlock(&m->tomb_mu);
}

int chio__session_enter(chio__session *s)
{
    uint64_t w = __atomic_load_n(&s->sw, __ATOMIC_SEQ_CST);

    /* Counted only while READY, in the same step that reads READY (see the
     * file comment); states never go back to READY, so a refusal is final.
     * seq_cst: pairs with close_session's compare-and-swap. */
    for (;;) {
        int st = SW_STATE(w);
        if (st != CHIO_SESSION_READY)
            return st == CHIO_SESSION_CLOSED ? CHIO_ESESSION_CLOSED : CHIO_ESESSION_DRAINING;
        if (__atomic_compare_exchange_n(&s->sw, &w, w + 1, 1, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            return 0;
    }
}

void chio__session_leave(chio__session *s)
{
    /* seq_cst: the call's count leaves after everything it did (close
     * reads the word to decide whether the session may go) */
    __atomic_sub_fetch(&s->sw, 1, __ATOMIC_SEQ_CST);
}

/* The tokens are sorted by id, one per id (load_caps). */
const chio__session_cap *chio__session_find_cap(const chio__session *s, const char *capability_id)
{
    size_t lo = 0, hi = s->ncaps;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(chio_capability_id(s->caps[mid].cap), capability_id);
        if (c == 0)
            return &s->caps[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The id is the caller's: not quoted when a secret_leak guard flags it
 * (the host logs such messages). */
static int no_session(chio_kernel *k, const char *id, chio_error *err)
{
    if (chio__secret_named(k, id))
        return chio__fail(err, CHIO_ENOSESSION, CHIO_NO_OFFSET,
                          "unknown session (its id is not quoted: a secret_leak guard flags it)");
    return chio__fail(err, CHIO_ENOSESSION, CHIO_NO_OFFSET, "unknown session '%.64s'",
                      id ? id : "(null)");
}

static int closed_session(const char *id, const char *what, chio_error *err)
{
    return chio__fail(err, CHIO_ESESSION_CLOSED, CHIO_NO_OFFSET, "session '%s' is closed%s", id,
                      what);
}

int chio_kernel_begin_draining_session(chio_kernel *k, const char *session_id, chio_error *err)
{
    chio__session *s;
    uint64_t w;
    int st, rc;

    if (k == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL kernel");
    s = chio__session_find(k, session_id);
    if (s == NULL)
        return chio__session_recently_closed(k, session_id)
                   ? closed_session(session_id, "; it cannot drain", err)
                   : no_session(k, session_id, err);
    w = __atomic_load_n(&s->sw, __ATOMIC_SEQ_CST);
    while ((st = SW_STATE(w)) == CHIO_SESSION_READY || st == CHIO_SESSION_INITIALIZING) {
        /* seq_cst: admissions stop here (pairs with session_enter) */
        if (__atomic_compare_exchange_n(&s->sw, &w, SW(CHIO_SESSION_DRAINING, SW_COUNT(w)), 0,
                                        __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            break;
    }
    rc = st == CHIO_SESSION_CLOSED ? closed_session(s->id, "; it cannot drain", err) : 0;
    chio__session_put(s);
    return rc; /* 0: draining now, or already */
}

int chio_kernel_close_session(chio_kernel *k, const char *session_id, chio_error *err)
{
    chio__session *s;
    uint64_t w, want;
    uint32_t n;
    int rc = 0;

    if (k == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL kernel");
    s = chio__session_find(k, session_id);
    if (s == NULL)
        return chio__session_recently_closed(k, session_id) ? 0 : no_session(k, session_id, err);
    /* One step stops admissions and reads the calls in flight: CLOSED when
     * there are none, else DRAINING (see the file comment). seq_cst:
     * pairs with session_enter's compare-and-swap. */
    w = __atomic_load_n(&s->sw, __ATOMIC_SEQ_CST);
    for (;;) {
        if (SW_STATE(w) == CHIO_SESSION_CLOSED)
            goto out; /* a concurrent close won and is removing it */
        n = SW_COUNT(w);
        want = SW(n != 0 ? CHIO_SESSION_DRAINING : CHIO_SESSION_CLOSED, n);
        if (w == want ||
            __atomic_compare_exchange_n(&s->sw, &w, want, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            break;
    }
    if (n != 0) {
        rc = chio__fail(err, CHIO_ESESSION_ACTIVE, CHIO_NO_OFFSET,
                        "cannot close while %u request(s) remain active", n);
        goto out;
    }
    /* Only the winner of the CAS gets here: tombstone first (see the file
     * comment), then out of the table, then the table's reference. */
    tombstone(k, s->id);
    if (chio__shmap_remove(&k->med.sessions, s->id, CHIO_SESSION_ID_LEN, s) == s) {
        chio__held_remove(k, s); /* its tokens can charge no more */
        chio__session_put(s);
    }
    chio__log(k, CHIO_LOG_DEBUG, "session_closed", NULL, "\"session_id\":\"%s\"", s->id);
    /* Long-running hosts open and close sessions: a natural place for the
     * amortised sweep of expired budgets and revocations (revocation.c). */
    chio__reclaim_sweep(k, chio__kernel_now(k), 0);
out:
    chio__session_put(s);
    return rc;
}

int chio_kernel_session_state(chio_kernel *k, const char *session_id, chio_session_state *state)
{
    chio__session *s;

    if (k == NULL || state == NULL)
        return CHIO_EINVAL;
    s = chio__session_find(k, session_id);
    if (s == NULL) {
        if (!chio__session_recently_closed(k, session_id))
            return CHIO_ENOSESSION;
        *state = CHIO_SESSION_CLOSED;
        return 0;
    }
    *state = (chio_session_state)SW_STATE(__atomic_load_n(&s->sw, __ATOMIC_SEQ_CST));
    chio__session_put(s);
    return 0;
}
