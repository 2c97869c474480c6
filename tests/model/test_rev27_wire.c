/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/model/test_rev27_wire.c - bytes chio reads that libchio read
 * differently (review 27):
 *   - max_invocations is a u32 in chio: a larger one is never issued, and
 *     a token carrying one is not used (chio cannot parse it).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/capability.h"
#include "common/testutil.h"
#include "kernel/tokens.h"
#include "scope.h"

#define SEED0B "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
#define SUBJ   "0b513ad9b4924015ca0902ed079044d3ac5dbec2306f06948c10da8eb6e39f2d"

TestSuite(rev27_wire);

static chio_capability *cap_parse(const char *json)
{
    chio_capability *cap = NULL;
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_capability_parse(json, strlen(json), &cap, &err), 0, "%s: %s", err.message,
                 json);
    return cap;
}

/* ---- tokens in chio's normal form ------------------------------------------------------ */

/* ---- max_invocations is chio's u32 ------------------------------------------------------------
 */

Test(rev27_wire, max_invocations_past_u32_is_not_issued_and_not_used)
{
    static const char big[] = "{\"grants\":[{\"max_invocations\":4294967296,\"operations\":"
                              "[\"invoke\"],\"server_id\":\"srv\",\"tool_name\":\"t\"}]}";
    static const char top[] = "{\"grants\":[{\"max_invocations\":4294967295,\"operations\":"
                              "[\"invoke\"],\"server_id\":\"srv\",\"tool_name\":\"t\"}]}";
    chio_keypair *issuer;
    chio_capability *cap = NULL;
    chio_error err;
    char *json;

    cr_assert_eq(chio_keypair_from_seed_hex(SEED0B, 64, &issuer, NULL), 0);
    chio_error_init(&err);
    cr_expect_eq(
        chio_capability_issue(issuer, "big", SUBJ, big, strlen(big), 1710000000, 600, &cap, &err),
        CHIO_EFORMAT);
    cr_expect_null(cap);
    cr_expect_not_null(strstr(err.message, "max_invocations"), "%s", err.message);
    cr_assert_eq(
        chio_capability_issue(issuer, "top", SUBJ, top, strlen(top), 1710000000, 600, &cap, NULL),
        0);
    cr_expect_null(chio__capability_scope(cap)->grants[0].unsupported);
    chio_capability_free(cap);

    /* Signed elsewhere: read, but the grant is not used. */
    json = tk_token(SEED0B, "big", SUBJ, big, 1710000000, 600, NULL, 0);
    cr_assert_not_null(json);
    cap = cap_parse(json);
    cr_expect_not_null(chio__capability_scope(cap)->grants[0].unsupported);
    chio_capability_free(cap);
    free(json);
    chio_keypair_free(issuer);
}
