/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/store/test_rev55_fullfs.c - review 5 of stop 55 (crash F1, F2): a
 * receipt store on a full file system. A read-write open (a kernel's
 * start) there aborted the process: RocksDB writes its info log's header
 * at every open, and Debian's build asserts after a failed write; so did
 * a secondary open with a full TMPDIR. With a little room left the open
 * failed in a table write and was reported as a damaged store
 * (CHIO_ECORRUPT) though the store is intact. Each is CHIO_ESTORE naming
 * the lack of space now, and the store opens once space returns. Root
 * only (a size-limited tmpfs in a mount namespace of the test's own).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chio/store.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"

static char *dir, *mnt, *db, *filler;

/* A store of @n receipts (left in its write-ahead log: a reopen flushes
 * them to a table file) on a private 2 MiB tmpfs, then the file system
 * filled. */
static void setup_full(uint64_t n)
{
    chio_kernel_config cfg;
    chio_kernel *k;
    const char *why;

    dir = testutil_tmpdir();
    mnt = testutil_join(dir, "small");
    cr_assert_eq(mkdir(mnt, 0700), 0);
    why = testutil_private_tmpfs(mnt, "2m");
    if (why != NULL) {
        fprintf(stderr, "SKIP: %s (%s)\n", why, strerror(errno));
        cr_skip_test("%s", why);
    }
    db = testutil_join(mnt, "db");
    filler = testutil_join(mnt, "filler");
    kt_config(&cfg, db);
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    k = kt_kernel(&cfg);
    kt_sign_range(k, 1, n);
    chio_kernel_free(k);
    testutil_fill_fs(filler);
}

static void cleanup(void)
{
    umount2(mnt, MNT_DETACH); /* the namespace's own mount, before its directory goes */
    if (dir != NULL)
        testutil_rmrf(dir);
    free(dir);
    free(mnt);
    free(db);
    free(filler);
}

/* A kernel's start on the store: its result, the message in @msg. */
static int start(char *msg, size_t cap)
{
    return kt_try_start(db, 100, msg, cap);
}

Test(rev55_fullfs, a_kernel_started_on_a_full_disk_gets_estore_not_an_abort)
{
    char msg[512];
    int rc;

    setup_full(20);
    rc = start(msg, sizeof(msg));
    cr_expect_eq(rc, CHIO_ESTORE, "%s: %s", chio_err_name(rc), msg);
    cr_expect_not_null(strstr(msg, "No space left on device"), "%s", msg);
    cr_assert_eq(unlink(filler), 0);
    rc = start(msg, sizeof(msg));
    cr_expect_eq(rc, 0, "once space returns: %s: %s", chio_err_name(rc), msg);
    cleanup();
}

Test(rev55_fullfs, a_nearly_full_disk_is_no_damaged_store)
{
    char msg[512];
    int fd, rc;
    off_t size;

    setup_full(400);
    /* 160 KiB back: past the open's minimum, short of the table file the
     * recovered log needs */
    fd = open(filler, O_WRONLY);
    cr_assert_geq(fd, 0);
    size = lseek(fd, 0, SEEK_END);
    cr_assert_eq(ftruncate(fd, size - 160 * 1024), 0);
    close(fd);
    rc = start(msg, sizeof(msg));
    cr_expect_eq(rc, CHIO_ESTORE, "%s: %s", chio_err_name(rc), msg);
    cr_expect_null(strstr(msg, "damaged"), "%s", msg);
    cr_expect_not_null(strstr(msg, "No space left on device"), "%s", msg);
    cr_assert_eq(unlink(filler), 0);
    rc = start(msg, sizeof(msg));
    cr_expect_eq(rc, 0, "once space returns: %s: %s", chio_err_name(rc), msg);
    cleanup();
}

Test(rev55_fullfs, a_secondary_open_with_a_full_tmpdir_gets_estore_not_an_abort)
{
    chio_store *s = NULL;
    chio_error err;
    char *tmp, *live;
    int rc;

    setup_full(20);
    /* the store itself elsewhere, the scratch directory on the full disk */
    live = testutil_join(dir, "live");
    cr_assert_eq(unlink(filler), 0);
    tmp = testutil_join(mnt, "tmp");
    cr_assert_eq(mkdir(tmp, 0700), 0);
    {
        chio_kernel_config cfg;
        chio_kernel *k;
        kt_config(&cfg, live);
        k = kt_kernel(&cfg);
        kt_sign_range(k, 1, 5);
        chio_kernel_free(k);
    }
    testutil_fill_fs(filler);
    setenv("TMPDIR", tmp, 1);
    chio_error_init(&err);
    rc = chio_store_open(live, CHIO_STORE_SECONDARY, &s, &err);
    cr_expect_eq(rc, CHIO_ESTORE, "%s: %s", chio_err_name(rc), err.message);
    cr_expect_not_null(strstr(err.message, "No space left on device"), "%s", err.message);
    chio_store_close(s);
    unsetenv("TMPDIR");
    free(tmp);
    free(live);
    cleanup();
}
