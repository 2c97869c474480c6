/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_rev23_audit.c - the receipt log as evidence, review 23:
 * tampering that `chio receipt verify --receipt-db` (and the kernel
 * reopening the log, and chio_store_find_receipt) used to miss or report
 * dishonestly. Each test builds a small log with a real kernel (10 receipts,
 * checkpoints of 4: receipts 9 and 10 are not covered yet), edits the RocksDB directory directly
 * (as an attacker with write access to it would, without the kernel key) and checks what the audit
 * prints and returns:
 *
 *  - a receipt or a checkpoint stored under number 0 (the scans started at
 *    1, so it was invisible; the kernel read first = 0 as "empty");
 *  - the tail cut with the log head, every chain entry and the chain_from
 *    record deleted, the key record kept (audited clean, exit 0);
 *  - a receipt whose id holds a quote and newlines (the problem line
 *    printed it raw: made-up JSON lines in the audit's output);
 *  - a receipt stored under UINT64_MAX (the expected number wrapped and
 *    receipts that are there were reported missing).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/merkle.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "store_internal.h"

#define N     10
#define BATCH 4

static char *dir, *db;

static void setup(void)
{
    chio_kernel_config cfg;
    chio_kernel *k;

    dir = testutil_tmpdir();
    cr_assert_geq(asprintf(&db, "%s/log", dir), 0);
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
}

TestSuite(audit23, .init = setup, .fini = teardown);

/* One raw write to column family @cf: put @val (NULL: delete @key). */
static void raw(const char *cf, const void *key, size_t klen, const void *val, size_t vlen)
{
    testutil_raw_write(db, cf, key, klen, val, vlen);
}

static void raw_seq(const char *cf, uint64_t seq, const void *val, size_t vlen)
{
    testutil_raw_write_seq(db, cf, seq, val, vlen);
}

static char *stored(int checkpoint, uint64_t seq, size_t *len)
{
    return testutil_stored(db, checkpoint, seq, len);
}

static cli_result audit(void)
{
    const char *argv[] = {"receipt", "verify", "--receipt-db", db, NULL};

    return testutil_run_cli(argv, NULL, 0);
}

/* Every stdout line is one JSON object; returns how many carry "problem"
 * and checks there is exactly one summary, the last line. */
static size_t json_lines(const cli_result *r)
{
    char *text = strdup(r->out), *line, *save = NULL;
    size_t problems = 0, summaries = 0, lines = 0, summary_at = 0;

    for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        chio_json_doc *doc = NULL;
        cr_assert_eq(chio_json_parse(line, strlen(line), &doc, NULL), 0, "not JSON: %s", line);
        cr_assert_eq(chio_json_typeof(chio_json_root(doc)), CHIO_JSON_OBJECT, "%s", line);
        lines++;
        if (chio_json_get(chio_json_root(doc), "problem") != NULL) {
            problems++;
        } else {
            summaries++;
            summary_at = lines;
        }
        chio_json_doc_free(doc);
    }
    free(text);
    cr_expect_eq(summaries, 1, "%s", r->out);
    cr_expect_eq(summary_at, lines, "the summary is not the last line: %s", r->out);
    return problems;
}

static int kernel_start_rc(void)
{
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_error err;
    int rc;

    kt_config(&cfg, db);
    cfg.checkpoint_batch_size = BATCH;
    k = kt_kernel(&cfg);
    chio_error_init(&err);
    rc = chio_kernel_start(k, &err);
    chio_kernel_free(k);
    return rc;
}

Test(audit23, the_untouched_log_verifies)
{
    cli_result r = audit();

    cr_expect_eq(r.status, 0, "%s %s", r.out, r.err);
    cr_expect_eq(json_lines(&r), 0, "%s", r.out);
    testutil_cli_free(&r);
}

Test(audit23, a_receipt_stored_under_sequence_zero_is_named_and_refused)
{
    size_t len;
    char *json = stored(0, 3, &len), *id;
    unsigned char zero[8] = {0};
    chio_receipt *rc;
    chio_store *s;
    uint64_t seq = 99;
    cli_result r;

    /* A genuine receipt of this log copied to number 0, the id index
     * pointing there: before, the audit read from 1 and passed (exit 0),
     * `receipt list` did not show it, chio_store_find_receipt answered 0
     * and a kernel reopened the log (first = 0 read as "none"). */
    raw("receipts", zero, 8, json, len);
    cr_assert_eq(chio_receipt_parse(json, len, &rc, NULL), 0);
    id = strdup(chio_receipt_id(rc));
    chio_receipt_free(rc);
    raw("receipt_ids", id, strlen(id), zero, 8);
    r = audit();
    cr_expect_eq(r.status, 1, "%s", r.out);
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"receipt_before_log_start\",\"seq\":0,"), "%s",
                       r.out);
    cr_expect_null(strstr(r.out, "missing_receipt"), "%s", r.out);
    json_lines(&r);
    testutil_cli_free(&r);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_expect_eq(chio_store_find_receipt(s, id, &seq, NULL), CHIO_ECORRUPT, "found at %llu",
                 (unsigned long long)seq);
    chio_store_close(s);
    cr_expect_eq(kernel_start_rc(), CHIO_ECORRUPT);
    free(id);
    chio_free(json);
}

Test(audit23, a_checkpoint_stored_under_zero_is_named_alone)
{
    size_t len;
    char *json = stored(1, 1, &len);
    cli_result r;

    raw_seq("checkpoints", 0, json, len);
    r = audit();
    cr_expect_eq(r.status, 1, "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"checkpoint_seq\":0,\"reason\":\"numbering\""), "%s", r.out);
    cr_expect_eq(json_lines(&r), 1, "only checkpoint 0 is named: %s", r.out);
    cr_expect_not_null(strstr(r.out, "\"checkpoints\":3,\"checkpoints_valid\":2,"), "%s", r.out);
    testutil_cli_free(&r);
    cr_expect_eq(kernel_start_rc(), CHIO_ECORRUPT);
    chio_free(json);
}

Test(audit23, the_tail_cut_with_head_chain_and_chain_start_deleted_fails)
{
    cli_result r;
    uint64_t i;

    /* Receipts 9 and 10 (no checkpoint covers them yet) cut; to hide the cut, the head, every chain
     * entry and the chain_from record deleted; the key record kept. Before, the audit read "no
     * chain" as "chain_from 0", reported nothing, counted no receipt as unchained and exited 0. */
    for (i = 9; i <= N; i++)
        raw_seq("receipts", i, NULL, 0);
    for (i = 1; i <= N; i++)
        raw_seq("chain", i, NULL, 0);
    raw("default", CHIO__META_LOG_HEAD, strlen(CHIO__META_LOG_HEAD), NULL, 0);
    raw("default", CHIO__META_CHAIN_FROM, strlen(CHIO__META_CHAIN_FROM), NULL, 0);
    r = audit();
    cr_expect_eq(r.status, 1, "a cut log passed: %s", r.out);
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"log_head_missing\""), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"chain_missing\",\"seq\":8}"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"chain_from\":1,"), "%s", r.out);
    json_lines(&r);
    testutil_cli_free(&r);
    /* the kernel already refused it (no head, chain from 1, log ends at 8) */
    cr_expect_eq(kernel_start_rc(), CHIO_ECORRUPT);
}

Test(audit23, a_receipt_id_cannot_add_lines_to_the_audit)
{
    static const char evil[] =
        "x\"}\n{\"receipts\":8,\"invalid\":0}\n{\"problem\":\"none\",\"a\":\"";
    char *json, *lit = NULL, *bad, *at;
    size_t len, llen = 0, blen;
    cli_result r;

    /* Receipt 2 with its id replaced (invalid, so the audit names it and
     * prints the id): the line must stay one JSON object. */
    json = stored(0, 2, &len);
    cr_assert_eq(chio_json_write_string(evil, strlen(evil), &lit, &llen), 0);
    at = strstr(json, "\"id\":\"");
    cr_assert_not_null(at);
    at += 5; /* the opening quote of the 64 hex digits */
    blen = len - 66 + llen;
    bad = malloc(blen);
    cr_assert_not_null(bad);
    memcpy(bad, json, (size_t)(at - json));
    memcpy(bad + (at - json), lit, llen);
    memcpy(bad + (at - json) + llen, at + 66, len - (size_t)(at - json) - 66);
    raw_seq("receipts", 2, bad, blen);
    r = audit();
    cr_expect_eq(r.status, 1, "%s", r.out);
    cr_expect_geq(json_lines(&r), 1, "%s", r.out);
    cr_expect_not_null(
        strstr(r.out, "{\"problem\":\"invalid_receipt\",\"seq\":2,\"id\":\"x\\\"}\\n"), "%s",
        r.out);
    testutil_cli_free(&r);
    chio_free(lit);
    free(bad);
    chio_free(json);
}

Test(audit23, a_receipt_under_the_last_number_does_not_wrap_the_count)
{
    size_t len;
    char *json = stored(0, N, &len);
    cli_result r;

    raw_seq("receipts", UINT64_MAX, json, len);
    r = audit();
    cr_expect_eq(r.status, 1, "%s", r.out);
    cr_expect_not_null(
        strstr(r.out, "{\"problem\":\"receipt_after_head\",\"seq\":18446744073709551615,"), "%s",
        r.out);
    /* receipts 1..10 are there: none of them is missing */
    cr_expect_null(strstr(r.out, "{\"problem\":\"missing_receipt\",\"seq\":0}"), "%s", r.out);
    cr_expect_null(strstr(r.out, "{\"problem\":\"missing_receipt\",\"seq\":1}"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"gaps\":18446744073709551604,"), "%s", r.out);
    testutil_cli_free(&r);
    chio_free(json);
}

Test(audit23, a_moved_chain_start_is_refused_and_named_even_with_allow_legacy)
{
    const char *argv[] = {"receipt", "verify", "--receipt-db", db, "--allow-legacy", NULL};
    unsigned char nine[8];
    uint8_t key[32];
    char key_hex[65];
    uint64_t from = 0, i;
    chio__record_state st;
    chio_store *s;
    cli_result r;

    /* The key record signs where the chain starts. */
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_assert_eq(chio__store_read_key_record_from(s, key, key_hex, &from, &st, NULL), 0);
    chio_store_close(s);
    cr_expect_eq(st, CHIO__RECORD_OK);
    cr_expect_eq(from, 1);

    /* Receipts 9 and 10 cut, the head and every chain entry deleted and
     * chain_from set to 9: before, a kernel continued the log (a new chain
     * from 9, signed heads and all) and the audit called receipts 1-8
     * "unchained", which --allow-legacy accepts (exit 0). */
    for (i = 9; i <= N; i++)
        raw_seq("receipts", i, NULL, 0);
    for (i = 1; i <= N; i++)
        raw_seq("chain", i, NULL, 0);
    raw("default", CHIO__META_LOG_HEAD, strlen(CHIO__META_LOG_HEAD), NULL, 0);
    chio__store_key(9, nine);
    raw("default", CHIO__META_CHAIN_FROM, strlen(CHIO__META_CHAIN_FROM), nine, 8);
    cr_expect_eq(kernel_start_rc(), CHIO_ECORRUPT);
    r = testutil_run_cli(argv, NULL, 0);
    cr_expect_eq(r.status, 1, "%s %s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"chain_from_mismatch\",\"chain_from\":1,"),
                       "%s", r.out);
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"chain_missing\",\"seq\":1}"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"chain_from\":1,\"log_problems\""), "%s", r.out);
    json_lines(&r);
    testutil_cli_free(&r);
}

Test(audit23, receipt_list_keeps_control_characters_off_the_terminal)
{
    const char *argv[] = {"receipt", "list", "--receipt-db", db, "--format", "table", NULL};
    chio_kernel_config cfg;
    chio_receipt_builder *b;
    chio_kernel *k;
    chio_receipt *rc;
    cli_result r;
    size_t rows = 0;
    const char *p;

    /* A denial receipt keeps the tool name the caller asked for: here one
     * with an escape sequence and a newline that would draw a fake row. */
    kt_config(&cfg, db);
    cfg.checkpoint_batch_size = BATCH;
    k = kt_kernel(&cfg);
    b = kt_builder(N + 1);
    cr_assert_eq(chio_receipt_builder_set_tool(b, "srv", "x\x1b[2J\n      99  fake\r"), 0);
    cr_assert_eq(chio_kernel_sign_receipt(k, b, &rc, NULL), 0);
    chio_receipt_free(rc);
    chio_kernel_free(k);
    r = testutil_run_cli(argv, NULL, 0);
    cr_expect_eq(r.status, 0, "%s", r.err);
    for (p = r.out; *p != '\0'; p++)
        rows += *p == '\n';
    cr_expect_eq(rows, N + 2, "a header and %d rows: %s", N + 1, r.out);
    cr_expect_null(strchr(r.out, '\x1b'), "%s", r.out);
    cr_expect_null(strchr(r.out, '\r'), "%s", r.out);
    testutil_cli_free(&r);
}

Test(audit23, a_kernel_refuses_a_log_whose_newest_checkpoint_was_deleted)
{
    static const char sentinel[] = "chio.receipt_store.v1\nlast_checkpoint 1\n";
    char *path;
    FILE *f;
    cli_result r;

    /* Checkpoint 2 (the newest, named by the signed head) deleted and the
     * sentinel edited to match: the audit names it, but before, a kernel
     * reopening the log cut and signed checkpoint 2 again, and the audit
     * came back clean. */
    raw_seq("checkpoints", 2, NULL, 0);
    cr_assert_geq(asprintf(&path, "%s/CHIO-RECEIPT-STORE", db), 0);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(sentinel, 1, sizeof(sentinel) - 1, f), sizeof(sentinel) - 1);
    cr_assert_eq(fclose(f), 0);
    free(path);
    cr_expect_eq(kernel_start_rc(), CHIO_ECORRUPT);
    r = audit();
    cr_expect_eq(r.status, 1, "%s", r.out);
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"missing_checkpoint\",\"checkpoint_seq\":2}"),
                       "%s", r.out);
    testutil_cli_free(&r);
}

Test(audit23, an_inclusion_proof_without_a_checkpoint_is_not_ok)
{
    const char *argv[] = {"checkpoint", "verify-proof", "--receipt", NULL, NULL};
    char *json, *file, *proof, hex[65];
    uint8_t leaf[32];
    size_t len;
    cli_result r;

    /* A receipt is the root of a one-leaf tree of itself: before, this
     * "proof" printed ok:true and exited 0 with no checkpoint at all. */
    json = stored(0, 9, &len);
    cr_assert_geq(asprintf(&file, "%s/r9.json", dir), 0);
    cr_assert_eq(testutil_write_file(file, json, len, 0600), 0);
    cr_assert_eq(chio_merkle_leaf_hash(json, len, leaf), 0);
    chio_hex_encode(leaf, 32, hex);
    cr_assert_geq(asprintf(&proof,
                           "{\"checkpoint_seq\":77,\"leaf_index\":0,\"merkle_root\":\"0x%s\","
                           "\"proof\":{\"audit_path\":[],\"leaf_index\":0,\"tree_size\":1},"
                           "\"receipt_seq\":9}",
                           hex),
                  0);
    argv[3] = file;
    r = testutil_run_cli(argv, proof, strlen(proof));
    cr_expect_eq(r.status, 1, "%s %s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "\"checkpoint_checked\":false"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"inclusion_valid\":true"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"ok\":false"), "%s", r.out);
    cr_expect_not_null(strstr(r.err, "--checkpoint"), "%s", r.err);
    testutil_cli_free(&r);
    free(proof);
    free(file);
    chio_free(json);
}

Test(audit23, a_forged_checkpoint_range_names_the_checkpoint_only)
{
    size_t len;
    char *json = stored(1, 2, &len), *mod, *at;
    cli_result r;

    /* Checkpoint 2 (receipts 5..8) edited to end at 999999: its signature
     * breaks, and before, its range was still used to count receipts, so
     * the audit named receipts 11..999999 "missing" (10,000 lines and a
     * range) that never existed. */
    at = strstr(json, "\"batch_end_seq\":8,");
    cr_assert_not_null(at);
    cr_assert_geq(asprintf(&mod, "%.*s\"batch_end_seq\":999999,%s", (int)(at - json), json,
                           at + strlen("\"batch_end_seq\":8,")),
                  0);
    raw_seq("checkpoints", 2, mod, strlen(mod));
    r = audit();
    cr_expect_eq(r.status, 1, "%s", r.out);
    cr_expect_eq(json_lines(&r), 1, "only checkpoint 2 is named: %.2000s", r.out);
    cr_expect_not_null(strstr(r.out, "\"checkpoint_seq\":2,\"reason\":\"signature\""), "%.2000s",
                       r.out);
    cr_expect_not_null(strstr(r.out, "\"gaps\":0,\"invalid\":0,"), "%.2000s", r.out);
    testutil_cli_free(&r);
    free(mod);
    chio_free(json);
}

Test(audit23, a_moved_chain_start_under_an_older_key_record_is_unchained_and_pinned)
{
    unsigned char nine[8];
    chio_keypair *kp;
    char *rec = NULL;
    size_t len = 0;
    uint64_t i;
    cli_result r;

    /* A key record of the form written before it signed chain_from: a
     * moved start shows only as unchained receipts (security.md), and the
     * note names the pin the audit used (it said "not pinned to any key"). */
    cr_assert_eq(chio_keypair_from_seed_hex(TEST_SEED, 64, &kp, NULL), 0);
    cr_assert_eq(chio__key_record_sign(kp, 1000, &rec, &len), 0);
    chio_keypair_free(kp);
    raw("default", CHIO__META_KEY_RECORD, strlen(CHIO__META_KEY_RECORD), rec, len);
    free(rec);
    for (i = 9; i <= N; i++)
        raw_seq("receipts", i, NULL, 0);
    for (i = 1; i <= N; i++)
        raw_seq("chain", i, NULL, 0);
    raw("default", CHIO__META_LOG_HEAD, strlen(CHIO__META_LOG_HEAD), NULL, 0);
    chio__store_key(9, nine);
    raw("default", CHIO__META_CHAIN_FROM, strlen(CHIO__META_CHAIN_FROM), nine, 8);
    r = audit();
    cr_expect_eq(r.status, 1, "%s %s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "\"signer_pinned_by\":\"store\""), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"unchained\":8,"), "%s", r.out);
    cr_expect_not_null(strstr(r.err, "checked against the store's key record"), "%s", r.err);
    testutil_cli_free(&r);
}

Test(audit23, a_tail_cut_to_an_earlier_head_shows_by_its_left_over_index_entries)
{
    chio_store *s;
    char *json, *ids[N + 1];
    size_t len;
    uint64_t i;
    cli_result r;

    /* The head as the kernel signed it after receipt 8 (earlier heads stay
     * readable in the WAL), written back with receipts 9, 10 and their
     * chain entries deleted: a rollback no local check can see
     * (security.md), except that the id index still names 9 and 10. */
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    for (i = 9; i <= N; i++) {
        chio_receipt *rc;
        cr_assert_eq(chio_store_get_receipt(s, i, &json, &len, NULL), 0);
        cr_assert_eq(chio_receipt_parse(json, len, &rc, NULL), 0);
        ids[i] = strdup(chio_receipt_id(rc));
        chio_receipt_free(rc);
        chio_free(json);
    }
    chio_store_close(s);
    testutil_write_head(db, TEST_SEED, 8, 2);
    for (i = 9; i <= N; i++) {
        raw_seq("receipts", i, NULL, 0);
        raw_seq("chain", i, NULL, 0);
    }
    r = audit();
    cr_expect_eq(r.status, 1, "%s", r.out);
    cr_expect_eq(json_lines(&r), 2, "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"problem\":\"index_dangling\""), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"indexed_seq\":10}"), "%s", r.out);
    testutil_cli_free(&r);

    /* with the index entries deleted too, it is the documented rollback */
    for (i = 9; i <= N; i++) {
        raw("receipt_ids", ids[i], strlen(ids[i]), NULL, 0);
        free(ids[i]);
    }
    r = audit();
    cr_expect_eq(r.status, 0, "%s", r.out);
    testutil_cli_free(&r);
}

Test(audit23, receipt_list_jsonl_stays_one_receipt_per_line)
{
    static const char two[] = "{\"made\":\"up\"}\n{\"also\":\"made up\"}";
    const char *argv[] = {"receipt", "list", "--receipt-db", db, "--format", "jsonl", NULL};
    cli_result r;
    size_t lines = 0;
    const char *p;

    /* A stored value holding a line break: before, it came out as two
     * JSON lines of the attacker's making among the receipts. */
    raw_seq("receipts", N + 1, two, sizeof(two) - 1);
    r = testutil_run_cli(argv, NULL, 0);
    cr_expect_eq(r.status, 0, "%s", r.err);
    for (p = r.out; *p != '\0'; p++)
        lines += *p == '\n';
    cr_expect_eq(lines, N, "%s", r.out);
    cr_expect_null(strstr(r.out, "made up"), "%s", r.out);
    cr_expect_not_null(strstr(r.err, "receipt 11 is not one line"), "%s", r.err);
    testutil_cli_free(&r);
}

Test(audit23, checkpoint_list_stays_one_checkpoint_per_line)
{
    static const char two[] = "{\"made\":\"up\"}\n{\"also\":\"made up\"}";
    const char *argv[] = {"checkpoint", "list", "--receipt-db", db, NULL};
    cli_result r;
    size_t lines = 0;
    const char *p;

    raw_seq("checkpoints", 3, two, sizeof(two) - 1);
    r = testutil_run_cli(argv, NULL, 0);
    cr_expect_eq(r.status, 0, "%s", r.err);
    for (p = r.out; *p != '\0'; p++)
        lines += *p == '\n';
    cr_expect_eq(lines, 2, "%s", r.out);
    cr_expect_null(strstr(r.out, "made up"), "%s", r.out);
    cr_expect_not_null(strstr(r.err, "checkpoint 3 is not one line"), "%s", r.err);
    testutil_cli_free(&r);
}

Test(audit23, a_kernel_refuses_to_checkpoint_a_receipt_swapped_after_the_last_checkpoint)
{
    size_t len;
    char *json = stored(0, 10, &len);
    cli_result r;

    /* Receipt 9 (after the last checkpoint) replaced by a copy of receipt
     * 10: the chain names it (chain_mismatch), but before, a kernel
     * reopening the log read it back as a pending leaf and would sign it
     * into the next checkpoint. */
    raw_seq("receipts", 9, json, len);
    cr_expect_eq(kernel_start_rc(), CHIO_ECORRUPT);
    r = audit();
    cr_expect_eq(r.status, 1, "%s", r.out);
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"chain_mismatch\",\"seq\":9,"), "%s", r.out);
    testutil_cli_free(&r);
    chio_free(json);
}
