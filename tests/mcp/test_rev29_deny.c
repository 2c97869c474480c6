/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev29_deny.c - review 29's sweep of "every denial an
 * agent can cause leaves a receipt" over the MCP gateway's server side: a
 * sampling or elicitation request the wrapped server sends during a tool
 * call and the call's answer right after it. The request was queued for
 * the call, but the call's wait ended on the answer first, so the request
 * was dropped: never answered, and no child receipt (kernel.md: one for
 * each such child request). Now the queued requests are answered before
 * the wait ends, each with its child receipt in the store. A gateway over
 * a kernel with a RocksDB directory, read back after the drain; the fake
 * server answers from inside the gateway's send, so the two lines are
 * always in before the call's thread looks.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "mcp/mcp.h"
#include "mcp/mcputil.h"

static const char policy[] =
    "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[{\"server_id\":\"s\","
    "\"tool_name\":\"echo\",\"operations\":[\"invoke\"]}]}";

/* Lines each side got, in order (0: the client, 1: the server). */
static mt_lines seen = MT_LINES_INIT;

static chio_mcp_gateway *gw;

static void record(int side, const char *line, size_t len)
{
    mt_lines_add(&seen, side, line, len);
}

static int to_client(void *user, const char *line, size_t len)
{
    (void)user;
    record(0, line, len);
    return 0;
}

static void server(const char *json)
{
    chio_mcp_gateway_server_line(gw, json, strlen(json));
}

/* The fake server: answers initialize; a tools/call asks for a sampling
 * (id 88) and an elicitation (id 89) and answers the call at once, all
 * before the gateway's send returns. */
static int to_server(void *user, const char *line, size_t len)
{
    chio_json_doc *doc = NULL;
    const char *method, *id;
    char out[256];

    (void)user;
    record(1, line, len);
    if (chio_json_parse(line, len, &doc, NULL) != 0)
        return 0;
    method = chio_json_string(chio_json_get(chio_json_root(doc), "method"), NULL);
    id = chio_json_string(chio_json_get(chio_json_root(doc), "id"), NULL);
    if (method != NULL && id != NULL && strcmp(method, "initialize") == 0) {
        snprintf(out, sizeof(out), "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"result\":{}}", id);
        server(out);
    } else if (method != NULL && id != NULL && strcmp(method, "tools/call") == 0) {
        server("{\"jsonrpc\":\"2.0\",\"id\":88,\"method\":\"sampling/createMessage\","
               "\"params\":{\"messages\":[],\"maxTokens\":5}}");
        server("{\"jsonrpc\":\"2.0\",\"id\":89,\"method\":\"elicitation/create\","
               "\"params\":{\"message\":\"name?\",\"requestedSchema\":{}}}");
        snprintf(out, sizeof(out),
                 "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"result\":{\"content\":[{\"type\":"
                 "\"text\",\"text\":\"ran\"}]}}",
                 id);
        server(out);
    }
    chio_json_doc_free(doc);
    return 0;
}

static char *wait_line(int side, const char *needle)
{
    return mt_lines_wait(&seen, side, needle, 10000);
}

/* The client's copy of the answer to its request with the numeric id @id
 * (the id comes first or last, as the gateway writes it). */
static char *wait_answer(int id)
{
    return mt_lines_answer(&seen, id);
}

static void client(const char *json)
{
    chio_mcp_gateway_client_line(gw, json, strlen(json));
}

/* Stored receipts whose JSON holds both needles. */
static int stored(const char *dir, const char *a, const char *b)
{
    return mt_stored(dir, a, b);
}

Test(rev29_deny_mcp, nested_requests_sent_just_before_the_calls_answer_get_receipts)
{
    char *dir = testutil_tmpdir(), *got;
    chio_mcp_policy *pol = NULL;
    chio_keypair *kp = NULL;
    chio_kernel *kern = NULL;

    cr_assert_eq(chio_mcp_policy_parse(policy, strlen(policy), &pol, NULL), 0);
    cr_assert_eq(chio_keypair_generate(&kp, NULL), 0);
    cr_assert_eq(chio_mcp_kernel_new(pol, kp, dir, &kern, NULL), 0);
    cr_assert_eq(chio_mcp_gateway_new(pol, kern, to_client, to_server, NULL, &gw), 0);
    client("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}");
    got = wait_answer(1);
    cr_assert_not_null(got, "initialize was not answered");
    free(got);
    client("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\","
           "\"arguments\":{\"m\":\"hi\"}}}");
    got = wait_answer(2);
    cr_assert_not_null(got, "the call was not answered");
    cr_expect_not_null(strstr(got, "\"verdict\":\"allow\""), "%s", got);
    free(got);
    cr_expect(chio_mcp_gateway_wait_idle_ms(gw, 10000), "the call still runs");
    /* Both nested requests were decided (refused: the policy allows
     * neither) and answered, never sent to the client. */
    got = wait_line(1, "\"id\":88,");
    cr_expect_not_null(got, "the server's sampling request was never answered");
    cr_expect(got == NULL || strstr(got, "denied by policy") != NULL, "%s", got);
    free(got);
    got = wait_line(1, "\"id\":89,");
    cr_expect_not_null(got, "the server's elicitation request was never answered");
    free(got);
    got = mt_lines_wait(&seen, 0, "createMessage", 0);
    cr_expect_null(got, "a refused sampling reached the client: %s", got);
    free(got);
    chio_mcp_gateway_server_closed(gw);
    chio_mcp_gateway_client_closed(gw);
    chio_mcp_gateway_free(gw);
    cr_assert_eq(chio_kernel_drain(kern, NULL), 0);
    chio_kernel_free(kern);
    chio_mcp_policy_free(pol);
    cr_expect_eq(stored(dir, "\"tool_name\":\"sampling/createMessage\"", "sampling_not_allowed"), 1,
                 "no child receipt for the sampling request");
    cr_expect_eq(stored(dir, "\"tool_name\":\"elicitation/create\"", "elicitation_not_allowed"), 1,
                 "no child receipt for the elicitation request");
    mt_lines_clear(&seen);
    testutil_rmrf(dir);
    free(dir);
}
