/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/guard_path_join.c - the forbidden_path guard's reading of string
 * literals that code joins into one path: open("/etc/" + "shadow"),
 * os.path.join("/etc", "shadow"), Path("/etc") / "shadow",
 * path.join("/etc", "shadow"), '/etc/' || 'shadow' in SQL, "/etc/" .
 * "shadow" in PHP. No literal names a file under "/etc/shadow", yet the
 * program opens one. A chain of quoted literals ('..', "..", `..`) whose
 * gaps are joiners is read joined: a gap holding ',', '/' or a name with
 * "join", "combine" or "resolve" in it (and maybe a list's brackets or a
 * '*' splat) puts a '/' between its two literals (a path join), any
 * other short gap of operators ('+', '|', '.', '&', blanks, parentheses,
 * "concat") puts nothing (a string concatenation). A chain starts at
 * each literal that opens like an absolute path or a home; its whole
 * join is read as a path, and so is
 * each join before a literal that could take part of it back ("/etc/" +
 * "shadow", ".."). Only hits count, so text that merely quotes two
 * strings near each other is never denied unless their join is under a
 * prefix. A chain reads at most JOIN_LITERALS_MAX literals that are not
 * empty; one that goes on past them while its join is still above a
 * prefix is a hit. A literal holding a placeholder ("%s", "%(name)s",
 * "{}", "{1}", "{name}") that literals fill ("%s/%s" % ("/etc",
 * "shadow"), "/etc/%(f)s" % {"f": "shadow"}, "/etc/{f}".format(f=
 * "shadow"), printf's arguments) is read filled, and
 * an interpolation of a literal (f"/etc/{'shadow'}", `${"/etc"}/x`) as
 * that literal. The value is read as written and after a shell's
 * quote removal (what "python3 -c" or "node -e" is given). A separator
 * joining a list's items and a relative literal resolved against a
 * file: base are read by guard_path_join_list.c. No state, no
 * locks; a join longer than a stack buffer is malloc'ed; each literal
 * starts at most one chain, so the work is at most JOIN_LITERALS_MAX
 * joins per literal, and a quote that never closes is scanned for its
 * close once per kind of quote (struct unclosed), not once per quote.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "guard_path.h"
#include "guard_path_join.h"
#include "internal.h"

/* Levels of strings held in strings whose code is read (each level
 * reads its text twice at most, two passes). */
#define JOIN_NEST_MAX 2

static void unclosed_init(unclosed *u)
{
    u->at[0] = u->at[1] = u->at[2] = SIZE_MAX;
}

static size_t *unclosed_of(unclosed *u, char q)
{
    return &u->at[q == '"' ? 0 : q == '\'' ? 1 : 2];
}

int chio__gpj_read_literal(const char *s, size_t n, size_t i, unclosed *u, literal *lit)
{
    char q = s[i];
    size_t j, *from = unclosed_of(u, q);

    if (i >= *from)
        return 0;
    for (j = i + 1; j < n && s[j] != q; j++)
        if (s[j] == '\\' && j + 1 < n)
            j++;
    if (j >= n) {
        *from = i;
        return 0;
    }
    lit->start = i + 1;
    lit->end = j;
    lit->after = j + 1;
    return 1;
}

static int quote(char c)
{
    return c == '"' || c == '\'' || c == '`';
}

static int name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* The name s[@i, @e) in a gap: 1 when it holds a word of a path join
 * ("joinpath", "Join", "Combine", "resolve"), 2 of a concatenation
 * ("concat"), else 0. */
static int joining_name(const char *s, size_t i, size_t e)
{
    static const char *const joiners[] = {"join", "combine", "resolve", "concat"};
    size_t w, k, l;

    for (w = 0; w < sizeof(joiners) / sizeof(joiners[0]); w++) {
        l = strlen(joiners[w]);
        for (k = i; k + l <= e; k++)
            if (strncasecmp(s + k, joiners[w], l) == 0)
                return w == 3 ? 2 : 1;
    }
    return 0;
}

/* A comment at s[@k] in a gap that ends at @e: '#' and "//" to the end
 * of the line, slash-star to star-slash. The index after it, @k + 1 when
 * none starts there, 0 when it does not end before @e. */
static size_t comment_end(const char *s, size_t k, size_t e)
{
    size_t b;

    if (s[k] == '#' || (s[k] == '/' && k + 1 < e && s[k + 1] == '/')) {
        for (b = k; b < e && s[b] != '\n'; b++)
            ;
        return b < e ? b : 0;
    }
    if (s[k] == '/' && k + 1 < e && s[k + 1] == '*') {
        for (b = k + 2; b + 1 < e && !(s[b] == '*' && s[b + 1] == '/'); b++)
            ;
        return b + 1 < e ? b + 2 : 0;
    }
    return k + 1;
}

int chio__gpj_gap_join(const char *s, size_t i, size_t e)
{
    size_t k, b;
    int slash = 0, name, list = 0, other = 0, sep = 0, lines = 0, op = 0;

    if (e - i > 2 * JOIN_GAP_MAX)
        return 0;
    for (k = i; k < e; k = b) {
        unsigned char c = (unsigned char)s[k];
        b = k + 1;
        if (c == '\n' || c == '\r') {
            lines = 1;
            continue;
        }
        if ((b = comment_end(s, k, e)) == 0)
            return 0; /* a comment that runs into the next literal */
        if (b > k + 1) {
            lines = 1;
            continue;
        }
        op |= c != ' ' && c != '\t';
        if (c == ',' || c == '/') {
            slash = 1;
        } else if (c == '[' || c == ']' || c == '*') {
            list = 1; /* '/'.join(['', 'etc']), os.path.join('/etc', *['x']) */
        } else if (name_char(c)) {
            /* a name: a joining method or function, or a separator's
             * (+ os.sep +, . DIRECTORY_SEPARATOR .) that stands for '/' */
            for (b = k; b < e && name_char((unsigned char)s[b]); b++)
                ;
            if ((name = joining_name(s, k, b)) == 0 && chio__gpj_sep_name(s, k, b))
                name = 3;
            other |= name == 0;
            slash |= name == 1 || name == 3;
            sep |= name == 3;
        } else if (c == ':' || c == '-' || c == '>') {
            other = 1; /* File::SEPARATOR, File::Spec->rootdir */
        } else if (c == '\0' || strchr("+|.&() \t", c) == NULL) {
            return 0;
        }
    }
    if ((other && !sep) || (!sep && e - i > JOIN_GAP_MAX) || (lines && !op))
        return 0; /* two literals a line apart and nothing between: two words */
    /* a list's brackets or a splat only between a path join's arguments:
     * d['/etc/']['shadow'] indexes, it joins nothing */
    return slash ? 1 : list ? 0 : 2;
}

static int blank(char c)
{
    return c == ' ' || c == '\t';
}

static size_t brace_tail(const char *s, size_t i, size_t e);

/* An interpolation of one literal at s[@k] within [@k, @e): "{'shadow'}"
 * in a Python f-string, "${'shadow'}" in a JavaScript template literal,
 * blanks allowed inside the braces. The inner literal's text in *@in,
 * the index after the closing brace in *@next; 0 when there is none. */
static int interpolation(const char *s, size_t k, size_t e, literal *in, size_t *next)
{
    size_t i = k + (s[k] == '$');
    char q;

    if (i >= e || s[i] != '{' || (i == k + 1 && s[k] != '$'))
        return 0;
    for (i++; i < e && blank(s[i]); i++)
        ;
    if (i >= e || (s[i] != '"' && s[i] != '\'' && s[i] != '`'))
        return 0;
    q = s[i];
    in->start = ++i;
    for (; i < e && s[i] != q; i++)
        if (s[i] == '\\' && i + 1 < e)
            i++;
    if (i >= e)
        return 0;
    in->end = i;
    for (i++; i < e && blank(s[i]); i++)
        ;
    /* "{'shadow'!s}", "{'shadow':>8}": a conversion and a spec */
    if ((i = brace_tail(s, i, e)) == 0)
        return 0;
    *next = i;
    return 1;
}

/* Append s[@k, @e) to @out at *@o (@out NULL: only add its length), its
 * backslashes taking the next byte as itself; with @interp, an
 * interpolation of a literal ("{'shadow'}", "${'shadow'}") as that
 * literal's text. */
static void put_text(const char *s, size_t k, size_t e, int interp, char *out, size_t *o)
{
    literal in;
    size_t next;

    for (; k < e; k++) {
        if (interp && (s[k] == '{' || s[k] == '$') && interpolation(s, k, e, &in, &next)) {
            put_text(s, in.start, in.end, 0, out, o);
            k = next - 1;
            continue;
        }
        if (s[k] == '\\' && k + 1 < e)
            k++;
        if (out != NULL) /* NULL: only count */
            out[*o] = s[k];
        (*o)++;
    }
}

/* What an f-string or a template literal evaluates to, and for any other
 * string only a reading more (a hit in either denies). */
void chio__gpj_put_literal(const char *s, const literal *lit, char *out, size_t *o)
{
    put_text(s, lit->start, lit->end, 1, out, o);
}

/* Does the literal @lit start like an absolute path or a home, read as
 * put_literal reads it? */
static int starts_path(const char *s, const literal *lit)
{
    size_t k = lit->start, next;
    literal in;

    if (k < lit->end && (s[k] == '{' || s[k] == '$') && interpolation(s, k, lit->end, &in, &next) &&
        in.end > in.start)
        return starts_path(s, &in);
    if (k < lit->end && s[k] == '\\' && k + 1 < lit->end)
        k++;
    return k < lit->end && (s[k] == '/' || s[k] == '\\' || s[k] == '~');
}

/* Is @j (@len bytes) a directory above a prefix, in any reading? */
static int join_above(void *ctx, const char *p, size_t len)
{
    return chio__gp_ancestor(ctx, p, len);
}

/* Could the literal @lit take back what the join has so far ("..",
 * "%2e%2e", a backslash)? */
static int may_pop(const char *s, const literal *lit)
{
    size_t k;

    for (k = lit->start; k < lit->end; k++)
        if (s[k] == '.' || s[k] == '%' || s[k] == '\\')
            return 1;
    return 0;
}

int chio__gpj_read_join(path_hit *ph, const char *j, size_t o)
{
    int rc = chio__gp_check_path_hits(ph, j, o);

    if (ph->nomem)
        return CHIO_ENOMEM;
    return rc == 1 || rc == CHIO_ENOMEM ? rc : 0;
}

/* The chain that starts with the literal @first: the literals after it
 * while the gaps join, up to JOIN_LITERALS_MAX that are not empty; past
 * them, a join still above a prefix is a hit (the rest was not read).
 * The whole join is read as a path, and so is each join before a literal
 * that could take some of it back ("/etc/" + "shadow", ".."): the
 * program may open either. 1, 0 or CHIO_ENOMEM. */
static int read_chain(path_hit *ph, const char *s, size_t n, unclosed *u, const literal *first)
{
    char stack[PREFIX_STACK], *heap = NULL, *j = stack, *t;
    size_t o = 0, cap = sizeof(stack), i = first->after, used = 1;
    literal lit = *first;
    int rc = 0, g, unread = 0, sep;

    /* '/'.join(['etc', 'x']) is etc/x: guard_path_join_list.c reads it */
    if (chio__gpj_joins_list(s, n, &i))
        return 0;
    chio__gpj_put_literal(s, &lit, NULL, &o); /* its length */
    if (o + 2 > cap && (j = heap = malloc(cap = 2 * o + 64)) == NULL)
        return CHIO_ENOMEM;
    o = 0;
    /* os.sep + 'etc': the separator's name is the join's first '/' */
    if ((sep = chio__gpj_sep_before(s, lit.start)) != 0)
        j[o++] = '/';
    chio__gpj_put_literal(s, &lit, j, &o);
    /* an interpolation ("/etc/{'shadow'}") or an escape read: the literal
     * says more than its text, which is read as a word */
    unread = sep || o != lit.end - lit.start;
    j[o] = '\0';
    for (i = lit.after; rc == 0 && i < n;) {
        size_t q = i, need = 0;
        while (q < n && !quote(s[q]) && q - i <= 2 * JOIN_GAP_MAX)
            q++;
        if (q >= n || !quote(s[q]) || (g = chio__gpj_gap_join(s, i, q)) == 0 ||
            !chio__gpj_read_literal(s, n, q, u, &lit))
            break;
        i = lit.after;
        if (lit.end == lit.start)
            continue; /* "" joins nothing: os.path.join drops it */
        if (unread && may_pop(s, &lit) && (rc = chio__gpj_read_join(ph, j, o)) != 0)
            break;
        if (++used > JOIN_LITERALS_MAX) {
            g = chio__path_readings(j, o, join_above, ph);
            rc = g == 1 || g == CHIO_ENOMEM ? g : 0;
            break;
        }
        chio__gpj_put_literal(s, &lit, NULL, &need);
        if (o + need + 2 > cap) {
            if ((t = malloc(cap = 2 * (o + need) + 64)) == NULL) {
                rc = CHIO_ENOMEM;
                break;
            }
            memcpy(t, j, o);
            free(heap);
            j = heap = t;
        }
        if (g == 1)
            j[o++] = '/';
        chio__gpj_put_literal(s, &lit, j, &o);
        j[o] = '\0';
        unread = 1;
    }
    if (rc == 0 && unread)
        rc = chio__gpj_read_join(ph, j, o);
    free(heap);
    return rc;
}

/* @s with a POSIX shell's quote removal, nesting kept: inside '..' every
 * byte as written (a double quote too), inside ".." a backslash escapes
 * only '$', '`', '"' and '\\', outside any quote a backslash escapes the
 * next byte. What a program run as `node -e '..("/etc", "shadow")'` or
 * `python3 -c "..(\"/etc/\" + \"shadow\")"` is given. Writes at most @n
 * bytes to @out; returns the length. */
static size_t quote_removal(const char *s, size_t n, char *out)
{
    size_t i = 0, o = 0;
    char in = 0; /* the quote we are inside, or 0 */

    while (i < n) {
        char c = s[i++];
        if (in == '\'') {
            if (c == '\'')
                in = 0;
            else
                out[o++] = c;
        } else if (in == '"') {
            if (c == '"')
                in = 0;
            else if (c == '\\' && i < n && s[i] != '\0' && strchr("$`\"\\", s[i]) != NULL)
                out[o++] = s[i++];
            else
                out[o++] = c;
        } else if (c == '\'' || c == '"') {
            in = c;
        } else if (c == '\\' && i < n) {
            out[o++] = s[i++];
        } else {
            out[o++] = c;
        }
    }
    return o;
}

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
static size_t brace_tail(const char *s, size_t i, size_t e)
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
        for (i = k + 2; i < e && i - k <= JOIN_GAP_MAX && name_char((unsigned char)s[i]); i++)
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
        for (; i < e && i - k <= JOIN_GAP_MAX && name_char((unsigned char)s[i]); i++)
            ;
        if (i > k + 1) {
            h->kind = HOLE_NAME;
            h->name = k + 1;
            h->nlen = i - k - 1;
        }
    }
    if ((end = brace_tail(s, i, e)) == 0)
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
        } else if (sep && name_char((unsigned char)s[k]) && a->nlen == 0) {
            /* a keyword: name, blanks, '=', blanks, then the literal */
            for (b = k; b < e && name_char((unsigned char)s[b]); b++)
                ;
            a->name = k;
            a->nlen = b - k;
            while (b < e && blank(s[b]))
                b++;
            if (b >= e || s[b] != '=')
                return 0;
            for (b++; b < e && blank(s[b]); b++)
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
        else if (!blank(s[i]))
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

/* The format @fmt (a literal holding a placeholder) with the literals
 * that follow it in its placeholders: in order ("%s/%s" % ("/etc",
 * "shadow"), "/etc/{}".format("shadow")), by index ("{1}/{0}") or by
 * name ("/etc/{f}".format(f="shadow")); read as a path when it is
 * absolute. A placeholder no literal fills stays as written. 1, 0 or
 * CHIO_ENOMEM. */
static int read_format(path_hit *ph, const char *s, size_t n, unclosed *u, const literal *fmt)
{
    format_arg args[JOIN_LITERALS_MAX];
    literal value;
    size_t na = 0, i = fmt->after, q, len, o;
    char stack[PREFIX_STACK], *heap = NULL, *j = stack;
    int rc;

    while (na < JOIN_LITERALS_MAX && i < n) {
        for (q = i; q < n && !quote(s[q]) && q - i <= JOIN_GAP_MAX; q++)
            ;
        if (q < n && quote(s[q]) && na > 0 && args[na - 1].nlen == 0 && key_gap(s, i, q) &&
            chio__gpj_read_literal(s, n, q, u, &value)) {
            /* "'f': 'shadow'": the literal before is the name of this one */
            args[na - 1].name = args[na - 1].lit.start;
            args[na - 1].nlen = args[na - 1].lit.end - args[na - 1].lit.start;
            args[na - 1].lit = value;
            i = value.after;
            continue;
        }
        if (q >= n || !quote(s[q]) || !format_gap(s, i, q, na == 0, &args[na]) ||
            !chio__gpj_read_literal(s, n, q, u, &args[na].lit))
            break;
        i = args[na].lit.after;
        na++;
    }
    if (na == 0)
        return 0;
    len = fill_format(s, fmt, args, na, NULL);
    if (len + 1 > sizeof(stack) && (j = heap = malloc(len + 1)) == NULL)
        return CHIO_ENOMEM;
    o = fill_format(s, fmt, args, na, j);
    j[o] = '\0';
    rc = o > 0 && (j[0] == '/' || j[0] == '~') ? chio__gpj_read_join(ph, j, o) : 0;
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
        return q < 2 || !name_char((unsigned char)s[q - 2]) || s[q - 2] == 'r' || s[q - 2] == 'R';
    return q >= 2 && (s[q - 1] == 'r' || s[q - 1] == 'R') && (s[q - 2] == 'f' || s[q - 2] == 'F') &&
           (q < 3 || !name_char((unsigned char)s[q - 3]));
}

/* Does the literal @lit end with an interpolation's open brace (blanks
 * after it allowed; "${" in a @template literal)? The index where its
 * text ends in *@brace. "{{" is an escaped brace. */
static int ends_open(const char *s, const literal *lit, int template, size_t *brace)
{
    size_t k = lit->end;

    while (k > lit->start && blank(s[k - 1]))
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
            put_text(s, lit.start, lit.end, 1, out, &o);
            return o;
        }
        put_text(s, lit.start, brace, 1, out, &o);
        if (!chio__gpj_read_literal(s, n, lit.after - 1, u, &inner) ||
            !chio__gpj_read_literal(s, n, inner.after - 1, u, &next))
            return o;
        for (k = next.start; k < next.end && blank(s[k]); k++)
            ;
        /* the closing brace, after a conversion or spec ("!s}", ":s}") */
        if ((k = brace_tail(s, k, next.end)) == 0)
            return o;
        put_text(s, inner.start, inner.end, 0, out, &o);
        lit.start = k;
        lit.end = next.end;
        lit.after = next.after;
    }
}

/* The f-string @first, when it nests its own quote, read as its value
 * when that is absolute. 1, 0 or CHIO_ENOMEM. */
static int read_same_quote_f_string(path_hit *ph, const char *s, size_t n, unclosed *u,
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
    j[o] = '\0';
    rc = o > 0 && (j[0] == '/' || j[0] == '~') ? chio__gpj_read_join(ph, j, o) : 0;
    free(heap);
    return rc;
}

/* Every chain of @s from s[@i] on: each literal that opens like a path
 * starts one. A backslash outside a literal takes the next byte with it
 * (an escaped quote, "echo it\\'s; python3 -c \"...\"", opens nothing). */
static int read_chains_at(path_hit *ph, const char *s, size_t n, int depth);

static int read_chains_from(path_hit *ph, const char *s, size_t n, size_t i, int depth)
{
    unclosed u;
    literal lit;
    int rc = 0;

    unclosed_init(&u);
    while (rc == 0 && i < n) {
        if (s[i] == '\\') {
            i += 2;
            continue;
        }
        if (!quote(s[i]) || !chio__gpj_read_literal(s, n, i, &u, &lit)) {
            i++;
            continue;
        }
        if (starts_path(s, &lit) || chio__gpj_sep_before(s, lit.start))
            rc = read_chain(ph, s, n, &u, &lit);
        if (rc == 0)
            rc = chio__gpj_read_lists(ph, s, n, &u, &lit);
        if (rc == 0 && holds_placeholder(s, &lit))
            rc = read_format(ph, s, n, &u, &lit);
        if (rc == 0)
            rc = read_same_quote_f_string(ph, s, n, &u, &lit);
        /* the code a string holds ("python3 -c \"open('/et' + 'c/x')\"",
         * read whole by a pass that an apostrophe put out of step with
         * its quotes, also in a markdown code block; review 15), down to
         * JOIN_NEST_MAX levels: each byte is inside at most one literal a
         * pass reads, so each level stays linear */
        if (rc == 0 && depth < JOIN_NEST_MAX && lit.end > lit.start)
            rc = read_chains_at(ph, s + lit.start, lit.end - lit.start, depth + 1);
        i = lit.after;
    }
    return rc;
}

/* read_chains_from the start, and again from after the first quote: an
 * apostrophe before the code ("Here's the code: open('/et' + 'c/x')")
 * pairs with the code's first quote and shifts every literal after it
 * (review 13). Two passes, each linear (review 14: trying every quote as
 * an opener rescanned each string once per quote inside it). */
static int read_chains_at(path_hit *ph, const char *s, size_t n, int depth)
{
    size_t i;
    int rc;

    if (memchr(s, '\'', n) == NULL && memchr(s, '"', n) == NULL && memchr(s, '`', n) == NULL)
        return 0;
    rc = read_chains_from(ph, s, n, 0, depth);
    for (i = 0; rc == 0 && i < n && !quote(s[i]); i++)
        if (s[i] == '\\')
            i++;
    return rc == 0 && i < n ? read_chains_from(ph, s, n, i + 1, depth) : rc;
}

static int read_chains(path_hit *ph, const char *s, size_t n)
{
    return read_chains_at(ph, s, n, 0);
}

int chio__gp_check_joined_literals(path_hit *ph, const char *s, size_t n)
{
    char stack[PREFIX_STACK], *heap = NULL, *d = stack;
    size_t len;
    int rc;

    if (memchr(s, '\'', n) == NULL && memchr(s, '"', n) == NULL && memchr(s, '`', n) == NULL)
        return 0;
    /* as written (the code itself), then as a shell hands it to the
     * program it runs */
    if ((rc = read_chains(ph, s, n)) != 0)
        return rc;
    if (n + 1 > sizeof(stack) && (d = heap = malloc(n + 1)) == NULL)
        return CHIO_ENOMEM;
    len = quote_removal(s, n, d);
    rc = len == n && memcmp(d, s, n) == 0 ? 0 : read_chains(ph, d, len);
    free(heap);
    return rc;
}
