/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_rev28_config_cli.c - review 28: `chio scenario run` (the
 * real build/chio) names the path of the bad field when the kernel, not
 * the reader, refuses a kernel member (spec/kernel.md "Scenario files":
 * exit 2 "with the path of the bad field in the message"). A small-order
 * key in ca_public_keys, or more keys than the kernel takes, was reported
 * at "kernel"; now at kernel.ca_public_keys[i] and kernel.ca_public_keys.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

TestSuite(rev28_config_cli, .init = setup, .fini = teardown);

#define GOOD_KEY "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"

/* Run the scenario @json: exit 2, no step printed, @field named as the
 * path (at the start of the problem, after the file name). */
static void refused_at(const char *json, const char *field)
{
    char *path, *want;
    cli_result r;

    cr_assert_geq(asprintf(&path, "%s/s.json", dir), 0);
    cr_assert_eq(testutil_write_file(path, json, strlen(json), 0644), 0);
    r = testutil_run_cli((const char *const[]){"scenario", "run", path, NULL}, NULL, 0);
    cr_assert_geq(asprintf(&want, "malformed scenario: %s: ", field), 0);
    cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.err);
    cr_expect_str_eq(r.out, "", "a malformed file printed steps");
    cr_expect_neq(strstr(r.err, want), NULL, "stderr does not name %s: %s", field, r.err);
    testutil_cli_free(&r);
    free(want);
    free(path);
}

Test(rev28_config_cli, a_small_order_issuer_key_is_named_by_its_index)
{
    refused_at("{\"kernel\":{\"ca_public_keys\":[\"" GOOD_KEY "\","
               "\"0100000000000000000000000000000000000000000000000000000000000000\"]},"
               "\"steps\":[]}",
               "kernel.ca_public_keys[1]");
    /* the same point with the sign bit set */
    refused_at("{\"kernel\":{\"ca_public_keys\":["
               "\"0100000000000000000000000000000000000000000000000000000000000080\"]},"
               "\"steps\":[]}",
               "kernel.ca_public_keys[0]");
}

Test(rev28_config_cli, more_issuer_keys_than_the_kernel_takes_are_named)
{
    size_t n = 65537, i, cap = n * 67 + 64, len = 0;
    char *json = malloc(cap);

    cr_assert_not_null(json);
    len += (size_t)snprintf(json, cap, "{\"steps\":[],\"kernel\":{\"ca_public_keys\":[");
    for (i = 0; i < n; i++)
        len += (size_t)snprintf(json + len, cap - len, "%s\"" GOOD_KEY "\"", i ? "," : "");
    snprintf(json + len, cap - len, "]}}");
    refused_at(json, "kernel.ca_public_keys");
    free(json);
}
