/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export/exporter_scan.c - what the stream holds for one subject, checked
 * against the store: where an exporter goes on (after the last item the
 * stream holds, as the store does, with every item before it), and whether
 * a kernel publication the store lacks or holds other bytes for shows the
 * store was rewound or forked (exporter.c says why the position is read
 * from the stream and never from the position file).
 *
 * Uses the public store API and the transport seam; runs on the
 * exporter's thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporter_internal.h"
#include "replay.h"

/* A read of one subject (scan_subject()). */
typedef struct scan_ctx {
    ex *e;
    int receipts;
    int verdict;       /* 0, or FAILED */
    uint64_t first;    /* the store's first item of the kind: those below were archived here */
    uint64_t next;     /* the next seq the stream holds, as the store does, after all before it */
    uint64_t archived; /* the largest seq below @first read */
    uint64_t top;      /* the largest seq read that the store holds with the same bytes */
    uint64_t foreign;  /* items another client wrote */
    uint64_t last_at;  /* the position of the subject's last message */
    uint64_t held;     /* a whole read: the stream's first position held (those below are gone) */
    uint64_t limit;    /* items past this seq are not read (a second read: see refresh()) */
    uint64_t top_suspect; /* the largest seq of a suspect (a kernel publication the view
                           * lacks or differs from) */
    int missing;          /* one of them the view lacked */
    chio__suspects sus;
} scan_ctx;

/* Whether the run may start at item @m, above @sc->next, at the start of a
 * whole read: the messages before it were removed from the stream (aged
 * out, purged), not never published. The exporter appends each message
 * after the subject's last position (Nats-Expected-Last-Subject-Sequence,
 * enforced by the stream): its first message still held names a position
 * below the stream's first. A message another client published ahead of
 * the exporter names a position the stream holds, or none. */
static int run_starts_here(const scan_ctx *sc, const chio__xp_msg *m)
{
    return sc->held > 1 && sc->next == sc->first && m->item_seq == m->msg_first && m->has_expect &&
           m->expect_last != 0 && m->expect_last < sc->held;
}

/* One item of the subject: is it the store's next one? */
static int on_scanned(void *vctx, const chio__xp_msg *m)
{
    scan_ctx *sc = vctx;
    ex *e = sc->e;
    char *mine = NULL;
    size_t len = 0;
    uint64_t seq = m->item_seq;
    int rc;

    if (m->position > sc->last_at)
        sc->last_at = m->position;
    if (sc->verdict != 0)
        return 0;
    if (seq == 0) {
        sc->foreign++; /* no run headers: another client's (fleet verify names it) */
        return 0;
    }
    if (seq < sc->first) {
        if (seq > sc->archived)
            sc->archived = seq; /* archived here since: nothing to compare */
        return 0;
    }
    if (seq > sc->limit)
        return 0; /* published after the view was refreshed: the next read's */
    rc = sc->receipts ? chio_store_get_receipt(e->s, seq, &mine, &len, NULL)
                      : chio_store_get_checkpoint(e->s, seq, &mine, &len, NULL);
    if (rc == 0 && len == m->len && memcmp(mine, m->data, len) == 0) {
        /* The store's item; the run goes on only from the one before it:
         * an item published ahead by someone who holds it (a tool caller
         * gets its receipts) says nothing of the seqs between. */
        if (seq > sc->next && run_starts_here(sc, m))
            sc->next = seq; /* the ones before it were removed from the stream */
        if (seq == sc->next)
            sc->next++;
        if (seq > sc->top)
            sc->top = seq;
    } else if (rc != 0 && rc != CHIO_ENOTFOUND) {
        fprintf(e->err, "chio export: reading %" PRIu64 " from the store failed\n", seq);
        sc->verdict = FAILED;
    } else if (chio__fleet_is_publication(e->s, e->key, sc->receipts, seq, m->data, m->len)) {
        chio__suspect_add(&sc->sus, m, rc == 0 ? "forked" : "rewound", seq);
        sc->missing |= rc != 0;
        if (seq > sc->top_suspect)
            sc->top_suspect = seq;
    } else {
        sc->foreign++;
    }
    chio_free(mine);
    return 0;
}

/* Where the stream stands for @sj, checked against the store: the subject
 * is read from position @from (the last message this exporter knows as its
 * own, whose run ends at @seq; 0 and 0 to read it whole), and the exporter
 * goes on after the last item the stream holds, as the store does, with
 * every one before it (from @seq on): not after the last message, which
 * anyone who may publish can write, with a receipt of the kernel's that
 * was not exported yet. A kernel publication that the store lacks or
 * differs from is a rollback (unless it is a copy of a receipt archived
 * here, replay.h). Items past @limit are not read. A first read (@limit
 * UINT64_MAX) that finds such a rollback while the store's view lacked a
 * kernel publication returns STALE, the largest seq of a suspect in
 * *@missing: the view may only be behind (refresh()). Returns 0, DIVERGED, FAILED,
 * STALE, or a transport code (retry). */
static int scan_subject(ex *e, subj *sj, int receipts, uint64_t from, uint64_t seq, uint64_t limit,
                        uint64_t *missing)
{
    scan_ctx *sc = calloc(1, sizeof(*sc));
    const chio__suspect *p = NULL;
    uint64_t first = 1, last = 0, end;
    int rc;

    if (sc == NULL) {
        fprintf(e->err, "chio export: out of memory\n");
        return FAILED;
    }
    if (receipts && chio_store_seq_range(e->s, &first, &last, NULL) == 0 && last == 0)
        first = 1;
    if (!receipts)
        first = chio__fleet_store_first_checkpoint(e->s);
    sc->e = e;
    sc->receipts = receipts;
    sc->limit = limit;
    sc->first = first;
    sc->next = seq + 1 > first ? seq + 1 : first;
    if (from == 0) {
        chio__xp_state st;
        rc = chio__xp_state_get(e->t, &st);
        if (rc != 0) {
            free(sc);
            return rc == CHIO__XP_ENOTFOUND ? CHIO__XP_ETIMEOUT : rc;
        }
        sc->held = st.first;
    }
    rc = chio__xp_read(e->t, sj->name, from > 1 ? from : 1, on_scanned, sc);
    if (rc == 0 && sc->verdict == 0)
        rc = chio__suspects_resolve(e->t, sj->name, first, &sc->sus);
    if (rc != 0) {
        free(sc);
        return rc == CHIO__XP_ENOTFOUND ? CHIO__XP_ETIMEOUT : rc; /* it was there: retry */
    }
    if (from > 1 && sc->last_at < from) {
        free(sc); /* the message known is gone (a stream made again): read it whole */
        return WENT_BACK;
    }
    if (sc->verdict == 0 && (p = chio__suspect_rollback(&sc->sus)) != NULL && limit == UINT64_MAX &&
        sc->missing) {
        *missing = sc->top_suspect;
        free(sc);
        return STALE;
    }
    if (sc->verdict != 0 || p != NULL) {
        rc = sc->verdict;
        if (rc == 0) {
            fprintf(e->err,
                    "chio export: %s %" PRIu64 " that kernel %s published is %s this store: "
                    "the store was %s (chio fleet witness names the first differing seq); "
                    "nothing published\n",
                    receipts ? "receipt" : "checkpoint", p->seq, e->key,
                    strcmp(p->kind, "forked") == 0 ? "different in" : "missing from", p->kind);
            rc = DIVERGED;
        }
        free(sc);
        return rc;
    }
    /* the last item held with every one before it; below the store's
     * first, what the stream holds of the archived ones */
    end = sc->next > first ? sc->next - 1 : (seq > sc->archived ? seq : sc->archived);
    if (sc->foreign + chio__suspect_replays(&sc->sus) > 0)
        fprintf(e->err,
                "chio export: %s holds %" PRIu64 " item(s) that are not kernel %s's own "
                "(another client wrote them; fleet verify names them)\n",
                sj->name, sc->foreign + chio__suspect_replays(&sc->sus), e->key);
    if (sc->top > end)
        fprintf(e->err,
                "chio export: %s holds %s %" PRIu64 " but not %" PRIu64 " (published ahead of "
                "the exporter by another client): publishing from %" PRIu64 "\n",
                sj->name, receipts ? "receipt" : "checkpoint", sc->top, end + 1, end + 1);
    sj->seq = end;
    if (sc->last_at > sj->position)
        sj->position = sc->last_at;
    free(sc);
    return 0;
}

/* A read of @sj within a run, from the last message this exporter
 * published or read (e->anchored, @position and @seq); at the start, after
 * the store was opened again, or when the message known is gone, from the
 * subject's beginning. As scan_subject(). */
static int scan_from(ex *e, subj *sj, int receipts, uint64_t position, uint64_t seq, uint64_t limit,
                     uint64_t *missing)
{
    int rc = WENT_BACK;

    if (e->anchored)
        rc = scan_subject(e, sj, receipts, position, seq, limit, missing);
    if (rc == WENT_BACK) {
        sj->seq = 0;
        sj->position = 0;
        rc = scan_subject(e, sj, receipts, 0, 0, limit, missing);
    }
    return rc;
}

/* The store's view brought up to now: a secondary caught up with its
 * primary; a read-only snapshot (a one-shot export) stood in for by one
 * opened now, in *@now (e->s the caller's to put back). 0, or -1 when
 * it cannot be (the pass is retried). */
static int refresh(ex *e, chio_store **now)
{
    int rc = chio_store_catch_up(e->s, NULL);

    if (rc == CHIO_EINVAL && chio_store_open(e->cfg->db, CHIO_STORE_READ_ONLY, now, NULL) == 0) {
        e->s = *now;
        return 0;
    }
    return rc == 0 ? 0 : -1;
}

/* Where the stream stands for @sj. The position file can be edited, and
 * the stream's last message written by anyone, so the stream is read
 * (scan_from()). The store is read through a view: a secondary refreshed
 * once a pass, or a snapshot as of the start. A receipt the kernel
 * committed since, published by another exporter on the same store or by
 * a tool caller who was handed it, is missing from the view, not from the
 * store (review 17 fleet F1: it was named a rollback, exit 1). So a read
 * that finds a kernel publication missing is made again, up to the
 * largest seq it found wrong, with the view refreshed after the first read: every
 * item that read met was committed before the refresh, so a store that
 * still lacks one (or holds other bytes) went back. Items published after
 * the first read are left to the next one.
 * Returns 0, DIVERGED, FAILED, or a transport code (retry). */
int chio__export_sync_subject(ex *e, subj *sj, int receipts)
{
    uint64_t position = sj->position, seq = sj->seq, missing = 0;
    chio_store *kept = e->s, *now = NULL;
    int rc = scan_from(e, sj, receipts, position, seq, UINT64_MAX, &missing);

    if (rc == STALE) {
        if (refresh(e, &now) == 0)
            rc = scan_from(e, sj, receipts, position, seq, missing, &missing);
        else
            rc = CHIO__XP_ETIMEOUT;
        e->s = kept;
        chio_store_close(now);
    }
    return rc == WENT_BACK ? CHIO__XP_ETIMEOUT : rc;
}
