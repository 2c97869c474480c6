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
 * Caller thread: chio__receipt_prepare() (consumes the builder, checks the
 * body, computes the id, the signing message and the stored form with a
 * placeholder signature). Signer thread: sign p->msg, then
 * chio__receipt_prep_set_signature(). Back on any thread:
 * chio__receipt_prep_finish() turns it into a chio_receipt. */
typedef struct chio__receipt_prep {
    chio_json_doc *doc;
    chio_json *obj;
    char id[65];
    chio_buf msg; /* canonical {"body":..,"id":..} to sign */
    chio_buf out; /* the stored form; signature hex at sig_off */
    size_t sig_off;
} chio__receipt_prep;

struct chio_receipt_builder;
struct chio_receipt;
int chio__receipt_prepare(struct chio_receipt_builder *b, const char *kernel_key_hex,
                          const char *policy_hash, uint64_t now, chio__receipt_prep *p,
                          chio_error *err);
void chio__receipt_prep_set_signature(chio__receipt_prep *p, const uint8_t sig[64]);
int chio__receipt_prep_finish(chio__receipt_prep *p, struct chio_receipt **out, chio_error *err);
void chio__receipt_prep_destroy(chio__receipt_prep *p);
/* RFC 9562 UUIDv7 text (36 characters + NUL). Returns 0 or CHIO_ECRYPTO. */
int chio__uuid_v7(char out[37]);

/* Internal views of a parsed token (capability.c). */
struct chio_capability;
struct chio__scope;
const struct chio__scope *chio__capability_scope(const struct chio_capability *cap);
const uint8_t *chio__capability_issuer(const struct chio_capability *cap);

/* How far below a receipt's root action.parameters sits: parameters may
 * nest CHIO_JSON_MAX_DEPTH minus this many levels. */
#define CHIO__RECEIPT_PARAMS_DEPTH 2

/* Kernel fast paths: copy already-parsed parameters (with their canonical
 * sha256_hex, or NULL to compute it at signing), and set
 * metadata = {"receipt_context":{request_id, session_id, parent_request_id?}}
 * without a JSON round trip. Return 0 or CHIO_ENOMEM. */
int chio__receipt_builder_put_parameters(struct chio_receipt_builder *b, const chio_json *params,
                                         const char *phash);
/* The same without the copy: the builder takes @params (in every case) and
 * its root becomes action.parameters. Returns 0, CHIO_EJSON_DEPTH or
 * CHIO_ENOMEM. */
int chio__receipt_builder_adopt_parameters(struct chio_receipt_builder *b, chio_json_doc *params,
                                           const char *phash);
int chio__receipt_builder_set_context(struct chio_receipt_builder *b, const char *request_id,
                                      const char *session_id, const char *parent_request_id);

/* A deep copy of a builder (NULL on allocation failure). */
/* metadata.redaction = {"original_parameter_hash", "guard"?, "reason"?,
 * "redacted_values"? (when @count > 0)}: the stored parameters are not the
 * call's arguments (a redacted copy or a summary); the hash of the original
 * canonical arguments stays bound in the signed body. Call after
 * chio__receipt_builder_set_context(). */
int chio__receipt_builder_set_redaction(struct chio_receipt_builder *b, const char *original_hash,
                                        const char *guard, uint64_t count, const char *reason);
struct chio_receipt_builder *chio__receipt_builder_dup(const struct chio_receipt_builder *b);

#endif
