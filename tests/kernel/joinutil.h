/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/joinutil.h - helpers of the forbidden_path guard's
 * joined-literal suites (test_rev58_join.c, test_rev58_join2.c): a code
 * value under "cmd", rows run against review 17's prefixes, and the
 * linear-cost check of hostile shapes.
 */
#ifndef CHIO_TESTS_JOINUTIL_H
#define CHIO_TESTS_JOINUTIL_H

#include <stddef.h>

/* {"cmd":"<@v JSON-escaped>"}, malloc'ed. */
char *ju_cmd_args(const char *v);
/* Each value of @rows under "cmd", against the prefixes /root/.ssh/ and
 * /etc/shadow; @denied[i] says whether row i is denied. */
void ju_run_rows(const char *const *rows, const int *denied, size_t n);

/* A value: @head, @unit repeated to some size, then a tail that names
 * /etc/shadow, which must still be found after them. */
typedef struct ju_shape {
    const char *head, *unit;
} ju_shape;
/* For each of @shapes (@n), with @tail after it, under a forbidden_path
 * guard on /etc/shadow: every call denied, and 4 times the bytes taking
 * less than 8 times the CPU time (quadratic would be 16). */
void ju_expect_linear(const ju_shape *shapes, size_t n, const char *tail);

#endif
