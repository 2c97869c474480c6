/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/rev28_race_scenarios.h - review 28's concurrency checks of
 * the day's new code paths, Criterion-free so that the suite
 * (test_rev28_races.c) and the ThreadSanitizer driver (tsan_main.c) run
 * the same code. Each returns 0, or -1 with a message in @msg (SC_MSG
 * bytes).
 */
#ifndef CHIO_TEST_REV28_RACE_SCENARIOS_H
#define CHIO_TEST_REV28_RACE_SCENARIOS_H

/* Eight threads call over 160 tokens, each with its own regex_match
 * pattern, while the pattern cache is bounded to next to nothing (every
 * pattern put evicts its shard's others, patterns other threads are
 * matching with) and a ninth thread scrapes the metrics. Every call gets
 * the verdict its arguments call for. */
int r28_regex_churn(char *msg);

/* Sixteen threads charge one max_invocations 40 budget while another
 * thread moves the clock, creates budgets of short-lived tokens and
 * sweeps them (one sweep dropping at most two: the catch-up path), and a
 * third scrapes the metrics: exactly 40 allows, the rest
 * budget_exhausted, and every short-lived token's one call allowed. */
int r28_budget_sweeps(char *msg);

/* A tool's reader thread asks for sampling while the tool's own request
 * is with the host: refused CHIO_EINVAL as a request from a thread other
 * than the tool's (it read the tool thread's one-at-a-time flag, and
 * was told it asked from inside the host's answer). */
int r28_foreign_nested(char *msg);

/* Twelve threads call one token (every other call asynchronous) while
 * the main thread revokes it and another scrapes the metrics: no call
 * begun after the revocation returned runs the tool (each is denied
 * capability_revoked), and every callback runs exactly once. */
int r28_revoke_storm(char *msg);

/* The same load while the main thread closes the session, again while it
 * answers "cannot close while N request(s) remain active": it closes once
 * the calls in flight finished, no call begun after that runs the tool
 * (each fails as the session's), and every callback runs exactly once. */
int r28_close_storm(char *msg);

#endif
