/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mcp/peer.c - a mediated call's side of the gateway, on its worker
 * thread: the requests the gateway itself sends to a peer and waits for
 * (the kernel's callbacks asking the wrapped server, an allowed sampling
 * or elicitation asking the client), with the client's cancellation of
 * the call passed on to whichever peer the call waits on; the server's
 * own nested requests (sampling/createMessage, elicitation/create),
 * queued to the worker that is waiting on the server and answered by it
 * through the kernel, and the server's cancellation of one (dropped from
 * the queue, or cancelled toward the client under the gateway's id); the
 * notes of the server's requests passed to the client (so that only
 * their answers reach the server, and a client's progress only under the
 * token one of them carries, rebuilt; a request the server cancels loses
 * its note); the calling thread's worker, and a worker's teardown. It sends
 * and keeps its pending requests through gateway.c. Locking: gateway.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway_internal.h"

static _Thread_local worker *tls_worker;

/* ---- the calling thread's worker ------------------------------------------------ */

const char *chio__mcp_related_request(void)
{
    return tls_worker != NULL ? tls_worker->client_id : NULL;
}

worker *chio__mcp_tls_worker(void)
{
    return tls_worker;
}

void chio__mcp_tls_worker_set(worker *w)
{
    tls_worker = w;
}

/* ---- the server's requests passed to the client ------------------------------- */

/* Note @id (canonical JSON) as a request of the server passed to the
 * client, with its progressToken @progress (or NULL), under g->mu: 0, or
 * -1 when too many wait for an answer. */
int chio__mcp_srv_request_add(chio_mcp_gateway *g, const char *id, const char *progress)
{
    srv_request *r;

    if (g->nsrv_reqs >= CHIO__MCP_MAX_SERVER_REQUESTS || (r = calloc(1, sizeof(*r))) == NULL)
        return -1;
    r->id = strdup(id);
    r->progress = progress != NULL ? strdup(progress) : NULL;
    if (r->id == NULL || (progress != NULL && r->progress == NULL)) {
        free(r->id);
        free(r->progress);
        free(r);
        return -1;
    }
    r->next = g->srv_reqs;
    g->srv_reqs = r;
    g->nsrv_reqs++;
    return 0;
}

/* Take the oldest note of @id (under g->mu): 1 when there was one. */
int chio__mcp_srv_request_take(chio_mcp_gateway *g, const char *id)
{
    srv_request **pp, **hit = NULL, *r;

    for (pp = &g->srv_reqs; *pp != NULL; pp = &(*pp)->next)
        if (strcmp((*pp)->id, id) == 0)
            hit = pp;
    if (hit == NULL)
        return 0;
    r = *hit;
    *hit = r->next;
    g->nsrv_reqs--;
    free(r->id);
    free(r->progress);
    free(r);
    return 1;
}

/* Does a request of the server's still waiting for the client's answer
 * carry the token @want (canonical JSON)? Takes g->mu. */
static int srv_progress_open(chio_mcp_gateway *g, const char *want)
{
    srv_request *r;
    int hit = 0;

    pthread_mutex_lock(&g->mu);
    for (r = g->srv_reqs; r != NULL && !hit; r = r->next)
        hit = r->progress != NULL && strcmp(r->progress, want) == 0;
    pthread_mutex_unlock(&g->mu);
    return hit;
}

static int is_number(const chio_json *v)
{
    chio_json_type t = chio_json_typeof(v);

    return v != NULL && (t == CHIO_JSON_INT || t == CHIO_JSON_UINT || t == CHIO_JSON_DOUBLE);
}

/* A client's progress reaches the server only for a request the server
 * sent it (a roots/list or ping with a token) that is still open, as the
 * server's reaches the client only for the client's own call (checked.c),
 * and as MCP's progressToken/progress/total: its free-text message and
 * any other member would be input to the server that no guard read and no
 * receipt holds (a secret in the message), as a passed request's extra
 * members were before review 29. Before review 54 every one was passed
 * whole, under any token. */
int chio__mcp_client_progress(chio_mcp_gateway *g, const chio_json *root, svc_buf *b)
{
    const chio_json *params = chio_json_get(root, "params");
    const chio_json *tok = chio_json_get(params, "progressToken");
    const chio_json *done = chio_json_get(params, "progress");
    const chio_json *total = chio_json_get(params, "total");
    char *want = tok != NULL && chio__mcp_exact_id(tok) ? chio__mcp_dup_value(tok) : NULL;
    char shown[65];
    int open;

    if (want == NULL || !is_number(done) || (total != NULL && !is_number(total))) {
        chio__mcp_peer_log("chio mcp: dropped a client progress notification whose "
                           "progressToken, progress or total is not of the type MCP gives it");
        free(want);
        return 0;
    }
    open = srv_progress_open(g, want);
    if (!open) {
        chio__mcp_log_shown(g, shown, sizeof(shown), want);
        chio__mcp_peer_log("chio mcp: dropped a client progress notification under token %s, "
                           "which no request of the server's waiting for the client sent",
                           shown);
    } else {
        svc_buf_puts(b, "{\"progressToken\":");
        svc_buf_puts(b, want);
        svc_buf_puts(b, ",\"progress\":");
        chio__mcp_value(b, done);
        if (total != NULL) {
            svc_buf_puts(b, ",\"total\":");
            chio__mcp_value(b, total);
        }
        svc_buf_puts(b, "}");
    }
    free(want);
    return open;
}

static void nested_free(nested *n);

/* The server cancelled its sampling or elicitation request @rid (canonical
 * JSON; under g->mu): one still queued for a call goes unanswered; the one
 * a call is answering is flagged, so that its request to the client is
 * cancelled under the gateway's own id (the client never saw the
 * server's). 1 when @rid named one of them. */
static int nested_cancel(chio_mcp_gateway *g, const char *rid)
{
    worker *w;
    nested **pp;
    int hit = 0;

    for (w = g->workers; w != NULL; w = w->next) {
        for (pp = &w->nq; *pp != NULL;) {
            nested *n = *pp;
            if (strcmp(n->server_id_raw, rid) == 0) {
                *pp = n->next;
                nested_free(n);
                hit = 1;
            } else {
                pp = &n->next;
            }
        }
        if (w->running != NULL && strcmp(w->running->server_id_raw, rid) == 0) {
            w->nested_cancelled = 1;
            hit = 1;
        }
    }
    if (hit)
        pthread_cond_broadcast(&g->cv);
    return hit;
}

/* The server cancelled one of its requests to the client: as MCP asks,
 * the client will not answer it, so its note goes (kept, it held one of
 * the CHIO__MCP_MAX_SERVER_REQUESTS slots for good). A late answer of
 * the client is then dropped as one to no request. A cancellation names a
 * request of its sender's, so it reaches the client only for a request of
 * the server's the client was sent under that id (roots/list, ping: passed
 * as the server wrote them) and has not answered: 1 to pass it on. Any
 * other is dropped (0) with a line on stderr: one naming a sampling or
 * elicitation request (nested_cancel() cancels the client's copy under the
 * gateway's "chio-c-N"), the gateway's own "chio-N" or "chio-c-N", an id
 * of the client's own requests, or nothing in flight. Before review 56
 * every one but "chio-c-N" was passed: a client that matches a
 * cancellation by id alone dropped its own call 7 on the server's
 * cancellation of "7", after the kernel had signed an allow for it. */
int chio__mcp_server_cancelled(chio_mcp_gateway *g, const chio_json *root)
{
    char *rid = chio__mcp_dup_value(chio_json_get(chio_json_get(root, "params"), "requestId"));
    char shown[65];
    int passed = 0, nested_hit = 0;

    if (rid != NULL) {
        pthread_mutex_lock(&g->mu);
        passed = chio__mcp_srv_request_take(g, rid);
        nested_hit = nested_cancel(g, rid);
        pthread_mutex_unlock(&g->mu);
    }
    if (!passed && !nested_hit) {
        chio__mcp_log_shown(g, shown, sizeof(shown), rid != NULL ? rid : "(none)");
        chio__mcp_peer_log("chio mcp: dropped a server cancellation of request %s, which names "
                           "no request of the server's the client was sent and has not answered",
                           shown);
    }
    free(rid);
    return passed;
}

/* ---- nested requests of the server ---------------------------------------------- */

static void nested_free(nested *n)
{
    free(n->server_id_raw);
    free(n->method);
    free(n->params);
    free(n);
}

void chio__mcp_server_nested(chio_mcp_gateway *g, const chio_json *root, const char *method)
{
    char *idraw = chio__mcp_dup_value(chio_json_get(root, "id"));
    nested *n;
    worker *w;
    char m[160];
    size_t queued = 0;

    if (idraw == NULL)
        return;
    n = calloc(1, sizeof(*n));
    if (n != NULL) {
        n->server_id_raw = idraw;
        n->method = strdup(method);
        n->params = chio__mcp_dup_value(chio_json_get(root, "params"));
        if (n->params == NULL)
            n->params = strdup("{}");
    }
    pthread_mutex_lock(&g->mu);
    for (w = g->workers; w != NULL; w = w->next)
        if (w->waiting)
            break;
    if (w != NULL && n != NULL && n->method != NULL && n->params != NULL) {
        nested **pp = &w->nq;
        while (*pp != NULL && ++queued < CHIO__MCP_MAX_NESTED_QUEUED)
            pp = &(*pp)->next;
        if (*pp == NULL) {
            *pp = n;
            pthread_cond_broadcast(&g->cv);
            pthread_mutex_unlock(&g->mu);
            return;
        }
    }
    pthread_mutex_unlock(&g->mu);
    if (w != NULL && n != NULL && n->method != NULL && n->params != NULL) {
        snprintf(m, sizeof(m), "chio: too many %s requests wait for the call (%d queued)", method,
                 CHIO__MCP_MAX_NESTED_QUEUED);
        chio__mcp_server_error(g, idraw, -32603, m);
    } else {
        snprintf(m, sizeof(m), "chio: %s is refused outside a mediated tool call", method);
        chio__mcp_server_error(g, idraw, -32001, m);
    }
    if (n != NULL)
        nested_free(n);
    else
        free(idraw);
}

/* Did the server cancel the nested request @w answers? (takes g->mu) */
static int nested_was_cancelled(chio_mcp_gateway *g, worker *w)
{
    int c;

    pthread_mutex_lock(&g->mu);
    c = w->nested_cancelled;
    pthread_mutex_unlock(&g->mu);
    return c;
}

/* Answer one nested request of the server from the invoking thread @w;
 * one the server cancelled meanwhile is not answered (MCP). */
static void run_nested(chio_mcp_gateway *g, worker *w, chio_tool_ctx *ctx, nested *n)
{
    const chio_json *params;
    chio_json_doc *doc = NULL;
    chio_error err;
    char *reply = NULL;
    size_t rlen = 0;
    int elicit = strcmp(n->method, "elicitation/create") == 0, rc;

    chio_error_init(&err);
    if (elicit) {
        rc = chio_tool_ctx_elicit(ctx, n->params, strlen(n->params), &reply, &rlen, &err);
    } else {
        int tools = 0;
        if (chio_json_parse(n->params, strlen(n->params), &doc, NULL) == 0) {
            params = chio_json_root(doc);
            tools = chio_json_get(params, "tools") != NULL;
        }
        chio_json_doc_free(doc);
        rc = chio_tool_ctx_sample(ctx, n->params, strlen(n->params), tools, &reply, &rlen, &err);
    }
    if (nested_was_cancelled(g, w)) {
        ; /* the server wants no answer */
    } else if (rc == 0) {
        svc_buf b = {0};
        svc_buf_printf(&b, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":", n->server_id_raw);
        svc_buf_add(&b, reply, rlen);
        svc_buf_puts(&b, "}");
        chio__mcp_send_server(g, &b);
        free(b.p);
    } else {
        char m[384];
        snprintf(m, sizeof(m), "chio: %s %s: %s", n->method,
                 rc == CHIO_EDENIED ? "denied by policy" : "failed", err.message);
        chio__mcp_server_error(g, n->server_id_raw, rc == CHIO_EDENIED ? -32001 : -32603, m);
    }
    chio_free(reply);
}

/* ---- a worker's requests to a peer ---------------------------------------------- */

static int timed_wait(chio_mcp_gateway *g)
{
    struct timespec ts;

    chio__mcp_deadline(&ts, 100);
    return pthread_cond_timedwait(&g->cv, &g->mu, &ts);
}

/* Tell the peer the gateway's request @id went to (@to_client: the
 * client's "chio-c-N", else the server's "chio-N") that it is cancelled,
 * because of @why (a static string). No lock held. */
static void send_cancel(chio_mcp_gateway *g, int to_client, unsigned long long id, const char *why)
{
    svc_buf c = {0};

    svc_buf_printf(&c,
                   "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
                   "\"params\":{\"requestId\":\"chio-%s%llu\",\"reason\":\"%s\"}}",
                   to_client ? "c-" : "", id, why);
    if (to_client)
        chio__mcp_send_client(g, &c);
    else
        chio__mcp_send_server(g, &c);
    free(c.p);
}

int chio__mcp_call_peer(chio_mcp_gateway *g, int to_client, const char *method, const char *params,
                        chio_tool_ctx *ctx, char **result, char **error)
{
    worker *w = ctx != NULL ? tls_worker : NULL;
    /* A resource read or prompt get has no tool context, nor has an
     * allowed sampling or elicitation request to the client (asked from
     * inside the call): the calling worker's own cancel flag (set by
     * notifications/cancelled, and for every call at a signal) stands for
     * it, so a cancelled call stops waiting on a client that may never
     * answer. */
    worker *cw = ctx == NULL ? tls_worker : NULL;
    svc_buf b = {0};
    pending *p;
    int rc, sent_ok;

    *result = NULL;
    *error = NULL;
    pthread_mutex_lock(&g->mu);
    if (to_client ? g->client_closed : g->server_closed) {
        pthread_mutex_unlock(&g->mu);
        *error = strdup(to_client ? "the MCP client is gone"
                                  : "the wrapped MCP server exited before answering");
        return -1;
    }
    p = chio__mcp_pending_add(g, to_client ? P_CLIENT : P_WAIT);
    if (p == NULL) {
        pthread_mutex_unlock(&g->mu);
        return -1;
    }
    p->w = w;
    if (w != NULL)
        w->waiting = 1;
    svc_buf_printf(&b,
                   "{\"jsonrpc\":\"2.0\",\"id\":\"chio-%s%llu\",\"method\":", to_client ? "c-" : "",
                   p->id);
    pthread_mutex_unlock(&g->mu);
    svc_buf_json_cstr(&b, method);
    svc_buf_puts(&b, ",\"params\":");
    svc_buf_puts(&b, params);
    svc_buf_puts(&b, "}");
    sent_ok = (to_client ? chio__mcp_send_client(g, &b) : chio__mcp_send_server(g, &b)) == 0;
    free(b.p);

    pthread_mutex_lock(&g->mu);
    if (!sent_ok && !p->done) {
        p->done = 1;
        p->error = strdup("could not send the request");
    }
    for (;;) {
        /* The server's nested requests queued for this call are answered
         * (with their child receipts) before its answer ends the wait:
         * one that came just before the answer was dropped unanswered,
         * with no receipt, when the answer was seen first. */
        if (w != NULL && w->nq != NULL) {
            nested *n = w->nq;
            w->nq = n->next;
            w->running = n;
            w->nested_cancelled = 0;
            pthread_mutex_unlock(&g->mu);
            run_nested(g, w, ctx, n);
            pthread_mutex_lock(&g->mu);
            w->running = NULL;
            w->nested_cancelled = 0;
            nested_free(n);
            continue;
        }
        if (p->done)
            break;
        if ((ctx != NULL && chio_tool_ctx_cancelled(ctx)) ||
            (cw != NULL && __atomic_load_n(&cw->cancel, __ATOMIC_SEQ_CST)) ||
            (to_client && cw != NULL && cw->nested_cancelled)) {
            const char *why = !to_client                           ? "cancelled by the client"
                              : cw != NULL && cw->nested_cancelled ? "cancelled by the server"
                                                                   : "the call was cancelled";
            chio__mcp_pending_unlink(g, p);
            pthread_mutex_unlock(&g->mu);
            send_cancel(g, to_client, p->id, why);
            pthread_mutex_lock(&g->mu);
            p->done = 1;
            p->error = strdup("cancelled");
            if (w != NULL)
                w->waiting = 0;
            pthread_mutex_unlock(&g->mu);
            *error = p->error;
            p->error = NULL;
            chio__mcp_pending_free(p);
            return -1;
        }
        timed_wait(g);
    }
    chio__mcp_pending_unlink(g, p);
    if (w != NULL)
        w->waiting = 0;
    pthread_mutex_unlock(&g->mu);
    rc = p->result != NULL ? 0 : -1;
    *result = p->result;
    *error = p->error;
    p->result = p->error = NULL;
    if (rc != 0 && *error == NULL)
        *error = strdup("no answer");
    chio__mcp_pending_free(p);
    return rc;
}

/* ---- worker teardown ------------------------------------------------------------ */

void chio__mcp_worker_unlink(chio_mcp_gateway *g, worker *w)
{
    worker **pp;

    for (pp = &g->workers; *pp != NULL; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            return;
        }
}

void chio__mcp_worker_free(worker *w)
{
    while (w != NULL && w->nq != NULL) {
        nested *n = w->nq;
        w->nq = n->next;
        nested_free(n);
    }
    if (w != NULL) {
        free(w->line);
        free(w->client_id);
        free(w->progress);
    }
    free(w);
}
