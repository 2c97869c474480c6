/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/regex_nfa_search.c - searching an automaton of regex_nfa.c (see
 * regex_nfa.h): every state at once, two lists of states and a mark per
 * state, each step paid for from the run's work budget. No state beyond
 * the caller's run; the automaton is only read.
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

void chio__nfa_run_destroy(chio__nfa_run *run)
{
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

int chio__nfa_run_search(chio__nfa_run *run, const char *s, size_t n)
{
    const rx_state *st = run->nfa->st;
    const rx_set *sets = run->nfa->sets;
    uint32_t clen = 0, nlen, i, *swap;
    size_t pos;
    int rc;

    n = strnlen(s, n); /* regexec reads a C string */
    run->text = s;
    rx_generation(run);
    for (pos = 0;; pos++) {
        unsigned char c;
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
