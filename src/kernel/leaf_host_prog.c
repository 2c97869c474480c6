/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/leaf_host_prog.c - which programs a leaf's words could run: the
 * one matcher and the one arming model of the domain constraints'
 * readings that need a program (a bundle's host option, "-sx", "-AJ";
 * ssh's "-o KEY VALUE"; git's or npm's "config KEY VALUE"; curl's config
 * text), review 23 hostfix R1, H1, M1.
 *
 * A leaf is cut into command segments at control operators (";", "&",
 * "|", a newline) and at "(", ")", "$(", "<(", a backtick and a "{ "
 * group, outside quotes (a "$(" or a backtick inside double quotes opens
 * one too). A segment's programs are the CHIO__PROG_* bits of every token
 * of its text (runs of letters, digits and '_', read with quotes and
 * backslashes taken out, as a shell removes them, and with them as
 * breaks), and all of them when its program cannot be known:
 *   - its command word (after assignments and wrappers: sudo, env,
 *     timeout, nice, xargs, ...; their options and counts) holds an
 *     expansion or a glob ('$', a backtick, '?', '*', '[', '{');
 *   - it starts with an option word ("-o ProxyJump evil.com", an ssh
 *     tool's options; "-sx H", the args of {"command": "curl", ..});
 *   - the script after a "-c" word, or a command inside quotes (after a
 *     control operator there), starts with such a word
 *     ("sh -c '$1 -sx H' _ curl");
 *   - a "$(" or a backtick stands where its command word would.
 * The text after a substitution or group closes goes on the segment it
 * interrupted, with that segment's bits. Nothing else of the call arms a
 * segment ("curl URL && bash -ex install.sh": bash's bundle is no host
 * option).
 */
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "constraint_domain.h"

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

static int blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The next word of [*p, e) honouring quotes and backslashes, in [*wa,
 * *wb); 0 when none. */
static int next_word(const char *s, size_t *p, size_t e, size_t *wa, size_t *wb)
{
    size_t i = *p;
    char q = 0;

    while (i < e && blank((unsigned char)s[i]))
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
        } else if (blank((unsigned char)c)) {
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

/* The command word of [a, e): CHIO__PROG_ALL when it cannot be known (or
 * the text starts with an option word), 0 when it is a name, -1 when the
 * text ends before one. A wrapper's options, counts and the word after
 * an option (its value, or the name) are looked at too. */
static int command_bits(const char *s, size_t a, size_t e, size_t *ca, size_t *cb)
{
    size_t p = a, wa, wb;
    int first = 1, wrapped = 0, after_option = 0, role;

    while (next_word(s, &p, e, &wa, &wb)) {
        role = chio__leaf_word_role(s, wa, wb);
        if (role == CHIO__WORD_UNKNOWABLE || (first && role == CHIO__WORD_OPTION))
            return CHIO__PROG_ALL;
        first = 0;
        if (role == CHIO__WORD_WRAPPER) {
            wrapped = 1;
            after_option = 0;
            continue;
        }
        if (role == CHIO__WORD_ASSIGN || (wrapped && role == CHIO__WORD_COUNT))
            continue;
        if (wrapped && role == CHIO__WORD_OPTION) {
            after_option = 1;
            continue;
        }
        if (after_option) { /* "sudo -u bob curl": bob may be the value */
            after_option = 0;
            continue;
        }
        *ca = wa;
        *cb = wb;
        return 0;
    }
    return -1;
}

/* Does the command word [a, b) define a name that runs another program
 * ("alias c=curl", "function c", "c() { curl \"$@\"; }")? */
static int defines_name(const char *s, size_t a, size_t b, size_t e)
{
    size_t i;

    if ((b - a == 5 && memcmp(s + a, "alias", 5) == 0) ||
        (b - a == 8 && memcmp(s + a, "function", 8) == 0))
        return 1;
    for (i = a; i < b && s[i] != '('; i++)
        ;
    if (i == b) /* "c ()": the parenthesis after blanks */
        for (; i < e && blank((unsigned char)s[i]); i++)
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
static int unknowable_at(chio__segs *g, const char *s, size_t i, size_t e)
{
    size_t a, from = i;

    if (g->uk_end > 0 && i >= g->uk_from && i < g->uk_end) {
        a = i > g->uk_a ? i : g->uk_a;
        if ((g->uk_end - a == 1 && s[a] == '[') ||
            (g->uk_end - a == 2 && s[a] == '[' && s[a + 1] == '['))
            return 0;
        return g->uk_last > a;
    }
    while (i < e && (blank((unsigned char)s[i]) || s[i] == '\'' || s[i] == '"'))
        i++;
    for (a = i;
         i < e && !blank((unsigned char)s[i]) && strchr("'\";&|()<>", s[i]) == NULL && s[i] != '\0';
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
static int group_hides_name(chio__segs *g, const char *s, size_t i, size_t e)
{
    if (s[i] != '{' || i + 1 >= e || !blank((unsigned char)s[i + 1]))
        return 0;
    for (i++; i < e && blank((unsigned char)s[i]); i++)
        ;
    return i < e && unknowable_at(g, s, i, e);
}

/* Inside quoted text (@q, the quote that ends it): is the command that
 * starts at @i (a script's start, or after a control operator) one
 * whose program cannot be known, past its assignments and wrappers as
 * command_bits reads them ("exec $0", "command $0", "time $0", "nice -n
 * 5 $0", "X=1 $0", "exec \"$@\""; review 24 hosts H2)? The scan stops at
 * a control character, a newline or @q, where the next scan starts: each
 * byte is scanned once. */
static int hidden_command_at(const char *s, size_t i, size_t e, char q)
{
    size_t a;
    int wrapped = 0, after_option = 0, role, fname = 0;

    for (;;) {
        while (i < e &&
               (s[i] == ' ' || s[i] == '\t' || ((s[i] == '\'' || s[i] == '"') && s[i] != q)))
            i++;
        if (i >= e || s[i] == q)
            return 0;
        if (s[i] == '`') /* a substitution as the name */
            return 1;
        for (a = i; i < e && !blank((unsigned char)s[i]) && s[i] != '\'' && s[i] != '"' &&
                    s[i] != '\0' && strchr(";&|()<>`", s[i]) == NULL;
             i++)
            ;
        if (a == i)
            return 0;
        role = chio__leaf_word_role(s, a, i);
        if (role == CHIO__WORD_UNKNOWABLE)
            return 1;
        if (opens_command(s, a, &i, e, &fname))
            continue;
        if (role == CHIO__WORD_WRAPPER) {
            wrapped = 1;
            after_option = 0;
        } else if (role == CHIO__WORD_ASSIGN || (wrapped && role == CHIO__WORD_COUNT)) {
            continue;
        } else if (wrapped && role == CHIO__WORD_OPTION) {
            after_option = 1;
        } else if (after_option) {
            after_option = 0;
        } else {
            return 0;
        }
    }
}

/* Is [a, b) "-c", or a bundle ending in it ("-lc", "-ec"): the next
 * word is a script? */
static int script_option(const char *s, size_t a, size_t b)
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
static int runs_built_name(const char *s, size_t a, size_t e)
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

/* ---- segments ------------------------------------------------------------------------------- */

enum { OPEN_NONE, OPEN_SUBST, OPEN_SUBST_DQ, OPEN_TICK, OPEN_TICK_DQ, OPEN_GROUP, OPEN_PARAM };

static void push(chio__segs *g, int kind, int bits)
{
    if (g->depth >= CHIO__SEGS_DEPTH) {
        g->all = CHIO__PROG_ALL; /* too deep to follow: every program */
        return;
    }
    g->kind[g->depth] = (unsigned char)kind;
    g->saved[g->depth++] = bits;
}

static int is_ctl(char c)
{
    return c == ';' || c == '&' || c == '|' || c == '\n' || c == '(' || c == '`';
}

/* In a leaf that is JSON text: is @c its punctuation outside strings,
 * and does it (*@cut) end a segment? An object's members are apart
 * ('{"labels":["curl"],"body":"run bash -ex setup.sh"}'), an array's
 * elements one argv (["curl", "-sx", "H"]); past CHIO__SEGS_DEPTH
 * levels every container is read as an array. */
static int json_punct(chio__segs *g, char c, int *cut)
{
    int object = g->jdepth > 0 && g->jdepth <= 64 && ((g->jobject >> (g->jdepth - 1)) & 1) != 0;

    *cut = 0;
    if (c == '{' || c == '[') {
        if (g->jdepth < 64) {
            if (c == '{')
                g->jobject |= (uint64_t)1 << g->jdepth;
            else
                g->jobject &= ~((uint64_t)1 << g->jdepth);
        }
        g->jdepth++;
        *cut = c == '{';
        return 1;
    }
    if (c == '}' || c == ']') {
        if (g->jdepth > 0)
            g->jdepth--;
        *cut = c == '}';
        return 1;
    }
    if (c == ',' || c == ':') {
        *cut = object;
        return 1;
    }
    return 0;
}

/* Is [a, b) a reserved word after which a command's name still stands
 * ("then", "do", "!", "time")? A "{" word opens a group, and a "}" word
 * closes one, only where the words before it in its segment are all
 * such words (review 24 hosts H1): "curl -A { URL -sx H" holds none. */
static int reserved_word(const char *s, size_t a, size_t b)
{
    static const char *const words[] = {"then",  "do",    "else", "elif", "if",
                                        "while", "until", "time", "!",    NULL};
    size_t i, n = b - a;

    for (i = 0; words[i] != NULL; i++)
        if (n == strlen(words[i]) && memcmp(s + a, words[i], n) == 0)
            return 1;
    return 0;
}

/* Does the "}" at @i end a word ("}", "};", "})")? */
static int brace_word(const char *s, size_t i, size_t n)
{
    return i + 1 >= n || blank((unsigned char)s[i + 1]) || strchr(";&|)<>", s[i + 1]) != NULL;
}

/* Reads the segment starting at g->pos: sets g->end, g->bits, and
 * g->pos, g->quote, g->inherit for the next one. */
static void next_segment(chio__segs *g)
{
    const char *s = g->s;
    size_t n = g->n, start = g->pos, i = start, ws = start, skip;
    int q = g->quote, flags = 0, prev_c = 0, in_word = 0, kind = OPEN_NONE, bits, cmd;
    int close = 0, unmatched = 0, inherit = g->inherit, cut, tokens, cmdpos = !g->cont;
    size_t ca, cb;
    char c;

    g->inherit = 0;
    g->cont = 0;
    for (; i < n; i++) {
        c = s[i];
        if (q == '\'' || q == 'A') {
            if (q == 'A' && c == '\\') {
                i++;
                continue;
            }
            if (c == '\'')
                q = 0;
            else if (is_ctl(c) && hidden_command_at(s, i + 1, n, '\''))
                flags = CHIO__PROG_ALL;
            continue;
        }
        if (q == '"') {
            if (c == '\\') {
                i++;
            } else if (c == '"') {
                q = 0;
            } else if (c == '`' || (c == '$' && i + 1 < n && s[i + 1] == '(')) {
                kind = c == '`' ? OPEN_TICK_DQ : OPEN_SUBST_DQ;
                skip = c == '`' ? 1 : 2;
                break;
            } else if (is_ctl(c) && hidden_command_at(s, i + 1, n, '"')) {
                flags = CHIO__PROG_ALL;
            }
            continue;
        }
        if (g->json && json_punct(g, c, &cut)) {
            if (cut)
                break;
            continue;
        }
        /* outside quotes: words, for "-c SCRIPT" */
        if (c != '\n' && blank((unsigned char)c)) {
            if (in_word) {
                prev_c = script_option(s, ws, i);
                if (cmdpos && !reserved_word(s, ws, i))
                    cmdpos = 0;
            }
            in_word = 0;
            continue;
        }
        if (!in_word) {
            in_word = 1;
            ws = i;
            /* a quoted script is read past its wrappers (review 24
             * hosts H2), an unquoted one is its first word */
            if (prev_c && (c == '\'' || c == '"') ? hidden_command_at(s, i + 1, n, c)
                : prev_c && c == '$' && i + 1 < n && s[i + 1] == '\''
                    ? hidden_command_at(s, i + 2, n, '\'')
                    : prev_c && (unknowable_at(g, s, i, n) || group_hides_name(g, s, i, n)))
                flags = CHIO__PROG_ALL;
            prev_c = 0;
            if (c == '#') { /* a comment runs to the line's end */
                while (i + 1 < n && s[i + 1] != '\n')
                    i++;
                continue;
            }
            if (c == '{' && cmdpos && (i + 1 >= n || blank((unsigned char)s[i + 1]))) {
                kind = OPEN_GROUP;
                skip = 1;
                break;
            }
            if (c == '}' && cmdpos && brace_word(s, i, n) && g->depth > 0 &&
                g->kind[g->depth - 1] == OPEN_GROUP) {
                close = 1;
                break;
            }
        }
        if (c == '\\') {
            i++;
        } else if (c == '\'') {
            q = i > start && s[i - 1] == '$' ? 'A' : '\'';
        } else if (c == '"') {
            q = '"';
        } else if (c == '$' && i + 1 < n && s[i + 1] == '{') {
            push(g, OPEN_PARAM, 0);
            i++;
        } else if (c == '}' && g->depth > 0 && g->kind[g->depth - 1] == OPEN_PARAM) {
            g->depth--;
        } else if ((c == '$' || c == '<' || c == '>') && i + 1 < n && s[i + 1] == '(') {
            kind = OPEN_SUBST;
            skip = 2;
            break;
        } else if (c == '(') {
            kind = OPEN_GROUP;
            skip = 1;
            break;
        } else if (c == '`') {
            if (g->depth > 0 &&
                (g->kind[g->depth - 1] == OPEN_TICK || g->kind[g->depth - 1] == OPEN_TICK_DQ)) {
                close = 1;
                break;
            }
            kind = OPEN_TICK;
            skip = 1;
            break;
        } else if (c == ')') {
            if (g->depth > 0 && g->kind[g->depth - 1] != OPEN_PARAM &&
                g->kind[g->depth - 1] != OPEN_TICK && g->kind[g->depth - 1] != OPEN_TICK_DQ)
                close = 1;
            else
                unmatched = 1;
            break;
        } else if (c == ';' || c == '&' || c == '|' || c == '\n') {
            break;
        }
    }
    g->end = i < n ? i : n;
    ca = cb = start;
    cmd = command_bits(s, start, g->end, &ca, &cb);
    if (runs_built_name(s, start, g->end))
        flags = CHIO__PROG_ALL;
    tokens = chio__leaf_tokens_programs(s + start, g->end - start);
    bits = tokens | flags | inherit | g->all | g->extra | (cmd > 0 ? cmd : 0);
    g->bits = bits;
    /* a name an argument holds ("which curl", "ln -s /usr/bin/curl c")
     * may be run by another name; a name defined runs anything */
    g->escaped |= tokens & ~(cb > ca ? chio__leaf_tokens_programs(s + ca, cb - ca) : 0);
    if (cmd == 0 && defines_name(s, ca, cb, n))
        g->defines = 1;
    g->quote = 0;
    if (i >= n) {
        g->pos = n;
        return;
    }
    if (kind != OPEN_NONE) {
        /* "$(" or a backtick where the command's name stands ("$(echo
         * curl) -sx H"): the rest of the command runs any program */
        int at_name = cmd < 0 && kind != OPEN_GROUP && !(i > start && s[i - 1] == '=');
        /* a word that starts with "$(" or a backtick ("strace -o
         * /dev/null $(printf cu)rl -sx H", "fakeroot \"$(..)\" config
         * ..") may be a name the segment's program runs: the rest of the
         * command runs any program (review 24 hosts H4) */
        if (kind != OPEN_GROUP && s[i] != '<' && s[i] != '>' && in_word &&
            (i == ws || (i == ws + 1 && s[ws] == '"')))
            at_name = 1;
        push(g, kind, bits | (at_name ? CHIO__PROG_ALL : 0));
        g->pos = i + skip;
        return;
    }
    g->pos = i + 1;
    if (close) {
        int k = g->kind[--g->depth];
        g->inherit = g->saved[g->depth];
        g->cont = 1;
        if (k == OPEN_SUBST_DQ || k == OPEN_TICK_DQ)
            g->quote = '"';
    } else if (unmatched) {
        g->inherit = CHIO__PROG_ALL; /* read apart from the shell: every program */
        g->cont = 1;
    }
}

void chio__segs_init(chio__segs *g, const char *s, size_t n, int extra)
{
    memset(g, 0, sizeof(*g));
    g->s = s;
    g->n = n;
    g->extra = extra & CHIO__PROG_ALL;
    g->json = (extra & CHIO__SEGS_JSON) != 0;
    next_segment(g);
}

int chio__segs_bits(chio__segs *g, size_t wa, size_t wb)
{
    int bits;

    while (g->end <= wa && g->pos < g->n)
        next_segment(g);
    bits = g->bits;
    while (g->end < wb && g->pos < g->n) {
        next_segment(g);
        bits |= g->bits;
    }
    return bits;
}

int chio__leaf_programs_escaped(const char *s, size_t n, int *escaped)
{
    chio__segs g;
    int bits;

    chio__segs_init(&g, s, n, 0);
    bits = g.bits;
    while (g.pos < n) {
        next_segment(&g);
        bits |= g.bits;
    }
    /* a name defined runs anything when the leaf names a program that
     * connects or holds an expansion ("alias c=curl", "c() { $X; }");
     * "alias ll='ls -la'" arms nothing (review 25 hosts M1) */
    if (g.defines &&
        ((bits & CHIO__PROG_ALL) != 0 || memchr(s, '$', n) != NULL || memchr(s, '`', n) != NULL))
        g.escaped |= CHIO__PROG_ALL;
    if (escaped != NULL)
        *escaped = g.escaped;
    return bits;
}

int chio__leaf_programs(const char *s, size_t n)
{
    return chio__leaf_programs_escaped(s, n, NULL);
}
