/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_rev31_stream_cli.c - review 31 of check 11 from outside,
 * through `chio scenario run` and its `stream` behaviour (kernel.md,
 * "Scenario files"): the stream duration ends a `delay_ms` pause, not the
 * delay (a pause of 20 s under a 1 s limit waited the 20 s); the byte
 * limit to the byte (equal kept, one over dropped, one chunk over the
 * limit, no chunk, a limit of 0); each call line has kernel.md's members,
 * its receipt's content_hash is the SHA-256 of the canonical output
 * computed here, and every receipt verifies with `chio receipt verify`.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/chio.h"
#include "common/poll.h"
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

TestSuite(rev31_stream_cli, .init = setup, .fini = teardown);

/* docs/scenarios.md's example token (kernel seed 07 x 32, agent seed 0b x
 * 32), valid from 1710000000 to 1710001000, any tool. */
#define KERNEL_PUB "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"
#define AGENT      "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a"
#define OPEN                                                                                       \
    "{\"op\":\"open_session\",\"session\":\"s\",\"agent\":\"" AGENT "\",\"capabilities\":[{"       \
    "\"id\":\"cap-g\",\"issued_at\":1710000000,\"expires_at\":1710001000,"                         \
    "\"issuer\":\"" KERNEL_PUB "\",\"subject\":\"" AGENT "\","                                     \
    "\"scope\":{\"grants\":[{\"server_id\":\"*\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}" \
    "]},"                                                                                          \
    "\"signature\":\"01099a400382d92e13de43127db20f14b987bf38089f1918472e4571b5341fc5225ce92ab4a5" \
    "a8b4e73ea6f012cbcac59a141a210e5869bfaf1e8b979622df02\"}]}"
#define CALL(srv)                                                                       \
    ",{\"op\":\"call\",\"session\":\"s\",\"capability_id\":\"cap-g\",\"server\":\"" srv \
    "\",\"tool\":\"t\",\"arguments\":{}}"

/* Run a scenario: kernel members @kernel (after the seed and policy hash),
 * tool servers @servers (the inside of the array), steps @calls after
 * opening the session. */
static cli_result run(const char *kernel, const char *servers, const char *calls)
{
    size_t n = strlen(kernel) + strlen(servers) + strlen(calls) + sizeof(OPEN) + 512;
    char *json = malloc(n);
    cli_result r;

    cr_assert_not_null(json);
    snprintf(json, n,
             "{\"schema\":\"chio.scenario.v1\",\"clock\":1710000300,\"kernel\":{"
             "\"signing_seed_hex\":"
             "\"0707070707070707070707070707070707070707070707070707070707070707\","
             "\"policy_hash\":\"p\"%s},\"tool_servers\":[%s],\"steps\":[" OPEN "%s]}",
             kernel, servers, calls);
    r = testutil_run_scenario_text(dir, json);
    free(json);
    return r;
}

static const char *member(const chio_json *o, const char *key)
{
    return chio_json_string(chio_json_get(o, key), NULL);
}

/* Line @i is a call with @verdict and @code, kernel.md's members and no
 * other ("step", "op", "verdict", "code", "reason", "receipt"), the
 * reason the receipt's (allow: empty), and content_hash the SHA-256 of
 * @output; the receipt verifies under the kernel key with `chio receipt
 * verify`. */
static void expect_call(const char *out, size_t i, const char *verdict, const char *code,
                        const char *output)
{
    static const char *const keys[] = {"code", "op", "reason", "receipt", "step", "verdict"};
    chio_json_doc *d = testutil_output_line(out, i);
    const chio_json *root, *rc, *dec;
    const char *argv[] = {"receipt", "verify", "--trusted-key", KERNEL_PUB, NULL};
    char want[65], *rtext = NULL;
    size_t j, rlen = 0;
    cli_result v;

    cr_assert_not_null(d, "no line %zu in:\n%s", i, out);
    root = chio_json_root(d);
    cr_expect_eq(chio_json_size(root), 6, "line %zu: %zu members", i, chio_json_size(root));
    for (j = 0; j < 6; j++)
        cr_expect_not_null(chio_json_get(root, keys[j]), "line %zu lacks %s", i, keys[j]);
    cr_expect_str_eq(member(root, "op"), "call");
    cr_expect_str_eq(member(root, "verdict"), verdict, "line %zu", i);
    cr_expect_str_eq(member(root, "code"), code, "line %zu", i);
    rc = chio_json_get(root, "receipt");
    dec = chio_json_get(rc, "decision");
    cr_expect_str_eq(member(dec, "verdict"), verdict, "line %zu", i);
    if (strcmp(verdict, "allow") == 0)
        cr_expect_str_eq(member(root, "reason"), "");
    else
        cr_expect_str_eq(member(root, "reason"), member(dec, "reason"));
    cr_assert_eq(chio_sha256_hex(output, strlen(output), want), 0);
    cr_expect_str_eq(member(rc, "content_hash"), want, "line %zu: output %.80s", i, output);
    cr_assert_eq(chio_json_write_canonical(rc, &rtext, &rlen), 0);
    v = testutil_run_cli(argv, rtext, rlen);
    cr_expect_eq(v.status, 0, "line %zu: receipt verify exit %d: %s %s", i, v.status, v.out, v.err);
    cr_expect(strstr(v.out, "\"ok\":true") != NULL, "line %zu: %s", i, v.out);
    testutil_cli_free(&v);
    chio_free(rtext);
    chio_json_doc_free(d);
}

/* @n chunks of @bytes canonical bytes each ("xx..." strings) as the
 * streamed output, a JSON array. */
static char *stream_output(size_t n, size_t bytes)
{
    char *o = malloc(2 + n * (bytes + 1) + 1), *p = o;
    size_t i;

    cr_assert_not_null(o);
    *p++ = '[';
    for (i = 0; i < n; i++) {
        if (i > 0)
            *p++ = ',';
        *p++ = '"';
        memset(p, 'x', bytes - 2);
        p += bytes - 2;
        *p++ = '"';
    }
    *p++ = ']';
    *p = '\0';
    return o;
}

/* A pause of delay_ms before each chunk ran whole even past the stream's
 * duration: under a 1 s limit a 20 s pause made the call take 20 s (and
 * a 600 s pause, the most a file may ask, ten minutes). The pause now
 * ends when the duration passes; the call ends incomplete, with the
 * chunks before, as it did, in about the limit's time. */
Test(rev31_stream_cli, the_stream_duration_ends_a_delay_not_the_delay)
{
    uint64_t t0 = testutil_now_ms(), took;
    cli_result r = run(",\"max_stream_duration_secs\":1",
                       "{\"server_id\":\"slow\",\"tools\":[\"t\"],\"behavior\":\"stream\","
                       "\"chunks\":3,\"chunk_bytes\":4,\"delay_ms\":20000}",
                       CALL("slow"));

    took = testutil_now_ms() - t0;
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    expect_call(r.out, 1, "incomplete", "stream_limit", "[]");
    cr_expect_lt(took, 10000, "the call took %llu ms", (unsigned long long)took);
    testutil_cli_free(&r);
}

/* The byte limit of 100: chunks totalling exactly 100 bytes are all kept
 * (allow), 5 x 21 drops the fifth (incomplete), one chunk of 101 leaves
 * none, no chunk is an allow of []; a limit of 0 allows no chunk but an
 * empty stream. Each output is what the receipt binds. */
Test(rev31_stream_cli, byte_limit_boundaries_bind_the_output_and_verify)
{
    cli_result r =
        run(",\"max_stream_total_bytes\":100",
            "{\"server_id\":\"eq\",\"tools\":[\"t\"],\"behavior\":\"stream\",\"chunks\":5,"
            "\"chunk_bytes\":20},"
            "{\"server_id\":\"over\",\"tools\":[\"t\"],\"behavior\":\"stream\",\"chunks\":5,"
            "\"chunk_bytes\":21},"
            "{\"server_id\":\"one\",\"tools\":[\"t\"],\"behavior\":\"stream\",\"chunks\":1,"
            "\"chunk_bytes\":101},"
            "{\"server_id\":\"none\",\"tools\":[\"t\"],\"behavior\":\"stream\",\"chunks\":0}",
            CALL("eq") CALL("over") CALL("one") CALL("none"));
    char *eq = stream_output(5, 20), *over = stream_output(4, 21);

    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    expect_call(r.out, 1, "allow", "none", eq);
    expect_call(r.out, 2, "incomplete", "stream_limit", over);
    expect_call(r.out, 3, "incomplete", "stream_limit", "[]");
    expect_call(r.out, 4, "allow", "none", "[]");
    testutil_cli_free(&r);
    free(eq);
    free(over);
    r = run(",\"max_stream_total_bytes\":0",
            "{\"server_id\":\"none\",\"tools\":[\"t\"],\"behavior\":\"stream\",\"chunks\":0},"
            "{\"server_id\":\"one\",\"tools\":[\"t\"],\"behavior\":\"stream\",\"chunks\":1,"
            "\"chunk_bytes\":2}",
            CALL("none") CALL("one"));
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    expect_call(r.out, 1, "allow", "none", "[]");
    expect_call(r.out, 2, "incomplete", "stream_limit", "[]");
    testutil_cli_free(&r);
}
