/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/guard_path.c - the forbidden_path guard's matching (see
 * guard_scan.h): the readings of a string a forbidden prefix must catch
 * (the path as written, decoded, NFKC-folded, Windows forms, the words of
 * a command line, the lines of a text, a shell's reading, paths inside
 * JSON a string holds), each held against the guard's normalised
 * prefixes by guard_path_match.c; what a shell expands (braces, homes,
 * globs) is read in guard_path_shell.c, through guard_path.h. Uses
 * core/normalize.h, path_words.c and shell_words.c.
 * No state, no locks; scratch space is on the stack for short strings
 * and malloc'ed (and freed) for long ones.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "constraint_domain.h"
#include "guard_path.h"
#include "guard_scan.h"
#include "internal.h"
#include "kernel_internal.h"
#include "normalize.h"
#include "glob_reach.h"
#include "path_words.h"
#include "shell_ansi.h"
#include "shell_assign.h"
#include "shell_braces.h"
#include "shell_words.h"

/* ---- forbidden_path ------------------------------------------------------------------------- */

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
static int strong_path(chio__key *key, const char *s, size_t n)
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
static int line_text(const char *s, size_t n)
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

static int check_readings(path_hit *ph, const char *s, size_t n);

/* Text of lines (line_text) that starts like a path ("// note\nx = 1",
 * "/etc/shadow\n"): each line or field read as strictly as a value of one
 * line is, which is what a tool that reads a line, or trims the value,
 * takes. 1, 0, CHIO_EINVAL or CHIO_ENOMEM. */
static int check_lines(path_hit *ph, chio__key *key, const char *s, size_t n)
{
    size_t i = 0, e;
    int rc = 0;

    while (rc == 0 && i < n) {
        for (e = i; e < n && s[e] != '\n' && s[e] != '\r' && s[e] != '\t'; e++)
            ;
        if (e > i && (strong_path(key, s + i, e - i) || !chio__gp_has_word_break(s + i, e - i)))
            rc = check_readings(ph, s + i, e - i);
        i = e + 1;
    }
    return rc;
}

/* Every reading of @s against the prefixes: 1 hit, CHIO_EINVAL unreadable,
 * CHIO_ENOMEM, 0. A plain relative word that climbs above its start, which
 * no reading places, is read from where it could land (guard_path_climb.c);
 * one that may land above a prefix stays unreadable. */
static int check_readings(path_hit *ph, const char *s, size_t n)
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

/* check_readings(), or with @hits_only 0 for a word that cannot be read
 * (a guessed reading's unreadable word says nothing: only its hits count). */
static int check_word(path_hit *ph, const char *s, size_t n, int hits_only)
{
    int rc = check_readings(ph, s, n);

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

/* check_readings() of an item, a line break or a tab in it read as a
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
        return check_readings(ph, s, n);
    if (n + 1 > sizeof(stack) && (d = heap = malloc(n + 1)) == NULL)
        return CHIO_ENOMEM;
    for (i = 0; i < n; i++)
        d[i] = is_break(s[i]) ? '_' : s[i];
    rc = check_readings(ph, d, n);
    for (i = 0; rc == 0 && i < n; i++)
        if (!is_break(s[i]))
            d[o++] = s[i];
    if (rc == 0 && (rc = check_readings(ph, d, o)) == CHIO_EINVAL)
        rc = 0; /* a guess at a URL parser: only its hits count */
    free(heap);
    return rc;
}

/* The items of @s split at one separator only (',' ';' ' ' '='; not ':',
 * which a file: URL holds), each read whole when it looks like a path
 * (leading spaces dropped): a tool that splits a list, or at spaces only,
 * reads "x,/a\"b;c/../etc/x" as one path, which the word breaks at '"'
 * and ';' cut apart. */
static int check_items(path_hit *ph, const char *s, size_t n)
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
static int check_shell_text(path_hit *ph, const char *s, size_t n, const char *d, size_t len)
{
    int rc = 0, words;

    if (len != n || memcmp(d, s, n) != 0) {
        words = chio__gp_has_word_break(d, len);
        if (!words && chio__path_candidate(NULL, d, len))
            rc = check_readings(ph, d, len);
        if (rc == 0)
            rc = chio__gp_check_words(ph, d, len, words, 0);
    }
    return rc;
}

/* The shell's reading of @s (@n bytes) in *@r and *@rl: @s itself when
 * the shell reads it as written, else made in @stack (@cap bytes) or in a
 * block left in *@heap, which the caller frees (NULL when none). 0, or
 * CHIO_ENOMEM. */
static int shell_text(const char *s, size_t n, char *stack, size_t cap, char **heap, const char **r,
                      size_t *rl)
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
    int rc = shell_text(s, n, stack, sizeof(stack), &heap, &d, &len);

    if (rc == 0)
        rc = check_shell_text(ph, s, n, d, len);
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

static int forbidden_hit(const chio__guard_reg *g, chio__key *key, int quote_key, const char *s,
                         size_t n, char *details, size_t cap, int depth);

/* The leaves of JSON held in a string value, each read as an argument of
 * its own (embedded_hit). */
typedef struct embedded_scan {
    const chio__guard_reg *g;
    char *details;
    size_t cap;
    int depth; /* layers of JSON-in-a-string above these leaves */
} embedded_scan;

static int embedded_leaf(void *ctx, chio__key *key, const char *s, size_t n, int is_key)
{
    embedded_scan *es = ctx;

    (void)is_key;
    return forbidden_hit(es->g, key, 0, s, n, es->details, es->cap, es->depth);
}

/* A string value that is itself JSON ("{\"path\": \"\\u002fetc\\u002fpasswd\"}",
 * options or a body a tool parses) holds paths its text does not show
 * (a JSON escape, "\u002f", is a '/' to the parser): each of its string
 * values and keys is read as an argument. The details name the outer
 * argument (@what) only: the inner keys are not checked for secrets. One
 * that cannot be read unambiguously (a duplicate key, too many layers)
 * denies. */
static int embedded_hit(const chio__guard_reg *g, chio__key *key, const char *s, size_t n,
                        const char *what, char *details, size_t cap, int depth)
{
    char inner[256];
    embedded_scan es = {g, inner, sizeof(inner), depth + 1};
    const char *tail;
    int rc;

    inner[0] = '\0';
    rc = chio__each_embedded(s, n, key, depth, embedded_leaf, NULL, &es);
    if (rc == CHIO__EMBEDDED_AMBIGUOUS) {
        snprintf(details, cap, "%s holds JSON that cannot be read unambiguously", what);
        return -1;
    }
    if (rc == CHIO_ENOMEM)
        return rc;
    if (rc != 0) {
        tail = strstr(inner, " is under forbidden prefix");
        snprintf(details, cap, "%s holds JSON with a path %s", what,
                 tail != NULL ? tail + 4 : "that cannot be read unambiguously");
    }
    return rc;
}

int chio__forbidden_path_hit(const chio__guard_reg *g, chio__key *key, int quote_key, const char *s,
                             size_t n, char *details, size_t cap)
{
    return forbidden_hit(g, key, quote_key, s, n, details, cap, 0);
}

/* The value @s as written and in every reading (forbidden_hit without
 * the JSON it may hold); @what names it in @details. */
static int forbidden_text(const chio__guard_reg *g, chio__key *key, const char *what, const char *s,
                          size_t n, char *details, size_t cap, int level, int hits);

/* Levels of decoding read (decoded_texts): an ANSI-C string that makes
 * another, as in "bash -c $'cat $\\'\\\\x2fetc/x\\''", takes two. */
#define DECODE_LEVELS 2

/* What forbidden_text needs to read a decoded text (decoded_text). */
typedef struct {
    const chio__guard_reg *g;
    chio__key *key;
    const char *what;
    char *details;
    size_t cap;
    int level;
    int hits; /* only hits count (the empty reading and what it decodes) */
} decode_ctx;

static int decoded_text(void *ctx, const char *t, size_t len)
{
    decode_ctx *dc = ctx;
    return forbidden_text(dc->g, dc->key, dc->what, t, len, dc->details, dc->cap, dc->level + 1,
                          dc->hits);
}

/* @s with its ANSI-C strings decoded, each way
 * (chio__shell_each_ansi_reading), read as a value of its own with every
 * reading above: "cat /e$'t'c/shadow" is "cat /etc/shadow" to bash,
 * "cat $'/et'?/x" a glob under /etc/. */
static int decoded_texts(const chio__guard_reg *g, chio__key *key, const char *what, const char *s,
                         size_t n, char *details, size_t cap, int level, int hits)
{
    decode_ctx dc = {g, key, what, details, cap, level, hits};
    return chio__shell_each_ansi_reading(s, n, decoded_text, &dc);
}

/* Text of lines (line_text) with its tabs and line breaks removed, as a
 * WHATWG URL parser removes them ("/et\nc/shadow" is "/etc/shadow" to
 * new URL()), read as a value of its own; only its hits count. */
static int unbroken_text(const chio__guard_reg *g, chio__key *key, const char *what, const char *s,
                         size_t n, char *details, size_t cap, int level)
{
    char stack[PREFIX_STACK], *heap = NULL, *d = stack;
    size_t i, o = 0;
    int rc;

    if (n + 1 > sizeof(stack) && (d = heap = malloc(n + 1)) == NULL)
        return CHIO_ENOMEM;
    for (i = 0; i < n; i++)
        if (s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            d[o++] = s[i];
    rc = forbidden_text(g, key, what, d, o, details, cap, level + 1, 1);
    free(heap);
    return rc;
}

/* Does empty_text read @s otherwise: an expansion, or a '#' a quoted
 * blank may keep inside its word ("cat /x\\ #/../etc/x")? */
static int empty_may_differ(const char *s, size_t n)
{
    return chio__shell_has_expansion(s, n) ||
           (memchr(s, '#', n) != NULL && (memchr(s, '\\', n) != NULL ||
                                          memchr(s, '\'', n) != NULL || memchr(s, '"', n) != NULL));
}

/* @s with every expansion that may expand to nothing read as nothing
 * (chio__shell_unquote_empty: "cat /$(:)etc/x", "cat /\"$@\"etc/x" and
 * "cat /${x:+y}etc/x" read "/etc/x" when they run), read as a value of
 * its own; only its hits count, as it is a guess at the worst (so
 * "cat $HOME/../x", "/../x" read so, is not denied for it). */
/* What empty_text reads each empty reading with. */
typedef struct empty_scan {
    const chio__guard_reg *g;
    chio__key *key;
    const char *what, *s;
    size_t n;
    char *details;
    size_t cap;
    int level;
} empty_scan;

static int empty_reading(void *ctx, const char *t, size_t len, unsigned flags)
{
    const empty_scan *es = ctx;

    if (flags & CHIO__EMPTY_TOO_DEEP) {
        snprintf(es->details, es->cap, "%s nests its expansions past what the guard reads",
                 es->what);
        return 1;
    }
    if (len == es->n && memcmp(t, es->s, len) == 0)
        return 0;
    return forbidden_text(es->g, es->key, es->what, t, len, es->details, es->cap, es->level + 1, 1);
}

static int empty_text(const chio__guard_reg *g, chio__key *key, const char *what, const char *s,
                      size_t n, char *details, size_t cap, int level)
{
    empty_scan es = {g, key, what, s, n, details, cap, level};

    /* then, after a stray ')', with it read as the close; then, when a
     * blank is quoted, with its word kept whole ("cat /x\\ #/../etc/x") */
    return chio__shell_each_empty_reading(s, n, 0, CHIO__EMPTY_REWIND | CHIO__EMPTY_JOIN,
                                          empty_reading, &es);
}

/* The assignments of one name a reading keeps a value from (above that,
 * only the latest). */
#define ASSIGN_PICKS 8
/* The bytes of those readings read beyond the latest one. */
#define ASSIGN_READ_MAX ((size_t)8 << 20)

/* @s with the variables it assigns in place of their references
 * (chio__shell_assigned_reading: "x=etc; cat /$x/shadow" is
 * "cat /etc/shadow"), read as a value of its own; only its hits count.
 * A reading past its bound denies, as a value the guard cannot read. */
static int assigned_one(const chio__guard_reg *g, chio__key *key, const char *what, const char *s,
                        size_t n, char *details, size_t cap, int level)
{
    char *d, *latest = NULL;
    size_t len, latest_len = 0, read = 0;
    unsigned most = 0;
    int rc = 0, pick;

    /* each name's latest value, then kept from its first, second ..
     * assignment on (at most ASSIGN_PICKS): scope and branches are not
     * followed, so any of them may be the one a later word sees. A pick
     * that reads as the latest is not read again; past ASSIGN_READ_MAX
     * bytes of picks the value is refused rather than read in part. */
    for (pick = -1; rc == 0 && pick < ASSIGN_PICKS && (pick < 0 || (unsigned)pick + 1 < most);
         pick++) {
        rc = chio__shell_assigned_reading(s, n, pick, &d, &len, &most);
        if (rc == 1 && latest != NULL && len == latest_len && memcmp(d, latest, len) == 0) {
            free(d);
            rc = 0;
            continue;
        }
        if (rc == CHIO_ETOOBIG || (rc == 1 && pick >= 0 && (read += len) > ASSIGN_READ_MAX)) {
            snprintf(details, cap, "%s expands its variables past what the guard reads", what);
            free(d);
            rc = 1;
            break;
        }
        if (rc == 1)
            rc = forbidden_text(g, key, what, d, len, details, cap, level + 1, 1);
        if (pick < 0) {
            latest = d;
            latest_len = len;
        } else {
            free(d);
        }
    }
    free(latest);
    return rc;
}

/* assigned_one over the value, then over the text a second shell reads
 * (chio__shell_inner_text; review 21 F4: "bash -c 'x=etc; cat
 * /$x/shadow'", eval, "| bash", "sh -c 'cat /$1/shadow' _ etc"). */
static int assigned_text(const chio__guard_reg *g, chio__key *key, const char *what, const char *s,
                         size_t n, char *details, size_t cap, int level)
{
    char *t;
    size_t tl;
    int rc = assigned_one(g, key, what, s, n, details, cap, level);

    if (rc != 0 || memchr(s, '$', n) == NULL)
        return rc;
    if ((rc = chio__shell_inner_text(s, n, &t, &tl)) != 1)
        return rc;
    rc = assigned_one(g, key, what, t, tl, details, cap, level);
    free(t);
    return rc;
}

/* @rc of one reading, with an ambiguity (not a hit, not out of memory)
 * read as nothing found when only hits count (@hits). */
static int hit_only(path_hit *ph, int rc, int hits)
{
    if (!hits || rc >= 0 || rc == CHIO_ENOMEM || ph->nomem)
        return rc;
    ph->braces_too_large = 0;
    return 0;
}

/* chio__gp_check_walk on the shell's reading of @s, made here. */
static int walk_text(path_hit *ph, const char *s, size_t n)
{
    char stack[PREFIX_STACK], *heap;
    const char *r;
    size_t rl;
    int rc = shell_text(s, n, stack, sizeof(stack), &heap, &r, &rl);

    if (rc == 0)
        rc = chio__gp_check_walk(ph, r, rl);
    free(heap);
    return rc;
}

static int forbidden_text(const chio__guard_reg *g, chio__key *key, const char *what, const char *s,
                          size_t n, char *details, size_t cap, int level, int hits);

/* @s with each sftp: and scp: URL written as the file: URL of its path
 * (chio__gp_remote_file_reading), read as a value of its own; only its
 * hits count. */
static int remote_file_text(const chio__guard_reg *g, chio__key *key, const char *what,
                            const char *s, size_t n, char *details, size_t cap, int level)
{
    size_t len;
    char *d = chio__gp_remote_file_reading(s, n, &len);
    int rc;

    if (d == NULL)
        return CHIO_ENOMEM;
    rc = forbidden_text(g, key, what, d, len, details, cap, level + 1, 1);
    free(d);
    return rc;
}

static int forbidden_text(const chio__guard_reg *g, chio__key *key, const char *what, const char *s,
                          size_t n, char *details, size_t cap, int level, int hits)
{
    /* "xargs -I X cat ../X/shadow": a word xargs fills in is not the
     * word written, so no climbing word is read as plain (review 53) */
    path_hit ph = {g, 0, 0, 0, chio__gp_fills_words(s, n), 0};
    char rstack[PREFIX_STACK], *rheap = NULL;
    const char *r = s; /* the shell's reading, made once for the two checks that read it */
    int rc = 0, words, lines = 0;
    size_t i, opt, rl = n;

    for (i = 0; i < g->nprefixes; i++) {
        size_t pl = strlen(g->prefixes[i]);
        if (n >= pl && memcmp(s, g->prefixes[i], pl) == 0) {
            snprintf(details, cap, "%s is under forbidden prefix '%s'", what, g->prefixes[i]);
            return 1;
        }
    }
    if (!chio__path_candidate_key(key, s, n)) {
        /* literals a separator that is no '/' joins into a path:
         * os.sep.join(['', 'etc', 'shadow']) (review 17 F2) */
        rc = hit_only(&ph, chio__gp_check_joined_literals(&ph, s, n), hits);
        /* "ls ~root", "grep -r x ~": a home with no '/' (review 50) */
        if (rc == 0 && !ph.nomem && !chio__home_or_parent_word(s, n))
            return 0;
        if (rc == 0 && !ph.nomem)
            rc = hit_only(&ph, chio__gp_check_tilde_and_glob(&ph, s, n), hits);
        if (rc == 0)
            rc = hit_only(&ph, chio__gp_check_decoded_homes(&ph, s, n), hits);
        /* "grep -r x ..": ".." from a directory one below "/" is "/" */
        if (rc == 0)
            rc = hit_only(&ph, walk_text(&ph, s, n), hits);
        goto decode;
    }
    words = chio__gp_has_word_break(s, n);
    /* The whole value, read strictly (a control character or ".." above
     * the root denies), unless it is running text that merely holds a '/'
     * somewhere: then its words are what a tool could take as paths. Text
     * of lines that only its start makes look like a path, under a key
     * that does not name one, is read line by line (check_lines). */
    lines = (strong_path(key, s, n) || !words) && !chio__key_names(key, CHIO__KEY_PATH) &&
            !chio__starts_file_url(s, n) && line_text(s, n);
    if (lines)
        rc = hit_only(&ph, check_lines(&ph, key, s, n), hits);
    else if (strong_path(key, s, n) || !words)
        rc = hit_only(&ph, check_readings(&ph, s, n), hits);
    if (rc == 0)
        rc = hit_only(&ph, chio__gp_check_words(&ph, s, n, words, hits), hits);
    /* a short option's value glued to the whole value, spaces and all:
     * one argv element "-o/x/../etc/a b" is "-o" and a path */
    if (rc == 0 && words)
        rc = hit_only(&ph, chio__gp_check_words(&ph, s, n, 0, hits), hits);
    /* a long option's value, whole: "--out=/a;b/../../etc/x" (one argv
     * element) names "/a;b/../../etc/x", which its words do not show */
    if (rc == 0 && words)
        rc = hit_only(&ph, check_items(&ph, s, n), hits);
    if (rc == 0 && (opt = chio__long_option_value(s, n)) > 0 &&
        chio__path_candidate(NULL, s + opt, n - opt))
        rc = hit_only(&ph, check_readings(&ph, s + opt, n - opt), hits);
    if (rc == 0)
        rc = hit_only(&ph, chio__gp_check_decoded_words(&ph, s, n), hits);
    /* open("/etc/" + "shadow"), os.path.join("/etc", "shadow") */
    if (rc == 0)
        rc = hit_only(&ph, chio__gp_check_joined_literals(&ph, s, n), hits);
    if (rc == 0)
        rc = shell_text(s, n, rstack, sizeof(rstack), &rheap, &r, &rl);
    if (rc == 0)
        rc = hit_only(&ph, check_shell_text(&ph, s, n, r, rl), hits);
    if (rc == 0)
        rc = hit_only(&ph, chio__gp_check_glob_reading(&ph, s, n), hits);
    if (rc == 0)
        rc = hit_only(&ph, chio__gp_check_wild_reading(&ph, s, n), hits);
    if (rc == 0)
        rc = hit_only(&ph, chio__gp_check_walk(&ph, r, rl), hits);
    free(rheap);
    if (rc == 0)
        rc = hit_only(&ph, chio__gp_check_brace_reading(&ph, s, n), hits);
    if (rc == 0)
        rc = hit_only(&ph, chio__gp_check_tilde_and_glob(&ph, s, n), hits);
    if (rc == 0)
        rc = hit_only(&ph, chio__gp_check_decoded_homes(&ph, s, n), hits);
decode:
    if (rc == 0 && !ph.nomem && level < DECODE_LEVELS && chio__shell_has_ansi(s, n) &&
        (rc = decoded_texts(g, key, what, s, n, details, cap, level, hits)) != 0)
        return rc;
    if (rc == 0 && !ph.nomem && level < DECODE_LEVELS && lines &&
        (rc = unbroken_text(g, key, what, s, n, details, cap, level)) != 0)
        return rc;
    if (rc == 0 && !ph.nomem && level < DECODE_LEVELS && !hits &&
        (rc = assigned_text(g, key, what, s, n, details, cap, level)) != 0)
        return rc;
    if (rc == 0 && !ph.nomem && level < DECODE_LEVELS && chio__gp_has_remote_file_url(s, n) &&
        (rc = remote_file_text(g, key, what, s, n, details, cap, level)) != 0)
        return rc;
    if (rc == 0 && !ph.nomem && level < DECODE_LEVELS && empty_may_differ(s, n))
        return empty_text(g, key, what, s, n, details, cap, level);
    if (rc == CHIO_ENOMEM || ph.nomem)
        return CHIO_ENOMEM;
    if (rc > 0)
        snprintf(details, cap, "%s is under forbidden prefix '%s'", what, g->prefixes[ph.prefix]);
    else if (rc < 0 && ph.braces_too_large)
        snprintf(details, cap, "%s expands its braces past what the guard reads", what);
    else if (rc < 0)
        snprintf(details, cap, "%s cannot be read unambiguously as a path", what);
    return rc != 0;
}

static int forbidden_hit(const chio__guard_reg *g, chio__key *key, int quote_key, const char *s,
                         size_t n, char *details, size_t cap, int depth)
{
    char what[96];
    int rc;

    /* The details name the argument by its key, never by its value: they
     * go into the receipt's reason and evidence, and a value a secret_leak
     * guard flags is redacted from the stored parameters, so quoting it
     * here would store the secret anyway ("/etc/<api key>"). The same rule
     * as the secret guard's own evidence; for a key that is itself a
     * secret (@quote_key 0), not even the key. */
    if (key->name != NULL && quote_key)
        snprintf(what, sizeof(what), "the argument under key '%.64s'", key->name);
    else if (key->name != NULL)
        snprintf(what, sizeof(what), "%s", "an argument under a key a secret_leak guard flags");
    else
        snprintf(what, sizeof(what), "%s", "an argument (an object key or a top-level value)");
    rc = forbidden_text(g, key, what, s, n, details, cap, 0, 0);
    /* a value (not an object key) that is JSON: its own strings too */
    if (rc == 0 && key->name != NULL &&
        (rc = embedded_hit(g, key, s, n, what, details, cap, depth)) != 0)
        rc = rc == CHIO_ENOMEM ? rc : 1;
    return rc;
}
