/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export/witness.c - `chio fleet witness`: is the local log at least what
 * its kernel already published? Every receipt and checkpoint the stream
 * holds for the store's kernel key is compared, byte for byte, with the
 * local one of the same seq. The local log was rolled back when it lacks
 * one the stream has ("rewound": a whole directory put back from an older
 * consistent copy, which no local check can see) or holds different bytes
 * at a seq ("forked"); the report names the first such seq. A local log
 * that is equal to the stream, or longer (not exported yet), is fine.
 * Receipts archived locally (below the store's first seq) are not
 * compared. Public API and the transport.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/chio.h"
#include "export.h"
#include "transport.h"

typedef struct wit {
    chio_store *s;
    int receipts;         /* comparing receipts (1) or checkpoints (0) */
    uint64_t local_first; /* receipts below are archived here */
    uint64_t local_last;
    uint64_t compared, stream_last;
    uint64_t first_diff;
    const char *kind; /* "rewound" or "forked" once found */
    int failed;
    char msg[320];
} wit;

static int on_message(void *vctx, const chio__xp_msg *m)
{
    wit *w = vctx;
    char *mine = NULL;
    size_t len = 0;
    chio_error err;
    int rc;

    if (m->item_seq == 0)
        return 0; /* not one of ours; fleet verify reports it */
    if (m->item_seq > w->stream_last)
        w->stream_last = m->item_seq;
    if (w->kind != NULL)
        return 0; /* found already: only the stream's end is still counted */
    if (w->receipts && m->item_seq < w->local_first)
        return 0;
    if (m->item_seq > w->local_last) {
        w->kind = "rewound";
        w->first_diff = w->local_last + 1;
        return 0;
    }
    chio_error_init(&err);
    rc = w->receipts ? chio_store_get_receipt(w->s, m->item_seq, &mine, &len, &err)
                     : chio_store_get_checkpoint(w->s, m->item_seq, &mine, &len, &err);
    if (rc == CHIO_ENOTFOUND) {
        w->kind = "rewound"; /* a hole below the local end: lost, not archived */
        w->first_diff = m->item_seq;
        return 0;
    }
    if (rc != 0) {
        snprintf(w->msg, sizeof(w->msg), "reading %" PRIu64 ": %s", m->item_seq, err.message);
        w->failed = 1;
        return 1;
    }
    w->compared++;
    if (len != m->len || memcmp(mine, m->data, len) != 0) {
        w->kind = "forked";
        w->first_diff = m->item_seq;
    }
    chio_free(mine);
    return 0;
}

/* Compare one subject. Returns 0, or -1 after a message on @err. */
static int compare(chio__xp *t, const char *key, wit *w, FILE *err)
{
    char subject[128];
    int rc;

    snprintf(subject, sizeof(subject), "chio.%s.%s", key,
             w->receipts ? CHIO__FLEET_RECEIPTS : CHIO__FLEET_CHECKPOINTS);
    rc = chio__xp_read(t, subject, 1, on_message, w);
    if (w->failed) {
        fprintf(err, "chio fleet witness: %s\n", w->msg);
        return -1;
    }
    if (rc != 0 && rc != CHIO__XP_ENOTFOUND) {
        fprintf(err, "chio fleet witness: reading %s: %s\n", subject, chio__xp_errmsg(t));
        return -1;
    }
    return 0;
}

static void json_seq(FILE *out, const char *name, uint64_t v, int present)
{
    if (present)
        fprintf(out, ",\"%s\":%" PRIu64, name, v);
    else
        fprintf(out, ",\"%s\":null", name);
}

int chio__fleet_witness(const char *db, const char *urls, const char *stream, FILE *out, FILE *err)
{
    chio_store *s;
    chio__xp *t = NULL;
    wit r, c;
    char key[65], why[512];
    uint64_t cp_last = 0;
    int rc = CHIO__FLEET_ERROR, rollback;

    if (!chio__fleet_stream_name_ok(stream)) {
        fprintf(err, "chio fleet witness: --stream must be 1-64 of A-Z a-z 0-9 _ -\n");
        return CHIO__FLEET_ERROR;
    }
    s = chio__fleet_open_store("fleet witness", db, 0, err);
    if (s == NULL)
        return CHIO__FLEET_ERROR;
    if (chio__fleet_store_key(s, key) != 0) {
        fprintf(err,
                "chio fleet witness: %s has no receipt and no key record: no kernel to "
                "compare\n",
                db);
        goto out;
    }
    memset(&r, 0, sizeof(r));
    memset(&c, 0, sizeof(c));
    r.s = c.s = s;
    r.receipts = 1;
    if (chio_store_seq_range(s, &r.local_first, &r.local_last, NULL) != 0 ||
        chio_store_last_checkpoint_seq(s, &cp_last, NULL) != 0) {
        fprintf(err, "chio fleet witness: %s: cannot read the log's range\n", db);
        goto out;
    }
    if (r.local_last == 0)
        r.local_first = 1;
    c.local_first = 1;
    c.local_last = cp_last;
    if (chio__xp_open(urls, stream, 5000, &t, why, sizeof(why)) != 0) {
        fprintf(err, "chio fleet witness: %s\n", why);
        goto out;
    }
    if (compare(t, key, &r, err) != 0 || compare(t, key, &c, err) != 0)
        goto out;
    rollback = r.kind != NULL || c.kind != NULL;
    fprintf(out, "{\"checkpoints_compared\":%" PRIu64, c.compared);
    json_seq(out, "first_differing_checkpoint_seq", c.first_diff, c.kind != NULL);
    json_seq(out, "first_differing_seq", r.first_diff, r.kind != NULL);
    fprintf(out,
            ",\"kernel\":\"%s\",\"local_last_checkpoint_seq\":%" PRIu64
            ",\"local_last_seq\":%" PRIu64,
            key, cp_last, r.local_last);
    if (rollback)
        fprintf(out, ",\"reason\":\"%s\"", r.kind ? r.kind : c.kind);
    else
        fprintf(out, ",\"reason\":null");
    fprintf(out,
            ",\"receipts_compared\":%" PRIu64 ",\"rollback\":%s,\"stream\":\"%s\""
            ",\"stream_last_checkpoint_seq\":%" PRIu64 ",\"stream_last_seq\":%" PRIu64 "}\n",
            r.compared, rollback ? "true" : "false", stream, c.stream_last, r.stream_last);
    if (rollback)
        fprintf(err,
                "chio fleet witness: ROLLBACK: the local log of kernel %s is %s: it differs "
                "from what the kernel published from %s %" PRIu64 " on\n",
                key, r.kind ? r.kind : c.kind, r.kind ? "seq" : "checkpoint",
                r.kind ? r.first_diff : c.first_diff);
    rc = rollback ? CHIO__FLEET_NEGATIVE : CHIO__FLEET_OK;
out:
    fflush(out);
    chio__xp_close(t);
    chio_store_close(s);
    return rc;
}
