/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store/store_db.h - the RocksDB side of a chio_store, shared by the
 * store's own files only (store.c: open and close; sentinel.c: the
 * sentinel file; store_dir.c: what a store's directory may hold;
 * store_read.c: reads and scans; store_write.c: write batches, the write
 * and the small typed records). Nothing outside src/store/ includes it:
 * the other layers see store_internal.h and chio/store.h.
 */
#ifndef CHIO_STORE_DB_H
#define CHIO_STORE_DB_H

#include <pthread.h>
#include <sys/types.h>
#include <stdint.h>

#include <rocksdb/c.h>

#include "chio/error.h"
#include "chio/store.h"

enum {
    CF_DEFAULT,
    CF_RECEIPTS,
    CF_IDS,
    CF_CHECKPOINTS,
    CF_REVOCATIONS,
    CF_BUDGETS,
    CF_CHAIN,
    CF_COUNT
};
extern const char *const chio__store_cf_names[CF_COUNT];

struct chio_store {
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_env_t *env; /* memory env for ephemeral stores */
    rocksdb_column_family_handle_t **handles;
    int nhandles;
    rocksdb_column_family_handle_t *cf[CF_COUNT]; /* NULL when absent (read modes) */
    rocksdb_readoptions_t *ro;
    rocksdb_writeoptions_t *wo_sync, *wo_nosync;
    chio_store_mode mode;
    char *secondary_dir;      /* removed on close (secondary.c) */
    int secondary_lock;       /* its owner lock, held while open; -1 none */
    int fail_writes;          /* test hook, atomic */
    int fail_reads_cf;        /* test hook: 1 + the family whose point reads fail, 0 none */
    pthread_mutex_t write_mu; /* one writer at a time (see chio__store_write) */
    char *path;               /* on-disk stores: the directory (for the sentinel) */
    char *current;            /* ... and PATH/CURRENT, built once (the per-write check) */
    dev_t dir_dev;            /* ... and which directory it was at open (its device and */
    ino_t dir_ino;            /* inode), so a copy put in its place is told apart */
    /* the sentinel's high-water mark, coalesced (commit thread, then close) */
    uint64_t sentinel_pending; /* a newer checkpoint not yet marked; 0 none */
    int sentinel_synced;       /* its commit synced the WAL */
    int write_failed;          /* a write failed: no mark moves any more (atomic) */
    int mark_errno;            /* the failed mark's errno, 0 none (atomic; sentinel.c) */
    uint64_t mark_failed_at;   /* ... and the checkpoint it was to name */
    uint64_t sentinel_at_ms;   /* monotonic time of the last mark */
    /* the kernel's expiry floor (chio__store_note_expired_floor) */
    uint64_t floor_noted;   /* highest value noted (atomic) */
    uint64_t floor_written; /* highest value written (under write_mu) */
    /* read-write stores on disk: the directory claimed in claim.c */
    int claimed;
    dev_t claim_dev;
    ino_t claim_ino;
};

struct chio__store_batch {
    rocksdb_writebatch_t *wb;
};

/* store_dir.c: the sentinel file's name (its presence marks a directory
 * that holds a store, store.c), whether @path has one (a regular file:
 * chio__store_has_sentinel), CHIO_ESTORE naming whatever else stands in
 * its place (a directory, a FIFO, a link: chio__store_check_sentinel) or
 * a file whose mark cannot be read (chio__store_read_mark; 0 when a
 * readable sentinel or nothing is there), and the first
 * entry of the directory @path that no store keeps there (*@found,
 * malloc'd, NULL when none): 0, or the errno of a failed read (ENOMEM
 * when the copy failed). CHIO__STORE_FOREIGN_FMT words a refusal (the
 * path, then that entry). */
#define CHIO__STORE_SENTINEL "CHIO-RECEIPT-STORE"
#define CHIO__STORE_FOREIGN_FMT                                                \
    "%.200s is not a chio receipt store and not empty (it holds '%.200s' and " \
    "no " CHIO__STORE_SENTINEL " file)"
int chio__store_has_sentinel(const char *path);
int chio__store_check_sentinel(const char *path, chio_error *err);

/* sentinel.c: the store's format, also the sentinel's first line. */
#define CHIO__STORE_FORMAT "chio.receipt_store.v1"
/* Replace the sentinel of the store at @path with one naming checkpoint
 * @last_checkpoint: 0, or the errno of the failed step (the old sentinel,
 * if any, is left as it was). */
int chio__store_write_sentinel(const char *path, uint64_t last_checkpoint);
/* The checkpoint the sentinel of @path names, into *@mark: 0 (a mark of 0
 * when there is no file), the errno of a failed open or read, or
 * CHIO__SENTINEL_MALFORMED for a file holding anything but what
 * chio__store_write_sentinel writes. Allocates nothing. */
#define CHIO__SENTINEL_MALFORMED (-1)
int chio__store_sentinel_checkpoint(const char *path, uint64_t *mark);
/* The same as a chio error: CHIO_ESTORE naming the file and what to do
 * when its mark cannot be read. */
int chio__store_read_mark(const char *path, uint64_t *mark, chio_error *err);
int chio__store_foreign_entry(const char *path, char **found);
/* store_dir.c: CHIO_ECORRUPT naming the first entry of the directory
 * @path that an open may read and that is a FIFO, a device, a socket or a
 * symbolic link (reading one could block or never end), else 0 (also when
 * @path cannot be read). The exporter's position files and the sentinel's
 * temporary file are not read at open: their writers replace them. In
 * a directory that holds no store (@marked 0: no sentinel), only an
 * entry named as a store's file counts: a stranger's link or FIFO there
 * is no damage to a store, and the open says no store is there (review
 * 19 api F1: a directory holding only a link was reported corrupt); a
 * caller passes 1 for a legacy store too (RocksDB's CURRENT there). */
int chio__store_odd_entry(const char *path, int marked, chio_error *err);
/* store_dir.c: CHIO_ESTORE when the directory @path is writable by every
 * user (or cannot be read), else 0. */
int chio__store_refuse_shared_dir(const char *path, chio_error *err);
/* Map RocksDB's error text *@errp to a CHIO_E* code (corruption, busy,
 * not found, else CHIO_ESTORE), copy it into @err prefixed with @what,
 * rocksdb_free() it and reset *@errp to NULL. Returns the code. */
int chio__store_fail(char **errp, chio_error *err, const char *what);

/* claim.c: claim the directory at @path (by device and inode) for one
 * read-write handle of this process: 0 with *@dev, *@ino set, CHIO_EBUSY
 * while another handle holds it, CHIO_ESTORE / CHIO_ENOMEM. Unclaim gives
 * it back (chio_store_close()). */
int chio__store_claim(const char *path, dev_t *dev, ino_t *ino, chio_error *err);
void chio__store_unclaim(dev_t dev, ino_t ino);

/* secondary.c: sweep the scratch directories of secondary instances whose
 * owner died, then make a new one under TMPDIR holding its owner lock.
 * Fills *@dir (malloc'd) and *@lock_fd; CHIO_ESYS or CHIO_ENOMEM on
 * failure, with nothing left behind. Remove removes the directory, frees
 * @dir and closes @lock_fd (either may be NULL / -1). */
int chio__secondary_dir_make(char **dir, int *lock_fd, chio_error *err);
void chio__secondary_dir_remove(char *dir, int lock_fd);

/* The first (@last 0) or last (@last 1) key of column family @cf as a
 * number into *@out (0 when it is empty). 0 or a CHIO_E* code. */
int chio__store_edge_key(chio_store *s, int cf, int last, uint64_t *out, chio_error *err);
/* As chio__store_edge_key, stepping over keys that are not 8 bytes (the
 * audit names them; it must not stop at one). */
int chio__store_edge_seq_lenient(chio_store *s, int cf, int last, uint64_t *out, chio_error *err);

/* The value of @key in column family @cf: a malloc'd, NUL-terminated copy
 * in *@json (the caller frees it), its length in *@len when @len is not
 * NULL. CHIO_ENOTFOUND when the key or the family is absent, else 0 or
 * another CHIO_E* code; *@json is NULL on every failure. */
int chio__store_get_value(chio_store *s, int cf, const char *key, size_t klen, char **json,
                          size_t *len, chio_error *err);

/* The value of an 8-byte big-endian key (chio__store_key()'s inverse). */
uint64_t chio__store_key_value(const char *k);

#endif
