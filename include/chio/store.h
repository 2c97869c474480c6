/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chio/store.h - reading the receipt log (RocksDB) that a kernel writes.
 *
 * Layout (column families): "receipts" (8-byte big-endian sequence number
 * -> canonical signed receipt bytes), "receipt_ids" (receipt id -> 8-byte
 * sequence number), "checkpoints" (8-byte big-endian checkpoint sequence ->
 * canonical checkpoint JSON), "chain" (8-byte big-endian sequence number ->
 * 32-byte running hash), "budgets", "revocations", and "default" for
 * metadata (including the store's signed key record and the signed log
 * head). Sequence numbers start at 1 and are contiguous.
 *
 * A kernel owns its store read-write. Other processes read it while it runs
 * with CHIO_STORE_SECONDARY (a RocksDB secondary instance that catches up
 * with the primary) or CHIO_STORE_READ_ONLY.
 *
 * Thread-safety: a store handle may be read from several threads at once.
 * Every call below takes an optional chio_error (@err) for a message, and
 * borrows its pointer arguments for the call only.
 */
#ifndef CHIO_STORE_H
#define CHIO_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "chio/error.h"
#include "chio/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct chio_store chio_store;

typedef enum chio_store_mode {
    CHIO_STORE_READ_WRITE = 0, /* create when missing; one writer per directory */
    CHIO_STORE_READ_ONLY,      /* a snapshot as of opening */
    CHIO_STORE_SECONDARY       /* follows a live primary; see chio_store_catch_up() */
} chio_store_mode;

/*
 * chio_store_open - open the receipt log at @path. Read-write creates a
 * store in a missing or empty directory, never among other files.
 * Returns: 0; CHIO_ENOTFOUND (no store there, read modes); CHIO_EBUSY
 * (read-write: another process, or another handle of this one, holds it
 * read-write, whatever spelling of the path either used: "dir", "dir/",
 * a symlink); CHIO_ECORRUPT; CHIO_ESTORE
 * (read-write: a directory that holds other files and no store, or one
 * every user may write to; any mode: something other than a regular file
 * in the place of its CHIO-RECEIPT-STORE file, or one that cannot be read
 * or holds no mark this library writes; other RocksDB errors; the
 * message says which);
 * CHIO_EINVAL (@path or @out NULL, @path empty, @mode outside the enum);
 * CHIO_ENOMEM. *@out is NULL on failure. A directory it creates is mode
 * 0700. Ownership: @path borrowed; caller closes *out with chio_store_close().
 */
CHIO_EXTERN int chio_store_open(const char *path, chio_store_mode mode, chio_store **out,
                                chio_error *err);

/*
 * chio_store_check_dir - whether a read-write chio_store_open() of @path
 * would take it as a store's directory, checked without opening, creating
 * or changing anything: a missing path whose parent is a directory (the
 * open makes it), a directory holding a store (its CHIO-RECEIPT-STORE
 * file), or one holding nothing but the files a store keeps (what a store
 * being made leaves when its process is killed). For a command that
 * should refuse a wrong path before it does other work.
 * Returns: 0; CHIO_ESTORE (a directory of other files and no store, the
 * message naming one of them; a directory every user may write to; one
 * whose CHIO-RECEIPT-STORE is not a regular file (a directory, a FIFO, a
 * link), cannot be read or holds no mark this library writes, naming it; a
 * path that is not a directory, a symbolic link to nothing, a missing
 * path whose parent is not a directory, or a directory that cannot be
 * read; the message says which); CHIO_EINVAL (@path NULL or empty);
 * CHIO_ENOMEM. The directory can change between this check and the open,
 * which checks again. Ownership: @path borrowed.
 */
CHIO_EXTERN int chio_store_check_dir(const char *path, chio_error *err);

/* chio_store_close - close and free. NULL is ignored. Ownership: takes @s. */
CHIO_EXTERN void chio_store_close(chio_store *s);

/* chio_store_catch_up - a secondary reads what the primary has written
 * since. Returns 0, CHIO_EINVAL (@s NULL or not a secondary), CHIO_ESTORE. */
CHIO_EXTERN int chio_store_catch_up(chio_store *s, chio_error *err);

/* Lowest and highest receipt sequence stored (0 and 0 when empty).
 * Returns 0, CHIO_EINVAL (any pointer NULL), CHIO_ESTORE. */
CHIO_EXTERN int chio_store_seq_range(chio_store *s, uint64_t *first, uint64_t *last,
                                     chio_error *err);
/* Highest checkpoint sequence stored (0 when none). Returns 0, CHIO_EINVAL
 * (@s or @last NULL), CHIO_ESTORE. */
CHIO_EXTERN int chio_store_last_checkpoint_seq(chio_store *s, uint64_t *last, chio_error *err);

/*
 * chio_store_get_receipt / chio_store_get_checkpoint - the stored bytes.
 * Returns 0, CHIO_ENOTFOUND, CHIO_ESTORE, CHIO_EINVAL (@s or @json NULL),
 * CHIO_ENOMEM; *@json is NULL on failure. @len optional. Ownership: caller
 * frees *json with chio_free(); it is NUL-terminated (the NUL is not
 * counted).
 */
CHIO_EXTERN int chio_store_get_receipt(chio_store *s, uint64_t seq, char **json, size_t *len,
                                       chio_error *err);
CHIO_EXTERN int chio_store_get_checkpoint(chio_store *s, uint64_t checkpoint_seq, char **json,
                                          size_t *len, chio_error *err);

/* The sequence number of the receipt with @id, into *@seq. The id index is
 * not signed, so the receipt it names is read back and must carry @id.
 * Returns 0, CHIO_EINVAL (@s, @id or @seq NULL), CHIO_ENOTFOUND, or
 * CHIO_ECORRUPT (the index names a receipt that is missing or has another
 * id); *@seq is written only on success. */
CHIO_EXTERN int chio_store_find_receipt(chio_store *s, const char *id, uint64_t *seq,
                                        chio_error *err);

/*
 * chio_store_scan / chio_store_scan_checkpoints - call @fn for each stored
 * item with sequence >= @from, in order. @json is borrowed for the call. A
 * non-zero return from @fn stops the scan and is returned.
 * Returns: 0, @fn's non-zero value, CHIO_EINVAL (@s or @fn NULL),
 * CHIO_ESTORE. Ownership: @ctx the caller's, handed to @fn.
 */
typedef int (*chio_store_visit_fn)(void *ctx, uint64_t seq, const char *json, size_t len);
CHIO_EXTERN int chio_store_scan(chio_store *s, uint64_t from, chio_store_visit_fn fn, void *ctx,
                                chio_error *err);
CHIO_EXTERN int chio_store_scan_checkpoints(chio_store *s, uint64_t from, chio_store_visit_fn fn,
                                            void *ctx, chio_error *err);

/* ---- retention: archiving old receipts ------------------------------------------- */

typedef struct chio_archive_report {
    uint64_t receipts_moved, checkpoints_moved;
    uint64_t first_seq, last_seq;                 /* the moved range; 0 when nothing moved */
    uint64_t live_bytes_before, live_bytes_after; /* stored receipt + checkpoint bytes */
    uint64_t reserved[4];                         /* written as zeros (abi.h rule 2) */
} chio_archive_report;

/*
 * chio_store_archive - move the oldest receipts of @live (opened
 * read-write) to the log at @archive_path (created when missing) together
 * with the checkpoints that cover them, and delete them from @live.
 * A prefix of the log moves while it is eligible: receipts whose timestamp
 * is before @older_than (Unix seconds; 0 = no age rule), or, while the live
 * log's stored bytes exceed @max_bytes (0 = no size rule), the oldest.
 * With @by_checkpoint, whole checkpoint ranges move (a range only when
 * every receipt in it is eligible by age, or while the size rule holds) and
 * the newest checkpoint with the receipts after it always stays; without,
 * single receipts move and the newest stays. Both logs keep verifying on
 * their own (chio_store_audit_log() honours where the live log now starts);
 * chio_store_audit_seam() checks the archive against @live.
 * A log that holds checkpoints always moves whole checkpoint ranges.
 * What would move must audit clean: before anything moves (or the
 * archive is opened) every range the pass would move is checked, its
 * receipts contiguous from where @live starts, each hash chain link and
 * the link into the first receipt that stays, each moved checkpoint's
 * number, signature and Merkle root and the next checkpoint's
 * previous_checkpoint_sha256; one that fails refuses the pass with
 * CHIO_ECORRUPT naming the receipt or checkpoint, nothing moved (receipt
 * signatures are left to chio_store_audit_log_v2()).
 * Crash-safe: each range is synced to the archive before it is deleted
 * from @live; a crash between leaves it in both and a later run completes.
 * The archive must be empty or @live's own archive, continued where it
 * ends; anything else is refused before a write (nothing moves).
 * Returns: 0 (possibly nothing moved); store errors (CHIO_ESTORE,
 * CHIO_EBUSY for an archive in use, CHIO_ECORRUPT, also for a range to
 * move that does not audit clean (above), for a @live
 * that carries the archive record (an archive log, or a live one marked
 * as one, refused before anything is opened), for an archive
 * holding other bytes under a number to move, ending before the first
 * receipt to move, or whose hash chain at its last receipt is not the
 * value @live continues from); CHIO_ECONFIG (@archive_path holds a log that is not an
 * archive, or another log's archive); CHIO_EINVAL (@live, @archive_path or
 * @rep NULL, @archive_path empty, or @live opened CHIO_STORE_READ_ONLY or
 * _SECONDARY: all refused before anything is opened, even when nothing is
 * eligible);
 * CHIO_ENOMEM. Ownership: @archive_path borrowed; @rep filled.
 * Thread-safety: one archiving pass per live store at a time; a kernel may
 * keep appending to @live meanwhile.
 */
CHIO_EXTERN int chio_store_archive(chio_store *live, const char *archive_path, uint64_t older_than,
                                   uint64_t max_bytes, int by_checkpoint, chio_archive_report *rep,
                                   chio_error *err);

/* ---- auditing a stored log ------------------------------------------------------ */

/* Frozen (abi.h rule 5); chio_store_audit_v2 is its successor. */
typedef struct chio_store_audit {
    uint64_t receipts; /* receipts read */
    uint64_t first_seq, last_seq;
    uint64_t gaps;              /* missing sequence numbers */
    uint64_t invalid;           /* receipts that are unreadable, fail verification,
                                   are untrusted, or sit where the id index says they
                                   do not; in chio_store_audit_log() also every other
                                   problem (see there) */
    uint64_t checkpoints;       /* checkpoints read */
    uint64_t checkpoints_valid; /* signed, chained, contiguous, Merkle root matches */
} chio_store_audit;

/* Receives one problem as a JSON object (no newline), e.g.
 * {"problem":"missing_receipt","seq":7} or
 * {"problem":"invalid_checkpoint","checkpoint_seq":2,"reason":"merkle_root",...}. */
typedef void (*chio_audit_fn)(void *ctx, const char *json, size_t len);

/*
 * chio_store_audit_log - verify a whole log: every receipt (full
 * verification; and a trusted signer when @ntrusted > 0), sequence
 * contiguity from the first retained receipt, the id index, every
 * checkpoint (signature, trusted key when given, contiguous numbering and
 * ranges, previous_checkpoint_sha256 chain, Merkle root recomputed from the
 * stored receipts). Streams: memory grows with the number of checkpoints,
 * not receipts.
 * Since log heads exist it also checks the hash chain, the log head and
 * the store's key record, as chio_store_audit_log_v2() describes; their
 * problems, and every invalid checkpoint (its log_problems), count in
 * @out->invalid here, so every problem line counts in @out->gaps or
 * @out->invalid: a clean log reads both 0 (and then checkpoints_valid
 * equals checkpoints). Before review 19 a deleted, swapped or replaced
 * checkpoint showed only as checkpoints_valid < checkpoints. Receipts no
 * hash chain covers (a legacy log, or the part before chain_from) count
 * in @out->invalid too,
 * with one problem line {"problem":"unchained",...}: this version has no
 * legacy field.
 * @fn: optional (problems are then only counted). @trusted_keys: @ntrusted
 * keys of 32 bytes back to back, NULL when 0.
 * Returns: 0 when the audit ran (problems are reported, not returned);
 * CHIO_EINVAL (@s or @out NULL, @trusted_keys NULL with @ntrusted > 0,
 * @ntrusted > SIZE_MAX / 32);
 * CHIO_ESTORE / CHIO_ENOMEM when it could not run; a store error
 * (CHIO_ESTORE, CHIO_ENOTFOUND, CHIO_ECORRUPT) when a read failed midway,
 * "audit stopped, nothing reported past this point": no problem is named
 * for such a read, and @out is then incomplete (a read-only open of a
 * store a kernel compacts meets deleted table files: audit again, or
 * from a CHIO_STORE_SECONDARY open, which holds them open).
 * Ownership: all borrowed; @out caller-allocated; @ctx handed to @fn.
 */
CHIO_EXTERN int chio_store_audit_log(chio_store *s, const uint8_t *trusted_keys, size_t ntrusted,
                                     chio_audit_fn fn, void *ctx, chio_store_audit *out,
                                     chio_error *err);

/* How the auditor chose the key every receipt, checkpoint and log head
 * must be signed by. */
typedef enum chio_store_pin {
    CHIO_STORE_PIN_NONE = 0, /* no usable key record and no trusted keys: integrity only */
    CHIO_STORE_PIN_STORE,    /* the store's own signed key record */
    CHIO_STORE_PIN_FLAG      /* the caller's trusted keys */
} chio_store_pin;

/* Size-versioned (abi.h rule 3). */
typedef struct chio_store_audit_v2 {
    uint32_t size; /* set by the caller: sizeof(chio_store_audit_v2) */
    uint32_t reserved0;
    chio_store_audit base; /* as chio_store_audit_log() fills it */
    char signer_hex[65];   /* the key the store records (or the first trusted key
                              when it records none); "" when neither */
    uint8_t legacy;        /* 1: written before key records and log heads existed */
    uint8_t archive;       /* 1: marked as an archive log (chio_store_archive), which has
                              no head. The mark is not signed (a live log cut at the
                              tail and marked would otherwise pass), so it is the
                              problem "archive_log", counted in log_problems, unless
                              allow_archive */
    uint8_t allow_archive; /* in, set by the caller: 1 when an archive log is expected
                              (then the mark is no problem); 0 (zeroed struct) fails one */
    uint8_t reserved1[4];
    uint32_t pinned_by; /* chio_store_pin */
    uint32_t reserved2;
    uint64_t head_seq;     /* last_seq of the signed log head, 0 when none */
    uint64_t chain_from;   /* first receipt the hash chain covers, 0 when none */
    uint64_t log_problems; /* the problems not counted in base.gaps or base.invalid:
                              the log as a whole (key record, log head, the tail it
                              vouches for, the id index's leftovers, metadata) and
                              every invalid or missing checkpoint. A clean log: gaps,
                              invalid and log_problems 0, and legacy 0 with no
                              receipt before chain_from (or the caller accepts them) */
    uint64_t reserved[8];
} chio_store_audit_v2;

/*
 * chio_store_audit_log_v2 - chio_store_audit_log() plus the tamper evidence
 * of the log as a whole: the store's signed key record (to which receipts,
 * checkpoints and the head are pinned when @ntrusted is 0), the hash chain
 * over every receipt (each link recomputed: a receipt changed, swapped,
 * replayed or deleted is named by its sequence number) and the signed log
 * head (the last sequence number, its chain value and the newest
 * checkpoint: receipts or checkpoints missing at the tail are named). Each
 * problem is one JSON object through @fn, as for chio_store_audit_log();
 * the new ones are "chain_mismatch", "chain_missing", "receipt_after_head"
 * (with "seq"), "log_head_mismatch" (with "derived":true when the chain
 * entry at the head's last receipt is missing and the value its link
 * gives differs), "invalid_log_head" (with "seq" when
 * readable), "log_head_missing", "missing_checkpoint" (with
 * "checkpoint_seq"), "invalid_key_record", "key_record_missing",
 * "store_key_untrusted", "chain_from_mismatch" (the chain start the key
 * record signs differs from the stored one or the head's) and
 * "index_dangling" (an id index entry naming a receipt outside the stored
 * range, with "id" and "indexed_seq") and "archive_log" (the log is
 * marked as an archive and @out->allow_archive is 0); in a log marked as
 * an archive that holds checkpoints, "receipt_after_last_checkpoint" (with
 * "seq", "checkpoint_seq" and "batch_end_seq"; counted in log_problems):
 * archiving moves whole checkpoint ranges, so no pass puts a receipt
 * after such an archive's last checkpoint (review 22 store F2). A legacy
 * log (no key record, chain or head) is audited as before, with
 * legacy = 1 and nothing pinned unless @ntrusted.
 * @out->size must be set; at most that many bytes of *out are written.
 * Returns: 0 when the audit ran; CHIO_EINVAL (size too small, and as for
 * chio_store_audit_log()); CHIO_ESTORE / CHIO_ENOMEM when it could not run.
 * Ownership and @fn as chio_store_audit_log().
 * Thread-safety: as chio_store_audit_log().
 */
CHIO_EXTERN int chio_store_audit_log_v2(chio_store *s, const uint8_t *trusted_keys, size_t ntrusted,
                                        chio_audit_fn fn, void *ctx, chio_store_audit_v2 *out,
                                        chio_error *err);

/*
 * chio_store_audit_seam - check where two logs of one kernel meet: @older
 * an archive (chio_store_archive) and @newer the log its receipts were cut
 * from (the next archive, or the live log); each is audited on its own
 * with chio_store_audit_log_v2(). An archive has no signed head, so
 * receipts changed, swapped, replayed or cut in it with its hash chain
 * rewritten pass its own audit; here its chain value at its last receipt
 * must be the anchor @newer continues from (which @newer's signed head
 * vouches for), its last receipt and checkpoint must be right before
 * @newer's first, both must carry the same key record, and @newer's first
 * checkpoint must name @older's last. Receipts and checkpoints both logs
 * hold (an archiving pass stopped between the archive write and the live
 * delete) must be the same bytes, and @older's chain value at its last
 * receipt the one @newer holds there. With @older NULL, @newer is the
 * oldest log given and must start at receipt 1 and checkpoint 1. Problems
 * go through @fn as JSON objects: "seam_gap", "seam_overlap_mismatch",
 * "seam_chain_mismatch",
 * "seam_key_record", "seam_checkpoint_gap", "seam_checkpoint_chain",
 * "log_start_not_given"; *@problems counts them.
 * @fn optional; @problems required.
 * Returns: 0 when the check ran; CHIO_EINVAL (@newer or @problems NULL);
 * CHIO_ESTORE when a store could not be read. Ownership: both stores
 * borrowed; @ctx handed to @fn.
 * Thread-safety: as chio_store_audit_log().
 */
CHIO_EXTERN int chio_store_audit_seam(chio_store *older, chio_store *newer, chio_audit_fn fn,
                                      void *ctx, uint64_t *problems, chio_error *err);

#ifdef __cplusplus
}
#endif

#endif /* CHIO_STORE_H */
