/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chio/receipt.h - chio.receipt.v1: build, sign, parse and verify receipts.
 *
 * A receipt is the signed record of one kernel decision. Its `id` is the
 * SHA-256 of the canonical receipt without `id` and `signature`; the
 * Ed25519 signature covers canonical({"body": <that object>, "id": <id>}).
 * See spec/wire-format.md section 3. Receipts signed here verify under chio
 * and chio's verify here, byte for byte.
 *
 * Objects: chio_receipt_builder (assemble a body from its parts),
 * chio_receipt (an immutable signed or parsed receipt) and
 * chio_receipt_report (a caller-allocated verification report).
 */
#ifndef CHIO_RECEIPT_H
#define CHIO_RECEIPT_H

#include <stddef.h>
#include <stdint.h>

#include "chio/crypto.h"
#include "chio/error.h"
#include "chio/export.h"
#include "chio/json.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The receipt's enums and their wire names, one X-macro each: XX(NAME,
 * "wire name") in enum order. The enum, the chio_*_name() functions and
 * the parser's tables are all generated from these. Values count from 0,
 * except chio_observation_outcome and chio_verdict, whose 0 (NONE, the
 * field or decision is absent) has no wire name and comes first.
 */
#define CHIO_RECEIPT_KIND_MAP(XX)              \
    XX(MEDIATED_DECISION, "mediated_decision") \
    XX(TRACE_OBSERVATION, "trace_observation") \
    XX(ADVISORY_EVALUATION, "advisory_evaluation")
#define CHIO_BOUNDARY_CLASS_MAP(XX)    \
    XX(PREVENT, "prevent")             \
    XX(DETECT_ONLY, "detect_only")     \
    XX(ADVISORY_ONLY, "advisory_only") \
    XX(CANNOT_SEE, "cannot_see") /* parsed, never signable */
#define CHIO_OBSERVATION_OUTCOME_MAP(XX) \
    XX(OBSERVED, "observed")             \
    XX(EVALUATED, "evaluated")           \
    XX(DROPPED, "dropped")
#define CHIO_TOOL_ORIGIN_MAP(XX)                                           \
    XX(CALLER_EXECUTED, "caller_executed")                                 \
    XX(HOST_EXECUTED_PROVIDER_REPORTED, "host_executed_provider_reported") \
    XX(HOST_EXECUTED_UNMEDIATED, "host_executed_unmediated")
#define CHIO_REDACTION_MODE_MAP(XX) \
    XX(NONE, "none")                \
    XX(SUMMARY, "summary")          \
    XX(REDACTED, "redacted")
#define CHIO_TRUST_LEVEL_MAP(XX) \
    XX(MEDIATED, "mediated")     \
    XX(VERIFIED, "verified")     \
    XX(ADVISORY, "advisory")
#define CHIO_VERDICT_MAP(XX)   \
    XX(ALLOW, "allow")         \
    XX(DENY, "deny")           \
    XX(CANCELLED, "cancelled") \
    XX(INCOMPLETE, "incomplete")

typedef enum chio_receipt_kind {
#define CHIO__KIND_ENUM(name, str) CHIO_KIND_##name,
    CHIO_RECEIPT_KIND_MAP(CHIO__KIND_ENUM)
#undef CHIO__KIND_ENUM
} chio_receipt_kind;

typedef enum chio_boundary_class {
#define CHIO__BOUNDARY_ENUM(name, str) CHIO_BOUNDARY_##name,
    CHIO_BOUNDARY_CLASS_MAP(CHIO__BOUNDARY_ENUM)
#undef CHIO__BOUNDARY_ENUM
} chio_boundary_class;

typedef enum chio_observation_outcome {
    CHIO_OUTCOME_NONE = 0, /* field absent */
#define CHIO__OUTCOME_ENUM(name, str) CHIO_OUTCOME_##name,
    CHIO_OBSERVATION_OUTCOME_MAP(CHIO__OUTCOME_ENUM)
#undef CHIO__OUTCOME_ENUM
} chio_observation_outcome;

typedef enum chio_tool_origin {
#define CHIO__ORIGIN_ENUM(name, str) CHIO_ORIGIN_##name,
    CHIO_TOOL_ORIGIN_MAP(CHIO__ORIGIN_ENUM)
#undef CHIO__ORIGIN_ENUM
} chio_tool_origin;

typedef enum chio_redaction_mode {
#define CHIO__REDACTION_ENUM(name, str) CHIO_REDACTION_##name,
    CHIO_REDACTION_MODE_MAP(CHIO__REDACTION_ENUM)
#undef CHIO__REDACTION_ENUM
} chio_redaction_mode;

typedef enum chio_trust_level {
#define CHIO__TRUST_ENUM(name, str) CHIO_TRUST_##name,
    CHIO_TRUST_LEVEL_MAP(CHIO__TRUST_ENUM)
#undef CHIO__TRUST_ENUM
} chio_trust_level;

typedef enum chio_verdict {
    CHIO_VERDICT_NONE = 0, /* no decision (observations) */
#define CHIO__VERDICT_ENUM(name, str) CHIO_VERDICT_##name,
    CHIO_VERDICT_MAP(CHIO__VERDICT_ENUM)
#undef CHIO__VERDICT_ENUM
} chio_verdict;

/* Wire names ("mediated_decision", "deny", ...). Static strings, never
 * freed; NULL for values outside the enum; "none" for CHIO_OUTCOME_NONE and
 * CHIO_VERDICT_NONE. Thread-safety: any thread. */
CHIO_EXTERN const char *chio_receipt_kind_name(chio_receipt_kind k);
CHIO_EXTERN const char *chio_boundary_class_name(chio_boundary_class b);
CHIO_EXTERN const char *chio_observation_outcome_name(chio_observation_outcome o);
CHIO_EXTERN const char *chio_tool_origin_name(chio_tool_origin o);
CHIO_EXTERN const char *chio_redaction_mode_name(chio_redaction_mode r);
CHIO_EXTERN const char *chio_trust_level_name(chio_trust_level t);
CHIO_EXTERN const char *chio_verdict_name(chio_verdict v); /* NONE -> "none" */

/* ---- building and signing ------------------------------------------------------- */

typedef struct chio_receipt_builder chio_receipt_builder;
typedef struct chio_receipt chio_receipt;

/*
 * chio_receipt_builder_new - an empty receipt body.
 *
 * Defaults: receipt_kind mediated_decision, boundary_class prevent,
 * trust_level mediated, tool_origin caller_executed, redaction_mode none,
 * parameters {}, content_hash = sha256_hex("null") (no tool output), no
 * decision, timestamp unset (the current time is used at signing).
 * Required before signing: capability_id, tool, policy_hash, and a decision
 * for mediated_decision receipts.
 * Returns: 0, CHIO_EINVAL (@out NULL), CHIO_ENOMEM.
 * Ownership: caller frees *out with chio_receipt_builder_free().
 * Thread-safety: a builder belongs to one thread at a time.
 */
CHIO_EXTERN int chio_receipt_builder_new(chio_receipt_builder **out);

/* chio_receipt_builder_free - free a builder. NULL is ignored. Ownership:
 * takes @b (never call it on a builder a chio_kernel_sign_receipt*() took). */
CHIO_EXTERN void chio_receipt_builder_free(chio_receipt_builder *b);

/*
 * Setters. Strings are copied (the caller keeps ownership of its own) and
 * must be valid UTF-8 with no NUL; they may be called again to replace a
 * value. Each returns 0, CHIO_EINVAL (a NULL @b, a NULL or non-UTF-8
 * string where one is required, an enum value outside its enum),
 * CHIO_ENOMEM, or for the JSON setters the chio_json_parse() codes
 * (CHIO_ETOOBIG past CHIO_JSON_MAX_INPUT; details in @err, optional).
 * A failed setter leaves the builder as it was. JSON texts are @len bytes,
 * borrowed for the call; NULL only where said.
 */
CHIO_EXTERN int chio_receipt_builder_set_timestamp(chio_receipt_builder *b, uint64_t unix_secs);
CHIO_EXTERN int chio_receipt_builder_set_capability_id(chio_receipt_builder *b, const char *id);
CHIO_EXTERN int chio_receipt_builder_set_tool(chio_receipt_builder *b, const char *server,
                                              const char *tool);
CHIO_EXTERN int chio_receipt_builder_set_policy_hash(chio_receipt_builder *b, const char *hash);
/* @tenant NULL removes tenant_id. */
CHIO_EXTERN int chio_receipt_builder_set_tenant_id(chio_receipt_builder *b, const char *tenant);
/* The call's arguments (any JSON). parameter_hash is computed at signing.
 * CHIO_EJSON_DEPTH when they nest more than 125 levels (the receipt adds
 * two and chio reads receipts of at most 127); metadata likewise past 126. */
CHIO_EXTERN int chio_receipt_builder_set_parameters(chio_receipt_builder *b, const char *json,
                                                    size_t len, chio_error *err);
/* content_hash = sha256_hex(canonical(output)); @json NULL with @len 0
 * means no output (hash of "null"); NULL with a length is CHIO_EINVAL
 * (abi.md), the hash unchanged. */
CHIO_EXTERN int chio_receipt_builder_set_output(chio_receipt_builder *b, const char *json,
                                                size_t len, chio_error *err);
/* Set content_hash directly: 64 lowercase hex digits (CHIO_EINVAL otherwise). */
CHIO_EXTERN int chio_receipt_builder_set_content_hash(chio_receipt_builder *b, const char *hex);
/* Metadata must be a JSON object (CHIO_EFORMAT otherwise; @json NULL is
 * CHIO_EINVAL). */
CHIO_EXTERN int chio_receipt_builder_set_metadata(chio_receipt_builder *b, const char *json,
                                                  size_t len, chio_error *err);
/* Decision: ALLOW takes no text; DENY needs @reason and @guard; CANCELLED and
 * INCOMPLETE need @reason; NONE removes the decision. Unused text must be NULL. */
CHIO_EXTERN int chio_receipt_builder_set_decision(chio_receipt_builder *b, chio_verdict verdict,
                                                  const char *reason, const char *guard);
/* Sets receipt_kind and the boundary_class / trust_level / outcome that the
 * kind requires (prevent+mediated, detect_only+verified+observed,
 * advisory_only+advisory+evaluated); override them afterwards if needed. */
CHIO_EXTERN int chio_receipt_builder_set_kind(chio_receipt_builder *b, chio_receipt_kind kind);
CHIO_EXTERN int chio_receipt_builder_set_boundary_class(chio_receipt_builder *b,
                                                        chio_boundary_class bc);
CHIO_EXTERN int chio_receipt_builder_set_trust_level(chio_receipt_builder *b, chio_trust_level t);
CHIO_EXTERN int chio_receipt_builder_set_observation_outcome(chio_receipt_builder *b,
                                                             chio_observation_outcome o);
CHIO_EXTERN int chio_receipt_builder_set_tool_origin(chio_receipt_builder *b, chio_tool_origin o);
CHIO_EXTERN int chio_receipt_builder_set_redaction_mode(chio_receipt_builder *b,
                                                        chio_redaction_mode r);
/* Append to actor_chain; @actor_kind may be NULL. */
CHIO_EXTERN int chio_receipt_builder_add_actor(chio_receipt_builder *b, const char *actor_id,
                                               const char *actor_kind);
/* Append guard evidence; @passed is the guard's verdict; @details may be NULL. */
CHIO_EXTERN int chio_receipt_builder_add_evidence(chio_receipt_builder *b, const char *guard_name,
                                                  int passed, const char *details);

/*
 * chio_receipt_sign - check the body against the semantic rules, compute
 * parameter_hash, kernel_key, the content-addressed id and the signature.
 *
 * Returns: 0; CHIO_ESEMANTIC (kind/boundary/outcome/decision/trust do not
 * fit together, or cannot_see); CHIO_EFORMAT (a required part is missing);
 * CHIO_EINVAL, CHIO_ENOMEM, CHIO_ECRYPTO. Details in @err.
 * CHIO_EINVAL: @b, @kp or @out NULL. *@out is NULL on failure.
 * Ownership: @b and @kp are borrowed and unchanged; caller frees *out with
 * chio_receipt_free().
 * Thread-safety: safe as long as nobody modifies @b meanwhile.
 */
CHIO_EXTERN int chio_receipt_sign(const chio_receipt_builder *b, const chio_keypair *kp,
                                  chio_receipt **out, chio_error *err);

/*
 * chio_receipt_sign_json - sign a receipt body given as JSON (what
 * `chio receipt sign` does). Any `id`, `signature` and `kernel_key` present
 * are replaced. `parameter_hash` is computed when absent and must match
 * when present. Refuses unknown fields and bodies that break the semantic
 * rules.
 * Returns: 0, chio_json_parse() codes, CHIO_EFORMAT, CHIO_ESEMANTIC,
 * CHIO_EHASH, CHIO_EKEY, CHIO_ENOMEM, CHIO_ECRYPTO, CHIO_EINVAL (@kp,
 * @out or @json NULL, whatever @len: a NULL body is no empty one); details
 * in @err (optional). *@out is NULL on failure.
 * Ownership: @json and @kp borrowed; caller frees *out with
 * chio_receipt_free().
 */
CHIO_EXTERN int chio_receipt_sign_json(const char *json, size_t len, const chio_keypair *kp,
                                       chio_receipt **out, chio_error *err);

/* ---- parsing and reading ---------------------------------------------------------- */

/*
 * chio_receipt_parse - parse a signed receipt for verification or display.
 *
 * Known fields are type-checked; absent optional fields may also be given as
 * null, and empty `evidence` / `actor_chain` arrays are treated as absent
 * (both are dropped, as chio does). Public keys and the signature are
 * normalised to lowercase, so chio_receipt_json() is what chio re-serialises.
 * Unknown fields are kept: they are covered by the id and signature, so a
 * field added after signing makes verification fail.
 * Returns: 0, chio_json_parse() codes, CHIO_EFORMAT (missing field, wrong
 * type, unknown enum value, negative or non-integer timestamp), CHIO_EKEY
 * (kernel_key not 32 bytes of hex), CHIO_ESIGFORMAT (signature not 64 bytes
 * of hex), CHIO_ENOMEM, CHIO_EINVAL (@out NULL, @json NULL with @len > 0).
 * Details and the offending field in @err (optional). *@out is NULL on
 * failure. Ownership: @json borrowed; caller frees *out with
 * chio_receipt_free().
 */
CHIO_EXTERN int chio_receipt_parse(const char *json, size_t len, chio_receipt **out,
                                   chio_error *err);

/* chio_receipt_free - free a receipt. NULL is ignored. Ownership: takes @r;
 * every pointer read from it (and a report's strings) becomes invalid. */
CHIO_EXTERN void chio_receipt_free(chio_receipt *r);

/*
 * chio_receipt_json - the canonical JSON bytes of the whole receipt (what is
 * stored and what `chio receipt sign` prints, without a newline).
 * Returns: NUL-terminated bytes owned by @r; NULL when @r is NULL. @len
 * optional, receives the length.
 */
CHIO_EXTERN const char *chio_receipt_json(const chio_receipt *r, size_t *len);

/* Field readers. Strings are owned by @r, valid until chio_receipt_free();
 * NULL when the field is absent, and NULL (0, CHIO_VERDICT_NONE) when @r is
 * NULL. Thread-safety: any thread (a receipt is immutable). */
CHIO_EXTERN const char *chio_receipt_id(const chio_receipt *r);
CHIO_EXTERN uint64_t chio_receipt_timestamp(const chio_receipt *r);
CHIO_EXTERN const char *chio_receipt_capability_id(const chio_receipt *r);
CHIO_EXTERN const char *chio_receipt_tool_server(const chio_receipt *r);
CHIO_EXTERN const char *chio_receipt_tool_name(const chio_receipt *r);
CHIO_EXTERN chio_verdict chio_receipt_verdict(const chio_receipt *r);
CHIO_EXTERN const char *chio_receipt_kernel_key_hex(const chio_receipt *r);
/* The whole receipt as a JSON object (members in canonical order); owned
 * by @r, NULL for NULL. */
CHIO_EXTERN const chio_json *chio_receipt_root(const chio_receipt *r);

/* ---- verification ----------------------------------------------------------------- */

/*
 * Verification report; the fields mirror chio's ReceiptVerification.
 * String members are static or owned by the receipt that was verified.
 * chio_receipt_verify() writes every byte, the reserved tail as zeros
 * (abi.h rule 2).
 */
typedef struct chio_receipt_report {
    int signature_valid;      /* semantic rules + id + Ed25519 under kernel_key */
    int receipt_id_valid;     /* id == sha256 of the canonical id input */
    int parameter_hash_valid; /* parameter_hash == sha256 of canonical parameters */
    int signer_trusted;       /* kernel_key is in the caller's trusted list */
    int authorized;           /* an allow by a mediated decision, fully valid, trusted */
    int ok;                   /* signature, id and parameter hash valid and signer trusted */
    chio_verdict decision;
    const char *decision_name; /* "allow", "deny", "cancelled", "incomplete", "none" */
    const char *receipt_kind;  /* wire names */
    const char *boundary_class;
    const char *trust_level;
    const char *result; /* chio's label of what the receipt records, from its kind,
                           boundary and decision alone, whatever the checks above
                           found: Authorized (a mediated allow), Allowed, Denied,
                           Cancelled, Incomplete, Observed, Advisory, or Invalid
                           only for a decision it cannot label. A forged or
                           untrusted allow still reads "Authorized": decide on
                           ok and authorized, never on result (`chio receipt
                           verify` prints Invalid, Untrusted or Allowed there) */
    const char *id;
    char signer_key_hex[CHIO_PUBKEY_HEX_LEN + 1];
    void *reserved[4]; /* zeros; later fields come from here */
} chio_receipt_report;

/*
 * chio_receipt_verify - verify in the spec's order: semantic rules, id,
 * Ed25519 signature with the embedded kernel_key; separately the parameter
 * hash; separately whether kernel_key is one of @trusted_keys.
 *
 * @trusted_keys: @ntrusted public keys of 32 bytes each, back to back; may
 * be NULL when @ntrusted is 0 (then signer_trusted, ok and authorized are 0,
 * exactly as in chio).
 * Returns: 0 when the report was produced (whatever it says), CHIO_EINVAL
 * (@r or @rep NULL, @trusted_keys NULL with @ntrusted > 0, @ntrusted > SIZE_MAX / 32), CHIO_ENOMEM,
 * CHIO_ECRYPTO. A failed check is a report field, not an error. On every
 * error a non-NULL @rep is left zeroed (ok and authorized 0).
 * Ownership: @r and @trusted_keys borrowed; @rep caller-allocated, its
 * strings owned by @r or static. Thread-safety: safe; @r is only read.
 */
CHIO_EXTERN int chio_receipt_verify(const chio_receipt *r, const uint8_t *trusted_keys,
                                    size_t ntrusted, chio_receipt_report *rep);

/*
 * chio_receipt_report_json - render a report as one canonical JSON object
 * with the keys authorized, boundary_class, decision, id, ok,
 * parameter_hash_valid, receipt_id_valid, receipt_kind, result,
 * signature_valid, signer_key_hex, signer_trusted, trust_level. A NULL
 * string (a zeroed report) is written as ""; signer_key_hex is read no
 * further than its array; a byte of no valid UTF-8 sequence in a text
 * is written as '?'. @len optional.
 * Returns: 0, CHIO_EINVAL (@rep or @out NULL), CHIO_ENOMEM.
 * Ownership: @rep borrowed; caller frees *out with chio_free().
 */
CHIO_EXTERN int chio_receipt_report_json(const chio_receipt_report *rep, char **out, size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* CHIO_RECEIPT_H */
