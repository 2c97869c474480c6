/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store/store_internal.h - the write side of the receipt store, used by the
 * kernel only. Writes go through a chio__store_batch (one RocksDB
 * WriteBatch) so that a group of receipts, their id index entries and any
 * checkpoint they close land atomically, with one WAL sync when asked.
 * RocksDB types stay inside src/store/.
 */
#ifndef CHIO_STORE_INTERNAL_H
#define CHIO_STORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "chio/store.h"

typedef struct chio__store_batch chio__store_batch;

/* An in-memory store (RocksDB's memory Env): upstream's ephemeral log. */
int chio__store_open_ephemeral(chio_store **out, chio_error *err);

chio__store_batch *chio__store_batch_new(void);
void chio__store_batch_free(chio__store_batch *b);
void chio__store_batch_clear(chio__store_batch *b);
void chio__store_batch_put_receipt(chio__store_batch *b, chio_store *s, uint64_t seq,
                                   const char *json, size_t len, const char *id);
void chio__store_batch_put_checkpoint(chio__store_batch *b, chio_store *s, uint64_t cseq,
                                      const char *json, size_t len);
void chio__store_batch_put_revocation(chio__store_batch *b, chio_store *s, const char *id,
                                      const char *value, size_t len);

/* Retention (retention.c): removing archived entries, and the store's
 * metadata (8-byte big-endian values in the default family). A missing
 * metadata value reads as 0. */
void chio__store_batch_delete_receipt(chio__store_batch *b, chio_store *s, uint64_t seq,
                                      const char *id);
void chio__store_batch_delete_checkpoint(chio__store_batch *b, chio_store *s, uint64_t cseq);
void chio__store_batch_put_meta_u64(chio__store_batch *b, chio_store *s, const char *name,
                                    uint64_t v);
int chio__store_get_meta_u64(chio_store *s, const char *name, uint64_t *out, chio_error *err);
/* Metadata names: the first receipt and checkpoint still in a store whose
 * older entries were archived. */
#define CHIO__META_RETAINED_SEQ        "retained_from_seq"
#define CHIO__META_RETAINED_CHECKPOINT "retained_from_checkpoint"

/* Apply @b atomically; @sync = fsync the WAL before returning.
 * Returns 0 or CHIO_ESTORE (details in @err). */
int chio__store_write(chio_store *s, chio__store_batch *b, int sync, chio_error *err);

/* Revocations, by capability id (issue 4 uses them). */
int chio__store_scan_revocations(chio_store *s, int (*fn)(void *ctx, const char *id, size_t idlen),
                                 void *ctx, chio_error *err);

/* Record that checkpoint @cseq is durable (in the store's sentinel file):
 * a later open finding fewer checkpoints fails with CHIO_ECORRUPT. Call
 * only after the synced write that holds it. */
void chio__store_note_checkpoint(chio_store *s, uint64_t cseq);

/* Test hook: make the next @n writes fail with CHIO_ESTORE (n < 0: all). */
void chio__store_fail_writes(chio_store *s, int n);

/* Big-endian 8-byte keys. */
void chio__store_key(uint64_t v, unsigned char key[8]);

#endif
