/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/rev32secret.h - helpers shared by review 32's secret_leak
 * suites (test_rev32_secret.c, test_rev32_sec2.c): a kernel with one
 * secret_leak guard, and a call through the real pipeline timed in
 * process CPU.
 */
#ifndef CHIO_TESTS_REV32SECRET_H
#define CHIO_TESTS_REV32SECRET_H

#include "chio/chio.h"

/* The kernels' clock (a fixed time inside the test tokens' validity). */
#define R32S_NOW 1710000300u

/* The process's CPU time so far, in seconds. */
double r32s_process_cpu(void);
/* A kernel serving srv/t (echo) with one secret_leak guard "Secrets" of
 * @patterns (@n of them); fails the test when the guard is refused. */
chio_kernel *r32s_guarded_kernel(const char *const *patterns, size_t n);
/* Evaluate @args under a fresh token of srv/t; the response in @r (with a
 * receipt, else the test fails), the process CPU seconds the call took
 * returned. */
double r32s_timed_call(chio_kernel *k, const char *args, chio_response *r);
/* On a kernel guarded by @patterns (@np): each of @denied (@nd) denied
 * guard_denied, each of @allowed (@na) allowed; failures name the row. */
void r32s_run_rows(const char *const *patterns, size_t np, const char *const *denied, size_t nd,
                   const char *const *allowed, size_t na);

#endif
