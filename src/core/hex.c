/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/hex.c - lowercase hex encoding and strict fixed-size decoding, used by
 * keys, signatures, hashes and Merkle nodes. Pure functions, no state.
 */
#include "chio/crypto.h"
#include "internal.h"
#include "normalize.h"

static const char lower[] = "0123456789abcdef";

void chio__hex_encode(const uint8_t *in, size_t n, char *out)
{
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = lower[in[i] >> 4];
        out[2 * i + 1] = lower[in[i] & 0xf];
    }
    out[2 * n] = '\0';
}

int chio_hex_encode(const uint8_t *in, size_t n, char *out)
{
    if ((in == NULL && n != 0) || out == NULL)
        return CHIO_EINVAL;
    chio__hex_encode(in, n, out);
    return 0;
}

int chio__hex_decode_exact(const char *hex, size_t hexlen, uint8_t *out, size_t n)
{
    size_t i;

    if (hexlen != 2 * n)
        return CHIO_EHEX;
    for (i = 0; i < hexlen; i++)
        if (chio__hex_value(hex[i]) < 0)
            return CHIO_EHEX;
    for (i = 0; i < n; i++)
        out[i] = (uint8_t)((chio__hex_value(hex[2 * i]) << 4) | chio__hex_value(hex[2 * i + 1]));
    return 0;
}
