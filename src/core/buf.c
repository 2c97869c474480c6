/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/buf.c - the growable byte buffer every writer appends to. Growth is
 * geometric; an allocation failure is remembered in `oom` so that writers
 * can append freely and check once. Owned by one thread at a time.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void chio__buf_init(chio_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->oom = 0;
}

void chio__buf_destroy(chio_buf *b)
{
    free(b->data);
    chio__buf_init(b);
}

int chio__buf_reserve(chio_buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (b->oom)
        return CHIO_ENOMEM;
    if (extra > SIZE_MAX - b->len - 1) {
        b->oom = 1;
        return CHIO_ENOMEM;
    }
    need = b->len + extra + 1; /* room for a trailing NUL */
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    p = realloc(b->data, cap);
    if (p == NULL) {
        b->oom = 1;
        return CHIO_ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void chio__buf_append(chio_buf *b, const void *data, size_t len)
{
    if (len == 0 || chio__buf_reserve(b, len) != 0)
        return;
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

void chio__buf_putc(chio_buf *b, char c)
{
    if (b->len + 1 < b->cap && !b->oom) {
        b->data[b->len++] = c;
        return;
    }
    chio__buf_append(b, &c, 1);
}

void chio__buf_puts(chio_buf *b, const char *s)
{
    chio__buf_append(b, s, strlen(s));
}

void chio__buf_printf(chio_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || chio__buf_reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *chio__buf_detach(chio_buf *b, size_t *len)
{
    char *p;

    if (b->oom || chio__buf_reserve(b, 0) != 0) {
        chio__buf_destroy(b);
        return NULL;
    }
    b->data[b->len] = '\0';
    p = b->data;
    if (len != NULL)
        *len = b->len;
    chio__buf_init(b);
    return p;
}
