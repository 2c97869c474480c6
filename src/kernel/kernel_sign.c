/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/kernel_sign.c - the kernel's signing entry points, the caller's
 * side of signing: chio_kernel_sign_receipt, chio_kernel_try_sign_receipt,
 * chio_kernel_sign_receipt_async and the kernel's own receipts
 * (chio__kernel_sign_entered, chio__kernel_sign_async_entered). A request
 * is prepared on the caller's thread, then signed there when the pipeline
 * is idle (signer.c, "caller runs") or pushed on the ring, and a
 * synchronous caller waits for its commit (chio__done_ev).
 *
 * Starts the kernel through chio__kernel_ensure_started (kernel.c), and
 * takes callers in flight and credits through admission.c. Holds no lock
 * of its own; a request is published to its signer by a release store.
 */
#include <stdlib.h>
#include <string.h>

#include "chio/kernel.h"
#include "kernel_internal.h"

/*
 * Queue one request. @req is the caller's (stack for sync, heap for
 * async). Takes @b, and the credit the caller took ahead when @held. On 0
 * the request is on its way and will be completed; on error nothing was
 * queued, @req->prep is empty and the credit is returned.
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

/* This thread's bit of chio__done_ev: threads take the 32 bits in turn, so a
 * group's wake reaches few callers outside the group. */
static _Thread_local uint32_t wake_bit;
static uint32_t wake_bits_taken;

static uint32_t thread_wake_bit(void)
{
    if (wake_bit == 0)
        wake_bit = 1u << (__atomic_fetch_add(&wake_bits_taken, 1, __ATOMIC_RELAXED) % 32);
    return wake_bit;
}

static int submit(chio_kernel *k, chio_receipt_builder *b, chio__receipt_fields *f, int block,
                  int entered, int held, chio__sign_req *req, chio_error *err)
{
    int rc, is_sync;

    memset(&req->prep, 0, sizeof(req->prep));
    rc = entered ? 0 : chio__kernel_enter(k);
    if (rc != 0) {
        discard(b, f);
        return chio__fail(err, rc, CHIO_NO_OFFSET, "%s", chio__kernel_enter_refusal(rc));
    }
    rc = chio__kernel_ensure_started(k, err);
    if (rc == 0 && __atomic_load_n(&k->failed, __ATOMIC_SEQ_CST))
        rc = chio__fail(err, CHIO_EFAILED, CHIO_NO_OFFSET,
                        "kernel failed closed after a receipt store error; reopen it");
    if (rc != 0 && held)
        chio__credits_release(k, 1); /* taken ahead for this request, not used */
    if (rc == 0 && !held) {
        rc = chio__kernel_credit_take(k, block);
        if (rc == CHIO_EAGAIN)
            rc = chio__fail(err, rc, CHIO_NO_OFFSET, "the kernel's in-flight budget is spent");
        else if (rc != 0)
            rc = chio__fail(err, rc, CHIO_NO_OFFSET, "%s", chio__credit_refusal);
    }
    if (rc != 0) {
        if (!entered)
            chio__kernel_leave(k);
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
            chio__kernel_leave(k);
        return rc;
    }
    req->rc = 0;
    req->seq = 0;
    req->next = NULL;
    is_sync = req->cb == NULL; /* read before the request is published */
    if (is_sync)
        req->wake_bit = thread_wake_bit();
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
                chio__kernel_leave(k);
            return 0;
        }
    }
    rc = chio__queue_push_mpmc(&k->queue, req, block);
    if (rc != 0)
        chio__credits_release(k, 1);
    if (!entered)
        chio__kernel_leave(k);
    if (rc != 0) {
        chio__receipt_prep_destroy(&req->prep);
        return chio__fail(err, rc, CHIO_NO_OFFSET, "the signing queue is full");
    }
    return 0;
}

/* Wait for the commit thread, then turn the request into a receipt. The
 * caller may have left the kernel already, which a drain and a free may
 * then end at any time after the commit: nothing here touches it. */
static int await(chio__sign_req *req, chio_receipt **out, chio_error *err)
{
    int spins;

    for (spins = 0; spins < 64; spins++)
        if (__atomic_load_n(&req->done, __ATOMIC_ACQUIRE))
            break;
    /* The recheck after prepare is seq_cst, as the event's protocol needs
     * (event.h; pairs with chio__commit_finish's store and the signal). */
    while (!__atomic_load_n(&req->done, __ATOMIC_ACQUIRE)) {
        uint32_t key = chio__event_prepare(&chio__done_ev);
        if (__atomic_load_n(&req->done, __ATOMIC_SEQ_CST)) {
            chio__event_cancel(&chio__done_ev);
            break;
        }
        chio__event_wait_bits(&chio__done_ev, key, req->wake_bit);
    }
    if (req->rc != 0) {
        int rc = req->rc;
        chio__receipt_prep_destroy(&req->prep);
        /* A failed write failed the kernel closed (commit.c): say so, the
         * caller's only sign that every later call will be refused. */
        if (rc == CHIO_ESTORE || rc == CHIO_ECORRUPT || rc == CHIO_EFAILED)
            return chio__fail(err, rc, CHIO_NO_OFFSET,
                              "receipt not committed: %s; the kernel failed closed (every "
                              "later call is refused until it is reopened; its "
                              "store_write_failed log line has the store's error)",
                              chio_strerror(rc));
        return chio__fail(err, rc, CHIO_NO_OFFSET, "receipt not committed: %s", chio_strerror(rc));
    }
    *out = chio__receipt_prep_finish(&req->prep);
    return 0;
}

/* @entered: inside a call, which on the completion thread is one a
 * callback submitted; its receipts must be signed there (a tool's nested
 * requests), and can be: the commit never waits for the completion
 * thread, and a credit wanted there is taken ahead or refused at once. */
static int sign_sync(chio_kernel *k, chio_receipt_builder *b, chio__receipt_fields *f, int block,
                     int entered, int held, chio_receipt **out, chio_error *err)
{
    chio__sign_req req;
    int rc;

    rc = entered ? 0 : chio__kernel_refuse_reentry(k, err);
    if (rc != 0) {
        discard(b, f);
        return rc;
    }
    memset(&req, 0, sizeof(req));
    rc = submit(k, b, f, block, entered, held, &req, err);
    return rc ? rc : await(&req, out, err);
}

int chio_kernel_sign_receipt(chio_kernel *k, chio_receipt_builder *b, chio_receipt **out,
                             chio_error *err)
{
    if (out != NULL) /* NULL on every failure */
        *out = NULL;
    if (out == NULL || k == NULL) {
        chio_receipt_builder_free(b);
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL kernel or out");
    }
    if (b == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL builder");
    return sign_sync(k, b, NULL, 1, 0, 0, out, err);
}

int chio_kernel_try_sign_receipt(chio_kernel *k, chio_receipt_builder *b, chio_receipt **out,
                                 chio_error *err)
{
    if (out != NULL) /* NULL on every failure */
        *out = NULL;
    if (out == NULL || k == NULL || b == NULL) {
        chio_receipt_builder_free(b);
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL kernel, builder or out");
    }
    /* Consumes @b whatever the outcome, CHIO_EAGAIN included: no copy. */
    return sign_sync(k, b, NULL, 0, 0, 0, out, err);
}

static int sign_async(chio_kernel *k, chio_receipt_builder *b, chio__receipt_fields *f,
                      chio_sign_cb cb, void *ctx, int entered, int held, chio_error *err)
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
        if (held)
            chio__credits_release(k, 1);
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
    req->cb = cb;
    req->cb_ctx = ctx;
    rc = submit(k, b, f, 1, entered, held, req, err);
    if (rc != 0)
        free(req);
    return rc;
}

int chio_kernel_sign_receipt_async(chio_kernel *k, chio_receipt_builder *b, chio_sign_cb cb,
                                   void *ctx, chio_error *err)
{
    return sign_async(k, b, NULL, cb, ctx, 0, 0, err);
}

int chio__kernel_sign_entered(chio_kernel *k, chio__receipt_fields *f, int held, chio_receipt **out,
                              chio_error *err)
{
    *out = NULL;
    return sign_sync(k, NULL, f, 1, 1, held, out, err);
}

int chio__kernel_sign_async_entered(chio_kernel *k, chio__receipt_fields *f, int held,
                                    chio_sign_cb cb, void *ctx, chio_error *err)
{
    return sign_async(k, NULL, f, cb, ctx, 1, held, err);
}
