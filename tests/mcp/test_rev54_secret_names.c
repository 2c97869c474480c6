/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev54_secret_names.c - a JSON-RPC method or id holding a
 * secret, quoted by the gateway's own texts (src/mcp/refusal.c,
 * messages.c), against the real chio mcp serve (stdio) under a policy
 * with a secret_leak guard, wrapping tests/mcp/rev54-secret-server.mjs.
 * Before review 54 (review 3 of secrets, F2) the deny receipt of a
 * dropped client notification or of an unknown method stored the method
 * as tool_name and in its reason, the -32601 answer and the stderr lines
 * quoted it, and a stderr line quoted a server notification's method and
 * the id of a client answer to no request: text no guard read, though the
 * kernel withholds a flagged prompt name or tool error message. Now each
 * text the guard flags is replaced by the marker; others are quoted as
 * before. Each test runs its own gateway: the stderr lines a peer causes
 * are written one a second, and each test needs its first one. The checks
 * that the client's lines hold no key where the gateway never sent it
 * one, that no receipt holds it where none is written, and the unflagged
 * test held before the fix too: they keep the key from moving elsewhere
 * and the quoting of other names as it was.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "mcp/mcputil.h"

#define POLICY                                                                           \
    "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[{\"server_id\":" \
    "\"s\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}],\"guards\":[{\"name\":"     \
    "\"secret_leak\"}]}"
#define INIT                                                                           \
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"             \
    "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":" \
    "\"rev54\",\"version\":\"1\"}}}"
#define SEED     "0000000000000000000000000000000000000000000000000000000000000254"
#define WAIT_MS  10000
#define KEY_HEAD "AKIAZZZZZZZZZZZZZZ" /* with two digits, an AWS key id the guard flags */
#define MARK     "[withheld: a secret_leak guard flagged it]"

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

TestSuite(rev54_mcp_secret_names, .init = setup, .fini = teardown);

static void start(mt_scripted *s)
{
    mt_scripted_start(s, dir, "tests/mcp/rev54-secret-server.mjs", POLICY, SEED);
    mt_scripted_session(s, INIT, WAIT_MS);
}

/* Send a ping under @id and wait for its answer: the gateway reads the
 * client's lines in order, so every refusal of a line sent before it is
 * answered, logged and its receipt committed by then. */
static void sync_ping(mt_scripted *s, int id)
{
    char line[96], want[32];

    snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"ping\"}", id);
    snprintf(want, sizeof(want), "\"id\":%d}", id);
    mt_scripted_send(s, line);
    cr_assert(mt_scripted_wait(s, want, WAIT_MS), "ping %d answered: %s", id, s->got);
}

typedef struct err_wait {
    const char *path, *needle;
} err_wait;

static int err_holds(void *arg)
{
    const err_wait *w = arg;
    char *text = testutil_read_file(w->path, NULL);
    int hit = text != NULL && strstr(text, w->needle) != NULL;

    free(text);
    return hit;
}

/* The gateway's stderr once it holds @needle (asserted), to free. */
static char *stderr_with(const char *needle)
{
    char *path = testutil_join(dir, "gw.err"), *text;
    err_wait w = {path, needle};

    cr_assert(testutil_wait_until(err_holds, &w, WAIT_MS), "stderr has a line with %s", needle);
    text = testutil_read_file(path, NULL);
    cr_assert_not_null(text);
    free(path);
    return text;
}

/* How many stored receipts hold @a and, unless NULL, @b (after the stop). */
static int stored(const char *a, const char *b)
{
    char *db = testutil_join(dir, "db");
    int n = mt_stored(db, a, b);

    free(db);
    return n;
}

Test(rev54_mcp_secret_names, a_flagged_client_notification_method_is_withheld)
{
    mt_scripted s;
    char *err;

    start(&s);
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/" KEY_HEAD "02\"}");
    sync_ping(&s, 9);
    err = stderr_with("dropped the client notification");
    cr_expect(strstr(err, KEY_HEAD) == NULL, "stderr quotes the key: %s", err);
    cr_expect(strstr(err, "dropped the client notification " MARK) != NULL, "%s", err);
    cr_expect(strstr(s.got, KEY_HEAD) == NULL, "the client got the key: %s", s.got);
    free(err);
    mt_scripted_stop(&s, WAIT_MS);
    cr_expect_eq(stored(KEY_HEAD, NULL), 0, "a receipt holds the key");
    cr_expect_eq(stored("\"tool_name\":\"" MARK "\"", "dropped the client notification " MARK), 1,
                 "the notification's receipt names the marker in tool_name and reason");
}

Test(rev54_mcp_secret_names, a_flagged_unknown_method_or_id_is_withheld_from_receipt_and_answer)
{
    mt_scripted s;
    char *err;

    start(&s);
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"x/" KEY_HEAD "03\"}");
    /* An id holding the key: the answer echoes it (the client's own id),
     * the receipt does not store it. */
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":\"" KEY_HEAD "05\",\"method\":\"x/other\"}");
    cr_assert(
        mt_scripted_wait(&s, "{\"jsonrpc\":\"2.0\",\"id\":5,\"error\":{\"code\":-32601", WAIT_MS),
        "%s", s.got);
    cr_assert(mt_scripted_wait(&s, "\"id\":\"" KEY_HEAD "05\",\"error\":{\"code\":-32601", WAIT_MS),
              "%s", s.got);
    sync_ping(&s, 9);
    cr_expect(strstr(s.got, KEY_HEAD "03") == NULL, "the -32601 message quotes the key: %s", s.got);
    cr_expect(strstr(s.got, "the gateway does not pass " MARK " to the server") != NULL, "%s",
              s.got);
    cr_expect(strstr(s.got, "the gateway does not pass x/other to the server") != NULL, "%s",
              s.got);
    err = testutil_read_file(s.err, NULL); /* no line is written for these */
    cr_expect(err == NULL || strstr(err, KEY_HEAD) == NULL, "stderr quotes the key: %s", err);
    free(err);
    mt_scripted_stop(&s, WAIT_MS);
    cr_expect_eq(stored(KEY_HEAD, NULL), 0, "a receipt holds the key");
    cr_expect_eq(stored("\"tool_name\":\"" MARK "\"", "\"jsonrpc_code\":-32601,\"jsonrpc_id\":5"),
                 1, "the unknown method's receipt names the marker");
    cr_expect_eq(stored("\"tool_name\":\"x/other\"", "\"jsonrpc_code\":-32601}"), 1,
                 "the receipt of the request with the key as its id stores no id");
}

Test(rev54_mcp_secret_names, a_flagged_server_notification_method_is_withheld_from_stderr)
{
    mt_scripted s;
    char *err;

    start(&s);
    /* The server sends notifications/AKIA...16 ("KEY" read as "AKIA"). */
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{"
                         "\"name\":\"notify\",\"arguments\":{\"method\":\"notifications/"
                         "KEYZZZZZZZZZZZZZZ16\"}}}");
    cr_assert(mt_scripted_wait(&s, "notified", WAIT_MS), "%s", s.got);
    err = stderr_with("dropped the server notification");
    cr_expect(strstr(err, KEY_HEAD) == NULL, "stderr quotes the key: %s", err);
    cr_expect(strstr(err, "dropped the server notification " MARK ":") != NULL, "%s", err);
    cr_expect(strstr(s.got, KEY_HEAD) == NULL, "the client got the key: %s", s.got);
    free(err);
    mt_scripted_stop(&s, WAIT_MS);
    cr_expect_eq(stored(KEY_HEAD, NULL), 0, "a receipt holds the key");
}

Test(rev54_mcp_secret_names, a_client_answer_under_a_flagged_unknown_id_is_withheld_from_stderr)
{
    mt_scripted s;
    char *err;

    start(&s);
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":\"" KEY_HEAD "09\",\"result\":{}}");
    sync_ping(&s, 9);
    err = stderr_with("dropped a client answer to id");
    cr_expect(strstr(err, KEY_HEAD) == NULL, "stderr quotes the key: %s", err);
    cr_expect(strstr(err, "dropped a client answer to id " MARK ",") != NULL, "%s", err);
    cr_expect(strstr(s.got, KEY_HEAD) == NULL, "the client got the key: %s", s.got);
    free(err);
    mt_scripted_stop(&s, WAIT_MS);
    cr_expect_eq(stored(KEY_HEAD, NULL), 0, "a receipt holds the key");
}

Test(rev54_mcp_secret_names, unflagged_methods_are_quoted_as_before)
{
    mt_scripted s;
    char *err;

    start(&s);
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/plain-note\"}");
    mt_scripted_send(&s, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"x/plain-method\"}");
    cr_assert(
        mt_scripted_wait(&s, "{\"jsonrpc\":\"2.0\",\"id\":6,\"error\":{\"code\":-32601", WAIT_MS),
        "%s", s.got);
    sync_ping(&s, 9);
    cr_expect(strstr(s.got, "the gateway does not pass x/plain-method to the server") != NULL, "%s",
              s.got);
    err = stderr_with("dropped the client notification");
    cr_expect(strstr(err, "dropped the client notification notifications/plain-note, which") !=
                  NULL,
              "%s", err);
    cr_expect(strstr(err, "withheld") == NULL, "%s", err);
    free(err);
    mt_scripted_stop(&s, WAIT_MS);
    cr_expect_eq(stored("\"tool_name\":\"notifications/plain-note\"",
                        "dropped the client notification notifications/plain-note,"),
                 1, "the notification's receipt quotes it");
    cr_expect_eq(stored("\"tool_name\":\"x/plain-method\"",
                        "the gateway does not pass x/plain-method to the server"),
                 1, "the refused method's receipt quotes it");
    cr_expect_eq(stored("withheld", NULL), 0, "no receipt withholds an unflagged name");
}
