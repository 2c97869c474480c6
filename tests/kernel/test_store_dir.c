/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_store_dir.c - a receipt store is never made among a
 * user's files: a read-write open (and so a kernel's start) of a directory
 * that holds other files and no store fails with CHIO_ESTORE naming one
 * of them and leaves the directory as it was, while a missing or empty
 * directory, an existing store, one whose sentinel is gone (a legacy log,
 * or a crash before it was written) and a store holding the exporter's
 * position file all open as before; chio_store_check_dir() says the same
 * without opening anything. One writer per store in a process, whatever
 * the spelling of its path.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chio/chio.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"

#define SEED07 "0707070707070707070707070707070707070707070707070707070707070707"

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

TestSuite(store_dir, .init = setup, .fini = teardown);

static char *in_dir(const char *rel)
{
    char *p;

    cr_assert_geq(asprintf(&p, "%s/%s", dir, rel), 0);
    return p;
}

/* The names in @path, sorted, one per line (malloc'd). */
static char *listing(const char *path)
{
    struct dirent **names;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    int n = scandir(path, &names, NULL, alphasort), i;

    cr_assert_geq(n, 0, "%s", path);
    for (i = 0; i < n; i++) {
        fprintf(f, "%s\n", names[i]->d_name);
        free(names[i]);
    }
    free(names);
    fclose(f);
    return out;
}

/* A directory of a user's files. */
static char *user_dir(void)
{
    char *d = in_dir("user"), *p;

    cr_assert_eq(mkdir(d, 0700), 0);
    cr_assert_geq(asprintf(&p, "%s/notes.txt", d), 0);
    cr_assert_eq(testutil_write_file(p, "my notes\n", 9, 0644), 0);
    free(p);
    return d;
}

static void quiet(void *ctx, chio_log_level level, const char *json, size_t len)
{
    (void)ctx, (void)level, (void)json, (void)len;
}

static int open_rw(const char *path, chio_error *err)
{
    chio_store *s = NULL;
    int rc;

    chio_error_init(err);
    rc = chio_store_open(path, CHIO_STORE_READ_WRITE, &s, err);
    chio_store_close(s);
    return rc;
}

Test(store_dir, a_directory_of_other_files_is_refused_and_left_alone)
{
    char *user = user_dir(), *before = listing(user), *after;
    chio_kernel_config cfg;
    chio_kernel *k = NULL;
    chio_error err;

    cr_expect_eq(open_rw(user, &err), CHIO_ESTORE, "%s", err.message);
    cr_expect_not_null(strstr(err.message, "'notes.txt'"), "%s", err.message);
    cr_expect_not_null(strstr(err.message, user), "%s", err.message);
    /* a kernel on it fails to start the same way */
    chio_kernel_config_init(&cfg);
    cr_assert_eq(chio_keypair_from_seed_hex(SEED07, 64, &cfg.keypair, NULL), 0);
    cfg.policy_hash = "p";
    cfg.receipt_store_path = user;
    cfg.log_level = CHIO_LOG_ERROR;
    cfg.log = quiet;
    cr_assert_eq(chio_kernel_new(&cfg, &k, NULL), 0);
    chio_error_init(&err);
    cr_expect_eq(chio_kernel_start(k, &err), CHIO_ESTORE, "%s", err.message);
    chio_kernel_free(k);
    after = listing(user);
    cr_expect_str_eq(after, before, "the directory was changed");
    free(before);
    free(after);
    free(user);
}

Test(store_dir, missing_empty_existing_and_unmarked_stores_open)
{
    char *missing = in_dir("missing"), *empty = in_dir("empty"), *p;
    chio_error err;

    cr_assert_eq(mkdir(empty, 0700), 0);
    cr_expect_eq(open_rw(missing, &err), 0, "%s", err.message);
    cr_expect_eq(open_rw(empty, &err), 0, "%s", err.message);
    cr_expect_eq(open_rw(empty, &err), 0, "an existing store: %s", err.message);
    /* the exporter keeps its position in the store's directory */
    cr_assert_geq(asprintf(&p, "%s/chio-export-CHIO.json", empty), 0);
    cr_assert_eq(testutil_write_file(p, "{}\n", 3, 0600), 0);
    free(p);
    cr_expect_eq(open_rw(empty, &err), 0, "with a position file: %s", err.message);
    /* no sentinel (a legacy log, or a crash before it was written): RocksDB's
     * own files are not someone else's */
    cr_assert_geq(asprintf(&p, "%s/CHIO-RECEIPT-STORE", missing), 0);
    cr_assert_eq(unlink(p), 0);
    free(p);
    cr_expect_eq(open_rw(missing, &err), 0, "without its sentinel: %s", err.message);
    free(missing);
    free(empty);
}

/* chio_store_check_dir() answers as a read-write open would, for every
 * state a directory can be in, and changes nothing: a missing path, an
 * empty directory, a store, a store without its sentinel (RocksDB's own
 * files and the exporter's position file are a store's), and a directory
 * of a user's files (CHIO_ESTORE naming the file), one every user may
 * write to, a missing path under a missing parent; a regular file, a
 * dangling symbolic link, NULL and "" are refused without an open. */
Test(store_dir, the_directory_check_agrees_with_a_read_write_open)
{
    char *missing = in_dir("c-missing"), *empty = in_dir("c-empty"), *store = in_dir("c-store");
    char *bare = in_dir("c-bare"), *user = user_dir(), *file = in_dir("c-file");
    char *dangling = in_dir("c-dangling"), *p, *before, *after;
    const char *agree[] = {missing, empty, store, bare};
    chio_error err;
    size_t i;

    cr_assert_eq(mkdir(empty, 0700), 0);
    cr_assert_eq(open_rw(store, &err), 0, "%s", err.message);
    cr_assert_eq(open_rw(bare, &err), 0, "%s", err.message);
    cr_assert_geq(asprintf(&p, "%s/CHIO-RECEIPT-STORE", bare), 0);
    cr_assert_eq(unlink(p), 0);
    free(p);
    cr_assert_geq(asprintf(&p, "%s/chio-export-CHIO.json", bare), 0);
    cr_assert_eq(testutil_write_file(p, "{}\n", 3, 0600), 0);
    free(p);
    cr_assert_eq(testutil_write_file(file, "x", 1, 0600), 0);
    cr_assert_eq(symlink("c-nowhere", dangling), 0);

    for (i = 0; i < sizeof(agree) / sizeof(agree[0]); i++) {
        struct stat st;
        int existed = stat(agree[i], &st) == 0;
        before = existed ? listing(agree[i]) : NULL;
        chio_error_init(&err);
        cr_expect_eq(chio_store_check_dir(agree[i], &err), 0, "%s: %s", agree[i], err.message);
        cr_expect_eq(stat(agree[i], &st) == 0, existed, "%s: the check made it", agree[i]);
        if (existed) {
            after = listing(agree[i]);
            cr_expect_str_eq(after, before, "%s: the check changed it", agree[i]);
            free(after);
        }
        free(before);
        cr_expect_eq(open_rw(agree[i], &err), 0, "%s: the open disagrees: %s", agree[i],
                     err.message);
    }
    before = listing(user);
    chio_error_init(&err);
    cr_expect_eq(chio_store_check_dir(user, &err), CHIO_ESTORE);
    cr_expect_not_null(strstr(err.message, "'notes.txt'"), "%s", err.message);
    cr_expect_not_null(strstr(err.message, user), "%s", err.message);
    cr_expect_eq(open_rw(user, &err), CHIO_ESTORE, "the open disagrees: %s", err.message);
    after = listing(user);
    cr_expect_str_eq(after, before, "the user's directory was changed");
    free(before);
    free(after);
    /* a directory every user may write to */
    cr_assert_eq(chmod(empty, 0777), 0);
    chio_error_init(&err);
    cr_expect_eq(chio_store_check_dir(empty, &err), CHIO_ESTORE);
    cr_expect_not_null(strstr(err.message, "writable by every user"), "%s", err.message);
    cr_expect_eq(open_rw(empty, &err), CHIO_ESTORE, "the open disagrees: %s", err.message);
    cr_assert_eq(chmod(empty, 0700), 0);
    chio_error_init(&err);
    cr_expect_eq(chio_store_check_dir(file, &err), CHIO_ESTORE);
    cr_expect_not_null(strstr(err.message, "not a directory"), "%s", err.message);
    chio_error_init(&err);
    cr_expect_eq(chio_store_check_dir(dangling, &err), CHIO_ESTORE);
    cr_expect_not_null(strstr(err.message, "symbolic link to nothing"), "%s", err.message);
    /* a missing path under a missing parent: mkdir cannot make it */
    p = in_dir("c-nowhere/deeper");
    chio_error_init(&err);
    cr_expect_eq(chio_store_check_dir(p, &err), CHIO_ESTORE);
    cr_expect_not_null(strstr(err.message, "parent"), "%s", err.message);
    cr_expect_eq(open_rw(p, &err), CHIO_ESTORE, "the open disagrees: %s", err.message);
    free(p);
    cr_expect_eq(chio_store_check_dir(NULL, NULL), CHIO_EINVAL);
    cr_expect_eq(chio_store_check_dir("", NULL), CHIO_EINVAL);
    free(missing);
    free(empty);
    free(store);
    free(bare);
    free(user);
    free(file);
    free(dangling);
}

/* A store one handle of this process holds read-write is refused to a
 * second read-write open under any spelling of its path (CHIO_EBUSY): the
 * same string was refused as "damaged" (CHIO_ECORRUPT), and "dir/", a
 * symlink or "dir/." were let in, and two writers destroyed the log (its
 * table files deleted under each other). Read-only opens still work, and
 * the directory is free again once the writer closes. */
Test(store_dir, one_writer_per_store_whatever_the_path_spelling)
{
    char *db = in_dir("log"), *slash, *dot, *link;
    const char *spellings[3];
    chio_kernel_config cfg;
    chio_archive_report rep;
    chio_store *s = NULL, *ro = NULL;
    chio_kernel *k, *k2;
    chio_error err;
    size_t i;
    int rc;

    cr_assert_geq(asprintf(&slash, "%s/", db), 0);
    cr_assert_geq(asprintf(&dot, "%s/.", db), 0);
    link = in_dir("alias");
    spellings[0] = slash;
    spellings[1] = dot;
    spellings[2] = link;
    /* a log of five receipts */
    kt_config(&cfg, db);
    k = kt_kernel(&cfg);
    for (i = 1; i <= 5; i++) {
        chio_receipt *r = NULL;
        cr_assert_eq(chio_kernel_sign_receipt(k, kt_builder(i), &r, NULL), 0);
        chio_receipt_free(r);
    }
    chio_kernel_free(k);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_WRITE, &s, NULL), 0);
    cr_assert_eq(symlink(db, link), 0);
    rc = open_rw(db, &err);
    cr_expect_eq(rc, CHIO_EBUSY, "the same path: %s (%s)", chio_errno_name(rc), err.message);
    for (i = 0; i < 3; i++) {
        rc = open_rw(spellings[i], &err);
        cr_expect_eq(rc, CHIO_EBUSY, "%s: %s (%s)", spellings[i], chio_errno_name(rc), err.message);
        cr_expect_not_null(strstr(err.message, "already open for writing"), "%s", err.message);
    }
    /* Archiving a live store into itself is the same second writer. */
    memset(&rep, 0, sizeof(rep));
    rc = chio_store_archive(s, slash, 0, 1, 0, &rep, &err);
    cr_expect_eq(rc, CHIO_EBUSY, "archive into itself: %s (%s)", chio_errno_name(rc), err.message);
    cr_expect_eq(rep.receipts_moved, 0);
    cr_expect_eq(chio_store_open(slash, CHIO_STORE_READ_ONLY, &ro, NULL), 0);
    chio_store_close(ro);
    chio_store_close(s);
    cr_expect_eq(open_rw(slash, &err), 0, "free again after the close: %s", err.message);

    /* Two kernels of one process: the second on "dir/" does not start. */
    kt_config(&cfg, db);
    k = kt_kernel(&cfg);
    cr_assert_eq(chio_kernel_start(k, NULL), 0);
    kt_config(&cfg, slash);
    k2 = kt_kernel(&cfg);
    chio_error_init(&err);
    rc = chio_kernel_start(k2, &err);
    cr_expect_eq(rc, CHIO_EBUSY, "a second kernel: %s (%s)", chio_errno_name(rc), err.message);
    chio_kernel_free(k2);
    chio_kernel_free(k);
    /* and the store is whole: it opens read-write again */
    cr_expect_eq(open_rw(link, &err), 0, "%s", err.message);
    free(slash);
    free(dot);
    free(link);
    free(db);
}

/* A store directory every user may write to is refused for writing (any
 * local user could plant the name of RocksDB's next WAL or table file as
 * a link, which the kernel's process would open and truncate), sticky or
 * not, and left as it was; the same store reads, and opens for writing
 * once others may no longer write to it. */
Test(store_dir, a_directory_others_may_write_is_refused_for_writing)
{
    static const mode_t modes[] = {0777, 01777, 0703};
    char *d = in_dir("shared"), *before, *after;
    chio_store *s = NULL;
    chio_error err;
    size_t i;

    cr_assert_eq(mkdir(d, 0700), 0);
    chio_error_init(&err);
    cr_assert_eq(chio_store_open(d, CHIO_STORE_READ_WRITE, &s, &err), 0, "%s", err.message);
    chio_store_close(s);
    before = listing(d);
    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        cr_assert_eq(chmod(d, modes[i]), 0);
        s = NULL;
        chio_error_init(&err);
        cr_expect_eq(chio_store_open(d, CHIO_STORE_READ_WRITE, &s, &err), CHIO_ESTORE,
                     "mode %04o opened", (unsigned)modes[i]);
        cr_expect_null(s);
        cr_expect(strstr(err.message, "writable by every user") != NULL, "%s", err.message);
        after = listing(d);
        cr_expect_str_eq(after, before, "mode %04o: the directory changed", (unsigned)modes[i]);
        free(after);
        chio_error_init(&err);
        cr_expect_eq(chio_store_open(d, CHIO_STORE_READ_ONLY, &s, &err), 0, "%s", err.message);
        chio_store_close(s);
    }
    cr_assert_eq(chmod(d, 0750), 0);
    s = NULL;
    chio_error_init(&err);
    cr_expect_eq(chio_store_open(d, CHIO_STORE_READ_WRITE, &s, &err), 0, "%s", err.message);
    chio_store_close(s);
    free(before);
    free(d);
}
