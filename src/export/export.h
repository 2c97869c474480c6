/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export/export.h - the fleet tools behind `chio export`, `chio fleet
 * verify` and `chio fleet witness` (docs/fleet.md): shipping one kernel's
 * receipt log to a shared stream, verifying every kernel found in the
 * stream, and comparing one local log with what its kernel published.
 * Built on the public API (include/chio/) and the transport seam
 * (transport.h); the CLI parses options and calls these. Each returns an
 * exit status: CHIO__FLEET_OK (0), CHIO__FLEET_NEGATIVE (1: the check ran
 * and found a problem) or CHIO__FLEET_ERROR (2: could not run; said on
 * @err). JSON lines go to @out.
 */
#ifndef CHIO_EXPORT_EXPORT_H
#define CHIO_EXPORT_EXPORT_H

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { CHIO__FLEET_OK = 0, CHIO__FLEET_NEGATIVE = 1, CHIO__FLEET_ERROR = 2 };

/* Subjects: chio.<kernel key hex>.receipts and .checkpoints. */
#define CHIO__FLEET_RECEIPTS    "receipts"
#define CHIO__FLEET_CHECKPOINTS "checkpoints"

/* The stream name is also part of a file name: [A-Za-z0-9_-], 1..64. */
int chio__fleet_stream_name_ok(const char *name);

/* What a running exporter has done, read by other threads (the in-host
 * exporter's lag). Written by the exporter's thread only. */
typedef struct chio__export_status {
    _Atomic uint64_t acked_seq; /* the last receipt seq the stream holds for the kernel */
    _Atomic uint64_t local_seq; /* the last receipt seq the exporter has seen in the store */
    _Atomic uint64_t published; /* receipts appended by this run */
    _Atomic uint64_t messages;  /* messages appended by this run */
    _Atomic int synced;         /* 1 once the stream's position is known */
    _Atomic int finished;       /* 1 once the run is over (its exit status in .exit) */
    _Atomic int exit;
} chio__export_status;

/* Receipts per message: at most this many, and at most CHIO__EXPORT_MAX_BYTES
 * of receipt bytes (one receipt larger than that goes alone). */
#define CHIO__EXPORT_MAX_ITEMS 256u
#define CHIO__EXPORT_MAX_BYTES (512u * 1024u)

typedef struct chio__export_config {
    const char *db;     /* the receipt store directory */
    const char *urls;   /* nats://host:port[,nats://...] */
    const char *stream; /* "CHIO" */
    int follow;         /* keep tailing the live store until *stop */
    /* Set (by a signal handler, or another thread) to end a --follow run,
     * or an export waiting on the servers, after the publish in flight. */
    atomic_int *stop;
    /* Without --follow: give up after this long with no acknowledgement
     * (milliseconds; 0 = 60 s). With --follow it waits for ever. */
    unsigned stall_ms;
    /* Receipts per message, 1..CHIO__EXPORT_MAX_ITEMS (0: the most). */
    unsigned max_batch;
    /* With --follow: the pause between two looks at the store once it is
     * exported (milliseconds; 0 = 100). */
    unsigned poll_ms;
    /* When not NULL: kept up to date for other threads. */
    chio__export_status *status;
} chio__export_config;

/* Publish what the store holds beyond what the stream has for its kernel
 * (exporter.c). @out (the summary line) may be NULL. */
int chio__export_run(const chio__export_config *cfg, FILE *out, FILE *err);

/* The export position file in @db for @stream (malloc'd; NULL on OOM). */
char *chio__export_position_path(const char *db, const char *stream);

/* Write @text to @path atomically: a temporary file, fsync, rename over
 * @path, fsync the directory. Returns 0 or -1 (errno). (posfile.c) */
int chio__export_write_atomically(const char *path, const char *text, size_t len);

/* The unsigned @field ("receipt_seq", "checkpoint_position", ...) of the
 * position file @path when it is kernel @key's; 0 otherwise. (posfile.c) */
uint64_t chio__export_position_field(const char *path, const char *key, const char *field);

/* Bytes of an exporter run's secret for its message ids (msgid.c). */
#define CHIO__EXPORT_SECRET_LEN 32
/* Draw this exporter run's secret for its message ids. Returns 0, or -1
 * (errno) when the system gives no random bytes. (msgid.c) */
int chio__export_secret(uint8_t out[CHIO__EXPORT_SECRET_LEN]);
/* The message id of items @first..@last (@data: their bytes) into @out
 * (200 bytes are enough): key, seqs, body digest and a tag keyed by
 * @secret that no one without it can compute. Returns 0, or -1 when @cap
 * is too small or hashing failed. (msgid.c) */
int chio__export_msg_id(char *out, size_t cap, const char *key, int receipts, uint64_t first,
                        uint64_t last, const void *data, size_t len,
                        const uint8_t secret[CHIO__EXPORT_SECRET_LEN]);

/* Verify every kernel in the stream (fleet_verify.c). @trusted: @ntrusted
 * keys of 32 bytes; every kernel must be one of them, and each of them
 * must have published. */
int chio__fleet_verify(const char *urls, const char *stream, const uint8_t *trusted,
                       size_t ntrusted, FILE *out, FILE *err);

/* Compare the local log in @db with its kernel's messages (witness.c);
 * @key_hex (lowercase, or NULL): the kernel the log must be of. */
int chio__fleet_witness(const char *db, const char *urls, const char *stream, const char *key_hex,
                        FILE *out, FILE *err);

/* ---- the witness as a function, and the start-up witness (witness.c) ---------------------- */

/* What chio__witness_check() returns. */
enum {
    CHIO__WITNESS_CLEAN = 0,      /* the local log equals the stream or is ahead of it */
    CHIO__WITNESS_ROLLBACK = 1,   /* rewound or forked: see the result */
    CHIO__WITNESS_ERROR = 2,      /* could not compare (the store, the arguments) */
    CHIO__WITNESS_UNREACHABLE = 3 /* the servers could not be reached or stopped answering */
};

/* Exit statuses of the serving programs (host-service, chio serve, chio mcp
 * serve|serve-http) when their start-up witness refuses to start. */
enum {
    CHIO__WITNESS_EXIT_ROLLBACK = 3, /* the store was rolled back */
    CHIO__WITNESS_EXIT_UNCHECKED = 4 /* the check could not run (fail closed) */
};

typedef struct chio__witness_result {
    char kernel[65];     /* the kernel key compared ("" before it is known) */
    const char *reason;  /* "rewound", "forked", or NULL when clean (static) */
    int checkpoint;      /* the first difference is a checkpoint's seq, not a receipt's */
    uint64_t first_diff; /* the first differing seq (0 when clean) */
    uint64_t receipt_first_diff, checkpoint_first_diff; /* each kind's (0: none) */
    uint64_t local_last, stream_last;                   /* receipts */
    uint64_t local_cp_last, stream_cp_last;             /* checkpoints */
    uint64_t receipts_compared, checkpoints_compared;
    uint64_t ignored; /* stream items that are not the kernel's own publication */
} chio__witness_result;

/*
 * chio__witness_check - compare the local log in @db with what kernel
 * @key_hex published to @stream at @urls (connecting for up to
 * @timeout_ms; 0 = 5 s). @key_hex NULL: the store's own key (a store
 * with neither receipts nor a key record is then an error). With a key,
 * a store that does not exist yet is an empty log (so a deleted store is
 * "rewound" at seq 1 once its kernel has published), and a store written
 * by another key is an error. The store is opened read-only (a secondary
 * when a live process holds it) and closed before the call returns, so a
 * kernel may open it right after. Returns a CHIO__WITNESS_* code; @res
 * is filled for CLEAN and ROLLBACK; @why (@cap bytes) says what went
 * wrong for ERROR and UNREACHABLE.
 */
int chio__witness_check(const char *db, const char *urls, const char *stream, const char *key_hex,
                        int timeout_ms, chio__witness_result *res, char *why, size_t cap);

/* The start-up witness of a serving program (docs/fleet.md#start-up-witness). */
typedef struct chio__witness_startup {
    const char *prog;    /* names the program in messages: "chio serve" */
    const char *db;      /* the receipt store about to be opened */
    const char *urls;    /* --witness-nats; NULL: no witness, returns 0 */
    const char *stream;  /* --witness-stream; NULL: "CHIO" */
    const char *key_hex; /* the public key the program signs with */
    int optional;        /* --witness-optional: unreachable servers warn, not refuse */
    int timeout_ms;      /* 0 = 5 s */
} chio__witness_startup;

/*
 * chio__witness_at_startup - run the witness before the kernel opens the
 * store. Returns 0 (start: clean, or unreachable with @c->optional, said
 * on @err as a warning), CHIO__WITNESS_EXIT_ROLLBACK (refuse: rolled back,
 * the message names reason and first differing seq) or
 * CHIO__WITNESS_EXIT_UNCHECKED (refuse: could not check). One line on
 * @err in every case but "no witness".
 */
int chio__witness_at_startup(const chio__witness_startup *c, FILE *err);

/* 1 when @urls starts with a scheme the export transports serve
 * (nats://), else 0 with @why (@cap bytes) saying so; connects to nothing
 * (transport.c). A program checks its --witness-nats or --nats with it
 * before it starts, so a malformed URL is bad usage (exit 2), not a
 * server that could not be reached. */
int chio__xp_url_ok(const char *urls, char *why, size_t cap);

/* Open a store for reading (read-only, else a secondary); NULL after a
 * message on @err (none when @err is NULL). @follow: always a caught-up
 * secondary. */
struct chio_store;
struct chio_store *chio__fleet_open_store(const char *cmd, const char *db, int follow, FILE *err);

/* The kernel key of the store (the first stored receipt's, or the key
 * record's for a store without receipts) into @hex; 0, or -1 when the
 * store has neither (nothing written yet). */
int chio__fleet_store_key(struct chio_store *s, char hex[65]);

/* The first checkpoint seq @s holds: above 1 once `chio receipt archive`
 * moved the oldest checkpoints out (1 when it holds none). */
uint64_t chio__fleet_store_first_checkpoint(struct chio_store *s);

/* Bytes of chio__fleet_store_identity()'s text. */
#define CHIO__FLEET_IDENT_LEN 192

/* Which store the directory @db holds, as text in @out: its device and
 * inode, RocksDB's IDENTITY file (made with the store) and the inode and
 * change time of its CURRENT file (written anew by every open of the
 * store by its kernel, and by every copy put in its place). A store
 * deleted and made again, put back from a copy (also file by file into
 * the same directory, IDENTITY and all), or opened again by a restarted
 * kernel gives another text: a secondary instance of the old one may go
 * on reading the old files without an error, and then sees nothing of
 * what the kernel writes. */
void chio__fleet_store_identity(const char *db, char out[CHIO__FLEET_IDENT_LEN]);

/* Whether @data, read from the stream as item @seq of kernel @key's
 * receipts (@receipts 1) or checkpoints, is that kernel's own
 * publication: a receipt in canonical form signed by @key whose id store
 * @s (may be NULL) does not hold at another seq (else it is a replay), or
 * a checkpoint signed by @key that names @seq. 1 or 0. Anything else was
 * written into the subject by another client. */
int chio__fleet_is_publication(struct chio_store *s, const char *key, int receipts, uint64_t seq,
                               const char *data, size_t len);

#endif
