/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_api_abuse.c - the public API used carelessly by a host:
 * arguments at the edge of their type and callbacks that call back in.
 *
 *   null_kernel     registration with a NULL kernel is CHIO_EINVAL before
 *                   anything is read through it (UBSan builds aborted on
 *                   the member access)
 *   long_timeout    a chio_call_options.timeout_ms too long to count in
 *                   nanoseconds is no timeout at all, for tools, resources
 *                   and prompts (it wrapped around to a deadline already
 *                   passed, and the call was cancelled at once)
 *   log_sink        calls from the kernel's log sink that would wait for
 *                   the sink's own thread fail with CHIO_EDEADLK instead of
 *                   hanging: drain from a sink on the host's thread (log_mu)
 *                   and on a kernel thread (a join of itself), start and a
 *                   synchronous signing from the kernel_started line (under
 *                   start_mu). Each trigger runs on a thread of the test,
 *                   watched with a deadline, so the old hang fails the test.
 *   clock           the same for the clock on the kernel's own threads (the
 *                   commit and checkpoint threads stamp heads and
 *                   checkpoints): drain and a synchronous signing from
 *                   there are CHIO_EDEADLK (drain joined itself; signing
 *                   waited for its own commit).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "chio/chio.h"
#include "common/poll.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define SCOPE_ALL                                                                            \
    "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}]," \
    "\"resource_grants\":[{\"uri_pattern\":\"*\",\"operations\":[\"read\"]}],"               \
    "\"prompt_grants\":[{\"prompt_name\":\"*\",\"operations\":[\"get\"]}]}"

TestSuite(api_abuse);

/* ---- null_kernel -------------------------------------------------------------------- */

static int read_one(void *user, const char *uri, chio_output *out)
{
    (void)user;
    (void)uri;
    return chio_output_set_json(out, "1", 1);
}

static int get_one(void *user, const char *name, const char *args, size_t len, chio_output *out)
{
    (void)user;
    (void)name;
    (void)args;
    (void)len;
    return chio_output_set_json(out, "1", 1);
}

Test(api_abuse, registering_a_provider_on_a_null_kernel_is_einval)
{
    chio_resource_provider rp;
    chio_prompt_provider pp;
    chio_error err;

    memset(&rp, 0, sizeof(rp));
    memset(&pp, 0, sizeof(pp));
    rp.provider_id = "rp";
    rp.read = read_one;
    pp.provider_id = "pp";
    pp.get = get_one;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_register_resource_provider(NULL, &rp, &err), CHIO_EINVAL);
    cr_assert_eq(err.code, CHIO_EINVAL);
    cr_assert(strstr(err.message, "NULL kernel") != NULL, "%s", err.message);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_register_prompt_provider(NULL, &pp, &err), CHIO_EINVAL);
    cr_assert(strstr(err.message, "NULL kernel") != NULL, "%s", err.message);
}

/* ---- long_timeout ------------------------------------------------------------------- */

/* A kernel serving tool srv/t (echo), a resource and a prompt provider,
 * with a session holding token "c" for every grant; the session id in @sid. */
static chio_kernel *serving_kernel(char sid[CHIO_SESSION_ID_LEN + 1])
{
    static const char *const tools[] = {"t"};
    chio_resource_provider rp;
    chio_prompt_provider pp;
    chio_capability *cap = NULL;
    chio_kernel *k = kt_echo_kernel(NULL, NULL, "srv", tools, 1);
    const char *tok[1];
    chio_error err;

    memset(&rp, 0, sizeof(rp));
    memset(&pp, 0, sizeof(pp));
    rp.provider_id = "rp";
    rp.read = read_one;
    pp.provider_id = "pp";
    pp.get = get_one;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_register_resource_provider(k, &rp, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_register_prompt_provider(k, &pp, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_issue_capability(k, "c", TK_AGENT_PUB, SCOPE_ALL, strlen(SCOPE_ALL), 0,
                                              3600, &cap, &err),
                 0, "%s", err.message);
    tok[0] = chio_capability_json(cap, NULL);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, tok, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    chio_capability_free(cap);
    return k;
}

Test(api_abuse, a_timeout_too_long_to_count_is_no_timeout)
{
    /* UINT64_MAX ms, and the first value whose nanoseconds pass 2^64. */
    const uint64_t timeouts[] = {UINT64_MAX, UINT64_MAX / 1000000u + 1};
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = serving_kernel(sid);
    chio_call_options opt;
    chio_response resp;
    chio_call call;
    chio_error err;
    size_t i;

    memset(&call, 0, sizeof(call));
    call.session_id = sid;
    call.capability_id = "c";
    call.server_id = "srv";
    call.tool_name = "t";
    for (i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
        memset(&opt, 0, sizeof(opt));
        opt.timeout_ms = timeouts[i];
        chio_error_init(&err);
        cr_assert_eq(chio_kernel_evaluate_ex(k, &call, &opt, &resp, &err), 0, "%s", err.message);
        cr_assert_eq(resp.verdict, CHIO_VERDICT_ALLOW, "tool, timeout %llu ms: %s (%s)",
                     (unsigned long long)timeouts[i], chio_verdict_name(resp.verdict), resp.reason);
        chio_response_destroy(&resp);
        cr_assert_eq(chio_kernel_read_resource_ex(k, sid, NULL, "c", "mem://x", &opt, &resp, &err),
                     0, "%s", err.message);
        cr_assert_eq(resp.verdict, CHIO_VERDICT_ALLOW, "resource, timeout %llu ms: %s (%s)",
                     (unsigned long long)timeouts[i], chio_verdict_name(resp.verdict), resp.reason);
        chio_response_destroy(&resp);
        cr_assert_eq(
            chio_kernel_get_prompt_ex(k, sid, NULL, "c", "greet", NULL, 0, &opt, &resp, &err), 0,
            "%s", err.message);
        cr_assert_eq(resp.verdict, CHIO_VERDICT_ALLOW, "prompt, timeout %llu ms: %s (%s)",
                     (unsigned long long)timeouts[i], chio_verdict_name(resp.verdict), resp.reason);
        chio_response_destroy(&resp);
    }
    chio_kernel_free(k);
}

/* ---- log_sink ----------------------------------------------------------------------- */

typedef enum { ACT_DRAIN, ACT_START, ACT_SIGN } sink_act;

/* What the sink does, on which event, and what came of it. */
typedef struct sink_probe {
    chio_kernel *k;
    const char *event; /* the quoted event name the sink reacts to, once */
    sink_act act;
    int fired;        /* the sink reacted (atomic) */
    int rc;           /* what the kernel call returned */
    int trigger_done; /* the triggering call on the worker returned (atomic) */
} sink_probe;

static chio_receipt_builder *allow_body(void)
{
    chio_receipt_builder *b = NULL;

    cr_assert_eq(chio_receipt_builder_new(&b), 0);
    cr_assert_eq(chio_receipt_builder_set_capability_id(b, "c"), 0);
    cr_assert_eq(chio_receipt_builder_set_tool(b, "srv", "t"), 0);
    cr_assert_eq(chio_receipt_builder_set_decision(b, CHIO_VERDICT_ALLOW, NULL, NULL), 0);
    return b;
}

static void probe_sink(void *ctx, chio_log_level level, const char *json, size_t len)
{
    sink_probe *p = ctx;
    chio_receipt *r = NULL;
    int expected = 0;

    (void)level;
    if (memmem(json, len, p->event, strlen(p->event)) == NULL ||
        !__atomic_compare_exchange_n(&p->fired, &expected, 1, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return;
    if (p->act == ACT_DRAIN)
        p->rc = chio_kernel_drain(p->k, NULL);
    else if (p->act == ACT_START)
        p->rc = chio_kernel_start(p->k, NULL);
    else
        p->rc = chio_kernel_sign_receipt(p->k, allow_body(), &r, NULL);
    chio_receipt_free(r);
}

/* The host's side: what makes the kernel log the probed event. */
static void *trigger(void *arg)
{
    sink_probe *p = arg;
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_receipt *r = NULL;

    if (strcmp(p->event, "\"session_closed\"") == 0) {
        (void)chio_kernel_open_session(p->k, TK_AGENT_PUB, NULL, NULL, 0, sid, NULL);
        (void)chio_kernel_close_session(p->k, sid, NULL);
    } else if (strcmp(p->event, "\"kernel_started\"") == 0) {
        (void)chio_kernel_start(p->k, NULL);
    } else { /* checkpoint_written: a checkpoint (of one receipt) is written
              * with a later commit group, so sign until the sink saw one */
        int i;
        for (i = 0; i < 1000 && !__atomic_load_n(&p->fired, __ATOMIC_ACQUIRE); i++) {
            (void)chio_kernel_sign_receipt(p->k, allow_body(), &r, NULL);
            chio_receipt_free(r);
            r = NULL;
        }
    }
    __atomic_store_n(&p->trigger_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static int probe_settled(void *arg)
{
    sink_probe *p = arg;

    return __atomic_load_n(&p->fired, __ATOMIC_ACQUIRE) &&
           __atomic_load_n(&p->trigger_done, __ATOMIC_ACQUIRE);
}

/* The kernel call the sink makes on @event returns CHIO_EDEADLK, and the
 * host's call that logged it returns, within 10 s; the kernel then
 * drains and frees as usual. */
static void expect_sink_refused(const char *event, sink_act act)
{
    chio_kernel_config cfg;
    sink_probe p;
    pthread_t t;

    memset(&p, 0, sizeof(p));
    p.event = event;
    p.act = act;
    kt_config(&cfg, NULL);
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log = probe_sink;
    cfg.log_ctx = &p;
    cfg.log_level = CHIO_LOG_DEBUG;
    cfg.checkpoint_batch_size = 1;
    p.k = kt_kernel(&cfg);
    cr_assert_eq(pthread_create(&t, NULL, trigger, &p), 0);
    cr_assert(testutil_wait_until(probe_settled, &p, 10000),
              "the sink's call on %s (act %d) still waits after 10 s", event, (int)act);
    cr_assert_eq(pthread_join(t, NULL), 0);
    cr_assert_eq(p.rc, CHIO_EDEADLK, "sink on %s, act %d: %s", event, (int)act,
                 chio_errno_name(p.rc));
    cr_assert_eq(chio_kernel_drain(p.k, NULL), 0);
    chio_kernel_free(p.k);
}

Test(api_abuse, drain_from_the_log_sink_on_the_hosts_thread_is_edeadlk)
{
    expect_sink_refused("\"session_closed\"", ACT_DRAIN);
}

Test(api_abuse, drain_from_the_log_sink_on_a_kernel_thread_is_edeadlk)
{
    expect_sink_refused("\"checkpoint_written\"", ACT_DRAIN);
}

Test(api_abuse, start_and_signing_from_the_kernel_started_line_are_edeadlk)
{
    expect_sink_refused("\"kernel_started\"", ACT_START);
    expect_sink_refused("\"kernel_started\"", ACT_SIGN);
}

/* ---- clock -------------------------------------------------------------------------- */

/* The clock runs on the kernel's own threads too (the commit thread stamps
 * the log head, the checkpoint thread its checkpoints): a drain from there
 * joined itself and a synchronous signing waited for its own commit. */
typedef struct clock_probe {
    chio_kernel *k;
    sink_act act;
    int fired, rc, trigger_done; /* atomics, as in sink_probe */
} clock_probe;

static uint64_t probe_clock(void *ctx)
{
    clock_probe *p = ctx;
    char name[16] = "";
    chio_receipt *r = NULL;
    int expected = 0;

    if (pthread_getname_np(pthread_self(), name, sizeof(name)) != 0 ||
        strncmp(name, "chio-", 5) != 0 ||
        !__atomic_compare_exchange_n(&p->fired, &expected, 1, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return 1700000000;
    if (p->act == ACT_DRAIN)
        p->rc = chio_kernel_drain(p->k, NULL);
    else
        p->rc = chio_kernel_sign_receipt(p->k, allow_body(), &r, NULL);
    chio_receipt_free(r);
    return 1700000000;
}

static void *clock_trigger(void *arg)
{
    clock_probe *p = arg;
    chio_receipt *r = NULL;
    int i;

    for (i = 0; i < 1000 && !__atomic_load_n(&p->fired, __ATOMIC_ACQUIRE); i++) {
        (void)chio_kernel_sign_receipt(p->k, allow_body(), &r, NULL);
        chio_receipt_free(r);
        r = NULL;
    }
    __atomic_store_n(&p->trigger_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static int clock_settled(void *arg)
{
    clock_probe *p = arg;

    return __atomic_load_n(&p->fired, __ATOMIC_ACQUIRE) &&
           __atomic_load_n(&p->trigger_done, __ATOMIC_ACQUIRE);
}

static void expect_clock_refused(sink_act act)
{
    chio_kernel_config cfg;
    clock_probe p;
    pthread_t t;

    memset(&p, 0, sizeof(p));
    p.act = act;
    kt_config(&cfg, NULL);
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.clock = probe_clock;
    cfg.clock_ctx = &p;
    cfg.checkpoint_batch_size = 1;
    p.k = kt_kernel(&cfg);
    cr_assert_eq(pthread_create(&t, NULL, clock_trigger, &p), 0);
    cr_assert(testutil_wait_until(clock_settled, &p, 10000),
              "the clock's call (act %d) on a kernel thread still waits after 10 s", (int)act);
    cr_assert_eq(pthread_join(t, NULL), 0);
    cr_assert_eq(p.rc, CHIO_EDEADLK, "clock, act %d: %s", (int)act, chio_errno_name(p.rc));
    cr_assert_eq(chio_kernel_drain(p.k, NULL), 0, "the kernel must serve on and drain");
    chio_kernel_free(p.k);
}

Test(api_abuse, drain_from_the_clock_on_a_kernel_thread_is_edeadlk)
{
    expect_clock_refused(ACT_DRAIN);
}

Test(api_abuse, signing_from_the_clock_on_a_kernel_thread_is_edeadlk)
{
    expect_clock_refused(ACT_SIGN);
}
