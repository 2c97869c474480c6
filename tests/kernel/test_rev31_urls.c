/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev31_urls.c - review 31: the domain constraints held
 * to the WHATWG URL Standard as Node's `new URL()` implements it. Every row
 * of rev31_url_cases.h (scripts/gen-url-cases.mjs: seeded tricky URLs, each
 * with the hostname Node reads in it) runs through the real pipeline under
 * a domain_exact grant, as the URL under "url" and as a second argument
 * beside an allowed URL; the kernel must not allow a URL whose WHATWG host
 * is another than the grant's. Denying a URL whose WHATWG host is the
 * allowed one is allowed (an ambiguous URL denies) and only counted. A
 * second table of file: URLs, each with the path Node's fileURLToPath()
 * opens, holds the forbidden_path guard and path_prefix to that path.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NOW 1710000300u

typedef struct rev31_url_case {
    const char *url;
    int bare;          /* a host alone: under "host", read as "https://" + it */
    const char *allow; /* the host the grant allows */
    const char *host;  /* Node's hostname; NULL: refused */
    const char *words; /* its words' other hostnames, space-separated */
    const char *scheme, *port;
} rev31_url_case;

typedef struct rev31_file_case {
    const char *url;
    const char *path; /* Node's fileURLToPath(new URL(url)); NULL: refused */
} rev31_file_case;

#include "kernel/rev31_url_cases.h"

static uint64_t clock_fn(void *ctx)
{
    (void)ctx;
    return NOW;
}

/* @s as a JSON string literal (quotes included) in @out (6 * len + 3). */
static void json_quote(const char *s, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    out[o++] = '"';
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            memcpy(out + o, "\\u00", 4);
            out[o + 4] = hex[c >> 4];
            out[o + 5] = hex[c & 15];
            o += 6;
        } else {
            out[o++] = (char)c;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
}

/* Does Node's hostname @w name the host @allow (DNS compares names
 * without case, and a final dot names the same host)? */
static int same_host(const char *w, const char *allow)
{
    size_t n = strlen(w), i;

    if (n > 0 && w[n - 1] == '.')
        n--;
    if (n != strlen(allow))
        return 0;
    for (i = 0; i < n; i++)
        if ((w[i] >= 'A' && w[i] <= 'Z' ? w[i] + 32 : w[i]) != allow[i])
            return 0;
    return 1;
}

/* Is every host of the space-separated @list @allow? */
static int all_same_host(const char *list, const char *allow)
{
    char h[1024];
    const char *p = list, *e;

    while (*p != '\0') {
        e = strchr(p, ' ');
        e = e != NULL ? e : p + strlen(p);
        if ((size_t)(e - p) >= sizeof(h))
            return 0;
        memcpy(h, p, (size_t)(e - p));
        h[e - p] = '\0';
        if (!same_host(h, allow))
            return 0;
        p = *e != '\0' ? e + 1 : e;
    }
    return 1;
}

/* One session per allowed host (the rows use two), made on first use. */
typedef struct grant {
    const char *allow;
    char id[32], sid[CHIO_SESSION_ID_LEN + 1];
} grant;

static const grant *grant_for(chio_kernel *k, grant *g, size_t *ng, const char *allow)
{
    char constraint[128];
    size_t i;

    for (i = 0; i < *ng; i++)
        if (strcmp(g[i].allow, allow) == 0)
            return &g[i];
    cr_assert_lt(*ng, 4);
    g[*ng].allow = allow;
    snprintf(g[*ng].id, sizeof(g[*ng].id), "cap-rev31-%zu", *ng);
    snprintf(constraint, sizeof(constraint), "{\"type\":\"domain_exact\",\"value\":\"%s\"}", allow);
    kt_grant_session(k, NOW, g[*ng].id, constraint, g[*ng].sid);
    return &g[(*ng)++];
}

/* The verdict of srv/t with @args under @g. */
static chio_verdict verdict(chio_kernel *k, const grant *g, const char *args)
{
    chio_response r;
    chio_error err;
    chio_call c;
    chio_verdict v;

    kt_grant_call(&c, g->sid, g->id, args, strlen(args));
    chio_response_init(&r);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s: %s", args, err.message);
    cr_assert_not_null(r.receipt, "%s: no receipt", args);
    v = r.verdict;
    cr_assert(v == CHIO_VERDICT_ALLOW || r.code == CHIO_CODE_CONSTRAINT_VIOLATED ||
                  r.code == CHIO_CODE_GUARD_DENIED,
              "%s: code %s", args, chio_code_name(r.code));
    chio_response_destroy(&r);
    return v;
}

Test(rev31_urls, the_kernel_allows_no_url_whose_whatwg_host_is_not_granted)
{
    static const char *const tools[] = {"t"};
    chio_kernel *k = kt_echo_kernel(NULL, clock_fn, "srv", tools, 1);
    size_t n = sizeof(rev31_url_cases) / sizeof(rev31_url_cases[0]), i, ng = 0, holes = 0;
    size_t strict = 0;
    grant g[4];

    for (i = 0; i < n; i++) {
        const rev31_url_case *rc = &rev31_url_cases[i];
        const grant *gr = grant_for(k, g, &ng, rc->allow);
        size_t len = strlen(rc->url);
        char *q = malloc(6 * len + 3), *args = malloc(6 * len + 128);
        int form;

        cr_assert(q != NULL && args != NULL);
        json_quote(rc->url, q);
        for (form = 0; form < (rc->bare ? 1 : 2); form++) {
            if (rc->bare)
                sprintf(args, "{\"host\":%s}", q);
            else if (form == 0)
                sprintf(args, "{\"url\":%s}", q);
            else
                sprintf(args, "{\"q\":%s,\"url\":\"https://%s/\"}", q, rc->allow);
            if (verdict(k, gr, args) != CHIO_VERDICT_ALLOW) {
                strict += rc->host != NULL && same_host(rc->host, rc->allow) && form == 0;
                continue;
            }
            /* Refused, or no host at all (an opaque "foo:x" or "blob:..."
             * URL, a file: URL on the local machine): nothing to reach. */
            if ((rc->host == NULL || rc->host[0] == '\0' || same_host(rc->host, rc->allow)) &&
                all_same_host(rc->words, rc->allow))
                continue;
            holes++;
            cr_log_error("row %zu form %d: allowed under domain_exact %s, WHATWG host '%s' "
                         "(%s port '%s'), its words' '%s': %s",
                         i, form, rc->allow, rc->host ? rc->host : "(refused)",
                         rc->scheme ? rc->scheme : "", rc->port ? rc->port : "", rc->words, args);
        }
        free(q);
        free(args);
    }
    cr_log_info("%zu rows; %zu denied although WHATWG reads the granted host", n, strict);
    cr_expect_eq(holes, 0, "%zu URLs allowed whose WHATWG host is not granted", holes);
    chio_kernel_free(k);
}

typedef struct row {
    const char *allow; /* domain_exact value */
    const char *args;
    int allowed;
} row;

/* Rows the kernel allowed before review 31 (allowed = 0), each beside one
 * that must stay allowed: a non-special URL's opaque host read as IPv4 or
 * percent-decoded; an opaque host with a C0 control read as surely
 * refused; a file: host no DNS name has; an unreadable URL a tool that
 * decodes it first reads elsewhere; a URL word after the first in a value
 * under a key that names no URL; a word split on white space only (after
 * a U+00A0 that WHATWG does not strip) whose host holds ';'; a URL after
 * an '='. */
static const row fixed_rows[] = {
    {"127.0.0.1", "{\"url\":\"foo://0177.0.0.1/\"}", 0},
    {"127.0.0.1", "{\"url\":\"git+https://127.1/x\"}", 0},
    {"good.example", "{\"url\":\"foo://%67ood.example/\"}", 0},
    {"good.example", "{\"url\":\"git+https://GOOD.example./x\"}", 1},
    {"127.0.0.1", "{\"url\":\"foo://127.0.0.1:8/\"}", 1},
    {"127.0.0.1", "{\"url\":\"https+unix://u@127.0.0.1\\t:443\\\\@evil.example\\u001f?x\"}", 0},
    {"good.example", "{\"url\":\"file://good.example;evil.example/\"}", 0},
    {"good.example", "{\"url\":\"file://good.example/x\"}", 1},
    {"127.0.0.1", "{\"url\":\"http://good.example%2f@127.0.0.1:80 x\"}", 0},
    /* review 42 (F2): a word after white space under a URL key is a bare
     * host to a tool that splits words; "x%20y" is none a reader can tell */
    {"127.0.0.1", "{\"url\":\"http://127.0.0.1:80 x%20y\"}", 0},
    {"good.example", "{\"q\":\"see https:evil.example\",\"url\":\"https://good.example/\"}", 0},
    {"good.example", "{\"q\":\"\\u00a0ws:/evil.example\",\"url\":\"https://good.example/\"}", 0},
    {"good.example", "{\"q\":\"text //evil.example/x\",\"url\":\"https://good.example/\"}", 0},
    {"good.example", "{\"q\":\"see https:good.example\",\"url\":\"https://good.example/\"}", 1},
    {"good.example", "{\"q\":\"a/b c//d x:y\",\"url\":\"https://good.example/\"}", 1},
    {"127.0.0.1", "{\"url\":\"\\u00a0wss://127.1;evil.example\"}", 0},
    {"good.example", "{\"url\":\"\\u00a0https://good.example;evil.example\"}", 0},
    /* review 42 (F2): "c" after the space is the bare host c */
    {"good.example", "{\"url\":\"\\u00a0https://good.example/a;b c\"}", 0},
    /* a URL after an '=' (a query string's or an option's value, read
     * alone by the tool that parses it): allowed before, now a URL
     * candidate with no host read unambiguously; plain "k=v" unchanged */
    {"good.example", "{\"q\":\"redirect=https:evil.example\",\"url\":\"https://good.example/\"}",
     0},
    {"good.example", "{\"q\":\"go&u=http:evil.example\",\"url\":\"https://good.example/\"}", 0},
    {"good.example", "{\"q\":\"q=1&next=//evil.example\",\"url\":\"https://good.example/\"}", 0},
    {"good.example", "{\"q\":\"--url=ws:evil.example\",\"url\":\"https://good.example/\"}", 0},
    {"good.example", "{\"q\":\"a=b&c=https\",\"url\":\"https://good.example/\"}", 1},
};

Test(rev31_urls, urls_a_tool_reads_elsewhere_are_denied_with_a_receipt)
{
    static const char *const tools[] = {"t"};
    chio_kernel *k = kt_echo_kernel(NULL, clock_fn, "srv", tools, 1);
    size_t i, ng = 0;
    grant g[4];

    for (i = 0; i < sizeof(fixed_rows) / sizeof(fixed_rows[0]); i++) {
        const row *r = &fixed_rows[i];
        chio_verdict v = verdict(k, grant_for(k, g, &ng, r->allow), r->args);
        cr_expect_eq(v == CHIO_VERDICT_ALLOW, r->allowed, "row %zu (%s under %s): %s", i, r->args,
                     r->allow, v == CHIO_VERDICT_ALLOW ? "allowed" : "denied");
    }
    chio_kernel_free(k);
}

/* Is the POSIX path @p at or under @dir (segment-wise; @fold: ASCII case
 * folded, as the forbidden_path guard compares)? Empty segments and "."
 * are skipped as the kernel would resolve them; ".." pops. */
static int posix_under(const char *p, const char *dir, int fold)
{
    char norm[8192];
    size_t o = 0, dl = strlen(dir);
    const char *q = p;

    while (*q != '\0') {
        const char *e = strchr(q, '/');
        size_t len = e != NULL ? (size_t)(e - q) : strlen(q);
        if (len == 2 && q[0] == '.' && q[1] == '.') {
            while (o > 0 && norm[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
        } else if (len > 0 && !(len == 1 && q[0] == '.') && o + len + 2 < sizeof(norm)) {
            norm[o++] = '/';
            memcpy(norm + o, q, len);
            o += len;
        }
        q += len + (e != NULL);
    }
    norm[o] = '\0';
    if (o < dl || (fold ? strncasecmp(norm, dir, dl) : strncmp(norm, dir, dl)) != 0)
        return 0;
    return norm[dl] == '\0' || norm[dl] == '/';
}

/* Every file: URL of rev31_file_cases[] against a forbidden_path guard on
 * /etc (under "q", no constraint) and a path_prefix /workspace grant
 * (under "path"): allowed means the path Node opens is outside /etc, and
 * under /workspace. */
Test(rev31_urls, file_urls_are_read_as_node_opens_them)
{
    static const char *const tools[] = {"t"};
    static const char *const prefixes[] = {"/etc/"};
    chio_kernel *k = kt_echo_kernel(NULL, clock_fn, "srv", tools, 1);
    size_t n = sizeof(rev31_file_cases) / sizeof(rev31_file_cases[0]), i, holes = 0;
    grant free_grant = {"", "cap-rev31-free", ""}, ws = {"", "cap-rev31-ws", ""};
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_add_forbidden_path_guard(k, "no-etc", prefixes, 1, &err), 0, "%s",
                 err.message);
    kt_grant_session(k, NOW, free_grant.id, "", free_grant.sid);
    kt_grant_session(k, NOW, ws.id, "{\"type\":\"path_prefix\",\"value\":\"/workspace\"}", ws.sid);
    for (i = 0; i < n; i++) {
        const rev31_file_case *fc = &rev31_file_cases[i];
        size_t len = strlen(fc->url);
        char *q = malloc(6 * len + 3), *args = malloc(6 * len + 32);

        cr_assert(q != NULL && args != NULL);
        json_quote(fc->url, q);
        sprintf(args, "{\"q\":%s}", q);
        if (verdict(k, &free_grant, args) == CHIO_VERDICT_ALLOW && fc->path != NULL &&
            posix_under(fc->path, "/etc", 1)) {
            holes++;
            cr_log_error("file row %zu: the guard allowed %s, which Node opens as '%s'", i, args,
                         fc->path);
        }
        sprintf(args, "{\"path\":%s}", q);
        if (verdict(k, &ws, args) == CHIO_VERDICT_ALLOW && fc->path != NULL &&
            !posix_under(fc->path, "/workspace", 0)) {
            holes++;
            cr_log_error("file row %zu: path_prefix /workspace allowed %s, which Node opens as "
                         "'%s'",
                         i, args, fc->path);
        }
        free(q);
        free(args);
    }
    cr_expect_eq(holes, 0, "%zu file: URLs allowed that Node opens elsewhere", holes);
    chio_kernel_free(k);
}

/* file: URLs the forbidden_path guard on /etc (under "q") or path_prefix
 * /workspace (under "path") let through before review 31, each with the
 * path Node opens: tab, LF or CR inside "file:" (dropped by WHATWG); a
 * ".." that pops an empty segment ("/etc//.." is /etc/ to WHATWG); an
 * encoded backslash that POSIX keeps in a name. Rows 2 and 5 were
 * denied and allowed before too, row 8 stays allowed. */
static const struct {
    const char *args;
    int guard; /* 1: srv/t under the guard; 0: under path_prefix /workspace */
    int denied;
} file_rows[] = {
    {"{\"q\":\"fi\\tle:etc/passwd\"}", 1, 1},                  /* /etc/passwd */
    {"{\"q\":\"file\\r://localhost/etc/;x/./passwd\"}", 1, 1}, /* /etc/;x/passwd */
    {"{\"q\":\"file:\\r\\netc\"}", 1, 1},                      /* /etc */
    {"{\"q\":\"file://localhost/etc//%2e%2e\"}", 1, 1},        /* /etc/ */
    {"{\"q\":\"file:///etc/..%5cpasswd\"}", 1, 1},             /* /etc/..\passwd */
    {"{\"q\":\"file:///workspace/a\"}", 1, 0},                 /* allowed */
    {"{\"path\":\"file:///workspace%5cx/a\"}", 0, 1},          /* /workspace\x/a */
    {"{\"path\":\"file:///x//../workspace/a\"}", 0, 1},        /* /x/workspace/a */
    {"{\"path\":\"file:///workspace/a\"}", 0, 0},              /* allowed */
    /* a Windows path, to open(2) the relative name "\workspace\a": denied
     * since review 31's path differential (rev31_paths) */
    {"{\"path\":\"\\\\workspace\\\\a\"}", 0, 1},
};

Test(rev31_urls, file_urls_are_read_as_whatwg_and_posix_read_them)
{
    static const char *const tools[] = {"t"};
    static const char *const prefixes[] = {"/etc/"};
    chio_kernel *k = kt_echo_kernel(NULL, clock_fn, "srv", tools, 1);
    grant free_grant = {"", "cap-rev31-free", ""}, ws = {"", "cap-rev31-ws", ""};
    chio_error err;
    size_t i;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_add_forbidden_path_guard(k, "no-etc", prefixes, 1, &err), 0, "%s",
                 err.message);
    kt_grant_session(k, NOW, free_grant.id, "", free_grant.sid);
    kt_grant_session(k, NOW, ws.id, "{\"type\":\"path_prefix\",\"value\":\"/workspace\"}", ws.sid);
    for (i = 0; i < sizeof(file_rows) / sizeof(file_rows[0]); i++) {
        chio_verdict v = verdict(k, file_rows[i].guard ? &free_grant : &ws, file_rows[i].args);
        cr_expect_eq(v != CHIO_VERDICT_ALLOW, file_rows[i].denied, "row %zu (%s): %s", i,
                     file_rows[i].args, v == CHIO_VERDICT_ALLOW ? "allowed" : "denied");
    }
    chio_kernel_free(k);
}

static int provide(void *user, const char *uri, chio_output *out)
{
    (void)uri;
    (*(int *)user)++;
    return chio_output_set_json(out, "\"text\"", 6);
}

/* WHATWG drops tab, LF and CR anywhere in a URL, so a provider that parses
 * a resource URI resolves "/pub/.\t./secret" as "/secret": such a URI was
 * under a prefix grant of https://good.example/pub/ *. Rows 0-3 were
 * allowed before; the last stays allowed. */
Test(rev31_urls, resource_uris_with_tab_or_newline_in_a_dot_segment_are_not_under_a_prefix)
{
    static const struct {
        const char *uri;
        int allowed;
    } rows[] = {
        {"https://good.example/pub/.\t./secret", 0}, /* https://good.example/secret */
        {"file:///pub/.\n./etc/passwd", 0},          /* file:///etc/passwd */
        {"https://good.example/pub/%2e\r%2e/x", 0},  /* https://good.example/x */
        {"https://good.example/pub/%\t2e%2e/x", 0},  /* https://good.example/x */
        {"https://good.example/pub/a\tb", 1},        /* a name: /pub/ab */
    };
    static const char *const tools[] = {"t"};
    chio_kernel *k = kt_echo_kernel(NULL, clock_fn, "srv", tools, 1);
    chio_resource_provider rp;
    char sid[CHIO_SESSION_ID_LEN + 1], *tok;
    const char *caps[1];
    chio_response r;
    chio_error err;
    int reads = 0;
    size_t i;

    chio_error_init(&err);
    memset(&rp, 0, sizeof(rp));
    rp.provider_id = "web";
    rp.read = provide;
    rp.user = &reads;
    cr_assert_eq(chio_kernel_register_resource_provider(k, &rp, &err), 0, "%s", err.message);
    tok = tk_token(TK_KERNEL_SEED, "cap-rev31-pub", TK_AGENT_PUB,
                   "{\"resource_grants\":[{\"uri_pattern\":\"https://good.example/pub/*\","
                   "\"operations\":[\"read\"]},{\"uri_pattern\":\"file:///pub/*\","
                   "\"operations\":[\"read\"]}]}",
                   NOW - 10, 100, NULL, 0);
    cr_assert_not_null(tok);
    caps[0] = tok;
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        chio_response_init(&r);
        cr_assert_eq(
            chio_kernel_read_resource(k, sid, NULL, "cap-rev31-pub", rows[i].uri, &r, &err), 0,
            "row %zu: %s", i, err.message);
        cr_assert_not_null(r.receipt, "row %zu: no receipt", i);
        if (rows[i].allowed)
            cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "row %zu: %s", i, r.reason);
        else
            cr_expect(r.verdict == CHIO_VERDICT_DENY && r.code == CHIO_CODE_OUT_OF_SCOPE,
                      "row %zu: verdict %d code %s", i, r.verdict, chio_code_name(r.code));
        chio_response_destroy(&r);
    }
    free(tok);
    chio_kernel_free(k);
}
