/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_demo.c - `make demo` (scripts/demo.sh) end to end in a
 * fresh directory: every step gets the result it announces, the receipts
 * of the run are listed as a table, the log audits clean, and the demo
 * ends by verifying an inclusion proof against a signed checkpoint. Then
 * once more over the same ./state, as a second `make demo` would.
 */
#include <criterion/criterion.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common/testutil.h"

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

/* Run the demo in @dir; returns its output (stdout and stderr). */
static char *run_demo(int *status)
{
    char *build = strdup(CHIO_TEST_CLI), *cmd, *out = NULL;
    size_t cap = 0, len = 0, got;
    FILE *f;

    cr_assert_geq(asprintf(&cmd, "cd '%s' && '%s/../scripts/demo.sh' '%s' 2>&1", dir,
                           CHIO_SCENARIOS_DIR, dirname(build)),
                  0);
    f = popen(cmd, "r");
    cr_assert_not_null(f);
    do {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 16384;
            out = realloc(out, cap);
            cr_assert_not_null(out);
        }
        got = fread(out + len, 1, 4096, f);
        len += got;
    } while (got > 0);
    out[len] = '\0';
    *status = pclose(f);
    free(cmd);
    free(build);
    return out;
}

TestSuite(demo, .init = setup, .fini = teardown, .timeout = 120);

Test(demo, ends_with_a_verified_inclusion_proof)
{
    int status, run;

    for (run = 1; run <= 2; run++) {
        char *out = run_demo(&status);
        char want[64];

        cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "run %d: status %d:\n%s", run,
                  status, out);
        cr_expect_null(strstr(out, "UNEXPECTED"), "run %d:\n%s", run, out);
        /* steps say what they test */
        cr_expect_not_null(strstr(out, "constraint: ../ climbs out of /workspace/"), "%s", out);
        cr_expect_not_null(strstr(out, "-> deny (constraint_violated)"), "%s", out);
        snprintf(want, sizeof(want), "the log holds %d receipts, 8 from this run", 8 * run);
        cr_expect_not_null(strstr(out, want), "run %d:\n%s", run, out);
        cr_expect_not_null(strstr(out, "SEQ  TIME (UTC)"), "the run's receipts as a table");
        cr_expect_not_null(strstr(out, "\"checkpoints_valid\":"), "%s", out);
        cr_expect_not_null(strstr(out, "\"log_problems\":0"), "%s", out);
        cr_expect_not_null(strstr(out, "\"inclusion_valid\":true"), "%s", out);
        cr_expect_not_null(strstr(out, "\ninclusion proof verified: "), "%s", out);
        free(out);
    }
}
