/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/embedded_json.c - JSON held in a string argument, read the ways
 * the readers a tool may hand it to read it (chio__embedded_parse, used
 * by the constraints and the guards through chio__each_embedded).
 *
 * First our strict parser, on the text trimmed of JSON's white space and
 * of what trim() and strip() remove (a BOM, U+00A0 ...: JSON.parse(
 * s.trim()) reads "\uFEFF{...}"). Text it refuses may still be JSON to a
 * lenient reader (review 54):
 *   - a stream of values: Go's json.Decoder, Python's raw_decode and every
 *     JSON Lines reader take the first value of '{"host":"evil.com"} x'
 *     and the ones after it while they parse;
 *   - JSON5, JSONC and Json.NET's defaults: comments, trailing commas,
 *     single-quoted strings and bare member names.
 * Such text is rewritten value by value into strict JSON (each value
 * that parses on its own, up to the first that does not; several are
 * read as one array of them) and parsed again. Those readings only add
 * members for the constraints and guards to read: the callers read the
 * string as text as well. A raw control character inside a string is
 * taken (Python's json with strict=False, JSON5 and Json.NET take it) and
 * written escaped; an RS (U+001E, RFC 7464's JSON text sequences) is a
 * gap between values.
 *
 * What neither reading takes is text, with one exception (review 57):
 * text shaped like JSON, an object or array ('{' to '}', '[' to ']')
 * holding a quoted member name, that no reading takes whole is
 * ambiguous, not text.
 * Readers we do not follow byte for byte (ast.literal_eval's u'' and
 * adjacent strings, a JSON5 name written with an escape) may take it as
 * members, which we cannot read. No state; the rewrite is one pass, at
 * most six bytes out per byte in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/error.h"
#include "constraint_domain.h"
#include "kernel_internal.h"
#include "normalize.h"

/* Nesting the rewrite follows: one more than the parser's, so a value
 * too deep for it reaches it and is refused as such (ambiguous). */
#define LENIENT_DEPTH (CHIO_JSON_MAX_DEPTH + 1)

/* JSON's white space, as a parser skips it. */
static int json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The ASCII controls a trim reads as white space beside JSON's own: VT
 * and FF (JavaScript's trim(), JSON5's white space), FS, GS, RS, US
 * (Python's str.strip()) and every other control but NUL (Java's
 * String.trim() removes each character up to U+0020): "\v{...}" is an
 * object to JSON.parse(s.trim()), "\u0001{...}" to Jackson after
 * s.trim() (reviews 17 F1 and 18 F3; RS also starts each text of an RFC
 * 7464 sequence). */
static int trim_control(char c)
{
    return c >= 0x01 && c <= 0x1f;
}

/* The length of the white space at @s (@n bytes): JSON's, a control a
 * trim removes (trim_control), or a space trim() or strip() removes
 * (chio__space_at, a BOM among them). */
static size_t space_len(const char *s, size_t n)
{
    if (n > 0 && (json_space(s[0]) || trim_control(s[0])))
        return 1;
    return chio__space_at(s, n);
}

/* The length of the white space ending at s[@n - 1]. */
static size_t space_before(const char *s, size_t n)
{
    size_t k;

    if (n > 0 && (json_space(s[n - 1]) || trim_control(s[n - 1])))
        return 1;
    for (k = 2; k <= 3 && k <= n; k++)
        if (chio__space_at(s + n - k, k) == k)
            return k;
    return 0;
}

/* A parse failure readers disagree on whatever the text: a duplicate key
 * (readers take the first or the last), a NUL in a key, too deep, no
 * memory, a lone surrogate or a number out of range. */
static int hard_ambiguous(int rc)
{
    return rc == CHIO_EJSON_DUPKEY || rc == CHIO_EJSON_NULKEY || rc == CHIO_EJSON_DEPTH ||
           rc == CHIO_ENOMEM || rc == CHIO_EJSON_SURROGATE || rc == CHIO_EJSON_NUMBER;
}

/* Would a common JSON reader take @s (@n bytes), which ours refused with
 * @rc, as JSON all the same? JavaScript's JSON.parse and Python's json
 * take a lone surrogate escape ("\\ud800"; Go's encoding/json reads it as
 * U+FFFD), Python's and JavaScript's a number out of range (1e400 is inf,
 * Infinity), and Python's NaN, Infinity and -Infinity: such a string is
 * the arguments it holds to a tool, which we cannot read (test
 * rev44_constraints::json_a_lenient_reader_takes_is_not_text). */
static int lenient_json(const char *s, size_t n, int rc)
{
    return hard_ambiguous(rc) || (rc == CHIO_EJSON_SYNTAX && (memmem(s, n, "NaN", 3) != NULL ||
                                                              memmem(s, n, "Infinity", 8) != NULL));
}

/* ---- the rewrite ------------------------------------------------------------------------- */

typedef struct rewrite {
    const char *s;
    size_t n, i; /* the input, and where the rewrite is */
    char *out;
    size_t o;
    char stack[LENIENT_DEPTH]; /* '{' or '[' per open value, up to there */
    int depth;
    int want_key; /* in an object, after '{' or ',' */
    int odd;      /* an escape JSON5 and Python read differently */
} rewrite;

static int name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}

static int name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

/* Skips a comment at the rewrite's position ("//" to the line's end,
 * "/" "*" to its close); 1 when one was skipped, 0 when none starts
 * there, -1 when one does not close. */
static int comment(rewrite *w)
{
    const char *e;

    if (w->i + 1 >= w->n || w->s[w->i] != '/')
        return 0;
    if (w->s[w->i + 1] == '/') {
        while (w->i < w->n && w->s[w->i] != '\n')
            w->i++;
        return 1;
    }
    if (w->s[w->i + 1] != '*')
        return 0;
    e = memmem(w->s + w->i + 2, w->n - w->i - 2, "*/", 2);
    if (e == NULL)
        return -1;
    w->i = (size_t)(e - w->s) + 2;
    return 1;
}

static int digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The escape at s[@i] ('\\' there) inside a string, as JSON5 reads it,
 * written as JSON into @w: JSON's own escapes as they are; "\\x41" as
 * "\\u0041"; "\\0", "\\v" as \\u escapes; a backslash before a line
 * break (a continuation) as nothing; "\\'" as a quote. Those mean the
 * same to Python's ast.literal_eval. Any other escape JSON5 reads as the
 * character itself while Python does not ("\\57" is '/' there, "\\N{..}"
 * a named character, "\\a" a bell, "\\q" a backslash and a q): w->odd
 * is set, and the value is ambiguous (review 12). Returns the bytes
 * read. */
static size_t string_escape(rewrite *w, size_t i)
{
    const char *s = w->s;
    char c = i + 1 < w->n ? s[i + 1] : '\0';

    if (c != '\0' && strchr("\"\\/bfnrtu", c) != NULL) {
        w->out[w->o++] = '\\';
        w->out[w->o++] = c;
        return 2;
    }
    if (c == 'x' && i + 3 < w->n && chio__hex_value((unsigned char)s[i + 2]) >= 0 &&
        chio__hex_value((unsigned char)s[i + 3]) >= 0) {
        memcpy(w->out + w->o, "\\u00", 4);
        w->o += 4;
        w->out[w->o++] = s[i + 2];
        w->out[w->o++] = s[i + 3];
        return 4;
    }
    if ((c == '0' && !(i + 2 < w->n && digit(s[i + 2]))) || c == 'v') {
        memcpy(w->out + w->o, c == '0' ? "\\u0000" : "\\u000b", 6);
        w->o += 6;
        return 2;
    }
    if (c == '\r' && i + 2 < w->n && s[i + 2] == '\n')
        return 3;
    if (c == '\n' || c == '\r')
        return 2;
    if (c == '\0')
        return 1; /* a lone backslash at the end: the string does not close */
    if (c != '\'')
        w->odd = 1;
    w->out[w->o++] = c; /* "\\'": the quote */
    return 2;
}

/* A string in double or single quotes (JSON5), written double-quoted
 * with JSON's escapes (a '"' inside single quotes escaped, JSON5's own
 * escapes rewritten). 0 when it does not close. */
static int string_value(rewrite *w)
{
    char q = w->s[w->i++];

    w->out[w->o++] = '"';
    while (w->i < w->n && w->s[w->i] != q) {
        char c = w->s[w->i];
        if (c == '\\') {
            w->i += string_escape(w, w->i);
            continue;
        }
        if (c == '"')
            w->out[w->o++] = '\\';
        if ((unsigned char)c < 0x20) { /* taken raw by lenient readers */
            w->o += (size_t)snprintf(w->out + w->o, 7, "\\u%04x", (unsigned)c);
            w->i++;
            continue;
        }
        w->out[w->o++] = c;
        w->i++;
    }
    if (w->i >= w->n)
        return 0;
    w->out[w->o++] = '"';
    w->i++;
    return 1;
}

/* A number as JSON5 writes it, as a JSON number: a leading '+' dropped,
 * hexadecimal ("0x1BB") in decimal, ".5" as 0.5, "5." as 5, leading
 * zeros dropped, Infinity and
 * NaN as 0 (the members around it are what is read). A token that is
 * none of these is copied as it is, for the parse to refuse. */
static void number_value(rewrite *w)
{
    const char *s = w->s;
    size_t i = w->i, e = i, k;
    unsigned long long v = 0;
    int big = 0;

    while (e < w->n && (name_char(s[e]) || s[e] == '.' || s[e] == '+' || s[e] == '-'))
        e++;
    w->i = e;
    if (s[i] == '+' || s[i] == '-') {
        if (s[i] == '-')
            w->out[w->o++] = '-';
        i++;
    }
    if ((e - i == 8 && memcmp(s + i, "Infinity", 8) == 0) ||
        (e - i == 3 && memcmp(s + i, "NaN", 3) == 0)) {
        w->out[w->o++] = '0';
        return;
    }
    if (e - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
        for (k = i + 2; k < e && chio__hex_value((unsigned char)s[k]) >= 0; k++) {
            big |= v >> 60 != 0;
            v = v * 16 + (unsigned long long)(digit(s[k]) ? s[k] - '0' : (s[k] | 0x20) - 'a' + 10);
        }
        if (k == e) {
            w->o += (size_t)snprintf(w->out + w->o, 24, "%llu", big ? 0ull : v);
            return;
        }
    }
    /* decimal: digits, '.', digits, exponent; a '.' without digits on
     * one side gets a 0 before it or is dropped after */
    while (i + 1 < e && s[i] == '0' && digit(s[i + 1]))
        i++; /* "0123": leading zeros, which JSON refuses and others drop */
    if (i < e && s[i] == '.' && i + 1 < e && digit(s[i + 1]))
        w->out[w->o++] = '0';
    for (k = i; k < e; k++) {
        if (s[k] == '.' && (k + 1 == e || !digit(s[k + 1])) && k > i && digit(s[k - 1]))
            continue;
        w->out[w->o++] = s[k];
    }
}

/* Drops a comma written last (with white space after it): a trailing
 * comma before a close. */
static void drop_trailing_comma(rewrite *w)
{
    size_t k = w->o;

    while (k > 0 && json_space(w->out[k - 1]))
        k--;
    if (k > 0 && w->out[k - 1] == ',')
        w->out[k - 1] = ' ';
}

/* A bare word where a value goes: JSON5's NaN and Infinity (Python's
 * json too) written as 0, JavaScript's undefined and Python's None as
 * null, Python's True and False as true and false (a dict's repr, which
 * ast.literal_eval reads), so the members around them are read; any
 * other word as it is (true, false, null, or text the parse refuses). */
static void bare_value(rewrite *w)
{
    size_t k = w->i;

    while (k < w->n && name_char(w->s[k]))
        k++;
    if ((k - w->i == 3 && memcmp(w->s + w->i, "NaN", 3) == 0) ||
        (k - w->i == 8 && memcmp(w->s + w->i, "Infinity", 8) == 0)) {
        w->out[w->o++] = '0';
        w->i = k;
        return;
    }
    if ((k - w->i == 9 && memcmp(w->s + w->i, "undefined", 9) == 0) ||
        (k - w->i == 4 && memcmp(w->s + w->i, "None", 4) == 0)) {
        memcpy(w->out + w->o, "null", 4);
        w->o += 4;
        w->i = k;
        return;
    }
    if ((k - w->i == 4 && memcmp(w->s + w->i, "True", 4) == 0) ||
        (k - w->i == 5 && memcmp(w->s + w->i, "False", 5) == 0)) {
        w->out[w->o++] = w->s[w->i] == 'T' ? 't' : 'f'; /* Python's repr */
        memcpy(w->out + w->o, w->s + w->i + 1, k - w->i - 1);
        w->o += k - w->i - 1;
        w->i = k;
        return;
    }
    while (w->i < k)
        w->out[w->o++] = w->s[w->i++];
}

/* Does a number start at s[@i]? */
static int number_start(const char *s, size_t n, size_t i)
{
    return digit(s[i]) ||
           ((s[i] == '-' || s[i] == '+' || s[i] == '.') && i + 1 < n &&
            (digit(s[i + 1]) || s[i + 1] == '.' || s[i + 1] == 'I' || s[i + 1] == 'N'));
}

/* A scalar value at the top of a stream ("x" then {...}, 0 then {...}):
 * a string, a number or a word. */
static void scalar_value(rewrite *w)
{
    char c = w->s[w->i];

    if (c == '"' || c == '\'')
        (void)string_value(w);
    else if (number_start(w->s, w->n, w->i))
        number_value(w);
    else
        bare_value(w);
}

/* The innermost open value's bracket ('{' or '['), as far as kept. */
static char top(const rewrite *w)
{
    return w->depth > LENIENT_DEPTH ? '[' : w->stack[w->depth - 1];
}

/* Rewrites one value starting at the rewrite's position ('{' or '[');
 * 1 when it closed, 0 when it did not, -1 when it closed but went
 * deeper than LENIENT_DEPTH (more than the parser reads: ambiguous, not
 * text; "[[[" that never closes is text). Past that depth the brackets
 * are only counted. */
static int one_value(rewrite *w)
{
    int base = w->depth, rc, deep = 0;
    size_t k;

    do {
        char c;
        if ((rc = comment(w)) != 0) {
            if (rc < 0)
                return 0;
            continue;
        }
        c = w->s[w->i];
        if (c == '{' || c == '[') {
            if (w->depth >= LENIENT_DEPTH)
                deep = 1;
            else
                w->stack[w->depth] = c;
            w->depth++;
            w->want_key = c == '{';
            w->out[w->o++] = w->s[w->i++];
        } else if (c == '}' || c == ']') {
            drop_trailing_comma(w);
            if (w->depth == base)
                return 0;
            w->depth--;
            w->want_key = 0;
            w->out[w->o++] = w->s[w->i++];
        } else if (c == '"' || c == '\'') {
            if (!string_value(w))
                return 0;
            if (w->odd)
                return -1;
            w->want_key = 0;
        } else if (w->want_key && top(w) == '{' && (c == '\\' || (unsigned char)c >= 0x80)) {
            return -1; /* a JSON5 name with an escape or a non-ASCII letter */
        } else if (w->want_key && name_start(c) && top(w) == '{') {
            w->out[w->o++] = '"'; /* a bare member name */
            while (w->i < w->n && name_char(w->s[w->i]))
                w->out[w->o++] = w->s[w->i++];
            if (w->i < w->n && (w->s[w->i] == '\\' || (unsigned char)w->s[w->i] >= 0x80))
                return -1;
            w->out[w->o++] = '"';
            w->want_key = 0;
        } else if (name_start(c)) {
            bare_value(w); /* true, false, null; NaN, Infinity, undefined */
        } else if (number_start(w->s, w->n, w->i)) {
            number_value(w);
        } else if ((k = chio__space_at(w->s + w->i, w->n - w->i)) > 1) {
            w->out[w->o++] = ' '; /* JSON5 takes any Unicode space */
            w->i += k;
        } else {
            w->want_key = c == ',' && top(w) == '{' ? 1 : w->want_key && json_space(c);
            w->out[w->o++] = w->s[w->i++];
        }
    } while (w->i < w->n && w->depth > base);
    return w->depth != base ? 0 : deep ? -1 : 1;
}

/* Skips white space and comments; 0 when a comment does not close. */
static int skip_gap(rewrite *w)
{
    size_t k;
    int rc;

    for (;;) {
        if (w->i < w->n && (k = space_len(w->s + w->i, w->n - w->i)) > 0) {
            w->i += k;
            continue;
        }
        if ((rc = comment(w)) < 0)
            return 0;
        if (rc == 0)
            return 1;
    }
}

/* Does a value of a stream start at s[@i]: an object, an array, a
 * string, a number, or true, false or null? */
static int value_start(const char *s, size_t n, size_t i)
{
    size_t k;

    if (s[i] == '{' || s[i] == '[' || s[i] == '"' || s[i] == '\'' || number_start(s, n, i))
        return 1;
    for (k = i; k < n && name_char(s[k]); k++)
        ;
    return (k - i == 4 && (memcmp(s + i, "true", 4) == 0 || memcmp(s + i, "null", 4) == 0)) ||
           (k - i == 5 && memcmp(s + i, "false", 5) == 0);
}

/* The values of @s (@n bytes) as a lenient reader takes them, in
 * @out (at least 6 @n + 8 bytes): each value that rewrites and parses
 * on its own, up to the first that does not, several written as one
 * array; *@whole set when that took all of @s. Returns the length, 0
 * when no value was read; CHIO__EMBEDDED_AMBIGUOUS when the first value
 * that parses cannot be read one way. */
static long lenient_values(const char *s, size_t n, char *out, int *whole)
{
    rewrite w;
    size_t start, values = 0, containers = 0, o = 1;
    chio_json_doc *doc;
    int rc, failed = 0;

    memset(&w, 0, sizeof(w));
    w.s = s;
    w.n = n;
    w.out = out + 1; /* room for the '[' of several */
    while (skip_gap(&w) && w.i < n && value_start(s, n, w.i)) {
        start = w.o;
        w.depth = 0;
        if (s[w.i] == '{' || s[w.i] == '[') {
            if ((rc = one_value(&w)) < 0)
                return CHIO__EMBEDDED_AMBIGUOUS;
            if (rc == 0) {
                failed = 1;
                break;
            }
            containers++;
        } else {
            scalar_value(&w);
            if (w.odd)
                return CHIO__EMBEDDED_AMBIGUOUS;
        }
        rc = chio_json_parse(w.out + start, w.o - start, &doc, NULL);
        chio_json_doc_free(doc);
        if (rc != 0 && hard_ambiguous(rc))
            return CHIO__EMBEDDED_AMBIGUOUS;
        if (rc != 0) {
            failed = 1;
            break;
        }
        values++;
        o = 1 + w.o;
        w.out[w.o++] = ','; /* overwritten by the next value's end */
    }
    *whole = !failed && skip_gap(&w) && w.i >= n;
    if (containers == 0)
        return 0; /* scalars alone hold nothing to read */
    if (values == 1) {
        memmove(out, out + 1, o - 1);
        return (long)(o - 1);
    }
    out[0] = '[';
    out[o] = ']';
    return (long)(o + 1);
}

/* 1 with *@doc, or CHIO__EMBEDDED_AMBIGUOUS (*@doc freed) when JSON
 * already holds CHIO__EMBEDDED_MAX layers above this one. */
static int deep_enough(int depth, chio_json_doc **doc)
{
    if (depth < CHIO__EMBEDDED_MAX)
        return 1;
    chio_json_doc_free(*doc);
    *doc = NULL;
    return CHIO__EMBEDDED_AMBIGUOUS;
}

/* Where the quote of a Python string starts at s[@i]: after its prefix
 * letters (u'', r'', b'', rb'' ...), or @i itself; n when none starts. */
static size_t quote_at(const char *s, size_t n, size_t i)
{
    size_t k;

    for (k = i; k < n && k < i + 2 && strchr("uUrRbBfF", s[k]) != NULL && s[k] != '\0'; k++)
        ;
    return k < n && (s[k] == '"' || s[k] == '\'') ? k : n;
}

/* Text shaped like JSON: an object ('{' first, '}' last) or an array
 * ('[' first, ']' last) with a quoted member name inside: '{' or ',',
 * then one or more strings in double or single quotes (with Python's
 * prefixes and parentheses: {u'ho' 'st': ...}, {('k'): ...}), then ':'.
 * Not a curl glob ("{https://a,https://b}"), a note ("[Note: x]"), code
 * ("{ return ok ? \"y\" : \"n\"; }") or markup ("[quote=\"b\":x]"). */
/* Past white space, @paren ('(' or ')') and Python's '#' comments from
 * s[@j]. */
static size_t blank_end(const char *s, size_t n, size_t j, char paren)
{
    while (j < n && (json_space(s[j]) || s[j] == paren || s[j] == '#'))
        if (s[j++] == '#')
            while (j < n && s[j] != '\n')
                j++;
    return j;
}

static int json_shaped(const char *s, size_t n)
{
    size_t i, j, k, close = 0;
    int strings;

    /* a Python expression in parentheses: "({'k': 'v'})" */
    while (n >= 2 && s[0] == '(' && s[n - 1] == ')') {
        i = blank_end(s, n - 1, 1, '\0');
        for (k = n - 1; k > i && json_space(s[k - 1]); k--)
            ;
        s += i;
        n = k - i;
    }
    if (n < 2 || !((s[0] == '{' && s[n - 1] == '}') || (s[0] == '[' && s[n - 1] == ']')))
        return 0;
    for (i = 0; i < n; i++) {
        if (s[i] != '{' && s[i] != ',')
            continue;
        for (j = i + 1, strings = 0; j < n; strings++) {
            j = blank_end(s, n, j, '(');
            if ((k = quote_at(s, n, j)) == n)
                break;
            for (j = k + 1; j < n && s[j] != s[k]; j++)
                if (s[j] == '\\')
                    j++;
            close = j++;
        }
        j = blank_end(s, n, j, ')');
        if (strings > 0 && j < n && s[j] == ':')
            return 1;
        if (strings > 0)
            i = close; /* on after the strings: one pass */
    }
    return 0;
}

/* chio__embedded_parse() of text (@s, @n bytes, trimmed) that our parser
 * refuses: the values a lenient reader takes from it. Text shaped like
 * JSON that they do not take whole is ambiguous. */
static int lenient_parse(const char *s, size_t n, int depth, chio_json_doc **doc)
{
    char *buf = n <= (SIZE_MAX - 8) / 6 ? malloc(6 * n + 8) : NULL;
    long len;
    int rc, whole = 0;

    if (buf == NULL)
        return CHIO__EMBEDDED_AMBIGUOUS; /* no memory: not read one way */
    len = lenient_values(s, n, buf, &whole);
    if (len == CHIO__EMBEDDED_AMBIGUOUS || (!whole && json_shaped(s, n))) {
        free(buf);
        return CHIO__EMBEDDED_AMBIGUOUS;
    }
    if (len <= 0) {
        free(buf);
        /* no value a lenient reader takes: text ("[a](https://x)") */
        return 0;
    }
    rc = chio_json_parse(buf, (size_t)len, doc, NULL);
    free(buf);
    if (rc != 0) /* each value parsed: only one more layer can fail */
        return hard_ambiguous(rc) ? CHIO__EMBEDDED_AMBIGUOUS : 0;
    return deep_enough(depth, doc);
}

/* JSON encoded twice (json.dumps(json.dumps(v)), JSON.stringify of a
 * JSON text): @s is one JSON string literal, and its text is read as
 * JSON one layer deeper, as a tool that decodes twice reads it (review 19
 * guards F3: the text "{\"host\": \"evil.com\"}" in quotes was text). 1 with *@doc,
 * CHIO__EMBEDDED_AMBIGUOUS, or 0 when @s is no lone string literal or
 * its text is no JSON. */
static int string_layer(const char *s, size_t n, int depth, chio_json_doc **doc)
{
    chio_json_doc *lit = NULL;
    const char *t;
    size_t len;
    int rc = 0;

    if (chio_json_parse(s, n, &lit, NULL) != 0)
        return 0;
    if ((t = chio_json_string(chio_json_root(lit), &len)) != NULL)
        rc = chio__embedded_parse(t, len, depth + 1, doc);
    chio_json_doc_free(lit);
    return rc;
}

/* JSON encoded twice whose outer layer only a lenient reader takes: a
 * string in single quotes (ast.literal_eval), one holding a raw control
 * (json.loads(strict=False)), or the first value of a stream
 * ('"{..}"\n"x"'), or after Python's prefix letters (u'..', b'..'; review
 * 21 M2): that string, rewritten as strict JSON, read as string_layer
 * reads one (review 20 fixes F5). Same answers. */
static int lenient_string_layer(const char *s, size_t n, int depth, chio_json_doc **doc)
{
    char *buf = n <= (SIZE_MAX - 8) / 6 ? malloc(6 * n + 8) : NULL;
    size_t q = quote_at(s, n, 0);
    rewrite w;
    int rc = 0;

    if (buf == NULL)
        return CHIO__EMBEDDED_AMBIGUOUS; /* no memory: not read one way */
    memset(&w, 0, sizeof(w));
    w.s = s + q;
    w.n = n - q;
    w.out = buf;
    if (string_value(&w) == 1)
        rc = w.odd ? CHIO__EMBEDDED_AMBIGUOUS : string_layer(buf, w.o, depth, doc);
    free(buf);
    return rc;
}

int chio__embedded_parse(const char *s, size_t n, int depth, chio_json_doc **doc)
{
    size_t a = 0, b = n, k;
    int rc, closed;

    *doc = NULL;
    while (a < b && (k = space_len(s + a, b - a)) > 0)
        a += k;
    while (b > a && (k = space_before(s + a, b - a)) > 0)
        b -= k;
    if (b - a >= 2 && s[a] == '/' && (s[a + 1] == '/' || s[a + 1] == '*'))
        return lenient_parse(s + a, b - a, depth, doc); /* JSONC's leading comment */
    if (b - a >= 2 && s[a] == '"' && s[b - 1] == '"' &&
        (rc = string_layer(s + a, b - a, depth, doc)) != 0)
        return rc;
    if (b - a >= 2 && quote_at(s + a, b - a, 0) < b - a &&
        (rc = lenient_string_layer(s + a, b - a, depth, doc)) != 0)
        return rc;
    /* A stream that starts with a scalar ('"x"' then '{...}'): read only
     * when an object or array may follow. */
    if (b - a >= 2 && s[a] != '{' && s[a] != '[' && value_start(s + a, b - a, 0) &&
        (memchr(s + a, '{', b - a) != NULL || memchr(s + a, '[', b - a) != NULL))
        return lenient_parse(s + a, b - a, depth, doc);
    if (b - a >= 2 && s[a] == '(' && json_shaped(s + a, b - a))
        return CHIO__EMBEDDED_AMBIGUOUS; /* a dict in parentheses: Python's */
    if (b - a < 2 || (s[a] != '{' && s[a] != '['))
        return 0;
    closed = s[b - 1] == '}' || s[b - 1] == ']';
    rc = chio_json_parse(s + a, b - a, doc, NULL);
    /* Text that does not end like JSON is read only value by value below
     * (a lenient reader's first values): "[[[" is no JSON to anyone. */
    if (rc != 0 && closed && lenient_json(s + a, b - a, rc))
        return CHIO__EMBEDDED_AMBIGUOUS;
    if (rc != 0) /* not JSON to us: perhaps to a lenient reader */
        return lenient_parse(s + a, b - a, depth, doc);
    return deep_enough(depth, doc);
}
