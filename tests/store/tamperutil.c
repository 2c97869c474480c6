/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/store/tamperutil.c - see tamperutil.h.
 */
#include "store/tamperutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chio/merkle.h"
#include "chio/store.h"
#include "kernel/kernelutil.h"
#include "store_internal.h"

char tamper_logged[16384];

void tamper_paths(char **dir, char **db, char **arc)
{
    *dir = testutil_tmpdir();
    cr_assert_geq(asprintf(db, "%s/log", *dir), 0);
    cr_assert_geq(asprintf(arc, "%s/arc", *dir), 0);
}

void tamper_paths_free(char *dir, char *db, char *arc)
{
    testutil_rmrf(dir);
    free(dir);
    free(db);
    free(arc);
}

cli_result tamper_archive_cli(const char *db, const char *arc, const char *older_than,
                              int by_receipt)
{
    const char *argv[] = {"receipt",    "archive", "--receipt-db", db,   "--archive", arc,
                          "--max-size", "1",       NULL,           NULL, NULL};

    if (older_than != NULL) {
        argv[6] = "--older-than";
        argv[7] = older_than;
    }
    if (by_receipt)
        argv[8] = "--by-receipt";
    return testutil_run_cli(argv, NULL, 0);
}

int tamper_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

void tamper_expect_nothing_moved(const char *db, const char *arc, uint64_t last,
                                 uint64_t checkpoints, uint64_t first_at_most)
{
    chio_store *s = NULL;
    uint64_t first = 0, end = 0, last_cp = 0, retained = 0;

    cr_expect(!tamper_exists(arc), "the archive was created");
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_expect_eq(chio_store_seq_range(s, &first, &end, NULL), 0);
    cr_expect_eq(chio_store_last_checkpoint_seq(s, &last_cp, NULL), 0);
    cr_expect_eq(chio__store_get_meta_u64(s, CHIO__META_RETAINED_SEQ, &retained, NULL), 0);
    chio_store_close(s);
    cr_expect_leq(first, first_at_most);
    cr_expect_eq(end, last);
    cr_expect_eq(last_cp, checkpoints);
    cr_expect_eq(retained, 0, "the live log now starts at %llu", (unsigned long long)retained);
}

void tamper_put_relinked(const char *store, uint64_t seq, const void *val, size_t len)
{
    uint8_t prev[32], leaf[32], link[32];
    chio_store *s = NULL;

    cr_assert_eq(chio_store_open(store, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_assert_eq(chio__store_get_chain(s, seq - 1, prev, NULL), 0);
    chio_store_close(s);
    cr_assert_eq(chio_merkle_leaf_hash(val, len, leaf), 0);
    cr_assert_eq(chio__store_chain_step(prev, leaf, link), 0);
    testutil_raw_write_seq(store, "receipts", seq, val, len);
    testutil_raw_write_seq(store, "chain", seq, link, 32);
}

void tamper_log_sink(void *ctx, chio_log_level level, const char *json, size_t len)
{
    size_t have = strlen(tamper_logged);

    (void)ctx;
    (void)level;
    if (have + len + 2 < sizeof(tamper_logged)) {
        memcpy(tamper_logged + have, json, len);
        tamper_logged[have + len] = '\n';
        tamper_logged[have + len + 1] = '\0';
    }
}

size_t tamper_count(const char *hay, const char *needle)
{
    size_t n = 0;

    for (hay = strstr(hay, needle); hay != NULL; hay = strstr(hay + 1, needle))
        n++;
    return n;
}

chio_kernel *tamper_retention_kernel(const char *db, const char *arc, uint32_t batch)
{
    chio_kernel_config cfg;

    tamper_logged[0] = '\0';
    kt_config(&cfg, db);
    cfg.checkpoint_batch_size = batch;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log = tamper_log_sink;
    cfg.log_level = CHIO_LOG_ERROR;
    cfg.retention_config.enabled = 1;
    cfg.retention_config.retention_days = 0;
    cfg.retention_config.max_size_bytes = 1;
    cfg.retention_config.archive_path = arc;
    return kt_kernel(&cfg);
}
