/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/guard_path_walk.c - the forbidden_path guard's reading of tools
 * that walk a directory tree (review 52): "grep -r PRIVATE /",
 * "tar czf /tmp/a.tgz /", "cp -a / /tmp/all" and
 * "find / -name shadow | xargs cat" never name a prefix, yet read what
 * is under every one. A command whose tool reads as it walks (tar, zip,
 * rsync, rg, ag, ack) or is told to (grep -r, cp -a, rm -r, chmod -R,
 * ...), or a listing tool (find, du, tree, fd, ls -R) whose finds are
 * acted on ("-exec", "-delete", "| xargs"), that names a directory above
 * a prefix ("/", "/root" for "/root/.ssh/", "/proc") is a hit. Listing
 * names alone ("find / -name '*.conf'") is not. Read on the value as a shell
 * reads it (chio__shell_unquote, made by the caller); a relative
 * directory ("cd / && grep -r x .") is not followed. No state, no locks,
 * no allocation.
 */
#include <stdint.h>
#include <string.h>

#include "guard_path.h"
#include "internal.h"
#include "normalize.h"

/* A tool and the short options that make it walk ("" : it always does);
 * @lists: it only lists names ("find / -name '*.conf'" stays allowed, as
 * review 49 asked), and counts when what it finds is run on or read
 * ("-exec", "-delete", "| xargs"). */
typedef struct {
    const char *name;
    const char *letters;
    int lists;
} walker;

static const walker walkers[] = {
    {"find", "", 1},    {"du", "", 1},     {"tree", "", 1},     {"fd", "", 1},
    {"fdfind", "", 1},  {"ls", "R", 1},    {"tar", "", 0},      {"zip", "", 0},
    {"7z", "", 0},      {"rsync", "", 0},  {"rg", "", 0},       {"ag", "", 0},
    {"ack", "", 0},     {"grep", "rR", 0}, {"egrep", "rR", 0},  {"fgrep", "rR", 0},
    {"zgrep", "rR", 0}, {"cp", "rRa", 0},  {"rm", "rR", 0},     {"chmod", "R", 0},
    {"chown", "R", 0},  {"chgrp", "R", 0}, {"setfacl", "R", 0}, {"scp", "r", 0},
    {"diff", "r", 0},
};

/* Words of a listing tool that run something on, or remove, what it
 * finds. */
static const char *const acts[] = {"-exec", "-execdir", "-ok",    "-okdir",      "-delete",
                                   "-x",    "-X",       "--exec", "--exec-batch"};

/* Does the command after the '|' at t[i] take what it reads as names to
 * act on ("| xargs cat", "| while read f", "| parallel")? */
static int piped_to_act(const char *t, size_t i, size_t n)
{
    static const char *const takers[] = {"xargs", "while", "parallel", "sh", "bash"};
    size_t k, l;

    if (i >= n || t[i] != '|' || (i + 1 < n && t[i + 1] == '|'))
        return 0;
    for (i++; i < n && (t[i] == ' ' || t[i] == '\t'); i++)
        ;
    for (k = 0; k < sizeof(takers) / sizeof(takers[0]); k++) {
        l = strlen(takers[k]);
        if (n - i >= l && memcmp(t + i, takers[k], l) == 0 &&
            (n - i == l || t[i + l] == ' ' || t[i + l] == '\t'))
            return 1;
    }
    return 0;
}

/* Words that run the next word as the command ("sudo grep -r x /"). */
static const char *const wrappers[] = {"sudo",    "env",     "nice",   "nohup",  "time",
                                       "command", "exec",    "xargs",  "ionice", "stdbuf",
                                       "doas",    "busybox", "timeout"};

static int cmd_break(char c)
{
    return c == ';' || c == '|' || c == '&' || c == '\n' || c == '(' || c == ')' || c == '`';
}

static int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* The word at t[i, *e) of the command ending at @end. */
static size_t word_end(const char *t, size_t i, size_t end)
{
    while (i < end && !blank(t[i]))
        i++;
    return i;
}

/* Is @w (@n bytes) the word @name, or a path ending in "/" @name? */
static int names(const char *w, size_t n, const char *name)
{
    size_t l = strlen(name);

    return n >= l && memcmp(w + n - l, name, l) == 0 && (n == l || w[n - l - 1] == '/');
}

static int ancestor_reading(void *ctx, const char *p, size_t len)
{
    return chio__gp_ancestor(ctx, p, len);
}

/* Does the option word @w (@n bytes) make @tool walk? */
static int walks_with(const walker *tool, const char *w, size_t n)
{
    size_t k;

    if (n >= 11 && memcmp(w, "--recursive", 11) == 0)
        return 1;
    if (strchr(tool->letters, 'a') != NULL && n == 9 && memcmp(w, "--archive", 9) == 0)
        return 1;
    if (n >= 17 && memcmp(w, "--directories=rec", 17) == 0)
        return 1;
    if (n < 2 || w[0] != '-' || w[1] == '-')
        return 0;
    for (k = 1; k < n; k++)
        if (strchr(tool->letters, w[k]) != NULL)
            return 1;
    return 0;
}

/* One command t[i, end): its tool, whether it walks, and its absolute
 * words above a prefix. 1 for a hit, 0, or CHIO_ENOMEM. */
static int walk_command(path_hit *ph, const char *t, size_t i, size_t end, int piped)
{
    const walker *tool = NULL;
    size_t e, k, first;
    int walks = 0, rc = 0;

    /* the tool: past assignments and wrappers (and their options) */
    for (;;) {
        while (i < end && blank(t[i]))
            i++;
        if (i >= end)
            return 0;
        e = word_end(t, i, end);
        if (memchr(t + i, '=', e - i) != NULL || t[i] == '-' ||
            (e - i <= 2 && chio__ascii_digit((unsigned char)t[i]))) {
            i = e; /* "LC_ALL=C", a wrapper's option or its number */
            continue;
        }
        for (k = 0; k < sizeof(wrappers) / sizeof(wrappers[0]); k++)
            if (names(t + i, e - i, wrappers[k]))
                break;
        if (k == sizeof(wrappers) / sizeof(wrappers[0]))
            break;
        i = e;
    }
    for (k = 0; k < sizeof(walkers) / sizeof(walkers[0]) && tool == NULL; k++)
        if (names(t + i, e - i, walkers[k].name))
            tool = &walkers[k];
    if (tool == NULL)
        return 0;
    walks = tool->letters[0] == '\0';
    first = e;
    if (tool->lists && walks && !piped) { /* only names: counts when acted on */
        walks = 0;
        for (i = first; !walks && i < end; i = e) {
            while (i < end && blank(t[i]))
                i++;
            e = word_end(t, i, end);
            for (k = 0; k < sizeof(acts) / sizeof(acts[0]) && !walks; k++)
                walks = e - i == strlen(acts[k]) && memcmp(t + i, acts[k], e - i) == 0;
        }
    }
    for (i = first; !walks && tool->letters[0] != '\0' && i < end; i = e) {
        while (i < end && blank(t[i]))
            i++;
        e = word_end(t, i, end);
        walks = e > i && walks_with(tool, t + i, e - i) && (!tool->lists || piped);
    }
    for (i = first; walks && i < end; i = e) {
        while (i < end && blank(t[i]))
            i++;
        e = word_end(t, i, end);
        if (e > i && t[i] == '/' &&
            (rc = chio__path_readings(t + i, e - i, ancestor_reading, ph)) == 1)
            return 1;
        if (rc == CHIO_ENOMEM)
            return rc;
    }
    return 0;
}

int chio__gp_check_walk(path_hit *ph, const char *t, size_t len)
{
    size_t i = 0, end;
    int rc = 0;

    if (memchr(t, '/', len) == NULL)
        return 0;
    while (rc == 0 && i < len) {
        for (end = i; end < len && !cmd_break(t[end]); end++)
            ;
        rc = walk_command(ph, t, i, end, piped_to_act(t, end, len));
        i = end + 1;
    }
    return rc;
}
