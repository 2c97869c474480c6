/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev54_badsig.c - review 54: a large token whose
 * signature does not verify was re-serialised and re-verified in full on
 * every call (the token cache kept successes only, because libcrypto
 * reports an allocation failure inside a verification as a bad
 * signature), so an agent holding a session with a forged token of many
 * megabytes paid for its bytes once and made the kernel hash them on each
 * call. A token of CHIO__BADSIG_HOLD_MIN_BYTES or more whose signature
 * failed twice in a row is now held as failed for badsig_hold_secs: every
 * call is still denied invalid_signature with a receipt, and a later call
 * costs far less than the first. A small token's failure is never held
 * (the allocation-failure suites, rev33_oom_token, hold it to that).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/kernelutil.h"
#include "kernel/tokens.h"
#include "kernel_internal.h"

#define NOW      1710000300u
#define BIG_URI  ((size_t)8 << 20) /* 8 MiB: verifying it takes tens of ms */
#define NOT_HELD 16u               /* a held failure costs < 1/16 of the first call */

TestSuite(rev54_badsig);

static uint64_t now_at = NOW;

/* A token for srv/read with a resource grant whose pattern is @uri_len
 * bytes; with @forge, the first hex digit of its signature changed (the
 * S half stays canonical, so the whole message is still hashed). */
static char *token(const char *id, size_t uri_len, int forge)
{
    static const char head[] = "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\","
                               "\"operations\":[\"invoke\"]}],\"resource_grants\":[{"
                               "\"uri_pattern\":\"";
    static const char tail[] = "\",\"operations\":[\"read\"]}]}";
    char *scope = malloc(sizeof(head) + uri_len + sizeof(tail)), *tok, *sig;

    cr_assert_not_null(scope);
    memcpy(scope, head, sizeof(head) - 1);
    memset(scope + sizeof(head) - 1, 'x', uri_len);
    memcpy(scope + sizeof(head) - 1 + uri_len, tail, sizeof(tail));
    tok = tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB, scope, NOW - 10, 1000, NULL, 0);
    free(scope);
    cr_assert_not_null(tok);
    if (forge) {
        sig = strstr(tok, "\"signature\":\"");
        cr_assert_not_null(sig);
        sig += strlen("\"signature\":\"");
        *sig = *sig == '0' ? '1' : '0';
    }
    return tok;
}

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One call of srv/read under @cap in @sid: its code, its receipt's reason
 * into @reason, the calling thread's CPU time into *@cpu. */
static chio_code call(chio_kernel *k, const char *sid, const char *cap, char *reason, size_t rcap,
                      uint64_t *cpu)
{
    chio_call c;
    chio_response r;
    chio_error err;
    const chio_json *d;
    chio_code code;
    uint64_t t0;

    kt_call_init(&c, sid, cap, "read", "{}");
    chio_error_init(&err);
    chio_response_init(&r);
    t0 = thread_cpu_ns();
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    *cpu = thread_cpu_ns() - t0;
    cr_assert_not_null(r.receipt, "a decision without a receipt");
    d = chio_json_get(chio_receipt_root(r.receipt), "decision");
    code = r.code;
    if (code != CHIO_CODE_NONE) {
        const char *why = chio_json_string(chio_json_get(d, "reason"), NULL);
        cr_expect_str_eq(chio_json_string(chio_json_get(d, "verdict"), NULL), "deny");
        cr_expect_str_eq(chio_json_string(chio_json_get(d, "guard"), NULL), chio_code_name(code));
        snprintf(reason, rcap, "%s", why ? why : "");
    }
    chio_response_destroy(&r);
    return code;
}

Test(rev54_badsig, a_large_forged_token_is_not_verified_again_on_every_call)
{
    chio_kernel *k = kt_read_kernel(NULL, &now_at, 4);
    char *forged = token("cap-big", BIG_URI, 1), *genuine = token("cap-big2", BIG_URI, 0);
    char sid[CHIO_SESSION_ID_LEN + 1], sid2[CHIO_SESSION_ID_LEN + 1];
    char first[256] = "", again[256] = "";
    uint64_t cpu1, cpu;
    size_t cached;

    kt_open1(k, forged, sid);
    kt_open1(k, genuine, sid2);
    cached = chio__shmap_count(&k->med.token_cache);
    cr_assert_eq(call(k, sid, "cap-big", first, sizeof(first), &cpu1), CHIO_CODE_INVALID_SIGNATURE);
    /* the failure is held (before review 54 only successes were kept) */
    cr_expect_eq(chio__shmap_count(&k->med.token_cache), cached + 1);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(call(k, sid, "cap-big", again, sizeof(again), &cpu),
                     CHIO_CODE_INVALID_SIGNATURE, "call %d", i + 2);
        cr_expect_str_eq(again, first, "call %d: the same denial", i + 2);
        cr_expect_lt(cpu * NOT_HELD, cpu1,
                     "call %d took %llu ns of CPU, the first %llu: verified again", i + 2,
                     (unsigned long long)cpu, (unsigned long long)cpu1);
    }
    /* the genuine token of the same size, beside it, is allowed */
    cr_expect_eq(call(k, sid2, "cap-big2", again, sizeof(again), &cpu), CHIO_CODE_NONE, "%s",
                 again);
    chio_kernel_free(k);
    free(forged);
    free(genuine);
}

/* Once badsig_hold_secs has passed (here: at once) the token is verified
 * afresh; a small token's failure is never held at all. */
Test(rev54_badsig, a_held_failure_is_verified_afresh_and_a_small_one_is_never_held)
{
    chio_kernel *k = kt_read_kernel(NULL, &now_at, 4);
    char *forged = token("cap-big", BIG_URI, 1), *small = token("cap-small", 16, 1);
    char sid[CHIO_SESSION_ID_LEN + 1], sid2[CHIO_SESSION_ID_LEN + 1], reason[256];
    uint64_t cpu1, cpu;
    size_t cached;

    k->med.badsig_hold_secs = 0; /* before any call */
    kt_open1(k, forged, sid);
    kt_open1(k, small, sid2);
    cr_assert_eq(call(k, sid, "cap-big", reason, sizeof(reason), &cpu1),
                 CHIO_CODE_INVALID_SIGNATURE);
    cr_assert_eq(call(k, sid, "cap-big", reason, sizeof(reason), &cpu),
                 CHIO_CODE_INVALID_SIGNATURE);
    cr_expect_gt(cpu * 4, cpu1, "%llu ns of CPU against %llu: not verified again",
                 (unsigned long long)cpu, (unsigned long long)cpu1);
    cached = chio__shmap_count(&k->med.token_cache);
    cr_assert_eq(call(k, sid2, "cap-small", reason, sizeof(reason), &cpu),
                 CHIO_CODE_INVALID_SIGNATURE);
    cr_expect_eq(chio__shmap_count(&k->med.token_cache), cached, "a small failure was kept");
    chio_kernel_free(k);
    free(forged);
    free(small);
}
