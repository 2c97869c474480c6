/* SPDX-License-Identifier: Apache-2.0 */
/*
 * svc/svc_gate.c - the stop gate of the services' HTTP fronts (svc_gate.h):
 * a count of the requests being answered under one mutex, a condition the
 * stop waits on, and the closed flag that turns later requests away.
 */
#include "svc_gate.h"

#include <errno.h>
#include <time.h>

int svc_cond_init_monotonic(pthread_cond_t *cv)
{
    pthread_condattr_t ca;
    int rc;

    if (pthread_condattr_init(&ca) != 0)
        return -1;
    rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 && pthread_cond_init(cv, &ca) == 0
             ? 0
             : -1;
    pthread_condattr_destroy(&ca);
    return rc;
}

int svc_gate_init(svc_gate *g)
{
    int rc;

    g->inside = 0;
    g->closed = 0;
    /* The stop's bounded wait must not move with the wall clock. */
    rc = svc_cond_init_monotonic(&g->empty);
    if (rc == 0 && pthread_mutex_init(&g->mu, NULL) != 0) {
        pthread_cond_destroy(&g->empty);
        rc = -1;
    }
    return rc;
}

void svc_gate_destroy(svc_gate *g)
{
    pthread_cond_destroy(&g->empty);
    pthread_mutex_destroy(&g->mu);
}

int svc_gate_enter(svc_gate *g, int *counted)
{
    int ok;

    if (*counted)
        return 1;
    pthread_mutex_lock(&g->mu);
    ok = !g->closed;
    if (ok) {
        g->inside++;
        *counted = 1;
    }
    pthread_mutex_unlock(&g->mu);
    return ok;
}

void svc_gate_leave(svc_gate *g, int *counted)
{
    if (!*counted)
        return;
    *counted = 0;
    pthread_mutex_lock(&g->mu);
    if (--g->inside == 0)
        pthread_cond_broadcast(&g->empty);
    pthread_mutex_unlock(&g->mu);
}

unsigned svc_gate_close(svc_gate *g)
{
    unsigned n;

    pthread_mutex_lock(&g->mu);
    g->closed = 1;
    n = g->inside;
    pthread_mutex_unlock(&g->mu);
    return n;
}

unsigned svc_gate_wait(svc_gate *g, int secs)
{
    struct timespec until;
    unsigned n;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += secs;
    pthread_mutex_lock(&g->mu);
    while (g->inside > 0 && pthread_cond_timedwait(&g->empty, &g->mu, &until) != ETIMEDOUT)
        ;
    n = g->inside;
    pthread_mutex_unlock(&g->mu);
    return n;
}
