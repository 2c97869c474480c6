/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev57_embedded.c - review 11 (constraints): JSON held
 * in a string argument that a reader a tool may use takes as members,
 * while the kernel read it as text, so domain_exact, domain_glob, custom
 * and the forbidden_path guard did not see the host, key or path inside:
 *   - F1: a raw control character inside a string (Python's json with
 *     strict=False, JSON5, Json.NET take it);
 *   - F2: Python literals beyond repr (ast.literal_eval takes u'' and r''
 *     strings, adjacent strings, triple quotes, parentheses, comments,
 *     line continuations, 1_000);
 *   - F3: a JSON5 member name written with an escape;
 *   - L1: RFC 7464 JSON text sequences (an RS before each text).
 * Raw controls and RS are now read; text shaped like JSON (an object or
 * array holding a quoted member name) that no reading takes whole, and a
 * JSON5 name with an escape or a non-ASCII letter, are ambiguous and
 * denied. Prose and curl globs stay text.
 */
#include <criterion/criterion.h>

#include "kernel/kernelutil.h"

#define NOW      1710000300u
#define CU(k, v) "{\"type\":\"custom\",\"value\":[\"" k "\",\"" v "\"]}"

Test(rev57_embedded, json_in_a_string_that_lenient_readers_take_is_read_or_denied)
{
    static const kt_row rows[] = {
        /* F1: a raw control character inside a string of the embedded JSON */
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/"
         "\",\"body\":\"{\\\"host\\\":\\\"evil.com\\\",\\\"n\\\":\\\"a\\tb\\\"}\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/"
         "\",\"body\":\"{\\\"host\\\":\\\"evil.com\\\",\\\"n\\\":\\\"a\\nb\\\"}\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/"
         "\",\"body\":\"{\\\"host\\\":\\\"evil.com\\\",\\\"n\\\":\\\"a\\u0001b\\\"}\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/"
         "\",\"body\":\"{\\\"host\\\":\\\"api.example.com\\\",\\\"n\\\":\\\"a\\tb\\\"}\"}",
         1},
        {CU("env", "prod"),
         "{\"env\":\"prod\",\"x\":\"{\\\"env\\\":\\\"dev\\\",\\\"n\\\":\\\"a\\tb\\\"}\"}", 0},
        {CU("env", "prod"),
         "{\"env\":\"prod\",\"x\":\"{\\\"env\\\":\\\"dev\\\",\\\"note\\\":\\\"line1\\nline2\\\"}"
         "\"}",
         0},
        {CU("env", "prod"),
         "{\"env\":\"prod\",\"x\":\"{\\\"env\\\":\\\"prod\\\",\\\"note\\\":\\\"line1\\nline2\\\"}"
         "\"}",
         1},
        /* ... in a stream of values with text after it (raw_decode) */
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/"
         "\",\"body\":\"{\\\"host\\\":\\\"evil.com\\\",\\\"n\\\":\\\"a\\tb\\\"} trailing\"}",
         0},
        /* F2: Python literals beyond repr (ast.literal_eval) */
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"body\":\"{'host': u'evil.com'}\"}", 0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"body\":\"{'host': r'evil.com'}\"}", 0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"body\":\"{'host': 'evil' '.com'}\"}", 0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"body\":\"{'ho' 'st': 'evil.com'}\"}", 0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"body\":\"{'host': "
         "\\\"\\\"\\\"evil.com\\\"\\\"\\\"}\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"body\":\"{'host': ('evil.com')}\"}", 0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"body\":\"{'host': 'evil.com', 'n': 1_000}\"}", 0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"body\":\"{'host':\\\\\\n'evil.com'}\"}", 0},
        {CU("env", "prod"), "{\"env\":\"prod\",\"x\":\"{'env': u'dev'}\"}", 0},
        {CU("env", "prod"), "{\"env\":\"prod\",\"x\":\"{'env': 'd' 'ev'}\"}", 0},
        {CU("env", "prod"), "{\"env\":\"prod\",\"x\":\"{'env': 'dev', # c\\n}\"}", 0},
        /* F3: a JSON5 member name written with an escape, or non-ASCII */
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"body\":\"{h\\\\u006fst:'evil.com'}\"}", 0},
        {CU("env", "prod"), "{\"env\":\"prod\",\"x\":\"{e\\\\u006ev:'dev'}\"}", 0},
        {CU("env", "prod"), "{\"env\":\"prod\",\"x\":\"{\\\\u0065nv:'dev'}\"}", 0},
        /* L1: RFC 7464 text sequences (RS before each text) */
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/"
         "\",\"body\":\"\\u001e{\\\"host\\\":\\\"evil.com\\\"}\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/"
         "\",\"body\":\"{\\\"a\\\":1}\\u001e{\\\"host\\\":\\\"evil.com\\\"}\"}",
         0},
        {CU("env", "prod"), "{\"env\":\"prod\",\"x\":\"\\u001e{\\\"env\\\":\\\"dev\\\"}\"}", 0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/"
         "\",\"body\":\"\\u001e{\\\"host\\\":\\\"api.example.com\\\"}\\n\"}",
         1},
        /* prose and globs stay text: a curl glob, a note, a markdown link, a
         * template, braces without a quoted member name */
        {KT_DX("api.example.com"),
         "{\"url\":\"{https://api.example.com/a,https://api.example.com/b}\"}", 1},
        {CU("env", "prod"), "{\"env\":\"prod\",\"note\":\"[Note: the env is prod]\"}", 1},
        {CU("env", "prod"), "{\"env\":\"prod\",\"note\":\"[a](https://x) {env}\"}", 1},
        {CU("env", "prod"), "{\"env\":\"prod\",\"note\":\"{user} said {msg}\"}", 1},
        {CU("env", "prod"), "{\"env\":\"prod\",\"note\":\"{'env' = 'dev'}\"}", 1},
        /* shaped like JSON with a quoted member name, read by no reader: ambiguous */
        {CU("env", "prod"), "{\"env\":\"prod\",\"note\":\"{\\\"a\\\": <b>}\"}", 0},
        /* review 12 F1: escapes JSON5 and Python read differently (octal, \\N{..}, \\U, \\a) */
        {CU("mode", "read"), "{\"mode\":\"read\",\"x\":\"{'\\\\155ode': 'write'}\"}", 0},
        {CU("mode", "read"), "{\"mode\":\"read\",\"x\":\"{'mode': 'wr\\\\151te'}\"}", 0},
        {CU("mode", "read"),
         "{\"mode\":\"read\",\"x\":\"{'mode': '\\\\N{LATIN SMALL LETTER W}rite'}\"}", 0},
        {CU("mode", "read"), "{\"mode\":\"read\",\"x\":\"{'mode': '\\\\U00000077rite'}\"}", 0},
        {CU("mode", "read"), "{\"mode\":\"read\",\"x\":\"{'mode': 'read\\\\a'}\"}", 0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"note\":\"{'note': 'see "
         "https\\\\72//evil.com/'}\"}",
         0},
        {CU("mode", "read"), "{\"mode\":\"read\",\"x\":\"{'mode': 'read', 'n': 'it\\\\'s'}\"}", 1},
        /* Python keys with prefixes, parentheses or adjacent strings */
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"body\":\"{u'host': 'evil.com'}\"}", 0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"body\":\"{('host'): 'evil.com'}\"}", 0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"body\":\"{'ho' u'st': 'evil.com'}\"}", 0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"body\":\"{'a': 1, rb'host': 'evil.com'}\"}", 0},
        /* code, templates, markup and prose with quotes and colons stay text */
        {CU("mode", "read"),
         "{\"mode\":\"read\",\"x\":\"{ return ok ? \\\"yes\\\" : \\\"no\\\"; }\"}", 1},
        {CU("mode", "read"),
         "{\"mode\":\"read\",\"x\":\"{% if user %}Hello \\\"{{ user }}\\\": welcome{% endif %}\"}",
         1},
        {CU("mode", "read"), "{\"mode\":\"read\",\"x\":\"[quote=\\\"bob\\\":abc]hi[/quote]\"}", 1},
        {CU("mode", "read"), "{\"mode\":\"read\",\"x\":\"[He said \\\"no\\\": it was over]\"}", 1},
        /* review 13 F1: a dict in parentheses, a comment before the colon */
        {CU("mode", "read"), "{\"mode\":\"read\",\"x\":\"({'mode': 'write'})\"}", 0},
        {CU("mode", "read"), "{\"mode\":\"read\",\"x\":\"( {'mode': 'write'} )\"}", 0},
        {CU("mode", "read"), "{\"mode\":\"read\",\"x\":\"{'mode' # c\\n: 'write'}\"}", 0},
        {CU("mode", "read"), "{\"mode\":\"read\",\"x\":\"(see {'a': 1})\"}", 1},
    };

    kt_run_rows_at(NOW, rows, sizeof(rows) / sizeof(rows[0]));
}

/* The guard reads JSON held in a string the same way (its path written
 * with escapes, so only a reading of the JSON finds it). */
Test(rev57_embedded, the_forbidden_path_guard_reads_it_the_same_way)
{
    static const char *const args[] = {
        "{\"body\":\"{\\\"f\\\":\\\"\\\\u002fetc\\\\u002fshadow\\\"}\"}",
        "{\"body\":\"{\\\"f\\\":\\\"\\\\u002fetc\\\\u002fshadow\\\",\\\"n\\\":\\\"a\\tb\\\"}\"}",
        "{\"body\":\"{'f': '\\\\x2fetc' '\\\\x2fshadow'}\"}",
        "{\"body\":\"{'f': u'\\\\x2fetc\\\\x2fshadow'}\"}",
        "{\"body\":\"{f\\\\u0069le: '\\\\x2fetc\\\\x2fshadow'}\"}",
        "{\"body\":\"{\\\"f\\\":\\\"\\\\u002ftmp\\\\u002fx\\\",\\\"n\\\":\\\"a\\tb\\\"}\"}",
        /* review 12 F1: Python's octal, \\U and \\N{} escapes */
        "{\"body\":\"{'path': '\\\\57etc\\\\57passwd'}\"}",
        "{\"body\":\"{'path': '\\\\U0000002fetc\\\\U0000002fpasswd'}\"}",
        "{\"body\":\"{'path': '\\\\N{SOLIDUS}etc\\\\N{SOLIDUS}passwd'}\"}",
        /* review 13 F1 */
        "{\"body\":\"({'p': '/e'\\n'tc/passwd'})\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 0, 1, 1, 1, 1};

    kt_run_guard_rows_at(NOW, args, denied, sizeof(args) / sizeof(args[0]));
}

/* Review 11 (constraints) L2: chio's own reading of a string leaf under
 * any key ("evil.com" is a host) now looks through percent-encoding too:
 * a tool that puts "evil%2ecom" in a URL reaches evil.com (WHATWG decodes
 * a host's escapes). Before, only URL keys were read decoded. */
Test(rev57_embedded, a_percent_encoded_host_under_any_key_is_read_decoded)
{
    static const kt_row rows[] = {
        {KT_DX("api.example.com"), "{\"url\":\"https://api.example.com/\",\"next\":\"evil%2ecom\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"next\":\"evil%252ecom\"}", 0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"next\":\"x@evil%2Ecom:22\"}", 0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"next\":\"api%2eexample%2ecom\"}", 1},
        {KT_DX("api.example.com"), "{\"url\":\"https://api.example.com/\",\"next\":\"a%2Fb%20c\"}",
         1},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"next\":\"%25%25%25%25%25%2e\"}", 1},
        /* review 12 F2: the dots and letters a host parser folds (UTS 46) */
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"next\":\"evil\\u3002com\"}", 0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"next\":\"evil\\uff0ecom\"}", 0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"next\":\"evil\\uff61com\"}", 0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"next\":\"evil%E3%80%82com\"}", 0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/"
         "\",\"next\":\"\\uff45\\uff56\\uff49\\uff4c\\uff0e\\uff43\\uff4f\\uff4d\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"next\":\"api\\u3002example\\u3002com\"}", 1},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/"
         "\",\"next\":\"\\u65e5\\u672c\\u8a9e\\u3002\\u30c6\\u30ad\\u30b9\\u30c8\"}",
         1},
        /* review 13: a name past ASCII with an ASCII top-level label */
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"next\":\"\xc3\xa9"
         "vil.com\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"next\":\"x@\xc3\xa9"
         "vil.com:22\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"file\":\"r\xc3\xa9"
         "sum\xc3\xa9"
         ".pdf\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"msg\":\"\xe3\x81\x93"
         "\xe3\x82\x93"
         "\xe3\x81\xab"
         "\xe3\x81\xa1"
         "\xe3\x81\xaf"
         "\xe3\x80\x82"
         "\xe5\x85\x83"
         "\xe6\xb0\x97"
         "\xe3\x81\xa7"
         "\xe3\x81\x99"
         "\xe3\x81\x8b"
         "\"}",
         1},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"next\":\"\xc3\xa9"
         "vil\"}",
         1},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"msg\":\"na\xc3\xaf"
         "ve approach. yes\"}",
         1},
        /* review 14: a punycode top-level label */
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"next\":\"\xc3\xa9"
         "vil.xn--p1ai\"}",
         0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/\",\"v\":\"\xe7\x89\x88"
         "\xe6\x9c\xac"
         "1.2\"}",
         1},
    };

    kt_run_rows_at(NOW, rows, sizeof(rows) / sizeof(rows[0]));
}
