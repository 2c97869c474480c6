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
#include "../svc/svc_buf.h"
#include "mcp.h"

/* @v in canonical JSON ("null" for NULL). */
void chio__mcp_value(svc_buf *b, const chio_json *v);
/*
 * @obj (an object, or NULL for {}) with member @key set to the raw JSON
 * text @raw (replaced when present, appended otherwise; @raw NULL removes
 * the member).
 */
void chio__mcp_obj_set(svc_buf *b, const chio_json *obj, const char *key, const char *raw);

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
