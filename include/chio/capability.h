/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chio/capability.h - chio.capability.v1 tokens: parse, verify, issue.
 *
 * A capability token grants an agent (its `subject`) the right to call
 * tools, read resources or get prompts, within a time window, signed by its
 * `issuer`. The signed message is the canonical JSON of the token without
 * `signature` and with "schema":"chio.capability.v1" added; delegation links
 * are signed by their delegator over the canonical link without `signature`.
 * See spec/wire-format.md section 4.
 *
 * Fields this library does not interpret are kept in the signed bytes (a
 * token is verified exactly as it was signed) but never grant anything.
 */
#ifndef CHIO_CAPABILITY_H
#define CHIO_CAPABILITY_H

#include <stddef.h>
#include <stdint.h>

#include "chio/crypto.h"
#include "chio/error.h"
#include "chio/export.h"
#include "chio/json.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CHIO_CAPABILITY_SCHEMA "chio.capability.v1"

typedef struct chio_capability chio_capability;

/* XX(NAME, "name"), in enum order from 0: VALID (issued_at <= now <
 * expires_at), NOT_YET_VALID (now < issued_at), EXPIRED (now >= expires_at). */
#define CHIO_TIME_STATUS_MAP(XX)       \
    XX(VALID, "valid")                 \
    XX(NOT_YET_VALID, "not_yet_valid") \
    XX(EXPIRED, "expired")

typedef enum chio_time_status {
#define CHIO__TIME_STATUS_ENUM(name, str) CHIO_TIME_##name,
    CHIO_TIME_STATUS_MAP(CHIO__TIME_STATUS_ENUM)
#undef CHIO__TIME_STATUS_ENUM
} chio_time_status;

/* "valid", "not_yet_valid", "expired"; NULL outside the enum. Static
 * strings, never freed. Thread-safety: any thread. */
CHIO_EXTERN const char *chio_time_status_name(chio_time_status s);

/*
 * chio_capability_parse - parse a token.
 *
 * Checks types and shapes: id (string), issuer and subject (public keys,
 * normalised to lowercase), scope (grants with known operations), issued_at
 * and expires_at (unsigned integers), delegation_chain links, schema (when
 * present it must be chio.capability.v1) and signature (64 bytes of hex).
 * Duplicate keys anywhere are rejected by the JSON reader. Constraint types
 * that are not understood are kept; an evaluator must deny on them.
 * Returns: 0, chio_json_parse() codes (CHIO_EINVAL for a NULL @out, or a
 * NULL @json with @len > 0; CHIO_ETOOBIG over CHIO_JSON_MAX_INPUT),
 * CHIO_EFORMAT, CHIO_EKEY, CHIO_ESIGFORMAT, CHIO_ESCHEMA, CHIO_ENOMEM
 * (details in @err, which is optional). *@out is NULL on failure.
 * Ownership: @json borrowed for the call; caller frees *out with
 * chio_capability_free().
 * Thread-safety: a parsed token is immutable; read it from any thread.
 */
CHIO_EXTERN int chio_capability_parse(const char *json, size_t len, chio_capability **out,
                                      chio_error *err);

/* chio_capability_free - free a token. NULL is ignored. Ownership: takes
 * @cap; every string and JSON value read from it becomes invalid. */
CHIO_EXTERN void chio_capability_free(chio_capability *cap);

/*
 * chio_capability_issue - sign a new token.
 *
 * @issuer: the signing key (becomes `issuer`).
 * @id: token id; NULL generates a UUIDv7.
 * @subject_hex: the agent's public key (64 hex digits, "0x" and uppercase ok).
 * @scope_json: a scope object {"grants":[...], "resource_grants":[...],
 *   "prompt_grants":[...]}; it is validated and written in chio's normal form
 *   (empty lists and null optionals dropped) so that chio verifies it too;
 *   a grant's "constraints": null is refused (CHIO_EFORMAT): dropped, it
 *   would be an allow-all grant, and the kernel reads it as unusable.
 * @issued_at: Unix seconds; @ttl_secs > 0; expires_at = issued_at + ttl.
 * Returns: 0, CHIO_EINVAL, CHIO_EKEY, CHIO_EFORMAT (bad scope), CHIO_ERANGE
 * (ttl 0 or expiry overflow), chio_json_parse() codes, CHIO_ENOMEM,
 * CHIO_ECRYPTO; CHIO_EINVAL also for a NULL @issuer, @subject_hex,
 * @scope_json or @out, or an @id that is empty or not UTF-8. *@out is NULL on failure;
 * @err optional. Ownership: every argument borrowed for the call; caller
 * frees *out with chio_capability_free().
 */
CHIO_EXTERN int chio_capability_issue(const chio_keypair *issuer, const char *id,
                                      const char *subject_hex, const char *scope_json,
                                      size_t scope_len, uint64_t issued_at, uint64_t ttl_secs,
                                      chio_capability **out, chio_error *err);

/*
 * Readers. Every one returns NULL (0 for numbers) when @cap is NULL, and
 * every string or value it returns is owned by @cap, valid until
 * chio_capability_free(). Thread-safety: any thread (a token is immutable).
 *
 * chio_capability_json - the canonical JSON of the whole token (including
 * the signature), NUL-terminated; @len optional, receives its length.
 */
CHIO_EXTERN const char *chio_capability_json(const chio_capability *cap, size_t *len);

/* Field readers (see above). */
CHIO_EXTERN const char *chio_capability_id(const chio_capability *cap);
CHIO_EXTERN const char *chio_capability_issuer_hex(const chio_capability *cap);
CHIO_EXTERN const char *chio_capability_subject_hex(const chio_capability *cap);
CHIO_EXTERN uint64_t chio_capability_issued_at(const chio_capability *cap);
CHIO_EXTERN uint64_t chio_capability_expires_at(const chio_capability *cap);
/* Number of delegation links, and the capability_id of link @i (NULL when
 * out of range). */
CHIO_EXTERN size_t chio_capability_delegation_depth(const chio_capability *cap);
CHIO_EXTERN const char *chio_capability_delegation_id(const chio_capability *cap, size_t i);
/* The first field (owned by @cap) of the token or of a delegation link that
 * this library does not interpret ("attenuations" when a link's attenuation is not one of
 * chio's variants), or NULL. The kernel denies calls under such a token
 * (unsupported_grant): a signed field it cannot enforce is never ignored. */
CHIO_EXTERN const char *chio_capability_unknown_field(const chio_capability *cap);
/*
 * chio_capability_unenforced - whether some part of @cap is one the kernel
 * does not enforce: a field or attenuation chio_capability_unknown_field()
 * names, or a grant that asks for what the kernel cannot check (a
 * constraint type, member or value shape chio has no reading for,
 * "constraints": null, max_invocations above 2^32-1, dpop_required, a cost
 * cap, an unknown grant field). The kernel denies every call that only such
 * a part would allow (unsupported_grant); the other grants stay usable.
 * Returns 1 and writes the first such part's description, NUL-terminated
 * and cut to fit, into @why (when @why_cap > 0); 0 when the kernel enforces
 * all of @cap; CHIO_EINVAL when @cap is NULL or @why is NULL with
 * @why_cap > 0. Ownership: @why is the caller's. Thread-safety: any thread.
 */
CHIO_EXTERN int chio_capability_unenforced(const chio_capability *cap, char *why, size_t why_cap);
/*
 * chio_capability_contradicts_chain - whether the token's own scope or
 * expiry still holds what an attenuation of one of its delegation links
 * says the delegator took away: a grant covering a tool a remove_tool
 * names, or holding the operation a remove_operation names; a grant of an
 * add_constraint's target without that constraint; a grant of a
 * reduce_budget, reduce_cost_per_invocation or reduce_total_cost target
 * with no such limit or a larger one (a cost cap in another currency is
 * larger); for reduce_budget and reduce_total_cost, also grants of the
 * target whose limits add up to more than the link's (the kernel charges
 * a call to any of them); an expiry after a shorten_expiry's
 * new_expires_at. A grant
 * covers a target when its server_id and tool_name are "*" or the
 * target's; every link is read against the token itself. The kernel
 * denies every call under such a token at check 4 (delegation_invalid),
 * as chio does. An attenuation chio cannot read is not judged here (it
 * makes the token unusable: chio_capability_unknown_field()).
 * Returns 1, setting *@link (when @link is not NULL) to the link's index
 * and writing the first contradiction's description, NUL-terminated and
 * cut to fit, into @why (when @why_cap > 0); 0 when there is none (*@link
 * -1, @why ""); CHIO_EINVAL when @cap is NULL or @why is NULL with
 * @why_cap > 0. The work is bounded: a chain whose attenuations would
 * take more than 2^20 grant and constraint comparisons is reported as
 * contradicting (the kernel refuses it rather than check it in part).
 * Ownership: @cap borrowed; @why the caller's. Thread-safety: any
 * thread; the answer is found on the first call and kept in @cap.
 */
CHIO_EXTERN int chio_capability_contradicts_chain(const chio_capability *cap, long *link, char *why,
                                                  size_t why_cap);
/* The whole token as a JSON object (without the signature member); owned
 * by @cap, NULL for NULL. */
CHIO_EXTERN const chio_json *chio_capability_root(const chio_capability *cap);

typedef struct chio_capability_report {
    const char *id;      /* owned by the token */
    int signature_valid; /* Ed25519 by `issuer` over the schema-tagged body */
    chio_time_status time_status;
    const char *time_status_name;
    int delegation_chain_shape_valid; /* link signatures, connectivity, timestamps, depth */
    int delegation_depth_exceeded;    /* more links than max_depth */
    long chain_error_link;            /* index of the first bad link, or -1 */
    int issuer_trusted;               /* issuer is in the caller's trusted list */
    int ok;                           /* all of the above hold, issuer trusted */
    void *reserved[4];                /* written as zeros (abi.h rule 2) */
} chio_capability_report;

/*
 * chio_capability_verify - check a token at time @now.
 *
 * @trusted_keys: @ntrusted 32-byte public keys back to back (NULL when 0;
 * then issuer_trusted and ok are 0).
 * @max_depth: most delegation links allowed; negative means no limit.
 * A token holding a member chio has no place for (at the top, in its
 * scope, a grant or a delegation link) reports signature_valid 0,
 * as chio does: chio drops the member when it reads the token, so the
 * signature cannot verify over what it reads.
 * Returns: 0 when the report was produced, CHIO_EINVAL (@cap or @rep NULL,
 * or @trusted_keys NULL with @ntrusted > 0, or @ntrusted > SIZE_MAX / 32),
 * CHIO_ENOMEM, CHIO_ECRYPTO. On every error a non-NULL @rep has ok 0 (it
 * is zeroed before the arguments are checked).
 * Ownership: @cap and @trusted_keys borrowed; @rep caller-allocated and
 * written; its id points into @cap. Thread-safety: safe; @cap is only read.
 */
CHIO_EXTERN int chio_capability_verify(const chio_capability *cap, uint64_t now,
                                       const uint8_t *trusted_keys, size_t ntrusted, long max_depth,
                                       chio_capability_report *rep);

/*
 * chio_capability_report_json - render a report as canonical JSON with keys
 * delegation_chain_shape_valid, id, issuer_trusted, ok, signature_valid,
 * time_status. @len optional (the text is NUL-terminated). A NULL id or
 * time_status_name (a zeroed report) is written as ""; a byte of no
 * valid UTF-8 sequence in them as '?'.
 * Returns: 0, CHIO_EINVAL (@rep or @out NULL), CHIO_ENOMEM.
 * Ownership: @rep borrowed; caller frees *out with chio_free().
 */
CHIO_EXTERN int chio_capability_report_json(const chio_capability_report *rep, char **out,
                                            size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* CHIO_CAPABILITY_H */
