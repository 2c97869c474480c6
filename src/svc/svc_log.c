/* SPDX-License-Identifier: Apache-2.0 */
/*
 * svc/svc_log.c - see svc_log.h. The limiter is relaxed atomics (shared by
 * any number of threads); nothing else is shared.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "svc_log.h"

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
