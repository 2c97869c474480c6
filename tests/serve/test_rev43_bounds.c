/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/serve/test_rev43_bounds.c - review 43 of the sidecar's bounds under
 * hostile clients, against the real `chio serve` over loopback HTTP/1.1.
 * Suite rev43_bounds:
 * - a chunked body past --max-body was read on and dropped, with no end,
 *   so that its 413 could be answered once the body ended (libmicrohttpd
 *   queues no answer while a body is being read). A body that never ends
 *   held its connection's thread, reading, for as long as it flowed: on a
 *   connection that had had a 2xx answer (any GET /chio/live) no deadline
 *   applies, so the only end was eviction at --max-connections. Now the
 *   dropping stops at twice --max-body plus 64 KiB and the connection is
 *   closed unanswered; a body that ends sooner still gets its 413.
 * - a slow read: a client that pipelines requests and never reads the
 *   answers leaves its connection inside an answer that cannot be sent,
 *   which the connection guard counted as inside a request: never
 *   evicted, no deadline (libmicrohttpd's idle timeout only, reset by any
 *   byte read). --max-connections plus 16 such connections, opened
 *   without credentials (GET /metrics), held every slot, and no other
 *   client was served. Now an answer has the request deadline to be read,
 *   and past the cap the answers waiting a second or more are cut first.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "serve/sidecar_proc.h"

#define BEARER   "rev43-bounds-bearer-0123456789ab"
#define SEED_HEX "4343434343434343434343434343434343434343434343434343434343434343"

/* The sidecar's default --max-body (sidecar_proc.h starts it without one). */
#define MAX_BODY (1024u * 1024u)

TestSuite(rev43_bounds, .timeout = 60);

/* Threads of process @pid (entries of /proc/PID/task), or -1. */
static int thread_count(pid_t pid)
{
    char path[64];
    struct dirent *de;
    DIR *d;
    int n = 0;

    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    if ((d = opendir(path)) == NULL)
        return -1;
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

typedef struct threads_at_most {
    pid_t pid;
    int n;
} threads_at_most;

static int threads_back(void *arg)
{
    const threads_at_most *t = arg;
    int n = thread_count(t->pid);

    return n >= 0 && n <= t->n;
}

/* A GET /chio/live on @fd, kept alive, answered 200: the connection has
 * had a 2xx answer, so the guard's request deadline no longer applies. */
static void live_on(int fd)
{
    static const char req[] = "GET /chio/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    char *got;

    cr_assert_eq(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(req) - 1);
    got = testutil_recv_until(fd, "}", 10000);
    cr_assert_eq(strncmp(got, "HTTP/1.1 200", 12), 0, "%s", got);
    free(got);
}

Test(rev43_bounds, a_chunked_body_without_end_is_cut_off_past_the_limit)
{
    static const char post[] = "POST /v1/evaluate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               "Authorization: Bearer " BEARER "\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n";
    /* Far past what the sidecar now reads (2 MiB + 64 KiB) plus what the
     * two sockets' buffers on loopback can hold. */
    const size_t limit = 64u * MAX_BODY;
    threads_at_most base;
    sidecar sc;
    char *answer = NULL, *reply = NULL;
    size_t sent;
    int fd, closed;

    sidecar_start(&sc, SEED_HEX, BEARER "\n");
    base.pid = sc.pid;
    base.n = thread_count(sc.pid);
    cr_assert_gt(base.n, 0);
    fd = testutil_dial(sc.port);
    cr_assert_geq(fd, 0);
    live_on(fd); /* past its first 2xx: no request deadline */
    cr_assert_eq(send(fd, post, sizeof(post) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(post) - 1);
    sent = testutil_stream_chunked(fd, limit, 20000, &closed, &answer);
    cr_assert(closed,
              "a chunked body past --max-body was read on without end (%zu bytes sent, "
              "the connection still open): %s",
              sent, answer);
    cr_expect_null(strstr(answer, "\"receipt\""), "nothing evaluated: %s", answer);
    close(fd);
    free(answer);
    /* Its thread ends, and the sidecar keeps serving. */
    cr_expect(testutil_wait_until(threads_back, &base, 10000),
              "the sidecar's threads back to %d (now %d)", base.n, thread_count(sc.pid));
    cr_assert_eq(sidecar_post(&sc, "/chio/live", "", "", &reply), 405, "%s", reply);
    free(reply);
    sidecar_stop(&sc);
}

Test(rev43_bounds, a_chunked_body_that_ends_past_the_limit_is_still_413)
{
    static const char post[] = "POST /v1/evaluate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               "Authorization: Bearer " BEARER "\r\n"
                               "Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n";
    static char chunk[TESTUTIL_CHUNK_LEN];
    sidecar sc;
    char *got;
    size_t i, sent = 0;
    int fd;

    memcpy(chunk, "10000\r\n", 7);
    memset(chunk + 7, ' ', 65536);
    memcpy(chunk + 7 + 65536, "\r\n", 2);
    sidecar_start(&sc, SEED_HEX, BEARER "\n");
    fd = testutil_dial(sc.port);
    cr_assert_geq(fd, 0);
    live_on(fd);
    cr_assert_eq(send(fd, post, sizeof(post) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(post) - 1);
    /* 17 chunks of 64 KiB: 64 KiB past the limit, then the end. */
    for (i = 0; i < 17; i++) {
        cr_assert_eq(send(fd, chunk, TESTUTIL_CHUNK_LEN, MSG_NOSIGNAL),
                     (ssize_t)TESTUTIL_CHUNK_LEN);
        sent += 65536;
    }
    cr_assert_gt(sent, MAX_BODY);
    cr_assert_eq(send(fd, "0\r\n\r\n", 5, MSG_NOSIGNAL), 5);
    got = testutil_recv_until(fd, "}", 10000);
    cr_assert_eq(strncmp(got, "HTTP/1.1 413", 12), 0, "%s", got);
    cr_expect_not_null(strstr(got, "body_too_large"), "%s", got);
    free(got);
    close(fd);
    sidecar_stop(&sc);
}

/* Slots of a sidecar started with --max-connections 1: the cap and
 * libmicrohttpd's 16 more (serve/http.c, EVICT_SLACK). */
#define SLOTS 17
/* Pipelined GET /metrics per slow reader: answers of some 3 KB each, far
 * more than the two sockets' buffers on loopback hold. */
#define PIPELINED 4000

/* Bytes the sidecar's socket for the connection from local port @peer to
 * @port holds unsent (its tx_queue in /proc/net/tcp), or 0. */
static unsigned long unsent_to(unsigned port, unsigned peer)
{
    char line[512];
    unsigned lport, rport;
    unsigned long tx = 0, v;
    FILE *f = fopen("/proc/net/tcp", "r");

    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, " %*u: %*x:%x %*x:%x %*x %lx:%*x", &lport, &rport, &v) == 3 &&
            lport == port && rport == peer)
            tx = v;
    fclose(f);
    return tx;
}

Test(rev43_bounds, slow_reads_on_every_slot_do_not_lock_clients_out)
{
    static const char get[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    static const char live[] =
        "GET /chio/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    const char *extra[] = {"--max-connections", "1", NULL};
    size_t glen = sizeof(get) - 1, total = glen * PIPELINED, sent, i;
    int readers[SLOTS], fd, small = 1024, stuck;
    struct sockaddr_in a;
    socklen_t alen;
    char *reqs, *got;
    uint64_t t0, until, changed;
    unsigned long last;
    sidecar sc;
    ssize_t n;

    reqs = malloc(total);
    cr_assert_not_null(reqs);
    for (i = 0; i < PIPELINED; i++)
        memcpy(reqs + i * glen, get, glen);
    sidecar_start_with(&sc, SEED_HEX, BEARER "\n", extra);
    /* Every slot: a connection that pipelines its requests and reads
     * nothing, with a small receive buffer, until the sidecar holds an
     * answer it cannot send on it (its socket's send queue full and still). */
    for (i = 0; i < SLOTS; i++) {
        readers[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        cr_assert_geq(readers[i], 0);
        cr_assert_eq(setsockopt(readers[i], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t)sc.port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        cr_assert_eq(connect(readers[i], (struct sockaddr *)&a, sizeof(a)), 0);
        alen = sizeof(a);
        cr_assert_eq(getsockname(readers[i], (struct sockaddr *)&a, &alen), 0);
        cr_assert_eq(fcntl(readers[i], F_SETFL, fcntl(readers[i], F_GETFL) | O_NONBLOCK), 0);
        stuck = 0;
        last = 0;
        changed = testutil_now_ms();
        for (sent = 0, until = changed + 10000; testutil_now_ms() < until;) {
            unsigned long tx = unsent_to(sc.port, ntohs(a.sin_port));

            if (tx != last) {
                last = tx;
                changed = testutil_now_ms();
            } else if (tx >= 16384 && testutil_now_ms() - changed >= 250) {
                stuck = 1; /* the answers stopped: its thread waits to send */
                break;
            }
            n = sent < total ? send(readers[i], reqs + sent, total - sent, MSG_NOSIGNAL) : -1;
            if (n > 0)
                sent += (size_t)n;
            else
                testutil_nap_ms(5);
        }
        cr_assert(stuck, "slow reader %zu: the sidecar's answers never backed up", i);
    }
    free(reqs);
    /* Another client is served well before the slow reads' deadline
     * (10 s from each answer, serve/http.c REQUEST_SECS): before review 43
     * it waited for libmicrohttpd's idle timeout (30 s). */
    t0 = testutil_now_ms();
    fd = testutil_dial(sc.port);
    cr_assert_geq(fd, 0);
    cr_assert_eq(send(fd, live, sizeof(live) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(live) - 1);
    got = testutil_recv_until(fd, "}", 8000);
    cr_assert_eq(strncmp(got, "HTTP/1.1 200", 12), 0,
                 "a client was not served within %llu ms while slow reads held every slot: '%s'",
                 (unsigned long long)(testutil_now_ms() - t0), got);
    free(got);
    close(fd);
    for (i = 0; i < SLOTS; i++)
        close(readers[i]);
    sidecar_stop(&sc);
}
