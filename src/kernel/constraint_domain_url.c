/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/constraint_domain_url.c - the URL readings of the domain_exact
 * and domain_glob constraints (constraint_domain.c): one string leaf read
 * as a URL or host (chio__domain_scan): its host as a WHATWG and an
 * RFC 3986 reader take it, scp syntax, running text word by word, the
 * bare hosts of the other words of a value under a URL-ish key, brace
 * alternatives, the text once percent-decoded (scan_encoded_url) and the
 * value as a POSIX shell reads it (scan_shell_form); and the comparison
 * of a host with the constraint's value (chio__domain_host_allowed,
 * chio's glob). Reads the kernel's URL and shell readers (normalize.h,
 * shell_words.h) only. No state, no locks; scratch space malloc'ed and
 * freed per value.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "constraint_domain_int.h"
#include "normalize.h"
#include "shell_words.h"

#define SHELL_STACK 512

/* The host a leaf names, canonical, in @host; nonzero when it cannot be
 * read unambiguously. @kind is chio__url_candidate's answer. */
/* Is @s scp's "user@host:path" (git, scp, rsync: "git@evil.com:x.git")?
 * One word with an '@' before its first ':', no '/' before that ':' and
 * no "//" after it: where its host starts (after the last such '@'), and
 * in *@end where it ends (the ':'); 0 when it is no such value. */
static size_t scp_host_at(const char *s, size_t n, size_t *end)
{
    size_t i, at = 0;

    for (i = 0; i < n && s[i] != ':'; i++) {
        if ((unsigned char)s[i] <= 0x20 || s[i] == '/' || s[i] == '\\')
            return 0;
        if (s[i] == '@')
            at = i + 1;
    }
    if (at == 0 || i == n || i == at || (n - i >= 3 && s[i + 1] == '/' && s[i + 2] == '/'))
        return 0;
    for (*end = i; i < n; i++)
        if ((unsigned char)s[i] <= 0x20)
            return 0;
    return at;
}

static int leaf_host(int kind, const char *s, size_t n, char *host, size_t cap)
{
    size_t at, end;

    if (kind == 1)
        return chio__url_host(s, n, host, cap);
    /* scp syntax: its host, read as a bare host */
    if ((at = scp_host_at(s, n, &end)) > 0)
        return chio__host_canon(s + at, end - at, host, cap);
    /* Only the key says URL: a bare host, or nothing we can read for sure. */
    if (memchr(s, '/', n) || memchr(s, '\\', n) || memchr(s, '@', n) || memchr(s, ':', n) ||
        memchr(s, '?', n) || memchr(s, '#', n)) {
        host[0] = '\0';
        return CHIO_EINVAL;
    }
    return chio__host_canon(s, n, host, cap);
}

/* chio's glob: '*' matches any run of characters (dots included); every
 * other character matches only itself. fnmatch would also read '?', '['
 * and '\\', so "api?.example.com" would allow "apix.example.com", a host
 * chio refuses. Backtracks to the last '*' only: O(len(glob) * len(host)). */
static int glob_matches(const char *g, const char *h)
{
    const char *star = NULL, *resume = h;

    while (*h != '\0') {
        if (*g == '*') {
            star = g++;
            resume = h;
        } else if (*g != '\0' && *g == *h) {
            g++;
            h++;
        } else if (star != NULL) {
            g = star + 1;
            h = ++resume;
        } else {
            return 0;
        }
    }
    while (*g == '*')
        g++;
    return *g == '\0';
}

/* 1 when @host is allowed; else 0 with the reason (quoting @s). */
int chio__domain_host_allowed(domain_scan *ds, const char *s, size_t n, const char *host)
{
    int match = ds->c->kind == CHIO__CONSTRAINT_DOMAIN_EXACT ? strcmp(host, ds->want) == 0
                                                             : glob_matches(ds->want, host);

    if (!match)
        snprintf(ds->reason, ds->cap, "host of '%.*s' is not allowed by %s '%.100s'",
                 (int)(n > 120 ? 120 : n), s, ds->c->type_name, ds->c->str);
    return match;
}

/* Does @s hold a word break, so that a tool may read it as running text? */
static int has_break(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (chio__url_break(s, n, i) > 0)
            return 1;
    return 0;
}

/* Whatever host a WHATWG or an RFC 3986 reader finds in @s must be
 * allowed: 1 when each is (or the reader surely finds none), 0 when one is
 * not, -1 when a reader's host cannot be told (IDNA, a character no DNS
 * name has); the reason is set on 0 and -1. */
static int readings_allowed(domain_scan *ds, const char *s, size_t n)
{
    static const int readers[] = {CHIO__URL_WHATWG, CHIO__URL_RFC3986, CHIO__URL_RFC3986_CLEAN};
    char host[CHIO__HOST_MAX];
    size_t i;
    int rc;

    for (i = 0; i < sizeof(readers) / sizeof(readers[0]); i++) {
        rc = chio__url_host_reading(s, n, readers[i], host, sizeof(host));
        if (rc == 0 && !chio__domain_host_allowed(ds, s, n, host))
            return 0;
        if (rc != 0 && rc != CHIO_EINVAL) {
            snprintf(ds->reason, ds->cap, "'%.*s' has no host that can be read unambiguously",
                     (int)(n > 120 ? 120 : n), s);
            return -1;
        }
    }
    return 1;
}

/* The bytes of white space at s[i] (a C0 control, space, DEL or a Unicode
 * space): where a tool that splits on white space only ends a word. */
static size_t space_break(const char *s, size_t n, size_t i)
{
    unsigned char c = (unsigned char)s[i];

    return c <= 0x20 || c == 0x7f ? 1 : c >= 0x80 ? chio__space_at(s + i, n - i) : 0;
}

/* A word of a value under a URL-ish key that is no URL of its own, as a
 * tool that splits the value reads it: a bare host ("https://a.example/
 * evil.com" is two URLs to curl). @spaced 2: the word starts the value or
 * follows white space, so it is read whatever it holds; 1: it follows a
 * list separator ',' or ';', and is read only when it holds '.', ':' or
 * '@' (a list splitter's "evil.com"; a single label such as the "b" of
 * "https://a.example/a,b" or the "2" of "?ids=1,2" is read as the URL's,
 * as WHATWG reads it); 0: it follows another break ('(', a quote: no
 * splitter's), and is not read. An option alone ("-x", "--proxy") is no
 * host; the value glued to one ("-xevil.com", "--proxy=evil.com") is. 1
 * when it is allowed or no host, else 0 with the reason. */
static int bare_word_allowed(domain_scan *ds, const char *w, size_t n, int spaced)
{
    char host[CHIO__HOST_MAX];
    size_t i = 1;

    if (n > 1 && w[0] == '-') {
        while (i < n && (w[i] == '-' || isalnum((unsigned char)w[i])))
            i++;
        if (i == n)
            return 1; /* an option: its value is the next word */
        i = w[i] == '=' ? i + 1 : w[1] != '-' ? 2 : 0;
        w += i;
        n -= i;
    }
    if (n == 0 || spaced == 0 ||
        (spaced == 1 && !memchr(w, '.', n) && !memchr(w, ':', n) && !memchr(w, '@', n)))
        return 1;
    if (leaf_host(2, w, n, host, sizeof(host)) != 0) {
        snprintf(ds->reason, ds->cap, "'%.*s' has no host that can be read unambiguously",
                 (int)(n > 120 ? 120 : n), w);
        return 0;
    }
    return chio__domain_host_allowed(ds, w, n, host);
}

/* Running text ("see https://a.example/ and ..."): every word that is a
 * URL must have an allowed host. 1 when some word is a URL and all are
 * allowed; 0 when one is not (reason set); -1 when no word is a URL.
 * Words end at every chio__url_break, and each must be one URL whose host
 * is allowed; a tool that splits on white space alone reads longer words
 * ("https://a.example;evil.com" has the host "a.example;evil.com" to
 * WHATWG), so whatever host a reader finds in those is held too. Under a
 * URL-ish key (@bare) the other words are read as hosts too
 * (bare_word_allowed). */
#define BRACE_MAX 16 /* braces tracked; deeper ones share the last slot */

static int words_allowed(domain_scan *ds, const char *s, size_t n, int bare)
{
    char host[CHIO__HOST_MAX];
    size_t i = 0, j, b = 1, depth = 0, k;
    int found = 0, spaced = 2, glued = 0;
    int stand[BRACE_MAX],
        empty[BRACE_MAX]; /* an open brace's word standing; an empty alternative */

    while (i < n) {
        for (j = i; j < n && (b = chio__url_break(s, n, j)) == 0; j++)
            ;
        if (j > i && chio__url_candidate(NULL, s + i, j - i) == 1) {
            found = 1;
            if (chio__url_host(s + i, j - i, host, sizeof(host)) != 0) {
                snprintf(ds->reason, ds->cap, "'%.*s' has no host that can be read unambiguously",
                         (int)(j - i > 120 ? 120 : j - i), s + i);
                return 0;
            }
            if (!chio__domain_host_allowed(ds, s + i, j - i, host))
                return 0;
        } else if (j > i && bare && !bare_word_allowed(ds, s + i, j - i, spaced)) {
            return 0;
        }
        /* Text glued to a brace that a word's host is read from: bash and
         * curl put it on each alternative, so the words as written are
         * not the hosts fetched ("{https://a.example/,a.example}.evil.com"
         * and "a.example{.evil.com,}" fetch a.example.evil.com): no host
         * that can be read unambiguously (review 49). */
        if (bare &&
            ((glued && (j > i || (j < n && s[j] == '{'))) ||
             (j > i && j < n && s[j] == '{' && chio__url_candidate(NULL, s + i, j - i) != 1 &&
              (spaced == 2 || (spaced == 1 && (memchr(s + i, '.', j - i) != NULL ||
                                               memchr(s + i, ':', j - i) != NULL ||
                                               memchr(s + i, '@', j - i) != NULL)))))) {
            snprintf(ds->reason, ds->cap, "'%.*s' has no host that can be read unambiguously",
                     (int)(n > 120 ? 120 : n), s);
            return 0;
        }
        glued = 0;
        /* the next word follows white space (2), a list separator (1),
         * or another break (0: '(' or a quote splits no list). A brace
         * opens a list of alternatives that bash and curl's URL globbing
         * expand ("https://a.example/ {evil.com,}" and
         * "{evil.com,https://a.example/}" fetch evil.com): each
         * alternative of one that opens a word is read as that word would
         * be, and so is the text after it when an alternative is empty
         * ("{,}evil.com"). Inside a word ("https://a.example/{a,b}") each
         * alternative keeps the word's start, its host (review 49). */
        if (j < n && s[j] == '{') {
            spaced = j == i ? spaced : 0;
            if (depth < BRACE_MAX) {
                stand[depth] = spaced;
                empty[depth] = 0;
            }
            depth++;
        } else if (j < n && depth > 0 && (s[j] == ',' || s[j] == '}')) {
            k = depth <= BRACE_MAX ? depth - 1 : BRACE_MAX - 1;
            if (j == i)
                empty[k] = 1; /* "{,x}", "{x,}", "{'',x}" */
            if (s[j] == ',') {
                spaced = stand[k] > 1 ? stand[k] : 1;
            } else {
                spaced = empty[k] ? stand[k] : 0;
                glued = stand[k] > 0; /* text right after it joins each alternative */
                depth--;
            }
        } else {
            spaced = j == n ? 0 : space_break(s, n, j) > 0 ? 2 : s[j] == ',' || s[j] == ';';
        }
        i = j + (j < n ? b : 1);
    }
    for (i = 0; found && i < n;) {
        for (j = i; j < n && (b = space_break(s, n, j)) == 0; j++)
            ;
        if (j > i && chio__url_candidate(NULL, s + i, j - i) == 1 &&
            readings_allowed(ds, s + i, j - i) != 1)
            return 0;
        i = j + (j < n ? b : 1);
    }
    return found ? 1 : -1;
}

/* A value that is no URL as written but one after percent-decoding
 * ("https%3A%2F%2Fevil.com"): a tool that decodes it (a proxy or redirect
 * parameter passed on) fetches that URL, so its decoded text is held to
 * the constraint as a value of its own. 0 when it is no such value (or
 * holds), 1 when it is denied (reason set). Deeper than URL_DECODE_MAX
 * layers, or out of memory, denies. */
static int scan_encoded_url(domain_scan *ds, chio__key *key, const char *s, size_t n, int depth)
{
    char *d;
    size_t len;
    int rc;

    if (!chio__has_escape(s, n))
        return 0;
    if (depth == URL_DECODE_MAX || (d = malloc(n + 1)) == NULL) {
        snprintf(ds->reason, ds->cap, "'%.*s' is percent-encoded too deep to be read as a URL",
                 (int)(n > 120 ? 120 : n), s);
        rc = 1;
    } else {
        int seen = ds->seen, outer = ds->depth; /* an encoded URL only adds
                                                 * a check: it is not a URL
                                                 * the arguments name */
        len = chio__percent_decode(s, n, d);
        ds->depth = depth + 1;
        rc = chio__url_candidate(NULL, d, len) == 1 ? chio__domain_scan(ds, key, d, len)
                                                    : scan_encoded_url(ds, key, d, len, depth + 1);
        ds->depth = outer;
        ds->seen = seen;
        free(d);
    }
    if (rc != 0) {
        ds->seen = 1;
        ds->bad = 1;
        chio__unquote_secret(ds->k, s, n, ds->c, ds->reason, ds->cap);
    }
    return rc;
}

/* A value under a URL-ish key as a POSIX shell reads it, after quote
 * removal and with "$IFS" and "${IFS}" as white space
 * ("https://a.example/${IFS}evil.com" is two words to "sh -c 'curl
 * $url'"): held to the constraint as a value of its own, once (its own
 * shell form is not read again). Running text under other keys (JSON in
 * a string) is not: its quotes are no shell's. 0 when it
 * holds or reads the same, 1 when it is denied (reason set). */
static int scan_shell_form(domain_scan *ds, chio__key *key, const char *s, size_t n)
{
    char stack[SHELL_STACK], *heap;
    const char *d;
    size_t len;
    int rc = 0, seen = ds->seen;

    if (ds->shell || !chio__key_names(key, CHIO__KEY_URL) || !chio__shell_may_differ(s, n))
        return 0;
    if ((d = chio__shell_reading(s, n, stack, sizeof(stack), &heap, &len)) == NULL) {
        snprintf(ds->reason, ds->cap, "out of memory reading '%.*s'", (int)(n > 120 ? 120 : n), s);
        rc = 1;
    } else if (len != n || memcmp(d, s, n) != 0) {
        ds->shell = 1;
        rc = chio__domain_scan(ds, key, d, len);
        ds->shell = 0;
        ds->seen = seen;
    }
    free(heap);
    if (rc != 0) {
        ds->seen = 1;
        ds->bad = 1;
        chio__unquote_secret(ds->k, s, n, ds->c, ds->reason, ds->cap);
    }
    return rc;
}

/* Does the authority of the URL @s (after its scheme's ':' and any
 * slashes or backslashes, which a WHATWG reader skips for a special
 * scheme, up to the first '/', '\\', '?' or '#') hold one of those
 * percent-encoded, which would end it once decoded? 1 for such an escape,
 * 2 for a "%uXXXX" escape (unescape() and .NET decode it, others do
 * not), 0 for none. "https://evil.com%2f@api.example.com/" is
 * api.example.com to WHATWG and RFC 3986 readers, evil.com to a tool
 * that decodes the URL before it parses it. */
static int encoded_authority(const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    size_t i;

    if (colon == NULL)
        return 0;
    for (i = (size_t)(colon - s) + 1; i < n && (s[i] == '/' || s[i] == '\\'); i++)
        ;
    for (; i < n && !strchr("/\\?#", s[i]); i++) {
        int hi, lo;
        if (s[i] != '%' || i + 2 >= n)
            continue;
        if (chio__u_escape_at(s + i, n - i))
            return 2;
        if ((hi = chio__hex_value((unsigned char)s[i + 1])) >= 0 &&
            (lo = chio__hex_value((unsigned char)s[i + 2])) >= 0 &&
            strchr("/\\?#", hi * 16 + lo) != NULL && hi * 16 + lo != 0)
            return 1;
    }
    return 0;
}

int chio__domain_scan(void *ctx, chio__key *key, const char *s, size_t n)
{
    domain_scan *ds = ctx;
    char host[CHIO__HOST_MAX];
    int kind = chio__url_candidate_key(key, s, n), ok, enc;
    size_t end;

    if (kind == 0 && scp_host_at(s, n, &end) > 0)
        kind = 2; /* "git@evil.com:x.git" under any key: a host */
    if (kind == 0)
        return scan_encoded_url(ds, key, s, n, ds->depth);
    ds->seen = 1;
    if (leaf_host(kind, s, n, host, sizeof(host)) == 0) {
        /* One URL to a WHATWG reader, yet a tool that splits words
         * ("https://a.example/ https://evil.com", a space or U+3000 in
         * the path) reads more: each URL word must be allowed too. */
        ok = chio__domain_host_allowed(ds, s, n, host);
        if (ok == 1 && has_break(s, n) &&
            words_allowed(ds, s, n, chio__key_names(key, CHIO__KEY_URL)) == 0)
            ok = 0;
        /* Its authority holds an encoded delimiter: a tool that decodes
         * first reads another host, so the decoded text is held too, as
         * it is for running text below (review 54). */
        if (ok == 1 && (enc = encoded_authority(s, n)) == 2) {
            snprintf(ds->reason, ds->cap,
                     "'%.*s' holds a %%uXXXX escape in its host part, which decoders read "
                     "differently",
                     (int)(n > 120 ? 120 : n), s);
            ok = 0;
        } else if (ok == 1 && enc == 1 && scan_encoded_url(ds, key, s, n, ds->depth) != 0) {
            return 1;
        }
    } else {
        /* Not one unambiguous URL. When it is running text, the URLs in
         * it; and whatever host a WHATWG or an RFC 3986 reader still finds
         * in the whole ("https://a.example<TAB>.evil.com" is
         * a.example.evil.com to WHATWG, "https://a.example (@\uff45vil.com"
         * evil.com): a reader that surely finds no host is no concern, one
         * whose host we cannot tell (IDNA) denies. */
        ok = kind == 1 && has_break(s, n)
                 ? words_allowed(ds, s, n, chio__key_names(key, CHIO__KEY_URL))
                 : -1;
        if (ok == 1)
            ok = readings_allowed(ds, s, n);
        else if (ok < 0)
            snprintf(ds->reason, ds->cap, "'%.*s' has no host that can be read unambiguously",
                     (int)(n > 120 ? 120 : n), s);
        /* No reader takes it as one URL, so a tool may decode it first
         * ("http:a%2f@127.0.0.1 :80" is a.example/@... to WHATWG once
         * decoded): the decoded text is held to the constraint too. */
        if (ok == 1 && scan_encoded_url(ds, key, s, n, ds->depth) != 0)
            return 1;
    }
    if (ok == 1 && scan_shell_form(ds, key, s, n) != 0)
        return 1;
    if (ok == 1)
        return 0;
    chio__unquote_secret(ds->k, s, n, ds->c, ds->reason, ds->cap);
    ds->bad = 1;
    return 1;
}
