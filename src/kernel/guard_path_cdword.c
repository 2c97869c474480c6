/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/guard_path_cdword.c - what the forbidden_path guard's reading
 * of working directories (guard_path_cwd.c) takes for a change of
 * directory: the words ("cd", "pushd", "-C", "--directory", "chdir(",
 * "cwd="), the JSON keys ("cwd", "working_dir", "rootPath") and the
 * operand each one takes ("cd >/dev/null /", "os.chdir(b'/etc')", old
 * tar's "cfC"), and where a word of that reading ends. Lexical only: no
 * state, no locks, no allocation.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "guard_path.h"
#include "internal.h"
#include "normalize.h"

/* Where a word ends for this reading: white space (Unicode spaces too),
 * the shell's operators, quotes, braces and the separators of a list or
 * an assignment; not '[', which opens a glob's bracket ("e[t]c/passwd"
 * is one word). The end of the word at @i, the break's bytes in *@brk. */
size_t chio__gp_cwd_word_at(const char *t, size_t n, size_t i, size_t *brk)
{
    for (*brk = 1; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c >= 0x80 && (*brk = chio__space_at(t + i, n - i)) > 0)
            return i;
        *brk = 1;
        if (c <= 0x20 || c == 0x7f || strchr(";|&<>(){},=:@'\"`", c) != NULL)
            return i;
    }
    return n;
}

/* Does the word @w (@n bytes) set the working directory for what
 * follows? The shell's "cd" and "pushd"; "CDPATH" (its value is where
 * "cd name" looks); "chroot" (which starts its command at "/"); "-C"
 * (also at the end of a cluster, "-cC") and any abbreviation getopt_long
 * takes of "--chdir", "--directory", "--cwd", "--workdir" and
 * "--working-directory"; in code, "chdir" and a method so named
 * ("os.chdir(", "Dir.chdir", "os.Chdir"), "cwd" and "workdir" ("cwd='/'");
 * and "-w" (docker), "-D" (sudo) and "--prefix" (npm), which other tools
 * use for other things. Returns its CD_* kind. */
int chio__gp_cd_word(const char *w, size_t n)
{
    static const char *const words[] = {"cd", "pushd", "CDPATH", "chroot"};
    static const char *const weak[] = {"-D", "-w", "--prefix"};
    static const char *const longs[] = {"chdir", "directory", "cwd", "workdir",
                                        "working-directory"};
    size_t i;

    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strlen(words[i]) == n && memcmp(words[i], w, n) == 0)
            return CHIO__GP_CD_SHELL;
    for (i = 0; i < sizeof(weak) / sizeof(weak[0]); i++)
        if (strlen(weak[i]) == n && memcmp(weak[i], w, n) == 0)
            return CHIO__GP_CD_WEAK;
    if ((n == 3 && memcmp(w, "cwd", 3) == 0) || (n == 7 && memcmp(w, "workdir", 7) == 0))
        return CHIO__GP_CD_CODE;
    if (n >= 5 && strncasecmp(w + n - 5, "chdir", 5) == 0 &&
        (n == 5 || w[n - 6] == '.' || w[n - 6] == ':'))
        return CHIO__GP_CD_CODE;
    if (n >= 2 && w[0] == '-' && w[1] != '-' && w[n - 1] == 'C') {
        for (i = 1; i + 1 < n && chio__ascii_lower((unsigned char)w[i]) >= 'a' &&
                    chio__ascii_lower((unsigned char)w[i]) <= 'z';
             i++)
            ;
        return i + 1 == n ? CHIO__GP_CD_SHELL : CHIO__GP_CD_NONE; /* "-C", "-cC", "-iC" */
    }
    if (n >= 4 && w[0] == '-' && w[1] == '-')
        for (i = 0; i < sizeof(longs) / sizeof(longs[0]); i++)
            if (n - 2 <= strlen(longs[i]) && memcmp(w + 2, longs[i], n - 2) == 0)
                return CHIO__GP_CD_SHELL;
    return CHIO__GP_CD_NONE;
}

/* Does @s end with @suffix? */
static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);

    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* Does the key @name name a working directory ("cwd", "working_dir",
 * "workingDirectory", "project_dir", "rootPath", "folder", "CDPATH"):
 * ASCII case folded, '_' and '-' ignored, ending "dir", "directory",
 * "cwd", "root", "folder", "workspace" or "cdpath", or one of "cd",
 * "chdir", "basepath", "rootpath", "projectpath", "workingpath"? */
int chio__gp_cd_key(const char *name)
{
    static const char *const ends[] = {"dir",    "directory", "cwd",   "root",
                                       "folder", "workspace", "cdpath"};
    static const char *const keys[] = {"cd",       "chdir",       "basepath",
                                       "rootpath", "projectpath", "workingpath"};
    char k[40];
    size_t n = 0, i, len = name != NULL ? strlen(name) : 0;

    /* the last letters only: what a long name ends with */
    for (i = len; i > 0 && n + 1 < sizeof(k); i--)
        if (name[i - 1] != '_' && name[i - 1] != '-')
            n++;
    for (n = 0; i < len; i++)
        if (name[i] != '_' && name[i] != '-')
            k[n++] = (char)chio__ascii_lower((unsigned char)name[i]);
    k[n] = '\0';
    for (i = 0; n > 0 && i < sizeof(ends) / sizeof(ends[0]); i++)
        if (ends_with(k, n, ends[i]))
            return 1;
    for (i = 0; n > 0 && i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(k, keys[i]) == 0)
            return 1;
    return 0;
}

/* Do the bytes between two words ([@a, @b) of @t) end a command (';',
 * '|', '&' other than in a redirection's "&>" or ">&", a line break, a
 * closing parenthesis)? */
static int ends_command(const char *t, size_t a, size_t b)
{
    size_t i;

    for (i = a; i < b; i++) {
        if (t[i] == '&' &&
            ((i > a && (t[i - 1] == '>' || t[i - 1] == '<')) || (i + 1 < b && t[i + 1] == '>')))
            continue;
        if (t[i] == '\0' || strchr(";&|\n)", t[i]) != NULL)
            return 1;
    }
    return 0;
}

/* Is [@i, @j) of @t a redirection's file descriptor ("2" in "2>x")? */
static int redirect_fd(const char *t, size_t n, size_t i, size_t j)
{
    size_t k;

    for (k = i; k < j; k++)
        if (t[k] < '0' || t[k] > '9')
            return 0;
    return j < n && (t[j] == '>' || t[j] == '<');
}

/* Is [@i, @j) of @t what a call in code puts before its directory: a
 * string prefix ("b'/etc'", "r\"/\"", "%q(/etc)"), or a keyword
 * ("path='/etc'")? */
static int code_prefix(const char *t, size_t n, size_t i, size_t j)
{
    size_t k;

    if (t[i] == '%')
        return 1;
    if (j < n && t[j] == '=')
        return 1;
    if (j - i > 2 || j >= n || (t[j] != '\'' && t[j] != '"' && t[j] != '`'))
        return 0;
    for (k = i; k < j; k++)
        if (strchr("bBrRuUfF", t[k]) == NULL)
            return 0;
    return 1;
}

/* The target of the change of directory of kind @kind whose word ends
 * at @i in @t: the next word of the same command that is no option
 * ("-P", "--"; "-" is $OLDPWD), no redirection ("cd >/dev/null /"), no
 * redirection's descriptor and, for a call in code, no string prefix or
 * keyword. Its start in *@ws and its end returned; *@ws = @n when the
 * command has none; *@cmd 1 when a shell's command substitution ('`')
 * stands before it (in code a backtick quotes: JavaScript). */
size_t chio__gp_cd_operand(const char *t, size_t n, size_t i, int kind, size_t *ws, int *cmd)
{
    size_t from = i, j = i, brk, k;
    int redirected;

    *cmd = 0;
    for (;;) {
        while (i < n && (j = chio__gp_cwd_word_at(t, n, i, &brk)) == i)
            i += brk; /* breaks */
        if (i >= n || ends_command(t, from, i)) {
            *ws = n;
            return n;
        }
        for (k = from, redirected = 0; k < i; k++) {
            redirected |= t[k] == '>' || t[k] == '<';
            *cmd |= t[k] == '`' && kind != CHIO__GP_CD_CODE;
        }
        if (!redirected && !redirect_fd(t, n, i, j) && (t[i] != '-' || j - i == 1) &&
            !(kind == CHIO__GP_CD_CODE && code_prefix(t, n, i, j))) {
            *ws = i;
            return j;
        }
        from = i = j;
    }
}

/* "cwd" and "workdir" name a directory only when a value follows ("cwd='/'",
 * "workdir: /"): 1 for one of them with none. */
int chio__gp_assignment_only(const char *t, size_t n, size_t i, size_t j)
{
    if (!((j - i == 3 && memcmp(t + i, "cwd", 3) == 0) ||
          (j - i == 7 && memcmp(t + i, "workdir", 7) == 0)))
        return 0;
    while (j < n && (t[j] == ' ' || t[j] == '"' || t[j] == '\''))
        j++;
    return !(j < n && (t[j] == '=' || t[j] == ':'));
}

/* Old-style tar: "tar cfC - / x" takes the directory from its bundle of
 * letters, without a dash; read at worst. */
int chio__gp_tar_bundle(const char *t, size_t n, size_t i, size_t j)
{
    size_t ws, we, brk;

    if (j - i != 3 || memcmp(t + i, "tar", 3) != 0)
        return 0;
    for (ws = j; ws < n && (we = chio__gp_cwd_word_at(t, n, ws, &brk)) == ws; ws += brk)
        ;
    return ws < n && t[ws] != '-' && memchr(t + ws, 'C', we - ws) != NULL;
}
