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

#include "chio/crypto.h"
#include "chio/store.h"

typedef struct chio__store_batch chio__store_batch;

/* An in-memory store (RocksDB's memory Env): upstream's ephemeral log. */
int chio__store_open_ephemeral(chio_store **out, chio_error *err);

chio__store_batch *chio__store_batch_new(void);
void chio__store_batch_free(chio__store_batch *b);
void chio__store_batch_clear(chio__store_batch *b);
void chio__store_batch_put_receipt(chio__store_batch *b, chio_store *s, uint64_t seq,
                                   const char *json, size_t len, const char *id);
/* A receipt whose bytes are kept in the batch after the write: the id row,
 * then the bytes as the batch's last record. Returns where they are in the
 * batch (NUL-terminated), or NULL when the batch cannot be read that way
 * (the caller keeps its copy). */
const char *chio__store_batch_put_receipt_last(chio__store_batch *b, chio_store *s, uint64_t seq,
                                               const char *json, size_t len, const char *id);
/* The last @len bytes of a batch's records (see above), or NULL. */
const char *chio__store_batch_tail(void *records, size_t len);
/* Take @b's records (freed with chio__store_records_free); @b starts over
 * empty, with a fresh buffer. */
void *chio__store_batch_take(chio__store_batch *b);
void chio__store_records_free(void *records);
void chio__store_batch_put_checkpoint(chio__store_batch *b, chio_store *s, uint64_t cseq,
                                      const char *json, size_t len);
void chio__store_batch_put_revocation(chio__store_batch *b, chio_store *s, const char *id,
                                      const char *value, size_t len);
/* Drop a revocation record (issue 11: kept only while a token naming it
 * could be valid; see kernel/revocation.c). */
void chio__store_batch_delete_revocation(chio__store_batch *b, chio_store *s, const char *id,
                                         size_t idlen);

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

/* Raw metadata values in the default family (the signed records of
 * head.c). A missing value is CHIO_ENOTFOUND. */
void chio__store_batch_put_meta(chio__store_batch *b, chio_store *s, const char *name,
                                const char *value, size_t len);
int chio__store_get_meta(chio_store *s, const char *name, char **value, size_t *len,
                         chio_error *err);
#define CHIO__META_KEY_RECORD "kernel_key" /* signed: the key the store belongs to */
#define CHIO__META_LOG_HEAD   "log_head"   /* signed: last seq and chain value */
#define CHIO__META_CHAIN_FROM "chain_from" /* u64: first receipt the chain covers */
#define CHIO__META_ARCHIVE    "archive"    /* u64: 1 in an archive log (no head) */
/* u64: the newest checkpoint a NOSYNC kernel made durable (store.c writes
 * it, synced, after the checkpoint itself; the audit and a kernel's start
 * hold the log to it, audit_log.c and kernel/restore.c). */
#define CHIO__META_DURABLE_CHECKPOINT "durable_checkpoint"

/* The archive target's checks (retention_target.c), before anything is
 * written: @arch must be empty or an archive of @live (same key record);
 * *arch_last is its last receipt (0: none). The two _fits checks: 0 when
 * @arch lacks the entry or holds the same bytes; CHIO_ECORRUPT when it
 * holds others. Refusals are CHIO_ECONFIG (another log) or CHIO_ECORRUPT. */
int chio__archive_target_check(chio_store *live, chio_store *arch, uint64_t *arch_last,
                               chio_error *err);
int chio__archive_receipt_fits(chio_store *arch, uint64_t seq, const char *json, size_t len,
                               chio_error *err);
int chio__archive_checkpoint_fits(chio_store *arch, uint64_t cseq, const char *json, size_t len,
                                  chio_error *err);
/* CHIO_ECORRUPT when @arch's hash chain value at its last receipt @last
 * and @live's (the anchor the live log continues from) differ or one is
 * damaged (the archive was changed since); 0 when they match or either is
 * absent; CHIO_ESTORE when they cannot be read. */
int chio__archive_chain_fits(chio_store *arch, chio_store *live, uint64_t last, chio_error *err);

/* What an archiving pass moves must audit clean (retention_check.c): the
 * pass runs over every range it would move before it moves any, giving
 * each receipt in order (check_receipt), then the range's checkpoint with
 * the one after it (check_checkpoint), and after the last range the link
 * into the first receipt that stays (check_next). Each returns 0, or
 * CHIO_ECORRUPT naming the receipt or checkpoint that does not (receipts
 * that do not follow each other from where the log starts, a hash chain
 * link, a checkpoint's number, signature, Merkle root or its successor's
 * previous_checkpoint_sha256), CHIO_ESTORE or CHIO_ENOMEM. _end frees. */
typedef struct chio__archive_check {
    chio_store *live;
    uint64_t chain_from;        /* 0: no chain */
    uint64_t expect, expect_cp; /* the next receipt and checkpoint to move */
    uint8_t prev[32];           /* the stored chain value at prev_seq */
    uint64_t prev_seq;
    int have_prev;
    uint8_t *leaves; /* of the range so far */
    size_t nleaves, capleaves;
} chio__archive_check;
int chio__archive_check_begin(chio_store *live, chio__archive_check *c, chio_error *err);
void chio__archive_check_range(chio__archive_check *c);
int chio__archive_check_receipt(chio__archive_check *c, uint64_t seq, const char *json, size_t len,
                                chio_error *err);
int chio__archive_check_checkpoint(chio__archive_check *c, uint64_t cseq, const char *json,
                                   size_t len, uint64_t next_cseq, const char *next_json,
                                   size_t next_len, chio_error *err);
int chio__archive_check_next(chio__archive_check *c, chio_error *err);
void chio__archive_check_end(chio__archive_check *c);
/* A log with checkpoints, where the checkpoints do not give the pass its
 * next range (review 22 store F1): each returns CHIO_ECORRUPT naming the
 * receipt or checkpoint, 0 when there is nothing to name. _first, before
 * the first range: the first stored checkpoint @cseq, starting at receipt
 * @start, is the one the log's checkpoints start at and starts where the
 * log does, and the first stored receipt @first (0: none) is not before
 * it. _bad_checkpoint: checkpoint @cseq is unreadable (@why). _hole:
 * receipt @missing of checkpoint @cseq's range @start..@end is not stored
 * (@next the next one that is, 0: none in the range). _unreadable: receipt
 * @seq cannot be read. */
int chio__archive_check_first(chio__archive_check *c, uint64_t cseq, uint64_t start, uint64_t first,
                              chio_error *err);
int chio__archive_check_bad_checkpoint(uint64_t cseq, const char *why, chio_error *err);
int chio__archive_check_hole(uint64_t cseq, uint64_t start, uint64_t end, uint64_t missing,
                             uint64_t next, chio_error *err);
int chio__archive_check_unreadable(uint64_t seq, chio_error *err);
/* Review 23 (store) F3: a receipt or checkpoint stored under 0 (no kernel
 * writes one) refuses the pass, as a kernel's start refuses the store. */
int chio__archive_check_zero(chio_store *live, chio_error *err);

/*
 * The kernel's expiry floor (kernel/revocation.c): the latest expires_at of
 * a token whose revocation or budget the kernel dropped because it had
 * expired. Check 2 refuses every token expiring at or before it whatever
 * the clock reads, so a clock stepping back never revives a dropped
 * revocation or budget; persisted so that a restart does not forget it.
 * The kernel notes each raise here before it builds the batch that deletes
 * the rows; chio__store_write then writes the highest value noted (u64
 * metadata CHIO__META_EXPIRED_FLOOR), in a write of its own just before the
 * batch, so no deletion reaches the WAL ahead of its floor. Read back when a
 * read-write store opens (chio__store_expired_floor). Safe from any thread.
 */
#define CHIO__META_EXPIRED_FLOOR "expired_floor"

/* The sequence number the id index gives for @id, unchecked (the audit
 * compares it itself); chio_store_find_receipt also checks the receipt
 * there carries @id. 0, CHIO_ENOTFOUND or CHIO_ECORRUPT. */
int chio__store_find_indexed(chio_store *s, const char *id, uint64_t *seq, chio_error *err);
/* Every id index entry, in key order: @seq is the sequence number it
 * names (0 for a value that is not 8 bytes). A non-zero return from @fn
 * stops the scan and is returned. */
int chio__store_scan_ids(chio_store *s,
                         int (*fn)(void *ctx, const char *id, size_t idlen, uint64_t seq),
                         void *ctx, chio_error *err);
/* The audit's scans: every receipt (@checkpoints 0) or checkpoint from
 * the family's first key, in key order, each key that is not an 8-byte
 * sequence number (written by hand: no kernel does) given to @odd with its
 * value's length instead of ending the scan. A non-zero return from @fn or
 * @odd stops the scan and is returned. */
typedef int (*chio__store_odd_key_fn)(void *ctx, const char *key, size_t klen, size_t vlen);
int chio__store_scan_all(chio_store *s, int checkpoints, chio_store_visit_fn fn,
                         chio__store_odd_key_fn odd, void *ctx, chio_error *err);
void chio__store_note_expired_floor(chio_store *s, uint64_t floor);
uint64_t chio__store_expired_floor(chio_store *s);

/* The running hash chain (column family "chain"): seq -> 32 bytes,
 * c(seq) = SHA-256(c(seq - 1) || leaf(seq)), leaf = the receipt's Merkle
 * leaf hash SHA-256(0x00 || stored bytes), c(chain_from - 1) = 32 zero
 * bytes. chio__store_get_chain: 0, CHIO_ENOTFOUND, CHIO_ECORRUPT.
 * chio__store_has_chain: 1 when any entry exists, 0, or an error code. */
void chio__store_batch_put_chain(chio__store_batch *b, chio_store *s, uint64_t seq,
                                 const uint8_t value[32]);
void chio__store_batch_delete_chain(chio__store_batch *b, chio_store *s, uint64_t seq);
int chio__store_get_chain(chio_store *s, uint64_t seq, uint8_t out[32], chio_error *err);
int chio__store_has_chain(chio_store *s, chio_error *err);
/* Every key of the chain family in key order, with its value's length
 * (the audit's pass: keys that are not 8 bytes, entries past the log's
 * end). A non-zero return from @fn stops the scan and is returned. */
int chio__store_scan_chain_keys(chio_store *s,
                                int (*fn)(void *ctx, const char *key, size_t klen, size_t vlen),
                                void *ctx, chio_error *err);
/* c(seq) from c(seq - 1) and the leaf hash into @out (may be @prev).
 * Returns 0, or the chio_sha256() error with @out unchanged: the caller
 * must not use @out then (a failed hash is no chain value). */
int chio__store_chain_step(const uint8_t prev[32], const uint8_t leaf[32], uint8_t out[32]);

/* Budgets (column family "budgets"): budget key (capability id, NUL, BE32
 * grant index) -> BE64 highest committed invocation count, then BE64
 * expires_at of the capability (the latest charged). @expires_at 0 =
 * unknown: written as the 8-byte count alone, the form of rows written
 * before expiries were kept, which scans report with expires_at 0. A
 * budget row is deleted once its capability expired (kernel/budget.c). */
void chio__store_batch_put_budget(chio__store_batch *b, chio_store *s, const char *key, size_t klen,
                                  uint64_t count, uint64_t expires_at);
void chio__store_batch_delete_budget(chio__store_batch *b, chio_store *s, const char *key,
                                     size_t klen);
size_t chio__store_batch_count(chio__store_batch *b);
int chio__store_scan_budgets(chio_store *s,
                             int (*fn)(void *ctx, const char *key, size_t klen, uint64_t count,
                                       uint64_t expires_at),
                             void *ctx, chio_error *err);

/* ---- signed records (head.c) --------------------------------------------------------
 * Stored as canonical JSON {"body":{...},"signature":"<hex>"}, the
 * signature being Ed25519 over the canonical body by body.kernel_key.
 *   key record  body {"chain_from","created_at","kernel_key","schema":"chio.receipt_store_key.v1"}
 *               ("chain_from" in records written since review 23)
 *   log head    body {"chain","chain_from","checkpoint_seq","kernel_key","last_seq",
 *                     "schema":"chio.receipt_log_head.v1","time"}
 */
typedef struct chio__log_head {
    uint64_t last_seq, chain_from, checkpoint_seq, time;
    uint8_t chain[32];
    uint8_t key[32];
    char key_hex[65];
} chio__log_head;

typedef enum chio__record_state {
    CHIO__RECORD_ABSENT = 0,
    CHIO__RECORD_OK,
    CHIO__RECORD_UNREADABLE, /* not the expected JSON shape */
    CHIO__RECORD_BADSIG      /* readable, but the signature does not verify */
} chio__record_state;

/* The signed bytes of a head / key record (caller frees *json with free()). */
int chio__log_head_sign(const chio_keypair *kp, const chio__log_head *h, char **json, size_t *len);
int chio__key_record_sign(const chio_keypair *kp, uint64_t created_at, char **json, size_t *len);
/* The same with "chain_from" (> 0) in the body: where the store's hash
 * chain starts, signed once when the store is pinned, so that neither the
 * chain_from metadata nor a missing head can move it (0: the older form
 * without it, which stores pinned before review 23 carry). */
int chio__key_record_sign_from(const chio_keypair *kp, uint64_t created_at, uint64_t chain_from,
                               char **json, size_t *len);
/* Read and check the stored record: *state says what was found; @h / @key
 * are filled when the record is readable (also with a bad signature).
 * Returns 0 or a store error (reading failed). */
int chio__store_read_head(chio_store *s, chio__log_head *h, chio__record_state *state,
                          chio_error *err);
int chio__store_read_key_record(chio_store *s, uint8_t key[32], char key_hex[65],
                                chio__record_state *state, chio_error *err);
/* The same, with the record's signed chain_from in *@chain_from (0 when
 * the record has none). */
int chio__store_read_key_record_from(chio_store *s, uint8_t key[32], char key_hex[65],
                                     uint64_t *chain_from, chio__record_state *state,
                                     chio_error *err);
/* Kernel start: pin a store to @kp. A store without a key record gets one
 * (signed, synced) together with chain_from = the next receipt's sequence;
 * a store whose record is missing while it has a chain or a head, or whose
 * record does not verify, is CHIO_ECORRUPT, and so is one carrying the
 * archive record (an archive log, or a live one marked as one); one
 * pinned to another key is CHIO_ECONFIG. *chain_from receives where the
 * hash chain starts. */
int chio__store_pin_key(chio_store *s, const chio_keypair *kp, uint64_t now, uint64_t *chain_from,
                        chio_error *err);
/* CHIO_ECORRUPT when @s carries the archive record (or one that is not an
 * 8-byte number): a live log never does, so a kernel does not continue it
 * and an archiving pass does not move from it. */
int chio__store_refuse_archive_mark(chio_store *s, chio_error *err);

/* Apply @b atomically; @sync = fsync the WAL before returning.
 * Returns 0 or CHIO_ESTORE (details in @err); also CHIO_ESTORE when the
 * store's directory was removed or moved away (chio__store_check_present). */
int chio__store_write(chio_store *s, chio__store_batch *b, int sync, chio_error *err);
/* The same, with @add run first under the store's write lock, so that what
 * it reads cannot change before @b (to which it may add) is written: no
 * other write of this process lands in between. A non-zero return from
 * @add writes nothing and is returned. */
int chio__store_write_checked(chio_store *s, chio__store_batch *b, int sync,
                              int (*add)(chio_store *s, chio__store_batch *b, void *ctx), void *ctx,
                              chio_error *err);

/* Revocations, by capability id (issue 4 uses them). */
int chio__store_scan_revocations(chio_store *s, int (*fn)(void *ctx, const char *id, size_t idlen),
                                 void *ctx, chio_error *err);
/* The same with each record's value (JSON: {"revoked_at":N} or
 * {"revoked_at":N,"expires_at":M}; @value is not NUL-terminated). */
int chio__store_scan_revocation_records(chio_store *s,
                                        int (*fn)(void *ctx, const char *id, size_t idlen,
                                                  const char *value, size_t vlen),
                                        void *ctx, chio_error *err);

/* Checkpoint @cseq is committed (@synced: by a write that synced the WAL).
 * The store's sentinel file records it as durable, at most once a second
 * (after a WAL sync when @synced is 0) and the newest at close: a later
 * open finding fewer checkpoints fails with CHIO_ECORRUPT. A mark that
 * cannot be written fails the store's writes (chio__store_mark_error).
 * Commit thread. */
void chio__store_note_checkpoint(chio_store *s, uint64_t cseq, int synced);
/* The mark left for the close, written now (the kernel's drain, which can
 * still report its failure; a no-op when none is left). */
void chio__store_flush_mark(chio_store *s);

/* 0 while the on-disk store's files are still in its directory (RocksDB's
 * CURRENT), else CHIO_ESTORE naming the store (store.c); 0 for an
 * ephemeral store. */
int chio__store_check_present(chio_store *s, chio_error *err);

/* 1 once a write to @s failed (store_write.c: any write through
 * chio__store_write, the store found gone after one, the synced write
 * behind a NOSYNC durability mark, or the sentinel's mark): what is on
 * disk is then unknown, and the kernel that owns @s fails closed
 * (commit.c). Sticky; atomic. */
int chio__store_write_failed(chio_store *s);
/* CHIO_ESTORE naming the sentinel file and its error once a mark could
 * not be written to it (sentinel.c; that also set the write failure
 * above, so the kernel fails closed), else 0. Any thread; atomic. */
int chio__store_mark_error(chio_store *s, chio_error *err);

/* Test hook: make the next @n writes fail with CHIO_ESTORE (n < 0: all). */
void chio__store_fail_writes(chio_store *s, int n);
/* Test hook: every point read of the column family named @family (NULL:
 * none) fails as RocksDB fails one whose table file a writer in another
 * process deleted ("IO error: No such file or directory", CHIO_ENOTFOUND). */
void chio__store_fail_reads(chio_store *s, const char *family);
/* Test hook: when set, called with the path after each open of a marked
 * store, before its sentinel check (store.c). */
extern void (*chio__store_open_hook)(const char *path);

/* A view of @s for the reads of the calling thread (store_read.c; the
 * audits': audit.c, audit_seam.c). While it lasts, every read of @s on
 * this thread uses one RocksDB snapshot when @s is read-write (a
 * read-only or secondary instance does not move under its own reads), so
 * the receipts, the id index, the chain and the head are read as of one
 * moment; and the first read RocksDB failed (an I/O error, a table file a
 * kernel in another process deleted after a compaction, a damaged block)
 * is kept: chio__store_view_failed() returns its code (0 none) and copies
 * its message into @err. An absent key is not a failure: that tells
 * "not found" apart from "could not read", which share CHIO_ENOTFOUND
 * (and CHIO_ECORRUPT with a value of the wrong shape). End a view on the
 * thread that began it, before @s closes. */
typedef struct chio__store_view chio__store_view;
int chio__store_view_begin(chio_store *s, chio__store_view **out, chio_error *err);
int chio__store_view_failed(const chio__store_view *v, chio_error *err);
void chio__store_view_end(chio__store_view *v);

/* Big-endian 8-byte keys. */
void chio__store_key(uint64_t v, unsigned char key[8]);

#endif
