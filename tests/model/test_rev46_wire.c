/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/model/test_rev46_wire.c - review 46, tokens and receipts chio
 * would refuse or read otherwise:
 *
 *  - a delegation link's attenuation is one of chio's Attenuation variants
 *    (an enum tagged by "type", each variant a struct of typed members).
 *    libchio looked at the tag only, so a known type missing a member or
 *    holding one of the wrong type (chio cannot read the token at all) was
 *    used by the kernel, and a member the variant has no place for (chio
 *    drops it, so neither the link's nor the token's signature verifies
 *    there) left the token's signature valid in chio_capability_verify()
 *    and `chio capability verify`. Both now make the token unusable
 *    (chio_capability_unknown_field() names "attenuations", which the
 *    kernel denies as unsupported_grant), and a dropped member makes
 *    signature_valid false, as for any member chio drops;
 *  - a grant's cost cap (max_cost_per_invocation, max_total_cost) is chio's
 *    MonetaryAmount {units, currency}: another member is dropped by chio,
 *    so the issuer's signature fails there; the report now says so too;
 *  - chio_receipt_sign_json (`chio receipt sign`) signed a body nested 128
 *    levels deep, which chio's reader (serde_json) refuses, though the
 *    builder and the kernel sign nothing deeper than 127.
 *
 * Tokens are built here from JSON text, canonicalised and signed with the
 * upstream vector seeds.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/chio.h"

#define SEED0B "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
/* The public keys of seeds 0b x 32 (issuer and delegator), 0c x 32
 * (subject) and 0d x 32 (delegatee), from the upstream vectors. */
#define PUB0B "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a"
#define PUB0C "0b513ad9b4924015ca0902ed079044d3ac5dbec2306f06948c10da8eb6e39f2d"
#define PUB0D "91a28a0b74381593a4d9469579208926afc8ad82c8839b7644359b9eba9a4b3a"

TestSuite(rev46_wire);

/* The canonical form of @text (malloc'd). */
static char *canon(const char *text)
{
    char *out = NULL;
    size_t len = 0;
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_json_canonicalize(text, strlen(text), &out, &len, &err), 0, "%s: %s",
                 err.message, text);
    return out;
}

/* Ed25519 by seed 0b over the canonical form of @text, as 128 hex digits. */
static void sign_canonical(const char *text, char out[129])
{
    chio_keypair *kp = NULL;
    uint8_t sig[64];
    char *c = canon(text);

    cr_assert_eq(chio_keypair_from_seed_hex(SEED0B, 64, &kp, NULL), 0);
    cr_assert_eq(chio_keypair_sign(kp, c, strlen(c), sig), 0);
    chio_hex_encode(sig, 64, out);
    chio_keypair_free(kp);
    free(c);
}

/* A token (issuer 0b, subject 0c, valid 100..200) with one link 0b -> 0d
 * carrying @att (a JSON array text) as its attenuations, every signature
 * over the bytes as sent. */
static char *attenuated_token(const char *att)
{
    char lsig[129], tsig[129], *link, *signed_link, *tok, *out;

#define LINK_TEXT                                                                    \
    "{\"attenuations\":%s,\"capability_id\":\"parent\",\"delegatee\":\"" PUB0D "\"," \
    "\"delegator\":\"" PUB0B "\",\"timestamp\":120%s%s%s}"
#define TOKEN_TEXT                                                                        \
    "{\"delegation_chain\":[%s],\"expires_at\":200,\"id\":\"cap-46\",\"issued_"           \
    "at\":100,"                                                                           \
    "\"issuer\":\"" PUB0B "\",\"schema\":\"chio.capability.v1\",\"scope\":{\"grants\":[{" \
    "\"operations\":[\"invoke\"],\"server_id\":\"s\",\"tool_name\":\"t\"}]},"             \
    "\"subject\":\"" PUB0C "\"%s%s%s}"
    cr_assert_geq(asprintf(&link, LINK_TEXT, att, "", "", ""), 0);
    sign_canonical(link, lsig);
    cr_assert_geq(asprintf(&signed_link, LINK_TEXT, att, ",\"signature\":\"", lsig, "\""), 0);
    cr_assert_geq(asprintf(&tok, TOKEN_TEXT, signed_link, "", "", ""), 0);
    sign_canonical(tok, tsig);
    free(tok);
    cr_assert_geq(asprintf(&tok, TOKEN_TEXT, signed_link, ",\"signature\":\"", tsig, "\""), 0);
    out = canon(tok);
    free(link);
    free(signed_link);
    free(tok);
    return out;
}

typedef struct outcome {
    int parsed;
    const char *unknown; /* chio_capability_unknown_field(), copied or NULL */
    chio_capability_report rep;
} outcome;

static outcome check(const char *att)
{
    static char unknown[64];
    char *tok = attenuated_token(att);
    chio_capability *cap = NULL;
    uint8_t trusted[32];
    outcome o;

    memset(&o, 0, sizeof(o));
    cr_assert_eq(chio_pubkey_from_hex(PUB0B, 64, trusted), 0);
    o.parsed = chio_capability_parse(tok, strlen(tok), &cap, NULL) == 0;
    if (o.parsed) {
        const char *u = chio_capability_unknown_field(cap);
        if (u != NULL) {
            snprintf(unknown, sizeof(unknown), "%s", u);
            o.unknown = unknown;
        }
        cr_assert_eq(chio_capability_verify(cap, 150, trusted, 1, 4, &o.rep), 0);
    }
    chio_capability_free(cap);
    free(tok);
    return o;
}

/* Each of chio's seven variants, as chio writes it: usable, and valid. */
Test(rev46_wire, every_attenuation_chio_reads_keeps_the_token_usable)
{
    static const char *const rows[] = {
        "[{\"type\":\"remove_tool\",\"server_id\":\"s\",\"tool_name\":\"x\"}]",
        "[{\"type\":\"remove_operation\",\"server_id\":\"s\",\"tool_name\":\"t\","
        "\"operation\":\"read_result\"}]",
        "[{\"type\":\"add_constraint\",\"server_id\":\"s\",\"tool_name\":\"t\","
        "\"constraint\":{\"type\":\"path_prefix\",\"value\":\"/w/\"}}]",
        "[{\"type\":\"add_constraint\",\"server_id\":\"s\",\"tool_name\":\"t\","
        "\"constraint\":{\"type\":\"custom\",\"value\":[\"role\",\"reader\"]}}]",
        "[{\"type\":\"reduce_budget\",\"server_id\":\"s\",\"tool_name\":\"t\","
        "\"max_invocations\":4294967295}]",
        "[{\"type\":\"shorten_expiry\",\"new_expires_at\":180}]",
        "[{\"type\":\"reduce_cost_per_invocation\",\"server_id\":\"s\",\"tool_"
        "name\":\"t\","
        "\"max_cost_per_invocation\":{\"units\":5,\"currency\":\"USD\"}}]",
        "[{\"type\":\"reduce_total_cost\",\"server_id\":\"s\",\"tool_name\":"
        "\"t\","
        "\"max_total_cost\":{\"units\":50,\"currency\":\"USD\"}},"
        "{\"type\":\"shorten_expiry\",\"new_expires_at\":190}]",
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        outcome o = check(rows[i]);
        cr_assert(o.parsed, "%s", rows[i]);
        cr_expect_null(o.unknown, "%s: %s", rows[i], o.unknown);
        cr_expect(o.rep.ok, "%s", rows[i]);
    }
}

/* A known type chio cannot read (a member missing, of the wrong type, or
 * out of its range): chio refuses the token, the kernel must not use it.
 * Before review 46 each of these was usable (unknown field NULL). */
Test(rev46_wire, an_attenuation_chio_cannot_read_makes_the_token_unusable)
{
    static const char *const rows[] = {
        "[{\"type\":\"shorten_expiry\"}]",
        "[{\"type\":\"shorten_expiry\",\"new_expires_at\":-1}]",
        "[{\"type\":\"shorten_expiry\",\"new_expires_at\":150.5}]",
        "[{\"type\":\"shorten_expiry\",\"new_expires_at\":\"150\"}]",
        "[{\"type\":\"remove_tool\",\"server_id\":\"s\"}]",
        "[{\"type\":\"remove_tool\",\"server_id\":\"s\",\"tool_name\":null}]",
        "[{\"type\":\"remove_tool\",\"server_id\":1,\"tool_name\":\"t\"}]",
        "[{\"type\":\"remove_operation\",\"server_id\":\"s\",\"tool_name\":\"t\","
        "\"operation\":\"fly\"}]",
        "[{\"type\":\"reduce_budget\",\"server_id\":\"s\",\"tool_name\":\"t\","
        "\"max_invocations\":4294967296}]",
        "[{\"type\":\"add_constraint\",\"server_id\":\"s\",\"tool_name\":\"t\"}]",
        "[{\"type\":\"add_constraint\",\"server_id\":\"s\",\"tool_name\":\"t\","
        "\"constraint\":{\"type\":\"max_length\",\"value\":\"ten\"}}]",
        "[{\"type\":\"reduce_total_cost\",\"server_id\":\"s\",\"tool_name\":"
        "\"t\","
        "\"max_total_cost\":{\"units\":1}}]",
        "[{\"type\":\"remove_tool\",\"server_id\":\"s\",\"tool_name\":\"x\"},"
        "{\"type\":\"reduce_cost_per_invocation\",\"server_id\":\"s\",\"tool_"
        "name\":\"t\"}]",
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        outcome o = check(rows[i]);
        cr_assert(o.parsed, "%s", rows[i]);
        cr_expect_not_null(o.unknown, "usable: %s", rows[i]);
        if (o.unknown != NULL)
            cr_expect_str_eq(o.unknown, "attenuations", "%s", rows[i]);
    }
}

/* A member the variant has no place for is dropped when chio reads the
 * token: the signatures chio checks are then over other bytes, so the
 * report says the signature is not valid (as for any member chio drops),
 * and the token is unusable. Before review 46: signature_valid and ok. */
Test(rev46_wire, an_attenuation_member_chio_drops_fails_the_signature)
{
    static const char *const rows[] = {
        "[{\"type\":\"remove_tool\",\"server_id\":\"s\",\"tool_name\":\"x\","
        "\"note\":1}]",
        "[{\"type\":\"shorten_expiry\",\"new_expires_at\":180,\"server_id\":"
        "\"s\"}]",
        "[{\"type\":\"reduce_total_cost\",\"server_id\":\"s\",\"tool_name\":"
        "\"t\","
        "\"max_total_cost\":{\"units\":50,\"currency\":\"USD\",\"cents\":true}}]",
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        outcome o = check(rows[i]);
        cr_assert(o.parsed, "%s", rows[i]);
        cr_expect_not(o.rep.signature_valid, "%s", rows[i]);
        cr_expect_not(o.rep.ok, "%s", rows[i]);
        cr_expect_not_null(o.unknown, "usable: %s", rows[i]);
    }
}

/* A token (issuer 0b, subject 0c, valid 100..200) with the one tool grant
 * @grant (JSON object text), signed over the bytes as sent. */
static chio_capability_report grant_report(const char *grant)
{
    char sig[129], *tok, *signed_tok, *c;
    chio_capability *cap = NULL;
    chio_capability_report rep;
    uint8_t trusted[32];

#define GRANT_TOKEN                                                              \
    "{\"expires_at\":200,\"id\":\"cap-46g\",\"issued_at\":100,\"issuer\":"       \
    "\"" PUB0B "\","                                                             \
    "\"schema\":\"chio.capability.v1\",\"scope\":{\"grants\":[%s]},\"subject\":" \
    "\"" PUB0C "\"%s%s%s}"
    cr_assert_geq(asprintf(&tok, GRANT_TOKEN, grant, "", "", ""), 0);
    sign_canonical(tok, sig);
    cr_assert_geq(asprintf(&signed_tok, GRANT_TOKEN, grant, ",\"signature\":\"", sig, "\""), 0);
    c = canon(signed_tok);
    cr_assert_eq(chio_capability_parse(c, strlen(c), &cap, NULL), 0, "%s", c);
    cr_assert_eq(chio_pubkey_from_hex(PUB0B, 64, trusted), 0);
    cr_assert_eq(chio_capability_verify(cap, 150, trusted, 1, 4, &rep), 0);
    chio_capability_free(cap);
    free(tok);
    free(signed_tok);
    free(c);
    return rep;
}

/* A cost cap is chio's MonetaryAmount {units, currency}: another member is
 * dropped when chio reads the token, so the issuer's signature does not
 * verify there. Before review 46 the report said signature_valid (the
 * kernel never used the grant: cost caps make it unsupported). */
Test(rev46_wire, a_cost_cap_member_chio_drops_fails_the_signature)
{
#define G(cap) "{\"operations\":[\"invoke\"],\"server_id\":\"s\",\"tool_name\":\"t\"," cap "}"
    chio_capability_report rep;

    rep = grant_report(G("\"max_total_cost\":{\"units\":5,\"currency\":\"USD\"}"));
    cr_expect(rep.signature_valid);
    rep = grant_report(G("\"max_total_cost\":{\"units\":5,\"currency\":\"USD\",\"x\":1}"));
    cr_expect_not(rep.signature_valid);
    cr_expect_not(rep.ok);
    rep = grant_report(G("\"max_cost_per_invocation\":{\"units\":1,\"currency\":\"EUR\","
                         "\"scale\":2}"));
    cr_expect_not(rep.signature_valid);
#undef G
}

/* ---- receipt sign and chio's depth limit
 * --------------------------------------------- */

/* A receipt body whose @member (action.parameters, or metadata) nests
 * @levels arrays (malloc'd). The body itself adds two levels above
 * parameters (the receipt, action) and one above metadata. */
static char *deep_body(const char *member, int levels)
{
    char *open = malloc((size_t)levels + 1), *close = malloc((size_t)levels + 1), *body;
    int i;

    cr_assert(open != NULL && close != NULL);
    for (i = 0; i < levels; i++) {
        open[i] = '[';
        close[i] = ']';
    }
    open[levels] = close[levels] = '\0';
    cr_assert_geq(asprintf(&body,
                           "{\"timestamp\":1700000000,\"capability_id\":\"c\",\"tool_server\":"
                           "\"s\",\"tool_name\":\"t\",\"action\":{\"parameters\":%s1%s},"
                           "\"decision\":{\"verdict\":\"allow\"},\"policy_hash\":\"p\"%s%s%s%s}",
                           strcmp(member, "parameters") == 0 ? open : "",
                           strcmp(member, "parameters") == 0 ? close : "",
                           strcmp(member, "metadata") == 0 ? ",\"metadata\":{\"m\":" : "",
                           strcmp(member, "metadata") == 0 ? open : "",
                           strcmp(member, "metadata") == 0 ? close : "",
                           strcmp(member, "metadata") == 0 ? "}" : ""),
                  0);
    free(open);
    free(close);
    return body;
}

static int sign_body(const char *body)
{
    static const char seed[] = "0707070707070707070707070707070707070707070707070707070707070707";
    chio_keypair *kp = NULL;
    chio_receipt *r = NULL, *back = NULL;
    const char *json;
    size_t len;
    int rc;

    cr_assert_eq(chio_keypair_from_seed_hex(seed, 64, &kp, NULL), 0);
    rc = chio_receipt_sign_json(body, strlen(body), kp, &r, NULL);
    if (rc == 0) { /* what is signed reads back */
        json = chio_receipt_json(r, &len);
        cr_expect_eq(chio_receipt_parse(json, len, &back, NULL), 0);
    }
    chio_receipt_free(back);
    chio_receipt_free(r);
    chio_keypair_free(kp);
    return rc;
}

/* chio reads a receipt with serde_json, whose recursion limit refuses a
 * document 128 levels deep: the builder and the kernel sign none deeper
 * than 127 (docs/spec-reading.md), but chio_receipt_sign_json (`chio
 * receipt sign`) signed a body of 128 levels, a receipt chio cannot read. */
Test(rev46_wire, receipt_sign_refuses_a_body_chio_could_not_read)
{
    char *ok_params = deep_body("parameters", 125), *deep_params = deep_body("parameters", 126);
    char *ok_meta = deep_body("metadata", 125), *deep_meta = deep_body("metadata", 126);

    cr_expect_eq(sign_body(ok_params), 0, "127 levels (parameters)");
    cr_expect_eq(sign_body(deep_params), CHIO_EJSON_DEPTH, "128 levels (parameters)");
    cr_expect_eq(sign_body(ok_meta), 0, "127 levels (metadata)");
    cr_expect_eq(sign_body(deep_meta), CHIO_EJSON_DEPTH, "128 levels (metadata)");
    free(ok_params);
    free(deep_params);
    free(ok_meta);
    free(deep_meta);
}
