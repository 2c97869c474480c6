/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/normalize_text.c - text as a secret scanner should see it: invisible
 * format characters dropped and every code point NFKC turns into one
 * ASCII character folded to it (fullwidth, mathematical, circled, ...:
 * chio__text_fold; with the Unicode spaces NFKC makes ' ' folded too,
 * chio__text_fold_spaces, the secret scanner's), and one pass of the
 * escapes text is smuggled in undone (chio__text_unescape); the look-alike dots and
 * slashes a path reader may take for '.', '/' or '\\' (chio__look_alike);
 * plus the UTF-8 decoder the other normalize files share.
 *
 * Core layer: calls nothing above it. No state, no locks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "normalize.h"

/* Default-ignorable and invisible format characters (plus NUL). */
static int invisible(uint32_t cp)
{
    return cp == 0 || cp == 0xAD || cp == 0x34F || cp == 0x61C || cp == 0x115F || cp == 0x1160 ||
           cp == 0x17B4 || cp == 0x17B5 || (cp >= 0x180B && cp <= 0x180F) ||
           (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2060 && cp <= 0x206F) || cp == 0x3164 || (cp >= 0xFE00 && cp <= 0xFE0F) ||
           cp == 0xFEFF || cp == 0xFFA0 || (cp >= 0xFFF0 && cp <= 0xFFF8) ||
           (cp >= 0x1BCA0 && cp <= 0x1BCA3) || (cp >= 0x1D173 && cp <= 0x1D17A) ||
           (cp >= 0xE0000 && cp <= 0xE0FFF);
}

/* The other code points NFKC turns into one printable ASCII character
 * (Unicode 14; generated with Python's unicodedata.normalize): circled,
 * squared and enclosed letters and digits (U+24B6 is 'A'), letterlike
 * symbols (U+2110 is 'I'), single-letter Roman numerals (U+2160 is 'I'),
 * superscripts and subscripts, modifier letters, small and vertical forms
 * of punctuation (U+FE63 is '-'), and more; not the Unicode spaces (read
 * as white space where it matters: chio__space_at). Each range maps
 * lo..hi to @to, or to @to + (cp - lo) when @step. Review 46: the AWS key
 * pattern missed "AKIA" + U+24BE + "OSFODNN7EXAMPLE", the key itself to a
 * tool that normalises it. Sorted by lo. */
static const struct {
    uint32_t lo, hi;
    char to;
    unsigned char step;
} nfkc_ascii[] = {
    {0xAA, 0xAA, 'a', 0},       {0xB2, 0xB3, '2', 1},       {0xB9, 0xB9, '1', 0},
    {0xBA, 0xBA, 'o', 0},       {0x17F, 0x17F, 's', 0},     {0x2B0, 0x2B0, 'h', 0},
    {0x2B2, 0x2B2, 'j', 0},     {0x2B3, 0x2B3, 'r', 0},     {0x2B7, 0x2B7, 'w', 0},
    {0x2B8, 0x2B8, 'y', 0},     {0x2E1, 0x2E1, 'l', 0},     {0x2E2, 0x2E2, 's', 0},
    {0x2E3, 0x2E3, 'x', 0},     {0x37E, 0x37E, ';', 0},     {0x1D2C, 0x1D2C, 'A', 0},
    {0x1D2E, 0x1D2E, 'B', 0},   {0x1D30, 0x1D31, 'D', 1},   {0x1D33, 0x1D3A, 'G', 1},
    {0x1D3C, 0x1D3C, 'O', 0},   {0x1D3E, 0x1D3E, 'P', 0},   {0x1D3F, 0x1D3F, 'R', 0},
    {0x1D40, 0x1D41, 'T', 1},   {0x1D42, 0x1D42, 'W', 0},   {0x1D43, 0x1D43, 'a', 0},
    {0x1D47, 0x1D47, 'b', 0},   {0x1D48, 0x1D49, 'd', 1},   {0x1D4D, 0x1D4D, 'g', 0},
    {0x1D4F, 0x1D4F, 'k', 0},   {0x1D50, 0x1D50, 'm', 0},   {0x1D52, 0x1D52, 'o', 0},
    {0x1D56, 0x1D56, 'p', 0},   {0x1D57, 0x1D58, 't', 1},   {0x1D5B, 0x1D5B, 'v', 0},
    {0x1D62, 0x1D62, 'i', 0},   {0x1D63, 0x1D63, 'r', 0},   {0x1D64, 0x1D65, 'u', 1},
    {0x1D9C, 0x1D9C, 'c', 0},   {0x1DA0, 0x1DA0, 'f', 0},   {0x1DBB, 0x1DBB, 'z', 0},
    {0x1FEF, 0x1FEF, '`', 0},   {0x2024, 0x2024, '.', 0},   {0x2070, 0x2070, '0', 0},
    {0x2071, 0x2071, 'i', 0},   {0x2074, 0x2079, '4', 1},   {0x207A, 0x207A, '+', 0},
    {0x207C, 0x207C, '=', 0},   {0x207D, 0x207E, '(', 1},   {0x207F, 0x207F, 'n', 0},
    {0x2080, 0x2089, '0', 1},   {0x208A, 0x208A, '+', 0},   {0x208C, 0x208C, '=', 0},
    {0x208D, 0x208E, '(', 1},   {0x2090, 0x2090, 'a', 0},   {0x2091, 0x2091, 'e', 0},
    {0x2092, 0x2092, 'o', 0},   {0x2093, 0x2093, 'x', 0},   {0x2095, 0x2095, 'h', 0},
    {0x2096, 0x2099, 'k', 1},   {0x209A, 0x209A, 'p', 0},   {0x209B, 0x209C, 's', 1},
    {0x2102, 0x2102, 'C', 0},   {0x210A, 0x210A, 'g', 0},   {0x210B, 0x210D, 'H', 0},
    {0x210E, 0x210E, 'h', 0},   {0x2110, 0x2111, 'I', 0},   {0x2112, 0x2112, 'L', 0},
    {0x2113, 0x2113, 'l', 0},   {0x2115, 0x2115, 'N', 0},   {0x2119, 0x211B, 'P', 1},
    {0x211C, 0x211D, 'R', 0},   {0x2124, 0x2124, 'Z', 0},   {0x2128, 0x2128, 'Z', 0},
    {0x212A, 0x212A, 'K', 0},   {0x212C, 0x212D, 'B', 1},   {0x212F, 0x212F, 'e', 0},
    {0x2130, 0x2131, 'E', 1},   {0x2133, 0x2133, 'M', 0},   {0x2134, 0x2134, 'o', 0},
    {0x2139, 0x2139, 'i', 0},   {0x2145, 0x2145, 'D', 0},   {0x2146, 0x2147, 'd', 1},
    {0x2148, 0x2149, 'i', 1},   {0x2160, 0x2160, 'I', 0},   {0x2164, 0x2164, 'V', 0},
    {0x2169, 0x2169, 'X', 0},   {0x216C, 0x216C, 'L', 0},   {0x216D, 0x216E, 'C', 1},
    {0x216F, 0x216F, 'M', 0},   {0x2170, 0x2170, 'i', 0},   {0x2174, 0x2174, 'v', 0},
    {0x2179, 0x2179, 'x', 0},   {0x217C, 0x217C, 'l', 0},   {0x217D, 0x217E, 'c', 1},
    {0x217F, 0x217F, 'm', 0},   {0x2460, 0x2468, '1', 1},   {0x24B6, 0x24CF, 'A', 1},
    {0x24D0, 0x24E9, 'a', 1},   {0x24EA, 0x24EA, '0', 0},   {0x2C7C, 0x2C7C, 'j', 0},
    {0x2C7D, 0x2C7D, 'V', 0},   {0xA7F2, 0xA7F2, 'C', 0},   {0xA7F3, 0xA7F3, 'F', 0},
    {0xA7F4, 0xA7F4, 'Q', 0},   {0xFB29, 0xFB29, '+', 0},   {0xFE10, 0xFE10, ',', 0},
    {0xFE13, 0xFE14, ':', 1},   {0xFE15, 0xFE15, '!', 0},   {0xFE16, 0xFE16, '?', 0},
    {0xFE33, 0xFE34, '_', 0},   {0xFE35, 0xFE36, '(', 1},   {0xFE37, 0xFE37, '{', 0},
    {0xFE38, 0xFE38, '}', 0},   {0xFE47, 0xFE47, '[', 0},   {0xFE48, 0xFE48, ']', 0},
    {0xFE4D, 0xFE4F, '_', 0},   {0xFE50, 0xFE50, ',', 0},   {0xFE52, 0xFE52, '.', 0},
    {0xFE54, 0xFE54, ';', 0},   {0xFE55, 0xFE55, ':', 0},   {0xFE56, 0xFE56, '?', 0},
    {0xFE57, 0xFE57, '!', 0},   {0xFE59, 0xFE5A, '(', 1},   {0xFE5B, 0xFE5B, '{', 0},
    {0xFE5C, 0xFE5C, '}', 0},   {0xFE5F, 0xFE5F, '#', 0},   {0xFE60, 0xFE60, '&', 0},
    {0xFE61, 0xFE62, '*', 1},   {0xFE63, 0xFE63, '-', 0},   {0xFE64, 0xFE64, '<', 0},
    {0xFE65, 0xFE65, '>', 0},   {0xFE66, 0xFE66, '=', 0},   {0xFE68, 0xFE68, '\\', 0},
    {0xFE69, 0xFE6A, '$', 1},   {0xFE6B, 0xFE6B, '@', 0},   {0x107A5, 0x107A5, 'q', 0},
    {0x1F12B, 0x1F12B, 'C', 0}, {0x1F12C, 0x1F12C, 'R', 0}, {0x1F130, 0x1F149, 'A', 1},
    {0x1FBF0, 0x1FBF9, '0', 1}};

/* The ASCII character nfkc_ascii maps @cp to, or 0 (a binary search). */
static int nfkc_table(uint32_t cp)
{
    size_t a = 0, b = sizeof(nfkc_ascii) / sizeof(nfkc_ascii[0]);

    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (cp < nfkc_ascii[m].lo)
            b = m;
        else if (cp > nfkc_ascii[m].hi)
            a = m + 1;
        else
            return nfkc_ascii[m].to + (nfkc_ascii[m].step ? (int)(cp - nfkc_ascii[m].lo) : 0);
    }
    return 0;
}

/* The ASCII character @cp stands for, or 0. */
static int ascii_fold(uint32_t cp)
{
    if (cp >= 0xFF01 && cp <= 0xFF5E)
        return (int)(cp - 0xFEE0); /* fullwidth ASCII */
    if (cp == 0x3000)
        return ' ';                       /* ideographic space */
    if (cp >= 0x1D400 && cp <= 0x1D6A3) { /* mathematical letters, 52 per style */
        unsigned i = (cp - 0x1D400) % 52;
        return i < 26 ? (int)('A' + i) : (int)('a' + i - 26);
    }
    if (cp >= 0x1D7CE && cp <= 0x1D7FF)
        return (int)('0' + (cp - 0x1D7CE) % 10); /* mathematical digits */
    return nfkc_table(cp);
}

uint32_t chio__utf8_decode(const unsigned char *s, size_t n, size_t *len)
{
    uint32_t cp;
    size_t k, i;

    *len = 1;
    if (s[0] < 0x80)
        return s[0];
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        k = 2;
        cp = s[0] & 0x1Fu;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        k = 3;
        cp = s[0] & 0x0Fu;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        k = 4;
        cp = s[0] & 0x07u;
    } else {
        return UINT32_MAX;
    }
    if (n < k)
        return UINT32_MAX;
    for (i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return UINT32_MAX;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if ((k == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return UINT32_MAX;
    *len = k;
    return cp;
}

/* The Unicode spaces NFKC turns into ' ' (U+00A0, U+2000..U+200A, U+202F,
 * U+205F; U+3000 is ascii_fold's), and U+1680, a space to Python's split()
 * and strip() that NFKC keeps. Only the secret scanner's reading folds
 * them (chio__text_fold_spaces): elsewhere they are white space, a word
 * break (chio__space_at), and a host or path holding one is not the one
 * with ' ' in its place. */
static int nfkc_space(uint32_t cp)
{
    return cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F ||
           cp == 0x205F;
}

static size_t fold_text(const char *s, size_t n, int spaces, char *out)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, o = 0;

    while (i < n) {
        size_t len;
        uint32_t cp = chio__utf8_decode(u + i, n - i, &len);
        int a;
        if (cp == UINT32_MAX) {
            out[o++] = s[i++];
            continue;
        }
        if (invisible(cp)) {
            i += len;
            continue;
        }
        a = ascii_fold(cp);
        if (a == 0 && spaces && nfkc_space(cp))
            a = ' ';
        if (a != 0) {
            out[o++] = (char)a;
            i += len;
            continue;
        }
        memmove(out + o, s + i, len); /* out may be s: o <= i */
        o += len;
        i += len;
    }
    out[o] = '\0';
    return o;
}

size_t chio__text_fold(const char *s, size_t n, char *out)
{
    return fold_text(s, n, 0, out);
}

size_t chio__text_fold_spaces(const char *s, size_t n, char *out)
{
    return fold_text(s, n, 1, out);
}

/* @k hex digits at @s as a number, or -1. */
static long hex_run(const char *s, size_t k)
{
    long v = 0;
    size_t i;

    for (i = 0; i < k; i++) {
        int d = chio__hex_value((unsigned char)s[i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* The code point of the UTF-16 unit @v at @s (with its low surrogate, a
 * second unit written the same way, @intro bytes then 4 hex digits, when
 * @v is a high one), the bytes used in *@used (@one for one unit): 1, or
 * 0 for a lone surrogate. */
static int utf16_at(const char *s, size_t n, const char *intro, size_t one, long v, uint32_t *cp,
                    size_t *used)
{
    size_t k = strlen(intro);
    long lo;

    if (v >= 0xDC00 && v <= 0xDFFF)
        return 0;
    if (v >= 0xD800 && v <= 0xDBFF) {
        if (n < 2 * one || memcmp(s + one, intro, k) != 0 ||
            (lo = hex_run(s + one + k, 4)) < 0xDC00 || lo > 0xDFFF)
            return 0;
        v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
        *used = 2 * one;
    } else {
        *used = one;
    }
    *cp = (uint32_t)v;
    return 1;
}

/* Is @c an octal digit? */
static int octal(char c)
{
    return c >= '0' && c <= '7';
}

/* "\u{H...}" (JavaScript, Rust: hex digits, leading zeros as many as
 * JavaScript takes, up to 64), and Perl's "\x{H...}" and "\o{N...}"
 * (@base 8; review 17 F3), at @s: its value and the bytes it spans, or
 * -1. */
static long braced_at(const char *s, size_t n, int base, size_t *used)
{
    long v = 0;
    size_t i;

    for (i = 3; i < n && i < 67; i++) {
        int d = base == 16 ? chio__hex_value((unsigned char)s[i]) : octal(s[i]) ? s[i] - '0' : -1;
        if (d < 0)
            break;
        v = v * base + d;
        if (v > 0x10FFFF)
            return -1;
    }
    if (i == 3 || i == n || s[i] != '}')
        return -1;
    *used = i + 1;
    return v;
}

/* "&#DDD;" or "&#xHHH;" (";" optional) at @s: its value and the bytes it
 * spans, or -1. */
static long reference_at(const char *s, size_t n, size_t *used)
{
    int hex = n >= 4 && (s[2] == 'x' || s[2] == 'X');
    size_t i = hex ? 3 : 2, k;
    long v;

    for (v = 0, k = 0; i < n && k < 8; i++, k++) {
        int d = hex                                      ? chio__hex_value((unsigned char)s[i])
                : chio__ascii_digit((unsigned char)s[i]) ? s[i] - '0'
                                                         : -1;
        if (d < 0)
            break;
        v = v * (hex ? 16 : 10) + d;
    }
    if (k == 0 || k == 8)
        return -1;
    if (i < n && s[i] == ';')
        i++;
    *used = i;
    return v;
}

/* An escape at @s: "\uXXXX" (with its low surrogate), "\u{H...}",
 * "\x{H...}", "\o{N...}", "%uXXXX" (with its low surrogate), "\xHH", bash's
 * "\uH" to "\uHHH" and "\UH" to "\UHHHHHHHH" (and so "\UXXXXXXXX"), "\NNN" (three
 * octal digits: a byte, as C, printf %b and bash read it; one or two:
 * that character), "&#DDD;" or
 * "&#xHHH;". 1 with the code point and the bytes it spans, 2 with a byte
 * (an octal escape past 0x7F, written as that byte: "\303\251" is "é" in
 * UTF-8), else 0. */
static int escape_at(const char *s, size_t n, uint32_t *cp, size_t *used)
{
    long v = -1;

    if (n >= 6 && s[0] == '\\' && s[1] == 'u' && (v = hex_run(s + 2, 4)) >= 0) {
        if (!utf16_at(s, n, "\\u", 6, v, cp, used))
            return 0;
        v = (long)*cp;
    } else if (n >= 6 && s[0] == '%' && (s[1] == 'u' || s[1] == 'U') &&
               (v = hex_run(s + 2, 4)) >= 0) {
        if (!utf16_at(s, n, s[1] == 'u' ? "%u" : "%U", 6, v, cp, used))
            return 0;
        v = (long)*cp;
    } else if (n >= 5 && s[0] == '\\' && (s[1] == 'u' || s[1] == 'x') && s[2] == '{') {
        v = braced_at(s, n, 16, used);
    } else if (n >= 5 && s[0] == '\\' && s[1] == 'o' && s[2] == '{') {
        v = braced_at(s, n, 8, used);
    } else if (n >= 4 && s[0] == '\\' && s[1] == 'x' && (v = hex_run(s + 2, 2)) >= 0) {
        *used = 4;
    } else if (n >= 3 && s[0] == '\\' && (s[1] == 'u' || s[1] == 'U') &&
               chio__hex_value((unsigned char)s[2]) >= 0) {
        /* bash's $'..', printf %b and echo -e: "\u" takes one to four hex
         * digits, "\U" one to eight ("\u41" is 'A'; review 19 guards F4) */
        size_t i, max = s[1] == 'u' ? 4 : 8;
        for (v = 0, i = 2; i < n && i < 2 + max && chio__hex_value((unsigned char)s[i]) >= 0; i++)
            if ((v = v * 16 + chio__hex_value((unsigned char)s[i])) > 0x10FFFF)
                return 0;
        *used = i;
    } else if (n >= 4 && s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && octal(s[2]) && octal(s[3])) {
        v = (s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0');
        *used = 4;
        if (v >= 0x80) {
            *cp = (uint32_t)v;
            return 2;
        }
    } else if (n >= 2 && s[0] == '\\' && octal(s[1])) {
        /* one or two octal digits ("\67" is '7' to C, Python and sloppy
         * JavaScript; review 14) */
        v = s[1] - '0';
        *used = 2;
        if (n >= 3 && octal(s[2])) {
            v = v * 8 + (s[2] - '0');
            *used = 3;
        }
    } else if (n >= 3 && s[0] == '&' && s[1] == '#') {
        v = reference_at(s, n, used);
    }
    if (v <= 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0; /* none, a NUL, or no code point */
    *cp = (uint32_t)v;
    return 1;
}

size_t chio__utf8_encode(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t chio__text_unescape(const char *s, size_t n, char *out)
{
    size_t i = 0, o = 0;

    while (i < n) {
        uint32_t cp;
        size_t used;
        int e = escape_at(s + i, n - i, &cp, &used);
        if (e != 0) {
            /* every escape spans at least as many bytes as its UTF-8 form,
             * so o never passes i and @out may be @s */
            char u[4];
            size_t k = 1;
            if (e == 2)
                u[0] = (char)cp; /* a byte an octal escape names */
            else
                k = chio__utf8_encode(u, cp);
            memcpy(out + o, u, k);
            o += k;
            i += used;
        } else {
            out[o++] = s[i++];
        }
    }
    out[o] = '\0';
    return o;
}

/* ---- look-alike dots and slashes ------------------------------------------------------------ */

/* What a reader may take for dots, a slash or a backslash: every code
 * point NFKC turns into dots, slashes or backslashes only (U+FF0E, U+FE52,
 * U+2024, U+2025, U+FE30, U+2026, U+FE19, U+FF0F, U+FF3C, U+FE68), and
 * those Windows' best-fit maps to '/' or '\\': U+2215, U+2044, U+2216
 * (code page 1252), U+00A5 (932), U+20A9 (949) (review 46). Each entry
 * starts with a byte look_alike_lead() names. */
static const struct {
    unsigned char b[3];
    unsigned char len;  /* bytes of b used: 2 or 3 */
    unsigned char sign; /* a currency sign: a value holding one is no path for it */
    const char *as;     /* never longer than the bytes it replaces */
} look_alikes[] = {
    {{0xef, 0xbc, 0x8e}, 3, 0, "."},   {{0xef, 0xb9, 0x92}, 3, 0, "."},
    {{0xe2, 0x80, 0xa4}, 3, 0, "."},   {{0xe2, 0x80, 0xa5}, 3, 0, ".."},
    {{0xef, 0xb8, 0xb0}, 3, 0, ".."},  {{0xe2, 0x80, 0xa6}, 3, 0, "..."},
    {{0xef, 0xb8, 0x99}, 3, 0, "..."}, {{0xef, 0xbc, 0x8f}, 3, 0, "/"},
    {{0xef, 0xbc, 0xbc}, 3, 0, "\\"},  {{0xef, 0xb9, 0xa8}, 3, 0, "\\"},
    {{0xe2, 0x88, 0x95}, 3, 0, "/"},   {{0xe2, 0x81, 0x84}, 3, 0, "/"},
    {{0xe2, 0x88, 0x96}, 3, 0, "\\"},  {{0xc2, 0xa5, 0x00}, 2, 1, "\\"},
    {{0xe2, 0x82, 0xa9}, 3, 1, "\\"},
};

/* Can a look-alike start with the byte @c (0xc2, 0xe2 or 0xef)? */
static int look_alike_lead(unsigned char c)
{
    return c == 0xc2 || c == 0xe2 || c == 0xef;
}

/* The ASCII text the look-alike at @s stands for, or NULL; its length in
 * bytes in *@len. */
const char *chio__look_alike(const char *s, size_t n, size_t *len)
{
    size_t i;

    *len = 0;
    if (n < 2 || !look_alike_lead((unsigned char)s[0]))
        return NULL; /* most bytes: no table entry starts with them */
    for (i = 0; i < sizeof(look_alikes) / sizeof(look_alikes[0]); i++)
        if (n >= look_alikes[i].len && memcmp(s, look_alikes[i].b, look_alikes[i].len) == 0) {
            *len = look_alikes[i].len;
            return look_alikes[i].as;
        }
    *len = 0;
    return NULL;
}

/* Does @s hold a look-alike (not a currency sign: "Total: \u00a5100" is a
 * price; it is read as '\\' in a value that is a path for another reason)? */
int chio__has_look_alike(const char *s, size_t n)
{
    size_t i, k;

    for (i = 0; i + 2 <= n; i++)
        for (k = 0; look_alike_lead((unsigned char)s[i]) &&
                    k < sizeof(look_alikes) / sizeof(look_alikes[0]);
             k++)
            if (!look_alikes[k].sign && n - i >= look_alikes[k].len &&
                memcmp(s + i, look_alikes[k].b, look_alikes[k].len) == 0)
                return 1;
    return 0;
}

/* @s with every look-alike replaced by its ASCII text, into @out (room for
 * @n + 1; may be @s: the output never runs ahead of the input); returns
 * the new length. */
size_t chio__fold_look_alikes(const char *s, size_t n, char *out)
{
    size_t i = 0, o = 0, k;

    while (i < n) {
        size_t used;
        const char *as = chio__look_alike(s + i, n - i, &used);
        if (as == NULL) {
            out[o++] = s[i++];
            continue;
        }
        k = strlen(as);
        memcpy(out + o, as, k);
        o += k;
        i += used;
    }
    out[o] = '\0';
    return o;
}
