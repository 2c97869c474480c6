/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/constraint_domain.c - the domain_exact and domain_glob
 * constraints (check 6), called by constraints.c:
 *   domain_exact  the hosts of the URL/host leaves must exist and all equal
 *   domain_glob   ...or all match the glob ('*' any run; every other
 *                 character, '?' and '[' included, is itself, as in chio).
 * Leaves: under a URL-ish key (url, uri, host, domain, endpoint, href,
 * link, address, origin, proxy, proxies, ..., or a whole word of it: ip,
 * server, remote, upstream, ..., or a word starting with "prox": the
 * nearest key or any enclosing member's,
 * so {"proxy": {"server": "evil.com:3128"}} is a host), a value with
 * "://", a special scheme and ':', or a leading "//" or "\\" (at its
 * start, a later word's, or after an '='). Hosts come from the WHATWG URL
 * parser (userinfo up to the last '@', '\' ends the authority, IPv4 forms
 * in dotted decimal, IPv6 compressed, percent-decoded, lowercase, one
 * final dot removed); a leaf without a readable host, a non-ASCII host, a
 * host with a character no DNS name has ("&", "$", ...), a URL an RFC 3986
 * reader would send elsewhere (or with two '@'), or a value under a URL
 * key with no scheme that holds / \ @ : ? or # denies (a number or
 * boolean there is read as its JSON text). A value that is not one URL but
 * running text with URLs in it is held to each of them (each must parse
 * and match), and so is a value that is one URL but holds a word break
 * (white space, a Unicode space, ",;|" ...), and so is the host a WHATWG
 * or RFC 3986 reader takes from the whole value (denied when it is
 * non-ASCII), and from each word split at white space alone; running text
 * no reader takes as one URL is held to its decoded text too; a
 * non-special URL's opaque host counts only when it is canonical as
 * written; a value that is a URL only once percent-decoded is held to the
 * same as decoded (scan_encoded_url).
 * Under a URL-ish key the other words of such a value are hosts too
 * (bare_word_allowed: "https://a.example/ evil.com" is two URLs to curl):
 * every word after white space (or at the start) is read as a bare host
 * ("-x" and "--opt" alone are options; "-xHOST" and "--opt=HOST" their
 * hosts), and so is a word after a list separator ',' or ';' that holds
 * '.', ':' or '@' (a list splitter reads "https://a.example/,evil.com" as
 * two): a single label there ("https://a.example/a,b", "?ids=1,2") is
 * read as part of the URL, as WHATWG reads it; a word after another break
 * ('(', a quote) is not read. A value under a URL-ish key is read again as
 * a POSIX shell reads it (quote removal, "$IFS" and "${IFS}" as white
 * space; shell_words.c). A value in scp syntax ("git@evil.com:x.git")
 * under any key is a bare host. The constraint's value is read the same
 * way (a glob: lowercased only, as chio reads it). Every string value is
 * also read as chio's own kernel reads it (chio_leaf_host: "evil.com" or
 * "x@evil.com" under any key is the host evil.com), and that host, when
 * there is one, must be allowed too (review 46), and so must every host
 * in a later ':'-field of it or of its words, an IPv4 number or an IPv6
 * literal included (chio__leaf_field_hosts; review 17).
 * No state, no locks; scratch space malloc'ed and freed per value.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "constraint_domain.h"
#include "guard_scan.h"
#include "normalize.h"
#include "shell_ansi.h"
#include "shell_words.h"

#define SHELL_STACK 512

typedef struct domain_scan {
    chio_kernel *k;
    const chio__constraint *c;
    char want[CHIO__HOST_MAX];
    int seen, bad;
    int depth;    /* layers of percent-decoding of the value being read */
    int shell;    /* reading a value's shell form (chio__shell_unquote) */
    int embedded; /* layers of JSON-in-a-string above the leaf being read */
    char *reason;
    size_t cap;
} domain_scan;

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
static int host_allowed(domain_scan *ds, const char *s, size_t n, const char *host)
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
        if (rc == 0 && !host_allowed(ds, s, n, host))
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
    return host_allowed(ds, w, n, host);
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
            if (!host_allowed(ds, s + i, j - i, host))
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

static int scan_domain(void *ctx, chio__key *key, const char *s, size_t n);

/* Layers of percent-encoding looked through for a URL a tool decodes. */
#define URL_DECODE_MAX 4

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
        rc = chio__url_candidate(NULL, d, len) == 1 ? scan_domain(ds, key, d, len)
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
        rc = scan_domain(ds, key, d, len);
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

static int scan_domain(void *ctx, chio__key *key, const char *s, size_t n)
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
        ok = host_allowed(ds, s, n, host);
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

static int chio_leaf_host(const char *s, size_t n, size_t *at, size_t *len)
{
    return chio__leaf_host(s, n, 0, at, len);
}

/* A host found in a later field or word of a leaf (chio__leaf_field_hosts:
 * "a.example:443:evil.com:443", "3232235777:3128", "[::1]:3128"), checked
 * against the constraint with the whole leaf quoted. */
typedef struct field_check {
    domain_scan *ds;
    const char *s;
    size_t n;
} field_check;

static int field_host_allowed(void *ctx, const char *h, size_t len)
{
    field_check *fc = ctx;
    char host[CHIO__HOST_MAX];

    if (chio__host_canon(h, len, host, sizeof(host)) != 0) {
        snprintf(fc->ds->reason, fc->ds->cap,
                 "'%.*s' names a host that cannot be read unambiguously",
                 (int)(fc->n > 120 ? 120 : fc->n), fc->s);
        return 1;
    }
    return !host_allowed(fc->ds, fc->s, fc->n, host);
}

/* chio holds every string leaf whose own reading (chio_leaf_host) is a
 * host to the constraint, whatever its key: {"target": "evil.com"} or
 * {"to": "x@evil.com"} beside an allowed URL is denied by chio, so it is
 * here (the URL readings above apply to URL-ish keys and URLs only).
 * Such a host is one more check, not the URL the arguments must name (a
 * grant that needs one still needs one). Every later ':'-field of the
 * leaf and of its words is read the same way, and an IPv4 number or an
 * IPv6 literal there is a host too (review 17 constraints F1, F2: curl's
 * "--connect-to a.example:443:evil.com:443", requests' proxies
 * {"https": "3232235777:3128"}). 1 when it holds, else 0 with the
 * reason. */
static int chio_reading_allowed(domain_scan *ds, const char *s, size_t n)
{
    char host[CHIO__HOST_MAX];
    field_check fc;
    size_t at, len;

    /* "évil.com": a tool that puts it in a URL reaches its punycode
     * (xn--vil-9la.com), which the kernel does not compute; review 13 */
    if (chio__leaf_host(s, n, 1, &at, &len)) {
        snprintf(ds->reason, ds->cap,
                 "'%.*s' names a host past ASCII, which the kernel cannot compare",
                 (int)(n > 120 ? 120 : n), s);
        return 0;
    }
    if (chio_leaf_host(s, n, &at, &len)) {
        if (chio__host_canon(s + at, len, host, sizeof(host)) != 0) {
            snprintf(ds->reason, ds->cap, "'%.*s' names a host that cannot be read unambiguously",
                     (int)(n > 120 ? 120 : n), s);
            return 0;
        }
        if (!host_allowed(ds, s, n, host))
            return 0;
    }
    fc.ds = ds;
    fc.s = s;
    fc.n = n;
    return chio__leaf_field_hosts(s, n, field_host_allowed, &fc) == 0;
}

/* An argv passed as an array of words: the element after one that ends
 * with an option taking a host ("-x", "--proxy") is that option's value,
 * read whole as chio__leaf_field_hosts reads a value glued on or in the
 * same string (["-x", "2130706433"], ["--proxy", 3232235777]). Every
 * array of @v, at any depth of its members; 1 when each such value
 * holds, else 0 with the reason. */
static int option_values_allowed(domain_scan *ds, const chio_json *v)
{
    const chio_json *e, *next;
    field_check fc;
    char num[64];
    size_t i, n, len;
    const char *s;
    int program;

    if (chio_json_typeof(v) != CHIO_JSON_ARRAY && chio_json_typeof(v) != CHIO_JSON_OBJECT)
        return 1;
    n = chio_json_size(v);
    program = chio_json_typeof(v) == CHIO_JSON_ARRAY && n > 0 &&
              (s = chio_json_string(chio_json_at(v, 0), &len)) != NULL &&
              chio__leaf_host_program(s, len);
    for (i = 0; i < n; i++) {
        e = chio_json_at(v, i);
        if (!option_values_allowed(ds, e))
            return 0;
        if (chio_json_typeof(v) != CHIO_JSON_ARRAY || i + 1 >= n ||
            chio_json_typeof(e) != CHIO_JSON_STRING || (s = chio_json_string(e, &len)) == NULL ||
            !chio__leaf_takes_host(s, len, program))
            continue;
        next = chio_json_at(v, i + 1);
        if (chio_json_typeof(next) == CHIO_JSON_STRING) {
            s = chio_json_string(next, &len);
        } else if (chio_json_typeof(next) == CHIO_JSON_INT ||
                   chio_json_typeof(next) == CHIO_JSON_UINT) {
            len = chio__number_text(next, num);
            s = num;
        } else {
            continue;
        }
        fc.ds = ds;
        fc.s = s;
        fc.n = len;
        if (chio__leaf_value_hosts(s, len, field_host_allowed, &fc) != 0) {
            chio__unquote_secret(ds->k, s, len, ds->c, ds->reason, ds->cap);
            ds->seen = 1;
            ds->bad = 1;
            return 0;
        }
    }
    return 1;
}

/* chio_reading_allowed() of @s (@n bytes) as a URL's host parser folds
 * it (chio__host_fold: fullwidth "ｅｖｉｌ．ｃｏｍ" and "evil。com" are
 * evil.com to a tool that puts them in a URL; review 12). Only for text
 * with a byte past ASCII. */
static int folded_reading_allowed(domain_scan *ds, const char *s, size_t n)
{
    char *f;
    size_t i, len;
    int ok;

    for (i = 0; i < n && (unsigned char)s[i] < 0x80; i++)
        ;
    if (i == n)
        return 1;
    if ((f = malloc(n + 1)) == NULL) {
        snprintf(ds->reason, ds->cap, "out of memory reading '%.*s'", (int)(n > 120 ? 120 : n), s);
        return 0;
    }
    len = chio__host_fold(s, n, f);
    ok = chio_reading_allowed(ds, f, len);
    free(f);
    return ok;
}

/* chio_reading_allowed() of @s, folded too, and of each layer of its
 * percent-decoding (review 11, constraints L2): "evil%2ecom" under any
 * key is evil.com to a tool that puts it in a URL (WHATWG decodes a
 * host's escapes). 1 when every reading holds; deeper than
 * URL_DECODE_MAX layers, or out of memory, denies. */
static int chio_readings_allowed(domain_scan *ds, const char *s, size_t n)
{
    char *d = NULL;
    size_t len = n;
    int depth, ok = chio_reading_allowed(ds, s, n) && folded_reading_allowed(ds, s, n);

    for (depth = 0; ok && chio__has_escape(s, len); depth++) {
        char *next = depth < URL_DECODE_MAX ? malloc(len + 1) : NULL;
        if (next == NULL) {
            snprintf(ds->reason, ds->cap, "'%.*s' is percent-encoded too deep to be read",
                     (int)(n > 120 ? 120 : n), s);
            ok = 0;
            break;
        }
        len = chio__percent_decode(s, len, next);
        free(d);
        s = d = next;
        ok = chio_reading_allowed(ds, s, len) && folded_reading_allowed(ds, s, len);
    }
    free(d);
    return ok;
}

/* Does @s, blanks aside, start with '{' or '[' and end with '}' or ']'? */
static int json_text(const char *s, size_t n)
{
    size_t a = 0, b = n;

    while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\n' || s[a] == '\r'))
        a++;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\n' || s[b - 1] == '\r'))
        b--;
    return b - a >= 2 && (s[a] == '{' || s[a] == '[') && (s[b - 1] == '}' || s[b - 1] == ']');
}

/* chio_readings_allowed() of @s and, when it holds a quote, of the words
 * a shell hands a program: quotes removed ("curl -x
 * 'evil.com:3128'", "HTTPS_PROXY='evil.com:3128' curl"), and each $'..'
 * decoded (review 20 fixes F3: an option's value in quotes was read with
 * its quotes, and so was no host). */
static int leaf_readings_allowed(domain_scan *ds, const char *s, size_t n)
{
    char stack[512], *heap = NULL, *ansi;
    const char *r;
    size_t len;
    int ok;

    if (!chio_readings_allowed(ds, s, n))
        return 0;
    /* quotes or a line continuation ("-x \\" then a newline; review 21
     * H2): a backslash alone is more often a Windows path
     * ("C:\\Users\\me\\x.txt") than a shell's escape; and JSON text,
     * whose quotes removed would run its members into one word ('{"name":
     * "report.pdf","size":1}' names no host; review 21 M1), is no command */
    if ((memchr(s, '\'', n) == NULL && memchr(s, '"', n) == NULL &&
         memmem(s, n, "\\\n", 2) == NULL && memmem(s, n, "\\\r\n", 3) == NULL) ||
        json_text(s, n))
        return 1;
    if ((r = chio__shell_reading(s, n, stack, sizeof(stack), &heap, &len)) == NULL) {
        snprintf(ds->reason, ds->cap, "out of memory reading '%.*s'", (int)(n > 120 ? 120 : n), s);
        return 0;
    }
    ok = (len == n && memcmp(r, s, n) == 0) || chio_readings_allowed(ds, r, len);
    free(heap);
    if (ok && memmem(s, n, "$'", 2) != NULL) {
        if ((ansi = malloc(n + 1)) == NULL) {
            snprintf(ds->reason, ds->cap, "out of memory reading '%.*s'", (int)(n > 120 ? 120 : n),
                     s);
            return 0;
        }
        len = chio__shell_unquote_ansi(s, n, ansi);
        ok = chio_readings_allowed(ds, ansi, len);
        free(ansi);
    }
    return ok;
}

/* Object keys are read too ({"requests": {"https://evil.com/": {...}}}); a
 * key is a URL when its text says so (chio__url_candidate without a key). */
static int scan_domain_scalar(void *ctx, chio__key *key, const char *s, size_t n);

/* A string that is itself JSON ("{\"host\": \"evil.com\"}", a body or
 * options a tool parses) is read as the arguments it holds would be,
 * under the leaf's key: its URLs and hosts are held to the constraint
 * (they do not count as the URL the arguments must name). One that
 * cannot be read unambiguously (a duplicate key, too many layers)
 * denies. */
static int scan_domain_text(void *ctx, chio__key *key, const char *s, size_t n, int is_key)
{
    domain_scan *ds = ctx;
    int seen = ds->seen, rc = 0;

    if (!is_key) {
        ds->embedded++;
        rc = chio__each_embedded(s, n, key, ds->embedded - 1, scan_domain_text, scan_domain_scalar,
                                 ds);
        ds->embedded--;
        if (rc == CHIO__EMBEDDED_AMBIGUOUS) {
            snprintf(ds->reason, ds->cap, "'%.*s' holds JSON that cannot be read unambiguously",
                     (int)(n > 120 ? 120 : n), s);
            chio__unquote_secret(ds->k, s, n, ds->c, ds->reason, ds->cap);
            ds->seen = 1;
            ds->bad = 1;
            return 1;
        }
        if (rc != 0)
            return rc;
        ds->seen = seen;
        /* chio reads each string leaf of the arguments whole: a string
         * inside a JSON text is no leaf to it ('{"name":"report.pdf"}'
         * names no host), and the embedded readings above keep their own
         * rules (URL-ish keys, URLs). */
        if (ds->embedded == 0 && !leaf_readings_allowed(ds, s, n)) {
            chio__unquote_secret(ds->k, s, n, ds->c, ds->reason, ds->cap);
            ds->seen = 1; /* denied: keep this reason */
            ds->bad = 1;
            return 1;
        }
    }
    return scan_domain(ctx, key, s, n);
}

/* A number or boolean whose key names a URL or host is read as its JSON
 * text, as a bare host: a tool that builds the URL from it connects there
 * ("http://" + 2130706433 is 127.0.0.1). */
static int scan_domain_scalar(void *ctx, chio__key *key, const char *s, size_t n)
{
    if (!chio__key_names(key, CHIO__KEY_URL))
        return 0;
    return scan_domain(ctx, key, s, n);
}

/* Can a host read from the arguments ever equal the domain_exact value
 * @v (@n bytes)? Every such host is canonical (host_allowed compares it
 * whole, ASCII): no scheme, port, path, user or query, no '*' or '\\', no
 * white space, control or non-ASCII character (a host is read in its
 * punycode form; the value is compared as written), no empty label, and a
 * ':' only inside an IPv6 literal's brackets. A value with one of those
 * matches no host
 * ("https://example.com", "example.com:443", "*.example.com", "a..b"),
 * whatever the call. One final dot is dropped first, as the check does. */
static int exact_can_match(const char *v, size_t n)
{
    size_t i;

    if (n > 0 && v[n - 1] == '.')
        n--;
    if (n == 0 || v[0] == '.')
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)v[i];
        if (ch <= 0x20 || ch >= 0x7f || strchr("/@?#*\\", ch) != NULL)
            return 0;
        if (ch == '.' && i + 1 < n && v[i + 1] == '.')
            return 0;
        if (ch == ':' && v[0] != '[')
            return 0;
    }
    return 1;
}

int chio__domain_value_denies(const chio__constraint *c, char *reason, size_t cap)
{
    size_t n = strlen(c->str);

    if (n == 0 || n >= CHIO__HOST_MAX) {
        snprintf(reason, cap,
                 "%s value is empty or longer than a host name: no host matches it "
                 "(denied)",
                 c->type_name);
        return 1;
    }
    if (c->kind == CHIO__CONSTRAINT_DOMAIN_EXACT && !exact_can_match(c->str, n)) {
        snprintf(reason, cap,
                 "domain_exact '%.100s' is not a host name as hosts are read (a scheme, port, "
                 "path, '*', white space, a non-ASCII character or an empty label): no host "
                 "matches it (denied)",
                 c->str);
        return 1;
    }
    /* Every host is read without a final dot, and a glob keeps its own
     * (as chio reads it): "*.example.com." matches no host. */
    if (c->kind == CHIO__CONSTRAINT_DOMAIN_GLOB && c->str[n - 1] == '.') {
        snprintf(reason, cap,
                 "domain_glob '%.100s' ends in a dot and hosts are read without their final dot: "
                 "no host matches it (denied)",
                 c->str);
        return 1;
    }
    return 0;
}

int chio__domain_holds(chio_kernel *k, const chio__constraint *c, const chio_json *args,
                       char *reason, size_t cap)
{
    domain_scan ds;
    size_t i, n = strlen(c->str);

    memset(&ds, 0, sizeof(ds));
    ds.k = k;
    ds.c = c;
    ds.reason = reason;
    ds.cap = cap;
    if (chio__domain_value_denies(c, reason, cap))
        return 0;
    /* The allowed host, read like the hosts it is compared with; an exact
     * value the host reader refuses is lowercased with one final dot
     * removed. A glob is lowercased only, as chio reads it: its final dot
     * stays, so "*.example.com." matches no host (every host is read
     * without one), as in chio; until review 48 the dot was dropped and
     * the glob allowed calls chio denies. */
    if (c->kind != CHIO__CONSTRAINT_DOMAIN_EXACT ||
        chio__host_canon(c->str, n, ds.want, sizeof(ds.want)) != 0) {
        for (i = 0; i < n; i++)
            ds.want[i] = (char)tolower((unsigned char)c->str[i]);
        ds.want[n] = '\0';
        if (c->kind == CHIO__CONSTRAINT_DOMAIN_EXACT && ds.want[n - 1] == '.')
            ds.want[--n] = '\0';
    }
    chio__each_text(args, 0, scan_domain_text, &ds);
    if (!ds.bad)
        chio__each_scalar(args, scan_domain_scalar, &ds);
    if (!ds.bad)
        option_values_allowed(&ds, args);
    if (!ds.seen)
        snprintf(reason, cap, "%s '%.100s': the arguments name no URL or host", c->type_name,
                 c->str);
    return ds.seen && !ds.bad;
}
