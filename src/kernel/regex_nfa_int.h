/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/regex_nfa_int.h - the automaton of regex_nfa.h as its builder
 * (regex_nfa.c) and its searcher (regex_nfa_search.c) share it. Private
 * to those two files.
 */
#ifndef CHIO_KERNEL_REGEX_NFA_INT_H
#define CHIO_KERNEL_REGEX_NFA_INT_H

#include <stdint.h>

#include "regex_nfa.h"

typedef uint8_t rx_set[32]; /* bit b: byte b is in the set */

/* Word assertions (an S_WORD state's arg), glibc's GNU word anchors: a
 * word byte is an ASCII letter, digit or '_' (the C locale). */
enum { W_EDGE, W_INSIDE, W_START, W_END }; /* \b \B \< \> */

enum { S_SET, S_SPLIT, S_BOL, S_EOL, S_WORD, S_MATCH };

typedef struct rx_state {
    uint32_t out; /* the next state */
    uint32_t arg; /* S_SET: the set's index; S_SPLIT: the other next state; S_WORD: W_* */
    uint8_t op;
} rx_state;

struct chio__nfa {
    rx_state *st;
    uint32_t nst, start;
    rx_set *sets;
    uint32_t nsets;
    /* The start table, when the states the start reaches without reading
     * are splits and byte readers only (no anchor, no match): for byte b,
     * first[first[b]..first[b + 1]) are those that read b, after the 257
     * offsets. A search enters them, not the whole start, at each byte
     * (rx_first_build). NULL otherwise. */
    uint32_t *first;
    /* 1 when no state is an S_EOL or S_WORD: the states a byte leads to
     * are then the same at every position after the first, so a search
     * may cache them (regex_nfa_search.c, "Cached transitions"). */
    uint8_t cacheable;
};

#endif
