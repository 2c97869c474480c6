/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/tsan_main.c - runs the kernel's concurrency scenarios (the
 * same code the Criterion suite runs, tests/kernel/scenarios.c and
 * med_scenarios.c, race_scenarios.c, rev28_race_scenarios.c) in a plain
 * process, because Criterion's sandbox cannot run under ThreadSanitizer
 * (Criterion issue #274). Built and run by `make tsan`; TSan reports fail
 * the run through halt_on_error and the Makefile's log check. An argument
 * runs only the scenarios whose name contains it
 * (build-tsan/tsan-scenarios "callback").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel/med_scenarios.h"
#include "kernel/race_scenarios.h"
#include "kernel/rev28_race_scenarios.h"
#include "kernel/scenarios.h"

static int run(const char *name, int rc, const char *msg)
{
    printf("[%s] %s%s%s\n", rc == 0 ? "PASS" : "FAIL", name, rc ? ": " : "", rc ? msg : "");
    fflush(stdout);
    return rc != 0;
}

/* Run scenario @name (the expression @call) when it matches the filter. */
#define RUN(name, call)                                       \
    do {                                                      \
        if (filter == NULL || strstr((name), filter) != NULL) \
            failed += run((name), (call), msg);               \
    } while (0)

int main(int argc, char **argv)
{
    char dir[] = "/tmp/chio-tsan-XXXXXX", msg[SC_MSG], cmd[64];
    const char *env = getenv("CHIO_STRESS_CALLS"), *filter = argc > 1 ? argv[1] : NULL;
    int calls = env ? atoi(env) : 160, failed = 0;
    /* The nested request of a tool run from a callback: allowed, refused,
     * and with no credit left for its child receipt. */
    static const rs_nested_case allowed = {1, 1024, 0, 1, 1, CHIO_VERDICT_ALLOW},
                                refused = {0, 1024, CHIO_EDENIED, 0, 1, CHIO_VERDICT_DENY},
                                spent = {1, 2, CHIO_EDEADLK, 0, 0, CHIO_VERDICT_NONE};

    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    msg[0] = '\0';
    RUN("async_drain", sc_async_drain(dir, msg));
    RUN("backpressure", sc_backpressure(dir, msg));
    RUN("try_sign", sc_try_sign(msg));
    RUN("credit budget (4 threads, slow commits)", sc_credit_budget(msg));
    RUN("re-entrant callbacks", sc_reentrant_callbacks(msg));
    RUN("stress (64 threads)", sc_stress(dir, calls, msg));
    RUN("budget race (64 threads)", ms_budget_race(msg));
    RUN("close with a call in flight", ms_close_inflight(msg));
    RUN("drain with a call in flight", ms_drain_inflight(msg));
    RUN("mixed load with revocations", ms_mixed(msg));
    RUN("nested request from a callback, allowed", rs_nested_from_callback(&allowed, msg));
    RUN("nested request from a callback, refused", rs_nested_from_callback(&refused, msg));
    RUN("nested request from a callback, no credit", rs_nested_from_callback(&spent, msg));
    RUN("a tool signing from a callback", rs_tool_signs_from_callback(msg));
    RUN("drain racing calls and session closes", rs_drain_races(dir, msg));
    RUN("pattern cache evicting patterns in use", r28_regex_churn(msg));
    RUN("one budget charged while sweeps drop others", r28_budget_sweeps(msg));
    RUN("a nested request from a tool's reader thread", r28_foreign_nested(msg));
    RUN("revocation under load, sync and async", r28_revoke_storm(msg));
    RUN("session close under load, sync and async", r28_close_storm(msg));
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    printf("tsan scenarios: %d failed\n", failed);
    return failed ? 1 : 0;
}
