/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_key_files.c - review 26 of the seed's way to disk: the
 * seed files the CLI writes itself go only into a new file of its own.
 *
 *  - `chio bench --compare-sidecar` makes DIR/bench.seed on a first run.
 *    It checked with access() and then opened with O_CREAT | O_TRUNC and
 *    no O_NOFOLLOW: a dangling symbolic link planted there (access() calls
 *    it absent) made the CLI write the fresh seed to wherever the link
 *    pointed. Now the file is created with O_EXCL | O_NOFOLLOW, and the
 *    run stops with one line naming the path.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

TestSuite(key_files, .init = setup, .fini = teardown);

static char *path(const char *name)
{
    char *p;

    cr_assert_geq(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

Test(key_files, bench_never_writes_its_seed_through_a_planted_link)
{
    char *db = path("bench-db"), *link = path("bench-db/bench.seed");
    char *target = path("stolen.seed");
    const char *const argv[] = {"bench", "--receipt-db", db, "--compare-sidecar", "--calls", "1",
                                NULL};
    struct stat st;
    cli_result r;

    cr_assert_eq(mkdir(db, 0700), 0);
    cr_assert_eq(symlink(target, link), 0); /* dangling: its target does not exist */
    r = testutil_run_cli(argv, NULL, 0);
    cr_expect_neq(r.status, 0, "bench ran through a planted link: %s", r.err);
    cr_expect_neq(lstat(target, &st), 0, "the seed was written to the link's target");
    cr_expect(strstr(r.err, "cannot write") != NULL && strstr(r.err, "bench.seed") != NULL,
              "the refusal does not name the seed file: %s", r.err);
    testutil_cli_free(&r);
    free(db);
    free(link);
    free(target);
}
