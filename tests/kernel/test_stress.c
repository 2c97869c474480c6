/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_stress.c - the pipeline under load (sc_stress): 64
 * caller threads, tens of thousands of calls (one in ten asynchronous),
 * two signer threads, durable group commit into a real RocksDB; then every
 * call has its receipt, sequence numbers run 1..N with no gap or duplicate,
 * every receipt and checkpoint verifies and there are N / 100 checkpoints.
 * The same scenario runs under ThreadSanitizer in `make tsan`.
 * CHIO_STRESS_CALLS overrides the calls per thread (default 400: 25,600).
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "common/testutil.h"
#include "kernel/scenarios.h"

Test(stress, many_threads_every_call_gets_a_committed_receipt, .timeout = 600)
{
    const char *env = getenv("CHIO_STRESS_CALLS");
    char *dir = testutil_tmpdir(), msg[SC_MSG];
    int calls = env ? atoi(env) : 400;

    cr_assert_gt(calls, 0);
    cr_expect_eq(sc_stress(dir, calls, msg), 0, "%s", msg);
    testutil_rmrf(dir);
    free(dir);
}
