/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/race_scenarios.h - the kernel's guarantees held against
 * callbacks and concurrent callers through the public API (review 24):
 * the in-flight credit of a call submitted from a completion callback,
 * child receipts of nested requests made there, and drain racing calls
 * and session closes on a real RocksDB store.
 * Criterion-free, so that the Criterion suite (test_rev24_races.c) and
 * the ThreadSanitizer driver (tsan_main.c) run the same code. Each
 * returns 0, or -1 with a message in @msg (SC_MSG bytes).
 */
#ifndef CHIO_TEST_RACE_SCENARIOS_H
#define CHIO_TEST_RACE_SCENARIOS_H

#include <stdint.h>

#include "chio/chio.h"

/* What a nested request made by a tool that chio_kernel_evaluate_async()
 * runs from a completion callback must give. */
typedef struct rs_nested_case {
    int allow_sampling;     /* the kernel's allow_sampling */
    uint32_t ring_capacity; /* the in-flight budget */
    int want_sample_rc;     /* what chio_tool_ctx_sample() returns to the tool */
    int want_host_calls;    /* times the host's nested handler is asked */
    size_t want_children;   /* child receipts in the call's response */
    chio_verdict want_child_verdict;
} rs_nested_case;

/* A sign callback submits chio_kernel_evaluate_async(); its tool asks
 * for sampling. The evaluation ends with a verified receipt, and the
 * nested request as @c says: a child receipt whenever the host was asked
 * or the request refused, and the host never asked when no child receipt
 * can be signed (the budget spent: CHIO_EDEADLK). */
int rs_nested_from_callback(const rs_nested_case *c, char *msg);

/* A sign callback submits chio_kernel_evaluate_async() on a budget of 4;
 * its tool submits three asynchronous signs itself. The tool's own
 * submissions may be refused (CHIO_EDEADLK), never the evaluation whose
 * tool already ran: it ends with a verified receipt, and every callback
 * runs once. */
int rs_tool_signs_from_callback(char *msg);

/* Six threads call (synchronously and with chio_kernel_evaluate_async)
 * over four sessions that another thread keeps closing, draining and
 * replacing, on a RocksDB store under @dir, until chio_kernel_drain()
 * (called after 100 allows) has returned. Every call ends in a receipt or
 * a listed error (session draining or closed, kernel drained), every
 * callback runs once, every call after the drain fails with
 * CHIO_EDRAINED, and every allow a caller saw has its receipt in the
 * store, whose log then checks out (sc_check_log). */
int rs_drain_races(const char *dir, char *msg);

#endif
