/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/path_words.c - how path_prefix (constraints.c) splits a path
 * value into words: where a word ends, where the path in a word starts
 * (at once, or after a short option glued to it), and whether a value
 * names a home or a parent directory without a slash ("cat ~root",
 * "--out=..") and how Windows trims a segment's trailing dots (the
 * forbidden_path guard's reading). Lexical helpers only; the readings of each word are
 * normalize.c's. No state, no locks; scratch space on the stack, or
 * malloc'ed and freed before return for long values.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "normalize.h"
#include "path_words.h"
#include "shell_words.h"

#define WORD_STACK 512

/* An ASCII letter, whatever locale the host set (isalpha() follows it). */
static int ascii_alpha(char c)
{
    int l = chio__ascii_lower((unsigned char)c);

    return l >= 'a' && l <= 'z';
}

/* Where a word ends when a path value is read as words: white space
 * (the Unicode spaces too), shell separators and redirections, quotes,
 * and the list and option separators ",=:@" ("a,/etc/x", "--out=/etc/x",
 * "/w/bin:/etc", curl's "@/etc/passwd"). The bytes of the break at s[i],
 * or 0. */
size_t chio__path_word_break(const char *s, size_t n, size_t i)
{
    unsigned char c = (unsigned char)s[i];

    if (c >= 0x80)
        return chio__space_at(s + i, n - i);
    return c <= 0x20 || c == 0x7f || strchr("'\"`;|&<>,=:@", c) != NULL ? 1 : 0;
}

/* Does @s start with "file:" (any case)? Such a word runs on through ':'
 * and is read as the file URL it is (as the forbidden_path guard does). */
int chio__file_word(const char *s, size_t n)
{
    return n >= 5 && strncasecmp(s, "file:", 5) == 0;
}

/* Where the path in the word @w starts: at once when it starts like one
 * (/ \ ~ . .. file:, or a shell expansion: "$HOME/x" may be any path),
 * after a short option glued to it ("-o/etc/x",
 * "-o../x"); @n when the word does not start a path (a fragment such as
 * "types/x" of "node_modules/@types/x" is no path of its own). */
size_t chio__word_path_start(const char *w, size_t n)
{
    size_t i = 1;

    if (strchr("/\\~", w[0]) != NULL || chio__file_word(w, n) || chio__shell_expansion_at(w, n, 0))
        return 0;
    if (w[0] == '.' && (n == 1 || strchr("/\\.", w[1]) != NULL))
        return 0;
    if (w[0] != '-')
        return n;
    while (i < n && (ascii_alpha(w[i]) || chio__ascii_digit((unsigned char)w[i]) || w[i] == '-'))
        i++;
    if (i > 1 && i < n && w[i] == '.' && (i + 1 == n || strchr("/\\.", w[i + 1]) != NULL))
        return i; /* "-o../x", "-o./x" */
    return i > 1 && i < n && strchr("/\\~", w[i]) != NULL ? i : n;
}

/* Does @s hold a word break (path_word_break)? */
int chio__has_path_word_break(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (chio__path_word_break(s, n, i) > 0)
            return 1;
    return 0;
}

/* Does a word of @s start at @i: at the start, after a word break, or
 * after a short option ("-o..")? */
static int word_starts(const char *s, size_t n, size_t i)
{
    return i == 0 || chio__path_word_break(s, n, i - 1) > 0 ||
           (i >= 2 && s[i - 2] == '-' && ascii_alpha(s[i - 1]));
}

/* Does @s (@n bytes, as written) hold a word that names a home or a
 * parent directory without a slash: "~", "~root", "%7e" (a tilde once
 * decoded), or ".." standing alone ("cat ..", "--out=..", "-o~root")? */
static int home_or_parent_word_as(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (!word_starts(s, n, i))
            continue;
        if (s[i] == '~' || (n - i >= 3 && strncasecmp(s + i, "%7e", 3) == 0))
            return 1;
        if (n - i >= 2 && s[i] == '.' && s[i + 1] == '.' &&
            (i + 2 == n || chio__path_word_break(s, n, i + 2) > 0))
            return 1;
    }
    return 0;
}

/* @as on @s as written and percent-decoded once ("cat%20%7eroot" is
 * "cat ~root"): such a value is a path to a tool that hands it to a
 * shell, though it holds no slash. */
static int written_or_decoded(int (*as)(const char *, size_t), const char *s, size_t n)
{
    char stack[WORD_STACK], *heap = NULL, *d = stack;
    int rc = as(s, n);

    if (rc || !chio__has_escape(s, n))
        return rc;
    if (n + 1 > sizeof(stack) && (d = heap = malloc(n + 1)) == NULL)
        return 1; /* out of memory: read it as a path (fails closed) */
    rc = as(d, chio__percent_decode(s, n, d));
    free(heap);
    return rc;
}

int chio__home_or_parent_word(const char *s, size_t n)
{
    return written_or_decoded(home_or_parent_word_as, s, n);
}

/* The lone parameter's reading is path_params.c's (review 20 F6, review
 * 21 F5 and F11, review 22 P1, P2, P4, P5, P11). */
int chio__expansion_word(const char *s, size_t n)
{
    return written_or_decoded(chio__lone_param_reading, s, n);
}

/* @p (normalised, @len bytes) as Windows reads it after its dot segments
 * (Microsoft's "File path formats"): a segment ending in one '.' loses it
 * and the last one its trailing dots and spaces ("/etc./passwd" is
 * "/etc/passwd", "/root. " is "/root"), into @t (room for @len); its
 * length. */
size_t chio__windows_trimmed(const char *p, size_t len, char *t)
{
    size_t i, j, k, o = 0;

    for (i = 0; i < len; i = j + 1) {
        for (j = i; j < len && p[j] != '/'; j++)
            ;
        k = j - i;
        if (j == len)
            while (k > 0 && (p[i + k - 1] == '.' || p[i + k - 1] == ' '))
                k--;
        else if (k >= 2 && p[j - 1] == '.' && p[j - 2] != '.')
            k--;
        memcpy(t + o, p + i, k);
        o += k;
        if (j < len)
            t[o++] = '/';
    }
    return o;
}
