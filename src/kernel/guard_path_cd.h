/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/guard_path_cd.h - what path_prefix (constraints.c) reads of the
 * forbidden_path guard's changes of directory (guard_path_cdword.c).
 */
#ifndef CHIO_KERNEL_GUARD_PATH_CD_H
#define CHIO_KERNEL_GUARD_PATH_CD_H

#include <stddef.h>

/* Does the text @t (@n bytes) change directory to a place no path in it
 * can be placed from: "cd" or "pushd" with no target (also "cd -P", "cd
 * --": the home) or with "-" ($OLDPWD, anywhere)? Its relative words are
 * then read there, as after "cd ~" (review 20 F7). A trap's action and a
 * git "!" alias are read as text of their own, and a command word an
 * expansion makes ("${CD:-cd}; ..") as "cd" (review 24 paths R2).
 * Lexical only. */
int chio__gp_home_cd(const char *t, size_t n);

/* Does the change of directory @w (@n bytes) with the operand @op (@opn
 * bytes; NULL for none) go to a directory of the stack the shell keeps,
 * as "cd -" does: "popd" alone, "Pop-Location", "pushd +1", "popd -0"
 * (review 21 F8)? */
int chio__gp_stack_cd(const char *w, size_t n, const char *op, size_t opn);

#endif /* CHIO_KERNEL_GUARD_PATH_CD_H */
