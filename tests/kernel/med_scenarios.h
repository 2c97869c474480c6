/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/med_scenarios.h - concurrency scenarios of the mediation
 * layer (sessions, budgets, revocation, drain with calls in flight),
 * Criterion-free so that the Criterion suite and the ThreadSanitizer
 * driver run the same code. Each returns 0, or -1 with a message in @msg
 * (SC_MSG bytes).
 */
#ifndef CHIO_TEST_MED_SCENARIOS_H
#define CHIO_TEST_MED_SCENARIOS_H

#include "chio/chio.h"

/* 64 threads race one call each on a max_invocations 10 grant: exactly 10
 * allows, 54 budget_exhausted, 64 receipts that verify. */
int ms_budget_race(char *msg);
/* A call blocks inside its tool; close_session fails with "cannot close
 * while 1 request(s) remain active" and forces draining; new calls get
 * CHIO_ESESSION_DRAINING without a receipt; the blocked call, released,
 * is allowed with its receipt; close then succeeds and is idempotent. */
int ms_close_inflight(char *msg);
/* chio_kernel_drain() waits for a call blocked in its tool; the call still
 * gets its receipt; calls after the drain get CHIO_EDRAINED. */
int ms_drain_inflight(char *msg);
/* 16 threads over 8 sessions with a guard while another thread revokes
 * tokens: every call ends in a receipt or an expected error, and no call
 * that starts after a revocation returned is allowed on that token. */
int ms_mixed(char *msg);

#endif
