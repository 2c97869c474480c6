/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/scenario_path.c - the path of the place in a scenario file's text
 * where the JSON parser stopped ("steps[1].session" for a duplicate key),
 * so that scenario_read.c names a member the parser refused the way it
 * names any bad field. A scan of the text's structure up to that byte
 * (strings skipped, one frame per open object or array); split from
 * scenario_read.c. Pure: no allocation, any thread.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "scenario_internal.h"

/* One open object or array while scanning: the array's index, or where
 * the object's current key is in the text. */
typedef struct frame {
    char type; /* '{' or '[' */
    int want_key;
    size_t idx, kstart, klen;
} frame;

/* Append @fr's step to @out: ".key" (or "key" at the top), or "[i]". */
static void path_step(char *out, size_t cap, const char *text, const frame *fr)
{
    size_t used = strlen(out);

    if (used + 1 >= cap)
        return;
    if (fr->type == '[')
        snprintf(out + used, cap - used, "[%zu]", fr->idx);
    else
        snprintf(out + used, cap - used, "%s%.*s", used ? "." : "",
                 (int)(fr->klen < 120 ? fr->klen : 120), text + fr->kstart);
}

/* Track the structure at one byte (not inside a string) of a valid JSON
 * text; returns the new depth. Frames past @max are counted, not kept. */
static size_t scan_byte(char c, frame *st, size_t depth, size_t max)
{
    frame *top = depth > 0 && depth <= max ? &st[depth - 1] : NULL;

    if (c == '{' || c == '[') {
        if (depth < max)
            st[depth] = (frame){c, c == '{', 0, 0, 0};
        return depth + 1;
    }
    if ((c == '}' || c == ']') && depth > 0)
        return depth - 1;
    if (c == ',' && top != NULL && top->type == '[')
        top->idx++;
    else if (c == ',' && top != NULL)
        top->want_key = 1;
    else if (c == ':' && top != NULL)
        top->want_key = 0;
    return depth;
}

void chio__scenario_error_path(const char *text, size_t len, size_t off, size_t steps, char *out,
                               size_t cap)
{
    frame st[CHIO_JSON_MAX_DEPTH + 1];
    size_t max = sizeof(st) / sizeof(st[0]), depth = 0, i = 0, j, start;
    frame *top;

    out[0] = '\0';
    while (i < len) {
        top = depth > 0 && depth <= max ? &st[depth - 1] : NULL;
        if (text[i] != '"') {
            if (i >= off)
                break;
            depth = scan_byte(text[i++], st, depth, max);
            continue;
        }
        start = ++i; /* a string: find its closing quote */
        while (i < len && text[i] != '"')
            i += text[i] == '\\' ? 2 : 1;
        if (top != NULL && top->type == '{' && top->want_key) {
            top->kstart = start;
            top->klen = (i < len ? i : len) - start;
        }
        if (off < ++i) /* the place is in this string */
            break;
    }
    for (j = 0; j < depth && j < max && j < steps; j++)
        path_step(out, cap, text, &st[j]);
}
