/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export/replay.h - telling a receipt the store lost from a copy of one it
 * archived (exporter_scan.c, witness.c). A stream item signed by the kernel that
 * the store lacks, or holds other bytes for, is a rollback of the store,
 * unless it is a receipt the store archived (`chio receipt archive` deletes
 * it and its id from the live store) published again by another client
 * under a later seq: the stream then holds the same bytes earlier, at a seq
 * below the store's first. Such items are kept as suspects while a subject
 * is read and resolved with one more read of it afterwards, so memory stays
 * bounded (CHIO__SUSPECTS_MAX; past it, a suspect counts as a rollback).
 */
#ifndef CHIO_EXPORT_REPLAY_H
#define CHIO_EXPORT_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "transport.h"

#define CHIO__SUSPECTS_MAX 256

typedef struct chio__suspect {
    uint64_t seq, position; /* the item's seq and its message's stream position */
    uint64_t first_diff;    /* what a rollback would name (the first seq missing or differing) */
    const char *kind;       /* "rewound" or "forked" (static) */
    uint8_t digest[32];     /* SHA-256 of the item's bytes */
    int replay;             /* 1 once found to be a copy of an archived item */
} chio__suspect;

typedef struct chio__suspects {
    chio__suspect v[CHIO__SUSPECTS_MAX];
    size_t n;
    chio__suspect over; /* the first one past the table (over.seq 0: none) */
} chio__suspects;

/* Keep item @m (a kernel publication the store lacks or differs from). */
void chio__suspect_add(chio__suspects *s, const chio__xp_msg *m, const char *kind,
                       uint64_t first_diff);

/* Mark the suspects that are copies of an item of @subject at a seq below
 * @first (archived from the store) published before them. Reads the subject
 * once when there is something to resolve. Returns 0 or a CHIO__XP_* code. */
int chio__suspects_resolve(chio__xp *t, const char *subject, uint64_t first, chio__suspects *s);

/* The first suspect that is not a replay (in stream order), or NULL. */
const chio__suspect *chio__suspect_rollback(const chio__suspects *s);

/* How many suspects were replays. */
uint64_t chio__suspect_replays(const chio__suspects *s);

#endif
