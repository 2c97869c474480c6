/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_mcp.c - the MCP gateway layer (src/mcp/) in-process and
 * its command's bad inputs: the chio.mcp-policy.v1 reader (the issue's
 * example, and a matrix of policies it must refuse, each naming the
 * member), the tools/list filter, a gateway over an ephemeral kernel whose
 * client and server are callbacks (id rewriting, filtering, an allowed and
 * a denied tools/call with _meta.chio), two gateways sharing one kernel
 * through a hub (each call reaches its own session's server), the HTTP
 * transport's session table and SSE queue bounds (no sockets), and `chio
 * mcp serve` / `serve-http` refusing bad usage, bad policies and a command
 * that cannot run, all with exit 2. The end-to-end runs with the real MCP
 * SDK and server are gateway.test.mjs.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "mcp/http_internal.h"
#include "mcp/mcp.h"

static const char example[] =
    "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"everything\","
    "\"grants\":[{\"server_id\":\"everything\",\"tool_name\":\"echo\",\"operations\":[\"invoke\"]},"
    "{\"server_id\":\"*\",\"tool_name\":\"get-*\",\"operations\":[\"invoke\"]},"
    "{\"server_id\":\"everything\",\"tool_name\":\"nope\",\"operations\":[]},"
    "{\"server_id\":\"other\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}],"
    "\"guards\":[{\"name\":\"secret_leak\"},{\"name\":\"forbidden_path\",\"prefixes\":[\"/etc/"
    "\"]}],"
    "\"kernel\":{\"policy_hash\":\"ph-1\",\"checkpoint_batch_size\":7,\"allow_sampling\":false,"
    "\"allow_elicitation\":true,\"max_stream_duration_secs\":9,\"max_stream_total_bytes\":1000}}";

Test(mcp_policy, the_issue_example_parses_with_every_field)
{
    chio_mcp_policy *p = NULL;
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_mcp_policy_parse(example, strlen(example), &p, &err), 0, "%s", err.message);
    cr_expect_str_eq(p->server_id, "everything");
    cr_expect_str_eq(p->policy_hash, "ph-1");
    cr_expect_eq(p->checkpoint_batch_size, 7);
    cr_expect_eq(p->allow_sampling, 0);
    cr_expect_eq(p->allow_elicitation, 1);
    cr_expect_eq(p->max_stream_duration_secs, 9);
    cr_expect_eq(p->max_stream_total_bytes, 1000);
    cr_expect(p->forbidden_path && p->nforbidden == 1);
    cr_expect_str_eq(p->forbidden_prefixes[0], "/etc/");
    cr_expect(p->secret_leak && p->nsecret > 0, "default secret patterns");
    cr_expect_not_null(strstr(p->scope_json, "\"grants\":[{"));
    chio_mcp_policy_free(p);
}

Test(mcp_policy, default_policy_hash_is_the_canonical_policy_digest)
{
    const char *a = "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[]}";
    const char *b = "{ \"grants\" : [], \"server_id\":\"s\",\"schema\":\"chio.mcp-policy.v1\"}";
    chio_mcp_policy *p = NULL, *q = NULL;

    cr_assert_eq(chio_mcp_policy_parse(a, strlen(a), &p, NULL), 0);
    cr_assert_eq(chio_mcp_policy_parse(b, strlen(b), &q, NULL), 0);
    cr_expect_eq(strlen(p->policy_hash), 64);
    cr_expect_str_eq(p->policy_hash, q->policy_hash);
    cr_expect_eq(p->allow_sampling, 0, "sampling is off by default");
    cr_expect_eq(p->allow_elicitation, 0);
    chio_mcp_policy_free(p);
    chio_mcp_policy_free(q);
}

Test(mcp_policy, bad_policies_are_refused_naming_the_member)
{
    static const struct {
        const char *json, *needle;
    } bad[] = {
        {"[]", "JSON object"},
        {"{\"server_id\":\"s\",\"grants\":[]}", "schema"},
        {"{\"schema\":\"chio.mcp-policy.v2\",\"server_id\":\"s\",\"grants\":[]}", "schema"},
        {"{\"schema\":\"chio.mcp-policy.v1\",\"grants\":[]}", "server_id"},
        {"{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"*\",\"grants\":[]}", "server_id"},
        {"{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"\",\"grants\":[]}", "server_id"},
        {"{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\"}", "grants"},
        {"{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":{}}", "grants"},
        {"{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[],\"allow\":1}",
         "unknown member \"allow\""},
        {"{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[],"
         "\"resource_grants\":{}}",
         "resource_grants"},
        {"{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[],"
         "\"guards\":[{\"name\":\"rate_limit\"}]}",
         "unknown guard"},
        {"{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[],"
         "\"guards\":[{\"name\":\"forbidden_path\"}]}",
         "forbidden_path.prefixes"},
        {"{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[],"
         "\"guards\":[{\"name\":\"forbidden_path\",\"prefixes\":[]}]}",
         "forbidden_path.prefixes"},
        {"{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[],"
         "\"guards\":[{\"name\":\"forbidden_path\",\"prefixes\":[\"/x\"],\"mode\":1}]}",
         "unknown member \"mode\""},
        {"{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[],"
         "\"guards\":[{\"name\":\"secret_leak\"},{\"name\":\"secret_leak\"}]}",
         "twice"},
        {"{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[],"
         "\"kernel\":{\"allow_tools\":true}}",
         "unknown member \"allow_tools\""},
        {"{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[],"
         "\"kernel\":{\"allow_sampling\":\"yes\"}}",
         "kernel.allow_sampling"},
        {"{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[],"
         "\"kernel\":{\"checkpoint_batch_size\":-1}}",
         "kernel.checkpoint_batch_size"},
        {"{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[],"
         "\"kernel\":{\"policy_hash\":\"\"}}",
         "kernel.policy_hash"},
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        chio_mcp_policy *p = (chio_mcp_policy *)1;
        chio_error err;
        chio_error_init(&err);
        cr_expect_eq(chio_mcp_policy_parse(bad[i].json, strlen(bad[i].json), &p, &err),
                     CHIO_EFORMAT, "case %zu accepted: %s", i, bad[i].json);
        cr_expect_null(p, "case %zu", i);
        cr_expect_not_null(strstr(err.message, bad[i].needle), "case %zu: '%s' lacks '%s'", i,
                           err.message, bad[i].needle);
    }
}

Test(mcp_policy, malformed_json_keeps_the_readers_code)
{
    chio_mcp_policy *p = NULL;

    cr_expect_eq(chio_mcp_policy_parse("{\"a\":1,\"a\":2}", 13, &p, NULL), CHIO_EJSON_DUPKEY);
    cr_expect_null(p);
}

Test(mcp_policy, tools_list_filter_follows_the_grants)
{
    chio_mcp_policy *p = NULL;

    cr_assert_eq(chio_mcp_policy_parse(example, strlen(example), &p, NULL), 0);
    cr_expect(chio_mcp_policy_lists_tool(p, "echo"));
    cr_expect(!chio_mcp_policy_lists_tool(p, "get-env"), "only a whole-name or * tool_name");
    cr_expect(!chio_mcp_policy_lists_tool(p, "nope"), "no invoke operation");
    cr_expect(!chio_mcp_policy_lists_tool(p, "anything"), "granted on another server only");
    chio_mcp_policy_free(p);
}

/* ---- a gateway between two callbacks ------------------------------------------- */

typedef struct rig {
    chio_mcp_gateway *g;
    pthread_mutex_t mu;
    char *client[32];
    int nclient;
    char last_server[512];
} rig;

static rig R = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int to_client(void *user, const char *line, size_t len)
{
    (void)user;
    pthread_mutex_lock(&R.mu);
    if (R.nclient < 32)
        R.client[R.nclient++] = strndup(line, len);
    pthread_mutex_unlock(&R.mu);
    return 0;
}

/* A tiny MCP server: answers at once, on the sending thread. */
static int to_server(void *user, const char *line, size_t len)
{
    chio_json_doc *doc = NULL;
    const chio_json *root;
    const char *method, *id;
    char out[512];

    (void)user;
    snprintf(R.last_server, sizeof(R.last_server), "%.*s", (int)len, line);
    cr_assert_eq(chio_json_parse(line, len, &doc, NULL), 0);
    root = chio_json_root(doc);
    method = chio_json_string(chio_json_get(root, "method"), NULL);
    id = chio_json_string(chio_json_get(root, "id"), NULL);
    out[0] = '\0';
    if (method != NULL && id != NULL) {
        if (strcmp(method, "initialize") == 0)
            snprintf(out, sizeof(out),
                     "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"result\":{\"protocolVersion\":"
                     "\"2025-11-25\",\"capabilities\":{\"tools\":{}},\"serverInfo\":{\"name\":"
                     "\"fake\",\"version\":\"1\"}}}",
                     id);
        else if (strcmp(method, "tools/list") == 0)
            snprintf(out, sizeof(out),
                     "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"result\":{\"tools\":[{\"name\":"
                     "\"echo\"},{\"name\":\"get-env\"}]}}",
                     id);
        else if (strcmp(method, "tools/call") == 0)
            snprintf(out, sizeof(out),
                     "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"result\":{\"content\":[{\"type\":"
                     "\"text\",\"text\":\"fake echo\"}]}}",
                     id);
    }
    chio_json_doc_free(doc);
    if (out[0] != '\0')
        chio_mcp_gateway_server_line(R.g, out, strlen(out));
    return 0;
}

static const char *client_line_with(const char *needle)
{
    const char *hit = NULL;
    int i;

    pthread_mutex_lock(&R.mu);
    for (i = 0; i < R.nclient && hit == NULL; i++)
        if (strstr(R.client[i], needle) != NULL)
            hit = R.client[i];
    pthread_mutex_unlock(&R.mu);
    return hit;
}

static const char *wait_client(const char *needle)
{
    uint64_t end = testutil_now_ms() + 10000;
    const char *hit;

    while ((hit = client_line_with(needle)) == NULL && testutil_now_ms() < end)
        testutil_nap_ms(1);
    cr_assert_not_null(hit, "no client message with %s", needle);
    return hit;
}

static void send_client(const char *json)
{
    chio_mcp_gateway_client_line(R.g, json, strlen(json));
}

Test(mcp_gateway, mediates_between_callbacks)
{
    chio_mcp_policy *p = NULL;
    chio_keypair *kp = NULL;
    chio_kernel *k = NULL;
    const char *m;

    cr_assert_eq(chio_mcp_policy_parse(example, strlen(example), &p, NULL), 0);
    cr_assert_eq(chio_keypair_generate(&kp, NULL), 0);
    cr_assert_eq(chio_mcp_kernel_new(p, kp, NULL, &k, NULL), 0);
    cr_assert_eq(chio_mcp_gateway_new(p, k, to_client, to_server, NULL, &R.g), 0);

    send_client("{\"jsonrpc\":\"2.0\",\"id\":41,\"method\":\"initialize\",\"params\":{}}");
    cr_expect_not_null(strstr(R.last_server, "\"id\":\"chio-1\""), "%s", R.last_server);
    m = wait_client("\"id\":41");
    cr_expect_not_null(strstr(m, "2025-11-25"), "%s", m);

    send_client("{\"jsonrpc\":\"2.0\",\"id\":\"l\",\"method\":\"tools/list\"}");
    m = wait_client("\"id\":\"l\"");
    cr_expect_not_null(strstr(m, "\"echo\""), "%s", m);
    cr_expect_null(strstr(m, "get-env"), "get-env is not granted: %s", m);

    send_client("{\"jsonrpc\":\"2.0\",\"id\":42,\"method\":\"tools/call\","
                "\"params\":{\"name\":\"echo\",\"arguments\":{\"message\":\"hi\"}}}");
    m = wait_client("\"id\":42");
    cr_expect_not_null(strstr(m, "fake echo"), "%s", m);
    cr_expect_not_null(strstr(m, "\"verdict\":\"allow\""), "%s", m);
    cr_expect_not_null(strstr(m, "\"receipt_id\":\""), "%s", m);

    send_client("{\"jsonrpc\":\"2.0\",\"id\":43,\"method\":\"tools/call\","
                "\"params\":{\"name\":\"get-env\",\"arguments\":{}}}");
    m = wait_client("\"id\":43");
    cr_expect_not_null(strstr(m, "\"isError\":true"), "%s", m);
    cr_expect_not_null(strstr(m, "\"code\":\"out_of_scope\""), "%s", m);
    cr_expect_null(strstr(R.last_server, "get-env"), "a denied call never reaches the server");

    send_client("not json");
    m = wait_client("-32700");
    cr_expect_not_null(strstr(m, "\"id\":null"), "%s", m);

    chio_mcp_gateway_server_closed(R.g);
    chio_mcp_gateway_client_closed(R.g);
    chio_mcp_gateway_free(R.g);
    cr_expect_eq(chio_kernel_drain(k, NULL), 0);
    chio_kernel_free(k);
    chio_mcp_policy_free(p);
}

/* ---- two sessions on one kernel ------------------------------------------------- */

/* One session's peers: its client's messages and a tiny server that names
 * itself in its tools/call answers. */
typedef struct peer {
    chio_mcp_gateway *g;
    char name[8];
    pthread_mutex_t mu;
    char *client[16];
    int nclient;
    int tools_lists; /* tools/list requests its server got */
} peer;

static int peer_client(void *user, const char *line, size_t len)
{
    peer *pe = user;

    pthread_mutex_lock(&pe->mu);
    if (pe->nclient < 16)
        pe->client[pe->nclient++] = strndup(line, len);
    pthread_mutex_unlock(&pe->mu);
    return 0;
}

static int peer_server(void *user, const char *line, size_t len)
{
    peer *pe = user;
    chio_json_doc *doc = NULL;
    const char *method, *id;
    char out[512] = "";

    cr_assert_eq(chio_json_parse(line, len, &doc, NULL), 0);
    method = chio_json_string(chio_json_get(chio_json_root(doc), "method"), NULL);
    id = chio_json_string(chio_json_get(chio_json_root(doc), "id"), NULL);
    if (method != NULL && id != NULL && strcmp(method, "initialize") == 0)
        snprintf(out, sizeof(out), "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"result\":{}}", id);
    else if (method != NULL && id != NULL && strcmp(method, "tools/list") == 0) {
        __atomic_add_fetch(&pe->tools_lists, 1, __ATOMIC_SEQ_CST);
        snprintf(out, sizeof(out),
                 "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"result\":{\"tools\":[{\"name\":\"echo\"}]}}",
                 id);
    } else if (method != NULL && id != NULL && strcmp(method, "tools/call") == 0)
        snprintf(out, sizeof(out),
                 "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"result\":{\"content\":[{\"type\":\"text\","
                 "\"text\":\"server %s\"}]}}",
                 id, pe->name);
    chio_json_doc_free(doc);
    if (out[0] != '\0')
        chio_mcp_gateway_server_line(pe->g, out, strlen(out));
    return 0;
}

static const char *peer_wait(peer *pe, const char *needle)
{
    uint64_t end = testutil_now_ms() + 10000;
    const char *hit = NULL;
    int i;

    while (hit == NULL && testutil_now_ms() < end) {
        pthread_mutex_lock(&pe->mu);
        for (i = 0; i < pe->nclient && hit == NULL; i++)
            if (strstr(pe->client[i], needle) != NULL)
                hit = pe->client[i];
        pthread_mutex_unlock(&pe->mu);
        if (hit == NULL)
            testutil_nap_ms(1);
    }
    cr_assert_not_null(hit, "%s: no client message with %s", pe->name, needle);
    return hit;
}

static void peer_send(peer *pe, const char *json)
{
    chio_mcp_gateway_client_line(pe->g, json, strlen(json));
}

/* Every tool of the wrapped server. */
static const char any_tool_policy[] =
    "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"everything\","
    "\"grants\":[{\"server_id\":\"everything\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}]}";

Test(mcp_gateway, two_sessions_share_a_kernel_through_a_hub)
{
    static peer pa = {.name = "A", .mu = PTHREAD_MUTEX_INITIALIZER};
    static peer pb = {.name = "B", .mu = PTHREAD_MUTEX_INITIALIZER};
    peer *both[2] = {&pa, &pb};
    chio_mcp_policy *p = NULL;
    chio_keypair *kp = NULL;
    chio_kernel *k = NULL;
    chio_mcp_hub *hub = NULL;
    const char *m;
    int i;

    cr_assert_eq(chio_mcp_policy_parse(any_tool_policy, strlen(any_tool_policy), &p, NULL), 0);
    cr_assert_eq(chio_keypair_generate(&kp, NULL), 0);
    cr_assert_eq(chio_mcp_kernel_new(p, kp, NULL, &k, NULL), 0);
    cr_assert_eq(chio_mcp_hub_new(p, k, &hub), 0);
    for (i = 0; i < 2; i++) {
        cr_assert_eq(chio_mcp_gateway_open(hub, peer_client, peer_server, both[i], &both[i]->g), 0);
        peer_send(both[i],
                  "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}");
        peer_wait(both[i], "\"id\":1");
    }
    /* A's first call registers the server with the kernel, for any tool
     * (the servers are the authority on their tools: nothing is listed);
     * B's call then opens its own kernel session on the same kernel. */
    peer_send(&pa, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
                   "\"params\":{\"name\":\"echo\",\"arguments\":{}}}");
    m = peer_wait(&pa, "\"id\":2");
    cr_expect_not_null(strstr(m, "server A"), "%s", m);
    peer_send(&pb, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
                   "\"params\":{\"name\":\"echo\",\"arguments\":{}}}");
    m = peer_wait(&pb, "\"id\":2");
    cr_expect_not_null(strstr(m, "server B"), "B's call reaches B's server: %s", m);
    cr_expect_not_null(strstr(m, "\"verdict\":\"allow\""), "%s", m);
    cr_expect_eq(pa.tools_lists, 0, "registration lists no tools");
    cr_expect_eq(pb.tools_lists, 0);
    /* A tool no server ever listed (added later, say) that the grant
     * covers reaches the server like any other. */
    peer_send(&pb, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\","
                   "\"params\":{\"name\":\"get-later\",\"arguments\":{}}}");
    m = peer_wait(&pb, "\"id\":7");
    cr_expect_not_null(strstr(m, "server B"), "%s", m);
    cr_expect_not_null(strstr(m, "\"verdict\":\"allow\""), "%s", m);
    /* A ends; B keeps working on the same kernel. */
    chio_mcp_gateway_server_closed(pa.g);
    chio_mcp_gateway_client_closed(pa.g);
    chio_mcp_gateway_free(pa.g);
    peer_send(&pb, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\","
                   "\"params\":{\"name\":\"echo\",\"arguments\":{}}}");
    m = peer_wait(&pb, "\"id\":3");
    cr_expect_not_null(strstr(m, "server B"), "%s", m);
    chio_mcp_gateway_server_closed(pb.g);
    chio_mcp_gateway_client_closed(pb.g);
    chio_mcp_gateway_free(pb.g);
    chio_mcp_hub_free(hub);
    cr_expect_eq(chio_kernel_drain(k, NULL), 0);
    chio_kernel_free(k);
    chio_mcp_policy_free(p);
    for (i = 0; i < 2; i++)
        while (both[i]->nclient > 0)
            free(both[i]->client[--both[i]->nclient]);
}

/* ---- the HTTP transport's bounds, without sockets ---------------------------------- */

Test(mcp_http, sessions_and_sse_queues_are_bounded)
{
    static char *const cat_argv[] = {"cat", NULL};
    chio_mcp_policy *p = NULL;
    chio_keypair *kp = NULL;
    chio_kernel *k = NULL;
    httpd h;
    hsess *s = NULL, *s2 = NULL;
    stream *st, *st2;
    svc_buf line = {0};
    char buf[64], id[33];
    int full = 0, conflict = 0, i;

    cr_assert_eq(chio_mcp_policy_parse(example, strlen(example), &p, NULL), 0);
    cr_assert_eq(chio_keypair_generate(&kp, NULL), 0);
    cr_assert_eq(chio_mcp_kernel_new(p, kp, NULL, &k, NULL), 0);
    memset(&h, 0, sizeof(h));
    h.pol = p;
    h.argv = cat_argv; /* a "server" that says nothing unless spoken to */
    h.max_sessions = 1;
    h.idle_secs = 3600;
    cr_assert_eq(chio_mcp_hub_new(p, k, &h.hub), 0);
    cr_assert_eq(chio__mcp_sess_init(&h), 0);
    cr_assert_eq(chio__mcp_sess_create(&h, &s, &full), 0);
    cr_expect_eq(strlen(s->id), 32);
    memcpy(id, s->id, sizeof(id));
    cr_expect_eq(chio__mcp_sess_create(&h, &s2, &full), -1, "--max-sessions 1");
    cr_expect_eq(full, 1);
    st = chio__mcp_stream_open(s, 1, NULL, NULL, &conflict);
    cr_assert_not_null(st);
    cr_expect_null(chio__mcp_stream_open(s, 1, NULL, NULL, &conflict), "one GET stream");
    cr_expect_eq(conflict, 1);
    chio__mcp_sess_release(s);

    /* A notification from the server goes to the GET stream as an event. */
    svc_buf_puts(&line, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\","
                        "\"params\":{\"level\":\"info\",\"data\":\"");
    for (i = 0; i < 65536; i++)
        svc_buf_puts(&line, "x");
    svc_buf_puts(&line, "\"}}");
    cr_assert(!line.oom);
    chio_mcp_gateway_server_line(s->g, line.p, line.len);
    cr_assert_eq(chio__mcp_stream_read(st, buf, 16), 16);
    cr_expect_eq(memcmp(buf, "id: 1\ndata: {\"js", 16), 0, "%.16s", buf);
    /* Nobody reads: past the queue's cap the stream is closed. */
    for (i = 0; i < (int)(CHIO__MCP_STREAM_QUEUE / 65536) + 8; i++)
        chio_mcp_gateway_server_line(s->g, line.p, line.len);
    cr_expect_eq(chio__mcp_stream_read(st, buf, sizeof(buf)), -1, "the stream ended");
    chio__mcp_stream_release(st);
    /* ... which frees the session's GET slot. */
    s2 = chio__mcp_sess_find(&h, id);
    cr_assert_not_null(s2);
    st2 = chio__mcp_stream_open(s2, 1, NULL, NULL, &conflict);
    cr_expect_not_null(st2);
    chio__mcp_sess_end(s2, END_DELETE);
    chio__mcp_sess_release(s2);
    cr_expect_null(chio__mcp_sess_find(&h, id), "an ended session is not found");
    if (st2 != NULL) {
        cr_expect_eq(chio__mcp_stream_read(st2, buf, sizeof(buf)), -1, "DELETE ends its streams");
        chio__mcp_stream_release(st2);
    }
    chio__mcp_sess_shutdown(&h);
    chio__mcp_sess_fini(&h);
    chio_mcp_hub_free(h.hub);
    cr_expect_eq(chio_kernel_drain(k, NULL), 0);
    chio_kernel_free(k);
    chio_mcp_policy_free(p);
    free(line.p);
}

/* ---- the command's bad inputs --------------------------------------------------- */

Test(mcp_cli, serve_refuses_bad_usage_policies_and_commands)
{
    char *dir = testutil_tmpdir(), seed[512], pol[512], badpol[512], db[512];
    const char *good = "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[]}";
    const char *bad = "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[],"
                      "\"surprise\":1}";
    cli_result r;

    snprintf(seed, sizeof(seed), "%s/seed", dir);
    snprintf(pol, sizeof(pol), "%s/policy.json", dir);
    snprintf(badpol, sizeof(badpol), "%s/bad.json", dir);
    snprintf(db, sizeof(db), "%s/db", dir);
    cr_assert_eq(
        testutil_write_file(
            seed, "0000000000000000000000000000000000000000000000000000000000000001", 64, 0600),
        0);
    cr_assert_eq(testutil_write_file(pol, good, strlen(good), 0644), 0);
    cr_assert_eq(testutil_write_file(badpol, bad, strlen(bad), 0644), 0);
    {
        const char *argv[] = {"mcp", "serve",       "--policy", pol, "--receipt-db",
                              db,    "--seed-file", seed,       NULL};
        r = testutil_run_cli(argv, NULL, 0);
        cr_expect_eq(r.status, 2);
        cr_expect_not_null(strstr(r.err, "after --"), "%s", r.err);
        testutil_cli_free(&r);
    }
    {
        const char *argv[] = {"mcp", "serve", "--receipt-db", db,  "--seed-file",
                              seed,  "--",    "true",         NULL};
        r = testutil_run_cli(argv, NULL, 0);
        cr_expect_eq(r.status, 2);
        cr_expect_not_null(strstr(r.err, "--policy is required"), "%s", r.err);
        testutil_cli_free(&r);
    }
    {
        const char *argv[] = {"mcp", "serve", "--policy", badpol, "--receipt-db", db, "--seed-file",
                              seed,  "--",    "true",     NULL};
        r = testutil_run_cli(argv, NULL, 0);
        cr_expect_eq(r.status, 2);
        cr_expect_not_null(strstr(r.err, "unknown member \"surprise\""), "%s", r.err);
        testutil_cli_free(&r);
    }
    {
        const char *argv[] = {"mcp", "serve",       "--policy", pol,  "--receipt-db",
                              db,    "--seed-file", seed,       "--", "/nonexistent/mcp-server",
                              NULL};
        r = testutil_run_cli(argv, NULL, 0);
        cr_expect_eq(r.status, 2);
        cr_expect_not_null(strstr(r.err, "cannot start the wrapped server"), "%s", r.err);
        testutil_cli_free(&r);
    }
    {
        const char *argv[] = {"mcp", "serve", "--policy", pol, "--receipt-db", dir, "--seed-file",
                              seed,  "--",    "true",     NULL};
        r = testutil_run_cli(argv, NULL, 0);
        cr_expect_eq(r.status, 2, "a directory of other files is not a store: %s", r.err);
        testutil_cli_free(&r);
    }
    {
        const char *argv[] = {"mcp", "serve-http",  "--policy", pol,        "--receipt-db",
                              db,    "--seed-file", seed,       "--listen", "0.0.0.0:0",
                              "--",  "true",        NULL};
        r = testutil_run_cli(argv, NULL, 0);
        cr_expect_eq(r.status, 2, "serve-http listens on loopback only: %s", r.err);
        cr_expect_not_null(strstr(r.err, "loopback"), "%s", r.err);
        testutil_cli_free(&r);
    }
    {
        const char *argv[] = {
            "mcp",         "serve-http", "--policy", pol,           "--receipt-db",   db,
            "--seed-file", seed,         "--listen", "127.0.0.1:0", "--max-sessions", "0",
            "--",          "true",       NULL};
        r = testutil_run_cli(argv, NULL, 0);
        cr_expect_eq(r.status, 2, "%s", r.err);
        cr_expect_not_null(strstr(r.err, "--max-sessions"), "%s", r.err);
        testutil_cli_free(&r);
    }
    {
        const char *argv[] = {
            "mcp",         "serve-http", "--policy", pol,           "--receipt-db",        db,
            "--seed-file", seed,         "--listen", "127.0.0.1:0", "--session-idle-secs", "x",
            "--",          "true",       NULL};
        r = testutil_run_cli(argv, NULL, 0);
        cr_expect_eq(r.status, 2, "%s", r.err);
        cr_expect_not_null(strstr(r.err, "--session-idle-secs"), "%s", r.err);
        testutil_cli_free(&r);
    }
    {
        /* Servers start per session, so a command that cannot run is
         * refused at start, before it listens. */
        const char *argv[] = {"mcp",         "serve-http",   "--policy",
                              pol,           "--receipt-db", db,
                              "--seed-file", seed,           "--listen",
                              "127.0.0.1:0", "--",           "/nonexistent/mcp-server",
                              NULL};
        r = testutil_run_cli(argv, NULL, 0);
        cr_expect_eq(r.status, 2, "%s", r.err);
        cr_expect_not_null(strstr(r.err, "cannot start the wrapped server"), "%s", r.err);
        cr_expect_null(strstr(r.err, "listening"), "%s", r.err);
        testutil_cli_free(&r);
    }
    testutil_rmrf(dir);
    free(dir);
}
