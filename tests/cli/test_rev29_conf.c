/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_rev29_conf.c - review 29, conformance of `chio scenario
 * run` with a literal reading of spec/kernel.md ("Scenario files" and the
 * errors with no receipt):
 *
 *  - a call's arguments that are not valid JSON values (a lone surrogate,
 *    a NUL in a key, a key given twice, a number out of range) are that
 *    call's invalid arguments, an error with no receipt on its own line,
 *    and the file runs; before, the whole file was refused (exit 2);
 *  - errors elsewhere in such a file still refuse it, naming their place;
 *  - such a call hears the kernel's and session's state first, and its
 *    invalid arguments before any deny receipt (docs/spec-reading.md);
 *  - the kernel object takes `retention_config: null` (kernel.md's "none",
 *    the default), and refuses any other value by its path;
 *  - a forbidden_path prefix that is no path ("../") runs and denies what
 *    starts with it (the file was refused before).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/chio.h"
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

TestSuite(rev29_conf, .init = setup, .fini = teardown);

/* docs/scenarios.md's example token (kernel seed 07 x 32, agent seed 0b x
 * 32), valid from 1710000000 to 1710001000, any tool. */
#define AGENT "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a"
#define HEAD                                                                                       \
    "{\"clock\":1710000300,\"kernel\":{\"signing_seed_hex\":"                                      \
    "\"0707070707070707070707070707070707070707070707070707070707070707\","                        \
    "\"policy_hash\":\"p\"},"                                                                      \
    "\"tool_servers\":[{\"server_id\":\"srv\",\"tools\":[\"t\"]}],\"steps\":["                     \
    "{\"op\":\"open_session\",\"session\":\"s\",\"agent\":\"" AGENT "\",\"capabilities\":[{"       \
    "\"id\":\"cap-g\",\"issued_at\":1710000000,\"expires_at\":1710001000,"                         \
    "\"issuer\":\"ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c\","             \
    "\"subject\":\"" AGENT "\","                                                                   \
    "\"scope\":{\"grants\":[{\"server_id\":\"*\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}" \
    "]},"                                                                                          \
    "\"signature\":\"01099a400382d92e13de43127db20f14b987bf38089f1918472e4571b5341fc5225ce92ab4a5" \
    "a8b4e73ea6f012cbcac59a141a210e5869bfaf1e8b979622df02\"}]}"
#define CALL(args)                                                                        \
    ",{\"op\":\"call\",\"session\":\"s\",\"capability_id\":\"cap-g\",\"server\":\"srv\"," \
    "\"tool\":\"t\",\"arguments\":" args "}"

static const char *member(const chio_json_doc *d, const char *key)
{
    return chio_json_string(chio_json_get(chio_json_root(d), key), NULL);
}

/* Line @i is a call answered with @verdict and @code (a receipt exactly
 * when the verdict is not "error"). */
static void expect_call(const char *out, size_t i, const char *verdict, const char *code)
{
    chio_json_doc *d = testutil_output_line(out, i);

    cr_assert_not_null(d, "no line %zu in:\n%s", i, out);
    cr_expect_str_eq(member(d, "verdict"), verdict, "line %zu: %s", i, out);
    cr_expect_str_eq(member(d, "code"), code, "line %zu: %s", i, out);
    cr_expect_eq(chio_json_get(chio_json_root(d), "receipt") != NULL, strcmp(verdict, "error") != 0,
                 "line %zu: receipt present iff not an error", i);
    chio_json_doc_free(d);
}

static void expect_malformed(const char *json, const char *field)
{
    cli_result r = testutil_run_scenario_text(dir, json);

    cr_expect_eq(r.status, 2, "exit %d for %s", r.status, json);
    cr_expect_str_eq(r.out, "", "a malformed file printed steps");
    cr_expect_neq(strstr(r.err, field), NULL, "stderr does not name %s: %s", field, r.err);
    testutil_cli_free(&r);
}

/* kernel.md: invalid arguments (malformed JSON, NUL bytes, invalid UTF-8)
 * are an error with no receipt, and a step that fails with an error
 * reports "verdict":"error" and its code. A NUL in a key, a lone
 * surrogate (what JSON writers emit for a string that is not Unicode), a
 * key given twice and a number no double holds are such arguments inside
 * a well-formed file; the file runs, each such call is its own error
 * line, and the calls around it are decided as usual. */
Test(rev29_conf, arguments_the_parser_refuses_are_that_calls_error_not_a_malformed_file)
{
    cli_result r = testutil_run_scenario_text(
        dir, HEAD CALL("{\"k\\u0000\":1}") CALL("{\"a\":\"x\\ud800\"}") CALL("{\"p\":\"/w\"}")
                 CALL("{\"a\":1,\"a\":2}") CALL("1e999") CALL("[\"\\udc00\",{\"b\":1,\"b\":2}]")
                     CALL("\"fine\"") "]}");

    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    expect_call(r.out, 1, "error", "invalid_arguments");
    expect_call(r.out, 2, "error", "invalid_arguments");
    expect_call(r.out, 3, "allow", "none");
    expect_call(r.out, 4, "error", "invalid_arguments");
    expect_call(r.out, 5, "error", "invalid_arguments");
    expect_call(r.out, 6, "error", "invalid_arguments");
    expect_call(r.out, 7, "allow", "none");
    cr_expect_null(testutil_output_line(r.out, 8), "more lines than steps:\n%s", r.out);
    testutil_cli_free(&r);
}

/* Only the arguments of a call are lifted out: the same text anywhere
 * else, a step that is not a call, or an error elsewhere in the file,
 * still refuses the file, naming the place. */
Test(rev29_conf, errors_outside_a_calls_arguments_still_refuse_the_file)
{
    expect_malformed(HEAD CALL("{\"a\":\"\\ud800\"}") "],\"clock\":5}", "clock: duplicate member");
    expect_malformed(HEAD ",{\"op\":\"revoke\",\"capability_id\":\"x\",\"arguments\":{\"a\":"
                          "\"\\ud800\"}}]}",
                     "steps[1].arguments: not a member of a 'revoke' step");
    expect_malformed(HEAD
                     ",{\"op\":\"revoke\",\"capability_id\":\"\\ud800\"}" CALL("{\"a\":"
                                                                               "\"\\ud800\"}") "]}",
                     "steps[1].capability_id: not JSON");
    expect_malformed(HEAD CALL("{\"a\":\"\\ud800\"}") ",{\"op\":\"call\",\"arguments\":{}}]}",
                     "steps[2].session: required string is missing");
    expect_malformed(HEAD CALL("{\"a\":\"\\ud800\"}") ",{\"op\":\"drain\",\"at\":1e999}]}",
                     "steps[2].at: not JSON");
}

/* kernel.md's retention_config: "none = keep forever", the default. A
 * kernel object that spells it out as null runs; any other value is not
 * something a scenario's throw-away store can honour, and is refused by
 * its path. */
Test(rev29_conf, retention_config_null_is_the_default_and_anything_else_is_named)
{
    cli_result r = testutil_run_scenario_text(
        dir, "{\"kernel\":{\"retention_config\":null},\"steps\":[{\"op\":\"drain\"}]}");

    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_expect_str_eq(r.out, "{\"ok\":true,\"op\":\"drain\",\"step\":0}\n");
    testutil_cli_free(&r);
    expect_malformed("{\"kernel\":{\"retention_config\":{\"retention_days\":90}},\"steps\":[]}",
                     "kernel.retention_config: only null");
}

/* docs/spec-reading.md: the kernel and session states answer before the
 * arguments are read (a session that takes no calls says so, whatever the
 * arguments), and invalid arguments before any deny receipt, the
 * invalid_request of an empty server id included. */
Test(rev29_conf, invalid_arguments_come_after_the_session_and_before_every_receipt)
{
    cli_result r = testutil_run_scenario_text(
        dir,
        HEAD ",{\"op\":\"call\",\"session\":\"nobody\",\"capability_id\":\"cap-g\","
             "\"server\":\"srv\",\"tool\":\"t\",\"arguments\":{\"a\":\"\\ud800\"}}"
             ",{\"op\":\"call\",\"session\":\"s\",\"capability_id\":\"cap-g\",\"server\":\"\","
             "\"tool\":\"t\",\"arguments\":{\"a\":\"\\ud800\"}}"
             ",{\"op\":\"call\",\"session\":\"s\",\"capability_id\":\"nope\",\"server\":\"srv\","
             "\"tool\":\"t\",\"arguments\":{\"a\":\"\\ud800\"}}"
             ",{\"op\":\"begin_draining\",\"session\":\"s\"}" CALL("{\"a\":\"\\ud800\"}") "]}");

    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    expect_call(r.out, 1, "error", "unknown_session");
    expect_call(r.out, 2, "error", "invalid_arguments");
    expect_call(r.out, 3, "error", "invalid_arguments");
    expect_call(r.out, 5, "error", "session_draining");
    testutil_cli_free(&r);
}

/* kernel.md's forbidden_path: "deny when any string argument starts with
 * one". A prefix such as "../" is no path, but it is a prefix: the file
 * runs and the guard denies what starts with it (it exited 2 before,
 * "guards[0].prefixes: forbidden prefix 0 cannot be read as a path"). */
Test(rev29_conf, a_forbidden_prefix_that_is_no_path_runs_and_denies_what_starts_with_it)
{
    static const char head[] = HEAD;
    char *doc;
    cli_result r;

    /* HEAD with a guard inserted before its steps */
    cr_assert_geq(asprintf(&doc,
                           "%.*s\"guards\":[{\"name\":\"NoUp\",\"type\":\"forbidden_path\","
                           "\"prefixes\":[\"../\"]}],%s" CALL("{\"p\":\"../x\"}")
                               CALL("{\"p\":\"x/y\"}") "]}",
                           (int)(strstr(head, "\"steps\"") - head), head,
                           strstr(head, "\"steps\"")),
                  0);
    r = testutil_run_scenario_text(dir, doc);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    expect_call(r.out, 1, "deny", "guard_denied");
    expect_call(r.out, 2, "allow", "none");
    testutil_cli_free(&r);
    free(doc);
}
