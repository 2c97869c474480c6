/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/otel/otel_main.c - the OTEL=1 build: every evaluation (allow,
 * deny, error) hands one gen_ai.tool.call span with the GenAI and chio
 * attributes to the exporter, and the default file exporter writes one
 * OTLP/JSON line per span. Plain C (built and run by `make otel-check`,
 * against build-otel/libchio.a); exit 0 on success.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <chio/chio.h>

#include "otel_check.h"

#ifndef CHIO_OTEL
#error "build with -DCHIO_OTEL against an OTEL=1 libchio"
#endif

static int failures;

/* rev28_observe.c: attribute values are UTF-8 and bounded; its failure count. */
int otel_rev28_observe(void);
/* rev32_api.c: the span calls with NULL and bad arguments; its failure count. */
int otel_rev32_api(void);
/* rev55_observe.c: flagged names redacted, argument errors spanned; its failure count. */
int otel_rev55_observe(void);

typedef struct seen {
    chio_otel_file_exporter *file;
    int n;
    char receipt_ids[4][65];
    chio_span_status status[4];
} seen;

static const char *attr(const chio_span *s, const char *key)
{
    size_t i;
    for (i = 0; i < s->nattrs; i++)
        if (strcmp(s->attrs[i].key, key) == 0)
            return s->attrs[i].value;
    return NULL;
}

static void exporter(void *ctx, const chio_span *s)
{
    seen *w = ctx;
    const char *rid = attr(s, "chio.receipt.id");

    CHECK(strcmp(s->name, "gen_ai.tool.call") == 0, "span name %s", s->name);
    CHECK(attr(s, "gen_ai.operation.name") &&
              strcmp(attr(s, "gen_ai.operation.name"), "execute_tool") == 0,
          "gen_ai.operation.name");
    CHECK(attr(s, "gen_ai.tool.name") && strcmp(attr(s, "gen_ai.tool.name"), "t") == 0,
          "gen_ai.tool.name");
    CHECK(attr(s, "gen_ai.tool.call.id") != NULL, "gen_ai.tool.call.id");
    CHECK(attr(s, "chio.kernel.id") && strlen(attr(s, "chio.kernel.id")) == 64, "chio.kernel.id");
    CHECK(attr(s, "chio.server.id") && strcmp(attr(s, "chio.server.id"), "srv") == 0,
          "chio.server.id");
    CHECK(strlen(s->trace_id) == 32 && strlen(s->span_id) == 16, "ids");
    CHECK(s->end_unix_nano >= s->start_unix_nano && s->start_unix_nano > 0, "times");
    if (w->n < 4) {
        snprintf(w->receipt_ids[w->n], 65, "%s", rid ? rid : "");
        w->status[w->n] = s->status;
        if (w->n < 2)
            CHECK(attr(s, "chio.agent.id") != NULL, "chio.agent.id");
    }
    w->n++;
    chio_otel_file_exporter_export(w->file, s);
}

static int echo(void *u, chio_tool_ctx *c, const char *t, const char *a, size_t n, chio_output *o)
{
    (void)u, (void)c, (void)t;
    return chio_output_set_json(o, a, n);
}

int main(void)
{
    static const char *const tools[] = {"t"};
    static const char *const prefixes[] = {"/etc/"};
    const char *agent = "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a";
    const char *scope = "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"*\","
                        "\"operations\":[\"invoke\"]}]}";
    char path[] = "/tmp/chio-otel-XXXXXX", sid[CHIO_SESSION_ID_LEN + 1], line[8192];
    const char *args[3] = {"{\"path\":\"/w/a\"}", "{\"path\":\"/etc/x\"}", "{}"};
    chio_kernel_config cfg;
    chio_tool_server ts = {.server_id = "srv", .tool_names = tools, .ntools = 1, .invoke = echo};
    chio_kernel *k;
    chio_capability *cap;
    chio_response r;
    chio_error err;
    seen w;
    FILE *f;
    int fd, i, lines = 0;

    memset(&w, 0, sizeof(w));
    fd = mkstemp(path);
    close(fd);
    chio_error_init(&err);
    chio_kernel_config_init(&cfg);
    chio_keypair_from_seed_hex("0707070707070707070707070707070707070707070707070707070707070707",
                               64, &cfg.keypair, &err);
    cfg.policy_hash = "otel";
    cfg.ephemeral_store = 1;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    CHECK(chio_kernel_new(&cfg, &k, &err) == 0, "kernel: %s", err.message);
    CHECK(chio_otel_file_exporter_open(path, &w.file, &err) == 0, "exporter: %s", err.message);
    CHECK(chio_kernel_set_span_exporter(k, exporter, &w, &err) == 0, "set exporter");
    chio_kernel_register_tool_server(k, &ts, &err);
    chio_kernel_add_forbidden_path_guard(k, "paths", prefixes, 1, &err);
    chio_kernel_issue_capability(k, "cap-o", agent, scope, strlen(scope), 0, 600, &cap, &err);
    {
        const char *tok[1] = {chio_capability_json(cap, NULL)};
        CHECK(chio_kernel_open_session(k, agent, tok, NULL, 1, sid, &err) == 0, "session");
    }
    CHECK(chio_kernel_set_span_exporter(k, exporter, &w, &err) == CHIO_ESERVING,
          "exporter after serving");
    for (i = 0; i < 3; i++) {
        chio_call c = {.session_id = i == 2 ? "sess-missing" : sid,
                       .capability_id = "cap-o",
                       .server_id = "srv",
                       .tool_name = "t",
                       .arguments_json = args[i]};
        int rc;
        c.arguments_len = strlen(args[i]);
        rc = chio_kernel_evaluate(k, &c, &r, &err);
        CHECK(i == 2 ? rc == CHIO_ENOSESSION : rc == 0, "call %d rc %d", i, rc);
        if (rc == 0)
            CHECK(strcmp(w.receipt_ids[i], chio_receipt_id(r.receipt)) == 0,
                  "span %d carries the receipt id", i);
        chio_response_destroy(&r);
    }
    CHECK(w.n == 3, "%d spans, want 3", w.n);
    CHECK(w.status[0] == CHIO_SPAN_STATUS_OK, "allow is OK");
    CHECK(w.status[1] == CHIO_SPAN_STATUS_ERROR, "deny is ERROR");
    CHECK(w.status[2] == CHIO_SPAN_STATUS_ERROR && w.receipt_ids[2][0] == '\0',
          "error: ERROR and no receipt id");
    chio_kernel_free(k);
    chio_capability_free(cap);
    chio_otel_file_exporter_close(w.file);

    f = fopen(path, "r");
    CHECK(f != NULL, "span file");
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        chio_json_doc *doc = NULL;
        CHECK(chio_json_parse(line, strlen(line), &doc, NULL) == 0, "line %d is not JSON", lines);
        CHECK(strstr(line, "\"resourceSpans\"") && strstr(line, "\"gen_ai.tool.call\"") &&
                  strstr(line, "\"startTimeUnixNano\":\""),
              "line %d is not an OTLP/JSON span: %s", lines, line);
        chio_json_doc_free(doc);
        lines++;
    }
    if (f)
        fclose(f);
    CHECK(lines == 3, "%d OTLP lines, want 3", lines);
    unlink(path);
    printf("otel: %d spans exported, %d OTLP/JSON lines, %d failures\n", w.n, lines, failures);
    failures += otel_rev28_observe();
    failures += otel_rev32_api();
    failures += otel_rev55_observe();
    return failures ? 1 : 0;
}
