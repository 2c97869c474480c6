/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/json_parse.c - the strict JSON reader (RFC 8259 plus chio's rules).
 *
 * Owns the text -> chio_json_doc direction: a recursive-descent parser whose
 * recursion is bounded by CHIO_JSON_MAX_DEPTH. Children of the container
 * being parsed collect on two scratch stacks and are copied into the
 * document's arena when the container closes, so every array and object is
 * one contiguous allocation. Object members are sorted into canonical order
 * on close, which is also where duplicate keys are found.
 *
 * Number tokens are classified from their text: no '.', 'e' or 'E' and in
 * int64 range -> CHIO_JSON_INT; else in uint64 range -> CHIO_JSON_UINT;
 * anything else -> IEEE double (parsed in the "C" locale; infinities rejected).
 *
 * Calls only core helpers and libc. No shared mutable state: the "C" locale
 * object is created once under pthread_once.
 */
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include "internal.h"

typedef struct scratch_member {
    const char *key;
    uint32_t klen;
    size_t offset; /* where the key starts, for duplicate-key errors */
    chio_json value;
} scratch_member;

typedef struct parser {
    const unsigned char *start;
    const unsigned char *p;
    const unsigned char *end;
    chio_json_doc *doc;
    chio_error *err;
    chio_json *vals; /* scratch stack of array elements */
    size_t nvals, capvals;
    scratch_member *mems; /* scratch stack of object members */
    size_t nmems, capmems;
    chio_buf sbuf; /* decoded string bytes when a string has escapes */
    /* The scratch stacks start here: a typical receipt or argument object
     * parses without a heap allocation for them. */
    chio_json local_vals[32];
    scratch_member local_mems[32];
} parser;

static int parse_value(parser *ps, chio_json *out, int depth);

/* ---- errors ------------------------------------------------------------------ */

static size_t offset_of(const parser *ps, const unsigned char *at)
{
    return (size_t)(at - ps->start);
}

static int fail_at(parser *ps, int code, const unsigned char *at, const char *what)
{
    return chio__fail(ps->err, code, offset_of(ps, at), "%s at byte %zu: %s", chio_strerror(code),
                      offset_of(ps, at), what);
}

static int fail_oom(parser *ps)
{
    return chio__fail(ps->err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory while parsing JSON");
}

static int fail_unexpected(parser *ps, const char *expected)
{
    char msg[96];

    if (ps->p >= ps->end)
        return fail_at(ps, CHIO_EJSON_TRUNCATED, ps->p, expected);
    if (*ps->p >= 0x20 && *ps->p < 0x7f)
        snprintf(msg, sizeof(msg), "%s, found '%c'", expected, *ps->p);
    else
        snprintf(msg, sizeof(msg), "%s, found byte 0x%02x", expected, *ps->p);
    return fail_at(ps, CHIO_EJSON_SYNTAX, ps->p, msg);
}

/* A key that appears twice, quoted in the message: at most 64 bytes of it,
 * cut at a character boundary (the key is UTF-8: the parser checked it),
 * each control character (C0 with NUL, DEL, C1) shown as '?'. The message
 * reaches logs and terminals (chio receipt verify prints it), and the text
 * came from whoever wrote the JSON. */
static int fail_dupkey(parser *ps, size_t off, const char *key, size_t klen)
{
    const unsigned char *k = (const unsigned char *)key;
    char shown[65];
    size_t i = 0, o = 0;

    while (i < klen) {
        size_t n = k[i] < 0x80 ? 1 : k[i] < 0xe0 ? 2 : k[i] < 0xf0 ? 3 : 4;

        if (i + n > klen || o + n > sizeof(shown) - 1)
            break;
        if (k[i] < 0x20 || k[i] == 0x7f || (k[i] == 0xc2 && k[i + 1] <= 0x9f)) {
            shown[o++] = '?';
        } else {
            memcpy(shown + o, k + i, n);
            o += n;
        }
        i += n;
    }
    shown[o] = '\0';
    return chio__fail(ps->err, CHIO_EJSON_DUPKEY, off, "%s at byte %zu: key \"%s\" appears twice",
                      chio_strerror(CHIO_EJSON_DUPKEY), off, shown);
}

/* ---- lexing helpers ------------------------------------------------------------ */

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

/* Length of the valid UTF-8 sequence at @s (first byte >= 0x80), or 0.
 * Rejects overlong forms, UTF-16 surrogates and code points past U+10FFFF. */
static size_t utf8_seq_len(const unsigned char *s, const unsigned char *end)
{
    unsigned char c = s[0];
    size_t n, i;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the 2nd byte */

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* surrogates D800..DFFF */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else {
        return 0;
    }
    if ((size_t)(end - s) < n)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (i = 2; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

int chio__utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    size_t n;

    while (p < end) {
        if (*p < 0x80) {
            if (*p == 0)
                return 0;
            p++;
            continue;
        }
        n = utf8_seq_len(p, end);
        if (n == 0)
            return 0;
        p += n;
    }
    return 1;
}

void chio__utf8_repair(char *s)
{
    unsigned char *p = (unsigned char *)s, *end = p + strlen(s);
    size_t n;

    while (p < end) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        n = utf8_seq_len(p, end);
        if (n == 0)
            *p++ = '?'; /* a stray, invalid or cut-off byte */
        else
            p += n;
    }
}

static int hex4(const unsigned char *s, const unsigned char *end, unsigned *out)
{
    unsigned v = 0;
    int i;

    if (end - s < 4)
        return -1;
    for (i = 0; i < 4; i++) {
        unsigned char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static void put_utf8(chio_buf *b, unsigned cp)
{
    char t[4];

    if (cp < 0x80) {
        t[0] = (char)cp;
        chio__buf_append(b, t, 1);
    } else if (cp < 0x800) {
        t[0] = (char)(0xc0 | (cp >> 6));
        t[1] = (char)(0x80 | (cp & 0x3f));
        chio__buf_append(b, t, 2);
    } else if (cp < 0x10000) {
        t[0] = (char)(0xe0 | (cp >> 12));
        t[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        t[2] = (char)(0x80 | (cp & 0x3f));
        chio__buf_append(b, t, 3);
    } else {
        t[0] = (char)(0xf0 | (cp >> 18));
        t[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        t[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        t[3] = (char)(0x80 | (cp & 0x3f));
        chio__buf_append(b, t, 4);
    }
}

/* Decode one escape starting at the backslash; advances ps->p past it. */
static int parse_escape(parser *ps)
{
    const unsigned char *at = ps->p;
    unsigned cp, lo;

    if (ps->end - ps->p < 2)
        return fail_at(ps, CHIO_EJSON_TRUNCATED, ps->end, "input ends inside an escape");
    switch (ps->p[1]) {
    case '"':
        chio__buf_putc(&ps->sbuf, '"');
        break;
    case '\\':
        chio__buf_putc(&ps->sbuf, '\\');
        break;
    case '/':
        chio__buf_putc(&ps->sbuf, '/');
        break;
    case 'b':
        chio__buf_putc(&ps->sbuf, '\b');
        break;
    case 'f':
        chio__buf_putc(&ps->sbuf, '\f');
        break;
    case 'n':
        chio__buf_putc(&ps->sbuf, '\n');
        break;
    case 'r':
        chio__buf_putc(&ps->sbuf, '\r');
        break;
    case 't':
        chio__buf_putc(&ps->sbuf, '\t');
        break;
    case 'u':
        if (hex4(ps->p + 2, ps->end, &cp) != 0) {
            if (ps->end - ps->p < 6)
                return fail_at(ps, CHIO_EJSON_TRUNCATED, ps->end, "input ends inside \\u escape");
            return fail_at(ps, CHIO_EJSON_SYNTAX, at, "\\u must be followed by four hex digits");
        }
        ps->p += 6;
        if (cp >= 0xdc00 && cp <= 0xdfff)
            return fail_at(ps, CHIO_EJSON_SURROGATE, at, "low surrogate without a high surrogate");
        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' ||
                hex4(ps->p + 2, ps->end, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
                return fail_at(ps, CHIO_EJSON_SURROGATE, at,
                               "high surrogate not followed by a low surrogate");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            ps->p += 6;
        }
        put_utf8(&ps->sbuf, cp);
        return 0;
    default:
        return fail_at(ps, CHIO_EJSON_SYNTAX, at, "unknown escape sequence");
    }
    ps->p += 2;
    return 0;
}

/* Parse a string at ps->p (which is '"'); store an arena copy of its decoded
 * bytes. Raw spans are copied as they are; escapes go through ps->sbuf. */
static int parse_string(parser *ps, const char **out, uint32_t *outlen, int is_key)
{
    const unsigned char *open = ps->p;
    const unsigned char *seg;
    int escaped = 0, rc;
    size_t n, len;
    const char *src;
    char *dst;

    ps->p++;
    seg = ps->p;
    ps->sbuf.len = 0;
    for (;;) {
        if (ps->p >= ps->end)
            return fail_at(ps, CHIO_EJSON_TRUNCATED, ps->end, "input ends inside a string");
        unsigned char c = *ps->p;
        if (c == '"')
            break;
        if (c == '\\') {
            chio__buf_append(&ps->sbuf, seg, (size_t)(ps->p - seg));
            escaped = 1;
            rc = parse_escape(ps);
            if (rc != 0)
                return rc;
            seg = ps->p;
        } else if (c < 0x20) {
            return fail_at(ps, CHIO_EJSON_CONTROL, ps->p,
                           "control characters must be escaped inside strings");
        } else if (c < 0x80) {
            ps->p++;
        } else {
            n = utf8_seq_len(ps->p, ps->end);
            if (n == 0)
                return fail_at(ps, CHIO_EJSON_UTF8, ps->p, "invalid UTF-8 sequence in string");
            ps->p += n;
        }
    }
    if (escaped) {
        chio__buf_append(&ps->sbuf, seg, (size_t)(ps->p - seg));
        if (ps->sbuf.oom)
            return fail_oom(ps);
        src = ps->sbuf.data;
        len = ps->sbuf.len;
    } else {
        src = (const char *)seg;
        len = (size_t)(ps->p - seg);
    }
    ps->p++; /* closing quote */
    if (len > UINT32_MAX)
        return fail_at(ps, CHIO_ETOOBIG, open, "string too long");
    if (is_key && len != 0 && memchr(src, 0, len) != NULL)
        return fail_at(ps, CHIO_EJSON_NULKEY, open, "object keys must not contain NUL");
    dst = chio__arena_strndup(&ps->doc->arena, src, len);
    if (dst == NULL)
        return fail_oom(ps);
    *out = dst;
    *outlen = (uint32_t)len;
    return 0;
}

/* ---- numbers --------------------------------------------------------------------- */

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

double chio__strtod_c(const char *s)
{
    pthread_once(&c_locale_once, make_c_locale);
    if (c_locale != (locale_t)0)
        return strtod_l(s, NULL, c_locale);
    return strtod(s, NULL);
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int parse_number(parser *ps, chio_json *out)
{
    const unsigned char *tok = ps->p;
    const unsigned char *q = ps->p;
    int neg = 0, integral = 1, overflow = 0;
    uint64_t mag = 0;
    double d;

    if (*q == '-') {
        neg = 1;
        q++;
    }
    if (q >= ps->end) {
        ps->p = q;
        return fail_unexpected(ps, "expected a digit");
    }
    if (*q == '0') {
        q++;
    } else if (is_digit(*q)) {
        while (q < ps->end && is_digit(*q)) {
            unsigned dgt = (unsigned)(*q - '0');
            if (mag > (UINT64_MAX - dgt) / 10)
                overflow = 1;
            else
                mag = mag * 10 + dgt;
            q++;
        }
    } else {
        ps->p = q;
        return fail_unexpected(ps, "expected a digit");
    }
    if (q < ps->end && *q == '.') {
        integral = 0;
        q++;
        if (q >= ps->end || !is_digit(*q)) {
            ps->p = q;
            return fail_unexpected(ps, "expected a digit after '.'");
        }
        while (q < ps->end && is_digit(*q))
            q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        integral = 0;
        q++;
        if (q < ps->end && (*q == '+' || *q == '-'))
            q++;
        if (q >= ps->end || !is_digit(*q)) {
            ps->p = q;
            return fail_unexpected(ps, "expected a digit in the exponent");
        }
        while (q < ps->end && is_digit(*q))
            q++;
    }
    ps->p = q;

    if (integral && !overflow) {
        if (!neg) {
            if (mag <= (uint64_t)INT64_MAX) {
                chio__json_set_int(out, (int64_t)mag);
            } else {
                chio__json_set_uint(out, mag);
            }
            return 0;
        }
        if (mag <= (uint64_t)INT64_MAX) {
            chio__json_set_int(out, -(int64_t)mag); /* "-0" becomes integer 0 */
            /* ... marked as written "-0" (n is unused for numbers): it is
             * the canonical 0 as a value, but serde_json reads the token
             * as the float -0.0, which chio's unsigned fields refuse
             * (chio__field_u64; rev43_wire::minus_zero_is_no_unsigned_integer). */
            if (mag == 0)
                out->n = CHIO__JSON_MINUS_ZERO;
            return 0;
        }
        if (mag == (uint64_t)INT64_MAX + 1) {
            chio__json_set_int(out, INT64_MIN);
            return 0;
        }
    }

    /* Everything else is an IEEE double. */
    ps->sbuf.len = 0;
    chio__buf_append(&ps->sbuf, tok, (size_t)(q - tok));
    if (chio__buf_reserve(&ps->sbuf, 1) != 0)
        return fail_oom(ps);
    ps->sbuf.data[ps->sbuf.len] = '\0';
    d = chio__strtod_c(ps->sbuf.data);
    if (isinf(d) || isnan(d))
        return fail_at(ps, CHIO_EJSON_NUMBER, tok, "number does not fit an IEEE double");
    out->type = CHIO_JSON_DOUBLE;
    out->n = 0;
    out->cap = 0;
    out->v.d = d == 0.0 ? 0.0 : d; /* -0.0 is written as 0 */
    return 0;
}

/* ---- containers --------------------------------------------------------------- */

static int push_val(parser *ps, const chio_json *v)
{
    if (ps->nvals == ps->capvals) {
        size_t cap = ps->capvals * 2;
        chio_json *p = ps->vals == ps->local_vals ? malloc(cap * sizeof(*p))
                                                  : realloc(ps->vals, cap * sizeof(*p));
        if (p == NULL)
            return fail_oom(ps);
        if (ps->vals == ps->local_vals)
            memcpy(p, ps->local_vals, sizeof(ps->local_vals));
        ps->vals = p;
        ps->capvals = cap;
    }
    ps->vals[ps->nvals++] = *v;
    return 0;
}

static int push_mem(parser *ps, const scratch_member *m)
{
    if (ps->nmems == ps->capmems) {
        size_t cap = ps->capmems * 2;
        scratch_member *p = ps->mems == ps->local_mems ? malloc(cap * sizeof(*p))
                                                       : realloc(ps->mems, cap * sizeof(*p));
        if (p == NULL)
            return fail_oom(ps);
        if (ps->mems == ps->local_mems)
            memcpy(p, ps->local_mems, sizeof(ps->local_mems));
        ps->mems = p;
        ps->capmems = cap;
    }
    ps->mems[ps->nmems++] = *m;
    return 0;
}

static int parse_array(parser *ps, chio_json *out, int depth)
{
    size_t base = ps->nvals, n;
    chio_json tmp;
    int rc;

    ps->p++; /* '[' */
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        out->type = CHIO_JSON_ARRAY;
        out->n = out->cap = 0;
        out->v.items = NULL;
        return 0;
    }
    for (;;) {
        rc = parse_value(ps, &tmp, depth);
        if (rc != 0)
            return rc;
        rc = push_val(ps, &tmp);
        if (rc != 0)
            return rc;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            break;
        }
        return fail_unexpected(ps, "expected ',' or ']' in array");
    }
    n = ps->nvals - base;
    if (n > UINT32_MAX)
        return fail_at(ps, CHIO_ETOOBIG, ps->p, "array too long");
    out->type = CHIO_JSON_ARRAY;
    out->n = out->cap = (uint32_t)n;
    out->v.items = chio__arena_alloc(&ps->doc->arena, n * sizeof(chio_json));
    if (out->v.items == NULL)
        return fail_oom(ps);
    memcpy(out->v.items, ps->vals + base, n * sizeof(chio_json));
    ps->nvals = base;
    return 0;
}

static int scratch_cmp(const void *a, const void *b)
{
    const scratch_member *x = a, *y = b;
    return chio__json_key_cmp(x->key, x->klen, y->key, y->klen);
}

static void sort_members(scratch_member *m, size_t n)
{
    size_t i, j;

    if (n > 16) {
        qsort(m, n, sizeof(*m), scratch_cmp);
        return;
    }
    for (i = 1; i < n; i++) { /* insertion sort: objects are usually small */
        scratch_member t = m[i];
        for (j = i; j > 0 && scratch_cmp(&m[j - 1], &t) > 0; j--)
            m[j] = m[j - 1];
        m[j] = t;
    }
}

static int parse_object(parser *ps, chio_json *out, int depth)
{
    size_t base = ps->nmems, n, i;
    scratch_member m;
    chio_json_member *dst;
    int rc;

    ps->p++; /* '{' */
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        out->type = CHIO_JSON_OBJECT;
        out->n = out->cap = 0;
        out->v.members = NULL;
        return 0;
    }
    for (;;) {
        if (ps->p >= ps->end || *ps->p != '"')
            return fail_unexpected(ps, "expected a string key");
        m.offset = offset_of(ps, ps->p);
        rc = parse_string(ps, &m.key, &m.klen, 1);
        if (rc != 0)
            return rc;
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':')
            return fail_unexpected(ps, "expected ':' after object key");
        ps->p++;
        rc = parse_value(ps, &m.value, depth);
        if (rc != 0)
            return rc;
        rc = push_mem(ps, &m);
        if (rc != 0)
            return rc;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            skip_ws(ps);
            continue;
        }
        if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            break;
        }
        return fail_unexpected(ps, "expected ',' or '}' in object");
    }
    n = ps->nmems - base;
    if (n > UINT32_MAX)
        return fail_at(ps, CHIO_ETOOBIG, ps->p, "object too large");
    sort_members(ps->mems + base, n);
    for (i = 1; i < n; i++) {
        scratch_member *a = &ps->mems[base + i - 1], *b = &ps->mems[base + i];
        if (a->klen == b->klen && memcmp(a->key, b->key, a->klen) == 0) {
            size_t off = a->offset > b->offset ? a->offset : b->offset;
            return fail_dupkey(ps, off, b->key, b->klen);
        }
    }
    dst = chio__arena_alloc(&ps->doc->arena, n * sizeof(*dst));
    if (dst == NULL)
        return fail_oom(ps);
    for (i = 0; i < n; i++) {
        dst[i].key = ps->mems[base + i].key;
        dst[i].klen = ps->mems[base + i].klen;
        dst[i].value = ps->mems[base + i].value;
    }
    out->type = CHIO_JSON_OBJECT;
    out->n = out->cap = (uint32_t)n;
    out->v.members = dst;
    ps->nmems = base;
    return 0;
}

static int match_literal(parser *ps, const char *lit, size_t n)
{
    size_t have = (size_t)(ps->end - ps->p);

    if (have < n) {
        if (memcmp(ps->p, lit, have) == 0)
            return fail_at(ps, CHIO_EJSON_TRUNCATED, ps->end, "input ends inside a literal");
        return fail_unexpected(ps, "expected a JSON value");
    }
    if (memcmp(ps->p, lit, n) != 0)
        return fail_unexpected(ps, "expected a JSON value");
    ps->p += n;
    return 0;
}

static int parse_value(parser *ps, chio_json *out, int depth)
{
    int rc;

    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail_at(ps, CHIO_EJSON_TRUNCATED, ps->p, "expected a JSON value");
    out->n = 0;
    out->cap = 0;
    switch (*ps->p) {
    case '{':
    case '[':
        if (depth + 1 > CHIO_JSON_MAX_DEPTH)
            return fail_at(ps, CHIO_EJSON_DEPTH, ps->p,
                           "nesting exceeds " CHIO__STR(CHIO_JSON_MAX_DEPTH) " levels");
        return *ps->p == '{' ? parse_object(ps, out, depth + 1) : parse_array(ps, out, depth + 1);
    case '"':
        out->type = CHIO_JSON_STRING;
        return parse_string(ps, &out->v.s, &out->n, 0);
    case 't':
        rc = match_literal(ps, "true", 4);
        chio__json_set_bool(out, 1);
        return rc;
    case 'f':
        rc = match_literal(ps, "false", 5);
        chio__json_set_bool(out, 0);
        return rc;
    case 'n':
        rc = match_literal(ps, "null", 4);
        chio__json_set_null(out);
        return rc;
    default:
        if (*ps->p == '-' || is_digit(*ps->p))
            return parse_number(ps, out);
        return fail_unexpected(ps, "expected a JSON value");
    }
}

static int parse_doc(const char *text, size_t len, chio_json_doc *into, chio_json_doc **out,
                     chio_error *err)
{
    parser ps;
    int rc;

    if (out == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "chio_json_parse: out is NULL");
    *out = NULL;
    if (text == NULL && len != 0)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "chio_json_parse: text is NULL");
    if (len > CHIO_JSON_MAX_INPUT)
        return chio__fail(err, CHIO_ETOOBIG, CHIO_NO_OFFSET,
                          "JSON input of %zu bytes exceeds the %zu-byte limit", len,
                          CHIO_JSON_MAX_INPUT);

    memset(&ps, 0, offsetof(parser, local_vals));
    ps.vals = ps.local_vals;
    ps.capvals = sizeof(ps.local_vals) / sizeof(ps.local_vals[0]);
    ps.mems = ps.local_mems;
    ps.capmems = sizeof(ps.local_mems) / sizeof(ps.local_mems[0]);
    ps.start = ps.p = (const unsigned char *)(text ? text : "");
    ps.end = ps.start + len;
    ps.err = err;
    chio__buf_init(&ps.sbuf);
    /* Values take about twice the text (nodes, members, copied strings). */
    ps.doc = into != NULL ? into : chio__json_doc_new(2 * len + 512);
    if (ps.doc == NULL)
        return fail_oom(&ps);

    rc = parse_value(&ps, &ps.doc->root, 0);
    if (rc == 0) {
        skip_ws(&ps);
        if (ps.p != ps.end)
            rc = fail_at(&ps, CHIO_EJSON_TRAILING, ps.p, "unexpected data after the JSON value");
    }
    if (ps.vals != ps.local_vals)
        free(ps.vals);
    if (ps.mems != ps.local_mems)
        free(ps.mems);
    chio__buf_destroy(&ps.sbuf);
    if (rc != 0) {
        if (into == NULL)
            chio_json_doc_free(ps.doc);
        return rc;
    }
    *out = ps.doc;
    return 0;
}

int chio_json_parse(const char *text, size_t len, chio_json_doc **out, chio_error *err)
{
    return parse_doc(text, len, NULL, out, err);
}

int chio__json_parse_into(chio_json_doc *doc, const char *text, size_t len, chio_error *err)
{
    chio_json_doc *out;

    return parse_doc(text, len, doc, &out, err);
}
