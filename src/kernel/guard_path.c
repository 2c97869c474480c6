/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/guard_path.c - the forbidden_path guard's matching (see
 * guard_scan.h): a value and every text it may be read as (the value
 * with its ANSI-C strings decoded, its line breaks removed, the
 * variables it assigns in place, its sftp: and scp: URLs as file: URLs,
 * its expansions that may be empty read as nothing; paths inside JSON a
 * string holds), each read by guard_path_readings.c (the path as
 * written, decoded, NFKC-folded, Windows forms, the words of a command
 * line, the lines of a text, a shell's reading) and held against the
 * guard's normalised prefixes by guard_path_match.c; what a shell
 * expands (braces, homes, globs) is read in guard_path_shell.c, through
 * guard_path.h; the details a hit leaves name the argument, never its
 * value. Uses core/normalize.h, path_words.c, shell_ansi.c,
 * shell_assign.c and shell_words.c.
 * No state, no locks; scratch space is on the stack for short strings
 * and malloc'ed (and freed) for long ones.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "constraint_domain.h"
#include "guard_path.h"
#include "guard_scan.h"
#include "internal.h"
#include "kernel_internal.h"
#include "normalize.h"
#include "path_words.h"
#include "shell_ansi.h"
#include "shell_assign.h"
#include "shell_words.h"

/* ---- forbidden_path ------------------------------------------------------------------------- */

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

/* Text of lines (chio__gp_line_text) with its tabs and line breaks removed, as a
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
    if ((rc = chio__shell_inner_text(s, n, &t, &tl)) == CHIO_ETOOBIG) {
        snprintf(details, cap, "%s expands its variables past what the guard reads", what);
        return 1; /* "$0" filled in past the bound */
    }
    if (rc != 1 && rc != 2)
        return rc;
    if (rc == 2) /* "$0" filled in: the text as it stands */
        rc = forbidden_text(g, key, what, t, tl, details, cap, level + 1, 1);
    else
        rc = 0;
    if (rc == 0)
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
    int rc = chio__gp_shell_text(s, n, stack, sizeof(stack), &heap, &r, &rl);

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

/* Does @s hold a parameter expansion's head ("${PWD:-", "${x#":
 * chio__param_head_valid) that chio__gp_braced_end cannot close (past
 * its bound of 256 bytes, or never)? Its word would be read as pieces
 * split at its braces, which bash does not do: the value cannot be read
 * (review 22 P4: "cd /etc && cat ${PWD:-a..300 bytes}/shadow" was
 * read as "/shadow"). Linear: each head is read up to the bound, and
 * the first that fails ends the reading. */
static int braces_unread(const char *s, size_t n)
{
    const char *p = s;
    size_t i;

    while ((p = memchr(p, '$', n - (size_t)(p - s))) != NULL) {
        i = (size_t)(p - s);
        if (chio__param_head_valid(s, n, i) && chio__gp_braced_end(s, n, i) == i)
            return 1;
        p++;
    }
    return 0;
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
    if (braces_unread(s, n)) {
        snprintf(details, cap, "%s holds a ${..} longer than the guard reads", what);
        return 1;
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
     * that does not name one, is read line by line (chio__gp_check_lines). */
    lines = (chio__gp_strong_path(key, s, n) || !words) && !chio__key_names(key, CHIO__KEY_PATH) &&
            !chio__starts_file_url(s, n) && chio__gp_line_text(s, n);
    if (lines)
        rc = hit_only(&ph, chio__gp_check_lines(&ph, key, s, n), hits);
    else if (chio__gp_strong_path(key, s, n) || !words)
        rc = hit_only(&ph, chio__gp_check_readings(&ph, s, n), hits);
    if (rc == 0)
        rc = hit_only(&ph, chio__gp_check_words(&ph, s, n, words, hits), hits);
    /* a short option's value glued to the whole value, spaces and all:
     * one argv element "-o/x/../etc/a b" is "-o" and a path */
    if (rc == 0 && words)
        rc = hit_only(&ph, chio__gp_check_words(&ph, s, n, 0, hits), hits);
    /* a long option's value, whole: "--out=/a;b/../../etc/x" (one argv
     * element) names "/a;b/../../etc/x", which its words do not show */
    if (rc == 0 && words)
        rc = hit_only(&ph, chio__gp_check_items(&ph, s, n), hits);
    if (rc == 0 && (opt = chio__long_option_value(s, n)) > 0 &&
        chio__path_candidate(NULL, s + opt, n - opt))
        rc = hit_only(&ph, chio__gp_check_readings(&ph, s + opt, n - opt), hits);
    if (rc == 0)
        rc = hit_only(&ph, chio__gp_check_decoded_words(&ph, s, n), hits);
    /* open("/etc/" + "shadow"), os.path.join("/etc", "shadow") */
    if (rc == 0)
        rc = hit_only(&ph, chio__gp_check_joined_literals(&ph, s, n), hits);
    if (rc == 0)
        rc = chio__gp_shell_text(s, n, rstack, sizeof(rstack), &rheap, &r, &rl);
    if (rc == 0)
        rc = hit_only(&ph, chio__gp_check_shell_text(&ph, s, n, r, rl), hits);
    if (rc == 0)
        rc = hit_only(&ph, chio__gp_check_glob_reading(&ph, s, n), hits);
    if (rc == 0)
        rc = hit_only(&ph, chio__gp_check_wild_reading(&ph, s, n), hits);
    if (rc == 0)
        rc = hit_only(&ph, chio__gp_check_walk(&ph, r, rl), hits);
    /* and as written, its quotes standing: a filter's quoted program
     * ("grep -E '^(a|b)'", "awk '{x; getline}'") is one word to the
     * pipeline it stands in (review 24 paths R3, R6) */
    if (rc == 0 && (rl != n || memcmp(r, s, n) != 0))
        rc = hit_only(&ph, chio__gp_check_walk(&ph, s, n), hits);
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
