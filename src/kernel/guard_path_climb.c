/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/guard_path_climb.c - the forbidden_path guard's reading of a
 * relative word that climbs above its start ("../README.md",
 * "a/../../etc/x"; review 52's most frequent false denial). The guard
 * reads every relative word as if the tool's working directory were
 * outside the prefixes (otherwise each relative word would be a hit); a
 * word that climbs lands in an ancestor of that directory, which may be
 * any directory outside the prefixes. Its rest after the climb can reach
 * a prefix only from "/" or a proper ancestor of an absolute prefix
 * ("../etc/passwd" from /workspace is /etc/passwd), or through the links
 * of /proc and /dev; so the rest is read from each of those. A ".." after
 * the climb that pops a segment ("../a/../x") is not read so. The word is
 * also a directory to a tool that changes to it or walks it, and the
 * guard does not follow a working directory through a chain of changes
 * ("cd /etc/ssl && cd .. && cat shadow"): so a word that may land in a
 * directory above a prefix ("..", "../etc" under "/etc/shadow") stays
 * unreadable, as every climbing word was before review 53, and only one
 * that lands beside the prefixes ("../web", "../README.md") is read so.
 * Only plain words are read so (printable ASCII without a quote, an
 * expansion, a glob, a brace, a home, '%' or '\\'; plain_word): every
 * reading the guard makes of one is the same bytes; any other word that
 * climbs stays unreadable. Also chio__gp_ancestor, the directories above
 * a prefix, which the readings of working directories and of walking
 * tools share. No state, no locks; a join longer than the stack buffer
 * is malloc'ed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "glob_reach.h"
#include "guard_path.h"
#include "internal.h"

/* Printable ASCII but for a quote, an expansion, a glob, a brace, an
 * extglob group, a percent escape and a backslash; a '~' only inside a
 * name ("x.bak~", not a home's "~" or "a/~b"), a space only inside the
 * word (not one trim() drops), and no "file:" at the start:
 * chio__path_readings reads such a word once, by its segments alone, and
 * no reading of a shell's makes it another word. */
static int plain_word(const char *w, size_t n)
{
    size_t i;

    if (n >= 5 && strncasecmp(w, "file:", 5) == 0)
        return 0;
    if (n > 0 && (w[0] == ' ' || w[n - 1] == ' '))
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)w[i];
        if (c < 0x20 || c >= 0x7f || strchr("$`*?[]{}'\"\\%!()&", c) != NULL)
            return 0; /* '&': sed's whole match ("s|.*|cat ../&/x|") */
        if (c == '~' && (i == 0 || strchr("/=: ", w[i - 1]) != NULL))
            return 0;
    }
    return 1;
}

/* @w (@n bytes, plain and relative) with its dot segments resolved as
 * chio__path_normalize resolves them ("/" separates, empty and "."
 * segments dropped, ".." pops one), a ".." above the start counted in
 * *@climbs instead of refused. The rest goes to @out (room for @n + 1
 * bytes), its length to *@len. CHIO_EINVAL when a ".." after the climb
 * pops a segment: where the climb landed is not known, and below some
 * directories a ".." is not lexical ("../self/root/../etc" is /etc from
 * /proc/1, where "root" is a link to "/"; review 53).
 *
 * climbs() in guard_path_cwd_roots.c also counts a climb, and differs on
 * purpose: it reads a cd target, which may be a Windows-style path, so it
 * splits at '\' too, and it only asks whether the target climbs, so a
 * pop after the climb is counted, not refused. This one reads a plain
 * word whose rest is joined with each landing, so where it lands must be
 * exact. */
static int resolve(const char *w, size_t n, char *out, size_t *len, size_t *climbs)
{
    size_t i = 0, o = 0;

    *climbs = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && w[j] != '/')
            j++;
        if (j - i == 2 && w[i] == '.' && w[i + 1] == '.') {
            if (o == 0) {
                (*climbs)++;
            } else {
                if (*climbs > 0)
                    return CHIO_EINVAL; /* where it landed is not known */
                while (o > 0 && out[o - 1] != '/')
                    o--;
                if (o > 0)
                    o--;
            }
        } else if (j - i > 1 || (j - i == 1 && w[i] != '.')) {
            if (o > 0)
                out[o++] = '/';
            memcpy(out + o, w + i, j - i);
            o += j - i;
        }
        i = j + 1;
    }
    out[o] = '\0';
    *len = o;
    return 0;
}

int chio__gp_ancestor(path_hit *ph, const char *p, size_t len)
{
    size_t i;

    if (len == 0 || p[0] != '/')
        return 0;
    for (i = 0; i < ph->g->nprefixes; i++) {
        const char *norm = ph->g->norm_prefixes[i];
        size_t xlen = ph->g->norm_lens[i];
        if (norm != NULL &&
            (len == 1 || (xlen > len && strncasecmp(norm, p, len) == 0 && norm[len] == '/'))) {
            ph->prefix = i;
            return 1;
        }
    }
    if (len == 1 || (len >= 5 && strncmp(p, "/proc", 5) == 0 && (len == 5 || p[5] == '/')) ||
        (len == 4 && strncmp(p, "/dev", 4) == 0) || (len >= 7 && strncmp(p, "/dev/fd", 7) == 0) ||
        (len >= 8 && strncmp(p, "/dev/std", 8) == 0)) {
        /* "/", "/proc/1/root", "/dev/stdin" and "/dev" (whose "stdin"
         * may be any directory: "cd /dev && cat stdin/x < /etc") reach
         * every prefix */
        ph->prefix = 0;
        return 1;
    }
    return 0;
}

int chio__gp_glob_ancestor(path_hit *ph, const char *p, size_t len)
{
    size_t i, e;
    int rc, glob = 0;

    for (i = 0; i < len && !glob; i++)
        glob = p[i] == '*' || p[i] == '?' || p[i] == '[';
    if (len < 2 || p[0] != '/' || !glob)
        return 0;
    for (i = 0; i < ph->g->nprefixes; i++) {
        const char *norm = ph->g->norm_prefixes[i];
        size_t xlen = ph->g->norm_lens[i];
        for (e = 1; norm != NULL && norm[0] == '/' && e < xlen; e++) {
            if (norm[e] != '/')
                continue;
            if ((rc = chio__glob_matches(p, len, norm, e)) == 1)
                ph->prefix = i;
            if (rc != 0)
                return rc;
        }
    }
    /* /proc or below it, /dev itself, /dev/fd or below, /dev/std* */
    if ((rc = chio__glob_may_reach(p, len, "/proc", 5, 0)) == 0 &&
        (rc = chio__glob_matches(p, len, "/dev", 4)) == 0 &&
        (rc = chio__glob_may_reach(p, len, "/dev/fd", 7, 0)) == 0)
        rc = chio__glob_may_reach(p, len, "/dev/std", 8, 1);
    if (rc == 1)
        ph->prefix = 0;
    return rc;
}

/* Directories of links a start below them may climb to: a rest read from
 * there goes through them ("../self/root/etc/x" from /proc/1, "../fd/3/x"
 * from /dev/shm). "/proc/1" stands for any process's directory. */
static const char *const link_dirs[] = {"/proc", "/proc/1", "/proc/1/task/1", "/dev"};

/* The end of the segment of @p (@len bytes) that starts at @i. */
static size_t seg_end(const char *p, size_t len, size_t i)
{
    while (i < len && p[i] != '/')
        i++;
    return i;
}

/* Is p[i, e) @name? */
static int seg_is(const char *p, size_t i, size_t e, const char *name)
{
    return e - i == strlen(name) && memcmp(p + i, name, e - i) == 0;
}

/* Is p[i, e) a process's name under /proc: digits, "self", "thread-self"? */
static int process_name(const char *p, size_t i, size_t e)
{
    if (seg_is(p, i, e, "self") || seg_is(p, i, e, "thread-self"))
        return 1;
    for (; i < e; i++)
        if (!chio__ascii_digit((unsigned char)p[i]))
            return 0;
    return 1;
}

/* Is the join @p (@len bytes, strictly below /proc) a process's directory
 * ("/proc/1", "/proc/self/task/2"), whose links reach every prefix, or a
 * path through those links ("/proc/1/root/etc", "/proc/1/fd/3"), rather
 * than another entry ("/proc/web", "/proc/1/status")? */
static int through_process(const char *p, size_t len)
{
    size_t i = 6, e = seg_end(p, len, 6); /* past "/proc/" */

    if (!process_name(p, i, e))
        return 0;
    if (e >= len)
        return 1;
    e = seg_end(p, len, i = e + 1);
    if (seg_is(p, i, e, "task")) {
        if (e >= len)
            return 1;
        e = seg_end(p, len, i = e + 1); /* the thread */
        if (e >= len)
            return 1;
        e = seg_end(p, len, i = e + 1);
    }
    return seg_is(p, i, e, "root") || seg_is(p, i, e, "cwd") || seg_is(p, i, e, "fd");
}

/* Is the join @p (@len bytes) a directory above a prefix
 * (chio__gp_ancestor: the prefix it reaches noted in @ph), counting below
 * /proc only a process's directory and the paths through its links? */
static int above(path_hit *ph, const char *p, size_t len)
{
    if (len > 6 && memcmp(p, "/proc/", 6) == 0 && !through_process(p, len))
        return 0;
    return chio__gp_ancestor(ph, p, len);
}

/* One landing @dir (@dl bytes): @fn's answer on @dir joined with the rest
 * @r, or CHIO__GP_CLIMB_ABOVE when that join is itself a directory above
 * a prefix. */
static int landing(path_hit *ph, const char *dir, size_t dl, const char *r, size_t rl, char *join,
                   int (*fn)(void *ctx, const char *p, size_t len), void *ctx)
{
    size_t o = dl;
    int rc;

    memcpy(join, dir, dl);
    if (rl > 0) {
        if (o > 1)
            join[o++] = '/';
        memcpy(join + o, r, rl);
        o += rl;
    }
    join[o] = '\0';
    if ((rc = fn(ctx, join, o)) != 0)
        return rc;
    return above(ph, join, o) ? CHIO__GP_CLIMB_ABOVE : 0;
}

/* Each landing directory for the rest @r: "/", every proper ancestor of
 * each absolute prefix ("/root" for "/root/.ssh/", "/etc" for
 * "/etc/shadow"), the link directories; then the rest itself as a
 * relative path (for a relative prefix). */
static int each_landing(path_hit *ph, const char *r, size_t rl, char *join,
                        int (*fn)(void *ctx, const char *p, size_t len), void *ctx)
{
    size_t i, j;
    int rc = landing(ph, "/", 1, r, rl, join, fn, ctx);

    for (i = 0; rc == 0 && i < sizeof(link_dirs) / sizeof(link_dirs[0]); i++)
        rc = landing(ph, link_dirs[i], strlen(link_dirs[i]), r, rl, join, fn, ctx);
    for (i = 0; rc == 0 && i < ph->g->nprefixes; i++) {
        const char *norm = ph->g->norm_prefixes[i];
        size_t xlen = ph->g->norm_lens[i];
        if (norm == NULL || xlen == 0 || norm[0] != '/')
            continue;
        for (j = 1; rc == 0 && j < xlen; j++)
            if (norm[j] == '/')
                rc = landing(ph, norm, j, r, rl, join, fn, ctx);
    }
    if (rc == 0)
        rc = fn(ctx, r, rl);
    return rc;
}

/* Does @w (@n bytes) name a tool that fills words in from its input
 * ("xargs -I X cat ../X/x", "parallel", "xe")? */
static int filler(const char *w, size_t n)
{
    static const char *const names[] = {"xargs", "parallel", "sem", "xe", "rush"};
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i]) == n && memcmp(names[i], w, n) == 0)
            return 1;
    return 0;
}

int chio__gp_fills_words(const char *s, size_t n)
{
    char w[16];
    size_t i, k = 0;
    int over = 0;

    for (i = 0; i <= n; i++) {
        unsigned char c = i < n ? (unsigned char)s[i] : ' ';
        if (c == '\'' || c == '"' || c == '\\')
            continue; /* "x''args", "x\\args": the shell drops them */
        if (c == '/') {
            k = 0; /* "/usr/bin/xargs": its last segment */
            over = 0;
        } else if (c <= 0x20 || strchr(";|&(){}`<>=", c) != NULL) {
            if (!over && k > 0 && filler(w, k))
                return 1;
            k = 0;
            over = 0;
        } else if (k < sizeof(w)) {
            w[k++] = (char)c;
        } else {
            over = 1;
        }
    }
    return 0;
}

int chio__gp_climb_readings(path_hit *ph, const char *w, size_t n,
                            int (*fn)(void *ctx, const char *p, size_t len), void *ctx)
{
    char stack[PREFIX_STACK], *heap = NULL, *buf = stack;
    size_t rl, climbs, i, most = sizeof("/proc/1/task/1");
    int rc;

    if (n == 0 || w[0] == '/' || !plain_word(w, n))
        return CHIO__GP_NO_CLIMB;
    for (i = 0; i < ph->g->nprefixes; i++)
        if (ph->g->norm_prefixes[i] != NULL && ph->g->norm_lens[i] > most)
            most = ph->g->norm_lens[i];
    /* the rest, then a join of the longest landing directory and it */
    if (2 * n + most + 4 > sizeof(stack) && (buf = heap = malloc(2 * n + most + 4)) == NULL)
        return CHIO_ENOMEM;
    rc = resolve(w, n, buf, &rl, &climbs);
    if (rc == 0 && climbs == 0)
        rc = CHIO__GP_NO_CLIMB;
    else if (rc == 0 && rl == 0)
        rc = CHIO__GP_CLIMB_ABOVE; /* "..", "a/../..": any ancestor, "/" among them */
    else if (rc == 0)
        rc = each_landing(ph, buf, rl, buf + n + 1, fn, ctx);
    free(heap);
    return rc;
}
