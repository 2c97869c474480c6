/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store/store_dir.c - what a receipt store's directory may hold: its
 * sentinel file (the mark that a directory holds a store, store.c: a
 * regular file, or the store is refused), the
 * names RocksDB and this layer keep there, and the checks that a store is
 * never created among other files nor kept in a directory every user may
 * write to (chio_store_check_dir(), and the same checks inside a
 * read-write open).
 *
 * Reads the directory only; never creates, changes or removes a file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "store_db.h"

/* Whether @name is a file RocksDB or this layer keeps in a store's
 * directory (also one a crash left before the sentinel was written, and
 * the exporter's position files). */
static int store_file_name(const char *name)
{
    static const char *const exact[] = {"CURRENT", "IDENTITY", "LOCK", "LOG"};
    static const char *const prefixes[] = {"LOG.old.", "MANIFEST-", "OPTIONS-",
                                           CHIO__STORE_SENTINEL, "chio-export-"};
    static const char *const suffixes[] = {".log", ".sst", ".blob", ".dbtmp"};
    size_t i, n = strlen(name);

    for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
        if (strcmp(name, exact[i]) == 0)
            return 1;
    for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
        if (n > strlen(suffixes[i]) && strcmp(name + n - strlen(suffixes[i]), suffixes[i]) == 0)
            return 1;
    return 0;
}

int chio__store_foreign_entry(const char *path, char **found)
{
    DIR *d = opendir(path);
    struct dirent *de;

    *found = NULL;
    if (d == NULL)
        return errno;
    while (*found == NULL && (de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
            !store_file_name(de->d_name) && (*found = strdup(de->d_name)) == NULL) {
            closedir(d);
            return ENOMEM;
        }
    closedir(d);
    return 0;
}

/* What a store's directory must not hold in place of a file: a FIFO
 * (RocksDB or the sentinel check would block reading it: an open, and the
 * audit with it, hung forever), a device (/dev/zero read without end), a
 * socket, or a symbolic link (no kernel makes one, and it may point at any
 * of those). NULL for a regular file or a directory. */
static const char *odd_kind(mode_t m)
{
    return S_ISFIFO(m)   ? "a FIFO"
           : S_ISLNK(m)  ? "a symbolic link"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISSOCK(m) ? "a socket"
                         : NULL;
}

/* What is in the sentinel's place: 1 a regular file (the store is
 * marked), 0 nothing, -1 anything else (*@kind names it), -2 out of
 * memory. Never followed: before review 54 a stat(2) took a directory
 * there for a mark (of checkpoint 0), which no later mark could replace. */
static int sentinel_entry(const char *path, const char **kind)
{
    char *p;
    struct stat st;
    int found;

    *kind = NULL;
    if (asprintf(&p, "%s/" CHIO__STORE_SENTINEL, path) < 0)
        return -2;
    found = lstat(p, &st) == 0;
    free(p);
    if (!found)
        return 0;
    if (S_ISREG(st.st_mode))
        return 1;
    *kind = S_ISDIR(st.st_mode) ? "a directory" : odd_kind(st.st_mode);
    if (*kind == NULL)
        *kind = "no regular file";
    return -1;
}

int chio__store_has_sentinel(const char *path)
{
    const char *kind;

    return sentinel_entry(path, &kind) == 1;
}

int chio__store_check_sentinel(const char *path, chio_error *err)
{
    const char *kind;
    uint64_t mark;
    int got = sentinel_entry(path, &kind);

    if (got == -2)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    /* A file whose mark cannot be read is refused as well: before review
     * 9 (audit) it read as no mark, silently. */
    if (got == 1)
        return chio__store_read_mark(path, &mark, err);
    if (got == 0)
        return 0;
    return chio__fail(err, CHIO_ESTORE, CHIO_NO_OFFSET,
                      "the receipt store at %.80s holds '" CHIO__STORE_SENTINEL "', which is %s, "
                      "not its sentinel file: no mark can be read or written there; refusing to "
                      "open it (move that entry away, then audit the store)",
                      path, kind);
}

/* Whether an open may read @name: not the files only their writer opens,
 * each replacing whatever is planted there (the exporter's position files,
 * the sentinel's temporary file). */
static int read_at_open(const char *name)
{
    return strncmp(name, "chio-export-", strlen("chio-export-")) != 0 &&
           strcmp(name, CHIO__STORE_SENTINEL ".tmp") != 0;
}

int chio__store_odd_entry(const char *path, int marked, chio_error *err)
{
    DIR *d = opendir(path);
    struct dirent *de;
    struct stat st;
    const char *kind = NULL;
    int rc = 0;

    if (d == NULL)
        return 0; /* left to the open, which reports it */
    while (kind == NULL && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            !read_at_open(de->d_name) || (!marked && !store_file_name(de->d_name)) ||
            fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        kind = odd_kind(st.st_mode);
        if (kind != NULL)
            rc = chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                            "the receipt store at %.200s holds '%.200s', which is %s, not a "
                            "file: no kernel makes one there; refusing to open the store",
                            path, de->d_name, kind);
    }
    closedir(d);
    return rc;
}

/* A directory every user may write to is no place for an audit log: any
 * local user could plant a name RocksDB creates later (its next WAL or
 * table file) as a link, which the kernel's process would then open and
 * truncate wherever it points, or add and swap files behind its back. A
 * sticky bit does not help (the planted names are the user's own). The
 * directory the kernel creates itself is 0700; one given to it must not be
 * writable by others. */
int chio__store_refuse_shared_dir(const char *path, chio_error *err)
{
    struct stat st;

    if (stat(path, &st) != 0)
        return chio__fail(err, CHIO_ESTORE, CHIO_NO_OFFSET, "cannot read %s: %s", path,
                          strerror(errno));
    if (S_ISDIR(st.st_mode) && (st.st_mode & S_IWOTH) != 0)
        return chio__fail(err, CHIO_ESTORE, CHIO_NO_OFFSET,
                          "%s is writable by every user (mode %04o): refusing to keep the receipt "
                          "store there; run 'chmod o-w' on it or give a private directory",
                          path, (unsigned)(st.st_mode & 07777));
    return 0;
}

/* A read-write open makes a missing store directory with mkdir(2), which
 * needs its parent to be a directory already: 0 when it is, else
 * CHIO_ESTORE as the open would fail. */
static int missing_dir(const char *path, chio_error *err)
{
    struct stat st;
    char *copy = strdup(path);
    int ok;

    if (copy == NULL)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    ok = stat(dirname(copy), &st) == 0 && S_ISDIR(st.st_mode);
    free(copy);
    if (ok)
        return 0;
    return chio__fail(err, CHIO_ESTORE, CHIO_NO_OFFSET,
                      "cannot create %.200s: its parent is not an existing directory", path);
}

int chio_store_check_dir(const char *path, chio_error *err)
{
    struct stat st;
    char *other = NULL;
    int e, rc = 0;

    if (path == NULL || path[0] == '\0')
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "no store path");
    if (stat(path, &st) != 0) {
        e = errno;
        if (e == ENOENT && lstat(path, &st) != 0)
            return missing_dir(path, err); /* a read-write open makes it, if it can */
        return chio__fail(err, CHIO_ESTORE, CHIO_NO_OFFSET, "%.200s: %s", path,
                          e == ENOENT ? "a symbolic link to nothing" : strerror(e));
    }
    if (!S_ISDIR(st.st_mode))
        return chio__fail(err, CHIO_ESTORE, CHIO_NO_OFFSET, "%.200s is not a directory", path);
    rc = chio__store_refuse_shared_dir(path, err);
    if (rc != 0)
        return rc;
    rc = chio__store_check_sentinel(path, err);
    if (rc != 0 || chio__store_has_sentinel(path))
        return rc;
    e = chio__store_foreign_entry(path, &other);
    if (e == ENOMEM)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    if (e != 0)
        return chio__fail(err, CHIO_ESTORE, CHIO_NO_OFFSET, "%.200s: %s", path, strerror(e));
    if (other != NULL)
        rc = chio__fail(err, CHIO_ESTORE, CHIO_NO_OFFSET,
                        CHIO__STORE_FOREIGN_FMT "; give a new or empty directory, or a store", path,
                        other);
    free(other);
    return rc;
}
