/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/mcphttp.c - a test's client of `chio mcp serve-http`
 * (mcphttp.h): the process started and watched for its listen line,
 * POSTs on loopback sockets, sessions opened.
 */
#include "mcphttp.h"

#include <criterion/criterion.h>
#include <fcntl.h>
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

pid_t mh_start(const char *const *args, const char *err_path, const char *record, unsigned wait_ms,
               unsigned *port)
{
    const char *key = "listening on http://127.0.0.1:";
    const char *argv[40];
    uint64_t end;
    size_t n = 0;
    pid_t pid;

    argv[n++] = CHIO_TEST_CLI;
    while (args[n - 1] != NULL && n < sizeof(argv) / sizeof(argv[0]) - 1) {
        argv[n] = args[n - 1];
        n++;
    }
    argv[n] = NULL;
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (record != NULL)
            setenv("CHIO_RECORD", record, 1);
        dup2(e, 1);
        dup2(e, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    *port = 0;
    for (end = testutil_now_ms() + wait_ms; *port == 0 && testutil_now_ms() < end;) {
        char *text = testutil_read_file(err_path, NULL);
        const char *p = text != NULL ? strstr(text, key) : NULL;
        if (p != NULL && strstr(p, "/mcp") != NULL)
            *port = (unsigned)atoi(p + strlen(key));
        free(text);
        if (*port == 0)
            testutil_nap_ms(5);
    }
    cr_assert_neq(*port, 0, "serve-http did not listen within %u ms", wait_ms);
    return pid;
}

int mh_connect(unsigned port)
{
    int fd = testutil_dial(port);

    cr_assert_geq(fd, 0, "connect to 127.0.0.1:%u", port);
    return fd;
}

int mh_post_typed(unsigned port, const char *type, const char *extra, const char *accept,
                  const char *body)
{
    char *req;
    int fd = mh_connect(port);

    cr_assert_geq(asprintf(&req,
                           "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAccept: %s\r\n"
                           "%sConnection: close\r\n%s"
                           "Content-Length: %zu\r\n\r\n%s",
                           port, accept, type, extra, strlen(body), body),
                  0);
    cr_assert_eq(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
    free(req);
    return fd;
}

int mh_post_send(unsigned port, const char *extra, const char *accept, const char *body)
{
    return mh_post_typed(port, "Content-Type: application/json\r\n", extra, accept, body);
}

char *mh_post(unsigned port, const char *extra, const char *body, unsigned wait_ms)
{
    int fd = mh_post_send(port, extra, "application/json", body);
    char *got = testutil_recv_until(fd, NULL, wait_ms);

    close(fd);
    return got;
}

const char *mh_sid_header(const char *sid)
{
    static char line[64];

    snprintf(line, sizeof(line), "Mcp-Session-Id: %s\r\n", sid);
    return line;
}

void mh_session(unsigned port, const char *init, char sid[33], unsigned wait_ms)
{
    char *got = mh_post(port, "", init, wait_ms), *p = strstr(got, "Mcp-Session-Id: ");

    cr_assert_not_null(p, "initialize opens a session: %s", got);
    memcpy(sid, p + strlen("Mcp-Session-Id: "), 32);
    sid[32] = '\0';
    free(got);
    got = mh_post(port, mh_sid_header(sid),
                  "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", wait_ms);
    cr_assert_not_null(strstr(got, "HTTP/1.1 202"), "%s", got);
    free(got);
}

char *mh_stop(pid_t pid, const char *db)
{
    const char *list[] = {"receipt", "list", "--receipt-db", db, "--format", "jsonl", "--limit",
                          "0",       NULL};
    cli_result r;
    char *out;
    int st;

    kill(pid, SIGTERM);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "serve-http exits 0 after SIGTERM");
    r = testutil_run_cli(list, NULL, 0);
    cr_assert_eq(r.status, 0, "%s", r.err);
    out = strdup(r.out);
    testutil_cli_free(&r);
    return out;
}
