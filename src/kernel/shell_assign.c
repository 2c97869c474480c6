/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/shell_assign.c - the variables a shell command assigns, put in
 * place of the expansions that name them (chio__shell_assigned_reading):
 * "x=etc; cat /$x/shadow" reads "x=etc; cat /etc/shadow". Read left to
 * right as a script runs: an assignment standing at a word's start
 * ("x=..", "x+=..", "a[0]=..", "a=(w ..)", also after "export" or
 * "local"), "${x:=..}" and "${x=..}", and "set -- w .." for "$1".."$9",
 * "$@" and "$*". "$x", "${x}" and every "${x<op>..}" take the value last
 * assigned, as written (its quotes and expansions are read by the
 * readings it is handed to; its own references substituted first, so
 * "a=/e; b=${a}tc; cat $b/x" is "/etc/x"); an operator is not applied
 * ("${x#zz}" is the value). Scope and control flow are not followed
 * ("x=t; x=Q true; cat /e${x}c/x" runs with "t"), so a reading may keep
 * each name's value from its pick-th assignment on instead of the
 * latest. A guess at the worst, for the forbidden_path
 * guard (guard_path.c), which counts only its hits. No state, no locks;
 * the reading is malloc'ed, at most 4 x the value's length and 4 KiB.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chio/error.h"
#include "normalize.h"
#include "shell_assign.h"
#include "shell_words.h"

/* Names followed at once; one more makes the reading refuse the value
 * (CHIO_ETOOBIG), so that no assignment is silently dropped. A hash
 * table of twice as many slots finds them. */
#define ASSIGN_NAMES 256
#define ASSIGN_SLOTS 512
/* The positional parameters "set --" gives ("$1".."$9"). */
#define ASSIGN_POSITIONS 9

typedef struct {
    size_t name, name_len; /* in the value */
    size_t val, val_len;   /* the value last assigned, in the reading */
    int set;
    unsigned count; /* assignments of it read so far */
} assignment;

typedef struct {
    assignment a[ASSIGN_NAMES];
    unsigned short slot[ASSIGN_SLOTS]; /* index + 1 into a, 0 when free */
    size_t count;
    int too_many;
    size_t pos[ASSIGN_POSITIONS][2]; /* "set --" words: start, length in the reading */
    size_t npos;
    assignment *pending; /* the assignment whose word is being read */
    size_t pending_val;  /* where its new value starts in the reading */
    size_t pending_end;  /* where its word ends in the value */
    int pending_array;   /* "a=(w ..)": the first word is the value */
    int pick;            /* >= 0: a name keeps its value from its pick-th assignment on */
    unsigned most;       /* the most assignments one name has */
    char *out;
    size_t o, cap;
} assign_state;

static int name_start(unsigned char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int name_char(unsigned char c)
{
    return name_start(c) || chio__ascii_digit(c);
}

/* Ends a word of a command: a blank or an operator. */
static int word_break(char c)
{
    return c != '\0' && strchr(" \t\n;&|<>)`", c) != NULL;
}

/* Does s[i] start a word: the value's start, or after a blank or an
 * operator? */
static int word_start(const char *s, size_t i)
{
    return i == 0 || strchr(" \t\n;&|(`", s[i - 1]) != NULL;
}

/* The end of the word that starts at s[i]: up to an unquoted blank or
 * operator, quotes, escapes and "$(..)" / "(..)" nesting followed. */
static size_t word_end(const char *s, size_t n, size_t i)
{
    size_t depth = 0;

    while (i < n) {
        char c = s[i];
        if (c == '\\') {
            i += 2;
        } else if (c == '\'') {
            for (i++; i < n && s[i] != '\''; i++)
                ;
            i++;
        } else if (c == '"') {
            for (i++; i < n && s[i] != '"'; i++)
                if (s[i] == '\\')
                    i++;
            i++;
        } else if (c == '(') {
            depth++;
            i++;
        } else if (c == ')' && depth > 0) {
            depth--;
            i++;
        } else if (depth == 0 && word_break(c)) {
            break;
        } else {
            i++;
        }
    }
    return i < n ? i : n;
}

/* The end of "${..}" whose '{' is at s[i]: past its '}', braces nested
 * counted; @n when it never closes. */
static size_t brace_end(const char *s, size_t n, size_t i)
{
    size_t depth = 0;

    for (; i < n; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '{')
            depth++;
        else if (s[i] == '}' && --depth == 0)
            return i + 1;
    }
    return n;
}

static size_t name_hash(const char *p, size_t len)
{
    uint32_t h = 2166136261u;
    size_t k;

    for (k = 0; k < len; k++)
        h = (h ^ (unsigned char)p[k]) * 16777619u;
    return h % ASSIGN_SLOTS;
}

/* The assignment of the name at @p (@len bytes), made with @add when new;
 * NULL when absent, or when there is no room (st->too_many). */
static assignment *find(assign_state *st, const char *s, const char *p, size_t len, int add)
{
    size_t h = name_hash(p, len), k;
    assignment *a;

    for (k = 0; k < ASSIGN_SLOTS; k++, h = (h + 1) % ASSIGN_SLOTS) {
        if (st->slot[h] == 0)
            break;
        a = &st->a[st->slot[h] - 1];
        if (a->name_len == len && memcmp(s + a->name, p, len) == 0)
            return a;
    }
    if (!add)
        return NULL;
    if (st->count >= ASSIGN_NAMES || k == ASSIGN_SLOTS) {
        st->too_many = 1;
        return NULL;
    }
    a = &st->a[st->count++];
    a->name = (size_t)(p - s);
    a->name_len = len;
    a->set = 0;
    a->count = 0;
    st->slot[h] = (unsigned short)st->count;
    return a;
}

/* Appends @len bytes of @p; 0, or -1 past the reading's bound. */
static int emit(assign_state *st, const char *p, size_t len)
{
    if (len > st->cap - st->o)
        return -1;
    memmove(st->out + st->o, p, len); /* @p may be an earlier part of the reading */
    st->o += len;
    return 0;
}

/* The pending assignment's word ends at s[i]: its value is set ("a=(w ..)":
 * its first word). */
static void settle(assign_state *st, size_t i)
{
    size_t v, e;

    if (st->pending == NULL || i < st->pending_end)
        return;
    v = st->pending_val;
    e = st->o;
    if (st->pending_array && v < e && st->out[v] == '(') {
        for (v++; v < e && (st->out[v] == ' ' || st->out[v] == '\t' || st->out[v] == '\n'); v++)
            ;
        for (e = v; e < st->o && !word_break(st->out[e]) && st->out[e] != '('; e++)
            ;
    }
    st->pending->val = v;
    st->pending->val_len = e - v;
    st->pending->set = 1;
    st->pending = NULL;
}

/* The word after "name=" (or "${name:=") becomes the name's value once
 * read, up to s[@end]; with @plus ("x+=y") the old value comes first. */
static int begin_value(assign_state *st, assignment *a, size_t end, int plus, int array)
{
    if (++a->count > st->most)
        st->most = a->count;
    if (st->pick >= 0 && a->count > (unsigned)st->pick + 1)
        return 0; /* kept from its pick-th assignment */
    st->pending = a;
    st->pending_val = st->o;
    st->pending_end = end;
    st->pending_array = array;
    if (plus && a->set && emit(st, st->out + a->val, a->val_len) != 0)
        return -1;
    return 0;
}

/* The assignment "name=", "name+=", "name[..]=" at s[i] (a word's start,
 * no other assignment's word being read): writes it to the reading and
 * starts its value. Returns the bytes of @s taken, 0 when none is there,
 * -1 past the reading's bound. */
static long assignment_at(assign_state *st, const char *s, size_t n, size_t i)
{
    size_t j = i, k, plus;
    assignment *a;

    if (st->pending != NULL || !word_start(s, i) || !name_start((unsigned char)s[i]))
        return 0;
    while (j < n && name_char((unsigned char)s[j]))
        j++;
    k = j;
    if (k < n && s[k] == '[') /* "a[0]=x": the array's name */
        while (k < n && s[k] != ']' && !word_break(s[k]))
            k++;
    if (k < n && s[k] == ']')
        k++;
    else
        k = j;
    plus = k + 1 < n && s[k] == '+' && s[k + 1] == '=';
    if (k >= n || (s[k] != '=' && !plus))
        return 0;
    a = find(st, s, s + i, j - i, 1);
    if (emit(st, s + i, k + 1 + plus - i) != 0)
        return -1;
    if (a != NULL && begin_value(st, a, word_end(s, n, k + 1 + plus), (int)plus,
                                 k + 1 + plus < n && s[k + 1 + plus] == '(') != 0)
        return -1;
    return (long)(k + 1 + plus - i);
}

/* "${name:=word}" or "${name=word}" at s[i]: the name takes the word when
 * it had none (written as is; the word becomes the value once read).
 * Returns the bytes taken, 0 when none is there, -1 past the bound. */
static long default_assign_at(assign_state *st, const char *s, size_t n, size_t i)
{
    size_t j = i + 2, k, ne;
    assignment *a;

    if (st->pending != NULL || n - i < 4 || s[i] != '$' || s[i + 1] != '{' ||
        !name_start((unsigned char)s[j]))
        return 0;
    for (k = j; k < n && name_char((unsigned char)s[k]); k++)
        ;
    ne = k;
    if (k < n && s[k] == ':')
        k++;
    if (k >= n || s[k] != '=')
        return 0;
    a = find(st, s, s + j, ne - j, 1);
    if (a != NULL && a->set)
        return 0; /* set already: the expansion is its value */
    if (emit(st, s + i, k + 1 - i) != 0)
        return -1;
    if (a != NULL && begin_value(st, a, brace_end(s, n, i + 1) - 1, 0, 0) != 0)
        return -1;
    return (long)(k + 1 - i);
}

/* "set -- w .." or "set w .." at s[i]: its words, written as they are,
 * become "$1".."$9". Returns the bytes taken, 0, or -1 past the bound. */
static long set_at(assign_state *st, const char *s, size_t n, size_t i)
{
    size_t j = i + 3, e;

    if (n - i < 5 || memcmp(s + i, "set ", 4) != 0 || !word_start(s, i))
        return 0;
    while (j < n && s[j] == ' ')
        j++;
    if (n - j >= 2 && s[j] == '-' && s[j + 1] == '-' && (j + 2 == n || s[j + 2] == ' '))
        j += 2;
    else if (j < n && (s[j] == '-' || s[j] == '+'))
        return 0; /* options: "set -e" */
    if (emit(st, s + i, j - i) != 0)
        return -1;
    st->npos = 0;
    while (j < n && s[j] == ' ') {
        while (j < n && s[j] == ' ')
            if (emit(st, s + j++, 1) != 0)
                return -1;
        if (j >= n || word_break(s[j]))
            break;
        e = word_end(s, n, j);
        if (st->npos < ASSIGN_POSITIONS) {
            st->pos[st->npos][0] = st->o;
            st->pos[st->npos++][1] = e - j;
        }
        if (emit(st, s + j, e - j) != 0)
            return -1;
        j = e;
    }
    return (long)(j - i);
}

/* Does the pattern hold a glob character, which is not followed? */
static int globby(const char *p, size_t n)
{
    return memchr(p, '*', n) != NULL || memchr(p, '?', n) != NULL || memchr(p, '[', n) != NULL;
}

/* Writes the value at the reading's @val (@vlen bytes) with the operator
 * @op (@on bytes: what follows the name up to the closing '}') applied
 * where it is a literal one: ":off[:len]", "#pat", "##pat", "%pat",
 * "%%pat", "/pat/rep" ("//", "/#", "/%"); any other, or a pattern with a
 * glob, leaves the value as assigned. 0, or -1 past the bound. */
static int emit_op(assign_state *st, size_t val, size_t vlen, const char *op, size_t on)
{
    const char *v = st->out + val, *hit;
    size_t k = 1, off = 0, len = vlen, pl;

    if (on >= 2 && op[0] == ':' && (chio__ascii_digit((unsigned char)op[1]) || op[1] == ':')) {
        for (; k < on && chio__ascii_digit((unsigned char)op[k]); k++)
            off = off * 10 + (size_t)(op[k] - '0') > vlen ? vlen : off * 10 + (size_t)(op[k] - '0');
        len = vlen - off;
        if (k < on && op[k] == ':') {
            size_t l = 0;
            for (k++; k < on && chio__ascii_digit((unsigned char)op[k]); k++)
                l = l * 10 + (size_t)(op[k] - '0') > len ? len : l * 10 + (size_t)(op[k] - '0');
            len = l;
        }
        return emit(st, v + off, len);
    }
    if (on >= 1 && (op[0] == '#' || op[0] == '%')) {
        k = on >= 2 && op[1] == op[0] ? 2 : 1;
        pl = on - k;
        if (!globby(op + k, pl) && pl <= vlen) {
            if (op[0] == '#' && memcmp(v, op + k, pl) == 0)
                return emit(st, v + pl, vlen - pl);
            if (op[0] == '%' && memcmp(v + vlen - pl, op + k, pl) == 0)
                return emit(st, v, vlen - pl);
        }
        return emit(st, v, vlen);
    }
    if (on >= 2 && op[0] == '/') {
        char how = strchr("/#%", op[1]) != NULL && op[1] != '\0' ? op[1] : 0;
        const char *pat = op + 1 + (how != 0), *sep;
        size_t rest = on - 1 - (how != 0), rl;
        sep = memchr(pat, '/', rest);
        pl = sep != NULL ? (size_t)(sep - pat) : rest;
        rl = sep != NULL ? rest - pl - 1 : 0;
        if (pl == 0 || globby(pat, pl) || pl > vlen)
            return emit(st, v, vlen);
        if (how == '#')
            hit = memcmp(v, pat, pl) == 0 ? v : NULL;
        else if (how == '%')
            hit = memcmp(v + vlen - pl, pat, pl) == 0 ? v + vlen - pl : NULL;
        else
            hit = memmem(v, vlen, pat, pl);
        if (hit == NULL)
            return emit(st, v, vlen);
        /* the first match replaced ("//": every one, as the first here) */
        if (emit(st, v, (size_t)(hit - v)) != 0 || emit(st, sep != NULL ? sep + 1 : pat, rl) != 0)
            return -1;
        return emit(st, hit + pl, vlen - (size_t)(hit - v) - pl);
    }
    return emit(st, v, vlen);
}

/* A reference at s[i] to a value known, written with it in place:
 * "$name", "${name}", "${name<op>..}" (a literal operator applied,
 * emit_op), "${!name..}" (the name it holds: "x=HOME; ${!x}" is
 * "${HOME}"), "$1".."$9", "${1}", "$@", "$*". Returns the bytes taken,
 * 0 when none is there, -1 past the bound. */
static long reference_at(assign_state *st, const char *s, size_t n, size_t i)
{
    size_t j = i + 1, k, end, val, vlen;
    int braced, bang = 0;
    assignment *a;

    if (s[i] != '$' || j >= n)
        return 0;
    braced = s[j] == '{';
    j += (size_t)braced;
    if (braced && j < n && s[j] == '!') {
        bang = 1;
        j++;
    }
    if (!bang && j < n && st->npos > 0 &&
        (s[j] == '@' || s[j] == '*' || chio__ascii_digit((unsigned char)s[j]))) {
        size_t p = s[j] == '@' || s[j] == '*' ? 0 : (size_t)(s[j] - '1');
        if (s[j] == '0' || p >= st->npos)
            return 0;
        end = braced ? brace_end(s, n, i + 1) : j + 1;
        val = st->pos[p][0];
        /* "$@", "$*": every word, as they stand in the reading */
        vlen = s[j] == '@' || s[j] == '*'
                   ? st->pos[st->npos - 1][0] + st->pos[st->npos - 1][1] - st->pos[0][0]
                   : st->pos[p][1];
        return emit(st, st->out + val, vlen) != 0 ? -1 : (long)(end - i);
    }
    for (k = j; k < n && name_char((unsigned char)s[k]); k++)
        ;
    if (k == j || chio__ascii_digit((unsigned char)s[j]))
        return 0;
    if ((a = find(st, s, s + j, k - j, 0)) == NULL || !a->set)
        return 0;
    if (!braced)
        return emit(st, st->out + a->val, a->val_len) != 0 ? -1 : (long)(k - i);
    end = brace_end(s, n, i + 1);
    if (bang) /* "${!x..}": "${" the name x holds, the rest as written */
        return emit(st, "${", 2) != 0 || emit(st, st->out + a->val, a->val_len) != 0 ||
                       emit(st, s + k, end - k) != 0
                   ? -1
                   : (long)(end - i);
    return emit_op(st, a->val, a->val_len, s + k, end > k ? end - k - 1 : 0) != 0 ? -1
                                                                                  : (long)(end - i);
}

/* "for NAME in w .." or "select NAME in w .." at s[i]: each word is an
 * assignment of NAME in turn (a reading's pick keeps one of them, the
 * loop's body seeing each). Returns the bytes taken (written as they
 * are), 0, or -1 past the bound. */
static long for_at(assign_state *st, const char *s, size_t n, size_t i)
{
    size_t j, k, e;
    assignment *a;

    if (st->pending != NULL || !word_start(s, i))
        return 0;
    if (n - i > 4 && memcmp(s + i, "for ", 4) == 0)
        j = i + 4;
    else if (n - i > 7 && memcmp(s + i, "select ", 7) == 0)
        j = i + 7;
    else
        return 0;
    while (j < n && s[j] == ' ')
        j++;
    for (k = j; k < n && name_char((unsigned char)s[k]); k++)
        ;
    if (k == j || !name_start((unsigned char)s[j]) || n - k < 4 || memcmp(s + k, " in ", 4) != 0)
        return 0;
    a = find(st, s, s + j, k - j, 1);
    if (emit(st, s + i, k + 4 - i) != 0)
        return -1;
    for (j = k + 4; j < n && !word_break(s[j]) && s[j] != ';';) {
        e = word_end(s, n, j);
        if (a != NULL && begin_value(st, a, e, 0, 0) != 0)
            return -1;
        if (emit(st, s + j, e - j) != 0)
            return -1;
        settle(st, e);
        for (j = e; j < n && s[j] == ' '; j++)
            if (emit(st, s + j, 1) != 0)
                return -1;
    }
    return (long)(j - i);
}

/* "shift" or "shift N" at s[i]: the positional parameters move down.
 * Returns the bytes taken (written as they are), 0, or -1 past the
 * bound. */
static long shift_at(assign_state *st, const char *s, size_t n, size_t i)
{
    size_t j = i + 5, by = 0, k;

    if (n - i < 5 || memcmp(s + i, "shift", 5) != 0 || !word_start(s, i) ||
        (j < n && !word_break(s[j])))
        return 0;
    while (j < n && s[j] == ' ')
        j++;
    for (; j < n && chio__ascii_digit((unsigned char)s[j]) && by < ASSIGN_POSITIONS; j++)
        by = by * 10 + (size_t)(s[j] - '0');
    if (by == 0)
        by = 1;
    by = by > st->npos ? st->npos : by;
    for (k = 0; k + by < st->npos; k++) {
        st->pos[k][0] = st->pos[k + by][0];
        st->pos[k][1] = st->pos[k + by][1];
    }
    st->npos -= by;
    return emit(st, s + i, j - i) != 0 ? -1 : (long)(j - i);
}

int chio__shell_assigned_reading(const char *s, size_t n, int pick, char **out, size_t *len,
                                 unsigned *most)
{
    assign_state *st;
    size_t i = 0;
    long w;
    int changed = 0, rc;

    *out = NULL;
    *len = 0;
    *most = 0;
    if (memchr(s, '$', n) == NULL ||
        (memchr(s, '=', n) == NULL && memmem(s, n, "set ", 4) == NULL &&
         memmem(s, n, "for ", 4) == NULL && memmem(s, n, "select ", 7) == NULL))
        return 0;
    if ((st = calloc(1, sizeof(*st))) == NULL)
        return CHIO_ENOMEM;
    st->pick = pick;
    st->cap = n > (SIZE_MAX - 4096) / 4 ? SIZE_MAX - 1 : 4 * n + 4096;
    if ((st->out = malloc(st->cap + 1)) == NULL) {
        free(st);
        return CHIO_ENOMEM;
    }
    while (i < n && !st->too_many) {
        settle(st, i);
        if ((w = assignment_at(st, s, n, i)) != 0 || (w = default_assign_at(st, s, n, i)) != 0 ||
            (w = set_at(st, s, n, i)) != 0 || (w = shift_at(st, s, n, i)) != 0 ||
            (w = for_at(st, s, n, i)) != 0) {
            if (w < 0)
                goto too_big;
            i += (size_t)w;
        } else if ((w = reference_at(st, s, n, i)) != 0) {
            if (w < 0)
                goto too_big;
            i += (size_t)w;
            changed = 1;
        } else {
            if (emit(st, s + i, 1) != 0)
                goto too_big;
            i++;
        }
    }
    if (st->too_many)
        goto too_big;
    *most = st->most;
    if (!changed) {
        free(st->out);
        free(st);
        return 0;
    }
    st->out[st->o] = '\0';
    *out = st->out;
    *len = st->o;
    free(st);
    return 1;
too_big:
    rc = CHIO_ETOOBIG;
    free(st->out);
    free(st);
    return rc;
}

/* The end of an option word of a shell at s[@i]: "-" or "+" and letters
 * ("-e", "+x", "-lc"), "--", or a long option ("--norc"); 0 for none.
 * Letters only, so the scan is the word's length. */
static size_t shell_option_end(const char *s, size_t n, size_t i)
{
    size_t k = i + 1;

    if (i >= n || (s[i] != '-' && s[i] != '+'))
        return 0;
    if (s[i] == '-' && k < n && s[k] == '-')
        k++;
    while (k < n && ((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z') ||
                     (k > i + 2 && s[k] == '-')))
        k++;
    if (k == i + 1 || (k < n && s[k] != ' ' && !word_break(s[k])))
        return 0;
    return k;
}

/* How many words the bundle s[@i, @e) takes after it: one for each 'o'
 * or 'O' ("-o pipefail", "+O extglob"); none for a long option. */
static size_t option_args(const char *s, size_t i, size_t e)
{
    size_t k, args = 0;

    if (e - i >= 2 && s[i] == '-' && s[i + 1] == '-')
        return 0;
    for (k = i + 1; k < e; k++)
        args += s[k] == 'o' || s[k] == 'O';
    return args;
}

/* The first "-c SCRIPT" with its script a quoted word, as bash, sh,
 * dash, zsh and ksh take it (review 22 P7): an option bundle holding
 * 'c' ("-c", "-lc", "-ce", "-cx"), then any options ("-e", "+x", "-o
 * NAME", "+O NAME", a bundle's 'o'/'O' taking the next word), "--"
 * ending them, then the script, the first word that is none. The end of
 * the script word, or 0 when there is none. Linear: a search that fails
 * goes on where it stopped. */
static size_t c_script_end(const char *s, size_t n)
{
    size_t i, j, e, args;
    int dashes;

    for (i = 0; i + 3 < n; i++) {
        if (s[i] != '-' || !word_start(s, i) || (e = shell_option_end(s, n, i)) == 0 ||
            s[i + 1] == '-' || memchr(s + i + 1, 'c', e - i - 1) == NULL)
            continue;
        args = option_args(s, i, e);
        for (j = e, dashes = 0;;) {
            while (j < n && s[j] == ' ')
                j++;
            if (j >= n || word_break(s[j]))
                break;
            if (args > 0) { /* "-o pipefail": the option's name */
                for (e = j; e < n && s[e] != ' ' && !word_break(s[e]); e++)
                    ;
                args--;
            } else if (!dashes && (e = shell_option_end(s, n, j)) > 0) {
                dashes = e - j == 2 && s[j] == '-' && s[j + 1] == '-';
                args = option_args(s, j, e);
            } else if (s[j] == '\'' || s[j] == '"') {
                e = word_end(s, n, j);
                return e > n ? n : e;
            } else {
                break;
            }
            j = e;
        }
        i = j - 1; /* the words passed hold no other start */
    }
    return 0;
}

/* The bytes of a "$0" or "${0}" at t[i] (@tl bytes in all), or 0. */
static size_t dollar0_at(const char *t, size_t tl, size_t i)
{
    if (t[i] != '$' || tl - i < 2)
        return 0;
    if (t[i + 1] == '0')
        return 2;
    return tl - i >= 4 && memcmp(t + i, "${0}", 4) == 0 ? 4 : 0;
}

/* The script @t (@tl bytes) with each "$0" and "${0}" written as the
 * word @w (@wl bytes), the first word after a "-c SCRIPT": a shell's
 * $0 (review 23: "sh -c 'cat $0/shadow' /etc"). A quoted or escaped one
 * is filled in too: read at worst. At most @n bytes are added; a fill
 * past that is CHIO_ETOOBIG, the value refused rather than read in
 * part. Returns 0 with *@out (malloc'ed, NUL-terminated) and *@ol, 1
 * when @t holds none, CHIO_ENOMEM, CHIO_ETOOBIG. */
static int fill_dollar0(const char *t, size_t tl, const char *w, size_t wl, size_t n, char **out,
                        size_t *ol)
{
    size_t i, c = 0, gone = 0, o = 0, k;

    for (i = 0; i < tl; i++)
        if ((k = dollar0_at(t, tl, i)) > 0) {
            c++;
            gone += k;
        }
    if (c == 0)
        return 1;
    if (wl > 0 && c > n / wl)
        return CHIO_ETOOBIG;
    if ((*out = malloc(tl - gone + c * wl + 1)) == NULL)
        return CHIO_ENOMEM;
    for (i = 0; i < tl;) {
        if ((k = dollar0_at(t, tl, i)) == 0) {
            (*out)[o++] = t[i++];
            continue;
        }
        memcpy(*out + o, w, wl);
        o += wl;
        i += k;
    }
    (*out)[o] = '\0';
    *ol = o;
    return 0;
}

int chio__shell_inner_text(const char *s, size_t n, char **out, size_t *len)
{
    char *t, *heap = NULL;
    size_t tl, e = c_script_end(s, n), j, k, w[ASSIGN_POSITIONS + 1][2], nw = 0, o;
    int filled = 0;

    *out = NULL;
    *len = 0;
    /* the words after the script: $0, then "$1".."$9" */
    for (j = e; e > 0 && j < n && nw <= ASSIGN_POSITIONS;) {
        while (j < n && s[j] == ' ')
            j++;
        if (j >= n || word_break(s[j]))
            break;
        k = word_end(s, n, j);
        k = k > n ? n : k;
        w[nw][0] = j;
        w[nw++][1] = k - j;
        j = k;
    }
    if ((t = chio__shell_guess_text(s, n, NULL, 0, &heap, &tl)) == NULL)
        return CHIO_ENOMEM;
    if (nw >= 1) { /* "$0": the first word after the script */
        char *f;
        size_t fl;
        int rc = fill_dollar0(t, tl, s + w[0][0], w[0][1], n, &f, &fl);

        if (rc < 0) {
            free(heap);
            return rc;
        }
        if (rc == 0) {
            free(heap);
            t = heap = f;
            tl = fl;
            filled = 1;
        }
    }
    if (nw < 2 && tl == n && memcmp(t, s, n) == 0) {
        free(heap);
        return 0;
    }
    if (nw < 2) {
        *out = t;
        *len = tl;
        return 1 + filled;
    }
    /* "set -- $1 .. $9; " in front: at most n + 16 bytes */
    if ((*out = malloc(tl + n + 16)) == NULL) {
        free(heap);
        return CHIO_ENOMEM;
    }
    memcpy(*out, "set --", 6);
    o = 6;
    for (k = 1; k < nw; k++) {
        (*out)[o++] = ' ';
        memcpy(*out + o, s + w[k][0], w[k][1]);
        o += w[k][1];
    }
    memcpy(*out + o, "; ", 2);
    o += 2;
    memcpy(*out + o, t, tl);
    o += tl;
    (*out)[o] = '\0';
    *len = o;
    free(heap);
    return 1 + filled;
}
