/* SPDX-License-Identifier: Apache-2.0 */
/*
 * model/model.h - private helpers of the model layer (receipts, capability
 * tokens, Merkle trees): typed field extraction from JSON objects with
 * precise error messages, and public-key normalisation. May call the core
 * layer only. No state.
 */
#ifndef CHIO_MODEL_H
#define CHIO_MODEL_H

#include <stdint.h>

#include "chio/error.h"
#include "chio/receipt.h"
#include "internal.h"

/* Field presence rule for the extractors below. */
enum { CHIO__OPTIONAL = 0, CHIO__REQUIRED = 1 };

/*
 * Each extractor reads @obj[@key]. A missing (or, when optional, null) field
 * returns 0 with *present = 0 (present may be NULL). A wrong type or value
 * fails with CHIO_EFORMAT and "<what>: field '<key>' ..." in @err.
 */
int chio__field_string(const chio_json *obj, const char *key, int required, const char **out,
                       int *present, chio_error *err, const char *what);
int chio__field_u64(const chio_json *obj, const char *key, int required, uint64_t *out,
                    int *present, chio_error *err, const char *what);
int chio__field_bool(const chio_json *obj, const char *key, int required, int *out, int *present,
                     chio_error *err, const char *what);
/* A string that must be one of @names; *out receives its index. */
int chio__field_enum(const chio_json *obj, const char *key, int required, const char *const *names,
                     int nnames, int *out, int *present, chio_error *err, const char *what);
/* An object or array member that must have @type when present. */
int chio__field_typed(const chio_json *obj, const char *key, int required, chio_json_type type,
                      const chio_json **out, chio_error *err, const char *what);

/*
 * A public key field: 64 hex digits of either case, optional "0x". The
 * string in the document is rewritten in place to lowercase without the
 * prefix (chio re-serialises keys that way), and the bytes go to @out.
 * Fails with CHIO_EKEY.
 */
int chio__field_pubkey(chio_json_doc *doc, chio_json *obj, const char *key, uint8_t out[32],
                       chio_error *err, const char *what);

/* Remove @obj[@key] when it is null; when @drop_empty_array, also when it
 * is an empty array. */
void chio__drop_null(chio_json *obj, const char *key, int drop_empty_array);

/* Every member key of @obj is in @known (NULL-terminated)? Returns the first
 * unknown key or NULL. */
const char *chio__first_unknown_key(const chio_json *obj, const char *const *known);

/* The canonical bytes of a JSON value, hashed: sha256_hex(canonical(v)). */
int chio__canonical_sha256_hex(const chio_json *v, char out[65]);

/* ---- receipts, split for the kernel's pipeline -----------------------------------
 * Caller thread: chio__receipt_prepare() consumes the builder: it checks the
 * body, reads its typed fields into the receipt being made, writes the
 * signing message once (noting where the stored form's "id" and
 * "signature" members go) and frees the builder's document. Signer thread:
 * sign the message (chio__receipt_prep_message), then
 * chio__receipt_prep_set_signature() turns the message into the stored
 * form in place (one buffer, no second copy of the parameters). Commit
 * thread: chio__receipt_prep_stored() is what goes to the store; a large
 * receipt may move into the store's write batch
 * (chio__receipt_prep_move_stored). Any thread: chio__receipt_prep_finish()
 * hands the receipt over; it cannot fail (nothing is validated after the
 * commit). */
typedef struct chio__receipt_prep {
    struct chio_receipt *r; /* typed fields set; the bytes join at finish */
    char id[65];
    chio_buf buf;    /* the signing message; once signed, the stored form */
    size_t body_len; /* the id input, at offset 8 of the message */
    size_t id_at;    /* where in the body the "id" member goes */
    size_t sig_at;   /* where in the body the "signature" member goes */
    uint8_t id_tail; /* 1: at the body's end (",member"), else "member," */
    uint8_t sig_tail;
    uint8_t is_signed; /* buf holds the stored form */
    const char *moved; /* the stored form, moved out of buf (NUL-terminated) */
    size_t moved_len;
    void *owner; /* keeps `moved` alive until owner_free(owner) */
    void (*owner_free)(void *owner);
} chio__receipt_prep;

struct chio_receipt_builder;
struct chio_receipt;
int chio__receipt_prepare(struct chio_receipt_builder *b, const char *kernel_key_hex,
                          const char *policy_hash, uint64_t now, chio__receipt_prep *p,
                          chio_error *err);
/* The signing message (before chio__receipt_prep_set_signature). */
const char *chio__receipt_prep_message(const chio__receipt_prep *p, size_t *len);
void chio__receipt_prep_set_signature(chio__receipt_prep *p, const uint8_t sig[64]);
/* The stored form, NUL-terminated (after chio__receipt_prep_set_signature). */
const char *chio__receipt_prep_stored(const chio__receipt_prep *p, size_t *len);
/* The stored form now also lives at @bytes (the same bytes, NUL-terminated):
 * the prep's own copy is freed and @bytes is used from here on. @owner, when
 * not NULL, is released with @owner_free by whoever frees the receipt; set
 * it later (chio__receipt_prep_set_owner) when the storage only becomes the
 * receipt's after a write. */
void chio__receipt_prep_move_stored(chio__receipt_prep *p, const char *bytes);
void chio__receipt_prep_set_owner(chio__receipt_prep *p, const char *bytes, void *owner,
                                  void (*owner_free)(void *));
/* The finished receipt (never NULL for a signed prep); the prep is emptied. */
struct chio_receipt *chio__receipt_prep_finish(chio__receipt_prep *p);
void chio__receipt_prep_destroy(chio__receipt_prep *p);
/* ---- a receipt from typed fields (the kernel's path: no document) ----------------
 * A mediated_decision receipt written straight from its fields, in one
 * pass: the same bytes chio__receipt_prepare() gives for a builder holding
 * them (tests/model/test_receipt_fields.c compares the two over many cases;
 * test_rev30_i12.c holds it to bytes an older build stored). */
typedef struct chio__evidence {
    char *name;
    int passed;
    char *details; /* NULL: none */
} chio__evidence;

typedef struct chio__receipt_fields {
    uint64_t timestamp;
    const char *capability_id, *tool_server, *tool_name;
    const char *params; /* JSON text of action.parameters */
    size_t params_len;
    int params_canonical; /* 1: already canonical (else canonicalised here) */
    char *params_owned;   /* when set, the text params points into: the writer frees it
                             as soon as it is written, on every outcome, and clears this */
    const char *output;   /* canonical JSON of the output; NULL: none */
    size_t output_len;
    chio_verdict verdict;       /* allow, deny (reason and guard), cancelled or */
    const char *reason, *guard; /* incomplete (reason) */
    const chio__evidence *ev;
    size_t nev;
    /* metadata.receipt_context (parent optional) */
    const char *request_id, *session_id, *parent_request_id;
    /* metadata.redaction when orig_hash is set; then redaction_mode too */
    chio_redaction_mode redaction;
    const char *orig_hash, *red_guard, *red_reason;
    uint64_t red_count;
} chio__receipt_fields;

/* Like chio__receipt_prepare(), from @f (read only during the call, but
 * for params_owned, taken).
 * Returns 0, CHIO_EINVAL (a string that is not UTF-8, a missing field, a
 * decision that does not fit the verdict), CHIO_ETOOBIG, parse errors of
 * non-canonical parameters, CHIO_ENOMEM; @p is empty on error. */
int chio__receipt_prepare_fields(chio__receipt_fields *f, const char *kernel_key_hex,
                                 const char *policy_hash, chio__receipt_prep *p, chio_error *err);

/* A token's signed message (capability.c): @obj, the token without its
 * signature, written canonically with "schema" merged in. 0 or
 * CHIO_ENOMEM; @b is the caller's. */
int chio__capability_signed_message(const chio_json *obj, chio_buf *b);

/* RFC 9562 UUIDv7 text (36 characters + NUL). Returns 0 or CHIO_ECRYPTO. */
int chio__uuid_v7(char out[37]);

/* Internal views of a parsed token (capability.c). */
struct chio_capability;
struct chio__scope;
const struct chio__scope *chio__capability_scope(const struct chio_capability *cap);
const uint8_t *chio__capability_issuer(const struct chio_capability *cap);

/* How far below a receipt's root action.parameters sits: parameters may
 * nest CHIO__RECEIPT_MAX_DEPTH minus this many levels. */
#define CHIO__RECEIPT_PARAMS_DEPTH 2

/* The deepest receipt we sign. chio reads receipts with serde_json, whose
 * recursion limit refuses a document nested 128 levels deep (127 parse):
 * a receipt at CHIO_JSON_MAX_DEPTH would verify here and not under chio. */
#define CHIO__RECEIPT_MAX_DEPTH (CHIO_JSON_MAX_DEPTH - 1)

/* metadata = {"receipt_context":{request_id, session_id, parent_request_id?}}
 * without a JSON round trip. Returns 0 or CHIO_ENOMEM. */
int chio__receipt_builder_set_context(struct chio_receipt_builder *b, const char *request_id,
                                      const char *session_id, const char *parent_request_id);

/* metadata.redaction = {"original_parameter_hash", "guard"?, "reason"?,
 * "redacted_values"? (when @count > 0)}: the stored parameters are not the
 * call's arguments (a redacted copy or a summary); the hash of the original
 * canonical arguments stays bound in the signed body. Call after
 * chio__receipt_builder_set_context(). */
int chio__receipt_builder_set_redaction(struct chio_receipt_builder *b, const char *original_hash,
                                        const char *guard, uint64_t count, const char *reason);

#endif
