/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev56_flood.c - the gateway's stderr under a wrapped
 * server that floods it with lines it drops (left open by stop 55: the
 * server is semi-trusted). Each such line wrote one stderr line, with no
 * limit: 20,000 junk lines, 20,000 stderr lines. Now they share the one
 * a second limit of the lines about client messages (chio__mcp_peer_log),
 * the next written line naming how many were not; a line failing a
 * request in flight is still written every time, before its answer.
 * Real chio mcp serve (stdio) wrapping tests/mcp/rev56-flood-server.mjs.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/testutil.h"
#include "mcp/mcputil.h"

#define POLICY                                                                           \
    "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[{\"server_id\":" \
    "\"s\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}]}"
#define INIT                                                                           \
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"             \
    "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":" \
    "\"rev56\",\"version\":\"1\"}}}"
#define SEED    "0000000000000000000000000000000000000000000000000000000000000256"
#define WAIT_MS 20000

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

TestSuite(rev56_flood, .init = setup, .fini = teardown);

static int count(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(rev56_flood, a_server_flooding_lines_the_gateway_drops_gets_a_line_a_second)
{
    mt_scripted s;
    char line[256], want[32], *err = NULL;
    double start = now_s(), took;
    int id = 1, lines, noted = 0;

    mt_scripted_start(&s, dir, "tests/mcp/rev56-flood-server.mjs", POLICY, SEED);
    mt_scripted_session(&s, INIT, WAIT_MS);
    /* 4,000 lines of each kind, then one of each per call until a line
     * says how many were not written (the limit's next second) */
    for (int n = 4000;; n = 1, id++) {
        snprintf(line, sizeof(line),
                 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{\"name\":"
                 "\"flood\",\"arguments\":{\"n\":%d}}}",
                 id, n);
        mt_scripted_send(&s, line);
        snprintf(want, sizeof(want), "\"id\":%d,", id);
        cr_assert(mt_scripted_wait(&s, want, WAIT_MS), "call %d answered: %s", id, s.got);
        free(err);
        err = testutil_read_file(s.err, NULL);
        cr_assert_not_null(err);
        if (strstr(err, "lines not shown since the last one") != NULL) {
            noted = 1;
            break;
        }
        cr_assert_lt(now_s() - start, 30.0, "no line said what was not shown: %.2000s", err);
    }
    took = now_s() - start;
    cr_assert(noted, "no line said what was not shown");
    lines = count(err, "from the server");
    /* one a second, and one more for the second that began it */
    cr_expect_leq(lines, (int)took + 2, "%d lines about the server's in %.1f s: %.2000s", lines,
                  took, err);
    cr_expect_geq(lines, 1);
    cr_expect_eq(count(err, "failing that request"), 0, "%.2000s", err);
    free(err);
    mt_scripted_stop(&s, WAIT_MS);
}
