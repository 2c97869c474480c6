/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/model/test_checkpoint_verify.c - a signed checkpoint read back from
 * altered bytes: what the signature covers (the body) and the envelope
 * around it, which is not signed and so must hold nothing else.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "chio/checkpoint.h"
#include "chio/crypto.h"

/* A genuine checkpoint over 5 receipts, signed with the seed 07 x 32; its
 * stored JSON into @out. */
static void genuine(char *out, size_t cap)
{
    static const char seed[] = "0707070707070707070707070707070707070707070707070707070707070707";
    chio_keypair *kp = NULL;
    chio_checkpoint *cp = NULL;
    uint8_t root[32];
    const char *json;
    size_t len;

    memset(root, 0xab, sizeof(root));
    cr_assert_eq(chio_keypair_from_seed_hex(seed, 64, &kp, NULL), 0);
    cr_assert_eq(chio_checkpoint_sign(kp, 1, 1, 5, root, 1700000000, NULL, &cp, NULL), 0);
    json = chio_checkpoint_json(cp, &len);
    cr_assert_lt(len, cap);
    memcpy(out, json, len + 1);
    chio_checkpoint_free(cp);
    chio_keypair_free(kp);
}

static int parse_and_verify(const char *json)
{
    chio_checkpoint *cp = NULL;
    int rc = chio_checkpoint_parse(json, strlen(json), &cp, NULL);

    if (rc == 0)
        rc = chio_checkpoint_verify(cp);
    chio_checkpoint_free(cp);
    return rc;
}

Test(checkpoint_verify, genuine_and_reformatted_bytes_verify)
{
    char json[1024], spaced[1100];
    const char *sig;
    int body_len;

    genuine(json, sizeof(json));
    cr_expect_eq(parse_and_verify(json), 0);
    /* whitespace and member order are not what is signed */
    cr_assert_eq(strncmp(json, "{\"body\":", 8), 0);
    sig = strstr(json, ",\"signature\":");
    cr_assert_not_null(sig);
    body_len = (int)(sig - json - 8);
    snprintf(spaced, sizeof(spaced), "{ \"signature\" : %.130s ,\n \"body\" : %.*s }", sig + 13,
             body_len, json + 8);
    cr_expect_eq(parse_and_verify(spaced), 0, "%s", spaced);
}

/*
 * The envelope {"body","signature"} is not signed: a member added beside
 * them was accepted, and kept in the checkpoint's stored JSON, so a
 * verifier said "valid" for bytes the kernel never wrote. Now refused.
 */
Test(checkpoint_verify, a_member_beside_body_and_signature_is_refused)
{
    char json[1024], extra[1100];
    chio_checkpoint *cp = NULL;
    chio_error err;

    genuine(json, sizeof(json));
    snprintf(extra, sizeof(extra), "{\"note\":\"tree_size 9\",%s", json + 1);
    chio_error_init(&err);
    cr_expect_eq(chio_checkpoint_parse(extra, strlen(extra), &cp, &err), CHIO_EFORMAT);
    cr_expect_null(cp);
    chio_checkpoint_free(cp);
    cr_expect_not_null(strstr(err.message, "'note'"), "%s", err.message);
    snprintf(extra, sizeof(extra), "%.*s,\"zzz\":null}", (int)strlen(json) - 1, json);
    cr_expect_eq(parse_and_verify(extra), CHIO_EFORMAT);
}

Test(checkpoint_verify, a_changed_body_fails_its_signature)
{
    char json[1024];
    char *p;

    genuine(json, sizeof(json));
    p = strstr(json, "\"issued_at\":1700000000");
    cr_assert_not_null(p);
    p[strlen("\"issued_at\":17")] = '1';
    cr_expect_eq(parse_and_verify(json), CHIO_EBADSIG);
}
