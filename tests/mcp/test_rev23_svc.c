/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev23_svc.c - the gateway passes a client's answer to the
 * server only for a request the server sent the client and that is not
 * answered yet: a made-up answer under the server's own id (one the
 * gateway refused, such as an elicitation outside a call, one answered
 * already, one never sent) stays with the gateway, and a server request
 * under the gateway's own "chio-c-N" ids is refused. A gateway over an
 * ephemeral kernel whose client and server are callbacks that record the
 * lines; suite mcp_answers.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/mcp.h"

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

static int to_server(void *user, const char *line, size_t len)
{
    (void)user;
    return record(1, line, len);
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
