/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/hostcost.h - helpers shared by the host-option suites'
 * cost checks (test_rev60_hosts.c, test_rev62_hostkv.c,
 * test_rev63_hostkv.c): the kernels' fixed clock, and one call through
 * the real pipeline timed in process CPU.
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

#endif
