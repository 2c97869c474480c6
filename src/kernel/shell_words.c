/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/shell_words.c - an argument as a POSIX shell reads it, for a
 * tool that hands its arguments to one ("sh -c 'cat $path'"): quote
 * removal and $IFS (chio__shell_unquote, the one reading both the
 * forbidden_path guard and the path and domain constraints add; with
 * every ANSI-C string decoded, chio__shell_unquote_ansi), and the
 * expansions the kernel cannot resolve (globs, braces, parameters,
 * command substitution), which make a segment that could become "..",
 * or a word a brace opens with a path, ambiguous
 * (chio__shell_dot_ambiguous, which follows a brace through each of its
 * alternatives), and tilde prefixes at worst (chio__shell_tilde_reading).
 * Lexical only; the readings of what comes out are
 * normalize.c's. No state, no locks; scratch space on the stack, or
 * malloc'ed by the caller's choice (chio__shell_reading).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "shell_ansi.h"
#include "shell_words.h"

int chio__shell_may_differ(const char *s, size_t n)
{
    return memchr(s, '\'', n) != NULL || memchr(s, '"', n) != NULL || memchr(s, '\\', n) != NULL ||
           memchr(s, '$', n) != NULL;
}

/* chio__shell_unquote, and with @ansi each closed ANSI-C string ($'...')
 * decoded (chio__shell_ansi_string, shell_ansi.c), also after a
 * backslash ("\$'", which a shell that reads the text again sees as
 * "$'"). */
static size_t unquote(const char *s, size_t n, char *out, int ansi)
{
    size_t i = 0, o = 0;
    long w;

    while (i < n) {
        if (ansi && s[i] == '\\' && n - i >= 3 && s[i + 1] == '$' && s[i + 2] == '\'')
            i++;
        if (ansi && s[i] == '$' && i + 1 < n && s[i + 1] == '"') {
            i++; /* $"..": the '$' dropped, the quote as any other */
        } else if (ansi && s[i] == '$' && i + 1 < n && s[i + 1] == '\'') {
            i += 2;
            if ((w = chio__shell_ansi_string(s, n, &i, out + o)) >= 0)
                o += (size_t)w;
            else /* never closed: the '$', the quote dropped, as without @ansi */
                out[o++] = '$';
        } else if (s[i] == '\'' || s[i] == '"') {
            i++;
        } else if (s[i] == '\\') {
            if (i + 1 < n && s[i + 1] != '\n')
                out[o++] = s[i + 1];
            i += 2;
        } else if (n - i >= 4 && memcmp(s + i, "$IFS", 4) == 0) {
            out[o++] = ' ';
            i += 4;
        } else if (n - i >= 6 && memcmp(s + i, "${IFS}", 6) == 0) {
            out[o++] = ' ';
            i += 6;
        } else {
            out[o++] = s[i++];
        }
    }
    out[o] = '\0';
    return o;
}

size_t chio__shell_unquote(const char *s, size_t n, char *out)
{
    return unquote(s, n, out, 0);
}

size_t chio__shell_unquote_ansi(const char *s, size_t n, char *out)
{
    return unquote(out, chio__shell_join_lines(s, n, out), out, 1);
}

const char *chio__shell_reading(const char *s, size_t n, char *stack, size_t cap, char **heap,
                                size_t *len)
{
    char *d = stack;

    *heap = NULL;
    if (n + 1 > cap && (d = *heap = malloc(n + 1)) == NULL)
        return NULL;
    *len = chio__shell_unquote(s, n, d);
    return d;
}

char *chio__shell_guess_text(const char *s, size_t n, char *stack, size_t cap, char **heap,
                             size_t *len)
{
    char *t;
    size_t i;

    if ((t = (char *)chio__shell_reading(s, n, stack, cap, heap, len)) == NULL)
        return NULL; /* the reading is @stack or *@heap: ours to write */
    for (i = 0; i < *len; i++) {
        if (t[i] == '`') {
            t[i] = ' ';
        } else if ((t[i] == '$' || t[i] == '<' || t[i] == '>') && i + 1 < *len && t[i + 1] == '(') {
            t[i] = ' ';
            t[++i] = ' ';
        }
    }
    return t;
}

static int name_char(unsigned char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || chio__ascii_digit(c);
}

int chio__shell_expansion_at(const char *s, size_t n, size_t i)
{
    unsigned char c;

    if (s[i] == '`')
        return 1;
    if (s[i] != '$' || i + 1 >= n)
        return 0;
    c = (unsigned char)s[i + 1];
    /* $name $1 $* ... ${..} $(..) $'..' (ANSI-C quoting) $".." */
    return name_char(c) || strchr("*@#?-$!{('\"", c) != NULL;
}

/* Where a segment ends, for the dot check: a separator, white space, or a
 * shell or list separator (brace alternatives "{..,x}" are cut apart at
 * ',', so each is a segment of its own). */
static size_t segment_break(const char *s, size_t n, size_t i)
{
    unsigned char c = (unsigned char)s[i];

    if (c >= 0x80)
        return chio__space_at(s + i, n - i);
    return c <= 0x20 || c == 0x7f || strchr("/\\;|&<>,=:@", c) != NULL ? 1 : 0;
}

/* The end of the segment that holds s[i], found once per segment: *@e
 * keeps the last one found, and is searched again only once @i reaches
 * it (linear over a value of many expansions). */
static size_t segment_stop(const char *s, size_t n, size_t i, size_t *e)
{
    if (*e <= i)
        for (*e = i; *e < n && segment_break(s, n, *e) == 0; (*e)++)
            ;
    return *e;
}

/* The end of the expansion that starts at s[i] (chio__shell_expansion_at),
 * within the segment ending at @e: a name or one special character, or up
 * to the closing '}', ')', quote or backtick (the segment's end when
 * there is none). */
static size_t expansion_end(const char *s, size_t e, size_t i)
{
    char close = 0;

    if (s[i] == '`') {
        close = '`';
        i++;
    } else {
        i++; /* the '$' */
        if (name_char((unsigned char)s[i]) && !chio__ascii_digit((unsigned char)s[i])) {
            while (i < e && name_char((unsigned char)s[i]))
                i++;
            return i;
        }
        close = s[i] == '{' ? '}' : s[i] == '(' ? ')' : s[i] == '\'' ? '\'' : s[i] == '"' ? '"' : 0;
        if (close == 0)
            return i + 1; /* $1 $* $@ ... */
        i++;
    }
    while (i < e && s[i] != close)
        i++;
    return i < e ? i + 1 : e;
}

/* Can the bracket expression s[i, j) match a '.': listed, in a range, in
 * a class ("[[:punct:]]"), or not listed in a negated one ("[!a]")? */
static int bracket_dot(const char *s, size_t i, size_t j)
{
    size_t k = i + 1, end = j - 1;
    int neg = 0, dot = 0;

    if (k < end && (s[k] == '!' || s[k] == '^')) {
        neg = 1;
        k++;
    }
    for (; k < end; k++) {
        if (s[k] == '.' || (s[k] == '[' && k + 1 < end && s[k + 1] == ':'))
            dot = 1;
        else if (k + 2 < end && s[k + 1] == '-' && s[k] <= '.' && s[k + 2] >= '.')
            dot = 1;
    }
    return neg || dot; /* negated: read as able to (fails closed) */
}

/* The positions of ".." a value read so far may have matched, in one
 * segment: bit AT(p) set when p dots are matched by text as written,
 * EX(p) when by text a shell expanded (a glob, an expansion, or a
 * segment that runs into, out of or through a brace's alternatives). A
 * segment that is ".." as written is the path readings' to resolve; one
 * that only an expansion makes ".." is ambiguous. */
#define AT(p)    (1u << (p))
#define EX(p)    (1u << ((p) + 3))
#define PLAIN    (AT(0) | AT(1) | AT(2))
#define EXPANDED (EX(0) | EX(1) | EX(2))

/* @st with every position marked as expanded. */
static unsigned expanded(unsigned st)
{
    return (st & EXPANDED) | (st & PLAIN) << 3;
}

/* The positions after one more character that may be a dot, or a run of
 * any text or none (@any), from @st; @lead: a leading dot may be matched
 * ('?' and '*' may not match one, a bracket may). All expanded. */
static unsigned step_glob(unsigned st, int any, int one, int lead)
{
    unsigned e = expanded(st), next = 0;

    if (any) /* any run (or none) */
        next = e | (e & EX(0) && lead ? EX(1) | EX(2) : 0) | (e & (EX(1)) ? EX(2) : 0);
    if (one) /* exactly one character, a dot or not */
        next |= (e & EX(0) && lead ? EX(1) : 0) | (e & EX(1) ? EX(2) : 0);
    return next;
}

/* The end of a bracket expression starting at s[i] ('['), or 0 when it
 * is not closed before a '/', white space or a shell operator (a shell
 * reads the '[' as itself); ',', '=', ':' and '@' are members ("[,.]"
 * matches '.'), except that in a brace (@in_brace) ',' and '}' end its
 * alternative first: brace expansion comes before globbing. Counts its
 * steps in *@work. */
static size_t bracket_close(const char *s, size_t n, size_t i, int in_brace, size_t *work)
{
    size_t j = i + 1;

    if (j < n && (s[j] == '!' || s[j] == '^'))
        j++;
    if (j < n && s[j] == ']')
        j++;
    while (j < n && s[j] != ']' && s[j] != '/' && (unsigned char)s[j] > 0x20 &&
           strchr(";|&<>", s[j]) == NULL && !(in_brace && (s[j] == ',' || s[j] == '}')))
        j++;
    *work += j - i;
    return j < n && s[j] == ']' ? j + 1 : 0;
}

size_t chio__shell_ifs_at(const char *s, size_t n, size_t i)
{
    if (n - i >= 6 && memcmp(s + i, "${IFS}", 6) == 0)
        return 6;
    if (n - i >= 4 && memcmp(s + i, "$IFS", 4) == 0 &&
        (n - i == 4 || !name_char((unsigned char)s[i + 4])))
        return 4;
    return 0;
}

/* Does the word text at s[i] start a path, as a word's start (the
 * readings path_words.c holds to a prefix): '/', '\\', '~', "." or ".."
 * alone or before a separator, an expansion ("$HOME/x"), or a short
 * option's glued path ("-o/etc/x", "-o../x")? */
static int starts_path(const char *s, size_t n, size_t i)
{
    size_t j = i + 1;

    if (strchr("/\\~", s[i]) != NULL || chio__shell_expansion_at(s, n, i))
        return 1;
    if (s[i] == '.')
        return j == n || strchr("/\\.,}", s[j]) != NULL || segment_break(s, n, j) > 0;
    if (s[i] != '-')
        return 0;
    while (j < n && (s[j] == '-' || chio__ascii_digit((unsigned char)s[j]) ||
                     (chio__ascii_lower((unsigned char)s[j]) >= 'a' &&
                      chio__ascii_lower((unsigned char)s[j]) <= 'z')))
        j++;
    return j > i + 1 && j < n && strchr("/\\~.", s[j]) != NULL;
}

/* A segment ends in state @st: 1 when a shell could make it "..", or it
 * is ".." and an earlier segment of the word could vanish or split
 * (*@shaky: "/w/{x,}/.." is "/w//..", "/w/{.,x}/.." "/w/./..", which
 * is "/", while the readings as written pop the segment "{x,}"); notes
 * in *@shaky a segment a shell could make empty or "." */
static int segment_end(unsigned st, int *shaky)
{
    if ((st & EX(2)) || ((st & AT(2)) && *shaky))
        return 1;
    if (st & (EX(0) | EX(1)))
        *shaky = 1;
    return 0;
}

/* Is the brace at s[i] a bash sequence expression "{X..Y}" or
 * "{X..Y..N}" over letters whose range runs through the characters
 * between 'Z' and 'a' ("[", "\\", "]", "^", "_", "`")? bash makes each
 * of them, and reads what it made: "{a..Z..6}" is "a" or "[" (a glob:
 * ".{a..Z..6}.]" is ".[.]", which globs to ".."), "\\" is an escape
 * that quote removal drops ("..{a..Z}" is ".."), "`" a command
 * substitution. */
static int letter_sequence_odd(const char *s, size_t n, size_t i)
{
    unsigned char x, y;
    size_t j;

    if (n - i < 6 || s[i + 2] != '.' || s[i + 3] != '.')
        return 0;
    x = (unsigned char)s[i + 1];
    y = (unsigned char)s[i + 4];
    if (chio__ascii_lower(x) < 'a' || chio__ascii_lower(x) > 'z' || chio__ascii_lower(y) < 'a' ||
        chio__ascii_lower(y) > 'z')
        return 0;
    if (n - i > 6 && s[i + 5] == '.' && s[i + 6] == '.') { /* a step: "..-3", "..2" */
        j = i + 7;
        if (j < n && (s[j] == '-' || s[j] == '+'))
            j++;
        while (j < n && chio__ascii_digit((unsigned char)s[j]))
            j++;
    } else {
        j = i + 5;
    }
    if (j >= n || s[j] != '}')
        return 0;
    return (x <= 'Z') != (y <= 'Z'); /* one capital, one small letter */
}

/* How deep braces nest before a value is refused as unreadable. */
#define BRACE_DEPTH 32

int chio__shell_dot_ambiguous(const char *s, size_t n)
{
    unsigned st = AT(0), open[BRACE_DEPTH], alts[BRACE_DEPTH];
    size_t i = 0, j, b, e = 0, work = 0, budget = 8 * n + 1024;
    int depth = 0, word = 1, braced = 0; /* at a word's start; made by a brace */
    int shaky = 0;                       /* the word's segments before may be fewer or more */
    unsigned char at_word[BRACE_DEPTH];  /* the brace opens a word */
    unsigned char empty[BRACE_DEPTH];    /* it has an empty alternative */

    if (memchr(s, '?', n) == NULL && memchr(s, '*', n) == NULL && memchr(s, '[', n) == NULL &&
        memchr(s, '{', n) == NULL && memchr(s, '$', n) == NULL && memchr(s, '`', n) == NULL)
        return 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (work > budget)
            return 1; /* lookahead past its bound: unreadable (fails closed) */
        /* A brace opening a word starts it with each alternative, and
         * with the text after it: "{,}/etc/x" and "{~root/x,}" are the
         * words /etc/x and ~root/x, which the words of the value as
         * written do not show (they end at ','). One that could start a
         * path, an option or an expansion there is ambiguous. */
        if (braced && c != '\'' && c != '"' && c != '{' && c != ',' && c != '}') {
            if (starts_path(s, n, i))
                return 1;
            braced = 0;
        }
        if (depth > 0 && (c == ',' || c == '}')) {
            /* a brace's alternative ends; after the last, the segment
             * goes on with any of them (a brace that is no list to the
             * shell, "{x}", is read as one: its text adds no dots) */
            alts[depth - 1] |= st;
            if (braced)
                empty[depth - 1] = 1; /* an empty alternative */
            braced = word = at_word[depth - 1];
            if (c == ',') {
                st = open[depth - 1];
            } else {
                /* the text after it starts the word when an
                 * alternative was empty ("{,}/etc/x") */
                braced = word = at_word[depth - 1] && empty[depth - 1];
                st = expanded(alts[depth - 1]);
                depth--;
            }
            i++;
            continue;
        }
        if ((b = segment_break(s, n, i)) > 0 || (b = chio__shell_ifs_at(s, n, i)) > 0) {
            if (segment_end(st, &shaky))
                return 1;
            word = c != '/' && c != '\\';
            if (depth > 0 && !word)
                shaky = 1; /* an alternative holding a separator: "{a/b,c}/../.." */
            else if (depth == 0 && word)
                shaky = 0; /* a new word */
            st = AT(0);
            braced = 0;
            i += b;
            continue;
        }
        if (c == '\'' || c == '"' || c == '}') {
            i++; /* quotes and an unmatched brace's end add no character */
            continue;
        }
        if (c != '{')
            word = 0;
        if (chio__shell_expansion_at(s, n, i)) {
            /* any text, or none, dots included; up to its end */
            if (st != 0) {
                j = expansion_end(s, segment_stop(s, n, i, &e), i);
                work += j - i;
                st = step_glob(st, 1, 0, 1);
                i = j;
            } else {
                i++; /* nothing to match: skip it character by character */
            }
            continue;
        }
        if (c == '{') {
            /* a brace: each alternative follows the text before it */
            if (depth == BRACE_DEPTH || letter_sequence_odd(s, n, i))
                return 1;
            open[depth] = expanded(st);
            at_word[depth] = (unsigned char)word;
            empty[depth] = 0;
            alts[depth++] = 0;
            st = open[depth - 1];
            braced = word;
            i++;
            continue;
        }
        if (c == '*') {
            st = step_glob(st, 1, 0, 0);
            i++;
        } else if (c == '?') {
            st = step_glob(st, 0, 1, 0);
            i++;
        } else if (c == '[' && st != 0 && (j = bracket_close(s, n, i, depth > 0, &work)) > 0) {
            /* one character; a bracket may match a leading dot (dash
             * matches ".[.]" and "[.][.]" to "..") */
            st = bracket_dot(s, i, j) ? step_glob(st, 0, 1, 1) : 0;
            i = j;
        } else if (c == '.') {
            st = (st & (AT(0) | EX(0))) << 1 | (st & (AT(1) | EX(1))) << 1;
            i++;
        } else {
            st = 0; /* a character that is no dot: never ".." */
            i++;
        }
    }
    return segment_end(st, &shaky);
}

size_t chio__shell_glob_reading(const char *s, size_t n, int star_empty, char *out)
{
    size_t i = 0, o = 0, e = 0, j = 0;
    int star = 0; /* the last character written is a '*' read as a dot */

    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (chio__shell_expansion_at(s, n, i)) {
            i = expansion_end(s, segment_stop(s, n, i, &e), i); /* empty: an unset variable */
            continue;
        }
        if (c == '*') {
            /* a run of '*' is one: any text, a dot or none (".*." and
             * ".**" glob to ".." in dash as ".?" does) */
            if (!star_empty && !star)
                out[o++] = '.';
            star = !star_empty;
            i++;
            continue;
        }
        star = 0;
        if (c == '?') {
            out[o++] = '.';
            i++;
        } else if (c == '[') {
            /* where the bracket stops: found once for a run of '['s that
             * stop at the same place ("[[[[" is not read again for each) */
            if (j <= i)
                for (j = i + 1; j < n && s[j] != ']' && s[j] != '/' && (unsigned char)s[j] > 0x20;
                     j++)
                    ;
            if (j < n && s[j] == ']' && j > i + 1) {
                out[o++] = '.'; /* read as matching a dot */
                i = j + 1;
            } else {
                out[o++] = s[i++];
            }
        } else {
            out[o++] = s[i++];
        }
    }
    out[o] = '\0';
    return o;
}

/* Where a word a tilde may open starts or ends: white space, the
 * shell's operators, quotes, braces, and the separators of a list or an
 * assignment ("PATH=~/bin:~root/bin"). */
static int tilde_break(unsigned char c)
{
    return c <= 0x20 || c == 0x7f || strchr(";|&<>(){},=:@'\"`", c) != NULL;
}

static int login_char(unsigned char c)
{
    return isalnum(c) || c == '.' || c == '_' || c == '-';
}

/* Is [@i, @j) of @s a login whose home is /root ("root"; "toor" on the
 * BSDs, "operator" on Red Hat)? */
static int root_home(const char *s, size_t i, size_t j)
{
    static const char *const names[] = {"root", "toor", "operator"};
    size_t k;

    for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
        if (j - i == strlen(names[k]) && memcmp(s + i, names[k], j - i) == 0)
            return 1;
    return 0;
}

/* The end of a home a word opens at s[@i]: a tilde prefix ("~", "~name",
 * "~+", "~-", "~2") or "$HOME" / "${HOME}"; @i when none. *@kind: 'r' a
 * home at /root, 'n' a named home, 'd' a directory the shell keeps
 * ("~+" $PWD, "~-" $OLDPWD, "~2" the stack). */
static size_t home_end(const char *s, size_t n, size_t i, char *kind)
{
    size_t j;

    if (i > 0 && !tilde_break((unsigned char)s[i - 1]))
        return i;
    *kind = 'r';
    if (n - i >= 5 && memcmp(s + i, "$HOME", 5) == 0 &&
        (i + 5 == n || !login_char((unsigned char)s[i + 5])))
        return i + 5;
    if (n - i >= 7 && memcmp(s + i, "${HOME}", 7) == 0)
        return i + 7;
    /* "$OLDPWD", "${OLDPWD}": the directory "~-" names (review 21 F3) */
    *kind = 'd';
    if (n - i >= 7 && memcmp(s + i, "$OLDPWD", 7) == 0 &&
        (i + 7 == n || !login_char((unsigned char)s[i + 7])))
        j = i + 7;
    else if (n - i >= 9 && memcmp(s + i, "${OLDPWD}", 9) == 0)
        j = i + 9;
    else
        j = i;
    if (j > i)
        return j == n || s[j] == '/' || tilde_break((unsigned char)s[j]) ? j : i;
    *kind = 'r';
    if (s[i] != '~')
        return i;
    j = i + 1;
    if (j < n && (s[j] == '+' || s[j] == '-' || (s[j] >= '0' && s[j] <= '9'))) {
        *kind = 'd';
        for (j++; j < n && s[j] >= '0' && s[j] <= '9'; j++)
            ;
    } else {
        for (; j < n && login_char((unsigned char)s[j]); j++)
            ;
        if (j > i + 1 && !root_home(s, i + 1, j))
            *kind = 'n';
    }
    return j == n || s[j] == '/' || tilde_break((unsigned char)s[j]) ? j : i;
}

int chio__shell_in_home(const char *w, size_t n)
{
    const size_t r = sizeof(CHIO__HOME_ROOT) - 1, u = sizeof(CHIO__HOME_USERS) - 1;

    return (n >= r && memcmp(w, CHIO__HOME_ROOT, r) == 0 && (n == r || w[r] == '/')) ||
           (n > u && memcmp(w, CHIO__HOME_USERS, u) == 0);
}

size_t chio__shell_tilde_reading(const char *s, size_t n, int homes_at_root, char *out)
{
    const size_t r = sizeof(CHIO__HOME_ROOT) - 1, u = sizeof(CHIO__HOME_USERS) - 1;
    size_t i = 0, o = 0, j;
    char kind;

    while (i < n) {
        if ((j = home_end(s, n, i, &kind)) == i) {
            out[o++] = s[i++];
            continue;
        }
        if (kind == 'r') {
            memcpy(out + o, CHIO__HOME_ROOT, r);
            o += r;
        } else if (kind == 'n' && !homes_at_root) {
            memcpy(out + o, CHIO__HOME_USERS, u);
            memcpy(out + o + u, s + i + 1, j - i - 1);
            o += u + (j - i - 1);
        } else if (j == n || s[j] != '/') {
            out[o++] = '/'; /* a home at "/", or a directory at worst "/" */
        }
        i = j;
    }
    out[o] = '\0';
    return o;
}

int chio__shell_each_tilde_reading(const char *s, size_t n,
                                   int (*fn)(void *ctx, const char *t, size_t len), void *ctx)
{
    char *t;
    size_t tl;
    int rc = 0, at_root;

    if (n > (SIZE_MAX - 1) / 6 || (t = malloc(6 * n + 1)) == NULL)
        return -1;
    for (at_root = 0; rc == 0 && at_root < 2; at_root++) {
        tl = chio__shell_tilde_reading(s, n, at_root, t);
        if (tl == n && memcmp(t, s, n) == 0)
            break; /* no home in it */
        rc = fn(ctx, t, tl);
    }
    free(t);
    return rc;
}
