/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_store_dir.c - a receipt store is never made among a
 * user's files: a read-write open (and so a kernel's start) of a directory
 * that holds other files and no store fails with CHIO_ESTORE naming one
 * of them and leaves the directory as it was, while a missing or empty
 * directory, an existing store, one whose sentinel is gone (a legacy log,
 * or a crash before it was written) and a store holding the exporter's
 * position file all open as before.
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
