/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/guard_path_cwd.c - the forbidden_path guard's reading of
 * relative paths from the working directories a call's arguments may set
 * ("cd / && cat etc/passwd", "tar -C / -xf t etc/shadow",
 * {"cwd": "/root", "file": ".ssh/id_rsa"}). A relative word names nothing
 * the guard can place on its own; once the arguments name a directory
 * above a forbidden prefix, or change directory to a place the guard
 * cannot tell, each relative word is read again from there, at worst.
 * Runs over every leaf of the arguments together (the directory and the
 * path may be two arguments), after the per-leaf readings of
 * guard_path.c found nothing: a first walk collects the directories
 * (guard_path_cwd_roots.c), then each round reads the words from those
 * the last one added. No state, no locks; the roots and the readings are
 * malloc'ed for the call and freed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "constraint_domain.h"
#include "glob_reach.h"
#include "guard_path.h"
#include "guard_path_cwd.h"
#include "guard_scan.h"
#include "internal.h"
#include "normalize.h"
#include "shell_ansi.h"
#include "shell_assign.h"
#include "shell_braces.h"
#include "shell_words.h"

/* ---- reading relative words from them ------------------------------------------------------- */

/* Could the glob @j (@jl bytes, absolute) match a directory above a
 * prefix other than "/" ("/e?c" for "/etc/shadow": "cd /; cd e?c")? */
static int glob_above(cwd_scan *cs, const char *j, size_t jl)
{
    size_t i, e;
    int rc;

    if (!chio__gpc_unplaced(j, jl) || memchr(j, '$', jl) != NULL || memchr(j, '`', jl) != NULL)
        return 0;
    for (i = 0; i < cs->ph.g->nprefixes; i++) {
        const char *norm = cs->ph.g->norm_prefixes[i];
        size_t xlen = cs->ph.g->norm_lens[i];
        if (norm == NULL || xlen == 0 || norm[0] != '/')
            continue;
        for (e = 1; e < xlen; e++) {
            if (norm[e] != '/' || e + 1 >= xlen)
                continue;
            if ((rc = chio__glob_may_reach(j, jl, norm, e, 0)) == CHIO_ENOMEM)
                cs->ph.nomem = 1;
            if (rc == 1)
                return 1;
        }
    }
    return 0;
}

/* @base + @per x @text, at most @max. */
static size_t join_bound(size_t base, size_t per, size_t text, size_t max)
{
    return text > (max - base) / per ? max : base + per * text;
}

/* Root @r joined with the relative word @w (@n bytes), in @stack
 * (PREFIX_STACK bytes) or in a block left in *@heap for the caller to
 * free, its length in *@jl. NULL with *@rc CHIO_EINVAL when the joins
 * pass their bounds (too_much), or CHIO_ENOMEM. */
static char *join_root(cwd_scan *cs, size_t r, const char *w, size_t n, char *stack, char **heap,
                       size_t *jl, int *rc)
{
    size_t rl = cs->lens[r], sep;
    char *j = stack;

    *heap = NULL;
    /* "/" and "etc/passwd" are "/etc/passwd": "//" would be a UNC host */
    sep = rl > 0 && (cs->roots[r][rl - 1] == '/' || cs->roots[r][rl - 1] == '\\') ? 0 : 1;
    *jl = rl + sep + n;
    cs->jbytes += *jl;
    if (cs->too_much ||
        ++cs->joins > join_bound(CWD_JOINS_BASE, CWD_JOINS_PER_BYTE, cs->text, CWD_JOINS_MAX) ||
        cs->jbytes > join_bound(CWD_JOIN_BYTES_BASE, CWD_JOIN_BYTES_PER_BYTE, cs->text,
                                CWD_JOIN_BYTES_MAX)) {
        cs->too_much = 1;
        *rc = CHIO_EINVAL;
        return NULL;
    }
    if (*jl + 1 > PREFIX_STACK && (j = *heap = malloc(*jl + 1)) == NULL) {
        *rc = CHIO_ENOMEM;
        return NULL;
    }
    memcpy(j, cs->roots[r], rl);
    j[rl] = '/';
    memcpy(j + rl + sep, w, n);
    j[*jl] = '\0';
    return j;
}

/* A word with no separator from root @r at worst ("cd .. && cat
 * secret.key", "cd $X && cat shadow-"): a hit only at or under an open
 * prefix, one that names a file or the start of a name ("/secret.key",
 * "/etc/shadow"). The directory a prefix ending in a separator names
 * ("root" from "/" under "/root/") is not read so: such a bare name is
 * common ("chown root x") and lists no more than its names, and what is
 * under it takes a separator or a walker, both read. */
static int read_bare(cwd_scan *cs, size_t r, const char *w, size_t n)
{
    char stack[PREFIX_STACK], *heap, *j;
    path_hit probe = cs->ph;
    const chio__guard_reg *view = cs->ph.g->open_view; /* NULL: none open */
    size_t jl;
    int rc = 0;

    if (view == NULL || chio__gpc_unplaced(w, n))
        return 0;
    if ((j = join_root(cs, r, w, n, stack, &heap, &jl, &rc)) == NULL)
        return rc;
    probe.g = view;
    rc = chio__gp_check_path_hits(&probe, j, jl);
    free(heap);
    if (probe.nomem || rc == CHIO_ENOMEM)
        return CHIO_ENOMEM;
    if (rc == 1)
        cs->ph.prefix = view->open_map[probe.prefix];
    return rc == 1; /* a bare word that cannot be read is left as before */
}

/* Root @r joined with the relative word @w: under a prefix (as written,
 * as its globs read at worst, or as a glob that may reach one) is a hit;
 * an ancestor of a prefix is a root too ("cd /; cd etc; cat shadow"). */
static int read_join(cwd_scan *cs, size_t r, const char *w, size_t n)
{
    char stack[PREFIX_STACK], *heap;
    size_t jl;
    int rc = 0;
    char *j = join_root(cs, r, w, n, stack, &heap, &jl, &rc);

    if (j == NULL)
        return rc;
    rc = chio__gp_check_path_hits(&cs->ph, j, jl);
    if (rc == 0)
        rc = chio__gp_check_glob_reading(&cs->ph, j, jl);
    if (rc == 0)
        rc = chio__gp_check_glob_words(&cs->ph, j, jl);
    if (rc == 0 && (chio__gpc_is_ancestor(cs, j, jl) || (!cs->worst[r] && glob_above(cs, j, jl)))) {
        rc = chio__gpc_add_root(cs, j, jl, cs->worst[r], cs->walked[r]);
    }
    free(heap);
    return cs->ph.nomem ? CHIO_ENOMEM : rc;
}

/* Is some segment of @w (@n bytes) that holds no glob a segment of a
 * prefix (".ssh" after a leading glob segment, under "/home/alice/.ssh/")? */
static int names_a_prefix_segment(cwd_scan *cs, const char *w, size_t n)
{
    size_t i = 0, e, k, a, b;

    for (; i < n; i = e + 1) {
        for (e = i; e < n && w[e] != '/' && w[e] != '\\'; e++)
            ;
        if (e == i || chio__gpc_unplaced(w + i, e - i))
            continue;
        for (k = 0; k < cs->ph.g->nprefixes; k++) {
            const char *norm = cs->ph.g->norm_prefixes[k];
            size_t xlen = cs->ph.g->norm_lens[k];
            for (a = 0; norm != NULL && a < xlen; a = b + 1) {
                for (b = a; b < xlen && norm[b] != '/'; b++)
                    ;
                if (b - a == e - i && strncasecmp(norm + a, w + i, e - i) == 0)
                    return 1;
            }
        }
    }
    return 0;
}

/* The word [@w, @w + @n) read from each root of this round. From a root
 * at worst a word that holds a separator ("etc/passwd", not the user name
 * in "chown root:root" after "cd $REPO"; one with none only against the
 * open prefixes, read_bare), and one that opens with a glob only when a
 * later segment names a prefix's (after "cd $d", a star and a slash are
 * any directory's children; bash's star matches no dot name). */
static int read_word(cwd_scan *cs, const char *w, size_t n)
{
    size_t r;
    int rc = 0, sep, worst_ok;

    sep = memchr(w, '/', n) != NULL || memchr(w, '\\', n) != NULL;
    worst_ok = sep && (strchr("*?[", w[0]) == NULL || names_a_prefix_segment(cs, w, n));
    for (r = cs->lo; rc == 0 && r < cs->hi; r++)
        if (cs->worst[r] ? worst_ok : 1)
            rc = read_join(cs, r, w, n);
        else if (!sep)
            rc = read_bare(cs, r, w, n);
    return rc;
}

/* Each relative word of @t read from each root of this round: a word
 * not starting with a separator, "~+/" and "$PWD/" dropped from its
 * head, and the value glued to a short option ("-oshadow",
 * "-i.ssh/id_rsa", "-fetc/passwd": each tail after the option letters,
 * up to four of them). */
static int read_text(cwd_scan *cs, const char *t, size_t n)
{
    const char *dirs[CWD_ROOTS_MAX];
    size_t i = 0, j, brk, h, p, dlens[CWD_ROOTS_MAX], nd = 0;
    int rc = 0, stack;

    for (i = cs->lo; i < cs->hi; i++)
        if (cs->walked[i] && cs->norms[i] != NULL) {
            dirs[nd] = cs->norms[i];
            dlens[nd++] = strlen(cs->norms[i]);
        }
    if (nd > 0 && (rc = chio__gp_check_walk_in(&cs->ph, t, n, dirs, dlens, nd)) != 0)
        return rc;
    i = 0;
    while (rc == 0 && i < n) {
        j = chio__gp_cwd_word_at(t, n, i, &brk);
        h = j > i ? chio__gpc_dir_head(t + i, j - i, &stack) : 0;
        if (j > i + h && t[i + h] != '/' && t[i + h] != '\\' && t[i + h] != '-')
            rc = read_word(cs, t + i + h, j - i - h);
        if (j - i > 2 && t[i] == '-' && t[i + 1] != '-')
            for (p = 2; rc == 0 && p < j - i && p <= 5 &&
                        chio__ascii_lower((unsigned char)t[i + p - 1]) >= 'a' &&
                        chio__ascii_lower((unsigned char)t[i + p - 1]) <= 'z';
                 p++)
                if (t[i + p] != '/' && t[i + p] != '\\' && t[i + p] != '-')
                    rc = read_word(cs, t + i + p, j - i - p);
        i = j + brk;
    }
    return rc;
}

/* ---- the readings of a leaf ----------------------------------------------------------------- */

/* @t with the working directory standing as a whole word (the directory
 * itself: "cp -r $PWD /tmp/x", "tar cf - \"$PWD\"", "${PWD%/}",
 * "$(pwd)", "$(realpath .)"; one the shell keeps, "${OLDPWD%/}",
 * "${DIRSTACK[1]}", read from any directory: chio__gpc_whole_dir)
 * written as ".", into @out (@n bytes at least); its length, @n when
 * none. */
static size_t pwd_as_dot(const char *t, size_t n, char *out)
{
    size_t i = 0, o = 0, j, brk, k, last = (size_t)-1;
    int any = 0, stack;

    for (j = 0, brk = 1; i < n;) {
        /* within a run read in pieces, its word's end stands */
        if (i != last || i >= j)
            j = chio__gp_cwd_word_at(t, n, i, &brk);
        if ((k = chio__gpc_whole_dir(t, n, i, j, &stack)) > 0) {
            /* one "." for a run read in pieces (chio__gpc_whole_dir) */
            if (i != last)
                out[o++] = '.';
            any = 1;
            i += k;
            last = i;
            continue;
        }
        memcpy(out + o, t + i, j - i);
        o += j - i;
        k = j + brk < n ? brk : n - j;
        memcpy(out + o, t + j, k);
        o += k;
        i = j + k;
    }
    return any ? o : n;
}

/* Could @t (@n bytes) hold a working directory as a whole word
 * (pwd_as_dot)? */
static int may_name_dir(const char *t, size_t n)
{
    return memmem(t, n, "PWD", 3) != NULL || memmem(t, n, "DIRSTACK", 8) != NULL ||
           memmem(t, n, "pwd", 3) != NULL || memmem(t, n, "real", 4) != NULL ||
           memmem(t, n, "readl", 5) != NULL || memmem(t, n, "dirs", 4) != NULL ||
           memchr(t, '~', n) != NULL || memmem(t, n, "${!", 3) != NULL ||
           memmem(t, n, "$(", 2) != NULL || memchr(t, '`', n) != NULL ||
           memmem(t, n, "$_", 2) != NULL || memmem(t, n, "${_", 3) != NULL;
}

static int one_text(cwd_scan *cs, const char *t, size_t n)
{
    char stack[PREFIX_STACK], *heap = NULL, *d = stack;
    size_t len;
    int rc;

    if (!cs->reading)
        return chio__gpc_collect_text(cs, t, n);
    if ((rc = read_text(cs, t, n)) != 0 || !may_name_dir(t, n))
        return rc;
    /* the working directory as a whole word, read as "." (review 21 F3,
     * review 22 P3) */
    if (n + 1 > sizeof(stack) && (d = heap = malloc(n + 1)) == NULL)
        return CHIO_ENOMEM;
    if ((len = pwd_as_dot(t, n, d)) < n)
        rc = read_text(cs, d, len);
    free(heap);
    return rc;
}

/* one_text as a callback (chio__shell_each_tilde_reading,
 * chio__shell_each_ansi_reading) */
static int any_text(void *ctx, const char *t, size_t tl)
{
    return chio__gpc_noted(ctx, one_text(ctx, t, tl));
}

/* @s with its ANSI-C strings decoded, when it holds any, each way
 * (chio__shell_each_ansi_reading: "cd /$'\x65tc' && cat shadow"), then,
 * for the relative words, with its expansions that may be empty read as
 * nothing (chio__shell_unquote_empty); a reading that equals @s is
 * skipped, as every caller has read @s. */
static int ansi_text(cwd_scan *cs, const char *s, size_t n)
{
    char stack[PREFIX_STACK], *heap = NULL, *d = stack;
    size_t len;
    int rc = 0;

    if (chio__shell_has_ansi(s, n))
        rc = chio__shell_each_ansi_reading(s, n, any_text, cs);
    if (rc != 0 || !cs->reading || !chio__shell_has_expansion(s, n))
        return rc;
    /* relative words with their expansions that may be empty read as
     * nothing: "cd / && cat e$(:)tc/shadow". Not where directories are
     * collected: there an empty operand would be "cd" alone, the home
     * (a quoted empty operand is not). */
    if (n + 1 > sizeof(stack) && (d = heap = malloc(n + 1)) == NULL)
        return CHIO_ENOMEM;
    len = chio__shell_unquote_empty(s, n, 0, d, NULL);
    if (len != n || memcmp(d, s, n) != 0)
        rc = one_text(cs, d, len);
    free(heap);
    return rc;
}

/* The shell's reading of @s, the same with its ANSI-C strings decoded,
 * and its homes placed at worst (as chio__gp_check_tilde_and_glob places
 * them: "cd ~ && cat .ssh/x"). */
static int shell_texts(cwd_scan *cs, const char *s, size_t n)
{
    char stack[PREFIX_STACK], *heap = NULL;
    const char *d = s;
    size_t len = n;
    int rc = ansi_text(cs, s, n);

    if (rc != 0)
        return rc;

    if (chio__shell_may_differ(s, n)) {
        if ((d = chio__shell_reading(s, n, stack, sizeof(stack), &heap, &len)) == NULL)
            return CHIO_ENOMEM;
        if (len != n || memcmp(d, s, n) != 0)
            rc = one_text(cs, d, len);
    }
    if (rc == 0 && (memchr(d, '~', len) != NULL || memchr(d, '$', len) != NULL))
        rc = chio__gpc_reading_rc(cs, chio__shell_each_tilde_reading(d, len, any_text, cs));
    free(heap);
    return rc;
}

/* @s with the variables it assigns in place of their references, the
 * latest value of each (chio__shell_assigned_reading): "d=$PWD; cd /tmp;
 * tar cf - \"$d\"" is read with "$PWD" standing as the word (review 23
 * Q7). A reading past its bounds was denied by guard_path.c's reading
 * of the same leaf, so it adds nothing here. */
static int assigned_texts(cwd_scan *cs, const char *s, size_t n)
{
    char *d;
    size_t len;
    unsigned most = 0;
    int rc;

    if (memchr(s, '$', n) == NULL)
        return 0;
    rc = chio__shell_assigned_reading(s, n, -1, &d, &len, &most);
    if (rc == CHIO_ENOMEM)
        return rc;
    if (rc != 1)
        return 0;
    if (len != n || memcmp(d, s, n) != 0) {
        rc = one_text(cs, d, len);
        if (rc == 0)
            rc = shell_texts(cs, d, len);
    } else {
        rc = 0;
    }
    free(d);
    return rc;
}

static int nr_name_char(unsigned char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Does @s (@n bytes) declare a nameref: "declare", "typeset" or "local"
 * with an option word holding 'n', or one that is computed ("declare
 * $x r=PWD", "local $1 r=PWD"), read at worst? */
static int declares_nameref(const char *s, size_t n)
{
    static const char *const kw[] = {"declare", "typeset", "local"};
    size_t i, k, l, e, walked = 0;

    for (i = 0; i < n; i++) {
        if (i > 0 && nr_name_char((unsigned char)s[i - 1]))
            continue;
        for (k = 0; k < 3; k++) {
            l = strlen(kw[k]);
            if (n - i <= l || memcmp(s + i, kw[k], l) != 0 || (s[i + l] != ' ' && s[i + l] != '\t'))
                continue;
            /* A keyword inside a run of option words already walked
             * ("-declare -declare ..."): its walk starts at a blank of
             * that run, so it visits the same words to the same end and
             * finds nothing either; one pass in all (review 25 paths C1) */
            if (i + l < walked)
                continue;
            /* its option words */
            for (e = i + l; e < n;) {
                size_t w;
                while (e < n && (s[e] == ' ' || s[e] == '\t'))
                    e++;
                for (w = e; w < n && s[w] != ' ' && s[w] != '\t' && s[w] != ';' && s[w] != '\n' &&
                            s[w] != '&' && s[w] != '|';
                     w++)
                    ;
                if (w == e || (s[e] != '-' && s[e] != '+' && s[e] != '$' && s[e] != '"'))
                    break;
                if (memchr(s + e, '$', w - e) != NULL || (s[e] != '"' && memchr(s + e, 'n', w - e)))
                    return 1;
                e = w;
            }
            walked = e;
        }
    }
    return 0;
}

/* @s with a nameref's target read as the parameter it names: after
 * "declare -n r=PWD", "$r" is "$PWD" (review 24 paths R5). When the text
 * declares one, each assignment of a name ("r=PWD", later "r=PWD" too)
 * is read as one of its value ("r=$PWD"), and read as assigned_texts
 * reads. */
static int assigned_texts(cwd_scan *cs, const char *s, size_t n);

static int nameref_texts(cwd_scan *cs, const char *s, size_t n)
{
    char *d;
    size_t i, o = 0;
    int rc;

    if (memchr(s, '=', n) == NULL || !declares_nameref(s, n))
        return 0;
    if ((d = malloc(2 * n + 1)) == NULL)
        return CHIO_ENOMEM;
    for (i = 0; i < n; i++) {
        d[o++] = s[i];
        if (s[i] == '=' && i > 0 && nr_name_char((unsigned char)s[i - 1]) && i + 1 < n &&
            (s[i + 1] == '_' || ((s[i + 1] | 0x20) >= 'a' && (s[i + 1] | 0x20) <= 'z')))
            d[o++] = '$';
    }
    rc = one_text(cs, d, o);
    if (rc == 0)
        rc = assigned_texts(cs, d, o);
    free(d);
    return rc;
}

/* The text a second shell reads (chio__shell_inner_text: a "-c"
 * script with "set -- $1 .. $9" in front, eval, "| bash") with its
 * assignments and positional words in place, so that the script's own
 * change of directory sees them: "bash -c 'cd /$1 && cat sha*' _ etc"
 * is "cd /etc && cat sha*" (review 23 Q4). */
static int inner_texts(cwd_scan *cs, const char *s, size_t n)
{
    char *t;
    size_t tl;
    int rc;

    if (memchr(s, '$', n) == NULL)
        return 0;
    if ((rc = chio__shell_inner_text(s, n, &t, &tl)) != 1 && rc != 2)
        return rc == CHIO_ENOMEM ? rc : 0;
    if (rc == 2) /* "$0" filled in: the text as it stands */
        rc = one_text(cs, t, tl);
    else
        rc = 0;
    if (rc == 0)
        rc = assigned_texts(cs, t, tl);
    free(t);
    return rc;
}

/* A leaf @s as written, as a shell reads it, percent-decoded once and as
 * bash expands its braces. */
static int leaf_texts(cwd_scan *cs, const char *s, size_t n)
{
    char stack[PREFIX_STACK], *heap = NULL, *d = stack, *e;
    size_t len;
    int rc = one_text(cs, s, n);

    if (rc == 0)
        rc = shell_texts(cs, s, n);
    if (rc == 0)
        rc = assigned_texts(cs, s, n);
    if (rc == 0)
        rc = inner_texts(cs, s, n);
    if (rc == 0)
        rc = nameref_texts(cs, s, n);
    if (rc == 0 && chio__has_escape(s, n)) {
        if (n + 1 > sizeof(stack) && (d = heap = malloc(n + 1)) == NULL)
            return CHIO_ENOMEM;
        len = chio__percent_decode(s, n, d);
        rc = one_text(cs, d, len);
        if (rc == 0)
            rc = shell_texts(cs, d, len);
        free(heap);
    }
    if (rc == 0 && memchr(s, '{', n) != NULL) {
        int b = chio__shell_brace_expand(s, n, &e, &len);
        if (b == CHIO__BRACES_NOMEM)
            return CHIO_ENOMEM;
        if (b == 1) {
            rc = one_text(cs, e, len);
            if (rc == 0)
                rc = shell_texts(cs, e, len);
            free(e);
        }
        /* one past its bounds was denied by guard_path.c's reading */
    }
    return rc;
}

static int each_leaf(void *ctx, chio__key *key, const char *s, size_t n, int is_key)
{
    cwd_scan *cs = ctx;
    int rc;

    /* {"cwd": "..", ...} and {"cwd": {"path": ".."}}: the value is a
     * change of directory */
    if (!cs->reading && !is_key && n > 0 && key->name != NULL &&
        (chio__gp_cd_key(key->name) || (key->up != NULL && chio__gp_cd_key(key->up->name))) &&
        (rc = chio__gpc_cd_value(cs, s, n, 0)) != 0)
        return rc;
    /* a key is a name, read neither as a command nor as a relative word
     * ({"root": "/"} names no file "root"; {"cwd": ".."} no bare "cwd") */
    if (is_key)
        return 0;
    if (!cs->reading)
        cs->text += n;
    if ((rc = leaf_texts(cs, s, n)) != 0)
        return rc;
    /* the strings of JSON a string holds, as embedded_hit reads them; JSON
     * that cannot be read one way was denied there */
    if (!is_key && key->name != NULL && cs->depth < CHIO__EMBEDDED_MAX) {
        cs->depth++;
        rc = chio__each_embedded(s, n, key, cs->depth - 1, each_leaf, NULL, cs);
        cs->depth--;
        if (rc == CHIO__EMBEDDED_AMBIGUOUS)
            rc = 0;
    }
    return rc;
}

int chio__forbidden_cwd_hit(const chio__guard_reg *g, const chio_json *args, char *details,
                            size_t cap)
{
    cwd_scan cs;
    size_t i;
    int rc;

    memset(&cs, 0, sizeof(cs));
    cs.ph.g = g;
    /* a word joined with a working directory counts only by its hits;
     * one through an unknown link ("cd /dev && cat stdin/x") is one */
    cs.ph.links_hit = 1;
    rc = chio__each_text(args, 0, each_leaf, &cs);
    cs.reading = 1;
    /* each round reads from the roots the last one added */
    for (cs.hi = 0; rc == 0 && !cs.too_much && cs.hi < cs.nroots;) {
        cs.lo = cs.hi;
        cs.hi = cs.nroots;
        rc = chio__each_text(args, 0, each_leaf, &cs);
    }
    for (i = 0; i < cs.nroots; i++) {
        free(cs.roots[i]);
        free(cs.norms[i]);
    }
    if (rc == CHIO_ENOMEM || cs.ph.nomem)
        return CHIO_ENOMEM;
    if (rc > 0) {
        snprintf(details, cap,
                 "an argument is under forbidden prefix '%s' when read from a working "
                 "directory the arguments name",
                 g->prefixes[cs.ph.prefix]);
        return 1;
    }
    if (cs.too_much || rc < 0) { /* fail closed: what was not read denies */
        snprintf(details, cap, "%s",
                 cs.too_much ? "the arguments name more working directories or relative paths "
                               "than the guard reads"
                             : "the arguments cannot be read from the working directories they "
                               "name");
        return 1;
    }
    return 0;
}
