/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev24_races.c - the kernel's guarantees against
 * completion callbacks and concurrent callers (review 24); the scenarios
 * are in race_scenarios.c, which the ThreadSanitizer driver runs too:
 *   - a call submitted with chio_kernel_evaluate_async() from a completion
 *     callback runs its tool on the completion thread; each nested request
 *     the tool makes gets its child receipt (allowed or refused), and
 *     when none could be signed (the in-flight budget spent) the host is
 *     not asked;
 *   - that call's receipt keeps the credit it took before its tool ran,
 *     whatever the tool submits itself;
 *   - chio_kernel_drain() racing calls (sync and async) and sessions being
 *     closed, drained and opened: every allow a caller saw is in the store.
 * Real kernel, real Ed25519, ephemeral RocksDB.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/race_scenarios.h"
#include "kernel/scenarios.h"

TestSuite(rev24_races);

static void expect_nested(const rs_nested_case *c)
{
    char msg[SC_MSG] = "";

    cr_assert_eq(rs_nested_from_callback(c, msg), 0, "%s", msg);
}

Test(rev24_races, a_tool_run_from_a_callback_gets_a_child_receipt_for_an_allowed_sampling)
{
    rs_nested_case c = {1, 1024, 0, 1, 1, CHIO_VERDICT_ALLOW};

    expect_nested(&c);
}

Test(rev24_races, a_tool_run_from_a_callback_gets_a_deny_child_receipt_for_a_refused_sampling)
{
    rs_nested_case c = {0, 1024, CHIO_EDENIED, 0, 1, CHIO_VERDICT_DENY};

    expect_nested(&c);
}

/* Budget 2: the sign request whose callback runs holds one credit, the
 * call submitted there the other; the child receipt has none left, so
 * the host is never asked a question whose receipt cannot be signed. */
Test(rev24_races, a_nested_request_without_a_credit_for_its_receipt_never_reaches_the_host)
{
    rs_nested_case c = {1, 2, CHIO_EDEADLK, 0, 0, CHIO_VERDICT_NONE};

    expect_nested(&c);
}

Test(rev24_races, a_tool_submitting_signs_from_a_callback_cannot_take_its_calls_receipt_credit)
{
    char msg[SC_MSG] = "";

    cr_assert_eq(rs_tool_signs_from_callback(msg), 0, "%s", msg);
}

Test(rev24_races, every_allow_seen_while_drain_races_calls_and_session_closes_is_in_the_store)
{
    char msg[SC_MSG] = "", *dir = testutil_tmpdir();
    int rc = rs_drain_races(dir, msg);

    testutil_rmrf(dir);
    free(dir);
    cr_assert_eq(rc, 0, "%s", msg);
}

/* ---- a log sink that calls back into its kernel -------------------------------------- */

static chio_kernel *sink_kernel;
static int sink_lines;

/* On the first revocation's line, revoke another id: a kernel call that
 * logs from inside the sink. */
static void reentrant_sink(void *ctx, chio_log_level level, const char *json, size_t len)
{
    (void)ctx;
    (void)level;
    static const char want[] = "\"event\":\"capability_revoked\"";

    sink_lines++;
    /* @json has @len bytes and no NUL after them. */
    if (memmem(json, len, want, sizeof(want) - 1) != NULL && sink_lines < 100)
        (void)chio_kernel_revoke_capability(sink_kernel, "cap-from-the-sink", NULL);
}

/* The sink ran under the log lock and the nested call's line waited for
 * that lock on its own thread, forever; the nested line is dropped now. Run
 * in a child with an alarm, so that the old hang fails the test. */
Test(rev24_races, a_log_sink_that_calls_into_its_kernel_does_not_hang)
{
    pid_t pid = fork();
    int st = 0;

    cr_assert_neq(pid, -1);
    if (pid == 0) {
        chio_kernel_config cfg;
        int rc;

        alarm(10);
        kt_config(&cfg, NULL);
        cfg.log = reentrant_sink;
        cfg.log_level = CHIO_LOG_INFO;
        sink_kernel = kt_kernel(&cfg);
        rc = chio_kernel_revoke_capability(sink_kernel, "cap-1", NULL);
        if (rc == 0)
            rc = chio_kernel_is_revoked(sink_kernel, "cap-from-the-sink") == 1 ? 0 : 3;
        chio_kernel_free(sink_kernel);
        _exit(rc == 0 ? 0 : 2);
    }
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "the kernel call from the sink hung or failed (status %d)", st);
}
