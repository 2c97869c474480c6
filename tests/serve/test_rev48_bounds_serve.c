/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/serve/test_rev48_bounds_serve.c - review 48, the services' HTTP
 * bounds against a wall clock that steps back. The connection guard
 * (src/svc/svc_conn.c, shared by the sidecar and the MCP gateway) counts
 * its deadlines on CLOCK_MONOTONIC, but its janitor slept on a condition
 * of the default clock, CLOCK_REALTIME, until "the wall clock now plus a
 * quarter second": a wall clock stepped back an hour (NTP, an operator)
 * right after that reading left the janitor asleep for the hour, and no
 * deadline was enforced meanwhile: a client dripping its headers a byte
 * at a time (which keeps libmicrohttpd's idle timeout from firing) held
 * its connection and thread for good.
 *
 * The step is simulated without touching the machine's clock
 * (tests/common/wallclock.h): CLOCK_REALTIME reads an hour ahead of the
 * clock the kernel waits on, which is what a thread sees when the wall
 * clock steps back an hour right after it read it.
 * Suite rev48_bounds_serve: the sidecar in-process (chio_serve_http_start)
 * on an ephemeral kernel, over loopback.
 */
#include <criterion/criterion.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "common/wallclock.h"
#include "serve/serve.h"

/* ---- the sidecar ------------------------------------------------------------------------- */

TestSuite(rev48_bounds_serve);

/* Seconds a connection has to send a complete request (the guard's
 * deadline: --timeout, when shorter than 10 s) and libmicrohttpd's idle
 * timeout alike. */
#define TIMEOUT_SECS 3u

static chio_serve *serve_new(void)
{
    chio_serve_config cfg;
    chio_keypair *kp = NULL;
    chio_serve *s = NULL;
    chio_error err;

    cr_assert_eq(chio_keypair_generate(&kp, NULL), 0);
    memset(&cfg, 0, sizeof(cfg));
    cfg.keypair = kp;
    cfg.quiet = 1;
    chio_error_init(&err);
    cr_assert_eq(chio_serve_new(&cfg, &s, &err), 0, "%s", err.message);
    return s;
}

static chio_serve_http *http_start(chio_serve *s)
{
    chio_serve_http_config hc;
    chio_serve_http *h = NULL;
    char msg[256];

    memset(&hc, 0, sizeof(hc));
    hc.host = "127.0.0.1";
    hc.max_body = CHIO_SERVE_DEFAULT_MAX_BODY;
    hc.max_connections = 8;
    hc.timeout_secs = TIMEOUT_SECS;
    cr_assert_eq(chio_serve_http_start(s, &hc, &h, msg, sizeof(msg)), 0, "%s", msg);
    return h;
}

/* Has the peer of @fd closed the connection (or reset it)? */
static int peer_closed(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    char c;

    if (poll(&p, 1, 0) <= 0)
        return 0;
    return recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

/*
 * A slowloris client: a request's headers, one byte every 300 ms, never
 * finished. The guard closes it TIMEOUT_SECS after the accept; with the
 * wall clock read an hour ahead of the kernel's (a step back of an hour),
 * it is still closed then, not an hour later. Before review 48 it stayed
 * open: the janitor slept until an hour had passed on the kernel's wall
 * clock.
 */
Test(rev48_bounds_serve, a_wall_clock_stepped_back_does_not_stop_the_request_deadline)
{
    static const char drip[] = "POST /v1/evaluate HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Drip: "
                               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const uint64_t limit_ms = (TIMEOUT_SECS + 6u) * 1000u;
    chio_serve *s = serve_new();
    chio_serve_http *h;
    uint64_t t0, closed_ms = 0;
    size_t i = 0;
    int fd;

    wc_realtime_ahead(3600); /* before the janitor starts */
    h = http_start(s);
    fd = testutil_dial(chio_serve_http_port(h));
    cr_assert_geq(fd, 0);
    t0 = testutil_now_ms();
    while (testutil_now_ms() - t0 < limit_ms) {
        if (peer_closed(fd)) {
            closed_ms = testutil_now_ms() - t0;
            break;
        }
        if (i < sizeof(drip) - 1 && send(fd, drip + i, 1, MSG_NOSIGNAL) == 1)
            i++;
        testutil_nap_ms(300);
    }
    cr_expect_neq(closed_ms, 0,
                  "a connection dripping its headers was still open %llu ms after its accept "
                  "(its deadline: %u s) with the wall clock stepped back an hour",
                  (unsigned long long)limit_ms, TIMEOUT_SECS);
    close(fd);
    wc_realtime_ahead(0);
    chio_serve_http_stop(h);
    chio_serve_free(s);
}
