/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/shell_ansi.c - bash's ANSI-C strings ($'...') decoded as bash
 * 5.2 decodes them (chio__shell_ansi_string, which
 * chio__shell_unquote_ansi in shell_words.c calls wherever "$'" stands),
 * and one lexer that reads a value as bash lexes it once: quotes paired
 * as bash pairs them, a fresh context inside "$(..)", backticks and
 * "${..}", ANSI-C strings only where bash decodes them, here-document
 * bodies as text. Its readings: chio__shell_unquote_bash ("$\"..\"" and
 * "${x:-word}" read as their words) and chio__shell_unquote_empty (every
 * expansion that may expand to nothing dropped, or in the wild reading
 * marked where its text cannot be known; review 52). Lexical only, for
 * the forbidden_path guard's further readings (guard_path.c,
 * guard_path_cwd.c, guard_path_wild.c), and
 * chio__shell_each_ansi_reading and chio__shell_each_empty_reading, which
 * hand on the ANSI-C readings and the empty ones. No state, no locks;
 * only those two allocate (a buffer of the value's size, when it holds
 * more than 255 bytes).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chio/error.h"
#include "normalize.h"
#include "shell_ansi.h"
#include "shell_words.h"

static int name_char(unsigned char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || chio__ascii_digit(c);
}

/* The value of hex digit @c, or -1. */
static int hex_value(unsigned char c)
{
    if (chio__ascii_digit(c))
        return c - '0';
    c = (unsigned char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Up to @most digits of base @base (8 or 16) from s[*i, n): their value,
 * *@i past them, *@got how many. */
static uint32_t ansi_number(const char *s, size_t n, size_t *i, int base, int most, int *got)
{
    uint32_t v = 0;
    int d;

    for (*got = 0; *got < most && *i < n; (*got)++, (*i)++) {
        d = hex_value((unsigned char)s[*i]);
        if (d < 0 || d >= base)
            break;
        v = v * (uint32_t)base + (uint32_t)d;
    }
    return v;
}

/* Code point @v as UTF-8 at @out ('?' for a surrogate or past
 * U+10FFFF); returns the bytes written (1 to 4). */
static size_t put_utf8(uint32_t v, char *out)
{
    if ((v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff) {
        out[0] = '?';
        return 1;
    }
    return chio__utf8_encode(out, v);
}

/* One backslash escape of an ANSI-C string at s[*i] (the byte after the
 * backslash), as bash 5.2 decodes it, into @out; *@i past it. Returns the
 * bytes written, or -1 for a NUL (bash ends the string's text there).
 * Never more bytes than the escape spans with its backslash. */
static int ansi_escape(const char *s, size_t n, size_t *i, char *out)
{
    static const char from[] = "abeEfnrtv\\'\"?", to[] = "\a\b\033\033\f\n\r\t\v\\'\"?";
    unsigned char c = (unsigned char)s[(*i)++];
    const char *f = c != 0 ? strchr(from, c) : NULL;
    uint32_t v;
    int got;

    if (f != NULL) {
        out[0] = to[f - from];
        return 1;
    }
    if (c >= '0' && c <= '7') { /* \nnn: one to three octal digits */
        (*i)--;
        v = ansi_number(s, n, i, 8, 3, &got) & 0xff;
    } else if (c == 'x' || c == 'u' || c == 'U') { /* \xHH \uHHHH \UHHHHHHHH */
        v = ansi_number(s, n, i, 16, c == 'x' ? 2 : c == 'u' ? 4 : 8, &got);
        if (got == 0) { /* no digit: the text as written */
            out[0] = '\\';
            out[1] = (char)c;
            return 2;
        }
        if (c != 'x')
            return v == 0 ? -1 : (int)put_utf8(v, out);
    } else if (c == 'c' && *i < n) { /* \cx: a control character */
        c = (unsigned char)s[(*i)++];
        v = c == '?' ? 0x7f : (uint32_t)(c & 0x1f);
    } else { /* any other byte: the backslash stays */
        out[0] = '\\';
        out[1] = (char)c;
        return 2;
    }
    if (v == 0)
        return -1;
    out[0] = (char)v;
    return 1;
}

/* The ANSI-C string whose text starts at s[*i] (after "$'"), decoded into
 * @out up to its closing quote; *@i past that quote. Returns the bytes
 * written, or -1 (nothing written, *@i unchanged) when it never closes. */
long chio__shell_ansi_string(const char *s, size_t n, size_t *i, char *out)
{
    size_t j = *i, o = 0, k;
    int w, cut = 0;

    for (k = j; k < n && s[k] != '\''; k++)
        if (s[k] == '\\')
            k++;
    if (k >= n)
        return -1;
    while (j < k) {
        if (s[j] != '\\') {
            if (!cut)
                out[o++] = s[j];
            j++;
            continue;
        }
        j++;
        w = ansi_escape(s, k, &j, out + o);
        if (w < 0)
            cut = 1;
        else if (!cut)
            o += (size_t)w;
    }
    *i = k + 1;
    return (long)o;
}

/* ---- one reading as bash lexes it --------------------------------- */

/* A quoting context of bash's lexer: the text itself, a double-quoted
 * string, or one nested in it ("$(..)", a backtick, "${..}", and for the
 * empty reading "$[..]": a fresh context until its close, whose own
 * quotes pair apart from the outer ones). */
enum { LEX_TOP, LEX_DQ, LEX_PAREN, LEX_TICK, LEX_BRACE, LEX_BRACKET };
#define LEX_DEPTH 32

/* Here-documents whose bodies are pending (the next newline starts them)
 * and the longest delimiter followed; past either the empty reading
 * cannot tell code from text (CHIO__EMPTY_TOO_DEEP). */
#define HEREDOC_MAX   8
#define HEREDOC_DELIM 256

typedef struct heredoc {
    char delim[HEREDOC_DELIM];
    size_t len;
    int strip_tabs; /* "<<-" */
    int quoted;     /* its delimiter quoted: the body is data */
} heredoc;

typedef struct lexer {
    unsigned char kind[LEX_DEPTH];
    unsigned parens[LEX_DEPTH]; /* '(' open inside a "$(" frame */
    int top;
    int empty;      /* the empty reading: expansions write nothing */
    int rewind;     /* and a stray ')' takes back what followed "$(" */
    int wild;       /* and an expansion writes a mark (CHIO__WILD_*) */
    int join;       /* and a quoted blank is '_' */
    int quiet;      /* expansion frames open in the empty reading */
    unsigned flags; /* CHIO__EMPTY_* seen */
    size_t open_o;  /* the output when the outermost "$(" or '`' opened */
    int open_set;
    heredoc hd[HEREDOC_MAX];
    int nhd;
    unsigned arith; /* parens open in an arithmetic command "((..))" */
    int at_break;   /* the last byte read was an unquoted blank or operator */
} lexer;

static int lex_push(lexer *lx, int kind)
{
    if (lx->top + 1 >= LEX_DEPTH) {
        if (lx->empty && kind != LEX_DQ)
            lx->flags |= CHIO__EMPTY_TOO_DEEP | CHIO__EMPTY_NESTED_DEEP;
        return 0; /* too deep: read on in the current context */
    }
    lx->kind[++lx->top] = (unsigned char)kind;
    lx->parens[lx->top] = 0;
    lx->quiet += lx->empty && kind != LEX_DQ;
    return 1;
}

static void lex_pop(lexer *lx)
{
    lx->quiet -= lx->empty && lx->kind[lx->top] != LEX_DQ;
    lx->top--;
}

/* A ')' at s[i] outside any "$(" frame, after one closed: bash may have
 * closed that one here instead ("$(case x in x) esac)", a here-document's
 * ")" inside "$(..)"). Noted in the empty reading; with @rewind, what was
 * written since the outermost "$(" opened is taken back. */
static int stray_close(lexer *lx, size_t *o, char c, int kind)
{
    if (!lx->empty || c != ')' || lx->quiet != 0 || !lx->open_set || lx->arith > 0 ||
        (kind != LEX_TOP && kind != LEX_DQ))
        return 0;
    lx->flags |= CHIO__EMPTY_STRAY_CLOSE;
    if (!lx->rewind)
        return 0;
    *o = lx->open_o;
    return 1;
}

/* Writes @c unless an expansion that the empty reading drops is open
 * (in the wild reading, a byte that is a mark there as '?'). */
static void put(const lexer *lx, char *out, size_t *o, char c)
{
    if (lx->quiet == 0)
        out[(*o)++] = lx->wild && (c == CHIO__WILD_ANY || c == CHIO__WILD_HOME) ? '?' : c;
}

/* put for a quoted or escaped character: a blank is noted
 * (CHIO__EMPTY_QUOTED_BLANK) and with CHIO__EMPTY_JOIN written '_', so
 * that the word stays one word as bash keeps it ("/x\\ #/../etc/x" is
 * one word, "/x #" a segment ".." takes away). */
static void qput(lexer *lx, char *out, size_t *o, char c)
{
    if (lx->empty && (c == ' ' || c == '\t' || c == '\n')) {
        lx->flags |= CHIO__EMPTY_QUOTED_BLANK;
        c = lx->join ? '_' : c;
    }
    put(lx, out, o, c);
}

/* The same for @len decoded bytes written at @p already; returns @len. */
static size_t join_blanks(lexer *lx, char *p, size_t len)
{
    size_t k;

    for (k = 0; lx->empty && k < len; k++)
        if (p[k] == ' ' || p[k] == '\t' || p[k] == '\n') {
            lx->flags |= CHIO__EMPTY_QUOTED_BLANK;
            p[k] = lx->join ? '_' : p[k];
        }
    return len;
}

/* Does the name at s[i, i + len) hold the user's home or name? */
static int home_name(const char *s, size_t i, size_t len)
{
    return (len == 4 && memcmp(s + i, "HOME", 4) == 0) ||
           (len == 4 && memcmp(s + i, "USER", 4) == 0) ||
           (len == 7 && memcmp(s + i, "LOGNAME", 7) == 0);
}

/* Is "${name" + s[k..] (the name at s[j, k)) a default form ("-", "=",
 * "+", "?", with or without ':') whose word holds no expansion? Its text
 * is then the variable's, as "$name" is, or the word, which the bash
 * reading reads: no mark. */
static int default_known(const char *s, size_t n, size_t j, size_t k)
{
    size_t depth = 0;

    if (k == j || k >= n)
        return 0;
    if (s[k] == ':' && k + 1 < n)
        k++;
    if (strchr("-=+?", s[k]) == NULL || s[k] == '\0')
        return 0;
    for (k++; k < n; k++) {
        if (s[k] == '$' || s[k] == '`')
            return 0;
        if (s[k] == '{')
            depth++;
        else if (s[k] == '}' && depth-- == 0)
            return 1;
    }
    return 0;
}

/* In the wild reading, the mark for the expansion that starts at s[i]
 * (its '$' or backtick), written where no other is open: any text for a
 * command substitution, arithmetic or "${name<op>..}" that cuts or
 * replaces (not "${x,}" or "${x^^}", the whole value); the home's text
 * for one of HOME, USER or LOGNAME, with an operator or without; nothing
 * for "${name}" or "$name" of another name (the empty reading's). */
static void mark(const lexer *lx, char *out, size_t *o, const char *s, size_t n, size_t i)
{
    size_t j = i + 1, k;

    if (!lx->wild || lx->quiet != 0)
        return;
    if (s[i] == '`' || (j < n && (s[j] == '(' || s[j] == '['))) {
        out[(*o)++] = CHIO__WILD_ANY;
        return;
    }
    if (j < n && s[j] == '{')
        j++;
    for (k = j; k < n && name_char((unsigned char)s[k]); k++)
        ;
    if (home_name(s, j, k - j))
        out[(*o)++] = CHIO__WILD_HOME;
    else if (s[i + 1] == '{' && (k == j || k >= n || (s[k] != '}' && s[k] != ',' && s[k] != '^')) &&
             !default_known(s, n, j, k))
        out[(*o)++] = CHIO__WILD_ANY; /* a case change ("${x,,}") keeps the whole value */
}

/* In the empty reading, the length of "$IFS" or "${IFS}" at s[i] ("$IFS"
 * not followed by a name character), else 0: the shell's white space,
 * read as a blank, not as nothing (review 12: "cat$IFS$9/etc/passwd"
 * is "cat /etc/passwd" to sh, and the reading that made "$IFS" a blank
 * kept "$9", the one that made "$9" nothing made "$IFS" nothing too). */
static size_t ifs_parameter(const lexer *lx, const char *s, size_t n, size_t i)
{
    return lx->empty ? chio__shell_ifs_at(s, n, i) : 0;
}

/* In the empty reading, the length of a parameter at s[i] that may expand
 * to nothing ("$name", "$1", "$@", "$*"), else 0. "$#", "$?", "$$", "$!"
 * and "$-" never do and stay as written. */
static size_t empty_parameter(const lexer *lx, const char *s, size_t n, size_t i)
{
    size_t j = i + 1;

    if (!lx->empty || s[i] != '$' || j >= n)
        return 0;
    if (chio__ascii_digit((unsigned char)s[j]) || s[j] == '@' || s[j] == '*')
        return 2;
    if (!name_char((unsigned char)s[j]))
        return 0;
    while (j < n && name_char((unsigned char)s[j]))
        j++;
    return j - i;
}

/* "${name" followed by one of - = + ? (optionally after ':') at s[i]:
 * the length up to and with the operator, else 0. The word after it is
 * the expansion's value when the name is unset. For a pattern
 * substitution ("${name/pat/word}", "//", "/#", "/%"), the length up to
 * the '/' before its word, which is the value when the name is the
 * pattern ("${x/a//etc}" is "/etc" when x is "a"). */
static size_t default_op(const char *s, size_t n, size_t i)
{
    size_t j = i + 2;

    while (j < n && name_char((unsigned char)s[j]))
        j++;
    if (j == i + 2 || j >= n)
        return 0;
    if (s[j] == '/') {
        if (++j < n && (s[j] == '/' || s[j] == '#' || s[j] == '%'))
            j++;
        for (; j < n && s[j] != '/' && s[j] != '}'; j++)
            if (s[j] == '\\')
                j++;
        return j < n && s[j] == '/' ? j + 1 - i : 0;
    }
    if (s[j] == ':' && j + 1 < n)
        j++;
    return strchr("-=+?", s[j]) != NULL && s[j] != '\0' ? j + 1 - i : 0;
}

int chio__shell_has_ansi(const char *s, size_t n)
{
    return memmem(s, n, "$'", 2) != NULL || memmem(s, n, "$\"", 2) != NULL ||
           memmem(s, n, "${", 2) != NULL || memmem(s, n, "$\\", 2) != NULL ||
           ((memchr(s, '`', n) != NULL || memmem(s, n, "<<", 2) != NULL) &&
            memmem(s, n, "\\\\", 2) != NULL);
}

size_t chio__shell_join_lines(const char *s, size_t n, char *out)
{
    size_t i = 0, o = 0;

    while (i < n)
        if (s[i] == '\\' && i + 1 < n && s[i + 1] == '\n')
            i += 2;
        else
            out[o++] = s[i++];
    out[o] = '\0';
    return o;
}

/* Is the "<<" at s[i] inside an array subscript of its word
 * ("a[1<<2]=x"): a '[' before it in the word, not closed? */
static int in_subscript(const char *s, size_t i)
{
    size_t k, steps = 0;

    for (k = i; k > 0 && steps < 256; k--, steps++) {
        char c = s[k - 1];
        if (c == ']' || strchr(" \t\n;&|()", c) != NULL)
            return 0;
        if (c == '[')
            return 1;
    }
    return 0;
}

/* Appends @c to the delimiter being read; 0 when it is too long. */
static int delim_add(heredoc *h, char c)
{
    if (h->len + 1 >= HEREDOC_DELIM)
        return 0;
    h->delim[h->len++] = c;
    return 1;
}

/* The here-document delimiter word at s[*j], as bash takes it: up to an
 * unquoted blank or operator, quotes and backslashes removed, and
 * "$(..)", "${..}" and backticks kept as written (bash expands nothing
 * in it). 0 when it is empty or too long. */
static int delim_word(heredoc *h, const char *s, size_t n, size_t *j)
{
    size_t k = *j, depth;
    char q;

    for (h->len = 0, h->quoted = 0; k < n; k++) {
        char c = s[k];
        h->quoted |= c == '\\' || c == '\'' || c == '"';
        if (c == '\\') {
            if (++k < n && !delim_add(h, s[k]))
                return 0;
        } else if (c == '\'' || c == '"') {
            for (q = c, k++; k < n && s[k] != q; k++)
                if (!delim_add(h, s[k]))
                    return 0;
        } else if (c == '`' || (c == '$' && k + 1 < n && (s[k + 1] == '(' || s[k + 1] == '{'))) {
            /* kept whole, up to its close */
            char open = c == '`' ? 0 : s[k + 1], close = c == '`' ? '`' : open == '(' ? ')' : '}';
            if (!delim_add(h, c) || (open != 0 && !delim_add(h, s[++k])))
                return 0;
            for (depth = 1, k++; k < n && depth > 0; k++) {
                if (open != 0 && s[k] == open)
                    depth++;
                else if (s[k] == close)
                    depth--;
                if (!delim_add(h, s[k]))
                    return 0;
            }
            k--;
        } else if (strchr(" \t\n;&|<>()", c) != NULL) {
            break;
        } else if (!delim_add(h, c)) {
            return 0;
        }
    }
    *j = k;
    return h->len > 0;
}

/* A here-document operator "<<" (not "<<<", not a shift in "((..))",
 * "$((..))", "$[..]" or a subscript) at s[i]: notes its delimiter for the
 * body the next newline starts, and returns 2, or 0. The delimiter word
 * itself is lexed as any other. */
static size_t heredoc_at(lexer *lx, const char *s, size_t n, size_t i)
{
    size_t j = i + 2;
    heredoc *h;

    if (n - i < 3 || s[i] != '<' || s[i + 1] != '<' || s[j] == '<' || (i > 0 && s[i - 1] == '<'))
        return 0;
    if (lx->arith || lx->kind[lx->top] == LEX_BRACKET ||
        (lx->kind[lx->top] == LEX_PAREN && lx->parens[lx->top] > 0) || in_subscript(s, i))
        return 0;
    if (lx->nhd >= HEREDOC_MAX) {
        lx->flags |= lx->empty ? CHIO__EMPTY_TOO_DEEP : 0; /* past what is followed */
        return 0;
    }
    h = &lx->hd[lx->nhd];
    h->strip_tabs = s[j] == '-';
    j += (size_t)h->strip_tabs;
    while (j < n && (s[j] == ' ' || s[j] == '\t'))
        j++;
    if (!delim_word(h, s, n, &j)) {
        if (h->len > 0)
            lx->flags |= lx->empty ? CHIO__EMPTY_TOO_DEEP : 0; /* a delimiter too long */
        return 0;
    }
    lx->nhd++;
    return 2;
}

/* The bodies of the pending here-documents, from s[i] (after the newline
 * that starts them) through each delimiter line, written as text: bash
 * reads a quoted one as data, and an unquoted one's expansions are read
 * by the readings this one is handed to. Returns where lexing goes on. */
static size_t heredoc_bodies(lexer *lx, const char *s, size_t n, size_t i, char *out, size_t *o)
{
    int k;

    for (k = 0; k < lx->nhd && i < n; k++) {
        const heredoc *h = &lx->hd[k];
        for (;;) {
            size_t a = i, e;
            const char *nl = memchr(s + i, '\n', n - i);
            int last;
            e = nl != NULL ? (size_t)(nl - s) : n;
            if (h->strip_tabs)
                while (a < e && s[a] == '\t')
                    a++;
            /* compared before it is written: @out may be @s */
            last = e - a == h->len && memcmp(s + a, h->delim, h->len) == 0;
            while (i < e) {
                /* an unquoted body's "\\", "\$" and "\`" are one byte
                 * to what reads it ("bash <<E" runs "cat /e\tc/x") */
                if (!h->quoted && !last && s[i] == '\\' && i + 1 < e &&
                    strchr("\\$`", s[i + 1]) != NULL)
                    i++;
                put(lx, out, o, s[i++]);
            }
            if (i < n)
                put(lx, out, o, s[i++]);
            if (last || i >= n)
                break;
        }
    }
    lx->nhd = 0;
    return i;
}

/* Counts the parens of an arithmetic command ("((x = 1 << 2))",
 * "for ((..))"), in which "<<" is a shift: one opens at "((" not after a
 * '$' ("$((" is a frame's own) and closes when its parens do. */
static void arith_count(lexer *lx, const char *s, size_t n, size_t i)
{
    if (s[i] == '(' && lx->arith == 0 && i + 1 < n && s[i + 1] == '(' &&
        (i == 0 || s[i - 1] != '$'))
        lx->arith = 1;
    else if (s[i] == '(' && lx->arith > 0)
        lx->arith++;
    else if (s[i] == ')' && lx->arith > 0)
        lx->arith--;
}

/* Opens a backtick frame; in the empty reading the outermost one marks
 * where a stray ')' takes the output back to. */
static int tick_open(lexer *lx, char *out, size_t *o)
{
    int outer = lx->quiet == 0;

    mark(lx, out, o, "`", 1, 0);
    if (!lex_push(lx, LEX_TICK))
        return 0;
    if (lx->empty && outer) {
        lx->open_o = *o;
        lx->open_set = 1;
    }
    return 1;
}

/* The frame an expansion at s[i] opens ("$(", "${", "$[" in the empty
 * reading; "${name:-" as its word otherwise) and the bytes it takes, or
 * 0. */
static size_t expansion_open(lexer *lx, const char *s, size_t n, size_t i, char *out, size_t *o)
{
    size_t k;

    if (s[i] != '$' || i + 1 >= n)
        return 0;
    if (lx->empty && strchr("({[", s[i + 1]) != NULL && s[i + 1] != '\0')
        mark(lx, out, o, s, n, i);
    if (s[i + 1] == '(' && lx->quiet == 0 && lx->empty && lex_push(lx, LEX_PAREN)) {
        lx->open_o = *o;
        lx->open_set = 1;
        return 2;
    }
    if (s[i + 1] == '(' && lex_push(lx, LEX_PAREN))
        return 2;
    if (s[i + 1] == '{' && lx->empty && lex_push(lx, LEX_BRACE))
        return 2; /* any "${..}": it may expand to nothing */
    if (s[i + 1] == '{' && (k = default_op(s, n, i)) > 0 && lex_push(lx, LEX_BRACE))
        return k; /* the default word, read as the value */
    if (s[i + 1] == '[' && lx->empty && lex_push(lx, LEX_BRACKET))
        return 2;
    return 0;
}

/* The lexer of chio__shell_unquote_bash and chio__shell_unquote_empty
 * (@empty), over @s joined already; @out may be @s (it never writes past
 * what it has read). */
static size_t lex(const char *s, size_t n, char *out, int empty, unsigned mode, unsigned *flags)
{
    lexer lx;
    size_t i = 0, o = 0, k;
    long w;
    int kind;

    memset(&lx, 0, sizeof(lx));
    lx.kind[0] = LEX_TOP;
    lx.at_break = 1; /* the value's start */
    lx.empty = empty;
    lx.rewind = (mode & CHIO__EMPTY_REWIND) != 0;
    lx.wild = (mode & CHIO__EMPTY_WILD) != 0;
    lx.join = (mode & CHIO__EMPTY_JOIN) != 0;
    while (i < n) {
        char c = s[i];
        int brk = lx.at_break;
        lx.at_break = 0;
        kind = lx.kind[lx.top];
        if (kind != LEX_DQ && c == '\n' && lx.nhd > 0) {
            put(&lx, out, &o, c);
            i = heredoc_bodies(&lx, s, n, i + 1, out, &o);
            continue;
        }
        if (stray_close(&lx, &o, c, kind)) {
            i++;
            continue;
        }
        if (kind == LEX_DQ) {
            if (c == '"') {
                lex_pop(&lx);
                i++;
            } else if (c == '\\' && i + 1 < n && strchr("$`\"\\\n", s[i + 1]) != NULL) {
                if (s[i + 1] != '\n')
                    qput(&lx, out, &o, s[i + 1]);
                i += 2;
            } else if ((k = ifs_parameter(&lx, s, n, i)) > 0) {
                qput(&lx, out, &o, ' ');
                i += k;
            } else if ((k = expansion_open(&lx, s, n, i, out, &o)) > 0) {
                i += k;
            } else if (c == '`' && tick_open(&lx, out, &o)) {
                i++;
            } else if ((k = empty_parameter(&lx, s, n, i)) > 0) {
                mark(&lx, out, &o, s, n, i);
                i += k;
            } else {
                qput(&lx, out, &o, s[i++]);
            }
            continue;
        }
        if (c == '\\' && kind == LEX_TICK && i + 2 < n && s[i + 1] == '\\' && s[i + 2] != '\n') {
            /* in backquotes "\\" is one backslash, which the command
             * substitution's shell reads as an escape: "\\t" is "t" */
            qput(&lx, out, &o, s[i + 2]);
            i += 3;
        } else if (c == '\\') {
            if (i + 1 < n && s[i + 1] != '\n')
                qput(&lx, out, &o, s[i + 1]);
            i += 2;
        } else if (c == '\'') {
            for (i++; i < n && s[i] != '\''; i++)
                qput(&lx, out, &o, s[i]);
            i++;
        } else if (c == '"') {
            if (lex_push(&lx, LEX_DQ) == 0)
                put(&lx, out, &o, c);
            i++;
        } else if (c == '$' && i + 1 < n && s[i + 1] == '\'') {
            i += 2;
            if ((w = chio__shell_ansi_string(s, n, &i, out + o)) >= 0)
                o += lx.quiet == 0 ? join_blanks(&lx, out + o, (size_t)w) : 0;
            else
                put(&lx, out, &o, '$'); /* never closed: bash reads a '$' and a quote */
        } else if (c == '$' && i + 1 < n && s[i + 1] == '$') { /* the shell's pid */
            put(&lx, out, &o, s[i++]);
            put(&lx, out, &o, s[i++]);
        } else if (c == '$' && i + 1 < n && s[i + 1] == '"') {
            i++; /* $"..": the '$' dropped (no translation) */
        } else if ((k = ifs_parameter(&lx, s, n, i)) > 0) {
            put(&lx, out, &o, ' ');
            lx.at_break = 1;
            i += k;
        } else if ((k = expansion_open(&lx, s, n, i, out, &o)) > 0) {
            i += k;
        } else if ((k = empty_parameter(&lx, s, n, i)) > 0) {
            mark(&lx, out, &o, s, n, i);
            i += k;
        } else if (c == '`' && kind == LEX_TICK) {
            lex_pop(&lx);
            i++;
        } else if (c == '`' && tick_open(&lx, out, &o)) {
            i++;
        } else if ((k = heredoc_at(&lx, s, n, i)) > 0) {
            put(&lx, out, &o, s[i++]);
            put(&lx, out, &o, s[i++]);
        } else if ((c == '}' && kind == LEX_BRACE) || (c == ']' && kind == LEX_BRACKET)) {
            lex_pop(&lx);
            i++;
        } else if (c == ')' && kind == LEX_PAREN && lx.parens[lx.top] == 0) {
            lex_pop(&lx);
            i++;
        } else if (c == '#' && brk) {
            /* a comment at a word's start: after an unescaped blank or
             * operator (read as the lexer went: @s may be written over) */
            while (i < n && s[i] != '\n')
                i++;
        } else {
            if (kind == LEX_PAREN && (c == '(' || c == ')'))
                lx.parens[lx.top] += c == '(' ? 1u : (unsigned)-1;
            arith_count(&lx, s, n, i);
            lx.at_break = strchr(" \t\n;&|(<>", c) != NULL;
            put(&lx, out, &o, s[i++]);
        }
    }
    out[o] = '\0';
    if (flags != NULL)
        *flags = lx.flags;
    return o;
}

size_t chio__shell_unquote_bash(const char *s, size_t n, char *out)
{
    return lex(out, chio__shell_join_lines(s, n, out), out, 0, 0, NULL);
}

size_t chio__shell_unquote_empty(const char *s, size_t n, unsigned mode, char *out, unsigned *flags)
{
    return lex(out, chio__shell_join_lines(s, n, out), out, 1, mode, flags);
}

int chio__shell_has_expansion(const char *s, size_t n)
{
    const char *p = s, *end = s + n;

    if (memchr(s, '`', n) != NULL)
        return 1;
    while ((p = memchr(p, '$', (size_t)(end - p))) != NULL && ++p < end)
        if (name_char((unsigned char)*p) || (*p != '\0' && strchr("@*{([", *p) != NULL))
            return 1;
    return 0;
}

int chio__shell_each_ansi_reading(const char *s, size_t n,
                                  int (*fn)(void *ctx, const char *t, size_t len), void *ctx)
{
    char stack[256], *heap = NULL, *d = stack;
    size_t len;
    int rc = 0, way;

    if (n + 1 > sizeof(stack) && (d = heap = malloc(n + 1)) == NULL)
        return CHIO_ENOMEM;
    for (way = 0; way < 2 && rc == 0; way++) {
        len = way == 0 ? chio__shell_unquote_bash(s, n, d) : chio__shell_unquote_ansi(s, n, d);
        if (len != n || memcmp(d, s, n) != 0)
            rc = fn(ctx, d, len);
    }
    free(heap);
    return rc;
}

int chio__shell_each_empty_reading(const char *s, size_t n, unsigned mode, unsigned again,
                                   int (*fn)(void *ctx, const char *t, size_t len, unsigned flags),
                                   void *ctx)
{
    static const unsigned ways[] = {0, CHIO__EMPTY_REWIND, CHIO__EMPTY_JOIN};
    static const unsigned when[] = {0, CHIO__EMPTY_STRAY_CLOSE, CHIO__EMPTY_QUOTED_BLANK};
    char stack[256], *heap = NULL, *d = stack;
    size_t len;
    unsigned flags, seen = 0, way;
    int rc = 0;

    if (n + 1 > sizeof(stack) && (d = heap = malloc(n + 1)) == NULL)
        return CHIO_ENOMEM;
    for (way = 0; way < 3 && rc == 0; way++) {
        if (way > 0 && (!(again & ways[way]) || !(seen & when[way])))
            continue;
        flags = 0;
        len = chio__shell_unquote_empty(s, n, mode | ways[way], d, &flags);
        seen |= flags;
        rc = fn(ctx, d, len, flags);
    }
    free(heap);
    return rc;
}
