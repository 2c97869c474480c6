/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/shell_ansi.h - bash's ANSI-C strings and one bash-lexed reading
 * of a value (see shell_ansi.c), for the forbidden_path guard.
 */
#ifndef CHIO_KERNEL_SHELL_ANSI_H
#define CHIO_KERNEL_SHELL_ANSI_H

#include <stddef.h>

/* The ANSI-C string whose text starts at s[*@i] (after "$'"), decoded
 * into @out up to its closing quote (escapes as chio__shell_unquote_ansi
 * lists them); *@i past that quote. Returns the bytes written (never more
 * than the string spans), or -1 (nothing written, *@i unchanged) when it
 * never closes. */
long chio__shell_ansi_string(const char *s, size_t n, size_t *i, char *out);

/* @s as bash lexes it once: quotes paired as bash pairs them ('...'
 * literal, "..." with its four escapes, a fresh context inside "$(..)",
 * backticks and "${..}"), an ANSI-C string decoded only where bash
 * decodes one, the '$' of "$\"..\"" dropped, a comment dropped, and
 * "${name:-word}" (- = + ?, with or without ':') read as its word. Where
 * chio__shell_unquote_ansi decodes every "$'" (and so may pair a quote
 * bash does not), this follows bash; a further reading, beside both,
 * never instead of them. Writes at most @n bytes and a NUL to @out;
 * returns the length. */
size_t chio__shell_unquote_bash(const char *s, size_t n, char *out);

/* @s with each backslash-newline removed, as bash joins lines before it
 * reads a word ("$\\\n'...'" is "$'...'"); at most @n bytes and a NUL to
 * @out, which may be @s. Returns the length. */
size_t chio__shell_join_lines(const char *s, size_t n, char *out);

/* Does @s hold what chio__shell_unquote_ansi or chio__shell_unquote_bash
 * read otherwise than chio__shell_unquote: "$'", "$\"", "${" or "$\\"
 * (escaped for a shell that reads the text again, or a line joined)? */
int chio__shell_has_ansi(const char *s, size_t n);

/* @fn(@ctx, reading, length) for each of @s's two readings with its
 * ANSI-C strings decoded: chio__shell_unquote_bash (as bash lexes @s
 * once), then chio__shell_unquote_ansi (every "$'" decoded wherever it
 * stands), skipping a reading that equals @s. Stops at the first nonzero
 * answer of @fn and returns it; 0 when every answer was 0; CHIO_ENOMEM
 * (nothing called) when a value past 255 bytes finds no memory for its
 * reading. The reading lives only for the call. */
int chio__shell_each_ansi_reading(const char *s, size_t n,
                                  int (*fn)(void *ctx, const char *t, size_t len), void *ctx);

#endif
