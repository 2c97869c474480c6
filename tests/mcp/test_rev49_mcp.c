/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev49_mcp.c - review 49 of the MCP gateway's JSON-RPC
 * mediation (src/mcp/messages.c, checked.c, route.c), against the real
 * chio mcp serve (stdio) wrapping tests/mcp/rev49-server.mjs under node:
 *   - a client id the gateway could not write back as it came ("1e2",
 *     "1.0", "-0", an integer past 2^64 or below -2^63) was taken and
 *     answered under its canonical JSON (100, 1, 0, the nearest double:
 *     18446744073709551616 came back as 18446744073709552000), an answer
 *     the client matches to no request of its own, or to another one.
 *     Such an id is now refused -32600 (id null) and never sent on; the
 *     integers at the ends of the range still come back byte for byte;
 *   - every notifications/progress of the server reached the client,
 *     under any token: the server made up progress (its text included)
 *     for requests the client never sent. Only the progressToken of one
 *     of the client's own tools/call in flight passes now, and a token the
 *     gateway could not write back exactly is not sent to the server;
 *   - without guards the gateway alone decided resources/subscribe and
 *     completion/complete by a plain prefix match of the grant: under
 *     "file:///pub/" plus "*" it passed subscriptions to
 *     "file:///pub/..\..\etc/passwd", "file:///pub//etc/passwd" and
 *     "file:///pub/%252e%252e/etc/passwd" (reads the kernel denies under
 *     that grant) and a completion of "file:///pub/{name}" with the value
 *     "../../etc/passwd" (never checked at all). A URI that is not plain
 *     (or an expansion no grant covers) is now decided by the kernel.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/testutil.h"
#include "mcp/mcputil.h"

#define POLICY                                                                           \
    "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[{\"server_id\":" \
    "\"s\",\"tool_name\":\"spoof\",\"operations\":[\"invoke\"]}],\"resource_grants\":[{" \
    "\"uri_pattern\":\"file:///pub/*\",\"operations\":[\"read\"]}]}"
#define INIT                                                                           \
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"             \
    "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":" \
    "\"rev49\",\"version\":\"1\"}}}"
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

TestSuite(rev49_mcp, .init = setup, .fini = teardown);

typedef mt_scripted sp;

static void sp_start(sp *s)
{
    mt_scripted_start(s, dir, "tests/mcp/rev49-server.mjs", POLICY,
                      "0000000000000000000000000000000000000000000000000000000000000049");
}

/* How many times @needle occurs in @hay. */
static int occurs(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

Test(rev49_mcp, an_id_that_would_come_back_as_another_number_is_refused)
{
    static const char *const bad[] = {
        "1e2", "1.0", "-0", "18446744073709551616", "-9223372036854775809", "0.5"};
    char line[256], *rec;
    size_t i;
    sp s;

    sp_start(&s);
    mt_scripted_session(&s, INIT, WAIT_MS);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"ping\"}", bad[i]);
        mt_scripted_send(&s, line);
    }
    /* The ends of the range come back byte for byte. */
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":18446744073709551615,\"method\":\"ping\"}");
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":-9223372036854775808,\"method\":\"ping\"}");
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":\"last\",\"method\":\"ping\"}");
    cr_assert(mt_scripted_wait(&s, "\"id\":\"last\"}", WAIT_MS), "%s", s.got);
    cr_expect(strstr(s.got, "\"result\":{},\"id\":18446744073709551615}") != NULL, "%s", s.got);
    cr_expect(strstr(s.got, "\"result\":{},\"id\":-9223372036854775808}") != NULL, "%s", s.got);
    cr_expect_eq(occurs(s.got, "\"id\":null,\"error\":{\"code\":-32600"), 6,
                 "each id that cannot come back as written is refused: %s", s.got);
    cr_expect(strstr(s.got, "\"id\":100") == NULL, "1e2 answered as 100: %s", s.got);
    cr_expect(strstr(s.got, "\"id\":1}") == NULL, "1.0 answered as 1: %s", s.got);
    cr_expect(strstr(s.got, "\"id\":0.5") == NULL, "%s", s.got);
    cr_expect(strstr(s.got, "18446744073709552000") == NULL, "2^64 answered rounded: %s", s.got);
    cr_expect(strstr(s.got, "\"id\":-9223372036854775808}") != NULL &&
                  strstr(s.got, "9.223372036854776e+18") == NULL,
              "%s", s.got);
    /* Never sent on: the server got the 3 good pings only. */
    rec = mt_scripted_record(&s);
    cr_expect_eq(occurs(rec, "\"method\":\"ping\""), 3, "%s", rec);
    free(rec);
    mt_scripted_stop(&s, WAIT_MS);
}

Test(rev49_mcp, a_server_progress_under_a_token_the_client_never_sent_never_reaches_it)
{
    sp s;

    sp_start(&s);
    mt_scripted_session(&s, INIT, WAIT_MS);
    /* The server sends progress under "FORGED-TOKEN" and 4242, then under
     * the call's own token, then a marker, then its answer. */
    mt_scripted_send(&s,
                     "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":"
                     "\"spoof\",\"arguments\":{},\"_meta\":{\"progressToken\":\"mine\"}}}");
    cr_assert(mt_scripted_wait(&s, "spoof done", WAIT_MS), "the call is answered: %s", s.got);
    cr_expect(strstr(s.got, "\"marker\"") != NULL, "%s", s.got);
    cr_expect(strstr(s.got, "OWN-PROGRESS") != NULL, "the call's own progress passes: %s", s.got);
    cr_expect(strstr(s.got, "FORGED-STRING") == NULL, "progress under a made-up token: %s", s.got);
    cr_expect(strstr(s.got, "FORGED-NUMBER") == NULL, "progress under a made-up token: %s", s.got);
    /* A call without a token gets no progress at all. */
    mt_scripted_send(&s,
                     "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\"params\":{\"name\":"
                     "\"spoof\",\"arguments\":{}}}");
    cr_assert(mt_scripted_wait(&s, "\"id\":6,", WAIT_MS), "%s", s.got);
    cr_expect_eq(occurs(s.got, "notifications/progress"), 1, "%s", s.got);
    mt_scripted_stop(&s, WAIT_MS);
}

Test(rev49_mcp, a_progress_token_that_would_come_back_as_another_number_is_not_sent)
{
    char *rec;
    sp s;

    sp_start(&s);
    mt_scripted_session(&s, INIT, WAIT_MS);
    /* 1e2 would reach the server as 100 and its progress come back under
     * 100, a token the client never sent. */
    mt_scripted_send(&s,
                     "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":"
                     "\"spoof\",\"arguments\":{},\"_meta\":{\"progressToken\":1e2}}}");
    cr_assert(mt_scripted_wait(&s, "spoof done", WAIT_MS), "%s", s.got);
    cr_expect(strstr(s.got, "notifications/progress") == NULL, "%s", s.got);
    rec = mt_scripted_record(&s);
    cr_expect(strstr(rec, "\"name\":\"spoof\"") != NULL, "%s", rec);
    cr_expect(strstr(rec, "progressToken") == NULL, "%s", rec);
    free(rec);
    /* An integer token goes along and its progress comes back. */
    mt_scripted_send(&s,
                     "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\"params\":{\"name\":"
                     "\"spoof\",\"arguments\":{},\"_meta\":{\"progressToken\":77}}}");
    cr_assert(mt_scripted_wait(&s, "\"id\":6,", WAIT_MS), "%s", s.got);
    cr_expect(strstr(s.got, "\"progressToken\":77}") != NULL, "%s", s.got);
    cr_expect(strstr(s.got, "OWN-PROGRESS") != NULL, "%s", s.got);
    mt_scripted_stop(&s, WAIT_MS);
}

Test(rev49_mcp, a_subscription_or_completion_the_kernel_would_not_read_never_reaches_the_server)
{
    static const char *const bad[] = {
        "file:///pub/..\\\\..\\\\etc/passwd", "file:///pub//etc/passwd",
        "file:///pub/%252e%252e/etc/passwd", "file:///pub/\\t../etc/passwd"};
    char line[512], *rec;
    size_t i;
    sp s;

    sp_start(&s);
    mt_scripted_session(&s, INIT, WAIT_MS);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(line, sizeof(line),
                 "{\"jsonrpc\":\"2.0\",\"id\":%zu,\"method\":\"resources/subscribe\",\"params\":{"
                 "\"uri\":\"%s\"}}",
                 10 + i, bad[i]);
        mt_scripted_send(&s, line);
    }
    mt_scripted_send(
        &s, "{\"jsonrpc\":\"2.0\",\"id\":20,\"method\":\"completion/complete\",\"params\":{"
            "\"ref\":{\"type\":\"ref/resource\",\"uri\":\"file:///pub/{name}\"},\"argument\":{"
            "\"name\":\"name\",\"value\":\"../../etc/passwd\"}}}");
    /* Plain ones still pass without the kernel. */
    mt_scripted_send(
        &s, "{\"jsonrpc\":\"2.0\",\"id\":30,\"method\":\"resources/subscribe\",\"params\":{"
            "\"uri\":\"file:///pub/my%20file.txt\"}}");
    mt_scripted_send(
        &s, "{\"jsonrpc\":\"2.0\",\"id\":31,\"method\":\"completion/complete\",\"params\":{"
            "\"ref\":{\"type\":\"ref/resource\",\"uri\":\"file:///pub/{name}\"},\"argument\":{"
            "\"name\":\"name\",\"value\":\"ok\"}}}");
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":\"last\",\"method\":\"ping\"}");
    cr_assert(mt_scripted_wait(&s, "\"id\":\"last\"}", WAIT_MS), "%s", s.got);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(line, sizeof(line), "\"id\":%zu,\"error\":{\"code\":-32001", 10 + i);
        cr_expect(strstr(s.got, line) != NULL, "%s denied: %s", bad[i], s.got);
    }
    cr_expect(strstr(s.got, "\"id\":20,\"error\":{\"code\":-32001") != NULL, "%s", s.got);
    cr_expect_eq(occurs(s.got, "\"verdict\":\"deny\""), 5, "each with its receipt: %s", s.got);
    rec = mt_scripted_record(&s);
    cr_expect(strstr(rec, "etc") == NULL, "nothing of /etc reached the server: %s", rec);
    cr_expect(strstr(rec, "my%20file.txt") != NULL, "%s", rec);
    cr_expect(strstr(rec, "\"value\":\"ok\"") != NULL, "%s", rec);
    free(rec);
    mt_scripted_stop(&s, WAIT_MS);
}

/* ---- the second pass: legitimate traffic still passes -----------------------------------
 * Integer ids 0, negative and at the int64 ends, string ids (empty, "0",
 * non-ASCII) come back byte for byte; a tools/call's progress under a
 * token 0, negative, 2^53-1 (what a JavaScript server echoes exactly),
 * empty or non-ASCII string reaches the client; two calls in flight each
 * get their own; plain and percent-encoded subscriptions reach the
 * server. */

TestSuite(rev49_mcp2, .init = setup, .fini = teardown);

Test(rev49_mcp2, integer_ids_zero_negative_and_string_ids_come_back_as_written)
{
    static const char *const ids[] = {
        "0",      "-1",      "-9223372036854775807", "9223372036854775807", "\"\"", "\"0\"",
        "\"-0\"", "\"1e2\"", "\"t\\u00e9\""};
    char line[256], want[256];
    size_t i;
    sp s;

    sp_start(&s);
    mt_scripted_session(&s, INIT, WAIT_MS);
    for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"ping\"}", ids[i]);
        mt_scripted_send(&s, line);
    }
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":\"last\",\"method\":\"ping\"}");
    cr_assert(mt_scripted_wait(&s, "\"id\":\"last\"}", WAIT_MS), "%s", s.got);
    for (i = 0; i < sizeof(ids) / sizeof(ids[0]) - 1; i++) {
        snprintf(want, sizeof(want), "\"result\":{},\"id\":%s}", ids[i]);
        cr_expect(strstr(s.got, want) != NULL, "id %s answered as written: %s", ids[i], s.got);
    }
    cr_expect(strstr(s.got, "\"result\":{},\"id\":\"t\xc3\xa9\"}") != NULL, "%s", s.got);
    cr_expect(strstr(s.got, "-32600") == NULL, "%s", s.got);
    mt_scripted_stop(&s, WAIT_MS);
}

Test(rev49_mcp2, progress_under_tokens_zero_negative_empty_and_non_ascii_reaches_the_client)
{
    static const char *const toks[] = {"0", "-5", "\"\"", "\"t\\u00e9\\\"x\"", "9007199254740991"};
    static const char *const seen[] = {
        "\"progressToken\":0}}", "\"progressToken\":-5}}", "\"progressToken\":\"\"}}",
        "\"progressToken\":\"t\xc3\xa9\\\"x\"}}", "\"progressToken\":9007199254740991}}"};
    char line[512], want[64];
    size_t i;
    sp s;

    sp_start(&s);
    mt_scripted_session(&s, INIT, WAIT_MS);
    for (i = 0; i < sizeof(toks) / sizeof(toks[0]); i++) {
        snprintf(line, sizeof(line),
                 "{\"jsonrpc\":\"2.0\",\"id\":%zu,\"method\":\"tools/"
                 "call\",\"params\":{\"name\":"
                 "\"spoof\",\"arguments\":{},\"_meta\":{\"progressToken\":%s}}}",
                 40 + i, toks[i]);
        mt_scripted_send(&s, line);
        snprintf(want, sizeof(want), "\"id\":%zu,", 40 + i);
        cr_assert(mt_scripted_wait(&s, want, WAIT_MS), "%s", s.got);
        cr_expect(strstr(s.got, seen[i]) != NULL, "progress under %s: %s", toks[i], s.got);
    }
    cr_expect_eq(occurs(s.got, "OWN-PROGRESS"), 5, "%s", s.got);
    cr_expect(strstr(s.got, "FORGED") == NULL, "%s", s.got);
    mt_scripted_stop(&s, WAIT_MS);
}

Test(rev49_mcp2, plain_and_encoded_subscriptions_still_reach_the_server)
{
    char *rec;
    sp s;

    sp_start(&s);
    mt_scripted_session(&s, INIT, WAIT_MS);
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/"
                         "subscribe\",\"params\":{"
                         "\"uri\":\"file:///pub/a.txt\"}}");
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/"
                         "subscribe\",\"params\":{"
                         "\"uri\":\"file:///pub/dir/my%20file.txt\"}}");
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/"
                         "unsubscribe\",\"params\":{"
                         "\"uri\":\"file:///pub/dir/my%20file.txt\"}}");
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"completion/"
                         "complete\",\"params\":{"
                         "\"ref\":{\"type\":\"ref/resource\",\"uri\":\"file:///pub/"
                         "{name}\"},\"argument\":{"
                         "\"name\":\"name\",\"value\":\"\"}}}");
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":\"last\",\"method\":\"ping\"}");
    cr_assert(mt_scripted_wait(&s, "\"id\":\"last\"}", WAIT_MS), "%s", s.got);
    cr_expect(strstr(s.got, "-32001") == NULL, "%s", s.got);
    rec = mt_scripted_record(&s);
    cr_expect(strstr(rec, "\"uri\":\"file:///pub/a.txt\"") != NULL, "%s", rec);
    cr_expect_eq(occurs(rec, "my%20file.txt"), 2, "%s", rec);
    cr_expect(strstr(rec, "completion/complete") != NULL, "%s", rec);
    free(rec);
    mt_scripted_stop(&s, WAIT_MS);
}
