/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/guard_scan.c - the matching of the secret_leak guard (see
 * guard_scan.h): walking every string and key of a JSON value, and the
 * readings of a string a secret scanner must look at (folded forms, JSON
 * held in it too), searched by the kernel's bounded automaton
 * (regex_nfa.c) within a work bound per call. The forbidden_path guard's
 * matching is guard_path.c's.
 * Uses core/normalize.h. No state, no locks; scratch space is on the
 * stack for short strings and malloc'ed (and freed) for long ones.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "constraint_domain.h"
#include "guard_scan.h"
#include "internal.h"
#include "kernel_internal.h"
#include "normalize.h"
#include "regex_nfa.h"
#include "shell_ansi.h"
#include "shell_assign.h"
#include "shell_braces.h"
#include "shell_words.h"

/* ---- walking ---------------------------------------------------------------------------- */

size_t chio__number_text(const chio_json *v, char out[32])
{
    int64_t i;
    uint64_t u;
    double d;

    switch (chio_json_typeof(v)) {
    case CHIO_JSON_INT:
        chio_json_get_int64(v, &i);
        return (size_t)snprintf(out, 32, "%lld", (long long)i);
    case CHIO_JSON_UINT:
        chio_json_get_uint64(v, &u);
        return (size_t)snprintf(out, 32, "%llu", (unsigned long long)u);
    case CHIO_JSON_DOUBLE:
        chio_json_get_double(v, &d);
        return chio__fmt_double(d, out);
    default:
        return 0;
    }
}

typedef int (*text_fn)(void *, chio__key *, const char *, size_t, int);

/* Each member's key is handed to @fn as one chio__key for all the leaves
 * under it, so what the key names is read once per member; its @up is the
 * enclosing member's key (what that names is said of these leaves too). */
static int each_text(const chio_json *v, chio__key *key, int numbers, text_fn fn, void *ctx)
{
    size_t i, n, len;
    const char *s;
    char num[32];
    int rc;

    switch (chio_json_typeof(v)) {
    case CHIO_JSON_STRING:
        s = chio_json_string(v, &len);
        return fn(ctx, key, s, len, 0);
    case CHIO_JSON_INT:
    case CHIO_JSON_UINT:
    case CHIO_JSON_DOUBLE:
        if (!numbers)
            return 0;
        len = chio__number_text(v, num);
        return fn(ctx, key, num, len, 0);
    case CHIO_JSON_ARRAY:
        n = chio_json_size(v);
        for (i = 0; i < n; i++)
            if ((rc = each_text(chio_json_at(v, i), key, numbers, fn, ctx)) != 0)
                return rc;
        return 0;
    case CHIO_JSON_OBJECT:
        n = chio_json_size(v);
        for (i = 0; i < n; i++) {
            chio__key none = {NULL, 0, 0, NULL}, member = {NULL, 0, 0, key};
            member.name = chio_json_key_at(v, i, &len);
            if ((rc = fn(ctx, &none, member.name, len, 1)) != 0)
                return rc;
            if ((rc = each_text(chio_json_at(v, i), &member, numbers, fn, ctx)) != 0)
                return rc;
        }
        return 0;
    default:
        return 0;
    }
}

int chio__each_text(const chio_json *v, int numbers,
                    int (*fn)(void *ctx, chio__key *key, const char *s, size_t n, int is_key),
                    void *ctx)
{
    chio__key top = {NULL, 0, 0, NULL};

    return each_text(v, &top, numbers, fn, ctx);
}

int chio__each_text_under(const chio_json *v, chio__key *key, int numbers,
                          int (*fn)(void *ctx, chio__key *key, const char *s, size_t n, int is_key),
                          void *ctx)
{
    return each_text(v, key, numbers, fn, ctx);
}

/* ---- secret_leak -------------------------------------------------------------------------- */

int chio__is_secret_guard(const chio__guard_reg *g)
{
    return g->builtin && g->regexes != NULL;
}

#define DECODE_MAX  CHIO__SECRET_DECODE_MAX
#define FORMS_MAX   (DECODE_MAX + 2) /* as written, folded, the unescape-and-fold rounds */
#define FORMS_STACK 1024

typedef struct forms {
    const char *f[FORMS_MAX];
    size_t n[FORMS_MAX]; /* their lengths */
    size_t nf;
    int deep; /* one more round would still change the last reading */
    char *heap;
    char stack[FORMS_STACK];
} forms;

/* Only bytes >= 0x80, NUL and the escape introducers '%', '\\' and '&'
 * can make another reading differ. */
static int plain_ascii(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80 || c == 0 || c == '%' || c == '\\' || c == '&')
            return 0;
    }
    return 1;
}

static int forms_build(forms *fm, const char *s, size_t n)
{
    const char *prev = s;
    size_t prevlen = n, len, need, round;
    char *cur;

    fm->f[0] = s;
    fm->n[0] = n;
    fm->nf = 1;
    fm->deep = 0;
    fm->heap = NULL;
    if (plain_ascii(s, n))
        return 0; /* the common case: one reading, no scratch */
    /* the folded reading, the rounds and one more to tell a deeper one */
    need = (DECODE_MAX + 2) * (n + 1);
    if (need <= sizeof(fm->stack)) {
        cur = fm->stack;
    } else {
        if ((fm->heap = malloc(need)) == NULL)
            return CHIO_ENOMEM;
        cur = fm->heap;
    }
    len = chio__text_fold_spaces(s, n, cur);
    if (len != n || memcmp(cur, s, n) != 0) {
        fm->n[fm->nf] = len;
        fm->f[fm->nf++] = cur;
        prev = cur;
        prevlen = len;
        cur += len + 1;
    }
    /* Each round undoes one layer of %XX, \\uXXXX / \\u{..} / \\U / %uXXXX,
     * \\xHH, \\NNN and &#NN; escapes, then folds again; it stops when nothing changes. A round
     * past the last one that still changes something means the readings
     * stop short of the text a tool decoding further would see. */
    for (round = 0; round <= DECODE_MAX; round++) {
        len = chio__percent_decode(prev, prevlen, cur);
        len = chio__text_unescape(cur, len, cur);
        len = chio__text_fold_spaces(cur, len, cur);
        if (len == prevlen && memcmp(cur, prev, len) == 0)
            break;
        if (round == DECODE_MAX) {
            fm->deep = 1;
            break;
        }
        fm->n[fm->nf] = len;
        fm->f[fm->nf++] = cur;
        prev = cur;
        prevlen = len;
        cur += len + 1;
    }
    return 0;
}

void chio__secret_work_destroy(chio__secret_work *w)
{
    size_t i;

    for (i = 0; i < w->nruns; i++)
        chio__nfa_run_destroy(&w->runs[i]);
    free(w->runs);
    memset(w, 0, sizeof(*w));
}

/* The patterns of the secret guards among @guards[0..n). */
static size_t secret_patterns(const chio__guard_reg *guards, size_t n)
{
    size_t gi, np = 0;

    for (gi = 0; gi < n; gi++)
        if (chio__is_secret_guard(&guards[gi]))
            np += guards[gi].nregexes;
    return np;
}

/* The first secret_leak guard with a pattern among @guards[0..n), or @n
 * (no guard looks for anything). */
static size_t first_looking(const chio__guard_reg *guards, size_t n)
{
    size_t gi;

    for (gi = 0; gi < n; gi++)
        if (chio__is_secret_guard(&guards[gi]) && guards[gi].nregexes > 0)
            break;
    return gi;
}

/* Make @w's search state (one run per pattern) and its base budget. */
static int work_ready(chio__secret_work *w, const chio__guard_reg *guards, size_t n)
{
    size_t gi, p, np = secret_patterns(guards, n);

    if (w->ready)
        return 0;
    if ((w->runs = calloc(np ? np : 1, sizeof(*w->runs))) == NULL)
        return CHIO_ENOMEM;
    for (gi = 0; gi < n; gi++) {
        const chio__guard_reg *g = &guards[gi];
        if (!chio__is_secret_guard(g))
            continue;
        for (p = 0; p < g->nregexes; p++, w->nruns++)
            if (chio__nfa_run_init(&w->runs[w->nruns], g->regexes[p], 0) != 0)
                return CHIO_ENOMEM; /* the runs made so far: chio__secret_work_destroy */
    }
    w->left = (uint64_t)np * CHIO__SECRET_WORK_BASE;
    w->ready = 1;
    return 0;
}

/* Add to @w what reading @fm allows: so many steps per byte and per
 * reading, for each pattern (saturating). */
static void work_allow(chio__secret_work *w, const forms *fm)
{
    uint64_t bytes = 0, add;
    size_t f;

    for (f = 0; f < fm->nf; f++)
        bytes += fm->n[f] + 1;
    add = bytes * CHIO__SECRET_WORK_BYTE;
    if (w->nruns > 0 && add > UINT64_MAX / w->nruns)
        add = UINT64_MAX;
    else
        add *= w->nruns;
    w->left = add > UINT64_MAX - w->left ? UINT64_MAX : w->left + add;
}

/* Search every reading of @fm with pattern run @run from @w's work: 1 on
 * a match, 0 on none, CHIO_ELIMIT when the work is spent. */
static int search_forms(chio__secret_work *w, chio__nfa_run *run, const forms *fm)
{
    size_t f;
    int rc = 0;

    for (f = 0; f < fm->nf && rc == 0; f++) {
        /* the search stops at a NUL, as regexec did; the folded readings
         * carry none, so it reads all of them */
        run->work = w->left;
        rc = chio__nfa_run_search(run, fm->f[f], fm->n[f]);
        w->left = run->work;
    }
    return rc;
}

static int scan_forms(const chio__guard_reg *guards, size_t n, const forms *fm,
                      chio__secret_work *w, size_t *guard, size_t *pattern)
{
    size_t gi, p, q = 0, first = n;
    int rc;

    for (gi = 0; gi < n; gi++) {
        const chio__guard_reg *g = &guards[gi];
        if (!chio__is_secret_guard(g))
            continue;
        if (first == n && g->nregexes > 0)
            first = gi; /* a guard with no pattern looks for nothing */
        for (p = 0; p < g->nregexes; p++, q++) {
            rc = search_forms(w, &w->runs[q], fm);
            if (rc != 0) {
                *guard = gi;
                *pattern = rc == 1 ? p : CHIO__SECRET_TOO_COSTLY;
                return 1;
            }
        }
    }
    if (fm->deep && first < n) { /* not read to the end: fail closed */
        *guard = first;
        *pattern = CHIO__SECRET_TOO_DEEP;
        return 1;
    }
    return 0;
}

static int secret_scan_at(const chio__guard_reg *guards, size_t n, const char *s, size_t len,
                          chio__secret_work *w, size_t *guard, size_t *pattern, int depth);

/* One scan of the strings of JSON held in a string (embedded_secrets). */
typedef struct secret_embedded {
    const chio__guard_reg *guards;
    size_t n;
    chio__secret_work *w;
    size_t *guard, *pattern;
    int depth; /* layers of such JSON above these strings */
} secret_embedded;

static int secret_embedded_leaf(void *ctx, chio__key *key, const char *s, size_t len, int is_key)
{
    secret_embedded *es = ctx;

    (void)key;
    (void)is_key;
    return secret_scan_at(es->guards, es->n, s, len, es->w, es->guard, es->pattern, es->depth);
}

/* Whether JSON our reader refused in @s (@n bytes) may be left to the
 * scan as written: only a syntax error (Python's NaN or Infinity; also
 * running text such as "[Infinity war]"). JSON that is well-formed but
 * cannot be read one way (a duplicate key, a lone surrogate escape, 1e400,
 * nesting past our bound, no memory) is a value a tool reads whole, which
 * an anchored pattern could not see: flagged, as one nested too deep is
 * (review 47, second pass). */
static int lenient_text(const char *s, size_t n)
{
    chio_json_doc *doc = NULL;
    int rc = chio_json_parse(s, n, &doc, NULL);

    chio_json_doc_free(doc);
    return rc == CHIO_EJSON_SYNTAX;
}

/* Python's json module also reads NaN, Infinity and -Infinity as numbers,
 * so "[NaN,\"AKIA...\"]" is an array holding the key to a Python tool,
 * where our reader sees a syntax error. Into *@out (malloc'd, @n bytes)
 * goes a copy of @s with each such literal outside a string replaced by
 * "0" and spaces, which reads as Python reads the strings of @s: 1 when
 * one was replaced, 0 when @s holds none (*@out NULL), CHIO_ENOMEM. */
static int python_literals(const char *s, size_t n, char **out)
{
    static const char *const lit[] = {"-Infinity", "Infinity", "NaN"};
    size_t i, j, l;
    int in_str = 0, found = 0;
    char *c;

    *out = NULL;
    if ((c = malloc(n ? n : 1)) == NULL)
        return CHIO_ENOMEM;
    memcpy(c, s, n);
    for (i = 0; i < n; i++) {
        if (in_str) {
            if (c[i] == '\\')
                i++;
            else if (c[i] == '"')
                in_str = 0;
            continue;
        }
        if (c[i] == '"') {
            in_str = 1;
            continue;
        }
        for (j = 0; j < sizeof(lit) / sizeof(lit[0]); j++) {
            l = strlen(lit[j]);
            if (n - i >= l && memcmp(c + i, lit[j], l) == 0) {
                memset(c + i, ' ', l);
                c[i] = '0';
                i += l - 1;
                found = 1;
                break;
            }
        }
    }
    if (!found) {
        free(c);
        return 0;
    }
    *out = c;
    return 1;
}

/* A string that is itself a JSON object or array (a body or options a
 * tool parses: "[\"AKIA...\"]") is scanned as the strings, keys and
 * numbers it holds too, each whole: an anchored pattern
 * ("^AKIA[0-9A-Z]{16}$") holds for a member the tool reads, not for the
 * text around it (review 47). Up to CHIO__EMBEDDED_MAX layers, as the
 * constraints read such JSON; one more is flagged as too deep to scan.
 * JSON that cannot be read one way (a duplicate key, a lone surrogate,
 * 1e400) is flagged too (lenient_text); JSON only Python reads (NaN,
 * Infinity) is read as Python reads it (python_literals); any other
 * syntax error (running text) is text, scanned as written only. 1 when flagged (@guard, @pattern
 * set), else 0 or CHIO_ENOMEM. */
static int embedded_secrets(const chio__guard_reg *guards, size_t n, const char *s, size_t len,
                            chio__secret_work *w, size_t *guard, size_t *pattern, int depth)
{
    secret_embedded es = {guards, n, w, guard, pattern, depth + 1};
    chio_json_doc *doc = NULL;
    char *py = NULL;
    int rc = chio__embedded_parse(s, len, depth, &doc);
    size_t gi;

    /* A syntax error that is JSON to Python (NaN, Infinity): read as
     * Python reads it (review 48; it was text, scanned as written only) */
    if (rc == CHIO__EMBEDDED_AMBIGUOUS && depth < CHIO__EMBEDDED_MAX && lenient_text(s, len)) {
        int made = python_literals(s, len, &py);
        if (made < 0)
            return made;
        if (made == 1) {
            s = py;
            rc = chio__embedded_parse(s, len, depth, &doc);
        }
    }
    if (rc == CHIO__EMBEDDED_AMBIGUOUS && (depth >= CHIO__EMBEDDED_MAX || !lenient_text(s, len))) {
        free(py);
        if ((gi = first_looking(guards, n)) == n)
            return 0; /* no guard with a pattern looks for anything */
        *guard = gi;
        *pattern = depth >= CHIO__EMBEDDED_MAX ? CHIO__SECRET_TOO_DEEP : CHIO__SECRET_AMBIGUOUS;
        return 1;
    }
    if (rc != 1) {
        free(py);
        return 0;
    }
    rc = chio__each_text(chio_json_root(doc), 1, secret_embedded_leaf, &es);
    chio_json_doc_free(doc);
    free(py);
    return rc;
}

/* One reading @s of a string searched in every form (forms_build): 1
 * when flagged (@guard, @pattern set), else 0 or CHIO_ENOMEM. */
static int scan_reading(const chio__guard_reg *guards, size_t n, const char *s, size_t len,
                        chio__secret_work *w, size_t *guard, size_t *pattern)
{
    forms fm;
    int rc;

    if (forms_build(&fm, s, len) != 0)
        return CHIO_ENOMEM;
    rc = work_ready(w, guards, n);
    if (rc == 0) {
        work_allow(w, &fm);
        rc = scan_forms(guards, n, &fm, w, guard, pattern);
    }
    free(fm.heap);
    return rc;
}

/* What the shell readings of one string are searched with. */
typedef struct shell_scan {
    const chio__guard_reg *guards;
    size_t n;
    chio__secret_work *w;
    size_t *guard, *pattern;
    int again; /* levels of a second shell's reading left (shell_secrets_at) */
} shell_scan;

/* Levels of text a further shell reads ("bash -c '...'", a command
 * substitution, eval) that the scanner reads again. */
#define SHELL_AGAIN 2

static int shell_reading(void *ctx, const char *t, size_t len)
{
    shell_scan *ss = ctx;
    return scan_reading(ss->guards, ss->n, t, len, ss->w, ss->guard, ss->pattern);
}

static int shell_empty_reading(void *ctx, const char *t, size_t len, unsigned flags)
{
    shell_scan *ss = ctx;
    size_t gi;

    /* expansions nested past what is followed: what it did not drop may
     * hide a key, as one more decoding round may (fail closed). A
     * here-document past the reading's limits is not: its text is
     * scanned as written, and code with many "<<" (C++ streams) is no
     * secret (review 14) */
    if ((flags & CHIO__EMPTY_NESTED_DEEP) && (gi = first_looking(ss->guards, ss->n)) < ss->n) {
        *ss->guard = gi;
        *ss->pattern = CHIO__SECRET_SHELL_DEEP;
        return 1;
    }
    return shell_reading(ctx, t, len);
}

/* The shell readings of @s (@len bytes), each searched in every form:
 * quote and backslash removal (chio__shell_reading: AKIA"", AKIA\\),
 * ANSI-C strings decoded (chio__shell_each_ansi_reading: $'\\101'KIA)
 * and every expansion read empty (chio__shell_each_empty_reading:
 * AKIA${x}, AKIA$(:)). */
static int shell_readings(shell_scan *ss, const char *s, size_t len)
{
    char stack[256], *heap = NULL;
    const char *r;
    size_t rl;
    int rc = 0;

    if (chio__shell_may_differ(s, len)) {
        if ((r = chio__shell_reading(s, len, stack, sizeof(stack), &heap, &rl)) == NULL)
            return CHIO_ENOMEM;
        if (rl != len || memcmp(r, s, len) != 0)
            rc = scan_reading(ss->guards, ss->n, r, rl, ss->w, ss->guard, ss->pattern);
        free(heap);
    }
    if (rc == 0 && chio__shell_has_ansi(s, len))
        rc = chio__shell_each_ansi_reading(s, len, shell_reading, ss);
    if (rc == 0 && chio__shell_has_expansion(s, len))
        rc = chio__shell_each_empty_reading(s, len, 0, CHIO__EMPTY_REWIND, shell_empty_reading, ss);
    return rc;
}

/* @s with its braces expanded as bash expands them, searched as written
 * and in every shell reading. An expansion past its bounds flags the
 * string (CHIO__SECRET_BRACES_LARGE), except when @whole is a JSON object
 * or array, which bash splits at its commas into fragments the other
 * readings search whole (as the forbidden_path guard reads them). */
static int expanded_secrets(shell_scan *ss, const char *whole, size_t wn, const char *s, size_t len)
{
    char *e = NULL;
    size_t el, gi;
    chio_json_doc *doc = NULL;
    int rc = chio__shell_brace_expand(s, len, &e, &el);

    if (rc == CHIO__BRACES_NOMEM)
        return CHIO_ENOMEM;
    if (rc == CHIO__BRACES_TOO_LARGE) {
        rc = chio_json_parse(whole, wn, &doc, NULL);
        chio_json_doc_free(doc);
        if (rc == 0 || (gi = first_looking(ss->guards, ss->n)) >= ss->n)
            return 0;
        *ss->guard = gi;
        *ss->pattern = CHIO__SECRET_BRACES_LARGE;
        return 1;
    }
    if (rc != 1)
        return 0;
    rc = scan_reading(ss->guards, ss->n, e, el, ss->w, ss->guard, ss->pattern);
    if (rc == 0)
        rc = shell_readings(ss, e, el);
    free(e);
    return rc;
}

/* Braces as bash expands them (review 14: "curl -d AKIA{,}IOSF..." and
 * "AKIA{I..I}OSF..." give curl the key), with the other shell readings
 * over the expansion (review 15: "AKIA{I,}${x}OSF..."); and, as the
 * forbidden_path guard guesses, the braces a shell that reads the text
 * again expands: quotes removed and the markers of each substitution
 * blanks ("$(echo AKIA{I,}OSF...)", "bash -c '... AKIA{I,}OSF...'"). */
static int brace_secrets(shell_scan *ss, const char *s, size_t len)
{
    char stack[256], *heap = NULL, *t;
    size_t dl;
    int rc = expanded_secrets(ss, s, len, s, len);

    if (rc != 0 || (!chio__shell_may_differ(s, len) && memchr(s, '`', len) == NULL))
        return rc;
    if ((t = chio__shell_guess_text(s, len, stack, sizeof(stack), &heap, &dl)) == NULL)
        return CHIO_ENOMEM;
    if (memchr(t, '{', dl) != NULL && (dl != len || memcmp(t, s, len) != 0))
        rc = expanded_secrets(ss, s, len, t, dl);
    free(heap);
    return rc;
}

static int shell_secrets_at(shell_scan *ss, const char *s, size_t len, int again);

/* A first reading read again by a second shell (shell_secrets_at). */
static int second_shell(void *ctx, const char *t, size_t len)
{
    shell_scan *ss = ctx;

    return shell_secrets_at(ss, t, len, ss->again);
}

/* The text of each command substitution of @s ("$(...)", "`...`"; the
 * outermost, its parentheses counted), which a shell runs: read as a
 * value of its own by @fn. */
static int each_substitution(const char *s, size_t len, int (*fn)(void *, const char *, size_t),
                             void *ctx)
{
    size_t i = 0, j, depth;
    int rc = 0;

    while (rc == 0 && i + 1 < len) {
        if (s[i] == '$' && s[i + 1] == '(') {
            for (j = i + 2, depth = 1; j < len && depth > 0; j++)
                depth += s[j] == '(' ? 1 : s[j] == ')' ? (size_t)-1 : 0;
            rc = fn(ctx, s + i + 2, (depth == 0 ? j - 1 : j) - (i + 2));
            i = j;
        } else if (s[i] == '`') {
            for (j = i + 1; j < len && s[j] != '`'; j++)
                ;
            rc = fn(ctx, s + i + 1, j - (i + 1));
            i = j + 1;
        } else {
            i++;
        }
    }
    return rc;
}

/* @s as a shell hands it to the tool (review 12, F3): "curl -d
 * AKIA''IOSF..." gives curl the key. The readings the forbidden_path
 * guard makes (guard_path.c): shell_readings, and braces expanded
 * (brace_secrets). With @again (levels left), the text a second shell
 * reads ("bash -c '... AKIAI$(:)OSF...'", eval, a here-string: @s with
 * its quotes removed, as a plain shell and as bash read them, ANSI-C
 * strings decoded; and the commands a substitution runs) is read so once
 * more (review 16). A reading that could not be finished (expansions
 * nested past what it follows) flags the string, CHIO__SECRET_SHELL_DEEP.
 * 1 when flagged, else 0 or CHIO_ENOMEM. */
static int shell_secrets_at(shell_scan *ss, const char *s, size_t len, int again)
{
    char stack[256], *heap = NULL;
    const char *r;
    size_t rl;
    int rc = shell_readings(ss, s, len), outer = ss->again;

    if (rc == 0 && memchr(s, '{', len) != NULL)
        rc = brace_secrets(ss, s, len);
    if (rc != 0 || again == 0 || (!chio__shell_may_differ(s, len) && memchr(s, '`', len) == NULL))
        return rc;
    ss->again = again - 1;
    if ((r = chio__shell_reading(s, len, stack, sizeof(stack), &heap, &rl)) == NULL)
        rc = CHIO_ENOMEM;
    else if (rl != len || memcmp(r, s, len) != 0)
        rc = shell_secrets_at(ss, r, rl, again - 1);
    free(heap);
    if (rc == 0)
        rc = chio__shell_each_ansi_reading(s, len, second_shell, ss);
    if (rc == 0 && (memchr(s, '`', len) != NULL || memmem(s, len, "$(", 2) != NULL))
        rc = each_substitution(s, len, second_shell, ss);
    ss->again = outer;
    return rc;
}

/* The assignments of one name a reading keeps a value from (above that,
 * only the latest), and the bytes of those readings read beyond the
 * latest one: as the forbidden_path guard reads them (guard_path.c). */
#define ASSIGN_PICKS    8
#define ASSIGN_READ_MAX ((size_t)8 << 20)

/* A reading past its bound: the string is flagged for the first guard
 * that looks for secrets (CHIO__SECRET_ASSIGN_LARGE), 1; 0 when none
 * does. */
static int too_large(shell_scan *ss)
{
    size_t gi = first_looking(ss->guards, ss->n);

    if (gi >= ss->n)
        return 0;
    *ss->guard = gi;
    *ss->pattern = CHIO__SECRET_ASSIGN_LARGE;
    return 1;
}

/* @s with the variables it assigns in place of their references
 * (chio__shell_assigned_reading: "x=IOSF; curl -d AKIA${x}ODNN7EXAMPLE"
 * gives curl the key; review 20 F10), each reading searched as written
 * and in the shell readings, as the forbidden_path guard reads the same
 * (each name's latest value, then kept from its first, second ..
 * assignment on). A reading past its bound flags the string,
 * CHIO__SECRET_ASSIGN_LARGE. */
static int assigned_one(shell_scan *ss, const char *s, size_t len)
{
    char *d, *latest = NULL;
    size_t dl, latest_len = 0, read = 0;
    unsigned most = 0;
    int rc = 0, pick;

    if (memchr(s, '$', len) == NULL)
        return 0;
    for (pick = -1; rc == 0 && pick < ASSIGN_PICKS && (pick < 0 || (unsigned)pick + 1 < most);
         pick++) {
        rc = chio__shell_assigned_reading(s, len, pick, &d, &dl, &most);
        if (rc == 1 && latest != NULL && dl == latest_len && memcmp(d, latest, dl) == 0) {
            free(d);
            rc = 0;
            continue;
        }
        if (rc == CHIO_ETOOBIG || (rc == 1 && pick >= 0 && (read += dl) > ASSIGN_READ_MAX)) {
            if (rc == 1)
                free(d);
            rc = too_large(ss);
            break;
        }
        if (rc == 1) {
            rc = scan_reading(ss->guards, ss->n, d, dl, ss->w, ss->guard, ss->pattern);
            if (rc == 0)
                rc = shell_secrets_at(ss, d, dl, 0);
        }
        if (pick < 0) {
            latest = d;
            latest_len = dl;
        } else {
            free(d);
        }
    }
    free(latest);
    return rc;
}

/* assigned_one over the value, then over the text a second shell reads
 * (chio__shell_inner_text; review 21 F4: "bash -c 'x=IOSF; curl -d
 * AKIA${x}ODNN7EXAMPLE ..'", "sh -c '.. AKIA${1}..' _ IOSF"). */
static int assigned_secrets(shell_scan *ss, const char *s, size_t len)
{
    char *t;
    size_t tl;
    int rc = assigned_one(ss, s, len);

    if (rc != 0 || memchr(s, '$', len) == NULL)
        return rc;
    if ((rc = chio__shell_inner_text(s, len, &t, &tl)) == CHIO_ETOOBIG)
        return too_large(ss); /* "$0" filled in past the bound */
    if (rc != 1 && rc != 2)
        return rc;
    if (rc == 2) /* "$0" filled in: the text as it stands */
        rc = scan_reading(ss->guards, ss->n, t, tl, ss->w, ss->guard, ss->pattern);
    else
        rc = 0;
    if (rc == 0)
        rc = assigned_one(ss, t, tl);
    free(t);
    return rc;
}

static int shell_secrets(const chio__guard_reg *guards, size_t n, const char *s, size_t len,
                         chio__secret_work *w, size_t *guard, size_t *pattern)
{
    shell_scan ss = {guards, n, w, guard, pattern, 0};
    int rc = shell_secrets_at(&ss, s, len, SHELL_AGAIN);

    return rc == 0 ? assigned_secrets(&ss, s, len) : rc;
}

static int secret_scan_at(const chio__guard_reg *guards, size_t n, const char *s, size_t len,
                          chio__secret_work *w, size_t *guard, size_t *pattern, int depth)
{
    int rc = scan_reading(guards, n, s, len, w, guard, pattern);

    if (rc == 0)
        rc = shell_secrets(guards, n, s, len, w, guard, pattern);
    if (rc == 0)
        rc = embedded_secrets(guards, n, s, len, w, guard, pattern, depth);
    return rc;
}

int chio__secret_named_n(const struct chio_kernel *k, const char *s, size_t len)
{
    size_t gi, pi;

    /* nonzero is a match or a search that could not finish: both flag */
    return len > 0 && k->med.nguards > 0 &&
           chio__secret_scan(k->med.guards, k->med.nguards, s, len, NULL, &gi, &pi) != 0;
}

int chio__secret_named(const struct chio_kernel *k, const char *s)
{
    return s != NULL && chio__secret_named_n(k, s, strlen(s));
}

int chio__secret_scan(const chio__guard_reg *guards, size_t n, const char *s, size_t len,
                      chio__secret_work *w, size_t *guard, size_t *pattern)
{
    chio__secret_work own = {0};
    size_t gi;
    int rc;

    for (gi = 0; gi < n && !chio__is_secret_guard(&guards[gi]); gi++)
        ;
    if (gi == n)
        return 0;
    rc = secret_scan_at(guards, n, s, len, w != NULL ? w : &own, guard, pattern, 0);
    chio__secret_work_destroy(&own);
    return rc;
}
