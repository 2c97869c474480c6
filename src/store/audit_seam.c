/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store/audit_seam.c - where two logs of one kernel meet: an archive
 * (chio_store_archive) and the log it was cut from, the next archive or
 * the live log (chio_store_audit_seam(), `chio receipt verify --archive`).
 *
 * Each log verifies on its own (audit.c), but an archive has no signed
 * head: its chain entries are unsigned, so receipts swapped, replayed or
 * cut inside an archive with no checkpoints, with its chain recomputed,
 * pass its audit. The newer log's anchor (the chain value before its first
 * receipt, which its signed head vouches for through its own receipts)
 * must equal the archive's chain value at its last receipt; the numbers
 * and the checkpoint chain must continue across the seam. An archive that
 * starts after receipt 1 with no older log given is named too: a deleted
 * archive (the next pass starts a new one there) looks just like it. An
 * overlap (a pass stopped between the archive write and the live delete)
 * must be the same bytes in both logs. Both logs are read through a view
 * (chio__store_view_begin): a read either store failed is no evidence, so
 * nothing is named after one and the seam's audit stops with its error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/checkpoint.h"
#include "internal.h"
#include "store_db.h"
#include "store_internal.h"

typedef struct seam {
    chio_audit_fn fn;
    void *ctx;
    uint64_t problems;
    chio__store_view *views[2]; /* older (NULL when none), newer */
} seam;

/* The first read either log failed: its code (0 none), its message in @err. */
static int read_failed(const seam *m, chio_error *err)
{
    int rc = chio__store_view_failed(m->views[0], err);

    return rc != 0 ? rc : chio__store_view_failed(m->views[1], err);
}

/* One problem line (short: numbers only) through the caller's callback. */
static void problem(seam *m, const char *fmt, ...)
{
    char line[400];
    va_list ap;
    int n;

    if (read_failed(m, NULL) != 0) /* what a failed read decided is no evidence */
        return;
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);

    if (n > 0 && m->fn != NULL)
        m->fn(m->ctx, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
    m->problems++;
}

/* Where @s starts: the first receipt and checkpoint it should hold (1, or
 * what archiving recorded). */
static int log_start(chio_store *s, uint64_t *seq, uint64_t *cseq, chio_error *err)
{
    int rc = chio__store_get_meta_u64(s, CHIO__META_RETAINED_SEQ, seq, err);

    if (rc == 0)
        rc = chio__store_get_meta_u64(s, CHIO__META_RETAINED_CHECKPOINT, cseq, err);
    if (*seq == 0)
        *seq = 1;
    if (*cseq == 0)
        *cseq = 1;
    return rc;
}

/* Both logs carry the same signed key record (the archive gets a copy). */
static void same_log(chio_store *older, chio_store *newer, seam *m)
{
    char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    int ra = chio__store_get_meta(older, CHIO__META_KEY_RECORD, &a, &alen, NULL);
    int rb = chio__store_get_meta(newer, CHIO__META_KEY_RECORD, &b, &blen, NULL);

    if (ra != rb || (ra == 0 && (alen != blen || memcmp(a, b, alen) != 0)))
        problem(m, "{\"problem\":\"seam_key_record\",\"detail\":\"the two logs do not carry the "
                   "same key record: not one kernel's log\"}");
    free(a);
    free(b);
}

/* Items @from..@to (receipts, or checkpoints with @cps) that both logs
 * hold must be the same bytes: an archiving pass stopped between writing
 * the archive and deleting from the live log leaves them in both. The
 * first item that differs, or that one log lacks, is named. */
static int same_items(chio_store *older, chio_store *newer, int cps, uint64_t from, uint64_t to,
                      seam *m, chio_error *err)
{
    uint64_t seq;

    for (seq = from; seq <= to; seq++) {
        char *a = NULL, *b = NULL;
        size_t alen = 0, blen = 0;
        int ra = cps ? chio_store_get_checkpoint(older, seq, &a, &alen, err)
                     : chio_store_get_receipt(older, seq, &a, &alen, err);
        int rb = cps ? chio_store_get_checkpoint(newer, seq, &b, &blen, err)
                     : chio_store_get_receipt(newer, seq, &b, &blen, err);
        int same = ra == 0 && rb == 0 && alen == blen && memcmp(a, b, alen) == 0;

        chio_free(a);
        chio_free(b);
        if (ra != 0 && ra != CHIO_ENOTFOUND)
            return ra;
        if (rb != 0 && rb != CHIO_ENOTFOUND)
            return rb;
        if (!same) {
            problem(m,
                    "{\"problem\":\"seam_overlap_mismatch\",\"%s\":%llu,\"detail\":\"both "
                    "logs should hold this %s (the overlap an interrupted archiving pass "
                    "leaves), but %s\"}",
                    cps ? "checkpoint_seq" : "seq", (unsigned long long)seq,
                    cps ? "checkpoint" : "receipt",
                    ra != 0 || rb != 0 ? "one of them lacks it" : "their bytes differ");
            return 0;
        }
        if (seq == to)
            break;
    }
    return 0;
}

/* The checkpoint chain across the seam: numbers continue, and the newer
 * log's first checkpoint names the older log's last. */
static int checkpoints(chio_store *older, chio_store *newer, uint64_t ncp, seam *m, chio_error *err)
{
    chio_checkpoint *o = NULL, *n = NULL;
    char *json = NULL;
    size_t len = 0;
    uint64_t ocp = 0;
    /* Lenient: a junk key at the older log's end is named by that log's
     * own audit; stopping here would leave everything after it unchecked. */
    int rc = chio__store_edge_seq_lenient(older, CF_CHECKPOINTS, 1, &ocp, err);

    if (rc != 0)
        return rc;
    if (ocp == 0 && ncp <= 1)
        return 0;
    if (ocp >= ncp) { /* an overlap: the newer log carries the chain on */
        uint64_t ofirst = 0;
        rc = chio__store_edge_seq_lenient(older, CF_CHECKPOINTS, 0, &ofirst, err);
        return rc != 0 ? rc : same_items(older, newer, 1, ofirst > ncp ? ofirst : ncp, ocp, m, err);
    }
    if (ocp + 1 != ncp) {
        problem(m,
                "{\"problem\":\"seam_checkpoint_gap\",\"older_last_checkpoint\":%llu,"
                "\"newer_first_checkpoint\":%llu}",
                (unsigned long long)ocp, (unsigned long long)ncp);
        return 0;
    }
    if (chio_store_get_checkpoint(older, ocp, &json, &len, NULL) == 0)
        chio_checkpoint_parse(json, len, &o, NULL);
    free(json);
    json = NULL;
    if (chio_store_get_checkpoint(newer, ncp, &json, &len, NULL) == 0)
        chio_checkpoint_parse(json, len, &n, NULL);
    free(json);
    /* A newer log without its first checkpoint yet (none cut) has nothing
     * to name; an unreadable one is the newer log's own audit's. */
    if (o != NULL && n != NULL &&
        (chio_checkpoint_previous_sha256(n) == NULL ||
         strcmp(chio_checkpoint_previous_sha256(n), chio_checkpoint_body_sha256(o)) != 0))
        problem(m,
                "{\"problem\":\"seam_checkpoint_chain\",\"checkpoint_seq\":%llu,"
                "\"previous_checkpoint_seq\":%llu}",
                (unsigned long long)ncp, (unsigned long long)ocp);
    chio_checkpoint_free(o);
    chio_checkpoint_free(n);
    return 0;
}

/* The hash chain across the seam: the older log's value at its last
 * receipt is the newer log's anchor. */
static void chain(chio_store *older, chio_store *newer, uint64_t last, seam *m)
{
    uint8_t a[32], b[32];
    int ra = chio__store_get_chain(older, last, a, NULL);
    int rb = chio__store_get_chain(newer, last, b, NULL);

    if (ra == CHIO_ENOTFOUND && rb == CHIO_ENOTFOUND)
        return; /* a legacy part: no chain on either side */
    if (rb == CHIO_ENOTFOUND)
        problem(m,
                "{\"problem\":\"seam_chain_mismatch\",\"seq\":%llu,\"detail\":\"the newer "
                "log has no anchor (the chain value before its first receipt) to continue "
                "from: it was deleted, so the newer log's first receipt may have been "
                "replaced\"}",
                (unsigned long long)last);
    else if (ra != 0 || rb != 0 || memcmp(a, b, 32) != 0)
        problem(m,
                "{\"problem\":\"seam_chain_mismatch\",\"seq\":%llu,\"detail\":\"the older "
                "log's hash chain at its last receipt is not the anchor the newer log "
                "continues from: receipts in the older log were changed, swapped, replayed or "
                "deleted, or the newer log's anchor was changed\"}",
                (unsigned long long)last);
}

/* The seam's checks, through the views chio_store_audit_seam() began. */
static int audit_seam(chio_store *older, chio_store *newer, seam *m, chio_error *err)
{
    uint64_t nseq = 0, ncp = 0, ofirst = 0, olast = 0;
    int rc;

    rc = log_start(newer, &nseq, &ncp, err);
    if (rc == 0 && older == NULL) {
        /* The oldest log given must hold the log's beginning. */
        if (nseq > 1 || ncp > 1)
            problem(m,
                    "{\"problem\":\"log_start_not_given\",\"first_seq\":%llu,"
                    "\"first_checkpoint\":%llu,\"detail\":\"the oldest log given starts "
                    "later: the receipts before it are in no log given (an older archive, "
                    "or deleted)\"}",
                    (unsigned long long)nseq, (unsigned long long)ncp);
    } else if (rc == 0) {
        same_log(older, newer, m);
        rc = chio__store_edge_seq_lenient(older, CF_RECEIPTS, 0, &ofirst, err);
        if (rc == 0)
            rc = chio__store_edge_seq_lenient(older, CF_RECEIPTS, 1, &olast, err);
        if (rc == 0 && olast != 0 && olast >= nseq) {
            /* An overlap: the receipts both hold are the same, and the
             * older log's chain value at its last receipt is the one the
             * newer log holds there (its signed head vouches for it). */
            rc = same_items(older, newer, 0, ofirst > nseq ? ofirst : nseq, olast, m, err);
            if (rc == 0)
                chain(older, newer, olast, m);
        } else if (rc == 0 && olast + 1 != nseq)
            problem(m,
                    "{\"problem\":\"seam_gap\",\"older_last_seq\":%llu,\"newer_first_seq\":%llu}",
                    (unsigned long long)olast, (unsigned long long)nseq);
        else if (rc == 0)
            chain(older, newer, olast, m);
        if (rc == 0)
            rc = checkpoints(older, newer, ncp, m, err);
    }
    return rc;
}

int chio_store_audit_seam(chio_store *older, chio_store *newer, chio_audit_fn fn, void *ctx,
                          uint64_t *problems, chio_error *err)
{
    chio_error rerr;
    seam m;
    int rc;

    if (newer == NULL || problems == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL argument");
    memset(&m, 0, sizeof(m));
    m.fn = fn;
    m.ctx = ctx;
    rc = older != NULL ? chio__store_view_begin(older, &m.views[0], err) : 0;
    if (rc == 0)
        rc = chio__store_view_begin(newer, &m.views[1], err);
    if (rc == 0)
        rc = audit_seam(older, newer, &m, err);
    chio_error_init(&rerr);
    if (read_failed(&m, &rerr) != 0)
        rc = chio__fail(err, read_failed(&m, NULL), CHIO_NO_OFFSET,
                        "seam audit stopped, nothing reported past this point: %s", rerr.message);
    chio__store_view_end(m.views[1]);
    chio__store_view_end(m.views[0]);
    *problems = m.problems;
    return rc;
}
