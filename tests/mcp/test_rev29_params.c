/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev29_params.c - what a passed client request carries to
 * the wrapped server. Requests the gateway passes without a decision
 * (ping, logging/setLevel, the lists) went to the server with the
 * client's whole params: text no guard read and no receipt holds (the
 * same class as a tools/call's _meta, review 28). Now they carry only
 * what the method takes: nothing for ping, a string level for setLevel, a
 * string cursor for a list; initialize keeps its params (the server needs
 * them whole).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "mcp/mcp.h"

static const char policy[] =
    "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[{\"server_id\":\"s\","
    "\"tool_name\":\"echo\",\"operations\":[\"invoke\"]}]}";

static struct {
    pthread_mutex_t mu;
    char *line[32];
    int n;
} to_srv = {PTHREAD_MUTEX_INITIALIZER, {0}, 0};

static int to_client(void *user, const char *line, size_t len)
{
    (void)user;
    (void)line;
    (void)len;
    return 0;
}

static int to_server(void *user, const char *line, size_t len)
{
    (void)user;
    pthread_mutex_lock(&to_srv.mu);
    if (to_srv.n < 32)
        to_srv.line[to_srv.n++] = strndup(line, len);
    pthread_mutex_unlock(&to_srv.mu);
    return 0;
}

/* The line the server got for the request whose method is @method. */
static char *server_got(const char *method)
{
    char needle[64], *hit = NULL;
    int i;

    snprintf(needle, sizeof(needle), "\"method\":\"%s\"", method);
    pthread_mutex_lock(&to_srv.mu);
    for (i = 0; i < to_srv.n && hit == NULL; i++)
        if (strstr(to_srv.line[i], needle) != NULL)
            hit = strdup(to_srv.line[i]);
    pthread_mutex_unlock(&to_srv.mu);
    return hit;
}

TestSuite(rev29_mcp_params);

Test(rev29_mcp_params, passed_requests_carry_only_what_their_method_takes)
{
    char *dir = testutil_tmpdir(), *got;
    chio_mcp_gateway *gw = NULL;
    chio_mcp_policy *pol = NULL;
    chio_keypair *kp = NULL;
    chio_kernel *kern = NULL;
    static const char *const lines[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
        "\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"kept-client\"}}}",
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\",\"params\":{\"note\":\"unread-ping-"
        "text\","
        "\"_meta\":{\"x\":\"unread-meta-text\"}}}",
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\",\"params\":{\"cursor\":\"cur-7\","
        "\"extra\":\"unread-list-text\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"logging/setLevel\",\"params\":{\"level\":"
        "\"warning\",\"extra\":\"unread-level-text\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"prompts/list\",\"params\":{\"cursor\":7}}",
    };
    size_t i;

    cr_assert_eq(chio_mcp_policy_parse(policy, strlen(policy), &pol, NULL), 0);
    cr_assert_eq(chio_keypair_generate(&kp, NULL), 0);
    cr_assert_eq(chio_mcp_kernel_new(pol, kp, dir, &kern, NULL), 0);
    cr_assert_eq(chio_mcp_gateway_new(pol, kern, to_client, to_server, NULL, &gw), 0);
    for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        chio_mcp_gateway_client_line(gw, lines[i], strlen(lines[i]));

    got = server_got("initialize");
    cr_assert_not_null(got, "initialize not passed");
    cr_expect(strstr(got, "kept-client") != NULL, "initialize lost its params: %s", got);
    free(got);
    got = server_got("ping");
    cr_assert_not_null(got, "ping not passed");
    cr_expect(strstr(got, "unread-") == NULL, "ping carried the client's params: %s", got);
    free(got);
    got = server_got("tools/list");
    cr_assert_not_null(got, "tools/list not passed");
    cr_expect(strstr(got, "\"cursor\":\"cur-7\"") != NULL, "the cursor was lost: %s", got);
    cr_expect(strstr(got, "unread-") == NULL, "tools/list carried more: %s", got);
    free(got);
    got = server_got("logging/setLevel");
    cr_assert_not_null(got, "setLevel not passed");
    cr_expect(strstr(got, "\"level\":\"warning\"") != NULL, "the level was lost: %s", got);
    cr_expect(strstr(got, "unread-") == NULL, "setLevel carried more: %s", got);
    free(got);
    got = server_got("prompts/list");
    cr_assert_not_null(got, "prompts/list not passed");
    cr_expect(strstr(got, "cursor") == NULL, "a cursor that is no string was passed: %s", got);
    free(got);

    chio_mcp_gateway_server_closed(gw);
    chio_mcp_gateway_client_closed(gw);
    chio_mcp_gateway_free(gw);
    cr_expect_eq(chio_kernel_drain(kern, NULL), 0);
    chio_kernel_free(kern); /* and the keypair, which the kernel took */
    chio_mcp_policy_free(pol);
    pthread_mutex_lock(&to_srv.mu);
    for (i = 0; i < (size_t)to_srv.n; i++)
        free(to_srv.line[i]);
    to_srv.n = 0;
    pthread_mutex_unlock(&to_srv.mu);
    testutil_rmrf(dir);
    free(dir);
}
