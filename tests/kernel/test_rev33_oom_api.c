/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev33_oom_api.c - review 33: allocation failure in the
 * calls around an evaluation (coverage of what held): the Nth allocation
 * of the call fails for N = 1 .. its allocations. Verification never says
 * "valid" for a tampered token, receipt or checkpoint; opening and closing
 * a session, revoking, starting on an existing store (its restore) and
 * draining either succeed and hold, or fail and work when tried again
 * without faults; the log audits clean after all of it.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/failalloc.h"
#include "kernel/kernelutil.h"
#include "kernel/oomkit.h"
#include "kernel/tokens.h"

TestSuite(rev33_oom_api);

#define SCOPE_T \
    "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\",\"operations\":[\"invoke\"]}]}"

static void trusted(uint8_t key[32])
{
    for (int j = 0; j < 32; j++) {
        unsigned v;
        cr_assert_eq(sscanf(TEST_PUB + 2 * j, "%2x", &v), 1);
        key[j] = (uint8_t)v;
    }
}

/* Sweep @fn(@arg) (returns 1 when its outcome is wrong) over N = 1 .. the
 * allocations of one run (+ 2). */
static void sweep_fn(const char *what, int (*fn)(void *arg), void *arg)
{
    uint64_t n;

    fa_arm(0, FA_THIS_THREAD, FA_ONLY_NTH);
    cr_assert_eq(fn(arg), 0, "%s without faults", what);
    n = fa_disarm();
    for (uint64_t i = 1; i <= n + 2; i++) {
        fa_arm(i, FA_THIS_THREAD, FA_ONLY_NTH);
        int bad = fn(arg);
        fa_disarm();
        cr_assert_eq(bad, 0, "%s: wrong outcome when allocation %llu failed", what,
                     (unsigned long long)i);
    }
}

static int tampered_token_never_verifies(void *arg)
{
    const char *json = arg;
    chio_capability *cap = NULL;
    chio_capability_report rep;
    uint8_t key[32];
    int bad = 0;

    trusted(key);
    if (chio_capability_parse(json, strlen(json), &cap, NULL) == 0) {
        if (chio_capability_verify(cap, OK_NOW, key, 1, 8, &rep) == 0 && rep.ok)
            bad = 1;
        chio_capability_free(cap);
    }
    return bad;
}

Test(rev33_oom_api, a_tampered_token_never_verifies_short_of_memory)
{
    char *tok =
        tk_token(TK_KERNEL_SEED, "cap-v", TK_AGENT_PUB, SCOPE_T, OK_NOW - 10, 1000, NULL, 0);
    char *bad = tk_replace(tok, "\"tool_name\":\"t\"", "\"tool_name\":\"u\"");

    cr_assert(tok != NULL && bad != NULL);
    sweep_fn("tampered token", tampered_token_never_verifies, bad);
    free(tok);
    free(bad);
}

static int tampered_receipt_never_verifies(void *arg)
{
    const char *json = arg;
    chio_receipt *r = NULL;
    chio_receipt_report rep;
    uint8_t key[32];
    int bad = 0;

    trusted(key);
    if (chio_receipt_parse(json, strlen(json), &r, NULL) == 0) {
        if (chio_receipt_verify(r, key, 1, &rep) == 0 && (rep.ok || rep.signature_valid))
            bad = 1;
        chio_receipt_free(r);
    }
    return bad;
}

static int tampered_checkpoint_never_verifies(void *arg)
{
    const char *json = arg;
    chio_checkpoint *cp = NULL;
    int bad = 0;

    if (chio_checkpoint_parse(json, strlen(json), &cp, NULL) == 0) {
        bad = chio_checkpoint_verify(cp) == 0;
        chio_checkpoint_free(cp);
    }
    return bad;
}

/* A receipt and a checkpoint from a real log, each with one byte changed. */
Test(rev33_oom_api, a_tampered_receipt_or_checkpoint_never_verifies_short_of_memory)
{
    ok_env env;
    chio_store *s = NULL;
    char *rj = NULL, *cj = NULL, *p;

    ok_start(&env);
    for (int i = 0; i < OK_CPB; i++)
        ok_baseline(&env, &ok_kinds[0], FA_THIS_THREAD, 0, 0);
    cr_assert_eq(chio_kernel_drain(env.k, NULL), 0);
    chio_kernel_free(env.k);
    env.k = NULL;
    cr_assert_eq(chio_store_open(env.db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_assert_eq(chio_store_get_receipt(s, 1, &rj, NULL, NULL), 0);
    cr_assert_eq(chio_store_get_checkpoint(s, 1, &cj, NULL, NULL), 0);
    chio_store_close(s);
    p = strstr(rj, "\"timestamp\":");
    cr_assert_not_null(p);
    p[strlen("\"timestamp\":")] = p[strlen("\"timestamp\":")] == '1' ? '2' : '1';
    p = strstr(cj, "\"issued_at\":");
    cr_assert_not_null(p);
    p[strlen("\"issued_at\":")] = p[strlen("\"issued_at\":")] == '1' ? '2' : '1';
    sweep_fn("tampered receipt", tampered_receipt_never_verifies, rj);
    sweep_fn("tampered checkpoint", tampered_checkpoint_never_verifies, cj);
    chio_free(rj);
    chio_free(cj);
    ok_stop(&env);
}

/* ---- sessions, revocation, start and drain ------------------------------------------ */

Test(rev33_oom_api, sessions_open_and_close_or_fail_short_of_memory)
{
    ok_fault count = {0, FA_THIS_THREAD, FA_ONLY_NTH};
    ok_env env;
    uint64_t n;

    ok_start(&env);
    fa_arm(0, FA_THIS_THREAD, FA_ONLY_NTH);
    ok_open_session(&env);
    n = fa_disarm();
    for (uint64_t i = 1; i <= n + 2; i++) {
        const char *caps[1];
        char sid[CHIO_SESSION_ID_LEN + 1];
        char *tok =
            tk_token(TK_KERNEL_SEED, "cap-ok", TK_AGENT_PUB, SCOPE_T, OK_NOW - 10, 1000, NULL, 0);
        chio_session_state st;
        ok_result r;
        int rc;

        caps[0] = tok;
        memset(sid, 0, sizeof(sid));
        fa_arm(i, FA_THIS_THREAD, FA_ONLY_NTH);
        rc = chio_kernel_open_session(env.k, TK_AGENT_PUB, caps, NULL, 1, sid, NULL);
        fa_disarm();
        free(tok);
        if (rc != 0) {
            ok_open_session(&env); /* works without faults */
        } else {
            memcpy(env.sid, sid, sizeof(sid));
            cr_assert_eq(ok_call(&env, "cap-ok", "srv", "t", &count).verdict, CHIO_VERDICT_ALLOW);
        }
        fa_arm(i, FA_THIS_THREAD, FA_ONLY_NTH);
        rc = chio_kernel_close_session(env.k, env.sid, NULL);
        fa_disarm();
        if (rc != 0) {
            cr_assert_eq(chio_kernel_session_state(env.k, env.sid, &st), 0);
            cr_assert_eq(chio_kernel_close_session(env.k, env.sid, NULL), 0);
        } else if (chio_kernel_session_state(env.k, env.sid, &st) == 0) {
            cr_assert_eq(st, CHIO_SESSION_CLOSED);
        }
        /* closed: a late call is refused, as closed or (when its tombstone
         * could not be stored) as unknown; never served */
        r = ok_call(&env, "cap-ok", "srv", "t", &count);
        cr_assert(r.rc == CHIO_ESESSION_CLOSED || r.rc == CHIO_ENOSESSION, "%s",
                  chio_errno_name(r.rc));
    }
    chio_kernel_free(env.k);
    env.k = NULL;
    ok_audit(env.db);
    ok_stop(&env);
}

Test(rev33_oom_api, a_revocation_holds_or_fails_short_of_memory)
{
    ok_env env;
    uint64_t n;
    int held[64] = {0};
    char id[32];

    ok_start(&env);
    fa_arm(0, FA_THIS_THREAD, FA_ONLY_NTH);
    cr_assert_eq(chio_kernel_revoke_capability(env.k, "cap-r0", NULL), 0);
    n = fa_disarm();
    cr_assert_lt(n + 2, 64);
    for (uint64_t i = 1; i <= n + 2; i++) {
        int rc;

        snprintf(id, sizeof(id), "cap-r%llu", (unsigned long long)i);
        fa_arm(i, FA_THIS_THREAD, FA_ONLY_NTH);
        rc = chio_kernel_revoke_capability(env.k, id, NULL);
        fa_disarm();
        if (rc == 0) {
            held[i] = 1;
            cr_assert_eq(chio_kernel_is_revoked(env.k, id), 1, "revoked (0) but not listed");
        } else {
            cr_assert_eq(chio_kernel_revoke_capability(env.k, id, NULL), 0);
            held[i] = 1;
        }
    }
    ok_baseline(&env, &ok_kinds[0], FA_THIS_THREAD, 0, 0);
    chio_kernel_free(env.k);
    /* every revocation that returned 0 survives a restart */
    env.k = ok_kernel(env.db);
    for (uint64_t i = 1; i <= n + 2; i++) {
        snprintf(id, sizeof(id), "cap-r%llu", (unsigned long long)i);
        if (held[i])
            cr_assert_eq(chio_kernel_is_revoked(env.k, id), 1, "%s lost at the restart", id);
    }
    chio_kernel_free(env.k);
    env.k = NULL;
    ok_audit(env.db);
    ok_stop(&env);
}

Test(rev33_oom_api, a_start_on_an_existing_store_succeeds_or_fails_and_retries)
{
    ok_env env;
    uint64_t n;

    ok_start(&env);
    for (int i = 0; i < OK_CPB + 2; i++) /* a checkpoint and two receipts after it */
        ok_baseline(&env, &ok_kinds[0], FA_THIS_THREAD, 0, 0);
    chio_kernel_free(env.k);
    env.k = ok_kernel(env.db);
    fa_arm(0, FA_THIS_THREAD, FA_ONLY_NTH);
    cr_assert_eq(chio_kernel_start(env.k, NULL), 0);
    n = fa_disarm();
    chio_kernel_free(env.k);
    for (uint64_t i = 1; i <= n + 2; i++) {
        chio_error err;
        int rc;

        env.k = ok_kernel(env.db);
        fa_arm(i, FA_THIS_THREAD, FA_ONLY_NTH);
        rc = chio_kernel_start(env.k, NULL);
        fa_disarm();
        chio_error_init(&err);
        if (rc != 0)
            cr_assert_eq(chio_kernel_start(env.k, &err), 0, "start after a failed one: %s",
                         err.message);
        ok_open_session(&env);
        ok_baseline(&env, &ok_kinds[0], FA_THIS_THREAD, 0, i);
        chio_kernel_free(env.k);
        env.k = NULL;
    }
    ok_audit(env.db);
    ok_stop(&env);
}

Test(rev33_oom_api, a_drain_short_of_memory_leaves_a_whole_log)
{
    ok_env env;

    ok_start(&env);
    for (uint64_t i = 1; i <= 40; i++) {
        fa_arm(i, FA_ANY_THREAD, FA_ONLY_NTH);
        (void)chio_kernel_drain(env.k, NULL);
        fa_disarm();
        chio_kernel_free(env.k);
        ok_audit(env.db);
        env.k = ok_kernel(env.db);
        ok_open_session(&env);
        ok_baseline(&env, &ok_kinds[0], FA_THIS_THREAD, 0, i);
        ok_baseline(&env, &ok_kinds[7], FA_THIS_THREAD, 0, i);
    }
    chio_kernel_free(env.k);
    env.k = NULL;
    ok_audit(env.db);
    ok_stop(&env);
}
