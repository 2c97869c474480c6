/* SPDX-License-Identifier: Apache-2.0 */
/*
 * model/receipt_sign.c - a receipt's byte forms and signing:
 *   id input  = canonical(receipt without "id" and "signature")
 *   id        = sha256_hex(id input)
 *   message   = {"body":<id input>,"id":"<id>"}   (signed with Ed25519)
 *   stored    = canonical(receipt with "id" and "signature")
 * The message is written once from the body's document; once signed it
 * becomes the stored form in place (no second copy of the parameters).
 * The kernel's split (prepare on the caller, sign on a signer thread,
 * finish anywhere) and the one-shot chio_receipt_sign / _sign_json. No
 * shared state.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "receipt_internal.h"

/* ---- the byte forms ------------------------------------------------------------------ */

/* The members the stored form adds to the id input: "id":"<64 hex>" and
 * "signature":"<128 hex>", each with the comma that joins it. */
#define MSG_HEAD     8 /* {"body": */
#define ID_MEMBER    (6 + 64 + 1)
#define SIG_MEMBER   (13 + CHIO_SIGNATURE_HEX_LEN + 1)
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

/* Start the message in p->buf, sized for the stored form too (@hint: the
 * parameters' canonical length, 0 when unknown). */
static void message_begin(chio__receipt_prep *p, size_t hint)
{
    if (hint > CHIO_JSON_MAX_INPUT)
        hint = CHIO_JSON_MAX_INPUT;
    chio__buf_reserve(&p->buf, hint + 2048 + STORED_EXTRA);
    chio__buf_append(&p->buf, "{\"body\":{", MSG_HEAD + 1);
}

/* Close the body, hash it into p->id and wrap up the message. */
static int message_end(chio__receipt_prep *p)
{
    chio_buf *b = &p->buf;
    int rc;

    chio__buf_putc(b, '}');
    if (b->oom)
        return CHIO_ENOMEM;
    p->body_len = b->len - MSG_HEAD;
    rc = chio_sha256_hex(b->data + MSG_HEAD, p->body_len, p->id);
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

/*
 * Write the signing message of @obj (which holds neither id nor signature)
 * into p->buf once and note where the stored form's id and signature
 * members go. Fills p->id.
 */
static int write_message(chio__receipt_prep *p, const chio_json *obj, size_t hint)
{
    chio_buf *b = &p->buf;
    int id_found = 0, sig_found = 0;
    uint32_t i;

    message_begin(p, hint);
    for (i = 0; i < obj->n; i++) {
        const chio_json_member *m = &obj->v.members[i];
        if (i)
            chio__buf_putc(b, ',');
        note_slot(m, "id", 2, b->len - MSG_HEAD, &id_found, &p->id_at);
        note_slot(m, "signature", 9, b->len - MSG_HEAD, &sig_found, &p->sig_at);
        chio__json_write_string(b, m->key, m->klen);
        chio__buf_putc(b, ':');
        chio__json_write(b, &m->value);
    }
    p->id_tail = !id_found;
    p->sig_tail = !sig_found;
    if (!id_found)
        p->id_at = b->len - MSG_HEAD;
    if (!sig_found)
        p->sig_at = b->len - MSG_HEAD;
    return message_end(p);
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

/* A receipt holding @v, its strings copied behind it in the same block
 * (the document or fields they point into are about to go). NULL when
 * out of memory. */
static chio_receipt *receipt_with_view(const receipt_view *v)
{
    const char *const *src[] = {&v->id,        &v->capability_id,  &v->tool_server,
                                &v->tool_name, &v->policy_hash,    &v->content_hash,
                                &v->tenant_id, &v->parameter_hash, &v->reason,
                                &v->guard,     &v->kernel_key_hex, &v->unknown};
    size_t i, n = 0, l;
    chio_receipt *r;
    char *p;

    for (i = 0; i < sizeof(src) / sizeof(src[0]); i++)
        if (*src[i] != NULL)
            n += strlen(*src[i]) + 1;
    r = calloc(1, sizeof(*r) + n);
    if (r == NULL)
        return NULL;
    r->v = *v;
    r->v.parameters = NULL;
    p = (char *)(r + 1);
    for (i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
        const char **dst =
            (const char **)((char *)&r->v + ((const char *)src[i] - (const char *)v));
        if (*src[i] == NULL)
            continue;
        l = strlen(*src[i]) + 1;
        memcpy(p, *src[i], l);
        *dst = p;
        p += l;
    }
    return r;
}

void chio__receipt_prep_destroy(chio__receipt_prep *p)
{
    chio_receipt_free(p->r);
    chio__buf_destroy(&p->buf);
    p->r = NULL;
    p->moved = NULL;
}

/* The end of both prepare paths: a prep that failed (@rc) or would make a
 * receipt chio_receipt_parse() refuses to read back (too large) is emptied
 * and the error reported; otherwise 0. */
static int prep_done(chio__receipt_prep *p, int rc, chio_error *err)
{
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
    receipt_view view, *v = &view;
    int rc;

    memset(p, 0, sizeof(*p));
    chio__buf_init(&p->buf);
    chio__json_obj_del(obj, "id");
    chio__json_obj_del(obj, "signature");
    chio__json_obj_del(obj, "kernel_key");
    rc = chio__receipt_view_read(doc, obj, v, VIEW_BODY, err);
    if (rc == 0)
        rc = chio__receipt_check_semantics(v, err);
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
        rc = chio__receipt_set_str(doc, action, "parameter_hash", phash);
    if (rc == 0)
        rc = chio__receipt_set_str(doc, obj, "kernel_key", kernel_key_hex);
    if (rc == 0)
        rc = write_message(p, obj, hint);
    if (rc == 0) {
        v->parameter_hash = phash;
        v->kernel_key_hex = kernel_key_hex;
        v->id = p->id;
        p->r = receipt_with_view(v);
        rc = p->r ? 0 : CHIO_ENOMEM;
    }
    chio_json_doc_free(doc);
    return prep_done(p, rc, err);
}

/* ---- the kernel's path: typed fields, one pass ------------------------------------------- */

static int text_ok(const char *s)
{
    return s != NULL && chio__utf8_valid(s, strlen(s));
}

/* ,"key":"value" (the first member without the comma). Keys are plain
 * ASCII names, written as they are. */
static void put_str(chio_buf *b, int comma, const char *key, const char *val)
{
    if (comma)
        chio__buf_putc(b, ',');
    chio__buf_putc(b, '"');
    chio__buf_puts(b, key);
    chio__buf_puts(b, "\":");
    chio__json_write_string(b, val, strlen(val));
}

static void put_key(chio_buf *b, int comma, const char *key)
{
    if (comma)
        chio__buf_putc(b, ',');
    chio__buf_putc(b, '"');
    chio__buf_puts(b, key);
    chio__buf_puts(b, "\":");
}

static void put_decision(chio_buf *b, const chio__receipt_fields *f)
{
    put_key(b, 1, "decision");
    chio__buf_putc(b, '{');
    if (f->verdict == CHIO_VERDICT_DENY)
        put_str(b, 0, "guard", f->guard);
    if (f->verdict != CHIO_VERDICT_ALLOW)
        put_str(b, f->verdict == CHIO_VERDICT_DENY, "reason", f->reason);
    put_str(b, f->verdict != CHIO_VERDICT_ALLOW, "verdict", verdict_names[f->verdict - 1]);
    chio__buf_putc(b, '}');
}

static void put_evidence(chio_buf *b, const chio__receipt_fields *f)
{
    size_t i;

    if (f->nev == 0)
        return; /* an empty list is absent, as chio writes it */
    put_key(b, 1, "evidence");
    chio__buf_putc(b, '[');
    for (i = 0; i < f->nev; i++) {
        const chio__evidence *e = &f->ev[i];
        if (i)
            chio__buf_putc(b, ',');
        chio__buf_putc(b, '{');
        if (e->details != NULL)
            put_str(b, 0, "details", e->details);
        put_str(b, e->details != NULL, "guard_name", e->name);
        put_key(b, 1, "verdict");
        chio__buf_puts(b, e->passed ? "true" : "false");
        chio__buf_putc(b, '}');
    }
    chio__buf_putc(b, ']');
}

static void put_metadata(chio_buf *b, const chio__receipt_fields *f)
{
    put_key(b, 1, "metadata");
    chio__buf_puts(b, "{\"receipt_context\":{");
    if (f->parent_request_id != NULL)
        put_str(b, 0, "parent_request_id", f->parent_request_id);
    put_str(b, f->parent_request_id != NULL, "request_id", f->request_id);
    put_str(b, 1, "session_id", f->session_id);
    chio__buf_putc(b, '}');
    if (f->orig_hash != NULL) {
        put_key(b, 1, "redaction");
        chio__buf_putc(b, '{');
        if (f->red_guard != NULL)
            put_str(b, 0, "guard", f->red_guard);
        put_str(b, f->red_guard != NULL, "original_parameter_hash", f->orig_hash);
        if (f->red_reason != NULL)
            put_str(b, 1, "reason", f->red_reason);
        if (f->red_count > 0)
            chio__buf_printf(b, ",\"redacted_values\":%llu", (unsigned long long)f->red_count);
        chio__buf_putc(b, '}');
    }
    chio__buf_putc(b, '}');
}

/* Every string the receipt will hold is UTF-8, and the decision fits its
 * verdict (the builder's rules). */
static int fields_ok(const chio__receipt_fields *f, const char *policy_hash)
{
    size_t i;

    if (!text_ok(f->capability_id) || !text_ok(f->tool_server) || !text_ok(f->tool_name) ||
        !text_ok(f->request_id) || !text_ok(f->session_id) || !text_ok(policy_hash) ||
        f->params == NULL || (f->parent_request_id != NULL && !text_ok(f->parent_request_id)))
        return 0;
    switch (f->verdict) {
    case CHIO_VERDICT_ALLOW:
        break;
    case CHIO_VERDICT_DENY:
        if (!text_ok(f->reason) || !text_ok(f->guard))
            return 0;
        break;
    case CHIO_VERDICT_CANCELLED:
    case CHIO_VERDICT_INCOMPLETE:
        if (!text_ok(f->reason))
            return 0;
        break;
    default:
        return 0;
    }
    for (i = 0; i < f->nev; i++)
        if (!text_ok(f->ev[i].name) || (f->ev[i].details != NULL && !text_ok(f->ev[i].details)))
            return 0;
    if (f->orig_hash != NULL &&
        (!text_ok(f->orig_hash) || (f->red_guard != NULL && !text_ok(f->red_guard)) ||
         (f->red_reason != NULL && !text_ok(f->red_reason)) || (int)f->redaction < 0 ||
         (int)f->redaction > CHIO_REDACTION_REDACTED))
        return 0;
    return 1;
}

/* The body of @f, in canonical member order, into the message. */
static void write_fields(chio__receipt_prep *p, const chio__receipt_fields *f, const char *params,
                         size_t params_len, const char *phash, const char *chash,
                         const char *kernel_key_hex, const char *policy_hash)
{
    chio_buf *b = &p->buf;

    put_key(b, 0, "action");
    chio__buf_puts(b, "{\"parameter_hash\":\"");
    chio__buf_append(b, phash, 64);
    chio__buf_puts(b, "\",\"parameters\":");
    chio__buf_append(b, params, params_len);
    chio__buf_putc(b, '}');
    put_str(b, 1, "boundary_class", boundary_names[CHIO_BOUNDARY_PREVENT]);
    put_str(b, 1, "capability_id", f->capability_id);
    put_str(b, 1, "content_hash", chash);
    put_decision(b, f);
    put_evidence(b, f);
    chio__buf_putc(b, ',');
    p->id_at = b->len - MSG_HEAD; /* "id" sorts between evidence and kernel_key */
    put_str(b, 0, "kernel_key", kernel_key_hex);
    put_metadata(b, f);
    put_str(b, 1, "policy_hash", policy_hash);
    put_str(b, 1, "receipt_kind", kind_names[CHIO_KIND_MEDIATED_DECISION]);
    put_str(b, 1, "redaction_mode", redaction_names[f->orig_hash ? f->redaction : 0]);
    chio__buf_putc(b, ',');
    p->sig_at = b->len - MSG_HEAD; /* "signature" between redaction_mode and timestamp */
    chio__buf_printf(b, "\"timestamp\":%llu", (unsigned long long)f->timestamp);
    put_str(b, 1, "tool_name", f->tool_name);
    put_str(b, 1, "tool_origin", origin_names[0]);
    put_str(b, 1, "tool_server", f->tool_server);
    put_str(b, 1, "trust_level", trust_names[CHIO_TRUST_MEDIATED]);
    p->id_tail = p->sig_tail = 0;
}

/* The typed view of what write_fields wrote (strings copied by receipt_with_view). */
static void fields_view(receipt_view *v, const chio__receipt_fields *f, const char *phash,
                        const char *chash, const char *kernel_key_hex, const char *policy_hash,
                        const char *id)
{
    memset(v, 0, sizeof(*v));
    v->id = id;
    v->timestamp = f->timestamp;
    v->capability_id = f->capability_id;
    v->tool_server = f->tool_server;
    v->tool_name = f->tool_name;
    v->policy_hash = policy_hash;
    v->content_hash = chash;
    v->parameter_hash = phash;
    v->verdict = f->verdict;
    v->reason = f->verdict == CHIO_VERDICT_ALLOW ? NULL : f->reason;
    v->guard = f->verdict == CHIO_VERDICT_DENY ? f->guard : NULL;
    v->kind = CHIO_KIND_MEDIATED_DECISION;
    v->boundary = CHIO_BOUNDARY_PREVENT;
    v->outcome = CHIO_OUTCOME_NONE;
    v->origin = 0;
    v->redaction = f->orig_hash ? (int)f->redaction : 0;
    v->trust = CHIO_TRUST_MEDIATED;
    v->kernel_key_hex = kernel_key_hex;
    v->unknown = "";
}

/* Free the parameters' text when the writer owns it. */
static void drop_params(chio__receipt_fields *f)
{
    free(f->params_owned);
    f->params_owned = NULL;
}

int chio__receipt_prepare_fields(chio__receipt_fields *f, const char *kernel_key_hex,
                                 const char *policy_hash, chio__receipt_prep *p, chio_error *err)
{
    char phash[65], chash[65], *canon = NULL;
    uint8_t key[CHIO_PUBKEY_BYTES];
    const char *params;
    size_t params_len;
    int rc;

    memset(p, 0, sizeof(*p));
    chio__buf_init(&p->buf);
    if (f == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL fields");
    if (kernel_key_hex == NULL || !fields_ok(f, policy_hash)) {
        drop_params(f);
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          WHAT ": a field is missing, not UTF-8, or does not fit the verdict");
    }
    params = f->params;
    params_len = f->params_len;
    if (!f->params_canonical) {
        rc = chio_json_canonicalize(f->params, f->params_len, &canon, &params_len, err);
        drop_params(f); /* the canonical copy is used from here */
        if (rc != 0)
            return rc;
        params = canon;
    }
    rc = chio_sha256_hex(params, params_len, phash);
    if (rc == 0)
        rc = f->output ? chio_sha256_hex(f->output, f->output_len, chash)
                       : chio_sha256_hex("null", 4, chash);
    if (rc == 0 && chio_pubkey_from_hex(kernel_key_hex, strlen(kernel_key_hex), key) != 0)
        rc = CHIO_EKEY;
    if (rc == 0) {
        message_begin(p, params_len);
        write_fields(p, f, params, params_len, phash, chash, kernel_key_hex, policy_hash);
        rc = message_end(p);
    }
    free(canon);
    drop_params(f); /* written: a large argument text goes before the commit */
    if (rc == 0) {
        receipt_view v;
        fields_view(&v, f, phash, chash, kernel_key_hex, policy_hash, p->id);
        memcpy(v.kernel_key, key, sizeof(key));
        p->r = receipt_with_view(&v);
        rc = p->r ? 0 : CHIO_ENOMEM;
    }
    return prep_done(p, rc, err);
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

int chio__receipt_prepare(chio_receipt_builder *b, const char *kernel_key_hex,
                          const char *policy_hash, uint64_t now, chio__receipt_prep *p,
                          chio_error *err)
{
    chio_json_doc *doc;
    chio_json *obj, *slot;
    int rc = 0;

    if (b == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL builder");
    doc = b->doc;
    obj = b->body;
    if (!b->has_timestamp) {
        slot = chio__json_obj_put(doc, obj, "timestamp", 9);
        if (slot == NULL)
            rc = CHIO_ENOMEM;
        else
            chio__json_set_uint(slot, now);
    }
    free(b);
    if (rc == 0 && policy_hash != NULL)
        rc = chio__receipt_set_str(doc, obj, "policy_hash", policy_hash);
    if (rc != 0) {
        chio_json_doc_free(doc);
        return chio__fail(err, rc, CHIO_NO_OFFSET, "out of memory");
    }
    return prep_body(doc, obj, kernel_key_hex, NULL, 0, p, err);
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
            rc = chio__receipt_set_str(doc, obj, defaults[i][0], defaults[i][1]);
    }
    v = chio_json_get(obj, "content_hash");
    if (rc == 0 && (v == NULL || v->type == CHIO_JSON_NULL)) {
        rc = chio_sha256_hex("null", 4, nullhash);
        if (rc == 0)
            rc = chio__receipt_set_str(doc, obj, "content_hash", nullhash);
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
    /* The builder's rule: no receipt deeper than chio reads (serde_json
     * refuses 128 levels), whatever part of the body nests
     * [`rev46_wire::receipt_sign_refuses_a_body_chio_could_not_read`]. */
    if (chio__json_depth(obj) > CHIO__RECEIPT_MAX_DEPTH) {
        chio_json_doc_free(doc);
        return chio__fail(err, CHIO_EJSON_DEPTH, CHIO_NO_OFFSET,
                          WHAT ": the body nests more than %d levels (chio could not read it)",
                          CHIO__RECEIPT_MAX_DEPTH);
    }
    rc = 0;
    if (obj->type == CHIO_JSON_OBJECT) {
        chio__json_obj_del(obj, "id");
        chio__json_obj_del(obj, "signature");
        chio__json_obj_del(obj, "kernel_key");
        rc = fill_body_defaults(doc, obj);
    }
    if (rc == 0)
        rc = chio__receipt_view_read(doc, obj, &v, VIEW_BODY, err);
    if (rc == 0 && v.unknown[0] != '\0')
        rc = chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET,
                        WHAT ": unknown field '%.64s' (refusing to sign what chio would drop)",
                        v.unknown);
    if (rc == 0)
        rc = chio__receipt_check_semantics(&v, err);
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
