/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/model/test_rev43_wire.c - review 43's differential review of the wire
 * formats against an independent Node implementation of wire-format.md
 * (/tmp/review-wire in the review; the fixtures below were signed by it).
 * Canonical JSON, seeds, receipt ids and signatures agreed byte for byte;
 * these pin the places where this verifier accepted what chio rejects:
 *
 *   - a receipt signed with a member chio's typed receipt does not have
 *     (chio drops it, recomputes another id and refuses the receipt; we
 *     kept it in the id input and called the receipt valid);
 *   - a `-0` in an unsigned integer field (serde_json reads `-0` as the
 *     float -0.0, which no u64 field takes; we read it as 0);
 *   - a checkpoint body with a member beside the spec's, or with an
 *     uppercase merkle_root (chio's typed body drops the member or rewrites
 *     the hash, and the signature over the bytes as written no longer
 *     verifies).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "chio/capability.h"
#include "chio/checkpoint.h"
#include "chio/crypto.h"
#include "chio/json.h"
#include "chio/receipt.h"

#define SEED07   "0707070707070707070707070707070707070707070707070707070707070707"
#define PUB07    "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"
#define ROOT_HEX "abababababababababababababababababababababababababababababababab"

/* Signed by the Node implementation with seed 07 x 32 (receipts) and
 * 0b x 32 (tokens), each over its members exactly as written here. */
static const char R_PLAIN[] =
    "{\"id\":\"5a6e5b5f1bb86265c6c7546fdb5b0345aa381fc99a307c532dabc8eef6ca0250\""
    ",\"signature\":\"712fca6cb4fcd78e3dc77224f1ff5226f61af418227d95a06547f8f2d2"
    "8e2a24627e34accb62a11edcf7c7da98c444c1eb24b31176c80334cd1b14cc41a7df0d\","
    "\"timestamp\":1700000000,\"capability_id\":\"cap-1\",\"tool_server\":\"srv\",\"tool"
    "_name\":\"t\",\"decision\":{\"verdict\":\"allow\"},\"receipt_kind\":\"mediated_decis"
    "ion\",\"boundary_class\":\"prevent\",\"tool_origin\":\"caller_executed\",\"redacti"
    "on_mode\":\"none\",\"content_hash\":\"74234e98afe7498fb5daf1f36ac2d78acc339464"
    "f950703b8c019892f982b90b\",\"policy_hash\":\"p\",\"trust_level\":\"mediated\",\"ke"
    "rnel_key\":\"ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d"
    "22c\",\"action\":{\"parameters\":{\"a\":1},\"parameter_hash\":\"015abd7f5cc57a2dd9"
    "4b7590f04ad8084273905ee33ec5cebeae62276a97f862\"}}";
static const char R_EXTRA_TOP[] =
    "{\"id\":\"de75208602c6c22986e83b7a50147242c604cae9a808b30d578eff4e42e1235c\""
    ",\"signature\":\"981e65694f64945e9c8d866a16bdfb1b0ccb3403f0bc673a8171800679"
    "db34c9aea75a52db1f21be12214ec477382c05c38e5d05c83acbd84d3b3278201fe40e\","
    "\"timestamp\":1700000000,\"capability_id\":\"cap-1\",\"tool_server\":\"srv\",\"tool"
    "_name\":\"t\",\"extra\":1,\"decision\":{\"verdict\":\"allow\"},\"receipt_kind\":\"medi"
    "ated_decision\",\"boundary_class\":\"prevent\",\"tool_origin\":\"caller_executed"
    "\",\"redaction_mode\":\"none\",\"content_hash\":\"74234e98afe7498fb5daf1f36ac2d7"
    "8acc339464f950703b8c019892f982b90b\",\"policy_hash\":\"p\",\"trust_level\":\"med"
    "iated\",\"kernel_key\":\"ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421"
    "eea691446d22c\",\"action\":{\"parameters\":{\"a\":1},\"parameter_hash\":\"015abd7f"
    "5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862\"}}";
static const char R_EXTRA_ACTION[] =
    "{\"id\":\"133616461f6733598fb642bef9688cba5951475c1b90afd468e4018ebdb387eb\""
    ",\"signature\":\"cfd6f44468239d37d54c671269222b03f5df1735a11ae0988f9ddd1edf"
    "8a73dd37843fae69568608adf4c4d65aafc05922a8448c5a4d711f38d37d39df233a0e\","
    "\"timestamp\":1700000000,\"capability_id\":\"cap-1\",\"tool_server\":\"srv\",\"tool"
    "_name\":\"t\",\"decision\":{\"verdict\":\"allow\"},\"receipt_kind\":\"mediated_decis"
    "ion\",\"boundary_class\":\"prevent\",\"tool_origin\":\"caller_executed\",\"redacti"
    "on_mode\":\"none\",\"content_hash\":\"74234e98afe7498fb5daf1f36ac2d78acc339464"
    "f950703b8c019892f982b90b\",\"policy_hash\":\"p\",\"trust_level\":\"mediated\",\"ke"
    "rnel_key\":\"ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d"
    "22c\",\"action\":{\"parameters\":{\"a\":1},\"x\":1,\"parameter_hash\":\"015abd7f5cc5"
    "7a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862\"}}";
static const char R_ALLOW_REASON[] =
    "{\"id\":\"b94524f2eee5114d4e9694a83e7be25c27ed63e20581ab59a48990f2abd4fe55\""
    ",\"signature\":\"6ffe0983ef0e1aa8f73fa1f47be3c407e5a1d243478b419be9b6434c64"
    "3c762dded8b03aaf5e397868ea85a233818eee7d4b8a38f2076f78659b90e578e11607\","
    "\"timestamp\":1700000000,\"capability_id\":\"cap-1\",\"tool_server\":\"srv\",\"tool"
    "_name\":\"t\",\"decision\":{\"verdict\":\"allow\",\"reason\":\"r\"},\"receipt_kind\":\"m"
    "ediated_decision\",\"boundary_class\":\"prevent\",\"tool_origin\":\"caller_execu"
    "ted\",\"redaction_mode\":\"none\",\"content_hash\":\"74234e98afe7498fb5daf1f36ac"
    "2d78acc339464f950703b8c019892f982b90b\",\"policy_hash\":\"p\",\"trust_level\":\""
    "mediated\",\"kernel_key\":\"ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92"
    "421eea691446d22c\",\"action\":{\"parameters\":{\"a\":1},\"parameter_hash\":\"015ab"
    "d7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862\"}}";
static const char R_EVIDENCE_EXTRA[] =
    "{\"id\":\"15c77cab09b16d9b18cbddc737c9ab8e1b01c920f85c87c3b493bd6be7e5cab5\""
    ",\"signature\":\"c3c608413ed9ab1564f1e9bc503d056d5a02085e7aeee09d09cdf40472"
    "6bfedce83b65a2de85b5d689a287447de201b52fcfd666fe3f2840fffdc45c96cdee03\","
    "\"timestamp\":1700000000,\"capability_id\":\"cap-1\",\"tool_server\":\"srv\",\"tool"
    "_name\":\"t\",\"decision\":{\"verdict\":\"allow\"},\"receipt_kind\":\"mediated_decis"
    "ion\",\"boundary_class\":\"prevent\",\"tool_origin\":\"caller_executed\",\"redacti"
    "on_mode\":\"none\",\"content_hash\":\"74234e98afe7498fb5daf1f36ac2d78acc339464"
    "f950703b8c019892f982b90b\",\"policy_hash\":\"p\",\"evidence\":[{\"guard_name\":\"g"
    "\",\"verdict\":true,\"x\":1}],\"trust_level\":\"mediated\",\"kernel_key\":\"ea4a6c63"
    "e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c\",\"action\":{\"par"
    "ameters\":{\"a\":1},\"parameter_hash\":\"015abd7f5cc57a2dd94b7590f04ad80842739"
    "05ee33ec5cebeae62276a97f862\"}}";
static const char R_TS_NEG0[] =
    "{\"id\":\"59877b7509c43317bd20c9ab139ce7a54c595f9257661d05df6f531af1494f87\""
    ",\"signature\":\"d260677424b132c786adac25da43b9862c59c17fff21cb017d0d008984"
    "0eb7a839e22e7b71c28a4ca03d1371532140d84317a97e8402b75170440cf682e8a507\","
    "\"timestamp\":-0,\"capability_id\":\"cap-1\",\"tool_server\":\"srv\",\"tool_name\":\""
    "t\",\"decision\":{\"verdict\":\"allow\"},\"receipt_kind\":\"mediated_decision\",\"bo"
    "undary_class\":\"prevent\",\"tool_origin\":\"caller_executed\",\"redaction_mode\""
    ":\"none\",\"content_hash\":\"74234e98afe7498fb5daf1f36ac2d78acc339464f950703b"
    "8c019892f982b90b\",\"policy_hash\":\"p\",\"trust_level\":\"mediated\",\"kernel_key"
    "\":\"ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c\",\"ac"
    "tion\":{\"parameters\":{\"a\":1},\"parameter_hash\":\"015abd7f5cc57a2dd94b7590f0"
    "4ad8084273905ee33ec5cebeae62276a97f862\"}}";
static const char T_PLAIN[] =
    "{\"signature\":\"7b8f1820e1e51ad1cd8dc435e87dca59cef2f3e5a1e6dcae1591679899"
    "8044b67c889dcdd8b6743225438b03268fae7197c668751ef10da1ca4740dd350f110a\","
    "\"id\":\"cap-1\",\"issuer\":\"66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d9"
    "8b39fb6810c473a\",\"subject\":\"ea4a6c63e29c520abef5507b132ec5f9954776aebebe"
    "7b92421eea691446d22c\",\"scope\":{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":"
    "\"t\",\"operations\":[\"invoke\"]}]},\"issued_at\":1700000000,\"expires_at\":17000"
    "03600}";
static const char T_ISSUED_NEG0[] =
    "{\"signature\":\"4f1ce025cb6b08ce88f5b3b869c5044d29389c09ffe093164e0c6257e3"
    "22bc0785e6bf2801e113d3f650952254566b750ed80139a226e19e8ca4faa7565a810b\","
    "\"id\":\"cap-1\",\"issuer\":\"66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d9"
    "8b39fb6810c473a\",\"subject\":\"ea4a6c63e29c520abef5507b132ec5f9954776aebebe"
    "7b92421eea691446d22c\",\"scope\":{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":"
    "\"t\",\"operations\":[\"invoke\"]}]},\"issued_at\":-0,\"expires_at\":1700003600}";
static const char T_MAXINV_NEG0[] =
    "{\"signature\":\"5cd28883f6ffa4daf472163079d86d25b8c0f8ac76350dc96a7301045f"
    "1d00b1a641c5a457e7e4116fa48de0fa379d38039bfaf65bad1697799d12159c862107\","
    "\"id\":\"cap-1\",\"issuer\":\"66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d9"
    "8b39fb6810c473a\",\"subject\":\"ea4a6c63e29c520abef5507b132ec5f9954776aebebe"
    "7b92421eea691446d22c\",\"scope\":{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":"
    "\"t\",\"operations\":[\"invoke\"],\"max_invocations\":-0}]},\"issued_at\":17000000"
    "00,\"expires_at\":1700003600}";

static int verify_receipt(const char *json, chio_receipt_report *rep)
{
    chio_receipt *r = NULL;
    uint8_t key[32];
    int rc;

    cr_assert_eq(chio_pubkey_from_hex(
                     "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c", 64, key),
                 0);
    rc = chio_receipt_parse(json, strlen(json), &r, NULL);
    if (rc == 0)
        rc = chio_receipt_verify(r, key, 1, rep);
    chio_receipt_free(r);
    return rc;
}

Test(rev43_wire, the_independent_signers_receipt_verifies)
{
    chio_receipt_report rep;

    cr_assert_eq(verify_receipt(R_PLAIN, &rep), 0);
    cr_expect(rep.ok && rep.signature_valid && rep.receipt_id_valid && rep.parameter_hash_valid);
}

/* chio reads a receipt into its typed struct, which has no place for these
 * members, so the id it recomputes is not the one signed: invalid there,
 * and so here, whoever signed the extra member. */
Test(rev43_wire, a_receipt_signed_with_a_member_chio_has_no_place_for_is_invalid)
{
    static const char *const signed_with_extra[] = {R_EXTRA_TOP, R_EXTRA_ACTION, R_ALLOW_REASON,
                                                    R_EVIDENCE_EXTRA};
    chio_receipt_report rep;
    size_t i;

    for (i = 0; i < sizeof(signed_with_extra) / sizeof(signed_with_extra[0]); i++) {
        cr_assert_eq(verify_receipt(signed_with_extra[i], &rep), 0, "case %zu", i);
        cr_expect(!rep.receipt_id_valid, "case %zu: id called valid", i);
        cr_expect(!rep.signature_valid, "case %zu: signature called valid", i);
        cr_expect(!rep.ok && !rep.authorized, "case %zu: receipt accepted", i);
        cr_expect(rep.parameter_hash_valid, "case %zu", i);
    }
}

/* serde_json reads the token -0 as the float -0.0: chio cannot read a
 * receipt, token or checkpoint with it in an integer field. */
Test(rev43_wire, minus_zero_is_no_unsigned_integer)
{
    chio_receipt *r = NULL;
    chio_capability *cap = NULL;

    cr_expect_eq(chio_receipt_parse(R_TS_NEG0, strlen(R_TS_NEG0), &r, NULL), CHIO_EFORMAT);
    chio_receipt_free(r);
    cr_assert_eq(chio_capability_parse(T_PLAIN, strlen(T_PLAIN), &cap, NULL), 0);
    chio_capability_free(cap);
    cap = NULL;
    cr_expect_eq(chio_capability_parse(T_ISSUED_NEG0, strlen(T_ISSUED_NEG0), &cap, NULL),
                 CHIO_EFORMAT);
    chio_capability_free(cap);
    cap = NULL;
    cr_expect_eq(chio_capability_parse(T_MAXINV_NEG0, strlen(T_MAXINV_NEG0), &cap, NULL),
                 CHIO_EFORMAT);
    chio_capability_free(cap);
}

/* -0 is still the canonical 0 as a value (wire-format.md 1). */
Test(rev43_wire, minus_zero_still_canonicalises_to_zero)
{
    char *out = NULL;
    size_t len = 0;

    cr_assert_eq(chio_json_canonicalize("[-0,{\"a\":-0}]", 13, &out, &len, NULL), 0);
    cr_expect_str_eq(out, "[0,{\"a\":0}]");
    chio_free(out);
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    size_t i;

    for (i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* A checkpoint with checkpoint_seq @seq, the members @extra after it and
 * merkle_root "0x" @root, signed with seed 07 over the body exactly as
 * written; parsed and verified. */
static int checkpoint_with_root(const char *seq, const char *extra, const char *root)
{
    chio_keypair *kp = NULL;
    chio_checkpoint *cp = NULL;
    char body[1024], json[1400], sighex[129];
    uint8_t sig[64];
    int len, rc;

    cr_assert_eq(chio_keypair_from_seed_hex(SEED07, 64, &kp, NULL), 0);
    len = snprintf(body, sizeof(body),
                   "{\"batch_end_seq\":5,\"batch_start_seq\":1,\"checkpoint_seq\":%s,%s"
                   "\"issued_at\":1700000000,\"kernel_key\":\"%s\",\"merkle_root\":\"0x%s\","
                   "\"schema\":\"" CHIO_CHECKPOINT_SCHEMA "\",\"tree_size\":5}",
                   seq, extra, chio_keypair_public_hex(kp), root);
    cr_assert_lt((size_t)len, sizeof(body));
    cr_assert_eq(chio_keypair_sign(kp, body, (size_t)len, sig), 0);
    hex(sig, 64, sighex);
    snprintf(json, sizeof(json), "{\"body\":%s,\"signature\":\"%s\"}", body, sighex);
    chio_keypair_free(kp);
    rc = chio_checkpoint_parse(json, strlen(json), &cp, NULL);
    if (rc == 0)
        rc = chio_checkpoint_verify(cp);
    chio_checkpoint_free(cp);
    return rc;
}

static int checkpoint_with(const char *seq, const char *extra)
{
    return checkpoint_with_root(seq, extra, ROOT_HEX);
}

Test(rev43_wire, a_checkpoint_body_is_read_as_chio_types_it)
{
    cr_expect_eq(checkpoint_with("1", ""), 0);
    cr_expect_eq(checkpoint_with("1", "\"extra\":1,"), CHIO_EFORMAT);
    cr_expect_eq(checkpoint_with("1", "\"epoch\":null,"), CHIO_EFORMAT);
    cr_expect_eq(checkpoint_with("-0", ""), CHIO_EFORMAT);
    /* chio writes a Merkle hash "0x" + lowercase hex; its typed body
     * rewrites an uppercase one, so a signature over it as written fails
     * there. */
    cr_expect_eq(checkpoint_with_root("1", "",
                                      "ABABABABABABABABABABABABABABABAB"
                                      "ABABABABABABABABABABABABABABABAB"),
                 CHIO_EFORMAT);
}

/* The public verification report says what chio would: a token whose
 * issuer signed a member chio's types have no place for is read by chio
 * without it, so its signature cannot verify there (the kernel denies it
 * unsupported_grant). Signed here over the schema-tagged canonical body
 * as written, so only that member stands between it and a valid one. */
static chio_capability *signed_token(const chio_keypair *kp, const char *grant_extra)
{
    char body[1024], tok[1400], sighex[129];
    uint8_t sig[64];
    chio_capability *cap = NULL;
    size_t i;
    int n;

    n = snprintf(body, sizeof(body),
                 "{\"expires_at\":160,\"id\":\"cap-x\",\"issued_at\":100,\"issuer\":\"%s\","
                 "\"schema\":\"chio.capability.v1\",\"scope\":{\"grants\":[{\"operations\":"
                 "[\"invoke\"],\"server_id\":\"srv\",\"tool_name\":\"t\"%s}]},\"subject\":\"%s\"}",
                 PUB07, grant_extra, ROOT_HEX);
    cr_assert_lt((size_t)n, sizeof(body));
    cr_assert_eq(chio_keypair_sign(kp, body, (size_t)n, sig), 0);
    for (i = 0; i < 64; i++)
        snprintf(sighex + 2 * i, 3, "%02x", sig[i]);
    n = snprintf(tok, sizeof(tok), "{\"signature\":\"%s\",%s", sighex, body + 1);
    cr_assert_lt((size_t)n, sizeof(tok));
    cr_assert_eq(chio_capability_parse(tok, (size_t)n, &cap, NULL), 0);
    return cap;
}

Test(rev43_wire, a_token_with_a_member_chio_drops_reports_no_valid_signature)
{
    chio_keypair *kp = NULL;
    chio_capability *cap;
    chio_capability_report rep;

    cr_assert_eq(chio_keypair_from_seed_hex(SEED07, 64, &kp, NULL), 0);
    cap = signed_token(kp, "");
    cr_assert_null(chio_capability_unknown_field(cap));
    cr_assert_eq(chio_capability_verify(cap, 120, NULL, 0, -1, &rep), 0);
    cr_assert(rep.signature_valid, "the plain token is signed right");
    chio_capability_free(cap);
    cap = signed_token(kp, ",\"x\":1");
    cr_assert_eq(chio_capability_verify(cap, 120, NULL, 0, -1, &rep), 0);
    cr_expect_not(rep.signature_valid, "a member chio drops cannot leave the signature valid");
    cr_expect_not(rep.ok);
    chio_capability_free(cap);
    chio_keypair_free(kp);
}

/* No unsigned reader takes "-0" (a max_length or max_args_size constraint,
 * a scenario's integers, policy numbers all read through this one). */
Test(rev43_wire, the_unsigned_accessor_refuses_minus_zero)
{
    chio_json_doc *doc = NULL;
    uint64_t u = 7;

    cr_assert_eq(chio_json_parse("[-0,0]", 6, &doc, NULL), 0);
    cr_expect_eq(chio_json_get_uint64(chio_json_at(chio_json_root(doc), 0), &u), CHIO_ERANGE);
    cr_expect_eq(u, 7);
    cr_expect_eq(chio_json_get_uint64(chio_json_at(chio_json_root(doc), 1), &u), 0);
    cr_expect_eq(u, 0);
    chio_json_doc_free(doc);
}
