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
 * This file is the command-segment splitter (chio__segs); the tokens'
 * bits, a segment's command word and the hidden-command readings it asks
 * for are in leaf_host_prog_words.c (leaf_host_prog.h).
 */
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "constraint_domain.h"
#include "leaf_host_prog.h"

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
    return i + 1 >= n || chio__prog_blank((unsigned char)s[i + 1]) ||
           strchr(";&|)<>", s[i + 1]) != NULL;
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
            else if (is_ctl(c) && chio__prog_hidden_command_at(s, i + 1, n, '\''))
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
            } else if (is_ctl(c) && chio__prog_hidden_command_at(s, i + 1, n, '"')) {
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
        if (c != '\n' && chio__prog_blank((unsigned char)c)) {
            if (in_word) {
                prev_c = chio__prog_script_option(s, ws, i);
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
            if (prev_c && (c == '\'' || c == '"') ? chio__prog_hidden_command_at(s, i + 1, n, c)
                : prev_c && c == '$' && i + 1 < n && s[i + 1] == '\''
                    ? chio__prog_hidden_command_at(s, i + 2, n, '\'')
                    : prev_c && (chio__prog_unknowable_at(g, s, i, n) ||
                                 chio__prog_group_hides_name(g, s, i, n)))
                flags = CHIO__PROG_ALL;
            prev_c = 0;
            if (c == '#') { /* a comment runs to the line's end */
                while (i + 1 < n && s[i + 1] != '\n')
                    i++;
                continue;
            }
            if (c == '{' && cmdpos && (i + 1 >= n || chio__prog_blank((unsigned char)s[i + 1]))) {
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
    cmd = chio__prog_command_bits(s, start, g->end, &ca, &cb);
    if (chio__prog_runs_built_name(s, start, g->end))
        flags = CHIO__PROG_ALL;
    tokens = chio__leaf_tokens_programs(s + start, g->end - start);
    bits = tokens | flags | inherit | g->all | g->extra | (cmd > 0 ? cmd : 0);
    g->bits = bits;
    /* a name an argument holds ("which curl", "ln -s /usr/bin/curl c")
     * may be run by another name; a name defined runs anything */
    g->escaped |= tokens & ~(cb > ca ? chio__leaf_tokens_programs(s + ca, cb - ca) : 0);
    if (cmd == 0 && chio__prog_defines_name(s, ca, cb, n))
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
