/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/model/test_rev23_tokens.c - the kernel's form of token verification
 * (chio__capability_verify_lazy, review 23) against the public one:
 *   - the public chio_capability_verify still verifies every link, whoever
 *     the issuer (the CLI's report is unchanged);
 *   - the lazy form verifies links only for a token with a valid signature
 *     by a trusted issuer and within the depth limit, and otherwise reports
 *     the chain as not valid without looking at it; signature and issuer
 *     facts are the same in both.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "chio/capability.h"
#include "kernel/tokens.h"
#include "scope.h"

#define IAT 1710000000u
#define SCOPE \
    "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\",\"operations\":[\"invoke\"]}]}"

TestSuite(rev23_model_tokens);

/* A token by @issuer_seed with two valid links (OTHER -> OTHER -> agent). */
static chio_capability *two_link_token(const char *issuer_seed)
{
    char other[65], *json;
    tk_link links[2];
    chio_capability *cap = NULL;

    tk_pub(TK_OTHER_SEED, other);
    links[0] = (tk_link){"l0", TK_OTHER_SEED, other, IAT, NULL};
    links[1] = (tk_link){"l1", TK_OTHER_SEED, TK_AGENT_PUB, IAT, NULL};
    json = tk_token(issuer_seed, "two-links", TK_AGENT_PUB, SCOPE, IAT, 1000, links, 2);
    cr_assert_not_null(json);
    cr_assert_eq(chio_capability_parse(json, strlen(json), &cap, NULL), 0);
    free(json);
    return cap;
}

static void trusted_key(uint8_t out[32])
{
    char pub[65];

    tk_pub(TK_KERNEL_SEED, pub);
    cr_assert_eq(chio_pubkey_from_hex(pub, 64, out), 0);
}

Test(rev23_model_tokens, public_verify_checks_links_of_any_token)
{
    chio_capability *cap = two_link_token(TK_OTHER_SEED);
    chio_capability_report rep;
    uint8_t key[32];

    trusted_key(key);
    cr_assert_eq(chio_capability_verify(cap, IAT + 1, key, 1, -1, &rep), 0);
    cr_expect(rep.signature_valid);
    cr_expect(!rep.issuer_trusted);
    cr_expect(rep.delegation_chain_shape_valid, "links are verified for the report");
    chio_capability_free(cap);
}

Test(rev23_model_tokens, lazy_verify_skips_links_of_a_token_check_1_refuses)
{
    chio_capability *cap = two_link_token(TK_OTHER_SEED);
    chio_capability_report rep;
    uint8_t key[32];

    trusted_key(key);
    cr_assert_eq(chio__capability_verify_lazy(cap, key, 1, -1, &rep), 0);
    cr_expect(rep.signature_valid);
    cr_expect(!rep.issuer_trusted);
    cr_expect(!rep.delegation_chain_shape_valid, "not looked at");
    chio_capability_free(cap);
}

Test(rev23_model_tokens, lazy_verify_checks_links_of_a_trusted_token_within_the_limit)
{
    chio_capability *cap = two_link_token(TK_KERNEL_SEED);
    chio_capability_report rep;
    uint8_t key[32];

    trusted_key(key);
    cr_assert_eq(chio__capability_verify_lazy(cap, key, 1, 2, &rep), 0);
    cr_expect(rep.signature_valid && rep.issuer_trusted);
    cr_expect(rep.delegation_chain_shape_valid);
    cr_expect(!rep.delegation_depth_exceeded);
    cr_assert_eq(chio__capability_verify_lazy(cap, key, 1, 1, &rep), 0);
    cr_expect(rep.delegation_depth_exceeded);
    cr_expect(!rep.delegation_chain_shape_valid);
    chio_capability_free(cap);
}
