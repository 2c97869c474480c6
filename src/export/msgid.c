/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export/msgid.c - the exporter's message ids (Nats-Msg-Id):
 * <key>:<first>-<last>:<digest>:<tag> for a run of receipts,
 * <key>:cp:<first>-<last>:<digest>:<tag> for a checkpoint. JetStream
 * takes a second message with an id it holds (on any subject) for a copy
 * of the first and answers it "duplicate" with the first one's position,
 * so whoever could predict an id could publish it first and have the run
 * taken as stored and never store it. Key, seqs and body digest are all
 * known to whoever holds the run's bytes (a tool caller holds the one
 * receipt of a run when the exporter keeps up). The last part is a tag:
 * HMAC-SHA256 under a secret drawn once per exporter run, over the rest
 * of the id, cut to 16 hex digits. The secret never leaves the process;
 * every stream reader sees the tags of runs already published, and a
 * tag says nothing of the next run's (review 42: a per-run nonce sent
 * as is in every id let any reader of the stream predict the next id).
 * A retry sends the same bytes in the same run: the same id. Public API
 * (crypto) only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>

#include "chio/chio.h"
#include "export.h"

int chio__export_secret(uint8_t out[CHIO__EXPORT_SECRET_LEN])
{
    size_t got = 0;

    while (got < CHIO__EXPORT_SECRET_LEN) {
        ssize_t n = getrandom(out + got, CHIO__EXPORT_SECRET_LEN - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

/* HMAC-SHA256 (RFC 2104) of @msg under @key (shorter than a block) from
 * the public SHA-256: H(K ^ opad || H(K ^ ipad || msg)). */
static int hmac_sha256(const uint8_t *key, size_t klen, const char *msg, size_t mlen,
                       uint8_t out[32])
{
    uint8_t outer[64 + 32];
    uint8_t inner_buf[64 + 256];
    size_t i;
    int rc;

    if (klen > 64 || mlen > sizeof(inner_buf) - 64)
        return -1;
    for (i = 0; i < 64; i++) {
        uint8_t k = i < klen ? key[i] : 0;
        inner_buf[i] = k ^ 0x36;
        outer[i] = k ^ 0x5c;
    }
    memcpy(inner_buf + 64, msg, mlen);
    rc = chio_sha256(inner_buf, 64 + mlen, outer + 64);
    if (rc == 0)
        rc = chio_sha256(outer, sizeof(outer), out);
    explicit_bzero(inner_buf, 64);
    explicit_bzero(outer, 64);
    return rc;
}

int chio__export_msg_id(char *out, size_t cap, const char *key, int receipts, uint64_t first,
                        uint64_t last, const void *data, size_t len,
                        const uint8_t secret[CHIO__EXPORT_SECRET_LEN])
{
    char digest[65], tag_hex[65];
    uint8_t tag[32];
    int n;

    if (chio_sha256_hex(data, len, digest) != 0)
        return -1;
    n = snprintf(out, cap,
                 receipts ? "%s:%" PRIu64 "-%" PRIu64 ":%.32s"
                          : "%s:cp:%" PRIu64 "-%" PRIu64 ":%.32s",
                 key, first, last, digest);
    if (n < 0 || (size_t)n + 18 > cap)
        return -1;
    if (hmac_sha256(secret, CHIO__EXPORT_SECRET_LEN, out, (size_t)n, tag) != 0)
        return -1;
    chio_hex_encode(tag, 8, tag_hex);
    snprintf(out + n, cap - (size_t)n, ":%.16s", tag_hex);
    return 0;
}
