/* SPDX-License-Identifier: Apache-2.0 */
/*
 * model/receipt.c - chio.receipt.v1 (spec/wire-format.md section 3).
 *
 * Owns the receipt's three byte forms and the rules between them:
 *   id input  = canonical(receipt without "id" and "signature")
 *   id        = sha256_hex(id input)
 *   message   = {"body":<id input>,"id":"<id>"}   (signed with Ed25519)
 *   stored    = canonical(receipt with "id" and "signature")
 * A receipt is kept as a JSON document (normalised the way chio re-serialises
 * it: null optionals and empty evidence/actor_chain dropped, keys lowercase)
 * plus a typed view of its known fields into that document. Builders are a
 * JSON document of the body under construction.
 *
 * Calls the core layer (JSON, crypto). No shared state; a receipt is
 * immutable once made and may be read from any thread.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chio/receipt.h"
#include "model.h"

#define WHAT "receipt"

static const char *const kind_names[] = {"mediated_decision", "trace_observation",
                                         "advisory_evaluation"};
static const char *const boundary_names[] = {"prevent", "detect_only", "advisory_only",
                                             "cannot_see"};
static const char *const outcome_names[] = {"observed", "evaluated", "dropped"};
static const char *const origin_names[] = {"caller_executed", "host_executed_provider_reported",
                                           "host_executed_unmediated"};
static const char *const redaction_names[] = {"none", "summary", "redacted"};
static const char *const trust_names[] = {"mediated", "verified", "advisory"};
static const char *const verdict_names[] = {"allow", "deny", "cancelled", "incomplete"};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

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

/* Typed view of a receipt's known fields; strings point into the document. */
typedef struct receipt_view {
    const char *id;
    uint64_t timestamp;
    const char *capability_id, *tool_server, *tool_name;
    const char *policy_hash, *content_hash, *tenant_id;
    const chio_json *parameters;
    const char *parameter_hash;
    chio_verdict verdict;
    const char *reason, *guard;
    int kind, boundary, outcome, origin, redaction, trust;
    const char *kernel_key_hex;
    uint8_t kernel_key[CHIO_PUBKEY_BYTES];
    uint8_t signature[CHIO_SIGNATURE_BYTES];
    const char *unknown; /* first unknown field, "" when none */
} receipt_view;

/* The receipt read back from its stored bytes: a document and a view into
 * it. Made by chio_receipt_parse(), or on first need (chio_receipt_root,
 * chio_receipt_verify) for a receipt this library signed. */
typedef struct receipt_parsed {
    chio_json_doc *doc;
    receipt_view v;
} receipt_parsed;

struct chio_receipt {
    receipt_view v; /* typed fields; strings in strs, or in parsed->doc */
    char *strs;
    receipt_parsed *parsed; /* atomic: published once, with release */
    char *json;             /* the stored form, NUL-terminated */
    size_t json_len;
    void *owner; /* when set, json lives in it: owner_free(owner) */
    void (*owner_free)(void *owner);
};

struct chio_receipt_builder {
    chio_json_doc *doc;
    chio_json *body;
    int has_timestamp;
    size_t hint;    /* the parameters' canonical length, when known */
    char phash[65]; /* parameter_hash known by the kernel ("" = compute) */
};

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

enum { VIEW_BODY = 0, VIEW_SIGNED = 1 };

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
 * Normalise @obj in place and fill @v. VIEW_SIGNED needs id, signature and
 * kernel_key; VIEW_BODY ignores id and signature and takes kernel_key and
 * parameter_hash as optional.
 */
static int view_read(chio_json_doc *doc, chio_json *obj, receipt_view *v, int mode, chio_error *err)
{
    static const char *const drop[] = {"decision", "observation_outcome", "metadata", "tenant_id"};
    const chio_json *action, *dec, *sig;
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
    sig = chio_json_get(obj, "signature");
    if (sig == NULL)
        return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET, WHAT ": field 'signature' is missing");
    if (sig->type != CHIO_JSON_STRING ||
        chio_signature_from_hex(sig->v.s, sig->n, v->signature) != 0)
        return chio__fail(err, CHIO_ESIGFORMAT, CHIO_NO_OFFSET,
                          WHAT ": field 'signature' must be 128 hex digits (64 bytes)");
    return 0;
}

/* chio's signable-semantics rule (ReceiptSemanticFields::validate_decision
 * plus the trust level each kind requires). */
static int check_semantics(const receipt_view *v, chio_error *err)
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

/* ---- the byte forms ------------------------------------------------------------------ */

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

static int set_str(chio_json_doc *doc, chio_json *obj, const char *key, const char *val)
{
    chio_json *slot = chio__json_obj_put(doc, obj, key, strlen(key));

    if (slot == NULL)
        return CHIO_ENOMEM;
    return chio__json_set_string(doc, slot, val, strlen(val));
}

/* The members the stored form adds to the id input: "id":"<64 hex>" and
 * "signature":"<128 hex>", each with the comma that joins it. */
#define MSG_HEAD 8 /* {"body": */
#define ID_MEMBER (6 + 64 + 1)
#define SIG_MEMBER (13 + CHIO_SIGNATURE_HEX_LEN + 1)
#define STORED_EXTRA (ID_MEMBER + 1 + SIG_MEMBER + 1)

/* Note where a member named @name goes in canonical order: before the
 * first member whose key sorts after it, else at the closing brace. */
static void note_slot(const chio_json_member *m, const char *name, size_t nlen, size_t at,
                      int *found, size_t *slot)
{
    if (!*found && chio__json_key_cmp(m->key, m->klen, name, nlen) > 0) {
        *found = 1;
        *slot = at;
    }
}

/*
 * Write the signing message of @obj (which holds neither id nor signature)
 * into p->buf once, in a buffer sized for the stored form too (@hint: the
 * parameters' canonical length, 0 when unknown), and note where the stored
 * form's id and signature members go. Fills p->id.
 */
static int write_message(chio__receipt_prep *p, const chio_json *obj, size_t hint)
{
    chio_buf *b = &p->buf;
    int id_found = 0, sig_found = 0;
    size_t start;
    uint32_t i;
    int rc;

    if (hint > CHIO_JSON_MAX_INPUT)
        hint = CHIO_JSON_MAX_INPUT;
    chio__buf_reserve(b, hint + 2048 + STORED_EXTRA);
    chio__buf_append(b, "{\"body\":{", MSG_HEAD + 1);
    start = MSG_HEAD;
    for (i = 0; i < obj->n; i++) {
        const chio_json_member *m = &obj->v.members[i];
        if (i)
            chio__buf_putc(b, ',');
        note_slot(m, "id", 2, b->len - start, &id_found, &p->id_at);
        note_slot(m, "signature", 9, b->len - start, &sig_found, &p->sig_at);
        chio__json_write_string(b, m->key, m->klen);
        chio__buf_putc(b, ':');
        chio__json_write(b, &m->value);
    }
    p->id_tail = !id_found;
    p->sig_tail = !sig_found;
    if (!id_found)
        p->id_at = b->len - start;
    if (!sig_found)
        p->sig_at = b->len - start;
    chio__buf_putc(b, '}');
    if (b->oom)
        return CHIO_ENOMEM;
    p->body_len = b->len - start;
    rc = chio_sha256_hex(b->data + start, p->body_len, p->id);
    if (rc != 0)
        return rc;
    chio__buf_append(b, ",\"id\":\"", 7);
    chio__buf_append(b, p->id, 64);
    chio__buf_append(b, "\"}", 2);
    /* Room for the stored form (its two members are longer than the
     * message's wrapping), so that signing never allocates. */
    chio__buf_reserve(b, STORED_EXTRA);
    return b->oom ? CHIO_ENOMEM : 0;
}

/* One inserted member: ',' before it at the body's end, else ',' after. */
static size_t member_text(char *out, const char *name, const char *hex, size_t hexlen, int tail,
                          int nonempty)
{
    size_t n = 0, l = strlen(name);

    if (tail && nonempty)
        out[n++] = ',';
    out[n++] = '"';
    memcpy(out + n, name, l);
    n += l;
    memcpy(out + n, "\":\"", 3);
    n += 3;
    memcpy(out + n, hex, hexlen);
    n += hexlen;
    out[n++] = '"';
    if (!tail)
        out[n++] = ',';
    return n;
}

/*
 * Turn the signed message into the stored form in place:
 *   {"body":B1 B2 B3,"id":"..."}  ->  B1 "id":"..", B2 "signature":"..", B3
 * (B1 before the id's slot, B2 between the slots, B3 after). The parts
 * move right to left around the text they make room for: the tail first,
 * then the signature, the middle, the head (left by MSG_HEAD) and the id,
 * each into bytes no later step reads.
 */
static void stored_in_place(chio__receipt_prep *p, const char *sig_hex)
{
    char id_txt[ID_MEMBER + 2], sig_txt[SIG_MEMBER + 2];
    char *d = p->buf.data;
    int nonempty = p->body_len > 2;
    size_t li = member_text(id_txt, "id", p->id, 64, p->id_tail, nonempty);
    size_t ls = member_text(sig_txt, "signature", sig_hex, CHIO_SIGNATURE_HEX_LEN, p->sig_tail,
                            nonempty || li > 0);
    size_t a = p->id_at, s = p->sig_at, n = p->body_len;

    memmove(d + s + li + ls, d + MSG_HEAD + s, n - s);
    memcpy(d + s + li, sig_txt, ls);
    memmove(d + a + li, d + MSG_HEAD + a, s - a);
    memmove(d, d + MSG_HEAD, a);
    memcpy(d + a, id_txt, li);
    p->buf.len = n + li + ls;
    d[p->buf.len] = '\0';
}

/* Copy the view's strings into one block owned by the receipt (the
 * document they point into is about to go). */
static int view_own(receipt_view *v, char **strs)
{
    const char **f[] = {&v->id,          &v->capability_id, &v->tool_server,    &v->tool_name,
                        &v->policy_hash, &v->content_hash,  &v->tenant_id,      &v->parameter_hash,
                        &v->reason,      &v->guard,         &v->kernel_key_hex, &v->unknown};
    size_t i, n = 0, l;
    char *p;

    for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        if (*f[i] != NULL)
            n += strlen(*f[i]) + 1;
    p = *strs = malloc(n ? n : 1);
    if (p == NULL)
        return CHIO_ENOMEM;
    for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        if (*f[i] != NULL) {
            l = strlen(*f[i]) + 1;
            memcpy(p, *f[i], l);
            *f[i] = p;
            p += l;
        }
    v->parameters = NULL;
    return 0;
}

void chio__receipt_prep_destroy(chio__receipt_prep *p)
{
    chio_receipt_free(p->r);
    chio__buf_destroy(&p->buf);
    p->r = NULL;
    p->moved = NULL;
}

/*
 * Complete a body: check it, set parameter_hash and kernel_key, read its
 * typed fields into the receipt being made, write the signing message
 * (sized for the stored form) and free @doc (taken in every case; on
 * failure everything is freed).
 */
static int prep_body(chio_json_doc *doc, chio_json *obj, const char *kernel_key_hex,
                     const char *phash_hint, size_t hint, chio__receipt_prep *p, chio_error *err)
{
    char phash[65];
    chio_json *action;
    receipt_view *v;
    int rc;

    memset(p, 0, sizeof(*p));
    chio__buf_init(&p->buf);
    chio__json_obj_del(obj, "id");
    chio__json_obj_del(obj, "signature");
    chio__json_obj_del(obj, "kernel_key");
    p->r = calloc(1, sizeof(*p->r));
    if (p->r == NULL) {
        chio_json_doc_free(doc);
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
    v = &p->r->v;
    rc = view_read(doc, obj, v, VIEW_BODY, err);
    if (rc == 0)
        rc = check_semantics(v, err);
    if (rc == 0 && chio_pubkey_from_hex(kernel_key_hex, strlen(kernel_key_hex), v->kernel_key) != 0)
        rc = chio__fail(err, CHIO_EKEY, CHIO_NO_OFFSET, "kernel key is not 32 bytes of hex");
    if (rc != 0) {
        chio_json_doc_free(doc);
        chio__receipt_prep_destroy(p);
        return rc;
    }
    action = chio__json_obj_find(obj, "action", 6);
    if (phash_hint != NULL && phash_hint[0] != '\0')
        memcpy(phash, phash_hint, 65);
    else
        rc = chio__canonical_sha256_hex(chio_json_get(action, "parameters"), phash);
    if (rc == 0)
        rc = set_str(doc, action, "parameter_hash", phash);
    if (rc == 0)
        rc = set_str(doc, obj, "kernel_key", kernel_key_hex);
    if (rc == 0)
        rc = write_message(p, obj, hint);
    if (rc == 0) {
        v->parameter_hash = phash;
        v->kernel_key_hex = kernel_key_hex;
        v->id = p->id;
        rc = view_own(v, &p->r->strs);
    }
    chio_json_doc_free(doc);
    /* Never sign what chio_receipt_parse() would refuse to read back. */
    if (rc == 0 && p->body_len + STORED_EXTRA > CHIO_JSON_MAX_INPUT) {
        size_t n = p->body_len + STORED_EXTRA;
        chio__receipt_prep_destroy(p);
        return chio__fail(err, CHIO_ETOOBIG, CHIO_NO_OFFSET,
                          "the receipt would be %zu bytes, over the %zu-byte limit", n,
                          CHIO_JSON_MAX_INPUT);
    }
    if (rc != 0) {
        chio__receipt_prep_destroy(p);
        return chio__fail(err, rc, CHIO_NO_OFFSET, "cannot prepare receipt: %s", chio_strerror(rc));
    }
    return 0;
}

const char *chio__receipt_prep_message(const chio__receipt_prep *p, size_t *len)
{
    *len = p->buf.len;
    return p->buf.data;
}

void chio__receipt_prep_set_signature(chio__receipt_prep *p, const uint8_t sig[64])
{
    char hex[CHIO_SIGNATURE_HEX_LEN + 1];

    chio__hex_encode(sig, CHIO_SIGNATURE_BYTES, hex);
    memcpy(p->r->v.signature, sig, CHIO_SIGNATURE_BYTES);
    stored_in_place(p, hex);
    p->is_signed = 1;
}

const char *chio__receipt_prep_stored(const chio__receipt_prep *p, size_t *len)
{
    if (p->moved != NULL) {
        *len = p->moved_len;
        return p->moved;
    }
    *len = p->buf.len;
    return p->buf.data;
}

void chio__receipt_prep_move_stored(chio__receipt_prep *p, const char *bytes)
{
    p->moved_len = p->buf.len;
    p->moved = bytes;
    chio__buf_destroy(&p->buf);
}

void chio__receipt_prep_set_owner(chio__receipt_prep *p, const char *bytes, void *owner,
                                  void (*owner_free)(void *))
{
    p->moved = bytes;
    p->owner = owner;
    p->owner_free = owner_free;
}

chio_receipt *chio__receipt_prep_finish(chio__receipt_prep *p)
{
    chio_receipt *r = p->r;

    if (p->moved != NULL) {
        r->json = (char *)p->moved;
        r->json_len = p->moved_len;
        r->owner = p->owner;
        r->owner_free = p->owner_free;
    } else {
        /* The buffer was sized for the stored form: detaching never fails. */
        r->json = chio__buf_detach(&p->buf, &r->json_len);
    }
    p->r = NULL;
    p->moved = NULL;
    chio__buf_init(&p->buf);
    return r;
}

/* Prepare, sign on this thread and finish (the non-kernel signing path). */
static int sign_body(chio_json_doc *doc, chio_json *obj, const chio_keypair *kp, chio_receipt **out,
                     chio_error *err)
{
    chio__receipt_prep p;
    uint8_t sig[CHIO_SIGNATURE_BYTES];
    size_t len;
    const char *msg;
    int rc = prep_body(doc, obj, chio_keypair_public_hex(kp), NULL, 0, &p, err);

    if (rc != 0)
        return rc;
    msg = chio__receipt_prep_message(&p, &len);
    rc = chio_keypair_sign(kp, msg, len, sig);
    if (rc != 0) {
        chio__receipt_prep_destroy(&p);
        return chio__fail(err, rc, CHIO_NO_OFFSET, "cannot sign receipt: %s", chio_strerror(rc));
    }
    chio__receipt_prep_set_signature(&p, sig);
    *out = chio__receipt_prep_finish(&p);
    return 0;
}

/* ---- builder --------------------------------------------------------------------------- */

int chio_receipt_builder_new(chio_receipt_builder **out)
{
    chio_receipt_builder *b;
    chio_json *slot;
    char nullhash[65];
    int rc;

    if (out == NULL)
        return CHIO_EINVAL;
    *out = NULL;
    b = calloc(1, sizeof(*b));
    if (b == NULL)
        return CHIO_ENOMEM;
    b->doc = chio__json_doc_new(4096); /* a typical receipt, signed, in one block */
    if (b->doc == NULL) {
        free(b);
        return CHIO_ENOMEM;
    }
    b->body = chio__json_doc_root(b->doc);
    rc = chio__json_set_object(b->doc, b->body, 20);
    if (rc == 0)
        rc = set_str(b->doc, b->body, "receipt_kind", kind_names[0]);
    if (rc == 0)
        rc = set_str(b->doc, b->body, "boundary_class", boundary_names[0]);
    if (rc == 0)
        rc = set_str(b->doc, b->body, "trust_level", trust_names[0]);
    if (rc == 0)
        rc = set_str(b->doc, b->body, "tool_origin", origin_names[0]);
    if (rc == 0)
        rc = set_str(b->doc, b->body, "redaction_mode", redaction_names[0]);
    if (rc == 0)
        rc = chio_sha256_hex("null", 4, nullhash);
    if (rc == 0)
        rc = set_str(b->doc, b->body, "content_hash", nullhash);
    if (rc == 0) {
        slot = chio__json_obj_put(b->doc, b->body, "action", 6);
        rc = slot ? chio__json_set_object(b->doc, slot, 2) : CHIO_ENOMEM;
        if (rc == 0) {
            slot = chio__json_obj_put(b->doc, slot, "parameters", 10);
            rc = slot ? chio__json_set_object(b->doc, slot, 0) : CHIO_ENOMEM;
        }
    }
    if (rc != 0) {
        chio_receipt_builder_free(b);
        return rc;
    }
    *out = b;
    return 0;
}

chio_receipt_builder *chio__receipt_builder_dup(const chio_receipt_builder *b)
{
    chio_receipt_builder *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->doc = chio__json_doc_new(2048);
    if (c->doc == NULL) {
        free(c);
        return NULL;
    }
    c->body = chio__json_doc_root(c->doc);
    c->has_timestamp = b->has_timestamp;
    memcpy(c->phash, b->phash, sizeof(c->phash));
    if (chio__json_copy(c->doc, c->body, b->body) != 0) {
        chio_receipt_builder_free(c);
        return NULL;
    }
    return c;
}

void chio_receipt_builder_free(chio_receipt_builder *b)
{
    if (b == NULL)
        return;
    chio_json_doc_free(b->doc);
    free(b);
}

static int valid_text(const char *s)
{
    return s != NULL && chio__utf8_valid(s, strlen(s));
}

static int builder_str(chio_receipt_builder *b, const char *key, const char *val)
{
    if (b == NULL || !valid_text(val))
        return CHIO_EINVAL;
    return set_str(b->doc, b->body, key, val);
}

int chio_receipt_builder_set_timestamp(chio_receipt_builder *b, uint64_t unix_secs)
{
    chio_json *slot;

    if (b == NULL)
        return CHIO_EINVAL;
    slot = chio__json_obj_put(b->doc, b->body, "timestamp", 9);
    if (slot == NULL)
        return CHIO_ENOMEM;
    chio__json_set_uint(slot, unix_secs);
    b->has_timestamp = 1;
    return 0;
}

int chio_receipt_builder_set_capability_id(chio_receipt_builder *b, const char *id)
{
    return builder_str(b, "capability_id", id);
}

int chio_receipt_builder_set_tool(chio_receipt_builder *b, const char *server, const char *tool)
{
    if (b == NULL || !valid_text(server) || !valid_text(tool))
        return CHIO_EINVAL;
    int rc = set_str(b->doc, b->body, "tool_server", server);
    return rc ? rc : set_str(b->doc, b->body, "tool_name", tool);
}

int chio_receipt_builder_set_policy_hash(chio_receipt_builder *b, const char *hash)
{
    return builder_str(b, "policy_hash", hash);
}

int chio_receipt_builder_set_tenant_id(chio_receipt_builder *b, const char *tenant)
{
    if (b != NULL && tenant == NULL) {
        chio__json_obj_del(b->body, "tenant_id");
        return 0;
    }
    return builder_str(b, "tenant_id", tenant);
}

/* Parse @json and copy its root into a member of @dst_obj. */
static int put_parsed(chio_receipt_builder *b, chio_json *dst_obj, const char *key,
                      const char *json, size_t len, int need_object, int extra_depth,
                      chio_error *err)
{
    chio_json_doc *tmp;
    chio_json *slot;
    int rc;

    rc = chio_json_parse(json, len, &tmp, err);
    if (rc != 0)
        return rc;
    /* The value sits @extra_depth levels down in the receipt: the signed
     * receipt must still be readable by chio_receipt_parse(). */
    if (chio__json_depth(chio_json_root(tmp)) + extra_depth > CHIO_JSON_MAX_DEPTH) {
        chio_json_doc_free(tmp);
        return chio__fail(err, CHIO_EJSON_DEPTH, CHIO_NO_OFFSET,
                          WHAT ": %s nests more than %d levels inside a receipt", key,
                          CHIO_JSON_MAX_DEPTH);
    }
    if (need_object && chio_json_root(tmp)->type != CHIO_JSON_OBJECT) {
        chio_json_doc_free(tmp);
        return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET, WHAT ": %s must be a JSON object",
                          key);
    }
    slot = chio__json_obj_put(b->doc, dst_obj, key, strlen(key));
    rc = slot ? chio__json_copy(b->doc, slot, chio_json_root(tmp)) : CHIO_ENOMEM;
    chio_json_doc_free(tmp);
    return rc;
}

int chio_receipt_builder_set_parameters(chio_receipt_builder *b, const char *json, size_t len,
                                        chio_error *err)
{
    if (b == NULL || json == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL argument");
    b->phash[0] = '\0'; /* computed at signing */
    return put_parsed(b, chio__json_obj_find(b->body, "action", 6), "parameters", json, len, 0,
                      CHIO__RECEIPT_PARAMS_DEPTH, err);
}

int chio_receipt_builder_set_output(chio_receipt_builder *b, const char *json, size_t len,
                                    chio_error *err)
{
    chio_json_doc *tmp;
    char hash[65];
    int rc;

    if (b == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL builder");
    if (json == NULL) {
        rc = chio_sha256_hex("null", 4, hash);
    } else {
        rc = chio_json_parse(json, len, &tmp, err);
        if (rc != 0)
            return rc;
        rc = chio__canonical_sha256_hex(chio_json_root(tmp), hash);
        chio_json_doc_free(tmp);
    }
    return rc ? rc : set_str(b->doc, b->body, "content_hash", hash);
}

int chio_receipt_builder_set_content_hash(chio_receipt_builder *b, const char *hex)
{
    size_t i;

    if (b == NULL || hex == NULL || strlen(hex) != CHIO_SHA256_HEX_LEN)
        return CHIO_EINVAL;
    for (i = 0; i < CHIO_SHA256_HEX_LEN; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
            return CHIO_EINVAL;
    return set_str(b->doc, b->body, "content_hash", hex);
}

int chio_receipt_builder_set_metadata(chio_receipt_builder *b, const char *json, size_t len,
                                      chio_error *err)
{
    if (b == NULL || json == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL argument");
    return put_parsed(b, b->body, "metadata", json, len, 1, 1, err);
}

int chio_receipt_builder_set_decision(chio_receipt_builder *b, chio_verdict verdict,
                                      const char *reason, const char *guard)
{
    chio_json *d;
    int rc;

    if (b == NULL || (int)verdict < 0 || (int)verdict > CHIO_VERDICT_INCOMPLETE)
        return CHIO_EINVAL;
    if (verdict == CHIO_VERDICT_NONE) {
        if (reason || guard)
            return CHIO_EINVAL;
        chio__json_obj_del(b->body, "decision");
        return 0;
    }
    if (verdict == CHIO_VERDICT_ALLOW && (reason || guard))
        return CHIO_EINVAL;
    if (verdict == CHIO_VERDICT_DENY && (!valid_text(reason) || !valid_text(guard)))
        return CHIO_EINVAL;
    if ((verdict == CHIO_VERDICT_CANCELLED || verdict == CHIO_VERDICT_INCOMPLETE) &&
        (!valid_text(reason) || guard))
        return CHIO_EINVAL;
    d = chio__json_obj_put(b->doc, b->body, "decision", 8);
    if (d == NULL)
        return CHIO_ENOMEM;
    rc = chio__json_set_object(b->doc, d, 3);
    if (rc == 0)
        rc = set_str(b->doc, d, "verdict", verdict_names[verdict - 1]);
    if (rc == 0 && reason)
        rc = set_str(b->doc, d, "reason", reason);
    if (rc == 0 && guard)
        rc = set_str(b->doc, d, "guard", guard);
    return rc;
}

static int builder_enum(chio_receipt_builder *b, const char *key, const char *const *names, int n,
                        int value)
{
    if (b == NULL || value < 0 || value >= n)
        return CHIO_EINVAL;
    return set_str(b->doc, b->body, key, names[value]);
}

int chio_receipt_builder_set_kind(chio_receipt_builder *b, chio_receipt_kind kind)
{
    static const int boundary[] = {CHIO_BOUNDARY_PREVENT, CHIO_BOUNDARY_DETECT_ONLY,
                                   CHIO_BOUNDARY_ADVISORY_ONLY};
    static const int trust[] = {CHIO_TRUST_MEDIATED, CHIO_TRUST_VERIFIED, CHIO_TRUST_ADVISORY};
    static const int outcome[] = {CHIO_OUTCOME_NONE, CHIO_OUTCOME_OBSERVED, CHIO_OUTCOME_EVALUATED};
    int rc = builder_enum(b, "receipt_kind", kind_names, COUNT(kind_names), (int)kind);

    if (rc == 0)
        rc = chio_receipt_builder_set_boundary_class(b, (chio_boundary_class)boundary[kind]);
    if (rc == 0)
        rc = chio_receipt_builder_set_trust_level(b, (chio_trust_level)trust[kind]);
    if (rc == 0)
        rc = chio_receipt_builder_set_observation_outcome(b,
                                                          (chio_observation_outcome)outcome[kind]);
    return rc;
}

int chio_receipt_builder_set_boundary_class(chio_receipt_builder *b, chio_boundary_class bc)
{
    return builder_enum(b, "boundary_class", boundary_names, COUNT(boundary_names), (int)bc);
}

int chio_receipt_builder_set_trust_level(chio_receipt_builder *b, chio_trust_level t)
{
    return builder_enum(b, "trust_level", trust_names, COUNT(trust_names), (int)t);
}

int chio_receipt_builder_set_observation_outcome(chio_receipt_builder *b,
                                                 chio_observation_outcome o)
{
    if (b != NULL && o == CHIO_OUTCOME_NONE) {
        chio__json_obj_del(b->body, "observation_outcome");
        return 0;
    }
    return builder_enum(b, "observation_outcome", outcome_names, COUNT(outcome_names), (int)o - 1);
}

int chio_receipt_builder_set_tool_origin(chio_receipt_builder *b, chio_tool_origin o)
{
    return builder_enum(b, "tool_origin", origin_names, COUNT(origin_names), (int)o);
}

int chio_receipt_builder_set_redaction_mode(chio_receipt_builder *b, chio_redaction_mode r)
{
    return builder_enum(b, "redaction_mode", redaction_names, COUNT(redaction_names), (int)r);
}

/* Append an empty object to the array @key (created on first use). */
static chio_json *push_item(chio_receipt_builder *b, const char *key)
{
    chio_json *arr = chio__json_obj_put(b->doc, b->body, key, strlen(key)), *it;

    if (arr == NULL)
        return NULL;
    if (arr->type != CHIO_JSON_ARRAY && chio__json_set_array(b->doc, arr, 4) != 0)
        return NULL;
    it = chio__json_arr_push(b->doc, arr);
    if (it == NULL || chio__json_set_object(b->doc, it, 3) != 0)
        return NULL;
    return it;
}

int chio_receipt_builder_add_actor(chio_receipt_builder *b, const char *actor_id,
                                   const char *actor_kind)
{
    chio_json *it;
    int rc;

    if (b == NULL || !valid_text(actor_id) || (actor_kind && !valid_text(actor_kind)))
        return CHIO_EINVAL;
    it = push_item(b, "actor_chain");
    if (it == NULL)
        return CHIO_ENOMEM;
    rc = set_str(b->doc, it, "actor_id", actor_id);
    if (rc == 0 && actor_kind)
        rc = set_str(b->doc, it, "actor_kind", actor_kind);
    return rc;
}

int chio_receipt_builder_add_evidence(chio_receipt_builder *b, const char *guard_name, int passed,
                                      const char *details)
{
    chio_json *it, *slot;
    int rc;

    if (b == NULL || !valid_text(guard_name) || (details && !valid_text(details)))
        return CHIO_EINVAL;
    it = push_item(b, "evidence");
    if (it == NULL)
        return CHIO_ENOMEM;
    rc = set_str(b->doc, it, "guard_name", guard_name);
    if (rc == 0) {
        slot = chio__json_obj_put(b->doc, it, "verdict", 7);
        if (slot == NULL)
            return CHIO_ENOMEM;
        chio__json_set_bool(slot, passed);
    }
    if (rc == 0 && details)
        rc = set_str(b->doc, it, "details", details);
    return rc;
}

int chio__receipt_prepare(chio_receipt_builder *b, const char *kernel_key_hex,
                          const char *policy_hash, uint64_t now, chio__receipt_prep *p,
                          chio_error *err)
{
    chio_json_doc *doc;
    chio_json *obj, *slot;
    char phash[65];
    size_t hint;
    int rc = 0;

    if (b == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL builder");
    doc = b->doc;
    obj = b->body;
    memcpy(phash, b->phash, sizeof(phash));
    hint = b->hint;
    if (!b->has_timestamp) {
        slot = chio__json_obj_put(doc, obj, "timestamp", 9);
        if (slot == NULL)
            rc = CHIO_ENOMEM;
        else
            chio__json_set_uint(slot, now);
    }
    free(b);
    if (rc == 0 && policy_hash != NULL)
        rc = set_str(doc, obj, "policy_hash", policy_hash);
    if (rc != 0) {
        chio_json_doc_free(doc);
        return chio__fail(err, rc, CHIO_NO_OFFSET, "out of memory");
    }
    return prep_body(doc, obj, kernel_key_hex, phash, hint, p, err);
}

void chio__receipt_builder_size_hint(chio_receipt_builder *b, size_t params_len)
{
    b->hint = params_len;
}

int chio__receipt_builder_adopt_parameters(chio_receipt_builder *b, chio_json_doc *params,
                                           const char *phash)
{
    chio_json *action = chio__json_obj_find(b->body, "action", 6), *slot;

    if (chio__json_depth(chio_json_root(params)) + CHIO__RECEIPT_PARAMS_DEPTH >
        CHIO_JSON_MAX_DEPTH) {
        chio_json_doc_free(params);
        return CHIO_EJSON_DEPTH;
    }
    slot = chio__json_obj_put(b->doc, action, "parameters", 10);
    if (slot == NULL) {
        chio_json_doc_free(params);
        return CHIO_ENOMEM;
    }
    chio__json_adopt(b->doc, slot, params);
    if (phash != NULL && strlen(phash) == 64)
        memcpy(b->phash, phash, 65);
    return 0;
}

int chio__receipt_builder_put_parameters(chio_receipt_builder *b, const chio_json *params,
                                         const char *phash)
{
    if (chio__json_depth(params) + CHIO__RECEIPT_PARAMS_DEPTH > CHIO_JSON_MAX_DEPTH)
        return CHIO_EJSON_DEPTH;
    chio_json *slot =
        chio__json_obj_put(b->doc, chio__json_obj_find(b->body, "action", 6), "parameters", 10);
    int rc = slot ? chio__json_copy(b->doc, slot, params) : CHIO_ENOMEM;

    if (rc == 0 && phash != NULL && strlen(phash) == 64)
        memcpy(b->phash, phash, 65);
    return rc;
}

int chio__receipt_builder_set_context(chio_receipt_builder *b, const char *request_id,
                                      const char *session_id, const char *parent_request_id)
{
    chio_json *meta, *ctx;
    int rc;

    meta = chio__json_obj_put(b->doc, b->body, "metadata", 8);
    if (meta == NULL || chio__json_set_object(b->doc, meta, 1) != 0)
        return CHIO_ENOMEM;
    ctx = chio__json_obj_put(b->doc, meta, "receipt_context", 15);
    if (ctx == NULL || chio__json_set_object(b->doc, ctx, 3) != 0)
        return CHIO_ENOMEM;
    rc = set_str(b->doc, ctx, "request_id", request_id);
    if (rc == 0)
        rc = set_str(b->doc, ctx, "session_id", session_id);
    if (rc == 0 && parent_request_id != NULL)
        rc = set_str(b->doc, ctx, "parent_request_id", parent_request_id);
    return rc;
}

int chio__receipt_builder_set_redaction(chio_receipt_builder *b, const char *original_hash,
                                        const char *guard, uint64_t count, const char *reason)
{
    chio_json *meta, *red;
    int rc;

    meta = chio__json_obj_put(b->doc, b->body, "metadata", 8);
    if (meta == NULL)
        return CHIO_ENOMEM;
    if (meta->type != CHIO_JSON_OBJECT && chio__json_set_object(b->doc, meta, 1) != 0)
        return CHIO_ENOMEM;
    red = chio__json_obj_put(b->doc, meta, "redaction", 9);
    if (red == NULL || chio__json_set_object(b->doc, red, 4) != 0)
        return CHIO_ENOMEM;
    rc = set_str(b->doc, red, "original_parameter_hash", original_hash);
    if (rc == 0 && guard != NULL)
        rc = set_str(b->doc, red, "guard", guard);
    if (rc == 0 && reason != NULL)
        rc = set_str(b->doc, red, "reason", reason);
    if (rc == 0 && count > 0) {
        chio_json *slot = chio__json_obj_put(b->doc, red, "redacted_values", 15);
        if (slot == NULL)
            return CHIO_ENOMEM;
        chio__json_set_uint(slot, count);
    }
    return rc;
}

int chio_receipt_sign(const chio_receipt_builder *b, const chio_keypair *kp, chio_receipt **out,
                      chio_error *err)
{
    chio_json_doc *doc;
    chio_json *obj, *slot;
    int rc;

    if (out == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "out is NULL");
    *out = NULL;
    if (b == NULL || kp == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL builder or keypair");
    doc = chio__json_doc_new(2048);
    if (doc == NULL)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    obj = chio__json_doc_root(doc);
    rc = chio__json_copy(doc, obj, b->body);
    if (rc == 0 && !b->has_timestamp) {
        slot = chio__json_obj_put(doc, obj, "timestamp", 9);
        if (slot == NULL)
            rc = CHIO_ENOMEM;
        else
            chio__json_set_uint(slot, (uint64_t)time(NULL));
    }
    if (rc != 0) {
        chio_json_doc_free(doc);
        return chio__fail(err, rc, CHIO_NO_OFFSET, "out of memory");
    }
    return sign_body(doc, obj, kp, out, err);
}

/* Absent (or null) fields that have a documented default get it, written
 * out explicitly so that every verifier sees the same bytes: the kind
 * fields default as in chio (mediated_decision, prevent, caller_executed,
 * none, mediated) and content_hash to sha256_hex("null") (no output). */
static int fill_body_defaults(chio_json_doc *doc, chio_json *obj)
{
    static const char *const defaults[][2] = {
        {"receipt_kind", "mediated_decision"}, {"boundary_class", "prevent"},
        {"tool_origin", "caller_executed"},    {"redaction_mode", "none"},
        {"trust_level", "mediated"},
    };
    const chio_json *v;
    char nullhash[65];
    size_t i;
    int rc = 0;

    for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]) && rc == 0; i++) {
        v = chio_json_get(obj, defaults[i][0]);
        if (v == NULL || v->type == CHIO_JSON_NULL)
            rc = set_str(doc, obj, defaults[i][0], defaults[i][1]);
    }
    v = chio_json_get(obj, "content_hash");
    if (rc == 0 && (v == NULL || v->type == CHIO_JSON_NULL)) {
        rc = chio_sha256_hex("null", 4, nullhash);
        if (rc == 0)
            rc = set_str(doc, obj, "content_hash", nullhash);
    }
    return rc;
}

int chio_receipt_sign_json(const char *json, size_t len, const chio_keypair *kp, chio_receipt **out,
                           chio_error *err)
{
    chio_json_doc *doc;
    chio_json *obj;
    receipt_view v;
    char phash[65];
    int rc;

    if (out == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "out is NULL");
    *out = NULL;
    if (json == NULL || kp == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL body or keypair");
    rc = chio_json_parse(json, len, &doc, err);
    if (rc != 0)
        return rc;
    obj = chio__json_doc_root(doc);
    rc = 0;
    if (obj->type == CHIO_JSON_OBJECT) {
        chio__json_obj_del(obj, "id");
        chio__json_obj_del(obj, "signature");
        chio__json_obj_del(obj, "kernel_key");
        rc = fill_body_defaults(doc, obj);
    }
    if (rc == 0)
        rc = view_read(doc, obj, &v, VIEW_BODY, err);
    if (rc == 0 && v.unknown[0] != '\0')
        rc = chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET,
                        WHAT ": unknown field '%.64s' (refusing to sign what chio would drop)",
                        v.unknown);
    if (rc == 0)
        rc = check_semantics(&v, err);
    if (rc == 0 && v.parameter_hash != NULL) {
        rc = chio__canonical_sha256_hex(v.parameters, phash);
        if (rc == 0 && strcmp(phash, v.parameter_hash) != 0)
            rc = chio__fail(err, CHIO_EHASH, CHIO_NO_OFFSET,
                            WHAT ": action.parameter_hash does not match the parameters "
                                 "(expected %s)",
                            phash);
    }
    if (rc != 0) {
        chio_json_doc_free(doc);
        return rc;
    }
    return sign_body(doc, obj, kp, out, err);
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
        rc = view_read(p->doc, chio__json_doc_root(p->doc), &p->v, VIEW_SIGNED, err);
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
static const receipt_parsed *parsed_of(const chio_receipt *r)
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
    free(r->strs);
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
    const receipt_parsed *p = r ? parsed_of(r) : NULL;

    return p ? chio__json_doc_root(p->doc) : NULL;
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

    if (r == NULL || rep == NULL || (trusted_keys == NULL && ntrusted != 0))
        return CHIO_EINVAL;
    /* Everything is checked on the stored bytes, read back. */
    p = parsed_of(r);
    if (p == NULL)
        return CHIO_ENOMEM;
    v = &p->v;
    memset(rep, 0, sizeof(*rep));
    chio__buf_init(&msg);

    semantics_ok = check_semantics(v, NULL) == 0;
    /* The message names the id computed here; it is only verified when
     * that id is the receipt's. */
    rc = signing_message(chio__json_doc_root(p->doc), &msg, id);
    if (rc == 0) {
        rep->receipt_id_valid = strcmp(id, v->id) == 0;
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

    if (rep == NULL || out == NULL)
        return CHIO_EINVAL;
    *out = NULL;
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
    TEXT("signer_key_hex", rep->signer_key_hex);
    chio__buf_putc(&b, ',');
    BOOL("signer_trusted", rep->signer_trusted);
    chio__buf_putc(&b, ',');
    TEXT("trust_level", rep->trust_level);
    chio__buf_putc(&b, '}');
#undef BOOL
#undef TEXT
    *out = chio__buf_detach(&b, len);
    return *out ? 0 : CHIO_ENOMEM;
}
