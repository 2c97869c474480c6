/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/shell_assign.h - the variables a shell command assigns, put in
 * place of their references (see shell_assign.c), for the
 * forbidden_path guard.
 */
#ifndef CHIO_KERNEL_SHELL_ASSIGN_H
#define CHIO_KERNEL_SHELL_ASSIGN_H

#include <stddef.h>

/* @s with each reference to a variable the command assigned before it
 * ("$name", "${name}", "${name<op>..}" with a literal operator applied,
 * "${!name..}", and after "set --" "$1".."$9", "$@", "$*", "shift"
 * followed) replaced by the word assigned ("name=word", "name+=word",
 * "name[..]=word", "name=(word ..)", "${name:=word}"), as written but with
 * its own references replaced; read left to right, at most 256 names.
 * With @pick < 0 a name takes each assignment as it comes; with @pick
 * >= 0 it keeps its value from its @pick-th (from 0) on, later ones read
 * but not taken. Returns 1 with *@out the reading (malloc'ed,
 * NUL-terminated, the caller frees it) and *@len its length; 0 (*@out
 * NULL) when nothing was replaced; CHIO_ETOOBIG when the reading would
 * pass 4 x @n + 4096 bytes or more names are assigned; CHIO_ENOMEM.
 * *@most: the most assignments any one name had (0 on an error). */
int chio__shell_assigned_reading(const char *s, size_t n, int pick, char **out, size_t *len,
                                 unsigned *most);

/* The text a second shell reads (review 21 F4: "bash -c 'x=etc; cat
 * /$x/shadow'", eval, "echo '..' | bash"): @s with its quotes removed
 * (chio__shell_guess_text), and when a quoted "-c SCRIPT" is followed by
 * words past its $0 ("sh -c 'cat /$1/x' _ etc"), "set -- WORDS; " in front
 * so that the script's "$1".."$9" read them, and its "$0" and "${0}"
 * written as the first of those words (review 23). Returns 1 with *@out
 * (malloc'ed, NUL-terminated, at most 3 x @n + 16 bytes) and *@len, 2
 * the same when "$0" was filled in (the text is then to be read as it
 * stands too, having no reference left for an assigned reading); 0
 * when the text is @s itself; CHIO_ENOMEM; CHIO_ETOOBIG when filling in
 * "$0" would add more than @n bytes (the value is then refused). */
int chio__shell_inner_text(const char *s, size_t n, char **out, size_t *len);

#endif
