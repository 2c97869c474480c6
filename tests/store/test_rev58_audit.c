/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/store/test_rev58_audit.c - review 17 (audit) F1: the receipt log
 * audit tells a key that is not there apart from a read the store failed.
 *
 * Auditing a store a kernel in another process writes (`chio receipt
 * verify --receipt-db`, a read-only open) printed thousands of
 * index_missing lines for intact receipts: a compaction deleted a table
 * file the open had found, and every failed index lookup was reported as
 * a missing entry. A failed read is no evidence: nothing is named for
 * it, and the audit stops with the store's error. Made deterministic with
 * chio__store_fail_reads() (a family's point reads fail as RocksDB fails
 * one whose table file is gone), then for real against a kernel that
 * writes while read-only opens audit its store, its id index and chain
 * flushed and compacted all the while (as a busy kernel's are; here on
 * purpose, so that the race shows within seconds).
 *
 * Real RocksDB stores, an in-process kernel.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel_internal.h"
#include "store_db.h"

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

TestSuite(rev58_audit, .init = setup, .fini = teardown);

static chio_kernel *kern(const char *db, uint32_t batch)
{
    chio_kernel_config cfg;

    kt_config(&cfg, db);
    cfg.durability = CHIO_DURABILITY_SYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    cfg.checkpoint_batch_size = batch;
    return kt_kernel(&cfg);
}

/* A store of @n receipts (checkpoints of 5), its kernel gone. */
static char *small_store(const char *name, uint64_t n)
{
    chio_kernel *k;
    char *db = NULL;
    uint64_t i;

    cr_assert_geq(asprintf(&db, "%s/%s", dir, name), 0);
    k = kern(db, 5);
    for (i = 1; i <= n; i++) {
        chio_receipt *r = NULL;
        chio_error err;
        chio_error_init(&err);
        cr_assert_eq(chio_kernel_sign_receipt(k, kt_builder(i), &r, &err), 0, "%s", err.message);
        chio_receipt_free(r);
    }
    chio_kernel_free(k);
    return db;
}

static chio_store *open_ro(const char *db)
{
    chio_store *s = NULL;
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, &err), 0, "%s", err.message);
    return s;
}

typedef struct lines {
    unsigned n;
    char first[200];
} lines;

static void count_line(void *ctx, const char *json, size_t len)
{
    lines *l = ctx;

    if (l->n++ == 0)
        snprintf(l->first, sizeof(l->first), "%.*s", (int)len, json);
}

/* Audit @db with the point reads of @family failing: no problem line, and
 * an error naming the failed read. */
static void audit_with_failing_reads(const char *db, const char *family)
{
    chio_store *s = open_ro(db);
    chio_store_audit_v2 v;
    lines l = {0, ""};
    chio_error err;
    int rc;

    memset(&v, 0, sizeof(v));
    v.size = sizeof(v);
    chio_error_init(&err);
    chio__store_fail_reads(s, family);
    rc = chio_store_audit_log_v2(s, NULL, 0, count_line, &l, &v, &err);
    chio_store_close(s);
    cr_assert_eq(l.n, 0, "reads of %s failing: %u problem lines, the first %s", family, l.n,
                 l.first);
    cr_assert_neq(rc, 0, "reads of %s failing: the audit passed", family);
    cr_assert(strstr(err.message, "audit stopped") != NULL &&
                  strstr(err.message, "No such file") != NULL,
              "reads of %s failing: %s: %s", family, chio_err_name(rc), err.message);
}

/* Every point read of the audit, by the family it reads: the id index
 * (was: one index_missing per receipt), the hash chain (was: one
 * chain_missing per receipt) and the metadata (the head read as absent:
 * was log_head_missing). */
Test(rev58_audit, a_point_read_the_store_fails_names_no_problem_and_fails_the_audit)
{
    char *db = small_store("s12", 12);
    const char *families[] = {"receipt_ids", "chain", "default"};
    chio_store *s;
    chio_store_audit_v2 v;
    lines l = {0, ""};
    chio_error err;
    size_t i;

    for (i = 0; i < sizeof(families) / sizeof(families[0]); i++)
        audit_with_failing_reads(db, families[i]);
    /* The hook off, the same store audits clean. */
    s = open_ro(db);
    memset(&v, 0, sizeof(v));
    v.size = sizeof(v);
    chio_error_init(&err);
    cr_assert_eq(chio_store_audit_log_v2(s, NULL, 0, count_line, &l, &v, &err), 0, "%s",
                 err.message);
    chio_store_close(s);
    cr_assert_eq(l.n, 0, "%s", l.first);
    cr_assert_eq(v.base.receipts, 12);
    free(db);
}

/* The seam between two logs reads both: a failed read of either is no
 * seam problem either (was: seam_key_record, "not one kernel's log"). */
Test(rev58_audit, a_read_the_store_fails_at_a_seam_names_no_problem)
{
    char *db = small_store("s7", 7);
    chio_store *older = open_ro(db), *newer = open_ro(db);
    uint64_t problems = 0;
    lines l = {0, ""};
    chio_error err;
    int rc;

    chio_error_init(&err);
    cr_assert_eq(chio_store_audit_seam(older, newer, count_line, &l, &problems, &err), 0, "%s",
                 err.message);
    cr_assert_eq(l.n, 0, "%s", l.first);
    chio__store_fail_reads(newer, "default");
    chio_error_init(&err);
    rc = chio_store_audit_seam(older, newer, count_line, &l, &problems, &err);
    cr_assert_eq(l.n, 0, "%u seam problem lines, the first %s", l.n, l.first);
    cr_assert_neq(rc, 0, "the seam passed with the newer log unreadable");
    cr_assert(strstr(err.message, "No such file") != NULL, "%s", err.message);
    chio_store_close(older);
    chio_store_close(newer);
    free(db);
}

/* ---- a store a kernel writes while it is audited ---------------------------------------- */

typedef struct load {
    chio_kernel *k;
    int stop;
    uint64_t base;
} load;

/* A receipt of about 8 KiB: the 2 MiB memtables fill every few hundred,
 * so flushes and compactions (which delete table files) start at once. */
static chio_receipt_builder *big_body(uint64_t n)
{
    static char pad[8192];
    chio_receipt_builder *b = NULL;
    char *params = NULL;
    int len;

    if (pad[0] == '\0')
        memset(pad, 'x', sizeof(pad) - 1);
    len = asprintf(&params, "{\"path\":\"/big/%llu\",\"pad\":\"%s\"}", (unsigned long long)n, pad);
    if (len < 0 || chio_receipt_builder_new(&b) != 0)
        abort();
    if (chio_receipt_builder_set_capability_id(b, "cap-rev58") != 0 ||
        chio_receipt_builder_set_tool(b, "srv-files", "file_read") != 0 ||
        chio_receipt_builder_set_parameters(b, params, (size_t)len, NULL) != 0 ||
        chio_receipt_builder_set_decision(b, CHIO_VERDICT_ALLOW, NULL, NULL) != 0)
        abort();
    free(params);
    return b;
}

/* Small receipts in between: the id index and the chain fill too. */
static void *signing(void *arg)
{
    load *l = arg;
    uint64_t n = l->base;

    while (!__atomic_load_n(&l->stop, __ATOMIC_SEQ_CST)) {
        chio_receipt *r = NULL;
        chio_receipt_builder *b = n % 4 ? kt_builder(n) : big_body(n);
        n++;
        if (chio_kernel_sign_receipt(l->k, b, &r, NULL) != 0)
            break;
        chio_receipt_free(r);
    }
    return NULL;
}

/* RocksDB's own flushes and compactions, made often: each compaction of
 * the id index and the chain deletes the table files an audit's open found
 * and the lookups after it need. */
static void *compacting(void *arg)
{
    load *l = arg;
    chio_store *s = chio__kernel_store(l->k);
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    const int cfs[] = {CF_IDS, CF_CHAIN, CF_RECEIPTS};

    rocksdb_flushoptions_set_wait(fo, 1);
    while (!__atomic_load_n(&l->stop, __ATOMIC_SEQ_CST)) {
        for (size_t i = 0; i < sizeof(cfs) / sizeof(cfs[0]); i++) {
            char *e = NULL;
            rocksdb_flush_cf(s->db, fo, s->cf[cfs[i]], &e);
            rocksdb_free(e);
        }
        rocksdb_compact_range_cf(s->db, s->cf[CF_IDS], NULL, 0, NULL, 0);
        rocksdb_compact_range_cf(s->db, s->cf[CF_CHAIN], NULL, 0, NULL, 0);
        testutil_nap_ms(20);
    }
    rocksdb_flushoptions_destroy(fo);
    return NULL;
}

/* Audits of read-only opens of a store a kernel writes unpaced, with a
 * checkpoint every 7 receipts, flushing and compacting: each passes clean
 * or stops with the store's error, and none names a problem. Before, an
 * audit whose lookups met a table file deleted by a compaction named every
 * receipt after it index_missing (review 17: 1 audit in 6 or 7). */
Test(rev58_audit, audits_of_a_store_a_kernel_compacts_name_no_intact_receipt, .timeout = 90)
{
    load l[3];
    pthread_t t[3];
    char *db = NULL;
    uint64_t deadline;
    unsigned audits = 0, clean = 0, i;
    chio_kernel *k;

    cr_assert_geq(asprintf(&db, "%s/live", dir), 0);
    k = kern(db, 7);
    {
        chio_receipt *r = NULL; /* the kernel opens its store on its first call */
        cr_assert_eq(chio_kernel_sign_receipt(k, kt_builder(0), &r, NULL), 0);
        chio_receipt_free(r);
    }
    for (i = 0; i < 3; i++) {
        l[i].k = k;
        l[i].stop = 0;
        l[i].base = ((uint64_t)i + 1) << 40;
        cr_assert_eq(pthread_create(&t[i], NULL, i < 2 ? signing : compacting, &l[i]), 0);
    }
    deadline = testutil_now_ms() + 15000;
    while (testutil_now_ms() < deadline) {
        chio_store_audit_v2 v;
        lines p = {0, ""};
        chio_store *s = NULL;
        chio_error err;
        int rc;

        chio_error_init(&err);
        rc = chio_store_open(db, CHIO_STORE_READ_ONLY, &s, &err);
        cr_assert_eq(rc, 0, "open %u: %s: %s", audits, chio_err_name(rc), err.message);
        memset(&v, 0, sizeof(v));
        v.size = sizeof(v);
        chio_error_init(&err);
        rc = chio_store_audit_log_v2(s, NULL, 0, count_line, &p, &v, &err);
        chio_store_close(s);
        audits++;
        cr_assert_eq(p.n, 0, "audit %u (%u receipts): %u problem lines, the first %s (rc %s: %s)",
                     audits, (unsigned)v.base.receipts, p.n, p.first, chio_err_name(rc),
                     err.message);
        if (rc == 0) {
            cr_assert(v.base.gaps == 0 && v.base.invalid == 0 && v.log_problems == 0 &&
                          v.base.checkpoints_valid == v.base.checkpoints,
                      "audit %u passed unclean", audits);
            clean++;
        } else {
            cr_assert(strstr(err.message, "audit stopped") != NULL, "audit %u: %s: %s", audits,
                      chio_err_name(rc), err.message);
        }
    }
    for (i = 0; i < 3; i++) {
        __atomic_store_n(&l[i].stop, 1, __ATOMIC_SEQ_CST);
        pthread_join(t[i], NULL);
    }
    chio_kernel_free(k);
    free(db);
    cr_log_info("%u audits, %u passed, the others stopped on a failed read", audits, clean);
    cr_assert_geq(audits, 3, "only %u audits in 15 s", audits);
    cr_assert_geq(clean, 1, "no audit of %u passed", audits);
}
