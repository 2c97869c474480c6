/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/guard_path_wild.c - the forbidden_path guard's reading of
 * expansions whose text it cannot know (review 52): a command
 * substitution or "${name<op>..}" may make any text, so
 * "cat ${PWD::1}etc/shadow" ("/" + "etc/shadow") and
 * "cat /et${-:2}/shadow" ("/et" + "c" + "/shadow") can name a path
 * under "/etc/". Each such expansion is a mark in the wild reading
 * (chio__shell_unquote_empty with CHIO__EMPTY_WILD, shell_ansi.c) that
 * may stand for any text, '/' included; a word is a hit when it can
 * start with a prefix and at least one of the prefix's characters other
 * than '/' is written out in it. That last rule keeps "$(pwd)/src" and
 * "${dir%/}/x" allowed: the expansion alone would have to make the
 * prefix's name. A home mark ("${HOME:1}", "$USER") stands for a piece
 * of the home's text ("/root", or "/home/" and a name), and a character
 * other than '/' it makes counts as written. Only hits count. No state,
 * no locks; the reading is on the stack for short values, else
 * malloc'ed, and so are the home's reaches per prefix.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guard_path.h"
#include "internal.h"
#include "shell_ansi.h"
#include "shell_words.h"

/* The longest prefix matched this way; a longer one is left to the other
 * readings. */
#define WILD_PREFIX_MAX 256

/* Ends a word of the wild reading: white space and the shell's
 * operators. */
static int wild_break(unsigned char c)
{
    return c <= 0x20 ? c != (unsigned char)CHIO__WILD_ANY && c != (unsigned char)CHIO__WILD_HOME
                     : c == 0x7f || strchr(";|&<>()", c) != NULL;
}

/* Does the rest of a word, after a prefix, climb out of it through ".."
 * segments ("$HOME/../x" is "/x"; "/e$(x)c/ssl/../shadow" stays under
 * "/etc/")? */
static int climbs(const char *t, size_t n)
{
    size_t i = 0, e;
    long depth = 0;

    while (i < n && !wild_break((unsigned char)t[i])) {
        for (e = i; e < n && t[e] != '/' && !wild_break((unsigned char)t[e]); e++)
            ;
        if (e - i == 2 && t[i] == '.' && t[i + 1] == '.') {
            if (--depth < 0)
                return 1;
        } else if (!(e - i == 0 || (e - i == 1 && t[i] == '.'))) {
            depth++;
        }
        i = e < n && t[e] == '/' ? e + 1 : e;
    }
    return 0;
}

/* Could @len bytes at @p be text of the home: a substring of "/root", or
 * of "/home/" followed by a name (no '/')? */
static int home_piece(const char *p, size_t len)
{
    static const char root[] = CHIO__HOME_ROOT, home[] = CHIO__HOME_USERS;
    const size_t r = sizeof(root) - 1, u = sizeof(home) - 1;
    const char *slash;
    size_t q;

    if (len == 0 || memmem(root, r, p, len) != NULL || memmem(home, u, p, len) != NULL)
        return 1;
    if ((slash = memrchr(p, '/', len)) == NULL)
        return 1;                /* within the name */
    q = (size_t)(slash - p) + 1; /* p[0, q) must end CHIO__HOME_USERS */
    return q <= u && memcmp(home + u - q, p, q) == 0;
}

/* reach[a]: the furthest state a home mark takes the prefix @f from state
 * @a (its text F[a, reach) a piece of the home; shorter ones are too). */
static void home_reach(const char *f, size_t m, unsigned short *reach)
{
    size_t a, b;

    for (a = 0; a <= m; a++) {
        for (b = a; b < m && home_piece(f + a, b + 1 - a); b++)
            ;
        reach[a] = (unsigned short)b;
    }
}

/* A home mark: from each state a, the states up to reach[a]; with a
 * written character once the text it makes holds one other than '/'. */
static void home_step(unsigned char *plain, unsigned char *seen, const char *f, size_t m,
                      const unsigned short *reach)
{
    int dp[WILD_PREFIX_MAX + 2], ds[WILD_PREFIX_MAX + 2], sp = 0, ss = 0;
    size_t a, next = m, r; /* next: the first index >= a whose byte is not '/' */

    memset(dp, 0, sizeof(int) * (m + 2));
    memset(ds, 0, sizeof(int) * (m + 2));
    for (a = m + 1; a-- > 0;) {
        if (a < m && f[a] != '/')
            next = a;
        if (!plain[a] && !seen[a])
            continue;
        r = reach[a];
        if (plain[a]) {
            dp[a]++;
            dp[r + 1]--;
        }
        if (seen[a]) {
            ds[a]++;
            ds[r + 1]--;
        } else if (next < m && next + 1 <= r) {
            ds[next + 1]++;
            ds[r + 1]--;
        }
    }
    for (a = 0; a <= m; a++) {
        sp += dp[a];
        ss += ds[a];
        plain[a] = (unsigned char)(sp > 0);
        seen[a] = (unsigned char)(ss > 0);
    }
}

/* Is any state of the match alive? */
static int alive(const unsigned char *plain, const unsigned char *seen, size_t m)
{
    size_t i;

    for (i = 0; i <= m; i++)
        if (plain[i] || seen[i])
            return 1;
    return 0;
}

/* Can the word at t[0, n) start with prefix @f (@m bytes, ending in
 * '/'), or be its directory itself, with one of its characters other
 * than '/' written out (or made by a home mark, @reach)? States: the
 * prefix's bytes matched so far, two bit sets (without and with such a
 * character). */
static int wild_match(const char *t, size_t n, const char *f, size_t m, const unsigned short *reach)
{
    unsigned char plain[WILD_PREFIX_MAX + 1], seen[WILD_PREFIX_MAX + 1];
    size_t i, j;

    memset(plain, 0, m + 1);
    memset(seen, 0, m + 1);
    plain[0] = 1;
    for (j = 0; j < n && !wild_break((unsigned char)t[j]); j++) {
        unsigned char c = (unsigned char)t[j];
        if (seen[m] && !climbs(t + j, n - j))
            return 1;
        /* no state left: none comes back (a mark only carries states
         * on), so the rest of the word cannot match; without this each
         * start read to the word's end ("{$HOME," repeated after a cd
         * took 3 s for 64 KiB; review 21) */
        if (j > 0 && !alive(plain, seen, m))
            return 0;
        seen[m] = plain[m] = 0; /* the rest climbs out of the prefix */
        if (c == (unsigned char)CHIO__WILD_HOME) {
            home_step(plain, seen, f, m, reach);
            continue;
        }
        if (c == (unsigned char)CHIO__WILD_ANY) {
            /* any text: each state reaches every later one, as it was */
            int p = 0, q = 0;
            for (i = 0; i <= m; i++) {
                p |= plain[i];
                q |= seen[i];
                plain[i] = (unsigned char)p;
                seen[i] = (unsigned char)q;
            }
            continue;
        }
        for (i = m; i > 0; i--) {
            int hit = f[i - 1] == (char)c;
            seen[i] = (unsigned char)(hit && (seen[i - 1] || (plain[i - 1] && c != '/')));
            plain[i] = (unsigned char)(hit && plain[i - 1]);
        }
        plain[0] = seen[0] = 0;
    }
    /* the word ended: "/etc" names the directory of "/etc/", when its
     * last character is written ("${PWD::1}etc"; "${HOME:-/tmp}" alone is
     * read as "$HOME" is) */
    return seen[m] || (m > 0 && f[m - 1] == '/' && seen[m - 1] && j > 0 &&
                       t[j - 1] != CHIO__WILD_ANY && t[j - 1] != CHIO__WILD_HOME);
}

/* Where a path may start inside the word at t[w, e): its start, after
 * '=', ':' or ',', and after a short option ("-f/etc/x"). */
static int wild_start(const char *t, size_t w, size_t p)
{
    if (p == w)
        return 1;
    if (strchr("=:,", t[p - 1]) != NULL)
        return 1;
    return p == w + 2 && t[w] == '-' && t[w + 1] != '-';
}

/* The words of @t (@n bytes) that hold a mark, each against each prefix;
 * @reach (a row of WILD_PREFIX_MAX + 1 per prefix, @done marking those
 * filled) is filled for a prefix when a home mark first meets it. */
static int wild_words(path_hit *ph, const char *t, size_t n, unsigned short *reach,
                      unsigned char *done)
{
    size_t w = 0, e, p, k;

    while (w < n) {
        while (w < n && wild_break((unsigned char)t[w]))
            w++;
        for (e = w; e < n && !wild_break((unsigned char)t[e]); e++)
            ;
        if (memchr(t + w, CHIO__WILD_ANY, e - w) != NULL ||
            memchr(t + w, CHIO__WILD_HOME, e - w) != NULL) {
            int home = memchr(t + w, CHIO__WILD_HOME, e - w) != NULL;
            for (p = w; p < e; p++) {
                if (!wild_start(t, w, p))
                    continue;
                for (k = 0; k < ph->g->nprefixes; k++) {
                    const char *f = ph->g->prefixes[k];
                    size_t m = strlen(f);
                    unsigned short *r = reach != NULL ? reach + k * (WILD_PREFIX_MAX + 1) : NULL;
                    if (m > WILD_PREFIX_MAX)
                        continue;
                    if (home && !done[k]) {
                        home_reach(f, m, r);
                        done[k] = 1;
                    }
                    if (wild_match(t + p, e - p, f, m, r)) {
                        ph->prefix = k;
                        return 1;
                    }
                }
            }
        }
        w = e;
    }
    return 0;
}

/* What chio__gp_check_wild_reading reads each wild reading with: the
 * home marks' reach, made for the first reading that holds one. */
typedef struct wild_scan {
    path_hit *ph;
    unsigned short *reach;
    unsigned char *done;
} wild_scan;

static int wild_reading(void *ctx, const char *d, size_t len, unsigned flags)
{
    wild_scan *ws = ctx;
    size_t np = ws->ph->g->nprefixes;

    (void)flags;
    if (memchr(d, CHIO__WILD_HOME, len) != NULL && ws->reach == NULL &&
        ((ws->reach = calloc(np, (WILD_PREFIX_MAX + 1) * sizeof(*ws->reach))) == NULL ||
         (ws->done = calloc(np, 1)) == NULL))
        return CHIO_ENOMEM;
    if (memchr(d, CHIO__WILD_ANY, len) != NULL || memchr(d, CHIO__WILD_HOME, len) != NULL)
        return wild_words(ws->ph, d, len, ws->reach, ws->done);
    return 0;
}

int chio__gp_check_wild_reading(path_hit *ph, const char *s, size_t n)
{
    wild_scan ws = {ph, NULL, NULL};
    int rc;

    if (!chio__shell_has_expansion(s, n))
        return 0;
    /* then, after a stray ')', with it read as the close */
    rc = chio__shell_each_empty_reading(s, n, CHIO__EMPTY_WILD, CHIO__EMPTY_REWIND, wild_reading,
                                        &ws);
    free(ws.reach);
    free(ws.done);
    return rc;
}
