/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/serve/test_rev46_sidecar.c - review 46 of the sidecar, against the
 * real `chio serve` over loopback HTTP/1.1. Suite rev46_sidecar:
 * - SIGTERM under load: the listener closed, then libmicrohttpd's stop
 *   shut every connection's socket down before it joined the threads, so
 *   an evaluation inside the kernel at that moment had its receipt
 *   committed and its answer lost (the client saw a reset for a decision
 *   in the log; its retry was decided and counted again). Now the stop
 *   waits for the requests in flight to be answered, and refuses 503 any
 *   that comes in after it began: every receipt in the log was answered.
 * - --max-connections past the file descriptor limit: libmicrohttpd then
 *   fails every accept, so no new connection evicts an idle one, and a
 *   few held connections locked every client out (the limits of
 *   docs/sidecar.md never applied). Now chio serve raises the soft limit
 *   to what the connections need, and refuses to start (exit 2) when the
 *   hard limit is too low.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "serve/sidecar_proc.h"

#define BEARER   "rev46-sidecar-bearer-0123456789ab"
#define SEED_HEX "4646464646464646464646464646464646464646464646464646464646464646"
#define CLIENTS  8

TestSuite(rev46_sidecar);

/* ---- a keep-alive client ------------------------------------------------------------------ */

/* Read one HTTP answer on @fd (headers and a Content-Length body) within
 * @ms; its status, or 0 on a close, a reset or a timeout. */
static unsigned read_answer(int fd, unsigned ms)
{
    char buf[16384];
    size_t len = 0, want = 0;
    uint64_t end = testutil_now_ms() + ms;
    unsigned status = 0;
    char *eoh = NULL;

    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t got;

        if (eoh != NULL && len >= want)
            return status;
        if (testutil_now_ms() >= end || poll(&p, 1, 100) < 0)
            return 0;
        if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        if (len == sizeof(buf) - 1)
            return 0;
        got = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (got <= 0)
            return 0;
        len += (size_t)got;
        buf[len] = '\0';
        if (eoh == NULL && (eoh = strstr(buf, "\r\n\r\n")) != NULL) {
            const char *cl = strcasestr(buf, "\r\nContent-Length:");

            if (sscanf(buf, "HTTP/1.1 %u", &status) != 1 || cl == NULL || cl > eoh)
                return 0;
            want = (size_t)(eoh + 4 - buf) + strtoul(cl + 17, NULL, 10);
        }
    }
}

typedef struct load {
    unsigned port;
    int stop;          /* atomic */
    unsigned answered; /* atomic: 200 answers read in full */
} load;

/* Evaluates on one keep-alive connection until an answer is not a 200
 * or @l->stop is set. Every one is a decision (a deny: no such id), so
 * every 200 stands for one receipt in the log. */
static void *evaluator(void *arg)
{
    load *l = arg;
    static const char body[] =
        "{\"capability_id\":\"rev46-none\",\"tool_server\":\"files\",\"tool_name\":\"read\"}";
    char req[512];
    int fd = testutil_dial(l->port), n;

    n = snprintf(req, sizeof(req),
                 "POST /v1/evaluate HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                 "Content-Length: %zu\r\n\r\n%s",
                 BEARER, strlen(body), body);
    while (fd >= 0 && !__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
        if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n || read_answer(fd, 20000) != 200)
            break;
        __atomic_add_fetch(&l->answered, 1, __ATOMIC_ACQ_REL);
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static int enough_answered(void *arg)
{
    return __atomic_load_n(&((load *)arg)->answered, __ATOMIC_ACQUIRE) >= 200;
}

typedef struct exited {
    pid_t pid;
    int status;
} exited;

static int has_exited(void *arg)
{
    exited *e = arg;

    return waitpid(e->pid, &e->status, WNOHANG) == e->pid;
}

/* "receipts_signed":N of the kernel's drained line in @sc's output, or -1. */
static long receipts_signed(const sidecar *sc)
{
    char *path = testutil_join(sc->dir, "out"), *text = testutil_read_file(path, NULL);
    const char *p = text != NULL ? strstr(text, "\"receipts_signed\":") : NULL;
    long n = p != NULL ? strtol(p + strlen("\"receipts_signed\":"), NULL, 10) : -1;

    free(text);
    free(path);
    return n;
}

Test(rev46_sidecar, sigterm_under_load_answers_every_decision_it_committed)
{
    sidecar sc;
    load l = {0, 0, 0};
    pthread_t t[CLIENTS];
    exited e;
    size_t i;
    long signed_n;

    sidecar_start(&sc, SEED_HEX, BEARER);
    l.port = sc.port;
    for (i = 0; i < CLIENTS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, evaluator, &l), 0);
    cr_assert(testutil_wait_until(enough_answered, &l, 30000),
              "the sidecar answered no 200 evaluations within 30 s");
    /* Default --drain-grace-ms 0: the stop comes while evaluations are
     * inside the kernel on every connection. */
    cr_assert_eq(kill(sc.pid, SIGTERM), 0);
    e.pid = sc.pid;
    e.status = -1;
    cr_assert(testutil_wait_until(has_exited, &e, 30000), "chio serve did not exit after SIGTERM");
    __atomic_store_n(&l.stop, 1, __ATOMIC_RELEASE);
    for (i = 0; i < CLIENTS; i++)
        pthread_join(t[i], NULL);
    cr_assert(WIFEXITED(e.status) && WEXITSTATUS(e.status) == 0, "exit status %d", e.status);
    signed_n = receipts_signed(&sc);
    cr_assert_eq(signed_n, (long)l.answered,
                 "%ld receipts were committed but %u decisions answered: the rest lost their "
                 "answers at the stop",
                 signed_n, l.answered);
    /* Reaped above: sidecar_stop() would signal a pid no longer ours. */
    testutil_rmrf(sc.dir);
    free(sc.dir);
}

/* ---- the file descriptor limit -------------------------------------------------------------- */

/* `chio serve --max-connections @maxc` in @dir (a seed and a bearer file
 * written there, its output in @dir/out) under RLIMIT_NOFILE @soft and
 * @hard. Its pid. */
static pid_t serve_limited(const char *dir, rlim_t soft, rlim_t hard, const char *maxc)
{
    char *seed = testutil_join(dir, "seed"), *tok = testutil_join(dir, "bearer");
    char *db = testutil_join(dir, "db"), *out = testutil_join(dir, "out");
    pid_t pid;

    cr_assert_eq(testutil_write_file(seed, SEED_HEX, strlen(SEED_HEX), 0600), 0);
    cr_assert_eq(testutil_write_file(tok, BEARER, strlen(BEARER), 0600), 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        const char *argv[] = {
            CHIO_TEST_CLI, "serve",       "--receipt-db", db,  "--seed-file",       seed,
            "--listen",    "127.0.0.1:0", "--token-file", tok, "--max-connections", maxc,
            NULL};
        struct rlimit rl = {soft, hard};
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives a failed test */
        dup2(o, 1);
        dup2(o, 2);
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            _exit(126);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    free(seed);
    free(tok);
    free(db);
    free(out);
    return pid;
}

typedef struct out_has {
    const char *dir, *text;
} out_has;

static int output_has(void *arg)
{
    const out_has *o = arg;
    char *path = testutil_join(o->dir, "out"), *text = testutil_read_file(path, NULL);
    int yes = text != NULL && strstr(text, o->text) != NULL;

    free(text);
    free(path);
    return yes;
}

/* The soft RLIMIT_NOFILE of process @pid (/proc/PID/limits), or 0. */
static unsigned long long soft_nofile(pid_t pid)
{
    char path[64], *text, *line;
    unsigned long long soft = 0;

    snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
    text = testutil_read_file(path, NULL);
    line = text != NULL ? strstr(text, "Max open files") : NULL;
    if (line != NULL)
        soft = strtoull(line + strlen("Max open files"), NULL, 10);
    free(text);
    return soft;
}

Test(rev46_sidecar, max_connections_past_the_descriptor_limit_is_refused_at_start)
{
    char *dir = testutil_tmpdir();
    out_has want = {dir, "--max-connections 200 needs 280 file descriptors"};
    exited e = {serve_limited(dir, 96, 96, "200"), -1};
    int ok = testutil_wait_until(has_exited, &e, 15000);

    if (!ok) { /* it served: stop it before failing */
        kill(e.pid, SIGKILL);
        waitpid(e.pid, &e.status, 0);
    }
    cr_assert(ok, "chio serve started with 200 connections under a limit of 96 descriptors");
    cr_assert(WIFEXITED(e.status) && WEXITSTATUS(e.status) == 2, "exit status %d", e.status);
    cr_assert(output_has(&want), "no line naming --max-connections and the descriptors it needs");
    testutil_rmrf(dir);
    free(dir);
}

Test(rev46_sidecar, a_short_soft_descriptor_limit_is_raised_for_the_connections)
{
    char *dir = testutil_tmpdir();
    out_has serving = {dir, "\"listening\""};
    struct rlimit mine;
    pid_t pid;
    unsigned long long soft;
    int st, ok;

    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &mine), 0);
    cr_assert(mine.rlim_max == RLIM_INFINITY || mine.rlim_max >= 280,
              "this test needs a hard descriptor limit of 280 or more");
    pid = serve_limited(dir, 96, mine.rlim_max, "200");
    ok = testutil_wait_until(output_has, &serving, 15000);
    soft = ok ? soft_nofile(pid) : 0;
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    cr_assert(ok, "chio serve did not serve within 15 s");
    cr_assert_geq(soft, 280, "the soft limit stayed at %llu", soft);
    testutil_rmrf(dir);
    free(dir);
}
