/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/serve/test_rev23_svc.c - the sidecar (`chio serve`) over raw
 * HTTP/1.1, one sidecar process per test.
 * Suite serve_origin: a browser's request (one that carries an Origin
 * header) is a 403 before any route runs, so a web page posting to a
 * loopback sidecar (a text/plain body needs no CORS preflight) cannot have
 * receipts signed and stored; a body framed two ways (Content-Length with
 * Transfer-Encoding, or a Transfer-Encoding other than chunked) is a 400
 * and the connection closes; so is a header name with whitespace before
 * its colon or a folded line (libmicrohttpd saw no Content-Length and read
 * the body as the next request) and chunked HTTP/1.0.
 * Suite serve_conn: the sidecar stays available under a connection flood
 * from clients that never finish a request: past --max-connections a new
 * connection evicts the oldest one still waiting for its request (it used
 * to be closed unanswered while half-sent requests held every slot), and a
 * request dripped a byte at a time (which keeps libmicrohttpd's idle
 * timeout from firing) is cut at its deadline, min(--timeout, 10 s).
 * Suite serve_contract (the checks of tests/serve/sidecar-contract.test.mjs
 * that are cheap here): a 405 names the path's method in an Allow header
 * (RFC 9110; it had none), and a token given twice, inline and in
 * X-Chio-Capability, is a 400 (the header's token was ignored); a 401
 * names its scheme in WWW-Authenticate (RFC 9110; it had none); the
 * parameter_hash guard's evidence says when no hash was sent; a token no
 * trusted issuer signed gets no kept session (one per made-up token id
 * was kept, each holding its parsed token).
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
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/poll.h"
#include "common/testutil.h"

#define BEARER "rev24-contract-bearer-0123456789"

static char *dir;

static void setup(void)
{
    dir = testutil_tmpdir();
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
}

TestSuite(serve_origin, .init = setup, .fini = teardown);
TestSuite(serve_conn, .init = setup, .fini = teardown);
TestSuite(serve_contract, .init = setup, .fini = teardown);

/* `chio serve` on a new loopback port, with @limits (0: none; 1:
 * "--max-connections 4 --timeout 2" for the serve_conn tests; 2: the bearer
 * token BEARER in a --token-file): its pid and port. */
static pid_t start_sidecar(unsigned *port, int limits)
{
    char *seed, *db, *out, *tokfile;
    const char *kg[] = {"keygen", "--out", NULL, NULL};
    cli_result r;
    uint64_t end;
    pid_t pid;

    cr_assert_geq(asprintf(&seed, "%s/kernel.seed", dir), 0);
    cr_assert_geq(asprintf(&db, "%s/db", dir), 0);
    cr_assert_geq(asprintf(&out, "%s/serve.out", dir), 0);
    cr_assert_geq(asprintf(&tokfile, "%s/bearer", dir), 0);
    cr_assert_eq(testutil_write_file(tokfile, BEARER "\n", strlen(BEARER) + 1, 0600), 0);
    kg[2] = seed;
    r = testutil_run_cli(kg, NULL, 0);
    cr_assert_eq(r.status, 0);
    testutil_cli_free(&r);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(o, 1);
        dup2(o, 2);
        if (limits == 2)
            execl(CHIO_TEST_CLI, CHIO_TEST_CLI, "serve", "--receipt-db", db, "--seed-file", seed,
                  "--listen", "127.0.0.1:0", "--token-file", tokfile, (char *)NULL);
        else if (limits)
            execl(CHIO_TEST_CLI, CHIO_TEST_CLI, "serve", "--receipt-db", db, "--seed-file", seed,
                  "--listen", "127.0.0.1:0", "--max-connections", "4", "--timeout", "2",
                  (char *)NULL);
        else
            execl(CHIO_TEST_CLI, CHIO_TEST_CLI, "serve", "--receipt-db", db, "--seed-file", seed,
                  "--listen", "127.0.0.1:0", (char *)NULL);
        _exit(127);
    }
    *port = 0;
    for (end = testutil_now_ms() + 15000; *port == 0 && testutil_now_ms() < end;) {
        char *text = testutil_read_file(out, NULL);
        const char *p = text ? strstr(text, "\"listening\":\"127.0.0.1:") : NULL;
        if (p != NULL && strchr(p, '}') != NULL)
            *port = (unsigned)atoi(p + strlen("\"listening\":\"127.0.0.1:"));
        free(text);
        if (*port == 0)
            testutil_nap_ms(5);
    }
    cr_assert_neq(*port, 0, "chio serve did not start serving within 15 s");
    free(seed);
    free(db);
    free(out);
    free(tokfile);
    return pid;
}

/* A new loopback connection to @port. */
static int dial(unsigned port)
{
    int fd = testutil_dial(port);

    cr_assert_geq(fd, 0, "connect to 127.0.0.1:%u", port);
    return fd;
}

/* @req sent whole on a new connection; all that comes back until the
 * peer closes (or 5 s pass: a kept connection shows as a short answer). */
static char *exchange(unsigned port, const char *req, size_t reqlen)
{
    char *all;
    int fd = dial(port);

    cr_assert_eq(send(fd, req, reqlen, MSG_NOSIGNAL), (ssize_t)reqlen);
    all = testutil_recv_until(fd, NULL, 5000);
    close(fd);
    return all;
}

/* POST @body to /v1/evaluate with @extra header lines; the whole answer. */
static char *post_evaluate(unsigned port, const char *extra, const char *body)
{
    char *req, *all;
    int reqlen = asprintf(&req,
                          "POST /v1/evaluate HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: "
                          "close\r\n%sContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
                          extra, strlen(body), body);

    cr_assert_geq(reqlen, 0);
    all = exchange(port, req, (size_t)reqlen);
    free(req);
    return all;
}

static size_t count(const char *s, const char *what)
{
    size_t n = 0;

    for (; (s = strstr(s, what)) != NULL; s += strlen(what))
        n++;
    return n;
}

Test(serve_origin, a_request_with_an_origin_is_403_and_signs_nothing)
{
    static const char body[] =
        "{\"capability_id\":\"nope\",\"tool_server\":\"a\",\"tool_name\":\"b\"}";
    unsigned port;
    pid_t pid = start_sidecar(&port, 0);
    char *got;
    int st;

    got = post_evaluate(port, "Origin: https://evil.example\r\n", body);
    cr_expect(strncmp(got, "HTTP/1.1 403 ", 13) == 0, "a browser's POST: %s", got);
    cr_expect(strstr(got, "\"code\":\"forbidden\"") != NULL, "%s", got);
    cr_expect(strstr(got, "\"receipt\"") == NULL, "no receipt signed: %s", got);
    free(got);
    got = post_evaluate(port, "Origin: http://127.0.0.1\r\n", body);
    cr_expect(strncmp(got, "HTTP/1.1 403 ", 13) == 0, "a loopback page too: %s", got);
    free(got);
    /* The same request from a host service (no Origin) is evaluated. */
    got = post_evaluate(port, "", body);
    cr_expect(strncmp(got, "HTTP/1.1 200 ", 13) == 0, "%s", got);
    cr_expect(strstr(got, "\"verdict\":\"deny\"") != NULL, "%s", got);
    free(got);
    kill(pid, SIGTERM);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

Test(serve_origin, a_body_framed_two_ways_is_400_and_the_connection_closes)
{
    /* Chunked, the evaluate body, then a second request: a proxy reading
     * Content-Length: 4 sees other requests than libmicrohttpd did. */
    static const char te_cl[] =
        "POST /v1/evaluate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
        "3b\r\n{\"capability_id\":\"x\",\"tool_server\":\"a\",\"tool_name\":\"bbbbb\"}\r\n"
        "0\r\n\r\nGET /chio/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    static const char te_x[] = "POST /v1/evaluate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               "Transfer-Encoding: xchunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
    unsigned port;
    pid_t pid = start_sidecar(&port, 0);
    char *got;
    int st;

    got = exchange(port, te_cl, strlen(te_cl));
    cr_expect(strncmp(got, "HTTP/1.1 400 ", 13) == 0, "%s", got);
    cr_expect(strstr(got, "Content-Length and Transfer-Encoding") != NULL, "%s", got);
    cr_expect_eq(count(got, "HTTP/1.1 "), 1, "one answer, then the close: %s", got);
    free(got);
    got = exchange(port, te_x, strlen(te_x));
    cr_expect(strncmp(got, "HTTP/1.1 400 ", 13) == 0, "%s", got);
    cr_expect(strstr(got, "other than chunked") != NULL, "%s", got);
    free(got);
    kill(pid, SIGTERM);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
}

Test(serve_origin, a_malformed_header_name_is_400_and_what_follows_is_never_read)
{
    /* Each hides a Content-Length or Transfer-Encoding from libmicrohttpd
     * (it read no body, so the body's bytes were the next request) that a
     * proxy may have read as one; the body here is a whole second request. */
    static const char *const hidden[] = {
        "Content-Length : 40\r\n",             /* whitespace before the colon */
        "Content-Length\t: 40\r\n",            /* a tab there */
        "Content-Length:\r\n 40\r\n",          /* a folded value */
        "X-Pad: a\r\n Content-Length: 40\r\n", /* a folded line with the name */
    };
    static const char second[] = "GET /chio/live HTTP/1.1\r\nHost: [::1]\r\n\r\n"; /* 40 B */
    static const char te10[] = "POST /v1/evaluate HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "2\r\n{}\r\n0\r\n\r\n";
    unsigned port;
    pid_t pid = start_sidecar(&port, 0);
    char *req, *got;
    size_t i;
    int n;

    cr_assert_eq(strlen(second), 40);
    for (i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
        n = asprintf(&req, "POST /v1/evaluate HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n%s", hidden[i],
                     second);
        cr_assert_geq(n, 0);
        got = exchange(port, req, (size_t)n);
        cr_expect(strncmp(got, "HTTP/1.1 400 ", 13) == 0, "%zu: %s", i, got);
        cr_expect(strstr(got, "malformed header name") != NULL, "%zu: %s", i, got);
        cr_expect_eq(count(got, "HTTP/1.1 "), 1, "%zu: one answer, then the close: %s", i, got);
        cr_expect(strstr(got, "\"live\"") == NULL, "%zu: the body was not run: %s", i, got);
        free(got);
        free(req);
    }
    got = exchange(port, te10, strlen(te10));
    cr_expect(strncmp(got, "HTTP/1.1 400 ", 13) == 0, "%s", got);
    cr_expect(strstr(got, "HTTP/1.0 request") != NULL, "%s", got);
    free(got);
    /* A bare CR inside a value: libmicrohttpd keeps it in the value, a
     * proxy may end the line there and read a Content-Length of its own
     * (review 30). Other control characters likewise. */
    {
        static const char *const values[] = {"X-Pad: a\rContent-Length: 40\r\n",
                                             "X-Pad: a\x01b\r\n", "X-Pad: a\x7f\r\n"};
        for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
            n = asprintf(&req, "POST /v1/evaluate HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n%s",
                         values[i], second);
            cr_assert_geq(n, 0);
            got = exchange(port, req, (size_t)n);
            cr_expect(strncmp(got, "HTTP/1.1 400 ", 13) == 0, "value %zu: %s", i, got);
            cr_expect(strstr(got, "control character") != NULL, "value %zu: %s", i, got);
            cr_expect(strstr(got, "\"live\"") == NULL, "value %zu: the body ran: %s", i, got);
            free(got);
            free(req);
        }
    }
    kill(pid, SIGTERM);
    cr_assert_eq(waitpid(pid, &n, 0), pid);
}

/* ---- serve_conn ---- */

/* 1 when the server closed @fd (EOF or reset), waiting up to @ms. */
static int closed_within(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    char c;

    return poll(&p, 1, ms) > 0 && recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

static void stop(pid_t pid)
{
    int st;

    kill(pid, SIGTERM);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "chio serve exits 0");
}

Test(serve_conn, half_sent_requests_past_the_cap_do_not_lock_a_client_out)
{
    static const char half[] = "POST /v1/evaluate HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    static const char live[] = "GET /chio/live HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               "Connection: close\r\n\r\n";
    struct timeval tv = {3, 0};
    unsigned port;
    pid_t pid = start_sidecar(&port, 1);
    int held[8], fd, i;
    char buf[4096];
    ssize_t n;

    for (i = 0; i < 8; i++) {
        held[i] = dial(port);
        cr_assert_eq(send(held[i], half, strlen(half), MSG_NOSIGNAL), (ssize_t)strlen(half));
    }
    fd = dial(port);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    cr_assert_eq(send(fd, live, strlen(live), MSG_NOSIGNAL), (ssize_t)strlen(live));
    n = recv(fd, buf, sizeof(buf) - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    cr_expect(strncmp(buf, "HTTP/1.1 200 ", 13) == 0,
              "a client past 8 half-sent requests (--max-connections 4) is answered: '%s'", buf);
    close(fd);
    /* The oldest half-sent ones were evicted: at most 4 connections kept. */
    for (i = 0; i < 5; i++)
        cr_expect(closed_within(held[i], 1000), "half-sent request %d evicted", i);
    for (i = 0; i < 8; i++)
        close(held[i]);
    stop(pid);
}

Test(serve_conn, a_request_dripped_a_byte_at_a_time_is_cut_at_its_deadline)
{
    static const char head[] = "POST /v1/evaluate HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    unsigned port;
    pid_t pid = start_sidecar(&port, 1);
    uint64_t start, end;
    int fd = dial(port), cut = 0;

    cr_assert_eq(send(fd, head, strlen(head), MSG_NOSIGNAL), (ssize_t)strlen(head));
    /* A byte each 250 ms: never idle for --timeout 2, never done. */
    start = testutil_now_ms();
    for (end = start + 5000; !cut && testutil_now_ms() < end;)
        cut = send(fd, "a", 1, MSG_NOSIGNAL) != 1 || closed_within(fd, 250);
    cr_expect(cut, "a dripped request is still open after 5 s (deadline: 2 s)");
    cr_expect_geq(testutil_now_ms() - start, 1500, "not cut before its deadline");
    close(fd);
    stop(pid);
}

/* ---- serve_contract --------------------------------------------------------------------- */

/* Stop the sidecar with SIGTERM; it exits 0. */
static void stop_sidecar(pid_t pid)
{
    int st;

    kill(pid, SIGTERM);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

Test(serve_contract, a_wrong_method_is_405_with_an_allow_header)
{
    static const struct {
        const char *method, *path, *allow;
    } cases[] = {
        {"POST", "/chio/health", "Allow: GET\r\n"},
        {"HEAD", "/chio/live", "Allow: GET\r\n"},
        {"GET", "/v1/evaluate", "Allow: POST\r\n"},
        {"DELETE", "/v1/capabilities/revoke", "Allow: POST\r\n"},
    };
    unsigned port;
    pid_t pid = start_sidecar(&port, 0);
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *req, *got;
        int n = asprintf(&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                         cases[i].method, cases[i].path);

        cr_assert_geq(n, 0);
        got = exchange(port, req, (size_t)n);
        cr_expect(strncmp(got, "HTTP/1.1 405 ", 13) == 0, "%s %s: %s", cases[i].method,
                  cases[i].path, got);
        cr_expect(strstr(got, cases[i].allow) != NULL, "%s %s names %s: %s", cases[i].method,
                  cases[i].path, cases[i].allow, got);
        free(req);
        free(got);
    }
    stop_sidecar(pid);
}

/* A token of the sidecar's own seed (dir/kernel.seed) for srv:echo, its JSON
 * text without the newline (malloc'd). */
static char *own_token(void)
{
    char *seed, *text;
    const char *argv[] = {"capability",
                          "issue",
                          "--seed-file",
                          NULL,
                          "--subject",
                          "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a",
                          "--scope",
                          "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"echo\","
                          "\"operations\":[\"invoke\"]}]}",
                          "--ttl",
                          "600",
                          "--id",
                          "cap-twice",
                          NULL};
    cli_result r;

    cr_assert_geq(asprintf(&seed, "%s/kernel.seed", dir), 0);
    argv[3] = seed;
    r = testutil_run_cli(argv, NULL, 0);
    cr_assert_eq(r.status, 0, "%s", r.err);
    text = strndup(r.out, strcspn(r.out, "\n"));
    testutil_cli_free(&r);
    free(seed);
    return text;
}

Test(serve_contract, a_token_given_inline_and_in_the_header_is_400)
{
    unsigned port;
    pid_t pid = start_sidecar(&port, 0);
    char *tok = own_token(), *body, *got;

    cr_assert_geq(asprintf(&body,
                           "{\"capability\":%s,\"tool_server\":\"srv\",\"tool_name\":"
                           "\"echo\"}",
                           tok),
                  0);
    /* Alone, the inline token is allowed. */
    got = post_evaluate(port, "", body);
    cr_expect(strstr(got, "\"verdict\":\"allow\"") != NULL, "%s", got);
    /* No parameter_hash was sent: the guard's evidence says so (it read as
     * a plain pass, as if a hash had been checked). */
    cr_expect(strstr(got, "\"details\":\"no parameter_hash was sent") != NULL, "%s", got);
    free(got);
    /* With any X-Chio-Capability as well: refused, nothing signed. */
    got = post_evaluate(port, "X-Chio-Capability: e30\r\n", body);
    cr_expect(strncmp(got, "HTTP/1.1 400 ", 13) == 0, "%s", got);
    cr_expect(strstr(got, "\"code\":\"invalid_request\"") != NULL, "%s", got);
    cr_expect(strstr(got, "\"receipt\"") == NULL, "%s", got);
    free(got);
    free(body);
    free(tok);
    stop_sidecar(pid);
}

/* The kernel session a receipt in @answer names (malloc'd). */
static char *receipt_session(const char *answer)
{
    const char *p = strstr(answer, "\"session_id\":\"");

    cr_assert_not_null(p, "%s", answer);
    p += strlen("\"session_id\":\"");
    return strndup(p, strcspn(p, "\""));
}

/* @tok evaluated twice inline: 1 when both receipts name one session. */
static int same_session_twice(unsigned port, const char *tok, const char *verdict)
{
    char *body, *got, *sid[2];
    int i, same;

    cr_assert_geq(
        asprintf(&body, "{\"capability\":%s,\"tool_server\":\"srv\",\"tool_name\":\"echo\"}", tok),
        0);
    for (i = 0; i < 2; i++) {
        got = post_evaluate(port, "", body);
        cr_expect(strstr(got, verdict) != NULL, "%s", got);
        sid[i] = receipt_session(got);
        free(got);
    }
    same = strcmp(sid[0], sid[1]) == 0;
    free(sid[0]);
    free(sid[1]);
    free(body);
    return same;
}

Test(serve_contract, a_token_no_trusted_issuer_signed_is_not_kept)
{
    unsigned port;
    pid_t pid = start_sidecar(&port, 0);
    char *tok = own_token(), *forged = strdup(tok), *sig;

    /* Kept: its second call runs in the first one's session. */
    cr_expect(same_session_twice(port, tok, "\"verdict\":\"allow\""));
    /* The same token with a made-up signature: denied, with a receipt,
     * and its session closed after each call. One was kept per token id
     * (up to 65536, each holding its parsed token, up to --max-body): a
     * made-up token per call grew the sidecar by megabytes a call. */
    cr_assert_not_null(sig = strstr(forged, "\"signature\":\""));
    memset(sig + strlen("\"signature\":\""), '0', 128);
    cr_assert_not_null(sig = strstr(forged, "\"cap-twice\""));
    memcpy(sig, "\"cap-forge\"", strlen("\"cap-forge\"")); /* an id of its own */
    cr_expect(!same_session_twice(port, forged, "\"code\":\"invalid_signature\""));
    free(forged);
    free(tok);
    stop_sidecar(pid);
}

Test(serve_contract, a_401_names_the_bearer_scheme)
{
    static const char *const auths[] = {"", "Authorization: Bearer wrong-wrong-wrong-wrong\r\n",
                                        "Authorization: Basic " BEARER "\r\n"};
    static const char body[] =
        "{\"capability_id\":\"nope\",\"tool_server\":\"a\",\"tool_name\":\"b\"}";
    unsigned port;
    pid_t pid = start_sidecar(&port, 2);
    size_t i;
    char *got;

    for (i = 0; i < sizeof(auths) / sizeof(auths[0]); i++) {
        got = post_evaluate(port, auths[i], body);
        cr_expect(strncmp(got, "HTTP/1.1 401 ", 13) == 0, "%s", got);
        cr_expect(strstr(got, "\r\nWWW-Authenticate: Bearer realm=\"chio serve\"\r\n") != NULL,
                  "%s", got);
        free(got);
    }
    /* The right token: evaluated (an unknown id is a deny), no challenge. */
    got = post_evaluate(port, "Authorization: Bearer " BEARER "\r\n", body);
    cr_expect(strncmp(got, "HTTP/1.1 200 ", 13) == 0, "%s", got);
    cr_expect(strstr(got, "WWW-Authenticate") == NULL, "%s", got);
    free(got);
    stop_sidecar(pid);
}
