/* SPDX-License-Identifier: Apache-2.0 */
/*
 * svc/svc_buf.c - see svc_buf.h. Owns nothing but the buffers it grows.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
