/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev44_sessions.c - sessions and admission under an
 * adversarial agent (review 44): tokens bound to their session, ids
 * matched exactly, closing while calls run, from the call's own tool and
 * while the kernel drains, the per-session token limit, and memory across
 * many open/close cycles. Regression guards: each held on review.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"
#include "kernel_internal.h"

#define NOW 1710000300u

static uint64_t g_now = NOW;
/* The blocking tool: how many entered, and the gate they wait on. */
static int g_entered, g_gate;

static void setup(void)
{
    g_now = NOW;
    g_entered = 0;
    g_gate = 0;
}

TestSuite(rev44_sessions, .init = setup);

static int gated_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                      size_t len, chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    __atomic_add_fetch(&g_entered, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&g_gate, __ATOMIC_SEQ_CST))
        testutil_nap_ms(1);
    return chio_output_set_json(out, args, len);
}

static chio_kernel *gk_kernel(void)
{
    chio_kernel_config cfg;
    chio_kernel *k;

    kt_config(&cfg, NULL);
    cfg.clock = kt_clock_at;
    cfg.clock_ctx = &g_now;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    kt_serve_t(k, "srv", 0, gated_tool);
    return k;
}

/* One call of srv/t: the rc; the response into @r (destroyed by caller). */
static int gk_call(chio_kernel *k, const char *sid, const char *cap, chio_response *r,
                   chio_error *err)
{
    chio_call c;

    kt_grant_call(&c, sid, cap, "{}", 2);
    chio_error_init(err);
    chio_response_init(r);
    return chio_kernel_evaluate(k, &c, r, err);
}

typedef struct bg_call {
    chio_kernel *k;
    const char *sid, *cap;
    chio_response r;
    chio_error err;
    int rc;
} bg_call;

static void *bg_run(void *arg)
{
    bg_call *b = arg;

    b->rc = gk_call(b->k, b->sid, b->cap, &b->r, &b->err);
    return NULL;
}

static int entered_one(void *arg)
{
    (void)arg;
    return __atomic_load_n(&g_entered, __ATOMIC_SEQ_CST) >= 1;
}

/* ---- tokens belong to their session ------------------------------------------------------ */

Test(rev44_sessions, a_token_of_one_session_is_unknown_in_another)
{
    chio_kernel *k = gk_kernel();
    char a[CHIO_SESSION_ID_LEN + 1], b[CHIO_SESSION_ID_LEN + 1], c[CHIO_SESSION_ID_LEN + 1];
    char *tok = tk_token(TK_KERNEL_SEED, "cap-a", TK_AGENT_PUB,
                         "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
                         "\"operations\":[\"invoke\"]}]}",
                         NOW - 10, 100, NULL, 0);
    const char *caps[1] = {tok};
    chio_response r;
    chio_error err;

    __atomic_store_n(&g_gate, 1, __ATOMIC_SEQ_CST);
    cr_assert_not_null(tok);
    kt_open1(k, tok, a);
    kt_grant_session(k, NOW, "cap-b", "", b);
    /* Session b never held cap-a: a deny receipt, no tool run. */
    cr_assert_eq(gk_call(k, b, "cap-a", &r, &err), 0, "%s", err.message);
    cr_assert_not_null(r.receipt);
    cr_expect_eq(r.code, CHIO_CODE_UNKNOWN_CAPABILITY);
    chio_response_destroy(&r);
    /* Another agent presenting the same token in its own session. */
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(
                     k, "0000000000000000000000000000000000000000000000000000000000000001", caps,
                     NULL, 1, c, &err),
                 0, "%s", err.message);
    cr_assert_eq(gk_call(k, c, "cap-a", &r, &err), 0, "%s", err.message);
    cr_assert_not_null(r.receipt);
    cr_expect_eq(r.code, CHIO_CODE_SUBJECT_MISMATCH);
    chio_response_destroy(&r);
    cr_assert_eq(gk_call(k, a, "cap-a", &r, &err), 0, "%s", err.message);
    cr_expect_eq(r.code, CHIO_CODE_NONE);
    chio_response_destroy(&r);
    chio_kernel_free(k);
    free(tok);
}

/* ---- ids match exactly ---------------------------------------------------------------------- */

Test(rev44_sessions, session_ids_differing_in_case_or_length_are_unknown)
{
    chio_kernel *k = gk_kernel();
    char sid[CHIO_SESSION_ID_LEN + 1], v[CHIO_SESSION_ID_LEN + 8];
    chio_session_state st;
    chio_response r;
    chio_error err;
    size_t i;

    __atomic_store_n(&g_gate, 1, __ATOMIC_SEQ_CST);
    kt_grant_session(k, NOW, "cap-x", "", sid);
    for (i = 5; i < CHIO_SESSION_ID_LEN; i++) {
        char ch = sid[i];
        memcpy(v, sid, sizeof(sid));
        if (ch >= 'a' && ch <= 'z')
            v[i] = (char)(ch - 32);
        else if (ch >= 'A' && ch <= 'Z')
            v[i] = (char)(ch + 32);
        else
            continue;
        cr_expect_eq(gk_call(k, v, "cap-x", &r, &err), CHIO_ENOSESSION, "%s", v);
        cr_expect_null(r.receipt);
        chio_response_destroy(&r);
        cr_expect_eq(chio_kernel_session_state(k, v, &st), CHIO_ENOSESSION);
        cr_expect_eq(chio_kernel_close_session(k, v, NULL), CHIO_ENOSESSION);
    }
    memcpy(v, sid, sizeof(sid));
    v[CHIO_SESSION_ID_LEN - 1] = '\0';
    cr_expect_eq(gk_call(k, v, "cap-x", &r, &err), CHIO_ENOSESSION);
    chio_response_destroy(&r);
    memcpy(v, sid, CHIO_SESSION_ID_LEN);
    memcpy(v + CHIO_SESSION_ID_LEN, "A", 2);
    cr_expect_eq(gk_call(k, v, "cap-x", &r, &err), CHIO_ENOSESSION);
    chio_response_destroy(&r);
    cr_expect_eq(chio_kernel_close_session(k, v, NULL), CHIO_ENOSESSION);
    cr_assert_eq(chio_kernel_session_state(k, sid, &st), 0);
    cr_expect_eq(st, CHIO_SESSION_READY);
    chio_kernel_free(k);
}

/* ---- close while a call runs ---------------------------------------------------------------- */

Test(rev44_sessions, closing_while_a_call_runs_keeps_its_receipt_and_refuses_later_calls)
{
    chio_kernel *k = gk_kernel();
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_session_state st;
    chio_response r;
    chio_error err;
    pthread_t th;
    bg_call b;

    kt_grant_session(k, NOW, "cap-c", "", sid);
    memset(&b, 0, sizeof(b));
    b.k = k;
    b.sid = sid;
    b.cap = "cap-c";
    cr_assert_eq(pthread_create(&th, NULL, bg_run, &b), 0);
    cr_assert(testutil_wait_until(entered_one, NULL, 30000), "the tool never ran");
    chio_error_init(&err);
    cr_expect_eq(chio_kernel_close_session(k, sid, &err), CHIO_ESESSION_ACTIVE);
    cr_expect(strstr(err.message, "1 request(s)") != NULL, "%s", err.message);
    cr_expect_eq(chio_kernel_close_session(k, sid, NULL), CHIO_ESESSION_ACTIVE, "twice");
    cr_assert_eq(chio_kernel_session_state(k, sid, &st), 0);
    cr_expect_eq(st, CHIO_SESSION_DRAINING);
    cr_expect_eq(gk_call(k, sid, "cap-c", &r, &err), CHIO_ESESSION_DRAINING);
    cr_expect_null(r.receipt);
    chio_response_destroy(&r);
    __atomic_store_n(&g_gate, 1, __ATOMIC_SEQ_CST);
    pthread_join(th, NULL);
    cr_assert_eq(b.rc, 0, "%s", b.err.message);
    cr_expect_not_null(b.r.receipt, "the call in flight keeps its receipt");
    cr_expect_eq(b.r.verdict, CHIO_VERDICT_ALLOW);
    chio_response_destroy(&b.r);
    cr_expect_eq(chio_kernel_close_session(k, sid, NULL), 0);
    cr_expect_eq(chio_kernel_close_session(k, sid, NULL), 0, "closing a closed session");
    cr_expect_eq(gk_call(k, sid, "cap-c", &r, &err), CHIO_ESESSION_CLOSED);
    chio_response_destroy(&r);
    cr_expect_eq(chio__session_count(k), 0);
    chio_kernel_free(k);
}

typedef struct drainer {
    chio_kernel *k;
    int rc, done;
} drainer;

static void *drain_run(void *arg)
{
    drainer *d = arg;

    d->rc = chio_kernel_drain(d->k, NULL);
    __atomic_store_n(&d->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

typedef struct probe {
    chio_kernel *k;
} probe;

/* The kernel refuses a new session (the drain began). */
static int drain_began(void *arg)
{
    probe *p = arg;
    char sid[CHIO_SESSION_ID_LEN + 1];

    return chio_kernel_open_session(p->k, TK_AGENT_PUB, NULL, NULL, 0, sid, NULL) == CHIO_EDRAINED;
}

Test(rev44_sessions, closing_while_the_kernel_drains_keeps_the_call_in_flight)
{
    chio_kernel *k = gk_kernel();
    char sid[CHIO_SESSION_ID_LEN + 1], other[CHIO_SESSION_ID_LEN + 1];
    chio_session_state st;
    chio_response r;
    chio_error err;
    pthread_t th, dt;
    drainer d = {0};
    probe p;
    bg_call b;

    kt_grant_session(k, NOW, "cap-d", "", sid);
    kt_grant_session(k, NOW, "cap-d2", "", other);
    memset(&b, 0, sizeof(b));
    b.k = k;
    b.sid = sid;
    b.cap = "cap-d";
    cr_assert_eq(pthread_create(&th, NULL, bg_run, &b), 0);
    cr_assert(testutil_wait_until(entered_one, NULL, 30000), "the tool never ran");
    d.k = k;
    cr_assert_eq(pthread_create(&dt, NULL, drain_run, &d), 0);
    p.k = k;
    cr_assert(testutil_wait_until(drain_began, &p, 30000), "the drain never began");
    cr_expect_eq(__atomic_load_n(&d.done, __ATOMIC_SEQ_CST), 0, "drain waits for the call");
    cr_expect_eq(chio_kernel_close_session(k, sid, NULL), CHIO_ESESSION_ACTIVE);
    cr_expect_eq(chio_kernel_close_session(k, other, NULL), 0);
    cr_expect_eq(gk_call(k, sid, "cap-d", &r, &err), CHIO_EDRAINED);
    chio_response_destroy(&r);
    __atomic_store_n(&g_gate, 1, __ATOMIC_SEQ_CST);
    pthread_join(th, NULL);
    pthread_join(dt, NULL);
    cr_expect_eq(d.rc, 0);
    cr_assert_eq(b.rc, 0, "%s", b.err.message);
    cr_expect_not_null(b.r.receipt);
    cr_expect_eq(b.r.verdict, CHIO_VERDICT_ALLOW);
    chio_response_destroy(&b.r);
    cr_expect_eq(chio_kernel_close_session(k, sid, NULL), 0);
    cr_expect_eq(chio_kernel_session_state(k, sid, &st), 0);
    cr_expect_eq(st, CHIO_SESSION_CLOSED);
    chio_kernel_free(k);
}

/* ---- many open/close cycles --------------------------------------------------------------- */

/* AddressSanitizer keeps freed blocks in its quarantine (256 MiB), which
 * RSS counts: the growth bound holds without it. */
#if defined(__SANITIZE_ADDRESS__)
#define S44_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define S44_ASAN 1
#endif
#endif

Test(rev44_sessions, open_close_cycles_do_not_grow_memory)
{
    chio_kernel *k = gk_kernel();
    char *tok = tk_token(TK_KERNEL_SEED, "cap-m", TK_AGENT_PUB,
                         "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
                         "\"operations\":[\"invoke\"]}]}",
                         NOW - 10, 100, NULL, 0);
    const char *caps[1] = {tok};
    char sid[CHIO_SESSION_ID_LEN + 1];
    long before = 0, after;
    size_t i, n = 60000;
    chio_error err;

    for (i = 0; i < n; i++) {
        if (i == n / 3)
            before = kt_status_kib("VmRSS");
        chio_error_init(&err);
        cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0, "%s",
                     err.message);
        cr_assert_eq(chio_kernel_close_session(k, sid, &err), 0, "%s", err.message);
    }
    after = kt_status_kib("VmRSS");
#ifndef S44_ASAN
    cr_expect_lt(after - before, 4096, "RSS grew %ld KiB over %zu cycles", after - before,
                 2 * n / 3);
#else
    (void)before;
    (void)after;
#endif
    cr_expect_eq(chio__session_count(k), 0);
    cr_expect_leq(chio__shmap_count(&k->med.closed), CHIO__SESSION_TOMBSTONES);
    chio_kernel_free(k);
    free(tok);
}

/* ---- a tool closing its own session ------------------------------------------------------- */

static chio_kernel *g_k;
static int g_close_rc, g_nested_rc, g_nested_receipt;

static int closing_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                        size_t len, chio_output *out)
{
    const char *sid = chio_tool_ctx_session_id(ctx);
    chio_response r;
    chio_error err;

    (void)user;
    (void)tool;
    g_close_rc = chio_kernel_close_session(g_k, sid, NULL);
    g_nested_rc = gk_call(g_k, sid, "cap-o", &r, &err);
    g_nested_receipt = r.receipt != NULL;
    chio_response_destroy(&r);
    return chio_output_set_json(out, args, len);
}

Test(rev44_sessions, a_tool_closing_its_own_session_keeps_its_receipt)
{
    chio_kernel_config cfg;
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_session_state st;
    chio_response r;
    chio_error err;

    kt_config(&cfg, NULL);
    cfg.clock = kt_clock_at;
    cfg.clock_ctx = &g_now;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    g_k = kt_kernel(&cfg);
    kt_serve_t(g_k, "srv", 0, closing_tool);
    kt_grant_session(g_k, NOW, "cap-o", "", sid);
    cr_assert_eq(gk_call(g_k, sid, "cap-o", &r, &err), 0, "%s", err.message);
    cr_expect_not_null(r.receipt);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW);
    chio_response_destroy(&r);
    cr_expect_eq(g_close_rc, CHIO_ESESSION_ACTIVE, "its own call is in flight");
    cr_expect_eq(g_nested_rc, CHIO_ESESSION_DRAINING);
    cr_expect_eq(g_nested_receipt, 0);
    cr_assert_eq(chio_kernel_session_state(g_k, sid, &st), 0);
    cr_expect_eq(st, CHIO_SESSION_DRAINING);
    cr_expect_eq(chio_kernel_close_session(g_k, sid, NULL), 0);
    chio_kernel_free(g_k);
}

/* ---- the token limit of one session ------------------------------------------------------- */

Test(rev44_sessions, a_session_holds_at_most_the_token_limit)
{
    chio_kernel *k = gk_kernel();
    char *tok = tk_token(TK_KERNEL_SEED, "cap-l", TK_AGENT_PUB,
                         "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
                         "\"operations\":[\"invoke\"]}]}",
                         NOW - 10, 100, NULL, 0);
    const char **caps = calloc(CHIO_MAX_SESSION_TOKENS + 1, sizeof(*caps));
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_response r;
    chio_error err;
    size_t i;

    cr_assert_not_null(caps);
    for (i = 0; i <= CHIO_MAX_SESSION_TOKENS; i++)
        caps[i] = tok;
    chio_error_init(&err);
    cr_expect_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, CHIO_MAX_SESSION_TOKENS + 1,
                                          sid, &err),
                 CHIO_ETOOBIG);
    cr_expect_eq(sid[0], '\0');
    cr_expect_eq(chio__session_count(k), 0);
    cr_assert_eq(
        chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, CHIO_MAX_SESSION_TOKENS, sid, &err),
        0, "%s", err.message);
    __atomic_store_n(&g_gate, 1, __ATOMIC_SEQ_CST);
    cr_assert_eq(gk_call(k, sid, "cap-l", &r, &err), 0, "%s", err.message);
    cr_expect_eq(r.code, CHIO_CODE_NONE);
    chio_response_destroy(&r);
    cr_expect_eq(chio_kernel_close_session(k, sid, NULL), 0);
    chio_kernel_free(k);
    free(caps);
    free(tok);
}
