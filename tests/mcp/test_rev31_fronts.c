/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev31_fronts.c - review 31 of the MCP gateway against the
 * library (pinned; nothing here failed before): a tools/call's arguments
 * reach the kernel and the wrapped server as the canonical form the
 * library signs for the same value, so number and string forms a
 * re-serialising door could change (1e2, -0, 1.0, integers past 2^53 and
 * past uint64, escapes, U+2028) get the parameter_hash that
 * chio_json_canonicalize() gives; arguments 126 levels deep are denied
 * arguments_rejected with a receipt, and 127 make the message deeper than
 * the parser reads (-32700, no receipt; docs/spec-reading.md, "Front
 * doors"). A gateway over a kernel on a RocksDB directory, read back after
 * the drain; the fake server answers inside the gateway's send.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "mcp/mcp.h"
#include "mcp/mcputil.h"

static const char policy[] =
    "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[{\"server_id\":\"s\","
    "\"tool_name\":\"echo\",\"operations\":[\"invoke\"]}]}";

/* Lines each side got (0: the client, 1: the server). */
static mt_lines got_lines = MT_LINES_INIT;

static chio_mcp_gateway *gw;

static void keep(int side, const char *line, size_t len)
{
    mt_lines_add(&got_lines, side, line, len);
}

static int to_client(void *user, const char *line, size_t len)
{
    (void)user;
    keep(0, line, len);
    return 0;
}

/* The fake server: answers initialize and every tools/call at once. */
static int to_server(void *user, const char *line, size_t len)
{
    chio_json_doc *doc = NULL;
    const char *method, *id;
    char out[256];

    (void)user;
    keep(1, line, len);
    if (chio_json_parse(line, len, &doc, NULL) != 0)
        return 0;
    method = chio_json_string(chio_json_get(chio_json_root(doc), "method"), NULL);
    id = chio_json_string(chio_json_get(chio_json_root(doc), "id"), NULL);
    if (method != NULL && id != NULL) {
        snprintf(out, sizeof(out), "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"result\":%s}", id,
                 strcmp(method, "tools/call") == 0 ? "{\"content\":[]}" : "{}");
        chio_mcp_gateway_server_line(gw, out, strlen(out));
    }
    chio_json_doc_free(doc);
    return 0;
}

/* A copy of the first client line holding @needle, waited for up to 10 s. */
static char *client_got(const char *needle)
{
    return mt_lines_wait(&got_lines, 0, needle, 10000);
}

/* Send tools/call echo with @args as request @id; the client's answer. */
static char *call(int id, const char *args)
{
    char *line = malloc(strlen(args) + 128), needle[32];

    cr_assert_not_null(line);
    sprintf(line,
            "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{\"name\":"
            "\"echo\",\"arguments\":%s}}",
            id, args);
    chio_mcp_gateway_client_line(gw, line, strlen(line));
    free(line);
    snprintf(needle, sizeof(needle), "\"id\":%d", id);
    return client_got(needle);
}

/* Stored receipts holding @needle. */
static int stored(const char *dir, const char *needle)
{
    return mt_stored(dir, needle, NULL);
}

/* {"a":{"a":...1...}} @depth levels deep (malloc'd). */
static char *nested(int depth)
{
    char *p = malloc((size_t)depth * 6 + 2);
    size_t o = 0;
    int i;

    cr_assert_not_null(p);
    for (i = 0; i < depth; i++, o += 5)
        memcpy(p + o, "{\"a\":", 5);
    p[o++] = '1';
    for (i = 0; i < depth; i++)
        p[o++] = '}';
    p[o] = '\0';
    return p;
}

static const char *const forms[] = {
    "{\"a\":1e2}",
    "{\"a\":-0}",
    "{\"a\":1.0}",
    "{\"a\":9007199254740993}",
    "{\"a\":18446744073709551615}",
    "{\"a\":18446744073709551616}",
    "{\"a\":123456789012345678901234567890}",
    "{\"a\":1E+21,\"b\":5e-324}",
    "{\"\\u0061\":\"\\u2028\\/\\ud83d\\ude00\"}",
    "{\"a\":\"\xe2\x80\xa8\"}",
};

TestSuite(rev31_fronts_mcp);

Test(rev31_fronts_mcp, arguments_reach_kernel_and_server_as_the_library_signs_them)
{
    char *dir = testutil_tmpdir(), *ans, *canon, *deep, needle[96], hex[65];
    chio_mcp_policy *pol = NULL;
    chio_keypair *kp = NULL;
    chio_kernel *kern = NULL;
    size_t i, clen;
    int j;

    cr_assert_eq(chio_mcp_policy_parse(policy, strlen(policy), &pol, NULL), 0);
    cr_assert_eq(chio_keypair_generate(&kp, NULL), 0);
    cr_assert_eq(chio_mcp_kernel_new(pol, kp, dir, &kern, NULL), 0);
    cr_assert_eq(chio_mcp_gateway_new(pol, kern, to_client, to_server, NULL, &gw), 0);
    ans = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\"}";
    chio_mcp_gateway_client_line(gw, ans, strlen(ans));
    free(client_got("\"id\":1"));
    for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        ans = call(100 + (int)i, forms[i]);
        cr_assert_not_null(ans, "%s: no answer", forms[i]);
        cr_expect_not_null(strstr(ans, "\"verdict\":\"allow\""), "%s: %s", forms[i], ans);
        free(ans);
    }
    deep = nested(126);
    ans = call(200, deep);
    cr_assert_not_null(ans);
    cr_expect_not_null(strstr(ans, "arguments_rejected"), "%.300s", ans);
    free(ans);
    free(deep);
    /* 127 levels: the message is 129 deep, not read; the parse error has
     * id null (nothing names the call, so nothing is signed). */
    deep = nested(127);
    canon = malloc(strlen(deep) + 128);
    cr_assert_not_null(canon);
    sprintf(canon,
            "{\"jsonrpc\":\"2.0\",\"id\":201,\"method\":\"tools/call\",\"params\":{\"name\":"
            "\"echo\",\"arguments\":%s}}",
            deep);
    chio_mcp_gateway_client_line(gw, canon, strlen(canon));
    free(canon);
    free(deep);
    ans = client_got("-32700");
    cr_expect(ans != NULL && strstr(ans, "\"id\":null") != NULL, "%s", ans);
    free(ans);
    cr_expect(chio_mcp_gateway_wait_idle_ms(gw, 10000), "a call still runs");
    chio_mcp_gateway_server_closed(gw);
    chio_mcp_gateway_client_closed(gw);
    chio_mcp_gateway_free(gw);
    cr_assert_eq(chio_kernel_drain(kern, NULL), 0);
    chio_kernel_free(kern);
    chio_mcp_policy_free(pol);
    /* Each receipt binds the library's canonical form, and the server got
     * exactly that text as the arguments. */
    for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        cr_assert_eq(chio_json_canonicalize(forms[i], strlen(forms[i]), &canon, &clen, NULL), 0);
        cr_assert_eq(chio_sha256_hex(canon, clen, hex), 0);
        snprintf(needle, sizeof(needle), "\"parameter_hash\":\"%s\"", hex);
        cr_expect_eq(stored(dir, needle), 1, "%s: no receipt binds %s", forms[i], canon);
        pthread_mutex_lock(&got_lines.mu);
        for (j = 0; j < got_lines.n[1]; j++)
            if (strstr(got_lines.line[1][j], canon) != NULL)
                break;
        cr_expect_lt(j, got_lines.n[1], "%s: the server never got %s", forms[i], canon);
        pthread_mutex_unlock(&got_lines.mu);
        chio_free(canon);
    }
    cr_expect_eq(stored(dir, "arguments_rejected"), 1);
    mt_lines_clear(&got_lines);
    testutil_rmrf(dir);
    free(dir);
}
