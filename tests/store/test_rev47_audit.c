/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/store/test_rev47_audit.c - review 47, the receipt log audit
 * (`chio receipt verify --receipt-db`) against keys no kernel writes.
 *
 * The receipts and checkpoints families are keyed by 8-byte big-endian
 * sequence numbers. A key of another length written by hand ended the
 * audit at the first such key ("a receipts key is not 8 bytes"), so
 * nothing after it was checked and nothing was named; and one shorter than
 * 8 bytes made of zero bytes sorts before sequence number 0, where the
 * scan started (a seek to 0), so it was never seen: a record hidden there
 * left the audit clean. The audit now starts at each family's first key,
 * names each such key ("bad_key") and goes on.
 *
 * The same directory holding a FIFO, a device or a link where a file is
 * expected (the sentinel, CURRENT): every open read it as a file and
 * blocked forever (a FIFO) or read without end (/dev/zero), so the audit
 * and a kernel's start hung. Such an entry is now refused, named; and the
 * sentinel's mark is never written through a link planted under its
 * temporary name.
 *
 * The log: a real kernel's, 10 receipts, checkpoints of 4, damaged through
 * RocksDB directly (testutil_raw_write).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "store_internal.h"

#define N 10

static char *dir, *db;

static void setup(void)
{
    chio_kernel_config cfg;
    chio_kernel *k;

    dir = testutil_tmpdir();
    cr_assert_geq(asprintf(&db, "%s/log", dir), 0);
    kt_config(&cfg, db);
    cfg.checkpoint_batch_size = 4;
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
}

TestSuite(rev47_audit, .init = setup, .fini = teardown);

static cli_result audit(void)
{
    const char *argv[] = {"receipt", "verify", "--receipt-db", db, NULL};

    return testutil_run_cli(argv, NULL, 0);
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;

    while ((hay = strstr(hay, needle)) != NULL) {
        n++;
        hay++;
    }
    return n;
}

Test(rev47_audit, the_clean_log_audits_clean)
{
    cli_result r = audit();

    cr_expect_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_expect_eq(count(r.out, "{\"problem\":"), 0, "%s", r.out);
    testutil_cli_free(&r);
}

/* A 9-byte key between receipts 5 and 6, and receipt 8 replaced by a copy
 * of receipt 3 after it: both named, the summary printed. */
Test(rev47_audit, a_junk_key_among_the_receipts_is_named_and_the_audit_goes_on)
{
    static const unsigned char junk[9] = {0, 0, 0, 0, 0, 0, 0, 5, 'x'};
    size_t len3;
    char *r3 = testutil_stored(db, 0, 3, &len3);
    cli_result r;

    testutil_raw_write(db, "receipts", junk, sizeof(junk), "junk", 4);
    testutil_raw_write_seq(db, "receipts", 8, r3, len3);
    r = audit();
    cr_expect_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"bad_key\",\"family\":\"receipts\","
                                     "\"key_hex\":\"000000000000000578\",\"key_length\":9,"
                                     "\"value_length\":4,"),
                       "%s%s", r.out, r.err);
    /* before review 47 the audit stopped at the junk key: receipt 8 was
     * never looked at and no summary came out */
    cr_expect_not_null(strstr(r.out, "\"seq\":8"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "{\"receipts\":10,"), "%s", r.out);
    testutil_cli_free(&r);
    chio_free(r3);
}

/* A record under a one-byte key 0x00: it sorts before receipt 0, where
 * the scan began, so before review 47 the audit passed it unseen (exit 0). */
Test(rev47_audit, a_record_hidden_before_receipt_zero_is_named)
{
    size_t len3;
    char *r3 = testutil_stored(db, 0, 3, &len3);
    cli_result r;

    testutil_raw_write(db, "receipts", "\0", 1, r3, len3);
    r = audit();
    cr_expect_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"bad_key\",\"family\":\"receipts\","
                                     "\"key_hex\":\"00\",\"key_length\":1,"),
                       "%s%s", r.out, r.err);
    cr_expect_eq(count(r.out, "{\"problem\":"), 1, "%s", r.out);
    testutil_cli_free(&r);
    chio_free(r3);
}

/* The same among the checkpoints: an empty key (first of all) and one of
 * 12 bytes after checkpoint 1, the second checkpoint's range tampered
 * after them (receipt 6 replaced). */
Test(rev47_audit, junk_keys_among_the_checkpoints_are_named_and_the_audit_goes_on)
{
    static const unsigned char junk[12] = {0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4};
    size_t len1, len2;
    char *c1 = testutil_stored(db, 1, 1, &len1), *r2 = testutil_stored(db, 0, 2, &len2);
    cli_result r;

    testutil_raw_write(db, "checkpoints", "", 0, c1, len1);
    testutil_raw_write(db, "checkpoints", junk, sizeof(junk), c1, len1);
    testutil_raw_write_seq(db, "receipts", 6, r2, len2);
    r = audit();
    cr_expect_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"bad_key\",\"family\":\"checkpoints\","
                                     "\"key_hex\":\"\",\"key_length\":0,"),
                       "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"bad_key\",\"family\":\"checkpoints\","
                                     "\"key_hex\":\"000000000000000101020304\",\"key_length\":12,"),
                       "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "\"checkpoint_seq\":2,"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "{\"receipts\":10,"), "%s", r.out);
    testutil_cli_free(&r);
    chio_free(c1);
    chio_free(r2);
}

/* The store's number metadata (where the log and its checkpoints start,
 * the chain start, the archive mark) given a value that is not 8 bytes:
 * before review 47 the audit stopped at the first ("store metadata ... is
 * malformed", exit 2), naming nothing else; now each is named, read as
 * absent, and the receipt replaced after them is named too. */
Test(rev47_audit, malformed_metadata_is_named_and_the_audit_goes_on)
{
    static const char *const names[] = {"retained_from_seq", "retained_from_checkpoint",
                                        "chain_from", "archive"};
    size_t len3, i;
    char *r3 = testutil_stored(db, 0, 3, &len3), want[128];
    cli_result r;

    for (i = 0; i < 4; i++)
        testutil_raw_write(db, "default", names[i], strlen(names[i]), "abcd", 4);
    testutil_raw_write_seq(db, "receipts", 8, r3, len3);
    r = audit();
    cr_expect_eq(r.status, 1, "%s%s", r.out, r.err);
    for (i = 0; i < 4; i++) {
        snprintf(want, sizeof(want), "{\"problem\":\"bad_metadata\",\"name\":\"%s\",", names[i]);
        cr_expect_not_null(strstr(r.out, want), "%s: %s%s", names[i], r.out, r.err);
    }
    cr_expect_not_null(strstr(r.out, "\"seq\":8"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "{\"receipts\":10,"), "%s", r.out);
    testutil_cli_free(&r);
    chio_free(r3);
}

/* A chain key that is not 8 bytes, sorting first: before review 47 the
 * audit ended on it ("a chain key is not 8 bytes", exit 2). */
Test(rev47_audit, a_junk_chain_key_is_named_and_the_audit_goes_on)
{
    static const unsigned char value[32] = {1};
    size_t len3;
    char *r3 = testutil_stored(db, 0, 3, &len3);
    cli_result r;

    testutil_raw_write(db, "chain", "", 0, value, sizeof(value));
    testutil_raw_write_seq(db, "receipts", 8, r3, len3);
    r = audit();
    cr_expect_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"bad_key\",\"family\":\"chain\","
                                     "\"key_hex\":\"\",\"key_length\":0,\"value_length\":32,"),
                       "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "\"seq\":8"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "{\"receipts\":10,"), "%s", r.out);
    testutil_cli_free(&r);
    chio_free(r3);
}

/* The tail cut back to an earlier head: receipt 11 (after the last
 * checkpoint, so no checkpoint or sentinel mark names it) deleted with its
 * index entry and the head signed before it written back, its chain entry
 * left. Before review 47 the audit passed it (exit 0). */
Test(rev47_audit, chain_entries_left_past_a_cut_tail_are_named)
{
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_store *s = NULL;
    chio_receipt *rc11 = NULL;
    char *head = NULL, *r11;
    size_t hlen = 0, len11;
    cli_result r;

    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_assert_eq(chio__store_get_meta(s, CHIO__META_LOG_HEAD, &head, &hlen, NULL), 0);
    chio_store_close(s);
    kt_config(&cfg, db);
    cfg.checkpoint_batch_size = 4;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    k = kt_kernel(&cfg);
    kt_sign_range(k, N + 1, 1);
    chio_kernel_free(k);
    r11 = testutil_stored(db, 0, N + 1, &len11);
    cr_assert_eq(chio_receipt_parse(r11, len11, &rc11, NULL), 0);
    testutil_raw_write_seq(db, "receipts", N + 1, NULL, 0);
    testutil_raw_write(db, "receipt_ids", chio_receipt_id(rc11), strlen(chio_receipt_id(rc11)),
                       NULL, 0);
    testutil_raw_write(db, "default", CHIO__META_LOG_HEAD, strlen(CHIO__META_LOG_HEAD), head, hlen);
    r = audit();
    cr_expect_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"chain_dangling\",\"seq\":11,"
                                     "\"last_seq\":10,"),
                       "%s%s", r.out, r.err);
    cr_expect_eq(count(r.out, "{\"problem\":"), 1, "%s", r.out);
    testutil_cli_free(&r);
    chio_receipt_free(rc11);
    chio_free(r11);
    free(head);
}

/* ---- what the store's directory holds in place of a file ---------------------------- */

/* @name in the store replaced by a FIFO (@target NULL) or a link to
 * @target: the audit and a read-write open refuse the store, naming the
 * entry, instead of blocking on it forever (before review 47 both hung:
 * the sentinel and RocksDB's files were opened and read as they were).
 * The open fails with @code: CHIO_ECORRUPT for RocksDB's files,
 * CHIO_ESTORE for the sentinel, which cannot be written there (review 54,
 * tests/store/test_rev54_marks.c). */
static void expect_refused(const char *name, const char *target, const char *kind, int code)
{
    char *p, *want;
    chio_store *s = NULL;
    chio_error err;
    cli_result r;

    cr_assert_geq(asprintf(&p, "%s/%s", db, name), 0);
    cr_assert_eq(unlink(p), 0, "%s: %s", p, strerror(errno));
    if (target == NULL)
        cr_assert_eq(mkfifo(p, 0600), 0, "%s", strerror(errno));
    else
        cr_assert_eq(symlink(target, p), 0, "%s", strerror(errno));
    cr_assert_geq(asprintf(&want, "holds '%s', which is %s", name, kind), 0);
    r = audit();
    cr_expect_eq(r.status, 2, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.err, want), "%s", r.err);
    testutil_cli_free(&r);
    chio_error_init(&err);
    cr_expect_eq(chio_store_open(db, CHIO_STORE_READ_WRITE, &s, &err), code, "%s", err.message);
    cr_expect_not_null(strstr(err.message, want), "%s", err.message);
    chio_store_close(s);
    free(want);
    free(p);
}

Test(rev47_audit, a_fifo_for_the_sentinel_is_refused_not_waited_on)
{
    expect_refused("CHIO-RECEIPT-STORE", NULL, "a FIFO", CHIO_ESTORE);
}

Test(rev47_audit, a_fifo_for_current_is_refused_not_waited_on)
{
    expect_refused("CURRENT", NULL, "a FIFO", CHIO_ECORRUPT);
}

Test(rev47_audit, the_sentinel_linked_to_dev_zero_is_refused_not_read_without_end)
{
    expect_refused("CHIO-RECEIPT-STORE", "/dev/zero", "a symbolic link", CHIO_ESTORE);
}

/* A link planted under the sentinel's temporary name while a kernel runs:
 * the next mark replaces the link and is written in its place, never
 * through it into the file it points at (before review 47 it was). */
Test(rev47_audit, the_sentinel_is_never_written_through_a_planted_link)
{
    char *tmp, *victim, *back = NULL;
    chio_store *s = NULL;
    chio_error err;
    size_t len = 0;

    cr_assert_geq(asprintf(&tmp, "%s/CHIO-RECEIPT-STORE.tmp", db), 0);
    cr_assert_geq(asprintf(&victim, "%s/victim", dir), 0);
    cr_assert_eq(testutil_write_file(victim, "keep", 4, 0600), 0);
    chio_error_init(&err);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_WRITE, &s, &err), 0, "%s", err.message);
    cr_assert_eq(symlink(victim, tmp), 0);
    chio__store_note_checkpoint(s, 2, 1);
    chio_store_close(s);
    back = testutil_read_file(victim, &len);
    cr_expect_eq(len, 4);
    cr_expect_eq(memcmp(back, "keep", 4), 0, "the victim was written through the link");
    free(back);
    free(victim);
    free(tmp);
}
