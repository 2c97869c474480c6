/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store/secondary.c - the scratch directory of a RocksDB secondary
 * instance: $TMPDIR/chio-secondary-XXXXXX (mode 0700), where RocksDB keeps
 * the instance's info LOG. Its owner holds an flock(2) on OWNER_LOCK inside
 * it while the store is open and removes the directory on close. A process
 * killed with the store open (SIGKILL, OOM, a crash) cannot remove it, and
 * a follower that a supervisor restarts would leave one per restart: so
 * every secondary open first sweeps the directories of TMPDIR whose lock
 * nobody holds any more. The kernel drops an flock when the last
 * descriptor of its open file goes, however the process died, and the
 * lock works across PID namespaces that share the directory. It is held
 * per open file, so a second store in the same process cannot take the
 * first one's (fcntl's per-process locks would be granted to it).
 *
 * Swept: directories named chio-secondary-*, owned by this user, whose
 * OWNER_LOCK can be locked. Never swept: one without OWNER_LOCK (made by
 * a version before this file, or killed between mkdtemp and the rename
 * below), one owned by another user, a symbolic link.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "store_db.h"

#define PREFIX         "chio-secondary-"
#define OWNER_LOCK     "owner.lock"
#define OWNER_LOCK_NEW "owner.lock.new"

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    (void)remove(path); /* best effort: a leftover temp file is harmless */
    return 0;
}

/* Remove @dir and what RocksDB put in it, in this process: no shell (a
 * quote in TMPDIR cannot name other paths) and no fork of the host. Links
 * are removed, never followed. */
static void remove_tree(const char *dir)
{
    (void)nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static const char *tmp_base(void)
{
    const char *t = getenv("TMPDIR");

    return t != NULL && t[0] != '\0' ? t : "/tmp";
}

/* Remove @name in @base if its owner is gone: we can lock the OWNER_LOCK
 * it holds, and the file we locked is still the one in the directory (the
 * name is not a new directory made after another sweeper removed the old
 * one while we waited). */
static void sweep_one(int basefd, const char *base, const char *name)
{
    struct stat st, held;
    char *path = NULL;
    int dfd, fd;

    if (fstatat(basefd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode) ||
        st.st_uid != geteuid())
        return;
    dfd = openat(basefd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return;
    fd = openat(dfd, OWNER_LOCK, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &held) == 0 &&
        fstatat(dfd, OWNER_LOCK, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_ino == held.st_ino &&
        st.st_dev == held.st_dev && asprintf(&path, "%s/%s", base, name) >= 0) {
        remove_tree(path);
        free(path);
    }
    if (fd >= 0)
        close(fd); /* drops the lock */
    close(dfd);
}

static void sweep(const char *base)
{
    DIR *d = opendir(base);
    struct dirent *de;

    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL)
        if (strncmp(de->d_name, PREFIX, sizeof(PREFIX) - 1) == 0)
            sweep_one(dirfd(d), base, de->d_name);
    closedir(d);
}

/* Lock OWNER_LOCK in @dir: made under another name, locked, then renamed,
 * so a sweeper never finds it unlocked. Returns the descriptor, or -1. */
static int take_owner_lock(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), fd = -1;

    if (dfd >= 0)
        fd = openat(dfd, OWNER_LOCK_NEW, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0 && (flock(fd, LOCK_EX | LOCK_NB) != 0 ||
                    renameat(dfd, OWNER_LOCK_NEW, dfd, OWNER_LOCK) != 0)) {
        close(fd);
        fd = -1;
    }
    if (dfd >= 0)
        close(dfd);
    return fd;
}

int chio__secondary_dir_make(char **dir, int *lock_fd, chio_error *err)
{
    const char *base = tmp_base();
    int saved;

    *dir = NULL;
    *lock_fd = -1;
    sweep(base);
    if (asprintf(dir, "%s/" PREFIX "XXXXXX", base) < 0) {
        *dir = NULL;
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
    if (mkdtemp(*dir) == NULL) {
        saved = errno;
        free(*dir);
        *dir = NULL;
        return chio__fail(err, CHIO_ESYS, CHIO_NO_OFFSET,
                          "cannot create a directory for the secondary instance in %s: %s", base,
                          strerror(saved));
    }
    *lock_fd = take_owner_lock(*dir);
    if (*lock_fd < 0) {
        saved = errno;
        remove_tree(*dir);
        free(*dir);
        *dir = NULL;
        return chio__fail(err, CHIO_ESYS, CHIO_NO_OFFSET,
                          "cannot lock the secondary instance's directory in %s: %s", base,
                          strerror(saved));
    }
    return 0;
}

void chio__secondary_dir_remove(char *dir, int lock_fd)
{
    if (dir != NULL) {
        remove_tree(dir); /* the lock file too, while we still hold it */
        free(dir);
    }
    if (lock_fd >= 0)
        close(lock_fd);
}
