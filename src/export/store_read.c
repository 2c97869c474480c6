/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export/store_read.c - how the fleet tools read a local receipt log:
 * open it (a read-only snapshot, else a secondary instance that follows a
 * live kernel), learn the key of the kernel that writes it, its first
 * checkpoint (above 1 once archived) and which store the directory holds
 * (to notice one replaced under a follower), and tell a stream item that
 * kernel published from one another client wrote into its subject.
 * Public API only (chio/store.h, chio/receipt.h, chio/checkpoint.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chio/chio.h"
#include "export.h"

chio_store *chio__fleet_open_store(const char *cmd, const char *db, int follow, FILE *err)
{
    chio_store *s = NULL;
    chio_error e;
    int rc;

    chio_error_init(&e);
    if (!follow) {
        /* Read-only first: it reads every file and refuses a damaged one. */
        rc = chio_store_open(db, CHIO_STORE_READ_ONLY, &s, &e);
        if (rc == 0)
            return s;
        if (rc == CHIO_ENOTFOUND || rc == CHIO_ECORRUPT) {
            if (err != NULL)
                fprintf(err, "chio %s: %s: %s (%s)\n", cmd, db, e.message, chio_err_name(rc));
            return NULL;
        }
        chio_error_init(&e);
    }
    rc = chio_store_open(db, CHIO_STORE_SECONDARY, &s, &e);
    if (rc == 0)
        rc = chio_store_catch_up(s, &e);
    if (rc == 0)
        return s;
    chio_store_close(s);
    if (err != NULL)
        fprintf(err, "chio %s: %s: %s (%s)\n", cmd, db, e.message, chio_err_name(rc));
    return NULL;
}

int chio__fleet_store_key(chio_store *s, char hex[65])
{
    chio_store_audit_v2 v;
    chio_receipt *r = NULL;
    uint64_t first = 0, last = 0;
    char *json = NULL;
    size_t len = 0;
    int rc;

    hex[0] = '\0';
    if (chio_store_seq_range(s, &first, &last, NULL) == 0 && last > 0 &&
        chio_store_get_receipt(s, first, &json, &len, NULL) == 0) {
        rc = chio_receipt_parse(json, len, &r, NULL);
        chio_free(json);
        if (rc == 0 && chio_receipt_kernel_key_hex(r) != NULL &&
            strlen(chio_receipt_kernel_key_hex(r)) == 64)
            memcpy(hex, chio_receipt_kernel_key_hex(r), 65);
        chio_receipt_free(r);
        return hex[0] ? 0 : -1;
    }
    if (last > 0)
        return -1;
    /* No receipt: the key record (a store with no receipts audits at once). */
    memset(&v, 0, sizeof(v));
    v.size = sizeof(v);
    if (chio_store_audit_log_v2(s, NULL, 0, NULL, NULL, &v, NULL) != 0 ||
        strlen(v.signer_hex) != 64)
        return -1;
    memcpy(hex, v.signer_hex, 65);
    return 0;
}

int chio__fleet_is_publication(chio_store *s, const char *key, int receipts, uint64_t seq,
                               const char *data, size_t len)
{
    int ok = 0;

    if (receipts) {
        chio_receipt *r = NULL;
        chio_receipt_report rep;
        const char *json;
        size_t clen = 0;
        uint64_t at = 0;

        if (chio_receipt_parse(data, len, &r, NULL) != 0)
            return 0;
        memset(&rep, 0, sizeof(rep));
        json = chio_receipt_json(r, &clen);
        ok = clen == len && memcmp(json, data, len) == 0 &&
             chio_receipt_verify(r, NULL, 0, &rep) == 0 && rep.signature_valid &&
             rep.receipt_id_valid && strcmp(chio_receipt_kernel_key_hex(r), key) == 0;
        if (ok && s != NULL && chio_store_find_receipt(s, chio_receipt_id(r), &at, NULL) == 0 &&
            at != seq)
            ok = 0; /* a replay: this receipt is the store's @at */
        chio_receipt_free(r);
    } else {
        chio_checkpoint *cp = NULL;

        if (chio_checkpoint_parse(data, len, &cp, NULL) != 0)
            return 0;
        ok = chio_checkpoint_verify(cp) == 0 &&
             strcmp(chio_checkpoint_kernel_key_hex(cp), key) == 0 && chio_checkpoint_seq(cp) == seq;
        chio_checkpoint_free(cp);
    }
    return ok;
}

static int first_seen(void *ctx, uint64_t seq, const char *json, size_t len)
{
    (void)json;
    (void)len;
    *(uint64_t *)ctx = seq;
    return 1; /* the first one is all that is asked */
}

uint64_t chio__fleet_store_first_checkpoint(chio_store *s)
{
    uint64_t first = 0;

    if (chio_store_scan_checkpoints(s, 1, first_seen, &first, NULL) < 0 || first == 0)
        return 1;
    return first;
}

/* The inode and change time of @db/CURRENT as text (all 0 when absent):
 * RocksDB replaces the file (a new one renamed over it) whenever the store
 * is opened for writing, and a copy put in its place is a new file. The
 * change time cannot be set back by hand, so a reused inode number does
 * not hide it. */
static void current_file(const char *db, char out[64])
{
    struct stat st;
    char *path = NULL;

    if (asprintf(&path, "%s/CURRENT", db) < 0)
        path = NULL;
    if (path == NULL || lstat(path, &st) != 0)
        memset(&st, 0, sizeof(st));
    free(path);
    snprintf(out, 64, "%llu:%lld.%09ld", (unsigned long long)st.st_ino,
             (long long)st.st_ctim.tv_sec, (long)st.st_ctim.tv_nsec);
}

void chio__fleet_store_identity(const char *db, char out[CHIO__FLEET_IDENT_LEN])
{
    struct stat st;
    char *path = NULL, id[64], cur[64];
    size_t n = 0;
    ssize_t got;
    int fd;

    if (asprintf(&path, "%s/IDENTITY", db) < 0)
        path = NULL;
    /* A regular file only, never followed or waited on: a FIFO or a
     * device put in its place (after the store's own check at open) must
     * not hold the exporter; it reads as no identity. */
    fd = path != NULL ? open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) : -1;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        while (n < sizeof(id) - 1 &&
               ((got = read(fd, id + n, sizeof(id) - 1 - n)) > 0 || (got < 0 && errno == EINTR)))
            n += got > 0 ? (size_t)got : 0;
    }
    if (fd >= 0)
        close(fd);
    id[n] = '\0';
    free(path);
    current_file(db, cur);
    if (stat(db, &st) != 0)
        memset(&st, 0, sizeof(st));
    snprintf(out, CHIO__FLEET_IDENT_LEN, "%llu:%llu:%s:%s", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino, cur, id);
}
