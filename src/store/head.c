/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store/head.c - what makes a stored log tamper-evident beyond the
 * receipts' own signatures: the store's key record, the running hash chain
 * over every receipt and the signed log head.
 *
 *   key record  written once, when a kernel first opens the store: the
 *               kernel's public key, signed by that key. The auditor pins
 *               receipts, checkpoints and the head to it (unless the caller
 *               names trusted keys).
 *   chain       c(seq) = SHA-256(c(seq - 1) || leaf(seq)), one entry per
 *               receipt, written in the receipt's WriteBatch; binds every
 *               receipt to its position and to everything before it.
 *   log head    rewritten with every group commit (same WriteBatch): the
 *               last sequence number, the chain value there, the newest
 *               checkpoint and the time, signed by the kernel key (one
 *               signature per group). Truncating, swapping or replaying the
 *               tail now breaks either the chain or the head.
 *
 * Both records are canonical JSON {"body":{...},"signature":"<hex>"} with
 * the signature over canonical(body), like a checkpoint. Every field is a
 * number, lowercase hex or a fixed string, so snprintf writes them in
 * canonical key order.
 *
 * Calls the core (crypto, JSON) and the store's own read and write paths;
 * no state, no locks.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/checkpoint.h"
#include "chio/json.h"
#include "internal.h"
#include "store_internal.h"

#define KEY_SCHEMA  "chio.receipt_store_key.v1"
#define HEAD_SCHEMA "chio.receipt_log_head.v1"

int chio__store_chain_step(const uint8_t prev[32], const uint8_t leaf[32], uint8_t out[32])
{
    uint8_t buf[64], h[32];
    int rc;

    memcpy(buf, prev, 32);
    memcpy(buf + 32, leaf, 32);
    rc = chio_sha256(buf, sizeof(buf), h);
    if (rc == 0)
        memcpy(out, h, 32);
    return rc;
}

/* {"body":<body>,"signature":"<hex>"} */
static int sign_body(const chio_keypair *kp, const char *body, size_t blen, char **json,
                     size_t *len)
{
    uint8_t sig[64];
    char sighex[129];
    int rc, n;

    *json = NULL;
    rc = chio_keypair_sign(kp, body, blen, sig);
    if (rc != 0)
        return rc;
    chio__hex_encode(sig, 64, sighex);
    n = asprintf(json, "{\"body\":%.*s,\"signature\":\"%s\"}", (int)blen, body, sighex);
    if (n < 0) {
        *json = NULL;
        return CHIO_ENOMEM;
    }
    *len = (size_t)n;
    return 0;
}

int chio__log_head_sign(const chio_keypair *kp, const chio__log_head *h, char **json, size_t *len)
{
    char body[512], chain[65];
    int n;

    chio__hex_encode(h->chain, 32, chain);
    n = snprintf(body, sizeof(body),
                 "{\"chain\":\"%s\",\"chain_from\":%" PRIu64 ",\"checkpoint_seq\":%" PRIu64
                 ",\"kernel_key\":\"%s\",\"last_seq\":%" PRIu64 ",\"schema\":\"" HEAD_SCHEMA
                 "\",\"time\":%" PRIu64 "}",
                 chain, h->chain_from, h->checkpoint_seq, chio_keypair_public_hex(kp), h->last_seq,
                 h->time);
    if (n < 0 || (size_t)n >= sizeof(body))
        return CHIO_ENOMEM;
    return sign_body(kp, body, (size_t)n, json, len);
}

int chio__key_record_sign(const chio_keypair *kp, uint64_t created_at, char **json, size_t *len)
{
    return chio__key_record_sign_from(kp, created_at, 0, json, len);
}

int chio__key_record_sign_from(const chio_keypair *kp, uint64_t created_at, uint64_t chain_from,
                               char **json, size_t *len)
{
    char body[256], from[40] = "";
    int n;

    if (chain_from > 0)
        snprintf(from, sizeof(from), "\"chain_from\":%" PRIu64 ",", chain_from);
    n = snprintf(body, sizeof(body),
                 "{%s\"created_at\":%" PRIu64 ",\"kernel_key\":\"%s\",\"schema\":\"" KEY_SCHEMA
                 "\"}",
                 from, created_at, chio_keypair_public_hex(kp));
    if (n < 0 || (size_t)n >= sizeof(body))
        return CHIO_ENOMEM;
    return sign_body(kp, body, (size_t)n, json, len);
}

/* Parse a signed record: *body is the body object inside *doc (caller frees
 * the doc), @key its kernel_key. Returns the record state. */
static chio__record_state parse_signed(const char *json, size_t len, const char *schema,
                                       chio_json_doc **doc, const chio_json **body, uint8_t key[32],
                                       char key_hex[65])
{
    const chio_json *root;
    const char *s, *sighex;
    size_t slen = 0, siglen = 0;
    char *canon = NULL;
    size_t clen = 0;
    uint8_t sig[64];
    int ok;

    *doc = NULL;
    if (chio_json_parse(json, len, doc, NULL) != 0)
        return CHIO__RECORD_UNREADABLE;
    root = chio_json_root(*doc);
    *body = chio_json_get(root, "body");
    sighex = chio_json_string(chio_json_get(root, "signature"), &siglen);
    s = chio_json_string(chio_json_get(*body, "schema"), NULL);
    if (*body == NULL || chio_json_typeof(*body) != CHIO_JSON_OBJECT || sighex == NULL ||
        s == NULL || strcmp(s, schema) != 0 || chio_json_size(root) != 2)
        return CHIO__RECORD_UNREADABLE;
    s = chio_json_string(chio_json_get(*body, "kernel_key"), &slen);
    if (s == NULL || slen != 64 || chio_pubkey_from_hex(s, slen, key) != 0 ||
        chio_signature_from_hex(sighex, siglen, sig) != 0)
        return CHIO__RECORD_UNREADABLE;
    chio__hex_encode(key, 32, key_hex);
    if (chio_json_write_canonical(*body, &canon, &clen) != 0)
        return CHIO__RECORD_UNREADABLE;
    ok = chio_ed25519_verify(key, canon, clen, sig) == 0;
    free(canon);
    return ok ? CHIO__RECORD_OK : CHIO__RECORD_BADSIG;
}

static int u64_field(const chio_json *body, const char *name, uint64_t *out)
{
    return chio_json_get_uint64(chio_json_get(body, name), out);
}

/* Read meta @name; CHIO_ENOTFOUND becomes 0 with *json NULL. */
static int read_meta(chio_store *s, const char *name, char **json, size_t *len, chio_error *err)
{
    int rc = chio__store_get_meta(s, name, json, len, err);

    if (rc == CHIO_ENOTFOUND) {
        if (err != NULL)
            chio_error_init(err);
        *json = NULL;
        return 0;
    }
    return rc;
}

int chio__store_read_head(chio_store *s, chio__log_head *h, chio__record_state *state,
                          chio_error *err)
{
    chio_json_doc *doc = NULL;
    const chio_json *body = NULL;
    const char *chain;
    size_t len = 0, clen = 0;
    char *json = NULL;
    int rc;

    memset(h, 0, sizeof(*h));
    *state = CHIO__RECORD_ABSENT;
    rc = read_meta(s, CHIO__META_LOG_HEAD, &json, &len, err);
    if (rc != 0 || json == NULL)
        return rc;
    *state = parse_signed(json, len, HEAD_SCHEMA, &doc, &body, h->key, h->key_hex);
    if (*state == CHIO__RECORD_OK || *state == CHIO__RECORD_BADSIG) {
        chain = chio_json_string(chio_json_get(body, "chain"), &clen);
        if (u64_field(body, "last_seq", &h->last_seq) != 0 ||
            u64_field(body, "chain_from", &h->chain_from) != 0 ||
            u64_field(body, "checkpoint_seq", &h->checkpoint_seq) != 0 ||
            u64_field(body, "time", &h->time) != 0 || chain == NULL ||
            chio__hex_decode_exact(chain, clen, h->chain, 32) != 0)
            *state = CHIO__RECORD_UNREADABLE;
    }
    chio_json_doc_free(doc);
    free(json);
    return 0;
}

int chio__store_read_key_record(chio_store *s, uint8_t key[32], char key_hex[65],
                                chio__record_state *state, chio_error *err)
{
    uint64_t from;

    return chio__store_read_key_record_from(s, key, key_hex, &from, state, err);
}

int chio__store_read_key_record_from(chio_store *s, uint8_t key[32], char key_hex[65],
                                     uint64_t *chain_from, chio__record_state *state,
                                     chio_error *err)
{
    chio_json_doc *doc = NULL;
    const chio_json *body = NULL;
    uint64_t created = 0;
    size_t len = 0;
    char *json = NULL;
    int rc;

    *chain_from = 0;
    *state = CHIO__RECORD_ABSENT;
    key_hex[0] = '\0';
    rc = read_meta(s, CHIO__META_KEY_RECORD, &json, &len, err);
    if (rc != 0 || json == NULL)
        return rc;
    *state = parse_signed(json, len, KEY_SCHEMA, &doc, &body, key, key_hex);
    if ((*state == CHIO__RECORD_OK || *state == CHIO__RECORD_BADSIG) &&
        (u64_field(body, "created_at", &created) != 0 ||
         (chio_json_get(body, "chain_from") != NULL &&
          (u64_field(body, "chain_from", chain_from) != 0 || *chain_from == 0))))
        *state = CHIO__RECORD_UNREADABLE;
    chio_json_doc_free(doc);
    free(json);
    return 0;
}

/* Receipts and checkpoints are numbered from 1. One stored under 0 was
 * put there by hand; it sorts before the first receipt, where the kernel's
 * "does the log start where it should" check (restore.c) reads 0 as "no
 * receipts", so it is refused here. */
static int no_entry_at_zero(chio_store *s, chio_error *err)
{
    char *json = NULL;
    int rc = chio_store_get_receipt(s, 0, &json, NULL, err), what = 0;

    if (rc == 0) {
        chio_free(json);
        what = 1;
    } else if (rc == CHIO_ENOTFOUND) {
        rc = chio_store_get_checkpoint(s, 0, &json, NULL, err);
        if (rc == 0) {
            chio_free(json);
            what = 2;
        }
    }
    if (what != 0)
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                          "the receipt store holds a %s numbered 0, which no kernel writes; "
                          "audit it with chio receipt verify --receipt-db",
                          what == 1 ? "receipt" : "checkpoint");
    if (rc != CHIO_ENOTFOUND)
        return rc;
    if (err != NULL)
        chio_error_init(err);
    return 0;
}

/* The newest checkpoint, which the kernel chains its next one to and
 * whose range tells it where its pending receipts start, must be the one
 * it signed there: its own number, a signature that verifies, and (once
 * its range reaches chain_from, also when it starts before it) this
 * kernel's key. Otherwise a forged or copied one would be vouched for by
 * the next genuine checkpoint. */
static int check_newest_checkpoint(chio_store *s, const chio_keypair *kp, uint64_t cseq,
                                   uint64_t chain_from, chio_error *err)
{
    chio_checkpoint *cp = NULL;
    char *json = NULL;
    size_t len = 0;
    int rc, ok;

    rc = chio_store_get_checkpoint(s, cseq, &json, &len, err);
    if (rc != 0)
        return rc;
    ok = chio_checkpoint_parse(json, len, &cp, NULL) == 0 && chio_checkpoint_seq(cp) == cseq &&
         chio_checkpoint_verify(cp) == 0 &&
         (chio_checkpoint_batch_end(cp) < chain_from ||
          strcmp(chio_checkpoint_kernel_key_hex(cp), chio_keypair_public_hex(kp)) == 0);
    chio_checkpoint_free(cp);
    free(json);
    if (!ok)
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                          "the receipt log's newest checkpoint %llu is not one this kernel "
                          "signed under that number (forged or copied?); audit it with chio "
                          "receipt verify --receipt-db",
                          (unsigned long long)cseq);
    return 0;
}

/* The archive mark (metadata "archive", unsigned) is what an archiving
 * pass writes into its target: an archive has no signed head and is
 * audited only as one. A kernel never continues such a log; on a live log
 * the mark was put there by hand, and before review 54 a kernel appended
 * receipts and signed heads to the log still marked (the audit then
 * reads it as an archive, where a cut tail goes unseen). Refused before
 * anything is written, as chain_from, durable_checkpoint and
 * retained_from_seq are when they disagree with the log. An archiving
 * pass refuses such a log as its source too (retention.c). */
int chio__store_refuse_archive_mark(chio_store *s, chio_error *err)
{
    uint64_t mark = 0;
    int rc = chio__store_get_meta_u64(s, CHIO__META_ARCHIVE, &mark, err);

    if (rc == CHIO_ECORRUPT)
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                          "the receipt store's " CHIO__META_ARCHIVE
                          " record is not an 8-byte number; audit it with chio receipt verify "
                          "--receipt-db");
    if (rc == 0 && mark != 0)
        rc = chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                        "the receipt store carries the " CHIO__META_ARCHIVE
                        " record (%llu): it is marked as an archive log, which a kernel never "
                        "continues; audit it with chio receipt verify --receipt-db",
                        (unsigned long long)mark);
    return rc;
}

int chio__store_pin_key(chio_store *s, const chio_keypair *kp, uint64_t now, uint64_t *chain_from,
                        chio_error *err)
{
    chio__record_state ks, hs;
    chio__log_head head;
    uint8_t key[32], mine[32];
    char key_hex[65];
    uint64_t first = 0, last = 0, signed_from = 0;
    chio__store_batch *b;
    char *json = NULL;
    size_t len = 0;
    int rc, chained;

    *chain_from = 0;
    rc = chio__store_refuse_archive_mark(s, err);
    if (rc == 0)
        rc = chio__store_read_key_record_from(s, key, key_hex, &signed_from, &ks, err);
    if (rc == 0)
        rc = chio__store_read_head(s, &head, &hs, err);
    if (rc == 0)
        rc = chio_store_seq_range(s, &first, &last, err);
    if (rc != 0)
        return rc;
    chained = chio__store_has_chain(s, err);
    if (chained < 0)
        return chained;
    rc = no_entry_at_zero(s, err);
    if (rc != 0)
        return rc;
    if (ks == CHIO__RECORD_OK) {
        chio_keypair_public_key(kp, mine);
        if (memcmp(key, mine, 32) != 0)
            return chio__fail(err, CHIO_ECONFIG, CHIO_NO_OFFSET,
                              "this receipt store belongs to kernel key %s, not %s: a log is "
                              "signed by one key (start a new store for a new key)",
                              key_hex, chio_keypair_public_hex(kp));
        rc = chio__store_get_meta_u64(s, CHIO__META_CHAIN_FROM, chain_from, err);
        if (rc != 0)
            return rc;
        /* Where the chain starts is signed in the key record (since review
         * 23): the unsigned copy and the head must agree with it, or the
         * receipts before a moved start would read as legacy. */
        if (signed_from > 0 && (*chain_from != signed_from ||
                                (hs == CHIO__RECORD_OK && head.chain_from != signed_from)))
            return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                              "the receipt store's hash chain starts at %llu by its signed key "
                              "record, but its chain_from record or log head says otherwise; "
                              "audit it with chio receipt verify --receipt-db",
                              (unsigned long long)signed_from);
        if (*chain_from == 0)
            *chain_from = hs == CHIO__RECORD_OK ? head.chain_from : 1;
        /* The head is written with the checkpoints it names, and archiving
         * keeps the newest: fewer stored means checkpoints were deleted.
         * Continuing would cut and sign them again and erase the trace.
         * (Receipts missing too: restore.c refuses, naming them.) */
        if (hs == CHIO__RECORD_OK && memcmp(head.key, mine, 32) == 0 && head.last_seq == last) {
            uint64_t last_cp = 0;
            rc = chio_store_last_checkpoint_seq(s, &last_cp, err);
            if (rc != 0)
                return rc;
            /* ...and more than it names were added behind its back. */
            if (head.checkpoint_seq != last_cp)
                return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                                  "the receipt log's signed head names checkpoint %llu but the "
                                  "log holds checkpoints up to %llu (%s); audit it with chio "
                                  "receipt verify --receipt-db",
                                  (unsigned long long)head.checkpoint_seq,
                                  (unsigned long long)last_cp,
                                  head.checkpoint_seq > last_cp ? "deleted?" : "added?");
            if (last_cp > 0)
                return check_newest_checkpoint(s, kp, last_cp, *chain_from, err);
        }
        return 0;
    }
    if (ks != CHIO__RECORD_ABSENT)
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                          "the receipt store's key record %s; audit it with chio receipt verify "
                          "--receipt-db",
                          ks == CHIO__RECORD_BADSIG ? "has a signature that does not verify"
                                                    : "is unreadable");
    if (chained || hs != CHIO__RECORD_ABSENT)
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                          "the receipt store has a hash chain or a log head but no key record "
                          "(deleted?); audit it with chio receipt verify --receipt-db");
    /* A new store, or one written before key records existed (legacy): pin
     * it now. The chain starts with the next receipt; older receipts keep
     * only their signatures and checkpoints. */
    if (last == UINT64_MAX) /* the chain would start at 0, which is no receipt */
        return chio__fail(err, CHIO_ECORRUPT, CHIO_NO_OFFSET,
                          "the receipt store holds a receipt numbered %llu, after which no "
                          "receipt can be numbered; audit it with chio receipt verify "
                          "--receipt-db",
                          (unsigned long long)last);
    *chain_from = last + 1;
    rc = chio__key_record_sign_from(kp, now, *chain_from, &json, &len);
    if (rc != 0)
        return chio__fail(err, rc, CHIO_NO_OFFSET, "cannot sign the store's key record");
    b = chio__store_batch_new();
    if (b == NULL) {
        free(json);
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
    chio__store_batch_put_meta(b, s, CHIO__META_KEY_RECORD, json, len);
    chio__store_batch_put_meta_u64(b, s, CHIO__META_CHAIN_FROM, *chain_from);
    rc = chio__store_write(s, b, 1, err);
    chio__store_batch_free(b);
    free(json);
    return rc;
}
