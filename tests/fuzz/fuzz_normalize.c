/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/fuzz_normalize.c - libFuzzer target for the normalisation
 * module (src/core/normalize.h) that constraints and guards read hostile
 * strings through. Internal API: built with -Isrc/core -Isrc/kernel.
 *
 * For every input:
 *   - a host read from a URL (or a bare host) is canonical: reading it
 *     again as a bare host gives the same bytes; it is non-empty, ASCII,
 *     lowercase and free of forbidden code points; failure leaves "";
 *   - a normalised path is a fixed point of normalisation (a backslash
 *     left in it read as a byte of a name, as its POSIX reading made it),
 *     holds no empty, "." or ".." segment and no control character;
 *   - every reading chio__path_readings() hands out is such a path;
 *   - folding, percent-decoding and unescaping never lengthen the text;
 *     folded text holds no NUL (the secret scan's regexec reads it as a C
 *     string, so a NUL would hide what follows);
 *   - bash's brace expansion (src/kernel/shell_braces.h, the
 *     forbidden_path guard's) ends with a known code, within its bound,
 *     its text NUL-terminated where it says, and is none without a brace;
 *     a glob's reach and whole match end with a known code, and a glob
 *     that matches "/etc" whole reaches it; the tilde reading stays
 *     within six bytes a byte.
 * Any violated invariant calls abort(), which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "chio/error.h"
#include "glob_reach.h"
#include "shell_braces.h"
#include "shell_words.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_normalize: invariant violated: %s\n", what);
    abort();
}

static void check_host(int rc, const char *host)
{
    char again[CHIO__HOST_MAX];
    size_t i, n = strlen(host);

    if (rc != 0) {
        if (n != 0)
            fail("a failed host read leaves output");
        return;
    }
    if (n == 0)
        fail("an empty host was accepted");
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)host[i];
        if (c <= ' ' || c >= 0x7f || (c >= 'A' && c <= 'Z') || strchr("#%/<>?@\\^|", c))
            fail("a canonical host holds a forbidden, upper-case or non-ASCII byte");
    }
    if (chio__host_canon(host, n, again, sizeof(again)) != 0 || strcmp(again, host) != 0)
        fail("a canonical host is not a fixed point");
}

/* A normalised path ("/", "", "/a/b" or "a/b"): no empty, "." or ".."
 * segment, no control byte, and normalising it again changes nothing. */
static void check_path(const char *p, size_t len)
{
    char *again = malloc(len + 2);
    size_t i, start, alen;

    if (again == NULL)
        abort();
    if (strlen(p) != len)
        fail("path length");
    for (i = 0; i < len; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
            fail("a normalised path holds a control byte");
    start = len > 0 && p[0] == '/' ? 1 : 0;
    if (len > start) { /* segments between the slashes */
        for (i = start; i <= len; i++) {
            size_t seg;
            if (i < len && p[i] != '/')
                continue;
            seg = i - start;
            if (seg == 0)
                fail("an empty segment");
            if ((seg == 1 && p[start] == '.') ||
                (seg == 2 && p[start] == '.' && p[start + 1] == '.'))
                fail("a . or .. segment");
            start = i + 1;
        }
    }
    /* a backslash left in a path is a byte of a name (a POSIX reading):
     * read it so again */
    if (chio__path_normalize(p, len, memchr(p, '\\', len) != NULL ? CHIO__PATH_POSIX : 0, again,
                             len + 2, &alen) != 0 ||
        alen != len || memcmp(again, p, len) != 0)
        fail("a normalised path is not a fixed point");
    free(again);
}

static int each_reading(void *ctx, const char *p, size_t len)
{
    (void)ctx;
    check_path(p, len);
    return 0;
}

static void check_braces(const char *s, size_t size)
{
    char *out = NULL;
    size_t len = 0;
    int rc = chio__shell_brace_expand(s, size, &out, &len), r, m;

    if (rc != 1 && rc != 0 && rc != CHIO__BRACES_TOO_LARGE && rc != CHIO__BRACES_NOMEM)
        fail("brace expansion: unknown code");
    if (rc != 1 && out != NULL)
        fail("brace expansion: text without a result");
    if (rc == 1 && (out == NULL || out[len] != '\0' || len > ((size_t)1 << 20) + 8 * size))
        fail("brace expansion: text past its bound or its length");
    if (rc != 0 && memchr(s, '{', size) == NULL)
        fail("brace expansion without a brace");
    free(out);
    r = chio__glob_may_reach(s, size, "/etc", 4, (int)(size & 1));
    if (r != 0 && r != 1 && r != CHIO_ENOMEM)
        fail("glob reach: unknown code");
    /* a glob that matches "/etc" whole also reaches it */
    m = chio__glob_matches(s, size, "/etc", 4);
    if (m != 0 && m != 1 && m != CHIO_ENOMEM)
        fail("glob match: unknown code");
    if (m == 1 && chio__glob_may_reach(s, size, "/etc", 4, 0) != 1)
        fail("a glob matches /etc whole but does not reach it");
    if ((out = malloc(6 * size + 1)) == NULL)
        abort();
    len = chio__shell_tilde_reading(s, size, (int)(size & 2), out);
    if (len > 6 * size || out[len] != '\0')
        fail("tilde reading past its bound");
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    char host[CHIO__HOST_MAX], *buf;
    size_t len, n;
    unsigned flags;

    check_host(chio__url_host(s, size, host, sizeof(host)), host);
    check_host(chio__host_canon(s, size, host, sizeof(host)), host);
    check_host(chio__url_host_reading(s, size, CHIO__URL_WHATWG, host, sizeof(host)), host);
    check_host(chio__url_host_reading(s, size, CHIO__URL_RFC3986, host, sizeof(host)), host);
    check_host(chio__url_host_reading(s, size, CHIO__URL_RFC3986_CLEAN, host, sizeof(host)), host);
    check_host(chio__host_reading(s, size, host, sizeof(host)), host);
    (void)chio__url_candidate("url", s, size);
    (void)chio__path_candidate("path", s, size);

    buf = malloc(size + 2);
    if (buf == NULL)
        abort();
    for (flags = 0; flags <= (CHIO__PATH_DECODE | CHIO__PATH_TRIM); flags++)
        if (chio__path_normalize(s, size, flags, buf, size + 2, &len) == 0)
            check_path(buf, len);
    (void)chio__path_readings(s, size, each_reading, NULL);

    memcpy(buf, s, size);
    if ((n = chio__text_fold(buf, size, buf)) > size || buf[n] != '\0')
        fail("folding lengthened the text");
    if (memchr(buf, '\0', n) != NULL)
        fail("folded text holds a NUL");
    memcpy(buf, s, size);
    if ((n = chio__percent_decode(buf, size, buf)) > size || buf[n] != '\0')
        fail("percent-decoding lengthened the text");
    memcpy(buf, s, size);
    if ((n = chio__text_unescape(buf, size, buf)) > size || buf[n] != '\0')
        fail("unescaping lengthened the text");
    free(buf);
    check_braces(s, size);
    return 0;
}
