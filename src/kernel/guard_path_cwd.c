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
 * guard_path.c found nothing. No state, no locks; the roots and the
 * readings are malloc'ed for the call and freed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "constraint_domain.h"
#include "glob_reach.h"
#include "guard_path.h"
#include "guard_path_cd.h"
#include "guard_scan.h"
#include "internal.h"
#include "normalize.h"
#include "path_words.h"
#include "shell_ansi.h"
#include "shell_braces.h"
#include "shell_words.h"

/* The most working directories one call's arguments may name above a
 * prefix (distinct readings), of them holding a glob, the most
 * (directory, word) pairs read and the most bytes of them: past any the
 * arguments cannot be read and the guard denies. The pairs and their
 * bytes are bounded in proportion to the text the arguments hold (each
 * pair costs some microseconds of readings, and a short hostile text
 * once made millions of bytes of them: 8 KiB took 4 s), up to the
 * absolute bounds. */
#define CWD_ROOTS_MAX           32
#define CWD_GLOB_ROOTS_MAX      8
#define CWD_JOINS_MAX           (1u << 18)
#define CWD_JOIN_BYTES_MAX      ((size_t)1 << 23)
#define CWD_JOINS_BASE          1024
#define CWD_JOINS_PER_BYTE      32
#define CWD_JOIN_BYTES_BASE     ((size_t)16 << 10)
#define CWD_JOIN_BYTES_PER_BYTE 256

typedef struct cwd_scan {
    path_hit ph;
    char *roots[CWD_ROOTS_MAX];
    char *norms[CWD_ROOTS_MAX]; /* each root normalised (NULL: read as written) */
    size_t lens[CWD_ROOTS_MAX];
    /* 1: a root at worst (a target the guard could not place), from
     * which only words holding a separator are read */
    unsigned char worst[CWD_ROOTS_MAX];
    /* 1: a tool that walks "." or a name from there is read
     * (chio__gp_check_walk_in): a placed root, or one a climb may land
     * in ("cd .. && grep -r x ."); not one of "cd $REPO" */
    unsigned char walked[CWD_ROOTS_MAX];
    size_t nroots;
    size_t lo, hi; /* the roots the words are read from in this round */
    size_t joins;  /* pairs read so far */
    size_t jbytes; /* and their bytes */
    size_t text;   /* bytes of text the arguments hold (the bounds' scale) */
    size_t nglobs; /* roots holding a glob */
    int reading;   /* 0: collecting roots; 1: reading words from them */
    int depth;     /* layers of JSON-in-a-string above the leaf */
    int too_much;  /* a bound above was passed */
    int einval;    /* a reading's callback answered CHIO_EINVAL (noted()) */
} cwd_scan;

/* ---- which directories matter --------------------------------------------------------------- */

/* A directory a relative word could start from and reach a prefix
 * (chio__gp_ancestor). */
static int ancestor_reading(void *ctx, const char *p, size_t len)
{
    cwd_scan *cs = ctx;
    path_hit probe = cs->ph; /* which prefix it reaches is not wanted here */

    return chio__gp_ancestor(&probe, p, len);
}

/* Does @w hold a glob or an expansion the guard cannot place? */
static int unplaced(const char *w, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strchr("$`*?[", w[i]) != NULL)
            return 1;
    return 0;
}

static int is_ancestor(cwd_scan *cs, const char *w, size_t n)
{
    int rc = chio__path_readings(w, n, ancestor_reading, cs);

    if (rc == CHIO_ENOMEM)
        cs->ph.nomem = 1;
    return rc == 1;
}

/* Note @w (@n bytes) as a working directory, @worst as cwd_scan says;
 * @climb: a climb may land there, so a walk is read from it even at
 * worst (cwd_scan.walked). One whose normalised reading is held already
 * ("/." beside "/") is not noted again. 0, CHIO_ENOMEM, or CHIO_EINVAL
 * past the bounds on roots (too_much: the scan stops, and denies). */
static int add_root(cwd_scan *cs, const char *w, size_t n, int worst, int climb)
{
    char *norm = malloc(n + 2);
    size_t i, nl;

    if (norm == NULL)
        return CHIO_ENOMEM;
    if (chio__path_normalize(w, n, 0, norm, n + 2, &nl) != 0) {
        free(norm); /* a glob or a reading that does not normalise */
        norm = NULL;
    }
    for (i = 0; i < cs->nroots; i++) {
        int same = norm != NULL && cs->norms[i] != NULL
                       ? strcmp(norm, cs->norms[i]) == 0
                       : cs->lens[i] == n && memcmp(cs->roots[i], w, n) == 0;
        if (same) {
            cs->worst[i] &= (unsigned char)worst; /* placed beats at worst */
            cs->walked[i] |= (unsigned char)(!worst || climb);
            free(norm);
            return 0;
        }
    }
    if (cs->nroots == CWD_ROOTS_MAX || (unplaced(w, n) && cs->nglobs == CWD_GLOB_ROOTS_MAX)) {
        cs->too_much = 1; /* denies: nothing read after it could pass */
        free(norm);
        return CHIO_EINVAL;
    }
    cs->nglobs += unplaced(w, n);
    if ((cs->roots[cs->nroots] = malloc(n + 1)) == NULL) {
        free(norm);
        return CHIO_ENOMEM;
    }
    memcpy(cs->roots[cs->nroots], w, n);
    cs->roots[cs->nroots][n] = '\0';
    cs->norms[cs->nroots] = norm;
    cs->lens[cs->nroots] = n;
    cs->walked[cs->nroots] = (unsigned char)(!worst || climb);
    cs->worst[cs->nroots++] = (unsigned char)(worst != 0);
    return 0;
}

/* A directory the guard cannot place: "/" and every proper ancestor of
 * an absolute prefix ("/root" for "/root/.ssh/"), roots at worst as
 * cwd_scan says ("/" always; the others with @worst), @climb as
 * add_root says. */
static int add_ancestors_as(cwd_scan *cs, int worst, int climb)
{
    size_t i, e;
    int rc = add_root(cs, "/", 1, 1, climb);

    for (i = 0; rc == 0 && i < cs->ph.g->nprefixes; i++) {
        const char *norm = cs->ph.g->norm_prefixes[i];
        size_t xlen = cs->ph.g->norm_lens[i];
        if (norm == NULL || xlen == 0 || norm[0] != '/')
            continue;
        for (e = 1; rc == 0 && e < xlen; e++)
            if (norm[e] == '/' && e + 1 < xlen)
                rc = add_root(cs, norm, e, worst, climb);
    }
    return rc;
}

static int add_ancestors(cwd_scan *cs)
{
    return add_ancestors_as(cs, 1, 0);
}

/* Does the relative path @w climb above its start ("..", "a/../..")?
 * *@below: whether it then names a directory below where the climb lands
 * ("../web"; not "..", "a/../.."). Not resolve() in guard_path_climb.c,
 * on purpose: a target may be written with '\' and only whether it
 * climbs is asked here, so a ".." after the climb pops a segment rather
 * than refusing the word (that one joins the rest, so it must land
 * exactly). */
static int climbs(const char *w, size_t n, int *below)
{
    size_t i = 0, e, depth = 0;
    int climbed = 0;

    while (i < n) {
        for (e = i; e < n && w[e] != '/' && w[e] != '\\'; e++)
            ;
        if (e - i == 2 && w[i] == '.' && w[i + 1] == '.') {
            climbed |= depth == 0;
            depth -= depth > 0;
        } else if (e > i && !(e - i == 1 && w[i] == '.')) {
            depth++;
        }
        i = e + 1;
    }
    *below = depth > 0;
    return climbed;
}

static int cd_target(cwd_scan *cs, const char *w, size_t n, int kind);

/* A relative target that does not climb ("cd etc"), from each root that
 * is placed or that a climb may land in ("cd .. && cd etc" from
 * /workspace is /etc; review 53): a join under a prefix is a hit, one
 * above a prefix a root, placed. 1, 0 or CHIO_ENOMEM. */
static int join_target(cwd_scan *cs, const char *w, size_t n)
{
    size_t r, nr = cs->nroots, dl, jl;
    int rc = 0;

    for (r = 0; rc == 0 && r < nr; r++) {
        path_hit probe = cs->ph;
        char *j;
        if (!cs->walked[r] || cs->norms[r] == NULL)
            continue;
        dl = strlen(cs->norms[r]);
        if ((j = malloc(dl + n + 2)) == NULL)
            return CHIO_ENOMEM;
        memcpy(j, cs->norms[r], dl);
        jl = dl;
        if (jl == 0 || j[jl - 1] != '/')
            j[jl++] = '/';
        memcpy(j + jl, w, n);
        jl += n;
        j[jl] = '\0';
        if ((rc = chio__gp_check_path_hits(&probe, j, jl)) == 1) {
            cs->ph.prefix = probe.prefix;
        } else if (rc == 0 && is_ancestor(cs, j, jl)) {
            rc = add_root(cs, j, jl, 0, 1);
        }
        free(j);
    }
    if (cs->too_much)
        return CHIO_EINVAL; /* a bound passed: the scan stops, and denies */
    return rc == CHIO_ENOMEM || rc == 1 ? rc : 0;
}

/* The answer of a reading's callback, noted: a reading function answers
 * -1 when it runs out of memory and passes any other answer on, and
 * CHIO_EINVAL is -1 too (a bound passed, or a word that cannot be read). */
static int noted(cwd_scan *cs, int rc)
{
    cs->einval |= rc == CHIO_EINVAL;
    return rc;
}

/* What a reading function's answer @rc means: its own -1 is out of
 * memory, a callback's CHIO_EINVAL stays one. */
static int reading_rc(const cwd_scan *cs, int rc)
{
    return rc == -1 && !cs->einval ? CHIO_ENOMEM : rc;
}

static int home_reading(void *ctx, const char *t, size_t tl)
{
    return tl > 0 && t[0] == '/' ? noted(ctx, cd_target(ctx, t, tl, CHIO__GP_CD_SHELL)) : 0;
}

/* A target that opens with a home ("~", "~bob/x", "$HOME"), placed as
 * chio__shell_tilde_reading places it (/root, /home/bob). */
static int home_target(cwd_scan *cs, const char *w, size_t n)
{
    return reading_rc(cs, chio__shell_each_tilde_reading(w, n, home_reading, cs));
}

/* The absolute target @w (@n bytes) as Windows reads it, the trailing dots
 * of its segments dropped ("/etc." is "/etc"; chio__windows_trimmed), as
 * the guard reads a path (review 20 F9): a target of its own when it
 * differs. */
static int windows_target(cwd_scan *cs, const char *w, size_t n)
{
    char stack[PREFIX_STACK], *heap = NULL, *d = stack, *t;
    size_t dl, tl;
    int rc = 0;

    if (2 * (n + 2) > sizeof(stack) && (d = heap = malloc(2 * (n + 2))) == NULL)
        return CHIO_ENOMEM;
    t = d + n + 2;
    if (chio__path_normalize(w, n, 0, d, n + 2, &dl) == 0) {
        tl = chio__windows_trimmed(d, dl, t);
        if (tl > 0 && (tl != dl || memcmp(t, d, dl) != 0))
            rc = cd_target(cs, t, tl, CHIO__GP_CD_SHELL);
    }
    free(heap);
    return rc;
}

/* The target @w (@n bytes; @w NULL: none) of a change of directory. An
 * absolute one is a root when it is an ancestor of a prefix, or holds a
 * glob (read as a glob from there: "cd /e* && cat shadow"). One the guard
 * cannot place (none: $HOME; "-": $OLDPWD; an expansion; a home; or a
 * relative one that climbs above its start, as "cd ../../.." does from
 * anywhere) may be anywhere: "/" and every proper ancestor of a prefix
 * are roots at worst, and with none also /root (the home the tilde
 * readings give "~"; a home is also read where they place it). A
 * relative one that does not climb adds nothing: its start was not known
 * either. For a CHIO__GP_CD_WEAK word only an absolute target counts. */
static int cd_target(cwd_scan *cs, const char *w, size_t n, int kind)
{
    int rc = 0, climbed, climbing, below = 0;

    if (kind == CHIO__GP_CD_WEAK && (w == NULL || n == 0 || (w[0] != '/' && !climbs(w, n, &below))))
        return 0; /* "wc -w" of a glob: only an absolute or a climbing directory counts */
    if (w != NULL && n > 0 && (w[0] == '/' || w[0] == '\\')) {
        /* a home as well ("cd $HOME", "cd ${HOME}" read so): every word
         * is read from there, as after "cd" alone */
        if (is_ancestor(cs, w, n) || (chio__shell_in_home(w, n) && memchr(w, '$', n) == NULL) ||
            (unplaced(w, n) && memchr(w, '$', n) == NULL && memchr(w, '`', n) == NULL))
            rc = add_root(cs, w, n, 0, 0);
        if (rc == 0 && (memchr(w, '$', n) != NULL || memchr(w, '`', n) != NULL))
            rc = add_ancestors(cs);
        if (rc == 0 && memchr(w, '.', n) != NULL)
            rc = windows_target(cs, w, n);
        return cs->ph.nomem ? CHIO_ENOMEM : rc;
    }
    if (w == NULL)
        rc = add_root(cs, CHIO__HOME_ROOT, sizeof(CHIO__HOME_ROOT) - 1, 0,
                      0); /* "cd" alone: the home, as "cd ~" */
    if (rc == 0 && w != NULL && n > 0 && (w[0] == '~' || w[0] == '$'))
        rc = home_target(cs, w, n);
    climbed = w != NULL && n > 0 && climbs(w, n, &below);
    climbing = climbed && !below && !unplaced(w, n);
    if (rc == 0 && (w == NULL || n == 0 || (n == 1 && w[0] == '-') || w[0] == '~' ||
                    unplaced(w, n) || climbed))
        rc = add_ancestors_as(cs, 1, climbing);
    /* "cd ..", "cd ../..": an ancestor of where it started, which may be
     * a directory above a prefix ("/etc" from /etc/ssl under
     * "/etc/shadow"): every relative word is read from each of those; from
     * "/" only those holding a separator, as for any target ("make -C ..
     * install DESTDIR=root" names no file /root) */
    if (rc == 0 && climbing)
        rc = add_ancestors_as(cs, 0, 1);
    if (rc == 0 && w != NULL && n > 0 && !climbed && w[0] != '~' && w[0] != '$' &&
        !(n == 1 && w[0] == '-') && !unplaced(w, n))
        rc = join_target(cs, w, n);
    return rc;
}

static int name_char(unsigned char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* The length of the parameter @name opening @w as "$name" or "${name..}"
 * (any operator: "${PWD:-x}", "${PWD%/}"), or 0. */
static size_t param_head(const char *w, size_t n, const char *name)
{
    size_t k = strlen(name), e;

    if (n > k && w[0] == '$' && memcmp(w + 1, name, k) == 0 &&
        (n == k + 1 || !name_char((unsigned char)w[k + 1])))
        return k + 1;
    if (n < k + 3 || w[0] != '$' || w[1] != '{' || memcmp(w + 2, name, k) != 0 ||
        name_char((unsigned char)w[k + 2]))
        return 0;
    e = chio__gp_braced_end(w, n, 0);
    return e > 0 ? e : 0;
}

/* The length of a tilde prefix "~+", "~-" or "~N", "~+N", "~-N" (the
 * directory stack) opening @w, or 0; *@stack 1 unless it is "~+" (the
 * working directory itself). */
static size_t tilde_dir_head(const char *w, size_t n, int *stack)
{
    size_t k = 1;

    if (n < 2 || w[0] != '~')
        return 0;
    if (w[1] == '+' || w[1] == '-')
        k = 2;
    while (k < n && w[k] >= '0' && w[k] <= '9')
        k++;
    if (k == 1)
        return 0; /* "~", "~user": a home, read by the tilde readings */
    *stack = !(k == 2 && w[1] == '+');
    return k;
}

/* The length of a head that names a working directory, and the
 * separators after it: the working directory itself ("~+", "$PWD",
 * "${PWD}", "${PWD:-x}": "cat ~+/shadow", "cat ${PWD}//shadow") or one
 * the shell keeps from an earlier change (*@stack 1: "~-" and "$OLDPWD"
 * or "${OLDPWD}", "~1", "~+1", "~-1" and "$DIRSTACK", the stack pushd
 * keeps; review 20 F2) before a separator or the end; 0 for none. */
static size_t dir_head(const char *w, size_t n, int *stack)
{
    size_t k;

    *stack = 0;
    if ((k = tilde_dir_head(w, n, stack)) == 0 && (k = param_head(w, n, "PWD")) == 0) {
        *stack = 1;
        if ((k = param_head(w, n, "OLDPWD")) == 0 && (k = param_head(w, n, "DIRSTACK")) == 0)
            return 0;
    }
    if (k < n && w[k] != '/' && w[k] != '\\')
        return 0;
    while (k < n && (w[k] == '/' || w[k] == '\\'))
        k++;
    return k;
}

/* The roots the text @t (@n bytes) names: the target of each change of
 * directory ("cd /", "tar -C /", "-C/"). Other absolute words are not
 * roots: "tabs / spaces, etc." is prose. */
static int collect_text(cwd_scan *cs, const char *t, size_t n)
{
    size_t i = 0, j, brk, ws, we, k;
    int rc = 0, cmd, kind, stack;

    while (rc == 0 && !cs->ph.nomem && i < n) {
        j = chio__gp_cwd_word_at(t, n, i, &brk);
        if (j - i > 2 && t[i] == '-' && t[i + 1] != '-' && memchr(t + i + 1, 'C', j - i - 2)) {
            /* a value glued to -C: "-C/", "-C$D", "-cC/" */
            const char *c = memchr(t + i + 1, 'C', j - i - 2);
            if (chio__gp_cd_word(t + i, (size_t)(c - (t + i)) + 1) == CHIO__GP_CD_SHELL)
                rc = cd_target(cs, c + 1, (size_t)(t + j - c - 1), CHIO__GP_CD_SHELL);
        }
        /* an absolute value glued to "-w" or "-D": "nsenter -w/etc"
         * (review 20 F5) */
        if (rc == 0 && j - i > 3 && t[i] == '-' && t[i + 1] != '-') {
            /* also at the end of a cluster: "nsenter -Fw/etc" (review 21
             * F6); letters only, eight at most */
            for (k = i + 1; k + 1 < j && k < i + 9 && t[k + 1] != '/' &&
                            chio__ascii_lower((unsigned char)t[k]) >= 'a' &&
                            chio__ascii_lower((unsigned char)t[k]) <= 'z';
                 k++)
                ;
            if (k + 1 < j && (t[k] == 'w' || t[k] == 'D') && t[k + 1] == '/')
                rc = cd_target(cs, t + k + 1, j - k - 1, CHIO__GP_CD_WEAK);
        }
        if (rc == 0 && j > i && (kind = chio__gp_cd_word(t + i, j - i)) != CHIO__GP_CD_NONE &&
            !chio__gp_assignment_only(t, n, i, j)) {
            we = chio__gp_cd_operand(t, n, j, kind, &ws, &cmd);
            if (!cmd && kind == CHIO__GP_CD_SHELL &&
                chio__gp_stack_cd(t + i, j - i, ws < n ? t + ws : NULL, we - ws))
                rc = cd_target(cs, "-", 1, kind); /* "popd", "pushd +1" (review 21 F8) */
            else
                rc = cmd ? add_ancestors(cs) : cd_target(cs, ws < n ? t + ws : NULL, we - ws, kind);
            /* each entry of a CDPATH list ("CDPATH=/tmp:/ cd etc") */
            while (rc == 0 && !cmd && j - i == 6 && memcmp(t + i, "CDPATH", 6) == 0 && we < n &&
                   t[we] == ':') {
                for (ws = we + 1; ws < n && t[ws] == ':'; ws++)
                    ;
                we = chio__gp_cwd_word_at(t, n, ws, &brk);
                rc = cd_target(cs, we > ws ? t + ws : NULL, we - ws, kind);
            }
        }
        if (rc == 0 && chio__gp_tar_bundle(t, n, i, j))
            rc = add_ancestors(cs);
        /* "~-/x", "$OLDPWD/x", "~1/x": a directory of an earlier change,
         * any of those the text names, or one it inherited: read as "cd -"
         * is (review 20 F2) */
        if (rc == 0 && j > i && dir_head(t + i, j - i, &stack) > 0 && stack)
            rc = cd_target(cs, "-", 1, CHIO__GP_CD_SHELL);
        i = j + brk;
    }
    return cs->ph.nomem ? CHIO_ENOMEM : rc;
}

/* ---- reading relative words from them ------------------------------------------------------- */

/* Could the glob @j (@jl bytes, absolute) match a directory above a
 * prefix other than "/" ("/e?c" for "/etc/shadow": "cd /; cd e?c")? */
static int glob_above(cwd_scan *cs, const char *j, size_t jl)
{
    size_t i, e;
    int rc;

    if (!unplaced(j, jl) || memchr(j, '$', jl) != NULL || memchr(j, '`', jl) != NULL)
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

    if (view == NULL || unplaced(w, n))
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
    if (rc == 0 && (is_ancestor(cs, j, jl) || (!cs->worst[r] && glob_above(cs, j, jl)))) {
        rc = add_root(cs, j, jl, cs->worst[r], cs->walked[r]);
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
        if (e == i || unplaced(w + i, e - i))
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
        h = j > i ? dir_head(t + i, j - i, &stack) : 0;
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

/* @t with each "$PWD" or "${PWD}" standing as a whole word (the working
 * directory itself: "cp -r $PWD /tmp/x", "tar cf - \"$PWD\"") written
 * as ".", into @out (@n bytes at least); its length, @n when none. */
static size_t pwd_as_dot(const char *t, size_t n, char *out)
{
    size_t i = 0, o = 0, j, brk, k;
    int any = 0;

    while (i < n) {
        j = chio__gp_cwd_word_at(t, n, i, &brk);
        k = j - i;
        if ((k == 4 && memcmp(t + i, "$PWD", 4) == 0) ||
            (k == 6 && memcmp(t + i, "${PWD}", 6) == 0)) {
            out[o++] = '.';
            any = 1;
        } else {
            memcpy(out + o, t + i, k);
            o += k;
        }
        k = j + brk < n ? brk : n - j;
        memcpy(out + o, t + j, k);
        o += k;
        i = j + k;
    }
    return any ? o : n;
}

static int one_text(cwd_scan *cs, const char *t, size_t n)
{
    char stack[PREFIX_STACK], *heap = NULL, *d = stack;
    size_t len;
    int rc;

    if (!cs->reading)
        return collect_text(cs, t, n);
    if ((rc = read_text(cs, t, n)) != 0 || memmem(t, n, "PWD", 3) == NULL)
        return rc;
    /* the working directory as a whole word, read as "." (review 21 F3) */
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
    return noted(ctx, one_text(ctx, t, tl));
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
        rc = reading_rc(cs, chio__shell_each_tilde_reading(d, len, any_text, cs));
    free(heap);
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

/* The value @s (@n bytes) of a key that names a working directory, read
 * as a path value is (review 20 F9): as written, trimmed of white space
 * (the Unicode spaces too, as trim() and strip() remove them) at both
 * ends and at the start only, percent-decoded once, and decoded then
 * trimmed; each reading that differs a target of its own. */
static int cd_reading(void *ctx, const char *p, size_t len)
{
    return cd_target(ctx, p, len, CHIO__GP_CD_SHELL);
}

/* Does the working-directory value @s (@n bytes) need the path readings
 * (chio__path_readings): a file: URL, a drive letter, or any byte that
 * is not ASCII ("file:///etc", "C:/etc", a zero-width space before
 * "/etc"; review 21 F9)? */
static int cd_value_pathlike(const char *s, size_t n)
{
    size_t i;

    if (chio__starts_file_url(s, n) ||
        (n >= 2 && s[1] == ':' && chio__ascii_lower((unsigned char)s[0]) >= 'a' &&
         chio__ascii_lower((unsigned char)s[0]) <= 'z'))
        return 1;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return 1;
    return 0;
}

static int cd_value(cwd_scan *cs, const char *s, size_t n, int decoded)
{
    char stack[PREFIX_STACK], *heap = NULL, *d = stack;
    size_t a = 0, b = n, k;
    int rc = cd_target(cs, s, n, CHIO__GP_CD_SHELL);

    /* as a path value is read: a file: URL, a drive letter, invisible
     * characters dropped; a value those readings cannot normalise (a
     * relative one) is left to the readings below */
    if (rc == 0 && !decoded && cd_value_pathlike(s, n) &&
        (rc = chio__path_readings(s, n, cd_reading, cs)) == CHIO_EINVAL)
        rc = 0;
    /* a drive letter: "C:/etc" is "/etc" on the drive */
    if (rc == 0 && n > 2 && s[1] == ':' && (s[2] == '/' || s[2] == '\\') &&
        chio__ascii_lower((unsigned char)s[0]) >= 'a' &&
        chio__ascii_lower((unsigned char)s[0]) <= 'z')
        rc = cd_value(cs, s + 2, n - 2, decoded);
    for (;;) {
        if (a < b && (unsigned char)s[a] <= 0x20)
            a++;
        else if (a < b && (k = chio__space_at(s + a, b - a)) > 0)
            a += k;
        else
            break;
    }
    if (rc == 0 && a > 0 && a < b)
        rc = cd_target(cs, s + a, b - a, CHIO__GP_CD_SHELL); /* lstrip() */
    for (;;) {
        if (a < b && (unsigned char)s[b - 1] <= 0x20) {
            b--;
            continue;
        }
        for (k = 2; k <= 3 && k <= b - a; k++)
            if (chio__space_at(s + b - k, k) == k)
                break;
        if (k > 3 || k > b - a)
            break;
        b -= k;
    }
    if (rc == 0 && a < b && (a > 0 || b < n))
        rc = cd_target(cs, s + a, b - a, CHIO__GP_CD_SHELL);
    if (rc != 0 || decoded || !chio__has_escape(s, n))
        return rc;
    if (n + 1 > sizeof(stack) && (d = heap = malloc(n + 1)) == NULL)
        return CHIO_ENOMEM;
    k = chio__percent_decode(s, n, d);
    if (k > 0 && (k != n || memcmp(d, s, n) != 0))
        rc = cd_value(cs, d, k, 1);
    free(heap);
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
        (rc = cd_value(cs, s, n, 0)) != 0)
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
