/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/otel/rev55_observe.c - review 5 of stop 55: O2, a tool name,
 * server id, capability id or agent id that a secret_leak guard flags was
 * exported in its span verbatim, where the receipt stores the marker;
 * now the span carries "[REDACTED:secret_leak]" too. O4, evaluations that
 * ended in an argument error before the call was read (bad call options,
 * a NULL call; resource reads too) were counted in
 * chio_unreceipted_errors_total with no span; each has its span now.
 * Called by otel_main.c; returns the number of failed checks.
 */
#include <stdio.h>
#include <string.h>

#include <chio/chio.h>

#include "otel_check.h"

int otel_rev55_observe(void); /* called by otel_main.c */

#define KEY  "AKIAZZZZZZZZZZZZZZ0"
#define MARK "[REDACTED:secret_leak]"

typedef struct spans {
    int n, keyed, marked;
} spans;

static void exporter(void *ctx, const chio_span *s)
{
    spans *w = ctx;
    size_t i;

    w->n++;
    for (i = 0; i < s->nattrs; i++) {
        if (strstr(s->attrs[i].value, "AKIA") != NULL) {
            w->keyed++;
            fprintf(stderr, "otel-test: span attribute %s = %s\n", s->attrs[i].key,
                    s->attrs[i].value);
        }
        if (strcmp(s->attrs[i].value, MARK) == 0)
            w->marked++;
    }
}

static int echo(void *u, chio_tool_ctx *c, const char *t, const char *a, size_t n, chio_output *o)
{
    (void)u;
    (void)c;
    (void)t;
    return chio_output_set_json(o, a, n);
}

static int call(chio_kernel *k, const char *sid, const char *cap, const char *server,
                const char *tool)
{
    chio_call c;
    chio_response r;
    int rc;

    memset(&c, 0, sizeof(c));
    c.session_id = sid;
    c.capability_id = cap;
    c.server_id = server;
    c.tool_name = tool;
    rc = chio_kernel_evaluate(k, &c, &r, NULL);
    chio_response_destroy(&r);
    return rc;
}

int otel_rev55_observe(void)
{
    static const char *const tools[] = {"t", KEY "1"};
    const char *pattern = "AKIA[0-9A-Z]{16}";
    const char *agent = "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a";
    const char *scope = "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"*\","
                        "\"operations\":[\"invoke\"]}]}";
    chio_tool_server ts = {.server_id = "srv", .tool_names = tools, .ntools = 2, .invoke = echo};
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel_config cfg;
    chio_call_options opts;
    chio_capability *cap = NULL;
    chio_kernel *k = NULL;
    chio_response r;
    spans w = {0};
    int failures = 0, before;

    chio_kernel_config_init(&cfg);
    chio_keypair_from_seed_hex("0707070707070707070707070707070707070707070707070707070707070707",
                               64, &cfg.keypair, NULL);
    cfg.policy_hash = "otel55";
    cfg.ephemeral_store = 1;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    CHECK(chio_kernel_new(&cfg, &k, NULL) == 0, "kernel");
    if (k == NULL)
        return failures;
    CHECK(chio_kernel_set_span_exporter(k, exporter, &w, NULL) == 0, "exporter");
    CHECK(chio_kernel_register_tool_server(k, &ts, NULL) == 0, "server");
    CHECK(chio_kernel_add_secret_leak_guard(k, "secret_leak", &pattern, 1, NULL) == 0, "guard");
    CHECK(chio_kernel_issue_capability(k, "cap-o", agent, scope, strlen(scope), 0, 600, &cap,
                                       NULL) == 0,
          "token");
    {
        const char *tok[1] = {chio_capability_json(cap, NULL)};
        CHECK(chio_kernel_open_session(k, agent, tok, NULL, 1, sid, NULL) == 0, "session");
    }
    /* O2: a listed tool, an unknown tool, a server and a capability id
     * holding a key the guard flags */
    call(k, sid, "cap-o", "srv", KEY "1");
    call(k, sid, "cap-o", "srv", "nosuch" KEY "2");
    call(k, sid, "cap-o", "srv" KEY "3", "t");
    call(k, sid, "cap-" KEY "4", "srv", "t");
    CHECK(w.n == 4, "%d spans, want 4", w.n);
    CHECK(w.keyed == 0, "%d span attributes hold the key", w.keyed);
    CHECK(w.marked >= 4, "%d span attributes carry the marker, want 4 or more", w.marked);

    /* O4: argument errors before the call is read */
    before = w.n;
    memset(&opts, 0, sizeof(opts));
    opts.flags = 0x80;
    {
        chio_call c;
        memset(&c, 0, sizeof(c));
        c.session_id = sid;
        c.capability_id = "cap-o";
        c.server_id = "srv";
        c.tool_name = "t";
        CHECK(chio_kernel_evaluate_ex(k, &c, &opts, &r, NULL) == CHIO_EINVAL, "bad flags");
        chio_response_destroy(&r);
    }
    CHECK(chio_kernel_evaluate(k, NULL, &r, NULL) == CHIO_EINVAL, "NULL call");
    chio_response_destroy(&r);
    CHECK(chio_kernel_read_resource_ex(k, sid, NULL, "cap-o", "file:///x", &opts, &r, NULL) ==
              CHIO_EINVAL,
          "bad flags on a read");
    chio_response_destroy(&r);
    CHECK(w.n == before + 3, "%d spans for 3 argument errors", w.n - before);

    chio_kernel_free(k);
    chio_capability_free(cap);
    return failures;
}
