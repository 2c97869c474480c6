/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mcp/messages.c - the MCP gateway's message handling: it reads JSON-RPC
 * messages from the client and from the wrapped server and decides for
 * each one: pass it on (ids of client requests rewritten to the gateway's
 * own "chio-N" so that the gateway's requests never collide with the
 * client's; a client notification with only what it takes), filter it
 * (the lists; under guards, resource updates to the URIs the client
 * subscribed to, checked.c), refuse it (a method not on methods.c's
 * allowlists, a server notification MCP does not define included; a
 * completion or subscription checked.c does not pass), or mediate it
 * through the kernel (tools/call, resources/read, prompts/get, each on a
 * worker thread that route.c starts; the wrapped server is the kernel's
 * tool server, resource and prompt provider, so an allowed call is
 * dispatched by the kernel and its result is in the receipt).
 * Server-initiated sampling/createMessage and elicitation/create go to
 * peer.c, where the kernel checks them from inside the tool call they
 * belong to. An answer settles the pending request it names; sending to
 * each peer, the pending table itself and the gateway's lifecycle are
 * gateway.c's. Locking: gateway.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_internal.h"

/* ---- answers: the pending request they name ------------------------------------ */

/* The pending entry named by @id ("chio-N" or "chio-c-N" as sent), or NULL. */
static pending *pending_find(chio_mcp_gateway *g, const chio_json *id, int toward_client)
{
    const char *s = chio_json_string(id, NULL);
    const char *prefix = toward_client ? "chio-c-" : "chio-";
    char *end;
    unsigned long long n;
    pending *p;

    if (s == NULL || strncmp(s, prefix, strlen(prefix)) != 0)
        return NULL;
    s += strlen(prefix);
    if (*s < '0' || *s > '9')
        return NULL;
    n = strtoull(s, &end, 10);
    if (*end != '\0')
        return NULL;
    for (p = g->pend; p != NULL; p = p->next)
        if (p->id == n && (p->kind == P_CLIENT) == toward_client)
            return p;
    return NULL;
}

/* ---- lines from the client ------------------------------------------------------ */

static int is_mediated(const char *method)
{
    return strcmp(method, "tools/call") == 0 || strcmp(method, "resources/read") == 0 ||
           strcmp(method, "prompts/get") == 0;
}

/* A message rebuilt from what JSON-RPC 2.0 defines of it, never the
 * sender's other members: {"jsonrpc":"2.0","method":M[,"params":P]
 * [,"id":ID]} with @idraw (canonical JSON, or NULL for a notification)
 * and the params @params_raw (raw JSON) or else @params (NULL: none).
 * Passed whole, a message that was a request and an answer at once (a
 * "method" with a "result") reached the peer as the sender chose it: a
 * peer that reads "id" and "result" first took a server's "ping" for the
 * answer to its own request of that id, a tool result no receipt binds. */
static void build_request(svc_buf *b, const char *idraw, const char *method,
                          const chio_json *params, const char *params_raw)
{
    svc_buf_puts(b, "{\"jsonrpc\":\"2.0\",\"method\":");
    svc_buf_json_cstr(b, method);
    if (params_raw != NULL) {
        svc_buf_puts(b, ",\"params\":");
        svc_buf_puts(b, params_raw);
    } else if (params != NULL) {
        svc_buf_puts(b, ",\"params\":");
        chio__mcp_value(b, params);
    }
    if (idraw != NULL) {
        svc_buf_puts(b, ",\"id\":");
        svc_buf_puts(b, idraw);
    }
    svc_buf_puts(b, "}");
}

/* {"jsonrpc":"2.0","result":R,"id":ID} or {"error":E,"jsonrpc":"2.0",
 * "id":ID} of the answer @root (one of the two:
 * chio__mcp_envelope_problem()), under @idraw; the members in the order
 * the gateway always wrote them (canonical, then the id). */
static void build_answer(svc_buf *b, const char *idraw, const chio_json *root)
{
    const chio_json *res = chio_json_get(root, "result");

    if (res != NULL) {
        svc_buf_puts(b, "{\"jsonrpc\":\"2.0\",\"result\":");
        chio__mcp_value(b, res);
    } else {
        svc_buf_puts(b, "{\"error\":");
        chio__mcp_value(b, chio_json_get(root, "error"));
        svc_buf_puts(b, ",\"jsonrpc\":\"2.0\"");
    }
    svc_buf_printf(b, ",\"id\":%s}", idraw);
}

/* The passed request @id (@root, @method) could not be sent to the
 * server (it does not read its input, see feed.c, or it is gone): unless
 * its entry was taken meanwhile (an answer, the server's exit, the
 * client's cancel), the client gets -32603 with a deny receipt
 * (limit_reached) at once. Left in the table it waited for an answer that
 * could never come, holding a slot of the 1024. */
static void unsent_request(chio_mcp_gateway *g, const chio_json *root, const char *method,
                           unsigned long long id)
{
    pending *p;

    pthread_mutex_lock(&g->mu);
    for (p = g->pend; p != NULL; p = p->next)
        if (p->id == id && (p->kind == P_PASS || p->kind == P_LIST))
            break;
    if (p != NULL && !p->answering) {
        chio__mcp_pending_unlink(g, p);
        g->npassed--;
    } else {
        p = NULL;
    }
    pthread_mutex_unlock(&g->mu);
    if (p == NULL)
        return;
    chio__mcp_refuse_limit(g, root, method, p->client_id,
                           "chio: the request could not be sent to the wrapped MCP server (it does "
                           "not read its input, or it is gone)");
    chio__mcp_pending_free(p);
}

void chio__mcp_pass_request(chio_mcp_gateway *g, const chio_json *root, const char *method,
                            char *client_id, int list, const char *params)
{
    svc_buf b = {0};
    char idraw[48];
    unsigned long long id;
    pending *p;

    pthread_mutex_lock(&g->mu);
    if (g->server_closed) {
        pthread_mutex_unlock(&g->mu);
        chio__mcp_client_error(g, client_id, -32000, "chio: the wrapped MCP server exited", NULL);
        free(client_id);
        return;
    }
    if (g->npassed >= CHIO__MCP_MAX_PASSED_REQUESTS) {
        /* A client flooding requests the server is slow to answer (or
         * never answers) grew the table by its ids without bound. */
        pthread_mutex_unlock(&g->mu);
        chio__mcp_refuse_limit(g, root, method, client_id,
                               "chio: too many requests wait for the wrapped MCP server's answer");
        free(client_id);
        return;
    }
    if (strcmp(method, "initialize") == 0 && g->init_passed) {
        pthread_mutex_unlock(&g->mu);
        chio__mcp_refuse_reinit(g, root, client_id);
        free(client_id);
        return;
    }
    p = chio__mcp_pending_add(g, list != CHIO__MCP_LIST_NONE ? P_LIST : P_PASS);
    if (p == NULL) {
        pthread_mutex_unlock(&g->mu);
        free(client_id);
        return;
    }
    g->npassed++;
    p->client_id = client_id;
    p->list = list;
    p->is_init = strcmp(method, "initialize") == 0;
    g->init_passed |= p->is_init;
    snprintf(idraw, sizeof(idraw), "\"chio-%llu\"", p->id);
    id = p->id;
    pthread_mutex_unlock(&g->mu);
    build_request(&b, idraw, method, chio_json_get(root, "params"), params);
    if (chio__mcp_send_server(g, &b) != 0)
        unsent_request(g, root, method, id);
    free(b.p);
}

/* The params a passed request carries to the server, as raw JSON in @b:
 * only what the method takes (a list's string cursor, setLevel's string
 * level, nothing for ping), so no guard-unread client text rides along
 * to the server the way a tools/call's _meta once did. 0 = keep the
 * client's params (initialize: the server needs them whole). */
static int passed_params(const chio_json *root, const char *method, int list, svc_buf *b)
{
    const chio_json *params = chio_json_get(root, "params");
    const char *key = list != CHIO__MCP_LIST_NONE               ? "cursor"
                      : strcmp(method, "logging/setLevel") == 0 ? "level"
                                                                : NULL;
    const chio_json *v = key != NULL ? chio_json_get(params, key) : NULL;
    size_t n = 0;
    const char *text = chio_json_string(v, &n);

    if (strcmp(method, "initialize") == 0)
        return 0;
    svc_buf_puts(b, "{");
    if (text != NULL) {
        svc_buf_json_cstr(b, key);
        svc_buf_puts(b, ":");
        svc_buf_json_string(b, text, n);
    }
    svc_buf_puts(b, "}");
    return 1;
}

/* The client's notifications/cancelled: 1 when it cancelled a request
 * the gateway worked on (a mediated call, or a passed request it stops
 * waiting for), 0 when it named none (or the client's initialize). */
static int client_cancelled(chio_mcp_gateway *g, const chio_json *root, const char *line,
                            size_t len)
{
    const chio_json *params = chio_json_get(root, "params");
    char *rid = chio__mcp_dup_value(chio_json_get(params, "requestId"));
    svc_buf b = {0}, pb = {0};
    char idraw[48] = "";
    worker *w;
    pending *p = NULL;
    int hit = 0;

    (void)line;
    (void)len;
    if (rid == NULL)
        return 0;
    pthread_mutex_lock(&g->mu);
    /* Every call under that id: over HTTP a request may reuse the id of
     * one that has sent its answer and not yet ended (its worker still
     * listed), and the first found was that one, not the call the client
     * meant; cancelling one that has answered changes nothing. Over stdio
     * a client that reuses an id in flight has both cancelled. */
    for (w = g->workers; w != NULL; w = w->next)
        if (strcmp(w->client_id, rid) == 0) {
            hit = 1;
            __atomic_store_n(&w->cancel, 1, __ATOMIC_SEQ_CST); /* read by the kernel */
            pthread_cond_broadcast(&g->cv);
        }
    /* A passed request whose answer is being sent is not cancelled (the
     * sender still holds it); it is answered. */
    for (p = g->pend; p != NULL; p = p->next)
        if ((p->kind == P_PASS || p->kind == P_LIST) && p->client_id != NULL && !p->answering &&
            strcmp(p->client_id, rid) == 0) {
            if (p->is_init) {
                /* MCP: a client never cancels initialize. Not sent
                 * on (a server that honoured it would leave the
                 * session half set up), and its answer still counts. */
                p = NULL;
                break;
            }
            snprintf(idraw, sizeof(idraw), "\"chio-%llu\"", p->id);
            /* Done with: MCP's receiver of a cancellation does not
             * answer, and the client wants no answer; a late one
             * finds no entry and is dropped. Kept, the entry was
             * never freed. */
            chio__mcp_pending_unlink(g, p);
            g->npassed--;
            break;
        }
    pthread_mutex_unlock(&g->mu);
    chio__mcp_pending_free(p);
    free(rid);
    if (idraw[0] == '\0')
        return hit;
    /* The gateway's id alone: the client's reason is free text (and any
     * other member its own) that no guard read; the server needs none. */
    svc_buf_printf(&pb, "{\"requestId\":%s}", idraw);
    build_request(&b, NULL, "notifications/cancelled", NULL, pb.oom || pb.p == NULL ? "{}" : pb.p);
    chio__mcp_send_server(g, &b);
    free(b.p);
    free(pb.p);
    return 1;
}

/* The answer of a peer to the gateway's request @p (found under g->mu).
 * The first answer counts: a peer that answers again is ignored (the
 * waiter may already have read the first, and storing the second over it
 * leaked it). An error is named as the peer's that sent it (P_CLIENT: the
 * client's answer to a sampling or elicitation request): the text ends up
 * in a receipt's reason. */
static void settle(pending *p, const chio_json *root)
{
    const chio_json *res = chio_json_get(root, "result");
    const char *m = chio_json_string(chio_json_get(chio_json_get(root, "error"), "message"), NULL);

    if (p->done)
        return;
    if (res != NULL) {
        p->result = chio__mcp_dup_value(res);
        if (p->result == NULL)
            p->error = strdup("out of memory");
    } else {
        char buf[320];
        snprintf(buf, sizeof(buf), "the %s answered with an error: %.250s",
                 p->kind == P_CLIENT ? "MCP client" : "wrapped MCP server", m ? m : "(no message)");
        p->error = strdup(buf);
    }
    p->done = 1;
}

/* Is the id a JSON-RPC id MCP accepts (a string or a number; never null)
 * that comes back as it was written? The gateway answers under the id's
 * canonical JSON, which is the client's token only for a string and an
 * integer in the int64 or uint64 range written as one: "1e2", "1.0" and
 * "-0" were answered as 100, 1 and 0, and an integer past 2^64 as the
 * nearest double (18446744073709551616 as 18446744073709552000), which a
 * client that keeps its ids as text or big integers matches to no request
 * of its own (or to another one). Such an id is refused -32600 (MCP's
 * SDKs send integer ids); before review 49 it was taken and answered
 * under the other number. "-0" is the INT 0 that chio_json_get_uint64()
 * refuses (a float to chio). */
int chio__mcp_exact_id(const chio_json *idv)
{
    chio_json_type t = chio_json_typeof(idv);
    int64_t i;
    uint64_t u;

    if (t == CHIO_JSON_INT && chio_json_get_int64(idv, &i) == 0 && i == 0)
        return chio_json_get_uint64(idv, &u) == 0;
    return t == CHIO_JSON_STRING || t == CHIO_JSON_INT || t == CHIO_JSON_UINT;
}

const char *chio__mcp_envelope_problem(const chio_json *root)
{
    const chio_json *idv = chio_json_get(root, "id"), *mv = chio_json_get(root, "method");
    const char *ver;
    size_t mlen = 0;

    if (chio_json_typeof(root) != CHIO_JSON_OBJECT)
        return "invalid request: not a JSON object";
    ver = chio_json_string(chio_json_get(root, "jsonrpc"), NULL);
    if (ver == NULL || strcmp(ver, "2.0") != 0)
        return "invalid request: \"jsonrpc\" must be \"2.0\"";
    if (idv != NULL && !chio__mcp_exact_id(idv))
        return "invalid request: the id must be a string or an integer from -2^63 to "
               "2^64-1 written without a fraction, an exponent or a minus on 0";
    if (mv != NULL && chio_json_typeof(mv) != CHIO_JSON_STRING)
        return "invalid request: the method must be a string";
    /* The method is matched as a C string; one with a NUL in it would be
     * matched by its head ("ping") and sent whole ("ping\u0000x/exec"). */
    if (mv != NULL && strlen(chio_json_string(mv, &mlen)) != mlen)
        return "invalid request: the method holds a NUL character";
    if (mv == NULL && idv == NULL)
        return "invalid request: neither a method nor an id";
    /* One message is one thing: a request or notification carries no
     * result or error, and an answer exactly one of the two (passed on,
     * a message that is both is read one way here and may be read the
     * other way by the peer). */
    if (mv != NULL &&
        (chio_json_get(root, "result") != NULL || chio_json_get(root, "error") != NULL))
        return "invalid request: a request or notification with a result or an error";
    if (mv == NULL &&
        (chio_json_get(root, "result") != NULL) == (chio_json_get(root, "error") != NULL))
        return "invalid request: an answer needs exactly one of result and error";
    /* A mediated method sent as a notification is no request MCP knows,
     * and passed on it would reach the server undecided (a JSON-RPC 2.0
     * server runs notifications too, only without answering). */
    if (mv != NULL && idv == NULL && is_mediated(chio_json_string(mv, NULL)))
        return "invalid request: tools/call, resources/read and prompts/get need an id";
    return NULL;
}

/* A client message whose envelope is not JSON-RPC 2.0 is answered -32600
 * (with its id when that is a valid one, null otherwise) and goes no
 * further: it is never evaluated or passed to the server. */
static int valid_envelope(chio_mcp_gateway *g, const chio_json *root)
{
    const chio_json *idv = chio_json_get(root, "id");
    const char *why = chio__mcp_envelope_problem(root);
    char *cid = NULL;

    if (why == NULL)
        return 1;
    if (idv != NULL && chio__mcp_exact_id(idv))
        cid = chio__mcp_dup_value(idv);
    chio__mcp_client_error(g, cid, -32600, why, NULL);
    free(cid);
    return 0;
}

void chio_mcp_gateway_client_line(chio_mcp_gateway *g, const char *line, size_t len)
{
    (void)chio__mcp_client_line_cancels(g, line, len);
}

/* The params._meta.progressToken of a request when chio__mcp_exact_id()
 * takes it, as canonical JSON; NULL for none (or no memory: the progress
 * under it is then dropped, never let through unchecked). A tools/call
 * sends it to the server (provider.c); a server's request passed to the
 * client notes it (peer.c), the token the client's progress may name. */
static char *request_progress_token(const chio_json *root)
{
    const chio_json *tok =
        chio_json_get(chio_json_get(chio_json_get(root, "params"), "_meta"), "progressToken");

    return tok != NULL && chio__mcp_exact_id(tok) ? chio__mcp_dup_value(tok) : NULL;
}

static char *call_progress_token(const chio_json *root, const char *method)
{
    return strcmp(method, "tools/call") == 0 ? request_progress_token(root) : NULL;
}

/* A client notification methods.c passes, rebuilt (never the client's
 * bytes: a CR or LF in them ends a line for the server's reader) with only
 * what it takes: a progress its token and numbers, only under a token of
 * a server request still open (peer.c); initialized and
 * roots/list_changed no params. Before review 54 each carried every member
 * the client wrote: text no guard read and no receipt holds. */
static void pass_notification(chio_mcp_gateway *g, const chio_json *root, const char *method)
{
    svc_buf b = {0}, pb = {0};

    if (strcmp(method, "notifications/progress") != 0 || chio__mcp_client_progress(g, root, &pb)) {
        if (!pb.oom) { /* never the client's params instead */
            build_request(&b, NULL, method, NULL, pb.p);
            chio__mcp_send_server(g, &b);
        }
    }
    free(b.p);
    free(pb.p);
}

int chio__mcp_client_line_cancels(chio_mcp_gateway *g, const char *line, size_t len)
{
    chio_json_doc *doc = NULL;
    const chio_json *root, *idv;
    const char *method;
    pending *p;
    int cancelled = 0;

    if (line == NULL) { /* a line the reader dropped: too long to read */
        chio__mcp_client_error(g, NULL, -32700, "parse error: line too long", NULL);
        return 0;
    }
    if (len == 0)
        return 0;
    if (chio_json_parse(line, len, &doc, NULL) != 0) {
        chio__mcp_client_error(g, NULL, -32700, "parse error", NULL);
        return 0;
    }
    root = chio_json_root(doc);
    method = chio_json_string(chio_json_get(root, "method"), NULL);
    idv = chio_json_get(root, "id");
    if (!valid_envelope(g, root)) {
        ; /* answered -32600 */
    } else if (method != NULL && idv != NULL) {
        char *cid = chio__mcp_dup_value(idv);
        int list, how = chio__mcp_client_method(method, &list);
        if (cid == NULL)
            ;
        else if (how == CHIO__MCP_MEDIATE)
            chio__mcp_spawn_worker(g, line, len, cid, call_progress_token(root, method));
        else if (how == CHIO__MCP_PASS) {
            svc_buf pb = {0};
            int narrowed = passed_params(root, method, list, &pb);
            if (narrowed && pb.oom) { /* never the client's params instead */
                chio__mcp_client_error(g, cid, -32603, "chio: out of memory", NULL);
                free(cid);
            } else {
                chio__mcp_pass_request(g, root, method, cid, list, narrowed ? pb.p : NULL);
            }
            free(pb.p);
        } else if (how == CHIO__MCP_CHECKED)
            chio__mcp_checked_request(g, root, method, cid);
        else {
            chio__mcp_refuse_request(g, root, method, cid);
            free(cid);
        }
    } else if (method != NULL) {
        if (strcmp(method, "notifications/cancelled") == 0) {
            cancelled = client_cancelled(g, root, line, len);
        } else if (!chio__mcp_client_notification_passes(method)) {
            chio__mcp_refuse_notification(g, root, method);
        } else {
            pass_notification(g, root, method);
        }
    } else if (idv != NULL) {
        pthread_mutex_lock(&g->mu);
        p = pending_find(g, idv, 1);
        if (p != NULL) {
            settle(p, root);
            pthread_cond_broadcast(&g->cv);
        }
        pthread_mutex_unlock(&g->mu);
        if (p == NULL) {
            /* An answer to a request of the server, as parsed; only to one
             * the gateway passed to the client and not yet answered: the
             * server's sampling and elicitation requests are the kernel's
             * to answer, never the client's under the server's own id. */
            char *cid = chio__mcp_dup_value(idv);
            int passed;
            pthread_mutex_lock(&g->mu);
            passed = cid != NULL && chio__mcp_srv_request_take(g, cid);
            pthread_mutex_unlock(&g->mu);
            if (passed) {
                svc_buf b = {0};
                build_answer(&b, cid, root);
                chio__mcp_send_server(g, &b);
                free(b.p);
            } else {
                char shown[65];
                chio__mcp_log_shown(g, shown, sizeof(shown), cid ? cid : "?");
                chio__mcp_peer_log("chio mcp: dropped a client answer to id %s, which names no "
                                   "request the server sent it",
                                   shown);
            }
            free(cid);
        }
    }
    chio_json_doc_free(doc);
    return cancelled;
}

/* ---- lines from the server ------------------------------------------------------ */

/* The server's answer @root to the gateway's request it names; @bad: why
 * it is no JSON-RPC answer (then the request gets an error), or NULL. */
static void server_answer(chio_mcp_gateway *g, const chio_json *root, const char *bad)
{
    const chio_json *res = bad != NULL ? NULL : chio_json_get(root, "result");
    svc_buf b = {0}, rb = {0};
    pending *p;

    pthread_mutex_lock(&g->mu);
    p = pending_find(g, chio_json_get(root, "id"), 0);
    if (p == NULL || p->kind == P_WAIT || p->answering) {
        if (p != NULL && p->kind == P_WAIT && bad != NULL && !p->done) {
            char m[200];
            snprintf(m, sizeof(m), "the wrapped MCP server's answer is not JSON-RPC (%s)", bad);
            p->error = strdup(m);
            p->done = 1;
            pthread_cond_broadcast(&g->cv);
        } else if (p != NULL && p->kind == P_WAIT) {
            settle(p, root);
            pthread_cond_broadcast(&g->cv);
        }
        pthread_mutex_unlock(&g->mu);
        return;
    }
    /* The entry stays in the table until its answer is sent: the request
     * is in flight until then (chio__mcp_request_in_flight()), so over
     * HTTP no request reusing its id is let in to take the answer. */
    p->answering = 1;
    if (p->is_init && res != NULL)
        g->init_answered = 1;
    pthread_mutex_unlock(&g->mu);
    if (bad != NULL) {
        char m[200];
        snprintf(m, sizeof(m), "chio: the wrapped MCP server's answer is not JSON-RPC (%s)", bad);
        chio__mcp_client_error(g, p->client_id, -32603, m, NULL);
    } else if (p->kind == P_LIST && res != NULL && chio_json_typeof(res) != CHIO_JSON_OBJECT) {
        /* No list the gateway can cut: nothing of it reaches the client. */
        chio__mcp_client_error(g, p->client_id, -32603,
                               "chio: the wrapped MCP server's list is not an object", NULL);
    } else if (p->kind == P_LIST && res != NULL) {
        chio__mcp_filter_list(g->pol, g->cap, p->list, res, &rb);
        svc_buf_printf(&b, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":", p->client_id);
        svc_buf_puts(&b, rb.p ? rb.p : "{}");
        svc_buf_puts(&b, "}");
        if (rb.oom)
            b.oom = 1;
        chio__mcp_send_client(g, &b);
    } else {
        build_answer(&b, p->client_id, root);
        chio__mcp_send_client(g, &b);
    }
    free(b.p);
    free(rb.p);
    pthread_mutex_lock(&g->mu);
    chio__mcp_pending_unlink(g, p);
    g->npassed--;
    pthread_mutex_unlock(&g->mu);
    chio__mcp_pending_free(p);
}

/* 1 when @id names a request of the gateway's that is waiting for its
 * answer. */
static int names_open_request(chio_mcp_gateway *g, const chio_json *id)
{
    pending *p;
    int open;

    pthread_mutex_lock(&g->mu);
    p = pending_find(g, id, 0);
    open = p != NULL && !p->answering && !(p->kind == P_WAIT && p->done);
    pthread_mutex_unlock(&g->mu);
    return open;
}

/* A line of the server's that is no JSON the gateway reads (invalid
 * UTF-8, a lone surrogate such as a Node server writes for a string cut
 * inside an emoji, ...). When it names one of the gateway's requests as
 * an answer would ("id":"chio-N"), that request fails now (the call with
 * its receipt, a passed request -32603): the line may have been its
 * answer, and before review 47 the call waited for good. Otherwise it is
 * dropped with a line on stderr. */
static void server_unreadable(chio_mcp_gateway *g, const char *line, size_t len, const char *why)
{
    unsigned long long n = chio__mcp_line_id(line, len);
    chio_json_doc *doc = NULL;
    char idj[48], bad[200], shown[128];

    /* The parser's message quotes the line (a duplicate key's name), and
     * no guard read the line: quoted only when no secret_leak guard flags
     * it (review 5 O1: a flagged key reached stderr here alone). */
    chio__mcp_log_shown(g, shown, sizeof(shown), why);
    snprintf(bad, sizeof(bad), "not a JSON object the gateway reads: %s", shown);
    snprintf(idj, sizeof(idj), "{\"id\":\"chio-%llu\"}", n);
    if (n == 0 || chio_json_parse(idj, strlen(idj), &doc, NULL) != 0) {
        chio__mcp_peer_log("chio mcp: dropped a line from the server that is %s", bad);
        return;
    }
    /* A request in flight fails: said each time, before its answer (at
     * most once per request). A line naming no such request is one the
     * server may repeat at will: rate-limited as the others. */
    if (names_open_request(g, chio_json_get(chio_json_root(doc), "id")))
        fprintf(stderr,
                "chio mcp: a line from the server naming request chio-%llu is %s; failing that "
                "request\n",
                n, bad);
    else
        chio__mcp_peer_log("chio mcp: dropped a line from the server naming chio-%llu, no "
                           "request in flight, that is %s",
                           n, bad);
    server_answer(g, chio_json_root(doc), bad);
    chio_json_doc_free(doc);
}

void chio__mcp_server_unsent(void *gw, const char *line, size_t len)
{
    chio_mcp_gateway *g = gw;
    unsigned long long n = chio__mcp_line_id(line, len);
    chio_json_doc *doc = NULL;
    const char *method;
    pending *p;

    if (n == 0 || chio_json_parse(line, len, &doc, NULL) != 0)
        return; /* no request of the gateway's: an answer or a notification */
    method = chio_json_string(chio_json_get(chio_json_root(doc), "method"), NULL);
    if (method == NULL) {
        chio_json_doc_free(doc);
        return;
    }
    fprintf(stderr,
            "chio mcp: request chio-%llu never reached the wrapped server (its input is "
            "closed); failing it\n",
            n);
    pthread_mutex_lock(&g->mu);
    for (p = g->pend; p != NULL; p = p->next)
        if (p->id == n && p->kind == P_WAIT)
            break;
    if (p != NULL && !p->done) {
        p->error = strdup("could not send the request (the wrapped MCP server closed its input)");
        p->done = 1;
        pthread_cond_broadcast(&g->cv);
    }
    pthread_mutex_unlock(&g->mu);
    if (p == NULL)
        unsent_request(g, chio_json_root(doc), method, n);
    chio_json_doc_free(doc);
}

void chio_mcp_gateway_server_line(chio_mcp_gateway *g, const char *line, size_t len)
{
    chio_json_doc *doc = NULL;
    const chio_json *root, *idv;
    const char *method, *bad;
    size_t mlen = 0;
    chio_error err;

    if (line == NULL || len == 0) /* a dropped line (stderr says so), or empty */
        return;
    chio_error_init(&err);
    if (chio_json_parse(line, len, &doc, &err) != 0 ||
        chio_json_typeof(chio_json_root(doc)) != CHIO_JSON_OBJECT) {
        server_unreadable(g, line, len, doc == NULL ? err.message : "not an object");
        chio_json_doc_free(doc);
        return;
    }
    root = chio_json_root(doc);
    method = chio_json_string(chio_json_get(root, "method"), &mlen);
    idv = chio_json_get(root, "id");
    bad = chio__mcp_envelope_problem(root);
    if (method != NULL && strlen(method) != mlen) {
        /* Matched by its head, sent whole: no method the gateway passes. */
        char *idraw = idv != NULL ? chio__mcp_dup_value(idv) : NULL;
        if (idraw != NULL)
            chio__mcp_server_error(g, idraw, -32601, "chio: a method with a NUL is not passed");
        free(idraw);
    } else if (bad != NULL && method == NULL && idv != NULL && chio__mcp_exact_id(idv)) {
        /* An answer that is not one (no "2.0", both a result and an
         * error, neither): what it answers gets an error, not a guess. */
        server_answer(g, root, bad);
    } else if (bad != NULL) {
        /* Not one JSON-RPC message (a request that is an answer too, an
         * id that is null or an object, no "2.0"): never passed. A
         * request whose id can be named gets -32600. */
        char *idraw = method != NULL && chio__mcp_exact_id(idv) ? chio__mcp_dup_value(idv) : NULL;
        if (idraw != NULL)
            chio__mcp_server_error(g, idraw, -32600, bad);
        else
            chio__mcp_peer_log("chio mcp: dropped a message from the server: %s", bad);
        free(idraw);
    } else if (method != NULL && (strcmp(method, "sampling/createMessage") == 0 ||
                                  strcmp(method, "elicitation/create") == 0)) {
        /* Only the kernel lets these reach the client; without an id
         * there is no request to decide (nor to answer): dropped. */
        if (idv != NULL)
            chio__mcp_server_nested(g, root, method);
        else
            chio__mcp_peer_log("chio mcp: dropped a %s from the server without an id", method);
    } else if (method != NULL && idv == NULL && !chio__mcp_server_notification_known(method)) {
        /* Fail closed, as for the client's notifications: one MCP does not
         * define is no message the gateway can say is harmless to pass. */
        char shown[121];
        chio__mcp_log_shown(g, shown, sizeof(shown), method);
        chio__mcp_peer_log("chio mcp: dropped the server notification %s: the gateway passes "
                           "only those MCP defines",
                           shown);
    } else if (method != NULL && idv == NULL && !chio__mcp_note_passes(g, root, method)) {
        ; /* dropped */
    } else if (method != NULL && idv == NULL && strcmp(method, "notifications/cancelled") == 0 &&
               !chio__mcp_server_cancelled(g, root)) {
        ; /* dropped: no request of the server's the client holds (peer.c) */
    } else if (method != NULL) {
        svc_buf b = {0}; /* roots/list, ping and notifications pass */
        char *idraw = idv != NULL ? chio__mcp_dup_value(idv) : NULL;
        char *tok = idv != NULL ? request_progress_token(root) : NULL;
        const char *why = NULL;
        int noted = 0, code = -32603;
        if (idv != NULL && !chio__mcp_server_request_passes(method)) {
            /* A request the gateway does not know may be one the kernel
             * should have decided (as it does sampling and elicitation). */
            why = "chio: method not found: the gateway does not pass this request to the client";
            code = -32601;
        } else if (idv != NULL) {
            /* The client's answer reaches the server only under an id
             * noted here; the gateway's own "chio-c-N" are not the
             * server's to use (the answer would settle the gateway's). */
            const char *s = chio_json_string(idv, NULL);
            pthread_mutex_lock(&g->mu);
            if (idraw == NULL || (s != NULL && strncmp(s, "chio-c-", 7) == 0)) {
                why = "chio: request ids \"chio-c-...\" are the gateway's own";
                code = -32600;
            } else if (chio__mcp_srv_request_add(g, idraw, tok) != 0)
                why = "chio: too many requests to the client wait for an answer";
            else
                noted = 1;
            pthread_mutex_unlock(&g->mu);
        }
        if (why == NULL) {
            build_request(&b, idraw, method, chio_json_get(root, "params"), NULL);
            /* A request the client cannot be reached with (no stream to
             * carry it over HTTP, or the client is gone) fails at once. */
            if (chio__mcp_send_client(g, &b) != 0 && idv != NULL) {
                why = "chio: the MCP client cannot be reached for this request";
                pthread_mutex_lock(&g->mu);
                if (noted)
                    chio__mcp_srv_request_take(g, idraw);
                pthread_mutex_unlock(&g->mu);
            }
        }
        if (why != NULL && idraw != NULL)
            chio__mcp_server_error(g, idraw, code, why);
        free(idraw);
        free(tok);
        free(b.p);
    } else if (idv != NULL) {
        server_answer(g, root, NULL);
    }
    chio_json_doc_free(doc);
}
