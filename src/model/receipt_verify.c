/* SPDX-License-Identifier: Apache-2.0 */
/*
 * model/receipt_verify.c - verifying a receipt from its stored bytes (id, signature,
 * parameter hash, signable semantics, trusted signer) and the report as
 * JSON. Reads the parsed form (receipt.c); no shared state.
 */
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "receipt_internal.h"

/* ---- the signing message ---------------------------------------------------------------- */

static const char *const id_and_signature[] = {"id", "signature"};

/* The signing message {"body":<id input>,"id":"<id>"} of a parsed receipt,
 * where the id input is canonical(receipt without id and signature) and the
 * id its sha256 hex (verification; making a receipt uses write_message). */
static int signing_message(const chio_json *obj, chio_buf *msg, char id[65])
{
    size_t start;
    int rc;

    chio__buf_append(msg, "{\"body\":", 8);
    start = msg->len;
    chio__json_write_except(msg, obj, id_and_signature, 2);
    if (msg->oom)
        return CHIO_ENOMEM;
    rc = chio_sha256_hex(msg->data + start, msg->len - start, id);
    if (rc != 0)
        return rc;
    chio__buf_append(msg, ",\"id\":", 6);
    chio__json_write_string(msg, id, strlen(id));
    chio__buf_putc(msg, '}');
    return msg->oom ? CHIO_ENOMEM : 0;
}

/* ---- verification ------------------------------------------------------------------------ */

/* chio's result label (binding helpers: kind, boundary and decision only). */
static const char *result_label(const receipt_view *v)
{
    if (v->kind == CHIO_KIND_MEDIATED_DECISION && v->boundary == CHIO_BOUNDARY_PREVENT &&
        v->verdict == CHIO_VERDICT_ALLOW)
        return "Authorized";
    if (v->kind == CHIO_KIND_TRACE_OBSERVATION)
        return "Observed";
    if (v->kind == CHIO_KIND_ADVISORY_EVALUATION)
        return "Advisory";
    switch (v->verdict) {
    case CHIO_VERDICT_ALLOW:
        return "Allowed";
    case CHIO_VERDICT_DENY:
        return "Denied";
    case CHIO_VERDICT_CANCELLED:
        return "Cancelled";
    case CHIO_VERDICT_INCOMPLETE:
        return "Incomplete";
    default:
        return "Invalid";
    }
}

int chio_receipt_verify(const chio_receipt *r, const uint8_t *trusted_keys, size_t ntrusted,
                        chio_receipt_report *rep)
{
    const receipt_parsed *p;
    const receipt_view *v;
    chio_buf msg;
    char id[65], phash[65];
    size_t i;
    int rc, semantics_ok;

    /* Zeroed before any return: a host that reads the report after an
     * error finds ok and authorized 0, never an earlier call's verdict. */
    if (rep != NULL)
        memset(rep, 0, sizeof(*rep));
    if (r == NULL || rep == NULL || (trusted_keys == NULL && ntrusted != 0) ||
        ntrusted > SIZE_MAX / 32)
        return CHIO_EINVAL;
    /* Everything is checked on the stored bytes, read back. */
    p = chio__receipt_parsed_of(r);
    if (p == NULL)
        return CHIO_ENOMEM;
    v = &p->v;
    chio__buf_init(&msg);

    semantics_ok = chio__receipt_check_semantics(v, NULL) == 0;
    /* The message names the id computed here; it is only verified when
     * that id is the receipt's. */
    rc = signing_message(chio__json_doc_root(p->doc), &msg, id);
    if (rc == 0) {
        /* A member chio's typed receipt has no place for (v->unknown) is
         * dropped when chio reads the receipt, so the id chio recomputes
         * is never the one signed over it: the receipt is invalid there,
         * and here, whoever signed it (a member added after signing
         * already changed our id)
         * [`rev43_wire::a_receipt_signed_with_a_member_chio_has_no_place_for_is_invalid`]. */
        rep->receipt_id_valid = strcmp(id, v->id) == 0 && v->unknown[0] == '\0';
        if (semantics_ok && rep->receipt_id_valid) {
            int vr = chio_ed25519_verify(v->kernel_key, msg.data, msg.len, v->signature);
            if (vr == 0)
                rep->signature_valid = 1;
            else if (vr != CHIO_EBADSIG)
                rc = vr;
        }
    }
    if (rc == 0)
        rc = chio__canonical_sha256_hex(v->parameters, phash);
    chio__buf_destroy(&msg);
    if (rc != 0) {
        memset(rep, 0, sizeof(*rep));
        return rc;
    }
    rep->parameter_hash_valid = strcmp(phash, v->parameter_hash) == 0;
    for (i = 0; i < ntrusted; i++)
        if (memcmp(trusted_keys + 32 * i, v->kernel_key, 32) == 0)
            rep->signer_trusted = 1;
    rep->ok = rep->signature_valid && rep->parameter_hash_valid && rep->receipt_id_valid &&
              rep->signer_trusted;
    rep->authorized = rep->ok && v->kind == CHIO_KIND_MEDIATED_DECISION &&
                      v->boundary == CHIO_BOUNDARY_PREVENT && v->outcome == CHIO_OUTCOME_NONE &&
                      v->verdict == CHIO_VERDICT_ALLOW;
    rep->decision = v->verdict;
    rep->decision_name = chio_verdict_name(v->verdict);
    rep->receipt_kind = kind_names[v->kind];
    rep->boundary_class = boundary_names[v->boundary];
    rep->trust_level = trust_names[v->trust];
    rep->result = result_label(v);
    rep->id = v->id;
    chio__hex_encode(v->kernel_key, 32, rep->signer_key_hex);
    return 0;
}

int chio_receipt_report_json(const chio_receipt_report *rep, char **out, size_t *len)
{
    chio_buf b;

    if (out != NULL) /* NULL on every failure */
        *out = NULL;
    if (rep == NULL || out == NULL)
        return CHIO_EINVAL;
    chio__buf_init(&b);
#define BOOL(key, val) \
    chio__buf_puts(&b, "\"" key "\":"), chio__buf_puts(&b, (val) ? "true" : "false")
#define TEXT(key, val)                  \
    chio__buf_puts(&b, "\"" key "\":"), \
        chio__json_write_string(&b, (val) ? (val) : "", (val) ? strlen(val) : 0)
    /* Keys in canonical order. */
    chio__buf_putc(&b, '{');
    BOOL("authorized", rep->authorized);
    chio__buf_putc(&b, ',');
    TEXT("boundary_class", rep->boundary_class);
    chio__buf_putc(&b, ',');
    TEXT("decision", rep->decision_name);
    chio__buf_putc(&b, ',');
    TEXT("id", rep->id);
    chio__buf_putc(&b, ',');
    BOOL("ok", rep->ok);
    chio__buf_putc(&b, ',');
    BOOL("parameter_hash_valid", rep->parameter_hash_valid);
    chio__buf_putc(&b, ',');
    BOOL("receipt_id_valid", rep->receipt_id_valid);
    chio__buf_putc(&b, ',');
    TEXT("receipt_kind", rep->receipt_kind);
    chio__buf_putc(&b, ',');
    TEXT("result", rep->result);
    chio__buf_putc(&b, ',');
    BOOL("signature_valid", rep->signature_valid);
    chio__buf_putc(&b, ',');
    /* The array is the caller's: read no further than its end, NUL or not. */
    chio__buf_puts(&b, "\"signer_key_hex\":");
    chio__json_write_string(&b, rep->signer_key_hex,
                            strnlen(rep->signer_key_hex, sizeof(rep->signer_key_hex)));
    chio__buf_putc(&b, ',');
    BOOL("signer_trusted", rep->signer_trusted);
    chio__buf_putc(&b, ',');
    TEXT("trust_level", rep->trust_level);
    chio__buf_putc(&b, '}');
#undef BOOL
#undef TEXT
    *out = chio__buf_detach(&b, len);
    if (*out == NULL)
        return CHIO_ENOMEM;
    /* The texts are the caller's: a byte of no valid UTF-8 sequence is
     * written as '?', so the result is JSON (review 19 api F2). */
    chio__utf8_repair(*out);
    return 0;
}
