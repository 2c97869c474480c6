/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/store/tamperutil.h - helpers shared by the archiving suites that
 * damage a log through RocksDB directly (test_rev59_archive_check.c,
 * test_rev62_archive.c, test_rev63_archive.c): their temporary paths,
 * the CLI's archiving pass, a receipt put with its chain entry
 * recomputed, and a retention kernel whose log lines are kept.
 */
#ifndef CHIO_TESTS_TAMPERUTIL_H
#define CHIO_TESTS_TAMPERUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "chio/kernel.h"
#include "common/testutil.h"

/* A fresh temporary folder in @dir, and "<dir>/log" and "<dir>/arc" in
 * @db and @arc; tamper_paths_free() removes the folder and frees all three. */
void tamper_paths(char **dir, char **db, char **arc);
void tamper_paths_free(char *dir, char *db, char *arc);

/* `chio receipt archive --receipt-db @db --archive @arc --max-size 1`, with
 * --older-than @older_than in place of --max-size unless NULL, and
 * --by-receipt when @by_receipt. */
cli_result tamper_archive_cli(const char *db, const char *arc, const char *older_than,
                              int by_receipt);

/* 1 when @path exists. */
int tamper_exists(const char *path);
/* Nothing moved: @arc was not created, and @db still starts at or before
 * receipt @first_at_most, ends at receipt @last and checkpoint
 * @checkpoints, and records no new start (its retained seq is 0). */
void tamper_expect_nothing_moved(const char *db, const char *arc, uint64_t last,
                                 uint64_t checkpoints, uint64_t first_at_most);

/* @val (@len bytes) put as receipt @seq of @store, and its chain entry
 * recomputed from the one before (as an attacker without the key would):
 * the link into it checks, nothing signed moves. */
void tamper_put_relinked(const char *store, uint64_t seq, const void *val, size_t len);

/* The JSON lines tamper_log_sink() was given (at most 16 KiB), one a line;
 * tamper_retention_kernel() empties it. */
extern char tamper_logged[16384];
void tamper_log_sink(void *ctx, chio_log_level level, const char *json, size_t len);
/* How many times @needle stands in @hay. */
size_t tamper_count(const char *hay, const char *needle);

/* A kernel (not started) on @db with checkpoints of @batch, no sync, its
 * error lines in tamper_logged, and retention enabled: age 0, max size 1,
 * archiving into @arc. */
chio_kernel *tamper_retention_kernel(const char *db, const char *arc, uint32_t batch);

#endif
