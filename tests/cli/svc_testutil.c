/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/svc_testutil.c - what the two files of the services' bad input
 * matrix share (test_bad_input_svc.c, test_bad_input_mcp.c; see
 * svc_testutil.h): the test's directory, files in it, running a command
 * with a deadline, and the BUG-row check.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/svc_testutil.h"
#include "common/poll.h"
#include "common/testutil.h"

char *svctest_dir;

void svctest_setup(void)
{
    svctest_dir = testutil_tmpdir();
}

void svctest_teardown(void)
{
    testutil_rmrf(svctest_dir);
    free(svctest_dir);
}

char *svctest_path(const char *name)
{
    char *p;

    cr_assert_geq(asprintf(&p, "%s/%s", svctest_dir, name), 0);
    return p;
}

char *svctest_file(const char *name, const char *text, unsigned mode)
{
    char *p = svctest_path(name);

    cr_assert_eq(testutil_write_file(p, text, strlen(text), mode), 0, "cannot write %s", p);
    return p;
}

void svctest_row_check(const char *bug, int ok, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (ok && bug == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (ok)
        fprintf(stderr, "bad_input_svc: row marked BUG (%s) now passes: drop the mark: %s\n", bug,
                msg);
    else if (bug != NULL)
        fprintf(stderr, "bad_input_svc: BUG (%s): %s\n", bug, msg);
    else
        cr_expect(0, "%s", msg);
}

svctest_ran svctest_run(const char *const *argv, unsigned deadline_ms)
{
    static int runs;
    char *o, *e;
    svctest_ran r = {-1, NULL, NULL, 0};
    uint64_t t0 = testutil_now_ms();
    pid_t pid;
    int st;

    runs++;
    cr_assert_geq(asprintf(&o, "%s/run%d.out", svctest_dir, runs), 0);
    cr_assert_geq(asprintf(&e, "%s/run%d.err", svctest_dir, runs), 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY), fo = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0600),
            fe = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(in, 0);
        dup2(fo, 1);
        dup2(fe, 2);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    while (testutil_now_ms() - t0 < deadline_ms) {
        if (waitpid(pid, &st, WNOHANG) == pid) {
            r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            break;
        }
        testutil_nap_ms(2);
    }
    if (r.status == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    r.ms = testutil_now_ms() - t0;
    r.out = testutil_read_file(o, NULL);
    r.err = testutil_read_file(e, NULL);
    cr_assert(r.out != NULL && r.err != NULL);
    free(o);
    free(e);
    return r;
}

void svctest_ran_free(svctest_ran *r)
{
    free(r->out);
    free(r->err);
}

int svctest_exists(const char *p)
{
    struct stat st;

    return lstat(p, &st) == 0;
}

void svctest_repeat(svc_buf *b, char c, size_t n)
{
    char chunk[4096];

    memset(chunk, c, sizeof(chunk));
    for (; n > sizeof(chunk); n -= sizeof(chunk))
        svc_buf_add(b, chunk, sizeof(chunk));
    svc_buf_add(b, chunk, n);
}
