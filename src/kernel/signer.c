/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/signer.c - the signing pipeline's threads, and which thread runs
 * each stage.
 *
 * Signer threads pop up to max_batch requests from the ck_ring, sign each
 * prepared message with Ed25519, hash the Merkle leaf, and append the batch
 * to the commit list. The commit thread takes everything on the list and
 * runs the commit stage on it (commit.c: sequence numbers, chain entries,
 * checkpoints, the signed log head, one RocksDB WriteBatch, then the
 * callers' wake-ups).
 *
 * User code never runs on the commit thread: every callback runs on the
 * completion thread (which a thread-local marks, so that a synchronous
 * call from a callback fails with CHIO_EDEADLK instead of waiting for its
 * own thread). After every commit the thread that ran it wakes the
 * synchronous callers of the group itself (a futex wake each, no user
 * code) and hands only the asynchronous requests on. Whoever completes a
 * request returns its credit (admission.c): just before the wake, or after
 * the callback returned.
 *
 * A signer that finds the ring empty and the commit stage idle commits its
 * batch itself (commit_inline): one wake-up less. A synchronous caller
 * that finds the ring empty and the stage idle signs and commits its own
 * receipt on its own thread (chio__sign_on_caller, "caller runs"): a lone
 * call wakes no thread. One that finds the ring empty while a signer
 * works through a batch signs its own receipt beside it, and the receipt
 * joins that batch's group.
 *
 * Locking: commit_mu guards the commit list, `committing` and
 * signers_exited; nothing else is shared between these threads except
 * atomics. The commit stage's state (store, next_seq, checkpoint chain,
 * pending leaves) belongs to the one thread running the
 * commit stage (`committing` set: the commit thread, a signer inline or a
 * caller running its own request) once the pipeline runs, and to the
 * starting or draining thread before and after. Comments below that say
 * "commit thread" mean whichever thread runs the stage.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "chio/merkle.h"
#include "kernel_internal.h"

/* ---- completion ------------------------------------------------------------------------ */

/* The kernel whose completion thread this is (NULL on every other thread). */
static _Thread_local const chio_kernel *completing;

int chio__kernel_on_completer(const chio_kernel *k)
{
    return k != NULL && completing == k;
}

/* The kernel whose signer, commit or checkpoint thread this is (NULL on
 * every other thread): host code runs there only as the clock or the log
 * sink, and a call from it that waits for the pipeline waits for itself. */
static _Thread_local const chio_kernel *pipelining;

void chio__kernel_mark_pipeline_thread(const chio_kernel *k)
{
    pipelining = k;
}

int chio__kernel_on_own_thread(const chio_kernel *k)
{
    return k != NULL && (completing == k || pipelining == k);
}

/* ---- thread priority ----------------------------------------------------------------------
 * signer_priority: each kernel thread sets its own nice value (Linux
 * applies setpriority(PRIO_PROCESS, tid) to that one thread). A refusal
 * (EPERM/EACCES without CAP_SYS_NICE) is logged once; the thread runs on
 * at the inherited priority. */

static void apply_priority(chio_kernel *k)
{
    int e;

    if (k->signer_priority == 0)
        return;
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), k->signer_priority) == 0)
        return;
    e = errno;
    if (__atomic_exchange_n(&k->priority_warned, 1, __ATOMIC_RELAXED) == 0)
        chio__log(k, CHIO_LOG_WARN, "signer_priority_not_applied", strerror(e),
                  "\"signer_priority\":%d", k->signer_priority);
}

/* signer_realtime: a signer thread makes itself SCHED_FIFO, so that the
 * callers its commits wake (normal threads) cannot preempt a signature
 * half done; it still sleeps on the ring's event count whenever the ring
 * is empty. Only the signers: measured, a real-time commit thread made
 * calls slower (docs/performance.md). A refusal (EPERM without
 * CAP_SYS_NICE or RLIMIT_RTPRIO, or a cgroup without a real-time budget)
 * is logged once; the thread runs on under the normal scheduler. */
static void apply_realtime(chio_kernel *k)
{
    struct sched_param sp;
    int e;

    if (k->signer_realtime == 0)
        return;
    memset(&sp, 0, sizeof(sp));
    sp.sched_priority = k->signer_realtime;
    e = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
    if (e == 0)
        return;
    if (__atomic_exchange_n(&k->realtime_warned, 1, __ATOMIC_RELAXED) == 0)
        chio__log(k, CHIO_LOG_WARN, "signer_realtime_not_applied", strerror(e),
                  "\"signer_realtime\":%d", k->signer_realtime);
}

/* ---- the completion thread ---------------------------------------------------------------
 * Runs the callbacks of asynchronous requests, off the commit stage.
 * Synchronous callers are woken by whoever ran the commit: a futex wake is
 * a few microseconds of that thread's time, while a hand-off to this
 * thread first cost each caller one more wake-up of a sleeping thread. */

void chio__hand_to_completer(chio_kernel *k, chio__sign_req *list)
{
    chio__sign_req *tail = list;

    while (tail->next != NULL)
        tail = tail->next;
    pthread_mutex_lock(&k->done_mu);
    if (k->done_tail != NULL)
        k->done_tail->next = list;
    else
        k->done_head = list;
    k->done_tail = tail;
    pthread_cond_signal(&k->done_cv);
    pthread_mutex_unlock(&k->done_mu);
}

static void *complete_main(void *arg)
{
    chio_kernel *k = arg;

    pthread_setname_np(pthread_self(), "chio-complete"); /* for top, perf and gdb */
    apply_priority(k);
    chio__sign_req *list, *req, *next;
    int committer_gone;

    completing = k;
    for (;;) {
        pthread_mutex_lock(&k->done_mu);
        while (k->done_head == NULL && !k->committer_exited)
            pthread_cond_wait(&k->done_cv, &k->done_mu);
        list = k->done_head;
        k->done_head = k->done_tail = NULL;
        committer_gone = k->committer_exited;
        pthread_mutex_unlock(&k->done_mu);
        for (req = list; req != NULL; req = next) {
            next = req->next; /* read before the request can go away */
            chio__commit_complete(k, req);
        }
        if (list == NULL && committer_gone)
            break;
    }
    return NULL;
}

/* ---- the commit thread ----------------------------------------------------------------- */

static void release_commit_stage(chio_kernel *k);

void chio__kernel_slow_signs(chio_kernel *k, uint32_t usec)
{
    __atomic_store_n(&k->slow_sign_us, usec, __ATOMIC_RELAXED);
}

void chio__kernel_hold_batches(chio_kernel *k, uint32_t usec)
{
    __atomic_store_n(&k->hold_batch_us, usec, __ATOMIC_RELAXED);
}

/* Under hold_batches: 1 once a request is on the commit list. */
static int listed(chio_kernel *k)
{
    int any;

    pthread_mutex_lock(&k->commit_mu);
    any = k->commit_head != NULL;
    pthread_mutex_unlock(&k->commit_mu);
    return any;
}

/* Test hooks (chio__kernel_slow_signs, chio__kernel_hold_batches): a
 * signer that takes long over its batch, or holds it until a caller's
 * receipt is on the commit list, so that a test can call while the batch
 * is held. The list can be taken again before a 1 ms poll sees it (the
 * commit thread woken by something else commits the caller's receipt
 * alone), so a group committed since @groups (the count read before the
 * batch was marked held, only when a hold @cap is set) ends it too: else
 * the signer would sit out the whole cap. Polls in 1 ms steps: a test's
 * path only. */
static void nap_before_signing(chio_kernel *k, uint32_t cap, uint64_t groups)
{
    uint32_t waited;

    chio__kernel_nap_us(__atomic_load_n(&k->slow_sign_us, __ATOMIC_RELAXED));
    for (waited = 0;
         waited < cap && !listed(k) && __atomic_load_n(&k->m_batches, __ATOMIC_RELAXED) == groups;
         waited += 1000)
        chio__kernel_nap_us(1000);
}

static void *commit_main(void *arg)
{
    chio_kernel *k = arg;

    pthread_setname_np(pthread_self(), "chio-commit");
    chio__kernel_mark_pipeline_thread(k);
    apply_priority(k);
    chio__sign_req *list;
    int work, finished;

    for (;;) {
        pthread_mutex_lock(&k->commit_mu);
        for (;;) {
            int free_stage = !k->committing;
            work = free_stage && (k->commit_head != NULL || k->cp_ready_head != NULL);
            /* Exit once every signer has and nothing is owed: no receipt
             * to commit and no checkpoint cut but not yet written. */
            finished = free_stage && k->signers_exited == k->nsigners_started &&
                       k->commit_head == NULL && k->cp_ready_head == NULL && k->cp_outstanding == 0;
            if (work || finished)
                break;
            pthread_cond_wait(&k->commit_cv, &k->commit_mu);
        }
        list = k->commit_head;
        k->commit_head = k->commit_tail = NULL;
        k->committing = work;
        pthread_mutex_unlock(&k->commit_mu);
        if (!work)
            break;
        if (list != NULL)
            chio__commit_group(k, list);
        else
            chio__commit_segments(k, NULL); /* signed checkpoints only */
        release_commit_stage(k);
    }
    pthread_mutex_lock(&k->done_mu);
    k->committer_exited = 1;
    pthread_cond_signal(&k->done_cv);
    pthread_mutex_unlock(&k->done_mu);
    return NULL;
}

/* ---- signer threads -------------------------------------------------------------------- */

static void sign_one(chio_kernel *k, chio__sign_req *req)
{
    uint8_t sig[64];
    const char *msg;
    size_t len;
    int rc;

    /* Acquire: pairs with the caller's release store before the push, so
     * the prepared request is visible here (and to ThreadSanitizer, which
     * cannot see the fences inside ck_ring). */
    (void)__atomic_load_n(&req->published, __ATOMIC_ACQUIRE);
    req->next = NULL;
    msg = chio__receipt_prep_message(&req->prep, &len);
    rc = chio_keypair_sign(k->kp, msg, len, sig);
    if (rc == 0) {
        chio__receipt_prep_set_signature(&req->prep, sig);
        msg = chio__receipt_prep_stored(&req->prep, &len);
        rc = chio_merkle_leaf_hash(msg, len, req->leaf);
    }
    req->rc = rc;
}

/* A signer popped a batch: callers finding the ring empty now sign beside
 * it ("caller runs"). Relaxed: the readers that rely on the count read it
 * under commit_mu, where every drop happens, so the mutex orders them; a
 * caller that misses a fresh raise only takes the signer for idle, which
 * is what it was a moment before (it pushes or commits a group of one). */
static void hold_batch(chio_kernel *k)
{
    __atomic_add_fetch(&k->signer_holding, 1, __ATOMIC_RELAXED);
}

/* Under commit_mu: the batch is on the commit list or in the stage. */
static void drop_batch(chio_kernel *k)
{
    __atomic_sub_fetch(&k->signer_holding, 1, __ATOMIC_RELAXED);
}

static uint32_t batches_held(chio_kernel *k)
{
    return __atomic_load_n(&k->signer_holding, __ATOMIC_RELAXED);
}

/* Under commit_mu: put signed requests @head..@tail on the commit list. */
static void append_locked(chio_kernel *k, chio__sign_req *head, chio__sign_req *tail)
{
    if (k->commit_tail != NULL)
        k->commit_tail->next = head;
    else
        k->commit_head = head;
    k->commit_tail = tail;
}

/* Append signed requests to the commit list; @wake the commit thread if it
 * is waiting (a no-op for pthread_cond_signal when nobody waits). @drop:
 * this ends a signer's batch. */
static void hand_to_committer(chio_kernel *k, chio__sign_req *head, chio__sign_req *tail, int wake,
                              int drop)
{
    pthread_mutex_lock(&k->commit_mu);
    append_locked(k, head, tail);
    if (drop)
        drop_batch(k);
    if (wake)
        pthread_cond_signal(&k->commit_cv);
    pthread_mutex_unlock(&k->commit_mu);
}

/* Claim the commit stage for a signer's batch if the stage is idle (no
 * list queued, nobody in it); if not, the hand-over that follows drops
 * the batch. */
static int claim_commit_stage(chio_kernel *k)
{
    int idle;

    pthread_mutex_lock(&k->commit_mu);
    idle = k->commit_head == NULL && !k->committing;
    if (idle) {
        k->committing = 1;
        drop_batch(k);
    }
    pthread_mutex_unlock(&k->commit_mu);
    return idle;
}

/* Leave the commit stage; wake the commit thread for what queued meanwhile.
 * The mutex orders this runner's writes of the stage's state (sequence,
 * chain, pending leaves) before the next runner's reads. */
static void release_commit_stage(chio_kernel *k)
{
    pthread_mutex_lock(&k->commit_mu);
    k->committing = 0;
    /* Wake the commit thread only for what it would act on: receipts or
     * checkpoints queued meanwhile, or the end of the pipeline (its
     * conditions in commit_main()). It is idle and waiting after every
     * inline commit, so an unconditional signal woke it (a futex wake and
     * a context switch) for every lone call, only to sleep again. */
    if (k->commit_head != NULL || k->cp_ready_head != NULL ||
        k->signers_exited == k->nsigners_started)
        pthread_cond_signal(&k->commit_cv);
    pthread_mutex_unlock(&k->commit_mu);
}

/*
 * Commit @list on this signer thread when nothing else waits: the ring is
 * empty and the commit stage idle (no list queued, no thread in it). A
 * lone request then crosses two threads (caller -> signer -> caller), one
 * wake-up less; under load the signer hands over and the stages stay
 * pipelined. `committing` (under commit_mu) keeps the commit stage to one
 * thread at a time; the mutex orders one runner's writes of the stage's
 * state before the next runner's reads.
 */
static int commit_inline(chio_kernel *k, chio__sign_req *list)
{
    if (chio__queue_depth(&k->queue) > 0 || !claim_commit_stage(k))
        return 0;
    chio__commit_group(k, list);
    release_commit_stage(k);
    return 1;
}

/*
 * Caller runs. A lone synchronous request would otherwise wake a sleeping
 * signer and then be woken back: two thread wake-ups, each tens to
 * hundreds of microseconds on an idle virtual CPU. So a caller that finds
 * the ring empty signs its own receipt on its own thread, in two cases:
 *
 * - the commit stage is idle (no list queued, nobody in it): if it still
 *   is once the receipt is signed and no signer holds a batch, the caller
 *   commits it too: a lone call makes no hand-off at all;
 * - a signer holds a batch it popped (signer_holding): the caller signs
 *   beside it on the other CPU instead of queueing behind the batch, and
 *   puts its receipt on the commit list without a wake-up, so that it
 *   commits in the group the signer's hand-over starts (no group of one
 *   with a log head of its own).
 *
 * Otherwise it pushes on the ring: requests are queued (the ring is the
 * backpressure, and a caller never signs another's receipt), or the stage
 * commits while the signer sleeps, which the signer then signs beside.
 * It signs before it claims the stage, so the stage is never held for a
 * signature; sequence numbers are still given out only inside the stage.
 *
 * No lost wake-up: a receipt put on the list here is taken by the thread
 * in the stage when it leaves (release_commit_stage), or by the commit
 * thread that a held batch's hand-over signals (the count drops under
 * commit_mu in the same critical section as the signal, and a claim can
 * only drop it with the list empty), or else this signals it.
 */
int chio__sign_on_caller(chio_kernel *k, chio__sign_req *req)
{
    int claimed, busy;

    if (chio__queue_depth(&k->queue) > 0)
        return 0;
    pthread_mutex_lock(&k->commit_mu);
    busy = k->commit_head != NULL || k->committing;
    pthread_mutex_unlock(&k->commit_mu);
    if (busy && batches_held(k) == 0)
        return 0;
    sign_one(k, req);
    pthread_mutex_lock(&k->commit_mu);
    claimed = k->commit_head == NULL && !k->committing && batches_held(k) == 0;
    if (claimed) {
        k->committing = 1;
    } else {
        append_locked(k, req, req);
        /* A thread in the stage takes the list when it leaves
         * (release_commit_stage), a signer's hand-over wakes the commit
         * thread; otherwise wake it here. */
        if (!k->committing && batches_held(k) == 0)
            pthread_cond_signal(&k->commit_cv);
    }
    pthread_mutex_unlock(&k->commit_mu);
    if (!claimed)
        return CHIO__RAN_HANDED;
    chio__commit_segments(k, req);
    release_commit_stage(k);
    chio__credits_release(k, 1);
    return CHIO__RAN_INLINE;
}

static void *signer_main(void *arg)
{
    chio_kernel *k = arg;

    pthread_setname_np(pthread_self(), "chio-signer");
    chio__kernel_mark_pipeline_thread(k);
    apply_priority(k);
    apply_realtime(k);
    void *local[16], **items = malloc(sizeof(void *) * k->max_batch), **heap = items;
    size_t n, i, max = k->max_batch;
    uint32_t key;

    if (items == NULL) { /* smaller batches rather than no signer */
        items = local;
        max = 16;
    }
    for (;;) {
        n = chio__queue_pop_batch_mpmc(&k->queue, items, max);
        if (n > 0) {
            uint32_t hold = __atomic_load_n(&k->hold_batch_us, __ATOMIC_RELAXED);
            uint64_t groups = hold ? __atomic_load_n(&k->m_batches, __ATOMIC_RELAXED) : 0;
            hold_batch(k);
            nap_before_signing(k, hold, groups);
            /* With WAL syncs, each receipt goes on the commit list as soon
             * as it is signed, so a commit thread returning from a sync
             * takes everything signed meanwhile. It is woken for the first
             * receipt of a batch (an idle disk should start syncing at
             * once) and after the last; the ones between join the next
             * group without a wake-up each. Without syncs a commit is
             * quick and the commit thread mostly waits, so the batch is
             * handed over whole. */
            if (n == 1 || k->durability != CHIO_DURABILITY_SYNC) {
                for (i = 0; i < n; i++) {
                    sign_one(k, items[i]);
                    if (i > 0)
                        ((chio__sign_req *)items[i - 1])->next = items[i];
                }
                if (!commit_inline(k, items[0]))
                    hand_to_committer(k, items[0], items[n - 1], 1, 1);
                continue;
            }
            for (i = 0; i < n; i++) {
                sign_one(k, items[i]);
                hand_to_committer(k, items[i], items[i], i == 0 || i == n - 1, i == n - 1);
            }
            continue;
        }
        key = chio__event_prepare(&k->queue.work);
        if (chio__queue_depth(&k->queue) > 0) {
            chio__event_cancel(&k->queue.work);
            continue;
        }
        if (__atomic_load_n(&k->stopping, __ATOMIC_SEQ_CST)) {
            chio__event_cancel(&k->queue.work);
            break;
        }
        chio__event_wait(&k->queue.work, key);
    }
    free(heap);
    __atomic_sub_fetch(&k->m_signers_running, 1, __ATOMIC_RELAXED);
    pthread_mutex_lock(&k->commit_mu);
    k->signers_exited++;
    pthread_cond_signal(&k->commit_cv);
    pthread_mutex_unlock(&k->commit_mu);
    return NULL;
}

/* ---- start and stop ------------------------------------------------------------------- */

static void stop_started(chio_kernel *k)
{
    uint32_t i;

    __atomic_store_n(&k->stopping, 1, __ATOMIC_SEQ_CST);
    chio__event_signal(&k->queue.work, INT_MAX);
    for (i = 0; i < k->nsigners_started; i++)
        pthread_join(k->signers[i], NULL);
    if (k->committer_started) {
        pthread_mutex_lock(&k->commit_mu);
        pthread_cond_signal(&k->commit_cv);
        pthread_mutex_unlock(&k->commit_mu);
        pthread_join(k->committer, NULL);
        k->committer_started = 0;
    } else {
        pthread_mutex_lock(&k->done_mu);
        k->committer_exited = 1;
        pthread_cond_signal(&k->done_cv);
        pthread_mutex_unlock(&k->done_mu);
    }
    chio__checkpointer_stop(k); /* after the commit thread: nothing owed now */
    if (k->completer_started) {
        pthread_join(k->completer, NULL);
        k->completer_started = 0;
    }
}

int chio__pipeline_start(chio_kernel *k, chio_error *err)
{
    uint32_t i;
    int e;

    k->slots = calloc(k->ring_capacity, sizeof(ck_ring_buffer_t));
    k->signers = calloc(k->signer_threads, sizeof(pthread_t));
    k->batch = chio__store_batch_new();
    if (k->slots == NULL || k->signers == NULL || k->batch == NULL)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory starting the kernel");
    chio__queue_init_mpmc(&k->queue, k->slots, k->ring_capacity);
    k->stopping = 0;
    k->signers_exited = 0;
    k->nsigners_started = 0;
    k->committer_exited = 0;
    k->committing = 0;
    /* The completion thread first: it outlives the commit thread. */
    e = pthread_create(&k->completer, NULL, complete_main, k);
    if (e != 0)
        return chio__fail(err, CHIO_ESYS, CHIO_NO_OFFSET, "cannot start kernel threads: %s",
                          strerror(e));
    k->completer_started = 1;
    /* The checkpoint thread next: the commit thread waits for it. */
    if (chio__checkpointer_start(k) != 0) {
        stop_started(k);
        return chio__fail(err, CHIO_ESYS, CHIO_NO_OFFSET,
                          "cannot start kernel threads: the checkpoint thread");
    }
    /* Signers first: the commit thread exits once every started signer
     * has, so it must not run before they are counted. */
    for (i = 0; i < k->signer_threads; i++) {
        e = pthread_create(&k->signers[i], NULL, signer_main, k);
        if (e != 0)
            break;
        k->nsigners_started++;
        /* Counted here, not in the thread, so the gauge is exact as soon
         * as the kernel has started; each signer subtracts itself on exit. */
        __atomic_add_fetch(&k->m_signers_running, 1, __ATOMIC_RELAXED);
    }
    if (i == k->signer_threads) {
        e = pthread_create(&k->committer, NULL, commit_main, k);
        k->committer_started = e == 0;
    }
    if (e != 0) {
        stop_started(k);
        return chio__fail(err, CHIO_ESYS, CHIO_NO_OFFSET, "cannot start kernel threads: %s",
                          strerror(e));
    }
    return 0;
}

void chio__pipeline_stop(chio_kernel *k)
{
    stop_started(k);
}
