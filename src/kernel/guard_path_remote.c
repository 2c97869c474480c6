/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/guard_path_remote.c - the forbidden_path guard's reading of the
 * URLs that name a file on a host by its absolute path (review 12): curl
 * and libssh2 read "sftp://localhost/etc/shadow" and
 * "scp://root@host/root/.ssh/id_rsa" as the paths /etc/shadow and
 * /root/.ssh/id_rsa on that host, which may be this one. The value is
 * read again with each such URL written as the file: URL of its path, so
 * the guard's file: URL reading (percent-decoding included) holds it to
 * the prefixes. A Windows tool's path into a WSL distribution
 * ("\\\\wsl$\\Ubuntu\\etc\\shadow", "\\\\wsl.localhost\\Ubuntu\\etc\\shadow") is the
 * distribution's "/etc/shadow", and is read so too. No state, no locks.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "guard_path.h"
#include "normalize.h"

/* The length of "sftp://" or "scp://" (any case) at s[@i], else 0. */
static size_t remote_scheme(const char *s, size_t n, size_t i)
{
    if (n - i >= 7 && strncasecmp(s + i, "sftp://", 7) == 0)
        return 7;
    if (n - i >= 6 && strncasecmp(s + i, "scp://", 6) == 0)
        return 6;
    return 0;
}

/* The length of a WSL share's prefix at s[@i] ("\\\\wsl$\\" or
 * "\\\\wsl.localhost\\", any case, either slash), else 0. */
static size_t wsl_share(const char *s, size_t n, size_t i)
{
    size_t k;

    if (n - i < 7 || !chio__is_slash(s[i]) || !chio__is_slash(s[i + 1]))
        return 0;
    if (strncasecmp(s + i + 2, "wsl$", 4) == 0)
        k = i + 6;
    else if (n - i >= 16 && strncasecmp(s + i + 2, "wsl.localhost", 13) == 0)
        k = i + 15;
    else
        return 0;
    return k < n && chio__is_slash(s[k]) ? k + 1 - i : 0;
}

/* Does a WSL share's prefix start anywhere in @s? */
static int has_wsl_share(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i + 7 <= n; i++)
        if (chio__is_slash(s[i]) && wsl_share(s, n, i) > 0)
            return 1;
    return 0;
}

int chio__gp_has_remote_file_url(const char *s, size_t n)
{
    const char *p = s, *end = s + n;

    if (has_wsl_share(s, n))
        return 1;
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
        } else if ((k = wsl_share(s, n, i)) > 0) {
            /* the distribution's name dropped: its root is "/" */
            for (i += k; i < n && !chio__is_slash(s[i]) && (unsigned char)s[i] > 0x20; i++)
                ;
            for (; i < n && (unsigned char)s[i] > 0x20 && strchr("'\"`;|&<>", s[i]) == NULL; i++)
                d[o++] = s[i] == '\\' ? '/' : s[i];
        } else {
            d[o++] = s[i++];
        }
    }
    d[o] = '\0';
    *len = o;
    return d;
}
