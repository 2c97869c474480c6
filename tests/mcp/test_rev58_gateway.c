/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev58_gateway.c - review 17 of the services, against the
 * real chio mcp serve-http wrapping tests/mcp/rev56-mcp-server.mjs under
 * node:
 *   - F1: a denied resources/read or prompts/get, and the kernel's check
 *     behind a subscription, were filed under tool_server "*" (no provider
 *     had answered), so `chio receipt list --tool-server` found the
 *     allowed reads and none of the refusals; every such receipt now names
 *     the policy's server_id;
 *   - F2: over HTTP a message whose envelope is not JSON-RPC 2.0 was
 *     answered -32600 under id null even when its id was a valid one; it
 *     is now answered under that id, as over stdio.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "mcp/mcphttp.h"
#include "mcp/mcputil.h"

#define POLICY                                                                           \
    "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[{\"server_id\":" \
    "\"s\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}],\"resource_grants\":[{"     \
    "\"uri_pattern\":\"file:///pub/*\",\"operations\":[\"read\"]}]}"
#define INIT                                                                           \
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"             \
    "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":" \
    "\"rev58\",\"version\":\"1\"}}}"
#define SEED    "0000000000000000000000000000000000000000000000000000000000000958"
#define SERVER  "tests/mcp/rev56-mcp-server.mjs"
#define WAIT_MS 10000

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

TestSuite(rev58_gateway, .init = setup, .fini = teardown);

/* serve-http over the server, its store in dir/db; its port in *@port. */
static pid_t start(unsigned *port, char **db)
{
    char *seed = testutil_join(dir, "seed"), *pol = testutil_join(dir, "policy.json"),
         *errf = testutil_join(dir, "gw.err"), *server = testutil_repo_path(SERVER);
    pid_t pid;

    *db = testutil_join(dir, "db");
    cr_assert_eq(testutil_write_file(seed, SEED, strlen(SEED), 0600), 0);
    cr_assert_eq(testutil_write_file(pol, POLICY, strlen(POLICY), 0600), 0);
    pid = mh_start((const char *const[]){"mcp", "serve-http", "--policy", pol, "--receipt-db", *db,
                                         "--seed-file", seed, "--listen", "127.0.0.1:0", "--",
                                         "node", server, NULL},
                   errf, NULL, WAIT_MS, port);
    free(seed);
    free(pol);
    free(errf);
    free(server);
    return pid;
}

/* The number of lines of @text holding @a and @b (NULL: any). */
static int lines_with(const char *text, const char *a, const char *b)
{
    const char *p = text;
    int n = 0;

    while (*p != '\0') {
        size_t len = strcspn(p, "\n");
        char *line = strndup(p, len);
        cr_assert_not_null(line);
        n += strstr(line, a) != NULL && (b == NULL || strstr(line, b) != NULL);
        free(line);
        p += len;
        if (*p == '\n')
            p++;
    }
    return n;
}

Test(rev58_gateway, every_receipt_of_a_read_or_get_names_the_server)
{
    static const char *const posts[] = {
        /* allowed */
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{\"uri\":"
        "\"file:///pub/ok.txt\"}}",
        /* out of scope: denied before any provider ran */
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/read\",\"params\":{\"uri\":"
        "\"file:///priv/x\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"prompts/get\",\"params\":{\"name\":\"p\"}}",
        /* a subscription to a URI that is not plain: the kernel's check */
        "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"resources/subscribe\",\"params\":{\"uri\":"
        "\"file:///pub/my%20file.txt\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"resources/subscribe\",\"params\":{\"uri\":"
        "\"file:///pub//etc/x\"}}",
    };
    char sid[33], *db, *got, *receipts;
    unsigned port;
    size_t i;
    pid_t pid = start(&port, &db);
    int reads, gets;

    mh_session(port, INIT, sid, WAIT_MS);
    for (i = 0; i < sizeof(posts) / sizeof(posts[0]); i++) {
        got = mh_post(port, mh_sid_header(sid), posts[i], WAIT_MS);
        cr_expect_not_null(strstr(got, "\"jsonrpc\""), "post %zu: %.1000s", i, got);
        free(got);
    }
    receipts = mh_stop(pid, db);
    reads = lines_with(receipts, "\"tool_name\":\"resources/read\"", NULL);
    gets = lines_with(receipts, "\"tool_name\":\"prompts/get\"", NULL);
    /* the allowed read, the denied one, both subscription checks */
    cr_expect_geq(reads, 4, "%.3000s", receipts);
    cr_expect_eq(gets, 1, "%.3000s", receipts);
    cr_expect_eq(lines_with(receipts, "\"tool_name\":\"resources/read\"", "\"tool_server\":\"s\""),
                 reads, "a read's receipt names another server: %.3000s", receipts);
    cr_expect_eq(lines_with(receipts, "\"tool_name\":\"prompts/get\"", "\"tool_server\":\"s\""),
                 gets, "%.3000s", receipts);
    cr_expect_eq(lines_with(receipts, "\"tool_server\":\"*\"", NULL), 0, "%.3000s", receipts);
    cr_expect_geq(lines_with(receipts, "\"tool_name\":\"resources/read\"", "\"verdict\":\"deny\""),
                  2, "%.3000s", receipts);
    free(receipts);
    free(db);
}

Test(rev58_gateway, an_envelope_error_over_http_is_answered_under_its_id)
{
    static const struct {
        const char *body, *id;
    } rows[] = {
        {"{\"jsonrpc\":\"2.0\",\"id\":15,\"method\":\"tools/call\\u0000\",\"params\":{}}",
         "\"id\":15,"},
        {"{\"jsonrpc\":\"2.0\",\"id\":17,\"method\":5}", "\"id\":17,"},
        {"{\"jsonrpc\":\"1.0\",\"id\":\"x18\",\"method\":\"ping\"}", "\"id\":\"x18\","},
        {"{\"jsonrpc\":\"2.0\",\"id\":19,\"method\":\"ping\",\"result\":{}}", "\"id\":19,"},
        /* an id that is not a valid one stays null */
        {"{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}", "\"id\":null,"},
    };
    char sid[33], *db, *got, *receipts;
    unsigned port;
    size_t i;
    pid_t pid = start(&port, &db);

    mh_session(port, INIT, sid, WAIT_MS);
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        got = mh_post(port, mh_sid_header(sid), rows[i].body, WAIT_MS);
        cr_expect_not_null(strstr(got, "HTTP/1.1 400"), "row %zu: %.1000s", i, got);
        cr_expect_not_null(strstr(got, "\"code\":-32600"), "row %zu: %.1000s", i, got);
        cr_expect_not_null(strstr(got, rows[i].id), "row %zu: not under %s: %.1000s", i, rows[i].id,
                           got);
        free(got);
    }
    receipts = mh_stop(pid, db);
    free(receipts);
    free(db);
}
