/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/commit.c - the commit stage: what happens to a group of signed
 * receipts once a thread holds the stage (signer.c decides which thread).
 *
 * A group is written as one RocksDB WriteBatch: each receipt under the
 * next sequence number with its hash chain entry, the checkpoints the
 * checkpoint thread signed since the last group, the deletions of swept
 * budget rows and one newly signed log head (store/head.c); one WAL sync
 * under CHIO_DURABILITY_SYNC. Checkpoints the group completes are cut here
 * and handed to the checkpoint thread once the write succeeded
 * (checkpointer.c). A failed write fails the kernel closed, as does one
 * the store saw fail elsewhere (a revocation, the NOSYNC durability
 * mark's sync, the sentinel's mark: chio__kernel_check_store, run after
 * each group, as callers leave the kernel and at drain); a failure before
 * the write (memory, a hash, a signature) fails the group's requests only
 * and the stage goes back to where it was before the group (rewind.c).
 * Then the group's synchronous callers are woken (a futex wake each) and
 * callbacks handed to the completion thread (signer.c).
 *
 * Everything here runs on the one thread holding the commit stage
 * (`committing`, see signer.c, "Locking"), or on the starting or draining
 * thread (restore.c); nothing here locks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel_internal.h"

/* ---- completing a request --------------------------------------------------------------- */

/* Aligned to its own cache line: every synchronous caller of every kernel
 * touches it when it sleeps, and nothing else should share its line. */
_Alignas(64) chio__event chio__done_ev;

/* Run the callback, or mark a synchronous request done and return the
 * bit its caller sleeps on (0 for a callback); the request's credit is
 * returned either way. The caller is woken by chio__event_signal_bits. */
uint32_t chio__commit_finish(chio_kernel *k, chio__sign_req *req)
{
    uint32_t bit;

    if (req->cb != NULL) {
        chio_receipt *r = NULL;
        int rc = req->rc;
        if (rc == 0)
            r = chio__receipt_prep_finish(&req->prep);
        else
            chio__receipt_prep_destroy(&req->prep);
        req->cb(req->cb_ctx, rc, r);
        free(req);
        chio__credits_release(k, 1); /* after the callback returned */
        return 0;
    }
    bit = req->wake_bit; /* read before the request can go away */
    /* The credit first: a caller that returned holds none any more. */
    chio__credits_release(k, 1);
    /* seq_cst: the caller's load of `done` sees rc, seq and the signed
     * bytes, and the event's protocol (event.h) needs this store ordered
     * before the load of its waiters. After it the request may vanish (it
     * lives on the caller's stack). */
    __atomic_store_n(&req->done, 1, __ATOMIC_SEQ_CST);
    return bit;
}

/* Wake the caller or run the callback, and return the request's credit. */
void chio__commit_complete(chio_kernel *k, chio__sign_req *req)
{
    chio__event_signal_bits(&chio__done_ev, chio__commit_finish(k, req));
}

/* ---- checkpoints --------------------------------------------------------------------- */

int chio__kernel_add_leaf(chio_kernel *k, const uint8_t leaf[32])
{
    if (k->npending == k->cap_pending) {
        uint64_t cap = k->cap_pending ? k->cap_pending * 2 : 128;
        uint8_t *p;
        if (cap > SIZE_MAX / 32)
            return CHIO_ENOMEM;
        p = realloc(k->pending_leaves, (size_t)cap * 32);
        if (p == NULL)
            return CHIO_ENOMEM;
        k->pending_leaves = p;
        k->cap_pending = cap;
    }
    memcpy(k->pending_leaves + 32 * k->npending, leaf, 32);
    k->npending++;
    return 0;
}

/* ---- hash chain, log head and budgets (store/head.c) ----------------------------------- */

/* The receipt at @seq joins the chain (same batch as the receipt).
 * Returns 0, or the hash's error with nothing put and the chain as it was. */
static int chain_receipt(chio_kernel *k, chio__store_batch *b, uint64_t seq, const uint8_t leaf[32])
{
    int rc = chio__store_chain_step(k->chain_prev, leaf, k->chain_prev);

    if (rc == 0)
        chio__store_batch_put_chain(b, k->store, seq, k->chain_prev);
    return rc;
}

/* The signed log head for everything in @b and before (one signature per
 * group commit). */
int chio__kernel_put_head(chio_kernel *k, chio__store_batch *b, chio_error *err)
{
    chio__log_head h;
    char *json = NULL;
    size_t len = 0;
    int rc;

    memset(&h, 0, sizeof(h));
    h.last_seq = k->next_seq - 1;
    h.chain_from = k->chain_from;
    h.checkpoint_seq = k->written_checkpoint_seq;
    h.time = chio__kernel_now(k);
    memcpy(h.chain, k->chain_prev, 32);
    rc = chio__log_head_sign(k->kp, &h, &json, &len);
    if (rc != 0)
        return chio__fail(err, rc, CHIO_NO_OFFSET, "cannot sign the log head");
    chio__store_batch_put_meta(b, k->store, CHIO__META_LOG_HEAD, json, len);
    free(json);
    return 0;
}

void chio__kernel_fail_closed(chio_kernel *k, int rc, const chio_error *err)
{
    int first = __atomic_exchange_n(&k->failed, 1, __ATOMIC_SEQ_CST) == 0;

    /* Counted once: a caller leaving the kernel may have seen the store's
     * failure of this very write first (chio__kernel_check_store). */
    if (first || k->store == NULL || !chio__store_write_failed(k->store))
        __atomic_add_fetch(&k->m_write_errors, 1, __ATOMIC_RELAXED);
    chio__log(k, CHIO_LOG_ERROR, "store_write_failed",
              err && err->message[0] ? err->message : chio_strerror(rc),
              "\"code\":\"%s\",\"failed_closed\":true", chio_errno_name(rc));
}

void chio__kernel_check_store(chio_kernel *k)
{
    chio_error why;
    int expected = 0;

    /* Acquire on started: k->store is set before it (kernel.c). */
    if (__atomic_load_n(&k->failed, __ATOMIC_RELAXED) ||
        !__atomic_load_n(&k->started, __ATOMIC_ACQUIRE) || k->store == NULL ||
        !chio__store_write_failed(k->store))
        return;
    /* One thread reports it; a commit or charge whose own write failed
     * reports that with its error (chio__kernel_fail_closed). */
    if (!__atomic_compare_exchange_n(&k->failed, &expected, 1, 0, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST))
        return;
    __atomic_add_fetch(&k->m_write_errors, 1, __ATOMIC_RELAXED);
    chio_error_init(&why);
    chio__log(k, CHIO_LOG_ERROR, "store_write_failed",
              chio__store_mark_error(k->store, &why) != 0
                  ? why.message /* the sentinel's mark (store/sentinel.c) */
                  : "a write to the receipt store failed (a revocation, an archiving pass, the "
                    "durability mark's sync, or a write whose own report follows); what is on "
                    "disk is unknown, so the kernel failed closed: reopen it",
              "\"code\":\"%s\",\"failed_closed\":true", chio_errno_name(CHIO_ESTORE));
}

void chio__kernel_flush_mark(chio_kernel *k)
{
    chio__store_flush_mark(k->store);
    chio__kernel_check_store(k);
}

/* ---- the group's write ----------------------------------------------------------------- */

void chio__kernel_nap_us(uint64_t us)
{
    if (us > 0)
        nanosleep(&(struct timespec){(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000}, NULL);
}

/* A receipt this large is committed as the last record of a group of its
 * own, and afterwards keeps its bytes in that group's write batch (see
 * commit_segment): its peak memory is then two copies (the batch's and
 * the memtable's), not three. */
#define LARGE_RECEIPT_BYTES ((size_t)1 << 20)

static int is_large(const chio__sign_req *req)
{
    size_t len = 0;

    if (req->rc != 0)
        return 0;
    (void)chio__receipt_prep_stored(&req->prep, &len);
    return len >= LARGE_RECEIPT_BYTES;
}

/* Put a large receipt last in the batch and free the prep's copy. */
static void put_large(chio_kernel *k, chio__sign_req *req)
{
    size_t len;
    const char *json = chio__receipt_prep_stored(&req->prep, &len);
    const char *in_batch =
        chio__store_batch_put_receipt_last(k->batch, k->store, req->seq, json, len, req->prep.id);

    if (in_batch != NULL)
        chio__receipt_prep_move_stored(&req->prep, in_batch);
}

/* After the write: the large receipt's bytes stay in the written batch,
 * which the receipt now owns; the kernel writes on with a fresh one. */
static void keep_large(chio_kernel *k, chio__sign_req *req)
{
    size_t len;
    const char *json = chio__receipt_prep_stored(&req->prep, &len);
    void *records;

    if (json == NULL || !req->prep.moved)
        return; /* the batch could not be read that way: the prep kept its copy */
    records = chio__store_batch_take(k->batch);
    chio__receipt_prep_set_owner(&req->prep, chio__store_batch_tail(records, len), records,
                                 chio__store_records_free);
}

/* Put the signed checkpoints in @ready into @b, oldest first; returns how
 * many, or the (negative) code the checkpoint thread failed one with. */
static int64_t put_ready_checkpoints(chio_kernel *k, chio__store_batch *b, chio__cp_job *ready)
{
    int64_t n = 0;

    for (; ready != NULL; ready = ready->next) {
        if (ready->rc != 0)
            return (int64_t)ready->rc; /* CHIO_E* codes are negative */
        chio__store_batch_put_checkpoint(b, k->store, ready->seq, ready->json, ready->len);
        k->written_checkpoint_seq = ready->seq;
        n++;
    }
    return n;
}

/*
 * Commit one segment of a group: its receipts, chain entries, budget
 * row deletions, the checkpoints the checkpoint thread has signed since the last
 * group and the signed head in one WriteBatch, one write. Checkpoints the
 * segment's receipts complete are cut here and handed to the checkpoint
 * thread once the write succeeded (checkpointer.c). @list may be empty (a
 * group of checkpoints only). @large, when set, is the segment's last
 * request and goes in last. Sets every request's rc.
 */
static void commit_segment(chio_kernel *k, chio__sign_req *list, chio__sign_req *large)
{
    chio__sign_req *req;
    chio__cp_job *cut = NULL, *ready = chio__checkpoints_take_ready(k);
    uint64_t nok = 0, written_before = k->written_checkpoint_seq;
    int64_t ncp = 0;
    chio__commit_mark mark;
    chio_error err;
    int rc = 0, bw_locked = 0, rewindable = 0, rewound = 0;

    chio_error_init(&err);
    chio__commit_mark_take(k, &mark);
    if (__atomic_load_n(&k->failed, __ATOMIC_SEQ_CST)) {
        rc = CHIO_EFAILED;
    } else {
        chio__store_batch_clear(k->batch);
        ncp = put_ready_checkpoints(k, k->batch, ready);
        if (ncp < 0)
            rc = chio__fail(&err, (int)ncp, CHIO_NO_OFFSET, "cannot sign a checkpoint");
        rewindable = rc == 0; /* until the write */
        for (req = list; req != NULL && rc == 0; req = req->next) {
            const char *json;
            size_t len;
            if (req->rc != 0)
                continue; /* signing failed: no sequence number */
            req->seq = k->next_seq++;
            nok++;
            json = chio__receipt_prep_stored(&req->prep, &len);
            if (req != large)
                chio__store_batch_put_receipt(k->batch, k->store, req->seq, json, len,
                                              req->prep.id);
            rc = chain_receipt(k, k->batch, req->seq, req->leaf);
            if (rc != 0 || k->checkpoint_batch_size == 0)
                continue;
            rc = chio__kernel_add_leaf(k, req->leaf);
            if (rc == 0 && k->npending == k->checkpoint_batch_size)
                rc = chio__checkpoint_cut(k, req->seq, &cut);
        }
        bw_locked = chio__budgets_put_deletes(k, k->batch);
        if (rc == 0 && (nok > 0 || ncp > 0))
            rc = chio__kernel_put_head(k, k->batch, &err);
        if (rc == 0 && large != NULL)
            put_large(k, large);
        if (rc == 0 && (nok > 0 || ncp > 0)) {
            /* test hook: a slow disk, so many microseconds per receipt */
            chio__kernel_nap_us(__atomic_load_n(&k->slow_commit_us, __ATOMIC_RELAXED) * nok);
            rewindable = 0;
            rc = chio__store_write(k->store, k->batch, k->durability == CHIO_DURABILITY_SYNC, &err);
        }
        if (bw_locked) /* the budget rows' deletions are written (or dropped) */
            chio__budgets_deletes_done(k);
        if (rc != 0 && rewindable) {
            /* Nothing reached the store (a hash, a signature or an
             * allocation failed while the batch was built): the group
             * fails, the kernel goes on from before it (rewind.c). */
            chio__commit_rewind(k, &mark, cut, ready);
            cut = ready = NULL;
            rewound = 1;
            chio__log(k, CHIO_LOG_ERROR, "group_not_committed",
                      err.message[0] ? err.message : chio_strerror(rc), "\"code\":\"%s\"",
                      chio_errno_name(rc));
        } else if (rc != 0) {
            chio__kernel_fail_closed(k, rc, &err);
            rc = rc == CHIO_ECORRUPT ? rc : CHIO_ESTORE;
        } else if (nok > 0 || ncp > 0) {
            uint64_t seen = __atomic_load_n(&k->m_max_batch, __ATOMIC_RELAXED);
            __atomic_add_fetch(&k->m_signed, nok, __ATOMIC_RELAXED);
            __atomic_add_fetch(&k->m_batches, 1, __ATOMIC_RELAXED);
            if (nok > seen)
                __atomic_store_n(&k->m_max_batch, nok, __ATOMIC_RELAXED);
            if (k->durability == CHIO_DURABILITY_SYNC)
                __atomic_add_fetch(&k->m_wal_syncs, 1, __ATOMIC_RELAXED);
            /* The checkpoint becomes the store's high-water mark once it is
             * durable (coalesced, after a WAL sync of its own without sync
             * durability; store.c), so an open that finds less reports the
             * loss instead of hiding it. That sync may fail: this group
             * was written and stands, and the kernel fails closed before
             * the checkpoint shows in the metrics (a host waiting for it
             * then sees the failure too). */
            if (ncp > 0) {
                chio__store_note_checkpoint(k->store, k->written_checkpoint_seq,
                                            k->durability == CHIO_DURABILITY_SYNC);
                chio__kernel_check_store(k);
            }
            __atomic_add_fetch(&k->m_checkpoints, (uint64_t)ncp, __ATOMIC_RELAXED);
            __atomic_store_n(&k->m_last_seq, k->next_seq - 1, __ATOMIC_RELAXED);
            /* Release: a reader that sees the checkpoint (acquire,
             * metrics.c) sees a failure of its mark's sync too. */
            __atomic_store_n(&k->m_last_checkpoint_seq, k->written_checkpoint_seq,
                             __ATOMIC_RELEASE);
            if (ncp > 0) {
                chio__log(k, CHIO_LOG_DEBUG, "checkpoint_written", NULL,
                          "\"checkpoint_seq\":%llu,\"checkpoints\":%lld,\"group_receipts\":%llu,"
                          "\"last_seq\":%llu",
                          (unsigned long long)k->written_checkpoint_seq, (long long)ncp,
                          (unsigned long long)nok, (unsigned long long)(k->next_seq - 1));
            }
        }
    }
    if (rc == 0) {
        chio__checkpoints_hand(k, cut);
    } else if (!rewound) {
        k->written_checkpoint_seq = written_before;
        chio__checkpoints_drop(k, cut);
    }
    chio__checkpoints_written(k, ready); /* written, or dropped by a failed kernel */
    if (rc == 0 && large != NULL)
        keep_large(k, large);
    if (rc != 0)
        for (req = list; req != NULL; req = req->next)
            if (req->rc == 0)
                req->rc = rc;
}

void chio__commit_segments(chio_kernel *k, chio__sign_req *list)
{
    chio__sign_req *seg, *end, *rest;

    if (list == NULL) {
        commit_segment(k, NULL, NULL); /* signed checkpoints only */
        return;
    }
    for (seg = list; seg != NULL; seg = rest) {
        for (end = seg; end->next != NULL && !is_large(end); end = end->next)
            ;
        rest = end->next;
        end->next = NULL;
        commit_segment(k, seg, is_large(end) ? end : NULL);
        end->next = rest;
    }
}

void chio__commit_group(chio_kernel *k, chio__sign_req *list)
{
    chio__sign_req *req, *next, *async = NULL, **tail = &async;
    uint32_t bits = 0;

    chio__commit_segments(k, list);
    /* The synchronous callers of the group are woken here, a futex wake
     * each; only callbacks go to the completion thread: a callback that
     * calls into the kernel must never block the commit stage, which its
     * own request may be waiting for. Handing synced groups to the
     * completion thread instead cost each caller one more wake-up and
     * measured slower (docs/performance.md, "Waking from the commit
     * stage"). */
    for (req = list; req != NULL; req = next) {
        next = req->next; /* read before the request can go away */
        if (req->cb != NULL) {
            *tail = req;
            tail = &req->next;
            continue;
        }
        bits |= chio__commit_finish(k, req);
    }
    *tail = NULL;
    /* One system call wakes the group's sleeping callers (a futex wake
     * each cost the commit stage about 5 us per caller here). */
    chio__event_signal_bits(&chio__done_ev, bits);
    if (async != NULL)
        chio__hand_to_completer(k, async);
}

void chio__kernel_slow_commits(chio_kernel *k, uint32_t usec)
{
    __atomic_store_n(&k->slow_commit_us, usec, __ATOMIC_RELAXED);
}
