/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mcp/http.c - the Streamable HTTP transport of `chio mcp serve-http`, on
 * libmicrohttpd (no hand-written HTTP parsing): one MCP endpoint, /mcp, on
 * a loopback address. POST carries one JSON-RPC message: a request is
 * answered in the HTTP response (application/json) once the gateway has
 * its answer; a notification or a response gets 202. The first initialize
 * opens the one session of the process (Mcp-Session-Id); later messages
 * must carry that id (400 without one, 404 for another or a deleted one).
 * DELETE ends the session. GET (a standalone SSE stream) is answered 405,
 * which MCP allows: server-initiated messages outside a request's answer
 * are not delivered (requests among them fail at once).
 * Locking: h->mu guards the session and the waiters; libmicrohttpd runs
 * one thread per connection, each blocking in its own POST.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "mcp.h"
#include "mcp_internal.h"

#define MAX_BODY ((size_t)4 << 20)

typedef struct waiter {
    struct waiter *next;
    char *id;   /* the request's id, canonical JSON */
    char *line; /* the answer */
    int cancelled;
} waiter;

typedef struct http {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    waiter *waiters;
    char session[33];
    int has_session, deleted, closing;
    chio_mcp_gateway *g;
    struct sockaddr_in addr;
} http;

typedef struct body {
    char *p;
    size_t len;
    int too_big;
} body;

/* ---- what the gateway sends to the client --------------------------------------- */

static int http_send(void *user, const char *line, size_t len)
{
    http *h = user;
    chio_json_doc *doc = NULL;
    const chio_json *root;
    char *id = NULL;
    waiter *w;
    int rc = -1;

    if (chio_json_parse(line, len, &doc, NULL) != 0)
        return -1;
    root = chio_json_root(doc);
    if (chio_json_get(root, "method") == NULL && chio_json_get(root, "id") != NULL)
        id = chio__mcp_dup_value(chio_json_get(root, "id"));
    else if (chio_json_get(root, "id") == NULL)
        rc = 0; /* a notification outside a request's answer: dropped (no GET stream) */
    chio_json_doc_free(doc);
    if (id == NULL)
        return rc;
    pthread_mutex_lock(&h->mu);
    for (w = h->waiters; w != NULL; w = w->next)
        if (w->line == NULL && strcmp(w->id, id) == 0) {
            w->line = strndup(line, len);
            pthread_cond_broadcast(&h->cv);
            rc = 0;
            break;
        }
    pthread_mutex_unlock(&h->mu);
    free(id);
    return rc;
}

/* ---- HTTP ----------------------------------------------------------------------- */

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
        MHD_add_response_header(r, "Allow", "POST, DELETE");
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result rpc_error(struct MHD_Connection *c, unsigned status, int code,
                                 const char *msg)
{
    svc_buf b = {0};
    enum MHD_Result ret;

    svc_buf_printf(&b,
                   "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":%d,\"message\":", code);
    svc_buf_json_cstr(&b, msg);
    svc_buf_puts(&b, "}}");
    ret = reply(c, status, "application/json", b.oom ? "{}" : b.p, NULL);
    free(b.p);
    return ret;
}

/* An Origin other than a loopback one is refused (DNS rebinding). */
static int origin_ok(struct MHD_Connection *c)
{
    const char *o = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    static const char *const ok[] = {"http://127.0.0.1", "http://localhost", "http://[::1]"};
    size_t i;

    if (o == NULL)
        return 1;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (strncmp(o, ok[i], strlen(ok[i])) == 0 &&
            (o[strlen(ok[i])] == '\0' || o[strlen(ok[i])] == ':'))
            return 1;
    return 0;
}

/* The session check of every message but initialize: 0, or the status. */
static unsigned session_status(http *h, struct MHD_Connection *c)
{
    const char *sid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Mcp-Session-Id");
    unsigned st = 0;

    pthread_mutex_lock(&h->mu);
    if (sid == NULL)
        st = MHD_HTTP_BAD_REQUEST;
    else if (!h->has_session || h->deleted || strcmp(sid, h->session) != 0)
        st = MHD_HTTP_NOT_FOUND;
    pthread_mutex_unlock(&h->mu);
    return st;
}

static int new_session(http *h)
{
    unsigned char r[16];
    int i, rc = -1;

    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
        return -1;
    pthread_mutex_lock(&h->mu);
    if (!h->has_session) {
        for (i = 0; i < 16; i++)
            snprintf(h->session + 2 * i, 3, "%02x", r[i]);
        h->has_session = 1;
        rc = 0;
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}

/* Hand a request to the gateway and wait for its answer. */
static enum MHD_Result post_request(http *h, struct MHD_Connection *c, const body *b, char *id,
                                    int init)
{
    waiter w;
    waiter **pp;
    enum MHD_Result ret;

    memset(&w, 0, sizeof(w));
    w.id = id;
    pthread_mutex_lock(&h->mu);
    w.next = h->waiters;
    h->waiters = &w;
    pthread_mutex_unlock(&h->mu);
    chio_mcp_gateway_client_line(h->g, b->p, b->len);
    pthread_mutex_lock(&h->mu);
    while (w.line == NULL && !w.cancelled && !h->closing)
        pthread_cond_wait(&h->cv, &h->mu);
    for (pp = &h->waiters; *pp != NULL; pp = &(*pp)->next)
        if (*pp == &w) {
            *pp = w.next;
            break;
        }
    pthread_mutex_unlock(&h->mu);
    if (w.line != NULL)
        ret = reply(c, MHD_HTTP_OK, "application/json", w.line, init ? h->session : NULL);
    else
        ret = rpc_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, -32000,
                        w.cancelled ? "chio: the request was cancelled"
                                    : "chio: the gateway is shutting down");
    free(w.line);
    return ret;
}

/* notifications/cancelled: release the POST waiting for that request. */
static void cancel_waiter(http *h, const chio_json *root)
{
    char *rid = chio__mcp_dup_value(chio_json_get(chio_json_get(root, "params"), "requestId"));
    waiter *w;

    if (rid == NULL)
        return;
    pthread_mutex_lock(&h->mu);
    for (w = h->waiters; w != NULL; w = w->next)
        if (strcmp(w->id, rid) == 0)
            w->cancelled = 1;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    free(rid);
}

static enum MHD_Result handle_post(http *h, struct MHD_Connection *c, const body *b)
{
    chio_json_doc *doc = NULL;
    const chio_json *root;
    const char *method;
    char *id = NULL;
    unsigned st;
    int init;
    enum MHD_Result ret;

    if (b->too_big)
        return rpc_error(c, 413, -32600, "chio: body too large");
    if (chio_json_parse(b->p ? b->p : "", b->len, &doc, NULL) != 0)
        return rpc_error(c, MHD_HTTP_BAD_REQUEST, -32700, "parse error");
    root = chio_json_root(doc);
    if (chio_json_typeof(root) != CHIO_JSON_OBJECT) {
        chio_json_doc_free(doc);
        return rpc_error(c, MHD_HTTP_BAD_REQUEST, -32600,
                         "chio: one JSON-RPC message per POST (no batches)");
    }
    method = chio_json_string(chio_json_get(root, "method"), NULL);
    init = method != NULL && strcmp(method, "initialize") == 0;
    if (init) {
        if (new_session(h) != 0) {
            chio_json_doc_free(doc);
            return rpc_error(c, MHD_HTTP_CONFLICT, -32600,
                             "chio: this gateway serves one session, and it exists");
        }
    } else if ((st = session_status(h, c)) != 0) {
        chio_json_doc_free(doc);
        return rpc_error(c, st, -32600,
                         st == MHD_HTTP_BAD_REQUEST ? "chio: Mcp-Session-Id missing"
                                                    : "chio: unknown session");
    }
    if (method != NULL && strcmp(method, "notifications/cancelled") == 0)
        cancel_waiter(h, root);
    if (method != NULL && chio_json_get(root, "id") != NULL)
        id = chio__mcp_dup_value(chio_json_get(root, "id"));
    chio_json_doc_free(doc);
    if (id != NULL) {
        ret = post_request(h, c, b, id, init);
        free(id);
        return ret;
    }
    chio_mcp_gateway_client_line(h->g, b->p, b->len);
    return reply(c, MHD_HTTP_ACCEPTED, NULL, "", NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    http *h = cls;
    body *b = *con_cls;
    unsigned st;

    (void)version;
    if (b == NULL) {
        b = calloc(1, sizeof(*b));
        if (b == NULL)
            return MHD_NO;
        *con_cls = b;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!b->too_big && b->len + *upload_size <= MAX_BODY) {
            char *np = realloc(b->p, b->len + *upload_size + 1);
            if (np == NULL)
                return MHD_NO;
            memcpy(np + b->len, upload, *upload_size);
            b->p = np;
            b->len += *upload_size;
            b->p[b->len] = '\0';
        } else {
            b->too_big = 1;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/mcp") != 0)
        return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n", NULL);
    if (!origin_ok(c))
        return reply(c, MHD_HTTP_FORBIDDEN, "text/plain", "origin refused\n", NULL);
    if (strcmp(method, "POST") == 0)
        return handle_post(h, c, b);
    if (strcmp(method, "DELETE") == 0) {
        if ((st = session_status(h, c)) != 0)
            return reply(c, st, "text/plain", "no such session\n", NULL);
        pthread_mutex_lock(&h->mu);
        h->deleted = 1;
        pthread_mutex_unlock(&h->mu);
        return reply(c, MHD_HTTP_OK, NULL, "", NULL);
    }
    return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "POST or DELETE\n", NULL);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    body *b = *con_cls;

    (void)cls;
    (void)c;
    (void)toe;
    if (b != NULL) {
        free(b->p);
        free(b);
    }
    *con_cls = NULL;
}

static int http_loop(void *user, chio_mcp_gateway *g, int wake_fd)
{
    http *h = user;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    struct pollfd pfd = {wake_fd, POLLIN, 0};

    h->g = g;
    d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL,
                         NULL, on_request, h, MHD_OPTION_SOCK_ADDR, &h->addr,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_CONNECTION_LIMIT,
                         (unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)600,
                         MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "chio mcp serve-http: cannot listen on %s:%u: %s\n",
                inet_ntoa(h->addr.sin_addr), ntohs(h->addr.sin_port), strerror(errno));
        return 2;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    fprintf(stderr, "chio mcp serve-http: listening on http://%s:%u/mcp\n",
            inet_ntoa(h->addr.sin_addr), info ? info->port : ntohs(h->addr.sin_port));
    while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
        ;
    pthread_mutex_lock(&h->mu);
    h->closing = 1;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    MHD_stop_daemon(d);
    return 1;
}

int chio_mcp_serve_http(const chio_mcp_policy *p, chio_kernel *k, const char *listen,
                        char *const *argv)
{
    chio__mcp_front front;
    http h;
    const char *colon = strrchr(listen, ':');
    char host[64];
    unsigned long port;
    char *end;
    int rc;

    memset(&h, 0, sizeof(h));
    h.addr.sin_family = AF_INET;
    if (colon == NULL || (size_t)(colon - listen) >= sizeof(host))
        return 2;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    port = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || colon[1] == '\0' || port > 65535 ||
        inet_pton(AF_INET, host, &h.addr.sin_addr) != 1 ||
        (ntohl(h.addr.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "chio mcp serve-http: --listen takes a loopback IPv4 address and a "
                        "port (127.0.0.1:PORT)\n");
        return 2;
    }
    h.addr.sin_port = htons((uint16_t)port);
    pthread_mutex_init(&h.mu, NULL);
    pthread_cond_init(&h.cv, NULL);
    front.send = http_send;
    front.user = &h;
    front.loop = http_loop;
    rc = chio__mcp_run(p, k, argv, &front);
    pthread_cond_destroy(&h.cv);
    pthread_mutex_destroy(&h.mu);
    return rc;
}
