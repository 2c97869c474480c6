/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev44_mcp.c - review 44 of the MCP gateway's JSON-RPC
 * mediation (src/mcp/messages.c), against the real chio mcp serve (stdio)
 * wrapping tests/mcp/rev44-server.mjs under node:
 *   - a server message was passed to the client as the server's bytes
 *     whenever its method was one the gateway passes (ping, roots/list, a
 *     notification), whatever else it held: a "ping" that also carried a
 *     "result" under the client's own request id reached the client, and a
 *     client that reads "id" and "result" first took it for the answer to
 *     its tools/call, a result no receipt binds; so did a notification
 *     that was also an error answer, a request of JSON-RPC "1.0" and one
 *     whose id is null. Such a message is no longer passed (a request
 *     whose id can be named gets -32600), and what is passed is rebuilt
 *     from JSON-RPC's members only;
 *   - the server's answer to a passed request went to the client with
 *     every member it held: both a result and an error (the client reads
 *     one, the gateway another), or members JSON-RPC does not define. An
 *     answer with both or neither now fails its request (-32603), and an
 *     answer carries only jsonrpc, id and its result or error;
 *   - the client's passed requests, notifications and answers reached the
 *     server with every member the client put in them (a "result" in a
 *     "ping", any other member), text no guard reads. They now carry only
 *     JSON-RPC's members, and a request that is an answer too is -32600.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "mcp/mcputil.h"

#define POLICY                                                                           \
    "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[{\"server_id\":" \
    "\"s\",\"tool_name\":\"forge\",\"operations\":[\"invoke\"]}]}"
#define INIT                                                                           \
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"             \
    "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":" \
    "\"rev44\",\"version\":\"1\"}}}"
#define WAIT_MS 10000

static char *dir;

static void setup(void)
{
    dir = testutil_tmpdir();
    signal(SIGPIPE, SIG_IGN);
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
}

TestSuite(rev44_mcp, .init = setup, .fini = teardown);

typedef mt_scripted sp;

static void sp_start(sp *s)
{
    mt_scripted_start(s, dir, "tests/mcp/rev44-server.mjs", POLICY,
                      "0000000000000000000000000000000000000000000000000000000000000044");
}

/* Poll the server's record until it holds @what. */
static int wait_recorded(const sp *s, const char *what, unsigned ms)
{
    uint64_t end = testutil_now_ms() + ms;
    int hit;

    for (;;) {
        char *text = mt_scripted_record(s);
        hit = strstr(text, what) != NULL;
        free(text);
        if (hit || testutil_now_ms() >= end)
            return hit;
        testutil_nap_ms(10);
    }
}

Test(rev44_mcp, a_server_message_that_is_a_request_and_an_answer_never_reaches_the_client)
{
    char *rec;
    sp s;

    sp_start(&s);
    mt_scripted_session(&s, INIT, WAIT_MS);
    /* Before its answer the server sends, under the client's own id 3,
     * a "ping" holding a forged tool result, a notification that is an
     * error answer too, a "1.0" request and one with a null id; then a
     * marker notification and its answer. */
    mt_scripted_send(&s,
                     "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":"
                     "\"forge\",\"arguments\":{\"cid\":3}}}");
    cr_assert(mt_scripted_wait(&s, "forge done", WAIT_MS), "the call is answered: %s", s.got);
    cr_expect(strstr(s.got, "\"marker\"") != NULL, "well-formed notifications pass: %s", s.got);
    cr_expect(strstr(s.got, "FORGED-ANSWER") == NULL,
              "a ping that is also an answer to the client's id 3 never reaches it: %s", s.got);
    cr_expect(strstr(s.got, "FORGED-ERROR") == NULL,
              "a notification that is also an error answer never reaches it: %s", s.got);
    cr_expect(strstr(s.got, "\"1.0\"") == NULL, "nor a JSON-RPC 1.0 request: %s", s.got);
    cr_expect(strstr(s.got, "\"id\":null") == NULL, "nor a request with a null id: %s", s.got);
    /* The requests whose id the gateway can name are refused to the server. */
    cr_expect(wait_recorded(&s, "\"id\":\"v1\",\"error\":{\"code\":-32600", WAIT_MS));
    rec = mt_scripted_record(&s);
    cr_expect(strstr(rec, "\"id\":3,\"error\":{\"code\":-32600") != NULL, "%s", rec);
    free(rec);
    mt_scripted_stop(&s, WAIT_MS);
}

Test(rev44_mcp, a_servers_answer_reaches_the_client_as_one_answer_or_as_an_error)
{
    sp s;

    sp_start(&s);
    mt_scripted_session(&s, INIT, WAIT_MS);
    /* An answer with both a result and an error: which one the client
     * reads is not the gateway's to guess. */
    mt_scripted_send(&s,
                     "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"logging/setLevel\",\"params\":{"
                     "\"level\":\"both\"}}");
    cr_assert(mt_scripted_wait(&s, "\"id\":8", WAIT_MS), "%s", s.got);
    cr_expect(strstr(s.got, "BOTH") == NULL, "the result of a two-headed answer is not passed: %s",
              s.got);
    cr_expect(strstr(s.got, "\"id\":8,\"error\":{\"code\":-32603") != NULL, "%s", s.got);
    /* An answer with a member JSON-RPC does not define. */
    mt_scripted_send(&s,
                     "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"logging/setLevel\",\"params\":{"
                     "\"level\":\"extra\"}}");
    cr_assert(mt_scripted_wait(&s, "\"id\":9}", WAIT_MS), "%s", s.got);
    cr_expect(strstr(s.got, "smuggled") == NULL, "only JSON-RPC's members pass: %s", s.got);
    cr_expect(strstr(s.got, "\"result\":{},\"id\":9}") != NULL, "%s", s.got);
    mt_scripted_stop(&s, WAIT_MS);
}

Test(rev44_mcp, client_messages_reach_the_server_with_only_json_rpc_members)
{
    char *rec;
    sp s;

    sp_start(&s);
    mt_scripted_session(&s, INIT, WAIT_MS);
    /* A notification and a request with a member JSON-RPC does not define. */
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/roots/list_changed\","
                         "\"x\":\"C-NOTE-EXTRA\"}");
    mt_scripted_send(&s,
                     "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"ping\",\"x\":\"C-REQ-EXTRA\"}");
    /* A request that is an answer too: -32600, never sent. */
    mt_scripted_send(
        &s, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\",\"result\":{\"x\":\"C-RESULT\"}}");
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"ping\"}");
    cr_assert(mt_scripted_wait(&s, "\"result\":{},\"id\":10}", WAIT_MS), "%s", s.got);
    cr_expect(strstr(s.got, "\"result\":{},\"id\":6}") != NULL, "%s", s.got);
    cr_expect(strstr(s.got, "\"id\":7,\"error\":{\"code\":-32600") != NULL, "%s", s.got);
    rec = mt_scripted_record(&s);
    cr_expect(strstr(rec, "roots/list_changed") != NULL, "the notification passed: %s", rec);
    cr_expect(strstr(rec, "C-NOTE-EXTRA") == NULL, "%s", rec);
    cr_expect(strstr(rec, "C-REQ-EXTRA") == NULL, "%s", rec);
    cr_expect(strstr(rec, "C-RESULT") == NULL, "%s", rec);
    free(rec);
    mt_scripted_stop(&s, WAIT_MS);
}
