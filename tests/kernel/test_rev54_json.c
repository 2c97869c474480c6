/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev54_json.c - review 54: JSON held in a string that
 * a lenient reader takes though ours refuses it. Go's json.Decoder,
 * Python's raw_decode and JSON Lines readers take the first values of
 * '{"host":"evil.com"}\n{"a":1}'; JSON5, JSONC and Json.NET take comments,
 * trailing commas, single quotes and bare names; JSON.parse(s.trim())
 * takes a BOM or a no-break space around the text. Ours read all of them
 * as text, where a host in quotes is no host, so domain_exact and custom
 * held. Each such string is now read as the values a lenient reader
 * takes (embedded_json.c). Real kernels.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernelutil.h"

#define NOW 1710000300u
#define DX  KT_DX("example.com")
#define CU  "{\"type\":\"custom\",\"value\":[\"env\",\"prod\"]}"

/* @inner (raw text) as a JSON string's body: quotes, backslashes and
 * control characters escaped; bytes past ASCII as they are. */
static char *json_body(const char *inner)
{
    char *out = malloc(6 * strlen(inner) + 1), *o = out;
    const unsigned char *s = (const unsigned char *)inner;

    cr_assert_not_null(out);
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            o += sprintf(o, "\\%c", *s);
        else if (*s < 0x20)
            o += sprintf(o, "\\u%04x", *s);
        else
            *o++ = (char)*s;
    }
    *o = '\0';
    return out;
}

typedef struct case_ {
    const char *constraint;
    const char *outer; /* the arguments up to the string's body */
    const char *inner; /* the text held in a string */
    int allow;
} case_;

#define URL_OPTS "{\"url\":\"https://example.com/\",\"opts\":\""
#define ENV_OPTS "{\"env\":\"prod\",\"opts\":\""

static void run_cases(const case_ *cases, size_t n)
{
    kt_row *rows = calloc(n, sizeof(*rows));
    char **args = calloc(n, sizeof(*args));
    size_t i;

    cr_assert(rows != NULL && args != NULL);
    for (i = 0; i < n; i++) {
        char *body = json_body(cases[i].inner);
        cr_assert(asprintf(&args[i], "%s%s\"}", cases[i].outer, body) > 0);
        free(body);
        rows[i].constraint = cases[i].constraint;
        rows[i].args = args[i];
        rows[i].allow = cases[i].allow;
    }
    kt_run_rows_at(NOW, rows, n);
    for (i = 0; i < n; i++)
        free(args[i]);
    free(args);
    free(rows);
}

Test(rev54_json, json_a_lenient_reader_takes_is_read_as_such)
{
    static const case_ cases[] = {
        /* a stream of values: every one that parses (all before: allowed) */
        {DX, URL_OPTS, "{\"host\":\"evil.com\"}\n{\"a\":1}", 0},
        {DX, URL_OPTS, "{\"upstream\":\"169.254.169.254\"}  x", 0},
        {DX, URL_OPTS, "{\"a\":1}\n{\"host\":\"evil.com\"}", 0},
        {DX, URL_OPTS, "{\"a\":1} {\"host\":\"evil.com\"} {broken", 0},
        /* JSON5, JSONC, Json.NET */
        {DX, URL_OPTS, "{\"host\":\"evil.com\",}", 0},
        {DX, URL_OPTS, "{\"host\":\"evil.com\" /* c */}", 0},
        {DX, URL_OPTS, "// settings\n{\"host\":\"evil.com\"}", 0},
        {DX, URL_OPTS, "{host: 'evil.com'}", 0},
        {DX, URL_OPTS, "{'host': 'evil.com', 'x': NaN,}", 0},
        {DX, URL_OPTS, "[{\"host\":\"evil.com\"},]", 0},
        /* trimmed as trim() and strip() trim */
        {DX, URL_OPTS, "\xef\xbb\xbf{\"host\":\"evil.com\"}", 0},
        {DX, URL_OPTS, "{\"host\":\"evil.com\"}\xc2\xa0", 0},
        {CU, ENV_OPTS, "{\"env\":\"dev\"}\n{}", 0},
        {CU, ENV_OPTS, "{\"env\":\"dev\",}", 0},
        {CU, ENV_OPTS, "{env: 'dev'}", 0},
        /* JSON5 numbers, words and escapes; Python's repr; a stream that
         * starts with a scalar (second review 54) */
        {DX, URL_OPTS, "{host: 'evil.com', port: 0x1BB}", 0},
        {DX, URL_OPTS, "{\"host\":\"evil.com\",\"p\":+1,\"q\":.5,\"r\":5.}", 0},
        {DX, URL_OPTS, "{\"host\":\"evil.com\",\"p\":undefined,\"q\":-Infinity}", 0},
        {DX, URL_OPTS, "{\"host\":\"evil.com\",\"p\":\"\\x41 it\\'s\"}", 0},
        {DX, URL_OPTS, "{'host': 'evil.com', 'tls': True, 'x': None}", 0},
        {DX, URL_OPTS, "{\"host\":\"evil.com\",\xc2\xa0\"a\":0123}", 0},
        {DX, URL_OPTS, "\"x\"\n{\"host\":\"evil.com\"}", 0},
        {DX, URL_OPTS, "0\n{\"host\":\"evil.com\"}", 0},
        {CU, ENV_OPTS, "{env:\"dev\",n:+1}", 0},
        /* read one way only: still ambiguous */
        {CU, ENV_OPTS, "{\"env\":\"prod\",\"env\":\"dev\"} x", 0},
        /* what no reader takes for JSON, or JSON that holds, stays allowed */
        {DX, URL_OPTS, "[a](https://example.com/)", 1},
        {DX, URL_OPTS, "{{name}} and {{host}}", 1},
        {DX, URL_OPTS, "[1, 2] and more words", 1},
        {DX, URL_OPTS, "{\"host\":\"example.com\"} then text", 1},
        {DX, URL_OPTS, "{host: 'example.com', port: 443,}", 1},
        {DX, URL_OPTS, "[[[[[[[[", 1},
        {DX, URL_OPTS, "1. Install {package} from [the site](https://example.com/)", 1},
        {DX, URL_OPTS, "null pointer {x}", 1},
        {DX, URL_OPTS, "\"quoted\" words [1, 2]", 1},
        {CU, ENV_OPTS, "{env: 'prod'}\n{}", 1},
    };

    run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* A value deeper than the parser reads, with text after it, is read as
 * too deep (ambiguous), not as text: before, 130 levels and " x" held
 * domain_exact and custom whatever the innermost value named. */
Test(rev54_json, a_stream_value_too_deep_to_read_is_ambiguous)
{
    char inner[1024], *o = inner;
    int i;

    for (i = 0; i < 130; i++)
        *o++ = '[';
    o += sprintf(o, "{\"host\":\"evil.com\"}");
    for (i = 0; i < 130; i++)
        *o++ = ']';
    strcpy(o, " x");
    {
        const case_ cases[] = {
            {DX, URL_OPTS, inner, 0},
            {CU, ENV_OPTS, inner, 0},
        };
        run_cases(cases, sizeof(cases) / sizeof(cases[0]));
    }
}

/* The forbidden_path guard reads JSON held in a string the same way: a
 * path written with JSON escapes in JSON5 is "/etc/passwd" to the tool. */
Test(rev54_json, the_forbidden_path_guard_reads_it_too)
{
    static const char *const args[] = {
        "{\"opts\":\"{path: '\\\\u002fetc\\\\u002fpasswd'}\"}",
        "{\"opts\":\"{\\\"path\\\":\\\"\\\\u002fetc\\\\u002fpasswd\\\",}\"}",
        "{\"opts\":\"{\\\"a\\\":1}\\n{\\\"path\\\":\\\"\\\\u002fetc\\\\u002fpasswd\\\"}\"}",
        "{\"opts\":\"{path: '\\\\u002ftmp\\\\u002fx'}\"}",
    };
    static const int denied[] = {1, 1, 1, 0};

    kt_run_guard_rows_at(NOW, args, denied, sizeof(args) / sizeof(args[0]));
}
