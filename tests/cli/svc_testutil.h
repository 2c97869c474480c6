/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/svc_testutil.h - helpers of the services' bad input matrix
 * (tests/cli/test_bad_input_svc.c: chio serve, tests/cli/
 * test_bad_input_mcp.c: chio mcp serve; one Criterion suite,
 * bad_input_svc). Each test runs in its own process with its own
 * temporary directory, svctest_dir (made by svctest_setup, removed by
 * svctest_teardown, the suite's init and fini).
 */
#ifndef CHIO_SVC_TESTUTIL_H
#define CHIO_SVC_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "svc/svc_buf.h"

/* The kernel's seed in every test (and an agent's). */
#define SVCTEST_SEEDK "4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b"
#define SVCTEST_SEEDA "4141414141414141414141414141414141414141414141414141414141414141"
/* How long a refusal may take (a row takes milliseconds; the margin is for
 * a loaded machine and costs nothing unless a row hangs). */
#define SVCTEST_DEADLINE_MS 10000

extern char *svctest_dir;
void svctest_setup(void);
void svctest_teardown(void);

/* svctest_dir/@name (malloc'd); the same, written with @text and @mode. */
char *svctest_path(const char *name);
char *svctest_file(const char *name, const char *text, unsigned mode);

/* 1 when @p exists (a link is not followed). */
int svctest_exists(const char *p);

/* @n copies of @c appended to @b. */
void svctest_repeat(svc_buf *b, char c, size_t n);

/*
 * A row that may show a known bug: @ok is whether the expected behaviour
 * was seen. Without @bug a mismatch fails the test; with it the mismatch is
 * printed on stderr, "bad_input_svc: BUG (@bug): ...", and the test goes
 * on (a BUG row that passes is printed too, so that its mark gets dropped).
 * Not a Criterion warning: a logged warning makes the run's exit status 1.
 */
void svctest_row_check(const char *bug, int ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A finished command: exit status (-1: killed at the deadline), what it
 * printed, how long it took. */
typedef struct svctest_ran {
    int status;
    char *out, *err;
    uint64_t ms;
} svctest_ran;

/* Run @argv (argv[0] a path, or a name looked up in PATH) with stdin from
 * /dev/null; killed after @deadline_ms. Free with svctest_ran_free(). */
svctest_ran svctest_run(const char *const *argv, unsigned deadline_ms);
void svctest_ran_free(svctest_ran *r);

#endif
