/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/normalize.c - paths the way the tools that receive them will read
 * them: which leaves may name a path (chio__path_candidate) and which
 * object keys name a path or a URL (chio__key_names, for both candidate
 * checks); path normalisation (percent-decoding, file: URLs, "." / ".." /
 * empty segments); every reading a tool could make of a path (trimmed,
 * decoded, look-alike dots and slashes folded); and the white space and
 * %XX readers the other normalize files share. URLs are normalize_url.c's
 * (their hosts normalize_host.c's); the folding and unescaping of text for
 * secret scanning is normalize_text.c's. Ambiguity is failure: the kernel
 * denies what it cannot read for sure.
 *
 * Core layer: calls nothing above it. No state, no locks; scratch space is
 * on the stack, or malloc'ed and freed before return for long inputs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chio/error.h"
#include "internal.h"
#include "normalize.h"

#define STACK_BUF 512

/* ---- small helpers ------------------------------------------------------------------ */

static int is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

/* Case-insensitive substring search for an ASCII @needle (not empty). */
static int has_ci(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle), i;
    int lo = chio__ascii_lower((unsigned char)needle[0]);

    for (i = 0; k <= n && i <= n - k; i++)
        if (chio__ascii_lower((unsigned char)s[i]) == lo && strncasecmp(s + i, needle, k) == 0)
            return 1;
    return 0;
}

/* Does the key contain one of @names (case-insensitive)? */
static int key_names(const char *key, const char *const *names)
{
    size_t i, n;

    if (key == NULL)
        return 0;
    n = strlen(key);
    for (i = 0; names[i] != NULL; i++)
        if (has_ci(key, n, names[i]))
            return 1;
    return 0;
}

/* The white space a tool's trim removes besides ' ' (JavaScript's trim(),
 * Python's strip(), Go's TrimSpace; the C0 controls are refused before). */
static int unicode_space(uint32_t cp)
{
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || cp == 0x180E ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000 || cp == 0xFEFF;
}

/* Bytes of the white space character at the start of @s, or 0. */
static size_t space_at(const char *s, size_t n)
{
    size_t len;
    uint32_t cp;

    if (n == 0)
        return 0;
    if (s[0] == ' ')
        return 1;
    if ((unsigned char)s[0] < 0x80)
        return 0;
    cp = chio__utf8_decode((const unsigned char *)s, n, &len);
    return cp != UINT32_MAX && unicode_space(cp) ? len : 0;
}

size_t chio__space_at(const char *s, size_t n)
{
    return space_at(s, n);
}

/* Bytes of the white space character that ends @s, or 0. */
static size_t space_before(const char *s, size_t n)
{
    size_t k;

    if (n == 0)
        return 0;
    if (s[n - 1] == ' ')
        return 1;
    for (k = 2; k <= 4 && k <= n; k++)
        if (((unsigned char)s[n - k] & 0xC0) != 0x80)
            return space_at(s + n - k, k) == k ? k : 0;
    return 0;
}

/* [*a, *b) is @s without the white space around it; 1 when some of what
 * was dropped is not ' '. */
static int trim_space(const char *s, size_t n, size_t *a, size_t *b)
{
    size_t k;
    int wide = 0;

    *a = 0;
    *b = n;
    while ((k = space_at(s + *a, *b - *a)) > 0) {
        wide |= k > 1;
        *a += k;
    }
    while ((k = space_before(s + *a, *b - *a)) > 0) {
        wide |= k > 1;
        *b -= k;
    }
    return wide;
}

size_t chio__percent_decode(const char *s, size_t n, char *out)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = chio__hex_value((unsigned char)s[i + 1])) >= 0 &&
            (lo = chio__hex_value((unsigned char)s[i + 2])) >= 0) {
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return o;
}

int chio__has_escape(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i + 2 < n; i++)
        if (s[i] == '%' && ((chio__hex_value((unsigned char)s[i + 1]) >= 0 &&
                             chio__hex_value((unsigned char)s[i + 2]) >= 0) ||
                            chio__u_escape_at(s + i, n - i)))
            return 1;
    return 0;
}

/* ---- keys that name a path or a URL -------------------------------------------------------- */

/* The names a key holds (case-insensitive) that make it name a path, or
 * a URL or host. */
static const char *const path_keys[] = {"path", "file", "dir", "folder", "root", "cwd", NULL};
static const char *const url_keys[] = {
    "url",  "uri",   "host",    "domain",  "endpoint", "href",    "link",     "address", "origin",
    "site", "proxy", "proxies", "webhook", "redirect", "referer", "referrer", NULL};

/* A member's URL-ish name is said of everything under it: the walkers
 * hand each leaf its nearest key, whose @up chain holds the enclosing
 * members' keys ({"url": {"value": "evil.com"}}, {"proxy": {"server":
 * "evil.com:3128"}} name hosts: a bare host has no shape of its own). A
 * path-ish name is the nearest key's own: an object under one is commonly
 * a map from path to content ({"files": {"/w/a": "text"}}), and a string
 * there is read as a path when it looks like one, as under any key. Each
 * key's answer is worked out once and kept. */
/* Names that name a host only as a whole word of the key (split at what
 * is no letter or digit, and where a lower-case letter meets an upper-case
 * one: "server", "serverName", "ip_addr", not "observer" or "zip"): a
 * value there is read as a host, so a grant with a domain constraint
 * holds it (fail closed: more keys only deny more). */
static const char *const url_words[] = {"ip",     "ips",     "ipv4",   "ipv6",     "addr",
                                        "server", "servers", "remote", "upstream", NULL};
/* ...and as the start of a word: "proxy", "proxies", "proxied"
 * (httpProxies, proxied_to: Python requests' proxies={"https": ...} holds
 * proxy hosts; review 17 constraints F1), not "prox" alone, which starts
 * "proximity" (review 18 F4). */
static const char *const url_stems[] = {"proxy", "proxies", "proxied", NULL};

static int alnum(unsigned char c)
{
    return chio__ascii_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Does one word of @key equal one of @words (ASCII case folded), or with
 * @stem start with one? */
static int key_word(const char *key, const char *const *words, int stem)
{
    size_t i = 0, j, w;

    while (key[i] != '\0') {
        for (; key[i] != '\0' && !alnum((unsigned char)key[i]); i++)
            ;
        for (j = i; key[j] != '\0' && alnum((unsigned char)key[j]); j++)
            if (j > i && key[j] >= 'A' && key[j] <= 'Z' && key[j - 1] >= 'a' && key[j - 1] <= 'z')
                break;
        for (w = 0; j > i && words[w] != NULL; w++)
            if ((stem ? strlen(words[w]) <= j - i : strlen(words[w]) == j - i) &&
                strncasecmp(key + i, words[w], strlen(words[w])) == 0)
                return 1;
        i = j;
    }
    return 0;
}

int chio__key_names(chio__key *k, unsigned what)
{
    if (k == NULL)
        return 0;
    if (!(k->asked & what)) {
        k->asked |= what;
        if ((k->name != NULL &&
             (key_names(k->name, what == CHIO__KEY_PATH ? path_keys : url_keys) ||
              (what == CHIO__KEY_URL &&
               (key_word(k->name, url_words, 0) || key_word(k->name, url_stems, 1))))) ||
            (what == CHIO__KEY_URL && chio__key_names(k->up, what)))
            k->names |= what;
    }
    return (k->names & what) != 0;
}

/* ---- paths --------------------------------------------------------------------------------- */

static int starts_file(const char *s, size_t n)
{
    return n >= 5 && strncasecmp(s, "file:", 5) == 0;
}

int chio__starts_file_url(const char *s, size_t n)
{
    size_t i = 0, k = 0;

    while (i < n && (unsigned char)s[i] <= 0x20)
        i++;
    for (; i < n && k < 5; i++) {
        if (s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
            continue;
        if (chio__ascii_lower((unsigned char)s[i]) != "file:"[k])
            return 0;
        k++;
    }
    return k == 5;
}

/* Does @s hold an encoded '/', '\' or '.', encoded once or more: "%2f",
 * "%5C", "%252e", "%25252f" (each "%25" is a '%' one decode later)? */
static int encoded_sep(const char *s, size_t n)
{
    size_t i, j;

    for (i = 0; i < n; i++) {
        if (s[i] != '%')
            continue;
        for (j = i + 1; j + 2 < n && strncasecmp(s + j, "25", 2) == 0; j += 2)
            ;
        if (j + 1 < n && (strncasecmp(s + j, "2f", 2) == 0 || strncasecmp(s + j, "5c", 2) == 0 ||
                          strncasecmp(s + j, "2e", 2) == 0))
            return 1;
    }
    return 0;
}

int chio__path_candidate(const char *key, const char *s, size_t n)
{
    chio__key k = {key, 0, 0, NULL};

    return chio__path_candidate_key(&k, s, n);
}

int chio__path_candidate_key(chio__key *key, const char *s, size_t n)
{
    if (chio__key_names(key, CHIO__KEY_PATH))
        return 1;
    if (n == 0)
        return 0;
    if (s[0] == '/' || s[0] == '\\' || s[0] == '~' || s[0] == '.' || memchr(s, '/', n) != NULL ||
        memchr(s, '\\', n) != NULL)
        return 1;
    if (chio__starts_file_url(s, n))
        return 1;
    return encoded_sep(s, n) || chio__has_look_alike(s, n);
}

/* Does the absolute path @out (@o bytes) lie below /proc or /dev? Their
 * entries hold links a ".." does not undo: "/proc/self/root/.." is "/",
 * "/proc/net/.." is /proc/self, "/dev/fd/.." is /proc/self. */
static int below_link_dir(const char *out, size_t o)
{
    static const char *const dirs[] = {"proc", "dev", NULL};
    size_t i, k;

    for (i = 0; dirs[i] != NULL; i++) {
        k = strlen(dirs[i]);
        if (o > k + 2 && memcmp(out + 1, dirs[i], k) == 0 && out[k + 1] == '/')
            return 1;
    }
    return 0;
}

/* Is @c a separator: '/' always, '\' unless @posix (open(2) reads it as
 * part of a name)? */
static int separator(unsigned char c, int posix)
{
    return posix ? c == '/' : chio__is_slash(c);
}

/* Segment normalisation of @src into @out (room for @len + 2 bytes); only
 * '/' separates when @posix. */
static int segments(const char *src, size_t len, int absolute, int posix, char *out, size_t *outlen)
{
    size_t o = 0, base, i = 0;

    if (len > 0 && separator((unsigned char)src[0], posix))
        absolute = 1;
    if (absolute)
        out[o++] = '/';
    base = o;
    while (i < len) {
        size_t j = i;
        while (j < len && !separator((unsigned char)src[j], posix))
            j++;
        if (j - i == 0 || (j - i == 1 && src[i] == '.')) {
            /* empty or "." */
        } else if (j - i == 2 && src[i] == '.' && src[i + 1] == '.') {
            if (o == base)
                return CHIO_EINVAL; /* above the root, or above the start */
            if (!absolute && out[0] == '~' && memchr(out, '/', o) == NULL)
                return CHIO_EINVAL; /* above "~" or "~user": a home's parent */
            if (absolute && below_link_dir(out, o))
                return CHIO_EINVAL; /* through a link: the tool's ".." goes elsewhere */
            while (o > base && out[o - 1] != '/')
                o--;
            if (o > base)
                o--;
        } else {
            if (o > base)
                out[o++] = '/';
            memcpy(out + o, src + i, j - i);
            o += j - i;
        }
        i = j + 1;
    }
    out[o] = '\0';
    *outlen = o;
    return 0;
}

/* Is the URL path segment @s "." (@dots 1) or ".." (@dots 2) to WHATWG,
 * which reads "%2e" as a dot there (".%2E", "%2e%2e")? */
static int dot_segment(const char *s, size_t n, int dots)
{
    int k = 0;

    while (n > 0) {
        if (s[0] == '.') {
            s++;
            n--;
        } else if (n >= 3 && s[0] == '%' && s[1] == '2' && (s[2] == 'e' || s[2] == 'E')) {
            s += 3;
            n -= 3;
        } else {
            return 0;
        }
        k++;
    }
    return k == dots;
}

/* A file URL's path @s (@n bytes, before percent-decoding) with its dot
 * segments resolved as WHATWG's path state does, into @out (room for
 * @n + 2): '/' and '\' separate, "." segments go, ".." pops the last
 * segment even an empty one ("/etc//.." is "/etc/", where POSIX reads
 * "/etc//.." as "/") and never the root. Each segment is written as "/"
 * and its bytes. Returns the length. */
static size_t whatwg_dots(const char *s, size_t n, char *out)
{
    size_t i = 0, o = 0;

    if (n > 0 && chio__is_slash((unsigned char)s[0]))
        i = 1;
    for (;;) {
        size_t j = i;
        while (j < n && !chio__is_slash((unsigned char)s[j]))
            j++;
        if (dot_segment(s + i, j - i, 2)) {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
        } else if (!dot_segment(s + i, j - i, 1)) {
            out[o++] = '/';
            memcpy(out + o, s + i, j - i);
            o += j - i;
        }
        if (j >= n)
            break;
        i = j + 1;
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    return o;
}

/* Can WHATWG's dot segments (whatwg_dots) read the file URL path @s
 * otherwise than decoding it and resolving the dots after? Only where a
 * ".." pops an empty segment (two separators in a row) or a segment with
 * an encoded '/' or '\\' in it (one segment to WHATWG, two after
 * decoding). */
static int whatwg_may_differ(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i + 1 < n; i++)
        if (chio__is_slash((unsigned char)s[i]) && chio__is_slash((unsigned char)s[i + 1]))
            return 1;
    return has_ci(s, n, "%2f") || has_ci(s, n, "%5c");
}

int chio__path_normalize(const char *s, size_t n, unsigned flags, char *out, size_t cap,
                         size_t *outlen)
{
    char stack[STACK_BUF], *heap = NULL, *d;
    size_t i, dl;
    int absolute = 0, posix, rc;

    *outlen = 0;
    if (cap > 0)
        out[0] = '\0';
    if (cap < n + 2)
        return CHIO_ETOOBIG;
    for (i = 0; i < n; i++)
        if (is_control((unsigned char)s[i]))
            return CHIO_EINVAL;
    posix = (flags & CHIO__PATH_POSIX) != 0;
    if (!(flags & CHIO__PATH_DECODE))
        return segments(s, n, 0, posix, out, outlen);
    for (i = 0; i < n && s[i] == ' '; i++)
        ;
    if (starts_file(s + i, n - i)) {
        /* WHATWG file URL: "file:" then optional "//host", the path up to
         * '?' or '#'; the path is always absolute. */
        size_t p = i + 5, e, end = n;
        /* a URL parser drops trailing spaces; a tool that strips "file://"
         * (CHIO__PATH_WHOLE) keeps them: "/etc/.. " is a name in /etc */
        while (!(flags & CHIO__PATH_WHOLE) && end > p && s[end - 1] == ' ')
            end--;
        if (p + 1 < end && chio__is_slash((unsigned char)s[p]) &&
            chio__is_slash((unsigned char)s[p + 1])) {
            char host[16];
            p += 2;
            for (e = p;
                 e < end && !chio__is_slash((unsigned char)s[e]) && s[e] != '?' && s[e] != '#'; e++)
                ;
            if (e > p && (e - p >= sizeof(host) || chio__percent_decode(s + p, e - p, host) != 9 ||
                          strcasecmp(host, "localhost") != 0))
                return CHIO_EINVAL; /* a remote file host */
            p = e;
        }
        for (e = p; e < end && ((flags & CHIO__PATH_WHOLE) || (s[e] != '?' && s[e] != '#')); e++)
            ;
        s += p;
        n = e - p;
        absolute = 1;
    }
    if ((flags & CHIO__PATH_WHATWG) && (!absolute || !whatwg_may_differ(s, n)))
        return CHIO__PATH_SAME;
    d = chio__scratch(stack, sizeof(stack), 2 * n + 4, &heap);
    if (d == NULL)
        return CHIO_ENOMEM;
    if (flags & CHIO__PATH_WHATWG) {
        /* the path WHATWG makes, in the second half of @d */
        char *w = d + n + 2;
        n = whatwg_dots(s, n, w);
        s = w;
    }
    if (posix && absolute && !(flags & CHIO__PATH_WHOLE)) {
        /* a file: URL's '\\' is a '/' to WHATWG; an encoded one, "%5c",
         * is a byte of a file name to POSIX ("file:/etc\\..%5c" is
         * "/etc/..\\", a name in /etc); a tool that strips "file://"
         * (CHIO__PATH_WHOLE) keeps the raw one a byte of a name too */
        for (i = 0; i < n; i++)
            d[i] = s[i] == '\\' ? '/' : s[i];
        dl = chio__percent_decode(d, n, d);
    } else {
        dl = chio__percent_decode(s, n, d);
    }
    if (flags & CHIO__PATH_TRIM) { /* spaces that were encoded, too */
        size_t a, b;
        trim_space(d, dl, &a, &b);
        memmove(d, d + a, b - a);
        dl = b - a;
        d[dl] = '\0';
    }
    rc = 0;
    for (i = 0; i < dl && rc == 0; i++)
        if (is_control((unsigned char)d[i]))
            rc = CHIO_EINVAL;
    if (rc == 0 && chio__has_escape(d, dl))
        rc = CHIO_EINVAL; /* double encoding: one more decode would change it */
    if (rc == 0 && !chio__utf8_valid(d, dl))
        rc = CHIO_EINVAL; /* overlong "%c0%ae" and friends: decoders disagree */
    if (rc == 0)
        rc = segments(d, dl, absolute, posix, out, outlen);
    free(heap);
    if (rc != 0 && cap > 0)
        out[0] = '\0';
    return rc;
}

typedef struct readings {
    char *buf;
    size_t cap;
    int (*fn)(void *, const char *, size_t);
    void *ctx;
} readings;

static int normalised_reading(readings *r, const char *s, size_t n, unsigned flags)
{
    size_t len;
    int rc = chio__path_normalize(s, n, flags, r->buf, r->cap, &len);

    if (rc == CHIO__PATH_SAME)
        return 0; /* a reading made already */
    if (rc != 0)
        return rc == CHIO_ENOMEM ? rc : CHIO_EINVAL;
    return r->fn(r->ctx, r->buf, len);
}

/* Could @s, read with @flags, hold a backslash: as written, or "%5c"
 * decoded? */
static int may_hold_backslash(const char *s, size_t n, unsigned flags)
{
    return memchr(s, '\\', n) != NULL || ((flags & CHIO__PATH_DECODE) && has_ci(s, n, "%5c"));
}

/* One reading of @s with @flags; when it may hold a backslash, also as
 * open(2) reads it, where a backslash is part of a name: "/etc\\..\\w/x"
 * is "/w/x" to Windows and to a URL parser, but on POSIX it is a file in
 * a directory named "etc\\..\\w" at the root. Both must pass. Node's
 * fileURLToPath() likewise makes "%5c" a byte of a name
 * ("file:///w%5c..%5cetc" is the directory "w\\..\\etc" under /). */
static int one_reading(readings *r, const char *s, size_t n, unsigned flags)
{
    int rc = normalised_reading(r, s, n, flags);

    if (rc == 0 && !(flags & CHIO__PATH_POSIX) && may_hold_backslash(s, n, flags))
        rc = normalised_reading(r, s, n, flags | CHIO__PATH_POSIX);
    return rc;
}

/* A file: URL as its path, and when it has a query or fragment, ends in
 * a space or holds a backslash, also its whole rest: "file:///w/a?/../../etc"
 * is "/etc", "file:///etc/.. " the name ".. " in /etc and
 * "file:///etc\\..\\w/x" a file below the directory "etc\\..\\w" to a tool
 * that strips "file://" instead of parsing the URL; and the path a WHATWG
 * parser makes ("file:///etc//%2e%2e" is /etc/). */
static int file_readings(readings *r, const char *s, size_t n)
{
    int rc = one_reading(r, s, n, CHIO__PATH_DECODE);

    if (rc == 0 && (memchr(s, '?', n) != NULL || memchr(s, '#', n) != NULL ||
                    memchr(s, '\\', n) != NULL || (n > 0 && s[n - 1] == ' ')))
        rc = one_reading(r, s, n, CHIO__PATH_DECODE | CHIO__PATH_WHOLE);
    if (rc == 0)
        rc = one_reading(r, s, n, CHIO__PATH_DECODE | CHIO__PATH_WHATWG);
    return rc;
}

/* Does @s hold an escape that may decode to white space ("%20", "%C2%A0",
 * "%E3%80%80", ...)? */
static int encoded_space(const char *s, size_t n)
{
    size_t i;

    /* one pass over the '%'s for "%20", "%c2", "%e1", "%e2", "%e3", "%ef" */
    for (i = 0; i + 3 <= n; i++) {
        int a, b;
        if (s[i] != '%')
            continue;
        a = chio__ascii_lower((unsigned char)s[i + 1]);
        b = chio__ascii_lower((unsigned char)s[i + 2]);
        if ((a == '2' && b == '0') || (a == 'c' && b == '2') ||
            (a == 'e' && (b == '1' || b == '2' || b == '3' || b == 'f')))
            return 1;
    }
    return 0;
}

/* The readings of @s as written (chio__path_readings without the folded
 * ones). */
static int readings_as_written(const char *s, size_t n,
                               int (*fn)(void *ctx, const char *p, size_t len), void *ctx)
{
    char stack[STACK_BUF], *heap;
    readings r;
    size_t a, b;
    int rc = 0, file, trimmed, wide, pct;

    r.buf = chio__scratch(stack, sizeof(stack), n + 2, &heap);
    if (r.buf == NULL)
        return CHIO_ENOMEM;
    r.cap = n + 2;
    r.fn = fn;
    r.ctx = ctx;
    /* trimmed the way trim() and strip() do: ' ' and the Unicode spaces */
    wide = trim_space(s, n, &a, &b);
    trimmed = a > 0 || b < n;
    file = starts_file(s + a, b - a);
    pct = memchr(s, '%', n) != NULL;
    if (!file) {
        rc = one_reading(&r, s, n, 0);
        if (rc == 0 && trimmed)
            rc = one_reading(&r, s + a, b - a, 0);
        /* trimmed at the start only (lstrip(), a reader that skips leading
         * blanks): " /x/../etc/.. " is then the name ".. " in /etc */
        if (rc == 0 && a > 0 && b < n)
            rc = one_reading(&r, s + a, n - a, 0);
    }
    if (rc == 0 && file)
        rc = file_readings(&r, s, n);
    else if (rc == 0 && pct)
        rc = one_reading(&r, s, n, CHIO__PATH_DECODE);
    /* a file: URL read after a trim the URL parser would not make */
    if (rc == 0 && file && wide)
        rc = file_readings(&r, s + a, b - a);
    if (rc == 0 && pct && trimmed && !file)
        rc = one_reading(&r, s + a, b - a, CHIO__PATH_DECODE);
    if (rc == 0 && pct && !file && encoded_space(s, n))
        rc = one_reading(&r, s, n, CHIO__PATH_DECODE | CHIO__PATH_TRIM);
    free(heap);
    return rc;
}

/* Does @s hold a byte outside ASCII? */
static int has_non_ascii(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return 1;
    return 0;
}

/* @s (@n bytes) as NFKC or Windows' best-fit conversion leaves it, read
 * like a value written so when that changes it: look-alike dots and
 * slashes folded ("/w/\u2025/etc" is "/w/../etc"), fullwidth and
 * mathematical letters folded and invisible format characters dropped as
 * for secret scanning ("/\uff45\uff54\uff43/passwd" is "/etc/passwd").
 * Only non-ASCII text can fold, and the folded text is ASCII where it
 * changed, so one more round would change nothing. */
static int folded_readings(const char *s, size_t n, int (*fn)(void *ctx, const char *p, size_t len),
                           void *ctx)
{
    char stack[STACK_BUF], *heap, *folded;
    size_t len;
    int rc = 0;

    if (!has_non_ascii(s, n))
        return 0;
    folded = chio__scratch(stack, sizeof(stack), n + 1, &heap);
    if (folded == NULL)
        return CHIO_ENOMEM;
    len = chio__text_fold(s, n, folded);
    len = chio__fold_look_alikes(folded, len, folded);
    if (len != n || memcmp(folded, s, n) != 0)
        rc = readings_as_written(folded, len, fn, ctx);
    free(heap);
    return rc;
}

/* The percent-decoded reading folded too: a tool that decodes and then
 * normalises reads "/w/%ef%bc%8e%ef%bc%8e/etc" (U+FF0E twice) as
 * "/w/../etc", and "/w/..%e2%80%8b/etc" (a ZWSP dropped) the same. Only
 * a decoded value that is valid UTF-8 is folded (one that does not
 * decode cleanly is denied by the decoded reading already). */
static int decoded_folded_readings(const char *s, size_t n,
                                   int (*fn)(void *ctx, const char *p, size_t len), void *ctx)
{
    char stack[STACK_BUF], *heap, *d;
    size_t dl;
    int rc = 0;

    d = chio__scratch(stack, sizeof(stack), n + 1, &heap);
    if (d == NULL)
        return CHIO_ENOMEM;
    dl = chio__percent_decode(s, n, d);
    if (chio__utf8_valid(d, dl))
        rc = folded_readings(d, dl, fn, ctx);
    free(heap);
    return rc;
}

int chio__path_readings(const char *s, size_t n, int (*fn)(void *ctx, const char *p, size_t len),
                        void *ctx)
{
    int rc = readings_as_written(s, n, fn, ctx);

    /* Every reading again as NFKC or best-fit leaves it, the value as
     * written and its percent-decoded reading. */
    if (rc == 0 && memchr(s, '%', n) != NULL)
        rc = decoded_folded_readings(s, n, fn, ctx);
    if (rc == 0)
        rc = folded_readings(s, n, fn, ctx);
    return rc;
}

size_t chio__long_option_value(const char *s, size_t n)
{
    size_t i = 1;

    if (n < 3 || s[0] != '-')
        return 0;
    while (i < n && (chio__ascii_digit((unsigned char)s[i]) || s[i] == '-' || s[i] == '_' ||
                     (chio__ascii_lower((unsigned char)s[i]) >= 'a' &&
                      chio__ascii_lower((unsigned char)s[i]) <= 'z')))
        i++;
    return i > 1 && i + 1 < n && s[i] == '=' ? i + 1 : 0;
}

int chio__path_under(const char *p, size_t plen, const char *prefix, size_t xlen, int fold_case)
{
    int pabs = plen > 0 && p[0] == '/', xabs = xlen > 0 && prefix[0] == '/';

    if (pabs != xabs)
        return 0;
    if (xlen == 0 || (xabs && xlen == 1))
        return 1; /* "" covers every relative path, "/" every absolute one */
    if (plen < xlen)
        return 0;
    if (fold_case ? strncasecmp(p, prefix, xlen) != 0 : memcmp(p, prefix, xlen) != 0)
        return 0;
    return plen == xlen || p[xlen] == '/';
}
