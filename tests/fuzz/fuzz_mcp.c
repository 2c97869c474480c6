/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/fuzz_mcp.c - libFuzzer target for the MCP gateway's message
 * handling (src/mcp/), without processes: the client and the wrapped
 * server are two callbacks.
 *
 * For every input:
 *   - the whole input is read as a chio.mcp-policy.v1 document (accepted
 *     or refused, never a crash or a leak);
 *   - a gateway over an ephemeral kernel under a fixed policy (a new
 *     kernel whenever the last input got as far as the session set-up,
 *     which registers with the kernel for good) is fed
 *     the input's lines, each to the client side ('c' first byte) or the
 *     server side (any other first byte), then both sides close;
 *   - everything the gateway sends to either side is one JSON object on
 *     one line (parses, no newline; toward the server no CR either);
 *   - a tools/call that reaches the server passed the fixed policy: no
 *     string in its arguments is longer than the grant's max_length (64)
 *     or is a path at or under the forbidden_path guard's /etc/;
 *   - after the close every worker ends and everything is freed (ASan's
 *     leak check covers the rest).
 * Any violated invariant calls abort(), which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <chio/chio.h>
#include <sanitizer/lsan_interface.h>

#include "mcp.h"

static uint64_t signed_receipts(const chio_kernel *k)
{
    chio_kernel_metrics m;

    return chio_kernel_metrics_get(k, &m) == 0 ? m.receipts_signed : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char policy_text[] =
    "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"srv\","
    "\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"*\",\"operations\":[\"invoke\"],"
    "\"constraints\":[{\"type\":\"max_length\",\"value\":64}]}],"
    "\"resource_grants\":[{\"uri_pattern\":\"*\",\"operations\":[\"read\"]}],"
    "\"prompt_grants\":[{\"prompt_name\":\"p*\",\"operations\":[\"get\"]}],"
    "\"guards\":[{\"name\":\"secret_leak\"},{\"name\":\"forbidden_path\",\"prefixes\":[\"/etc/"
    "\"]}],"
    "\"kernel\":{\"allow_sampling\":true,\"allow_elicitation\":false,"
    "\"checkpoint_batch_size\":0}}";

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_mcp: invariant violated: %s\n", what);
    abort();
}

static int check_line(void *user, const char *line, size_t len)
{
    chio_json_doc *doc = NULL;

    (void)user;
    if (memchr(line, '\n', len) != NULL)
        fail("a message holds a newline");
    if (chio_json_parse(line, len, &doc, NULL) != 0)
        fail("a message is not JSON");
    if (chio_json_typeof(chio_json_root(doc)) != CHIO_JSON_OBJECT)
        fail("a message is not an object");
    chio_json_doc_free(doc);
    return 0;
}

/* The fixed policy's max_length (64) and forbidden_path ("/etc/"), seen
 * from the server's side: every string leaf of a forwarded call's
 * arguments (object keys are not leaves). */
static void check_allowed_leaf(const chio_json *v)
{
    size_t i, n = chio_json_size(v), len;
    const char *s;

    switch (chio_json_typeof(v)) {
    case CHIO_JSON_STRING:
        s = chio_json_string(v, &len);
        if (len > 64)
            fail("a tools/call with a string over max_length 64 reached the server");
        if (strcmp(s, "/etc") == 0 || strncmp(s, "/etc/", 5) == 0)
            fail("a tools/call with a path under /etc/ reached the server");
        break;
    case CHIO_JSON_ARRAY:
    case CHIO_JSON_OBJECT:
        for (i = 0; i < n; i++)
            check_allowed_leaf(chio_json_at(v, i));
        break;
    default:
        break;
    }
}

static void check_forwarded_call(const char *line, size_t len)
{
    chio_json_doc *doc = NULL;
    const chio_json *root, *params;
    const char *method;

    if (chio_json_parse(line, len, &doc, NULL) != 0)
        return; /* check_line reports it */
    root = chio_json_root(doc);
    method = chio_json_string(chio_json_get(root, "method"), NULL);
    params = chio_json_get(root, "params");
    if (method != NULL && strcmp(method, "tools/call") == 0 && params != NULL)
        check_allowed_leaf(chio_json_get(params, "arguments"));
    chio_json_doc_free(doc);
}

/* Toward the server, also no CR: the gateway sends what it parsed or built
 * (canonical JSON), never a peer's bytes, and a reader in Python's text
 * mode ends a line at a CR. */
static int check_server_line(void *user, const char *line, size_t len)
{
    if (memchr(line, '\r', len) != NULL)
        fail("a message to the server holds a CR");
    check_forwarded_call(line, len);
    return check_line(user, line, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static chio_mcp_policy *pol;
    static chio_kernel *k;
    chio_mcp_policy *p = NULL;
    chio_mcp_gateway *g = NULL;
    chio_keypair *kp = NULL;
    const char *s = (const char *)data, *end = s + size;

    if (chio_mcp_policy_parse(s, size, &p, NULL) == 0 && p->scope_json == NULL)
        fail("a parsed policy has no scope");
    chio_mcp_policy_free(p);
    if (pol == NULL && chio_mcp_policy_parse(policy_text, strlen(policy_text), &pol, NULL) != 0)
        fail("the fixed policy does not parse");
    if (k == NULL) {
        /* The kernel outlives this input. Its key sits in a page of its
         * own (mmap) that core/key_memory.c registers with LeakSanitizer
         * (in clang builds only since it asks __has_feature); the set-up
         * stays out of the leak checks all the same. */
        __lsan_disable();
        if (chio_keypair_generate(&kp, NULL) != 0 ||
            chio_mcp_kernel_new(pol, kp, NULL, &k, NULL) != 0)
            fail("no kernel");
        __lsan_enable();
    }
    if (chio_mcp_gateway_new(pol, k, check_line, check_server_line, NULL, &g) != 0)
        fail("no gateway");
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *e = nl ? nl : end;
        if (e > s) {
            if (*s == 'c')
                chio_mcp_gateway_client_line(g, s + 1, (size_t)(e - s - 1));
            else
                chio_mcp_gateway_server_line(g, s + 1, (size_t)(e - s - 1));
        }
        s = nl ? nl + 1 : end;
    }
    chio_mcp_gateway_server_closed(g);
    chio_mcp_gateway_client_closed(g);
    chio_mcp_gateway_cancel_all(g);
    chio_mcp_gateway_wait_idle(g);
    /* A kernel the session set-up used is freed after the input; one that
     * only signed refusal receipts (mcp/refusal.c) is kept, up to 10,000
     * of them, so that its in-memory store stays bounded. */
    if (chio_mcp_gateway_kernel_used(g) || signed_receipts(k) > 10000) {
        chio_mcp_gateway_free(g);
        chio_kernel_free(k);
        k = NULL;
    } else {
        chio_mcp_gateway_free(g);
    }
    return 0;
}
