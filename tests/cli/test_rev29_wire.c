/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_rev29_wire.c - review 29 (wire formats), `chio scenario
 * run` with capability tokens the strict JSON reader refuses:
 *
 *  - a token in an open_session step's `capabilities` (an object, or its
 *    text as a string) holding a lone surrogate or a key given twice is a
 *    token the kernel refuses: that step's line is `"ok":false` with the
 *    kernel's error (spec/kernel.md's output format for a failed op), the
 *    session is not opened, and the file runs; before, the whole file was
 *    refused (exit 2) and no step ran;
 *  - the same text anywhere else (a call step's member, the agent) still
 *    refuses the file, naming its place.
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

TestSuite(rev29_wire_cli, .init = setup, .fini = teardown);

/* docs/scenarios.md's example token (kernel seed 07 x 32, agent seed 0b x
 * 32), valid from 1710000000 to 1710001000, any tool. */
#define AGENT "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a"
#define TOKEN                                                                                      \
    "{\"id\":\"cap-g\",\"issued_at\":1710000000,\"expires_at\":1710001000,"                        \
    "\"issuer\":\"ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c\","             \
    "\"subject\":\"" AGENT "\","                                                                   \
    "\"scope\":{\"grants\":[{\"server_id\":\"*\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}" \
    "]},"                                                                                          \
    "\"signature\":\"01099a400382d92e13de43127db20f14b987bf38089f1918472e4571b5341fc5225ce92ab4a5" \
    "a8b4e73ea6f012cbcac59a141a210e5869bfaf1e8b979622df02\"}"
#define HEAD                                                                \
    "{\"clock\":1710000300,\"kernel\":{\"signing_seed_hex\":"               \
    "\"0707070707070707070707070707070707070707070707070707070707070707\"," \
    "\"policy_hash\":\"p\"},"                                               \
    "\"tool_servers\":[{\"server_id\":\"srv\",\"tools\":[\"t\"]}],\"steps\":["
#define OPEN(label, caps)                                                                          \
    "{\"op\":\"open_session\",\"session\":\"" label "\",\"agent\":\"" AGENT "\",\"capabilities\":" \
    "[" caps "]}"
#define CALL(label)                                                                              \
    "{\"op\":\"call\",\"session\":\"" label "\",\"capability_id\":\"cap-g\",\"server\":\"srv\"," \
    "\"tool\":\"t\",\"arguments\":{}}"

/* Line @i is a failed open_session whose error contains @needle. */
static void expect_open_failed(const char *out, size_t i, const char *needle)
{
    chio_json_doc *d = testutil_output_line(out, i);
    const chio_json *root;
    const char *e;
    int ok = 1;

    cr_assert_not_null(d, "no line %zu in:\n%s", i, out);
    root = chio_json_root(d);
    cr_expect_str_eq(chio_json_string(chio_json_get(root, "op"), NULL), "open_session");
    cr_expect_eq(chio_json_get_bool(chio_json_get(root, "ok"), &ok), 0, "line %zu: %s", i, out);
    cr_expect_eq(ok, 0, "line %zu is not a failure: %s", i, out);
    e = chio_json_string(chio_json_get(root, "error"), NULL);
    cr_expect(e != NULL && strstr(e, needle) != NULL, "line %zu lacks '%s': %s", i, needle, out);
    chio_json_doc_free(d);
}

static void expect_line(const char *out, size_t i, const char *key, const char *value)
{
    chio_json_doc *d = testutil_output_line(out, i);

    cr_assert_not_null(d, "no line %zu in:\n%s", i, out);
    cr_expect_str_eq(chio_json_string(chio_json_get(chio_json_root(d), key), NULL), value,
                     "line %zu: %s", i, out);
    chio_json_doc_free(d);
}

/* kernel.md: other ops answer {"ok": true|false, "error": ...}; the kernel
 * refuses a session whose token does not parse. A token object with a
 * lone surrogate in its id, one with a key given twice, and token text (a
 * string) with a lone surrogate each fail their own step, which opens no
 * session; the steps around them run as usual. */
Test(rev29_wire_cli, a_token_the_parser_refuses_fails_its_open_session_step)
{
    static const char bad[] = OPEN("bad", TOKEN ",{\"id\":\"cap-\\ud800\"}");
    static const char dup[] = OPEN("dup", "{\"id\":\"a\",\"id\":\"b\"}");
    static const char str[] = OPEN("str", "\"{\\\"id\\\":\\\"\\udc00\"");
    static const char rest[] = OPEN("s", TOKEN) "," CALL("bad") "," CALL("s") "]}";
    char *text;
    cli_result r;

    cr_assert_geq(asprintf(&text, "%s%s,%s,%s,%s", HEAD, bad, dup, str, rest), 0);
    r = testutil_run_scenario_text(dir, text);
    free(text);

    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    expect_open_failed(r.out, 0, "capability 1");
    expect_open_failed(r.out, 1, "capability 0");
    expect_open_failed(r.out, 2, "capability 0");
    expect_line(r.out, 3, "op", "open_session");
    cr_expect_neq(strstr(r.out, "\"ok\":true,\"op\":\"open_session\",\"step\":3}"), NULL, "%s",
                  r.out);
    expect_line(r.out, 4, "code", "unknown_session");
    expect_line(r.out, 5, "verdict", "allow");
    cr_expect_null(testutil_output_line(r.out, 6), "more lines than steps:\n%s", r.out);
    testutil_cli_free(&r);
}

/* Only an open_session step's tokens are lifted out: the same token in a
 * call step (where capabilities is no member) or a lone surrogate in the
 * agent still refuses the file, naming the place. */
Test(rev29_wire_cli, a_bad_token_elsewhere_still_refuses_the_file)
{
    cli_result r = testutil_run_scenario_text(
        dir, HEAD OPEN("s", TOKEN) ",{\"op\":\"call\",\"session\":\"s\","
                                   "\"capability_id\":\"c\",\"server\":\"srv\","
                                   "\"tool\":\"t\",\"capabilities\":[{\"id\":"
                                   "\"\\ud800\"}]}]}");

    cr_expect_eq(r.status, 2, "exit %d", r.status);
    cr_expect_str_eq(r.out, "");
    cr_expect_neq(strstr(r.err, "steps[1].capabilities: not a member of a 'call' step"), NULL, "%s",
                  r.err);
    testutil_cli_free(&r);
    r = testutil_run_scenario_text(
        dir, HEAD "{\"op\":\"open_session\",\"session\":\"s\",\"agent\":\"\\ud800\","
                  "\"capabilities\":[{\"id\":\"\\ud800\"}]}]}");
    cr_expect_eq(r.status, 2, "exit %d", r.status);
    cr_expect_neq(strstr(r.err, "steps[0].agent: not JSON"), NULL, "%s", r.err);
    testutil_cli_free(&r);
}
