/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/regex_nfa.h - a bounded matcher for the POSIX EREs the
 * regex_match constraint runs (see regex_nfa.c): compiled once into a
 * Thompson automaton, searched in time O(bytes x states) and memory
 * O(states), with a work budget per call.
 */
#ifndef CHIO_KERNEL_REGEX_NFA_H
#define CHIO_KERNEL_REGEX_NFA_H

#include <stddef.h>
#include <stdint.h>

/* The most states one automaton may have (a larger one is refused: it
 * would cost memory in the pattern cache and work on every byte). */
#define CHIO__NFA_MAX_STATES (1u << 17)

/* The work one regex_match call may do, in steps: one per automaton
 * state entered at a position, plus one per position (so at most
 * (bytes + 1) x (states + 1) per string; a cached transition,
 * regex_nfa_search.c, is one step). Spending it all takes about
 * 25-40 ms of CPU on the development machine, whatever the automaton
 * (test rev27_regex::the_work_budget_is_spent_quickly); a call that would
 * need more denies. */
#define CHIO__NFA_WORK_MAX ((uint64_t)1 << 24)

typedef struct chio__nfa chio__nfa;

/*
 * chio__nfa_compile - read POSIX ERE @ere (a C string) as glibc's regcomp
 * reads it with REG_EXTENDED | REG_NOSUB, no REG_NEWLINE, in the C
 * locale, and build its automaton in *@out. The subset read: '|', groups,
 * '*' '+' '?' and {n} {n,} {n,m} (n <= m <= 32767), bracket expressions
 * with ranges, negation and [:class:] names, '.', '^' and '$' (the start
 * and the end of the string only, as chio reads them: glibc's also held
 * next to a newline the match read; \` and \' the same; and in every
 * copy of a counted repetition, where glibc lost some: "(a$){2}" matched
 * "aa"), \w \W \s \S,
 * the GNU word anchors \b \B \< \>, and '\' before any other ASCII
 * character but a letter or digit (that character).
 * Returns 0; CHIO_EINVAL for an ERE that is invalid or outside the subset
 * (no backreferences, other escaped letters, [.x.], [=x=]; nested deeper
 * than 64 groups);
 * CHIO_ETOOBIG when the automaton would have more than
 * CHIO__NFA_MAX_STATES states (or take too long to build); CHIO_ENOMEM. *@out is NULL on failure.
 * Ownership: the caller frees it with chio__nfa_free(); read-only once
 * built, so threads may search it at once.
 */
int chio__nfa_compile(const char *ere, chio__nfa **out);

/* The number of states of @nfa. */
size_t chio__nfa_states(const chio__nfa *nfa);
/* The bytes @nfa holds (what the pattern cache weighs it by). */
size_t chio__nfa_bytes(const chio__nfa *nfa);

/* Free @nfa (NULL is accepted). */
void chio__nfa_free(chio__nfa *nfa);

/* One call's search state: caller-allocated, set up with _init, searched
 * any number of times (one thread), released with _destroy. */
typedef struct chio__nfa_run {
    const chio__nfa *nfa;
    uint32_t *mark;   /* per state: the generation it was last entered in */
    uint32_t *cur;    /* byte-reading states of this position */
    uint32_t *next;   /* ... and of the next one */
    uint32_t *stack;  /* states to enter */
    const char *text; /* the string being searched (word anchors read it) */
    uint32_t gen;
    uint64_t work;             /* visits left */
    uint64_t spent;            /* visits of the searches before this one */
    struct chio__nfa_dfa *dfa; /* cached transitions, made when first used */
    int nocache;               /* the cache is off for this run */
} chio__nfa_run;

/* Set up @run for @nfa with @budget visits. 0 or CHIO_ENOMEM. */
int chio__nfa_run_init(chio__nfa_run *run, const chio__nfa *nfa, uint64_t budget);

/*
 * chio__nfa_run_search - 1 when some part of @s (its first @n bytes, up
 * to a NUL as regexec reads it) matches: '^' at byte 0 only, '$' at the
 * end only. 0 when none does; CHIO_ELIMIT when the run's budget is spent
 * before the answer is known (it stays spent: every later search answers
 * the same); CHIO_ENOMEM never (all memory is taken by _init).
 */
int chio__nfa_run_search(chio__nfa_run *run, const char *s, size_t n);

/* Release what @run holds (a zeroed run is accepted). */
void chio__nfa_run_destroy(chio__nfa_run *run);

#endif
