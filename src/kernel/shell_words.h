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

/* chio__shell_unquote, with each ANSI-C string ($'...' closed by an
 * unescaped quote) decoded as bash 5.2 decodes it: \a \b \e \E \f \n \r
 * \t \v \\ \' \" \?, \nnn (octal), \xHH, \uHHHH and \UHHHHHHHH (as UTF-8),
 * \cx; any other escape stays as written, and a NUL ends the string's
 * text. Read wherever "$'" or "\$'" appears, inside other quotes too (a
 * shell that reads the text again decodes it there), as in a UTF-8
 * locale; escapes escaped again for an outer shell are read once, as
 * written. A further reading, beside
 * chio__shell_unquote's, never instead of it. Writes at most @n bytes and
 * a NUL to @out; returns the length. */
size_t chio__shell_unquote_ansi(const char *s, size_t n, char *out);

/* chio__shell_unquote of @s into a buffer of its own: @stack (@cap bytes)
 * when it fits, else malloc'ed into *@heap (the caller frees *@heap, NULL
 * when unused). Returns the reading (length in *@len), or NULL when out of
 * memory. */
const char *chio__shell_reading(const char *s, size_t n, char *stack, size_t cap, char **heap,
                                size_t *len);

/* chio__shell_reading of @s with the markers of each command substitution
 * ("$(", "<(", ">(", backticks) made blanks: the guards' guess at the text
 * a shell that reads @s again runs ("bash -c '..'", "eval '..'", "$(cat
 * /e{t,}c/x)": bash expands a command's braces when it runs it). Same
 * buffers, ownership and failure as chio__shell_reading. */
char *chio__shell_guess_text(const char *s, size_t n, char *stack, size_t cap, char **heap,
                             size_t *len);

/* Does a shell expansion start at s[i]: '$' before a name, a digit, one
 * of the special parameters (* @ # ? - $ !), '{' or '(', or a backtick?
 * Its value is unknown to the kernel (a variable may be unset, "${x:-..}"
 * is any text). */
int chio__shell_expansion_at(const char *s, size_t n, size_t i);
/* "$IFS" (not followed by a name character) or "${IFS}" at s[i], white
 * space to the shell: its length, or 0. */
size_t chio__shell_ifs_at(const char *s, size_t n, size_t i);

/* Could a shell make a segment of @s (@n bytes) the parent directory
 * "..": a segment (between '/', '\' and white space, $IFS, the shell and
 * list separators ;|&<>,=) holding a glob ('?', '*', '[...]': a leading
 * '.' must be matched by a '.', except by a bracket) or an expansion
 * (chio__shell_expansion_at: any text, or none) whose other characters
 * are all dots ".?", ".[.]", ".*", ".${x}.", ".$*.", "$x", or a brace
 * whose alternatives, each followed by the text after the brace, make
 * one ("{..,x}", ".{.,}", "..{a,}", "{x,}..")? Or could it make a word
 * the value as written does not show, by a brace: one opening a word
 * with a path, an option's path or an expansion ("{~root/x,}",
 * "{,}/etc/x", "{-o/etc/x,}"), or a ".." that pops another segment
 * because an earlier one could vanish, be "." or split ("/w/{x,}/..",
 * "/w/{a/b,c}/../..")? 1 when one could (the kernel cannot read it
 * unambiguously; also for braces nested deeper than 32 and a lookahead
 * past 8 steps a byte), else 0. */
int chio__shell_dot_ambiguous(const char *s, size_t n);

/* @s (@n bytes) as a shell may expand it at worst for a path: each '?'
 * and closed bracket ("[.]") matching a dot, each run of '*' one dot, or
 * none when @star_empty (".*." and ".?*" are ".." that way: the two
 * readings cover a segment a glob can make ".."), each expansion ("$x",
 * "${x}", "$(..)", a backtick) empty, as an unset variable is:
 * "/tmp/.?/etc/x" is "/tmp/../etc/x", "/tmp/$x/../etc/x"
 * "/tmp//../etc/x". Written to @out (room for @n + 1 bytes); its length.
 * Linear in @n. */
size_t chio__shell_glob_reading(const char *s, size_t n, int star_empty, char *out);

/* The homes the guard reads "~", "$HOME" and "~name" as: root's (a tool
 * run as root), and each user's, a name under CHIO__HOME_USERS. */
#define CHIO__HOME_ROOT  "/root"
#define CHIO__HOME_USERS "/home/"

/* Is @w (@n bytes) a home or in one: "/root", "/root/x", "/home/name"? */
int chio__shell_in_home(const char *w, size_t n);

/* @s (@n bytes) with each home a word opens read as bash expands it, at
 * worst for the forbidden_path guard: "~", "~root" (also "~toor",
 * "~operator"), "$HOME" and "${HOME}" as "/root" (a tool run as root);
 * "~name" as "/home/name", or with @homes_at_root as "/" (a system user
 * whose home is the root); "~+", "~-" and "~N" (directories the shell
 * keeps) as "/". Writes at most 6 x @n bytes and a NUL to @out; returns
 * the length. */
size_t chio__shell_tilde_reading(const char *s, size_t n, int homes_at_root, char *out);

/* @fn(@ctx, reading, length) for each of @s's two tilde readings
 * (chio__shell_tilde_reading with @homes_at_root 0, then 1), stopping at
 * the first nonzero answer, which it returns, or at a reading that
 * changes nothing (no home in @s). -1 when out of memory. */
int chio__shell_each_tilde_reading(const char *s, size_t n,
                                   int (*fn)(void *ctx, const char *t, size_t len), void *ctx);

#endif /* CHIO_KERNEL_SHELL_WORDS_H */
