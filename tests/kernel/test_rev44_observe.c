/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev44_observe.c - review 44: what the kernel does
 * besides deciding. A log sink may call into another kernel whose sink
 * calls back into the first: the line the first kernel logs from there is
 * dropped (it would wait for a log lock its own thread holds), and the
 * calls that would wait for that thread refuse with CHIO_EDEADLK, as from
 * the kernel's own sink; before, only the innermost kernel was
 * remembered and the thread hung. And the redacted copy of a denied
 * call's arguments is built in time linear in their size: a marker for a
 * flagged key was inserted in the middle of the object's sorted members,
 * so 4 MiB of arguments with tens of thousands of flagged keys held a
 * thread for seconds.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/poll.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NOW    1710000300u
#define SECRET "AKIAABCDEFGHIJKLMNOP"
#define GUARD  "SecretGuard"

static uint64_t clock_fn(void *ctx)
{
    (void)ctx;
    return NOW;
}

/* ---- log sinks that call into each other's kernels --------------------------------------- */

typedef struct xsink {
    chio_kernel *other; /* the kernel this sink calls into (NULL: none) */
    int lines;
    int *budget;            /* revocations left to the two sinks together */
    int drain_rc;           /* chio_kernel_drain(other) from the inner sink; 1: not called */
    int revokes, revoke_rc; /* revocations on the other kernel, the last one's result */
} xsink;

/* How many sinks this thread is inside. */
static _Thread_local int x_depth;

/* Each line: revoke an id on the other kernel (whose sink then runs
 * inside this one); the inner of two sinks first tries to drain the
 * kernel whose sink is the outer one. */
static void cross_sink(void *ctx, chio_log_level level, const char *json, size_t len)
{
    xsink *s = ctx;
    chio_kernel *o = __atomic_load_n(&s->other, __ATOMIC_SEQ_CST);
    char id[32];
    chio_error err;
    int b;

    (void)level;
    (void)json;
    (void)len;
    __atomic_add_fetch(&s->lines, 1, __ATOMIC_SEQ_CST);
    b = __atomic_sub_fetch(s->budget, 1, __ATOMIC_SEQ_CST);
    if (o == NULL || b < 0)
        return;
    x_depth++;
    if (x_depth == 2 && s->drain_rc == 1)
        s->drain_rc = chio_kernel_drain(o, NULL);
    snprintf(id, sizeof(id), "x-%d", b);
    chio_error_init(&err);
    s->revoke_rc = chio_kernel_revoke_capability(o, id, &err);
    s->revokes++;
    x_depth--;
}

typedef struct xrun {
    xsink a, b;
    int budget, done;
} xrun;

static chio_kernel *x_kernel(xsink *s)
{
    chio_kernel_config cfg;

    kt_config(&cfg, NULL);
    cfg.clock = clock_fn;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_INFO; /* capability_revoked is logged at info */
    cfg.log = cross_sink;
    cfg.log_ctx = s;
    return kt_kernel(&cfg);
}

static void *x_body(void *arg)
{
    xrun *x = arg;
    chio_kernel *ka = x_kernel(&x->a), *kb = x_kernel(&x->b);
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_start(ka, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_start(kb, &err), 0, "%s", err.message);
    __atomic_store_n(&x->a.other, kb, __ATOMIC_SEQ_CST);
    __atomic_store_n(&x->b.other, ka, __ATOMIC_SEQ_CST);
    /* a's line -> a's sink revokes on b -> b's sink revokes on a -> a logs */
    cr_expect_eq(chio_kernel_revoke_capability(ka, "start", &err), 0, "%s", err.message);
    __atomic_store_n(&x->a.other, NULL, __ATOMIC_SEQ_CST);
    __atomic_store_n(&x->b.other, NULL, __ATOMIC_SEQ_CST);
    chio_kernel_free(ka);
    chio_kernel_free(kb);
    __atomic_store_n(&x->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

Test(rev44_observe, a_sink_calling_a_kernel_whose_sink_calls_back_does_not_hang)
{
    xrun x;
    pthread_t th;

    memset(&x, 0, sizeof(x));
    x.budget = 20;
    x.a.budget = x.b.budget = &x.budget;
    x.a.drain_rc = x.b.drain_rc = 1;
    cr_assert_eq(pthread_create(&th, NULL, x_body, &x), 0);
    /* a hang leaves the thread blocked on a's log lock: fail, do not join */
    cr_assert(testutil_wait_until(testutil_flag_set, &x.done, 30000),
              "hung: a's sink saw %d lines, b's %d", x.a.lines, x.b.lines);
    pthread_join(th, NULL);
    /* a's sink revoked on b, and b's (inside it) on a: a's line from there dropped */
    cr_expect_eq(x.a.revokes, 1);
    cr_expect_eq(x.a.revoke_rc, 0);
    cr_expect_eq(x.b.revokes, 1);
    cr_expect_eq(x.b.revoke_rc, 0);
    cr_expect_eq(x.b.drain_rc, CHIO_EDEADLK,
                 "draining a from b's sink inside a's sink returned %d, not CHIO_EDEADLK",
                 x.b.drain_rc);
}

/* ---- the redacted copy of arguments with many flagged keys -------------------------------- */

static chio_kernel *secret_kernel(void)
{
    static const char *const tools[] = {"t"};
    static const char *const patterns[] = {"AKIA[0-9A-Z]{16}"};
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_error err;

    kt_config(&cfg, NULL);
    cfg.clock = clock_fn;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    kt_serve_echo(k, "srv", tools, 1);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_add_secret_leak_guard(k, GUARD, patterns, 1, &err), 0, "%s",
                 err.message);
    return k;
}

/* One call of srv/t with @args in a fresh session; its wall time in ms. */
static uint64_t timed_call(chio_kernel *k, const char *args, chio_response *r)
{
    static unsigned n;
    char sid[CHIO_SESSION_ID_LEN + 1], id[32];
    chio_call c;
    chio_error err;
    uint64_t t0;

    snprintf(id, sizeof(id), "cap-r44-%u", ++n);
    kt_grant_session(k, NOW, id, "", sid);
    kt_grant_call(&c, sid, id, args, strlen(args));
    chio_error_init(&err);
    chio_response_init(r);
    t0 = testutil_now_ms();
    cr_assert_eq(chio_kernel_evaluate(k, &c, r, &err), 0, "%s", err.message);
    t0 = testutil_now_ms() - t0;
    cr_assert_not_null(r->receipt);
    cr_expect_eq(r->code, CHIO_CODE_GUARD_DENIED, "%s", chio_code_name(r->code));
    return t0;
}

/* An object of @m flagged keys (SECRET<i>: i), @clean keys <first><i>: 0
 * and the key "[REDACTED:secret_leak:1]" (a marker's name, not flagged). */
static char *many_keys(size_t m, size_t clean, char first)
{
    size_t cap = m * 48 + clean * 24 + 64, o = 0, i;
    char *s = malloc(cap);

    cr_assert_not_null(s);
    o += (size_t)snprintf(s, cap, "{\"[REDACTED:secret_leak:1]\":\"kept\"");
    for (i = 0; i < m; i++)
        o += (size_t)snprintf(s + o, cap - o, ",\"" SECRET "%zu\":%zu", i, i);
    for (i = 0; i < clean; i++)
        o += (size_t)snprintf(s + o, cap - o, ",\"%c%zu\":0", first, i);
    snprintf(s + o, cap - o, "}");
    return s;
}

Test(rev44_observe, many_flagged_keys_are_redacted_in_linear_time)
{
    const size_t m = 64000, clean = 160000; /* about 3.7 MB: under the 4 MiB default */
    chio_kernel *k = secret_kernel();
    char *lower = many_keys(m, clean, 'a'), *digits = many_keys(m, clean, '0');
    const chio_json *root, *params;
    uint64_t t_digits, t_lower, count = 0;
    chio_response r;
    size_t len;

    cr_assert_lt(strlen(lower), (size_t)CHIO_DEFAULT_MAX_ARGUMENT_BYTES);
    /* keys starting with a digit sort before '[': each marker was added at the end */
    t_digits = timed_call(k, digits, &r);
    chio_response_destroy(&r);
    /* keys starting with a lower-case letter sort after every marker */
    t_lower = timed_call(k, lower, &r);
    cr_expect_lt(t_lower, 4 * t_digits + 1000,
                 "the redacted copy took %llu ms with lower-case keys, %llu ms with digits",
                 (unsigned long long)t_lower, (unsigned long long)t_digits);
    /* the copy is still right: every member, markers numbered in the
     * source's order, never the name of a key that stays */
    root = chio_receipt_root(r.receipt);
    cr_expect_str_eq(chio_json_string(chio_json_get(root, "redaction_mode"), NULL), "redacted");
    cr_expect_eq(chio_json_get_uint64(
                     chio_json_get(chio_json_get(chio_json_get(root, "metadata"), "redaction"),
                                   "redacted_values"),
                     &count),
                 0);
    cr_expect_eq(count, m);
    params = chio_json_get(chio_json_get(root, "action"), "parameters");
    cr_expect_eq(chio_json_size(params), m + clean + 1);
    cr_expect_str_eq(chio_json_string(chio_json_get(params, "[REDACTED:secret_leak:1]"), NULL),
                     "kept");
    /* source order: SECRET0, SECRET1, SECRET10, ... */
    cr_expect_eq(chio_json_get_uint64(chio_json_get(params, "[REDACTED:secret_leak:2]"), &count),
                 0);
    cr_expect_eq(count, 0);
    cr_expect_eq(chio_json_get_uint64(chio_json_get(params, "[REDACTED:secret_leak:4]"), &count),
                 0);
    cr_expect_eq(count, 10);
    cr_expect_null(chio_json_get(params, SECRET "0"));
    cr_expect_not_null(chio_json_get(params, "a159999"));
    cr_expect_null(strstr(chio_receipt_json(r.receipt, &len), "AKIA"));
    chio_response_destroy(&r);
    free(lower);
    free(digits);
    chio_kernel_free(k);
}
