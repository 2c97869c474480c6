/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mcp/http_stop.c - the stop of `chio mcp serve-http` (SIGTERM, SIGINT):
 * no new connection, every request from then on answered 503, the
 * sessions ended (their calls cancelled before their streams close, so an
 * answer the kernel allowed meanwhile still goes out), the answers in
 * flight sent (each complete request is counted in h->gate,
 * svc/svc_gate.h, until its answer is out), and only then libmicrohttpd
 * stopped. MHD_stop_daemon shuts every connection's socket down before it
 * joins its threads: an answer still being written was cut there, though
 * its call's receipt was in the log (review 46).
 */
#include <microhttpd.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_internal.h"
#include "../svc/svc_conn.h"
#include "../svc/svc_gate.h"

/* A request that came in after the stop began (on a connection kept
 * open): 503, and the connection closes after it. */
enum MHD_Result chio__mcp_reply_stopping(struct MHD_Connection *c)
{
    static const char text[] = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32000,"
                               "\"message\":\"chio: the gateway is stopping\"}}";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof(text) - 1, (void *)text, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret;

    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    ret = MHD_queue_response(c, MHD_HTTP_SERVICE_UNAVAILABLE, r);
    MHD_destroy_response(r);
    svc_conn_guard_answered(c);
    return ret;
}

/* Once the sessions ended: wait until the answers in flight are out, at
 * most the request deadline (a whole answer's client not reading it is
 * cut there, svc_conn.h) plus CHIO__MCP_STOP_SLACK_SECS (an SSE answer's). */
static void wait_answered(httpd *h)
{
    int secs = CHIO__MCP_REQUEST_SECS + CHIO__MCP_STOP_SLACK_SECS;
    unsigned inside = svc_gate_close(&h->gate); /* closed already: how many are inside */

    if (inside > 0)
        fprintf(stderr, "chio mcp serve-http: answers in flight: %u; sending them (at most %d s)\n",
                inside, secs);
    svc_gate_wait(&h->gate, secs);
}

/* The stop: no new connection, every request from now on refused, the
 * sessions ended (their calls cancelled, their answers let out), the
 * answers in flight sent, then libmicrohttpd stopped. MHD_stop_daemon
 * shuts every connection's socket down before it joins the threads: an
 * answer still being written was cut there, though its call's receipt was
 * in the log (review 46). */
void chio__mcp_stop(httpd *h, struct MHD_Daemon *d)
{
    MHD_socket fd = MHD_quiesce_daemon(d);

    /* Not accepted any more, a new connection would wait in the backlog
     * for the whole stop, then be reset: it is refused at once. The
     * socket itself is closed only after MHD_stop_daemon (libmicrohttpd's
     * threads may still hold it). */
    if (fd != MHD_INVALID_SOCKET)
        shutdown(fd, SHUT_RDWR);
    svc_gate_close(&h->gate); /* every request from now on: chio__mcp_reply_stopping() */
    chio__mcp_sess_shutdown(h);
    wait_answered(h);
    MHD_stop_daemon(d);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}
