/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/guard_path_cwd_roots.c - the forbidden_path guard's finding of
 * the working directories a call's arguments set that matter (its
 * roots, guard_path_cwd.h): the target of each change of directory in
 * a text ("cd /", "tar -C /", "pushd +1", "CDPATH=/tmp:/ cd etc") or in
 * the value of a key that names one ({"cwd": "/root"}), kept when it is
 * a directory above a forbidden prefix, or, when the guard cannot place
 * it ("cd $X", "cd ..", "cd -"), "/" and each proper ancestor of a
 * prefix at worst. guard_path_cwd.c reads each relative word again from
 * these. No state, no locks; the roots are malloc'ed into the scan, which
 * its caller frees.
 */
#include <stdlib.h>
#include <string.h>

#include "guard_path.h"
#include "guard_path_cd.h"
#include "guard_path_cwd.h"
#include "internal.h"
#include "normalize.h"
#include "path_words.h"
#include "shell_words.h"

/* ---- which directories matter --------------------------------------------------------------- */

/* A directory a relative word could start from and reach a prefix
 * (chio__gp_ancestor). */
static int ancestor_reading(void *ctx, const char *p, size_t len)
{
    cwd_scan *cs = ctx;
    path_hit probe = cs->ph; /* which prefix it reaches is not wanted here */

    return chio__gp_ancestor(&probe, p, len);
}

int chio__gpc_is_ancestor(cwd_scan *cs, const char *w, size_t n)
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
int chio__gpc_add_root(cwd_scan *cs, const char *w, size_t n, int worst, int climb)
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
    if (cs->nroots == CWD_ROOTS_MAX ||
        (chio__gpc_unplaced(w, n) && cs->nglobs == CWD_GLOB_ROOTS_MAX)) {
        cs->too_much = 1; /* denies: nothing read after it could pass */
        free(norm);
        return CHIO_EINVAL;
    }
    cs->nglobs += chio__gpc_unplaced(w, n);
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
 * chio__gpc_add_root says. */
static int add_ancestors_as(cwd_scan *cs, int worst, int climb)
{
    size_t i, e;
    int rc = chio__gpc_add_root(cs, "/", 1, 1, climb);

    for (i = 0; rc == 0 && i < cs->ph.g->nprefixes; i++) {
        const char *norm = cs->ph.g->norm_prefixes[i];
        size_t xlen = cs->ph.g->norm_lens[i];
        if (norm == NULL || xlen == 0 || norm[0] != '/')
            continue;
        for (e = 1; rc == 0 && e < xlen; e++)
            if (norm[e] == '/' && e + 1 < xlen)
                rc = chio__gpc_add_root(cs, norm, e, worst, climb);
    }
    return rc;
}

static int add_ancestors(cwd_scan *cs)
{
    return add_ancestors_as(cs, 1, 0);
}

/* A target past the bound on options (chio__gp_cd_operand's *cmd 2):
 * any directory, so every reading a placed one has runs from each
 * proper ancestor of a prefix, placed and walked ("cd -L .. -L /etc &&
 * cat sha*", "tar cf - ." after "cd -L .. /root"; review 22 P12), as
 * for a climb ("cd .."), and from "/" at worst. */
static int any_target(cwd_scan *cs)
{
    int rc = add_ancestors_as(cs, 1, 1);

    return rc == 0 ? add_ancestors_as(cs, 0, 1) : rc;
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
        } else if (rc == 0 && chio__gpc_is_ancestor(cs, j, jl)) {
            rc = chio__gpc_add_root(cs, j, jl, 0, 1);
        }
        free(j);
    }
    if (cs->too_much)
        return CHIO_EINVAL; /* a bound passed: the scan stops, and denies */
    return rc == CHIO_ENOMEM || rc == 1 ? rc : 0;
}

static int home_reading(void *ctx, const char *t, size_t tl)
{
    return tl > 0 && t[0] == '/' ? chio__gpc_noted(ctx, cd_target(ctx, t, tl, CHIO__GP_CD_SHELL))
                                 : 0;
}

/* A target that opens with a home ("~", "~bob/x", "$HOME"), placed as
 * chio__shell_tilde_reading places it (/root, /home/bob). */
static int home_target(cwd_scan *cs, const char *w, size_t n)
{
    return chio__gpc_reading_rc(cs, chio__shell_each_tilde_reading(w, n, home_reading, cs));
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
        if (chio__gpc_is_ancestor(cs, w, n) ||
            (chio__shell_in_home(w, n) && memchr(w, '$', n) == NULL) ||
            (chio__gpc_unplaced(w, n) && memchr(w, '$', n) == NULL && memchr(w, '`', n) == NULL))
            rc = chio__gpc_add_root(cs, w, n, 0, 0);
        if (rc == 0 && (memchr(w, '$', n) != NULL || memchr(w, '`', n) != NULL))
            rc = add_ancestors(cs);
        if (rc == 0 && memchr(w, '.', n) != NULL)
            rc = windows_target(cs, w, n);
        return cs->ph.nomem ? CHIO_ENOMEM : rc;
    }
    if (w == NULL)
        rc = chio__gpc_add_root(cs, CHIO__HOME_ROOT, sizeof(CHIO__HOME_ROOT) - 1, 0,
                                0); /* "cd" alone: the home, as "cd ~" */
    if (rc == 0 && w != NULL && n > 0 && (w[0] == '~' || w[0] == '$'))
        rc = home_target(cs, w, n);
    climbed = w != NULL && n > 0 && climbs(w, n, &below);
    climbing = climbed && !below && !chio__gpc_unplaced(w, n);
    if (rc == 0 && (w == NULL || n == 0 || (n == 1 && w[0] == '-') || w[0] == '~' ||
                    chio__gpc_unplaced(w, n) || climbed))
        rc = add_ancestors_as(cs, 1, climbing);
    /* "cd ..", "cd ../..": an ancestor of where it started, which may be
     * a directory above a prefix ("/etc" from /etc/ssl under
     * "/etc/shadow"): every relative word is read from each of those; from
     * "/" only those holding a separator, as for any target ("make -C ..
     * install DESTDIR=root" names no file /root) */
    if (rc == 0 && climbing)
        rc = add_ancestors_as(cs, 0, 1);
    if (rc == 0 && w != NULL && n > 0 && !climbed && w[0] != '~' && w[0] != '$' &&
        !(n == 1 && w[0] == '-') && !chio__gpc_unplaced(w, n))
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
size_t chio__gpc_dir_head(const char *w, size_t n, int *stack)
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

/* Is s[@i, @e) the word @name? */
static int span_is(const char *s, size_t i, size_t e, const char *name)
{
    return e - i == strlen(name) && memcmp(s + i, name, e - i) == 0;
}

/* A command substitution at t[@i] that prints a working directory, up to
 * 64 bytes: "$(pwd)", "`pwd -P`", "$(realpath .)", "$(readlink -f .)"
 * (the working directory itself), "$(dirs -l +1)" (*@stack 1: one the
 * shell keeps). Its length, 0 for none. */
static size_t subst_dir_at(const char *t, size_t n, size_t i, int *stack)
{
    size_t k, e, ws, we, words = 0;
    int dot = 0, cmd = 0; /* 1 pwd, 2 realpath/readlink, 3 dirs */
    char close;

    if (i + 1 < n && t[i] == '$' && t[i + 1] == '(') {
        k = i + 2;
        close = ')';
    } else if (t[i] == '`') {
        k = i + 1;
        close = '`';
    } else {
        return 0;
    }
    for (e = k; e < n && e - k < 64 && t[e] != close && strchr("$`()\"'\\;|&<>", t[e]) == NULL; e++)
        ;
    if (e >= n || t[e] != close)
        return 0;
    for (ws = k; ws < e; ws = we) {
        while (ws < e && (t[ws] == ' ' || t[ws] == '\t'))
            ws++;
        for (we = ws; we < e && t[we] != ' ' && t[we] != '\t'; we++)
            ;
        if (we == ws)
            break;
        if (words++ == 0) {
            cmd = span_is(t, ws, we, "pwd")                                          ? 1
                  : span_is(t, ws, we, "realpath") || span_is(t, ws, we, "readlink") ? 2
                  : span_is(t, ws, we, "dirs")                                       ? 3
                                                                                     : 0;
            if (cmd == 0)
                return 0;
        } else if (span_is(t, ws, we, ".") || span_is(t, ws, we, "./")) {
            dot = 1;
        } else if (t[ws] != '-' && t[ws] != '+') {
            return 0;
        }
    }
    if (cmd == 2 && !dot)
        return 0;
    *stack = cmd == 3;
    return e + 1 - i;
}

/* The bytes a command substitution (or backtick) takes to print the
 * working directory in a spelling subst_dir_at does not read, up to
 * SUBST_CWD_MAX bytes: any that runs "pwd" as a word or names "$PWD" or
 * "${PWD..}" ("$(command pwd)", "$(/bin/pwd)", "$(echo $PWD)", "$(cd .
 * && pwd)", "$(dirname $PWD/x)", "$(ls -d $PWD)"): read as the
 * directory at worst (review 23 Q7). Its length, 0 for none. */
#define SUBST_CWD_MAX 256

static size_t subst_cwd_at(const char *t, size_t n, size_t i)
{
    size_t k, e, depth = 1;
    int found = 0, tick;

    if (i + 1 < n && t[i] == '$' && t[i + 1] == '(')
        k = i + 2;
    else if (i < n && t[i] == '`')
        k = i + 1;
    else
        return 0;
    tick = t[i] == '`';
    for (e = k; e < n && e - k < SUBST_CWD_MAX; e++) {
        if (tick ? t[e] == '`' : (t[e] == ')' && --depth == 0))
            break;
        if (!tick && t[e] == '(')
            depth++;
        if (e + 3 <= n && memcmp(t + e, "pwd", 3) == 0 &&
            (e == k || !name_char((unsigned char)t[e - 1])) &&
            (e + 3 == n || !name_char((unsigned char)t[e + 3])))
            found = 1;
        /* "PWD" as any name ("$PWD", "${PWD}", "printenv PWD", "env |
         * grep ^PWD=") and "." as a word ("echo .", "ls -d ./"; review
         * 24 paths R5) */
        if (e + 3 <= n && memcmp(t + e, "PWD", 3) == 0 &&
            (e == k || !name_char((unsigned char)t[e - 1])) &&
            (e + 3 == n || !name_char((unsigned char)t[e + 3])))
            found = 1;
        if (t[e] == '.' && (e == k || t[e - 1] == ' ' || t[e - 1] == '\t') &&
            (e + 1 == n || strchr(" \t)/`", t[e + 1]) != NULL))
            found = 1;
    }
    if (e >= n || e - k >= SUBST_CWD_MAX || !found)
        return 0;
    return e + 1 - i;
}

/* The length of a parameter "$name" or "${..}" at t[@i] (before @j) that
 * may expand to nothing in front of the working directory ("$X$PWD"),
 * or 0. */
static size_t param_skip(const char *t, size_t n, size_t i, size_t j)
{
    size_t e, depth = 1;

    /* an empty quote: "''$PWD", "$\"\"$PWD" */
    e = i + (i < n && t[i] == '$');
    if (e + 1 < n && (t[e] == '\'' || t[e] == '"') && t[e + 1] == t[e])
        return e + 2 - i;
    if (i + 1 >= n || (t[i] != '$' && t[i] != '`'))
        return 0;
    /* a command substitution: "$(:)$PWD", "`true`$PWD" (review 24 paths
     * R5), up to SUBST_CWD_MAX bytes */
    if (t[i] == '`' || t[i + 1] == '(') {
        for (e = i + 1 + (t[i] == '$'); e < n && e - i < SUBST_CWD_MAX; e++)
            if (t[i] == '`' ? t[e] == '`'
                            : (t[e] == '(' ? (depth++, 0) : t[e] == ')' && --depth == 0))
                return e + 1 < n ? e + 1 - i : 0;
        return 0;
    }
    /* a special parameter: "$@$PWD", "$*$PWD" */
    if (strchr("@*#?-$!", t[i + 1]) != NULL)
        return i + 2 < n ? 2 : 0;
    if (t[i + 1] == '{') {
        e = chio__gp_braced_end(t, n, i);
        return e > i && e < n ? e - i : 0;
    }
    for (e = i + 1; e < n && e < j && name_char((unsigned char)t[e]); e++)
        ;
    return e > i + 1 && e < j ? e - i : 0;
}

/* A lone indirection "${!name}" (or with an operator) standing as the
 * word: the parameter it names cannot be told, so at worst the working
 * directory ("x=PWD; tar cf - ${!x}"; review 23 Q7). Not any directory
 * the shell keeps: "[ -z \"${!v}\" ]", the usual check of required
 * variables, would then place every ancestor of a prefix. Its length,
 * or 0. */
static size_t indirect_at(const char *t, size_t n, size_t i, size_t j)
{
    size_t e;

    if (j < i + 4 || t[i] != '$' || t[i + 1] != '{' || t[i + 2] != '!')
        return 0;
    e = chio__gp_braced_end(t, n, i);
    return e > i ? e - i : 0;
}

static size_t whole_dir_at(const char *t, size_t n, size_t i, size_t j, int *stack);

/* How many expansions that may be empty whole_dir reads in front of the
 * directory; a run of more stands for it at worst ("$A$B..$PWD" at any
 * length; review 24 paths R5), so the reading stays linear. */
#define WHOLE_DIR_SKIPS 16

size_t chio__gpc_whole_dir(const char *t, size_t n, size_t i, size_t j, int *stack)
{
    size_t p = i, k, s, brk;
    int skips;

    for (skips = 0;; skips++) {
        if (p >= j) /* past the word's end: a substitution, "$@" */
            j = chio__gp_cwd_word_at(t, n, p, &brk);
        if ((k = whole_dir_at(t, n, p, j, stack)) > 0)
            return p + k - i;
        if ((s = param_skip(t, n, p, j)) == 0)
            return 0;
        p += s;
        if (skips == WHOLE_DIR_SKIPS) {
            /* a run past the bound stands for the working directory,
             * or any the shell keeps; the caller reads on from its
             * end (pwd_as_dot joins the pieces of one run) */
            *stack = 1;
            return p - i;
        }
    }
}

static size_t whole_dir_at(const char *t, size_t n, size_t i, size_t j, int *stack)
{
    size_t k, e;

    *stack = 0;
    if ((e = subst_dir_at(t, n, i, stack)) > 0 || (e = subst_cwd_at(t, n, i)) > 0) {
        e += i;
    } else if ((e = indirect_at(t, n, i, j)) > 0) {
        e += i;
    } else {
        /* "$PWD", "${PWD%/}", "${OLDPWD:-x}", "${DIRSTACK[1]}", "~+", "~-" */
        if (j <= i)
            return 0;
        if ((k = tilde_dir_head(t + i, j - i, stack)) == 0 &&
            (k = param_head(t + i, j - i, "PWD")) == 0) {
            *stack = 1;
            /* "$_", the last word of the command before: any directory
             * at worst ("cd /etc && : .; tar cf - $_"; review 24 paths
             * R8) */
            if ((k = param_head(t + i, j - i, "OLDPWD")) == 0 &&
                (k = param_head(t + i, j - i, "DIRSTACK")) == 0 &&
                (k = param_head(t + i, j - i, "_")) == 0)
                return 0;
        }
        e = i + k;
    }
    while (e < n && (t[e] == '/' || t[e] == '\\'))
        e++;
    /* nothing more in the word, or an expansion that may be empty
     * ("$PWD$X", "$(pwd)$X") */
    if (e < n && t[e] != '$' && t[e] != '`' &&
        !((unsigned char)t[e] <= 0x20 || strchr(";|&<>(){},=:@'\"", t[e]) != NULL))
        return 0;
    if (e < n && t[e] == '$') {
        size_t brk, we = chio__gp_cwd_word_at(t, n, e, &brk);
        e = we > e ? we : e + 1;
    }
    return e - i;
}

/* The roots the text @t (@n bytes) names: the target of each change of
 * directory ("cd /", "tar -C /", "-C/"). Other absolute words are not
 * roots: "tabs / spaces, etc." is prose. */
int chio__gpc_collect_text(cwd_scan *cs, const char *t, size_t n)
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
                rc = cmd == 2 ? any_target(cs)
                     : cmd    ? add_ancestors(cs)
                              : cd_target(cs, ws < n ? t + ws : NULL, we - ws, kind);
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
        if (rc == 0 && j > i && chio__gpc_dir_head(t + i, j - i, &stack) > 0 && stack)
            rc = cd_target(cs, "-", 1, CHIO__GP_CD_SHELL);
        /* the same directory as a whole word ("tar cf - ${OLDPWD%/}",
         * "${DIRSTACK[1]}", "$(dirs -l +1)"): any directory the shell
         * kept, walked (review 22 P3) */
        if (rc == 0 && chio__gpc_whole_dir(t, n, i, j, &stack) > 0 && stack)
            rc = any_target(cs);
        i = j + brk;
    }
    return cs->ph.nomem ? CHIO_ENOMEM : rc;
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

int chio__gpc_cd_value(cwd_scan *cs, const char *s, size_t n, int decoded)
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
        rc = chio__gpc_cd_value(cs, s + 2, n - 2, decoded);
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
        rc = chio__gpc_cd_value(cs, d, k, 1);
    free(heap);
    return rc;
}
