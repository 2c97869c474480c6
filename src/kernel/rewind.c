/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/rewind.c - undoing a group the commit stage could not finish
 * before its write.
 *
 * Building a group changes the stage's state in memory first: sequence
 * numbers, the hash chain value, the pending Merkle leaves, cut
 * checkpoints, the ready checkpoints taken for the batch. A failure while
 * the batch is built (out of memory, a hash or a signature that libcrypto
 * could not compute) leaves the store untouched, so the stage goes back to
 * the mark taken before the group: the group's requests fail (no receipt,
 * no sequence number), the kernel does not fail closed, and the next group
 * continues the log where the last write left it. Only a failed write
 * (what is on disk is then unknown) fails the kernel closed (commit.c).
 *
 * Commit stage only (see signer.c, "Locking").
 */
#include <string.h>

#include "kernel_internal.h"

void chio__commit_mark_take(const chio_kernel *k, chio__commit_mark *m)
{
    m->next_seq = k->next_seq;
    m->npending = k->npending;
    m->next_checkpoint_seq = k->next_checkpoint_seq;
    m->written_checkpoint_seq = k->written_checkpoint_seq;
    memcpy(m->chain_prev, k->chain_prev, 32);
}

/* Put @ready back at the head of the ready list, in order, for the next
 * group: they are signed and chained, and still owed. */
static void unready(chio_kernel *k, chio__cp_job *ready)
{
    chio__cp_job *last;

    if (ready == NULL)
        return;
    for (last = ready; last->next != NULL; last = last->next)
        ;
    pthread_mutex_lock(&k->commit_mu);
    last->next = k->cp_ready_head;
    k->cp_ready_head = ready;
    if (k->cp_ready_tail == NULL)
        k->cp_ready_tail = last;
    pthread_mutex_unlock(&k->commit_mu);
}

void chio__commit_rewind(chio_kernel *k, const chio__commit_mark *m, chio__cp_job *cut,
                         chio__cp_job *ready)
{
    k->next_seq = m->next_seq;
    k->next_checkpoint_seq = m->next_checkpoint_seq;
    k->written_checkpoint_seq = m->written_checkpoint_seq;
    memcpy(k->chain_prev, m->chain_prev, 32);
    /* A cut moved the leaves pending at the mark into the first cut job
     * (and the buffer, at least that large, was reused after it). */
    if (cut != NULL && m->npending > 0)
        memcpy(k->pending_leaves, cut->leaves, (size_t)m->npending * 32);
    k->npending = m->npending;
    chio__checkpoints_drop(k, cut);
    unready(k, ready);
}
