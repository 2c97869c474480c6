/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_constraints.c - the argument constraints of check 6,
 * table-driven through the real pipeline: each row is one constraint, one
 * argument object and whether the call is allowed (else it must be denied
 * with constraint_violated and a receipt).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NOW 1710000300u

static uint64_t clock_fn(void *ctx)
{
    (void)ctx;
    return NOW;
}

static int echo(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    return chio_output_set_json(out, args, len);
}

typedef struct row {
    const char *constraint; /* {"type":..,"value":..} */
    const char *args;
    int allow;
} row;

static void run_rows(const row *rows, size_t n)
{
    static const char *const tools[] = {"t"};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_kernel *k;
    chio_error err;
    size_t i;

    kt_config(&cfg, NULL);
    cfg.clock = clock_fn;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = echo;
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0);
    for (i = 0; i < n; i++) {
        char scope[1024], id[32], sid[CHIO_SESSION_ID_LEN + 1], *tok;
        const char *caps[1];
        chio_response r;
        chio_call c;

        snprintf(id, sizeof(id), "cap-%zu", i);
        snprintf(scope, sizeof(scope),
                 "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
                 "\"operations\":[\"invoke\"],\"constraints\":[%s]}]}",
                 rows[i].constraint);
        tok = tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB, scope, NOW - 10, 100, NULL, 0);
        cr_assert_not_null(tok, "row %zu: token", i);
        caps[0] = tok;
        cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0,
                     "row %zu: %s", i, err.message);
        memset(&c, 0, sizeof(c));
        c.session_id = sid;
        c.capability_id = id;
        c.server_id = "srv";
        c.tool_name = "t";
        c.arguments_json = rows[i].args;
        c.arguments_len = strlen(rows[i].args);
        chio_error_init(&err);
        cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "row %zu: %s", i, err.message);
        if (rows[i].allow)
            cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "row %zu (%s on %s): denied: %s", i,
                         rows[i].constraint, rows[i].args, r.reason);
        else
            cr_expect(r.verdict == CHIO_VERDICT_DENY && r.code == CHIO_CODE_CONSTRAINT_VIOLATED,
                      "row %zu (%s on %s): verdict %d code %s", i, rows[i].constraint, rows[i].args,
                      r.verdict, chio_code_name(r.code));
        cr_expect_not_null(r.receipt);
        chio_response_destroy(&r);
        free(tok);
    }
    chio_kernel_free(k);
}

#define PP(v) "{\"type\":\"path_prefix\",\"value\":\"" v "\"}"

Test(constraints, path_prefix_normalises_before_comparing)
{
    static const row rows[] = {
        {PP("/workspace"), "{\"path\":\"/workspace\"}", 1},
        {PP("/workspace"), "{\"path\":\"/workspace/a/b\"}", 1},
        {PP("/workspace/"), "{\"path\":\"/workspace/a\"}", 1},
        {PP("/workspace"), "{\"path\":\"/workspace/./a//b/\"}", 1},
        {PP("/workspace"), "{\"path\":\"/workspace/a/../b\"}", 1},
        {PP("/workspace"), "{\"path\":\"/workspace/../etc/passwd\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/a/../../etc\"}", 0},
        {PP("/workspace"), "{\"path\":\"/../workspace/a\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspacefoo/a\"}", 0},
        {PP("/workspace"), "{\"path\":\"workspace/a\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace\\\\..\\\\etc\"}", 0},
        {PP("/workspace"), "{\"src\":\"/workspace/a\",\"dst\":\"/tmp/b\"}", 0},
        {PP("/workspace"), "{\"src\":\"/workspace/a\",\"dst\":\"/workspace/b\"}", 1},
        {PP("/workspace"), "{\"files\":[{\"path\":\"/workspace/a\"},{\"path\":\"/etc/x\"}]}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/a\",\"mode\":\"read\"}", 1},
        {PP("/workspace"), "{\"url\":\"https://example.com/a\"}", 0}, /* no path at all */
        {PP("/workspace"), "{}", 0},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

Test(constraints, domains)
{
    static const row rows[] = {
        {"{\"type\":\"domain_exact\",\"value\":\"api.example.com\"}",
         "{\"url\":\"https://api.example.com/v1?q=1\"}", 1},
        {"{\"type\":\"domain_exact\",\"value\":\"api.example.com\"}",
         "{\"url\":\"https://API.Example.com.:8443/v1\"}", 1},
        {"{\"type\":\"domain_exact\",\"value\":\"api.example.com\"}",
         "{\"url\":\"https://user@evil.com/api.example.com\"}", 0},
        {"{\"type\":\"domain_exact\",\"value\":\"api.example.com\"}",
         "{\"url\":\"https://api.example.com.evil.com/\"}", 0},
        {"{\"type\":\"domain_exact\",\"value\":\"api.example.com\"}",
         "{\"host\":\"api.example.com\"}", 1},
        {"{\"type\":\"domain_exact\",\"value\":\"api.example.com\"}", "{\"q\":\"hello\"}", 0},
        {"{\"type\":\"domain_glob\",\"value\":\"*.example.com\"}",
         "{\"url\":\"https://a.b.example.com/\"}", 1},
        {"{\"type\":\"domain_glob\",\"value\":\"*.example.com\"}",
         "{\"url\":\"https://example.com/\"}", 0},
        {"{\"type\":\"domain_glob\",\"value\":\"*.example.com\"}",
         "{\"urls\":[\"https://a.example.com/\",\"http://b.example.org/\"]}", 0},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

Test(constraints, regex_length_size_custom_and_unknown)
{
    static const row rows[] = {
        {"{\"type\":\"regex_match\",\"value\":\"^SELECT \"}", "{\"sql\":\"SELECT 1\"}", 1},
        {"{\"type\":\"regex_match\",\"value\":\"^SELECT \"}", "{\"sql\":\"DROP TABLE x\"}", 0},
        {"{\"type\":\"regex_match\",\"value\":\"(unclosed\"}", "{\"sql\":\"(unclosed\"}", 0},
        {"{\"type\":\"max_length\",\"value\":5}", "{\"a\":\"12345\",\"b\":[\"x\"]}", 1},
        {"{\"type\":\"max_length\",\"value\":5}", "{\"a\":{\"b\":\"123456\"}}", 0},
        {"{\"type\":\"max_args_size\",\"value\":9}", "{\"a\":\"1\"}", 1},     /* 9 bytes */
        {"{\"type\":\"max_args_size\",\"value\":9}", "{\"a\":\"12\"}", 0},    /* 10 bytes */
        {"{\"type\":\"max_args_size\",\"value\":9}", "{ \"a\" : \"1\" }", 1}, /* canonical */
        {"{\"type\":\"custom\",\"value\":[\"env\",\"staging\"]}", "{\"env\":\"staging\"}", 1},
        {"{\"type\":\"custom\",\"value\":[\"env\",\"staging\"]}",
         "{\"opts\":{\"env\":\"staging\"}}", 1},
        {"{\"type\":\"custom\",\"value\":[\"env\",\"staging\"]}", "{\"env\":\"prod\"}", 0},
        {"{\"type\":\"quantum_entangled\",\"value\":1}", "{}", 0},
        {"{\"type\":\"max_length\",\"value\":\"five\"}", "{}", 0}, /* malformed value */
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}
