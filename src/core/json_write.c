/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/json_write.c - the canonical JSON writer (spec/wire-format.md s.1).
 *
 * Owns the chio_json -> bytes direction. Objects arrive already sorted
 * (see json_value.c), so writing is one linear pass: no whitespace, minimal
 * string escaping (plus \u00xx for U+007F..U+009F), integers verbatim and
 * doubles in ECMAScript Number::toString form. Recursion depth is bounded
 * by the documents we build or parse (CHIO_JSON_MAX_DEPTH). Also
 * chio_json_write_string(): the same string escaping for one string of a
 * caller's own (the CLI's and the examples' JSON output). Calls only core
 * helpers and libc; no shared state.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char hexdigits[] = "0123456789abcdef";

/* ---- numbers ---------------------------------------------------------------------- */

/* Whether the @k digits d1.d2.. * 10^@e10 parse back (C locale) to @x. */
static int round_trips(double x, const char *digits, int k, int e10)
{
    char probe[48];

    snprintf(probe, sizeof(probe), "%c.%.*se%d", digits[0], k - 1, digits + 1, e10);
    return chio__strtod_c(probe) == x;
}

/* Add one unit in the last place to the @k digits (e10 grows on a carry out
 * of the first digit: 9.99 -> 1.00e+1). */
static void bump_digits(char *digits, int k, int *e10)
{
    int i = k - 1;

    while (i >= 0 && digits[i] == '9')
        digits[i--] = '0';
    if (i >= 0) {
        digits[i]++;
        return;
    }
    digits[0] = '1';
    (*e10)++;
}

/* Shortest decimal digits (no leading/trailing zeros) that round-trip to
 * @x > 0, and the ECMAScript exponent n with x = 0.d1d2.. * 10^n.
 *
 * At each precision the nearest candidate (printf's correctly rounded one)
 * is tried first. When @x is a power of two its lower neighbour is twice as
 * close as its upper one, so the nearest candidate can lie just below the
 * (narrower) lower half of the round-trip interval while the next one up
 * still lies inside the (wider) upper half: that one is then the shortest
 * round-trip form Number::toString picks (2^-24 -> 5.960464477539063e-8,
 * not 5.9604644775390625e-8). A candidate above @x that fails leaves no
 * other at that precision, so only the step up is ever tried, and only for
 * powers of two (subnormal ones included: the step up then just fails). */
static int shortest_digits(double x, char digits[24], int *n_out)
{
    char tmp[40], up[24];
    int prec, k = 0, e10 = 0, eup, pow2;

    pow2 = frexp(x, &eup) == 0.5; /* elsewhere the interval is symmetric */

    for (prec = 1; prec <= 17; prec++) {
        const char *q;
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, x);
        /* Collect the mantissa digits, skipping the (locale's) decimal point. */
        k = 0;
        for (q = tmp; *q && *q != 'e'; q++)
            if (*q >= '0' && *q <= '9')
                digits[k++] = *q;
        if (*q != 'e')
            return -1;
        e10 = atoi(q + 1);
        /* Rebuild it with a '.' and parse it back in the C locale. */
        if (round_trips(x, digits, k, e10))
            break;
        if (!pow2)
            continue;
        memcpy(up, digits, (size_t)k);
        eup = e10;
        bump_digits(up, k, &eup);
        if (round_trips(x, up, k, eup)) {
            memcpy(digits, up, (size_t)k);
            e10 = eup;
            break;
        }
    }
    while (k > 1 && digits[k - 1] == '0')
        k--;
    digits[k] = '\0';
    *n_out = e10 + 1;
    return k;
}

size_t chio__fmt_double(double d, char out[32])
{
    char digits[24];
    size_t o = 0;
    int k, n, i, e;

    if (d == 0.0 || !isfinite(d)) { /* -0 prints as 0; non-finite never reaches here */
        out[0] = '0';
        out[1] = '\0';
        return 1;
    }
    if (d < 0) {
        out[o++] = '-';
        d = -d;
    }
    k = shortest_digits(d, digits, &n);
    if (k <= 0) {
        out[0] = '0';
        out[1] = '\0';
        return 1;
    }
    if (k <= n && n <= 21) {
        memcpy(out + o, digits, (size_t)k);
        o += (size_t)k;
        for (i = 0; i < n - k; i++)
            out[o++] = '0';
    } else if (0 < n && n <= 21) {
        memcpy(out + o, digits, (size_t)n);
        o += (size_t)n;
        out[o++] = '.';
        memcpy(out + o, digits + n, (size_t)(k - n));
        o += (size_t)(k - n);
    } else if (-6 < n && n <= 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (i = 0; i < -n; i++)
            out[o++] = '0';
        memcpy(out + o, digits, (size_t)k);
        o += (size_t)k;
    } else {
        out[o++] = digits[0];
        if (k > 1) {
            out[o++] = '.';
            memcpy(out + o, digits + 1, (size_t)(k - 1));
            o += (size_t)(k - 1);
        }
        e = n - 1;
        o += (size_t)snprintf(out + o, 32 - o, "e%c%d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    }
    out[o] = '\0';
    return o;
}

/* ---- strings ----------------------------------------------------------------------- */

void chio__json_write_string(chio_buf *b, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run = 0;
    char esc[6] = {'\\', 'u', '0', '0', 0, 0};

    chio__buf_reserve(b, len + 2);
    chio__buf_putc(b, '"');
    while (i < len) {
        unsigned char c = s[i];
        const char *rep = NULL;
        size_t replen = 2, skip = 1;

        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f && c != 0xc2) {
            i++;
            continue;
        }
        switch (c) {
        case '"':
            rep = "\\\"";
            break;
        case '\\':
            rep = "\\\\";
            break;
        case '\b':
            rep = "\\b";
            break;
        case '\f':
            rep = "\\f";
            break;
        case '\n':
            rep = "\\n";
            break;
        case '\r':
            rep = "\\r";
            break;
        case '\t':
            rep = "\\t";
            break;
        case 0xc2: /* U+0080..U+009F are C2 80..C2 9F in UTF-8 */
            if (i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f) {
                esc[4] = hexdigits[(s[i + 1] >> 4) & 0xf];
                esc[5] = hexdigits[s[i + 1] & 0xf];
                rep = esc;
                replen = 6;
                skip = 2;
            }
            break;
        default: /* other C0 controls and U+007F */
            esc[4] = hexdigits[c >> 4];
            esc[5] = hexdigits[c & 0xf];
            rep = esc;
            replen = 6;
            break;
        }
        if (rep == NULL) {
            i++;
            continue;
        }
        chio__buf_append(b, s + run, i - run);
        chio__buf_append(b, rep, replen);
        i += skip;
        run = i;
    }
    chio__buf_append(b, s + run, len - run);
    chio__buf_putc(b, '"');
}

/* ---- values --------------------------------------------------------------------------- */

static void write_member(chio_buf *b, const chio_json_member *m)
{
    chio__json_write_string(b, m->key, m->klen);
    chio__buf_putc(b, ':');
    chio__json_write(b, &m->value);
}

void chio__json_write(chio_buf *b, const chio_json *v)
{
    char num[32];
    uint32_t i;

    switch (v->type) {
    case CHIO_JSON_NULL:
        chio__buf_append(b, "null", 4);
        break;
    case CHIO_JSON_BOOL:
        if (v->v.b)
            chio__buf_append(b, "true", 4);
        else
            chio__buf_append(b, "false", 5);
        break;
    case CHIO_JSON_INT:
        chio__buf_append(b, num, (size_t)snprintf(num, sizeof(num), "%lld", (long long)v->v.i));
        break;
    case CHIO_JSON_UINT:
        chio__buf_append(b, num,
                         (size_t)snprintf(num, sizeof(num), "%llu", (unsigned long long)v->v.u));
        break;
    case CHIO_JSON_DOUBLE:
        chio__buf_append(b, num, chio__fmt_double(v->v.d, num));
        break;
    case CHIO_JSON_STRING:
        chio__json_write_string(b, v->v.s, v->n);
        break;
    case CHIO_JSON_ARRAY:
        chio__buf_putc(b, '[');
        for (i = 0; i < v->n; i++) {
            if (i)
                chio__buf_putc(b, ',');
            chio__json_write(b, &v->v.items[i]);
        }
        chio__buf_putc(b, ']');
        break;
    case CHIO_JSON_OBJECT:
        chio__buf_putc(b, '{');
        for (i = 0; i < v->n; i++) {
            if (i)
                chio__buf_putc(b, ',');
            write_member(b, &v->v.members[i]);
        }
        chio__buf_putc(b, '}');
        break;
    }
}

void chio__json_write_merged(chio_buf *b, const chio_json *obj, const chio_json_member *extra,
                             size_t nextra)
{
    uint32_t i = 0;
    size_t j = 0;
    int first = 1;

    chio__buf_putc(b, '{');
    while (i < obj->n || j < nextra) {
        const chio_json_member *m;
        if (j == nextra) {
            m = &obj->v.members[i++];
        } else if (i == obj->n) {
            m = &extra[j++];
        } else {
            int c = chio__json_key_cmp(obj->v.members[i].key, obj->v.members[i].klen, extra[j].key,
                                       extra[j].klen);
            if (c == 0)
                i++; /* the extra member replaces the object's */
            m = c < 0 ? &obj->v.members[i++] : &extra[j++];
        }
        if (!first)
            chio__buf_putc(b, ',');
        first = 0;
        write_member(b, m);
    }
    chio__buf_putc(b, '}');
}

void chio__json_write_except(chio_buf *b, const chio_json *obj, const char *const *skip,
                             size_t nskip)
{
    uint32_t i;
    size_t j;
    int first = 1;

    chio__buf_putc(b, '{');
    for (i = 0; i < obj->n; i++) {
        const chio_json_member *m = &obj->v.members[i];
        for (j = 0; j < nskip; j++)
            if (strlen(skip[j]) == m->klen && memcmp(skip[j], m->key, m->klen) == 0)
                break;
        if (j < nskip)
            continue;
        if (!first)
            chio__buf_putc(b, ',');
        first = 0;
        write_member(b, m);
    }
    chio__buf_putc(b, '}');
}

int chio_json_write_canonical(const chio_json *v, char **out, size_t *out_len)
{
    chio_buf b;

    if (out == NULL)
        return CHIO_EINVAL;
    *out = NULL;
    if (out_len)
        *out_len = 0;
    if (v == NULL)
        return CHIO_EINVAL;
    chio__buf_init(&b);
    chio__json_write(&b, v);
    *out = chio__buf_detach(&b, out_len);
    return *out ? 0 : CHIO_ENOMEM;
}

int chio_json_canonicalize(const char *text, size_t len, char **out, size_t *out_len,
                           chio_error *err)
{
    chio_json_doc *doc;
    int rc;

    if (out == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "chio_json_canonicalize: out is NULL");
    *out = NULL;
    if (out_len)
        *out_len = 0;
    /* The tree lives only in this call: the thread's scratch document
     * (no allocation in the steady state; its first block is capped, so
     * an oversized @len is refused by the parse, not allocated), the
     * output sized from the input (canonical text is rarely longer). */
    doc = chio__json_doc_scratch(2 * len + 512);
    if (doc == NULL)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    rc = chio__json_parse_into(doc, text, len, err);
    if (rc == 0) {
        chio_buf b;
        chio__buf_init(&b);
        (void)chio__buf_reserve(&b, len + 16);
        chio__json_write(&b, chio_json_root(doc));
        *out = chio__buf_detach(&b, out_len);
        if (*out == NULL)
            rc = chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET,
                            "out of memory writing canonical JSON");
    }
    chio__json_doc_scratch_done(doc);
    return rc;
}

/* ---- a lone string ---------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence that starts at s[i] (a byte >= 0x80),
 * or 0 when none does. */
static size_t seq_at(const char *s, size_t len, size_t i)
{
    size_t n;

    for (n = 2; n <= 4 && i + n <= len; n++)
        if (chio__utf8_valid(s + i, n))
            return n;
    return 0;
}

int chio_json_write_string(const char *s, size_t len, char **out, size_t *out_len)
{
    static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */
    chio_buf b, fixed;
    size_t i, n;
    int repairing = 0;

    if (out == NULL)
        return CHIO_EINVAL;
    *out = NULL;
    if (out_len)
        *out_len = 0;
    if (s == NULL && len > 0)
        return CHIO_EINVAL;
    if (s == NULL)
        s = "";
    chio__buf_init(&b);
    chio__buf_init(&fixed);
    /* Repair first (only when needed), then escape as canonical JSON does. */
    for (i = 0; i < len; i += n) {
        n = (unsigned char)s[i] < 0x80 ? 1 : seq_at(s, len, i);
        if (n > 0 && !repairing)
            continue;
        if (!repairing)
            chio__buf_append(&fixed, s, i); /* the valid prefix */
        repairing = 1;
        if (n == 0) {
            chio__buf_append(&fixed, replacement, 3);
            n = 1;
        } else {
            chio__buf_append(&fixed, s + i, n);
        }
    }
    if (fixed.oom) {
        chio__buf_destroy(&fixed);
        return CHIO_ENOMEM;
    }
    chio__json_write_string(&b, repairing ? fixed.data : s, repairing ? fixed.len : len);
    chio__buf_destroy(&fixed);
    *out = chio__buf_detach(&b, out_len);
    return *out ? 0 : CHIO_ENOMEM;
}
