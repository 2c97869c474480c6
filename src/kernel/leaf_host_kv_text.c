/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/leaf_host_kv_text.c - whether a leaf's KEY VALUE readings take
 * config text (split from leaf_host_kv.c, which holds the KEY VALUE state
 * machine): chio__kv_text arms them for a leaf that writes text to a file
 * or pipe ('>', '>>', tee, a heredoc, '|'; review 23 hostfix H3);
 * chio__kv_text_for keeps them armed only where the call could run ssh,
 * git, curl or wget (chio__kv_connects, chio__kv_names_git) or the text
 * goes to a file such a program reads its settings from, by name
 * (~/.ssh/config, .gitconfig, .curlrc, ...; quotes and backslashes
 * dropped too), by a name the shell builds, or piped or here-stringed
 * into a program that writes one (review 24 hosts M1, review 25 hosts
 * K1, K4). It sets st->written alone; no other state.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "constraint_domain.h"

/* Does @s write text to a file or hand it to a program: a '>' opening a
 * word or after a quote or a file descriptor's digit ("> c", ">> f",
 * "'..'>f", "1>f", "&>f"; not "2>&1" nor "->"), tee, a heredoc ("<<EOF",
 * not "<<<"), or a pipe in a call that could run ssh, git or curl? */
void chio__kv_text(chio__kv *st, const char *s, size_t n)
{
    size_t i, k;

    for (i = 0; i < n && !st->written; i++) {
        if (s[i] == '>' && i + 1 < n && s[i + 1] == '&')
            continue;
        if (s[i] == '>') {
            k = i;
            if (k > 0 && (isdigit((unsigned char)s[k - 1]) || s[k - 1] == '&'))
                k--;
            st->written = k == 0 || isspace((unsigned char)s[k - 1]) || s[k - 1] == '\'' ||
                          s[k - 1] == '"' || s[k - 1] == '>';
        } else if (s[i] == '<' && i + 2 < n && s[i + 1] == '<' && s[i + 2] != '<' &&
                   (i == 0 || s[i - 1] != '<')) {
            st->written = 1;
        } else if (s[i] == '|' && st->programs != 0) {
            st->written = 1;
        } else if ((i == 0 || isspace((unsigned char)s[i - 1])) && i + 3 <= n &&
                   memcmp(s + i, "tee", 3) == 0 &&
                   (i + 3 == n || isspace((unsigned char)s[i + 3]))) {
            st->written = 1;
        }
    }
}

/* Does @s name a file ssh, git, curl, wget, npm or pip reads its
 * settings from, or the variable that names one? */
static int config_path(const char *s, size_t n)
{
    static const char *const names[] = {".ssh",       "ssh_config", "ssh/config", "gitconfig",
                                        "git/config", "git_config", "curlrc",     "curl_home",
                                        "wgetrc",     "npmrc",      "yarnrc",     "pip.conf",
                                        "pip.ini",    "pip_config", NULL};
    size_t i, k, len;

    for (i = 0; i < n; i++)
        for (k = 0; names[k] != NULL; k++) {
            len = strlen(names[k]);
            if (i + len <= n && strncasecmp(s + i, names[k], len) == 0)
                return 1;
        }
    return 0;
}

int chio__kv_names_git(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i + 3 <= n; i++)
        if (strncasecmp(s + i, "git", 3) == 0)
            return 1;
    return 0;
}

int chio__kv_connects(int bits, int git)
{
    return (bits & (CHIO__PROG_SSH | CHIO__PROG_FETCH)) != 0 ||
           (bits & CHIO__PROG_ALL) == CHIO__PROG_ALL || ((bits & CHIO__PROG_CONFIG) != 0 && git);
}

/* config_path on [s, s + n) with quotes and backslashes dropped: does a
 * listed name start at @i ("~/.g''itconfig", "~/.cur\\lrc")? */
static int config_name_at(const char *s, size_t i, size_t n, const char *name)
{
    size_t k = 0;

    while (name[k] != '\0') {
        while (i < n && (s[i] == '\'' || s[i] == '"' || s[i] == '\\'))
            i++;
        if (i >= n || tolower((unsigned char)s[i]) != tolower((unsigned char)name[k]))
            return 0;
        i++;
        k++;
    }
    return 1;
}

static int config_path_dequoted(const char *s, size_t n)
{
    static const char *const firsts[] = {".ssh",       "ssh_config", "ssh/config", "gitconfig",
                                         "git/config", "git_config", "curlrc",     "curl_home",
                                         "wgetrc",     "npmrc",      "yarnrc",     "pip.conf",
                                         "pip.ini",    "pip_config", NULL};
    size_t i, k;

    for (i = 0; i < n; i++) {
        if (s[i] == '\'' || s[i] == '"' || s[i] == '\\')
            continue;
        for (k = 0; firsts[k] != NULL; k++)
            if (tolower((unsigned char)s[i]) == firsts[k][0] && config_name_at(s, i, n, firsts[k]))
                return 1;
    }
    return 0;
}

/* Is the word at @i (blanks skipped) one the shell builds: it holds an
 * expansion, a quote, a backslash or a glob, so it may name any file,
 * a config file among them? The word's end goes to *@end. */
static int built_word(const char *s, size_t i, size_t n, size_t *end)
{
    int built = 0;

    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    for (; i < n && !isspace((unsigned char)s[i]) && strchr(";&|<>()", s[i]) == NULL; i++)
        if (strchr("$`'\"\\?*[{", s[i]) != NULL)
            built = 1;
    *end = i;
    return built;
}

/* Does @s write to a file whose name the shell builds ("> ~/.$(echo
 * cur)lrc", "> ~/.${X:-cur}lrc", "| tee ~/.$(echo cur)lrc")? Such a
 * name may be a config file's: the written text is read (fail closed;
 * review 25 hosts K1). Each byte is scanned once. */
static int writes_built_name(const char *s, size_t n)
{
    size_t i = 0, end;
    int tee = 0;

    while (i < n) {
        if (s[i] == '>' && !(i + 1 < n && s[i + 1] == '&')) {
            while (i < n && s[i] == '>')
                i++;
            if (built_word(s, i, n, &end))
                return 1;
            i = end > i ? end : i + 1;
        } else if ((i == 0 || isspace((unsigned char)s[i - 1])) && i + 3 <= n &&
                   memcmp(s + i, "tee", 3) == 0 &&
                   (i + 3 == n || isspace((unsigned char)s[i + 3]))) {
            tee = 1;
            i += 3;
        } else if (tee && !isspace((unsigned char)s[i]) && strchr(";&|<>()\n", s[i]) == NULL) {
            if (built_word(s, i, n, &end))
                return 1;
            i = end > i ? end : i + 1;
        } else {
            if (strchr(";&|\n", s[i]) != NULL)
                tee = 0;
            i++;
        }
    }
    return 0;
}

/* Does @s hand text on by a pipe or a here-string ("| dd of=F", "cp
 * /dev/stdin F <<< ..")? */
static int pipes_text(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if ((s[i] == '|' && (i + 1 >= n || s[i + 1] != '|') && (i == 0 || s[i - 1] != '|')) ||
            (s[i] == '<' && i + 2 < n && s[i + 1] == '<' && s[i + 2] == '<'))
            return 1;
    return 0;
}

/* Does a word of @s name a hidden file of the home whose name the shell
 * builds ("$HOME/.$(echo cur)lrc", "~/.g''itconfig")? Each word once. */
static int home_built(const char *s, size_t n)
{
    size_t i = 0, end;

    while (i + 1 < n) {
        if (s[i] == '/' && s[i + 1] == '.') {
            if (built_word(s, i, n, &end))
                return 1;
            i = end > i ? end : i + 1;
        } else {
            i++;
        }
    }
    return 0;
}

void chio__kv_text_for(chio__kv *st, const char *s, size_t n, int connects)
{
    chio__kv_text(st, s, n);
    /* text piped or here-stringed into a program that writes a config
     * file the leaf names ("| dd of=$HOME/.curlrc", "cp /dev/stdin
     * ~/.curlrc <<< 'proxy = H'"; review 25 hosts K4) */
    if (!st->written && pipes_text(s, n) &&
        (config_path(s, n) || config_path_dequoted(s, n) || home_built(s, n)))
        st->written = 1;
    if (st->written && !connects && !config_path(s, n) && !config_path_dequoted(s, n) &&
        !writes_built_name(s, n) && !home_built(s, n))
        st->written = 0;
}
