/* SPDX-License-Identifier: Apache-2.0 */
/*
 * model/capability_issue.c - issuing chio.capability.v1 tokens: the token
 * built from its fields, signed over capability.c's signed message, and
 * read back through chio_capability_parse (so an issued token is exactly
 * what a reader gets). Also the UUIDv7 generator for token and request ids.
 *
 * Calls the core layer, model/scope.c and model/capability.c. No shared
 * state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chio/capability.h"
#include "scope.h"

/* RFC 9562 UUIDv7: 48-bit Unix milliseconds, version 7, variant 10, random. */
int chio__uuid_v7(char out[37])
{
    uint8_t u[16];
    struct timespec ts;
    uint64_t ms;
    char hex[33];

    if (chio__id_random(u + 6, 10) != 0)
        return CHIO_ECRYPTO;
    clock_gettime(CLOCK_REALTIME, &ts);
    ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    for (int i = 0; i < 6; i++)
        u[i] = (uint8_t)(ms >> (40 - 8 * i));
    u[6] = (uint8_t)(0x70 | (u[6] & 0x0f));
    u[8] = (uint8_t)(0x80 | (u[8] & 0x3f));
    chio__hex_encode(u, 16, hex);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
    return 0;
}

static int put_string(chio_json_doc *doc, chio_json *obj, const char *key, const char *val)
{
    chio_json *slot = chio__json_obj_put(doc, obj, key, strlen(key));
    return slot ? chio__json_set_string(doc, slot, val, strlen(val)) : CHIO_ENOMEM;
}

static int put_u64(chio_json_doc *doc, chio_json *obj, const char *key, uint64_t val)
{
    chio_json *slot = chio__json_obj_put(doc, obj, key, strlen(key));
    if (slot == NULL)
        return CHIO_ENOMEM;
    chio__json_set_uint(slot, val);
    return 0;
}

int chio_capability_issue(const chio_keypair *issuer, const char *id, const char *subject_hex,
                          const char *scope_json, size_t scope_len, uint64_t issued_at,
                          uint64_t ttl_secs, chio_capability **out, chio_error *err)
{
    chio_json_doc *sdoc = NULL, *tdoc = NULL;
    chio_json *scope, *tok, *slot;
    chio__scope view;
    uint8_t subject[32], sig[64];
    char subject_hex_norm[65], sighex[129], uuid[37];
    chio_buf b;
    char *text = NULL;
    size_t tlen = 0;
    int rc;

    if (out == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "out is NULL");
    *out = NULL;
    if (issuer == NULL || subject_hex == NULL || scope_json == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL issuer, subject or scope");
    if (id != NULL && (id[0] == '\0' || !chio__utf8_valid(id, strlen(id))))
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "capability id must be non-empty UTF-8");
    if (chio_pubkey_from_hex(subject_hex, strlen(subject_hex), subject) != 0)
        return chio__fail(err, CHIO_EKEY, CHIO_NO_OFFSET,
                          "subject must be a 32-byte public key in hex");
    if (ttl_secs == 0)
        return chio__fail(err, CHIO_ERANGE, CHIO_NO_OFFSET, "ttl must be at least one second");
    if (issued_at > UINT64_MAX - ttl_secs)
        return chio__fail(err, CHIO_ERANGE, CHIO_NO_OFFSET, "issued_at + ttl overflows");
    if (id == NULL) {
        if (chio__uuid_v7(uuid) != 0)
            return chio__fail(err, CHIO_ECRYPTO, CHIO_NO_OFFSET, "the random generator failed");
        id = uuid;
    }
    chio__hex_encode(subject, 32, subject_hex_norm);

    rc = chio_json_parse(scope_json, scope_len, &sdoc, err);
    if (rc != 0)
        return rc;
    scope = chio__json_doc_root(sdoc);
    rc = chio__scope_read(sdoc, scope, 1, &view, err);
    if (rc != 0)
        goto out;

    rc = CHIO_ENOMEM;
    tdoc = chio__json_doc_new(4096);
    if (tdoc == NULL)
        goto out;
    tok = chio__json_doc_root(tdoc);
    if (chio__json_set_object(tdoc, tok, 8) != 0 || put_string(tdoc, tok, "id", id) != 0 ||
        put_string(tdoc, tok, "issuer", chio_keypair_public_hex(issuer)) != 0 ||
        put_string(tdoc, tok, "subject", subject_hex_norm) != 0 ||
        put_u64(tdoc, tok, "issued_at", issued_at) != 0 ||
        put_u64(tdoc, tok, "expires_at", issued_at + ttl_secs) != 0)
        goto out;
    slot = chio__json_obj_put(tdoc, tok, "scope", 5);
    if (slot == NULL || chio__json_copy(tdoc, slot, scope) != 0)
        goto out;

    chio__buf_init(&b);
    rc = chio__capability_signed_message(tok, &b);
    if (rc == 0)
        rc = chio_keypair_sign(issuer, b.data, b.len, sig);
    chio__buf_destroy(&b);
    if (rc != 0)
        goto out;
    chio__hex_encode(sig, 64, sighex);
    rc = put_string(tdoc, tok, "signature", sighex);
    if (rc != 0)
        goto out;
    rc = chio_json_write_canonical(tok, &text, &tlen);
    if (rc != 0)
        goto out;
    rc = chio_capability_parse(text, tlen, out, err);
out:
    if (rc == CHIO_ENOMEM && (err == NULL || err->code != rc))
        chio__fail(err, rc, CHIO_NO_OFFSET, "out of memory issuing capability");
    free(text);
    chio_json_doc_free(sdoc);
    chio_json_doc_free(tdoc);
    return rc;
}
