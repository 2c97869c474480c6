/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store/retention_check.c - does what an archiving pass (retention.c) is
 * about to move audit clean? Once moved, receipts and checkpoints leave
 * the live log and its audit; a tampered prefix moved without a word left
 * a live log that audited clean, the evidence only in the archive (review
 * 19 audit F3). So before anything moves, the pass runs over every range
 * it would move and this checks, with what it reads anyway:
 *
 * - the receipts follow each other from where the live log starts;
 * - each one's hash chain link: the stored c(seq) is SHA-256(c(seq - 1) ||
 *   leaf) (from chain_from on, c(chain_from - 1) being zeros), and so is
 *   the link into the first receipt that stays, which binds the anchor the
 *   live log keeps to the receipts after it;
 * - each checkpoint it moves: stored under its own number, signed, its
 *   Merkle root the one of the stored receipts of its range, and named
 *   (previous_checkpoint_sha256) by the checkpoint after it, with the range
 *   right after its own.
 *
 * A range that fails is refused with CHIO_ECORRUPT naming the sequence
 * number, before anything is written. Receipt signatures are the audit's:
 * the links bind the receipts to the chain the live log's signed head
 * vouches for, and the roots to the signed checkpoints. Calls the model
 * layer (checkpoints, Merkle hashes) and the store's read API; no locks.
 */
#include <stdlib.h>
#include <string.h>

#include "chio/checkpoint.h"
#include "chio/merkle.h"
#include "internal.h"
#include "store_internal.h"

static const char refuse_tail[] = "; archiving refused, nothing was moved (audit the log with "
                                  "chio receipt verify --receipt-db)";

int chio__archive_check_begin(chio_store *live, chio__archive_check *c, chio_error *err)
{
    chio__record_state ks;
    uint8_t key[32];
    char hex[65];
    uint64_t key_from = 0, meta_from = 0, start = 0, first_cp = 0;
    int rc;

    memset(c, 0, sizeof(*c));
    c->live = live;
    rc = chio__store_read_key_record_from(live, key, hex, &key_from, &ks, err);
    if (rc == 0)
        rc = chio__store_get_meta_u64(live, CHIO__META_CHAIN_FROM, &meta_from, err);
    if (rc == 0)
        rc = chio__store_get_meta_u64(live, CHIO__META_RETAINED_SEQ, &start, err);
    if (rc == 0)
        rc = chio__store_get_meta_u64(live, CHIO__META_RETAINED_CHECKPOINT, &first_cp, err);
    if (rc != 0)
        return rc;
    /* Where the chain starts as the audit reads it: the key record's
     * signed value wins over the unsigned record; a log with chain
     * entries but neither is checked from 1. */
    c->chain_from = ks == CHIO__RECORD_OK && key_from > 0 ? key_from : meta_from;
    if (c->chain_from == 0) {
        rc = chio__store_has_chain(live, err);
        if (rc < 0)
            return rc;
        c->chain_from = rc > 0 ? 1 : 0;
    }
    c->expect = start > 0 ? start : 1;
    c->expect_cp = first_cp > 0 ? first_cp : 1;
    return 0;
}

void chio__archive_check_end(chio__archive_check *c)
{
    free(c->leaves);
    c->leaves = NULL;
    c->nleaves = c->capleaves = 0;
}

void chio__archive_check_range(chio__archive_check *c)
{
    c->nleaves = 0;
}

/* c(seq) read into @out: 0, or a refusal naming @seq when it is missing. */
static int chain_at(chio__archive_check *c, uint64_t seq, uint8_t out[32], chio_error *err)
{
    int rc;

    if (c->have_prev && c->prev_seq == seq) {
        memcpy(out, c->prev, 32);
        return 0;
    }
    rc = chio__store_get_chain(c->live, seq, out, NULL);
    if (rc == CHIO_ENOTFOUND || rc == CHIO_ECORRUPT)
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                          "the hash chain entry of receipt %llu is %s%s", (unsigned long long)seq,
                          rc == CHIO_ENOTFOUND ? "missing" : "not 32 bytes", refuse_tail);
    if (rc != 0)
        return chio__fail(err, CHIO_ESTORE, CHIO_NO_OFFSET, "reading the hash chain failed");
    return 0;
}

/* The link of receipt @seq with leaf @leaf (@seq >= chain_from). */
static int check_link(chio__archive_check *c, uint64_t seq, const uint8_t leaf[32], int staying,
                      chio_error *err)
{
    uint8_t prev[32], stored[32], want[32];
    int rc = 0;

    if (seq == c->chain_from)
        memset(prev, 0, 32);
    else
        rc = chain_at(c, seq - 1, prev, err);
    if (rc == 0)
        rc = chain_at(c, seq, stored, err);
    if (rc != 0)
        return rc;
    if (chio__store_chain_step(prev, leaf, want) != 0)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "hashing failed");
    if (memcmp(want, stored, 32) != 0)
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                          "receipt %llu is not the one the hash chain recorded at its position "
                          "(chain_mismatch: %s)%s",
                          (unsigned long long)seq,
                          staying ? "it stays, so the last receipt to move before it, or its "
                                    "chain entry, was changed"
                                  : "the receipt or its chain entry was changed",
                          refuse_tail);
    memcpy(c->prev, stored, 32);
    c->prev_seq = seq;
    c->have_prev = 1;
    return 0;
}

int chio__archive_check_receipt(chio__archive_check *c, uint64_t seq, const char *json, size_t len,
                                chio_error *err)
{
    uint8_t leaf[32];
    int rc;

    if (seq < c->expect)
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                          "receipt %llu is stored before receipt %llu, where the log starts "
                          "(receipt_before_log_start)%s",
                          (unsigned long long)seq, (unsigned long long)c->expect, refuse_tail);
    if (seq > c->expect)
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                          "receipt %llu is missing (the next stored is %llu)%s",
                          (unsigned long long)c->expect, (unsigned long long)seq, refuse_tail);
    if (chio_merkle_leaf_hash(json, len, leaf) != 0)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "hashing failed");
    if (c->chain_from > 0 && seq >= c->chain_from) {
        rc = check_link(c, seq, leaf, 0, err);
        if (rc != 0)
            return rc;
    }
    if (c->nleaves == c->capleaves) {
        size_t cap = c->capleaves ? c->capleaves * 2 : 256;
        uint8_t *p = realloc(c->leaves, cap * 32);
        if (p == NULL)
            return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
        c->leaves = p;
        c->capleaves = cap;
    }
    memcpy(c->leaves + 32 * c->nleaves++, leaf, 32);
    c->expect = seq + 1;
    return 0;
}

static int bad_cp(chio_error *err, uint64_t cseq, const char *why)
{
    return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET, "checkpoint %llu %s%s",
                      (unsigned long long)cseq, why, refuse_tail);
}

/* The checkpoint after the moved one names it and continues its range. */
static int check_successor(const chio_checkpoint *cp, uint64_t cseq, uint64_t next_cseq,
                           const char *next_json, size_t next_len, chio_error *err)
{
    chio_checkpoint *n = NULL;
    const char *prev;
    int ok;

    if (next_cseq != cseq + 1)
        return bad_cp(err, cseq,
                      "is not followed by the next number (the checkpoint after it is "
                      "stored under another)");
    if (chio_checkpoint_parse(next_json, next_len, &n, NULL) != 0)
        return bad_cp(err, next_cseq, "(the one after the last to move) is unreadable");
    prev = chio_checkpoint_previous_sha256(n);
    ok = prev != NULL && strcmp(prev, chio_checkpoint_body_sha256(cp)) == 0 &&
         chio_checkpoint_batch_start(n) == chio_checkpoint_batch_end(cp) + 1;
    chio_checkpoint_free(n);
    return ok ? 0
              : bad_cp(err, cseq,
                       "is not the one the checkpoint after it names, or that one's range does "
                       "not follow it (invalid_checkpoint: chain)");
}

int chio__archive_check_checkpoint(chio__archive_check *c, uint64_t cseq, const char *json,
                                   size_t len, uint64_t next_cseq, const char *next_json,
                                   size_t next_len, chio_error *err)
{
    chio_checkpoint *cp = NULL;
    uint8_t root[32];
    uint64_t start, end;
    int rc;

    if (cseq > c->expect_cp)
        return bad_cp(err, c->expect_cp, "is missing (the first stored is later)");
    if (cseq < c->expect_cp)
        return bad_cp(err, cseq, "is stored before the checkpoint the log's checkpoints start at");
    if (chio_checkpoint_parse(json, len, &cp, NULL) != 0)
        return bad_cp(err, cseq, "is unreadable (invalid_checkpoint: unreadable)");
    start = chio_checkpoint_batch_start(cp);
    end = chio_checkpoint_batch_end(cp);
    if (chio_checkpoint_seq(cp) != cseq)
        rc = bad_cp(err, cseq, "is stored under another number (invalid_checkpoint: numbering)");
    else if (chio_checkpoint_verify(cp) != 0)
        rc = bad_cp(err, cseq,
                    "does not verify: its signature or body (invalid_checkpoint: signature)");
    else if (end < start || c->nleaves != end - start + 1)
        rc = bad_cp(err, cseq, "does not cover the receipts moved with it");
    else if (chio_merkle_root(c->leaves, c->nleaves, root) != 0)
        rc = chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "hashing failed");
    else if (memcmp(root, chio_checkpoint_merkle_root(cp), 32) != 0)
        rc = chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                        "the stored receipts %llu..%llu do not rebuild the Merkle root checkpoint "
                        "%llu signed (invalid_checkpoint: merkle_root): one of them was "
                        "changed%s",
                        (unsigned long long)start, (unsigned long long)end,
                        (unsigned long long)cseq, refuse_tail);
    else
        rc = check_successor(cp, cseq, next_cseq, next_json, next_len, err);
    chio_checkpoint_free(cp);
    if (rc == 0)
        c->expect_cp = cseq + 1;
    c->nleaves = 0;
    return rc;
}

int chio__archive_check_next(chio__archive_check *c, chio_error *err)
{
    uint64_t seq = c->expect;
    uint8_t leaf[32], stored[32];
    char *json = NULL;
    size_t len = 0;
    int rc;

    /* Only when the last receipt to move has a link of its own. */
    if (c->chain_from == 0 || seq <= c->chain_from || !c->have_prev || c->prev_seq != seq - 1)
        return 0;
    rc = chio_store_get_receipt(c->live, seq, &json, &len, NULL);
    if (rc == CHIO_ENOTFOUND)
        return 0; /* the live log's audit names it, missing where the log then starts */
    if (rc != 0)
        return chio__fail(err, CHIO_ESTORE, CHIO_NO_OFFSET, "reading receipt %llu failed",
                          (unsigned long long)seq);
    rc = chio_merkle_leaf_hash(json, len, leaf);
    free(json);
    if (rc != 0)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "hashing failed");
    /* Without its own entry the live log's audit names it (chain_missing)
     * and checks on from the value it should hold. */
    rc = chio__store_get_chain(c->live, seq, stored, NULL);
    if (rc == CHIO_ENOTFOUND || rc == CHIO_ECORRUPT)
        return 0;
    if (rc != 0)
        return chio__fail(err, CHIO_ESTORE, CHIO_NO_OFFSET, "reading the hash chain failed");
    return check_link(c, seq, leaf, 1, err);
}

/* ---- a log with checkpoints: what the pass cannot read as ranges ---------------------------- */

/* Review 22 (store) F1: by_checkpoints() (retention.c) left its loop without
 * a word where the checkpoints did not give it the next range (checkpoint
 * 1 deleted, one unreadable, the first one not where the log starts) or a
 * range lacked receipts: the pass exited 0 having moved nothing or only
 * the ranges before, and retention never moved past that point again. */

int chio__archive_check_first(chio__archive_check *c, uint64_t cseq, uint64_t start, uint64_t first,
                              chio_error *err)
{
    if (cseq > c->expect_cp)
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                          "checkpoint %llu is missing (the first stored is %llu)%s",
                          (unsigned long long)c->expect_cp, (unsigned long long)cseq, refuse_tail);
    if (cseq < c->expect_cp)
        return bad_cp(err, cseq, "is stored before the checkpoint the log's checkpoints start at");
    if (start != c->expect)
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                          "checkpoint %llu starts at receipt %llu, not at receipt %llu where the "
                          "log starts (invalid_checkpoint: range)%s",
                          (unsigned long long)cseq, (unsigned long long)start,
                          (unsigned long long)c->expect, refuse_tail);
    if (first != 0 && first < c->expect)
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                          "receipt %llu is stored before receipt %llu, where the log starts "
                          "(receipt_before_log_start)%s",
                          (unsigned long long)first, (unsigned long long)c->expect, refuse_tail);
    return 0;
}

int chio__archive_check_bad_checkpoint(uint64_t cseq, const char *why, chio_error *err)
{
    return bad_cp(err, cseq, why);
}

int chio__archive_check_hole(uint64_t cseq, uint64_t start, uint64_t end, uint64_t missing,
                             uint64_t next, chio_error *err)
{
    if (next == 0)
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                          "receipt %llu is missing (checkpoint %llu covers receipts %llu..%llu, "
                          "and none of its receipts from %llu on is stored)%s",
                          (unsigned long long)missing, (unsigned long long)cseq,
                          (unsigned long long)start, (unsigned long long)end,
                          (unsigned long long)missing, refuse_tail);
    return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                      "receipt %llu is missing (checkpoint %llu covers receipts %llu..%llu; the "
                      "next stored is %llu)%s",
                      (unsigned long long)missing, (unsigned long long)cseq,
                      (unsigned long long)start, (unsigned long long)end, (unsigned long long)next,
                      refuse_tail);
}

int chio__archive_check_unreadable(uint64_t seq, chio_error *err)
{
    return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                      "receipt %llu is unreadable or has no receipt id (unreadable_receipt)%s",
                      (unsigned long long)seq, refuse_tail);
}

/* Review 23 (store) F3: numbered from 1, a receipt stored under 0 sorts
 * first, where the pass reads 0 as "no receipt": with checkpoints no range
 * then started at the log's first receipt, by receipts the pass did not
 * run, and it exited 0 having moved nothing. Refused in the words a
 * kernel's start uses (head.c), and so is a checkpoint under 0
 * [`rev63_archive::a_receipt_stored_under_0_refuses_the_pass`]. */
int chio__archive_check_zero(chio_store *live, chio_error *err)
{
    char *json = NULL;
    int rc = chio_store_get_receipt(live, 0, &json, NULL, NULL), what = 0;

    if (rc == 0) {
        free(json);
        what = 1;
    } else if (rc == CHIO_ENOTFOUND) {
        rc = chio_store_get_checkpoint(live, 0, &json, NULL, NULL);
        if (rc == 0) {
            free(json);
            what = 2;
        }
    }
    if (what != 0)
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                          "the receipt store holds a %s numbered 0, which no kernel writes%s",
                          what == 1 ? "receipt" : "checkpoint", refuse_tail);
    if (rc != CHIO_ENOTFOUND)
        return chio__fail(err, rc, CHIO_NO_OFFSET, "reading receipt or checkpoint 0 failed");
    return 0;
}
