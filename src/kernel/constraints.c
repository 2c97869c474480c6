/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/constraints.c - the argument constraints of a tool grant (check 6).
 *
 * Every constraint looks at the string leaves of the arguments (object
 * member values and array items at any depth, each with its nearest object
 * key); path_prefix and the domain constraints read object keys as well
 * (a key is a path or URL by its text alone). Paths and hosts are read the
 * way the tool will read them, through core/normalize.h; whatever cannot
 * be read unambiguously denies. Readings (also in docs/spec-reading.md):
 *   path_prefix   (a prefix holding a word break, "C:/workspace" or
 *                 "/work space", denies every call: its values' words
 *                 cannot lie under it) the leaves that may be paths (chio__path_candidate: the
 *                 key names a path, or the value starts with / \ ~ . or
 *                 file:, or holds / \ %2f %5c %2e, also encoded again as
 *                 %252e ...) must exist, and every
 *                 reading of each (as written, trimmed of white space as
 *                 trim() and strip() do, percent-decoded once, a file: URL
 *                 as its path, with and without its query; each again
 *                 as NFKC leaves it: look-alike dots and slashes, fullwidth
 *                 letters folded) must normalise and lie under the prefix:
 *                 "." and empty segments dropped, ".." pops a segment, "/"
 *                 and "\" both separate, and again with only "/" (as
 *                 open(2) reads a backslash), whole segments compare (case-
 *                 sensitive); the empty relative prefix "." does not cover
 *                 a first segment "~..." or "C:..." (a home, a drive);
 *                 each word of the leaf that starts a path (words end at
 *                 white space and ;|&<>'"` ,=:@, as written and decoded
 *                 once; path_words.c), a short or long option's value and
 *                 each item split at one of , ; space = is held to the
 *                 same, and other words that look like paths must be
 *                 readable (path_words); a value with a word "~user" or
 *                 ".." is a path too. The value as a POSIX shell reads it
 *                 (quote removal, "\" escapes, "$IFS" and "${IFS}" as
 *                 white space: shell_words.c, as the forbidden_path guard
 *                 reads it) is held the same way, whole and by words. A
 *                 leaf with a control character, ".." above the root or
 *                 the start or below /proc or /dev, a double
 *                 encoding, a remote file: host or a file: URL whose
 *                 path does not start with a slash ("file:w/a", a
 *                 relative path to an RFC 3986 reader) denies, and so
 *                 does one
 *                 with a segment a shell could expand to ".." (a glob,
 *                 brace or expansion among dots: ".?", ".[.]", ".*",
 *                 "{..,x}", ".${x}.", or an expansion alone, "$x"), a
 *                 word starting with an expansion ("$HOME/x": any path),
 *                 a leading "//" or "\\" before the prefix's first
 *                 segment (a UNC share on a host of that name), and a
 *                 number or boolean whose key names a path (a tool may
 *                 read it as a file descriptor: Python's open(3)); a key
 *                 names a path or URL when its own name or an enclosing
 *                 member's does;
 *   domain_exact, domain_glob  the hosts of the URL/host leaves must all
 *                 be allowed (constraint_domain.c);
 *   (path_prefix and the domain constraints also read a string leaf that
 *                 is itself a JSON object or array as the arguments it
 *                 holds, under the leaf's key, up to CHIO__EMBEDDED_MAX
 *                 layers: chio__each_embedded; one with a duplicate key,
 *                 or that a lenient reader takes for JSON though ours
 *                 does not (a lone surrogate, 1e400, NaN), denies)
 *   regex_match   some string leaf matches the pattern (unanchored), read
 *                 as chio reads it (Rust `regex`, see "Reading a pattern" in
 *                 constraint_regex.c): translated to a POSIX ERE read in the
 *                 C locale, where '.' and negated classes match one code
 *                 point other than a newline ('.') as chio's do, and
 *                 searched with a bounded automaton (regex_nfa.c); a pattern
 *                 we cannot translate exactly (backreferences, escapes like
 *                 \d \b \W, flags, set operations, non-ASCII classes), an
 *                 invalid one, or a search over the work bound of a call
 *                 denies;
 *   max_length    every string leaf and object key has at most N bytes;
 *   max_args_size the canonical JSON of the arguments has at most N bytes,
 *                 and so has their serde_json text, as chio measures it
 *                 (integral floats keep ".0"; both constraint_size.c);
 *   custom [k,v]  some object member named k, at any depth, is the string v,
 *                 and every member named k is (a decoy must not pass),
 *                 and so is every member a case-folding reader (Go's
 *                 encoding/json: ASCII case, U+017F, U+212A) takes for
 *                 k ("ENV" beside "env"; Go 1.21's ToUpper(ToLower(r))
 *                 also takes U+0130 and U+0131 for 'i'; two other
 *                 non-ASCII code points are taken to fold alike), and
 *                 every such member in a string that holds JSON
 *                 (constraint_custom.c);
 *   anything else denies (fail closed).
 * A deny reason quotes the argument at fault, unless a built-in secret_leak
 * guard flags it (then the reason names the constraint only: the receipt
 * redacts that value from its parameters).
 * Compiled patterns are cached per kernel (regexes map), never freed while
 * serving.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "constraint_custom.h"
#include "constraint_domain.h"
#include "constraint_regex.h"
#include "constraint_size.h"
#include "guard_path_cd.h"
#include "guard_scan.h"
#include "kernel_internal.h"
#include "normalize.h"
#include "path_stack.h"
#include "path_words.h"
#include "regex_nfa.h"
#include "scope.h"
#include "shell_words.h"

/* ---- walking leaves ------------------------------------------------------------------- */

/* Every leaf of @v with its nearest object key (NULL at the top level):
 * strings as they are, or with @scalars numbers and booleans as their
 * JSON text instead (a tool may read one where a path or a host goes:
 * Python's open(3), "http://" + 2130706433). */
static int walk(const chio_json *v, chio__key *key, int scalars,
                int (*fn)(void *, chio__key *, const char *, size_t), void *ctx)
{
    char num[32];
    size_t i, n;
    int rc, b;

    switch (chio_json_typeof(v)) {
    case CHIO_JSON_STRING: {
        size_t len;
        const char *s = chio_json_string(v, &len);
        return scalars ? 0 : fn(ctx, key, s, len);
    }
    case CHIO_JSON_BOOL:
        if (!scalars)
            return 0;
        chio_json_get_bool(v, &b);
        return b ? fn(ctx, key, "true", 4) : fn(ctx, key, "false", 5);
    case CHIO_JSON_INT:
    case CHIO_JSON_UINT:
    case CHIO_JSON_DOUBLE:
        if (!scalars)
            return 0;
        n = chio__number_text(v, num);
        return fn(ctx, key, num, n);
    case CHIO_JSON_ARRAY:
        n = chio_json_size(v);
        for (i = 0; i < n; i++)
            if ((rc = walk(chio_json_at(v, i), key, scalars, fn, ctx)) != 0)
                return rc;
        return 0;
    case CHIO_JSON_OBJECT:
        n = chio_json_size(v);
        for (i = 0; i < n; i++) {
            /* one chio__key for the member's leaves: its name read once */
            chio__key member = {chio_json_key_at(v, i, NULL), 0, 0, key};
            if ((rc = walk(chio_json_at(v, i), &member, scalars, fn, ctx)) != 0)
                return rc;
        }
        return 0;
    default:
        return 0;
    }
}

int chio__each_string(const chio_json *v,
                      int (*fn)(void *ctx, chio__key *key, const char *s, size_t len), void *ctx)
{
    chio__key top = {NULL, 0, 0, NULL};

    return walk(v, &top, 0, fn, ctx);
}

int chio__each_scalar(const chio_json *v, int (*fn)(void *, chio__key *, const char *, size_t),
                      void *ctx)
{
    chio__key top = {NULL, 0, 0, NULL};

    return walk(v, &top, 1, fn, ctx);
}

/* chio__embedded_parse: embedded_json.c */

int chio__each_embedded(const char *s, size_t n, chio__key *key, int depth,
                        int (*text)(void *, chio__key *, const char *, size_t, int),
                        int (*scalar)(void *, chio__key *, const char *, size_t), void *ctx)
{
    chio_json_doc *doc = NULL;
    int rc = chio__embedded_parse(s, n, depth, &doc);

    if (rc != 1)
        return rc;
    rc = 0;
    if (text != NULL)
        rc = chio__each_text_under(chio_json_root(doc), key, 0, text, ctx);
    if (rc == 0 && scalar != NULL)
        rc = walk(chio_json_root(doc), key, 1, scalar, ctx);
    chio_json_doc_free(doc);
    return rc;
}

/* A deny reason quotes the argument it is about, and the reason is stored
 * in the receipt; a value a built-in secret_leak guard flags is redacted
 * from the stored parameters, so such a value is not quoted either (the
 * reason names the constraint instead). Out of memory counts as flagged. */
static int secret_leaf(chio_kernel *k, const char *s, size_t n)
{
    size_t gi, pi;

    return k->med.nguards > 0 &&
           chio__secret_scan(k->med.guards, k->med.nguards, s, n, NULL, &gi, &pi) != 0;
}

void chio__unquote_secret(chio_kernel *k, const char *s, size_t n, const chio__constraint *c,
                          char *reason, size_t cap)
{
    if (secret_leaf(k, s, n))
        snprintf(reason, cap,
                 "an argument a secret_leak guard flags (not quoted) does not satisfy %s '%.100s'",
                 c->type_name, c->str);
}

/* ---- path_prefix --------------------------------------------------------------------- */

#define PREFIX_STACK 512

typedef struct prefix_scan {
    chio_kernel *k;
    const chio__constraint *c;
    const char *prefix; /* normalised */
    size_t plen;
    const char *leaf; /* the leaf being read, for the reason */
    size_t leaf_len;
    int seen, bad;
    int embedded; /* layers of JSON-in-a-string above the leaf being read */
    char *reason;
    size_t cap;
} prefix_scan;

/* An ASCII letter, whatever locale the host set (isalpha() follows it). */
static int ascii_alpha(char c)
{
    int l = chio__ascii_lower((unsigned char)c);

    return l >= 'a' && l <= 'z';
}

/* Does the relative reading @p start with a segment a tool may read as
 * absolute: "~" or "~user" (a shell, Python's expanduser), a Windows
 * drive "C:" ("C:\\x", and "C:x" on drive C's working directory), or a
 * shell expansion ("$HOME")? */
static int home_or_drive(const char *p, size_t len)
{
    if (len == 0 || p[0] == '/')
        return 0;
    /* "$HOME/x", "`pwd`/x": a shell expansion may be any path */
    return p[0] == '~' || (len >= 2 && ascii_alpha(p[0]) && p[1] == ':') ||
           chio__shell_expansion_at(p, len, 0);
}

static int reading_under(void *ctx, const char *p, size_t len)
{
    prefix_scan *ps = ctx;

    /* The empty prefix ("." or "") covers every relative path; one that
     * starts at home or on a drive is not relative to the tool. (Under a
     * longer relative prefix, the first segments must be equal anyway.) */
    if (chio__path_under(p, len, ps->prefix, ps->plen, 0) &&
        !(ps->plen == 0 && home_or_drive(p, len)))
        return 0;
    snprintf(ps->reason, ps->cap, "path '%.*s' is outside the allowed prefix",
             (int)(ps->leaf_len > 120 ? 120 : ps->leaf_len), ps->leaf);
    return 1;
}

/* Any reading at all: a word that does not start a path is relative to a
 * working directory the kernel does not know, so only its readability
 * counts ("b/../../etc" climbs above where it starts). */
static int reading_anywhere(void *ctx, const char *p, size_t len)
{
    (void)ctx;
    (void)p;
    (void)len;
    return 0;
}

/* One word @w (@n bytes) of a path value: held to the prefix when it
 * starts a path; else, when it still looks like one ("notes/x",
 * "b/../../etc"), only read, so that one climbing above its start denies
 * as a whole relative value does (a tool started in the granted
 * directory that splits "/w/a b/../../etc/passwd" reads /etc/passwd). */
/* Does @s start (after white space; a file: URL after its empty
 * authority) with two or more separators and then the first segment of
 * the absolute prefix? Win32 and Python's ntpath read "//workspace/share/x"
 * as the share "share" on a host named "workspace", which the POSIX
 * reading puts under "/workspace": ambiguous. ("//evil.example/x" is
 * outside the prefix in every reading, and denied so.) */
static int unc_prefix_host(const prefix_scan *ps, const char *s, size_t n)
{
    size_t i = 0, seg = 1, j, least = 2;

    if (ps->plen < 2 || ps->prefix[0] != '/')
        return 0;
    while (seg < ps->plen && ps->prefix[seg] != '/')
        seg++;
    while (i < n && (unsigned char)s[i] <= 0x20)
        i++;
    if (chio__file_word(s + i, n - i)) {
        i += 5;
        least = 4; /* "file:" + "//" + an empty authority + the path's "//" */
    }
    for (j = i; j < n && chio__is_slash((unsigned char)s[j]); j++)
        ;
    if (j - i < least)
        return 0;
    for (i = j; j < n && !chio__is_slash((unsigned char)s[j]); j++)
        ;
    return j - i == seg - 1 && strncasecmp(s + i, ps->prefix + 1, seg - 1) == 0;
}

/* Is @s (@n bytes; after white space) a file: URL whose path does not
 * start with a slash ("file:workspace/a")? WHATWG reads "/workspace/a",
 * an RFC 3986 reader (Python's urlparse, Go's opaque url.URL) and open(2)
 * a relative path: not one path (review 47). */
static int relative_file_url(const char *s, size_t n)
{
    size_t i = 0, k;

    for (;;) {
        if (i < n && (unsigned char)s[i] <= 0x20)
            i++;
        else if ((k = chio__space_at(s + i, n - i)) > 0)
            i += k;
        else
            break;
    }
    return chio__file_word(s + i, n - i) &&
           (i + 5 == n || !chio__is_slash((unsigned char)s[i + 5]));
}

static int word_under(prefix_scan *ps, const char *w, size_t n)
{
    size_t st = chio__word_path_start(w, n);

    if (st < n && (unc_prefix_host(ps, w + st, n - st) || relative_file_url(w + st, n - st)))
        return CHIO_EINVAL;
    if (st < n)
        return chio__path_readings(w + st, n - st, reading_under, ps);
    if (chio__path_candidate(NULL, w, n))
        return chio__path_readings(w, n, reading_anywhere, ps);
    return 0;
}

/* Each word of @s (@n bytes) that starts a path, read like a whole path:
 * a tool that hands the value to a shell or splits a list reads
 * "/w/a /etc/passwd" as two paths (and each other word that looks like a
 * path is read: word_under). The whole value (one word) was read
 * already. Returns chio__path_readings' code for the first that fails. */
static int words_under(prefix_scan *ps, const char *s, size_t n)
{
    size_t i = 0, j, b = 1, st = chio__word_path_start(s, n);
    int rc;

    /* A short option's value glued to the whole value ("-o/etc/x", also
     * when it holds spaces) and a long option's ("--out=/a;b/../../etc"):
     * one argv element, its value read whole as the option's path. */
    if (st == n)
        st = chio__long_option_value(s, n);
    if (st > 0 && st < n && (rc = word_under(ps, s + st, n - st)) != 0)
        return rc;
    while (i < n) {
        int file = chio__file_word(s + i, n - i);
        for (j = i; j < n && ((b = chio__path_word_break(s, n, j)) == 0 || (file && s[j] == ':'));
             j++)
            ;
        if (i == 0 && j == n)
            return 0; /* one word: the whole value */
        if (j > i && (rc = word_under(ps, s + i, j - i)) != 0)
            return rc;
        i = j < n ? j + b : n;
    }
    return 0;
}

/* The items of @s split at one separator only (',' ';' ' ' '='; not ':',
 * which a file: URL holds), each read whole as a word (leading spaces
 * dropped): a tool that splits a list, or at spaces only, reads
 * "x,/a\"b;c/../../etc" as one path, "/a\"b;c/../../etc", which the word
 * breaks at '"' and ';' cut apart. */
static int items_under(prefix_scan *ps, const char *s, size_t n)
{
    static const char seps[] = ",; =";
    size_t k, i, j;
    int rc;

    for (k = 0; k < sizeof(seps) - 1; k++) {
        if (memchr(s, seps[k], n) == NULL)
            continue;
        for (i = 0; i < n; i = j + 1) {
            for (j = i; j < n && s[j] != seps[k]; j++)
                ;
            while (i < j && s[i] == ' ')
                i++;
            /* an item with no other break is a word, read already */
            if (j > i && chio__has_path_word_break(s + i, j - i) &&
                (rc = word_under(ps, s + i, j - i)) != 0)
                return rc;
        }
    }
    return 0;
}

/* The words of @s as written, and percent-decoded once ("/w/a%20/etc/x"
 * to a tool that decodes, then splits). */
static int path_words(prefix_scan *ps, const char *s, size_t n)
{
    char stack[PREFIX_STACK], *heap = NULL, *d = stack;
    size_t len;
    int rc = words_under(ps, s, n);

    if (rc == 0)
        rc = items_under(ps, s, n);
    if (rc != 0 || !chio__has_escape(s, n))
        return rc;
    if (n + 1 > sizeof(stack) && (d = heap = malloc(n + 1)) == NULL)
        return CHIO_ENOMEM;
    len = chio__percent_decode(s, n, d);
    rc = relative_file_url(d, len) ? CHIO_EINVAL : words_under(ps, d, len);
    free(heap);
    return rc;
}

/* What a shell makes of @s (@n bytes) that the readings above do not
 * show: a segment it could expand to ".." (chio__shell_dot_ambiguous) or a
 * UNC host named like the prefix's first segment is ambiguous
 * (CHIO_EINVAL); the value after quote removal and $IFS
 * (chio__shell_unquote, as the forbidden_path guard reads it) is held like
 * a word, whole ("/w/.\\./etc" is "/w/../etc") and by its words
 * ("/w/a$IFS/etc/x" is "/w/a" and "/etc/x"). */
static int shell_form(prefix_scan *ps, const char *s, size_t n)
{
    char stack[PREFIX_STACK], *heap;
    const char *d;
    size_t len;
    int rc = 0;

    if (chio__shell_dot_ambiguous(s, n) || unc_prefix_host(ps, s, n))
        return CHIO_EINVAL;
    if (!chio__shell_may_differ(s, n))
        return 0;
    if ((d = chio__shell_reading(s, n, stack, sizeof(stack), &heap, &len)) == NULL)
        return CHIO_ENOMEM;
    if (len != n || memcmp(d, s, n) != 0) {
        rc = word_under(ps, d, len);
        if (rc == 0)
            rc = path_words(ps, d, len);
    }
    free(heap);
    return rc;
}

/* shell_form on @s as written and percent-decoded once. */
static int path_shell(prefix_scan *ps, const char *s, size_t n)
{
    char stack[PREFIX_STACK], *heap = NULL, *d = stack;
    int rc = shell_form(ps, s, n);

    if (rc != 0 || !chio__has_escape(s, n))
        return rc;
    if (n + 1 > sizeof(stack) && (d = heap = malloc(n + 1)) == NULL)
        return CHIO_ENOMEM;
    rc = shell_form(ps, d, chio__percent_decode(s, n, d));
    free(heap);
    return rc;
}

static int home_cd_read(const char *s, size_t n);

/* chio__gp_home_cd on @s as written and as a shell reads it ("c''d"),
 * with each popd that returns from the value's own pushd and each git
 * commit message blanked (chio__pp_stack_blank; review 23 Q3). */
static int home_cd(const char *s, size_t n)
{
    char *b;
    int rc;

    if (memmem(s, n, "-m", 2) == NULL && memmem(s, n, "--message", 9) == NULL &&
        memmem(s, n, "popd", 4) == NULL && memmem(s, n, "-Location", 9) == NULL &&
        memmem(s, n, "-location", 9) == NULL)
        return home_cd_read(s, n);
    if ((b = malloc(n + 1)) == NULL)
        return 1; /* out of memory: read it as a change (fails closed) */
    rc = chio__pp_stack_blank(s, n, b) ? home_cd_read(b, n) : home_cd_read(s, n);
    free(b);
    return rc;
}

/* chio__gp_home_cd on @s as written and as a shell reads it ("c''d"). */
static int home_cd_read(const char *s, size_t n)
{
    char stack[PREFIX_STACK], *heap;
    const char *d;
    size_t len;
    int rc = chio__gp_home_cd(s, n);

    if (rc || !chio__shell_may_differ(s, n))
        return rc;
    if ((d = chio__shell_reading(s, n, stack, sizeof(stack), &heap, &len)) == NULL)
        return 1; /* out of memory: read it as a change (fails closed) */
    rc = chio__gp_home_cd(d, len);
    free(heap);
    return rc;
}

static int scan_path(void *ctx, chio__key *key, const char *s, size_t n)
{
    prefix_scan *ps = ctx;
    /* '$': a command word an expansion makes may be "cd" (review 24
     * paths R2) */
    int rc, hc = memchr(s, 'c', n) != NULL || memchr(s, 'p', n) != NULL ||
                         memchr(s, 'l', n) != NULL || memchr(s, '$', n) != NULL
                     ? home_cd(s, n)
                     : 0;

    /* a value with no path-like word is no path, unless a word is a home,
     * "..", a shell parameter standing alone ("rm -rf $HOME", "-C
     * \"$HOME\"": any path; review 20 F6) or it changes directory to the
     * home or $OLDPWD (hc) */
    int ew = chio__expansion_word(s, n);

    if (!chio__path_candidate_key(key, s, n) && !chio__home_or_parent_word(s, n) && !ew && !hc)
        return 0;
    ps->seen = 1;
    ps->leaf = s;
    ps->leaf_len = n;
    if (hc) {
        /* every relative path after it is read from a directory the grant
         * does not place, as after "cd ~" */
        snprintf(ps->reason, ps->cap,
                 "argument '%.*s' changes directory to the home or the previous directory: its "
                 "paths are outside the allowed prefix",
                 (int)(n > 120 ? 120 : n), s);
        chio__unquote_secret(ps->k, s, n, ps->c, ps->reason, ps->cap);
        ps->bad = 1;
        return 1;
    }
    /* Every reading a tool could make must lie under the prefix; one that
     * cannot be read (control characters, ".." above the start, double
     * encoding, a remote file: host, a file: URL with a relative path)
     * denies. */
    /* a lone "${!x}" (a parameter the text cannot name) or a "${HOME:-"
     * past the bound of its reading cannot be read as a path (review 22
     * P2, P4) */
    rc = ew == 2 || relative_file_url(s, n) ? CHIO_EINVAL
                                            : chio__path_readings(s, n, reading_under, ps);
    if (rc == 0)
        rc = path_words(ps, s, n);
    if (rc == 0)
        rc = path_shell(ps, s, n);
    if (rc == 0)
        return 0;
    if (rc < 0)
        snprintf(ps->reason, ps->cap,
                 rc == CHIO_ENOMEM ? "out of memory reading path '%.*s'"
                                   : "argument '%.*s' cannot be read unambiguously as a path",
                 (int)(n > 120 ? 120 : n), s);
    chio__unquote_secret(ps->k, s, n, ps->c, ps->reason, ps->cap);
    ps->bad = 1;
    return 1;
}

static int scan_path_text(void *ctx, chio__key *key, const char *s, size_t n, int is_key);
static int scan_path_scalar(void *ctx, chio__key *key, const char *s, size_t n);

/* A string that is itself JSON ("{\"file\": \"notes\"}", options or a
 * body a tool parses) is read as the arguments it holds would be, under
 * the leaf's key: its paths are held to the prefix (they do not count as
 * the path the arguments must name). One that cannot be read
 * unambiguously (a duplicate key, too many layers) denies. */
static int path_embedded(prefix_scan *ps, chio__key *key, const char *s, size_t n)
{
    int seen = ps->seen, rc;

    ps->embedded++;
    rc = chio__each_embedded(s, n, key, ps->embedded - 1, scan_path_text, scan_path_scalar, ps);
    ps->embedded--;
    if (rc == CHIO__EMBEDDED_AMBIGUOUS) {
        snprintf(ps->reason, ps->cap,
                 "argument '%.*s' holds JSON that cannot be read unambiguously",
                 (int)(n > 120 ? 120 : n), s);
        chio__unquote_secret(ps->k, s, n, ps->c, ps->reason, ps->cap);
        ps->bad = 1;
        return 1;
    }
    if (rc == 0)
        ps->seen = seen;
    return rc;
}

/* Object keys are read too: a tool that takes a map from path to content
 * ({"files": {"/etc/passwd": "..."}}) writes to its keys. A key is a path
 * when its text looks like one (chio__path_candidate without a key). */
static int scan_path_text(void *ctx, chio__key *key, const char *s, size_t n, int is_key)
{
    prefix_scan *ps = ctx;
    int rc = is_key ? 0 : path_embedded(ps, key, s, n);

    return rc != 0 ? rc : scan_path(ctx, key, s, n);
}

/* A number or boolean whose key names a path is a file descriptor to
 * Python's open() (open(True) is fd 1) and Node's fs: no path at all, so
 * never under the prefix. */
static int scan_path_scalar(void *ctx, chio__key *key, const char *s, size_t n)
{
    prefix_scan *ps = ctx;

    if (!chio__key_names(key, CHIO__KEY_PATH))
        return 0;
    snprintf(ps->reason, ps->cap,
             "argument '%.60s' is %.30s, not a path: a tool may read it as a file descriptor",
             key->name, s);
    /* the reason quotes the key and the number: a secret_leak guard
     * that flags either (a number is redacted from the receipt's
     * parameters as its text) keeps both out of it */
    chio__unquote_secret(ps->k, key->name, strlen(key->name), ps->c, ps->reason, ps->cap);
    chio__unquote_secret(ps->k, s, n, ps->c, ps->reason, ps->cap);
    ps->bad = 1;
    return 1;
}

/* The prefix of @c normalised into @norm (strlen + 2 bytes) and *@len:
 * 0, or 1 with the reason when the value alone denies every call. */
static int prefix_value(const chio__constraint *c, char *norm, size_t *len, char *reason,
                        size_t cap)
{
    size_t n = strlen(c->str);

    if (chio__path_normalize(c->str, n, 0, norm, n + 2, len) != 0) {
        snprintf(reason, cap,
                 "path_prefix '%.100s' is not a valid prefix: no argument lies under it (denied)",
                 c->str);
        return 1;
    }
    /* Every word of a path value is held to the prefix as well, so a
     * prefix holding a word break ("C:/workspace", "/work space") has no
     * value under it ("C:/workspace/a" is the words "C" and
     * "/workspace/a"): the reason says so (review 47). */
    if (chio__has_path_word_break(norm, *len)) {
        snprintf(reason, cap,
                 "path_prefix '%.100s' holds white space or one of ;|&<>'\"` ,=:@, which end a "
                 "word of a path value: no argument lies under it (denied)",
                 c->str);
        return 1;
    }
    return 0;
}

static int path_prefix(chio_kernel *k, const chio__constraint *c, const chio_json *args,
                       char *reason, size_t cap)
{
    char stack[PREFIX_STACK], *heap = NULL, *norm = stack;
    size_t n = strlen(c->str), len;
    prefix_scan ps;
    int ok;

    memset(&ps, 0, sizeof(ps));
    ps.k = k;
    ps.c = c;
    ps.reason = reason;
    ps.cap = cap;
    if (n + 2 > sizeof(stack) && (norm = heap = malloc(n + 2)) == NULL) {
        snprintf(reason, cap, "out of memory");
        return 0;
    }
    if (prefix_value(c, norm, &len, reason, cap)) {
        free(heap);
        return 0;
    }
    ps.prefix = norm;
    ps.plen = len;
    chio__each_text(args, 0, scan_path_text, &ps);
    if (!ps.bad)
        chio__each_scalar(args, scan_path_scalar, &ps);
    ok = ps.seen && !ps.bad;
    if (!ps.seen)
        snprintf(reason, cap, "path_prefix '%.100s': the arguments name no path", c->str);
    free(heap);
    return ok;
}

/* ---- regex_match ------------------------------------------------------------------------ */

/* The pattern cache is bounded (CHIO__REGEX_CACHE_MAX, CLOCK eviction).
 * Each pattern is reference counted: the cache holds one, and compiled()
 * hands the caller one (taken under the shard lock by the map's hold),
 * dropped with chio__regex_free after matching; so an eviction never
 * frees a pattern in use, it only drops the cache's reference. When the
 * pattern cannot be cached (out of memory) the caller gets its own
 * compiled copy, freed after the call: compiled per call. */
void chio__regex_hold(void *v)
{
    chio__regex *r = v;

    /* relaxed: taken under the shard lock (see session.c's hold). */
    __atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
}

void chio__regex_free(void *v)
{
    chio__regex *r = v;

    if (r == NULL || __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    chio__nfa_free(r->nfa);
    free(r);
}

/* ---- dispatch (max_length, max_args_size: constraint_size.c; custom:
 * constraint_custom.c) ------------------------------------------------------------------- */

int chio__constraint_holds(chio_kernel *k, const void *constraint, const chio_json *args,
                           size_t args_canonical_len, chio__call_work *w, char *reason, size_t cap)
{
    const chio__constraint *c = constraint;

    switch (c->kind) {
    case CHIO__CONSTRAINT_PATH_PREFIX:
        return path_prefix(k, c, args, reason, cap);
    case CHIO__CONSTRAINT_DOMAIN_EXACT:
    case CHIO__CONSTRAINT_DOMAIN_GLOB:
        return chio__domain_holds(k, c, args, reason, cap);
    case CHIO__CONSTRAINT_REGEX_MATCH:
        return chio__regex_match_holds(k, c, args, &w->regex_left, reason, cap);
    case CHIO__CONSTRAINT_MAX_LENGTH:
    case CHIO__CONSTRAINT_MAX_ARGS_SIZE:
        return chio__size_holds(c, args, args_canonical_len, reason, cap);
    case CHIO__CONSTRAINT_CUSTOM:
        return chio__custom_holds(k, c, args, reason, cap);
    default:
        snprintf(reason, cap, "constraint type '%.60s' is not understood (denied)",
                 c->type_name ? c->type_name : "?");
        return 0;
    }
}

int chio__constraint_never_holds(const void *constraint, char *reason, size_t cap)
{
    const chio__constraint *c = constraint;
    char stack[PREFIX_STACK], *norm = stack;
    size_t len;
    int rc;

    switch (c->kind) {
    case CHIO__CONSTRAINT_PATH_PREFIX:
        if (strlen(c->str) + 2 > sizeof(stack) && (norm = malloc(strlen(c->str) + 2)) == NULL)
            return CHIO_ENOMEM;
        rc = prefix_value(c, norm, &len, reason, cap);
        if (norm != stack)
            free(norm);
        return rc;
    case CHIO__CONSTRAINT_DOMAIN_EXACT:
    case CHIO__CONSTRAINT_DOMAIN_GLOB:
        return chio__domain_value_denies(c, reason, cap);
    case CHIO__CONSTRAINT_REGEX_MATCH:
        return chio__regex_never_holds(c->str, reason, cap);
    default:
        return 0; /* the arguments decide (an unknown type is unenforced) */
    }
}
