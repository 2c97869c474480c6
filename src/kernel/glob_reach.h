/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/glob_reach.h - could a shell glob match a path under a prefix
 * (see glob_reach.c)? For the forbidden_path guard.
 */
#ifndef CHIO_KERNEL_GLOB_REACH_H
#define CHIO_KERNEL_GLOB_REACH_H

#include <stddef.h>
#include <stdint.h>

/* Could the glob @p (@m bytes: '?', '*', brackets, a backslash escaping
 * the next byte; none of them matches '/') match a path that is @prefix
 * (@plen bytes, ASCII case folded) or below it: the prefix followed by
 * '/' or the end, or, when @open (a prefix that ends inside a name,
 * "/etc/shadow" covering "/etc/shadow-"), any path that starts with it?
 * 1 also when an active state meets a bracket too long to read.
 * 1, 0, or CHIO_ENOMEM. Time O(@m x @plen); scratch on the stack up to
 * 255 bytes of pattern, else malloc'ed and freed. */
int chio__glob_may_reach(const char *p, size_t m, const char *prefix, size_t plen, int open);

/* Could the glob @p (@m bytes, read as chio__glob_may_reach reads it)
 * match @s (@n bytes, ASCII case folded) whole ("/e*" matches "/etc",
 * not "/etc/shadow")? 1 also when an active state meets a bracket too
 * long to read. 1, 0, or CHIO_ENOMEM. */
int chio__glob_matches(const char *p, size_t m, const char *s, size_t n);
/* A bracket expression longer than this is not read: SIZE_MAX. */
#define CHIO__GLOB_BRACKET_MAX 256

/* The index after the ']' that closes the bracket expression opening at
 * p[@i] ("[a-z]", "[!x]", "[]x]", "[[:alpha:]]"), 0 when it does not
 * close (the '[' is then a byte of its own), or SIZE_MAX when it runs
 * past CHIO__GLOB_BRACKET_MAX bytes (a caller assumes the worst: such a
 * bracket may match anything). Reads at most that many bytes. */
size_t chio__glob_bracket_end(const char *p, size_t m, size_t i);

/* The word @w (@n bytes) as a pattern a shell may match, at worst:
 * parameter expansions and "$(..)" removed (unset, empty), extglob
 * groups ("@(x)", "!(x)", "?(..)", "*(..)", "+(..)") as '*', and with
 * @dotdot each segment dash could glob to ".." (".?", ".*", ".[.]") as
 * "..". Writes at most @n bytes and a NUL to @out; returns the length. */
size_t chio__glob_word(const char *w, size_t n, int dotdot, char *out);

#endif /* CHIO_KERNEL_GLOB_REACH_H */
