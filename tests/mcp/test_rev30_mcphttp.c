/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev30_mcphttp.c - review 30 of `chio mcp serve-http`
 * (src/mcp/http.c, http_sess.c), against the real build/chio wrapping
 * tests/cli/bad_input_mcp_server.mjs under node, over raw HTTP/1.1 on
 * loopback sockets:
 *   - a request whose id a request of the same session still has in
 *     flight was linked as a second stream under that id: the answers,
 *     routed by id, reached the wrong POST (a tools/call answered with a
 *     ping's empty result, the ping's POST left waiting on the call). It is
 *     now refused 409 (-32600) on its own POST with a deny receipt;
 *   - headers the gateway read one way and a proxy in front may read
 *     another: a bare CR inside a header line (libmicrohttpd kept it in
 *     the value; a proxy may end the line there and see a Content-Length),
 *     two Origin or two Mcp-Session-Id headers (the first was read), and
 *     an Origin of "http://localhost:" followed by anything. Each is now
 *     refused from the headers alone, 400 (403 for the Origin);
 *   - a POST that is not application/json (a text/plain or form POST, which
 *     a browser page on another localhost port sends without a CORS
 *     preflight) opened a session and started a server. Now 415.
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

#define POLICY                                                                              \
    "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"fake\",\"grants\":[{\"server_id\":" \
    "\"fake\",\"tool_name\":\"echo\",\"operations\":[\"invoke\"]}]}"
#define INIT                                                                           \
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"             \
    "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":" \
    "\"rev30\",\"version\":\"1\"}}}"
#define PING(id) "{\"jsonrpc\":\"2.0\",\"id\":" id ",\"method\":\"ping\"}"
#define WAIT_MS  10000

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

TestSuite(rev30_mcphttp, .init = setup, .fini = teardown);

/* A running serve-http: its pid, port, store and the session it opened. */
typedef struct gw {
    pid_t pid;
    unsigned port;
    char db[512];
    char sid[33];
} gw;

static void gw_start(gw *g)
{
    char *seed = testutil_join(dir, "seed"), *pol = testutil_join(dir, "policy.json"),
         *err = testutil_join(dir, "gw.err"), *server;
    const char *kg[] = {"keygen", "--out", seed, NULL};
    cli_result r;

    server = testutil_repo_path("tests/cli/bad_input_mcp_server.mjs");
    r = testutil_run_cli(kg, NULL, 0);
    cr_assert_eq(r.status, 0, "%s", r.err);
    testutil_cli_free(&r);
    cr_assert_eq(testutil_write_file(pol, POLICY, strlen(POLICY), 0600), 0);
    snprintf(g->db, sizeof(g->db), "%s/db", dir);
    g->pid = mh_start((const char *const[]){"mcp", "serve-http", "--policy", pol, "--receipt-db",
                                            g->db, "--seed-file", seed, "--listen", "127.0.0.1:0",
                                            "--", "node", server, NULL},
                      err, NULL, WAIT_MS, &g->port);
    free(seed);
    free(pol);
    free(err);
    free(server);
}

/* SIGTERM (exit 0); the store's receipts as JSON lines (caller frees). */
static char *gw_stop(gw *g)
{
    return mh_stop(g->pid, g->db);
}

/* The whole answer of a JSON-mode POST (the connection closes after it). */
static char *post(const gw *g, const char *extra, const char *body)
{
    return mh_post(g->port, extra, body, WAIT_MS);
}

/* Open a session: initialize, then notifications/initialized. */
static void gw_session(gw *g)
{
    mh_session(g->port, INIT, g->sid, WAIT_MS);
}

/* ---- a request id still in flight ---------------------------------------------------------- */

Test(rev30_mcphttp, a_request_reusing_an_id_in_flight_is_refused_409_with_a_receipt)
{
    static const char call[] = "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":"
                               "{\"name\":\"echo\",\"arguments\":{\"text\":\"never answer\"}}}";
    char *got, *late, *receipts, *rid, *p;
    int cfd;
    gw g;

    gw_start(&g);
    gw_session(&g);
    /* A call the server never answers, on an SSE stream: its headers back
     * mean its stream is linked under id 5. */
    cfd = mh_post_send(g.port, mh_sid_header(g.sid), "application/json, text/event-stream", call);
    got = testutil_recv_until(cfd, "\r\n\r\n", WAIT_MS);
    cr_assert_not_null(strstr(got, "HTTP/1.1 200"), "the call's stream: %s", got);
    free(got);

    /* A ping under the same id: the gateway answered it, and its answer went to
     * the call's stream (the first under id 5); the ping's POST waited on. */
    got = post(&g, mh_sid_header(g.sid), PING("5"));
    cr_expect_not_null(strstr(got, "HTTP/1.1 409"), "%s", got);
    cr_expect_not_null(strstr(got, "\"code\":-32600"), "%s", got);
    cr_expect_not_null(strstr(got, "still in flight"), "%s", got);
    p = strstr(got, "\"receipt_id\":\"");
    cr_assert_not_null(p, "the refusal names its receipt: %s", got);
    rid = strndup(p + strlen("\"receipt_id\":\""), 64);
    free(got);

    /* Another id is served, and the call's stream got nothing meanwhile:
     * the server answers in order, so a ping 5 sent on would be answered
     * (and routed) before ping 6 is. */
    got = post(&g, mh_sid_header(g.sid), PING("6"));
    cr_expect_not_null(strstr(got, "HTTP/1.1 200"), "%s", got);
    cr_expect_not_null(strstr(got, "\"id\":6"), "%s", got);
    free(got);
    late = testutil_recv_until(cfd, "data:", 300);
    cr_expect_null(strstr(late, "data:"), "the call's stream carries no other answer: %s", late);
    free(late);
    close(cfd);

    receipts = gw_stop(&g);
    p = strstr(receipts, rid);
    cr_assert_not_null(p, "receipt %s is in the store: %s", rid, receipts);
    while (p > receipts && p[-1] != '\n')
        p--;
    cr_expect_not_null(strstr(p, "\"tool_name\":\"ping\""), "%.600s", p);
    cr_expect_not_null(strstr(p, "\"verdict\":\"deny\""), "%.600s", p);
    cr_expect_not_null(strstr(p, "\"jsonrpc_code\":-32600"), "%.600s", p);
    free(rid);
    free(receipts);
}

/* ---- ambiguous headers --------------------------------------------------------------------- */

/* The session's header line and @extra on a ping: the answer. */
static char *ping_with(const gw *g, const char *extra)
{
    char *hdr, *got;

    cr_assert_geq(asprintf(&hdr, "%s%s", mh_sid_header(g->sid), extra), 0);
    got = post(g, hdr, PING("7"));
    free(hdr);
    return got;
}

Test(rev30_mcphttp, ambiguous_headers_are_refused_from_the_headers_alone)
{
    static const struct {
        const char *extra, *status, *needle;
    } rows[] = {
        /* A bare CR hides from libmicrohttpd a second Content-Length that
         * a proxy ending the line there reads. */
        {"X-Note: a\rContent-Length: 43\r\n", "HTTP/1.1 400", "control character"},
        {"X-Note: a\rb\r\n", "HTTP/1.1 400", "control character"},
        {"X-Note: a\x01 b\r\n", "HTTP/1.1 400", "control character"},
        {"Mcp-Session-Id: 00000000000000000000000000000000\r\n", "HTTP/1.1 400",
         "more than one Mcp-Session-Id"},
        {"Origin: http://localhost\r\nOrigin: http://rebound.example\r\n", "HTTP/1.1 400",
         "more than one Origin"},
        {"Origin: http://localhost:@rebound.example\r\n", "HTTP/1.1 403", "origin refused"},
        {"Origin: http://localhost:8080x\r\n", "HTTP/1.1 403", "origin refused"},
        /* The control rows: one of each, and a tab in a value, pass. */
        {"Origin: http://localhost:8080\r\nX-Note: a\tb\r\n", "HTTP/1.1 200", "\"id\":7"},
        {"Origin: http://127.0.0.1\r\n", "HTTP/1.1 200", "\"id\":7"},
    };
    size_t i;
    gw g;

    gw_start(&g);
    gw_session(&g);
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *got = ping_with(&g, rows[i].extra);
        cr_expect_eq(strncmp(got, rows[i].status, strlen(rows[i].status)), 0, "row %zu: %s", i,
                     got);
        cr_expect_not_null(strstr(got, rows[i].needle), "row %zu: %s", i, got);
        /* One answer, then the close: nothing after it was read as a
         * request of its own. */
        cr_expect_null(strstr(strstr(got, "HTTP/1.1") + 1, "HTTP/1.1"), "row %zu: %s", i, got);
        free(got);
    }
    free(gw_stop(&g));
}

/* ---- the POST's Content-Type --------------------------------------------------------------- */

Test(rev30_mcphttp, a_post_that_is_not_application_json_is_refused_415_and_opens_no_session)
{
    static const struct {
        const char *type;
        int ok;
    } rows[] = {
        /* What a browser page may POST from another origin without a
         * preflight: it opened a session (and started a server) unasked. */
        {"Content-Type: text/plain\r\n", 0},
        {"Content-Type: application/x-www-form-urlencoded\r\n", 0},
        {"Content-Type: multipart/form-data; boundary=x\r\n", 0},
        {"", 0},
        {"Content-Type: application/jsonx\r\n", 0},
        {"Content-Type: Application/JSON; charset=utf-8\r\n", 1},
    };
    size_t i;
    gw g;

    gw_start(&g);
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int fd = mh_post_typed(g.port, rows[i].type, "Origin: http://localhost:3000\r\n",
                               "application/json", INIT);
        char *got = testutil_recv_until(fd, NULL, WAIT_MS);
        close(fd);
        if (rows[i].ok) {
            cr_expect_not_null(strstr(got, "HTTP/1.1 200"), "row %zu: %s", i, got);
            cr_expect_not_null(strstr(got, "Mcp-Session-Id: "), "row %zu: %s", i, got);
        } else {
            cr_expect_not_null(strstr(got, "HTTP/1.1 415"), "row %zu: %s", i, got);
            cr_expect_not_null(strstr(got, "application/json"), "row %zu: %s", i, got);
            cr_expect_null(strstr(got, "Mcp-Session-Id: "), "row %zu: no session: %s", i, got);
        }
        free(got);
    }
    free(gw_stop(&g));
}
