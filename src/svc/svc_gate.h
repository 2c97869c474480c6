/* SPDX-License-Identifier: Apache-2.0 */
/*
 * svc/svc_gate.h - the stop gate of the services' HTTP fronts (the sidecar
 * in src/serve/, the MCP gateway in src/mcp/). A complete request is
 * counted from its last byte in until its answer is out (libmicrohttpd's
 * completion callback); a stop closes the gate (later requests are
 * refused by their caller) and waits, bounded, until the count is zero
 * before libmicrohttpd shuts the sockets down: an answer cut there left a
 * decision in the log that its client never saw (review 46). Not part of
 * libchio.
 */
#ifndef CHIO_SVC_GATE_H
#define CHIO_SVC_GATE_H

#include <pthread.h>

typedef struct svc_gate {
    pthread_mutex_t mu;
    pthread_cond_t empty; /* on CLOCK_MONOTONIC: inside reached 0 */
    unsigned inside;      /* requests counted and not yet answered */
    int closed;           /* svc_gate_close() ran: nothing enters */
} svc_gate;

/* Make @cv a condition whose timed waits count on CLOCK_MONOTONIC, so
 * that a wall clock stepped back does not stretch a wait: 0, or -1 when
 * it could not be made. Every timed wait of the services' fronts (the
 * gate, the connection guard, the MCP gateway) is on such a condition. */
int svc_cond_init_monotonic(pthread_cond_t *cv);

/* 0, or -1 when a mutex or condition could not be made (nothing held). */
int svc_gate_init(svc_gate *g);
void svc_gate_destroy(svc_gate *g);

/* A request is about to be handled: 1 and *@counted set (also when it was
 * set already: a request is counted once), or 0 once the gate is closed
 * (the caller refuses the request). */
int svc_gate_enter(svc_gate *g, int *counted);

/* Its answer is out or its connection ended: uncounted if *@counted. */
void svc_gate_leave(svc_gate *g, int *counted);

/* Nothing enters from now on; returns how many requests are inside. */
unsigned svc_gate_close(svc_gate *g);

/* Waits until no request is inside, at most @secs seconds; returns how
 * many are still inside (0: every answer went out). */
unsigned svc_gate_wait(svc_gate *g, int secs);

#endif
