/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev27_sessions.c - sessions, time bounds and lifecycle
 * (spec/kernel.md "Lifecycle", "Sessions", check 2; review 27):
 *   - chio_kernel_is_revoked() on a kernel reopened on a store answers
 *     from the revocations that store holds, also before anything else
 *     started the kernel (it said 0, "not revoked", for an id revoked in
 *     an earlier run), and never 0 for a question it cannot answer;
 * Real kernel, real Ed25519, RocksDB (a directory where restarts matter,
 * ephemeral elsewhere).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define IAT 1710000000u
#define TTL 1000u
#define EXP (IAT + TTL)

#define SCOPE_FREE                                                                           \
    "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\",\"operations\":[\"invoke\"]}]," \
    "\"resource_grants\":[{\"uri_pattern\":\"*\",\"operations\":[\"read\"]}]}"
#define SCOPE_BUDGET                                                                       \
    "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\",\"operations\":[\"invoke\"]," \
    "\"max_invocations\":5}]}"

/* The kernel clock: g_now, or g_later from the g_switch-th read on (so a
 * test can move time between admission and a later check). */
static uint64_t g_now = IAT + 300, g_later;
static int g_reads, g_switch;
/* Set by the guard: the clock reads g_later from now on. */
static int g_guard_moves_clock;
static int g_tool_runs;

static uint64_t rv_clock(void *ctx)
{
    int n = __atomic_add_fetch(&g_reads, 1, __ATOMIC_SEQ_CST);

    (void)ctx;
    if (g_switch > 0 && n >= g_switch)
        return g_later;
    return __atomic_load_n(&g_now, __ATOMIC_SEQ_CST);
}

static char *dir, *db;

static void setup(void)
{
    dir = testutil_tmpdir();
    cr_assert_geq(asprintf(&db, "%s/db", dir), 0);
    g_now = IAT + 300;
    g_later = 0;
    g_reads = g_switch = 0;
    g_guard_moves_clock = 0;
    g_tool_runs = 0;
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
    free(db);
}

TestSuite(rev27_sessions, .init = setup, .fini = teardown);

static int counting_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                         size_t len, chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    __atomic_add_fetch(&g_tool_runs, 1, __ATOMIC_SEQ_CST);
    return chio_output_set_json(out, args, len);
}

static int counting_read(void *user, const char *uri, chio_output *out)
{
    (void)user;
    (void)uri;
    __atomic_add_fetch(&g_tool_runs, 1, __ATOMIC_SEQ_CST);
    return chio_output_set_json(out, "\"text\"", 6);
}

/* Passes; when asked to, moves the clock past the token's expiry first
 * (host code runs between check 2 and the dispatch). */
static int clock_guard(void *user, const chio_guard_input *in, chio_guard_verdict *verdict,
                       char *details, size_t details_cap)
{
    (void)user;
    (void)in;
    (void)details;
    (void)details_cap;
    if (g_guard_moves_clock)
        __atomic_store_n(&g_now, EXP, __ATOMIC_SEQ_CST);
    *verdict = CHIO_GUARD_PASS;
    return 0;
}

/* A kernel on @path (NULL: ephemeral) with srv/t, a resource provider and
 * the clock guard. */
static chio_kernel *rv_kernel(const char *path)
{
    static const char *const tools[] = {"t"};
    chio_kernel_config cfg;
    chio_resource_provider rp;
    chio_tool_server ts;
    chio_kernel *k;
    chio_error err;

    kt_config(&cfg, path);
    cfg.clock = rv_clock;
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
    cr_assert_eq(chio_kernel_add_guard(k, "clock", clock_guard, NULL, &err), 0, "%s", err.message);
    return k;
}

/* ---- revocations across a restart --------------------------------------------------------- */

/* A host restarting on its store asks whether a capability is revoked
 * before any call: the answer comes from the store, not from an empty
 * list in memory. A kernel drained before it ever started cannot answer:
 * an error, never 0. */
Test(rev27_sessions, is_revoked_answers_from_the_store_before_the_first_call)
{
    chio_kernel *k = rv_kernel(db);
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_revoke_capability(k, "cap-gone", &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_is_revoked(k, "cap-gone"), 1);
    chio_kernel_free(k);

    k = rv_kernel(db); /* a restart: nothing has started it yet */
    cr_expect_eq(chio_kernel_is_revoked(k, "cap-gone"), 1, "a stored revocation read as absent");
    cr_expect_eq(chio_kernel_is_revoked(k, "cap-kept"), 0);
    chio_kernel_free(k);

    k = rv_kernel(db);
    cr_assert_eq(chio_kernel_drain(k, &err), 0, "%s", err.message);
    cr_expect_lt(chio_kernel_is_revoked(k, "cap-gone"), 0,
                 "a kernel that never read its store answered anyway");
    chio_kernel_free(k);
}
