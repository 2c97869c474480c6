/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/store/test_store_secondary.c - a secondary instance's temp
 * directory (under $TMPDIR) is removed on close in this process: the store
 * once ran `rm -rf '<dir>'` through the shell, so a quote in TMPDIR named
 * other paths to delete (and the host process forked). One left by a
 * process killed with the store open is removed by the next secondary
 * open, one whose owner lives is not. Real RocksDB.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* A child that opens @db as a secondary store (TMPDIR is inherited),
 * reports on a pipe and then waits to be killed (at the latest with the
 * test process), never closing it. */
static pid_t secondary_holder(const char *db)
{
    int p[2];
    pid_t pid;
    char c;

    cr_assert_eq(pipe(p), 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        chio_store *s = NULL;
        chio_error err = {0};

        close(p[0]);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed test */
        c = chio_store_open(db, CHIO_STORE_SECONDARY, &s, &err) == 0 ? 'y' : 'n';
        (void)!write(p[1], &c, 1);
        for (;;)
            pause();
    }
    close(p[1]);
    cr_assert_eq(read(p[0], &c, 1), 1);
    close(p[0]);
    cr_assert_eq(c, 'y', "the child could not open a secondary store");
    return pid;
}

static void kill_and_reap(pid_t pid)
{
    int st;

    cr_assert_eq(kill(pid, SIGKILL), 0);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
}

/* A follower killed with its store open (SIGKILL, OOM) could not remove
 * its directory, and a supervisor restarting it left one per restart: the
 * next secondary open removes those whose owner is gone, and only those
 * (a live owner's stays, so does a directory without the owner lock, and
 * a link inside a swept one is removed, not followed). */
Test(store_secondary, a_killed_owners_temp_dir_is_swept_and_a_live_ones_is_kept)
{
    char *base = testutil_tmpdir(), db[512], tmp[512], old[600], keep[512], link[1024];
    chio_store *s = NULL;
    chio_error err = {0};
    pid_t dead, live;

    snprintf(db, sizeof(db), "%s/db", base);
    snprintf(tmp, sizeof(tmp), "%s/t", base);
    snprintf(old, sizeof(old), "%s/chio-secondary-oldfmt", tmp);
    snprintf(keep, sizeof(keep), "%s/keep", base);
    cr_assert_eq(mkdir(tmp, 0700), 0);
    cr_assert_eq(mkdir(old, 0700), 0); /* no owner lock: never swept */
    cr_assert_eq(testutil_write_file(keep, "x", 1, 0600), 0);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_WRITE, &s, &err), 0, "%s", err.message);
    chio_store_close(s);
    s = NULL;
    cr_assert_eq(setenv("TMPDIR", tmp, 1), 0);

    dead = secondary_holder(db);
    live = secondary_holder(db);
    cr_assert_eq(secondaries_in(tmp), 3);
    kill_and_reap(dead);
    cr_assert_eq(secondaries_in(tmp), 3, "a killed process removed nothing");
    {
        /* a link in the dead one's directory to a file of ours */
        DIR *d = opendir(tmp);
        struct dirent *de;
        int planted = 0;

        cr_assert_not_null(d);
        while ((de = readdir(d)) != NULL) {
            snprintf(link, sizeof(link), "%s/%s/owner.lock", tmp, de->d_name);
            if (strncmp(de->d_name, "chio-secondary-", 15) == 0 && exists(link)) {
                snprintf(link, sizeof(link), "%s/%s/victim", tmp, de->d_name);
                planted += symlink(keep, link) == 0;
            }
        }
        closedir(d);
        cr_assert_eq(planted, 2);
    }

    cr_assert_eq(chio_store_open(db, CHIO_STORE_SECONDARY, &s, &err), 0, "%s", err.message);
    cr_expect_eq(secondaries_in(tmp), 3, "the dead owner's directory goes, ours comes");
    cr_expect(exists(old), "a directory without an owner lock was swept");
    cr_expect(exists(keep), "sweeping followed a link");
    chio_store_close(s);
    s = NULL;
    cr_expect_eq(secondaries_in(tmp), 2, "the live owner's and the old one stay");

    kill_and_reap(live);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_SECONDARY, &s, &err), 0, "%s", err.message);
    chio_store_close(s);
    cr_expect_eq(secondaries_in(tmp), 1, "only the directory without an owner lock is left");
    cr_expect(exists(keep));
    unsetenv("TMPDIR");
    testutil_rmrf(base);
    free(base);
}

/* Two secondary stores open at once in one process: the second open's
 * sweep must not take the first one's directory (a lock per open file, as
 * flock gives; a per-process lock such as fcntl's would be granted to its
 * own process and the directory removed under the open store). */
Test(store_secondary, a_second_open_in_the_same_process_keeps_the_first_ones_dir)
{
    char *base = testutil_tmpdir(), db[512], tmp[512];
    chio_store *s = NULL, *a = NULL, *b = NULL;
    chio_error err = {0};

    snprintf(db, sizeof(db), "%s/db", base);
    snprintf(tmp, sizeof(tmp), "%s/t", base);
    cr_assert_eq(mkdir(tmp, 0700), 0);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_WRITE, &s, &err), 0, "%s", err.message);
    chio_store_close(s);
    cr_assert_eq(setenv("TMPDIR", tmp, 1), 0);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_SECONDARY, &a, &err), 0, "%s", err.message);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_SECONDARY, &b, &err), 0, "%s", err.message);
    cr_expect_eq(secondaries_in(tmp), 2, "the second open removed the first one's directory");
    cr_expect_eq(chio_store_catch_up(a, &err), 0, "%s", err.message);
    chio_store_close(b);
    cr_expect_eq(secondaries_in(tmp), 1);
    chio_store_close(a);
    cr_expect_eq(secondaries_in(tmp), 0);
    unsetenv("TMPDIR");
    testutil_rmrf(base);
    free(base);
}
