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

/* The newest OPTIONS-* file RocksDB wrote in @db, read into @buf. */
static void newest_options(const char *db, char *buf, size_t cap)
{
    DIR *d = opendir(db);
    struct dirent *de;
    char best[256] = "", path[1024];
    FILE *f;
    size_t n;

    cr_assert_not_null(d, "%s", db);
    while ((de = readdir(d)) != NULL)
        if (strncmp(de->d_name, "OPTIONS-", 8) == 0 && strcmp(de->d_name, best) > 0)
            snprintf(best, sizeof(best), "%s", de->d_name);
    closedir(d);
    cr_assert_neq(best[0], '\0', "no OPTIONS file in %s", db);
    snprintf(path, sizeof(path), "%s/%s", db, best);
    f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* A secondary keeps every table file open, and RocksDB loads the handlers
 * of a new version's files on each catch-up: with its default of 16
 * file-opening threads, every catch-up of a follower (the exporter, a
 * test reading a live kernel's store) made and joined 16 threads. The
 * store's options (one set for every mode) open files on the caller. */
Test(store_secondary, table_files_are_opened_without_starting_threads)
{
    char *base = testutil_tmpdir(), db[512];
    static char opts[1 << 16];
    chio_store *s = NULL;
    chio_error err = {0};

    snprintf(db, sizeof(db), "%s/db", base);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_WRITE, &s, &err), 0, "%s", err.message);
    chio_store_close(s);
    newest_options(db, opts, sizeof(opts));
    cr_assert_not_null(strstr(opts, "max_file_opening_threads=1\n"),
                       "RocksDB opens table files with more than one thread:\n%.400s",
                       strstr(opts, "max_file_opening_threads")
                           ? strstr(opts, "max_file_opening_threads")
                           : "(not set)");
    testutil_rmrf(base);
    free(base);
}
