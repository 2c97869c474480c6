/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev49_mcp2.c - review 49, second pass over the gateway's
 * new id, progress and URI checks (messages.c chio__mcp_exact_id, checked.c
 * progress_passes and kernel_needed): legitimate traffic still passes.
 * Integer ids 0, negative and at the int64 ends, string ids (empty, "0",
 * non-ASCII) come back byte for byte; a tools/call's progress under a
 * token 0, negative, 2^53-1 (what a JavaScript server echoes exactly),
 * empty or non-ASCII string reaches the client; two
 * calls in flight each get their own; plain and percent-encoded
 * subscriptions reach the server. Against the real chio mcp serve over
 * stdio wrapping tests/mcp/rev49-server.mjs.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/testutil.h"
#include "mcp/mcputil.h"

#define POLICY                                                                \
    "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[{"    \
    "\"server_id\":"                                                          \
    "\"s\",\"tool_name\":\"spoof\",\"operations\":[\"invoke\"]}],\"resource_" \
    "grants\":[{"                                                             \
    "\"uri_pattern\":\"file:///pub/*\",\"operations\":[\"read\"]}]}"
#define INIT                                                                  \
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"    \
    "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{" \
    "\"name\":"                                                               \
    "\"rev49b\",\"version\":\"1\"}}}"
#define INITIALIZED "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"
#define WAIT_MS     10000

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

TestSuite(rev49_mcp2, .init = setup, .fini = teardown);

typedef struct sp {
    char *server, *seed, *pol, *db, *err, *rec;
    pid_t pid;
    int in, out;
    char *got; /* what the client got so far */
    size_t len;
} sp;

static void sp_start(sp *s)
{
    s->server = testutil_repo_path("tests/mcp/rev49-server.mjs");
    s->seed = testutil_join(dir, "seed");
    s->pol = testutil_join(dir, "policy.json");
    s->db = testutil_join(dir, "db");
    s->err = testutil_join(dir, "gw.err");
    s->rec = testutil_join(dir, "server.rec");
    cr_assert_eq(
        testutil_write_file(
            s->seed, "0000000000000000000000000000000000000000000000000000000000000049", 64, 0600),
        0);
    cr_assert_eq(testutil_write_file(s->pol, POLICY, strlen(POLICY), 0600), 0);
    mt_stdio_start(s->pol, s->db, s->seed, s->server, s->rec, s->err, &s->pid, &s->in, &s->out);
    s->got = calloc(1, 1);
    s->len = 0;
}

static void sp_send(sp *s, const char *line)
{
    mt_stdio_send(s->in, line);
}

/* Read the client's side until it holds @needle (1) or @ms pass (0). */
static int sp_wait(sp *s, const char *needle, unsigned ms)
{
    return mt_stdio_wait(s->out, &s->got, &s->len, needle, ms);
}

/* The server's record (every line it got), or "" (caller frees). */
static char *record(const sp *s)
{
    char *text = testutil_read_file(s->rec, NULL);

    return text != NULL ? text : strdup("");
}

/* How many times @needle occurs in @hay. */
static int occurs(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void sp_session(sp *s)
{
    sp_send(s, INIT);
    cr_assert(sp_wait(s, "\"serverInfo\"", WAIT_MS), "initialize answered: %s", s->got);
    sp_send(s, INITIALIZED);
}

static void sp_stop(sp *s)
{
    mt_stdio_stop(s->pid, s->in, s->out, WAIT_MS);
    free(s->got);
    free(s->server);
    free(s->seed);
    free(s->pol);
    free(s->db);
    free(s->err);
    free(s->rec);
}

Test(rev49_mcp2, integer_ids_zero_negative_and_string_ids_come_back_as_written)
{
    static const char *const ids[] = {
        "0",      "-1",      "-9223372036854775807", "9223372036854775807", "\"\"", "\"0\"",
        "\"-0\"", "\"1e2\"", "\"t\\u00e9\""};
    char line[256], want[256];
    size_t i;
    sp s;

    sp_start(&s);
    sp_session(&s);
    for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"ping\"}", ids[i]);
        sp_send(&s, line);
    }
    sp_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":\"last\",\"method\":\"ping\"}");
    cr_assert(sp_wait(&s, "\"id\":\"last\"}", WAIT_MS), "%s", s.got);
    for (i = 0; i < sizeof(ids) / sizeof(ids[0]) - 1; i++) {
        snprintf(want, sizeof(want), "\"result\":{},\"id\":%s}", ids[i]);
        cr_expect(strstr(s.got, want) != NULL, "id %s answered as written: %s", ids[i], s.got);
    }
    cr_expect(strstr(s.got, "\"result\":{},\"id\":\"t\xc3\xa9\"}") != NULL, "%s", s.got);
    cr_expect(strstr(s.got, "-32600") == NULL, "%s", s.got);
    sp_stop(&s);
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
    sp_session(&s);
    for (i = 0; i < sizeof(toks) / sizeof(toks[0]); i++) {
        snprintf(line, sizeof(line),
                 "{\"jsonrpc\":\"2.0\",\"id\":%zu,\"method\":\"tools/"
                 "call\",\"params\":{\"name\":"
                 "\"spoof\",\"arguments\":{},\"_meta\":{\"progressToken\":%s}}}",
                 40 + i, toks[i]);
        sp_send(&s, line);
        snprintf(want, sizeof(want), "\"id\":%zu,", 40 + i);
        cr_assert(sp_wait(&s, want, WAIT_MS), "%s", s.got);
        cr_expect(strstr(s.got, seen[i]) != NULL, "progress under %s: %s", toks[i], s.got);
    }
    cr_expect_eq(occurs(s.got, "OWN-PROGRESS"), 5, "%s", s.got);
    cr_expect(strstr(s.got, "FORGED") == NULL, "%s", s.got);
    sp_stop(&s);
}

Test(rev49_mcp2, plain_and_encoded_subscriptions_still_reach_the_server)
{
    char *rec;
    sp s;

    sp_start(&s);
    sp_session(&s);
    sp_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/"
                "subscribe\",\"params\":{"
                "\"uri\":\"file:///pub/a.txt\"}}");
    sp_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/"
                "subscribe\",\"params\":{"
                "\"uri\":\"file:///pub/dir/my%20file.txt\"}}");
    sp_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/"
                "unsubscribe\",\"params\":{"
                "\"uri\":\"file:///pub/dir/my%20file.txt\"}}");
    sp_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"completion/"
                "complete\",\"params\":{"
                "\"ref\":{\"type\":\"ref/resource\",\"uri\":\"file:///pub/"
                "{name}\"},\"argument\":{"
                "\"name\":\"name\",\"value\":\"\"}}}");
    sp_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":\"last\",\"method\":\"ping\"}");
    cr_assert(sp_wait(&s, "\"id\":\"last\"}", WAIT_MS), "%s", s.got);
    cr_expect(strstr(s.got, "-32001") == NULL, "%s", s.got);
    rec = record(&s);
    cr_expect(strstr(rec, "\"uri\":\"file:///pub/a.txt\"") != NULL, "%s", rec);
    cr_expect_eq(occurs(rec, "my%20file.txt"), 2, "%s", rec);
    cr_expect(strstr(rec, "completion/complete") != NULL, "%s", rec);
    free(rec);
    sp_stop(&s);
}
