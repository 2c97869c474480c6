/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/guard_path_shell.c - the forbidden_path guard's readings of what
 * a shell expands (review 50): braces as bash expands them
 * (shell_braces.c) and as a shell that reads the text again would,
 * homes ("~root", "$HOME") at worst, and globs matched against the
 * prefixes as patterns (glob_reach.c). Each is a reading guard_path.c
 * holds against the prefixes, through guard_path.h. No state, no locks;
 * scratch space on the stack for short strings, malloc'ed for long ones.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "constraint_domain.h"
#include "glob_reach.h"
#include "guard_path.h"
#include "internal.h"
#include "normalize.h"
#include "shell_braces.h"
#include "shell_words.h"

/* A break between words for the tilde and glob readings: white space,
 * the shell's operators, quotes, braces and the separators of a list or
 * an option ('[' is not: it opens a bracket of a glob). */
static int gt_break(unsigned char c)
{
    return c <= 0x20 || c == 0x7f || strchr(";|&<>(){},=:@'\"`", c) != NULL;
}

/* Could the glob @w (@wl bytes: chio__glob_word's reading of a word,
 * its ".." read first) match a path under a prefix (glob_reach.c)? 1
 * (the prefix noted), 0, CHIO_ENOMEM. */
static int glob_word_hit(path_hit *ph, const char *w, size_t wl)
{
    char stack[PREFIX_STACK], *heap = NULL, *d = stack;
    size_t dl, i;
    int rc = 0;

    if (wl + 2 > sizeof(stack) && (d = heap = malloc(wl + 2)) == NULL)
        return CHIO_ENOMEM;
    if (chio__path_normalize(w, wl, 0, d, wl + 2, &dl) != 0) {
        memcpy(d, w, wl);
        dl = wl;
    }
    for (i = 0; dl > 0 && d[0] == '/' && rc == 0 && i < ph->g->nprefixes; i++) {
        if (ph->g->norm_prefixes[i] == NULL)
            continue;
        rc = chio__glob_may_reach(d, dl, ph->g->norm_prefixes[i], ph->g->norm_lens[i],
                                  ph->g->norm_open[i]);
        if (rc > 0)
            ph->prefix = i;
    }
    free(heap);
    return rc;
}

/* Does the word [@w, @w + @n) hold a glob or an extglob group? */
static int globby(const char *w, size_t n)
{
    return memchr(w, '?', n) != NULL || memchr(w, '*', n) != NULL || memchr(w, '[', n) != NULL ||
           memchr(w, '(', n) != NULL;
}

/* The end of the word of @t that starts at @i, for the glob reading: a
 * bracket, "${..}" and an extglob group run on through breaks. */
static size_t glob_word_end(const char *t, size_t n, size_t i)
{
    size_t k;

    while (i < n) {
        if (t[i] == '[' && (k = chio__glob_bracket_end(t, n, i)) > 0 && k != SIZE_MAX) {
            i = k;
        } else if (i + 1 < n && t[i + 1] == '(' && strchr("?*+@!", t[i]) != NULL) {
            size_t depth = 0;
            for (k = i + 1; k < n; k++)
                if (t[k] == '(')
                    depth++;
                else if (t[k] == ')' && --depth == 0)
                    break;
            i = k < n ? k + 1 : n;
        } else if (t[i] == '$' && i + 1 < n && t[i + 1] == '{') {
            for (k = i + 2; k < n && t[k] != '}'; k++)
                ;
            i = k < n ? k + 1 : n;
        } else if (gt_break((unsigned char)t[i])) {
            return i;
        } else {
            i++;
        }
    }
    return n;
}

/* Each word of @t (@n bytes) that holds a glob, as chio__glob_word
 * reads it (expansions empty, extglob groups '*'), and again with the
 * segments dash could glob to ".." read so: a hit under a prefix is 1. */
static int check_glob_words(path_hit *ph, const char *t, size_t n)
{
    char stack[PREFIX_STACK], *heap = NULL, *g = stack;
    size_t i, j, gl;
    int rc = 0, dotdot;

    if (n + 1 > sizeof(stack) && (g = heap = malloc(n + 1)) == NULL)
        return CHIO_ENOMEM;
    for (i = 0; rc == 0 && i < n; i = j + 1) {
        j = glob_word_end(t, n, i);
        if (j == i || !globby(t + i, j - i))
            continue;
        for (dotdot = 0; rc == 0 && dotdot < 2; dotdot++) {
            gl = chio__glob_word(t + i, j - i, dotdot, g);
            if (gl > 0 && g[0] == '/' && globby(g, gl))
                rc = glob_word_hit(ph, g, gl);
        }
    }
    free(heap);
    return rc;
}

int chio__gp_check_glob_words(path_hit *ph, const char *t, size_t n)
{
    return check_glob_words(ph, t, n);
}

/* A tilde reading's words read for hits, and its globs as patterns. */
static int home_words(void *ctx, const char *t, size_t tl)
{
    path_hit *ph = ctx;
    int rc = chio__gp_check_words(ph, t, tl, 1, 1);

    return rc == 0 ? check_glob_words(ph, t, tl) : rc;
}

/* The value as a shell expands its homes and globs (review 50's outside
 * reviewers: "cat ~root/.ssh/id_rsa" is /root/.ssh/id_rsa to bash, "cat
 * /e?c/passwd" and "cat /[e]tc/passwd" glob to /etc/passwd, "cat
 * ~systemd-network/etc/passwd" is //etc/passwd): quotes removed, homes
 * as chio__shell_tilde_reading() writes them (named homes under /home,
 * then at "/"), each word read for hits, and each word holding a glob
 * matched against the prefixes as a pattern. Only hits count: a guess at
 * the worst (a glob may match nothing, a home may be elsewhere). */
int chio__gp_check_tilde_and_glob(path_hit *ph, const char *s, size_t n)
{
    char stack[PREFIX_STACK], *heap;
    const char *d;
    size_t len;
    int rc = 0, home = memchr(s, '~', n) != NULL || memchr(s, '$', n) != NULL;

    if (!home && !globby(s, n))
        return 0;
    if ((d = chio__shell_reading(s, n, stack, sizeof(stack), &heap, &len)) == NULL)
        return CHIO_ENOMEM;
    rc = check_glob_words(ph, d, len);
    if (rc == 0 && home && (rc = chio__shell_each_tilde_reading(d, len, home_words, ph)) == -1)
        rc = CHIO_ENOMEM;
    free(heap);
    return rc;
}

static int decoded_homes(path_hit *ph, const char *d, size_t len, void *ctx)
{
    (void)ctx;
    return chio__gp_check_tilde_and_glob(ph, d, len);
}

/* chio__gp_check_tilde_and_glob of @s percent-decoded once: "cat
 * /e%3Fc/passwd" and "%7Eroot/.ssh/x" to a tool that decodes its argument
 * for a shell. */
int chio__gp_check_decoded_homes(path_hit *ph, const char *s, size_t n)
{
    return chio__gp_decoded(ph, s, n, decoded_homes, NULL);
}

/* Is @s (@n bytes) a JSON object or array, whose strings embedded_hit
 * reads one by one? */
static int json_container(const char *s, size_t n)
{
    chio_json_doc *doc = NULL;
    int rc = chio__embedded_parse(s, n, 0, &doc);

    chio_json_doc_free(doc);
    return rc == 1;
}

/* chio__shell_brace_expand of @s into *@e: 1 with *@e set, 0 for none,
 * CHIO_ENOMEM, or CHIO_EINVAL for one past its bounds (noted in @ph). An
 * expansion past its bounds cannot be read and denies, except in a JSON
 * object or array (@whole): bash splits those at their commas into
 * fragments that join no new path, and embedded_hit reads each of their
 * strings, braces and all. */
static int brace_expand(path_hit *ph, const char *whole, size_t wn, const char *s, size_t n,
                        char **e, size_t *len)
{
    int rc = chio__shell_brace_expand(s, n, e, len);

    if (rc == CHIO__BRACES_NOMEM)
        return CHIO_ENOMEM;
    if (rc == CHIO__BRACES_TOO_LARGE) {
        if (json_container(whole, wn))
            return 0;
        ph->braces_too_large = 1;
        return CHIO_EINVAL;
    }
    return rc;
}

/* A guess at what a shell that reads @s again expands (review 50's
 * second pass): quotes and backslashes removed and $IFS a blank (the text
 * of "bash -c '..'", "eval '..'", "echo '..' | bash"), and the markers of
 * each substitution made blanks ("$(cat /e{t,}c/x)" and backticks: bash
 * expands the braces of a command when it runs it), then brace-expanded.
 * Only hits count: the guess may read braces a shell keeps as written. */
static int check_brace_guess(path_hit *ph, const char *whole, size_t wn, const char *s, size_t n)
{
    char stack[PREFIX_STACK], *heap, *t, *e;
    size_t len, elen;
    int rc;

    if (memchr(s, '{', n) == NULL)
        return 0;
    if ((t = chio__shell_guess_text(s, n, stack, sizeof(stack), &heap, &len)) == NULL)
        return CHIO_ENOMEM;
    rc = brace_expand(ph, whole, wn, t, len, &e, &elen);
    if (rc == 1) {
        rc = chio__gp_check_words(ph, e, elen, 1, 1);
        if (rc == 0)
            rc = chio__gp_check_glob_reading(ph, e, elen);
        if (rc == 0)
            rc = chio__gp_check_tilde_and_glob(ph, e, elen);
        free(e);
    }
    free(heap);
    return rc;
}

/* The whole value, for the guess over its decoded text. */
typedef struct whole_value {
    const char *s;
    size_t n;
} whole_value;

static int decoded_guess(path_hit *ph, const char *d, size_t len, void *ctx)
{
    const whole_value *w = ctx;

    return check_brace_guess(ph, w->s, w->n, d, len);
}

/* The value as bash expands its braces (shell_braces.c: "cat
 * /e{t,}c/passwd" is "cat /etc/passwd /ec/passwd"; review 50), read as the
 * value itself is: its words, then quotes and $IFS, globs and percent
 * escapes over it. The expansion is exact, so a word of it that cannot be
 * read denies. Then the guesses of check_brace_guess, of the value and of
 * its percent-decoded text (a tool that decodes "%7B" hands a shell '{'). */
int chio__gp_check_brace_reading(path_hit *ph, const char *s, size_t n)
{
    whole_value whole = {s, n};
    char *e;
    size_t len;
    int rc = brace_expand(ph, s, n, s, n, &e, &len);

    if (rc == 1) {
        rc = chio__gp_check_words(ph, e, len, chio__gp_has_word_break(e, len), 0);
        if (rc == 0)
            rc = chio__gp_check_shell_reading(ph, e, len);
        if (rc == 0)
            rc = chio__gp_check_glob_reading(ph, e, len);
        if (rc == 0)
            rc = chio__gp_check_decoded_words(ph, e, len);
        if (rc == 0)
            rc = chio__gp_check_tilde_and_glob(ph, e, len);
        free(e);
    }
    if (rc == 0)
        rc = check_brace_guess(ph, s, n, s, n);
    if (rc == 0)
        rc = chio__gp_decoded(ph, s, n, decoded_guess, &whole);
    return rc;
}
