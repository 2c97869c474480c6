/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_revoke_midcall.c - a revocation that returns while a
 * call is between check 3 and its dispatch (here: its guard is running)
 * stops that call: the tool never runs and the receipt is a deny
 * capability_revoked, for the token's own id and for a delegation
 * ancestor, synchronous and asynchronous. The guard blocks on a condition
 * until chio_kernel_revoke_capability() has returned, which forces the
 * interleaving on every run. Real kernel, real Ed25519, ephemeral RocksDB.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define IAT 1710000000u
#define SCOPE \
    "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"run\",\"operations\":[\"invoke\"]}]}"

/* What the guard, the tool and the test thread share. */
typedef struct midcall {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int in_guard;  /* the call reached its guard */
    int revoked;   /* the revocation returned: the guard may pass */
    int tool_runs; /* the tool ran */
    int done;      /* the asynchronous callback ran */
    int cb_runs;   /* how many times it ran */
    int rc;        /* the call's result */
    chio_verdict verdict;
    chio_code code;
    chio_kernel *k;
    const char *sid, *cap_id;
} midcall;

static midcall g = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static uint64_t mc_clock(void *ctx)
{
    (void)ctx;
    return IAT + 10;
}

static int counting_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                         size_t len, chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    pthread_mutex_lock(&g.mu);
    g.tool_runs++;
    pthread_mutex_unlock(&g.mu);
    return chio_output_set_json(out, args, len);
}

/* Passes, but only once the test thread says the revocation returned. */
static int blocking_guard(void *user, const chio_guard_input *in, chio_guard_verdict *verdict,
                          char *details, size_t details_cap)
{
    (void)user;
    (void)in;
    (void)details;
    (void)details_cap;
    pthread_mutex_lock(&g.mu);
    g.in_guard = 1;
    pthread_cond_broadcast(&g.cv);
    while (!g.revoked)
        pthread_cond_wait(&g.cv, &g.mu);
    pthread_mutex_unlock(&g.mu);
    *verdict = CHIO_GUARD_PASS;
    return 0;
}

static int counting_read(void *user, const char *uri, chio_output *out)
{
    (void)user;
    (void)uri;
    pthread_mutex_lock(&g.mu);
    g.tool_runs++;
    pthread_mutex_unlock(&g.mu);
    return chio_output_set_json(out, "\"text\"", 6);
}

static chio_kernel *mc_kernel(void)
{
    static const char *const tools[] = {"run"};
    chio_kernel_config cfg;
    chio_resource_provider rp;
    chio_tool_server ts;
    chio_kernel *k;
    chio_error err;

    kt_config(&cfg, NULL);
    cfg.clock = mc_clock;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = counting_tool;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0, "%s", err.message);
    memset(&rp, 0, sizeof(rp));
    rp.provider_id = "docs";
    rp.read = counting_read;
    cr_assert_eq(chio_kernel_register_resource_provider(k, &rp, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_add_guard(k, "blocking", blocking_guard, NULL, &err), 0, "%s",
                 err.message);
    return k;
}

static void mc_call(chio_call *c)
{
    memset(c, 0, sizeof(*c));
    c->session_id = g.sid;
    c->capability_id = g.cap_id;
    c->server_id = "srv";
    c->tool_name = "run";
    c->arguments_json = "{}";
    c->arguments_len = 2;
}

static void *sync_caller(void *arg)
{
    chio_response resp;
    chio_error err;
    chio_call c;

    (void)arg;
    mc_call(&c);
    chio_error_init(&err);
    g.rc = chio_kernel_evaluate(g.k, &c, &resp, &err);
    if (g.rc == 0) {
        g.verdict = resp.verdict;
        g.code = resp.code;
        chio_response_destroy(&resp);
    }
    return NULL;
}

/* A resource read of the granted URI (the provider counts as the tool). */
static void *read_caller(void *arg)
{
    chio_response resp;
    chio_error err;

    (void)arg;
    chio_error_init(&err);
    g.rc = chio_kernel_read_resource(g.k, g.sid, NULL, g.cap_id, "file:///pub/a.txt", &resp, &err);
    if (g.rc == 0) {
        g.verdict = resp.verdict;
        g.code = resp.code;
        chio_response_destroy(&resp);
    }
    return NULL;
}

static void async_done(void *ctx, int rc, chio_response *resp, const chio_error *err)
{
    (void)ctx;
    (void)err;
    pthread_mutex_lock(&g.mu);
    g.rc = rc;
    if (rc == 0) {
        g.verdict = resp->verdict;
        g.code = resp->code;
    }
    g.cb_runs++;
    g.done = 1;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
}

static void *async_caller(void *arg)
{
    chio_error err;
    chio_call c;
    int rc;

    (void)arg;
    mc_call(&c);
    chio_error_init(&err);
    rc = chio_kernel_evaluate_async(g.k, &c, async_done, NULL, &err);
    cr_assert_eq(rc, 0, "%s", err.message);
    return NULL;
}

/* Wait (30 s at most) until *@flag is set, under g.mu. */
static void wait_flag(const int *flag, const char *what)
{
    struct timespec dl;
    int rc = 0;

    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 30;
    pthread_mutex_lock(&g.mu);
    while (!*flag && rc == 0)
        rc = pthread_cond_timedwait(&g.cv, &g.mu, &dl);
    pthread_mutex_unlock(&g.mu);
    cr_assert(*flag, "timed out waiting until %s", what);
}

/* Open a session on @tok, start a call of @cap_id (@mode 0 a tool call,
 * 1 an asynchronous one, 2 a resource read), revoke @revoke while the
 * call's guard runs, then let the guard pass. */
static void revoke_midcall(const char *tok, const char *cap_id, const char *revoke, int mode)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_error err;
    pthread_t th;

    g.k = mc_kernel();
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(g.k, TK_AGENT_PUB, &tok, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    g.sid = sid;
    g.cap_id = cap_id;
    cr_assert_eq(pthread_create(&th, NULL,
                                mode == 1   ? async_caller
                                : mode == 2 ? read_caller
                                            : sync_caller,
                                NULL),
                 0);
    wait_flag(&g.in_guard, "the call reached its guard");
    cr_assert_eq(chio_kernel_revoke_capability(g.k, revoke, &err), 0, "%s", err.message);
    pthread_mutex_lock(&g.mu);
    g.revoked = 1;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    pthread_join(th, NULL);
    if (mode == 1)
        wait_flag(&g.done, "the callback ran");
    chio_kernel_free(g.k); /* drains: a second callback would have run by now */
    cr_assert_eq(g.rc, 0, "the call has a receipt");
    cr_expect_eq(g.tool_runs, 0, "the tool ran after its capability's revocation returned");
    cr_expect_eq(g.verdict, CHIO_VERDICT_DENY);
    cr_expect_eq(g.code, CHIO_CODE_CAPABILITY_REVOKED, "code %s", chio_code_name(g.code));
    if (mode == 1)
        cr_expect_eq(g.cb_runs, 1, "the callback ran %d times", g.cb_runs);
}

static char *plain_token(void)
{
    char *tok = tk_token(TK_KERNEL_SEED, "cap-mid", TK_AGENT_PUB, SCOPE, IAT, 1000, NULL, 0);

    cr_assert_not_null(tok);
    return tok;
}

/* "cap-child", delegated from "cap-parent" by TK_OTHER to the agent. */
static char *child_token(void)
{
    char agent[65], *tok;
    tk_link l;

    tk_pub(TK_AGENT_SEED, agent);
    l = (tk_link){"cap-parent", TK_OTHER_SEED, agent, IAT, NULL};
    tok = tk_token(TK_KERNEL_SEED, "cap-child", TK_AGENT_PUB, SCOPE, IAT, 1000, &l, 1);
    cr_assert_not_null(tok);
    return tok;
}

TestSuite(revoke_midcall);

Test(revoke_midcall, a_token_revoked_while_its_guard_runs_never_reaches_its_tool)
{
    char *tok = plain_token();

    revoke_midcall(tok, "cap-mid", "cap-mid", 0);
    free(tok);
}

Test(revoke_midcall, an_ancestor_revoked_while_the_guard_runs_stops_the_delegated_call)
{
    char *tok = child_token();

    revoke_midcall(tok, "cap-child", "cap-parent", 0);
    free(tok);
}

Test(revoke_midcall, an_async_call_revoked_while_its_guard_runs_is_denied_and_called_back_once)
{
    char *tok = plain_token();

    revoke_midcall(tok, "cap-mid", "cap-mid", 1);
    free(tok);
}

/* The same for a resource read: the provider is not asked. */
Test(revoke_midcall, a_resource_read_revoked_while_its_guard_runs_never_reaches_the_provider)
{
    char *tok = tk_token(TK_KERNEL_SEED, "cap-res", TK_AGENT_PUB,
                         "{\"resource_grants\":[{\"uri_pattern\":\"file:///pub/*\","
                         "\"operations\":[\"read\"]}]}",
                         IAT, 1000, NULL, 0);

    cr_assert_not_null(tok);
    revoke_midcall(tok, "cap-res", "cap-res", 2);
    free(tok);
}
