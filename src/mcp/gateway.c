/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mcp/gateway.c - the MCP gateway itself: sending to each peer (each
 * side's sends serialised; the JSON-RPC results and errors the gateway
 * writes), the table of the gateway's pending requests (its own and those
 * it passed on) and the gateway's lifecycle (open, the peers closing,
 * cancelling every call, waiting for the workers, free). What each
 * message from the client or the server is and where it goes is
 * messages.c's.
 * Locking (for every gateway file: this one, messages.c, peer.c, route.c, provider.c):
 * one mutex (g->mu) guards the pending table, the worker list (with each
 * worker's queue of nested requests and its waiting flag) and the state
 * (set-up state, closed flags, init_answered); one condition variable
 * (g->cv) wakes every waiter. A worker waiting for a peer's answer
 * (chio__mcp_call_peer) waits on g->cv at most 100 ms at a time so that
 * it sees its call cancelled, and drops g->mu to run a nested request.
 * A worker's cancel flag is atomic: the kernel reads it with no lock.
 * Sends to each peer are serialised by their own mutexes (client_mu,
 * server_mu) and never made with g->mu held. hub->mu (with hub->cv)
 * guards the hub's registration state and its list of live gateways; every place that
 * takes it (route.c) holds no gateway lock. Lock order, where two are
 * held: g->mu -> hub->mu; client_mu -> the transport's own lock (the
 * HTTP transport's, see http_sess.c).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway_internal.h"

/* ---- sending -------------------------------------------------------------------- */

/* One message to one side, whole: each side's sends are serialised. */
static int send_locked(pthread_mutex_t *mu, chio_mcp_send_fn to, void *io, const svc_buf *b)
{
    int rc;

    if (b->oom)
        return -1;
    pthread_mutex_lock(mu);
    rc = to(io, b->p, b->len);
    pthread_mutex_unlock(mu);
    return rc;
}

int chio__mcp_send_client(chio_mcp_gateway *g, const svc_buf *b)
{
    return send_locked(&g->client_mu, g->to_client, g->io, b);
}

int chio__mcp_send_server(chio_mcp_gateway *g, const svc_buf *b)
{
    return send_locked(&g->server_mu, g->to_server, g->io, b);
}

/* {"jsonrpc":"2.0","id":ID,"error":{"code":C,"message":M[,"data":D]}} to the client. */
void chio__mcp_client_error(chio_mcp_gateway *g, const char *id, int code, const char *msg,
                            const char *data)
{
    svc_buf b = {0};

    svc_buf_printf(&b, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":%d,\"message\":",
                   id ? id : "null", code);
    svc_buf_json_cstr(&b, msg);
    if (data != NULL) {
        svc_buf_puts(&b, ",\"data\":");
        svc_buf_puts(&b, data);
    }
    svc_buf_puts(&b, "}}");
    chio__mcp_send_client(g, &b);
    free(b.p);
}

void chio__mcp_server_error(chio_mcp_gateway *g, const char *id, int code, const char *msg)
{
    svc_buf b = {0};

    svc_buf_printf(&b, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":%d,\"message\":", id,
                   code);
    svc_buf_json_cstr(&b, msg);
    svc_buf_puts(&b, "}}");
    chio__mcp_send_server(g, &b);
    free(b.p);
}

void chio__mcp_client_result(chio_mcp_gateway *g, const char *id, const char *result)
{
    svc_buf b = {0};

    svc_buf_printf(&b, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":", id);
    svc_buf_puts(&b, result);
    svc_buf_puts(&b, "}");
    chio__mcp_send_client(g, &b);
    free(b.p);
}

/* ---- pending requests ---------------------------------------------------------- */

pending *chio__mcp_pending_add(chio_mcp_gateway *g, int kind)
{
    pending *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    p->kind = kind;
    p->id = ++g->next_id;
    p->next = g->pend;
    g->pend = p;
    return p;
}

void chio__mcp_pending_unlink(chio_mcp_gateway *g, pending *p)
{
    pending **pp;

    for (pp = &g->pend; *pp != NULL; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            return;
        }
}

void chio__mcp_pending_free(pending *p)
{
    if (p == NULL)
        return;
    free(p->client_id);
    free(p->result);
    free(p->error);
    free(p);
}

/* ---- lifecycle ----------------------------------------------------------------- */

void chio__mcp_server_why(chio_mcp_gateway *g, const char *why)
{
    pthread_mutex_lock(&g->mu);
    if (g->server_why == NULL)
        g->server_why = why;
    pthread_mutex_unlock(&g->mu);
}

int chio__mcp_request_in_flight(chio_mcp_gateway *g, const char *client_id)
{
    const worker *w;
    const pending *p;
    int hit = 0;

    pthread_mutex_lock(&g->mu);
    for (w = g->workers; w != NULL && !hit; w = w->next)
        hit = strcmp(w->client_id, client_id) == 0;
    for (p = g->pend; p != NULL && !hit; p = p->next)
        hit = (p->kind == P_PASS || p->kind == P_LIST) && p->client_id != NULL &&
              strcmp(p->client_id, client_id) == 0;
    pthread_mutex_unlock(&g->mu);
    return hit;
}

void chio_mcp_gateway_server_closed(chio_mcp_gateway *g)
{
    const char *why;
    char m[320];
    pending *p;

    pthread_mutex_lock(&g->mu);
    g->server_closed = 1;
    why = g->server_why != NULL ? g->server_why : "the wrapped MCP server exited before answering";
    for (p = g->pend; p != NULL; p = p->next)
        if (p->kind == P_WAIT && !p->done) {
            p->error = strdup(why);
            p->done = 1;
        }
    pthread_cond_broadcast(&g->cv);
    snprintf(m, sizeof(m), "chio: %s", why);
    /* Each passed request stays in the table (in flight) until its error
     * is sent: over HTTP a request reusing its id is refused until then,
     * so the error cannot reach that request's POST. */
    for (;;) {
        for (p = g->pend; p != NULL; p = p->next)
            if ((p->kind == P_PASS || p->kind == P_LIST) && !p->answering)
                break;
        if (p == NULL)
            break;
        p->answering = 1;
        pthread_mutex_unlock(&g->mu);
        chio__mcp_client_error(g, p->client_id, -32000, m, NULL);
        pthread_mutex_lock(&g->mu);
        chio__mcp_pending_unlink(g, p);
        g->npassed--;
        chio__mcp_pending_free(p);
    }
    pthread_mutex_unlock(&g->mu);
}

void chio_mcp_gateway_client_closed(chio_mcp_gateway *g)
{
    pending *p;

    pthread_mutex_lock(&g->mu);
    g->client_closed = 1;
    for (p = g->pend; p != NULL; p = p->next)
        if (p->kind == P_CLIENT && !p->done) {
            p->error = strdup("the MCP client is gone");
            p->done = 1;
        }
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

void chio_mcp_gateway_cancel_all(chio_mcp_gateway *g)
{
    worker *w;

    pthread_mutex_lock(&g->mu);
    for (w = g->workers; w != NULL; w = w->next)
        __atomic_store_n(&w->cancel, 1, __ATOMIC_SEQ_CST); /* read by the kernel */
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

int chio_mcp_gateway_kernel_used(chio_mcp_gateway *g)
{
    int used;

    pthread_mutex_lock(&g->mu);
    used = g->state != ST_NEW;
    pthread_mutex_unlock(&g->mu);
    return used;
}

int chio_mcp_gateway_server_is_closed(chio_mcp_gateway *g)
{
    int c;

    pthread_mutex_lock(&g->mu);
    c = g->server_closed;
    pthread_mutex_unlock(&g->mu);
    return c;
}

void chio_mcp_gateway_wait_idle(chio_mcp_gateway *g)
{
    pthread_mutex_lock(&g->mu);
    while (g->nworkers > 0)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

int chio_mcp_gateway_wait_idle_ms(chio_mcp_gateway *g, int ms)
{
    struct timespec ts;
    int idle;

    chio__mcp_deadline(&ts, ms);
    pthread_mutex_lock(&g->mu);
    while (g->nworkers > 0)
        if (pthread_cond_timedwait(&g->cv, &g->mu, &ts) != 0)
            break;
    idle = g->nworkers == 0;
    pthread_mutex_unlock(&g->mu);
    return idle;
}

/* The lifetime of a gateway's capability. The token never leaves the
 * process (the kernel issues it to itself), and it must outlive every
 * budget charged under its id: the kernel drops a budget once the latest
 * token charged against it has expired, so a shorter lifetime would start
 * a grant's max_invocations afresh some days after its last call (at the
 * next start, or at a sweep while serving). 100 years of 365.25 days. */
#define MCP_CAP_TTL_SECS (36525ull * 86400ull)

/*
 * The id of the capability a gateway issues: "chio-mcp-" and the SHA-256
 * (hex) of the kernel's public key, the policy's server_id and its scope
 * (tool, resource and prompt grants as canonical JSON, see build_scope in
 * policy.c), each ended by a NUL. The kernel keys invocation budgets by
 * capability id (and grant index) and keeps them across restarts in the
 * receipt store, so every session of a hub, every start of the gateway on
 * the same store, key and grants, and every gateway run with the same
 * grants shares one budget per grant: max_invocations counts calls of the
 * policy, not of a session (review 45). Two tokens of one id differ only
 * in issued_at and expires_at; the kernel shares a budget between such
 * tokens (a renewal, budget.c) and never sees both in one session.
 */
static int stable_cap_id(const chio_mcp_policy *p, chio_kernel *k, char *out, size_t cap)
{
    const char *key = chio_kernel_public_hex(k);
    svc_buf b = {0};
    char hex[65];
    int rc;

    if (key == NULL)
        return CHIO_EINVAL;
    svc_buf_puts(&b, "chio.mcp-capability-id.v1");
    svc_buf_add(&b, "", 1);
    svc_buf_puts(&b, key);
    svc_buf_add(&b, "", 1);
    svc_buf_puts(&b, p->server_id);
    svc_buf_add(&b, "", 1);
    svc_buf_add(&b, p->scope_json, p->scope_len);
    if (b.oom) {
        free(b.p);
        return CHIO_ENOMEM;
    }
    rc = chio_sha256_hex(b.p, b.len, hex);
    free(b.p);
    if (rc != 0)
        return rc;
    snprintf(out, cap, "chio-mcp-%s", hex);
    return 0;
}

int chio_mcp_gateway_open(chio_mcp_hub *hub, chio_mcp_send_fn to_client, chio_mcp_send_fn to_server,
                          void *io_user, chio_mcp_gateway **out)
{
    const chio_mcp_policy *p = hub->pol;
    chio_mcp_gateway *g;
    chio_error err;
    char id[80];
    int rc;

    *out = NULL;
    g = calloc(1, sizeof(*g));
    if (g == NULL)
        return CHIO_ENOMEM;
    g->hub = hub;
    g->pol = p;
    g->k = hub->k;
    g->to_client = to_client;
    g->to_server = to_server;
    g->io = io_user;
    chio_error_init(&err);
    /* The session's own token: the policy's scope, issued by the kernel's
     * own key to the kernel's key as agent, under the policy's stable id
     * (its budgets are the policy's, see stable_cap_id). Bad grants fail
     * here. */
    rc = stable_cap_id(p, g->k, id, sizeof(id));
    if (rc == 0)
        rc = chio_kernel_issue_capability(g->k, id, chio_kernel_public_hex(g->k), p->scope_json,
                                          p->scope_len, 0, MCP_CAP_TTL_SECS, &g->cap, &err);
    else
        snprintf(err.message, sizeof(err.message), "%s", chio_strerror(rc));
    if (rc != 0) {
        fprintf(stderr, "chio mcp: the policy's grants are not a valid scope: %s\n", err.message);
        free(g);
        return rc;
    }
    /* A field of the token the kernel would not enforce makes it deny
     * every call under it (unsupported_grant): refused here, at start. The
     * token rules refuse unknown fields when issuing; this holds the
     * issued token to the kernel's reading too. */
    if (chio_capability_unknown_field(g->cap) != NULL) {
        fprintf(stderr,
                "chio mcp: the policy's grants hold a field the kernel does not enforce "
                "(\"%.60s\")\n",
                chio_capability_unknown_field(g->cap));
        chio_capability_free(g->cap);
        free(g);
        return CHIO_EFORMAT;
    }
    g->cap_id = strdup(chio_capability_id(g->cap));
    if (g->cap_id == NULL) {
        chio_capability_free(g->cap);
        free(g);
        return CHIO_ENOMEM;
    }
    pthread_mutex_init(&g->mu, NULL);
    pthread_mutex_init(&g->client_mu, NULL);
    pthread_mutex_init(&g->server_mu, NULL);
    chio__mcp_cond_init(&g->cv);
    *out = g;
    return 0;
}

int chio_mcp_gateway_new(const chio_mcp_policy *p, chio_kernel *k, chio_mcp_send_fn to_client,
                         chio_mcp_send_fn to_server, void *io_user, chio_mcp_gateway **out)
{
    chio_mcp_hub *hub = NULL;
    int rc;

    *out = NULL;
    if ((rc = chio_mcp_hub_new(p, k, &hub)) != 0)
        return rc;
    if ((rc = chio_mcp_gateway_open(hub, to_client, to_server, io_user, out)) != 0) {
        chio_mcp_hub_free(hub);
        return rc;
    }
    (*out)->own_hub = 1;
    return 0;
}

void chio_mcp_gateway_free(chio_mcp_gateway *g)
{
    if (g == NULL)
        return;
    chio_mcp_gateway_wait_idle(g);
    if (g->state == ST_READY) {
        chio__mcp_hub_leave(g);
        chio_kernel_close_session(g->k, g->session, NULL);
    }
    while (g->pend != NULL) {
        pending *p = g->pend;
        g->pend = p->next;
        chio__mcp_pending_free(p);
    }
    while (g->srv_reqs != NULL) {
        srv_request *r = g->srv_reqs;
        g->srv_reqs = r->next;
        free(r->id);
        free(r->progress);
        free(r);
    }
    chio__mcp_subs_free(g);
    chio_capability_free(g->cap);
    free(g->cap_id);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    pthread_mutex_destroy(&g->client_mu);
    pthread_mutex_destroy(&g->server_mu);
    if (g->own_hub)
        chio_mcp_hub_free(g->hub);
    free(g);
}
