/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/shell_ansi.c - bash's ANSI-C strings ($'...') decoded as bash
 * 5.2 decodes them (chio__shell_ansi_string, which
 * chio__shell_unquote_ansi in shell_words.c calls wherever "$'" stands),
 * and one reading of a value as bash lexes it once
 * (chio__shell_unquote_bash: quotes paired as bash pairs them, a fresh
 * context inside "$(..)", backticks and "${..}", ANSI-C strings only
 * where bash decodes them, "$\"..\"" and "${x:-word}"). Lexical only, for
 * the forbidden_path guard's further readings (guard_path.c,
 * guard_path_cwd.c), and chio__shell_each_ansi_reading, which hands
 * each of the two readings on. No state, no locks; only that last one
 * allocates (a buffer of the value's size, when it holds more than 255
 * bytes).
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
 * string, or one nested in it ("$(..)", a backtick, "${..}": a fresh
 * context until its close, whose own quotes pair apart from the outer
 * ones). */
enum { LEX_TOP, LEX_DQ, LEX_PAREN, LEX_TICK, LEX_BRACE };
#define LEX_DEPTH 32

typedef struct lexer {
    unsigned char kind[LEX_DEPTH];
    unsigned parens[LEX_DEPTH]; /* '(' open inside a "$(" frame */
    int top;
} lexer;

static int lex_push(lexer *lx, int kind)
{
    if (lx->top + 1 >= LEX_DEPTH)
        return 0; /* too deep: read on in the current context */
    lx->kind[++lx->top] = (unsigned char)kind;
    lx->parens[lx->top] = 0;
    return 1;
}

/* Does a '#' at s[i] open a comment: at the start of a word (after an
 * unescaped blank or operator)? */
static int comment_at(const char *s, size_t i)
{
    size_t k = i - 1;

    if (i == 0)
        return 1;
    if (strchr(" \t\n;&|(<>", s[k]) == NULL) /* "$(x)#" is mid-word */
        return 0;
    while (k > 0 && s[k - 1] == '\\') /* "a\ #": an escaped blank */
        k--;
    return (i - 1 - k) % 2 == 0;
}

/* "${name" followed by one of - = + ? (optionally after ':') at s[i]:
 * the length up to and with the operator, else 0. The word after it is
 * the expansion's value when the name is unset. */
static size_t default_op(const char *s, size_t n, size_t i)
{
    size_t j = i + 2;

    while (j < n && name_char((unsigned char)s[j]))
        j++;
    if (j == i + 2 || j >= n)
        return 0;
    if (s[j] == ':' && j + 1 < n)
        j++;
    return strchr("-=+?", s[j]) != NULL && s[j] != '\0' ? j + 1 - i : 0;
}

int chio__shell_has_ansi(const char *s, size_t n)
{
    return memmem(s, n, "$'", 2) != NULL || memmem(s, n, "$\"", 2) != NULL ||
           memmem(s, n, "${", 2) != NULL || memmem(s, n, "$\\", 2) != NULL;
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

/* The lexer of chio__shell_unquote_bash, over @s joined already; @out
 * may be @s (it never writes past what it has read). */
static size_t lex(const char *s, size_t n, char *out)
{
    lexer lx = {{LEX_TOP}, {0}, 0};
    size_t i = 0, o = 0, k;
    long w;
    int kind;

    while (i < n) {
        char c = s[i];
        kind = lx.kind[lx.top];
        if (kind == LEX_DQ) {
            if (c == '"') {
                lx.top--;
                i++;
            } else if (c == '\\' && i + 1 < n && strchr("$`\"\\\n", s[i + 1]) != NULL) {
                if (s[i + 1] != '\n')
                    out[o++] = s[i + 1];
                i += 2;
            } else if (c == '$' && i + 1 < n && s[i + 1] == '(' && lex_push(&lx, LEX_PAREN)) {
                i += 2;
            } else if (c == '`' && lex_push(&lx, LEX_TICK)) {
                i++;
            } else if (c == '$' && i + 1 < n && s[i + 1] == '{' && (k = default_op(s, n, i)) > 0 &&
                       lex_push(&lx, LEX_BRACE)) {
                i += k; /* the default word, read as the value */
            } else {
                out[o++] = s[i++];
            }
            continue;
        }
        if (c == '\\') {
            if (i + 1 < n && s[i + 1] != '\n')
                out[o++] = s[i + 1];
            i += 2;
        } else if (c == '\'') {
            for (i++; i < n && s[i] != '\''; i++)
                out[o++] = s[i];
            i++;
        } else if (c == '"') {
            if (lex_push(&lx, LEX_DQ) == 0)
                out[o++] = c;
            i++;
        } else if (c == '$' && i + 1 < n && s[i + 1] == '\'') {
            i += 2;
            if ((w = chio__shell_ansi_string(s, n, &i, out + o)) >= 0)
                o += (size_t)w;
            else
                out[o++] = '$'; /* never closed: bash reads a '$' and a quote */
        } else if (c == '$' && i + 1 < n && s[i + 1] == '$') { /* the shell's pid */
            out[o++] = s[i++];
            out[o++] = s[i++];
        } else if (c == '$' && i + 1 < n && s[i + 1] == '"') {
            i++; /* $"..": the '$' dropped (no translation) */
        } else if (c == '$' && i + 1 < n && s[i + 1] == '(' && lex_push(&lx, LEX_PAREN)) {
            i += 2;
        } else if (c == '$' && i + 1 < n && s[i + 1] == '{' && (k = default_op(s, n, i)) > 0 &&
                   lex_push(&lx, LEX_BRACE)) {
            i += k;
        } else if (c == '`' && kind == LEX_TICK) {
            lx.top--;
            i++;
        } else if (c == '`' && lex_push(&lx, LEX_TICK)) {
            i++;
        } else if (c == '}' && kind == LEX_BRACE) {
            lx.top--;
            i++;
        } else if (c == ')' && kind == LEX_PAREN && lx.parens[lx.top] == 0) {
            lx.top--;
            i++;
        } else if (c == '#' && comment_at(s, i)) {
            while (i < n && s[i] != '\n')
                i++;
        } else {
            if (kind == LEX_PAREN && (c == '(' || c == ')'))
                lx.parens[lx.top] += c == '(' ? 1u : (unsigned)-1;
            out[o++] = s[i++];
        }
    }
    out[o] = '\0';
    return o;
}

size_t chio__shell_unquote_bash(const char *s, size_t n, char *out)
{
    return lex(out, chio__shell_join_lines(s, n, out), out);
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
