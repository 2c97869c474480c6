/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/path_params.c - path_prefix's reading of a shell parameter
 * standing alone as a word ("rm -rf $HOME", "-C \"${x:-$HOME}\"",
 * {"dest": "$CONDA_PREFIX"}): whether its name holds a directory, a
 * default or alternative in its braces does, it names another parameter
 * the text cannot tell ("${!x}"), or its braces run past what is read.
 * Review 20 F6 read every lone parameter; review 21 F11 kept those named
 * for a directory; review 22 (pathfix P1, P2, P4, P5, P9, P11) reads the
 * default's own parameters, indirection and namerefs, fails closed past
 * the bounds, widens the names and takes positional and special
 * parameters and command substitutions as the word's other pieces.
 * Lexical only; no state, no allocation (the nameref names are offsets
 * into the value, at most LP_REFS of them).
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "normalize.h"
#include "path_words.h"

/* A "${" closes within LP_BRACE bytes, or its word cannot be read. */
#define LP_BRACE 256
/* Parameters inside a default inside a default .. read this deep. */
#define LP_DEPTH 8
/* Namerefs to a directory one value may declare. */
#define LP_REFS 16
/* Words after one "declare -n" read. */
#define LP_DECL_WORDS 64

/* What a parameter, or a word of them, is to path_prefix: text, a
 * directory, a parameter the text cannot name ("${!x}"), or a "${" that
 * does not close within LP_BRACE bytes or nests past LP_DEPTH. */
enum { LP_TEXT = 0, LP_DIR = 1, LP_INDIRECT = 2, LP_BOUND = 3 };

typedef struct lp_ctx {
    const char *s;
    size_t n;
    size_t ref_at[LP_REFS], ref_len[LP_REFS]; /* namerefs to a directory */
    size_t nrefs;
    int bound; /* a nameref bound passed: the value cannot be read */
} lp_ctx;

static int lp_alpha(unsigned char c)
{
    int l = chio__ascii_lower(c);

    return l >= 'a' && l <= 'z';
}

static int name_start(unsigned char c)
{
    return c == '_' || lp_alpha(c);
}

static int name_char(unsigned char c)
{
    return name_start(c) || chio__ascii_digit(c);
}

/* A special parameter's character: "$*", "$@", "$#", "$?", "$$", "$!",
 * "$-" (and "$0", a digit). */
static int special_char(char c)
{
    return c != '\0' && strchr("*@#?$!-", c) != NULL;
}

static int name_is(const char *w, size_t n, const char *x)
{
    return strlen(x) == n && strncasecmp(w, x, n) == 0;
}

/* Does the parameter name @w (@n bytes) hold a directory by its name,
 * ASCII case aside? Exactly OLDPWD, PWD, CWD, USERPROFILE, APPDATA,
 * LOCALAPPDATA, PROGRAMFILES, PROGRAMDATA, ALLUSERSPROFILE, SYSTEMDRIVE,
 * HOMEDRIVE, VIRTUAL_ENV, DEST, TARGET or OUT; or ending in DIR, DIRS,
 * HOME, PATH, ROOT, FOLDER, PREFIX, TEMP, TMP, WORKSPACE or CACHE
 * (TMPDIR, XDG_DATA_DIRS, JAVA_HOME, GOPATH, CONDA_PREFIX, RUNNER_TEMP,
 * GITHUB_WORKSPACE, RUNNER_TOOL_CACHE); or with a part between '_'s
 * that is DIR, DIRS, HOME, ROOT, PATH, PREFIX, TEMP, TMP, TMPDIR,
 * WORKSPACE, VENV or FOLDER (TMP_FILE, VENV_BIN). A parameter named for
 * anything else ("$USER", "$ISSUE", "${name}", "$NODE_ENV") is text
 * (review 21 F11; review 22 P5). */
static int directory_name(const char *w, size_t n)
{
    static const char *const exact[] = {"oldpwd",
                                        "pwd",
                                        "cwd",
                                        "userprofile",
                                        "appdata",
                                        "localappdata",
                                        "programfiles",
                                        "programdata",
                                        "allusersprofile",
                                        "systemdrive",
                                        "homedrive",
                                        "virtual_env",
                                        "dest",
                                        "target",
                                        "out",
                                        NULL};
    static const char *const suffixes[] = {"dir",    "dirs", "home", "path",      "root",  "folder",
                                           "prefix", "temp", "tmp",  "workspace", "cache", NULL};
    static const char *const parts[] = {"dir",    "dirs",   "home", "root",   "path",
                                        "prefix", "temp",   "tmp",  "tmpdir", "workspace",
                                        "venv",   "folder", NULL};
    size_t i, l, a, b;

    for (i = 0; exact[i] != NULL; i++)
        if (name_is(w, n, exact[i]))
            return 1;
    for (i = 0; suffixes[i] != NULL; i++)
        if ((l = strlen(suffixes[i])) <= n && strncasecmp(w + n - l, suffixes[i], l) == 0)
            return 1;
    for (a = 0; a < n; a = b + 1) {
        for (b = a; b < n && w[b] != '_'; b++)
            ;
        for (i = 0; parts[i] != NULL; i++)
            if (name_is(w + a, b - a, parts[i]))
                return 1;
    }
    return 0;
}

/* Is the name @w (@n bytes) a nameref to a directory ("declare -n
 * r=HOME; rm -rf $r"; review 22 P2)? */
static int nameref_dir(const lp_ctx *c, const char *w, size_t n)
{
    size_t i;

    for (i = 0; i < c->nrefs; i++)
        if (c->ref_len[i] == n && memcmp(c->s + c->ref_at[i], w, n) == 0)
            return 1;
    return 0;
}

static int dir_named(const lp_ctx *c, const char *w, size_t n)
{
    return directory_name(w, n) || nameref_dir(c, w, n);
}

int chio__param_head_valid(const char *s, size_t n, size_t i)
{
    size_t p = i + 2;

    if (p > n || s[i] != '$' || s[i + 1] != '{')
        return 0;
    if (p + 1 < n && (s[p] == '!' || s[p] == '#') &&
        (name_char((unsigned char)s[p + 1]) || special_char(s[p + 1])))
        p++;
    if (p >= n)
        return 0;
    if (name_start((unsigned char)s[p]))
        while (p < n && name_char((unsigned char)s[p]))
            p++;
    else if (chio__ascii_digit((unsigned char)s[p]))
        while (p < n && chio__ascii_digit((unsigned char)s[p]))
            p++;
    else if (special_char(s[p]))
        p++;
    else
        return 0;
    return p < n && s[p] != '\0' && strchr("}:-=+?#%/^,@[", s[p]) != NULL;
}

static size_t param_end(const lp_ctx *c, size_t i, size_t lim, int depth, int *kind);

/* The kind of the text s[@a..@b) inside braces after the name: a
 * directory when it holds a path ('/' or '~') or a parameter that holds
 * one ("${x:-$HOME}", "${x:-${HOME}}", "${USER:+$OLDPWD}": review 22 P1),
 * read @depth deep (past LP_DEPTH: LP_BOUND). */
static int inner_kind(const lp_ctx *c, size_t a, size_t b, int depth)
{
    const char *s = c->s;
    size_t j, e;
    int kind = 0, one;

    if (memchr(s + a, '/', b - a) != NULL || memchr(s + a, '~', b - a) != NULL)
        kind = LP_DIR;
    for (j = a; j < b; j++) {
        if (s[j] != '$')
            continue;
        if (depth >= LP_DEPTH)
            return LP_BOUND;
        if ((e = param_end(c, j, b, depth + 1, &one)) > j) {
            kind = one > kind ? one : kind;
            j = e - 1;
        }
    }
    return kind;
}

/* The end of the shell parameter at s[@i] (before @lim) and its kind in
 * *@kind, or @i when none opens there: "$name" (LP_DIR when the name
 * holds a directory, dir_named), a positional or special one ("$1",
 * "$*", "$@": text, but a piece of the word; review 22 P11), or "${..}":
 * its name's kind, a directory when what follows the name holds one
 * (inner_kind), LP_INDIRECT for "${!x}" and "${!x:-..}" (not "${!x*}" or
 * "${!a[@]}", lists of names and keys), and LP_BOUND when a parameter's
 * head ("${HOME:-", "${x#") does not close within LP_BRACE bytes
 * (review 22 P4: the reading never drops such a word). */
static size_t param_end(const lp_ctx *c, size_t i, size_t lim, int depth, int *kind)
{
    const char *s = c->s;
    size_t j = i + 1, k, ns, ne, end, d;
    int indirect = 0, length = 0;

    *kind = LP_TEXT;
    if (j >= lim || s[i] != '$')
        return i;
    if (name_start((unsigned char)s[j])) {
        while (j < lim && name_char((unsigned char)s[j]))
            j++;
        *kind = dir_named(c, s + i + 1, j - i - 1) ? LP_DIR : LP_TEXT;
        return j;
    }
    if (chio__ascii_digit((unsigned char)s[j]) || special_char(s[j]))
        return j + 1;
    if (s[j] != '{' || !chio__param_head_valid(s, lim, i))
        return i;
    end = lim - j > LP_BRACE ? j + LP_BRACE : lim;
    for (d = 0, k = j; k < end; k++)
        if (s[k] == '{')
            d++;
        else if (s[k] == '}' && --d == 0)
            break;
    if (k >= end) {
        *kind = LP_BOUND; /* unclosed, or closed past the bound: unreadable */
        return end;
    }
    ns = j + 1;
    if (s[ns] == '!' && ns + 1 < k) { /* not "${!}", the last job's id */
        indirect = 1;
        ns++;
    } else if (s[ns] == '#' && ns + 1 < k && name_char((unsigned char)s[ns + 1])) {
        length = 1; /* "${#x}": a length */
        ns++;
    }
    ne = ns;
    if (name_start((unsigned char)s[ne]))
        while (ne < k && name_char((unsigned char)s[ne]))
            ne++;
    else if (chio__ascii_digit((unsigned char)s[ne]))
        while (ne < k && chio__ascii_digit((unsigned char)s[ne]))
            ne++;
    else if (special_char(s[ne]))
        ne++;
    if (length)
        return k + 1;
    if (indirect) {
        /* "${!x*}", "${!x@}": names; "${!a[@]}": keys; otherwise the
         * value of a parameter named by x's value */
        if (!(ne < k && (s[ne] == '[' || ((s[ne] == '*' || s[ne] == '@') && ne + 1 == k))))
            *kind = LP_INDIRECT;
    } else if (dir_named(c, s + ns, ne - ns)) {
        *kind = LP_DIR;
    }
    d = (size_t)inner_kind(c, ne, k, depth);
    if ((int)d > *kind)
        *kind = (int)d;
    return k + 1;
}

/* Does the word at s[@i] start "declare", "typeset" or "local" followed
 * by a blank? Its length, or 0. */
static size_t decl_word(const char *s, size_t n, size_t i)
{
    static const char *const words[] = {"declare", "typeset", "local"};
    size_t k, l;

    if (i > 0 && chio__path_word_break(s, n, i - 1) == 0 && s[i - 1] != '(' && s[i - 1] != '{')
        return 0;
    for (k = 0; k < 3; k++)
        if ((l = strlen(words[k])) < n - i && memcmp(s + i, words[k], l) == 0 &&
            (s[i + l] == ' ' || s[i + l] == '\t'))
            return l;
    return 0;
}

/* The namerefs to a directory the value declares ("declare -n r=HOME",
 * "typeset -n", "local -rn r='OLDPWD'", and one to such a nameref):
 * recorded in @c, at most LP_REFS (past it, or past LP_DECL_WORDS words
 * after "-n", c->bound). A target that is computed ("local -n r=$1") is
 * not read. Linear: each "declare" reads on from where the last stopped. */
static void collect_namerefs(lp_ctx *c)
{
    const char *s = c->s;
    size_t n = c->n, i, l, a = 0, b, t, te, e, eq, words;
    int nref;

    for (i = 0; i < n; i++) {
        if ((l = decl_word(s, n, i)) == 0)
            continue;
        nref = 0;
        for (a = i + l, words = 0; a < n; a = b) {
            while (a < n && (s[a] == ' ' || s[a] == '\t'))
                a++;
            for (b = a; b < n && s[b] != ' ' && s[b] != '\t' && strchr(";&|\n)", s[b]) == NULL; b++)
                ;
            if (b == a)
                break;
            if (nref && ++words > LP_DECL_WORDS) {
                c->bound = 1;
                return;
            }
            if (s[a] == '-') {
                nref |= memchr(s + a, 'n', b - a) != NULL;
                continue;
            }
            if (!nref || !name_start((unsigned char)s[a]))
                continue;
            for (eq = a; eq < b && name_char((unsigned char)s[eq]); eq++)
                ;
            if (eq >= b || s[eq] != '=')
                continue;
            t = eq + 1;
            te = b;
            if (te - t >= 2 && (s[t] == '"' || s[t] == '\'') && s[te - 1] == s[t]) {
                t++;
                te--;
            }
            for (e = t; e < te && name_char((unsigned char)s[e]); e++)
                ;
            if (e < te || !dir_named(c, s + t, te - t))
                continue;
            if (c->nrefs == LP_REFS) {
                c->bound = 1;
                return;
            }
            c->ref_at[c->nrefs] = a;
            c->ref_len[c->nrefs++] = eq - a;
        }
        i = a > i ? a - 1 : i;
    }
}

/* Can a parameter word end at s[@j]: the end, a word break, a
 * parenthesis or brace, a backtick, or a command substitution ("$(")
 * that may be empty ("$HOME$(:)"; review 22 P11)? */
static int word_may_end(const char *s, size_t n, size_t j)
{
    return j == n || chio__path_word_break(s, n, j) > 0 || strchr("(){}`", s[j]) != NULL ||
           (s[j] == '$' && j + 1 < n && s[j + 1] == '(');
}

/* Can a parameter word start at s[@i]: a word starts there, or after a
 * parenthesis, a brace or a backtick (an empty "$(:)" or "{,}" before
 * it; review 21 F5, review 22 P11)? */
static int word_may_start(const char *s, size_t n, size_t i)
{
    return i == 0 || chio__path_word_break(s, n, i - 1) > 0 ||
           (i >= 2 && s[i - 2] == '-' && lp_alpha((unsigned char)s[i - 1])) ||
           strchr("(){}`", s[i - 1]) != NULL;
}

int chio__lone_param_reading(const char *s, size_t n)
{
    lp_ctx c;
    size_t i, j, e;
    int kind, one;

    if (memchr(s, '$', n) == NULL)
        return 0;
    c.s = s;
    c.n = n;
    c.nrefs = 0;
    c.bound = 0;
    collect_namerefs(&c);
    if (c.bound)
        return 2;
    for (i = 0; i + 1 < n; i++) {
        if (s[i] != '$' || !word_may_start(s, n, i))
            continue;
        /* the parameters next to each other are one word */
        for (kind = 0, j = i; j < n && (e = param_end(&c, j, n, 0, &one)) > j; j = e) {
            kind = one > kind ? one : kind;
            if (kind == LP_BOUND)
                return 2;
        }
        if (j == i)
            continue;
        if (kind != LP_TEXT && word_may_end(s, n, j))
            return kind == LP_INDIRECT ? 2 : 1;
        i = j - 1;
    }
    return 0;
}
