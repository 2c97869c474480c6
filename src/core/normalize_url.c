/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/normalize_url.c - URLs the way the tools that receive them will
 * read them: WHATWG URLs (https://url.spec.whatwg.org/: the basic URL
 * parser's clean-up, scheme, authority and userinfo states, cross-checked
 * against an RFC 3986 reading) and which leaves name a URL or host
 * (chio__url_candidate). The host itself is parsed in normalize_host.c;
 * which keys name a URL (chio__key_names), paths and the %XX reader are
 * normalize.c's. Ambiguity is failure: the kernel denies what it cannot
 * read for sure.
 *
 * Core layer: calls nothing above it. No state, no locks; scratch space is
 * on the stack, or malloc'ed and freed before return for long inputs.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chio/error.h"
#include "normalize.h"

#define STACK_BUF 512

/* ---- small helpers ------------------------------------------------------------------ */

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* ---- URLs --------------------------------------------------------------------------------- */

enum { SCHEME_OTHER = 0, SCHEME_SPECIAL, SCHEME_FILE };

static int scheme_kind(const char *s, size_t len)
{
    static const char *const special[] = {"http", "https", "ws", "wss", "ftp", NULL};
    size_t i;

    for (i = 0; special[i] != NULL; i++)
        if (strlen(special[i]) == len && strncasecmp(s, special[i], len) == 0)
            return SCHEME_SPECIAL;
    if (len == 4 && strncasecmp(s, "file", 4) == 0)
        return SCHEME_FILE;
    return SCHEME_OTHER;
}

/* Length of a WHATWG scheme at the start of @s when ':' follows it, else 0. */
static size_t scheme_len(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || !is_alpha((unsigned char)s[0]))
        return 0;
    for (i = 1; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_alpha(c) && !chio__ascii_digit(c) && c != '+' && c != '-' && c != '.')
            break;
    }
    return i < n && s[i] == ':' ? i : 0;
}

/* WHATWG's input clean-up: leading/trailing C0-or-space stripped, tab, LF
 * and CR removed anywhere. @out has room for @n bytes. */
static size_t url_clean(const char *s, size_t n, char *out)
{
    size_t a = 0, b = n, o = 0, i;

    while (a < b && (unsigned char)s[a] <= 0x20)
        a++;
    while (b > a && (unsigned char)s[b - 1] <= 0x20)
        b--;
    for (i = a; i < b; i++)
        if (s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            out[o++] = s[i];
    return o;
}

/* Does @s hold a WHATWG forbidden host code point (what makes the opaque
 * host parser fail)? */
static int has_forbidden_host_cp(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] == '\0' || strchr("\t\n\r #/:<>?@[\\]^|", s[i]) != NULL)
            return 1;
    return 0;
}

/* Is the opaque host @s (a non-special URL's: WHATWG keeps it as written,
 * neither percent-decoded nor read as IPv4) the canonical host @canon,
 * ASCII case and one final dot aside? "foo://0177.0.0.1/" names the DNS
 * name "0177.0.0.1", which one resolver reads as 127.0.0.1 (octal) and
 * another as 177.0.0.1; "foo://%67ood.example" names "%67ood.example".
 * Bracketed IPv6 is parsed for opaque hosts too. */
static int opaque_host_plain(const char *s, size_t n, const char *canon)
{
    size_t i;

    if (n > 0 && s[0] == '[')
        return 1;
    if (n > 1 && s[n - 1] == '.')
        n--;
    if (strlen(canon) != n)
        return 0;
    for (i = 0; i < n; i++)
        if (chio__ascii_lower((unsigned char)s[i]) != (unsigned char)canon[i])
            return 0;
    return 1;
}

/* The authority starting at @p: userinfo up to the last '@', host, port.
 * @strict refuses what readers disagree on (two '@', '\' in a non-special
 * authority); else it is read as WHATWG does, its host by
 * chio__host_reading. */
static int authority(const char *t, size_t m, size_t p, int special, int strict, char *out,
                     size_t cap)
{
    size_t e = p, h, hend, i;
    int rc;

    while (e < m && t[e] != '/' && t[e] != '?' && t[e] != '#' && !(special && t[e] == '\\'))
        e++;
    if (strict && !special && memchr(t + p, '\\', e - p) != NULL)
        return CHIO_EINVAL; /* readers disagree on '\' in non-special URLs */
    h = p;
    for (i = e; i > p; i--)
        if (t[i - 1] == '@') {
            h = i;
            break;
        }
    if (strict && h > p && memchr(t + p, '@', h - 1 - p) != NULL)
        return CHIO_EINVAL; /* two '@': readers disagree on which one ends the userinfo */
    if (h < e && t[h] == '[') {
        const char *rb = memchr(t + h, ']', e - h);
        if (rb == NULL)
            return CHIO_EINVAL;
        hend = (size_t)(rb - t) + 1;
        if (hend < e && t[hend] != ':')
            return CHIO_EINVAL;
    } else {
        const char *colon = memchr(t + h, ':', e - h);
        hend = colon != NULL ? (size_t)(colon - t) : e;
    }
    if (hend < e) { /* ":port": digits only, at most 65535 */
        unsigned long port = 0;
        for (i = hend + 1; i < e; i++) {
            if (!chio__ascii_digit((unsigned char)t[i]))
                return CHIO_EINVAL;
            port = port * 10 + (unsigned long)(t[i] - '0');
            if (port > 65535)
                return CHIO_EINVAL;
        }
    }
    if (hend == h)
        return CHIO_EINVAL; /* empty host */
    rc = strict ? chio__host_canon(t + h, hend - h, out, cap)
                : chio__host_reading(t + h, hend - h, out, cap);
    /* WHATWG's opaque host parser fails only on a forbidden host code
     * point; a C0 control, '%' or DEL it keeps (percent-encoded), so a
     * reading cannot say it surely fails there. */
    if (rc == CHIO_EINVAL && !special && !strict && t[h] != '[' &&
        !has_forbidden_host_cp(t + h, hend - h))
        rc = CHIO_ERANGE;
    /* A non-special URL's host is opaque to WHATWG: one that only reads as
     * the canonical host once decoded or read as IPv4 is ambiguous. */
    if (rc == 0 && !special && !opaque_host_plain(t + h, hend - h, out))
        rc = strict ? CHIO_EINVAL : CHIO_ERANGE;
    return rc;
}

static int url_host_clean(const char *t, size_t m, int strict, char *out, size_t cap)
{
    size_t sl = scheme_len(t, m), p;

    if (sl == 0) {
        /* scheme-relative: read as a special URL against a special base */
        if (m < 2 || !chio__is_slash((unsigned char)t[0]) || !chio__is_slash((unsigned char)t[1]))
            return CHIO_EINVAL;
        for (p = 0; p < m && chio__is_slash((unsigned char)t[p]); p++)
            ;
        return authority(t, m, p, 1, strict, out, cap);
    }
    p = sl + 1;
    switch (scheme_kind(t, sl)) {
    case SCHEME_SPECIAL:
        while (p < m && chio__is_slash((unsigned char)t[p]))
            p++;
        return authority(t, m, p, 1, strict, out, cap);
    case SCHEME_FILE: {
        size_t e;
        char d[16];
        if (p + 1 >= m || !chio__is_slash((unsigned char)t[p]) ||
            !chio__is_slash((unsigned char)t[p + 1]))
            return CHIO_EINVAL; /* no host */
        p += 2;
        for (e = p; e < m && !chio__is_slash((unsigned char)t[e]) && t[e] != '?' && t[e] != '#';
             e++)
            ;
        if (e - p < sizeof(d) && chio__percent_decode(t + p, e - p, d) == 9 &&
            strcasecmp(d, "localhost") == 0)
            return CHIO_EINVAL; /* the local machine: no host */
        if (e == p)
            return CHIO_EINVAL;
        /* a reading: a host WHATWG accepts but no DNS name has
         * ("a.example;b.example") is one the kernel cannot compare */
        return strict ? chio__host_canon(t + p, e - p, out, cap)
                      : chio__host_reading(t + p, e - p, out, cap);
    }
    default:
        if (p + 1 < m && t[p] == '/' && t[p + 1] == '/')
            return authority(t, m, p + 2, 0, strict, out, cap);
        return CHIO_EINVAL; /* no authority, no host */
    }
}

/*
 * The host an RFC 3986 reader (curl, urllib3, Go's net/url, Python's
 * urlsplit) takes from a special-scheme or scheme-relative URL: after the
 * scheme, any run of '/' and '\' is skipped (curl reads "https:host",
 * "https:/\\host" and "https:///host" as naming host; the others need
 * "//" and see no host otherwise, so reading one here only adds a check);
 * without a scheme "//" is required; the authority ends at the first / ? #
 * (a '\' is an ordinary character), the userinfo at the last '@'. 1 when
 * that reader sees no host at all (it cannot connect anywhere), 0 with the
 * canonical host in @out, or a failure code when the host it sees is not
 * readable (@reading: chio__host_reading's codes).
 */
static int rfc3986_host(const char *s, size_t n, int reading, char *out, size_t cap)
{
    size_t a = 0, b = n, p, e, h, i, sl;

    while (a < b && (unsigned char)s[a] <= 0x20)
        a++;
    while (b > a && (unsigned char)s[b - 1] <= 0x20)
        b--;
    s += a;
    n = b - a;
    sl = scheme_len(s, n);
    if (sl > 0 && scheme_kind(s, sl) != SCHEME_SPECIAL)
        return 1;
    if (sl > 0) {
        for (p = sl + 1; p < n && chio__is_slash((unsigned char)s[p]); p++)
            ;
    } else {
        if (n < 2 || s[0] != '/' || s[1] != '/')
            return 1;
        p = 2;
    }
    for (e = p; e < n && s[e] != '/' && s[e] != '?' && s[e] != '#'; e++)
        ;
    h = p;
    for (i = e; i > p; i--)
        if (s[i - 1] == '@') {
            h = i;
            break;
        }
    if (h < e && s[h] == '[') {
        const char *rb = memchr(s + h, ']', e - h);
        e = rb != NULL ? (size_t)(rb - s) + 1 : e;
    } else {
        const char *colon = memchr(s + h, ':', e - h);
        e = colon != NULL ? (size_t)(colon - s) : e;
    }
    if (e == h)
        return 1;
    return reading ? chio__host_reading(s + h, e - h, out, cap)
                   : chio__host_canon(s + h, e - h, out, cap);
}

/* Does the RFC 3986 reading of @s (0 or 1 from rfc3986_host) agree with
 * the WHATWG host @want? */
static int rfc3986_agrees(const char *s, size_t n, const char *want)
{
    char other[CHIO__HOST_MAX];
    int r = rfc3986_host(s, n, 0, other, sizeof(other));

    return r == 1 || (r == 0 && strcmp(other, want) == 0);
}

/* The WHATWG host of @s: @strict, cross-checked against RFC 3986 readers
 * (chio__url_host); else WHATWG's reading alone. */
static int url_host(const char *s, size_t n, int strict, char *out, size_t cap)
{
    char stack[STACK_BUF * 2], *heap, *t;
    size_t m;
    int rc;

    if (cap > 0)
        out[0] = '\0';
    t = chio__scratch(stack, sizeof(stack), n + 1, &heap);
    if (t == NULL)
        return CHIO_ENOMEM;
    m = url_clean(s, n, t);
    rc = url_host_clean(t, m, strict, out, cap);
    /* Where WHATWG and RFC 3986 readers would connect to different hosts
     * ("https://a.com\\@b.com"), the URL is ambiguous. The RFC 3986 reading
     * is made of the URL as written (curl, urllib3) and with tab, LF and CR
     * removed (Python's urlsplit: "ht<TAB>tps://a.com\\@b.com" is b.com). */
    if (rc == 0 && strict && scheme_kind(t, scheme_len(t, m)) != SCHEME_FILE &&
        (!rfc3986_agrees(s, n, out) || !rfc3986_agrees(t, m, out)))
        rc = CHIO_EINVAL;
    free(heap);
    if (rc != 0 && cap > 0)
        out[0] = '\0';
    return rc;
}

int chio__url_host(const char *s, size_t n, char *out, size_t cap)
{
    return url_host(s, n, 1, out, cap);
}

int chio__url_host_reading(const char *s, size_t n, int reader, char *out, size_t cap)
{
    char stack[STACK_BUF * 2], *heap = NULL, *t = (char *)s;
    int rc;

    if (reader == CHIO__URL_WHATWG)
        return url_host(s, n, 0, out, cap);
    if (reader == CHIO__URL_RFC3986_CLEAN) {
        size_t i, m = 0;
        if ((t = chio__scratch(stack, sizeof(stack), n + 1, &heap)) == NULL)
            return CHIO_ENOMEM;
        for (i = 0; i < n; i++)
            if (s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
                t[m++] = s[i];
        n = m;
    }
    rc = rfc3986_host(t, n, 1, out, cap);
    free(heap);
    if (rc != 0 && cap > 0)
        out[0] = '\0';
    return rc == 1 ? CHIO_EINVAL : rc;
}

int chio__url_special_scheme(const char *s, size_t n)
{
    char sch[8];
    size_t i = 0, k = 0;

    while (i < n && (unsigned char)s[i] <= 0x20)
        i++;
    for (; i < n; i++) {
        char c = s[i];
        if (c == '\t' || c == '\n' || c == '\r')
            continue;
        if (c == ':')
            break;
        if (k == sizeof(sch))
            return 0;
        sch[k++] = c;
    }
    return i < n && k > 0 && scheme_kind(sch, k) != SCHEME_OTHER;
}

/* Where a word of running text ends, when looking for the URLs in it. */
static int url_word_end(unsigned char c)
{
    return c <= 0x20 || c == 0x7f || (c != '\0' && strchr("\"'`<>(){},;|", c) != NULL);
}

size_t chio__url_break(const char *s, size_t n, size_t i)
{
    if (url_word_end((unsigned char)s[i]))
        return 1;
    return (unsigned char)s[i] >= 0x80 ? chio__space_at(s + i, n - i) : 0;
}

/* Does the word at @s (@n bytes to the end of the value) start as a URL
 * does: a special scheme and ':', or two slashes (scheme-relative)? Reads
 * at most 8 bytes: a word holds no tab or newline for WHATWG to drop. */
static int word_starts_url(const char *s, size_t n)
{
    size_t i;

    if (n >= 2 && chio__is_slash((unsigned char)s[0]) && chio__is_slash((unsigned char)s[1]))
        return 1;
    for (i = 0; i < n && i < 6 && s[i] != ':'; i++)
        ;
    return i > 0 && i < n && s[i] == ':' && scheme_kind(s, i) != SCHEME_OTHER;
}

/* Does a word after the first start as a URL ("see https:evil.example",
 * "text\u00a0//evil.example"), or a value after an '=' ("redirect=https:
 * evil.example", "--url=//evil.example": a tool that reads a query string
 * or an option's value reads what follows the '=' alone)? A tool that
 * splits running text on white space or punctuation reads each word
 * alone. O(n). */
static int later_word_url(const char *s, size_t n)
{
    size_t i = 0, b;

    while (i < n) {
        if ((b = chio__url_break(s, n, i)) == 0) {
            if (s[i] == '=' && word_starts_url(s + i + 1, n - i - 1))
                return 1;
            i++;
            continue;
        }
        i += b;
        if (i < n && chio__url_break(s, n, i) == 0 && word_starts_url(s + i, n - i))
            return 1;
    }
    return 0;
}

int chio__url_candidate(const char *key, const char *s, size_t n)
{
    chio__key k = {key, 0, 0, NULL};

    return chio__url_candidate_key(&k, s, n);
}

int chio__url_candidate_key(chio__key *key, const char *s, size_t n)
{
    size_t i, k = 0;
    char lead[2];

    /* "://" with WHATWG's tab/newline removal applied */
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\t' || c == '\n' || c == '\r')
            continue;
        if (c == ':')
            k = 1;
        else if (c == '/' && k > 0 && k < 3)
            k++;
        else
            k = 0;
        if (k == 3)
            return 1;
    }
    if (chio__url_special_scheme(s, n))
        return 1;
    for (i = 0; i < n && (unsigned char)s[i] <= 0x20; i++)
        ;
    for (k = 0; i < n && k < 2; i++)
        if (s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            lead[k++] = s[i];
    if (k == 2 && chio__is_slash((unsigned char)lead[0]) && chio__is_slash((unsigned char)lead[1]))
        return 1;
    if (later_word_url(s, n))
        return 1;
    return chio__key_names(key, CHIO__KEY_URL) ? 2 : 0;
}
