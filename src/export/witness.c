/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export/witness.c - the witness: is the local log at least what its
 * kernel already published? Every receipt and checkpoint the stream holds
 * for the kernel key is compared, byte for byte, with the local one of the
 * same seq. The local log was rolled back when it lacks one the stream has
 * ("rewound": a whole directory put back from an older consistent copy,
 * which no local check can see) or holds different bytes at a seq
 * ("forked"); the report names the first such seq. A local log that is
 * equal to the stream, or longer (not exported yet), is fine. Receipts
 * and checkpoints archived locally (below the store's first) are not
 * compared. Only the kernel's own publications count against the store: an
 * item another client wrote into the subject (without run headers, not
 * signed by the kernel, a receipt the store holds at another seq, or a
 * copy of one it archived, replay.h) is counted as ignored.
 * Owns chio__witness_check() (the comparison), `chio fleet witness` (its
 * JSON line) and the start-up witness of the serving programs
 * (chio__witness_at_startup). Public API and the transport.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chio/chio.h"
#include "export.h"
#include "replay.h"
#include "transport.h"

/* ---- reading the stream: the one place that knows the message layout ------------------ */

/* One published item of a kernel: a receipt or checkpoint, its seq (m->item_seq). */
typedef int (*item_fn)(void *ctx, const chio__xp_msg *m);

typedef struct item_read {
    item_fn fn;
    void *ctx;
    uint64_t from;
    uint64_t *headerless; /* counts messages without run headers (NULL: not counted) */
} item_read;

static int item_visit(void *vctx, const chio__xp_msg *m)
{
    item_read *r = vctx;

    if (m->item_seq == 0) {
        /* no run headers: another client's (fleet verify names it) */
        if (r->headerless != NULL)
            (*r->headerless)++;
        return 0;
    }
    if (m->item_seq < r->from)
        return 0;
    return r->fn(r->ctx, m);
}

static void subject_of(const char *key, int receipts, char subject[128])
{
    snprintf(subject, 128, "chio.%s.%s", key,
             receipts ? CHIO__FLEET_RECEIPTS : CHIO__FLEET_CHECKPOINTS);
}

/* Call @fn for each receipt (@receipts) or checkpoint kernel @key
 * published, of seq @from or later, in publication order; messages
 * without run headers are counted in *@headerless (when not NULL).
 * Returns 0, what @fn returned, or a CHIO__XP_* code (CHIO__XP_ENOTFOUND:
 * no stream). */
static int read_published(chio__xp *t, const char *key, int receipts, uint64_t from, item_fn fn,
                          void *ctx, uint64_t *headerless)
{
    char subject[128];
    item_read r = {fn, ctx, from, headerless};

    subject_of(key, receipts, subject);
    return chio__xp_read(t, subject, 1, item_visit, &r);
}

/* ---- the comparison ------------------------------------------------------------------- */

typedef struct wit {
    chio_store *s;        /* NULL: no store yet (an empty log) */
    const char *key;      /* the kernel compared */
    int receipts;         /* comparing receipts (1) or checkpoints (0) */
    uint64_t local_first; /* items below were archived from here (not compared) */
    uint64_t local_last;
    uint64_t compared, stream_last;
    uint64_t ignored;      /* items not the kernel's publication (chio__fleet_is_publication) */
    uint64_t suspect_last; /* the largest seq of a suspect */
    uint64_t limit;        /* items past this seq are not read (witness_again()) */
    uint64_t seen;         /* the largest seq read */
    chio__suspects sus;    /* the kernel's items the store lacks or differs from */
    uint64_t first_diff;
    const char *kind; /* "rewound" or "forked" once found */
    int failed;
    char msg[320];
} wit;

/* A rollback at @m's seq unless the item is not the kernel's (counted) or
 * a copy of one the store archived (resolved after the read). */
static void differs(wit *w, const chio__xp_msg *m, const char *kind, uint64_t first_diff)
{
    if (!chio__fleet_is_publication(w->s, w->key, w->receipts, m->item_seq, m->data, m->len)) {
        w->ignored++;
        return;
    }
    if (m->item_seq > w->suspect_last)
        w->suspect_last = m->item_seq;
    chio__suspect_add(&w->sus, m, kind, first_diff);
}

static int on_item(void *vctx, const chio__xp_msg *m)
{
    wit *w = vctx;
    char *mine = NULL;
    size_t mlen = 0;
    chio_error err;
    uint64_t seq = m->item_seq;
    int rc;

    if (seq > w->limit)
        return 0; /* published after the first read: not compared again */
    if (seq > w->seen)
        w->seen = seq;
    if (seq < w->local_first) {
        if (seq > w->stream_last)
            w->stream_last = seq; /* archived here: nothing to compare */
        return 0;
    }
    if (seq > w->local_last) {
        differs(w, m, "rewound", w->local_last + 1);
        return 0;
    }
    chio_error_init(&err);
    rc = w->receipts ? chio_store_get_receipt(w->s, seq, &mine, &mlen, &err)
                     : chio_store_get_checkpoint(w->s, seq, &mine, &mlen, &err);
    if (rc == CHIO_ENOTFOUND) {
        differs(w, m, "rewound", seq); /* a hole below the local end */
        return 0;
    }
    if (rc != 0) {
        snprintf(w->msg, sizeof(w->msg), "reading %s %" PRIu64 ": %s",
                 w->receipts ? "receipt" : "checkpoint", seq, err.message);
        w->failed = 1;
        return 1;
    }
    w->compared++;
    if (mlen != m->len || memcmp(mine, m->data, m->len) != 0)
        differs(w, m, "forked", seq);
    else if (seq > w->stream_last)
        w->stream_last = seq;
    chio_free(mine);
    return 0;
}

/* After the read: the suspects that are copies of archived items are
 * another client's; the first that is not is the rollback. */
static int settle(chio__xp *t, wit *w)
{
    char subject[128];
    const chio__suspect *p;
    int rc;

    subject_of(w->key, w->receipts, subject);
    rc = chio__suspects_resolve(t, subject, w->local_first, &w->sus);
    if (rc != 0)
        return rc;
    w->ignored += chio__suspect_replays(&w->sus);
    p = chio__suspect_rollback(&w->sus);
    if (p != NULL) {
        w->kind = p->kind;
        w->first_diff = p->first_diff;
        if (w->suspect_last > w->stream_last)
            w->stream_last = w->suspect_last;
    }
    return 0;
}

/* Compare one subject of @stream. Returns a CHIO__WITNESS_* code (CLEAN when it
 * ran). */
static int compare(chio__xp *t, const char *stream, const char *key, wit *w, char *why, size_t cap)
{
    int rc = read_published(t, key, w->receipts, 1, on_item, w, &w->ignored);

    if (rc == 0 && !w->failed)
        rc = settle(t, w);
    if (w->failed) {
        snprintf(why, cap, "%s", w->msg);
        return CHIO__WITNESS_ERROR;
    }
    if (rc == 0)
        return CHIO__WITNESS_CLEAN;
    if (rc == CHIO__XP_ENOTFOUND && w->local_last == 0)
        return CHIO__WITNESS_CLEAN; /* no stream, nothing local: a first start */
    if (rc == CHIO__XP_ENOTFOUND) {
        /* A store with receipts compared with no stream at all would pass
         * whatever it holds: a mistyped stream name, or servers that are
         * not the ones the exporter writes to, must not switch the check
         * off without a word. */
        snprintf(why, cap,
                 "the stream %s does not exist on these servers, yet the store holds %s up to "
                 "seq %" PRIu64 ": there is nothing to compare them with (a mistyped stream "
                 "name? the exporter creates the stream with its first publication)",
                 stream, w->receipts ? "receipts" : "checkpoints", w->local_last);
        return CHIO__WITNESS_ERROR;
    }
    snprintf(why, cap, "reading what kernel %.16s... published to the stream: %s", key,
             chio__xp_errmsg(t));
    return rc == CHIO__XP_ECONNECT || rc == CHIO__XP_ETIMEOUT ? CHIO__WITNESS_UNREACHABLE
                                                              : CHIO__WITNESS_ERROR;
}

/* Open @db read-only for the comparison. *@s stays NULL for a store that
 * does not exist yet when @may_be_empty. Returns a CHIO__WITNESS_* code. */
static int open_local(const char *db, int may_be_empty, chio_store **s, char *why, size_t cap)
{
    struct stat st;
    chio_error e;
    int rc;

    *s = NULL;
    if (may_be_empty && stat(db, &st) != 0 && errno == ENOENT)
        return CHIO__WITNESS_CLEAN;
    chio_error_init(&e);
    rc = chio_store_open(db, CHIO_STORE_READ_ONLY, s, &e);
    if (rc == 0)
        return CHIO__WITNESS_CLEAN;
    if (rc == CHIO_ENOTFOUND && may_be_empty)
        return CHIO__WITNESS_CLEAN; /* a directory with no store in it yet */
    if (rc == CHIO_ENOTFOUND || rc == CHIO_ECORRUPT) {
        snprintf(why, cap, "%s: %s (%s)", db, e.message, chio_err_name(rc));
        return CHIO__WITNESS_ERROR;
    }
    /* Held by a live process: a caught-up secondary reads it. */
    *s = chio__fleet_open_store("fleet witness", db, 0, NULL);
    if (*s == NULL) {
        snprintf(why, cap, "%s: cannot open the store to read it (%s)", db, chio_err_name(rc));
        return CHIO__WITNESS_ERROR;
    }
    return CHIO__WITNESS_CLEAN;
}

/* One comparison of @db with the stream, items past @limit[0] (receipts)
 * and @limit[1] (checkpoints) not read; the largest seqs read in
 * @seen[0..1]. As chio__witness_check(). */
static int witness_once(const char *db, const char *urls, const char *stream, const char *key_hex,
                        int timeout_ms, const uint64_t limit[2], uint64_t seen[2],
                        chio__witness_result *res, char *why, size_t cap)
{
    chio_store *s = NULL;
    chio__xp *t = NULL;
    wit r, c;
    char key[65];
    int rc, xrc;

    memset(res, 0, sizeof(*res));
    snprintf(why, cap, "%s", "");
    if (stream == NULL || !chio__fleet_stream_name_ok(stream)) {
        snprintf(why, cap, "the stream name must be 1-64 of A-Z a-z 0-9 _ -");
        return CHIO__WITNESS_ERROR;
    }
    if (key_hex != NULL && strlen(key_hex) != 64) {
        snprintf(why, cap, "the kernel key must be 64 hex digits");
        return CHIO__WITNESS_ERROR;
    }
    rc = open_local(db, key_hex != NULL, &s, why, cap);
    if (rc != CHIO__WITNESS_CLEAN)
        return rc;
    rc = CHIO__WITNESS_ERROR;
    memset(&r, 0, sizeof(r));
    memset(&c, 0, sizeof(c));
    r.s = c.s = s;
    r.key = c.key = key;
    r.receipts = 1;
    r.limit = limit[0];
    c.limit = limit[1];
    if (s != NULL && chio__fleet_store_key(s, key) == 0) {
        if (key_hex != NULL && strcmp(key, key_hex) != 0) {
            snprintf(why, cap, "%s holds the log of kernel %s, not of this kernel %s", db, key,
                     key_hex);
            goto out;
        }
    } else if (key_hex != NULL) {
        memcpy(key, key_hex, 65); /* nothing written yet: an empty log */
    } else {
        snprintf(why, cap, "%s has no receipt and no key record: no kernel to compare", db);
        goto out;
    }
    if (s != NULL && (chio_store_seq_range(s, &r.local_first, &r.local_last, NULL) != 0 ||
                      chio_store_last_checkpoint_seq(s, &c.local_last, NULL) != 0)) {
        snprintf(why, cap, "%s: cannot read the log's range", db);
        goto out;
    }
    if (r.local_last == 0)
        r.local_first = 1;
    c.local_first = s != NULL ? chio__fleet_store_first_checkpoint(s) : 1;
    xrc = chio__xp_open(urls, stream, timeout_ms > 0 ? timeout_ms : 5000, &t, why, cap);
    if (xrc != 0) {
        rc = xrc == CHIO__XP_ECONNECT ? CHIO__WITNESS_UNREACHABLE : CHIO__WITNESS_ERROR;
        goto out;
    }
    if ((rc = compare(t, stream, key, &r, why, cap)) != CHIO__WITNESS_CLEAN ||
        (rc = compare(t, stream, key, &c, why, cap)) != CHIO__WITNESS_CLEAN)
        goto out;
    memcpy(res->kernel, key, 65);
    res->local_last = r.local_last;
    res->stream_last = r.stream_last;
    res->local_cp_last = c.local_last;
    res->stream_cp_last = c.stream_last;
    res->receipts_compared = r.compared;
    res->checkpoints_compared = c.compared;
    res->ignored = r.ignored + c.ignored;
    res->receipt_first_diff = r.kind ? r.first_diff : 0;
    res->checkpoint_first_diff = c.kind ? c.first_diff : 0;
    res->reason = r.kind ? r.kind : c.kind;
    res->checkpoint = r.kind == NULL && c.kind != NULL;
    res->first_diff = r.kind ? r.first_diff : c.kind ? c.first_diff : 0;
    rc = res->reason ? CHIO__WITNESS_ROLLBACK : CHIO__WITNESS_CLEAN;
out:
    seen[0] = r.seen;
    seen[1] = c.seen;
    chio__xp_close(t);
    chio_store_close(s);
    return rc;
}

/* The store is read as of its opening. On a live store (`chio fleet
 * witness` while the kernel runs) a receipt committed after that and
 * exported meanwhile is in the stream and not in what was read: a
 * "rewound" found so is checked again with the store opened anew, up to
 * the seqs the first comparison read, each committed before the second
 * opening (review 17 fleet F1, as the exporter does). A store that went
 * back still lacks them. */
int chio__witness_check(const char *db, const char *urls, const char *stream, const char *key_hex,
                        int timeout_ms, chio__witness_result *res, char *why, size_t cap)
{
    uint64_t all[2] = {UINT64_MAX, UINT64_MAX}, seen[2] = {0, 0};
    int rc = witness_once(db, urls, stream, key_hex, timeout_ms, all, seen, res, why, cap);

    if (rc == CHIO__WITNESS_ROLLBACK && strcmp(res->reason, "rewound") == 0)
        rc = witness_once(db, urls, stream, key_hex, timeout_ms, seen, seen, res, why, cap);
    return rc;
}

/* ---- `chio fleet witness` ------------------------------------------------------------- */

static void json_seq(FILE *out, const char *name, uint64_t v, int present)
{
    if (present)
        fprintf(out, ",\"%s\":%" PRIu64, name, v);
    else
        fprintf(out, ",\"%s\":null", name);
}

int chio__fleet_witness(const char *db, const char *urls, const char *stream, const char *key_hex,
                        FILE *out, FILE *err)
{
    chio__witness_result w;
    char why[512];
    int rc, rollback;

    if (!chio__fleet_stream_name_ok(stream)) {
        fprintf(err, "chio fleet witness: --stream must be 1-64 of A-Z a-z 0-9 _ -\n");
        return CHIO__FLEET_ERROR;
    }
    rc = chio__witness_check(db, urls, stream, key_hex, 5000, &w, why, sizeof(why));
    if (rc != CHIO__WITNESS_CLEAN && rc != CHIO__WITNESS_ROLLBACK) {
        fprintf(err, "chio fleet witness: %s\n", why);
        return CHIO__FLEET_ERROR;
    }
    rollback = rc == CHIO__WITNESS_ROLLBACK;
    fprintf(out, "{\"checkpoints_compared\":%" PRIu64, w.checkpoints_compared);
    json_seq(out, "first_differing_checkpoint_seq", w.checkpoint_first_diff,
             w.checkpoint_first_diff != 0);
    json_seq(out, "first_differing_seq", w.receipt_first_diff, w.receipt_first_diff != 0);
    fprintf(out,
            ",\"kernel\":\"%s\",\"local_last_checkpoint_seq\":%" PRIu64
            ",\"local_last_seq\":%" PRIu64,
            w.kernel, w.local_cp_last, w.local_last);
    if (rollback)
        fprintf(out, ",\"reason\":\"%s\"", w.reason);
    else
        fprintf(out, ",\"reason\":null");
    fprintf(out,
            ",\"receipts_compared\":%" PRIu64 ",\"rollback\":%s,\"stream\":\"%s\""
            ",\"stream_items_ignored\":%" PRIu64 ",\"stream_last_checkpoint_seq\":%" PRIu64
            ",\"stream_last_seq\":%" PRIu64 "}\n",
            w.receipts_compared, rollback ? "true" : "false", stream, w.ignored, w.stream_cp_last,
            w.stream_last);
    fflush(out);
    if (rollback)
        fprintf(err,
                "chio fleet witness: ROLLBACK: the local log of kernel %s is %s: it differs "
                "from what the kernel published from %s %" PRIu64 " on\n",
                w.kernel, w.reason, w.checkpoint ? "checkpoint" : "seq", w.first_diff);
    return rollback ? CHIO__FLEET_NEGATIVE : CHIO__FLEET_OK;
}

/* ---- the start-up witness ------------------------------------------------------------- */

int chio__witness_at_startup(const chio__witness_startup *c, FILE *err)
{
    const char *stream = c->stream ? c->stream : "CHIO";
    chio__witness_result w;
    char why[512];
    int rc;

    if (c->urls == NULL)
        return 0;
    rc = chio__witness_check(c->db, c->urls, stream, c->key_hex, c->timeout_ms, &w, why,
                             sizeof(why));
    switch (rc) {
    case CHIO__WITNESS_CLEAN:
        fprintf(err,
                "%s: witness: receipt store %s matches what kernel %s published to stream %s "
                "(local last seq %" PRIu64 ", published %" PRIu64 ")\n",
                c->prog, c->db, w.kernel, stream, w.local_last, w.stream_last);
        return 0;
    case CHIO__WITNESS_ROLLBACK:
        fprintf(err,
                "%s: refusing to start: the receipt store %s was rolled back (%s): it differs "
                "from what kernel %s published to stream %s from %s %" PRIu64
                " on (local last seq %" PRIu64 ", published %" PRIu64 ")\n",
                c->prog, c->db, w.reason, w.kernel, stream, w.checkpoint ? "checkpoint seq" : "seq",
                w.first_diff, w.local_last, w.stream_last);
        return CHIO__WITNESS_EXIT_ROLLBACK;
    case CHIO__WITNESS_UNREACHABLE:
        if (c->optional) {
            fprintf(err,
                    "%s: warning: witness skipped (--witness-optional): the servers cannot be "
                    "reached: %s; starting without checking the store against the stream\n",
                    c->prog, why);
            return 0;
        }
        fprintf(err,
                "%s: refusing to start: the witness cannot reach the servers (%s); without "
                "--witness-optional the store is never served unchecked\n",
                c->prog, why);
        return CHIO__WITNESS_EXIT_UNCHECKED;
    default:
        fprintf(err, "%s: refusing to start: the witness cannot check the store: %s\n", c->prog,
                why);
        return CHIO__WITNESS_EXIT_UNCHECKED;
    }
}
