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

/* Send @method with the params built in @b to @g's server (@g NULL: no
 * gateway serves this call), wait for the answer and set @out from it.
 * Frees @b. */
static int ask_server(chio_mcp_gateway *g, const char *method, svc_buf *b, chio_tool_ctx *ctx,
                      chio_output *out)
{
    char *res = NULL, *msg = NULL;
    int rc;

    if (g == NULL) {
        free(b->p);
        chio_output_set_error(out, "chio: no gateway for this call");
        return -1;
    }
    rc = b->oom ? -1 : chio__mcp_call_peer(g, 0, method, b->p, ctx, &res, &msg);
    free(b->p);
    /* MCP's results of tools/call, resources/read and prompts/get are
     * objects. Another value would reach the client wrapped as
     * {"value": ...}, the shape of a real object answer whose receipt
     * binds other bytes (review 19 net F3): a failure of the tool. */
    if (rc == 0 && res[strspn(res, " \t\r\n")] != '{') {
        chio_output_set_error(out, "the wrapped MCP server's result is not an object");
        rc = -1;
    } else if (rc == 0) {
        rc = chio_output_set_json(out, res, strlen(res)) == 0 ? 0 : -1;
    } else {
        chio_output_set_error(out, msg ? msg : "the wrapped MCP server failed");
    }
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

/*
 * The client's params._meta as the server gets it with the call: its
 * progressToken alone (a string or an integer: chio__mcp_exact_id()), so that
 * the server's progress reaches the client. Nothing else of it is sent: the
 * kernel decided on the tool and its arguments, which the receipt binds and
 * the guards read; any other member (a server may read _meta, as the SDKs
 * hand it to tool handlers) would be input to the tool that no receipt
 * records and no guard checked, a secret_leak or forbidden_path guard
 * included.
 */
static void call_meta(svc_buf *b, const chio_json *meta)
{
    const chio_json *tok = chio_json_get(meta, "progressToken");

    /* Only a token that comes back as the client wrote it (as for ids:
     * a 1e2 would come back as 100, a token of no request of its own). */
    if (tok == NULL || !chio__mcp_exact_id(tok))
        return;
    svc_buf_puts(b, ",\"_meta\":{\"progressToken\":");
    chio__mcp_value(b, tok);
    svc_buf_puts(b, "}");
}

int chio__mcp_srv_invoke(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                         size_t args_len, chio_output *out)
{
    chio_mcp_gateway *g = callback_gateway(user, chio_tool_ctx_session_id(ctx));
    worker *w = chio__mcp_tls_worker();
    svc_buf b = {0};

    svc_buf_puts(&b, "{\"name\":");
    svc_buf_json_cstr(&b, tool);
    svc_buf_puts(&b, ",\"arguments\":");
    svc_buf_add(&b, args, args_len);
    if (w != NULL)
        call_meta(&b, w->meta);
    svc_buf_puts(&b, "}");
    return ask_server(g, "tools/call", &b, ctx, out);
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

    svc_buf_puts(&b, "{\"uri\":");
    svc_buf_json_cstr(&b, uri);
    svc_buf_puts(&b, "}");
    return ask_server(g, "resources/read", &b, NULL, out);
}

int chio__mcp_prompt_get(void *user, const char *name, const char *args, size_t args_len,
                         chio_output *out)
{
    chio_mcp_gateway *g = callback_gateway(user, NULL);
    svc_buf b = {0};

    svc_buf_puts(&b, "{\"name\":");
    svc_buf_json_cstr(&b, name);
    svc_buf_puts(&b, ",\"arguments\":");
    svc_buf_add(&b, args, args_len);
    svc_buf_puts(&b, "}");
    return ask_server(g, "prompts/get", &b, NULL, out);
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
