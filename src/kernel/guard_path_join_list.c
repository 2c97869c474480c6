/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/guard_path_join_list.c - the forbidden_path guard's reading of
 * two more ways code builds a path from string literals, beside the
 * chains of guard_path_join.c (review 17, F2).
 *
 * A separator joining a list's items: '/'.join(['', 'etc', 'shadow']) in
 * Python, ['', 'etc', 'shadow'].join('/') in JavaScript or Ruby,
 * String.join("/", "", "etc", "shadow") in Java, join('/', ...) in Perl,
 * implode('/', [...]) in PHP. The items are joined by the separator
 * exactly, so an empty first item starts the join with the separator,
 * and '/etc/'.join(['', 'shadow']) is /etc/shadow. A separator that is a
 * name (os.sep.join([...]), [...].join(path.sep)) is read as '/', and so
 * is a path join's in Ruby and Perl when its first part is empty
 * (File.join('', 'etc', 'shadow'), File::Spec->catfile('', ...)); a
 * path join whose first argument is such a name starts at the root
 * (os.path.join(os.sep, 'etc', 'shadow')). The
 * join is read as a path when it is absolute; a list of more than
 * JOIN_LITERALS_MAX items is read up to them, a hit when that join is
 * still above a prefix.
 *
 * A relative literal resolved against a file: base, as WHATWG resolves
 * it: the base up to its last '/' (its query and fragment dropped), then
 * the relative text. new URL('shadow', 'file:///etc/') and URL.parse in
 * JavaScript; a file: literal followed by another through a path-joining
 * gap (urljoin('file:///etc/', 'shadow'), URI.join, .resolve('shadow'));
 * an absolute path as the base of urljoin or url.resolve. A relative text
 * that is absolute, has a scheme or is only a query or fragment is read
 * on its own by the other readings.
 *
 * Only hits count. Each literal looks back and forward a bounded number
 * of bytes for the forms above; a list is read whole, once by each form
 * that starts it, and a list starts at a literal after an opening
 * bracket or a separator, so each literal is an item of at most one list
 * per pass and the work stays linear. No state, no locks; a join longer
 * than a stack buffer is malloc'ed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "guard_path.h"
#include "guard_path_join.h"
#include "internal.h"

/* The most blanks skipped between two tokens of a form; a list written
 * one item a line indents them. */
#define LIST_SPACE_MAX (4 * JOIN_GAP_MAX)

/* A list's items joined by a separator. */
typedef struct list_join {
    literal sep; /* the separator, unless named */
    int named;   /* a name (os.sep, path.sep) stands for the separator: '/' */
    int root;    /* a separator before the first item: join(os.sep, 'etc') */
    literal items[JOIN_LITERALS_MAX];
    size_t count; /* every item read; the first JOIN_LITERALS_MAX kept */
    size_t after; /* the index after the last item */
} list_join;

static int quote(char c)
{
    return c == '"' || c == '\'' || c == '`';
}

static int space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int ident_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$';
}

/* The index after the blanks from s[@i] on, at most LIST_SPACE_MAX. */
static size_t skip(const char *s, size_t n, size_t i)
{
    size_t e = n - i > LIST_SPACE_MAX ? i + LIST_SPACE_MAX : n;

    while (i < e && space(s[i]))
        i++;
    return i;
}

/* After blanks from s[*@i], the text @t: moves *@i past it, 1; else 0. */
static int eat(const char *s, size_t n, size_t *i, const char *t)
{
    size_t k = skip(s, n, *i), l = strlen(t);

    if (n - k < l || memcmp(s + k, t, l) != 0)
        return 0;
    *i = k + l;
    return 1;
}

/* Before s[*@i], after blanks back to @lo, the text @t: moves *@i back to
 * its start, 1; else 0. */
static int eat_back(const char *s, size_t lo, size_t *i, const char *t)
{
    size_t k = *i, l = strlen(t);

    while (k > lo && space(s[k - 1]))
        k--;
    if (k - lo < l || memcmp(s + k - l, t, l) != 0)
        return 0;
    *i = k - l;
    return 1;
}

/* The name that ends at s[@i] (blanks before @i skipped, back to @lo):
 * its start in *@start; its length, 0 when there is none. */
static size_t name_back(const char *s, size_t lo, size_t i, size_t *start)
{
    size_t k;

    while (i > lo && space(s[i - 1]))
        i--;
    for (k = i; k > lo && ident_char((unsigned char)s[k - 1]); k--)
        ;
    *start = k;
    return i - k;
}

/* The lowest index a look back from @i reads. */
static size_t back_limit(size_t i)
{
    return i > 2 * JOIN_GAP_MAX ? i - 2 * JOIN_GAP_MAX : 0;
}

/* Is the text @t (@len bytes) absolute: a path, a home, a file: URL? */
static int absolute(const char *t, size_t len)
{
    return len > 0 && (t[0] == '/' || t[0] == '~' || t[0] == '\\' ||
                       (len >= 5 && strncasecmp(t, "file:", 5) == 0));
}

/* The items of a list from the literal whose quote is at s[@q]:
 * literals with a comma between each two (blanks and line breaks
 * around it). Every item is read, the first JOIN_LITERALS_MAX kept. 0
 * when s[@q] opens no literal. */
static int read_items(const char *s, size_t n, unclosed *u, size_t q, list_join *l)
{
    literal lit;
    size_t i;

    l->count = 0;
    while (q < n && quote(s[q]) && chio__gpj_read_literal(s, n, q, u, &lit)) {
        if (l->count < JOIN_LITERALS_MAX)
            l->items[l->count] = lit;
        l->count++;
        l->after = i = lit.after;
        if (!eat(s, n, &i, ","))
            break;
        q = skip(s, n, i);
    }
    return l->count > 0;
}

static void put_sep(const char *s, const list_join *l, char *out, size_t *o)
{
    if (!l->named) {
        chio__gpj_put_literal(s, &l->sep, out, o);
        return;
    }
    if (out != NULL) /* NULL: only count */
        out[*o] = '/';
    (*o)++;
}

/* The first @m items of @l joined by its separator, one more separator
 * after them with @trail, into @out (NULL: only count); the length. */
static size_t put_join(const char *s, const list_join *l, size_t m, int trail, char *out)
{
    size_t k, o = 0;

    for (k = 0; k < m; k++) {
        if (k > 0 || l->root)
            put_sep(s, l, out, &o);
        chio__gpj_put_literal(s, &l->items[k], out, &o);
    }
    if (trail)
        put_sep(s, l, out, &o);
    return o;
}

/* Is @j (@len bytes) a directory above a prefix, in any reading? */
static int join_above(void *ctx, const char *j, size_t len)
{
    return chio__gp_ancestor(ctx, j, len);
}

/* The list join @l read as a path when absolute; past JOIN_LITERALS_MAX
 * items, a hit when the join of those (and the separator after them) is
 * still above a prefix. 1, 0 or CHIO_ENOMEM. */
static int read_list_join(path_hit *ph, const char *s, const list_join *l)
{
    char stack[PREFIX_STACK], *heap = NULL, *j = stack;
    int more = l->count > JOIN_LITERALS_MAX, rc = 0;
    size_t m = more ? JOIN_LITERALS_MAX : l->count, len = put_join(s, l, m, more, NULL), o;

    if (len + 1 > sizeof(stack) && (j = heap = malloc(len + 1)) == NULL)
        return CHIO_ENOMEM;
    o = put_join(s, l, m, more, j);
    j[o] = '\0';
    if (absolute(j, o) && !more) {
        rc = chio__gpj_read_join(ph, j, o);
    } else if (absolute(j, o)) {
        rc = chio__path_readings(j, o, join_above, ph);
        rc = rc == 1 || rc == CHIO_ENOMEM ? rc : 0;
    }
    free(heap);
    return rc;
}

/* An opening bracket of a list or tuple: '[', '(', or a call that makes
 * one ("List.of(", "Arrays.asList(", "array("), from s[*@i]. */
static int eat_opener(const char *s, size_t n, size_t *i)
{
    size_t k = skip(s, n, *i), e = n - k > JOIN_GAP_MAX ? k + JOIN_GAP_MAX : n;

    if (eat(s, n, i, "[") || eat(s, n, i, "("))
        return 1;
    while (k < e && (ident_char((unsigned char)s[k]) || s[k] == '.'))
        k++;
    if (k >= e || s[k] != '(')
        return 0;
    *i = k + 1;
    return 1;
}

int chio__gpj_joins_list(const char *s, size_t n, size_t *i)
{
    return eat(s, n, i, ".") && eat(s, n, i, "join") && eat(s, n, i, "(") &&
           (eat(s, n, i, "[") || eat(s, n, i, "("));
}

/* SEP.join([..]) and SEP.join((..)): @lit is the separator. */
static int read_method_join(path_hit *ph, const char *s, size_t n, unclosed *u, const literal *lit)
{
    size_t i = lit->after;
    list_join l;

    if (!chio__gpj_joins_list(s, n, &i))
        return 0;
    l.sep = *lit;
    l.named = l.root = 0;
    if (!read_items(s, n, u, skip(s, n, i), &l))
        return 0;
    return read_list_join(ph, s, &l);
}

/* join(SEP, ..) as a function: String.join, str.join, Perl's join, PHP's
 * join and implode; @lit is the separator, the items follow it, maybe
 * in a list. A path join's "join" (os.path.join, path.join) is not one:
 * its first literal is a part of the path. */
static int read_function_join(path_hit *ph, const char *s, size_t n, unclosed *u,
                              const literal *lit)
{
    size_t k = lit->start - 1, lo = back_limit(k), at, len, i = lit->after, p;
    list_join l;

    if (!eat_back(s, lo, &k, "(") || (len = name_back(s, lo, k, &at)) == 0)
        return 0;
    if (!((len == 4 && memcmp(s + at, "join", 4) == 0) ||
          (len == 7 && memcmp(s + at, "implode", 7) == 0)))
        return 0;
    p = at;
    if (eat_back(s, lo, &p, ".") && (len = name_back(s, lo, p, &p)) >= 4 &&
        strncasecmp(s + p + len - 4, "path", 4) == 0)
        return 0;
    if (!eat(s, n, &i, ","))
        return 0;
    (void)eat_opener(s, n, &i);
    l.sep = *lit;
    l.named = l.root = 0;
    if (!read_items(s, n, u, skip(s, n, i), &l))
        return 0;
    return read_list_join(ph, s, &l);
}

/* NAME.join([..]): a name for the separator (os.sep, os.path.sep, a
 * variable), read as '/'; @lit is the first item. */
static int read_named_join(path_hit *ph, const char *s, size_t n, unclosed *u, const literal *lit)
{
    size_t k = lit->start - 1, lo = back_limit(k);
    list_join l;

    if (!(eat_back(s, lo, &k, "[") || eat_back(s, lo, &k, "(")) || !eat_back(s, lo, &k, "(") ||
        !eat_back(s, lo, &k, "join") || !eat_back(s, lo, &k, "."))
        return 0;
    while (k > lo && space(s[k - 1]))
        k--;
    if (k == lo || !(ident_char((unsigned char)s[k - 1]) || s[k - 1] == ')' || s[k - 1] == ']'))
        return 0;
    l.named = 1;
    l.root = 0;
    if (!read_items(s, n, u, lit->start - 1, &l))
        return 0;
    return read_list_join(ph, s, &l);
}

/* Does the name @t (@len bytes) call a path join: "join", "Join",
 * "joinpath", "resolve", "Combine"? */
static int joins_path(const char *t, size_t len)
{
    static const char *const words[] = {"join", "resolve", "combine"};
    size_t w, k, l;

    for (w = 0; w < sizeof(words) / sizeof(words[0]); w++)
        for (l = strlen(words[w]), k = 0; k + l <= len; k++)
            if (strncasecmp(t + k, words[w], l) == 0)
                return 1;
    return 0;
}

/* A path join whose first part is empty, which starts at the root in
 * Ruby (File.join('', 'etc')) and Perl (File::Spec->catfile('', 'etc'),
 * catdir): @lit is that empty part. Python's os.path.join and Node's
 * path.join drop it and stay relative, so they are not read so. */
static int read_root_join(path_hit *ph, const char *s, size_t n, unclosed *u, const literal *lit)
{
    size_t k = lit->start - 1, lo = back_limit(k), at, len, p;
    list_join l;

    if (lit->end != lit->start || !eat_back(s, lo, &k, "(") ||
        (len = name_back(s, lo, k, &at)) == 0)
        return 0;
    p = at;
    if (!((len == 7 && memcmp(s + at, "catfile", 7) == 0) ||
          (len == 6 && memcmp(s + at, "catdir", 6) == 0) ||
          (len == 4 && memcmp(s + at, "join", 4) == 0 && eat_back(s, lo, &p, ".") &&
           name_back(s, lo, p, &p) == 4 && memcmp(s + p, "File", 4) == 0)))
        return 0;
    l.named = 1;
    l.root = 0;
    if (!read_items(s, n, u, lit->start - 1, &l))
        return 0;
    return read_list_join(ph, s, &l);
}

/* A path join whose first argument is a separator's name and the rest
 * literals: os.path.join(os.sep, 'etc', 'shadow'), path.join(path.sep,
 * ..), Paths.get(File.separator, ..); @lit is the first literal. */
static int read_sep_first_join(path_hit *ph, const char *s, size_t n, unclosed *u,
                               const literal *lit)
{
    size_t k = lit->start - 1, lo = back_limit(k), at, len;
    list_join l;

    if (!eat_back(s, lo, &k, ",") || (len = name_back(s, lo, k, &at)) == 0 ||
        !((len == 3 && memcmp(s + at, "sep", 3) == 0) ||
          (len == 9 && memcmp(s + at, "separator", 9) == 0)))
        return 0;
    k = at;
    if (!eat_back(s, lo, &k, ".") || name_back(s, lo, k, &k) == 0)
        return 0;
    while (eat_back(s, lo, &k, ".") && name_back(s, lo, k, &k) > 0)
        ; /* os.path.sep */
    if (!eat_back(s, lo, &k, "(") || (len = name_back(s, lo, k, &at)) == 0 ||
        !(joins_path(s + at, len) || (len == 3 && memcmp(s + at, "get", 3) == 0) ||
          (len == 2 && memcmp(s + at, "of", 2) == 0)))
        return 0;
    l.named = l.root = 1;
    if (!read_items(s, n, u, lit->start - 1, &l))
        return 0;
    return read_list_join(ph, s, &l);
}

/* [..].join(SEP), SEP a literal or a name (path.sep: '/'); @lit is the
 * first item. */
static int read_array_join(path_hit *ph, const char *s, size_t n, unclosed *u, const literal *lit)
{
    size_t k = lit->start - 1, i, e;
    list_join l;

    if (!eat_back(s, back_limit(k), &k, "[") || !read_items(s, n, u, lit->start - 1, &l))
        return 0;
    i = l.after;
    (void)eat(s, n, &i, ","); /* a trailing comma */
    if (!eat(s, n, &i, "]") || !eat(s, n, &i, ".") || !eat(s, n, &i, "join") || !eat(s, n, &i, "("))
        return 0;
    i = skip(s, n, i);
    if (i < n && quote(s[i])) {
        if (!chio__gpj_read_literal(s, n, i, u, &l.sep))
            return 0;
        l.named = l.root = 0;
        i = l.sep.after;
    } else {
        for (e = n - i > JOIN_GAP_MAX ? i + JOIN_GAP_MAX : n, k = i;
             k < e && (ident_char((unsigned char)s[k]) || s[k] == '.'); k++)
            ;
        if (k == i)
            return 0; /* .join() joins with ',' */
        l.named = 1;
        l.root = 0;
        i = k;
    }
    if (!eat(s, n, &i, ")"))
        return 0;
    return read_list_join(ph, s, &l);
}

/* Does the relative text @r (@len bytes) take the base's directory: not
 * empty, not absolute, no scheme, not only a query or fragment? */
static int takes_directory(const char *r, size_t len)
{
    size_t k;

    if (len == 0 || strchr("/\\?#", r[0]) != NULL)
        return 0;
    for (k = 0; k < len && ident_char((unsigned char)r[k]) && r[k] != '_' && r[k] != '$'; k++)
        ;
    return !(k > 0 && k < len && r[k] == ':'); /* a scheme, "https:" */
}

/* The relative literal @rel resolved against the literal @base when
 * that is a file: URL or an absolute path: the base up to its last '/'
 * (or '\\'), its query and fragment dropped, then @rel. 1, 0 or
 * CHIO_ENOMEM. */
static int read_resolved(path_hit *ph, const char *s, const literal *base, const literal *rel)
{
    char stack[PREFIX_STACK], *heap = NULL, *j = stack;
    size_t bl = 0, rl = 0, k, dir = 0;
    int rc = 0;

    chio__gpj_put_literal(s, base, NULL, &bl);
    chio__gpj_put_literal(s, rel, NULL, &rl);
    if (bl + rl + 1 > sizeof(stack) && (j = heap = malloc(bl + rl + 1)) == NULL)
        return CHIO_ENOMEM;
    bl = 0;
    chio__gpj_put_literal(s, base, j, &bl);
    for (k = 0; k < bl && j[k] != '?' && j[k] != '#'; k++)
        if (j[k] == '/' || j[k] == '\\')
            dir = k + 1;
    /* "file:" alone: "file:etc/shadow" is file:///etc/shadow */
    if (dir == 0 && bl == 5)
        dir = bl;
    rl = 0;
    chio__gpj_put_literal(s, rel, j + dir, &rl);
    if (dir > 0 && absolute(j, dir) && takes_directory(j + dir, rl)) {
        j[dir + rl] = '\0';
        rc = chio__gpj_read_join(ph, j, dir + rl);
    }
    free(heap);
    return rc;
}

/* new URL(REL, BASE), URL(REL, BASE), URL.parse(REL, BASE): @lit is the
 * relative text. */
static int read_url_rel_base(path_hit *ph, const char *s, size_t n, unclosed *u, const literal *lit)
{
    size_t k = lit->start - 1, lo = back_limit(k), at, len, i = lit->after, p;
    literal base;

    if (!eat_back(s, lo, &k, "(") || (len = name_back(s, lo, k, &at)) == 0)
        return 0;
    if (len == 5 && memcmp(s + at, "parse", 5) == 0) {
        p = at;
        if (!eat_back(s, lo, &p, ".") || (len = name_back(s, lo, p, &at)) == 0)
            return 0;
    }
    if (len != 3 || memcmp(s + at, "URL", 3) != 0 || !eat(s, n, &i, ","))
        return 0;
    i = skip(s, n, i);
    if (i >= n || !quote(s[i]) || !chio__gpj_read_literal(s, n, i, u, &base))
        return 0;
    return read_resolved(ph, s, &base, lit);
}

/* Is the literal @lit a file: URL? */
static int file_url(const char *s, const literal *lit)
{
    return lit->end - lit->start >= 5 && strncasecmp(s + lit->start, "file:", 5) == 0;
}

/* Is @lit an argument of urljoin(..) or url.resolve(..), first? */
static int url_join_base(const char *s, const literal *lit)
{
    size_t k = lit->start - 1, lo = back_limit(k), at, len, p;

    if (!eat_back(s, lo, &k, "(") || (len = name_back(s, lo, k, &at)) == 0)
        return 0;
    if (len >= 7 && strncasecmp(s + at + len - 7, "urljoin", 7) == 0)
        return 1;
    if (len != 7 || memcmp(s + at, "resolve", 7) != 0)
        return 0;
    p = at;
    return eat_back(s, lo, &p, ".") && (len = name_back(s, lo, p, &at)) >= 3 &&
           strncasecmp(s + at + len - 3, "url", 3) == 0;
}

/* BASE then REL: a file: URL followed by a literal through a path-joining
 * gap (urljoin(BASE, REL), URI.join, URI(BASE).resolve(REL)), or an
 * absolute path as urljoin's or url.resolve's first argument; @lit is
 * the base. */
static int read_url_base_rel(path_hit *ph, const char *s, size_t n, unclosed *u, const literal *lit)
{
    size_t q;
    literal rel;
    int file = file_url(s, lit);

    if (!file && !url_join_base(s, lit))
        return 0;
    for (q = lit->after; q < n && !quote(s[q]) && q - lit->after <= JOIN_GAP_MAX; q++)
        ;
    if (q >= n || !quote(s[q]) || chio__gpj_gap_join(s, lit->after, q) != 1 ||
        !chio__gpj_read_literal(s, n, q, u, &rel))
        return 0;
    return read_resolved(ph, s, lit, &rel);
}

int chio__gpj_read_lists(path_hit *ph, const char *s, size_t n, unclosed *u, const literal *lit)
{
    int rc;

    if ((rc = read_method_join(ph, s, n, u, lit)) != 0 ||
        (rc = read_function_join(ph, s, n, u, lit)) != 0 ||
        (rc = read_named_join(ph, s, n, u, lit)) != 0 ||
        (rc = read_root_join(ph, s, n, u, lit)) != 0 ||
        (rc = read_sep_first_join(ph, s, n, u, lit)) != 0 ||
        (rc = read_array_join(ph, s, n, u, lit)) != 0 ||
        (rc = read_url_rel_base(ph, s, n, u, lit)) != 0)
        return rc;
    return read_url_base_rel(ph, s, n, u, lit);
}
