/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/model/test_receipt.c - receipts against the upstream vectors (every
 * report field of every case; byte-identical re-signing), the builder, the
 * semantic rules, tampering, normalisation and malformed input.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/receipt.h"
#include "common/testutil.h"

#define SEED07 "0707070707070707070707070707070707070707070707070707070707070707"
#define PUB07  "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"

static chio_json_doc *vectors;

static const chio_json *vector_case(const char *id)
{
    const chio_json *cases;
    size_t i;

    if (vectors == NULL)
        vectors = testutil_load_vectors("chio-receipt-v1.json");
    cases = chio_json_get(chio_json_root(vectors), "cases");
    for (i = 0; i < chio_json_size(cases); i++) {
        const chio_json *c = chio_json_at(cases, i);
        if (strcmp(chio_json_string(chio_json_get(c, "id"), NULL), id) == 0)
            return c;
    }
    cr_assert_fail("no vector case %s", id);
    return NULL;
}

static char *to_text(const chio_json *v, size_t *len)
{
    char *out;
    cr_assert_eq(chio_json_write_canonical(v, &out, len), 0);
    return out;
}

static chio_keypair *kp07(void)
{
    chio_keypair *kp;
    cr_assert_eq(chio_keypair_from_seed_hex(SEED07, 64, &kp, NULL), 0);
    return kp;
}

static chio_receipt *parse_ok(const char *text, size_t len)
{
    chio_receipt *r = NULL;
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_receipt_parse(text, len, &r, &err), 0, "parse: %s", err.message);
    return r;
}

static chio_receipt_report verify(const chio_receipt *r, const char *trusted_hex)
{
    chio_receipt_report rep;
    uint8_t key[32];

    if (trusted_hex) {
        cr_assert_eq(chio_pubkey_from_hex(trusted_hex, strlen(trusted_hex), key), 0);
        cr_assert_eq(chio_receipt_verify(r, key, 1, &rep), 0);
    } else {
        cr_assert_eq(chio_receipt_verify(r, NULL, 0, &rep), 0);
    }
    return rep;
}

static void free_vectors(void)
{
    chio_json_doc_free(vectors);
    vectors = NULL;
}

TestSuite(receipt_vectors, .fini = free_vectors);

Test(receipt_vectors, every_case_gives_the_expected_report)
{
    const chio_json *cases;
    size_t i, n, passed = 0;

    vectors = testutil_load_vectors("chio-receipt-v1.json");
    cases = chio_json_get(chio_json_root(vectors), "cases");
    n = chio_json_size(cases);
    cr_assert_eq(n, 5);
    for (i = 0; i < n; i++) {
        const chio_json *c = chio_json_at(cases, i);
        const chio_json *want = chio_json_get(c, "expected");
        const char *id = chio_json_string(chio_json_get(c, "id"), NULL);
        size_t len, k, bad = 0;
        char *text = to_text(chio_json_get(c, "receipt"), &len), *got_text;
        chio_receipt *r = parse_ok(text, len);
        chio_receipt_report rep = verify(r, NULL);
        chio_json_doc *got;

        cr_assert_eq(chio_receipt_report_json(&rep, &got_text, &len), 0);
        cr_assert_eq(chio_json_parse(got_text, len, &got, NULL), 0);
        /* Compare every expected field by its canonical bytes. */
        for (k = 0; k < chio_json_size(want); k++) {
            const char *key = chio_json_key_at(want, k, NULL);
            const chio_json *g = chio_json_get(chio_json_root(got), key);
            size_t l1, l2;
            char *w1 = to_text(chio_json_at(want, k), &l1);
            char *g1 = g ? to_text(g, &l2) : NULL;
            if (g1 == NULL || l1 != l2 || memcmp(w1, g1, l1) != 0) {
                bad++;
                cr_expect_fail("%s: field %s: got %s want %s", id, key, g1 ? g1 : "(absent)", w1);
            }
            free(w1);
            free(g1);
        }
        cr_expect_eq(chio_json_size(want), 12, "expected report has 12 fields");
        if (bad == 0)
            passed++;
        chio_json_doc_free(got);
        free(got_text);
        chio_receipt_free(r);
        free(text);
    }
    fprintf(stderr, "receipt vectors: %zu/%zu cases passed\n", passed, n);
    cr_assert_eq(passed, n);
}

static void resign_matches(const char *case_id)
{
    const chio_json *c = vector_case(case_id);
    const chio_json *orig = chio_json_get(c, "receipt");
    chio_keypair *kp = kp07();
    chio_receipt *r = NULL;
    chio_error err;
    size_t len, olen, glen;
    char *text = to_text(orig, &len);
    const char *got;

    chio_error_init(&err);
    cr_assert_eq(chio_receipt_sign_json(text, len, kp, &r, &err), 0, "%s: %s", case_id,
                 err.message);
    cr_expect_str_eq(chio_receipt_id(r), chio_json_string(chio_json_get(orig, "id"), NULL));
    cr_expect_str_eq(chio_json_string(chio_json_get(chio_receipt_root(r), "signature"), NULL),
                     chio_json_string(chio_json_get(orig, "signature"), NULL));
    got = chio_receipt_json(r, &glen);
    cr_expect_eq(glen, len);
    cr_expect_eq(memcmp(got, text, len), 0, "%s: re-signed bytes differ", case_id);
    (void)olen;
    chio_receipt_free(r);
    chio_keypair_free(kp);
    free(text);
}

Test(receipt_vectors, resigning_allow_reproduces_signature)
{
    resign_matches("allow_receipt");
}

Test(receipt_vectors, resigning_deny_reproduces_signature)
{
    resign_matches("deny_receipt");
}

Test(receipt_vectors, resigning_trace_reproduces_signature)
{
    resign_matches("trace_observation_receipt");
}

Test(receipt_vectors, trusted_signer_makes_allow_authorized)
{
    size_t len;
    char *text = to_text(chio_json_get(vector_case("allow_receipt"), "receipt"), &len);
    chio_receipt *r = parse_ok(text, len);
    chio_receipt_report rep = verify(r, PUB07);

    cr_expect(rep.signer_trusted);
    cr_expect(rep.ok);
    cr_expect(rep.authorized);
    cr_expect_str_eq(rep.result, "Authorized");
    rep = verify(r, "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a");
    cr_expect_not(rep.signer_trusted);
    cr_expect_not(rep.ok);
    chio_receipt_free(r);
    free(text);
}

Test(receipt_vectors, builder_reproduces_allow_vector)
{
    const chio_json *orig = chio_json_get(vector_case("allow_receipt"), "receipt");
    chio_receipt_builder *b;
    chio_keypair *kp = kp07();
    chio_receipt *r = NULL;
    chio_error err;
    const char *params = "{\"path\":\"/workspace/docs/roadmap.md\",\"mode\":\"read\"}";
    const char *meta = "{\"version\":1,\"surface\":\"bindings-vectors\"}";

    chio_error_init(&err);
    cr_assert_eq(chio_receipt_builder_new(&b), 0);
    cr_assert_eq(chio_receipt_builder_set_timestamp(b, 1710000200), 0);
    cr_assert_eq(chio_receipt_builder_set_capability_id(b, "cap-bindings-001"), 0);
    cr_assert_eq(chio_receipt_builder_set_tool(b, "srv-files", "file_read"), 0);
    cr_assert_eq(chio_receipt_builder_set_parameters(b, params, strlen(params), &err), 0);
    cr_assert_eq(chio_receipt_builder_set_decision(b, CHIO_VERDICT_ALLOW, NULL, NULL), 0);
    cr_assert_eq(chio_receipt_builder_set_content_hash(
                     b, "4062edaf750fb8074e7e83e0c9028c94e32468a8b6f1614774328ef045150f93"),
                 0);
    cr_assert_eq(chio_receipt_builder_set_policy_hash(b, "policy-bindings-v1"), 0);
    cr_assert_eq(chio_receipt_builder_add_evidence(b, "ForbiddenPathGuard", 1, "path allowed"), 0);
    cr_assert_eq(chio_receipt_builder_add_evidence(b, "SecretLeakGuard", 1, "no secrets detected"),
                 0);
    cr_assert_eq(chio_receipt_builder_set_metadata(b, meta, strlen(meta), &err), 0);
    cr_assert_eq(chio_receipt_sign(b, kp, &r, &err), 0, "%s", err.message);
    cr_expect_str_eq(chio_receipt_id(r), chio_json_string(chio_json_get(orig, "id"), NULL));
    cr_expect_str_eq(chio_json_string(chio_json_get(chio_receipt_root(r), "signature"), NULL),
                     chio_json_string(chio_json_get(orig, "signature"), NULL));
    chio_receipt_free(r);
    chio_receipt_builder_free(b);
    chio_keypair_free(kp);
}

static chio_receipt_builder *basic_builder(void)
{
    chio_receipt_builder *b;

    cr_assert_eq(chio_receipt_builder_new(&b), 0);
    cr_assert_eq(chio_receipt_builder_set_timestamp(b, 1700000000), 0);
    cr_assert_eq(chio_receipt_builder_set_capability_id(b, "cap-1"), 0);
    cr_assert_eq(chio_receipt_builder_set_tool(b, "srv", "tool"), 0);
    cr_assert_eq(chio_receipt_builder_set_policy_hash(b, "p"), 0);
    return b;
}

static int sign_code(chio_receipt_builder *b)
{
    chio_keypair *kp = kp07();
    chio_receipt *r = NULL;
    chio_error err;
    int rc;

    chio_error_init(&err);
    rc = chio_receipt_sign(b, kp, &r, &err);
    if (rc != 0) {
        cr_expect_null(r);
        cr_expect_neq(err.message[0], '\0');
    }
    chio_receipt_free(r);
    chio_keypair_free(kp);
    return rc;
}

Test(receipt_builder, semantic_rules_enforced_before_signing)
{
    chio_receipt_builder *b = basic_builder();

    /* mediated without a decision */
    cr_expect_eq(sign_code(b), CHIO_ESEMANTIC);
    cr_assert_eq(chio_receipt_builder_set_decision(b, CHIO_VERDICT_DENY, "no", "G"), 0);
    cr_expect_eq(sign_code(b), 0);
    /* cannot_see is never signable */
    cr_assert_eq(chio_receipt_builder_set_boundary_class(b, CHIO_BOUNDARY_CANNOT_SEE), 0);
    cr_expect_eq(sign_code(b), CHIO_ESEMANTIC);
    cr_assert_eq(chio_receipt_builder_set_boundary_class(b, CHIO_BOUNDARY_PREVENT), 0);
    /* wrong trust level */
    cr_assert_eq(chio_receipt_builder_set_trust_level(b, CHIO_TRUST_VERIFIED), 0);
    cr_expect_eq(sign_code(b), CHIO_ESEMANTIC);
    /* trace with a decision */
    cr_assert_eq(chio_receipt_builder_set_kind(b, CHIO_KIND_TRACE_OBSERVATION), 0);
    cr_expect_eq(sign_code(b), CHIO_ESEMANTIC);
    cr_assert_eq(chio_receipt_builder_set_decision(b, CHIO_VERDICT_NONE, NULL, NULL), 0);
    cr_expect_eq(sign_code(b), 0);
    /* trace without an outcome */
    cr_assert_eq(chio_receipt_builder_set_observation_outcome(b, CHIO_OUTCOME_NONE), 0);
    cr_expect_eq(sign_code(b), CHIO_ESEMANTIC);
    /* advisory */
    cr_assert_eq(chio_receipt_builder_set_kind(b, CHIO_KIND_ADVISORY_EVALUATION), 0);
    cr_expect_eq(sign_code(b), 0);
    cr_assert_eq(chio_receipt_builder_set_boundary_class(b, CHIO_BOUNDARY_DETECT_ONLY), 0);
    cr_expect_eq(sign_code(b), CHIO_ESEMANTIC);
    chio_receipt_builder_free(b);
}

Test(receipt_builder, rejects_bad_arguments)
{
    chio_receipt_builder *b = basic_builder();
    chio_error err;

    chio_error_init(&err);
    cr_expect_eq(chio_receipt_builder_set_decision(b, CHIO_VERDICT_DENY, "reason", NULL),
                 CHIO_EINVAL);
    cr_expect_eq(chio_receipt_builder_set_decision(b, CHIO_VERDICT_ALLOW, "x", NULL), CHIO_EINVAL);
    cr_expect_eq(chio_receipt_builder_set_decision(b, (chio_verdict)99, NULL, NULL), CHIO_EINVAL);
    cr_expect_eq(chio_receipt_builder_set_capability_id(b, "bad\xff"), CHIO_EINVAL);
    cr_expect_eq(chio_receipt_builder_set_capability_id(b, NULL), CHIO_EINVAL);
    cr_expect_eq(chio_receipt_builder_set_content_hash(b, "ABC"), CHIO_EINVAL);
    cr_expect_eq(chio_receipt_builder_set_parameters(b, "{\"a\":", 5, &err), CHIO_EJSON_TRUNCATED);
    cr_expect_eq(chio_receipt_builder_set_metadata(b, "[1]", 3, &err), CHIO_EFORMAT);
    cr_expect_eq(chio_receipt_builder_set_kind(b, (chio_receipt_kind)7), CHIO_EINVAL);
    cr_expect_eq(chio_receipt_builder_set_timestamp(NULL, 1), CHIO_EINVAL);
    chio_receipt_builder_free(b);
}

Test(receipt_builder, signed_receipt_verifies_and_hashes_output)
{
    chio_receipt_builder *b = basic_builder();
    chio_keypair *kp = kp07();
    chio_receipt *r;
    chio_receipt_report rep;
    const char *out = "{\"b\":2,\"a\":1}";
    char want[65];
    size_t len;

    cr_assert_eq(chio_receipt_builder_set_decision(b, CHIO_VERDICT_ALLOW, NULL, NULL), 0);
    cr_assert_eq(chio_receipt_builder_set_output(b, out, strlen(out), NULL), 0);
    cr_assert_eq(chio_receipt_builder_add_actor(b, "agent-1", NULL), 0);
    cr_assert_eq(chio_receipt_builder_set_tenant_id(b, "t1"), 0);
    cr_assert_eq(chio_receipt_sign(b, kp, &r, NULL), 0);
    rep = verify(r, PUB07);
    cr_expect(rep.signature_valid && rep.receipt_id_valid && rep.parameter_hash_valid && rep.ok);
    chio_sha256_hex("{\"a\":1,\"b\":2}", 13, want);
    cr_expect_str_eq(chio_json_string(chio_json_get(chio_receipt_root(r), "content_hash"), NULL),
                     want);
    /* the stored form parses back to identical bytes */
    const char *text = chio_receipt_json(r, &len);
    chio_receipt *again = parse_ok(text, len);
    size_t len2;
    cr_expect_eq(memcmp(chio_receipt_json(again, &len2), text, len), 0);
    cr_expect_eq(len, len2);
    cr_expect_str_eq(chio_receipt_kernel_key_hex(again), PUB07);
    cr_expect_eq(chio_receipt_timestamp(again), 1700000000);
    cr_expect_eq(chio_receipt_verdict(again), CHIO_VERDICT_ALLOW);
    cr_expect_str_eq(chio_receipt_tool_server(again), "srv");
    chio_receipt_free(again);
    chio_receipt_free(r);
    chio_receipt_builder_free(b);
    chio_keypair_free(kp);
}

/* Sign a good receipt, then apply a textual substitution and verify. */
static chio_receipt_report tampered(const char *from, const char *to)
{
    chio_receipt_builder *b = basic_builder();
    chio_keypair *kp = kp07();
    chio_receipt *r, *t;
    chio_receipt_report rep;
    size_t len;
    char *copy, *at, *out;

    cr_assert_eq(chio_receipt_builder_set_decision(b, CHIO_VERDICT_ALLOW, NULL, NULL), 0);
    cr_assert_eq(chio_receipt_builder_set_parameters(b, "{\"path\":\"/a\"}", 13, NULL), 0);
    cr_assert_eq(chio_receipt_sign(b, kp, &r, NULL), 0);
    copy = strdup(chio_receipt_json(r, &len));
    at = strstr(copy, from);
    cr_assert_not_null(at, "%s not in %s", from, copy);
    cr_assert_geq(asprintf(&out, "%.*s%s%s", (int)(at - copy), copy, to, at + strlen(from)), 0);
    /* "!" marks "flip the next hex digit" */
    char *bang = strchr(out, '!');
    if (bang != NULL) {
        memmove(bang, bang + 1, strlen(bang));
        *bang = *bang == '0' ? '1' : '0';
    }
    t = parse_ok(out, strlen(out));
    rep = verify(t, PUB07);
    chio_receipt_free(t);
    chio_receipt_free(r);
    free(copy);
    free(out);
    chio_receipt_builder_free(b);
    chio_keypair_free(kp);
    return rep;
}

Test(receipt_verify, tampering_is_detected)
{
    chio_receipt_report rep;

    rep = tampered("\"timestamp\":1700000000", "\"timestamp\":1700000001");
    cr_expect_not(rep.receipt_id_valid);
    cr_expect_not(rep.signature_valid);
    cr_expect(rep.parameter_hash_valid);
    cr_expect_not(rep.ok);

    rep = tampered("\"path\":\"/a\"", "\"path\":\"/b\"");
    cr_expect_not(rep.parameter_hash_valid);
    cr_expect_not(rep.receipt_id_valid);

    rep = tampered("\"verdict\":\"allow\"}", "\"verdict\":\"allow\"},\"zz_extra\":1");
    cr_expect_not(rep.receipt_id_valid, "an added field must break the id");
    cr_expect_not(rep.signature_valid);

    /* Same body and id, one signature digit changed. */
    rep = tampered("\"signature\":\"", "\"signature\":\"!");
    cr_expect(rep.receipt_id_valid);
    cr_expect_not(rep.signature_valid);
    cr_expect_not(rep.ok);
}

Test(receipt_verify, semantic_violation_fails_signature_check)
{
    chio_receipt_report rep =
        tampered("\"trust_level\":\"mediated\"", "\"trust_level\":\"verified\"");

    cr_expect_not(rep.signature_valid);
    cr_expect_not(rep.receipt_id_valid);
}

Test(receipt_verify, nulls_and_empty_lists_are_absent)
{
    size_t len;
    char *text = to_text(chio_json_get(vector_case("allow_receipt"), "receipt"), &len);
    char *mod;
    chio_receipt *r;
    chio_receipt_report rep;

    /* insert optional fields as null / empty right after the opening brace */
    cr_assert_geq(asprintf(&mod,
                           "{\"tenant_id\":null,\"actor_chain\":[],\"observation_outcome\":null,%s",
                           text + 1),
                  0);
    r = parse_ok(mod, strlen(mod));
    rep = verify(r, PUB07);
    cr_expect(rep.ok, "null optionals must be treated as absent");
    cr_expect_eq(chio_receipt_json(r, NULL) != NULL, 1);
    cr_expect_null(strstr(chio_receipt_json(r, NULL), "tenant_id"));
    chio_receipt_free(r);
    free(mod);

    /* an uppercase kernel key is normalised like chio does */
    mod = strdup(text);
    char *k = strstr(mod, PUB07);
    cr_assert_not_null(k);
    for (size_t i = 0; i < 64; i++)
        if (k[i] >= 'a' && k[i] <= 'f')
            k[i] = (char)(k[i] - 'a' + 'A');
    r = parse_ok(mod, strlen(mod));
    rep = verify(r, PUB07);
    cr_expect(rep.ok, "uppercase kernel_key must verify");
    chio_receipt_free(r);
    free(mod);
    free(text);
}

static void parse_fails(const char *from, const char *to, int code)
{
    size_t len;
    char *text = to_text(chio_json_get(vector_case("allow_receipt"), "receipt"), &len);
    char *at = strstr(text, from), *mod;
    chio_receipt *r = (chio_receipt *)1;
    chio_error err;
    int rc;

    cr_assert_not_null(at, "%s not found", from);
    cr_assert_geq(asprintf(&mod, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from)), 0);
    chio_error_init(&err);
    rc = chio_receipt_parse(mod, strlen(mod), &r, &err);
    cr_expect_eq(rc, code, "[%s -> %s]: got %s (%s)", from, to, chio_err_name(rc), err.message);
    cr_expect_null(r);
    cr_expect_neq(err.message[0], '\0');
    free(mod);
    free(text);
}

Test(receipt_parse, malformed_receipts_get_codes)
{
    parse_fails("\"timestamp\":1710000200", "\"timestamp\":-1", CHIO_EFORMAT);
    parse_fails("\"timestamp\":1710000200", "\"timestamp\":1.5", CHIO_EFORMAT);
    parse_fails("\"timestamp\":1710000200", "\"timestamp\":18446744073709551616", CHIO_EFORMAT);
    parse_fails("\"timestamp\":1710000200", "\"timestamp\":\"1710000200\"", CHIO_EFORMAT);
    parse_fails("\"timestamp\":1710000200,", "", CHIO_EFORMAT);
    parse_fails("\"receipt_kind\":\"mediated_decision\"", "\"receipt_kind\":\"bogus\"",
                CHIO_EFORMAT);
    parse_fails("\"kernel_key\":\"ea4a", "\"kernel_key\":\"", CHIO_EKEY);
    parse_fails("\"kernel_key\":\"ea", "\"kernel_key\":\"zz", CHIO_EKEY);
    parse_fails("\"signature\":\"27", "\"signature\":\"", CHIO_ESIGFORMAT);
    parse_fails("\"signature\":\"27", "\"signature\":\"2700", CHIO_ESIGFORMAT);
    parse_fails("\"signature\":\"27", "\"signature\":\"x7", CHIO_ESIGFORMAT);
    parse_fails("\"verdict\":\"allow\"", "\"verdict\":\"maybe\"", CHIO_EFORMAT);
    parse_fails("\"verdict\":true", "\"verdict\":\"yes\"", CHIO_EFORMAT);
    parse_fails("\"capability_id\":\"cap-bindings-001\"", "\"capability_id\":\"a\\u0000b\"",
                CHIO_EFORMAT);
    parse_fails("{\"action\"", "{\"action\":1,\"action\"", CHIO_EJSON_DUPKEY);
    parse_fails("\"evidence\":[", "\"evidence\":[1,", CHIO_EFORMAT);
}

Test(receipt_parse, not_json_or_not_object)
{
    chio_receipt *r;
    chio_error err;

    chio_error_init(&err);
    cr_expect_eq(chio_receipt_parse("[]", 2, &r, &err), CHIO_EFORMAT);
    cr_expect_eq(chio_receipt_parse("{", 1, &r, &err), CHIO_EJSON_TRUNCATED);
    cr_expect_eq(chio_receipt_parse("\"\xff\"", 3, &r, &err), CHIO_EJSON_UTF8);
    cr_expect_eq(chio_receipt_parse("{}", 2, NULL, &err), CHIO_EINVAL);
}

Test(receipt_sign_json, refuses_bad_bodies)
{
    size_t len;
    char *text = to_text(chio_json_get(vector_case("allow_receipt"), "receipt"), &len);
    chio_keypair *kp = kp07();
    chio_receipt *r = NULL;
    chio_error err;
    char *mod;

    chio_error_init(&err);
    /* unknown field */
    cr_assert_geq(asprintf(&mod, "{\"extra\":1,%s", text + 1), 0);
    cr_expect_eq(chio_receipt_sign_json(mod, strlen(mod), kp, &r, &err), CHIO_EFORMAT);
    cr_expect(strstr(err.message, "extra") != NULL, "%s", err.message);
    free(mod);
    /* mismatched parameter hash */
    mod = strdup(text);
    memcpy(strstr(mod, "035350b0"), "00000000", 8);
    cr_expect_eq(chio_receipt_sign_json(mod, strlen(mod), kp, &r, &err), CHIO_EHASH);
    free(mod);
    /* semantic rule: trace with a decision */
    mod = strdup(text);
    char *k = strstr(mod, "mediated_decision");
    cr_assert_geq(asprintf(&k, "%.*strace_observation%s", (int)(k - mod), mod,
                           k + strlen("mediated_decision")),
                  0);
    cr_expect_eq(chio_receipt_sign_json(k, strlen(k), kp, &r, &err), CHIO_ESEMANTIC);
    free(k);
    free(mod);
    cr_expect_null(r);
    chio_keypair_free(kp);
    free(text);
}

Test(receipt_sign_json, computes_missing_parameter_hash)
{
    const char *body =
        "{\"timestamp\":1,\"capability_id\":\"c\",\"tool_server\":\"s\",\"tool_name\":\"t\","
        "\"action\":{\"parameters\":{\"x\":[1,2]}},\"decision\":{\"verdict\":\"allow\"},"
        "\"receipt_kind\":\"mediated_decision\",\"boundary_class\":\"prevent\","
        "\"tool_origin\":\"caller_executed\",\"redaction_mode\":\"none\",\"content_hash\":\"h\","
        "\"policy_hash\":\"p\",\"trust_level\":\"mediated\",\"id\":\"junk\",\"signature\":\"junk\","
        "\"kernel_key\":\"junk\"}";
    chio_keypair *kp = kp07();
    chio_receipt *r;
    chio_error err;
    char want[65];

    chio_error_init(&err);
    cr_assert_eq(chio_receipt_sign_json(body, strlen(body), kp, &r, &err), 0, "%s", err.message);
    chio_sha256_hex("{\"x\":[1,2]}", 11, want);
    cr_expect_str_eq(
        chio_json_string(
            chio_json_get(chio_json_get(chio_receipt_root(r), "action"), "parameter_hash"), NULL),
        want);
    cr_expect_str_eq(chio_receipt_kernel_key_hex(r), PUB07);
    chio_receipt_report rep = verify(r, PUB07);
    cr_expect(rep.ok);
    chio_receipt_free(r);
    chio_keypair_free(kp);
}

Test(receipt_sign_json, fills_documented_defaults)
{
    const char *body = "{\"timestamp\":5,\"capability_id\":\"c\",\"tool_server\":\"s\","
                       "\"tool_name\":\"t\",\"action\":{\"parameters\":{}},"
                       "\"decision\":{\"verdict\":\"allow\"},\"policy_hash\":\"p\","
                       "\"tool_origin\":null}";
    chio_keypair *kp = kp07();
    chio_receipt *r;
    chio_error err;
    const char *json;

    chio_error_init(&err);
    cr_assert_eq(chio_receipt_sign_json(body, strlen(body), kp, &r, &err), 0, "%s", err.message);
    json = chio_receipt_json(r, NULL);
    cr_expect(strstr(json, "\"receipt_kind\":\"mediated_decision\"") != NULL);
    cr_expect(strstr(json, "\"boundary_class\":\"prevent\"") != NULL);
    cr_expect(strstr(json, "\"tool_origin\":\"caller_executed\"") != NULL);
    cr_expect(strstr(json, "\"redaction_mode\":\"none\"") != NULL);
    cr_expect(strstr(json, "\"trust_level\":\"mediated\"") != NULL);
    cr_expect(strstr(json, "\"content_hash\":\"74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c01"
                           "9892f982b90b\"") != NULL);
    chio_receipt_report rep = verify(r, PUB07);
    cr_expect(rep.ok);
    chio_receipt_free(r);
    /* facts of the call have no default */
    const char *no_ts = "{\"capability_id\":\"c\",\"tool_server\":\"s\",\"tool_name\":\"t\","
                        "\"action\":{\"parameters\":{}},\"decision\":{\"verdict\":\"allow\"},"
                        "\"policy_hash\":\"p\"}";
    cr_expect_eq(chio_receipt_sign_json(no_ts, strlen(no_ts), kp, &r, &err), CHIO_EFORMAT);
    cr_expect(strstr(err.message, "timestamp") != NULL, "%s", err.message);
    chio_keypair_free(kp);
}
