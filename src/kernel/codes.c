/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/codes.c - names: of decision codes (chio_code_name()) and the
 * reporting class of every result code (chio_errno_reason(), one X-macro
 * table; chio_error_code_name() is its deprecated name); the counters
 * of evaluations that ended in an error without a receipt, by reason
 * (chio_kernel_unreceipted_errors(), metrics.c); and the once-per-kernel
 * check that the signing key's memory is locked. Counters are relaxed
 * atomics (statistics); nothing here takes a lock.
 */
#include <string.h>

#include "request.h"

/* ---- codes ------------------------------------------------------------------------------ */

#define CHIO__CODE_STR(name, str) str,
static const char *const code_names[] = {CHIO_CODE_MAP(CHIO__CODE_STR)};
#undef CHIO__CODE_STR
/* The number of decision codes: private, the public enum has no count (abi.h). */
#define CHIO__CODE_COUNT (sizeof(code_names) / sizeof(code_names[0]))

const char *chio_code_name(chio_code code)
{
    if ((int)code < 0 || (size_t)code >= CHIO__CODE_COUNT)
        return NULL;
    return code_names[code];
}

int chio__is_code_name(const char *name)
{
    size_t i;

    for (i = 0; name != NULL && i < CHIO__CODE_COUNT; i++)
        if (strcmp(name, code_names[i]) == 0)
            return 1;
    return 0;
}

/*
 * XX(NAME, "reason"): the reporting class of every code of CHIO_ERRNO_MAP,
 * one row each (checked below: same count, no duplicate, every name a
 * code). The comments say where a class comes from.
 */
#define CHIO__ERRNO_REASON_MAP(XX)                                              \
    XX(EINVAL, "invalid_arguments")                                             \
    XX(ENOMEM, "internal_error")                                                \
    XX(EIO, "internal_error")                                                   \
    XX(ECRYPTO, "internal_error")                                               \
    XX(ETOOBIG, "invalid_arguments")                                            \
    XX(ESEED_ODD, "internal_error")                                             \
    XX(ESEED_NONHEX, "internal_error")                                          \
    XX(ESEED_SPACE, "internal_error")                                           \
    XX(ESEED_NEWLINE, "internal_error")                                         \
    XX(ESEED_LENGTH, "internal_error")                                          \
    XX(EHEX, "internal_error")                                                  \
    XX(EKEY, "internal_error")                                                  \
    XX(ESIGFORMAT, "internal_error")                                            \
    XX(EBADSIG, "internal_error")                                               \
    XX(EJSON_SYNTAX, "invalid_arguments")                                       \
    XX(EJSON_TRUNCATED, "invalid_arguments")                                    \
    XX(EJSON_UTF8, "invalid_arguments")                                         \
    XX(EJSON_SURROGATE, "invalid_arguments")                                    \
    XX(EJSON_DEPTH, "invalid_arguments")                                        \
    XX(EJSON_DUPKEY, "invalid_arguments")                                       \
    XX(EJSON_NULKEY, "invalid_arguments")                                       \
    XX(EJSON_NUMBER, "invalid_arguments")                                       \
    XX(EJSON_TRAILING, "invalid_arguments")                                     \
    XX(EJSON_CONTROL, "invalid_arguments")                                      \
    XX(EFORMAT, "internal_error")                                               \
    XX(ESEMANTIC, "internal_error")                                             \
    XX(EHASH, "internal_error")                                                 \
    XX(ESCHEMA, "internal_error")                                               \
    XX(EPROOF, "internal_error")                                                \
    XX(ERANGE, "internal_error")                                                \
    XX(EDRAINED, "kernel_drained")                                              \
    XX(EAGAIN, "internal_error")                                                \
    XX(EFAILED, "store_failure")                                                \
    XX(ESTORE, "store_failure")                                                 \
    XX(ECORRUPT, "store_failure")                                               \
    XX(EBUSY, "store_failure")                                                  \
    XX(ENOTFOUND, "internal_error")                                             \
    XX(ESYS, "internal_error")                                                  \
    XX(ECONFIG, "internal_error")                                               \
    XX(ESERVING, "kernel_serving") /* registration after serving began */       \
    XX(EDUPLICATE, "duplicate")    /* a name registered twice */                \
    XX(ENOSESSION, "unknown_session")                                           \
    XX(ESESSION_DRAINING, "session_draining")                                   \
    XX(ESESSION_CLOSED, "session_closed")                                       \
    XX(ESESSION_ACTIVE, "session_active") /* close with calls in flight */      \
    XX(EWEB3, "web3_evidence_required")                                         \
    XX(ENOCAP, "unknown_capability")                                            \
    XX(EDENIED, "denied")             /* a nested request the kernel refused */ \
    XX(ESTREAM_LIMIT, "stream_limit") /* emit_chunk past a stream limit */      \
    XX(ENOTMINE, "not_handled")       /* a provider passing on a name */        \
    XX(ECANCELLED, "cancelled")       /* tool context calls after cancel */     \
    XX(ELIMIT, "limit_reached")       /* a configured bound (revocations) */    \
    XX(EDEADLK, "would_deadlock")     /* a wait from the thread it waits for */

#define CHIO__ONE(...) +1
_Static_assert(0 CHIO__ERRNO_REASON_MAP(CHIO__ONE) == 0 CHIO_ERRNO_MAP(CHIO__ONE),
               "every result code needs exactly one row in CHIO__ERRNO_REASON_MAP");
#undef CHIO__ONE

const char *chio_errno_reason(int rc)
{
    /* A switch: a duplicate row is a duplicate case (a compile error), a
     * misspelt name an undeclared identifier. */
    switch (rc) {
    case CHIO_OK:
        return "none";
#define CHIO__REASON_CASE(name, reason) \
    case CHIO_##name:                   \
        return reason;
        CHIO__ERRNO_REASON_MAP(CHIO__REASON_CASE)
#undef CHIO__REASON_CASE
    default: /* not a result code at all */
        return "internal_error";
    }
}

/* The deprecated name stays exported for programs linked against it. */
const char *chio_error_code_name(int rc)
{
    return chio_errno_reason(rc);
}

/* ---- errors without a receipt ------------------------------------------------------------ */

static const char *const unreceipted_names[] = {
#define CHIO__UNRECEIPTED_STR(name) #name,
    CHIO__UNRECEIPTED_MAP(CHIO__UNRECEIPTED_STR)
#undef CHIO__UNRECEIPTED_STR
};

/* Count an evaluation that ended in @rc with no receipt, by reason. */
void chio__count_unreceipted(chio_kernel *k, int rc)
{
    const char *name = chio_errno_reason(rc);
    size_t i;

    for (i = 0; i < CHIO__UNRECEIPTED_N; i++)
        if (strcmp(name, unreceipted_names[i]) == 0)
            break;
    if (i == CHIO__UNRECEIPTED_N)
        i = CHIO__UNRECEIPTED_N - 1; /* internal_error */
    /* Relaxed: a statistic. */
    __atomic_add_fetch(&k->m_unreceipted[i], 1, __ATOMIC_RELAXED);
}

uint64_t chio_kernel_unreceipted_errors(const chio_kernel *k, const char *reason)
{
    uint64_t sum = 0;
    size_t i;

    if (k == NULL)
        return 0;
    for (i = 0; i < CHIO__UNRECEIPTED_N; i++)
        if (reason == NULL || strcmp(reason, unreceipted_names[i]) == 0)
            sum += __atomic_load_n(&k->m_unreceipted[i], __ATOMIC_RELAXED);
    return sum;
}

const char *chio__unreceipted_name(size_t i)
{
    return i < CHIO__UNRECEIPTED_N ? unreceipted_names[i] : NULL;
}

/* ---- key memory ---------------------------------------------------------------------------- */

int chio__kernel_check_key_memory(chio_kernel *k)
{
    int dontdump = 0, lock_errno = 0;

    /* Relaxed exchange: only "exactly once" matters, nothing is published. */
    if (__atomic_exchange_n(&k->key_memory_checked, 1, __ATOMIC_RELAXED) != 0)
        return 0;
    if (chio_keypair_memory_locked(k->kp, &dontdump, &lock_errno) != 0 && dontdump)
        return 0;
    /* Not locked, or a copy of the key may reach a core dump (no /proc to
     * find OpenSSL's copy): either way the operator hears of it once. */
    chio__log(k, CHIO_LOG_WARN, "key_memory_unlocked",
              lock_errno ? strerror(lock_errno)
                         : "OpenSSL's copy of the key was not found (no /proc/self/mem): a "
                           "core dump may hold it",
              "\"dontdump\":%s,\"errno\":%d,\"hint\":\"raise RLIMIT_MEMLOCK (ulimit -l); "
              "lock_key_memory = 1 makes this fatal\"",
              dontdump ? "true" : "false", lock_errno);
    return 1;
}
