/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export/posfile.c - the exporter's position file in the store's
 * directory (chio-export-<stream>.json, docs/fleet.md): its path, its
 * atomic replacement (temporary file, fsync, rename, fsync of the
 * directory) and reading one field back. The stream, not this file, is
 * where the exporter resumes; the file is informational and a hint.
 *
 * Whoever can write the store's directory can plant names in it, and the
 * exporter may run as another user than the kernel (it only reads the
 * store): the temporary file is therefore always a new file of the
 * exporter's own (a link or file planted at its name is removed, never
 * written through), and the position file is read only when it is a
 * regular file named directly (a FIFO there would never answer).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export.h"

char *chio__export_position_path(const char *db, const char *stream)
{
    char *p = NULL;

    return asprintf(&p, "%s/chio-export-%s.json", db, stream) < 0 ? NULL : p;
}

int chio__export_write_atomically(const char *path, const char *text, size_t len)
{
    char *tmp = NULL, *dir = NULL, *slash;
    int fd = -1, rc = -1, synced;
    size_t off = 0;

    if (asprintf(&tmp, "%s.tmp", path) < 0) {
        tmp = NULL;
        goto out;
    }
    /* A leftover of a crash, or a link planted to redirect the write:
     * removed (unlink never follows a link), then made anew with O_EXCL
     * | O_NOFOLLOW, so that nothing planted in between is written to. */
    if (unlink(tmp) != 0 && errno != ENOENT)
        goto out;
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        goto out;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto out;
        off += (size_t)w;
    }
    /* closed whatever fsync said: a disk that fails every fsync must not
     * cost a descriptor per save (review 46: one a second under --follow) */
    synced = fsync(fd) == 0;
    if (close(fd) != 0)
        synced = 0;
    fd = -1;
    if (!synced || rename(tmp, path) != 0)
        goto out;
    dir = strdup(path);
    if (dir == NULL)
        goto out;
    slash = strrchr(dir, '/');
    if (slash != NULL)
        *slash = '\0';
    fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0)
        goto out;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (rc != 0 && tmp != NULL)
        unlink(tmp);
    free(tmp);
    free(dir);
    return rc;
}

uint64_t chio__export_position_field(const char *path, const char *key, const char *field)
{
    size_t len = 0;
    char *text = NULL, *p;
    uint64_t seq = 0;
    struct stat st;
    ssize_t got;
    /* O_NONBLOCK: a FIFO planted there must not hold the exporter up. */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

    if (fd < 0)
        return 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (text = calloc(1, 1024)) == NULL) {
        close(fd);
        return 0;
    }
    while (len < 1023 && (got = read(fd, text + len, 1023 - len)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            break;
        len += (size_t)got;
    }
    close(fd);
    text[len] = '\0';
    /* Written by the exporter: a flat object, this kernel's or not. */
    if (strstr(text, key) != NULL && (p = strstr(text, field)) != NULL && p > text &&
        p[-1] == '"' && p[strlen(field)] == '"' && p[strlen(field) + 1] == ':')
        seq = strtoull(p + strlen(field) + 2, NULL, 10);
    free(text);
    return seq;
}
