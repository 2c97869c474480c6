/* SPDX-License-Identifier: Apache-2.0 */
/*
 * svc/svc_conn.h - the connection guard the two libmicrohttpd services
 * (the sidecar in src/serve/, the MCP gateway's HTTP transport in
 * src/mcp/) share, so that connections which never send a complete
 * request cannot hold every slot:
 *   - a connection has @req_secs from its accept (and, on keep-alive, from
 *     the end of its last answer) to deliver a complete request (headers
 *     and body); past it the guard shuts its socket down (slowloris: a
 *     byte now and then keeps libmicrohttpd's idle timeout from firing,
 *     not this deadline). A connection the service marked trusted keeps
 *     only the idle timeout between requests: the MCP gateway marks one
 *     that served a live session's request; the sidecar one that had any
 *     2xx answer, open routes (/chio/live, /metrics) included, so trust
 *     there bounds nothing by itself: such a connection is still evicted
 *     at the cap (after the untrusted ones).
 *   - an answer has @req_secs to be read by its client, from when it is
 *     queued (svc_conn_guard_answered()); past it the socket is shut down.
 *     Past @cap, the janitor also shuts down the connections whose answer
 *     has waited a second or more, until @cap are left, so that a flood
 *     of slow reads filling every slot leaves room for new connections.
 *   - @cap connections: a new one past it evicts (shuts down) the oldest
 *     one waiting for a request, untrusted first, kept-alive ones too,
 *     else the one whose answer has waited longest (a second at least)
 *     to be read; when every other one is inside a request, the new one
 *     is kept. The service gives libmicrohttpd a limit a little above
 *     @cap, which bounds those; past it new connections wait in the
 *     listen backlog.
 * Not part of libchio. Locking: its own mutex; the janitor is its thread.
 */
#ifndef CHIO_SVC_CONN_H
#define CHIO_SVC_CONN_H

#include <microhttpd.h>

typedef struct svc_conn_guard svc_conn_guard;

/* A guard for @cap connections with @req_secs to send a request; starts
 * its janitor thread. 0, or -1 (out of memory, no thread). */
int svc_conn_guard_new(unsigned cap, unsigned req_secs, svc_conn_guard **out);
/* After MHD_stop_daemon (no connection left): stops the janitor, frees. */
void svc_conn_guard_free(svc_conn_guard *g);
/* MHD_OPTION_NOTIFY_CONNECTION callback; its cls is the guard. */
void svc_conn_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                           enum MHD_ConnectionNotificationCode code);
/* The request on @c is complete (the handler's final call): no deadline
 * until it ends. @trusted: the service trusts it (see above); sticky. */
void svc_conn_guard_request(struct MHD_Connection *c, int trusted);
/* The answer to the request on @c is queued (after
 * svc_conn_guard_request()): its client has @req_secs to read it, after
 * which the janitor shuts the connection down, and past the cap, once it
 * has waited a second, it may be evicted when no connection waits for a
 * request, so that clients that pipeline requests and never read the
 * answers (slow reads) cannot hold every slot. A service that never calls
 * it (a long-lived stream) keeps its answers without a deadline. */
void svc_conn_guard_answered(struct MHD_Connection *c);
/* The request on @c ended (MHD_OPTION_NOTIFY_COMPLETED): the deadline for
 * the next one starts. */
void svc_conn_guard_idle(struct MHD_Connection *c);

#endif /* CHIO_SVC_CONN_H */
