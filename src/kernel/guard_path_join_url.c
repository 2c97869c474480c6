/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/guard_path_join_url.c - the forbidden_path guard's reading of a
 * relative literal resolved against a file: base (review 17, F2), beside
 * the list joins of guard_path_join_list.c.
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
 * Each literal looks back and forward a bounded number of bytes, so the
 * work stays linear. No state, no locks; a join longer than a stack
 * buffer is malloc'ed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "guard_path.h"
#include "guard_path_join.h"
#include "internal.h"

static int ident_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$';
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
    if (dir > 0 && chio__gpj_absolute(j, dir) && takes_directory(j + dir, rl)) {
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
    size_t lo = chio__gpj_back_limit(lit->start - 1), at, len, p,
           k = chio__gpj_prefix_start(s, lo, lit->start - 1),
           i = chio__gpj_suffix_end(s, n, lit->after);
    literal base;

    if (!chio__gpj_eat_back(s, lo, &k, "(") || (len = chio__gpj_name_back(s, lo, k, &at)) == 0)
        return 0;
    if (len == 5 && memcmp(s + at, "parse", 5) == 0) {
        p = at;
        if (!chio__gpj_eat_back(s, lo, &p, ".") || (len = chio__gpj_name_back(s, lo, p, &at)) == 0)
            return 0;
    }
    if (len != 3 || memcmp(s + at, "URL", 3) != 0 || !chio__gpj_eat(s, n, &i, ","))
        return 0;
    i = chio__gpj_prefixed(s, n, chio__gpj_skip(s, n, i));
    if (i >= n || !chio__gpj_quote(s[i]) || !chio__gpj_read_literal(s, n, i, u, &base))
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
    size_t lo = chio__gpj_back_limit(lit->start - 1), at, len, p,
           k = chio__gpj_prefix_start(s, lo, lit->start - 1);

    if (!chio__gpj_eat_back(s, lo, &k, "(") || (len = chio__gpj_name_back(s, lo, k, &at)) == 0)
        return 0;
    if (len >= 7 && strncasecmp(s + at + len - 7, "urljoin", 7) == 0)
        return 1;
    if (len != 7 || memcmp(s + at, "resolve", 7) != 0)
        return 0;
    p = at;
    return chio__gpj_eat_back(s, lo, &p, ".") && (len = chio__gpj_name_back(s, lo, p, &at)) >= 3 &&
           strncasecmp(s + at + len - 3, "url", 3) == 0;
}

/* BASE then REL: a file: URL followed by a literal through a path-joining
 * gap (urljoin(BASE, REL), URI.join, URI(BASE).resolve(REL)), or an
 * absolute path as urljoin's or url.resolve's first argument; @lit is
 * the base. */
static int read_url_base_rel(path_hit *ph, const char *s, size_t n, unclosed *u, const literal *lit)
{
    size_t q, i = chio__gpj_suffix_end(s, n, lit->after), p;
    literal rel;
    int file = file_url(s, lit);

    if (!file && !url_join_base(s, lit))
        return 0;
    for (q = i; q < n && !chio__gpj_quote(s[q]) && q - i <= JOIN_GAP_MAX; q++)
        ;
    p = q < n ? chio__gpj_prefix_start(s, i, q) : q;
    if (q >= n || !chio__gpj_quote(s[q]) || chio__gpj_gap_join(s, i, p) != 1 ||
        !chio__gpj_read_literal(s, n, q, u, &rel))
        return 0;
    return read_resolved(ph, s, lit, &rel);
}

int chio__gpj_read_urls(path_hit *ph, const char *s, size_t n, unclosed *u, const literal *lit)
{
    int rc = read_url_rel_base(ph, s, n, u, lit);

    return rc != 0 ? rc : read_url_base_rel(ph, s, n, u, lit);
}
