/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_rev33_keys.c - review 33, key secrecy seen from outside the
 * process, through the real build/chio:
 *
 *  - a seed typed where a file name or an argument belongs (`--seed-file
 *    "$(cat kernel.seed)"`, `--seed-file=SEED`, `chio pubkey SEED`, an
 *    unknown command or subcommand, `--token-file` given a hex secret) was
 *    quoted back in the error line ("cannot open seed file 1f2e...: No such
 *    file or directory"), so the seed reached whatever keeps stderr (a CI
 *    log, a service's journal). Now no error line quotes a command-line
 *    word of 32 or more hex digits (cli/redact_args.c), and a --seed-file
 *    value that names no file and is hex says that it looks like the seed
 *    itself and where a seed belongs.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/chio.h"
#include "common/testutil.h"

/* A seed no other test uses; lower case as chio keygen writes it. */
#define SEED33 "5eed33c0ffee0123456789abcdef0011223344556677889900aabbccddeeff33"

/* 1 when @text holds any 16 consecutive digits of SEED33, in either case. */
static int quotes_seed(const char *text)
{
    size_t n = strlen(text), i, w;

    for (w = 0; w + 16 <= 64; w++)
        for (i = 0; i + 16 <= n; i++) {
            size_t k = 0;
            while (k < 16 && tolower((unsigned char)text[i + k]) == SEED33[w + k])
                k++;
            if (k == 16)
                return 1;
        }
    return 0;
}

typedef struct arg_case {
    const char *name;
    const char *argv[12];
    const char *says; /* a phrase stderr must hold, or NULL */
} arg_case;

Test(rev33_keys, a_seed_typed_on_the_command_line_is_never_quoted_back)
{
    char *dir = testutil_tmpdir(), db[4096], pol[4096];
    static const char policy[] = "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\","
                                 "\"grants\":[]}";
    const char *up = "5EED33C0FFEE0123456789ABCDEF0011223344556677889900AABBCCDDEEFF33";
    const char *hex0x = "0x" SEED33;
    const char *eqform = "--seed-file=" SEED33;
    const char *not_shown = "likely the seed itself (not shown)";
    size_t i;

    snprintf(db, sizeof(db), "%s/db", dir);
    snprintf(pol, sizeof(pol), "%s/policy.json", dir);
    cr_assert_eq(testutil_write_file(pol, policy, strlen(policy), 0600), 0);
    const arg_case cases[] = {
        {"pubkey --seed-file SEED", {"pubkey", "--seed-file", SEED33}, not_shown},
        {"pubkey --seed-file SEED (upper case)", {"pubkey", "--seed-file", up}, not_shown},
        {"pubkey --seed-file 0xSEED", {"pubkey", "--seed-file", hex0x}, not_shown},
        {"pubkey --seed-file=SEED", {"pubkey", eqform}, not_shown},
        {"serve --seed-file SEED", {"serve", "--receipt-db", db, "--seed-file", SEED33}, not_shown},
        {"receipt sign --seed-file SEED", {"receipt", "sign", "--seed-file", SEED33}, not_shown},
        {"capability issue --seed-file SEED",
         {"capability", "issue", "--seed-file", SEED33, "--subject", SEED33, "--scope", "{}",
          "--ttl", "60"},
         not_shown},
        {"mcp serve --seed-file SEED",
         {"mcp", "serve", "--policy", pol, "--receipt-db", db, "--seed-file", SEED33, "--", "true"},
         not_shown},
        {"bench --seed-file SEED",
         {"bench", "--receipt-db", db, "--threads", "1", "--calls", "1", "--seed-file", SEED33},
         not_shown},
        {"pubkey SEED (a positional)", {"pubkey", SEED33}, "unexpected argument"},
        {"chio SEED (an unknown command)", {SEED33}, "unknown command"},
        {"receipt SEED (an unknown subcommand)", {"receipt", SEED33}, "unknown subcommand"},
        {"serve --token-file SEED",
         {"serve", "--receipt-db", db, "--seed-file", "/nonexistent/x", "--token-file", SEED33},
         NULL},
        {"serve --listen SEED",
         {"serve", "--receipt-db", db, "--seed-file", "/nonexistent/x", "--listen", SEED33},
         "--listen"},
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cli_result r = testutil_run_cli(cases[i].argv, "", 0);
        cr_expect_eq(r.status, 2, "%s: exit %d; stderr: %s", cases[i].name, r.status, r.err);
        cr_expect(!quotes_seed(r.err), "%s: stderr quotes the seed: %s", cases[i].name, r.err);
        cr_expect(!quotes_seed(r.out), "%s: stdout quotes the seed: %s", cases[i].name, r.out);
        if (cases[i].says != NULL)
            cr_expect(strstr(r.err, cases[i].says) != NULL, "%s: stderr: %s", cases[i].name, r.err);
        testutil_cli_free(&r);
    }
    testutil_rmrf(dir);
    free(dir);
}

/* What is not hex, or too short to be a seed, is still quoted: the
 * messages keep naming a mistyped path or command. */
Test(rev33_keys, names_that_cannot_be_seeds_are_still_quoted)
{
    const char *missing[] = {"pubkey", "--seed-file", "/nonexistent/kernel.seed", NULL};
    const char *cmd[] = {"serv", NULL};
    const char *shorthex[] = {"pubkey", "--seed-file", "deadbeef", NULL};
    cli_result r = testutil_run_cli(missing, "", 0);

    cr_expect_eq(r.status, 2);
    cr_expect(strstr(r.err, "cannot open seed file /nonexistent/kernel.seed") != NULL, "%s", r.err);
    testutil_cli_free(&r);
    r = testutil_run_cli(cmd, "", 0);
    cr_expect(strstr(r.err, "unknown command 'serv' (did you mean 'serve'?)") != NULL, "%s", r.err);
    testutil_cli_free(&r);
    r = testutil_run_cli(shorthex, "", 0);
    cr_expect(strstr(r.err, "cannot open seed file deadbeef") != NULL, "%s", r.err);
    testutil_cli_free(&r);
}
