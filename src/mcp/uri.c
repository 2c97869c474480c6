/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mcp/uri.c - the one reading of a resource URI that the kernel decides on
 * and the wrapped server is sent: "%2e" and "%2E" read as the dot they
 * stand for (RFC 3986 6.2.2.2: an unreserved character) and the path's dot
 * segments removed (RFC 3986 5.2.4). A resource grant's uri_pattern is a
 * plain prefix, so without this "file:///pub/../etc/passwd" matched the
 * pattern "file:///pub/" plus "*", and a server that resolves paths read
 * /etc/passwd. Encoded slashes ("%2f") and backslashes are not read as
 * separators. No state, no locking.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "mcp_internal.h"

/* Length of the scheme and authority of @u ("scheme:" and "//host"). */
static size_t prefix_len(const char *u)
{
    size_t i = 0;

    if (isalpha((unsigned char)u[0])) {
        i = 1;
        while (isalnum((unsigned char)u[i]) || u[i] == '+' || u[i] == '-' || u[i] == '.')
            i++;
        i = u[i] == ':' ? i + 1 : 0;
    }
    if (u[i] == '/' && u[i + 1] == '/')
        i += 2 + strcspn(u + i + 2, "/?#");
    return i;
}

/* RFC 3986 5.2.4 on @in (a copy the function may change) into @out, which
 * has room for strlen(@in) + 1 bytes. */
static void remove_dot_segments(char *in, char *out)
{
    size_t o = 0, n;

    while (*in != '\0') {
        if (strncmp(in, "../", 3) == 0) {
            in += 3;
        } else if (strncmp(in, "./", 2) == 0 || strncmp(in, "/./", 3) == 0) {
            in += 2; /* "./" gone; "/./" left as "/" */
        } else if (strcmp(in, "/.") == 0) {
            in[1] = '\0';
        } else if (strncmp(in, "/../", 4) == 0 || strcmp(in, "/..") == 0) {
            if (in[3] == '/')
                in += 3;
            else
                in[1] = '\0';
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--; /* the last segment and the "/" before it */
        } else if (strcmp(in, ".") == 0 || strcmp(in, "..") == 0) {
            in += strlen(in);
        } else {
            n = strcspn(in + 1, "/") + 1;
            memcpy(out + o, in, n);
            o += n;
            in += n;
        }
    }
    out[o] = '\0';
}

char *chio__mcp_uri_normal(const char *uri)
{
    size_t len = strlen(uri), pre = prefix_len(uri), plen, i, j;
    char *path, *out;

    plen = strcspn(uri + pre, "?#");
    path = malloc(plen + 1);
    out = malloc(len + 1);
    if (path == NULL || out == NULL) {
        free(path);
        free(out);
        return NULL;
    }
    for (i = j = 0; i < plen; i++) {
        const char *c = uri + pre + i;
        if (c[0] == '%' && c[1] == '2' && (c[2] == 'e' || c[2] == 'E')) {
            path[j++] = '.';
            i += 2;
        } else {
            path[j++] = *c;
        }
    }
    path[j] = '\0';
    memcpy(out, uri, pre);
    remove_dot_segments(path, out + pre);
    j = strlen(out);
    memcpy(out + j, uri + pre + plen, len - pre - plen + 1);
    free(path);
    return out;
}
