/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/leaf_host_prog_words.c - the program-name matcher of the
 * domain constraints' program model (split from leaf_host_prog.c, which
 * cuts a leaf into command segments and owns chio__segs): the
 * CHIO__PROG_* bits of a leaf's tokens (chio__leaf_tokens_programs), the
 * shell's words honouring quotes and backslashes, a word's role where a
 * command's name stands (chio__leaf_word_role), a segment's command word
 * and its bits (CHIO__PROG_ALL when it cannot be known: an expansion, a
 * glob, a name built inside or glued to an expansion, an option word
 * first), and the hidden-command readings the splitter asks for: a name
 * a leaf defines (alias, function), a "-c" script, a "{ ..; }" group
 * that hides its name, a command inside quotes, a name built at run time
 * behind a runner (review 23 hostfix R1, H1, M1; review 24 hosts H1, C1;
 * review 25 hosts M1, K3). The declarations the splitter uses are in
 * leaf_host_prog.h; no state but the caller's chio__segs.
 */
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "constraint_domain.h"
#include "leaf_host_prog.h"

/* ---- tokens --------------------------------------------------------------------------------- */

static int name_bits(const char *t, size_t len)
{
    static const struct {
        const char *name;
        int bits;
    } names[] = {
        {"ssh", CHIO__PROG_SSH | CHIO__PROG_BUNDLE},
        {"scp", CHIO__PROG_SSH | CHIO__PROG_BUNDLE},
        {"sftp", CHIO__PROG_SSH | CHIO__PROG_BUNDLE},
        {"curl", CHIO__PROG_FETCH | CHIO__PROG_BUNDLE},
        {"wget", CHIO__PROG_FETCH},
        {"wget2", CHIO__PROG_FETCH},
        {"git", CHIO__PROG_CONFIG},
        {"npm", CHIO__PROG_CONFIG},
        {"yarn", CHIO__PROG_CONFIG},
        {"pnpm", CHIO__PROG_CONFIG},
        {"pip", CHIO__PROG_CONFIG},
        {"pip3", CHIO__PROG_CONFIG},
        {NULL, 0},
    };
    size_t i;

    for (i = 0; names[i].name != NULL; i++)
        if (len == strlen(names[i].name) && memcmp(t, names[i].name, len) == 0)
            return names[i].bits;
    return 0;
}

/* The bits of the tokens of [a, b), read one way: @skip_quotes takes
 * quotes and backslashes out ("c''url", "c\\url"), else they break a
 * token ("C:\\bin\\ssh.exe", "-e\"ssh") and "\\n", "\\r", "\\t" do too. */
static int tokens_as(const char *s, size_t a, size_t b, int skip_quotes)
{
    char tok[8];
    size_t i, len = 0;
    int over = 0, bits = 0, dash = 0, prev = ' ';

    for (i = a; i <= b; i++) {
        unsigned char c = i < b ? (unsigned char)s[i] : ' ';
        if (skip_quotes && i < b && (c == '\'' || c == '"' || c == '\\'))
            continue;
        if (!skip_quotes && c == '\\' && i + 1 < b && s[i + 1] != '\0' &&
            strchr("nrt", s[i + 1]) != NULL)
            i++;
        if (i < b && (isalnum(c) || c == '_')) {
            if (len == 0)
                dash = prev == '-';
            if (len < sizeof(tok) - 1)
                tok[len++] = (char)tolower(c);
            else
                over = 1;
            prev = c;
            continue;
        }
        prev = c;
        if (len > 0 && !over)
            bits |= name_bits(tok, len);
        /* an option letter glued on: rsync's "-e\"ssh ..\"" is "-essh" */
        if (len > 1 && !over && dash)
            bits |= name_bits(tok + 1, len - 1);
        len = 0;
        over = 0;
    }
    return bits;
}

int chio__leaf_tokens_programs(const char *s, size_t n)
{
    return tokens_as(s, 0, n, 1) | tokens_as(s, 0, n, 0);
}

/* ---- words ---------------------------------------------------------------------------------- */

int chio__prog_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The next word of [*p, e) honouring quotes and backslashes, in [*wa,
 * *wb); 0 when none. */
static int next_word(const char *s, size_t *p, size_t e, size_t *wa, size_t *wb)
{
    size_t i = *p;
    char q = 0;

    while (i < e && chio__prog_blank((unsigned char)s[i]))
        i++;
    if (i >= e)
        return 0;
    *wa = i;
    for (; i < e; i++) {
        char c = s[i];
        if (q != 0) {
            if (c == q)
                q = 0;
            else if (c == '\\' && q == '"')
                i++;
        } else if (c == '\\') {
            i++;
        } else if (c == '\'' || c == '"') {
            q = c;
        } else if (chio__prog_blank((unsigned char)c)) {
            break;
        }
    }
    *wb = i < e ? i : e;
    *p = *wb;
    return 1;
}

/* Is [a, b) an INI or TOML section's header ("[server]", "[db]",
 * "[[bin]]", "[tool.poetry]"), a line of config text a heredoc writes?
 * As a command's name it could match only a one-character file name,
 * as a plain name could be (review 24 hosts M1). */
static int section_header(const char *s, size_t a, size_t b)
{
    size_t i;

    if (b - a < 3 || s[a] != '[' || s[b - 1] != ']')
        return 0;
    a += s[a + 1] == '[' ? 2 : 1;
    b -= b - a >= 2 && s[b - 2] == ']' ? 2 : 1;
    if (a >= b)
        return 0;
    for (i = a; i < b; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
            return 0;
    return 1;
}

/* Can the word [a, b), standing as a command's name, be any program:
 * an expansion, a substitution or a glob ("${C:-curl}", "cur?",
 * "C:\\bin\\$X")? The test words "[" and "[[" are names. */
static int unknowable(const char *s, size_t a, size_t b)
{
    size_t i;

    if ((b - a == 1 && s[a] == '[') || (b - a == 2 && s[a] == '[' && s[a + 1] == '['))
        return 0;
    if (section_header(s, a, b))
        return 0;
    for (i = a; i < b; i++) {
        if (s[i] == '$' || s[i] == '`' || s[i] == '?' || s[i] == '*')
            return 1;
        /* a bracket or brace glob ("cur[l]", "{cu,}rl"), not JSON text's
         * '{"' or '["' */
        if ((s[i] == '[' || s[i] == '{') && i + 1 < b && s[i + 1] != '"' && s[i + 1] != '\\')
            return 1;
    }
    return 0;
}

/* "-o", "--proxy", "'-sx": not a lone "-" (stdin, a list's bullet) */
static int opens_option(const char *s, size_t a, size_t b)
{
    while (a < b && (s[a] == '\'' || s[a] == '"'))
        a++;
    return a + 1 < b && s[a] == '-' && (isalnum((unsigned char)s[a + 1]) || s[a + 1] == '-');
}

static int assignment_word(const char *s, size_t a, size_t b)
{
    size_t i = a;

    if (i >= b || !(isalpha((unsigned char)s[i]) || s[i] == '_'))
        return 0;
    while (i < b && (isalnum((unsigned char)s[i]) || s[i] == '_'))
        i++;
    if (i < b && s[i] == '+')
        i++;
    return i < b && s[i] == '=';
}

int chio__leaf_word_role(const char *s, size_t a, size_t b)
{
    static const char *const wrappers[] = {
        "sudo", "doas",    "env",      "timeout", "nice",       "nohup", "xargs",   "watch",
        "exec", "command", "time",     "stdbuf",  "ionice",     "eval",  "builtin", "setsid",
        "then", "do",      "else",     "elif",    "if",         "while", "until",   "!",
        "chrt", "taskset", "unbuffer", "flock",   "caffeinate", NULL};
    const char *slash;
    size_t i, n;

    if (a >= b)
        return CHIO__WORD_NONE;
    if (unknowable(s, a, b))
        return CHIO__WORD_UNKNOWABLE;
    if (opens_option(s, a, b))
        return CHIO__WORD_OPTION;
    if (assignment_word(s, a, b))
        return CHIO__WORD_ASSIGN;
    if (isdigit((unsigned char)s[a]))
        return CHIO__WORD_COUNT;
    slash = memrchr(s + a, '/', b - a);
    if (slash != NULL)
        a = (size_t)(slash - s) + 1;
    n = b - a;
    for (i = 0; wrappers[i] != NULL; i++)
        if (n == strlen(wrappers[i]) && memcmp(s + a, wrappers[i], n) == 0)
            return CHIO__WORD_WRAPPER;
    return CHIO__WORD_COMMAND;
}

int chio__cmd_walk_step(chio__cmd_walk *w, int role)
{
    if (role == CHIO__WORD_WRAPPER) {
        w->wrapped = 1;
        w->after_option = 0;
        return 0;
    }
    if (role == CHIO__WORD_ASSIGN || (w->wrapped && role == CHIO__WORD_COUNT))
        return 0;
    if (w->wrapped && role == CHIO__WORD_OPTION) {
        w->after_option = 1;
        return 0;
    }
    if (w->after_option) { /* "sudo -u bob curl": bob may be the value */
        w->after_option = 0;
        return 0;
    }
    return 1;
}

/* The command word of [a, e): CHIO__PROG_ALL when it cannot be known (or
 * the text starts with an option word), 0 when it is a name, -1 when the
 * text ends before one. A wrapper's options, counts and the word after
 * an option (its value, or the name) are looked at too. */
int chio__prog_command_bits(const char *s, size_t a, size_t e, size_t *ca, size_t *cb)
{
    size_t p = a, wa, wb;
    int first = 1, role;
    chio__cmd_walk w = {0, 0};

    while (next_word(s, &p, e, &wa, &wb)) {
        role = chio__leaf_word_role(s, wa, wb);
        if (role == CHIO__WORD_UNKNOWABLE || (first && role == CHIO__WORD_OPTION))
            return CHIO__PROG_ALL;
        first = 0;
        if (!chio__cmd_walk_step(&w, role))
            continue;
        *ca = wa;
        *cb = wb;
        return 0;
    }
    return -1;
}

/* Does the command word [a, b) define a name that runs another program
 * ("alias c=curl", "function c", "c() { curl \"$@\"; }")? */
int chio__prog_defines_name(const char *s, size_t a, size_t b, size_t e)
{
    size_t i;

    if ((b - a == 5 && memcmp(s + a, "alias", 5) == 0) ||
        (b - a == 8 && memcmp(s + a, "function", 8) == 0))
        return 1;
    for (i = a; i < b && s[i] != '('; i++)
        ;
    if (i == b) /* "c ()": the parenthesis after blanks */
        for (; i < e && chio__prog_blank((unsigned char)s[i]); i++)
            ;
    return i + 1 < e && s[i] == '(' && s[i + 1] == ')';
}

/* The last character of [a, b) that makes a suffix of it unknowable
 * ("$", a backtick, a glob) plus 1; 0 when none. */
static size_t last_unknowable(const char *s, size_t a, size_t b)
{
    size_t i, last = 0;

    for (i = a; i < b; i++)
        if (s[i] == '$' || s[i] == '`' || s[i] == '?' || s[i] == '*' ||
            ((s[i] == '[' || s[i] == '{') && i + 1 < b && s[i + 1] != '"' && s[i + 1] != '\\'))
            last = i + 1;
    return last;
}

/* Is the word at @i (blanks and quotes skipped, up to a blank, quote or
 * control character) one whose program cannot be known? The word last
 * scanned is kept in @g: a call from inside it (a run of backticks or
 * newlines inside quotes) reads it again without a scan, so each byte
 * is scanned once (review 24 hosts C1). */
int chio__prog_unknowable_at(chio__segs *g, const char *s, size_t i, size_t e)
{
    size_t a, from = i;

    if (g->uk_end > 0 && i >= g->uk_from && i < g->uk_end) {
        a = i > g->uk_a ? i : g->uk_a;
        if ((g->uk_end - a == 1 && s[a] == '[') ||
            (g->uk_end - a == 2 && s[a] == '[' && s[a + 1] == '['))
            return 0;
        return g->uk_last > a;
    }
    while (i < e && (chio__prog_blank((unsigned char)s[i]) || s[i] == '\'' || s[i] == '"'))
        i++;
    for (a = i; i < e && !chio__prog_blank((unsigned char)s[i]) &&
                strchr("'\";&|()<>", s[i]) == NULL && s[i] != '\0';
         i++)
        ;
    if (i > from) {
        g->uk_from = from;
        g->uk_a = a;
        g->uk_end = i;
        g->uk_last = last_unknowable(s, a, i);
    }
    return unknowable(s, a, i);
}

/* Is the word [a, *i) one the shell reads before a command word: a
 * group's "{", a function's head ("f() {", "function f {"; the "()"
 * is stepped over too) or the name after "function" (*@fname set)?
 * Review 25 hosts K2. */
static int opens_command(const char *s, size_t a, size_t *i, size_t e, int *fname)
{
    size_t b = *i;

    if (*fname) {
        *fname = 0;
        if (b + 1 < e && s[b] == '(' && s[b + 1] == ')')
            *i = b + 2;
        return 1;
    }
    if (b - a == 1 && s[a] == '{')
        return 1;
    if (b - a == 8 && memcmp(s + a, "function", 8) == 0) {
        *fname = 1;
        return 1;
    }
    if (b + 1 < e && s[b] == '(' && s[b + 1] == ')') {
        *i = b + 2;
        return 1;
    }
    return 0;
}

/* An unquoted script ("sh -c { $0 ..; }", as a reading without quotes
 * has it): is the word after its "{" unknowable (review 25 hosts K2)? */
int chio__prog_group_hides_name(chio__segs *g, const char *s, size_t i, size_t e)
{
    if (s[i] != '{' || i + 1 >= e || !chio__prog_blank((unsigned char)s[i + 1]))
        return 0;
    for (i++; i < e && chio__prog_blank((unsigned char)s[i]); i++)
        ;
    return i < e && chio__prog_unknowable_at(g, s, i, e);
}

/* Inside quoted text (@q, the quote that ends it): is the command that
 * starts at @i (a script's start, or after a control operator) one
 * whose program cannot be known, past its assignments and wrappers as
 * chio__prog_command_bits reads them ("exec $0", "command $0", "time $0", "nice -n
 * 5 $0", "X=1 $0", "exec \"$@\""; review 24 hosts H2)? The scan stops at
 * a control character, a newline or @q, where the next scan starts: each
 * byte is scanned once. */
int chio__prog_hidden_command_at(const char *s, size_t i, size_t e, char q)
{
    size_t a;
    int role, fname = 0;
    chio__cmd_walk w = {0, 0};

    for (;;) {
        while (i < e &&
               (s[i] == ' ' || s[i] == '\t' || ((s[i] == '\'' || s[i] == '"') && s[i] != q)))
            i++;
        if (i >= e || s[i] == q)
            return 0;
        if (s[i] == '`') /* a substitution as the name */
            return 1;
        for (a = i; i < e && !chio__prog_blank((unsigned char)s[i]) && s[i] != '\'' &&
                    s[i] != '"' && s[i] != '\0' && strchr(";&|()<>`", s[i]) == NULL;
             i++)
            ;
        if (a == i)
            return 0;
        role = chio__leaf_word_role(s, a, i);
        if (role == CHIO__WORD_UNKNOWABLE)
            return 1;
        if (opens_command(s, a, &i, e, &fname))
            continue;
        if (chio__cmd_walk_step(&w, role))
            return 0;
    }
}

/* Is [a, b) "-c", or a bundle ending in it ("-lc", "-ec"): the next
 * word is a script? */
int chio__prog_script_option(const char *s, size_t a, size_t b)
{
    size_t k;

    if (b - a < 2 || s[a] != '-' || s[b - 1] != 'c')
        return 0;
    for (k = a + 1; k < b; k++)
        if (!isalpha((unsigned char)s[k]))
            return 0;
    return 1;
}

/* Is the word [a, b) a parameter expansion glued to more of a name
 * ("${C}rl", "$A$B", "\"$X\"rl"): a name built at run time, whatever
 * program stands before it (review 24 hosts H4)? */
static int glued_expansion(const char *s, size_t a, size_t b)
{
    size_t i = a;
    const char *close;

    if (i < b && s[i] == '"')
        i++;
    if (i + 1 >= b || s[i] != '$')
        return 0;
    i++;
    if (s[i] == '{') {
        if ((close = memchr(s + i, '}', b - i)) == NULL)
            return 0;
        i = (size_t)(close - s) + 1;
    } else if (isalpha((unsigned char)s[i]) || s[i] == '_') {
        while (i < b && (isalnum((unsigned char)s[i]) || s[i] == '_'))
            i++;
    } else if (isdigit((unsigned char)s[i]) || strchr("@*#?$!-", s[i]) != NULL) {
        i++;
    } else {
        return 0;
    }
    while (i < b && (s[i] == '"' || s[i] == '\''))
        i++;
    return i < b && (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '$' || s[i] == '`' ||
                     s[i] == '\\');
}

/* Is the word [a, b) a name with an expansion inside it ("cu${x}rl",
 * "gi${x}t"): letters, then "$", then letters after the expansion, and
 * no '/', '.' or '=' (not "build-${V}.tgz", "src/$v")? Review 25 hosts
 * K3. */
static int built_inside(const char *s, size_t a, size_t b)
{
    size_t i;
    int before = 0, dollar = 0, after = 0, brace = 0;

    for (i = a; i < b; i++) {
        char c = s[i];
        if (c == '/' || c == '.' || c == '=' || c == '\'' || c == '"' || c == '`')
            return 0;
        if (c == '$' && before) {
            dollar = 1;
            after = 0;
        } else if (c == '{' && dollar && i > a && s[i - 1] == '$') {
            brace = 1;
        } else if (c == '}' && brace) {
            brace = 0;
        } else if (isalnum((unsigned char)c) || c == '_') {
            if (!dollar)
                before = 1;
            else if (!brace && i > a && s[i - 1] == '}')
                after = 1;
            else if (!brace && after)
                after = 1;
        } else if (!brace) {
            return 0;
        }
    }
    return dollar && after;
}

/* Is the word [a, b) a glob that may name a program: "cur?", "g?t", or
 * any glob in a program directory ("/usr/bin/cur?", "/bin/g*")? Review
 * 25 hosts K3. */
static int globbed_program(const char *s, size_t a, size_t b)
{
    static const char *const dirs[] = {"/bin/",  "/usr/bin/",  "/usr/local/bin/",
                                       "/sbin/", "/usr/sbin/", NULL};
    const char *slash = memrchr(s + a, '/', b - a);
    size_t i, base = slash != NULL ? (size_t)(slash - s) + 1 : a, k;
    int glob = 0, letters = 0;

    for (i = base; i < b; i++) {
        if (s[i] == '?' || s[i] == '*' || s[i] == '[')
            glob = s[i] == '?' ? 2 : glob > 0 ? glob : 1;
        else if (isalpha((unsigned char)s[i]))
            letters++;
        else
            return 0;
    }
    if (!glob)
        return 0;
    if (slash == NULL)
        return glob == 2 && letters >= 2;
    for (k = 0; dirs[k] != NULL; k++)
        if (base - a == strlen(dirs[k]) && memcmp(s + a, dirs[k], base - a) == 0)
            return 1;
    return 0;
}

/* Does a word of [a, e) run a name built at run time behind a program
 * the wrappers' list does not hold ("strace -o /dev/null ${C}rl",
 * "xargs -I X env X -sx H": a replacement string)? Each word once
 * (review 24 hosts H4). */
int chio__prog_runs_built_name(const char *s, size_t a, size_t e)
{
    size_t p = a, wa, wb;
    const char *slash;
    int xargs = 0;

    while (next_word(s, &p, e, &wa, &wb)) {
        if (glued_expansion(s, wa, wb) || built_inside(s, wa, wb) || globbed_program(s, wa, wb))
            return 1;
        if (xargs && wb - wa >= 2 && s[wa] == '-' &&
            (s[wa + 1] == 'I' || s[wa + 1] == 'J' || s[wa + 1] == 'i' ||
             (wb - wa >= 9 && memcmp(s + wa, "--replace", 9) == 0)))
            return 1;
        slash = memrchr(s + wa, '/', wb - wa);
        if (slash != NULL)
            wa = (size_t)(slash - s) + 1;
        if (wb - wa == 5 && memcmp(s + wa, "xargs", 5) == 0)
            xargs = 1;
    }
    return 0;
}
