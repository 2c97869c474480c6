/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export/exporter.c - `chio export`: publish one kernel's receipts and
 * checkpoints, in sequence order, each exactly once, to the stream's
 * subjects chio.<key>.receipts and chio.<key>.checkpoints.
 *
 * One message carries a contiguous run of receipts (whatever the store
 * holds beyond the last one published, up to CHIO__EXPORT_MAX_ITEMS and
 * CHIO__EXPORT_MAX_BYTES), so one acknowledgement covers many receipts;
 * checkpoints go one per message, in the same format.
 *
 * Exactly once, in order: every publish names the subject's last position
 * it expects (the position of the previous message it published), so the
 * stream refuses a second copy or a skipped one; the message id (msgid.c:
 * the run's seqs, body digest and a tag keyed by this run's secret) makes a retried
 * publish whose first try was stored answer "duplicate" instead of storing
 * again (a retry sends the same run again). Where to resume is read from the
 * stream itself: at start its subjects are read whole, and the exporter
 * goes on after the last item the stream holds as the store does with
 * every item before it (not after the last message, which anyone who may
 * publish can write, with a receipt not exported yet); after a refusal,
 * from the last message it knows on. A kernel publication the store lacks
 * or holds other bytes for means the store was rewound or forked and
 * nothing is published (exit 1; `chio fleet witness` says where), unless
 * it is a copy of a receipt archived here (replay.h). The acknowledged
 * position is also written to the position file in the store's directory
 * (chio-export-<stream>.json, replaced atomically) for operators and to
 * notice a stream that lost messages; it is never read to resume.
 *
 * Uses the public API (chio/store.h, chio/receipt.h, chio/checkpoint.h)
 * and the transport seam. One thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chio/chio.h"
#include "export.h"
#include "replay.h"
#include "transport.h"
#include "exporter_internal.h"

#define SAVE_EVERY    512 /* publishes between two position saves (also once a second) */
#define DEFAULT_STALL 60000u
#define STOP_SLICE_MS 50 /* a long nap looks for a stop this often */
/* Room left in a message for its headers (message id, expectations, run
 * seqs: under 512 bytes): the servers' max_payload counts them too. */
#define HEADER_ROOM 1024u

static void note_acked(ex *e)
{
    if (e->cfg->status != NULL)
        atomic_store(&e->cfg->status->acked_seq, e->r.seq);
}

static void note_local(ex *e)
{
    if (e->cfg->status != NULL)
        atomic_store(&e->cfg->status->local_seq, e->local_last);
}

static int stopping(const ex *e)
{
    return e->cfg->stop != NULL && atomic_load(e->cfg->stop) != 0;
}

int chio__fleet_stream_name_ok(const char *name)
{
    size_t i, n = name ? strlen(name) : 0;

    if (n == 0 || n > 64)
        return 0;
    for (i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

/* Nap @ms milliseconds, or less once a stop is asked for: the pause
 * between two looks at an exported store is the host's to choose
 * (poll_ms), and chio_export_nats_stop() must not wait it out (before, a
 * stop waited up to a whole poll_ms; the header promises about 5 s). */
static void nap_unless_stopped(const ex *e, unsigned ms)
{
    while (ms > 0 && !stopping(e)) {
        unsigned step = ms < STOP_SLICE_MS ? ms : STOP_SLICE_MS;
        chio__xp_nap_ms(step);
        ms -= step;
    }
}

/* ---- the position file (posfile.c) ------------------------------------------------------ */

static int save_position(ex *e)
{
    char text[512];
    int n;

    n = snprintf(text, sizeof(text),
                 "{\"checkpoint_position\":%" PRIu64 ",\"checkpoint_seq\":%" PRIu64
                 ",\"kernel\":\"%s\",\"receipt_position\":%" PRIu64 ",\"receipt_seq\":%" PRIu64
                 ",\"stream\":\"%s\",\"updated_at\":%lld}\n",
                 e->c.position, e->c.seq, e->key, e->r.position, e->r.seq, e->cfg->stream,
                 (long long)time(NULL));
    e->unsaved = 0;
    e->last_save_ms = chio__xp_now_ms();
    if (chio__export_write_atomically(e->pos_path, text, (size_t)n) != 0) {
        fprintf(e->err, "chio export: cannot write %s: %s\n", e->pos_path, strerror(errno));
        return -1;
    }
    return 0;
}

static void maybe_save(ex *e)
{
    if (e->unsaved > 0 && (e->unsaved >= SAVE_EVERY || chio__xp_now_ms() - e->last_save_ms >= 1000))
        save_position(e);
}

/* @field ("receipt_seq", ...) of this kernel's position file (0 when none). */
static uint64_t saved_field(ex *e, const char *field)
{
    return chio__export_position_field(e->pos_path, e->key, field);
}

/* ---- publishing ------------------------------------------------------------------------ */

/* The most body bytes one message may carry now: what the server
 * connected to and the stream take (max_payload, the stream's
 * max_msg_size; less room for the headers), and for a
 * run of several receipts at most CHIO__EXPORT_MAX_BYTES (@several). 0:
 * not even an empty body fits. */
static size_t body_cap(ex *e, int several)
{
    uint64_t m = chio__xp_max_payload(e->t), cap = SIZE_MAX;

    if (m != 0)
        cap = m > HEADER_ROOM ? m - HEADER_ROOM : 0;
    if (several && cap > CHIO__EXPORT_MAX_BYTES)
        cap = CHIO__EXPORT_MAX_BYTES;
    return (size_t)cap;
}

/* Whether one item of @len bytes fits a message; says why not on err. */
static int item_fits(ex *e, const char *what, uint64_t seq, size_t len)
{
    size_t cap = body_cap(e, 0);

    if (len <= cap)
        return 1;
    fprintf(e->err,
            "chio export: %s %" PRIu64 " is %zu bytes; the servers take messages of at most "
            "%" PRIu64 " bytes (max_payload, or the stream's max_msg_size, less %u for headers): "
            "nothing more published\n",
            what, seq, len, chio__xp_max_payload(e->t), HEADER_ROOM);
    return 0;
}

/* Publish items @first..@last (@data: their bytes joined by '\n') after
 * the subject's last message; retries what may pass later.
 * Returns 0, RESCAN, STOPPED, DIVERGED, FAILED. */
static int publish_run(ex *e, subj *sj, int receipts, uint64_t first, uint64_t last,
                       const char *data, size_t len)
{
    chio__xp_pub p;
    char id[200];
    uint64_t position, deadline, next_note;
    unsigned backoff = 50;
    int rc, dup;

    /* the id is this run's own (msgid.c): no one can take it first */
    if (chio__export_msg_id(id, sizeof(id), e->key, receipts, first, last, data, len, e->secret) !=
        0) {
        fprintf(e->err, "chio export: %s seq %" PRIu64 "..%" PRIu64 ": no message id\n", sj->name,
                first, last);
        return FAILED;
    }
    memset(&p, 0, sizeof(p));
    p.subject = sj->name;
    p.msg_id = id;
    p.item_seq = first;
    p.item_last = last;
    p.data = data;
    p.len = len;
    deadline = chio__xp_now_ms() + (e->cfg->stall_ms ? e->cfg->stall_ms : DEFAULT_STALL);
    next_note = chio__xp_now_ms() + 5000;
    for (;;) {
        p.expect_last = sj->position;
        rc = chio__xp_publish(e->t, &p, &position, &dup);
        if (rc == 0) {
            sj->seq = last;
            sj->position = position;
            if (dup)
                e->duplicates++;
            else if (receipts)
                e->published_r += last - first + 1;
            else
                e->published_c += last - first + 1;
            e->unsaved++;
            if (receipts && e->cfg->status != NULL) {
                atomic_fetch_add(&e->cfg->status->messages, 1);
                if (!dup)
                    atomic_fetch_add(&e->cfg->status->published, last - first + 1);
            }
            if (receipts)
                note_acked(e);
            return 0;
        }
        if (rc == CHIO__XP_ETOOBIG) {
            /* the servers' max_payload went down since the run was cut
             * (another server of the cluster): cut it again, smaller */
            if (receipts && last > first && len > body_cap(e, 1))
                return RESCAN;
            fprintf(e->err, "chio export: %s seq %" PRIu64 "..%" PRIu64 " (%zu bytes): %s\n",
                    sj->name, first, last, len, chio__xp_errmsg(e->t));
            return FAILED;
        }
        if (rc == CHIO__XP_ECONFLICT) {
            /* Someone (this exporter's earlier try, or another exporter)
             * appended meanwhile: look where the subject stands now. */
            rc = chio__export_sync_subject(e, sj, receipts);
            if (rc == DIVERGED || rc == FAILED)
                return rc;
            if (rc == 0) {
                if (receipts)
                    note_acked(e);
                return sj->seq == last ? 0 : RESCAN;
            }
        }
        if (stopping(e))
            return STOPPED;
        if (!e->cfg->follow && chio__xp_now_ms() > deadline) {
            fprintf(e->err, "chio export: no acknowledgement for %u s: %s\n",
                    (e->cfg->stall_ms ? e->cfg->stall_ms : DEFAULT_STALL) / 1000,
                    chio__xp_errmsg(e->t));
            return FAILED;
        }
        if (chio__xp_now_ms() > next_note) {
            fprintf(e->err, "chio export: retrying %s seq %" PRIu64 "..%" PRIu64 ": %s\n", sj->name,
                    first, last, chio__xp_errmsg(e->t));
            next_note = chio__xp_now_ms() + 10000;
        }
        chio__xp_nap_ms(backoff);
        backoff = backoff < 1000 ? backoff * 2 : 1000;
    }
}

/* Publish the gathered run of receipts (nothing when empty); the run is
 * empty afterwards whatever happened. Returns as publish_run(). */
static int flush_run(ex *e)
{
    int rc = 0;

    if (e->b.count > 0)
        rc = publish_run(e, &e->r, 1, e->b.first, e->b.first + e->b.count - 1, e->b.buf, e->b.len);
    e->b.count = 0;
    e->b.len = 0;
    if (rc == 0)
        maybe_save(e);
    return rc;
}

/* Add one receipt to the run. Returns 0 or FAILED (out of memory). */
static int add_to_run(ex *e, uint64_t seq, const char *json, size_t len)
{
    size_t need = e->b.len + len + 1;

    if (need > e->b.cap) {
        size_t cap = e->b.cap ? e->b.cap : 64 * 1024;
        char *p;
        while (cap < need)
            cap *= 2;
        p = realloc(e->b.buf, cap);
        if (p == NULL) {
            fprintf(e->err, "chio export: out of memory\n");
            return FAILED;
        }
        e->b.buf = p;
        e->b.cap = cap;
    }
    if (e->b.count == 0)
        e->b.first = seq;
    else
        e->b.buf[e->b.len++] = '\n';
    memcpy(e->b.buf + e->b.len, json, len);
    e->b.len += len;
    e->b.count++;
    return 0;
}

static int visit_receipt(void *vctx, uint64_t seq, const char *json, size_t len)
{
    ex *e = vctx;
    uint64_t want = e->r.seq + e->b.count + 1;
    int rc;

    if (stopping(e))
        return STOPPED;
    if (seq != want && (e->r.seq != 0 || e->b.count != 0)) {
        fprintf(e->err, "chio export: receipt %" PRIu64 " follows %" PRIu64 " in the store\n", seq,
                want - 1);
        return FAILED;
    }
    if (memmem(json, len, e->key_field, strlen(e->key_field)) == NULL) {
        fprintf(e->err, "chio export: receipt %" PRIu64 " is not signed by %s\n", seq, e->key);
        return FAILED;
    }
    if (memchr(json, '\n', len) != NULL || len == 0) {
        fprintf(e->err, "chio export: receipt %" PRIu64 " is not canonical JSON\n", seq);
        return FAILED;
    }
    if (!item_fits(e, "receipt", seq, len))
        return FAILED;
    if (e->b.count > 0 && (e->b.count >= e->max_items || e->b.len + 1 + len > body_cap(e, 1))) {
        rc = flush_run(e);
        if (rc != 0)
            return rc;
    }
    return add_to_run(e, seq, json, len);
}

static int visit_checkpoint(void *vctx, uint64_t seq, const char *json, size_t len)
{
    ex *e = vctx;
    chio_checkpoint *cp = NULL;
    uint64_t end;
    int rc;

    if (stopping(e))
        return STOPPED;
    if (chio_checkpoint_parse(json, len, &cp, NULL) != 0) {
        fprintf(e->err, "chio export: checkpoint %" PRIu64 " is unreadable\n", seq);
        return FAILED;
    }
    end = chio_checkpoint_batch_end(cp);
    chio_checkpoint_free(cp);
    if (end > e->r.seq)
        return RESCAN; /* its receipts go first */
    if (!item_fits(e, "checkpoint", seq, len))
        return FAILED;
    rc = publish_run(e, &e->c, 0, seq, seq, json, len);
    maybe_save(e);
    return rc;
}

/* One pass: receipts then checkpoints after what the stream holds.
 * Returns 0, STOPPED, DIVERGED, FAILED. */
static int export_pass(ex *e)
{
    chio_error err;
    int rc;

    for (;;) {
        chio_error_init(&err);
        rc = chio_store_seq_range(e->s, &e->local_first, &e->local_last, &err);
        if (rc == 0)
            note_local(e);
        if (rc == 0 && e->r.seq + 1 < e->local_first && e->local_last > 0) {
            fprintf(e->err,
                    "chio export: receipts %" PRIu64 "..%" PRIu64 " were archived before being "
                    "exported; export the archive first\n",
                    e->r.seq + 1, e->local_first - 1);
            return FAILED;
        }
        if (rc == 0 && e->local_last > e->r.seq) {
            rc = chio_store_scan(e->s, e->r.seq + 1, visit_receipt, e, &err);
            if (rc == 0)
                rc = flush_run(e); /* the rest of what the store holds */
            e->b.count = 0;        /* (dropped when the scan stopped) */
            e->b.len = 0;
        }
        if (rc == 0)
            rc = chio_store_scan_checkpoints(e->s, e->c.seq + 1, visit_checkpoint, e, &err);
        if (rc < 0) {
            fprintf(e->err, "chio export: reading the store: %s\n", err.message);
            return FAILED;
        }
        if (rc == RESCAN && e->local_last > e->r.seq)
            continue; /* the stream moved on (another exporter): go on from there */
        return rc == RESCAN ? 0 : rc;
    }
}

/* ---- the command ------------------------------------------------------------------------ */

/* With --follow, (re)open the store until it opens: a kernel that is
 * starting or restarting rewrites the files a secondary instance reads,
 * and the store may not exist yet. Says why after 10 s, then every 60 s.
 * Returns 0, or -1 when stopped. */
static int open_following(ex *e)
{
    uint64_t start = chio__xp_now_ms(), next_note = start + 10000;

    for (;;) {
        chio__fleet_store_identity(e->cfg->db, e->ident);
        e->s = chio__fleet_open_store("export", e->cfg->db, 1, NULL);
        if (e->s != NULL)
            return 0;
        if (stopping(e))
            return -1;
        if (chio__xp_now_ms() > next_note) {
            chio_store *s = chio__fleet_open_store("export", e->cfg->db, 1, e->err);
            chio_store_close(s);
            next_note = chio__xp_now_ms() + 60000;
        }
        chio__xp_nap_ms(250);
    }
}

/* Wait (with --follow) for the store's first write and learn the key. */
static int learn_key(ex *e)
{
    for (;;) {
        if (chio__fleet_store_key(e->s, e->key) == 0)
            return 0;
        if (!e->cfg->follow || stopping(e))
            return -1;
        chio__xp_nap_ms(100);
        chio_store_catch_up(e->s, NULL);
    }
}

/* Where the stream stands for both subjects, checked against the store
 * (after the store was opened again under --follow: the stream's servers
 * are waited for). Returns 0, DIVERGED, FAILED, STOPPED. */
static int resync(ex *e)
{
    int rc;

    e->anchored = 0; /* another store: check the whole subject against it */
    for (;;) {
        rc = chio__export_sync_subject(e, &e->r, 1);
        if (rc == 0)
            rc = chio__export_sync_subject(e, &e->c, 0);
        if (rc == 0)
            e->anchored = 1;
        if (rc == 0 || rc == DIVERGED || rc == FAILED)
            return rc;
        if (stopping(e))
            return STOPPED;
        chio__xp_nap_ms(200);
    }
}

static int connect_and_sync(ex *e)
{
    static const char *const subjects[] = {"chio.*." CHIO__FLEET_RECEIPTS,
                                           "chio.*." CHIO__FLEET_CHECKPOINTS};
    char why[512];
    uint64_t saved, next_note = 0;
    uint64_t deadline = chio__xp_now_ms() + (e->cfg->stall_ms ? e->cfg->stall_ms : DEFAULT_STALL);
    int rc;

    /* With --follow, servers not up yet are waited for (said once a minute). */
    for (;;) {
        rc = chio__xp_open(e->cfg->urls, e->cfg->stream, 5000, &e->t, why, sizeof(why));
        if (rc == 0)
            break;
        if (!e->cfg->follow || rc == CHIO__XP_EINVAL || rc == CHIO__XP_ENOMEM) {
            fprintf(e->err, "chio export: %s\n", why);
            return FAILED;
        }
        if (chio__xp_now_ms() >= next_note) {
            fprintf(e->err, "chio export: %s (waiting)\n", why);
            next_note = chio__xp_now_ms() + 60000;
        }
        if (stopping(e))
            return STOPPED;
        chio__xp_nap_ms(500);
    }
    for (;;) {
        rc = chio__xp_ensure_stream(e->t, subjects, 2, &e->replicas, NULL);
        if (rc == 0)
            rc = chio__export_sync_subject(e, &e->r, 1);
        if (rc == 0)
            rc = chio__export_sync_subject(e, &e->c, 0);
        if (rc == 0 || rc == DIVERGED || rc == FAILED)
            break;
        if (stopping(e))
            return STOPPED;
        if (!e->cfg->follow && chio__xp_now_ms() > deadline) {
            fprintf(e->err, "chio export: stream %s: %s\n", e->cfg->stream, chio__xp_errmsg(e->t));
            return FAILED;
        }
        chio__xp_nap_ms(200);
    }
    if (rc != 0)
        return rc;
    e->anchored = 1;
    note_acked(e);
    if (e->cfg->status != NULL)
        atomic_store(&e->cfg->status->synced, 1);
    saved = saved_field(e, "receipt_seq");
    if (saved > e->r.seq)
        fprintf(e->err,
                "chio export: %s acknowledged receipts up to %" PRIu64 " but the stream holds "
                "them only up to %" PRIu64 " (messages lost by the stream?): publishing again "
                "from %" PRIu64 "\n",
                e->pos_path, saved, e->r.seq, e->r.seq + 1);
    return 0;
}

int chio__export_run(const chio__export_config *cfg, FILE *out, FILE *err)
{
    ex e;
    char now_ident[CHIO__FLEET_IDENT_LEN];
    int rc = FAILED;

    memset(&e, 0, sizeof(e));
    e.cfg = cfg;
    e.err = err;
    e.max_items = cfg->max_batch && cfg->max_batch < CHIO__EXPORT_MAX_ITEMS
                      ? cfg->max_batch
                      : CHIO__EXPORT_MAX_ITEMS;
    if (!chio__fleet_stream_name_ok(cfg->stream)) {
        fprintf(err, "chio export: --stream must be 1-64 of A-Z a-z 0-9 _ -\n");
        return CHIO__FLEET_ERROR;
    }
    if (chio__export_secret(e.secret) != 0) {
        fprintf(err, "chio export: no random bytes for message ids: %s\n", strerror(errno));
        goto out;
    }
    e.pos_path = chio__export_position_path(cfg->db, cfg->stream);
    if (e.pos_path == NULL)
        goto out;
    if (cfg->follow) {
        if (open_following(&e) != 0) {
            rc = STOPPED;
            goto out;
        }
    } else if ((e.s = chio__fleet_open_store("export", cfg->db, 0, err)) == NULL) {
        goto out;
    }
    if (learn_key(&e) != 0) {
        rc = stopping(&e) ? STOPPED : 0;
        goto out;
    }
    snprintf(e.key_field, sizeof(e.key_field), "\"kernel_key\":\"%s\"", e.key);
    snprintf(e.r.name, sizeof(e.r.name), "chio.%s." CHIO__FLEET_RECEIPTS, e.key);
    snprintf(e.c.name, sizeof(e.c.name), "chio.%s." CHIO__FLEET_CHECKPOINTS, e.key);
    rc = connect_and_sync(&e);
    while (rc == 0) {
        rc = export_pass(&e);
        if (rc != 0 || !cfg->follow || stopping(&e))
            break;
        if (e.unsaved > 0)
            save_position(&e);
        nap_unless_stopped(&e, cfg->poll_ms ? cfg->poll_ms : 100);
        if (stopping(&e))
            break;
        chio__fleet_store_identity(cfg->db, now_ident);
        if (strcmp(now_ident, e.ident) != 0 || chio_store_catch_up(e.s, NULL) != 0) {
            /* the kernel restarted under us, or the store was replaced:
             * open it again, and check it against the stream again (a
             * store started again from seq 1 must not go on from here) */
            chio_store_close(e.s);
            e.s = NULL;
            if (open_following(&e) != 0)
                rc = STOPPED;
            else
                rc = resync(&e);
        }
    }
    if (e.t != NULL && rc != DIVERGED && (e.unsaved > 0 || rc == 0))
        save_position(&e);
out:
    if (out == NULL)
        ;
    else if ((rc == 0 || rc == STOPPED) && e.key[0] == '\0') /* nothing written yet */
        fprintf(out, "{\"kernel\":null,\"receipts_published\":0,\"stream\":\"%s\"}\n", cfg->stream);
    else if (rc == 0 || rc == STOPPED)
        fprintf(out,
                "{\"checkpoints_published\":%" PRIu64 ",\"duplicates\":%" PRIu64
                ",\"kernel\":\"%s\",\"last_checkpoint_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64
                ",\"receipts_published\":%" PRIu64 ",\"replicas\":%d,\"stream\":\"%s\"}\n",
                e.published_c, e.duplicates, e.key, e.c.seq, e.r.seq, e.published_r, e.replicas,
                cfg->stream);
    if (out != NULL)
        fflush(out);
    chio__xp_close(e.t);
    chio_store_close(e.s);
    free(e.pos_path);
    free(e.b.buf);
    explicit_bzero(e.secret, sizeof(e.secret));
    rc = rc == 0 || rc == STOPPED ? CHIO__FLEET_OK
         : rc == DIVERGED         ? CHIO__FLEET_NEGATIVE
                                  : CHIO__FLEET_ERROR;
    if (cfg->status != NULL) {
        atomic_store(&cfg->status->exit, rc);
        atomic_store(&cfg->status->finished, 1);
    }
    return rc;
}
