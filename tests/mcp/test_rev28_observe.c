/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev28_observe.c - review 28: what the MCP gateway writes
 * to stderr (its log) besides receipts. The client chooses the method of a
 * notification the gateway drops and the id of an answer it drops; the
 * real `chio mcp serve` must log either on one line of its own making, with
 * no control character (a newline would add a forged log line, an escape
 * sequence would drive the operator's terminal) and no broken UTF-8, and
 * at most one such line a second (a client sends such messages at will;
 * each still has its deny receipt). Also svc_log_text(), the helper that
 * makes such text safe, and svc_log_limit_take(), the one-a-second rule.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/chio.h"
#include "common/poll.h"
#include "common/testutil.h"
#include "svc/svc_buf.h"
#include "svc/svc_log.h"

/* Does @s hold a control character (C0 but '\n', DEL, C1) or bytes that
 * are not UTF-8? Checked by the library's own JSON writer: it repairs
 * invalid UTF-8 (so the output differs) and escapes controls as \u. */
static int unsafe_text(const char *s, size_t n)
{
    size_t i;
    char *js = NULL, *repaired = NULL;
    size_t jlen = 0;
    int bad = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\n') || c == 0x7f ||
            (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
             (unsigned char)s[i + 1] <= 0x9f))
            bad = 1;
    }
    cr_assert_eq(chio_json_write_string(s, n, &js, &jlen), 0);
    /* one JSON string: parse it back and compare with the input */
    {
        chio_json_doc *doc = NULL;
        size_t rl = 0;
        cr_assert_eq(chio_json_parse(js, jlen, &doc, NULL), 0);
        repaired = (char *)chio_json_string(chio_json_root(doc), &rl);
        if (rl != n || memcmp(repaired, s, n) != 0)
            bad = 1;
        chio_json_doc_free(doc);
    }
    chio_free(js);
    return bad;
}

/* Count the lines of @s that start with @prefix. */
static int lines_starting(const char *s, const char *prefix)
{
    int n = 0;
    const char *p = s;

    while (p != NULL && *p != '\0') {
        if (strncmp(p, prefix, strlen(prefix)) == 0)
            n++;
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return n;
}

/* Run `chio mcp serve` over `cat` with @input as the client's lines. */
static cli_result serve(const char *input)
{
    char *dir = testutil_tmpdir(), seed[512], pol[512], db[512];
    const char *policy = "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[],"
                         "\"guards\":[{\"name\":\"secret_leak\"}]}";
    cli_result r;

    snprintf(seed, sizeof(seed), "%s/seed", dir);
    snprintf(pol, sizeof(pol), "%s/policy.json", dir);
    snprintf(db, sizeof(db), "%s/db", dir);
    cr_assert_eq(
        testutil_write_file(
            seed, "0000000000000000000000000000000000000000000000000000000000000028", 64, 0600),
        0);
    cr_assert_eq(testutil_write_file(pol, policy, strlen(policy), 0644), 0);
    {
        const char *argv[] = {"mcp", "serve", "--policy", pol, "--receipt-db", db, "--seed-file",
                              seed,  "--",    "cat",      NULL};
        r = testutil_run_cli(argv, input, strlen(input));
    }
    testutil_rmrf(dir);
    free(dir);
    return r;
}

Test(rev28_observe, a_dropped_notification_cannot_forge_a_log_line)
{
    /* a newline, then a line shaped like the kernel's JSON log, an ANSI
     * escape (ESC [ 2 J clears the screen), DEL and a C1 control (CSI) */
    const char *in =
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\\n{\\\"ts\\\":1,\\\"level\\\":"
        "\\\"error\\\",\\\"event\\\":\\\"forged\\\"}\\u001b[2J\\u007f\\u009b31m\"}\n";
    cli_result r = serve(in);

    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect_eq(lines_starting(r.err, "{\"ts\":1,"), 0, "a forged log line:\n%s", r.err);
    cr_expect_eq(unsafe_text(r.err, r.err_len), 0, "control characters on stderr:\n%s", r.err);
    cr_expect_not_null(strstr(r.err, "dropped the client notification notifications/x?"), "%s",
                       r.err);
    testutil_cli_free(&r);
}

Test(rev28_observe, a_dropped_answer_id_is_logged_as_whole_characters)
{
    /* an answer the server never asked for, its id 40 two-byte characters:
     * the id's JSON text ('"' first) is cut for the log, never inside one */
    char in[512], id[128];
    size_t i, o = 0;
    cli_result r;

    for (i = 0; i < 40; i++) {
        id[o++] = (char)0xc3;
        id[o++] = (char)0xa9;
    }
    id[o] = '\0';
    snprintf(in, sizeof(in), "{\"jsonrpc\":\"2.0\",\"id\":\"%s\\u001b\",\"result\":{}}\n", id);
    r = serve(in);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect_not_null(strstr(r.err, "dropped a client answer to id"), "%s", r.err);
    cr_expect_eq(unsafe_text(r.err, r.err_len), 0, "broken UTF-8 on stderr:\n%s", r.err);
    testutil_cli_free(&r);
}

Test(rev28_observe, svc_log_text_replaces_controls_and_cuts_whole_characters)
{
    char out[8];

    svc_log_text(out, sizeof(out), "a\nb\x1b[c\x7f");
    cr_expect_str_eq(out, "a?b?[c?");
    svc_log_text(out, sizeof(out),
                 "\xc2\x9b"
                 "x\xff\xc3");
    cr_expect_str_eq(out, "?x??");
    svc_log_text(out, sizeof(out), "abcde\xc3\xa9z"); /* the é would end at byte 8 */
    cr_expect_str_eq(out, "abcde\xc3\xa9");
    svc_log_text(out, 6, "abcde\xc3\xa9z");
    cr_expect_str_eq(out, "abcde");
    svc_log_text(out, sizeof(out), "\xed\xa0\x80\xe0\x80\x80"); /* a surrogate, an overlong */
    cr_expect_str_eq(out, "??????");
    svc_log_text(out, 1, "abc");
    cr_expect_str_eq(out, "");
    svc_log_text(out, sizeof(out), NULL);
    cr_expect_str_eq(out, "");
}

Test(rev28_observe, a_flood_of_dropped_notifications_writes_a_line_a_second)
{
    svc_buf in = {0};
    uint64_t t0, secs;
    int i, lines;
    cli_result r;

    for (i = 0; i < 300; i++)
        svc_buf_printf(&in, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x%d\"}\n", i);
    cr_assert(!in.oom);
    t0 = testutil_now_ms();
    r = serve(in.p);
    secs = (testutil_now_ms() - t0) / 1000 + 1;
    cr_assert_eq(r.status, 0, "%s", r.err);
    lines = 0;
    for (const char *p = r.err; (p = strstr(p, "dropped the client notification")) != NULL; p++)
        lines++;
    cr_expect_geq(lines, 1, "%s", r.err);
    cr_expect_leq((uint64_t)lines, secs + 1, "%d lines in %llu s", lines, (unsigned long long)secs);
    testutil_cli_free(&r);
    free(in.p);
}

Test(rev28_observe, svc_log_limit_takes_one_line_a_second_and_counts_the_rest)
{
    svc_log_limit l = {0};
    unsigned long long dropped = 99;
    uint64_t end = testutil_now_ms() + 5000;
    int took = 0;

    cr_assert_eq(svc_log_limit_take(&l, &dropped), 1);
    cr_expect_eq(dropped, 0);
    /* at most one a second: of the next three, at most one (a second may just have begun) */
    took += svc_log_limit_take(&l, &dropped);
    took += svc_log_limit_take(&l, &dropped);
    took += svc_log_limit_take(&l, &dropped);
    cr_expect_leq(took, 1);
    /* the next second's first line names the ones not written */
    while (!svc_log_limit_take(&l, &dropped) && testutil_now_ms() < end)
        testutil_nap_ms(20);
    cr_expect_geq(dropped, 2, "%llu", dropped);
}
