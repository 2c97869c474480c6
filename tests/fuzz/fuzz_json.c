/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/fuzz_json.c - libFuzzer target for the strict JSON reader and
 * the canonical writer (chio/json.h).
 *
 * For every input:
 *   - chio_json_parse() and chio_json_canonicalize() agree on accept/reject
 *     (and on the error code);
 *   - when it parses: canonical(x) == chio_json_canonicalize(x), the
 *     canonical text re-parses, and canonical(canonical(x)) == canonical(x)
 *     byte for byte;
 *   - the document is walked with every accessor; chio_json_get() by each
 *     member's key finds that member.
 * Any violated invariant calls abort(), which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <chio/chio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_json: invariant violated: %s\n", what);
    abort();
}

/* Touch every value once with the accessors; check object lookups. */
static void walk(const chio_json *v, int depth)
{
    size_t n, i, klen, slen;
    const char *s;
    int b;
    int64_t i64;
    uint64_t u64;
    double d;

    if (depth > CHIO_JSON_MAX_DEPTH + 1)
        fail("document deeper than CHIO_JSON_MAX_DEPTH");
    switch (chio_json_typeof(v)) {
    case CHIO_JSON_NULL:
        break;
    case CHIO_JSON_BOOL:
        if (chio_json_get_bool(v, &b) != 0)
            fail("bool accessor refused a bool");
        break;
    case CHIO_JSON_INT:
        if (chio_json_get_int64(v, &i64) != 0 || chio_json_get_double(v, &d) != 0)
            fail("int accessors refused an int");
        (void)chio_json_get_uint64(v, &u64);
        break;
    case CHIO_JSON_UINT:
        if (chio_json_get_uint64(v, &u64) != 0 || chio_json_get_double(v, &d) != 0)
            fail("uint accessors refused a uint");
        if (chio_json_get_int64(v, &i64) == 0)
            fail("int64 accessor accepted a value above INT64_MAX");
        break;
    case CHIO_JSON_DOUBLE:
        if (chio_json_get_double(v, &d) != 0)
            fail("double accessor refused a double");
        break;
    case CHIO_JSON_STRING:
        s = chio_json_string(v, &slen);
        if (s == NULL || slen != chio_json_size(v) || s[slen] != '\0')
            fail("string accessor");
        break;
    case CHIO_JSON_ARRAY:
        n = chio_json_size(v);
        for (i = 0; i < n; i++) {
            const chio_json *e = chio_json_at(v, i);
            if (e == NULL)
                fail("array element missing");
            walk(e, depth + 1);
        }
        if (chio_json_at(v, n) != NULL)
            fail("array element past the end");
        break;
    case CHIO_JSON_OBJECT:
        n = chio_json_size(v);
        for (i = 0; i < n; i++) {
            const char *key = chio_json_key_at(v, i, &klen);
            const chio_json *e = chio_json_at(v, i);
            if (key == NULL || e == NULL || strlen(key) != klen)
                fail("object member missing (or key with NUL)");
            if (chio_json_get(v, key) != e)
                fail("chio_json_get(key_at(i)) != at(i)");
            walk(e, depth + 1);
        }
        if (chio_json_key_at(v, n, NULL) != NULL || chio_json_at(v, n) != NULL)
            fail("object member past the end");
        break;
    default:
        fail("unknown type");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    chio_json_doc *doc = NULL, *doc2 = NULL;
    char *c1 = NULL, *c2 = NULL, *c3 = NULL;
    size_t l1 = 0, l2 = 0, l3 = 0;
    chio_error err, err2;
    int rc, rc3;

    chio_error_init(&err);
    chio_error_init(&err2);
    rc = chio_json_parse(text, size, &doc, &err);
    rc3 = chio_json_canonicalize(text, size, &c3, &l3, &err2);
    if (rc != rc3)
        fail("chio_json_parse and chio_json_canonicalize disagree");
    if (rc != 0) {
        if (doc != NULL || c3 != NULL)
            fail("output set on failure");
        if (err.code != rc || err.message[0] == '\0' || strlen(err.message) >= sizeof(err.message))
            fail("error record not filled");
        if (err.offset != CHIO_NO_OFFSET && err.offset > size)
            fail("error offset past the input");
        return 0;
    }
    if (doc == NULL || c3 == NULL)
        fail("no output on success");

    walk(chio_json_root(doc), 1);

    if (chio_json_write_canonical(chio_json_root(doc), &c1, &l1) != 0)
        fail("chio_json_write_canonical failed on a parsed document");
    if (c1[l1] != '\0')
        fail("canonical output not NUL-terminated");
    if (l1 != l3 || memcmp(c1, c3, l1) != 0)
        fail("write_canonical(parse(x)) != canonicalize(x)");

    /* The canonical text must parse and be a fixed point. */
    if (chio_json_parse(c1, l1, &doc2, &err) != 0) {
        fprintf(stderr, "fuzz_json: canonical text does not re-parse: %s (offset %zu)\n",
                err.message, err.offset);
        fail("canonical text does not re-parse");
    }
    if (chio_json_write_canonical(chio_json_root(doc2), &c2, &l2) != 0)
        fail("chio_json_write_canonical failed on re-parsed canonical text");
    if (l1 != l2 || memcmp(c1, c2, l1) != 0)
        fail("canonical(canonical(x)) != canonical(x)");
    if (chio_json_typeof(chio_json_root(doc)) != chio_json_typeof(chio_json_root(doc2)) &&
        !(chio_json_typeof(chio_json_root(doc)) == CHIO_JSON_DOUBLE ||
          chio_json_typeof(chio_json_root(doc2)) == CHIO_JSON_DOUBLE))
        fail("root type changed by canonicalisation");

    chio_free(c1);
    chio_free(c2);
    chio_free(c3);
    chio_json_doc_free(doc);
    chio_json_doc_free(doc2);
    return 0;
}
