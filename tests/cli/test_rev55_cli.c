/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_rev55_cli.c - review 6 of stop 55 (the CLI): `chio
 * checkpoint list` printed a crafted store's checkpoint holding terminal
 * escape sequences (an OSC title, a clear screen, a C1 CSI) raw to
 * stdout; only a line break was refused. It is left out with a note now,
 * as `receipt list` does for receipts. And the `receipt list` table shows
 * a bidirectional control in a tool name (U+202E, which reorders the rest
 * of the row on a terminal) as '?' like the other controls.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"

static char *dir, *db;

static void setup(void)
{
    dir = testutil_tmpdir();
    db = testutil_join(dir, "db");
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(db);
    free(dir);
}

TestSuite(rev55_cli, .init = setup, .fini = teardown);

Test(rev55_cli, checkpoint_list_leaves_out_escape_sequences)
{
    static const char spiked[] = "{\"body\":{\"schema\":\"\x1b]0;OWNED\x07\x1b[2J\xc2\x9b"
                                 "31mhi\"},\"signature\":\"00\"}";
    chio_kernel_config cfg;
    chio_kernel *k;
    cli_result r;

    kt_config(&cfg, db);
    cfg.checkpoint_batch_size = 2;
    k = kt_kernel(&cfg);
    kt_sign_range(k, 1, 6);
    chio_kernel_free(k);
    testutil_raw_write_seq(db, "checkpoints", 3, spiked, strlen(spiked));
    r = testutil_run_cli((const char *const[]){"checkpoint", "list", "--receipt-db", db, NULL},
                         NULL, 0);
    cr_expect_eq(r.status, 0, "%s", r.err);
    cr_expect_null(memchr(r.out, 0x1b, r.out_len), "an ESC byte reached stdout: %s", r.out);
    cr_expect_null(memchr(r.out, 0x9b, r.out_len), "a C1 byte reached stdout");
    cr_expect_not_null(strstr(r.out, "\"checkpoint_seq\":2"), "the others are listed: %s", r.out);
    cr_expect_not_null(strstr(r.err, "checkpoint 3 is not one line of JSON text"), "%s", r.err);
    testutil_cli_free(&r);
}

Test(rev55_cli, the_receipt_table_shows_a_bidi_control_as_a_question_mark)
{
    chio_kernel_config cfg;
    chio_receipt_builder *b;
    chio_receipt *rec = NULL;
    chio_kernel *k;
    cli_result r;

    kt_config(&cfg, db);
    k = kt_kernel(&cfg);
    b = kt_builder(1);
    cr_assert_eq(chio_receipt_builder_set_tool(b, "srv", "abc\xe2\x80\xaexyz\xd8\x9cZ"), 0);
    cr_assert_eq(chio_kernel_sign_receipt(k, b, &rec, NULL), 0);
    chio_receipt_free(rec);
    chio_kernel_free(k);
    r = testutil_run_cli(
        (const char *const[]){"receipt", "list", "--receipt-db", db, "--format", "table", NULL},
        NULL, 0);
    cr_expect_eq(r.status, 0, "%s", r.err);
    cr_expect_null(strstr(r.out, "\xe2\x80\xae"), "U+202E reached the table: %s", r.out);
    cr_expect_null(strstr(r.out, "\xd8\x9c"), "U+061C reached the table: %s", r.out);
    cr_expect_not_null(strstr(r.out, "srv/abc???xyz??Z"), "%s", r.out);
    testutil_cli_free(&r);
}

#define SEED_HEX "5555555555555555555555555555555555555555555555555555555555555555"

/* `chio serve` with a --token-file holding @token (@len bytes): the run,
 * which ends at once when the file is refused. */
static cli_result serve_token(const char *token, size_t len)
{
    char *seed = testutil_join(dir, "seed"), *tok = testutil_join(dir, "token");
    cli_result r;

    cr_assert_eq(testutil_write_file(seed, SEED_HEX "\n", strlen(SEED_HEX) + 1, 0600), 0);
    cr_assert_eq(testutil_write_file(tok, token, len, 0600), 0);
    r = testutil_run_cli((const char *const[]){"serve", "--receipt-db", db, "--seed-file", seed,
                                               "--listen", "127.0.0.1:0", "--token-file", tok,
                                               NULL},
                         NULL, 0);
    free(seed);
    free(tok);
    return r;
}

/* Before: accepted with the invisible mark kept in the token, so a client
 * sending the token it sees got 401. */
Test(rev55_cli, a_token_file_with_a_byte_order_mark_is_refused)
{
    static const char bom[] = "\xef\xbb\xbf"
                              "abcdefghijklmnop1234\n";
    static const char latin[] = "abcdefghijklmnop1234\xc3\xa9\n";
    cli_result r = serve_token(bom, sizeof(bom) - 1);

    cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.err);
    cr_expect_not_null(strstr(r.err, "byte-order mark"), "%s", r.err);
    cr_expect_null(strstr(r.err, "abcdefghijklmnop1234"), "the token was quoted: %s", r.err);
    testutil_cli_free(&r);
    r = serve_token(latin, sizeof(latin) - 1);
    cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.err);
    cr_expect_not_null(strstr(r.err, "nothing past ASCII"), "%s", r.err);
    testutil_cli_free(&r);
}

/* Before: signed silently, exit 0, though the kernel denies every call
 * under the grant (unsupported_grant). Still signed as chio signs it. */
Test(rev55_cli, capability_issue_warns_of_a_grant_the_kernel_does_not_enforce)
{
    char *seed = testutil_join(dir, "seed");
    const char *scope = "{\"grants\":[{\"server_id\":\"s\",\"tool_name\":\"t\",\"operations\":"
                        "[\"invoke\"],\"dpop_required\":true}]}";
    cli_result r;

    cr_assert_eq(testutil_write_file(seed, SEED_HEX "\n", strlen(SEED_HEX) + 1, 0600), 0);
    r = testutil_run_cli(
        (const char *const[]){"capability", "issue", "--seed-file", seed, "--subject",
                              "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a",
                              "--scope", scope, "--ttl", "100", "--now", "1710000000", NULL},
        NULL, 0);
    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_expect_not_null(strstr(r.out, "\"dpop_required\":true"), "%s", r.out);
    cr_expect_not_null(strstr(r.err, "warning: grant 0 asks for dpop_required"), "%s", r.err);
    cr_expect_not_null(strstr(r.err, "unsupported_grant"), "%s", r.err);
    testutil_cli_free(&r);
    free(seed);
}

Test(rev55_cli, a_seed_file_with_a_byte_order_mark_is_named_so)
{
    static const char bom[] = "\xef\xbb\xbf" SEED_HEX "\n";
    char *seed = testutil_join(dir, "seed");
    cli_result r;

    cr_assert_eq(testutil_write_file(seed, bom, sizeof(bom) - 1, 0600), 0);
    r = testutil_run_cli((const char *const[]){"pubkey", "--seed-file", seed, NULL}, NULL, 0);
    cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.err);
    cr_expect_not_null(strstr(r.err, "byte-order mark"), "%s", r.err);
    testutil_cli_free(&r);
    free(seed);
}
