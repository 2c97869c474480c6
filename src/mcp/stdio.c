/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mcp/stdio.c - the stdio transport of `chio mcp serve`: one client
 * session on fds 0 and 1, one wrapped server (child.c). The calling thread
 * polls the client's stdin and a wake-up pipe written when the server's
 * output ends or SIGTERM/SIGINT comes. Messages are newline-delimited JSON
 * (MCP's stdio transport). Sends are serialised by the gateway; this file
 * only writes whole lines, and gives up on a client that does not read
 * them once the gateway is ending (client_write).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcp.h"
#include "mcp_internal.h"

typedef struct io {
    chio__mcp_child child;
    int wake[2];
    int stopping;    /* atomic: the gateway is ending (after the calls' bound) */
    int client_lost; /* atomic: a write to the client was given up on */
} io;

/* Write @n bytes of @p to the client's stdout, waiting for room at most
 * 100 ms at a time: once a signal came or the gateway is stopping, a
 * client that has not read for that long is given up on (-1). A blocking
 * write on a client that stopped reading held the thread making it for
 * good (the client's reader answering a request, or the server's reader
 * passing a message on), and `chio mcp serve` ignored SIGTERM and never
 * ended. Once one write is given up on (or fails), every later one fails
 * at once. Written PIPE_BUF bytes at a time once there is room, so a
 * write to a pipe does not block; fd 1 itself stays blocking (the client
 * may share it). */
static int client_write(io *s, const char *p, size_t n)
{
    if (__atomic_load_n(&s->client_lost, __ATOMIC_SEQ_CST))
        return -1;
    while (n > 0) {
        struct pollfd pfd = {1, POLLOUT, 0};
        ssize_t w;
        int r = poll(&pfd, 1, 100);
        if (r < 0 && errno != EINTR)
            break;
        if (r <= 0) {
            if (chio__mcp_signalled() || __atomic_load_n(&s->stopping, __ATOMIC_SEQ_CST))
                break;
            continue;
        }
        w = write(1, p, n < PIPE_BUF ? n : PIPE_BUF);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        n -= (size_t)w;
    }
    if (n == 0)
        return 0;
    if (!__atomic_exchange_n(&s->client_lost, 1, __ATOMIC_SEQ_CST))
        fprintf(stderr, "chio mcp: the MCP client does not read what the gateway writes it; "
                        "giving up on it\n");
    return -1;
}

/* One line to the client: a CR or LF in it as a space (see
 * chio__mcp_write_line), then "\n". */
static int to_client(void *user, const char *line, size_t len)
{
    io *s = user;
    size_t i, start = 0;

    for (i = 0; i < len; i++)
        if (line[i] == '\r' || line[i] == '\n') {
            if (client_write(s, line + start, i - start) != 0 || client_write(s, " ", 1) != 0)
                return -1;
            start = i + 1;
        }
    if (client_write(s, line + start, len - start) != 0)
        return -1;
    return client_write(s, "\n", 1);
}

static int to_server(void *user, const char *line, size_t len)
{
    io *s = user;

    return chio__mcp_child_send(&s->child, line, len);
}

static void server_ended(void *user)
{
    io *s = user;

    if (write(s->wake[1], "x", 1) < 0) {
        /* the main loop also notices through server_is_closed */
    }
}

/* The client on fds 0 and 1: 0 at the end of its input, 1 when @wake_fd
 * has something. */
static int client_loop(chio_mcp_gateway *g, int wake_fd)
{
    chio__mcp_reader cr = {0};
    int rc = 0;

    for (;;) {
        struct pollfd fds[2] = {{0, POLLIN, 0}, {wake_fd, POLLIN, 0}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[1].revents != 0) {
            rc = 1;
            break;
        }
        if (fds[0].revents != 0 && !chio__mcp_read_lines(&cr, 0, g, chio_mcp_gateway_client_line))
            break;
    }
    free(cr.buf);
    return rc;
}

/* Seconds the calls in flight get to end once the client's input ended,
 * when the policy's kernel.max_stream_duration_secs is 0 (no limit). */
#define EOF_GRACE_SECS 300

/* Wait for the calls in flight to end, for at most @secs seconds: 1 when
 * they did. A call waits on the server for as long as it takes, so
 * SIGTERM/SIGINT still cancel them here (once @cancelled, they are on
 * their way out). */
static int wait_calls(chio_mcp_gateway *g, int wake_fd, int cancelled, uint64_t secs)
{
    struct timespec t0, now;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!chio_mcp_gateway_wait_idle_ms(g, 100)) {
        struct pollfd pfd = {wake_fd, POLLIN, 0};
        char c = 'x';

        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((int64_t)(now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000L >=
            (int64_t)secs * 1000)
            return 0;
        if (cancelled || poll(&pfd, 1, 0) <= 0 || read(wake_fd, &c, 1) != 1 || c != 's')
            continue; /* 'x': the server's output ended, its calls fail */
        fprintf(stderr, "chio mcp: signal received; cancelling calls in flight\n");
        chio_mcp_gateway_cancel_all(g);
        cancelled = 1;
    }
    return 1;
}

int chio_mcp_serve_stdio(const chio_mcp_policy *p, chio_kernel *k, char *const *argv)
{
    chio_mcp_gateway *g = NULL;
    io s;
    int rc = 0, client_eof = 0, cancelled = 0;
    uint64_t grace;

    memset(&s, 0, sizeof(s));
    signal(SIGPIPE, SIG_IGN);
    if (pipe2(s.wake, O_CLOEXEC) != 0)
        return 2;
    if (chio_mcp_gateway_new(p, k, to_client, to_server, &s, &g) != 0) {
        close(s.wake[0]);
        close(s.wake[1]);
        return 2;
    }
    if (chio__mcp_child_spawn(&s.child, argv) != 0) {
        fprintf(stderr, "chio mcp: cannot start the wrapped server %s: %s\n", argv[0],
                strerror(errno));
        chio_mcp_gateway_free(g);
        close(s.wake[0]);
        close(s.wake[1]);
        return 2;
    }
    chio__mcp_signals_to(s.wake[1]);
    if (chio__mcp_child_start(&s.child, g, server_ended, &s) != 0) {
        chio__mcp_child_stop(&s.child);
        chio_mcp_gateway_free(g);
        chio__mcp_signals_to(-1);
        close(s.wake[0]);
        close(s.wake[1]);
        return 2;
    }
    if (client_loop(g, s.wake[0]) == 0) {
        client_eof = 1;
    } else {
        char c = 'x';
        if (read(s.wake[0], &c, 1) == 1 && c == 's') {
            /* SIGTERM/SIGINT: cancel what runs, then end as if the client
             * had closed its input. */
            fprintf(stderr, "chio mcp: signal received; cancelling calls in flight\n");
            chio_mcp_gateway_cancel_all(g);
            client_eof = 1;
            cancelled = 1;
        } else {
            rc = 1; /* the server's output ended */
        }
    }
    if (!client_eof)
        fprintf(stderr, "chio mcp: the wrapped server exited; failing pending calls\n");
    /* Either way the client can no longer answer a request (its input
     * ended, or it is left): calls in flight finish (their answers still
     * go out), then closing the server's stdin ends an MCP stdio server. */
    chio_mcp_gateway_client_closed(g);
    /* Bounded: a server that never answers (hung, or blocked writing to a
     * gateway that waits to write to it) kept the process for good. Past
     * the bound the server is stopped, which fails every call still
     * waiting on it (an error answer and a receipt each), as its exit
     * does. */
    grace = p->max_stream_duration_secs != 0 ? p->max_stream_duration_secs : EOF_GRACE_SECS;
    if (grace > 100000000u) /* over three years: as good as none, and no overflow in ms */
        grace = 100000000u;
    if (!wait_calls(g, s.wake[0], cancelled, grace)) {
        fprintf(stderr,
                "chio mcp: calls in flight did not end within %llus of the end of the client's "
                "input; stopping the wrapped server (they fail)\n",
                (unsigned long long)grace);
        chio__mcp_server_why(g, "the wrapped MCP server did not answer in time after the MCP "
                                "client's input ended; the gateway stopped it");
    }
    /* From here a client that does not read is not waited for. */
    __atomic_store_n(&s.stopping, 1, __ATOMIC_SEQ_CST);
    chio__mcp_child_stop(&s.child);
    chio_mcp_gateway_free(g);
    chio__mcp_signals_to(-1);
    close(s.wake[0]);
    close(s.wake[1]);
    return rc;
}
