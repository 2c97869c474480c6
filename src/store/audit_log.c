/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store/audit_log.c - the receipt log auditor's checks of the log as a
 * whole (audit.c runs them around its scan): before the scan, the key
 * record decides which key the log is pinned to and the signed head is
 * read; after it, the tail the head vouches for (missing receipts and
 * checkpoints, checkpoints past the head's, the hash chain at the head,
 * chain entries past the end)
 * and the id index's entries that name receipts no longer there or
 * carrying another id; number metadata that is not 8 bytes is named. Problems go out as
 * audit.c's lines do. Calls the store's read API; no state.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"
#include "chio/receipt.h"
#include "internal.h"
#include "store_internal.h"

static const char *record_reason(chio__record_state st)
{
    return st == CHIO__RECORD_BADSIG ? "signature" : "unreadable";
}

int chio__audit_meta_u64(audit *a, const char *name, uint64_t *out)
{
    int rc = chio__store_get_meta_u64(a->s, name, out, a->err);

    if (rc != CHIO_ECORRUPT || chio__audit_read_failed(a, rc))
        return rc;
    /* Not 8 bytes: no kernel writes that. Named, read as absent (the
     * stricter reading for each: the log starts at 1, no archive mark, the
     * chain start from the key record), and the audit goes on
     * [`rev47_audit::malformed_metadata_is_named_and_the_audit_goes_on`]. */
    if (a->err != NULL)
        chio_error_init(a->err);
    *out = 0;
    chio__audit_problem(a,
                        "{\"problem\":\"bad_metadata\",\"name\":\"%s\",\"detail\":\"not "
                        "an 8-byte number: no kernel writes that; read as absent\"}",
                        name);
    a->v2->log_problems++;
    return 0;
}

/* One chain key: one that is not 8 bytes named, the others noted (any,
 * and the last). */
static int chain_key(void *ctx, const char *key, size_t klen, size_t vlen)
{
    audit *a = ctx;

    if (klen != 8)
        return chio__audit_odd_key(a, "chain", key, klen, vlen);
    a->chain_any = 1;
    a->chain_last = 0;
    for (size_t i = 0; i < 8; i++)
        a->chain_last = a->chain_last << 8 | (unsigned char)key[i];
    return 0;
}

/* Before the scan: the key record decides the pin; the head is read. */
int chio__audit_prologue(audit *a)
{
    chio_store_audit_v2 *v = a->v2;
    chio__record_state ks, hs;
    uint8_t key[32];
    char key_hex[65];
    uint64_t meta_from = 0, archive = 0, key_from = 0;
    int rc, chained;

    rc = chio__store_read_key_record_from(a->s, key, key_hex, &key_from, &ks, a->err);
    if (rc == 0)
        rc = chio__store_read_head(a->s, &a->head, &hs, a->err);
    if (rc == 0)
        rc = chio__audit_meta_u64(a, CHIO__META_CHAIN_FROM, &meta_from);
    if (rc == 0)
        rc = chio__audit_meta_u64(a, CHIO__META_ARCHIVE, &archive);
    if (rc == 0)
        rc = chio__audit_meta_u64(a, CHIO__META_DURABLE_CHECKPOINT, &a->durable_cp);
    if (rc != 0)
        return rc;
    /* The chain's keys: before review 47 one that is not 8 bytes sorting
     * first ended the audit ("a chain key is not 8 bytes"). */
    rc = chio__store_scan_chain_keys(a->s, chain_key, a, a->err);
    if (rc != 0)
        return rc;
    chained = a->chain_any;
    v->archive = archive != 0;
    if (v->archive && !v->allow_archive) {
        /* The mark is unsigned metadata that turns the head check off: on
         * a live log whose tail was cut it would hide the cut. */
        chio__audit_problem(
            a, "{\"problem\":\"archive_log\",\"detail\":\"the log is marked as an "
               "archive log, which has no signed head: a cut tail cannot be detected in "
               "it alone; accept it only where an archive is expected\"}");
        v->log_problems++;
    }
    v->legacy = ks == CHIO__RECORD_ABSENT && hs == CHIO__RECORD_ABSENT && !chained;

    /* The pin. */
    if (a->ntrusted > 0) {
        v->pinned_by = CHIO_STORE_PIN_FLAG;
        chio__hex_encode(a->trusted, 32, v->signer_hex);
    }
    if (ks == CHIO__RECORD_OK) {
        memcpy(v->signer_hex, key_hex, 65);
        if (a->ntrusted == 0) {
            v->pinned_by = CHIO_STORE_PIN_STORE;
            memcpy(a->pin_key, key, 32);
            a->trusted = a->pin_key;
            a->ntrusted = 1;
        }
        if (chio__audit_trusted_key(a, key)) {
            a->store_pinned = 1;
            memcpy(a->store_key, key, 32);
        } else {
            chio__audit_problem(
                a,
                "{\"problem\":\"store_key_untrusted\",\"kernel_key\":\"%s\",\"detail\":"
                "\"the store records a kernel key that is not a trusted key\"}",
                key_hex);
            v->log_problems++;
        }
    } else if (ks != CHIO__RECORD_ABSENT) {
        chio__audit_problem(a, "{\"problem\":\"invalid_key_record\",\"reason\":\"%s\"}",
                            record_reason(ks));
        v->log_problems++;
    } else if (!v->legacy) {
        chio__audit_problem(a,
                            "{\"problem\":\"key_record_missing\",\"detail\":\"the store has a hash "
                            "chain or a log head but no key record\"}");
        v->log_problems++;
    }

    /* The head: usable when it is signed by the pinned key. */
    if (hs == CHIO__RECORD_OK) {
        int other = a->store_pinned && memcmp(a->head.key, a->store_key, 32) != 0;
        if ((v->pinned_by == CHIO_STORE_PIN_NONE || chio__audit_trusted_key(a, a->head.key)) &&
            !other) {
            a->head_ok = 1;
            v->head_seq = a->head.last_seq;
        } else {
            chio__audit_problem(a,
                                "{\"problem\":\"invalid_log_head\",\"seq\":%llu,\"reason\":\"%s\","
                                "\"kernel_key\":\"%s\"}",
                                (unsigned long long)a->head.last_seq,
                                chio__audit_trusted_key(a, a->head.key) ? "not_the_store_key"
                                                                        : "untrusted",
                                a->head.key_hex);
            v->log_problems++;
        }
    } else if (hs == CHIO__RECORD_BADSIG) {
        chio__audit_problem(
            a, "{\"problem\":\"invalid_log_head\",\"seq\":%llu,\"reason\":\"signature\"}",
            (unsigned long long)a->head.last_seq);
        v->log_problems++;
    } else if (hs == CHIO__RECORD_UNREADABLE) {
        chio__audit_problem(a, "{\"problem\":\"invalid_log_head\",\"reason\":\"unreadable\"}");
        v->log_problems++;
    }
    a->head_absent = hs == CHIO__RECORD_ABSENT;
    a->chain_from = a->head_ok ? a->head.chain_from : meta_from;
    /* A key record written since review 23 signs where the chain starts:
     * it wins over the unsigned chain_from record and must match the head
     * (moving the start would pass the receipts before it off as legacy). */
    if (ks == CHIO__RECORD_OK && key_from > 0 && chio__audit_trusted_key(a, key)) {
        if ((a->head_ok && a->head.chain_from != key_from) || meta_from != key_from) {
            chio__audit_problem(
                a,
                "{\"problem\":\"chain_from_mismatch\",\"chain_from\":%llu,\"head_chain_from\":"
                "%llu,\"meta_chain_from\":%llu,\"detail\":\"the chain start the key record "
                "signed differs from the chain_from record or the log head\"}",
                (unsigned long long)key_from,
                (unsigned long long)(a->head_ok ? a->head.chain_from : 0),
                (unsigned long long)meta_from);
            v->log_problems++;
        }
        a->chain_from = key_from;
    }
    /* A store that is not legacy always records where its chain starts
     * (the key record and chain_from are written together): with that
     * record, the head and every chain entry deleted, the receipts are
     * checked from 1, so each missing link is named, not taken as legacy. */
    if (a->chain_from == 0 && (chained || !v->legacy))
        a->chain_from = 1;
    v->chain_from = a->chain_from;
    return 0;
}

/* After the scan: id index entries naming a receipt outside the stored
 * range (0, before the first, after the last, or any when none is stored),
 * or inside it a receipt that does not carry their id, are the trace of
 * receipts deleted with their index left behind, say a tail cut back to an
 * earlier head (see security.md). */
static int in_stored_range(const audit *a, uint64_t seq)
{
    return a->out->receipts > 0 && seq >= a->out->first_seq && seq <= a->out->last_seq && seq > 0;
}

/* One "index_dangling" line (the id escaped and cut, like every id). */
static int report_dangling(audit *a, const char *id, size_t idlen, uint64_t seq)
{
    char buf[65], *q;
    size_t n = idlen < 64 ? idlen : 64;

    memcpy(buf, id, n);
    buf[n] = '\0';
    q = chio__audit_quoted_id(buf);
    chio__audit_problem(a, "{\"problem\":\"index_dangling\",\"id\":%s,\"indexed_seq\":%llu}",
                        q ? q : "\"\"", (unsigned long long)seq);
    free(q);
    a->v2->log_problems++;
    return a->oom ? CHIO_ENOMEM : 0;
}

/* The first pass: outside the range named, inside counted. */
int chio__audit_check_dangling_id(void *ctx, const char *id, size_t idlen, uint64_t seq)
{
    audit *a = ctx;

    if (!in_stored_range(a, seq))
        return report_dangling(a, id, idlen, seq);
    a->ids_in_range++;
    return 0;
}

/* The second pass, run only when the index holds more entries inside the
 * stored range than receipts it names at their own number: an entry naming
 * a receipt the scan found sound but whose id is another. A tail cut back
 * to an earlier head leaves such entries once a kernel has written new
 * receipts under the freed numbers, which took them out of the range check
 * above. (A number already named, missing or holding a changed receipt,
 * is not named again.) */
int chio__audit_check_stale_id(void *ctx, const char *id, size_t idlen, uint64_t seq)
{
    audit *a = ctx;
    chio_receipt *r = NULL;
    char *json = NULL;
    size_t len = 0;
    int rc, same = 1;

    if (!in_stored_range(a, seq) || chio__audit_was_named(a, seq))
        return 0;
    rc = chio_store_get_receipt(a->s, seq, &json, &len, NULL);
    if (chio__audit_read_failed(a, rc))
        return rc;
    if (rc == CHIO_ENOTFOUND)
        return 0; /* a gap: named missing_receipt */
    if (rc != 0)
        return rc;
    if (chio_receipt_parse(json, len, &r, NULL) == 0)
        same = strlen(chio_receipt_id(r)) == idlen && memcmp(chio_receipt_id(r), id, idlen) == 0;
    chio_receipt_free(r);
    free(json);
    return same ? 0 : report_dangling(a, id, idlen, seq);
}

/* Chain entries after the last receipt and the signed head (and the
 * anchor before the log's start): each is written with its receipt, so
 * they are the trace of receipts cut from the tail back to an earlier
 * head written back, with their entries left
 * [`rev47_audit::chain_entries_left_past_a_cut_tail_are_named`]. Only
 * under a usable head: without one, log_head_missing (or archive_log)
 * already names the log, and an archive has no head to cut back to. */
static void chain_past_end(audit *a)
{
    uint64_t end = a->out->receipts > 0 ? a->out->last_seq : 0;

    if (!a->head_ok)
        return;
    if (a->head.last_seq > end)
        end = a->head.last_seq;
    if (a->log_start - 1 > end)
        end = a->log_start - 1;
    if (!a->chain_any || a->chain_last <= end)
        return;
    chio__audit_problem(a,
                        "{\"problem\":\"chain_dangling\",\"seq\":%llu,\"last_seq\":%llu,"
                        "\"detail\":\"hash chain entries after the log's last receipt: the "
                        "trace of receipts cut from its tail\"}",
                        (unsigned long long)a->chain_last, (unsigned long long)end);
    a->v2->log_problems++;
}

/* The checkpoint a kernel writing without WAL syncs last made durable
 * (store.c writes it, synced, after the checkpoint's own write, so a
 * recovered store holds that checkpoint too; archiving keeps the newest).
 * One above the newest stored checkpoint is the trace of checkpoints cut
 * from the tail, the sentinel file edited to match: before review 49
 * nothing read it back
 * [`rev49_audit::a_tail_cut_below_the_durable_checkpoint_is_named_and_refused`]. */
static void durable_past_end(audit *a, uint64_t last_cp)
{
    /* Those a usable head names are named missing_checkpoint already. */
    if (a->head_ok && a->head.checkpoint_seq > last_cp)
        last_cp = a->head.checkpoint_seq;
    if (a->durable_cp <= last_cp)
        return;
    chio__audit_problem(a,
                        "{\"problem\":\"durable_checkpoint_lost\",\"durable_checkpoint\":%llu,"
                        "\"last_checkpoint\":%llu,\"detail\":\"the store recorded a later "
                        "checkpoint as durable: checkpoints were cut from its tail\"}",
                        (unsigned long long)a->durable_cp, (unsigned long long)last_cp);
    a->v2->log_problems++;
}

/* Stored checkpoints numbered after the one the usable head names: a
 * checkpoint is written in the same batch as a head naming it, so these
 * are the trace of a tail cut back to a head written before them (between
 * a checkpoint's last receipt and the group that cut it, every head is
 * one), their receipts left in place. A kernel's start refuses such a log
 * (head.c, "added?"); before review 9 (audit) the audit passed it clean
 * [`rev56_audit::a_tail_cut_to_a_head_before_the_newest_checkpoint_is_named`]. */
static void checkpoints_past_head(audit *a)
{
    size_t i, named = 0;

    for (i = 0; i < a->ncps && named < MAX_MISSING_LINES; i++) {
        if (a->cps[i].seq <= a->head.checkpoint_seq)
            continue;
        chio__audit_problem(a,
                            "{\"problem\":\"checkpoint_after_head\",\"checkpoint_seq\":%llu,"
                            "\"head_checkpoint_seq\":%llu,\"detail\":\"a checkpoint after the "
                            "newest one the signed log head names: the log's tail was cut back to "
                            "an earlier head\"}",
                            (unsigned long long)a->cps[i].seq,
                            (unsigned long long)a->head.checkpoint_seq);
        a->v2->log_problems++;
        named++;
    }
}

/* The hash chain at the head's last receipt against the value the head
 * signed: the stored entry, or, with that entry missing (named
 * chain_missing by the scan), the value the link from the entry before it
 * and the receipt stored there gives, as the scan checks a link after a
 * missing entry mid-log. Before review 19 (audit) F2 a newest receipt
 * replaced with its entry deleted was named only chain_missing
 * [`rev59_audit_counts::a_replaced_newest_receipt_behind_a_deleted_chain_entry_is_named`]. */
static void head_link(audit *a)
{
    uint8_t stored[32];
    int rc = chio__store_get_chain(a->s, a->head.last_seq, stored, NULL);

    if (rc == 0 && memcmp(stored, a->head.chain, 32) != 0) {
        chio__audit_problem(
            a,
            "{\"problem\":\"log_head_mismatch\",\"seq\":%llu,\"detail\":\"the hash chain "
            "at the head's last receipt is not the value the head signed\"}",
            (unsigned long long)a->head.last_seq);
        a->v2->log_problems++;
    } else if (rc != 0 && !chio__audit_read_failed(a, rc) && a->have_prev && a->prev_derived &&
               a->prev_seq == a->head.last_seq && memcmp(a->prev, a->head.chain, 32) != 0) {
        chio__audit_problem(
            a,
            "{\"problem\":\"log_head_mismatch\",\"seq\":%llu,\"derived\":true,\"detail\":"
            "\"its hash chain entry is missing, and the value the link from the entry before "
            "it gives is not the value the head signed: the receipt stored here, or one before "
            "it whose chain entry is missing, is not the one the head signed\"}",
            (unsigned long long)a->head.last_seq);
        a->v2->log_problems++;
    }
}

typedef struct past_cp {
    audit *a;
    const cp_info *cp;
    size_t named;
} past_cp;

static int name_past_cp(void *ctx, uint64_t seq, const char *json, size_t len)
{
    past_cp *pc = ctx;

    (void)json;
    (void)len;
    if (pc->named == MAX_MISSING_LINES)
        return 1;
    chio__audit_problem(pc->a,
                        "{\"problem\":\"receipt_after_last_checkpoint\",\"seq\":%llu,"
                        "\"checkpoint_seq\":%llu,\"batch_end_seq\":%llu,\"detail\":\"a receipt "
                        "after the archive's last checkpoint: archiving a log with checkpoints "
                        "moves whole checkpoint ranges, so none was archived there\"}",
                        (unsigned long long)seq, (unsigned long long)pc->cp->seq,
                        (unsigned long long)pc->cp->end);
    pc->a->v2->log_problems++;
    pc->named++;
    return pc->a->oom ? CHIO_ENOMEM : 0;
}

/* Receipts after the last checkpoint of an archive that holds checkpoints
 * (review 22 store F2): a pass over a log with checkpoints moves whole
 * checkpoint ranges, each written with its checkpoint in one batch, so
 * such an archive ends at its last checkpoint's last receipt. One after it
 * was put there: before, a receipt replayed there with its chain link
 * recomputed passed the archive's audit alone
 * [`rev62_archive::a_receipt_replayed_past_an_archives_last_checkpoint_is_named`].
 * Not for a live log (receipts after its newest checkpoint are the next
 * range), an archive without checkpoints (archived by single receipts), or
 * one whose last checkpoint is itself named (its range is no one's word). */
static void archive_past_checkpoints(audit *a)
{
    past_cp pc;
    const cp_info *c;
    int rc;

    if (!a->v2->archive || a->ncps == 0 || a->out->receipts == 0)
        return;
    c = &a->cps[a->ncps - 1];
    if (!c->usable || c->bad || c->end == UINT64_MAX || a->out->last_seq <= c->end)
        return;
    memset(&pc, 0, sizeof(pc));
    pc.a = a;
    pc.cp = c;
    rc = chio_store_scan(a->s, c->end + 1, name_past_cp, &pc, NULL);
    if (rc == CHIO_ENOMEM)
        a->oom = 1; /* a failed read is kept by the view: the audit stops */
}

/* After the scan: the tail the head vouches for. */
void chio__audit_epilogue(audit *a)
{
    chio_store_audit_v2 *v = a->v2;
    uint64_t last_cp = a->ncps ? a->cps[a->ncps - 1].seq : 0, c;

    chain_past_end(a);
    durable_past_end(a, last_cp);
    archive_past_checkpoints(a);

    if (!a->head_ok) {
        if (a->head_absent && !v->legacy && !v->archive && a->out->receipts > 0 &&
            a->chain_from > 0 && a->out->last_seq >= a->chain_from) {
            chio__audit_problem(a,
                                "{\"problem\":\"log_head_missing\",\"detail\":\"no signed log head "
                                "covers the receipts; the tail cannot be checked\"}");
            v->log_problems++;
        }
        return;
    }
    /* Archiving always keeps the newest receipt (with checkpoints, the
     * newest checkpoint and every receipt after it): a log that starts
     * after the head's last receipt lost its tail, though with every
     * receipt, index and chain entry deleted but the anchor it looks
     * archived whole. Before review 49 such a log passed
     * [`rev49_audit::a_live_log_emptied_as_if_archived_is_named`]. */
    if (a->head.last_seq > 0 && a->head.last_seq < a->log_start) {
        chio__audit_problem(a,
                            "{\"problem\":\"head_before_log_start\",\"seq\":%llu,"
                            "\"retained_from_seq\":%llu,\"detail\":\"the log starts after "
                            "the last receipt its signed head names; archiving keeps the "
                            "newest receipt: the log's tail was deleted\"}",
                            (unsigned long long)a->head.last_seq, (unsigned long long)a->log_start);
        v->log_problems++;
    }
    if (a->head.last_seq >= a->expect && !a->at_end) {
        chio__audit_report_missing(a, a->expect, a->head.last_seq);
        a->expect = a->head.last_seq + 1;
    }
    if (a->head.last_seq >= a->chain_from && a->head.last_seq > 0)
        head_link(a);
    for (c = last_cp + 1; c <= a->head.checkpoint_seq && c - last_cp <= MAX_MISSING_LINES; c++) {
        chio__audit_problem(a, "{\"problem\":\"missing_checkpoint\",\"checkpoint_seq\":%llu}",
                            (unsigned long long)c);
        v->log_problems++;
    }
    checkpoints_past_head(a);
}
