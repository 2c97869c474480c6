/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/path_params_cmd.c - what the command around a lone shell
 * parameter makes of it, for path_params.c's reading: the operand of a
 * unary test ("[ -z \"${!v}\" ]", "test -d \"$HOME\"": review 23 Q5),
 * dropped unless the value may redefine "test" or "[" (review 24 paths
 * R1), and "$_" ("mkdir -p build && cd $_"), read as the previous simple
 * command's literal last word, a quoted or PowerShell pipeline item's
 * text, or else a parameter the text cannot name (review 24 paths R1
 * and its follow-up, review 25 paths R2, R3). Lexical only; linear; no
 * allocation ("$_"'s quote scan lives in the caller's struct lp_us).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "path_params.h"

static int blank_at(const char *s, size_t i)
{
    return s[i] == ' ' || s[i] == '\t';
}

/* Does a command start at s[@i]: the value's start, after a separator
 * (";", "&", "|", "(", "{", a newline) or a keyword (if, then, elif,
 * else, while, until, do, "!"), blanks aside? */
static int command_starts(const char *s, size_t i)
{
    static const char *const kw[] = {"if",    "then", "elif", "else", "while",
                                     "until", "do",   "!",    NULL};
    size_t e, a, k, steps;

    for (steps = 0; steps < 8; steps++) { /* "if ! [": a few keywords back */
        while (i > 0 && blank_at(s, i - 1))
            i--;
        if (i == 0 || strchr(";&|({\n", s[i - 1]) != NULL)
            return 1;
        for (e = i, a = i; a > 0 && !blank_at(s, a - 1) && strchr(";&|({\n", s[a - 1]) == NULL; a--)
            if (i - a > 5)
                return 0;
        for (k = 0; kw[k] != NULL; k++)
            if (strlen(kw[k]) == e - a && memcmp(s + a, kw[k], e - a) == 0)
                break;
        if (kw[k] == NULL)
            return 0;
        i = a;
    }
    return 0;
}

/* Is the parameter word s[@i, @j) the operand of a unary test ("[ -z
 * \"${!v}\" ]", "[[ -n $X ]]", "test -d \"$HOME\"": review 23 Q5), with
 * no command substitution in it? A test reads no path's contents. */
static int test_operand(const char *s, size_t n, size_t i, size_t j)
{
    size_t a = i, b = j, t;
    int which;

    if (memchr(s + i, '`', j - i) != NULL || memmem(s + i, j - i, "$(", 2) != NULL ||
        memmem(s + i, j - i, "<(", 2) != NULL || memmem(s + i, j - i, ">(", 2) != NULL)
        return 0;
    if (a > 0 && s[a - 1] == '"') {
        if (b >= n || s[b] != '"')
            return 0;
        a--;
        b++;
    }
    /* before: blanks, "-X", blanks, "[", "[[" or "test" at a command's start */
    if (a < 4 || !blank_at(s, a - 1))
        return 0;
    while (a > 0 && blank_at(s, a - 1))
        a--;
    if (a < 3 || !chio__lp_alpha((unsigned char)s[a - 1]) || s[a - 2] != '-' || !blank_at(s, a - 3))
        return 0;
    a -= 3;
    while (a > 0 && blank_at(s, a - 1))
        a--;
    if (a >= 2 && s[a - 1] == '[' && s[a - 2] == '[')
        which = 2, t = a - 2;
    else if (a >= 1 && s[a - 1] == '[')
        which = 1, t = a - 1;
    else if (a >= 4 && memcmp(s + a - 4, "test", 4) == 0)
        which = 3, t = a - 4;
    else
        return 0;
    if (!command_starts(s, t))
        return 0;
    /* after: blanks and "]" / "]]", or for "test" the command's end */
    while (b < n && blank_at(s, b))
        b++;
    if (which == 3)
        return b == n || strchr(";&|)\n", s[b]) != NULL;
    if (b == j || b + (size_t)which > n || s[b] != ']' || (which == 2 && s[b + 1] != ']'))
        return 0;
    b += (size_t)which;
    return b == n || blank_at(s, b) || strchr(";&|)\n", s[b]) != NULL;
}

/* Is the word of @l bytes at s[@i] one of @words, as a whole word? */
static int whole_word_in(const char *s, size_t n, size_t i, size_t l, const char *const *words)
{
    size_t k;

    if ((i > 0 && chio__lp_name_char((unsigned char)s[i - 1])) ||
        (i + l < n && chio__lp_name_char((unsigned char)s[i + l])))
        return 0;
    for (k = 0; words[k] != NULL; k++)
        if (strlen(words[k]) == l && memcmp(s + i, words[k], l) == 0)
            return 1;
    return 0;
}

/* May the value make "test" or "[" something other than bash's builtin
 * (review 24 paths R1): a function ("test() {", "function [ {", any
 * "name ( )" or "function"), an alias ("alias test='rm -r'"), a builtin
 * turned off ("enable -n test"), or text it reads as commands ("eval",
 * "source", ". file", BASH_ENV, ENV, an exported BASH_FUNC_)? Then no
 * unary test's operand is dropped. Lexical, fails closed: any such word
 * anywhere. Linear. */
static int test_redefined(const char *s, size_t n)
{
    static const char *const words[] = {"alias",    "enable",   "eval", "source",
                                        "function", "BASH_ENV", "ENV",  NULL};
    size_t i, l, k;

    if (memmem(s, n, "BASH_FUNC", 9) != NULL)
        return 1;
    for (i = 0; i < n; i++) {
        if (s[i] == '(') { /* "name ( )": a function's definition */
            for (k = i + 1; k < n && blank_at(s, k); k++)
                ;
            if (k < n && s[k] == ')')
                return 1;
            continue;
        }
        if (s[i] == '.' && (i == 0 || blank_at(s, i - 1) || strchr(";&|({\n", s[i - 1]) != NULL) &&
            i + 1 < n && blank_at(s, i + 1) && command_starts(s, i))
            return 1; /* ". file" */
        if (!chio__lp_name_start((unsigned char)s[i]) ||
            (i > 0 && chio__lp_name_char((unsigned char)s[i - 1])))
            continue;
        for (l = 0; i + l < n && chio__lp_name_char((unsigned char)s[i + l]); l++)
            ;
        if (whole_word_in(s, n, i, l, words))
            return 1;
        i += l - 1;
    }
    return 0;
}

/* test_operand, unless the value may redefine "test" or "[" (asked once). */
int chio__lp_unredefined_test_operand(lp_ctx *c, size_t i, size_t j)
{
    if (!test_operand(c->s, c->n, i, j))
        return 0;
    if (c->redef < 0)
        c->redef = test_redefined(c->s, c->n);
    return !c->redef;
}

/* "$_" (review 24 paths R1 follow-up): bytes looked back from one "$_"
 * for its command and the one before, past which it cannot be read. */
#define LP_US_BACK 4096

/* The quote state at s[@at] (struct lp_us): c->us's forward scan goes
 * on from where it stopped (from the start again if @at lies before), so
 * the "$_"s of one value, which come in order, cost one pass. */
static int quote_state_at(const lp_ctx *c, size_t at)
{
    struct lp_us *u = c->us;
    const char *s = c->s;
    size_t i;
    int q;

    if (at < u->qpos) {
        u->qpos = 0;
        u->qs = 0;
    }
    for (i = u->qpos, q = u->qs; i < at; i++) {
        if (q == 1) {
            if (s[i] == '\'')
                q = 0;
        } else if (s[i] == '\\') {
            i++;
        } else if (q == 3) {
            if (s[i] == '\'')
                q = 0;
        } else if (q == 2) {
            if (s[i] == '"')
                q = 0;
        } else if (s[i] == '\'') {
            q = i > 0 && s[i - 1] == '$' ? 3 : 1;
        } else if (s[i] == '"') {
            q = 2;
        }
    }
    u->qpos = i;
    u->qs = q;
    return q;
}

/* May the value run quoted text, or a command's body, as this shell's
 * commands, or set "_" itself: test_redefined's words (eval, source,
 * ". file", alias, a function, BASH_ENV), "trap", or "_=" ("env _=..")?
 * Then no "$_" is read (asked once). */
static int us_may_run(const lp_ctx *c)
{
    if (c->us->run < 0)
        c->us->run = test_redefined(c->s, c->n) || memmem(c->s, c->n, "trap", 4) != NULL ||
                     memmem(c->s, c->n, "_=", 2) != NULL;
    return c->us->run;
}

/* May s[@d] lie in a here-document's body: is there a "<<" before it?
 * In an unquoted one the outer shell expands "$_" whatever the quotes
 * around it ("cd '$_'" reads "cd '--'"), so none there is read; any
 * "$_" past a "<<" is taken as in one, at worst (review 25 paths R3). */
static int us_in_heredoc(const lp_ctx *c, size_t d)
{
    const char *h;

    if (c->us->heredoc == SIZE_MAX) {
        h = memmem(c->s, c->n, "<<", 2);
        c->us->heredoc = h != NULL ? (size_t)(h - c->s) : c->n;
    }
    return d > c->us->heredoc;
}

/* Bytes that end a backward walk over one command's words. */
static int us_stop(char ch)
{
    return strchr(";&|\n(){}`'\"\\#<>", ch) != NULL;
}

/* Is the first word of s[@a, @b) (blanks aside) a reserved word or
 * "[[" (the command is part of a compound one whose "$_" varies)? */
static int us_keyword_first(const char *s, size_t a, size_t b)
{
    static const char *const kw[] = {"if",    "then",   "elif",     "else", "fi",   "do", "done",
                                     "while", "until",  "for",      "case", "esac", "in", "select",
                                     "time",  "coproc", "function", "!",    "[[",   "]]", NULL};
    size_t e, k;

    while (a < b && blank_at(s, a))
        a++;
    for (e = a; e < b && !blank_at(s, e); e++)
        ;
    for (k = 0; kw[k] != NULL; k++)
        if (strlen(kw[k]) == e - a && memcmp(s + a, kw[k], e - a) == 0)
            return 1;
    return 0;
}

/* Is s[@a, @b) a literal word "$_" may be read as: no expansion, glob,
 * quote or "=" (an assignment leaves "$_" as it was), not an option or
 * a directory-stack or home word ("-", "-L", "+1", "~": "cd -L" is "cd")?
 * Such a word stands in the value itself, where its path is read. */
static int us_literal(const char *s, size_t a, size_t b)
{
    size_t k;

    if (a == b || s[a] == '-' || s[a] == '+')
        return 0;
    for (k = a; k < b; k++)
        if (!chio__lp_name_char((unsigned char)s[k]) && strchr("./-+:@,", s[k]) == NULL)
            return 0;
    return 1;
}

/* The "$_" whose '$' is at s[@d] outside quotes (or just inside a '"'
 * at s[@d - 1]): does it read as a literal last word of the previous
 * simple command, joined to its own by ";", a newline, "&&" or "||"
 * ("mkdir -p build && cd $_")? Any other shape (no previous command, a
 * pipe or "&", a subshell, group or compound command, a quote, comment,
 * redirection or expansion in either command) cannot be followed. */
static int us_previous_literal(const lp_ctx *c, size_t d)
{
    const char *s = c->s;
    size_t k = d, e, b, lim = d > LP_US_BACK ? d - LP_US_BACK : 0;
    int by_and = 0;

    if (k > 0 && s[k - 1] == '"')
        k--;
    while (k > lim && !us_stop(s[k - 1]))
        k--;
    if (k <= lim || us_keyword_first(s, k, d))
        return 0;
    if (s[k - 1] == '&' || s[k - 1] == '|') {
        if (k < 2 || s[k - 2] != s[k - 1] || (k >= 3 && strchr(";&|<>", s[k - 3]) != NULL))
            return 0; /* a pipe, "&", "|&", ">&" */
        if (s[k - 1] == '|')
            return 0; /* "a || cd $_": "a" ran and failed, or did not run */
        by_and = 1;
        k -= 2;
    } else if (s[k - 1] == ';' || s[k - 1] == '\n') {
        if (k >= 2 && (s[k - 2] == ';' || s[k - 2] == '&'))
            return 0; /* ";;", "&;": a case arm's end, a background job */
        k--;
    } else {
        return 0;
    }
    while (k > lim && blank_at(s, k - 1))
        k--;
    for (e = k; k > lim && !us_stop(s[k - 1]) && !blank_at(s, k - 1); k--)
        ;
    b = k;
    if (!us_literal(s, b, e))
        return 0;
    while (k > lim && !us_stop(s[k - 1]))
        k--;
    if (k > 0 && (k <= lim || strchr(";&|\n", s[k - 1]) == NULL))
        return 0;
    /* a command in a pipe ("a | b && cd $_") or after "&" */
    if (k > 0 && (s[k - 1] == '|' || s[k - 1] == '&') && (k < 2 || s[k - 2] != s[k - 1]))
        return 0;
    /* Did the previous command surely run (review 25 paths R2)? After
     * "||" it may not have ("echo -- || mkdir -p build; cd $_" reads
     * "cd --"), after "&&" neither, unless "$_"'s own command follows it
     * by "&&" ("a && mkdir -p b && cd $_": cd runs only when mkdir did). */
    if (k > 0 && s[k - 1] == '|')
        return 0;
    if (k > 0 && s[k - 1] == '&' && !by_and)
        return 0;
    return !us_keyword_first(s, k, e);
}

/* Is the "$_" whose '$' is at s[@d] a PowerShell pipeline item: inside a
 * "{ .. }" block (no quote, separator or brace between) handed to
 * ForEach-Object, Where-Object, foreach, where or "%" right after a "|"
 * ("ls | ForEach-Object { $_ }")? "?" is not read so: to a shell it is
 * a glob. */
static int us_powershell_item(const char *s, size_t d)
{
    static const char *const cmds[] = {
        "foreach-object", "where-object", "foreach", "where", "%", NULL};
    size_t k = d, e, a, i, lim = d > 256 ? d - 256 : 0;

    while (k > lim && strchr("{}|;&\n()`'\"", s[k - 1]) == NULL)
        k--;
    if (k <= lim || s[k - 1] != '{')
        return 0;
    for (k--; k > 0 && blank_at(s, k - 1); k--)
        ;
    for (e = k; k > 0 && !blank_at(s, k - 1) && strchr("{}|;&\n()`'\"", s[k - 1]) == NULL; k--)
        ;
    a = k;
    while (k > 0 && blank_at(s, k - 1))
        k--;
    if (k == 0 || s[k - 1] != '|' || (k >= 2 && s[k - 2] == '|'))
        return 0;
    for (i = 0; cmds[i] != NULL; i++)
        if (chio__lp_name_is(s + a, e - a, cmds[i]))
            return 1;
    return 0;
}

/* What "$_" or "${_}" (the name at @w) is: the previous command's last
 * argument, a word this reading may have passed as no path ("test -d
 * $HOME && rm -rf $_"; review 24 paths R1). Text inside '..' (Perl's or
 * awk's own "$_"), as a PowerShell pipeline item, or where it reads as a
 * literal word the value holds (us_previous_literal); else it cannot be
 * read (review 24 paths R1 follow-up). */
int chio__lp_underscore_kind(const lp_ctx *c, const char *w)
{
    const char *s = c->s;
    size_t at, d;
    int q;

    if (w <= s || w >= s + c->n)
        return LP_INDIRECT;
    at = (size_t)(w - s);
    if (s[at - 1] == '$')
        d = at - 1;
    else if (at >= 2 && s[at - 1] == '{' && s[at - 2] == '$')
        d = at - 2;
    else
        return LP_INDIRECT;
    if (us_may_run(c) || us_in_heredoc(c, d))
        return LP_INDIRECT;
    q = quote_state_at(c, d);
    if (q == 1 || q == 3)
        return LP_TEXT;
    if (q == 0 && us_powershell_item(s, d))
        return LP_TEXT;
    if (q == 2 && (d == 0 || s[d - 1] != '"'))
        return LP_INDIRECT;
    return us_previous_literal(c, d) ? LP_TEXT : LP_INDIRECT;
}
