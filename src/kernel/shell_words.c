/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/shell_words.c - an argument as a POSIX shell reads it, for a
 * tool that hands its arguments to one ("sh -c 'cat $path'"): quote
 * removal and $IFS (chio__shell_unquote, the one reading both the
 * forbidden_path guard and the path and domain constraints add), and the
 * expansions the kernel cannot resolve (globs, braces, parameters,
 * command substitution), which make a segment that could become ".."
 * ambiguous (chio__shell_dot_ambiguous). Lexical only; the readings of
 * what comes out are normalize.c's. No state, no locks; scratch space on
 * the stack, or malloc'ed by the caller's choice (chio__shell_reading).
 */
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "shell_words.h"

int chio__shell_may_differ(const char *s, size_t n)
{
    return memchr(s, '\'', n) != NULL || memchr(s, '"', n) != NULL || memchr(s, '\\', n) != NULL ||
           memchr(s, '$', n) != NULL;
}

size_t chio__shell_unquote(const char *s, size_t n, char *out)
{
    size_t i = 0, o = 0;

    while (i < n) {
        if (s[i] == '\'' || s[i] == '"') {
            i++;
        } else if (s[i] == '\\') {
            if (i + 1 < n && s[i + 1] != '\n')
                out[o++] = s[i + 1];
            i += 2;
        } else if (n - i >= 4 && memcmp(s + i, "$IFS", 4) == 0) {
            out[o++] = ' ';
            i += 4;
        } else if (n - i >= 6 && memcmp(s + i, "${IFS}", 6) == 0) {
            out[o++] = ' ';
            i += 6;
        } else {
            out[o++] = s[i++];
        }
    }
    out[o] = '\0';
    return o;
}

const char *chio__shell_reading(const char *s, size_t n, char *stack, size_t cap, char **heap,
                                size_t *len)
{
    char *d = stack;

    *heap = NULL;
    if (n + 1 > cap && (d = *heap = malloc(n + 1)) == NULL)
        return NULL;
    *len = chio__shell_unquote(s, n, d);
    return d;
}

static int name_char(unsigned char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || chio__ascii_digit(c);
}

int chio__shell_expansion_at(const char *s, size_t n, size_t i)
{
    unsigned char c;

    if (s[i] == '`')
        return 1;
    if (s[i] != '$' || i + 1 >= n)
        return 0;
    c = (unsigned char)s[i + 1];
    /* $name $1 $* ... ${..} $(..) $'..' (ANSI-C quoting) $".." */
    return name_char(c) || strchr("*@#?-$!{('\"", c) != NULL;
}

/* Where a segment ends, for the dot check: a separator, white space, or a
 * shell or list separator (brace alternatives "{..,x}" are cut apart at
 * ',', so each is a segment of its own). */
static size_t segment_break(const char *s, size_t n, size_t i)
{
    unsigned char c = (unsigned char)s[i];

    if (c >= 0x80)
        return chio__space_at(s + i, n - i);
    return c <= 0x20 || c == 0x7f || strchr("/\\;|&<>,=:@", c) != NULL ? 1 : 0;
}

/* The end of the expansion that starts at s[i] (chio__shell_expansion_at),
 * within the segment ending at @e: a name or one special character, or up
 * to the closing '}', ')', quote or backtick (the segment's end when
 * there is none). */
static size_t expansion_end(const char *s, size_t e, size_t i)
{
    char close = 0;

    if (s[i] == '`') {
        close = '`';
        i++;
    } else {
        i++; /* the '$' */
        if (name_char((unsigned char)s[i]) && !chio__ascii_digit((unsigned char)s[i])) {
            while (i < e && name_char((unsigned char)s[i]))
                i++;
            return i;
        }
        close = s[i] == '{' ? '}' : s[i] == '(' ? ')' : s[i] == '\'' ? '\'' : s[i] == '"' ? '"' : 0;
        if (close == 0)
            return i + 1; /* $1 $* $@ ... */
        i++;
    }
    while (i < e && s[i] != close)
        i++;
    return i < e ? i + 1 : e;
}

/* The end of a bracket expression starting at s[i] ('['), within @e, or
 * 0 when it is not closed (a shell reads the '[' as itself). */
static size_t bracket_end(const char *s, size_t e, size_t i)
{
    size_t j = i + 1;

    if (j < e && (s[j] == '!' || s[j] == '^'))
        j++;
    if (j < e && s[j] == ']')
        j++;
    while (j < e && s[j] != ']')
        j++;
    return j < e ? j + 1 : 0;
}

/* Can the bracket expression s[i, j) match a '.': listed, in a range, in
 * a class ("[[:punct:]]"), or not listed in a negated one ("[!a]")? */
static int bracket_dot(const char *s, size_t i, size_t j)
{
    size_t k = i + 1, end = j - 1;
    int neg = 0, dot = 0;

    if (k < end && (s[k] == '!' || s[k] == '^')) {
        neg = 1;
        k++;
    }
    for (; k < end; k++) {
        if (s[k] == '.' || (s[k] == '[' && k + 1 < end && s[k + 1] == ':'))
            dot = 1;
        else if (k + 2 < end && s[k + 1] == '-' && s[k] <= '.' && s[k + 2] >= '.')
            dot = 1;
    }
    return neg || dot; /* negated: read as able to (fails closed) */
}

/* The positions of ".." a pattern read so far may have matched: bit p set
 * when p dots are matched. */
#define AT(p) (1u << (p))

/* Could the segment s[a, e) become ".." once a shell expands it? Only a
 * segment holding a glob, a brace or an expansion is asked. */
static int segment_may_climb(const char *s, size_t a, size_t e)
{
    unsigned at = AT(0), next;
    int expands = 0;
    size_t i = a, j;

    while (i < e && at != 0) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\'' || c == '"' || c == '}') {
            i++; /* quotes and a brace's end add no character */
            continue;
        }
        if (chio__shell_expansion_at(s, e, i) || c == '{') {
            /* any text, or none, dots included */
            expands = 1;
            next = at & AT(0) ? AT(0) | AT(1) | AT(2) : at & AT(1) ? AT(1) | AT(2) : at;
            i = c == '{' ? i + 1 : expansion_end(s, e, i);
        } else if (c == '*') {
            /* any run, but not the leading dot of a name */
            expands = 1;
            next = at | (at & AT(1) ? AT(2) : 0);
            i++;
        } else if (c == '?' || (c == '[' && (j = bracket_end(s, e, i)) > 0)) {
            /* one character; '?' not a leading dot, a bracket may be one
             * (dash matches ".[.]" and "[.][.]" to "..") */
            expands = 1;
            if (c == '[' && !bracket_dot(s, i, j))
                return 0;
            next = (at & AT(1) ? AT(2) : 0) | (c == '[' && (at & AT(0)) ? AT(1) : 0);
            i = c == '?' ? i + 1 : j;
        } else if (c == '.') {
            next = (at & AT(0) ? AT(1) : 0) | (at & AT(1) ? AT(2) : 0);
            i++;
        } else {
            return 0; /* a character that is no dot: never ".." */
        }
        at = next;
    }
    return expands && (at & AT(2)) != 0;
}

int chio__shell_dot_ambiguous(const char *s, size_t n)
{
    size_t a = 0, e, b = 1;

    if (memchr(s, '?', n) == NULL && memchr(s, '*', n) == NULL && memchr(s, '[', n) == NULL &&
        memchr(s, '{', n) == NULL && memchr(s, '$', n) == NULL && memchr(s, '`', n) == NULL)
        return 0;
    while (a < n) {
        for (e = a; e < n && (b = segment_break(s, n, e)) == 0; e++)
            ;
        if (e > a && segment_may_climb(s, a, e))
            return 1;
        a = e < n ? e + b : n;
    }
    return 0;
}
