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
 * What the command around the word makes of it (a unary test's operand,
 * "$_") is path_params_cmd.c's; what the two share, path_params.h's.
 * Lexical only; no state, no allocation (the nameref names are offsets
 * into the value, at most LP_REFS of them).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "normalize.h"
#include "path_params.h"
#include "path_words.h"

/* A special parameter's character: "$*", "$@", "$#", "$?", "$$", "$!",
 * "$-" (and "$0", a digit). */
static int special_char(char c)
{
    return c != '\0' && strchr("*@#?$!-", c) != NULL;
}

/* Is the '_'-part w[@a, @b) one of @list, ASCII case aside? */
static int part_in(const char *w, size_t a, size_t b, const char *const *list)
{
    size_t i;

    for (i = 0; list[i] != NULL; i++)
        if (chio__lp_name_is(w + a, b - a, list[i]))
            return 1;
    return 0;
}

/* Does the parameter name @w (@n bytes) hold a directory by its name,
 * ASCII case aside? Text first: a name starting "NO_" (NO_CACHE, a flag)
 * or whose last '_'-part is a noun that is no path (PASSWORD, PASSWD,
 * PASS, PASSPHRASE, TOKEN, KEY, SECRET, USER, USERNAME, NAME, ID, URL,
 * URI, PORT, HOST, HOSTNAME, TITLE, LEVEL, MODE, FLAG, FLAGS, COUNT,
 * SIZE, VERSION, ENABLED, DISABLED, NUMBER: MYSQL_ROOT_PASSWORD,
 * HOME_PAGE_TITLE; review 23 Q5). Then a directory: exactly OLDPWD, PWD,
 * CWD, USERPROFILE, APPDATA, LOCALAPPDATA, PROGRAMDATA, ALLUSERSPROFILE,
 * VIRTUAL_ENV, ZSH, PGDATA, ONEDRIVECOMMERCIAL or ONEDRIVECONSUMER;
 * ending in DIR, DIRS, HOME, PATH, ROOT, FOLDER, PREFIX, TEMP, TMP,
 * WORKSPACE, CACHE, CONFIG, BIN, CELLAR, DRIVE, PROGRAMFILES or
 * PROGRAMW6432 (TMPDIR, JAVA_HOME, GOPATH, KUBECONFIG, GOBIN,
 * HOMEBREW_CELLAR, ONEDRIVE, SYSTEMDRIVE, COMMONPROGRAMFILES); with a
 * part between '_'s that is DIR, DIRS, HOME, ROOT, PATH, PREFIX, TEMP,
 * TMP, TMPDIR, WORKSPACE, VENV or FOLDER (TMP_FILE, VENV_BIN); or whose
 * last part (or whole name) is CONFIG, BIN, CELLAR, PUBLIC, DESKTOP,
 * DOCUMENTS, DOWNLOADS, STORE, VOLUME, MOUNT, LIB, SRC, OUT, DEST, BUILD,
 * DIST or INSTALL (DOCKER_CONFIG, BUN_INSTALL, PUBLIC; review 23 Q2), or
 * it is PIP_TARGET or SNAP_..DATA (SNAP_USER_DATA; review 24 paths M1). A
 * parameter named for anything else ("$USER", "$ISSUE", "${name}",
 * "$NODE_ENV") is text (review 21 F11; review 22 P5). */
static int directory_name(const char *w, size_t n)
{
    static const char *const nouns[] = {
        "password", "passwd",   "pass",    "passphrase", "token",    "key",    "secret",
        "user",     "username", "name",    "id",         "url",      "uri",    "port",
        "host",     "hostname", "title",   "level",      "mode",     "flag",   "flags",
        "count",    "size",     "version", "enabled",    "disabled", "number", NULL};
    static const char *const exact[] = {"oldpwd",
                                        "pwd",
                                        "cwd",
                                        "userprofile",
                                        "appdata",
                                        "localappdata",
                                        "programdata",
                                        "allusersprofile",
                                        "virtual_env",
                                        "zsh",
                                        "pgdata",
                                        "onedrivecommercial",
                                        "onedriveconsumer",
                                        NULL};
    static const char *const suffixes[] = {
        "dir",    "dirs",   "home",  "path",         "root",         "folder",
        "prefix", "temp",   "tmp",   "workspace",    "cache",        "config",
        "bin",    "cellar", "drive", "programfiles", "programw6432", NULL};
    static const char *const parts[] = {"dir",    "dirs",   "home", "root",   "path",
                                        "prefix", "temp",   "tmp",  "tmpdir", "workspace",
                                        "venv",   "folder", NULL};
    static const char *const last[] = {"config",    "bin",       "cellar", "public", "desktop",
                                       "documents", "downloads", "store",  "volume", "mount",
                                       "lib",       "src",       "out",    "dest",   "build",
                                       "dist",      "install",   NULL};
    size_t i, l, a, b, lp;

    for (lp = n; lp > 0 && w[lp - 1] != '_'; lp--)
        ;
    if ((n > 3 && strncasecmp(w, "no_", 3) == 0) || part_in(w, lp, n, nouns))
        return 0;
    for (i = 0; exact[i] != NULL; i++)
        if (chio__lp_name_is(w, n, exact[i]))
            return 1;
    for (i = 0; suffixes[i] != NULL; i++)
        if ((l = strlen(suffixes[i])) <= n && strncasecmp(w + n - l, suffixes[i], l) == 0)
            return 1;
    /* DATA only as snap's (SNAP_DATA, SNAP_USER_DATA), TARGET only as
     * pip's (PIP_TARGET): "$JSON_DATA", "$BUILD_TARGET" are payloads and
     * build targets (review 24 paths M1; XDG_DATA_HOME, *_DATA_DIR and
     * CARGO_TARGET_DIR are read by their suffix) */
    if (part_in(w, lp, n, last) || chio__lp_name_is(w, n, "pip_target") ||
        (lp > 0 && n > 5 && strncasecmp(w, "snap_", 5) == 0 &&
         chio__lp_name_is(w + lp, n - lp, "data")))
        return 1;
    for (a = 0; a < n; a = b + 1) {
        for (b = a; b < n && w[b] != '_'; b++)
            ;
        if (part_in(w, a, b, parts))
            return 1;
    }
    return 0;
}

/* The kind of the name @w (@n bytes) as a nameref the value declares:
 * LP_INDIRECT when any declaration of it cannot be read (review 23 Q1:
 * "declare -n r=H\"OME\"", "declare -n r; r=HOME", a target that is a
 * directory's name or another nameref, declared in any order, a nameref
 * as a "for" variable), LP_TEXT when every one names a literal variable
 * that is neither ("declare -n r=arr") or a function's positional
 * argument ("local -n arr=$1", not read), -1 when it is none. */
static int nameref_kind(const lp_ctx *c, const char *w, size_t n)
{
    size_t i;
    int found = 0;

    if (c->anyref)
        return LP_INDIRECT;
    for (i = 0; i < c->nrefs; i++)
        if (c->ref_len[i] == n && memcmp(c->ref[i], w, n) == 0) {
            if (c->unread[i])
                return LP_INDIRECT;
            found = 1;
        }
    return found ? LP_TEXT : -1;
}

/* What the name @w (@n bytes) holds: a nameref's kind (nameref_kind),
 * LP_DIR for a directory's name, else LP_TEXT. */
static int name_kind(const lp_ctx *c, const char *w, size_t n)
{
    int k;

    /* "$_", "${_}": the last argument of the previous command, a word
     * this reading may have passed as no path ("test -d $HOME && rm -rf
     * $_"; review 24 paths R1) */
    if (n == 1 && w[0] == '_')
        return chio__lp_underscore_kind(c, w);
    k = nameref_kind(c, w, n);

    if (k >= 0)
        return k;
    return directory_name(w, n) ? LP_DIR : LP_TEXT;
}

int chio__param_head_valid(const char *s, size_t n, size_t i)
{
    size_t p = i + 2;

    if (p > n || s[i] != '$' || s[i + 1] != '{')
        return 0;
    if (p + 1 < n && (s[p] == '!' || s[p] == '#') &&
        (chio__lp_name_char((unsigned char)s[p + 1]) || special_char(s[p + 1])))
        p++;
    if (p >= n)
        return 0;
    if (chio__lp_name_start((unsigned char)s[p]))
        while (p < n && chio__lp_name_char((unsigned char)s[p]))
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
 * holds a directory, name_kind; LP_INDIRECT for a nameref), a positional or special one ("$1",
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
    if (chio__lp_name_start((unsigned char)s[j])) {
        while (j < lim && chio__lp_name_char((unsigned char)s[j]))
            j++;
        *kind = name_kind(c, s + i + 1, j - i - 1);
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
    } else if (s[ns] == '#' && ns + 1 < k && chio__lp_name_char((unsigned char)s[ns + 1])) {
        length = 1; /* "${#x}": a length */
        ns++;
    }
    ne = ns;
    if (chio__lp_name_start((unsigned char)s[ne]))
        while (ne < k && chio__lp_name_char((unsigned char)s[ne]))
            ne++;
    else if (chio__ascii_digit((unsigned char)s[ne]))
        while (ne < k && chio__ascii_digit((unsigned char)s[ne]))
            ne++;
    else if (special_char(s[ne]))
        ne++;
    if (length)
        return k + 1;
    if (indirect) {
        /* "${!x*}", "${!x@}": names; "${!a[@]}", "${!a[*]}": keys;
         * anything else ("${!x}", "${!a[0]}", "${!x:-a}") the value of a
         * parameter named by a value (review 23 Q1) */
        if (!(ne < k && ((ne + 1 == k && (s[ne] == '*' || s[ne] == '@')) ||
                         (ne + 3 == k && s[ne] == '[' && (s[ne + 1] == '@' || s[ne + 1] == '*') &&
                          s[ne + 2] == ']'))))
            *kind = LP_INDIRECT;
    } else {
        *kind = name_kind(c, s + ns, ne - ns);
    }
    d = (size_t)inner_kind(c, ne, k, depth);
    if ((int)d > *kind)
        *kind = (int)d;
    return k + 1;
}

/* Does the word at s[@i] start "declare", "typeset" or "local" followed
 * by a blank, as written or as a shell reads it (up to 8 quotes and
 * backslashes dropped: "d''eclare", "\"declare\"": review 23 Q1)? Its
 * length in @s, or 0. Any byte but a name's before it starts one ("bash
 * -c 'declare -n ..'"). */
static size_t decl_word(const char *s, size_t n, size_t i)
{
    static const char *const words[] = {"declare", "typeset", "local"};
    size_t k, p, w, skips;

    if (i > 0 && chio__lp_name_char((unsigned char)s[i - 1]))
        return 0;
    for (k = 0; k < 3; k++) {
        for (p = i, w = 0, skips = 0; p < n && skips <= 8; p++) {
            if (s[p] == '\'' || s[p] == '"' || s[p] == '\\') {
                skips++;
                continue;
            }
            if (words[k][w] == '\0' || s[p] != words[k][w])
                break;
            w++;
        }
        if (words[k][w] == '\0' && p < n && (s[p] == ' ' || s[p] == '\t'))
            return p - i;
    }
    return 0;
}

/* Record the name of the declaration word s[@a, @b) (quotes and
 * backslashes dropped: "'r'=HOME", "r\=x") as a nameref; one that is not
 * a name ("$x", "a[0]") makes every parameter one (c->anyref). */
static void record_nameref(lp_ctx *c, size_t a, size_t b)
{
    char name[LP_REF_NAME];
    size_t l = 0, k;

    for (k = a; k < b && c->s[k] != '='; k++) {
        unsigned char ch = (unsigned char)c->s[k];

        if (ch == '\'' || ch == '"' || ch == '\\')
            continue;
        if (!(l == 0 ? chio__lp_name_start(ch) : chio__lp_name_char(ch)) || l == LP_REF_NAME) {
            c->anyref = 1;
            return;
        }
        name[l++] = (char)ch;
    }
    if (l == 0) {
        c->anyref = 1;
        return;
    }
    if (c->nrefs == LP_REFS) {
        c->bound = 1;
        return;
    }
    memcpy(c->ref[c->nrefs], name, l);
    c->ref_len[c->nrefs] = l;
    c->tgt_at[c->nrefs] = 0;
    c->tgt_len[c->nrefs] = 0;
    c->unread[c->nrefs] = 1;
    if (k < b && c->s[k] == '=') {
        size_t t = k + 1, e;

        for (e = t; e < b && chio__lp_name_char((unsigned char)c->s[e]); e++)
            ;
        if (e == b && e > t && chio__lp_name_start((unsigned char)c->s[t])) {
            /* a literal variable: read unless a directory's name */
            c->unread[c->nrefs] = directory_name(c->s + t, e - t);
            c->tgt_at[c->nrefs] = t;
            c->tgt_len[c->nrefs] = e - t;
        } else if ((b - t == 2 && c->s[t] == '$' && c->s[t + 1] >= '1' && c->s[t + 1] <= '9') ||
                   (b - t == 4 && c->s[t] == '"' && c->s[t + 1] == '$' && c->s[t + 2] >= '1' &&
                    c->s[t + 2] <= '9' && c->s[t + 3] == '"')) {
            c->unread[c->nrefs] = 0; /* "local -n r=$1": not read */
        }
    }
    c->nrefs++;
}

/* Is the name ref[@r] a "for" loop's variable ("for r in ..")? */
static int for_variable(const lp_ctx *c, size_t r)
{
    const char *s = c->s, *p;
    size_t at = 0, l = c->ref_len[r];

    while (at + 4 + l <= c->n && (p = memmem(s + at, c->n - at, "for", 3)) != NULL) {
        size_t i = (size_t)(p - s), j = i + 3;

        at = i + 3;
        if (i > 0 && chio__lp_name_char((unsigned char)s[i - 1]))
            continue;
        if (j >= c->n || (s[j] != ' ' && s[j] != '\t'))
            continue;
        while (j < c->n && (s[j] == ' ' || s[j] == '\t'))
            j++;
        if (c->n - j >= l && memcmp(s + j, c->ref[r], l) == 0 &&
            (j + l == c->n || !chio__lp_name_char((unsigned char)s[j + l])))
            return 1;
    }
    return 0;
}

/* After the declarations are read: a nameref to a nameref, or one used
 * as a "for" variable, cannot be read (review 23 Q1). Linear: LP_REFS
 * passes at most. */
static void settle_namerefs(lp_ctx *c)
{
    size_t r, q;

    for (r = 0; r < c->nrefs; r++) {
        if (c->tgt_len[r] > 0)
            for (q = 0; q < c->nrefs; q++)
                if (c->ref_len[q] == c->tgt_len[r] &&
                    memcmp(c->ref[q], c->s + c->tgt_at[r], c->tgt_len[r]) == 0)
                    c->unread[r] = 1;
        if (!c->unread[r] && for_variable(c, r))
            c->unread[r] = 1;
    }
}

/* Is the declaration word s[@a, @b) one an expansion may turn into
 * options ("declare $x r=HOME", "declare -$o r", "local \"$1\" r",
 * "declare \"$@\""): it holds a '$' or a backtick and is no assignment
 * to a literal name ("x=$1", which bash does not split)? Such a word may
 * hold "-n": every parameter is then one the text cannot name (review 24
 * paths R7). */
static int computed_decl_word(const char *s, size_t a, size_t b)
{
    size_t k;

    if (memchr(s + a, '$', b - a) == NULL && memchr(s + a, '`', b - a) == NULL)
        return 0;
    if (!chio__lp_name_start((unsigned char)s[a]))
        return 1;
    for (k = a; k < b && chio__lp_name_char((unsigned char)s[k]); k++)
        ;
    return !(k < b && (s[k] == '=' || (s[k] == '+' && k + 1 < b && s[k + 1] == '=')));
}

/* The namerefs the value declares ("declare -n r=HOME", "typeset -n",
 * "local -rn r='OLDPWD'", "declare -n r" with no target, anywhere, in
 * any order): every name after a "declare", "typeset" or "local" with an
 * option holding 'n' is recorded in @c, whatever its target (review 23
 * Q1: a target need not be read, "H\"OME\"" or assigned later, so any
 * use of the name is unreadable), at most LP_REFS (past it, or past
 * LP_DECL_WORDS words after one declaration, c->bound). Linear: each
 * "declare" reads on from where the last stopped. */
static void collect_namerefs(lp_ctx *c)
{
    const char *s = c->s;
    size_t n = c->n, i, l, a = 0, b, o, words, first;
    int nref;

    for (i = 0; i < n; i++) {
        if ((l = decl_word(s, n, i)) == 0)
            continue;
        nref = 0;
        /* the options first: any holding 'n' ("-n", "-rn", "'-n'") */
        for (a = i + l, words = 0, first = 0; a < n; a = b) {
            while (a < n && (s[a] == ' ' || s[a] == '\t'))
                a++;
            for (b = a; b < n && s[b] != ' ' && s[b] != '\t' && strchr(";&|\n)`", s[b]) == NULL;
                 b++)
                ;
            if (b == a) {
                if (a < n && s[a] == '`')
                    c->anyref = 1; /* "local `echo -n` r": computed too */
                break;
            }
            if (++words > LP_DECL_WORDS) {
                c->bound = 1;
                return;
            }
            if (computed_decl_word(s, a, b))
                c->anyref = 1;
            for (o = a; o < b && (s[o] == '\'' || s[o] == '"' || s[o] == '\\'); o++)
                ;
            if (o < b && s[o] == '-') {
                nref |= memchr(s + o, 'n', b - o) != NULL;
                continue;
            }
            if (first == 0)
                first = a;
        }
        if (nref && first != 0) {
            for (a = first; a < n; a = b) {
                while (a < n && (s[a] == ' ' || s[a] == '\t'))
                    a++;
                for (b = a; b < n && s[b] != ' ' && s[b] != '\t' && strchr(";&|\n)`", s[b]) == NULL;
                     b++)
                    ;
                if (b == a)
                    break;
                for (o = a; o < b && (s[o] == '\'' || s[o] == '"' || s[o] == '\\'); o++)
                    ;
                if (o < b && s[o] == '-')
                    continue;
                record_nameref(c, a, b);
                if (c->bound)
                    return;
            }
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
    size_t k;

    if (i == 0 || chio__path_word_break(s, n, i - 1) > 0 || strchr("(){}`", s[i - 1]) != NULL ||
        (i >= 2 && s[i - 2] == '-' && chio__lp_alpha((unsigned char)s[i - 1])))
        return 1;
    /* after a cluster of short options: "-C$HOME", "-xzC$HOME", "-at$HOME"
     * (review 23 Q1) */
    for (k = i; k > 0 && (chio__lp_alpha((unsigned char)s[k - 1]) ||
                          chio__ascii_digit((unsigned char)s[k - 1]));
         k--)
        ;
    return k < i && k > 0 && s[k - 1] == '-' && chio__lp_alpha((unsigned char)s[k]) &&
           (k == 1 || chio__path_word_break(s, n, k - 2) > 0);
}

int chio__lone_param_reading(const char *s, size_t n)
{
    lp_ctx c;
    struct lp_us us;
    size_t i, j, e;
    int kind, one;

    if (memchr(s, '$', n) == NULL)
        return 0;
    c.s = s;
    c.n = n;
    c.nrefs = 0;
    c.anyref = 0;
    c.bound = 0;
    c.redef = -1;
    us.qpos = 0;
    us.qs = 0;
    us.run = -1;
    us.heredoc = SIZE_MAX;
    c.us = &us;
    collect_namerefs(&c);
    if (c.bound)
        return 2;
    settle_namerefs(&c);
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
        if (kind != LP_TEXT && word_may_end(s, n, j) &&
            !chio__lp_unredefined_test_operand(&c, i, j))
            return kind == LP_INDIRECT ? 2 : 1;
        i = j - 1;
    }
    return 0;
}
