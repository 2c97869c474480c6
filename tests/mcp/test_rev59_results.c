/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev59_results.c - review 19 of the network services,
 * net F3: a wrapped server's tools/call result that is no object ("str",
 * null, [1,2], 5) reached the client as {"_meta":..,"value":..}, the
 * shape of a real {"value":..} answer whose receipt binds other bytes.
 * MCP's results of tools/call, resources/read and prompts/get are
 * objects; another value is now the tool's failure: an error to the
 * client and a deny receipt (tool_error), never an allow. Real chio mcp
 * serve (stdio) wrapping tests/mcp/rev59-result-server.mjs.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "mcp/mcputil.h"

#define POLICY                                                                           \
    "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[{\"server_id\":" \
    "\"s\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}],\"resource_grants\":[{"     \
    "\"uri_pattern\":\"v:*\",\"operations\":[\"read\"]}],\"prompt_grants\":[{"           \
    "\"prompt_name\":\"p\",\"operations\":[\"get\"]}]}"
#define INIT                                                                           \
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"             \
    "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":" \
    "\"rev59\",\"version\":\"1\"}}}"
#define SEED    "0000000000000000000000000000000000000000000000000000000000000259"
#define WAIT_MS 10000
#define CALL(id, value)                                                                  \
    "{\"jsonrpc\":\"2.0\",\"id\":" id ",\"method\":\"tools/call\",\"params\":{\"name\":" \
    "\"echo\",\"arguments\":{\"value\":" value "}}}"

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

TestSuite(rev59_results, .init = setup, .fini = teardown);

/* The answer to request @id in what the client got: from "\"id\":@id,"
 * (the gateway writes the id before the result or error) to the line's
 * end, copied (caller frees). */
static char *answer_of(const mt_scripted *s, const char *id)
{
    char needle[32];
    const char *at, *start, *end;

    snprintf(needle, sizeof(needle), "\"id\":%s,", id);
    at = strstr(s->got, needle);
    cr_assert_not_null(at, "no answer to %s", id);
    for (start = at; start > s->got && start[-1] != '\n'; start--)
        ;
    end = strchr(at, '\n');
    return strndup(start, end != NULL ? (size_t)(end - start) : strlen(start));
}

Test(rev59_results, a_result_that_is_no_object_is_a_tool_failure_with_a_deny_receipt)
{
    static const char *const ids[] = {"11", "12", "13", "14"};
    static const char *const calls[] = {CALL("11", "\"str\""), CALL("12", "null"),
                                        CALL("13", "[1,2]"), CALL("14", "5")};
    mt_scripted s;
    size_t i;
    char *a, *db;

    mt_scripted_start(&s, dir, "tests/mcp/rev59-result-server.mjs", POLICY, SEED);
    mt_scripted_session(&s, INIT, WAIT_MS);
    for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        char needle[32];
        snprintf(needle, sizeof(needle), "\"id\":%s,", ids[i]);
        mt_scripted_send(&s, calls[i]);
        cr_assert(mt_scripted_wait(&s, needle, WAIT_MS), "call %s answered", ids[i]);
        a = answer_of(&s, ids[i]);
        cr_expect(strstr(a, "\"value\":") == NULL, "call %s wrapped: %.300s", ids[i], a);
        cr_expect(strstr(a, "result is not an object") != NULL, "call %s: %.300s", ids[i], a);
        free(a);
    }
    /* a real object answer still passes, with its receipt's metadata */
    mt_scripted_send(&s, CALL("15", "{\"content\":[],\"value\":\"str\"}"));
    cr_assert(mt_scripted_wait(&s, "\"id\":15,", WAIT_MS));
    a = answer_of(&s, "15");
    cr_expect(strstr(a, "\"value\":\"str\"") != NULL && strstr(a, "\"chio\"") != NULL, "%.300s", a);
    free(a);
    /* resources/read and prompts/get: the same rule */
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":16,\"method\":\"resources/read\","
                         "\"params\":{\"uri\":\"v:\\\"str\\\"\"}}");
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":17,\"method\":\"prompts/get\","
                         "\"params\":{\"name\":\"p\",\"arguments\":{\"value\":\"[1]\"}}}");
    cr_assert(mt_scripted_wait(&s, "\"id\":16,", WAIT_MS));
    cr_assert(mt_scripted_wait(&s, "\"id\":17,", WAIT_MS));
    a = answer_of(&s, "16");
    cr_expect(strstr(a, "result is not an object") != NULL, "read: %.300s", a);
    free(a);
    a = answer_of(&s, "17");
    cr_expect(strstr(a, "result is not an object") != NULL, "get: %.300s", a);
    free(a);
    db = strdup(s.db);
    cr_assert_not_null(db);
    mt_scripted_stop(&s, WAIT_MS);
    /* every refusal is a stored deny receipt naming it; the object call an allow */
    cr_expect_eq(mt_stored(db, "\"tool_error\"", "result is not an object"), 6);
    cr_expect_eq(mt_stored(db, "\"verdict\":\"allow\"", NULL), 1);
    free(db);
}
