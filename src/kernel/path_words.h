/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/path_words.h - the words of a path value (see path_words.c),
 * for path_prefix in constraints.c, and Windows' trimming of a path's
 * segments for the forbidden_path guard (guard_path.c).
 */
#ifndef CHIO_KERNEL_PATH_WORDS_H
#define CHIO_KERNEL_PATH_WORDS_H

#include <stddef.h>

/* The bytes of the word break at s[i] of @s (@n bytes), or 0: white space
 * (the Unicode spaces too), shell separators and redirections, quotes,
 * and the list and option separators ",=:@". */
size_t chio__path_word_break(const char *s, size_t n, size_t i);

/* Does @s start with "file:" (any case)? Such a word runs on through ':'. */
int chio__file_word(const char *s, size_t n);

/* Where the path in the word @w (@n bytes) starts: 0 when it starts like
 * one (/ \ ~ . .. file:, a shell expansion "$HOME"), after a short
 * option glued to it ("-o/etc/x", "-o../x"), or @n when the word starts
 * no path. */
size_t chio__word_path_start(const char *w, size_t n);

/* Does @s hold a word break (chio__path_word_break)? */
int chio__has_path_word_break(const char *s, size_t n);

/* Does @s, as written or percent-decoded once, hold a word naming a home
 * or a parent directory without a slash: "~", "~root", "%7e", or ".."
 * standing alone ("cat ..", "--out=..", "-o~root")? 1 also when out of
 * memory (the caller then reads the value as a path: fails closed). */
int chio__home_or_parent_word(const char *s, size_t n);
/* Does @s (@n bytes), as written or percent-decoded once, hold a word
 * that is a shell parameter standing alone ("$HOME", "${HOME}",
 * "\"$OLDPWD\"", "--dest=$TMPDIR", "${x:-$HOME}", "$1$HOME"; not "$5",
 * "$?", "$HOME-x", "$USER"), which a shell expands to a directory (review
 * 20 F6)? 1 when so (also when out of memory), 2 when the value cannot
 * be read so ("${!x}" standing alone, a "${HOME:-" that does not close
 * within 256 bytes: review 22 P2, P4), else 0. */
int chio__expansion_word(const char *s, size_t n);

/* chio__expansion_word's reading of @s as written (path_params.c). */
int chio__lone_param_reading(const char *s, size_t n);

/* Does a parameter expansion's head open at s[@i]: "${" then "!" or "#"
 * at most, a name, a number or a special parameter's character, then
 * "}" or an operator ("${HOME:-", "${x#", "${!x}", "${1}")? Text such as
 * "${a + b}" or "${items.map(" is not one (bash refuses it). */
int chio__param_head_valid(const char *s, size_t n, size_t i);

/* The normalised path @p (@len bytes) as Windows reads it after its dot
 * segments: a segment ending in one '.' loses it and the last segment its
 * trailing dots and spaces ("/etc./passwd" is "/etc/passwd"), written to
 * @t (room for @len bytes); returns its length. */
size_t chio__windows_trimmed(const char *p, size_t len, char *t);

#endif /* CHIO_KERNEL_PATH_WORDS_H */
