/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev49_api.c - review 49: the public kernel API under a
 * multi-threaded host. A host's resource or prompt provider whose list
 * function lists its own kernel again (a gateway provider that answers
 * resources/list by asking the kernel it serves) recursed without limit
 * and crashed the host with a stack overflow: listing is now bounded like
 * an evaluation (CHIO__MAX_CALL_DEPTH calls on one kernel, and
 * CHIO__MAX_THREAD_DEPTH through all kernels, on one thread) and the call
 * past the bound fails with CHIO_ELIMIT, no provider asked. A tool of a
 * call a log sink submitted, running on the sink's thread under the log
 * lock, hung the host with a nested request: now refused (CHIO_EDEADLK).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/chio.h"
#include "common/poll.h"
#include "kernel/kernelutil.h"

TestSuite(rev49_api);

#define NOW 1700000000u

static uint64_t fixed_clock(void *ctx)
{
    (void)ctx;
    return NOW;
}

static const char *const TOOLS[] = {"t"};

/* ---- listing from a provider's own list ----------------------------------------------------- */

/* What the recursive list functions share: the kernels they list (a ring
 * of them: each list lists the next kernel), whether prompts, and what the
 * deepest call saw. */
typedef struct rec_lister {
    chio_kernel *ks[5];
    size_t nks;
    int prompts;
    unsigned depth, max_depth;
    int deepest_rc; /* the result of the call that failed first */
    char deepest_msg[256];
    unsigned calls; /* list functions run */
} rec_lister;

static rec_lister rl;

static int rec_list(void *user, chio_output *out)
{
    chio_kernel *next = rl.ks[(size_t)(uintptr_t)user % rl.nks];
    char *s = NULL;
    size_t n = 0;
    chio_error err;
    int rc;

    rl.calls++;
    if (++rl.depth > rl.max_depth)
        rl.max_depth = rl.depth;
    chio_error_init(&err);
    rc = rl.prompts ? chio_kernel_list_prompts(next, &s, &n, &err)
                    : chio_kernel_list_resources(next, &s, &n, &err);
    rl.depth--;
    if (rc != 0) {
        if (rl.deepest_rc == 0) {
            rl.deepest_rc = rc;
            snprintf(rl.deepest_msg, sizeof(rl.deepest_msg), "%s", err.message);
        }
        cr_expect_null(s);
        chio_output_set_error(out, err.message);
        return rc;
    }
    rc = chio_output_set_json(out, s, n);
    chio_free(s);
    return rc;
}

static int no_read(void *user, const char *uri, chio_output *out)
{
    (void)user;
    (void)uri;
    (void)out;
    return CHIO_ENOTMINE;
}

static int no_get(void *user, const char *name, const char *args, size_t len, chio_output *out)
{
    (void)user;
    (void)name;
    (void)args;
    (void)len;
    (void)out;
    return CHIO_ENOTMINE;
}

static int fixed_list(void *user, chio_output *out)
{
    (void)user;
    return chio_output_set_json(out, "[{\"uri\":\"mem://a\"}]", 19);
}

/* Register on @k a provider (of resources or prompts) whose list is
 * rec_list listing kernel @next of rl.ks, and one with a fixed list. */
static void rec_providers(chio_kernel *k, int prompts, size_t next)
{
    chio_error err;

    chio_error_init(&err);
    if (prompts) {
        chio_prompt_provider p = {
            .provider_id = "rec", .list = rec_list, .get = no_get, .user = (void *)(uintptr_t)next};
        chio_prompt_provider q = {.provider_id = "fixed", .list = fixed_list, .get = no_get};
        cr_assert_eq(chio_kernel_register_prompt_provider(k, &q, &err), 0, "%s", err.message);
        cr_assert_eq(chio_kernel_register_prompt_provider(k, &p, &err), 0, "%s", err.message);
    } else {
        chio_resource_provider p = {.provider_id = "rec",
                                    .list = rec_list,
                                    .read = no_read,
                                    .user = (void *)(uintptr_t)next};
        chio_resource_provider q = {.provider_id = "fixed", .list = fixed_list, .read = no_read};
        cr_assert_eq(chio_kernel_register_resource_provider(k, &q, &err), 0, "%s", err.message);
        cr_assert_eq(chio_kernel_register_resource_provider(k, &p, &err), 0, "%s", err.message);
    }
}

/* The self-listing provider on @nks kernels in a ring: the outermost list
 * fails (the provider did), the innermost with CHIO_ELIMIT at the bound,
 * and the host's stack survives; afterwards every kernel drains (the
 * thread's depth was unwound). */
static void recursive_listing(int prompts, size_t nks, unsigned want_depth)
{
    chio_error err;
    char *s = (char *)1;
    size_t n, i;
    int rc;

    memset(&rl, 0, sizeof(rl));
    rl.nks = nks;
    rl.prompts = prompts;
    for (i = 0; i < nks; i++) {
        rl.ks[i] = kt_echo_kernel(NULL, fixed_clock, "srv", TOOLS, 1);
        rec_providers(rl.ks[i], prompts, (i + 1) % nks);
    }
    chio_error_init(&err);
    rc = prompts ? chio_kernel_list_prompts(rl.ks[0], &s, &n, &err)
                 : chio_kernel_list_resources(rl.ks[0], &s, &n, &err);
    cr_expect_neq(rc, 0, "a list that failed inside listed");
    cr_expect_null(s);
    cr_expect_eq(rl.deepest_rc, CHIO_ELIMIT, "innermost: %d %s", rl.deepest_rc, rl.deepest_msg);
    cr_expect_not_null(strstr(rl.deepest_msg, "nests more than"), "%s", rl.deepest_msg);
    cr_expect_eq(rl.max_depth, want_depth, "list functions nested %u deep", rl.max_depth);
    /* The innermost call asked no provider: every list function that ran
     * is one of the recursion's. */
    cr_expect_eq(rl.calls, want_depth);
    /* The thread's counts of the calls it is inside were unwound: drain
     * refuses (CHIO_EDEADLK) from inside a call on its kernel. */
    for (i = 0; i < nks; i++) {
        chio_error_init(&err);
        cr_expect_eq(chio_kernel_drain(rl.ks[i], &err), 0, "%s", err.message);
        chio_kernel_free(rl.ks[i]);
    }
}

Test(rev49_api, provider_listing_its_own_resources_is_bounded)
{
    recursive_listing(0, 1, 16);
}

Test(rev49_api, provider_listing_its_own_prompts_is_bounded)
{
    recursive_listing(1, 1, 16);
}

/* Two kernels whose providers list each other: kernel 0's own bound (16
 * calls on it) stops the ring at its 17th listing, after 32 list
 * functions ran. */
Test(rev49_api, providers_listing_each_other_are_bounded)
{
    recursive_listing(0, 2, 32);
}

/* Five kernels in a ring: the thread's bound (64 calls through all
 * kernels) stops it first, at the 65th listing (kernel 0 then holds 13). */
Test(rev49_api, listing_ring_through_five_kernels_is_bounded)
{
    recursive_listing(1, 5, 64);
}

/* ---- a nested request from a tool running in the log sink ----------------------------------- */

/* A log sink may submit calls asynchronously (kernel.h); the call's tool
 * then runs on the sink's thread, under the kernel's log lock. A nested
 * request's child receipt is signed synchronously, and the commit thread
 * logs (checkpoint_written at debug, store_write_failed) before it wakes
 * the waiter: with a checkpoint ready it took the log lock this thread
 * held, and the host hung for good. Such a request is
 * now refused with CHIO_EDEADLK, the host not asked, no child receipt;
 * the same tool on a thread of the host's still samples. */
static struct {
    chio_kernel *k;
    char sid[CHIO_SESSION_ID_LEN + 1];
    int armed, fired, submit_rc;
    int in_sink;        /* the sink is running the submission */
    int sink_sample_rc; /* what the tool's request heard there */
    char sink_sample_msg[256];
    int plain_sample_rc; /* ... and on the main thread */
    int host_asked;      /* nested handler calls */
    int cb_done, cb_rc;  /* the callback of the sink's call */
    size_t cb_children;
    chio_verdict cb_verdict;
} ls;

static int ls_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                   chio_output *out)
{
    char *reply = (char *)1;
    chio_error err;
    int rc;

    (void)user;
    (void)tool;
    chio_error_init(&err);
    rc = chio_tool_ctx_sample(ctx, "{\"m\":1}", 7, 0, &reply, NULL, &err);
    if (ls.in_sink) {
        ls.sink_sample_rc = rc;
        snprintf(ls.sink_sample_msg, sizeof(ls.sink_sample_msg), "%s", err.message);
    } else {
        ls.plain_sample_rc = rc;
    }
    if (rc != 0)
        cr_expect_null(reply);
    chio_free(reply);
    return chio_output_set_json(out, args, len);
}

static int ls_host(void *user, chio_nested_kind kind, const char *session_id, const char *req,
                   size_t len, chio_output *reply)
{
    (void)user;
    (void)kind;
    (void)session_id;
    (void)req;
    (void)len;
    __atomic_add_fetch(&ls.host_asked, 1, __ATOMIC_SEQ_CST);
    return chio_output_set_json(reply, "{\"text\":\"hi\"}", 13);
}

static void ls_cb(void *ctx, int rc, chio_response *resp, const chio_error *err)
{
    (void)ctx;
    (void)err;
    ls.cb_rc = rc;
    ls.cb_children = resp->nchildren;
    ls.cb_verdict = resp->verdict;
    __atomic_store_n(&ls.cb_done, 1, __ATOMIC_SEQ_CST);
}

static void ls_sink(void *ctx, chio_log_level level, const char *json, size_t len)
{
    chio_call c;
    chio_error err;

    (void)ctx;
    (void)level;
    if (!ls.armed || ls.fired || memmem(json, len, "\"session_opened\"", 16) == NULL)
        return;
    ls.fired = 1;
    kt_call_init(&c, ls.sid, "c1", "t", "{}");
    chio_error_init(&err);
    ls.in_sink = 1;
    ls.submit_rc = chio_kernel_evaluate_async(ls.k, &c, ls_cb, NULL, &err);
    ls.in_sink = 0;
}

static int ls_cb_done(void *arg)
{
    (void)arg;
    return __atomic_load_n(&ls.cb_done, __ATOMIC_SEQ_CST);
}

Test(rev49_api, nested_request_from_a_tool_in_the_log_sink_is_refused_not_hung)
{
    chio_kernel_config cfg;
    chio_error err;
    chio_call c;
    chio_response r;
    char sid2[CHIO_SESSION_ID_LEN + 1];

    memset(&ls, 0, sizeof(ls));
    kt_config(&cfg, NULL);
    cfg.clock = fixed_clock;
    cfg.log = ls_sink;
    cfg.log_level = CHIO_LOG_DEBUG;
    cfg.checkpoint_batch_size = 1; /* every receipt cuts a checkpoint */
    cfg.allow_sampling = 1;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    ls.k = kt_kernel(&cfg);
    kt_serve_t(ls.k, "srv", 0, ls_tool);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_set_nested_handler(ls.k, ls_host, NULL, &err), 0, "%s", err.message);
    kt_grant_session(ls.k, NOW, "c1", "", ls.sid);
    cr_assert_eq(chio_kernel_start(ls.k, &err), 0, "%s", err.message);

    /* From a thread of the host's the tool samples (and a checkpoint is
     * cut, to be written with a later group). */
    kt_call_init(&c, ls.sid, "c1", "t", "{}");
    cr_assert_eq(chio_kernel_evaluate(ls.k, &c, &r, &err), 0, "%s", err.message);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", r.reason);
    cr_expect_eq(ls.plain_sample_rc, 0);
    cr_expect_eq(r.nchildren, 1);
    cr_expect_eq(ls.host_asked, 1);
    chio_response_destroy(&r);

    /* Opening a second session logs session_opened: the sink submits. */
    ls.armed = 1;
    kt_grant_session(ls.k, NOW, "c2", "", sid2);
    cr_assert(ls.fired);
    cr_assert_eq(ls.submit_rc, 0);
    cr_expect_eq(ls.sink_sample_rc, CHIO_EDEADLK, "sample in the sink: %d", ls.sink_sample_rc);
    cr_expect_not_null(strstr(ls.sink_sample_msg, "log sink"), "%s", ls.sink_sample_msg);
    cr_expect_eq(ls.host_asked, 1, "the host was asked from the sink");
    cr_assert(testutil_wait_until(ls_cb_done, NULL, 30000), "the sink's call never completed");
    cr_expect_eq(ls.cb_rc, 0);
    cr_expect_eq(ls.cb_children, 0, "a child receipt for a refused request");
    cr_expect_eq(ls.cb_verdict, CHIO_VERDICT_ALLOW);
    cr_expect_eq(chio_kernel_drain(ls.k, &err), 0, "%s", err.message);
    chio_kernel_free(ls.k);
}
