/* SPDX-License-Identifier: Apache-2.0 */
/*
 * model/fields.c - typed access to the fields of chio documents, shared by
 * receipts and capability tokens, with one consistent error message shape:
 * "<what>: field '<key>' <problem>". Calls the core layer only; no state.
 */
#include <string.h>

#include "chio/crypto.h"
#include "model.h"

static int bad(chio_error *err, const char *what, const char *key, const char *problem)
{
    return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET, "%s: field '%s' %s", what, key, problem);
}

/* Absent, or null for an optional field. */
static const chio_json *lookup(const chio_json *obj, const char *key, int required, int *present,
                               int *rc, chio_error *err, const char *what)
{
    const chio_json *v = chio_json_get(obj, key);

    *rc = 0;
    if (present)
        *present = 0;
    if (v == NULL || (!required && v->type == CHIO_JSON_NULL)) {
        if (required)
            *rc = bad(err, what, key, "is missing");
        return NULL;
    }
    if (present)
        *present = 1;
    return v;
}

int chio__field_string(const chio_json *obj, const char *key, int required, const char **out,
                       int *present, chio_error *err, const char *what)
{
    int rc;
    const chio_json *v = lookup(obj, key, required, present, &rc, err, what);

    if (v == NULL)
        return rc;
    if (v->type != CHIO_JSON_STRING)
        return bad(err, what, key, "must be a string");
    if (memchr(v->v.s, 0, v->n) != NULL)
        return bad(err, what, key, "must not contain NUL");
    *out = v->v.s;
    return 0;
}

int chio__field_u64(const chio_json *obj, const char *key, int required, uint64_t *out,
                    int *present, chio_error *err, const char *what)
{
    int rc;
    const chio_json *v = lookup(obj, key, required, present, &rc, err, what);

    if (v == NULL)
        return rc;
    if (v->type == CHIO_JSON_INT && v->v.i < 0)
        return bad(err, what, key, "must not be negative");
    if (v->type == CHIO_JSON_INT && v->n == CHIO__JSON_MINUS_ZERO)
        return bad(err, what, key, "must be an unsigned 64-bit integer (-0 is a float to chio)");
    if (chio_json_get_uint64(v, out) != 0)
        return bad(err, what, key, "must be an unsigned 64-bit integer");
    return 0;
}

int chio__field_bool(const chio_json *obj, const char *key, int required, int *out, int *present,
                     chio_error *err, const char *what)
{
    int rc;
    const chio_json *v = lookup(obj, key, required, present, &rc, err, what);

    if (v == NULL)
        return rc;
    if (v->type != CHIO_JSON_BOOL)
        return bad(err, what, key, "must be true or false");
    *out = v->v.b;
    return 0;
}

int chio__field_enum(const chio_json *obj, const char *key, int required, const char *const *names,
                     int nnames, int *out, int *present, chio_error *err, const char *what)
{
    const char *s = NULL;
    int rc = chio__field_string(obj, key, required, &s, present, err, what), i;

    if (rc != 0 || s == NULL)
        return rc;
    for (i = 0; i < nnames; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET,
                      "%s: field '%s' has unknown value \"%.64s\"", what, key, s);
}

int chio__field_typed(const chio_json *obj, const char *key, int required, chio_json_type type,
                      const chio_json **out, chio_error *err, const char *what)
{
    int rc;
    const chio_json *v = lookup(obj, key, required, NULL, &rc, err, what);

    *out = NULL;
    if (v == NULL)
        return rc;
    if (v->type != type)
        return bad(err, what, key,
                   type == CHIO_JSON_OBJECT  ? "must be an object"
                   : type == CHIO_JSON_ARRAY ? "must be an array"
                                             : "has the wrong type");
    *out = v;
    return 0;
}

int chio__field_pubkey(chio_json_doc *doc, chio_json *obj, const char *key, uint8_t out[32],
                       chio_error *err, const char *what)
{
    chio_json *v = chio__json_obj_find(obj, key, strlen(key));
    char hex[CHIO_PUBKEY_HEX_LEN + 1];

    if (v == NULL)
        return bad(err, what, key, "is missing");
    if (v->type != CHIO_JSON_STRING)
        return bad(err, what, key, "must be a string");
    if (chio_pubkey_from_hex(v->v.s, v->n, out) != 0)
        return chio__fail(err, CHIO_EKEY, CHIO_NO_OFFSET,
                          "%s: field '%s' must be a 32-byte public key in hex", what, key);
    chio__hex_encode(out, 32, hex);
    if (v->n != CHIO_PUBKEY_HEX_LEN || memcmp(v->v.s, hex, CHIO_PUBKEY_HEX_LEN) != 0) {
        if (chio__json_set_string(doc, v, hex, CHIO_PUBKEY_HEX_LEN) != 0)
            return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
    return 0;
}

void chio__drop_null(chio_json *obj, const char *key, int drop_empty_array)
{
    const chio_json *v = chio_json_get(obj, key);

    if (v == NULL)
        return;
    if (v->type == CHIO_JSON_NULL || (drop_empty_array && v->type == CHIO_JSON_ARRAY && v->n == 0))
        chio__json_obj_del(obj, key);
}

const char *chio__first_unknown_key(const chio_json *obj, const char *const *known)
{
    uint32_t i;
    size_t j;

    for (i = 0; i < obj->n; i++) {
        const chio_json_member *m = &obj->v.members[i];
        for (j = 0; known[j] != NULL; j++)
            if (strlen(known[j]) == m->klen && memcmp(known[j], m->key, m->klen) == 0)
                break;
        if (known[j] == NULL)
            return m->key;
    }
    return NULL;
}

int chio__canonical_sha256_hex(const chio_json *v, char out[65])
{
    chio_buf b;
    int rc;

    chio__buf_init(&b);
    chio__json_write(&b, v);
    if (b.oom) {
        chio__buf_destroy(&b);
        return CHIO_ENOMEM;
    }
    rc = chio_sha256_hex(b.data ? b.data : "", b.len, out);
    chio__buf_destroy(&b);
    return rc;
}
