/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev45_policy.c - review 45 of the MCP gateway's policy
 * (src/mcp/policy.c) and of the capability it issues (src/mcp/gateway.c),
 * against the real build/chio wrapping tests/mcp/recording-server.mjs
 * under node:
 *   - a grant's max_invocations was a budget per client session and per
 *     start: the gateway issued each session (each HTTP session, each
 *     start of `chio mcp serve`) a capability with a fresh random id, and
 *     the kernel keys budgets by capability id, so a DELETE and a new
 *     session, a second concurrent session or a restart on the same store
 *     allowed the call again (and every churned session left a budget row
 *     behind). The capability id is now derived from the kernel's key,
 *     server_id and the grants: every session and every start of one
 *     policy on one store share the budget;
 *   - a constraint's type was compared as a C string at start:
 *     "max_length\u0000x" (and a custom pair with a NUL in a string)
 *     started, and every call under the grant was then denied
 *     unsupported_grant. Such a grant is refused at start, as docs/mcp.md
 *     says of a grant the kernel could not enforce;
 *   - an optional member of a tool grant given as null ("constraints":
 *     null) started with the member dropped (an unconstrained grant),
 *     while the kernel reads a token holding it as unusable. It is refused
 *     at start, naming the member.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/testutil.h"
#include "mcp/mcphttp.h"
#include "mcp/mcputil.h"

#define SEED "0000000000000000000000000000000000000000000000000000000000000045"
#define POLICY_WITH(grant_rest, rest)                                                    \
    "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[{\"server_id\":" \
    "\"s\",\"tool_name\":\"echo\",\"operations\":[\"invoke\"]" grant_rest "}]" rest "}"
/* echo at most once */
#define POLICY_ONCE POLICY_WITH(",\"max_invocations\":1", "")
/* POLICY_ONCE with a guard added and its grant written otherwise */
#define POLICY_GUARDED                        \
    POLICY_WITH(",  \"max_invocations\" : 1", \
                ",\"guards\":[{\"name\":\"forbidden_path\",\"prefixes\":[\"/x\"]}]")
#define INIT                                                                           \
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"             \
    "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":" \
    "\"rev45\",\"version\":\"1\"}}}"
#define INITIALIZED "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"
#define CALL                                                                                 \
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\"," \
    "\"arguments\":{}}}"
#define WAIT_MS 10000
/* a tool call's denial by the budget, as the client gets it */
#define DENIED "chio: denied (budget_exhausted)"

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

TestSuite(rev45_policy, .init = setup, .fini = teardown);

/* The files a gateway runs with: seed, policy (@policy), store, its
 * stderr, the server's record and the server. */
typedef struct files {
    char *seed, *pol, *db, *err, *rec, *server;
} files;

static void files_init(files *f, const char *policy)
{
    f->seed = testutil_join(dir, "seed");
    f->pol = testutil_join(dir, "policy.json");
    f->db = testutil_join(dir, "db");
    f->err = testutil_join(dir, "gw.err");
    f->rec = testutil_join(dir, "server.rec");
    f->server = testutil_repo_path("tests/mcp/recording-server.mjs");
    cr_assert_eq(testutil_write_file(f->seed, SEED, strlen(SEED), 0600), 0);
    cr_assert_eq(testutil_write_file(f->pol, policy, strlen(policy), 0600), 0);
}

static void files_free(files *f)
{
    free(f->seed);
    free(f->pol);
    free(f->db);
    free(f->err);
    free(f->rec);
    free(f->server);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;

    for (; (hay = strstr(hay, needle)) != NULL; hay += strlen(needle))
        n++;
    return n;
}

/* ---- F1: max_invocations over stdio, across restarts ---------------------------------- */

/* One run of `chio mcp serve` on @f: initialize, then tools/call echo
 * @ncalls times (ids 1..), each answered before the next; the answers the
 * client got (caller frees). */
static char *stdio_run(const files *f, int ncalls)
{
    char *got = calloc(1, 1), line[256], want[64], *err;
    size_t len = 0;
    pid_t pid;
    int in, out, st, i;

    cr_assert_not_null(got);
    mt_stdio_start(f->pol, f->db, f->seed, f->server, f->rec, f->err, &pid, &in, &out);
    mt_stdio_send(in, INIT);
    if (!mt_stdio_wait(out, &got, &len, "\"serverInfo\"", WAIT_MS)) {
        err = testutil_read_file(f->err, NULL);
        cr_assert_fail("initialize answered: %s; stderr: %s", got, err ? err : "");
    }
    mt_stdio_send(in, INITIALIZED);
    for (i = 1; i <= ncalls; i++) {
        snprintf(line, sizeof(line),
                 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{\"name\":"
                 "\"echo\",\"arguments\":{}}}",
                 i);
        mt_stdio_send(in, line);
        /* the answer to id i (the gateway writes its id first) */
        snprintf(want, sizeof(want), "\"id\":%d,", i);
        cr_assert(mt_stdio_wait(out, &got, &len, want, WAIT_MS), "call %d answered: %s", i, got);
    }
    close(in);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the gateway exits 0 at its input's end");
    close(out);
    return got;
}

Test(rev45_policy, max_invocations_holds_across_restarts_of_the_stdio_gateway)
{
    char *a, *b, *c, *d;
    files f;

    files_init(&f, POLICY_ONCE);
    /* First start: the one call allowed, the second denied. */
    a = stdio_run(&f, 2);
    cr_expect_eq(count(a, "ran echo"), 1, "one call runs: %s", a);
    cr_expect_eq(count(a, DENIED), 1, "the second is denied: %s", a);
    /* A restart on the same store, key and policy: the budget is spent. */
    b = stdio_run(&f, 1);
    cr_expect_eq(count(b, "ran echo"), 0, "a restart does not refill the budget: %s", b);
    cr_expect_eq(count(b, DENIED), 1, "%s", b);
    /* An edit outside the grants (a guard, the formatting) keeps it. */
    cr_assert_eq(testutil_write_file(f.pol, POLICY_GUARDED, strlen(POLICY_GUARDED), 0600), 0);
    c = stdio_run(&f, 1);
    cr_expect_eq(count(c, "ran echo"), 0, "editing a guard keeps the grants' budget: %s", c);
    cr_expect_eq(count(c, DENIED), 1, "%s", c);
    /* Editing a grant is another policy: its budgets start afresh. */
    cr_assert_eq(testutil_write_file(f.pol, POLICY_WITH(",\"max_invocations\":2", ""),
                                     strlen(POLICY_WITH(",\"max_invocations\":2", "")), 0600),
                 0);
    d = stdio_run(&f, 3);
    cr_expect_eq(count(d, "ran echo"), 2, "edited grants have a budget of their own: %s", d);
    cr_expect_eq(count(d, DENIED), 1, "%s", d);
    free(a);
    free(b);
    free(c);
    free(d);
    files_free(&f);
}

/* ---- F1: max_invocations over HTTP, across sessions ----------------------------------- */

static char *post(unsigned port, const char *sid, const char *body)
{
    return mh_post(port, mh_sid_header(sid), body, WAIT_MS);
}

/* DELETE the session @sid; the whole answer (caller frees). */
static char *delete_session(unsigned port, const char *sid)
{
    char *req = NULL, *got;
    int fd = mh_connect(port);

    cr_assert_geq(asprintf(&req,
                           "DELETE /mcp HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n%sConnection: close\r\n"
                           "\r\n",
                           port, mh_sid_header(sid)),
                  0);
    cr_assert_eq(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
    free(req);
    got = testutil_recv_until(fd, NULL, WAIT_MS);
    close(fd);
    return got;
}

Test(rev45_policy, max_invocations_is_shared_by_every_http_session)
{
    char a[33], b[33], c[33], *got;
    unsigned port;
    files f;
    pid_t pid;
    int st;

    files_init(&f, POLICY_ONCE);
    pid = mh_start((const char *const[]){"mcp", "serve-http", "--policy", f.pol, "--receipt-db",
                                         f.db, "--seed-file", f.seed, "--listen", "127.0.0.1:0",
                                         "--", "node", f.server, NULL},
                   f.err, f.rec, WAIT_MS, &port);
    /* Two sessions at once: the first one's call takes the budget ... */
    mh_session(port, INIT, a, WAIT_MS);
    mh_session(port, INIT, b, WAIT_MS);
    got = post(port, a, CALL);
    cr_expect(strstr(got, "ran echo") != NULL, "the first call runs: %s", got);
    free(got);
    /* ... and the other session has none of its own. */
    got = post(port, b, CALL);
    cr_expect(strstr(got, "ran echo") == NULL && strstr(got, DENIED) != NULL,
              "a concurrent session shares the budget: %s", got);
    free(got);
    /* Nor does a session opened after the first one was deleted. */
    got = delete_session(port, a);
    cr_expect(strstr(got, "HTTP/1.1 2") != NULL, "DELETE ends the session: %s", got);
    free(got);
    mh_session(port, INIT, c, WAIT_MS);
    got = post(port, c, CALL);
    cr_expect(strstr(got, "ran echo") == NULL && strstr(got, DENIED) != NULL,
              "DELETE and a new session do not refill the budget: %s", got);
    free(got);
    kill(pid, SIGTERM);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "serve-http exits 0 after SIGTERM");
    files_free(&f);
}

/* ---- F5, F6: grants the kernel could not enforce are refused at start ------------------ */

/* `chio mcp serve` with @policy, a fresh store and an empty input: its
 * result (caller frees). */
static cli_result serve_once(const char *policy)
{
    files f;
    cli_result r;

    files_init(&f, policy);
    r = testutil_run_cli((const char *const[]){"mcp", "serve", "--policy", f.pol, "--receipt-db",
                                               f.db, "--seed-file", f.seed, "--", "node", f.server,
                                               NULL},
                         "", 0);
    files_free(&f);
    testutil_rmrf(dir);
    cr_assert_eq(mkdir(dir, 0700), 0);
    return r;
}

static void expect_refused(const char *name, const char *policy, const char *needle)
{
    cli_result r = serve_once(policy);

    cr_expect_eq(r.status, 2, "%s: refused at start (exit %d): %s", name, r.status, r.err);
    cr_expect(strstr(r.err, needle) != NULL, "%s: stderr names [%s]: %s", name, needle, r.err);
    testutil_cli_free(&r);
}

Test(rev45_policy, a_constraint_type_or_custom_pair_holding_a_nul_is_refused_at_start)
{
    cli_result r;

    /* The control: the same constraints without the NUL start. */
    r = serve_once(POLICY_WITH(",\"constraints\":[{\"type\":\"max_length\",\"value\":4},"
                               "{\"type\":\"custom\",\"value\":[\"a\",\"b\"]}]",
                               ""));
    cr_expect_eq(r.status, 0, "the well-formed constraints start: %s", r.err);
    testutil_cli_free(&r);
    expect_refused(
        "a type with a NUL",
        POLICY_WITH(",\"constraints\":[{\"type\":\"max_length\\u0000x\",\"value\":4}]", ""),
        "grants[0].constraints[0].type");
    expect_refused("a custom key with a NUL",
                   POLICY_WITH(",\"constraints\":[{\"type\":\"custom\",\"value\":[\"a\\u0000b\","
                               "\"c\"]}]",
                               ""),
                   "grants[0].constraints[0].value");
    expect_refused("a custom value with a NUL",
                   POLICY_WITH(",\"constraints\":[{\"type\":\"custom\",\"value\":[\"a\","
                               "\"c\\u0000\"]}]",
                               ""),
                   "grants[0].constraints[0].value");
}

Test(rev45_policy, an_optional_grant_member_given_as_null_is_refused_naming_it)
{
    expect_refused("constraints null", POLICY_WITH(",\"constraints\":null", ""),
                   "grants[0].constraints is null");
    expect_refused("max_invocations null", POLICY_WITH(",\"max_invocations\":null", ""),
                   "grants[0].max_invocations is null");
    expect_refused("dpop_required null", POLICY_WITH(",\"dpop_required\":null", ""),
                   "grants[0].dpop_required is null");
    expect_refused("max_total_cost null", POLICY_WITH(",\"max_total_cost\":null", ""),
                   "grants[0].max_total_cost is null");
    expect_refused("max_cost_per_invocation null",
                   POLICY_WITH(",\"max_cost_per_invocation\":null", ""),
                   "grants[0].max_cost_per_invocation is null");
}
