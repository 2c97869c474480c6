/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/store/test_rev28_retention.c - review 28: archiving attacked for
 * "nothing lost". An archive path holding another log (another key's
 * archive, another store of the same key, a live log that is no archive)
 * or an archive that a range would leave a gap in is refused before
 * anything is written; a log with checkpoints moves whole checkpoint
 * ranges even when single receipts were asked for (the kernel with
 * checkpoint_batch_size 0, `--by-receipt`); a receipt id signed twice keeps
 * its index entry. Guards: the CLI killed with SIGKILL mid-archive, and
 * passes racing three signing threads, lose nothing and both logs verify.
 *
 * Real RocksDB stores, the real CLI (audits, and the SIGKILL victim).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"
#include "kernel_internal.h"

extern char **environ;

#define IAT 1710000000u

static uint64_t g_now = IAT + 10;
static char *dir;

static void setup(void)
{
    g_now = IAT + 10;
    dir = testutil_tmpdir();
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
}

TestSuite(rev28_retention, .init = setup, .fini = teardown);

static char *path_in(const char *name)
{
    char *p;
    cr_assert_geq(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

/* A kernel on @live signing with @seed (NULL: the test key), checkpoints
 * every @batch receipts; retention into @arch by size when @arch is set. */
static chio_kernel *kern(const char *live, const char *seed, uint32_t batch, const char *arch,
                         uint64_t max_bytes)
{
    chio_kernel_config cfg;

    kt_config(&cfg, live);
    if (seed != NULL) {
        chio_keypair_free(cfg.keypair);
        cr_assert_eq(chio_keypair_from_seed_hex(seed, 64, &cfg.keypair, NULL), 0);
    }
    cfg.clock = kt_clock_at;
    cfg.clock_ctx = &g_now;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    cfg.checkpoint_batch_size = batch;
    if (arch != NULL) {
        cfg.retention_config.enabled = 1;
        cfg.retention_config.retention_days = 0;
        cfg.retention_config.max_size_bytes = max_bytes;
        cfg.retention_config.archive_path = arch;
    }
    return kt_kernel(&cfg);
}

static void sign_n(chio_kernel *k, uint64_t n, uint64_t base)
{
    uint64_t i;

    for (i = 0; i < n; i++) {
        chio_receipt *r;
        cr_assert_eq(chio_kernel_sign_receipt(k, kt_builder(base + i), &r, NULL), 0);
        chio_receipt_free(r);
    }
}

/* A log of @n receipts on @db, checkpointed every @batch. */
static void make_log(const char *db, const char *seed, uint32_t batch, uint64_t n, uint64_t base)
{
    chio_kernel *k = kern(db, seed, batch, NULL, 0);

    sign_n(k, n, base);
    chio_kernel_free(k);
}

/* Receipt @seq of @db as stored, or NULL. */
static char *stored(const char *db, uint64_t seq)
{
    chio_store *s;
    char *json = NULL;

    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0, "open %s", db);
    if (chio_store_get_receipt(s, seq, &json, NULL, NULL) != 0)
        json = NULL;
    chio_store_close(s);
    return json;
}

/* One archiving pass from @live (not open elsewhere) into @arch. */
static int archive(const char *live, const char *arch, uint64_t max, int by_checkpoint,
                   chio_archive_report *rep, chio_error *err)
{
    chio_store *s;
    int rc;

    chio_error_init(err);
    cr_assert_eq(chio_store_open(live, CHIO_STORE_READ_WRITE, &s, err), 0, "%s", err->message);
    rc = chio_store_archive(s, arch, 0, max, by_checkpoint, rep, err);
    chio_store_close(s);
    return rc;
}

/* The CLI audit of @db (an archive: with --allow-archive) passes and says @want. */
static void expect_audit_ok(const char *db, int is_archive, const char *want)
{
    cli_result r = testutil_run_cli(
        (const char *const[]){"receipt", "verify", "--receipt-db", db, "--trusted-key", TEST_PUB,
                              is_archive ? "--allow-archive" : NULL, NULL},
        NULL, 0);

    cr_expect_eq(r.status, 0, "audit of %s: %s", db, r.out);
    cr_expect_neq(strstr(r.out, want), NULL, "audit of %s: %s", db, r.out);
    testutil_cli_free(&r);
}

/* ---- the archive must be this log's ------------------------------------------------------ */

/* Archiving a second log into an archive overwrote the first log's
 * receipts under the same numbers (and its key record): they were gone
 * from everywhere. Now the pass is refused, nothing moves from the second
 * log, and the archive is intact. The same for a second store of the same
 * key (its key record differs by when it was made). */
Test(rev28_retention, an_archive_of_another_log_is_refused_and_keeps_its_receipts)
{
    char *a = path_in("a"), *b = path_in("b"), *c = path_in("c"), *arch = path_in("arch");
    char *first = NULL, *now = NULL;
    chio_archive_report rep;
    chio_error err;
    int rc;

    make_log(a, NULL, 10, 30, 0);
    g_now += 5; /* another store of the same key, made later */
    make_log(b, NULL, 10, 30, 100);
    make_log(c, TK_OTHER_SEED, 10, 30, 200);
    first = stored(a, 1);
    cr_assert_eq(archive(a, arch, 1, 1, &rep, &err), 0, "%s", err.message);
    cr_expect_eq(rep.receipts_moved, 20);
    rc = archive(b, arch, 1, 1, &rep, &err);
    cr_expect_eq(rc, CHIO_ECONFIG, "same key, other store: %s (%s)", chio_errno_name(rc),
                 err.message);
    cr_expect_neq(strstr(err.message, "belongs to another log"), NULL, "%s", err.message);
    cr_expect_eq(rep.receipts_moved, 0);
    rc = archive(c, arch, 1, 1, &rep, &err);
    cr_expect_eq(rc, CHIO_ECONFIG, "other key: %s (%s)", chio_errno_name(rc), err.message);
    cr_expect_eq(rep.receipts_moved, 0);
    now = stored(arch, 1);
    cr_assert_not_null(now);
    cr_expect_str_eq(now, first, "the archive's receipt 1 was replaced");
    expect_audit_ok(arch, 1,
                    "\"receipts\":20,\"first_seq\":1,\"last_seq\":20,\"gaps\":0,"
                    "\"invalid\":0,\"checkpoints\":2,\"checkpoints_valid\":2");
    /* the refused logs kept everything */
    expect_audit_ok(b, 0, "\"receipts\":30,\"first_seq\":1");
    free(first);
    free(now);
    free(a);
    free(b);
    free(c);
    free(arch);
}

/* A kernel's live log given as the archive path (a mistyped
 * archive_path): its receipts were overwritten and the log marked as an
 * archive. Now refused, and the other log audits clean as a live log. */
Test(rev28_retention, a_live_log_is_no_archive_path)
{
    char *a = path_in("a"), *other = path_in("other");
    chio_archive_report rep;
    chio_error err;
    int rc;

    make_log(a, NULL, 10, 30, 0);
    make_log(other, NULL, 10, 30, 100);
    rc = archive(a, other, 1, 1, &rep, &err);
    cr_expect_eq(rc, CHIO_ECONFIG, "%s (%s)", chio_errno_name(rc), err.message);
    cr_expect_neq(strstr(err.message, "not an archive"), NULL, "%s", err.message);
    cr_expect_eq(rep.receipts_moved, 0);
    expect_audit_ok(other, 0,
                    "\"receipts\":30,\"first_seq\":1,\"last_seq\":30,\"gaps\":0,"
                    "\"invalid\":0,\"checkpoints\":3,\"checkpoints_valid\":3");
    expect_audit_ok(a, 0, "\"receipts\":30,\"first_seq\":1");
    free(a);
    free(other);
}

/* A log archived into X, then into Y, then into X again: X would hold a
 * gap it can no longer verify across. Refused; X and Y stay whole. */
Test(rev28_retention, an_archive_is_continued_only_where_it_ends)
{
    char *live = path_in("live"), *x = path_in("x"), *y = path_in("y");
    chio_archive_report rep;
    chio_error err;
    int rc;

    make_log(live, NULL, 10, 30, 0);
    cr_assert_eq(archive(live, x, 20000, 1, &rep, &err), 0, "%s", err.message);
    cr_assert_gt(rep.receipts_moved, 0);
    cr_assert_eq(archive(live, y, 1, 1, &rep, &err), 0, "%s", err.message);
    cr_assert_gt(rep.receipts_moved, 0, "nothing left for y: make the log longer");
    make_log(live, NULL, 10, 20, 100);
    rc = archive(live, x, 1, 1, &rep, &err);
    cr_expect_eq(rc, CHIO_ECORRUPT, "%s (%s)", chio_errno_name(rc), err.message);
    cr_expect_neq(strstr(err.message, "gap"), NULL, "%s", err.message);
    cr_expect_eq(rep.receipts_moved, 0);
    expect_audit_ok(x, 1, "\"gaps\":0,\"invalid\":0");
    expect_audit_ok(y, 1, "\"gaps\":0,\"invalid\":0");
    expect_audit_ok(live, 0, "\"gaps\":0,\"invalid\":0");
    /* y continues */
    cr_expect_eq(archive(live, y, 1, 1, &rep, &err), 0, "%s", err.message);
    cr_expect_gt(rep.receipts_moved, 0);
    expect_audit_ok(y, 1, "\"gaps\":0,\"invalid\":0");
    free(live);
    free(x);
    free(y);
}

/* ---- checkpoints move with their receipts ------------------------------------------------ */

/* A kernel with checkpoint_batch_size 0 on a log that has checkpoints
 * (batching switched off) archived single receipts: their checkpoints
 * stayed in the live log, which then failed its audit (missing_receipts),
 * the archive had no checkpoint to prove them by, and a kernel batching
 * again cut a checkpoint that did not follow the last one. Now whole
 * checkpoint ranges move: both logs verify, an archived receipt is proven
 * from the archive, and the live log continues cleanly. */
Test(rev28_retention, a_log_with_checkpoints_moves_whole_ranges_even_by_receipt)
{
    char *live = path_in("live"), *arch = path_in("arch");
    chio_archive_report rep;
    chio_kernel *k;
    chio_error err;
    cli_result r;
    char *proof;

    make_log(live, NULL, 10, 35, 0);
    k = kern(live, NULL, 0, arch, 1); /* batching off; archives at start */
    sign_n(k, 1, 100);
    chio_kernel_free(k);
    expect_audit_ok(live, 0,
                    "\"receipts\":16,\"first_seq\":21,\"last_seq\":36,\"gaps\":0,\"invalid\":0,"
                    "\"checkpoints\":1,\"checkpoints_valid\":1");
    expect_audit_ok(arch, 1,
                    "\"receipts\":20,\"first_seq\":1,\"last_seq\":20,\"gaps\":0,"
                    "\"invalid\":0,\"checkpoints\":2,\"checkpoints_valid\":2");
    /* The library asked for single receipts: the same. */
    cr_assert_eq(archive(live, arch, 1, 0, &rep, &err), 0, "%s", err.message);
    cr_expect_eq(rep.receipts_moved, 0, "only the newest checkpoint is left");
    /* batching again: the next checkpoint follows the last one */
    k = kern(live, NULL, 10, NULL, 0);
    sign_n(k, 14, 200);
    chio_kernel_free(k);
    expect_audit_ok(live, 0,
                    "\"receipts\":30,\"first_seq\":21,\"last_seq\":50,\"gaps\":0,\"invalid\":0,"
                    "\"checkpoints\":3,\"checkpoints_valid\":3");
    r = testutil_run_cli(
        (const char *const[]){"checkpoint", "prove", "--receipt-db", arch, "--seq", "7", NULL},
        NULL, 0);
    cr_assert_eq(r.status, 0, "prove: %s", r.err);
    proof = strdup(r.out);
    testutil_cli_free(&r);
    r = testutil_run_cli((const char *const[]){"checkpoint", "verify-proof", "--receipt-db", arch,
                                               "--trusted-key", TEST_PUB, NULL},
                         proof, strlen(proof));
    cr_expect_eq(r.status, 0, "verify-proof: %s %s", r.out, r.err);
    cr_expect_neq(strstr(r.out, "\"ok\":true"), NULL, "%s", r.out);
    testutil_cli_free(&r);
    free(proof);
    free(live);
    free(arch);
}

/* The same receipt signed twice (same content, same second) has one id:
 * the index names the newer. Archiving the older deleted that entry, so
 * the newer, still live, was unfindable and the live log failed its audit
 * (index_missing). Now the entry stays. */
Test(rev28_retention, a_repeated_receipt_id_keeps_its_index_entry)
{
    char *live = path_in("live"), *arch = path_in("arch");
    chio_archive_report rep;
    chio_kernel *k = kern(live, NULL, 0, NULL, 0);
    chio_store *s;
    chio_error err;
    uint64_t seq = 0;
    char *json;
    chio_json_doc *doc = NULL;
    char id[65];

    sign_n(k, 3, 0);
    sign_n(k, 3, 0); /* seqs 4..6 repeat 1..3 */
    chio_kernel_free(k);
    expect_audit_ok(live, 0,
                    "\"receipts\":6,\"first_seq\":1,\"last_seq\":6,\"gaps\":0,"
                    "\"invalid\":0");
    cr_assert_eq(archive(live, arch, 1, 0, &rep, &err), 0, "%s", err.message);
    cr_expect_eq(rep.receipts_moved, 5);
    expect_audit_ok(live, 0,
                    "\"receipts\":1,\"first_seq\":6,\"last_seq\":6,\"gaps\":0,"
                    "\"invalid\":0");
    expect_audit_ok(arch, 1,
                    "\"receipts\":5,\"first_seq\":1,\"last_seq\":5,\"gaps\":0,"
                    "\"invalid\":0");
    json = stored(live, 6);
    cr_assert_not_null(json);
    cr_assert_eq(chio_json_parse(json, strlen(json), &doc, NULL), 0);
    snprintf(id, sizeof(id), "%s",
             chio_json_string(chio_json_get(chio_json_root(doc), "id"), NULL));
    chio_json_doc_free(doc);
    free(json);
    cr_assert_eq(chio_store_open(live, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_expect_eq(chio_store_find_receipt(s, id, &seq, &err), 0, "%s", err.message);
    cr_expect_eq(seq, 6);
    chio_store_close(s);
    free(live);
    free(arch);
}

/* ---- interrupted and racing passes ------------------------------------------------------- */

/* `chio receipt archive` killed while it made the archive store (before
 * the sentinel file) left a directory of RocksDB files that every later
 * `receipt archive` refused as "not empty and not a chio receipt store",
 * so archiving could not go on. The library finishes such a store; the
 * CLI now lets it. */
Test(rev28_retention, an_archive_store_half_made_by_a_killed_pass_is_finished)
{
    char *live = path_in("live"), *arch = path_in("arch"), *sentinel;
    chio_store *s;
    cli_result r;

    make_log(live, NULL, 10, 30, 0);
    cr_assert_eq(chio_store_open(arch, CHIO_STORE_READ_WRITE, &s, NULL), 0);
    chio_store_close(s);
    cr_assert_geq(asprintf(&sentinel, "%s/CHIO-RECEIPT-STORE", arch), 0);
    cr_assert_eq(unlink(sentinel), 0); /* the state before the sentinel is written */
    r = testutil_run_cli((const char *const[]){"receipt", "archive", "--receipt-db", live,
                                               "--archive", arch, "--max-size", "1", NULL},
                         NULL, 0);
    cr_expect_eq(r.status, 0, "%s", r.err);
    cr_expect_neq(strstr(r.out, "\"receipts_moved\":20"), NULL, "%s", r.out);
    testutil_cli_free(&r);
    expect_audit_ok(arch, 1, "\"receipts\":20,\"first_seq\":1,\"last_seq\":20,\"gaps\":0");
    expect_audit_ok(live, 0, "\"receipts\":10,\"first_seq\":21,\"last_seq\":30,\"gaps\":0");
    free(sentinel);
    free(live);
    free(arch);
}

/* Each receipt of @orig (1..n) is in the live log or the archive, and
 * wherever it is, byte for byte. */
static void expect_all_kept(const char *live, const char *arch, char **orig, uint64_t n)
{
    chio_store *ls, *as = NULL;
    char *sentinel;
    uint64_t i;

    cr_assert_geq(asprintf(&sentinel, "%s/CHIO-RECEIPT-STORE", arch), 0);
    cr_assert_eq(chio_store_open(live, CHIO_STORE_READ_ONLY, &ls, NULL), 0);
    /* The sentinel is written before the first archive write: without it
     * (a kill while the store was made) the archive holds nothing yet. */
    if (access(sentinel, F_OK) == 0)
        cr_assert_eq(chio_store_open(arch, CHIO_STORE_READ_ONLY, &as, NULL), 0);
    for (i = 1; i <= n; i++) {
        char *a = NULL, *l = NULL;
        if (as != NULL && chio_store_get_receipt(as, i, &a, NULL, NULL) != 0)
            a = NULL;
        if (chio_store_get_receipt(ls, i, &l, NULL, NULL) != 0)
            l = NULL;
        cr_expect(a != NULL || l != NULL, "receipt %llu is in neither log", (unsigned long long)i);
        if (a != NULL)
            cr_expect_str_eq(a, orig[i], "archived receipt %llu differs", (unsigned long long)i);
        if (l != NULL)
            cr_expect_str_eq(l, orig[i], "live receipt %llu differs", (unsigned long long)i);
        free(a);
        free(l);
    }
    chio_store_close(ls);
    if (as != NULL)
        chio_store_close(as);
    free(sentinel);
}

/* `chio receipt archive` killed with SIGKILL at random moments (a crash
 * between an archive write and its live delete leaves a range in both, and
 * the next pass writes the same bytes again): nothing is lost or changed,
 * the live log audits clean after every kill, and a last pass completes. */
Test(rev28_retention, sigkill_mid_archive_loses_nothing)
{
    char *live = path_in("live"), *arch = path_in("arch");
    const uint64_t n = 1500;
    char **orig = calloc(n + 1, sizeof(*orig));
    chio_store *s;
    cli_result r;
    unsigned it;
    uint64_t i;

    make_log(live, NULL, 3, n, 0);
    cr_assert_eq(chio_store_open(live, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    for (i = 1; i <= n; i++)
        cr_assert_eq(chio_store_get_receipt(s, i, &orig[i], NULL, NULL), 0);
    chio_store_close(s);
    srand(28);
    for (it = 0; it < 6; it++) {
        char *argv[] = {"chio",       "receipt", "archive", "--receipt-db", live, "--archive", arch,
                        "--max-size", "1",       NULL};
        struct timespec ts = {0, (long)(25 + rand() % 60) * 1000000L};
        pid_t pid;
        int st;

        cr_assert_eq(posix_spawn(&pid, CHIO_TEST_CLI, NULL, NULL, argv, environ), 0);
        nanosleep(&ts, NULL); /* a random moment, whatever the pass is doing */
        kill(pid, SIGKILL);
        cr_assert_eq(waitpid(pid, &st, 0), pid);
        expect_all_kept(live, arch, orig, n);
        expect_audit_ok(live, 0, "\"gaps\":0,\"invalid\":0");
    }
    r = testutil_run_cli((const char *const[]){"receipt", "archive", "--receipt-db", live,
                                               "--archive", arch, "--max-size", "1", NULL},
                         NULL, 0);
    cr_expect_eq(r.status, 0, "last pass: %s", r.err);
    testutil_cli_free(&r);
    expect_all_kept(live, arch, orig, n);
    expect_audit_ok(live, 0, "\"first_seq\":1498,\"last_seq\":1500,\"gaps\":0,\"invalid\":0");
    expect_audit_ok(arch, 1,
                    "\"receipts\":1497,\"first_seq\":1,\"last_seq\":1497,\"gaps\":0,"
                    "\"invalid\":0,\"checkpoints\":499,\"checkpoints_valid\":499");
    for (i = 1; i <= n; i++)
        free(orig[i]);
    free(orig);
    free(live);
    free(arch);
}

typedef struct signer_arg {
    chio_kernel *k;
    uint64_t base;
    int done;
} signer_arg;

static void *signer_main(void *p)
{
    signer_arg *a = p;
    uint64_t i;

    for (i = 0; i < 1000; i++) {
        chio_receipt *r;
        if (chio_kernel_sign_receipt(a->k, kt_builder(a->base + i), &r, NULL) != 0)
            break;
        chio_receipt_free(r);
    }
    __atomic_store_n(&a->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static int all_done(signer_arg *a, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!__atomic_load_n(&a[i].done, __ATOMIC_ACQUIRE))
            return 0;
    return 1;
}

/* Retention passes back to back while three threads sign: every receipt
 * lands in exactly one log, both verify, and a kernel continues the live
 * one. With checkpoints (whole ranges) and without (single receipts). */
static void archive_while_signing(uint32_t batch)
{
    char *live = path_in("live"), *arch = path_in("arch");
    chio_kernel *k = kern(live, NULL, batch, arch, 5000);
    signer_arg a[3];
    pthread_t t[3];
    size_t i;

    for (i = 0; i < 3; i++) {
        a[i].k = k;
        a[i].base = 100000 * (i + 1);
        a[i].done = 0;
        cr_assert_eq(pthread_create(&t[i], NULL, signer_main, &a[i]), 0);
    }
    while (!all_done(a, 3)) {
        chio_archive_report rep;
        chio_error err;
        cr_expect_eq(chio_kernel_run_retention(k, &rep, &err), 0, "%s", err.message);
    }
    for (i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    chio_kernel_free(k);
    k = kern(live, NULL, batch, arch, 5000);
    sign_n(k, 7, 900000);
    chio_kernel_free(k);
    expect_audit_ok(live, 0, "\"last_seq\":3007,\"gaps\":0,\"invalid\":0");
    expect_audit_ok(arch, 1, "\"gaps\":0,\"invalid\":0");
    expect_audit_ok(arch, 1, "\"first_seq\":1,");
    free(live);
    free(arch);
}

Test(rev28_retention, archiving_while_signing_with_checkpoints)
{
    archive_while_signing(7);
}

Test(rev28_retention, archiving_while_signing_without_checkpoints)
{
    archive_while_signing(0);
}
