/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/registry.c - the build-phase registries: tool servers, resource
 * and prompt providers, guards (with the built-in forbidden_path and
 * secret_leak guards, whose matching lives in guard_scan.c), the nested-flow
 * handler; and the mediation state's setup and teardown. Also the
 * public question whether those secret_leak guards flag a host's text.
 *
 * Concurrency: registration takes build_mu and checks `serving`; the first
 * open_session that succeeds sets `serving` under the same mutex once its
 * session is stored and before it is ready for calls (an open that fails
 * sets nothing), so no registration can slip in after a call can run.
 * Readers on the serving path read the arrays without a lock: open_session's
 * release of `serving`, then its session's READY word (which a call's
 * admission reads, seq_cst), orders every registration before them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "constraint_regex.h"
#include "guard_scan.h"
#include "kernel_internal.h"
#include "normalize.h"
#include "regex_nfa.h"

static void free_plain(void *v)
{
    free(v);
}

static void no_free(void *v)
{
    (void)v;
}

int chio__mediation_init(chio_kernel *k)
{
    chio__mediation *m = &k->med;
    int bad = 0;

    memset(m, 0, sizeof(*m));
    pthread_mutex_init(&m->build_mu, NULL);
    pthread_mutex_init(&m->tomb_mu, NULL);
    pthread_mutex_init(&m->held_mu, NULL);
    m->sweep_min_rows = CHIO__SWEEP_MIN_ROWS;
    m->sweep_max_budgets = CHIO__BUDGET_SWEEP_MAX;
    m->badsig_hold_secs = CHIO__BADSIG_HOLD_SECS;
    if (k->n_ca_keys > 0 && k->ca_keys == NULL)
        return -1;
    m->trusted = malloc(32 * (k->n_ca_keys + 1));
    if (m->trusted == NULL)
        return -1;
    if (k->n_ca_keys > 0)
        memcpy(m->trusted, k->ca_keys, 32 * k->n_ca_keys);
    if (chio_keypair_public_key(k->kp, m->trusted + 32 * k->n_ca_keys) != 0)
        return -1;
    m->ntrusted = k->n_ca_keys + 1;
    m->tomb_ring = calloc(CHIO__SESSION_TOMBSTONES, sizeof(*m->tomb_ring));
    if (m->tomb_ring == NULL)
        return -1;
    /* Values of the token cache are packed into the pointer (authz.c). */
    bad |= chio__shmap_init(&m->sessions, 0, chio__session_free);
    bad |= chio__shmap_init(&m->closed, 0, no_free);
    bad |= chio__shmap_init(&m->token_cache, CHIO__TOKEN_CACHE_MAX, no_free);
    bad |= chio__shmap_init(&m->revocations, 0, chio__revocation_free);
    bad |= chio__shmap_init(&m->budgets, 0, free_plain);
    bad |= chio__shmap_init(&m->regexes, CHIO__REGEX_CACHE_MAX, chio__regex_free);
    bad |= chio__shmap_init(&m->held, 0, free_plain);
    chio__shmap_set_hold(&m->sessions, chio__session_hold);
    chio__shmap_set_hold(&m->budgets, chio__budget_hold);
    chio__shmap_set_hold(&m->regexes, chio__regex_hold);
    chio__shmap_set_max_weight(&m->regexes, CHIO__REGEX_CACHE_BYTES);
    return bad ? -1 : 0;
}

static void free_strv(char **v, size_t n)
{
    size_t i;

    for (i = 0; v != NULL && i < n; i++)
        free(v[i]);
    free(v);
}

void chio__mediation_destroy(chio_kernel *k)
{
    chio__mediation *m = &k->med;
    size_t i, j;

    for (i = 0; i < m->nservers; i++) {
        free(m->servers[i].id);
        free_strv(m->servers[i].tools, m->servers[i].s.ntools);
    }
    free(m->servers);
    for (i = 0; i < m->nresources; i++)
        free(m->resources[i].id);
    free(m->resources);
    for (i = 0; i < m->nprompts; i++)
        free(m->prompts[i].id);
    free(m->prompts);
    for (i = 0; i < m->nguards; i++) {
        chio__guard_reg *g = &m->guards[i];
        free(g->name);
        free_strv(g->prefixes, g->nprefixes);
        free_strv(g->norm_prefixes, g->nprefixes);
        free(g->norm_lens);
        free(g->norm_open);
        free(g->open_view); /* one block with its arrays (open_view) */
        for (j = 0; j < g->nregexes; j++)
            chio__nfa_free(g->regexes[j]);
        free(g->regexes);
    }
    free(m->guards);
    free(m->trusted);
    /* The maps were zeroed by init; destroying an uninitialised (all-zero)
     * shard array is a no-op apart from the rwlock, so only destroy maps
     * whose first shard has buckets. */
    if (m->sessions.shards[0].buckets)
        chio__shmap_destroy(&m->sessions);
    if (m->closed.shards[0].buckets)
        chio__shmap_destroy(&m->closed);
    free(m->tomb_ring);
    pthread_mutex_destroy(&m->tomb_mu);
    if (m->token_cache.shards[0].buckets)
        chio__shmap_destroy(&m->token_cache);
    if (m->revocations.shards[0].buckets)
        chio__shmap_destroy(&m->revocations);
    if (m->budgets.shards[0].buckets)
        chio__shmap_destroy(&m->budgets);
    if (m->held.shards[0].buckets)
        chio__shmap_destroy(&m->held);
    pthread_mutex_destroy(&m->held_mu);
    chio__budgets_retired_free(k);
    if (m->regexes.shards[0].buckets)
        chio__shmap_destroy(&m->regexes);
    pthread_mutex_destroy(&m->build_mu);
}

/* ---- registration ------------------------------------------------------------------- */

/* Lock the build phase; fails once a drain began (after drain every call
 * is an error, spec/kernel.md "Lifecycle"), and when serving. The
 * kernel-wide state answers first, as for calls (docs/spec-reading.md):
 * a kernel that served and drained says drained, not serving. */
static int build_lock(chio_kernel *k, chio_error *err)
{
    if (k == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL kernel");
    pthread_mutex_lock(&k->med.build_mu);
    if (__atomic_load_n(&k->state, __ATOMIC_SEQ_CST) != KSTATE_RUNNING) {
        pthread_mutex_unlock(&k->med.build_mu);
        return chio__fail(err, CHIO_EDRAINED, CHIO_NO_OFFSET,
                          "kernel is draining or drained: nothing can be registered");
    }
    if (__atomic_load_n(&k->med.serving, __ATOMIC_ACQUIRE)) {
        pthread_mutex_unlock(&k->med.build_mu);
        return chio__fail(err, CHIO_ESERVING, CHIO_NO_OFFSET,
                          "kernel is serving: register everything before the first session opens");
    }
    return 0;
}

static void build_unlock(chio_kernel *k)
{
    pthread_mutex_unlock(&k->med.build_mu);
}

static int valid_name(const char *s)
{
    return s != NULL && s[0] != '\0' && chio__utf8_valid(s, strlen(s));
}

/* A server or provider id: a name, and not "*", which grants read as any
 * server and receipts as no provider (a resource read none answered). */
static int valid_id(const char *s)
{
    return valid_name(s) && strcmp(s, "*") != 0;
}

/* Grow an array of @size-byte items by one; NULL on failure. */
static void *grow1(void **arr, size_t n, size_t size)
{
    void *p = realloc(*arr, (n + 1) * size);

    if (p == NULL)
        return NULL;
    *arr = p;
    memset((char *)p + n * size, 0, size);
    return (char *)p + n * size;
}

static char **dup_strv(const char *const *v, size_t n)
{
    char **out = calloc(n ? n : 1, sizeof(*out));
    size_t i;

    if (out == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        out[i] = strdup(v[i]);
        if (out[i] == NULL) {
            free_strv(out, i);
            return NULL;
        }
    }
    return out;
}

int chio_kernel_register_tool_server(chio_kernel *k, const chio_tool_server *server,
                                     chio_error *err)
{
    chio__server_reg *r;
    size_t i;
    int rc;

    if (server == NULL || !valid_id(server->server_id) ||
        (server->invoke == NULL && server->invoke_stream == NULL) ||
        (server->ntools > 0 && server->tool_names == NULL))
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "tool server needs a non-empty UTF-8 server_id other than \"*\" and an "
                          "invoke or invoke_stream function");
    if (!chio__all_zero(server->reserved, sizeof(server->reserved)))
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "chio_tool_server.reserved must be zero");
    if ((server->flags & ~CHIO_TOOL_SERVER_ANY_TOOL) != 0)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "chio_tool_server.flags has unknown bits (0x%llx)",
                          (unsigned long long)(server->flags & ~CHIO_TOOL_SERVER_ANY_TOOL));
    if ((server->flags & CHIO_TOOL_SERVER_ANY_TOOL) != 0 && server->ntools != 0)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "tool server '%s': CHIO_TOOL_SERVER_ANY_TOOL takes no tool names",
                          server->server_id);
    for (i = 0; i < server->ntools; i++)
        if (!valid_name(server->tool_names[i]))
            return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                              "tool server '%s': tool name %zu is NULL, empty or not UTF-8",
                              server->server_id, i);
    rc = build_lock(k, err);
    if (rc != 0)
        return rc;
    if (chio__find_server(k, server->server_id) != NULL) {
        build_unlock(k);
        return chio__fail(err, CHIO_EDUPLICATE, CHIO_NO_OFFSET,
                          "tool server '%s' is already registered", server->server_id);
    }
    r = grow1((void **)&k->med.servers, k->med.nservers, sizeof(*r));
    if (r == NULL)
        goto nomem;
    r->s = *server;
    r->id = strdup(server->server_id);
    r->tools = dup_strv(server->tool_names, server->ntools);
    if (r->id == NULL || r->tools == NULL) {
        free(r->id);
        free_strv(r->tools, server->ntools);
        goto nomem;
    }
    r->s.server_id = r->id;
    r->s.tool_names = (const char *const *)r->tools;
    k->med.nservers++;
    build_unlock(k);
    return 0;
nomem:
    build_unlock(k);
    return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
}

const chio__server_reg *chio__find_server(chio_kernel *k, const char *id)
{
    size_t i;

    for (i = 0; i < k->med.nservers; i++)
        if (strcmp(k->med.servers[i].id, id) == 0)
            return &k->med.servers[i];
    return NULL;
}

int chio__server_has_tool(const chio__server_reg *r, const char *tool)
{
    size_t i;

    if ((r->s.flags & CHIO_TOOL_SERVER_ANY_TOOL) != 0)
        return 1;
    for (i = 0; i < r->s.ntools; i++)
        if (strcmp(r->tools[i], tool) == 0)
            return 1;
    return 0;
}

static int add_provider(chio_kernel *k, chio__provider_reg **arr, size_t *n, const char *id,
                        chio__provider_reg **out, chio_error *err)
{
    chio__provider_reg *r;
    size_t i;
    int rc;

    if (!valid_id(id))
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "provider needs a non-empty UTF-8 id other than \"*\" and a read/get "
                          "function");
    rc = build_lock(k, err);
    if (rc != 0)
        return rc;
    for (i = 0; i < *n; i++) {
        if (strcmp((*arr)[i].id, id) == 0) {
            build_unlock(k);
            return chio__fail(err, CHIO_EDUPLICATE, CHIO_NO_OFFSET,
                              "provider '%s' is already registered", id);
        }
    }
    r = grow1((void **)arr, *n, sizeof(*r));
    if (r == NULL || (r->id = strdup(id)) == NULL) {
        build_unlock(k);
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
    *out = r;
    (*n)++;
    return 0; /* still locked: the caller fills *out and unlocks */
}

int chio_kernel_register_resource_provider(chio_kernel *k, const chio_resource_provider *p,
                                           chio_error *err)
{
    chio__provider_reg *r;
    int rc;

    if (k == NULL) /* before &k->med below: no member access through NULL */
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL kernel");
    if (p == NULL || p->read == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "resource provider needs read()");
    if (!chio__all_zero(p->reserved, sizeof(p->reserved)))
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "chio_resource_provider.reserved must be zero");
    rc = add_provider(k, &k->med.resources, &k->med.nresources, p->provider_id, &r, err);
    if (rc != 0)
        return rc;
    r->resource = *p;
    r->resource.provider_id = r->id;
    build_unlock(k);
    return 0;
}

int chio_kernel_register_prompt_provider(chio_kernel *k, const chio_prompt_provider *p,
                                         chio_error *err)
{
    chio__provider_reg *r;
    int rc;

    if (k == NULL) /* before &k->med below: no member access through NULL */
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL kernel");
    if (p == NULL || p->get == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "prompt provider needs get()");
    if (!chio__all_zero(p->reserved, sizeof(p->reserved)))
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "chio_prompt_provider.reserved must be zero");
    rc = add_provider(k, &k->med.prompts, &k->med.nprompts, p->provider_id, &r, err);
    if (rc != 0)
        return rc;
    r->prompt = *p;
    r->prompt.provider_id = r->id;
    build_unlock(k);
    return 0;
}

int chio_kernel_set_nested_handler(chio_kernel *k, chio_nested_fn fn, void *user, chio_error *err)
{
    int rc = build_lock(k, err);

    if (rc != 0)
        return rc;
    k->med.nested_fn = fn;
    k->med.nested_user = user;
    build_unlock(k);
    return 0;
}

/* ---- guards ------------------------------------------------------------------------------- */

/* Append a guard (locked); *out is the new entry with the lock still held. */
static int add_guard_locked(chio_kernel *k, const char *name, chio_guard_fn fn, void *user,
                            chio__guard_reg **out, chio_error *err)
{
    chio__guard_reg *g;
    size_t i;
    int rc;

    if (!valid_name(name) || fn == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "guard needs a non-empty UTF-8 name and a function");
    if (chio__is_code_name(name))
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "guard name '%s' is a decision code: a receipt's decision.guard names "
                          "the kernel check that denied by its code, so its denials could not be "
                          "told from the kernel's",
                          name);
    rc = build_lock(k, err);
    if (rc != 0)
        return rc;
    for (i = 0; i < k->med.nguards; i++) {
        if (strcmp(k->med.guards[i].name, name) == 0) {
            build_unlock(k);
            return chio__fail(err, CHIO_EDUPLICATE, CHIO_NO_OFFSET,
                              "guard '%s' is already registered", name);
        }
    }
    g = grow1((void **)&k->med.guards, k->med.nguards, sizeof(*g));
    if (g == NULL || (g->name = strdup(name)) == NULL) {
        build_unlock(k);
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
    g->fn = fn;
    g->user = user;
    g->k = k;
    *out = g;
    return 0;
}

int chio_kernel_add_guard(chio_kernel *k, const char *name, chio_guard_fn fn, void *user,
                          chio_error *err)
{
    chio__guard_reg *g;
    int rc = add_guard_locked(k, name, fn, user, &g, err);

    if (rc != 0)
        return rc;
    k->med.nguards++;
    build_unlock(k);
    return 0;
}

/* Built-in guards walk every string value and every object key of the
 * arguments (secret_leak: numbers too), reading each the way a tool would
 * (guard_scan.c). */
typedef struct builtin_scan {
    const chio__guard_reg *g;
    char *details;
    size_t cap;
    chio__secret_work work; /* the call's secret scans (guard_scan.h) */
} builtin_scan;

/* May evidence name the object key @key? Not when any secret_leak guard of
 * the kernel flags it: it is redacted from the receipt's parameters (out
 * of memory counts as flagged). */
static int key_quotable(const chio__guard_reg *g, const char *key)
{
    size_t gi, pi;

    return key != NULL && chio__secret_scan(g->k->med.guards, g->k->med.nguards, key, strlen(key),
                                            NULL, &gi, &pi) == 0;
}

static int scan_prefix(void *ctx, chio__key *key, const char *s, size_t len, int is_key)
{
    builtin_scan *b = ctx;
    int rc = chio__forbidden_path_hit(b->g, key, 1, s, len, b->details, b->cap);

    (void)is_key;
    /* the details name the key only when no secret guard flags it */
    if (rc > 0 && key->name != NULL && !key_quotable(b->g, key->name))
        rc = chio__forbidden_path_hit(b->g, key, 0, s, len, b->details, b->cap);
    return rc;
}

static int scan_secret(void *ctx, chio__key *key, const char *s, size_t len, int is_key)
{
    builtin_scan *b = ctx;
    size_t gi, pi;
    int rc = chio__secret_scan(b->g, 1, s, len, &b->work, &gi, &pi);
    char what[96], why[64];

    if (rc <= 0)
        return rc;
    /* Evidence names the pattern and the key, never the secret (for a key
     * that is the secret, or that another secret guard flags, not even
     * the key). */
    if (is_key)
        snprintf(what, sizeof(what), "an argument key");
    else if (key->name == NULL)
        snprintf(what, sizeof(what), "argument");
    else if (key_quotable(b->g, key->name))
        snprintf(what, sizeof(what), "argument '%.64s'", key->name);
    else
        snprintf(what, sizeof(what), "an argument under a key a secret_leak guard flags");
    if (pi == CHIO__SECRET_TOO_DEEP)
        snprintf(why, sizeof(why), "is encoded more than %d layers deep to be scanned",
                 CHIO__SECRET_DECODE_MAX);
    else if (pi == CHIO__SECRET_TOO_COSTLY)
        snprintf(why, sizeof(why), "was not scanned within the guard's work bound");
    else if (pi == CHIO__SECRET_AMBIGUOUS) /* a duplicate key, a lone surrogate, 1e400 */
        snprintf(why, sizeof(why), "holds JSON that cannot be read one way, not scanned");
    else if (pi == CHIO__SECRET_SHELL_DEEP)
        snprintf(why, sizeof(why), "nests shell expansions past what the guard reads");
    else if (pi == CHIO__SECRET_BRACES_LARGE)
        snprintf(why, sizeof(why), "expands its braces past what the guard reads");
    else if (pi == CHIO__SECRET_ASSIGN_LARGE)
        snprintf(why, sizeof(why), "expands its variables past what the guard reads");
    else
        snprintf(why, sizeof(why), "matches secret pattern %zu", pi);
    snprintf(b->details, b->cap, "%s %s", what, why);
    return 1;
}

static int builtin_guard(void *user, const chio_guard_input *in, chio_guard_verdict *verdict,
                         char *details, size_t cap)
{
    const chio__guard_reg *g = user;
    builtin_scan b = {g, details, cap, {0}};
    int secret = chio__is_secret_guard(g);
    chio_json_doc *doc;
    int hit;

    if (chio_json_parse(in->arguments_json, in->arguments_len, &doc, NULL) != 0)
        return -1;
    hit = chio__each_text(chio_json_root(doc), secret, secret ? scan_secret : scan_prefix, &b);
    /* relative paths read from the working directories the arguments set */
    if (hit == 0 && !secret)
        hit = chio__forbidden_cwd_hit(g, chio_json_root(doc), details, cap);
    chio__secret_work_destroy(&b.work);
    chio_json_doc_free(doc);
    if (hit < 0) {
        snprintf(details, cap, "out of memory while scanning the arguments");
        return -1; /* a failing guard denies */
    }
    *verdict = hit ? CHIO_GUARD_DENY : CHIO_GUARD_PASS;
    if (!hit)
        snprintf(details, cap, "%s",
                 secret ? "no secret pattern matched" : "no argument under a forbidden prefix");
    return 0;
}

/* Can @prefix be read as a path (normalised)? One that cannot ("../", a
 * control character, '..' above the root or below /proc or /dev) is still
 * a prefix: kernel.md's forbidden_path denies any string argument that
 * starts with it, and the guard does that for every prefix, but it has no
 * path to compare other spellings with. */
static int prefix_readable(const char *prefix)
{
    size_t n = strlen(prefix), len;
    char *norm = malloc(n + 2);
    int rc;

    if (norm == NULL)
        return CHIO_ENOMEM;
    rc = chio__path_normalize(prefix, n, 0, norm, n + 2, &len) == 0 ? 0 : CHIO_EINVAL;
    free(norm);
    return rc;
}

/* Does @prefix end inside a name: not at a separator, nor after a "." or
 * ".." segment ("/etc/shadow" and "secret" do; "/etc/", "/etc/." and ""
 * do not)? kernel.md's literal "starts with" then also covers longer
 * names ("/etc/shadow-"), and so must the normalised readings. */
static unsigned char ends_inside_name(const char *prefix)
{
    size_t n = strlen(prefix), s = n;

    while (s > 0 && prefix[s - 1] != '/' && prefix[s - 1] != '\\')
        s--;
    if (s == n)
        return 0; /* empty, or ends at a separator */
    return !(strcmp(prefix + s, ".") == 0 || strcmp(prefix + s, "..") == 0);
}

/* The forbidden prefixes normalised (NULL for one that cannot be read as
 * a path), with their lengths in @lens and whether each ends inside a
 * name in @open (n entries), once: the guard compares every reading of
 * every argument with each, and normalising them per reading made a
 * policy of 64 prefixes take seconds on a 4 MiB argument of short words.
 * NULL when out of memory. */
static char **normalised_prefixes(const char *const *v, size_t n, size_t *lens, unsigned char *open)
{
    char **out = calloc(n ? n : 1, sizeof(*out));
    size_t i, xn;

    for (i = 0; out != NULL && i < n; i++) {
        xn = strlen(v[i]);
        open[i] = ends_inside_name(v[i]);
        if ((out[i] = malloc(xn + 2)) == NULL) {
            free_strv(out, i);
            return NULL;
        }
        if (chio__path_normalize(v[i], xn, 0, out[i], xn + 2, &lens[i]) != 0) {
            free(out[i]);
            out[i] = NULL;
        }
    }
    return out;
}

/* The view of a forbidden_path guard's @n prefixes (as written, read,
 * their lengths and which are open) with only its open ones (mediate.h),
 * in one block: the reg, then prefixes, norm_prefixes, norm_lens,
 * open_map, norm_open. The view borrows the strings. *@out NULL when no
 * prefix is open. 0 or CHIO_ENOMEM. */
static int open_view(char **prefixes, char **norm, const size_t *lens, const unsigned char *open,
                     size_t n, chio__guard_reg **out)
{
    chio__guard_reg *v;
    size_t i, m = 0;

    *out = NULL;
    for (i = 0; i < n; i++)
        m += open[i] && norm[i] != NULL;
    if (m == 0)
        return 0;
    v = malloc(sizeof(*v) + m * (2 * sizeof(char *) + 2 * sizeof(size_t) + 1));
    if (v == NULL)
        return CHIO_ENOMEM;
    memset(v, 0, sizeof(*v));
    v->builtin = 1;
    v->prefixes = (char **)(void *)(v + 1);
    v->norm_prefixes = v->prefixes + m;
    v->norm_lens = (size_t *)(void *)(v->norm_prefixes + m);
    v->open_map = v->norm_lens + m;
    v->norm_open = (unsigned char *)(v->open_map + m);
    v->nprefixes = 0;
    for (i = 0; i < n; i++) {
        if (!open[i] || norm[i] == NULL)
            continue;
        m = v->nprefixes++;
        v->prefixes[m] = prefixes[i];
        v->norm_prefixes[m] = norm[i];
        v->norm_lens[m] = lens[i];
        v->norm_open[m] = 1;
        v->open_map[m] = i;
    }
    *out = v;
    return 0;
}

int chio_kernel_add_forbidden_path_guard(chio_kernel *k, const char *name,
                                         const char *const *prefixes, size_t n, chio_error *err)
{
    chio__guard_reg *g, *view = NULL;
    char **copy, **norm = NULL;
    size_t *lens;
    unsigned char *open;
    size_t i, gi;
    int rc;

    if (n > 0 && prefixes == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL prefix list");
    for (i = 0; i < n; i++) {
        if (prefixes[i] == NULL || !chio__utf8_valid(prefixes[i], strlen(prefixes[i])))
            return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "prefix %zu is NULL or not UTF-8",
                              i);
        if (prefix_readable(prefixes[i]) == CHIO_ENOMEM)
            return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
    copy = dup_strv(prefixes, n);
    lens = calloc(n ? n : 1, sizeof(*lens));
    open = calloc(n ? n : 1, sizeof(*open));
    if (copy != NULL && lens != NULL && open != NULL)
        norm = normalised_prefixes(prefixes, n, lens, open);
    if (norm != NULL && open_view(copy, norm, lens, open, n, &view) != 0) {
        free_strv(norm, n);
        norm = NULL;
    }
    if (norm == NULL) {
        free_strv(copy, n);
        free(lens);
        free(open);
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
    rc = add_guard_locked(k, name, builtin_guard, NULL, &g, err);
    if (rc != 0) {
        free_strv(copy, n);
        free_strv(norm, n);
        free(lens);
        free(open);
        free(view);
        return rc;
    }
    g->prefixes = copy;
    g->norm_prefixes = norm;
    g->norm_lens = lens;
    g->norm_open = open;
    g->nprefixes = n;
    g->builtin = 1;
    g->open_view = view;
    gi = k->med.nguards++;
    build_unlock(k);
    /* Accepted (the spec's rule needs only the text), and the operator
     * hears that only that spelling is caught. */
    for (i = 0; i < n; i++)
        if (prefix_readable(prefixes[i]) == CHIO_EINVAL)
            chio__log(k, CHIO_LOG_WARN, "forbidden_prefix_as_written",
                      "this forbidden_path prefix cannot be read as a path (a control "
                      "character, or '..' above the root or below /proc or /dev): it "
                      "denies only strings that start with it as written",
                      "\"guard_index\":%zu,\"prefix_index\":%zu", (size_t)gi, i);
    return 0;
}

/* Free the first @n automata of @res and @res. */
static void free_nfas(chio__nfa **res, size_t n)
{
    while (n-- > 0)
        chio__nfa_free(res[n]);
    free(res);
}

/* Compile secret pattern @pattern into *@out: the kernel's bounded
 * automaton (regex_nfa.c) reads a POSIX ERE byte by byte, whatever locale
 * the host set, and searches it in time linear in the text. On failure
 * the error names the pattern as @what says ("secret pattern 2"). */
static int compile_secret(const char *pattern, const char *what, chio__nfa **out, chio_error *err)
{
    int rc;

    *out = NULL;
    if (pattern == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "%s is NULL", what);
    rc = chio__nfa_compile(pattern, out);
    if (rc == 0 && chio__nfa_states(*out) > CHIO__SECRET_MAX_STATES) {
        chio__nfa_free(*out);
        *out = NULL;
        rc = CHIO_ETOOBIG;
    }
    if (rc == CHIO_ENOMEM)
        return chio__fail(err, rc, CHIO_NO_OFFSET, "out of memory");
    if (rc == CHIO_ETOOBIG)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "%s is too large: its automaton would have more than %zu states (a "
                          "counted repetition takes about two states per count)",
                          what, CHIO__SECRET_MAX_STATES);
    if (rc != 0)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "%s is not a valid POSIX extended regular expression of the kind the "
                          "kernel reads (not read: back-references, escaped letters other "
                          "than \\w \\W \\s \\S \\b \\B, such as \\d, [.x.], [=x=], "
                          "groups nested deeper than 64)",
                          what);
    return 0;
}

int chio_secret_pattern_check(const char *pattern, chio_error *err)
{
    chio__nfa *nfa;
    int rc = compile_secret(pattern, "the pattern", &nfa, err);

    chio__nfa_free(nfa);
    return rc;
}

int chio_kernel_add_secret_leak_guard(chio_kernel *k, const char *name, const char *const *patterns,
                                      size_t n, chio_error *err)
{
    chio__guard_reg *g;
    chio__nfa **res;
    size_t i;
    int rc;

    if (n > 0 && patterns == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL pattern list");
    if (n > SIZE_MAX / sizeof(*res))
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    res = calloc(n ? n : 1, sizeof(*res));
    if (res == NULL)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    for (i = 0; i < n; i++) {
        char what[48];
        snprintf(what, sizeof(what), "secret pattern %zu", i);
        if ((rc = compile_secret(patterns[i], what, &res[i], err)) != 0) {
            free_nfas(res, i);
            return rc;
        }
    }
    rc = add_guard_locked(k, name, builtin_guard, NULL, &g, err);
    if (rc != 0) {
        free_nfas(res, n);
        return rc;
    }
    g->regexes = res;
    g->nregexes = n;
    g->builtin = 1;
    k->med.nguards++;
    build_unlock(k);
    return 0;
}

/* For a host quoting text the kernel never checked (an identifier a client
 * chose) in its own receipts, messages and logs: the same reading as a
 * string argument's (chio__secret_scan). Guards are read as a call reads
 * them: without a lock once serving, under build_mu before, where a
 * registration may still be in progress. */
int chio_kernel_secret_flagged(chio_kernel *k, const char *text, size_t len, int *flagged)
{
    int locked = 0, named;

    if (flagged != NULL)
        *flagged = 1; /* fail closed: an unread text is not quoted */
    if (k == NULL || flagged == NULL || (text == NULL && len > 0))
        return CHIO_EINVAL;
    if (!__atomic_load_n(&k->med.serving, __ATOMIC_ACQUIRE)) {
        pthread_mutex_lock(&k->med.build_mu);
        locked = 1;
    }
    named = chio__secret_named_n(k, text, len);
    if (locked)
        pthread_mutex_unlock(&k->med.build_mu);
    *flagged = named;
    return 0;
}
