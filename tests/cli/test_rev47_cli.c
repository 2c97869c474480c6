/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_rev47_cli.c - review 47 of the CLI. Suite rev47_cli:
 * - `chio capability verify` said nothing of a grant the kernel does not
 *   enforce (a constraint type chio does not have, a value of the wrong
 *   shape, constraints null, max_invocations past a u32, dpop_required, a
 *   cost cap), while the kernel denies every call under it
 *   unsupported_grant. Its report now names the grant in "unusable" (ok
 *   stays chio's rule: signature, time, chain, issuer); the sidecar's
 *   kernel is asked the same token to show they agree.
 * - `chio serve` accepted a --token-file token no request can carry.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chio/chio.h"
#include "cli/svc_testutil.h"
#include "common/testutil.h"
#include "common/token_views.h"
#include "kernel/tokens.h"
#include "serve/serve.h"

TestSuite(rev47_cli);

/* A token the test kernel's key signed for the agent, holding one grant
 * for s:t that is @grant_tail after its operations. */
static char *token_with(const char *grant_tail)
{
    char scope[512], *tok;

    snprintf(
        scope, sizeof(scope),
        "{\"grants\":[{\"server_id\":\"s\",\"tool_name\":\"t\",\"operations\":[\"invoke\"]%s}]}",
        grant_tail);
    tok = tk_token(TK_KERNEL_SEED, "cap-47", TK_AGENT_PUB, scope, tv_now() - 60, 3600, NULL, 0);
    cr_assert_not_null(tok, "%s", scope);
    return tok;
}

Test(rev47_cli, capability_verify_names_what_the_kernel_does_not_enforce)
{
    static const char *const rows[] = {
        ",\"constraints\":[{\"type\":\"bogus_type\",\"value\":\"x\"}]",
        ",\"constraints\":[{\"type\":\"max_length\",\"value\":\"ten\"}]",
        ",\"constraints\":[{\"type\":\"custom\",\"value\":[\"role\"]}]",
        ",\"constraints\":[{\"type\":\"path_prefix\",\"value\":\"/x\",\"mode\":\"strict\"}]",
        ",\"constraints\":null",
        ",\"max_invocations\":4294967296",
        ",\"dpop_required\":true",
        ",\"max_cost_per_invocation\":{\"units\":5,\"currency\":\"USD\"}",
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *tok = token_with(rows[i]), code[64];
        cli_result r = tv_verify(tok);

        tv_sidecar_code(tok, "{\"a\":\"b\",\"path\":\"/x\"}", code, sizeof(code));
        cr_expect_str_eq(code, "unsupported_grant", "the kernel on %s: %s", rows[i], code);
        /* ok is chio's rule (signature, time, chain, issuer) */
        cr_expect_eq(r.status, 0, "%s: exit %d, %s%s", rows[i], r.status, r.out, r.err);
        cr_expect(strstr(r.out, "\"ok\":true") != NULL, "%s: %s", rows[i], r.out);
        cr_expect(strstr(r.out, "\"unusable\":\"grant 0 asks for ") != NULL, "%s: %s", rows[i],
                  r.out);
        testutil_cli_free(&r);
        free(tok);
    }
}

/* Grants the kernel reads stay ok, with no "unusable" member. */
Test(rev47_cli, capability_verify_keeps_grants_the_kernel_reads_ok)
{
    static const char *const rows[] = {
        "",
        ",\"constraints\":[{\"type\":\"path_prefix\",\"value\":\"/x\"},{\"type\":\"max_length\","
        "\"value\":10},{\"type\":\"custom\",\"value\":[\"a\",\"b\"]}]",
        ",\"max_invocations\":4294967295",
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *tok = token_with(rows[i]), code[64];
        cli_result r = tv_verify(tok);

        tv_sidecar_code(tok, "{\"a\":\"b\",\"path\":\"/x\"}", code, sizeof(code));
        cr_expect_str_eq(code, "none", "the kernel on %s: %s", rows[i], code);
        cr_expect_eq(r.status, 0, "%s: exit %d, %s%s", rows[i], r.status, r.out, r.err);
        cr_expect(strstr(r.out, "\"ok\":true") != NULL, "%s: %s", rows[i], r.out);
        cr_expect(strstr(r.out, "unusable") == NULL, "%s: %s", rows[i], r.out);
        testutil_cli_free(&r);
        free(tok);
    }
}

/* A --token-file token holding a control character can never be sent:
 * the sidecar refuses every request whose header value holds one (400),
 * so it started and answered every request 400. Refused at start now,
 * exit 2 (a sidecar that starts is killed at the run's deadline: -1). */
Test(rev47_cli, serve_refuses_a_token_no_request_can_carry)
{
    static const char *const tokens[] = {"abcdefghijklmnop\x7fq", "abcdefghijklmnop\x01q",
                                         "abcdefghijklmnop\x1bq"};
    char *dir = testutil_tmpdir(), *seed = testutil_join(dir, "seed"),
         *tok = testutil_join(dir, "token"), *db = testutil_join(dir, "db");
    size_t i;

    svctest_setup(); /* svctest_run()'s output files */
    cr_assert_eq(testutil_write_file(seed, TK_KERNEL_SEED, 64, 0600), 0);
    for (i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
        const char *argv[] = {
            CHIO_TEST_CLI, "serve",       "--receipt-db", db,  "--seed-file", seed,
            "--listen",    "127.0.0.1:0", "--token-file", tok, NULL};
        svctest_ran r;

        unlink(tok);
        cr_assert_eq(testutil_write_file(tok, tokens[i], strlen(tokens[i]), 0600), 0);
        r = svctest_run(argv, 20000);
        cr_expect_eq(r.status, 2, "token %zu: exit %d: %s", i, r.status, r.err);
        cr_expect(strstr(r.err, "control characters") != NULL, "token %zu: %s", i, r.err);
        svctest_ran_free(&r);
    }
    testutil_rmrf(dir);
    free(dir);
    free(seed);
    free(tok);
    free(db);
    svctest_teardown();
}

/* chio_capability_unenforced(), the reading `capability verify` uses: its
 * arguments, and a token whose every part the kernel enforces. */
Test(rev47_cli, capability_unenforced_reads_like_the_kernel)
{
    char *plain = token_with(""), *dpop = token_with(",\"dpop_required\":true"), why[8];
    chio_capability *a = NULL, *b = NULL;

    cr_assert_eq(chio_capability_parse(plain, strlen(plain), &a, NULL), 0);
    cr_assert_eq(chio_capability_parse(dpop, strlen(dpop), &b, NULL), 0);
    cr_expect_eq(chio_capability_unenforced(NULL, why, sizeof(why)), CHIO_EINVAL);
    cr_expect_eq(chio_capability_unenforced(a, NULL, 4), CHIO_EINVAL);
    cr_expect_eq(chio_capability_unenforced(a, why, sizeof(why)), 0);
    cr_expect_str_eq(why, "");
    cr_expect_eq(chio_capability_unenforced(b, NULL, 0), 1);
    cr_expect_eq(chio_capability_unenforced(b, why, sizeof(why)), 1);
    cr_expect_str_eq(why, "grant 0"); /* cut to fit, NUL-terminated */
    chio_capability_free(a);
    chio_capability_free(b);
    free(plain);
    free(dpop);
}
