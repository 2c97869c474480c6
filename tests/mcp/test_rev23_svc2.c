/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev23_svc2.c - the gateway fails closed on the methods it
 * does not mediate: a client request or notification not on its allowlist
 * never reaches the server (requests get -32601), nor does a server
 * request other than roots/list and ping reach the client; the answers to
 * resources/list, resources/templates/list and prompts/list are cut to
 * the grants as tools/list's are (each refused request with a deny receipt
 * committed before the answer); completion/complete passes only for a
 * granted prompt or resource, resources/subscribe and unsubscribe only
 * for a granted URI (read as resources/read reads it), and the server's
 * notifications/resources/updated only for a granted URI. A gateway over
 * an ephemeral kernel whose client and server are callbacks that record
 * the lines (the fake server answers each request at once); suite
 * mcp_methods.
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
    "\"tool_name\":\"echo\",\"operations\":[\"invoke\"]}],"
    "\"resource_grants\":[{\"uri_pattern\":\"file:///pub/*\",\"operations\":[\"read\"]}],"
    "\"prompt_grants\":[{\"prompt_name\":\"simple\",\"operations\":[\"get\"]}]}";

#define MAXL 64

/* Lines each side got (0 client, 1 server), in order. */
static struct {
    pthread_mutex_t mu;
    char *line[2][MAXL];
    int n[2];
} seen = {PTHREAD_MUTEX_INITIALIZER, {{0}}, {0, 0}};

static chio_mcp_gateway *gw;

static int record(int side, const char *line, size_t len)
{
    pthread_mutex_lock(&seen.mu);
    if (seen.n[side] < MAXL)
        seen.line[side][seen.n[side]++] = strndup(line, len);
    pthread_mutex_unlock(&seen.mu);
    return 0;
}

static int to_client(void *user, const char *line, size_t len)
{
    (void)user;
    return record(0, line, len);
}

/* The fake server's answer to @method: lists naming granted and ungranted
 * entries alike, {} for anything else. */
static const char *answer_of(const char *method)
{
    if (strcmp(method, "tools/list") == 0)
        return "{\"tools\":[{\"name\":\"echo\"},{\"name\":\"rm-rf\"}]}";
    if (strcmp(method, "resources/list") == 0)
        return "{\"nextCursor\":\"c2\",\"resources\":[{\"uri\":\"file:///pub/a.txt\",\"name\":"
               "\"a\"},{\"uri\":\"file:///secret/plan.txt\",\"name\":\"plan\"},{\"uri\":"
               "\"file:///pub/../etc/passwd\",\"name\":\"pw\"}]}";
    if (strcmp(method, "resources/templates/list") == 0)
        return "{\"resourceTemplates\":[{\"uriTemplate\":\"file:///pub/{name}\",\"name\":"
               "\"pubt\"},{\"uriTemplate\":\"file:///secret/{name}\",\"name\":\"hidden-t\"}]}";
    if (strcmp(method, "prompts/list") == 0)
        return "{\"prompts\":[{\"name\":\"simple\"},{\"name\":\"admin-only\"}]}";
    if (strcmp(method, "completion/complete") == 0)
        return "{\"completion\":{\"values\":[\"v1\"]}}";
    return "{}";
}

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
    if (method != NULL && id != NULL && strstr(line, "answer-twice") != NULL) {
        /* A server that answers one request twice: the first answer counts. */
        snprintf(out, sizeof(out),
                 "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"result\":{\"content\":[{\"type\":"
                 "\"text\",\"text\":\"the first answer\"}]}}",
                 id);
        chio_mcp_gateway_server_line(gw, out, strlen(out));
        snprintf(out, sizeof(out),
                 "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"result\":{\"content\":[{\"type\":"
                 "\"text\",\"text\":\"the second answer\"}]}}",
                 id);
    } else if (method != NULL && id != NULL) {
        snprintf(out, sizeof(out), "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"result\":%s}", id,
                 answer_of(method));
    }
    chio_json_doc_free(doc);
    if (out[0] != '\0')
        chio_mcp_gateway_server_line(gw, out, strlen(out));
    return 0;
}

/* How many lines @side got that hold @needle. */
static int count(int side, const char *needle)
{
    int i, c = 0;

    pthread_mutex_lock(&seen.mu);
    for (i = 0; i < seen.n[side]; i++)
        c += strstr(seen.line[side][i], needle) != NULL;
    pthread_mutex_unlock(&seen.mu);
    return c;
}

/* The line @side got that holds @needle (the last one), or "". */
static const char *find(int side, const char *needle)
{
    const char *hit = "";
    int i;

    pthread_mutex_lock(&seen.mu);
    for (i = 0; i < seen.n[side]; i++)
        if (strstr(seen.line[side][i], needle) != NULL)
            hit = seen.line[side][i];
    pthread_mutex_unlock(&seen.mu);
    return hit;
}

static void client(const char *json)
{
    chio_mcp_gateway_client_line(gw, json, strlen(json));
}

static void server(const char *json)
{
    chio_mcp_gateway_server_line(gw, json, strlen(json));
}

static chio_mcp_policy *pol;
static chio_kernel *kern;

/* Receipts the kernel has committed so far. */
static uint64_t signed_receipts(void)
{
    chio_kernel_metrics m;

    cr_assert_eq(chio_kernel_metrics_get(kern, &m), 0);
    return m.receipts_signed;
}

static void setup(void)
{
    chio_keypair *kp = NULL;

    cr_assert_eq(chio_mcp_policy_parse(policy, strlen(policy), &pol, NULL), 0);
    cr_assert_eq(chio_keypair_generate(&kp, NULL), 0);
    cr_assert_eq(chio_mcp_kernel_new(pol, kp, NULL, &kern, NULL), 0);
    cr_assert_eq(chio_mcp_gateway_new(pol, kern, to_client, to_server, NULL, &gw), 0);
    client("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}");
    cr_assert_eq(count(0, "\"id\":1"), 1);
}

static void teardown(void)
{
    int i, s;

    chio_mcp_gateway_server_closed(gw);
    chio_mcp_gateway_client_closed(gw);
    chio_mcp_gateway_free(gw);
    cr_expect_eq(chio_kernel_drain(kern, NULL), 0);
    chio_kernel_free(kern);
    chio_mcp_policy_free(pol);
    for (s = 0; s < 2; s++) {
        for (i = 0; i < seen.n[s]; i++)
            free(seen.line[s][i]);
        seen.n[s] = 0;
    }
}

TestSuite(mcp_methods, .init = setup, .fini = teardown);

Test(mcp_methods, unknown_client_requests_and_notifications_never_reach_the_server)
{
    client("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/batch\",\"params\":{\"calls\":[{"
           "\"name\":\"rm-rf\"}]}}");
    client("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"x/exec\",\"params\":{\"cmd\":\"id\"}}");
    client("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tasks/result\",\"params\":{}}");
    client("{\"jsonrpc\":\"2.0\",\"method\":\"x/exec\",\"params\":{\"cmd\":\"id\"}}");
    client("{\"jsonrpc\":\"2.0\",\"method\":\"completion/complete\",\"params\":{}}");
    client("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/roots/list_changed\"}");
    client("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\"}");
    client("{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"logging/setLevel\",\"params\":{\"level\":"
           "\"info\"}}");
    client("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\\u0000x/exec\"}");
    cr_expect_eq(count(0, "NUL"), 1, "a method with a NUL is refused: %s", find(0, "\"id\":7"));
    cr_expect_eq(count(1, "tools/batch"), 0);
    cr_expect_eq(count(1, "x/exec"), 0);
    cr_expect_eq(count(1, "tasks/result"), 0);
    cr_expect_eq(count(1, "completion/complete"), 0, "an unknown notification is dropped");
    cr_expect_eq(count(0, "-32601"), 3, "each refused request is answered -32601");
    cr_expect_eq(count(0, "\"receipt_id\""), 3, "with the id of its deny receipt");
    cr_expect_eq(signed_receipts(), 5,
                 "committed before the answer, and one for each dropped notification");
    cr_expect(strstr(find(0, "\"id\":3"), "does not pass x/exec") != NULL, "%s",
              find(0, "\"id\":3"));
    cr_expect_eq(count(1, "notifications/roots/list_changed"), 1, "a known notification passes");
    cr_expect_eq(count(1, "\"method\":\"ping\""), 1);
    cr_expect_eq(count(1, "logging/setLevel"), 1);
    cr_expect_eq(count(0, "\"result\":{},\"id\":5}"), 1, "ping is answered by the server");
}

/* A method the receipt could not hold as it is still gets one: past 256
 * bytes it is named by its length, and the message never cuts a UTF-8
 * character in half (the receipt holds valid UTF-8 only). */
Test(mcp_methods, long_and_non_ascii_methods_are_refused_with_a_receipt)
{
    char line[4096], method[1200];
    size_t i;

    for (i = 0; i + 2 < 119; i += 2)
        memcpy(method + i, "\xc3\xa9", 2); /* e with an acute accent */
    method[i] = 'x';                       /* the 120-byte cut falls inside a character */
    memcpy(method + i + 1, "\xc3\xa9", 3);
    snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"%s\"}", method);
    client(line);
    memset(method, 'm', 1000);
    method[1000] = '\0';
    snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"%s\"}", method);
    client(line);
    cr_expect_eq(count(0, "-32601"), 2);
    cr_expect_eq(count(0, "\"receipt_id\""), 2, "each with its receipt: %s", find(0, "\"id\":2"));
    cr_expect_eq(signed_receipts(), 2);
}

Test(mcp_methods, lists_are_cut_to_the_grants)
{
    client("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}");
    client("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/list\"}");
    client("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"resources/templates/list\"}");
    client("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"prompts/list\"}");
    cr_assert_eq(count(0, "\"id\":5"), 1);
    cr_expect_eq(count(0, "rm-rf"), 0);
    cr_expect_eq(count(0, "\"echo\""), 1);
    cr_expect_eq(count(0, "file:///pub/a.txt"), 1, "a granted resource is listed");
    cr_expect_eq(count(0, "plan"), 0, "an ungranted resource is not");
    cr_expect_eq(count(0, "passwd"), 0, "nor one that climbs out of its grant");
    cr_expect_eq(count(0, "\"nextCursor\":\"c2\""), 1, "pagination is kept");
    cr_expect_eq(count(0, "pubt"), 1, "a template under a grant is listed");
    cr_expect_eq(count(0, "hidden-t"), 0, "one outside it is not");
    cr_expect_eq(count(0, "\"simple\""), 1, "a granted prompt is listed");
    cr_expect_eq(count(0, "admin-only"), 0, "an ungranted prompt is not");
}

Test(mcp_methods, completion_and_subscriptions_need_a_grant)
{
    client("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"completion/complete\",\"params\":{\"ref\":{"
           "\"type\":\"ref/prompt\",\"name\":\"admin-only\"},\"argument\":{\"name\":\"a\","
           "\"value\":\"\"}}}");
    client("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"completion/complete\",\"params\":{\"ref\":{"
           "\"type\":\"ref/resource\",\"uri\":\"file:///secret/{name}\"},\"argument\":{"
           "\"name\":\"name\",\"value\":\"\"}}}");
    client("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"completion/complete\",\"params\":{\"ref\":{"
           "\"type\":\"ref/resource\",\"uri\":\"file:///pub/../secret/{name}\"},\"argument\":{"
           "\"name\":\"name\",\"value\":\"\"}}}");
    client("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"resources/subscribe\",\"params\":{\"uri\":"
           "\"file:///pub/../etc/passwd\"}}");
    client("{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"resources/unsubscribe\",\"params\":{}}");
    client("{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"completion/complete\",\"params\":{"
           "\"ref\":{\"type\":\"ref/prompt\",\"name\":\"simple\\u0000admin-only\"}}}");
    cr_expect_eq(count(1, "completion/complete"), 0, "no ungranted completion reaches the server");
    cr_expect_eq(count(1, "subscribe"), 0, "no ungranted subscription reaches the server");
    cr_expect_eq(count(0, "-32602"), 6, "each is refused");
    cr_expect_eq(count(0, "\"verdict\":\"deny\""), 6, "each with a deny receipt");
    cr_expect_eq(signed_receipts(), 6);

    client("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"completion/complete\",\"params\":{\"ref\":{"
           "\"type\":\"ref/prompt\",\"name\":\"simple\"},\"argument\":{\"name\":\"a\","
           "\"value\":\"\"}}}");
    client("{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"completion/complete\",\"params\":{\"ref\":{"
           "\"type\":\"ref/resource\",\"uri\":\"file:///pub/{name}\"},\"argument\":{\"name\":"
           "\"name\",\"value\":\"\"}}}");
    client("{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"resources/subscribe\",\"params\":{\"uri\":"
           "\"file:///pub/x/../a.txt\"}}");
    cr_expect_eq(count(1, "completion/complete"), 2, "granted completions pass");
    cr_expect_eq(count(0, "\"v1\""), 2);
    cr_expect_eq(count(1, "\"uri\":\"file:///pub/a.txt\""), 1,
                 "a subscription is sent with the URI as a read would be");
    cr_expect_eq(count(0, "\"result\":{},\"id\":9}"), 1);
}

Test(mcp_methods, unknown_server_requests_never_reach_the_client)
{
    server("{\"jsonrpc\":\"2.0\",\"id\":50,\"method\":\"x/exec\",\"params\":{}}");
    server("{\"jsonrpc\":\"2.0\",\"id\":51,\"method\":\"sampling/createMessageV2\",\"params\":{}}");
    cr_expect_eq(count(0, "x/exec"), 0);
    cr_expect_eq(count(0, "createMessageV2"), 0);
    cr_expect_eq(count(1, "\"id\":50,\"error\":{\"code\":-32601"), 1, "%s", find(1, "\"id\":50"));
    cr_expect_eq(count(1, "\"id\":51,\"error\":{\"code\":-32601"), 1);
    server("{\"jsonrpc\":\"2.0\",\"id\":53,\"method\":\"ping\\u0000x\"}");
    cr_expect_eq(count(0, "\"id\":53"), 0, "a method with a NUL is refused");
    cr_expect_eq(count(1, "\"id\":53,\"error\":{\"code\":-32601"), 1);
    server("{\"jsonrpc\":\"2.0\",\"id\":52,\"method\":\"ping\"}");
    cr_expect_eq(count(0, "\"id\":52"), 1, "ping passes");
    server("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/resources/updated\",\"params\":{"
           "\"uri\":\"file:///secret/plan.txt\"}}");
    server("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/resources/updated\",\"params\":{"
           "\"uri\":\"file:///pub/a.txt\"}}");
    cr_expect_eq(count(0, "plan.txt"), 0, "an update of an ungranted resource is dropped");
    cr_expect_eq(count(0, "file:///pub/a.txt"), 1);
}

static int call_answered(void *arg)
{
    return count(0, (const char *)arg) > 0;
}

/* A server that answers a request twice: the first answer is the call's
 * (its receipt hashes it), the second is dropped. The gateway stored the
 * second over the first and leaked the first (fuzz_mcp, LeakSanitizer). */
Test(mcp_methods, a_second_answer_to_one_request_is_dropped)
{
    client("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":"
           "\"echo\",\"arguments\":{\"text\":\"answer-twice\"}}}");
    cr_assert(testutil_wait_until(call_answered, "\"id\":7", 30000), "tools/call was answered");
    cr_expect_eq(count(0, "the first answer"), 1, "%s", find(0, "\"id\":7"));
    cr_expect_eq(count(0, "the second answer"), 0, "%s", find(0, "\"id\":7"));
}
