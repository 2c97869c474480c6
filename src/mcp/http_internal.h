/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mcp/http_internal.h - the Streamable HTTP transport's state, shared by
 * http.c (libmicrohttpd: requests, responses, the daemon), http_stop.c
 * (the stop) and http_sess.c (client sessions, their SSE streams, where
 * each message to a client goes, the janitor thread that ends sessions).
 * Locking: http_sess.c.
 */
#ifndef CHIO_MCP_HTTP_INTERNAL_H
#define CHIO_MCP_HTTP_INTERNAL_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include <microhttpd.h>

#include "mcp.h"
#include "../svc/svc_gate.h"
#include "mcp_internal.h"

/* Bytes one stream may hold queued for a slow client; past it the stream
 * is closed (a stream with nothing queued still takes one message). An
 * event's bytes count its bookkeeping (sizeof(sse_event)) with its text. */
#define CHIO__MCP_STREAM_QUEUE ((size_t)8 << 20)
/* Bytes the open streams of one session may hold queued together, and the
 * streams of every session (those that ended after their answer but are
 * not read out yet included); past either, the stream holding the most is
 * closed until the new event fits (or nothing else is queued: it is taken
 * alone). Before review 5 of the bounds only the per-stream cap held, and
 * one session's 64 unread streams took the gateway past 600 MB. */
#define CHIO__MCP_SESSION_QUEUE ((size_t)16 << 20)
#define CHIO__MCP_QUEUE_TOTAL   ((size_t)64 << 20)
/* An SSE comment after this long without an event (finds dead clients). */
#define CHIO__MCP_KEEPALIVE_SECS 15

/* Connections kept: this many per --max-sessions plus CONNS_EXTRA; past
 * it a new one evicts the oldest connection waiting for a request. */
#define CHIO__MCP_CONNS_PER_SESSION 4
#define CHIO__MCP_CONNS_EXTRA       16
/* Seconds a connection has, from its accept or the end of its last
 * answer, to deliver a complete request, until it has named a live
 * session; then only the idle timeout below applies. */
#define CHIO__MCP_REQUEST_SECS 10
/* A connection with no bytes either way this long is closed. */
#define CHIO__MCP_IDLE_CONN_SECS 600
/* When a session ends other than by its server's exit, its calls are
 * cancelled first and its streams closed only once they ended, or after
 * this many seconds (a call the kernel decided before the cancellation
 * reached it is answered on its POST: its receipt is in the log). */
#define CHIO__MCP_END_CALLS_SECS 5
/* At a stop, the answers in flight are let out before libmicrohttpd
 * shuts every connection down: at most the request deadline (a whole
 * answer's client has that long to read it, svc_conn.h) plus this. */
#define CHIO__MCP_STOP_SLACK_SECS 5

/* Why a session ends (END_UNDELIVERED: the client of the initialize that
 * opened it left before its answer, which names the session, was out). */
enum { END_NONE = 0, END_DELETE, END_IDLE, END_SERVER, END_SHUTDOWN, END_UNDELIVERED };

/* A request of a session let in (its POST linked a stream) whose answer
 * has not been routed yet. It outlives its stream (a client that left):
 * while the gateway still works on it, its id is refused 409, and its late
 * answer is dropped instead of reaching another POST under that id. */
typedef struct hreq {
    struct hreq *next;
    char *id; /* canonical JSON */
} hreq;

typedef struct sse_event {
    struct sse_event *next;
    size_t len, off; /* bytes of text, bytes already handed out */
    char text[];
} sse_event;

struct hsess;
typedef struct httpd httpd;

/* A response to a client: a POST's (the request's answer, as JSON or an
 * SSE stream) or the session's standalone GET stream. */
typedef struct stream {
    struct stream *next;           /* in s->streams while linked */
    struct hsess *s;               /* NULL once unlinked (nothing more is routed here) */
    struct httpd *h;               /* whose mutex guards the stream */
    struct stream *hnext, **hprev; /* in h->streams from its link until freed */
    char sid[33];                  /* its session's id, for stderr once unlinked */
    int sse;                       /* 0: a POST answered as application/json */
    int standalone;                /* the GET stream */
    char *req_id;                  /* a POST's request id, canonical JSON */
    char *token;                   /* its params._meta.progressToken, canonical, or NULL */
    sse_event *head, *tail;
    size_t queued;     /* counted in s->queued while linked, in h->queued until freed */
    char *answer;      /* JSON mode: the answer */
    int finished;      /* the answer is in: end after the queue drains */
    int drained;       /* SSE: read to its end after the answer (not closed) */
    int closed;        /* end now (overflow, cancel, session end) */
    int reader;        /* a response (or waiting handler) still holds it */
    pthread_cond_t cv; /* with h->mu: something queued, finished or closed */
} stream;

/* One client session: its id, gateway, wrapped server and streams. */
typedef struct hsess {
    struct hsess *next;
    httpd *h;
    char id[33];
    chio_mcp_gateway *g;
    chio__mcp_child child;
    int ready;        /* gateway and server started: found by its id */
    int torn;         /* the janitor took it */
    int done;         /* torn down: the janitor frees it */
    pthread_t tearer; /* the thread tearing it down, when threaded */
    int threaded;
    stream *streams;
    size_t queued;  /* bytes its linked streams hold queued */
    hreq *inflight; /* requests let in, not yet answered */
    size_t ninflight, sweep_at;
    int has_standalone;
    int busy;           /* handlers inside the gateway or waiting on a stream */
    int ending;         /* END_*: no longer found by its id */
    uint64_t last_used; /* ms, monotonic (http_sess.c) */
    unsigned long long next_event;
} hsess;

struct httpd {
    const chio_mcp_policy *pol;
    chio_mcp_hub *hub;
    char *const *argv;
    unsigned max_sessions, idle_secs;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* janitor, teardown and stop waits */
    hsess *sessions;   /* every session until it is freed */
    size_t nsessions;
    stream *streams; /* every stream linked once, until freed (unlinked ones too) */
    size_t queued;   /* bytes they hold queued */
    int closing;
    int janitor_stop;
    svc_gate gate; /* http.c: complete requests until answered; closed by the stop */
    pthread_t janitor;
    struct sockaddr_in addr;
};

/* http_janitor.c */
/* Start the janitor. */
int chio__mcp_sess_init(httpd *h);
/* End every session (torn down before it returns); refuse new ones. */
void chio__mcp_sess_shutdown(httpd *h);
/* After the daemon stopped (no handler or response left). */
void chio__mcp_sess_fini(httpd *h);

/* http_sess.c */
/* Milliseconds on the monotonic clock. */
uint64_t chio__mcp_mono_ms(void);
/* h->mu held: mark @s ending for @why (the first reason stays) and wake
 * the janitor. */
void chio__mcp_sess_end_locked(hsess *s, int why);
/* h->mu held: take @s out of h->sessions. */
void chio__mcp_sess_unlink(httpd *h, hsess *s);
/* h->mu held: close every stream of @s. */
void chio__mcp_close_streams(hsess *s);
/* h->mu held: forget every request of @s let in. */
void chio__mcp_inflight_free(hsess *s);
/* A new session with its server started: 0; -1 at --max-sessions or when
 * shutting down (*full says which); -2 when the server cannot start. The
 * session comes back busy (release it). */
int chio__mcp_sess_create(httpd *h, hsess **out, int *full);
/* The live session named @id, busy (release it), or NULL. */
hsess *chio__mcp_sess_find(httpd *h, const char *id);
void chio__mcp_sess_release(hsess *s);
/* End @s (DELETE): found no more; torn down by the janitor. */
void chio__mcp_sess_end(hsess *s, int why);
/* End the live session named @id, if any: the answer to the initialize
 * that opened it (the only place its id is given) never reached its
 * client, so no one can use or DELETE it; kept, it held a --max-sessions
 * slot and a server process until the idle timeout. */
void chio__mcp_sess_undelivered(httpd *h, const char *id);
/* A stream of @s for request @req_id (NULL: the standalone stream),
 * linked before the request reaches the gateway, and the request noted as
 * let in (s->inflight). NULL when the session ends, when a standalone
 * stream exists (*conflict 1), or when a request of @s with the id
 * @req_id is still in flight (*conflict 2: its answer, routed by id,
 * could reach either POST): its POST's stream is linked, or it was let in,
 * its answer was not routed yet and the gateway still works on it
 * (chio__mcp_request_in_flight()), whether or not its client is still
 * there. */
stream *chio__mcp_stream_open(hsess *s, int sse, const char *req_id, const char *token,
                              int *conflict);
/* Close the POST stream of request @req_id (notifications/cancelled). */
void chio__mcp_stream_cancel(hsess *s, const char *req_id);
/* JSON mode: wait up to @ms for the answer: 1 when the stream is done
 * (*answer set, NULL when it closed without one; the caller frees it),
 * 0 when the time ran out. */
int chio__mcp_stream_wait_answer(stream *st, int ms, char **answer);
/* Copy up to @max bytes of the stream's text; blocks; -1 at its end. */
long chio__mcp_stream_read(stream *st, char *buf, size_t max);
/* The same, and -1 too once @gone(@arg) (asked each second while nothing
 * comes) says the client left. */
long chio__mcp_stream_read_until(stream *st, char *buf, size_t max, int (*gone)(void *), void *arg);
/* 1 when chio__mcp_stream_read() ended @st after its answer (all of its
 * text handed out), 0 when it was closed. */
int chio__mcp_stream_drained(stream *st);
/* The response (or the waiting handler) is done with @st. */
void chio__mcp_stream_release(stream *st);

/* http_stop.c: the answer to a request that came in after the stop began
 * (503, and its connection closes after it). */
enum MHD_Result chio__mcp_reply_stopping(struct MHD_Connection *c);
/* http_stop.c: stop @d, letting the answers in flight out first. */
void chio__mcp_stop(httpd *h, struct MHD_Daemon *d);

#endif /* CHIO_MCP_HTTP_INTERNAL_H */
