/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/fuzz_capability.c - libFuzzer target for chio.capability.v1
 * tokens (chio/capability.h).
 *
 * For every input: chio_capability_parse(); on success every accessor,
 * chio_capability_verify() at several clocks (a fixed one, issued_at,
 * expires_at - 1, expires_at, UINT64_MAX), with several max_depth values
 * (-1, 0, 1, 8) and trusted-key lists (none, a fixed key, the fixed key plus
 * the token's own issuer), and chio_capability_report_json().
 * Invariants (abort() when violated):
 *   - the token's canonical JSON parses again as a token with the same
 *     bytes, and the re-parsed token verifies exactly as the original does;
 *   - a report's ok implies its parts; issuer_trusted is 0 without keys;
 *   - time_status matches issued_at <= now < expires_at;
 *   - report JSON is canonical (canonicalize(report) == report).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <chio/chio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Issuer of the shared capability vectors (seed 0b x 32). */
static const char trusted_hex[] =
    "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a";

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_capability: invariant violated: %s\n", what);
    abort();
}

static void check_report_json(const chio_capability_report *rep)
{
    char *json = NULL, *canon = NULL;
    size_t len = 0, clen = 0;

    if (chio_capability_report_json(rep, &json, &len) != 0)
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

static void verify_one(const chio_capability *cap, uint64_t now, const uint8_t *keys, size_t nkeys,
                       long max_depth)
{
    chio_capability_report rep;
    uint64_t ia = chio_capability_issued_at(cap), ea = chio_capability_expires_at(cap);
    chio_time_status want;

    memset(&rep, 0, sizeof(rep));
    if (chio_capability_verify(cap, now, keys, nkeys, max_depth, &rep) != 0)
        return; /* ENOMEM / ECRYPTO: no report */
    want = now < ia ? CHIO_TIME_NOT_YET_VALID : now >= ea ? CHIO_TIME_EXPIRED : CHIO_TIME_VALID;
    if (rep.time_status != want)
        fail("time_status disagrees with issued_at/expires_at");
    if (rep.time_status_name == NULL ||
        strcmp(rep.time_status_name, chio_time_status_name(rep.time_status)) != 0)
        fail("time_status_name");
    if (nkeys == 0 && (rep.issuer_trusted || rep.ok))
        fail("issuer trusted without trusted keys");
    if (rep.ok && !(rep.signature_valid && rep.issuer_trusted && rep.time_status == CHIO_TIME_VALID &&
                    rep.delegation_chain_shape_valid && !rep.delegation_depth_exceeded))
        fail("ok set while a check failed");
    if (rep.delegation_depth_exceeded && max_depth >= 0 &&
        chio_capability_delegation_depth(cap) <= (size_t)max_depth)
        fail("depth exceeded reported within max_depth");
    if (rep.chain_error_link >= 0 &&
        (size_t)rep.chain_error_link >= chio_capability_delegation_depth(cap))
        fail("chain_error_link out of range");
    if (rep.id != NULL && strcmp(rep.id, chio_capability_id(cap)) != 0)
        fail("report id differs from the token id");
    check_report_json(&rep);
}

/* The re-parsed token (@again) verifies exactly as the original (@cap)
 * does: at @now, with both @keys, max_depth 8. */
static void check_same_verdict(const chio_capability *cap, const chio_capability *again,
                               uint64_t now, const uint8_t *keys)
{
    chio_capability_report a, b;
    int rca, rcb;

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    rca = chio_capability_verify(cap, now, keys, 2, 8, &a);
    rcb = chio_capability_verify(again, now, keys, 2, 8, &b);
    if (rca != rcb)
        fail("the re-parsed token's verify returns another code");
    if (rca == 0 &&
        (a.ok != b.ok || a.signature_valid != b.signature_valid ||
         a.issuer_trusted != b.issuer_trusted || a.time_status != b.time_status ||
         a.delegation_chain_shape_valid != b.delegation_chain_shape_valid ||
         a.delegation_depth_exceeded != b.delegation_depth_exceeded ||
         a.chain_error_link != b.chain_error_link))
        fail("the re-parsed token verifies differently");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    chio_capability *cap = NULL, *again = NULL;
    chio_error err;
    uint8_t keys[2 * CHIO_PUBKEY_BYTES];
    const char *s, *json, *json2;
    size_t len, len2, depth, i;
    uint64_t ia, ea;
    const uint64_t fixed_now = 1710000300u;

    chio_error_init(&err);
    if (chio_capability_parse((const char *)data, size, &cap, &err) != 0) {
        if (cap != NULL)
            fail("token set on failure");
        if (err.code == 0 || err.message[0] == '\0')
            fail("error record not filled");
        return 0;
    }
    if (cap == NULL)
        fail("no token on success");

    /* Accessors. */
    s = chio_capability_id(cap);
    if (s == NULL)
        fail("no id");
    s = chio_capability_issuer_hex(cap);
    if (s == NULL || strlen(s) != CHIO_PUBKEY_HEX_LEN)
        fail("issuer hex");
    if (chio_pubkey_from_hex(s, strlen(s), keys + CHIO_PUBKEY_BYTES) != 0)
        fail("issuer hex does not decode");
    s = chio_capability_subject_hex(cap);
    if (s == NULL || strlen(s) != CHIO_PUBKEY_HEX_LEN)
        fail("subject hex");
    ia = chio_capability_issued_at(cap);
    ea = chio_capability_expires_at(cap);
    depth = chio_capability_delegation_depth(cap);
    for (i = 0; i < depth; i++)
        if (chio_capability_delegation_id(cap, i) == NULL)
            fail("delegation id missing");
    if (chio_capability_delegation_id(cap, depth) != NULL)
        fail("delegation id past the end");
    (void)chio_capability_unknown_field(cap);
    if (chio_json_typeof(chio_capability_root(cap)) != CHIO_JSON_OBJECT)
        fail("root is not an object");
    json = chio_capability_json(cap, &len);
    if (json == NULL || json[len] != '\0')
        fail("token json");

    /* The stored form is a fixed point of parsing. */
    if (chio_capability_parse(json, len, &again, &err) != 0) {
        fprintf(stderr, "fuzz_capability: re-parse: %s\n", err.message);
        fail("the token's own JSON does not parse");
    }
    json2 = chio_capability_json(again, &len2);
    if (len2 != len || memcmp(json, json2, len) != 0)
        fail("json(parse(json(x))) != json(x)");

    /* Verification: no keys, a fixed key, the issuer itself plus the fixed key. */
    if (chio_pubkey_from_hex(trusted_hex, CHIO_PUBKEY_HEX_LEN, keys) != 0)
        fail("fixed key");
    verify_one(cap, fixed_now, NULL, 0, -1);
    verify_one(cap, fixed_now, keys, 1, 0);
    verify_one(cap, fixed_now, keys, 1, 1);
    verify_one(cap, ia, keys, 2, 8);
    verify_one(cap, ea - 1, keys, 2, -1);
    verify_one(cap, ea, keys, 1, -1);
    verify_one(cap, UINT64_MAX, keys, 2, 8);
    check_same_verdict(cap, again, ia, keys);

    chio_capability_free(again);
    chio_capability_free(cap);
    return 0;
}
