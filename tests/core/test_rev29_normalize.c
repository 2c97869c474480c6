/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/core/test_rev29_normalize.c - review 29 of the normalisation
 * module: the readings a path gets after NFKC-style folding (two dot
 * leaders, the small reverse solidus, fullwidth and mathematical letters)
 * and the hosts refused for holding characters no DNS name has. The
 * kernel-level rows are in tests/kernel/test_rev29_urls.c.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "chio/error.h"
#include "normalize.h"

typedef struct joined {
    char buf[1024];
    size_t len;
} joined;

static int join(void *ctx, const char *p, size_t len)
{
    joined *j = ctx;

    cr_assert_lt(j->len + len + 2, sizeof(j->buf));
    if (j->len > 0)
        j->buf[j->len++] = '|';
    memcpy(j->buf + j->len, p, len);
    j->len += len;
    j->buf[j->len] = '\0';
    return 0;
}

/* Every reading of @in, '|'-joined, must be @want (NULL: unreadable). */
static void expect_readings(const char *in, const char *want)
{
    joined j = {{0}, 0};
    int rc = chio__path_readings(in, strlen(in), join, &j);

    if (want == NULL)
        cr_expect_eq(rc, CHIO_EINVAL, "'%s': want failure, got %d '%s'", in, rc, j.buf);
    else
        cr_expect(rc == 0 && strcmp(j.buf, want) == 0, "'%s': want '%s', got %d '%s'", in, want, rc,
                  j.buf);
}

/* U+2025 and U+FE30 are ".." after NFKC, U+2026 and U+FE19 "...", U+FE68
 * '\'; fullwidth and mathematical letters are ASCII. Before, only the
 * one-dot look-alikes and the fullwidth slashes were folded. */
Test(rev29_normalize, paths_are_read_again_as_nfkc_folds_them)
{
    expect_readings("/w/\xe2\x80\xa5/etc", "/w/\xe2\x80\xa5/etc|/etc"); /* U+2025 */
    expect_readings("/w/\xef\xb8\xb0/etc", "/w/\xef\xb8\xb0/etc|/etc"); /* U+FE30 */
    /* U+FE68; its backslash also part of a name, as open(2) reads it (review 31) */
    expect_readings("/w/x\xef\xb9\xa8y", "/w/x\xef\xb9\xa8y|/w/x/y|/w/x\\y");
    expect_readings("/w/\xe2\x80\xa6", "/w/\xe2\x80\xa6|/w/...");   /* U+2026 */
    expect_readings("/w/\xef\xb8\x99", "/w/\xef\xb8\x99|/w/...");   /* U+FE19 */
    expect_readings("/\xef\xbd\x85\xef\xbd\x94\xef\xbd\x83/passwd", /* U+FF45.. */
                    "/\xef\xbd\x85\xef\xbd\x94\xef\xbd\x83/passwd|/etc/passwd");
    expect_readings("/\xf0\x9d\x90\x9e/x", "/\xf0\x9d\x90\x9e/x|/e/x"); /* U+1D41E */
    expect_readings("\xe2\x80\xa5/etc", NULL);                          /* above the start */
    expect_readings(
        "/w/\xef\xbc\x85\xef\xbc\x92\xef\xbd\x85\xef\xbc\x85" /* fullwidth %2e%2e */
        "\xef\xbc\x92\xef\xbd\x85/etc",
        "/w/\xef\xbc\x85\xef\xbc\x92\xef\xbd\x85\xef\xbc\x85\xef\xbc\x92\xef\xbd\x85/etc"
        "|/w/%2e%2e/etc|/etc"); /* folded "%2e%2e", then decoded */
    expect_readings("/w/plain", "/w/plain");
}

/* A host WHATWG accepts but no DNS name has ('&', '$', '!', '*', ...)
 * fails; a reading of it fails with CHIO_ERANGE (denied, not ignored). */
Test(rev29_normalize, hosts_hold_only_dns_characters)
{
    static const struct {
        const char *url, *want;
    } rows[] = {
        {"https://evil.com&x.example.com/", NULL},
        {"https://evil.com$x.example.com/", NULL},
        {"https://a!b.example.com/", NULL},
        {"https://a*.example.com/", NULL},
        {"https://a'b.example.com/", NULL},
        {"https://a%26b.example.com/", NULL},
        {"foo://a&b/", NULL},
        {"https://my_host.example.com/", "my_host.example.com"},
        {"https://A-1.Example.COM./", "a-1.example.com"},
        {"https://0x7f.1/", "127.0.0.1"},
        {"https://[::1]/", "[::1]"},
    };
    char out[CHIO__HOST_MAX];
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int rc = chio__url_host(rows[i].url, strlen(rows[i].url), out, sizeof(out));
        if (rows[i].want == NULL)
            cr_expect_eq(rc, CHIO_EINVAL, "'%s': want failure, got '%s'", rows[i].url, out);
        else
            cr_expect(rc == 0 && strcmp(out, rows[i].want) == 0, "'%s': want '%s', got %d '%s'",
                      rows[i].url, rows[i].want, rc, out);
    }
    cr_expect_eq(chio__host_canon("a&b", 3, out, sizeof(out)), CHIO_EINVAL);
    /* a WHATWG reader takes it, so a reading is not "no host" (EINVAL)
     * but one the kernel will not compare: callers deny */
    cr_expect_eq(
        chio__url_host_reading("https://a&b.example.com/", 24, CHIO__URL_WHATWG, out, sizeof(out)),
        CHIO_ERANGE);
    cr_expect_str_eq(out, "");
}
