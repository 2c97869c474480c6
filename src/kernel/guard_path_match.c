/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/guard_path_match.c - the forbidden_path guard's test of one
 * reading of a path against the guard's normalised prefixes: whole
 * segments or a prefix's start, ASCII case folded, as written and as
 * Windows trims it; /proc/<pid>/root read as the root it names, and a
 * path through a link the guard cannot follow (/proc/<pid>/cwd, an open
 * directory's fd) read as under any prefix. Every reading guard_path.c
 * and the files beside it make ends here (chio__gp_reading_forbidden).
 * No state, no locks.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "guard_path.h"
#include "internal.h"
#include "kernel_internal.h"
#include "normalize.h"
#include "path_words.h"

/* The end of the segment of @p starting at @i (after a '/'), or 0 when
 * it is empty. */
static size_t segment_end(const char *p, size_t len, size_t i)
{
    size_t e = i;

    while (e < len && p[e] != '/')
        e++;
    return e > i ? e : 0;
}

/* "/proc/<pid>/root/x" and "/proc/<pid>/task/<tid>/root/x" are "/x" seen
 * through a process's (or thread's) root link: the length of that head,
 * or 0. */
static size_t proc_root(const char *p, size_t len)
{
    size_t i;

    if (len < 6 || memcmp(p, "/proc/", 6) != 0 || (i = segment_end(p, len, 6)) == 0)
        return 0;
    if (len - i >= 6 && memcmp(p + i, "/task/", 6) == 0 && (i = segment_end(p, len, i + 6)) == 0)
        return 0;
    if (len - i < 5 || memcmp(p + i, "/root", 5) != 0)
        return 0;
    i += 5;
    return i == len || p[i] == '/' ? i : 0;
}

/* Does @p (@len bytes) start with @head followed by its end or a '/'?
 * The offset after @head, or 0. */
static size_t head_is(const char *p, size_t len, size_t i, const char *head)
{
    size_t k = strlen(head);

    if (len - i < k || memcmp(p + i, head, k) != 0)
        return 0;
    return i + k == len || p[i + k] == '/' ? i + k : 0;
}

/* "/proc/<pid>/cwd/x" (also "/proc/<pid>/task/<tid>/cwd/x") is x in that
 * process's working directory, "/proc/<pid>/fd/<n>/x" and "/dev/fd/<n>/x"
 * are x in a directory that process holds open, and so are
 * "/dev/stdin/x", "/dev/stdout/x" and "/dev/stderr/x" ("cat
 * /dev/stdin/shadow < /etc"; review 53): places the kernel cannot tell
 * (init's working directory is "/", so "/proc/1/cwd/etc/shadow" is
 * /etc/shadow). 1 when @p goes through one of those links. */
static int through_unknown_link(const char *p, size_t len)
{
    static const char *const std_links[] = {"/dev/stdin", "/dev/stdout", "/dev/stderr"};
    size_t i, e, k;

    for (k = 0; k < sizeof(std_links) / sizeof(std_links[0]); k++)
        if ((i = head_is(p, len, 0, std_links[k])) > 0 && i < len)
            return 1;
    if ((i = head_is(p, len, 0, "/dev/fd")) > 0)
        return i < len && (e = segment_end(p, len, i + 1)) > 0 && e < len;
    if ((i = head_is(p, len, 0, "/proc")) == 0 || i == len || (i = segment_end(p, len, i + 1)) == 0)
        return 0;
    if ((e = head_is(p, len, i, "/task")) > 0 && e < len && (e = segment_end(p, len, e + 1)) > 0)
        i = e;
    if (head_is(p, len, i, "/cwd") > 0)
        return 1;
    if ((i = head_is(p, len, i, "/fd")) == 0 || i == len)
        return 0;
    return (e = segment_end(p, len, i + 1)) > 0 && e < len;
}

static int reading_under_prefix(path_hit *ph, const char *p, size_t len);

int chio__gp_reading_forbidden(void *ctx, const char *p, size_t len)
{
    path_hit *ph = ctx;
    size_t head;

    for (;;) {
        if (through_unknown_link(p, len)) /* could be under any prefix */
            return ph->links_hit ? 1 : CHIO_EINVAL;
        if (reading_under_prefix(ph, p, len))
            return 1;
        if (ph->nomem || (head = proc_root(p, len)) == 0)
            return ph->nomem;
        p += head;
        len -= head;
        if (len == 0) {
            p = "/";
            len = 1;
        }
    }
}

/* Does the reading @p start with the normalised prefix @norm (@xlen
 * bytes), ASCII case folded, both absolute or both relative? For a prefix
 * that ends inside a name ("/etc/shadow" covers "/etc/shadow-"). */
static int starts_with_prefix(const char *p, size_t len, const char *norm, size_t xlen)
{
    if ((len > 0 && p[0] == '/') != (xlen > 0 && norm[0] == '/'))
        return 0;
    return len >= xlen && strncasecmp(p, norm, xlen) == 0;
}

/* The prefixes were normalised at registration (registry.c); one that
 * does not normalise (NULL) matches only as written, which
 * chio__forbidden_path_hit checks first. One that ends at a separator
 * covers whole segments ("/etc/" is "/etc" and below it); one that ends
 * inside a name covers every reading that starts with it, as kernel.md's
 * "starts with" covers the strings that do. */
static int under_prefix(path_hit *ph, const char *p, size_t len)
{
    size_t i;

    for (i = 0; i < ph->g->nprefixes; i++) {
        const char *norm = ph->g->norm_prefixes[i];
        size_t xlen = ph->g->norm_lens[i];
        if (norm != NULL && (chio__path_under(p, len, norm, xlen, 1) ||
                             (ph->g->norm_open[i] && starts_with_prefix(p, len, norm, xlen)))) {
            ph->prefix = i;
            return 1;
        }
    }
    return 0;
}

/* under_prefix() of @p and of its Windows reading (chio__windows_trimmed:
 * "/etc./passwd" is "/etc/passwd"; review 46). */
static int reading_under_prefix(path_hit *ph, const char *p, size_t len)
{
    char stack[256], *t;
    size_t tl;
    int hit = under_prefix(ph, p, len);

    if (hit)
        return 1;
    if ((t = len < sizeof(stack) ? stack : malloc(len + 1)) == NULL) {
        ph->nomem = 1;
        return 0;
    }
    tl = chio__windows_trimmed(p, len, t);
    hit = tl != len && under_prefix(ph, t, tl);
    if (t != stack)
        free(t);
    return hit;
}
