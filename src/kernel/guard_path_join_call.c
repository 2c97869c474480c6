/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/guard_path_join_call.c - the forbidden_path guard's reading of
 * joins that take the directory second, by a key or by a name bound to
 * it (review 20, paths F4), beside the chains of guard_path_join.c.
 *
 * A call that resolves its first argument against a directory given
 * second: Ruby's File.expand_path('shadow', '/etc'), File.absolute_path,
 * File.realpath, File.realdirpath, Perl's File::Spec->rel2abs, .NET's
 * Path.GetFullPath; read as the directory, '/', the name, when the
 * directory is absolute and the name is not.
 *
 * Node's path.format({dir: '/etc', base: 'shadow'}) (any object whose
 * members are literals: dir, root, base, name, ext, keys quoted or
 * not, in any order): the directory (dir, else root), then '/' unless
 * it is the root, then base (else name and ext, with and without the dot
 * newer Node puts before an ext that lacks one).
 *
 * A name bound to an absolute literal, a path made of one
 * (PathBuf::from("/etc"), Path('/etc'), Pathname.new('/etc')) or a
 * string (String::from("/etc/"), "/etc/".to_owned(), '/etc/'), then
 * pushed onto by that name within JOIN_BIND_WINDOW bytes: a path's
 * p.push("shadow") and p /= 'shadow' join with '/', a string's
 * s.push_str("shadow"), s.push('/') and s += 'shadow' with nothing. Each
 * push is read, up to JOIN_LITERALS_MAX (past them a join still above a
 * prefix is a hit); a new binding of the name ends the reading.
 *
 * Review 21 (pathfix F7): those calls without parentheses (Ruby's
 * File.expand_path 'shadow', '/etc'), Perl's fat comma "=>" as the
 * comma, and PowerShell's "Join-Path PARENT CHILD" (bare or quoted
 * words, -Path and -ChildPath), read by chio__gpj_read_join_path.
 *
 * Only hits count. Each literal looks back a bounded way for the forms
 * above and forward at most JOIN_BIND_WINDOW bytes (an object's members,
 * at most JOIN_LITERALS_MAX of them, or a binding's pushes), so the work
 * stays linear. No state, no locks; a join longer than a stack buffer is
 * malloc'ed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "guard_path.h"
#include "guard_path_join.h"
#include "internal.h"

/* How far past a binding its pushes are looked for. */
#define JOIN_BIND_WINDOW 256

static int ident_char(unsigned char c)
{
    return chio__gpj_name_char(c) || (c >= '0' && c <= '9') || c == '$';
}

/* Is the name s[@a, @b) one of @words (@nw)? */
static int word_in(const char *s, size_t a, size_t b, const char *const *words, size_t nw)
{
    size_t w;

    for (w = 0; w < nw; w++)
        if (strlen(words[w]) == b - a && memcmp(s + a, words[w], b - a) == 0)
            return 1;
    return 0;
}

/* After blanks from s[*@i]: a literal, maybe with a string prefix, into
 * *@lit; moves *@i past it (and a C++ suffix). 1, else 0. */
static int literal_at(const char *s, size_t n, unclosed *u, size_t *i, literal *lit)
{
    size_t q = chio__gpj_prefixed(s, n, chio__gpj_skip(s, n, *i));

    if (q >= n || !chio__gpj_quote(s[q]) || !chio__gpj_read_literal(s, n, q, u, lit))
        return 0;
    *i = chio__gpj_suffix_end(s, n, lit->after);
    return 1;
}

/* A join being built: a stack buffer, grown on the heap. */
typedef struct join_buf {
    char stack[PREFIX_STACK], *heap, *j;
    size_t o, cap;
} join_buf;

static void jb_init(join_buf *b)
{
    b->heap = NULL;
    b->j = b->stack;
    b->o = 0;
    b->cap = sizeof(b->stack);
}

/* Room for @need bytes more and a terminator; 0 or CHIO_ENOMEM. */
static int jb_room(join_buf *b, size_t need)
{
    char *t;

    if (b->o + need + 2 > b->cap) {
        if ((t = malloc(b->cap = 2 * (b->o + need) + 64)) == NULL)
            return CHIO_ENOMEM;
        memcpy(t, b->j, b->o);
        free(b->heap);
        b->j = b->heap = t;
    }
    return 0;
}

/* Append the @len bytes @t; 0 or CHIO_ENOMEM. */
static int jb_bytes(join_buf *b, const char *t, size_t len)
{
    if (jb_room(b, len) != 0)
        return CHIO_ENOMEM;
    memcpy(b->j + b->o, t, len);
    b->o += len;
    b->j[b->o] = '\0';
    return 0;
}

/* Append the literal @lit (after a '/' with @slash); 0 or CHIO_ENOMEM. */
static int jb_put(join_buf *b, const char *s, const literal *lit, int slash)
{
    size_t need = 0;

    chio__gpj_put_literal(s, lit, NULL, &need);
    if (jb_room(b, need) != 0)
        return CHIO_ENOMEM;
    if (slash)
        b->j[b->o++] = '/';
    chio__gpj_put_literal(s, lit, b->j, &b->o);
    b->j[b->o] = '\0';
    return 0;
}

/* The join so far read as a path when it is absolute; 1, 0 or
 * CHIO_ENOMEM. */
static int jb_read(path_hit *ph, const join_buf *b)
{
    return chio__gpj_absolute(b->j, b->o) ? chio__gpj_read_join(ph, b->j, b->o) : 0;
}

/* Does the literal @lit start like an absolute path or a home? */
static int lit_absolute(const char *s, const literal *lit)
{
    return lit->end > lit->start && strchr("/\\~", s[lit->start]) != NULL;
}

/* File.expand_path(NAME, DIR) and its kin: @lit is NAME. */
static int read_dir_second(path_hit *ph, const char *s, size_t n, unclosed *u, const literal *lit)
{
    static const char *const words[] = {"expand_path", "absolute_path", "realpath",
                                        "realdirpath", "rel2abs",       "GetFullPath"};
    size_t lo = chio__gpj_back_limit(lit->start - 1),
           k = chio__gpj_prefix_start(s, lo, lit->start - 1),
           i = chio__gpj_suffix_end(s, n, lit->after), at, len;
    literal dir;
    join_buf b;
    int rc;

    /* Ruby's call without parentheses ("File.expand_path 'shadow',
     * '/etc'") and Perl's fat comma ("rel2abs('shadow' => '/etc')"):
     * review 21 F7 */
    if (lit->end == lit->start || lit_absolute(s, lit) ||
        (!chio__gpj_eat_back(s, lo, &k, "(") &&
         (k <= lo || (s[k - 1] != ' ' && s[k - 1] != '\t'))) ||
        (len = chio__gpj_name_back(s, lo, k, &at)) == 0 ||
        !word_in(s, at, at + len, words, sizeof(words) / sizeof(words[0])) ||
        (!chio__gpj_eat(s, n, &i, ",") && !chio__gpj_eat(s, n, &i, "=>")) ||
        !literal_at(s, n, u, &i, &dir) || !lit_absolute(s, &dir))
        return 0;
    jb_init(&b);
    if ((rc = jb_put(&b, s, &dir, 0)) == 0 && (rc = jb_put(&b, s, lit, 1)) == 0)
        rc = jb_read(ph, &b);
    free(b.heap);
    return rc;
}

/* path.format's members. */
enum { PF_DIR, PF_ROOT, PF_BASE, PF_NAME, PF_EXT, PF_KEYS };

/* The object of path.format({..}) from s[@i] (after its '{'): each
 * member's literal into @m (@set), at most JOIN_LITERALS_MAX members.
 * 1 when every member is KEY: LITERAL and the object closes; else 0. */
static int format_members(const char *s, size_t n, unclosed *u, size_t i, literal *m, int *set)
{
    static const char *const keys[] = {"dir", "root", "base", "name", "ext"};
    size_t count, a, b, w;
    literal key, value;

    for (count = 0; count < JOIN_LITERALS_MAX; count++) {
        if (chio__gpj_eat(s, n, &i, "}"))
            return 1;
        a = chio__gpj_skip(s, n, i);
        if (literal_at(s, n, u, &i, &key)) {
            a = key.start;
            b = key.end;
        } else {
            for (b = a; b < n && ident_char((unsigned char)s[b]); b++)
                ;
            i = b;
        }
        if (b == a || !chio__gpj_eat(s, n, &i, ":") || !literal_at(s, n, u, &i, &value))
            return 0;
        for (w = 0; w < PF_KEYS; w++)
            if (strlen(keys[w]) == b - a && memcmp(s + a, keys[w], b - a) == 0) {
                m[w] = value;
                set[w] = 1;
            }
        if (!chio__gpj_eat(s, n, &i, ","))
            return chio__gpj_eat(s, n, &i, "}");
    }
    return 0;
}

/* Is the member @w of @m set and not empty? */
static int filled(const literal *m, const int *set, int w)
{
    return set[w] && m[w].end > m[w].start;
}

/* path.format's result from @m (@set), as Node makes it: dir (else
 * root), a '/' unless that is the root, then base (else name and ext,
 * a dot put before an ext that lacks one when @dot); 1, 0 or
 * CHIO_ENOMEM. */
static int read_format_object(path_hit *ph, const char *s, const literal *m, const int *set,
                              int dot)
{
    const literal *dir = filled(m, set, PF_DIR) ? &m[PF_DIR] : &m[PF_ROOT];
    int has_dir = filled(m, set, PF_DIR) || filled(m, set, PF_ROOT), rc = 0, slash;
    join_buf b;

    /* dir === root: nothing between them and the base */
    slash =
        has_dir && !(set[PF_ROOT] && m[PF_ROOT].end - m[PF_ROOT].start == dir->end - dir->start &&
                     memcmp(s + m[PF_ROOT].start, s + dir->start, dir->end - dir->start) == 0);
    jb_init(&b);
    if (has_dir)
        rc = jb_put(&b, s, dir, 0);
    if (rc == 0 && slash)
        rc = jb_bytes(&b, "/", 1);
    if (rc == 0 && filled(m, set, PF_BASE)) {
        rc = jb_put(&b, s, &m[PF_BASE], 0);
    } else if (rc == 0) {
        if (set[PF_NAME])
            rc = jb_put(&b, s, &m[PF_NAME], 0);
        if (rc == 0 && filled(m, set, PF_EXT) && dot && s[m[PF_EXT].start] != '.')
            rc = jb_bytes(&b, ".", 1);
        if (rc == 0 && filled(m, set, PF_EXT))
            rc = jb_put(&b, s, &m[PF_EXT], 0);
    }
    if (rc == 0)
        rc = jb_read(ph, &b);
    free(b.heap);
    return rc;
}

/* path.format({KEY: LITERAL, ..}): @lit is the object's first literal,
 * its first key (quoted) or its first member's value. */
static int read_path_format(path_hit *ph, const char *s, size_t n, unclosed *u, const literal *lit)
{
    size_t lo = chio__gpj_back_limit(lit->start - 1),
           k = chio__gpj_prefix_start(s, lo, lit->start - 1), at, len;
    literal m[PF_KEYS];
    int set[PF_KEYS] = {0}, rc;

    if (chio__gpj_eat_back(s, lo, &k, ":")) {
        if (chio__gpj_name_back(s, lo, k, &at) == 0)
            return 0; /* a quoted key's value: the key was the first literal */
        k = at;
    }
    if (!chio__gpj_eat_back(s, lo, &k, "{") || !chio__gpj_eat_back(s, lo, &k, "(") ||
        (len = chio__gpj_name_back(s, lo, k, &at)) != 6 || memcmp(s + at, "format", 6) != 0)
        return 0;
    (void)chio__gpj_eat(s, n, &k, "(");
    (void)chio__gpj_eat(s, n, &k, "{");
    if (!format_members(s, n, u, k, m, set))
        return 0;
    if ((rc = read_format_object(ph, s, m, set, 0)) != 0)
        return rc;
    return set[PF_EXT] ? read_format_object(ph, s, m, set, 1) : 0;
}

/* Where the statement of a binding ends: after blanks, ';', a line
 * break or the end; the index after it, 0 when something else follows. */
static size_t statement_end(const char *s, size_t n, size_t i)
{
    while (i < n && chio__gpj_blank(s[i]))
        i++;
    if (i >= n)
        return n;
    return s[i] == ';' || s[i] == '\n' || s[i] == '\r' ? i + 1 : 0;
}

/* A binding of @lit to a name: NAME = LIT, NAME = CALL(LIT) with CALL a
 * path (PathBuf::from, Path, Pathname.new, pathlib.Path) or a string
 * (String::from), let mut NAME: TYPE = ..; also "/etc/".to_owned().
 * The name in [*@a, *@b), *@path when it holds a path, the index after
 * the statement in *@next. 1, else 0. */
static int binding(const char *s, size_t n, const literal *lit, size_t *a, size_t *b, int *path,
                   size_t *next)
{
    size_t lo = chio__gpj_back_limit(lit->start - 1),
           k = chio__gpj_prefix_start(s, lo, lit->start - 1),
           i = chio__gpj_suffix_end(s, n, lit->after), c, at, len;
    int call = 0;

    *path = 0;
    if (chio__gpj_eat_back(s, lo, &k, "(")) {
        /* the callee's chain: PathBuf::from, pathlib.Path, Pathname.new */
        for (c = k;
             c > lo && (ident_char((unsigned char)s[c - 1]) || s[c - 1] == '.' || s[c - 1] == ':');
             c--)
            ;
        if (c == k)
            return 0;
        for (at = c; at + 4 <= k && !*path; at++)
            *path = memcmp(s + at, "Path", 4) == 0 || memcmp(s + at, "path", 4) == 0;
        if (!*path && !(k - c >= 12 && memcmp(s + c, "String::from", 12) == 0))
            return 0;
        k = c;
        call = 1;
        if (!chio__gpj_eat(s, n, &i, ")"))
            return 0;
    }
    if (!call && !chio__gpj_eat(s, n, &i, ".to_owned()") &&
        !chio__gpj_eat(s, n, &i, ".to_string()"))
        (void)chio__gpj_eat(s, n, &i, ".into()");
    if ((*next = statement_end(s, n, i)) == 0 || !chio__gpj_eat_back(s, lo, &k, "=") ||
        (k > lo && s[k - 1] != '\0' && strchr("=!<>+-*/%&|^", s[k - 1]) != NULL))
        return 0; /* ==, +=, <=: no binding */
    if (k > lo && s[k - 1] == ':') {
        k--; /* Go's := */
    } else if ((len = chio__gpj_name_back(s, lo, k, &at)) > 0) {
        c = at; /* let mut p: PathBuf = ..: the name is before the type */
        if (chio__gpj_eat_back(s, lo, &c, ":") && chio__gpj_name_back(s, lo, c, &at) > 0)
            k = c;
    }
    if ((len = chio__gpj_name_back(s, lo, k, &at)) == 0)
        return 0;
    *a = at;
    *b = at + len;
    return 1;
}

/* At s[@k], the bound name [@a, @b) as a word, then a push: its literal
 * in *@lit, *@slash when it joins with '/', the index after it in
 * *@next; 1. 2 when the name is bound anew there (the reading ends); 0
 * when neither. */
static int push_at(const char *s, size_t n, unclosed *u, size_t k, size_t a, size_t b, int path,
                   literal *lit, int *slash, size_t *next)
{
    size_t len = b - a, i = k + len;

    if (n - k < len || memcmp(s + k, s + a, len) != 0 ||
        (k > 0 && ident_char((unsigned char)s[k - 1])) ||
        (i < n && ident_char((unsigned char)s[i])))
        return 0;
    *slash = path;
    if (chio__gpj_eat(s, n, &i, path ? ".push(" : ".push_str(") ||
        (!path && chio__gpj_eat(s, n, &i, ".push("))) {
        if (!literal_at(s, n, u, &i, lit) || !chio__gpj_eat(s, n, &i, ")"))
            return 0;
    } else if (chio__gpj_eat(s, n, &i, path ? "/=" : "+=")) {
        if (!literal_at(s, n, u, &i, lit))
            return 0;
    } else {
        i = chio__gpj_skip(s, n, i);
        return i + 1 < n && s[i] == '=' && s[i + 1] != '=' ? 2 : 0;
    }
    *next = i;
    return 1;
}

/* Is @j (@len bytes) a directory above a prefix, in any reading? */
static int join_above(void *ctx, const char *p, size_t len)
{
    return chio__gp_ancestor(ctx, p, len);
}

/* A name bound to @lit, then pushed onto (see the file's comment). */
static int read_pushes(path_hit *ph, const char *s, size_t n, unclosed *u, const literal *lit)
{
    size_t a, b, k, e, next = 0, pushes = 0;
    int path, slash, rc, got;
    literal p;
    join_buf jb;

    if (!lit_absolute(s, lit) || !binding(s, n, lit, &a, &b, &path, &k))
        return 0;
    jb_init(&jb);
    rc = jb_put(&jb, s, lit, 0);
    for (e = n - k > JOIN_BIND_WINDOW ? k + JOIN_BIND_WINDOW : n; rc == 0 && k < e;) {
        if ((got = push_at(s, n, u, k, a, b, path, &p, &slash, &next)) == 2)
            break;
        if (got == 0) {
            k++;
            continue;
        }
        if (++pushes > JOIN_LITERALS_MAX) {
            got = chio__path_readings(jb.j, jb.o, join_above, ph);
            rc = got == 1 || got == CHIO_ENOMEM ? got : 0;
            break;
        }
        if ((rc = jb_put(&jb, s, &p, slash)) == 0)
            rc = jb_read(ph, &jb);
        k = next;
    }
    free(jb.heap);
    return rc;
}

int chio__gpj_read_calls(path_hit *ph, const char *s, size_t n, unclosed *u, const literal *lit)
{
    int rc;

    if ((rc = read_dir_second(ph, s, n, u, lit)) != 0 ||
        (rc = read_path_format(ph, s, n, u, lit)) != 0)
        return rc;
    return read_pushes(ph, s, n, u, lit);
}

/* PowerShell's Join-Path: its words, within JOIN_BIND_WINDOW bytes. */
#define JOIN_PATH_WORDS 6

/* One word of a command from s[*@i] (after blanks): a quoted one without
 * its quotes, else up to a blank or an operator. Its text in [*@a, *@b);
 * moves *@i past it. 1, else 0 (none before @lim). */
static int ps_word(const char *s, size_t lim, size_t *i, size_t *a, size_t *b)
{
    size_t k = *i;

    while (k < lim && (s[k] == ' ' || s[k] == '\t'))
        k++;
    if (k >= lim || strchr(";|&)(\n\r", s[k]) != NULL)
        return 0;
    if (s[k] == '\'' || s[k] == '"') {
        char q = s[k];
        *a = ++k;
        while (k < lim && s[k] != q)
            k++;
        if (k >= lim)
            return 0;
        *b = k;
        *i = k + 1;
        return 1;
    }
    *a = k;
    while (k < lim && strchr(" \t;|&)(\n\r", s[k]) == NULL)
        k++;
    *b = *i = k;
    return 1;
}

/* "Join-Path /etc shadow", "Join-Path -Path '/etc' -ChildPath 'shadow'"
 * (review 21 F7): the parent, '/', the child; read when the parent is
 * absolute. Each "Join-Path" reads at most JOIN_PATH_WORDS words within
 * JOIN_BIND_WINDOW bytes. */
int chio__gpj_read_join_path(path_hit *ph, const char *s, size_t n)
{
    size_t i, k, lim, a, b, w, part[2][2], slot;
    int set[2], named, rc = 0;
    join_buf jb;

    for (i = 0; rc == 0 && i + 10 <= n; i++) {
        if ((s[i] != 'J' && s[i] != 'j') || strncasecmp(s + i, "join-path", 9) != 0 ||
            (s[i + 9] != ' ' && s[i + 9] != '\t'))
            continue;
        lim = n - i > JOIN_BIND_WINDOW ? i + JOIN_BIND_WINDOW : n;
        set[0] = set[1] = 0;
        named = -1;
        for (k = i + 9, w = 0; w < JOIN_PATH_WORDS && ps_word(s, lim, &k, &a, &b); w++) {
            if (s[a] == '-' && b > a + 1 && k > a && s[k - 1] != '\'' && s[k - 1] != '"') {
                /* -Path, -ChildPath (-c..), others (-Resolve) take none */
                named = (s[a + 1] | 0x20) == 'c' ? 1 : (s[a + 1] | 0x20) == 'p' ? 0 : -1;
                continue;
            }
            slot = named >= 0 ? (size_t)named : set[0] ? 1 : 0;
            named = -1;
            if (set[slot])
                continue;
            part[slot][0] = a;
            part[slot][1] = b;
            set[slot] = 1;
        }
        if (!set[0] || !set[1] || part[1][1] == part[1][0])
            continue;
        jb_init(&jb);
        if ((rc = jb_bytes(&jb, s + part[0][0], part[0][1] - part[0][0])) == 0 &&
            (rc = jb_bytes(&jb, "/", 1)) == 0 &&
            (rc = jb_bytes(&jb, s + part[1][0], part[1][1] - part[1][0])) == 0)
            rc = jb_read(ph, &jb);
        free(jb.heap);
    }
    return rc;
}
