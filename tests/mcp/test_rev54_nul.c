/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev54_nul.c - review 54 of `chio mcp serve-http`
 * (src/mcp/http.c, src/svc/svc_nul.c) against the real build/chio
 * wrapping tests/cli/bad_input_mcp_server.mjs, over raw HTTP/1.1: a NUL
 * byte in a header value or in the request target. libmicrohttpd keeps
 * it but hands every value over as a C string, so "Mcp-Session-Id:
 * SID\0junk" named the session, "Content-Type: application/json\0text/plain"
 * was JSON, "Host: 127.0.0.1\0.evil.example" was loopback, a Content-Length
 * or Transfer-Encoding was read up to the NUL, and "/mcp\0/x" (or
 * "/mcp%00x", decoded to a NUL) was /mcp. Each is now the 400 (-32600) a
 * control character gets, from the headers alone ("/mcp%00x" is 404: the
 * path is no longer percent-decoded); the same request as it was read,
 * without what the NUL hid, is served as before.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/testutil.h"
#include "mcphttp.h"

#define POLICY                                                                              \
    "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"fake\",\"grants\":[{\"server_id\":" \
    "\"fake\",\"tool_name\":\"echo\",\"operations\":[\"invoke\"]}]}"
#define INIT                                                                           \
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"             \
    "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":" \
    "\"rev54\",\"version\":\"1\"}}}"
#define PING    "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ping\"}"
#define WAIT_MS 10000
/* Where a test's request holds its NUL (swapped in before it is sent). */
#define MARK "\x01"

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

TestSuite(rev54_mcp_nul, .init = setup, .fini = teardown);

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
    mh_session(g->port, INIT, g->sid, WAIT_MS);
    free(seed);
    free(pol);
    free(err);
    free(server);
}

/* @len bytes at @req on a new connection; all that comes back until the
 * gateway closes it. */
static char *exchange(const gw *g, const char *req, size_t len)
{
    int fd = mh_connect(g->port);
    char *got;

    cr_assert_eq(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
    got = testutil_recv_until(fd, NULL, WAIT_MS);
    close(fd);
    cr_assert_not_null(got);
    return got;
}

/* A ping POST in the session, its one MARK made a NUL: refused 400 with
 * @why; then as libmicrohttpd read it (from the NUL to the end of its word
 * or line dropped): answered. @path, @host, @type, @sid: those parts;
 * @framing the line(s) framing the body, "" for a Content-Length. */
static void nul_and_not(const gw *g, const char *path, const char *host, const char *type,
                        const char *sid, const char *framing, const char *why)
{
    char *req, *got, *mark;
    size_t len, cut;
    int n;

    if (framing[0] == '\0')
        n = asprintf(&req,
                     "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nAccept: "
                     "application/json\r\nMcp-Session-Id: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%s",
                     path, host, type, sid, strlen(PING), PING);
    else if (strstr(framing, "chunked") != NULL)
        n = asprintf(&req,
                     "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nAccept: "
                     "application/json\r\nMcp-Session-Id: %s\r\n%s\r\nConnection: close\r\n\r\n"
                     "%zx\r\n%s\r\n0\r\n\r\n",
                     path, host, type, sid, framing, strlen(PING), PING);
    else
        n = asprintf(&req,
                     "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nAccept: "
                     "application/json\r\nMcp-Session-Id: %s\r\n%s\r\nConnection: close\r\n\r\n%s",
                     path, host, type, sid, framing, PING);
    cr_assert_geq(n, 0);
    len = (size_t)n;
    mark = strchr(req, MARK[0]);
    cr_assert_not_null(mark);
    *mark = '\0';
    got = exchange(g, req, len);
    cr_expect(strncmp(got, "HTTP/1.1 400 ", 13) == 0, "with the NUL: %s", got);
    cr_expect(strstr(got, "\"code\":-32600") != NULL, "with the NUL: %s", got);
    cr_expect(strstr(got, why) != NULL, "with the NUL: %s", got);
    cr_expect(strstr(got, "\"result\"") == NULL, "with the NUL it was served: %s", got);
    free(got);
    for (cut = (size_t)(mark - req);
         cut < len && req[cut] != ' ' && req[cut] != '\r' && req[cut] != '\n'; cut++)
        ;
    memmove(mark, req + cut, len - cut);
    len -= cut - (size_t)(mark - req);
    got = exchange(g, req, len);
    cr_expect(strncmp(got, "HTTP/1.1 200 ", 13) == 0, "without the NUL: %s", got);
    cr_expect(strstr(got, "\"result\"") != NULL, "without the NUL: %s", got);
    free(got);
    free(req);
}

#define IN_HEADER "a header value holding a CR, a NUL or another control character"
#define IN_LINE   "a request line holding a NUL"

Test(rev54_mcp_nul, a_nul_in_a_header_value_or_the_target_is_400_from_the_headers_alone)
{
    char sid_nul[64];
    char *receipts;
    gw g;

    gw_start(&g);
    snprintf(sid_nul, sizeof(sid_nul), "%s" MARK "junk", g.sid);
    nul_and_not(&g, "/mcp", "127.0.0.1", "application/json", sid_nul, "", IN_HEADER);
    nul_and_not(&g, "/mcp", "127.0.0.1", "application/json" MARK "text/plain", g.sid, "",
                IN_HEADER);
    nul_and_not(&g, "/mcp", "127.0.0.1" MARK ".evil.example", "application/json", g.sid, "",
                IN_HEADER);
    nul_and_not(&g, "/mcp", "127.0.0.1", "application/json", g.sid, "Content-Length: 40" MARK "99",
                IN_HEADER);
    nul_and_not(&g, "/mcp", "127.0.0.1", "application/json", g.sid,
                "Transfer-Encoding: chunked" MARK ",gzip", IN_HEADER);
    nul_and_not(&g, "/mcp" MARK "/x", "127.0.0.1", "application/json", g.sid, "", IN_LINE);
    nul_and_not(&g, "/mcp?a" MARK "b", "127.0.0.1", "application/json", g.sid, "", IN_LINE);
    receipts = mh_stop(g.pid, g.db);
    free(receipts);
}

Test(rev54_mcp_nul, a_percent_encoded_nul_in_the_path_is_no_route)
{
    char *req, *got;
    int n;
    gw g;

    gw_start(&g);
    /* libmicrohttpd decoded "%00" to a NUL, and the path read as /mcp. */
    n = asprintf(&req,
                 "POST /mcp%%00x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 "Accept: application/json\r\nMcp-Session-Id: %s\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n%s",
                 g.sid, strlen(PING), PING);
    cr_assert_geq(n, 0);
    got = exchange(&g, req, (size_t)n);
    cr_expect(strncmp(got, "HTTP/1.1 404 ", 13) == 0, "%s", got);
    cr_expect(strstr(got, "\"result\"") == NULL, "%s", got);
    free(got);
    free(req);
    free(mh_stop(g.pid, g.db));
}
