/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/model/test_interop_wire.c - wire-format cases where libchio and the
 * independent Node reading of the spec (tests/interop/chio-wire.mjs)
 * disagreed, settled by the spec: each pins what the spec says.
 *
 * tool_origin: wire-format.md 3 names caller_executed as its default, which
 * a body being signed gets (`chio receipt sign`); a signed receipt must carry
 * the member, as chio's receipt type requires it. Absent or null, the receipt
 * is refused as malformed rather than read with a guessed value.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/chio.h"

#define SEED "0707070707070707070707070707070707070707070707070707070707070707"
#define BODY                                                                               \
    "{\"timestamp\":1710000200,\"capability_id\":\"cap-1\",\"tool_server\":\"srv\","       \
    "\"tool_name\":\"t\",\"action\":{\"parameters\":{\"a\":1}},\"decision\":{\"verdict\":" \
    "\"allow\"},\"receipt_kind\":\"mediated_decision\",\"boundary_class\":\"prevent\","    \
    "\"redaction_mode\":\"none\",\"policy_hash\":\"p\",\"trust_level\":\"mediated\"}"
#define FIELD "\"tool_origin\":\"caller_executed\","

/* The signed receipt's text with its tool_origin member replaced by @with. */
static char *signed_text_with(const char *with)
{
    chio_keypair *kp = NULL;
    chio_receipt *r = NULL;
    const char *json, *at;
    char *out;
    size_t len;

    cr_assert_eq(chio_keypair_from_seed_hex(SEED, strlen(SEED), &kp, NULL), 0);
    cr_assert_eq(chio_receipt_sign_json(BODY, strlen(BODY), kp, &r, NULL), 0);
    json = chio_receipt_json(r, &len);
    at = strstr(json, FIELD);
    cr_assert_not_null(at, "the signer writes the default out: %s", json);
    out = calloc(1, len + strlen(with) + 1);
    cr_assert_not_null(out);
    memcpy(out, json, (size_t)(at - json));
    strcat(out, with);
    strcat(out, at + strlen(FIELD));
    chio_receipt_free(r);
    chio_keypair_free(kp);
    return out;
}

Test(interop_wire, a_signed_receipt_without_tool_origin_is_refused)
{
    static const char *const forms[] = {"", "\"tool_origin\":null,"};
    chio_receipt *r;
    chio_error err;
    size_t i;

    for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        char *text = signed_text_with(forms[i]);

        r = NULL;
        cr_expect_eq(chio_receipt_parse(text, strlen(text), &r, &err), CHIO_EFORMAT, "%s", text);
        cr_expect_null(r);
        cr_expect_not_null(strstr(err.message, "tool_origin"), "%s", err.message);
        chio_receipt_free(r);
        free(text);
    }
}

/*
 * metadata must be a JSON object (wire-format.md 3), as
 * chio_receipt_builder_set_metadata() already required: chio_receipt_sign_json
 * signed [1], "x" or 5 and chio_receipt_parse read them back.
 */
Test(interop_wire, metadata_that_is_not_an_object_is_refused)
{
    static const char *const values[] = {"[1]", "\"x\"", "5", "true"};
    chio_keypair *kp = NULL;
    chio_receipt *r = NULL;
    chio_error err;
    char body[1024], *text;
    const char *at;
    size_t i;

    cr_assert_eq(chio_keypair_from_seed_hex(SEED, strlen(SEED), &kp, NULL), 0);
    text = signed_text_with(FIELD); /* a signed receipt, no metadata */
    at = strstr(text, "\"policy_hash\"");
    cr_assert_not_null(at);
    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        /* the body with "metadata":VALUE before its closing brace */
        snprintf(body, sizeof(body), "%.*s,\"metadata\":%s}", (int)strlen(BODY) - 1, BODY,
                 values[i]);
        r = NULL;
        cr_expect_eq(chio_receipt_sign_json(body, strlen(body), kp, &r, &err), CHIO_EFORMAT,
                     "signed metadata %s", values[i]);
        chio_receipt_free(r);
        /* the signed receipt with "metadata":VALUE in it (read, not verified) */
        snprintf(body, sizeof(body), "%.*s\"metadata\":%s,%s", (int)(at - text), text, values[i],
                 at);
        r = NULL;
        cr_expect_eq(chio_receipt_parse(body, strlen(body), &r, &err), CHIO_EFORMAT,
                     "read metadata %s: %s", values[i], body);
        chio_receipt_free(r);
    }
    free(text);
    chio_keypair_free(kp);
}
