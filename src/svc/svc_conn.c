/* SPDX-License-Identifier: Apache-2.0 */
/*
 * svc/svc_conn.c - the connection guard of svc_conn.h: a list of the
 * daemon's connections (from MHD_OPTION_NOTIFY_CONNECTION), eviction at
 * the cap when one is accepted, and a janitor thread that shuts down the
 * sockets of connections past their deadline for a complete request.
 * A socket is only shut down (never closed) and only under the mutex,
 * while its entry is listed: the entry leaves the list in the CLOSED
 * notification, which libmicrohttpd makes before it closes the socket,
 * so a shutdown never reaches a reused descriptor. The janitor sleeps on
 * CLOCK_MONOTONIC, as its deadlines are counted: on the wall clock, a
 * clock stepped back an hour (NTP, an operator) stopped it for that hour,
 * and no deadline was enforced meanwhile (review 48).
 */
#include "svc_conn.h"
#include "svc_gate.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

/* Milliseconds an answer may take to be read by the client before, at the
 * cap, its connection may be evicted like one waiting for a request. */
#define ANSWER_EVICT_MS 1000

typedef struct conn {
    struct conn *next;
    svc_conn_guard *g;
    int fd;
    int busy;                 /* inside a complete request: no deadline, not evicted */
    int answering;            /* busy, its answer queued: svc_conn_guard_answered() */
    long long answered;       /* ms: when the answer was queued */
    int trusted;              /* marked by the service (svc_conn.h) */
    int evicted;              /* shut down: no longer counted */
    long long since;          /* ms: when it began waiting for a request */
    unsigned long long order; /* the same, as a sequence number */
} conn;

struct svc_conn_guard {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    conn *conns;
    unsigned cap, req_secs;
    unsigned long long next_order;
    int stop;
    pthread_t janitor;
};

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void evict(conn *e)
{
    e->evicted = 1;
    shutdown(e->fd, SHUT_RDWR);
}

/* The connection whose answer has waited longest, at least
 * ANSWER_EVICT_MS, for its client to read it (a slow read), other than
 * @skip; NULL when none has. */
static conn *stalled(svc_conn_guard *g, const conn *skip, long long now)
{
    conn *e, *best = NULL;

    for (e = g->conns; e != NULL; e = e->next)
        if (e != skip && !e->evicted && e->answering && now - e->answered >= ANSWER_EVICT_MS &&
            (best == NULL || e->answered < best->answered))
            best = e;
    return best;
}

static void *janitor(void *arg)
{
    svc_conn_guard *g = arg;
    struct timespec ts;
    long long now;
    unsigned n;
    conn *e;

    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        now = now_ms();
        /* Past the cap, slow reads go first: with every slot held by one,
         * no connection is accepted whose arrival would evict one. */
        for (n = 0, e = g->conns; e != NULL; e = e->next)
            n += !e->evicted;
        for (; n > g->cap && (e = stalled(g, NULL, now)) != NULL; n--)
            evict(e);
        for (e = g->conns; e != NULL; e = e->next)
            if (!e->evicted &&
                ((!e->busy && !e->trusted && now - e->since >= (long long)g->req_secs * 1000) ||
                 (e->answering && now - e->answered >= (long long)g->req_secs * 1000)))
                evict(e);
        clock_gettime(CLOCK_MONOTONIC, &ts); /* the condition's clock (svc_conn_guard_new) */
        ts.tv_nsec += 250 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

int svc_conn_guard_new(unsigned cap, unsigned req_secs, svc_conn_guard **out)
{
    svc_conn_guard *g = calloc(1, sizeof(*g));

    *out = NULL;
    if (g == NULL)
        return -1;
    g->cap = cap;
    g->req_secs = req_secs;
    if (svc_cond_init_monotonic(&g->cv) != 0) {
        free(g);
        return -1;
    }
    pthread_mutex_init(&g->mu, NULL);
    if (pthread_create(&g->janitor, NULL, janitor, g) != 0) {
        pthread_cond_destroy(&g->cv);
        pthread_mutex_destroy(&g->mu);
        free(g);
        return -1;
    }
    *out = g;
    return 0;
}

void svc_conn_guard_free(svc_conn_guard *g)
{
    conn *e;

    if (g == NULL)
        return;
    pthread_mutex_lock(&g->mu);
    g->stop = 1;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->janitor, NULL);
    while ((e = g->conns) != NULL) {
        g->conns = e->next;
        free(e);
    }
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

/* Past the cap: the oldest connection waiting for a request, untrusted
 * first; else the one whose answer has waited longest (at least
 * ANSWER_EVICT_MS) for its client to read it; @skip (the new one) is never
 * chosen. NULL when all are busy. */
static conn *victim(svc_conn_guard *g, const conn *skip)
{
    conn *e, *best = NULL;

    for (e = g->conns; e != NULL; e = e->next) {
        if (e == skip || e->busy || e->evicted)
            continue;
        if (best == NULL || (best->trusted && !e->trusted) ||
            (best->trusted == e->trusted && e->order < best->order))
            best = e;
    }
    return best != NULL ? best : stalled(g, skip, now_ms());
}

static void started(svc_conn_guard *g, struct MHD_Connection *c, void **socket_context)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    conn *e = calloc(1, sizeof(*e)), *v;
    unsigned n = 0;

    if (ci == NULL || e == NULL) {
        /* Untracked: cannot be guarded, so it is not kept. */
        free(e);
        if (ci != NULL)
            shutdown(ci->connect_fd, SHUT_RDWR);
        return;
    }
    e->g = g;
    e->fd = ci->connect_fd;
    e->since = now_ms();
    pthread_mutex_lock(&g->mu);
    e->order = ++g->next_order;
    e->next = g->conns;
    g->conns = e;
    for (v = g->conns; v != NULL; v = v->next)
        n += !v->evicted;
    /* When every other connection is inside a request, the new one is
     * kept over the cap: libmicrohttpd's own limit (the cap plus its
     * slack) bounds them, and it is the first evicted after. */
    if (n > g->cap && (v = victim(g, e)) != NULL)
        evict(v);
    pthread_mutex_unlock(&g->mu);
    *socket_context = e;
}

static void closed(svc_conn_guard *g, void **socket_context)
{
    conn *e = *socket_context, **pp;

    if (e == NULL)
        return;
    pthread_mutex_lock(&g->mu);
    for (pp = &g->conns; *pp != NULL; pp = &(*pp)->next)
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    pthread_mutex_unlock(&g->mu);
    free(e);
    *socket_context = NULL;
}

void svc_conn_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                           enum MHD_ConnectionNotificationCode code)
{
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        started(cls, c, socket_context);
    else if (code == MHD_CONNECTION_NOTIFY_CLOSED)
        closed(cls, socket_context);
}

static conn *entry(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci != NULL ? ci->socket_context : NULL;
}

void svc_conn_guard_request(struct MHD_Connection *c, int trusted)
{
    conn *e = entry(c);

    if (e == NULL)
        return;
    pthread_mutex_lock(&e->g->mu);
    e->busy = 1;
    e->trusted |= trusted != 0;
    pthread_mutex_unlock(&e->g->mu);
}

void svc_conn_guard_answered(struct MHD_Connection *c)
{
    conn *e = entry(c);

    if (e == NULL)
        return;
    pthread_mutex_lock(&e->g->mu);
    if (e->busy && !e->answering) {
        e->answering = 1;
        e->answered = now_ms();
    }
    pthread_mutex_unlock(&e->g->mu);
}

void svc_conn_guard_idle(struct MHD_Connection *c)
{
    conn *e = entry(c);

    if (e == NULL)
        return;
    pthread_mutex_lock(&e->g->mu);
    e->busy = 0;
    e->answering = 0;
    e->since = now_ms();
    e->order = ++e->g->next_order;
    pthread_mutex_unlock(&e->g->mu);
}
