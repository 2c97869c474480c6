/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mcp/refusal.c - the deny receipt of a client request the gateway refuses
 * by itself: a method it does not pass (-32601), a completion or
 * subscription outside the grants (-32602), a second initialize
 * (-32600), a client notification it drops (no answer), and a request past one of the session's
 * bounds
 * (-32603, guard "limit_reached": too many calls in flight, too many
 * passed requests waiting for the server's answer), and a request its
 * transport refuses before the gateway sees it (serve-http: an id still
 * in flight in the session, -32600). The kernel decides tool calls,
 * reads and prompt gets; these never reach it, yet the client caused a
 * denial, and every denial an agent can cause leaves a receipt. The
 * receipt is signed and persisted through the kernel (the public
 * chio_kernel_sign_receipt()) before the client is answered.
 *
 * What it records: tool_server the policy's server_id, tool_name the
 * method ("(a method of N bytes)" past 256 bytes), decision deny with the gateway's reason and
 * guard "out_of_scope" (the policy grants no such request), and as parameters a summary, never the
 * params themselves: a refused request was checked by no guard, so a secret in it would otherwise
 * reach the log (redaction_mode "summary"; params_sha256 is the SHA-256 of the params' canonical
 * JSON, of "null" when there are none, so a captured request can be matched). metadata.mcp_refusal
 * holds the JSON-RPC error code and the request id (when it is at most 256 bytes of JSON), or
 * "notification":true for a dropped notification.
 *
 * The method, the id and the reason are the client's choosing (or quote it) and no guard checked
 * them: each one the kernel's secret_leak guards flag is withheld from the receipt, the stderr line
 * and the error message (CHIO__MCP_WITHHELD in their place, no jsonrpc_id), as the kernel withholds
 * a flagged tool error message or prompt name (docs/security.md).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_internal.h"

#define REFUSAL_GUARD    "out_of_scope"
#define LIMIT_GUARD      "limit_reached" /* a bound of the session (mcp.md) */
#define MAX_ID_BYTES     256
#define MAX_METHOD_BYTES 256 /* longer methods are named by their length */

/* {"params_bytes":N,"params_sha256":"..."} of @params (NULL: none). */
static int params_summary(const chio_json *params, svc_buf *out)
{
    char *canon = NULL, hex[65];
    size_t len = 4;
    int rc;

    if (params != NULL) {
        rc = chio_json_write_canonical(params, &canon, &len);
        if (rc != 0)
            return rc;
    }
    rc = chio_sha256_hex(canon != NULL ? canon : "null", len, hex);
    free(canon);
    if (rc != 0)
        return rc;
    svc_buf_printf(out, "{\"params_bytes\":%zu,\"params_sha256\":\"%s\"}", len, hex);
    return out->oom ? CHIO_ENOMEM : 0;
}

/* {"mcp_refusal":{...},"receipt_context":{...}} for the receipt. */
static int refusal_metadata(chio_mcp_gateway *g, const char *client_id, int code, svc_buf *out)
{
    if (code == 0) /* a dropped notification: nothing was answered */
        svc_buf_puts(out, "{\"mcp_refusal\":{\"notification\":true");
    else
        svc_buf_printf(out, "{\"mcp_refusal\":{\"jsonrpc_code\":%d", code);
    if (client_id != NULL && strlen(client_id) <= MAX_ID_BYTES &&
        chio__mcp_unflagged(g, client_id) == client_id) {
        svc_buf_puts(out, ",\"jsonrpc_id\":");
        svc_buf_puts(out, client_id); /* canonical JSON of the id */
    }
    svc_buf_puts(out, "}");
    if (g->session_open) {
        svc_buf_puts(out, ",\"receipt_context\":{\"session_id\":");
        svc_buf_json_cstr(out, g->session);
        svc_buf_puts(out, "}");
    }
    svc_buf_puts(out, "}");
    return out->oom ? CHIO_ENOMEM : 0;
}

static int build(chio_mcp_gateway *g, chio_receipt_builder *b, const chio_json *params,
                 const char *method, const char *why, const char *client_id, int code,
                 const char *guard)
{
    svc_buf sum = {0}, meta = {0};
    int rc;

    char longname[64];

    rc = chio_receipt_builder_set_capability_id(b, g->cap_id);
    if (rc == 0 && strlen(method) > MAX_METHOD_BYTES) {
        /* A client line may be megabytes: the receipt must stay readable. */
        snprintf(longname, sizeof(longname), "(a method of %zu bytes)", strlen(method));
        rc = chio_receipt_builder_set_tool(b, g->pol->server_id, longname);
    } else if (rc == 0 && chio_receipt_builder_set_tool(b, g->pol->server_id,
                                                        chio__mcp_unflagged(g, method)) != 0) {
        /* A method the builder cannot hold as text (a NUL in it). */
        rc = chio_receipt_builder_set_tool(b, g->pol->server_id, "(a method with a NUL)");
    }
    if (rc == 0)
        rc = params_summary(params, &sum);
    if (rc == 0)
        rc = chio_receipt_builder_set_parameters(b, sum.p, sum.len, NULL);
    if (rc == 0)
        rc = chio_receipt_builder_set_redaction_mode(b, CHIO_REDACTION_SUMMARY);
    if (rc == 0)
        rc = chio_receipt_builder_set_decision(b, CHIO_VERDICT_DENY, chio__mcp_unflagged(g, why),
                                               guard);
    if (rc == 0)
        rc = refusal_metadata(g, client_id, code, &meta);
    if (rc == 0)
        rc = chio_receipt_builder_set_metadata(b, meta.p, meta.len, NULL);
    free(sum.p);
    free(meta.p);
    return rc;
}

/* The receipt of a refusal by @guard; the error's data, or NULL. */
static char *refusal_receipt(chio_mcp_gateway *g, const chio_json *params, const char *method,
                             const char *why, const char *client_id, int code, const char *guard)
{
    chio_receipt_builder *b = NULL;
    chio_receipt *r = NULL;
    svc_buf data = {0};
    char shown[65]; /* the method in a line of stderr */
    int rc;

    rc = chio_receipt_builder_new(&b);
    if (rc == 0)
        rc = build(g, b, params, method, why, client_id, code, guard);
    if (rc != 0) {
        chio_receipt_builder_free(b);
        chio__mcp_log_shown(g, shown, sizeof(shown), method);
        fprintf(stderr, "chio mcp: the receipt of a refused %s could not be built: %s\n", shown,
                chio_strerror(rc));
        return NULL;
    }
    rc = chio_kernel_sign_receipt(g->k, b, &r, NULL); /* takes @b */
    if (rc != 0) {
        chio__mcp_log_shown(g, shown, sizeof(shown), method);
        fprintf(stderr, "chio mcp: the receipt of a refused %s was not committed: %s\n", shown,
                chio_strerror(rc));
        return NULL;
    }
    svc_buf_puts(&data, "{\"chio\":{\"code\":");
    svc_buf_json_cstr(&data, guard);
    svc_buf_puts(&data, ",\"receipt_id\":");
    svc_buf_json_cstr(&data, chio_receipt_id(r));
    svc_buf_puts(&data, ",\"verdict\":\"deny\"}}");
    chio_receipt_free(r);
    if (data.oom) {
        free(data.p);
        return NULL;
    }
    return data.p;
}

char *chio__mcp_refusal_receipt(chio_mcp_gateway *g, const chio_json *params, const char *method,
                                const char *why, const char *client_id, int code)
{
    return refusal_receipt(g, params, method, why, client_id, code, REFUSAL_GUARD);
}

char *chio__mcp_transport_refusal(chio_mcp_gateway *g, const chio_json *root, const char *client_id,
                                  int code, const char *why)
{
    const char *method = chio_json_string(chio_json_get(root, "method"), NULL);

    return refusal_receipt(g, chio_json_get(root, "params"), method != NULL ? method : "(none)",
                           why, client_id, code, REFUSAL_GUARD);
}

void chio__mcp_refuse_limit(chio_mcp_gateway *g, const chio_json *root, const char *method,
                            const char *client_id, const char *why)
{
    char *data = refusal_receipt(g, chio_json_get(root, "params"), method, why, client_id, -32603,
                                 LIMIT_GUARD);

    chio__mcp_client_error(g, client_id, -32603, why, data);
    free(data);
}

/* Length of at most 120 bytes of @method, never half a UTF-8 character:
 * the text goes into a receipt, which holds valid UTF-8 only. */
static int method_cut(const char *method)
{
    int cut = 0;

    while (method[cut] != '\0' && cut < 120)
        cut++;
    while (cut > 0 && ((unsigned char)method[cut] & 0xC0) == 0x80)
        cut--;
    return cut;
}

/* What a message quotes of @method: its first 120 bytes, or the marker
 * when the guards flag the method or those bytes (a pattern anchored at
 * the end can match the cut and not the whole, review 47). */
static void method_quote(chio_mcp_gateway *g, const char *method, char *out, size_t cap)
{
    snprintf(out, cap, "%.*s", method_cut(method), method);
    if (chio__mcp_unflagged(g, method) != method || chio__mcp_unflagged(g, out) != out)
        snprintf(out, cap, "%s", CHIO__MCP_WITHHELD);
}

/* A request the gateway does not pass: -32601 with a deny receipt
 * (above), never sent to the server. */
void chio__mcp_refuse_request(chio_mcp_gateway *g, const chio_json *root, const char *method,
                              const char *client_id)
{
    char m[240], q[124], *data;

    method_quote(g, method, q, sizeof(q));
    snprintf(m, sizeof(m), "chio: method not found: the gateway does not pass %s to the server", q);
    if (chio__mcp_unflagged(g, m) != m) /* the guards read the message whole, too */
        snprintf(m, sizeof(m), "chio: method not found: %s", CHIO__MCP_WITHHELD);
    data =
        chio__mcp_refusal_receipt(g, chio_json_get(root, "params"), method, m, client_id, -32601);
    chio__mcp_client_error(g, client_id, -32601, m, data);
    free(data);
}

/* A second initialize: MCP has one, the session's first message. Passed
 * again (before review 54), the server got the client's params anew mid-
 * session, with no receipt. -32600 with a deny receipt, not sent. */
void chio__mcp_refuse_reinit(chio_mcp_gateway *g, const chio_json *root, const char *client_id)
{
    static const char why[] = "chio: invalid request: initialize was already made in this session";
    char *data = chio__mcp_refusal_receipt(g, chio_json_get(root, "params"), "initialize", why,
                                           client_id, -32600);

    chio__mcp_client_error(g, client_id, -32600, why, data);
    free(data);
}

/* A client notification the gateway does not pass: dropped, never sent
 * (an unknown notification may be a request in disguise to a server that
 * runs what it does not answer), with a deny receipt like a refused
 * request's; there is nobody to answer. The line on stderr shows the
 * method with its control characters replaced: the client chose it, and a
 * newline in it would add a log line of the client's making. */
void chio__mcp_refuse_notification(chio_mcp_gateway *g, const chio_json *root, const char *method)
{
    char m[240], q[124], shown[121], *data;

    method_quote(g, method, q, sizeof(q));
    snprintf(m, sizeof(m),
             "chio: dropped the client notification %s, which the gateway does "
             "not pass to the server",
             q);
    chio__mcp_log_shown(g, shown, sizeof(shown), method);
    chio__mcp_peer_log("chio: dropped the client notification %s, which the gateway does not "
                       "pass to the server",
                       shown);
    data = chio__mcp_refusal_receipt(g, chio_json_get(root, "params"), method, m, NULL, 0);
    free(data);
}

const char *chio__mcp_unflagged(chio_mcp_gateway *g, const char *text)
{
    int flagged = 1;

    if (text == NULL || chio_kernel_secret_flagged(g->k, text, strlen(text), &flagged) != 0 ||
        flagged)
        return text == NULL ? NULL : CHIO__MCP_WITHHELD;
    return text;
}

void chio__mcp_log_shown(chio_mcp_gateway *g, char *out, size_t cap, const char *text)
{
    svc_log_text(out, cap, text);
    if (chio__mcp_unflagged(g, text) != text || chio__mcp_unflagged(g, out) != out)
        snprintf(out, cap, "%s", CHIO__MCP_WITHHELD);
}

void chio__mcp_peer_log(const char *fmt, ...)
{
    static svc_log_limit limit; /* the whole process: serve-http runs many gateways */
    unsigned long long dropped = 0;
    char line[512];
    va_list ap;

    if (!svc_log_limit_take(&limit, &dropped))
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (dropped > 0)
        fprintf(stderr, "%s (%llu lines not shown since the last one: one a second)\n", line,
                dropped);
    else
        fprintf(stderr, "%s\n", line);
}
