/* SPDX-License-Identifier: Apache-2.0 */
/*
 * svc/svc_buf.c - see svc_buf.h. Owns nothing but the buffers it grows.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chio/error.h"
#include "chio/json.h"
#include "svc_buf.h"

void svc_buf_add(svc_buf *b, const char *s, size_t n)
{
    size_t cap;
    char *p;

    if (b->oom)
        return;
    if (n > SIZE_MAX - b->len - 1) {
        b->oom = 1;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void svc_buf_puts(svc_buf *b, const char *s)
{
    svc_buf_add(b, s, strlen(s));
}

void svc_buf_printf(svc_buf *b, const char *fmt, ...)
{
    char tmp[512], *big = NULL;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof(tmp)) {
        svc_buf_add(b, tmp, (size_t)n);
        return;
    }
    va_start(ap, fmt);
    n = n < 0 ? -1 : vasprintf(&big, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    svc_buf_add(b, big, (size_t)n);
    free(big);
}

void svc_buf_json_string(svc_buf *b, const char *s, size_t n)
{
    char *out = NULL;
    size_t len = 0;

    if (chio_json_write_string(s ? s : "", s ? n : 0, &out, &len) != 0) {
        b->oom = 1;
        return;
    }
    svc_buf_add(b, out, len);
    chio_free(out);
}

void svc_buf_json_cstr(svc_buf *b, const char *s)
{
    svc_buf_json_string(b, s, s ? strlen(s) : 0);
}

/* Length of the well-formed UTF-8 character at @s (1 to 4), 0 when it is
 * not one (overlong forms, surrogates and values past U+10FFFF too). */
static size_t utf8_char_len(const unsigned char *s)
{
    size_t n, i;
    uint32_t cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2, cp = s[0] & 0x1fu;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3, cp = s[0] & 0x0fu;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4, cp = s[0] & 0x07u;
    else
        return 0;
    for (i = 1; i < n; i++) { /* a NUL ends the loop here: it is no continuation */
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

void svc_log_text(char *out, size_t cap, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t o = 0;

    while (*p != '\0') {
        size_t n = utf8_char_len(p);
        /* not UTF-8 (one byte at a time), or C0, DEL, C1 (C2 80..C2 9F) */
        int shown_as_mark =
            n == 0 || *p < 0x20 || *p == 0x7f || (n == 2 && *p == 0xc2 && p[1] <= 0x9f);

        if (o + (shown_as_mark ? 1 : n) >= cap)
            break;
        if (shown_as_mark) {
            out[o++] = '?';
        } else {
            memcpy(out + o, p, n);
            o += n;
        }
        p += n ? n : 1;
    }
    out[o] = '\0';
}

int svc_log_limit_take(svc_log_limit *l, unsigned long long *dropped)
{
    struct timespec ts;
    unsigned long long sec, last;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    sec = (unsigned long long)ts.tv_sec + 1; /* 0 = never written */
    /* Relaxed: the CAS only elects one writer a second; the count is a statistic. */
    last = __atomic_load_n(&l->sec, __ATOMIC_RELAXED);
    if (last == sec ||
        !__atomic_compare_exchange_n(&l->sec, &last, sec, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        __atomic_add_fetch(&l->dropped, 1, __ATOMIC_RELAXED);
        return 0;
    }
    *dropped = __atomic_exchange_n(&l->dropped, 0, __ATOMIC_RELAXED);
    return 1;
}
