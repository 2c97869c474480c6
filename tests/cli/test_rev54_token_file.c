/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_rev54_token_file.c - review 54 of `chio serve`'s token
 * files. Suite rev54_token_file:
 * - --token-file (and --control-token-file) followed a symbolic link,
 *   while --seed-file refuses one and docs/cli.md says the token file is
 *   checked "like the seed". Both now get the seed file's checks.
 * - the seed file given as a token file was accepted, so every client sent
 *   the signing seed as its bearer token (and the sidecar kept it in
 *   ordinary heap, which core dumps hold). A token that is the sidecar's
 *   seed, in any spelling the seed rules accept, is refused at start.
 * - a token of 64 hex digits that is not the seed still serves.
 * A sidecar that starts where it must not is killed at the run's
 * deadline (status -1), so the refusals fail on the code before the fix.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/svc_testutil.h"
#include "common/testutil.h"
#include "serve/sidecar_proc.h"

#define SEED_HEX "5454545454545454545454545454545454545454545454545454545454545454"
/* The same seed as the seed rules also read it: 0x and upper case. */
#define SEED_HEX_0X_UPPER "0x5454545454545454545454545454545454545454545454545454545454545454"
#define BEARER            "rev54-token-file-bearer-0123456789"
/* A token of 64 hex digits that is no seed of this sidecar. */
#define HEX_TOKEN "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
#define SUBJECT   "4444444444444444444444444444444444444444444444444444444444444444"
#define MINT_BODY                                                                   \
    "{\"subject\":\"" SUBJECT "\",\"scope\":{\"grants\":[{\"server_id\":\"files\"," \
    "\"tool_name\":\"*\",\"operations\":[\"invoke\"]}]},\"id\":\"job-54\"}"

TestSuite(rev54_token_file, .init = svctest_setup, .fini = svctest_teardown);

/* Run `chio serve` with the seed file @seed and @opt @file (and, with
 * @opt2, @opt2 @file2); the finished run. */
static svctest_ran serve_with(const char *seed, const char *opt, const char *file, const char *opt2,
                              const char *file2)
{
    char *db = svctest_path("db");
    const char *argv[] = {
        CHIO_TEST_CLI, "serve", "--receipt-db", db,   "--seed-file", seed, "--listen",
        "127.0.0.1:0", opt,     file,           opt2, file2,         NULL};
    svctest_ran r = svctest_run(argv, SVCTEST_DEADLINE_MS);

    testutil_rmrf(db);
    free(db);
    return r;
}

/* A symbolic link to a private token file, as either token option, is
 * refused with exit 2 and a message that names the option and the rule
 * and never the token; the file it points to is accepted. */
Test(rev54_token_file, a_symlinked_token_file_is_refused_like_a_symlinked_seed)
{
    char *seed = svctest_file("seed", SEED_HEX "\n", 0600),
         *tok = svctest_file("token", BEARER "\n", 0600),
         *ctl = svctest_file("control", "rev54-control-token-9876543210\n", 0600),
         *tlink = svctest_path("token.link"), *clink = svctest_path("control.link");
    svctest_ran r;

    cr_assert_eq(symlink(tok, tlink), 0);
    cr_assert_eq(symlink(ctl, clink), 0);

    r = serve_with(seed, "--token-file", tlink, NULL, NULL);
    cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.err);
    cr_expect(strstr(r.err, "refusing --token-file") != NULL, "%s", r.err);
    cr_expect(strstr(r.err, "is a symbolic link") != NULL, "%s", r.err);
    cr_expect(strstr(r.err, BEARER) == NULL, "%s", r.err);
    cr_expect(strstr(r.out, "listening") == NULL, "%s", r.out);
    svctest_ran_free(&r);

    r = serve_with(seed, "--token-file", tok, "--control-token-file", clink);
    cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.err);
    cr_expect(strstr(r.err, "refusing --control-token-file") != NULL, "%s", r.err);
    cr_expect(strstr(r.err, "is a symbolic link") != NULL, "%s", r.err);
    svctest_ran_free(&r);

    free(seed);
    free(tok);
    free(ctl);
    free(tlink);
    free(clink);
}

/* The seed file itself as --token-file, the seed spelt 0x and upper case,
 * and the seed as --control-token-file: each refused at start, exit 2,
 * naming the option and the file but never the seed. */
Test(rev54_token_file, the_seed_as_a_bearer_token_is_refused)
{
    char *seed = svctest_file("seed", SEED_HEX "\n", 0600),
         *upper = svctest_file("upper", SEED_HEX_0X_UPPER "\n", 0600),
         *tok = svctest_file("token", BEARER "\n", 0600);
    struct {
        const char *opt, *file, *opt2, *file2, *named;
    } rows[] = {
        {"--token-file", seed, NULL, NULL, "refusing --token-file"},
        {"--token-file", upper, NULL, NULL, "refusing --token-file"},
        {"--token-file", tok, "--control-token-file", seed, "refusing --control-token-file"},
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        svctest_ran r = serve_with(seed, rows[i].opt, rows[i].file, rows[i].opt2, rows[i].file2);

        cr_expect_eq(r.status, 2, "row %zu: exit %d: %s", i, r.status, r.err);
        cr_expect(strstr(r.err, rows[i].named) != NULL, "row %zu: %s", i, r.err);
        cr_expect(strstr(r.err, "signing seed") != NULL, "row %zu: %s", i, r.err);
        cr_expect(strstr(r.err, "5454545454") == NULL, "row %zu: the seed is quoted", i);
        cr_expect(strstr(r.out, "listening") == NULL, "row %zu: %s", i, r.out);
        svctest_ran_free(&r);
    }
    free(seed);
    free(upper);
    free(tok);
}

/* A private regular token file still serves, 64 hex digits included
 * (a token from `openssl rand -hex 32` is no seed of this sidecar): mint
 * answers its holder and 401s anyone else. A guard against refusing too
 * much; it passes on the code before the fix too. */
Test(rev54_token_file, a_private_token_file_of_64_hex_digits_still_serves)
{
    sidecar sc;
    char *reply = NULL;

    sidecar_start(&sc, SEED_HEX, HEX_TOKEN "\n");
    cr_expect_eq(sidecar_post(&sc, "/v1/capabilities/mint",
                              "Authorization: Bearer " HEX_TOKEN "\r\n", MINT_BODY, &reply),
                 200, "%s", reply);
    free(reply);
    cr_expect_eq(sidecar_post(&sc, "/v1/capabilities/mint", "Authorization: Bearer " BEARER "\r\n",
                              MINT_BODY, &reply),
                 401, "%s", reply);
    free(reply);
    sidecar_stop(&sc);
}
