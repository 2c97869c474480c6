/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_rev58_audit.c - review 17 (audit) F1, the command's side:
 * `chio receipt verify --receipt-db` of a store a kernel writes while
 * RocksDB compacts it never names an intact receipt. The command opens
 * the store read-only; a compaction deleting a table file the open found
 * made every index lookup after it an "index_missing" line (9547 of them
 * in the review), then exit 2. Now a failed read names nothing, and the
 * command audits once more, whole, from a secondary instance (which holds
 * every table file open), as docs/operations.md "Reading while a kernel
 * runs" says.
 *
 * A kernel in the test process writes; a thread flushes and compacts its
 * id index and chain often, so the race shows within seconds.
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

typedef struct load {
    chio_kernel *k;
    int stop;
} load;

static void *signing(void *arg)
{
    load *l = arg;
    uint64_t n = 1000;

    while (!__atomic_load_n(&l->stop, __ATOMIC_SEQ_CST)) {
        chio_receipt *r = NULL;
        if (chio_kernel_sign_receipt(l->k, kt_builder(n++), &r, NULL) != 0)
            break;
        chio_receipt_free(r);
    }
    return NULL;
}

/* Flushes and compactions of the id index and the chain, as a busy
 * kernel's RocksDB makes them, only more often. */
static void *compacting(void *arg)
{
    load *l = arg;
    chio_store *s = chio__kernel_store(l->k);
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();

    rocksdb_flushoptions_set_wait(fo, 1);
    while (!__atomic_load_n(&l->stop, __ATOMIC_SEQ_CST)) {
        char *e = NULL;
        rocksdb_flush_cf(s->db, fo, s->cf[CF_IDS], &e);
        rocksdb_free(e);
        e = NULL;
        rocksdb_flush_cf(s->db, fo, s->cf[CF_CHAIN], &e);
        rocksdb_free(e);
        rocksdb_compact_range_cf(s->db, s->cf[CF_IDS], NULL, 0, NULL, 0);
        rocksdb_compact_range_cf(s->db, s->cf[CF_CHAIN], NULL, 0, NULL, 0);
        testutil_nap_ms(20);
    }
    rocksdb_flushoptions_destroy(fo);
    return NULL;
}

/* Every audit exits 0 with a clean summary, or fails naming the read it
 * could not make; none prints a problem line. */
Test(rev58_audit_cli, verify_of_a_store_a_kernel_compacts_names_no_intact_receipt, .timeout = 90)
{
    chio_kernel_config cfg;
    chio_receipt *r = NULL;
    char *dir = testutil_tmpdir(), *db = testutil_join(dir, "live");
    const char *argv[] = {"receipt", "verify", "--receipt-db", db, NULL};
    load l[2];
    pthread_t t[2];
    unsigned audits = 0, passed = 0, i;
    uint64_t deadline;
    chio_kernel *k;

    kt_config(&cfg, db);
    cfg.durability = CHIO_DURABILITY_SYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    cfg.checkpoint_batch_size = 7;
    k = kt_kernel(&cfg);
    cr_assert_eq(chio_kernel_sign_receipt(k, kt_builder(1), &r, NULL), 0); /* opens the store */
    chio_receipt_free(r);
    for (i = 0; i < 2; i++) {
        l[i].k = k;
        l[i].stop = 0;
        cr_assert_eq(pthread_create(&t[i], NULL, i == 0 ? signing : compacting, &l[i]), 0);
    }
    deadline = testutil_now_ms() + 12000;
    while (testutil_now_ms() < deadline) {
        cli_result res = testutil_run_cli(argv, NULL, 0);
        audits++;
        cr_assert(strstr(res.out, "\"problem\"") == NULL,
                  "audit %u (exit %d) named problems: %.300s\nstderr: %.300s", audits, res.status,
                  res.out, res.err);
        if (res.status == 0) {
            cr_assert(strstr(res.out, "\"gaps\":0,\"invalid\":0,") != NULL &&
                          strstr(res.out, "\"log_problems\":0,") != NULL,
                      "audit %u: %s", audits, res.out);
            passed++;
        } else {
            cr_assert(strstr(res.err, "audit stopped") != NULL, "audit %u (exit %d): %s", audits,
                      res.status, res.err);
        }
        testutil_cli_free(&res);
    }
    for (i = 0; i < 2; i++) {
        __atomic_store_n(&l[i].stop, 1, __ATOMIC_SEQ_CST);
        pthread_join(t[i], NULL);
    }
    chio_kernel_free(k);
    testutil_rmrf(dir);
    free(db);
    free(dir);
    cr_log_info("%u audits, %u passed", audits, passed);
    cr_assert_geq(audits, 3, "only %u audits in 12 s", audits);
    cr_assert_geq(passed, 1, "no audit of %u passed", audits);
}
