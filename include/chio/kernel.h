/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chio/kernel.h - the kernel: configuration, lifecycle (build, serve,
 * drain), the receipt signing pipeline, metrics and logs.
 *
 * Build: chio_kernel_new() is synchronous and starts no thread and opens
 * nothing. Serve: the kernel is shared by pointer across any number of
 * threads; the first signing request (or chio_kernel_start()) opens the
 * receipt store, restores its counters and starts the signer threads,
 * exactly once. Drain: chio_kernel_drain() refuses new work, signs and
 * commits everything queued, joins the threads; chio_kernel_free() after.
 *
 * Signing: callers push requests onto a bounded lock-free MPMC ring
 * (Concurrency Kit ck_ring); signer threads sign them with Ed25519 and a
 * commit thread appends them to RocksDB in one WriteBatch per group, with
 * one WAL sync per group when durability is CHIO_DURABILITY_SYNC. A caller
 * hears "done" only after its receipt is committed. After a failed write
 * the kernel fails closed: every later request gets CHIO_EFAILED.
 *
 * Backpressure: one budget of ring_capacity credits covers every request
 * in flight, synchronous or not: waiting in the ring, signed but not yet
 * committed, and committed but not yet completed (caller woken or
 * callback returned). A submitter takes a credit before the kernel
 * prepares its receipt and blocks while none is left (the try variant
 * returns CHIO_EAGAIN), so memory stays bounded however slow the disk is.
 * chio_kernel_in_flight() reports the credits in use.
 *
 * Callbacks (chio_sign_cb, chio_evaluate_cb) all run on the kernel's one
 * completion thread, never on the commit thread. From a callback,
 * asynchronous calls work; synchronous ones (chio_kernel_sign_receipt,
 * chio_kernel_try_sign_receipt, chio_kernel_evaluate and the other
 * synchronous evaluations) fail at once with CHIO_EDEADLK, since they
 * would wait for the callback's own thread.
 */
#ifndef CHIO_KERNEL_H
#define CHIO_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "chio/crypto.h"
#include "chio/error.h"
#include "chio/export.h"
#include "chio/receipt.h"
#include "chio/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Upstream defaults (chio-kernel's DEFAULT_* constants). */
#define CHIO_DEFAULT_MAX_STREAM_DURATION_SECS 300
#define CHIO_DEFAULT_MAX_STREAM_TOTAL_BYTES   ((uint64_t)256 * 1024 * 1024)
#define CHIO_DEFAULT_CHECKPOINT_BATCH_SIZE    100
#define CHIO_DEFAULT_RETENTION_DAYS           90
#define CHIO_DEFAULT_RETENTION_MAX_SIZE_BYTES ((uint64_t)10 * 1024 * 1024 * 1024)
#define CHIO_DEFAULT_MAX_DELEGATION_DEPTH     4
/* libchio's own knobs. */
#define CHIO_DEFAULT_SIGNER_THREADS 1
#define CHIO_DEFAULT_RING_CAPACITY  1024 /* a power of two */
#define CHIO_DEFAULT_MAX_BATCH      256  /* receipts per signer batch */
/* Largest arguments a call may carry, in bytes of their JSON text. */
#define CHIO_DEFAULT_MAX_ARGUMENT_BYTES ((uint64_t)4 << 20) /* 4 MiB */
/* Largest checkpoint_batch_size: the kernel holds a 32-byte leaf per
 * receipt of the open batch, so this bounds that memory at 32 MiB. */
#define CHIO_MAX_CHECKPOINT_BATCH_SIZE ((uint64_t)1 << 20)

typedef struct chio_kernel chio_kernel;

typedef enum chio_durability {
    CHIO_DURABILITY_SYNC = 0, /* WAL fsync per group commit (default) */
    CHIO_DURABILITY_NOSYNC    /* WAL written, not fsynced: survives a crash of the
                                 process, not of the machine */
} chio_durability;

/* Retention (upstream retention_config). enabled = 0 keeps receipts forever.
 * Frozen layout (abi.h rule 5): it sits inside chio_kernel_config. */
typedef struct chio_retention_config {
    int enabled;
    uint32_t retention_days;  /* CHIO_DEFAULT_RETENTION_DAYS */
    uint64_t max_size_bytes;  /* CHIO_DEFAULT_RETENTION_MAX_SIZE_BYTES */
    const char *archive_path; /* copied; NULL = none */
} chio_retention_config;

/* Log levels for chio_log_fn. */
typedef enum chio_log_level {
    CHIO_LOG_DEBUG = 0,
    CHIO_LOG_INFO,
    CHIO_LOG_WARN,
    CHIO_LOG_ERROR
} chio_log_level;

/*
 * A log sink: receives one JSON object per call, @len bytes at @json (no
 * trailing newline, and not necessarily NUL-terminated: read @len bytes,
 * never up to a NUL), e.g. {"ts":1710000000,"level":"info","event":"kernel_started",...}.
 * Called from any kernel thread, one call at a time (under the kernel's
 * log lock), so it must not call into the kernel: chio_kernel_drain() from
 * a kernel thread could not join it, and a kernel call that logs cannot
 * deliver that line (it is dropped, rather than wait for the lock its own
 * thread holds). Calls that would wait for the sink's own thread fail at
 * once with CHIO_EDEADLK instead of hanging: chio_kernel_drain(),
 * chio_kernel_start() (and any call that would start the kernel) before
 * the kernel has started, the synchronous signing and evaluation calls
 * (chio_kernel_free() then frees nothing, as from a callback), and the
 * asynchronous ones when the in-flight budget is spent (as from a
 * callback: chio_kernel_evaluate_async() then refuses before any check or
 * dispatch; a tool of a call it submits cannot make nested requests:
 * CHIO_EDEADLK). The same holds through other kernels: a sink that calls into
 * kernel B, whose own sink calls back into this kernel, has that line
 * dropped and such calls refused with CHIO_EDEADLK. Hand the
 * event to a thread of the host's instead. Never receives key material.
 */
typedef void (*chio_log_fn)(void *ctx, chio_log_level level, const char *json, size_t len);

/* A clock returning Unix seconds (injectable for tests). Called on the
 * calling threads and on the kernel's own threads (signer, commit,
 * checkpoint, completion), possibly at once, so it must be thread-safe
 * and quick. It must not call into its kernel: it runs on the thread
 * draining the kernel, under the locks that start it and revoke, and in
 * the commit stage, where such a call would wait for its own thread. So
 * from it, on any thread, chio_kernel_drain() (and so chio_kernel_free(),
 * which then frees nothing, as from a callback) and every call that
 * starts, signs, evaluates, opens a session, revokes, lists or archives
 * fail at once with CHIO_EDEADLK, changing nothing. The same holds through
 * other kernels: a clock that calls kernel B, whose own clock calls back
 * into this kernel, has that call refused with CHIO_EDEADLK. */
typedef uint64_t (*chio_clock_fn)(void *ctx);

/*
 * Kernel configuration: every field of upstream's KernelConfig plus
 * libchio's knobs. Caller-allocated; fill with chio_kernel_config_init()
 * and then set what you need. Strings and arrays are copied by
 * chio_kernel_new(); the keypair is taken over. Reserved fields must stay
 * zero (abi.h rule 1; CHIO_ECONFIG otherwise).
 */
typedef struct chio_kernel_config {
    /* --- upstream KernelConfig --- */
    chio_keypair *keypair;         /* required; owned by the kernel from chio_kernel_new() on */
    const uint8_t *ca_public_keys; /* n_ca_public_keys keys of 32 bytes, back to back */
    size_t n_ca_public_keys;
    uint32_t max_delegation_depth;     /* CHIO_DEFAULT_MAX_DELEGATION_DEPTH */
    const char *policy_hash;           /* required; embedded verbatim in every receipt */
    int allow_sampling;                /* 0 */
    int allow_sampling_tool_use;       /* 0 */
    int allow_elicitation;             /* 0 */
    uint64_t max_stream_duration_secs; /* CHIO_DEFAULT_MAX_STREAM_DURATION_SECS; 0 = no limit */
    uint64_t max_stream_total_bytes;   /* CHIO_DEFAULT_MAX_STREAM_TOTAL_BYTES */
    int require_web3_evidence;         /* 0 */
    uint64_t checkpoint_batch_size;    /* CHIO_DEFAULT_CHECKPOINT_BATCH_SIZE; 0 disables;
                                          at most CHIO_MAX_CHECKPOINT_BATCH_SIZE */
    chio_retention_config retention_config; /* disabled */

    /* --- libchio --- */
    const char *receipt_store_path; /* RocksDB directory; NULL needs ephemeral_store */
    int ephemeral_store;            /* 1 = keep receipts in memory only (upstream's ephemeral
                                       log); required when receipt_store_path is NULL */
    uint32_t signer_threads;        /* CHIO_DEFAULT_SIGNER_THREADS (1..64) */
    uint32_t ring_capacity;         /* CHIO_DEFAULT_RING_CAPACITY; a power of two, 2..2^24;
                                       also the in-flight budget (requests not yet completed) */
    uint32_t max_batch;             /* CHIO_DEFAULT_MAX_BATCH (1..65536) */
    chio_durability durability;     /* CHIO_DURABILITY_SYNC */
    chio_clock_fn clock;            /* NULL = wall clock */
    void *clock_ctx;
    chio_log_fn log; /* NULL = JSON lines on stderr */
    void *log_ctx;
    chio_log_level log_level; /* CHIO_LOG_INFO */
    int lock_key_memory;      /* 1 = mlock the signing key (chio_keypair_lock_memory); 0 */
    /* Scheduling priority of the kernel's own threads (signers, commit
     * and completion): 0 = inherit the creating thread's; -20..19 = that
     * nice value, applied by each thread to itself with setpriority(2).
     * Raising priority (a negative value below the inherited one) needs
     * CAP_SYS_NICE or RLIMIT_NICE; when refused the kernel runs on at the
     * inherited priority and logs "signer_priority_not_applied" (warn)
     * once. Took the place of a reserved int: the struct keeps its size. */
    int signer_priority;
    /* Largest arguments text a call may carry (CHIO_DEFAULT_MAX_ARGUMENT_BYTES;
     * 1 .. 63 MiB). Taken from the reserved space: the struct keeps its size. */
    uint64_t max_argument_bytes;
    /* Real-time scheduling of the signer threads only: 0 = off (they run
     * under the normal scheduler, with signer_priority's nice value if
     * set); 1..99 = each signer thread makes itself SCHED_FIFO at that
     * priority, so a woken caller can no longer preempt a signature in
     * progress. A signer sleeps whenever the ring is empty; it never
     * spins. Needs CAP_SYS_NICE or RLIMIT_RTPRIO (and, under cgroup v2
     * with RT group scheduling, a real-time budget for the cgroup); when
     * refused the signers run on as before and "signer_realtime_not_applied"
     * is logged (warn) once. Off by default: a real-time thread outranks
     * every normal thread of the host on its CPU while it signs.
     * Taken from the reserved space: the struct keeps its size. */
    int signer_realtime;
    int reserved_int;  /* zero */
    void *reserved[5]; /* zero; room to grow without an ABI break */
} chio_kernel_config;

/*
 * chio_kernel_config_init - fill @cfg with every default above (keypair,
 * policy_hash and store path NULL). NULL is ignored. Ownership: @cfg is the
 * caller's. Thread-safety: touches only @cfg.
 */
CHIO_EXTERN void chio_kernel_config_init(chio_kernel_config *cfg);

/*
 * chio_kernel_new - build a kernel. Synchronous; starts no thread and does
 * not open the store (see chio_kernel_start()).
 *
 * Returns: 0; CHIO_ECONFIG (a field is out of range, the message names it;
 * also more than 65536 ca_public_keys, or one of small order);
 * CHIO_EINVAL (@cfg or @out NULL); CHIO_ENOMEM; CHIO_ESYS (lock_key_memory
 * set and the key's pages could not be locked). *@out is NULL after every
 * failure (when @out is not NULL).
 * Ownership: the kernel takes cfg->keypair in every case (it is freed on
 * failure too, @out NULL included); everything else in @cfg is copied.
 * Caller frees *out with chio_kernel_free(). @err optional.
 */
CHIO_EXTERN int chio_kernel_new(const chio_kernel_config *cfg, chio_kernel **out, chio_error *err);

/*
 * chio_kernel_start - open the receipt store, restore the sequence and
 * checkpoint counters, start the signer and commit threads. Idempotent and
 * race-free; the first signing request calls it too. Use it at boot to
 * surface store errors early.
 * Returns: 0; store errors (CHIO_EBUSY, CHIO_ECORRUPT, CHIO_ESTORE); CHIO_ESYS
 * (a thread could not start); CHIO_EDRAINED; CHIO_EINVAL (@k NULL);
 * CHIO_EDEADLK (from the kernel's log sink before it started). On failure
 * nothing is left running and a later call tries again. @err optional.
 */
CHIO_EXTERN int chio_kernel_start(chio_kernel *k, chio_error *err);

/*
 * chio_kernel_sign_receipt - sign and durably commit one receipt; blocks
 * while the in-flight budget (ring_capacity requests) is spent
 * (backpressure) and until the receipt is committed.
 *
 * The kernel sets policy_hash (its configured value), kernel_key,
 * parameter_hash, the id and the signature, and the timestamp from its
 * clock when the builder has none.
 * Returns: 0; CHIO_ESEMANTIC / CHIO_EFORMAT (bad body); CHIO_EDRAINED;
 * CHIO_EFAILED (failed closed); CHIO_ESTORE (this batch's write failed);
 * CHIO_EDEADLK (called from a completion callback: it would wait for its
 * own thread); CHIO_EINVAL (@k, @b or @out NULL); start errors;
 * CHIO_ENOMEM. On any error nothing was committed for the call and *@out
 * is NULL.
 * Ownership: takes @b in every case, errors and a NULL @k included (never
 * free it after this call). Caller frees *out with chio_receipt_free().
 * Thread-safety: call from any number of threads at once, but not from a
 * callback (CHIO_EDEADLK).
 */
CHIO_EXTERN int chio_kernel_sign_receipt(chio_kernel *k, chio_receipt_builder *b,
                                         chio_receipt **out, chio_error *err);

/*
 * chio_kernel_try_sign_receipt - like chio_kernel_sign_receipt() but
 * returns CHIO_EAGAIN at once when it would have to wait for room: the
 * in-flight budget is spent or the ring is full. It still waits for the
 * commit of a request it admitted.
 * Returns: as chio_kernel_sign_receipt(), plus CHIO_EAGAIN (nothing was
 * queued; build the receipt again to retry).
 * Ownership: takes @b in every case, CHIO_EAGAIN included (the kernel
 * keeps no copy, so a retry needs a new builder).
 */
CHIO_EXTERN int chio_kernel_try_sign_receipt(chio_kernel *k, chio_receipt_builder *b,
                                             chio_receipt **out, chio_error *err);

/*
 * Completion of an asynchronous request: called exactly once, on the
 * kernel's completion thread (never on the commit thread, never on the
 * caller's), after the receipt was committed (@rc 0, @receipt set) or with
 * an error (@receipt NULL). Callbacks of one kernel run one at a time. The
 * callback owns @receipt and frees it with chio_receipt_free(). It must
 * not block for long (it holds up every later completion) and must not
 * call chio_kernel_drain() or chio_kernel_free(). It may submit more work
 * asynchronously (chio_kernel_sign_receipt_async, chio_kernel_evaluate_async:
 * they work while the in-flight budget has a credit and fail at once with
 * CHIO_EDEADLK when it is spent, since only this thread returns credits;
 * chio_kernel_evaluate_async then refuses before any check or dispatch,
 * and once it accepted, its receipt's credit is its own, whatever its
 * tool submits); synchronous calls fail at once with CHIO_EDEADLK.
 */
typedef void (*chio_sign_cb)(void *ctx, int rc, chio_receipt *receipt);

/*
 * chio_kernel_sign_receipt_async - queue a receipt and return; @cb reports
 * the outcome. Blocks only while the in-flight budget (ring_capacity
 * requests, counting those not yet completed) is spent.
 * Returns: 0 (the callback will run); or an error, in which case the
 * callback will not run (CHIO_EDRAINED, CHIO_EFAILED, body errors, ...;
 * CHIO_EINVAL for a NULL @k, @b or @cb; CHIO_EDEADLK when called from a
 * callback or the log sink while the budget is spent).
 * Ownership: takes @b in every case; @ctx the caller's, handed to @cb.
 */
CHIO_EXTERN int chio_kernel_sign_receipt_async(chio_kernel *k, chio_receipt_builder *b,
                                               chio_sign_cb cb, void *ctx, chio_error *err);

/*
 * chio_kernel_run_retention - one archiving pass now (retention_config
 * must be enabled): receipts older than retention_days, or the oldest ones
 * while the live log holds more than max_size_bytes, move with their
 * checkpoints to the archive log at archive_path (see chio_store_archive()).
 * The kernel also runs a pass when it starts. Safe while serving.
 * Returns: 0 with @rep filled; CHIO_ECONFIG (retention disabled, or the
 * archive is another log's); CHIO_ECORRUPT (a range the pass would move
 * does not audit clean, a receipt or checkpoint of it missing included:
 * the pass is refused with nothing moved, the message naming the receipt
 * or checkpoint, and the kernel serves on); store errors (a failed write
 * to the live log fails the kernel closed: every later call gets
 * CHIO_EFAILED); CHIO_EDRAINED; CHIO_EINVAL (@k or @rep NULL). Every
 * failed pass is logged as "retention_failed". Ownership: @rep
 * caller-allocated; @err optional.
 */
CHIO_EXTERN int chio_kernel_run_retention(chio_kernel *k, chio_archive_report *rep,
                                          chio_error *err);

/*
 * chio_kernel_drain - stop accepting work (new calls get CHIO_EDRAINED),
 * let calls in flight finish, sign and commit everything queued, write the
 * final checkpoint when a checkpoint boundary was crossed, join the threads
 * and flush the logs. Idempotent; must not be called from a callback.
 * Returns: 0, or CHIO_EFAILED when the kernel had failed closed (queued
 * requests were then answered with errors, none was lost or left waiting);
 * CHIO_EINVAL for a NULL @k;
 * CHIO_EDEADLK, changing nothing, when called from a completion callback,
 * from inside a call on @k (a tool, guard, provider, a provider's list or
 * a nested handler), from @k's log sink or from @k's clock (which runs on
 * the draining thread too), where it would wait for its own thread.
 */
CHIO_EXTERN int chio_kernel_drain(chio_kernel *k, chio_error *err);

/*
 * chio_kernel_free - drain if needed, close the store, wipe and free the
 * keypair. NULL is ignored. Ownership: takes @k; what it owns (the string
 * of chio_kernel_public_hex()) becomes invalid, while receipts, responses
 * and capabilities it returned stay the caller's. No other call may be
 * running on @k, but chio_kernel_drain() on other threads: free waits
 * until each drain under way has returned (none may start after free
 * does). From a callback, the log sink or the clock (where drain says
 * CHIO_EDEADLK) it frees nothing and logs "kernel_free_from_callback"
 * (error; from the sink that line is dropped): the kernel is leaked, not
 * pulled from under the thread running the callback.
 */
CHIO_EXTERN void chio_kernel_free(chio_kernel *k);

/* The kernel's public key (64 lowercase hex digits), owned by @k and valid
 * until chio_kernel_free(); NULL for a NULL @k. Thread-safety: any thread. */
CHIO_EXTERN const char *chio_kernel_public_hex(const chio_kernel *k);

/* ---- observability ------------------------------------------------------------ */

typedef struct chio_kernel_metrics {
    uint64_t receipts_signed; /* committed receipts since start */
    uint64_t batches;         /* group commits */
    uint64_t max_batch;       /* largest group commit */
    double avg_batch;         /* receipts per group commit */
    uint64_t ring_depth;      /* requests waiting in the ring now */
    uint64_t ring_high_water; /* deepest the ring has been */
    uint64_t ring_capacity;
    uint64_t blocking_episodes; /* times a caller waited for a credit or ring space */
    uint64_t wal_syncs;         /* synced WAL writes */
    uint64_t checkpoints;       /* checkpoints written since start */
    uint64_t write_errors;      /* failed store writes */
    uint64_t last_seq;          /* highest committed sequence number */
    uint64_t last_checkpoint_seq;
    uint32_t signer_threads_running;
    int failed;           /* failed closed */
    int draining;         /* drain started */
    uint64_t reserved[8]; /* written as zeros; later counters come from here */
} chio_kernel_metrics;

/* Snapshot of the counters; safe from any thread at any time. Writes every
 * byte of @out (abi.h rule 2). Returns 0 or CHIO_EINVAL (@k or @out NULL).
 * Ownership: @out caller-allocated. */
CHIO_EXTERN int chio_kernel_metrics_get(const chio_kernel *k, chio_kernel_metrics *out);

/*
 * chio_kernel_in_flight - requests holding a credit of the in-flight
 * budget now: queued, being signed, awaiting commit or completion. Never
 * more than ring_capacity. 0 for NULL. Safe from any thread at any time
 * (a snapshot). Also in the Prometheus text as chio_in_flight.
 */
CHIO_EXTERN uint64_t chio_kernel_in_flight(const chio_kernel *k);

/*
 * chio_kernel_metrics_prometheus - the counters in Prometheus text format
 * (chio_signing_queue_block_total keeps upstream's name), NUL-terminated;
 * @len optional. Returns 0, CHIO_EINVAL (@k or @out NULL), CHIO_ENOMEM;
 * *@out is NULL on failure. Thread-safety: any thread, any time.
 * Ownership: caller frees *out with chio_free().
 */
CHIO_EXTERN int chio_kernel_metrics_prometheus(const chio_kernel *k, char **out, size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* CHIO_KERNEL_H */
