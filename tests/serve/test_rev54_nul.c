/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/serve/test_rev54_nul.c - review 54 of the sidecar (`chio serve`,
 * src/serve/http.c, src/svc/svc_nul.c) over raw HTTP/1.1: a NUL byte in a
 * header value or in the request target. libmicrohttpd keeps it, but
 * hands every value over as a C string, so each check stopped at it: a
 * "Host: 127.0.0.1\0.evil.example" was loopback, "Content-Length: 2\099"
 * framed two bytes, "Transfer-Encoding: chunked\0, gzip" was chunked, a
 * token followed by "\0zz" authenticated and "/chio/health\0/x" was the
 * health route. Each is now the 400 (invalid_request) a control character
 * gets, from the headers alone; the same request without the NUL is
 * served as before.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/testutil.h"
#include "serve/sidecar_proc.h"

#define SEED_HEX "5454545454545454545454545454545454545454545454545454545454545454"
#define BEARER   "rev54-nul-bearer-0123456789abcdef"
#define HEADER_REFUSAL                                                          \
    "{\"code\":\"invalid_request\",\"message\":\"a header value holding a CR, " \
    "a NUL or another control character\"}"
#define LINE_REFUSAL "{\"code\":\"invalid_request\",\"message\":\"a request line holding a NUL\"}"
/* The evaluate route's own answer to the body {}: the request got there. */
#define ROUTE_ANSWER "tool_server and tool_name are required strings"

/* @req (@len bytes, NULs included) on a new connection; all that comes
 * back until the sidecar closes it. */
static char *exchange(const sidecar *sc, const char *req, size_t len)
{
    int fd = testutil_dial(sc->port);
    char *got;

    cr_assert_geq(fd, 0, "connect to 127.0.0.1:%u", sc->port);
    cr_assert_eq(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
    got = testutil_recv_until(fd, NULL, 10000);
    close(fd);
    cr_assert_not_null(got);
    return got;
}

/* Sends @req with its NUL (at @nul), then as libmicrohttpd read it: from
 * the NUL to the end of its word or line dropped. The first must be
 * refused with @refusal, the second answered @status with @served. */
static void nul_and_not(const sidecar *sc, const char *req, size_t len, size_t nul,
                        const char *refusal, const char *status, const char *served)
{
    char *clean = malloc(len);
    char *got;

    size_t cut = nul;

    cr_assert_not_null(clean);
    cr_assert_eq(req[nul], '\0');
    while (cut < len && req[cut] != ' ' && req[cut] != '\r' && req[cut] != '\n')
        cut++;
    memcpy(clean, req, nul);
    memcpy(clean + nul, req + cut, len - cut);
    got = exchange(sc, req, len);
    cr_expect(strncmp(got, "HTTP/1.1 400 ", 13) == 0, "with the NUL: %s", got);
    cr_expect(strstr(got, refusal) != NULL, "with the NUL: %s", got);
    cr_expect(strstr(got, served) == NULL, "with the NUL it was served: %s", got);
    free(got);
    got = exchange(sc, clean, len - (cut - nul));
    cr_expect(strncmp(got, status, strlen(status)) == 0, "without the NUL: %s", got);
    cr_expect(strstr(got, served) != NULL, "without the NUL: %s", got);
    free(got);
    free(clean);
}

/* Where the one NUL of the @len bytes at @req is. */
static size_t nul_at(const char *req, size_t len)
{
    const char *p = memchr(req, '\0', len);

    cr_assert_not_null(p);
    cr_assert_null(memchr(p + 1, '\0', len - (size_t)(p - req) - 1), "one NUL only");
    return (size_t)(p - req);
}

#define CHECK(sc, lit, refusal, status, served) \
    nul_and_not(sc, lit, sizeof(lit) - 1, nul_at(lit, sizeof(lit) - 1), refusal, status, served)

/* What the walk over libmicrohttpd's buffer must not take for a NUL:
 * lines ended by a bare LF (one NUL each, not two), a query (its '?',
 * '&' and '=' are NULs now), an empty query, blanks around a value, an
 * HTTP/1.0 request without headers. */
static void still_served(const sidecar *sc)
{
    static const char *const ok[] = {
        "GET /chio/health HTTP/1.1\nHost: 127.0.0.1\nConnection: close\n\n",
        "GET /chio/health?a=1&b&c= HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        "GET /chio/health? HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        "GET /chio/health HTTP/1.1\r\nHost:\t 127.0.0.1\r\nX-E:\r\nX-F:  a b\t\r\nConnection: "
        "close\r\n\r\n",
        "GET /chio/health HTTP/1.0\r\n\r\n",
    };
    size_t i;
    char *got;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        got = exchange(sc, ok[i], strlen(ok[i]));
        cr_expect(strstr(got, " 200 ") != NULL && strstr(got, "\"status\":\"ok\"") != NULL,
                  "%zu: %s", i, got);
        free(got);
    }
}

TestSuite(rev54_nul);

Test(rev54_nul, a_nul_in_a_header_value_or_the_target_is_400_from_the_headers_alone)
{
    sidecar sc;

    sidecar_start(&sc, SEED_HEX, BEARER "\n");
    /* Host: after the NUL, a name no rule allows. */
    CHECK(&sc,
          "GET /chio/health HTTP/1.1\r\nHost: 127.0.0.1\0.evil.example\r\n"
          "Connection: close\r\n\r\n",
          HEADER_REFUSAL, "HTTP/1.1 200 ", "\"status\":\"ok\"");
    /* Any other header. */
    CHECK(&sc,
          "GET /chio/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\0b\r\n"
          "Connection: close\r\n\r\n",
          HEADER_REFUSAL, "HTTP/1.1 200 ", "\"status\":\"ok\"");
    /* Content-Length: "2\099" was 2 here, 299 (or nothing) to a proxy. */
    CHECK(&sc,
          "POST /v1/evaluate HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " BEARER
          "\r\nContent-Length: 2\099\r\nConnection: close\r\n\r\n{}",
          HEADER_REFUSAL, "HTTP/1.1 400 ", ROUTE_ANSWER);
    /* Transfer-Encoding: "chunked\0,gzip" was a plain chunked. */
    CHECK(&sc,
          "POST /v1/evaluate HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " BEARER
          "\r\nTransfer-Encoding: chunked\0,gzip\r\nConnection: close\r\n\r\n"
          "2\r\n{}\r\n0\r\n\r\n",
          HEADER_REFUSAL, "HTTP/1.1 400 ", ROUTE_ANSWER);
    /* Authorization: a value longer than the token was the token. */
    CHECK(&sc,
          "POST /v1/evaluate HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " BEARER
          "\0zz\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
          HEADER_REFUSAL, "HTTP/1.1 400 ", ROUTE_ANSWER);
    /* The last header, its NUL at the end of the value, before CRLF. */
    CHECK(&sc, "GET /chio/health HTTP/1.1\r\nConnection: close\r\nHost: 127.0.0.1\0\r\n\r\n",
          HEADER_REFUSAL, "HTTP/1.1 200 ", "\"status\":\"ok\"");
    /* The target: "/chio/health\0/x" was the health route, and so was a
     * NUL in its query or at its end. */
    CHECK(&sc, "GET /chio/health\0/x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
          LINE_REFUSAL, "HTTP/1.1 200 ", "\"status\":\"ok\"");
    CHECK(&sc, "GET /chio/health?a\0b HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
          LINE_REFUSAL, "HTTP/1.1 200 ", "\"status\":\"ok\"");
    CHECK(&sc, "GET /chio/health\0 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
          LINE_REFUSAL, "HTTP/1.1 200 ", "\"status\":\"ok\"");
    /* The method: "GET\0X" was GET. */
    CHECK(&sc, "GET\0X /chio/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
          LINE_REFUSAL, "HTTP/1.1 200 ", "\"status\":\"ok\"");
    still_served(&sc);
    sidecar_stop(&sc);
}
