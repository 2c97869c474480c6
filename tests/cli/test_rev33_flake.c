/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_rev33_flake.c - review 33 of what the suite needs from the
 * machine it runs on. The tests put Unix sockets in the directory
 * testutil_tmpdir() makes under $TMPDIR, and a socket path holds at most
 * 107 bytes: under a long TMPDIR (a CI workspace path) host-service
 * refused its socket ("socket path too long") and 18 of the 23 host tests
 * failed, each after a 20 s wait. The directory is now made under /tmp
 * when TMPDIR is too long for that, and under TMPDIR otherwise (a space in
 * it included).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/testutil.h"

/* A directory named @name under /tmp, made for this test (caller frees). */
static char *base_dir(const char *name)
{
    char *d;

    cr_assert_geq(asprintf(&d, "/tmp/rev33-flake-%ld-%s", (long)getpid(), name), 0);
    cr_assert_eq(mkdir(d, 0700), 0, "%s", d);
    return d;
}

/* A Unix socket bound and listening at @path: 0, or -1. */
static int bind_socket(const char *path)
{
    struct sockaddr_un a;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0), rc;

    cr_assert_geq(fd, 0);
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(a.sun_path)) {
        close(fd);
        return -1;
    }
    strcpy(a.sun_path, path);
    rc = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 1) == 0 ? 0 : -1;
    close(fd);
    return rc;
}

Test(rev33_flake, a_long_tmpdir_still_gives_test_directories_that_hold_a_socket)
{
    char *top = base_dir("long"), *longdir, *dir, *sock;

    /* 150 bytes of TMPDIR, the kind a CI workspace gives */
    cr_assert_geq(asprintf(&longdir, "%s/%0120d", top, 0), 0);
    cr_assert_eq(mkdir(longdir, 0700), 0);
    cr_assert_eq(setenv("TMPDIR", longdir, 1), 0);
    dir = testutil_tmpdir();
    cr_assert_geq(asprintf(&sock, "%s/hs-admin.sock", dir), 0);
    cr_expect_eq(bind_socket(sock), 0, "no socket fits in %s", dir);
    testutil_rmrf(dir);
    testutil_rmrf(top);
    free(sock);
    free(dir);
    free(longdir);
    free(top);
}

Test(rev33_flake, a_tmpdir_that_fits_is_used_even_with_a_space)
{
    char *top = base_dir("short"), *spaced, *dir, *sock;

    cr_assert_geq(asprintf(&spaced, "%s/a b", top), 0);
    cr_assert_eq(mkdir(spaced, 0700), 0);
    cr_assert_eq(setenv("TMPDIR", spaced, 1), 0);
    dir = testutil_tmpdir();
    cr_expect_eq(strncmp(dir, spaced, strlen(spaced)), 0, "%s is not under %s", dir, spaced);
    cr_assert_geq(asprintf(&sock, "%s/hs-admin.sock", dir), 0);
    cr_expect_eq(bind_socket(sock), 0, "no socket fits in %s", dir);
    testutil_rmrf(dir);
    testutil_rmrf(top);
    free(sock);
    free(dir);
    free(spaced);
    free(top);
}
