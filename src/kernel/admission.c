/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/admission.c - who is inside the kernel, and how many requests it
 * holds: the callers-in-flight count drain waits on, the kernels each
 * thread is inside (so drain from a callback is refused), the in-flight
 * credit budget and the re-entry checks for the completion thread. A
 * caller leaving the kernel also fails it closed when a store write it
 * made outside the commit stage failed (commit.c, chio__kernel_check_store).
 *
 * Concurrency: callers announce themselves in active_callers (a sharded
 * count) before they look at the state, and leave after their push; drain
 * flips the state and waits for every shard to read zero, so every request
 * is either refused with CHIO_EDRAINED or queued before the signers are
 * told to stop (a Dekker pair: both sides use sequentially consistent
 * atomics).
 *
 * Backpressure: one credit budget (inflight_max = ring_capacity) covers
 * every request between its prepare and its completion: waiting in the
 * ring, signed but not committed, committed but not yet completed. A
 * submitter takes a credit with one CAS before it prepares (so the
 * prepared bytes are bounded too) and sleeps on the `credit` event only
 * when the budget is spent; the thread that completes a request returns
 * its credit (commit.c). A synchronous call from the completion thread
 * would wait for that very thread, so it fails at once with CHIO_EDEADLK.
 * The log sink cannot wait either: it holds the log lock, which the
 * threads returning credits and the callbacks they run may want.
 * A receipt the kernel signs on such a thread after user code ran there
 * (an evaluation submitted from a callback or the sink runs its tool
 * there, and the tool's nested requests ask the host) has its credit
 * taken before that code runs (chio__kernel_credit_ahead) and handed to
 * its request, which owns it from then on: a spent budget refuses the
 * work up front, never after a tool or the host acted, and nothing the
 * tool submits meanwhile can take that credit.
 */
#include <limits.h>

#include "chio/kernel.h"
#include "kernel_internal.h"
#include "request.h"

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
 * own thread forever (chio__kernel_callers_in_flight() never reads zero).
 * Drain checks this and refuses instead. Enter and leave pair on one
 * thread, last in first out, so the kernels form a stack in the order of
 * their first entry: a kernel's slot empties at its outermost leave,
 * after every slot above it. A thread nests at most CHIO__MAX_THREAD_DEPTH
 * evaluations (request.c), so the slots hold every kernel an evaluation
 * can reach; entries past them (other calls nested deeper still) are
 * counted in `untracked`, and while any is, every kernel reads as entered
 * (drain refuses rather than wait for its own thread: review 46, where a
 * fifth nested kernel's drain from its own tool hung with four slots).
 */
#define INSIDE_SLOTS (CHIO__MAX_THREAD_DEPTH + 8)
static _Thread_local struct {
    const chio_kernel *k;
    unsigned n;
} inside[INSIDE_SLOTS];
static _Thread_local unsigned inside_used; /* slots in use, from the bottom */
static _Thread_local unsigned untracked;   /* entries past the slots */
/* Calls this thread is inside now, on any kernel, the untracked ones
 * included: what bounds the nesting through kernels. */
static _Thread_local unsigned inside_total;

/* The slot holding @k, or inside_used. */
static unsigned inside_find(const chio_kernel *k)
{
    unsigned i;

    for (i = 0; i < inside_used; i++)
        if (inside[i].k == k)
            return i;
    return inside_used;
}

static void inside_add(const chio_kernel *k)
{
    unsigned i = inside_find(k);

    inside_total++;
    if (i < inside_used) {
        inside[i].n++;
    } else if (inside_used < INSIDE_SLOTS) {
        inside[inside_used].k = k;
        inside[inside_used].n = 1;
        inside_used++;
    } else {
        untracked++;
    }
}

static void inside_drop(const chio_kernel *k)
{
    unsigned i = inside_find(k);

    inside_total--;
    if (i == inside_used) { /* entered past the slots */
        untracked--;
        return;
    }
    inside[i].n--;
    while (inside_used > 0 && inside[inside_used - 1].n == 0)
        inside_used--;
}

int chio__kernel_inside(const chio_kernel *k)
{
    return untracked > 0 || inside_find(k) < inside_used;
}

/* How many calls on @k this thread is inside now (0 when not tracked). */
unsigned chio__kernel_depth(const chio_kernel *k)
{
    unsigned i = inside_find(k);

    return i < inside_used ? inside[i].n : 0;
}

/* How many calls on any kernel this thread is inside now. */
unsigned chio__thread_depth(void)
{
    return inside_total;
}

static uint32_t *my_shard(chio_kernel *k)
{
    if (caller_shard == UINT_MAX) /* relaxed: only spreads threads */
        caller_shard =
            __atomic_fetch_add(&next_caller_shard, 1, __ATOMIC_RELAXED) % CHIO__CALLER_SHARDS;
    return &k->active_callers[caller_shard].n;
}

/* Announce a caller; 0 when the kernel still accepts work, CHIO_EDRAINED
 * once a drain began, CHIO_EDEADLK from @k's own clock (which runs under
 * the start and revocation locks and on the draining thread: a call from
 * it could wait for its own thread). */
int chio__kernel_enter(chio_kernel *k)
{
    uint32_t *n = my_shard(k);

    if (chio__kernel_in_clock(k))
        return CHIO_EDEADLK;
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

void chio__kernel_leave(chio_kernel *k)
{
    /* A write this call made outside the commit stage (a revocation, an
     * archiving pass) may have failed: the kernel fails closed before the
     * next call could dispatch a tool whose receipt cannot be written. */
    chio__kernel_check_store(k);
    inside_drop(k);
    __atomic_sub_fetch(my_shard(k), 1, __ATOMIC_SEQ_CST);
}

/* Drain's side: callers still between their state check and their push.
 * A caller that enters a shard after this read of it comes after drain's
 * state store in the single seq_cst order, sees DRAINING and backs out
 * without pushing; so one pass that reads every shard as zero means none
 * will push. */
int chio__kernel_callers_in_flight(chio_kernel *k)
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
 * Where a wait for a credit could wait for its own thread: @k's own
 * threads (credits come back only through them) and @k's log sink, which
 * holds the log lock that the threads returning credits, and the callbacks
 * they run, may take (a callback that logs through the kernel).
 */
static int cannot_wait_here(const chio_kernel *k)
{
    return chio__kernel_on_own_thread(k) || chio__log_in_sink(k);
}

/*
 * Take one credit. With @block, sleep while the budget is spent; without,
 * return CHIO_EAGAIN. Where a wait could never end (cannot_wait_here) it
 * returns CHIO_EDEADLK instead of sleeping.
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
        if (cannot_wait_here(k)) /* the wait could be for this very thread */
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

int chio__kernel_credit_take(chio_kernel *k, int block)
{
    return credit_take(k, block);
}

const char chio__credit_refusal[] =
    "the in-flight budget is spent and this thread (a completion callback, the log sink or a "
    "kernel thread) cannot wait for a credit; submit from another thread";

int chio__kernel_credit_ahead(chio_kernel *k, chio_error *err)
{
    int rc;

    if (!cannot_wait_here(k))
        return 0; /* the signing itself may wait for its credit */
    rc = credit_take(k, 1);
    if (rc != 0)
        return chio__fail(err, rc, CHIO_NO_OFFSET, "%s", chio__credit_refusal);
    return 1;
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
    if (chio__kernel_in_clock(k))
        return chio__fail(err, CHIO_EDEADLK, CHIO_NO_OFFSET, "%s", chio__clock_refusal);
    if (chio__log_in_sink(k))
        return chio__fail(err, CHIO_EDEADLK, CHIO_NO_OFFSET,
                          "a synchronous kernel call from the kernel's log sink could wait for "
                          "the sink's own thread; hand the event to a thread of the host's");
    if (chio__kernel_on_own_thread(k) && !chio__kernel_on_completer(k))
        return chio__fail(err, CHIO_EDEADLK, CHIO_NO_OFFSET,
                          "a synchronous kernel call from the kernel's clock on one of its own "
                          "threads would wait for that thread; hand it to a thread of the host's");
    if (!chio__kernel_on_completer(k))
        return 0;
    return chio__fail(err, CHIO_EDEADLK, CHIO_NO_OFFSET,
                      "a synchronous kernel call from a completion callback would wait for the "
                      "callback's own thread; use the asynchronous call");
}
