/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/glob_reach.h - could a shell glob match a path under a prefix
 * (see glob_reach.c)? For the forbidden_path guard.
 */
#ifndef CHIO_KERNEL_GLOB_REACH_H
#define CHIO_KERNEL_GLOB_REACH_H

#include <stddef.h>

/* Could the glob @p (@m bytes: '?', '*', brackets, a backslash escaping
 * the next byte; none of them matches '/') match a path that is @prefix
 * (@plen bytes, ASCII case folded) or below it: the prefix followed by
 * '/' or the end, or, when @open (a prefix that ends inside a name,
 * "/etc/shadow" covering "/etc/shadow-"), any path that starts with it?
 * 1, 0, or CHIO_ENOMEM. Time O(@m x @plen); scratch on the stack up to
 * 255 bytes of pattern, else malloc'ed and freed. */
int chio__glob_may_reach(const char *p, size_t m, const char *prefix, size_t plen, int open);

#endif /* CHIO_KERNEL_GLOB_REACH_H */
