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
 * chio__regex_ere - the POSIX ERE chio pattern @pattern becomes, in *@ere
 * (malloc'ed; the caller frees it), writing @bol for an anchor '^' when
 * @bol is not NULL (the tests build glibc's former search form with it).
 * 0; CHIO_EINVAL when the pattern has no exact reading (refused: *@ere is
 * NULL); CHIO_ENOMEM.
 */
int chio__regex_ere(const char *pattern, const char *bol, char **ere);

/*
 * chio__regex_match_holds - 1 when some string leaf of @args matches the
 * regex_match pattern of @c, read as chio reads it; else 0 with a reason
 * in @reason (@cap bytes). A pattern with no exact POSIX reading, over the
 * automaton bound, invalid, or one that cannot be compiled (out of memory)
 * denies, and so does a search of @args that would take more than the
 * *@steps automaton steps left to the call (CHIO__NFA_WORK_MAX at its
 * start, regex_nfa.h; what the search takes is taken from it).
 * Thread-safe: compiled patterns are shared through @k's cache.
 */
int chio__regex_match_holds(chio_kernel *k, const chio__constraint *c, const chio_json *args,
                            uint64_t *steps, char *reason, size_t cap);

/*
 * chio__regex_never_holds - 1 when the regex_match pattern @pattern makes
 * chio__regex_match_holds deny every call (no exact reading, invalid, over
 * the automaton bound), with that reason in @reason; 0 when it compiles;
 * CHIO_ENOMEM. Compiled alone (not cached) and dropped.
 */
int chio__regex_never_holds(const char *pattern, char *reason, size_t cap);

#endif
