/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev54_notif.c - what the client's notifications and a
 * second initialize carry to the wrapped server (src/mcp/messages.c,
 * peer.c), against the real chio mcp serve (stdio) wrapping
 * tests/mcp/rev54-notif-server.mjs, which records every line it gets.
 * Before review 54 notifications/initialized, notifications/roots/
 * list_changed and notifications/progress reached the server with every
 * member the client wrote, a cancellation with the client's reason and
 * other members, a progress under any token, and an initialize sent again
 * mid-session was passed again: text no guard read and no receipt holds
 * (a secret in a progress message), as a passed request's extra members
 * were before review 29.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "mcp/mcputil.h"

#define POLICY                                                                           \
    "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[{\"server_id\":" \
    "\"s\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}]}"
#define INIT                                                                           \
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"             \
    "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":" \
    "\"rev54\",\"version\":\"1\"}}}"
#define WAIT_MS 10000
/* The client's answer to the second initialize (id 7), as it begins. */
#define REFUSED "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32600,"
/* What the server's record holds for a line it got, whole. */
#define GOT(line) "got " line "\n"

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

TestSuite(rev54_mcp_notif, .init = setup, .fini = teardown);

static void start(mt_scripted *s)
{
    mt_scripted_start(s, dir, "tests/mcp/rev54-notif-server.mjs", POLICY,
                      "0000000000000000000000000000000000000000000000000000000000000054");
    mt_scripted_send(s, INIT);
    cr_assert(mt_scripted_wait(s, "\"serverInfo\"", WAIT_MS), "initialize answered: %s", s->got);
}

/* Send a ping under @id and wait for its answer: the server records a
 * line before it answers, and the gateway writes to it in order, so every
 * line sent before the ping is in the record then. The record, to free. */
static char *record_after_ping(mt_scripted *s, int id)
{
    char line[96], want[32];

    snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"ping\"}", id);
    snprintf(want, sizeof(want), "\"id\":%d}", id);
    mt_scripted_send(s, line);
    cr_assert(mt_scripted_wait(s, want, WAIT_MS), "ping %d answered: %s", id, s->got);
    return mt_scripted_record(s);
}

Test(rev54_mcp_notif, client_notifications_reach_the_server_with_only_what_they_take)
{
    mt_scripted s;
    char *rec;

    start(&s);
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\","
                         "\"params\":{\"evil\":\"INIT-EVIL\",\"_meta\":{\"x\":\"INIT-META\"}}}");
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/roots/list_changed\","
                         "\"params\":{\"evil\":\"ROOTS-EVIL\",\"_meta\":{\"x\":\"ROOTS-META\"}}}");
    /* A passed request the server never answers, then cancelled with a
     * reason and members of the client's own. */
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"prompts/list\"}");
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{"
                         "\"requestId\":3,\"reason\":\"CANCEL-REASON\",\"evil\":\"CANCEL-EVIL\","
                         "\"_meta\":{\"x\":\"CANCEL-META\"}}}");
    rec = record_after_ping(&s, 9);
    cr_expect(strstr(rec, GOT("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}")) !=
                  NULL,
              "notifications/initialized reaches the server without params: %s", rec);
    cr_expect(strstr(rec, GOT("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/roots/"
                              "list_changed\"}")) != NULL,
              "notifications/roots/list_changed reaches the server without params: %s", rec);
    cr_expect(strstr(rec, GOT("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
                              "\"params\":{\"requestId\":\"chio-2\"}}")) != NULL,
              "the cancellation carries the gateway's id alone: %s", rec);
    cr_expect(strstr(rec, "EVIL") == NULL, "a client's own member reached the server: %s", rec);
    cr_expect(strstr(rec, "META") == NULL, "a client's _meta reached the server: %s", rec);
    cr_expect(strstr(rec, "CANCEL-REASON") == NULL, "the free-text reason reached it: %s", rec);
    free(rec);
    mt_scripted_stop(&s, WAIT_MS);
}

Test(rev54_mcp_notif, a_client_progress_passes_only_for_an_open_server_request_rebuilt)
{
    mt_scripted s;
    char *rec;

    start(&s);
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
    /* Under a token no request of the server's carries: never sent. */
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{"
                         "\"progressToken\":\"x\",\"progress\":1,\"message\":"
                         "\"AKIAIOSFODNN7EXAMPLE\"}}");
    /* The server asks the client roots/list with the token "rt-1". */
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{"
                         "\"name\":\"ask\",\"arguments\":{}}}");
    cr_assert(mt_scripted_wait(&s, "\"id\":\"srv-roots-1\"", WAIT_MS), "%s", s.got);
    cr_assert(mt_scripted_wait(&s, "asked", WAIT_MS), "%s", s.got);
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{"
                         "\"progressToken\":\"rt-1\",\"progress\":1,\"total\":10,\"message\":"
                         "\"OPEN-MESSAGE\",\"evil\":\"OPEN-EVIL\",\"_meta\":{\"x\":1}}}");
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{"
                         "\"progressToken\":\"rt-1\",\"progress\":\"NOT-A-NUMBER\"}}");
    /* Answered: the request is no longer open, its token names nothing. */
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":\"srv-roots-1\",\"result\":{\"roots\":[]}}");
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{"
                         "\"progressToken\":\"rt-1\",\"progress\":2,\"message\":\"LATE\"}}");
    rec = record_after_ping(&s, 9);
    cr_expect(strstr(rec, GOT("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\","
                              "\"params\":{\"progressToken\":\"rt-1\",\"progress\":1,"
                              "\"total\":10}}")) != NULL,
              "the open request's progress passes, rebuilt: %s", rec);
    cr_expect(strstr(rec, "\"result\":{\"roots\":[]}") != NULL, "the answer passes: %s", rec);
    cr_expect(strstr(rec, "AKIA") == NULL, "progress under a token of no request passed: %s", rec);
    cr_expect(strstr(rec, "MESSAGE") == NULL && strstr(rec, "EVIL") == NULL, "%s", rec);
    cr_expect(strstr(rec, "NOT-A-NUMBER") == NULL, "a progress that is no number passed: %s", rec);
    cr_expect(strstr(rec, "\"progress\":2") == NULL, "progress after the answer passed: %s", rec);
    free(rec);
    mt_scripted_stop(&s, WAIT_MS);
}

Test(rev54_mcp_notif, a_second_initialize_is_refused_and_the_session_goes_on)
{
    mt_scripted s;
    char *rec, *p;

    start(&s);
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"initialize\",\"params\":{"
                         "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{"
                         "\"name\":\"SECOND-INIT\",\"version\":\"1\"}}}");
    cr_assert(mt_scripted_wait(&s, "\"id\":7", WAIT_MS), "%s", s.got);
    p = strstr(s.got, REFUSED);
    cr_assert_not_null(p, "a second initialize is an invalid request: %s", s.got);
    cr_expect(strstr(p, "initialize was already made") != NULL, "%s", p);
    cr_expect(strstr(p, "\"receipt_id\"") != NULL, "with a deny receipt: %s", p);
    /* The session still works. */
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/list\"}");
    cr_assert(mt_scripted_wait(&s, "\"name\":\"ask\"", WAIT_MS), "tools/list: %s", s.got);
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"tools/call\",\"params\":{"
                         "\"name\":\"echo\",\"arguments\":{}}}");
    cr_assert(mt_scripted_wait(&s, "echo done", WAIT_MS), "tools/call: %s", s.got);
    rec = record_after_ping(&s, 11);
    cr_expect(strstr(rec, "SECOND-INIT") == NULL, "the second initialize reached it: %s", rec);
    cr_expect(strstr(rec, "\"clientInfo\":{\"name\":\"rev54\"") != NULL, "%s", rec);
    cr_expect(strstr(rec, "\"method\":\"tools/list\"") != NULL, "%s", rec);
    cr_expect(strstr(rec, "\"name\":\"echo\"") != NULL, "%s", rec);
    free(rec);
    mt_scripted_stop(&s, WAIT_MS);
}
