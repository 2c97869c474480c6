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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "glob_reach.h"
#include "internal.h"

#define STACK_ROW 256

size_t chio__glob_bracket_end(const char *p, size_t m, size_t i)
{
    static const char kinds[] = ":.=";
    size_t j = i + 1, none[3] = {SIZE_MAX, SIZE_MAX, SIZE_MAX};

    if (j < m && (p[j] == '!' || p[j] == '^'))
        j++;
    if (j < m && p[j] == ']')
        j++; /* a ']' first is a member */
    for (; j < m; j++) {
        const char *kind;
        if (j - i > CHIO__GLOB_BRACKET_MAX)
            return SIZE_MAX; /* too long to read: the caller assumes the worst */
        if (p[j] == '[' && j + 1 < m && p[j + 1] != '\0' &&
            (kind = strchr(kinds, p[j + 1])) != NULL) {
            /* "[:alpha:]": its close, searched once per kind: a search
             * that fails fails for every later start (linear time) */
            size_t x = (size_t)(kind - kinds), k;
            for (k = j + 2; j + 2 < none[x] && k + 1 < m && k - i <= CHIO__GLOB_BRACKET_MAX; k++)
                if (p[k] == p[j + 1] && p[k + 1] == ']')
                    break;
            if (j + 2 < none[x] && k + 1 < m && k - i <= CHIO__GLOB_BRACKET_MAX) {
                j = k + 1;
                continue;
            }
            if (j + 2 < none[x])
                none[x] = j + 2;
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
static int step(const char *p, size_t m, const unsigned char *from, unsigned char *to, char c,
                int *wild)
{
    unsigned char lc = (unsigned char)tolower((unsigned char)c);
    size_t i, e = 0;
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
        } else if (p[i] == '[' && (e = chio__glob_bracket_end(p, m, i)) == SIZE_MAX) {
            *wild = 1; /* a bracket too long to read may match anything */
        } else if (p[i] == '[' && e > 0) {
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

/* The pattern @p run over @prefix (@plen bytes). @mode: GLOB_EXACT, a
 * match of it whole; else chio__glob_may_reach's answer, @mode its @open. */
#define GLOB_EXACT 2
static int glob_run(const char *p, size_t m, const char *prefix, size_t plen, int mode)
{
    unsigned char stack[2][STACK_ROW], *a = stack[0], *b = stack[1], *heap = NULL, *t;
    size_t k, i;
    int hit = 0, wild = 0;

    if (m + 1 > STACK_ROW) {
        if ((heap = malloc(2 * (m + 1))) == NULL)
            return CHIO_ENOMEM;
        a = heap;
        b = heap + m + 1;
    }
    memset(a, 0, m + 1);
    add_state(p, m, a, 0);
    for (k = 0; k < plen; k++) {
        if (!step(p, m, a, b, prefix[k], &wild) || wild)
            goto out;
        t = a;
        a = b;
        b = t;
    }
    /* The prefix is read: one that ends inside a name covers any rest;
     * one that ends at a separator covers itself and what is below it;
     * an exact match has read the whole pattern. */
    for (i = 0; i <= m && !hit; i++)
        hit = a[i] && (mode == GLOB_EXACT ? i == m
                                          : (mode || i == m || p[i] == '/' ||
                                             (p[i] == '\\' && i + 1 < m && p[i + 1] == '/')));
out:
    free(heap);
    return hit || wild;
}

int chio__glob_may_reach(const char *p, size_t m, const char *prefix, size_t plen, int open)
{
    return glob_run(p, m, prefix, plen, open != 0);
}

int chio__glob_matches(const char *p, size_t m, const char *s, size_t n)
{
    return glob_run(p, m, s, n, GLOB_EXACT);
}

/* Could the segment [@i, @e) of @w be ".." to dash: a '.' and then only
 * dots, '?', '*' and brackets (".?", ".*", ".[.]")? */
static int dotdot_segment(const char *w, size_t i, size_t e)
{
    size_t j, k = 0;

    if (e - i < 2 || w[i] != '.')
        return 0;
    for (j = i + 1; j < e; j++) {
        if (w[j] == '[' && (k = chio__glob_bracket_end(w, e, j)) == SIZE_MAX)
            return 1; /* too long to read: at worst ".." */
        if (w[j] == '[' && k > 0)
            j = k - 1;
        else if (w[j] != '.' && w[j] != '?' && w[j] != '*')
            return 0;
    }
    return 1;
}

/* The end of a group opened by @open at w[@i] and closed at its own
 * level by @close; @n when it does not close. */
static size_t group_close(const char *w, size_t n, size_t i, char open, char close)
{
    size_t depth = 0;

    for (; i < n; i++) {
        if (w[i] == open)
            depth++;
        else if (w[i] == close && --depth == 0)
            return i + 1;
    }
    return n;
}

size_t chio__glob_word(const char *w, size_t n, int dotdot, char *out)
{
    size_t i = 0, o = 0, e;

    while (i < n) {
        if (w[i] == '$' && i + 1 < n && w[i + 1] == '{') {
            /* unset: empty, or the default of "${x:-word}", "${x-word}",
             * "${x:=word}", "${x=word}" */
            size_t end = group_close(w, n, i + 1, '{', '}'), k = i + 2;
            while (k < end && (isalnum((unsigned char)w[k]) || w[k] == '_'))
                k++;
            if (k < end && w[k] == ':')
                k++;
            if (k < end && (w[k] == '-' || w[k] == '=') && end - 1 > k + 1) {
                memmove(out + o, w + k + 1, end - 1 - (k + 1));
                o += end - 1 - (k + 1);
            }
            i = end;
        } else if (w[i] == '$' && i + 1 < n && w[i + 1] == '(') {
            i = group_close(w, n, i + 1, '(', ')');
        } else if (w[i] == '$' && i + 1 < n &&
                   (isalnum((unsigned char)w[i + 1]) || w[i + 1] == '_')) {
            for (i++; i < n && (isalnum((unsigned char)w[i]) || w[i] == '_'); i++)
                ;
        } else if (i + 1 < n && w[i + 1] == '(' && strchr("?*+@!", w[i]) != NULL) {
            i = group_close(w, n, i + 1, '(', ')'); /* extglob: any text */
            out[o++] = '*';
        } else if (dotdot && w[i] == '/' && (e = i + 1) < n) {
            out[o++] = '/';
            for (i++; e < n && w[e] != '/'; e++)
                ;
            if (dotdot_segment(w, i, e)) {
                out[o++] = '.';
                out[o++] = '.';
                i = e;
            }
        } else {
            out[o++] = w[i++];
        }
    }
    out[o] = '\0';
    return o;
}
