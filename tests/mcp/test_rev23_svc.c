/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev23_svc.c - the gateway passes a client's answer to the
 * server only for a request the server sent the client and that is not
 * answered yet: a made-up answer under the server's own id (one the
 * gateway refused, such as an elicitation outside a call, one answered
 * already, one never sent) stays with the gateway, and a server request
 * under the gateway's own "chio-c-N" ids is refused. A resource URI is
 * read one way (mcp/uri.c: "%2e" as ".", dot segments removed) for the
 * grant check and the server alike, so "file:///pub/../etc/passwd" is no
 * read under a grant of "file:///pub/" and any suffix. A gateway over an ephemeral kernel whose
 * client and server are callbacks that record the lines (the server
 * answers initialize and resources/read); suites mcp_answers, mcp_uri.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/poll.h"
#include "mcp/mcp.h"
#include "mcp/mcp_internal.h"

static const char policy[] =
    "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[{\"server_id\":\"s\","
    "\"tool_name\":\"echo\",\"operations\":[\"invoke\"]}]}";

/* Lines each side got, in order. */
static struct {
    pthread_mutex_t mu;
    char *line[2][32];
    int n[2];
} seen = {PTHREAD_MUTEX_INITIALIZER, {{0}}, {0, 0}};

static int record(int side, const char *line, size_t len)
{
    pthread_mutex_lock(&seen.mu);
    if (seen.n[side] < 32)
        seen.line[side][seen.n[side]++] = strndup(line, len);
    pthread_mutex_unlock(&seen.mu);
    return 0;
}

static int to_client(void *user, const char *line, size_t len)
{
    (void)user;
    return record(0, line, len);
}

static chio_mcp_gateway *gw;

/* The fake server: it records every line and answers initialize, and a
 * resources/read with the URI it was asked for. */
static int to_server(void *user, const char *line, size_t len)
{
    chio_json_doc *doc = NULL;
    const chio_json *root;
    const char *method, *id;
    char out[1024] = "";

    (void)user;
    record(1, line, len);
    if (chio_json_parse(line, len, &doc, NULL) != 0)
        return 0;
    root = chio_json_root(doc);
    method = chio_json_string(chio_json_get(root, "method"), NULL);
    id = chio_json_string(chio_json_get(root, "id"), NULL);
    if (method != NULL && id != NULL && strcmp(method, "initialize") == 0)
        snprintf(out, sizeof(out), "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"result\":{}}", id);
    else if (method != NULL && id != NULL && strcmp(method, "resources/read") == 0)
        snprintf(out, sizeof(out),
                 "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"result\":{\"contents\":[{\"uri\":"
                 "\"%.400s\",\"text\":\"read\"}]}}",
                 id, chio_json_string(chio_json_get(chio_json_get(root, "params"), "uri"), NULL));
    chio_json_doc_free(doc);
    if (out[0] != '\0')
        chio_mcp_gateway_server_line(gw, out, strlen(out));
    return 0;
}

/* The first line @side got that holds @needle, waited for up to 10 s. */
static int wait_line(int side, const char *needle)
{
    uint64_t end = testutil_now_ms() + 10000;
    int i, hit = 0;

    while (!hit && testutil_now_ms() < end) {
        pthread_mutex_lock(&seen.mu);
        for (i = 0; i < seen.n[side] && !hit; i++)
            hit = strstr(seen.line[side][i], needle) != NULL;
        pthread_mutex_unlock(&seen.mu);
        if (!hit)
            testutil_nap_ms(1);
    }
    return hit;
}

/* How many lines @side (0 client, 1 server) got that hold @needle. */
static int count(int side, const char *needle)
{
    int i, c = 0;

    pthread_mutex_lock(&seen.mu);
    for (i = 0; i < seen.n[side]; i++)
        c += strstr(seen.line[side][i], needle) != NULL;
    pthread_mutex_unlock(&seen.mu);
    return c;
}

static void line(void (*fn)(chio_mcp_gateway *, const char *, size_t), chio_mcp_gateway *g,
                 const char *json)
{
    fn(g, json, strlen(json));
}

Test(mcp_answers, the_client_answers_only_requests_the_server_sent_it)
{
    chio_mcp_policy *p = NULL;
    chio_keypair *kp = NULL;
    chio_kernel *k = NULL;
    chio_mcp_gateway *g = NULL;
    int i;

    cr_assert_eq(chio_mcp_policy_parse(policy, strlen(policy), &p, NULL), 0);
    cr_assert_eq(chio_keypair_generate(&kp, NULL), 0);
    cr_assert_eq(chio_mcp_kernel_new(p, kp, NULL, &k, NULL), 0);
    cr_assert_eq(chio_mcp_gateway_new(p, k, to_client, to_server, NULL, &g), 0);
    gw = g;

    /* A request of the server passed to the client, answered once. */
    line(chio_mcp_gateway_server_line, g,
         "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"roots/list\"}");
    cr_expect_eq(count(0, "roots/list"), 1);
    line(chio_mcp_gateway_client_line, g,
         "{\"jsonrpc\":\"2.0\",\"id\":8,\"result\":{\"roots\":[{\"uri\":\"file:///a\"}]}}");
    cr_expect_eq(count(1, "file:///a"), 1, "the answer reaches the server");
    line(chio_mcp_gateway_client_line, g,
         "{\"jsonrpc\":\"2.0\",\"id\":8,\"result\":{\"roots\":[{\"uri\":\"file:///b\"}]}}");
    cr_expect_eq(count(1, "file:///b"), 0, "a second answer to the same request is dropped");

    /* An elicitation outside a call is refused by the gateway; an answer
     * the client makes up under its id never reaches the server. */
    line(chio_mcp_gateway_server_line, g,
         "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"elicitation/create\",\"params\":{}}");
    cr_expect_eq(count(1, "-32001"), 1, "the server gets the refusal");
    cr_expect_eq(count(0, "elicitation/create"), 0);
    line(chio_mcp_gateway_client_line, g,
         "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"action\":\"accept\"}}");
    cr_expect_eq(count(1, "accept"), 0, "a made-up elicitation answer reached the server");
    line(chio_mcp_gateway_client_line, g, "{\"jsonrpc\":\"2.0\",\"id\":99,\"result\":{\"x\":1}}");
    cr_expect_eq(count(1, "\"x\""), 0, "an answer to a request never sent reached the server");

    /* The gateway's own ids are not the server's to use. */
    line(chio_mcp_gateway_server_line, g,
         "{\"jsonrpc\":\"2.0\",\"id\":\"chio-c-1\",\"method\":\"roots/list\"}");
    cr_expect_eq(count(0, "chio-c-1"), 0, "the client never sees it");
    cr_expect_eq(count(1, "-32600"), 1, "the server is told");

    chio_mcp_gateway_server_closed(g);
    chio_mcp_gateway_client_closed(g);
    chio_mcp_gateway_free(g);
    cr_expect_eq(chio_kernel_drain(k, NULL), 0);
    chio_kernel_free(k);
    chio_mcp_policy_free(p);
    for (i = 0; i < seen.n[0]; i++)
        free(seen.line[0][i]);
    for (i = 0; i < seen.n[1]; i++)
        free(seen.line[1][i]);
}

Test(mcp_uri, dot_segments_are_removed_before_the_grant_check)
{
    static const char *const rows[][2] = {
        {"file:///pub/a.txt", "file:///pub/a.txt"},
        {"file:///pub/../etc/passwd", "file:///etc/passwd"},
        {"file:///pub/%2e%2E/etc/passwd", "file:///etc/passwd"},
        {"file:///pub/./x/../../../etc", "file:///etc"},
        {"file:///pub/x/..", "file:///pub/"},
        {"file:///pub/x/.", "file:///pub/x/"},
        {"demo://host/a/../b?q=../c#../d", "demo://host/b?q=../c#../d"},
        {"demo://h/..", "demo://h/"},
        {"a/../b", "/b"},
        {"../x", "x"},
        {"file:///pub/..x/.y", "file:///pub/..x/.y"},
        {"urn:isbn:0451450523", "urn:isbn:0451450523"},
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *got = chio__mcp_uri_normal(rows[i][0]);
        cr_assert_not_null(got);
        cr_expect_str_eq(got, rows[i][1], "%s", rows[i][0]);
        free(got);
    }
}

Test(mcp_uri, a_read_that_climbs_out_of_its_grant_is_denied)
{
    static const char pol[] =
        "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[],"
        "\"resource_grants\":[{\"uri_pattern\":\"file:///pub/*\",\"operations\":[\"read\"]}]}";
    chio_mcp_policy *p = NULL;
    chio_keypair *kp = NULL;
    chio_kernel *k = NULL;
    chio_mcp_gateway *g = NULL;

    cr_assert_eq(chio_mcp_policy_parse(pol, strlen(pol), &p, NULL), 0);
    cr_assert_eq(chio_keypair_generate(&kp, NULL), 0);
    cr_assert_eq(chio_mcp_kernel_new(p, kp, NULL, &k, NULL), 0);
    cr_assert_eq(chio_mcp_gateway_new(p, k, to_client, to_server, NULL, &g), 0);
    gw = g;
    line(chio_mcp_gateway_client_line, g,
         "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}");
    cr_assert(wait_line(0, "\"id\":1"));
    line(chio_mcp_gateway_client_line, g,
         "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/read\",\"params\":{\"uri\":"
         "\"file:///pub/../etc/passwd\"}}");
    line(chio_mcp_gateway_client_line, g,
         "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/read\",\"params\":{\"uri\":"
         "\"file:///pub/%2e%2e/etc/shadow\"}}");
    line(chio_mcp_gateway_client_line, g,
         "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"resources/read\",\"params\":{\"uri\":"
         "\"file:///pub/x/../ok.txt\"}}");
    cr_assert(wait_line(0, "\"id\":2"));
    cr_assert(wait_line(0, "\"id\":3"));
    cr_assert(wait_line(0, "\"id\":4"));
    cr_expect_eq(count(0, "out_of_scope"), 2, "both climbs are denied");
    cr_expect_eq(count(1, "/etc/"), 0, "the server never gets them");
    cr_expect_eq(count(1, "\"uri\":\"file:///pub/ok.txt\""), 1,
                 "it gets the read it was decided on");
    chio_mcp_gateway_server_closed(g);
    chio_mcp_gateway_client_closed(g);
    chio_mcp_gateway_free(g);
    cr_expect_eq(chio_kernel_drain(k, NULL), 0);
    chio_kernel_free(k);
    chio_mcp_policy_free(p);
}
