/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mcp/stdio.c - the stdio transport of `chio mcp serve`: the wrapped
 * server runs as a child process whose stdin and stdout are pipes (its
 * stderr is ours); a reader thread feeds the child's lines to the gateway;
 * the calling thread polls the client's stdin (fd 0) and a wake-up pipe
 * the reader writes when the child's output ends. Messages are newline
 * delimited JSON (MCP's stdio transport). Sends are serialised by the
 * gateway; this file only writes whole lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mcp.h"
#include "mcp_internal.h"

/* Longest line accepted from either side (a bigger one is dropped). */
#define MAX_LINE ((size_t)64 * 1024 * 1024)

typedef struct io {
    const chio__mcp_front *front;
    int child_in, child_out, wake[2];
    pid_t pid;
    chio_mcp_gateway *g;
    int client_gone, server_gone;
} io;

/* The wake pipe's write end, for the SIGTERM/SIGINT handler. */
static int sig_fd = -1;

static void on_signal(int sig)
{
    char c = 's';

    (void)sig;
    if (sig_fd >= 0 && write(sig_fd, &c, 1) < 0) {
        /* nothing to do in a handler */
    }
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int send_line(int fd, const char *line, size_t len)
{
    if (fd < 0 || write_all(fd, line, len) != 0 || write_all(fd, "\n", 1) != 0)
        return -1;
    return 0;
}

static int to_client(void *user, const char *line, size_t len)
{
    io *s = user;

    return s->client_gone ? -1 : s->front->send(s->front->user, line, len);
}

static int to_server(void *user, const char *line, size_t len)
{
    io *s = user;

    return send_line(__atomic_load_n(&s->child_in, __ATOMIC_SEQ_CST), line, len);
}

/* A line splitter over one fd: calls @fn for each complete line. Returns 0
 * at end of input, -1 on a read error. */
typedef void (*line_fn)(chio_mcp_gateway *g, const char *line, size_t len);

typedef struct reader {
    char *buf;
    size_t len, cap;
    int skipping; /* inside an over-long line */
} reader;

/* Read once from @fd and hand complete lines to @fn; 1 = more, 0 = EOF. */
static int read_some(reader *r, int fd, chio_mcp_gateway *g, line_fn fn)
{
    char chunk[65536];
    ssize_t n;
    size_t i, start = 0;

    do
        n = read(fd, chunk, sizeof(chunk));
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return 0;
    for (i = 0; i < (size_t)n; i++) {
        if (chunk[i] != '\n')
            continue;
        if (!r->skipping) {
            size_t part = i - start;
            if (r->len == 0) {
                fn(g, chunk + start, part);
            } else {
                char *nb = realloc(r->buf, r->len + part + 1);
                if (nb != NULL) {
                    memcpy(nb + r->len, chunk + start, part);
                    r->buf = nb;
                    fn(g, r->buf, r->len + part);
                }
            }
        }
        r->len = 0;
        r->skipping = 0;
        start = i + 1;
    }
    if (start < (size_t)n && !r->skipping) {
        size_t part = (size_t)n - start;
        if (r->len + part > MAX_LINE) {
            fprintf(stderr, "chio mcp: dropped a line longer than %zu bytes\n", MAX_LINE);
            r->skipping = 1;
            r->len = 0;
        } else {
            if (r->len + part > r->cap) {
                size_t cap = r->cap ? r->cap : 65536;
                char *nb;
                while (cap < r->len + part)
                    cap *= 2;
                nb = realloc(r->buf, cap);
                if (nb == NULL)
                    return 0;
                r->buf = nb;
                r->cap = cap;
            }
            memcpy(r->buf + r->len, chunk + start, part);
            r->len += part;
        }
    }
    return 1;
}

static void *server_reader(void *arg)
{
    io *s = arg;
    reader r = {0};

    while (read_some(&r, s->child_out, s->g, chio_mcp_gateway_server_line))
        ;
    free(r.buf);
    chio_mcp_gateway_server_closed(s->g);
    if (write(s->wake[1], "x", 1) < 0) {
        /* the main loop also notices through server_is_closed */
    }
    return NULL;
}

static void close_pair(int p[2])
{
    close(p[0]);
    close(p[1]);
}

/* Start @argv with pipes for stdin and stdout. An exec failure is reported
 * through a close-on-exec pipe, so a command that cannot run fails here
 * (with its errno in errno), not later as a server that exits at once. */
static int spawn(io *s, char *const *argv)
{
    int in[2], out[2], ex[2], child_errno = 0;
    ssize_t n;

    if (pipe2(in, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(out, O_CLOEXEC) != 0) {
        close_pair(in);
        return -1;
    }
    if (pipe2(ex, O_CLOEXEC) != 0) {
        close_pair(in);
        close_pair(out);
        return -1;
    }
    s->pid = fork();
    if (s->pid < 0) {
        close_pair(in);
        close_pair(out);
        close_pair(ex);
        return -1;
    }
    if (s->pid == 0) {
        int e;
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
            _exit(127);
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[0], argv);
        e = errno;
        if (write(ex[1], &e, sizeof(e)) < 0)
            _exit(127);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(ex[1]);
    do
        n = read(ex[0], &child_errno, sizeof(child_errno));
    while (n < 0 && errno == EINTR);
    close(ex[0]);
    if (n > 0) {
        int st;
        close(in[1]);
        close(out[0]);
        waitpid(s->pid, &st, 0);
        errno = child_errno;
        return -1;
    }
    s->child_in = in[1];
    s->child_out = out[0];
    return 0;
}

/* Wait for the child up to @ms milliseconds; 1 when it has exited. */
static int reap(pid_t pid, int ms, int *status)
{
    struct timespec ts = {0, 20 * 1000 * 1000};
    int i;

    for (i = 0; i <= ms / 20; i++) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD))
            return 1;
        nanosleep(&ts, NULL);
    }
    return 0;
}

static int stdio_send(void *user, const char *line, size_t len)
{
    (void)user;
    return send_line(1, line, len);
}

/* The client on fds 0 and 1: 0 at the end of its input, 1 when @wake_fd
 * has something. */
static int stdio_loop(void *user, chio_mcp_gateway *g, int wake_fd)
{
    reader cr = {0};
    int rc = 0;

    (void)user;
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
        if (fds[0].revents != 0 && !read_some(&cr, 0, g, chio_mcp_gateway_client_line))
            break;
    }
    free(cr.buf);
    return rc;
}

int chio_mcp_serve_stdio(const chio_mcp_policy *p, chio_kernel *k, char *const *argv)
{
    static const chio__mcp_front front = {stdio_send, NULL, stdio_loop};

    return chio__mcp_run(p, k, argv, &front);
}

int chio__mcp_run(const chio_mcp_policy *p, chio_kernel *k, char *const *argv,
                  const chio__mcp_front *front)
{
    io s;
    pthread_t rt;
    struct sigaction sa;
    int status = 0, rc = 0, client_eof = 0, lrc;

    memset(&s, 0, sizeof(s));
    s.front = front;
    s.child_in = s.child_out = -1;
    signal(SIGPIPE, SIG_IGN);
    if (pipe2(s.wake, O_CLOEXEC) != 0)
        return 2;
    if (chio_mcp_gateway_new(p, k, to_client, to_server, &s, &s.g) != 0) {
        close(s.wake[0]);
        close(s.wake[1]);
        return 2;
    }
    if (spawn(&s, argv) != 0) {
        fprintf(stderr, "chio mcp: cannot start the wrapped server %s: %s\n", argv[0],
                strerror(errno));
        chio_mcp_gateway_free(s.g);
        close(s.wake[0]);
        close(s.wake[1]);
        return 2;
    }
    sig_fd = s.wake[1];
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (pthread_create(&rt, NULL, server_reader, &s) != 0) {
        kill(s.pid, SIGKILL);
        close(s.child_in);
        close(s.child_out);
        reap(s.pid, 5000, &status);
        chio_mcp_gateway_free(s.g);
        return 2;
    }
    lrc = front->loop(front->user, s.g, s.wake[0]);
    if (lrc == 0 || lrc == 2) {
        client_eof = 1;
        rc = lrc;
    } else {
        char c = 'x';
        if (read(s.wake[0], &c, 1) == 1 && c == 's') {
            /* SIGTERM/SIGINT: cancel what runs, then end as if the client
             * had closed its input. */
            fprintf(stderr, "chio mcp: signal received; cancelling calls in flight\n");
            chio_mcp_gateway_cancel_all(s.g);
            client_eof = 1;
        } else {
            rc = 1; /* the server's output ended */
        }
    }
    if (client_eof) {
        /* The client is done: let calls in flight finish, then close the
         * server's stdin, which ends an MCP stdio server. */
        chio_mcp_gateway_wait_idle(s.g);
        chio_mcp_gateway_client_closed(s.g);
    } else {
        fprintf(stderr, "chio mcp: the wrapped server exited; failing pending calls\n");
        chio_mcp_gateway_client_closed(s.g);
        chio_mcp_gateway_wait_idle(s.g);
    }
    {
        int fd = __atomic_exchange_n(&s.child_in, -1, __ATOMIC_SEQ_CST);
        close(fd);
    }
    if (!reap(s.pid, 1000, &status)) {
        kill(s.pid, SIGTERM);
        if (!reap(s.pid, 2000, &status)) {
            kill(s.pid, SIGKILL);
            reap(s.pid, 5000, &status);
        }
    }
    pthread_join(rt, NULL);
    close(s.child_out);
    chio_mcp_gateway_free(s.g);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    sig_fd = -1;
    close(s.wake[0]);
    close(s.wake[1]);
    return rc;
}
