/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/constraint_regex.h - the regex_match constraint (see
 * constraint_regex.c), called by constraints.c.
 */
#ifndef CHIO_KERNEL_CONSTRAINT_REGEX_H
#define CHIO_KERNEL_CONSTRAINT_REGEX_H

#include <stddef.h>

#include "kernel_internal.h"
#include "scope.h"

/*
 * chio__regex_match_holds - 1 when some string leaf of @args matches the
 * regex_match pattern of @c, read as chio reads it; else 0 with a reason
 * in @reason (@cap bytes). A pattern with no exact POSIX reading, over the
 * automaton bound, invalid, or one that cannot be compiled (out of memory)
 * denies. Thread-safe: compiled patterns are shared through @k's cache.
 */
int chio__regex_match_holds(chio_kernel *k, const chio__constraint *c, const chio_json *args,
                            char *reason, size_t cap);

#endif
