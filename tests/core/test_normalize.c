/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/core/test_normalize.c - the normalisation module, table-driven:
 * hostile URLs and what host a WHATWG parser connects to, hostile paths and
 * what they normalise to, every reading a path-looking value gets, and the
 * folded text secret scanning sees. NULL in a "want" column means the
 * input must fail (callers deny).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/error.h"
#include "normalize.h"

typedef enum kind {
    URL,    /* chio__url_host */
    HOST,   /* chio__host_canon */
    PATH,   /* chio__path_normalize with CHIO__PATH_DECODE */
    RAW,    /* chio__path_normalize without decoding */
    READ,   /* chio__path_readings, forms joined by '|' */
    FOLD,   /* chio__text_fold */
    DECODE, /* chio__percent_decode */
    UNESC,  /* chio__text_unescape */
} kind;

typedef struct row {
    kind k;
    const char *in;
    const char *want; /* NULL: failure */
} row;

static const row rows[] = {
    /* ---- URL hosts: userinfo, backslashes, slashes ---- */
    /* WHATWG ends the authority at '\\' (host evil.com) but RFC 3986 readers
     * (curl, urllib3) take api.example.com: ambiguous, so a failure */
    {URL, "https://evil.com\\@api.example.com/x", NULL},
    {URL, "https://api.example.com\\@evil.com/x", NULL},
    {URL, "https://good.com\\evil.com/", NULL},
    {URL, "https://evil.com%5c@good.com/", "good.com"},
    {URL, "http://api.example.com@evil.com/", "evil.com"},
    {URL, "https://api.example.com:443@evil.com/", "evil.com"},
    {URL, "https://a@b@evil.com/", NULL}, /* which '@'? readers differ */
    {URL, "https://@evil.com/", "evil.com"},
    {URL, "http://evil.com%2F@good.com/", "good.com"},
    {URL, "http://good.com%2F@evil.com/", "evil.com"},
    {URL, "https://evil.com#@api.example.com", "evil.com"},
    {URL, "https://evil.com?@api.example.com", "evil.com"},
    {URL, "https://evil.com\\.api.example.com/", NULL},
    {URL, "http:evil.com", "evil.com"},
    {URL, "http:evil.com/path", "evil.com"},
    {URL, "https:\\\\evil.com", "evil.com"},
    {URL, "https:/\\evil.com", "evil.com"},
    {URL, "https:///evil.com", "evil.com"},
    {URL, "https:\\/\\/evil.com/", "evil.com"},
    {URL, "//evil.com/x", "evil.com"},
    {URL, "\\\\evil.com\\x", "evil.com"},
    {URL, "/\\evil.com", "evil.com"},
    /* curl skips '/' and '\\' after the scheme, however few ("https:a.com"),
     * then reads '\\' as data: it goes to evil.com, WHATWG to api.example.com */
    {URL, "https:api.example.com\\@evil.com/", NULL},
    {URL, "https:/api.example.com\\@evil.com/", NULL},
    {URL, "https:///api.example.com\\@evil.com/", NULL},
    {URL, "https:\\\\api.example.com\\@evil.com/", NULL},
    {URL, "https:/\\api.example.com/x", "api.example.com"},
    /* Python's urlsplit drops tab, LF and CR first, as WHATWG does, then
     * reads '\\' as data: evil.com */
    {URL, "ht\ttps://api.example.com\\@evil.com/", NULL},
    {URL, "https:/\t/api.example.com\\@evil.com/", NULL},
    /* ---- URL hosts: whitespace, controls, case ---- */
    {URL, " \t https://evil.com/ \n", "evil.com"},
    {URL, "ht\ttps://ev\nil.com/", "evil.com"},
    {URL, "https://evil.com\r/", NULL}, /* RFC 3986 readers keep the CR */
    {URL, "https://api.example.com\t.evil.com/", NULL},
    {URL, "\x01https://evil.com", "evil.com"},
    {URL, "HTTP://API.EXAMPLE.COM.:443/", "api.example.com"},
    {URL, "HtTpS://Example.COM", "example.com"},
    {URL, "https://evil com/", NULL},
    {URL, "https://evil.com%00.api.example.com/", NULL},
    {URL, "https://evil.com%0a.x/", NULL},
    {URL, "https://evil.com%09/", NULL},
    /* ---- URL hosts: percent-encoding ---- */
    {URL, "http://%65vil.com", "evil.com"},
    {URL, "http://%45%56%49%4c.com/", "evil.com"},
    {URL, "https://EVIL.com%2E/", "evil.com"},
    {URL, "http://evil.com%2fapi.example.com/", NULL},
    {URL, "http://evil.com%40api.example.com/", NULL},
    {URL, "http://%2565vil.com/", NULL}, /* double encoding leaves '%' */
    {URL, "http://evil%zz.com/", NULL},
    {URL, "https://%5B::1%5D/", NULL},
    /* ---- URL hosts: ports ---- */
    {URL, "https://evil.com:/", "evil.com"},
    {URL, "https://evil.com:8080/", "evil.com"},
    {URL, "https://evil.com:99999/", NULL},
    {URL, "https://evil.com:8o/", NULL},
    {URL, "https://evil.com:80:80/", NULL},
    {URL, "https://:80/", NULL},
    /* ---- URL hosts: IPv4 forms ---- */
    {URL, "http://2130706433/", "127.0.0.1"},
    {URL, "http://0177.0.0.1/", "127.0.0.1"},
    {URL, "http://0x7f.1/", "127.0.0.1"},
    {URL, "http://0X7F.0.0.1/", "127.0.0.1"},
    {URL, "http://127.1/", "127.0.0.1"},
    {URL, "http://127.0.1/", "127.0.0.1"},
    {URL, "http://0x7f000001/", "127.0.0.1"},
    {URL, "http://017700000001/", "127.0.0.1"},
    {URL, "http://127.0.0.1./", "127.0.0.1"},
    {URL, "http://0/", "0.0.0.0"},
    {URL, "http://169.254.169.254/latest", "169.254.169.254"},
    {URL, "http://0xa9fea9fe/", "169.254.169.254"},
    {URL, "http://1.2.3.0x/", "1.2.3.0"},
    {URL, "http://1.2.3.4.5/", NULL},
    {URL, "http://foo.123/", NULL},
    {URL, "http://256.0.0.1/", NULL},
    {URL, "http://1.2.3.256/", NULL},
    {URL, "http://0x100000000/", NULL},
    {URL, "http://4294967296/", NULL},
    {URL, "http://09.1.1.1/", NULL},
    {URL, "http://1..2.3/", NULL},
    {URL, "http://foo.0x/", NULL},
    {URL, "http://123.example.com/", "123.example.com"},
    /* ---- URL hosts: IPv6 ---- */
    {URL, "http://[::1]/", "[::1]"},
    {URL, "http://[0:0:0:0:0:0:0:1]:8080/", "[::1]"},
    {URL, "http://[::]/", "[::]"},
    {URL, "http://[::ffff:127.0.0.1]/", "[::ffff:7f00:1]"},
    {URL, "http://[2001:DB8:0:0:1:0:0:1]/", "[2001:db8::1:0:0:1]"},
    {URL, "http://[2001:db8:0:0:0:0:2:1]/", "[2001:db8::2:1]"},
    {URL, "http://[1:0:0:2:0:0:0:3]/", "[1:0:0:2::3]"},
    {URL, "http://[::1/", NULL},
    {URL, "http://[fe80::1%25eth0]/", NULL},
    {URL, "http://[1:2:3:4:5:6:7:8:9]/", NULL},
    {URL, "http://[1::2::3]/", NULL},
    {URL, "http://[::1]x/", NULL},
    {URL, "http://[::01.2.3.4]/", NULL},
    {URL, "http://[::1.2.3]/", NULL},
    {URL, "http://[g::1]/", NULL},
    /* ---- URL hosts: trailing dots, labels, IDNA ---- */
    {URL, "https://api.example.com./", "api.example.com"},
    {URL, "https://api.example.com../", NULL},
    {URL, "https://.api.example.com/", NULL},
    {URL, "https://a..example.com/", NULL},
    {URL, "https://./", NULL},
    {URL, "http://xn--nxasmq6b.com/", "xn--nxasmq6b.com"},
    {URL, "http://XN--NXASMQ6B.COM/", "xn--nxasmq6b.com"},
    {URL,
     "http://b\xc3\xbc"
     "cher.de/",
     NULL},
    {URL, "http://%C3%BC.de/", NULL},
    {URL, "http://ex\xef\xbd\x81mple.com/", NULL}, /* fullwidth a */
    {URL, "https://evil.com\xe2\x80\x8b/", NULL},  /* zero-width space */
    /* ---- URL hosts: schemes ---- */
    {URL, "ws://evil.com/", "evil.com"},
    {URL, "wss://evil.com/", "evil.com"},
    {URL, "ftp://user:pw@evil.com/", "evil.com"},
    {URL, "javascript://evil.com/%0aalert(1)", "evil.com"},
    {URL, "foo://evil.com\\@good.com/", NULL},
    {URL, "foo:evil.com", NULL},
    {URL, "mailto:bob@evil.com", NULL},
    {URL, "file://evil.com/etc/passwd", "evil.com"},
    {URL, "file:///etc/passwd", NULL},
    {URL, "file://localhost/etc/passwd", NULL},
    {URL, "https://", NULL},
    {URL, "https://@/", NULL},
    {URL, "evil.com", NULL},
    {URL, "see https://evil.com", NULL},
    {URL, "", NULL},
    /* ---- bare hosts ---- */
    {HOST, "API.Example.COM.", "api.example.com"},
    {HOST, "2130706433", "127.0.0.1"},
    {HOST, "[::1]", "[::1]"},
    {HOST, "evil.com:443", NULL},
    {HOST, "a..b", NULL},
    {HOST, ".", NULL},
    {HOST, "", NULL},
    {HOST, "evil.com/x", NULL},
    {HOST, "user@evil.com", NULL},
    /* ---- paths (decoded) ---- */
    {PATH, "%2e%2e/", NULL},
    {PATH, "..%2f", NULL},
    {PATH, "..%2F..%2Fetc%2Fpasswd", NULL},
    {PATH, "%2E%2E%5Cetc", NULL},
    {PATH, "/tmp/%2e%2e/etc/passwd", "/etc/passwd"},
    {PATH, "/tmp/.%2e/etc/passwd", "/etc/passwd"},
    {PATH, "%2fetc%2fpasswd", "/etc/passwd"},
    {PATH, "%5cetc%5cpasswd", "/etc/passwd"},
    {PATH, "file:///etc/passwd", "/etc/passwd"},
    {PATH, "FILE:///etc/passwd", "/etc/passwd"},
    {PATH, "file://localhost/etc/passwd", "/etc/passwd"},
    {PATH, "file://LOCALHOST/etc/passwd", "/etc/passwd"},
    {PATH, "file://evil/etc/passwd", NULL},
    {PATH, "file:/etc/passwd", "/etc/passwd"},
    {PATH, "file:etc/passwd", "/etc/passwd"},
    {PATH, "file:\\\\\\etc\\passwd", "/etc/passwd"},
    {PATH, "file:///etc/passwd?x#y", "/etc/passwd"},
    {PATH, "file:///etc/%70asswd", "/etc/passwd"},
    {PATH, "file:///workspace/../etc/passwd", "/etc/passwd"},
    {PATH, "file:///../etc/passwd", NULL},
    {PATH, " file:///etc/passwd ", "/etc/passwd"},
    {PATH, "//etc/shadow", "/etc/shadow"},
    {PATH, "/./etc/", "/etc"},
    {PATH, "/tmp/../etc/passwd", "/etc/passwd"},
    {PATH, "/etc", "/etc"},
    {PATH, "/etc/./passwd/..", "/etc"},
    {PATH, "\\etc\\passwd", "/etc/passwd"},
    {PATH, "/workspace\\..\\etc", "/etc"},
    {PATH, "/etc/passwd\n", NULL},
    {PATH, "/etc/\tpasswd", NULL},
    {PATH, "/etc/passwd\r", NULL},
    {PATH, "/etc/pass\x7fwd", NULL},
    {PATH, "/etc/passwd%00", NULL},
    {PATH, "/etc/passwd%0a", NULL},
    {PATH, "/etc/passwd%0D", NULL},
    {PATH, "%252e%252e/etc", NULL},
    {PATH, "/etc/%2570asswd", NULL},
    {PATH, "/tmp/%c0%ae%c0%ae/etc", NULL}, /* overlong '.' */
    {PATH, "%c0%afetc%c0%afpasswd", NULL}, /* overlong '/' */
    {PATH, "/tmp/caf%C3%A9", "/tmp/caf\xc3\xa9"},
    {PATH, "/../etc", NULL},
    {PATH, "a/../../b", NULL},
    {PATH, "/a/b/../../..", NULL},
    {PATH, "./a/./b/", "a/b"},
    {PATH, ".", ""},
    {PATH, "/", "/"},
    {PATH, "///", "/"},
    {PATH, "/workspace/a%20b", "/workspace/a b"},
    {PATH, "100%", "100%"},
    {PATH, "/a/%zz", "/a/%zz"},
    {PATH, "~/x", "~/x"},
    {PATH, "", ""},
    /* ---- paths as written ---- */
    {RAW, "/tmp/%2e%2e/etc", "/tmp/%2e%2e/etc"},
    {RAW, "//etc//shadow/", "/etc/shadow"},
    {RAW, "/etc/passwd\n", NULL},
    {RAW, "..", NULL},
    /* ".." through the links of /proc and /dev goes where segments do not */
    {RAW, "/proc/self/root/../etc/passwd", NULL}, /* "/" to the kernel */
    {RAW, "/proc/net/../root/etc/passwd", NULL},  /* /proc/net is self/net */
    {RAW, "/dev/fd/../root/etc/passwd", NULL},    /* /dev/fd is /proc/self/fd */
    {RAW, "/proc/self/cwd/../etc/passwd", NULL},  /* the cwd's parent */
    {PATH, "/proc/self/root/%2e%2e/etc", NULL},
    {RAW, "/proc/../etc", "/etc"},
    {RAW, "/proc/self/root/./etc", "/proc/self/root/etc"},
    {RAW, "/tmp/proc/x/../y", "/tmp/proc/y"},
    {RAW, "proc/x/../y", "proc/y"},
    /* ---- every reading ---- */
    {READ, "/etc/passwd", "/etc/passwd"},
    {READ, "%2fetc%2fpasswd", "%2fetc%2fpasswd|/etc/passwd"},
    {READ, "/etc/%2e%2e/tmp", "/etc/%2e%2e/tmp|/tmp"},
    {READ, " /etc/passwd", " /etc/passwd|/etc/passwd"},
    {READ, " %2Fetc", " %2Fetc|%2Fetc| /etc|/etc"},
    {READ, "file:///etc/passwd", "/etc/passwd"},
    {READ, "%20/etc", "%20/etc| /etc|/etc"},
    {READ, "..%2f..%2fetc", NULL},
    {READ, "/etc/passwd\n", NULL},
    {READ, "/a/%252e", NULL},
    /* trimmed like trim() and strip(): Unicode spaces too */
    {READ, "\xc2\xa0/etc", "\xc2\xa0/etc|/etc"},                      /* U+00A0 */
    {READ, "\xef\xbb\xbf/etc", "\xef\xbb\xbf/etc|/etc|/etc"},         /* U+FEFF, also folded away */
    {READ, "/w/a/../..\xe3\x80\x80", "/w/..\xe3\x80\x80|/|/w/.. |/"}, /* U+3000, folded: ' ' */
    {READ, "/w/a\xe2\x80\xa8", "/w/a\xe2\x80\xa8|/w/a"},              /* U+2028 */
    {READ, "/w/a\xe2\x80\x8b", "/w/a\xe2\x80\x8b|/w/a"}, /* U+200B: not space, folded away */
    {READ, "%C2%A0/etc", "%C2%A0/etc|\xc2\xa0/etc|/etc"},
    {READ,
     "\xc2\xa0"
     "file:///etc",
     "\xc2\xa0"
     "file:/etc|/etc"},
    /* a file: URL's query and fragment, kept by a tool that strips "file://" */
    {READ, "file:///w/a?/../../etc", "/w/a|/etc"},
    {READ, "file:///w/a#x", "/w/a|/w/a#x"},
    {READ, "file:///w/a?/../../../etc", NULL},
    /* ---- text folding for secret scanning ---- */
    {FOLD,
     "AKIA\xe2\x80\x8b"
     "ABCDEFGHIJKLMNOP",
     "AKIAABCDEFGHIJKLMNOP"}, /* U+200B */
    {FOLD,
     "AK\xe2\x80\x8cI\xe2\x80\x8d"
     "A\xe2\x80\x8e",
     "AKIA"}, /* U+200C/D/E */
    {FOLD,
     "A\xc2\xad"
     "KIA",
     "AKIA"}, /* soft hyphen */
    {FOLD,
     "\xef\xbb\xbf"
     "AKIA",
     "AKIA"},                                                           /* BOM */
    {FOLD, "AK\xe2\x81\xa0IA\xe2\x81\xa4", "AKIA"},                     /* U+2060, U+2064 */
    {FOLD, "AK\xe1\xa0\x8eIA", "AKIA"},                                 /* U+180E */
    {FOLD, "AK\xe2\x80\xaeIA\xe2\x80\xaa", "AKIA"},                     /* U+202E, U+202A */
    {FOLD, "AK\xe2\x81\xa6IA\xe2\x81\xa9", "AKIA"},                     /* U+2066, U+2069 */
    {FOLD, "AK\xcd\x8fIA", "AKIA"},                                     /* U+034F */
    {FOLD, "AK\xf3\xa0\x81\x81IA", "AKIA"},                             /* tag U+E0041 */
    {FOLD, "\xef\xbc\xa1\xef\xbc\xab\xef\xbc\xa9\xef\xbc\xa1", "AKIA"}, /* fullwidth */
    {FOLD, "\xef\xbc\x81\xef\xbd\x9e", "!~"},                           /* FF01, FF5E */
    {FOLD, "\xf0\x9d\x90\x80KIA", "AKIA"},                              /* U+1D400 */
    {FOLD, "k\xe3\x80\x80v", "k v"},                                    /* U+3000 */
    {FOLD, "caf\xc3\xa9", "caf\xc3\xa9"},                               /* kept */
    {FOLD,
     "a\xff\xfe"
     "b",
     "a\xff\xfe"
     "b"}, /* invalid kept */
    {DECODE, "AKIA%41%42", "AKIAAB"},
    {DECODE, "%zz%4", "%zz%4"},
    {DECODE, "%E2%80%8B", "\xe2\x80\x8b"},
    {UNESC, "\\u0041KIA", "AKIA"},
    {UNESC, "\\x41\\x4bIA", "AKIA"},
    {UNESC, "&#65;&#x4B;&#X49;&#65", "AKIA"},
    {UNESC, "\\ud83d\\ude00", "\xf0\x9f\x98\x80"},
    {UNESC, "\\ud83d!", "\\ud83d!"},       /* lone surrogate stays */
    {UNESC, "\\u0000&#0;", "\\u0000&#0;"}, /* no NUL */
    {UNESC, "&#1114112;&#;&#x;", "&#1114112;&#;&#x;"},
    {UNESC, "\\u00e9&#233;", "\xc3\xa9\xc3\xa9"},
    /* bash's short forms (review 19 guards F4): "\u12" is U+0012 */
    {UNESC, "\\u12", "\x12"},
    {UNESC, "\\u41KIA\\U49", "AKIAI"},
    {UNESC, "\\U0041\\U0001F600", "A\xf0\x9f\x98\x80"},
    {UNESC, "\\U110000\\u\\Ug", "\\U110000\\u\\Ug"}, /* past U+10FFFF, no digit */
};

typedef struct joined {
    char buf[1024];
    size_t len;
} joined;

static int join(void *ctx, const char *p, size_t len)
{
    joined *j = ctx;

    cr_assert_eq(strlen(p), len);
    cr_assert_lt(j->len + len + 2, sizeof(j->buf));
    if (j->len > 0)
        j->buf[j->len++] = '|';
    memcpy(j->buf + j->len, p, len);
    j->len += len;
    j->buf[j->len] = '\0';
    return 0;
}

static int join_none(void *ctx, const char *p, size_t len)
{
    (void)ctx;
    cr_assert_eq(strlen(p), len);
    return 0;
}

/* Run one row; returns 0 with the result in @out, or the failure code. */
static int run(const row *r, char *out, size_t cap)
{
    size_t n = strlen(r->in), len;
    joined j;
    int rc;

    switch (r->k) {
    case URL:
        return chio__url_host(r->in, n, out, cap);
    case HOST:
        return chio__host_canon(r->in, n, out, cap);
    case PATH:
    case RAW:
        return chio__path_normalize(r->in, n, r->k == PATH ? CHIO__PATH_DECODE : 0, out, cap, &len);
    case READ:
        j.len = 0;
        j.buf[0] = '\0';
        rc = chio__path_readings(r->in, n, join, &j);
        snprintf(out, cap, "%s", j.buf);
        return rc;
    case FOLD:
        len = chio__text_fold(r->in, n, out);
        cr_assert_eq(strlen(out), len);
        return 0;
    case DECODE:
        len = chio__percent_decode(r->in, n, out);
        cr_assert_eq(strlen(out), len);
        return 0;
    case UNESC:
        len = chio__text_unescape(r->in, n, out);
        cr_assert_eq(strlen(out), len);
        return 0;
    }
    return -1;
}

Test(normalize, hostile_inputs_table)
{
    static const char *const names[] = {"url",  "host", "path",   "raw",
                                        "read", "fold", "decode", "unescape"};
    size_t i, fails = 0, nrows = sizeof(rows) / sizeof(rows[0]);

    cr_assert_geq(nrows, 80);
    for (i = 0; i < nrows; i++) {
        char out[1024];
        int rc = run(&rows[i], out, sizeof(out));
        if (rows[i].want == NULL) {
            if (rc == 0) {
                cr_log_error("row %zu %s '%s': want failure, got '%s'", i, names[rows[i].k],
                             rows[i].in, out);
                fails++;
            }
        } else if (rc != 0) {
            cr_log_error("row %zu %s '%s': want '%s', failed with %d", i, names[rows[i].k],
                         rows[i].in, rows[i].want, rc);
            fails++;
        } else if (strcmp(out, rows[i].want) != 0) {
            cr_log_error("row %zu %s '%s': want '%s', got '%s'", i, names[rows[i].k], rows[i].in,
                         rows[i].want, out);
            fails++;
        }
    }
    cr_expect_eq(fails, 0, "%zu of %zu rows failed", fails, nrows);
}

Test(normalize, failures_leave_an_empty_host)
{
    char out[64] = "junk";

    cr_expect_eq(chio__url_host("https://evil com/", 17, out, sizeof(out)), CHIO_EINVAL);
    cr_expect_str_eq(out, "");
    cr_expect_eq(chio__url_host("https://a.example.com/", 22, out, 8), CHIO_ETOOBIG);
    cr_expect_str_eq(out, "");
}

Test(normalize, text_fold_works_in_place)
{
    char s[] = "A\xe2\x80\x8bK\xef\xbc\xa9"
               "A";
    size_t n = chio__text_fold(s, strlen(s), s);

    cr_expect_eq(n, 4);
    cr_expect_str_eq(s, "AKIA");
}

typedef struct cand {
    const char *key, *value;
    int want;
} cand;

Test(normalize, path_candidates)
{
    static const cand rows_c[] = {
        {"path", "x", 1},         {"file_name", "notes", 1}, {"workDir", "x", 1},
        {NULL, "/etc/passwd", 1}, {"q", "\\etc", 1},         {"q", "~root", 1},
        {"q", "..", 1},           {"q", "a/b", 1},           {"q", "FiLe:passwd", 1},
        {"q", " file:passwd", 1}, {"q", "%2Fetc", 1},        {"q", "..%5c", 1},
        {"q", "x%2Ey", 1},        {"q", "hello world", 0},   {"q", "", 0},
        {NULL, "passwd", 0},
    };
    size_t i;

    for (i = 0; i < sizeof(rows_c) / sizeof(rows_c[0]); i++)
        cr_expect_eq(chio__path_candidate(rows_c[i].key, rows_c[i].value, strlen(rows_c[i].value)),
                     rows_c[i].want, "row %zu (%s: %s)", i, rows_c[i].key ? rows_c[i].key : "-",
                     rows_c[i].value);
}

Test(normalize, url_candidates)
{
    static const cand rows_c[] = {
        {"q", "https://x", 1},       {"q", "HTTP:evil.com", 1}, {"q", " \tfile:x", 1},
        {"q", "h\tttp:evil.com", 1}, {"q", "foo://x", 1},       {"q", "foo:/\t/x", 1},
        {"q", "//evil.com", 1},      {"q", "\\\\evil.com", 1},  {"q", " /\\evil.com", 1},
        {"q", "mailto:x@y", 0},      {"q", "/etc/passwd", 0},   {"q", "hello", 0},
        {"base_url", "evil.com", 2}, {"Host", "evil.com", 2},   {"webhookTarget", "x", 2},
        {"email_address", "a@b", 2}, {NULL, "evil.com", 0},
    };
    size_t i;

    for (i = 0; i < sizeof(rows_c) / sizeof(rows_c[0]); i++)
        cr_expect_eq(chio__url_candidate(rows_c[i].key, rows_c[i].value, strlen(rows_c[i].value)),
                     rows_c[i].want, "row %zu (%s: %s)", i, rows_c[i].key ? rows_c[i].key : "-",
                     rows_c[i].value);
}

Test(normalize, path_under_compares_segments)
{
    cr_expect(chio__path_under("/etc", 4, "/etc", 4, 0));
    cr_expect(chio__path_under("/etc/passwd", 11, "/etc", 4, 0));
    cr_expect_not(chio__path_under("/etcx", 5, "/etc", 4, 0));
    cr_expect_not(chio__path_under("/et", 3, "/etc", 4, 0));
    cr_expect_not(chio__path_under("etc/passwd", 10, "/etc", 4, 0));
    cr_expect_not(chio__path_under("/ETC/passwd", 11, "/etc", 4, 0));
    cr_expect(chio__path_under("/ETC/passwd", 11, "/etc", 4, 1));
    cr_expect(chio__path_under("/anything", 9, "/", 1, 0));
    cr_expect_not(chio__path_under("rel", 3, "/", 1, 0));
    cr_expect(chio__path_under("a/b", 3, "a", 1, 0));
    cr_expect(chio__path_under("a", 1, "", 0, 0));
}

Test(normalize, long_inputs_use_the_heap)
{
    size_t n = 100000, i;
    char *s = malloc(n + 1), *out = malloc(n + 2);
    size_t len;

    cr_assert_not_null(s);
    cr_assert_not_null(out);
    for (i = 0; i < n; i += 2) {
        s[i] = '/';
        s[i + 1] = 'a';
    }
    s[n] = '\0';
    cr_expect_eq(chio__path_normalize(s, n, CHIO__PATH_DECODE, out, n + 2, &len), 0);
    cr_expect_eq(len, n);
    memcpy(s, "http://evil.com/", 16);
    cr_expect_eq(chio__url_host(s, n, out, 64), 0);
    cr_expect_str_eq(out, "evil.com");
    cr_expect_eq(chio__path_normalize(s, n, 0, out, 10, &len), CHIO_ETOOBIG);
    free(s);
    free(out);
}

/* Deterministic random strings over the characters the parsers care
 * about: no overrun (exact-size buffers, for ASan), bounded outputs, and
 * canonical forms that are fixed points. */
Test(normalize, random_inputs_keep_the_invariants)
{
    static const char alphabet[] =
        "/\\%.:@[]?#2eEfF0x7aA1 \t\n:/ffu&#;uxd8\xc3\xa9\xe2\x80\x8b\xef\xbc\xa1";
    uint64_t seed = 0x9e3779b97f4a7c15u;
    int iter;

    for (iter = 0; iter < 20000; iter++) {
        size_t n, i, len, len2;
        char *s, *out, *again, host[CHIO__HOST_MAX], host2[CHIO__HOST_MAX];

        seed = seed * 6364136223846793005u + 1442695040888963407u;
        n = (size_t)(seed >> 58); /* 0..63 */
        s = malloc(n + 1);
        out = malloc(n + 2);
        again = malloc(n + 2);
        cr_assert(s && out && again);
        for (i = 0; i < n; i++) {
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            s[i] = alphabet[(seed >> 33) % (sizeof(alphabet) - 1)];
        }
        if (iter % 3 == 0 && n > 8)
            memcpy(s, iter % 2 ? "https://" : "file:///", 8);
        s[n] = '\0';
        if (chio__path_normalize(s, n, CHIO__PATH_DECODE, out, n + 2, &len) == 0) {
            cr_assert_leq(len, n + 1);
            cr_assert_eq(chio__path_normalize(out, len, 0, again, n + 2, &len2), 0, "%s", s);
            cr_assert_str_eq(again, out, "not a fixed point: '%s'", s);
        }
        if (chio__path_normalize(s, n, 0, out, n + 2, &len) == 0)
            cr_assert_leq(len, n + 1);
        chio__path_readings(s, n, join_none, NULL);
        if (chio__url_host(s, n, host, sizeof(host)) == 0) {
            cr_assert_gt(strlen(host), 0);
            cr_assert_eq(chio__host_canon(host, strlen(host), host2, sizeof(host2)), 0, "%s", s);
            cr_assert_str_eq(host2, host, "host of '%s' is not canonical", s);
        } else {
            cr_assert_str_eq(host, "");
        }
        chio__url_candidate(NULL, s, n);
        chio__path_candidate(NULL, s, n);
        len = chio__text_fold(s, n, out);
        cr_assert_leq(len, n);
        len = chio__percent_decode(s, n, out);
        cr_assert_leq(len, n);
        len = chio__text_unescape(s, n, out);
        cr_assert_leq(len, n);
        free(s);
        free(out);
        free(again);
    }
}

Test(normalize, each_reader_alone)
{
    char out[CHIO__HOST_MAX];
    const char *amb = "https://evil.com\\@api.example.com/x";

    cr_expect_eq(chio__url_host(amb, strlen(amb), out, sizeof(out)), CHIO_EINVAL);
    cr_assert_eq(chio__url_host_reading(amb, strlen(amb), CHIO__URL_WHATWG, out, sizeof(out)), 0);
    cr_expect_str_eq(out, "evil.com");
    cr_assert_eq(chio__url_host_reading(amb, strlen(amb), CHIO__URL_RFC3986, out, sizeof(out)), 0);
    cr_expect_str_eq(out, "api.example.com");
    /* curl reads "https:host" as naming host, as WHATWG does */
    cr_assert_eq(chio__url_host_reading("https:evil.com", 14, CHIO__URL_RFC3986, out, sizeof(out)),
                 0);
    cr_expect_str_eq(out, "evil.com");
    cr_expect_eq(chio__url_host_reading("evil.com/x", 10, CHIO__URL_RFC3986, out, sizeof(out)),
                 CHIO_EINVAL); /* no scheme, no "//": no host */
    cr_expect_str_eq(out, "");
    cr_assert_eq(
        chio__url_host_reading("a.example\t.evil.com", 19, CHIO__URL_WHATWG, out, sizeof(out)),
        CHIO_EINVAL); /* no scheme */
    cr_assert_eq(chio__url_host_reading("https://a.example\t.evil.com", 27, CHIO__URL_WHATWG, out,
                                        sizeof(out)),
                 0);
    cr_expect_str_eq(out, "a.example.evil.com");
}

/* A reading takes what its reader takes, and says when the kernel cannot
 * tell (a host that needs IDNA): callers holding running text to every
 * reading deny then, instead of taking the failure for "no host". */
Test(normalize, readings_tell_no_host_from_cannot_tell)
{
    char out[CHIO__HOST_MAX];
    const char *two = "https://a.example (@x@evil.com\\@a.example/";
    const char *idna = "https://a.example (@\xef\xbd\x85vil.com/"; /* U+FF45: 'e' */
    const char *tab = "ht\ttps://a.example\\@evil.com/";

    /* WHATWG takes the last '@' before the '\\' */
    cr_assert_eq(chio__url_host_reading(two, strlen(two), CHIO__URL_WHATWG, out, sizeof(out)), 0);
    cr_expect_str_eq(out, "evil.com");
    cr_expect_eq(chio__url_host(two, strlen(two), out, sizeof(out)), CHIO_EINVAL);
    /* Node and curl both map "\uff45vil.com" to evil.com */
    cr_expect_eq(chio__url_host_reading(idna, strlen(idna), CHIO__URL_WHATWG, out, sizeof(out)),
                 CHIO_ERANGE);
    cr_expect_str_eq(out, "");
    cr_expect_eq(chio__url_host_reading(idna, strlen(idna), CHIO__URL_RFC3986, out, sizeof(out)),
                 CHIO_ERANGE);
    cr_expect_eq(
        chio__url_host_reading("https://a..example/", 19, CHIO__URL_WHATWG, out, sizeof(out)),
        CHIO_ERANGE); /* WHATWG keeps the empty label */
    /* a host with a space fails in every reader */
    cr_expect_eq(chio__url_host_reading("https://a.example and more", 26, CHIO__URL_WHATWG, out,
                                        sizeof(out)),
                 CHIO_EINVAL);
    /* Python's urlsplit drops the tab; curl and Go refuse it */
    cr_expect_eq(chio__url_host_reading(tab, strlen(tab), CHIO__URL_RFC3986, out, sizeof(out)),
                 CHIO_EINVAL);
    cr_assert_eq(
        chio__url_host_reading(tab, strlen(tab), CHIO__URL_RFC3986_CLEAN, out, sizeof(out)), 0);
    cr_expect_str_eq(out, "evil.com");
    cr_expect_eq(chio__url_host(tab, strlen(tab), out, sizeof(out)), CHIO_EINVAL);
    /* bare hosts */
    cr_expect_eq(chio__host_reading("\xc3\xa9vil.com", 9, out, sizeof(out)), CHIO_ERANGE);
    cr_expect_eq(chio__host_reading("\xc3\xa9vil com", 9, out, sizeof(out)), CHIO_EINVAL);
    cr_expect_eq(chio__host_canon("\xc3\xa9vil.com", 9, out, sizeof(out)), CHIO_EINVAL);
}
