/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/otel/rev28_observe.c - review 28 (what the kernel emits besides
 * receipts): a span's attribute values are the caller's text, and a caller
 * may send a tool name, server id, capability id or request id that is
 * not UTF-8 (the call fails, its span is still exported) or megabytes long
 * (the receipt names it by length and hash). Neither may reach the
 * exporter or the OTLP/JSON file as is: every value is UTF-8 of at most
 * 64 KiB, an oversized or non-UTF-8 one a marker with its length and
 * SHA-256, on the synchronous and the asynchronous path. Called by
 * otel_main.c; returns the number of failed checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <chio/chio.h>

#define BIG       (1024 * 1024)
#define MAX_VALUE (64 * 1024)
#define WAIT_NS   30000000000ull

int otel_rev28_observe(void); /* called by otel_main.c */

typedef struct observed {
    chio_otel_file_exporter *file;
    int spans, bad_utf8, too_long, markers;
} observed;

/* Is @s (NUL-terminated) well-formed UTF-8? */
static int utf8_ok(const unsigned char *s)
{
    while (*s) {
        size_t n = *s < 0x80             ? 1
                   : (*s & 0xe0) == 0xc0 ? 2
                   : (*s & 0xf0) == 0xe0 ? 3
                   : (*s & 0xf8) == 0xf0 ? 4
                                         : 0;
        size_t i;

        if (n == 0 || (n == 2 && *s < 0xc2))
            return 0;
        for (i = 1; i < n; i++)
            if ((s[i] & 0xc0) != 0x80)
                return 0;
        s += n;
    }
    return 1;
}

static void exporter(void *ctx, const chio_span *s)
{
    observed *o = ctx;
    size_t i;

    __atomic_add_fetch(&o->spans, 1, __ATOMIC_SEQ_CST);
    for (i = 0; i < s->nattrs; i++) {
        if (!utf8_ok((const unsigned char *)s->attrs[i].value))
            __atomic_add_fetch(&o->bad_utf8, 1, __ATOMIC_SEQ_CST);
        if (strlen(s->attrs[i].value) > MAX_VALUE)
            __atomic_add_fetch(&o->too_long, 1, __ATOMIC_SEQ_CST);
        if (strncmp(s->attrs[i].value, "[omitted: ", 10) == 0 &&
            strstr(s->attrs[i].value, ", sha256 ") != NULL)
            __atomic_add_fetch(&o->markers, 1, __ATOMIC_SEQ_CST);
    }
    chio_otel_file_exporter_export(o->file, s);
}

static int echo(void *u, chio_tool_ctx *c, const char *t, const char *a, size_t n, chio_output *o)
{
    (void)u, (void)c, (void)t;
    return chio_output_set_json(o, a, n);
}

static void async_cb(void *ctx, int rc, chio_response *r, const chio_error *e)
{
    (void)rc, (void)r, (void)e;
    __atomic_store_n((int *)ctx, 1, __ATOMIC_SEQ_CST);
}

static unsigned long long now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

/* Every line of @path parses as JSON (the parser refuses invalid UTF-8). */
static int lines_parse(const char *path, int *lines)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int bad = 0;

    *lines = 0;
    if (f == NULL)
        return 1;
    while ((n = getline(&line, &cap, f)) > 0) {
        chio_json_doc *doc = NULL;
        if (chio_json_parse(line, (size_t)n, &doc, NULL) != 0)
            bad++;
        chio_json_doc_free(doc);
        (*lines)++;
    }
    free(line);
    fclose(f);
    return bad;
}

int otel_rev28_observe(void)
{
    static const char *const tools[] = {"t"};
    const char *agent = "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a";
    const char *scope = "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"*\","
                        "\"operations\":[\"invoke\"]}]}";
    char path[] = "/tmp/chio-otel-rev28-XXXXXX", sid[CHIO_SESSION_ID_LEN + 1];
    chio_tool_server ts = {.server_id = "srv", .tool_names = tools, .ntools = 1, .invoke = echo};
    chio_kernel_config cfg;
    chio_kernel *k = NULL;
    chio_capability *cap = NULL;
    chio_response r;
    chio_error err;
    observed o;
    char *big = malloc(BIG + 1);
    int fd, i, lines = 0, failures = 0, done = 0, bad_lines;
    unsigned long long deadline;

    memset(&o, 0, sizeof(o));
    memset(big, 'a', BIG);
    big[BIG] = '\0';
    fd = mkstemp(path);
    close(fd);
    chio_error_init(&err);
    chio_kernel_config_init(&cfg);
    chio_keypair_from_seed_hex("0808080808080808080808080808080808080808080808080808080808080808",
                               64, &cfg.keypair, &err);
    cfg.policy_hash = "otel-rev28";
    cfg.ephemeral_store = 1;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    if (chio_kernel_new(&cfg, &k, &err) != 0 ||
        chio_otel_file_exporter_open(path, &o.file, &err) != 0 ||
        chio_kernel_set_span_exporter(k, exporter, &o, &err) != 0 ||
        chio_kernel_register_tool_server(k, &ts, &err) != 0 ||
        chio_kernel_issue_capability(k, "cap-o", agent, scope, strlen(scope), 0, 600, &cap, &err) !=
            0) {
        fprintf(stderr, "otel-rev28: set-up: %s\n", err.message);
        return 1;
    }
    {
        const char *tok[1] = {chio_capability_json(cap, NULL)};
        if (chio_kernel_open_session(k, agent, tok, NULL, 1, sid, &err) != 0) {
            fprintf(stderr, "otel-rev28: session: %s\n", err.message);
            return 1;
        }
    }
    /* Not UTF-8 (each an error, no receipt), then 1 MiB (a deny, a receipt). */
    for (i = 0; i < 5; i++) {
        chio_call c = {.session_id = sid,
                       .capability_id = i == 2 ? "cap-\xff" : "cap-o",
                       .request_id = i == 3 ? "req-\xc3" : NULL,
                       .server_id = i == 1 ? "srv\xe2\x82" : "srv",
                       .tool_name = i == 0   ? "t\x80\x1b[2J"
                                    : i == 4 ? big
                                             : "t"};
        chio_kernel_evaluate(k, &c, &r, &err);
        chio_response_destroy(&r);
    }
    {
        chio_call c = {
            .session_id = sid, .capability_id = "cap-o", .server_id = big, .tool_name = big};
        if (chio_kernel_evaluate_async(k, &c, async_cb, &done, &err) != 0) {
            fprintf(stderr, "otel-rev28: async: %s\n", err.message);
            failures++;
            done = 1;
        }
    }
    deadline = now_ns() + WAIT_NS;
    while (!__atomic_load_n(&done, __ATOMIC_SEQ_CST) && now_ns() < deadline)
        usleep(1000);
    chio_kernel_free(k);
    chio_capability_free(cap);
    chio_otel_file_exporter_close(o.file);
    bad_lines = lines_parse(path, &lines);
    unlink(path);
    free(big);
    if (o.spans != 6 || lines != 6) {
        fprintf(stderr, "otel-rev28: %d spans and %d lines, want 6 of each\n", o.spans, lines);
        failures++;
    }
    if (o.bad_utf8 != 0 || bad_lines != 0) {
        fprintf(stderr, "otel-rev28: %d attribute values and %d OTLP lines are not UTF-8\n",
                o.bad_utf8, bad_lines);
        failures++;
    }
    if (o.too_long != 0) {
        fprintf(stderr, "otel-rev28: %d attribute values are over 64 KiB\n", o.too_long);
        failures++;
    }
    if (o.markers != 7) { /* 4 not UTF-8, the long tool name, async's server and tool */
        fprintf(stderr, "otel-rev28: %d markers, want 7\n", o.markers);
        failures++;
    }
    printf("otel-rev28: %d spans, %d markers, %d failures\n", o.spans, o.markers, failures);
    return failures;
}
