/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/restore.c - the commit stage's state from an open store, before
 * the pipeline starts: the next sequence number, the hash chain checked
 * against the signed log head (a log whose tail vanished or grew behind
 * the kernel's back is refused), the checkpoint chain, the leaves since
 * the last checkpoint, and the checkpoints an earlier run owed (cut and
 * signed here, on the starting thread, with a head naming the newest).
 * Runs on the thread starting the kernel; no locks.
 */
#include <stdlib.h>
#include <string.h>

#include "chio/checkpoint.h"
#include "chio/merkle.h"
#include "kernel_internal.h"

/* At restore, before the pipeline runs: cut and sign a checkpoint owed
 * from an earlier run on this thread (while serving, checkpointer.c). */
static int cut_checkpoint(chio_kernel *k, chio__store_batch *b, uint64_t end_seq, chio_error *err)
{
    chio_checkpoint *cp = NULL;
    uint8_t root[32];
    const char *json;
    size_t len;
    int rc;

    rc = chio_merkle_root(k->pending_leaves, (size_t)k->npending, root);
    if (rc == 0)
        rc = chio_checkpoint_sign(k->kp, k->next_checkpoint_seq, end_seq - k->npending + 1, end_seq,
                                  root, chio__kernel_now(k),
                                  k->prev_checkpoint_sha[0] ? k->prev_checkpoint_sha : NULL, &cp,
                                  err);
    if (rc != 0)
        return rc;
    json = chio_checkpoint_json(cp, &len);
    chio__store_batch_put_checkpoint(b, k->store, k->next_checkpoint_seq, json, len);
    memcpy(k->prev_checkpoint_sha, chio_checkpoint_body_sha256(cp), 65);
    k->next_checkpoint_seq++;
    k->npending = 0;
    chio_checkpoint_free(cp);
    return 0;
}

/* The receipts after the last checkpoint, read back for the next one:
 * their chain is recomputed too, and must end at the signed head's value,
 * or a receipt swapped since its commit would be signed into a checkpoint.
 *
 * Checkpoints an earlier run owes (it ran with checkpoints off, or with a
 * larger batch) are cut while reading, each as soon as its batch is
 * complete, and written CATCH_UP_CHUNK at a time: the leaves held never
 * exceed one batch (the bound CHIO_MAX_CHECKPOINT_BATCH_SIZE promises),
 * and the work is linear in the receipts read. Since they are signed
 * while reading, the chain is checked in a first read before any is. */
#define CATCH_UP_CHUNK 256
#define SCAN_PAUSE     1 /* a visit's "stop here" (errors are negative) */

typedef struct leaf_scan {
    chio_kernel *k;
    int check;            /* recompute the chain */
    int keep;             /* keep the leaves (and cut what is owed) */
    uint8_t link[32];     /* the chain value so far */
    chio__store_batch *b; /* the owed checkpoints cut since the last write */
    uint64_t cut, next;   /* checkpoints in @b; the next sequence number to read */
    uint64_t expect;      /* the sequence number the next receipt read must have */
    chio_error *err;
} leaf_scan;

static int restore_leaf(void *ctx, uint64_t seq, const char *json, size_t len)
{
    leaf_scan *ls = ctx;
    uint8_t leaf[32];
    int rc;

    /* Contiguous from where the read began: the chain is checked only
     * from its (unsigned) anchor, so a receipt deleted with the anchor
     * moved past it would still hash to the head, and a checkpoint cut
     * here would skip it. */
    if (seq != ls->expect)
        return chio__fail(ls->err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                          "receipt %llu is missing from the receipts after the last checkpoint "
                          "(the next stored is %llu); audit it with chio receipt verify "
                          "--receipt-db",
                          (unsigned long long)ls->expect, (unsigned long long)seq);
    ls->expect = seq + 1;
    rc = chio_merkle_leaf_hash(json, len, leaf);
    if (rc == 0 && ls->check)
        rc = chio__store_chain_step(ls->link, leaf, ls->link);
    if (rc != 0 || !ls->keep)
        return rc;
    rc = chio__kernel_add_leaf(ls->k, leaf);
    ls->next = seq + 1;
    if (rc == 0 && ls->k->npending == ls->k->checkpoint_batch_size) {
        rc = cut_checkpoint(ls->k, ls->b, seq, ls->err);
        if (rc == 0 && ++ls->cut == CATCH_UP_CHUNK)
            rc = SCAN_PAUSE; /* write these before reading on */
    }
    return rc;
}

/* Write the owed checkpoints cut so far, with a head naming the newest: a
 * crash after this write leaves a log the next start continues from. */
static int write_owed(chio_kernel *k, leaf_scan *ls, chio_error *err)
{
    int rc;

    if (ls->cut == 0)
        return 0;
    k->written_checkpoint_seq = k->next_checkpoint_seq - 1;
    rc = chio__kernel_put_head(k, ls->b, err);
    if (rc == 0)
        rc = chio__store_write(k->store, ls->b, 1, err);
    /* Durable now (synced): the store's high-water mark, as for the
     * checkpoints the commit thread cuts (commit.c), or deleting these and
     * writing back the head from before this start would go unseen. */
    if (rc == 0) {
        __atomic_add_fetch(&k->m_checkpoints, ls->cut, __ATOMIC_RELAXED);
        chio__store_note_checkpoint(k->store, k->written_checkpoint_seq, 1);
        rc = chio__store_mark_error(k->store, err); /* not marked: no start */
    }
    ls->cut = 0;
    return rc;
}

/* Read @from..@last once more, keeping the leaves and cutting (and
 * writing) each owed checkpoint on the way. */
static int cut_owed(chio_kernel *k, leaf_scan *ls, uint64_t from, uint64_t last, chio_error *err)
{
    int rc = 0;

    ls->keep = 1;
    ls->check = 0; /* checked by the first read */
    ls->err = err;
    ls->next = from;
    ls->expect = from;
    while (rc == 0 && ls->next <= last) {
        ls->b = chio__store_batch_new();
        if (ls->b == NULL)
            return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
        rc = chio_store_scan(k->store, ls->next, restore_leaf, ls, err);
        if (rc == SCAN_PAUSE)
            rc = 0;
        else if (rc == 0)
            ls->next = last + 1; /* read to the end */
        if (rc == 0)
            rc = write_owed(k, ls, err);
        chio__store_batch_free(ls->b);
        ls->b = NULL;
    }
    return rc;
}

static int restore_leaves(chio_kernel *k, uint64_t from, uint64_t last, chio_error *err)
{
    leaf_scan ls;
    int rc, owed;

    memset(&ls, 0, sizeof(ls));
    ls.k = k;
    ls.err = err;
    ls.expect = from;
    /* Checked when the whole range is chained (restore_chain vouched for
     * k->chain_prev, the head's value at @last). */
    ls.check = k->chain_from > 0 && from >= k->chain_from;
    if (ls.check && from > k->chain_from &&
        chio__store_get_chain(k->store, from - 1, ls.link, NULL) != 0)
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                          "the hash chain entry of receipt %llu is missing; audit it with chio "
                          "receipt verify --receipt-db",
                          (unsigned long long)(from - 1));
    /* Fewer than a batch: one read keeps them. Otherwise the first read
     * only checks the chain (none when there is no chain to check), and
     * cut_owed() reads again. */
    owed = last - from + 1 >= k->checkpoint_batch_size;
    ls.keep = !owed;
    rc = owed && !ls.check ? 0 : chio_store_scan(k->store, from, restore_leaf, &ls, err);
    if (rc == 0 && (owed ? ls.check : 1) && ls.expect != last + 1)
        rc = chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                        "the receipts after the last checkpoint end at %llu, not at the log's "
                        "last, %llu; audit it with chio receipt verify --receipt-db",
                        (unsigned long long)(ls.expect - 1), (unsigned long long)last);
    if (rc == 0 && ls.check && memcmp(ls.link, k->chain_prev, 32) != 0)
        rc = chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                        "the receipts %llu..%llu do not hash to the signed log head (changed "
                        "since their commit?); audit it with chio receipt verify --receipt-db",
                        (unsigned long long)from, (unsigned long long)last);
    if (rc == 0 && owed)
        rc = cut_owed(k, &ls, from, last, err);
    return rc;
}

/* The chain value to continue from, checked against the signed head: a
 * log whose tail vanished (or grew) since its last commit is refused. */
static int restore_chain(chio_kernel *k, uint64_t last, chio_error *err)
{
    chio__record_state hs;
    chio__log_head h;
    uint8_t stored[32], mine[32];
    int rc;

    memset(k->chain_prev, 0, sizeof(k->chain_prev));
    rc = chio__store_read_head(k->store, &h, &hs, err);
    if (rc != 0)
        return rc;
    if (hs == CHIO__RECORD_ABSENT) {
        /* Nothing chained yet: the log must end right before the chain. */
        if (last + 1 != k->chain_from)
            return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                              "the receipt log ends at %llu but has no log head (its chain "
                              "starts at %llu); audit it with chio receipt verify --receipt-db",
                              (unsigned long long)last, (unsigned long long)k->chain_from);
        return 0;
    }
    chio_keypair_public_key(k->kp, mine);
    if (hs != CHIO__RECORD_OK || memcmp(h.key, mine, 32) != 0)
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                          "the receipt log's head %s; audit it with chio receipt verify "
                          "--receipt-db",
                          hs == CHIO__RECORD_UNREADABLE ? "is unreadable"
                          : hs == CHIO__RECORD_BADSIG   ? "has a bad signature"
                                                        : "is signed by another key");
    if (h.last_seq != last)
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                          "the receipt log ends at %llu but its signed head says %llu: receipts "
                          "were %s; audit it with chio receipt verify --receipt-db",
                          (unsigned long long)last, (unsigned long long)h.last_seq,
                          last < h.last_seq ? "lost" : "added behind the kernel's back");
    if (last >= h.chain_from) {
        rc = chio__store_get_chain(k->store, last, stored, err);
        if (rc == 0 && memcmp(stored, h.chain, 32) != 0)
            rc = chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                            "the hash chain at %llu differs from the signed log head",
                            (unsigned long long)last);
        if (rc != 0)
            return rc == CHIO_ENOTFOUND
                       ? chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                                    "the hash chain entry of receipt %llu is missing",
                                    (unsigned long long)last)
                       : rc;
    }
    k->chain_from = h.chain_from;
    memcpy(k->chain_prev, h.chain, 32);
    return 0;
}

/* The newest checkpoint a kernel writing without WAL syncs made durable
 * (u64 metadata, written synced after the checkpoint itself: sentinel.c's
 * mark_durable). The log must still hold it (archiving keeps the newest):
 * one ending before it had checkpoints cut from its tail, and continuing
 * would cut and sign them again, erasing the trace the sentinel file
 * alone kept, and that an edit of it took away (review 49). */
static int check_durable(chio_kernel *k, uint64_t last_cp, chio_error *err)
{
    uint64_t durable = 0;
    int rc = chio__store_get_meta_u64(k->store, CHIO__META_DURABLE_CHECKPOINT, &durable, err);

    if (rc == CHIO_ECORRUPT)
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                          "the receipt store's " CHIO__META_DURABLE_CHECKPOINT
                          " record is not an 8-byte "
                          "number; audit it with chio receipt verify --receipt-db");
    if (rc != 0)
        return rc;
    if (durable > last_cp)
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                          "the receipt store is damaged: checkpoint %llu was durable but the "
                          "log now ends at checkpoint %llu (cut from its tail?); audit it with "
                          "chio receipt verify --receipt-db",
                          (unsigned long long)durable, (unsigned long long)last_cp);
    return 0;
}

/* The log's first receipt @first (0: none) against the start @start it
 * should have (1, or retained_from_seq). */
static int check_start(uint64_t first, uint64_t start, chio_error *err)
{
    if (first == 0 || first == start)
        return 0;
    if (first > start)
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                          "the receipt log starts at %llu but should start at %llu: receipts "
                          "%llu..%llu are missing; audit it with chio receipt verify --receipt-db",
                          (unsigned long long)first, (unsigned long long)start,
                          (unsigned long long)start, (unsigned long long)(first - 1));
    return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                      "the receipt log starts at %llu but should start at %llu (its "
                      "retained_from_seq record): receipts %llu..%llu are stored before the log's "
                      "start (the record raised, or receipts added?); audit it with chio receipt "
                      "verify --receipt-db",
                      (unsigned long long)first, (unsigned long long)start,
                      (unsigned long long)first, (unsigned long long)(start - 1));
}

int chio__commit_restore(chio_kernel *k, chio_error *err)
{
    uint64_t first = 0, last = 0, last_cp = 0, from = 1;
    chio_checkpoint *cp = NULL;
    char *json = NULL;
    size_t len = 0;
    uint64_t retained = 0;
    int rc;

    rc = chio_store_seq_range(k->store, &first, &last, err);
    if (rc == 0)
        rc = chio_store_last_checkpoint_seq(k->store, &last_cp, err);
    if (rc == 0)
        rc = chio__store_get_meta_u64(k->store, CHIO__META_RETAINED_SEQ, &retained, err);
    if (rc != 0)
        return rc;
    /* The log must start where it should (1, or where archiving left it):
     * continuing a log whose beginning vanished would hide the loss, and
     * one holding receipts before it (the record raised, or receipts put
     * back) would leave them to an audit that names them. Worded by
     * direction: before review 9 (audit) both said "missing". */
    rc = check_start(first, retained ? retained : 1, err);
    if (rc != 0)
        return rc;
    /* No receipt can follow one numbered 2^64-1 (the next would wrap to 0
     * and overwrite the log from its start). */
    if (last == UINT64_MAX)
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                          "the receipt log holds a receipt numbered %llu, after which no "
                          "receipt can be numbered; audit it with chio receipt verify "
                          "--receipt-db",
                          (unsigned long long)last);
    rc = restore_chain(k, last, err);
    /* before anything is written (the owed checkpoints cut below) */
    if (rc == 0)
        rc = check_durable(k, last_cp, err);
    if (rc != 0)
        return rc;
    k->next_seq = last + 1;
    k->next_checkpoint_seq = last_cp + 1;
    k->written_checkpoint_seq = last_cp;
    k->prev_checkpoint_sha[0] = '\0';
    k->npending = 0;
    if (last_cp > 0) {
        rc = chio_store_get_checkpoint(k->store, last_cp, &json, &len, err);
        if (rc == 0)
            rc = chio_checkpoint_parse(json, len, &cp, err);
        free(json);
        if (rc != 0)
            return rc;
        if (chio_checkpoint_batch_end(cp) > last) {
            chio_checkpoint_free(cp);
            return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                              "checkpoint %llu covers receipts up to %llu but the log ends at %llu",
                              (unsigned long long)last_cp,
                              (unsigned long long)chio_checkpoint_batch_end(cp),
                              (unsigned long long)last);
        }
        memcpy(k->prev_checkpoint_sha, chio_checkpoint_body_sha256(cp), 65);
        from = chio_checkpoint_batch_end(cp) + 1;
        chio_checkpoint_free(cp);
        /* Archiving keeps the newest checkpoint and every receipt after
         * it (retention.c): a log starting past them lost receipts. */
        if (first > from)
            return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                              "the receipt log starts at %llu but its newest checkpoint ends at "
                              "%llu: receipts %llu..%llu are missing; audit it with chio receipt "
                              "verify --receipt-db",
                              (unsigned long long)first, (unsigned long long)(from - 1),
                              (unsigned long long)from, (unsigned long long)(first - 1));
    } else if (first > 0) {
        from = first;
    }
    if (k->checkpoint_batch_size > 0 && last >= from) {
        rc = restore_leaves(k, from, last, err);
        if (rc != 0)
            return rc;
    }
    k->written_checkpoint_seq = k->next_checkpoint_seq - 1;
    __atomic_store_n(&k->m_last_seq, last, __ATOMIC_RELAXED);
    __atomic_store_n(&k->m_last_checkpoint_seq, k->next_checkpoint_seq - 1, __ATOMIC_RELAXED);
    return 0;
}
