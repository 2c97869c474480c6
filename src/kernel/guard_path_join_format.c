/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/guard_path_join_format.c - the forbidden_path guard's reading of
 * formats that literals fill and of f-strings that nest their own quote:
 * "%s/%s" % ("/etc", "shadow"), "/etc/%(f)s" % {"f": "shadow"},
 * "/etc/{}".format("shadow"), "/etc/{f}".format(f="shadow"), printf's
 * arguments, and Python 3.12's f"/etc/{"shadow"}". A format is filled
 * with the literals handed to it (at most JOIN_LITERALS_MAX) and read as
 * a path when the result is absolute; a placeholder no literal fills
 * stays as written. Called by guard_path_join.c for each literal it
 * meets. No state, no locks; a result longer than a stack buffer is
 * malloc'ed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guard_path.h"
#include "guard_path_join.h"
#include "internal.h"

/* A placeholder of a format: what fills it. */
typedef struct hole {
    size_t len;        /* its length in the format; 0: none */
    int kind;          /* HOLE_NEXT, HOLE_INDEX or HOLE_NAME */
    size_t index;      /* HOLE_INDEX: "{1}" */
    size_t name, nlen; /* HOLE_NAME: "{user}", its name in the text */
    size_t prec;       /* "%.3s": at most this many bytes; SIZE_MAX: all */
} hole;

enum { HOLE_NEXT, HOLE_INDEX, HOLE_NAME };

/* After '%' (and a "(name)"), at s[@i]: flags, a width and a precision
 * ("%-8.3s"), then 's' or 'r'. The index after the conversion, or 0 when
 * there is none; the precision in h->prec. */
static size_t percent_spec(const char *s, size_t i, size_t e, hole *h)
{
    size_t start = i, p = 0;

    while (i < e && strchr("-#0 +", s[i]) != NULL && s[i] != '\0')
        i++;
    while (i < e && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i < e && s[i] == '.') {
        for (i++; i < e && s[i] >= '0' && s[i] <= '9' && p < 100000; i++)
            p = p * 10 + (size_t)(s[i] - '0');
        h->prec = p;
    }
    if (i >= e || i - start > JOIN_GAP_MAX || (s[i] != 's' && s[i] != 'r'))
        return 0;
    return i + 1;
}

/* After a "{" placeholder's field, at s[@i]: an optional conversion
 * ("!s", "!r", "!a") and format spec (":s", ":>8"), then '}'. The index
 * after the '}', or 0. */
size_t chio__gpj_brace_tail(const char *s, size_t i, size_t e)
{
    size_t start = i;

    if (i + 1 < e && s[i] == '!' && strchr("sra", s[i + 1]) != NULL && s[i + 1] != '\0')
        i += 2;
    if (i < e && s[i] == ':')
        while (i < e && s[i] != '}' && s[i] != '{' && i - start <= JOIN_GAP_MAX)
            i++;
    return i < e && s[i] == '}' ? i + 1 : 0;
}

/* The placeholder at s[@k] within [@k, @e) into *@h: "%s" and "%r" (the
 * next argument), "%(name)s" (the dict's value for "name"), with flags,
 * width and precision ("%-8.3s"); "{}" (the next), "{N}" (argument N),
 * "{name}" (the argument passed as name=), with a conversion and a
 * format spec ("{d!s}", "{0:s}"). 1, or 0 when none. */
static int placeholder(const char *s, size_t k, size_t e, hole *h)
{
    size_t i, end;

    memset(h, 0, sizeof(*h));
    h->prec = SIZE_MAX;
    if (k + 1 < e && s[k] == '%' && s[k + 1] == '(') {
        for (i = k + 2; i < e && i - k <= JOIN_GAP_MAX && chio__gpj_name_char((unsigned char)s[i]);
             i++)
            ;
        if (i == k + 2 || i >= e || s[i] != ')' || (end = percent_spec(s, i + 1, e, h)) == 0)
            return 0;
        h->kind = HOLE_NAME;
        h->name = k + 2;
        h->nlen = i - k - 2;
        h->len = end - k;
        return 1;
    }
    if (k + 1 < e && s[k] == '%') {
        if ((end = percent_spec(s, k + 1, e, h)) == 0)
            return 0;
        h->len = end - k;
        return 1;
    }
    if (s[k] != '{' || k + 1 >= e)
        return 0;
    for (i = k + 1; i < e && i - k <= JOIN_GAP_MAX && s[i] >= '0' && s[i] <= '9'; i++)
        h->index = h->index * 10 + (size_t)(s[i] - '0');
    if (i > k + 1) {
        h->kind = HOLE_INDEX;
    } else {
        for (; i < e && i - k <= JOIN_GAP_MAX && chio__gpj_name_char((unsigned char)s[i]); i++)
            ;
        if (i > k + 1) {
            h->kind = HOLE_NAME;
            h->name = k + 1;
            h->nlen = i - k - 1;
        }
    }
    if ((end = chio__gpj_brace_tail(s, i, e)) == 0)
        return 0;
    h->len = end - k;
    return 1;
}

/* An argument handed to a format: a literal, and the name it is passed
 * as ("name='shadow'"), if any. */
typedef struct format_arg {
    literal lit;
    size_t name, nlen; /* nlen 0: positional */
} format_arg;

/* Does the gap s[@i, @e) hand what follows to a format: '%' (Python),
 * ".format(" or a comma (printf's arguments), with blanks, parentheses,
 * a dict's '{' or "dict(", and at its end an optional "name=" (a
 * keyword argument, into @a)? @first: the gap after the format itself;
 * later ones hold only a comma. */
static int format_gap(const char *s, size_t i, size_t e, int first, format_arg *a)
{
    size_t k, b;
    int sep = 0;

    a->nlen = 0;
    if (e - i > JOIN_GAP_MAX)
        return 0;
    for (k = i; k < e; k++) {
        if (s[k] == ',' || (first && s[k] == '%')) {
            sep = 1;
        } else if (first && e - k >= 7 && memcmp(s + k, ".format", 7) == 0) {
            sep = 1;
            k += 6;
        } else if (first && sep && s[k] == '{') {
            continue; /* "% {'f': 'shadow'}" */
        } else if (first && sep && e - k >= 5 && memcmp(s + k, "dict(", 5) == 0) {
            k += 4; /* "% dict(f='shadow')" */
        } else if (sep && chio__gpj_name_char((unsigned char)s[k]) && a->nlen == 0) {
            /* a keyword: name, blanks, '=', blanks, then the literal */
            for (b = k; b < e && chio__gpj_name_char((unsigned char)s[b]); b++)
                ;
            a->name = k;
            a->nlen = b - k;
            while (b < e && chio__gpj_blank(s[b]))
                b++;
            if (b >= e || s[b] != '=')
                return 0;
            for (b++; b < e && chio__gpj_blank(s[b]); b++)
                ;
            if (b != e)
                return 0;
            k = e - 1;
        } else if (strchr("() \t", s[k]) == NULL || s[k] == '\0') {
            return 0;
        }
    }
    return sep;
}

/* Is the gap s[@i, @e) a dict's ':' between a key and its value, with
 * blanks? */
static int key_gap(const char *s, size_t i, size_t e)
{
    int colon = 0;

    for (; i < e; i++) {
        if (s[i] == ':' && !colon)
            colon = 1;
        else if (!chio__gpj_blank(s[i]))
            return 0;
    }
    return colon;
}

/* The argument of @args (@na of them) that the placeholder @h takes, the
 * next positional one being *@next; NULL when none does. */
static const format_arg *fill(const char *s, const format_arg *args, size_t na, const hole *h,
                              size_t *next)
{
    size_t a, p = 0;

    for (a = 0; a < na; a++) {
        if (h->kind == HOLE_NAME) {
            if (args[a].nlen == h->nlen && memcmp(s + args[a].name, s + h->name, h->nlen) == 0)
                return &args[a];
        } else if (args[a].nlen == 0 && p++ == (h->kind == HOLE_INDEX ? h->index : *next)) {
            *next += h->kind == HOLE_NEXT;
            return &args[a];
        }
    }
    return NULL;
}

/* The format @fmt filled with @args (@na) into @out (NULL: only count);
 * returns the length. At most JOIN_LITERALS_MAX placeholders are filled
 * (an argument may fill several: "{0}/{0}"), so the result is at most
 * the format and that many arguments long; the rest stay as written. */
static size_t fill_format(const char *s, const literal *fmt, const format_arg *args, size_t na,
                          char *out)
{
    const format_arg *arg;
    size_t k, o = 0, next = 0, filled = 0;
    hole h;

    for (k = fmt->start; k < fmt->end;) {
        if (filled < JOIN_LITERALS_MAX && placeholder(s, k, fmt->end, &h) &&
            (arg = fill(s, args, na, &h, &next)) != NULL) {
            size_t at = o;
            filled++;
            chio__gpj_put_literal(s, &arg->lit, out, &o);
            /* "%.3s" keeps three bytes. Only cut when writing: the
             * count (@out NULL) is what the writing may need first. */
            if (out != NULL && o - at > h.prec)
                o = at + h.prec;
            k += h.len;
        } else {
            if (out != NULL) /* NULL: only count */
                out[o] = s[k];
            o++;
            k++;
        }
    }
    return o;
}

/* The value @j (@o bytes, room for a terminator) read as a path when it
 * is absolute or a home; 1, 0 or CHIO_ENOMEM. */
static int read_absolute(path_hit *ph, char *j, size_t o)
{
    j[o] = '\0';
    return o > 0 && (j[0] == '/' || j[0] == '~') ? chio__gpj_read_join(ph, j, o) : 0;
}

/* The format @fmt (a literal holding a placeholder) with the literals
 * that follow it in its placeholders: in order ("%s/%s" % ("/etc",
 * "shadow"), "/etc/{}".format("shadow")), by index ("{1}/{0}") or by
 * name ("/etc/{f}".format(f="shadow")); read as a path when it is
 * absolute. A placeholder no literal fills stays as written. 1, 0 or
 * CHIO_ENOMEM. */
static int read_filled(path_hit *ph, const char *s, size_t n, unclosed *u, const literal *fmt)
{
    format_arg args[JOIN_LITERALS_MAX];
    literal value;
    size_t na = 0, i = chio__gpj_suffix_end(s, n, fmt->after), q, p, len, o;
    char stack[PREFIX_STACK], *heap = NULL, *j = stack;
    int rc;

    while (na < JOIN_LITERALS_MAX && i < n) {
        for (q = i; q < n && !chio__gpj_quote(s[q]) && q - i <= JOIN_GAP_MAX; q++)
            ;
        /* % (r'/etc', r'shadow'): the gap ends before a string prefix */
        p = q < n ? chio__gpj_prefix_start(s, i, q) : q;
        if (q < n && chio__gpj_quote(s[q]) && na > 0 && args[na - 1].nlen == 0 &&
            key_gap(s, i, p) && chio__gpj_read_literal(s, n, q, u, &value)) {
            /* "'f': 'shadow'": the literal before is the name of this one */
            args[na - 1].name = args[na - 1].lit.start;
            args[na - 1].nlen = args[na - 1].lit.end - args[na - 1].lit.start;
            args[na - 1].lit = value;
            i = chio__gpj_suffix_end(s, n, value.after);
            continue;
        }
        if (q >= n || !chio__gpj_quote(s[q]) || !format_gap(s, i, p, na == 0, &args[na]) ||
            !chio__gpj_read_literal(s, n, q, u, &args[na].lit))
            break;
        i = chio__gpj_suffix_end(s, n, args[na].lit.after);
        na++;
    }
    if (na == 0)
        return 0;
    len = fill_format(s, fmt, args, na, NULL);
    if (len + 1 > sizeof(stack) && (j = heap = malloc(len + 1)) == NULL)
        return CHIO_ENOMEM;
    o = fill_format(s, fmt, args, na, j);
    rc = read_absolute(ph, j, o);
    free(heap);
    return rc;
}

/* Does the literal @lit hold a placeholder? */
static int holds_placeholder(const char *s, const literal *lit)
{
    hole h;
    size_t k;

    for (k = lit->start; k < lit->end; k++)
        if (placeholder(s, k, lit->end, &h))
            return 1;
    return 0;
}

/* Does the literal @lit open a Python f-string: f"..", rf"..", Fr".."? */
static int f_string(const char *s, const literal *lit)
{
    size_t q = lit->start - 1; /* its opening quote */

    if (s[q] == '`')
        return 1; /* a template literal: `/${`etc`}/x` nests its own quote too */
    if (q == 0 || (s[q] != '"' && s[q] != '\''))
        return 0;
    if (s[q - 1] == 'f' || s[q - 1] == 'F')
        return q < 2 || !chio__gpj_name_char((unsigned char)s[q - 2]) || s[q - 2] == 'r' ||
               s[q - 2] == 'R';
    return q >= 2 && (s[q - 1] == 'r' || s[q - 1] == 'R') && (s[q - 2] == 'f' || s[q - 2] == 'F') &&
           (q < 3 || !chio__gpj_name_char((unsigned char)s[q - 3]));
}

/* Does the literal @lit end with an interpolation's open brace (blanks
 * after it allowed; "${" in a @template literal)? The index where its
 * text ends in *@brace. "{{" is an escaped brace. */
static int ends_open(const char *s, const literal *lit, int template, size_t *brace)
{
    size_t k = lit->end;

    while (k > lit->start && chio__gpj_blank(s[k - 1]))
        k--;
    if (k == lit->start || s[k - 1] != '{')
        return 0;
    if (template) { /* "${" */
        if (k - 1 == lit->start || s[k - 2] != '$')
            return 0;
        *brace = k - 2;
        return 1;
    }
    if (k - 1 > lit->start && s[k - 2] == '{')
        return 0;
    *brace = k - 1;
    return 1;
}

/* The f-string @first read as Python 3.12 reads one that nests its own
 * quote: f"/etc/{"shadow"}" is the literal "/etc/{", the text shadow
 * and the literal "}", and evaluates to /etc/shadow. Each piece that
 * ends with an open brace takes the literal its closing quote opens,
 * then the piece after it, which must start with a closing brace; at
 * most JOIN_LITERALS_MAX pieces. Written into @out (NULL: only count);
 * returns the length, 0 when @first is no such f-string. */
static size_t same_quote_f_string(const char *s, size_t n, unclosed *u, const literal *first,
                                  char *out)
{
    literal lit = *first, inner, next;
    size_t o = 0, brace, k, pieces = 0;
    int template = s[first->start - 1] == '`';

    if (!f_string(s, first) || !ends_open(s, first, template, &brace))
        return 0;
    for (;;) {
        if (pieces++ >= JOIN_LITERALS_MAX || !ends_open(s, &lit, template, &brace)) {
            chio__gpj_put_text(s, lit.start, lit.end, 1, out, &o);
            return o;
        }
        chio__gpj_put_text(s, lit.start, brace, 1, out, &o);
        if (!chio__gpj_read_literal(s, n, lit.after - 1, u, &inner) ||
            !chio__gpj_read_literal(s, n, inner.after - 1, u, &next))
            return o;
        for (k = next.start; k < next.end && chio__gpj_blank(s[k]); k++)
            ;
        /* the closing brace, after a conversion or spec ("!s}", ":s}") */
        if ((k = chio__gpj_brace_tail(s, k, next.end)) == 0)
            return o;
        chio__gpj_put_text(s, inner.start, inner.end, 0, out, &o);
        lit.start = k;
        lit.end = next.end;
        lit.after = next.after;
    }
}

/* The f-string @first, when it nests its own quote, read as its value
 * when that is absolute. 1, 0 or CHIO_ENOMEM. */
int chio__gpj_read_same_quote_f_string(path_hit *ph, const char *s, size_t n, unclosed *u,
                                       const literal *first)
{
    char stack[PREFIX_STACK], *heap = NULL, *j = stack;
    size_t len = same_quote_f_string(s, n, u, first, NULL), o;
    int rc;

    if (len == 0)
        return 0;
    if (len + 1 > sizeof(stack) && (j = heap = malloc(len + 1)) == NULL)
        return CHIO_ENOMEM;
    o = same_quote_f_string(s, n, u, first, j);
    rc = read_absolute(ph, j, o);
    free(heap);
    return rc;
}

int chio__gpj_read_format(path_hit *ph, const char *s, size_t n, unclosed *u, const literal *lit)
{
    return holds_placeholder(s, lit) ? read_filled(ph, s, n, u, lit) : 0;
}
