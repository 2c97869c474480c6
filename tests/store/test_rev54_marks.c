/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/store/test_rev54_marks.c - review 54, the store's two unsigned
 * marks a writer of its directory can plant: the sentinel file and the
 * archive record.
 *
 * The sentinel (CHIO-RECEIPT-STORE) records the newest checkpoint known to
 * be durable, which stops a WAL tail cut back below it. Before review 54 a
 * directory put in its place counted as a mark of 0 (the open used stat,
 * not a regular-file check), every later mark failed to replace it and the
 * failure was dropped: the rollback stop was off for good, with no trace.
 * Now anything but a regular file there refuses every open (CHIO_ESTORE,
 * as for a sentinel that cannot be written), and a mark that cannot be
 * written while a kernel runs, at its start or at its drain fails the
 * kernel closed, logged, naming the file.
 *
 * The archive record (metadata "archive", unsigned, written by an
 * archiving pass into an archive log) on a live log: a kernel started on
 * it and appended receipts and signed heads into a log the audit reads as
 * an archive. A kernel's start now refuses it, as it refuses the other
 * inconsistent unsigned records.
 *
 * The log: a real kernel's, 8 receipts, checkpoints of 4 (two).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chio/store.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "store_internal.h"

#define N 8

static char *dir, *db, *sentinel;

/* What the kernel logged at error level (its log sink, serialised by the
 * kernel's log lock). */
static char logged[16384];

static void log_sink(void *ctx, chio_log_level level, const char *json, size_t len)
{
    size_t have = strlen(logged);

    (void)ctx;
    (void)level;
    if (have + len + 2 < sizeof(logged)) {
        memcpy(logged + have, json, len);
        logged[have + len] = '\n';
        logged[have + len + 1] = '\0';
    }
}

/* A kernel on the store, checkpoints every @batch, errors to log_sink. */
static chio_kernel *kernel(uint32_t batch)
{
    chio_kernel_config cfg;

    kt_config(&cfg, db);
    cfg.checkpoint_batch_size = batch;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log = log_sink;
    cfg.log_level = CHIO_LOG_ERROR;
    return kt_kernel(&cfg);
}

static void setup(void)
{
    chio_kernel *k;

    dir = testutil_tmpdir();
    cr_assert_geq(asprintf(&db, "%s/log", dir), 0);
    sentinel = testutil_join(db, "CHIO-RECEIPT-STORE");
    k = kernel(4);
    kt_sign_range(k, 1, N);
    chio_kernel_free(k);
    logged[0] = '\0';
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
    free(db);
    free(sentinel);
}

TestSuite(rev54_marks, .init = setup, .fini = teardown);

static cli_result audit(void)
{
    const char *argv[] = {"receipt", "verify", "--receipt-db", db, NULL};

    return testutil_run_cli(argv, NULL, 0);
}

/* The newest checkpoint the sentinel names (it must be a regular file). */
static unsigned long long mark(void)
{
    unsigned long long v = 0;
    size_t len = 0;
    char *text = testutil_read_file(sentinel, &len);

    cr_assert_not_null(text, "no sentinel file");
    cr_assert_eq(sscanf(text, "%*s last_checkpoint %llu", &v), 1, "%s", text);
    free(text);
    return v;
}

/* Every open of the store (read-write, read-only, secondary, the CLI's
 * pre-open check and its audit) refuses it with CHIO_ESTORE, naming the
 * sentinel and @kind. */
static void expect_refused(const char *kind)
{
    static const chio_store_mode modes[] = {CHIO_STORE_READ_WRITE, CHIO_STORE_READ_ONLY,
                                            CHIO_STORE_SECONDARY};
    chio_store *s = NULL;
    chio_error err;
    cli_result r;
    char *want;
    size_t i;
    int rc;

    cr_assert_geq(asprintf(&want, "holds 'CHIO-RECEIPT-STORE', which is %s", kind), 0);
    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        chio_error_init(&err);
        rc = chio_store_open(db, modes[i], &s, &err);
        cr_expect_eq(rc, CHIO_ESTORE, "mode %d: %s: %s", (int)modes[i], chio_err_name(rc),
                     err.message);
        cr_expect_not_null(strstr(err.message, want), "%s", err.message);
        chio_store_close(s);
        s = NULL;
    }
    chio_error_init(&err);
    rc = chio_store_check_dir(db, &err);
    cr_expect_eq(rc, CHIO_ESTORE, "%s: %s", chio_err_name(rc), err.message);
    cr_expect_not_null(strstr(err.message, want), "%s", err.message);
    r = audit();
    cr_expect_eq(r.status, 2, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.err, want), "%s", r.err);
    testutil_cli_free(&r);
    free(want);
}

/* The store opens read-write again, and its sentinel names checkpoint
 * @cp (written by that open when the store had lost its mark). */
static void expect_reopened(unsigned long long cp)
{
    chio_store *s = NULL;
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_WRITE, &s, &err), 0, "%s", err.message);
    chio_store_close(s);
    cr_expect_eq(mark(), cp);
}

/* The entry gone, the store opens as one never marked, and a kernel marks
 * it afresh with the checkpoints it finds (the ordinary open, close and
 * reopen). */
static void expect_marked_afresh(void)
{
    chio_store *s = NULL;
    chio_kernel *k;
    chio_error err;

    expect_reopened(2);
    k = kernel(4);
    kt_sign_range(k, N + 1, 4);
    cr_expect_eq(chio_kernel_drain(k, NULL), 0, "%s", logged);
    chio_kernel_free(k);
    cr_expect_eq(mark(), 3);
    chio_error_init(&err);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, &err), 0, "%s", err.message);
    chio_store_close(s);
}

/* Before review 54: every open took it (as a mark of 0), and the audit was
 * clean. */
Test(rev54_marks, a_directory_for_the_sentinel_is_refused_by_every_open)
{
    cr_assert_eq(unlink(sentinel), 0);
    cr_assert_eq(mkdir(sentinel, 0700), 0);
    expect_refused("a directory");
    cr_assert_eq(rmdir(sentinel), 0);
    expect_marked_afresh();
}

/* Before review 54 a FIFO or a link there was refused as an odd entry of
 * the directory (CHIO_ECORRUPT, "damaged", opened four times over); it is
 * a sentinel that cannot be read or written, like a directory. */
Test(rev54_marks, a_fifo_for_the_sentinel_is_refused_as_unwritable)
{
    cr_assert_eq(unlink(sentinel), 0);
    cr_assert_eq(mkfifo(sentinel, 0600), 0, "%s", strerror(errno));
    expect_refused("a FIFO");
    cr_assert_eq(unlink(sentinel), 0);
    expect_marked_afresh();
}

Test(rev54_marks, a_link_for_the_sentinel_is_refused_as_unwritable)
{
    char *copy = testutil_join(dir, "sentinel-copy");
    size_t len = 0;
    char *text = testutil_read_file(sentinel, &len);

    cr_assert_not_null(text);
    cr_assert_eq(testutil_write_file(copy, text, len, 0600), 0);
    cr_assert_eq(unlink(sentinel), 0);
    cr_assert_eq(symlink(copy, sentinel), 0, "%s", strerror(errno));
    expect_refused("a symbolic link");
    cr_assert_eq(unlink(sentinel), 0);
    expect_marked_afresh();
    free(text);
    free(copy);
}

static int kernel_failed(chio_kernel *k)
{
    chio_kernel_metrics m;

    chio_kernel_metrics_get(k, &m);
    return m.failed;
}

/* A directory planted at the sentinel while a kernel runs: its next mark
 * cannot replace it. Before review 54 the kernel went on, the failure
 * dropped, and no mark was written again. Now the kernel fails closed as
 * for a failed write, logging the sentinel's error. */
Test(rev54_marks, a_mark_that_cannot_be_written_fails_the_kernel_closed)
{
    chio_kernel *k = kernel(4);
    chio_receipt *r = NULL;

    kt_sign_range(k, N + 1, 1); /* started, the open's checks passed */
    cr_assert_eq(unlink(sentinel), 0);
    cr_assert_eq(mkdir(sentinel, 0700), 0);
    kt_sign_range(k, N + 2, 3); /* completes checkpoint 3: its mark fails */
    kt_wait_checkpoint(k, 3);
    /* the checkpoint shows only after its mark's failure did (commit.c) */
    cr_expect(kernel_failed(k), "the kernel went on without its mark");
    cr_expect_neq(chio_kernel_sign_receipt(k, kt_builder(99), &r, NULL), 0);
    chio_receipt_free(r);
    /* nor is a revocation confirmed, though RocksDB would take it */
    cr_expect_eq(chio_kernel_revoke_capability(k, "cap-after-failure", NULL), CHIO_EFAILED);
    cr_expect_eq(chio_kernel_drain(k, NULL), CHIO_EFAILED);
    chio_kernel_free(k);
    cr_expect_not_null(strstr(logged, "\"store_write_failed\""), "%s", logged);
    cr_expect_not_null(strstr(logged, "CHIO-RECEIPT-STORE"), "%s", logged);
    cr_expect_not_null(strstr(logged, "Is a directory"), "%s", logged);
    /* and the next open refuses the store until the entry is gone */
    expect_refused("a directory");
    cr_assert_eq(rmdir(sentinel), 0);
    expect_reopened(3);
}

/* The mark a running kernel leaves for its close (marks are at most one a
 * second) cannot be written either: the drain reports it (before review
 * 54 the close dropped the failure and the drain said all was well). The
 * first mark after the start is written at once; the second, this soon
 * after, waits for the close (or, on a slow machine, fails on the commit
 * path, which fails the kernel closed the same way). */
Test(rev54_marks, a_mark_that_cannot_be_written_at_the_drain_is_reported)
{
    chio_kernel *k = kernel(4);

    kt_sign_range(k, N + 1, 4);
    kt_wait_checkpoint(k, 3);
    cr_expect_eq(mark(), 3);
    cr_assert_eq(unlink(sentinel), 0);
    cr_assert_eq(mkdir(sentinel, 0700), 0);
    kt_sign_range(k, N + 5, 4);
    kt_wait_checkpoint(k, 4);
    cr_expect_eq(chio_kernel_drain(k, NULL), CHIO_EFAILED, "%s", logged);
    chio_kernel_free(k);
    cr_expect_not_null(strstr(logged, "\"store_write_failed\""), "%s", logged);
    cr_expect_not_null(strstr(logged, "CHIO-RECEIPT-STORE"), "%s", logged);
}

/* The checkpoints a kernel owes and cuts at its start are marked before it
 * serves (restore.c): a mark that cannot be written there fails the start
 * (CHIO_ESTORE, naming the sentinel), where before review 54 the kernel
 * served on without it. A directory under the sentinel's temporary name
 * makes the write fail while the sentinel itself stays readable. */
Test(rev54_marks, a_mark_that_cannot_be_written_at_the_start_fails_it)
{
    char *tmp = testutil_join(db, "CHIO-RECEIPT-STORE.tmp"), msg[256];
    chio_kernel *k = kernel(4);
    int rc;

    kt_sign_range(k, N + 1, 2); /* 9 and 10: no checkpoint at batch 4 */
    chio_kernel_free(k);
    cr_assert_eq(mkdir(tmp, 0700), 0);
    rc = kt_try_start(db, 2, msg, sizeof(msg)); /* owes checkpoint 3 over 9..10 */
    cr_expect_eq(rc, CHIO_ESTORE, "%s: %s", chio_err_name(rc), msg);
    cr_expect_not_null(strstr(msg, "CHIO-RECEIPT-STORE"), "%s", msg);
    cr_expect_eq(mark(), 2);
    /* the obstacle gone, the kernel starts and marks its checkpoints */
    cr_assert_eq(rmdir(tmp), 0);
    k = kernel(2);
    kt_sign_range(k, N + 3, 2);
    cr_expect_eq(chio_kernel_drain(k, NULL), 0, "%s", logged);
    chio_kernel_free(k);
    cr_expect_eq(mark(), 4);
    free(tmp);
}

/* ---- the archive mark on a live log ---------------------------------------------------- */

/* The store's last receipt and its log head's bytes. */
static void tail_state(uint64_t *last, char **head, size_t *hlen)
{
    chio_store *s = NULL;
    uint64_t first = 0;

    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_assert_eq(chio_store_seq_range(s, &first, last, NULL), 0);
    cr_assert_eq(chio__store_get_meta(s, CHIO__META_LOG_HEAD, head, hlen, NULL), 0);
    chio_store_close(s);
}

/* The record as an archiving pass writes it (8-byte big-endian 1), or
 * malformed (3 bytes): a kernel's start refuses the log, naming the
 * record, and writes nothing into it. Before review 54 it appended
 * receipts and a signed head to the log still marked as an archive. */
static void expect_archive_refused(const void *value, size_t len)
{
    uint64_t last0 = 0, last1 = 0;
    char *head0 = NULL, *head1 = NULL, msg[256];
    size_t hlen0 = 0, hlen1 = 0;
    int rc;

    tail_state(&last0, &head0, &hlen0);
    testutil_raw_write(db, "default", CHIO__META_ARCHIVE, strlen(CHIO__META_ARCHIVE), value, len);
    rc = kt_try_start(db, 4, msg, sizeof(msg));
    cr_expect_eq(rc, CHIO_ECORRUPT, "%s: %s", chio_err_name(rc), msg);
    cr_expect_not_null(strstr(msg, "archive"), "%s", msg);
    tail_state(&last1, &head1, &hlen1);
    cr_expect_eq(last1, last0);
    cr_expect(hlen1 == hlen0 && memcmp(head1, head0, hlen0) == 0, "the head was rewritten");
    /* the record gone (0 reads as no mark), the log is continued */
    testutil_raw_write(db, "default", CHIO__META_ARCHIVE, strlen(CHIO__META_ARCHIVE),
                       "\0\0\0\0\0\0\0\0", 8);
    rc = kt_try_start(db, 4, msg, sizeof(msg));
    cr_expect_eq(rc, 0, "%s: %s", chio_err_name(rc), msg);
    free(head0);
    free(head1);
}

Test(rev54_marks, a_live_log_marked_as_an_archive_is_refused_by_a_kernel)
{
    expect_archive_refused("\0\0\0\0\0\0\0\1", 8);
}

Test(rev54_marks, a_malformed_archive_mark_is_refused_by_a_kernel)
{
    expect_archive_refused("\0\0\1", 3);
}
