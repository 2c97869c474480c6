/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/rev32api.h - the result checks of review 32's API misuse
 * sweep (tests/{core,kernel,store,export}/test_rev32_*.c): a call's code,
 * and for a failure the same code and a message in its chio_error.
 */
#ifndef CHIO_TEST_REV32API_H
#define CHIO_TEST_REV32API_H

#include <criterion/criterion.h>

#include "chio/chio.h"

/* @expr returns @want; for a failure the chio_error `err` (reset first)
 * holds the same code and a message. */
#define ERC(expr, want)                                                                   \
    do {                                                                                  \
        chio_error_init(&err);                                                            \
        int rc_ = (expr);                                                                 \
        cr_expect_eq(rc_, (want), "%s: got %s want %s (%s)", #expr, chio_errno_name(rc_), \
                     chio_errno_name(want), err.message);                                 \
        if ((want) < 0 && rc_ == (want)) {                                                \
            cr_expect_eq(err.code, (want), "%s: err.code %d", #expr, err.code);           \
            cr_expect_neq(err.message[0], '\0', "%s: no message", #expr);                 \
        }                                                                                 \
    } while (0)
#define RC(expr, want)                                                               \
    do {                                                                             \
        int rc_ = (expr);                                                            \
        cr_expect_eq(rc_, (want), "%s: got %s want %s", #expr, chio_errno_name(rc_), \
                     chio_errno_name(want));                                         \
    } while (0)

#endif
