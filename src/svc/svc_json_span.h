/* SPDX-License-Identifier: Apache-2.0 */
/*
 * svc/svc_json_span.h - where JSON values begin and end in the text as
 * written (svc_json_span.c), for the programs above the public API that
 * must hand the library a document's own bytes.
 */
#ifndef CHIO_SVC_JSON_SPAN_H
#define CHIO_SVC_JSON_SPAN_H

#include <stddef.h>

/*
 * A shallow walk over JSON text (svc_json_span.c): offsets into @t, @len
 * bytes; nothing decoded or checked, a mismatch left to the parser.
 * svc_json_skip_ws(): the first offset from @i that is not JSON white space.
 * svc_json_skip_string(): @i at an opening quote: the offset after the
 * closing one, or @len. svc_json_value_end(): @i at a value's first byte:
 * the offset after it, or @len when the text ends first.
 * svc_json_next_element(): the next element of the array whose '[' is
 * before *@i (start *@i just after it): 1 with its span in
 * [*@start, *@end) and *@i moved past it and its comma, 0 at the closing
 * ']', -1 when the text is not shaped as an array there.
 */
size_t svc_json_skip_ws(const char *t, size_t len, size_t i);
size_t svc_json_skip_string(const char *t, size_t len, size_t i);
size_t svc_json_value_end(const char *t, size_t len, size_t i);
int svc_json_next_element(const char *t, size_t len, size_t *i, size_t *start, size_t *end);

/*
 * svc_json_member - the value of member @key of the object that is the
 * whole of @t (@len bytes; text that parsed, so its keys are unique), as
 * written: its first byte, its length in *@vlen; a key written with
 * escapes ("capabilit\u0069es") counts. NULL when the walk does not
 * find it.
 */
const char *svc_json_member(const char *t, size_t len, const char *key, size_t *vlen);

#endif
