/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mcp/http_janitor.c - how the sessions of `chio mcp serve-http` end: the
 * janitor thread that finds idle and ended sessions, the teardown thread
 * each ended session gets (its calls cancelled first, then its streams
 * closed, its gateway and server stopped), and starting and stopping the
 * janitor with the daemon. Sessions and streams themselves are
 * http_sess.c's; locking as described there.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_internal.h"

/* ---- ending sessions -------------------------------------------------------------- */

/* Wait up to @ms until no handler of @s is inside the gateway (one let in
 * before the session ended may be about to start a call). */
static void wait_handlers(httpd *h, hsess *s, int ms)
{
    struct timespec ts;

    chio__mcp_deadline(&ts, ms);
    pthread_mutex_lock(&h->mu);
    while (s->busy > 0)
        if (pthread_cond_timedwait(&h->cv, &h->mu, &ts) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&h->mu);
}

/* The client ended @s (or we did): its calls are cancelled, then its
 * streams end. The calls go first, and the streams stay until the calls
 * ended (at most CHIO__MCP_END_CALLS_SECS): a call whose decision the
 * kernel was committing when the cancellation came is allowed, and its
 * answer must reach its POST; one cancelled ends with no answer, and its
 * POST ends when the streams close (503, or an SSE stream without the
 * answer). Before review 46 the streams were closed first: at SIGTERM,
 * calls answered by their server just then had allow receipts while
 * their clients were told that they were cancelled. */
static void end_calls(httpd *h, hsess *s)
{
    chio_mcp_gateway_cancel_all(s->g);
    wait_handlers(h, s, 1000);
    chio_mcp_gateway_cancel_all(s->g); /* a call a handler started meanwhile */
    chio_mcp_gateway_wait_idle_ms(s->g, CHIO__MCP_END_CALLS_SECS * 1000);
    pthread_mutex_lock(&h->mu);
    chio__mcp_close_streams(s);
    pthread_mutex_unlock(&h->mu);
}

static void teardown(httpd *h, hsess *s)
{
    int why;

    pthread_mutex_lock(&h->mu);
    why = s->ending;
    pthread_mutex_unlock(&h->mu);
    /* A dead server's session first lets its calls answer (each fails
     * with the server's exit); any other's calls are cancelled. */
    if (why != END_SERVER)
        end_calls(h, s);
    chio_mcp_gateway_client_closed(s->g);
    /* The server goes before the wait for handlers: a send to it fails at
     * once from here on (feed.c), and no send ever waits on it. */
    chio__mcp_child_stop(&s->child);
    pthread_mutex_lock(&h->mu);
    while (s->busy > 0)
        pthread_cond_wait(&h->cv, &h->mu);
    pthread_mutex_unlock(&h->mu);
    chio_mcp_gateway_wait_idle(s->g);
    pthread_mutex_lock(&h->mu);
    chio__mcp_close_streams(s);
    pthread_mutex_unlock(&h->mu);
    chio_mcp_gateway_free(s->g);
    s->g = NULL;
    pthread_mutex_lock(&h->mu);
    s->done = 1; /* the janitor joins this thread, unlinks and frees */
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

static void *teardown_main(void *arg)
{
    hsess *s = arg;

    teardown(s->h, s);
    return NULL;
}

/* Does the gateway still work on a request of @s let in (a call whose
 * POST's client left, say)? Under h->mu. */
static int working(hsess *s)
{
    hreq *r;

    for (r = s->inflight; r != NULL; r = r->next)
        if (chio__mcp_request_in_flight(s->g, r->id))
            return 1;
    return 0;
}

static void *janitor_main(void *arg)
{
    httpd *h = arg;
    hsess *s;

    pthread_mutex_lock(&h->mu);
    for (;;) {
        struct timespec ts;
        uint64_t now = chio__mcp_mono_ms();
        for (s = h->sessions; s != NULL && !s->done; s = s->next)
            ;
        if (s != NULL) { /* torn down: its slot is free */
            chio__mcp_sess_unlink(h, s);
            pthread_mutex_unlock(&h->mu);
            if (s->threaded)
                pthread_join(s->tearer, NULL);
            chio__mcp_inflight_free(s);
            free(s);
            pthread_mutex_lock(&h->mu);
            continue;
        }
        for (s = h->sessions; s != NULL; s = s->next) {
            /* A request whose POST's client left is still the session's
             * work until it ends (mcp.md): the idle time counts from then. */
            if (s->ready && s->ending == END_NONE && s->busy == 0 && s->streams == NULL &&
                working(s))
                s->last_used = now;
            if (s->ready && s->ending == END_NONE && s->busy == 0 && s->streams == NULL &&
                now - s->last_used >= (uint64_t)h->idle_secs * 1000u) {
                fprintf(stderr, "chio mcp serve-http: session %s idle for %us; ending it\n", s->id,
                        h->idle_secs);
                s->ending = END_IDLE;
            }
            if (s->ready && !s->torn && s->ending != END_NONE)
                break;
        }
        if (s != NULL) {
            s->torn = 1;
            pthread_mutex_unlock(&h->mu);
            /* Each on a thread of its own: a server slow to exit (up to
             * three seconds) holds up no other session's end. */
            s->threaded = pthread_create(&s->tearer, NULL, teardown_main, s) == 0;
            if (!s->threaded)
                teardown(h, s);
            pthread_mutex_lock(&h->mu);
            continue;
        }
        if (h->janitor_stop && h->sessions == NULL)
            break;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&h->cv, &h->mu, &ts);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

int chio__mcp_sess_init(httpd *h)
{
    pthread_mutex_init(&h->mu, NULL);
    chio__mcp_cond_init(&h->cv);
    if (pthread_create(&h->janitor, NULL, janitor_main, h) != 0) {
        pthread_cond_destroy(&h->cv);
        pthread_mutex_destroy(&h->mu);
        return -1;
    }
    return 0;
}

void chio__mcp_sess_shutdown(httpd *h)
{
    hsess *s;

    pthread_mutex_lock(&h->mu);
    h->closing = 1;
    for (s = h->sessions; s != NULL; s = s->next)
        chio__mcp_sess_end_locked(s, END_SHUTDOWN);
    h->janitor_stop = 1;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->janitor, NULL);
}

void chio__mcp_sess_fini(httpd *h)
{
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
}
