/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/guard_path_readings.c - the forbidden_path guard's readings of
 * one string against its normalised prefixes (through guard_path.h):
 * the string whole as a path (its Windows and POSIX readings, and a
 * plain relative word that climbs, read by guard_path_climb.c), the
 * words of a command line and a short option's glued value, the lines
 * and fields of a text, the items of a list, the words percent- and
 * form-decoded, a shell's reading (quotes removed, $IFS) and its globs
 * and expansions read at worst. guard_path.c calls them on each value
 * and on each text a value decodes to; the other guard_path_*.c files
 * call them on the paths they join (a working directory and a word,
 * string literals) or expand (braces, homes). Uses core/normalize.h and
 * shell_words.c. No state, no locks; scratch space is on the stack for
 * short strings and malloc'ed (and freed) for long ones.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "guard_path.h"
#include "internal.h"
#include "normalize.h"
#include "shell_words.h"

/* Where a word of running text ends: whitespace, controls, shell and
 * prose punctuation, '@' (curl's "-d @/etc/passwd" reads that file) and
 * ':' (PATH lists, "--opt:value"). */
static int word_end(unsigned char c)
{
    return c <= 0x20 || c == 0x7f || (c != '\0' && strchr("'\"`;|&<>(){}[],=:@", c) != NULL);
}

/* The bytes of the word break at s[i] (@colon: whether ':' is one), or 0:
 * an ASCII one above, or a Unicode space (Python's split() splits
 * "cat\u00a0/etc/passwd" into two words). */
static size_t word_break(const char *s, size_t n, size_t i, int colon)
{
    unsigned char c = (unsigned char)s[i];

    if (c >= 0x80)
        return chio__space_at(s + i, n - i);
    return word_end(c) && (colon || c != ':') ? 1 : 0;
}

/* The end of the word starting at s[i], and in *@brk the bytes of the
 * break after it. A word starting "file:" runs on through ':' so that
 * "file://localhost/etc/passwd" is read as the URL it is. */
static size_t word_at(const char *s, size_t n, size_t i, size_t *brk)
{
    int colon = !(n - i >= 5 && strncasecmp(s + i, "file:", 5) == 0);
    size_t j = i;

    *brk = 1;
    while (j < n && (*brk = word_break(s, n, j, colon)) == 0)
        j++;
    if (j == n)
        *brk = 1;
    return j;
}

/* A short option with its value glued on ("-o/etc/x", "-I/root/inc"):
 * where the value starts, or 0. */
static size_t glued_option(const char *s, size_t n)
{
    size_t i = 1;

    if (n < 3 || s[0] != '-')
        return 0;
    while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '-'))
        i++;
    if (i > 1 && i + 1 < n && s[i] == '.' && strchr("/\\.", s[i + 1]) != NULL)
        return i; /* "-o../x", "-o./x" */
    return i < n && i > 1 && strchr("/\\~", s[i]) != NULL ? i : 0;
}

/* Does the value itself say "path" (not merely hold a '/' somewhere)? */
int chio__gp_strong_path(chio__key *key, const char *s, size_t n)
{
    size_t i;

    if (chio__key_names(key, CHIO__KEY_PATH))
        return 1; /* the key names a path */
    for (i = 0; i < n && s[i] == ' '; i++)
        ; /* " /x/../etc/.. " is a path to a tool that trims it */
    if (i < n && strchr("/\\~.", s[i]) != NULL)
        return 1;
    /* a file: URL, read whole (one with a control character denies) */
    return chio__starts_file_url(s, n);
}

/* Is @s text of several lines or tab-separated fields: a line break or a
 * tab, and no other control character (a NUL, which a C tool stops at,
 * keeps the whole value unreadable)? */
int chio__gp_line_text(const char *s, size_t n)
{
    size_t i;
    int breaks = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n' || c == '\r' || c == '\t')
            breaks = 1;
        else if (c < 0x20 || c == 0x7f)
            return 0;
    }
    return breaks;
}

/* Text of lines (chio__gp_line_text) that starts like a path ("// note\nx = 1",
 * "/etc/shadow\n"): each line or field read as strictly as a value of one
 * line is, which is what a tool that reads a line, or trims the value,
 * takes. 1, 0, CHIO_EINVAL or CHIO_ENOMEM. */
int chio__gp_check_lines(path_hit *ph, chio__key *key, const char *s, size_t n)
{
    size_t i = 0, e;
    int rc = 0;

    while (rc == 0 && i < n) {
        for (e = i; e < n && s[e] != '\n' && s[e] != '\r' && s[e] != '\t'; e++)
            ;
        if (e > i &&
            (chio__gp_strong_path(key, s + i, e - i) || !chio__gp_has_word_break(s + i, e - i)))
            rc = chio__gp_check_readings(ph, s + i, e - i);
        i = e + 1;
    }
    return rc;
}

/* Every reading of @s against the prefixes: 1 hit, CHIO_EINVAL unreadable,
 * CHIO_ENOMEM, 0. A plain relative word that climbs above its start, which
 * no reading places, is read from where it could land (guard_path_climb.c);
 * one that may land above a prefix stays unreadable. */
int chio__gp_check_readings(path_hit *ph, const char *s, size_t n)
{
    /* a forbidden prefix holds in every reading, Windows' and POSIX's */
    int rc = chio__path_readings(s, n, chio__gp_reading_forbidden, ph), climb;

    if (rc == CHIO_EINVAL && !ph->nomem && !ph->no_climb &&
        (climb = chio__gp_climb_readings(ph, s, n, chio__gp_reading_forbidden, ph)) !=
            CHIO__GP_NO_CLIMB)
        rc = climb == CHIO__GP_CLIMB_ABOVE ? CHIO_EINVAL : climb;
    if (ph->nomem || rc == CHIO_ENOMEM)
        return CHIO_ENOMEM;
    return rc > 0 ? 1 : rc < 0 ? CHIO_EINVAL : 0;
}

/* chio__gp_check_readings(), or with @hits_only 0 for a word that cannot be read
 * (a guessed reading's unreadable word says nothing: only its hits count). */
static int check_word(path_hit *ph, const char *s, size_t n, int hits_only)
{
    int rc = chio__gp_check_readings(ph, s, n);

    return hits_only && rc < 0 && rc != CHIO_ENOMEM ? 0 : rc;
}

int chio__gp_check_path_hits(path_hit *ph, const char *s, size_t n)
{
    return check_word(ph, s, n, 1);
}

/* Each word of @s that looks like a path ("cat /etc/passwd", "--f=/etc/x",
 * "a\n/etc/passwd"), and the value of a short option glued to it
 * ("-o/etc/x"), also when the whole value is that one word (@words 0);
 * @hits_only as check_word(). */
int chio__gp_check_words(path_hit *ph, const char *s, size_t n, int words, int hits_only)
{
    size_t i;
    int rc = 0;

    for (i = 0; rc == 0 && i < n;) {
        size_t brk = 1, j = words ? word_at(s, n, i, &brk) : n, opt;
        if (words && j > i && chio__path_candidate(NULL, s + i, j - i))
            rc = check_word(ph, s + i, j - i, hits_only);
        if (rc == 0 && j > i && (opt = glued_option(s + i, j - i)) > 0)
            rc = check_word(ph, s + i + opt, j - i - opt, hits_only);
        i = j + (words ? brk : 1);
    }
    return rc;
}

int chio__gp_has_word_break(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (word_break(s, n, i, 1) > 0)
            return 1;
    return 0;
}

static int is_break(char c)
{
    return c == '\n' || c == '\r' || c == '\t';
}

/* chio__gp_check_readings() of an item, a line break or a tab in it read as a
 * byte of a name: a multi-line command ("cp /w/{a,b} /tmp/\nls") or an
 * indented line of code is no path a control character makes
 * unreadable, while "x,/tmp/a\nb/../../etc/x" still climbs to /etc/x
 * (review 50); and, for hits, with its breaks removed, as a URL parser
 * removes them ("x,/etc\t/shadow"). */
static int check_item(path_hit *ph, const char *s, size_t n)
{
    char stack[PREFIX_STACK], *heap = NULL, *d = stack;
    size_t i, o = 0;
    int rc;

    for (i = 0; i < n && !is_break(s[i]); i++)
        ;
    if (i == n)
        return chio__gp_check_readings(ph, s, n);
    if (n + 1 > sizeof(stack) && (d = heap = malloc(n + 1)) == NULL)
        return CHIO_ENOMEM;
    for (i = 0; i < n; i++)
        d[i] = is_break(s[i]) ? '_' : s[i];
    rc = chio__gp_check_readings(ph, d, n);
    for (i = 0; rc == 0 && i < n; i++)
        if (!is_break(s[i]))
            d[o++] = s[i];
    if (rc == 0 && (rc = chio__gp_check_readings(ph, d, o)) == CHIO_EINVAL)
        rc = 0; /* a guess at a URL parser: only its hits count */
    free(heap);
    return rc;
}

/* The items of @s split at one separator only (',' ';' ' ' '='; not ':',
 * which a file: URL holds), each read whole when it looks like a path
 * (leading spaces dropped): a tool that splits a list, or at spaces only,
 * reads "x,/a\"b;c/../etc/x" as one path, which the word breaks at '"'
 * and ';' cut apart. */
int chio__gp_check_items(path_hit *ph, const char *s, size_t n)
{
    static const char seps[] = ",; =";
    size_t k, i, j;
    int rc = 0;

    for (k = 0; rc == 0 && k < sizeof(seps) - 1; k++) {
        if (memchr(s, seps[k], n) == NULL)
            continue;
        for (i = 0; rc == 0 && i < n; i = j + 1) {
            for (j = i; j < n && s[j] != seps[k]; j++)
                ;
            while (i < j && s[i] == ' ')
                i++;
            /* an item with no other break is a word, read already */
            if (j > i && chio__gp_has_word_break(s + i, j - i) &&
                chio__path_candidate(NULL, s + i, j - i))
                rc = check_item(ph, s + i, j - i);
        }
    }
    return rc;
}

int chio__gp_decoded(path_hit *ph, const char *s, size_t n,
                     int (*read)(path_hit *, const char *, size_t, void *), void *ctx)
{
    char stack[PREFIX_STACK], *heap = NULL, *d = stack;
    size_t len;
    int rc;

    if (!chio__has_escape(s, n))
        return 0;
    if (n + 1 > sizeof(stack) && (d = heap = malloc(n + 1)) == NULL)
        return CHIO_ENOMEM;
    len = chio__percent_decode(s, n, d);
    rc = read(ph, d, len, ctx);
    free(heap);
    return rc;
}

static int decoded_words(path_hit *ph, const char *d, size_t len, void *ctx)
{
    (void)ctx;
    return chio__gp_check_words(ph, d, len, chio__gp_has_word_break(d, len), 0);
}

/* The words of @s form-decoded ('+' a blank, then percent-decoded), as
 * application/x-www-form-urlencoded reads it ("cat+/etc/passwd" is "cat
 * /etc/passwd" to Python's unquote_plus; review 12). Only hits count. */
static int form_words(path_hit *ph, const char *s, size_t n)
{
    char stack[PREFIX_STACK], *heap = NULL, *d = stack;
    size_t i, len;
    int rc;

    if (memchr(s, '+', n) == NULL)
        return 0;
    if (n + 1 > sizeof(stack) && (d = heap = malloc(n + 1)) == NULL)
        return CHIO_ENOMEM;
    for (i = 0; i < n; i++)
        d[i] = s[i] == '+' ? ' ' : s[i];
    len = chio__percent_decode(d, n, d);
    rc = chio__gp_check_words(ph, d, len, chio__gp_has_word_break(d, len), 1);
    free(heap);
    return rc;
}

/* The words of @s percent-decoded once: a tool that decodes its argument
 * and hands it to a shell runs "cat%20/etc/passwd" as "cat /etc/passwd";
 * and form-decoded. */
int chio__gp_check_decoded_words(path_hit *ph, const char *s, size_t n)
{
    int rc = chio__gp_decoded(ph, s, n, decoded_words, NULL);

    return rc == 0 ? form_words(ph, s, n) : rc;
}

/* @d (@len bytes), the shell's reading of @s (chio__shell_reading: after
 * quote removal and $IFS; the one the path constraints add too), when it
 * differs from @s: the whole of it when it is one word, and each of its
 * words. */
int chio__gp_check_shell_text(path_hit *ph, const char *s, size_t n, const char *d, size_t len)
{
    int rc = 0, words;

    if (len != n || memcmp(d, s, n) != 0) {
        words = chio__gp_has_word_break(d, len);
        if (!words && chio__path_candidate(NULL, d, len))
            rc = chio__gp_check_readings(ph, d, len);
        if (rc == 0)
            rc = chio__gp_check_words(ph, d, len, words, 0);
    }
    return rc;
}

/* The shell's reading of @s (@n bytes) in *@r and *@rl: @s itself when
 * the shell reads it as written, else made in @stack (@cap bytes) or in a
 * block left in *@heap, which the caller frees (NULL when none). 0, or
 * CHIO_ENOMEM. */
int chio__gp_shell_text(const char *s, size_t n, char *stack, size_t cap, char **heap,
                        const char **r, size_t *rl)
{
    *heap = NULL;
    *r = s;
    *rl = n;
    if (chio__shell_may_differ(s, n) &&
        (*r = chio__shell_reading(s, n, stack, cap, heap, rl)) == NULL)
        return CHIO_ENOMEM;
    return 0;
}

int chio__gp_check_shell_reading(path_hit *ph, const char *s, size_t n)
{
    char stack[PREFIX_STACK], *heap;
    const char *d;
    size_t len;
    int rc = chio__gp_shell_text(s, n, stack, sizeof(stack), &heap, &d, &len);

    if (rc == 0)
        rc = chio__gp_check_shell_text(ph, s, n, d, len);
    free(heap);
    return rc;
}

/* The value as a shell may expand its globs and variables at worst
 * (chio__shell_glob_reading: "cat /tmp/.?/etc/passwd" is
 * "cat /tmp/../etc/passwd" to dash, "/tmp/$x/../etc/x" with $x unset
 * "/tmp//../etc/x"): a word of it, or an option's glued path, that is
 * under a prefix is a hit. Only hits count: the reading is a guess at the
 * worst, and one of its words that cannot be read says nothing (review
 * 49). */
int chio__gp_check_glob_reading(path_hit *ph, const char *s, size_t n)
{
    char stack[PREFIX_STACK], *heap = NULL, *d = stack;
    size_t len;
    int rc = 0, words, star_empty;

    if (memchr(s, '?', n) == NULL && memchr(s, '*', n) == NULL && memchr(s, '[', n) == NULL &&
        memchr(s, '$', n) == NULL && memchr(s, '`', n) == NULL)
        return 0;
    if (n + 1 > sizeof(stack) && (d = heap = malloc(n + 1)) == NULL)
        return CHIO_ENOMEM;
    /* a '*' read as a dot, then as nothing: ".*" and ".*." are both ".." */
    for (star_empty = 0; star_empty < 2 && rc == 0; star_empty++) {
        len = chio__shell_glob_reading(s, n, star_empty, d);
        words = chio__gp_has_word_break(d, len);
        if (!words && chio__path_candidate(NULL, d, len))
            rc = check_word(ph, d, len, 1);
        if (rc == 0 && words)
            rc = chio__gp_check_words(ph, d, len, 1, 1);
    }
    free(heap);
    return rc == CHIO_ENOMEM ? rc : rc > 0;
}
