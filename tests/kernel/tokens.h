/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/tokens.h - capability tokens for the mediation tests, built
 * with the public API only (no Criterion, so the TSan driver links it too):
 * plain tokens, tokens with delegation chains signed link by link, and
 * tampering.
 */
#ifndef CHIO_TEST_TOKENS_H
#define CHIO_TEST_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "chio/chio.h"

/* Seeds of the test actors (64 hex digits). */
#define TK_KERNEL_SEED "0707070707070707070707070707070707070707070707070707070707070707"
#define TK_AGENT_SEED  "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
#define TK_OTHER_SEED  "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c"
#define TK_AGENT_PUB   "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a"

/* The public key (hex, static buffer per call site) of @seed_hex. */
void tk_pub(const char *seed_hex, char out[65]);

/* One delegation link: @delegator_seed signs; @delegatee_pub receives. */
typedef struct tk_link {
    const char *capability_id;
    const char *delegator_seed;
    const char *delegatee_pub;
    uint64_t timestamp;
    const char *attenuations; /* the link's "attenuations" JSON array, or NULL for none */
} tk_link;

/*
 * A token signed by @issuer_seed: id, subject, scope JSON, issued_at
 * @iat, expires_at @iat + @ttl, and the delegation chain @links (n may be
 * 0). Returns canonical JSON (free with free()) or NULL.
 */
char *tk_token(const char *issuer_seed, const char *id, const char *subject_pub,
               const char *scope_json, uint64_t iat, uint64_t ttl, const tk_link *links,
               size_t nlinks);

/*
 * tk_token() for TK_AGENT_PUB with one delegation link, "cap-parent",
 * from TK_OTHER_SEED to the agent at @iat, declaring @attenuations (a JSON
 * array, or NULL for none).
 */
char *tk_attenuated(const char *id, const char *scope_json, uint64_t iat, uint64_t ttl,
                    const char *attenuations);

/*
 * The token whose members (all but "schema" and "signature", in any order;
 * extra ones too) are the JSON object @body, signed by @issuer_seed as
 * chio signs it (the canonical body with "schema" added). Returns
 * canonical JSON (free with free()) or NULL.
 */
char *tk_sign_body(const char *issuer_seed, const char *body);

/* A copy of @json with the first @from replaced by @to (NULL when absent). */
char *tk_replace(const char *json, const char *from, const char *to);

#endif
