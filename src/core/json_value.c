/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/json_value.c - JSON documents as data: the public read accessors,
 * the private builder the model layer uses to assemble receipts and tokens,
 * and the UTF-16 key order that keeps every object's members canonical.
 *
 * Objects always hold their members sorted by chio__json_key_cmp, whether
 * they came from the parser or the builder, so lookups are binary searches
 * and the canonical writer never sorts. Calls only core helpers.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- key order ----------------------------------------------------------------- */

/* Decode the code point of the UTF-8 sequence starting at s[i]. The input is
 * valid UTF-8 (parser-checked), so no validation is repeated here. */
static uint32_t decode_at(const unsigned char *s, size_t len, size_t i)
{
    unsigned char c = s[i];

    if (c < 0x80)
        return c;
    if (c < 0xe0 && i + 1 < len)
        return ((uint32_t)(c & 0x1f) << 6) | (s[i + 1] & 0x3f);
    if (c < 0xf0 && i + 2 < len)
        return ((uint32_t)(c & 0x0f) << 12) | ((uint32_t)(s[i + 1] & 0x3f) << 6) |
               (s[i + 2] & 0x3f);
    if (i + 3 < len)
        return ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[i + 1] & 0x3f) << 12) |
               ((uint32_t)(s[i + 2] & 0x3f) << 6) | (s[i + 3] & 0x3f);
    return c;
}

/* The first UTF-16 code unit of a code point. */
static uint32_t first_unit(uint32_t cp)
{
    return cp >= 0x10000 ? 0xd800 + ((cp - 0x10000) >> 10) : cp;
}

/*
 * UTF-8 byte order equals code point order, and code point order equals
 * UTF-16 order except when a supplementary character (surrogate pair,
 * first unit 0xD800..0xDBFF) meets a BMP character at or above U+E000. So:
 * find the first differing byte, step back to the start of that character
 * in both strings (the common prefix ends on the same boundary), and compare
 * the characters' first UTF-16 units, falling back to code points.
 */
int chio__json_key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    size_t n = alen < blen ? alen : blen, i = 0;
    uint32_t ca, cb, ua, ub;

    while (i < n && x[i] == y[i])
        i++;
    if (i == n)
        return alen < blen ? -1 : (alen > blen ? 1 : 0);
    if (x[i] < 0x80 && y[i] < 0x80)
        return (int)x[i] - (int)y[i];
    while (i > 0 && (x[i] & 0xc0) == 0x80)
        i--;
    ca = decode_at(x, alen, i);
    cb = decode_at(y, blen, i);
    ua = first_unit(ca);
    ub = first_unit(cb);
    if (ua != ub)
        return ua < ub ? -1 : 1;
    return ca < cb ? -1 : (ca > cb ? 1 : 0);
}

/* ---- documents -------------------------------------------------------------------- */

chio_json_doc *chio__json_doc_new(size_t first_block)
{
    /* The document and its first arena block are one allocation. */
    size_t head = (sizeof(chio_json_doc) + 15) & ~(size_t)15, cap;
    chio_json_doc *doc;

    cap = first_block < 512 ? 512 : first_block;
    cap = (cap + 15) & ~(size_t)15;
    if (cap > ((size_t)1 << 26))
        cap = (size_t)1 << 26; /* larger documents grow from there */
    doc = malloc(head + chio__arena_block_size(cap));
    if (doc == NULL)
        return NULL;
    chio__arena_init_embedded(&doc->arena, (char *)doc + head, cap);
    chio__json_set_null(&doc->root);
    doc->adopted = NULL;
    return doc;
}

/* ---- a per-thread scratch document ------------------------------------------------
 * For a document that lives only inside one library call on one thread
 * (chio_json_canonicalize): the thread keeps its last one, emptied, so a
 * steady stream of small canonicalisations allocates no document. Only a
 * document of one block of at most SCRATCH_MAX bytes is kept: a thread
 * holds at most that much; the key's destructor frees it at thread exit. */

#define SCRATCH_MAX ((size_t)64 << 10)

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static int scratch_ok;

static void scratch_free(void *doc)
{
    chio_json_doc_free(doc);
}

static void scratch_init(void)
{
    scratch_ok = pthread_key_create(&scratch_key, scratch_free) == 0;
}

chio_json_doc *chio__json_doc_scratch(size_t need)
{
    chio_json_doc *doc = NULL;

    pthread_once(&scratch_once, scratch_init);
    if (scratch_ok && (doc = pthread_getspecific(scratch_key)) != NULL) {
        (void)pthread_setspecific(scratch_key, NULL); /* ours until given back */
        if (chio__arena_first_cap(&doc->arena) < need) {
            chio_json_doc_free(doc);
            doc = NULL;
        }
    }
    return doc != NULL ? doc : chio__json_doc_new(need);
}

void chio__json_doc_scratch_done(chio_json_doc *doc)
{
    if (doc == NULL)
        return;
    /* Kept only when it is one block, small, and nothing was adopted. */
    if (scratch_ok && doc->adopted == NULL && chio__arena_reset_single(&doc->arena, SCRATCH_MAX) &&
        pthread_getspecific(scratch_key) == NULL && pthread_setspecific(scratch_key, doc) == 0) {
        chio__json_set_null(&doc->root);
        return;
    }
    chio_json_doc_free(doc);
}

void chio_json_doc_free(chio_json_doc *doc)
{
    chio_json_doc *next;

    while (doc != NULL) {
        next = doc->adopted;
        chio__arena_destroy(&doc->arena);
        free(doc);
        doc = next;
    }
}

void chio__json_adopt(chio_json_doc *doc, chio_json *dst, chio_json_doc *src)
{
    chio_json_doc *last = src;

    *dst = src->root;
    while (last->adopted != NULL)
        last = last->adopted;
    last->adopted = doc->adopted;
    doc->adopted = src;
}

chio_json *chio__json_doc_root(chio_json_doc *doc)
{
    return &doc->root;
}

const chio_json *chio_json_root(const chio_json_doc *doc)
{
    return doc ? &doc->root : NULL;
}

/* ---- read accessors ---------------------------------------------------------------- */

chio_json_type chio_json_typeof(const chio_json *v)
{
    return v ? (chio_json_type)v->type : CHIO_JSON_NULL;
}

size_t chio_json_size(const chio_json *v)
{
    if (v == NULL)
        return 0;
    switch (v->type) {
    case CHIO_JSON_STRING:
    case CHIO_JSON_ARRAY:
    case CHIO_JSON_OBJECT:
        return v->n;
    default:
        return 0;
    }
}

static chio_json_member *find_member(const chio_json *obj, const char *key, size_t klen,
                                     size_t *pos)
{
    size_t lo = 0, hi = obj->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        chio_json_member *m = &obj->v.members[mid];
        int c = chio__json_key_cmp(m->key, m->klen, key, klen);
        if (c == 0) {
            if (pos)
                *pos = mid;
            return m;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (pos)
        *pos = lo;
    return NULL;
}

chio_json *chio__json_obj_find(chio_json *obj, const char *key, size_t klen)
{
    chio_json_member *m;

    if (obj == NULL || obj->type != CHIO_JSON_OBJECT)
        return NULL;
    m = find_member(obj, key, klen, NULL);
    return m ? &m->value : NULL;
}

const chio_json *chio_json_get(const chio_json *obj, const char *key)
{
    if (key == NULL)
        return NULL;
    return chio__json_obj_find((chio_json *)obj, key, strlen(key));
}

const chio_json *chio_json_at(const chio_json *v, size_t i)
{
    if (v == NULL || i >= v->n)
        return NULL;
    if (v->type == CHIO_JSON_ARRAY)
        return &v->v.items[i];
    if (v->type == CHIO_JSON_OBJECT)
        return &v->v.members[i].value;
    return NULL;
}

const char *chio_json_key_at(const chio_json *obj, size_t i, size_t *len)
{
    if (obj == NULL || obj->type != CHIO_JSON_OBJECT || i >= obj->n)
        return NULL;
    if (len)
        *len = obj->v.members[i].klen;
    return obj->v.members[i].key;
}

const char *chio_json_string(const chio_json *v, size_t *len)
{
    if (v == NULL || v->type != CHIO_JSON_STRING)
        return NULL;
    if (len)
        *len = v->n;
    return v->v.s;
}

int chio_json_get_bool(const chio_json *v, int *out)
{
    if (v == NULL || out == NULL || v->type != CHIO_JSON_BOOL)
        return CHIO_EINVAL;
    *out = v->v.b;
    return 0;
}

int chio_json_get_int64(const chio_json *v, int64_t *out)
{
    if (v == NULL || out == NULL)
        return CHIO_EINVAL;
    if (v->type == CHIO_JSON_UINT)
        return CHIO_ERANGE;
    if (v->type != CHIO_JSON_INT)
        return CHIO_EINVAL;
    *out = v->v.i;
    return 0;
}

int chio_json_get_uint64(const chio_json *v, uint64_t *out)
{
    if (v == NULL || out == NULL)
        return CHIO_EINVAL;
    if (v->type == CHIO_JSON_UINT) {
        *out = v->v.u;
        return 0;
    }
    if (v->type != CHIO_JSON_INT)
        return CHIO_EINVAL;
    if (v->v.i < 0 || v->n == CHIO__JSON_MINUS_ZERO) /* "-0": a float to chio */
        return CHIO_ERANGE;
    *out = (uint64_t)v->v.i;
    return 0;
}

int chio_json_get_double(const chio_json *v, double *out)
{
    if (v == NULL || out == NULL)
        return CHIO_EINVAL;
    switch (v->type) {
    case CHIO_JSON_INT:
        *out = (double)v->v.i;
        return 0;
    case CHIO_JSON_UINT:
        *out = (double)v->v.u;
        return 0;
    case CHIO_JSON_DOUBLE:
        *out = v->v.d;
        return 0;
    default:
        return CHIO_EINVAL;
    }
}

/* ---- builder ------------------------------------------------------------------------ */

void chio__json_set_null(chio_json *dst)
{
    memset(dst, 0, sizeof(*dst));
    dst->type = CHIO_JSON_NULL;
}

void chio__json_set_bool(chio_json *dst, int b)
{
    chio__json_set_null(dst);
    dst->type = CHIO_JSON_BOOL;
    dst->v.b = b ? 1 : 0;
}

void chio__json_set_int(chio_json *dst, int64_t i)
{
    chio__json_set_null(dst);
    dst->type = CHIO_JSON_INT;
    dst->v.i = i;
}

void chio__json_set_uint(chio_json *dst, uint64_t u)
{
    chio__json_set_null(dst);
    if (u <= (uint64_t)INT64_MAX) {
        dst->type = CHIO_JSON_INT;
        dst->v.i = (int64_t)u;
    } else {
        dst->type = CHIO_JSON_UINT;
        dst->v.u = u;
    }
}

int chio__json_set_string(chio_json_doc *doc, chio_json *dst, const char *s, size_t len)
{
    char *p;

    if (len > UINT32_MAX)
        return CHIO_ETOOBIG;
    p = chio__arena_strndup(&doc->arena, s, len);
    if (p == NULL)
        return CHIO_ENOMEM;
    chio__json_set_null(dst);
    dst->type = CHIO_JSON_STRING;
    dst->n = (uint32_t)len;
    dst->v.s = p;
    return 0;
}

static int set_container(chio_json_doc *doc, chio_json *dst, uint8_t type, size_t elem,
                         uint32_t cap)
{
    void *p = NULL;

    if (cap != 0) {
        p = chio__arena_alloc(&doc->arena, (size_t)cap * elem);
        if (p == NULL)
            return CHIO_ENOMEM;
    }
    chio__json_set_null(dst);
    dst->type = type;
    dst->cap = cap;
    if (type == CHIO_JSON_OBJECT)
        dst->v.members = p;
    else
        dst->v.items = p;
    return 0;
}

int chio__json_set_object(chio_json_doc *doc, chio_json *dst, uint32_t cap)
{
    return set_container(doc, dst, CHIO_JSON_OBJECT, sizeof(chio_json_member), cap);
}

int chio__json_set_array(chio_json_doc *doc, chio_json *dst, uint32_t cap)
{
    return set_container(doc, dst, CHIO_JSON_ARRAY, sizeof(chio_json), cap);
}

/* Make room for one more slot, moving the slots to a bigger arena block. */
static int grow(chio_json_doc *doc, chio_json *c, size_t elem)
{
    uint32_t cap;
    void *p, *old = c->type == CHIO_JSON_OBJECT ? (void *)c->v.members : (void *)c->v.items;

    if (c->n < c->cap)
        return 0;
    if (c->cap >= UINT32_MAX / 2)
        return CHIO_ETOOBIG;
    cap = c->cap ? c->cap * 2 : 4;
    p = chio__arena_alloc(&doc->arena, (size_t)cap * elem);
    if (p == NULL)
        return CHIO_ENOMEM;
    if (c->n)
        memcpy(p, old, (size_t)c->n * elem);
    if (c->type == CHIO_JSON_OBJECT)
        c->v.members = p;
    else
        c->v.items = p;
    c->cap = cap;
    return 0;
}

chio_json *chio__json_obj_put(chio_json_doc *doc, chio_json *obj, const char *key, size_t klen)
{
    chio_json_member *m;
    size_t pos;
    char *k;

    if (obj->type != CHIO_JSON_OBJECT || klen > UINT32_MAX)
        return NULL;
    m = find_member(obj, key, klen, &pos);
    if (m != NULL)
        return &m->value;
    if (grow(doc, obj, sizeof(chio_json_member)) != 0)
        return NULL;
    k = chio__arena_strndup(&doc->arena, key, klen);
    if (k == NULL)
        return NULL;
    m = obj->v.members;
    memmove(&m[pos + 1], &m[pos], (obj->n - pos) * sizeof(*m));
    m[pos].key = k;
    m[pos].klen = (uint32_t)klen;
    chio__json_set_null(&m[pos].value);
    obj->n++;
    return &m[pos].value;
}

void chio__json_obj_del(chio_json *obj, const char *key)
{
    size_t pos;

    if (obj == NULL || obj->type != CHIO_JSON_OBJECT)
        return;
    if (find_member(obj, key, strlen(key), &pos) == NULL)
        return;
    memmove(&obj->v.members[pos], &obj->v.members[pos + 1],
            (obj->n - pos - 1) * sizeof(chio_json_member));
    obj->n--;
}

chio_json *chio__json_arr_push(chio_json_doc *doc, chio_json *arr)
{
    chio_json *slot;

    if (arr->type != CHIO_JSON_ARRAY)
        return NULL;
    if (grow(doc, arr, sizeof(chio_json)) != 0)
        return NULL;
    slot = &arr->v.items[arr->n++];
    chio__json_set_null(slot);
    return slot;
}

int chio__json_copy(chio_json_doc *doc, chio_json *dst, const chio_json *src)
{
    uint32_t i;
    int rc;

    switch (src->type) {
    case CHIO_JSON_STRING:
        return chio__json_set_string(doc, dst, src->v.s, src->n);
    case CHIO_JSON_ARRAY:
        rc = chio__json_set_array(doc, dst, src->n);
        if (rc != 0)
            return rc;
        for (i = 0; i < src->n; i++) {
            rc = chio__json_copy(doc, &dst->v.items[i], &src->v.items[i]);
            if (rc != 0)
                return rc;
            dst->n = i + 1;
        }
        return 0;
    case CHIO_JSON_OBJECT:
        rc = chio__json_set_object(doc, dst, src->n);
        if (rc != 0)
            return rc;
        for (i = 0; i < src->n; i++) {
            chio_json_member *d = &dst->v.members[i];
            const chio_json_member *s = &src->v.members[i];
            d->key = chio__arena_strndup(&doc->arena, s->key, s->klen);
            if (d->key == NULL)
                return CHIO_ENOMEM;
            d->klen = s->klen;
            rc = chio__json_copy(doc, &d->value, &s->value);
            if (rc != 0)
                return rc;
            dst->n = i + 1;
        }
        return 0;
    default:
        *dst = *src;
        return 0;
    }
}

int chio__json_depth(const chio_json *v)
{
    int max = 0, d;
    uint32_t i;

    if (v->type == CHIO_JSON_ARRAY) {
        for (i = 0; i < v->n; i++)
            if ((d = chio__json_depth(&v->v.items[i])) > max)
                max = d;
        return max + 1;
    }
    if (v->type == CHIO_JSON_OBJECT) {
        for (i = 0; i < v->n; i++)
            if ((d = chio__json_depth(&v->v.members[i].value)) > max)
                max = d;
        return max + 1;
    }
    return 0;
}
