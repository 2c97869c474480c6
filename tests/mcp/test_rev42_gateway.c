/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev42_gateway.c - review 42 of the MCP gateway (src/mcp/),
 * against the real build/chio wrapping tests/mcp/rev42-server.mjs under
 * node (stdio: over pipes; serve-http: raw HTTP/1.1 on loopback sockets):
 *   - serve-http: once the POST of a call lost its client, a request
 *     reusing the call's id was let in (no stream held the id any more),
 *     and the old call's late answer, routed by id, became the new POST's
 *     answer. The id is now refused 409 until the gateway is done with the
 *     call, and a late answer whose POST left is dropped;
 *   - serve-http: an initialize whose client left before its answer (the
 *     only place the session's id is given) kept a --max-sessions slot and
 *     a server process for --session-idle-secs (1 h). That session now
 *     ends, JSON or SSE;
 *   - a server line longer than 64 MiB was dropped, and the call it
 *     answered waited for good (no answer, no receipt), so `chio mcp serve`
 *     never exited after the client's EOF. The server is now taken for
 *     gone: its calls fail with an error answer and a receipt, and it is
 *     stopped;
 *   - after the client's EOF `chio mcp serve` waited without a bound for
 *     calls a server never answers. It now stops the server after
 *     kernel.max_stream_duration_secs, which fails those calls.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "mcphttp.h"
#include "mcputil.h"

#define POLICY_FMT                                                                       \
    "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[{\"server_id\":" \
    "\"s\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}],\"kernel\":{\"max_stream_"  \
    "duration_secs\":%u}}"
#define INIT                                                                           \
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"             \
    "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":" \
    "\"rev42\",\"version\":\"1\"}}}"
#define INIT_LATE                                                                      \
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"             \
    "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":" \
    "\"late\",\"version\":\"1\"}}}"
#define INITIALIZED "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"
#define CALL(id, tool, args)                                                                    \
    "{\"jsonrpc\":\"2.0\",\"id\":" id ",\"method\":\"tools/call\",\"params\":{\"name\":\"" tool \
    "\",\"arguments\":" args "}}"
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

TestSuite(rev42_gateway, .init = setup, .fini = teardown);

/* The server script, the seed and the policy (with @stream_secs as
 * kernel.max_stream_duration_secs) written to the test's directory. */
typedef struct setup_files {
    char *server, *seed, *pol, *db, *err, *rec;
} setup_files;

static void files_make(setup_files *f, unsigned stream_secs)
{
    char pol[512];

    f->server = testutil_repo_path("tests/mcp/rev42-server.mjs");
    f->seed = testutil_join(dir, "seed");
    f->pol = testutil_join(dir, "policy.json");
    f->db = testutil_join(dir, "db");
    f->err = testutil_join(dir, "gw.err");
    f->rec = testutil_join(dir, "server.rec");
    cr_assert_eq(
        testutil_write_file(
            f->seed, "0000000000000000000000000000000000000000000000000000000000000042", 64, 0600),
        0);
    snprintf(pol, sizeof(pol), POLICY_FMT, stream_secs);
    cr_assert_eq(testutil_write_file(f->pol, pol, strlen(pol), 0600), 0);
}

static void files_free(setup_files *f)
{
    free(f->server);
    free(f->seed);
    free(f->pol);
    free(f->db);
    free(f->err);
    free(f->rec);
}

/* 1 once the server's record holds @what. */
static int recorded(const setup_files *f, const char *what)
{
    char *text = testutil_read_file(f->rec, NULL);
    int hit = text != NULL && strstr(text, what) != NULL;

    free(text);
    return hit;
}

static int wait_recorded(const setup_files *f, const char *what, unsigned ms)
{
    uint64_t end = testutil_now_ms() + ms;

    while (!recorded(f, what) && testutil_now_ms() < end)
        testutil_nap_ms(10);
    return recorded(f, what);
}

/* waitpid for up to @ms: the exit status, or -1 (the process is then
 * killed and reaped). */
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

/* ---- serve-http -------------------------------------------------------------------------- */

typedef struct gw {
    setup_files f;
    pid_t pid;
    unsigned port;
    char sid[33];
} gw;

static void gw_start(gw *g, const char *max_sessions)
{
    files_make(&g->f, 300);
    g->pid = mh_start((const char *const[]){"mcp", "serve-http", "--policy", g->f.pol,
                                            "--receipt-db", g->f.db, "--seed-file", g->f.seed,
                                            "--listen", "127.0.0.1:0", "--max-sessions",
                                            max_sessions, "--", "node", g->f.server, NULL},
                      g->f.err, g->f.rec, WAIT_MS, &g->port);
}

static void gw_stop(gw *g)
{
    kill(g->pid, SIGTERM);
    cr_expect_eq(wait_exit(g->pid, WAIT_MS), 0, "serve-http exits 0 after SIGTERM");
}

/* The whole answer of a JSON-mode POST. */
static char *post(const gw *g, const char *extra, const char *body)
{
    return mh_post(g->port, extra, body, WAIT_MS);
}

static void gw_session(gw *g)
{
    mh_session(g->port, INIT, g->sid, WAIT_MS);
}

Test(rev42_gateway, an_id_stays_in_flight_after_its_client_left_and_its_late_answer_is_dropped)
{
    static const char slow[] = CALL("1", "slow", "{\"ms\":3500}");
    static const char echo[] = CALL("1", "echo", "{\"text\":\"B\"}");
    uint64_t end;
    char *got = NULL;
    int fd, refused = 0;
    gw g;

    gw_start(&g, "4");
    gw_session(&g);
    /* A call answered in 3.5 s, JSON only; its client leaves once the
     * server has it. The gateway sees the client gone within a second. */
    fd = mh_post_send(g.port, mh_sid_header(g.sid), "application/json", slow);
    cr_assert(wait_recorded(&g.f, "got slow", WAIT_MS), "the server got the slow call");
    close(fd);
    /* Until the server answers, the id is in flight: every request reusing
     * it is refused 409, also after the first POST's stream is gone (it
     * was let in then, and got the slow call's answer). */
    while (!recorded(&g.f, "answered slow")) {
        got = post(&g, mh_sid_header(g.sid), echo);
        if (recorded(&g.f, "answered slow")) {
            free(got);
            break; /* sent across the answer: either outcome is right */
        }
        cr_assert_not_null(strstr(got, "HTTP/1.1 409"), "request %d reusing id 1: %s", refused,
                           got);
        cr_assert_not_null(strstr(got, "still in flight"), "%s", got);
        cr_assert_null(strstr(got, "slow done"), "%s", got);
        free(got);
        refused++;
        testutil_nap_ms(100);
    }
    cr_expect_geq(refused, 5, "requests refused while the slow call ran: %d", refused);
    /* Once the gateway is done with it (its late answer dropped), the id
     * is free, and a request under it gets its own answer. */
    for (end = testutil_now_ms() + WAIT_MS;;) {
        got = post(&g, mh_sid_header(g.sid), echo);
        if (strstr(got, "HTTP/1.1 409") == NULL || testutil_now_ms() >= end)
            break;
        free(got);
        testutil_nap_ms(20);
    }
    cr_expect_not_null(strstr(got, "HTTP/1.1 200"), "%s", got);
    cr_expect_not_null(strstr(got, "echo: B"), "its own answer: %s", got);
    cr_expect_null(strstr(got, "slow done"), "not the slow call's: %s", got);
    free(got);
    gw_stop(&g);
    /* The slow call ran to its end with its receipt. */
    cr_expect_eq(mt_stored(g.f.db, "\"tool_name\":\"slow\"", "\"verdict\":\"allow\""), 1);
    files_free(&g.f);
}

/* Open a session with an initialize whose client leaves at once, then
 * poll, with a well-formed initialize, until the only slot is free. */
static void undelivered_frees_its_slot(const char *accept)
{
    uint64_t end;
    char *got, *err;
    int fd;
    gw g;

    gw_start(&g, "1");
    /* A client the server answers a second late: it leaves once the
     * server has its initialize (the session and its server exist). */
    fd = mh_post_send(g.port, "", accept, INIT_LATE);
    cr_assert(wait_recorded(&g.f, "got initialize", WAIT_MS), "the server got the initialize");
    close(fd);
    /* Its session ends (its slot and server go): a new initialize gets
     * the slot. Before, it got 503 for --session-idle-secs (1 h). */
    for (end = testutil_now_ms() + WAIT_MS;;) {
        got = post(&g, "", INIT);
        if (strstr(got, "HTTP/1.1 503") == NULL || testutil_now_ms() >= end)
            break;
        free(got);
        testutil_nap_ms(50);
    }
    cr_expect_not_null(strstr(got, "HTTP/1.1 200"), "the slot is free again: %s", got);
    cr_expect_not_null(strstr(got, "Mcp-Session-Id: "), "%s", got);
    /* The delivered session is kept and serves. */
    if (strstr(got, "Mcp-Session-Id: ") != NULL) {
        memcpy(g.sid, strstr(got, "Mcp-Session-Id: ") + strlen("Mcp-Session-Id: "), 32);
        g.sid[32] = '\0';
        free(got);
        got = post(&g, mh_sid_header(g.sid), "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}");
        cr_expect_not_null(strstr(got, "HTTP/1.1 200"), "%s", got);
        cr_expect_not_null(strstr(got, "\"id\":3"), "%s", got);
    }
    free(got);
    err = testutil_read_file(g.f.err, NULL);
    cr_expect_not_null(strstr(err, "left before the answer naming it was sent"), "%s", err);
    free(err);
    gw_stop(&g);
    files_free(&g.f);
}

Test(rev42_gateway, an_initialize_whose_client_left_ends_its_session_json)
{
    undelivered_frees_its_slot("application/json");
}

Test(rev42_gateway, an_initialize_whose_client_left_ends_its_session_sse)
{
    undelivered_frees_its_slot("application/json, text/event-stream");
}

/* ---- stdio -------------------------------------------------------------------------------- */

typedef struct sp {
    setup_files f;
    pid_t pid;
    int in, out;
    char *got; /* what the client got so far */
    size_t len;
} sp;

static void sp_start(sp *s, unsigned stream_secs)
{
    files_make(&s->f, stream_secs);
    mt_stdio_start(s->f.pol, s->f.db, s->f.seed, s->f.server, s->f.rec, s->f.err, &s->pid, &s->in,
                   &s->out);
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

/* initialize, its answer, notifications/initialized. */
static void sp_session(sp *s)
{
    sp_send(s, INIT);
    cr_assert(sp_wait(s, "\"serverInfo\"", WAIT_MS), "initialize answered: %s", s->got);
    sp_send(s, INITIALIZED);
}

static void sp_free(sp *s)
{
    close(s->out);
    if (s->in >= 0)
        close(s->in);
    free(s->got);
    files_free(&s->f);
}

Test(rev42_gateway, a_server_line_too_long_to_read_fails_its_call_and_ends_the_server)
{
    sp s;
    int st;

    sp_start(&s, 300);
    sp_session(&s);
    /* An answer of 64 MiB and 1 KiB of text: one line past the limit. */
    sp_send(&s, CALL("2", "huge", "{\"n\":67109888}"));
    cr_expect(sp_wait(&s, "\"id\":2", 30000), "the call is answered: %.400s", s.got);
    cr_expect_not_null(strstr(s.got, "longer than 64 MiB"), "%.600s", s.got);
    cr_expect_not_null(strstr(s.got, "tool_error"), "%.600s", s.got);
    close(s.in);
    s.in = -1;
    /* The server was taken for gone: the process ends (1, as for a server
     * that exits) without waiting on anything. */
    st = wait_exit(s.pid, WAIT_MS);
    cr_expect_eq(st, 1, "chio mcp serve exits 1 after the client's EOF (got %d)", st);
    cr_expect_eq(mt_stored(s.f.db, "\"tool_name\":\"huge\"", "longer than 64 MiB"), 1,
                 "the call's receipt names why it failed");
    sp_free(&s);
}

Test(rev42_gateway, the_exit_after_the_clients_eof_waits_on_calls_for_a_bounded_time)
{
    uint64_t t0;
    char *err;
    sp s;
    int st;

    sp_start(&s, 2); /* kernel.max_stream_duration_secs 2: the bound */
    sp_session(&s);
    sp_send(&s, CALL("2", "hang", "{}"));
    cr_assert(wait_recorded(&s.f, "got hang", WAIT_MS), "the server got the call");
    t0 = testutil_now_ms();
    close(s.in);
    s.in = -1;
    /* 2 s, then the server's stop (a second, SIGTERM: node ends), then
     * the exit. Before, the process waited on the call for good. */
    st = wait_exit(s.pid, 20000);
    cr_expect_eq(st, 0, "chio mcp serve exits 0 after the client's EOF (got %d)", st);
    cr_expect_geq(testutil_now_ms() - t0, 2000, "the calls had their time");
    cr_expect(sp_wait(&s, "\"id\":2", 1000), "the call is answered: %s", s.got);
    cr_expect_not_null(strstr(s.got, "did not answer in time"), "%s", s.got);
    cr_expect_eq(mt_stored(s.f.db, "\"tool_name\":\"hang\"", "did not answer in time"), 1,
                 "the call's receipt names why it failed");
    err = testutil_read_file(s.f.err, NULL);
    cr_expect_not_null(strstr(err, "did not end within 2s"), "%s", err);
    free(err);
    sp_free(&s);
}

/* serve-http (review 43, the sidecar's finding in the gateway): a body
 * past the gateway's 4 MiB was read on and dropped without end, so a
 * chunked body that never ended held its connection's thread for as long
 * as it flowed (a connection of a live session has no request deadline).
 * It is now cut off, unanswered, past twice the limit. */
Test(rev42_gateway, a_chunked_body_without_end_is_cut_off_past_the_limit)
{
    static const char ping[] = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}";
    char head[512], *answer = NULL;
    size_t sent;
    int fd, closed, n;
    gw g;

    gw_start(&g, "4");
    gw_session(&g);
    fd = testutil_dial(g.port);
    cr_assert_geq(fd, 0);
    /* A request of the live session first: its connection is trusted. */
    n = snprintf(head, sizeof(head),
                 "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 "Accept: application/json, text/event-stream\r\n%sContent-Length: %zu\r\n\r\n%s",
                 mh_sid_header(g.sid), strlen(ping), ping);
    cr_assert_eq(send(fd, head, (size_t)n, MSG_NOSIGNAL), n);
    free(testutil_recv_until(fd, "\"id\":7", WAIT_MS));
    n = snprintf(head, sizeof(head),
                 "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 "Accept: application/json, text/event-stream\r\n%s"
                 "Transfer-Encoding: chunked\r\n\r\n",
                 mh_sid_header(g.sid));
    cr_assert_eq(send(fd, head, (size_t)n, MSG_NOSIGNAL), n);
    /* Far past what the gateway now reads (8 MiB + 64 KiB) plus what two
     * loopback socket buffers hold. */
    sent = testutil_stream_chunked(fd, (size_t)256 << 20, 30000, &closed, &answer);
    cr_assert(closed, "a chunked body past 4 MiB was read on without end (%zu bytes sent): %s",
              sent, answer);
    free(answer);
    close(fd);
    /* The gateway keeps serving the session. */
    answer = post(&g, mh_sid_header(g.sid), "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"ping\"}");
    cr_assert_not_null(strstr(answer, "\"id\":8"), "%s", answer);
    free(answer);
    gw_stop(&g);
    files_free(&g.f);
}
