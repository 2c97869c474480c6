/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/otel/otel_check.h - the check the OTEL=1 test programs share:
 * CHECK(cond, fmt, ...) prints a failed check with its place and counts it
 * in the caller's `failures` (a variable in scope where it is used).
 */
#ifndef CHIO_TESTS_OTEL_CHECK_H
#define CHIO_TESTS_OTEL_CHECK_H

#include <stdio.h>

#define CHECK(cond, ...)                                               \
    do {                                                               \
        if (!(cond)) {                                                 \
            fprintf(stderr, "otel-test: %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                              \
            fputc('\n', stderr);                                       \
            failures++;                                                \
        }                                                              \
    } while (0)

#endif
