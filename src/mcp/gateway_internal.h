/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mcp/gateway_internal.h - the hub's and the gateway's state, shared by
 * gateway.c (sending, pending requests, lifecycle), messages.c (message
 * routing), peer.c (a worker's requests to a peer, the server's nested
 * requests, the notes of the server's requests passed to the client),
 * provider.c (the kernel callbacks) and route.c (the hub, worker threads,
 * session set-up). Locking rules: gateway.c.
 */
#ifndef CHIO_MCP_GATEWAY_INTERNAL_H
#define CHIO_MCP_GATEWAY_INTERNAL_H

#include <pthread.h>

#include "mcp.h"
#include "mcp_internal.h"

#define CHIO__MCP_MAX_WORKERS 64

enum { ST_NEW = 0, ST_PREPARING, ST_READY, ST_FAILED };
enum { P_PASS = 0, P_LIST, P_WAIT, P_CLIENT };

/* A request of the server (sampling, elicitation) for a running tool call. */
typedef struct nested {
    struct nested *next;
    char *server_id_raw; /* the server's request id, canonical JSON */
    char *method;
    char *params; /* canonical JSON */
} nested;

/* One mediated client request, run on its own thread. */
typedef struct worker {
    struct worker *next;
    chio_mcp_gateway *g;
    char *line;            /* the client's request */
    char *client_id;       /* its id, canonical JSON */
    int cancel;            /* set atomically by notifications/cancelled */
    const chio_json *meta; /* params._meta of the request (its progressToken goes to the server) */
    char *progress;        /* a tools/call's params._meta.progressToken (canonical JSON, set
                            * before the worker is listed), or NULL: the only token a
                            * server's notifications/progress may name to reach the client */
    nested *nq;            /* nested requests from the server for this call */
    int waiting;           /* inside a tools/call to the server */
    nested *running;       /* the nested request being answered, or NULL */
    int nested_cancelled;  /* the server cancelled @running */
} worker;

/* A request the gateway sent and whose answer it waits for or routes. */
typedef struct pending {
    struct pending *next;
    unsigned long long id; /* "chio-N" toward the server, "chio-c-N" toward the client */
    int kind;
    int is_init;     /* P_PASS: the client's initialize */
    int answering;   /* P_PASS, P_LIST: its answer is being sent (it stays linked until sent) */
    int list;        /* P_LIST: CHIO__MCP_LIST_*, the list its answer is cut to */
    char *client_id; /* P_PASS, P_LIST: the client's id */
    worker *w;       /* P_WAIT: the invoking worker, or NULL */
    int done;
    char *result; /* canonical JSON */
    char *error;  /* message */
} pending;

/* A request of the server passed to the client: its id (canonical JSON),
 * which the client's answer must name to reach the server, and the
 * params._meta.progressToken it came with (canonical JSON, or NULL), the
 * only token a client's notifications/progress may name to reach it. */
typedef struct srv_request {
    struct srv_request *next;
    char *id;
    char *progress;
} srv_request;

/* Client requests passed to the server (ping, the lists, completion, ...)
 * whose answer the gateway waits for, at most: each holds the client's
 * id, and a server need not answer (one it was told is cancelled does
 * not); past it a request gets -32603 with a receipt (limit_reached). */
#define CHIO__MCP_MAX_PASSED_REQUESTS 1024

/* Nested requests of the server (sampling, elicitation) queued for one
 * call, at most: the call's thread takes them one at a time, and while it
 * waits on one (a client slow to answer a sampling) a server flooding
 * them grew the queue by their params (up to a line each) without bound.
 * Past it a request gets -32603 at once. */
#define CHIO__MCP_MAX_NESTED_QUEUED 64

/* Server requests the client has not answered yet, at most. */
#define CHIO__MCP_MAX_SERVER_REQUESTS 1024

enum { REG_NONE = 0, REG_BUSY, REG_DONE, REG_FAILED };

struct chio_mcp_hub {
    const chio_mcp_policy *pol;
    chio_kernel *k;
    pthread_mutex_t mu; /* guards reg and live */
    pthread_cond_t cv;
    int reg;                /* REG_*: the kernel registration */
    chio_mcp_gateway *live; /* gateways with an open kernel session */
};

struct chio_mcp_gateway {
    chio_mcp_hub *hub;
    int own_hub;                /* chio_mcp_gateway_new(): the hub dies with it */
    chio_mcp_gateway *hub_next; /* in hub->live */
    const chio_mcp_policy *pol;
    chio_kernel *k;
    chio_mcp_send_fn to_client, to_server;
    void *io;
    pthread_mutex_t mu, client_mu, server_mu;
    pthread_cond_t cv;
    pending *pend;
    size_t npassed;        /* P_PASS and P_LIST entries in pend */
    srv_request *srv_reqs; /* passed to the client, not yet answered */
    size_t nsrv_reqs;
    worker *workers;
    size_t nworkers;
    unsigned long long next_id;
    int state;
    int init_answered;
    int init_passed; /* the client's initialize went to the server: another is refused */
    int server_closed, client_closed;
    const char *server_why; /* chio__mcp_server_why(): why the server is taken for gone */
    int session_open;
    char session[CHIO_SESSION_ID_LEN + 1];
    chio_capability *cap;
    char *cap_id;
    struct chio__mcp_sub *subs; /* messages.c: subscriptions the kernel decided; under mu */
    size_t nsubs;
};

/* URIs (as uri.c reads them) the client subscribed to with the kernel's
 * allowance, under a policy with guards: a notifications/resources/updated
 * reaches the client only for one of them (messages.c). */
typedef struct chio__mcp_sub {
    struct chio__mcp_sub *next;
    char *uri;
} chio__mcp_sub;

/* Subscriptions noted per session, at most; past it a subscription gets
 * -32603 with a deny receipt (limit_reached). */
#define CHIO__MCP_MAX_SUBSCRIPTIONS 1024

/* gateway.c */
/* Send @b whole to the client or the server; -1 if it could not be sent. */
int chio__mcp_send_client(chio_mcp_gateway *g, const svc_buf *b);
int chio__mcp_send_server(chio_mcp_gateway *g, const svc_buf *b);
/* refusal.c: sign and persist the deny receipt of a client request the
 * gateway refuses by itself (@code -32601, -32602 or -32603, @why its reason; @code
 * 0 and @client_id NULL for a client notification it drops);
 * returns the error's data ({"chio":{code, receipt_id, verdict}}, the
 * caller frees it), or NULL when no receipt could be committed. */
char *chio__mcp_refusal_receipt(chio_mcp_gateway *g, const chio_json *params, const char *method,
                                const char *why, const char *client_id, int code);
/* refusal.c: answer a request the gateway does not pass (-32601, with its
 * deny receipt); drop a client notification it does not pass (a deny
 * receipt, no answer). */
void chio__mcp_refuse_request(chio_mcp_gateway *g, const chio_json *root, const char *method,
                              const char *client_id);
void chio__mcp_refuse_notification(chio_mcp_gateway *g, const chio_json *root, const char *method);
/* refusal.c: answer an initialize sent after the first (-32600, with its
 * deny receipt); never sent to the server. */
void chio__mcp_refuse_reinit(chio_mcp_gateway *g, const chio_json *root, const char *client_id);
/* refusal.c: a line on stderr that a client's or the server's message
 * caused (a dropped notification or answer), at most one a second in the
 * process (either side can send such messages at will), the next one
 * naming how many were not written (of both sides: one limit). Text from
 * either goes through svc_log_text() first. */
void chio__mcp_peer_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* refusal.c: @text as the gateway may quote it in a receipt, a stderr line
 * or an error message: @text itself, or CHIO__MCP_WITHHELD when the
 * kernel's secret_leak guards flag it (or cannot say). For identifiers a
 * client or the server chose (a method, an id, a progress token), which
 * no guard checked (docs/security.md). */
#define CHIO__MCP_WITHHELD "[withheld: a secret_leak guard flagged it]"
const char *chio__mcp_unflagged(chio_mcp_gateway *g, const char *text);
/* refusal.c: svc_log_text() of @text into @out (@cap bytes), or
 * CHIO__MCP_WITHHELD when the guards flag @text or what is shown of it. */
void chio__mcp_log_shown(chio_mcp_gateway *g, char *out, size_t cap, const char *text);
/* refusal.c: answer a request refused past one of the session's bounds
 * (@why names it): -32603 with a deny receipt by guard "limit_reached". */
void chio__mcp_refuse_limit(chio_mcp_gateway *g, const chio_json *root, const char *method,
                            const char *client_id, const char *why);
void chio__mcp_client_error(chio_mcp_gateway *g, const char *id, int code, const char *msg,
                            const char *data);
/* A JSON-RPC error answering the server's request @id (canonical JSON). */
void chio__mcp_server_error(chio_mcp_gateway *g, const char *id, int code, const char *msg);
void chio__mcp_client_result(chio_mcp_gateway *g, const char *id, const char *result);
/* The pending table; callers hold g->mu for add and unlink. Add gives the
 * entry the next id; NULL when out of memory. Free accepts NULL. */
pending *chio__mcp_pending_add(chio_mcp_gateway *g, int kind);
void chio__mcp_pending_unlink(chio_mcp_gateway *g, pending *p);
void chio__mcp_pending_free(pending *p);

/* peer.c */
/* Note @id (canonical JSON) as a request of the server passed to the
 * client, with the progressToken @progress it carries (canonical JSON, or
 * NULL), under g->mu: 0, or -1 when too many wait for an answer. */
int chio__mcp_srv_request_add(chio_mcp_gateway *g, const char *id, const char *progress);
/* Take the oldest note of @id (under g->mu): 1 when there was one. */
int chio__mcp_srv_request_take(chio_mcp_gateway *g, const char *id);
/* The params the client's notifications/progress @root carries to the
 * server, rebuilt in @b ({"progressToken","progress"[,"total"]}, never its
 * message or other members): 1 when its token is that of a request of the
 * server's still waiting for the client's answer (takes g->mu), else 0,
 * dropped with a line on stderr. */
int chio__mcp_client_progress(chio_mcp_gateway *g, const chio_json *root, svc_buf *b);
/* The server's notifications/cancelled @root: the note of the request it
 * names goes (takes g->mu). 1 to pass it to the client: it names a request
 * of the server's the client was sent and has not answered; 0 for any
 * other (dropped with a line on stderr). */
int chio__mcp_server_cancelled(chio_mcp_gateway *g, const chio_json *root);
int chio__mcp_call_peer(chio_mcp_gateway *g, int to_client, const char *method, const char *params,
                        chio_tool_ctx *ctx, char **result, char **error);
/* Queue the server's request @root (sampling/createMessage or
 * elicitation/create) to a worker waiting on the server, or refuse it. */
void chio__mcp_server_nested(chio_mcp_gateway *g, const chio_json *root, const char *method);
void chio__mcp_tls_worker_set(worker *w);
/* The worker running on this thread, or NULL. */
worker *chio__mcp_tls_worker(void);
void chio__mcp_worker_unlink(chio_mcp_gateway *g, worker *w);
void chio__mcp_worker_free(worker *w);

/* provider.c (the kernel callbacks) */
int chio__mcp_srv_invoke(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                         size_t args_len, chio_output *out);
int chio__mcp_res_list(void *user, chio_output *out);
int chio__mcp_res_read(void *user, const char *uri, chio_output *out);
int chio__mcp_prompt_get(void *user, const char *name, const char *args, size_t args_len,
                         chio_output *out);
int chio__mcp_nested_fn(void *user, chio_nested_kind kind, const char *session_id, const char *req,
                        size_t req_len, chio_output *reply);

/* messages.c: a client request passed on with the gateway's id; @list:
 * the list its answer is cut to (CHIO__MCP_LIST_*); @params: raw JSON
 * that replaces the request's params, or NULL. Takes @client_id. */
void chio__mcp_pass_request(chio_mcp_gateway *g, const chio_json *root, const char *method,
                            char *client_id, int list, const char *params);

/* checked.c */
/* completion/complete, resources/subscribe, resources/unsubscribe from
 * the client: passed (chio__mcp_pass_request) or refused with a receipt.
 * Takes @client_id. */
void chio__mcp_checked_request(chio_mcp_gateway *g, const chio_json *root, const char *method,
                               char *client_id);
/* 1 when the server's notification @root (@method) may reach the client. */
int chio__mcp_note_passes(chio_mcp_gateway *g, const chio_json *root, const char *method);
/* Free @g's subscriptions (chio_mcp_gateway_free()). */
void chio__mcp_subs_free(chio_mcp_gateway *g);

/* route.c */
/* {"code":..,"receipt_id":..,"verdict":..} of the kernel's decision @r
 * (a mediated answer's _meta.chio, a refusal's data.chio). */
void chio__mcp_decision_meta(svc_buf *b, const chio_response *r);
/* 0 once @g's kernel session is open (set up on the first call that needs
 * it), -1 with *msg (caller frees) when it cannot be, -2 with *msg when
 * the client's initialize was not answered yet. */
int chio__mcp_ensure_ready(chio_mcp_gateway *g, char **msg);
/* The gateway of the kernel session @sid (in hub->live), or NULL. */
chio_mcp_gateway *chio__mcp_hub_find(chio_mcp_hub *h, const char *sid);
/* Take @g (with its kernel session open) out of hub->live. */
void chio__mcp_hub_leave(chio_mcp_gateway *g);
/* Run one mediated request on a new worker thread; takes @client_id and
 * @progress (the progressToken a tools/call sends the server, canonical
 * JSON, or NULL: worker.progress). */
void chio__mcp_spawn_worker(chio_mcp_gateway *g, const char *line, size_t len, char *client_id,
                            char *progress);

#endif /* CHIO_MCP_GATEWAY_INTERNAL_H */
