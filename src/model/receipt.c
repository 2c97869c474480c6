/* SPDX-License-Identifier: Apache-2.0 */
/*
 * model/receipt.c - chio.receipt.v1 (spec/wire-format.md section 3).
 *
 * Owns the receipt's three byte forms and the rules between them:
 *   id input  = canonical(receipt without "id" and "signature")
 *   id        = sha256_hex(id input)
 *   message   = {"body":<id input>,"id":"<id>"}   (signed with Ed25519)
 *   stored    = canonical(receipt with "id" and "signature")
 * This file: the names, reading a receipt object into its typed view, and
 * receipts as values (parse, free, fields, the parsed form made on first
 * need). A receipt is its stored bytes plus a typed view of its known
 * fields; a parsed receipt also keeps its JSON document (normalised the
 * way chio re-serialises it: null optionals and empty evidence/actor_chain
 * dropped, keys and the signature lowercase). Building is in receipt_builder.c, the byte
 * forms and signing in receipt_sign.c, verification in receipt_verify.c.
 *
 * Calls the core layer (JSON, crypto). No shared state; a receipt is
 * immutable once made and may be read from any thread.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "receipt_internal.h"

#define CHIO__WIRE(name, str) str,
const char *const kind_names[] = {CHIO_RECEIPT_KIND_MAP(CHIO__WIRE)};
const char *const boundary_names[] = {CHIO_BOUNDARY_CLASS_MAP(CHIO__WIRE)};
const char *const outcome_names[] = {CHIO_OBSERVATION_OUTCOME_MAP(CHIO__WIRE)};
const char *const origin_names[] = {CHIO_TOOL_ORIGIN_MAP(CHIO__WIRE)};
const char *const redaction_names[] = {CHIO_REDACTION_MODE_MAP(CHIO__WIRE)};
const char *const trust_names[] = {CHIO_TRUST_LEVEL_MAP(CHIO__WIRE)};
const char *const verdict_names[] = {CHIO_VERDICT_MAP(CHIO__WIRE)};
#undef CHIO__WIRE

static const char *const top_fields[] = {"id",
                                         "timestamp",
                                         "capability_id",
                                         "tool_server",
                                         "tool_name",
                                         "action",
                                         "decision",
                                         "receipt_kind",
                                         "boundary_class",
                                         "observation_outcome",
                                         "tool_origin",
                                         "redaction_mode",
                                         "actor_chain",
                                         "content_hash",
                                         "policy_hash",
                                         "evidence",
                                         "metadata",
                                         "trust_level",
                                         "tenant_id",
                                         "kernel_key",
                                         "signature",
                                         NULL};
static const char *const action_fields[] = {"parameters", "parameter_hash", NULL};
static const char *const actor_fields[] = {"actor_id", "actor_kind", NULL};
static const char *const evidence_fields[] = {"guard_name", "verdict", "details", NULL};
static const char *const decision_allow[] = {"verdict", NULL};
static const char *const decision_deny[] = {"verdict", "reason", "guard", NULL};
static const char *const decision_reason[] = {"verdict", "reason", NULL};

/* ---- names ---------------------------------------------------------------------- */

const char *chio_receipt_kind_name(chio_receipt_kind k)
{
    return (int)k >= 0 && (int)k < COUNT(kind_names) ? kind_names[k] : NULL;
}

const char *chio_boundary_class_name(chio_boundary_class b)
{
    return (int)b >= 0 && (int)b < COUNT(boundary_names) ? boundary_names[b] : NULL;
}

const char *chio_observation_outcome_name(chio_observation_outcome o)
{
    if (o == CHIO_OUTCOME_NONE)
        return "none";
    return (int)o > 0 && (int)o <= COUNT(outcome_names) ? outcome_names[o - 1] : NULL;
}

const char *chio_tool_origin_name(chio_tool_origin o)
{
    return (int)o >= 0 && (int)o < COUNT(origin_names) ? origin_names[o] : NULL;
}

const char *chio_redaction_mode_name(chio_redaction_mode r)
{
    return (int)r >= 0 && (int)r < COUNT(redaction_names) ? redaction_names[r] : NULL;
}

const char *chio_trust_level_name(chio_trust_level t)
{
    return (int)t >= 0 && (int)t < COUNT(trust_names) ? trust_names[t] : NULL;
}

const char *chio_verdict_name(chio_verdict v)
{
    if (v == CHIO_VERDICT_NONE)
        return "none";
    return (int)v > 0 && (int)v <= COUNT(verdict_names) ? verdict_names[v - 1] : NULL;
}

/* ---- reading a receipt object ------------------------------------------------------ */

static void note_unknown(receipt_view *v, const chio_json *obj, const char *const *known)
{
    const char *k;

    if (v->unknown[0] != '\0')
        return;
    k = chio__first_unknown_key(obj, known);
    if (k != NULL)
        v->unknown = k;
}

static int read_decision(const chio_json *d, receipt_view *v, chio_error *err)
{
    int idx = 0, rc;

    if (d->type != CHIO_JSON_OBJECT)
        return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET,
                          WHAT ": field 'decision' must be an object");
    rc = chio__field_enum(d, "verdict", CHIO__REQUIRED, verdict_names, COUNT(verdict_names), &idx,
                          NULL, err, WHAT " decision");
    if (rc != 0)
        return rc;
    v->verdict = (chio_verdict)(idx + 1);
    switch (v->verdict) {
    case CHIO_VERDICT_ALLOW:
        note_unknown(v, d, decision_allow);
        return 0;
    case CHIO_VERDICT_DENY:
        note_unknown(v, d, decision_deny);
        rc = chio__field_string(d, "reason", CHIO__REQUIRED, &v->reason, NULL, err,
                                WHAT " decision");
        if (rc == 0)
            rc = chio__field_string(d, "guard", CHIO__REQUIRED, &v->guard, NULL, err,
                                    WHAT " decision");
        return rc;
    default:
        note_unknown(v, d, decision_reason);
        return chio__field_string(d, "reason", CHIO__REQUIRED, &v->reason, NULL, err,
                                  WHAT " decision");
    }
}

/* actor_chain and evidence: arrays of small objects; optional null members
 * inside them are dropped like chio does. */
static int read_list(chio_json *list, int is_evidence, receipt_view *v, chio_error *err)
{
    uint32_t i;
    int rc, b;
    const char *s;
    const char *what = is_evidence ? WHAT " evidence" : WHAT " actor_chain";

    for (i = 0; i < list->n; i++) {
        chio_json *it = &list->v.items[i];
        if (it->type != CHIO_JSON_OBJECT)
            return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET, "%s: item %u must be an object",
                              what, i);
        if (is_evidence) {
            chio__drop_null(it, "details", 0);
            note_unknown(v, it, evidence_fields);
            rc = chio__field_string(it, "guard_name", CHIO__REQUIRED, &s, NULL, err, what);
            if (rc == 0)
                rc = chio__field_bool(it, "verdict", CHIO__REQUIRED, &b, NULL, err, what);
            if (rc == 0)
                rc = chio__field_string(it, "details", CHIO__OPTIONAL, &s, NULL, err, what);
        } else {
            chio__drop_null(it, "actor_kind", 0);
            note_unknown(v, it, actor_fields);
            rc = chio__field_string(it, "actor_id", CHIO__REQUIRED, &s, NULL, err, what);
            if (rc == 0)
                rc = chio__field_string(it, "actor_kind", CHIO__OPTIONAL, &s, NULL, err, what);
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

/*
 * metadata is "any JSON object" (wire-format.md 3), as the builder already
 * required: a receipt body or signed receipt with any other value is
 * refused, so `chio receipt sign` no longer signs what the spec's readers
 * refuse [`interop_wire::metadata_that_is_not_an_object_is_refused`].
 */
static int check_metadata(const chio_json *obj, chio_error *err)
{
    const chio_json *m = chio_json_get(obj, "metadata");

    if (m != NULL && m->type != CHIO_JSON_OBJECT)
        return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET,
                          WHAT ": field 'metadata' must be a JSON object");
    return 0;
}

/*
 * Read the signature into @v and write it back in lowercase: chio's typed
 * receipt accepts either case and emits lowercase (spec section 2), so the
 * stored bytes (a Merkle leaf) of a receipt given in uppercase are those.
 */
static int read_signature(chio_json_doc *doc, chio_json *obj, receipt_view *v, chio_error *err)
{
    chio_json *sig = chio__json_obj_find(obj, "signature", 9);
    char hex[2 * CHIO_SIGNATURE_BYTES + 1];

    if (sig == NULL)
        return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET, WHAT ": field 'signature' is missing");
    if (sig->type != CHIO_JSON_STRING ||
        chio_signature_from_hex(sig->v.s, sig->n, v->signature) != 0)
        return chio__fail(err, CHIO_ESIGFORMAT, CHIO_NO_OFFSET,
                          WHAT ": field 'signature' must be 128 hex digits (64 bytes)");
    chio__hex_encode(v->signature, CHIO_SIGNATURE_BYTES, hex);
    if (memcmp(sig->v.s, hex, 2 * CHIO_SIGNATURE_BYTES) != 0 &&
        chio__json_set_string(doc, sig, hex, 2 * CHIO_SIGNATURE_BYTES) != 0)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    return 0;
}

/*
 * Normalise @obj in place and fill @v. VIEW_SIGNED needs id, signature and
 * kernel_key; VIEW_BODY ignores id and signature and takes kernel_key and
 * parameter_hash as optional.
 */
int chio__receipt_view_read(chio_json_doc *doc, chio_json *obj, receipt_view *v, int mode,
                            chio_error *err)
{
    static const char *const drop[] = {"decision", "observation_outcome", "metadata", "tenant_id"};
    const chio_json *action, *dec;
    chio_json *list;
    size_t i;
    int rc, present = 0, idx;

    memset(v, 0, sizeof(*v));
    v->unknown = "";
    v->outcome = CHIO_OUTCOME_NONE;
    if (obj->type != CHIO_JSON_OBJECT)
        return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET, WHAT " must be a JSON object");
    for (i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
        chio__drop_null(obj, drop[i], 0);
    chio__drop_null(obj, "evidence", 1);
    chio__drop_null(obj, "actor_chain", 1);
    note_unknown(v, obj, top_fields);
    rc = check_metadata(obj, err);
    if (rc != 0)
        return rc;

#define STR(key, field)                                                                \
    do {                                                                               \
        rc = chio__field_string(obj, key, CHIO__REQUIRED, &v->field, NULL, err, WHAT); \
        if (rc != 0)                                                                   \
            return rc;                                                                 \
    } while (0)
#define ENUM(key, names, field)                                                                    \
    do {                                                                                           \
        rc = chio__field_enum(obj, key, CHIO__REQUIRED, names, COUNT(names), &v->field, NULL, err, \
                              WHAT);                                                               \
        if (rc != 0)                                                                               \
            return rc;                                                                             \
    } while (0)

    rc = chio__field_u64(obj, "timestamp", CHIO__REQUIRED, &v->timestamp, NULL, err, WHAT);
    if (rc != 0)
        return rc;
    STR("capability_id", capability_id);
    STR("tool_server", tool_server);
    STR("tool_name", tool_name);
    STR("content_hash", content_hash);
    STR("policy_hash", policy_hash);
    ENUM("receipt_kind", kind_names, kind);
    ENUM("boundary_class", boundary_names, boundary);
    ENUM("tool_origin", origin_names, origin);
    ENUM("redaction_mode", redaction_names, redaction);
    ENUM("trust_level", trust_names, trust);
#undef STR
#undef ENUM
    rc = chio__field_enum(obj, "observation_outcome", CHIO__OPTIONAL, outcome_names,
                          COUNT(outcome_names), &idx, &present, err, WHAT);
    if (rc != 0)
        return rc;
    if (present)
        v->outcome = idx + 1;
    rc = chio__field_string(obj, "tenant_id", CHIO__OPTIONAL, &v->tenant_id, NULL, err, WHAT);
    if (rc != 0)
        return rc;

    rc = chio__field_typed(obj, "action", CHIO__REQUIRED, CHIO_JSON_OBJECT, &action, err, WHAT);
    if (rc != 0)
        return rc;
    note_unknown(v, action, action_fields);
    v->parameters = chio_json_get(action, "parameters");
    if (v->parameters == NULL)
        return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET,
                          WHAT ": field 'action.parameters' is missing");
    rc = chio__field_string(action, "parameter_hash",
                            mode == VIEW_SIGNED ? CHIO__REQUIRED : CHIO__OPTIONAL,
                            &v->parameter_hash, NULL, err, WHAT " action");
    if (rc != 0)
        return rc;

    dec = chio_json_get(obj, "decision");
    if (dec != NULL) {
        rc = read_decision(dec, v, err);
        if (rc != 0)
            return rc;
    }
    list = chio__json_obj_find(obj, "actor_chain", 11);
    if (list != NULL) {
        if (list->type != CHIO_JSON_ARRAY)
            return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET,
                              WHAT ": field 'actor_chain' must be an array");
        rc = read_list(list, 0, v, err);
        if (rc != 0)
            return rc;
    }
    list = chio__json_obj_find(obj, "evidence", 8);
    if (list != NULL) {
        if (list->type != CHIO_JSON_ARRAY)
            return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET,
                              WHAT ": field 'evidence' must be an array");
        rc = read_list(list, 1, v, err);
        if (rc != 0)
            return rc;
    }

    if (mode == VIEW_BODY)
        return 0;
    rc = chio__field_pubkey(doc, obj, "kernel_key", v->kernel_key, err, WHAT);
    if (rc != 0)
        return rc;
    v->kernel_key_hex = chio_json_string(chio_json_get(obj, "kernel_key"), NULL);
    rc = chio__field_string(obj, "id", CHIO__REQUIRED, &v->id, NULL, err, WHAT);
    if (rc != 0)
        return rc;
    return read_signature(doc, obj, v, err);
}

/* chio's signable-semantics rule (ReceiptSemanticFields::validate_decision
 * plus the trust level each kind requires). */
int chio__receipt_check_semantics(const receipt_view *v, chio_error *err)
{
    static const int trust_for_kind[] = {CHIO_TRUST_MEDIATED, CHIO_TRUST_VERIFIED,
                                         CHIO_TRUST_ADVISORY};
    const char *k = kind_names[v->kind];

    if (v->boundary == CHIO_BOUNDARY_CANNOT_SEE)
        return chio__fail(err, CHIO_ESEMANTIC, CHIO_NO_OFFSET,
                          "%s receipts cannot use cannot_see as a signed boundary", k);
    switch (v->kind) {
    case CHIO_KIND_MEDIATED_DECISION:
        if (v->boundary != CHIO_BOUNDARY_PREVENT || v->outcome != CHIO_OUTCOME_NONE ||
            v->verdict == CHIO_VERDICT_NONE)
            return chio__fail(err, CHIO_ESEMANTIC, CHIO_NO_OFFSET,
                              "mediated_decision receipts require a prevent boundary, no "
                              "observation outcome, and a decision");
        break;
    case CHIO_KIND_TRACE_OBSERVATION:
        if (v->boundary != CHIO_BOUNDARY_DETECT_ONLY || v->outcome == CHIO_OUTCOME_NONE ||
            v->verdict != CHIO_VERDICT_NONE)
            return chio__fail(err, CHIO_ESEMANTIC, CHIO_NO_OFFSET,
                              "trace_observation receipts require a detect_only boundary, an "
                              "observation outcome, and no decision");
        break;
    default:
        if (v->boundary != CHIO_BOUNDARY_ADVISORY_ONLY || v->outcome == CHIO_OUTCOME_NONE ||
            v->verdict != CHIO_VERDICT_NONE)
            return chio__fail(err, CHIO_ESEMANTIC, CHIO_NO_OFFSET,
                              "advisory_evaluation receipts require an advisory_only boundary, an "
                              "observation outcome, and no decision");
        break;
    }
    if (v->trust != trust_for_kind[v->kind])
        return chio__fail(err, CHIO_ESEMANTIC, CHIO_NO_OFFSET, "%s receipts require trust_level %s",
                          k, trust_names[trust_for_kind[v->kind]]);
    return 0;
}

/* ---- parsed receipts -------------------------------------------------------------------- */

static void parsed_free(receipt_parsed *p)
{
    if (p == NULL)
        return;
    chio_json_doc_free(p->doc);
    free(p);
}

/* Parse stored bytes into a document and a signed view (normalising nulls
 * and empty lists away, as chio does). */
static int parsed_new(const char *json, size_t len, receipt_parsed **out, chio_error *err)
{
    receipt_parsed *p = calloc(1, sizeof(*p));
    int rc;

    *out = NULL;
    if (p == NULL)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    rc = chio_json_parse(json, len, &p->doc, err);
    if (rc == 0)
        rc = chio__receipt_view_read(p->doc, chio__json_doc_root(p->doc), &p->v, VIEW_SIGNED, err);
    if (rc != 0) {
        parsed_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* The receipt read back from its bytes; for a receipt signed here, parsed
 * on first need. Several threads may race to make it: one publishes
 * (release, so its document is complete for every acquiring reader), the
 * others free theirs and use the published one. NULL when out of memory. */
const receipt_parsed *chio__receipt_parsed_of(const chio_receipt *r)
{
    chio_receipt *w = (chio_receipt *)r; /* the cache is not part of the value */
    receipt_parsed *p = __atomic_load_n(&w->parsed, __ATOMIC_ACQUIRE), *expected = NULL;

    if (p != NULL)
        return p;
    if (parsed_new(r->json, r->json_len, &p, NULL) != 0)
        return NULL;
    if (!__atomic_compare_exchange_n(&w->parsed, &expected, p, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        parsed_free(p);
        p = expected;
    }
    return p;
}

int chio_receipt_parse(const char *json, size_t len, chio_receipt **out, chio_error *err)
{
    chio_receipt *r;
    chio_buf b;
    int rc;

    if (out == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "out is NULL");
    *out = NULL;
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    rc = parsed_new(json, len, &r->parsed, err);
    if (rc != 0) {
        free(r);
        return rc;
    }
    r->v = r->parsed->v;
    chio__buf_init(&b);
    chio__json_write(&b, chio__json_doc_root(r->parsed->doc));
    r->json = chio__buf_detach(&b, &r->json_len);
    if (r->json == NULL) {
        chio_receipt_free(r);
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
    *out = r;
    return 0;
}

void chio_receipt_free(chio_receipt *r)
{
    if (r == NULL)
        return;
    parsed_free(r->parsed);
    if (r->owner != NULL)
        r->owner_free(r->owner);
    else
        free(r->json);
    free(r);
}

const char *chio_receipt_json(const chio_receipt *r, size_t *len)
{
    if (r == NULL)
        return NULL;
    if (len)
        *len = r->json_len;
    return r->json;
}

const char *chio_receipt_id(const chio_receipt *r)
{
    return r ? r->v.id : NULL;
}

uint64_t chio_receipt_timestamp(const chio_receipt *r)
{
    return r ? r->v.timestamp : 0;
}

const char *chio_receipt_capability_id(const chio_receipt *r)
{
    return r ? r->v.capability_id : NULL;
}

const char *chio_receipt_tool_server(const chio_receipt *r)
{
    return r ? r->v.tool_server : NULL;
}

const char *chio_receipt_tool_name(const chio_receipt *r)
{
    return r ? r->v.tool_name : NULL;
}

chio_verdict chio_receipt_verdict(const chio_receipt *r)
{
    return r ? r->v.verdict : CHIO_VERDICT_NONE;
}

const char *chio_receipt_kernel_key_hex(const chio_receipt *r)
{
    return r ? r->v.kernel_key_hex : NULL;
}

const chio_json *chio_receipt_root(const chio_receipt *r)
{
    const receipt_parsed *p = r ? chio__receipt_parsed_of(r) : NULL;

    return p ? chio__json_doc_root(p->doc) : NULL;
}
