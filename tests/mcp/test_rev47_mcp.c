/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev47_mcp.c - review 47 of the MCP gateway, the server
 * to client direction: the real `chio mcp serve` over
 * tests/mcp/rev47-server.mjs, a server that answers initialize and then
 * never reads its input again. Before review 47 a send to such a server
 * blocked the thread that made it (the client's reader among them) once
 * the pipe was full, so the gateway read no more of its client, and
 * neither SIGTERM nor the end of the client's input ended it; a request
 * passed on whose send failed waited for an answer for good.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "mcputil.h"

#define POLICY                                                                   \
    "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[{"       \
    "\"server_id\":"                                                             \
    "\"s\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}],\"kernel\":{\"max_" \
    "stream_"                                                                    \
    "duration_secs\":2}}"
#define INIT                                                                  \
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"    \
    "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{" \
    "\"name\":"                                                               \
    "\"rev47\",\"version\":\"1\"}}}"
#define WAIT_MS 10000
/* Arguments of each big call: the pipe and the server's own buffer take
 * well under one of them. */
#define BIG_ARG ((size_t)1 << 20)

static char *dir;

static void setup(void)
{
    dir = testutil_tmpdir();
    signal(SIGPIPE, SIG_IGN);
}

/* The server of a test that failed before gw_free() (its gateway gone,
 * it would block for good): killed, when the pid is still that server. */
static void kill_left_server(void)
{
    char *rec = testutil_join(dir, "server.rec"), *text = testutil_read_file(rec, NULL), *p;
    char path[64], *cmd;
    pid_t pid = 0;

    if (text != NULL && (p = strstr(text, "pid ")) != NULL)
        pid = (pid_t)atoi(p + 4);
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    cmd = pid > 0 ? testutil_read_file(path, NULL) : NULL;
    /* cmdline's arguments are NUL-separated: the script is the second */
    if (cmd != NULL && strstr(cmd + strlen(cmd) + 1, "rev47-server.mjs") != NULL)
        kill(pid, SIGKILL);
    free(cmd);
    free(text);
    free(rec);
}

static void teardown(void)
{
    kill_left_server();
    testutil_rmrf(dir);
    free(dir);
}

TestSuite(rev47_mcp, .init = setup, .fini = teardown);

typedef struct gw {
    char *server, *seed, *pol, *db, *err, *rec;
    pid_t pid;
    int in, out;
    char *got;
    size_t len;
} gw;

/* 1 once the server's record holds @what (waited for up to @ms). */
static int recorded(const gw *g, const char *what, unsigned ms)
{
    uint64_t end = testutil_now_ms() + ms;

    for (;;) {
        char *text = testutil_read_file(g->rec, NULL);
        int hit = text != NULL && strstr(text, what) != NULL;
        free(text);
        if (hit || testutil_now_ms() >= end)
            return hit;
        testutil_nap_ms(10);
    }
}

/* `chio mcp serve` over rev47-server.mjs in @mode (NULL: the deaf
 * server), initialized. */
static void gw_start_mode(gw *g, const char *mode)
{
    memset(g, 0, sizeof(*g));
    g->server = testutil_repo_path("tests/mcp/rev47-server.mjs");
    g->seed = testutil_join(dir, "seed");
    g->pol = testutil_join(dir, "policy.json");
    g->db = testutil_join(dir, "db");
    g->err = testutil_join(dir, "gw.err");
    g->rec = testutil_join(dir, "server.rec");
    cr_assert_eq(
        testutil_write_file(
            g->seed, "0000000000000000000000000000000000000000000000000000000000000047", 64, 0600),
        0);
    cr_assert_eq(testutil_write_file(g->pol, POLICY, strlen(POLICY), 0600), 0);
    if (mode != NULL)
        setenv("CHIO_REV47_MODE", mode, 1); /* the gateway passes it to the server */
    else
        unsetenv("CHIO_REV47_MODE");
    mt_stdio_start(g->pol, g->db, g->seed, g->server, g->rec, g->err, &g->pid, &g->in, &g->out);
    g->got = calloc(1, 1);
    cr_assert_not_null(g->got);
    mt_stdio_send(g->in, INIT);
    cr_assert(mt_stdio_wait(g->out, &g->got, &g->len, "\"serverInfo\"", WAIT_MS),
              "initialize answered");
    if (mode == NULL)
        cr_assert(recorded(g, "deaf", WAIT_MS), "the server stopped reading");
}

static void gw_start(gw *g)
{
    gw_start_mode(g, NULL);
}

/* A tools/call of tool "big" (id @id) whose arguments hold BIG_ARG bytes. */
static void send_big_call(gw *g, int id)
{
    char head[160];
    char *line;
    size_t n;

    n = (size_t)snprintf(head, sizeof(head),
                         "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{"
                         "\"name\":\"big\",\"arguments\":{\"pad\":\"",
                         id);
    line = malloc(n + BIG_ARG + 8);
    cr_assert_not_null(line);
    memcpy(line, head, n);
    memset(line + n, 'x', BIG_ARG);
    memcpy(line + n + BIG_ARG, "\"}}}", 5);
    mt_stdio_send(g->in, line);
    free(line);
}

/* A tools/list (id @id) whose cursor holds BIG_ARG bytes: a passed request
 * the gateway sends with the client's cursor. */
static void send_big_list(gw *g, int id)
{
    char head[160];
    char *line;
    size_t n;

    n = (size_t)snprintf(head, sizeof(head),
                         "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/list\",\"params\":{"
                         "\"cursor\":\"",
                         id);
    line = malloc(n + BIG_ARG + 8);
    cr_assert_not_null(line);
    memcpy(line, head, n);
    memset(line + n, 'x', BIG_ARG);
    memcpy(line + n + BIG_ARG, "\"}}", 4);
    mt_stdio_send(g->in, line);
    free(line);
}

/* waitpid for up to @ms: the exit status, or -1 (then killed and reaped). */
static int wait_exit(pid_t pid, unsigned ms)
{
    uint64_t end = testutil_now_ms() + ms;
    int st;

    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (testutil_now_ms() >= end)
            break;
        testutil_nap_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

/* The server's pid, from its record. */
static pid_t server_pid(const gw *g)
{
    char *text = testutil_read_file(g->rec, NULL), *p;
    pid_t pid = 0;

    if (text != NULL && (p = strstr(text, "pid ")) != NULL)
        pid = (pid_t)atoi(p + 4);
    free(text);
    return pid;
}

static void gw_free(gw *g)
{
    if (g->in >= 0)
        close(g->in);
    close(g->out);
    free(g->got);
    free(g->server);
    free(g->seed);
    free(g->pol);
    free(g->db);
    free(g->err);
    free(g->rec);
}

/* Calls whose sends fill the pipe, then (once they are stuck) a ping
 * behind them: before review 47 the gateway's reader of the client
 * blocked on the pipe for good. */
static void stall(gw *g)
{
    send_big_call(g, 1);
    send_big_call(g, 2);
    testutil_nap_ms(500);
    mt_stdio_send(g->in, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}");
    testutil_nap_ms(300);
}

Test(rev47_mcp, sigterm_ends_a_gateway_whose_server_stopped_reading)
{
    gw g;
    int rc;

    gw_start(&g);
    stall(&g);
    kill(g.pid, SIGTERM);
    rc = wait_exit(g.pid, WAIT_MS);
    cr_expect_eq(rc, 0, "chio mcp serve exits 0 within 10 s of SIGTERM (got %d)", rc);
    if (rc == 0) {
        /* The calls were cancelled by the signal, each with its receipt
         * (and, as for any cancelled call, no answer); the ping failed. */
        cr_expect(mt_stdio_wait(g.out, &g.got, &g.len, "\"id\":3,", 2000), "the ping answered");
        cr_expect_eq(mt_stored(g.db, "\"tool_name\":\"big\"", "cancelled"), 2,
                     "one receipt per call");
        cr_expect_eq(kill(server_pid(&g), 0), -1, "the server was stopped");
    }
    gw_free(&g);
}

Test(rev47_mcp, the_end_of_input_ends_a_gateway_whose_server_stopped_reading)
{
    gw g;
    int rc;

    gw_start(&g);
    stall(&g);
    close(g.in);
    g.in = -1;
    /* max_stream_duration_secs 2: the calls get 2 s, then the server is
     * stopped and they fail, each answered with its receipt. */
    rc = wait_exit(g.pid, WAIT_MS);
    cr_expect_eq(rc, 0, "chio mcp serve exits 0 within 10 s of the end of its input (got %d)", rc);
    if (rc == 0) {
        cr_expect(mt_stdio_wait(g.out, &g.got, &g.len, "\"id\":3,", 2000), "the ping answered");
        cr_expect_neq(strstr(g.got, "\"id\":1,"), NULL, "call 1 answered");
        cr_expect_neq(strstr(g.got, "\"id\":2,"), NULL, "call 2 answered");
        cr_expect_eq(mt_stored(g.db, "\"tool_name\":\"big\"", "did not answer in time"), 2,
                     "one receipt per call");
        cr_expect_eq(kill(server_pid(&g), 0), -1, "the server was stopped");
    }
    gw_free(&g);
}

Test(rev47_mcp, a_request_past_what_a_stalled_server_has_queued_is_refused_at_once_with_a_receipt)
{
    gw g;
    char *err = NULL;
    int i, rc;

    gw_start(&g);
    /* Nine calls queue more than the 8 MiB bound: the calls past it fail
     * at once (the kernel's receipt, tool_error), and while the queue is
     * full a passed request fails at once too, with its receipt. */
    for (i = 1; i <= 10; i++)
        send_big_call(&g, i);
    cr_assert(mt_stdio_wait(g.out, &g.got, &g.len, "could not send the request", WAIT_MS),
              "a call past the bound fails at once");
    send_big_list(&g, 99);
    cr_expect(
        mt_stdio_wait(g.out, &g.got, &g.len, "could not be sent to the wrapped MCP server", 5000),
        "the list is answered at once");
    cr_expect_neq(strstr(g.got, "\"id\":99,"), NULL, "the list's answer");
    /* The process is still responsive: the client's input ends it. */
    close(g.in);
    g.in = -1;
    rc = wait_exit(g.pid, WAIT_MS);
    cr_expect_eq(rc, 0, "exit %d: %s", rc, (err = testutil_read_file(g.err, NULL)) ? err : "");
    free(err);
    cr_expect_eq(mt_stored(g.db, "\"tool_name\":\"tools/list\"", "limit_reached"), 1,
                 "the list's refusal has its receipt");
    cr_expect_eq(mt_stored(g.db, "\"tool_name\":\"big\"", NULL), 10, "one receipt per call");
    gw_free(&g);
}

Test(rev47_mcp, sigterm_ends_a_gateway_whose_client_stopped_reading)
{
    char *server = testutil_repo_path("tests/mcp/rev46-server.mjs");
    char *seed = testutil_join(dir, "seed"), *pol = testutil_join(dir, "policy.json");
    char *db = testutil_join(dir, "db"), *err = testutil_join(dir, "gw.err");
    char *rec = testutil_join(dir, "rev46.rec"), *pad = malloc(2048), line[2200];
    pid_t pid;
    int in, out, i, rc;

    cr_assert_not_null(pad);
    memset(pad, 'y', 2000);
    pad[2000] = '\0';
    cr_assert_eq(
        testutil_write_file(
            seed, "0000000000000000000000000000000000000000000000000000000000000047", 64, 0600),
        0);
    cr_assert_eq(testutil_write_file(pol, POLICY, strlen(POLICY), 0600), 0);
    mt_stdio_start(pol, db, seed, server, rec, err, &pid, &in, &out);
    /* Answers of some 800 KB the client never reads: the gateway's pipe
     * to it fills, and the thread writing the answers blocks on it. */
    mt_stdio_send(in, INIT);
    for (i = 1; i <= 400; i++) {
        snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"id\":\"%s-%d\",\"method\":\"ping\"}",
                 pad, i);
        mt_stdio_send(in, line);
    }
    testutil_nap_ms(2000);
    kill(pid, SIGTERM);
    rc = wait_exit(pid, WAIT_MS);
    cr_expect_eq(rc, 0, "chio mcp serve exits 0 within 10 s of SIGTERM (got %d)", rc);
    close(in);
    close(out);
    free(server);
    free(seed);
    free(pol);
    free(db);
    free(err);
    free(rec);
    free(pad);
}

Test(rev47_mcp, a_server_notification_mcp_does_not_define_never_reaches_the_client)
{
    gw g;

    gw_start(&g);
    /* The server sent it before tools/list_changed, which passes. */
    cr_expect(mt_stdio_wait(g.out, &g.got, &g.len, "notifications/tools/list_changed", WAIT_MS),
              "a notification MCP defines passes");
    cr_expect_eq(strstr(g.got, "rev47-not-passed"), NULL, "%s", g.got);
    close(g.in);
    g.in = -1;
    cr_expect_eq(wait_exit(g.pid, WAIT_MS), 0);
    {
        char *err = testutil_read_file(g.err, NULL);
        cr_expect(err != NULL && strstr(err, "dropped the server notification "
                                             "notifications/x/exfil") != NULL,
                  "stderr names it: %s", err ? err : "");
        free(err);
    }
    gw_free(&g);
}

Test(rev47_mcp, an_answer_the_gateway_cannot_read_fails_the_call_it_names_with_a_receipt)
{
    gw g;

    gw_start_mode(&g, "surrogate");
    /* The server's answer holds "\ud83d" alone; before review 47 it was
     * dropped and the call waited for good. */
    mt_stdio_send(g.in, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{"
                        "\"name\":\"cut\",\"arguments\":{}}}");
    cr_expect(mt_stdio_wait(g.out, &g.got, &g.len, "\"id\":7,", 5000), "the call is answered");
    cr_expect_neq(strstr(g.got, "the wrapped MCP server's answer is not JSON-RPC"), NULL, "%s",
                  g.got);
    close(g.in);
    g.in = -1;
    cr_expect_eq(wait_exit(g.pid, WAIT_MS), 0);
    cr_expect_eq(mt_stored(g.db, "\"tool_name\":\"cut\"", "tool_error"), 1, "the call's receipt");
    gw_free(&g);
}

/* A server whose answers put "result" before "id", as the MCP TypeScript
 * SDK writes them ({result, jsonrpc, id}): a "slow" call is answered half
 * a second late; a "cut" call at once, with a text cut inside an emoji (no
 * JSON the gateway reads) and a structuredContent that holds {"id": <the
 * slow call's id>}. */
#define CUT_SERVER                                                                            \
    "let buf = '', slow = null;\n"                                                            \
    "const send = (m) => process.stdout.write(JSON.stringify(m) + '\\n');\n"                  \
    "function handle(m) {\n"                                                                  \
    "  if (m.method === 'initialize') return send({ result: { protocolVersion: "              \
    "m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'cut', "      \
    "version: '1' } }, jsonrpc: '2.0', id: m.id });\n"                                        \
    "  if (m.method !== 'tools/call') return;\n"                                              \
    "  if (m.params.name === 'slow') { slow = m.id; return; }\n"                              \
    "  send({ result: { content: [{ type: 'text', text: '\\u{1F600}'.slice(0, 1) }], "        \
    "structuredContent: { id: slow } }, jsonrpc: '2.0', id: m.id });\n"                       \
    "  const s = slow;\n"                                                                     \
    "  setTimeout(() => send({ result: { content: [{ type: 'text', text: 'slow-done' }] }, "  \
    "jsonrpc: '2.0', id: s }), 500);\n"                                                       \
    "}\n"                                                                                     \
    "process.stdin.setEncoding('utf8');\n"                                                    \
    "process.stdin.on('data', (d) => {\n"                                                     \
    "  buf += d;\n"                                                                           \
    "  let i;\n"                                                                              \
    "  while ((i = buf.indexOf('\\n')) >= 0) { const l = buf.slice(0, i); buf = buf.slice(i " \
    "+ 1); if (l.trim() !== '') handle(JSON.parse(l)); }\n"                                   \
    "});\n"

/* The id an unreadable answer names is its own top-level "id", not the
 * first "id" key in the line: before the fix the gateway failed the other
 * call named inside the result (its real answer then dropped) and the call
 * the line answered waited for good. */
Test(rev47_mcp, an_unreadable_answer_fails_the_call_of_its_top_level_id_only)
{
    gw g;
    char *srv = testutil_join(dir, "cut-server.mjs");

    cr_assert_eq(testutil_write_file(srv, CUT_SERVER, strlen(CUT_SERVER), 0600), 0);
    memset(&g, 0, sizeof(g));
    g.seed = testutil_join(dir, "seed");
    g.pol = testutil_join(dir, "policy.json");
    g.db = testutil_join(dir, "db");
    g.err = testutil_join(dir, "gw.err");
    g.rec = testutil_join(dir, "server.rec");
    cr_assert_eq(
        testutil_write_file(
            g.seed, "0000000000000000000000000000000000000000000000000000000000000047", 64, 0600),
        0);
    cr_assert_eq(testutil_write_file(g.pol, POLICY, strlen(POLICY), 0600), 0);
    mt_stdio_start(g.pol, g.db, g.seed, srv, g.rec, g.err, &g.pid, &g.in, &g.out);
    g.got = calloc(1, 1);
    cr_assert_not_null(g.got);
    mt_stdio_send(g.in, INIT);
    cr_assert(mt_stdio_wait(g.out, &g.got, &g.len, "\"serverInfo\"", WAIT_MS),
              "initialize answered");
    mt_stdio_send(g.in, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
                        "\"name\":\"slow\",\"arguments\":{}}}");
    testutil_nap_ms(300);
    mt_stdio_send(g.in, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{"
                        "\"name\":\"cut\",\"arguments\":{}}}");
    cr_expect(mt_stdio_wait(g.out, &g.got, &g.len, "\"id\":2,", 5000), "the cut call is answered");
    cr_expect(mt_stdio_wait(g.out, &g.got, &g.len, "slow-done", 5000),
              "the slow call gets its own answer: %s", g.got);
    close(g.in);
    g.in = -1;
    cr_expect_eq(wait_exit(g.pid, WAIT_MS), 0);
    cr_expect_eq(mt_stored(g.db, "\"tool_name\":\"cut\"", "tool_error"), 1,
                 "the cut call's receipt");
    cr_expect_eq(mt_stored(g.db, "\"tool_name\":\"slow\"", NULL), 1, "the slow call's receipt");
    free(srv);
    gw_free(&g);
}

/* A server that answers initialize, reads notifications/initialized, then
 * closes its input and stays (its output open). */
#define SHUT_SERVER                                                                             \
    "import fs from 'node:fs';\n"                                                               \
    "let buf = '';\n"                                                                           \
    "const b = Buffer.alloc(65536);\n"                                                          \
    "function line() {\n"                                                                       \
    "  for (;;) {\n"                                                                            \
    "    const i = buf.indexOf('\\n');\n"                                                       \
    "    if (i >= 0) { const l = buf.slice(0, i); buf = buf.slice(i + 1); return l; }\n"        \
    "    const n = fs.readSync(0, b, 0, b.length, null);\n"                                     \
    "    if (n === 0) return null;\n"                                                           \
    "    buf += b.toString('utf8', 0, n);\n"                                                    \
    "  }\n"                                                                                     \
    "}\n"                                                                                       \
    "const init = JSON.parse(line());\n"                                                        \
    "fs.writeSync(1, JSON.stringify({ jsonrpc: '2.0', id: init.id, result: { protocolVersion: " \
    "init.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'shut', "    \
    "version: '1' } } }) + '\\n');\n"                                                           \
    "line();\n"                                                                                 \
    "fs.closeSync(0);\n"                                                                        \
    "if (process.env.CHIO_RECORD) fs.appendFileSync(process.env.CHIO_RECORD, 'shut\\n');\n"     \
    "setTimeout(() => {}, 60000);\n"

/* A call whose line the sender could not write (the server closed its
 * input, the pipe broke after the send had queued it) is answered at once
 * with its receipt: before the fix the line was dropped with the send
 * already reported done, and the call waited for an answer for good
 * (before the queue the write itself failed, EPIPE, and the call did). */
Test(rev47_mcp, a_call_whose_queued_line_the_server_never_got_is_answered_with_a_receipt)
{
    gw g;
    char *srv = testutil_join(dir, "shut-server.mjs");

    cr_assert_eq(testutil_write_file(srv, SHUT_SERVER, strlen(SHUT_SERVER), 0600), 0);
    memset(&g, 0, sizeof(g));
    g.seed = testutil_join(dir, "seed");
    g.pol = testutil_join(dir, "policy.json");
    g.db = testutil_join(dir, "db");
    g.err = testutil_join(dir, "gw.err");
    g.rec = testutil_join(dir, "server.rec");
    cr_assert_eq(
        testutil_write_file(
            g.seed, "0000000000000000000000000000000000000000000000000000000000000047", 64, 0600),
        0);
    cr_assert_eq(testutil_write_file(g.pol, POLICY, strlen(POLICY), 0600), 0);
    mt_stdio_start(g.pol, g.db, g.seed, srv, g.rec, g.err, &g.pid, &g.in, &g.out);
    g.got = calloc(1, 1);
    cr_assert_not_null(g.got);
    mt_stdio_send(g.in, INIT);
    cr_assert(mt_stdio_wait(g.out, &g.got, &g.len, "\"serverInfo\"", WAIT_MS),
              "initialize answered");
    mt_stdio_send(g.in, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
    cr_assert(recorded(&g, "shut", WAIT_MS), "the server closed its input");
    mt_stdio_send(g.in, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{"
                        "\"name\":\"lost\",\"arguments\":{}}}");
    cr_expect(mt_stdio_wait(g.out, &g.got, &g.len, "\"id\":5,", 5000), "the call is answered: %s",
              g.got);
    close(g.in);
    g.in = -1;
    cr_expect_eq(wait_exit(g.pid, WAIT_MS), 0);
    cr_expect_eq(mt_stored(g.db, "\"tool_name\":\"lost\"", NULL), 1, "the call's receipt");
    free(srv);
    gw_free(&g);
}
