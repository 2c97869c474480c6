/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_bad_input.c - the bad input matrix of the library: one
 * table per entry point, every row an input with the result code the
 * headers (and docs/spec-reading.md) document for it.
 *
 *   seeds          chio_keypair_from_seed_hex: each rejection rule, its code,
 *                  its order and its offset; the seed never in a message
 *   json           chio_json_parse / chio_json_canonicalize: malformed,
 *                  truncated, too deep, duplicate keys, bad UTF-8, lone
 *                  surrogates, NUL in keys, control characters, trailing
 *                  data, numbers; generated inputs (deep, long, many keys);
 *                  the 64 MiB limit (one buffer of CHIO_JSON_MAX_INPUT + 1)
 *   hex            chio_pubkey_from_hex / chio_signature_from_hex
 *   receipts       chio_receipt_parse of a signed receipt with one field
 *                  broken per row (and, when it still parses, whether it
 *                  still verifies)
 *   capabilities   chio_capability_parse likewise (plain and delegated)
 *   evaluate       a real kernel (ephemeral store, nosync): every no-receipt
 *                  error signs nothing (receipts_signed unchanged) and the
 *                  kernel keeps serving another session (an allow whose
 *                  receipt verifies after every row); oversized and
 *                  malformed-constraint calls are decisions with receipts;
 *                  the same errors through chio_kernel_evaluate_async never
 *                  call back; resource reads and prompt gets likewise
 *   open_session   malformed tokens: an error, nothing signed, still serving
 *   round trip     every receipt the kernel signs here must parse back with
 *                  chio_receipt_parse and verify
 *
 * A row that shows a library bug asserts the documented (or plainly correct)
 * behaviour and is marked BUG in a comment: the two receipts_near_the_*
 * tests fail until the kernel stops signing receipts its own parser refuses.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/chio.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define IAT 1710000000u
#define NOW 1710000300u

/* Offsets: don't check. */
#define OFF_ANY ((size_t)-2)

/* A literal with embedded NULs: pointer and exact length. */
#define LIT(s) (s), (sizeof(s) - 1)

/* Seeds, built from literals so that rows stay constant data. */
#define H8          "07070707"
#define S07         H8 H8 H8 H8 H8 H8 H8 H8 /* TK_KERNEL_SEED */
#define S07_62      H8 H8 H8 H8 H8 H8 H8 "070707"
#define S07_63      S07_62 "0"
#define B8          "0B0B0B0B"
#define S0B_UPPER   B8 B8 B8 B8 B8 B8 B8 B8 /* TK_AGENT_SEED, upper case */
#define PUB07       SC_PUB
#define PUB0B       TK_AGENT_PUB
#define PUB07_UPPER "EA4A6C63E29C520ABEF5507B132EC5F9954776AEBEBE7B92421EEA691446D22C"

TestSuite(bad_input);

/* ---- small helpers --------------------------------------------------------------------- */

/* A fresh buffer of @unit repeated @n times (NUL-terminated). */
static char *repeat(const char *unit, size_t n, size_t *len)
{
    size_t u = strlen(unit), i;
    char *s = malloc(u * n + 1);

    cr_assert_not_null(s);
    for (i = 0; i < n; i++)
        memcpy(s + i * u, unit, u);
    s[u * n] = '\0';
    if (len)
        *len = u * n;
    return s;
}

/* @open x depth, @core, @close x depth. */
static char *nest(const char *open, const char *core, const char *close, size_t depth, size_t *len)
{
    size_t o = strlen(open), c = strlen(core), z = strlen(close), i, n = depth * (o + z) + c;
    char *s = malloc(n + 1);

    cr_assert_not_null(s);
    for (i = 0; i < depth; i++)
        memcpy(s + i * o, open, o);
    memcpy(s + depth * o, core, c);
    for (i = 0; i < depth; i++)
        memcpy(s + depth * o + c + i * z, close, z);
    s[n] = '\0';
    *len = n;
    return s;
}

/* Does @msg contain either test seed's digits? (Messages never carry seeds.) */
static int leaks_seed(const char *msg)
{
    return strstr(msg, "0707070707070707") != NULL || strstr(msg, "0b0b0b0b0b0b0b0b") != NULL ||
           strstr(msg, "0B0B0B0B0B0B0B0B") != NULL;
}

/* ---- seeds ------------------------------------------------------------------------------ */

typedef struct seed_row {
    const char *name;
    const char *in;
    size_t len;
    int code;        /* 0: accepted */
    size_t offset;   /* OFF_ANY: not tied to a byte */
    const char *pub; /* for accepted rows */
} seed_row;

static const seed_row seed_rows[] = {
    /* accepted forms (control rows) */
    {"lower case", LIT(S07), 0, OFF_ANY, PUB07},
    {"0x prefix", LIT("0x" S07), 0, OFF_ANY, PUB07},
    {"upper case", LIT(S0B_UPPER), 0, OFF_ANY, PUB0B},
    {"0x prefix, upper digits", LIT("0x" S0B_UPPER), 0, OFF_ANY, PUB0B},
    /* trailing newline: checked first */
    {"trailing \\n", LIT(S07 "\n"), CHIO_ESEED_NEWLINE, 64, NULL},
    {"trailing \\r\\n", LIT(S07 "\r\n"), CHIO_ESEED_NEWLINE, 65, NULL},
    {"two trailing \\n", LIT(S07 "\n\n"), CHIO_ESEED_NEWLINE, 65, NULL},
    {"only \\n", LIT("\n"), CHIO_ESEED_NEWLINE, 0, NULL},
    {"\\n beats space", LIT(" " S07 "\n"), CHIO_ESEED_NEWLINE, 65, NULL},
    {"\\n beats odd and non-hex", LIT("xyz\n"), CHIO_ESEED_NEWLINE, 3, NULL},
    /* any other whitespace, anywhere */
    {"leading space", LIT(" " S07), CHIO_ESEED_SPACE, 0, NULL},
    {"trailing space", LIT(S07 " "), CHIO_ESEED_SPACE, 64, NULL},
    {"tab inside",
     LIT(H8 "07"
            "\t"
            "070707" H8 H8 H8 H8 H8 H8),
     CHIO_ESEED_SPACE, 10, NULL},
    {"trailing \\r", LIT(S07 "\r"), CHIO_ESEED_SPACE, 64, NULL},
    {"leading \\n", LIT("\n" S07), CHIO_ESEED_SPACE, 0, NULL},
    {"vertical tab", LIT(S07 "\v"), CHIO_ESEED_SPACE, 64, NULL},
    {"form feed", LIT("\f" S07), CHIO_ESEED_SPACE, 0, NULL},
    {"space beats odd", LIT(" 123"), CHIO_ESEED_SPACE, 0, NULL},
    {"space after 0x", LIT("0x " S07_63), CHIO_ESEED_SPACE, 2, NULL},
    /* odd number of digits (after one 0x) */
    {"65 digits", LIT(S07 "0"), CHIO_ESEED_ODD, OFF_ANY, NULL},
    {"63 digits", LIT(S07_63), CHIO_ESEED_ODD, OFF_ANY, NULL},
    {"0x + 63 digits", LIT("0x" S07_63), CHIO_ESEED_ODD, OFF_ANY, NULL},
    {"one digit", LIT("7"), CHIO_ESEED_ODD, OFF_ANY, NULL},
    {"odd beats non-hex", LIT("zzz"), CHIO_ESEED_ODD, OFF_ANY, NULL},
    {"only 0", LIT("0"), CHIO_ESEED_ODD, OFF_ANY, NULL},
    /* non-hex characters */
    {"g inside",
     LIT("07070"
         "g"
         "07" H8 H8 H8 H8 H8 H8 H8),
     CHIO_ESEED_NONHEX, 5, NULL},
    {"NUL inside",
     LIT("0707070"
         "\0" H8 H8 H8 H8 H8 H8 H8),
     CHIO_ESEED_NONHEX, 7, NULL},
    {"byte 0xff",
     LIT("\xff"
         "7"
         "070707" H8 H8 H8 H8 H8 H8 H8),
     CHIO_ESEED_NONHEX, 0, NULL},
    {"non-hex after 0x", LIT("0x" S07_63 "z"), CHIO_ESEED_NONHEX, 65, NULL},
    {"upper-case 0X is not a prefix", LIT("0X" S07), CHIO_ESEED_NONHEX, 1, NULL},
    {"0x twice", LIT("0x0x" S07), CHIO_ESEED_NONHEX, 3, NULL},
    {"x without 0", LIT("x" S07_63), CHIO_ESEED_NONHEX, 0, NULL},
    {"non-hex beats length", LIT("zz"), CHIO_ESEED_NONHEX, 0, NULL},
    {"minus sign", LIT("-1"), CHIO_ESEED_NONHEX, 0, NULL},
    /* valid hex of the wrong decoded length */
    {"empty", "", 0, CHIO_ESEED_LENGTH, OFF_ANY, NULL},
    {"only 0x", LIT("0x"), CHIO_ESEED_LENGTH, OFF_ANY, NULL},
    {"one byte", LIT("00"), CHIO_ESEED_LENGTH, OFF_ANY, NULL},
    {"31 bytes", LIT(S07_62), CHIO_ESEED_LENGTH, OFF_ANY, NULL},
    {"0x + 31 bytes", LIT("0x" S07_62), CHIO_ESEED_LENGTH, OFF_ANY, NULL},
    {"33 bytes", LIT(S07 "07"), CHIO_ESEED_LENGTH, OFF_ANY, NULL},
    {"64 bytes", LIT(S07 S07), CHIO_ESEED_LENGTH, OFF_ANY, NULL},
};

Test(bad_input, seed_rules_each_with_its_code)
{
    size_t i;

    for (i = 0; i < sizeof(seed_rows) / sizeof(seed_rows[0]); i++) {
        const seed_row *row = &seed_rows[i];
        chio_keypair *kp = (chio_keypair *)&kp; /* must be overwritten */
        chio_error err;
        int rc;

        chio_error_init(&err);
        rc = chio_keypair_from_seed_hex(row->in, row->len, &kp, &err);
        cr_expect_eq(rc, row->code, "seed row %zu (%s): got %s, want %s (%s)", i, row->name,
                     chio_err_name(rc), chio_err_name(row->code), err.message);
        if (row->code == 0) {
            cr_expect_not_null(kp, "seed row %zu (%s)", i, row->name);
            if (rc == 0 && kp != NULL)
                cr_expect_str_eq(chio_keypair_public_hex(kp), row->pub, "seed row %zu (%s)", i,
                                 row->name);
            if (rc == 0)
                chio_keypair_free(kp);
            continue;
        }
        cr_expect_null(kp, "seed row %zu (%s): *out must be NULL on failure", i, row->name);
        if (rc == 0)
            chio_keypair_free(kp);
        cr_expect_eq(err.code, rc, "seed row %zu (%s): err.code %d", i, row->name, err.code);
        cr_expect_neq(err.message[0], '\0', "seed row %zu (%s): no message", i, row->name);
        cr_expect(!leaks_seed(err.message), "seed row %zu (%s): message repeats the seed: %s", i,
                  row->name, err.message);
        if (row->offset != OFF_ANY)
            cr_expect_eq(err.offset, row->offset, "seed row %zu (%s): offset %zu, want %zu", i,
                         row->name, err.offset, row->offset);
    }
}

Test(bad_input, seed_null_arguments)
{
    chio_keypair *kp = NULL;
    chio_error err;

    chio_error_init(&err);
    cr_expect_eq(chio_keypair_from_seed_hex(NULL, 64, &kp, &err), CHIO_EINVAL);
    cr_expect_null(kp);
    cr_expect_eq(chio_keypair_from_seed_hex(S07, 64, NULL, &err), CHIO_EINVAL);
    /* err is optional */
    cr_expect_eq(chio_keypair_from_seed_hex(LIT(S07 "\n"), &kp, NULL), CHIO_ESEED_NEWLINE);
    cr_expect_null(kp);
}

/* ---- JSON -------------------------------------------------------------------------------- */

typedef struct json_row {
    const char *name;
    const char *in;
    size_t len;
    int code;
    size_t offset; /* OFF_ANY: not checked */
} json_row;

static const json_row json_rows[] = {
    /* control rows: accepted */
    {"NUL escaped in a value is kept", LIT("\"a\\u0000b\""), 0, 0},
    {"DEL needs no escape", LIT("\"\x7f\""), 0, 0},
    {"surrogate pair", LIT("\"\\ud83d\\ude00\""), 0, 0},
    {"trailing whitespace", LIT("[] \n\t\r "), 0, 0},
    {"beyond uint64 is a double", LIT("18446744073709551616"), 0, 0},
    {"underflow to zero", LIT("1e-400"), 0, 0},
    {"same key in sibling objects", LIT("[{\"a\":1},{\"a\":2}]"), 0, 0},
    /* malformed */
    {"trailing comma in object", LIT("{\"a\":1,}"), CHIO_EJSON_SYNTAX, 7},
    {"trailing comma in array", LIT("[1,]"), CHIO_EJSON_SYNTAX, 3},
    {"lone comma", LIT("{,}"), CHIO_EJSON_SYNTAX, 1},
    {"missing colon", LIT("{\"a\" 1}"), CHIO_EJSON_SYNTAX, 5},
    {"missing comma in object", LIT("{\"a\":1 \"b\":2}"), CHIO_EJSON_SYNTAX, 7},
    {"missing comma in array", LIT("[1 2]"), CHIO_EJSON_SYNTAX, 3},
    {"bare key", LIT("{a:1}"), CHIO_EJSON_SYNTAX, 1},
    {"single quotes", LIT("'a'"), CHIO_EJSON_SYNTAX, 0},
    {"close bracket first", LIT("]"), CHIO_EJSON_SYNTAX, 0},
    {"close brace first", LIT("}"), CHIO_EJSON_SYNTAX, 0},
    {"mismatched close", LIT("[1}"), CHIO_EJSON_SYNTAX, 2},
    {"unknown escape", LIT("\"\\x\""), CHIO_EJSON_SYNTAX, 1},
    {"bad \\u digits", LIT("\"\\u12G4\""), CHIO_EJSON_SYNTAX, 1},
    {"literal with wrong case", LIT("True"), CHIO_EJSON_SYNTAX, 0},
    {"literal with junk", LIT("nulx"), CHIO_EJSON_SYNTAX, 0},
    {"control byte as a value", LIT("\x01"), CHIO_EJSON_SYNTAX, 0},
    {"comment", LIT("/* c */ 1"), CHIO_EJSON_SYNTAX, 0},
    {"non-JSON whitespace (form feed)", LIT("\f1"), CHIO_EJSON_SYNTAX, 0},
    /* truncated */
    {"empty input", "", 0, CHIO_EJSON_TRUNCATED, 0},
    {"whitespace only", LIT("   "), CHIO_EJSON_TRUNCATED, 3},
    {"open bracket", LIT("["), CHIO_EJSON_TRUNCATED, 1},
    {"open brace", LIT("{"), CHIO_EJSON_TRUNCATED, 1},
    {"key without colon", LIT("{\"a\""), CHIO_EJSON_TRUNCATED, 4},
    {"key without value", LIT("{\"a\":"), CHIO_EJSON_TRUNCATED, 5},
    {"array cut after an element", LIT("[1,2"), CHIO_EJSON_TRUNCATED, 4},
    {"unterminated string", LIT("\"abc"), CHIO_EJSON_TRUNCATED, 4},
    {"cut after backslash", LIT("\"\\"), CHIO_EJSON_TRUNCATED, 2},
    {"cut inside \\u", LIT("\"\\u12"), CHIO_EJSON_TRUNCATED, 5},
    {"cut inside a literal", LIT("tru"), CHIO_EJSON_TRUNCATED, 3},
    {"lone minus", LIT("-"), CHIO_EJSON_TRUNCATED, 1},
    {"cut after the point", LIT("1."), CHIO_EJSON_TRUNCATED, 2},
    {"cut in the exponent", LIT("1e+"), CHIO_EJSON_TRUNCATED, 3},
    {"nested, cut", LIT("{\"a\":[1,{\"b\":"), CHIO_EJSON_TRUNCATED, 13},
    /* too deep */
    {"129 arrays",
     LIT("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
         "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["),
     CHIO_EJSON_DEPTH, 128},
    /* duplicate keys */
    {"duplicate key", LIT("{\"a\":1,\"a\":2}"), CHIO_EJSON_DUPKEY, 7},
    {"duplicate, equal values", LIT("{\"a\":1,\"a\":1}"), CHIO_EJSON_DUPKEY, 7},
    {"duplicate spelled with \\u", LIT("{\"a\":1,\"\\u0061\":2}"), CHIO_EJSON_DUPKEY, 7},
    {"duplicate empty key", LIT("{\"\":1,\"\":2}"), CHIO_EJSON_DUPKEY, 6},
    {"duplicate, not adjacent", LIT("{\"b\":1,\"a\":2,\"b\":3}"), CHIO_EJSON_DUPKEY, 13},
    {"duplicate in a nested object", LIT("{\"x\":{\"k\":1,\"k\":1}}"), CHIO_EJSON_DUPKEY, 12},
    {"duplicate multibyte key", LIT("{\"\xc3\xa9\":1,\"\\u00e9\":2}"), CHIO_EJSON_DUPKEY, 8},
    /* invalid UTF-8 */
    {"byte 0xff", LIT("\"\xff\""), CHIO_EJSON_UTF8, 1},
    {"overlong /", LIT("\"a\xc0\xaf\""), CHIO_EJSON_UTF8, 2},
    {"overlong 3-byte", LIT("\"\xe0\x80\xaf\""), CHIO_EJSON_UTF8, 1},
    {"UTF-8 encoded surrogate", LIT("\"\xed\xa0\x80\""), CHIO_EJSON_UTF8, 1},
    {"above U+10FFFF", LIT("\"\xf4\x90\x80\x80\""), CHIO_EJSON_UTF8, 1},
    {"5-byte form", LIT("\"\xf8\x88\x80\x80\x80\""), CHIO_EJSON_UTF8, 1},
    {"sequence cut by the quote", LIT("\"\xe2\x82\""), CHIO_EJSON_UTF8, 1},
    {"lone continuation byte", LIT("\"x\x80\""), CHIO_EJSON_UTF8, 2},
    {"invalid UTF-8 in a key", LIT("{\"\xfe\":1}"), CHIO_EJSON_UTF8, 2},
    {"invalid UTF-8 deep inside", LIT("[1,{\"a\":[\"ok\",\"\xc3\x28\"]}]"), CHIO_EJSON_UTF8, 15},
    /* lone surrogates in escapes */
    {"lone high surrogate", LIT("\"\\ud800\""), CHIO_EJSON_SURROGATE, 1},
    {"lone low surrogate", LIT("\"\\udfff\""), CHIO_EJSON_SURROGATE, 1},
    {"high + non-surrogate", LIT("\"\\ud800\\u0041\""), CHIO_EJSON_SURROGATE, 1},
    {"high + high", LIT("\"\\ud800\\ud800\""), CHIO_EJSON_SURROGATE, 1},
    {"reversed pair", LIT("\"\\ude00\\ud83d\""), CHIO_EJSON_SURROGATE, 1},
    {"lone surrogate after text", LIT("\"x\\udc00\""), CHIO_EJSON_SURROGATE, 2},
    {"lone surrogate in a key", LIT("{\"\\ud800\":1}"), CHIO_EJSON_SURROGATE, 2},
    /* NUL in keys */
    {"escaped NUL in a key", LIT("{\"a\\u0000b\":1}"), CHIO_EJSON_NULKEY, 1},
    {"key that is only NUL", LIT("{\"\\u0000\":1}"), CHIO_EJSON_NULKEY, 1},
    {"NUL key, nested", LIT("[{\"ok\":{\"\\u0000\":1}}]"), CHIO_EJSON_NULKEY, 8},
    /* unescaped control characters */
    {"raw tab", LIT("\"a\tb\""), CHIO_EJSON_CONTROL, 2},
    {"raw newline", LIT("\"a\nb\""), CHIO_EJSON_CONTROL, 2},
    {"raw 0x1f", LIT("\"\x1f\""), CHIO_EJSON_CONTROL, 1},
    {"raw NUL in a value", LIT("\"a\0b\""), CHIO_EJSON_CONTROL, 2},
    {"raw NUL in a key", LIT("{\"a\0\":1}"), CHIO_EJSON_CONTROL, 3},
    {"raw control in a key", LIT("{\"a\x01\":1}"), CHIO_EJSON_CONTROL, 3},
    /* trailing data */
    {"second value", LIT("{} x"), CHIO_EJSON_TRAILING, 3},
    {"two numbers", LIT("1 2"), CHIO_EJSON_TRAILING, 2},
    {"extra bracket", LIT("[]]"), CHIO_EJSON_TRAILING, 2},
    {"trailing NUL", LIT("{}\0"), CHIO_EJSON_TRAILING, 2},
    {"two objects", LIT("{}{}"), CHIO_EJSON_TRAILING, 2},
    {"two strings", LIT("\"a\"\"b\""), CHIO_EJSON_TRAILING, 3},
    {"leading zero", LIT("01"), CHIO_EJSON_TRAILING, 1},
    {"hex number", LIT("0x1F"), CHIO_EJSON_TRAILING, 1},
    {"comment after", LIT("1 // c"), CHIO_EJSON_TRAILING, 2},
    /* numbers */
    {"overflowing double", LIT("1e999"), CHIO_EJSON_NUMBER, 0},
    {"overflowing negative double", LIT("-1e999"), CHIO_EJSON_NUMBER, 0},
    {"overflow inside an array", LIT("[1,1e400]"), CHIO_EJSON_NUMBER, 3},
    {"overflowing 400 digits",
     LIT("1000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000.0"),
     CHIO_EJSON_NUMBER, 0},
    {"NaN", LIT("NaN"), CHIO_EJSON_SYNTAX, 0},
    {"nan", LIT("nan"), CHIO_EJSON_SYNTAX, 0},
    {"Infinity", LIT("Infinity"), CHIO_EJSON_SYNTAX, 0},
    {"-Infinity", LIT("-Infinity"), CHIO_EJSON_SYNTAX, 1},
    {"NaN as a member", LIT("{\"n\":NaN}"), CHIO_EJSON_SYNTAX, 5},
    {"plus sign", LIT("+1"), CHIO_EJSON_SYNTAX, 0},
    {"leading point", LIT(".5"), CHIO_EJSON_SYNTAX, 0},
    {"point then exponent", LIT("1.e5"), CHIO_EJSON_SYNTAX, 2},
    {"double minus", LIT("--1"), CHIO_EJSON_SYNTAX, 1},
    {"exponent without digits", LIT("[1e]"), CHIO_EJSON_SYNTAX, 3},
};

static void check_json_row(const char *what, size_t i, const char *name, const char *in, size_t len,
                           int code, size_t offset)
{
    chio_json_doc *doc = (chio_json_doc *)&doc;
    char *canon = NULL;
    size_t clen = 0;
    chio_error err;
    int rc;

    chio_error_init(&err);
    rc = chio_json_parse(in, len, &doc, &err);
    cr_expect_eq(rc, code, "%s row %zu (%s): got %s, want %s (%s)", what, i, name,
                 chio_err_name(rc), chio_err_name(code), err.message);
    if (rc == 0)
        chio_json_doc_free(doc);
    else
        cr_expect_null(doc, "%s row %zu (%s): *out must be NULL on failure", what, i, name);
    if (code != 0) {
        cr_expect_eq(err.code, code, "%s row %zu (%s): err.code %s", what, i, name,
                     chio_err_name(err.code));
        cr_expect_neq(err.message[0], '\0', "%s row %zu (%s): no message", what, i, name);
        if (offset != OFF_ANY) {
            cr_expect_eq(err.offset, offset, "%s row %zu (%s): offset %zu, want %zu (%s)", what, i,
                         name, err.offset, offset, err.message);
            cr_expect(strstr(err.message, "byte") != NULL,
                      "%s row %zu (%s): message should name the offset: %s", what, i, name,
                      err.message);
        }
    }
    /* chio_json_canonicalize has the same errors */
    chio_error_init(&err);
    rc = chio_json_canonicalize(in, len, &canon, &clen, &err);
    cr_expect_eq(rc, code, "%s row %zu (%s): canonicalize gave %s", what, i, name,
                 chio_err_name(rc));
    if (rc == 0)
        chio_free(canon);
}

Test(bad_input, json_reader_rejections_with_codes_and_offsets)
{
    size_t i;

    for (i = 0; i < sizeof(json_rows) / sizeof(json_rows[0]); i++)
        check_json_row("json", i, json_rows[i].name, json_rows[i].in, json_rows[i].len,
                       json_rows[i].code, json_rows[i].offset);
}

/* Generated inputs: too large to write out. Each returns the text and the
 * expected offset. */
typedef char *(*json_gen)(size_t *len, size_t *offset);

static char *gen_depth_128(size_t *len, size_t *offset)
{
    *offset = OFF_ANY;
    return nest("[", "", "]", CHIO_JSON_MAX_DEPTH, len);
}

static char *gen_depth_129(size_t *len, size_t *offset)
{
    *offset = CHIO_JSON_MAX_DEPTH;
    return nest("[", "", "]", CHIO_JSON_MAX_DEPTH + 1, len);
}

static char *gen_objects_129(size_t *len, size_t *offset)
{
    *offset = CHIO_JSON_MAX_DEPTH * 5; /* each level is {"a": */
    return nest("{\"a\":", "1", "}", CHIO_JSON_MAX_DEPTH + 1, len);
}

static char *gen_mixed_129(size_t *len, size_t *offset)
{
    *offset = 64 * 6; /* 64 x [{"k": (128 levels), then the 129th container, a [ */
    return nest("[{\"k\":", "[0]", "}]", 64, len);
}

static char *gen_million_open(size_t *len, size_t *offset)
{
    *offset = CHIO_JSON_MAX_DEPTH; /* too deep is found before truncation */
    return repeat("[", 1000000, len);
}

static char *gen_million_nested(size_t *len, size_t *offset)
{
    *offset = CHIO_JSON_MAX_DEPTH;
    return nest("[", "", "]", 1000000, len);
}

/* 40 members (the reader sorts more than 16 with qsort), then k5 again. */
static char *gen_dup_among_many(size_t *len, size_t *offset)
{
    char *s = malloc(1024), *at;
    size_t n = 0;
    int i;

    cr_assert_not_null(s);
    s[n++] = '{';
    for (i = 0; i < 40; i++)
        n += (size_t)snprintf(s + n, 1024 - n, "\"k%d\":%d,", i, i);
    at = s + n;
    n += (size_t)snprintf(s + n, 1024 - n, "\"k5\":0}");
    *offset = (size_t)(at - s);
    *len = n;
    return s;
}

/* A 1 MiB string with a raw control character at its end. */
static char *gen_long_string_control(size_t *len, size_t *offset)
{
    size_t n = 1024 * 1024;
    char *s = malloc(n + 4);

    cr_assert_not_null(s);
    s[0] = '"';
    memset(s + 1, 'x', n);
    s[n + 1] = '\x02';
    s[n + 2] = '"';
    s[n + 3] = '\0';
    *len = n + 3;
    *offset = n + 1;
    return s;
}

/* 100 000 two-byte characters, then a cut sequence. */
static char *gen_long_utf8_then_bad(size_t *len, size_t *offset)
{
    size_t n;
    char *body = repeat("\xc3\xa9", 100000, &n), *s = malloc(n + 5);

    cr_assert_not_null(s);
    s[0] = '"';
    memcpy(s + 1, body, n);
    s[n + 1] = '\xc3';
    s[n + 2] = '"';
    s[n + 3] = '\0';
    free(body);
    *len = n + 3;
    *offset = n + 1;
    return s;
}

/* A 2 MiB array of small numbers with trailing garbage. */
static char *gen_wide_array_trailing(size_t *len, size_t *offset)
{
    size_t n;
    char *body = repeat("1,", 1024 * 1024, &n), *s = malloc(n + 4);

    cr_assert_not_null(s);
    s[0] = '[';
    memcpy(s + 1, body, n - 1); /* drop the last comma */
    s[n] = ']';
    s[n + 1] = ']';
    s[n + 2] = '\0';
    free(body);
    *len = n + 2;
    *offset = n + 1;
    return s;
}

static const struct {
    const char *name;
    json_gen gen;
    int code;
} json_gen_rows[] = {
    {"128 levels (the limit)", gen_depth_128, 0},
    {"129 levels", gen_depth_129, CHIO_EJSON_DEPTH},
    {"129 objects", gen_objects_129, CHIO_EJSON_DEPTH},
    {"129 mixed containers", gen_mixed_129, CHIO_EJSON_DEPTH},
    {"1e6 unclosed [", gen_million_open, CHIO_EJSON_DEPTH},
    {"1e6 nested arrays", gen_million_nested, CHIO_EJSON_DEPTH},
    {"duplicate among 41 keys", gen_dup_among_many, CHIO_EJSON_DUPKEY},
    {"control char after 1 MiB", gen_long_string_control, CHIO_EJSON_CONTROL},
    {"bad UTF-8 after 200 KB", gen_long_utf8_then_bad, CHIO_EJSON_UTF8},
    {"trailing data after 2 MiB", gen_wide_array_trailing, CHIO_EJSON_TRAILING},
};

Test(bad_input, json_reader_generated_inputs)
{
    size_t i;

    for (i = 0; i < sizeof(json_gen_rows) / sizeof(json_gen_rows[0]); i++) {
        size_t len, off;
        char *in = json_gen_rows[i].gen(&len, &off);
        check_json_row("json-gen", i, json_gen_rows[i].name, in, len, json_gen_rows[i].code, off);
        free(in);
    }
}

Test(bad_input, json_input_limit_is_64_mib)
{
    /* One real buffer of CHIO_JSON_MAX_INPUT + 1 bytes: the reader may look
     * at every byte it is given. calloc keeps the pages unfaulted until used. */
    char *buf = calloc(CHIO_JSON_MAX_INPUT + 1, 1);
    chio_json_doc *doc = NULL;
    chio_receipt *r = NULL;
    chio_capability *cap = NULL;
    char *canon = NULL;
    size_t clen;
    chio_error err;
    int64_t v = -1;

    cr_assert_not_null(buf);
    chio_error_init(&err);
    cr_expect_eq(chio_json_parse(buf, CHIO_JSON_MAX_INPUT + 1, &doc, &err), CHIO_ETOOBIG, "%s",
                 chio_err_name(err.code));
    cr_expect_null(doc);
    cr_expect_eq(err.code, CHIO_ETOOBIG);
    cr_expect_neq(err.message[0], '\0');
    cr_expect_eq(chio_json_canonicalize(buf, CHIO_JSON_MAX_INPUT + 1, &canon, &clen, NULL),
                 CHIO_ETOOBIG);
    /* every parser built on the reader says the same */
    cr_expect_eq(chio_receipt_parse(buf, CHIO_JSON_MAX_INPUT + 1, &r, NULL), CHIO_ETOOBIG);
    cr_expect_null(r);
    cr_expect_eq(chio_capability_parse(buf, CHIO_JSON_MAX_INPUT + 1, &cap, NULL), CHIO_ETOOBIG);
    cr_expect_null(cap);
    /* exactly the limit is read: 64 MiB of whitespace around one number */
    memset(buf, ' ', CHIO_JSON_MAX_INPUT);
    buf[CHIO_JSON_MAX_INPUT - 1] = '7';
    chio_error_init(&err);
    cr_expect_eq(chio_json_parse(buf, CHIO_JSON_MAX_INPUT, &doc, &err), 0, "%s", err.message);
    cr_expect_eq(chio_json_get_int64(chio_json_root(doc), &v), 0);
    cr_expect_eq(v, 7);
    chio_json_doc_free(doc);
    free(buf);
}

Test(bad_input, json_null_arguments)
{
    chio_json_doc *doc = NULL;
    char *out = NULL;
    size_t len;
    chio_error err;

    chio_error_init(&err);
    cr_expect_eq(chio_json_parse(NULL, 1, &doc, &err), CHIO_EINVAL);
    cr_expect_null(doc);
    cr_expect_eq(chio_json_parse("1", 1, NULL, &err), CHIO_EINVAL);
    cr_expect_eq(chio_json_canonicalize(NULL, 1, &out, &len, &err), CHIO_EINVAL);
    cr_expect_eq(chio_json_canonicalize("1", 1, NULL, &len, &err), CHIO_EINVAL);
}

/* ---- hex keys and signatures ------------------------------------------------------------ */

#define SIG128                                                         \
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

typedef struct hex_row {
    const char *name;
    const char *in;
    size_t len;
    int code;
} hex_row;

static const hex_row pubkey_rows[] = {
    {"lower case", LIT(PUB07), 0},
    {"upper case", LIT(PUB07_UPPER), 0},
    {"0x prefix", LIT("0x" PUB07), 0},
    {"empty", "", 0, CHIO_EKEY},
    {"only 0x", LIT("0x"), CHIO_EKEY},
    {"62 digits", LIT("ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d2"), CHIO_EKEY},
    {"63 digits", LIT("ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22"),
     CHIO_EKEY},
    {"66 digits", LIT(PUB07 "00"), CHIO_EKEY},
    {"128 digits (a signature)", LIT(SIG128), CHIO_EKEY},
    {"non-hex digit", LIT("ga4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"),
     CHIO_EKEY},
    {"NUL inside",
     LIT("ea4a6c63e29c520a"
         "\0"
         "ef5507b132ec5f9954776aebebe7b92421eea691446d22c"),
     CHIO_EKEY},
    {"upper-case 0X", LIT("0X" PUB07), CHIO_EKEY},
    {"0x twice", LIT("0x0x" PUB07), CHIO_EKEY},
    {"leading space", LIT(" " PUB07), CHIO_EKEY},
    {"trailing newline", LIT(PUB07 "\n"), CHIO_EKEY},
    {"0x + 62 digits", LIT("0xea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d2"),
     CHIO_EKEY},
};

static const hex_row signature_rows[] = {
    {"lower case", LIT(SIG128), 0},
    {"upper case",
     LIT("0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
         "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"),
     0},
    {"empty", "", 0, CHIO_ESIGFORMAT},
    {"64 digits (a key)", LIT(PUB07), CHIO_ESIGFORMAT},
    {"126 digits",
     LIT("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"),
     CHIO_ESIGFORMAT},
    {"127 digits",
     LIT("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"),
     CHIO_ESIGFORMAT},
    {"130 digits", LIT(SIG128 "00"), CHIO_ESIGFORMAT},
    {"0x prefix is not accepted", LIT("0x" SIG128), CHIO_ESIGFORMAT},
    {"non-hex digit",
     LIT("z123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
     CHIO_ESIGFORMAT},
    {"NUL inside",
     LIT("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"
         "\0"
         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
     CHIO_ESIGFORMAT},
    {"trailing newline", LIT(SIG128 "\n"), CHIO_ESIGFORMAT},
    {"inner space",
     LIT("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde "
         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
     CHIO_ESIGFORMAT},
};

/* Independent reference decoder for the accepted rows. */
static void unhex(const char *hex, uint8_t *out, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned v;
        cr_assert_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

Test(bad_input, hex_keys_and_signatures)
{
    uint8_t want_pub[32], want_sig[64], key[32], sig[64];
    size_t i;

    unhex(PUB07, want_pub, 32);
    unhex(SIG128, want_sig, 64);

    for (i = 0; i < sizeof(pubkey_rows) / sizeof(pubkey_rows[0]); i++) {
        const hex_row *row = &pubkey_rows[i];
        int rc;
        memset(key, 0xa5, sizeof(key));
        rc = chio_pubkey_from_hex(row->in, row->len, key);
        cr_expect_eq(rc, row->code, "pubkey row %zu (%s): got %s, want %s", i, row->name,
                     chio_err_name(rc), chio_err_name(row->code));
        if (row->code == 0) {
            cr_expect_eq(memcmp(key, want_pub, 32), 0, "pubkey row %zu (%s): wrong bytes", i,
                         row->name);
        } else {
            size_t j;
            int unchanged = 1;
            for (j = 0; j < 32; j++)
                unchanged &= key[j] == 0xa5;
            cr_expect(unchanged, "pubkey row %zu (%s): out changed on failure", i, row->name);
        }
    }
    for (i = 0; i < sizeof(signature_rows) / sizeof(signature_rows[0]); i++) {
        const hex_row *row = &signature_rows[i];
        int rc = chio_signature_from_hex(row->in, row->len, sig);
        cr_expect_eq(rc, row->code, "signature row %zu (%s): got %s, want %s", i, row->name,
                     chio_err_name(rc), chio_err_name(row->code));
        if (row->code == 0 && rc == 0)
            cr_expect_eq(memcmp(sig, want_sig, 64), 0, "signature row %zu (%s): wrong bytes", i,
                         row->name);
    }
    cr_expect_eq(chio_pubkey_from_hex(NULL, 64, key), CHIO_EINVAL);
    cr_expect_eq(chio_pubkey_from_hex(PUB07, 64, NULL), CHIO_EINVAL);
    cr_expect_eq(chio_signature_from_hex(NULL, 128, sig), CHIO_EINVAL);
    cr_expect_eq(chio_signature_from_hex(SIG128, 128, NULL), CHIO_EINVAL);
}

/* ---- document mutation ------------------------------------------------------------------ */

typedef enum mut_op {
    M_SET,   /* replace the scalar value of the first member "a" with text b */
    M_SUB,   /* replace the first occurrence of text a with text b */
    M_DEL,   /* delete the first member "a" (scalar value) */
    M_WHOLE, /* the document is b */
    M_CUT,   /* the first half of the document */
} mut_op;

/* End of the scalar JSON value starting at @v. */
static const char *scalar_end(const char *v)
{
    if (*v == '"') {
        for (v++; *v && *v != '"'; v++)
            if (*v == '\\' && v[1])
                v++;
        return *v ? v + 1 : v;
    }
    while (*v && *v != ',' && *v != '}' && *v != ']')
        v++;
    return v;
}

static char *splice(const char *doc, const char *from, const char *to, const char *text)
{
    char *out;

    cr_assert_geq(asprintf(&out, "%.*s%s%s", (int)(from - doc), doc, text, to), 0);
    return out;
}

static char *mutate(const char *doc, mut_op op, const char *a, const char *b)
{
    char key[96];
    const char *at, *end;

    switch (op) {
    case M_WHOLE:
        return strdup(b);
    case M_CUT:
        return strndup(doc, strlen(doc) / 2);
    case M_SUB:
        at = strstr(doc, a);
        cr_assert_not_null(at, "[%s] not in %s", a, doc);
        return splice(doc, at, at + strlen(a), b);
    case M_SET:
    case M_DEL:
        snprintf(key, sizeof(key), "\"%s\":", a);
        at = strstr(doc, key);
        cr_assert_not_null(at, "member %s not in %s", a, doc);
        end = scalar_end(at + strlen(key));
        if (op == M_SET)
            return splice(doc, at + strlen(key), end, b);
        if (*end == ',')
            return splice(doc, at, end + 1, "");
        cr_assert_eq(at[-1], ',', "cannot delete the only member %s", a);
        return splice(doc, at - 1, end, "");
    }
    return NULL;
}

/* "..."- in a mutated text means: drop the two characters after it. */
static void apply_drop_marker(char *text)
{
    char *s = strstr(text, "\"\"-");

    if (s != NULL)
        memmove(s + 1, s + 5, strlen(s + 5) + 1);
}

typedef struct doc_row {
    const char *name;
    mut_op op;
    const char *a, *b;
    int code;     /* parse result */
    int verifies; /* when it parses: does it still verify (1) or not (0) */
} doc_row;

/* ---- receipts ---------------------------------------------------------------------------- */

static chio_keypair *key07(void)
{
    chio_keypair *kp = NULL;

    cr_assert_eq(chio_keypair_from_seed_hex(S07, 64, &kp, NULL), 0);
    return kp;
}

/* A signed allow receipt, canonical JSON (free with free()). */
static char *signed_receipt(void)
{
    chio_receipt_builder *b;
    chio_receipt *r;
    chio_keypair *kp = key07();
    chio_error err;
    char *out;

    chio_error_init(&err);
    cr_assert_eq(chio_receipt_builder_new(&b), 0);
    cr_assert_eq(chio_receipt_builder_set_timestamp(b, IAT), 0);
    cr_assert_eq(chio_receipt_builder_set_capability_id(b, "cap-1"), 0);
    cr_assert_eq(chio_receipt_builder_set_tool(b, "srv", "read"), 0);
    cr_assert_eq(chio_receipt_builder_set_parameters(b, LIT("{\"path\":\"/a\"}"), &err), 0);
    cr_assert_eq(chio_receipt_builder_set_policy_hash(b, "policy-1"), 0);
    cr_assert_eq(chio_receipt_builder_set_decision(b, CHIO_VERDICT_ALLOW, NULL, NULL), 0);
    cr_assert_eq(chio_receipt_sign(b, kp, &r, &err), 0, "%s", err.message);
    out = strdup(chio_receipt_json(r, NULL));
    chio_receipt_free(r);
    chio_receipt_builder_free(b);
    chio_keypair_free(kp);
    return out;
}

static const doc_row receipt_rows[] = {
    /* control rows */
    {"unchanged", M_SUB, "{", "{", 0, 1},
    {"kernel_key with 0x is normalised", M_SET, "kernel_key", "\"0x" PUB07 "\"", 0, 1},
    {"kernel_key in upper case is normalised", M_SET, "kernel_key", "\"" PUB07_UPPER "\"", 0, 1},
    {"null optional field is absent", M_SUB, "\"tool_server\"",
     "\"tenant_id\":null,\"tool_server\"", 0, 1},
    {"empty evidence is absent", M_SUB, "\"tool_server\"", "\"evidence\":[],\"tool_server\"", 0, 1},
    /* timestamp */
    {"negative timestamp", M_SET, "timestamp", "-1", CHIO_EFORMAT, 0},
    {"most negative timestamp", M_SET, "timestamp", "-9223372036854775808", CHIO_EFORMAT, 0},
    {"timestamp past uint64", M_SET, "timestamp", "18446744073709551616", CHIO_EFORMAT, 0},
    {"timestamp far past uint64", M_SET, "timestamp", "99999999999999999999999", CHIO_EFORMAT, 0},
    {"largest uint64 timestamp parses (signature breaks)", M_SET, "timestamp",
     "18446744073709551615", 0, 0},
    {"fractional timestamp", M_SET, "timestamp", "1.5", CHIO_EFORMAT, 0},
    {"exponent timestamp", M_SET, "timestamp", "1e9", CHIO_EFORMAT, 0},
    {"timestamp overflowing a double", M_SET, "timestamp", "1e999", CHIO_EJSON_NUMBER, 0},
    {"string timestamp", M_SET, "timestamp", "\"1710000000\"", CHIO_EFORMAT, 0},
    {"boolean timestamp", M_SET, "timestamp", "true", CHIO_EFORMAT, 0},
    {"null timestamp", M_SET, "timestamp", "null", CHIO_EFORMAT, 0},
    {"missing timestamp", M_DEL, "timestamp", NULL, CHIO_EFORMAT, 0},
    /* wrong types */
    {"numeric capability_id", M_SET, "capability_id", "7", CHIO_EFORMAT, 0},
    {"null tool_server", M_SET, "tool_server", "null", CHIO_EFORMAT, 0},
    {"array tool_name", M_SET, "tool_name", "[]", CHIO_EFORMAT, 0},
    {"object policy_hash", M_SET, "policy_hash", "{}", CHIO_EFORMAT, 0},
    {"numeric content_hash", M_SET, "content_hash", "1", CHIO_EFORMAT, 0},
    {"NUL in capability_id", M_SET, "capability_id", "\"a\\u0000b\"", CHIO_EFORMAT, 0},
    {"numeric id", M_SET, "id", "5", CHIO_EFORMAT, 0},
    {"missing id", M_DEL, "id", NULL, CHIO_EFORMAT, 0},
    {"action not an object", M_SUB, "\"action\":{", "\"action\":1,\"x\":{", CHIO_EFORMAT, 0},
    {"parameters missing", M_SUB, "\"parameters\":", "\"x\":", CHIO_EFORMAT, 0},
    {"numeric parameter_hash", M_SET, "parameter_hash", "5", CHIO_EFORMAT, 0},
    {"decision not an object", M_SUB, "\"decision\":{\"verdict\":\"allow\"}",
     "\"decision\":\"allow\"", CHIO_EFORMAT, 0},
    {"evidence not an array", M_SUB, "\"tool_server\"", "\"evidence\":{},\"tool_server\"",
     CHIO_EFORMAT, 0},
    {"evidence of numbers", M_SUB, "\"tool_server\"", "\"evidence\":[1],\"tool_server\"",
     CHIO_EFORMAT, 0},
    {"actor_chain a string", M_SUB, "\"boundary_class\"",
     "\"actor_chain\":\"x\",\"boundary_class\"", CHIO_EFORMAT, 0},
    {"numeric kernel_key", M_SET, "kernel_key", "5", CHIO_EFORMAT, 0},
    {"missing signature", M_DEL, "signature", NULL, CHIO_EFORMAT, 0},
    /* unknown enum values */
    {"unknown receipt_kind", M_SET, "receipt_kind", "\"bogus\"", CHIO_EFORMAT, 0},
    {"receipt_kind in another case", M_SET, "receipt_kind", "\"Mediated_Decision\"", CHIO_EFORMAT,
     0},
    {"unknown boundary_class", M_SET, "boundary_class", "\"nope\"", CHIO_EFORMAT, 0},
    {"unknown tool_origin", M_SET, "tool_origin", "\"elsewhere\"", CHIO_EFORMAT, 0},
    {"unknown redaction_mode", M_SET, "redaction_mode", "\"partial\"", CHIO_EFORMAT, 0},
    {"unknown trust_level", M_SET, "trust_level", "\"blind\"", CHIO_EFORMAT, 0},
    {"unknown verdict", M_SET, "verdict", "\"maybe\"", CHIO_EFORMAT, 0},
    {"numeric verdict", M_SET, "verdict", "1", CHIO_EFORMAT, 0},
    {"unknown observation_outcome", M_SUB, "\"policy_hash\"",
     "\"observation_outcome\":\"seen\",\"policy_hash\"", CHIO_EFORMAT, 0},
    {"cannot_see parses, never verifies", M_SET, "boundary_class", "\"cannot_see\"", 0, 0},
    /* wrong-length and non-hex fields */
    {"empty kernel_key", M_SET, "kernel_key", "\"\"", CHIO_EKEY, 0},
    {"kernel_key of 62 digits", M_SUB, "\"kernel_key\":\"ea", "\"kernel_key\":\"", CHIO_EKEY, 0},
    {"kernel_key of 66 digits", M_SUB, "\"kernel_key\":\"", "\"kernel_key\":\"00", CHIO_EKEY, 0},
    {"kernel_key of 63 digits", M_SUB, "\"kernel_key\":\"e", "\"kernel_key\":\"", CHIO_EKEY, 0},
    {"non-hex kernel_key", M_SUB, "\"kernel_key\":\"ea", "\"kernel_key\":\"zz", CHIO_EKEY, 0},
    {"empty signature", M_SET, "signature", "\"\"", CHIO_ESIGFORMAT, 0},
    {"signature of 130 digits", M_SUB, "\"signature\":\"", "\"signature\":\"00", CHIO_ESIGFORMAT,
     0},
    {"signature of 126 digits", M_SUB, "\"signature\":\"", "\"signature\":\"\"-", CHIO_ESIGFORMAT,
     0},
    {"non-hex signature", M_SUB, "\"signature\":\"", "\"signature\":\"zz", CHIO_ESIGFORMAT, 0},
    {"signature with 0x", M_SUB, "\"signature\":\"", "\"signature\":\"0x", CHIO_ESIGFORMAT, 0},
    {"short content_hash parses, never verifies", M_SET, "content_hash", "\"abc\"", 0, 0},
    {"short parameter_hash parses, never verifies", M_SET, "parameter_hash", "\"abc\"", 0, 0},
    {"field added after signing", M_SUB, "{\"action\"", "{\"added\":1,\"action\"", 0, 0},
    /* not a receipt at all */
    {"duplicate key", M_SUB, "{\"action\"", "{\"id\":\"x\",\"action\"", CHIO_EJSON_DUPKEY, 0},
    {"truncated", M_CUT, NULL, NULL, CHIO_EJSON_TRUNCATED, 0},
    {"invalid UTF-8 in tool_name", M_SET, "tool_name", "\"\xff\"", CHIO_EJSON_UTF8, 0},
    {"an array", M_WHOLE, NULL, "[]", CHIO_EFORMAT, 0},
    {"a number", M_WHOLE, NULL, "42", CHIO_EFORMAT, 0},
    {"null", M_WHOLE, NULL, "null", CHIO_EFORMAT, 0},
    {"empty object", M_WHOLE, NULL, "{}", CHIO_EFORMAT, 0},
    {"empty input", M_WHOLE, NULL, "", CHIO_EJSON_TRUNCATED, 0},
};

Test(bad_input, receipt_parse_matrix)
{
    char *base = signed_receipt();
    uint8_t pub[32];
    size_t i;

    cr_assert_eq(chio_pubkey_from_hex(PUB07, 64, pub), 0);
    for (i = 0; i < sizeof(receipt_rows) / sizeof(receipt_rows[0]); i++) {
        const doc_row *row = &receipt_rows[i];
        char *text = mutate(base, row->op, row->a, row->b);
        chio_receipt *r = (chio_receipt *)&r;
        chio_receipt_report rep;
        chio_error err;
        int rc;

        apply_drop_marker(text);
        chio_error_init(&err);
        rc = chio_receipt_parse(text, strlen(text), &r, &err);
        cr_expect_eq(rc, row->code, "receipt row %zu (%s): got %s, want %s (%s)", i, row->name,
                     chio_err_name(rc), chio_err_name(row->code), err.message);
        if (rc != 0) {
            cr_expect_null(r, "receipt row %zu (%s): *out must be NULL on failure", i, row->name);
            cr_expect_eq(err.code, rc, "receipt row %zu (%s)", i, row->name);
            cr_expect_neq(err.message[0], '\0', "receipt row %zu (%s): no message", i, row->name);
        } else {
            memset(&rep, 0, sizeof(rep));
            cr_expect_eq(chio_receipt_verify(r, pub, 1, &rep), 0, "receipt row %zu", i);
            cr_expect_eq(rep.ok, row->verifies, "receipt row %zu (%s): ok %d, want %d", i,
                         row->name, rep.ok, row->verifies);
            chio_receipt_free(r);
        }
        free(text);
    }
    free(base);
}

/* ---- capability tokens ------------------------------------------------------------------- */

#define CONSTRAINED_SCOPE                                                                  \
    "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]," \
    "\"constraints\":[{\"type\":\"max_length\",\"value\":100}]}]}"

static const doc_row capability_rows[] = {
    /* control rows */
    {"unchanged", M_SUB, "{", "{", 0, 1},
    {"issuer with 0x is normalised", M_SET, "issuer", "\"0x" PUB07 "\"", 0, 1},
    {"issuer in upper case is normalised", M_SET, "issuer", "\"" PUB07_UPPER "\"", 0, 1},
    {"empty delegation_chain is absent", M_SUB, "{\"expires_at\"",
     "{\"delegation_chain\":[],\"expires_at\"", 0, 1},
    {"schema member is accepted", M_SUB, "\"scope\"", "\"schema\":\"chio.capability.v1\",\"scope\"",
     0, 1},
    {"unknown constraint type parses", M_SUB, "\"max_length\"", "\"geo_fence\"", 0, 0},
    {"malformed constraint value parses", M_SET, "value", "\"ten\"", 0, 0},
    /* times */
    {"negative issued_at", M_SET, "issued_at", "-1", CHIO_EFORMAT, 0},
    {"issued_at past uint64", M_SET, "issued_at", "18446744073709551616", CHIO_EFORMAT, 0},
    {"fractional issued_at", M_SET, "issued_at", "1.0", CHIO_EFORMAT, 0},
    {"string issued_at", M_SET, "issued_at", "\"1710000000\"", CHIO_EFORMAT, 0},
    {"null issued_at", M_SET, "issued_at", "null", CHIO_EFORMAT, 0},
    {"missing issued_at", M_DEL, "issued_at", NULL, CHIO_EFORMAT, 0},
    {"negative expires_at", M_SET, "expires_at", "-5", CHIO_EFORMAT, 0},
    {"expires_at past uint64", M_SET, "expires_at", "99999999999999999999", CHIO_EFORMAT, 0},
    {"expires_at as a huge double", M_SET, "expires_at", "1e30", CHIO_EFORMAT, 0},
    {"expires_at overflowing a double", M_SET, "expires_at", "1e400", CHIO_EJSON_NUMBER, 0},
    {"largest uint64 expires_at parses (signature breaks)", M_SET, "expires_at",
     "18446744073709551615", 0, 0},
    /* keys */
    {"empty issuer", M_SET, "issuer", "\"\"", CHIO_EKEY, 0},
    {"issuer of 62 digits", M_SUB, "\"issuer\":\"ea", "\"issuer\":\"", CHIO_EKEY, 0},
    {"issuer of 66 digits", M_SUB, "\"issuer\":\"", "\"issuer\":\"00", CHIO_EKEY, 0},
    {"non-hex issuer", M_SUB, "\"issuer\":\"ea", "\"issuer\":\"zz", CHIO_EKEY, 0},
    {"subject of 63 digits", M_SUB, "\"subject\":\"6", "\"subject\":\"", CHIO_EKEY, 0},
    {"numeric issuer", M_SET, "issuer", "7", CHIO_EFORMAT, 0},
    {"missing subject", M_DEL, "subject", NULL, CHIO_EFORMAT, 0},
    /* signature */
    {"empty signature", M_SET, "signature", "\"\"", CHIO_ESIGFORMAT, 0},
    {"signature of 130 digits", M_SUB, "\"signature\":\"", "\"signature\":\"00", CHIO_ESIGFORMAT,
     0},
    {"signature of 126 digits", M_SUB, "\"signature\":\"", "\"signature\":\"\"-", CHIO_ESIGFORMAT,
     0},
    {"non-hex signature", M_SUB, "\"signature\":\"", "\"signature\":\"zz", CHIO_ESIGFORMAT, 0},
    {"signature with 0x", M_SUB, "\"signature\":\"", "\"signature\":\"0x", CHIO_ESIGFORMAT, 0},
    {"missing signature", M_DEL, "signature", NULL, CHIO_EFORMAT, 0},
    /* other fields */
    {"numeric id", M_SET, "id", "7", CHIO_EFORMAT, 0},
    {"NUL in id", M_SET, "id", "\"cap\\u0000x\"", CHIO_EFORMAT, 0},
    {"missing id", M_DEL, "id", NULL, CHIO_EFORMAT, 0},
    {"other schema", M_SUB, "\"scope\"", "\"schema\":\"chio.capability.v2\",\"scope\"",
     CHIO_ESCHEMA, 0},
    {"numeric schema", M_SUB, "\"scope\"", "\"schema\":1,\"scope\"", CHIO_EFORMAT, 0},
    {"scope a number", M_SUB, "\"scope\":{", "\"scope\":7,\"x\":{", CHIO_EFORMAT, 0},
    {"grants an object", M_SUB, "\"grants\":[", "\"grants\":{},\"x\":[", CHIO_EFORMAT, 0},
    {"unknown operation", M_SUB, "\"invoke\"", "\"launch\"", CHIO_EFORMAT, 0},
    {"operations a string", M_SUB, "[\"invoke\"]", "\"invoke\"", CHIO_EFORMAT, 0},
    {"constraint not an object", M_SUB, "[{\"type\"", "[1,{\"type\"", CHIO_EFORMAT, 0},
    {"delegation_chain of {}", M_SUB, "{\"expires_at\"",
     "{\"delegation_chain\":[{}],\"expires_at\"", CHIO_EFORMAT, 0},
    {"delegation_chain an object", M_SUB, "{\"expires_at\"",
     "{\"delegation_chain\":{},\"expires_at\"", CHIO_EFORMAT, 0},
    /* not a token */
    {"duplicate key", M_SUB, "\"scope\"", "\"id\":\"x\",\"scope\"", CHIO_EJSON_DUPKEY, 0},
    {"truncated", M_CUT, NULL, NULL, CHIO_EJSON_TRUNCATED, 0},
    {"invalid UTF-8 in id", M_SET, "id", "\"\xc0\xaf\"", CHIO_EJSON_UTF8, 0},
    {"lone surrogate in id", M_SET, "id", "\"\\ud800\"", CHIO_EJSON_SURROGATE, 0},
    {"an array", M_WHOLE, NULL, "[]", CHIO_EFORMAT, 0},
    {"a string", M_WHOLE, NULL, "\"token\"", CHIO_EFORMAT, 0},
    {"empty input", M_WHOLE, NULL, "", CHIO_EJSON_TRUNCATED, 0},
};

/* Rows on a delegated token: the first "signature", "timestamp", ... are the link's. */
static const doc_row link_rows[] = {
    {"unchanged", M_SUB, "{", "{", 0, 1},
    {"delegator of 62 digits", M_SUB, "\"delegator\":\"", "\"delegator\":\"\"-", CHIO_EKEY, 0},
    {"non-hex delegatee", M_SUB, "\"delegatee\":\"6", "\"delegatee\":\"x", CHIO_EKEY, 0},
    {"negative link timestamp", M_SET, "timestamp", "-1", CHIO_EFORMAT, 0},
    {"link timestamp past uint64", M_SET, "timestamp", "18446744073709551616", CHIO_EFORMAT, 0},
    {"short link signature", M_SUB, "\"signature\":\"", "\"signature\":\"\"-", CHIO_ESIGFORMAT, 0},
    {"link without signature", M_DEL, "signature", NULL, CHIO_EFORMAT, 0},
    {"numeric link capability_id", M_SET, "capability_id", "3", CHIO_EFORMAT, 0},
    {"link scope_hash a number", M_SUB, "\"timestamp\"", "\"scope_hash\":5,\"timestamp\"",
     CHIO_EFORMAT, 0},
    {"link attenuations an object", M_SUB, "{\"capability_id\"",
     "{\"attenuations\":{},\"capability_id\"", CHIO_EFORMAT, 0},
    {"link not an object", M_SUB, "\"delegation_chain\":[", "\"delegation_chain\":[7,",
     CHIO_EFORMAT, 0},
};

static void run_capability_rows(const char *what, const char *base, const doc_row *rows, size_t n)
{
    uint8_t pub[32];
    size_t i;

    cr_assert_eq(chio_pubkey_from_hex(PUB07, 64, pub), 0);
    for (i = 0; i < n; i++) {
        const doc_row *row = &rows[i];
        char *text = mutate(base, row->op, row->a, row->b);
        chio_capability *cap = (chio_capability *)&cap;
        chio_capability_report rep;
        chio_error err;
        int rc;

        apply_drop_marker(text);
        chio_error_init(&err);
        rc = chio_capability_parse(text, strlen(text), &cap, &err);
        cr_expect_eq(rc, row->code, "%s row %zu (%s): got %s, want %s (%s)", what, i, row->name,
                     chio_err_name(rc), chio_err_name(row->code), err.message);
        if (rc != 0) {
            cr_expect_null(cap, "%s row %zu (%s): *out must be NULL on failure", what, i,
                           row->name);
            cr_expect_eq(err.code, rc, "%s row %zu (%s)", what, i, row->name);
            cr_expect_neq(err.message[0], '\0', "%s row %zu (%s): no message", what, i, row->name);
        } else {
            memset(&rep, 0, sizeof(rep));
            cr_expect_eq(chio_capability_verify(cap, NOW, pub, 1, 4, &rep), 0);
            cr_expect_eq(rep.signature_valid && rep.delegation_chain_shape_valid, row->verifies,
                         "%s row %zu (%s): signature_valid %d chain %d, want %d", what, i,
                         row->name, rep.signature_valid, rep.delegation_chain_shape_valid,
                         row->verifies);
            chio_capability_free(cap);
        }
        free(text);
    }
}

Test(bad_input, capability_parse_matrix)
{
    char *plain =
        tk_token(TK_KERNEL_SEED, "cap-1", TK_AGENT_PUB, CONSTRAINED_SCOPE, IAT, 1000, NULL, 0);
    char other[65], *chained;
    tk_link link;

    cr_assert_not_null(plain);
    tk_pub(TK_OTHER_SEED, other);
    memset(&link, 0, sizeof(link));
    link.capability_id = "parent-1";
    link.delegator_seed = TK_OTHER_SEED;
    link.delegatee_pub = TK_AGENT_PUB;
    link.timestamp = IAT;
    chained =
        tk_token(TK_KERNEL_SEED, "cap-2", TK_AGENT_PUB, CONSTRAINED_SCOPE, IAT, 1000, &link, 1);
    cr_assert_not_null(chained);
    run_capability_rows("capability", plain, capability_rows,
                        sizeof(capability_rows) / sizeof(capability_rows[0]));
    run_capability_rows("link", chained, link_rows, sizeof(link_rows) / sizeof(link_rows[0]));
    free(plain);
    free(chained);
}

/* ---- the kernel --------------------------------------------------------------------------- */

static uint64_t fixed_clock(void *ctx)
{
    (void)ctx;
    return NOW;
}

static int srv_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                    chio_output *out)
{
    char *buf = malloc(len + 16);
    int rc;

    (void)user;
    (void)ctx;
    if (buf == NULL)
        return -1;
    if (strcmp(tool, "write") == 0) { /* answers with the size only */
        snprintf(buf, len + 16, "{\"n\":%zu}", len);
        rc = chio_output_set_json(out, buf, strlen(buf));
        free(buf);
        return rc;
    }
    memcpy(buf, "{\"echo\":", 8);
    memcpy(buf + 8, args, len);
    buf[8 + len] = '}';
    rc = chio_output_set_json(out, buf, len + 9);
    free(buf);
    return rc;
}

static int resource_read(void *user, const char *uri, chio_output *out)
{
    (void)user;
    (void)uri;
    return chio_output_set_json(out, LIT("\"content\""));
}

static int prompt_get(void *user, const char *name, const char *args, size_t len, chio_output *out)
{
    (void)user;
    (void)name;
    (void)args;
    (void)len;
    return chio_output_set_json(out, LIT("\"rendered\""));
}

/* An ephemeral, nosync kernel with server srv: tool read echoes its
 * arguments ({"echo":..}), tool write answers their size ({"n":..}); a
 * resource provider "docs" and a prompt provider "prompts" that answer
 * everything. */
static chio_kernel *bi_kernel(void)
{
    static const char *const tools[] = {"read", "write"};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_kernel *k;
    chio_error err;

    kt_config(&cfg, NULL);
    cfg.clock = fixed_clock;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 2;
    ts.invoke = srv_tool;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0, "%s", err.message);
    {
        chio_resource_provider rp = {.provider_id = "docs", .read = resource_read};
        chio_prompt_provider pp = {.provider_id = "prompts", .get = prompt_get};
        cr_assert_eq(chio_kernel_register_resource_provider(k, &rp, &err), 0, "%s", err.message);
        cr_assert_eq(chio_kernel_register_prompt_provider(k, &pp, &err), 0, "%s", err.message);
    }
    return k;
}

#define ALL_SCOPE \
    "{\"grants\":[{\"server_id\":\"*\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}]}"
#define ONE_CONSTRAINT(c)                                                                  \
    "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]," \
    "\"constraints\":[" c "]}]}"

/* The tokens of the "bad" session: id and scope. */
static const struct {
    const char *id, *scope;
} bad_session_caps[] = {
    {"cap-1", ALL_SCOPE},
    {"cap-size", ONE_CONSTRAINT("{\"type\":\"max_args_size\",\"value\":64}")},
    {"cap-geo", ONE_CONSTRAINT("{\"type\":\"geo_fence\",\"value\":\"eu\"}")},
    {"cap-len-str", ONE_CONSTRAINT("{\"type\":\"max_length\",\"value\":\"ten\"}")},
    {"cap-len-neg", ONE_CONSTRAINT("{\"type\":\"max_length\",\"value\":-1}")},
    {"cap-size-null", ONE_CONSTRAINT("{\"type\":\"max_args_size\",\"value\":null}")},
    {"cap-custom-3", ONE_CONSTRAINT("{\"type\":\"custom\",\"value\":[\"a\",\"b\",\"c\"]}")},
    {"cap-custom-num", ONE_CONSTRAINT("{\"type\":\"custom\",\"value\":[\"a\",1]}")},
    {"cap-regex-bad", ONE_CONSTRAINT("{\"type\":\"regex_match\",\"value\":\"(\"}")},
    {"cap-prefix-num", ONE_CONSTRAINT("{\"type\":\"path_prefix\",\"value\":7}")},
    {"cap-prefix-nul", ONE_CONSTRAINT("{\"type\":\"path_prefix\",\"value\":\"/a\\u0000\"}")},
    {"cap-no-value", ONE_CONSTRAINT("{\"type\":\"max_length\"}")},
    {"cap-no-type", ONE_CONSTRAINT("{\"value\":5}")},
    {"cap-type-num", ONE_CONSTRAINT("{\"type\":5,\"value\":5}")},
    {"cap-type-case", ONE_CONSTRAINT("{\"type\":\"Max_Length\",\"value\":5}")},
    {"cap-rp", "{\"resource_grants\":[{\"uri_pattern\":\"*\",\"operations\":[\"read\"]}],"
               "\"prompt_grants\":[{\"prompt_name\":\"*\",\"operations\":[\"get\"]}]}"},
};
#define NBAD_CAPS (sizeof(bad_session_caps) / sizeof(bad_session_caps[0]))

typedef struct bi_fixture {
    chio_kernel *k;
    char bad[CHIO_SESSION_ID_LEN + 1];  /* the session the bad rows use */
    char good[CHIO_SESSION_ID_LEN + 1]; /* another session that must keep working */
    char *toks[NBAD_CAPS];
    uint8_t pub[32];
} bi_fixture;

static void fixture_open(bi_fixture *f)
{
    const char *caps[NBAD_CAPS];
    chio_error err;
    size_t i;

    memset(f, 0, sizeof(*f));
    f->k = bi_kernel();
    for (i = 0; i < NBAD_CAPS; i++) {
        f->toks[i] = tk_token(TK_KERNEL_SEED, bad_session_caps[i].id, TK_AGENT_PUB,
                              bad_session_caps[i].scope, IAT, 1000, NULL, 0);
        cr_assert_not_null(f->toks[i], "token %s", bad_session_caps[i].id);
        caps[i] = f->toks[i];
    }
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(f->k, TK_AGENT_PUB, caps, NULL, NBAD_CAPS, f->bad, &err),
                 0, "%s", err.message);
    cr_assert_eq(chio_kernel_open_session(f->k, TK_AGENT_PUB, caps, NULL, 1, f->good, &err), 0,
                 "%s", err.message);
    cr_assert_eq(chio_pubkey_from_hex(PUB07, 64, f->pub), 0);
}

static void fixture_close(bi_fixture *f)
{
    size_t i;

    for (i = 0; i < NBAD_CAPS; i++)
        free(f->toks[i]);
    chio_kernel_free(f->k);
}

static uint64_t signed_count(chio_kernel *k)
{
    chio_kernel_metrics m;

    memset(&m, 0, sizeof(m));
    cr_assert_eq(chio_kernel_metrics_get(k, &m), 0);
    return m.receipts_signed;
}

/* What the kernel signed can be read back by the library's own parser (what
 * `chio receipt verify` and auditors use) and still verifies. */
static void expect_round_trip(const chio_receipt *rec, const uint8_t pub[32], const char *row)
{
    chio_receipt *back = NULL;
    chio_receipt_report rep;
    chio_error err;
    size_t len;
    const char *json = chio_receipt_json(rec, &len);
    int rc;

    chio_error_init(&err);
    rc = chio_receipt_parse(json, len, &back, &err);
    cr_expect_eq(rc, 0, "%s: the signed receipt (%zu bytes) cannot be parsed back: %s (%s)", row,
                 len, chio_err_name(rc), err.message);
    if (rc != 0)
        return;
    memset(&rep, 0, sizeof(rep));
    cr_expect_eq(chio_receipt_verify(back, pub, 1, &rep), 0);
    cr_expect(rep.ok, "%s: the parsed-back receipt does not verify", row);
    chio_receipt_free(back);
}

/* The receipt verifies under the kernel key (also after a round trip
 * through its JSON), says @verdict and, for a deny, names @guard. */
static void expect_signed(const bi_fixture *f, const chio_response *r, const char *verdict,
                          const char *guard, const char *row)
{
    chio_receipt_report rep;
    const chio_json *d;

    cr_assert_not_null(r->receipt, "%s: no receipt", row);
    memset(&rep, 0, sizeof(rep));
    cr_expect_eq(chio_receipt_verify(r->receipt, f->pub, 1, &rep), 0);
    cr_expect(rep.ok, "%s: receipt does not verify", row);
    expect_round_trip(r->receipt, f->pub, row);
    d = chio_json_get(chio_receipt_root(r->receipt), "decision");
    cr_expect_str_eq(chio_json_string(chio_json_get(d, "verdict"), NULL), verdict, "%s", row);
    if (guard != NULL)
        cr_expect_str_eq(chio_json_string(chio_json_get(d, "guard"), NULL), guard, "%s", row);
}

/* A good call on the good session: allowed, one receipt, and it verifies. */
static void expect_still_serving(const bi_fixture *f, const char *row)
{
    chio_call c;
    chio_response r;
    chio_error err;
    uint64_t before = signed_count(f->k);
    int rc;

    memset(&c, 0, sizeof(c));
    c.session_id = f->good;
    c.capability_id = "cap-1";
    c.server_id = "srv";
    c.tool_name = "read";
    c.arguments_json = "{\"path\":\"/workspace/ok\"}";
    c.arguments_len = strlen(c.arguments_json);
    chio_error_init(&err);
    chio_response_init(&r);
    rc = chio_kernel_evaluate(f->k, &c, &r, &err);
    cr_expect_eq(rc, 0, "after %s: the good call failed: %s (%s)", row, chio_err_name(rc),
                 err.message);
    if (rc == 0) {
        cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "after %s: %s (%s)", row,
                     chio_code_name(r.code), r.reason);
        cr_expect_str_eq(r.output, "{\"echo\":{\"path\":\"/workspace/ok\"}}", "after %s", row);
        expect_signed(f, &r, "allow", NULL, row);
    }
    cr_expect_eq(signed_count(f->k), before + 1, "after %s: the good call signed %llu receipts",
                 row, (unsigned long long)(signed_count(f->k) - before));
    chio_response_destroy(&r);
}

/* Marks a NULL argument in a row (NULL fields take the default). */
static const char nullarg[] = "(null)";
#define NUL_ARG nullarg

typedef char *(*args_gen)(size_t *len);

typedef struct eval_row {
    const char *name;
    const char *session; /* NULL: the bad session; NUL_ARG: NULL */
    const char *cap;     /* NULL: cap-1 */
    const char *server;  /* NULL: srv */
    const char *tool;    /* NULL: read */
    const char *req;     /* NULL: "req-1"; NUL_ARG: NULL (the kernel makes one) */
    const char *args;    /* NULL: {} */
    size_t args_len;     /* with has_len */
    int has_len;
    args_gen gen; /* args made at run time */
    int big_req;  /* a 1 MiB request id */
    int rc;       /* 0: a decision with a receipt */
    int alt_rc;   /* also acceptable: this invalid_arguments error, no receipt */
    const char *errname;
    chio_verdict verdict;
    chio_code code;
} eval_row;

#define BYTES(lit) .args = (lit), .args_len = sizeof(lit) - 1, .has_len = 1

static char *gen_deep_129(size_t *len)
{
    return nest("[", "", "]", CHIO_JSON_MAX_DEPTH + 1, len);
}

/* The deepest arguments a receipt holds: the receipt adds two levels and
 * nests at most 127, which chio's parser reads (see the BUG test below). */
static char *gen_deep_125_object(size_t *len)
{
    return nest("{\"a\":", "1", "}", CHIO_JSON_MAX_DEPTH - 3, len);
}

static char *gen_million_brackets(size_t *len)
{
    return repeat("[", 1000000, len);
}

/* {"s":"xxx..."} with a 4 MiB string. */
static char *gen_4mib_string(size_t *len)
{
    size_t n = 4u * 1024 * 1024 - 8; /* the whole text exactly max_argument_bytes */
    char *s = malloc(n + 16);

    cr_assert_not_null(s);
    memcpy(s, "{\"s\":\"", 6);
    memset(s + 6, 'x', n);
    memcpy(s + 6 + n, "\"}", 3);
    *len = n + 8;
    return s;
}

/* 50 000 members: a wide object. */
static char *gen_wide_object(size_t *len)
{
    size_t cap = 50000 * 24, n = 0;
    char *s = malloc(cap);
    int i;

    cr_assert_not_null(s);
    s[n++] = '{';
    for (i = 0; i < 50000; i++)
        n += (size_t)snprintf(s + n, cap - n, "%s\"k%d\":%d", i ? "," : "", i, i);
    s[n++] = '}';
    s[n] = '\0';
    *len = n;
    return s;
}

/* The same, with a duplicate at the end. */
static char *gen_wide_object_dup(size_t *len)
{
    char *s = gen_wide_object(len), *t = realloc(s, *len + 16);

    cr_assert_not_null(t);
    *len += (size_t)snprintf(t + *len - 1, 16, ",\"k7\":7}") - 1;
    return t;
}

/* CHIO_JSON_MAX_INPUT + 1 bytes: refused before anything is read. */
static char *gen_over_limit(size_t *len)
{
    char *s = calloc(CHIO_JSON_MAX_INPUT + 1, 1);

    cr_assert_not_null(s);
    *len = CHIO_JSON_MAX_INPUT + 1;
    return s;
}

#define ERR(code_, name_) .rc = (code_), .errname = (name_)
#define INVALID(code_)    ERR(code_, "invalid_arguments")
#define DENY(code_)       .rc = 0, .verdict = CHIO_VERDICT_DENY, .code = (code_)
#define ALLOW             .rc = 0, .verdict = CHIO_VERDICT_ALLOW, .code = CHIO_CODE_NONE

static const eval_row eval_rows[] = {
    /* arguments: malformed JSON */
    {.name = "args truncated", .args = "{\"a\":", INVALID(CHIO_EJSON_TRUNCATED)},
    {.name = "args empty text", BYTES(""), INVALID(CHIO_EJSON_TRUNCATED)},
    {.name = "args cut by length",
     .args = "{\"a\":1}",
     .args_len = 5,
     .has_len = 1,
     INVALID(CHIO_EJSON_TRUNCATED)},
    {.name = "args not JSON", .args = "not json", INVALID(CHIO_EJSON_SYNTAX)},
    {.name = "args trailing comma", .args = "{\"a\":1,}", INVALID(CHIO_EJSON_SYNTAX)},
    {.name = "args NaN", .args = "{\"n\":NaN}", INVALID(CHIO_EJSON_SYNTAX)},
    {.name = "args trailing data", .args = "{}x", INVALID(CHIO_EJSON_TRAILING)},
    {.name = "args two documents", .args = "{}\n{}", INVALID(CHIO_EJSON_TRAILING)},
    {.name = "args number overflow", .args = "{\"n\":1e999}", INVALID(CHIO_EJSON_NUMBER)},
    {.name = "args 129 deep", .gen = gen_deep_129, INVALID(CHIO_EJSON_DEPTH)},
    {.name = "args 1e6 open brackets", .gen = gen_million_brackets, INVALID(CHIO_EJSON_DEPTH)},
    {.name = "args duplicate key", .args = "{\"a\":1,\"a\":2}", INVALID(CHIO_EJSON_DUPKEY)},
    {.name = "args duplicate key nested",
     .args = "{\"x\":[{\"p\":1,\"p\":1}]}",
     INVALID(CHIO_EJSON_DUPKEY)},
    {.name = "args duplicate among 50000 keys",
     .gen = gen_wide_object_dup,
     INVALID(CHIO_EJSON_DUPKEY)},
    {.name = "args invalid UTF-8", .args = "{\"a\":\"\xff\"}", INVALID(CHIO_EJSON_UTF8)},
    {.name = "args overlong UTF-8", .args = "{\"a\":\"\xc0\xaf\"}", INVALID(CHIO_EJSON_UTF8)},
    {.name = "args invalid UTF-8 in a key",
     .args = "{\"\xed\xa0\x80\":1}",
     INVALID(CHIO_EJSON_UTF8)},
    {.name = "args lone surrogate", .args = "{\"a\":\"\\ud800\"}", INVALID(CHIO_EJSON_SURROGATE)},
    {.name = "args raw control char", .args = "{\"a\":\"\x01\"}", INVALID(CHIO_EJSON_CONTROL)},
    {.name = "args raw NUL byte", BYTES("{\"a\":\"x\0y\"}"), INVALID(CHIO_EJSON_CONTROL)},
    {.name = "args NUL in a key", .args = "{\"\\u0000\":1}", INVALID(CHIO_EJSON_NULKEY)},
    /* \u0000 in a string value: refused as invalid_arguments (CHIO_EINVAL) */
    {.name = "args \\u0000 in a value", .args = "{\"a\":\"x\\u0000y\"}", INVALID(CHIO_EINVAL)},
    {.name = "args \\u0000 deep in an array",
     .args = "{\"a\":{\"b\":[\"ok\",\"\\u0000\"]}}",
     INVALID(CHIO_EINVAL)},
    {.name = "args only \\u0000", .args = "\"\\u0000\"", INVALID(CHIO_EINVAL)},
    /* over max_argument_bytes: never parsed, denied with a receipt */
    {.name = "args over 64 MiB", .gen = gen_over_limit, DENY(CHIO_CODE_ARGUMENTS_REJECTED)},
    /* names and ids */
    {.name = "NULL server", .server = NUL_ARG, ERR(CHIO_EINVAL, "invalid_arguments")},
    /* well-formed but refused: a deny receipt (invalid_request) */
    {.name = "empty server", .server = "", DENY(CHIO_CODE_INVALID_REQUEST)},
    {.name = "non-UTF-8 server", .server = "srv\xff", ERR(CHIO_EINVAL, "invalid_arguments")},
    {.name = "NULL tool", .tool = NUL_ARG, ERR(CHIO_EINVAL, "invalid_arguments")},
    {.name = "empty tool", .tool = "", DENY(CHIO_CODE_INVALID_REQUEST)},
    {.name = "non-UTF-8 tool",
     .tool = "re\xc3"
             "ad",
     ERR(CHIO_EINVAL, "invalid_arguments")},
    {.name = "non-UTF-8 request id", .req = "req-\xfe\xff", ERR(CHIO_EINVAL, "invalid_arguments")},
    {.name = "overlong UTF-8 request id", .req = "\xc0\xaf", ERR(CHIO_EINVAL, "invalid_arguments")},
    {.name = "surrogate request id", .req = "\xed\xb0\x80", ERR(CHIO_EINVAL, "invalid_arguments")},
    {.name = "empty request id", .req = "", DENY(CHIO_CODE_INVALID_REQUEST)},
    {.name = "NULL capability id", .cap = NUL_ARG, ERR(CHIO_EINVAL, "invalid_arguments")},
    {.name = "non-UTF-8 capability id", .cap = "cap-\x80", ERR(CHIO_EINVAL, "invalid_arguments")},
    /* a capability the session does not hold: a deny receipt, not a silent probe */
    {.name = "unknown capability id", .cap = "cap-404", DENY(CHIO_CODE_UNKNOWN_CAPABILITY)},
    {.name = "empty capability id", .cap = "", DENY(CHIO_CODE_UNKNOWN_CAPABILITY)},
    {.name = "NULL session", .session = NUL_ARG, ERR(CHIO_ENOSESSION, "unknown_session")},
    {.name = "empty session", .session = "", ERR(CHIO_ENOSESSION, "unknown_session")},
    {.name = "non-UTF-8 session",
     .session = "sess-\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
                "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
     ERR(CHIO_ENOSESSION, "unknown_session")},
    {.name = "unknown session",
     .session = "sess-AAAAAAAAAAAAAAAAAAAAAA",
     ERR(CHIO_ENOSESSION, "unknown_session")},
    /* decisions: signed, and the kernel goes on */
    {.name = "NULL args mean {}", .args = NUL_ARG, ALLOW},
    {.name = "kernel-made request id", .req = NUL_ARG, ALLOW},
    {.name = "request id needing escapes", .req = "a\"b\\c\x01\x7f/\xe2\x80\xa8", ALLOW},
    /* over 64 KiB: kept out of the receipt (a marker with its hash), denied */
    {.name = "1 MiB request id", .big_req = 1, DENY(CHIO_CODE_INVALID_REQUEST)},
    {.name = "server name with a control char",
     .server = "srv\x01",
     DENY(CHIO_CODE_TOOL_NOT_REGISTERED)},
    {.name = "tool name with a quote", .tool = "re\"ad", DENY(CHIO_CODE_TOOL_NOT_REGISTERED)},
    {.name = "args an array", .args = "[1,2]", ALLOW},
    {.name = "args a string", .args = "\"str\"", ALLOW},
    {.name = "args null", .args = "null", ALLOW},
    {.name = "args 125 deep", .tool = "write", .gen = gen_deep_125_object, ALLOW},
    {.name = "args with a surrogate pair", .args = "{\"e\":\"\\ud83d\\ude00\"}", ALLOW},
    {.name = "args 50000 keys", .gen = gen_wide_object, ALLOW},
    {.name = "args with a 4 MiB string", .gen = gen_4mib_string, ALLOW},
    {.name = "args over max_args_size",
     .cap = "cap-size",
     .args = "{\"s\":\"0123456789012345678901234567890123456789012345678901234567890123\"}",
     DENY(CHIO_CODE_CONSTRAINT_VIOLATED)},
    {.name = "args under max_args_size", .cap = "cap-size", .args = "{\"s\":\"short\"}", ALLOW},
    {.name = "4 MiB over max_args_size",
     .cap = "cap-size",
     .gen = gen_4mib_string,
     DENY(CHIO_CODE_CONSTRAINT_VIOLATED)},
    /* constraints the kernel cannot read: the grant is unusable (fail closed) */
    {.name = "unknown constraint type", .cap = "cap-geo", DENY(CHIO_CODE_UNSUPPORTED_GRANT)},
    {.name = "max_length a string", .cap = "cap-len-str", DENY(CHIO_CODE_UNSUPPORTED_GRANT)},
    {.name = "max_length negative", .cap = "cap-len-neg", DENY(CHIO_CODE_UNSUPPORTED_GRANT)},
    {.name = "max_args_size null", .cap = "cap-size-null", DENY(CHIO_CODE_UNSUPPORTED_GRANT)},
    {.name = "custom with 3 items", .cap = "cap-custom-3", DENY(CHIO_CODE_UNSUPPORTED_GRANT)},
    {.name = "custom with a number", .cap = "cap-custom-num", DENY(CHIO_CODE_UNSUPPORTED_GRANT)},
    {.name = "invalid regex", .cap = "cap-regex-bad", DENY(CHIO_CODE_CONSTRAINT_VIOLATED)},
    {.name = "path_prefix a number", .cap = "cap-prefix-num", DENY(CHIO_CODE_UNSUPPORTED_GRANT)},
    {.name = "path_prefix with NUL", .cap = "cap-prefix-nul", DENY(CHIO_CODE_UNSUPPORTED_GRANT)},
    {.name = "constraint without value", .cap = "cap-no-value", DENY(CHIO_CODE_UNSUPPORTED_GRANT)},
    {.name = "constraint without type", .cap = "cap-no-type", DENY(CHIO_CODE_UNSUPPORTED_GRANT)},
    {.name = "numeric constraint type", .cap = "cap-type-num", DENY(CHIO_CODE_UNSUPPORTED_GRANT)},
    {.name = "constraint type in another case",
     .cap = "cap-type-case",
     DENY(CHIO_CODE_UNSUPPORTED_GRANT)},
};

static const char *pick(const char *v, const char *dflt)
{
    if (v == NULL)
        return dflt;
    return v == NUL_ARG ? NULL : v;
}

static void run_eval_row(bi_fixture *f, size_t i, const eval_row *row)
{
    chio_call c;
    chio_response r;
    chio_error err;
    uint64_t before = signed_count(f->k);
    char *made = NULL, *big_req = NULL, label[160];
    int rc, want;

    snprintf(label, sizeof(label), "eval row %zu (%s)", i, row->name);
    memset(&c, 0, sizeof(c));
    c.session_id = pick(row->session, f->bad);
    c.capability_id = pick(row->cap, "cap-1");
    c.server_id = pick(row->server, "srv");
    c.tool_name = pick(row->tool, "read");
    c.request_id = pick(row->req, "req-1");
    if (row->big_req) {
        big_req = repeat("r", 1024 * 1024, NULL);
        c.request_id = big_req;
    }
    if (row->gen != NULL) {
        made = row->gen(&c.arguments_len);
        c.arguments_json = made;
    } else {
        c.arguments_json = pick(row->args, "{}");
        c.arguments_len = row->has_len       ? row->args_len
                          : c.arguments_json ? strlen(c.arguments_json)
                                             : 0;
    }
    chio_error_init(&err);
    chio_response_init(&r);
    rc = chio_kernel_evaluate(f->k, &c, &r, &err);
    want = row->alt_rc != 0 && rc == row->alt_rc ? rc : row->rc;
    cr_expect_eq(rc, want, "%s: got %s, want %s (%s)", label, chio_err_name(rc),
                 chio_err_name(row->rc), err.message);
    if (want != 0) {
        /* an error: no receipt, nothing signed, the code and its name */
        cr_expect_null(r.receipt, "%s: an error carried a receipt", label);
        cr_expect_null(r.output, "%s", label);
        cr_expect_eq(signed_count(f->k), before, "%s: an error signed a receipt", label);
        cr_expect_eq(err.code, rc, "%s: err.code %s", label, chio_err_name(err.code));
        cr_expect_neq(err.message[0], '\0', "%s: no message", label);
        cr_expect_str_eq(chio_error_code_name(rc),
                         want == row->rc ? row->errname : "invalid_arguments", "%s", label);
    } else if (rc == 0) {
        cr_expect_eq(r.verdict, row->verdict, "%s: verdict %s, code %s (%s)", label,
                     chio_verdict_name(r.verdict), chio_code_name(r.code), r.reason);
        cr_expect_eq(r.code, row->code, "%s: code %s, want %s (%s)", label, chio_code_name(r.code),
                     chio_code_name(row->code), r.reason);
        cr_expect_eq(signed_count(f->k), before + 1, "%s: a decision without one receipt", label);
        if (r.receipt != NULL)
            expect_signed(f, &r, row->verdict == CHIO_VERDICT_ALLOW ? "allow" : "deny",
                          row->verdict == CHIO_VERDICT_ALLOW ? NULL : chio_code_name(row->code),
                          label);
        else
            cr_expect_fail("%s: a decision without a receipt", label);
        if (row->verdict == CHIO_VERDICT_ALLOW)
            cr_expect_not_null(r.output, "%s", label);
        if (row->req == NUL_ARG || (row->req != NULL && row->req[0] == '\0'))
            cr_expect(r.request_id != NULL && r.request_id[0] != '\0', "%s: no request id", label);
        else if (row->big_req)
            cr_expect(r.request_id != NULL &&
                          strncmp(r.request_id, "[omitted request id: ", 21) == 0,
                      "%s: a 1 MiB request id went into the receipt", label);
        else if (r.request_id != NULL)
            cr_expect_str_eq(r.request_id, c.request_id, "%s: request id changed", label);
    }
    chio_response_destroy(&r);
    free(made);
    free(big_req);
    expect_still_serving(f, label);
}

Test(bad_input, evaluate_matrix_errors_sign_nothing_and_the_kernel_keeps_serving)
{
    bi_fixture f;
    size_t i;

    fixture_open(&f);
    expect_still_serving(&f, "the start");
    for (i = 0; i < sizeof(eval_rows) / sizeof(eval_rows[0]); i++)
        run_eval_row(&f, i, &eval_rows[i]);
    fixture_close(&f);
}

Test(bad_input, evaluate_null_call_or_response)
{
    bi_fixture f;
    chio_response r;
    chio_call c;
    chio_error err;
    uint64_t before;

    fixture_open(&f);
    before = signed_count(f.k);
    chio_error_init(&err);
    chio_response_init(&r);
    cr_expect_eq(chio_kernel_evaluate(f.k, NULL, &r, &err), CHIO_EINVAL);
    cr_expect_null(r.receipt);
    chio_response_destroy(&r);
    memset(&c, 0, sizeof(c));
    c.session_id = f.good;
    c.capability_id = "cap-1";
    c.server_id = "srv";
    c.tool_name = "read";
    cr_expect_eq(chio_kernel_evaluate(f.k, &c, NULL, &err), CHIO_EINVAL);
    cr_expect_eq(chio_kernel_evaluate(NULL, &c, &r, &err), CHIO_EINVAL);
    chio_response_destroy(&r);
    cr_expect_eq(signed_count(f.k), before);
    expect_still_serving(&f, "NULL call and response");
    fixture_close(&f);
}

/* ---- open_session with bad tokens ---------------------------------------------------------- */

typedef struct open_row {
    const char *name;
    const char *agent;  /* NULL: TK_AGENT_PUB; NUL_ARG: NULL */
    const char *tok[2]; /* NULL entry: a good token; NUL_ARG: a NULL pointer */
    size_t len0;        /* explicit length of tok[0] (0: strlen) */
    size_t ntok;
    int rc;
    const char *msg; /* in the message */
} open_row;

static const open_row open_rows[] = {
    {"not JSON", NULL, {"not json"}, 0, 1, CHIO_EJSON_SYNTAX, "capability 0"},
    {"truncated", NULL, {"{\"id\":"}, 0, 1, CHIO_EJSON_TRUNCATED, "capability 0"},
    {"empty text", NULL, {""}, 0, 1, CHIO_EJSON_TRUNCATED, "capability 0"},
    {"a number", NULL, {"42"}, 0, 1, CHIO_EFORMAT, "capability 0"},
    {"missing fields", NULL, {"{\"id\":\"x\"}"}, 0, 1, CHIO_EFORMAT, "capability 0"},
    {"duplicate key",
     NULL,
     {"{\"id\":\"x\",\"id\":\"y\"}"},
     0,
     1,
     CHIO_EJSON_DUPKEY,
     "capability 0"},
    {"invalid UTF-8", NULL, {"{\"id\":\"\xff\"}"}, 0, 1, CHIO_EJSON_UTF8, "capability 0"},
    {"too deep",
     NULL,
     {"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
      "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["},
     0,
     1,
     CHIO_EJSON_DEPTH,
     "capability 0"},
    {"second token bad", NULL, {NULL, "{\"id\":1}"}, 0, 2, CHIO_EFORMAT, "capability 1"},
    {"NULL token pointer", NULL, {NUL_ARG}, 0, 1, CHIO_EINVAL, "capability 0"},
    {"NUL inside the text", NULL, {"{\"id\":\"a\0\"}"}, 11, 1, CHIO_EJSON_CONTROL, "capability 0"},
    {"NULL agent", NUL_ARG, {NULL}, 0, 1, CHIO_EINVAL, NULL},
    {"non-UTF-8 agent", "agent-\xff", {NULL}, 0, 1, CHIO_EINVAL, NULL},
};

/* The good token with one field broken, for the rows below. */
static const struct {
    const char *name;
    const char *from, *to;
    int rc;
} open_mut_rows[] = {
    {"short issuer", "\"issuer\":\"ea", "\"issuer\":\"", CHIO_EKEY},
    {"short signature", "\"signature\":\"", "\"signature\":\"0", CHIO_ESIGFORMAT},
    {"other schema", "\"scope\"", "\"schema\":\"chio.capability.v9\",\"scope\"", CHIO_ESCHEMA},
    {"negative expiry", "\"expires_at\":", "\"expires_at\":-", CHIO_EFORMAT},
    {"same id, other bytes", "\"expires_at\":1710001000", "\"expires_at\":1710001001",
     CHIO_EDUPLICATE},
};

Test(bad_input, open_session_with_bad_tokens_signs_nothing_and_keeps_serving)
{
    bi_fixture f;
    size_t i;

    fixture_open(&f);
    for (i = 0; i < sizeof(open_rows) / sizeof(open_rows[0]); i++) {
        const open_row *row = &open_rows[i];
        const char *caps[2];
        size_t lens[2], j;
        char sid[CHIO_SESSION_ID_LEN + 1], label[128];
        chio_error err;
        uint64_t before = signed_count(f.k);
        int rc;

        snprintf(label, sizeof(label), "open row %zu (%s)", i, row->name);
        for (j = 0; j < row->ntok; j++) {
            caps[j] = pick(row->tok[j], f.toks[0]);
            lens[j] = caps[j] ? strlen(caps[j]) : 0;
        }
        if (row->len0)
            lens[0] = row->len0;
        memset(sid, 'z', sizeof(sid));
        chio_error_init(&err);
        rc = chio_kernel_open_session(f.k, pick(row->agent, TK_AGENT_PUB), caps, lens, row->ntok,
                                      sid, &err);
        cr_expect_eq(rc, row->rc, "%s: got %s, want %s (%s)", label, chio_err_name(rc),
                     chio_err_name(row->rc), err.message);
        cr_expect_eq(err.code, rc, "%s", label);
        if (row->msg != NULL)
            cr_expect(strstr(err.message, row->msg) != NULL, "%s: message lacks '%s': %s", label,
                      row->msg, err.message);
        cr_expect_eq(signed_count(f.k), before, "%s: signed a receipt", label);
        expect_still_serving(&f, label);
    }
    for (i = 0; i < sizeof(open_mut_rows) / sizeof(open_mut_rows[0]); i++) {
        char *bad = tk_replace(f.toks[0], open_mut_rows[i].from, open_mut_rows[i].to);
        const char *caps[2];
        char sid[CHIO_SESSION_ID_LEN + 1], label[128];
        chio_error err;
        size_t n = 1;
        int rc;

        cr_assert_not_null(bad, "%s", open_mut_rows[i].name);
        snprintf(label, sizeof(label), "open mutation %zu (%s)", i, open_mut_rows[i].name);
        caps[0] = bad;
        if (open_mut_rows[i].rc == CHIO_EDUPLICATE) { /* the good one first, then the twin */
            caps[0] = f.toks[0];
            caps[1] = bad;
            n = 2;
        }
        chio_error_init(&err);
        rc = chio_kernel_open_session(f.k, TK_AGENT_PUB, caps, NULL, n, sid, &err);
        cr_expect_eq(rc, open_mut_rows[i].rc, "%s: got %s (%s)", label, chio_err_name(rc),
                     err.message);
        cr_expect_neq(err.message[0], '\0', "%s", label);
        expect_still_serving(&f, label);
        free(bad);
    }
    /* and new sessions still open and work */
    {
        char sid[CHIO_SESSION_ID_LEN + 1];
        const char *caps[1] = {f.toks[0]};
        chio_session_state st;
        cr_assert_eq(chio_kernel_open_session(f.k, TK_AGENT_PUB, caps, NULL, 1, sid, NULL), 0);
        cr_expect_eq(chio_kernel_session_state(f.k, sid, &st), 0);
        cr_expect_eq(st, CHIO_SESSION_READY);
        memcpy(f.good, sid, sizeof(sid));
        expect_still_serving(&f, "a session opened after the bad ones");
    }
    fixture_close(&f);
}

/* ---- the same errors through chio_kernel_evaluate_async ------------------------------------ */

static void count_cb(void *ctx, int rc, chio_response *resp, const chio_error *err)
{
    (void)rc;
    (void)resp;
    (void)err;
    __atomic_add_fetch((int *)ctx, 1, __ATOMIC_SEQ_CST);
}

Test(bad_input, evaluate_async_errors_never_call_back_and_sign_nothing)
{
    bi_fixture f;
    int bad_calls = 0, good_calls = 0;
    size_t i, nerr = 0;
    chio_call c;
    chio_error err;

    fixture_open(&f);
    for (i = 0; i < sizeof(eval_rows) / sizeof(eval_rows[0]); i++) {
        const eval_row *row = &eval_rows[i];
        uint64_t before = signed_count(f.k);
        char *made = NULL, label[160];
        int rc;

        if (row->rc == 0)
            continue; /* decisions: covered synchronously */
        snprintf(label, sizeof(label), "async row %zu (%s)", i, row->name);
        memset(&c, 0, sizeof(c));
        c.session_id = pick(row->session, f.bad);
        c.capability_id = pick(row->cap, "cap-1");
        c.server_id = pick(row->server, "srv");
        c.tool_name = pick(row->tool, "read");
        c.request_id = pick(row->req, "req-1");
        if (row->gen != NULL) {
            made = row->gen(&c.arguments_len);
            c.arguments_json = made;
        } else {
            c.arguments_json = pick(row->args, "{}");
            c.arguments_len = row->has_len       ? row->args_len
                              : c.arguments_json ? strlen(c.arguments_json)
                                                 : 0;
        }
        chio_error_init(&err);
        rc = chio_kernel_evaluate_async(f.k, &c, count_cb, &bad_calls, &err);
        cr_expect_eq(rc, row->rc, "%s: got %s, want %s (%s)", label, chio_err_name(rc),
                     chio_err_name(row->rc), err.message);
        cr_expect_eq(signed_count(f.k), before, "%s: signed a receipt", label);
        free(made);
        nerr++;
        expect_still_serving(&f, label);
    }
    cr_expect_gt(nerr, 30);
    /* one good asynchronous call, then drain: every callback has run */
    memset(&c, 0, sizeof(c));
    c.session_id = f.good;
    c.capability_id = "cap-1";
    c.server_id = "srv";
    c.tool_name = "read";
    cr_expect_eq(chio_kernel_evaluate_async(f.k, &c, count_cb, &good_calls, &err), 0, "%s",
                 err.message);
    cr_expect_eq(chio_kernel_drain(f.k, &err), 0, "%s", err.message);
    cr_expect_eq(__atomic_load_n(&good_calls, __ATOMIC_SEQ_CST), 1);
    cr_expect_eq(__atomic_load_n(&bad_calls, __ATOMIC_SEQ_CST), 0,
                 "%d callbacks ran for calls that returned an error", bad_calls);
    fixture_close(&f);
}

/* ---- resource reads and prompt gets ---------------------------------------------------------- */

typedef struct named_row {
    const char *name;
    int prompt;          /* 0: read_resource, 1: get_prompt */
    const char *target;  /* uri or prompt name; NULL: a good one; NUL_ARG: NULL */
    const char *session; /* as in eval_row */
    const char *cap;     /* NULL: cap-rp */
    const char *req;
    const char *args; /* prompts: NULL: {"who":"ada"}; NUL_ARG: NULL */
    args_gen gen;
    int rc;
    const char *errname;
    chio_verdict verdict;
    chio_code code;
} named_row;

static const named_row named_rows[] = {
    {.name = "resource: NULL uri", .target = NUL_ARG, INVALID(CHIO_EINVAL)},
    {.name = "resource: empty uri", .target = "", DENY(CHIO_CODE_INVALID_REQUEST)},
    {.name = "resource: non-UTF-8 uri", .target = "file:///\xff", INVALID(CHIO_EINVAL)},
    {.name = "resource: overlong UTF-8 uri", .target = "file:///\xc0\xaf", INVALID(CHIO_EINVAL)},
    {.name = "resource: NULL session", .session = NUL_ARG, ERR(CHIO_ENOSESSION, "unknown_session")},
    {.name = "resource: unknown session",
     .session = "sess-BBBBBBBBBBBBBBBBBBBBBB",
     ERR(CHIO_ENOSESSION, "unknown_session")},
    {.name = "resource: unknown capability", .cap = "cap-none", DENY(CHIO_CODE_UNKNOWN_CAPABILITY)},
    {.name = "resource: NULL capability", .cap = NUL_ARG, INVALID(CHIO_EINVAL)},
    {.name = "resource: non-UTF-8 request id", .req = "\xff", INVALID(CHIO_EINVAL)},
    {.name = "resource: allowed", ALLOW},
    {.name = "resource: uri needing escapes", .target = "file:///a\"b\\c\x01", ALLOW},
    {.name = "resource: no resource grant", .cap = "cap-1", DENY(CHIO_CODE_OUT_OF_SCOPE)},
    {.name = "prompt: NULL name", .prompt = 1, .target = NUL_ARG, INVALID(CHIO_EINVAL)},
    {.name = "prompt: empty name", .prompt = 1, .target = "", DENY(CHIO_CODE_INVALID_REQUEST)},
    {.name = "prompt: non-UTF-8 name",
     .prompt = 1,
     .target = "gr\xe9"
               "et",
     INVALID(CHIO_EINVAL)},
    {.name = "prompt: args truncated", .prompt = 1, .args = "{", INVALID(CHIO_EJSON_TRUNCATED)},
    {.name = "prompt: args duplicate key",
     .prompt = 1,
     .args = "{\"a\":1,\"a\":2}",
     INVALID(CHIO_EJSON_DUPKEY)},
    {.name = "prompt: args invalid UTF-8",
     .prompt = 1,
     .args = "{\"a\":\"\xff\"}",
     INVALID(CHIO_EJSON_UTF8)},
    {.name = "prompt: args lone surrogate",
     .prompt = 1,
     .args = "[\"\\udfff\"]",
     INVALID(CHIO_EJSON_SURROGATE)},
    {.name = "prompt: args \\u0000 in a value",
     .prompt = 1,
     .args = "{\"a\":\"\\u0000\"}",
     INVALID(CHIO_EINVAL)},
    {.name = "prompt: args NUL in a key",
     .prompt = 1,
     .args = "{\"\\u0000\":1}",
     INVALID(CHIO_EJSON_NULKEY)},
    {.name = "prompt: args 129 deep", .prompt = 1, .gen = gen_deep_129, INVALID(CHIO_EJSON_DEPTH)},
    {.name = "prompt: args over 64 MiB",
     .prompt = 1,
     .gen = gen_over_limit,
     DENY(CHIO_CODE_ARGUMENTS_REJECTED)},
    {.name = "prompt: allowed", .prompt = 1, ALLOW},
    {.name = "prompt: NULL args", .prompt = 1, .args = NUL_ARG, ALLOW},
    {.name = "prompt: no prompt grant", .prompt = 1, .cap = "cap-1", DENY(CHIO_CODE_OUT_OF_SCOPE)},
};

static void run_named_row(bi_fixture *f, size_t i, const named_row *row)
{
    chio_response r;
    chio_error err;
    uint64_t before = signed_count(f->k);
    char *made = NULL, label[160];
    const char *args;
    size_t args_len;
    int rc;

    snprintf(label, sizeof(label), "named row %zu (%s)", i, row->name);
    if (row->gen != NULL) {
        made = row->gen(&args_len);
        args = made;
    } else {
        args = pick(row->args, "{\"who\":\"ada\"}");
        args_len = args ? strlen(args) : 0;
    }
    chio_error_init(&err);
    chio_response_init(&r);
    if (row->prompt)
        rc = chio_kernel_get_prompt(f->k, pick(row->session, f->bad), pick(row->req, "req-n"),
                                    pick(row->cap, "cap-rp"), pick(row->target, "greet"), args,
                                    args_len, &r, &err);
    else
        rc = chio_kernel_read_resource(f->k, pick(row->session, f->bad), pick(row->req, "req-n"),
                                       pick(row->cap, "cap-rp"), pick(row->target, "file:///a"), &r,
                                       &err);
    cr_expect_eq(rc, row->rc, "%s: got %s, want %s (%s)", label, chio_err_name(rc),
                 chio_err_name(row->rc), err.message);
    if (row->rc != 0) {
        cr_expect_null(r.receipt, "%s: an error carried a receipt", label);
        cr_expect_eq(signed_count(f->k), before, "%s: an error signed a receipt", label);
        cr_expect_eq(err.code, rc, "%s", label);
        cr_expect_str_eq(chio_error_code_name(rc), row->errname, "%s", label);
    } else if (rc == 0) {
        cr_expect_eq(r.verdict, row->verdict, "%s: %s (%s)", label, chio_code_name(r.code),
                     r.reason);
        cr_expect_eq(r.code, row->code, "%s: %s (%s)", label, chio_code_name(r.code), r.reason);
        cr_expect_eq(signed_count(f->k), before + 1, "%s", label);
        if (r.receipt != NULL)
            expect_signed(f, &r, row->verdict == CHIO_VERDICT_ALLOW ? "allow" : "deny",
                          row->verdict == CHIO_VERDICT_ALLOW ? NULL : chio_code_name(row->code),
                          label);
        else
            cr_expect_fail("%s: a decision without a receipt", label);
    }
    chio_response_destroy(&r);
    free(made);
    expect_still_serving(f, label);
}

Test(bad_input, resource_and_prompt_matrix)
{
    bi_fixture f;
    size_t i;

    fixture_open(&f);
    for (i = 0; i < sizeof(named_rows) / sizeof(named_rows[0]); i++)
        run_named_row(&f, i, &named_rows[i]);
    fixture_close(&f);
}

/* ---- receipts must stay readable by the library's own parser ----------------------------------
 */

/*
 * BUG: a receipt nests the call's arguments two levels down
 * (receipt > action > parameters), and a prompt get's three (parameters =
 * {"arguments": ..}), but the arguments are only held to
 * CHIO_JSON_MAX_DEPTH on their own. Arguments 127 or 128 levels deep (126
 * or 127 for a prompt) are therefore allowed, and the kernel signs and
 * commits a receipt 129-130 levels deep that chio_receipt_parse() - and so
 * `chio receipt verify`, `--receipt-db` audits and any third party using
 * libchio - refuses with CHIO_EJSON_DEPTH. The same holds for
 * chio_receipt_builder_set_parameters() / _set_metadata() + chio_receipt_sign().
 * Correct: either refuse such input up front (no receipt: the JSON depth
 * error, invalid_arguments) or sign receipts the parser reads. These rows
 * accept either fix.
 */
static const eval_row depth_bug_rows[] = {
    /* arguments: 125 + the row index levels */
    {.name = "args 125 deep (control)", .tool = "write", ALLOW},
    /* fixed: denied with a receipt that holds a summary and their hash. At
     * 126 the receipt would nest 128 levels: this parser reads that, chio's
     * (serde_json's recursion limit) does not, so it is denied too. */
    {.name = "args 126 deep", .tool = "write", DENY(CHIO_CODE_ARGUMENTS_REJECTED)},
    {.name = "args 127 deep", .tool = "write", DENY(CHIO_CODE_ARGUMENTS_REJECTED)},
    {.name = "args 128 deep", .tool = "write", DENY(CHIO_CODE_ARGUMENTS_REJECTED)},
};

static char *nested_array(size_t depth, size_t *len)
{
    return nest("[", "", "]", depth, len);
}

Test(bad_input, receipts_near_the_depth_limit_can_be_parsed_back)
{
    static const struct {
        const char *name;
        int metadata; /* 0: parameters, 1: metadata */
        size_t depth;
        int fits; /* the receipt nests at most 127 levels: signed */
    } builder_rows[] = {
        {"parameters 125 deep (control)", 0, 125, 1},
        {"parameters 126 deep", 0, 126, 0}, /* 128 levels: chio cannot read it */
        {"parameters 127 deep", 0, 127, 0}, /* BUG: see above */
        {"parameters 128 deep", 0, 128, 0}, /* BUG */
        {"metadata 126 deep (control)", 1, 126, 1},
        {"metadata 127 deep", 1, 127, 0},
        {"metadata 128 deep", 1, 128, 0}, /* BUG */
    };
    chio_keypair *kp = key07();
    uint8_t pub[32];
    bi_fixture f;
    size_t i;

    cr_assert_eq(chio_pubkey_from_hex(PUB07, 64, pub), 0);
    for (i = 0; i < sizeof(builder_rows) / sizeof(builder_rows[0]); i++) {
        chio_receipt_builder *b;
        chio_receipt *r = NULL;
        chio_error err;
        size_t len;
        char *json, label[96];
        int rc;

        snprintf(label, sizeof(label), "builder row %zu (%s)", i, builder_rows[i].name);
        if (builder_rows[i].metadata)
            json = nest("{\"m\":", "1", "}", builder_rows[i].depth, &len);
        else
            json = nested_array(builder_rows[i].depth, &len);
        cr_assert_eq(chio_receipt_builder_new(&b), 0);
        cr_assert_eq(chio_receipt_builder_set_capability_id(b, "cap-1"), 0);
        cr_assert_eq(chio_receipt_builder_set_tool(b, "srv", "read"), 0);
        cr_assert_eq(chio_receipt_builder_set_policy_hash(b, "policy-1"), 0);
        cr_assert_eq(chio_receipt_builder_set_decision(b, CHIO_VERDICT_ALLOW, NULL, NULL), 0);
        chio_error_init(&err);
        rc = builder_rows[i].metadata ? chio_receipt_builder_set_metadata(b, json, len, &err)
                                      : chio_receipt_builder_set_parameters(b, json, len, &err);
        if (rc == 0)
            rc = chio_receipt_sign(b, kp, &r, &err);
        if (rc == 0)
            expect_round_trip(r, pub, label);
        else
            cr_expect_eq(rc, CHIO_EJSON_DEPTH, "%s: %s (%s)", label, chio_err_name(rc),
                         err.message);
        cr_expect_eq(rc == 0, builder_rows[i].fits, "%s: %s", label,
                     rc == 0 ? "signed a receipt chio cannot parse" : "refused");
        chio_receipt_free(r);
        chio_receipt_builder_free(b);
        free(json);
    }
    chio_keypair_free(kp);

    fixture_open(&f);
    for (i = 0; i < sizeof(depth_bug_rows) / sizeof(depth_bug_rows[0]); i++) {
        eval_row row = depth_bug_rows[i];
        size_t len;
        char *args = nested_array(125 + i, &len);
        row.args = args;
        row.args_len = len;
        row.has_len = 1;
        run_eval_row(&f, i, &row);
        free(args);
    }
    /* prompts: parameters are {"arguments": ..}, one level more */
    for (i = 0; i < 4; i++) {
        size_t depth = 124 + i, len; /* 124: control; 125 (chio), 126, 127: BUG */
        /* objects: prompt arguments that are not one are invalid_request */
        char *args = nest("{\"a\":", "1", "}", depth, &len), name[64];
        chio_response r;
        chio_error err;
        int rc;

        snprintf(name, sizeof(name), "prompt args %zu deep", depth);
        chio_error_init(&err);
        chio_response_init(&r);
        rc = chio_kernel_get_prompt(f.k, f.bad, NULL, "cap-rp", "greet", args, len, &r, &err);
        cr_expect_eq(rc, 0, "%s: %s (%s)", name, chio_err_name(rc), err.message);
        if (depth == 124) {
            cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", name);
            expect_signed(&f, &r, "allow", NULL, name);
        } else if (rc == 0) { /* too deep for a receipt: denied with a summary */
            cr_expect_eq(r.code, CHIO_CODE_ARGUMENTS_REJECTED, "%s: %s", name,
                         chio_code_name(r.code));
            expect_signed(&f, &r, "deny", "arguments_rejected", name);
        }
        chio_response_destroy(&r);
        free(args);
        expect_still_serving(&f, name);
    }
    fixture_close(&f);
}

/*
 * BUG: the same for size. Arguments are held to CHIO_JSON_MAX_INPUT on their
 * own, but the receipt carries them plus about 900 bytes, so arguments a
 * little under 64 MiB are allowed and give a signed, committed receipt over
 * 64 MiB that chio_receipt_parse() refuses with CHIO_ETOOBIG (likewise
 * chio_receipt_builder_set_parameters() + chio_receipt_sign()). Correct:
 * refuse such input up front (CHIO_ETOOBIG, invalid_arguments, no receipt)
 * or keep receipts readable. Either fix passes. (About 600 MiB of memory and
 * a few seconds; 40 s under ASan.)
 */
static char *gen_just_under_limit(size_t *len)
{
    size_t n = CHIO_JSON_MAX_INPUT - 16;
    char *s = malloc(n + 1);

    cr_assert_not_null(s);
    memcpy(s, "{\"s\":\"", 6);
    memset(s + 6, 'x', n - 8);
    memcpy(s + n - 2, "\"}", 3);
    *len = n;
    return s;
}

Test(bad_input, receipts_near_the_size_limit_can_be_parsed_back)
{
    static const eval_row row = {.name = "args 64 MiB - 16 bytes",
                                 .tool = "write",
                                 .gen = gen_just_under_limit,
                                 DENY(CHIO_CODE_ARGUMENTS_REJECTED)}; /* fixed */
    chio_keypair *kp = key07();
    chio_receipt_builder *b;
    chio_receipt *r = NULL;
    chio_error err;
    uint8_t pub[32];
    bi_fixture f;
    size_t len;
    char *json = gen_just_under_limit(&len);
    int rc;

    cr_assert_eq(chio_pubkey_from_hex(PUB07, 64, pub), 0);
    cr_assert_eq(chio_receipt_builder_new(&b), 0);
    cr_assert_eq(chio_receipt_builder_set_capability_id(b, "cap-1"), 0);
    cr_assert_eq(chio_receipt_builder_set_tool(b, "srv", "read"), 0);
    cr_assert_eq(chio_receipt_builder_set_policy_hash(b, "policy-1"), 0);
    cr_assert_eq(chio_receipt_builder_set_decision(b, CHIO_VERDICT_ALLOW, NULL, NULL), 0);
    chio_error_init(&err);
    rc = chio_receipt_builder_set_parameters(b, json, len, &err);
    free(json);
    if (rc == 0)
        rc = chio_receipt_sign(b, kp, &r, &err);
    if (rc == 0)
        expect_round_trip(r, pub, "builder, parameters of 64 MiB - 16 bytes"); /* BUG */
    else
        cr_expect_eq(rc, CHIO_ETOOBIG, "builder: %s (%s)", chio_err_name(rc), err.message);
    chio_receipt_free(r);
    chio_receipt_builder_free(b);
    chio_keypair_free(kp);

    fixture_open(&f);
    run_eval_row(&f, 0, &row);
    fixture_close(&f);
}
