/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mcp/checked.c - the client requests the gateway decides itself rather
 * than mediates (completion/complete, resources/subscribe and
 * resources/unsubscribe): passed only for what the policy's grants cover
 * (methods.c) and, under a policy with guards, what the kernel allows as
 * the read or prompt get each stands for; and the subscriptions a session
 * holds, which decide the server's resource updates the client may see.
 * Split from messages.c (review 45), which reads the messages and calls
 * in here. Locking: gateway.c (the subscriptions are under g->mu).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_internal.h"

/* ---- subscriptions under guards ------------------------------------------------ */

/* Is @uri (as uri.c reads it) one the client subscribed to? Under g->mu. */
static chio__mcp_sub **sub_find(chio_mcp_gateway *g, const char *uri)
{
    chio__mcp_sub **pp;

    for (pp = &g->subs; *pp != NULL; pp = &(*pp)->next)
        if (strcmp((*pp)->uri, uri) == 0)
            return pp;
    return NULL;
}

/* Note (@add) or forget the subscription to @uri; -1 when too many are
 * noted (or no memory: the subscription is refused, never passed
 * unnoted, which would drop its updates unexplained). */
static int sub_note(chio_mcp_gateway *g, const char *uri, int add)
{
    chio__mcp_sub **pp, *s;
    int rc = 0;

    pthread_mutex_lock(&g->mu);
    pp = sub_find(g, uri);
    if (!add && pp != NULL) {
        s = *pp;
        *pp = s->next;
        g->nsubs--;
        free(s->uri);
        free(s);
    } else if (add && pp == NULL) {
        if (g->nsubs >= CHIO__MCP_MAX_SUBSCRIPTIONS || (s = calloc(1, sizeof(*s))) == NULL) {
            rc = -1;
        } else if ((s->uri = strdup(uri)) == NULL) {
            free(s);
            rc = -1;
        } else {
            s->next = g->subs;
            g->subs = s;
            g->nsubs++;
        }
    }
    pthread_mutex_unlock(&g->mu);
    return rc;
}

void chio__mcp_subs_free(chio_mcp_gateway *g)
{
    while (g->subs != NULL) {
        chio__mcp_sub *s = g->subs;
        g->subs = s->next;
        free(s->uri);
        free(s);
    }
    g->nsubs = 0;
}

/* A server's notifications/progress reaches the client only under the
 * progressToken of one of the client's own tools/call in flight (the only
 * request the gateway sends a token with: provider.c), compared as
 * canonical JSON. Before review 49 every one passed, under any token: the
 * server made up progress (its message text included) for requests the
 * client never sent, or for one that had ended, and over HTTP it went to
 * the session's GET stream. */
static int progress_passes(chio_mcp_gateway *g, const chio_json *root)
{
    const chio_json *tok = chio_json_get(chio_json_get(root, "params"), "progressToken");
    char *want = tok != NULL ? chio__mcp_dup_value(tok) : NULL;
    worker *w;
    int hit = 0;

    if (want == NULL) {
        chio__mcp_peer_log("chio mcp: dropped a server progress notification without a token");
        return 0;
    }
    pthread_mutex_lock(&g->mu);
    for (w = g->workers; w != NULL && !hit; w = w->next)
        hit = w->progress != NULL && strcmp(w->progress, want) == 0;
    pthread_mutex_unlock(&g->mu);
    if (!hit) {
        char shown[65];
        chio__mcp_log_shown(g, shown, sizeof(shown), want);
        chio__mcp_peer_log("chio mcp: dropped a server progress notification under token %s, "
                           "which no tools/call of the client's in flight sent",
                           shown);
    }
    free(want);
    return hit;
}

/* A server notification the client may see: a notifications/resources/
 * updated only for a URI whose read the kernel's scope check passes
 * (methods.c, chio__mcp_reads_resource()) and, under a policy
 * with guards, one the client subscribed to with the kernel's allowance
 * (the gateway cannot run the guards on the server's notifications
 * without a receipt for each). */
int chio__mcp_note_passes(chio_mcp_gateway *g, const chio_json *root, const char *method)
{
    const char *uri;
    char *norm;
    int hit;

    if (!chio__mcp_server_note_passes(g->cap, root, method))
        return 0;
    if (strcmp(method, "notifications/progress") == 0)
        return progress_passes(g, root);
    if (strcmp(method, "notifications/resources/updated") != 0 ||
        !chio__mcp_policy_has_guards(g->pol))
        return 1;
    uri = chio_json_string(chio_json_get(chio_json_get(root, "params"), "uri"), NULL);
    if (uri == NULL || (norm = chio__mcp_uri_normal(uri)) == NULL)
        return 0;
    pthread_mutex_lock(&g->mu);
    hit = sub_find(g, norm) != NULL;
    pthread_mutex_unlock(&g->mu);
    free(norm);
    return hit;
}

/* ---- checked requests ----------------------------------------------------------- */

/* {"chio":{"code","receipt_id","verdict"}} of the kernel's decision @r. */
static void decision_data(svc_buf *b, const chio_response *r)
{
    svc_buf_puts(b, "{\"chio\":");
    chio__mcp_decision_meta(b, r);
    svc_buf_puts(b, "}");
}

/*
 * Under a policy with guards, the kernel decides a checked request the
 * grants let through as what it would reveal: a subscription as a read of
 * its URI, a completion of a resource template as a read of the template
 * expanded with the argument's and the context's values, one of a prompt
 * as a get of the prompt with those arguments: the pipeline a read or get
 * runs (the token, the grants, the guards) with the request cancelled
 * before it starts, so the provider is never asked and nothing reaches the
 * server. Passing every check, the kernel's receipt is `cancelled` (that
 * is the pass); a deny is answered -32001 with the kernel's receipt, as a
 * denied read is. Returns 1 to pass; 0 when the client was answered.
 */
static int kernel_decides(chio_mcp_gateway *g, const chio_json *root, const char *method,
                          const char *client_id)
{
    const chio_json *params = chio_json_get(root, "params");
    const chio_json *ref = chio_json_get(params, "ref");
    const char *type = chio_json_string(chio_json_get(ref, "type"), NULL);
    int prompt = strcmp(method, "completion/complete") == 0 && type != NULL &&
                 strcmp(type, "ref/prompt") == 0;
    int cancel = 1, rc, pass = 0;
    char *msg = NULL, *what = NULL, m[512];
    chio_call_options o;
    chio_response r;
    chio_error err;
    svc_buf data = {0};

    rc = chio__mcp_ensure_ready(g, &msg);
    if (rc != 0) {
        const char *why = msg != NULL ? msg : "chio: the gateway could not set up its session";
        char *rd =
            rc == -2 ? chio__mcp_refusal_receipt(g, params, method, why, client_id, -32603) : NULL;
        chio__mcp_client_error(g, client_id, -32603, why, rd);
        free(rd);
        free(msg);
        return 0;
    }
    if (prompt)
        what = chio__mcp_completion_prompt_args(params);
    else if (strcmp(method, "completion/complete") == 0)
        what = chio__mcp_completion_uri(params);
    else
        what = chio__mcp_uri_normal(chio_json_string(chio_json_get(params, "uri"), NULL));
    if (what == NULL) {
        chio__mcp_client_error(g, client_id, -32603, "chio: out of memory", NULL);
        return 0;
    }
    memset(&o, 0, sizeof(o));
    o.cancel = &cancel;             /* decided, never dispatched */
    o.provider = g->pol->server_id; /* the receipt names the server (review 17) */
    chio_response_init(&r);
    chio_error_init(&err);
    if (prompt)
        rc = chio_kernel_get_prompt_ex(g->k, g->session, NULL, g->cap_id,
                                       chio_json_string(chio_json_get(ref, "name"), NULL), what,
                                       strlen(what), &o, &r, &err);
    else
        rc = chio_kernel_read_resource_ex(g->k, g->session, NULL, g->cap_id, what, &o, &r, &err);
    if (rc == 0 && r.verdict == CHIO_VERDICT_CANCELLED) {
        pass = 1;
    } else if (rc == 0) {
        snprintf(m, sizeof(m), "chio: %s denied (%s): %s", method, chio_code_name(r.code),
                 r.reason);
        decision_data(&data, &r);
        chio__mcp_client_error(g, client_id, -32001, m, data.oom ? NULL : data.p);
    } else if (strcmp(chio_errno_reason(rc), "invalid_arguments") == 0) {
        /* What the kernel cannot read (invalid UTF-8): the client's. */
        char *rd;
        snprintf(m, sizeof(m), "chio: invalid params: %s (%s)", err.message, chio_errno_reason(rc));
        rd = chio__mcp_refusal_receipt(g, params, method, m, client_id, -32602);
        chio__mcp_client_error(g, client_id, -32602, m, rd);
        free(rd);
    } else {
        snprintf(m, sizeof(m), "chio: evaluation failed: %s (%s)", err.message,
                 chio_errno_reason(rc));
        chio__mcp_client_error(g, client_id, -32603, m, NULL);
    }
    chio_response_destroy(&r);
    free(data.p);
    free(what);
    return pass;
}

/* 1 when @uri reads the same to the gateway's grant match (methods.c, a
 * plain prefix) and to the kernel's (kernel/authz.c): printable ASCII but
 * a space, a backslash, '%' and ';', no "//" but the one after the
 * scheme (an empty segment) and no "." or ".." segment ('/', '?' and '#' end one). The
 * kernel covers a URI that can be read as holding a dot segment (percent-
 * decoded once or more, a backslash as a slash, tab/CR/LF dropped, "..;x",
 * ".. ", invisible characters folded, "//") only by "*" or an exact
 * pattern; a URI outside this set is decided by the kernel. */
static int plain_uri(const char *uri)
{
    const char *p = strstr(uri, "://"), *seg = uri;
    const char *path = p != NULL ? p + 3 : uri;

    for (const char *c = uri; *c != '\0'; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f || *c == '\\' || *c == '%' ||
            *c == ';')
            return 0;
    if (strstr(path, "//") != NULL)
        return 0;
    for (const char *c = uri;; c++) {
        if (*c == '\0' || *c == '/' || *c == '?' || *c == '#') {
            size_t n = (size_t)(c - seg);
            if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
                return 0;
            if (*c == '\0')
                return 1;
            seg = c + 1;
        }
    }
}

/* Without guards, does the kernel still decide this checked request (1)?
 * A subscription whose URI, or a completion of a resource template whose
 * expansion (chio__mcp_completion_uri()), is not plain_uri() or not
 * covered by a grant as the gateway reads grants: before review 49 the
 * gateway passed "file:///pub/..\\..\\etc/passwd", "file:///pub//etc/passwd"
 * or "%252e%252e" under the prefix grant "file:///pub/" (reads the kernel denies), and a
 * completion of "file:///pub/{name}" with the value "../../etc/passwd". */
static int kernel_needed(const chio_mcp_policy *p, const char *method, const chio_json *params)
{
    const char *type = chio_json_string(chio_json_get(chio_json_get(params, "ref"), "type"), NULL);
    char *what;
    int need;

    if (strcmp(method, "completion/complete") == 0) {
        if (type == NULL || strcmp(type, "ref/resource") != 0)
            return 0;
        what = chio__mcp_completion_uri(params);
    } else {
        what = chio__mcp_uri_normal(chio_json_string(chio_json_get(params, "uri"), NULL));
    }
    need = what == NULL || !plain_uri(what) || !chio__mcp_grants_resource(p, what);
    free(what);
    return need;
}

/* completion/complete, resources/subscribe, resources/unsubscribe: passed
 * only for what the policy grants and, under a policy with guards or for
 * a URI kernel_needed() names, what the kernel allows (kernel_decides());
 * else refused, never sent. Sent
 * with only the members the method takes: a subscription with its URI as
 * uri.c reads it (as a read would be sent), a completion with its ref,
 * argument and context arguments (chio__mcp_completion_params()). */
void chio__mcp_checked_request(chio_mcp_gateway *g, const chio_json *root, const char *method,
                               char *client_id)
{
    const chio_json *params = chio_json_get(root, "params");
    const char *why = chio__mcp_check_request(g->pol, method, params);
    int sub = strncmp(method, "resources/", 10) == 0;
    char *np = NULL;

    if (why != NULL) {
        char *data = chio__mcp_refusal_receipt(g, params, method, why, client_id, -32602);
        chio__mcp_client_error(g, client_id, -32602, why, data);
        free(data);
        free(client_id);
        return;
    }
    np = sub ? chio__mcp_normal_uri_params(params) : chio__mcp_completion_params(params);
    if (np == NULL) {
        chio__mcp_client_error(g, client_id, -32603, "chio: out of memory", NULL);
        free(client_id);
        return;
    }
    if (chio__mcp_policy_has_guards(g->pol) || kernel_needed(g->pol, method, params)) {
        chio_json_doc *nd = NULL;
        const char *uri = NULL;
        int ok = kernel_decides(g, root, method, client_id);
        if (ok && sub && chio_json_parse(np, strlen(np), &nd, NULL) == 0)
            uri = chio_json_string(chio_json_get(chio_json_root(nd), "uri"), NULL);
        if (ok && sub &&
            (uri == NULL || sub_note(g, uri, strcmp(method, "resources/subscribe") == 0) != 0)) {
            chio__mcp_refuse_limit(g, root, method, client_id,
                                   "chio: too many subscriptions in this session");
            ok = 0;
        }
        chio_json_doc_free(nd);
        if (!ok) {
            free(client_id);
            free(np);
            return;
        }
    }
    chio__mcp_pass_request(g, root, method, client_id, CHIO__MCP_LIST_NONE, np);
    free(np);
}
