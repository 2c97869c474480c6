/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev56_mcp.c - review 9 of the MCP gateway (stop 56),
 * against the real chio mcp serve (stdio) and serve-http wrapping
 * tests/mcp/rev56-mcp-server.mjs under node:
 *   - F1: the resources/list filter and the notifications/resources/
 *     updated filter matched a URI by a plain prefix, weaker than the
 *     kernel's check of a read: under "file:///pub/" plus "*" they passed
 *     "file:///pub//etc/x", "file:///pub/%2fetc", "file:///pub/a\..\b",
 *     "file:///pub/..;/etc/passwd" and more, each a read the kernel denies.
 *     Both now ask the read's own scope check, so an entry or update
 *     reaches the client exactly when a read of its URI would be allowed;
 *   - F2: over serve-http a second initialize (posted with a live session's
 *     id, or as a notification) got 400 with no receipt; it now reaches the
 *     session's gateway, which refuses it with a deny receipt as over stdio;
 *   - F3: the server's notifications/cancelled reached the client for ids
 *     the client was never sent (the gateway's own "chio-N", the client's
 *     own ids, anything); only one naming a request of the server's the
 *     client holds unanswered passes now.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "mcp/mcphttp.h"
#include "mcp/mcputil.h"

#define POLICY                                                                           \
    "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[{\"server_id\":" \
    "\"s\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}],\"resource_grants\":[{"     \
    "\"uri_pattern\":\"file:///pub/*\",\"operations\":[\"read\"]}],\"kernel\":{"         \
    "\"allow_sampling\":true}}"
#define INIT                                                                           \
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"             \
    "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":" \
    "\"rev56\",\"version\":\"1\"}}}"
#define SEED    "0000000000000000000000000000000000000000000000000000000000000956"
#define SERVER  "tests/mcp/rev56-mcp-server.mjs"
#define WAIT_MS 10000

static char *dir;

static void setup(void)
{
    dir = testutil_tmpdir();
    signal(SIGPIPE, SIG_IGN);
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
}

TestSuite(rev56_mcp, .init = setup, .fini = teardown);

/* The server's URIS (rev56-mcp-server.mjs) as the gateway writes them in
 * JSON (a backslash doubled), each with whether a read of it is allowed
 * under "file:///pub/" plus "*". */
static const struct {
    const char *json;
    int readable;
} uris[] = {
    {"file:///pub//etc/x", 0},
    {"file:///pub/a//b", 0},
    {"file:///pub/%2fetc", 0},
    {"file:///pub/a%00", 0},
    {"file:///pub/%u002e%u002e/x", 0},
    {"file:///pub/a\\\\..\\\\b", 0},
    {"file:///pub/a\\\\..\\\\..\\\\etc\\\\passwd", 0},
    {"file:///pub/%2fetc%2fpasswd", 0},
    {"file:///pub/%252e%252e/etc/passwd", 0},
    {"file:///pub/..;/etc/passwd", 0},
    {"file:///pub/ok.txt", 1},
    {"file:///pub/my%20file.txt", 1},
};
#define NURIS (sizeof(uris) / sizeof(uris[0]))

/* A copy of the line of @text holding @a and @b (NULL: any), or NULL. */
static char *line_with(const char *text, const char *a, const char *b)
{
    const char *p = text;

    while (*p != '\0') {
        size_t n = strcspn(p, "\n");
        char *line = strndup(p, n);
        cr_assert_not_null(line);
        if (strstr(line, a) != NULL && (b == NULL || strstr(line, b) != NULL))
            return line;
        free(line);
        p += n;
        if (*p == '\n')
            p++;
    }
    return NULL;
}

/* Does a line of @text hold @a and @b? */
static int has_line(const char *text, const char *a, const char *b)
{
    char *l = line_with(text, a, b);

    free(l);
    return l != NULL;
}

/* The 64 hex digits after "receipt_id":" in @text (malloc'd), or NULL. */
static char *receipt_id(const char *text)
{
    const char *p = text != NULL ? strstr(text, "\"receipt_id\":\"") : NULL;

    return p != NULL ? strndup(p + strlen("\"receipt_id\":\""), 64) : NULL;
}

Test(rev56_mcp, list_entries_and_updates_reach_the_client_exactly_when_a_read_of_the_uri_would)
{
    char line[256], key[320], *db = testutil_join(dir, "db"), *rids[NURIS] = {0};
    size_t i;
    mt_scripted s;

    mt_scripted_start(&s, dir, SERVER, POLICY, SEED);
    mt_scripted_session(&s, INIT, WAIT_MS);
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/list\"}");
    cr_assert(mt_scripted_wait(&s, "\"id\":2,", WAIT_MS), "the list: %.2000s", s.got);
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{"
                         "\"name\":\"updates\",\"arguments\":{}}}");
    cr_assert(mt_scripted_wait(&s, "updates sent", WAIT_MS), "the call: %.2000s", s.got);
    /* The server writes its updates before the call's answer, and the
     * gateway reads its lines in order: every update was decided by now. */
    for (i = 0; i < NURIS; i++) {
        snprintf(key, sizeof(key), "\"uri\":\"%s\"", uris[i].json);
        cr_expect_eq(has_line(s.got, "\"id\":2,", key), uris[i].readable,
                     "list entry %s kept: %d, want %d: %.2000s", uris[i].json, !uris[i].readable,
                     uris[i].readable, s.got);
        cr_expect_eq(has_line(s.got, "notifications/resources/updated", key), uris[i].readable,
                     "update of %s passed: %d, want %d: %.2000s", uris[i].json, !uris[i].readable,
                     uris[i].readable, s.got);
    }
    /* The reads of the same URIs: the kernel's decision, which the filters
     * now share. */
    for (i = 0; i < NURIS; i++) {
        snprintf(line, sizeof(line),
                 "{\"jsonrpc\":\"2.0\",\"id\":%zu,\"method\":\"resources/read\",\"params\":{"
                 "\"uri\":\"%s\"}}",
                 100 + i, uris[i].json);
        mt_scripted_send(&s, line);
    }
    for (i = 0; i < NURIS; i++) {
        char *ans;
        /* Mediated reads run on threads of their own: answered in any order. */
        snprintf(key, sizeof(key), "\"id\":%zu,", 100 + i);
        cr_assert(mt_scripted_wait(&s, key, WAIT_MS), "read %zu: %.2000s", 100 + i, s.got);
        ans = line_with(s.got, key, NULL);
        cr_assert_not_null(ans, "read %zu answered: %.2000s", 100 + i, s.got);
        if (uris[i].readable) {
            cr_expect_not_null(strstr(ans, "\"result\""), "read of %s: %.2000s", uris[i].json, ans);
        } else {
            cr_expect_not_null(strstr(ans, "\"code\":-32001"), "read of %s: %.2000s", uris[i].json,
                               ans);
            cr_expect_not_null(strstr(ans, "out_of_scope"), "%.2000s", ans);
            rids[i] = receipt_id(ans);
            cr_expect_not_null(rids[i], "the denial names its receipt: %.2000s", ans);
        }
        free(ans);
    }
    mt_scripted_stop(&s, WAIT_MS);
    /* The store agrees: each denied read has its deny receipt. */
    for (i = 0; i < NURIS; i++) {
        if (rids[i] == NULL)
            continue;
        cr_expect_eq(mt_stored(db, rids[i], "out_of_scope"), 1, "receipt %s of %s", rids[i],
                     uris[i].json);
        free(rids[i]);
    }
    free(db);
}

/* "chio-c-N" of the gateway's sampling request in @text (malloc'd). */
static char *sampling_id(const char *text)
{
    char *l = line_with(text, "sampling/createMessage", "\"chio-c-"), *p, *id;

    cr_assert_not_null(l, "no sampling request reached the client: %.2000s", text);
    p = strstr(l, "\"chio-c-");
    id = strndup(p, strcspn(p + 1, "\"") + 2);
    free(l);
    cr_assert_not_null(id);
    return id;
}

Test(rev56_mcp, a_server_cancellation_reaches_the_client_only_for_a_request_it_was_sent)
{
    char line[256], *db = testutil_join(dir, "db"), *errf = testutil_join(dir, "gw.err"), *err,
                    *rec, *rid, *sid, *ans;
    mt_scripted s;

    mt_scripted_start(&s, dir, SERVER, POLICY, SEED);
    mt_scripted_session(&s, INIT, WAIT_MS);
    /* Call 7: the server sends the client roots/list "r1", then cancels the
     * call's own "chio-N", the client's 7, "nobody" and "r1". */
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{"
                         "\"name\":\"cancels\",\"arguments\":{\"client_id\":7}}}");
    cr_assert(mt_scripted_wait(&s, "cancels sent", WAIT_MS), "call 7: %.2000s", s.got);
    cr_expect(has_line(s.got, "\"method\":\"roots/list\"", "\"id\":\"r1\""), "%.2000s", s.got);
    cr_expect(has_line(s.got, "notifications/cancelled", "\"requestId\":\"r1\""),
              "the server's cancellation of its own r1: %.2000s", s.got);
    cr_expect(!has_line(s.got, "notifications/cancelled", "\"requestId\":7"),
              "the client's own id 7: %.2000s", s.got);
    cr_expect(!has_line(s.got, "notifications/cancelled", "\"requestId\":\"chio-"),
              "the gateway's own id: %.2000s", s.got);
    cr_expect(!has_line(s.got, "notifications/cancelled", "nobody"), "%.2000s", s.got);
    ans = line_with(s.got, "\"id\":7,", "cancels sent");
    rid = receipt_id(ans);
    free(ans);
    cr_expect_not_null(rid, "call 7 allowed: %.2000s", s.got);

    /* r1 was cancelled: the client's late answer to it never reaches the
     * server. */
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":\"r1\",\"result\":{\"roots\":[]}}");

    /* Call 8: the server's sampling "s1", answered by the client under the
     * gateway's id, then cancelled by the server: "s1" is no id the client
     * ever saw. */
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/call\",\"params\":{"
                         "\"name\":\"sample\",\"arguments\":{}}}");
    cr_assert(mt_scripted_wait(&s, "sampling/createMessage", WAIT_MS), "%.2000s", s.got);
    sid = sampling_id(s.got);
    snprintf(line, sizeof(line),
             "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"role\":\"assistant\",\"content\":{"
             "\"type\":\"text\",\"text\":\"ok\"},\"model\":\"m\"}}",
             sid);
    mt_scripted_send(&s, line);
    cr_assert(mt_scripted_wait(&s, "sample done", WAIT_MS), "call 8: %.2000s", s.got);
    cr_expect(!has_line(s.got, "notifications/cancelled", "\"requestId\":\"s1\""),
              "the server's sampling id: %.2000s", s.got);
    rec = mt_scripted_record(&s);
    cr_expect(strstr(rec, "\"roots\":[]") == NULL, "the late answer to r1: %.2000s", rec);
    free(rec);
    free(sid);
    mt_scripted_stop(&s, WAIT_MS);
    err = testutil_read_file(errf, NULL);
    cr_expect(err != NULL && strstr(err, "dropped a server cancellation of request") != NULL,
              "stderr: %.2000s", err != NULL ? err : "(none)");
    free(err);
    free(errf);
    /* The store agrees: call 7 stands allowed, and nothing was refused. */
    cr_expect_eq(mt_stored(db, rid != NULL ? rid : "(none)", "\"verdict\":\"allow\""), 1);
    cr_expect_eq(mt_stored(db, "\"verdict\":\"deny\"", NULL), 0);
    free(rid);
    free(db);
}

/* ---- serve-http: a second initialize ------------------------------------------------------- */

Test(rev56_mcp, a_second_initialize_over_http_is_refused_with_a_receipt_as_over_stdio)
{
    static const char again[] =
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"initialize\",\"params\":"
        "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
        "\"clientInfo\":{\"name\":\"again\",\"version\":\"1\"}}}";
    static const char note[] = "{\"jsonrpc\":\"2.0\",\"method\":\"initialize\",\"params\":{}}";
    char *seed = testutil_join(dir, "seed"), *pol = testutil_join(dir, "policy.json"),
         *errf = testutil_join(dir, "gw.err"), *recf = testutil_join(dir, "server.rec"),
         *db = testutil_join(dir, "db"), *server = testutil_repo_path(SERVER), *got, *rid,
         *receipts, *rec, *p, sid[33];
    unsigned port;
    pid_t pid;
    int n = 0;

    cr_assert_eq(testutil_write_file(seed, SEED, strlen(SEED), 0600), 0);
    cr_assert_eq(testutil_write_file(pol, POLICY, strlen(POLICY), 0600), 0);
    pid = mh_start((const char *const[]){"mcp", "serve-http", "--policy", pol, "--receipt-db", db,
                                         "--seed-file", seed, "--listen", "127.0.0.1:0", "--",
                                         "node", server, NULL},
                   errf, recf, WAIT_MS, &port);
    mh_session(port, INIT, sid, WAIT_MS);
    /* With the live session's id: the session's gateway refuses it, as a
     * second initialize over stdio (-32600, a deny receipt, not sent). */
    got = mh_post(port, mh_sid_header(sid), again, WAIT_MS);
    cr_expect_not_null(strstr(got, "HTTP/1.1 200"), "%.2000s", got);
    cr_expect_not_null(strstr(got, "\"code\":-32600"), "%.2000s", got);
    cr_expect_not_null(strstr(got, "initialize was already made in this session"), "%.2000s", got);
    rid = receipt_id(got);
    cr_expect_not_null(rid, "the refusal names its receipt: %.2000s", got);
    free(got);
    /* As a notification: dropped with a deny receipt (202, no answer). */
    got = mh_post(port, mh_sid_header(sid), note, WAIT_MS);
    cr_expect_not_null(strstr(got, "HTTP/1.1 202"), "%.2000s", got);
    free(got);
    /* Ordered after both in the session: the server answers a ping. */
    got = mh_post(port, mh_sid_header(sid), "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\"}",
                  WAIT_MS);
    cr_expect_not_null(strstr(got, "\"id\":4"), "%.2000s", got);
    free(got);
    /* Without a session, an initialize notification opens none: 400. */
    got = mh_post(port, "", note, WAIT_MS);
    cr_expect_not_null(strstr(got, "HTTP/1.1 400"), "%.2000s", got);
    cr_expect_not_null(strstr(got, "initialize needs an id"), "%.2000s", got);
    free(got);

    receipts = mh_stop(pid, db);
    p = rid != NULL ? strstr(receipts, rid) : NULL;
    cr_assert_not_null(p, "receipt %s is in the store: %.2000s", rid, receipts);
    while (p > receipts && p[-1] != '\n')
        p--;
    cr_expect_not_null(strstr(p, "\"tool_name\":\"initialize\""), "%.600s", p);
    cr_expect_not_null(strstr(p, "\"verdict\":\"deny\""), "%.600s", p);
    cr_expect_not_null(strstr(p, "\"jsonrpc_code\":-32600"), "%.600s", p);
    for (p = strstr(receipts, "\"tool_name\":\"initialize\""); p != NULL;
         p = strstr(p + 1, "\"tool_name\":\"initialize\""))
        n++;
    cr_expect_eq(n, 2, "one receipt each, the notification's too: %.2000s", receipts);
    cr_expect_eq(mt_stored(db, "\"notification\":true", "\"tool_name\":\"initialize\""), 1);
    rec = testutil_read_file(recf, NULL);
    cr_assert_not_null(rec);
    for (n = 0, p = strstr(rec, "\"method\":\"initialize\""); p != NULL;
         p = strstr(p + 1, "\"method\":\"initialize\""))
        n++;
    cr_expect_eq(n, 1, "the server got one initialize: %.2000s", rec);
    free(rec);
    free(receipts);
    free(rid);
    free(seed);
    free(pol);
    free(errf);
    free(recf);
    free(db);
    free(server);
}
