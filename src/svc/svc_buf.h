/* SPDX-License-Identifier: Apache-2.0 */
/*
 * svc/svc_buf.h - the growable text buffer of the programs built on the
 * public API (the chio command line, the sidecar in src/serve/, the MCP
 * gateway in src/mcp/): one copy instead of one per layer. Not part of
 * libchio; uses include/chio/ only.
 *
 * A buffer starts zeroed ({0}); every append keeps it NUL-terminated.
 * A failed allocation sets `oom` and makes later appends no-ops, so a
 * writer checks once at the end. The caller frees `p` with free().
 */
#ifndef CHIO_SVC_BUF_H
#define CHIO_SVC_BUF_H

#include <stddef.h>

typedef struct svc_buf {
    char *p;
    size_t len, cap;
    int oom;
} svc_buf;

void svc_buf_add(svc_buf *b, const char *s, size_t n);
void svc_buf_puts(svc_buf *b, const char *s);
/* Any length; short texts need no allocation beyond the buffer's. */
void svc_buf_printf(svc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* @n bytes of @s as one JSON string literal (chio_json_write_string:
 * bytes that are not UTF-8 become U+FFFD); NULL is "". */
void svc_buf_json_string(svc_buf *b, const char *s, size_t n);
/* The same for a NUL-terminated string (NULL is ""). */
void svc_buf_json_cstr(svc_buf *b, const char *s);

#endif
