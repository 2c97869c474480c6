/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_rev57_cli.c - `chio capability verify` names a token
 * whose own scope contradicts an attenuation of its delegation chain (a
 * grant of a tool a link removed): the kernel refuses such a token
 * (delegation_invalid), so verify adds "unusable", while "ok" stays
 * chio's rule alone (signature, time, chain shape).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "kernel/tokens.h"

#define IAT 1710000000u

/* Verify a one-link token granting srv/read whose link declares @att. */
static cli_result verify_linked(const char *dir, const char *att)
{
    char *path = testutil_join(dir, "tok.json"), *tok;
    cli_result r;

    tok = tk_attenuated("cap-cli",
                        "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\","
                        "\"operations\":[\"invoke\"]}]}",
                        IAT, 1000, att);
    cr_assert_not_null(tok);
    cr_assert_eq(testutil_write_file(path, tok, strlen(tok), 0600), 0);
    r = testutil_run_cli(
        (const char *const[]){"capability", "verify", "--at", "1710000300", path, NULL}, NULL, 0);
    free(tok);
    free(path);
    return r;
}

Test(rev57_cli, verify_names_a_token_that_contradicts_its_chain)
{
    char *dir = testutil_tmpdir();
    cli_result r = verify_linked(
        dir, "[{\"type\":\"remove_tool\",\"server_id\":\"srv\",\"tool_name\":\"read\"}]");

    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_expect_not_null(strstr(r.out, "\"ok\":true"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"unusable\":\"delegation link 0, attenuation 0: "
                                     "remove_tool: grant 0 of the token still grants the removed "
                                     "tool srv/read, so the kernel refuses the token "
                                     "(delegation_invalid)\""),
                       "%s", r.out);
    testutil_cli_free(&r);

    r = verify_linked(dir,
                      "[{\"type\":\"remove_tool\",\"server_id\":\"srv\",\"tool_name\":\"admin\"}]");
    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_expect_null(strstr(r.out, "unusable"), "%s", r.out);
    testutil_cli_free(&r);
    testutil_rmrf(dir);
    free(dir);
}
