/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mcp/provider.c - the wrapped MCP server as the kernel sees it: the
 * tool server's invoke, the resource and prompt providers and the nested
 * handler the hub registers. The kernel calls them with the hub; each
 * finds the gateway of the call (by kernel session, else the calling
 * worker's) and asks that gateway's server (or, for an allowed nested
 * request, its client) through chio__mcp_call_peer(). No state of its own;
 * locking: gateway.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_internal.h"

static int finish_call(chio_mcp_gateway *g, int rc, char *res, char *msg, chio_output *out)
{
    (void)g;
    if (rc == 0)
        rc = chio_output_set_json(out, res, strlen(res)) == 0 ? 0 : -1;
    else
        chio_output_set_error(out, msg ? msg : "the wrapped MCP server failed");
    free(res);
    free(msg);
    return rc;
}

/* The gateway a kernel callback serves: the one of the call's kernel
 * session (@sid), else the calling worker's (the kernel calls back on the
 * thread that evaluates). The gateway outlives the call: it frees only
 * after its workers ended. */
static chio_mcp_gateway *callback_gateway(void *hub, const char *sid)
{
    chio_mcp_gateway *g = sid != NULL ? chio__mcp_hub_find(hub, sid) : NULL;

    if (g == NULL && chio__mcp_tls_worker() != NULL)
        g = chio__mcp_tls_worker()->g;
    return g;
}

int chio__mcp_srv_invoke(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                         size_t args_len, chio_output *out)
{
    chio_mcp_gateway *g = callback_gateway(user, chio_tool_ctx_session_id(ctx));
    worker *w = chio__mcp_tls_worker();
    svc_buf b = {0};
    char *res = NULL, *msg = NULL;
    int rc;

    if (g == NULL) {
        chio_output_set_error(out, "chio: no gateway for this kernel session");
        return -1;
    }
    svc_buf_puts(&b, "{\"name\":");
    svc_buf_json_cstr(&b, tool);
    svc_buf_puts(&b, ",\"arguments\":");
    svc_buf_add(&b, args, args_len);
    if (w != NULL && w->meta != NULL) {
        svc_buf_puts(&b, ",\"_meta\":");
        chio__mcp_value(&b, w->meta);
    }
    svc_buf_puts(&b, "}");
    rc = b.oom ? -1 : chio__mcp_call_peer(g, 0, "tools/call", b.p, ctx, &res, &msg);
    free(b.p);
    return finish_call(g, rc, res, msg, out);
}

int chio__mcp_res_list(void *user, chio_output *out)
{
    (void)user;
    return chio_output_set_json(out, "[]", 2);
}

int chio__mcp_res_read(void *user, const char *uri, chio_output *out)
{
    chio_mcp_gateway *g = callback_gateway(user, NULL);
    svc_buf b = {0};
    char *res = NULL, *msg = NULL;
    int rc;

    if (g == NULL) {
        chio_output_set_error(out, "chio: no gateway for this call");
        return -1;
    }
    svc_buf_puts(&b, "{\"uri\":");
    svc_buf_json_cstr(&b, uri);
    svc_buf_puts(&b, "}");
    rc = b.oom ? -1 : chio__mcp_call_peer(g, 0, "resources/read", b.p, NULL, &res, &msg);
    free(b.p);
    return finish_call(g, rc, res, msg, out);
}

int chio__mcp_prompt_get(void *user, const char *name, const char *args, size_t args_len,
                         chio_output *out)
{
    chio_mcp_gateway *g = callback_gateway(user, NULL);
    svc_buf b = {0};
    char *res = NULL, *msg = NULL;
    int rc;

    if (g == NULL) {
        chio_output_set_error(out, "chio: no gateway for this call");
        return -1;
    }
    svc_buf_puts(&b, "{\"name\":");
    svc_buf_json_cstr(&b, name);
    svc_buf_puts(&b, ",\"arguments\":");
    svc_buf_add(&b, args, args_len);
    svc_buf_puts(&b, "}");
    rc = b.oom ? -1 : chio__mcp_call_peer(g, 0, "prompts/get", b.p, NULL, &res, &msg);
    free(b.p);
    return finish_call(g, rc, res, msg, out);
}

/* An allowed nested request: ask the client and hand its answer back. */
int chio__mcp_nested_fn(void *user, chio_nested_kind kind, const char *session_id, const char *req,
                        size_t req_len, chio_output *reply)
{
    chio_mcp_gateway *g = callback_gateway(user, session_id);
    char *res = NULL, *msg = NULL, *params;
    int rc;

    if (g == NULL)
        return -1;
    params = strndup(req, req_len);
    if (params == NULL)
        return -1;
    rc = chio__mcp_call_peer(
        g, 1, kind == CHIO_NESTED_ELICITATION ? "elicitation/create" : "sampling/createMessage",
        params, NULL, &res, &msg);
    free(params);
    if (rc == 0)
        rc = chio_output_set_json(reply, res, strlen(res)) == 0 ? 0 : -1;
    else
        chio_output_set_error(reply, msg);
    free(res);
    free(msg);
    return rc;
}
