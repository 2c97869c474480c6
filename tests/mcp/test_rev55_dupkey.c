/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev55_dupkey.c - review 5 of stop 55, O1: a line of the
 * wrapped server's that the gateway cannot read (a duplicate key) was
 * reported on stderr with the parser's message, which quotes the key, so
 * a key a secret_leak guard flags reached stderr, and only there (the
 * client's answer and the receipt withheld it). Real chio mcp serve
 * (stdio) wrapping tests/mcp/rev55-dupkey-server.mjs. Now a flagged
 * message is withheld; an unflagged one is quoted as before.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "mcp/mcputil.h"

#define POLICY                                                                           \
    "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[{\"server_id\":" \
    "\"s\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}],\"guards\":[{\"name\":"     \
    "\"secret_leak\"}]}"
#define INIT                                                                           \
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"             \
    "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":" \
    "\"rev55\",\"version\":\"1\"}}}"
#define SEED    "0000000000000000000000000000000000000000000000000000000000000255"
#define WAIT_MS 10000
#define CALL(id, key)                                                                            \
    "{\"jsonrpc\":\"2.0\",\"id\":" id ",\"method\":\"tools/call\",\"params\":{\"name\":\"dup\"," \
    "\"arguments\":{\"key\":\"" key "\"}}}"

static char *dir;

static void setup(void)
{
    dir = testutil_tmpdir();
    signal(SIGPIPE, SIG_IGN);
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
}

TestSuite(rev55_dupkey, .init = setup, .fini = teardown);

Test(rev55_dupkey, a_flagged_duplicate_key_of_the_server_is_withheld_from_stderr)
{
    mt_scripted s;
    char *err;

    mt_scripted_start(&s, dir, "tests/mcp/rev55-dupkey-server.mjs", POLICY, SEED);
    mt_scripted_session(&s, INIT, WAIT_MS);
    mt_scripted_send(&s, CALL("3", "KEYZZZZZZZZZZZZZZ05"));
    cr_assert(mt_scripted_wait(&s, "\"id\":3,", WAIT_MS), "call 3 answered: %s", s.got);
    mt_scripted_send(&s, CALL("4", "plainname"));
    cr_assert(mt_scripted_wait(&s, "\"id\":4,", WAIT_MS), "call 4 answered: %s", s.got);
    /* each line is written before the call it fails is answered */
    err = testutil_read_file(s.err, NULL);
    cr_assert_not_null(err);
    cr_expect(strstr(err, "AKIAZZZZZZZZZZZZZZ05") == NULL, "stderr quotes the key: %s", err);
    cr_expect(strstr(err, "[withheld: a secret_leak guard flagged it]") != NULL, "%s", err);
    cr_expect(strstr(err, "\"plainname\" appears twice") != NULL, "the unflagged key: %s", err);
    cr_expect(strstr(s.got, "AKIAZZZZZZZZZZZZZZ05") == NULL, "the client got the key: %s", s.got);
    free(err);
    mt_scripted_stop(&s, WAIT_MS);
}
