/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/serve/test_rev44_sidecar.c - review 44 of the sidecar's API: one
 * bearer token opened evaluate, mint and revoke, so a host that could ask
 * for decisions could also mint itself a token for any subject and scope
 * (then get an allow for anything) and revoke any id, which docs/sidecar.md
 * said a host compromise could not do. --control-token-file (another
 * token) now keeps mint and revoke to its holder. Real `chio serve`
 * processes on loopback (sidecar_proc.h).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "serve/sidecar_proc.h"

#define BEARER  "rev44-evaluate-token-0123456789"
#define CONTROL "rev44-control-token-9876543210"
#define SUBJECT "4444444444444444444444444444444444444444444444444444444444444444"

#define SEED_HEX "4444444444444444444444444444444444444444444444444444444444444444"

#define MINT_BODY                                                                   \
    "{\"subject\":\"" SUBJECT "\",\"scope\":{\"grants\":[{\"server_id\":\"files\"," \
    "\"tool_name\":\"*\",\"operations\":[\"invoke\"]}]},\"id\":\"job-44\"}"
#define EVAL_BODY "{\"capability_id\":\"job-44\",\"tool_server\":\"files\",\"tool_name\":\"rm\"}"

static unsigned post_as(const sidecar *sc, const char *token, const char *path, const char *body)
{
    char hdr[128], *reply = NULL;
    unsigned st;

    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", token);
    st = sidecar_post(sc, path, hdr, body, &reply);
    free(reply);
    return st;
}

/* A private file holding @token in @dir; malloc'd path. */
static char *token_file(const char *dir, const char *name, const char *token)
{
    char *path = NULL;

    cr_assert(asprintf(&path, "%s/%s", dir, name) > 0);
    cr_assert_eq(testutil_write_file(path, token, strlen(token), 0600), 0);
    return path;
}

Test(rev44_sidecar, a_control_token_of_its_own_keeps_evaluates_token_from_minting)
{
    char *dir = testutil_tmpdir(), *ctl = token_file(dir, "control", CONTROL "\n");
    const char *extra[] = {"--control-token-file", ctl, NULL};
    sidecar sc;

    sidecar_start_with(&sc, SEED_HEX, BEARER "\n", extra);
    /* evaluate's token cannot mint nor revoke (before: 200) */
    cr_expect_eq(post_as(&sc, BEARER, "/v1/capabilities/mint", MINT_BODY), 401);
    cr_expect_eq(post_as(&sc, BEARER, "/v1/capabilities/revoke", "{\"capability_id\":\"x\"}"), 401);
    /* the control token can, and cannot evaluate */
    cr_expect_eq(post_as(&sc, CONTROL, "/v1/capabilities/mint", MINT_BODY), 200);
    cr_expect_eq(post_as(&sc, CONTROL, "/v1/evaluate", EVAL_BODY), 401);
    /* evaluate's token evaluates the minted token */
    cr_expect_eq(post_as(&sc, BEARER, "/v1/evaluate", EVAL_BODY), 200);
    sidecar_stop(&sc);
    testutil_rmrf(dir);
    free(ctl);
    free(dir);
}

/* The same token in both files, or a control token without --token-file,
 * is refused at start (exit 2), before anything listens. */
Test(rev44_sidecar, a_control_token_equal_to_evaluates_or_alone_is_refused)
{
    char *dir = testutil_tmpdir(), *ctl = token_file(dir, "control", BEARER "\n");
    char *tok = token_file(dir, "bearer", BEARER "\n"), *seed = NULL, *db = NULL;
    cli_result r;

    cr_assert(asprintf(&seed, "%s/seed", dir) > 0);
    cr_assert(asprintf(&db, "%s/db", dir) > 0);
    cr_assert_eq(testutil_write_file(seed, SEED_HEX "\n", 65, 0600), 0);
    {
        const char *argv[] = {
            "serve",       "--receipt-db", db,  "--seed-file",          seed, "--listen",
            "127.0.0.1:0", "--token-file", tok, "--control-token-file", ctl,  NULL};
        r = testutil_run_cli(argv, NULL, 0);
        cr_expect_eq(r.status, 2, "%s", r.err);
        cr_expect_not_null(strstr(r.err, "hold the same token"), "%s", r.err);
        testutil_cli_free(&r);
    }
    {
        const char *argv[] = {
            "serve",       "--receipt-db",         db,  "--seed-file", seed, "--listen",
            "127.0.0.1:0", "--control-token-file", ctl, NULL};
        r = testutil_run_cli(argv, NULL, 0);
        cr_expect_eq(r.status, 2, "%s", r.err);
        cr_expect_not_null(strstr(r.err, "needs --token-file"), "%s", r.err);
        testutil_cli_free(&r);
    }
    testutil_rmrf(dir);
    free(seed);
    free(db);
    free(tok);
    free(ctl);
    free(dir);
}
