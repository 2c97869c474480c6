/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mcp/policy.c - the chio.mcp-policy.v1 file: strict parsing (every member
 * known, every type checked, fail closed), the tool filter of tools/list,
 * the kernel a policy describes; and the layer's small JSON writers
 * (chio__mcp_*). Public API only; no shared state.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp.h"
#include "mcp_internal.h"

/* Secret patterns used when a secret_leak guard lists none. */
static const char *const default_secret_patterns[] = {
    "AKIA[0-9A-Z]{16}",                   /* AWS access key id */
    "-----BEGIN [A-Z ]*PRIVATE KEY-----", /* PEM private keys */
    "gh[pousr]_[A-Za-z0-9]{36}",          /* GitHub tokens */
    "sk-[A-Za-z0-9_-]{20,}",              /* API secret keys */
    "xox[baprs]-[A-Za-z0-9-]{10,}",       /* Slack tokens */
};

/* ---- buffer and writers ---------------------------------------------------------- */

void chio__mcp_value(svc_buf *b, const chio_json *v)
{
    char *out = NULL;
    size_t n = 0;

    if (v == NULL) {
        svc_buf_puts(b, "null");
        return;
    }
    if (chio_json_write_canonical(v, &out, &n) != 0) {
        b->oom = 1;
        return;
    }
    svc_buf_add(b, out, n);
    chio_free(out);
}

void chio__mcp_obj_set(svc_buf *b, const chio_json *obj, const char *key, const char *raw)
{
    size_t i, n = chio_json_typeof(obj) == CHIO_JSON_OBJECT ? chio_json_size(obj) : 0;
    int first = 1;

    svc_buf_puts(b, "{");
    for (i = 0; i < n; i++) {
        const char *k = chio_json_key_at(obj, i, NULL);
        if (strcmp(k, key) == 0)
            continue;
        if (!first)
            svc_buf_puts(b, ",");
        first = 0;
        svc_buf_json_cstr(b, k);
        svc_buf_puts(b, ":");
        chio__mcp_value(b, chio_json_at(obj, i));
    }
    if (raw != NULL) {
        if (!first)
            svc_buf_puts(b, ",");
        svc_buf_json_cstr(b, key);
        svc_buf_puts(b, ":");
        svc_buf_puts(b, raw);
    }
    svc_buf_puts(b, "}");
}

char *chio__mcp_dup_value(const chio_json *v)
{
    char *out = NULL, *copy;
    size_t n = 0;

    if (v == NULL || chio_json_write_canonical(v, &out, &n) != 0)
        return NULL;
    copy = malloc(n + 1);
    if (copy != NULL)
        memcpy(copy, out, n + 1);
    chio_free(out);
    return copy;
}

/* ---- parsing --------------------------------------------------------------------- */

static int fail(chio_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(chio_error *err, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL) {
        err->code = CHIO_EFORMAT;
        err->offset = CHIO_NO_OFFSET;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return CHIO_EFORMAT;
}

/* Every key of @obj must be one of @keys (NULL-terminated); 0 or CHIO_EFORMAT. */
static int only_keys(const chio_json *obj, const char *const *keys, const char *where,
                     chio_error *err)
{
    size_t i, j;
    char msg[160];

    for (i = 0; i < chio_json_size(obj); i++) {
        const char *k = chio_json_key_at(obj, i, NULL);
        for (j = 0; keys[j] != NULL; j++)
            if (strcmp(keys[j], k) == 0)
                break;
        if (keys[j] == NULL) {
            snprintf(msg, sizeof(msg), "unknown member \"%.60s\" in %s", k, where);
            return fail(err, "%s", msg);
        }
    }
    return 0;
}

static int string_list(const chio_json *arr, const char *where, int need_one, char ***out,
                       size_t *n, chio_error *err)
{
    size_t i, cnt;

    if (chio_json_typeof(arr) != CHIO_JSON_ARRAY)
        return fail(err, "%s must be an array of strings", where);
    cnt = chio_json_size(arr);
    if (need_one && cnt == 0)
        return fail(err, "%s must not be empty", where);
    *out = calloc(cnt + 1, sizeof(char *));
    if (*out == NULL)
        return CHIO_ENOMEM;
    for (i = 0; i < cnt; i++) {
        const chio_json *s = chio_json_at(arr, i);
        size_t len;
        const char *txt = chio_json_string(s, &len);
        if (txt == NULL || len == 0 || strlen(txt) != len)
            return fail(err, "%s must hold non-empty strings", where);
        (*out)[i] = strdup(txt);
        if ((*out)[i] == NULL)
            return CHIO_ENOMEM;
        *n = i + 1;
    }
    return 0;
}

/* 0 when the kernel enforces a regex_match constraint with @pattern (read
 * as chio reads it: chio_regex_constraint_check), else the error naming
 * @where and @i: a grant whose pattern the kernel cannot read would deny
 * every call under it, so the policy is refused at start. */
static int check_regex(const char *pattern, const char *where, size_t i, chio_error *err)
{
    chio_error why;
    int rc;

    chio_error_init(&why);
    rc = chio_regex_constraint_check(pattern, &why);
    if (rc == CHIO_ENOMEM)
        return rc;
    if (rc != 0)
        return fail(err, "%s[%zu].value: %s", where, i, why.message);
    return 0;
}

/* 0 when the kernel's secret_leak guard reads @pattern (a POSIX ERE
 * without GNU extensions, of bounded size: chio_secret_pattern_check),
 * else the error naming secret_leak.patterns[@i]. */
static int check_secret(const char *pattern, size_t i, chio_error *err)
{
    chio_error why;
    int rc;

    chio_error_init(&why);
    rc = chio_secret_pattern_check(pattern, &why);
    if (rc == CHIO_ENOMEM)
        return rc;
    if (rc != 0)
        return fail(err, "secret_leak.patterns[%zu]: %s", i, why.message);
    return 0;
}

/* The constraint types of a token's scope the kernel enforces
 * (docs/spec-reading.md) and the JSON type of their value: S a string, N a
 * non-negative integer, P a pair of strings, R a regular expression. */
static const struct {
    const char *name;
    char kind;
} constraint_types[] = {
    {"path_prefix", 'S'}, {"domain_exact", 'S'},  {"domain_glob", 'S'}, {"regex_match", 'R'},
    {"max_length", 'N'},  {"max_args_size", 'N'}, {"custom", 'P'},
};

/* Is @s (a JSON string of @len bytes, or NULL) free of NUL characters? The
 * kernel reads a constraint's strings with their length (model/scope.c,
 * read_constraint): "max_length\u0000x" is no max_length there, and a custom
 * pair with a NUL in it is no pair, so a C-string comparison here would
 * let through a grant the kernel cannot enforce. */
static int no_nul(const char *s, size_t len)
{
    return s != NULL && memchr(s, 0, len) == NULL;
}

/* A tool grant's optional members: present as null, the token rules drop
 * them when the gateway issues its capability ("constraints": null, which
 * was issued as no constraints at all, is refused there since review 54),
 * while the kernel reads such a member in a token as unusable. Neither
 * reading is what the policy says: refused at start. */
static const char *const grant_optional[] = {
    "constraints", "max_invocations", "max_cost_per_invocation", "max_total_cost", "dpop_required"};

/*
 * The tool grants' parts the token rules accept but the kernel does not
 * enforce (it would deny every call under them, unsupported_grant): an
 * unknown constraint type or a value of the wrong type (a type or a string
 * holding a NUL included), dpop_required, cost caps; and an optional
 * member given as null. docs/mcp.md promises such a grant is refused at
 * start; the rest of a grant (fields, operations) is checked by the token
 * rules when the gateway issues its capability.
 */
static int check_tool_grants(const chio_json *grants, chio_error *err)
{
    size_t i, j, t;
    int rc;

    for (i = 0; i < chio_json_size(grants); i++) {
        const chio_json *g = chio_json_at(grants, i), *cons = chio_json_get(g, "constraints");
        int dpop = 0;

        if (chio_json_typeof(g) != CHIO_JSON_OBJECT)
            continue; /* the token rules say what is wrong with it */
        for (j = 0; j < sizeof(grant_optional) / sizeof(grant_optional[0]); j++) {
            const chio_json *m = chio_json_get(g, grant_optional[j]);
            if (m != NULL && chio_json_typeof(m) == CHIO_JSON_NULL)
                return fail(err,
                            "grants[%zu].%s is null: leave an optional member out instead "
                            "(chio cannot read a grant holding a null there)",
                            i, grant_optional[j]);
        }
        if (chio_json_get_bool(chio_json_get(g, "dpop_required"), &dpop) == 0 && dpop)
            return fail(err,
                        "grants[%zu].dpop_required: the kernel has no proof-of-possession "
                        "check, so it would deny every call under this grant",
                        i);
        if (chio_json_get(g, "max_cost_per_invocation") != NULL ||
            chio_json_get(g, "max_total_cost") != NULL)
            return fail(err,
                        "grants[%zu]: the kernel does no cost accounting "
                        "(max_cost_per_invocation, max_total_cost), so it would deny every "
                        "call under this grant",
                        i);
        for (j = 0; j < chio_json_size(cons); j++) {
            const chio_json *c = chio_json_at(cons, j), *v = chio_json_get(c, "value");
            size_t tlen = 0, len = 0, klen = 0, vlen = 0;
            const char *type = chio_json_string(chio_json_get(c, "type"), &tlen), *str;
            const char *key, *val;
            uint64_t n;
            int ok;

            if (chio_json_typeof(c) != CHIO_JSON_OBJECT || type == NULL)
                continue; /* the token rules refuse it */
            for (t = 0; t < sizeof(constraint_types) / sizeof(constraint_types[0]); t++)
                if (strlen(constraint_types[t].name) == tlen &&
                    memcmp(type, constraint_types[t].name, tlen) == 0)
                    break;
            if (t == sizeof(constraint_types) / sizeof(constraint_types[0]))
                return fail(err,
                            "grants[%zu].constraints[%zu].type: unknown constraint type "
                            "\"%.60s%s\" (the kernel enforces path_prefix, domain_exact, "
                            "domain_glob, regex_match, max_length, max_args_size, custom)",
                            i, j, type, no_nul(type, tlen) ? "" : "\\u0000...");
            str = chio_json_string(v, &len);
            switch (constraint_types[t].kind) {
            case 'N':
                ok = chio_json_get_uint64(v, &n) == 0;
                break;
            case 'P':
                key = chio_json_string(chio_json_at(v, 0), &klen);
                val = chio_json_string(chio_json_at(v, 1), &vlen);
                ok = chio_json_typeof(v) == CHIO_JSON_ARRAY && chio_json_size(v) == 2 &&
                     no_nul(key, klen) && no_nul(val, vlen);
                break;
            default:
                ok = no_nul(str, len);
            }
            if (!ok)
                return fail(err, "grants[%zu].constraints[%zu].value: a %s constraint needs %s", i,
                            j, type,
                            constraint_types[t].kind == 'N' ? "a non-negative integer"
                            : constraint_types[t].kind == 'P'
                                ? "a pair of strings [key, value] without NUL characters"
                                : "a string without NUL characters");
            if (constraint_types[t].kind == 'R') {
                char where[64];

                snprintf(where, sizeof(where), "grants[%zu].constraints", i);
                if ((rc = check_regex(str, where, j, err)) != 0)
                    return rc == CHIO_ENOMEM ? rc : CHIO_EFORMAT;
            }
        }
    }
    return 0;
}

static int parse_guards(chio_mcp_policy *p, const chio_json *guards, chio_error *err)
{
    static const char *const fp_keys[] = {"name", "prefixes", NULL};
    static const char *const sl_keys[] = {"name", "patterns", NULL};
    size_t i;
    int rc;

    if (chio_json_typeof(guards) != CHIO_JSON_ARRAY)
        return fail(err, "%s must be an array", "guards");
    for (i = 0; i < chio_json_size(guards); i++) {
        const chio_json *g = chio_json_at(guards, i);
        const char *name = chio_json_string(chio_json_get(g, "name"), NULL);
        if (chio_json_typeof(g) != CHIO_JSON_OBJECT || name == NULL)
            return fail(err, "%s: each guard is an object with a \"name\"", "guards");
        if (strcmp(name, "forbidden_path") == 0) {
            if (p->forbidden_path)
                return fail(err, "guards: %s appears twice", name);
            if ((rc = only_keys(g, fp_keys, "the forbidden_path guard", err)) != 0)
                return rc;
            p->forbidden_path = 1;
            rc = string_list(chio_json_get(g, "prefixes"), "forbidden_path.prefixes", 1,
                             &p->forbidden_prefixes, &p->nforbidden, err);
        } else if (strcmp(name, "secret_leak") == 0) {
            const chio_json *pats = chio_json_get(g, "patterns");
            size_t j;
            if (p->secret_leak)
                return fail(err, "guards: %s appears twice", name);
            if ((rc = only_keys(g, sl_keys, "the secret_leak guard", err)) != 0)
                return rc;
            p->secret_leak = 1;
            if (pats != NULL) {
                rc = string_list(pats, "secret_leak.patterns", 1, &p->secret_patterns, &p->nsecret,
                                 err);
                for (j = 0; rc == 0 && j < p->nsecret; j++)
                    rc = check_secret(p->secret_patterns[j], j, err);
            } else {
                size_t nd = sizeof(default_secret_patterns) / sizeof(default_secret_patterns[0]);
                p->secret_patterns = calloc(nd, sizeof(char *));
                if (p->secret_patterns == NULL)
                    return CHIO_ENOMEM;
                for (j = 0; j < nd; j++) {
                    p->secret_patterns[j] = strdup(default_secret_patterns[j]);
                    if (p->secret_patterns[j] == NULL)
                        return CHIO_ENOMEM;
                    p->nsecret = j + 1;
                }
                rc = 0;
            }
        } else {
            return fail(err, "guards: unknown guard \"%.60s\"", name);
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int get_flag(const chio_json *v, const char *name, int *out, chio_error *err)
{
    if (v == NULL)
        return 0;
    if (chio_json_get_bool(v, out) != 0)
        return fail(err, "kernel.%s must be true or false", name);
    return 0;
}

static int get_u64(const chio_json *v, const char *name, uint64_t *out, chio_error *err)
{
    if (v == NULL)
        return 0;
    if (chio_json_get_uint64(v, out) != 0)
        return fail(err, "kernel.%s must be a non-negative integer", name);
    return 0;
}

static int parse_kernel(chio_mcp_policy *p, const chio_json *kn, chio_error *err)
{
    static const char *const keys[] = {"policy_hash",
                                       "checkpoint_batch_size",
                                       "allow_sampling",
                                       "allow_elicitation",
                                       "max_stream_duration_secs",
                                       "max_stream_total_bytes",
                                       NULL};
    const chio_json *ph;
    int rc;

    if (chio_json_typeof(kn) != CHIO_JSON_OBJECT)
        return fail(err, "%s must be an object", "kernel");
    if ((rc = only_keys(kn, keys, "kernel", err)) != 0)
        return rc;
    ph = chio_json_get(kn, "policy_hash");
    if (ph != NULL) {
        size_t len;
        const char *s = chio_json_string(ph, &len);
        if (s == NULL || len == 0 || strlen(s) != len)
            return fail(err, "%s must be a non-empty string", "kernel.policy_hash");
        p->policy_hash = strdup(s);
        if (p->policy_hash == NULL)
            return CHIO_ENOMEM;
    }
    if ((rc = get_u64(chio_json_get(kn, "checkpoint_batch_size"), "checkpoint_batch_size",
                      &p->checkpoint_batch_size, err)) != 0 ||
        (rc = get_flag(chio_json_get(kn, "allow_sampling"), "allow_sampling", &p->allow_sampling,
                       err)) != 0 ||
        (rc = get_flag(chio_json_get(kn, "allow_elicitation"), "allow_elicitation",
                       &p->allow_elicitation, err)) != 0 ||
        (rc = get_u64(chio_json_get(kn, "max_stream_duration_secs"), "max_stream_duration_secs",
                      &p->max_stream_duration_secs, err)) != 0 ||
        (p->max_stream_duration_secs > UINT32_MAX &&
         (rc = fail(err, "kernel.max_stream_duration_secs must be at most %u (0: no limit)",
                    UINT32_MAX)) != 0) ||
        (rc = get_u64(chio_json_get(kn, "max_stream_total_bytes"), "max_stream_total_bytes",
                      &p->max_stream_total_bytes, err)) != 0)
        return rc;
    return 0;
}

static int build_scope(chio_mcp_policy *p, const chio_json *root)
{
    svc_buf b = {0};
    const chio_json *pg = chio_json_get(root, "prompt_grants");
    const chio_json *rg = chio_json_get(root, "resource_grants");

    svc_buf_puts(&b, "{\"grants\":");
    chio__mcp_value(&b, p->grants);
    if (pg != NULL) {
        svc_buf_puts(&b, ",\"prompt_grants\":");
        chio__mcp_value(&b, pg);
    }
    if (rg != NULL) {
        svc_buf_puts(&b, ",\"resource_grants\":");
        chio__mcp_value(&b, rg);
    }
    svc_buf_puts(&b, "}");
    if (b.oom) {
        free(b.p);
        return CHIO_ENOMEM;
    }
    p->scope_json = b.p;
    p->scope_len = b.len;
    return 0;
}

static int parse_root(chio_mcp_policy *p, const char *json, size_t len, chio_error *err)
{
    static const char *const keys[] = {"schema",        "server_id", "grants", "resource_grants",
                                       "prompt_grants", "guards",    "kernel", NULL};
    const chio_json *root, *v;
    const char *s;
    size_t n;
    int rc;

    if ((rc = chio_json_parse(json, len, &p->doc, err)) != 0)
        return rc;
    root = chio_json_root(p->doc);
    if (chio_json_typeof(root) != CHIO_JSON_OBJECT)
        return fail(err, "%s", "the policy must be a JSON object");
    if ((rc = only_keys(root, keys, "the policy", err)) != 0)
        return rc;
    s = chio_json_string(chio_json_get(root, "schema"), NULL);
    if (s == NULL || strcmp(s, CHIO_MCP_POLICY_SCHEMA) != 0)
        return fail(err, "schema must be \"%s\"", CHIO_MCP_POLICY_SCHEMA);
    s = chio_json_string(chio_json_get(root, "server_id"), &n);
    if (s == NULL || n == 0 || strlen(s) != n || strcmp(s, "*") == 0)
        return fail(err, "%s must be a non-empty string other than \"*\"", "server_id");
    if ((p->server_id = strdup(s)) == NULL)
        return CHIO_ENOMEM;
    p->grants = chio_json_get(root, "grants");
    if (chio_json_typeof(p->grants) != CHIO_JSON_ARRAY)
        return fail(err, "%s must be an array (a token's scope grants)", "grants");
    if ((rc = check_tool_grants(p->grants, err)) != 0)
        return rc;
    v = chio_json_get(root, "resource_grants");
    if (v != NULL && chio_json_typeof(v) != CHIO_JSON_ARRAY)
        return fail(err, "%s must be an array", "resource_grants");
    v = chio_json_get(root, "prompt_grants");
    if (v != NULL && chio_json_typeof(v) != CHIO_JSON_ARRAY)
        return fail(err, "%s must be an array", "prompt_grants");
    if ((v = chio_json_get(root, "guards")) != NULL && (rc = parse_guards(p, v, err)) != 0)
        return rc;
    if ((v = chio_json_get(root, "kernel")) != NULL && (rc = parse_kernel(p, v, err)) != 0)
        return rc;
    if (p->policy_hash == NULL) {
        char *canon = chio__mcp_dup_value(root);
        char hex[65];
        if (canon == NULL)
            return CHIO_ENOMEM;
        rc = chio_sha256_hex(canon, strlen(canon), hex);
        free(canon);
        if (rc != 0)
            return rc;
        if ((p->policy_hash = strdup(hex)) == NULL)
            return CHIO_ENOMEM;
    }
    return build_scope(p, root);
}

int chio_mcp_policy_parse(const char *json, size_t len, chio_mcp_policy **out, chio_error *err)
{
    chio_mcp_policy *p;
    int rc;

    *out = NULL;
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return CHIO_ENOMEM;
    p->checkpoint_batch_size = CHIO_DEFAULT_CHECKPOINT_BATCH_SIZE;
    p->max_stream_duration_secs = CHIO_DEFAULT_MAX_STREAM_DURATION_SECS;
    p->max_stream_total_bytes = CHIO_DEFAULT_MAX_STREAM_TOTAL_BYTES;
    rc = parse_root(p, json, len, err);
    if (rc != 0) {
        if (rc == CHIO_ENOMEM && err != NULL) {
            err->code = rc;
            snprintf(err->message, sizeof(err->message), "out of memory");
        }
        chio_mcp_policy_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

static void free_list(char **l, size_t n)
{
    size_t i;

    for (i = 0; l != NULL && i < n; i++)
        free(l[i]);
    free(l);
}

void chio_mcp_policy_free(chio_mcp_policy *p)
{
    if (p == NULL)
        return;
    free(p->server_id);
    free(p->scope_json);
    free_list(p->forbidden_prefixes, p->nforbidden);
    free_list(p->secret_patterns, p->nsecret);
    free(p->policy_hash);
    chio_json_doc_free(p->doc);
    free(p);
}

int chio_mcp_policy_lists_tool(const chio_mcp_policy *p, const char *tool)
{
    size_t i, j;

    for (i = 0; i < chio_json_size(p->grants); i++) {
        const chio_json *g = chio_json_at(p->grants, i);
        const char *srv = chio_json_string(chio_json_get(g, "server_id"), NULL);
        const char *tn = chio_json_string(chio_json_get(g, "tool_name"), NULL);
        const chio_json *ops = chio_json_get(g, "operations");
        if (srv == NULL || tn == NULL)
            continue;
        if (strcmp(srv, "*") != 0 && strcmp(srv, p->server_id) != 0)
            continue;
        if (strcmp(tn, "*") != 0 && strcmp(tn, tool) != 0)
            continue;
        for (j = 0; j < chio_json_size(ops); j++) {
            const char *op = chio_json_string(chio_json_at(ops, j), NULL);
            if (op != NULL && strcmp(op, "invoke") == 0)
                return 1;
        }
    }
    return 0;
}

int chio_mcp_kernel_new(const chio_mcp_policy *p, chio_keypair *kp, const char *receipt_db,
                        chio_kernel **out, chio_error *err)
{
    chio_kernel_config cfg;
    chio_kernel *k = NULL;
    int rc;

    *out = NULL;
    chio_kernel_config_init(&cfg);
    cfg.keypair = kp;
    cfg.policy_hash = p->policy_hash;
    cfg.allow_sampling = p->allow_sampling;
    cfg.allow_elicitation = p->allow_elicitation;
    cfg.max_stream_duration_secs = p->max_stream_duration_secs;
    cfg.max_stream_total_bytes = p->max_stream_total_bytes;
    cfg.checkpoint_batch_size = p->checkpoint_batch_size;
    cfg.receipt_store_path = receipt_db;
    cfg.ephemeral_store = receipt_db == NULL;
    if ((rc = chio_kernel_new(&cfg, &k, err)) != 0)
        return rc;
    if (p->forbidden_path)
        rc = chio_kernel_add_forbidden_path_guard(
            k, "forbidden_path", (const char *const *)p->forbidden_prefixes, p->nforbidden, err);
    if (rc == 0 && p->secret_leak)
        rc = chio_kernel_add_secret_leak_guard(
            k, "secret_leak", (const char *const *)p->secret_patterns, p->nsecret, err);
    if (rc == 0)
        rc = chio_kernel_start(k, err);
    if (rc != 0) {
        chio_kernel_free(k);
        return rc;
    }
    *out = k;
    return 0;
}
