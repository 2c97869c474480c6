/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/store/test_store_secondary.c - a secondary instance's temp
 * directory (under $TMPDIR) is removed on close in this process: the store
 * once ran `rm -rf '<dir>'` through the shell, so a quote in TMPDIR named
 * other paths to delete (and the host process forked). Real RocksDB.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <chio/store.h>

#include "common/testutil.h"

static int exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

/* Entries of @dir named chio-secondary-*. */
static int secondaries_in(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    cr_assert_not_null(d, "%s", dir);
    while ((de = readdir(d)) != NULL)
        n += strncmp(de->d_name, "chio-secondary-", 15) == 0;
    closedir(d);
    return n;
}

Test(store_secondary, a_quote_in_tmpdir_names_no_other_path_and_the_temp_dir_goes)
{
    char *base = testutil_tmpdir(), db[512], victim[512], tmp[2048], keep[600];
    chio_store *s = NULL;
    chio_error err = {0};
    char cmd[2300];

    snprintf(db, sizeof(db), "%s/db", base);
    snprintf(victim, sizeof(victim), "%s/a", base);
    snprintf(keep, sizeof(keep), "%s/keep", victim);
    cr_assert_eq(mkdir(victim, 0700), 0);
    cr_assert_eq(testutil_write_file(keep, "x", 1, 0600), 0);
    /* TMPDIR = BASE/a' 'BASE/t: the shell read `rm -rf 'BASE/a' 'BASE/t/...'` */
    snprintf(tmp, sizeof(tmp), "%s/a' '%s/t", base, base);
    snprintf(cmd, sizeof(cmd), "mkdir -p \"%s\"", tmp);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_WRITE, &s, &err), 0, "%s", err.message);
    chio_store_close(s);
    s = NULL;
    cr_assert_eq(setenv("TMPDIR", tmp, 1), 0);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_SECONDARY, &s, &err), 0, "%s", err.message);
    cr_expect_eq(secondaries_in(tmp), 1, "the secondary instance's directory is in TMPDIR");
    chio_store_close(s);
    cr_expect(exists(keep), "closing a secondary store deleted %s", keep);
    cr_expect_eq(secondaries_in(tmp), 0, "the secondary instance's directory is removed");
    unsetenv("TMPDIR");
    testutil_rmrf(base);
    free(base);
}
