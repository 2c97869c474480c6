/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/constraints.c - the argument constraints of a tool grant (check 6).
 *
 * Every constraint looks at the string leaves of the arguments (object
 * member values and array items at any depth, each with its nearest object
 * key). Readings (also in the README):
 *   path_prefix   the leaves that are paths (key names a path, or the value
 *                 looks like one) must exist and all lie under the prefix
 *                 after normalisation: "." dropped, ".." pops a segment,
 *                 popping above the root fails, comparison is by whole
 *                 segments, "/" and "\" both separate;
 *   domain_exact  the hosts of the URL/host leaves must exist and all equal
 *   domain_glob   ...or all match the glob ('*' any run, '?' one character);
 *                 hosts are lowercased, without port, userinfo or final dot;
 *   regex_match   some string leaf matches the POSIX ERE (unanchored); an
 *                 invalid pattern denies;
 *   max_length    every string leaf has at most N bytes;
 *   max_args_size the canonical JSON of the arguments has at most N bytes;
 *   custom [k,v]  some object member named k, at any depth, is the string v;
 *   anything else denies (fail closed).
 * Compiled patterns are cached per kernel (regexes map), never freed while
 * serving.
 */
#include <ctype.h>
#include <stddef.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kernel_internal.h"
#include "scope.h"

/* ---- walking string leaves ---------------------------------------------------------- */

static int walk(const chio_json *v, const char *key,
                int (*fn)(void *, const char *, const char *, size_t), void *ctx)
{
    size_t i, n;
    int rc;

    switch (chio_json_typeof(v)) {
    case CHIO_JSON_STRING: {
        size_t len;
        const char *s = chio_json_string(v, &len);
        return fn(ctx, key, s, len);
    }
    case CHIO_JSON_ARRAY:
        n = chio_json_size(v);
        for (i = 0; i < n; i++)
            if ((rc = walk(chio_json_at(v, i), key, fn, ctx)) != 0)
                return rc;
        return 0;
    case CHIO_JSON_OBJECT:
        n = chio_json_size(v);
        for (i = 0; i < n; i++) {
            const char *k = chio_json_key_at(v, i, NULL);
            if ((rc = walk(chio_json_get(v, k), k, fn, ctx)) != 0)
                return rc;
        }
        return 0;
    default:
        return 0;
    }
}

int chio__each_string(const chio_json *v,
                      int (*fn)(void *ctx, const char *key, const char *s, size_t len), void *ctx)
{
    return walk(v, NULL, fn, ctx);
}

static int key_has(const char *key, const char *needle)
{
    size_t n = strlen(needle);

    for (; key != NULL && *key; key++)
        if (strncasecmp(key, needle, n) == 0)
            return 1;
    return 0;
}

/* ---- path_prefix --------------------------------------------------------------------- */

#define MAX_SEGS 128

typedef struct path {
    int absolute;
    size_t nsegs;
    const char *seg[MAX_SEGS];
    size_t len[MAX_SEGS];
} path;

/* Normalise @s into @p; 0 when it escapes its root or is too deep. */
static int normalise(const char *s, size_t n, path *p)
{
    size_t i = 0;

    p->nsegs = 0;
    p->absolute = n > 0 && (s[0] == '/' || s[0] == '\\');
    while (i < n) {
        size_t j = i;
        while (j < n && s[j] != '/' && s[j] != '\\')
            j++;
        if (j - i == 0 || (j - i == 1 && s[i] == '.')) {
            /* empty or "." */
        } else if (j - i == 2 && s[i] == '.' && s[i + 1] == '.') {
            if (p->nsegs == 0)
                return 0; /* ".." above the root (or above the start of a relative path) */
            p->nsegs--;
        } else {
            if (p->nsegs == MAX_SEGS)
                return 0;
            p->seg[p->nsegs] = s + i;
            p->len[p->nsegs++] = j - i;
        }
        i = j + 1;
    }
    return 1;
}

static int looks_like_path(const char *key, const char *s, size_t n)
{
    static const char *const keys[] = {"path",   "file", "dir", "directory",
                                       "folder", "root", "cwd", NULL};
    size_t i;

    for (i = 0; keys[i]; i++)
        if (key_has(key, keys[i]))
            return 1;
    if (n == 0 || memmem(s, n, "://", 3) != NULL)
        return 0;
    return s[0] == '/' || s[0] == '~' || s[0] == '.' || memchr(s, '/', n) != NULL ||
           memchr(s, '\\', n) != NULL;
}

typedef struct prefix_scan {
    path prefix, cand;
    int seen, bad;
    char *reason;
    size_t cap;
} prefix_scan;

static int scan_path(void *ctx, const char *key, const char *s, size_t n)
{
    prefix_scan *ps = ctx;
    size_t i;

    if (!looks_like_path(key, s, n))
        return 0;
    ps->seen = 1;
    if (!normalise(s, n, &ps->cand) || ps->cand.absolute != ps->prefix.absolute ||
        ps->cand.nsegs < ps->prefix.nsegs)
        goto outside;
    for (i = 0; i < ps->prefix.nsegs; i++)
        if (ps->cand.len[i] != ps->prefix.len[i] ||
            memcmp(ps->cand.seg[i], ps->prefix.seg[i], ps->prefix.len[i]) != 0)
            goto outside;
    return 0;
outside:
    snprintf(ps->reason, ps->cap, "path '%.*s' is outside the allowed prefix",
             (int)(n > 120 ? 120 : n), s);
    ps->bad = 1;
    return 1;
}

static int path_prefix(const chio__constraint *c, const chio_json *args, char *reason, size_t cap)
{
    prefix_scan scan, *ps = &scan; /* two paths of 128 segments: 4 KiB of stack */
    int ok;

    memset(ps, 0, offsetof(prefix_scan, reason));
    ps->reason = reason;
    ps->cap = cap;
    if (!normalise(c->str, strlen(c->str), &ps->prefix)) {
        snprintf(reason, cap, "path_prefix '%.100s' is not a valid prefix", c->str);
        return 0;
    }
    chio__each_string(args, scan_path, ps);
    ok = ps->seen && !ps->bad;
    if (!ps->seen)
        snprintf(reason, cap, "path_prefix '%.100s': the arguments name no path", c->str);
    return ok;
}

/* ---- domains -------------------------------------------------------------------------- */

/* The host of a URL or host string, lowercased into @out; 0 when none. */
static int host_of(const char *s, size_t n, char *out, size_t cap)
{
    const char *p = s, *end = s + n, *h, *e;
    const char *scheme = memmem(s, n, "://", 3);
    size_t len, i;

    if (scheme != NULL)
        p = scheme + 3;
    h = p;
    e = h;
    while (e < end && *e != '/' && *e != '?' && *e != '#')
        e++;
    for (i = (size_t)(e - h); i > 0; i--) /* userinfo@ */
        if (h[i - 1] == '@') {
            h += i;
            break;
        }
    if (h < e && *h == '[') { /* [v6]:port */
        const char *rb = memchr(h, ']', (size_t)(e - h));
        if (rb == NULL)
            return 0;
        h++;
        e = rb;
    } else {
        const char *colon = memchr(h, ':', (size_t)(e - h));
        if (colon != NULL)
            e = colon;
    }
    while (e > h && e[-1] == '.')
        e--;
    len = (size_t)(e - h);
    if (len == 0 || len >= cap)
        return 0;
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)h[i];
        if (ch <= ' ' || ch == '\\')
            return 0;
        out[i] = (char)tolower(ch);
    }
    out[len] = '\0';
    return 1;
}

typedef struct domain_scan {
    const chio__constraint *c;
    char want[256];
    int seen, bad;
    char *reason;
    size_t cap;
} domain_scan;

static int domain_candidate(const char *key, const char *s, size_t n)
{
    static const char *const keys[] = {"url", "uri", "host", "domain", "endpoint", "href", NULL};
    size_t i;

    if (memmem(s, n, "://", 3) != NULL)
        return 1;
    for (i = 0; keys[i]; i++)
        if (key_has(key, keys[i]))
            return 1;
    return 0;
}

static int scan_domain(void *ctx, const char *key, const char *s, size_t n)
{
    domain_scan *ds = ctx;
    char host[256];
    int match;

    if (!domain_candidate(key, s, n))
        return 0;
    ds->seen = 1;
    if (!host_of(s, n, host, sizeof(host)))
        match = 0;
    else if (ds->c->kind == CHIO__CONSTRAINT_DOMAIN_EXACT)
        match = strcmp(host, ds->want) == 0;
    else
        match = fnmatch(ds->want, host, 0) == 0;
    if (!match) {
        snprintf(ds->reason, ds->cap, "host of '%.*s' is not allowed by %s '%.100s'",
                 (int)(n > 120 ? 120 : n), s, ds->c->type_name, ds->c->str);
        ds->bad = 1;
        return 1;
    }
    return 0;
}

static int domain(const chio__constraint *c, const chio_json *args, char *reason, size_t cap)
{
    domain_scan ds;
    size_t i, n = strlen(c->str);

    memset(&ds, 0, sizeof(ds));
    ds.c = c;
    ds.reason = reason;
    ds.cap = cap;
    if (n == 0 || n >= sizeof(ds.want)) {
        snprintf(reason, cap, "%s value is empty or too long", c->type_name);
        return 0;
    }
    for (i = 0; i < n; i++)
        ds.want[i] = (char)tolower((unsigned char)c->str[i]);
    while (n > 0 && ds.want[n - 1] == '.')
        ds.want[--n] = '\0';
    chio__each_string(args, scan_domain, &ds);
    if (!ds.seen)
        snprintf(reason, cap, "%s '%.100s': the arguments name no URL or host", c->type_name,
                 c->str);
    return ds.seen && !ds.bad;
}

/* ---- regex_match ------------------------------------------------------------------------ */

static const chio__regex *compiled(chio_kernel *k, const char *pattern)
{
    size_t n = strlen(pattern);
    chio__regex *r = chio__shmap_get(&k->med.regexes, pattern, n), *in;

    if (r != NULL)
        return r;
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->ok = regcomp(&r->re, pattern, REG_EXTENDED | REG_NOSUB) == 0;
    in = chio__shmap_put_if_absent(&k->med.regexes, pattern, n, r);
    if (in != r) {
        if (r->ok)
            regfree(&r->re);
        free(r);
    }
    return in;
}

static int scan_regex(void *ctx, const char *key, const char *s, size_t n)
{
    const chio__regex *r = ctx;

    (void)key;
    (void)n;
    return regexec(&r->re, s, 0, NULL, 0) == 0;
}

static int regex_match(chio_kernel *k, const chio__constraint *c, const chio_json *args,
                       char *reason, size_t cap)
{
    const chio__regex *r = compiled(k, c->str);

    if (r == NULL || !r->ok) {
        snprintf(reason, cap, "regex_match pattern '%.100s' is not a valid POSIX ERE", c->str);
        return 0;
    }
    if (chio__each_string(args, scan_regex, (void *)r))
        return 1;
    snprintf(reason, cap, "no argument matches regex_match '%.100s'", c->str);
    return 0;
}

/* ---- max_length, custom ------------------------------------------------------------------ */

static int scan_length(void *ctx, const char *key, const char *s, size_t n)
{
    (void)key;
    (void)s;
    return n > *(const uint64_t *)ctx;
}

typedef struct custom_scan {
    const char *key, *value;
} custom_scan;

static int find_member(const chio_json *v, const custom_scan *cs)
{
    size_t i, n;

    switch (chio_json_typeof(v)) {
    case CHIO_JSON_ARRAY:
        n = chio_json_size(v);
        for (i = 0; i < n; i++)
            if (find_member(chio_json_at(v, i), cs))
                return 1;
        return 0;
    case CHIO_JSON_OBJECT:
        n = chio_json_size(v);
        for (i = 0; i < n; i++) {
            const char *k = chio_json_key_at(v, i, NULL);
            const chio_json *m = chio_json_get(v, k);
            size_t len;
            const char *s = chio_json_string(m, &len);
            if (strcmp(k, cs->key) == 0 && s != NULL && len == strlen(cs->value) &&
                memcmp(s, cs->value, len) == 0)
                return 1;
            if (find_member(m, cs))
                return 1;
        }
        return 0;
    default:
        return 0;
    }
}

int chio__constraint_holds(chio_kernel *k, const void *constraint, const chio_json *args,
                           size_t args_canonical_len, char *reason, size_t cap)
{
    const chio__constraint *c = constraint;

    switch (c->kind) {
    case CHIO__CONSTRAINT_PATH_PREFIX:
        return path_prefix(c, args, reason, cap);
    case CHIO__CONSTRAINT_DOMAIN_EXACT:
    case CHIO__CONSTRAINT_DOMAIN_GLOB:
        return domain(c, args, reason, cap);
    case CHIO__CONSTRAINT_REGEX_MATCH:
        return regex_match(k, c, args, reason, cap);
    case CHIO__CONSTRAINT_MAX_LENGTH:
        if (chio__each_string(args, scan_length, (void *)&c->num)) {
            snprintf(reason, cap, "a string argument is longer than max_length %llu",
                     (unsigned long long)c->num);
            return 0;
        }
        return 1;
    case CHIO__CONSTRAINT_MAX_ARGS_SIZE:
        if (args_canonical_len > c->num) {
            snprintf(reason, cap, "arguments are %zu bytes; max_args_size is %llu",
                     args_canonical_len, (unsigned long long)c->num);
            return 0;
        }
        return 1;
    case CHIO__CONSTRAINT_CUSTOM: {
        custom_scan cs = {c->custom_key, c->custom_value};
        if (find_member(args, &cs))
            return 1;
        snprintf(reason, cap, "custom constraint %.60s=%.60s does not hold", c->custom_key,
                 c->custom_value);
        return 0;
    }
    default:
        snprintf(reason, cap, "constraint type '%.60s' is not understood (denied)",
                 c->type_name ? c->type_name : "?");
        return 0;
    }
}
