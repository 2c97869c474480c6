/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev46_mcp_stop.c - review 46 of the stop of `chio mcp
 * serve-http` (src/mcp/http.c, http_sess.c), against the real CLI wrapping
 * tests/mcp/rev46-server.mjs. Suite rev46_mcp_stop. At SIGTERM:
 * - libmicrohttpd's stop shut every connection's socket down before it
 *   joined the threads: an answer still being written (a large result, a
 *   client reading slowly) was cut, though its call's allow receipt was
 *   in the log. Now the stop waits for the answers in flight to be sent
 *   (bounded), and only then stops libmicrohttpd;
 * - a session's streams were closed before its calls were cancelled: a
 *   call whose decision was being committed then got its allow receipt
 *   while its client had been told (503, or an SSE stream ended with no
 *   answer) that it was cancelled. Now the calls are cancelled first and
 *   their answers, whatever the kernel decided, reach their POSTs; only a
 *   call that ends with no answer (cancelled) has its POST ended.
 * Each call's receipt and the answer its client got must agree. During
 * the stop no new connection is taken, and a request on a connection kept
 * open gets 503 (Connection: close).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "mcp/mcphttp.h"

#define POLICY                                                                                 \
    "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[{\"server_id\":\"s\"," \
    "\"tool_name\":\"*\",\"operations\":[\"invoke\"]}]}"
#define INIT                                                                           \
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"             \
    "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":" \
    "\"rev46\",\"version\":\"1\"}}}"
#define WAIT_MS   20000
#define BIG_BYTES (8u << 20)
#define BURST     6 /* calls answered at once by the server */
#define SLOW      2 /* calls never answered (cancelled at the stop) */
#define ROUNDS    6
/* How a round's burst and SIGTERM are sent. */
enum { ORDER_FIRED, ORDER_BURST_FIRST, ORDER_TERM_FIRST };

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

TestSuite(rev46_mcp_stop, .init = setup, .fini = teardown);

/* ---- the gateway ----------------------------------------------------------------------------- */

/* A running serve-http wrapping rev46-server.mjs, with one session. */
typedef struct gw {
    pid_t pid;
    unsigned port;
    char db[512], rec[512], err[512];
    char sid[33];
} gw;

static void gw_start(gw *g, int round)
{
    char *seed = testutil_join(dir, "seed"), *pol = testutil_join(dir, "policy.json");
    char *server = testutil_repo_path("tests/mcp/rev46-server.mjs");
    const char *kg[] = {"keygen", "--out", seed, NULL};
    cli_result r;

    if (round == 0) {
        r = testutil_run_cli(kg, NULL, 0);
        cr_assert_eq(r.status, 0, "%s", r.err);
        testutil_cli_free(&r);
        cr_assert_eq(testutil_write_file(pol, POLICY, strlen(POLICY), 0600), 0);
    }
    snprintf(g->db, sizeof(g->db), "%s/db%d", dir, round);
    snprintf(g->rec, sizeof(g->rec), "%s/server%d.rec", dir, round);
    snprintf(g->err, sizeof(g->err), "%s/gw%d.err", dir, round);
    g->pid = mh_start((const char *const[]){"mcp", "serve-http", "--policy", pol, "--receipt-db",
                                            g->db, "--seed-file", seed, "--listen", "127.0.0.1:0",
                                            "--", "node", server, NULL},
                      g->err, g->rec, WAIT_MS, &g->port);
    mh_session(g->port, INIT, g->sid, WAIT_MS);
    free(seed);
    free(pol);
    free(server);
}

/* 1 when the file @path holds @what. */
static int file_has(const char *path, const char *what)
{
    char *text = testutil_read_file(path, NULL);
    int hit = text != NULL && strstr(text, what) != NULL;

    free(text);
    return hit;
}

/* Poll until the file @path holds @what; 1 when it did within @ms. */
static int wait_file(const char *path, const char *what, unsigned ms)
{
    uint64_t end = testutil_now_ms() + ms;

    while (!file_has(path, what))
        if (testutil_now_ms() >= end)
            return 0;
        else
            testutil_nap_ms(5);
    return 1;
}

/* How many times @what is in the file @path. */
static int file_count(const char *path, const char *what)
{
    char *text = testutil_read_file(path, NULL);
    const char *p = text;
    int n = 0;

    while (p != NULL && (p = strstr(p, what)) != NULL) {
        n++;
        p += strlen(what);
    }
    free(text);
    return n;
}

/* The receipts of the store @db as JSON lines (caller frees). */
static char *receipts_of(const char *db)
{
    const char *list[] = {"receipt", "list", "--receipt-db", db, "--format", "jsonl", "--limit",
                          "0",       NULL};
    cli_result r = testutil_run_cli(list, NULL, 0);
    char *out;

    cr_assert_eq(r.status, 0, "%s", r.err);
    out = strdup(r.out);
    testutil_cli_free(&r);
    return out;
}

/* Wait for the gateway to exit (it must exit 0); its receipts as JSON
 * lines (caller frees). */
static char *gw_receipts(gw *g)
{
    int st;

    cr_assert_eq(waitpid(g->pid, &st, 0), g->pid);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "serve-http exits 0 after SIGTERM");
    return receipts_of(g->db);
}

/* ---- clients --------------------------------------------------------------------------------- */

/* POST @body to the session of @g with Accept @accept on a new connection
 * whose receive buffer is @rcvbuf bytes (0: the default). */
static int post(const gw *g, const char *accept, const char *body, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g->port)};
    char *req;

    cr_assert_geq(fd, 0);
    if (rcvbuf > 0)
        cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
    a.sin_addr.s_addr = htonl(0x7f000001);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_geq(asprintf(&req,
                           "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAccept: %s\r\n"
                           "Content-Type: application/json\r\n%sConnection: close\r\n"
                           "Content-Length: %zu\r\n\r\n%s",
                           g->port, accept, mh_sid_header(g->sid), strlen(body), body),
                  0);
    cr_assert_eq(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
    free(req);
    return fd;
}

/* Append the last bytes of @p (@n) to @tail, which keeps its last 256. */
static void keep_tail(char tail[257], const char *p, size_t n)
{
    char both[513];
    size_t keep = strlen(tail), add = n < 256 ? n : 256, len = keep + add;

    memcpy(both, tail, keep);
    memcpy(both + keep, p + n - add, add);
    both[len] = '\0';
    memcpy(tail, both + (len > 256 ? len - 256 : 0), (len > 256 ? 256 : len) + 1);
}

/* Read @fd to its end (within @ms): the bytes counted, the first 4 KiB
 * kept in @head and the last 256 in @tail (both NUL-terminated). */
static size_t read_all(int fd, unsigned ms, char head[4097], char tail[257])
{
    uint64_t end = testutil_now_ms() + ms;
    size_t total = strlen(head);
    char buf[65536];

    tail[0] = '\0';
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        uint64_t now = testutil_now_ms();
        ssize_t n;
        if (now >= end || poll(&p, 1, (int)(end - now)) <= 0)
            break;
        if ((n = recv(fd, buf, sizeof(buf), 0)) <= 0)
            break;
        if (total < 4096) {
            size_t k = (size_t)n < 4096 - total ? (size_t)n : 4096 - total;
            memcpy(head + total, buf, k);
            head[total + k] = '\0';
        }
        total += (size_t)n;
        keep_tail(tail, buf, (size_t)n);
    }
    return total;
}

/* ---- an answer being sent at the stop -------------------------------------------------------- */

/* 1 once the gateway exited (its status kept in *@st) or says it waits
 * for the answers in flight. */
static int stop_reached(gw *g, int *st, int *exited)
{
    if (!*exited && waitpid(g->pid, st, WNOHANG) == g->pid)
        *exited = 1;
    return *exited || file_has(g->err, "answers in flight");
}

/* A call of @g whose 8 MiB answer (allow) is being written to a client
 * that read its headers (into @head) and then stopped reading: its
 * connection; *@want the bytes the whole answer has. */
static int stuck_answer(gw *g, char head[4097], size_t *want)
{
    char body[256], *h;
    const char *eoh, *cl;
    int fd;

    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
             "\"name\":\"big\",\"arguments\":{\"bytes\":%u}}}",
             BIG_BYTES);
    fd = post(g, "application/json", body, 4096);
    h = testutil_recv_until(fd, "\r\n\r\n", WAIT_MS);
    snprintf(head, 4097, "%s", h);
    free(h);
    cr_assert_not_null(strstr(head, "HTTP/1.1 200"), "%s", head);
    eoh = strstr(head, "\r\n\r\n");
    cl = strcasestr(head, "Content-Length: ");
    cr_assert(eoh != NULL && cl != NULL, "%s", head);
    *want = strtoul(cl + strlen("Content-Length: "), NULL, 10) + (size_t)(eoh + 4 - head);
    cr_assert_gt(*want, BIG_BYTES);
    return fd;
}

/* SIGTERM @g, then poll until it exited (libmicrohttpd stopped: what it
 * had not sent was cut; *@exited 1, its status in *@st) or says that it
 * sends the answers in flight. */
static void term_and_wait_stop(gw *g, int *st, int *exited)
{
    uint64_t end = testutil_now_ms() + WAIT_MS;

    kill(g->pid, SIGTERM);
    while (!stop_reached(g, st, exited) && testutil_now_ms() < end)
        testutil_nap_ms(5);
    cr_assert(*exited || file_has(g->err, "answers in flight"), "the stop began");
}

/* Wait for @g to exit (0) unless it did; its receipts (caller frees). */
static char *end_of(gw *g, int st, int exited)
{
    if (!exited)
        cr_assert_eq(waitpid(g->pid, &st, 0), g->pid);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "serve-http exits 0 after SIGTERM");
    return receipts_of(g->db);
}

Test(rev46_mcp_stop, an_answer_being_sent_at_the_stop_is_sent_whole)
{
    char head[4097], tail[257], *receipts;
    size_t got, want;
    int fd, st = 0, exited = 0;
    gw g;

    gw_start(&g, 0);
    fd = stuck_answer(&g, head, &want);
    term_and_wait_stop(&g, &st, &exited);
    got = read_all(fd, WAIT_MS, head, tail);
    close(fd);
    cr_expect_eq(got, want, "the whole answer (%zu bytes) reached its client, not %zu", want, got);
    cr_expect_not_null(strstr(tail, "END"), "its end too: %s", tail);
    receipts = end_of(&g, st, exited);
    cr_expect_not_null(strstr(receipts, "\"verdict\":\"allow\""), "the call's receipt: %s",
                       receipts);
    free(receipts);
}

Test(rev46_mcp_stop, a_request_during_the_stop_gets_503_and_no_connection_is_taken)
{
    static const char ping[] = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}";
    char head[4097], tail[257], *req, *got;
    size_t want;
    int fd, keep, st = 0, exited = 0;
    gw g;

    gw_start(&g, 0);
    /* A connection kept open (a ping answered on it) before the stop. */
    keep = mh_connect(g.port);
    cr_assert_geq(
        asprintf(&req,
                 "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAccept: application/json\r\n"
                 "Content-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n%s",
                 g.port, mh_sid_header(g.sid), strlen(ping), ping),
        0);
    cr_assert_eq(send(keep, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
    got = testutil_recv_until(keep, "\"result\"", WAIT_MS);
    cr_assert_not_null(strstr(got, "HTTP/1.1 200"), "%s", got);
    free(got);
    /* The stop holds on the stuck answer. */
    fd = stuck_answer(&g, head, &want);
    term_and_wait_stop(&g, &st, &exited);
    cr_assert_not(exited, "the stop waits for the answer in flight");
    /* No new connection; one kept open gets 503 and is closed. */
    cr_expect_lt(testutil_dial(g.port), 0, "the listening socket is closed");
    cr_assert_eq(send(keep, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
    got = testutil_recv_until(keep, NULL, WAIT_MS);
    cr_expect_not_null(strstr(got, "HTTP/1.1 503"), "%s", got);
    cr_expect_not_null(strstr(got, "the gateway is stopping"), "%s", got);
    cr_expect_not_null(strcasestr(got, "Connection: close"), "%s", got);
    free(got);
    free(req);
    close(keep);
    cr_expect_eq(read_all(fd, WAIT_MS, head, tail), want, "the answer in flight is whole");
    close(fd);
    free(end_of(&g, st, exited));
}

/* ---- calls in flight at the stop ------------------------------------------------------------- */

/* The verdict of the one receipt of @receipts whose arguments are
 * {"k":@k} ("" when none, "2+" when more than one). */
static const char *verdict_of(const char *receipts, int k)
{
    static char v[16];
    char needle[64];
    const char *p, *d;

    snprintf(needle, sizeof(needle), "\"parameters\":{\"k\":%d}", k);
    v[0] = '\0';
    p = strstr(receipts, needle);
    d = p != NULL ? strstr(p, "\"verdict\":\"") : NULL;
    if (p != NULL && strstr(p + 1, needle) != NULL)
        snprintf(v, sizeof(v), "2+");
    else if (d != NULL)
        snprintf(v, sizeof(v), "%.*s", (int)strcspn(d + 11, "\""), d + 11);
    return v;
}

/* One round: BURST calls the server answers at once (on SIGUSR2), SLOW
 * calls it never answers, half of each as JSON and half as SSE; then the
 * burst and the gateway's SIGTERM, in the order @order says (ORDER_*).
 * Every call must have one receipt; an allow one exactly when its
 * client got the answer, and a client not answered must be told (a 503
 * JSON-RPC error, or an SSE stream that ends). *@allowed: the allow
 * receipts; returns the disagreements. */
static int round_trip(int round, int order, int *allowed)
{
    int fds[BURST + SLOW], i, bad = 0, server_pid;
    char *receipts, *rec_text;
    int answered[BURST + SLOW];
    char heads[BURST + SLOW][4097];
    gw g;

    gw_start(&g, round);
    for (i = 0; i < BURST + SLOW; i++) {
        char body[256];
        snprintf(body, sizeof(body),
                 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{"
                 "\"name\":\"%s\",\"arguments\":{\"k\":%d}}}",
                 i + 1, i < BURST ? "burst" : "slow", 100 + i);
        fds[i] =
            post(&g, i % 2 ? "application/json, text/event-stream" : "application/json", body, 0);
    }
    cr_assert(wait_file(g.rec, "pid ", WAIT_MS));
    for (i = 0; file_count(g.rec, "\"method\":\"tools/call\"") < BURST + SLOW && i < 4000; i++)
        testutil_nap_ms(5);
    cr_assert_eq(file_count(g.rec, "\"method\":\"tools/call\""), BURST + SLOW,
                 "every call reached the server");
    rec_text = testutil_read_file(g.rec, NULL);
    server_pid = atoi(strstr(rec_text, "pid ") + 4);
    free(rec_text);
    if (order == ORDER_TERM_FIRST)
        kill(g.pid, SIGTERM);
    kill(server_pid, SIGUSR2);
    /* The answers written: the calls are in the kernel or past it. */
    if (order == ORDER_FIRED)
        cr_assert(wait_file(g.rec, "fire ", WAIT_MS));
    if (order != ORDER_TERM_FIRST)
        kill(g.pid, SIGTERM);
    for (i = 0; i < BURST + SLOW; i++) {
        char tail[257], needle[32];
        heads[i][0] = '\0';
        read_all(fds[i], WAIT_MS, heads[i], tail);
        close(fds[i]);
        snprintf(needle, sizeof(needle), "burst %d\"", 100 + i);
        answered[i] = strstr(heads[i], needle) != NULL;
    }
    receipts = gw_receipts(&g);
    *allowed = 0;
    for (i = 0; i < BURST + SLOW; i++) {
        const char *v = verdict_of(receipts, 100 + i);
        /* Told: a 503 with its JSON-RPC error, or an SSE stream (200) that
         * ended without the answer. Not a reset, not silence. */
        int told = strstr(heads[i], i % 2 ? "HTTP/1.1 200" : "HTTP/1.1 503") != NULL;
        *allowed += strcmp(v, "allow") == 0;
        if (strcmp(v, "allow") == 0 ? !answered[i]
                                    : (v[0] == '\0' || v[0] == '2' || answered[i] || !told)) {
            bad++;
            cr_expect_fail("round %d call %d (%s): receipt %s, answered %d: %.300s", round, i,
                           i % 2 ? "SSE" : "JSON", v[0] ? v : "(none)", answered[i], heads[i]);
        }
    }
    free(receipts);
    return bad;
}

Test(rev46_mcp_stop, calls_in_flight_at_sigterm_get_answers_that_agree_with_their_receipts)
{
    int r, allowed, bad = 0;

    for (r = 0; r < ROUNDS; r++) {
        bad += round_trip(r, r % 3, &allowed);
        cr_log_info("round %d: %d of %d calls allowed", r, allowed, BURST + SLOW);
    }
    cr_expect_eq(bad, 0);
}
