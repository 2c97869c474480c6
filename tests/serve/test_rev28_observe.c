/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/serve/test_rev28_observe.c - review 28: the real `chio serve`'s
 * stderr under a client that sends malformed HTTP. libmicrohttpd logs a
 * line for each request it cannot parse, before any bearer token is
 * checked: the sidecar writes at most one such line a second, the next
 * one naming how many were not written, each on one line without control
 * characters.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
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

#define BAD_REQUESTS 300

typedef struct sidecar {
    pid_t pid;
    unsigned port;
    char *dir, *out, *err;
} sidecar;

/* Start `chio serve` on a free loopback port; fails the test unless it serves within 15 s. */
static void start(sidecar *sc)
{
    char seed[512], db[512], *text;
    uint64_t end;

    sc->dir = testutil_tmpdir();
    snprintf(seed, sizeof(seed), "%s/seed", sc->dir);
    snprintf(db, sizeof(db), "%s/db", sc->dir);
    cr_assert_geq(asprintf(&sc->out, "%s/out", sc->dir), 0);
    cr_assert_geq(asprintf(&sc->err, "%s/err", sc->dir), 0);
    cr_assert_eq(
        testutil_write_file(
            seed, "2828282828282828282828282828282828282828282828282828282828282828", 64, 0600),
        0);
    sc->pid = fork();
    cr_assert_geq(sc->pid, 0);
    if (sc->pid == 0) {
        const char *argv[] = {CHIO_TEST_CLI, "serve",    "--receipt-db", db,  "--seed-file",
                              seed,          "--listen", "127.0.0.1:0",  NULL};
        int o = open(sc->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(sc->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives a failed test */
        dup2(o, 1);
        dup2(e, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    end = testutil_now_ms() + 15000;
    while (testutil_now_ms() < end) {
        const char *p;
        text = testutil_read_file(sc->out, NULL);
        p = text ? strstr(text, "\"listening\":\"127.0.0.1:") : NULL;
        if (p != NULL && strchr(p, '}') != NULL) {
            sc->port = (unsigned)atoi(p + strlen("\"listening\":\"127.0.0.1:"));
            free(text);
            return;
        }
        free(text);
        testutil_nap_ms(5);
    }
    cr_assert_fail("chio serve did not serve within 15 s");
}

static void stop(sidecar *sc)
{
    int st;

    kill(sc->pid, SIGKILL);
    waitpid(sc->pid, &st, 0);
    testutil_rmrf(sc->dir);
    free(sc->dir);
    free(sc->out);
    free(sc->err);
}

/* One malformed request (a header line without a colon); waits for the
 * 400, so that the server has handled (and logged) it. */
static void bad_request(unsigned port)
{
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n"
                              "Bad\x1b[2J header\r\n\r\n";
    struct sockaddr_in a;
    char buf[64];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {10, 0};

    cr_assert_geq(fd, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(write(fd, req, sizeof(req) - 1), (ssize_t)(sizeof(req) - 1));
    cr_assert_gt(read(fd, buf, sizeof(buf)), 0, "no answer to a malformed request");
    cr_expect_eq(strncmp(buf, "HTTP/1.1 400", 12), 0);
    close(fd);
}

/* Lines of @text that hold @needle. */
static int lines_with(const char *text, const char *needle)
{
    int n = 0;
    const char *p = text;

    while (p != NULL && *p != '\0') {
        const char *nl = strchr(p, '\n'), *hit = strstr(p, needle);
        if (hit != NULL && (nl == NULL || hit < nl))
            n++;
        p = nl ? nl + 1 : NULL;
    }
    return n;
}

Test(rev28_observe, malformed_requests_write_at_most_a_line_a_second_to_stderr)
{
    sidecar sc;
    uint64_t t0, secs, end;
    char *err = NULL;
    size_t len = 0, i;
    int lines, reported = 0;

    start(&sc);
    t0 = testutil_now_ms();
    for (i = 0; i < BAD_REQUESTS; i++)
        bad_request(sc.port);
    secs = (testutil_now_ms() - t0) / 1000 + 1;
    err = testutil_read_file(sc.err, &len);
    cr_assert_not_null(err);
    lines = lines_with(err, "Error processing request");
    cr_expect_leq((uint64_t)lines, secs + 1, "%d lines in %llu s:\n%.2000s", lines,
                  (unsigned long long)secs, err);
    cr_expect_null(memchr(err, 0x1b, len), "ESC on stderr");
    free(err);
    /* A later line says how many were not written. */
    end = testutil_now_ms() + 15000;
    while (!reported && testutil_now_ms() < end) {
        bad_request(sc.port);
        err = testutil_read_file(sc.err, NULL);
        reported = err != NULL && strstr(err, "lines not shown since the last one") != NULL;
        free(err);
        if (!reported)
            testutil_nap_ms(100);
    }
    cr_expect(reported, "no line counted the lines not written");
    stop(&sc);
}
