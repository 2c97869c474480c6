/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/guard_path_cdword.c - what the forbidden_path guard's reading
 * of working directories (guard_path_cwd_roots.c) takes for a change of
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
#include "guard_path_cd.h"
#include "internal.h"
#include "normalize.h"

/* The end of the parameter expansion "${..}" that opens at t[@i], one
 * past its matching '}' as bash reads it: inner ones counted
 * ("${A:-${B}}"), quotes paired and a backslash escaping the next byte,
 * so blanks, quotes and operators inside are part of it ("${PWD:-a b}",
 * "${PWD:-a;b}", "${PWD:-\\}}"; review 21 F2). @i when none closes within
 * BRACED_MAX bytes (the search stays linear over the text). */
#define BRACED_MAX 256
size_t chio__gp_braced_end(const char *t, size_t n, size_t i)
{
    size_t k, depth = 0, lim = n - i > BRACED_MAX ? i + BRACED_MAX : n;
    char q = 0;

    if (i + 1 >= n || t[i] != '$' || t[i + 1] != '{')
        return i;
    for (k = i + 1; k < lim; k++) {
        char c = t[k];
        if (c == '\\' && q != '\'') {
            k++;
            continue;
        }
        if (q != 0) {
            if (c == q)
                q = 0;
            continue;
        }
        if (c == '\'' || c == '"')
            q = c;
        else if (c == '{')
            depth++;
        else if (c == '}' && --depth == 0)
            return k + 1;
    }
    return i;
}

/* Where a word ends for this reading: white space (Unicode spaces too),
 * the shell's operators, quotes, braces and the separators of a list or
 * an assignment; not '[', which opens a glob's bracket ("e[t]c/passwd"
 * is one word), and not inside a parameter expansion "${..}", which is
 * one piece of its word as "$name" is ("${PWD}/shadow", "${X:-.}/x";
 * review 20 F1). The end of the word at @i, the break's bytes in *@brk. */
size_t chio__gp_cwd_word_at(const char *t, size_t n, size_t i, size_t *brk)
{
    size_t k;

    for (*brk = 1; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c >= 0x80 && (*brk = chio__space_at(t + i, n - i)) > 0)
            return i;
        *brk = 1;
        if (c == '$' && (k = chio__gp_braced_end(t, n, i)) > i) {
            i = k - 1;
            continue;
        }
        if (c <= 0x20 || c == 0x7f || strchr(";|&<>(){},=:@'\"`", c) != NULL)
            return i;
    }
    return n;
}

/* Is @w (@n bytes) the name @name, alone or after a '.' or ':' (a method
 * or a qualified name: "os.fchdir", "cmd.Dir", "env::set_current_dir")? */
static int method_named(const char *w, size_t n, const char *name)
{
    size_t k = strlen(name);

    return n >= k && memcmp(w + n - k, name, k) == 0 &&
           (n == k || w[n - k - 1] == '.' || w[n - k - 1] == ':');
}

/* Code that sets a working directory by a call whose argument names it
 * ("os.fchdir(os.open('/etc', 0))", Rust's ".current_dir(\"/etc\")",
 * Java's ".directory(new File(\"/etc\"))", .NET's
 * "SetCurrentDirectory('/etc')"), counted only before a '('
 * (chio__gp_assignment_only), and by a field or keyword assigned one (Go's
 * "cmd.Dir = \"/etc\"", .NET's "CurrentDirectory = ", Python's
 * "dir_fd=os.open('/etc', 0)"), counted only before '=' or ':'. */
static const char *const code_calls[] = {"fchdir", "current_dir", "set_current_dir",
                                         "SetCurrentDirectory", "directory"};
static const char *const code_fields[] = {
    "cwd",    "workdir",    "Dir",       "CurrentDirectory", "WorkingDirectory",
    "dir_fd", "src_dir_fd", "dst_dir_fd"};

/* PowerShell's changes of directory (any case): "Set-Location" and its
 * alias "sl", "Push-Location"; and "-WorkingDirectory" (Start-Process). */
static const char *const ps_words[] = {"set-location", "sl", "push-location", "-workingdirectory",
                                       "pop-location"};

/* Does the word @w (@n bytes) set the working directory for what
 * follows? The shell's "cd" and "pushd"; "CDPATH" (its value is where
 * "cd name" looks); "chroot" (which starts its command at "/");
 * PowerShell's "Set-Location", "sl", "Push-Location" (review 20 F5); "-C"
 * (also at the end of a cluster, "-cC") and any abbreviation getopt_long
 * takes of "--chdir", "--directory", "--cwd", "--workdir",
 * "--working-directory", "--wd" and "--wdns" (nsenter, unshare); in code,
 * "chdir" and a method so named ("os.chdir(", "Dir.chdir", "os.Chdir"),
 * the calls and fields of code_calls and code_fields; and "-w" (docker,
 * nsenter), "-D" (sudo) and "--prefix" (npm), which other tools use for
 * other things. Returns its CD_* kind. */
int chio__gp_cd_word(const char *w, size_t n)
{
    static const char *const words[] = {"cd", "pushd", "popd", "CDPATH", "chroot"};
    static const char *const weak[] = {"-D", "-w", "--prefix"};
    static const char *const longs[] = {"chdir", "directory", "cwd", "workdir", "working-directory",
                                        "wd",    "wdns"};
    size_t i;

    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strlen(words[i]) == n && memcmp(words[i], w, n) == 0)
            return CHIO__GP_CD_SHELL;
    for (i = 0; i < sizeof(ps_words) / sizeof(ps_words[0]); i++)
        if (strlen(ps_words[i]) == n && strncasecmp(ps_words[i], w, n) == 0)
            return CHIO__GP_CD_SHELL;
    for (i = 0; i < sizeof(weak) / sizeof(weak[0]); i++)
        if (strlen(weak[i]) == n && memcmp(weak[i], w, n) == 0)
            return CHIO__GP_CD_WEAK;
    for (i = 0; i < sizeof(code_fields) / sizeof(code_fields[0]); i++)
        if (i < 2 ? strlen(code_fields[i]) == n && memcmp(w, code_fields[i], n) == 0
                  : method_named(w, n, code_fields[i]))
            return CHIO__GP_CD_CODE;
    for (i = 0; i < sizeof(code_calls) / sizeof(code_calls[0]); i++)
        if (method_named(w, n, code_calls[i]) &&
            (strcmp(code_calls[i], "directory") != 0 || (n > 9 && w[n - 10] == '.')))
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
    /* pwsh's "-wd" (its alias of -WorkingDirectory), any case */
    if (n == 3 && strncasecmp(w, "-wd", 3) == 0)
        return CHIO__GP_CD_WEAK;
    /* PowerShell takes a unique prefix of a parameter's name:
     * "Start-Process -WorkingDir" (review 21 F6) */
    if (n >= 8 && n < 17 && strncasecmp(w, "-workingdirectory", n) == 0)
        return CHIO__GP_CD_SHELL;
    /* "--w" is getopt_long's "--wd" for unshare (review 21 F6) */
    if ((n >= 4 || (n == 3 && w[2] == 'w')) && w[0] == '-' && w[1] == '-')
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

/* Is [@i, @j) of @t the name of a call ("os.open" before "(")? */
static int call_name(const char *t, size_t n, size_t i, size_t j)
{
    (void)i;
    while (j < n && t[j] == ' ')
        j++;
    /* a path to a call ("Path::new(\"/etc\")": "Path" before "::";
     * review 21 F6) */
    return j < n && (t[j] == '(' || (j + 1 < n && t[j] == ':' && t[j + 1] == ':'));
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
    size_t from = i, j = i, brk, k, cs = n, ce = n, skipped = 0;
    int redirected;

    *cmd = 0;
    for (;; skipped++) {
        if (skipped > CHIO__GP_CD_SKIP_MAX) {
            *cmd = 2; /* bounded: the operand is any directory */
            *ws = n;
            return n;
        }
        while (i < n && (j = chio__gp_cwd_word_at(t, n, i, &brk)) == i)
            i += brk; /* breaks */
        if (i >= n || ends_command(t, from, i)) {
            *ws = cs;
            return cs < n ? ce : n;
        }
        for (k = from, redirected = 0; k < i; k++) {
            redirected |= t[k] == '>' || t[k] == '<';
            *cmd |= t[k] == '`' && kind != CHIO__GP_CD_CODE;
        }
        if (kind == CHIO__GP_CD_CODE &&
            (call_name(t, n, i, j) || (j - i == 3 && memcmp(t + i, "new", 3) == 0))) {
            /* "os.fchdir(os.open('/etc', 0))", ".directory(new
             * File(\"/etc\"))": the directory is the inner call's argument;
             * with none, the call itself, as before (review 20 F5) */
            if (cs == n) {
                cs = i;
                ce = j;
            }
        } else if (!redirected && !redirect_fd(t, n, i, j) && (t[i] != '-' || j - i == 1) &&
                   !(kind == CHIO__GP_CD_CODE && code_prefix(t, n, i, j))) {
            *ws = i;
            return j;
        }
        from = i = j;
    }
}

/* Is the code word t[@i, @j) one of code_calls or code_fields? 1 a call,
 * 2 a field, 0 neither. */
static int code_word(const char *t, size_t i, size_t j)
{
    size_t k;

    for (k = 0; k < sizeof(code_fields) / sizeof(code_fields[0]); k++)
        if (k < 2 ? strlen(code_fields[k]) == j - i && memcmp(t + i, code_fields[k], j - i) == 0
                  : method_named(t + i, j - i, code_fields[k]))
            return 2;
    for (k = 0; k < sizeof(code_calls) / sizeof(code_calls[0]); k++)
        if (method_named(t + i, j - i, code_calls[k]))
            return 1;
    return 0;
}

/* The fields of code_fields ("cwd", "workdir", "cmd.Dir", "dir_fd") name
 * a directory only when a value follows ("cwd='/'", "workdir: /", "Dir =
 * \"/etc\""), the calls of code_calls only before a '(' ("fchdir(",
 * ".current_dir("): 1 for one of them without. */
int chio__gp_assignment_only(const char *t, size_t n, size_t i, size_t j)
{
    int kind = code_word(t, i, j);

    if (kind == 0)
        return 0;
    while (j < n && (t[j] == ' ' || t[j] == '\t' || (kind == 2 && (t[j] == '"' || t[j] == '\''))))
        j++;
    if (kind == 1)
        return !(j < n && t[j] == '(');
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

/* Is @w (@n bytes) the word @name, ASCII case aside? */
static int word_is(const char *w, size_t n, const char *name)
{
    return strlen(name) == n && strncasecmp(w, name, n) == 0;
}

int chio__gp_stack_cd(const char *w, size_t n, const char *op, size_t opn)
{
    size_t k;

    if (word_is(w, n, "pop-location") || (n == 4 && memcmp(w, "popd", 4) == 0 && op == NULL))
        return 1;
    if (op == NULL || opn < 2 || (op[0] != '+' && op[0] != '-') ||
        !((n == 4 && memcmp(w, "popd", 4) == 0) || (n == 5 && memcmp(w, "pushd", 5) == 0)))
        return 0;
    for (k = 1; k < opn && op[k] >= '0' && op[k] <= '9'; k++)
        ;
    return k == opn;
}

/* How deep shell text inside shell text (a trap's action, a git "!"
 * alias) is read; deeper reads as a change to the home (fails closed). */
#define HOME_CD_DEPTH 4

static int home_cd_at(const char *t, size_t n, int depth);

/* Does a command start at the word t[@i]: only blanks and quotes
 * between it and the value's start, a separator (";", "&", "|", "(",
 * "{", "`", a line break) or a keyword ("then", "do", "!": at most 4
 * back)? */
static int command_word_at(const char *t, size_t i)
{
    static const char *const kw[] = {"if",    "then", "elif", "else", "while",
                                     "until", "do",   "!",    "time"};
    size_t a, e, k, steps;

    for (steps = 0; steps < 4; steps++) {
        while (i > 0 &&
               (t[i - 1] == ' ' || t[i - 1] == '\t' || t[i - 1] == '"' || t[i - 1] == '\''))
            i--;
        /* "arr=(\"$@\")", "(( $n > 1 ))": an array's words, arithmetic */
        if (i >= 2 && t[i - 1] == '(' && (t[i - 2] == '=' || t[i - 2] == '(' || t[i - 2] == '$'))
            return 0;
        if (i == 0 || strchr(";&|({`\n", t[i - 1]) != NULL)
            return 1;
        for (e = i, a = i; a > 0 && e - a < 6 && t[a - 1] != ' ' && t[a - 1] != '\t'; a--)
            ;
        if (a > 0 && t[a - 1] != ' ' && t[a - 1] != '\t' && strchr(";&|({`\n", t[a - 1]) == NULL)
            return 0;
        for (k = 0; k < sizeof(kw) / sizeof(kw[0]); k++)
            if (strlen(kw[k]) == e - a && memcmp(t + a, kw[k], e - a) == 0)
                break;
        if (k == sizeof(kw) / sizeof(kw[0]))
            return 0;
        i = a;
    }
    return 0;
}

/* The shell text a word at t[@i] holds: its quoted body when it opens
 * with a quote ('..' to the next quote, ".." to the next unescaped one),
 * else the word itself (chio__gp_cwd_word_at). Its start in *@a, its end
 * returned. */
static size_t text_word(const char *t, size_t n, size_t i, size_t *a)
{
    size_t k, brk;

    if (i < n && (t[i] == '\'' || t[i] == '"')) {
        for (k = i + 1; k < n && t[k] != t[i]; k++)
            if (t[i] == '"' && t[k] == '\\')
                k++;
        *a = i + 1;
        return k < n ? k : n;
    }
    *a = i;
    return chio__gp_cwd_word_at(t, n, i, &brk);
}

/* "trap ACTION SIG..": the action is shell text run before every later
 * command ("trap cd DEBUG", "trap 'cd' ERR"; review 24 paths R2): read
 * it as a value of its own. @j is the end of the word "trap". */
static int trap_home_cd(const char *t, size_t n, size_t j, int depth)
{
    size_t i = j, a, e;

    for (;;) {
        while (i < n && (t[i] == ' ' || t[i] == '\t'))
            i++;
        if (i >= n || strchr(";&|\n)", t[i]) != NULL)
            return 0;
        e = text_word(t, n, i, &a);
        if (t[i] == '-' && e > i + 1) { /* "--", "-p" */
            i = e;
            continue;
        }
        /* an action an expansion makes ("trap $'cd' DEBUG", "trap \"$a\"
         * ERR") may be any text: read at worst */
        if (a < e && (t[a] == '$' || t[a] == '`'))
            return 1;
        return home_cd_at(t + a, e - a, depth + 1);
    }
}

/* May the command word t[@i, @j) that opens with an expansion ("$x",
 * "${CD:-cd}", "\"$@\"") be bash's "cd" with a command after it: no '.'
 * or '/' outside its braces ("$x.y", "$VENV/bin/python" run no builtin),
 * not piped on (a pipeline's part runs in a subshell), and a word after
 * its command (@last: one past the last byte that may start one)? */
static int computed_cd(const char *t, size_t n, size_t i, size_t j, size_t last)
{
    size_t k, e;

    for (k = i; k < j; k++) {
        if (t[k] == '$' && (e = chio__gp_braced_end(t, n, k)) > k)
            k = e - 1;
        else if (t[k] == '.' || t[k] == '/')
            return 0;
    }
    for (e = j; e < n && t[e] != ' ' && t[e] != '\t' && strchr(";&|\n", t[e]) == NULL; e++)
        ;
    while (e < n && (t[e] == ' ' || t[e] == '\t'))
        e++;
    if (e < n && t[e] == '|' && !(e + 1 < n && t[e + 1] == '|'))
        return 0;
    return last > e;
}

/* One past the last byte of @t that may start a command word: closing
 * words ("done", "fi", "esac", "}", ")"), separators, blanks and quotes
 * at the end do not ("for f in *.sh; do \"$f\"; done"). Linear. */
static size_t last_command_end(const char *t, size_t n)
{
    static const char *const closers[] = {"done", "fi", "esac"};
    size_t j = n, a, k;

    for (;;) {
        while (j > 0 && strchr(" \t\n;&|)}\"'", t[j - 1]) != NULL)
            j--;
        for (a = j; a > 0 && j - a < 4 && t[a - 1] >= 'a' && t[a - 1] <= 'z'; a--)
            ;
        if (a > 0 && strchr(" \t\n;&|", t[a - 1]) == NULL)
            return j;
        for (k = 0; k < sizeof(closers) / sizeof(closers[0]); k++)
            if (strlen(closers[k]) == j - a && memcmp(t + a, closers[k], j - a) == 0)
                break;
        if (k == sizeof(closers) / sizeof(closers[0]) || a == j)
            return j;
        j = a;
    }
}

static int home_cd_at(const char *t, size_t n, int depth)
{
    size_t i = 0, j, brk, ws, we, a, e, last = 0;
    int cmd, shell_cd;

    if (depth > HOME_CD_DEPTH)
        return 1;
    last = last_command_end(t, n);
    while (i < n) {
        j = chio__gp_cwd_word_at(t, n, i, &brk);
        /* a git "!" alias ("alias.x='!cd; rm -rf *'") is shell text: its
         * body read as a value of its own when quoted, the word without
         * its '!' otherwise (review 24 paths R2) */
        if (j > i && t[i] == '!') {
            if (i > 0 && (t[i - 1] == '\'' || t[i - 1] == '"') && j > i + 1) {
                e = text_word(t, n, i - 1, &a);
                if (home_cd_at(t + i + 1, e - i - 1, depth + 1))
                    return 1;
            }
            while (i < j && t[i] == '!')
                i++;
        }
        if (j - i == 4 && memcmp(t + i, "trap", 4) == 0 && trap_home_cd(t, n, j, depth))
            return 1;
        /* a command word an expansion makes ("${CD:-cd}", "$x", "\"$@\"")
         * may be "cd": read as one when a command follows (review 24
         * paths R2) */
        shell_cd = j > i && t[i] == '$' && command_word_at(t, i) && computed_cd(t, n, i, j, last);
        /* the forbidden_path guard's words for "cd" in the shell and in
         * PowerShell, and "chdir" (review 21 F8) */
        if (shell_cd || (j - i == 2 && memcmp(t + i, "cd", 2) == 0) ||
            (j - i == 5 && memcmp(t + i, "pushd", 5) == 0) ||
            (j - i == 4 && memcmp(t + i, "popd", 4) == 0) ||
            (j - i == 5 && memcmp(t + i, "chdir", 5) == 0) ||
            word_is(t + i, j - i, "set-location") || word_is(t + i, j - i, "sl") ||
            word_is(t + i, j - i, "push-location") || word_is(t + i, j - i, "pop-location")) {
            we = chio__gp_cd_operand(t, n, j, CHIO__GP_CD_SHELL, &ws, &cmd);
            /* past the bound the operand is any directory, the home
             * among them (review 22 P12) */
            if (cmd == 2 ||
                (!cmd && (ws >= n || (we - ws == 1 && t[ws] == '-') ||
                          chio__gp_stack_cd(shell_cd ? "cd" : t + i, shell_cd ? 2 : j - i,
                                            ws < n ? t + ws : NULL, we - ws))))
                return 1;
        }
        i = j + brk;
    }
    return 0;
}

int chio__gp_home_cd(const char *t, size_t n)
{
    return home_cd_at(t, n, 0);
}
