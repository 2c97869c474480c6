/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export/msgid.c - the exporter's message ids (Nats-Msg-Id):
 * <key>:<first>-<last>:<digest>:<nonce> for a run of receipts,
 * <key>:cp:<first>-<last>:<digest>:<nonce> for a checkpoint. JetStream
 * takes a second message with an id it holds (on any subject) for a copy
 * of the first and answers it "duplicate" with the first one's position,
 * so whoever could predict an id could publish it first and have the run
 * taken as stored and never store it. Key, seqs and body digest are all
 * known to whoever holds the run's bytes (a tool caller holds the one
 * receipt of a run when the exporter keeps up); the nonce, drawn once per
 * exporter run, is not. A retry sends the same bytes in the same run: the
 * same id. Public API (crypto) only.
 */
#include <inttypes.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/types.h>

#include "chio/chio.h"
#include "export.h"

int chio__export_nonce(char out[17])
{
    uint8_t raw[8];

    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return -1;
    chio_hex_encode(raw, sizeof(raw), out);
    return 0;
}

void chio__export_msg_id(char *out, size_t cap, const char *key, int receipts, uint64_t first,
                         uint64_t last, const void *data, size_t len, const char *nonce)
{
    char digest[65];

    chio_sha256_hex(data, len, digest);
    snprintf(out, cap,
             receipts ? "%s:%" PRIu64 "-%" PRIu64 ":%.32s:%s"
                      : "%s:cp:%" PRIu64 "-%" PRIu64 ":%.32s:%s",
             key, first, last, digest, nonce);
}
