/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mcp/child.c - the wrapped MCP server as a child process, for both
 * transports: start it with pipes for its stdin and stdout (its stderr is
 * ours), a reader thread that feeds its newline-delimited JSON-RPC lines
 * to a gateway, its stdin written from a bounded queue (feed.c), and the
 * stop sequence (what is queued written for a second at most, stdin
 * closed, SIGTERM after a second, SIGKILL after two more, then the reader
 * ended through a stop pipe, whoever else holds the output). A
 * line of the server's that the gateway cannot read (too long) ends the
 * reader as the server's exit does. Also the
 * line splitter both transports read with, the SIGTERM/SIGINT wake-up and
 * whether a command can be started at all. The server gets the gateway's
 * environment less CHIO_SIGNING_KEY (a kernel's seed); of the descriptors
 * the gateway opens it gets only its stdin and stdout pipes (the others
 * are close-on-exec) and the gateway's stderr.
 * No shared state but the signal handler's descriptor.
 * Locking: feed.c's (a send only queues the line, never blocking on the
 * server); sends come from the gateway holding its server_mu.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mcp_internal.h"

/* ---- lines ---------------------------------------------------------------------- */

/* A line buffer larger than this is freed once its line is handled. */
#define KEEP_BUF ((size_t)1 << 20)

int chio__mcp_read_lines(chio__mcp_reader *r, int fd, chio_mcp_gateway *g, chio__mcp_line_fn fn)
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
        if (!r->skipping && r->len + (i - start) > CHIO__MCP_MAX_LINE) {
            fprintf(stderr, "chio mcp: dropped a line longer than %zu bytes\n", CHIO__MCP_MAX_LINE);
            r->skipping = 1;
            r->dropped++;
        }
        if (r->skipping) {
            fn(g, NULL, 0); /* the dropped line ends here */
        } else {
            size_t part = i - start;
            if (r->len == 0) {
                fn(g, chunk + start, part);
            } else {
                char *nb = realloc(r->buf, r->len + part + 1);
                if (nb != NULL) {
                    memcpy(nb + r->len, chunk + start, part);
                    r->buf = nb;
                    r->cap = r->len + part + 1;
                    fn(g, r->buf, r->len + part);
                } else {
                    r->dropped++;
                    fn(g, NULL, 0);
                }
                if (r->cap > KEEP_BUF) {
                    /* One long line (up to CHIO__MCP_MAX_LINE) left its
                     * buffer held for the reader's life. */
                    free(r->buf);
                    r->buf = NULL;
                    r->cap = 0;
                }
            }
        }
        r->len = 0;
        r->skipping = 0;
        start = i + 1;
    }
    if (start < (size_t)n && !r->skipping) {
        size_t part = (size_t)n - start;
        if (r->len + part > CHIO__MCP_MAX_LINE) {
            fprintf(stderr, "chio mcp: dropped a line longer than %zu bytes\n", CHIO__MCP_MAX_LINE);
            r->skipping = 1;
            r->dropped++;
            r->len = 0;
        } else {
            if (r->len + part > r->cap) {
                size_t cap = r->cap ? r->cap : 65536;
                char *nb;
                while (cap < r->len + part)
                    cap *= 2;
                nb = realloc(r->buf, cap);
                if (nb == NULL) { /* dropped like an over-long line */
                    r->skipping = 1;
                    r->dropped++;
                    r->len = 0;
                    return 1;
                }
                r->buf = nb;
                r->cap = cap;
            }
            memcpy(r->buf + r->len, chunk + start, part);
            r->len += part;
        }
    }
    return 1;
}

/* ---- signals -------------------------------------------------------------------- */

/* The wake pipe's write end, for the SIGTERM/SIGINT handler. */
static int sig_fd = -1;
/* Set by the handler: a thread blocked on its client may give up. */
static volatile sig_atomic_t got_signal;

int chio__mcp_signalled(void)
{
    return got_signal != 0;
}

static void on_signal(int sig)
{
    char c = 's';

    (void)sig;
    got_signal = 1;
    if (sig_fd >= 0 && write(sig_fd, &c, 1) < 0) {
        /* nothing to do in a handler */
    }
}

void chio__mcp_signals_to(int fd)
{
    struct sigaction sa;

    sig_fd = fd;
    got_signal = 0;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fd >= 0 ? on_signal : SIG_DFL;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

/* ---- the child ------------------------------------------------------------------ */

int chio__mcp_write_all(int fd, const char *p, size_t n)
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

int chio__mcp_write_line(int fd, const char *line, size_t len)
{
    size_t i, start = 0;

    for (i = 0; i < len; i++)
        if (line[i] == '\r' || line[i] == '\n') {
            if (chio__mcp_write_all(fd, line + start, i - start) != 0 ||
                chio__mcp_write_all(fd, " ", 1) != 0)
                return -1;
            start = i + 1;
        }
    if (chio__mcp_write_all(fd, line + start, len - start) != 0)
        return -1;
    return chio__mcp_write_all(fd, "\n", 1);
}

int chio__mcp_child_send(chio__mcp_child *c, const char *line, size_t len)
{
    if (!c->live)
        return -1;
    return chio__mcp_feed_send(&c->in, line, len);
}

/* ---- the command ------------------------------------------------------------------ */

int chio_mcp_runnable(const char *cmd)
{
    const char *path = getenv("PATH"), *p, *e;
    char full[4096];
    struct stat sb;

    if (strchr(cmd, '/') != NULL)
        return stat(cmd, &sb) == 0 && S_ISREG(sb.st_mode) && access(cmd, X_OK) == 0;
    for (p = path != NULL ? path : "/bin:/usr/bin"; *p != '\0'; p = *e ? e + 1 : e) {
        e = strchr(p, ':');
        if (e == NULL)
            e = p + strlen(p);
        if (snprintf(full, sizeof(full), "%.*s/%s", (int)(e - p), e > p ? p : ".", cmd) <
                (int)sizeof(full) &&
            stat(full, &sb) == 0 && S_ISREG(sb.st_mode) && access(full, X_OK) == 0)
            return 1;
    }
    return 0;
}

static void close_pair(int p[2])
{
    close(p[0]);
    close(p[1]);
}

extern char **environ;

/* The server's environment: the gateway's, less every CHIO_SIGNING_KEY
 * entry. That variable holds a kernel's seed (examples/host-service reads
 * it; a shell or unit that sets it for one may set it for the gateway
 * too), and the server is the party the gateway keeps from the key.
 * Built before fork (the child of a threaded process may not allocate);
 * the caller frees the array (its strings are environ's). NULL when out
 * of memory. */
static char **server_environ(void)
{
    static const char name[] = "CHIO_SIGNING_KEY=";
    size_t n = 0, i, k = 0;
    char **env;

    while (environ != NULL && environ[n] != NULL)
        n++;
    env = malloc((n + 1) * sizeof(*env));
    if (env == NULL)
        return NULL;
    for (i = 0; i < n; i++)
        if (strncmp(environ[i], name, sizeof(name) - 1) != 0)
            env[k++] = environ[i];
    env[k] = NULL;
    return env;
}

int chio__mcp_child_spawn(chio__mcp_child *c, char *const *argv)
{
    int in[2], out[2], ex[2], child_errno = 0;
    char **env;
    ssize_t n;

    memset(c, 0, sizeof(*c));
    c->out = c->stop[0] = c->stop[1] = c->pidfd = -1;
    env = server_environ();
    if (env == NULL)
        return -1; /* errno ENOMEM */
    if (pipe2(in, O_CLOEXEC) != 0) {
        free(env);
        return -1;
    }
    if (pipe2(out, O_CLOEXEC) != 0) {
        close_pair(in);
        free(env);
        return -1;
    }
    if (pipe2(ex, O_CLOEXEC) != 0) {
        close_pair(in);
        close_pair(out);
        free(env);
        return -1;
    }
    if (pipe2(c->stop, O_CLOEXEC) != 0) {
        int e = errno;
        close_pair(in);
        close_pair(out);
        close_pair(ex);
        free(env);
        errno = e;
        return -1;
    }
    c->pid = fork();
    if (c->pid < 0) {
        int e = errno;
        close_pair(in);
        close_pair(out);
        close_pair(ex);
        close_pair(c->stop);
        free(env);
        errno = e;
        return -1;
    }
    if (c->pid == 0) {
        int e;
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
            _exit(127);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        execvpe(argv[0], argv, env);
        e = errno;
        if (write(ex[1], &e, sizeof(e)) < 0)
            _exit(127);
        _exit(127);
    }
    free(env);
    close(in[0]);
    close(out[1]);
    close(ex[1]);
    /* An exec failure comes back through the close-on-exec pipe, so a
     * command that cannot run fails here, not as a server that exits. */
    do
        n = read(ex[0], &child_errno, sizeof(child_errno));
    while (n < 0 && errno == EINTR);
    close(ex[0]);
    if (n > 0) {
        int st;
        close(in[1]);
        close(out[0]);
        close_pair(c->stop);
        waitpid(c->pid, &st, 0);
        errno = child_errno;
        return -1;
    }
    chio__mcp_feed_init(&c->in, in[1]);
    c->out = out[0];
    /* The child's exit, seen without reaping it (the stop reaps): no pid
     * reuse can make it another process's. Without pidfds (Linux before
     * 5.3) the end of the output alone tells. */
    c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
    c->live = 1;
    return 0;
}

/* Reads of what is left after the stop, at most (64 KiB each): a helper
 * of the server writing on cannot keep the reader. */
#define DRAIN_READS 256

/* Read the server's output until it ends, or until the server exited
 * (its pidfd) or was stopped, and nothing more is ready. Waiting for the
 * end alone hung the stop, and hid the server's death from its calls, for
 * as long as any process the server started (a shell wrapper's or npx's)
 * kept the pipe's write end. */
static void read_until_stop(chio__mcp_child *c, chio__mcp_reader *r)
{
    struct pollfd p[3] = {{c->out, POLLIN, 0}, {c->stop[0], POLLIN, 0}, {c->pidfd, POLLIN, 0}};
    int drained = 0;

    for (;;) {
        if (poll(p, c->pidfd >= 0 ? 3 : 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (p[1].revents != 0 || p[2].revents != 0) { /* gone: what is ready, then the end */
            p[0].revents = 0;
            if (++drained > DRAIN_READS || poll(p, 1, 0) <= 0)
                return;
        }
        if (p[0].revents != 0 &&
            !chio__mcp_read_lines(r, c->out, c->g, chio_mcp_gateway_server_line))
            return;
        if (r->dropped > 0)
            return; /* a line it cannot read: the server is taken for gone */
    }
}

static void *reader_main(void *arg)
{
    chio__mcp_child *c = arg;
    chio__mcp_reader r = {0};

    read_until_stop(c, &r);
    free(r.buf);
    if (r.dropped > 0) {
        /* A line the gateway cannot read (longer than CHIO__MCP_MAX_LINE,
         * or no memory for it) may have been the answer a call waits for,
         * and what follows it cannot be trusted to be whole messages: the
         * server broke the protocol. It is failed as if it had exited: its
         * calls get the error (with their receipts), its session ends and
         * the stop (on_exit's side) ends the process. Kept reading, the
         * call that line answered waited forever. */
        fprintf(stderr, "chio mcp: the wrapped server sent a line the gateway cannot read; failing "
                        "its calls and stopping it\n");
        chio__mcp_server_why(c->g, "the wrapped MCP server sent a line longer than 64 MiB (or one "
                                   "no memory could be found for); the gateway stopped it");
    }
    chio_mcp_gateway_server_closed(c->g);
    if (c->on_exit != NULL)
        c->on_exit(c->user);
    return NULL;
}

int chio__mcp_child_start(chio__mcp_child *c, chio_mcp_gateway *g, void (*on_exit)(void *),
                          void *user)
{
    c->g = g;
    c->on_exit = on_exit;
    c->user = user;
    c->in.lost = chio__mcp_server_unsent;
    c->in.lost_user = g;
    if (chio__mcp_feed_start(&c->in) != 0)
        return -1;
    if (pthread_create(&c->reader, NULL, reader_main, c) != 0)
        return -1;
    c->reader_started = 1;
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

void chio__mcp_child_stop(chio__mcp_child *c)
{
    int status = 0;

    if (!c->live)
        return;
    /* What was sent before the stop reaches a server that reads; one that
     * does not read gets a second, then what is left is dropped. Either
     * way its stdin is closed then. */
    if (!chio__mcp_feed_close(&c->in, 1000))
        fprintf(stderr, "chio mcp: the wrapped server did not read what was sent to it; closing "
                        "its input\n");
    if (c->pid > 0 && !reap(c->pid, 1000, &status)) {
        kill(c->pid, SIGTERM);
        if (!reap(c->pid, 2000, &status)) {
            kill(c->pid, SIGKILL);
            reap(c->pid, 5000, &status);
        }
    }
    c->pid = 0;
    /* The server is gone: its output ends now, whoever else holds it. */
    if (c->stop[1] >= 0 && write(c->stop[1], "s", 1) < 0) {
        /* a pipe nobody filled: cannot fail; the join below would wait */
    }
    if (c->reader_started)
        pthread_join(c->reader, NULL);
    c->reader_started = 0;
    if (c->out >= 0)
        close(c->out);
    c->out = -1;
    if (c->stop[0] >= 0)
        close_pair(c->stop);
    c->stop[0] = c->stop[1] = -1;
    if (c->pidfd >= 0)
        close(c->pidfd);
    c->pidfd = -1;
    chio__mcp_feed_free(&c->in);
    c->live = 0;
}
