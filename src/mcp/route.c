/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mcp/route.c - the hub (the kernel registration shared by every client
 * session of a kernel, and the list of live gateways the kernel's
 * callbacks are routed by), the worker threads that run mediated calls
 * through the kernel, and the session set-up done on a gateway's first
 * mediated call: the first session lists its server's tools and registers
 * the server with the kernel; every session opens its own kernel session
 * with its own token, all under the policy's one capability id (so one
 * invocation budget per grant: gateway.c, stable_cap_id). Locking:
 * gateway.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_internal.h"

/* ---- the hub ------------------------------------------------------------------- */

int chio_mcp_hub_new(const chio_mcp_policy *p, chio_kernel *k, chio_mcp_hub **out)
{
    chio_mcp_hub *h = calloc(1, sizeof(*h));

    *out = NULL;
    if (h == NULL)
        return CHIO_ENOMEM;
    h->pol = p;
    h->k = k;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    *out = h;
    return 0;
}

void chio_mcp_hub_free(chio_mcp_hub *h)
{
    if (h == NULL)
        return;
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

chio_mcp_gateway *chio__mcp_hub_find(chio_mcp_hub *h, const char *sid)
{
    chio_mcp_gateway *g;

    pthread_mutex_lock(&h->mu);
    for (g = h->live; g != NULL; g = g->hub_next)
        if (strcmp(g->session, sid) == 0)
            break;
    pthread_mutex_unlock(&h->mu);
    return g;
}

void chio__mcp_hub_leave(chio_mcp_gateway *g)
{
    chio_mcp_gateway **pp;

    pthread_mutex_lock(&g->hub->mu);
    for (pp = &g->hub->live; *pp != NULL; pp = &(*pp)->hub_next)
        if (*pp == g) {
            *pp = g->hub_next;
            break;
        }
    pthread_mutex_unlock(&g->hub->mu);
}

/* ---- session set-up ------------------------------------------------------------ */

/* Register the wrapped server with the kernel: a tool server for any tool
 * (CHIO_TOOL_SERVER_ANY_TOOL), the resource and prompt providers, the
 * nested handler. Returns 0 or the kernel's code when it refused. */
static int register_server(chio_mcp_gateway *g, char **msg)
{
    chio_mcp_hub *hub = g->hub;
    chio_tool_server srv;
    chio_resource_provider rp;
    chio_prompt_provider pp;
    chio_error err;
    int rc;

    chio_error_init(&err);
    memset(&srv, 0, sizeof(srv));
    srv.server_id = g->pol->server_id;
    /* Any tool: the server is the authority on its own tools, including
     * those it adds while serving (tools/list_changed) and those it lists
     * only to some clients; the capability's scope still decides. */
    srv.flags = CHIO_TOOL_SERVER_ANY_TOOL;
    srv.invoke = chio__mcp_srv_invoke;
    srv.user = hub;
    memset(&rp, 0, sizeof(rp));
    rp.provider_id = g->pol->server_id;
    rp.list = chio__mcp_res_list;
    rp.read = chio__mcp_res_read;
    rp.user = hub;
    memset(&pp, 0, sizeof(pp));
    pp.provider_id = g->pol->server_id;
    pp.list = chio__mcp_res_list;
    pp.get = chio__mcp_prompt_get;
    pp.user = hub;
    if ((rc = chio_kernel_register_tool_server(g->k, &srv, &err)) != 0 ||
        (rc = chio_kernel_register_resource_provider(g->k, &rp, &err)) != 0 ||
        (rc = chio_kernel_register_prompt_provider(g->k, &pp, &err)) != 0 ||
        (rc = chio_kernel_set_nested_handler(g->k, chio__mcp_nested_fn, hub, &err)) != 0) {
        char m[320];
        snprintf(m, sizeof(m), "chio: could not register the wrapped server: %s", err.message);
        *msg = strdup(m);
    }
    return rc;
}

/* The hub's registration done, by this gateway or another: 0, or -1 with
 * *msg. A failure to list the tools (the server died) leaves it to the
 * next session; a refused registration fails every session. */
static int hub_ready(chio_mcp_gateway *g, char **msg)
{
    chio_mcp_hub *hub = g->hub;
    int rc;

    pthread_mutex_lock(&hub->mu);
    while (hub->reg == REG_BUSY)
        pthread_cond_wait(&hub->cv, &hub->mu);
    if (hub->reg != REG_NONE) {
        rc = hub->reg == REG_DONE ? 0 : -1;
        pthread_mutex_unlock(&hub->mu);
        if (rc != 0)
            *msg = strdup("chio: the wrapped server could not be registered with the kernel");
        return rc;
    }
    hub->reg = REG_BUSY;
    pthread_mutex_unlock(&hub->mu);
    rc = register_server(g, msg);
    pthread_mutex_lock(&hub->mu);
    hub->reg = rc == 0 ? REG_DONE : REG_FAILED;
    pthread_cond_broadcast(&hub->cv);
    pthread_mutex_unlock(&hub->mu);
    return rc == 0 ? 0 : -1;
}

static int prepare(chio_mcp_gateway *g, char **msg)
{
    chio_error err;
    const char *cap;
    size_t len;
    int rc;

    if (hub_ready(g, msg) != 0)
        return -1;
    chio_error_init(&err);
    cap = chio_capability_json(g->cap, &len);
    rc = chio_kernel_open_session(g->k, chio_kernel_public_hex(g->k), &cap, &len, 1, g->session,
                                  &err);
    if (rc != 0) {
        char m[320];
        snprintf(m, sizeof(m), "chio: could not open the kernel session: %s", err.message);
        *msg = strdup(m);
        return rc;
    }
    pthread_mutex_lock(&g->hub->mu);
    g->hub_next = g->hub->live;
    g->hub->live = g;
    pthread_mutex_unlock(&g->hub->mu);
    return 0;
}

/* 0 once the kernel session is open (set it up on the first call), or -1
 * with *msg (caller frees); -2 with *msg when the client's initialize was
 * not answered yet (a refusal the client caused). Also messages.c's (a
 * subscription the kernel decides). */
int chio__mcp_ensure_ready(chio_mcp_gateway *g, char **msg)
{
    int rc;

    pthread_mutex_lock(&g->mu);
    for (;;) {
        if (g->state == ST_READY) {
            pthread_mutex_unlock(&g->mu);
            return 0;
        }
        if (g->state == ST_FAILED || g->server_closed) {
            pthread_mutex_unlock(&g->mu);
            *msg = strdup(g->server_closed ? "chio: the wrapped MCP server exited"
                                           : "chio: the gateway could not set up its session");
            return -1;
        }
        if (g->state == ST_NEW) {
            if (!g->init_answered) {
                pthread_mutex_unlock(&g->mu);
                *msg = strdup("chio: initialize first");
                return -2;
            }
            g->state = ST_PREPARING;
            pthread_mutex_unlock(&g->mu);
            rc = prepare(g, msg);
            pthread_mutex_lock(&g->mu);
            g->state = rc == 0 ? ST_READY : ST_FAILED;
            pthread_cond_broadcast(&g->cv);
            pthread_mutex_unlock(&g->mu);
            return rc == 0 ? 0 : -1;
        }
        pthread_cond_wait(&g->cv, &g->mu);
    }
}

/* ---- mediated calls ------------------------------------------------------------ */

void chio__mcp_decision_meta(svc_buf *b, const chio_response *r)
{
    svc_buf_puts(b, "{\"code\":");
    svc_buf_json_cstr(b, chio_code_name(r->code));
    svc_buf_puts(b, ",\"receipt_id\":");
    svc_buf_json_cstr(b, r->receipt ? chio_receipt_id(r->receipt) : "");
    svc_buf_puts(b, ",\"verdict\":");
    svc_buf_json_cstr(b, chio_verdict_name(r->verdict));
    svc_buf_puts(b, "}");
}

/* @output (a result object) with _meta.chio added. */
static void with_meta(svc_buf *b, const chio_response *r)
{
    chio_json_doc *doc = NULL;
    svc_buf meta = {0}, m2 = {0};
    const chio_json *root;

    chio__mcp_decision_meta(&meta, r);
    if (r->output == NULL || chio_json_parse(r->output, r->output_len, &doc, NULL) != 0 ||
        chio_json_typeof(chio_json_root(doc)) != CHIO_JSON_OBJECT) {
        svc_buf_puts(b, "{\"_meta\":{\"chio\":");
        svc_buf_puts(b, meta.p ? meta.p : "null");
        svc_buf_puts(b, "},\"value\":");
        svc_buf_puts(b, r->output ? r->output : "null");
        svc_buf_puts(b, "}");
    } else {
        root = chio_json_root(doc);
        chio__mcp_obj_set(&m2, chio_json_get(root, "_meta"), "chio", meta.p ? meta.p : "null");
        chio__mcp_obj_set(b, root, "_meta", m2.p ? m2.p : "null");
    }
    chio_json_doc_free(doc);
    free(meta.p);
    free(m2.p);
}

/* A mediated request whose params the gateway cannot put to the kernel (no
 * name, arguments not an object, arguments the kernel cannot read): -32602
 * with a deny receipt of the params' summary (refusal.c), like every
 * refusal the client caused. */
static void refuse_params(chio_mcp_gateway *g, worker *w, const chio_json *params,
                          const char *method, const char *why)
{
    char *data = chio__mcp_refusal_receipt(g, params, method, why, w->client_id, -32602);

    chio__mcp_client_error(g, w->client_id, -32602, why, data);
    free(data);
}

static void answer(chio_mcp_gateway *g, worker *w, const chio_json *params, const char *method,
                   int tool, int rc, const chio_response *r, const chio_error *err)
{
    svc_buf b = {0}, meta = {0};
    char m[512];

    if (rc != 0) {
        /* Arguments the kernel cannot read (malformed, NUL in a string,
         * invalid UTF-8) are the client's: invalid params, an error the
         * kernel signs no receipt for (kernel.md), refused here with one.
         * The rest (store, drain, memory) are the gateway's: internal
         * error. */
        int bad_params = strcmp(chio_errno_reason(rc), "invalid_arguments") == 0;
        snprintf(m, sizeof(m), "chio: %s: %s (%s)",
                 bad_params ? "invalid params" : "evaluation failed", err->message,
                 chio_errno_reason(rc));
        if (bad_params)
            refuse_params(g, w, params, method, m);
        else
            chio__mcp_client_error(g, w->client_id, -32603, m, NULL);
        return;
    }
    if (r->verdict == CHIO_VERDICT_CANCELLED)
        return; /* the client cancelled: no answer (the receipt says cancelled) */
    if (r->verdict == CHIO_VERDICT_ALLOW) {
        with_meta(&b, r);
        if (!b.oom)
            chio__mcp_client_result(g, w->client_id, b.p);
        free(b.p);
        return;
    }
    snprintf(m, sizeof(m), "chio: denied (%s): %s", chio_code_name(r->code), r->reason);
    chio__mcp_decision_meta(&meta, r);
    if (tool) {
        svc_buf_puts(&b, "{\"_meta\":{\"chio\":");
        svc_buf_puts(&b, meta.p ? meta.p : "null");
        svc_buf_puts(&b, "},\"content\":[{\"text\":");
        svc_buf_json_cstr(&b, m);
        svc_buf_puts(&b, ",\"type\":\"text\"}],\"isError\":true}");
        if (!b.oom)
            chio__mcp_client_result(g, w->client_id, b.p);
    } else {
        svc_buf_puts(&b, "{\"chio\":");
        svc_buf_puts(&b, meta.p ? meta.p : "null");
        svc_buf_puts(&b, "}");
        chio__mcp_client_error(g, w->client_id, -32001, m, b.oom ? NULL : b.p);
    }
    free(b.p);
    free(meta.p);
}

static void run_call(chio_mcp_gateway *g, worker *w, const char *method, const chio_json *params)
{
    size_t name_len = 0, uri_len = 0;
    const char *name = chio_json_string(chio_json_get(params, "name"), &name_len);
    const char *raw_uri = chio_json_string(chio_json_get(params, "uri"), &uri_len);
    const chio_json *args = chio_json_get(params, "arguments");
    char *args_txt = NULL, *uri = NULL;
    chio_response r;
    chio_call_options o;
    chio_error err;
    int tool = strcmp(method, "tools/call") == 0, rc;

    /* A name or URI holding a NUL (\u0000) is read one way by the kernel
     * (up to the NUL) and another by the server: ambiguous, refused. */
    if ((name != NULL && strlen(name) != name_len) ||
        (raw_uri != NULL && strlen(raw_uri) != uri_len)) {
        refuse_params(g, w, params, method,
                      "chio: invalid params: params.name or params.uri holds a NUL character");
        return;
    }
    /* The URI read in one way (uri.c) for the grant check, the receipt and
     * the server alike. */
    if (raw_uri != NULL && (uri = chio__mcp_uri_normal(raw_uri)) == NULL)
        return;
    if (strcmp(method, "resources/read") == 0 ? uri == NULL : name == NULL) {
        refuse_params(g, w, params, method,
                      tool ? "chio: invalid params: tools/call needs params.name (a string)"
                           : "chio: invalid params: the request needs params.name or params.uri "
                             "(a string)");
        free(uri);
        return;
    }
    if (args != NULL && chio_json_typeof(args) != CHIO_JSON_OBJECT) {
        refuse_params(g, w, params, method,
                      "chio: invalid params: params.arguments must be an object");
        free(uri);
        return;
    }
    if (args != NULL && (args_txt = chio__mcp_dup_value(args)) == NULL) {
        free(uri);
        return;
    }
    chio_response_init(&r);
    chio_error_init(&err);
    memset(&o, 0, sizeof(o));
    o.cancel = &w->cancel; /* notifications/cancelled from the client */
    if (tool) {
        chio_call c;
        memset(&c, 0, sizeof(c));
        c.session_id = g->session;
        c.capability_id = g->cap_id;
        c.server_id = g->pol->server_id;
        c.tool_name = name;
        c.arguments_json = args_txt;
        c.arguments_len = args_txt ? strlen(args_txt) : 0;
        rc = chio_kernel_evaluate_ex(g->k, &c, &o, &r, &err);
    } else if (uri != NULL && strcmp(method, "resources/read") == 0) {
        o.provider = g->pol->server_id; /* a denial's receipt names it too */
        rc = chio_kernel_read_resource_ex(g->k, g->session, NULL, g->cap_id, uri, &o, &r, &err);
    } else {
        o.provider = g->pol->server_id;
        rc = chio_kernel_get_prompt_ex(g->k, g->session, NULL, g->cap_id, name,
                                       args_txt ? args_txt : "{}", args_txt ? strlen(args_txt) : 2,
                                       &o, &r, &err);
    }
    answer(g, w, params, method, tool, rc, &r, &err);
    chio_response_destroy(&r);
    free(args_txt);
    free(uri);
}

/* A mediated request before the server answered the client's initialize:
 * -32603 with a deny receipt (refusal.c), a denial the client caused like
 * the gateway's other refusals. */
static void refuse_early(chio_mcp_gateway *g, worker *w, const chio_json *params,
                         const char *method, const char *msg)
{
    const char *why = msg != NULL ? msg : "chio: initialize first";
    char *data = chio__mcp_refusal_receipt(g, params, method, why, w->client_id, -32603);

    chio__mcp_client_error(g, w->client_id, -32603, why, data);
    free(data);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    chio_mcp_gateway *g = w->g;
    chio_json_doc *doc = NULL;
    const chio_json *root, *params;
    char *msg = NULL;
    int rc;

    chio__mcp_tls_worker_set(w);
    if (chio_json_parse(w->line, strlen(w->line), &doc, NULL) == 0) {
        root = chio_json_root(doc);
        params = chio_json_get(root, "params");
        w->meta = chio_json_get(params, "_meta");
        rc = chio__mcp_ensure_ready(g, &msg);
        if (rc == -2)
            refuse_early(g, w, params, chio_json_string(chio_json_get(root, "method"), NULL), msg);
        else if (rc != 0)
            chio__mcp_client_error(g, w->client_id, -32603, msg ? msg : "chio: not ready", NULL);
        else
            run_call(g, w, chio_json_string(chio_json_get(root, "method"), NULL), params);
    }
    free(msg);
    chio_json_doc_free(doc);
    chio__mcp_tls_worker_set(NULL);
    pthread_mutex_lock(&g->mu);
    chio__mcp_worker_unlink(g, w);
    g->nworkers--;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    chio__mcp_worker_free(w);
    return NULL;
}

/* A call past CHIO__MCP_MAX_WORKERS: a denial the client caused, so
 * -32603 with a deny receipt (refusal.c), as for the gateway's other
 * refusals; the line parsed again (it was, to reach here). */
static void refuse_busy(chio_mcp_gateway *g, const worker *w)
{
    chio_json_doc *doc = NULL;
    const chio_json *root = NULL;
    const char *method = "tools/call";

    if (chio_json_parse(w->line, strlen(w->line), &doc, NULL) == 0) {
        root = chio_json_root(doc);
        method = chio_json_string(chio_json_get(root, "method"), NULL);
    }
    chio__mcp_refuse_limit(g, root, method != NULL ? method : "tools/call", w->client_id,
                           "chio: too many calls in flight");
    chio_json_doc_free(doc);
}

void chio__mcp_spawn_worker(chio_mcp_gateway *g, const char *line, size_t len, char *client_id,
                            char *progress)
{
    pthread_attr_t attr;
    pthread_t t;
    worker *w = calloc(1, sizeof(*w));

    if (w == NULL || (w->line = strndup(line, len)) == NULL) {
        free(w);
        free(client_id);
        free(progress);
        return;
    }
    w->g = g;
    w->client_id = client_id;
    w->progress = progress;
    pthread_mutex_lock(&g->mu);
    if (g->nworkers >= CHIO__MCP_MAX_WORKERS) {
        pthread_mutex_unlock(&g->mu);
        refuse_busy(g, w);
        chio__mcp_worker_free(w);
        return;
    }
    w->next = g->workers;
    g->workers = w;
    g->nworkers++;
    pthread_mutex_unlock(&g->mu);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, worker_main, w) != 0) {
        pthread_mutex_lock(&g->mu);
        chio__mcp_worker_unlink(g, w);
        g->nworkers--;
        pthread_cond_broadcast(&g->cv);
        pthread_mutex_unlock(&g->mu);
        chio__mcp_client_error(g, client_id, -32603, "chio: cannot start a thread", NULL);
        chio__mcp_worker_free(w);
    }
    pthread_attr_destroy(&attr);
}
