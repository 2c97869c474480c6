/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/shell_braces.c - bash's brace expansion ("{a,b}", "{1..9..2}",
 * "{a..z}") of a value, for the forbidden_path guard (guard_path.c):
 * bash runs "cat /e{t,}c/passwd" as "cat /etc/passwd /ec/passwd", a path
 * no other reading of the guard shows. Follows bash 5.2: a brace expands
 * when it is unquoted, closed, and holds a comma at its own level or is a
 * sequence; the first such brace of a word (by its opening) expands, each
 * alternative recursively with the text before and after it; quotes,
 * backslashes, "${..}", "$(..)" and backticks hide what they hold. The
 * work is bounded (shell_braces.h). No state, no locks.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shell_braces.h"

#define MAX_LEVELS 64 /* braces expanded one inside another's result */
#define MAX_NEST   32 /* quoting constructs one inside another */

typedef struct brace_buf {
    char *buf;
    size_t len, cap;
    size_t work, limit; /* bytes scanned, built and written; their bound */
    int err;            /* 0, CHIO__BRACES_TOO_LARGE, CHIO__BRACES_NOMEM */
} brace_buf;

/* Count @k bytes of work; 0 (and the error set) past the bound. */
static int charge(brace_buf *b, size_t k)
{
    if (b->err != 0)
        return 0;
    if (k > b->limit - b->work) {
        b->err = CHIO__BRACES_TOO_LARGE;
        return 0;
    }
    b->work += k;
    return 1;
}

static void put(brace_buf *b, const char *s, size_t k)
{
    if (!charge(b, k))
        return;
    if (b->len + k + 1 > b->cap) {
        size_t cap = b->cap * 2 > b->len + k + 1 ? b->cap * 2 : b->len + k + 256;
        char *nb = realloc(b->buf, cap);
        if (nb == NULL) {
            b->err = CHIO__BRACES_NOMEM;
            return;
        }
        b->buf = nb;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, s, k);
    b->len += k;
    b->buf[b->len] = '\0';
}

static int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n';
}

/* Does an unquoted byte end a shell word: white space or an operator. */
static int word_sep(char c)
{
    return blank(c) || c == ';' || c == '|' || c == '&' || c == '<' || c == '>' || c == '(' ||
           c == ')';
}

/* The quote states: ' " ` and ANSI-C quoting $'..' (ANSI), in which a
 * backslash escapes the next byte; the parser turns "$'\''" into a
 * quoted "'" before any expansion (review 50). */
#define ANSI 'a'

/* Does @c close the quote @quoted? */
static int closes(char quoted, char c)
{
    return c == (quoted == ANSI ? '\'' : quoted);
}

/* Does an unquoted "$'" open ANSI-C quoting at s[@i]? */
static int ansi_at(const char *s, size_t n, size_t i)
{
    return s[i] == '$' && i + 1 < n && s[i + 1] == '\'';
}

/* Does "$(" start at s[@i]? */
static int dollar_paren(const char *s, size_t n, size_t i)
{
    return s[i] == '$' && i + 1 < n && s[i + 1] == '(';
}

/* One step of the quote state *@quoted at s[@i]: the bytes taken (2 for
 * a backslash and the byte it escapes, 2 for "$'", 1 for a quote that
 * opens or closes, 1 for any byte inside a quote), or 0 for an unquoted
 * byte that is not a quote, which the caller reads. A "$(" inside double
 * quotes is the caller's to see before this step. */
static size_t quote_step(const char *s, size_t n, size_t i, char *quoted)
{
    char c = s[i];

    if (c == '\\' && *quoted != '\'')
        return 2;
    if (*quoted != 0) {
        if (closes(*quoted, c))
            *quoted = 0;
        return 1;
    }
    if (ansi_at(s, n, i)) {
        *quoted = ANSI;
        return 2;
    }
    if (c == '"' || c == '\'' || c == '`') {
        *quoted = c;
        return 1;
    }
    return 0;
}

/* The end of a command or process substitution whose text starts at
 * s[@i] (after "$(", "<(" or ">("): the ')' that closes it at its own
 * level, quotes and escapes inside skipped; @n when none. */
static size_t subst_end(brace_buf *b, const char *s, size_t n, size_t i, int nest)
{
    size_t depth = 1;
    char quoted = 0;

    if (nest > MAX_NEST) {
        b->err = CHIO__BRACES_TOO_LARGE;
        return n;
    }
    while (i < n) {
        char c = s[i];
        size_t k;
        if (quoted == '"' && dollar_paren(s, n, i)) {
            i = subst_end(b, s, n, i + 2, nest + 1);
            continue;
        }
        if ((k = quote_step(s, n, i, &quoted)) != 0) {
            i += k;
            continue;
        }
        if (c == '(')
            depth++;
        else if (c == ')' && --depth == 0)
            return i + 1;
        i++;
    }
    return n;
}

/* bash's brace_gobbler: from s[@i], the index of the first unquoted byte
 * @want at level 0 ('{' that is not alone between white space or before
 * a '}'; ',' between alternatives; '}' only once a ',' or a ".." not
 * before a '}' stood at level 0 since @i), or @n when none. Quotes,
 * backslashes and substitutions hide what they hold; "${" opens a level
 * that cannot expand. */
static size_t gobble(brace_buf *b, const char *s, size_t n, size_t i, char want)
{
    size_t from = i;
    int level = 0, seps = want != '}';
    char quoted = 0;

    while (i < n) {
        char c = s[i];
        size_t k;
        if (c == '$' && i + 1 < n && s[i + 1] == '{' && quoted != '\'') {
            i += 2;
            level += quoted == 0;
            continue;
        }
        if (quoted == '"' && dollar_paren(s, n, i)) {
            i = subst_end(b, s, n, i + 2, 0);
            continue;
        }
        if ((k = quote_step(s, n, i, &quoted)) != 0) {
            i += k;
            continue;
        }
        if ((c == '$' || c == '<' || c == '>') && i + 1 < n && s[i + 1] == '(') {
            i = subst_end(b, s, n, i + 2, 0);
            continue;
        }
        if (c == want && level == 0 && seps > 0) {
            if (c == '{' && (i == 0 || blank(s[i - 1])) &&
                (i + 1 == n || blank(s[i + 1]) || s[i + 1] == '}')) {
                i++;
                continue;
            }
            charge(b, i - from);
            return i;
        }
        if (c == '{')
            level++;
        else if (c == '}' && level > 0)
            level--;
        else if (want == '}' && level == 0 &&
                 (c == ',' ||
                  (c == '.' && i + 1 < n && s[i + 1] == '.' && (i + 2 == n || s[i + 2] != '}'))))
            seps++;
        i++;
    }
    charge(b, n - from);
    return n;
}

/* The end of a stretch opened before s[@i] by @open ("${" or "$[")
 * that @close ends at its own level, quotes and escapes inside skipped
 * (a blank or an operator inside is part of the word). */
static size_t group_end(const char *s, size_t n, size_t i, char open, char close)
{
    size_t depth = 1;
    char quoted = 0;

    while (i < n) {
        char c = s[i];
        size_t k = quote_step(s, n, i, &quoted);
        if (k != 0) {
            i += k;
            continue;
        }
        if (c == open)
            depth++;
        else if (c == close && --depth == 0)
            return i + 1;
        i++;
    }
    return n;
}

/* The end of the word that starts at s[@i]: unquoted white space or an
 * operator, outside "$(..)", "${..}", "$[..]" and an extglob "@(..)". */
static size_t word_stop(brace_buf *b, const char *s, size_t n, size_t i)
{
    char quoted = 0;

    while (i < n) {
        char c = s[i];
        size_t k = quote_step(s, n, i, &quoted);
        if (k != 0)
            i += k;
        else if ((c == '$' || c == '<' || c == '>') && i + 1 < n && s[i + 1] == '(')
            i = subst_end(b, s, n, i + 2, 0);
        else if (c == '$' && i + 1 < n && (s[i + 1] == '{' || s[i + 1] == '['))
            i = group_end(s, n, i + 2, s[i + 1], s[i + 1] == '{' ? '}' : ']');
        else if (c == '(' && i > 0 && strchr("@!+*?", s[i - 1]) != NULL)
            i = subst_end(b, s, n, i + 1, 0); /* extglob, as bash -O extglob parses it */
        else if (word_sep(c))
            return i;
        else
            i++;
    }
    return n;
}

/* A signed decimal integer filling [@i, @e), or 0. */
static int parse_int(const char *s, size_t i, size_t e, intmax_t *v)
{
    int neg = 0;
    intmax_t x = 0;

    if (i < e && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i == e)
        return 0;
    for (; i < e; i++) {
        if (!isdigit((unsigned char)s[i]) || x > (INTMAX_MAX - (s[i] - '0')) / 10)
            return 0;
        x = x * 10 + (s[i] - '0');
    }
    *v = neg ? -x : x;
    return 1;
}

/* A sequence "x..y[..step]" filling [@i, @e): its ends, step (never 0),
 * zero-padded width (0 for none), whether of letters. */
typedef struct seq {
    intmax_t from, to, step;
    int width, letters;
} seq;

static int is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int padded(const char *s, size_t i, size_t e)
{
    if (i < e && (s[i] == '-' || s[i] == '+'))
        i++;
    return e - i > 1 && s[i] == '0';
}

static int parse_seq(const char *s, size_t i, size_t e, seq *q)
{
    const char *d1 = NULL, *d2 = NULL, *p;
    size_t a, b2 = e;

    for (p = s + i; p + 1 < s + e; p++)
        if (p[0] == '.' && p[1] == '.') {
            if (d1 == NULL)
                d1 = p;
            else if (d2 == NULL && p > d1 + 1)
                d2 = p;
            else
                return 0;
            p++;
        }
    if (d1 == NULL)
        return 0;
    a = (size_t)(d1 - s);
    if (d2 != NULL)
        b2 = (size_t)(d2 - s);
    q->step = 1;
    if (d2 != NULL && !parse_int(s, b2 + 2, e, &q->step))
        return 0;
    if (q->step == INTMAX_MIN)
        return 0;
    q->step = q->step < 0 ? -q->step : q->step == 0 ? 1 : q->step;
    q->letters = a - i == 1 && b2 - a == 3 && is_letter(s[i]) && is_letter(s[a + 2]);
    q->width = 0;
    if (q->letters) {
        q->from = (unsigned char)s[i];
        q->to = (unsigned char)s[a + 2];
        return 1;
    }
    if (!parse_int(s, i, a, &q->from) || !parse_int(s, a + 2, b2, &q->to))
        return 0;
    if (padded(s, i, a) || padded(s, a + 2, b2))
        q->width = (int)(a - i > b2 - a - 2 ? a - i : b2 - a - 2);
    return 1;
}

/* A list of strings, each the bytes up to its end offset. */
typedef struct strs {
    char *buf;
    size_t len, cap;
    size_t *end;
    size_t n, ncap;
} strs;

static void strs_free(strs *l)
{
    free(l->buf);
    free(l->end);
}

static int grow(brace_buf *b, void **p, size_t *cap, size_t need, size_t elem)
{
    size_t nc;
    void *np;

    if (need <= *cap)
        return 1;
    nc = *cap * 2 > need ? *cap * 2 : need + 64;
    if ((np = realloc(*p, nc * elem)) == NULL) {
        b->err = CHIO__BRACES_NOMEM;
        return 0;
    }
    *p = np;
    *cap = nc;
    return 1;
}

static const char *strs_at(const strs *l, size_t k, size_t *len)
{
    size_t from = k > 0 ? l->end[k - 1] : 0;

    *len = l->end[k] - from;
    return l->buf != NULL ? l->buf + from : ""; /* NULL while every string is empty */
}

/* Add @a @m @z joined as one string. */
static void strs_add(brace_buf *b, strs *l, const char *a, size_t an, const char *m, size_t mn,
                     const char *z, size_t zn)
{
    size_t k = an + mn + zn;

    if (!charge(b, k + 1) || !grow(b, (void **)&l->buf, &l->cap, l->len + k, 1) ||
        !grow(b, (void **)&l->end, &l->ncap, l->n + 1, sizeof(size_t)))
        return;
    if (an > 0)
        memcpy(l->buf + l->len, a, an);
    if (mn > 0)
        memcpy(l->buf + l->len + an, m, mn);
    if (zn > 0)
        memcpy(l->buf + l->len + an + mn, z, zn);
    l->len += k;
    l->end[l->n++] = l->len;
}

static void expand(brace_buf *b, const char *t, size_t tn, int level, strs *out);

/* Each of @pre @mid @post's expansions, joined, added to @out. */
static void add_joined(brace_buf *b, const char *pre, size_t pn, const strs *mids,
                       const strs *posts, strs *out)
{
    size_t i, j, mn, sn;
    const char *m, *z;

    for (i = 0; i < mids->n && b->err == 0; i++)
        for (m = strs_at(mids, i, &mn), j = 0; j < posts->n && b->err == 0; j++)
            z = strs_at(posts, j, &sn), strs_add(b, out, pre, pn, m, mn, z, sn);
}

/* The items of a sequence, each a string of @items. */
static void seq_items(brace_buf *b, const seq *q, strs *items)
{
    intmax_t v = q->from;
    char item[48];
    int n;

    for (; b->err == 0;) {
        if (q->letters) {
            item[0] = (char)v;
            n = 1;
        } else {
            n = snprintf(item, sizeof(item), "%0*jd", q->width, v);
        }
        strs_add(b, items, item, (size_t)n, NULL, 0, NULL, 0);
        if (v == q->to)
            return;
        /* the distance left, in unsigned arithmetic: no overflow */
        if (q->from < q->to) {
            if ((uintmax_t)q->to - (uintmax_t)v < (uintmax_t)q->step)
                return;
            v += q->step;
        } else {
            if ((uintmax_t)v - (uintmax_t)q->to < (uintmax_t)q->step)
                return;
            v -= q->step;
        }
    }
}

/* Does the amble [@i, @e) hold a ',' not after a backslash (bash's test,
 * blind to quotes and levels)? */
static int raw_comma(const char *t, size_t i, size_t e)
{
    for (; i < e; i++) {
        if (t[i] == '\\')
            i++;
        else if (t[i] == ',')
            return 1;
    }
    return 0;
}

/* The alternatives of the amble [@i, @e), each expanded, into @alts. */
static void expand_amble(brace_buf *b, const char *t, size_t i, size_t e, int level, strs *alts)
{
    size_t j;

    for (;;) {
        j = gobble(b, t + i, e - i, 0, ',') + i;
        expand(b, t + i, j - i, level + 1, alts);
        if (j >= e || b->err != 0)
            return;
        i = j + 1;
    }
}

/* bash's brace_expand of the word @t (@tn bytes): each of its
 * expansions added to @out. */
static void expand(brace_buf *b, const char *t, size_t tn, int level, strs *out)
{
    strs mids = {0}, posts = {0};
    size_t i = 0, j;
    seq q;

    if (level > MAX_LEVELS) {
        b->err = CHIO__BRACES_TOO_LARGE;
        return;
    }
    for (;;) {
        /* each try is charged: unmatched braces end at the bound */
        if ((i = gobble(b, t, tn, i, '{')) >= tn || b->err != 0) {
            strs_add(b, out, t, tn, NULL, 0, NULL, 0);
            return;
        }
        if ((j = gobble(b, t, tn, i + 1, '}')) < tn || b->err != 0)
            break;
        i++;
    }
    if (b->err != 0)
        return;
    if (raw_comma(t, i + 1, j)) {
        expand_amble(b, t, i + 1, j, level, &mids);
    } else if (parse_seq(t, i + 1, j, &q)) {
        seq_items(b, &q, &mids);
    } else {
        /* neither: the brace stays as written, the rest expands */
        strs_add(b, &mids, t + i, j + 1 - i, NULL, 0, NULL, 0);
    }
    expand(b, t + j + 1, tn - j - 1, level + 1, &posts);
    add_joined(b, t, i, &mids, &posts, out);
    strs_free(&mids);
    strs_free(&posts);
}

int chio__shell_brace_expand(const char *s, size_t n, char **out, size_t *len)
{
    brace_buf b = {NULL, 0, 0, 0, ((size_t)1 << 20) + (n < SIZE_MAX / 16 ? 8 * n : SIZE_MAX / 2),
                   0};
    size_t i = 0, e, done = 0, k, wl;
    int any = 0;

    *out = NULL;
    *len = 0;
    if (memchr(s, '{', n) == NULL || memchr(s, '}', n) == NULL)
        return 0;
    while (i < n && b.err == 0) {
        strs words = {0};
        if (word_sep(s[i])) {
            i++;
            continue;
        }
        e = word_stop(&b, s, n, i);
        if (memchr(s + i, '{', e - i) != NULL && memchr(s + i, '}', e - i) != NULL) {
            expand(&b, s + i, e - i, 0, &words);
            /* a word that expands to itself alone: nothing to add */
            if (b.err == 0 && !(words.n == 1 && words.len == e - i)) {
                put(&b, s + done, i - done);
                for (k = 0; k < words.n && b.err == 0; k++) {
                    const char *w = strs_at(&words, k, &wl);
                    put(&b, w, wl);
                    put(&b, " ", 1);
                }
                done = e;
                any = 1;
            }
            strs_free(&words);
        }
        i = e;
    }
    if (b.err == 0 && any)
        put(&b, s + done, n - done);
    if (b.err != 0 || !any) {
        free(b.buf);
        return b.err;
    }
    *out = b.buf;
    *len = b.len;
    return 1;
}
