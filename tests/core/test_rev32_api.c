/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/core/test_rev32_api.c - review 32: the public API of the lower
 * layers (error.h, json.h, crypto.h, merkle.h, receipt.h, capability.h,
 * checkpoint.h) misused the way a new host reaching it through FFI would:
 * NULL for each pointer argument in turn, zero and huge sizes, empty
 * strings, NUL bytes inside a counted text, invalid UTF-8, enum values out
 * of range, and caller-filled report structs that the library did not
 * fill. Each call must end in a documented result (CHIO_EINVAL and the
 * like, with a message where the call takes a chio_error; NULL or 0 from
 * readers), never a crash, a read out of bounds or a leak (run under
 * `make asan` too). The kernel layer's sweep is tests/kernel/test_rev32_api.c.
 *
 *   error_table       every result code has a name, a message and a class;
 *                     values that are no code get defined answers
 *   enum_names        every chio_*_name() answers NULL outside its enum
 *   json / crypto / merkle / receipt / capability / checkpoint
 *                     the NULL, size and text sweeps of each header
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "chio/chio.h"
#include "kernel/rev32api.h"

#define SEED07 "0707070707070707070707070707070707070707070707070707070707070707"
#define PUB07  "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"
#define SCOPE  "{\"grants\":[{\"server_id\":\"s\",\"tool_name\":\"t\",\"operations\":[\"invoke\"]}]}"
#define HASH64 "0000000000000000000000000000000000000000000000000000000000000000"

TestSuite(rev32_api);

static chio_keypair *key07(void)
{
    chio_keypair *kp = NULL;

    cr_assert_eq(chio_keypair_from_seed_hex(SEED07, 64, &kp, NULL), 0);
    return kp;
}

/* ---- error_table ------------------------------------------------------------------- */

Test(rev32_api, every_result_code_has_a_name_a_message_and_a_class)
{
#define CHECK_CODE(name, num, msg)                            \
    cr_expect_str_eq(chio_errno_name(-(num)), "CHIO_" #name); \
    cr_expect_str_eq(chio_strerror(-(num)), msg);             \
    cr_expect_str_eq(chio_err_name(-(num)), "CHIO_" #name);   \
    cr_expect_not_null(chio_errno_reason(-(num)));            \
    cr_expect_str_eq(chio_error_code_name(-(num)), chio_errno_reason(-(num)));
    CHIO_ERRNO_MAP(CHECK_CODE)
#undef CHECK_CODE
    cr_expect_str_eq(chio_errno_name(0), "CHIO_OK");
    cr_expect_str_eq(chio_strerror(0), "success");
    cr_expect_str_eq(chio_errno_reason(0), "none");
}

Test(rev32_api, values_that_are_no_code_get_defined_answers)
{
    static const int bad[] = {INT_MIN, INT_MIN + 1, -1000, -84, -69, -59, -6, -9, 1, 42, INT_MAX};
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_str_eq(chio_errno_name(bad[i]), "CHIO_EUNKNOWN", "%d", bad[i]);
        cr_expect_str_eq(chio_strerror(bad[i]), "unknown error", "%d", bad[i]);
        cr_expect_str_eq(chio_errno_reason(bad[i]), "internal_error", "%d", bad[i]);
        cr_expect_str_eq(chio_err_name(bad[i]), "CHIO_EUNKNOWN", "%d", bad[i]);
        cr_expect_str_eq(chio_error_code_name(bad[i]), "internal_error", "%d", bad[i]);
    }
    chio_error_init(NULL);
    chio_free(NULL);
    cr_expect_str_eq(chio_version(), CHIO_VERSION_STRING);
}

/* ---- enum_names --------------------------------------------------------------------- */

Test(rev32_api, every_enum_name_is_null_outside_its_enum)
{
    static const int out[] = {-1, INT_MIN, INT_MAX, 1000};
    size_t i;

    for (i = 0; i < sizeof out / sizeof out[0]; i++) {
        int v = out[i];
        cr_expect_null(chio_time_status_name((chio_time_status)v), "%d", v);
        cr_expect_null(chio_code_name((chio_code)v), "%d", v);
        cr_expect_null(chio_session_state_name((chio_session_state)v), "%d", v);
        cr_expect_null(chio_receipt_kind_name((chio_receipt_kind)v), "%d", v);
        cr_expect_null(chio_boundary_class_name((chio_boundary_class)v), "%d", v);
        cr_expect_null(chio_observation_outcome_name((chio_observation_outcome)v), "%d", v);
        cr_expect_null(chio_tool_origin_name((chio_tool_origin)v), "%d", v);
        cr_expect_null(chio_redaction_mode_name((chio_redaction_mode)v), "%d", v);
        cr_expect_null(chio_trust_level_name((chio_trust_level)v), "%d", v);
        cr_expect_null(chio_verdict_name((chio_verdict)v), "%d", v);
    }
    /* One past the last value of each enum. */
    cr_expect_null(chio_time_status_name(CHIO_TIME_EXPIRED + 1));
    cr_expect_null(chio_code_name(CHIO_CODE_INVALID_REQUEST + 1));
    cr_expect_null(chio_session_state_name(CHIO_SESSION_CLOSED + 1));
    cr_expect_null(chio_receipt_kind_name(CHIO_KIND_ADVISORY_EVALUATION + 1));
    cr_expect_null(chio_boundary_class_name(CHIO_BOUNDARY_CANNOT_SEE + 1));
    cr_expect_null(chio_observation_outcome_name(CHIO_OUTCOME_DROPPED + 1));
    cr_expect_null(chio_tool_origin_name(CHIO_ORIGIN_HOST_EXECUTED_UNMEDIATED + 1));
    cr_expect_null(chio_redaction_mode_name(CHIO_REDACTION_REDACTED + 1));
    cr_expect_null(chio_trust_level_name(CHIO_TRUST_ADVISORY + 1));
    cr_expect_null(chio_verdict_name(CHIO_VERDICT_INCOMPLETE + 1));
    cr_expect_str_eq(chio_verdict_name(CHIO_VERDICT_NONE), "none");
    cr_expect_str_eq(chio_observation_outcome_name(CHIO_OUTCOME_NONE), "none");
}

/* ---- json -------------------------------------------------------------------------- */

Test(rev32_api, json_null_and_edge_arguments)
{
    chio_json_doc *doc = NULL;
    chio_error err;
    char *out = NULL;
    size_t len = 7;
    int b = 5;
    int64_t i64 = 5;
    uint64_t u64 = 5;
    double d = 5;

    ERC(chio_json_parse("1", 1, NULL, &err), CHIO_EINVAL);
    ERC(chio_json_parse(NULL, 1, &doc, &err), CHIO_EINVAL);
    ERC(chio_json_parse(NULL, 0, &doc, &err), CHIO_EJSON_TRUNCATED);
    ERC(chio_json_parse("", 0, &doc, &err), CHIO_EJSON_TRUNCATED);
    ERC(chio_json_parse("1", SIZE_MAX, &doc, &err), CHIO_ETOOBIG);
    cr_expect_null(doc);
    ERC(chio_json_parse("\"a\0b\"", 5, &doc, &err), CHIO_EJSON_CONTROL);
    ERC(chio_json_parse("\"\xff\"", 3, &doc, &err), CHIO_EJSON_UTF8);
    ERC(chio_json_parse("{\"a\\u0000\":1}", 13, &doc, &err), CHIO_EJSON_NULKEY);
    ERC(chio_json_canonicalize("1", 1, NULL, &len, &err), CHIO_EINVAL);
    ERC(chio_json_canonicalize("1", SIZE_MAX, &out, &len, &err), CHIO_ETOOBIG);
    ERC(chio_json_canonicalize("1", SIZE_MAX / 2, &out, &len, &err), CHIO_ETOOBIG);
    ERC(chio_json_canonicalize("1", CHIO_JSON_MAX_INPUT + 1, &out, &len, &err), CHIO_ETOOBIG);
    cr_expect_null(out);
    ERC(chio_json_canonicalize("\"\xc0\x80\"", 4, &out, &len, &err), CHIO_EJSON_UTF8);
    cr_expect_null(out);
    /* out_len is optional: the buffer is NUL-terminated. */
    ERC(chio_json_canonicalize("[1]", 3, &out, NULL, &err), 0);
    cr_expect_str_eq(out, "[1]");
    chio_free(out);
    out = NULL;

    chio_json_doc_free(NULL);
    cr_expect_null(chio_json_root(NULL));
    cr_expect_eq(chio_json_typeof(NULL), CHIO_JSON_NULL);
    cr_expect_eq(chio_json_size(NULL), 0);
    cr_expect_null(chio_json_get(NULL, "a"));
    cr_expect_null(chio_json_at(NULL, 0));
    cr_expect_null(chio_json_key_at(NULL, 0, &len));
    cr_expect_null(chio_json_string(NULL, &len));
    RC(chio_json_get_bool(NULL, &b), CHIO_EINVAL);
    RC(chio_json_get_int64(NULL, &i64), CHIO_EINVAL);
    RC(chio_json_get_uint64(NULL, &u64), CHIO_EINVAL);
    RC(chio_json_get_double(NULL, &d), CHIO_EINVAL);
    RC(chio_json_write_canonical(NULL, &out, &len), CHIO_EINVAL);
    cr_expect_null(out);

    cr_assert_eq(chio_json_parse("{\"a\":[true,-1,1.5,\"x\"]}", 23, &doc, NULL), 0);
    const chio_json *root = chio_json_root(doc);
    const chio_json *arr = chio_json_get(root, "a");
    cr_expect_null(chio_json_get(root, NULL));
    cr_expect_null(chio_json_get(arr, "a"));
    cr_expect_null(chio_json_at(arr, 4));
    cr_expect_null(chio_json_at(arr, SIZE_MAX));
    cr_expect_null(chio_json_key_at(root, 1, NULL));
    cr_expect_null(chio_json_key_at(arr, 0, NULL));
    cr_expect_str_eq(chio_json_key_at(root, 0, NULL), "a");
    cr_expect_null(chio_json_string(chio_json_at(arr, 0), NULL));
    cr_expect_str_eq(chio_json_string(chio_json_at(arr, 3), NULL), "x");
    RC(chio_json_get_bool(chio_json_at(arr, 0), NULL), CHIO_EINVAL);
    RC(chio_json_get_int64(chio_json_at(arr, 1), NULL), CHIO_EINVAL);
    RC(chio_json_get_uint64(chio_json_at(arr, 1), &u64), CHIO_ERANGE);
    RC(chio_json_get_uint64(chio_json_at(arr, 1), NULL), CHIO_EINVAL);
    RC(chio_json_get_double(chio_json_at(arr, 2), NULL), CHIO_EINVAL);
    RC(chio_json_get_bool(chio_json_at(arr, 1), &b), CHIO_EINVAL);
    cr_expect_eq(b, 5, "a failed accessor leaves *out unchanged");
    RC(chio_json_write_canonical(root, NULL, &len), CHIO_EINVAL);
    RC(chio_json_write_canonical(root, &out, NULL), 0);
    cr_expect_str_eq(out, "{\"a\":[true,-1,1.5,\"x\"]}");
    chio_free(out);
    chio_json_doc_free(doc);

    out = NULL;
    RC(chio_json_write_string(NULL, 1, &out, &len), CHIO_EINVAL);
    RC(chio_json_write_string("a", 1, NULL, &len), CHIO_EINVAL);
    RC(chio_json_write_string(NULL, 0, &out, &len), 0);
    cr_expect_str_eq(out, "\"\"");
    chio_free(out);
    RC(chio_json_write_string("a\0\xff", 3, &out, NULL), 0);
    cr_expect_str_eq(out, "\"a\\u0000\xef\xbf\xbd\"");
    chio_free(out);
}

/* ---- crypto ------------------------------------------------------------------------ */

Test(rev32_api, crypto_null_and_edge_arguments)
{
    chio_keypair *kp = key07();
    chio_keypair *none = NULL;
    chio_error err;
    uint8_t pub[32], sig[64], h[32];
    char hex[129];
    int dd = 7, le = 7;

    ERC(chio_keypair_from_seed_hex(NULL, 64, &none, &err), CHIO_EINVAL);
    ERC(chio_keypair_from_seed_hex(SEED07, 64, NULL, &err), CHIO_EINVAL);
    ERC(chio_keypair_from_seed_hex("", 0, &none, &err), CHIO_ESEED_LENGTH);
    cr_expect_null(none);
    ERC(chio_keypair_generate(NULL, &err), CHIO_EINVAL);
    chio_keypair_free(NULL);
    ERC(chio_keypair_lock_memory(NULL, &err), CHIO_EINVAL);
    RC(chio_keypair_memory_locked(NULL, &dd, &le), CHIO_EINVAL);
    cr_expect(chio_keypair_memory_locked(kp, NULL, NULL) >= 0);
    RC(chio_keypair_write_seed_hex(NULL, hex), CHIO_EINVAL);
    RC(chio_keypair_write_seed_hex(kp, NULL), CHIO_EINVAL);
    cr_expect_null(chio_keypair_public_hex(NULL));
    RC(chio_keypair_public_key(NULL, pub), CHIO_EINVAL);
    RC(chio_keypair_public_key(kp, NULL), CHIO_EINVAL);
    RC(chio_keypair_sign(NULL, "m", 1, sig), CHIO_EINVAL);
    RC(chio_keypair_sign(kp, NULL, 1, sig), CHIO_EINVAL);
    RC(chio_keypair_sign(kp, "m", 1, NULL), CHIO_EINVAL);
    RC(chio_keypair_sign(kp, NULL, 0, sig), 0);
    RC(chio_keypair_public_key(kp, pub), 0);
    RC(chio_ed25519_verify(pub, NULL, 0, sig), 0);
    RC(chio_ed25519_verify(NULL, "m", 1, sig), CHIO_EINVAL);
    RC(chio_ed25519_verify(pub, NULL, 1, sig), CHIO_EINVAL);
    RC(chio_ed25519_verify(pub, "m", 1, NULL), CHIO_EINVAL);
    RC(chio_ed25519_verify(pub, "m", 1, sig), CHIO_EBADSIG);
    RC(chio_pubkey_from_hex(NULL, 64, pub), CHIO_EINVAL);
    RC(chio_pubkey_from_hex(PUB07, 64, NULL), CHIO_EINVAL);
    RC(chio_pubkey_from_hex(PUB07, SIZE_MAX, pub), CHIO_EKEY);
    RC(chio_signature_from_hex(NULL, 128, sig), CHIO_EINVAL);
    RC(chio_signature_from_hex(PUB07 PUB07, 128, NULL), CHIO_EINVAL);
    RC(chio_signature_from_hex(PUB07 PUB07, SIZE_MAX, sig), CHIO_ESIGFORMAT);
    RC(chio_sha256(NULL, 1, h), CHIO_EINVAL);
    RC(chio_sha256("a", 1, NULL), CHIO_EINVAL);
    RC(chio_sha256(NULL, 0, h), 0);
    RC(chio_sha256_hex(NULL, 1, hex), CHIO_EINVAL);
    RC(chio_sha256_hex("a", 1, NULL), CHIO_EINVAL);
    RC(chio_sha256_hex(NULL, 0, hex), 0);
    cr_expect_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    RC(chio_hex_encode(NULL, 1, hex), CHIO_EINVAL);
    RC(chio_hex_encode(pub, 1, NULL), CHIO_EINVAL);
    RC(chio_hex_encode(NULL, 0, hex), 0);
    cr_expect_str_eq(hex, "");
    chio_keypair_free(kp);
}

/* ---- merkle ------------------------------------------------------------------------ */

Test(rev32_api, merkle_null_and_edge_arguments)
{
    uint8_t leaves[3][32], root[32], h[32];
    chio_merkle_proof proof;
    size_t i;

    memset(leaves, 0xab, sizeof leaves);
    RC(chio_merkle_leaf_hash(NULL, 1, h), CHIO_EINVAL);
    RC(chio_merkle_leaf_hash("a", 1, NULL), CHIO_EINVAL);
    RC(chio_merkle_leaf_hash(NULL, 0, h), 0);
    RC(chio_merkle_node_hash(NULL, leaves[0], h), CHIO_EINVAL);
    RC(chio_merkle_node_hash(leaves[0], NULL, h), CHIO_EINVAL);
    RC(chio_merkle_node_hash(leaves[0], leaves[1], NULL), CHIO_EINVAL);
    RC(chio_merkle_root(NULL, 1, root), CHIO_EINVAL);
    RC(chio_merkle_root(leaves[0], 0, root), CHIO_EINVAL);
    RC(chio_merkle_root(leaves[0], 1, NULL), CHIO_EINVAL);
    /* A count whose byte size does not fit size_t: refused, never read. */
    RC(chio_merkle_root(leaves[0], SIZE_MAX / 16, root), CHIO_EINVAL);
    RC(chio_merkle_root(leaves[0], SIZE_MAX, root), CHIO_EINVAL);
    RC(chio_merkle_prove(NULL, 3, 0, &proof), CHIO_EINVAL);
    RC(chio_merkle_prove(leaves[0], 3, 3, &proof), CHIO_EINVAL);
    RC(chio_merkle_prove(leaves[0], 3, SIZE_MAX, &proof), CHIO_EINVAL);
    RC(chio_merkle_prove(leaves[0], 3, 0, NULL), CHIO_EINVAL);
    RC(chio_merkle_prove(leaves[0], 0, 0, &proof), CHIO_EINVAL);
    RC(chio_merkle_prove(leaves[0], SIZE_MAX / 16, 0, &proof), CHIO_EINVAL);

    cr_assert_eq(chio_merkle_root(leaves[0], 3, root), 0);
    cr_assert_eq(chio_merkle_prove(leaves[0], 3, 2, &proof), 0);
    RC(chio_merkle_verify(leaves[2], &proof, root), 0);
    RC(chio_merkle_verify(NULL, &proof, root), CHIO_EINVAL);
    RC(chio_merkle_verify(leaves[2], NULL, root), CHIO_EINVAL);
    RC(chio_merkle_verify(leaves[2], &proof, NULL), CHIO_EINVAL);
    /* A caller-filled proof whose counts do not fit its array or its tree. */
    chio_merkle_proof bad = proof;
    bad.path_len = SIZE_MAX;
    RC(chio_merkle_verify(leaves[2], &bad, root), CHIO_EPROOF);
    bad.path_len = CHIO_MERKLE_MAX_PATH + 1;
    RC(chio_merkle_verify(leaves[2], &bad, root), CHIO_EPROOF);
    bad = proof;
    bad.tree_size = 0;
    RC(chio_merkle_verify(leaves[2], &bad, root), CHIO_EPROOF);
    bad = proof;
    bad.leaf_index = 3;
    RC(chio_merkle_verify(leaves[2], &bad, root), CHIO_EPROOF);
    bad = proof;
    bad.tree_size = UINT64_MAX;
    bad.leaf_index = UINT64_MAX - 1;
    RC(chio_merkle_verify(leaves[2], &bad, root), CHIO_EPROOF);
    for (i = 0; i < 3; i++)
        cr_expect_eq(chio_merkle_prove(leaves[0], 3, i, &proof), 0);
}

/* ---- receipt ----------------------------------------------------------------------- */

static chio_receipt_builder *allow_builder(void)
{
    chio_receipt_builder *b = NULL;

    cr_assert_eq(chio_receipt_builder_new(&b), 0);
    cr_assert_eq(chio_receipt_builder_set_capability_id(b, "cap"), 0);
    cr_assert_eq(chio_receipt_builder_set_tool(b, "s", "t"), 0);
    cr_assert_eq(chio_receipt_builder_set_policy_hash(b, "p"), 0);
    cr_assert_eq(chio_receipt_builder_set_decision(b, CHIO_VERDICT_ALLOW, NULL, NULL), 0);
    cr_assert_eq(chio_receipt_builder_set_timestamp(b, 1700000000), 0);
    return b;
}

Test(rev32_api, receipt_builder_null_and_edge_arguments)
{
    chio_receipt_builder *b = allow_builder();
    chio_error err;

    RC(chio_receipt_builder_new(NULL), CHIO_EINVAL);
    chio_receipt_builder_free(NULL);
    RC(chio_receipt_builder_set_timestamp(NULL, 1), CHIO_EINVAL);
    RC(chio_receipt_builder_set_capability_id(NULL, "c"), CHIO_EINVAL);
    RC(chio_receipt_builder_set_capability_id(b, NULL), CHIO_EINVAL);
    RC(chio_receipt_builder_set_capability_id(b, "\xff"), CHIO_EINVAL);
    RC(chio_receipt_builder_set_tool(NULL, "s", "t"), CHIO_EINVAL);
    RC(chio_receipt_builder_set_tool(b, NULL, "t"), CHIO_EINVAL);
    RC(chio_receipt_builder_set_tool(b, "s", NULL), CHIO_EINVAL);
    RC(chio_receipt_builder_set_tool(b, "s", "\xc3"), CHIO_EINVAL);
    RC(chio_receipt_builder_set_policy_hash(NULL, "p"), CHIO_EINVAL);
    RC(chio_receipt_builder_set_policy_hash(b, NULL), CHIO_EINVAL);
    RC(chio_receipt_builder_set_policy_hash(b, "\xed\xa0\x80"), CHIO_EINVAL);
    RC(chio_receipt_builder_set_tenant_id(NULL, "t"), CHIO_EINVAL);
    RC(chio_receipt_builder_set_tenant_id(b, "\x80"), CHIO_EINVAL);
    RC(chio_receipt_builder_set_tenant_id(b, NULL), 0);
    ERC(chio_receipt_builder_set_parameters(NULL, "{}", 2, &err), CHIO_EINVAL);
    ERC(chio_receipt_builder_set_parameters(b, NULL, 2, &err), CHIO_EINVAL);
    ERC(chio_receipt_builder_set_parameters(b, "{}", SIZE_MAX, &err), CHIO_ETOOBIG);
    ERC(chio_receipt_builder_set_parameters(b, "{\"a\":\"\0\"}", 8, &err), CHIO_EJSON_CONTROL);
    ERC(chio_receipt_builder_set_output(NULL, "1", 1, &err), CHIO_EINVAL);
    ERC(chio_receipt_builder_set_output(b, "[", 1, &err), CHIO_EJSON_TRUNCATED);
    RC(chio_receipt_builder_set_content_hash(NULL, HASH64), CHIO_EINVAL);
    RC(chio_receipt_builder_set_content_hash(b, NULL), CHIO_EINVAL);
    RC(chio_receipt_builder_set_content_hash(b, ""), CHIO_EINVAL);
    RC(chio_receipt_builder_set_content_hash(b, "00"), CHIO_EINVAL);
    ERC(chio_receipt_builder_set_metadata(NULL, "{}", 2, &err), CHIO_EINVAL);
    ERC(chio_receipt_builder_set_metadata(b, NULL, 2, &err), CHIO_EINVAL);
    ERC(chio_receipt_builder_set_metadata(b, "[]", 2, &err), CHIO_EFORMAT);
    RC(chio_receipt_builder_set_decision(NULL, CHIO_VERDICT_ALLOW, NULL, NULL), CHIO_EINVAL);
    RC(chio_receipt_builder_set_decision(b, (chio_verdict)99, "r", "g"), CHIO_EINVAL);
    RC(chio_receipt_builder_set_decision(b, (chio_verdict)-1, NULL, NULL), CHIO_EINVAL);
    RC(chio_receipt_builder_set_decision(b, CHIO_VERDICT_DENY, NULL, "g"), CHIO_EINVAL);
    RC(chio_receipt_builder_set_decision(b, CHIO_VERDICT_DENY, "r", NULL), CHIO_EINVAL);
    RC(chio_receipt_builder_set_decision(b, CHIO_VERDICT_DENY, "\xff", "g"), CHIO_EINVAL);
    RC(chio_receipt_builder_set_decision(b, CHIO_VERDICT_ALLOW, "r", NULL), CHIO_EINVAL);
    RC(chio_receipt_builder_set_kind(NULL, CHIO_KIND_MEDIATED_DECISION), CHIO_EINVAL);
    RC(chio_receipt_builder_set_kind(b, (chio_receipt_kind)99), CHIO_EINVAL);
    RC(chio_receipt_builder_set_kind(b, (chio_receipt_kind)-1), CHIO_EINVAL);
    RC(chio_receipt_builder_set_boundary_class(NULL, CHIO_BOUNDARY_PREVENT), CHIO_EINVAL);
    RC(chio_receipt_builder_set_boundary_class(b, (chio_boundary_class)99), CHIO_EINVAL);
    RC(chio_receipt_builder_set_trust_level(NULL, CHIO_TRUST_MEDIATED), CHIO_EINVAL);
    RC(chio_receipt_builder_set_trust_level(b, (chio_trust_level)-5), CHIO_EINVAL);
    RC(chio_receipt_builder_set_observation_outcome(NULL, CHIO_OUTCOME_NONE), CHIO_EINVAL);
    RC(chio_receipt_builder_set_observation_outcome(b, (chio_observation_outcome)99), CHIO_EINVAL);
    RC(chio_receipt_builder_set_tool_origin(NULL, CHIO_ORIGIN_CALLER_EXECUTED), CHIO_EINVAL);
    RC(chio_receipt_builder_set_tool_origin(b, (chio_tool_origin)INT_MAX), CHIO_EINVAL);
    RC(chio_receipt_builder_set_redaction_mode(NULL, CHIO_REDACTION_NONE), CHIO_EINVAL);
    RC(chio_receipt_builder_set_redaction_mode(b, (chio_redaction_mode)INT_MIN), CHIO_EINVAL);
    RC(chio_receipt_builder_add_actor(NULL, "a", NULL), CHIO_EINVAL);
    RC(chio_receipt_builder_add_actor(b, NULL, "k"), CHIO_EINVAL);
    RC(chio_receipt_builder_add_actor(b, "a", "\xfe"), CHIO_EINVAL);
    RC(chio_receipt_builder_add_evidence(NULL, "g", 1, NULL), CHIO_EINVAL);
    RC(chio_receipt_builder_add_evidence(b, NULL, 1, NULL), CHIO_EINVAL);
    RC(chio_receipt_builder_add_evidence(b, "g", 1, "\xff"), CHIO_EINVAL);

    /* Every failed setter left the allow body as it was: it still signs. */
    chio_keypair *kp = key07();
    chio_receipt *r = NULL;
    ERC(chio_receipt_sign(NULL, kp, &r, &err), CHIO_EINVAL);
    ERC(chio_receipt_sign(b, NULL, &r, &err), CHIO_EINVAL);
    ERC(chio_receipt_sign(b, kp, NULL, &err), CHIO_EINVAL);
    cr_expect_null(r);
    ERC(chio_receipt_sign(b, kp, &r, &err), 0);
    cr_expect_eq(chio_receipt_verdict(r), CHIO_VERDICT_ALLOW);
    cr_expect_str_eq(chio_receipt_capability_id(r), "cap");
    chio_receipt_free(r);
    chio_receipt_builder_free(b);
    chio_keypair_free(kp);
}

Test(rev32_api, receipt_parse_read_and_verify_null_and_edge_arguments)
{
    chio_receipt_builder *b = allow_builder();
    chio_keypair *kp = key07();
    chio_receipt *r = NULL, *none = NULL;
    chio_receipt_report rep;
    chio_error err;
    uint8_t pub[32];
    char *out = NULL;
    size_t len = 0;

    cr_assert_eq(chio_receipt_sign(b, kp, &r, NULL), 0);
    const char *json = chio_receipt_json(r, &len);
    ERC(chio_receipt_parse(NULL, len, &none, &err), CHIO_EINVAL);
    ERC(chio_receipt_parse(json, len, NULL, &err), CHIO_EINVAL);
    ERC(chio_receipt_parse(json, SIZE_MAX, &none, &err), CHIO_ETOOBIG);
    ERC(chio_receipt_parse("", 0, &none, &err), CHIO_EJSON_TRUNCATED);
    ERC(chio_receipt_parse("{}", 2, &none, &err), CHIO_EFORMAT);
    cr_expect_null(none);
    ERC(chio_receipt_sign_json(NULL, 2, kp, &none, &err), CHIO_EINVAL);
    ERC(chio_receipt_sign_json(json, len, NULL, &none, &err), CHIO_EINVAL);
    ERC(chio_receipt_sign_json(json, len, kp, NULL, &err), CHIO_EINVAL);
    ERC(chio_receipt_sign_json("\"\xff\"", 3, kp, &none, &err), CHIO_EJSON_UTF8);
    cr_expect_null(none);

    chio_receipt_free(NULL);
    cr_expect_null(chio_receipt_json(NULL, &len));
    cr_expect_not_null(chio_receipt_json(r, NULL));
    cr_expect_null(chio_receipt_id(NULL));
    cr_expect_eq(chio_receipt_timestamp(NULL), 0);
    cr_expect_null(chio_receipt_capability_id(NULL));
    cr_expect_null(chio_receipt_tool_server(NULL));
    cr_expect_null(chio_receipt_tool_name(NULL));
    cr_expect_eq(chio_receipt_verdict(NULL), CHIO_VERDICT_NONE);
    cr_expect_null(chio_receipt_kernel_key_hex(NULL));
    cr_expect_null(chio_receipt_root(NULL));

    cr_assert_eq(chio_keypair_public_key(kp, pub), 0);
    RC(chio_receipt_verify(NULL, pub, 1, &rep), CHIO_EINVAL);
    RC(chio_receipt_verify(r, NULL, 1, &rep), CHIO_EINVAL);
    RC(chio_receipt_verify(r, pub, 1, NULL), CHIO_EINVAL);
    RC(chio_receipt_verify(r, NULL, 0, &rep), 0);
    cr_expect_eq(rep.signature_valid, 1);
    cr_expect_eq(rep.ok, 0);
    RC(chio_receipt_verify(r, pub, 1, &rep), 0);
    cr_expect_eq(rep.ok, 1);
    RC(chio_receipt_report_json(NULL, &out, &len), CHIO_EINVAL);
    RC(chio_receipt_report_json(&rep, NULL, &len), CHIO_EINVAL);
    RC(chio_receipt_report_json(&rep, &out, NULL), 0);
    cr_expect_not_null(out);
    chio_free(out);
    out = NULL;
    /* A report the library never filled (zeroed, or with an out-of-range
     * decision): its absent strings are JSON null, never read through. */
    chio_receipt_report zero;
    memset(&zero, 0, sizeof zero);
    RC(chio_receipt_report_json(&zero, &out, &len), 0);
    cr_expect_not_null(out);
    chio_free(out);
    out = NULL;
    /* Every byte of the caller's struct set, the key array with no NUL:
     * its 65 bytes are read, never the padding and tail after it. */
    memset(&zero, '#', sizeof zero);
    zero.decision = (chio_verdict)99;
    zero.decision_name = zero.receipt_kind = zero.boundary_class = NULL;
    zero.trust_level = zero.result = zero.id = NULL;
    memset(zero.signer_key_hex, 'x', sizeof zero.signer_key_hex);
    RC(chio_receipt_report_json(&zero, &out, &len), 0);
    cr_expect_null(strchr(out, '#'), "read past signer_key_hex: %s", out);
    chio_free(out);

    chio_receipt_free(r);
    chio_receipt_builder_free(b);
    chio_keypair_free(kp);
}

/* ---- capability --------------------------------------------------------------------- */

Test(rev32_api, capability_null_and_edge_arguments)
{
    chio_keypair *kp = key07();
    chio_capability *cap = NULL, *none = NULL;
    chio_capability_report rep;
    chio_error err;
    uint8_t pub[32];
    char *out = NULL;
    size_t len = 0;

    ERC(chio_capability_issue(NULL, "c", PUB07, SCOPE, strlen(SCOPE), 1, 10, &none, &err),
        CHIO_EINVAL);
    ERC(chio_capability_issue(kp, "c", NULL, SCOPE, strlen(SCOPE), 1, 10, &none, &err),
        CHIO_EINVAL);
    ERC(chio_capability_issue(kp, "c", PUB07, NULL, 5, 1, 10, &none, &err), CHIO_EINVAL);
    ERC(chio_capability_issue(kp, "c", PUB07, SCOPE, strlen(SCOPE), 1, 10, NULL, &err),
        CHIO_EINVAL);
    ERC(chio_capability_issue(kp, "c", "zz", SCOPE, strlen(SCOPE), 1, 10, &none, &err), CHIO_EKEY);
    ERC(chio_capability_issue(kp, "c", PUB07, SCOPE, SIZE_MAX, 1, 10, &none, &err), CHIO_ETOOBIG);
    ERC(chio_capability_issue(kp, "c", PUB07, SCOPE, strlen(SCOPE), 1, 0, &none, &err),
        CHIO_ERANGE);
    ERC(chio_capability_issue(kp, "c", PUB07, SCOPE, strlen(SCOPE), UINT64_MAX, 1, &none, &err),
        CHIO_ERANGE);
    ERC(chio_capability_issue(kp, "\xff", PUB07, SCOPE, strlen(SCOPE), 1, 10, &none, &err),
        CHIO_EINVAL);
    ERC(chio_capability_issue(kp, "c", PUB07, "[]", 2, 1, 10, &none, &err), CHIO_EFORMAT);
    cr_expect_null(none);
    ERC(chio_capability_issue(kp, "c", PUB07, SCOPE, strlen(SCOPE), 1, 10, &cap, &err), 0);

    const char *json = chio_capability_json(cap, &len);
    ERC(chio_capability_parse(NULL, len, &none, &err), CHIO_EINVAL);
    ERC(chio_capability_parse(json, len, NULL, &err), CHIO_EINVAL);
    ERC(chio_capability_parse(json, SIZE_MAX, &none, &err), CHIO_ETOOBIG);
    ERC(chio_capability_parse("", 0, &none, &err), CHIO_EJSON_TRUNCATED);
    ERC(chio_capability_parse("{}", 2, &none, &err), CHIO_EFORMAT);
    cr_expect_null(none);

    chio_capability_free(NULL);
    cr_expect_null(chio_capability_json(NULL, &len));
    cr_expect_not_null(chio_capability_json(cap, NULL));
    cr_expect_null(chio_capability_id(NULL));
    cr_expect_null(chio_capability_issuer_hex(NULL));
    cr_expect_null(chio_capability_subject_hex(NULL));
    cr_expect_eq(chio_capability_issued_at(NULL), 0);
    cr_expect_eq(chio_capability_expires_at(NULL), 0);
    cr_expect_eq(chio_capability_delegation_depth(NULL), 0);
    cr_expect_null(chio_capability_delegation_id(NULL, 0));
    cr_expect_null(chio_capability_delegation_id(cap, 0));
    cr_expect_null(chio_capability_delegation_id(cap, SIZE_MAX));
    cr_expect_null(chio_capability_unknown_field(NULL));
    cr_expect_null(chio_capability_root(NULL));

    cr_assert_eq(chio_keypair_public_key(kp, pub), 0);
    RC(chio_capability_verify(NULL, 5, pub, 1, -1, &rep), CHIO_EINVAL);
    RC(chio_capability_verify(cap, 5, NULL, 1, -1, &rep), CHIO_EINVAL);
    RC(chio_capability_verify(cap, 5, pub, 1, -1, NULL), CHIO_EINVAL);
    RC(chio_capability_verify(cap, UINT64_MAX, pub, 1, LONG_MIN, &rep), 0);
    cr_expect_eq(rep.time_status, CHIO_TIME_EXPIRED);
    RC(chio_capability_verify(cap, 5, pub, 1, -1, &rep), 0);
    cr_expect_eq(rep.ok, 1);
    RC(chio_capability_report_json(NULL, &out, &len), CHIO_EINVAL);
    RC(chio_capability_report_json(&rep, NULL, &len), CHIO_EINVAL);
    RC(chio_capability_report_json(&rep, &out, NULL), 0);
    chio_free(out);
    out = NULL;
    /* A report the library never filled: NULL strings, a time status out
     * of range. Defined output, nothing read through NULL. */
    chio_capability_report zero;
    memset(&zero, 0, sizeof zero);
    RC(chio_capability_report_json(&zero, &out, &len), 0);
    chio_free(out);
    out = NULL;
    zero.time_status = (chio_time_status)77;
    RC(chio_capability_report_json(&zero, &out, &len), 0);
    chio_free(out);
    out = NULL;
    /* Its text fields are escaped: the output stays one JSON object. */
    zero.id = "i\"d";
    zero.time_status_name = "x\",\"ok\":true,\"y\":\"";
    RC(chio_capability_report_json(&zero, &out, &len), 0);
    chio_json_doc *doc = NULL;
    RC(chio_json_parse(out, len, &doc, NULL), 0);
    cr_expect_str_eq(chio_json_string(chio_json_get(chio_json_root(doc), "time_status"), NULL),
                     zero.time_status_name);
    cr_expect_eq(chio_json_typeof(chio_json_get(chio_json_root(doc), "ok")), CHIO_JSON_BOOL);
    chio_json_doc_free(doc);
    chio_free(out);

    chio_capability_free(cap);
    chio_keypair_free(kp);
}

/* ---- checkpoint ---------------------------------------------------------------------- */

Test(rev32_api, checkpoint_null_and_edge_arguments)
{
    chio_keypair *kp = key07();
    chio_checkpoint *cp = NULL, *none = NULL;
    chio_error err;
    uint8_t root[32];
    size_t len = 0;

    memset(root, 0x11, sizeof root);
    ERC(chio_checkpoint_sign(NULL, 1, 1, 1, root, 5, NULL, &none, &err), CHIO_EINVAL);
    ERC(chio_checkpoint_sign(kp, 1, 1, 1, NULL, 5, NULL, &none, &err), CHIO_EINVAL);
    ERC(chio_checkpoint_sign(kp, 1, 1, 1, root, 5, NULL, NULL, &err), CHIO_EINVAL);
    ERC(chio_checkpoint_sign(kp, 1, 2, 1, root, 5, NULL, &none, &err), CHIO_EINVAL);
    ERC(chio_checkpoint_sign(kp, 1, 1, 1, root, 5, "\xff", &none, &err), CHIO_EINVAL);
    ERC(chio_checkpoint_sign(kp, 1, 1, 1, root, 5, "", &none, &err), CHIO_EINVAL);
    /* 64 characters that are not a sha256_hex: the body quotes the value as
     * written, so the quote put a field of the caller's ("q") into the
     * signed body (and the old code signed it). */
    static const char inject[] =
        "000000000000000000000000000000000000000000000\",\"q\":\"000000000000";
    cr_assert_eq(strlen(inject), 64);
    ERC(chio_checkpoint_sign(kp, 2, 1, 1, root, 5, inject, &none, &err), CHIO_EINVAL);
    ERC(chio_checkpoint_sign(kp, 2, 1, 1, root, 5,
                             "ABCDEF0000000000000000000000000000000000000000000000000000000000",
                             &none, &err),
        CHIO_EINVAL);
    cr_expect_null(none);
    ERC(chio_checkpoint_sign(kp, 2, 1, 1, root, 5, HASH64, &cp, &err), 0);

    const char *json = chio_checkpoint_json(cp, &len);
    ERC(chio_checkpoint_parse(NULL, len, &none, &err), CHIO_EINVAL);
    ERC(chio_checkpoint_parse(json, len, NULL, &err), CHIO_EINVAL);
    ERC(chio_checkpoint_parse(json, SIZE_MAX, &none, &err), CHIO_ETOOBIG);
    ERC(chio_checkpoint_parse("{}", 2, &none, &err), CHIO_EFORMAT);
    cr_expect_null(none);

    chio_checkpoint_free(NULL);
    cr_expect_eq(chio_checkpoint_seq(NULL), 0);
    cr_expect_eq(chio_checkpoint_batch_start(NULL), 0);
    cr_expect_eq(chio_checkpoint_batch_end(NULL), 0);
    cr_expect_eq(chio_checkpoint_tree_size(NULL), 0);
    cr_expect_eq(chio_checkpoint_issued_at(NULL), 0);
    cr_expect_null(chio_checkpoint_merkle_root(NULL));
    cr_expect_null(chio_checkpoint_kernel_key_hex(NULL));
    cr_expect_null(chio_checkpoint_previous_sha256(NULL));
    cr_expect_null(chio_checkpoint_body_sha256(NULL));
    cr_expect_null(chio_checkpoint_json(NULL, &len));
    cr_expect_not_null(chio_checkpoint_json(cp, NULL));
    RC(chio_checkpoint_verify(NULL), CHIO_EINVAL);
    RC(chio_checkpoint_verify(cp), 0);

    chio_inclusion_proof p, q;
    char *out = NULL;
    memset(&p, 0, sizeof p);
    p.checkpoint_seq = 2;
    p.receipt_seq = 1;
    p.proof.tree_size = 1;
    RC(chio_inclusion_proof_json(NULL, &out, &len), CHIO_EINVAL);
    RC(chio_inclusion_proof_json(&p, NULL, &len), CHIO_EINVAL);
    RC(chio_inclusion_proof_json(&p, &out, NULL), 0);
    ERC(chio_inclusion_proof_parse(NULL, 2, &q, &err), CHIO_EINVAL);
    ERC(chio_inclusion_proof_parse(out, strlen(out), NULL, &err), CHIO_EINVAL);
    ERC(chio_inclusion_proof_parse(out, SIZE_MAX, &q, &err), CHIO_ETOOBIG);
    ERC(chio_inclusion_proof_parse("{}", 2, &q, &err), CHIO_EFORMAT);
    ERC(chio_inclusion_proof_parse(out, strlen(out), &q, &err), 0);
    chio_free(out);
    out = NULL;
    /* A caller-filled proof whose path is longer than its array: refused
     * (rendering or checking it would read past the struct). */
    p.proof.path_len = CHIO_MERKLE_MAX_PATH + 1;
    RC(chio_inclusion_proof_json(&p, &out, &len), CHIO_EINVAL);
    cr_expect_null(out);
    p.proof.path_len = SIZE_MAX;
    RC(chio_inclusion_proof_json(&p, &out, &len), CHIO_EINVAL);
    RC(chio_inclusion_proof_verify(&p, "1", 1), CHIO_EPROOF);
    RC(chio_inclusion_proof_verify(NULL, "1", 1), CHIO_EINVAL);
    RC(chio_inclusion_proof_verify(&q, NULL, 1), CHIO_EINVAL);
    RC(chio_inclusion_proof_verify(&q, "1", SIZE_MAX), CHIO_ETOOBIG);
    RC(chio_inclusion_proof_verify(&q, "\"\xff\"", 3), CHIO_EJSON_UTF8);

    chio_checkpoint_free(cp);
    chio_keypair_free(kp);
}

/* ---- outputs on failure ------------------------------------------------------------- */

/* Style rule 5: an out-parameter is NULL after every failure, also when
 * the failure is a NULL input, so a host that frees it on every path
 * never frees what it had put there. */
Test(rev32_api, every_output_pointer_is_null_after_a_failure)
{
    char *o = (char *)1;
    size_t l;

    RC(chio_receipt_report_json(NULL, &o, &l), CHIO_EINVAL);
    cr_expect_null(o, "chio_receipt_report_json");
    o = (char *)1;
    RC(chio_capability_report_json(NULL, &o, &l), CHIO_EINVAL);
    cr_expect_null(o, "chio_capability_report_json");
    o = (char *)1;
    RC(chio_inclusion_proof_json(NULL, &o, &l), CHIO_EINVAL);
    cr_expect_null(o, "chio_inclusion_proof_json");
    o = (char *)1;
    RC(chio_json_write_canonical(NULL, &o, &l), CHIO_EINVAL);
    cr_expect_null(o, "chio_json_write_canonical");
}
