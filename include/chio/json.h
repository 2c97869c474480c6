/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chio/json.h - strict JSON reader and chio's canonical JSON writer.
 *
 * The reader is the kernel's trust boundary for JSON: it keeps number tokens
 * exact (int64, then uint64, then IEEE double, classified from the token
 * text), rejects invalid UTF-8, lone surrogates, duplicate keys, NUL in keys,
 * unescaped control characters, trailing data and nesting deeper than
 * CHIO_JSON_MAX_DEPTH, and reports the byte offset of every rejection.
 *
 * The writer produces the canonical bytes that chio hashes and signs (see
 * spec/wire-format.md section 1): no whitespace, keys sorted by UTF-16 code
 * units, ECMAScript number rendering, minimal string escaping.
 *
 * A parsed document is immutable and owns every value inside it. Reading a
 * document from several threads at once is safe.
 */
#ifndef CHIO_JSON_H
#define CHIO_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "chio/error.h"
#include "chio/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Deepest nesting of arrays and objects the reader accepts. The top-level
 * value is depth 1, so "[[1]]" has depth 2. */
#define CHIO_JSON_MAX_DEPTH 128

/* Largest input the reader accepts, in bytes (64 MiB). */
#define CHIO_JSON_MAX_INPUT ((size_t)64 * 1024 * 1024)

typedef enum chio_json_type {
    CHIO_JSON_NULL = 0,
    CHIO_JSON_BOOL,
    CHIO_JSON_INT,    /* exact signed integer (fits int64) */
    CHIO_JSON_UINT,   /* exact unsigned integer above INT64_MAX */
    CHIO_JSON_DOUBLE, /* every other number token */
    CHIO_JSON_STRING,
    CHIO_JSON_ARRAY,
    CHIO_JSON_OBJECT
} chio_json_type;

typedef struct chio_json_doc chio_json_doc; /* a parsed document */
typedef struct chio_json chio_json;         /* one value, owned by its document */

/*
 * chio_json_parse - parse one JSON text.
 *
 * @text, @len: the input; need not be NUL-terminated. Must be UTF-8. @text
 * may be NULL when @len is 0 (an empty input: CHIO_EJSON_TRUNCATED).
 * @out: receives the document on success, NULL on failure.
 * @err: optional; on failure receives the code, a message and the offset.
 *
 * Returns: 0, or CHIO_EJSON_* for bad input (CHIO_EJSON_SYNTAX,
 * _TRUNCATED, _UTF8, _SURROGATE, _DEPTH, _DUPKEY, _NULKEY, _NUMBER,
 * _TRAILING, _CONTROL), CHIO_ETOOBIG over CHIO_JSON_MAX_INPUT (checked
 * before a byte is read), CHIO_EINVAL (@out NULL, or @text NULL with
 * @len > 0), CHIO_ENOMEM.
 * Ownership: caller frees *out with chio_json_doc_free(). @text is borrowed
 * for the duration of the call only.
 * Thread-safety: safe from any thread.
 */
CHIO_EXTERN int chio_json_parse(const char *text, size_t len, chio_json_doc **out, chio_error *err);

/*
 * chio_json_doc_free - free a document and every value in it. NULL is ignored.
 * Ownership: takes @doc; all chio_json pointers into it become invalid.
 */
CHIO_EXTERN void chio_json_doc_free(chio_json_doc *doc);

/*
 * chio_json_root - the top-level value of a document.
 * Returns: the root, or NULL when @doc is NULL. Ownership: owned by @doc.
 */
CHIO_EXTERN const chio_json *chio_json_root(const chio_json_doc *doc);

/* chio_json_typeof - the type of @v (CHIO_JSON_NULL when @v is NULL).
 * Ownership: @v borrowed (every reader below only reads a value, owned by
 * its document, and is safe from any thread). */
CHIO_EXTERN chio_json_type chio_json_typeof(const chio_json *v);

/*
 * chio_json_size - element count of an array or object, byte length of a
 * string, 0 for anything else and for NULL.
 */
CHIO_EXTERN size_t chio_json_size(const chio_json *v);

/*
 * chio_json_get - member of an object by key (exact bytes).
 * Returns: the value, or NULL when absent, @obj is not an object (or is
 * NULL) or @key is NULL.
 * Ownership: owned by the document of @obj.
 */
CHIO_EXTERN const chio_json *chio_json_get(const chio_json *obj, const char *key);

/*
 * chio_json_at - element @i of an array, or the value of member @i of an
 * object (members are kept in canonical key order).
 * Returns: the value, or NULL when out of range, @v is no array or object
 * or is NULL. Ownership: document-owned.
 */
CHIO_EXTERN const chio_json *chio_json_at(const chio_json *v, size_t i);

/*
 * chio_json_key_at - key of member @i of an object.
 * @len: optional; receives the key's byte length.
 * Returns: the NUL-terminated key, or NULL when out of range, @obj is no
 * object or is NULL. Ownership: document-owned.
 */
CHIO_EXTERN const char *chio_json_key_at(const chio_json *obj, size_t i, size_t *len);

/*
 * chio_json_string - the decoded bytes of a string value.
 * @len: optional; receives the byte length (the string may contain NUL).
 * Returns: a NUL-terminated buffer, or NULL when @v is not a string (or is
 * NULL).
 * Ownership: document-owned.
 */
CHIO_EXTERN const char *chio_json_string(const chio_json *v, size_t *len);

/*
 * Scalar accessors. Each returns 0 and writes *out when @v has a matching
 * type and the value fits, else CHIO_EINVAL (wrong type, @v NULL or @out
 * NULL) or CHIO_ERANGE (a number that does not fit), leaving *out
 * unchanged. Ownership: @v borrowed, @out the caller's.
 * chio_json_get_int64 accepts CHIO_JSON_INT; chio_json_get_uint64 accepts
 * non-negative CHIO_JSON_INT and CHIO_JSON_UINT, but not a number written
 * "-0" (CHIO_ERANGE: chio's serde_json reads it as a float, which no
 * unsigned field takes); chio_json_get_double
 * accepts every number type.
 */
CHIO_EXTERN int chio_json_get_bool(const chio_json *v, int *out);
CHIO_EXTERN int chio_json_get_int64(const chio_json *v, int64_t *out);
CHIO_EXTERN int chio_json_get_uint64(const chio_json *v, uint64_t *out);
CHIO_EXTERN int chio_json_get_double(const chio_json *v, double *out);

/*
 * chio_json_write_canonical - canonical bytes of a value.
 *
 * @out: receives a NUL-terminated buffer (the NUL is not counted in
 * *out_len and is not part of the canonical bytes). @out_len optional.
 * Returns: 0, CHIO_EINVAL (@v or @out NULL), CHIO_ENOMEM.
 * Ownership: caller frees *out with chio_free().
 * Thread-safety: safe; @v is only read.
 */
CHIO_EXTERN int chio_json_write_canonical(const chio_json *v, char **out, size_t *out_len);

/*
 * chio_json_write_string - @len bytes of @s as one JSON string literal,
 * quotes included, escaped the way canonical JSON escapes strings. A byte
 * that is not part of valid UTF-8 is written as U+FFFD, so the result is
 * always valid JSON whatever @s holds (a message, a path, a user's text).
 *
 * @out: receives a NUL-terminated buffer (the NUL not counted in *out_len;
 * @out_len optional). @s NULL with @len 0 is the empty string.
 * Returns: 0, CHIO_EINVAL (@out NULL, or @s NULL with @len > 0), CHIO_ENOMEM.
 * Ownership: caller frees *out with chio_free().
 * Thread-safety: safe; @s is only read.
 */
CHIO_EXTERN int chio_json_write_string(const char *s, size_t len, char **out, size_t *out_len);

/*
 * chio_json_canonicalize - parse @text and write its canonical form.
 *
 * Returns: 0; the errors of chio_json_parse() (with a NULL @out
 * CHIO_EINVAL), details in @err (optional); *@out is NULL on failure.
 * @out_len optional. Ownership: @text borrowed; caller frees *out with
 * chio_free(). Thread-safety: safe from any thread.
 */
CHIO_EXTERN int chio_json_canonicalize(const char *text, size_t len, char **out, size_t *out_len,
                                       chio_error *err);

#ifdef __cplusplus
}
#endif

#endif /* CHIO_JSON_H */
