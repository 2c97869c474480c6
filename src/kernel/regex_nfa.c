/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/regex_nfa.c - the matcher of the regex_match constraint: a POSIX
 * ERE (the subset constraint_regex.c's translation writes, read as glibc
 * reads it in the C locale) compiled into a Thompson automaton over bytes
 * and searched by simulating every state at once (two lists of states
 * and a mark per state), so a search costs O(bytes x states) time and
 * O(states) memory, never more, whatever the argument. glibc's regexec,
 * which it replaces, built automaton states lazily without a bound
 * ("(a|b)*a(a|b){16}x" on 1 MiB: 13 s and 370 MB). Every run carries a
 * work budget and stops when it is spent. Pure functions: no state, no
 * locks; an automaton is read-only once built. This file parses and
 * builds; regex_nfa_search.c searches.
 */
#include <stdlib.h>
#include <string.h>

#include "chio/error.h"
#include "regex_nfa.h"
#include "regex_nfa_int.h"

/* ---- syntax tree ------------------------------------------------------------------------ */

enum { T_SET, T_BOL, T_EOL, T_WORD, T_CAT, T_ALT, T_REP };

#define NONE       UINT32_MAX
#define RX_INF     UINT32_MAX
#define RX_DUP_MAX 32767u /* glibc's RE_DUP_MAX */
#define RX_GROUPS  64     /* nesting of groups read */
#define RX_QUANTS  8      /* quantifiers on one item ("a*?+") */

typedef struct rx_tree {
    uint8_t kind;
    uint32_t child; /* T_CAT (children last first), T_ALT, T_REP: first child */
    uint32_t sib;   /* the next child of the parent, NONE after the last */
    uint32_t lo;    /* T_REP: least count; T_SET: the set's index; T_WORD: W_* */
    uint32_t hi;    /* T_REP: most count, RX_INF for none */
    uint32_t size;  /* the states it becomes (rx_measure) */
} rx_tree;

typedef struct rx_parser {
    const char *p;
    size_t i, n;
    rx_tree *t;
    uint32_t nt, capt;
    rx_set *sets;
    uint32_t nsets, capsets;
    int groups; /* open groups around the current position */
    int err;    /* CHIO_EINVAL or CHIO_ENOMEM once failed */
} rx_parser;

static uint32_t rx_fail(rx_parser *ps, int err)
{
    if (ps->err == 0)
        ps->err = err;
    return NONE;
}

static uint32_t rx_node(rx_parser *ps, uint8_t kind)
{
    rx_tree *t;

    if (ps->nt == ps->capt) {
        uint32_t cap = ps->capt ? 2 * ps->capt : 64;
        if ((t = realloc(ps->t, cap * sizeof(*t))) == NULL)
            return rx_fail(ps, CHIO_ENOMEM);
        ps->t = t;
        ps->capt = cap;
    }
    t = &ps->t[ps->nt];
    memset(t, 0, sizeof(*t));
    t->kind = kind;
    t->child = t->sib = NONE;
    return ps->nt++;
}

/* A T_SET node with a new empty set, its set in *@set. */
static uint32_t rx_set_node(rx_parser *ps, uint8_t **set)
{
    uint32_t x;

    if (ps->nsets == ps->capsets) {
        uint32_t cap = ps->capsets ? 2 * ps->capsets : 16;
        rx_set *s = realloc(ps->sets, cap * sizeof(*s));
        if (s == NULL)
            return rx_fail(ps, CHIO_ENOMEM);
        ps->sets = s;
        ps->capsets = cap;
    }
    if ((x = rx_node(ps, T_SET)) == NONE)
        return NONE;
    ps->t[x].lo = ps->nsets;
    *set = ps->sets[ps->nsets++];
    memset(*set, 0, sizeof(rx_set));
    return x;
}

static void rx_add(uint8_t *set, unsigned lo, unsigned hi)
{
    for (; lo <= hi; lo++)
        set[lo >> 3] |= (uint8_t)(1u << (lo & 7));
}

/* ---- character classes (the C locale: ASCII members only) ------------------------------- */

static const char *const rx_class_names[] = {"alnum", "alpha", "blank", "cntrl", "digit", "graph",
                                             "lower", "print", "punct", "space", "upper", "xdigit"};

static int rx_in_class(int which, unsigned c)
{
    int upper = c >= 'A' && c <= 'Z', lower = c >= 'a' && c <= 'z', digit = c >= '0' && c <= '9';
    int graph = c >= 0x21 && c <= 0x7e;

    switch (which) {
    case 0:
        return upper || lower || digit;
    case 1:
        return upper || lower;
    case 2:
        return c == ' ' || c == '\t';
    case 3:
        return c < 0x20 || c == 0x7f;
    case 4:
        return digit;
    case 5:
        return graph;
    case 6:
        return lower;
    case 7:
        return graph || c == ' ';
    case 8:
        return graph && !(upper || lower || digit);
    case 9:
        return c == ' ' || (c >= '\t' && c <= '\r');
    case 10:
        return upper;
    default:
        return digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }
}

/* Add class @name (@len bytes) to @set; -1 for a name glibc does not know. */
static int rx_class(uint8_t *set, const char *name, size_t len)
{
    size_t k;
    unsigned c;

    for (k = 0; k < sizeof(rx_class_names) / sizeof(rx_class_names[0]); k++) {
        if (strlen(rx_class_names[k]) != len || memcmp(rx_class_names[k], name, len) != 0)
            continue;
        for (c = 0; c < 256; c++)
            if (rx_in_class((int)k, c))
                rx_add(set, c, c);
        return 0;
    }
    return -1;
}

/* ---- parsing ---------------------------------------------------------------------------- */

/* One element of a bracket expression at ps->i: a byte (*@c) or a class
 * added to @set (*@c = -1). @first: the element right after "[" or "[^",
 * where '-' and ']' are members. -1 when invalid. */
static int rx_bracket_elem(rx_parser *ps, uint8_t *set, int first, int *c)
{
    const char *p = ps->p;
    size_t i = ps->i;

    if (p[i] == '[' && i + 1 < ps->n && p[i + 1] == ':') {
        const char *close = strstr(p + i + 2, ":]");
        if (close == NULL || rx_class(set, p + i + 2, (size_t)(close - (p + i + 2))) != 0)
            return -1;
        ps->i = (size_t)(close - p) + 2;
        *c = -1;
        return 0;
    }
    if (p[i] == '[' && i + 1 < ps->n && (p[i + 1] == '.' || p[i + 1] == '='))
        return -1; /* collating elements and equivalence classes: not read */
    /* '-' starts an element only first or last (glibc: REG_ERANGE else) */
    if (p[i] == '-' && !first && !(i + 1 < ps->n && p[i + 1] == ']'))
        return -1;
    *c = (unsigned char)p[i];
    ps->i = i + 1;
    return 0;
}

static uint32_t rx_bracket(rx_parser *ps)
{
    uint8_t *set;
    uint32_t x = rx_set_node(ps, &set);
    int neg = 0, first = 1, lo, hi;

    if (x == NONE)
        return NONE;
    ps->i++; /* '[' */
    if (ps->i < ps->n && ps->p[ps->i] == '^') {
        neg = 1;
        ps->i++;
    }
    for (;; first = 0) {
        if (ps->i >= ps->n)
            return rx_fail(ps, CHIO_EINVAL);
        if (ps->p[ps->i] == ']' && !first)
            break;
        if (rx_bracket_elem(ps, set, first, &lo) != 0)
            return rx_fail(ps, CHIO_EINVAL);
        if (ps->i + 1 < ps->n && ps->p[ps->i] == '-' && ps->p[ps->i + 1] != ']') {
            ps->i++; /* a range: both ends bytes, in order */
            if (lo < 0 || rx_bracket_elem(ps, set, 1, &hi) != 0 || hi < 0 || hi < lo)
                return rx_fail(ps, CHIO_EINVAL);
            rx_add(set, (unsigned)lo, (unsigned)hi);
        } else if (lo >= 0) {
            rx_add(set, (unsigned)lo, (unsigned)lo);
        }
    }
    ps->i++; /* ']' */
    if (neg)
        for (lo = 0; lo < 32; lo++)
            set[lo] = (uint8_t)~set[lo];
    return x;
}

/* An escape: \w \W \s \S, or '\' and an ASCII character that is not a
 * letter, digit or one of <>`' (that character). */
static uint32_t rx_escape(rx_parser *ps)
{
    unsigned char e = ps->i + 1 < ps->n ? (unsigned char)ps->p[ps->i + 1] : 0;
    uint8_t *set;
    uint32_t x;
    int k;

    if (e == 0 || e >= 0x80 ||
        (((e | 0x20) >= 'a' && (e | 0x20) <= 'z') && strchr("wWsSbB", e) == NULL) ||
        (e >= '0' && e <= '9'))
        return rx_fail(ps, CHIO_EINVAL);
    if (e == '`' || e == '\'') { /* the buffer's start and end: ^ and $ here */
        ps->i += 2;
        return rx_node(ps, e == '`' ? T_BOL : T_EOL);
    }
    if (strchr("bB<>", e) != NULL) {
        if ((x = rx_node(ps, T_WORD)) == NONE)
            return NONE;
        ps->t[x].lo = e == 'b' ? W_EDGE : e == 'B' ? W_INSIDE : e == '<' ? W_START : W_END;
        ps->i += 2;
        return x;
    }
    if ((x = rx_set_node(ps, &set)) == NONE)
        return NONE;
    ps->i += 2;
    if (e == 'w' || e == 'W') {
        rx_class(set, "alnum", 5);
        rx_add(set, '_', '_');
    } else if (e == 's' || e == 'S') {
        rx_class(set, "space", 5);
    } else {
        rx_add(set, e, e);
    }
    if (e == 'W' || e == 'S')
        for (k = 0; k < 32; k++)
            set[k] = (uint8_t)~set[k];
    return x;
}

static uint32_t rx_alt(rx_parser *ps);

/* One item: a group, a bracket expression, an escape, '.', an anchor or a
 * byte. A quantifier here has nothing to repeat (an error to both). */
static uint32_t rx_atom(rx_parser *ps)
{
    unsigned char c = (unsigned char)ps->p[ps->i];
    uint8_t *set;
    uint32_t x;

    switch (c) {
    case '(':
        if (ps->groups == RX_GROUPS)
            return rx_fail(ps, CHIO_EINVAL);
        ps->groups++;
        ps->i++;
        x = rx_alt(ps);
        if (x == NONE || ps->i >= ps->n || ps->p[ps->i] != ')')
            return rx_fail(ps, CHIO_EINVAL);
        ps->groups--;
        ps->i++;
        return x;
    case '[':
        return rx_bracket(ps);
    case '\\':
        return rx_escape(ps);
    case '^':
    case '$':
        ps->i++;
        return rx_node(ps, c == '^' ? T_BOL : T_EOL);
    case '*':
    case '+':
    case '?':
    case '{':
        return rx_fail(ps, CHIO_EINVAL);
    default:
        /* ')' outside a group is a byte (RE_UNMATCHED_RIGHT_PAREN_ORD) */
        if ((x = rx_set_node(ps, &set)) == NONE)
            return NONE;
        if (c == '.')
            rx_add(set, 1, 255); /* any byte but NUL, a newline too */
        else
            rx_add(set, c, c);
        ps->i++;
        return x;
    }
}

/* A decimal count at ps->i (at most RX_DUP_MAX); -1 when there is none. */
static int64_t rx_count(rx_parser *ps)
{
    int64_t v = 0;
    size_t start = ps->i;

    while (ps->i < ps->n && ps->p[ps->i] >= '0' && ps->p[ps->i] <= '9') {
        v = v * 10 + (ps->p[ps->i++] - '0');
        if (v > RX_DUP_MAX)
            return -1;
    }
    return ps->i == start ? -1 : v;
}

/* The quantifier at ps->i in *@lo, *@hi: 1, or 0 when none is there, or
 * -1 when "{" does not start {n}, {n,} or {n,m} with n <= m. */
static int rx_quant(rx_parser *ps, uint32_t *lo, uint32_t *hi)
{
    int64_t a, b;

    if (ps->i >= ps->n)
        return 0;
    switch (ps->p[ps->i]) {
    case '*':
        *lo = 0, *hi = RX_INF;
        break;
    case '+':
        *lo = 1, *hi = RX_INF;
        break;
    case '?':
        *lo = 0, *hi = 1;
        break;
    case '{':
        ps->i++;
        if ((a = rx_count(ps)) < 0)
            return -1;
        b = a;
        if (ps->i < ps->n && ps->p[ps->i] == ',') {
            ps->i++;
            b = ps->i < ps->n && ps->p[ps->i] == '}' ? -2 : rx_count(ps);
            if (b == -1 || (b >= 0 && b < a))
                return -1;
        }
        if (ps->i >= ps->n || ps->p[ps->i] != '}')
            return -1;
        *lo = (uint32_t)a;
        *hi = b == -2 ? RX_INF : (uint32_t)b;
        break;
    default:
        return 0;
    }
    ps->i++;
    return 1;
}

/* A sequence of items, each with its quantifiers, up to '|', a closing
 * ')' of an open group, or the end: a T_CAT with its children last first. */
static uint32_t rx_branch(rx_parser *ps)
{
    uint32_t cat = rx_node(ps, T_CAT), x, r, lo, hi;
    int q, nq;

    if (cat == NONE)
        return NONE;
    while (ps->i < ps->n && ps->p[ps->i] != '|' && !(ps->p[ps->i] == ')' && ps->groups > 0)) {
        if ((x = rx_atom(ps)) == NONE)
            return NONE;
        for (nq = 0; (q = rx_quant(ps, &lo, &hi)) != 0; nq++) {
            /* nothing repeats an anchor; glibc drops the quantifier */
            if (q < 0 || nq == RX_QUANTS || ps->t[x].kind == T_BOL || ps->t[x].kind == T_EOL ||
                ps->t[x].kind == T_WORD)
                return rx_fail(ps, CHIO_EINVAL);
            if ((r = rx_node(ps, T_REP)) == NONE)
                return NONE;
            ps->t[r].child = x;
            ps->t[r].lo = lo;
            ps->t[r].hi = hi;
            x = r;
        }
        ps->t[x].sib = ps->t[cat].child;
        ps->t[cat].child = x;
    }
    return cat;
}

/* Branches separated by '|' (an empty branch matches the empty string). */
static uint32_t rx_alt(rx_parser *ps)
{
    uint32_t alt = rx_node(ps, T_ALT), x, last = NONE;

    if (alt == NONE)
        return NONE;
    for (;;) {
        if ((x = rx_branch(ps)) == NONE)
            return NONE;
        if (last == NONE)
            ps->t[alt].child = x;
        else
            ps->t[last].sib = x;
        last = x;
        if (ps->i >= ps->n || ps->p[ps->i] != '|')
            return alt;
        ps->i++;
    }
}

/* ---- the automaton ---------------------------------------------------------------------- */

/* Building is bounded too: the states (CHIO__NFA_MAX_STATES) and the
 * visits of tree nodes that make them (RX_VISITS: a repeated group of
 * empty groups, "(a()()()){9999}", visits many nodes for a few states). */
#define RX_VISITS ((uint64_t)1 << 22)

typedef struct rx_cost {
    uint64_t visits;
} rx_cost;

static uint64_t rx_sat(uint64_t v, uint64_t cap)
{
    return v > cap ? cap + 1 : v;
}

/* The states tree @x becomes, at most CHIO__NFA_MAX_STATES + 1, kept in
 * its size; the node visits building it takes added to @cost->visits. */
static uint64_t rx_measure(rx_tree *t, uint32_t x, rx_cost *cost)
{
    const uint64_t cap = CHIO__NFA_MAX_STATES;
    uint64_t sum = 0, s, before = cost->visits, emits;
    uint32_t c;

    cost->visits = rx_sat(cost->visits + 1, RX_VISITS);
    switch (t[x].kind) {
    case T_CAT:
    case T_ALT:
        for (c = t[x].child; c != NONE && sum <= cap; c = t[c].sib)
            sum += rx_measure(t, c, cost) + (t[x].kind == T_ALT && c != t[x].child);
        break;
    case T_REP:
        s = rx_measure(t, t[x].child, cost);
        if (s == 0) /* nothing to repeat: emitted as nothing */
            break;
        if (t[x].hi == RX_INF) {
            emits = t[x].lo ? t[x].lo : 1;
            sum = emits * s + 1;
        } else {
            emits = t[x].hi;
            sum = (uint64_t)t[x].lo * s + (uint64_t)(t[x].hi - t[x].lo) * (s + 1);
        }
        /* the child's visits, once per copy */
        cost->visits = rx_sat(before + 1 + emits * (cost->visits - before - 1), RX_VISITS);
        break;
    default:
        sum = 1;
        break;
    }
    t[x].size = (uint32_t)rx_sat(sum, cap);
    return t[x].size;
}

static uint32_t rx_state_new(chio__nfa *a, uint8_t op, uint32_t out, uint32_t arg)
{
    a->st[a->nst].op = op;
    a->st[a->nst].out = out;
    a->st[a->nst].arg = arg;
    return a->nst++;
}

/* Emit the states of tree @x, going on to state @next; its first state.
 * Built back to front, so a fragment needs no patching but a loop's. */
static uint32_t rx_emit(chio__nfa *a, const rx_tree *t, uint32_t x, uint32_t next)
{
    uint32_t c, s, body, tail, k, copies;

    switch (t[x].kind) {
    case T_SET:
        return rx_state_new(a, S_SET, next, t[x].lo);
    case T_BOL:
    case T_EOL:
        return rx_state_new(a, t[x].kind == T_BOL ? S_BOL : S_EOL, next, 0);
    case T_WORD:
        return rx_state_new(a, S_WORD, next, t[x].lo);
    case T_CAT: /* children last first */
        for (c = t[x].child; c != NONE; c = t[c].sib)
            next = rx_emit(a, t, c, next);
        return next;
    case T_ALT:
        s = NONE;
        for (c = t[x].child; c != NONE; c = t[c].sib) {
            body = rx_emit(a, t, c, next);
            s = s == NONE ? body : rx_state_new(a, S_SPLIT, body, s);
        }
        return s;
    case T_REP:
        if (t[x].size == 0)
            return next;
        tail = next;
        copies = t[x].lo;
        if (t[x].hi == RX_INF) { /* a loop: x* or, as the last copy, x+ */
            s = rx_state_new(a, S_SPLIT, 0, next);
            body = rx_emit(a, t, t[x].child, s);
            a->st[s].out = body;
            tail = copies > 0 ? body : s;
            copies = copies > 0 ? copies - 1 : 0;
        } else { /* hi - lo optional copies, nested: (x(x)?)? */
            for (k = t[x].lo; k < t[x].hi; k++) {
                body = rx_emit(a, t, t[x].child, tail);
                tail = rx_state_new(a, S_SPLIT, body, next);
            }
        }
        for (k = 0; k < copies; k++)
            tail = rx_emit(a, t, t[x].child, tail);
        return tail;
    default:
        return next;
    }
}

void chio__nfa_free(chio__nfa *nfa)
{
    if (nfa == NULL)
        return;
    free(nfa->first);
    free(nfa->st);
    free(nfa->sets);
    free(nfa);
}

/* The start table's entries at most, and the byte readers of the start
 * at most (a larger one is not built: building reads each reader's set
 * for every byte). */
#define RX_FIRST_MAX    65536u
#define RX_FIRST_STATES 4096u

/* The byte readers the start of @a reaches without reading, in @closure
 * (their number returned), or 0 when it also reaches an anchor or the
 * match (then entering it depends on the position). @stack and @seen:
 * scratch of a->nst entries, @seen zeroed. */
static uint32_t rx_start_closure(const chio__nfa *a, uint32_t *closure, uint32_t *stack,
                                 uint8_t *seen)
{
    uint32_t sp = 0, nc = 0, s;

    seen[a->start] = 1;
    stack[sp++] = a->start;
    while (sp > 0) {
        s = stack[--sp];
        if (a->st[s].op == S_SET) {
            closure[nc++] = s;
        } else if (a->st[s].op == S_SPLIT) {
            if (!seen[a->st[s].arg]) {
                seen[a->st[s].arg] = 1;
                stack[sp++] = a->st[s].arg;
            }
            if (!seen[a->st[s].out]) {
                seen[a->st[s].out] = 1;
                stack[sp++] = a->st[s].out;
            }
        } else {
            return 0;
        }
    }
    return nc;
}

/* Build @a's start table (see struct chio__nfa) when it applies: a start
 * that opens many alternatives ("(tok1|tok2|...)") then costs, at each
 * byte, the alternatives that read it, not all of them. 0 or
 * CHIO_ENOMEM. */
static int rx_first_build(chio__nfa *a)
{
    uint32_t *closure = malloc(a->nst * sizeof(uint32_t));
    uint32_t *stack = malloc(a->nst * sizeof(uint32_t));
    uint8_t *seen = calloc(a->nst, 1);
    uint32_t nc, b, k, total = 0;
    int rc = CHIO_ENOMEM;

    if (closure == NULL || stack == NULL || seen == NULL)
        goto out;
    rc = 0;
    nc = rx_start_closure(a, closure, stack, seen);
    if (nc == 0 || nc > RX_FIRST_STATES)
        goto out;
    for (b = 0; b < 256 && total <= RX_FIRST_MAX; b++)
        for (k = 0; k < nc; k++)
            total += (a->sets[a->st[closure[k]].arg][b >> 3] >> (b & 7)) & 1u;
    if (total > RX_FIRST_MAX)
        goto out;
    if ((a->first = malloc((257 + (size_t)total) * sizeof(uint32_t))) == NULL) {
        rc = CHIO_ENOMEM;
        goto out;
    }
    total = 257;
    for (b = 0; b < 256; b++) {
        a->first[b] = total;
        for (k = 0; k < nc; k++)
            if ((a->sets[a->st[closure[k]].arg][b >> 3] >> (b & 7)) & 1u)
                a->first[total++] = closure[k];
    }
    a->first[256] = total;
out:
    free(closure);
    free(stack);
    free(seen);
    return rc;
}

/* 1 when no state of @a reads the position around it but '^' (which
 * holds at the first position only): see chio__nfa's cacheable. */
static uint8_t rx_cacheable(const chio__nfa *a)
{
    uint32_t i;

    for (i = 0; i < a->nst; i++)
        if (a->st[i].op == S_EOL || a->st[i].op == S_WORD)
            return 0;
    return 1;
}

int chio__nfa_compile(const char *ere, chio__nfa **out)
{
    rx_parser ps;
    chio__nfa *a = NULL;
    uint32_t root;
    uint64_t size;
    rx_cost cost = {0};
    int rc;

    *out = NULL;
    memset(&ps, 0, sizeof(ps));
    ps.p = ere;
    ps.n = strlen(ere);
    root = rx_alt(&ps);
    if (root != NONE && ps.i < ps.n)
        root = rx_fail(&ps, CHIO_EINVAL); /* a ')' closing no group inside */
    if (root == NONE) {
        rc = ps.err ? ps.err : CHIO_EINVAL;
        goto out;
    }
    size = rx_measure(ps.t, root, &cost) + 1; /* and the match state */
    if (size > CHIO__NFA_MAX_STATES || cost.visits > RX_VISITS) {
        rc = CHIO_ETOOBIG;
        goto out;
    }
    rc = CHIO_ENOMEM;
    if ((a = calloc(1, sizeof(*a))) == NULL ||
        (a->st = malloc((size_t)size * sizeof(*a->st))) == NULL)
        goto out;
    a->sets = ps.sets;
    a->nsets = ps.nsets;
    ps.sets = NULL;
    a->start = rx_emit(a, ps.t, root, rx_state_new(a, S_MATCH, 0, 0));
    if (rx_first_build(a) != 0)
        goto out;
    a->cacheable = rx_cacheable(a);
    *out = a;
    a = NULL;
    rc = 0;
out:
    chio__nfa_free(a);
    free(ps.t);
    free(ps.sets);
    return rc;
}

size_t chio__nfa_states(const chio__nfa *nfa)
{
    return nfa->nst;
}

size_t chio__nfa_bytes(const chio__nfa *nfa)
{
    return sizeof(*nfa) + (size_t)nfa->nst * sizeof(rx_state) +
           (size_t)nfa->nsets * sizeof(rx_set) +
           (nfa->first != NULL ? (size_t)nfa->first[256] * sizeof(uint32_t) : 0);
}
