/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/oomkit.h - the kernel of the allocation-failure suites
 * (review 33): tool servers that echo, fail, stream and make nested
 * requests, a denying guard, a session holding a token for each, and one
 * checked call: whatever the injector (common/failalloc.h) did, a call
 * returns 0 only with a signed receipt that verifies under the kernel key
 * and is in the store, and an error only with an empty response.
 */
#ifndef CHIO_TEST_OOMKIT_H
#define CHIO_TEST_OOMKIT_H

#include <stdint.h>

#include "chio/chio.h"
#include "common/failalloc.h"

#define OK_NOW 1710000300u
#define OK_CPB 4 /* checkpoint every 4 receipts: checkpoints are signed during sweeps */

typedef struct ok_env {
    char *dir;
    char *db;
    chio_kernel *k;
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_store *reader;         /* a secondary on db, opened at the first check */
    const chio_kernel *read_of; /* the kernel it was opened behind */
} ok_env;

/* What one checked call gave. */
typedef struct ok_result {
    int rc;
    chio_verdict verdict;
    chio_code code;
    size_t nchildren;
    uint64_t receipts; /* receipts the call added to the store */
    uint64_t counted;  /* allocations the injector counted */
    uint64_t failures; /* allocations it failed */
    char message[256]; /* the error's message */
    char site[64];     /* where the failed allocation was made (fa_failed_site) */
} ok_result;

/* An injection: fa_arm(nth, threads, mode) around the call. */
typedef struct ok_fault {
    uint64_t nth;
    fa_threads threads;
    fa_mode mode;
} ok_fault;

/* A kernel on @env->db with every server and guard, started, and a session
 * (OK_NOW) holding cap-ok (srv/{t,err,nest,g,b}, ssrv/s; srv/x is registered
 * but not granted; a budget for srv/b, sampling allowed) and cap-old (expired). */
void ok_start(ok_env *env);
/* The same on the existing store (a restart), no session. */
chio_kernel *ok_kernel(const char *db);
void ok_open_session(ok_env *env);
void ok_stop(ok_env *env);

/* One call of @server/@tool under capability @cap in @env's session with
 * the injection @f (NULL: the injector is left as the caller set it),
 * checked as above (the checks fail the test). */
ok_result ok_call(ok_env *env, const char *cap, const char *server, const char *tool,
                  const ok_fault *f);

/* The same through chio_kernel_evaluate_async(), waiting for the
 * completion (30 s at most) before disarming the injection. */
ok_result ok_call_async(ok_env *env, const char *cap, const char *server, const char *tool,
                        const ok_fault *f);

/* The kinds of call the sweeps make, each with its answer without faults. */
typedef struct ok_kind {
    const char *name, *cap, *server, *tool;
    chio_verdict verdict;
    chio_code code;
    size_t nchildren;
} ok_kind;
extern const ok_kind ok_kinds[];
#define OK_NKINDS 8

/* One call of @k (asynchronous when @async) without faults, checked to give
 * @k's answer; @after names the failed allocation before it in messages.
 * Returns the allocations the injector counted on @threads. */
uint64_t ok_baseline(ok_env *env, const ok_kind *k, fa_threads threads, int async, uint64_t after);

/* Fail allocation N = 1 .. (the allocations of one call + 2) on @threads in
 * @mode, one call of @k per N, each checked by ok_call, never an allow for
 * a call that is denied without faults, and each followed by ok_baseline
 * (not wedged). With @audit, the whole log is audited after each N too.
 * Set CHIO_OOM_VERBOSE to see each injection's outcome on stderr. */
void ok_sweep(ok_env *env, const ok_kind *k, fa_threads threads, fa_mode mode, int async,
              int audit);

/* Audit @db's whole log (chio_store_audit_log under the test key: receipts,
 * sequence, id index, checkpoints, hash chain, log head); fails the test
 * on any problem. Returns the receipts read. */
uint64_t ok_audit(const char *db);

/* The highest committed sequence number of @env's store (read through a
 * second handle, a secondary caught up first: the store, not the kernel's
 * counters). */
uint64_t ok_store_last(ok_env *env);

#endif
