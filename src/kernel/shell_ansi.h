/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/shell_ansi.h - bash's ANSI-C strings and the readings of a
 * value as bash lexes it (see shell_ansi.c), for the forbidden_path
 * guard.
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

/* What chio__shell_unquote_empty saw: frames nested past what it follows
 * (an expansion it could not drop), or more here-documents on a line or
 * a longer delimiter than it follows (a body it could not tell from
 * code); and a ')' outside any "$(" after one closed (bash may have
 * closed that one there instead). */
#define CHIO__EMPTY_TOO_DEEP     1u
#define CHIO__EMPTY_STRAY_CLOSE  2u
#define CHIO__EMPTY_QUOTED_BLANK 16u /* a blank quoted or escaped */
/* with TOO_DEEP: expansions nested past what is followed (not a
 * here-document past its limits, whose text is read as written) */
#define CHIO__EMPTY_NESTED_DEEP 64u
/* The modes of chio__shell_unquote_empty. */
#define CHIO__EMPTY_REWIND 4u
#define CHIO__EMPTY_WILD   8u
#define CHIO__EMPTY_JOIN   32u
/* The wild reading's marks: an expansion whose text could be any
 * ("$(..)", "${x:1}"), or text of the user's home or name ("${HOME:1}",
 * "$USER"). A byte of the value that is one is written as '?'. */
#define CHIO__WILD_ANY  '\x01'
#define CHIO__WILD_HOME '\x02'

/* @s as bash lexes it once (chio__shell_unquote_bash) with every
 * expansion that may expand to nothing read as nothing: "$(..)",
 * "$((..))", backticks, every "${..}", "$[..]", "$name", "$1", "$@" and
 * "$*" ("/$(:)etc", "/\"$@\"etc", "/${x:+y}etc" are "/etc"). With
 * CHIO__EMPTY_REWIND in @mode, a stray ')' (CHIO__EMPTY_STRAY_CLOSE)
 * takes back what was written since the outermost "$(" or backtick
 * opened, as if that one closed there ("/$(case x in x) esac)etc" is
 * "/etc"); with CHIO__EMPTY_WILD, each dropped expansion writes its
 * CHIO__WILD_* mark (or none, as described there); with CHIO__EMPTY_JOIN
 * a quoted or escaped blank (CHIO__EMPTY_QUOTED_BLANK) is written '_',
 * keeping its word one word. Here-document bodies are written as text. A guess at the worst, for
 * readings that count only hits. Writes at most @n bytes and a NUL to @out; returns the length, and
 * the CHIO__EMPTY_* flags in *@flags. */
size_t chio__shell_unquote_empty(const char *s, size_t n, unsigned mode, char *out,
                                 unsigned *flags);

/* Does @s hold an expansion chio__shell_unquote_empty drops: a backtick,
 * or a '$' before a name character, '@', '*', '{', '(' or '['? */
int chio__shell_has_expansion(const char *s, size_t n);

/* @s with each backslash-newline removed, as bash joins lines before it
 * reads a word ("$\\\n'...'" is "$'...'"); at most @n bytes and a NUL to
 * @out, which may be @s. Returns the length. */
size_t chio__shell_join_lines(const char *s, size_t n, char *out);

/* Does @s hold what chio__shell_unquote_ansi or chio__shell_unquote_bash
 * read otherwise than chio__shell_unquote: "$'", "$\"", "${" or "$\\"
 * (escaped for a shell that reads the text again, or a line joined), or
 * "\\\\" with a backquote or a here-document (one backslash to the
 * shell that reads what they hold)? */
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

/* @fn(@ctx, reading, length, its CHIO__EMPTY_* flags) for each of @s's
 * empty readings (chio__shell_unquote_empty) in @mode: first as it is;
 * then, when @again holds CHIO__EMPTY_REWIND and a ')' was stray, with
 * CHIO__EMPTY_REWIND; then, when @again holds CHIO__EMPTY_JOIN and a
 * blank was quoted in either, with CHIO__EMPTY_JOIN. Stops at the first
 * nonzero answer of @fn and returns it; 0 when every answer was 0;
 * CHIO_ENOMEM (nothing called) when a value past 255 bytes finds no
 * memory for its reading. The reading lives only for the call. */
int chio__shell_each_empty_reading(const char *s, size_t n, unsigned mode, unsigned again,
                                   int (*fn)(void *ctx, const char *t, size_t len, unsigned flags),
                                   void *ctx);

#endif
