/* SPDX-License-Identifier: Apache-2.0 */
/*
 * examples/agent-client.c - the client side of examples/host-service.c: an
 * agent process that sends newline-delimited JSON requests over the
 * service's Unix socket and prints each response line. With --admin or
 * --admin-socket it talks to the service's admin socket instead, where the
 * operator sends revoke and status.
 *
 *   agent-client [--socket PATH | --admin | --admin-socket PATH] [FILE]
 *                                         (FILE or stdin: one request per line)
 *
 * Requests go one at a time (send a line, read its response line), so the
 * output pairs with the input line by line. When the service closes the
 * connection (for example after refusing an over-long line) the answer it
 * sent is still printed; so is the answer to a connection the service
 * refuses (too_many_connections) or closes for idling (idle_timeout), and
 * the client then stops with status 1. Exit status: 0 when every request
 * got a response (also for --help), 1 when the connection failed part way
 * or was refused, 2 on bad usage (two of --socket, --admin and
 * --admin-socket, or one twice), a FILE that cannot be read (a directory
 * too), or when the service cannot be reached.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int connect_unix(const char *path)
{
    struct sockaddr_un a;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0 || strlen(path) >= sizeof(a.sun_path))
        return -1;
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    strcpy(a.sun_path, path);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static const char usage[] =
    "usage: agent-client [--socket PATH | --admin | --admin-socket PATH] [FILE]\n"
    "  sends FILE (or stdin, also as -), one JSON request per line, to\n"
    "  host-service and prints one response line per request\n"
    "  --socket PATH        the agent socket (default ./state/host-service.sock)\n"
    "  --admin              the admin socket at ./state/host-service.admin.sock\n"
    "  --admin-socket PATH  the admin socket at PATH (revoke, status, ping)\n"
    "  --help               this text (exit 0)\n"
    "exit status: 0 every request answered, 1 the connection ended early,\n"
    "2 bad usage or the service cannot be reached\n";

int main(int argc, char **argv)
{
    const char *sock = "./state/host-service.sock", *file = NULL, *chosen = NULL;
    FILE *in = stdin, *resp;
    char *line = NULL, *reply = NULL;
    size_t cap = 0, rcap = 0;
    ssize_t n;
    int i, fd, wrote, rc = 0;

    /* --help anywhere wins (exit 0), as in chio and host-service. */
    for (i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
    for (i = 1; i < argc; i++) {
        int is_sock = strcmp(argv[i], "--socket") == 0 || strcmp(argv[i], "--admin-socket") == 0;

        /* One socket per run: before review 48 the last of --socket,
         * --admin and --admin-socket won silently, so `--admin --socket
         * S` talked to S as an agent. */
        if ((is_sock || strcmp(argv[i], "--admin") == 0) && chosen != NULL) {
            fprintf(stderr,
                    "agent-client: %s after %s: give one of --socket, --admin and "
                    "--admin-socket, once\n%s",
                    argv[i], chosen, usage);
            return 2;
        }
        if (is_sock) {
            if (i + 1 >= argc) {
                fprintf(stderr, "agent-client: %s needs a PATH\n%s", argv[i], usage);
                return 2;
            }
            chosen = argv[i];
            sock = argv[++i];
        } else if (strcmp(argv[i], "--admin") == 0) {
            chosen = argv[i];
            sock = "./state/host-service.admin.sock";
        } else if ((argv[i][0] != '-' || strcmp(argv[i], "-") == 0) && file == NULL) {
            file = strcmp(argv[i], "-") == 0 ? NULL : argv[i];
        } else if (argv[i][0] == '-' && strcmp(argv[i], "-") != 0) {
            fprintf(stderr, "agent-client: unknown option '%s'\n%s", argv[i], usage);
            return 2;
        } else {
            fprintf(stderr, "agent-client: unexpected argument '%s'\n%s", argv[i], usage);
            return 2;
        }
    }
    if (file != NULL && (in = fopen(file, "r")) == NULL) {
        fprintf(stderr, "agent-client: %s: %s\n", file, strerror(errno));
        return 2;
    }
    fd = connect_unix(sock);
    if (fd < 0) {
        fprintf(stderr, "agent-client: cannot connect to %s: %s\n", sock, strerror(errno));
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    resp = fdopen(dup(fd), "r");
    if (resp == NULL) {
        fprintf(stderr, "agent-client: %s\n", strerror(errno));
        rc = 2;
        goto out;
    }
    while (rc == 0 && (n = getline(&line, &cap, in)) > 0) {
        char *grown;

        if (n == 1 && line[0] == '\n')
            continue;
        if (line[n - 1] != '\n') {
            if ((size_t)n + 1 >= cap) {
                grown = realloc(line, (size_t)n + 2);
                if (grown == NULL) {
                    rc = 1;
                    break;
                }
                line = grown;
                cap = (size_t)n + 2;
            }
            line[n++] = '\n';
        }
        /* Even when the write fails part way, the service may have
         * answered (an over-long line): print that answer. */
        wrote = write_all(fd, line, (size_t)n);
        if (getline(&reply, &rcap, resp) > 0) {
            fputs(reply, stdout);
            fflush(stdout);
            /* Answers the service sends as it closes the connection: the
             * request was not served (refused at the connection limit, or
             * the connection sat idle past --idle-timeout). */
            if (strstr(reply, "\"code\":\"too_many_connections\"") != NULL ||
                strstr(reply, "\"code\":\"idle_timeout\"") != NULL)
                wrote = -1;
        } else {
            wrote = -1;
        }
        if (wrote != 0) {
            fprintf(stderr, "agent-client: the service closed the connection\n");
            rc = 1;
        }
    }
    /* A FILE that cannot be read (a directory opens, then every read
     * fails with EISDIR) sent nothing: before review 48 that was exit 0,
     * as if every request had been answered. */
    if (rc == 0 && ferror(in)) {
        fprintf(stderr, "agent-client: cannot read %s: %s\n", file != NULL ? file : "stdin",
                strerror(errno));
        rc = 2;
    }
out:
    free(line);
    free(reply);
    if (resp != NULL)
        fclose(resp);
    if (in != stdin)
        fclose(in);
    close(fd);
    return rc;
}
