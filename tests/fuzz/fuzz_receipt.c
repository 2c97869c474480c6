/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/fuzz_receipt.c - libFuzzer target for chio.receipt.v1 receipts
 * (chio/receipt.h).
 *
 * For every input: chio_receipt_parse(); on success every accessor,
 * chio_receipt_verify() with no trusted keys, with a fixed key (the shared
 * vectors' kernel key) and with the fixed key plus the receipt's own
 * kernel_key, and chio_receipt_report_json() for each report.
 * Invariants (abort() when violated):
 *   - the receipt's canonical JSON parses again with the same bytes, and
 *     the re-parsed receipt verifies exactly as the original does;
 *   - ok implies signature, id and parameter hash valid and signer trusted;
 *     authorized implies ok; signature_valid implies receipt_id_valid;
 *   - signer_trusted is 0 without keys and 1 when the receipt's own key is
 *     trusted; the trust list changes nothing else in the report;
 *   - report JSON is canonical (canonicalize(report) == report).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <chio/chio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Kernel key of the shared receipt vectors (seed 07 x 32). */
static const char trusted_hex[] =
    "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c";

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_receipt: invariant violated: %s\n", what);
    abort();
}

static int same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void check_report(const chio_receipt *r, const chio_receipt_report *rep, size_t nkeys)
{
    char *json = NULL, *canon = NULL;
    size_t len = 0, clen = 0;

    if (rep->ok && !(rep->signature_valid && rep->receipt_id_valid && rep->parameter_hash_valid &&
                     rep->signer_trusted))
        fail("ok set while a check failed");
    if (rep->authorized && !rep->ok)
        fail("authorized without ok");
    if (rep->signature_valid && !rep->receipt_id_valid)
        fail("signature_valid with an invalid id");
    if (nkeys == 0 && (rep->signer_trusted || rep->ok || rep->authorized))
        fail("signer trusted without trusted keys");
    if (rep->decision != chio_receipt_verdict(r) ||
        !same_str(rep->decision_name, chio_verdict_name(rep->decision)))
        fail("decision differs from the receipt's verdict");
    if (!same_str(rep->id, chio_receipt_id(r)))
        fail("report id differs from the receipt id");
    if (rep->receipt_kind == NULL || rep->boundary_class == NULL || rep->trust_level == NULL ||
        rep->result == NULL)
        fail("report names missing");
    if (strcmp(rep->signer_key_hex, chio_receipt_kernel_key_hex(r)) != 0)
        fail("signer_key_hex differs from kernel_key");

    if (chio_receipt_report_json(rep, &json, &len) != 0)
        return; /* ENOMEM only */
    if (json == NULL || json[len] != '\0')
        fail("report json not NUL-terminated");
    if (chio_json_canonicalize(json, len, &canon, &clen, NULL) != 0)
        fail("report json does not parse");
    if (clen != len || memcmp(json, canon, len) != 0)
        fail("report json is not canonical");
    chio_free(canon);
    chio_free(json);
}

/* The re-parsed receipt (@again) verifies exactly as the original did
 * (@rc, @rep: verified with the same @keys, two of them). */
static void check_same_verdict(const chio_receipt *again, const uint8_t *keys, int rc,
                               const chio_receipt_report *rep)
{
    chio_receipt_report r2;
    int rc2;

    memset(&r2, 0, sizeof(r2));
    rc2 = chio_receipt_verify(again, keys, 2, &r2);
    if (rc2 != rc)
        fail("the re-parsed receipt's verify returns another code");
    if (rc2 == 0 && (r2.ok != rep->ok || r2.authorized != rep->authorized ||
                     r2.signature_valid != rep->signature_valid ||
                     r2.receipt_id_valid != rep->receipt_id_valid ||
                     r2.parameter_hash_valid != rep->parameter_hash_valid ||
                     r2.signer_trusted != rep->signer_trusted || r2.decision != rep->decision ||
                     !same_str(r2.result, rep->result)))
        fail("the re-parsed receipt verifies differently");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    chio_receipt *r = NULL, *again = NULL;
    chio_receipt_report rep0, rep1, rep2;
    chio_error err;
    uint8_t keys[2 * CHIO_PUBKEY_BYTES];
    const char *s, *json, *json2;
    size_t len, len2;
    int rc0, rc1, rc2;

    chio_error_init(&err);
    if (chio_receipt_parse((const char *)data, size, &r, &err) != 0) {
        if (r != NULL)
            fail("receipt set on failure");
        if (err.code == 0 || err.message[0] == '\0')
            fail("error record not filled");
        return 0;
    }
    if (r == NULL)
        fail("no receipt on success");

    /* Accessors. */
    if (chio_receipt_id(r) == NULL)
        fail("no id");
    (void)chio_receipt_timestamp(r);
    (void)chio_receipt_capability_id(r);
    (void)chio_receipt_tool_server(r);
    (void)chio_receipt_tool_name(r);
    if (chio_verdict_name(chio_receipt_verdict(r)) == NULL)
        fail("verdict outside the enum");
    s = chio_receipt_kernel_key_hex(r);
    if (s == NULL || strlen(s) != CHIO_PUBKEY_HEX_LEN)
        fail("kernel key hex");
    if (chio_pubkey_from_hex(s, strlen(s), keys + CHIO_PUBKEY_BYTES) != 0)
        fail("kernel key hex does not decode");
    if (chio_json_typeof(chio_receipt_root(r)) != CHIO_JSON_OBJECT)
        fail("root is not an object");
    json = chio_receipt_json(r, &len);
    if (json == NULL || json[len] != '\0')
        fail("receipt json");

    /* The stored form is a fixed point of parsing. */
    if (chio_receipt_parse(json, len, &again, &err) != 0) {
        fprintf(stderr, "fuzz_receipt: re-parse: %s\n", err.message);
        fail("the receipt's own JSON does not parse");
    }
    json2 = chio_receipt_json(again, &len2);
    if (len2 != len || memcmp(json, json2, len) != 0)
        fail("json(parse(json(x))) != json(x)");

    /* Verification without keys, with a fixed key, with the fixed key and
     * the receipt's own key. */
    if (chio_pubkey_from_hex(trusted_hex, CHIO_PUBKEY_HEX_LEN, keys) != 0)
        fail("fixed key");
    memset(&rep0, 0, sizeof(rep0));
    memset(&rep1, 0, sizeof(rep1));
    memset(&rep2, 0, sizeof(rep2));
    rc0 = chio_receipt_verify(r, NULL, 0, &rep0);
    rc1 = chio_receipt_verify(r, keys, 1, &rep1);
    rc2 = chio_receipt_verify(r, keys, 2, &rep2);
    if (rc0 == 0)
        check_report(r, &rep0, 0);
    if (rc1 == 0)
        check_report(r, &rep1, 1);
    if (rc2 == 0) {
        check_report(r, &rep2, 2);
        if (!rep2.signer_trusted)
            fail("own kernel_key trusted but signer_trusted is 0");
    }
    if (rc0 == 0 && rc2 == 0 &&
        (rep0.signature_valid != rep2.signature_valid ||
         rep0.receipt_id_valid != rep2.receipt_id_valid ||
         rep0.parameter_hash_valid != rep2.parameter_hash_valid ||
         !same_str(rep0.result, rep2.result) || !same_str(rep0.trust_level, rep2.trust_level) ||
         !same_str(rep0.receipt_kind, rep2.receipt_kind) ||
         !same_str(rep0.boundary_class, rep2.boundary_class)))
        fail("the trust list changed more than signer_trusted/ok/authorized");
    check_same_verdict(again, keys, rc2, &rep2);

    chio_receipt_free(again);
    chio_receipt_free(r);
    return 0;
}
