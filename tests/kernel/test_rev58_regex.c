/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev58_regex.c - review 17 of the constraints, L1:
 * escapes Rust's regex reads and that have an exact translation made a
 * regex_match grant deny every call: \t \n \r \f \v \a, \xHH and \x{H..}
 * (a code point), \A and \z (the text's start and end). They are now
 * read as chio reads them; \S, \W, \D (wider here than chio's Unicode
 * classes) and an escape of NUL or of a surrogate stay refused.
 */
#include <criterion/criterion.h>

#include "kernel/kernelutil.h"

#define NOW    1710000300u
#define RX(v)  "{\"type\":\"regex_match\",\"value\":\"" v "\"}"
#define ARG(v) "{\"s\":\"" v "\"}"

Test(rev58_regex, escapes_with_an_exact_reading_are_read_as_chio_reads_them)
{
    static const kt_row rows[] = {
        {RX("^\\\\t$"), ARG("\\t"), 1},
        {RX("^\\\\t$"), ARG("t"), 0},
        {RX("^a\\\\nb$"), ARG("a\\nb"), 1},
        {RX("^a\\\\nb$"), ARG("anb"), 0},
        {RX("^\\\\r\\\\f\\\\v\\\\a$"), ARG("\\r\\f\\u000b\\u0007"), 1},
        {RX("^\\\\x41$"), ARG("A"), 1},
        {RX("^\\\\x41$"), ARG("B"), 0},
        {RX("^\\\\x7f$"), ARG("\\u007f"), 1},
        /* \xHH past ASCII is the code point, as Rust's Unicode mode reads it */
        {RX("^\\\\xe9$"), ARG("\\u00e9"), 1},
        {RX("^\\\\xe9$"), ARG("\\u00c3\\u00a9"), 0},
        {RX("^\\\\x{e9}+$"), ARG("\\u00e9\\u00e9"), 1},
        {RX("^\\\\x{1F600}$"), ARG("\\ud83d\\ude00"), 1},
        {RX("^\\\\x{1F600}$"), ARG("x"), 0},
        /* a code point the ERE gives a meaning stays that character */
        {RX("^\\\\x2e$"), ARG("."), 1},
        {RX("^\\\\x2e$"), ARG("a"), 0},
        {RX("^\\\\x5c$"), ARG("\\\\"), 1},
        {RX("^\\\\x3c$"), ARG("<"), 1},
        {RX("^\\\\x{5B}$"), ARG("["), 1},
        {RX("^a\\\\x2a$"), ARG("aaaa"), 0},
        {RX("^a\\\\x2a$"), ARG("a*"), 1},
        /* the text's start and end */
        {RX("\\\\Aabc\\\\z"), ARG("abc"), 1},
        {RX("\\\\Aabc\\\\z"), ARG("xabc"), 0},
        {RX("\\\\Aabc\\\\z"), ARG("abc\\n"), 0},
        {RX("\\\\Aabc"), ARG("abcdef"), 1},
        /* still refused: every call denies */
        {RX("^\\\\S+$"), ARG("abc"), 0},
        {RX("^\\\\x00$"), ARG("a"), 0},
        {RX("^\\\\x{D800}$"), ARG("a"), 0},
        {RX("^\\\\x{110000}$"), ARG("a"), 0},
        {RX("^\\\\x{}$"), ARG("a"), 0},
        {RX("^\\\\x4$"), ARG("a"), 0},
        {RX("^\\\\x{000000041}$"), ARG("A"), 0},
    };

    kt_run_rows_at(NOW, rows, sizeof(rows) / sizeof(rows[0]));
}
