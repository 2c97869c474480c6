/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store/audit_internal.h - the receipt log auditor's state, shared by its
 * two files: audit.c (the scan of checkpoints and receipts, the public
 * entry points) and audit_log.c (the log as a whole: key record, signed
 * head, chain start, the id index's leftovers). Internal to the store layer.
 */
#ifndef CHIO_STORE_AUDIT_INTERNAL_H
#define CHIO_STORE_AUDIT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "chio/store.h"
#include "store_internal.h"

/* Per missing range, at most this many "missing_receipt" lines. */
#define MAX_MISSING_LINES 10000

typedef struct cp_info {
    uint64_t seq, start, end;
    uint8_t root[32];
    char body_sha[65];
    int readable; /* parsed */
    int usable;   /* and signed by a trusted key under its own number: its range
                     is the kernel's, so receipts are counted against it */
    int bad;      /* a problem was already reported */
    uint64_t leaves_seen;
} cp_info;

typedef struct audit {
    chio_store *s;
    const uint8_t *trusted;
    size_t ntrusted;
    chio_audit_fn fn;
    void *ctx;
    chio_store_audit *out;
    chio_error *err;
    chio__store_view *view; /* every read of the audit: one snapshot, failures kept */
    cp_info *cps;
    size_t ncps, cap;
    size_t cur;      /* checkpoint whose range we are in */
    uint8_t *leaves; /* leaves of cps[cur] so far */
    size_t nleaves, capleaves;
    uint64_t expect;    /* next sequence number expected */
    int at_end;         /* the receipt at UINT64_MAX was read: nothing can follow */
    uint64_t log_start; /* the first receipt the store should hold */
    uint64_t first_cp;  /* the first checkpoint the store should hold */
    int oom;
    /* the log as a whole */
    chio_store_audit_v2 *v2;
    uint8_t pin_key[32]; /* the store's key, when pinned by the store */
    uint64_t chain_from; /* 0: no chain */
    int head_ok;         /* a readable head signed by the pinned key */
    int head_absent;
    chio__log_head head;
    uint8_t prev[32]; /* stored chain value at prev_seq */
    uint64_t prev_seq;
    int have_prev;
    int prev_derived; /* prev is not stored: its entry was missing, so it is
                         the value the link to prev_seq gives */
    /* A store is signed by one key: when its key record is valid and
     * trusted, the head and the checkpoints from chain_from on must be
     * signed by that key, not by any other key the caller trusts. */
    int store_pinned;
    uint8_t store_key[32];
    /* the id index: receipts it names at their own number, and its
     * entries naming a number inside the stored range */
    uint64_t indexed_here, ids_in_range;
    /* the chain family: any entry under an 8-byte key, and the last one */
    int chain_any;
    uint64_t chain_last;
    uint64_t durable_cp; /* the "durable_checkpoint" metadata (0: none) */
    uint64_t *named;     /* receipts a problem line named, in order */
    size_t nnamed, capnamed;
} audit;

/* Did the read that returned @rc fail in the store (an I/O error, a table
 * file deleted under a read-only instance, a damaged block), as opposed to
 * finding nothing or a value of the wrong shape? Such a read is no
 * evidence: the caller names nothing, and the audit stops with its error. */
int chio__audit_read_failed(const audit *a, int rc);
/* One problem line to the caller's callback (sets a->oom when it cannot);
 * none once a read failed. */
void chio__audit_problem(audit *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A receipt id as an escaped JSON string, cut to 64 bytes; NULL on ENOMEM. */
char *chio__audit_quoted_id(const char *id);
/* Is @key among the caller's trusted keys (any key when none is given)? */
int chio__audit_trusted_key(const audit *a, const uint8_t key[32]);
/* "missing_receipt" lines for @from..@to (at most MAX_MISSING_LINES). */
void chio__audit_report_missing(audit *a, uint64_t from, uint64_t to);
/* Did a problem line already name the receipt at @seq? */
int chio__audit_was_named(const audit *a, uint64_t seq);

/* audit_log.c: a u64 metadata value into *@out (0 when absent); one that
 * is not 8 bytes is named ("bad_metadata") and read as absent. 0 or a
 * store error. */
int chio__audit_meta_u64(audit *a, const char *name, uint64_t *out);
/* audit.c: a key no kernel writes in @family (not 8 bytes), named. */
int chio__audit_odd_key(audit *a, const char *family, const char *key, size_t klen, size_t vlen);
/* audit_log.c: before the scan (the pin and the head), after it (the tail
 * the head vouches for) and the two passes over the id index. */
int chio__audit_prologue(audit *a);
void chio__audit_epilogue(audit *a);
int chio__audit_check_dangling_id(void *ctx, const char *id, size_t idlen, uint64_t seq);
int chio__audit_check_stale_id(void *ctx, const char *id, size_t idlen, uint64_t seq);

#endif
