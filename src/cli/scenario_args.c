/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/scenario_args.c - a call's arguments, or an open_session step's
 * capability token, that the JSON parser refuses, lifted out of a
 * chio.scenario.v1 file so that the step, not the file, is refused.
 *
 * spec/kernel.md lists invalid arguments (malformed JSON, NUL bytes,
 * invalid UTF-8) among the errors with no receipt: a step, answered
 * `"verdict":"error"`. In a scenario file such arguments are text the
 * parser refuses inside a step's `arguments` member while the rest of the
 * file is well formed: a lone surrogate (`"\ud800"`, what JSON writers
 * emit for a string that is not valid Unicode), a NUL in an object key, a
 * key given twice, a number out of range, invalid UTF-8 or a raw control
 * character in a string. Before, the whole file was refused (exit 2) and no
 * step ran.
 *
 * A capability token is the same: the kernel parses each token an
 * open_session presents and refuses the session when one does not parse,
 * which kernel.md's output format reports as that step's `"ok":false`. So
 * an element of `steps[i].capabilities` (a token object, or its JSON text
 * as a string) that the parser refuses for such a reason is that step's
 * failure, not the file's.
 *
 * chio__scenario_lift_args() finds every `steps[i].arguments` value and
 * every element of `steps[i].capabilities` by a shallow walk of the text
 * (top-level object, its `steps` array, each step object; keys compared
 * decoded) and parses each one alone. One that fails with such an
 * in-member error, or that nests deeper than the file leaves it (the
 * parser's 128 levels less those around it), is copied out, to be given to the kernel as it is
 * (chio_kernel_evaluate() and chio_kernel_open_session() parse it and
 * refuse it themselves), and blanked in a copy of the text, which keeps
 * every byte offset, so the file's other errors read as before: arguments
 * with `0` and spaces, a token with `{}` or `""` (its own kind, so the
 * reader still sees a token there) and spaces. A text whose structure the
 * walk cannot follow is left alone: the parser's own error stands.
 *
 * chio__scenario_keep_tokens() walks the same way over a file that parsed
 * and keeps a copy of every token object in `steps[i].capabilities` as
 * written: run_open() presents those bytes, so the kernel decides on the
 * token the file holds (before review 45 it got the parsed object
 * re-serialised, which turned "issued_at": -0 or "expires_at": 1.710001e9,
 * refused as written, into integers and opened the session). The walk
 * itself is svc/svc_json_span.c's. Uses the public JSON API only; no threads.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "scenario_internal.h"

/* ---- object members over the shallow walk (svc/svc_json_span.c) --------------------------- */

/* One member of the object whose '{' or ',' is before @*i: its key's
 * bytes as written (between the quotes) and its value's span. 0, or -1
 * when the object ends here or the text is not shaped as expected. */
static int next_member(const char *t, size_t len, size_t *i, const char **key, size_t *klen,
                       size_t *vstart, size_t *vend)
{
    size_t k, e;

    k = svc_json_skip_ws(t, len, *i);
    if (k >= len || t[k] != '"')
        return -1;
    e = svc_json_skip_string(t, len, k);
    if (e >= len || e - k < 2)
        return -1;
    *key = t + k + 1;
    *klen = e - k - 2;
    e = svc_json_skip_ws(t, len, e);
    if (e >= len || t[e] != ':')
        return -1;
    *vstart = svc_json_skip_ws(t, len, e + 1);
    *vend = svc_json_value_end(t, len, *vstart);
    e = svc_json_skip_ws(t, len, *vend);
    if (e >= len || (t[e] != ',' && t[e] != '}'))
        return -1;
    *i = e + 1;
    return t[e] == '}' ? 1 : 0; /* 1: that was the last member */
}

/* Is the key at @key (@klen bytes between its quotes, as written) @want?
 * Compared decoded, as the parser reads it: "st\u0065ps" is "steps" (a
 * JSON writer may escape any character). Before review 48 keys were
 * compared as written, so a file spelling "steps" or "capabilities" with
 * an escape parsed, but its tokens were not found and every open_session
 * of it failed. */
static int key_is(const char *key, size_t klen, const char *want)
{
    chio_json_doc *doc = NULL;
    const char *s;
    size_t n;
    int same;

    if (memchr(key, '\\', klen) == NULL)
        return klen == strlen(want) && memcmp(key, want, klen) == 0;
    /* The quotes around the key are part of the walked text. */
    if (chio_json_parse(key - 1, klen + 2, &doc, NULL) != 0)
        return 0;
    s = chio_json_string(chio_json_root(doc), &n);
    same = s != NULL && n == strlen(want) && memcmp(s, want, n) == 0;
    chio_json_doc_free(doc);
    return same;
}

/* ---- lifting ------------------------------------------------------------------------------- */

/* The levels the file nests around a step's arguments (the top object, the
 * steps array, the step) and around one of its tokens (and the
 * capabilities array). */
#define LEVELS_ABOVE_ARGS  3
#define LEVELS_ABOVE_TOKEN 4

/* Parse errors that sit inside one member, as scenario_read.c counts them. */
static int in_member(int code)
{
    return code == CHIO_EJSON_DUPKEY || code == CHIO_EJSON_UTF8 || code == CHIO_EJSON_SURROGATE ||
           code == CHIO_EJSON_NUMBER || code == CHIO_EJSON_CONTROL || code == CHIO_EJSON_NULKEY;
}

/* Append a copy of @t[@s..@e) to the list *@list of *@n entries as step
 * @step's arguments or token @cap. 0, or -1 out of memory (list unchanged). */
static int keep_text(lifted_args **list, size_t *n, const char *t, size_t s, size_t e, size_t step,
                     size_t cap)
{
    lifted_args *grown = realloc(*list, (*n + 1) * sizeof(*grown));
    char *copy = malloc(e - s + 1);

    if (grown != NULL)
        *list = grown;
    if (grown == NULL || copy == NULL) {
        free(copy);
        return -1;
    }
    memcpy(copy, t + s, e - s);
    copy[e - s] = '\0';
    grown[(*n)++] = (lifted_args){step, cap, copy, e - s};
    return 0;
}

/* Keep the text of step @step's arguments (@cap == CHIO_LIFT_ARGS) or of
 * its token @cap, @t[@s..@e), and blank it in @work. */
static int lift_one(scenario *sc, char *work, const char *t, size_t s, size_t e, size_t step,
                    size_t cap)
{
    if (keep_text(&sc->lifted, &sc->nlifted, t, s, e, step, cap) != 0)
        return -1;
    memset(work + s, ' ', e - s);
    if (cap == CHIO_LIFT_ARGS) {
        work[s] = '0';
    } else { /* a token is an object or a string of at least two bytes */
        work[s] = t[s];
        work[s + 1] = t[s] == '{' ? '}' : '"';
    }
    return 0;
}

/* The most containers nested in the value @t[@s..@e) (0 for a scalar). */
static size_t value_depth(const char *t, size_t s, size_t e)
{
    size_t depth = 0, most = 0;

    while (s < e) {
        if (t[s] == '"') {
            s = svc_json_skip_string(t, e, s);
            continue;
        }
        if (t[s] == '{' || t[s] == '[')
            most = ++depth > most ? depth : most;
        else if ((t[s] == '}' || t[s] == ']') && depth > 0)
            depth--;
        s++;
    }
    return most;
}

/* Lift step @step's arguments (@cap == CHIO_LIFT_ARGS) or its token @cap
 * at @t[@s..@e) when they alone do not parse for an in-member reason, or
 * nest deeper than the @above levels around them leave of the parser's
 * CHIO_JSON_MAX_DEPTH: within the file they would pass it, alone they go
 * to the kernel, which decides on them (arguments 126 levels deep are
 * denied `arguments_rejected`, 129 are invalid; before review 32 both
 * refused the whole file as "(file): not JSON"). */
static int try_value(scenario *sc, char *work, const char *t, size_t s, size_t e, size_t step,
                     size_t cap, size_t above)
{
    chio_json_doc *doc = NULL;
    chio_error err;

    if (e <= s)
        return 0;
    if (value_depth(t, s, e) > CHIO_JSON_MAX_DEPTH - above)
        return lift_one(sc, work, t, s, e, step, cap);
    chio_error_init(&err);
    if (chio_json_parse(t + s, e - s, &doc, &err) == 0) {
        chio_json_doc_free(doc);
        return 0;
    }
    return in_member(err.code) ? lift_one(sc, work, t, s, e, step, cap) : 0;
}

/* The elements of step @step's capabilities array @t[@s..@e). Lifting
 * (@work not NULL): each token object or string that does not parse alone
 * is lifted. Keeping (@work NULL): each token object's text is kept as
 * written in sc->written. An element the walk cannot follow ends the walk
 * (the parser reports it). */
static int walk_caps(scenario *sc, char *work, const char *t, size_t s, size_t e, size_t step)
{
    size_t i, vs, ve, j;

    if (s >= e || t[s] != '[')
        return 0;
    i = s + 1;
    for (j = 0; svc_json_next_element(t, e, &i, &vs, &ve) == 1; j++) {
        if (work == NULL) {
            if (t[vs] == '{' && keep_text(&sc->written, &sc->nwritten, t, vs, ve, step, j) != 0)
                return -1;
        } else if ((t[vs] == '{' || t[vs] == '"') && ve - vs >= 2 &&
                   try_value(sc, work, t, vs, ve, step, j, LEVELS_ABOVE_TOKEN) != 0) {
            return -1;
        }
    }
    return 0;
}

/* The members of one step object starting at @t[@i] ('{'); arguments
 * only when lifting (@work not NULL). */
static int walk_step(scenario *sc, char *work, const char *t, size_t len, size_t i, size_t step)
{
    const char *key;
    size_t klen, vs, ve;
    int last = 0;

    if (t[i] != '{')
        return 0;
    i = svc_json_skip_ws(t, len, i + 1);
    if (i < len && t[i] == '}')
        return 0;
    while (!last) {
        last = next_member(t, len, &i, &key, &klen, &vs, &ve);
        if (last < 0)
            return 0; /* not shaped as expected: leave it to the parser */
        if (work != NULL && key_is(key, klen, "arguments") &&
            try_value(sc, work, t, vs, ve, step, CHIO_LIFT_ARGS, LEVELS_ABOVE_ARGS) != 0)
            return -1;
        if (key_is(key, klen, "capabilities") && walk_caps(sc, work, t, vs, ve, step) != 0)
            return -1;
    }
    return 0;
}

/* The elements of the steps array starting at @t[@i] ('['). */
static int walk_steps(scenario *sc, char *work, const char *t, size_t len, size_t i)
{
    size_t step = 0, end;

    i = svc_json_skip_ws(t, len, i + 1);
    if (i < len && t[i] == ']')
        return 0;
    while (i < len) {
        end = svc_json_value_end(t, len, i);
        if (walk_step(sc, work, t, len, i, step++) != 0)
            return -1;
        i = svc_json_skip_ws(t, len, end);
        if (i >= len || t[i] != ',')
            return 0;
        i = svc_json_skip_ws(t, len, i + 1);
    }
    return 0;
}

/* The steps array of the top-level object of @text, walked for lifting
 * into @work or (@work NULL) keeping tokens as written. */
static int walk_top(scenario *sc, char *work, const char *text, size_t len)
{
    const char *key;
    size_t i, klen, vs, ve;
    int last = 0;

    i = svc_json_skip_ws(text, len, 0);
    if (i >= len || text[i] != '{')
        return 0;
    i++;
    while (!last) {
        last = next_member(text, len, &i, &key, &klen, &vs, &ve);
        if (last < 0)
            break;
        if (key_is(key, klen, "steps") && vs < len && text[vs] == '[' &&
            walk_steps(sc, work, text, len, vs) != 0)
            return -1;
    }
    return 0;
}

int chio__scenario_lift_args(scenario *sc, const char *text, size_t len, char **work_out)
{
    char *work;

    *work_out = NULL;
    work = malloc(len ? len : 1);
    if (work == NULL)
        return -1;
    memcpy(work, text, len);
    if (walk_top(sc, work, text, len) != 0) {
        OPENSSL_cleanse(work, len);
        free(work);
        return -1;
    }
    *work_out = work;
    return 0;
}

int chio__scenario_keep_tokens(scenario *sc, const char *text, size_t len)
{
    return walk_top(sc, NULL, text, len);
}

const lifted_args *chio__scenario_lifted(const scenario *sc, size_t step, size_t cap)
{
    size_t i;

    for (i = 0; i < sc->nlifted; i++)
        if (sc->lifted[i].step == step && sc->lifted[i].cap == cap)
            return &sc->lifted[i];
    return NULL;
}

const lifted_args *chio__scenario_written(const scenario *sc, size_t step, size_t cap)
{
    size_t i;

    for (i = 0; i < sc->nwritten; i++)
        if (sc->written[i].step == step && sc->written[i].cap == cap)
            return &sc->written[i];
    return NULL;
}
