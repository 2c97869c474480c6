/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/tsan_main.c - runs the kernel's concurrency scenarios (the
 * same code the Criterion suite runs, tests/kernel/scenarios.c and
 * med_scenarios.c) in a plain
 * process, because Criterion's sandbox cannot run under ThreadSanitizer
 * (Criterion issue #274). Built and run by `make tsan`; TSan reports fail
 * the run through halt_on_error and the Makefile's log check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel/med_scenarios.h"
#include "kernel/scenarios.h"

static int run(const char *name, int rc, const char *msg)
{
    printf("[%s] %s%s%s\n", rc == 0 ? "PASS" : "FAIL", name, rc ? ": " : "", rc ? msg : "");
    fflush(stdout);
    return rc != 0;
}

int main(void)
{
    char dir[] = "/tmp/chio-tsan-XXXXXX", msg[SC_MSG], cmd[64];
    const char *env = getenv("CHIO_STRESS_CALLS");
    int calls = env ? atoi(env) : 160, failed = 0;

    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    msg[0] = '\0';
    failed += run("async_drain", sc_async_drain(dir, msg), msg);
    failed += run("backpressure", sc_backpressure(dir, msg), msg);
    failed += run("try_sign", sc_try_sign(msg), msg);
    failed += run("credit budget (4 threads, slow commits)", sc_credit_budget(msg), msg);
    failed += run("re-entrant callbacks", sc_reentrant_callbacks(msg), msg);
    failed += run("stress (64 threads)", sc_stress(dir, calls, msg), msg);
    failed += run("budget race (64 threads)", ms_budget_race(msg), msg);
    failed += run("close with a call in flight", ms_close_inflight(msg), msg);
    failed += run("drain with a call in flight", ms_drain_inflight(msg), msg);
    failed += run("mixed load with revocations", ms_mixed(msg), msg);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    printf("tsan scenarios: %d failed\n", failed);
    return failed ? 1 : 0;
}
