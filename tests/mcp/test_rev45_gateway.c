/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev45_gateway.c - review 45 of the MCP gateway
 * (src/mcp/methods.c, messages.c, http.c, http_sess.c), against the real
 * chio mcp serve and serve-http wrapping tests/mcp/rev45-server.mjs:
 *   - the policy's guards were run only on the requests the kernel
 *     mediates: resources/subscribe of file:///etc/passwd under a
 *     forbidden_path guard on /etc/ (or of a URI holding an AWS key under
 *     secret_leak) reached the server, a completion of a template under
 *     /etc/ too, and the server's notifications/resources/updated for
 *     /etc/passwd reached the client. The kernel now decides them as the
 *     read (or prompt get) they would reveal, a deny is answered with its
 *     receipt and never sent, the requests carry only the members their
 *     method takes, and under guards an update reaches the client only
 *     for a URI it subscribed to with the kernel's allowance;
 *   - serve-http ended a session as idle while a call whose POST's client
 *     left still ran (its receipt `cancelled`);
 *   - a notifications/cancelled sent as a request (with an id) closed the
 *     POST of the call it named (503, the answer dropped) though the call
 *     went on;
 *   - a GET stream whose client closed blocked a new GET (409) until a
 *     keepalive write failed (15 s and more).
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "mcp/mcphttp.h"
#include "mcp/mcputil.h"

#define POLICY                                                                                 \
    "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[{\"server_id\":\"s\"," \
    "\"tool_name\":\"slow\",\"operations\":[\"invoke\"]}],\"resource_grants\":[{"              \
    "\"uri_pattern\":\"file:///*\",\"operations\":[\"read\"]}],\"prompt_grants\":[{"           \
    "\"prompt_name\":\"p\",\"operations\":[\"get\"]}],\"guards\":[{\"name\":"                  \
    "\"forbidden_path\",\"prefixes\":[\"/etc/\"]},{\"name\":\"secret_leak\"}]}"
#define INIT                                                                           \
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"             \
    "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":" \
    "\"rev45\",\"version\":\"1\"}}}"
#define AWS_KEY "AKIAABCDEFGHIJKLMNOP"
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

TestSuite(rev45_gateway, .init = setup, .fini = teardown);

/* The server's record (every line it got), or "" (caller frees). */
static char *record_of(const char *rec)
{
    char *text = testutil_read_file(rec, NULL);

    return text != NULL ? text : strdup("");
}

/* Poll the server's record @rec until it holds @what. */
static int wait_recorded(const char *rec, const char *what, unsigned ms)
{
    uint64_t end = testutil_now_ms() + ms;
    int hit;

    for (;;) {
        char *text = record_of(rec);
        hit = strstr(text, what) != NULL;
        free(text);
        if (hit || testutil_now_ms() >= end)
            return hit;
        testutil_nap_ms(10);
    }
}

/* ---- stdio: the guards on subscriptions, completions and updates ---------------------------- */

typedef mt_scripted sp;

static void sp_start(sp *s)
{
    mt_scripted_start(s, dir, "tests/mcp/rev45-server.mjs", POLICY,
                      "0000000000000000000000000000000000000000000000000000000000000045");
    mt_scripted_session(s, INIT, WAIT_MS);
}

/* Send @req (whose id is @id) and return a copy of the client's line that
 * answers it. */
static char *sp_ask(sp *s, int id, const char *req)
{
    char a[32], b[32], *p = NULL, *start, *end;
    uint64_t stop = testutil_now_ms() + WAIT_MS;

    /* The id closes an answer ({"result":..,"id":N}) or comes first
     * ({"jsonrpc":"2.0","id":N,"error":..}). */
    snprintf(a, sizeof(a), ",\"id\":%d}", id);
    snprintf(b, sizeof(b), "\"2.0\",\"id\":%d,", id);
    mt_stdio_send(s->in, req);
    while ((p = strstr(s->got, a)) == NULL && (p = strstr(s->got, b)) == NULL &&
           testutil_now_ms() < stop)
        mt_stdio_wait(s->out, &s->got, &s->len, "\n\n-never-", 50);
    cr_assert_not_null(p, "no answer to %d: %s", id, s->got);
    for (start = p; start > s->got && start[-1] != '\n'; start--)
        ;
    end = strchr(p, '\n');
    return strndup(start, end != NULL ? (size_t)(end - start) : strlen(start));
}

/* The receipt id an error's data names, or NULL. */
static char *receipt_of(const char *answer)
{
    const char *p = strstr(answer, "\"receipt_id\":\"");

    return p != NULL ? strndup(p + strlen("\"receipt_id\":\""), 64) : NULL;
}

Test(rev45_gateway, guards_decide_subscriptions_completions_and_updates_before_they_pass)
{
    static const struct {
        int id;
        const char *req, *why;
    } denied[] = {
        {2,
         "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/subscribe\",\"params\":{\"uri\":"
         "\"file:///etc/passwd\"}}",
         "a subscription to a forbidden path"},
        {3,
         "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/subscribe\",\"params\":{\"uri\":"
         "\"file:///tmp/" AWS_KEY "\"}}",
         "a subscription carrying a secret"},
        {4,
         "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"completion/complete\",\"params\":{\"ref\":{"
         "\"type\":\"ref/resource\",\"uri\":\"file:///etc/{name}\"},\"argument\":{\"name\":"
         "\"name\",\"value\":\"pa\"}}}",
         "a completion of a template under a forbidden path"},
        {5,
         "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"completion/complete\",\"params\":{\"ref\":{"
         "\"type\":\"ref/resource\",\"uri\":\"file:///tmp/{name}\"},\"argument\":{\"name\":"
         "\"name\",\"value\":\"../etc/pa\"}}}",
         "a completion whose value climbs into a forbidden path"},
        {6,
         "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"completion/complete\",\"params\":{\"ref\":{"
         "\"type\":\"ref/prompt\",\"name\":\"p\"},\"argument\":{\"name\":\"a\",\"value\":"
         "\"" AWS_KEY "\"}}}",
         "a prompt completion carrying a secret"},
        {10,
         "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"resources/unsubscribe\",\"params\":{\"uri\":"
         "\"file:///etc/passwd\"}}",
         "an unsubscription from a forbidden path"},
    };
    char *ans, *rid[sizeof(denied) / sizeof(denied[0])], *rec;
    size_t i;
    sp s;

    sp_start(&s);
    for (i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
        ans = sp_ask(&s, denied[i].id, denied[i].req);
        cr_expect_not_null(strstr(ans, "\"code\":-32001"), "%s is denied: %s", denied[i].why, ans);
        cr_expect_not_null(strstr(ans, "guard_denied"), "%s: by a guard: %s", denied[i].why, ans);
        rid[i] = receipt_of(ans);
        cr_expect_not_null(rid[i], "%s: the answer names its receipt: %s", denied[i].why, ans);
        free(ans);
    }

    /* Granted and clean: passed, with only the members the method takes. */
    ans = sp_ask(&s, 7,
                 "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"resources/subscribe\",\"params\":{"
                 "\"uri\":\"file:///tmp/x/../ok\",\"smuggled\":\"SMUGGLED-1\"}}");
    cr_expect_not_null(strstr(ans, "\"result\":{}"), "%s", ans);
    free(ans);
    cr_assert(mt_stdio_wait(s.out, &s.got, &s.len, "marker", WAIT_MS), "%s", s.got);
    cr_expect_not_null(strstr(s.got, "\"uri\":\"file:///tmp/ok\""),
                       "the update of the subscribed URI reaches the client: %s", s.got);
    cr_expect_null(strstr(s.got, "passwd"),
                   "an update of a URI the guards forbid never reaches the client: %s", s.got);
    cr_expect_null(strstr(s.got, "unsubscribed"),
                   "under guards, nor one of a URI the client did not subscribe to: %s", s.got);
    ans = sp_ask(&s, 8,
                 "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"completion/complete\",\"params\":{"
                 "\"ref\":{\"type\":\"ref/resource\",\"uri\":\"file:///tmp/{dir}/{name}\","
                 "\"x\":\"SMUGGLED-2\"},\"argument\":{\"name\":\"name\",\"value\":\"a\"},"
                 "\"context\":{\"arguments\":{\"dir\":\"d\",\"other\":\"SMUGGLED-3\"}},"
                 "\"smuggled\":\"SMUGGLED-4\"}}");
    cr_expect_not_null(strstr(ans, "\"values\":[\"v\"]"), "%s", ans);
    free(ans);
    ans = sp_ask(&s, 9,
                 "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"completion/complete\",\"params\":{"
                 "\"ref\":{\"type\":\"ref/prompt\",\"name\":\"p\"},\"argument\":{\"name\":\"a\","
                 "\"value\":\"x\"},\"context\":{\"arguments\":{\"b\":\"y\"}}}}");
    cr_expect_not_null(strstr(ans, "\"values\":[\"v\"]"), "%s", ans);
    free(ans);
    ans = sp_ask(&s, 11,
                 "{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"resources/unsubscribe\",\"params\":{"
                 "\"uri\":\"file:///tmp/ok\"}}");
    cr_expect_not_null(strstr(ans, "\"result\":{}"), "%s", ans);
    free(ans);

    rec = record_of(s.rec);
    cr_expect_null(strstr(rec, "/etc"), "nothing under /etc/ reached the server: %s", rec);
    cr_expect_null(strstr(rec, AWS_KEY), "no secret reached the server: %s", rec);
    cr_expect_null(strstr(rec, "SMUGGLED"), "no member the method does not take: %s", rec);
    cr_expect_not_null(strstr(rec, "\"method\":\"resources/subscribe\",\"params\":{\"uri\":"
                                   "\"file:///tmp/ok\"}"),
                       "%s", rec);
    cr_expect_not_null(strstr(rec, "\"context\":{\"arguments\":{\"dir\":\"d\"}}"), "%s", rec);
    cr_expect_not_null(strstr(rec, "\"context\":{\"arguments\":{\"b\":\"y\"}}"), "%s", rec);
    cr_expect_not_null(strstr(rec, "\"method\":\"resources/unsubscribe\""), "%s", rec);
    free(rec);
    mt_scripted_stop(&s, WAIT_MS);

    {
        char *db = testutil_join(dir, "db");
        for (i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
            if (rid[i] == NULL)
                continue;
            cr_expect_eq(mt_stored(db, rid[i], "\"verdict\":\"deny\""), 1,
                         "%s: its deny receipt %s is stored", denied[i].why, rid[i]);
            free(rid[i]);
        }
        free(db);
    }
}

/* ---- serve-http ------------------------------------------------------------------------------ */

/* A running serve-http wrapping rev45-server.mjs: its pid, port, store,
 * the server's record and the session it opened. */
typedef struct gw {
    pid_t pid;
    unsigned port;
    char db[512], rec[512];
    char sid[33];
} gw;

static void gw_start(gw *g, const char *idle_secs)
{
    char *seed = testutil_join(dir, "seed"), *pol = testutil_join(dir, "policy.json"),
         *err = testutil_join(dir, "gw.err");
    char *server = testutil_repo_path("tests/mcp/rev45-server.mjs");
    const char *kg[] = {"keygen", "--out", seed, NULL};
    cli_result r;

    r = testutil_run_cli(kg, NULL, 0);
    cr_assert_eq(r.status, 0, "%s", r.err);
    testutil_cli_free(&r);
    cr_assert_eq(testutil_write_file(pol, POLICY, strlen(POLICY), 0600), 0);
    snprintf(g->db, sizeof(g->db), "%s/db", dir);
    snprintf(g->rec, sizeof(g->rec), "%s/server.rec", dir);
    g->pid = mh_start((const char *const[]){"mcp", "serve-http", "--policy", pol, "--receipt-db",
                                            g->db, "--seed-file", seed, "--listen", "127.0.0.1:0",
                                            "--session-idle-secs", idle_secs, "--", "node", server,
                                            NULL},
                      err, g->rec, WAIT_MS, &g->port);
    mh_session(g->port, INIT, g->sid, WAIT_MS);
    free(seed);
    free(pol);
    free(err);
    free(server);
}

/* SIGTERM (exit 0); the store's receipts as JSON lines (caller frees). */
static char *gw_stop(gw *g)
{
    return mh_stop(g->pid, g->db);
}

/* The receipt line of @receipts that holds @a, or NULL. */
static const char *receipt_line(const char *receipts, const char *a)
{
    const char *p = strstr(receipts, a);

    if (p == NULL)
        return NULL;
    while (p > receipts && p[-1] != '\n')
        p--;
    return p;
}

#define SLOW_CALL(id, ms)                                                                \
    "{\"jsonrpc\":\"2.0\",\"id\":" id ",\"method\":\"tools/call\",\"params\":{\"name\":" \
    "\"slow\",\"arguments\":{\"ms\":" ms "}}}"

Test(rev45_gateway, a_call_whose_client_left_keeps_its_session_past_the_idle_time)
{
    char *got, *receipts;
    const char *line;
    int fd;
    gw g;

    gw_start(&g, "3");
    /* The call runs 6 s; its client leaves once the server has it. */
    fd = mh_post_send(g.port, mh_sid_header(g.sid), "application/json", SLOW_CALL("1", "6000"));
    cr_assert(wait_recorded(g.rec, "\"name\":\"slow\"", WAIT_MS), "the call reached the server");
    close(fd);
    /* Idle for 3 s by the clock, the session is not: its call runs on to
     * its end (the session ended, the server was stopped before it
     * answered and the call was cancelled). */
    cr_expect(wait_recorded(g.rec, "done \"chio-", WAIT_MS), "the server answered the call");
    got = mh_post(g.port, mh_sid_header(g.sid),
                  "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}", WAIT_MS);
    cr_expect_not_null(strstr(got, "HTTP/1.1 200"), "the session is still there: %s", got);
    free(got);
    receipts = gw_stop(&g);
    line = receipt_line(receipts, "\"tool_name\":\"slow\"");
    cr_assert_not_null(line, "%s", receipts);
    cr_expect_not_null(strstr(line, "\"verdict\":\"allow\""), "%.800s", line);
    cr_expect_null(strstr(receipts, "\"cancelled\""), "no call was cancelled: %s", receipts);
    free(receipts);
}

Test(rev45_gateway, a_cancellation_sent_as_a_request_leaves_the_call_it_names_alone)
{
    char *got, *answer;
    int fd;
    gw g;

    gw_start(&g, "3600");
    fd = mh_post_send(g.port, mh_sid_header(g.sid), "application/json", SLOW_CALL("1", "1500"));
    cr_assert(wait_recorded(g.rec, "\"name\":\"slow\"", WAIT_MS), "the call reached the server");
    /* Not a notification (it has an id): refused, and it cancels nothing. */
    got = mh_post(g.port, mh_sid_header(g.sid),
                  "{\"jsonrpc\":\"2.0\",\"id\":99,\"method\":\"notifications/cancelled\","
                  "\"params\":{\"requestId\":1}}",
                  WAIT_MS);
    cr_expect_not_null(strstr(got, "-32601"), "%s", got);
    free(got);
    /* Nor does a notification naming a request not in flight. */
    got = mh_post(g.port, mh_sid_header(g.sid),
                  "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{"
                  "\"requestId\":77}}",
                  WAIT_MS);
    cr_expect_not_null(strstr(got, "HTTP/1.1 202"), "%s", got);
    free(got);
    answer = testutil_recv_until(fd, "slow done", WAIT_MS);
    cr_expect_not_null(strstr(answer, "HTTP/1.1 200"), "the call's POST gets its answer: %s",
                       answer);
    cr_expect_not_null(strstr(answer, "slow done"), "%s", answer);
    free(answer);
    close(fd);
    free(gw_stop(&g));
}

/* Open the session's GET stream: the connection, its status line and
 * headers read into *@head (caller frees). */
static int open_get(const gw *g, char **head)
{
    int fd = mh_connect(g->port);
    char *req = NULL;

    cr_assert_geq(asprintf(&req,
                           "GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                           "%s\r\n",
                           mh_sid_header(g->sid)),
                  0);
    cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    free(req);
    *head = testutil_recv_until(fd, "\r\n\r\n", WAIT_MS);
    return fd;
}

Test(rev45_gateway, a_get_stream_whose_client_left_frees_its_place_within_seconds)
{
    uint64_t end;
    char *head;
    int fd, ok = 0;
    gw g;

    gw_start(&g, "3600");
    fd = open_get(&g, &head);
    cr_assert_not_null(strstr(head, "HTTP/1.1 200"), "%s", head);
    free(head);
    close(fd);
    /* The stream's client is gone; a new GET gets the place in a few
     * seconds (it was refused 409 until a keepalive write failed). */
    end = testutil_now_ms() + 5000;
    while (!ok && testutil_now_ms() < end) {
        fd = open_get(&g, &head);
        ok = strstr(head, "HTTP/1.1 200") != NULL;
        cr_assert(ok || strstr(head, "HTTP/1.1 409") != NULL, "%s", head);
        free(head);
        close(fd);
        if (!ok)
            testutil_nap_ms(100);
    }
    cr_expect(ok, "a new GET stream was refused for 5 s after its client left");
    free(gw_stop(&g));
}
