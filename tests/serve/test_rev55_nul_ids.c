/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/serve/test_rev55_nul_ids.c - review 8 of stop 55: an evaluate
 * body whose tool_name, tool_server, capability_id or request_id holds a
 * NUL (\u0000) got 400 "tool_server and tool_name are required strings",
 * which they were. The 400 now names the member holding the NUL. No
 * receipt either way: no name the library takes can carry one (kernel.md
 * lists NUL bytes among the errors without a receipt).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "serve/sidecar_proc.h"

#define SEED_HEX "5656565656565656565656565656565656565656565656565656565656565656"
#define BEARER   "rev55-nul-ids-bearer-0123456789ab"
#define AUTH     "Authorization: Bearer " BEARER "\r\n"

Test(rev55_nul_ids, a_nul_in_a_name_or_id_is_named_in_the_400)
{
    static const struct {
        const char *body, *member;
    } rows[] = {
        {"{\"capability_id\":\"x\",\"tool_server\":\"files\",\"tool_name\":\"re\\u0000ad\"}",
         "tool_name holds a NUL"},
        {"{\"capability_id\":\"x\",\"tool_server\":\"fi\\u0000les\",\"tool_name\":\"read\"}",
         "tool_server holds a NUL"},
        {"{\"capability_id\":\"x\\u0000\",\"tool_server\":\"files\",\"tool_name\":\"read\"}",
         "capability_id holds a NUL"},
        {"{\"capability_id\":\"x\",\"tool_server\":\"files\",\"tool_name\":\"read\","
         "\"request_id\":\"r\\u00001\"}",
         "request_id holds a NUL"},
    };
    sidecar sc;
    size_t i;

    sidecar_start(&sc, SEED_HEX, BEARER);
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *reply = NULL;
        unsigned st = sidecar_post(&sc, "/v1/evaluate", AUTH, rows[i].body, &reply);
        cr_expect_eq(st, 400, "row %zu: %u %s", i, st, reply);
        cr_expect_not_null(strstr(reply, "\"invalid_request\""), "row %zu: %s", i, reply);
        cr_expect_not_null(strstr(reply, rows[i].member), "row %zu: %s", i, reply);
        free(reply);
    }
    sidecar_stop(&sc);
}
