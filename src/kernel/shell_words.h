/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/shell_words.h - an argument as a POSIX shell reads it (see
 * shell_words.c): quote removal and $IFS, and the expansions the kernel
 * cannot resolve. Shared by the forbidden_path guard (guard_path.c) and
 * the path and domain constraints (constraints.c), so both read a value
 * the same way.
 */
#ifndef CHIO_KERNEL_SHELL_WORDS_H
#define CHIO_KERNEL_SHELL_WORDS_H

#include <stddef.h>

/* Could a shell's reading of @s (@n bytes) differ from @s after quote
 * removal and $IFS: does it hold ' " \ or $? */
int chio__shell_may_differ(const char *s, size_t n);

/* @s as a POSIX shell reads its words after quote removal: ' and "
 * dropped, a backslash dropped before the byte it escapes (both before a
 * newline), "$IFS" and "${IFS}" (white space to the shell) made a space.
 * An approximation that only adds a reading: it never takes one away.
 * Writes at most @n bytes and a NUL to @out; returns the length. */
size_t chio__shell_unquote(const char *s, size_t n, char *out);

/* chio__shell_unquote of @s into a buffer of its own: @stack (@cap bytes)
 * when it fits, else malloc'ed into *@heap (the caller frees *@heap, NULL
 * when unused). Returns the reading (length in *@len), or NULL when out of
 * memory. */
const char *chio__shell_reading(const char *s, size_t n, char *stack, size_t cap, char **heap,
                                size_t *len);

/* Does a shell expansion start at s[i]: '$' before a name, a digit, one
 * of the special parameters (* @ # ? - $ !), '{' or '(', or a backtick?
 * Its value is unknown to the kernel (a variable may be unset, "${x:-..}"
 * is any text). */
int chio__shell_expansion_at(const char *s, size_t n, size_t i);

/* Could a shell make a segment of @s (@n bytes) the parent directory
 * "..": a segment (between '/', '\' and white space, the shell and list
 * separators ;|&<>,=) holding a glob ('?', '*', '[...]': a leading '.'
 * must be matched by a '.', except by a bracket), a brace ('{': any of
 * its alternatives) or an expansion (chio__shell_expansion_at: any text,
 * or none) whose other characters are all dots ".?", ".[.]", ".*",
 * "{..,x}", ".{.,}", ".${x}.", ".$*.", "$x"? 1 when one could (the
 * kernel cannot read it unambiguously), else 0. */
int chio__shell_dot_ambiguous(const char *s, size_t n);

#endif /* CHIO_KERNEL_SHELL_WORDS_H */
