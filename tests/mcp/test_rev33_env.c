/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev33_env.c - review 33, key secrecy: what `chio mcp serve`
 * hands the MCP server it wraps, through the real build/chio.
 *
 *  - the server inherited the gateway's whole environment, CHIO_SIGNING_KEY
 *    included: the variable holds a kernel's seed (host-service reads it,
 *    and a shell or service unit exporting it for one process exports it
 *    for the gateway too), so the very server the gateway keeps from the
 *    key could read it from its own environment and sign receipts and
 *    capabilities as the kernel. Now the server's environment is the
 *    gateway's less every CHIO_SIGNING_KEY entry; the rest still passes.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/chio.h"
#include "common/testutil.h"

#define SEED33E "5eed33e0000000000000000000000000000000000000000000000000000000e3"

Test(rev33_env, the_wrapped_server_does_not_inherit_chio_signing_key)
{
    char *dir = testutil_tmpdir(), db[4096], pol[4096], seedf[4096], envf[4096], script[8192];
    static const char policy[] = "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\","
                                 "\"grants\":[]}";
    char *got;
    size_t len = 0;

    snprintf(db, sizeof(db), "%s/db", dir);
    snprintf(pol, sizeof(pol), "%s/policy.json", dir);
    snprintf(seedf, sizeof(seedf), "%s/kernel.seed", dir);
    snprintf(envf, sizeof(envf), "%s/server.env", dir);
    /* The server writes its environment first, then reads until its stdin closes. */
    snprintf(script, sizeof(script), "env > '%s'; cat > /dev/null", envf);
    cr_assert_eq(testutil_write_file(pol, policy, strlen(policy), 0600), 0);
    cr_assert_eq(testutil_write_file(seedf, SEED33E "\n", 65, 0600), 0);
    cr_assert_eq(setenv("CHIO_SIGNING_KEY", SEED33E, 1), 0);
    cr_assert_eq(setenv("REV33_OTHER", "passes", 1), 0);

    const char *argv[] = {"mcp", "serve", "--policy", pol,  "--receipt-db", db,  "--seed-file",
                          seedf, "--",    "/bin/sh",  "-c", script,         NULL};
    cli_result r = testutil_run_cli(argv, "", 0);
    cr_expect_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    testutil_cli_free(&r);
    got = testutil_read_file(envf, &len);
    cr_assert_not_null(got, "the server wrote no environment");
    cr_expect(strstr(got, "REV33_OTHER=passes") != NULL, "the environment did not pass: %s", got);
    cr_expect(strstr(got, "CHIO_SIGNING_KEY") == NULL, "the server got CHIO_SIGNING_KEY: %s", got);
    cr_expect(strstr(got, SEED33E) == NULL, "the server got the seed: %s", got);
    free(got);
    testutil_rmrf(dir);
    free(dir);
}
