/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/shell_braces.h - bash's brace expansion of a value (see
 * shell_braces.c), for the forbidden_path guard: "cat /e{t,}c/passwd" is
 * "cat /etc/passwd /ec/passwd" to bash.
 */
#ifndef CHIO_KERNEL_SHELL_BRACES_H
#define CHIO_KERNEL_SHELL_BRACES_H

#include <stddef.h>

/* The expansion would pass its bounds (more than 64 braces deep along one
 * word, or more work than chio__shell_brace_expand allows). */
#define CHIO__BRACES_TOO_LARGE (-1)
/* Out of memory. */
#define CHIO__BRACES_NOMEM (-2)

/* @s (@n bytes) with each word that holds a brace expression bash would
 * expand ("{a,b}", "{1..3}", "{a..e..2}"; not one quoted, escaped or
 * inside "${..}", "$(..)" or backticks) replaced by its expansions, each
 * followed by a space; the rest as written. Words are cut at unquoted
 * white space and the shell's operators. Quotes are kept: the caller's
 * other readings remove them. On 1, *@out is malloc'ed (the caller frees
 * it) and holds *@len bytes and a NUL. Returns 1, 0 when @s holds no
 * such brace (*@out NULL), CHIO__BRACES_TOO_LARGE when the expansion
 * would pass 64 levels in one word or about 1 MiB plus 8 bytes per byte
 * of @s, CHIO__BRACES_NOMEM. Bounded time: the work is counted against
 * the same bound. */
int chio__shell_brace_expand(const char *s, size_t n, char **out, size_t *len);

#endif /* CHIO_KERNEL_SHELL_BRACES_H */
