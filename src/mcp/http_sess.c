/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mcp/http_sess.c - the client sessions of `chio mcp serve-http` and their
 * streams. Each session has its own id (128 random bits, hex), its own
 * wrapped server process, gateway and kernel session. What the gateway
 * sends a client goes to one of the session's streams:
 *   - an answer to the POST that carried the request (as its JSON body or
 *     as the last event of its SSE stream, which then ends);
 *   - a request of the server made from inside a mediated call (allowed
 *     sampling or elicitation) to that call's SSE stream; a progress
 *     notification to the stream of the request whose progressToken it
 *     names; a log message to the oldest SSE stream of a POST in flight;
 *   - anything else, and what has no SSE stream of its own, to the
 *     session's standalone GET stream; without one a notification is
 *     dropped and a request fails at once (the gateway answers the server).
 * Streams queue at most CHIO__MCP_STREAM_QUEUE bytes each, a session's
 * linked streams CHIO__MCP_SESSION_QUEUE together and every stream of the
 * gateway CHIO__MCP_QUEUE_TOTAL; past a bound the stream holding the most
 * is closed (room()). How a session ends is http_janitor.c's: a janitor thread
 * finds idle sessions and hands each session that ended (DELETE, the idle
 * timeout, its server's death, shutdown) to a thread that tears it down,
 * then joins that thread and frees the session; shutdown waits until
 * every session is gone. A session's calls are cancelled before its
 * streams close, so that the answer of a call the kernel allowed
 * meanwhile still reaches its POST (end_calls()).
 *
 * A request let in stays noted in its session (s->inflight) until its
 * answer is routed, even after its POST's client left: its id is refused
 * 409 while the gateway still works on it, and its answer, when it comes,
 * is dropped rather than routed by id to a later POST.
 *
 * Locking: h->mu guards every field of httpd, hsess and stream (sessions,
 * streams, queues, counts, the requests let in); stream->cv and h->cv wait
 * on it. The gateway calls sess_send() holding its client_mu; with h->mu
 * held, code here calls into a gateway only to ask whether a request is in
 * flight (chio__mcp_request_in_flight(), which takes g->mu and nothing
 * else; the gateway never takes h->mu or client_mu with g->mu held), and
 * never into a child. Lock order: gateway g->client_mu -> h->mu -> g->mu.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "http_internal.h"

/* Milliseconds on the monotonic clock: whole seconds would end a session
 * up to a second before its --session-idle-secs. */
uint64_t chio__mcp_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- streams (h->mu held) -------------------------------------------------------- */

/* What event @e counts for in the queue bounds: its text and bookkeeping
 * (a server's many small messages cost more than their text). */
static size_t event_cost(const sse_event *e)
{
    return sizeof(*e) + e->len;
}

/* @st's queue grew (@grow) or shrank by @n bytes: the counts of its
 * session (while linked) and of the gateway follow. */
static void stream_count(stream *st, size_t n, int grow)
{
    if (grow) {
        st->queued += n;
        st->h->queued += n;
        if (st->s != NULL)
            st->s->queued += n;
    } else {
        st->queued -= n;
        st->h->queued -= n;
        if (st->s != NULL)
            st->s->queued -= n;
    }
}

/* Drop what @st has queued: nothing more of it is read. */
static void stream_drop_queue(stream *st)
{
    while (st->head != NULL) {
        sse_event *e = st->head;
        st->head = e->next;
        stream_count(st, event_cost(e), 0);
        free(e);
    }
    st->tail = NULL;
}

static void stream_free(stream *st)
{
    stream_drop_queue(st);
    if (st->hprev != NULL) {
        *st->hprev = st->hnext;
        if (st->hnext != NULL)
            st->hnext->hprev = st->hprev;
    }
    free(st->req_id);
    free(st->token);
    free(st->answer);
    pthread_cond_destroy(&st->cv);
    free(st);
}

/* Nothing more is routed to @st; freed here when no response holds it. */
static void stream_unlink(stream *st)
{
    hsess *s = st->s;
    stream **pp;

    if (s != NULL) {
        for (pp = &s->streams; *pp != NULL; pp = &(*pp)->next)
            if (*pp == st) {
                *pp = st->next;
                break;
            }
        if (st->standalone)
            s->has_standalone = 0;
        s->last_used = chio__mcp_mono_ms();
        /* What it still holds (its answer, not read out) counts in the
         * gateway's bound only from here. */
        s->queued -= st->queued;
        st->s = NULL;
    }
    pthread_cond_broadcast(&st->cv);
    if (!st->reader)
        stream_free(st);
}

/* End @st now. Its queue goes at once: the response holding the stream
 * (libmicrohttpd's, for a client that stopped reading, until the
 * connection's idle timeout) kept up to CHIO__MCP_STREAM_QUEUE of it. */
static void stream_close(stream *st)
{
    st->closed = 1;
    stream_drop_queue(st);
    stream_unlink(st);
}

void chio__mcp_close_streams(hsess *s)
{
    while (s->streams != NULL)
        stream_close(s->streams);
}

/* The stream of @s holding the most bytes queued among those whose answer
 * is not in yet, or NULL. A stream holding its answer is never closed for
 * a queue bound: the kernel allowed that call, and its client would get a
 * cut stream and no error (review 6: another session's flood closed a
 * 7.9 MB answer being read). */
static stream *stream_largest(hsess *s)
{
    stream *st, *most = NULL;

    for (st = s->streams; st != NULL; st = st->next)
        if (st->queued > 0 && !st->finished && (most == NULL || st->queued > most->queued))
            most = st;
    return most;
}

/* For the gateway's bound: the largest stream (as above) of the session
 * holding the most bytes queued, so that a flooding session loses its own
 * streams before a quiet one loses any; NULL when no session has one. */
static stream *gateway_victim(httpd *h)
{
    hsess *s, *fullest = NULL;
    stream *most = NULL, *cand;

    for (s = h->sessions; s != NULL; s = s->next)
        if ((cand = stream_largest(s)) != NULL &&
            (fullest == NULL || s->queued > fullest->queued)) {
            fullest = s;
            most = cand;
        }
    return most;
}

/* Make room for @n more bytes on @st: past its own cap @st is closed; past
 * its session's bound the largest stream of the session without its answer
 * is closed, past the gateway's the largest such stream of the fullest
 * session, again until the bytes fit or no such stream is left (then the
 * event is taken: answers queued are bounded by the connections). -1 when
 * @st itself was closed. */
static int room(stream *st, size_t n)
{
    hsess *s = st->s;
    httpd *h = st->h;
    stream *most;

    if (st->queued > 0 && st->queued + n > CHIO__MCP_STREAM_QUEUE) {
        fprintf(stderr,
                "chio mcp serve-http: session %s: a stream's client reads too slowly "
                "(%zu bytes queued); closing the stream\n",
                st->sid, st->queued);
        stream_close(st);
        return -1;
    }
    while (s->queued + n > CHIO__MCP_SESSION_QUEUE && (most = stream_largest(s)) != NULL) {
        fprintf(stderr,
                "chio mcp serve-http: session %s: its streams hold %zu bytes queued (%zu MiB at "
                "most); closing the stream holding the most (%zu bytes)\n",
                s->id, s->queued, CHIO__MCP_SESSION_QUEUE >> 20, most->queued);
        stream_close(most);
        if (most == st)
            return -1;
    }
    while (h->queued + n > CHIO__MCP_QUEUE_TOTAL && (most = gateway_victim(h)) != NULL) {
        fprintf(stderr,
                "chio mcp serve-http: the streams of every session hold %zu bytes queued (%zu MiB "
                "at most); closing the stream holding the most in the fullest session (%zu "
                "bytes, session %s)\n",
                h->queued, CHIO__MCP_QUEUE_TOTAL >> 20, most->queued, most->sid);
        stream_close(most);
        if (most == st)
            return -1;
    }
    return 0;
}

/* Queue one message as an SSE event: "id: N", "data: LINE". The gateway's
 * lines are single-line JSON; a CR or LF (whitespace there) would end the
 * data line, so they become spaces. */
static int stream_queue(stream *st, const char *line, size_t len)
{
    char head[48];
    int hl = snprintf(head, sizeof(head), "id: %llu\ndata: ", ++st->s->next_event);
    size_t n = (size_t)hl + len + 2, i;
    sse_event *e;

    if (room(st, sizeof(*e) + n) != 0)
        return -1;
    e = malloc(sizeof(*e) + n);
    if (e == NULL)
        return -1;
    e->next = NULL;
    e->len = n;
    e->off = 0;
    memcpy(e->text, head, (size_t)hl);
    for (i = 0; i < len; i++)
        e->text[hl + i] = line[i] == '\r' || line[i] == '\n' ? ' ' : line[i];
    memcpy(e->text + hl + len, "\n\n", 2);
    if (st->tail != NULL)
        st->tail->next = e;
    else
        st->head = e;
    st->tail = e;
    stream_count(st, event_cost(e), 1);
    pthread_cond_broadcast(&st->cv);
    return 0;
}

static stream *find_post(hsess *s, const char *req_id, int sse_only)
{
    stream *st;

    if (req_id == NULL)
        return NULL;
    for (st = s->streams; st != NULL; st = st->next)
        if (!st->standalone && (st->sse || !sse_only) && strcmp(st->req_id, req_id) == 0)
            return st;
    return NULL;
}

static stream *find_token(hsess *s, const char *token)
{
    stream *st;

    if (token == NULL)
        return NULL;
    for (st = s->streams; st != NULL; st = st->next)
        if (st->sse && st->token != NULL && strcmp(st->token, token) == 0)
            return st;
    return NULL;
}

static stream *find_kind(hsess *s, int standalone)
{
    stream *st;

    for (st = s->streams; st != NULL; st = st->next)
        if (standalone ? st->standalone : st->sse && !st->standalone)
            return st;
    return NULL;
}

/* ---- requests let in (h->mu held) ------------------------------------------------- */

static hreq **inflight_find(hsess *s, const char *id)
{
    hreq **pp;

    for (pp = &s->inflight; *pp != NULL; pp = &(*pp)->next)
        if (strcmp((*pp)->id, id) == 0)
            return pp;
    return NULL;
}

static void inflight_drop(hsess *s, hreq **pp)
{
    hreq *r = *pp;

    *pp = r->next;
    s->ninflight--;
    free(r->id);
    free(r);
}

/* Requests that ended without an answer (cancelled ones) are noted until
 * their id comes again; past twice the count left by the last sweep (at
 * least 64), those the gateway no longer works on go, so a client that
 * cancels every request does not grow the list. */
static void inflight_sweep(hsess *s)
{
    hreq **pp = &s->inflight;

    if (s->ninflight < s->sweep_at)
        return;
    while (*pp != NULL)
        if (find_post(s, (*pp)->id, 0) == NULL && !chio__mcp_request_in_flight(s->g, (*pp)->id))
            inflight_drop(s, pp);
        else
            pp = &(*pp)->next;
    s->sweep_at = 2 * s->ninflight > 64 ? 2 * s->ninflight : 64;
}

void chio__mcp_inflight_free(hsess *s)
{
    while (s->inflight != NULL)
        inflight_drop(s, &s->inflight);
}

/* ---- what the gateway sends a client (chio_mcp_send_fn) --------------------------- */

static int sess_send(void *user, const char *line, size_t len)
{
    hsess *s = user;
    httpd *h = s->h;
    chio_json_doc *doc = NULL;
    const chio_json *root, *params;
    const char *method, *related = chio__mcp_related_request();
    char *id = NULL, *token = NULL;
    stream *st = NULL;
    int rc = 0, request;

    if (chio_json_parse(line, len, &doc, NULL) != 0)
        return -1;
    root = chio_json_root(doc);
    method = chio_json_string(chio_json_get(root, "method"), NULL);
    params = chio_json_get(root, "params");
    if (chio_json_get(root, "id") != NULL)
        id = chio__mcp_dup_value(chio_json_get(root, "id"));
    request = method != NULL && id != NULL;
    if (method != NULL && strcmp(method, "notifications/progress") == 0)
        token = chio__mcp_dup_value(chio_json_get(params, "progressToken"));
    pthread_mutex_lock(&h->mu);
    if (method == NULL) { /* an answer: to the POST that asked */
        hreq **r = id != NULL ? inflight_find(s, id) : NULL;
        /* Only the request let in under this id, which is the one the
         * answer is for: no other is let in under it until this is done.
         * A request whose POST's client left has no stream: dropped. */
        if (r != NULL)
            inflight_drop(s, r);
        st = r != NULL ? find_post(s, id, 0) : NULL;
        if (st == NULL) {
            rc = -1;
        } else if (st->sse) {
            rc = stream_queue(st, line, len);
            if (rc == 0) {
                st->finished = 1;
                stream_unlink(st);
            }
        } else if ((st->answer = strndup(line, len)) != NULL) {
            st->finished = 1;
            stream_unlink(st);
        } else {
            rc = -1;
        }
    } else {
        st = find_post(s, related, 1);
        if (st == NULL)
            st = find_token(s, token);
        if (st == NULL && strcmp(method, "notifications/message") == 0)
            st = find_kind(s, 0);
        if (st == NULL)
            st = find_kind(s, 1);
        if (st != NULL)
            rc = stream_queue(st, line, len);
        else
            rc = request ? -1 : 0; /* a notification nobody can take is dropped */
    }
    pthread_mutex_unlock(&h->mu);
    chio_json_doc_free(doc);
    free(id);
    free(token);
    return rc;
}

static int sess_to_server(void *user, const char *line, size_t len)
{
    hsess *s = user;

    return chio__mcp_child_send(&s->child, line, len);
}

/* ---- sessions -------------------------------------------------------------------- */

static int id_equal(const char *a, const char *b)
{
    unsigned char d = 0;
    size_t i;

    if (strlen(b) != 32)
        return 0;
    for (i = 0; i < 32; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

hsess *chio__mcp_sess_find(httpd *h, const char *id)
{
    hsess *s;

    pthread_mutex_lock(&h->mu);
    for (s = h->sessions; s != NULL; s = s->next)
        if (s->ready && !s->ending && id_equal(s->id, id)) {
            s->busy++;
            s->last_used = chio__mcp_mono_ms();
            break;
        }
    pthread_mutex_unlock(&h->mu);
    return s;
}

void chio__mcp_sess_release(hsess *s)
{
    httpd *h = s->h;

    pthread_mutex_lock(&h->mu);
    s->busy--;
    s->last_used = chio__mcp_mono_ms();
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

void chio__mcp_sess_end_locked(hsess *s, int why)
{
    if (s->ending == END_NONE) {
        s->ending = why;
        pthread_cond_broadcast(&s->h->cv);
    }
}

void chio__mcp_sess_end(hsess *s, int why)
{
    pthread_mutex_lock(&s->h->mu);
    chio__mcp_sess_end_locked(s, why);
    pthread_mutex_unlock(&s->h->mu);
}

void chio__mcp_sess_undelivered(httpd *h, const char *id)
{
    hsess *s;

    pthread_mutex_lock(&h->mu);
    for (s = h->sessions; s != NULL; s = s->next)
        if (s->ready && !s->ending && id_equal(s->id, id)) {
            fprintf(stderr,
                    "chio mcp serve-http: the client that opened session %s left before the "
                    "answer naming it was sent; ending the session\n",
                    s->id);
            chio__mcp_sess_end_locked(s, END_UNDELIVERED);
            break;
        }
    pthread_mutex_unlock(&h->mu);
}

/* The wrapped server's output ended (on its reader thread). */
static void server_exited(void *user)
{
    hsess *s = user;

    pthread_mutex_lock(&s->h->mu);
    if (s->ending == END_NONE)
        fprintf(stderr,
                "chio mcp serve-http: the wrapped server of session %s exited; ending the "
                "session\n",
                s->id);
    chio__mcp_sess_end_locked(s, END_SERVER);
    pthread_mutex_unlock(&s->h->mu);
}

void chio__mcp_sess_unlink(httpd *h, hsess *s)
{
    hsess **pp;

    for (pp = &h->sessions; *pp != NULL; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            h->nsessions--;
            break;
        }
    pthread_cond_broadcast(&h->cv);
}

int chio__mcp_sess_create(httpd *h, hsess **out, int *full)
{
    unsigned char r[16];
    hsess *s;
    int i, rc;

    *out = NULL;
    *full = 0;
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
        return -2;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -2;
    s->h = h;
    for (i = 0; i < 16; i++)
        snprintf(s->id + 2 * i, 3, "%02x", r[i]);
    pthread_mutex_lock(&h->mu);
    if (h->closing || h->nsessions >= h->max_sessions) {
        *full = !h->closing;
        pthread_mutex_unlock(&h->mu);
        free(s);
        return -1;
    }
    s->next = h->sessions;
    h->sessions = s;
    h->nsessions++;
    s->busy = 1;
    s->last_used = chio__mcp_mono_ms();
    pthread_mutex_unlock(&h->mu);

    rc = chio_mcp_gateway_open(h->hub, sess_send, sess_to_server, s, &s->g);
    if (rc == 0 && chio__mcp_child_spawn(&s->child, h->argv) != 0) {
        fprintf(stderr, "chio mcp serve-http: cannot start the wrapped server %s: %s\n", h->argv[0],
                strerror(errno));
        rc = -2;
    } else if (rc == 0 && chio__mcp_child_start(&s->child, s->g, server_exited, s) != 0) {
        chio__mcp_child_stop(&s->child);
        rc = -2;
    }
    pthread_mutex_lock(&h->mu);
    if (rc != 0) {
        chio__mcp_sess_unlink(h, s);
        pthread_mutex_unlock(&h->mu);
        chio_mcp_gateway_free(s->g);
        free(s);
        return -2;
    }
    s->ready = 1;
    if (h->closing)
        chio__mcp_sess_end_locked(s, END_SHUTDOWN);
    pthread_mutex_unlock(&h->mu);
    *out = s;
    return 0;
}

/* ---- streams of a session --------------------------------------------------------- */

stream *chio__mcp_stream_open(hsess *s, int sse, const char *req_id, const char *token,
                              int *conflict)
{
    httpd *h = s->h;
    stream *st = calloc(1, sizeof(*st)), **pp;

    *conflict = 0;
    if (st == NULL)
        return NULL;
    st->sse = sse;
    st->standalone = req_id == NULL;
    if ((req_id != NULL && (st->req_id = strdup(req_id)) == NULL) ||
        (token != NULL && (st->token = strdup(token)) == NULL)) {
        free(st->req_id);
        free(st);
        return NULL;
    }
    chio__mcp_cond_init(&st->cv);
    st->h = h;
    st->reader = 1;
    pthread_mutex_lock(&h->mu);
    if (req_id != NULL && !s->ending && !h->closing) {
        hreq **old = inflight_find(s, req_id);
        /* Let in before, answer not routed: in flight while its stream is
         * linked or the gateway works on it; else it ended unanswered
         * (cancelled), and its note goes. */
        if (old != NULL && find_post(s, req_id, 0) == NULL &&
            !chio__mcp_request_in_flight(s->g, req_id)) {
            inflight_drop(s, old);
            old = NULL;
        }
        if (old != NULL || find_post(s, req_id, 0) != NULL) {
            *conflict = 2;
            pthread_mutex_unlock(&h->mu);
            stream_free(st);
            return NULL;
        }
        inflight_sweep(s);
    }
    if (s->ending || h->closing || (st->standalone && s->has_standalone)) {
        if (!s->ending && !h->closing)
            *conflict = 1;
        pthread_mutex_unlock(&h->mu);
        stream_free(st);
        return NULL;
    }
    if (req_id != NULL) {
        hreq *r = calloc(1, sizeof(*r));
        if (r == NULL || (r->id = strdup(req_id)) == NULL) {
            free(r);
            pthread_mutex_unlock(&h->mu);
            stream_free(st);
            return NULL;
        }
        r->next = s->inflight;
        s->inflight = r;
        s->ninflight++;
    }
    st->s = s;
    memcpy(st->sid, s->id, sizeof(st->sid));
    st->hnext = h->streams;
    if (h->streams != NULL)
        h->streams->hprev = &st->hnext;
    st->hprev = &h->streams;
    h->streams = st;
    if (st->standalone)
        s->has_standalone = 1;
    for (pp = &s->streams; *pp != NULL; pp = &(*pp)->next)
        ; /* oldest first */
    *pp = st;
    pthread_mutex_unlock(&h->mu);
    return st;
}

void chio__mcp_stream_cancel(hsess *s, const char *req_id)
{
    stream *st;

    pthread_mutex_lock(&s->h->mu);
    st = find_post(s, req_id, 0);
    if (st != NULL)
        stream_close(st);
    pthread_mutex_unlock(&s->h->mu);
}

int chio__mcp_stream_wait_answer(stream *st, int ms, char **answer)
{
    struct timespec ts;
    int done;

    chio__mcp_deadline(&ts, ms);
    pthread_mutex_lock(&st->h->mu);
    while (!st->finished && !st->closed)
        if (pthread_cond_timedwait(&st->cv, &st->h->mu, &ts) == ETIMEDOUT)
            break;
    done = st->finished || st->closed;
    *answer = st->answer;
    st->answer = NULL;
    pthread_mutex_unlock(&st->h->mu);
    return done;
}

long chio__mcp_stream_read(stream *st, char *buf, size_t max)
{
    return chio__mcp_stream_read_until(st, buf, max, NULL, NULL);
}

long chio__mcp_stream_read_until(stream *st, char *buf, size_t max, int (*gone)(void *), void *arg)
{
    static const char ping[] = ": keepalive\n\n";
    pthread_mutex_t *mu = &st->h->mu;
    struct timespec keepalive;
    long n = -1;

    clock_gettime(CLOCK_MONOTONIC, &keepalive);
    keepalive.tv_sec += CHIO__MCP_KEEPALIVE_SECS;
    pthread_mutex_lock(mu);
    for (;;) {
        struct timespec ts;
        if (st->closed)
            break;
        if (st->head != NULL) {
            sse_event *e = st->head;
            size_t k = e->len - e->off < max ? e->len - e->off : max;
            memcpy(buf, e->text + e->off, k);
            e->off += k;
            if (e->off == e->len) {
                st->head = e->next;
                if (st->head == NULL)
                    st->tail = NULL;
                stream_count(st, event_cost(e), 0);
                free(e);
            }
            n = (long)k;
            break;
        }
        if (st->finished) {
            st->drained = 1;
            break;
        }
        /* A second at a time: a client that closed its socket is seen
         * within one (a keepalive write may succeed on a closed socket,
         * and a GET stream it left blocked a new one until then). */
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += 1;
        if (ts.tv_sec > keepalive.tv_sec ||
            (ts.tv_sec == keepalive.tv_sec && ts.tv_nsec > keepalive.tv_nsec))
            ts = keepalive;
        if (pthread_cond_timedwait(&st->cv, mu, &ts) != ETIMEDOUT || st->head != NULL ||
            st->finished || st->closed)
            continue;
        if (gone != NULL && gone(arg))
            break;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        if ((ts.tv_sec > keepalive.tv_sec ||
             (ts.tv_sec == keepalive.tv_sec && ts.tv_nsec >= keepalive.tv_nsec)) &&
            max >= sizeof(ping) - 1) {
            memcpy(buf, ping, sizeof(ping) - 1);
            n = (long)(sizeof(ping) - 1);
            break;
        }
    }
    pthread_mutex_unlock(mu);
    return n;
}

int chio__mcp_stream_drained(stream *st)
{
    int d;

    pthread_mutex_lock(&st->h->mu);
    d = st->drained && !st->closed;
    pthread_mutex_unlock(&st->h->mu);
    return d;
}

void chio__mcp_stream_release(stream *st)
{
    httpd *h = st->h;

    pthread_mutex_lock(&h->mu);
    st->reader = 0;
    stream_unlink(st); /* frees it; a client gone mid-stream unlinks it too */
    pthread_mutex_unlock(&h->mu);
}
