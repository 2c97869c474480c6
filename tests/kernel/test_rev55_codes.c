/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev55_codes.c - review 5 of stop 55, F2: a receipt's
 * decision.guard names the kernel check that denied by its code, so a
 * guard registered as "capability_revoked" made its denials read as
 * revocations (`chio receipt list` showed that code). Every decision
 * code's name is now refused as a guard name, through the API and in a
 * scenario file; and `receipt list` shows stream_limit for an incomplete
 * call, where it showed "-".
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/rev28util.h"

static int pass_guard(void *user, const chio_guard_input *in, chio_guard_verdict *verdict,
                      char *details, size_t cap)
{
    (void)user;
    (void)in;
    (void)details;
    (void)cap;
    *verdict = CHIO_GUARD_PASS;
    return 0;
}

Test(rev55_codes, a_guard_named_for_a_decision_code_is_refused)
{
    chio_kernel_config cfg;
    chio_kernel *k;
    const char *prefix = "/etc/", *pattern = "AKIA[0-9A-Z]{16}";
    char *dir = testutil_tmpdir();
    cli_result r;
    size_t i;

    kt_config(&cfg, NULL);
    k = kt_kernel(&cfg);
    for (i = 0; chio_code_name((chio_code)i) != NULL; i++) {
        const char *name = chio_code_name((chio_code)i);
        cr_expect_eq(chio_kernel_add_guard(k, name, pass_guard, NULL, NULL), CHIO_EINVAL, "%s",
                     name);
        cr_expect_eq(chio_kernel_add_forbidden_path_guard(k, name, &prefix, 1, NULL), CHIO_EINVAL,
                     "%s", name);
        cr_expect_eq(chio_kernel_add_secret_leak_guard(k, name, &pattern, 1, NULL), CHIO_EINVAL,
                     "%s", name);
    }
    cr_expect_geq(i, 25, "only %zu codes", i);
    /* A name holding a code is no code. */
    cr_expect_eq(chio_kernel_add_guard(k, "capability_revoked_check", pass_guard, NULL, NULL), 0);
    chio_kernel_free(k);

    r = testutil_run_scenario_text(
        dir, "{\"schema\":\"chio.scenario.v1\",\"guards\":[{\"name\":\"capability_revoked\","
             "\"type\":\"forbidden_path\",\"prefixes\":[\"/etc/\"]}],\"steps\":[]}");
    cr_expect_eq(r.status, 2, "exit %d: %s%s", r.status, r.out, r.err);
    cr_expect(strstr(r.err, "guards[0].name") != NULL, "%s", r.err);
    cr_expect(strstr(r.err, "is a decision code") != NULL, "%s", r.err);
    testutil_cli_free(&r);
    testutil_rmrf(dir);
    free(dir);
}

/* Emit 7-byte chunks until one is refused at the 12-byte limit. */
static int overrun_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                        size_t len, chio_output *out)
{
    (void)user;
    (void)tool;
    (void)args;
    (void)len;
    (void)out;
    while (chio_tool_ctx_emit_chunk(ctx, "\"xxxxx\"", 7) == 0)
        ;
    return 0;
}

Test(rev55_codes, receipt_list_shows_stream_limit_for_an_incomplete_call)
{
    static const rs_tool extra[] = {{"srv-overrun", 1, overrun_tool}, {NULL, 0, NULL}};
    char *dir = testutil_tmpdir(), *db = testutil_join(dir, "db");
    chio_response resp;
    cli_result r;

    rs_setup(db, 12, 0, extra);
    rs_call("srv-overrun", &resp);
    cr_expect_eq(resp.verdict, CHIO_VERDICT_INCOMPLETE, "verdict %d", resp.verdict);
    chio_response_destroy(&resp);
    chio_kernel_free(rs_k);
    r = testutil_run_cli(
        (const char *const[]){"receipt", "list", "--receipt-db", db, "--format", "table", NULL},
        NULL, 0);
    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_expect(strstr(r.out, "incomplete  stream_limit") != NULL, "%s", r.out);
    testutil_cli_free(&r);
    testutil_rmrf(dir);
    free(db);
    free(dir);
}
