/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/model/test_rev48_wire.c - review 48, wire compatibility checked
 * against an independent model of spec/wire-format.md
 * (/work/review48/r3 in that review):
 *
 *  - a capability id the kernel's revocation list cannot hold (empty, or
 *    over CHIO_MAX_REVOCATION_ID_LEN bytes) makes the kernel refuse the
 *    token at check 3 (capability_revoked), and chio_kernel_issue_capability()
 *    refuses to issue one. Before this review `chio capability issue`
 *    signed such a token without a word and `chio capability verify`
 *    reported it ok with no "unusable" member, though no call under it
 *    could ever be allowed.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chio/chio.h"
#include "common/testutil.h"
#include "common/token_views.h"
#include "kernel/tokens.h"
#include "serve/serve.h"

TestSuite(rev48_wire);

#define SCOPE                                                                \
    "{\"grants\":[{\"server_id\":\"s\",\"tool_name\":\"t\",\"operations\":[" \
    "\"invoke\"]}]}"

/* An id of @n bytes ("a" repeated), malloc'd. */
static char *id_of(size_t n)
{
    char *id = malloc(n + 1);

    cr_assert_not_null(id);
    memset(id, 'a', n);
    id[n] = '\0';
    return id;
}

/* `chio capability issue` refuses the id chio_kernel_issue_capability()
 * refuses, and issues one of 256 bytes. */
Test(rev48_wire, capability_issue_refuses_an_id_no_kernel_can_revoke)
{
    char pub[65];
    char *dir = testutil_tmpdir(), *seed = testutil_join(dir, "seed"),
         *longest = id_of(CHIO_MAX_REVOCATION_ID_LEN),
         *over = id_of(CHIO_MAX_REVOCATION_ID_LEN + 1);
    const char *argv[] = {"capability", "issue",   "--seed-file", seed,    "--subject",
                          pub,          "--scope", SCOPE,         "--ttl", "60",
                          "--now",      "100",     "--id",        over,    NULL};
    cli_result r;

    cr_assert_eq(testutil_write_file(seed, TK_KERNEL_SEED, strlen(TK_KERNEL_SEED), 0600), 0);
    tk_pub(TK_AGENT_SEED, pub);
    r = testutil_run_cli(argv, NULL, 0);
    cr_expect_eq(r.status, 2, "exit %d: %s%s", r.status, r.out, r.err);
    cr_expect_str_eq(r.out, "", "nothing issued");
    cr_expect(strstr(r.err, "--id is 257 bytes") != NULL, "%s", r.err);
    testutil_cli_free(&r);
    argv[13] = longest;
    r = testutil_run_cli(argv, NULL, 0);
    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    testutil_cli_free(&r);
    free(longest);
    free(over);
    testutil_rmrf(dir);
    free(seed);
    free(dir);
}

/* A token the kernel refuses for an id it could not revoke is named
 * "unusable" by `chio capability verify`, which still reports chio's ok. */
Test(rev48_wire, capability_verify_names_an_id_the_kernel_cannot_revoke)
{
    char code[64];
    char *over = id_of(CHIO_MAX_REVOCATION_ID_LEN + 1),
         *longest = id_of(CHIO_MAX_REVOCATION_ID_LEN);
    char *tok = tk_token(TK_KERNEL_SEED, over, TK_AGENT_PUB, SCOPE, tv_now() - 60, 3600, NULL, 0);
    cli_result r;

    cr_assert_not_null(tok);
    tv_sidecar_code(tok, "{\"path\":\"/x\"}", code, sizeof(code));
    cr_expect_str_eq(code, "capability_revoked", "the kernel: %s", code);
    r = tv_verify(tok);
    cr_expect_eq(r.status, 0, "exit %d: %s%s", r.status, r.out, r.err);
    cr_expect(strstr(r.out, "\"ok\":true") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "\"unusable\":\"the capability id is 257 bytes") != NULL, "%s", r.out);
    testutil_cli_free(&r);
    free(tok);

    /* the longest id the list holds: usable, no note */
    tok = tk_token(TK_KERNEL_SEED, longest, TK_AGENT_PUB, SCOPE, tv_now() - 60, 3600, NULL, 0);
    cr_assert_not_null(tok);
    tv_sidecar_code(tok, "{\"path\":\"/x\"}", code, sizeof(code));
    cr_expect_str_neq(code, "capability_revoked", "the kernel: %s", code);
    r = tv_verify(tok);
    cr_expect(strstr(r.out, "\"ok\":true") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "\"unusable\"") == NULL, "%s", r.out);
    testutil_cli_free(&r);
    free(tok);
    free(over);
    free(longest);
}

/* The same for an id a delegation link names (an empty one here). */
Test(rev48_wire, capability_verify_names_a_link_id_the_kernel_cannot_revoke)
{
    char code[64];
    tk_link link = {"", TK_KERNEL_SEED, TK_AGENT_PUB, tv_now() - 30, NULL};
    char *tok =
        tk_token(TK_KERNEL_SEED, "cap-48", TK_AGENT_PUB, SCOPE, tv_now() - 60, 3600, &link, 1);
    cli_result r;

    cr_assert_not_null(tok);
    tv_sidecar_code(tok, "{\"path\":\"/x\"}", code, sizeof(code));
    cr_expect_str_eq(code, "capability_revoked", "the kernel: %s", code);
    r = tv_verify(tok);
    cr_expect(strstr(r.out, "\"unusable\":\"delegation link 0 names a capability "
                            "id of 0 bytes") != NULL,
              "%s", r.out);
    testutil_cli_free(&r);
    free(tok);
}
