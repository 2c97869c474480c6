/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chio/error.h - result codes and error details for every libchio call.
 *
 * Every fallible function returns int: 0 on success or one negative CHIO_E*
 * code. The whole table lives in CHIO_ERRNO_MAP below (libuv's UV_ERRNO_MAP
 * idea): the enum, chio_strerror() and chio_errno_name() are generated from it,
 * so a code and its text can never drift apart. Numbers are part of the ABI
 * and never change; new codes are appended with new numbers.
 *
 * Calls that have no handle to hang a message on (parsing, key loading) take
 * an optional caller-allocated chio_error that receives the code, a message
 * and, for input errors, the byte offset where the problem was found.
 */
#ifndef CHIO_ERROR_H
#define CHIO_ERROR_H

#include <stddef.h>

#include "chio/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* XX(NAME, number, message). The code is CHIO_<NAME> = -number. */
#define CHIO_ERRNO_MAP(XX)                                                       \
    XX(EINVAL, 1, "invalid argument")                                            \
    XX(ENOMEM, 2, "out of memory")                                               \
    XX(EIO, 3, "input/output error")                                             \
    XX(ECRYPTO, 4, "cryptographic library failure")                              \
    XX(ETOOBIG, 5, "input too large")                                            \
    XX(ESEED_ODD, 10, "seed hex has an odd number of digits")                    \
    XX(ESEED_NONHEX, 11, "seed hex contains a non-hex character")                \
    XX(ESEED_SPACE, 12, "seed hex contains whitespace")                          \
    XX(ESEED_NEWLINE, 13, "seed hex ends with a newline")                        \
    XX(ESEED_LENGTH, 14, "seed does not decode to exactly 32 bytes")             \
    XX(EHEX, 20, "invalid hex string")                                           \
    XX(EKEY, 21, "invalid public key")                                           \
    XX(ESIGFORMAT, 22, "invalid signature encoding")                             \
    XX(EBADSIG, 23, "signature does not verify")                                 \
    XX(EJSON_SYNTAX, 30, "malformed JSON")                                       \
    XX(EJSON_TRUNCATED, 31, "JSON input ends early")                             \
    XX(EJSON_UTF8, 32, "invalid UTF-8 in JSON")                                  \
    XX(EJSON_SURROGATE, 33, "lone surrogate in JSON \\u escape")                 \
    XX(EJSON_DEPTH, 34, "JSON nested too deeply")                                \
    XX(EJSON_DUPKEY, 35, "duplicate key in JSON object")                         \
    XX(EJSON_NULKEY, 36, "JSON object key contains NUL")                         \
    XX(EJSON_NUMBER, 37, "JSON number out of range")                             \
    XX(EJSON_TRAILING, 38, "trailing data after JSON value")                     \
    XX(EJSON_CONTROL, 39, "unescaped control character in JSON string")          \
    XX(EFORMAT, 40, "document does not have the expected fields or types")       \
    XX(ESEMANTIC, 41, "receipt violates the semantic rules of its kind")         \
    XX(EHASH, 42, "hash does not match the content")                             \
    XX(ESCHEMA, 43, "unknown or mismatched schema")                              \
    XX(EPROOF, 50, "Merkle proof does not verify")                               \
    XX(ERANGE, 51, "value out of range")                                         \
    XX(EDRAINED, 60, "kernel is draining or drained")                            \
    XX(EAGAIN, 61, "would block: the signing queue is full")                     \
    XX(EFAILED, 62, "kernel failed closed after a store error")                  \
    XX(ESTORE, 63, "receipt store error")                                        \
    XX(ECORRUPT, 64, "receipt store is corrupt or inconsistent")                 \
    XX(EBUSY, 65, "receipt store is in use by another process")                  \
    XX(ENOTFOUND, 66, "not found")                                               \
    XX(ESYS, 67, "system call failed")                                           \
    XX(ECONFIG, 68, "invalid kernel configuration")                              \
    XX(ESERVING, 70, "kernel is serving: registration is closed")                \
    XX(EDUPLICATE, 71, "already registered")                                     \
    XX(ENOSESSION, 72, "unknown session")                                        \
    XX(ESESSION_DRAINING, 73, "session is draining")                             \
    XX(ESESSION_CLOSED, 74, "session is closed")                                 \
    XX(ESESSION_ACTIVE, 75, "session has requests in flight")                    \
    XX(EWEB3, 76, "require_web3_evidence needs a durable store and checkpoints") \
    XX(ENOCAP, 77, "capability not held by the session")                         \
    XX(EDENIED, 78, "request refused by the kernel")                             \
    XX(ESTREAM_LIMIT, 79, "stream limit reached")                                \
    XX(ENOTMINE, 80, "not handled by this provider")                             \
    XX(ECANCELLED, 81, "request cancelled")                                      \
    XX(ELIMIT, 82, "a configured limit was reached")                             \
    XX(EDEADLK, 83, "the call would wait for the thread making it")

typedef enum chio_errno {
    CHIO_OK = 0,
#define CHIO__ERR_ENUM(name, num, msg) CHIO_##name = -(num),
    CHIO_ERRNO_MAP(CHIO__ERR_ENUM)
#undef CHIO__ERR_ENUM
} chio_errno;

/* Marks chio_error.offset when the error is not tied to an input position. */
#define CHIO_NO_OFFSET ((size_t)-1)

/*
 * Error details for calls that have no handle.
 *
 * Caller-allocated; fill it with chio_error_init() (or zero it) before use.
 * Libraries write to it only on failure. `message` is always NUL-terminated,
 * one line of UTF-8 with no control character: text it quotes from the
 * input (a key, a schema, a field's value) has each control character and
 * each byte that is not UTF-8 shown as '?'.
 * The layout is part of the ABI and frozen (abi.h rule 5).
 */
typedef struct chio_error {
    int code;          /* 0 or a CHIO_E* code */
    size_t offset;     /* byte offset in the input, or CHIO_NO_OFFSET */
    char message[256]; /* human-readable detail, never contains key material */
} chio_error;

/*
 * chio_error_init - reset an error record to "no error".
 *
 * @err: record to reset; NULL is ignored.
 * Ownership: borrowed. Thread-safety: touches only @err.
 */
CHIO_EXTERN void chio_error_init(chio_error *err);

/*
 * chio_strerror - static English text for a result code, for people.
 *
 * Returns: a string for every code in CHIO_ERRNO_MAP, "success" for 0 and
 * "unknown error" otherwise. Ownership: static, never freed.
 * Thread-safety: safe from any thread.
 */
CHIO_EXTERN const char *chio_strerror(int code);

/*
 * chio_errno_name - the symbolic name of a result code ("CHIO_EJSON_DEPTH"),
 * for logs and programs: stable across releases.
 *
 * Returns: a static string; "CHIO_OK" for 0 and "CHIO_EUNKNOWN" for a value
 * that is no code. Ownership: static. Thread-safety: safe from any thread.
 */
CHIO_EXTERN const char *chio_errno_name(int code);

/*
 * chio_errno_reason - the reporting class of a result code, in snake_case:
 * what scenario reports and chio_kernel_unreceipted_errors() use for an
 * evaluation that ended in an error without a receipt.
 *
 * Returns: "unknown_session" (CHIO_ENOSESSION), "session_draining",
 * "session_closed", "kernel_drained" (CHIO_EDRAINED),
 * "web3_evidence_required" (CHIO_EWEB3), "unknown_capability" (CHIO_ENOCAP),
 * "session_active", "would_deadlock" (CHIO_EDEADLK), "kernel_serving",
 * "duplicate", "limit_reached" (CHIO_ELIMIT), "cancelled", "denied",
 * "stream_limit", "not_handled" (CHIO_ENOTMINE), "store_failure"
 * (CHIO_ESTORE, CHIO_EFAILED, CHIO_EBUSY, CHIO_ECORRUPT),
 * "invalid_arguments" (CHIO_EINVAL, CHIO_ETOOBIG, the CHIO_EJSON_* codes),
 * "internal_error" for every other code and for values that are no code;
 * "none" for 0. Every code's class is listed in one table (src/kernel/codes.c).
 * Ownership: static. Thread-safety: safe from any thread.
 */
CHIO_EXTERN const char *chio_errno_reason(int code);

/* Deprecated name of chio_errno_name() (same result: static, never NULL). */
CHIO_EXTERN const char *chio_err_name(int code) CHIO_DEPRECATED("use chio_errno_name");

/*
 * chio_free - release memory that libchio handed to the caller
 * (canonical JSON buffers, hex strings). NULL is ignored.
 *
 * Ownership: takes @ptr. Thread-safety: safe from any thread.
 */
CHIO_EXTERN void chio_free(void *ptr);

#ifdef __cplusplus
}
#endif

#endif /* CHIO_ERROR_H */
