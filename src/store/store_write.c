/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store/store_write.c - writing the receipt log: the WriteBatch a group
 * commit fills (receipts and their id index, checkpoints, revocations,
 * chain entries, budgets, metadata), the typed records read and written
 * together (metadata, chain, budgets), and chio__store_write(), the one
 * call that applies a batch (one WAL sync when asked).
 *
 * Locking: write_mu serialises the writers (the commit stage and
 * revocations); a batch belongs to the thread filling it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rocksdb/c.h>

#include "internal.h"
#include "store_db.h"
#include "store_internal.h"

/* ---- writes ------------------------------------------------------------------------------ */

chio__store_batch *chio__store_batch_new(void)
{
    chio__store_batch *b = malloc(sizeof(*b));

    if (b == NULL)
        return NULL;
    b->wb = rocksdb_writebatch_create();
    return b;
}

void chio__store_batch_free(chio__store_batch *b)
{
    if (b == NULL)
        return;
    rocksdb_writebatch_destroy(b->wb);
    free(b);
}

void chio__store_batch_clear(chio__store_batch *b)
{
    rocksdb_writebatch_clear(b->wb);
}

void chio__store_batch_put_receipt(chio__store_batch *b, chio_store *s, uint64_t seq,
                                   const char *json, size_t len, const char *id)
{
    unsigned char key[8];

    chio__store_key(seq, key);
    rocksdb_writebatch_put_cf(b->wb, s->cf[CF_RECEIPTS], (const char *)key, 8, json, len);
    rocksdb_writebatch_put_cf(b->wb, s->cf[CF_IDS], id, strlen(id), (const char *)key, 8);
}

/*
 * A large receipt: its id row, then its bytes as the batch's last record.
 * Returns where the bytes are inside the batch (a put copies them there;
 * the batch's buffer ends with them and a NUL), or NULL when the batch
 * does not end with exactly these bytes. The kernel then frees its own
 * copy, so one copy less is alive while RocksDB adds the memtable's.
 */
const char *chio__store_batch_put_receipt_last(chio__store_batch *b, chio_store *s, uint64_t seq,
                                               const char *json, size_t len, const char *id)
{
    unsigned char key[8];
    const char *tail;

    chio__store_key(seq, key);
    rocksdb_writebatch_put_cf(b->wb, s->cf[CF_IDS], id, strlen(id), (const char *)key, 8);
    rocksdb_writebatch_put_cf(b->wb, s->cf[CF_RECEIPTS], (const char *)key, 8, json, len);
    tail = chio__store_batch_tail(b->wb, len);
    return tail != NULL && memcmp(tail, json, len) == 0 ? tail : NULL;
}

const char *chio__store_batch_tail(void *records, size_t len)
{
    size_t size = 0;
    const char *data = rocksdb_writebatch_data(records, &size);

    /* The representation is a std::string: NUL-terminated after size. */
    return data != NULL && size >= len && data[size] == '\0' ? data + size - len : NULL;
}

void *chio__store_batch_take(chio__store_batch *b)
{
    rocksdb_writebatch_t *wb = b->wb;

    b->wb = rocksdb_writebatch_create();
    return wb;
}

void chio__store_records_free(void *records)
{
    rocksdb_writebatch_destroy(records);
}

void chio__store_batch_put_checkpoint(chio__store_batch *b, chio_store *s, uint64_t cseq,
                                      const char *json, size_t len)
{
    unsigned char key[8];

    chio__store_key(cseq, key);
    rocksdb_writebatch_put_cf(b->wb, s->cf[CF_CHECKPOINTS], (const char *)key, 8, json, len);
}

void chio__store_batch_put_revocation(chio__store_batch *b, chio_store *s, const char *id,
                                      const char *value, size_t len)
{
    rocksdb_writebatch_put_cf(b->wb, s->cf[CF_REVOCATIONS], id, strlen(id), value, len);
}

void chio__store_batch_delete_revocation(chio__store_batch *b, chio_store *s, const char *id,
                                         size_t idlen)
{
    rocksdb_writebatch_delete_cf(b->wb, s->cf[CF_REVOCATIONS], id, idlen);
}

void chio__store_batch_delete_receipt(chio__store_batch *b, chio_store *s, uint64_t seq,
                                      const char *id)
{
    unsigned char key[8];

    chio__store_key(seq, key);
    rocksdb_writebatch_delete_cf(b->wb, s->cf[CF_RECEIPTS], (const char *)key, 8);
    if (id != NULL)
        rocksdb_writebatch_delete_cf(b->wb, s->cf[CF_IDS], id, strlen(id));
}

void chio__store_batch_delete_checkpoint(chio__store_batch *b, chio_store *s, uint64_t cseq)
{
    unsigned char key[8];

    chio__store_key(cseq, key);
    rocksdb_writebatch_delete_cf(b->wb, s->cf[CF_CHECKPOINTS], (const char *)key, 8);
}

void chio__store_batch_put_meta_u64(chio__store_batch *b, chio_store *s, const char *name,
                                    uint64_t v)
{
    unsigned char val[8];

    chio__store_key(v, val);
    rocksdb_writebatch_put_cf(b->wb, s->cf[CF_DEFAULT], name, strlen(name), (const char *)val, 8);
}

int chio__store_get_meta_u64(chio_store *s, const char *name, uint64_t *out, chio_error *err)
{
    char *val = NULL;
    size_t len = 0;
    int rc, i;

    *out = 0;
    rc = chio__store_get_value(s, CF_DEFAULT, name, strlen(name), &val, &len, err);
    if (rc == CHIO_ENOTFOUND) {
        if (err != NULL)
            chio_error_init(err);
        return 0;
    }
    if (rc != 0)
        return rc;
    if (len != 8) {
        free(val);
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET, "store metadata %s is malformed",
                          name);
    }
    for (i = 0; i < 8; i++)
        *out = *out << 8 | (unsigned char)val[i];
    free(val);
    return 0;
}

void chio__store_batch_put_meta(chio__store_batch *b, chio_store *s, const char *name,
                                const char *value, size_t len)
{
    rocksdb_writebatch_put_cf(b->wb, s->cf[CF_DEFAULT], name, strlen(name), value, len);
}

int chio__store_get_meta(chio_store *s, const char *name, char **value, size_t *len,
                         chio_error *err)
{
    return chio__store_get_value(s, CF_DEFAULT, name, strlen(name), value, len, err);
}

void chio__store_batch_put_chain(chio__store_batch *b, chio_store *s, uint64_t seq,
                                 const uint8_t value[32])
{
    unsigned char key[8];

    chio__store_key(seq, key);
    rocksdb_writebatch_put_cf(b->wb, s->cf[CF_CHAIN], (const char *)key, 8, (const char *)value,
                              32);
}

void chio__store_batch_delete_chain(chio__store_batch *b, chio_store *s, uint64_t seq)
{
    unsigned char key[8];

    if (s->cf[CF_CHAIN] == NULL)
        return;
    chio__store_key(seq, key);
    rocksdb_writebatch_delete_cf(b->wb, s->cf[CF_CHAIN], (const char *)key, 8);
}

int chio__store_get_chain(chio_store *s, uint64_t seq, uint8_t out[32], chio_error *err)
{
    unsigned char key[8];
    char *val = NULL;
    size_t len = 0;
    int rc;

    chio__store_key(seq, key);
    rc = chio__store_get_value(s, CF_CHAIN, (const char *)key, 8, &val, &len, err);
    if (rc != 0)
        return rc;
    if (len != 32) {
        free(val);
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET, "chain entry %llu is not 32 bytes",
                          (unsigned long long)seq);
    }
    memcpy(out, val, 32);
    free(val);
    return 0;
}

int chio__store_has_chain(chio_store *s, chio_error *err)
{
    uint64_t first = 0;
    int rc = chio__store_edge_key(s, CF_CHAIN, 0, &first, err);

    return rc != 0 ? rc : first > 0;
}

/* A budget row: BE64 count, then BE64 expires_at when it is known. An
 * unknown expiry (0) keeps the 8-byte form that earlier versions wrote, so
 * both forms read back alike. */
void chio__store_batch_put_budget(chio__store_batch *b, chio_store *s, const char *key, size_t klen,
                                  uint64_t count, uint64_t expires_at)
{
    unsigned char val[16];

    chio__store_key(count, val);
    chio__store_key(expires_at, val + 8);
    rocksdb_writebatch_put_cf(b->wb, s->cf[CF_BUDGETS], key, klen, (const char *)val,
                              expires_at != 0 ? 16 : 8);
}

void chio__store_batch_delete_budget(chio__store_batch *b, chio_store *s, const char *key,
                                     size_t klen)
{
    rocksdb_writebatch_delete_cf(b->wb, s->cf[CF_BUDGETS], key, klen);
}

/* Entries (puts and deletes) in @b, for a writer that only adds budget
 * deletions to a batch that will be written anyway. */
size_t chio__store_batch_count(chio__store_batch *b)
{
    int n = rocksdb_writebatch_count(b->wb);

    return n > 0 ? (size_t)n : 0;
}

int chio__store_scan_budgets(chio_store *s,
                             int (*fn)(void *ctx, const char *key, size_t klen, uint64_t count,
                                       uint64_t expires_at),
                             void *ctx, chio_error *err)
{
    rocksdb_iterator_t *it;
    char *rerr = NULL;
    int rc = 0;

    if (s->cf[CF_BUDGETS] == NULL)
        return 0;
    it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[CF_BUDGETS]);
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it) && rc == 0; rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen), *v = rocksdb_iter_value(it, &vlen);
        if (vlen != 8 && vlen != 16) {
            rc = chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                            "a budget value is not 8 or 16 bytes");
            break;
        }
        rc = fn(ctx, k, klen, chio__store_key_value(v),
                vlen == 16 ? chio__store_key_value(v + 8) : 0);
    }
    rocksdb_iter_get_error(it, &rerr);
    if (rerr != NULL && rc == 0)
        rc = chio__store_fail(&rerr, err, "reading budgets");
    if (rerr != NULL)
        rocksdb_free(rerr);
    rocksdb_iter_destroy(it);
    return rc;
}

int chio__store_write_failed(chio_store *s)
{
    return __atomic_load_n(&s->write_failed, __ATOMIC_SEQ_CST);
}

void chio__store_fail_writes(chio_store *s, int n)
{
    __atomic_store_n(&s->fail_writes, n, __ATOMIC_SEQ_CST);
}

void chio__store_note_expired_floor(chio_store *s, uint64_t floor)
{
    uint64_t seen = __atomic_load_n(&s->floor_noted, __ATOMIC_SEQ_CST);

    /* seq_cst: noted before the caller builds its deletions (pairs with
     * the load in write_floor, under write_mu, before their write). */
    while (seen < floor && !__atomic_compare_exchange_n(&s->floor_noted, &seen, floor, 0,
                                                        __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        ;
}

uint64_t chio__store_expired_floor(chio_store *s)
{
    return __atomic_load_n(&s->floor_noted, __ATOMIC_SEQ_CST);
}

/* Under write_mu: write the expiry floor if a higher one was noted since
 * the last write, unsynced (the batch after it syncs both when asked; the
 * WAL replays in order, so a crash never keeps the batch without it). A
 * batch of its own: a caller's batch may end with a receipt it reads back
 * (commit.c, keep_large). Rare: only after the kernel dropped state. */
static void write_floor(chio_store *s, char **rerr)
{
    uint64_t floor = __atomic_load_n(&s->floor_noted, __ATOMIC_SEQ_CST);
    chio__store_batch *fb;

    if (floor <= s->floor_written)
        return;
    fb = chio__store_batch_new();
    if (fb == NULL || fb->wb == NULL) {
        chio__store_batch_free(fb);
        *rerr = strdup("out of memory writing the expiry floor");
        return;
    }
    chio__store_batch_put_meta_u64(fb, s, CHIO__META_EXPIRED_FLOOR, floor);
    rocksdb_write(s->db, s->wo_nosync, fb->wb, rerr);
    chio__store_batch_free(fb);
    if (*rerr == NULL)
        s->floor_written = floor;
}

int chio__store_write(chio_store *s, chio__store_batch *b, int sync, chio_error *err)
{
    return chio__store_write_checked(s, b, sync, NULL, NULL, err);
}

int chio__store_write_checked(chio_store *s, chio__store_batch *b, int sync,
                              int (*add)(chio_store *s, chio__store_batch *b, void *ctx), void *ctx,
                              chio_error *err)
{
    char *rerr = NULL;
    int inject = __atomic_load_n(&s->fail_writes, __ATOMIC_SEQ_CST), rc;

    if (s->mode != CHIO_STORE_READ_WRITE)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "store opened read-only");
    if (inject != 0) {
        if (inject > 0)
            __atomic_sub_fetch(&s->fail_writes, 1, __ATOMIC_SEQ_CST);
        return chio__fail(err, CHIO_ESTORE, CHIO_NO_OFFSET,
                          "writing receipts: IO error: injected write failure");
    }
    /* The commit thread is the writer on the hot path; revocations are the
     * only other one. Serialising them here costs the commit thread an
     * uncontended lock per group, keeps one WAL sync per write, and gives
     * ThreadSanitizer an ordering it can see (RocksDB's own writer queue is
     * not instrumented). */
    pthread_mutex_lock(&s->write_mu);
    rc = add != NULL ? add(s, b, ctx) : 0; /* reads what no other write may change meanwhile */
    if (rc != 0) {
        pthread_mutex_unlock(&s->write_mu);
        return chio__fail(err, rc, CHIO_NO_OFFSET, "writing receipts: reading the store failed");
    }
    write_floor(s, &rerr);
    if (rerr == NULL)
        rocksdb_write(s->db, sync ? s->wo_sync : s->wo_nosync, b->wb, &rerr);
    pthread_mutex_unlock(&s->write_mu);
    if (rerr == NULL && chio__store_check_present(s, err) != 0) {
        __atomic_store_n(&s->write_failed, 1, __ATOMIC_RELAXED);
        return CHIO_ESTORE; /* written, but into files that are in no log any more */
    }
    if (rerr != NULL) {
        rc = chio__store_fail(&rerr, err, "writing receipts");
        __atomic_store_n(&s->write_failed, 1, __ATOMIC_RELAXED);
        if (rc != CHIO_ECORRUPT) {
            rc = CHIO_ESTORE;
            if (err != NULL)
                err->code = rc;
        }
        return rc;
    }
    return 0;
}
