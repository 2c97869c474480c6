/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/kernel.c - the kernel's lifecycle.
 *
 * Owns configuration (validated and copied at build), the kernel's clock,
 * the lazy, race-free start (store open, counter restore, threads;
 * chio__kernel_ensure_started), retention, and drain and free. The caller
 * side of signing (prepare on the caller's thread, push on the ring, wait;
 * or, when the pipeline is idle, sign and commit on the caller's thread:
 * signer.c, "caller runs") is in kernel_sign.c.
 *
 * Callers in flight, the credit budget and re-entry checks are in
 * admission.c. start_mu is taken only until the kernel has started.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chio/kernel.h"
#include "kernel_internal.h"

/* ---- configuration ------------------------------------------------------------------- */

void chio_kernel_config_init(chio_kernel_config *cfg)
{
    if (cfg == NULL)
        return;
    memset(cfg, 0, sizeof(*cfg));
    cfg->max_delegation_depth = CHIO_DEFAULT_MAX_DELEGATION_DEPTH;
    cfg->max_stream_duration_secs = CHIO_DEFAULT_MAX_STREAM_DURATION_SECS;
    cfg->max_stream_total_bytes = CHIO_DEFAULT_MAX_STREAM_TOTAL_BYTES;
    cfg->checkpoint_batch_size = CHIO_DEFAULT_CHECKPOINT_BATCH_SIZE;
    cfg->retention_config.retention_days = CHIO_DEFAULT_RETENTION_DAYS;
    cfg->retention_config.max_size_bytes = CHIO_DEFAULT_RETENTION_MAX_SIZE_BYTES;
    cfg->signer_threads = CHIO_DEFAULT_SIGNER_THREADS;
    cfg->ring_capacity = CHIO_DEFAULT_RING_CAPACITY;
    cfg->max_batch = CHIO_DEFAULT_MAX_BATCH;
    cfg->max_argument_bytes = CHIO_DEFAULT_MAX_ARGUMENT_BYTES;
    cfg->durability = CHIO_DURABILITY_SYNC;
    cfg->log_level = CHIO_LOG_INFO;
}

static int bad_config(chio_error *err, const char *field, const char *why)
{
    return chio__fail(err, CHIO_ECONFIG, CHIO_NO_OFFSET, "kernel config: %s %s", field, why);
}

static int check_config(const chio_kernel_config *c, chio_error *err)
{
    size_t i;

    if (c->keypair == NULL)
        return bad_config(err, "keypair", "is required");
    if (c->policy_hash == NULL || c->policy_hash[0] == '\0' ||
        !chio__utf8_valid(c->policy_hash, strlen(c->policy_hash)))
        return bad_config(err, "policy_hash", "is required (non-empty UTF-8)");
    if (c->n_ca_public_keys > 0 && c->ca_public_keys == NULL)
        return bad_config(err, "ca_public_keys", "is NULL but n_ca_public_keys is not 0");
    if (c->n_ca_public_keys > 65536)
        return bad_config(err, "n_ca_public_keys", "is larger than 65536");
    /* A small-order key has no secret behind it: trusting it would let
     * anyone issue capabilities (chio_ed25519_verify refuses it too). */
    for (i = 0; i < c->n_ca_public_keys; i++)
        if (chio__ed25519_small_order(c->ca_public_keys + 32 * i))
            return chio__fail(err, CHIO_ECONFIG, CHIO_NO_OFFSET,
                              "kernel config: ca_public_keys[%zu] is a small-order point, which "
                              "anyone can sign for; it cannot be a trusted issuer",
                              i);
    if (c->receipt_store_path == NULL && !c->ephemeral_store)
        return bad_config(err, "receipt_store_path",
                          "is NULL: set a path, or ephemeral_store = 1 for an in-memory log");
    if (c->receipt_store_path != NULL && (c->ephemeral_store || c->receipt_store_path[0] == '\0'))
        return bad_config(err, "receipt_store_path",
                          "must be a non-empty path and excludes ephemeral_store");
    if (c->signer_threads < 1 || c->signer_threads > 64)
        return bad_config(err, "signer_threads", "must be between 1 and 64");
    if (c->ring_capacity < 2 || c->ring_capacity > (1u << 24) ||
        (c->ring_capacity & (c->ring_capacity - 1)) != 0)
        return bad_config(err, "ring_capacity", "must be a power of two between 2 and 2^24");
    if (c->max_batch < 1 || c->max_batch > 65536)
        return bad_config(err, "max_batch", "must be between 1 and 65536");
    if (c->max_argument_bytes < 1 || c->max_argument_bytes > ((uint64_t)63 << 20))
        return bad_config(err, "max_argument_bytes", "must be between 1 and 63 MiB");
    if (c->durability != CHIO_DURABILITY_SYNC && c->durability != CHIO_DURABILITY_NOSYNC)
        return bad_config(err, "durability", "must be CHIO_DURABILITY_SYNC or _NOSYNC");
    if (c->log_level < CHIO_LOG_DEBUG || c->log_level > CHIO_LOG_ERROR)
        return bad_config(err, "log_level", "is out of range");
    if (c->retention_config.enabled && c->retention_config.retention_days == 0 &&
        c->retention_config.max_size_bytes == 0)
        return bad_config(err, "retention_config", "is enabled with neither days nor size");
    if (c->retention_config.enabled &&
        (c->retention_config.archive_path == NULL || c->retention_config.archive_path[0] == '\0'))
        return bad_config(err, "retention_config.archive_path",
                          "is required: old receipts move to an archive, never just away");
    if (c->retention_config.enabled && c->receipt_store_path == NULL)
        return bad_config(err, "retention_config", "needs a durable receipt_store_path");
    if (c->retention_config.enabled && c->receipt_store_path != NULL &&
        strcmp(c->retention_config.archive_path, c->receipt_store_path) == 0)
        return bad_config(err, "retention_config.archive_path",
                          "must differ from receipt_store_path");
    if (c->checkpoint_batch_size > CHIO_MAX_CHECKPOINT_BATCH_SIZE)
        return bad_config(err, "checkpoint_batch_size",
                          "must be at most 2^20 (CHIO_MAX_CHECKPOINT_BATCH_SIZE)");
    if (c->signer_priority < -20 || c->signer_priority > 19)
        return bad_config(err, "signer_priority", "must be a nice value between -20 and 19");
    if (c->signer_realtime < 0 || c->signer_realtime > 99)
        return bad_config(err, "signer_realtime",
                          "must be 0 (off) or a SCHED_FIFO priority between 1 and 99");
    if (c->reserved_int != 0)
        return bad_config(err, "reserved_int", "must be zero");
    /* require_web3_evidence without a durable store or checkpoints is
     * accepted here: the spec has evaluation fail, not construction. */
    for (i = 0; i < sizeof(c->reserved) / sizeof(c->reserved[0]); i++)
        if (c->reserved[i] != NULL)
            return bad_config(err, "reserved", "fields must be zero");
    return 0;
}

/* New fields come out of the reserved space: the ABI size never changes. */
_Static_assert(sizeof(void *) != 8 || sizeof(chio_kernel_config) == 248,
               "chio_kernel_config changed size");

int chio_kernel_new(const chio_kernel_config *cfg, chio_kernel **out, chio_error *err)
{
    chio_kernel *k;
    int rc;

    if (out != NULL) /* set on every failure, the NULL-argument ones included */
        *out = NULL;
    if (out == NULL || cfg == NULL) {
        if (cfg != NULL)
            chio_keypair_free(cfg->keypair);
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL config or out");
    }
    rc = check_config(cfg, err);
    if (rc != 0) {
        chio_keypair_free(cfg->keypair);
        return rc;
    }
    if (cfg->lock_key_memory) {
        rc = chio_keypair_lock_memory(cfg->keypair, err);
        if (rc != 0) {
            chio_keypair_free(cfg->keypair);
            return rc;
        }
    }
    k = calloc(1, sizeof(*k));
    if (k == NULL) {
        chio_keypair_free(cfg->keypair);
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
    k->kp = cfg->keypair;
    k->policy_hash = strdup(cfg->policy_hash);
    if (cfg->n_ca_public_keys > 0) {
        k->ca_keys = malloc(32 * cfg->n_ca_public_keys);
        if (k->ca_keys != NULL)
            memcpy(k->ca_keys, cfg->ca_public_keys, 32 * cfg->n_ca_public_keys);
        k->n_ca_keys = cfg->n_ca_public_keys;
    }
    k->max_delegation_depth = cfg->max_delegation_depth;
    k->allow_sampling = cfg->allow_sampling;
    k->allow_sampling_tool_use = cfg->allow_sampling_tool_use;
    k->allow_elicitation = cfg->allow_elicitation;
    k->max_stream_duration_secs = cfg->max_stream_duration_secs;
    k->max_stream_total_bytes = cfg->max_stream_total_bytes;
    k->require_web3_evidence = cfg->require_web3_evidence;
    k->checkpoint_batch_size = cfg->checkpoint_batch_size;
    k->retention = cfg->retention_config;
    k->retention.archive_path = NULL;
    if (cfg->retention_config.archive_path != NULL)
        k->retention.archive_path = strdup(cfg->retention_config.archive_path);
    k->store_path = cfg->receipt_store_path ? strdup(cfg->receipt_store_path) : NULL;
    k->signer_threads = cfg->signer_threads;
    k->signer_priority = cfg->signer_priority;
    k->signer_realtime = cfg->signer_realtime;
    k->ring_capacity = cfg->ring_capacity;
    k->max_batch = cfg->max_batch;
    k->max_argument_bytes = cfg->max_argument_bytes;
    k->durability = cfg->durability;
    k->clock = cfg->clock;
    k->clock_ctx = cfg->clock_ctx;
    k->log = cfg->log;
    k->log_ctx = cfg->log_ctx;
    k->log_level = cfg->log_level;
    k->inflight_max = cfg->ring_capacity;
    pthread_mutex_init(&k->start_mu, NULL);
    pthread_mutex_init(&k->log_mu, NULL);
    pthread_mutex_init(&k->revoke_mu, NULL);
    pthread_mutex_init(&k->bw_mu, NULL);
    pthread_cond_init(&k->bw_cv, NULL);
    k->max_revocations = CHIO__MAX_REVOCATIONS;
    pthread_mutex_init(&k->commit_mu, NULL);
    pthread_cond_init(&k->commit_cv, NULL);
    pthread_mutex_init(&k->done_mu, NULL);
    pthread_cond_init(&k->done_cv, NULL);
    pthread_mutex_init(&k->cp_mu, NULL);
    {
        /* Monotonic: the checkpoint thread's retry pause (checkpointer.c)
         * must not sleep on through a wall clock stepped back. */
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&k->cp_cv, &ca);
        pthread_condattr_destroy(&ca);
    }
    if (chio__mediation_init(k) != 0 || k->policy_hash == NULL ||
        (cfg->n_ca_public_keys > 0 && k->ca_keys == NULL) ||
        (cfg->receipt_store_path != NULL && k->store_path == NULL) ||
        (cfg->retention_config.archive_path != NULL && k->retention.archive_path == NULL)) {
        chio_kernel_free(k);
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
    *out = k;
    return 0;
}

const char *chio_kernel_public_hex(const chio_kernel *k)
{
    return k ? chio_keypair_public_hex(k->kp) : NULL;
}

/* The kernels whose clocks this thread is running, innermost first (the
 * frames live on the stack of chio__kernel_now). The clock runs wherever
 * the kernel needs the time: on the thread draining the kernel (drain's
 * log lines), under the start lock, under the revocation lock, in the
 * commit stage. A clock that called into its kernel from there would wait
 * for its own thread, so such calls are refused (chio__kernel_in_clock;
 * kernel.h, chio_clock_fn), also through the clocks of other kernels: A's
 * clock calling B, whose clock calls A. Before, only the innermost clock
 * was remembered, and that call relocked the revocation mutex A's revoke
 * held around A's clock (bindings/cpp/test_rev46_bindings.cpp). */
typedef struct clock_frame {
    const chio_kernel *k;
    const struct clock_frame *up;
} clock_frame;

static _Thread_local const clock_frame *clocking;

uint64_t chio__kernel_now(chio_kernel *k)
{
    clock_frame frame;
    uint64_t now;

    if (k->clock == NULL)
        return (uint64_t)time(NULL);
    frame.k = k;
    frame.up = clocking; /* the clocks of other kernels */
    clocking = &frame;
    now = k->clock(k->clock_ctx);
    clocking = frame.up;
    return now;
}

int chio__kernel_in_clock(const chio_kernel *k)
{
    const clock_frame *f;

    for (f = clocking; f != NULL; f = f->up)
        if (f->k == k)
            return 1;
    return 0;
}

const char chio__clock_refusal[] =
    "a kernel call from the kernel's own clock would wait for the thread running the clock "
    "(it runs while the kernel drains, starts, revokes and commits); the clock must not call "
    "into its kernel";

const char *chio__kernel_enter_refusal(int rc)
{
    return rc == CHIO_EDEADLK ? chio__clock_refusal : "kernel is draining or drained";
}

chio_store *chio__kernel_store(chio_kernel *k)
{
    return k->store;
}

/* ---- start --------------------------------------------------------------------------------- */

/* One archiving pass over the live store (retention_config). */
static int retention_pass(chio_kernel *k, chio_archive_report *rep, chio_error *err)
{
    uint64_t now = chio__kernel_now(k), older_than = 0, days = k->retention.retention_days;
    chio_error local;
    int rc;

    chio_error_init(&local);
    if (err == NULL) /* optional for chio_kernel_run_retention(); the log names the failure */
        err = &local;
    if (days > 0 && now > days * 86400u)
        older_than = now - days * 86400u;
    rc = chio_store_archive(k->store, k->retention.archive_path, older_than,
                            k->retention.max_size_bytes, k->checkpoint_batch_size > 0, rep, err);
    if (rc == 0 && rep->receipts_moved > 0)
        chio__log(k, CHIO_LOG_INFO, "receipts_archived", NULL,
                  "\"receipts\":%llu,\"checkpoints\":%llu,\"first_seq\":%llu,\"last_seq\":%llu",
                  (unsigned long long)rep->receipts_moved,
                  (unsigned long long)rep->checkpoints_moved, (unsigned long long)rep->first_seq,
                  (unsigned long long)rep->last_seq);
    /* Logged on every pass, at start and on chio_kernel_run_retention(),
     * as operations.md says (before review 22 store F1 only the pass at
     * start was). */
    if (rc != 0)
        chio__log(k, CHIO_LOG_ERROR, "retention_failed", err->message, NULL);
    return rc;
}

/* A failed start is logged at error at most once a second (with how many
 * were logged at debug only since), the others at debug: every call
 * tries the start again, and a store that cannot open turned each call
 * into an error line (review 19: 172k lines in 0.3 s). Under start_mu. */
static void log_start_failed(chio_kernel *k, int rc, const chio_error *err)
{
    struct timespec ts;
    uint64_t sec;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    sec = (uint64_t)ts.tv_sec + 1; /* 0 = never logged */
    if (k->start_log_sec == sec) {
        k->start_log_skipped++;
        chio__log(k, CHIO_LOG_DEBUG, "kernel_start_failed", err ? err->message : NULL,
                  "\"code\":\"%s\"", chio_errno_name(rc));
        return;
    }
    k->start_log_sec = sec;
    chio__log(k, CHIO_LOG_ERROR, "kernel_start_failed", err ? err->message : NULL,
              "\"code\":\"%s\",\"failures_not_logged\":%llu", chio_errno_name(rc),
              (unsigned long long)k->start_log_skipped);
    k->start_log_skipped = 0;
}

static int start_locked(chio_kernel *k, chio_error *err)
{
    int rc;

    if (k->store_path != NULL)
        rc = chio_store_open(k->store_path, CHIO_STORE_READ_WRITE, &k->store, err);
    else
        rc = chio__store_open_ephemeral(&k->store, err);
    /* Pin the store to this kernel's key (a new or legacy store gets its
     * signed key record; one pinned to another key is refused), then
     * restore the sequence, checkpoint and hash chain state, the
     * revocations and the spent budgets, all before any call is admitted. */
    if (rc == 0)
        rc = chio__store_pin_key(k->store, k->kp, chio__kernel_now(k), &k->chain_from, err);
    if (rc == 0)
        rc = chio__commit_restore(k, err);
    if (rc == 0) /* the floor a kernel before us left (revocation.c) */
        chio__expired_floor_raise(k, chio__store_expired_floor(k->store));
    if (rc == 0)
        rc = chio__revocations_load(k, err);
    if (rc == 0)
        rc = chio__budgets_load(k, err);
    if (rc == 0)
        rc = chio__pipeline_start(k, err);
    if (rc != 0) {
        chio_store_close(k->store);
        k->store = NULL;
        chio__store_batch_free(k->batch);
        k->batch = NULL;
        free(k->slots);
        k->slots = NULL;
        free(k->signers);
        k->signers = NULL;
        free(k->pending_leaves);
        k->pending_leaves = NULL;
        k->npending = k->cap_pending = 0;
        log_start_failed(k, rc, err);
        return rc;
    }
    if (k->retention.enabled) {
        /* Archive at start; a failure is logged and the kernel still runs
         * (nothing is deleted before it is safely archived). */
        chio_archive_report rep;
        chio_error rerr;
        chio_error_init(&rerr);
        (void)retention_pass(k, &rep, &rerr); /* logged there (retention_failed) */
    }
    chio__log(k, CHIO_LOG_INFO, "kernel_started", NULL,
              "\"signer_threads\":%u,\"ring_capacity\":%u,\"durability\":\"%s\","
              "\"next_seq\":%llu,\"ephemeral\":%s",
              k->signer_threads, k->ring_capacity,
              k->durability == CHIO_DURABILITY_SYNC ? "sync" : "nosync",
              (unsigned long long)k->next_seq, k->store_path ? "false" : "true");
    return 0;
}

static int ensure_started(chio_kernel *k, chio_error *err)
{
    int rc = 0;

    /* Acquire: a caller that sees started == 1 sees the queue and store
     * set up by the starting thread (release store below). */
    if (__atomic_load_n(&k->started, __ATOMIC_ACQUIRE))
        return 0;
    /* A log sink may run under start_mu (kernel_started is logged there):
     * starting from it would take that lock again. */
    if (chio__log_in_sink(k))
        return chio__fail(err, CHIO_EDEADLK, CHIO_NO_OFFSET,
                          "starting the kernel from its own log sink would wait for the sink's "
                          "thread; hand the event to a thread of the host's");
    pthread_mutex_lock(&k->start_mu);
    if (!__atomic_load_n(&k->started, __ATOMIC_ACQUIRE)) {
        rc = start_locked(k, err);
        if (rc == 0)
            __atomic_store_n(&k->started, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&k->start_mu);
    if (rc == 0) /* a host that only signs hears it too (once per kernel) */
        chio__kernel_check_key_memory(k);
    return rc;
}

int chio_kernel_run_retention(chio_kernel *k, chio_archive_report *rep, chio_error *err)
{
    int rc;

    if (k == NULL || rep == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL kernel or report");
    memset(rep, 0, sizeof(*rep));
    if (!k->retention.enabled)
        return chio__fail(err, CHIO_ECONFIG, CHIO_NO_OFFSET, "retention_config is not enabled");
    rc = chio__kernel_enter(k);
    if (rc != 0)
        return chio__fail(err, rc, CHIO_NO_OFFSET, "%s", chio__kernel_enter_refusal(rc));
    rc = ensure_started(k, err);
    if (rc == 0)
        rc = retention_pass(k, rep, err);
    chio__kernel_leave(k);
    return rc;
}

int chio_kernel_start(chio_kernel *k, chio_error *err)
{
    int rc;

    if (k == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL kernel");
    rc = chio__kernel_enter(k);
    if (rc != 0)
        return chio__fail(err, rc, CHIO_NO_OFFSET, "%s", chio__kernel_enter_refusal(rc));
    rc = ensure_started(k, err);
    chio__kernel_leave(k);
    return rc;
}

int chio__kernel_ensure_started(chio_kernel *k, chio_error *err)
{
    return ensure_started(k, err);
}

/* ---- drain and free
 * ------------------------------------------------------------------------------ */

/* Drain, counted in k->drainers by the caller. */
static int drain_counted(chio_kernel *k, chio_error *err)
{
    int expected = KSTATE_RUNNING, failed;
    struct timespec nap = {0, 100000};

    /* From a callback drain would wait for the calling thread: the
     * completion thread cannot join itself (it would be left running, and
     * a later free would pull the kernel from under it), a tool, guard
     * or provider runs inside a call drain waits for, a log sink holds
     * the log_mu drain flushes under (on a kernel thread, one drain
     * joins), and the clock runs on the draining thread itself (drain's
     * log lines read it), where a second drain would wait for the first.
     * Refused before the state changes: the kernel serves on. */
    if (chio__kernel_on_own_thread(k) || chio__kernel_inside(k) || chio__log_in_sink(k) ||
        chio__kernel_in_clock(k))
        return chio__fail(err, CHIO_EDEADLK, CHIO_NO_OFFSET,
                          "chio_kernel_drain from a kernel callback, clock or log sink would "
                          "wait for its own thread; drain from another thread");
    if (!__atomic_compare_exchange_n(&k->state, &expected, KSTATE_DRAINING, 0, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST)) {
        /* Someone else drains: wait for them. */
        while (__atomic_load_n(&k->state, __ATOMIC_SEQ_CST) != KSTATE_DRAINED)
            nanosleep(&nap, NULL);
        goto done;
    }
    chio__log(k, CHIO_LOG_INFO, "kernel_draining", NULL, NULL);
    /* Every caller that saw RUNNING finishes its push (see chio__kernel_enter, admission.c). */
    while (chio__kernel_callers_in_flight(k))
        nanosleep(&nap, NULL);
    /* Signers empty the ring and the commit thread commits it; the commit
     * thread exits only once every checkpoint cut has been signed (on the
     * checkpoint thread) and written, so after the stop no crossed
     * boundary lacks its checkpoint. */
    if (__atomic_load_n(&k->started, __ATOMIC_ACQUIRE)) {
        chio__pipeline_stop(k);
        chio__kernel_flush_mark(k);
    }
    chio__log(k, CHIO_LOG_INFO, "kernel_drained", NULL,
              "\"receipts_signed\":%llu,\"last_seq\":%llu,\"checkpoints\":%llu,\"failed\":%s",
              (unsigned long long)__atomic_load_n(&k->m_signed, __ATOMIC_RELAXED),
              (unsigned long long)__atomic_load_n(&k->m_last_seq, __ATOMIC_RELAXED),
              (unsigned long long)__atomic_load_n(&k->m_checkpoints, __ATOMIC_RELAXED),
              __atomic_load_n(&k->failed, __ATOMIC_SEQ_CST) ? "true" : "false");
    chio__log_flush(k);
    /* Read before publishing DRAINED (free also waits for this call to
     * return, k->drainers, but nothing here needs @k after the store). */
    failed = __atomic_load_n(&k->failed, __ATOMIC_SEQ_CST);
    __atomic_store_n(&k->state, KSTATE_DRAINED, __ATOMIC_SEQ_CST);
    goto out;
done:
    failed = __atomic_load_n(&k->failed, __ATOMIC_SEQ_CST);
out:
    if (failed)
        return chio__fail(err, CHIO_EFAILED, CHIO_NO_OFFSET,
                          "kernel had failed closed; requests after the failure got errors");
    return 0;
}

/*
 * Drain and free. Drain is idempotent: a second caller waits, reading
 * k->state, until the first has drained. chio_kernel_free() drains too and
 * so may see the kernel drained while another drain still waits; it frees
 * only once every drain call under way has returned (k->drainers), or that
 * drain would read freed memory. The count's decrement is each drain's
 * last access to @k; a drain begun after free returned is the host's
 * use after free.
 */
int chio_kernel_drain(chio_kernel *k, chio_error *err)
{
    int rc;

    if (k == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL kernel");
    /* seq_cst: free's read of zero comes after this drain's last access. */
    __atomic_add_fetch(&k->drainers, 1, __ATOMIC_SEQ_CST);
    rc = drain_counted(k, err);
    __atomic_sub_fetch(&k->drainers, 1, __ATOMIC_SEQ_CST);
    return rc;
}

void chio_kernel_free(chio_kernel *k)
{
    struct timespec nap = {0, 100000};

    if (k == NULL)
        return;
    if (chio_kernel_drain(k, NULL) == CHIO_EDEADLK) {
        /* From a callback: freeing would pull the kernel from under the
         * thread running it. Leak it rather than crash (kernel.h). */
        chio__log(k, CHIO_LOG_ERROR, "kernel_free_from_callback",
                  "chio_kernel_free called from a kernel callback; the kernel is not freed", NULL);
        return;
    }
    /* Other drains still waiting on the one that finished (see above). */
    while (__atomic_load_n(&k->drainers, __ATOMIC_SEQ_CST) != 0)
        nanosleep(&nap, NULL);
    chio__mediation_destroy(k);
    chio_store_close(k->store);
    chio__store_batch_free(k->batch);
    chio__store_batch_free(k->bw_batch);
    free(k->slots);
    free(k->signers);
    free(k->pending_leaves);
    chio_keypair_free(k->kp);
    free(k->policy_hash);
    free(k->ca_keys);
    free((char *)k->retention.archive_path);
    free(k->store_path);
    pthread_mutex_destroy(&k->start_mu);
    pthread_mutex_destroy(&k->log_mu);
    pthread_mutex_destroy(&k->revoke_mu);
    pthread_mutex_destroy(&k->bw_mu);
    pthread_cond_destroy(&k->bw_cv);
    pthread_mutex_destroy(&k->commit_mu);
    pthread_cond_destroy(&k->commit_cv);
    pthread_mutex_destroy(&k->done_mu);
    pthread_cond_destroy(&k->done_cv);
    pthread_mutex_destroy(&k->cp_mu);
    pthread_cond_destroy(&k->cp_cv);
    free(k);
}
