/* SPDX-License-Identifier: Apache-2.0 */
/*
 * svc/svc_b64.c - base64url decoding for the services (the sidecar's
 * X-Chio-Capability header): the one job, apart from the handlers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "svc_b64.h"

char *svc_b64url_decode(const char *in, size_t *outlen)
{
    size_t n = strlen(in), i, o = 0;
    uint32_t acc = 0;
    int bits = 0;
    char *out;

    while (n > 0 && in[n - 1] == '=')
        n--;
    out = malloc(n * 3 / 4 + 2);
    if (out == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        int c = (unsigned char)in[i], v;

        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '-' || c == '+')
            v = 62;
        else if (c == '_' || c == '/')
            v = 63;
        else {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    if (bits >= 6) { /* one stray character cannot end a base64 text */
        free(out);
        return NULL;
    }
    out[o] = '\0';
    *outlen = o;
    return out;
}
