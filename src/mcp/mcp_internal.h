/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mcp/mcp_internal.h - helpers shared by the files of the MCP layer: a
 * growing text buffer and the JSON-RPC writers built on the public JSON
 * API (chio_json_write_canonical / chio_json_write_string). No locking:
 * each buffer belongs to one thread.
 */
#ifndef CHIO_MCP_INTERNAL_H
#define CHIO_MCP_INTERNAL_H

#include <stddef.h>

#include "chio/chio.h"
#include "mcp.h"

/* A growing NUL-terminated text; an allocation failure sets oom and later
 * appends do nothing. Free p with free(). */
typedef struct chio__mcp_buf {
    char *p;
    size_t len, cap;
    int oom;
} chio__mcp_buf;

void chio__mcp_add(chio__mcp_buf *b, const char *s, size_t n);
void chio__mcp_puts(chio__mcp_buf *b, const char *s);
void chio__mcp_printf(chio__mcp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* @s as a JSON string literal (invalid UTF-8 becomes U+FFFD). */
void chio__mcp_str(chio__mcp_buf *b, const char *s);
/* @v in canonical JSON ("null" for NULL). */
void chio__mcp_value(chio__mcp_buf *b, const chio_json *v);
/*
 * @obj (an object, or NULL for {}) with member @key set to the raw JSON
 * text @raw (replaced when present, appended otherwise; @raw NULL removes
 * the member).
 */
void chio__mcp_obj_set(chio__mcp_buf *b, const chio_json *obj, const char *key, const char *raw);

/* Canonical text of @v, malloc'd (NULL on failure or when @v is NULL). */
char *chio__mcp_dup_value(const chio_json *v);

/* A client transport of the gateway (stdio.c, http.c). */
typedef struct chio__mcp_front {
    chio_mcp_send_fn send; /* one line to the client */
    void *user;
    /* Serve the client with @g until its input ends (return 0) or @wake_fd
     * is readable (return 1; the server died or a signal came: the runner
     * reads the byte); 2 when it cannot serve at all (the runner stops). */
    int (*loop)(void *user, chio_mcp_gateway *g, int wake_fd);
} chio__mcp_front;

/* Start @argv as the wrapped server, serve @front until one side ends,
 * then drain: 0 (the client ended), 1 (the server died), 2 (no start). */
int chio__mcp_run(const chio_mcp_policy *p, chio_kernel *k, char *const *argv,
                  const chio__mcp_front *front);

#endif /* CHIO_MCP_INTERNAL_H */
