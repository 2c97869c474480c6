/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/kernel.c - the kernel's lifecycle and its signing entry points.
 *
 * Owns configuration (validated and copied at build), the lazy, race-free
 * start (store open, counter restore, threads), the caller side of signing
 * (prepare on the caller's thread, push on the ring, wait; or, when the
 * pipeline is idle, sign and commit on the caller's thread: signer.c,
 * "caller runs") and drain.
 *
 * Concurrency: callers announce themselves in active_callers (a sharded
 * count) before they look at the state, and leave after their push; drain
 * flips the state and waits for every shard to read zero, so every request is either
 * refused with CHIO_EDRAINED or queued before the signers are told to stop
 * (a Dekker pair: both sides use sequentially consistent atomics).
 * start_mu is taken only until the kernel has started.
 *
 * Backpressure: one credit budget (inflight_max = ring_capacity) covers
 * every request between its prepare and its completion: waiting in the
 * ring, signed but not committed, committed but not yet completed. A
 * submitter takes a credit with one CAS before it prepares (so the
 * prepared bytes are bounded too) and sleeps on the `credit` event only
 * when the budget is spent; the thread that completes a request returns
 * its credit (signer.c). A synchronous call from the completion thread
 * would wait for that very thread, so it fails at once with CHIO_EDEADLK.
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
    if (c->signer_priority < -20 || c->signer_priority > 19)
        return bad_config(err, "signer_priority", "must be a nice value between -20 and 19");
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

    if (out == NULL || cfg == NULL) {
        if (cfg != NULL)
            chio_keypair_free(cfg->keypair);
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL config or out");
    }
    *out = NULL;
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
    k->max_revocations = CHIO__MAX_REVOCATIONS;
    pthread_mutex_init(&k->commit_mu, NULL);
    pthread_cond_init(&k->commit_cv, NULL);
    pthread_mutex_init(&k->done_mu, NULL);
    pthread_cond_init(&k->done_cv, NULL);
    pthread_mutex_init(&k->cp_mu, NULL);
    pthread_cond_init(&k->cp_cv, NULL);
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

uint64_t chio__kernel_now(chio_kernel *k)
{
    return k->clock ? k->clock(k->clock_ctx) : (uint64_t)time(NULL);
}

chio_store *chio__kernel_store(chio_kernel *k)
{
    return k->store;
}

/* ---- callers in flight ----------------------------------------------------------------- */

/* This thread's shard of active_callers: given out round-robin at a
 * thread's first call, then fixed, so a caller leaves the shard it
 * entered (for every kernel: the index only spreads the writes). */
static __thread unsigned caller_shard = UINT_MAX;
static unsigned next_caller_shard;

/*
 * The kernels this thread is inside now (entered and not yet left), with
 * how many times: a tool, guard, provider or nested handler runs inside
 * its call's enter, so chio_kernel_drain() from there would wait for its
 * own thread forever (callers_in_flight() never reads zero). Drain checks
 * this and refuses instead. A few slots: a thread inside more kernels at
 * once than that is not tracked for the extra ones (drain from there
 * still hangs, as before); it is never wrongly refused, since enter and
 * leave pair on one thread, last in first out.
 */
#define INSIDE_SLOTS 4
static _Thread_local struct {
    const chio_kernel *k;
    unsigned n;
} inside[INSIDE_SLOTS];

static void inside_add(const chio_kernel *k)
{
    unsigned i, free_slot = INSIDE_SLOTS;

    for (i = 0; i < INSIDE_SLOTS; i++) {
        if (inside[i].n > 0 && inside[i].k == k) {
            inside[i].n++;
            return;
        }
        if (inside[i].n == 0 && free_slot == INSIDE_SLOTS)
            free_slot = i;
    }
    if (free_slot < INSIDE_SLOTS) {
        inside[free_slot].k = k;
        inside[free_slot].n = 1;
    }
}

static void inside_drop(const chio_kernel *k)
{
    unsigned i;

    for (i = 0; i < INSIDE_SLOTS; i++)
        if (inside[i].n > 0 && inside[i].k == k) {
            inside[i].n--;
            return;
        }
}

static int inside_now(const chio_kernel *k)
{
    unsigned i;

    for (i = 0; i < INSIDE_SLOTS; i++)
        if (inside[i].n > 0 && inside[i].k == k)
            return 1;
    return 0;
}

static uint32_t *my_shard(chio_kernel *k)
{
    if (caller_shard == UINT_MAX) /* relaxed: only spreads threads */
        caller_shard =
            __atomic_fetch_add(&next_caller_shard, 1, __ATOMIC_RELAXED) % CHIO__CALLER_SHARDS;
    return &k->active_callers[caller_shard].n;
}

/* Announce a caller; 0 when the kernel still accepts work. */
static int enter(chio_kernel *k)
{
    uint32_t *n = my_shard(k);

    /* seq_cst on both sides (see the file comment): drain's state store and
     * its read of this shard cannot both miss this caller. */
    __atomic_add_fetch(n, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&k->state, __ATOMIC_SEQ_CST) != KSTATE_RUNNING) {
        __atomic_sub_fetch(n, 1, __ATOMIC_SEQ_CST);
        return CHIO_EDRAINED;
    }
    inside_add(k);
    return 0;
}

static void leave(chio_kernel *k)
{
    inside_drop(k);
    __atomic_sub_fetch(my_shard(k), 1, __ATOMIC_SEQ_CST);
}

/* Drain's side: callers still between their state check and their push.
 * A caller that enters a shard after this read of it comes after drain's
 * state store in the single seq_cst order, sees DRAINING and backs out
 * without pushing; so one pass that reads every shard as zero means none
 * will push. */
static int callers_in_flight(chio_kernel *k)
{
    unsigned i;

    for (i = 0; i < CHIO__CALLER_SHARDS; i++)
        if (__atomic_load_n(&k->active_callers[i].n, __ATOMIC_SEQ_CST) != 0)
            return 1;
    return 0;
}

/* ---- the credit budget ------------------------------------------------------------------ */

static void note_inflight(chio_kernel *k, uint32_t used)
{
    uint32_t seen = __atomic_load_n(&k->inflight_high, __ATOMIC_RELAXED);

    /* Relaxed: a statistic; the CAS only keeps it monotonic. */
    while (used > seen && !__atomic_compare_exchange_n(&k->inflight_high, &seen, used, 1,
                                                       __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

/*
 * Take one credit. With @block, sleep while the budget is spent; without,
 * return CHIO_EAGAIN. On @k's completion thread a wait could never end
 * (only that thread returns the credits of completed requests), so there
 * it returns CHIO_EDEADLK instead of sleeping.
 */
static int credit_take(chio_kernel *k, int block)
{
    uint32_t used = __atomic_load_n(&k->inflight, __ATOMIC_RELAXED), key;
    int counted = 0;

    for (;;) {
        /* seq_cst CAS (on x86 every locked RMW is a full barrier anyway):
         * in the slow path below it is the waiter's recheck of the event
         * protocol, ordered after chio__event_prepare and against the
         * releaser's decrement (chio__credits_release). No data is
         * published through the counter, so the failure order is relaxed. */
        while (used < k->inflight_max)
            if (__atomic_compare_exchange_n(&k->inflight, &used, used + 1, 1, __ATOMIC_SEQ_CST,
                                            __ATOMIC_RELAXED)) {
                note_inflight(k, used + 1);
                return 0;
            }
        if (!block)
            return CHIO_EAGAIN;
        if (chio__kernel_on_completer(k))
            return CHIO_EDEADLK;
        if (!counted) {
            counted = 1; /* one episode however long it lasts */
            __atomic_add_fetch(&k->queue.blocked, 1, __ATOMIC_RELAXED);
        }
        key = chio__event_prepare(&k->credit);
        /* seq_cst: the recheck after announcing ourselves (event.h). */
        used = __atomic_load_n(&k->inflight, __ATOMIC_SEQ_CST);
        if (used < k->inflight_max) {
            chio__event_cancel(&k->credit);
            continue;
        }
        chio__event_wait(&k->credit, key);
        used = __atomic_load_n(&k->inflight, __ATOMIC_RELAXED);
    }
}

/* A credit this thread took ahead for its next asynchronous request
 * (chio__kernel_credit_reserve; only completion threads reserve). */
static _Thread_local const chio_kernel *reserved_credit;

int chio__kernel_credit_reserve(chio_kernel *k, chio_error *err)
{
    int rc;

    if (reserved_credit == k)
        return 0;
    rc = credit_take(k, 1);
    if (rc != 0)
        return chio__fail(err, rc, CHIO_NO_OFFSET,
                          "the in-flight budget is spent and only this completion thread "
                          "can return credits; submit from another thread");
    reserved_credit = k;
    return 0;
}

void chio__kernel_credit_unreserve(chio_kernel *k)
{
    if (reserved_credit != k)
        return; /* none, or the request took it */
    reserved_credit = NULL;
    chio__credits_release(k, 1);
}

void chio__credits_release(chio_kernel *k, uint32_t n)
{
    if (n == 0)
        return;
    /* seq_cst: the decrement is ordered before our read of the waiter
     * count in chio__event_signal_waiting, so a submitter either sees the
     * credit on its recheck or is seen waiting and woken (event.h). */
    __atomic_sub_fetch(&k->inflight, n, __ATOMIC_SEQ_CST);
    chio__event_signal_waiting(&k->credit, (int)n);
}

uint64_t chio_kernel_in_flight(const chio_kernel *k)
{
    /* Relaxed: a gauge, read at any time. */
    return k ? __atomic_load_n(&k->inflight, __ATOMIC_RELAXED) : 0;
}

uint32_t chio__kernel_in_flight_high_water(const chio_kernel *k)
{
    return __atomic_load_n(&k->inflight_high, __ATOMIC_RELAXED);
}

int chio__kernel_refuse_reentry(const chio_kernel *k, chio_error *err)
{
    if (!chio__kernel_on_completer(k))
        return 0;
    return chio__fail(err, CHIO_EDEADLK, CHIO_NO_OFFSET,
                      "a synchronous kernel call from a completion callback would wait for the "
                      "callback's own thread; use the asynchronous call");
}

/* ---- start --------------------------------------------------------------------------------- */

/* One archiving pass over the live store (retention_config). */
static int retention_pass(chio_kernel *k, chio_archive_report *rep, chio_error *err)
{
    uint64_t now = chio__kernel_now(k), older_than = 0, days = k->retention.retention_days;
    int rc;

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
    return rc;
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
        chio__log(k, CHIO_LOG_ERROR, "kernel_start_failed", err ? err->message : NULL,
                  "\"code\":\"%s\"", chio_errno_name(rc));
        return rc;
    }
    if (k->retention.enabled) {
        /* Archive at start; a failure is logged and the kernel still runs
         * (nothing is deleted before it is safely archived). */
        chio_archive_report rep;
        chio_error rerr;
        chio_error_init(&rerr);
        if (retention_pass(k, &rep, &rerr) != 0)
            chio__log(k, CHIO_LOG_ERROR, "retention_failed", rerr.message, NULL);
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
    rc = enter(k);
    if (rc != 0)
        return chio__fail(err, rc, CHIO_NO_OFFSET, "kernel is draining or drained");
    rc = ensure_started(k, err);
    if (rc == 0)
        rc = retention_pass(k, rep, err);
    leave(k);
    return rc;
}

int chio_kernel_start(chio_kernel *k, chio_error *err)
{
    int rc;

    if (k == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL kernel");
    rc = enter(k);
    if (rc != 0)
        return chio__fail(err, rc, CHIO_NO_OFFSET, "kernel is draining or drained");
    rc = ensure_started(k, err);
    leave(k);
    return rc;
}

/* ---- signing ----------------------------------------------------------------------------------
 */

/*
 * Queue one request. @req is the caller's (stack for sync, heap for
 * async). Takes @b. On 0 the request is on its way and will be completed;
 * on error nothing was queued and @req->prep is empty.
 */
/* Drop what a request was to be made from (a builder or the fields'
 * owned parameters) when it is refused before its prepare. */
static void discard(chio_receipt_builder *b, chio__receipt_fields *f)
{
    chio_receipt_builder_free(b);
    if (f != NULL) {
        free(f->params_owned);
        f->params_owned = NULL;
    }
}

static int submit(chio_kernel *k, chio_receipt_builder *b, chio__receipt_fields *f, int block,
                  int entered, const chio__charge *charge, chio__sign_req *req, chio_error *err)
{
    int rc, is_sync;

    memset(&req->prep, 0, sizeof(req->prep));
    req->charge.keylen = 0;
    if (charge != NULL && charge->keylen > 0)
        req->charge = *charge;
    rc = entered ? 0 : enter(k);
    if (rc != 0) {
        discard(b, f);
        return chio__fail(err, rc, CHIO_NO_OFFSET, "kernel is draining or drained");
    }
    rc = ensure_started(k, err);
    if (rc == 0 && __atomic_load_n(&k->failed, __ATOMIC_SEQ_CST))
        rc = chio__fail(err, CHIO_EFAILED, CHIO_NO_OFFSET,
                        "kernel failed closed after a receipt store error; reopen it");
    if (rc == 0 && reserved_credit == k && req->cb != NULL) {
        reserved_credit = NULL; /* the credit reserved ahead is this request's */
    } else if (rc == 0) {
        rc = credit_take(k, block);
        if (rc == CHIO_EAGAIN)
            rc = chio__fail(err, rc, CHIO_NO_OFFSET, "the kernel's in-flight budget is spent");
        else if (rc != 0)
            rc = chio__fail(err, rc, CHIO_NO_OFFSET,
                            "the in-flight budget is spent and only this completion thread "
                            "can return credits; submit from another thread");
    }
    if (rc != 0) {
        if (!entered)
            leave(k);
        discard(b, f);
        return rc;
    }
    /* The expensive canonical work happens here, on the caller's thread. */
    if (f != NULL)
        rc = chio__receipt_prepare_fields(f, chio_keypair_public_hex(k->kp), k->policy_hash,
                                          &req->prep, err);
    else
        rc = chio__receipt_prepare(b, chio_keypair_public_hex(k->kp), k->policy_hash,
                                   chio__kernel_now(k), &req->prep, err);
    if (rc != 0) {
        chio__credits_release(k, 1);
        if (!entered)
            leave(k);
        return rc;
    }
    req->rc = 0;
    req->seq = 0;
    req->next = NULL;
    is_sync = req->cb == NULL; /* read before the request is published */
    /* Release: publishes the prepared request to the signer that pops it
     * (ck_ring's own fences do this too, but ThreadSanitizer cannot see
     * them). An asynchronous request may be freed by the completion thread
     * from then on. */
    __atomic_store_n(&req->done, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&req->published, 1, __ATOMIC_RELEASE);
    /* A synchronous request finding the pipeline idle runs on this thread
     * (signer.c, "caller runs"); still entered, so drain waits for it. */
    if (is_sync) {
        int ran = chio__sign_on_caller(k, req);
        if (ran == CHIO__RAN_INLINE)
            __atomic_store_n(&req->done, 1, __ATOMIC_RELAXED); /* our own thread */
        if (ran != 0) {
            if (!entered)
                leave(k);
            return 0;
        }
    }
    rc = chio__queue_push_mpmc(&k->queue, req, block);
    if (rc != 0)
        chio__credits_release(k, 1);
    if (!entered)
        leave(k);
    if (rc != 0) {
        chio__receipt_prep_destroy(&req->prep);
        return chio__fail(err, rc, CHIO_NO_OFFSET, "the signing queue is full");
    }
    return 0;
}

/* Wait for the commit thread, then turn the request into a receipt. */
static int await(chio__sign_req *req, chio_receipt **out, chio_error *err)
{
    int spins;

    for (spins = 0; spins < 64; spins++)
        if (__atomic_load_n(&req->done, __ATOMIC_ACQUIRE))
            break;
    /* Acquire: pairs with the commit thread's release of `done`. */
    while (!__atomic_load_n(&req->done, __ATOMIC_ACQUIRE))
        chio__futex_wait(&req->done, 0);
    if (req->rc != 0) {
        chio__receipt_prep_destroy(&req->prep);
        return chio__fail(err, req->rc, CHIO_NO_OFFSET, "receipt not committed: %s",
                          chio_strerror(req->rc));
    }
    *out = chio__receipt_prep_finish(&req->prep);
    return 0;
}

static int sign_sync(chio_kernel *k, chio_receipt_builder *b, chio__receipt_fields *f, int block,
                     int entered, const chio__charge *charge, chio_receipt **out, chio_error *err)
{
    chio__sign_req req;
    int rc;

    rc = chio__kernel_refuse_reentry(k, err);
    if (rc != 0) {
        discard(b, f);
        return rc;
    }
    memset(&req, 0, sizeof(req));
    rc = submit(k, b, f, block, entered, charge, &req, err);
    return rc ? rc : await(&req, out, err);
}

int chio_kernel_sign_receipt(chio_kernel *k, chio_receipt_builder *b, chio_receipt **out,
                             chio_error *err)
{
    if (out == NULL || k == NULL) {
        chio_receipt_builder_free(b);
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL kernel or out");
    }
    *out = NULL;
    if (b == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL builder");
    return sign_sync(k, b, NULL, 1, 0, NULL, out, err);
}

int chio_kernel_try_sign_receipt(chio_kernel *k, chio_receipt_builder *b, chio_receipt **out,
                                 chio_error *err)
{
    if (out == NULL || k == NULL || b == NULL) {
        chio_receipt_builder_free(b);
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL kernel, builder or out");
    }
    *out = NULL;
    /* Consumes @b whatever the outcome, CHIO_EAGAIN included: no copy. */
    return sign_sync(k, b, NULL, 0, 0, NULL, out, err);
}

static int sign_async(chio_kernel *k, chio_receipt_builder *b, chio__receipt_fields *f,
                      const chio__charge *charge, chio_sign_cb cb, void *ctx, int entered,
                      chio_error *err)
{
    chio__sign_req *req;
    int rc;

    if (k == NULL || (b == NULL && f == NULL) || cb == NULL) {
        discard(b, f);
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL kernel, builder or callback");
    }
    req = calloc(1, sizeof(*req));
    if (req == NULL) {
        discard(b, f);
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
    req->cb = cb;
    req->cb_ctx = ctx;
    rc = submit(k, b, f, 1, entered, charge, req, err);
    if (rc != 0)
        free(req);
    return rc;
}

int chio_kernel_sign_receipt_async(chio_kernel *k, chio_receipt_builder *b, chio_sign_cb cb,
                                   void *ctx, chio_error *err)
{
    return sign_async(k, b, NULL, NULL, cb, ctx, 0, err);
}

int chio__kernel_sign_entered(chio_kernel *k, chio__receipt_fields *f, const chio__charge *charge,
                              chio_receipt **out, chio_error *err)
{
    *out = NULL;
    return sign_sync(k, NULL, f, 1, 1, charge, out, err);
}

int chio__kernel_sign_async_entered(chio_kernel *k, chio__receipt_fields *f,
                                    const chio__charge *charge, chio_sign_cb cb, void *ctx,
                                    chio_error *err)
{
    return sign_async(k, NULL, f, charge, cb, ctx, 1, err);
}

int chio__kernel_enter(chio_kernel *k)
{
    return enter(k);
}

void chio__kernel_leave(chio_kernel *k)
{
    leave(k);
}

int chio__kernel_ensure_started(chio_kernel *k, chio_error *err)
{
    return ensure_started(k, err);
}

/* ---- drain and free
 * ------------------------------------------------------------------------------ */

int chio_kernel_drain(chio_kernel *k, chio_error *err)
{
    int expected = KSTATE_RUNNING;
    struct timespec nap = {0, 100000};

    if (k == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL kernel");
    /* From a callback drain would wait for the calling thread: the
     * completion thread cannot join itself (it would be left running, and
     * a later free would pull the kernel from under it), and a tool, guard
     * or provider runs inside a call drain waits for. Refused before the
     * state changes: the kernel serves on. */
    if (chio__kernel_on_completer(k) || inside_now(k))
        return chio__fail(err, CHIO_EDEADLK, CHIO_NO_OFFSET,
                          "chio_kernel_drain from a kernel callback would wait for its own "
                          "thread; drain from another thread");
    if (!__atomic_compare_exchange_n(&k->state, &expected, KSTATE_DRAINING, 0, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST)) {
        /* Someone else drains: wait for them. */
        while (__atomic_load_n(&k->state, __ATOMIC_SEQ_CST) != KSTATE_DRAINED)
            nanosleep(&nap, NULL);
        goto done;
    }
    chio__log(k, CHIO_LOG_INFO, "kernel_draining", NULL, NULL);
    /* Every caller that saw RUNNING finishes its push (see enter()). */
    while (callers_in_flight(k))
        nanosleep(&nap, NULL);
    /* Signers empty the ring and the commit thread commits it; the commit
     * thread exits only once every checkpoint cut has been signed (on the
     * checkpoint thread) and written, so after the stop no crossed
     * boundary lacks its checkpoint. */
    if (__atomic_load_n(&k->started, __ATOMIC_ACQUIRE))
        chio__pipeline_stop(k);
    chio__log(k, CHIO_LOG_INFO, "kernel_drained", NULL,
              "\"receipts_signed\":%llu,\"last_seq\":%llu,\"checkpoints\":%llu,\"failed\":%s",
              (unsigned long long)__atomic_load_n(&k->m_signed, __ATOMIC_RELAXED),
              (unsigned long long)__atomic_load_n(&k->m_last_seq, __ATOMIC_RELAXED),
              (unsigned long long)__atomic_load_n(&k->m_checkpoints, __ATOMIC_RELAXED),
              __atomic_load_n(&k->failed, __ATOMIC_SEQ_CST) ? "true" : "false");
    chio__log_flush(k);
    __atomic_store_n(&k->state, KSTATE_DRAINED, __ATOMIC_SEQ_CST);
done:
    if (__atomic_load_n(&k->failed, __ATOMIC_SEQ_CST))
        return chio__fail(err, CHIO_EFAILED, CHIO_NO_OFFSET,
                          "kernel had failed closed; requests after the failure got errors");
    return 0;
}

void chio_kernel_free(chio_kernel *k)
{
    if (k == NULL)
        return;
    if (chio_kernel_drain(k, NULL) == CHIO_EDEADLK) {
        /* From a callback: freeing would pull the kernel from under the
         * thread running it. Leak it rather than crash (kernel.h). */
        chio__log(k, CHIO_LOG_ERROR, "kernel_free_from_callback",
                  "chio_kernel_free called from a kernel callback; the kernel is not freed", NULL);
        return;
    }
    chio__mediation_destroy(k);
    chio_store_close(k->store);
    chio__store_batch_free(k->batch);
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
    pthread_mutex_destroy(&k->commit_mu);
    pthread_cond_destroy(&k->commit_cv);
    pthread_mutex_destroy(&k->done_mu);
    pthread_cond_destroy(&k->done_cv);
    pthread_mutex_destroy(&k->cp_mu);
    pthread_cond_destroy(&k->cp_cv);
    free(k);
}
