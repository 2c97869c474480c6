/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mcp/mcp.h - the MCP gateway layer (`chio mcp serve`): the
 * chio.mcp-policy.v1 policy file, the hub that registers the wrapped
 * server with a kernel once for all its client sessions, the gateway that
 * mediates one MCP client session's JSON-RPC traffic to one wrapped MCP
 * server through that kernel, and the two transports: stdio (one session)
 * and Streamable HTTP (many sessions, one wrapped server process each).
 * The layer sits on the public API (include/chio/) alone, like the CLI; the
 * CLI and the fuzz target are its only callers. docs/mcp.md is the user's
 * description of everything here.
 */
#ifndef CHIO_MCP_H
#define CHIO_MCP_H

#include <stddef.h>
#include <stdint.h>

#include "chio/chio.h"

#define CHIO_MCP_POLICY_SCHEMA "chio.mcp-policy.v1"

/* A parsed policy file. Every string is owned by the policy. */
typedef struct chio_mcp_policy {
    char *server_id;  /* the wrapped server's id in grants and receipts */
    char *scope_json; /* canonical {"grants":..,"prompt_grants":..,"resource_grants":..} */
    size_t scope_len;
    chio_json_doc *doc;      /* the whole policy, parsed */
    const chio_json *grants; /* the "grants" array inside doc */
    char **forbidden_prefixes;
    size_t nforbidden;
    int forbidden_path; /* the forbidden_path guard is configured */
    char **secret_patterns;
    size_t nsecret;
    int secret_leak;   /* the secret_leak guard is configured */
    char *policy_hash; /* kernel.policy_hash, else SHA-256 hex of the canonical policy */
    uint64_t checkpoint_batch_size;
    int allow_sampling;
    int allow_elicitation;
    uint64_t max_stream_duration_secs;
    uint64_t max_stream_total_bytes;
} chio_mcp_policy;

/*
 * chio_mcp_policy_parse - read a chio.mcp-policy.v1 document strictly: a
 * member that is not in the format, a wrong type, a missing required member
 * or an unknown guard is an error (the gateway never runs a policy it does
 * not fully understand). The grants are checked with the token rules
 * (chio_capability_issue()) by `chio mcp` before it starts a kernel, and
 * again when the gateway issues its capability.
 * Returns: 0; CHIO_EFORMAT (message in @err names the member);
 * chio_json_parse() codes; CHIO_ENOMEM.
 * Ownership: caller frees *out with chio_mcp_policy_free().
 */
int chio_mcp_policy_parse(const char *json, size_t len, chio_mcp_policy **out, chio_error *err);
void chio_mcp_policy_free(chio_mcp_policy *p);

/* 1 when execvp() would find @cmd (a path, or a name on PATH) as an
 * executable regular file: what both transports start as the server. */
int chio_mcp_runnable(const char *cmd);

/* 1 when a grant of @p lets the capability invoke @tool on the policy's
 * server (server_id and tool_name match, "*" included, and operations
 * holds "invoke"); constraints are not looked at (listing is discovery). */
int chio_mcp_policy_lists_tool(const chio_mcp_policy *p, const char *tool);

/*
 * Build a kernel for @p: seed keypair (taken in every case), receipt store
 * at @receipt_db (NULL: ephemeral, for the fuzz target), the guards and
 * kernel settings of the policy. The store is opened at once so that a
 * busy or broken store fails before anything runs.
 * Returns 0 or the chio_kernel_new()/add_*_guard()/start() codes.
 */
int chio_mcp_kernel_new(const chio_mcp_policy *p, chio_keypair *kp, const char *receipt_db,
                        chio_kernel **out, chio_error *err);

/* ---- the hub and the gateway ------------------------------------------------------ */

/*
 * The hub: what the client sessions of one kernel share. The kernel takes
 * its tool server, resource and prompt provider and nested handler once,
 * before its first session; the hub registers them (the first session's
 * wrapped server lists the tools) and routes each kernel callback to the
 * gateway whose kernel session made the call.
 */
typedef struct chio_mcp_hub chio_mcp_hub;

/*
 * chio_mcp_hub_new - a hub for @k (freshly built: no session opened yet).
 * Returns 0 or CHIO_ENOMEM. Ownership: @p and @k are borrowed until
 * chio_mcp_hub_free(), which the caller calls after every gateway of the
 * hub is freed.
 */
int chio_mcp_hub_new(const chio_mcp_policy *p, chio_kernel *k, chio_mcp_hub **out);
void chio_mcp_hub_free(chio_mcp_hub *h);

typedef struct chio_mcp_gateway chio_mcp_gateway;

/* Send one JSON-RPC message (a line without its newline). Returns 0, or
 * nonzero when the peer is gone (or, toward a client, cannot take the
 * message: a request of the server then fails at once). Called from any
 * gateway thread, one call per direction at a time (the gateway
 * serialises them). */
typedef int (*chio_mcp_send_fn)(void *user, const char *line, size_t len);

/*
 * chio_mcp_gateway_open - a gateway between one client session and one
 * wrapped server, on @hub's kernel. It issues the session's own capability
 * (the policy's scope, signed by the kernel's key) at once: bad grants
 * fail here (CHIO_EFORMAT and the chio_kernel_issue_capability() codes).
 * Its id is the policy's (derived from the kernel's key, server_id and the
 * grants), the same for every session and every start, so a grant's
 * max_invocations is one budget for all of them (docs/mcp.md).
 * On the first mediated call after the client's initialize was answered,
 * the hub registers the wrapped server (listing this gateway's server's
 * tools) unless another session did already, and the gateway opens its
 * kernel session.
 * Ownership: @hub is borrowed until chio_mcp_gateway_free().
 */
int chio_mcp_gateway_open(chio_mcp_hub *hub, chio_mcp_send_fn to_client, chio_mcp_send_fn to_server,
                          void *io_user, chio_mcp_gateway **out);

/*
 * chio_mcp_gateway_new - chio_mcp_gateway_open() on a hub of its own over
 * @k (freshly built), freed with the gateway: one session per kernel.
 * Ownership: @p and @k are borrowed until chio_mcp_gateway_free().
 */
int chio_mcp_gateway_new(const chio_mcp_policy *p, chio_kernel *k, chio_mcp_send_fn to_client,
                         chio_mcp_send_fn to_server, void *io_user, chio_mcp_gateway **out);

/* One line from the client / from the wrapped server. Never blocks on a
 * tool: mediated calls run on worker threads of the gateway. */
void chio_mcp_gateway_client_line(chio_mcp_gateway *g, const char *line, size_t len);
void chio_mcp_gateway_server_line(chio_mcp_gateway *g, const char *line, size_t len);

/* The server's output ended (it exited): every call waiting on it fails
 * with a clear error. The client's input ended: nested requests waiting on
 * the client fail. */
void chio_mcp_gateway_server_closed(chio_mcp_gateway *g);
void chio_mcp_gateway_client_closed(chio_mcp_gateway *g);

/* Cancel every mediated call in flight (as notifications/cancelled does). */
void chio_mcp_gateway_cancel_all(chio_mcp_gateway *g);

/* 1 once the gateway started its session set-up: the kernel has taken
 * registrations (or a session) and cannot serve a gateway of another hub. */
int chio_mcp_gateway_kernel_used(chio_mcp_gateway *g);

/* 1 once the server has closed. */
int chio_mcp_gateway_server_is_closed(chio_mcp_gateway *g);

/* Wait until no worker thread runs (after both sides closed, this ends). */
void chio_mcp_gateway_wait_idle(chio_mcp_gateway *g);
/* The same for at most @ms milliseconds: 1 when no worker runs, 0 when
 * the time ran out. */
int chio_mcp_gateway_wait_idle_ms(chio_mcp_gateway *g, int ms);

/* Wait for the workers, close the kernel session (and free the hub of
 * chio_mcp_gateway_new()); the kernel stays the caller's. */
void chio_mcp_gateway_free(chio_mcp_gateway *g);

/* ---- stdio transport -------------------------------------------------------- */

/*
 * chio_mcp_serve_stdio - run @argv as the wrapped server (stdin/stdout
 * pipes, stderr shared) and mediate the client on fds 0 and 1 until the
 * client's input ends (returns 0 after the server exits) or the server
 * dies first (pending calls fail, then returns 1). Returns 2 when the
 * server cannot be started.
 */
int chio_mcp_serve_stdio(const chio_mcp_policy *p, chio_kernel *k, char *const *argv);

/* Options of the Streamable HTTP transport. */
typedef struct chio_mcp_http_opts {
    const char *listen;    /* "127.0.0.1:PORT" (loopback only; port 0 picks one) */
    unsigned max_sessions; /* client sessions at once (0: 16) */
    unsigned idle_secs;    /* end a session unused this long (0: 3600) */
} chio_mcp_http_opts;

/*
 * chio_mcp_serve_http - serve MCP's Streamable HTTP transport at
 * http://LISTEN/mcp until SIGTERM/SIGINT (returns 0): each initialize
 * without a session opens a client session (Mcp-Session-Id) with its own
 * wrapped server process (@argv), gateway and kernel session on @k. A
 * wrapped server that dies ends its own session only. Returns 2 for a bad
 * address, a port it cannot listen on, or a command that cannot run.
 */
int chio_mcp_serve_http(const chio_mcp_policy *p, chio_kernel *k, const chio_mcp_http_opts *o,
                        char *const *argv);

#endif /* CHIO_MCP_H */
