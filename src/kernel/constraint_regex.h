/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/constraint_regex.h - the regex_match constraint (see
 * constraint_regex.c), called by constraints.c.
 */
#ifndef CHIO_KERNEL_CONSTRAINT_REGEX_H
#define CHIO_KERNEL_CONSTRAINT_REGEX_H

#include <locale.h>
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

/*
 * chio__regex_enter_c - select the C locale for this thread (a byte is a
 * character to regcomp and regexec, whatever locale the embedding program
 * set) and return the previous one in @prev, to be given back with
 * uselocale(*prev); 0 on success, -1 when the locale cannot be made.
 * Thread-safe (the locale object is made once).
 */
int chio__regex_enter_c(locale_t *prev);

#endif
