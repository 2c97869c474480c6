/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/serve/sidecar_proc.c - starts and stops a real `chio serve` child
 * for the sidecar suites (sidecar_proc.h).
 */
#include "serve/sidecar_proc.h"

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
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/poll.h"
#include "common/testutil.h"

void sidecar_start_with(sidecar *sc, const char *seed_hex, const char *bearer,
                        const char *const *extra)
{
    char seed[512], db[512], tok[512], out[512], *text;
    uint64_t end;

    sc->dir = testutil_tmpdir();
    snprintf(seed, sizeof(seed), "%s/seed", sc->dir);
    snprintf(db, sizeof(db), "%s/db", sc->dir);
    snprintf(tok, sizeof(tok), "%s/bearer", sc->dir);
    snprintf(out, sizeof(out), "%s/out", sc->dir);
    cr_assert_eq(testutil_write_file(seed, seed_hex, strlen(seed_hex), 0600), 0);
    cr_assert_eq(testutil_write_file(tok, bearer, strlen(bearer), 0600), 0);
    sc->pid = fork();
    cr_assert_geq(sc->pid, 0);
    if (sc->pid == 0) {
        const char *argv[32] = {CHIO_TEST_CLI,  "serve", "--receipt-db", db,
                                "--seed-file",  seed,    "--listen",     "127.0.0.1:0",
                                "--token-file", tok};
        size_t i;
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        for (i = 0; extra != NULL && extra[i] != NULL && 10 + i < 31; i++)
            argv[10 + i] = extra[i];
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives a failed test */
        dup2(o, 1);
        dup2(o, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    for (end = testutil_now_ms() + 15000; testutil_now_ms() < end; testutil_nap_ms(5)) {
        const char *p;
        text = testutil_read_file(out, NULL);
        p = text ? strstr(text, "\"listening\":\"127.0.0.1:") : NULL;
        if (p != NULL && strchr(p, '}') != NULL) {
            sc->port = (unsigned)atoi(p + strlen("\"listening\":\"127.0.0.1:"));
            free(text);
            return;
        }
        free(text);
    }
    cr_assert_fail("chio serve did not serve within 15 s");
}

void sidecar_start(sidecar *sc, const char *seed_hex, const char *bearer)
{
    sidecar_start_with(sc, seed_hex, bearer, NULL);
}

void sidecar_stop(sidecar *sc)
{
    int st;

    kill(sc->pid, SIGKILL);
    waitpid(sc->pid, &st, 0);
    testutil_rmrf(sc->dir);
    free(sc->dir);
}

unsigned sidecar_post(const sidecar *sc, const char *target, const char *headers, const char *body,
                      char **reply)
{
    struct sockaddr_in a;
    char *req, *all;
    int fd = socket(AF_INET, SOCK_STREAM, 0), rl;
    unsigned status = 0;
    const char *b;

    cr_assert_geq(fd, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)sc->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    rl = asprintf(&req,
                  "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sConnection: close\r\n"
                  "Content-Length: %zu\r\n\r\n%s",
                  target, headers, strlen(body), body);
    cr_assert_gt(rl, 0);
    cr_assert_eq(send(fd, req, (size_t)rl, MSG_NOSIGNAL), rl);
    free(req);
    all = testutil_recv_until(fd, NULL, 10000);
    close(fd);
    cr_assert_eq(sscanf(all, "HTTP/1.1 %u", &status), 1, "no answer: '%s'", all);
    b = strstr(all, "\r\n\r\n");
    *reply = strdup(b ? b + 4 : "");
    free(all);
    return status;
}
