/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/regex_nfa_search.c - searching an automaton of regex_nfa.c (see
 * regex_nfa.h): every state at once, two lists of states and a mark per
 * state, each step paid for from the run's work budget; and, once a run
 * has spent enough, with cached transitions between sets of states (a
 * bounded lazy DFA, kept in the run). No state beyond the caller's run;
 * the automaton is only read.
 */
#include <stdlib.h>
#include <string.h>

#include "chio/error.h"
#include "regex_nfa.h"
#include "regex_nfa_int.h"

/* ---- searching -------------------------------------------------------------------------- */

int chio__nfa_run_init(chio__nfa_run *run, const chio__nfa *nfa, uint64_t budget)
{
    size_t n = nfa->nst;

    memset(run, 0, sizeof(*run));
    run->nfa = nfa;
    run->work = budget;
    run->mark = calloc(n, sizeof(uint32_t));
    run->cur = malloc(n * sizeof(uint32_t));
    run->next = malloc(n * sizeof(uint32_t));
    run->stack = malloc(n * sizeof(uint32_t));
    if (run->mark == NULL || run->cur == NULL || run->next == NULL || run->stack == NULL) {
        chio__nfa_run_destroy(run);
        return CHIO_ENOMEM;
    }
    return 0;
}

static void rx_dfa_free(struct chio__nfa_dfa *d);

void chio__nfa_run_destroy(chio__nfa_run *run)
{
    rx_dfa_free(run->dfa);
    free(run->mark);
    free(run->cur);
    free(run->next);
    free(run->stack);
    memset(run, 0, sizeof(*run));
}

static int rx_word_byte(const char *text, size_t i)
{
    unsigned char c = (unsigned char)text[i];

    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Does word assertion @which (W_*) hold between bytes @pos - 1 and @pos
 * of @text (@n bytes)? */
static int rx_word_holds(const char *text, size_t pos, size_t n, uint32_t which)
{
    int before = pos > 0 && rx_word_byte(text, pos - 1);
    int after = pos < n && rx_word_byte(text, pos);

    switch (which) {
    case W_EDGE:
        return before != after;
    case W_INSIDE:
        return before == after;
    case W_START:
        return !before && after;
    default: /* W_END */
        return before && !after;
    }
}

/* A new generation of marks: every state unentered. */
static void rx_generation(chio__nfa_run *run)
{
    if (++run->gen == 0) {
        memset(run->mark, 0, run->nfa->nst * sizeof(uint32_t));
        run->gen = 1;
    }
}

/* Enter state @s0 and what it leads to without reading a byte, at
 * position @pos of @n: byte-reading states go to @list. 1 on reaching the
 * match state, CHIO_ELIMIT when the budget is spent. A state is pushed
 * once per generation, so the stack holds at most every state once. */
static int rx_enter(chio__nfa_run *run, uint32_t s0, size_t pos, size_t n, uint32_t *list,
                    uint32_t *len)
{
    const rx_state *st = run->nfa->st;
    uint32_t *mark = run->mark, *stack = run->stack, sp = 0, g = run->gen, s, o, l = *len;
    uint64_t work = run->work;
    int rc = 0;

    if (mark[s0] == g)
        return 0;
    mark[s0] = g;
    stack[sp++] = s0;
    while (sp > 0) {
        if (work == 0) {
            rc = CHIO_ELIMIT;
            break;
        }
        work--;
        s = stack[--sp];
        switch (st[s].op) {
        case S_SET:
            list[l++] = s;
            continue;
        case S_SPLIT:
            o = st[s].arg;
            if (mark[o] != g) {
                mark[o] = g;
                stack[sp++] = o;
            }
            break;
        case S_MATCH:
            rc = 1;
            sp = 0;
            continue;
        case S_BOL:
            if (pos != 0)
                continue;
            break;
        case S_WORD:
            if (!rx_word_holds(run->text, pos, n, st[s].arg))
                continue;
            break;
        default: /* S_EOL */
            if (pos != n)
                continue;
            break;
        }
        o = st[s].out;
        if (mark[o] != g) {
            mark[o] = g;
            stack[sp++] = o;
        }
    }
    run->work = work;
    *len = l;
    return rc;
}

/* Enter the start at a position whose byte is @c, from the start table:
 * the byte readers that read @c go to the run's list (@clen). 0, or
 * CHIO_ELIMIT when the budget is spent. */
static int rx_first(chio__nfa_run *run, unsigned char c, uint32_t *clen)
{
    const uint32_t *first = run->nfa->first;
    uint32_t k, s;

    for (k = first[c]; k < first[c + 1]; k++) {
        if (run->work == 0)
            return CHIO_ELIMIT;
        run->work--;
        s = first[k];
        if (run->mark[s] != run->gen) {
            run->mark[s] = run->gen;
            run->cur[(*clen)++] = s;
        }
    }
    return 0;
}

/* ---- cached transitions ----------------------------------------------------------------- */

/*
 * A search that keeps meeting the same sets of byte-reading states pays
 * for each step again: "[A-Za-z0-9+/]{86}==" keeps 86 states alive on
 * base64 text, 86 steps a byte. Once a run has spent RX_DFA_AFTER steps,
 * an automaton without '$' and word anchors (chio__nfa's cacheable: the
 * states a byte leads to are then the same at every position after the
 * first, where '^' never holds) goes on with cached transitions, as the
 * lazy DFAs of RE2 and Rust's regex do: each set of byte-reading states
 * met at a position (the start's included, the search being unanchored)
 * is kept once, with the set each byte leads it to, computed the first
 * time by entering states as before (those steps are paid from the
 * budget) and then found in one step. The answers are the automaton's
 * own. Bounded per run: at most RX_DFA_MAX_SETS sets holding
 * RX_DFA_MAX_IDS states in all; when full the cache is emptied and built
 * again, and after RX_DFA_MAX_FLUSHES (sets that do not repeat) or out of
 * memory the search goes on state by state, from where it is.
 */
#define RX_DFA_AFTER       4096u
#define RX_DFA_MAX_SETS    256u
#define RX_DFA_MAX_IDS     (1u << 16)
#define RX_DFA_MAX_FLUSHES 16u
#define RX_DFA_BUCKETS     512u /* a power of two */
#define RX_NONE            UINT32_MAX

typedef struct rx_dset {
    uint32_t next[256]; /* the set byte b leads to; RX_NONE: not yet known */
    uint32_t off, n;    /* its states: ids[off .. off + n), ascending */
    uint32_t hash, chain;
} rx_dset;

struct chio__nfa_dfa {
    rx_dset *set;
    uint32_t nset, setcap;
    uint32_t *ids;
    uint32_t nids, idcap;
    uint32_t bucket[RX_DFA_BUCKETS]; /* hash -> first set, chained */
    uint32_t flushes;
    int off; /* gave up: the run searches state by state */
};

static void rx_dfa_free(struct chio__nfa_dfa *d)
{
    if (d == NULL)
        return;
    free(d->set);
    free(d->ids);
    free(d);
}

static void rx_dfa_flush(struct chio__nfa_dfa *d)
{
    d->nset = 0;
    d->nids = 0;
    memset(d->bucket, 0xff, sizeof(d->bucket));
    if (++d->flushes > RX_DFA_MAX_FLUSHES)
        d->off = 1;
}

/* An id mixed into a set's hash, which is their sum: the same for any
 * order the states were entered in (murmur3's finaliser). */
static uint32_t rx_id_mix(uint32_t v)
{
    v ^= v >> 16;
    v *= 0x85ebca6bu;
    v ^= v >> 13;
    v *= 0xc2b2ae35u;
    return v ^ (v >> 16);
}

/* Room for one more set of @n states: 0, or -1 (full, or out of memory:
 * then the cache is off). */
static int rx_dfa_room(struct chio__nfa_dfa *d, uint32_t n)
{
    if (d->nset == RX_DFA_MAX_SETS || n > RX_DFA_MAX_IDS - d->nids)
        return -1;
    if (d->nset == d->setcap) {
        uint32_t cap = d->setcap ? d->setcap * 2 : 16;
        rx_dset *p = realloc(d->set, cap * sizeof(*p));
        if (p == NULL)
            return d->off = 1, -1;
        d->set = p;
        d->setcap = cap;
    }
    if (d->nids + n > d->idcap) {
        uint32_t cap = d->idcap ? d->idcap : 1024;
        uint32_t *p;
        while (cap < d->nids + n)
            cap *= 2;
        if ((p = realloc(d->ids, cap * sizeof(*p))) == NULL)
            return d->off = 1, -1;
        d->ids = p;
        d->idcap = cap;
    }
    return 0;
}

/* The cached set holding the @n states of @ids, added if new: its index,
 * or RX_NONE when the cache has no room. @ids are the byte readers
 * entered in @run's generation, all of them: a set of as many states,
 * each entered in it, is the same set, so no sorting is needed. */
static uint32_t rx_dfa_intern(const chio__nfa_run *run, struct chio__nfa_dfa *d,
                              const uint32_t *ids, uint32_t n)
{
    uint32_t h = 0, i, x;
    rx_dset *e;

    for (i = 0; i < n; i++)
        h += rx_id_mix(ids[i]);
    for (x = d->bucket[h & (RX_DFA_BUCKETS - 1)]; x != RX_NONE; x = d->set[x].chain) {
        const uint32_t *have = d->ids + d->set[x].off;
        if (d->set[x].hash != h || d->set[x].n != n)
            continue;
        for (i = 0; i < n && run->mark[have[i]] == run->gen; i++)
            ;
        if (i == n)
            return x;
    }
    if (rx_dfa_room(d, n) != 0)
        return RX_NONE;
    x = d->nset++;
    e = &d->set[x];
    memset(e->next, 0xff, sizeof(e->next));
    e->off = d->nids;
    e->n = n;
    e->hash = h;
    e->chain = d->bucket[h & (RX_DFA_BUCKETS - 1)];
    d->bucket[h & (RX_DFA_BUCKETS - 1)] = x;
    memcpy(d->ids + d->nids, ids, n * sizeof(*ids));
    d->nids += n;
    return x;
}

/* As rx_dfa_intern, emptying a full cache first: RX_NONE when the cache
 * is off. */
static uint32_t rx_dfa_keep(const chio__nfa_run *run, struct chio__nfa_dfa *d, const uint32_t *ids,
                            uint32_t n)
{
    uint32_t x = rx_dfa_intern(run, d, ids, n);

    if (x != RX_NONE || d->off)
        return x;
    rx_dfa_flush(d);
    return d->off ? RX_NONE : rx_dfa_intern(run, d, ids, n);
}

/* The set cached transition from set @x on byte @c leads to, at position
 * @pos + 1 of @n: computed into run->next (@nlen) by entering the states
 * as the state-by-state search does. 1 on a match, CHIO_ELIMIT, else 0
 * with the set's index in *@to (RX_NONE when the cache turned off: the
 * states are then in run->next, entered in the run's generation). */
static int rx_dfa_step(chio__nfa_run *run, uint32_t x, unsigned char c, size_t pos, size_t n,
                       uint32_t *nlen, uint32_t *to)
{
    struct chio__nfa_dfa *d = run->dfa;
    const rx_state *st = run->nfa->st;
    const rx_set *sets = run->nfa->sets;
    uint32_t i, k, f0, cnt = d->set[x].n, off = d->set[x].off;
    int rc;

    rx_generation(run);
    *nlen = 0;
    for (i = 0; i < cnt; i++) {
        const rx_state *s = &st[d->ids[off + i]];
        if (((sets[s->arg][c >> 3] >> (c & 7)) & 1u) != 0 &&
            (rc = rx_enter(run, s->out, pos + 1, n, run->next, nlen)) != 0)
            return rc;
    }
    if ((rc = rx_enter(run, run->nfa->start, pos + 1, n, run->next, nlen)) != 0)
        return rc;
    /* after a flush @x is gone */
    f0 = d->flushes;
    k = rx_dfa_keep(run, d, run->next, *nlen);
    if (k != RX_NONE && d->flushes == f0)
        d->set[x].next[c] = k;
    *to = k;
    return 0;
}

static int rx_search_cached(chio__nfa_run *run, const char *s, size_t n, size_t pos, uint32_t clen,
                            uint64_t w0);

/* Search @s (@n bytes) state by state from position @pos, where the
 * run's list holds the @clen states of @pos, entered in the run's
 * generation (the start not yet entered there). @w0: the budget when this
 * search began. */
static int rx_search_states(chio__nfa_run *run, const char *s, size_t n, size_t pos, uint32_t clen,
                            uint64_t w0)
{
    const rx_state *st = run->nfa->st;
    const rx_set *sets = run->nfa->sets;
    int cache = run->nfa->cacheable && !run->nocache;
    uint32_t nlen, i, *swap;
    int rc;

    for (;; pos++) {
        unsigned char c;
        if (cache && run->spent + (w0 - run->work) >= RX_DFA_AFTER)
            return rx_search_cached(run, s, n, pos, clen, w0);
        if (run->work == 0)
            return CHIO_ELIMIT;
        run->work--;                 /* a match may start here */
        if (run->nfa->first != NULL) /* the start cannot match at the end */
            rc = pos == n ? 0 : rx_first(run, (unsigned char)s[pos], &clen);
        else
            rc = rx_enter(run, run->nfa->start, pos, n, run->cur, &clen);
        if (rc != 0)
            return rc;
        if (pos == n)
            return 0;
        c = (unsigned char)s[pos];
        rx_generation(run);
        nlen = 0;
        for (i = 0; i < clen; i++) {
            const rx_state *x = &st[run->cur[i]];
            if (((sets[x->arg][c >> 3] >> (c & 7)) & 1u) != 0 &&
                (rc = rx_enter(run, x->out, pos + 1, n, run->next, &nlen)) != 0)
                return rc;
        }
        swap = run->cur;
        run->cur = run->next;
        run->next = swap;
        clen = nlen;
    }
}

/* The run's cache, made on first use: NULL (and the run searches state
 * by state from then on) when it is off or out of memory. */
static struct chio__nfa_dfa *rx_dfa_of(chio__nfa_run *run)
{
    if (run->dfa == NULL) {
        struct chio__nfa_dfa *d = calloc(1, sizeof(*d));
        /* room for ids from the start: an empty set has none to copy */
        if (d == NULL || (d->ids = malloc(1024 * sizeof(*d->ids))) == NULL) {
            free(d);
            run->nocache = 1;
            return NULL;
        }
        d->idcap = 1024;
        memset(d->bucket, 0xff, sizeof(d->bucket));
        run->dfa = d;
    }
    if (run->dfa->off)
        run->nocache = 1;
    return run->nocache ? NULL : run->dfa;
}

/* As rx_search_states, with cached transitions while the cache holds. */
static int rx_search_cached(chio__nfa_run *run, const char *s, size_t n, size_t pos, uint32_t clen,
                            uint64_t w0)
{
    struct chio__nfa_dfa *d = rx_dfa_of(run);
    uint32_t x, k, nlen, *swap;
    int rc;

    if (d == NULL)
        return rx_search_states(run, s, n, pos, clen, w0);
    /* the set of @pos: the list's states and the start's (the budget
     * checked first, as a step of the state-by-state search would) */
    if (run->work == 0)
        return CHIO_ELIMIT;
    if ((rc = rx_enter(run, run->nfa->start, pos, n, run->cur, &clen)) != 0)
        return rc;
    if ((x = rx_dfa_keep(run, d, run->cur, clen)) == RX_NONE) {
        run->nocache = 1; /* entering the start again there adds nothing */
        return rx_search_states(run, s, n, pos, clen, w0);
    }
    for (;; pos++) {
        if (run->work == 0)
            return CHIO_ELIMIT;
        run->work--;
        if (pos == n)
            return 0; /* a set in the cache was made without a match */
        k = d->set[x].next[(unsigned char)s[pos]];
        if (k == RX_NONE) {
            rc = rx_dfa_step(run, x, (unsigned char)s[pos], pos, n, &nlen, &k);
            if (rc != 0)
                return rc;
            if (k == RX_NONE) { /* the cache is off: on from pos + 1 */
                run->nocache = 1;
                swap = run->cur;
                run->cur = run->next;
                run->next = swap;
                return rx_search_states(run, s, n, pos + 1, nlen, w0);
            }
        }
        x = k;
    }
}

int chio__nfa_run_search(chio__nfa_run *run, const char *s, size_t n)
{
    uint64_t w0 = run->work;
    int rc;

    n = strnlen(s, n); /* regexec reads a C string */
    run->text = s;
    rx_generation(run);
    rc = rx_search_states(run, s, n, 0, 0, w0);
    run->spent += w0 - run->work;
    return rc;
}
