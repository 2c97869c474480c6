/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/guard_path_remote.c - the forbidden_path guard's reading of the
 * URLs that name a file on a host by its absolute path (reviews 12, 13):
 * curl and libssh2 read "sftp://localhost/etc/shadow" and
 * "scp://root@host/root/.ssh/id_rsa" as the paths /etc/shadow and
 * /root/.ssh/id_rsa on that host, which may be this one (so do ssh:,
 * fish: and ftp: URLs to KIO, GIO and curl). The value is
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

/* The schemes whose URL path curl, libssh2, KIO or GIO open as an
 * absolute path on the host: sftp, scp, ssh and fish (SSH), and ftp and
 * ftps (curl reads "ftp://h/%2Fetc/x" from the root; "ftp://h/etc/x",
 * relative to the login's directory, is read from the root too, at
 * worst). */
static const char *const schemes[] = {"sftp", "scp", "ssh", "fish", "ftp", "ftps"};

/* The length of one of those schemes and "://" (any case) at s[@i], else
 * 0. */
static size_t remote_scheme(const char *s, size_t n, size_t i)
{
    size_t k, l;

    for (k = 0; k < sizeof(schemes) / sizeof(schemes[0]); k++) {
        l = strlen(schemes[k]);
        if (n - i >= l + 3 && strncasecmp(s + i, schemes[k], l) == 0 &&
            memcmp(s + i + l, "://", 3) == 0)
            return l + 3;
    }
    return 0;
}

/* The length of a Windows device prefix at s[@i] that leads to a UNC
 * path ("\\\\?\\UNC\\", "\\\\.\\UNC\\", "\\??\\UNC\\", either slash, any case)
 * less the two slashes a UNC path starts with, else 0: what follows is
 * the server, as after "\\\\". */
static size_t device_unc(const char *s, size_t n, size_t i)
{
    size_t k;

    if (n - i < 8 || !chio__is_slash(s[i]))
        return 0;
    if (chio__is_slash(s[i + 1]) && (s[i + 2] == '?' || s[i + 2] == '.'))
        k = i + 3; /* \\?\ \\.\ */
    else if (s[i + 1] == '?' && s[i + 2] == '?')
        k = i + 3; /* \??\ */
    else
        return 0;
    if (n - k < 5 || !chio__is_slash(s[k]) || strncasecmp(s + k + 1, "UNC", 3) != 0 ||
        !chio__is_slash(s[k + 4]))
        return 0;
    return k + 5 - i;
}

/* The length of a WSL share's prefix at s[@i] ("\\\\wsl$\\" or
 * "\\\\wsl.localhost\\", any case, either slash, after a device prefix
 * or not), else 0. */
static size_t wsl_share(const char *s, size_t n, size_t i)
{
    size_t k, d = device_unc(s, n, i);

    if (d > 0)
        k = i + d; /* the server's name starts here */
    else if (n - i >= 7 && chio__is_slash(s[i]) && chio__is_slash(s[i + 1]))
        k = i + 2;
    else
        return 0;
    if (n - k >= 5 && strncasecmp(s + k, "wsl$", 4) == 0)
        k += 4;
    else if (n - k >= 14 && strncasecmp(s + k, "wsl.localhost", 13) == 0)
        k += 13;
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
    size_t at, k;

    if (has_wsl_share(s, n))
        return 1;
    while ((p = memmem(p, (size_t)(end - p), "://", 3)) != NULL) {
        at = (size_t)(p - s);
        for (k = 3; k <= 4 && k <= at; k++)
            if (remote_scheme(s, n, at - k) == k + 3)
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
    /* "file://" is one byte longer than "ssh://": at most n / 6 more */
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
