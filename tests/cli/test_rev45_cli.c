/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_rev45_cli.c - review 45 of the command line and the
 * sidecar, through the real build/chio:
 *
 *  - `receipt verify` / `capability verify` given a JSON array verified
 *    each element re-serialised (chio_json_write_canonical), which wrote
 *    -0 as 0 and 1710000200.0 or 1.7100002e9 as 1710000200: a receipt or
 *    token refused as written (exit 2) was "ok" inside [...]. Each element
 *    is now handed over as its own bytes;
 *  - an empty array exited 0 having verified nothing; it is exit 2 now;
 *  - `scenario run` presented an open_session's token objects
 *    re-serialised, and the sidecar a body's "capability" object, so a
 *    token with "issued_at": -0 or "expires_at": 1.710001e9 opened a
 *    session (and got allows) there while its text was refused elsewhere;
 *  - a seed in a command-line word was hidden only when the whole word was
 *    hex: `--seed-file "$S "`, `"$S:"`, `--trusted-key "${S}z"` printed
 *    all of it. Every run of 32+ hex digits in a word is hidden now;
 *  - a scenario guard with the other type's member, a guard with no
 *    prefix or pattern, and chunks/delay_ms on a server that does not
 *    stream were accepted and ignored; they are refused naming the member.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/chio.h"
#include "common/testutil.h"
#include "kernel/tokens.h"
#include "serve/sidecar_proc.h"

/* A token for the agent signed by the test kernel's key: issued at @iat,
 * valid @ttl seconds, any tool; with @from replaced by @to in its text. */
static char *token_as_written(uint64_t iat, uint64_t ttl, const char *from, const char *to)
{
    static const char scope[] =
        "{\"grants\":[{\"server_id\":\"*\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}]}";
    char *tok = tk_token(TK_KERNEL_SEED, "cap-45", TK_AGENT_PUB, scope, iat, ttl, NULL, 0);
    char *out;

    cr_assert_not_null(tok);
    out = tk_replace(tok, from, to);
    cr_assert_not_null(out, "no %s in %s", from, tok);
    free(tok);
    return out;
}

/* The two tokens of the review: -0 for issued_at, 1.710001e9 for
 * expires_at (both the integers once re-serialised, so signed as such). */
static char *token_minus_zero(void)
{
    return token_as_written(0, 1710001000, "\"issued_at\":0", "\"issued_at\":-0");
}

static char *token_float(void)
{
    return token_as_written(1710000000, 1000, "\"expires_at\":1710001000",
                            "\"expires_at\":1.710001e9");
}

/* `chio @cmd verify [--at ...] FILE` on @text written to a file in @dir. */
static cli_result verify_text(const char *dir, const char *cmd, const char *text)
{
    char path[4096];
    cli_result r;

    snprintf(path, sizeof(path), "%s/in.json", dir);
    cr_assert_eq(testutil_write_file(path, text, strlen(text), 0644), 0);
    if (strcmp(cmd, "capability") == 0)
        r = testutil_run_cli((const char *const[]){cmd, "verify", "--at", "1710000300", path, NULL},
                             NULL, 0);
    else
        r = testutil_run_cli((const char *const[]){cmd, "verify", path, NULL}, NULL, 0);
    return r;
}

/* The vectors' first receipt, canonical, with its timestamp written as a
 * float ("...200.0"): the same number to a re-serialiser. */
static char *receipt_float_timestamp(void)
{
    chio_json_doc *v = testutil_load_vectors("chio-receipt-v1.json");
    const chio_json *rc =
        chio_json_get(chio_json_at(chio_json_get(chio_json_root(v), "cases"), 0), "receipt");
    char *canon = NULL, *out, *ts, *digits_end;
    size_t len;

    cr_assert_eq(chio_json_write_canonical(rc, &canon, &len), 0);
    ts = strstr(canon, "\"timestamp\":");
    cr_assert_not_null(ts);
    digits_end = ts + strlen("\"timestamp\":");
    while (isdigit((unsigned char)*digits_end))
        digits_end++;
    cr_assert_geq(asprintf(&out, "%.*s.0%s", (int)(digits_end - canon), canon, digits_end), 0);
    chio_free(canon);
    chio_json_doc_free(v);
    return out;
}

TestSuite(rev45_cli);

/* Finding 1: an array's element is verified as written. */
Test(rev45_cli, an_array_element_is_verified_as_written_not_re_serialised)
{
    char *dir = testutil_tmpdir(), *docs[3], *arr;
    const char *cmds[3] = {"capability", "capability", "receipt"};
    size_t i;

    docs[0] = token_minus_zero();
    docs[1] = token_float();
    docs[2] = receipt_float_timestamp();
    for (i = 0; i < 3; i++) {
        cli_result alone = verify_text(dir, cmds[i], docs[i]), in_array;
        cr_assert_geq(asprintf(&arr, "[\n  %s\n]\n", docs[i]), 0);
        in_array = verify_text(dir, cmds[i], arr);
        /* refused as written, alone and inside [...] alike */
        cr_expect_eq(alone.status, 2, "%s alone: exit %d: %s", cmds[i], alone.status, alone.err);
        cr_expect_eq(in_array.status, 2, "%s in an array: exit %d (before: 0): %s%s", cmds[i],
                     in_array.status, in_array.out, in_array.err);
        cr_expect(strstr(in_array.out, "\"ok\":true") == NULL, "%s: %s", cmds[i], in_array.out);
        cr_expect(strstr(in_array.out, "CHIO_EFORMAT") != NULL, "%s: %s", cmds[i], in_array.out);
        testutil_cli_free(&alone);
        testutil_cli_free(&in_array);
        free(arr);
        free(docs[i]);
    }
    testutil_rmrf(dir);
    free(dir);
}

/* Finding 2: an empty array verified nothing and exited 0. */
Test(rev45_cli, an_empty_array_is_no_document_and_exit_2)
{
    char *dir = testutil_tmpdir();
    static const struct {
        const char *cmd, *text, *says;
    } rows[] = {
        {"receipt", "[]", "no receipt in the input"},
        {"receipt", " [ \n ]\n", "no receipt in the input"},
        {"capability", "[]", "no token in the input"},
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        cli_result r = verify_text(dir, rows[i].cmd, rows[i].text);
        cr_expect_eq(r.status, 2, "%s '%s': exit %d (before: 0)", rows[i].cmd, rows[i].text,
                     r.status);
        cr_expect(strstr(r.err, rows[i].says) != NULL, "%s: stderr: %s", rows[i].cmd, r.err);
        cr_expect(strstr(r.out, "\"ok\":false") != NULL, "%s: stdout: %s", rows[i].cmd, r.out);
        testutil_cli_free(&r);
    }
    testutil_rmrf(dir);
    free(dir);
}

/* Finding 3: scenario run presents an open_session's token as written. */
Test(rev45_cli, a_scenario_token_is_presented_as_written)
{
    char *dir = testutil_tmpdir(), *toks[2], *json;
    size_t i;

    toks[0] = token_minus_zero();
    toks[1] = token_float();
    for (i = 0; i < 2; i++) {
        chio_json_doc *line;
        int ok = 1;
        cli_result r;
        cr_assert_geq(
            asprintf(
                &json,
                "{\"schema\":\"chio.scenario.v1\",\"clock\":1710000300,\"kernel\":"
                "{\"signing_seed_hex\":\"" TK_KERNEL_SEED "\",\"policy_hash\":\"p\"},"
                "\"tool_servers\":[{\"server_id\":\"srv\",\"tools\":[\"t\"]}],"
                "\"steps\":[{\"op\":\"open_session\",\"session\":\"s1\",\"agent\":\"" TK_AGENT_PUB
                "\",\"capabilities\":[ %s ]},{\"op\":\"call\",\"session\":\"s1\","
                "\"capability_id\":\"cap-45\",\"server\":\"srv\",\"tool\":\"t\"}]}",
                toks[i]),
            0);
        r = testutil_run_scenario_text(dir, json);
        cr_expect_eq(r.status, 0, "token %zu: exit %d: %s", i, r.status, r.err);
        line = testutil_output_line(r.out, 0);
        cr_assert_not_null(line, "token %zu: %s", i, r.out);
        chio_json_get_bool(chio_json_get(chio_json_root(line), "ok"), &ok);
        cr_expect_eq(ok, 0, "token %zu: the session opened (before: it did): %s", i, r.out);
        cr_expect(strstr(r.out, "\"verdict\":\"allow\"") == NULL, "token %zu: %s", i, r.out);
        chio_json_doc_free(line);
        testutil_cli_free(&r);
        free(json);
        free(toks[i]);
    }
    testutil_rmrf(dir);
    free(dir);
}

/* Finding 4: the sidecar reads the body's token as written, as it reads
 * the X-Chio-Capability header's. */
#define BEARER45 "rev45-evaluate-token-0123456789"

static char *b64url(const char *s)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = strlen(s), i, o = 0;
    char *out = malloc(n * 4 / 3 + 4);

    cr_assert_not_null(out);
    for (i = 0; i + 2 < n; i += 3) {
        unsigned v =
            (unsigned char)s[i] << 16 | (unsigned char)s[i + 1] << 8 | (unsigned char)s[i + 2];
        out[o++] = al[v >> 18 & 63];
        out[o++] = al[v >> 12 & 63];
        out[o++] = al[v >> 6 & 63];
        out[o++] = al[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned char)s[i] << 16;
        out[o++] = al[v >> 18 & 63];
        out[o++] = al[v >> 12 & 63];
    } else if (n - i == 2) {
        unsigned v = (unsigned char)s[i] << 16 | (unsigned char)s[i + 1] << 8;
        out[o++] = al[v >> 18 & 63];
        out[o++] = al[v >> 12 & 63];
        out[o++] = al[v >> 6 & 63];
    }
    out[o] = '\0';
    return out;
}

Test(rev45_cli, the_sidecar_reads_the_bodys_token_as_written)
{
    char *toks[2], *body = NULL, *reply = NULL, hdr[8192];
    sidecar sc;
    size_t i;
    unsigned st;

    /* valid now: issued at -0 (0), or until 1.9e9 written as a float */
    toks[0] = token_as_written(0, 4000000000u, "\"issued_at\":0", "\"issued_at\":-0");
    toks[1] = token_as_written(1710000000, 4000000000u - 1710000000u, "\"expires_at\":4000000000",
                               "\"expires_at\":4.0e9");
    sidecar_start(&sc, TK_KERNEL_SEED, BEARER45 "\n");
    for (i = 0; i < 2; i++) {
        char *h = b64url(toks[i]);
        /* in the body: refused as written (before: 200 with a receipt) */
        cr_assert_geq(asprintf(&body,
                               "{\"capability\": %s ,\"tool_server\":\"files\","
                               "\"tool_name\":\"read\"}",
                               toks[i]),
                      0);
        snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", BEARER45);
        st = sidecar_post(&sc, "/v1/evaluate", hdr, body, &reply);
        cr_expect_eq(st, 400, "token %zu in the body: %u %s", i, st, reply);
        cr_expect(strstr(reply, "invalid_capability") != NULL, "token %zu: %s", i, reply);
        free(reply);
        free(body);
        /* in the header: refused the same way (as before) */
        snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\nX-Chio-Capability: %s\r\n",
                 BEARER45, h);
        st = sidecar_post(&sc, "/v1/evaluate", hdr,
                          "{\"capability_id\":\"cap-45\",\"tool_server\":\"files\","
                          "\"tool_name\":\"read\"}",
                          &reply);
        cr_expect_eq(st, 400, "token %zu in the header: %u %s", i, st, reply);
        free(reply);
        free(h);
        free(toks[i]);
    }
    /* a token written as the library writes it still evaluates */
    toks[0] = token_as_written(0, 4000000000u, "\"issued_at\":0", "\"issued_at\":0");
    cr_assert_geq(asprintf(&body,
                           "{ \"capability\" :\n %s\n, \"tool_server\":\"files\","
                           "\"tool_name\":\"read\",\"parameters\":{\"n\":-0}}",
                           toks[0]),
                  0);
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", BEARER45);
    st = sidecar_post(&sc, "/v1/evaluate", hdr, body, &reply);
    cr_expect_eq(st, 200, "a good token: %u %s", st, reply);
    free(reply);
    free(body);
    free(toks[0]);
    sidecar_stop(&sc);
}

/* Finding 5: a run of 32+ hex digits anywhere in a word is never quoted. */
#define SEED45 "5eed45c0ffee0123456789abcdef0011223344556677889900aabbccddeeff45"

/* 1 when @text holds any 16 consecutive digits of SEED45, in either case. */
static int quotes_seed(const char *text)
{
    size_t n = strlen(text), i, w;

    for (w = 0; w + 16 <= 64; w++)
        for (i = 0; i + 16 <= n; i++) {
            size_t k = 0;
            while (k < 16 && tolower((unsigned char)text[i + k]) == SEED45[w + k])
                k++;
            if (k == 16)
                return 1;
        }
    return 0;
}

Test(rev45_cli, a_seed_inside_a_command_line_word_is_never_quoted_back)
{
    char *dir = testutil_tmpdir(), in[4096];
    static const char *const seed_words[] = {
        SEED45 " ", SEED45 "\r", " " SEED45, SEED45 ":", "x" SEED45 "y", "./" SEED45 ".seed",
    };
    static const char *const key_words[] = {
        SEED45 "z",
        "z" SEED45,
        "--trusted-key=" SEED45 "!",
        /* cut short by the message's '%.80s': a piece of the run still shows */
        "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz" SEED45,
    };
    size_t i;

    snprintf(in, sizeof(in), "%s/r.json", dir);
    cr_assert_eq(testutil_write_file(in, "{}", 2, 0644), 0);
    for (i = 0; i < sizeof(seed_words) / sizeof(seed_words[0]); i++) {
        cli_result r = testutil_run_cli(
            (const char *const[]){"pubkey", "--seed-file", seed_words[i], NULL}, NULL, 0);
        cr_expect_eq(r.status, 2, "seed word %zu: exit %d", i, r.status);
        cr_expect(!quotes_seed(r.err), "seed word %zu: stderr quotes the seed: %s", i, r.err);
        cr_expect(strstr(r.err, "likely the seed itself (not shown)") != NULL,
                  "seed word %zu: stderr: %s", i, r.err);
        testutil_cli_free(&r);
    }
    for (i = 0; i < sizeof(key_words) / sizeof(key_words[0]); i++) {
        cli_result r =
            strncmp(key_words[i], "--", 2) == 0
                ? testutil_run_cli(
                      (const char *const[]){"receipt", "verify", key_words[i], in, NULL}, NULL, 0)
                : testutil_run_cli((const char *const[]){"receipt", "verify", "--trusted-key",
                                                         key_words[i], in, NULL},
                                   NULL, 0);
        cr_expect_eq(r.status, 2, "key word %zu: exit %d", i, r.status);
        cr_expect(!quotes_seed(r.err), "key word %zu: stderr quotes the seed: %s", i, r.err);
        /* still useful: the option is named and the rest of the word shown */
        cr_expect(strstr(r.err, "--trusted-key") != NULL, "key word %zu: stderr: %s", i, r.err);
        cr_expect(strstr(r.err, "not shown") != NULL, "key word %zu: stderr: %s", i, r.err);
        testutil_cli_free(&r);
    }
    testutil_rmrf(dir);
    free(dir);
}

/* Finding 6: members a guard's type or a server's behaviour does not take,
 * and a guard with nothing to match, are refused naming the member. */
Test(rev45_cli, a_scenario_member_that_would_be_ignored_is_refused)
{
    char *dir = testutil_tmpdir(), *json;
    static const struct {
        const char *servers, *guards, *path;
    } rows[] = {
        {"[{\"server_id\":\"srv\",\"tools\":[\"t\"]}]",
         "[{\"name\":\"g\",\"type\":\"secret_leak\",\"prefixes\":[\"/etc/\"]}]",
         "guards[0].prefixes"},
        {"[{\"server_id\":\"srv\",\"tools\":[\"t\"]}]",
         "[{\"name\":\"g\",\"type\":\"forbidden_path\",\"prefixes\":[\"/etc/\"],\"patterns\":"
         "[\"k\"]}]",
         "guards[0].patterns"},
        {"[{\"server_id\":\"srv\",\"tools\":[\"t\"]}]",
         "[{\"name\":\"g\",\"type\":\"forbidden_path\"}]", "guards[0].prefixes"},
        {"[{\"server_id\":\"srv\",\"tools\":[\"t\"]}]",
         "[{\"name\":\"g\",\"type\":\"forbidden_path\",\"prefixes\":[]}]", "guards[0].prefixes"},
        {"[{\"server_id\":\"srv\",\"tools\":[\"t\"]}]",
         "[{\"name\":\"g\",\"type\":\"secret_leak\"}]", "guards[0].patterns"},
        {"[{\"server_id\":\"srv\",\"tools\":[\"t\"],\"behavior\":\"echo\",\"chunks\":0}]", "[]",
         "tool_servers[0].chunks"},
        {"[{\"server_id\":\"srv\",\"tools\":[\"t\"],\"delay_ms\":5}]", "[]",
         "tool_servers[0].delay_ms"},
        {"[{\"server_id\":\"srv\",\"tools\":[\"t\"],\"behavior\":\"fail\",\"chunk_bytes\":16}]",
         "[]", "tool_servers[0].chunk_bytes"},
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        cli_result r;
        cr_assert_geq(asprintf(&json,
                               "{\"kernel\":{\"signing_seed_hex\":\"" TK_KERNEL_SEED "\"},"
                               "\"tool_servers\":%s,\"guards\":%s,\"steps\":[]}",
                               rows[i].servers, rows[i].guards),
                      0);
        r = testutil_run_scenario_text(dir, json);
        cr_expect_eq(r.status, 2, "row %zu: exit %d (before: 0): %s", i, r.status, r.err);
        cr_expect(strstr(r.err, rows[i].path) != NULL, "row %zu: stderr: %s", i, r.err);
        testutil_cli_free(&r);
        free(json);
    }
    /* what a stream server takes still runs */
    cr_assert_geq(
        asprintf(&json, "{\"kernel\":{\"signing_seed_hex\":\"" TK_KERNEL_SEED "\"},"
                        "\"tool_servers\":[{\"server_id\":\"srv\",\"tools\":[\"t\"],\"behavior\":"
                        "\"stream\",\"chunks\":2,\"chunk_bytes\":4,\"delay_ms\":0}],\"guards\":"
                        "[{\"name\":\"g\",\"type\":\"forbidden_path\",\"prefixes\":[\"/etc/\"]}],"
                        "\"steps\":[]}"),
        0);
    {
        cli_result r = testutil_run_scenario_text(dir, json);
        cr_expect_eq(r.status, 0, "a stream server: exit %d: %s", r.status, r.err);
        testutil_cli_free(&r);
    }
    free(json);
    testutil_rmrf(dir);
    free(dir);
}
