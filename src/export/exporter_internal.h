/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export/exporter_internal.h - one exporter run's state, shared by
 * exporter.c (publishing, the run's loop, the position file) and
 * exporter_scan.c (reading what the stream holds and checking it against
 * the store). One thread owns an `ex`.
 */
#ifndef CHIO_EXPORT_EXPORTER_INTERNAL_H
#define CHIO_EXPORT_EXPORTER_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "chio/chio.h"
#include "export.h"
#include "transport.h"

#define RESCAN    7  /* visitor result: the stream moved; scan again from the new end */
#define STOPPED   8  /* visitor result: a stop was asked for */
#define DIVERGED  9  /* visitor result: the stream disagrees with the store */
#define FAILED    10 /* visitor result: an error, said on err */
#define WENT_BACK 11 /* scan result: the subject no longer reaches the message known */
#define STALE     12 /* scan result: the store's view was behind the stream (read again) */

typedef struct subj {
    char name[128];
    uint64_t seq;      /* the last item seq the stream holds on this subject */
    uint64_t position; /* its stream position; 0 when the subject is empty */
} subj;

/* The run of receipts being gathered for the next message. */
typedef struct run {
    char *buf;
    size_t len, cap;
    uint64_t first, count;
} run;

typedef struct ex {
    const chio__export_config *cfg;
    run b;
    unsigned max_items;
    FILE *err;
    chio_store *s;
    chio__xp *t;
    char key[65], key_field[90];
    subj r, c;
    uint64_t local_first, local_last;
    uint64_t published_r, published_c, duplicates;
    uint64_t unsaved, last_save_ms;
    char *pos_path;
    char ident[CHIO__FLEET_IDENT_LEN]; /* the store opened (chio__fleet_store_identity()) */
    int replicas;
    int anchored; /* r and c name messages this run published or read (else: read whole) */
    uint8_t secret[CHIO__EXPORT_SECRET_LEN]; /* keys this run's message id tags (msgid.c) */
} ex;

/* exporter_scan.c: where the stream stands for @sj, checked against the
 * store. Returns 0, DIVERGED, FAILED, or a transport code (retry). */
int chio__export_sync_subject(ex *e, subj *sj, int receipts);

#endif
