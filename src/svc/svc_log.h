/* SPDX-License-Identifier: Apache-2.0 */
/*
 * svc/svc_log.h - lines the services (the sidecar in src/serve/, the MCP
 * gateway in src/mcp/) write to stderr about what a peer sent: the peer's
 * text made safe for one log line, and the one-line-a-second rule for
 * lines a peer can cause at will. Not part of libchio.
 */
#ifndef CHIO_SVC_LOG_H
#define CHIO_SVC_LOG_H

#include <stddef.h>

/* A caller's text for one line of a log (stderr): at most @cap - 1 bytes
 * of @s into @out, cut at a character boundary, with control characters
 * (C0, DEL, C1) and bytes that are not UTF-8 each replaced by '?', so that
 * the text can neither end the line nor send escape sequences to a
 * terminal. @cap must be at least 1. */
void svc_log_text(char *out, size_t cap, const char *s);

/* One log line a second for lines a peer can cause at will (a client's
 * malformed or refused messages): zeroed ({0}) before use, shared by any
 * number of threads. */
typedef struct svc_log_limit {
    unsigned long long sec;     /* monotonic second of the last line written, + 1 */
    unsigned long long dropped; /* lines not written since */
} svc_log_limit;

/* 1: write the line now, and *@dropped is how many were not written since
 * the last one; 0: do not (it is counted). */
int svc_log_limit_take(svc_log_limit *l, unsigned long long *dropped);

#endif
