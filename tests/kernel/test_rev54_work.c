/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev54_work.c - review 54: the work of one call's
 * constraints is bounded per call, not per constraint. A token holding
 * the same regex_match constraint in 100 grants made one call search the
 * arguments 100 times, each up to the whole step bound (12 s of CPU for
 * one call on 1 MiB); now the searches share one bound, and a call checks
 * at most CHIO__CALL_CONSTRAINT_CHECKS constraints over the grants its
 * tool matches (authz.c, chio__call_work).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chio/error.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"
#include "mediate.h"

#define NOW 1710000300u

static uint64_t clock_fn(void *ctx)
{
    (void)ctx;
    return NOW;
}

static double thread_cpu(void)
{
    struct timespec t;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static chio_kernel *work_kernel(void)
{
    static const char *const tools[] = {"t"};

    return kt_echo_kernel(NULL, clock_fn, "srv", tools, 1);
}

/* A scope of @n grants on srv/t, grant i holding @per constraints: the
 * constraint @last for the last grant's, @each for every other's. */
static char *scope_of(size_t n, size_t per, const char *each, const char *last)
{
    size_t cap = 64 + n * (96 + per * (strlen(each) + strlen(last) + 2)), o, i, c;
    char *s = malloc(cap);

    cr_assert_not_null(s);
    o = (size_t)snprintf(s, cap, "{\"grants\":[");
    for (i = 0; i < n; i++) {
        o += (size_t)snprintf(s + o, cap - o,
                              "%s{\"server_id\":\"srv\",\"tool_name\":\"t\",\"operations\":["
                              "\"invoke\"],\"constraints\":[",
                              i ? "," : "");
        for (c = 0; c < per; c++)
            o += (size_t)snprintf(s + o, cap - o, "%s%s", c ? "," : "", i + 1 == n ? last : each);
        o += (size_t)snprintf(s + o, cap - o, "]}");
    }
    snprintf(s + o, cap - o, "]}");
    return s;
}

/* One call of @args under a token of @scope; the response in *@r, the
 * calling thread's CPU seconds returned. */
static double call_under(chio_kernel *k, const char *scope, const char *args, chio_response *r)
{
    static int n;
    char id[32], sid[CHIO_SESSION_ID_LEN + 1], *tok;
    const char *caps[1];
    chio_error err;
    chio_call c;
    double t0;

    snprintf(id, sizeof(id), "cap-work-%d", n++);
    tok = tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB, scope, NOW - 10, 100, NULL, 0);
    cr_assert_not_null(tok);
    caps[0] = tok;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    kt_grant_call(&c, sid, id, args, strlen(args));
    chio_error_init(&err);
    t0 = thread_cpu();
    cr_assert_eq(chio_kernel_evaluate(k, &c, r, &err), 0, "%s", err.message);
    t0 = thread_cpu() - t0;
    cr_assert_not_null(r->receipt, "no receipt");
    free(tok);
    return t0;
}

/* {"q":"<n bytes of 'a' and 'b' at random>"} */
static char *random_args(size_t n)
{
    char *a = malloc(n + 16);
    uint32_t x = 2463534242u;
    size_t i;

    cr_assert_not_null(a);
    memcpy(a, "{\"q\":\"", 6);
    for (i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        a[6 + i] = (x & 1) ? 'b' : 'a';
    }
    memcpy(a + 6 + n, "\"}", 3);
    return a;
}

/* The same pattern that spends the whole step bound, in 1 grant and in
 * 40: the 40 cost about what the one does (they share the bound), where
 * they used to cost 40 times as much. Both deny, naming the bound. */
Test(rev54_work, regex_searches_share_one_bound_per_call)
{
    static const char *const rx = "{\"type\":\"regex_match\",\"value\":\"(a|b)*a(a|b){24}x\"}";
    chio_kernel *k = work_kernel();
    char *args = random_args(1u << 20), *one = scope_of(1, 1, rx, rx),
         *many = scope_of(40, 1, rx, rx);
    chio_response r;
    double t1, t40;

    t1 = call_under(k, one, args, &r);
    cr_expect_eq(r.code, CHIO_CODE_CONSTRAINT_VIOLATED, "%s", chio_code_name(r.code));
    cr_expect(r.reason != NULL && strstr(r.reason, "the bound of one call") != NULL, "%s",
              r.reason);
    chio_response_destroy(&r);
    t40 = call_under(k, many, args, &r);
    cr_expect_eq(r.code, CHIO_CODE_CONSTRAINT_VIOLATED, "%s", chio_code_name(r.code));
    chio_response_destroy(&r);
    /* 40 separate bounds would be 40x; the arguments are walked 40
     * times either way, a small part of one search's cost. */
    cr_expect(t40 < 4 * t1 + 0.05, "one grant %.3f s, forty %.3f s", t1, t40);
    free(args);
    free(one);
    free(many);
    chio_kernel_free(k);
}

/* Grants are read in token order while their constraints fit in what is
 * left of the call's bound: CHIO__CALL_CONSTRAINT_CHECKS constraints, each
 * a reading of the arguments out of CHIO__CALL_CONSTRAINT_BYTES and
 * CHIO__CALL_CONSTRAINT_ARGS readings' worth. An allowlist of many grants
 * on short arguments is read whole (a first cut at 64 constraints denied
 * the 65th domain of an allowlist); on 1 MiB of arguments about 20 grants
 * are read, and a call that no grant read allowed is denied as such. */
Test(rev54_work, a_call_checks_a_bounded_number_of_constraints)
{
    static const char *const fails = "{\"type\":\"max_length\",\"value\":1}";
    static const char *const holds = "{\"type\":\"max_length\",\"value\":4194304}";
    const size_t max = CHIO__CALL_CONSTRAINT_CHECKS;
    chio_kernel *k = work_kernel();
    char *many = scope_of(100, 1, fails, holds), *past = scope_of(max + 1, 1, fails, holds),
         *big_late = scope_of(30, 1, fails, holds), *big_early = scope_of(10, 1, fails, holds),
         *args = random_args(1u << 20);
    chio_response r;

    call_under(k, many, "{\"q\":\"abc\"}", &r); /* the 100th grant allows */
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", r.reason ? r.reason : "");
    chio_response_destroy(&r);
    call_under(k, past, "{\"q\":\"abc\"}", &r); /* the 4097th is not read */
    cr_expect_eq(r.code, CHIO_CODE_CONSTRAINT_VIOLATED, "%s", chio_code_name(r.code));
    cr_expect(r.reason != NULL && strstr(r.reason, "more constraints than one call checks"), "%s",
              r.reason);
    chio_response_destroy(&r);
    call_under(k, big_early, args, &r); /* 1 MiB: the 10th is read */
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", r.reason ? r.reason : "");
    chio_response_destroy(&r);
    call_under(k, big_late, args, &r); /* 1 MiB: the 30th is not */
    cr_expect_eq(r.code, CHIO_CODE_CONSTRAINT_VIOLATED, "%s", chio_code_name(r.code));
    cr_expect(r.reason != NULL && strstr(r.reason, "more constraints than one call checks"), "%s",
              r.reason);
    chio_response_destroy(&r);
    free(many);
    free(past);
    free(big_late);
    free(big_early);
    free(args);
    chio_kernel_free(k);
}
