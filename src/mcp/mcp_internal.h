/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mcp/mcp_internal.h - helpers shared by the files of the MCP layer: the
 * JSON writers built on the public JSON API (chio_json_write_canonical /
 * chio_json_write_string), the line splitter, the wrapped server's child
 * process (child.c) and what a transport asks the gateway about the
 * message it is sending. No locking: each buffer belongs to one thread.
 */
#ifndef CHIO_MCP_INTERNAL_H
#define CHIO_MCP_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "chio/chio.h"
#include "../svc/svc_buf.h"
#include "mcp.h"

/* *@ts = CLOCK_REALTIME now + @ms milliseconds (a pthread_cond_timedwait
 * deadline). */
static inline void chio__mcp_deadline(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

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

/* The client request (its id, canonical JSON) that the message being sent
 * on this thread belongs to: the mediated call whose worker thread sends
 * it (a nested sampling or elicitation request, the call's answer), else
 * NULL. For the send callbacks (chio_mcp_send_fn). */
const char *chio__mcp_related_request(void);

/* Longest line accepted from either side (a bigger one is dropped). */
#define CHIO__MCP_MAX_LINE ((size_t)64 * 1024 * 1024)

/* A line splitter over one fd (starts zeroed; the caller frees buf). */
typedef struct chio__mcp_reader {
    char *buf;
    size_t len, cap;
    int skipping; /* inside an over-long line */
} chio__mcp_reader;

typedef void (*chio__mcp_line_fn)(chio_mcp_gateway *g, const char *line, size_t len);

/* Read once from @fd and hand complete lines to @fn; 1 = more, 0 = end of
 * input or a read error. */
int chio__mcp_read_lines(chio__mcp_reader *r, int fd, chio_mcp_gateway *g, chio__mcp_line_fn fn);

/* SIGTERM and SIGINT write one byte 's' to @fd from now on; -1 restores
 * the default actions. */
void chio__mcp_signals_to(int fd);

/* The wrapped server: a child process with pipes for stdin and stdout. */
typedef struct chio__mcp_child {
    pid_t pid;
    int in, out;        /* in: -1 once stopped; under mu */
    pthread_mutex_t mu; /* a send, or the stop closing stdin */
    int live;           /* spawned and not stopped */
    pthread_t reader;
    int reader_started;
    chio_mcp_gateway *g;
    void (*on_exit)(void *user); /* after the output ended, on the reader thread */
    void *user;
} chio__mcp_child;

/* Start @argv; -1 with errno when it cannot run (exec failures included). */
int chio__mcp_child_spawn(chio__mcp_child *c, char *const *argv);
/* Feed the child's lines to @g on a reader thread; at the end of its
 * output, chio_mcp_gateway_server_closed(g) then @on_exit(@user). */
int chio__mcp_child_start(chio__mcp_child *c, chio_mcp_gateway *g, void (*on_exit)(void *),
                          void *user);
/* One line (a newline is added); 0 or -1 (stopped, or the pipe broke). */
int chio__mcp_child_send(chio__mcp_child *c, const char *line, size_t len);
/* Close its stdin, wait a second, SIGTERM, two more, SIGKILL; join the
 * reader. Idempotent; a no-op for a child that never started. */
void chio__mcp_child_stop(chio__mcp_child *c);

/* write(2) all of @p (retried on EINTR): 0, or -1 with errno. */
int chio__mcp_write_all(int fd, const char *p, size_t n);
/* @line as one line of newline-delimited JSON, then "\n": a CR or LF in
 * it (whitespace in valid JSON) is written as a space, because the reader
 * ends a line there (Python's text mode at a CR too) and would read the
 * rest as a message of its own. 0, or -1 with errno. */
int chio__mcp_write_line(int fd, const char *line, size_t len);

/* uri.c: @uri as the kernel decides on it and the server gets it: "%2e"
 * and "%2E" read as ".", the path's dot segments removed (RFC 3986 5.2.4);
 * scheme, authority, query and fragment unchanged. Malloc'd; NULL when out
 * of memory. */
char *chio__mcp_uri_normal(const char *uri);

/* Why @root is not a JSON-RPC 2.0 message MCP accepts (an object, "jsonrpc"
 * "2.0", a string method, a string or number id, one of the two), or NULL. */
const char *chio__mcp_envelope_problem(const chio_json *root);

#endif /* CHIO_MCP_INTERNAL_H */
