/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev28_races.c - review 28, the day's new code paths
 * under concurrency (rev28_race_scenarios.c, which `make tsan` also runs):
 * the weight-bounded regex_match pattern cache evicting patterns other
 * threads match with, and one budget charged exactly while the sweep
 * (with its catch-up) drops other budgets and the metrics are scraped
 * (both coverage: they passed on the old code too), a tool's reader
 * thread asking for sampling while the tool's own request is with the
 * host (it read the tool thread's flag and was told the wrong mistake),
 * and a revocation under synchronous and asynchronous load (coverage: no
 * call begun after it returned runs the tool, every callback runs once),
 * and the same load against close_session (coverage).
 */
#include <criterion/criterion.h>

#include "kernel/rev28_race_scenarios.h"
#include "kernel/scenarios.h"

Test(rev28_races, the_pattern_cache_evicts_patterns_in_use_safely)
{
    char msg[SC_MSG] = "";

    cr_assert_eq(r28_regex_churn(msg), 0, "%s", msg);
}

Test(rev28_races, a_budget_stays_exact_while_sweeps_drop_others)
{
    char msg[SC_MSG] = "";

    cr_assert_eq(r28_budget_sweeps(msg), 0, "%s", msg);
}

Test(rev28_races, a_nested_request_from_another_thread_is_named_as_such)
{
    char msg[SC_MSG] = "";

    cr_assert_eq(r28_foreign_nested(msg), 0, "%s", msg);
}

Test(rev28_races, calls_begun_after_a_revocation_never_reach_the_tool)
{
    char msg[SC_MSG] = "";

    cr_assert_eq(r28_revoke_storm(msg), 0, "%s", msg);
}

Test(rev28_races, close_session_under_load_waits_for_calls_in_flight_only)
{
    char msg[SC_MSG] = "";

    cr_assert_eq(r28_close_storm(msg), 0, "%s", msg);
}
