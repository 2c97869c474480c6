/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_constraints.c - the argument constraints of check 6,
 * table-driven through the real pipeline: each row is one constraint, one
 * argument object and whether the call is allowed (else it must be denied
 * with constraint_violated and a receipt).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NOW 1710000300u

typedef kt_row row;

#define UNUSABLE KT_UNUSABLE /* a constraint the kernel cannot read makes the grant unusable */

static void run_rows(const row *rows, size_t n)
{
    kt_run_rows_at(NOW, rows, n);
}

#define PP KT_PP

Test(constraints, path_prefix_normalises_before_comparing)
{
    static const row rows[] = {
        {PP("/workspace"), "{\"path\":\"/workspace\"}", 1},
        {PP("/workspace"), "{\"path\":\"/workspace/a/b\"}", 1},
        {PP("/workspace/"), "{\"path\":\"/workspace/a\"}", 1},
        {PP("/workspace"), "{\"path\":\"/workspace/./a//b/\"}", 1},
        {PP("/workspace"), "{\"path\":\"/workspace/a/../b\"}", 1},
        {PP("/workspace"), "{\"path\":\"/workspace/../etc/passwd\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/a/../../etc\"}", 0},
        {PP("/workspace"), "{\"path\":\"/../workspace/a\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspacefoo/a\"}", 0},
        {PP("/workspace"), "{\"path\":\"workspace/a\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace\\\\..\\\\etc\"}", 0},
        {PP("/workspace"), "{\"src\":\"/workspace/a\",\"dst\":\"/tmp/b\"}", 0},
        {PP("/workspace"), "{\"src\":\"/workspace/a\",\"dst\":\"/workspace/b\"}", 1},
        {PP("/workspace"), "{\"files\":[{\"path\":\"/workspace/a\"},{\"path\":\"/etc/x\"}]}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/a\",\"mode\":\"read\"}", 1},
        {PP("/workspace"), "{\"url\":\"https://example.com/a\"}", 0}, /* no path at all */
        {PP("/workspace"), "{}", 0},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

Test(constraints, domains)
{
    static const row rows[] = {
        {"{\"type\":\"domain_exact\",\"value\":\"api.example.com\"}",
         "{\"url\":\"https://api.example.com/v1?q=1\"}", 1},
        {"{\"type\":\"domain_exact\",\"value\":\"api.example.com\"}",
         "{\"url\":\"https://API.Example.com.:8443/v1\"}", 1},
        {"{\"type\":\"domain_exact\",\"value\":\"api.example.com\"}",
         "{\"url\":\"https://user@evil.com/api.example.com\"}", 0},
        {"{\"type\":\"domain_exact\",\"value\":\"api.example.com\"}",
         "{\"url\":\"https://api.example.com.evil.com/\"}", 0},
        {"{\"type\":\"domain_exact\",\"value\":\"api.example.com\"}",
         "{\"host\":\"api.example.com\"}", 1},
        {"{\"type\":\"domain_exact\",\"value\":\"api.example.com\"}", "{\"q\":\"hello\"}", 0},
        {"{\"type\":\"domain_glob\",\"value\":\"*.example.com\"}",
         "{\"url\":\"https://a.b.example.com/\"}", 1},
        {"{\"type\":\"domain_glob\",\"value\":\"*.example.com\"}",
         "{\"url\":\"https://example.com/\"}", 0},
        {"{\"type\":\"domain_glob\",\"value\":\"*.example.com\"}",
         "{\"urls\":[\"https://a.example.com/\",\"http://b.example.org/\"]}", 0},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

Test(constraints, regex_length_size_custom_and_unknown)
{
    static const row rows[] = {
        {"{\"type\":\"regex_match\",\"value\":\"^SELECT \"}", "{\"sql\":\"SELECT 1\"}", 1},
        {"{\"type\":\"regex_match\",\"value\":\"^SELECT \"}", "{\"sql\":\"DROP TABLE x\"}", 0},
        {"{\"type\":\"regex_match\",\"value\":\"(unclosed\"}", "{\"sql\":\"(unclosed\"}", 0},
        {"{\"type\":\"max_length\",\"value\":5}", "{\"a\":\"12345\",\"b\":[\"x\"]}", 1},
        {"{\"type\":\"max_length\",\"value\":5}", "{\"a\":{\"b\":\"123456\"}}", 0},
        {"{\"type\":\"max_args_size\",\"value\":9}", "{\"a\":\"1\"}", 1},     /* 9 bytes */
        {"{\"type\":\"max_args_size\",\"value\":9}", "{\"a\":\"12\"}", 0},    /* 10 bytes */
        {"{\"type\":\"max_args_size\",\"value\":9}", "{ \"a\" : \"1\" }", 1}, /* canonical */
        {"{\"type\":\"custom\",\"value\":[\"env\",\"staging\"]}", "{\"env\":\"staging\"}", 1},
        {"{\"type\":\"custom\",\"value\":[\"env\",\"staging\"]}",
         "{\"opts\":{\"env\":\"staging\"}}", 1},
        {"{\"type\":\"custom\",\"value\":[\"env\",\"staging\"]}", "{\"env\":\"prod\"}", 0},
        {"{\"type\":\"quantum_entangled\",\"value\":1}", "{}", UNUSABLE},
        {"{\"type\":\"max_length\",\"value\":\"five\"}", "{}", UNUSABLE}, /* malformed value */
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* ---- the normalisation classes: each row is a bypass attempt (or its
 * legitimate twin) read the way the tool will read it ---- */

Test(constraints, path_prefix_reads_paths_like_the_tool)
{
    static const row rows[] = {
        /* percent-encoding: decoded once, and the undecoded reading counts too */
        {PP("/workspace"), "{\"path\":\"/workspace/%2e%2e/etc/passwd\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/.%2E/.%2e/etc\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/..%2f..%2fetc\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/..%5C..%5Cetc\"}", 0},
        {PP("/workspace"), "{\"path\":\"%2fworkspace%2fa\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/%252e%252e/etc\"}", 0}, /* double */
        {PP("/workspace"), "{\"path\":\"/workspace/a%20b\"}", 1},
        {PP("/workspace"), "{\"path\":\"/workspace/100%\"}", 1},
        /* file: URLs, under any key */
        {PP("/workspace"), "{\"path\":\"file:///workspace/a\"}", 1},
        {PP("/workspace"), "{\"path\":\"file://localhost/workspace/a\"}", 1},
        {PP("/workspace"), "{\"path\":\"file:///etc/passwd\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/a\",\"x\":\"file:///etc/passwd\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/a\",\"note\":\"FILE:/etc/passwd\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/a\",\"n\":\"file:etc/shadow\"}", 0},
        {PP("/workspace"), "{\"path\":\"file://evil/workspace/a\"}", 0},
        {PP("/workspace"), "{\"path\":\"file:///workspace/../etc/passwd\"}", 0},
        /* query and fragment: a tool that strips "file://" keeps them */
        {PP("/workspace"), "{\"path\":\"file:///workspace/a?/../../etc/passwd\"}", 0},
        {PP("/workspace"), "{\"path\":\"file:///workspace/a#/../../etc/passwd\"}", 0},
        {PP("/workspace"), "{\"path\":\"file:///workspace/a?v=1#top\"}", 1},
        /* control characters and surrounding spaces */
        {PP("/workspace"), "{\"path\":\"/workspace/a\\n\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/a\\t/../../etc\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/a\\r\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/a%00.txt\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/a%0a\"}", 0},
        {PP("/workspace"), "{\"path\":\" /workspace/a\"}", 0},
        /* trimmed like trim() and strip(): "/" to a tool that trims */
        {PP("/workspace"), "{\"path\":\"/workspace/a/../..\\u3000\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/a/../..\\u00a0\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/a/../..%E2%80%A9\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/a\\u00a0\"}", 1},
        /* segments */
        /* a share "a" on a host named "workspace" to Win32 and ntpath:
         * ambiguous, denied since review 42 */
        {PP("/workspace"), "{\"path\":\"//workspace/a\"}", 0},
        {PP("/workspace"), "{\"path\":\"/./workspace/a\"}", 1},
        {PP("/workspace"), "{\"path\":\"/tmp/../workspace/a\"}", 1},
        /* to open(2) a relative name in the working directory, to Windows
         * "/workspace/a": both readings must pass (review 31) */
        {PP("/workspace"), "{\"path\":\"\\\\workspace\\\\a\"}", 0},
        {PP("/workspace"), "{\"path\":\"/Workspace/a\"}", 0}, /* case-sensitive */
        {PP("/workspace"), "{\"path\":\"/workspace/a\",\"extra\":\"..%2f..%2fetc\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/a\",\"q\":\"../../etc\"}", 0},
        {PP("/workspace/"), "{\"path\":\"/workspace\"}", 1},
        {PP("/"), "{\"path\":\"/anything/at/all\"}", 1},
        {PP("/"), "{\"path\":\"/../x\"}", 0},
        {PP("/workspace/../etc"), "{\"path\":\"/etc/x\"}", 1}, /* prefix normalised too */
        {PP("/../x"), "{\"path\":\"/x\"}", 0},                 /* unusable prefix */
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

#define DX KT_DX
#define DG KT_DG

Test(constraints, domains_read_hosts_like_a_whatwg_parser)
{
    static const row rows[] = {
        /* userinfo and backslashes */
        {DX("api.example.com"), "{\"url\":\"https://evil.com\\\\@api.example.com/x\"}", 0},
        {DX("api.example.com"), "{\"url\":\"http://api.example.com@evil.com/\"}", 0},
        {DX("api.example.com"), "{\"url\":\"https://api.example.com:443@evil.com/\"}", 0},
        {DX("api.example.com"), "{\"url\":\"https://evil.com#@api.example.com\"}", 0},
        {DX("api.example.com"), "{\"url\":\"https://u:p@api.example.com/\"}", 1},
        /* WHATWG and RFC 3986 readers disagree: ambiguous, denied either way */
        {DX("api.example.com"), "{\"url\":\"https://api.example.com\\\\@evil.com/\"}", 0},
        {DX("evil.com"), "{\"url\":\"https://evil.com\\\\@api.example.com/\"}", 0},
        {DX("evil.com"), "{\"url\":\"https://api.example.com@x@evil.com/\"}", 0},
        /* slashes after the scheme */
        {DX("api.example.com"), "{\"url\":\"https:\\\\\\\\evil.com/\"}", 0},
        {DX("api.example.com"), "{\"url\":\"https:/\\\\evil.com/\"}", 0},
        {DX("api.example.com"), "{\"url\":\"https:api.example.com/x\"}", 1},
        {DX("api.example.com"), "{\"url\":\"https:///api.example.com/x\"}", 1},
        /* URLs under keys that do not say URL */
        {DX("api.example.com"), "{\"url\":\"https://api.example.com/\",\"q\":\"http:evil.com\"}",
         0},
        {DX("api.example.com"), "{\"url\":\"https://api.example.com/\",\"q\":\"//evil.com/x\"}", 0},
        {DX("api.example.com"), "{\"url\":\"https://api.example.com/\",\"q\":\"\\\\\\\\evil.com\"}",
         0},
        {DX("api.example.com"), "{\"q\":\" HTTPS://evil.com\"}", 0},
        {DX("api.example.com"), "{\"origin\":\"https://evil.com\"}", 0},
        {DX("api.example.com"), "{\"link\":\"https://api.example.com/a\"}", 1},
        /* tabs, newlines, controls, percent-encoding, case, dots */
        {DX("api.example.com"), "{\"url\":\"https://api.example.com\\t.evil.com/\"}", 0},
        /* WHATWG drops the newline, but a tool that splits words reads
         * "ht" (a bare host) apart: denied since review 42 (F2) */
        {DX("api.example.com"), "{\"url\":\"ht\\ntps://api.example.com/\"}", 0},
        {DX("api.example.com"), "{\"url\":\"https://api.example.com%00.evil.com/\"}", 0},
        {DX("api.example.com"), "{\"url\":\"http://%61pi.example.com/\"}", 1},
        {DX("api.example.com"), "{\"url\":\"https://api.example.com%2f.evil.com/\"}", 0},
        {DX("api.example.com"), "{\"url\":\"HTTPS://API.EXAMPLE.COM.:443/\"}", 1},
        {DX("api.example.com."), "{\"url\":\"https://api.example.com/\"}", 1},
        {DX("API.example.com"), "{\"url\":\"https://api.example.com/\"}", 1},
        {DX("api.example.com"), "{\"url\":\"https://api.example.com../\"}", 0},
        {DX("api.example.com"), "{\"url\":\"https://api.example.com:99999/\"}", 0},
        /* IDNA is not available: non-ASCII denies; xn-- compares as written */
        {DX("api.example.com"), "{\"url\":\"https://\\u0430pi.example.com/\"}", 0},
        {DX("api.example.com"), "{\"url\":\"https://api.ex\\uff41mple.com/\"}", 0},
        {DX("xn--bcher-kva.de"), "{\"url\":\"https://XN--BCHER-KVA.de/\"}", 1},
        {DX("xn--bcher-kva.de"), "{\"url\":\"https://b\\u00fccher.de/\"}", 0},
        /* IP literals in every WHATWG form */
        {DX("127.0.0.1"), "{\"url\":\"http://2130706433/\"}", 1},
        {DX("127.0.0.1"), "{\"url\":\"http://0177.0.0.1/\"}", 1},
        {DX("127.0.0.1"), "{\"url\":\"http://0x7f.1/\"}", 1},
        {DX("10.0.0.1"), "{\"url\":\"http://0x7f.1/\"}", 0},
        {DX("10.0.0.1"), "{\"url\":\"http://10.0.0.1.5/\"}", 0},
        {DX("[::1]"), "{\"url\":\"http://[0:0::1]:8080/\"}", 1},
        {DX("[0::1]"), "{\"url\":\"http://[::1]/\"}", 1},
        {DX("api.example.com"), "{\"url\":\"http://[::1]/\"}", 0},
        /* bare hosts under URL keys */
        {DX("api.example.com"), "{\"host\":\"API.EXAMPLE.COM.\"}", 1},
        {DX("api.example.com"), "{\"host\":\"evil.com/api.example.com\"}", 0},
        {DX("api.example.com"), "{\"host\":\"api.example.com:443\"}", 0},
        {DX("api.example.com"), "{\"host\":\"evil.com@api.example.com\"}", 0},
        {DX("api.example.com"), "{\"address\":\"evil.com\"}", 0},
        {DX("api.example.com"), "{\"endpoint\":\"javascript:alert(1)\"}", 0},
        {DX("api.example.com"), "{\"url\":\"\"}", 0},
        {DX("api.example.com"), "{\"url\":\"mailto:x@api.example.com\"}", 0},
        {DX("api.example.com"), "{\"url\":\"ftp://api.example.com/\"}", 1},
        {DX("api.example.com"), "{\"url\":\"wss://api.example.com/socket\"}", 1},
        {DX("api.example.com"), "{\"url\":\"foo://evil.com\\\\@api.example.com/\"}", 0},
        /* running text: every URL in it must be allowed */
        {DX("api.example.com"),
         "{\"q\":\"see https://api.example.com/a and (https://api.example.com/b)\"}", 1},
        {DX("api.example.com"), "{\"q\":\"see https://api.example.com/a or https://evil.com/\"}",
         0},
        {DX("api.example.com"), "{\"q\":\"see <https:\\\\\\\\evil.com>\"}", 0},
        {DX("api.example.com"), "{\"q\":\"line one\\nhttp:evil.com\"}", 0},
        {DX("api.example.com"), "{\"q\":\"a https://api.example.com\\\\@evil.com b\"}", 0},
        {DX("api.example.com"), "{\"q\":\"https://api.example.com @evil.com\"}", 0},
        {DX("api.example.com"), "{\"q\":\"{\\\"u\\\":\\\"https://evil.com\\\"}\"}", 0},
        {DX("api.example.com"), "{\"q\":\"{\\\"u\\\":\\\"https://api.example.com\\\"}\"}", 1},
        /* ...and so is the host a reader takes from the whole value: WHATWG
         * takes the last '@' (evil.com) and maps fullwidth letters (IDNA) */
        {DX("api.example.com"), "{\"q\":\"https://api.example.com and more\"}", 1},
        {DX("api.example.com"),
         "{\"q\":\"https://api.example.com (@\\uff45\\uff56\\uff49\\uff4c.com/\"}", 0},
        {DX("api.example.com"), "{\"url\":\"https://api.example.com(@\\u00e9vil.com/\"}", 0},
        {DX("api.example.com"),
         "{\"url\":\"https://api.example.com(@x@evil.com\\\\@api.example.com/\"}", 0},
        {DX("api.example.com"), "{\"url\":\"https://api.example.com (@evil..com/\"}", 0},
        {DX("api.example.com"), "{\"url\":\"foo://api.example.com (\\\\@evil.com/\"}", 0},
        /* curl and Python's urlsplit read these as evil.com */
        {DX("api.example.com"), "{\"url\":\"https:api.example.com\\\\@evil.com/\"}", 0},
        {DX("api.example.com"), "{\"url\":\"https:///api.example.com\\\\@evil.com/\"}", 0},
        {DX("api.example.com"), "{\"url\":\"ht\\ttps://api.example.com\\\\@evil.com/\"}", 0},
        {DX("api.example.com"), "{\"url\":\"https:/\\t/api.example.com\\\\@evil.com/\"}", 0},
        /* globs */
        {DG("*.example.com"), "{\"url\":\"https://evil.com\\\\@a.example.com/\"}", 0},
        {DG("*.example.com"), "{\"url\":\"https://a.example.com%2f.evil.com/\"}", 0},
        {DG("*.example.com"), "{\"url\":\"https://A.Example.COM./\"}", 1},
        {DG("*.example.com"), "{\"url\":\"https:a.example.com\"}", 1},
        /* a glob keeps its final dot, as in chio: it matches no host
         * (rev48_scope; allowed until review 48) */
        {DG("*.Example.com."), "{\"url\":\"https://a.example.com/\"}", 0},
        {DG("*.Example.com"), "{\"url\":\"https://a.example.com/\"}", 1},
        {DG("*.example.com"), "{\"url\":\"https://a.example.com/\",\"q\":\"http:evil.com\"}", 0},
        {DG("10.0.0.*"), "{\"url\":\"http://167772165/\"}", 1},
        {DG("10.0.0.*"), "{\"url\":\"http://0x7f.1/\"}", 0},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* A token's pattern means what it means to chio (Rust `regex`): POSIX's
 * wider readings must not allow what chio denies. */
/* One regex_match row: pattern P (JSON string body) against {"q": A}. */
#define RX(P, A, allow)                                                              \
    {                                                                                \
        "{\"type\":\"regex_match\",\"value\":\"" P "\"}", "{\"q\":\"" A "\"}", allow \
    }

Test(constraints, regex_match_reads_patterns_as_chio_does)
{
    static const row rows[] = {
        /* '.' does not match a newline in chio */
        RX("^safe.*$", "safe\\n/etc/passwd", 0),
        RX("^safe.*$", "safe-ok", 1),
        RX("^[^\\\\n]+$", "a\\nb", 0), /* the pattern's \n is a newline to chio */
        /* '.' and [^set] are one code point, not one byte */
        RX("^..$", "\\u00e9", 0),
        RX("^.$", "\\u00e9", 1),
        RX("^..$", "ab", 1),
        RX("^[^/]{2}$", "\\u00e9", 0),
        RX("^[^/]$", "\\u00e9", 1),
        RX("^[^/]+$", "a\\u00e9b", 1),
        RX("^[^/]+$", "a/b", 0),
        RX("^[^-a]+$", "b-c", 0),
        RX("^[^a-]+$", "bc\\u00e9", 1),
        RX("^[^]a]+$", "b]", 0),
        /* escapes POSIX reads as letters: refused, never "ddd" */
        RX("^\\\\d{3}$", "ddd", 0),
        RX("^[^\\\\d]+$", "123", 0), /* [^\d] is "not '\' or 'd'" to POSIX */
        RX("^\\\\W+$", "\\u00e9", 0),
        /* backreferences (unbounded matching work; chio refuses them) */
        RX("^(a)\\\\1$", "aa", 0),
        /* lazy quantifiers: the same matches, never "(a+)?" */
        RX("^a+?$", "", 0),
        RX("^a+?$", "aa", 1),
        RX("^x{2}?$", "", 0),
        RX("^(?:ab)+$", "abab", 1),
        /* a non-ASCII literal is one unit under a quantifier */
        RX("^\\u00e9+$", "\\u00e9\\u00e9", 1),
        /* what both read alike still works */
        RX("^[a-z]+\\\\.txt$", "abc.txt", 1),
        RX("^[a-z]+\\\\.txt$", "abcxtxt", 0),
        RX("^\\\\w+$", "abc_1", 1),
        RX("^a\\\\/b$", "a/b", 1),
        RX("^[[:alpha:]]+$", "ab1", 0),
        RX("^SELECT ", "SELECT 1", 1),
        /* set syntax, flags and open repeats chio reads otherwise: refused */
        RX("^[a-z&&[^x]]$", "a", 0),
        RX("(?i)abc", "ABC", 0),
        RX("a{,3}", "a", 0),
        RX("^*a", "a", 0),
        RX("a)", "a)", 0), /* an unmatched ')' is an error to chio */
        /* the automaton's size is bounded: seconds and gigabytes before */
        RX("^((a{1,250}){1,250}){1,250}$", "aaa", 0),
        RX("^(a{1,90}){1,90}$", "aaa", 1),
        RX("^.{1,1000}$", "aaa", 1),
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* domain_glob is chio's glob: only '*' is special. */
Test(constraints, domain_glob_has_only_the_star_wildcard)
{
    static const row rows[] = {
        {DG("api?.example.com"), "{\"url\":\"https://apix.example.com/\"}", 0},
        {DG("api[xy].example.com"), "{\"url\":\"https://apix.example.com/\"}", 0},
        {DG("api\\\\x.example.com"), "{\"url\":\"https://apix.example.com/\"}", 0},
        {DG("*.example.com"), "{\"url\":\"https://a.b.example.com/\"}", 1},
        {DG("*.example.com"), "{\"url\":\"https://example.com/\"}", 0},
        {DG("a*b*c.com"), "{\"url\":\"https://axxbyyc.com/\"}", 1},
        {DG("a*b*c.com"), "{\"url\":\"https://axxbyyd.com/\"}", 0},
        {DG("*"), "{\"url\":\"https://anything.example.org/\"}", 1},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* Object keys are read as paths and URLs too (a tool taking a map from
 * path to content writes to its keys), and a value that is one URL to a
 * WHATWG reader is also read as words, as a tool that splits it does
 * (spaces, U+3000). Every deny row was allowed before. */
Test(constraints, keys_and_words_are_read_too)
{
    static const row rows[] = {
        {PP("/workspace"), "{\"files\":{\"/etc/passwd\":\"x\"},\"path\":\"/workspace/a\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/a\",\"edits\":[{\"../../etc/x\":\"y\"}]}", 0},
        {PP("/workspace"), "{\"files\":{\"/workspace/a\":\"x\",\"/workspace/b\":\"y\"}}", 1},
        {DX("api.example.com"),
         "{\"url\":\"https://api.example.com\",\"hdr\":{\"https://evil.com/\":1}}", 0},
        {DX("api.example.com"), "{\"reqs\":{\"https://api.example.com/a\":{\"m\":\"GET\"}}}", 1},
        {DX("api.example.com"), "{\"args\":\"https://api.example.com/ https://evil.com/\"}", 0},
        {DX("api.example.com"), "{\"url\":\"https://api.example.com/\\u3000https://evil.com/\"}",
         0},
        {DX("api.example.com"), "{\"url\":\"https://api.example.com/a,https://evil.com/\"}", 0},
        /* "file" after a space is a bare host to a tool that splits
         * words (curl fetches http://file/): denied since review 42 (F2);
         * the encoded form stays allowed */
        {DX("api.example.com"), "{\"url\":\"https://api.example.com/my file (1).txt\"}", 0},
        {DX("api.example.com"), "{\"url\":\"https://api.example.com/my%20file%20(1).txt\"}", 1},
        {DX("api.example.com"),
         "{\"args\":\"https://api.example.com/a https://api.example.com/b\"}", 1},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

static double seconds_now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* regex_match searches in time linear in the argument, as chio's regex
 * does: glibc retried an unanchored pattern from every start position, and
 * "[a-z]+@example\.com" against 256 KiB of letters took over half a minute
 * (minutes at 1 MiB). The search is now one anchored pass; the rows check
 * that unanchored patterns and anchors inside them mean what they did. */
Test(constraints, regex_match_search_is_linear_and_unanchored)
{
    static const row rows[] = {
        RX("b$", "ab", 1),        RX("^b", "ab", 0),         RX("ab|^x", "zab", 1),
        RX("^x|b", "ab", 1),      RX("c$|^a", "bab", 0),     RX("a^b", "ab", 0),
        RX("[0-9]+", "ab12", 1),  RX("[0-9]+", "abc", 0),    RX("", "x", 1),
        RX("(x|y)z", "..yz.", 1), RX("[^z]^b", "xa\\nb", 0), RX("a$", "a\\nb", 0),
        RX("^b", "a\\nb", 0),
    };
    size_t n = 256 * 1024;
    char *args = malloc(n + 16);
    row big = {"{\"type\":\"regex_match\",\"value\":\"[a-z]+@example\\\\.com\"}", args, 0};
    double t0;

    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
    cr_assert_not_null(args);
    memcpy(args, "{\"q\":\"", 6);
    memset(args + 6, 'a', n);
    memcpy(args + 6 + n, "\"}", 3);
    t0 = seconds_now();
    run_rows(&big, 1);
    cr_expect_lt(seconds_now() - t0, 5.0, "a 256 KiB argument took %.1f s", seconds_now() - t0);
    free(args);
}
