/* SPDX-License-Identifier: Apache-2.0 */
/*
 * serve/http.c - the sidecar's HTTP server on libmicrohttpd: one thread per
 * connection (an evaluation blocks until its receipt is committed), the
 * listening socket bound here so that an address in use is reported as
 * such, bodies gathered up to max_body (413 past it), the idle timeout
 * enforced by libmicrohttpd, the connection count and the deadline for a
 * complete request by the connection guard (svc/svc_conn.h), the Host
 * header by the rule against DNS rebinding (svc/svc_host.h). Each request
 * is answered by chio_serve_handle() (handler.c); nothing here parses HTTP.
 * The stop lets the requests in flight be answered before libmicrohttpd
 * shuts the connections down (counted from their last byte in to their
 * answer's end in the stop gate, svc/svc_gate.h); those that come in
 * after it began are 503.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "serve.h"
#include "../svc/svc_conn.h"
#include "../svc/svc_gate.h"
#include "../svc/svc_host.h"
#include "../svc/svc_http.h"
#include "../svc/svc_log.h"
#include "../svc/svc_nul.h"

/* libmicrohttpd's memory per connection: the request line and headers must
 * fit in it (an X-Chio-Capability token is a header), so about 60 KB of
 * headers in all are read; larger ones are answered 431 by libmicrohttpd
 * itself. libmicrohttpd zeroes the whole pool after every request, so its
 * size is paid per call: 128 KiB cost about 4 us of a sidecar call, 64 KiB
 * about 2 (docs/performance.md, "In-process or sidecar"). */
#define CONNECTION_MEMORY (64 * 1024)
/* Seconds a connection has (or --timeout, when shorter), from its accept
 * or the end of its last answer, to deliver a complete request (headers
 * and body), until it has had a 2xx answer; then only the idle timeout
 * applies (svc_conn.h). */
#define REQUEST_SECS 10
/* Connections libmicrohttpd accepts past --max-connections, each to evict
 * the oldest connection waiting for a request (or be closed at once). */
#define EVICT_SLACK CHIO_SERVE_CONN_SLACK
/* A chunked body past max_body is read on and dropped, so that its 413 can
 * be answered once it ends (libmicrohttpd 0.9.75 queues no answer while a
 * body is being read); past max_body * 2 plus this many bytes in all the
 * connection is closed unanswered, so that a body without end cannot hold
 * its thread for as long as it flows (a connection past its first 2xx
 * answer has no request deadline). */
#define DROP_SLACK (64 * 1024)
/* Seconds chio_serve_http_stop() waits, past the request deadline, for
 * the requests in flight to be answered before libmicrohttpd shuts their
 * sockets down (a client not reading its answer is cut at the request
 * deadline by the connection guard, so this bounds a stalled store). */
#define STOP_SLACK_SECS 5

struct chio_serve_http {
    struct MHD_Daemon *d;
    svc_conn_guard *guard;
    chio_serve *s;
    svc_host_rule hosts; /* the Host headers accepted */
    size_t max_body;
    int fd;
    uint16_t port;
    svc_log_limit log; /* libmicrohttpd's lines: one a second */
    unsigned req_secs; /* the connection guard's request deadline */
    svc_gate gate;     /* complete requests until answered; closed by the stop */
};

/* One request's state between the calls libmicrohttpd makes for it. */
typedef struct req_ctx {
    char *body;
    size_t len, cap;
    size_t seen; /* bytes of the body read, kept or dropped */
    int too_big;
    int counted;   /* in h->gate until on_completed */
    int begun;     /* the access handler has seen the headers */
    size_t target; /* the target's length to its first NUL (svc_nul.h) */
} req_ctx;

/*
 * libmicrohttpd's error log (MHD_USE_ERROR_LOG): a line for each request it
 * cannot parse, before any token is checked, so any local client could
 * write lines to stderr as fast as it sends bad requests. At most one line
 * a second is written, naming how many were not since the last one; the
 * text is shown through svc_log_text() (one line, no control character).
 */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    chio_serve_http *h = cls;
    unsigned long long dropped = 0;
    char raw[512], shown[512];
    size_t n;

    if (!svc_log_limit_take(&h->log, &dropped))
        return;
    vsnprintf(raw, sizeof(raw), fmt, ap);
    n = strlen(raw);
    while (n > 0 && (raw[n - 1] == '\n' || raw[n - 1] == '\r'))
        raw[--n] = '\0';
    svc_log_text(shown, sizeof(shown), raw);
    if (dropped > 0)
        fprintf(stderr,
                "chio serve: libmicrohttpd: %s (%llu lines not shown since the last one: one a "
                "second)\n",
                shown, dropped);
    else
        fprintf(stderr, "chio serve: libmicrohttpd: %s\n", shown);
}

/* Queue @rep; with @close_after the connection closes once it is sent. */
static enum MHD_Result send_reply_ex(struct MHD_Connection *c, chio_serve_reply *rep,
                                     int close_after)
{
    struct MHD_Response *r;
    enum MHD_Result ok;

    if (rep->body == NULL)
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    else
        r = MHD_create_response_from_buffer(rep->body_len, rep->body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(rep->body);
        return MHD_NO;
    }
    if (rep->content_type != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rep->content_type);
    if (rep->allow != NULL) /* RFC 9110 15.5.6: a 405 names the methods it allows */
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, rep->allow);
    if (rep->challenge != NULL) /* RFC 9110 11.6.1: a 401 names its scheme */
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, rep->challenge);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (close_after)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    ok = MHD_queue_response(c, rep->status ? rep->status : 500, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result send_reply(struct MHD_Connection *c, chio_serve_reply *rep)
{
    return send_reply_ex(c, rep, 0);
}

/* The answer to a request that came in after the stop began (on a
 * keep-alive connection): 503, and the connection closes after it. */
static enum MHD_Result reply_stopping(struct MHD_Connection *c)
{
    chio_serve_reply rep;

    memset(&rep, 0, sizeof(rep));
    chio_serve_error_reply(&rep, 503, "draining", "the sidecar is stopping");
    return send_reply_ex(c, &rep, 1);
}

static enum MHD_Result reply_too_big(struct MHD_Connection *c, size_t max_body)
{
    chio_serve_reply rep;
    char msg[96];

    memset(&rep, 0, sizeof(rep));
    snprintf(msg, sizeof(msg), "the body is larger than %zu bytes (--max-body)", max_body);
    chio_serve_error_reply(&rep, 413, "body_too_large", msg);
    return send_reply(c, &rep);
}

/* MHD_get_connection_values callback: counts the Authorization ([0]) and
 * X-Chio-Capability ([1]) headers (names match in any case). */
static enum MHD_Result count_credentials(void *cls, enum MHD_ValueKind kind, const char *key,
                                         const char *value)
{
    unsigned *n = cls;

    (void)kind;
    (void)value;
    if (key != NULL && strcasecmp(key, MHD_HTTP_HEADER_AUTHORIZATION) == 0)
        n[0]++;
    else if (key != NULL && strcasecmp(key, "X-Chio-Capability") == 0)
        n[1]++;
    return MHD_YES;
}

/* Why the request's credentials are ambiguous, or NULL: libmicrohttpd
 * hands over the first of two same-named headers, so a second
 * Authorization or X-Chio-Capability was silently dropped (a wrong bearer
 * token after a right one passed; a proxy or log reading the last saw
 * another token than the one evaluated). Refused like two Hosts. */
static const char *repeated_credentials(struct MHD_Connection *c)
{
    unsigned n[2] = {0, 0};

    MHD_get_connection_values(c, MHD_HEADER_KIND, count_credentials, n);
    if (n[0] > 1)
        return "more than one Authorization header";
    if (n[1] > 1)
        return "more than one X-Chio-Capability header";
    return NULL;
}

/* Why the request's headers are refused before anything of it is read,
 * with its status in @status, or NULL: a NUL in its line or a header line
 * (400, svc_nul.h: every check below reads C strings), a body framed two
 * ways (400, svc_http.h), no Host on HTTP/1.1 or two Hosts (400), a Host
 * that is no loopback name, listen address or allowed name (403,
 * svc_host.h), two Authorization or two X-Chio-Capability headers (400). */
static const char *refused_headers(const chio_serve_http *h, struct MHD_Connection *c,
                                   const char *url, const char *method, const char *version,
                                   size_t target, unsigned *status, const char **code)
{
    const char *why;

    *status = 400;
    *code = "invalid_request";
    if ((why = svc_nul_problem(c, method, url, version, target)) != NULL ||
        (why = svc_http_framing_problem(c, version)) != NULL)
        return why;
    switch (svc_host_check(&h->hosts, c, version)) {
    case SVC_HOST_OK:
        return repeated_credentials(c);
    case SVC_HOST_MISSING:
        return "an HTTP/1.1 request needs a Host header";
    case SVC_HOST_DUPLICATE:
        return "more than one Host header";
    case SVC_HOST_REFUSED:
        break;
    }
    *status = 403;
    *code = "forbidden";
    return "the Host header names no loopback address, listen address or --allow-host name "
           "(a DNS-rebinding web page?)";
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    chio_serve_http *h = cls;
    req_ctx *rc = *con_cls;
    chio_serve_request rq;
    chio_serve_reply rep;
    const char *cl, *why, *code;
    unsigned status;
    enum MHD_Result ret;

    if (rc == NULL) /* on_uri ran out of memory */
        return MHD_NO;
    if (!rc->begun) { /* first call: headers only */
        rc->begun = 1;
        /* A NUL, two Content-Lengths, a malformed header name, a missing
         * or foreign Host (refused_headers): refused from the headers
         * alone, before any route runs (no receipt, no state); a body is
         * never read, and the connection closes after the answer. */
        if ((why = refused_headers(h, c, url, method, version, rc->target, &status, &code)) !=
            NULL) {
            rc->too_big = 1; /* nothing of the body is kept */
            memset(&rep, 0, sizeof(rep));
            chio_serve_error_reply(&rep, status, code, why);
            return send_reply(c, &rep);
        }
        cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl == NULL || strtoull(cl, NULL, 10) <= h->max_body)
            return MHD_YES;
        /* Refused from the headers alone: the body is never read, and
         * libmicrohttpd closes the connection after the answer. */
        rc->too_big = 1;
        return reply_too_big(c, h->max_body);
    }
    if (*upload_size > 0) {
        if (!rc->too_big && rc->len + *upload_size > h->max_body)
            rc->too_big = 1;
        rc->seen += *upload_size;
        if (rc->too_big && rc->seen > 2 * h->max_body + DROP_SLACK)
            return MHD_NO; /* a body without end: closed, unanswered */
        if (!rc->too_big) {
            if (rc->len + *upload_size + 1 > rc->cap) {
                size_t cap = rc->cap ? rc->cap : 4096;
                char *p;

                while (cap < rc->len + *upload_size + 1)
                    cap *= 2;
                /* Never past the largest body kept and its NUL: the docs
                 * promise at most --max-body per request, not twice it. */
                if (cap > h->max_body + 1)
                    cap = h->max_body + 1;
                p = realloc(rc->body, cap);
                if (p == NULL)
                    return MHD_NO;
                rc->body = p;
                rc->cap = cap;
            }
            memcpy(rc->body + rc->len, upload_data, *upload_size);
            rc->len += *upload_size;
            rc->body[rc->len] = '\0';
        }
        *upload_size = 0; /* consumed (or dropped, past the limit) */
        return MHD_YES;
    }
    svc_conn_guard_request(c, 0); /* the request is in: its deadline ends */
    /* Counted until answered, so that chio_serve_http_stop() lets it be
     * answered; once the stop began it is refused. */
    if (!svc_gate_enter(&h->gate, &rc->counted)) {
        ret = reply_stopping(c);
        svc_conn_guard_answered(c);
        return ret;
    }
    if (rc->too_big) {
        ret = reply_too_big(c, h->max_body);
        svc_conn_guard_answered(c);
        return ret;
    }
    memset(&rep, 0, sizeof(rep));
    memset(&rq, 0, sizeof(rq));
    rq.method = method;
    rq.path = url;
    rq.authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    rq.capability_header = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Chio-Capability");
    rq.origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    rq.body = rc->body;
    rq.body_len = rc->len;
    chio_serve_handle(h->s, &rq, &rep);
    if (rep.status >= 200 && rep.status < 300)
        svc_conn_guard_request(c, 1);
    ret = send_reply(c, &rep);
    svc_conn_guard_answered(c); /* its client has a deadline to read it */
    return ret;
}

/* MHD_OPTION_URI_LOG_CALLBACK: a request line came in. Its context is
 * made here, the one place the target is seen whole (svc_nul.h); NULL,
 * out of memory, closes the connection at the access handler. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    req_ctx *rc = calloc(1, sizeof(*rc));

    (void)cls;
    (void)c;
    if (rc != NULL)
        rc->target = svc_nul_target_len(uri);
    return rc;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    chio_serve_http *h = cls;
    req_ctx *rc = *con_cls;

    (void)code;
    svc_conn_guard_idle(c);
    if (rc != NULL) {
        svc_gate_leave(&h->gate, &rc->counted); /* answered, or its connection ended */
        free(rc->body);
        free(rc);
        *con_cls = NULL;
    }
}

/* Bind and listen on host:port; -1 with @msg on failure. */
static int listen_on(const char *host, uint16_t port, int *v6, char *msg, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int fd, one = 1, e;

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        ((struct sockaddr_in *)&ss)->sin_family = AF_INET;
        ((struct sockaddr_in *)&ss)->sin_port = htons(port);
        sl = sizeof(struct sockaddr_in);
        *v6 = 0;
    } else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        ((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
        sl = sizeof(struct sockaddr_in6);
        *v6 = 1;
    } else {
        snprintf(msg, cap, "'%s' is not a numeric IPv4 or IPv6 address", host);
        return -1;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(msg, cap, "socket: %s", strerror(errno));
        return -1;
    }
    /* SO_REUSEADDR lets a restart bind past TIME_WAIT; a live listener on
     * the port still makes bind fail (Linux needs SO_REUSEPORT on both). */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 128) != 0) {
        e = errno;
        close(fd);
        if (e == EADDRINUSE)
            snprintf(msg, cap,
                     "address %s port %u is already in use (another chio serve is running "
                     "there?)",
                     host, (unsigned)port);
        else
            snprintf(msg, cap, "cannot listen on %s port %u: %s", host, (unsigned)port,
                     strerror(e));
        return -1;
    }
    return fd;
}

int chio_serve_http_start(chio_serve *s, const chio_serve_http_config *cfg, chio_serve_http **out,
                          char *msg, size_t msgcap)
{
    chio_serve_http *h;
    const union MHD_DaemonInfo *info;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG;
    int v6 = 0;

    *out = NULL;
    h = calloc(1, sizeof(*h));
    if (h == NULL) {
        snprintf(msg, msgcap, "out of memory");
        return -1;
    }
    h->s = s;
    h->max_body = cfg->max_body;
    h->req_secs = cfg->timeout_secs < REQUEST_SECS ? cfg->timeout_secs : REQUEST_SECS;
    if (svc_gate_init(&h->gate) != 0) {
        snprintf(msg, msgcap, "out of memory");
        free(h);
        return -1;
    }
    svc_host_rule_init(&h->hosts, cfg->host, cfg->allow_hosts, cfg->n_allow_hosts);
    h->fd = listen_on(cfg->host, cfg->port, &v6, msg, msgcap);
    if (h->fd < 0) {
        svc_gate_destroy(&h->gate);
        free(h);
        return -1;
    }
    if (v6)
        flags |= MHD_USE_IPv6;
    if (svc_conn_guard_new(cfg->max_connections, h->req_secs, &h->guard) != 0) {
        snprintf(msg, msgcap, "out of memory");
        close(h->fd);
        svc_gate_destroy(&h->gate);
        free(h);
        return -1;
    }
    h->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, h,
        /* first: libmicrohttpd may log while it reads the options after it */
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h, MHD_OPTION_LISTEN_SOCKET, h->fd,
        MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections + EVICT_SLACK,
        MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_secs, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        h, MHD_OPTION_NOTIFY_CONNECTION, svc_conn_guard_notify, h->guard,
        MHD_OPTION_UNESCAPE_CALLBACK, svc_http_keep_escapes, NULL, MHD_OPTION_URI_LOG_CALLBACK,
        on_uri, NULL, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
        MHD_OPTION_END);
    if (h->d == NULL) {
        snprintf(msg, msgcap, "libmicrohttpd could not start on %s port %u", cfg->host,
                 (unsigned)cfg->port);
        svc_conn_guard_free(h->guard);
        close(h->fd);
        svc_gate_destroy(&h->gate);
        free(h);
        return -1;
    }
    info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info != NULL ? info->port : cfg->port;
    *out = h;
    return 0;
}

uint16_t chio_serve_http_port(const chio_serve_http *h)
{
    return h->port;
}

void chio_serve_http_stop(chio_serve_http *h)
{
    MHD_socket fd;

    if (h == NULL)
        return;
    /* Stop accepting first, then let the requests in flight be answered:
     * MHD_stop_daemon shuts every connection's socket down before it
     * joins the threads, and an evaluation whose receipt was committed
     * lost its answer there (review 46: the client saw a reset for a
     * decision in the log, and its retry was decided and counted again). */
    fd = MHD_quiesce_daemon(h->d);
    /* Not accepted any more, a new connection would wait in the backlog
     * for the whole wait below and then be reset: refused at once. The
     * socket is closed only after MHD_stop_daemon. */
    if (fd != MHD_INVALID_SOCKET)
        shutdown(fd, SHUT_RDWR);
    /* At most the request deadline (a client not reading its answer is
     * cut there by the connection guard) plus STOP_SLACK_SECS. */
    svc_gate_close(&h->gate);
    svc_gate_wait(&h->gate, (int)h->req_secs + STOP_SLACK_SECS);
    MHD_stop_daemon(h->d);
    svc_conn_guard_free(h->guard);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    svc_gate_destroy(&h->gate);
    free(h);
}
