/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/core/test_json.c - the JSON reader and canonical writer: every case
 * of the upstream canonical vectors byte for byte, number classification and
 * rendering, key order, and each class of rejected input with its code and
 * offset.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/json.h"
#include "common/testutil.h"
#include "internal.h"

static char *canon(const char *in, int *rc_out, chio_error *err)
{
    char *out = NULL;
    size_t len = 0;
    chio_error local;

    if (err == NULL)
        err = &local;
    chio_error_init(err);
    *rc_out = chio_json_canonicalize(in, strlen(in), &out, &len, err);
    if (*rc_out == 0)
        cr_assert_eq(strlen(out), len);
    return out;
}

static void expect_canon(const char *in, const char *want)
{
    int rc;
    chio_error err;
    char *got = canon(in, &rc, &err);

    cr_assert_eq(rc, 0, "input %s rejected: %s", in, err.message);
    cr_expect_str_eq(got, want, "input %s", in);
    free(got);
}

static void expect_reject(const char *in, size_t len, int code, size_t offset)
{
    chio_json_doc *doc = (chio_json_doc *)1;
    chio_error err;
    int rc;

    chio_error_init(&err);
    rc = chio_json_parse(in, len, &doc, &err);
    cr_expect_eq(rc, code, "input [%.*s]: got %s (%s), want %s", (int)len, in, chio_err_name(rc),
                 err.message, chio_err_name(code));
    cr_expect_null(doc);
    cr_expect_eq(err.code, code);
    if (offset != CHIO_NO_OFFSET)
        cr_expect_eq(err.offset, offset, "input [%.*s]: offset %zu, want %zu (%s)", (int)len, in,
                     err.offset, offset, err.message);
    cr_expect(strstr(err.message, "byte") != NULL || offset == CHIO_NO_OFFSET,
              "message should name the byte offset: %s", err.message);
}

Test(json_vectors, canonical_v1_all_cases)
{
    chio_json_doc *doc = testutil_load_vectors("chio-canonical-v1.json");
    const chio_json *cases = chio_json_get(chio_json_root(doc), "cases");
    size_t i, n = chio_json_size(cases), passed = 0;

    cr_assert_eq(n, 21, "expected 21 canonical cases, found %zu", n);
    for (i = 0; i < n; i++) {
        const chio_json *c = chio_json_at(cases, i);
        size_t inlen, wantlen, gotlen = 0;
        const char *in = chio_json_string(chio_json_get(c, "input_json"), &inlen);
        const char *want = chio_json_string(chio_json_get(c, "canonical_json"), &wantlen);
        const char *id = chio_json_string(chio_json_get(c, "id"), NULL);
        char *got = NULL;
        chio_error err;

        chio_error_init(&err);
        cr_assert_not_null(in);
        cr_assert_not_null(want);
        cr_expect_eq(chio_json_canonicalize(in, inlen, &got, &gotlen, &err), 0, "%s: %s", id,
                     err.message);
        if (got != NULL && gotlen == wantlen && memcmp(got, want, wantlen) == 0)
            passed++;
        else
            cr_expect_fail("case %s: got [%s] want [%s]", id, got ? got : "(null)", want);
        free(got);
    }
    fprintf(stderr, "canonical vectors: %zu/%zu cases passed\n", passed, n);
    cr_assert_eq(passed, n);
    chio_json_doc_free(doc);
}

Test(json_numbers, integers_are_exact)
{
    expect_canon("18446744073709551615", "18446744073709551615");
    expect_canon("9007199254740993", "9007199254740993");
    expect_canon("-9223372036854775808", "-9223372036854775808");
    expect_canon("-0", "0");
    expect_canon("0", "0");
    expect_canon("[-1,1]", "[-1,1]");
    /* beyond uint64 / below int64: IEEE double */
    expect_canon("18446744073709551616", "18446744073709552000");
    expect_canon("-9223372036854775809", "-9223372036854776000");
    expect_canon("100000000000000000000000", "1e+23");
}

Test(json_numbers, doubles_use_ecmascript_form)
{
    expect_canon("1.0", "1");
    expect_canon("1e20", "100000000000000000000");
    expect_canon("1e21", "1e+21");
    expect_canon("0.000001", "0.000001");
    expect_canon("1e-7", "1e-7");
    expect_canon("5e-324", "5e-324");
    expect_canon("-0.0", "0");
    expect_canon("0.1", "0.1");
    expect_canon("123.456", "123.456");
    expect_canon("1.5e300", "1.5e+300");
    expect_canon("-1.25e-10", "-1.25e-10");
    expect_canon("1.7976931348623157e308", "1.7976931348623157e+308");
    expect_canon("2.2250738585072014e-308", "2.2250738585072014e-308");
    expect_canon("0.30000000000000004", "0.30000000000000004");
    expect_canon("123456789012345678901234567890.0", "1.2345678901234568e+29");
    expect_canon("1E2", "100");
    expect_canon("1e-400", "0");
}

/* A power of two has a lower neighbour twice as close as its upper one, so
 * its shortest round-trip form can be the candidate just above it rather than
 * the nearest one (what Number::toString and chio's writer print). */
Test(json_numbers, powers_of_two_take_the_shortest_form)
{
    expect_canon("5.9604644775390625e-8", "5.960464477539063e-8");                 /* 2^-24 */
    expect_canon("5.684341886080801486968994140625e-14", "5.684341886080802e-14"); /* 2^-44 */
    expect_canon("618970019642690137449562112", "6.189700196426902e+26");          /* 2^89 */
    expect_canon("6.1897001964269014e+26", "6.189700196426902e+26");
    expect_canon("-5.316911983139664e36", "-5.316911983139664e+36");   /* -2^122 */
    expect_canon("6.386688990511104e+293", "6.386688990511104e+293");  /* 2^976 */
    expect_canon("7.1202363472230444e-307", "7.120236347223045e-307"); /* 2^-1017 */
    expect_canon("[0.5,0.25,1024.0,8.673617379884035e-19]",
                 "[0.5,0.25,1024,8.673617379884035e-19]");
}

Test(json_numbers, classification_and_accessors)
{
    chio_json_doc *doc;
    int64_t i;
    uint64_t u;
    double d;
    const char *t = "[1,-1,18446744073709551615,1.5,-0,1e2]";

    cr_assert_eq(chio_json_parse(t, strlen(t), &doc, NULL), 0);
    const chio_json *a = chio_json_root(doc);
    cr_expect_eq(chio_json_typeof(chio_json_at(a, 0)), CHIO_JSON_INT);
    cr_expect_eq(chio_json_typeof(chio_json_at(a, 1)), CHIO_JSON_INT);
    cr_expect_eq(chio_json_typeof(chio_json_at(a, 2)), CHIO_JSON_UINT);
    cr_expect_eq(chio_json_typeof(chio_json_at(a, 3)), CHIO_JSON_DOUBLE);
    cr_expect_eq(chio_json_typeof(chio_json_at(a, 4)), CHIO_JSON_INT);
    cr_expect_eq(chio_json_typeof(chio_json_at(a, 5)), CHIO_JSON_DOUBLE);
    cr_expect_eq(chio_json_get_uint64(chio_json_at(a, 2), &u), 0);
    cr_expect_eq(u, UINT64_MAX);
    cr_expect_eq(chio_json_get_int64(chio_json_at(a, 2), &i), CHIO_ERANGE);
    cr_expect_eq(chio_json_get_uint64(chio_json_at(a, 1), &u), CHIO_ERANGE);
    cr_expect_eq(chio_json_get_int64(chio_json_at(a, 1), &i), 0);
    cr_expect_eq(i, -1);
    cr_expect_eq(chio_json_get_double(chio_json_at(a, 3), &d), 0);
    cr_expect_float_eq(d, 1.5, 1e-12);
    cr_expect_eq(chio_json_get_int64(chio_json_at(a, 3), &i), CHIO_EINVAL);
    chio_json_doc_free(doc);
}

Test(json_numbers, overflowing_doubles_rejected)
{
    expect_reject("1e400", 5, CHIO_EJSON_NUMBER, 0);
    expect_reject("[1,-1e999]", 10, CHIO_EJSON_NUMBER, 3);
}

Test(json_strings, escaping_rules)
{
    expect_canon("\"\\u0000\\u001f\\u007f\\u0080\\u009f\\u00a0\"",
                 "\"\\u0000\\u001f\\u007f\\u0080\\u009f\xc2\xa0\"");
    expect_canon("\"\\b\\f\\n\\r\\t\"", "\"\\b\\f\\n\\r\\t\"");
    expect_canon("\"\\/ \\u2028\\u2029\"", "\"/ \xe2\x80\xa8\xe2\x80\xa9\"");
    expect_canon("\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"");
    expect_canon("\"\\u00e9\xc3\xa9\"", "\"\xc3\xa9\xc3\xa9\"");
    expect_canon("\"\\u000b\"", "\"\\u000b\"");
}

Test(json_keys, utf16_order)
{
    /* U+E000 (BMP, high) sorts after U+10000 (surrogate D800). */
    expect_canon("{\"\\ue000\":1,\"\\ud800\\udc00\":2}",
                 "{\"\xf0\x90\x80\x80\":2,\"\xee\x80\x80\":1}");
    /* A proper prefix sorts first; ASCII by byte. */
    expect_canon("{\"ab\":1,\"a\":2,\"B\":3,\"\":4}", "{\"\":4,\"B\":3,\"a\":2,\"ab\":1}");
    /* U+FFFF vs U+10FFFF: surrogate D8xx (< FFFF) first. */
    expect_canon("{\"\\uffff\":1,\"\\udbff\\udfff\":2}",
                 "{\"\xf4\x8f\xbf\xbf\":2,\"\xef\xbf\xbf\":1}");
    /* Two-byte vs three-byte below the surrogate range keep code point order. */
    expect_canon("{\"\\u0800\":1,\"\\u07ff\":2}", "{\"\xdf\xbf\":2,\"\xe0\xa0\x80\":1}");
    cr_expect_lt(chio__json_key_cmp("a", 1, "b", 1), 0);
    cr_expect_gt(chio__json_key_cmp("\xee\x80\x80", 3, "\xf0\x90\x80\x80", 4), 0);
    cr_expect_eq(chio__json_key_cmp("xy", 2, "xy", 2), 0);
}

Test(json_reject, syntax_errors_name_offsets)
{
    expect_reject("{\"a\":1,}", 8, CHIO_EJSON_SYNTAX, 7);
    expect_reject("[1,]", 4, CHIO_EJSON_SYNTAX, 3);
    expect_reject("{'a':1}", 7, CHIO_EJSON_SYNTAX, 1);
    expect_reject("01", 2, CHIO_EJSON_TRAILING, 1);
    expect_reject("1.", 2, CHIO_EJSON_TRUNCATED, 2);
    expect_reject("1.e5", 4, CHIO_EJSON_SYNTAX, 2);
    expect_reject("+1", 2, CHIO_EJSON_SYNTAX, 0);
    expect_reject("NaN", 3, CHIO_EJSON_SYNTAX, 0);
    expect_reject("Infinity", 8, CHIO_EJSON_SYNTAX, 0);
    expect_reject("nul", 3, CHIO_EJSON_TRUNCATED, 3);
    expect_reject("nulx", 4, CHIO_EJSON_SYNTAX, 0);
    expect_reject("\"\\x\"", 4, CHIO_EJSON_SYNTAX, 1);
    expect_reject("\"\\u12G4\"", 8, CHIO_EJSON_SYNTAX, 1);
    expect_reject("{\"a\" 1}", 7, CHIO_EJSON_SYNTAX, 5);
}

Test(json_reject, truncated_inputs)
{
    expect_reject("", 0, CHIO_EJSON_TRUNCATED, 0);
    expect_reject("   ", 3, CHIO_EJSON_TRUNCATED, 3);
    expect_reject("{\"a\":", 5, CHIO_EJSON_TRUNCATED, 5);
    expect_reject("[1,2", 4, CHIO_EJSON_TRUNCATED, 4);
    expect_reject("\"abc", 4, CHIO_EJSON_TRUNCATED, 4);
    expect_reject("{\"a\"", 4, CHIO_EJSON_TRUNCATED, 4);
}

Test(json_reject, trailing_garbage)
{
    expect_reject("{} x", 4, CHIO_EJSON_TRAILING, 3);
    expect_reject("1 2", 3, CHIO_EJSON_TRAILING, 2);
    expect_reject("[]]", 3, CHIO_EJSON_TRAILING, 2);
    expect_reject("{}\0", 3, CHIO_EJSON_TRAILING, 2);
}

Test(json_reject, invalid_utf8)
{
    expect_reject("\"\xff\"", 3, CHIO_EJSON_UTF8, 1);
    expect_reject("\"a\xc0\xaf\"", 5, CHIO_EJSON_UTF8, 2);        /* overlong '/' */
    expect_reject("\"\xe0\x80\xaf\"", 5, CHIO_EJSON_UTF8, 1);     /* overlong */
    expect_reject("\"\xed\xa0\x80\"", 5, CHIO_EJSON_UTF8, 1);     /* UTF-8 surrogate */
    expect_reject("\"\xf4\x90\x80\x80\"", 6, CHIO_EJSON_UTF8, 1); /* > U+10FFFF */
    expect_reject("\"\xc3\"", 3, CHIO_EJSON_UTF8, 1);             /* truncated sequence */
    expect_reject("\"\x80\"", 3, CHIO_EJSON_UTF8, 1);             /* lone continuation */
    expect_reject("{\"\xfe\":1}", 7, CHIO_EJSON_UTF8, 2);
}

Test(json_reject, lone_surrogates)
{
    expect_reject("\"\\ud800\"", 8, CHIO_EJSON_SURROGATE, 1);
    expect_reject("\"\\udc00\"", 8, CHIO_EJSON_SURROGATE, 1);
    expect_reject("\"\\ud800\\u0041\"", 14, CHIO_EJSON_SURROGATE, 1);
    expect_reject("\"x\\ud800x\"", 10, CHIO_EJSON_SURROGATE, 2);
}

Test(json_reject, keys_and_controls)
{
    expect_reject("{\"a\":1,\"a\":2}", 13, CHIO_EJSON_DUPKEY, 7);
    expect_reject("{\"b\":1,\"a\":2,\"b\":3}", 19, CHIO_EJSON_DUPKEY, 13);
    expect_reject("{\"a\\u0000b\":1}", 14, CHIO_EJSON_NULKEY, 1);
    expect_reject("\"a\tb\"", 5, CHIO_EJSON_CONTROL, 2);
    expect_reject("\"a\0b\"", 5, CHIO_EJSON_CONTROL, 2);
    /* Same key spelled two ways is still a duplicate. */
    expect_reject("{\"a\":1,\"\\u0061\":2}", 18, CHIO_EJSON_DUPKEY, 7);
}

Test(json_reject, nul_in_values_is_kept)
{
    chio_json_doc *doc;
    size_t len;
    const char *s;

    cr_assert_eq(chio_json_parse("\"a\\u0000b\"", 10, &doc, NULL), 0);
    s = chio_json_string(chio_json_root(doc), &len);
    cr_expect_eq(len, 3);
    cr_expect_eq(s[1], '\0');
    chio_json_doc_free(doc);
    expect_canon("\"a\\u0000b\"", "\"a\\u0000b\"");
}

static char *nested(int depth, char open, char close)
{
    char *s = malloc((size_t)depth * 2 + 1);
    int i;

    for (i = 0; i < depth; i++) {
        s[i] = open;
        s[2 * depth - 1 - i] = close;
    }
    s[2 * depth] = '\0';
    return s;
}

Test(json_reject, depth_limit)
{
    char *ok = nested(CHIO_JSON_MAX_DEPTH, '[', ']');
    char *deep = nested(CHIO_JSON_MAX_DEPTH + 1, '[', ']');
    chio_json_doc *doc;

    cr_expect_eq(chio_json_parse(ok, strlen(ok), &doc, NULL), 0);
    chio_json_doc_free(doc);
    expect_reject(deep, strlen(deep), CHIO_EJSON_DEPTH, CHIO_JSON_MAX_DEPTH);
    free(ok);
    free(deep);
    /* 100k levels: rejected quickly, no stack overflow. */
    deep = nested(100000, '[', ']');
    expect_reject(deep, strlen(deep), CHIO_EJSON_DEPTH, CHIO_JSON_MAX_DEPTH);
    free(deep);
}

Test(json_reject, null_arguments)
{
    chio_json_doc *doc;
    chio_error err;

    chio_error_init(&err);
    cr_expect_eq(chio_json_parse(NULL, 3, &doc, &err), CHIO_EINVAL);
    cr_expect_eq(chio_json_parse("1", 1, NULL, &err), CHIO_EINVAL);
    cr_expect_eq(chio_json_canonicalize("1", 1, NULL, NULL, &err), CHIO_EINVAL);
}

Test(json_value, accessors)
{
    chio_json_doc *doc;
    const char *t = "{\"z\":[true,null],\"a\":{\"k\":\"v\"}}";
    size_t len;

    cr_assert_eq(chio_json_parse(t, strlen(t), &doc, NULL), 0);
    const chio_json *r = chio_json_root(doc);
    cr_expect_eq(chio_json_typeof(r), CHIO_JSON_OBJECT);
    cr_expect_eq(chio_json_size(r), 2);
    cr_expect_str_eq(chio_json_key_at(r, 0, &len), "a");
    cr_expect_str_eq(chio_json_key_at(r, 1, NULL), "z");
    cr_expect_null(chio_json_key_at(r, 2, NULL));
    cr_expect_str_eq(chio_json_string(chio_json_get(chio_json_get(r, "a"), "k"), NULL), "v");
    cr_expect_null(chio_json_get(r, "missing"));
    cr_expect_eq(chio_json_typeof(chio_json_at(chio_json_get(r, "z"), 1)), CHIO_JSON_NULL);
    cr_expect_null(chio_json_at(chio_json_get(r, "z"), 2));
    int b = 0;
    cr_expect_eq(chio_json_get_bool(chio_json_at(chio_json_get(r, "z"), 0), &b), 0);
    cr_expect_eq(b, 1);
    chio_json_doc_free(doc);
}

Test(json_value, builder_keeps_canonical_order)
{
    chio_json_doc *doc = chio__json_doc_new(0);
    chio_json *root = chio__json_doc_root(doc), *slot;
    char *out;
    size_t len;

    cr_assert_eq(chio__json_set_object(doc, root, 1), 0);
    slot = chio__json_obj_put(doc, root, "zeta", 4);
    chio__json_set_int(slot, 1);
    slot = chio__json_obj_put(doc, root, "alpha", 5);
    cr_assert_eq(chio__json_set_string(doc, slot, "x\"y", 3), 0);
    slot = chio__json_obj_put(doc, root, "mid", 3);
    chio__json_set_uint(slot, UINT64_MAX);
    slot = chio__json_obj_put(doc, root, "zeta", 4); /* replace */
    chio__json_set_bool(slot, 0);
    cr_assert_eq(chio_json_write_canonical(root, &out, &len), 0);
    cr_expect_str_eq(out, "{\"alpha\":\"x\\\"y\",\"mid\":18446744073709551615,\"zeta\":false}");
    free(out);
    chio__json_obj_del(root, "mid");
    cr_assert_eq(chio_json_write_canonical(root, &out, &len), 0);
    cr_expect_str_eq(out, "{\"alpha\":\"x\\\"y\",\"zeta\":false}");
    free(out);
    chio_json_doc_free(doc);
}

Test(json_value, canonical_is_idempotent)
{
    const char *inputs[] = {"{\"b\":[1,2.50,{\"y\":null,\"x\":\"\\u00e9\"}],\"a\":-0.0}",
                            "[1e21,1e-7,0.1,\"\\u007f\"]", "{\"\\ud83d\\ude00\":1,\"a\":1}"};
    size_t i;

    for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        int rc;
        char *once = canon(inputs[i], &rc, NULL), *twice;
        cr_assert_eq(rc, 0);
        twice = canon(once, &rc, NULL);
        cr_assert_eq(rc, 0);
        cr_expect_str_eq(once, twice);
        free(once);
        free(twice);
    }
}

/* chio_json_write_string: the canonical escaping for one string, and
 * bytes that are not UTF-8 replaced so the result always parses. */
Test(json_write_string, escapes_and_repairs)
{
    static const struct {
        const char *in;
        size_t len;
        const char *want;
    } cases[] = {
        {"plain", 5, "\"plain\""},
        {"q\"b\\", 4, "\"q\\\"b\\\\\""},
        {"a\nb\tc\x01", 6, "\"a\\nb\\tc\\u0001\""},
        {"nul\0in", 6, "\"nul\\u0000in\""},
        {"caf\xc3\xa9", 5, "\"caf\xc3\xa9\""},
        {"bad\xff", 4, "\"bad\xef\xbf\xbd\""},
        {"\xc3(", 2, "\"\xef\xbf\xbd(\""},
        {"cut\xe2\x82", 5, "\"cut\xef\xbf\xbd\xef\xbf\xbd\""},
        {"", 0, "\"\""},
    };
    size_t i, len;
    char *out;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        chio_json_doc *d = NULL;
        cr_assert_eq(chio_json_write_string(cases[i].in, cases[i].len, &out, &len), 0);
        cr_expect_str_eq(out, cases[i].want, "case %zu", i);
        cr_expect_eq(len, strlen(cases[i].want));
        cr_expect_eq(chio_json_parse(out, len, &d, NULL), 0, "case %zu parses: %s", i, out);
        chio_json_doc_free(d);
        chio_free(out);
    }
    cr_expect_eq(chio_json_write_string(NULL, 0, &out, &len), 0);
    cr_expect_str_eq(out, "\"\"");
    chio_free(out);
    cr_expect_eq(chio_json_write_string(NULL, 3, &out, &len), CHIO_EINVAL);
    cr_expect_null(out);
    cr_expect_eq(chio_json_write_string("x", 1, NULL, &len), CHIO_EINVAL);
}

/* chio_json_canonicalize parses into a per-thread scratch document it
 * keeps between calls (small ones only): results must not depend on what
 * the thread canonicalised before, whether that was small, large (the
 * document grows past what is kept and is dropped), invalid (the parse
 * stops half way), or on another thread that has since exited. */
static void *canon_on_thread(void *arg)
{
    char *out = NULL;
    size_t len = 0;

    (void)arg;
    if (chio_json_canonicalize("{\"b\":[2,1],\"a\":\"x\"}", 19, &out, &len, NULL) != 0)
        return NULL;
    return out;
}

Test(json_canonical, the_scratch_document_leaves_no_trace_between_calls)
{
    static const char small[] = "{\"z\":1,\"a\":{\"c\":true,\"b\":null},\"m\":[3,\"\\u00e9\"]}";
    static const char want[] = "{\"a\":{\"b\":null,\"c\":true},\"m\":[3,\"\xc3\xa9\"],\"z\":1}";
    size_t big_len = 300000, i, n = 0;
    char *big = malloc(big_len + 64), *out = NULL;
    size_t len = 0;
    pthread_t t;
    void *from_thread = NULL;
    int round;

    cr_assert_not_null(big);
    n += (size_t)sprintf(big + n, "[");
    for (i = 0; n < big_len; i++)
        n += (size_t)sprintf(big + n, "%s{\"k%zu\":\"%zu\"}", i ? "," : "", i % 97, i);
    n += (size_t)sprintf(big + n, "]");
    for (round = 0; round < 3; round++) {
        cr_assert_eq(chio_json_canonicalize(small, sizeof(small) - 1, &out, &len, NULL), 0);
        cr_expect_eq(len, sizeof(want) - 1);
        cr_expect_str_eq(out, want, "round %d", round);
        free(out);
        /* an error half way through a parse */
        cr_expect_eq(chio_json_canonicalize("{\"a\":[1,2,{\"b\":", 15, &out, &len, NULL),
                     CHIO_EJSON_TRUNCATED);
        cr_expect_null(out);
        /* a document far larger than what the thread keeps */
        cr_assert_eq(chio_json_canonicalize(big, n, &out, &len, NULL), 0);
        cr_expect_eq(len, n, "already canonical: same length");
        cr_expect_eq(memcmp(out, big, n), 0);
        free(out);
    }
    cr_assert_eq(pthread_create(&t, NULL, canon_on_thread, NULL), 0);
    cr_assert_eq(pthread_join(t, &from_thread), 0);
    cr_assert_not_null(from_thread);
    cr_expect_str_eq(from_thread, "{\"a\":\"x\",\"b\":[2,1]}");
    free(from_thread);
    free(big);
}
