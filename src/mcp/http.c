/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mcp/http.c - the Streamable HTTP transport of `chio mcp serve-http`, on
 * libmicrohttpd (no hand-written HTTP): one MCP endpoint, /mcp, on a
 * loopback address, one thread per connection.
 *   POST: one JSON-RPC message (Content-Type: application/json, else 415
 *     from the headers alone). An initialize without Mcp-Session-Id opens
 *     a client session (http_sess.c); every other message names its
 *     session (400 without one, 404 for an unknown or ended one), an
 *     initialize with one included (its gateway refuses it). A
 *     request is answered with an SSE stream when the client accepts
 *     text/event-stream (the messages that belong to the request, then its
 *     answer, then the end), else with its answer as application/json. A
 *     notification or a response gets 202.
 *   GET: the session's standalone SSE stream (one at a time: 409).
 *   DELETE: ends the session.
 * Streams are written by a content-reader callback
 * (MHD_create_response_from_callback) that blocks on the stream's queue.
 * The handlers keep no lock across calls; the state and its locking are
 * http_sess.c's. Connections are counted and cut by the connection guard
 * (svc/svc_conn.h): a deadline for a complete request until one names a
 * live session, and eviction of the oldest waiting one past the cap.
 * The stop (SIGTERM, SIGINT) is http_stop.c's: each complete request is
 * counted in h->gate (svc/svc_gate.h) until its answer is out.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_internal.h"
#include "../svc/svc_conn.h"
#include "../svc/svc_gate.h"
#include "../svc/svc_host.h"
#include "../svc/svc_http.h"
#include "../svc/svc_nul.h"

#define MAX_BODY ((size_t)4 << 20)
/* A body past MAX_BODY is read on and dropped, so that its 413 can be
 * answered once it ends (libmicrohttpd queues no answer while a body is
 * being read); past MAX_BODY * 2 plus this many bytes in all the
 * connection is closed unanswered, so that a chunked body without end
 * cannot hold its thread for as long as it flows. */
#define DROP_SLACK ((size_t)64 * 1024)

typedef struct body {
    char *p;
    size_t len, cap;
    size_t seen; /* bytes of the body read, kept or dropped */
    int too_big;
    char opened[33]; /* the session this request's initialize opened, or "" */
    int delivered;   /* its answer was handed out with the client still there */
    int counted;     /* in h->gate until on_completed */
    int begun;       /* the access handler has seen the headers */
    size_t target;   /* the target's length to its first NUL (svc_nul.h) */
} body;

/* ---- responses ------------------------------------------------------------------ */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             const char *text, const char *session)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    if (type != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (session != NULL)
        MHD_add_response_header(r, "Mcp-Session-Id", session);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, "Allow", "GET, POST, DELETE");
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    /* A whole answer (never a stream): its client has the request
     * deadline to read it (svc_conn.h, slow reads). */
    svc_conn_guard_answered(c);
    return ret;
}

static enum MHD_Result rpc_error(struct MHD_Connection *c, unsigned status, const char *id,
                                 int code, const char *msg)
{
    svc_buf b = {0};
    enum MHD_Result ret;

    svc_buf_printf(&b, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":%d,\"message\":",
                   id != NULL ? id : "null", code);
    svc_buf_json_cstr(&b, msg);
    svc_buf_puts(&b, "}}");
    ret = reply(c, status, "application/json", b.oom ? "{}" : b.p, NULL);
    free(b.p);
    return ret;
}

/* 1 when the client closed its side of the connection. */
static int client_gone(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct pollfd pfd;

    if (ci == NULL)
        return 0;
    pfd.fd = ci->connect_fd;
    pfd.events = POLLRDHUP;
    pfd.revents = 0;
    return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/* An SSE response's stream; for the initialize that opened a session, its
 * connection and request, to tell whether the answer got out. */
typedef struct sse_ctx {
    stream *st;
    struct MHD_Connection *c; /* NULL: not an initialize */
    body *b;
    struct MHD_Connection *conn; /* the response's connection */
} sse_ctx;

static int conn_gone(void *conn)
{
    return client_gone(conn);
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    sse_ctx *x = cls;
    long n = chio__mcp_stream_read_until(x->st, buf, max, conn_gone, x->conn);

    (void)pos;
    /* Read to its end after the answer, and the client still there: the
     * session id (in the headers) and the answer reached it (on_completed
     * looks, with how the response ended). The request is alive while its
     * response is read. */
    if (n < 0 && x->c != NULL)
        x->b->delivered = chio__mcp_stream_drained(x->st) && !client_gone(x->c);
    return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : (ssize_t)n;
}

static void sse_done(void *cls)
{
    sse_ctx *x = cls;

    chio__mcp_stream_release(x->st);
    free(x);
}

/* Answer with @st as an SSE stream; the response owns the stream. @b: the
 * request of an initialize that opened a session (@session), else NULL. */
static enum MHD_Result sse_reply(struct MHD_Connection *c, stream *st, const char *session, body *b)
{
    struct MHD_Response *r = NULL;
    sse_ctx *x = calloc(1, sizeof(*x));
    enum MHD_Result ret;

    if (x != NULL) {
        x->st = st;
        x->conn = c;
        x->c = b != NULL ? c : NULL;
        x->b = b;
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, sse_read, x, sse_done);
    }
    if (r == NULL) {
        chio__mcp_stream_release(st);
        free(x);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    if (session != NULL)
        MHD_add_response_header(r, "Mcp-Session-Id", session);
    ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r); /* sse_done runs when the connection is done with it */
    return ret;
}

/* ---- requests ------------------------------------------------------------------- */

/* An Origin other than a loopback one is refused (DNS rebinding): one
 * of these, alone or with ":" and a port of 1 to 5 digits after it. */
static int origin_ok(struct MHD_Connection *c)
{
    const char *o = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    static const char *const ok[] = {"http://127.0.0.1", "http://localhost", "http://[::1]"};
    const char *port;
    size_t i, digits;

    if (o == NULL)
        return 1;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (strncmp(o, ok[i], strlen(ok[i])) != 0)
            continue;
        port = o + strlen(ok[i]);
        if (*port == '\0')
            return 1;
        digits = strspn(port + 1, "0123456789");
        return *port == ':' && digits >= 1 && digits <= 5 && port[1 + digits] == '\0';
    }
    return 0;
}

/* How many Origin ([0]) and Mcp-Session-Id ([1]) headers. */
static enum MHD_Result count_headers(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    unsigned *n = cls;

    (void)kind;
    (void)value;
    n[0] += strcasecmp(key, "Origin") == 0;
    n[1] += strcasecmp(key, "Mcp-Session-Id") == 0;
    return MHD_YES;
}

/* Why the headers are ambiguous, or NULL (control characters in a value
 * are svc_http_framing_problem's). Two Origins or two Mcp-Session-Ids: the
 * checks here read the first, a proxy may route by the last. */
static const char *header_problem(struct MHD_Connection *c)
{
    unsigned n[2] = {0, 0};

    MHD_get_connection_values(c, MHD_HEADER_KIND, count_headers, n);
    if (n[0] > 1)
        return "more than one Origin header";
    if (n[1] > 1)
        return "more than one Mcp-Session-Id header";
    return NULL;
}

/* The gateway listens on loopback addresses only, so the Host rule
 * (svc/svc_host.h) accepts the loopback names alone: a zeroed rule. */
static const svc_host_rule loopback_hosts;

/* A Host other than a loopback name or address (any port) is refused 403:
 * after DNS rebinding a page's requests name its own host, and a GET from
 * the same origin carries no Origin. No Host on HTTP/1.1, or two: 400. */
static int host_refused(struct MHD_Connection *c, const char *version, enum MHD_Result *ret)
{
    switch (svc_host_check(&loopback_hosts, c, version)) {
    case SVC_HOST_OK:
        return 0;
    case SVC_HOST_MISSING:
    case SVC_HOST_DUPLICATE:
        *ret = reply(c, MHD_HTTP_BAD_REQUEST, "text/plain", "one Host header is needed\n", NULL);
        return 1;
    case SVC_HOST_REFUSED:
        break;
    }
    *ret = reply(c, MHD_HTTP_FORBIDDEN, "text/plain", "host refused\n", NULL);
    return 1;
}

/* 1 when the POST's Content-Type is application/json (with parameters or
 * none). Any other is refused: a browser sends a text/plain or form POST
 * from another origin without asking first (no CORS preflight), and a
 * page on another localhost port passes the Origin rule; application/json
 * makes the browser ask first, and the gateway never says yes. */
static int json_body(struct MHD_Connection *c)
{
    const char *t = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    size_t n;

    if (t == NULL)
        return 0;
    t += strspn(t, " \t");
    n = strcspn(t, ";");
    while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t'))
        n--;
    return n == strlen("application/json") && strncasecmp(t, "application/json", n) == 0;
}

static int accepts_sse(struct MHD_Connection *c)
{
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);

    return a != NULL && strstr(a, "text/event-stream") != NULL;
}

/* The session a message names: 0 with *out busy, or the status to answer. */
static unsigned named_session(httpd *h, struct MHD_Connection *c, hsess **out)
{
    const char *sid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Mcp-Session-Id");

    *out = NULL;
    if (sid == NULL)
        return MHD_HTTP_BAD_REQUEST;
    *out = chio__mcp_sess_find(h, sid);
    return *out != NULL ? 0 : MHD_HTTP_NOT_FOUND;
}

static enum MHD_Result session_error(struct MHD_Connection *c, unsigned st)
{
    return rpc_error(c, st, NULL, -32600,
                     st == MHD_HTTP_BAD_REQUEST ? "chio: Mcp-Session-Id missing"
                                                : "chio: unknown or ended session");
}

/* A new session for an initialize: 0 with *out, or the error answered. */
static enum MHD_Result open_session(httpd *h, struct MHD_Connection *c, const char *id, hsess **out)
{
    char m[160];
    int full, rc;

    rc = chio__mcp_sess_create(h, out, &full);
    if (rc == 0)
        return MHD_YES;
    if (rc == -1 && full) {
        snprintf(m, sizeof(m), "chio: too many sessions (--max-sessions %u); end one first",
                 h->max_sessions);
        return rpc_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, id, -32000, m);
    }
    return rpc_error(c, rc == -1 ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_INTERNAL_SERVER_ERROR,
                     id, -32000,
                     rc == -1 ? "chio: the gateway is shutting down"
                              : "chio: cannot start the wrapped server for this session");
}

/* A request whose id a request of the session still in flight holds: the
 * answers, routed by id, could each reach the other's POST (a tools/call
 * answered with a ping's empty result). Refused 409 on its own POST, never
 * seen by the gateway, with a deny receipt (a denial the client caused).
 * Releases @s. */
static enum MHD_Result reused_id(struct MHD_Connection *c, hsess *s, const chio_json *root,
                                 const char *id)
{
    static const char why[] = "chio: invalid request: a request with this id is still in flight "
                              "in this session (an id is not reused within a session)";
    char *data = chio__mcp_transport_refusal(s->g, root, id, -32600, why);
    svc_buf b = {0};
    enum MHD_Result ret;

    chio__mcp_sess_release(s);
    svc_buf_printf(&b,
                   "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":-32600,\"message\":", id);
    svc_buf_json_cstr(&b, why);
    if (data != NULL) {
        svc_buf_puts(&b, ",\"data\":");
        svc_buf_puts(&b, data);
    }
    svc_buf_puts(&b, "}}");
    ret = reply(c, MHD_HTTP_CONFLICT, "application/json", b.oom ? "{}" : b.p, NULL);
    free(b.p);
    free(data);
    return ret;
}

/* A request: link its stream, hand it to the gateway, answer. For an
 * initialize that opened the session, b->delivered says whether its
 * answer went out to a client still there (on_completed ends the session
 * when not). */
static enum MHD_Result post_request(struct MHD_Connection *c, hsess *s, body *b,
                                    const chio_json *root, const char *id, int init)
{
    const chio_json *meta = chio_json_get(chio_json_get(root, "params"), "_meta");
    char *token = chio__mcp_dup_value(chio_json_get(meta, "progressToken")), *answer;
    char session[sizeof(s->id)];
    int sse = accepts_sse(c), conflict;
    stream *st;
    enum MHD_Result ret;

    memcpy(session, s->id, sizeof(session));
    st = chio__mcp_stream_open(s, sse, id, token, &conflict);
    free(token);
    if (st == NULL && conflict == 2)
        return reused_id(c, s, root, id);
    if (st == NULL) {
        chio__mcp_sess_release(s);
        return rpc_error(c, MHD_HTTP_NOT_FOUND, id, -32600, "chio: unknown or ended session");
    }
    chio_mcp_gateway_client_line(s->g, b->p, b->len);
    chio__mcp_sess_release(s);
    if (sse)
        return sse_reply(c, st, init ? session : NULL, init ? b : NULL);
    /* MHD cannot see a client hang up while this thread waits: look at
     * the socket each second, so a gone client frees its connection. */
    while (!chio__mcp_stream_wait_answer(st, 1000, &answer))
        if (client_gone(c)) {
            chio__mcp_stream_release(st);
            return MHD_NO;
        }
    chio__mcp_stream_release(st);
    if (answer != NULL && init && client_gone(c)) {
        /* Gone before the answer that names the session: a write to a
         * closed socket may still succeed, so it is looked at first. */
        free(answer);
        return MHD_NO;
    }
    if (answer != NULL) {
        ret = reply(c, MHD_HTTP_OK, "application/json", answer, init ? session : NULL);
        b->delivered = init && ret == MHD_YES;
    } else
        ret = rpc_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, id, -32000,
                        "chio: no answer: the request was cancelled or its session ended");
    free(answer);
    return ret;
}

static enum MHD_Result handle_post(httpd *h, struct MHD_Connection *c, body *b)
{
    chio_json_doc *doc = NULL;
    const chio_json *root;
    const char *method;
    char *id = NULL;
    const char *why;
    hsess *s = NULL;
    unsigned st;
    int init;
    enum MHD_Result ret;

    if (b->too_big)
        return rpc_error(c, 413, NULL, -32600, "chio: body too large");
    if (chio_json_parse(b->p ? b->p : "", b->len, &doc, NULL) != 0)
        return rpc_error(c, MHD_HTTP_BAD_REQUEST, NULL, -32700, "parse error");
    root = chio_json_root(doc);
    if (chio_json_typeof(root) != CHIO_JSON_OBJECT) {
        chio_json_doc_free(doc);
        return rpc_error(c, MHD_HTTP_BAD_REQUEST, NULL, -32600,
                         "chio: one JSON-RPC message per POST (no batches)");
    }
    if ((why = chio__mcp_envelope_problem(root)) != NULL) {
        /* under its id when that is a valid one, as over stdio (review 17
         * services F2: it was always null here) */
        const chio_json *idv = chio_json_get(root, "id");
        if (idv != NULL && chio__mcp_exact_id(idv))
            id = chio__mcp_dup_value(idv);
        ret = rpc_error(c, MHD_HTTP_BAD_REQUEST, id, -32600, why);
        free(id);
        chio_json_doc_free(doc);
        return ret;
    }
    method = chio_json_string(chio_json_get(root, "method"), NULL);
    if (chio_json_get(root, "id") != NULL)
        id = chio__mcp_dup_value(chio_json_get(root, "id"));
    /* Only an initialize without Mcp-Session-Id opens a session. One with
     * a session's id (a second initialize, or one sent as a notification)
     * goes to that session's gateway like any message, which refuses it
     * with a deny receipt as over stdio; before review 56 it got 400 here,
     * with no receipt. */
    init = method != NULL && strcmp(method, "initialize") == 0 &&
           MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Mcp-Session-Id") == NULL;
    if (init && id == NULL) {
        ret = rpc_error(c, MHD_HTTP_BAD_REQUEST, NULL, -32600, "chio: initialize needs an id");
    } else if (init) {
        ret = open_session(h, c, id, &s);
        if (s != NULL)
            memcpy(b->opened, s->id, sizeof(b->opened));
    } else if ((st = named_session(h, c, &s)) != 0) {
        ret = session_error(c, st);
    } else {
        ret = MHD_YES;
    }
    if (s == NULL)
        goto out;
    svc_conn_guard_request(c, 1); /* a live session: trusted */
    if (method != NULL && id != NULL) {
        ret = post_request(c, s, b, root, id, init);
    } else {
        /* A notifications/cancelled ends the POST of the request it names
         * only once the gateway cancelled that request (no answer comes);
         * one naming nothing in flight, the client's initialize or a
         * request sent as a request (with an id: -32601) leaves it be
         * (its answer still comes). */
        if (chio__mcp_client_line_cancels(s->g, b->p, b->len) && method != NULL &&
            strcmp(method, "notifications/cancelled") == 0) {
            char *rid =
                chio__mcp_dup_value(chio_json_get(chio_json_get(root, "params"), "requestId"));
            if (rid != NULL)
                chio__mcp_stream_cancel(s, rid);
            free(rid);
        }
        chio__mcp_sess_release(s);
        ret = reply(c, MHD_HTTP_ACCEPTED, NULL, "", NULL);
    }
out:
    free(id);
    chio_json_doc_free(doc);
    return ret;
}

static enum MHD_Result handle_get(httpd *h, struct MHD_Connection *c)
{
    hsess *s;
    stream *st;
    unsigned status;
    int conflict;

    if (!accepts_sse(c))
        return reply(c, MHD_HTTP_NOT_ACCEPTABLE, "text/plain",
                     "GET /mcp opens an SSE stream: Accept: text/event-stream\n", NULL);
    if ((status = named_session(h, c, &s)) != 0)
        return session_error(c, status);
    svc_conn_guard_request(c, 1);
    /* Last-Event-ID is not looked at: streams are not resumable. */
    st = chio__mcp_stream_open(s, 1, NULL, NULL, &conflict);
    chio__mcp_sess_release(s);
    if (st == NULL)
        return conflict ? rpc_error(c, MHD_HTTP_CONFLICT, NULL, -32600,
                                    "chio: this session's GET stream is open already")
                        : session_error(c, MHD_HTTP_NOT_FOUND);
    return sse_reply(c, st, NULL, NULL);
}

/* Appends @n bytes of body to @b, its buffer growing by doubling (a body
 * that arrives in many small pieces is not copied once per piece). */
static int body_append(body *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *np;

        while (cap < b->len + n + 1)
            cap *= 2;
        np = realloc(b->p, cap);
        if (np == NULL)
            return -1;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    httpd *h = cls;
    body *b = *con_cls;
    hsess *s;
    unsigned st;
    const char *why, *cl;
    enum MHD_Result ret;

    if (b == NULL) /* on_uri ran out of memory */
        return MHD_NO;
    if (!b->begun) {
        b->begun = 1;
        /* A NUL in the request line or a header line (svc_nul.h: every
         * check here reads C strings), two Content-Lengths, one with a
         * Transfer-Encoding, a malformed header name (svc_http.h), a
         * control character in a value, two Origins or Mcp-Session-Ids
         * (above): refused from the headers alone; the connection closes
         * after the answer. */
        if ((why = svc_nul_problem(c, method, url, version, b->target)) != NULL ||
            (why = svc_http_framing_problem(c, version)) != NULL ||
            (why = header_problem(c)) != NULL) {
            b->too_big = 1;
            return rpc_error(c, MHD_HTTP_BAD_REQUEST, NULL, -32600, why);
        }
        /* A Content-Length past the limit: 413 from the headers alone (the
         * body is never read; the connection closes after the answer),
         * not the deadline's close without an answer. */
        /* Origin and Host too, before any path and before a body is read
         * (a refused page's POST body is never waited for), as the sidecar
         * does; the body is dropped and the connection closes. */
        if (!origin_ok(c)) {
            b->too_big = 1;
            return reply(c, MHD_HTTP_FORBIDDEN, "text/plain", "origin refused\n", NULL);
        }
        if (host_refused(c, version, &ret)) {
            b->too_big = 1;
            return ret;
        }
        cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl != NULL && strtoull(cl, NULL, 10) > MAX_BODY) {
            b->too_big = 1;
            return rpc_error(c, MHD_HTTP_CONTENT_TOO_LARGE, NULL, -32600, "chio: body too large");
        }
        if (strcmp(method, "POST") == 0 && strcmp(url, "/mcp") == 0 && !json_body(c)) {
            b->too_big = 1;
            return rpc_error(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, NULL, -32600,
                             "chio: a POST to /mcp carries Content-Type: application/json");
        }
        return MHD_YES;
    }
    if (*upload_size > 0) {
        b->seen += *upload_size;
        if (!b->too_big && b->len + *upload_size <= MAX_BODY) {
            if (body_append(b, upload, *upload_size) != 0)
                return MHD_NO;
        } else {
            b->too_big = 1;
            if (b->seen > 2 * MAX_BODY + DROP_SLACK)
                return MHD_NO; /* a body without end: closed, unanswered */
        }
        *upload_size = 0;
        return MHD_YES;
    }
    /* The request is in (headers and body): its deadline ends. */
    svc_conn_guard_request(c, 0);
    /* Counted until answered, so that the stop lets it be answered; once
     * the stop began it is refused. */
    if (!svc_gate_enter(&h->gate, &b->counted))
        return chio__mcp_reply_stopping(c);
    if (strcmp(url, "/mcp") != 0)
        return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n", NULL);
    if (strcmp(method, "POST") == 0)
        return handle_post(h, c, b);
    if (strcmp(method, "GET") == 0)
        return handle_get(h, c);
    if (strcmp(method, "DELETE") == 0) {
        if ((st = named_session(h, c, &s)) != 0)
            return session_error(c, st);
        svc_conn_guard_request(c, 1);
        chio__mcp_sess_end(s, END_DELETE);
        chio__mcp_sess_release(s);
        return reply(c, MHD_HTTP_OK, NULL, "", NULL);
    }
    return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "GET, POST or DELETE\n", NULL);
}

/* MHD_OPTION_URI_LOG_CALLBACK: a request line came in. Its context is
 * made here, the one place the target is seen whole (svc_nul.h); NULL,
 * out of memory, closes the connection at the access handler. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    body *b = calloc(1, sizeof(*b));

    (void)cls;
    (void)c;
    if (b != NULL)
        b->target = svc_nul_target_len(uri);
    return b;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    body *b = *con_cls;

    svc_conn_guard_idle(c);
    if (b != NULL)
        svc_gate_leave(&((httpd *)cls)->gate, &b->counted); /* answered, or its connection ended */
    /* The initialize that opened a session, and its answer (the only
     * place the session's id is given) did not get out whole to a client
     * still there: no one can use or DELETE the session, which kept a
     * --max-sessions slot and a server process until the idle timeout. */
    if (b != NULL && b->opened[0] != '\0' &&
        (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK || !b->delivered))
        chio__mcp_sess_undelivered(cls, b->opened);
    if (b != NULL) {
        free(b->p);
        free(b);
    }
    *con_cls = NULL;
}

/* ---- the server ----------------------------------------------------------------- */

static int parse_listen(const char *listen, struct sockaddr_in *a)
{
    const char *colon = strrchr(listen, ':');
    char host[64], *end;
    unsigned long port;

    memset(a, 0, sizeof(*a));
    a->sin_family = AF_INET;
    if (colon == NULL || (size_t)(colon - listen) >= sizeof(host))
        return -1;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    port = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || colon[1] == '\0' || port > 65535 ||
        inet_pton(AF_INET, host, &a->sin_addr) != 1 || (ntohl(a->sin_addr.s_addr) >> 24) != 127)
        return -1;
    a->sin_port = htons((uint16_t)port);
    return 0;
}

/* Serve until SIGTERM/SIGINT writes to @wake_fd. */
static int serve(httpd *h, int wake_fd)
{
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    struct pollfd pfd = {wake_fd, POLLIN, 0};
    char addr[INET_ADDRSTRLEN];
    unsigned cap = CHIO__MCP_CONNS_PER_SESSION * h->max_sessions + CHIO__MCP_CONNS_EXTRA;
    svc_conn_guard *guard;

    inet_ntop(AF_INET, &h->addr.sin_addr, addr, sizeof(addr));
    if (svc_conn_guard_new(cap, CHIO__MCP_REQUEST_SECS, &guard) != 0) {
        fprintf(stderr, "chio mcp serve-http: out of memory\n");
        return 2;
    }
    /* libmicrohttpd accepts up to CONNS_EXTRA more than the guard keeps,
     * so a new connection past the cap is accepted and evicts the oldest
     * one still waiting for a request (svc_conn.h) instead of being
     * refused while slow clients hold every slot. */
    /* MHD_USE_ITC: the stop's MHD_quiesce_daemon needs it in this mode. */
    d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC, 0, NULL,
        NULL, on_request, h, MHD_OPTION_SOCK_ADDR, &h->addr, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, h, MHD_OPTION_NOTIFY_CONNECTION, svc_conn_guard_notify, guard,
        MHD_OPTION_CONNECTION_LIMIT, cap + CHIO__MCP_CONNS_EXTRA, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)CHIO__MCP_IDLE_CONN_SECS, MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
        MHD_OPTION_UNESCAPE_CALLBACK, svc_http_keep_escapes, NULL, MHD_OPTION_END);
    if (d == NULL) {
        svc_conn_guard_free(guard);
        fprintf(stderr, "chio mcp serve-http: cannot listen on %s:%u: %s\n", addr,
                ntohs(h->addr.sin_port), strerror(errno));
        return 2;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    fprintf(stderr, "chio mcp serve-http: listening on http://%s:%u/mcp\n", addr,
            info ? info->port : ntohs(h->addr.sin_port));
    while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
        ;
    fprintf(stderr, "chio mcp serve-http: signal received; ending every session\n");
    /* Sessions end first (their calls cancelled, then their streams
     * closed, so no connection thread stays blocked on a stream), then the
     * daemon. */
    chio__mcp_stop(h, d);
    svc_conn_guard_free(guard);
    return 0;
}

int chio_mcp_serve_http(const chio_mcp_policy *p, chio_kernel *k, const chio_mcp_http_opts *o,
                        char *const *argv)
{
    httpd h;
    chio_mcp_gateway *probe = NULL;
    int wake[2], rc;

    memset(&h, 0, sizeof(h));
    if (parse_listen(o->listen, &h.addr) != 0) {
        fprintf(stderr, "chio mcp serve-http: --listen takes a loopback IPv4 address and a "
                        "port (127.0.0.1:PORT)\n");
        return 2;
    }
    if (!chio_mcp_runnable(argv[0])) {
        fprintf(stderr,
                "chio mcp serve-http: cannot start the wrapped server %s: not an "
                "executable file\n",
                argv[0]);
        return 2;
    }
    h.pol = p;
    h.argv = argv;
    h.max_sessions = o->max_sessions ? o->max_sessions : 16;
    h.idle_secs = o->idle_secs ? o->idle_secs : 3600;
    signal(SIGPIPE, SIG_IGN);
    if (chio_mcp_hub_new(p, k, &h.hub) != 0)
        return 2;
    /* Sessions issue their capabilities when they open; a gateway opened
     * and freed here refuses grants the kernel could not enforce at start. */
    if (chio_mcp_gateway_open(h.hub, NULL, NULL, NULL, &probe) != 0) {
        chio_mcp_hub_free(h.hub);
        return 2;
    }
    chio_mcp_gateway_free(probe);
    if (pipe2(wake, O_CLOEXEC) != 0) {
        chio_mcp_hub_free(h.hub);
        return 2;
    }
    if (svc_gate_init(&h.gate) != 0) {
        chio_mcp_hub_free(h.hub);
        close(wake[0]);
        close(wake[1]);
        return 2;
    }
    if (chio__mcp_sess_init(&h) != 0) {
        svc_gate_destroy(&h.gate);
        chio_mcp_hub_free(h.hub);
        close(wake[0]);
        close(wake[1]);
        return 2;
    }
    chio__mcp_signals_to(wake[1]);
    rc = serve(&h, wake[0]);
    if (rc != 0)
        chio__mcp_sess_shutdown(&h);
    chio__mcp_sess_fini(&h);
    svc_gate_destroy(&h.gate);
    chio__mcp_signals_to(-1);
    chio_mcp_hub_free(h.hub);
    close(wake[0]);
    close(wake[1]);
    return rc;
}
