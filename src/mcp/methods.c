/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mcp/methods.c - which MCP methods the gateway lets through, and how:
 * the allowlists of client requests, client notifications and server
 * requests (anything else is refused: a method the gateway does not know
 * is one it cannot decide on), the grant checks of the requests passed
 * only for a granted prompt or resource (completion/complete,
 * resources/subscribe, resources/unsubscribe; a subscription is sent with
 * its URI as uri.c reads it and nothing else, a completion with its ref,
 * argument and context arguments only), what the kernel decides on for
 * them under guards (a completion's template expanded, its prompt's
 * arguments; messages.c asks the kernel), and the filtering of the server's answers to
 * tools/list, resources/list, resources/templates/list and prompts/list,
 * and of its notifications/resources/updated, down to what the policy
 * grants. Grants are read as the
 * kernel reads them: a pattern "*" matches anything, one ending in "*" is
 * a prefix, any other is exact; a URI is first read the one way uri.c
 * reads it for resources/read. A resources/list entry and a resource
 * update are judged by the read's own scope check (the kernel's,
 * chio__mcp_reads_resource()). No state, no locking.
 */
#include <stdlib.h>
#include <string.h>

#include "mcp_internal.h"

/* ---- the allowlists ------------------------------------------------------------- */

static int in_list(const char *const *list, const char *s)
{
    for (; *list != NULL; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

int chio__mcp_client_method(const char *method, int *list)
{
    static const char *const pass[] = {"initialize", "ping", "logging/setLevel", NULL};
    static const char *const checked[] = {"completion/complete", "resources/subscribe",
                                          "resources/unsubscribe", NULL};
    static const char *const lists[] = {"tools/list", "resources/list", "resources/templates/list",
                                        "prompts/list", NULL};
    int i;

    *list = CHIO__MCP_LIST_NONE;
    if (strcmp(method, "tools/call") == 0 || strcmp(method, "resources/read") == 0 ||
        strcmp(method, "prompts/get") == 0)
        return CHIO__MCP_MEDIATE;
    if (in_list(pass, method))
        return CHIO__MCP_PASS;
    if (in_list(checked, method))
        return CHIO__MCP_CHECKED;
    for (i = 0; lists[i] != NULL; i++)
        if (strcmp(lists[i], method) == 0) {
            *list = CHIO__MCP_LIST_TOOLS + i;
            return CHIO__MCP_PASS;
        }
    return CHIO__MCP_REFUSE;
}

int chio__mcp_client_notification_passes(const char *method)
{
    static const char *const pass[] = {"notifications/initialized", "notifications/progress",
                                       "notifications/roots/list_changed", NULL};

    return in_list(pass, method);
}

int chio__mcp_server_notification_known(const char *method)
{
    /* MCP's server notifications (2025-06-18, and elicitation/complete of
     * 2025-11-25); tasks/status is not: the gateway passes no task. */
    static const char *const known[] = {"notifications/cancelled",
                                        "notifications/progress",
                                        "notifications/message",
                                        "notifications/resources/updated",
                                        "notifications/resources/list_changed",
                                        "notifications/tools/list_changed",
                                        "notifications/prompts/list_changed",
                                        "notifications/elicitation/complete",
                                        NULL};

    return in_list(known, method);
}

int chio__mcp_server_request_passes(const char *method)
{
    return strcmp(method, "roots/list") == 0 || strcmp(method, "ping") == 0;
}

/* ---- grants --------------------------------------------------------------------- */

/* The kernel's pattern rule (model/scope.c). */
static int pattern_matches(const char *pattern, const char *name)
{
    size_t n = strlen(pattern);

    if (strcmp(pattern, "*") == 0)
        return 1;
    if (n > 0 && pattern[n - 1] == '*')
        return strncmp(pattern, name, n - 1) == 0;
    return strcmp(pattern, name) == 0;
}

/* Does @grant's "operations" hold @op? */
static int has_op(const chio_json *grant, const char *op)
{
    const chio_json *ops = chio_json_get(grant, "operations");
    size_t i;

    for (i = 0; i < chio_json_size(ops); i++) {
        const char *s = chio_json_string(chio_json_at(ops, i), NULL);
        if (s != NULL && strcmp(s, op) == 0)
            return 1;
    }
    return 0;
}

int chio__mcp_grants_prompt(const chio_mcp_policy *p, const char *name)
{
    const chio_json *gs = chio_json_get(chio_json_root(p->doc), "prompt_grants");
    size_t i;

    for (i = 0; i < chio_json_size(gs); i++) {
        const chio_json *g = chio_json_at(gs, i);
        const char *pat = chio_json_string(chio_json_get(g, "prompt_name"), NULL);
        if (pat != NULL && has_op(g, "get") && pattern_matches(pat, name))
            return 1;
    }
    return 0;
}

/* A resource grant with "read" whose pattern matches @uri (read by uri.c);
 * with @every_suffix, only a pattern that matches @uri followed by
 * anything ("*", or a prefix of @uri then "*"). */
static int grants_uri(const chio_mcp_policy *p, const char *uri, int every_suffix)
{
    const chio_json *gs = chio_json_get(chio_json_root(p->doc), "resource_grants");
    char *norm = chio__mcp_uri_normal(uri);
    size_t i, n;
    int hit = 0;

    if (norm == NULL)
        return 0;
    for (i = 0; i < chio_json_size(gs) && !hit; i++) {
        const chio_json *g = chio_json_at(gs, i);
        const char *pat = chio_json_string(chio_json_get(g, "uri_pattern"), NULL);
        if (pat == NULL || !has_op(g, "read"))
            continue;
        n = strlen(pat);
        if (!every_suffix)
            hit = pattern_matches(pat, norm);
        else
            hit = n > 0 && pat[n - 1] == '*' && strncmp(pat, norm, n - 1) == 0;
    }
    free(norm);
    return hit;
}

int chio__mcp_grants_resource(const chio_mcp_policy *p, const char *uri)
{
    return grants_uri(p, uri, 0);
}

/*
 * What a resources/read of @uri decides on its URI: uri.c's reading, then
 * the kernel's scope check under the session's token @cap (the check the
 * read itself runs, chio_capability_grants_read()), so a URI the kernel
 * would deny is never shown. Before review 56 the list and update filters
 * used grants_uri() above, a plain prefix match: under the pattern
 * "file:///pub/" plus "*" they passed "file:///pub//etc/x", "file:///pub/%2fetc",
 * "file:///pub/a\..\b" or "file:///pub/..;/etc/passwd", each a read the
 * kernel denies (a URI that can be read as holding a dot or empty segment
 * is covered only by "*" or an exact pattern).
 */
int chio__mcp_reads_resource(const chio_capability *cap, const char *uri)
{
    char *norm = chio__mcp_uri_normal(uri);
    int granted = 0;

    if (norm != NULL && chio_capability_grants_read(cap, norm, &granted) != 0)
        granted = 0;
    free(norm);
    return granted;
}

int chio__mcp_grants_template(const chio_mcp_policy *p, const char *tmpl)
{
    const char *brace = strchr(tmpl, '{');
    char *prefix;
    int hit;

    if (brace == NULL)
        return grants_uri(p, tmpl, 0);
    /* The fixed text before the first expression must fall under a
     * prefix grant ("*" included); what an expansion reads is decided
     * when it is read. */
    if ((prefix = strndup(tmpl, (size_t)(brace - tmpl))) == NULL)
        return 0;
    hit = grants_uri(p, prefix, 1);
    free(prefix);
    return hit;
}

/* A string member @key of @obj with no NUL in it (checked as a C string,
 * sent whole), or NULL. */
static const char *whole_string(const chio_json *obj, const char *key, size_t *len)
{
    size_t n = 0;
    const char *s = chio_json_string(chio_json_get(obj, key), &n);

    if (s == NULL || strlen(s) != n)
        return NULL;
    if (len != NULL)
        *len = n;
    return s;
}

/*
 * @tmpl (an RFC 6570 URI template) with each expression replaced by the
 * values the completion @params give its variables, joined by ",": the
 * argument's value for the argument's name, a string of
 * context.arguments for another, nothing for the rest. Values are put in
 * as written, not percent-encoded: what the guards and the grant check
 * read is the widest reading of the expansion ("../etc" stays a path).
 * With @want, *@found is set when some expression names the variable
 * @want.
 */
static void expand(const char *tmpl, const chio_json *params, svc_buf *out, const char *want,
                   int *found)
{
    const chio_json *arg = chio_json_get(params, "argument");
    const chio_json *ctx = chio_json_get(chio_json_get(params, "context"), "arguments");
    const char *aname = whole_string(arg, "name", NULL), *p = tmpl, *open, *close, *s;

    while ((open = strchr(p, '{')) != NULL && (close = strchr(open, '}')) != NULL) {
        int first = 1;
        svc_buf_add(out, p, (size_t)(open - p));
        s = open + 1;
        if (s < close && strchr("+#./;?&=,!@|", *s) != NULL)
            s++;
        while (s < close) {
            size_t n = strcspn(s, ",}"), nlen = strcspn(s, ":*,}"), vlen = 0;
            const char *v = NULL;
            char *name = strndup(s, nlen);
            if (name == NULL) {
                out->oom = 1;
                return;
            }
            if (want != NULL && strcmp(name, want) == 0)
                *found = 1;
            if (aname != NULL && strcmp(name, aname) == 0)
                v = whole_string(arg, "value", &vlen);
            else
                v = whole_string(ctx, name, &vlen);
            free(name);
            if (!first)
                svc_buf_puts(out, ",");
            first = 0;
            if (v != NULL)
                svc_buf_add(out, v, vlen);
            s += n;
            if (*s == ',')
                s++;
        }
        p = close + 1;
    }
    svc_buf_puts(out, p);
}

const char *chio__mcp_check_request(const chio_mcp_policy *p, const char *method,
                                    const chio_json *params)
{
    if (strcmp(method, "completion/complete") == 0) {
        const chio_json *ref = chio_json_get(params, "ref");
        const chio_json *arg = chio_json_get(params, "argument");
        const char *type = chio_json_string(chio_json_get(ref, "type"), NULL);
        const char *name = whole_string(ref, "name", NULL);
        const char *uri = whole_string(ref, "uri", NULL);
        const char *aname = whole_string(arg, "name", NULL);
        int granted = 0, found = 0;

        if (type != NULL && strcmp(type, "ref/prompt") == 0 && name != NULL &&
            chio__mcp_grants_prompt(p, name))
            granted = 1;
        if (type != NULL && strcmp(type, "ref/resource") == 0 && uri != NULL &&
            chio__mcp_grants_template(p, uri))
            granted = 2;
        if (!granted)
            return "chio: completion/complete: params.ref names no prompt or resource the "
                   "policy grants";
        /* What the server gets is what the guards read (messages.c):
         * a string name and value, no NUL in either. */
        if (aname == NULL || whole_string(arg, "value", NULL) == NULL)
            return "chio: completion/complete: params.argument needs a string name and value";
        if (granted == 2) {
            svc_buf tb = {0};
            expand(uri, params, &tb, aname, &found);
            free(tb.p);
            if (!found)
                return "chio: completion/complete: params.argument.name names no variable of "
                       "the template params.ref.uri";
        }
        return NULL;
    }
    {
        const char *uri = chio_json_string(chio_json_get(params, "uri"), NULL);
        if (uri != NULL && chio__mcp_grants_resource(p, uri))
            return NULL;
        return strcmp(method, "resources/subscribe") == 0
                   ? "chio: resources/subscribe: params.uri names no resource the policy grants"
                   : "chio: resources/unsubscribe: params.uri names no resource the policy "
                     "grants";
    }
}

char *chio__mcp_normal_uri_params(const chio_json *params)
{
    char *norm = chio__mcp_uri_normal(chio_json_get(params, "uri") != NULL
                                          ? chio_json_string(chio_json_get(params, "uri"), NULL)
                                          : "");
    svc_buf pb = {0};

    if (norm == NULL)
        return NULL;
    /* {"uri":U} alone: the one member subscribe and unsubscribe take. */
    svc_buf_puts(&pb, "{\"uri\":");
    svc_buf_json_cstr(&pb, norm);
    svc_buf_puts(&pb, "}");
    free(norm);
    if (pb.oom) {
        free(pb.p);
        return NULL;
    }
    return pb.p;
}

/* "name":"value" members of context.arguments that are strings (no NUL in
 * key or value), @skip left out, and with @only (a template) those it
 * names; each preceded by a comma but the first when *@n is 0. */
static void context_members(svc_buf *b, const chio_json *params, const char *skip, const char *only,
                            size_t *n)
{
    const chio_json *ctx = chio_json_get(chio_json_get(params, "context"), "arguments");
    size_t i;

    for (i = 0; i < chio_json_size(ctx) && chio_json_typeof(ctx) == CHIO_JSON_OBJECT; i++) {
        size_t klen = 0, vlen = 0;
        const char *k = chio_json_key_at(ctx, i, &klen);
        const char *v = chio_json_string(chio_json_at(ctx, i), &vlen);
        int found = 0;
        if (k == NULL || v == NULL || strlen(k) != klen || strlen(v) != vlen ||
            (skip != NULL && strcmp(k, skip) == 0))
            continue;
        if (only != NULL) {
            svc_buf tb = {0};
            expand(only, params, &tb, k, &found);
            free(tb.p);
            if (!found)
                continue;
        }
        if ((*n)++ > 0)
            svc_buf_puts(b, ",");
        svc_buf_json_string(b, k, klen);
        svc_buf_puts(b, ":");
        svc_buf_json_string(b, v, vlen);
    }
}

char *chio__mcp_completion_params(const chio_json *params)
{
    const chio_json *ref = chio_json_get(params, "ref");
    const chio_json *arg = chio_json_get(params, "argument");
    const char *type = chio_json_string(chio_json_get(ref, "type"), NULL);
    const char *uri = whole_string(ref, "uri", NULL);
    const char *aname = whole_string(arg, "name", NULL);
    int is_resource = type != NULL && strcmp(type, "ref/resource") == 0;
    svc_buf b = {0};
    size_t n = 0;

    if (aname == NULL || (is_resource ? uri == NULL : whole_string(ref, "name", NULL) == NULL))
        return NULL; /* checked by chio__mcp_check_request() */
    svc_buf_puts(&b, "{\"argument\":{\"name\":");
    svc_buf_json_cstr(&b, aname);
    svc_buf_puts(&b, ",\"value\":");
    svc_buf_json_cstr(&b, whole_string(arg, "value", NULL));
    svc_buf_puts(&b, "},\"context\":{\"arguments\":{");
    context_members(&b, params, aname, is_resource ? uri : NULL, &n);
    svc_buf_puts(&b, "}},\"ref\":{");
    if (is_resource) {
        svc_buf_puts(&b, "\"type\":\"ref/resource\",\"uri\":");
        svc_buf_json_cstr(&b, uri);
    } else {
        svc_buf_puts(&b, "\"name\":");
        svc_buf_json_cstr(&b, whole_string(ref, "name", NULL));
        svc_buf_puts(&b, ",\"type\":\"ref/prompt\"");
    }
    svc_buf_puts(&b, "}}");
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

char *chio__mcp_completion_uri(const chio_json *params)
{
    const char *uri = whole_string(chio_json_get(params, "ref"), "uri", NULL);
    svc_buf b = {0};
    char *norm;

    if (uri == NULL)
        return NULL;
    expand(uri, params, &b, NULL, NULL);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    norm = chio__mcp_uri_normal(b.p != NULL ? b.p : "");
    free(b.p);
    return norm;
}

char *chio__mcp_completion_prompt_args(const chio_json *params)
{
    const chio_json *arg = chio_json_get(params, "argument");
    const char *aname = whole_string(arg, "name", NULL);
    const char *value = whole_string(arg, "value", NULL);
    svc_buf b = {0};
    size_t n = 0;

    if (aname == NULL || value == NULL)
        return NULL;
    svc_buf_puts(&b, "{");
    context_members(&b, params, aname, NULL, &n);
    if (n > 0)
        svc_buf_puts(&b, ",");
    svc_buf_json_cstr(&b, aname);
    svc_buf_puts(&b, ":");
    svc_buf_json_cstr(&b, value);
    svc_buf_puts(&b, "}");
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

int chio__mcp_policy_has_guards(const chio_mcp_policy *p)
{
    return p->forbidden_path || p->secret_leak;
}

int chio__mcp_server_note_passes(const chio_capability *cap, const chio_json *root,
                                 const char *method)
{
    const char *uri;
    size_t len = 0;

    if (strcmp(method, "notifications/resources/updated") != 0)
        return 1;
    uri = chio_json_string(chio_json_get(chio_json_get(root, "params"), "uri"), &len);
    /* whole: a NUL would let a granted head stand for the rest */
    return uri != NULL && strlen(uri) == len && chio__mcp_reads_resource(cap, uri);
}

/* ---- filtered lists ------------------------------------------------------------- */

static const struct {
    const char *array, *key;
} list_spec[] = {
    [CHIO__MCP_LIST_TOOLS] = {"tools", "name"},
    [CHIO__MCP_LIST_RESOURCES] = {"resources", "uri"},
    [CHIO__MCP_LIST_TEMPLATES] = {"resourceTemplates", "uriTemplate"},
    [CHIO__MCP_LIST_PROMPTS] = {"prompts", "name"},
};

static int entry_granted(const chio_mcp_policy *p, const chio_capability *cap, int list,
                         const char *v)
{
    switch (list) {
    case CHIO__MCP_LIST_TOOLS:
        return chio_mcp_policy_lists_tool(p, v);
    case CHIO__MCP_LIST_RESOURCES:
        return chio__mcp_reads_resource(cap, v);
    case CHIO__MCP_LIST_TEMPLATES:
        return chio__mcp_grants_template(p, v);
    default:
        return chio__mcp_grants_prompt(p, v);
    }
}

void chio__mcp_filter_list(const chio_mcp_policy *p, const chio_capability *cap, int list,
                           const chio_json *res, svc_buf *out)
{
    const chio_json *arr = chio_json_get(res, list_spec[list].array);
    svc_buf tb = {0};
    size_t i;

    svc_buf_puts(&tb, "[");
    for (i = 0; i < chio_json_size(arr); i++) {
        const chio_json *t = chio_json_at(arr, i);
        size_t vlen = 0;
        const char *v = chio_json_string(chio_json_get(t, list_spec[list].key), &vlen);
        /* Matched as a C string: "echo\u0000admin" would pass as "echo"
         * (and could never be called: a name with a NUL is refused). */
        if (v == NULL || strlen(v) != vlen || !entry_granted(p, cap, list, v))
            continue;
        if (tb.len > 1)
            svc_buf_puts(&tb, ",");
        chio__mcp_value(&tb, t);
    }
    svc_buf_puts(&tb, "]");
    chio__mcp_obj_set(out, res, list_spec[list].array, tb.oom ? "[]" : tb.p);
    free(tb.p);
}
