/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/hostcost.h - helpers shared by the host-option suites'
 * cost checks (test_rev60_hosts.c, test_rev62_hostkv.c,
 * test_rev63_hostkv.c, and the CPU-ratio checks of test_rev64_hosts.c,
 * test_rev64_cwd.c, test_rev65_paths.c): the kernels' fixed clock, one
 * call through the real pipeline timed in process CPU, and a set of
 * such calls held to a linear cost.
 */
#ifndef CHIO_TESTS_HOSTCOST_H
#define CHIO_TESTS_HOSTCOST_H

#include <stddef.h>
#include <stdint.h>

#include "chio/chio.h"

/* The kernels' clock: always 1710000300 (the suites' NOW). */
uint64_t hc_clock(void *ctx);
/* CPU seconds one call under @sid's grant "cap-cost" takes whose arguments
 * are {"url":"https://api.example.com/","@key":"..."} with the string @pre,
 * then @unit repeated to @n bytes (the last copy whole), then @post (all
 * JSON string text); fails the test when the call is refused. */
double hc_call_cpu(chio_kernel *k, const char *sid, const char *key, const char *pre,
                   const char *unit, const char *post, size_t n);
/* Each of the @n cases (@pre, @unit, @post as hc_call_cpu takes them)
 * timed at @small bytes and 4 x @small (after a warm call of @small / 4):
 * the larger may take at most @ratio times the smaller and 0.05 s
 * (linear: about 4; quadratic: 16). The figures go to stderr under @tag,
 * for the report. Shared by the cost tests of rev64_hosts, rev64_cwd and
 * rev65_paths. */
void hc_expect_linear(chio_kernel *k, const char *sid, const char *tag,
                      const char *const (*cases)[3], size_t n, size_t small, double ratio);

#endif
