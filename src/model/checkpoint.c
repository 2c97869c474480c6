/* SPDX-License-Identifier: Apache-2.0 */
/*
 * model/checkpoint.c - chio.checkpoint_statement.v1 and inclusion proofs
 * (spec/wire-format.md section 5).
 *
 * Owns two byte forms: the canonical checkpoint body (what is signed, and
 * whose sha256_hex the next checkpoint names as previous_checkpoint_sha256)
 * and the stored {"body":..,"signature":..}. Proofs are read and written in
 * the spec's JSON shape and checked with model/merkle.c. Calls the core
 * layer only; no state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/checkpoint.h"
#include "chio/crypto.h"
#include "model.h"

#define WHAT "checkpoint"

struct chio_checkpoint {
    chio_json_doc *doc;
    uint64_t seq, start, end, tree_size, issued_at;
    uint8_t root[32];
    uint8_t key[32];
    uint8_t signature[64];
    const char *key_hex;
    const char *previous;
    char body_sha[65];
    char *body; /* canonical body (the signed bytes) */
    size_t body_len;
    char *json; /* canonical stored form */
    size_t json_len;
};

/* "0x" + 64 hex digits (either case) -> 32 bytes. */
static int read_hash0x(const chio_json *v, uint8_t out[32])
{
    if (v == NULL || v->type != CHIO_JSON_STRING || v->n != 66 || v->v.s[0] != '0' ||
        v->v.s[1] != 'x')
        return CHIO_EFORMAT;
    return chio__hex_decode_exact(v->v.s + 2, 64, out, 32) == 0 ? 0 : CHIO_EFORMAT;
}

static int read_body(chio_checkpoint *cp, chio_json *body, chio_error *err)
{
    /* wire-format.md 5's members. chio reads the body into its typed
     * struct, which drops any other, so a signature over a body holding
     * one never verifies there: refused here too, not signed as written
     * [`rev43_wire::a_checkpoint_body_is_read_as_chio_types_it`]. */
    static const char *const members[] = {"schema",
                                          "checkpoint_seq",
                                          "batch_start_seq",
                                          "batch_end_seq",
                                          "tree_size",
                                          "merkle_root",
                                          "issued_at",
                                          "kernel_key",
                                          "previous_checkpoint_sha256",
                                          NULL};
    const char *schema = NULL, *k;
    int rc;

    if (body->type != CHIO_JSON_OBJECT)
        return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET, WHAT ": 'body' must be an object");
    chio__drop_null(body, "previous_checkpoint_sha256", 0);
    k = chio__first_unknown_key(body, members);
    if (k != NULL)
        return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET,
                          WHAT ": body has unknown member '%.64s'", k);
    rc = chio__field_string(body, "schema", CHIO__REQUIRED, &schema, NULL, err, WHAT);
    if (rc != 0)
        return rc;
    if (strcmp(schema, CHIO_CHECKPOINT_SCHEMA) != 0)
        return chio__fail(err, CHIO_ESCHEMA, CHIO_NO_OFFSET,
                          WHAT ": schema \"%.64s\" is not " CHIO_CHECKPOINT_SCHEMA, schema);
    rc = chio__field_u64(body, "checkpoint_seq", CHIO__REQUIRED, &cp->seq, NULL, err, WHAT);
    if (rc == 0)
        rc = chio__field_u64(body, "batch_start_seq", CHIO__REQUIRED, &cp->start, NULL, err, WHAT);
    if (rc == 0)
        rc = chio__field_u64(body, "batch_end_seq", CHIO__REQUIRED, &cp->end, NULL, err, WHAT);
    if (rc == 0)
        rc = chio__field_u64(body, "tree_size", CHIO__REQUIRED, &cp->tree_size, NULL, err, WHAT);
    if (rc == 0)
        rc = chio__field_u64(body, "issued_at", CHIO__REQUIRED, &cp->issued_at, NULL, err, WHAT);
    if (rc == 0)
        rc = chio__field_string(body, "previous_checkpoint_sha256", CHIO__OPTIONAL, &cp->previous,
                                NULL, err, WHAT);
    if (rc == 0 && read_hash0x(chio_json_get(body, "merkle_root"), cp->root) != 0)
        rc = chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET,
                        WHAT ": 'merkle_root' must be \"0x\" and 64 hex digits");
    /* The body is signed as written, and chio writes its Merkle hashes
     * lowercase (wire-format.md 2): its typed body would rewrite an
     * uppercase digit, so a signature over one never verifies there
     * [`rev43_wire::a_checkpoint_body_is_read_as_chio_types_it`]. */
    if (rc == 0 &&
        strpbrk(chio_json_string(chio_json_get(body, "merkle_root"), NULL), "ABCDEF") != NULL)
        rc = chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET,
                        WHAT ": 'merkle_root' must be lowercase hex, as chio writes it");
    if (rc == 0)
        rc = chio__field_pubkey(cp->doc, body, "kernel_key", cp->key, err, WHAT);
    if (rc == 0)
        cp->key_hex = chio_json_string(chio_json_get(body, "kernel_key"), NULL);
    return rc;
}

/* The envelope is not signed: beside the body and the signature it may
 * hold nothing, or a verifier would call bytes the kernel never wrote
 * valid [`checkpoint_verify::a_member_beside_body_and_signature_is_refused`]. */
static int check_envelope(const chio_json *root, chio_error *err)
{
    static const char *const members[] = {"body", "signature", NULL};
    const char *k = chio__first_unknown_key(root, members);

    if (k != NULL)
        return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET,
                          WHAT ": unknown member '%.64s' beside 'body' and 'signature'", k);
    return 0;
}

int chio_checkpoint_parse(const char *json, size_t len, chio_checkpoint **out, chio_error *err)
{
    chio_checkpoint *cp;
    chio_json *root, *body;
    const chio_json *sig;
    chio_buf b;
    int rc;

    if (out == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "out is NULL");
    *out = NULL;
    cp = calloc(1, sizeof(*cp));
    if (cp == NULL)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    rc = chio_json_parse(json, len, &cp->doc, err);
    if (rc != 0) {
        free(cp);
        return rc;
    }
    root = chio__json_doc_root(cp->doc);
    body = chio__json_obj_find(root, "body", 4);
    if (root->type != CHIO_JSON_OBJECT || body == NULL)
        rc = chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET, WHAT ": needs a 'body' object");
    if (rc == 0)
        rc = check_envelope(root, err);
    if (rc == 0)
        rc = read_body(cp, body, err);
    if (rc == 0) {
        sig = chio_json_get(root, "signature");
        if (sig == NULL || sig->type != CHIO_JSON_STRING ||
            chio_signature_from_hex(sig->v.s, sig->n, cp->signature) != 0)
            rc = chio__fail(err, CHIO_ESIGFORMAT, CHIO_NO_OFFSET,
                            WHAT ": 'signature' must be 128 hex digits");
    }
    if (rc == 0) {
        chio__buf_init(&b);
        chio__json_write(&b, body);
        cp->body = chio__buf_detach(&b, &cp->body_len);
        chio__json_write(&b, root);
        cp->json = chio__buf_detach(&b, &cp->json_len);
        if (cp->body == NULL || cp->json == NULL)
            rc = chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
    if (rc == 0)
        rc = chio_sha256_hex(cp->body, cp->body_len, cp->body_sha);
    if (rc != 0) {
        chio_checkpoint_free(cp);
        return rc;
    }
    *out = cp;
    return 0;
}

void chio_checkpoint_free(chio_checkpoint *cp)
{
    if (cp == NULL)
        return;
    chio_json_doc_free(cp->doc);
    free(cp->body);
    free(cp->json);
    free(cp);
}

uint64_t chio_checkpoint_seq(const chio_checkpoint *cp)
{
    return cp ? cp->seq : 0;
}

uint64_t chio_checkpoint_batch_start(const chio_checkpoint *cp)
{
    return cp ? cp->start : 0;
}

uint64_t chio_checkpoint_batch_end(const chio_checkpoint *cp)
{
    return cp ? cp->end : 0;
}

uint64_t chio_checkpoint_tree_size(const chio_checkpoint *cp)
{
    return cp ? cp->tree_size : 0;
}

uint64_t chio_checkpoint_issued_at(const chio_checkpoint *cp)
{
    return cp ? cp->issued_at : 0;
}

const uint8_t *chio_checkpoint_merkle_root(const chio_checkpoint *cp)
{
    return cp ? cp->root : NULL;
}

const char *chio_checkpoint_kernel_key_hex(const chio_checkpoint *cp)
{
    return cp ? cp->key_hex : NULL;
}

const char *chio_checkpoint_previous_sha256(const chio_checkpoint *cp)
{
    return cp ? cp->previous : NULL;
}

const char *chio_checkpoint_body_sha256(const chio_checkpoint *cp)
{
    return cp ? cp->body_sha : NULL;
}

const char *chio_checkpoint_json(const chio_checkpoint *cp, size_t *len)
{
    if (cp == NULL)
        return NULL;
    if (len)
        *len = cp->json_len;
    return cp->json;
}

int chio_checkpoint_verify(const chio_checkpoint *cp)
{
    int rc;

    if (cp == NULL)
        return CHIO_EINVAL;
    rc = chio_ed25519_verify(cp->key, cp->body, cp->body_len, cp->signature);
    if (rc != 0)
        return rc;
    if (cp->seq == 0 || cp->start == 0 || cp->end < cp->start ||
        cp->tree_size != cp->end - cp->start + 1)
        return CHIO_ECORRUPT;
    return 0;
}

/* 64 lowercase hex digits (a sha256_hex): the body quotes it as written,
 * so a quote or a backslash must never get there. */
static int lower_hex64(const char *s)
{
    size_t i;

    if (strlen(s) != CHIO_SHA256_HEX_LEN)
        return 0;
    for (i = 0; i < CHIO_SHA256_HEX_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

int chio_checkpoint_sign(const struct chio_keypair *kp, uint64_t checkpoint_seq,
                         uint64_t batch_start_seq, uint64_t batch_end_seq,
                         const uint8_t merkle_root[32], uint64_t issued_at,
                         const char *previous_sha256, chio_checkpoint **out, chio_error *err)
{
    chio_buf body, full;
    char root_hex[65], sighex[129];
    uint8_t sig[64];
    int rc;

    if (out == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "out is NULL");
    *out = NULL;
    if (kp == NULL || merkle_root == NULL || batch_end_seq < batch_start_seq ||
        batch_start_seq == 0 || checkpoint_seq == 0)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "invalid checkpoint range or argument");
    if (previous_sha256 != NULL && !lower_hex64(previous_sha256))
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "previous_sha256 must be 64 lowercase hex digits");
    chio__hex_encode(merkle_root, 32, root_hex);
    /* Written by hand in canonical key order: batch_end_seq, batch_start_seq,
     * checkpoint_seq, issued_at, kernel_key, merkle_root,
     * previous_checkpoint_sha256, schema, tree_size. */
    chio__buf_init(&body);
    chio__buf_printf(&body,
                     "{\"batch_end_seq\":%llu,\"batch_start_seq\":%llu,\"checkpoint_seq\":%llu,"
                     "\"issued_at\":%llu,\"kernel_key\":\"%s\",\"merkle_root\":\"0x%s\",",
                     (unsigned long long)batch_end_seq, (unsigned long long)batch_start_seq,
                     (unsigned long long)checkpoint_seq, (unsigned long long)issued_at,
                     chio_keypair_public_hex(kp), root_hex);
    if (previous_sha256 != NULL)
        chio__buf_printf(&body, "\"previous_checkpoint_sha256\":\"%s\",", previous_sha256);
    chio__buf_printf(&body, "\"schema\":\"" CHIO_CHECKPOINT_SCHEMA "\",\"tree_size\":%llu}",
                     (unsigned long long)(batch_end_seq - batch_start_seq + 1));
    if (body.oom) {
        chio__buf_destroy(&body);
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
    rc = chio_keypair_sign(kp, body.data, body.len, sig);
    if (rc != 0) {
        chio__buf_destroy(&body);
        return chio__fail(err, rc, CHIO_NO_OFFSET, "cannot sign checkpoint");
    }
    chio__hex_encode(sig, 64, sighex);
    chio__buf_init(&full);
    chio__buf_append(&full, "{\"body\":", 8);
    chio__buf_append(&full, body.data, body.len);
    chio__buf_printf(&full, ",\"signature\":\"%s\"}", sighex);
    chio__buf_destroy(&body);
    if (full.oom) {
        chio__buf_destroy(&full);
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
    rc = chio_checkpoint_parse(full.data, full.len, out, err);
    chio__buf_destroy(&full);
    return rc;
}

/* ---- inclusion proofs ------------------------------------------------------------- */

int chio_inclusion_proof_json(const chio_inclusion_proof *p, char **out, size_t *len)
{
    chio_buf b;
    char hex[65];
    size_t i;

    if (out != NULL) /* NULL on every failure */
        *out = NULL;
    if (p == NULL || out == NULL || p->proof.path_len > CHIO_MERKLE_MAX_PATH)
        return CHIO_EINVAL;
    chio__buf_init(&b);
    chio__hex_encode(p->merkle_root, 32, hex);
    chio__buf_printf(&b,
                     "{\"checkpoint_seq\":%llu,\"leaf_index\":%llu,\"merkle_root\":\"0x%s\","
                     "\"proof\":{\"audit_path\":[",
                     (unsigned long long)p->checkpoint_seq, (unsigned long long)p->proof.leaf_index,
                     hex);
    for (i = 0; i < p->proof.path_len; i++) {
        chio__hex_encode(p->proof.path[i], 32, hex);
        chio__buf_printf(&b, "%s\"0x%s\"", i ? "," : "", hex);
    }
    chio__buf_printf(&b, "],\"leaf_index\":%llu,\"tree_size\":%llu},\"receipt_seq\":%llu}",
                     (unsigned long long)p->proof.leaf_index,
                     (unsigned long long)p->proof.tree_size, (unsigned long long)p->receipt_seq);
    *out = chio__buf_detach(&b, len);
    return *out ? 0 : CHIO_ENOMEM;
}

int chio_inclusion_proof_parse(const char *json, size_t len, chio_inclusion_proof *out,
                               chio_error *err)
{
    chio_json_doc *doc;
    const chio_json *root, *proof, *path;
    chio_inclusion_proof p;
    uint64_t leaf_outer = 0;
    uint32_t i;
    int rc;

    if (out == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "out is NULL");
    rc = chio_json_parse(json, len, &doc, err);
    if (rc != 0)
        return rc;
    memset(&p, 0, sizeof(p));
    root = chio_json_root(doc);
    rc = chio__field_typed(root, "proof", CHIO__REQUIRED, CHIO_JSON_OBJECT, &proof, err, "proof");
    if (rc == 0)
        rc = chio__field_u64(root, "checkpoint_seq", CHIO__REQUIRED, &p.checkpoint_seq, NULL, err,
                             "proof");
    if (rc == 0)
        rc = chio__field_u64(root, "receipt_seq", CHIO__REQUIRED, &p.receipt_seq, NULL, err,
                             "proof");
    if (rc == 0)
        rc = chio__field_u64(root, "leaf_index", CHIO__REQUIRED, &leaf_outer, NULL, err, "proof");
    if (rc == 0)
        rc = chio__field_u64(proof, "tree_size", CHIO__REQUIRED, &p.proof.tree_size, NULL, err,
                             "proof");
    if (rc == 0)
        rc = chio__field_u64(proof, "leaf_index", CHIO__REQUIRED, &p.proof.leaf_index, NULL, err,
                             "proof");
    if (rc == 0 && leaf_outer != p.proof.leaf_index)
        rc = chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET, "proof: the two leaf_index differ");
    if (rc == 0 && read_hash0x(chio_json_get(root, "merkle_root"), p.merkle_root) != 0)
        rc = chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET,
                        "proof: 'merkle_root' must be \"0x\" and 64 hex digits");
    if (rc == 0)
        rc = chio__field_typed(proof, "audit_path", CHIO__REQUIRED, CHIO_JSON_ARRAY, &path, err,
                               "proof");
    if (rc == 0 && path->n > CHIO_MERKLE_MAX_PATH)
        rc = chio__fail(err, CHIO_ERANGE, CHIO_NO_OFFSET, "proof: audit path too long");
    for (i = 0; rc == 0 && i < path->n; i++) {
        if (read_hash0x(&path->v.items[i], p.proof.path[i]) != 0)
            rc = chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET,
                            "proof: audit_path[%u] must be \"0x\" and 64 hex digits", i);
    }
    if (rc == 0)
        p.proof.path_len = path->n;
    chio_json_doc_free(doc);
    if (rc == 0)
        *out = p;
    return rc;
}

int chio_inclusion_proof_verify(const chio_inclusion_proof *p, const char *receipt_json, size_t len)
{
    char *canon;
    size_t clen;
    uint8_t leaf[32];
    int rc;

    if (p == NULL || receipt_json == NULL)
        return CHIO_EINVAL;
    rc = chio_json_canonicalize(receipt_json, len, &canon, &clen, NULL);
    if (rc != 0)
        return rc;
    rc = chio_merkle_leaf_hash(canon, clen, leaf);
    free(canon);
    if (rc != 0)
        return rc;
    return chio_merkle_verify(leaf, &p->proof, p->merkle_root);
}
