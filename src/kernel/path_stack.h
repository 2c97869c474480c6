/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/path_stack.h - path_prefix's reading of which "popd" returns
 * from the value's own "pushd" and which quoted words are git commit
 * messages (path_stack.c; review 23 pathfix Q3).
 */
#ifndef CHIO_KERNEL_PATH_STACK_H
#define CHIO_KERNEL_PATH_STACK_H

#include <stddef.h>

/* @s (@n bytes) into @out (@n + 1 bytes) with each "popd" or
 * "Pop-Location" that surely returns from the value's own push, and the
 * inside of each quoted message of git's commit, tag, merge or stash,
 * written as 'x's. 1 when any was. Lexical, linear, no allocation. */
int chio__pp_stack_blank(const char *s, size_t n, char *out);

#endif /* CHIO_KERNEL_PATH_STACK_H */
