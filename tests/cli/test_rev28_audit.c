/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_rev28_audit.c - review 28: the audit log against an
 * attacker with write access to an archive's directory (no kernel key).
 * Each test builds a log of 12 receipts with a real kernel (timestamps
 * 1001..1012), archives its oldest receipts with the real CLI (`chio
 * receipt archive --older-than`), edits the archive through RocksDB and
 * runs `chio receipt verify --receipt-db`:
 *
 *  - an archive has no signed head and its hash chain entries are
 *    unsigned: a receipt replayed (or swapped, or cut) in an archive without
 *    checkpoints, the chain recomputed after it, passed the archive's audit
 *    and the live log's; nothing compared the archive's last chain value
 *    with the live log's anchor. `--archive DIR` now checks the seam
 *    (chio_store_audit_seam) and names it, and the next archiving pass
 *    no longer continues such an archive;
 *  - an archive deleted whole: the next archiving pass starts a new archive
 *    after receipt 1 and records where it starts (since review 28), so it
 *    verified clean and the loss left no trace. Given as the oldest
 *    archive it is now named (log_start_not_given); the archive's tail cut
 *    is named at the seam (seam_gap);
 *  - guards: a log archived into two archives in turn, with and without
 *    checkpoints, verifies clean with both given oldest first, and not in
 *    the wrong order;
 *  - checkpoints a kernel owed and cut when it started were not recorded in
 *    the store's sentinel: deleted, with the head from before that start
 *    written back, they were cut and signed anew at the next start;
 *  - guard: a kernel (tests/reliability/victim) killed with SIGKILL while
 *    it cuts owed checkpoints at start, in chunks, leaves a log the audit
 *    passes and the next start finishes;
 *  - the store directory moved away under a running kernel and another
 *    holding a CURRENT file put at its path: the removal check passed and
 *    receipts went on into the moved files;
 *  - review 57: an archiving pass stopped between the archive write and
 *    the live delete leaves an overlap, which was named seam_gap and failed
 *    the audit; it is now compared byte for byte and audits clean, and an
 *    item of it changed or cut is named (seam_overlap_mismatch);
 *  - review 42: the live log's anchor (the chain value the archive pass
 *    left before its first receipt) deleted and that first receipt
 *    replaced: the live log alone verified clean (the first link was
 *    skipped, nothing named the missing anchor), and the seam blamed the
 *    older log.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chio/merkle.h"
#include "common/poll.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"
#include "store_internal.h"

#define N 12

static char *dir, *live, *arch, *arch2;

/* A kernel on the live log signs receipts 1..N (timestamps 1001..1012),
 * checkpoints every @batch. */
static void make_log(uint32_t batch)
{
    chio_kernel_config cfg;
    chio_kernel *k;

    kt_config(&cfg, live);
    cfg.checkpoint_batch_size = batch;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    kt_sign_range(k, 1, N);
    chio_kernel_free(k);
}

static void setup(void)
{
    dir = testutil_tmpdir();
    cr_assert_geq(asprintf(&live, "%s/live", dir), 0);
    cr_assert_geq(asprintf(&arch, "%s/arch", dir), 0);
    cr_assert_geq(asprintf(&arch2, "%s/arch2", dir), 0);
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
    free(live);
    free(arch);
    free(arch2);
}

TestSuite(rev28_audit, .init = setup, .fini = teardown);

/* `chio receipt archive` of the receipts older than @older_than into @to
 * (single receipts for a log without checkpoints; whole checkpoint ranges
 * for one with them, whatever is asked). */
static void archive_cli(const char *to, const char *older_than)
{
    const char *argv[] = {"receipt", "archive",      "--receipt-db", live,           "--archive",
                          to,        "--older-than", older_than,     "--by-receipt", NULL};
    cli_result r = testutil_run_cli(argv, NULL, 0);

    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    testutil_cli_free(&r);
}

/* `chio receipt verify --receipt-db` of @db (@archive_flag: with
 * --allow-archive), with the archives @a and @b (or NULL) given. */
static cli_result verify(const char *db, int archive_flag, const char *a, const char *b)
{
    const char *argv[10] = {"receipt", "verify", "--receipt-db", db};
    size_t argc = 4;

    if (archive_flag)
        argv[argc++] = "--allow-archive";
    if (a != NULL) {
        argv[argc++] = "--archive";
        argv[argc++] = a;
    }
    if (b != NULL) {
        argv[argc++] = "--archive";
        argv[argc++] = b;
    }
    return testutil_run_cli(argv, NULL, 0);
}

static void expect_status(cli_result r, int status, const char *want)
{
    cr_expect_eq(r.status, status, "%s%s", r.out, r.err);
    if (want != NULL)
        cr_expect_not_null(strstr(r.out, want), "want %s in:\n%s", want, r.out);
    testutil_cli_free(&r);
}

/* The chain entries of @db from @from to @to recomputed over its receipts
 * as they are now stored (what an attacker does after editing them). */
static void rechain(const char *db, uint64_t from, uint64_t to)
{
    uint8_t link[32], leaf[32], links[N + 1][32];
    chio_store *s;
    uint64_t seq;

    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_assert_eq(chio__store_get_chain(s, from - 1, link, NULL), 0);
    for (seq = from; seq <= to; seq++) {
        char *json = NULL;
        size_t len = 0;
        cr_assert_eq(chio_store_get_receipt(s, seq, &json, &len, NULL), 0);
        cr_assert_eq(chio_merkle_leaf_hash(json, len, leaf), 0);
        chio__store_chain_step(link, leaf, link);
        memcpy(links[seq], link, 32);
        free(json);
    }
    chio_store_close(s);
    for (seq = from; seq <= to; seq++)
        testutil_raw_write_seq(db, "chain", seq, links[seq], 32);
}

/* The id receipt @seq of @db carries. */
static void id_of(const char *db, uint64_t seq, char id[65])
{
    size_t len;
    char *json = testutil_stored(db, 0, seq, &len);
    char *p = strstr(json, "\"id\":\"");

    cr_assert_not_null(p);
    memcpy(id, p + 6, 64);
    id[64] = '\0';
    free(json);
}

/* Receipt @seq of @db replaced by a byte copy of receipt @seq + 1 (a
 * replay), its id index entry deleted. */
static void replay(const char *db, uint64_t seq)
{
    char id[65], *copy;
    size_t len;

    id_of(db, seq, id);
    copy = testutil_stored(db, 0, seq + 1, &len);
    testutil_raw_write_seq(db, "receipts", seq, copy, len);
    free(copy);
    testutil_raw_write(db, "receipt_ids", id, 64, NULL, 0);
}

/* ---- the seam between an archive and the live log ------------------------------------ */

Test(rev28_audit, a_receipt_replayed_in_an_archive_with_its_chain_rewritten_is_named_at_the_seam)
{
    make_log(0);
    archive_cli(arch, "1009"); /* receipts 1..8 move; the live log holds 9..12 */
    /* Receipt 3 replaced by a copy of receipt 4 (a replay), its id index
     * entry deleted and the chain recomputed from 3 to the archive's end. */
    replay(arch, 3);
    rechain(arch, 3, 8);
    /* Each log on its own passes: the archive has no signed head, and the
     * live log's anchor is its own copy of the chain value at 8. */
    expect_status(verify(arch, 1, NULL, NULL), 0, "\"receipts\":8,");
    expect_status(verify(live, 0, NULL, NULL), 0, "\"receipts\":4,");
    /* Together, the archive's last chain value is not the live log's
     * anchor (before: --archive was no option, nothing compared them). */
    expect_status(verify(live, 0, arch, NULL), 1,
                  "{\"problem\":\"seam_chain_mismatch\",\"seq\":8,");
}

Test(rev28_audit, a_deleted_archive_restarted_by_the_next_pass_is_named)
{
    make_log(0);
    archive_cli(arch, "1005"); /* 1..4 */
    testutil_rmrf(arch);       /* the attacker deletes the archive */
    archive_cli(arch, "1009"); /* the next pass: a new archive of 5..8 */
    /* It records where it starts, so it verifies on its own (since review
     * 28; before, receipts 1..4 were missing from it): nothing shows the
     * loss but an archive given as the oldest that does not start at 1. */
    expect_status(verify(arch, 1, NULL, NULL), 0, "\"first_seq\":5,");
    expect_status(verify(live, 0, arch, NULL), 1,
                  "{\"problem\":\"log_start_not_given\",\"first_seq\":5,");
}

Test(rev28_audit, an_archive_tail_cut_is_named_at_the_seam)
{
    char id[65];

    make_log(0);
    archive_cli(arch, "1009"); /* 1..8 */
    id_of(arch, 8, id);
    testutil_raw_write_seq(arch, "receipts", 8, NULL, 0);
    testutil_raw_write_seq(arch, "chain", 8, NULL, 0);
    testutil_raw_write(arch, "receipt_ids", id, 64, NULL, 0);
    expect_status(verify(arch, 1, NULL, NULL), 0, "\"last_seq\":7,");
    expect_status(verify(live, 0, arch, NULL), 1,
                  "{\"problem\":\"seam_gap\",\"older_last_seq\":7,\"newer_first_seq\":9}");
}

Test(rev28_audit, a_deleted_anchor_under_a_replaced_first_receipt_is_named_in_the_live_log)
{
    char id[65];
    size_t len;
    char *copy;

    make_log(0);
    archive_cli(arch, "1009"); /* 1..8 move; the live log holds 9..12, anchor at 8 */
    /* The anchor deleted, receipt 9 replaced by a byte copy of receipt 11
     * (a replay; identical receipts share an id, so the index needs only
     * receipt 9's entry gone). */
    id_of(live, 9, id);
    copy = testutil_stored(live, 0, 11, &len);
    testutil_raw_write_seq(live, "chain", 8, NULL, 0);
    testutil_raw_write_seq(live, "receipts", 9, copy, len);
    testutil_raw_write(live, "receipt_ids", id, 64, NULL, 0);
    free(copy);
    /* Before: exit 0, no problem line (the first link was not checked). */
    expect_status(verify(live, 0, NULL, NULL), 1, "{\"problem\":\"chain_missing\",\"seq\":8,");
    /* At the seam the missing anchor is named as the newer log's. */
    expect_status(verify(live, 0, arch, NULL), 1, "the newer log has no anchor");
}

/* ---- guards: genuine archives verify clean ------------------------------------------- */

Test(rev28_audit, two_archives_in_turn_verify_clean_oldest_first)
{
    make_log(0);
    archive_cli(arch, "1005");  /* 1..4 */
    archive_cli(arch2, "1009"); /* 5..8, a new archive starting after 1 */
    expect_status(verify(live, 0, arch, arch2), 0, "{\"logs\":3,\"seam_problems\":0}");
    expect_status(verify(live, 0, arch2, arch), 1, "\"problem\":\"log_start_not_given\"");
}

Test(rev28_audit, archives_of_a_log_with_checkpoints_verify_clean_at_the_seams)
{
    make_log(4);                /* checkpoints 1..4, 5..8, 9..12 */
    archive_cli(arch, "1005");  /* checkpoint 1 and its receipts */
    archive_cli(arch2, "2000"); /* checkpoint 2 (the newest stays) */
    expect_status(verify(live, 0, arch, arch2), 0, "{\"logs\":3,\"seam_problems\":0}");
    expect_status(verify(live, 0, arch2, NULL), 1, "\"problem\":\"log_start_not_given\"");
}

/* ---- checkpoints a kernel owed, cut when it starts -------------------------------------- */

/* The signed log head of the live log as stored (the caller frees it). */
static char *head_bytes(size_t *len)
{
    chio_store *s;
    char *json = NULL;

    cr_assert_eq(chio_store_open(live, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_assert_eq(chio__store_get_meta(s, CHIO__META_LOG_HEAD, &json, len, NULL), 0);
    chio_store_close(s);
    return json;
}

/* A log signed without checkpoints, reopened with a batch of 4: the start
 * cuts and signs checkpoints 1..3. They were not recorded in the store's
 * sentinel (only checkpoints the commit thread cuts were), so deleting them
 * and writing back the head from before that start (still readable in the
 * WAL and table files, as security.md says) went unseen: the next start
 * cut and signed them again, and the audit was clean. */
Test(rev28_audit, checkpoints_owed_and_cut_at_start_are_held_by_the_sentinel)
{
    char msg[512];
    size_t len;
    char *before;
    uint64_t c;

    make_log(0);
    before = head_bytes(&len);
    cr_assert_eq(kt_try_start(live, 4, msg, sizeof(msg)), 0, "%s", msg);
    expect_status(verify(live, 0, NULL, NULL), 0, "\"checkpoints\":3,\"checkpoints_valid\":3,");
    for (c = 1; c <= 3; c++)
        testutil_raw_write_seq(live, "checkpoints", c, NULL, 0);
    testutil_raw_write(live, "default", CHIO__META_LOG_HEAD, strlen(CHIO__META_LOG_HEAD), before,
                       len);
    free(before);
    cr_expect_neq(kt_try_start(live, 4, msg, sizeof(msg)), 0,
                  "the owed checkpoints were cut again");
    cr_expect_not_null(strstr(msg, "checkpoint 3 was durable"), "%s", msg);
}

/* ---- SIGKILL while owed checkpoints are cut ---------------------------------------------- */

#define VICTIM      CHIO_RELIABILITY_DIR "/victim"
#define VICTIM_SEED "0707070707070707070707070707070707070707070707070707070707070707"
#define MANY        5000

extern char **environ;

/* The live log signed by the victim's key: MANY receipts, no checkpoints. */
static void make_victim_log(void)
{
    chio_kernel_config cfg;
    chio_kernel *k;
    uint64_t i;

    kt_config(&cfg, live);
    chio_keypair_free(cfg.keypair);
    cr_assert_eq(chio_keypair_from_seed_hex(VICTIM_SEED, 64, &cfg.keypair, NULL), 0);
    cfg.checkpoint_batch_size = 0;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    for (i = 1; i <= MANY; i++) {
        chio_receipt *r = NULL;
        cr_assert_eq(chio_kernel_sign_receipt(k, kt_builder(i), &r, NULL), 0);
        chio_receipt_free(r);
    }
    chio_kernel_free(k);
}

static pid_t spawn_victim(void)
{
    const char *argv[] = {"victim", live, "1", "--batch", "1", NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int rc;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    rc = posix_spawn(&pid, VICTIM, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    cr_assert_eq(rc, 0, "cannot run %s: %s (make builds it)", VICTIM, strerror(rc));
    return pid;
}

/* The live log's checkpoint count (read-only, beside the victim). */
static uint64_t checkpoints_now(void)
{
    chio_store *s;
    uint64_t n = 0;

    if (chio_store_open(live, CHIO_STORE_READ_ONLY, &s, NULL) != 0)
        return 0;
    chio_store_last_checkpoint_seq(s, &n, NULL);
    chio_store_close(s);
    return n;
}

static int first_chunk_written(void *arg)
{
    (void)arg;
    return checkpoints_now() >= 256;
}

static int all_owed_written(void *arg)
{
    (void)arg;
    return checkpoints_now() >= MANY;
}

Test(rev28_audit, sigkill_while_owed_checkpoints_are_cut_leaves_a_log_the_next_start_finishes)
{
    uint64_t after_kill;
    pid_t pid;
    int st;

    make_victim_log();
    /* Reopened with a batch of 1: MANY checkpoints owed, written 256 at a
     * time with a head naming the newest. Killed once the first chunk is
     * there. */
    pid = spawn_victim();
    cr_assert(testutil_wait_until(first_chunk_written, NULL, 60000), "no chunk written");
    kill(pid, SIGKILL);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    after_kill = checkpoints_now();
    cr_expect_eq(after_kill % 256, 0, "a chunk was cut: %llu", (unsigned long long)after_kill);
    expect_status(verify(live, 0, NULL, NULL), 0, "\"gaps\":0,\"invalid\":0,");
    /* The next start continues from the newest checkpoint and finishes. */
    pid = spawn_victim();
    cr_expect(testutil_wait_until(all_owed_written, NULL, 60000), "the owed ones were not cut");
    kill(pid, SIGKILL);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    expect_status(verify(live, 0, NULL, NULL), 0, "\"log_problems\":0,");
    cr_log_info("killed after %llu of %d owed checkpoints", (unsigned long long)after_kill, MANY);
}

/* ---- the store swapped under a running kernel ------------------------------------------- */

/* The store directory moved away and another put at its path holding a
 * CURRENT file (a copy, or an earlier snapshot of the log): the removal
 * check (one stat of <path>/CURRENT) passed, and the kernel went on
 * answering allow for receipts written into the moved files while the
 * log at its path stayed behind. Now the directory must be the one opened. */
Test(rev28_audit, a_store_replaced_by_another_directory_under_a_running_kernel_fails_closed)
{
    chio_kernel_config cfg;
    chio_receipt *r = NULL;
    chio_kernel *k;
    char *moved, *current;
    chio_error err;
    int rc;

    cr_assert_geq(asprintf(&moved, "%s/moved", dir), 0);
    cr_assert_geq(asprintf(&current, "%s/CURRENT", live), 0);
    kt_config(&cfg, live);
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    cr_assert_eq(chio_kernel_sign_receipt(k, kt_builder(1), &r, NULL), 0);
    chio_receipt_free(r);
    r = NULL;
    cr_assert_eq(rename(live, moved), 0);
    cr_assert_eq(mkdir(live, 0700), 0);
    cr_assert_eq(testutil_write_file(current, "MANIFEST-000001\n", 16, 0600), 0);
    chio_error_init(&err);
    rc = chio_kernel_sign_receipt(k, kt_builder(2), &r, &err);
    cr_expect_eq(rc, CHIO_ESTORE, "signed into the moved store: %s", err.message);
    cr_expect_null(r);
    chio_receipt_free(r);
    chio_kernel_free(k);
    free(moved);
    free(current);
}

/* The same replay in an archive: the next archiving pass continued it and
 * moved more receipts into it. Now that pass refuses it before any write
 * (the archive's chain value at its end is not the live log's anchor). */
Test(rev28_audit, an_archive_changed_since_is_not_continued)
{
    const char *argv[] = {"receipt", "archive",      "--receipt-db", live,           "--archive",
                          arch,      "--older-than", "1009",         "--by-receipt", NULL};
    cli_result r;

    make_log(0);
    archive_cli(arch, "1005"); /* 1..4 */
    replay(arch, 2);
    rechain(arch, 2, 4);
    r = testutil_run_cli(argv, NULL, 0);
    cr_expect_neq(r.status, 0, "the changed archive was continued: %s", r.out);
    cr_expect_not_null(strstr(r.err, "hash chain at its last receipt 4"), "%s", r.err);
    testutil_cli_free(&r);
    expect_status(verify(live, 0, NULL, NULL), 0, "\"first_seq\":5,");
}

/* ---- review 57: the overlap an interrupted archiving pass leaves ------------------------ */

/* @src copied to @dst with cp -a. */
static void copy_dir(const char *src, const char *dst)
{
    char *const argv[] = {"cp", "-a", (char *)src, (char *)dst, NULL};
    int st = -1;
    pid_t pid;

    cr_assert_eq(posix_spawnp(&pid, "cp", NULL, NULL, argv, environ), 0);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "cp -a %s %s", src, dst);
}

/* The live log as a pass that wrote the archive of receipts 1..8 left it
 * when it stopped before deleting them (a crash, kill -9): whole. */
static void interrupted_pass(uint32_t batch)
{
    char *keep;

    make_log(batch);
    cr_assert_geq(asprintf(&keep, "%s/keep", dir), 0);
    copy_dir(live, keep);
    archive_cli(arch, "1009");
    testutil_rmrf(live);
    cr_assert_eq(rename(keep, live), 0);
    free(keep);
}

/* Before, such an overlap was named seam_gap (older_last_seq 8,
 * newer_first_seq 1) and failed the audit until the next pass completed;
 * the receipts both logs hold were not compared. Now they are compared
 * byte for byte, and the older log's chain value at its end with the one
 * the newer log holds there. */
Test(rev28_audit, an_interrupted_pass_audits_clean_and_its_overlap_is_compared)
{
    interrupted_pass(0);
    expect_status(verify(live, 0, arch, NULL), 0, "\"seam_problems\":0");
    testutil_rmrf(live);
    testutil_rmrf(arch);
    interrupted_pass(4); /* checkpoints 1 and 2 in both logs */
    expect_status(verify(live, 0, arch, NULL), 0, "\"seam_problems\":0");
}

Test(rev28_audit, a_receipt_changed_in_the_overlap_is_named)
{
    interrupted_pass(0);
    replay(arch, 3);
    rechain(arch, 3, 8);
    expect_status(verify(arch, 1, NULL, NULL), 0, "\"receipts\":8,");
    expect_status(verify(live, 0, arch, NULL), 1,
                  "{\"problem\":\"seam_overlap_mismatch\",\"seq\":3,");
}

Test(rev28_audit, a_checkpoint_changed_or_a_receipt_cut_in_the_overlap_is_named)
{
    size_t len, olen;
    char *copy, *orig;

    interrupted_pass(4);
    orig = testutil_stored(arch, 1, 1, &olen);
    copy = testutil_stored(arch, 1, 2, &len);
    testutil_raw_write_seq(arch, "checkpoints", 1, copy, len);
    free(copy);
    expect_status(verify(live, 0, arch, NULL), 1,
                  "{\"problem\":\"seam_overlap_mismatch\",\"checkpoint_seq\":1,");
    testutil_raw_write_seq(arch, "checkpoints", 1, orig, olen);
    free(orig);
    expect_status(verify(live, 0, arch, NULL), 0, "\"seam_problems\":0");
    /* a receipt cut from the middle of the archive's overlap */
    testutil_raw_write_seq(arch, "receipts", 5, NULL, 0);
    expect_status(verify(live, 0, arch, NULL), 1,
                  "{\"problem\":\"seam_overlap_mismatch\",\"seq\":5,\"detail\":\"both logs "
                  "should hold this receipt (the overlap an interrupted archiving pass leaves), "
                  "but one of them lacks it\"}");
}
