/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store/store_read.c - reading the receipt log: the first and last
 * sequence numbers, one receipt or checkpoint, a receipt by id, ordered
 * scans of receipts and checkpoints (the audit's scans also hand over the
 * keys no kernel writes), the chain family's keys, and the revocation
 * records. Every read goes through the store's read options, or those
 * of a view the calling thread pinned (the audit's: one snapshot, and a
 * record of any read RocksDB failed); RocksDB's error text is mapped by
 * chio__store_fail() (store.c).
 *
 * Locking: none of its own; RocksDB handles are thread-safe, and a view
 * belongs to the thread that began it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rocksdb/c.h>

#include "chio/receipt.h"
#include "internal.h"
#include "store_db.h"
#include "store_internal.h"

/* ---- the reading thread's view ----------------------------------------------------------- */

struct chio__store_view {
    chio_store *s;
    rocksdb_readoptions_t *ro;
    const rocksdb_snapshot_t *snap; /* read-write stores only */
    int failed;                     /* the first failed read's code, 0 none */
    chio_error err;                 /* ... and its message */
    chio__store_view *next;         /* this thread's other views */
};

/* Views are per thread: another thread reading the same store (the kernel
 * writing it, in this process) keeps the store's own read options. */
static _Thread_local chio__store_view *views;

static chio__store_view *view_of(const chio_store *s)
{
    chio__store_view *v;

    for (v = views; v != NULL; v = v->next)
        if (v->s == s)
            return v;
    return NULL;
}

static rocksdb_readoptions_t *read_opts(chio_store *s)
{
    chio__store_view *v = view_of(s);

    return v != NULL ? v->ro : s->ro;
}

/* RocksDB failed a read (not: the key is absent). Under a view the first
 * failure is kept, whatever @err the caller passed (the audit's point
 * reads pass none), so the audit can tell it from an absent key. */
static int read_failed(chio_store *s, char **rerr, chio_error *err, const char *what)
{
    chio__store_view *v = view_of(s);
    int rc;

    if (v == NULL || v->failed != 0)
        return chio__store_fail(rerr, err, what);
    rc = chio__store_fail(rerr, &v->err, what);
    v->failed = rc;
    if (err != NULL)
        *err = v->err;
    return rc;
}

int chio__store_view_begin(chio_store *s, chio__store_view **out, chio_error *err)
{
    chio__store_view *v;

    *out = NULL;
    v = calloc(1, sizeof(*v));
    if (v == NULL || (v->ro = rocksdb_readoptions_create()) == NULL) {
        free(v);
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
    v->s = s;
    chio_error_init(&v->err);
    /* A read-write store moves while it is read (its kernel commits from
     * other threads): one snapshot makes the receipts, the index, the chain
     * and the head read as of one moment, and RocksDB keeps what it needs.
     * A read-only or secondary instance does not move under its own reads
     * (a secondary only when caught up). */
    if (s->mode == CHIO_STORE_READ_WRITE) {
        v->snap = rocksdb_create_snapshot(s->db);
        rocksdb_readoptions_set_snapshot(v->ro, v->snap);
    }
    v->next = views;
    views = v;
    *out = v;
    return 0;
}

int chio__store_view_failed(const chio__store_view *v, chio_error *err)
{
    if (v == NULL || v->failed == 0)
        return 0;
    if (err != NULL)
        *err = v->err;
    return v->failed;
}

void chio__store_view_end(chio__store_view *v)
{
    chio__store_view **p;

    if (v == NULL)
        return;
    for (p = &views; *p != NULL; p = &(*p)->next)
        if (*p == v) {
            *p = v->next;
            break;
        }
    if (v->snap != NULL)
        rocksdb_release_snapshot(v->s->db, v->snap);
    rocksdb_readoptions_destroy(v->ro);
    free(v);
}

void chio__store_fail_reads(chio_store *s, const char *family)
{
    int i;

    s->fail_reads_cf = 0;
    for (i = 0; family != NULL && i < CF_COUNT; i++)
        if (strcmp(chio__store_cf_names[i], family) == 0)
            s->fail_reads_cf = i + 1;
}

/* ---- reads ------------------------------------------------------------------------------ */

/* The first or last 8-byte key of @cf. A key of another length (no kernel
 * writes one) fails CHIO_ECORRUPT, or with @skip_odd is stepped over: the
 * audit names such keys itself and must not stop at one. */
static int edge_key(chio_store *s, int cf, int last, int skip_odd, uint64_t *out, chio_error *err)
{
    rocksdb_iterator_t *it;
    char *rerr = NULL;
    size_t klen = 0;
    const char *k;
    int rc = 0;

    *out = 0;
    if (s->cf[cf] == NULL)
        return 0;
    it = rocksdb_create_iterator_cf(s->db, read_opts(s), s->cf[cf]);
    if (last)
        rocksdb_iter_seek_to_last(it);
    else
        rocksdb_iter_seek_to_first(it);
    for (; rocksdb_iter_valid(it); last ? rocksdb_iter_prev(it) : rocksdb_iter_next(it)) {
        k = rocksdb_iter_key(it, &klen);
        if (klen == 8) {
            *out = chio__store_key_value(k);
            break;
        }
        if (!skip_odd) {
            rc = chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET, "a %s key is not 8 bytes",
                            chio__store_cf_names[cf]);
            break;
        }
    }
    rocksdb_iter_get_error(it, &rerr);
    if (rerr != NULL)
        rc = read_failed(s, &rerr, err, "iterating the store");
    rocksdb_iter_destroy(it);
    return rc;
}

int chio__store_edge_key(chio_store *s, int cf, int last, uint64_t *out, chio_error *err)
{
    return edge_key(s, cf, last, 0, out, err);
}

int chio__store_edge_seq_lenient(chio_store *s, int cf, int last, uint64_t *out, chio_error *err)
{
    return edge_key(s, cf, last, 1, out, err);
}

int chio_store_seq_range(chio_store *s, uint64_t *first, uint64_t *last, chio_error *err)
{
    int rc;

    if (s == NULL || first == NULL || last == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL argument");
    rc = chio__store_edge_key(s, CF_RECEIPTS, 0, first, err);
    return rc ? rc : chio__store_edge_key(s, CF_RECEIPTS, 1, last, err);
}

int chio_store_last_checkpoint_seq(chio_store *s, uint64_t *last, chio_error *err)
{
    if (s == NULL || last == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL argument");
    return chio__store_edge_key(s, CF_CHECKPOINTS, 1, last, err);
}

int chio__store_get_value(chio_store *s, int cf, const char *key, size_t klen, char **json,
                          size_t *len, chio_error *err)
{
    char *rerr = NULL, *val, *copy;
    size_t vlen = 0;

    *json = NULL;
    if (s->cf[cf] == NULL)
        return chio__fail(err, CHIO_ENOTFOUND, CHIO_NO_OFFSET, "not found");
    if (s->fail_reads_cf == cf + 1) { /* the test hook: a table file gone */
        val = NULL;
        rerr = strdup("IO error: No such file or directory: While open a file for random read: "
                      "(chio__store_fail_reads)");
        if (rerr == NULL)
            return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    } else {
        val = rocksdb_get_cf(s->db, read_opts(s), s->cf[cf], key, klen, &vlen, &rerr);
    }
    if (rerr != NULL)
        return read_failed(s, &rerr, err, "reading the store");
    if (val == NULL)
        return chio__fail(err, CHIO_ENOTFOUND, CHIO_NO_OFFSET, "not found");
    copy = malloc(vlen + 1);
    if (copy != NULL) {
        memcpy(copy, val, vlen);
        copy[vlen] = '\0';
    }
    rocksdb_free(val);
    if (copy == NULL)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    *json = copy;
    if (len)
        *len = vlen;
    return 0;
}

int chio_store_get_receipt(chio_store *s, uint64_t seq, char **json, size_t *len, chio_error *err)
{
    unsigned char key[8];

    if (json != NULL) /* NULL on every failure */
        *json = NULL;
    if (s == NULL || json == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL argument");
    chio__store_key(seq, key);
    return chio__store_get_value(s, CF_RECEIPTS, (const char *)key, 8, json, len, err);
}

int chio_store_get_checkpoint(chio_store *s, uint64_t checkpoint_seq, char **json, size_t *len,
                              chio_error *err)
{
    unsigned char key[8];

    if (json != NULL) /* NULL on every failure */
        *json = NULL;
    if (s == NULL || json == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL argument");
    chio__store_key(checkpoint_seq, key);
    return chio__store_get_value(s, CF_CHECKPOINTS, (const char *)key, 8, json, len, err);
}

int chio__store_find_indexed(chio_store *s, const char *id, uint64_t *seq, chio_error *err)
{
    char *val = NULL;
    size_t len = 0;
    int rc;

    if (s == NULL || id == NULL || seq == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL argument");
    rc = chio__store_get_value(s, CF_IDS, id, strlen(id), &val, &len, err);
    if (rc != 0)
        return rc;
    if (len != 8) {
        free(val);
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET, "id index entry is not 8 bytes");
    }
    *seq = chio__store_key_value(val);
    free(val);
    return 0;
}

/* The index is not signed: an entry naming another receipt (written into
 * the store by hand) must not make that receipt answer for @id, so the
 * receipt found is read and its own id compared. */
int chio_store_find_receipt(chio_store *s, const char *id, uint64_t *seq, chio_error *err)
{
    chio_receipt *r = NULL;
    char *json = NULL;
    size_t len = 0;
    uint64_t found = 0;
    int rc;

    /* @seq is written only once the receipt is found: check it first. */
    if (seq == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "chio_store_find_receipt: seq is NULL");
    rc = chio__store_find_indexed(s, id, &found, err);
    if (rc != 0)
        return rc;
    if (found == 0) /* no kernel writes receipt 0: the entry was made by hand */
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                          "the id index names receipt 0, which no kernel writes");
    rc = chio_store_get_receipt(s, found, &json, &len, err);
    if (rc == CHIO_ENOTFOUND)
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                          "the id index names receipt %llu, which is not stored",
                          (unsigned long long)found);
    if (rc != 0)
        return rc;
    rc = chio_receipt_parse(json, len, &r, NULL);
    free(json);
    if (rc != 0 || strcmp(chio_receipt_id(r), id) != 0) {
        chio_receipt_free(r);
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                          "the id index names receipt %llu, whose id is not %s",
                          (unsigned long long)found, id);
    }
    chio_receipt_free(r);
    *seq = found;
    return 0;
}

/* Every entry of @cf from @from on, in key order. From 0 the scan starts
 * at the family's first key: one shorter than 8 bytes sorts before key 0
 * and a seek to 0 would pass over it unseen. A key that is not 8 bytes (no
 * kernel writes one) goes to @odd when given, and the scan goes on;
 * without @odd it ends the scan with CHIO_ECORRUPT. */
static int scan_cf(chio_store *s, int cf, uint64_t from, chio_store_visit_fn fn,
                   chio__store_odd_key_fn odd, void *ctx, chio_error *err)
{
    rocksdb_iterator_t *it;
    unsigned char key[8];
    char *rerr = NULL;
    int rc = 0;

    if (s == NULL || fn == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL argument");
    if (s->cf[cf] == NULL)
        return 0;
    it = rocksdb_create_iterator_cf(s->db, read_opts(s), s->cf[cf]);
    chio__store_key(from, key);
    if (from == 0)
        rocksdb_iter_seek_to_first(it);
    else
        rocksdb_iter_seek(it, (const char *)key, 8);
    for (; rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen), *v = rocksdb_iter_value(it, &vlen);
        if (klen != 8 && odd != NULL)
            rc = odd(ctx, k, klen, vlen);
        else if (klen != 8)
            rc = chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET, "a %s key is not 8 bytes",
                            chio__store_cf_names[cf]);
        else
            rc = fn(ctx, chio__store_key_value(k), v, vlen);
        if (rc != 0)
            break;
    }
    rocksdb_iter_get_error(it, &rerr);
    if (rerr != NULL && rc == 0)
        rc = read_failed(s, &rerr, err, "iterating the store");
    if (rerr != NULL)
        rocksdb_free(rerr);
    rocksdb_iter_destroy(it);
    return rc;
}

int chio_store_scan(chio_store *s, uint64_t from, chio_store_visit_fn fn, void *ctx,
                    chio_error *err)
{
    return scan_cf(s, CF_RECEIPTS, from, fn, NULL, ctx, err);
}

int chio_store_scan_checkpoints(chio_store *s, uint64_t from, chio_store_visit_fn fn, void *ctx,
                                chio_error *err)
{
    return scan_cf(s, CF_CHECKPOINTS, from, fn, NULL, ctx, err);
}

int chio__store_scan_all(chio_store *s, int checkpoints, chio_store_visit_fn fn,
                         chio__store_odd_key_fn odd, void *ctx, chio_error *err)
{
    return scan_cf(s, checkpoints ? CF_CHECKPOINTS : CF_RECEIPTS, 0, fn, odd, ctx, err);
}

int chio__store_scan_chain_keys(chio_store *s,
                                int (*fn)(void *ctx, const char *key, size_t klen, size_t vlen),
                                void *ctx, chio_error *err)
{
    rocksdb_iterator_t *it;
    char *rerr = NULL;
    int rc = 0;

    if (s->cf[CF_CHAIN] == NULL)
        return 0;
    it = rocksdb_create_iterator_cf(s->db, read_opts(s), s->cf[CF_CHAIN]);
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it) && rc == 0; rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        (void)rocksdb_iter_value(it, &vlen);
        rc = fn(ctx, k, klen, vlen);
    }
    rocksdb_iter_get_error(it, &rerr);
    if (rerr != NULL && rc == 0)
        rc = read_failed(s, &rerr, err, "reading the hash chain");
    if (rerr != NULL)
        rocksdb_free(rerr);
    rocksdb_iter_destroy(it);
    return rc;
}

int chio__store_scan_ids(chio_store *s,
                         int (*fn)(void *ctx, const char *id, size_t idlen, uint64_t seq),
                         void *ctx, chio_error *err)
{
    rocksdb_iterator_t *it;
    char *rerr = NULL;
    int rc = 0;

    if (s->cf[CF_IDS] == NULL)
        return 0;
    it = rocksdb_create_iterator_cf(s->db, read_opts(s), s->cf[CF_IDS]);
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it) && rc == 0; rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen), *v = rocksdb_iter_value(it, &vlen);
        rc = fn(ctx, k, klen, vlen == 8 ? chio__store_key_value(v) : 0);
    }
    rocksdb_iter_get_error(it, &rerr);
    if (rerr != NULL && rc == 0)
        rc = read_failed(s, &rerr, err, "reading the id index");
    if (rerr != NULL)
        rocksdb_free(rerr);
    rocksdb_iter_destroy(it);
    return rc;
}

typedef struct id_only {
    int (*fn)(void *ctx, const char *id, size_t idlen);
    void *ctx;
} id_only;

static int id_only_fn(void *ctx, const char *id, size_t idlen, const char *value, size_t vlen)
{
    id_only *o = ctx;

    (void)value;
    (void)vlen;
    return o->fn(o->ctx, id, idlen);
}

int chio__store_scan_revocations(chio_store *s, int (*fn)(void *ctx, const char *id, size_t idlen),
                                 void *ctx, chio_error *err)
{
    id_only o = {fn, ctx};

    return chio__store_scan_revocation_records(s, id_only_fn, &o, err);
}

int chio__store_scan_revocation_records(chio_store *s,
                                        int (*fn)(void *ctx, const char *id, size_t idlen,
                                                  const char *value, size_t vlen),
                                        void *ctx, chio_error *err)
{
    rocksdb_iterator_t *it;
    char *rerr = NULL;
    int rc = 0;

    if (s->cf[CF_REVOCATIONS] == NULL)
        return 0;
    it = rocksdb_create_iterator_cf(s->db, read_opts(s), s->cf[CF_REVOCATIONS]);
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it) && rc == 0; rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        const char *v = rocksdb_iter_value(it, &vlen);
        rc = fn(ctx, k, klen, v, vlen);
    }
    rocksdb_iter_get_error(it, &rerr);
    if (rerr != NULL && rc == 0)
        rc = read_failed(s, &rerr, err, "reading revocations");
    if (rerr != NULL)
        rocksdb_free(rerr);
    rocksdb_iter_destroy(it);
    return rc;
}
