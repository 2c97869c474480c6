/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store/sentinel.c - the store's sentinel file (CHIO-RECEIPT-STORE): its
 * presence marks a directory that holds a log (store.c's open checks it),
 * and it records the newest checkpoint known to be durable, the
 * high-water mark an open compares the log with. Writing it (atomically),
 * reading its mark, and moving the mark as a kernel commits checkpoints
 * (at most once a second, and the newest at close). A mark that cannot
 * be written fails the store's writes like a failed write (review 54).
 *
 * Locking: the mark moves on the kernel's commit thread, then at close.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rocksdb/c.h>

#include "internal.h"
#include "store_db.h"
#include "store_internal.h"

/* The directory's entries (a rename) made durable. */
static void sync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* "@dir/CHIO-RECEIPT-STORE@suffix" into @buf (PATH_MAX bytes), without
 * allocating: the mark moves on the commit thread, where an allocation
 * failure must not become a failed mark (that fails the kernel closed).
 * Returns 0 or ENAMETOOLONG. */
static int sentinel_name(char *buf, const char *dir, const char *suffix)
{
    int n = snprintf(buf, PATH_MAX, "%s/" CHIO__STORE_SENTINEL "%s", dir, suffix);

    return n < 0 || n >= PATH_MAX ? ENAMETOOLONG : 0;
}

/* All of @len bytes of @buf to @fd; 0 or an errno. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : EIO;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The sentinel also records the newest checkpoint known to be durable (a
 * high-water mark): a log that opens with fewer checkpoints lost data. It
 * is replaced atomically (write, fsync, rename, fsync of the directory), so
 * the file is there at every moment. Nothing here allocates. Returns 0 or
 * the errno of the failed step (the old sentinel, if any, is left as it
 * was). */
int chio__store_write_sentinel(const char *path, uint64_t last_checkpoint)
{
    char p[PATH_MAX], tmp[PATH_MAX], body[64];
    int e, n, fd;

    e = sentinel_name(p, path, "");
    if (e == 0)
        e = sentinel_name(tmp, path, ".tmp");
    if (e != 0)
        return e;
    n = snprintf(body, sizeof(body), CHIO__STORE_FORMAT "\nlast_checkpoint %llu\n",
                 (unsigned long long)last_checkpoint);
    if (n < 0 || (size_t)n >= sizeof(body))
        return EOVERFLOW;
    /* A fresh file, never one planted under the name: a link (the write
     * landed wherever it pointed) or a FIFO (the commit thread blocked
     * waiting for a reader) is removed first. */
    (void)unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0666);
    if (fd < 0)
        return errno ? errno : EIO;
    e = write_all(fd, body, (size_t)n);
    if (e == 0 && fsync(fd) != 0)
        e = errno ? errno : EIO;
    if (close(fd) != 0 && e == 0 && errno != EINTR)
        e = errno ? errno : EIO;
    if (e == 0 && rename(tmp, p) != 0)
        e = errno ? errno : EIO;
    if (e != 0) {
        unlink(tmp);
        return e;
    }
    sync_dir(path);
    return 0;
}

/* @text (@n bytes) as the one form a sentinel was ever written in,
 * "<format>\nlast_checkpoint <digits>\n" (since the sentinel came in;
 * chio__store_write_sentinel): its mark into *@mark, or -1. */
static int parse_mark(const char *text, size_t n, uint64_t *mark)
{
    static const char head[] = CHIO__STORE_FORMAT "\nlast_checkpoint ";
    size_t i = sizeof(head) - 1, digits = 0;
    uint64_t v = 0;

    if (n <= i || memcmp(text, head, i) != 0)
        return -1;
    for (; i < n && text[i] >= '0' && text[i] <= '9'; i++, digits++) {
        unsigned d = (unsigned)(text[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1; /* past 2^64-1: no mark written it */
        v = v * 10 + d;
    }
    if (digits == 0 || i + 1 != n || text[i] != '\n')
        return -1;
    *mark = v;
    return 0;
}

/* The mark the sentinel records into *@mark: 0 and a mark of 0 when there
 * is no file. Read without following a link or blocking, and only while
 * it is a regular file (chio__store_check_sentinel refused anything else
 * at the open; this covers a swap after it), at most 255 bytes. A file
 * that cannot be opened or read (other than ENOENT) gives its errno, and
 * one holding anything but the form the writer writes gives
 * CHIO__SENTINEL_MALFORMED: before review 9 (audit) both read as no mark,
 * and a damaged sentinel silently stopped guarding the log. Nothing here
 * allocates. */
int chio__store_sentinel_checkpoint(const char *path, uint64_t *mark)
{
    char p[PATH_MAX], buf[256];
    struct stat st;
    size_t have = 0;
    int fd, e;

    *mark = 0;
    e = sentinel_name(p, path, "");
    if (e != 0)
        return e;
    fd = open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : errno ? errno : EIO;
    if (fstat(fd, &st) != 0)
        e = errno ? errno : EIO;
    else if (!S_ISREG(st.st_mode))
        e = CHIO__SENTINEL_MALFORMED;
    while (e == 0 && have < sizeof(buf)) {
        ssize_t n = read(fd, buf + have, sizeof(buf) - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            e = errno ? errno : EIO;
        else if (n == 0)
            break;
        else
            have += (size_t)n;
    }
    close(fd);
    if (e == 0 && (have == sizeof(buf) || parse_mark(buf, have, mark) != 0))
        e = CHIO__SENTINEL_MALFORMED;
    return e;
}

int chio__store_read_mark(const char *path, uint64_t *mark, chio_error *err)
{
    int e = chio__store_sentinel_checkpoint(path, mark);

    /* Short enough for chio_error's 256 bytes with an 80-byte path. */
    if (e == CHIO__SENTINEL_MALFORMED)
        return chio__fail(err, CHIO_ESTORE, CHIO_NO_OFFSET,
                          "the receipt store at %.80s: its '" CHIO__STORE_SENTINEL
                          "' file holds no mark this library writes; refusing to open it (move "
                          "that file away, then audit the store)",
                          path);
    if (e != 0)
        return chio__fail(err, CHIO_ESTORE, CHIO_NO_OFFSET,
                          "the receipt store at %.80s: its '" CHIO__STORE_SENTINEL
                          "' file cannot be read (%.40s); refusing to open it (make it readable, "
                          "then audit the store)",
                          path, strerror(e));
    return 0;
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
    int e;

    if (__atomic_load_n(&s->write_failed, __ATOMIC_RELAXED))
        return;
    if (!synced) {
        chio__store_key(cseq, v);
        pthread_mutex_lock(&s->write_mu);
        rocksdb_put_cf(s->db, s->wo_sync, s->cf[CF_DEFAULT], CHIO__META_DURABLE_CHECKPOINT,
                       strlen(CHIO__META_DURABLE_CHECKPOINT), (const char *)v, 8, &rerr);
        pthread_mutex_unlock(&s->write_mu);
        if (rerr != NULL) { /* not durable: leave the mark where it is */
            rocksdb_free(rerr);
            __atomic_store_n(&s->write_failed, 1, __ATOMIC_RELAXED);
            return;
        }
    }
    e = chio__store_write_sentinel(s->path, cseq);
    s->sentinel_pending = 0;
    s->sentinel_synced = 1;
    if (e != 0) {
        /* The mark stays lower (never higher), and would for good: the
         * rollback check an open makes stops at it. Before review 54 the
         * failure was dropped (a directory planted in the sentinel's place
         * froze the mark unseen). It counts as a failed write: the kernel
         * fails closed and logs why (chio__store_mark_error). */
        __atomic_store_n(&s->mark_failed_at, cseq, __ATOMIC_RELAXED);
        __atomic_store_n(&s->mark_errno, e, __ATOMIC_SEQ_CST);
        __atomic_store_n(&s->write_failed, 1, __ATOMIC_SEQ_CST);
    }
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

void chio__store_flush_mark(chio_store *s)
{
    if (s != NULL && s->sentinel_pending != 0 && s->path != NULL && s->db != NULL)
        mark_durable(s, s->sentinel_pending, s->sentinel_synced);
}

int chio__store_mark_error(chio_store *s, chio_error *err)
{
    int e = s != NULL ? __atomic_load_n(&s->mark_errno, __ATOMIC_SEQ_CST) : 0;

    if (e == 0)
        return 0;
    return chio__fail(err, CHIO_ESTORE, CHIO_NO_OFFSET,
                      "cannot write the store's sentinel file %.80s/" CHIO__STORE_SENTINEL
                      " (the mark of checkpoint %llu): %s; an open could not tell a log cut back "
                      "below it, so nothing more is written",
                      s->path,
                      (unsigned long long)__atomic_load_n(&s->mark_failed_at, __ATOMIC_RELAXED),
                      strerror(e));
}
