/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export/replay.c - suspects (replay.h): the kernel publications a reader
 * of a subject found missing from, or different in, the local store, and
 * the one further read that tells those the store lost (a rollback) from
 * copies of receipts the store archived, which another client published
 * again under a later seq. A copy has the bytes of an item the stream
 * already holds, earlier, at a seq below the store's first; a receipt the
 * store lost was never in the stream at any other seq before it. Only an
 * item published in seq order counts as such an original: the exporter
 * publishes the kernel's items in order, so an archived seq published
 * after a later one is itself a re-publication (review 54: copies of the
 * lost receipts published first under seq 1 made them read as replays,
 * and the witness passed a rolled-back store). Memory is the fixed table
 * of suspects. Public API (crypto) and the transport.
 */
#include <string.h>

#include "chio/chio.h"
#include "replay.h"

void chio__suspect_add(chio__suspects *s, const chio__xp_msg *m, const char *kind,
                       uint64_t first_diff)
{
    chio__suspect *p;

    if (s->n == CHIO__SUSPECTS_MAX) {
        if (s->over.seq == 0) { /* past the table: a rollback, whatever it is */
            s->over.seq = m->item_seq;
            s->over.position = m->position;
            s->over.kind = kind;
            s->over.first_diff = first_diff;
        }
        return;
    }
    p = &s->v[s->n++];
    memset(p, 0, sizeof(*p));
    p->seq = m->item_seq;
    p->position = m->position;
    p->kind = kind;
    p->first_diff = first_diff;
    chio_sha256(m->data, m->len, p->digest);
}

typedef struct resolve_ctx {
    chio__suspects *s;
    uint64_t first;
    uint64_t high; /* the highest seq read so far, in stream order */
} resolve_ctx;

static int on_archived(void *vctx, const chio__xp_msg *m)
{
    resolve_ctx *r = vctx;
    uint64_t high = r->high;
    uint8_t d[32];
    size_t i;
    int hashed = 0;

    if (m->item_seq > r->high)
        r->high = m->item_seq;
    if (m->item_seq == 0 || m->item_seq >= r->first)
        return 0; /* only the items the store archived */
    if (m->item_seq < high)
        return 0; /* after a later seq: a re-publication, no original */
    for (i = 0; i < r->s->n; i++) {
        chio__suspect *p = &r->s->v[i];
        if (p->replay || p->position <= m->position)
            continue; /* a copy comes after its original */
        if (!hashed) {
            chio_sha256(m->data, m->len, d);
            hashed = 1;
        }
        if (memcmp(d, p->digest, 32) == 0)
            p->replay = 1;
    }
    return 0;
}

int chio__suspects_resolve(chio__xp *t, const char *subject, uint64_t first, chio__suspects *s)
{
    resolve_ctx r = {s, first, 0};

    if (s->n == 0 || first <= 1)
        return 0; /* nothing archived: nothing can be a copy of it */
    return chio__xp_read(t, subject, 1, on_archived, &r);
}

const chio__suspect *chio__suspect_rollback(const chio__suspects *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        if (!s->v[i].replay)
            return &s->v[i];
    return s->over.seq != 0 ? &s->over : NULL;
}

uint64_t chio__suspect_replays(const chio__suspects *s)
{
    uint64_t n = 0;
    size_t i;

    for (i = 0; i < s->n; i++)
        n += s->v[i].replay != 0;
    return n;
}
