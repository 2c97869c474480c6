/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/glob_reach.c - could a shell glob match a path under a prefix?
 * For the forbidden_path guard (guard_path.c): "cat /e?c/passwd",
 * and "cat /[e]tc/shadow" name files under /etc/ and
 * /root/ that no literal reading shows, and so does "cat /?oot/.ssh/x". The pattern runs as a set
 * of positions (an NFA) over the prefix's bytes, '?', '*' and a bracket never matching '/', as in
 * pathname expansion. No state, no locks; two scratch rows, on the stack for short patterns.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "glob_reach.h"
#include "internal.h"

#define STACK_ROW 256

/* The end of the bracket expression that opens at p[@i] ("[a-z]",
 * "[!x]", "[]x]"), the index after its ']', or 0 when it does not close
 * (then the '[' is a byte of its own). */
static size_t bracket_end(const char *p, size_t m, size_t i)
{
    size_t j = i + 1;

    if (j < m && (p[j] == '!' || p[j] == '^'))
        j++;
    if (j < m && p[j] == ']')
        j++; /* a ']' first is a member */
    for (; j < m; j++) {
        if (p[j] == '[' && j + 1 < m && (p[j + 1] == ':' || p[j + 1] == '.' || p[j + 1] == '=')) {
            const char *close = NULL;
            size_t k;
            for (k = j + 2; k + 1 < m; k++)
                if (p[k] == p[j + 1] && p[k + 1] == ']') {
                    close = p + k;
                    break;
                }
            if (close != NULL) {
                j = (size_t)(close - p) + 1;
                continue;
            }
        }
        if (p[j] == ']')
            return j + 1;
    }
    return 0;
}

/* Does the bracket [@i, @e) match a byte that folds to @c (lower case)?
 * A class ("[:alpha:]"), collating element, equivalence class or a
 * negated bracket counts as a match: the guess may only add one. */
static int bracket_matches(const char *p, size_t i, size_t e, unsigned char c)
{
    unsigned char up = (unsigned char)toupper(c);
    size_t j = i + 1;

    if (p[j] == '!' || p[j] == '^')
        return 1;
    for (; j < e - 1; j++) {
        unsigned char lo = (unsigned char)p[j], hi = lo;
        if (p[j] == '[' && j + 1 < e - 1 && strchr(":.=", p[j + 1]) != NULL)
            return 1;
        if (j + 2 < e - 1 && p[j + 1] == '-') {
            hi = (unsigned char)p[j + 2];
            j += 2;
        }
        if ((c >= lo && c <= hi) || (up >= lo && up <= hi))
            return 1;
    }
    return 0;
}

/* Add state @i and, through each '*' (which may match nothing), the
 * states after it. */
static void add_state(const char *p, size_t m, unsigned char *row, size_t i)
{
    while (i <= m && !row[i]) {
        row[i] = 1;
        if (i == m || p[i] != '*')
            return;
        i++;
    }
}

/* Move every state of @from over the byte @c into @to. */
static int step(const char *p, size_t m, const unsigned char *from, unsigned char *to, char c)
{
    unsigned char lc = (unsigned char)tolower((unsigned char)c);
    size_t i, e;
    int any = 0;

    memset(to, 0, m + 1);
    for (i = 0; i < m; i++) {
        if (!from[i])
            continue;
        if (p[i] == '*') {
            if (c != '/')
                add_state(p, m, to, i);
        } else if (p[i] == '?') {
            if (c != '/')
                add_state(p, m, to, i + 1);
        } else if (p[i] == '[' && (e = bracket_end(p, m, i)) > 0) {
            if (c != '/' && bracket_matches(p, i, e, lc))
                add_state(p, m, to, e);
        } else if (p[i] == '\\' && i + 1 < m) {
            if (tolower((unsigned char)p[i + 1]) == lc)
                add_state(p, m, to, i + 2);
        } else if (tolower((unsigned char)p[i]) == lc) {
            add_state(p, m, to, i + 1);
        }
    }
    for (i = 0; i <= m; i++)
        any |= to[i];
    return any;
}

int chio__glob_may_reach(const char *p, size_t m, const char *prefix, size_t plen, int open)
{
    unsigned char stack[2][STACK_ROW], *a = stack[0], *b = stack[1], *heap = NULL, *t;
    size_t k, i;
    int hit = 0;

    if (m + 1 > STACK_ROW) {
        if ((heap = malloc(2 * (m + 1))) == NULL)
            return CHIO_ENOMEM;
        a = heap;
        b = heap + m + 1;
    }
    memset(a, 0, m + 1);
    add_state(p, m, a, 0);
    for (k = 0; k < plen; k++) {
        if (!step(p, m, a, b, prefix[k]))
            goto out;
        t = a;
        a = b;
        b = t;
    }
    /* The prefix is read: one that ends inside a name covers any rest;
     * one that ends at a separator covers itself and what is below it. */
    for (i = 0; i <= m && !hit; i++)
        hit = a[i] &&
              (open || i == m || p[i] == '/' || (p[i] == '\\' && i + 1 < m && p[i + 1] == '/'));
out:
    free(heap);
    return hit;
}
