/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/guard_path_remote.c - the forbidden_path guard's reading of the
 * URLs that name a file on a host by its absolute path (review 12): curl
 * and libssh2 read "sftp://localhost/etc/shadow" and
 * "scp://root@host/root/.ssh/id_rsa" as the paths /etc/shadow and
 * /root/.ssh/id_rsa on that host, which may be this one. The value is
 * read again with each such URL written as the file: URL of its path, so
 * the guard's file: URL reading (percent-decoding included) holds it to
 * the prefixes. No state, no locks.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "guard_path.h"

/* The length of "sftp://" or "scp://" (any case) at s[@i], else 0. */
static size_t remote_scheme(const char *s, size_t n, size_t i)
{
    if (n - i >= 7 && strncasecmp(s + i, "sftp://", 7) == 0)
        return 7;
    if (n - i >= 6 && strncasecmp(s + i, "scp://", 6) == 0)
        return 6;
    return 0;
}

int chio__gp_has_remote_file_url(const char *s, size_t n)
{
    const char *p = s, *end = s + n;

    while ((p = memmem(p, (size_t)(end - p), "://", 3)) != NULL) {
        size_t at = (size_t)(p - s);
        if ((at >= 4 && remote_scheme(s, n, at - 4) == 7) ||
            (at >= 3 && remote_scheme(s, n, at - 3) == 6))
            return 1;
        p += 3;
    }
    return 0;
}

/* Where the authority that starts at s[@i] ends: at the path's '/', at a
 * word's end (white space, a quote, a separator), or at the value's. */
static size_t authority_end(const char *s, size_t n, size_t i)
{
    while (i < n && s[i] != '/' && (unsigned char)s[i] > 0x20 && strchr("'\"`;|&<>", s[i]) == NULL)
        i++;
    return i;
}

char *chio__gp_remote_file_reading(const char *s, size_t n, size_t *len)
{
    /* "file://" is one byte longer than "scp://": at most n / 6 more */
    char *d = malloc(n + n / 6 + 8);
    size_t i = 0, o = 0, k;

    if (d == NULL)
        return NULL;
    while (i < n) {
        if ((k = remote_scheme(s, n, i)) > 0) {
            memcpy(d + o, "file://", 7);
            o += 7;
            i = authority_end(s, n, i + k);
        } else {
            d[o++] = s[i++];
        }
    }
    d[o] = '\0';
    *len = o;
    return d;
}
