/* SPDX-License-Identifier: Apache-2.0 */
/*
 * model/attenuation.h - a delegation link's attenuations: how chio reads
 * one, and whether the token carrying it contradicts it. Used by
 * capability.c. No state.
 */
#ifndef CHIO_MODEL_ATTENUATION_H
#define CHIO_MODEL_ATTENUATION_H

#include <stddef.h>
#include <stdint.h>

#include "scope.h"

/* How chio reads an attenuation. */
enum {
    CHIO__ATT_OK = 0,         /* as written */
    CHIO__ATT_UNREADABLE = 1, /* not at all: chio refuses the token */
    CHIO__ATT_DROPPED = 2     /* dropping a member: signatures over it fail there */
};

/* How chio reads the MonetaryAmount @m {units, currency} (CHIO__ATT_*),
 * in an attenuation or a grant's cost cap. */
int chio__money_read(const chio_json *m);

/* How chio reads the attenuation @a (CHIO__ATT_*). */
int chio__attenuation_read(const chio_json *a);

/* The most grant and constraint comparisons chio_capability_contradicts_
 * chain() makes for one token (about 10-50 ms of CPU). */
#define CHIO__ATTENUATION_WORK (1u << 20)

/*
 * Does a token of scope @sc expiring at @expires_at still hold what the
 * attenuation @a takes away (a tool or operation it removes, a grant of
 * its target without the constraint it adds or over the budget, cost cap
 * or expiry it lowers)? chio's reading: a grant covers the target when
 * its server_id and tool_name are "*" or the target's; for reduce_budget
 * and reduce_total_cost the covering grants' limits also count together
 * (their sum above the link's contradicts it). Returns 1 with the
 * reason, NUL-terminated and cut to fit, in @why (@why_cap > 0); 0 when
 * the token keeps to it, or when chio cannot read @a at all; -1 when the
 * comparisons it needs would take *@work below 0. Each grant looked at
 * and each constraint compared takes one from *@work.
 */
int chio__attenuation_contradicted(const chio_json *a, const chio__scope *sc, uint64_t expires_at,
                                   int64_t *work, char *why, size_t why_cap);

#endif
