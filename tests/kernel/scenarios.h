/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/scenarios.h - the kernel's concurrency scenarios, written
 * without Criterion so that the same code runs in the Criterion suite
 * (tests/kernel/test_*.c) and in the ThreadSanitizer driver
 * (tests/kernel/tsan_main.c; Criterion's sandbox cannot run under TSan,
 * Criterion issue #274). Each returns 0, or -1 with a message in @msg.
 */
#ifndef CHIO_TEST_SCENARIOS_H
#define CHIO_TEST_SCENARIOS_H

#include <stdint.h>

#include "chio/chio.h"

#define SC_MSG 512

/* The fixed time of the mediation and race scenarios' kernels (Unix s). */
#define SC_NOW 1710000300u

/* Write the formatted message into @msg (SC_MSG bytes); returns -1, a
 * scenario's failure. */
int sc_fail(char *msg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A chio_clock_fn that always reads SC_NOW. */
uint64_t sc_fixed_clock(void *ctx);

#define SC_SEED "0707070707070707070707070707070707070707070707070707070707070707"
#define SC_PUB  "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"

/* chio_kernel_config_init + the test key + @path (NULL: ephemeral). */
int sc_config(chio_kernel_config *cfg, const char *path);
/* An allow receipt body, unique per @n; NULL on failure. */
chio_receipt_builder *sc_builder(uint64_t n);

typedef struct sc_log_report {
    uint64_t receipts, first, last, checkpoints;
} sc_log_report;

/* Open @path read-only and check: contiguous sequence numbers from 1,
 * every receipt verifying under the test key, every checkpoint verifying,
 * chaining and matching the Merkle root of its range, and (when
 * @batch_size > 0) receipts / batch_size checkpoints of that size. */
int sc_check_log(const char *path, uint64_t batch_size, sc_log_report *rep, char *msg);
/* The same for a log a kernel left without draining (a crash, a failed
 * write): up to @max_owed of the newest full batches may lack their
 * checkpoint (they are signed off the commit stage and written later;
 * a restart cuts them). */
int sc_check_log_owed(const char *path, uint64_t batch_size, uint64_t max_owed, sc_log_report *rep,
                      char *msg);

/* 64 threads x @calls_per_thread (one in ten asynchronous), two signers,
 * durable group commit, then sc_check_log. */
int sc_stress(const char *dir, int calls_per_thread, char *msg);
/* 16 threads on a one-slot ring: blocking episodes > 0, nothing lost. */
int sc_backpressure(const char *dir, char *msg);
/* 500 asynchronous requests then drain: every callback ran once, later
 * calls get CHIO_EDRAINED. */
int sc_async_drain(const char *dir, char *msg);
/* 8 threads calling try-sign on a one-slot ring: some CHIO_EAGAIN (which
 * consumes the builder too), every request ends up signed. */
int sc_try_sign(char *msg);
/* 4 threads submitting 100 x the in-flight budget (16) asynchronously
 * against slowed commits: the in-flight count never exceeds the budget,
 * submitters waited, every callback ran once, every receipt committed. */
int sc_credit_budget(char *msg);
/* Sign callbacks that call the kernel again, with quick and with slow
 * commits: synchronous (and try-) signing fails at once with CHIO_EDEADLK,
 * asynchronous signing works, every callback runs on the completion
 * thread; a hang fails after 10 s (leaking the kernel). */
int sc_reentrant_callbacks(char *msg);

#endif
