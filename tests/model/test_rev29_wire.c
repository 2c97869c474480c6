/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/model/test_rev29_wire.c - review 29, byte compatibility with a
 * literal reading of spec/wire-format.md:
 *
 *  - a delegation link's empty `attenuations` list: section 1 omits only
 *    empty evidence, actor_chain and delegation_chain arrays, so a writer
 *    of the spec signs the list as written, while chio's serializer leaves
 *    an empty attenuations list out of the link's and the token's signed
 *    bytes. A token carrying the list verifies when its signatures cover
 *    either form (before this review, libchio dropped the list before
 *    checking both signatures, so a token signed as written failed:
 *    delegation_chain_shape_valid and signature_valid false); a signature
 *    over anything else still fails.
 *
 * The tokens are written here by hand, already canonical, and signed as
 * written (no libchio canonicalisation in between).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/chio.h"

#define SEED0B "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
#define SEED0D "0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d"
/* The public keys of seeds 0b x 32 (issuer, first delegator), 0c x 32
 * (subject) and 0d x 32 (delegatee), from the upstream vectors. */
#define PUB0B "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a"
#define PUB0C "0b513ad9b4924015ca0902ed079044d3ac5dbec2306f06948c10da8eb6e39f2d"
#define PUB0D "91a28a0b74381593a4d9469579208926afc8ad82c8839b7644359b9eba9a4b3a"

#define SCHEMA_MEMBER "\"schema\":\"chio.capability.v1\","

TestSuite(rev29_wire);

/* Ed25519 by @seed over exactly the bytes of @text, as 128 hex digits. */
static void sign_as_written(const char *seed, const char *text, char out[129])
{
    chio_keypair *kp = NULL;
    uint8_t sig[64];

    cr_assert_eq(chio_keypair_from_seed_hex(seed, strlen(seed), &kp, NULL), 0);
    cr_assert_eq(chio_keypair_sign(kp, text, strlen(text), sig), 0);
    chio_hex_encode(sig, 64, out);
    chio_keypair_free(kp);
}

/* A token (issuer 0b, subject 0c) with one link 0b -> 0d whose members
 * are @link_members (canonical, those before "signature") and timestamp
 * 120; the link is signed over @link_signed, the token over its canonical
 * form with the schema tag and the link's members @token_link_members
 * (the members sent, or the form another writer signed). */
static char *token_with_link(const char *link_members, const char *link_signed,
                             const char *token_link_members)
{
    char lsig[129], tsig[129], link[1024], msg[4096], *tok = malloc(4096), *cut;

    cr_assert_not_null(tok);
    sign_as_written(SEED0B, link_signed, lsig);
#define LINK_FMT "{%s,\"signature\":\"%s\",\"timestamp\":120}"
#define TOKEN_HEAD                                                                                \
    "{\"delegation_chain\":[%s],\"expires_at\":200,\"id\":\"cap-att\",\"issued_at\":100,"         \
    "\"issuer\":\"" PUB0B "\"," SCHEMA_MEMBER "\"scope\":{\"grants\":[{"                          \
    "\"operations\":[\"invoke\"],\"server_id\":\"s\",\"tool_name\":\"t\"}]},\"subject\":\"" PUB0C \
    "\"}"
    snprintf(link, sizeof(link), LINK_FMT, token_link_members, lsig);
    snprintf(msg, sizeof(msg), TOKEN_HEAD, link);
    sign_as_written(SEED0B, msg, tsig);
    /* the token as sent: its link's members, no schema tag, the signature */
    snprintf(link, sizeof(link), LINK_FMT, link_members, lsig);
    snprintf(msg, sizeof(msg), TOKEN_HEAD, link);
    snprintf(tok, 4096, "%.*s,\"signature\":\"%s\"}", (int)strlen(msg) - 1, msg, tsig);
    cut = strstr(tok, SCHEMA_MEMBER);
    cr_assert_not_null(cut);
    memmove(cut, cut + strlen(SCHEMA_MEMBER), strlen(cut + strlen(SCHEMA_MEMBER)) + 1);
    return tok;
}

static chio_capability_report verify(const char *tok)
{
    uint8_t trusted[32];
    chio_capability *cap = NULL;
    chio_capability_report rep;
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_capability_parse(tok, strlen(tok), &cap, &err), 0, "%s: %s", err.message,
                 tok);
    cr_assert_eq(chio_pubkey_from_hex(PUB0B, 64, trusted), 0);
    memset(&rep, 0, sizeof(rep));
    cr_assert_eq(chio_capability_verify(cap, 150, trusted, 1, 4, &rep), 0);
    chio_capability_free(cap);
    return rep;
}

#define LINK_MEMBERS_BARE \
    "\"capability_id\":\"parent\",\"delegatee\":\"" PUB0D "\",\"delegator\":\"" PUB0B "\""
#define LINK_MEMBERS    "\"attenuations\":[]," LINK_MEMBERS_BARE
#define SIGNED(members) "{" members ",\"timestamp\":120}"

/* wire-format.md 4: a link is signed over "the canonical link without
 * signature"; section 1 omits empty evidence, actor_chain and
 * delegation_chain arrays, not attenuations: the list as written. */
Test(rev29_wire, an_empty_attenuations_list_signed_as_written_verifies)
{
    char *tok = token_with_link(LINK_MEMBERS, SIGNED(LINK_MEMBERS), LINK_MEMBERS);
    chio_capability_report rep = verify(tok);

    cr_expect(rep.signature_valid, "token signature: %s", tok);
    cr_expect(rep.delegation_chain_shape_valid, "link signature: %s", tok);
    cr_expect(rep.ok, "%s", tok);
    free(tok);
}

/* chio's serializer leaves an empty attenuations list out of what it
 * signs (the link's body and the token's), and its reader takes a token
 * that carries one: such a token verifies here too, each signature in
 * either form. */
Test(rev29_wire, an_empty_attenuations_list_signed_as_chio_writes_it_verifies)
{
    char *tok = token_with_link(LINK_MEMBERS, SIGNED(LINK_MEMBERS_BARE), LINK_MEMBERS_BARE);
    chio_capability_report rep = verify(tok);

    cr_expect(rep.signature_valid, "token signature: %s", tok);
    cr_expect(rep.delegation_chain_shape_valid, "link signature: %s", tok);
    cr_expect(rep.ok, "%s", tok);
    free(tok);
    /* the link in chio's form, the token as written */
    tok = token_with_link(LINK_MEMBERS, SIGNED(LINK_MEMBERS_BARE), LINK_MEMBERS);
    rep = verify(tok);
    cr_expect(rep.ok, "%s", tok);
    free(tok);
}

/* Only the empty list may be left out: a signature over other bytes (a
 * list that is not empty, another timestamp) still fails. */
Test(rev29_wire, a_signature_over_other_bytes_still_fails)
{
    char *tok =
        token_with_link(LINK_MEMBERS, "{" LINK_MEMBERS_BARE ",\"timestamp\":121}", LINK_MEMBERS);
    chio_capability_report rep = verify(tok);

    cr_expect_not(rep.delegation_chain_shape_valid, "%s", tok);
    cr_expect_not(rep.ok, "%s", tok);
    free(tok);
    tok = token_with_link(LINK_MEMBERS, SIGNED(LINK_MEMBERS), LINK_MEMBERS_BARE ",\"x\":1");
    rep = verify(tok);
    cr_expect_not(rep.signature_valid, "%s", tok);
    cr_expect_not(rep.ok, "%s", tok);
    free(tok);
}

/* The link without attenuations at all verifies as before (the upstream
 * one-link vector has none). */
Test(rev29_wire, a_link_without_attenuations_still_verifies)
{
    char *tok = token_with_link(LINK_MEMBERS_BARE, SIGNED(LINK_MEMBERS_BARE), LINK_MEMBERS_BARE);
    chio_capability_report rep = verify(tok);

    cr_expect(rep.signature_valid && rep.delegation_chain_shape_valid && rep.ok, "%s", tok);
    free(tok);
}
