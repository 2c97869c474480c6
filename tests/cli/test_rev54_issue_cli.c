/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_rev54_issue_cli.c - review 54: `chio capability issue`
 * signed a scope whose grant says "constraints": null as a grant with no
 * constraints (allow-all), while the kernel denies a presented token
 * holding that null (unsupported_grant). The CLI now refuses such a scope
 * (exit 2, naming the field) and prints no token.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "kernel/tokens.h"

TestSuite(rev54_issue_cli);

Test(rev54_issue_cli, capability_issue_refuses_a_null_constraint_list)
{
    char *dir = testutil_tmpdir(), *seed = NULL;
    const char *scope = "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
                        "\"operations\":[\"invoke\"],\"constraints\":null}]}";
    cli_result r;

    cr_assert_geq(asprintf(&seed, "%s/seed", dir), 0);
    cr_assert_eq(testutil_write_file(seed, TK_KERNEL_SEED, strlen(TK_KERNEL_SEED), 0600), 0);
    r = testutil_run_cli((const char *const[]){"capability", "issue", "--seed-file", seed,
                                               "--subject", TK_AGENT_PUB, "--scope", scope, "--ttl",
                                               "1000", "--now", "1710000000", "--id", "cn", NULL},
                         NULL, 0);
    cr_expect_eq(r.status, 2, "exit %d: %s%s", r.status, r.out, r.err);
    cr_expect_eq(r.out_len, 0, "no token printed: %s", r.out);
    cr_expect(strstr(r.err, "'constraints' is null") != NULL, "%s", r.err);
    cr_expect(strstr(r.err, "CHIO_EFORMAT") != NULL, "%s", r.err);
    testutil_cli_free(&r);
    testutil_rmrf(dir);
    free(seed);
    free(dir);
}
