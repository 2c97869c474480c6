/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/guard_path_join.h - what the forbidden_path guard's readings of
 * joined string literals share: guard_path_join.c (chains of literals
 * joined by operators and path joins), guard_path_join_format.c (formats
 * and f-strings), guard_path_join_list.c (a separator joining a list's
 * items), guard_path_join_url.c (a relative literal resolved against
 * a file: base) and guard_path_join_call.c (a directory given second or
 * by a key, a name bound to a path then pushed onto). The literal, the memory of quotes that never
 * close, and the helpers they call. Internal to the guard; no state, no locks.
 */
#ifndef CHIO_KERNEL_GUARD_PATH_JOIN_H
#define CHIO_KERNEL_GUARD_PATH_JOIN_H

#include <stddef.h>

#include "guard_path.h"

/* The scanners' byte classes: a quote that opens a literal, a byte of a
 * name, a blank inside a line. */
static inline int chio__gpj_quote(char c)
{
    return c == '"' || c == '\'' || c == '`';
}

static inline int chio__gpj_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static inline int chio__gpj_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Literals that are not empty one chain reads (and items one list join
 * reads); past them, a join still above a prefix is a hit. */
#define JOIN_LITERALS_MAX 8
/* The longest gap between two literals that is read as a joiner. */
#define JOIN_GAP_MAX 24

typedef struct literal {
    size_t start, end; /* the text between the quotes */
    size_t after;      /* the index after the closing quote */
} literal;

/* Where a literal of each quote kind ('"', '\'', '`') was found not to
 * close, the least such opener; SIZE_MAX while none was. No opener of
 * that kind after it closes either: the scan from the first one met
 * every later byte that a backslash does not take, and a later opener of
 * its quote was taken so (the scan would have stopped there), which puts
 * the scan from that opener on the byte after it, where the first scan
 * went on too, and from there the two are one scan. Remembering it keeps
 * a value of escaped quotes (\'\` repeated) from being scanned to its
 * end once per quote, which took 49 s for 1 MiB (review 12). */
typedef struct unclosed {
    size_t at[3];
} unclosed;

/* The literal whose opening quote is at s[@i], or 0 when it does not
 * close (or an earlier opener of its quote did not, @u). A backslash
 * takes the next byte with it ("\"" inside "..."). */
int chio__gpj_read_literal(const char *s, size_t n, size_t i, unclosed *u, literal *lit);

/* A string prefix before a quote: Python's r, u, b, f and their pairs
 * (rb, Br, fr), C's and C++'s L, u, U and u8, C#'s @ and $ ($@), up to
 * two bytes, not the end of a longer name. chio__gpj_prefixed: at
 * s[@k] a prefix and a quote (or a quote): the quote's index, else @k.
 * chio__gpj_prefix_start: where the prefix that ends at the quote
 * s[@q] starts (looking back to @lo), @q when none does. */
size_t chio__gpj_prefixed(const char *s, size_t n, size_t k);
size_t chio__gpj_prefix_start(const char *s, size_t lo, size_t q);

/* After a literal that closes at s[@after - 1]: past a C++ suffix ("s",
 * "sv": "/etc/"s), when one stands there; else @after. */
size_t chio__gpj_suffix_end(const char *s, size_t n, size_t after);

/* How the gap s[@i, @e) joins the literals either side of it: 1 with a
 * '/' (a path join), 2 with nothing (a concatenation), 0 not at all. */
int chio__gpj_gap_join(const char *s, size_t i, size_t e);

/* Append the literal @lit of @s to @out at *@o (@out NULL: only add its
 * length), its backslashes taking the next byte as itself and its
 * interpolations of literals ("{'shadow'}", "${'shadow'}") read as their
 * text. */
void chio__gpj_put_literal(const char *s, const literal *lit, char *out, size_t *o);

/* Append s[@k, @e) to @out at *@o (@out NULL: only add its length), its
 * backslashes taking the next byte as itself; with @interp, an
 * interpolation of a literal ("{'shadow'}", "${'shadow'}") as that
 * literal's text. */
void chio__gpj_put_text(const char *s, size_t k, size_t e, int interp, char *out, size_t *o);

/* The join @j (@o bytes) read as a path: 1 for a hit, else 0 (only hits
 * count), or CHIO_ENOMEM. */
int chio__gpj_read_join(path_hit *ph, const char *j, size_t o);

/* guard_path_join_format.c: after a "{" placeholder's field, at s[@i],
 * an optional conversion ("!s", "!r", "!a") and format spec (":s",
 * ":>8"), then '}'. The index after the '}', or 0. */
size_t chio__gpj_brace_tail(const char *s, size_t i, size_t e);

/* guard_path_join_format.c: when the literal @lit holds a placeholder
 * ("%s", "%(name)s", "{}", "{1}", "{name}"), the format filled with the
 * literals handed to it, read as a path when absolute; 1, 0 or
 * CHIO_ENOMEM. */
int chio__gpj_read_format(path_hit *ph, const char *s, size_t n, unclosed *u, const literal *lit);

/* guard_path_join_format.c: the f-string @lit, when it nests its own
 * quote (f"/etc/{"shadow"}"), read as its value when that is absolute;
 * 1, 0 or CHIO_ENOMEM. */
int chio__gpj_read_same_quote_f_string(path_hit *ph, const char *s, size_t n, unclosed *u,
                                       const literal *lit);

/* guard_path_join_list.c: does the text from s[*@i] join a list with
 * the literal before it, ".join([" or ".join(("? Then that literal is a
 * separator, not a part of a path; *@i moves past the bracket. */
int chio__gpj_joins_list(const char *s, size_t n, size_t *i);

/* guard_path_join_list.c: the list joins and URL resolutions that the
 * literal @lit of @s takes part in, read joined; 1, 0 or CHIO_ENOMEM.
 * Constant work per literal besides the literals it reads (each list is
 * read once per form that starts it). */
int chio__gpj_read_lists(path_hit *ph, const char *s, size_t n, unclosed *u, const literal *lit);

/* guard_path_join_list.c: does s[@a, @b) hold a name of the path
 * separator or the root (sep, separator, DIRECTORY_SEPARATOR,
 * DirectorySeparatorChar, rootdir; case aside)? */
int chio__gpj_sep_name(const char *s, size_t a, size_t b);

/* guard_path_join_list.c: does the literal whose text starts at s[@start]
 * follow a separator's name and a '+' or '.' (os.sep + 'etc',
 * DIRECTORY_SEPARATOR . 'etc')? Then its join starts with '/'. */
int chio__gpj_sep_before(const char *s, size_t start);

/* guard_path_join_list.c: its scanning helpers, for
 * guard_path_join_url.c: blanks and comments skipped forward (a bounded
 * number), a text eaten forward or back, a name ending at an index, the
 * lowest index a look back reads, an absolute path or file: URL. */
size_t chio__gpj_skip(const char *s, size_t n, size_t i);
int chio__gpj_eat(const char *s, size_t n, size_t *i, const char *t);
int chio__gpj_eat_back(const char *s, size_t lo, size_t *i, const char *t);
size_t chio__gpj_name_back(const char *s, size_t lo, size_t i, size_t *start);
size_t chio__gpj_back_limit(size_t i);
int chio__gpj_absolute(const char *t, size_t len);

/* guard_path_join_url.c: the URL resolutions (a relative literal against
 * a file: base) that the literal @lit takes part in; 1, 0 or CHIO_ENOMEM. */
int chio__gpj_read_urls(path_hit *ph, const char *s, size_t n, unclosed *u, const literal *lit);

/* guard_path_join_call.c: the calls and bindings that the literal @lit
 * takes part in which join a directory given second or by a key
 * (File.expand_path('shadow', '/etc'), path.format({dir, base})) or
 * push onto a name bound to a path (p = Path('/etc'); p /= 'shadow'),
 * read joined; 1, 0 or CHIO_ENOMEM. Bounded work per literal besides
 * the literals it reads. */
int chio__gpj_read_calls(path_hit *ph, const char *s, size_t n, unclosed *u, const literal *lit);

/* guard_path_join_call.c: PowerShell's "Join-Path PARENT CHILD" (also
 * -Path, -ChildPath; quoted or bare words), read joined; 1, 0 or
 * CHIO_ENOMEM. Linear. */
int chio__gpj_read_join_path(path_hit *ph, const char *s, size_t n);

#endif
