/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/store/test_rev56_audit.c - review 9 (audit): what the store's
 * audit, its opens and a kernel's start say of a log changed behind their
 * back.
 *
 * F1: a tail cut back to a signed head written before the newest
 * checkpoint (between a checkpoint's last receipt and the group that cut
 * it, every head is one), that checkpoint kept with its receipts. A
 * kernel's start refused it ("the log holds checkpoints up to 2
 * (added?)") and told the operator to audit; the audit passed it clean.
 * It now names each such checkpoint ("checkpoint_after_head", exit 1).
 *
 * F3: a sentinel file (CHIO-RECEIPT-STORE) that is a regular file but
 * holds anything but the one form a sentinel was ever written in
 * ("chio.receipt_store.v1\nlast_checkpoint N\n"), or that cannot be read,
 * read as "no mark": the rollback stop was off, silently. Every open now
 * refuses it (CHIO_ESTORE, naming the file and what to do), as it refuses
 * a directory there.
 *
 * F4: a kernel's start said "receipts are missing" for a log holding
 * receipts before its retained_from_seq; it now words it by direction.
 *
 * The log: a real kernel's, 12 receipts, checkpoints of 5 (two), written
 * without WAL syncs; damaged through RocksDB directly (testutil_raw_write)
 * and with heads signed by the kernel's key (one it wrote earlier).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chio/receipt.h"
#include "chio/store.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "store_internal.h"

#define N     12
#define BATCH 5

static char *dir, *db, *sentinel;

static void setup(void)
{
    chio_kernel_config cfg;
    chio_kernel *k;

    dir = testutil_tmpdir();
    cr_assert_geq(asprintf(&db, "%s/log", dir), 0);
    sentinel = testutil_join(db, "CHIO-RECEIPT-STORE");
    kt_config(&cfg, db);
    cfg.checkpoint_batch_size = BATCH;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    k = kt_kernel(&cfg);
    kt_sign_range(k, 1, N);
    chio_kernel_free(k);
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
    free(db);
    free(sentinel);
}

TestSuite(rev56_audit, .init = setup, .fini = teardown);

static cli_result audit(void)
{
    const char *argv[] = {"receipt", "verify", "--receipt-db", db, NULL};

    return testutil_run_cli(argv, NULL, 0);
}

/* Receipt @seq deleted with its chain and id index entries. */
static void delete_receipt(uint64_t seq)
{
    chio_receipt *r = NULL;
    size_t len = 0;
    char *json = testutil_stored(db, 0, seq, &len);

    cr_assert_eq(chio_receipt_parse(json, len, &r, NULL), 0);
    testutil_raw_write(db, "receipt_ids", chio_receipt_id(r), strlen(chio_receipt_id(r)), NULL, 0);
    testutil_raw_write_seq(db, "receipts", seq, NULL, 0);
    testutil_raw_write_seq(db, "chain", seq, NULL, 0);
    chio_receipt_free(r);
    chio_free(json);
}

/* F1. Receipts 11 and 12 (after checkpoint 2, which covers 6..10) deleted
 * with their chain and index entries, and the head signed at receipt 10,
 * which names checkpoint 1, written back; the sentinel and the
 * durable_checkpoint record (both naming checkpoint 2) left as they are.
 * Nothing of the cut remains but checkpoint 2, newer than the head. */
Test(rev56_audit, a_tail_cut_to_a_head_before_the_newest_checkpoint_is_named)
{
    char msg[512];
    cli_result r;

    r = audit();
    cr_assert_eq(r.status, 0, "the log as written: %.600s%.300s", r.out, r.err);
    testutil_cli_free(&r);

    delete_receipt(11);
    delete_receipt(12);
    /* the head the kernel signed in the group commit of receipt 10, before
     * the checkpoint that receipt completed was cut (it names checkpoint 1) */
    testutil_write_head(db, TEST_SEED, 10, 1);

    /* the kernel's start refuses it and sends the operator to the audit */
    cr_expect_eq(kt_try_start(db, BATCH, msg, sizeof(msg)), CHIO_ECORRUPT, "%s", msg);
    cr_expect_not_null(strstr(msg, "names checkpoint 1 but the log holds checkpoints up to 2"),
                       "%s", msg);
    /* ...which names it: before, exit 0 and no problem line */
    r = audit();
    cr_expect_eq(r.status, 1, "%.600s%.300s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"checkpoint_after_head\",\"checkpoint_seq\":2,"
                                     "\"head_checkpoint_seq\":1,"),
                       "%.600s", r.out);
    cr_expect_not_null(strstr(r.out, "\"log_problems\":1"), "%.600s", r.out);
    testutil_cli_free(&r);
}

/* F1, the head itself: a head naming the newest checkpoint stored passes
 * (the check is on numbers the head names, not on where it stops). */
Test(rev56_audit, a_head_naming_the_newest_checkpoint_is_not_named)
{
    cli_result r;

    delete_receipt(11);
    delete_receipt(12);
    testutil_write_head(db, TEST_SEED, 10, 2);
    r = audit();
    cr_expect_eq(r.status, 0, "%.600s%.300s", r.out, r.err);
    cr_expect_null(strstr(r.out, "checkpoint_after_head"), "%.600s", r.out);
    testutil_cli_free(&r);
    /* the same head naming checkpoint 1: named (fails without the fix) */
    testutil_write_head(db, TEST_SEED, 10, 1);
    r = audit();
    cr_expect_eq(r.status, 1, "%.600s%.300s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "\"problem\":\"checkpoint_after_head\""), "%.600s", r.out);
    testutil_cli_free(&r);
}

static void put_sentinel(const char *text, size_t len)
{
    cr_assert_eq(unlink(sentinel), 0, "%s", strerror(errno));
    cr_assert_eq(testutil_write_file(sentinel, text, len, 0600), 0);
}

/* Every open of the store (read-write, read-only, secondary), the
 * directory check and the CLI's audit refuse it with CHIO_ESTORE, naming
 * the sentinel and @what, and saying what to do. @label names the case. */
static void expect_mark_refused(const char *label, const char *what)
{
    static const chio_store_mode modes[] = {CHIO_STORE_READ_WRITE, CHIO_STORE_READ_ONLY,
                                            CHIO_STORE_SECONDARY};
    chio_store *s = NULL;
    chio_error err;
    cli_result r;
    size_t i;
    int rc;

    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        chio_error_init(&err);
        rc = chio_store_open(db, modes[i], &s, &err);
        cr_expect_eq(rc, CHIO_ESTORE, "%s, mode %d: %s: %s", label, (int)modes[i],
                     chio_err_name(rc), err.message);
        cr_expect_not_null(strstr(err.message, "its 'CHIO-RECEIPT-STORE' file"), "%s: %s", label,
                           err.message);
        cr_expect_not_null(strstr(err.message, what), "%s: %s", label, err.message);
        cr_expect_not_null(strstr(err.message, "move that file away"), "%s: %s", label,
                           err.message);
        chio_store_close(s);
        s = NULL;
    }
    chio_error_init(&err);
    rc = chio_store_check_dir(db, &err);
    cr_expect_eq(rc, CHIO_ESTORE, "%s: %s: %s", label, chio_err_name(rc), err.message);
    r = audit();
    cr_expect_eq(r.status, 2, "%s: %.300s%.300s", label, r.out, r.err);
    cr_expect_not_null(strstr(r.err, "CHIO-RECEIPT-STORE"), "%s: %.300s", label, r.err);
    cr_expect_not_null(strstr(r.err, "move that file away, then audit the store)"), "%s: %.300s",
                       label, r.err);
    testutil_cli_free(&r);
}

/* The store opens read-only and read-write. */
static void expect_opens(const char *label)
{
    chio_store *s = NULL;
    chio_error err;

    chio_error_init(&err);
    cr_expect_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, &err), 0, "%s: %s", label,
                 err.message);
    chio_store_close(s);
    s = NULL;
    chio_error_init(&err);
    cr_expect_eq(chio_store_open(db, CHIO_STORE_READ_WRITE, &s, &err), 0, "%s: %s", label,
                 err.message);
    chio_store_close(s);
}

/* F3. Before, each of these opened as a store with no mark (exit 0 from
 * the audit, a kernel started and wrote a fresh mark); a number past
 * 2^64-1 or a negative one read as 2^64-1 (refused, naming checkpoint
 * 18446744073709551615). The form the writer writes, with a mark of 0
 * too, and a store without its sentinel (one never marked) still open. */
Test(rev56_audit, a_sentinel_that_does_not_parse_is_refused_by_every_open)
{
    static const char *const bad[] = {
        "garbage\n",
        "",
        "chio.receipt_store.v1\n",
        "chio.receipt_store.v1",
        "chio.receipt_store.v1\nlast_checkpoint \n",
        "chio.receipt_store.v1\nlast_checkpoint 2",
        "chio.receipt_store.v1\nlast_checkpoint 2x\n",
        "chio.receipt_store.v1\nlast_checkpoint -1\n",
        "chio.receipt_store.v1\nlast_checkpoint 18446744073709551616\n",
        "chio.receipt_store.v1\nlast_checkpoint 2\nlast_checkpoint 9\n",
        "chio.receipt_store.v2\nlast_checkpoint 2\n",
        "xchio.receipt_store.v1\nlast_checkpoint 2\n",
    };
    static const char good[] = "chio.receipt_store.v1\nlast_checkpoint 0\n";
    char label[80];
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(label, sizeof(label), "sentinel %zu (%zu bytes)", i, strlen(bad[i]));
        put_sentinel(bad[i], strlen(bad[i]));
        expect_mark_refused(label, "holds no mark this library writes");
        put_sentinel(good, sizeof(good) - 1);
        expect_opens(label);
    }
    /* one of 256 bytes or more, the rest of a valid one after it */
    {
        char big[300];
        memset(big, ' ', sizeof(big));
        memcpy(big, "chio.receipt_store.v1\nlast_checkpoint 2\n", 40);
        put_sentinel(big, sizeof(big));
        expect_mark_refused("a long sentinel", "holds no mark this library writes");
    }
    /* moved away: the store opens as one never marked and is marked
     * afresh (checkpoint 2) */
    cr_assert_eq(unlink(sentinel), 0);
    expect_opens("no sentinel");
    {
        size_t len = 0;
        char *text = testutil_read_file(sentinel, &len);
        cr_assert_not_null(text);
        cr_expect_eq(len, strlen("chio.receipt_store.v1\nlast_checkpoint 2\n"));
        cr_expect_eq(memcmp(text, "chio.receipt_store.v1\nlast_checkpoint 2\n", len), 0);
        free(text);
    }
}

/* F3: a sentinel its reader may not open (EACCES) read as no mark. The
 * reader runs as another user (nobody), for whom everything else of the
 * store is readable. */
Test(rev56_audit, a_sentinel_that_cannot_be_read_is_refused)
{
    chio_store *s = NULL;
    chio_error err;
    pid_t pid;
    int st;

    cr_assert_eq(chmod(dir, 0755), 0);
    cr_assert_eq(chmod(db, 0755), 0);
    cr_assert_eq(chmod(sentinel, 0600), 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int rc, code = 0;
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(10);
        if (geteuid() != 0 && access(sentinel, R_OK) == 0)
            _exit(11); /* still readable: nothing to test */
        chio_error_init(&err);
        rc = chio_store_open(db, CHIO_STORE_READ_ONLY, &s, &err);
        chio_store_close(s);
        if (rc != CHIO_ESTORE)
            code = rc == 0 ? 20 : 21;
        else if (strstr(err.message, "cannot be read (Permission denied)") == NULL)
            code = 22;
        if (code != 0)
            fprintf(stderr, "rc %d: %.300s\n", rc, err.message);
        _exit(code);
    }
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st));
    if (WEXITSTATUS(st) == 10 || WEXITSTATUS(st) == 11)
        cr_skip_test("cannot read the store as a user the sentinel is closed to");
    cr_expect_eq(WEXITSTATUS(st), 0,
                 "20: opened as unmarked, 21: another error, 22: another message (%d)",
                 WEXITSTATUS(st));
    /* readable again: opens */
    cr_assert_eq(chmod(sentinel, 0644), 0);
    chio_error_init(&err);
    cr_expect_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, &err), 0, "%s", err.message);
    chio_store_close(s);
}

static void write_retained(uint64_t seq)
{
    unsigned char v[8];

    for (int i = 0; i < 8; i++)
        v[i] = (unsigned char)(seq >> (56 - 8 * i));
    testutil_raw_write(db, "default", CHIO__META_RETAINED_SEQ, strlen(CHIO__META_RETAINED_SEQ), v,
                       8);
}

/* F4. retained_from_seq raised above the log's first receipt: the receipts
 * before it are extra, not missing (the audit names them
 * receipt_before_log_start); before, the start said "receipts are
 * missing". The other way (the first receipts deleted) names the missing
 * ones. */
Test(rev56_audit, a_start_words_the_log_start_by_direction)
{
    char msg[512];
    cli_result r;

    write_retained(3);
    cr_expect_eq(kt_try_start(db, BATCH, msg, sizeof(msg)), CHIO_ECORRUPT, "%s", msg);
    cr_expect_not_null(strstr(msg, "the receipt log starts at 1 but should start at 3"), "%s", msg);
    cr_expect_not_null(strstr(msg, "receipts 1..2 are stored before the log's start"), "%s", msg);
    cr_expect_null(strstr(msg, "missing"), "%s", msg);
    r = audit();
    cr_expect_eq(r.status, 1, "%.600s", r.out);
    cr_expect_not_null(strstr(r.out, "receipt_before_log_start"), "%.600s", r.out);
    testutil_cli_free(&r);

    write_retained(1);
    delete_receipt(1);
    delete_receipt(2);
    cr_expect_eq(kt_try_start(db, BATCH, msg, sizeof(msg)), CHIO_ECORRUPT, "%s", msg);
    cr_expect_not_null(strstr(msg, "the receipt log starts at 3 but should start at 1: receipts "
                                   "1..2 are missing"),
                       "%s", msg);
}
