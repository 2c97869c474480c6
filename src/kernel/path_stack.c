/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/path_stack.c - path_prefix's reading of the directory stack a
 * value keeps (review 23 pathfix Q3, a regression of review 22 P8's
 * pairing): a "popd" returns from the value's own "pushd" only when that
 * pushd surely ran in the same shell before it. Both are command words
 * of the same command list (the value's, one loop or if body, or a "{ }"
 * group: not in "( )", "$( )", backticks, a function, a comment, a quoted string
 * or "bash -c" text, not an argument of another command, not in a
 * pipeline), the pushd's list not backgrounded with '&', in order, one
 * popd per pushd; "Push-Location -StackName a" pairs only with
 * "Pop-Location -StackName a". Past anything this reading does not
 * follow ("(", "$(", backticks, "case", a here-document, "eval",
 * "source", "alias", "enable", "shopt": a pushd that may be a function or
 * an alias) no later popd pairs. A pushd in an if or while condition
 * pairs with a popd in its then or do body; a "{ }" group starts with the
 * pushes surely run before it, and after it none (review 24 paths M1).
 * The quoted message of git's commit,
 * tag, merge or stash ("-m", "-am", "--message") holds no commands; no
 * other command's "-m" ("bash -c -m '..'") is one.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "path_stack.h"

#define PS_FRAMES 16 /* loop and if bodies one inside another */
#define PS_KEYS   4  /* stacks one body pushes to */

enum { T_SEQ, T_AND, T_OR, T_PIPE, T_BG };
enum { K_NONE, K_PUSH, K_POP, K_GIT };

typedef struct ps_key {
    int ps;         /* 0: bash's pushd, 1: PowerShell's Push-Location */
    size_t at, len; /* the stack's name (len 0: the default one) */
    size_t sure, pend, cond;
} ps_key;

typedef struct ps_frame {
    ps_key keys[PS_KEYS];
    size_t nkeys;
    int first;   /* the next command starts an and-or list */
    int allamp;  /* every connector so far in the and-or list is "&&" */
    char opener; /* 'i' if/elif, 'w' while, 'u' until, 'f' for/select, '{' */
} ps_frame;

typedef struct ps_cmd {
    size_t words, at, len; /* the command word */
    int kind, ps, bad, in_pipe, neg, msg_next, redir_next, operands, dashdash, stack_next;
    int git_sub;      /* git's subcommand seen (1 commit-like, 2 other) */
    int git_opt_next; /* git's "-C"/"-c" takes the next word */
    size_t name_at, name_len;
} ps_cmd;

typedef struct ps_state {
    const char *s;
    size_t n;
    char *out;
    ps_frame f[PS_FRAMES];
    size_t nf;
    int any;
} ps_state;

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int word_eq(const char *s, size_t at, size_t len, const char *w)
{
    return strlen(w) == len && memcmp(s + at, w, len) == 0;
}

static int word_ieq(const char *s, size_t at, size_t len, const char *w)
{
    return strlen(w) == len && strncasecmp(s + at, w, len) == 0;
}

static void frame_reset(ps_frame *f)
{
    memset(f, 0, sizeof(*f));
    f->first = 1;
    f->allamp = 1;
}

static ps_key *key_of(ps_frame *f, const char *s, int ps, size_t at, size_t len, int add)
{
    size_t i;

    for (i = 0; i < f->nkeys; i++)
        if (f->keys[i].ps == ps && f->keys[i].len == len &&
            strncasecmp(s + f->keys[i].at, s + at, len) == 0)
            return &f->keys[i];
    if (!add || f->nkeys == PS_KEYS)
        return NULL;
    memset(&f->keys[f->nkeys], 0, sizeof(ps_key));
    f->keys[f->nkeys].ps = ps;
    f->keys[f->nkeys].at = at;
    f->keys[f->nkeys].len = len;
    return &f->keys[f->nkeys++];
}

/* The command just read ends with the connector @t. */
static void command_end(ps_state *st, ps_cmd *c, int t)
{
    ps_frame *f = &st->f[st->nf - 1];
    ps_key *k;
    size_t i;
    int alone = !c->in_pipe && t != T_PIPE && !c->neg && !c->bad;

    if (c->kind == K_PUSH && alone && c->operands == 1 &&
        (k = key_of(f, st->s, c->ps, c->name_at, c->name_len, 1)) != NULL) {
        if (f->first)
            k->pend++;
        else if (f->allamp)
            k->cond++;
    } else if (c->kind == K_POP && alone && c->operands == 0 &&
               (k = key_of(f, st->s, c->ps, c->name_at, c->name_len, 0)) != NULL) {
        int paired = 1;

        if (f->allamp && k->cond > 0)
            k->cond--;
        else if (f->allamp && k->pend > 0)
            k->pend--;
        else if (k->sure > 0)
            k->sure--;
        else
            paired = 0;
        if (paired) {
            memset(st->out + c->at, 'x', c->len);
            st->any = 1;
        }
    }
    switch (t) {
    case T_AND:
        f->first = 0;
        break;
    case T_OR:
        f->first = 0;
        f->allamp = 0;
        break;
    case T_PIPE:
        f->first = 0;
        break;
    default:
        for (i = 0; i < f->nkeys; i++) {
            if (t == T_SEQ)
                f->keys[i].sure += f->keys[i].pend;
            f->keys[i].pend = f->keys[i].cond = 0;
        }
        f->first = 1;
        f->allamp = 1;
        break;
    }
    memset(c, 0, sizeof(*c));
    c->in_pipe = t == T_PIPE;
}

/* A body starts at "then", "do", "else" or "elif" (@w its first byte).
 * After "then" or "do" of an if, elif or while whose condition pushed,
 * the body runs only once the condition ran: its popd pairs with the
 * condition's pushd ("if pushd build; then make; popd; fi"; review 24
 * paths M1). Everything else starts with no pushd: what the body pushes
 * or pops stays in it (the frame closes at "fi" or "done"). */
static void body_start(ps_frame *f, char w)
{
    size_t i;

    if ((w == 't' && f->opener == 'i') || (w == 'd' && f->opener == 'w')) {
        for (i = 0; i < f->nkeys; i++)
            f->keys[i].pend = f->keys[i].cond = 0;
        f->first = 1;
        f->allamp = 1;
        return;
    }
    {
        char o = w == 'e' && f->opener == 'i' ? 'i' : f->opener;

        frame_reset(f);
        f->opener = o;
    }
}

/* "{" (@open) and "}" at a command's start: a group runs in the same
 * shell, so after "pushd a &&" its popd pairs ("pushd b && { make; popd;
 * }"; review 24 paths M1): the group starts with the pushes that surely
 * ran before it (those of the and-or list while every connector is "&&"
 * and those of earlier lists). At "}" the enclosing list keeps no pushd:
 * no later popd pairs with one from before or inside the group. 0, or
 * -1 when the reading stops. */
static int brace_group(ps_state *st, ps_cmd *c, int open)
{
    ps_frame *f = &st->f[st->nf - 1], *g;
    size_t i;

    if (!open) {
        if (st->nf < 2 || f->opener != '{')
            return -1;
        st->nf--;
        st->f[st->nf - 1].nkeys = 0;
        c->words = 1; /* what follows are its redirections */
        c->kind = K_NONE;
        return 0;
    }
    if (st->nf == PS_FRAMES || c->neg)
        return -1;
    g = &st->f[st->nf++];
    frame_reset(g);
    g->opener = '{';
    g->nkeys = f->nkeys;
    for (i = 0; i < f->nkeys; i++) {
        g->keys[i] = f->keys[i];
        g->keys[i].sure += f->allamp ? f->keys[i].pend + f->keys[i].cond : 0;
        g->keys[i].pend = g->keys[i].cond = 0;
    }
    return 0;
}

/* A word of a command: w[@a, @b); @sq: all one '..'; @dq: all one ".."
 * with no '$', backquote or backslash. 0, or -1 when the reading stops. */
static int command_word(ps_state *st, ps_cmd *c, size_t a, size_t b, int plain_quoted)
{
    const char *s = st->s;
    size_t l = b - a, k;

    if (c->redir_next) { /* the target of "> file" */
        c->redir_next = 0;
        return 0;
    }
    /* a redirection: [digits]< > >> &> >& .. */
    for (k = a; k < b && s[k] >= '0' && s[k] <= '9'; k++)
        ;
    if (k < b && (s[k] == '<' || s[k] == '>' || (s[k] == '&' && k + 1 < b && s[k + 1] == '>'))) {
        size_t e = k;

        while (e < b && strchr("<>&|", s[e]) != NULL)
            e++;
        if (e == b)
            c->redir_next = 1;
        return 0;
    }
    if (c->words == 0) {
        if (l == 1 && s[a] == '!') {
            c->neg = 1;
            return 0;
        }
        /* an assignment before the command word */
        for (k = a;
             k < b && (s[k] == '_' || (s[k] >= 'a' && s[k] <= 'z') ||
                       (s[k] >= 'A' && s[k] <= 'Z') || (k > a && s[k] >= '0' && s[k] <= '9'));
             k++)
            ;
        if (k > a && k < b && s[k] == '=')
            return 0;
        if (word_eq(s, a, l, "if") || word_eq(s, a, l, "while") || word_eq(s, a, l, "until") ||
            word_eq(s, a, l, "for") || word_eq(s, a, l, "select")) {
            if (st->nf == PS_FRAMES)
                return -1;
            frame_reset(&st->f[st->nf++]);
            st->f[st->nf - 1].opener = s[a] == 's' ? 'f' : s[a];
            if (s[a] == 'f' || s[a] == 's')
                c->words = 1, c->kind = K_NONE; /* the header's words are no commands */
            return 0;
        }
        if (word_eq(s, a, l, "then") || word_eq(s, a, l, "do") || word_eq(s, a, l, "else") ||
            word_eq(s, a, l, "elif")) {
            if (st->nf < 2 || st->f[st->nf - 1].opener == '{')
                return -1;
            body_start(&st->f[st->nf - 1], s[a]);
            return 0;
        }
        if (word_eq(s, a, l, "fi") || word_eq(s, a, l, "done")) {
            if (st->nf < 2 || st->f[st->nf - 1].opener == '{' ||
                (s[a] == 'f') != (st->f[st->nf - 1].opener == 'i'))
                return -1;
            st->nf--;
            c->words = 1; /* what follows are its redirections */
            c->kind = K_NONE;
            return 0;
        }
        /* a command that may define a function or an alias, or turn a
         * builtin off, named pushd or popd: no later popd pairs */
        if (word_eq(s, a, l, "eval") || word_eq(s, a, l, "source") || word_eq(s, a, l, ".") ||
            word_eq(s, a, l, "alias") || word_eq(s, a, l, "enable") || word_eq(s, a, l, "shopt") ||
            word_eq(s, a, l, "unalias") || word_ieq(s, a, l, "set-alias") ||
            word_ieq(s, a, l, "new-alias") || word_ieq(s, a, l, "invoke-expression") ||
            word_ieq(s, a, l, "iex"))
            return -1;
        if (word_eq(s, a, l, "{") || word_eq(s, a, l, "}"))
            return brace_group(st, c, s[a] == '{');
        if (word_eq(s, a, l, "case") || word_eq(s, a, l, "esac") || word_eq(s, a, l, "function") ||
            word_eq(s, a, l, "coproc"))
            return -1;
        c->words = 1;
        c->at = a;
        c->len = l;
        if (word_eq(s, a, l, "pushd"))
            c->kind = K_PUSH;
        else if (word_eq(s, a, l, "popd"))
            c->kind = K_POP;
        else if (word_ieq(s, a, l, "push-location"))
            c->kind = K_PUSH, c->ps = 1;
        else if (word_ieq(s, a, l, "pop-location"))
            c->kind = K_POP, c->ps = 1;
        else if (word_eq(s, a, l, "git"))
            c->kind = K_GIT;
        return 0;
    }
    c->words++;
    if (c->kind == K_GIT) {
        if (c->msg_next) {
            c->msg_next = 0;
            if (plain_quoted && l >= 2) {
                memset(st->out + a + 1, 'x', l - 2);
                st->any = 1;
            }
            return 0;
        }
        if (c->git_sub == 0) {
            if (c->git_opt_next) {
                c->git_opt_next = 0;
            } else if (word_eq(s, a, l, "-C") || word_eq(s, a, l, "-c")) {
                c->git_opt_next = 1;
            } else if (l > 2 && s[a] == '-' && s[a + 1] == '-') {
                /* "--no-pager", "--git-dir=x" */
            } else {
                c->git_sub = word_eq(s, a, l, "commit") || word_eq(s, a, l, "tag") ||
                                     word_eq(s, a, l, "merge") || word_eq(s, a, l, "stash")
                                 ? 1
                                 : 2;
            }
            return 0;
        }
        if (c->git_sub != 1)
            return 0;
        if (word_eq(s, a, l, "--message")) {
            c->msg_next = 1;
        } else if (l > 10 && memcmp(s + a, "--message=", 10) == 0) {
            if (plain_quoted == 2 && b - (a + 10) >= 2) {
                memset(st->out + a + 11, 'x', b - a - 12);
                st->any = 1;
            }
        } else if (l >= 2 && s[a] == '-' && s[a + 1] != '-') {
            for (k = a + 1; k < b && s[k] >= 'a' && s[k] <= 'z' && s[k] != 'm'; k++)
                ;
            if (k + 1 == b && s[k] == 'm')
                c->msg_next = 1;
        }
        return 0;
    }
    if (c->kind != K_PUSH && c->kind != K_POP)
        return 0;
    if (c->stack_next) {
        c->stack_next = 0;
        c->name_at = a;
        c->name_len = l;
        return 0;
    }
    if (c->ps && l >= 2 && s[a] == '-') {
        size_t e = a + 1;

        while (e < b && s[e] != ':')
            e++;
        if (e - a - 1 >= 1 && e - a - 1 <= 9 &&
            strncasecmp(s + a + 1, "stackname", e - a - 1) == 0 &&
            (s[a + 1] == 's' || s[a + 1] == 'S')) {
            if (e < b) {
                c->name_at = e + 1;
                c->name_len = b - e - 1;
            } else {
                c->stack_next = 1;
            }
        } else if (word_ieq(s, a, l, "-passthru")) {
            /* no change to the stack */
        } else if (c->kind == K_PUSH &&
                   (word_ieq(s, a, l, "-path") || word_ieq(s, a, l, "-literalpath")) &&
                   c->operands == 0) {
            /* the operand follows */
        } else {
            c->bad = 1;
        }
        return 0;
    }
    if (!c->ps && !c->dashdash && c->operands == 0 && word_eq(s, a, l, "--")) {
        c->dashdash = 1;
        return 0;
    }
    if (!c->ps && !c->dashdash && (s[a] == '-' || s[a] == '+'))
        c->bad = 1; /* "pushd -n ~", "pushd +1", "popd -n" */
    c->operands++;
    return 0;
}

int chio__pp_stack_blank(const char *s, size_t n, char *out)
{
    ps_state st;
    ps_cmd c;
    size_t i = 0, a, j;
    int quoted, t;

    memcpy(out, s, n);
    out[n] = '\0';
    memset(&st, 0, sizeof(st));
    memset(&c, 0, sizeof(c));
    st.s = s;
    st.n = n;
    st.out = out;
    st.nf = 1;
    frame_reset(&st.f[0]);
    while (i < n) {
        while (i < n && is_blank(s[i]))
            i++;
        if (i >= n)
            break;
        if (s[i] == '\\' && i + 1 < n && s[i + 1] == '\n') {
            i += 2;
            continue;
        }
        if (s[i] == '#') { /* a comment, to the line's end */
            while (i < n && s[i] != '\n')
                i++;
            continue;
        }
        t = -1;
        if (s[i] == '\n' || s[i] == ';') {
            if (s[i] == ';' && i + 1 < n && (s[i + 1] == ';' || s[i + 1] == '&'))
                break; /* a case branch */
            t = T_SEQ;
            i++;
        } else if (s[i] == '&' && i + 1 < n && s[i + 1] == '&') {
            t = T_AND;
            i += 2;
        } else if (s[i] == '&' && !(i + 1 < n && s[i + 1] == '>')) {
            t = T_BG;
            i++;
        } else if (s[i] == '|' && i + 1 < n && s[i + 1] == '|') {
            t = T_OR;
            i += 2;
        } else if (s[i] == '|') {
            t = T_PIPE;
            i += i + 1 < n && s[i + 1] == '&' ? 2 : 1;
        } else if (s[i] == '(' || s[i] == ')' || s[i] == '`' ||
                   (s[i] == '<' && i + 1 < n && strchr("<#(", s[i + 1]) != NULL &&
                    !(s[i + 1] == '<' && i + 2 < n && s[i + 2] == '<')) ||
                   (s[i] == '>' && i + 1 < n && s[i + 1] == '(')) {
            break; /* a subshell, substitution, here-document: read no further */
        }
        if (t >= 0) {
            command_end(&st, &c, t);
            continue;
        }
        /* a word */
        a = i;
        quoted = 0;
        for (j = i; j < n;) {
            char ch = s[j];

            if (is_blank(ch) || ch == '\n' || ch == ';' || ch == '(' || ch == ')' || ch == '`')
                break;
            if ((ch == '|' || ch == '&') && !(j > a && (s[j - 1] == '>' || s[j - 1] == '<')) &&
                !(ch == '&' && j == a && j + 1 < n && s[j + 1] == '>'))
                break;
            if (ch == '<' && j + 1 < n &&
                (s[j + 1] == '#' || (s[j + 1] == '<' && !(j + 2 < n && s[j + 2] == '<'))))
                goto done; /* a here-document, a PowerShell block comment */
            if (ch == '\\') {
                j += 2;
                quoted = -1;
            } else if (ch == '$' && j + 1 < n && s[j + 1] == '\'') {
                size_t e = j + 2; /* $'..': backslash escapes */

                while (e < n && s[e] != '\'')
                    e += s[e] == '\\' ? 2 : 1;
                if (e >= n)
                    goto done;
                quoted = -1;
                j = e + 1;
            } else if (ch == '\'') {
                size_t e = j + 1;

                while (e < n && s[e] != '\'')
                    e++;
                if (e >= n)
                    goto done;
                quoted =
                    quoted == 0 && j == a &&
                            (e + 1 >= n || is_blank(s[e + 1]) || strchr(";&|\n", s[e + 1]) != NULL)
                        ? 1
                        : -1;
                j = e + 1;
            } else if (ch == '"') {
                size_t e = j + 1;
                int plain = 1;

                while (e < n && s[e] != '"') {
                    if (s[e] == '`' || (s[e] == '$' && e + 1 < n && s[e + 1] == '('))
                        goto done;
                    if (s[e] == '$' || s[e] == '\\')
                        plain = 0;
                    e += s[e] == '\\' ? 2 : 1;
                }
                if (e >= n)
                    goto done;
                quoted =
                    quoted == 0 && plain && j == a &&
                            (e + 1 >= n || is_blank(s[e + 1]) || strchr(";&|\n", s[e + 1]) != NULL)
                        ? 1
                        : -1;
                j = e + 1;
            } else if (ch == '$' && j + 1 < n && (s[j + 1] == '(' || s[j + 1] == '{')) {
                if (s[j + 1] == '(')
                    goto done;
                while (j < n && s[j] != '}') {
                    if (j > a + 1 && strchr("{(`\"'$", s[j]) != NULL && s[j - 1] != '$')
                        goto done;
                    j++;
                }
                if (j >= n)
                    goto done;
                j++;
                quoted = -1;
            } else {
                j++;
            }
        }
        if (j > n)
            j = n;
        /* "--message='x'": the quoted part ends the word */
        if (quoted != 1 && j - a > 12 && memcmp(s + a, "--message=", 10) == 0 &&
            (s[a + 10] == '\'' || s[a + 10] == '"') && s[j - 1] == s[a + 10] &&
            memchr(s + a + 11, s[a + 10], j - a - 12) == NULL &&
            (s[a + 10] == '\'' || (memchr(s + a + 11, '$', j - a - 12) == NULL &&
                                   memchr(s + a + 11, '\\', j - a - 12) == NULL)))
            quoted = 2;
        if (command_word(&st, &c, a, j, quoted > 0 ? quoted : 0) < 0)
            break;
        i = j;
    }
    if (i >= n)
        command_end(&st, &c, T_SEQ);
done:
    return st.any;
}
