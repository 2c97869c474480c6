/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_rev56_cli.c - `chio capability issue` and `verify` name
 * a grant whose constraint value alone denies every call (review 6 CLI
 * F2, second half): a regex_match the kernel does not read, a path_prefix
 * holding a word break, a domain_glob ending in a dot. Before, issue
 * signed it silently and verify said ok with no "unusable" member, while
 * the kernel denied every call under it (constraint_violated).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"

#define SEED_HEX "0707070707070707070707070707070707070707070707070707070707070707"
#define SUBJECT  "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a"

static char *dir;

static void setup(void)
{
    dir = testutil_tmpdir();
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
}

TestSuite(rev56_cli, .init = setup, .fini = teardown);

/* Issue a token for one grant on s/t with @constraint; the token into
 * @tok (a file) and issue's result returned. */
static cli_result issue(const char *constraint, const char *tok)
{
    char *seed = testutil_join(dir, "seed"), scope[512];
    cli_result r;

    snprintf(scope, sizeof(scope),
             "{\"grants\":[{\"server_id\":\"s\",\"tool_name\":\"t\",\"operations\":[\"invoke\"],"
             "\"constraints\":[%s]}]}",
             constraint);
    cr_assert_eq(testutil_write_file(seed, SEED_HEX "\n", strlen(SEED_HEX) + 1, 0600), 0);
    r = testutil_run_cli((const char *const[]){"capability", "issue", "--seed-file", seed,
                                               "--subject", SUBJECT, "--scope", scope, "--ttl",
                                               "100", "--now", "1710000000", NULL},
                         NULL, 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_assert_eq(testutil_write_file(tok, r.out, strlen(r.out), 0600), 0);
    free(seed);
    return r;
}

static cli_result verify(const char *tok)
{
    return testutil_run_cli(
        (const char *const[]){"capability", "verify", "--at", "1710000050", tok, NULL}, NULL, 0);
}

Test(rev56_cli, a_grant_no_call_can_satisfy_is_named_by_issue_and_verify)
{
    static const struct {
        const char *constraint, *says;
    } rows[] = {
        {"{\"type\":\"regex_match\",\"value\":\"(\"}", "regex_match pattern '('"},
        {"{\"type\":\"path_prefix\",\"value\":\"C:/workspace\"}",
         "path_prefix 'C:/workspace' holds white space"},
        {"{\"type\":\"domain_glob\",\"value\":\"*.example.com.\"}",
         "domain_glob '*.example.com.' ends in a dot"},
    };
    char *tok = testutil_join(dir, "tok.json");

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        cli_result r = issue(rows[i].constraint, tok);
        cr_expect_not_null(strstr(r.err, "warning: grant 0 (server 's', tool 't') allows no call"),
                           "%s: %s", rows[i].constraint, r.err);
        cr_expect_not_null(strstr(r.err, rows[i].says), "%s: %s", rows[i].constraint, r.err);
        testutil_cli_free(&r);
        r = verify(tok);
        /* ok is chio's rule alone (signature, time, chain) */
        cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
        cr_expect_not_null(strstr(r.out, "\"ok\":true"), "%s", r.out);
        cr_expect_not_null(strstr(r.out, "\"unusable\":\"grant 0 (server 's', tool 't') allows "
                                         "no call, whatever the arguments"),
                           "%s: %s", rows[i].constraint, r.out);
        cr_expect_not_null(strstr(r.out, "constraint_violated"), "%s", r.out);
        testutil_cli_free(&r);
    }
    free(tok);
}

Test(rev56_cli, a_grant_the_arguments_decide_gets_no_warning)
{
    static const char *const live[] = {
        "{\"type\":\"path_prefix\",\"value\":\"\"}",
        "{\"type\":\"path_prefix\",\"value\":\"/workspace\"}",
        "{\"type\":\"regex_match\",\"value\":\"^[a-z]+$\"}",
        "{\"type\":\"domain_glob\",\"value\":\"*.example.com\"}",
    };
    char *tok = testutil_join(dir, "tok.json");

    for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
        cli_result r = issue(live[i], tok);
        cr_expect_null(strstr(r.err, "warning"), "%s: %s", live[i], r.err);
        testutil_cli_free(&r);
        r = verify(tok);
        cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
        cr_expect_null(strstr(r.out, "unusable"), "%s: %s", live[i], r.out);
        testutil_cli_free(&r);
    }
    free(tok);
}

/* Review 9 audit F2: a store with every record gone (here its WAL, which
 * holds a small store whole, and its sentinel deleted) read as a legacy
 * log of 0 receipts, and the audit passed it, exit 0, while stderr said
 * "error". A kernel then starts a new log there that audits clean, so
 * the erasure fails the audit now, unless --allow-legacy accepts it. */
Test(rev56_cli, a_store_erased_whole_fails_the_audit_without_allow_legacy)
{
    char *scen = testutil_repo_path("scenarios/boundaries.json");
    char *db = testutil_join(dir, "db"), cmd[1024];
    cli_result r;

    r = testutil_run_cli((const char *const[]){"scenario", "run", scen, "--receipt-db", db, NULL},
                         NULL, 0);
    cr_assert_eq(r.status, 0, "exit %d: %.2000s", r.status, r.err);
    testutil_cli_free(&r);
    r = testutil_run_cli((const char *const[]){"receipt", "verify", "--receipt-db", db, NULL}, NULL,
                         0);
    cr_assert_eq(r.status, 0, "the kernel's own store: exit %d: %.2000s", r.status, r.err);
    cr_assert_null(strstr(r.out, "\"receipts\":0,"), "%s", r.out);
    testutil_cli_free(&r);
    /* a small store lives in its WAL: no table file to delete as well */
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && ! ls *.sst >/dev/null 2>&1 && rm -f *.log CHIO-RECEIPT-STORE", db);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    r = testutil_run_cli((const char *const[]){"receipt", "verify", "--receipt-db", db, NULL}, NULL,
                         0);
    cr_expect_eq(r.status, 1, "exit %d: %.2000s", r.status, r.err);
    cr_expect_not_null(strstr(r.out, "\"receipts\":0,"), "%s", r.out);
    cr_expect_not_null(strstr(r.err, "error:"), "%s", r.err);
    cr_expect_not_null(strstr(r.err, "holds no receipt, key record or log head"), "%s", r.err);
    testutil_cli_free(&r);
    r = testutil_run_cli(
        (const char *const[]){"receipt", "verify", "--receipt-db", db, "--allow-legacy", NULL},
        NULL, 0);
    cr_expect_eq(r.status, 0, "exit %d: %.2000s", r.status, r.err);
    cr_expect_not_null(strstr(r.err, "note:"), "%s", r.err);
    testutil_cli_free(&r);
    free(db);
    free(scen);
}
