/* SPDX-License-Identifier: Apache-2.0 */
/*
 * svc/svc_json_span.c - a shallow walk over JSON text: where a value, an
 * object member or an array element begins and ends in the text as
 * written, so that a command or a service hands the library a document's
 * own bytes,
 * never a re-serialised copy (chio_json_write_canonical() writes -0 as 0
 * and 1.7e9 as 1700000000, so a token or receipt the library refuses as
 * written read as valid once re-serialised; review 45).
 *
 * The walk follows structure only: strings are skipped whole (escapes
 * included), brackets are counted, not matched by kind, and nothing is
 * decoded or checked; a mismatch is the parser's to report. Callers walk
 * text the parser accepted, or leave text the walk cannot follow to the
 * parser. Used by cli/util.c (the elements of an array of documents),
 * cli/scenario_args.c (a scenario's arguments and tokens),
 * serve/handler.c (an evaluate request's token) and
 * examples/host-service.c (an open_session's tokens). Pure functions of
 * their arguments, any thread; svc_json_member() parses a key to compare
 * it (the library's parser allocates), nothing else allocates.
 */
#include <string.h>

#include "chio/json.h"

#include "svc_json_span.h"

size_t svc_json_skip_ws(const char *t, size_t len, size_t i)
{
    while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
        i++;
    return i;
}

size_t svc_json_skip_string(const char *t, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (t[i] == '\\')
            i++;
        else if (t[i] == '"')
            return i + 1;
    }
    return len;
}

size_t svc_json_value_end(const char *t, size_t len, size_t i)
{
    size_t depth = 0;

    if (i >= len)
        return len;
    if (t[i] == '"')
        return svc_json_skip_string(t, len, i);
    if (t[i] != '{' && t[i] != '[') {
        while (i < len && strchr(",]} \t\n\r", t[i]) == NULL)
            i++;
        return i;
    }
    while (i < len) {
        if (t[i] == '"') {
            i = svc_json_skip_string(t, len, i);
            continue;
        }
        if (t[i] == '{' || t[i] == '[')
            depth++;
        else if ((t[i] == '}' || t[i] == ']') && --depth == 0)
            return i + 1;
        i++;
    }
    return len;
}

int svc_json_next_element(const char *t, size_t len, size_t *i, size_t *start, size_t *end)
{
    size_t k = svc_json_skip_ws(t, len, *i);

    if (k < len && t[k] == ']')
        return 0;
    if (k >= len)
        return -1;
    *start = k;
    *end = svc_json_value_end(t, len, k);
    k = svc_json_skip_ws(t, len, *end);
    if (*end <= *start || k >= len || (t[k] != ',' && t[k] != ']'))
        return -1;
    *i = t[k] == ',' ? k + 1 : k; /* at ']': the next call ends the walk */
    return 1;
}

/* 1 when the JSON string text @t[@s..@e) (quotes included) reads as @want
 * (escapes decoded, as the parser read the key). */
static int key_reads_as(const char *t, size_t s, size_t e, const char *want)
{
    chio_json_doc *doc;
    const char *k;
    size_t klen;
    int same;

    if (chio_json_parse(t + s, e - s, &doc, NULL) != 0)
        return 0;
    k = chio_json_string(chio_json_root(doc), &klen);
    same = k != NULL && klen == strlen(want) && memcmp(k, want, klen) == 0;
    chio_json_doc_free(doc);
    return same;
}

const char *svc_json_member(const char *t, size_t len, const char *key, size_t *vlen)
{
    size_t i = svc_json_skip_ws(t, len, 0), ks, ke, vs, ve;

    if (i >= len || t[i] != '{')
        return NULL;
    for (i = svc_json_skip_ws(t, len, i + 1); i < len && t[i] == '"';
         i = svc_json_skip_ws(t, len, ve + 1)) {
        ks = i;
        ke = svc_json_skip_string(t, len, ks);
        i = svc_json_skip_ws(t, len, ke);
        if (i >= len || t[i] != ':')
            return NULL;
        vs = svc_json_skip_ws(t, len, i + 1);
        ve = svc_json_value_end(t, len, vs);
        if (ve <= vs)
            return NULL;
        if (key_reads_as(t, ks, ke, key)) {
            *vlen = ve - vs;
            return t + vs;
        }
        ve = svc_json_skip_ws(t, len, ve);
        if (ve >= len || t[ve] != ',')
            return NULL;
    }
    return NULL;
}
