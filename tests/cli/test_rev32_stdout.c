/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_rev32_stdout.c - review 32: a command whose output could
 * not be written fails. `chio canon > /dev/full` (and every other command
 * printing an answer) exited 0 with the answer lost; now it exits 2 and
 * says so on stderr. Runs the real CLI with stdout on /dev/full (every
 * write there fails with ENOSPC) and, as a control, on a file.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/poll.h"
#include "common/testutil.h"

static char *dir;

static void setup(void)
{
    dir = testutil_tmpdir();
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
}

TestSuite(rev32_stdout, .init = setup, .fini = teardown);

/* Run the CLI with @args, stdin from @in (a file), stdout to @out, stderr
 * to DIR/err.txt; its wait status returned, stderr's text in *@err. */
static int run(const char *const *args, const char *in, const char *out, char **err)
{
    char *errp, *argv[8];
    pid_t pid;
    int status = 0, i;
    uint64_t end;

    cr_assert_geq(asprintf(&errp, "%s/err.txt", dir), 0);
    argv[0] = (char *)CHIO_TEST_CLI;
    for (i = 0; args[i] != NULL && i < 6; i++)
        argv[i + 1] = (char *)args[i];
    argv[i + 1] = NULL;
    pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int n = open(in, O_RDONLY);
        if (o < 0 || e < 0 || n < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0 || dup2(n, 0) < 0)
            _exit(127);
        execv(CHIO_TEST_CLI, argv);
        _exit(127);
    }
    end = testutil_now_ms() + 60000;
    while (waitpid(pid, &status, WNOHANG) != pid) {
        if (testutil_now_ms() >= end) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            cr_assert_fail("%s did not end", args[0]);
        }
        testutil_nap_ms(5);
    }
    *err = testutil_read_file(errp, NULL);
    cr_assert_not_null(*err);
    free(errp);
    return status;
}

Test(rev32_stdout, an_answer_that_cannot_be_written_is_exit_2)
{
    static const char *const canon[] = {"canon", NULL};
    static const char *const version[] = {"version", NULL};
    static const char *const help[] = {"receipt", "--help", NULL};
    const char *const *cmds[] = {canon, version, help};
    char *in, *file, *err;
    size_t i;

    cr_assert_geq(asprintf(&in, "%s/in.json", dir), 0);
    cr_assert_geq(asprintf(&file, "%s/out.txt", dir), 0);
    cr_assert_eq(testutil_write_file(in, "{\"b\":1,\"a\":[1,2]}", 17, 0600), 0);
    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        int st = run(cmds[i], in, "/dev/full", &err);
        cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 2, "%s to /dev/full: status %#x", cmds[i][0],
                  st);
        cr_expect_not_null(strstr(err, "cannot write the output"), "%s: %s", cmds[i][0], err);
        free(err);
        /* the control: the same command to a file succeeds */
        st = run(cmds[i], in, file, &err);
        cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s to a file: status %#x: %s", cmds[i][0],
                  st, err);
        cr_expect_null(strstr(err, "cannot write"), "%s: %s", cmds[i][0], err);
        free(err);
    }
    free(in);
    free(file);
}
