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
 * prefix is a hit. An interpolation of a literal
 * (f"/etc/{'shadow'}", `${"/etc"}/x`) is read as that literal; a
 * format that literals fill is read filled by guard_path_join_format.c. The value is read as
 * written and after a shell's quote removal (what "python3 -c" or "node -e" is given). A separator
 * joining a list's items and a relative literal resolved against a
 * file: base are read by guard_path_join_list.c, the joins that take
 * the directory second or by a key by guard_path_join_call.c. A literal
 * may carry a string prefix (r'', rb'', L"", u8"", @"") and a C++
 * suffix ("s", "sv"): the gap before it ends at its prefix (review 20,
 * paths F3). A '+' after Pathname('/etc') joins with a '/', a call that
 * hands its string on (str(..), .strip(), .to_owned()) stands in a gap
 * like a parenthesis and a backslash-newline is nothing (paths F4). No state, no
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

/* A byte of a string prefix (chio__gpj_prefixed), and one of a name. */
static int prefix_char(char c)
{
    return c != '\0' && strchr("rRuUbBfFL@$8", c) != NULL;
}

static int ident_char(unsigned char c)
{
    return chio__gpj_name_char(c) || (c >= '0' && c <= '9') || c == '$';
}

size_t chio__gpj_prefixed(const char *s, size_t n, size_t k)
{
    size_t q;

    if (k >= n || s[k] == '8')
        return k;
    for (q = k; q < n && q - k < 2 && prefix_char(s[q]); q++)
        ;
    return q > k && q < n && chio__gpj_quote(s[q]) ? q : k;
}

size_t chio__gpj_prefix_start(const char *s, size_t lo, size_t q)
{
    size_t k = q;

    while (k > lo && q - k < 2 && prefix_char(s[k - 1]))
        k--;
    if (k == q || s[k] == '8' || (k > lo && ident_char((unsigned char)s[k - 1])))
        return q; /* a name ending so ("bar'", "x8'"): not a prefix */
    return k;
}

size_t chio__gpj_suffix_end(const char *s, size_t n, size_t after)
{
    size_t k = after;

    if (k < n && s[k] == 's' && ++k < n && s[k] == 'v')
        k++;
    if (k == after || (k < n && (ident_char((unsigned char)s[k]) || chio__gpj_quote(s[k]))))
        return after;
    return k;
}

/* The name s[@i, @e) in a gap: 1 when it holds a word of a path join
 * ("joinpath", "Join", "Combine", "resolve"), 2 of a concatenation
 * ("concat"), else 0. */
static int joining_name(const char *s, size_t i, size_t e)
{
    static const char *const joiners[] = {"join", "combine", "resolve", "truediv", "concat"};
    size_t w, k, l;

    for (w = 0; w < sizeof(joiners) / sizeof(joiners[0]); w++) {
        l = strlen(joiners[w]);
        for (k = i; k + l <= e; k++)
            if (strncasecmp(s + k, joiners[w], l) == 0)
                return w == 4 ? 2 : 1;
    }
    return 0;
}

/* Is the name s[@i, @e) a call that hands its string on as it is:
 * str('/etc/'), '/etc/'.strip(), "/etc/".to_owned(), String::from? */
static int passing_name(const char *s, size_t i, size_t e)
{
    static const char *const words[] = {"str",    "String", "to_owned", "to_string", "toString",
                                        "strip",  "lstrip", "rstrip",   "trim",      "from",
                                        "as_str", "clone",  "raw"}; /* JS String.raw`/etc` */
    size_t w;

    for (w = 0; w < sizeof(words) / sizeof(words[0]); w++)
        if (strlen(words[w]) == e - i && memcmp(s + i, words[w], e - i) == 0)
            return 1;
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
        if (c == '\\' && b < e && (s[b] == '\n' || s[b] == '\r')) {
            /* a backslash-newline continues the line: it is nothing */
            b += b + 1 < e && s[b] == '\r' && s[b + 1] == '\n' ? 2 : 1;
            continue;
        }
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
        } else if (c == '=' && b < e && s[b] == '>') {
            slash = 1; /* Perl's fat comma: catfile('/etc' => 'shadow') */
            b++;
        } else if (c == '[' || c == ']' || c == '*') {
            list = 1; /* '/'.join(['', 'etc']), os.path.join('/etc', *['x']) */
        } else if (chio__gpj_name_char(c)) {
            /* a name: a joining method or function, or a separator's
             * (+ os.sep +, . DIRECTORY_SEPARATOR .) that stands for '/' */
            for (b = k; b < e && chio__gpj_name_char((unsigned char)s[b]); b++)
                ;
            if ((name = joining_name(s, k, b)) == 0 && chio__gpj_sep_name(s, k, b))
                name = 3;
            if (name == 0 && passing_name(s, k, b)) {
                name = 2; /* str(..) + str(..), String::from(..) */
                if (b + 1 < e && s[b] == ':' && s[b + 1] == ':')
                    b += 2;
            }
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
    for (i++; i < e && chio__gpj_blank(s[i]); i++)
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
    for (i++; i < e && chio__gpj_blank(s[i]); i++)
        ;
    /* "{'shadow'!s}", "{'shadow':>8}": a conversion and a spec */
    if ((i = chio__gpj_brace_tail(s, i, e)) == 0)
        return 0;
    *next = i;
    return 1;
}

void chio__gpj_put_text(const char *s, size_t k, size_t e, int interp, char *out, size_t *o)
{
    literal in;
    size_t next;

    for (; k < e; k++) {
        if (interp && (s[k] == '{' || s[k] == '$') && interpolation(s, k, e, &in, &next)) {
            chio__gpj_put_text(s, in.start, in.end, 0, out, o);
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
    chio__gpj_put_text(s, lit->start, lit->end, 1, out, o);
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

/* Is the literal @first the argument of Ruby's Pathname('/etc') or
 * Pathname.new('/etc'), whose '+' joins with a '/'? */
static int path_object(const char *s, const literal *first)
{
    size_t lo = chio__gpj_back_limit(first->start - 1),
           k = chio__gpj_prefix_start(s, lo, first->start - 1), at, len;

    if (!chio__gpj_eat_back(s, lo, &k, "(") || (len = chio__gpj_name_back(s, lo, k, &at)) == 0)
        return 0;
    if (len == 3 && memcmp(s + at, "new", 3) == 0) {
        k = at;
        if (!chio__gpj_eat_back(s, lo, &k, ".") || (len = chio__gpj_name_back(s, lo, k, &at)) == 0)
            return 0;
    }
    return len == 8 && memcmp(s + at, "Pathname", 8) == 0;
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
    size_t o = 0, cap = sizeof(stack), i = chio__gpj_suffix_end(s, n, first->after), used = 1, p;
    literal lit = *first;
    int rc = 0, g, unread = 0, sep, object = path_object(s, first), closed = 0;

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
    for (i = chio__gpj_suffix_end(s, n, lit.after); rc == 0 && i < n;) {
        size_t q = i, need = 0;
        while (q < n && !chio__gpj_quote(s[q]) && q - i <= 2 * JOIN_GAP_MAX)
            q++;
        /* r'shadow', L"shadow": the gap ends before the prefix */
        p = q < n ? chio__gpj_prefix_start(s, i, q) : q;
        if (q >= n || !chio__gpj_quote(s[q]) || (g = chio__gpj_gap_join(s, i, p)) == 0 ||
            !chio__gpj_read_literal(s, n, q, u, &lit))
            break;
        /* Pathname('/etc') + 'shadow': past the call's ')', a '+' of a
         * path object joins with a '/' */
        closed |= object && memchr(s + i, ')', p - i) != NULL;
        if (g == 2 && closed && memchr(s + i, '+', p - i) != NULL)
            g = 1;
        i = chio__gpj_suffix_end(s, n, lit.after);
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
        if (!chio__gpj_quote(s[i]) || !chio__gpj_read_literal(s, n, i, &u, &lit)) {
            i++;
            continue;
        }
        if (starts_path(s, &lit) || chio__gpj_sep_before(s, lit.start))
            rc = read_chain(ph, s, n, &u, &lit);
        if (rc == 0)
            rc = chio__gpj_read_lists(ph, s, n, &u, &lit);
        if (rc == 0)
            rc = chio__gpj_read_format(ph, s, n, &u, &lit);
        if (rc == 0)
            rc = chio__gpj_read_same_quote_f_string(ph, s, n, &u, &lit);
        if (rc == 0)
            rc = chio__gpj_read_calls(ph, s, n, &u, &lit);
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
    for (i = 0; rc == 0 && i < n && !chio__gpj_quote(s[i]); i++)
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

    if ((rc = chio__gpj_read_join_path(ph, s, n)) != 0)
        return rc;
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
