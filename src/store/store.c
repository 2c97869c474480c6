/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store/store.c - the receipt log on RocksDB (C API).
 *
 * Owns every RocksDB handle and the only code that sees RocksDB's
 * `char *err`: store_fail() maps it to a CHIO_E* code, copies the message
 * into the caller's chio_error, rocksdb_free()s it and resets it to NULL.
 * Column families: default (metadata, the signed key record and log head
 * of head.c), receipts (BE seq -> receipt), receipt_ids (id -> BE seq),
 * checkpoints (BE seq -> checkpoint), revocations (capability id ->
 * revocation record), budgets (capability id NUL BE32 grant index -> BE64
 * highest committed invocation count, then BE64 expires_at when known),
 * chain (BE seq -> 32-byte running
 * hash, see head.c). Opening lists every
 * column family already present, so a store written by a newer version
 * still opens; handles are destroyed before rocksdb_close.
 *
 * Locking: RocksDB handles are thread-safe; the write path is called by
 * one kernel thread at a time. The injected-failure counter is atomic.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rocksdb/c.h>

#include "internal.h"
#include "store_internal.h"

#define FORMAT_KEY "format"
/* Table files a read-write or read-only store keeps open at most. */
#define CHIO__STORE_MAX_OPEN_FILES 20
#define DURABLE_KEY                "durable_checkpoint" /* the synced write behind a NOSYNC mark */
#define FORMAT_VALUE               "chio.receipt_store.v1"

enum {
    CF_DEFAULT,
    CF_RECEIPTS,
    CF_IDS,
    CF_CHECKPOINTS,
    CF_REVOCATIONS,
    CF_BUDGETS,
    CF_CHAIN,
    CF_COUNT
};
static const char *const cf_names[CF_COUNT] = {
    "default", "receipts", "receipt_ids", "checkpoints", "revocations", "budgets", "chain"};

struct chio_store {
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_env_t *env; /* memory env for ephemeral stores */
    rocksdb_column_family_handle_t **handles;
    int nhandles;
    rocksdb_column_family_handle_t *cf[CF_COUNT]; /* NULL when absent (read modes) */
    rocksdb_readoptions_t *ro;
    rocksdb_writeoptions_t *wo_sync, *wo_nosync;
    chio_store_mode mode;
    char *secondary_dir;      /* removed on close */
    int fail_writes;          /* test hook, atomic */
    pthread_mutex_t write_mu; /* one writer at a time (see chio__store_write) */
    char *path;               /* on-disk stores: the directory (for the sentinel) */
    /* the sentinel's high-water mark, coalesced (commit thread, then close) */
    uint64_t sentinel_pending; /* a newer checkpoint not yet marked; 0 none */
    int sentinel_synced;       /* its commit synced the WAL */
    int write_failed;          /* a write failed: no mark moves any more (atomic) */
    uint64_t sentinel_at_ms;   /* monotonic time of the last mark */
};

static void write_sentinel(const char *path, uint64_t last_checkpoint);
static void mark_durable(chio_store *s, uint64_t cseq, int synced);

struct chio__store_batch {
    rocksdb_writebatch_t *wb;
};

/* ---- errors -------------------------------------------------------------------------- */

static int store_fail(char **errp, chio_error *err, const char *what)
{
    const char *m = *errp ? *errp : "unknown RocksDB error";
    int code = CHIO_ESTORE;

    if (strncmp(m, "Corruption", 10) == 0)
        code = CHIO_ECORRUPT;
    else if (strstr(m, "lock file") != NULL || strstr(m, "Resource temporarily unavailable"))
        code = CHIO_EBUSY;
    else if (strstr(m, "does not exist") != NULL || strstr(m, "No such file") != NULL)
        code = CHIO_ENOTFOUND;
    chio__fail(err, code, CHIO_NO_OFFSET, "%s: %s", what, m);
    if (*errp != NULL)
        rocksdb_free(*errp);
    *errp = NULL;
    return code;
}

void chio__store_key(uint64_t v, unsigned char key[8])
{
    int i;

    for (i = 7; i >= 0; i--) {
        key[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t key_value(const char *k)
{
    const unsigned char *u = (const unsigned char *)k;
    uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++)
        v = (v << 8) | u[i];
    return v;
}

/* ---- open and close ------------------------------------------------------------------- */

static rocksdb_options_t *make_options(chio_store_mode mode)
{
    rocksdb_options_t *o = rocksdb_options_create();

    rocksdb_options_set_create_if_missing(o, mode == CHIO_STORE_READ_WRITE);
    rocksdb_options_set_create_missing_column_families(o, mode == CHIO_STORE_READ_WRITE);
    rocksdb_options_set_paranoid_checks(o, 1);
    /* No periodic statistics threads; an info log with its header only.
     * Debian's librocksdb keeps its assertions, and its file logger aborts
     * the process on the next line after a failed write: on a full disk,
     * any warning (closing the store after a failed commit, say) killed the
     * host. Our errors carry RocksDB's status text instead. */
    rocksdb_options_set_stats_dump_period_sec(o, 0);
    rocksdb_options_set_stats_persist_period_sec(o, 0);
    rocksdb_options_set_info_log_level(o, 5 /* HEADER_LEVEL */);
    rocksdb_options_set_keep_log_file_num(o, 2);
    rocksdb_options_set_max_log_file_size(o, 1 << 20);
    /* WAL recovery: a torn record at the tail (a crash mid-write: never an
     * acknowledged receipt, those were synced) is dropped; corruption
     * anywhere else refuses to open, instead of RocksDB's default
     * point-in-time recovery silently stopping at the damage and losing
     * every acknowledged receipt after it. (This mode rules out recycling
     * WAL files, which made synced writes about a third cheaper.) */
    rocksdb_options_set_wal_recovery_mode(o, 0 /* kTolerateCorruptedTailRecords */);
    /* Bounded memory: receipts are append-only and read rarely, so small
     * memtables (flushed often, 2 MiB each, at most 8 MiB in all) keep a
     * long-running kernel's footprint flat instead of RocksDB's 64 MiB per
     * column family default. Small also for the tail latency: a flush is
     * one burst of CPU on a background thread, and on a small machine the
     * calls queue behind it; the p99 at half load tracked the memtable
     * size (64 MiB: 31-33 ms, 8 MiB: 9-11, 2 MiB: about 4; throughput the
     * same; docs/performance.md, "The hot path"). */
    rocksdb_options_set_write_buffer_size(o, 2u << 20);
    rocksdb_options_set_max_write_buffer_number(o, 2);
    rocksdb_options_set_db_write_buffer_size(o, 8u << 20);
    /* Bounded file descriptors: RocksDB keeps every table file open by
     * default, so a store's fds grew with its size (a 10-minute soak: 22
     * -> 84 and rising). With a cap, RocksDB keeps 10 fewer table files
     * than this in its table cache (here 10): the log is append-only, so
     * the newest files are the ones in use; older ones reopen when read. */
    if (mode == CHIO_STORE_SECONDARY)
        rocksdb_options_set_max_open_files(o, -1); /* required by secondary instances */
    else
        rocksdb_options_set_max_open_files(o, CHIO__STORE_MAX_OPEN_FILES);
    return o;
}

void chio_store_close(chio_store *s)
{
    int i;

    if (s == NULL)
        return;
    if (s->sentinel_pending != 0 && s->path != NULL && s->db != NULL)
        mark_durable(s, s->sentinel_pending, s->sentinel_synced); /* the newest mark */
    if (s->db != NULL) {
        /* Column family handles go before the database. */
        for (i = 0; i < s->nhandles; i++)
            if (s->handles[i] != NULL)
                rocksdb_column_family_handle_destroy(s->handles[i]);
        rocksdb_close(s->db);
    }
    free(s->handles);
    if (s->ro)
        rocksdb_readoptions_destroy(s->ro);
    if (s->wo_sync)
        rocksdb_writeoptions_destroy(s->wo_sync);
    if (s->wo_nosync)
        rocksdb_writeoptions_destroy(s->wo_nosync);
    if (s->opts)
        rocksdb_options_destroy(s->opts);
    if (s->env)
        rocksdb_env_destroy(s->env);
    if (s->secondary_dir != NULL) {
        char *cmd;
        if (asprintf(&cmd, "rm -rf '%s'", s->secondary_dir) >= 0) {
            if (system(cmd) != 0) { /* best effort: a leftover temp dir is harmless */
            }
            free(cmd);
        }
        free(s->secondary_dir);
    }
    pthread_mutex_destroy(&s->write_mu);
    free(s->path);
    free(s);
}

/* The union of the families on disk and the ones we need. */
static int family_names(chio_store *s, const char *path, char ***names, size_t *n, int *fresh,
                        chio_error *err)
{
    char *rerr = NULL, **have;
    size_t nhave = 0, i, j, total;

    *fresh = 0;
    have = rocksdb_list_column_families(s->opts, path, &nhave, &rerr);
    if (rerr != NULL) {
        rocksdb_free(rerr);
        if (have != NULL)
            rocksdb_list_column_families_destroy(have, 0);
        have = NULL;
        nhave = 0;
        *fresh = 1; /* no database there yet */
    }
    *names = calloc(nhave + CF_COUNT, sizeof(char *));
    if (*names == NULL) {
        rocksdb_list_column_families_destroy(have, nhave);
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
    for (i = 0; i < nhave; i++)
        (*names)[i] = strdup(have[i]);
    total = nhave;
    for (j = 0; j < CF_COUNT; j++) {
        for (i = 0; i < nhave; i++)
            if (strcmp(have[i], cf_names[j]) == 0)
                break;
        if (i == nhave && (s->mode == CHIO_STORE_READ_WRITE || j == CF_DEFAULT))
            (*names)[total++] = strdup(cf_names[j]);
    }
    rocksdb_list_column_families_destroy(have, nhave);
    for (i = 0; i < total; i++)
        if ((*names)[i] == NULL)
            return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    *n = total;
    return 0;
}

static int check_format(chio_store *s, int fresh, chio_error *err)
{
    char *rerr = NULL, *val;
    size_t len = 0;
    int rc = 0;

    val = rocksdb_get_cf(s->db, s->ro, s->cf[CF_DEFAULT], FORMAT_KEY, strlen(FORMAT_KEY), &len,
                         &rerr);
    if (rerr != NULL)
        return store_fail(&rerr, err, "reading the store format");
    if (val == NULL) {
        if (!fresh && s->cf[CF_RECEIPTS] == NULL && s->mode != CHIO_STORE_READ_WRITE)
            return chio__fail(err, CHIO_ENOTFOUND, CHIO_NO_OFFSET,
                              "not a chio receipt store (no receipts column family)");
        if (s->mode == CHIO_STORE_READ_WRITE) {
            rocksdb_put_cf(s->db, s->wo_sync, s->cf[CF_DEFAULT], FORMAT_KEY, strlen(FORMAT_KEY),
                           FORMAT_VALUE, strlen(FORMAT_VALUE), &rerr);
            if (rerr != NULL)
                return store_fail(&rerr, err, "writing the store format");
        }
        return 0;
    }
    if (len != strlen(FORMAT_VALUE) || memcmp(val, FORMAT_VALUE, len) != 0)
        rc = chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                        "store format is \"%.*s\", this library reads " FORMAT_VALUE,
                        (int)(len > 64 ? 64 : len), val);
    rocksdb_free(val);
    return rc;
}

static int open_at(const char *path, chio_store_mode mode, rocksdb_env_t *env, chio_store **out,
                   chio_error *err)
{
    chio_store *s;
    char **names = NULL, *rerr = NULL;
    const rocksdb_options_t **cfopts = NULL;
    size_t n = 0, i, j;
    int rc, fresh = 0;
    struct stat st;

    s = calloc(1, sizeof(*s));
    if (s != NULL)
        pthread_mutex_init(&s->write_mu, NULL);
    if (s == NULL)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    s->mode = mode;
    s->env = env;
    s->opts = make_options(mode);
    if (env != NULL)
        rocksdb_options_set_env(s->opts, env);
    s->ro = rocksdb_readoptions_create();
    s->wo_sync = rocksdb_writeoptions_create();
    s->wo_nosync = rocksdb_writeoptions_create();
    if (env != NULL) {
        /* An ephemeral store lives in memory and dies with the process: a
         * write-ahead log there would only be one more copy of every
         * receipt in RAM (and RocksDB refuses sync writes without one). */
        rocksdb_writeoptions_disable_WAL(s->wo_sync, 1);
        rocksdb_writeoptions_disable_WAL(s->wo_nosync, 1);
    } else {
        rocksdb_writeoptions_set_sync(s->wo_sync, 1);
    }

    if (env == NULL && mode != CHIO_STORE_READ_WRITE && stat(path, &st) != 0) {
        chio_store_close(s);
        return chio__fail(err, CHIO_ENOTFOUND, CHIO_NO_OFFSET, "no receipt store at %s", path);
    }
    rc = family_names(s, path, &names, &n, &fresh, err);
    if (rc != 0)
        goto out;
    if (fresh && mode != CHIO_STORE_READ_WRITE) {
        rc = chio__fail(err, CHIO_ENOTFOUND, CHIO_NO_OFFSET, "no receipt store at %s", path);
        goto out;
    }
    s->handles = calloc(n, sizeof(*s->handles));
    cfopts = calloc(n, sizeof(*cfopts));
    if (s->handles == NULL || cfopts == NULL) {
        rc = chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
        goto out;
    }
    for (i = 0; i < n; i++)
        cfopts[i] = s->opts;
    if (mode == CHIO_STORE_READ_WRITE) {
        s->db = rocksdb_open_column_families(s->opts, path, (int)n, (const char *const *)names,
                                             cfopts, s->handles, &rerr);
    } else if (mode == CHIO_STORE_READ_ONLY) {
        s->db = rocksdb_open_for_read_only_column_families(
            s->opts, path, (int)n, (const char *const *)names, cfopts, s->handles, 0, &rerr);
    } else {
        if (asprintf(&s->secondary_dir, "%s/chio-secondary-XXXXXX",
                     getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp") < 0 ||
            mkdtemp(s->secondary_dir) == NULL) {
            free(s->secondary_dir);
            s->secondary_dir = NULL;
            rc = chio__fail(err, CHIO_ESYS, CHIO_NO_OFFSET,
                            "cannot create a directory for the secondary instance: %s",
                            strerror(errno));
            goto out;
        }
        s->db = rocksdb_open_as_secondary_column_families(s->opts, path, s->secondary_dir, (int)n,
                                                          (const char *const *)names, cfopts,
                                                          s->handles, &rerr);
    }
    if (rerr != NULL) {
        s->nhandles = 0;
        rc = store_fail(&rerr, err, "opening the receipt store");
        goto out;
    }
    s->nhandles = (int)n;
    for (i = 0; i < n; i++)
        for (j = 0; j < CF_COUNT; j++)
            if (strcmp(names[i], cf_names[j]) == 0)
                s->cf[j] = s->handles[i];
    rc = check_format(s, fresh, err);
out:
    for (i = 0; names != NULL && i < n; i++)
        free(names[i]);
    free(names);
    free(cfopts);
    if (rc != 0) {
        chio_store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

/*
 * The sentinel: a file written next to RocksDB's once a store has been
 * created. RocksDB cannot tell "this directory never held a log" from "its
 * MANIFEST or CURRENT was damaged" (it then opens an empty or older
 * database, and a read-write open deletes the files it no longer knows).
 * A directory with the sentinel must open as a chio store with its format
 * record, or the open fails with CHIO_ECORRUPT; a read-write open first
 * checks that through a read-only open, which changes no file.
 */
#define SENTINEL_NAME "CHIO-RECEIPT-STORE"

static int has_sentinel(const char *path)
{
    char *p;
    struct stat st;
    int ok;

    if (asprintf(&p, "%s/" SENTINEL_NAME, path) < 0)
        return 0;
    ok = stat(p, &st) == 0;
    free(p);
    return ok;
}

/* The directory's entries (a rename) made durable. */
static void sync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* The sentinel also records the newest checkpoint known to be durable (a
 * high-water mark): a log that opens with fewer checkpoints lost data. It
 * is replaced atomically (write, fsync, rename, fsync of the directory). */
static void write_sentinel(const char *path, uint64_t last_checkpoint)
{
    char *p = NULL, *tmp = NULL;
    FILE *f;

    if (asprintf(&p, "%s/" SENTINEL_NAME, path) < 0 ||
        asprintf(&tmp, "%s/" SENTINEL_NAME ".tmp", path) < 0) {
        free(p);
        return;
    }
    f = fopen(tmp, "w");
    if (f != NULL) {
        int ok = fprintf(f, FORMAT_VALUE "\nlast_checkpoint %llu\n",
                         (unsigned long long)last_checkpoint) > 0;
        ok = fflush(f) == 0 && ok;
        ok = fsync(fileno(f)) == 0 && ok;
        ok = fclose(f) == 0 && ok;
        if (ok && rename(tmp, p) == 0)
            sync_dir(path);
        else
            unlink(tmp);
    }
    free(p);
    free(tmp);
}

static uint64_t sentinel_checkpoint(const char *path)
{
    unsigned long long v = 0;
    char *p;
    FILE *f;

    if (asprintf(&p, "%s/" SENTINEL_NAME, path) < 0)
        return 0;
    f = fopen(p, "r");
    free(p);
    if (f == NULL)
        return 0;
    if (fscanf(f, "%*s last_checkpoint %llu", &v) != 1)
        v = 0;
    fclose(f);
    return (uint64_t)v;
}

/* At most one sentinel write (two fsyncs) a second: the mark may lag the
 * log by that much, which only narrows what an open can tell was lost; it
 * never claims a checkpoint that is not durable. Without WAL syncs on the
 * commits, the WAL is synced first (one sync a second at most), so the
 * marked checkpoint is durable too. The newest mark is written at close. */
#define SENTINEL_INTERVAL_MS 1000

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Move the mark to @cseq. When its commit did not sync the WAL, a small
 * synced write does (through the ordinary write path, which reports an
 * I/O error; Debian's RocksDB asserts on a WAL flush after one). Never
 * after a failed write: nothing is claimed durable then. */
static void mark_durable(chio_store *s, uint64_t cseq, int synced)
{
    char *rerr = NULL;
    unsigned char v[8];

    if (__atomic_load_n(&s->write_failed, __ATOMIC_RELAXED))
        return;
    if (!synced) {
        chio__store_key(cseq, v);
        pthread_mutex_lock(&s->write_mu);
        rocksdb_put_cf(s->db, s->wo_sync, s->cf[CF_DEFAULT], DURABLE_KEY, strlen(DURABLE_KEY),
                       (const char *)v, 8, &rerr);
        pthread_mutex_unlock(&s->write_mu);
        if (rerr != NULL) { /* not durable: leave the mark where it is */
            rocksdb_free(rerr);
            __atomic_store_n(&s->write_failed, 1, __ATOMIC_RELAXED);
            return;
        }
    }
    write_sentinel(s->path, cseq);
    s->sentinel_pending = 0;
    s->sentinel_synced = 1;
}

void chio__store_note_checkpoint(chio_store *s, uint64_t cseq, int synced)
{
    uint64_t now;

    if (s == NULL || s->path == NULL || s->mode != CHIO_STORE_READ_WRITE)
        return;
    now = mono_ms();
    if (s->sentinel_at_ms != 0 && now - s->sentinel_at_ms < SENTINEL_INTERVAL_MS) {
        s->sentinel_pending = cseq;
        s->sentinel_synced = synced;
        return;
    }
    s->sentinel_at_ms = now;
    mark_durable(s, cseq, synced);
}

/* A marked store must hold its format record. */
static int check_intact(chio_store *s, const char *path, chio_error *err)
{
    char *rerr = NULL, *val;
    size_t len = 0;

    val = rocksdb_get_cf(s->db, s->ro, s->cf[CF_DEFAULT], FORMAT_KEY, strlen(FORMAT_KEY), &len,
                         &rerr);
    if (rerr != NULL)
        return store_fail(&rerr, err, "reading the store format");
    if (val == NULL || s->cf[CF_RECEIPTS] == NULL)
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                          "the receipt store at %s is damaged: it was created here, but RocksDB "
                          "recovers no chio log from its files (MANIFEST or CURRENT lost?); "
                          "refusing to open it as a new one",
                          path);
    rocksdb_free(val);
    {
        uint64_t want = sentinel_checkpoint(path), have = 0;
        int rc = chio_store_last_checkpoint_seq(s, &have, err);
        if (rc != 0)
            return rc;
        if (have < want)
            return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                              "the receipt store at %s is damaged: checkpoint %llu was durable "
                              "but the log now ends at checkpoint %llu (lost table files?)",
                              path, (unsigned long long)want, (unsigned long long)have);
    }
    return 0;
}

static int damaged(int rc, const char *path, chio_error *err)
{
    char why[256];

    if (rc == CHIO_ECORRUPT || rc == CHIO_EBUSY || rc == CHIO_ENOMEM)
        return rc;
    snprintf(why, sizeof(why), "%s", err ? err->message : chio_strerror(rc));
    return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                      "the receipt store at %.200s is damaged: %.200s", path, why);
}

int chio_store_open(const char *path, chio_store_mode mode, chio_store **out, chio_error *err)
{
    int marked, rc;

    if (out == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "out is NULL");
    *out = NULL;
    if (path == NULL || path[0] == '\0' || mode < CHIO_STORE_READ_WRITE ||
        mode > CHIO_STORE_SECONDARY)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "store path is empty or mode invalid");
    if (mode == CHIO_STORE_READ_WRITE && mkdir(path, 0700) != 0 && errno != EEXIST)
        return chio__fail(err, CHIO_ESTORE, CHIO_NO_OFFSET, "cannot create %s: %s", path,
                          strerror(errno));
    marked = has_sentinel(path);
    /* A read-only open reads every table file and changes none: the check
     * before a read-write open (which would delete files RocksDB no longer
     * knows) and before a secondary one (which skips unreadable files). */
    if (marked && mode != CHIO_STORE_READ_ONLY) {
        chio_store *probe = NULL;
        rc = open_at(path, CHIO_STORE_READ_ONLY, NULL, &probe, err);
        if (rc == 0)
            rc = check_intact(probe, path, err);
        chio_store_close(probe);
        if (rc != 0)
            return damaged(rc, path, err);
    }
    rc = open_at(path, mode, NULL, out, err);
    if (rc != 0)
        return marked ? damaged(rc, path, err) : rc;
    if (marked) {
        rc = check_intact(*out, path, err);
        if (rc != 0) {
            chio_store_close(*out);
            *out = NULL;
            return rc;
        }
    } else if (mode == CHIO_STORE_READ_WRITE) {
        uint64_t cp = 0;
        chio_store_last_checkpoint_seq(*out, &cp, NULL);
        write_sentinel(path, cp); /* the format record is synced: mark the store */
    }
    if (mode == CHIO_STORE_READ_WRITE) {
        (*out)->path = strdup(path);
        if ((*out)->path == NULL) {
            chio_store_close(*out);
            *out = NULL;
            return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
        }
    }
    return 0;
}

int chio__store_open_ephemeral(chio_store **out, chio_error *err)
{
    rocksdb_env_t *env = rocksdb_create_mem_env();

    *out = NULL;
    if (env == NULL)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "cannot create a memory env");
    return open_at("/chio-ephemeral", CHIO_STORE_READ_WRITE, env, out, err);
}

int chio_store_catch_up(chio_store *s, chio_error *err)
{
    char *rerr = NULL;

    if (s == NULL || s->mode != CHIO_STORE_SECONDARY)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "not a secondary store");
    rocksdb_try_catch_up_with_primary(s->db, &rerr);
    if (rerr != NULL)
        return store_fail(&rerr, err, "catching up with the primary");
    return 0;
}

/* ---- reads ------------------------------------------------------------------------------ */

static int edge_key(chio_store *s, int cf, int last, uint64_t *out, chio_error *err)
{
    rocksdb_iterator_t *it;
    char *rerr = NULL;
    size_t klen = 0;
    const char *k;
    int rc = 0;

    *out = 0;
    if (s->cf[cf] == NULL)
        return 0;
    it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[cf]);
    if (last)
        rocksdb_iter_seek_to_last(it);
    else
        rocksdb_iter_seek_to_first(it);
    if (rocksdb_iter_valid(it)) {
        k = rocksdb_iter_key(it, &klen);
        if (klen != 8)
            rc = chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET, "a %s key is not 8 bytes",
                            cf_names[cf]);
        else
            *out = key_value(k);
    }
    rocksdb_iter_get_error(it, &rerr);
    if (rerr != NULL)
        rc = store_fail(&rerr, err, "iterating the store");
    rocksdb_iter_destroy(it);
    return rc;
}

int chio_store_seq_range(chio_store *s, uint64_t *first, uint64_t *last, chio_error *err)
{
    int rc;

    if (s == NULL || first == NULL || last == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL argument");
    rc = edge_key(s, CF_RECEIPTS, 0, first, err);
    return rc ? rc : edge_key(s, CF_RECEIPTS, 1, last, err);
}

int chio_store_last_checkpoint_seq(chio_store *s, uint64_t *last, chio_error *err)
{
    if (s == NULL || last == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL argument");
    return edge_key(s, CF_CHECKPOINTS, 1, last, err);
}

static int get_value(chio_store *s, int cf, const char *key, size_t klen, char **json, size_t *len,
                     chio_error *err)
{
    char *rerr = NULL, *val, *copy;
    size_t vlen = 0;

    *json = NULL;
    if (s->cf[cf] == NULL)
        return chio__fail(err, CHIO_ENOTFOUND, CHIO_NO_OFFSET, "not found");
    val = rocksdb_get_cf(s->db, s->ro, s->cf[cf], key, klen, &vlen, &rerr);
    if (rerr != NULL)
        return store_fail(&rerr, err, "reading the store");
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

    if (s == NULL || json == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL argument");
    chio__store_key(seq, key);
    return get_value(s, CF_RECEIPTS, (const char *)key, 8, json, len, err);
}

int chio_store_get_checkpoint(chio_store *s, uint64_t checkpoint_seq, char **json, size_t *len,
                              chio_error *err)
{
    unsigned char key[8];

    if (s == NULL || json == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL argument");
    chio__store_key(checkpoint_seq, key);
    return get_value(s, CF_CHECKPOINTS, (const char *)key, 8, json, len, err);
}

int chio_store_find_receipt(chio_store *s, const char *id, uint64_t *seq, chio_error *err)
{
    char *val = NULL;
    size_t len = 0;
    int rc;

    if (s == NULL || id == NULL || seq == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL argument");
    rc = get_value(s, CF_IDS, id, strlen(id), &val, &len, err);
    if (rc != 0)
        return rc;
    if (len != 8) {
        free(val);
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET, "id index entry is not 8 bytes");
    }
    *seq = key_value(val);
    free(val);
    return 0;
}

static int scan_cf(chio_store *s, int cf, uint64_t from, chio_store_visit_fn fn, void *ctx,
                   chio_error *err)
{
    rocksdb_iterator_t *it;
    unsigned char key[8];
    char *rerr = NULL;
    int rc = 0;

    if (s == NULL || fn == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL argument");
    if (s->cf[cf] == NULL)
        return 0;
    it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[cf]);
    chio__store_key(from, key);
    for (rocksdb_iter_seek(it, (const char *)key, 8); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen), *v = rocksdb_iter_value(it, &vlen);
        if (klen != 8) {
            rc = chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET, "a %s key is not 8 bytes",
                            cf_names[cf]);
            break;
        }
        rc = fn(ctx, key_value(k), v, vlen);
        if (rc != 0)
            break;
    }
    rocksdb_iter_get_error(it, &rerr);
    if (rerr != NULL && rc == 0)
        rc = store_fail(&rerr, err, "iterating the store");
    if (rerr != NULL)
        rocksdb_free(rerr);
    rocksdb_iter_destroy(it);
    return rc;
}

int chio_store_scan(chio_store *s, uint64_t from, chio_store_visit_fn fn, void *ctx,
                    chio_error *err)
{
    return scan_cf(s, CF_RECEIPTS, from, fn, ctx, err);
}

int chio_store_scan_checkpoints(chio_store *s, uint64_t from, chio_store_visit_fn fn, void *ctx,
                                chio_error *err)
{
    return scan_cf(s, CF_CHECKPOINTS, from, fn, ctx, err);
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
    it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[CF_REVOCATIONS]);
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it) && rc == 0; rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        const char *v = rocksdb_iter_value(it, &vlen);
        rc = fn(ctx, k, klen, v, vlen);
    }
    rocksdb_iter_get_error(it, &rerr);
    if (rerr != NULL && rc == 0)
        rc = store_fail(&rerr, err, "reading revocations");
    if (rerr != NULL)
        rocksdb_free(rerr);
    rocksdb_iter_destroy(it);
    return rc;
}

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
    rc = get_value(s, CF_DEFAULT, name, strlen(name), &val, &len, err);
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
    return get_value(s, CF_DEFAULT, name, strlen(name), value, len, err);
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
    rc = get_value(s, CF_CHAIN, (const char *)key, 8, &val, &len, err);
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
    int rc = edge_key(s, CF_CHAIN, 0, &first, err);

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
        rc = fn(ctx, k, klen, key_value(v), vlen == 16 ? key_value(v + 8) : 0);
    }
    rocksdb_iter_get_error(it, &rerr);
    if (rerr != NULL && rc == 0)
        rc = store_fail(&rerr, err, "reading budgets");
    if (rerr != NULL)
        rocksdb_free(rerr);
    rocksdb_iter_destroy(it);
    return rc;
}

void chio__store_fail_writes(chio_store *s, int n)
{
    __atomic_store_n(&s->fail_writes, n, __ATOMIC_SEQ_CST);
}

int chio__store_write(chio_store *s, chio__store_batch *b, int sync, chio_error *err)
{
    char *rerr = NULL;
    int inject = __atomic_load_n(&s->fail_writes, __ATOMIC_SEQ_CST);

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
    rocksdb_write(s->db, sync ? s->wo_sync : s->wo_nosync, b->wb, &rerr);
    pthread_mutex_unlock(&s->write_mu);
    if (rerr != NULL) {
        int rc = store_fail(&rerr, err, "writing receipts");
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
