/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store/claim.c - the store directories this process holds open for
 * writing, by device and inode. RocksDB's own lock file keeps other
 * processes out, but inside one process it tells opens apart by the path
 * string: "dir" and "dir/" (or a symlink, or "./dir") were both let in,
 * and two writers on one log destroyed it (table files deleted under each
 * other; the store no longer opened). A read-write open claims its
 * directory here first and is refused with CHIO_EBUSY while another
 * handle of this process holds it; chio_store_close() gives it back.
 * Owns one small list under one mutex; touched only on open and close.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "store_db.h"
#include "store_internal.h"

typedef struct claim {
    dev_t dev;
    ino_t ino;
    struct claim *next;
} claim;

static pthread_mutex_t claims_mu = PTHREAD_MUTEX_INITIALIZER;
static claim *claims;

int chio__store_claim(const char *path, dev_t *dev, ino_t *ino, chio_error *err)
{
    struct stat st;
    claim *c, *fresh;

    if (stat(path, &st) != 0)
        return chio__fail(err, CHIO_ESTORE, CHIO_NO_OFFSET, "cannot read %s: %s", path,
                          strerror(errno));
    fresh = malloc(sizeof(*fresh));
    if (fresh == NULL)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    pthread_mutex_lock(&claims_mu);
    for (c = claims; c != NULL; c = c->next)
        if (c->dev == st.st_dev && c->ino == st.st_ino)
            break;
    if (c == NULL) {
        fresh->dev = st.st_dev;
        fresh->ino = st.st_ino;
        fresh->next = claims;
        claims = fresh;
    }
    pthread_mutex_unlock(&claims_mu);
    if (c != NULL) {
        free(fresh);
        return chio__fail(err, CHIO_EBUSY, CHIO_NO_OFFSET,
                          "the receipt store at %s is already open for writing in this process "
                          "(maybe under another spelling of its path): one writer per store",
                          path);
    }
    *dev = st.st_dev;
    *ino = st.st_ino;
    return 0;
}

void chio__store_unclaim(dev_t dev, ino_t ino)
{
    claim **p, *c;

    pthread_mutex_lock(&claims_mu);
    for (p = &claims; (c = *p) != NULL; p = &c->next)
        if (c->dev == dev && c->ino == ino) {
            *p = c->next;
            free(c);
            break;
        }
    pthread_mutex_unlock(&claims_mu);
}
