/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/model/receipt_cases.h - one table of receipt field sets (decisions,
 * evidence, request contexts, redaction metadata, escapes, non-ASCII text)
 * shared by the receipt writer's suites: test_receipt_fields.c holds the
 * one-pass writer to the builder, test_rev30_i12.c to the bytes an older
 * build stored from the same cases.
 */
#ifndef CHIO_TESTS_RECEIPT_CASES_H
#define CHIO_TESTS_RECEIPT_CASES_H

#include <stddef.h>

#include "model.h"

typedef struct receipt_case {
    const char *name;
    chio_verdict verdict;
    const char *reason, *guard;
    const char *params; /* canonical */
    const char *output; /* NULL: none */
    size_t nev;
    const char *parent;
    const char *orig_hash, *red_guard, *red_reason;
    chio_redaction_mode redaction;
    uint64_t red_count;
    const char *tool;
} receipt_case;

extern const receipt_case receipt_cases[];
extern const size_t receipt_ncases;

/* @f as the case @c describes it (fixed time, ids and capability). */
void receipt_case_fill(const receipt_case *c, chio__receipt_fields *f);

#endif
