/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/normalize_text.c - text as a secret scanner should see it: invisible
 * format characters dropped and fullwidth or mathematical look-alikes
 * folded to ASCII (chio__text_fold), and one pass of the escapes text is
 * smuggled in undone (chio__text_unescape); plus the UTF-8 decoder the
 * other normalize files share.
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
    return 0;
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

size_t chio__text_fold(const char *s, size_t n, char *out)
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
        if ((a = ascii_fold(cp)) != 0) {
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

/* A "\uXXXX" (with its low surrogate), "\xHH", "&#DDD;" or "&#xHHH;"
 * escape at @s: 1 with the code point and the bytes it spans, else 0. */
static int escape_at(const char *s, size_t n, uint32_t *cp, size_t *used)
{
    long v, lo;
    size_t i, k;
    int hex;

    if (n >= 6 && s[0] == '\\' && s[1] == 'u' && (v = hex_run(s + 2, 4)) >= 0) {
        if (v >= 0xDC00 && v <= 0xDFFF)
            return 0;
        if (v >= 0xD800 && v <= 0xDBFF) {
            if (n < 12 || s[6] != '\\' || s[7] != 'u' || (lo = hex_run(s + 8, 4)) < 0xDC00 ||
                lo > 0xDFFF)
                return 0;
            v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
            *used = 12;
        } else {
            *used = 6;
        }
    } else if (n >= 4 && s[0] == '\\' && s[1] == 'x' && (v = hex_run(s + 2, 2)) >= 0) {
        *used = 4;
    } else if (n >= 3 && s[0] == '&' && s[1] == '#') {
        hex = n >= 4 && (s[2] == 'x' || s[2] == 'X');
        i = hex ? 3 : 2;
        for (v = 0, k = 0; i < n && k < 8; i++, k++) {
            int d = hex                                      ? chio__hex_value((unsigned char)s[i])
                    : chio__ascii_digit((unsigned char)s[i]) ? s[i] - '0'
                                                             : -1;
            if (d < 0)
                break;
            v = v * (hex ? 16 : 10) + d;
        }
        if (k == 0 || k == 8 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
            return 0;
        if (i < n && s[i] == ';')
            i++;
        *used = i;
    } else {
        return 0;
    }
    if (v == 0)
        return 0; /* no NUL */
    *cp = (uint32_t)v;
    return 1;
}

static size_t put_utf8(char *out, uint32_t cp)
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
        if (escape_at(s + i, n - i, &cp, &used)) {
            /* every escape spans at least as many bytes as its UTF-8 form,
             * so o never passes i and @out may be @s */
            char u[4];
            size_t k = put_utf8(u, cp);
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
