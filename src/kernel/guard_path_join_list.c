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
 * Review 18 (fixes2 F1): comments between items are blanks; an item may
 * have a string prefix (r'', rb''), be several literals side by side
 * ('et' 'c', a triple quote) or sit in parentheses or str(..); a
 * separator's name is any chain holding sep, separator,
 * DirectorySeparatorChar, DIRECTORY_SEPARATOR or rootdir
 * (require('path').sep, string(filepath.Separator)), case aside; a list
 * may be an array made by a type (new String[]{..}, new[] {..},
 * []string{..}, List.of, Stream.of, Array.of) with its separator after
 * it (strings.Join(.., "/"), Collectors.joining("/"), Ruby's * "/").
 * The URL resolutions are guard_path_join_url.c's.
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

/* The most blanks and comments skipped between two tokens of a form; a
 * list written one item a line indents them. */
#define LIST_SPACE_MAX (4 * JOIN_GAP_MAX)

/* A list's items joined by a separator. */
typedef struct list_join {
    literal sep; /* the separator, unless named */
    int named;   /* a name (os.sep, path.sep) stands for the separator: '/' */
    int root;    /* a separator before the first item: join(os.sep, 'etc') */
    /* the literals of the items; glued[k]: items[k] is a part of the
     * item before it ('et' 'c', a triple quote's ''), joined with nothing */
    literal items[JOIN_LITERALS_MAX];
    unsigned char glued[JOIN_LITERALS_MAX];
    int next_glued; /* the first literal past those kept is glued */
    size_t count;   /* every literal read; the first JOIN_LITERALS_MAX kept */
    size_t after;   /* the index after the last item */
} list_join;

static int space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int ident_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$';
}

/* The index after the blanks and comments from s[@i] on, at most
 * LIST_SPACE_MAX bytes on: a list written one item a line may say what
 * an item is ('etc',  # the dir), and a comment joins nothing. '#' and
 * "//" run to the end of the line, slash-star to its star-slash. */
static size_t skip(const char *s, size_t n, size_t i)
{
    size_t e = n - i > LIST_SPACE_MAX ? i + LIST_SPACE_MAX : n, k;

    while (i < e) {
        if (space(s[i])) {
            i++;
        } else if (s[i] == '#' || (s[i] == '/' && i + 1 < e && s[i + 1] == '/')) {
            while (i < e && s[i] != '\n')
                i++;
        } else if (s[i] == '/' && i + 1 < e && s[i + 1] == '*') {
            for (k = i + 2; k + 1 < e && !(s[k] == '*' && s[k + 1] == '/'); k++)
                ;
            if (k + 1 >= e)
                return e;
            i = k + 2;
        } else {
            break;
        }
    }
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

/* Keep the literal @lit as the next of @l's, @glued to the one before. */
static void keep(list_join *l, const literal *lit, int glued)
{
    if (l->count < JOIN_LITERALS_MAX) {
        l->items[l->count] = *lit;
        l->glued[l->count] = (unsigned char)glued;
    } else if (l->count == JOIN_LITERALS_MAX) {
        l->next_glued = glued;
    }
    l->count++;
}

/* One item from s[@q]: a literal (a prefix before it), the literals
 * right after it joined with nothing ('et' 'c'; Python's '\'\'\'etc\'\'\''
 * reads as '' 'etc' ''), maybe in parentheses or str(..). The index
 * after it, 0 when s[@q] starts none. */
static size_t read_item(const char *s, size_t n, unclosed *u, size_t q, list_join *l)
{
    literal lit;
    size_t i = q;
    int paren = 0, parts = 0;

    if (eat(s, n, &i, "str(") || eat(s, n, &i, "String(") || eat(s, n, &i, "("))
        paren = 1;
    for (i = skip(s, n, i); i < n; i = skip(s, n, l->after)) {
        size_t k = chio__gpj_prefixed(s, n, i);
        if (!chio__gpj_quote(s[k]) || !chio__gpj_read_literal(s, n, k, u, &lit))
            break;
        keep(l, &lit, parts++ > 0);
        l->after = chio__gpj_suffix_end(s, n, lit.after);
    }
    if (parts == 0 || (paren && !eat(s, n, &l->after, ")")))
        return 0;
    return l->after;
}

/* The items of a list from s[@q]: items (read_item) with a comma
 * between each two (blanks, comments and line breaks around it). Every
 * literal is read, the first JOIN_LITERALS_MAX kept. 0 when s[@q] starts
 * no item. */
static int read_items(const char *s, size_t n, unclosed *u, size_t q, list_join *l)
{
    size_t i, items = 0;

    l->count = 0;
    l->next_glued = 0;
    while (q < n && (i = read_item(s, n, u, q, l)) != 0) {
        items++;
        if (!eat(s, n, &i, ","))
            break;
        q = skip(s, n, i);
    }
    return items > 0;
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
        if ((k > 0 && !l->glued[k]) || (k == 0 && l->root))
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
    int more = l->count > JOIN_LITERALS_MAX, rc = 0, trail;
    size_t m = more ? JOIN_LITERALS_MAX : l->count, len, o;

    /* past the kept literals, the separator after them only when the
     * next literal starts an item: a glued one goes on with the last */
    trail = more && !l->next_glued;
    len = put_join(s, l, m, trail, NULL);

    if (len + 1 > sizeof(stack) && (j = heap = malloc(len + 1)) == NULL)
        return CHIO_ENOMEM;
    o = put_join(s, l, m, trail, j);
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

/* Past s[*@i], a name and the text @t: moves *@i past @t, 1; else 0. */
static int eat_named(const char *s, size_t n, size_t *i, const char *t)
{
    size_t k = skip(s, n, *i);

    while (k < n && ident_char((unsigned char)s[k]))
        k++;
    return eat(s, n, &k, t) ? (*i = k, 1) : 0;
}

/* An array made by a type: new String[] {, new[] {, []string{ (Java,
 * C#, Go), from s[*@i]; moves *@i past its brace. */
static int eat_typed_opener(const char *s, size_t n, size_t *i)
{
    size_t k = *i;

    (void)eat(s, n, &k, "new");
    if (!eat_named(s, n, &k, "[]"))
        return 0;
    return eat_named(s, n, &k, "{") ? (*i = k, 1) : 0;
}

/* An opening bracket of a list or tuple: '[', '(', a call that makes
 * one ("List.of(", "Arrays.asList(", "array("), or a typed array, from
 * s[*@i]. */
static int eat_opener(const char *s, size_t n, size_t *i)
{
    size_t k = skip(s, n, *i), e = n - k > JOIN_GAP_MAX ? k + JOIN_GAP_MAX : n;

    if (eat_typed_opener(s, n, i) || eat(s, n, i, "[") || eat(s, n, i, "("))
        return 1;
    while (k < e && (ident_char((unsigned char)s[k]) || s[k] == '.'))
        k++;
    if (k >= e || s[k] != '(')
        return 0;
    *i = k + 1;
    return 1;
}

/* Is the name s[@a, @b) a word of @words (case aside)? */
static int word_of(const char *s, size_t a, size_t b, const char *const *words, size_t nw)
{
    size_t w;

    for (w = 0; w < nw; w++)
        if (strlen(words[w]) == b - a && strncasecmp(s + a, words[w], b - a) == 0)
            return 1;
    return 0;
}

/* Does s[@a, @b) hold a name of the path separator or the root: sep
 * (os.sep, path.sep), separator (File.separator, File::SEPARATOR,
 * filepath.Separator), DirectorySeparatorChar, DIRECTORY_SEPARATOR,
 * rootdir (File::Spec->rootdir)? */
static int holds_sep_name(const char *s, size_t a, size_t b)
{
    static const char *const words[] = {
        "sep",    "separator", "separatorChar", "DirectorySeparatorChar", "DIRECTORY_SEPARATOR",
        "rootdir"};
    size_t k, e;

    for (k = a; k < b; k = e + 1) {
        for (e = k; e < b && ident_char((unsigned char)s[e]); e++)
            ;
        if (e > k && word_of(s, k, e, words, sizeof(words) / sizeof(words[0])))
            return 1;
    }
    return 0;
}

/* A byte of a name's chain: os.path.sep, File::Spec->rootdir,
 * require('path').sep, string(filepath.Separator), ..ToString(); quotes
 * only inside its parentheses. */
static int chain_char(char c, int depth)
{
    return ident_char((unsigned char)c) || (c != '\0' && strchr(".:->()", c) != NULL) ||
           (depth > 0 && (chio__gpj_quote(c) || c == ' '));
}

/* The chain that ends at s[@k] (blanks before it skipped), back to @lo,
 * when it names the separator (holds_sep_name), its parentheses
 * balanced: its start in *@at, 1; else 0. */
static int sep_back(const char *s, size_t lo, size_t k, size_t *at)
{
    size_t e;
    int depth = 0;

    while (k > lo && space(s[k - 1]))
        k--;
    for (e = k; k > lo && chain_char(s[k - 1], depth); k--) {
        if (s[k - 1] == ')')
            depth++;
        else if (s[k - 1] == '(' && depth-- == 0)
            break;
    }
    if (depth < 0)
        depth = 0; /* the call's own '(' ended it */
    *at = k;
    return depth == 0 && k < e && holds_sep_name(s, k, e);
}

/* The same forward from s[*@i], up to the ')' or ',' after it: moves
 * *@i past it, 1 when it names the separator. */
static int sep_fwd(const char *s, size_t n, size_t *i)
{
    size_t k = skip(s, n, *i), a = k, e = n - k > 2 * JOIN_GAP_MAX ? k + 2 * JOIN_GAP_MAX : n;
    int depth = 0;

    for (; k < e && chain_char(s[k], depth); k++) {
        if (s[k] == '(')
            depth++;
        else if (s[k] == ')' && depth-- == 0)
            break;
    }
    if (depth < 0)
        depth = 0;
    if (depth != 0 || k == a || !holds_sep_name(s, a, k))
        return 0;
    *i = k;
    return 1;
}

int chio__gpj_sep_name(const char *s, size_t a, size_t b)
{
    return holds_sep_name(s, a, b);
}

/* Before s[@k] (back to @lo), where a list whose first item starts at
 * @k opens: '[', '(' alone or after a call that makes a list (List.of,
 * Arrays.asList, Stream.of, Array.of, Array, list, tuple, iter), '{'
 * after "[]" (new String[] {, new[] {, []string{). Its start in *@at
 * and the byte that closes it; 0 when there is none. */
static char opener_back(const char *s, size_t lo, size_t k, size_t *at)
{
    static const char *const makers[] = {"of", "asList", "Array", "list", "tuple", "iter"};
    size_t p = k, st, len;

    if (eat_back(s, lo, &p, "["))
        return *at = p, ']';
    if (eat_back(s, lo, &p, "{")) {
        if (name_back(s, lo, p, &st) > 0)
            p = st; /* Go's []string{ */
        if (!eat_back(s, lo, &p, "[]"))
            return 0;
        if ((len = name_back(s, lo, p, &st)) > 0 && !(len == 3 && memcmp(s + st, "new", 3) == 0))
            p = st; /* new String[] { */
        if (name_back(s, lo, p, &st) == 3 && memcmp(s + st, "new", 3) == 0)
            p = st;
        return *at = p, '}';
    }
    if (!eat_back(s, lo, &p, "("))
        return 0;
    if ((len = name_back(s, lo, p, &st)) == 0)
        return *at = p, ')'; /* a tuple */
    if (!word_of(s, st, st + len, makers, sizeof(makers) / sizeof(makers[0])))
        return 0;
    p = st;
    while (eat_back(s, lo, &p, ".") && name_back(s, lo, p, &st) > 0)
        p = st; /* List.of, Arrays.asList */
    return *at = p, ')';
}

/* Does the call whose name ends at s[@k] (back to @lo) join a list by a
 * separator: join, Join, implode, and not a path join (os.path.join,
 * filepath.Join, Ruby's File.join)? Its name's start in *@at. */
static int list_join_call(const char *s, size_t lo, size_t k, size_t *at)
{
    size_t len = name_back(s, lo, k, at), p = *at;

    if (!((len == 4 && strncasecmp(s + *at, "join", 4) == 0) ||
          (len == 7 && memcmp(s + *at, "implode", 7) == 0)))
        return 0;
    if (!eat_back(s, lo, &p, ".") || (len = name_back(s, lo, p, &p)) < 4)
        return 1;
    return strncasecmp(s + p + len - 4, "path", 4) != 0 &&
           !(len == 4 && memcmp(s + p, "File", 4) == 0);
}

int chio__gpj_sep_before(const char *s, size_t start)
{
    size_t q = start - 1, lo = back_limit(q), k = chio__gpj_prefix_start(s, lo, q), at;

    if (!(eat_back(s, lo, &k, "+") || eat_back(s, lo, &k, ".")))
        return 0;
    return sep_back(s, lo, k, &at);
}

int chio__gpj_joins_list(const char *s, size_t n, size_t *i)
{
    if (!eat(s, n, i, ".") || !eat(s, n, i, "join") || !eat(s, n, i, "("))
        return 0;
    /* '/'.join(list((..))), iter([..]), tuple([..]) */
    (void)(eat(s, n, i, "list(") || eat(s, n, i, "iter(") || eat(s, n, i, "tuple("));
    return eat(s, n, i, "[") || eat(s, n, i, "(");
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
    size_t k = lit->start - 1, lo = back_limit(k), at, i = lit->after;
    list_join l;

    if (!eat_back(s, lo, &k, "(") || !list_join_call(s, lo, k, &at))
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
    size_t lo = back_limit(lit->start - 1), q = chio__gpj_prefix_start(s, lo, lit->start - 1),
           k = q;
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
    if (!read_items(s, n, u, q, &l))
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
           name_back(s, lo, p, &p) == 4 && memcmp(s + p, "File", 4) == 0) ||
          (len == 4 && memcmp(s + at, "join", 4) == 0 && eat_back(s, lo, &p, "->") &&
           name_back(s, lo, p, &p) == 4 && memcmp(s + p, "Spec", 4) == 0)))
        return 0;
    l.named = 1;
    l.root = 0;
    if (!read_items(s, n, u, lit->start - 1, &l))
        return 0;
    return read_list_join(ph, s, &l);
}

/* Does the call whose name is s[@at, +@len) join a path: a path join
 * ("join", "resolve", "Combine"), Paths.get, Path.of, Path(..),
 * getPath, catfile, catdir? */
static int path_call(const char *s, size_t at, size_t len)
{
    static const char *const words[] = {"get", "of", "catfile", "catdir"};

    return joins_path(s + at, len) || word_of(s, at, at + len, words, 4) ||
           (len >= 4 && strncasecmp(s + at + len - 4, "path", 4) == 0);
}

/* A call whose first argument is a separator's name (sep_back) and the
 * rest literals, maybe in a list: a path join from the root
 * (os.path.join(os.sep, 'etc', 'shadow'), Path(os.sep, ..),
 * Paths.get(File.separator, ..), File::Spec->catfile(File::Spec->rootdir,
 * ..), filepath.Join(string(filepath.Separator), ..)) or a list joined
 * by it (String.join(File.separator, List.of(..)),
 * implode(DIRECTORY_SEPARATOR, [..])); @lit is the first literal. */
static int read_sep_first_join(path_hit *ph, const char *s, size_t n, unclosed *u,
                               const literal *lit)
{
    size_t lo = back_limit(lit->start - 1), q = chio__gpj_prefix_start(s, lo, lit->start - 1),
           k = q, at, len;
    list_join l;
    int list, path, rc;

    if (opener_back(s, lo, k, &at) != 0)
        k = at;
    (void)eat_back(s, lo, &k, "*"); /* os.path.join(os.sep, *['etc']) */
    if (!eat_back(s, lo, &k, ",") || !sep_back(s, lo, k, &at))
        return 0;
    k = at;
    if (!eat_back(s, lo, &k, "("))
        return 0;
    list = list_join_call(s, lo, k, &at);
    path = (len = name_back(s, lo, k, &at)) > 0 && path_call(s, at, len);
    l.named = 1;
    if ((!list && !path) || !read_items(s, n, u, q, &l))
        return 0;
    /* join(SEP, ..) of an object the reading cannot name (p.join(p.sep,
     * ..), require('path').join) may join a list or a path: both read */
    l.root = 0;
    if (list && (rc = read_list_join(ph, s, &l)) != 0)
        return rc;
    l.root = 1;
    return path ? read_list_join(ph, s, &l) : 0;
}

/* After the items of a list, from s[*@i]: its separator, a literal or a
 * name (path.sep, require('path').sep: '/'), into @l; moves *@i past it.
 * A name of any variable is read as '/' only after .join( (@any). */
static int read_sep_after(const char *s, size_t n, unclosed *u, size_t *i, list_join *l, int any)
{
    size_t k = skip(s, n, *i), e;

    l->named = l->root = 0;
    k = chio__gpj_prefixed(s, n, k);
    if (k < n && chio__gpj_quote(s[k])) {
        if (!chio__gpj_read_literal(s, n, k, u, &l->sep))
            return 0;
        *i = l->sep.after;
        return 1;
    }
    l->named = 1;
    if (sep_fwd(s, n, i))
        return 1;
    for (e = n - k > JOIN_GAP_MAX ? k + JOIN_GAP_MAX : n, *i = k;
         any && *i < e && (ident_char((unsigned char)s[*i]) || s[*i] == '.'); (*i)++)
        ;
    return *i > k; /* .join() joins with ',' */
}

/* [..].join(SEP), SEP a literal or a name (path.sep: '/'), the list
 * also Array.of(..), Stream.of(..).collect(Collectors.joining(SEP)),
 * Ruby's [..] * SEP; @lit is the first item. */
static int read_array_join(path_hit *ph, const char *s, size_t n, unclosed *u, const literal *lit)
{
    size_t lo = back_limit(lit->start - 1), q = chio__gpj_prefix_start(s, lo, lit->start - 1), i,
           at;
    char close = opener_back(s, lo, q, &at), t[2] = {0, 0};
    list_join l;

    if (close == 0 || !read_items(s, n, u, q, &l))
        return 0;
    i = l.after;
    t[0] = close;
    (void)eat(s, n, &i, ","); /* a trailing comma */
    if (!eat(s, n, &i, t))
        return 0;
    if (eat(s, n, &i, "*")) /* Ruby: ["", "etc"] * "/" */
        return read_sep_after(s, n, u, &i, &l, 0) ? read_list_join(ph, s, &l) : 0;
    if (!eat(s, n, &i, "."))
        return 0;
    if (eat(s, n, &i, "collect(")) {
        if (!eat(s, n, &i, "Collectors.") || !eat(s, n, &i, "joining(") ||
            !read_sep_after(s, n, u, &i, &l, 0) || !eat(s, n, &i, ")"))
            return 0;
    } else if (!eat(s, n, &i, "join")) {
        return 0;
    } else if (i < n && s[i] == '`') { /* a tagged template: .join`/` */
        l.named = l.root = 0;
        return chio__gpj_read_literal(s, n, i, u, &l.sep) ? read_list_join(ph, s, &l) : 0;
    } else if (!eat(s, n, &i, "(") || !read_sep_after(s, n, u, &i, &l, 1)) {
        return 0;
    }
    if (!eat(s, n, &i, ")"))
        return 0;
    return read_list_join(ph, s, &l);
}

/* JOIN(LIST, SEP): Go's strings.Join([]string{..}, "/"), the separator
 * after the list; @lit is the first item. */
static int read_join_sep_after(path_hit *ph, const char *s, size_t n, unclosed *u,
                               const literal *lit)
{
    size_t lo = back_limit(lit->start - 1), q = chio__gpj_prefix_start(s, lo, lit->start - 1), i,
           at, p;
    char close = opener_back(s, lo, q, &at), t[2] = {0, 0};
    list_join l;

    p = at;
    if (close == 0 || !eat_back(s, lo, &p, "(") || !list_join_call(s, lo, p, &at) ||
        !read_items(s, n, u, q, &l))
        return 0;
    i = l.after;
    t[0] = close;
    (void)eat(s, n, &i, ",");
    if (!eat(s, n, &i, t) || !eat(s, n, &i, ",") || !read_sep_after(s, n, u, &i, &l, 0) ||
        !eat(s, n, &i, ")"))
        return 0;
    return read_list_join(ph, s, &l);
}

/* The shared helpers guard_path_join_url.c calls. */
size_t chio__gpj_skip(const char *s, size_t n, size_t i)
{
    return skip(s, n, i);
}

int chio__gpj_eat(const char *s, size_t n, size_t *i, const char *t)
{
    return eat(s, n, i, t);
}

int chio__gpj_eat_back(const char *s, size_t lo, size_t *i, const char *t)
{
    return eat_back(s, lo, i, t);
}

size_t chio__gpj_name_back(const char *s, size_t lo, size_t i, size_t *start)
{
    return name_back(s, lo, i, start);
}

size_t chio__gpj_back_limit(size_t i)
{
    return back_limit(i);
}

int chio__gpj_absolute(const char *t, size_t len)
{
    return absolute(t, len);
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
        (rc = read_join_sep_after(ph, s, n, u, lit)) != 0)
        return rc;
    return chio__gpj_read_urls(ph, s, n, u, lit);
}
