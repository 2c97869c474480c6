/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev33_oom_token.c - review 33: a capability token whose
 * first verification runs while memory is short. libcrypto reports an
 * allocation failure inside an Ed25519 verification as a bad signature;
 * the kernel cached that "invalid" for the token, so a valid token stayed
 * denied invalid_signature for the kernel's life once memory was back.
 *   - a fresh token per N, the Nth allocation of its first call failing:
 *     the next call without faults is allowed;
 *   - 8 threads calling every kind of call while every Nth allocation of
 *     every thread fails: every answer is an error with an empty response
 *     or a decision with a receipt that verifies and is in the store, no
 *     denied kind becomes an allow, and once memory is back every kind is
 *     answered as without faults, drain works, the log audits clean and a
 *     restart continues it.
 */
#include <criterion/criterion.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/failalloc.h"
#include "kernel/kernelutil.h"
#include "kernel/oomkit.h"
#include "kernel/tokens.h"

TestSuite(rev33_oom_token);

/* A session on @env's kernel holding one fresh token @id for srv/t (new
 * bytes: nothing cached about it); its id into env->sid. */
static void fresh_session(ok_env *env, const char *id)
{
    const char *caps[1];
    chio_error err;
    char *tok = tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB,
                         "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
                         "\"operations\":[\"invoke\"]}]}",
                         OK_NOW - 10, 100000, NULL, 0);

    cr_assert_not_null(tok);
    caps[0] = tok;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(env->k, TK_AGENT_PUB, caps, NULL, 1, env->sid, &err), 0,
                 "%s", err.message);
    free(tok);
}

Test(rev33_oom_token, a_token_first_verified_while_memory_is_short_is_allowed_later)
{
    ok_fault count = {0, FA_THIS_THREAD, FA_ONLY_NTH};
    ok_env env;
    uint64_t n;
    char id[32];

    ok_start(&env);
    fresh_session(&env, "cap-f0");
    n = ok_call(&env, "cap-f0", "srv", "t", &count).counted;
    for (uint64_t i = 1; i <= n; i++) {
        ok_fault f = {i, FA_THIS_THREAD, FA_ONLY_NTH};
        ok_result r;

        snprintf(id, sizeof(id), "cap-f%llu", (unsigned long long)i);
        fresh_session(&env, id);
        ok_call(&env, id, "srv", "t", &f);
        r = ok_call(&env, id, "srv", "t", NULL);
        cr_assert_eq(r.rc, 0, "%s after allocation %llu failed: %s", chio_errno_name(r.rc),
                     (unsigned long long)i, r.message);
        cr_assert_eq(r.verdict, CHIO_VERDICT_ALLOW,
                     "a valid token denied (%s) after allocation %llu of its first check failed",
                     chio_code_name(r.code), (unsigned long long)i);
    }
    chio_kernel_free(env.k);
    env.k = NULL;
    ok_audit(env.db);
    ok_stop(&env);
}

/* ---- many callers while memory is tight on every thread ---------------------------- */

#define ST_THREADS 8
#define ST_CALLS   40

typedef struct st_worker {
    ok_env *env;
    pthread_barrier_t *armed; /* passed twice: warmed up, then armed */
    pthread_t th;
    int id;
    /* what the calls gave: receipts kept for checking after the run */
    chio_receipt *receipts[ST_CALLS];
    chio_verdict verdicts[ST_CALLS];
    int kinds[ST_CALLS];
    int errors, bad;
} st_worker;

/* libcrypto's per-thread state (the thread's random generator, its error
 * queue) is made at the thread's first use and freed when the thread ends,
 * through a handler it registers then; when that registration's own
 * allocation fails, the state of a thread that ends is never freed (an
 * OpenSSL 3.0 leak, not libchio's, LeakSanitizer's report in make asan).
 * The callers are this test's threads: each makes that state before the
 * injector is armed. */
static void st_warm_up(void)
{
    unsigned char b[1];

    cr_assert_eq(RAND_bytes(b, 1), 1);
    ERR_set_mark();
    ERR_pop_to_mark();
}

static void *st_run(void *arg)
{
    st_worker *w = arg;

    st_warm_up();
    pthread_barrier_wait(w->armed);
    pthread_barrier_wait(w->armed);
    for (int i = 0; i < ST_CALLS; i++) {
        const ok_kind *k = &ok_kinds[(size_t)(w->id + i) % OK_NKINDS];
        chio_response r;
        chio_call c;
        chio_error err;
        int rc;

        memset(&c, 0, sizeof(c));
        c.session_id = w->env->sid;
        c.capability_id = k->cap;
        c.server_id = k->server;
        c.tool_name = k->tool;
        c.arguments_json = "{\"n\":1}";
        c.arguments_len = 7;
        chio_error_init(&err);
        chio_response_init(&r);
        rc = chio_kernel_evaluate(w->env->k, &c, &r, &err);
        w->kinds[i] = (int)(k - ok_kinds);
        if (rc == 0) {
            w->verdicts[i] = r.verdict;
            w->receipts[i] = r.receipt;
            r.receipt = NULL;
            if (w->receipts[i] == NULL)
                w->bad++;
        } else {
            w->errors++;
            if (r.receipt != NULL || r.output != NULL || r.nchildren != 0 || err.code == 0)
                w->bad++;
        }
        chio_response_destroy(&r);
    }
    return NULL;
}

/* The receipts @w kept verify, and no denied kind became an allow; frees
 * them. Returns how many there were. */
static uint64_t st_check(st_worker *w)
{
    uint64_t n = 0;
    uint8_t key[32];

    for (int j = 0; j < 32; j++) {
        unsigned v;
        cr_assert_eq(sscanf(TEST_PUB + 2 * j, "%2x", &v), 1);
        key[j] = (uint8_t)v;
    }
    cr_assert_eq(w->bad, 0,
                 "thread %d: an error with a receipt or output, or a decision "
                 "without a receipt",
                 w->id);
    for (int i = 0; i < ST_CALLS; i++) {
        const ok_kind *k = &ok_kinds[w->kinds[i]];
        chio_receipt_report rep;

        if (w->receipts[i] == NULL)
            continue;
        n++;
        if (k->verdict != CHIO_VERDICT_ALLOW)
            cr_assert_neq(w->verdicts[i], CHIO_VERDICT_ALLOW, "%s became an allow", k->name);
        cr_assert_eq(chio_receipt_verify(w->receipts[i], key, 1, &rep), 0);
        cr_assert(rep.ok, "a receipt returned under memory pressure does not verify");
        chio_receipt_free(w->receipts[i]);
    }
    return n;
}

static void st_round(uint64_t every)
{
    st_worker w[ST_THREADS];
    pthread_barrier_t armed;
    ok_env env;
    chio_error err;
    uint64_t before, decided = 0;

    ok_start(&env);
    before = ok_store_last(&env);
    memset(w, 0, sizeof(w));
    cr_assert_eq(pthread_barrier_init(&armed, NULL, ST_THREADS + 1), 0);
    for (int t = 0; t < ST_THREADS; t++) {
        w[t].env = &env;
        w[t].armed = &armed;
        w[t].id = t;
        cr_assert_eq(pthread_create(&w[t].th, NULL, st_run, &w[t]), 0);
    }
    pthread_barrier_wait(&armed); /* every caller warmed up */
    fa_arm(every, FA_ANY_THREAD, FA_EVERY_NTH);
    pthread_barrier_wait(&armed);
    for (int t = 0; t < ST_THREADS; t++)
        pthread_join(w[t].th, NULL);
    fa_disarm();
    pthread_barrier_destroy(&armed);
    for (int t = 0; t < ST_THREADS; t++)
        decided += st_check(&w[t]);
    /* every decided call's receipt is in the log (plus child receipts, and
     * those of nested requests whose call failed later) */
    cr_assert_geq(ok_store_last(&env) - before, decided);
    /* memory is back: every kind answers as without faults */
    for (size_t i = 0; i < OK_NKINDS; i++)
        ok_baseline(&env, &ok_kinds[i], FA_THIS_THREAD, 0, 0);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_drain(env.k, &err), 0, "drain: %s", err.message);
    chio_kernel_free(env.k);
    env.k = NULL;
    ok_audit(env.db);
    env.k = ok_kernel(env.db);
    ok_open_session(&env);
    ok_baseline(&env, &ok_kinds[0], FA_THIS_THREAD, 0, 0);
    chio_kernel_free(env.k);
    env.k = NULL;
    ok_audit(env.db);
    ok_stop(&env);
}

Test(rev33_oom_token, many_callers_while_memory_is_tight_on_every_thread)
{
    static const uint64_t every[] = {5, 11, 29, 97};

    for (size_t i = 0; i < sizeof(every) / sizeof(every[0]); i++)
        st_round(every[i]);
}
