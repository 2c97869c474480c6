/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev31_budget.c - review 31 of pipeline checks 2-4 and
 * 8 (time, revocation, delegation chain, invocation budget) attacked with
 * real threads through the public API: budgets stay exact when many
 * threads race for a few invocations, across grants and across sessions
 * holding one token, every deny has its signed receipt, and the tool runs
 * exactly as often as the allows say.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NOW      1710000300u
#define NTHREADS 32

static uint64_t clock_fn(void *ctx)
{
    (void)ctx;
    return NOW;
}

/* Dispatches the tool saw (all kernels of this file). */
static unsigned long dispatched;

static int count_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                      size_t len, chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    __atomic_add_fetch(&dispatched, 1, __ATOMIC_SEQ_CST);
    return chio_output_set_json(out, args, len);
}

/* A kernel (store at @dir, or ephemeral when NULL) serving the counting
 * tool "t" on server "srv". */
static chio_kernel *counting_kernel(const char *dir)
{
    static const char *const tools[] = {"t"};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_kernel *k;
    chio_error err;

    kt_config(&cfg, dir);
    cfg.clock = clock_fn;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = count_tool;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0, "%s", err.message);
    return k;
}

/* A session of the agent holding the token @id of @scope (valid at NOW). */
static void open_with(chio_kernel *k, const char *id, const char *scope,
                      char sid[CHIO_SESSION_ID_LEN + 1])
{
    char *tok = tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB, scope, NOW - 10, 100, NULL, 0);
    const char *caps[1];
    chio_error err;

    cr_assert_not_null(tok);
    caps[0] = tok;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    free(tok);
}

typedef struct racer {
    chio_kernel *k;
    const char *sid;
    const char *id;
    int allow, exhausted, other, no_receipt, error;
} racer;

typedef struct race_gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ready, go;
} race_gate;

static race_gate gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

/* Every racer waits here until all are ready, so the calls overlap. */
static void gate_wait(void)
{
    pthread_mutex_lock(&gate.mu);
    gate.ready++;
    pthread_cond_broadcast(&gate.cv);
    while (!gate.go)
        pthread_cond_wait(&gate.cv, &gate.mu);
    pthread_mutex_unlock(&gate.mu);
}

static void *race_one(void *arg)
{
    racer *r = arg;
    chio_response resp;
    chio_error err;
    chio_call c;

    kt_grant_call(&c, r->sid, r->id, "{\"x\":1}", 7);
    chio_response_init(&resp);
    chio_error_init(&err);
    gate_wait();
    if (chio_kernel_evaluate(r->k, &c, &resp, &err) != 0) {
        r->error++;
        return NULL;
    }
    if (resp.receipt == NULL)
        r->no_receipt++;
    if (resp.verdict == CHIO_VERDICT_ALLOW)
        r->allow++;
    else if (resp.code == CHIO_CODE_BUDGET_EXHAUSTED)
        r->exhausted++;
    else
        r->other++;
    chio_response_destroy(&resp);
    return NULL;
}

/* NTHREADS calls at once, each on sids[i % nsids] with token @id; the
 * totals summed into @sum. */
static void race(chio_kernel *k, const char *const *sids, size_t nsids, const char *id, racer *sum)
{
    pthread_t th[NTHREADS];
    racer rs[NTHREADS];
    int i;

    memset(rs, 0, sizeof(rs));
    pthread_mutex_lock(&gate.mu);
    gate.ready = 0;
    gate.go = 0;
    pthread_mutex_unlock(&gate.mu);
    for (i = 0; i < NTHREADS; i++) {
        rs[i].k = k;
        rs[i].sid = sids[(size_t)i % nsids];
        rs[i].id = id;
        cr_assert_eq(pthread_create(&th[i], NULL, race_one, &rs[i]), 0);
    }
    pthread_mutex_lock(&gate.mu);
    while (gate.ready < NTHREADS)
        pthread_cond_wait(&gate.cv, &gate.mu);
    gate.go = 1;
    pthread_cond_broadcast(&gate.cv);
    pthread_mutex_unlock(&gate.mu);
    memset(sum, 0, sizeof(*sum));
    for (i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        sum->allow += rs[i].allow;
        sum->exhausted += rs[i].exhausted;
        sum->other += rs[i].other;
        sum->no_receipt += rs[i].no_receipt;
        sum->error += rs[i].error;
    }
}

/* 32 threads race for max_invocations 5, many times over (a fresh token
 * id each round), on a kernel with a real store: exactly 5 allows and 5
 * dispatches per round, every other call budget_exhausted with a receipt. */
Test(rev31_budget, thirty_two_threads_never_overspend_a_budget_of_five)
{
    char *dir = testutil_tmpdir();
    chio_kernel *k = counting_kernel(dir);
    const char *scope = "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
                        "\"operations\":[\"invoke\"],\"max_invocations\":5}]}";
    char sid[CHIO_SESSION_ID_LEN + 1], id[32];
    const char *sids[1] = {sid};
    unsigned long before;
    racer sum;
    int round;

    for (round = 0; round < 40; round++) {
        snprintf(id, sizeof(id), "cap-race-%d", round);
        open_with(k, id, scope, sid);
        before = __atomic_load_n(&dispatched, __ATOMIC_SEQ_CST);
        race(k, sids, 1, id, &sum);
        cr_assert_eq(sum.error, 0, "round %d", round);
        cr_assert_eq(sum.allow, 5, "round %d: %d allows", round, sum.allow);
        cr_assert_eq(sum.exhausted, NTHREADS - 5, "round %d", round);
        cr_assert_eq(sum.no_receipt, 0, "round %d", round);
        cr_assert_eq(__atomic_load_n(&dispatched, __ATOMIC_SEQ_CST) - before, 5, "round %d", round);
    }
    chio_kernel_free(k);
    testutil_rmrf(dir);
    free(dir);
}

/* Two budgeted grants allow the call (2 + 3) and one token is held by
 * four sessions: the racing calls of all of them share the budgets, so
 * exactly 5 run. */
Test(rev31_budget, sessions_sharing_a_token_and_its_two_grants_get_exactly_the_sum)
{
    chio_kernel *k = counting_kernel(NULL);
    const char *scope = "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
                        "\"operations\":[\"invoke\"],\"max_invocations\":2},"
                        "{\"server_id\":\"srv\",\"tool_name\":\"*\","
                        "\"operations\":[\"invoke\"],\"max_invocations\":3}]}";
    char s[4][CHIO_SESSION_ID_LEN + 1], id[32];
    const char *sids[4] = {s[0], s[1], s[2], s[3]};
    unsigned long before;
    racer sum;
    int round, i;

    for (round = 0; round < 20; round++) {
        snprintf(id, sizeof(id), "cap-shared-%d", round);
        for (i = 0; i < 4; i++)
            open_with(k, id, scope, s[i]);
        before = __atomic_load_n(&dispatched, __ATOMIC_SEQ_CST);
        race(k, sids, 4, id, &sum);
        cr_assert_eq(sum.error, 0);
        cr_assert_eq(sum.allow, 5, "round %d: %d allows", round, sum.allow);
        cr_assert_eq(sum.exhausted, NTHREADS - 5);
        cr_assert_eq(sum.no_receipt, 0);
        cr_assert_eq(__atomic_load_n(&dispatched, __ATOMIC_SEQ_CST) - before, 5);
    }
    chio_kernel_free(k);
}

/* A call with token @id on session @sid; returns the decision's code and
 * checks that its receipt names that code as the check that denied. */
static chio_code code_of(chio_kernel *k, const char *sid, const char *id)
{
    chio_response resp;
    chio_error err;
    chio_call c;
    chio_code code;

    kt_grant_call(&c, sid, id, "{}", 2);
    chio_response_init(&resp);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &resp, &err), 0, "%s: %s", id, err.message);
    cr_assert_not_null(resp.receipt, "%s: a decision without a receipt", id);
    code = resp.code;
    chio_response_destroy(&resp);
    return code;
}

/* kernel.md's order for a token failing several of checks 2-5 at once:
 * time (expired before not yet valid), then revocation of the token or
 * any id in its chain, then the chain (depth before link validity, chio's
 * order), then the subject. Each pair below fails the later check too. */
Test(rev31_budget, checks_two_to_five_answer_in_kernel_md_order)
{
    static const char *const tools[] = {"t"};
    const char *scope = "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
                        "\"operations\":[\"invoke\"]}]}";
    chio_kernel_config cfg;
    chio_kernel *k;
    char other[65], sid[CHIO_SESSION_ID_LEN + 1], *toks[6];
    const char *caps[6];
    chio_error err;
    size_t i;

    kt_config(&cfg, NULL);
    cfg.clock = clock_fn;
    cfg.max_delegation_depth = 2;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    kt_serve_echo(k, "srv", tools, 1);
    tk_pub(TK_OTHER_SEED, other);
    /* kernel -> other -> agent -> agent (3 links, one too many; its first
     * two are a valid chain), and the same with the second link signed by
     * a key that is not the first one's delegatee */
    tk_link three[3] = {{"anc-1", TK_KERNEL_SEED, other, NOW - 50, NULL},
                        {"anc-2", TK_OTHER_SEED, TK_AGENT_PUB, NOW - 40, NULL},
                        {"anc-3", TK_AGENT_SEED, TK_AGENT_PUB, NOW - 30, NULL}};
    tk_link broken[3] = {{"par-1", TK_KERNEL_SEED, other, NOW - 50, NULL},
                         {"par-2", TK_AGENT_SEED, TK_AGENT_PUB, NOW - 40, NULL},
                         {"par-3", TK_AGENT_SEED, TK_AGENT_PUB, NOW - 30, NULL}};
    /* expired, revoked and too deep */
    toks[0] = tk_token(TK_KERNEL_SEED, "o-expired", TK_AGENT_PUB, scope, NOW - 100, 100, three, 3);
    /* not yet valid and revoked */
    toks[1] = tk_token(TK_KERNEL_SEED, "o-early", TK_AGENT_PUB, scope, NOW + 1, 100, NULL, 0);
    /* an ancestor revoked and too deep */
    toks[2] = tk_token(TK_KERNEL_SEED, "o-anc", TK_AGENT_PUB, scope, NOW - 10, 100, three, 3);
    /* too deep and a broken link */
    toks[3] = tk_token(TK_KERNEL_SEED, "o-deep", TK_AGENT_PUB, scope, NOW - 10, 100, broken, 3);
    /* a broken link within the depth, for another subject */
    toks[4] = tk_token(TK_KERNEL_SEED, "o-link", other, scope, NOW - 10, 100, broken, 2);
    /* exactly at the depth limit: allowed */
    toks[5] = tk_token(TK_KERNEL_SEED, "o-ok", TK_AGENT_PUB, scope, NOW - 10, 100, three, 2);
    for (i = 0; i < 6; i++) {
        cr_assert_not_null(toks[i]);
        caps[i] = toks[i];
    }
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 6, sid, &err), 0, "%s",
                 err.message);
    cr_assert_eq(chio_kernel_revoke_capability(k, "o-expired", &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_revoke_capability(k, "o-early", &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_revoke_capability(k, "anc-3", &err), 0, "%s", err.message);
    cr_expect_eq(code_of(k, sid, "o-expired"), CHIO_CODE_CAPABILITY_EXPIRED);
    cr_expect_eq(code_of(k, sid, "o-early"), CHIO_CODE_CAPABILITY_NOT_YET_VALID);
    cr_expect_eq(code_of(k, sid, "o-anc"), CHIO_CODE_CAPABILITY_REVOKED);
    cr_expect_eq(code_of(k, sid, "o-deep"), CHIO_CODE_DELEGATION_DEPTH_EXCEEDED);
    cr_expect_eq(code_of(k, sid, "o-link"), CHIO_CODE_DELEGATION_INVALID);
    cr_expect_eq(code_of(k, sid, "o-ok"), CHIO_CODE_NONE);
    for (i = 0; i < 6; i++)
        free(toks[i]);
    chio_kernel_free(k);
}

/* Budgets are the presented token's (chio's try_increment keys them by
 * cap.id): a delegated token whose chain names the parent "bp-parent"
 * spends its own max_invocations, not the parent's, and the parent's
 * spent budget does not stop it (the issuer attenuates a child by what it
 * signs into the child's grants). */
Test(rev31_budget, a_delegated_token_spends_its_own_budget_not_its_parents)
{
    static const char *const tools[] = {"t"};
    chio_kernel *k = kt_echo_kernel(NULL, clock_fn, "srv", tools, 1);
    const char *one = "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
                      "\"operations\":[\"invoke\"],\"max_invocations\":1}]}";
    const char *two = "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
                      "\"operations\":[\"invoke\"],\"max_invocations\":2}]}";
    tk_link up = {"bp-parent", TK_KERNEL_SEED, TK_AGENT_PUB, NOW - 20, NULL};
    char *toks[2], sid[CHIO_SESSION_ID_LEN + 1];
    const char *caps[2];
    chio_error err;

    toks[0] = tk_token(TK_KERNEL_SEED, "bp-parent", TK_AGENT_PUB, one, NOW - 10, 100, NULL, 0);
    toks[1] = tk_token(TK_KERNEL_SEED, "bp-child", TK_AGENT_PUB, two, NOW - 10, 100, &up, 1);
    cr_assert(toks[0] != NULL && toks[1] != NULL);
    caps[0] = toks[0];
    caps[1] = toks[1];
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 2, sid, &err), 0, "%s",
                 err.message);
    cr_expect_eq(code_of(k, sid, "bp-parent"), CHIO_CODE_NONE);
    cr_expect_eq(code_of(k, sid, "bp-parent"), CHIO_CODE_BUDGET_EXHAUSTED);
    cr_expect_eq(code_of(k, sid, "bp-child"), CHIO_CODE_NONE);
    cr_expect_eq(code_of(k, sid, "bp-child"), CHIO_CODE_NONE);
    cr_expect_eq(code_of(k, sid, "bp-child"), CHIO_CODE_BUDGET_EXHAUSTED);
    free(toks[0]);
    free(toks[1]);
    chio_kernel_free(k);
}

/* ---- the same race through chio_kernel_evaluate_async ---------------------------------------- */

#define ASYNC_PER_THREAD 4

static int async_done, async_allow, async_exhausted, async_bad;

static void async_cb(void *ctx, int rc, chio_response *resp, const chio_error *err)
{
    (void)ctx;
    (void)err;
    if (rc != 0 || resp->receipt == NULL)
        __atomic_add_fetch(&async_bad, 1, __ATOMIC_SEQ_CST);
    else if (resp->verdict == CHIO_VERDICT_ALLOW)
        __atomic_add_fetch(&async_allow, 1, __ATOMIC_SEQ_CST);
    else if (resp->code == CHIO_CODE_BUDGET_EXHAUSTED)
        __atomic_add_fetch(&async_exhausted, 1, __ATOMIC_SEQ_CST);
    else
        __atomic_add_fetch(&async_bad, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&async_done, 1, __ATOMIC_SEQ_CST);
}

static void *async_submitter(void *arg)
{
    racer *r = arg;
    chio_error err;
    chio_call c;
    int i;

    kt_grant_call(&c, r->sid, r->id, "{\"x\":1}", 7);
    gate_wait();
    for (i = 0; i < ASYNC_PER_THREAD; i++) {
        chio_error_init(&err);
        if (chio_kernel_evaluate_async(r->k, &c, async_cb, NULL, &err) != 0)
            r->error++;
    }
    return NULL;
}

static int all_called_back(void *arg)
{
    (void)arg;
    return __atomic_load_n(&async_done, __ATOMIC_SEQ_CST) == NTHREADS * ASYNC_PER_THREAD;
}

/* 128 asynchronous calls from 32 threads for max_invocations 5: exactly 5
 * allows and 5 dispatches, every callback once with its receipt. */
Test(rev31_budget, racing_async_calls_never_overspend_a_budget_of_five)
{
    char *dir = testutil_tmpdir();
    chio_kernel *k = counting_kernel(dir);
    const char *scope = "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
                        "\"operations\":[\"invoke\"],\"max_invocations\":5}]}";
    char sid[CHIO_SESSION_ID_LEN + 1];
    pthread_t th[NTHREADS];
    racer rs[NTHREADS];
    unsigned long before = __atomic_load_n(&dispatched, __ATOMIC_SEQ_CST);
    int i, errors = 0;

    open_with(k, "cap-async", scope, sid);
    memset(rs, 0, sizeof(rs));
    pthread_mutex_lock(&gate.mu);
    gate.ready = 0;
    gate.go = 0;
    pthread_mutex_unlock(&gate.mu);
    for (i = 0; i < NTHREADS; i++) {
        rs[i].k = k;
        rs[i].sid = sid;
        rs[i].id = "cap-async";
        cr_assert_eq(pthread_create(&th[i], NULL, async_submitter, &rs[i]), 0);
    }
    pthread_mutex_lock(&gate.mu);
    while (gate.ready < NTHREADS)
        pthread_cond_wait(&gate.cv, &gate.mu);
    gate.go = 1;
    pthread_cond_broadcast(&gate.cv);
    pthread_mutex_unlock(&gate.mu);
    for (i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        errors += rs[i].error;
    }
    cr_assert_eq(errors, 0);
    cr_assert(testutil_wait_until(all_called_back, NULL, 60000), "%d callbacks",
              __atomic_load_n(&async_done, __ATOMIC_SEQ_CST));
    cr_expect_eq(async_allow, 5);
    cr_expect_eq(async_exhausted, NTHREADS * ASYNC_PER_THREAD - 5);
    cr_expect_eq(async_bad, 0);
    cr_expect_eq(__atomic_load_n(&dispatched, __ATOMIC_SEQ_CST) - before, 5);
    chio_kernel_free(k);
    testutil_rmrf(dir);
    free(dir);
}

/* ---- nested requests of a call whose token is revoked or expires ---------------------------- */

static uint64_t moving_now = NOW;
static int host_asked;
static int sample_rc;
static chio_kernel *nested_k;   /* the kernel of nested_after() */
static const char *nested_what; /* "revoke" or "expire" */

static uint64_t moving_clock(void *ctx)
{
    (void)ctx;
    return __atomic_load_n(&moving_now, __ATOMIC_SEQ_CST);
}

static int host_answers(void *user, chio_nested_kind kind, const char *session_id,
                        const char *request_json, size_t request_len, chio_output *reply)
{
    (void)user;
    (void)kind;
    (void)session_id;
    (void)request_json;
    (void)request_len;
    __atomic_add_fetch(&host_asked, 1, __ATOMIC_SEQ_CST);
    return chio_output_set_json(reply, "{\"text\":\"ok\"}", 13);
}

/* The tool revokes its own token (nested_what "revoke") or lets the clock pass
 * its expiry (user "expire"), then asks for a sampling. */
static int sampling_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                         size_t len, chio_output *out)
{
    char *reply = NULL;
    size_t reply_len = 0;
    chio_error err;

    (void)user;
    (void)tool;
    chio_error_init(&err);
    if (strcmp(nested_what, "revoke") == 0)
        cr_assert_eq(chio_kernel_revoke_capability(nested_k, "cap-nested", &err), 0, "%s",
                     err.message);
    else
        __atomic_store_n(&moving_now, NOW + 1000, __ATOMIC_SEQ_CST);
    sample_rc = chio_tool_ctx_sample(ctx, "{\"messages\":[]}", 15, 0, &reply, &reply_len, &err);
    free(reply);
    return chio_output_set_json(out, args, len);
}

/* Run one call of "cap-nested" (expires at NOW + 90) whose tool does
 * @what; returns the child receipt's JSON (free()) and checks that the
 * host was never asked and the tool heard CHIO_EDENIED. */
static char *nested_after(const char *what)
{
    static const char *const tools[] = {"t"};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_response resp;
    chio_kernel *k;
    chio_error err;
    chio_call c;
    char sid[CHIO_SESSION_ID_LEN + 1], *json;
    size_t len;

    __atomic_store_n(&moving_now, NOW, __ATOMIC_SEQ_CST);
    host_asked = 0;
    kt_config(&cfg, NULL);
    cfg.clock = moving_clock;
    cfg.allow_sampling = 1;
    cfg.log_level = CHIO_LOG_ERROR;
    k = nested_k = kt_kernel(&cfg);
    nested_what = what;
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = sampling_tool;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_set_nested_handler(k, host_answers, NULL, &err), 0, "%s", err.message);
    open_with(k, "cap-nested",
              "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
              "\"operations\":[\"invoke\"]}]}",
              sid);
    kt_grant_call(&c, sid, "cap-nested", "{}", 2);
    chio_response_init(&resp);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &resp, &err), 0, "%s", err.message);
    cr_assert_eq(resp.nchildren, 1);
    json = strdup(chio_receipt_json(resp.children[0], &len));
    cr_assert_not_null(json);
    cr_expect_eq(sample_rc, CHIO_EDENIED, "%s: the tool heard %d", what, sample_rc);
    cr_expect_eq(host_asked, 0, "%s: the host was asked", what);
    cr_expect_eq(chio_receipt_verdict(resp.children[0]), CHIO_VERDICT_DENY, "%s: %s", what, json);
    chio_response_destroy(&resp);
    chio_kernel_free(k);
    return json;
}

/* A revocation that returned while the tool runs stops its later nested
 * requests: the kernel signed an allow child receipt under the revoked
 * id and asked the host before. */
Test(rev31_budget, a_nested_request_after_its_token_was_revoked_is_denied)
{
    char *json = nested_after("revoke");

    cr_expect_not_null(strstr(json, "\"guard\":\"capability_revoked\""), "%s", json);
    free(json);
}

/* The same for a token that expired while the tool ran. */
Test(rev31_budget, a_nested_request_after_its_token_expired_is_denied)
{
    char *json = nested_after("expire");

    cr_expect_not_null(strstr(json, "\"guard\":\"capability_expired\""), "%s", json);
    free(json);
}
