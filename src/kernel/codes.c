/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/codes.c - names: of decision codes (chio_code_name()) and of the
 * errors an evaluation can end with (chio_error_code_name()); the counters
 * of evaluations that ended in an error without a receipt, by reason
 * (chio_kernel_unreceipted_errors(), metrics.c); and the once-per-kernel
 * check that the signing key's memory is locked. Counters are relaxed
 * atomics (statistics); nothing here takes a lock.
 */
#include <string.h>

#include "request.h"

/* ---- codes ------------------------------------------------------------------------------ */

const char *chio_code_name(chio_code code)
{
    static const char *const names[] = {
#define CHIO__CODE_STR(name, str) str,
        CHIO_CODE_MAP(CHIO__CODE_STR)
#undef CHIO__CODE_STR
    };

    if ((int)code < 0 || code >= CHIO_CODE__COUNT)
        return NULL;
    return names[code];
}

const char *chio_error_code_name(int rc)
{
    switch (rc) {
    case CHIO_ENOSESSION:
        return "unknown_session";
    case CHIO_ESESSION_DRAINING:
        return "session_draining";
    case CHIO_ESESSION_CLOSED:
        return "session_closed";
    case CHIO_EDRAINED:
        return "kernel_drained";
    case CHIO_EWEB3:
        return "web3_evidence_required";
    case CHIO_ENOCAP:
        return "unknown_capability";
    case CHIO_ESESSION_ACTIVE: /* chio_kernel_close_session() with calls in flight */
        return "session_active";
    case CHIO_EDEADLK: /* a wait from the thread it would wait for */
        return "would_deadlock";
    case CHIO_ESERVING: /* registration after serving began */
        return "kernel_serving";
    case CHIO_EDUPLICATE: /* a name registered twice */
        return "duplicate";
    case CHIO_ELIMIT: /* a configured bound (revocations) */
        return "limit_reached";
    case CHIO_ECANCELLED: /* tool context calls after cancellation */
        return "cancelled";
    case CHIO_EDENIED: /* a nested request the kernel refused */
        return "denied";
    case CHIO_ESTREAM_LIMIT: /* chio_tool_ctx_emit_chunk() past a stream limit */
        return "stream_limit";
    case CHIO_ENOTMINE: /* a provider passing on a name */
        return "not_handled";
    case CHIO_ESTORE:
    case CHIO_EFAILED:
    case CHIO_EBUSY:
    case CHIO_ECORRUPT:
        return "store_failure";
    case CHIO_EINVAL:
    case CHIO_EJSON_SYNTAX:
    case CHIO_EJSON_TRUNCATED:
    case CHIO_EJSON_UTF8:
    case CHIO_EJSON_SURROGATE:
    case CHIO_EJSON_DEPTH:
    case CHIO_EJSON_DUPKEY:
    case CHIO_EJSON_NULKEY:
    case CHIO_EJSON_NUMBER:
    case CHIO_EJSON_TRAILING:
    case CHIO_EJSON_CONTROL:
    case CHIO_ETOOBIG:
        return "invalid_arguments";
    default:
        return "internal_error";
    }
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
    const char *name = chio_error_code_name(rc);
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
