/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev29_restart.c - review 29: the kernel's state across
 * restarts and crashes, as an agent that can make the host restart (or
 * waits for a deploy) would attack it. Real kernel, real Ed25519, real
 * RocksDB in a fresh temporary directory; crashes are real processes
 * (tests/reliability/revoke_victim) killed with SIGKILL.
 *
 *  - a revocation the caller was told about survives a SIGKILL right
 *    after, under either durability setting, and so does a charge whose
 *    tool was running (guards; they held).
 *  - what a restart cannot tell, pinned so docs/security.md and
 *    docs/spec-reading.md stay exact: an older copy of the store put back
 *    opens and verifies clean, with the copy's budgets and revocations; a
 *    restart with the clock ahead leaves an expiry floor that refuses
 *    tokens still valid once the clock is right.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"
#include "kernel_internal.h"

#define IAT           1710000000u
#define NOW           1710000300u
#define REVOKE_VICTIM CHIO_RELIABILITY_DIR "/revoke_victim"

extern char **environ;

static uint64_t g_now = NOW;
static char *dir, *db;

static void setup(void)
{
    g_now = NOW;
    dir = testutil_tmpdir();
    cr_assert_geq(asprintf(&db, "%s/db", dir), 0);
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
    free(db);
}

TestSuite(rev29_restart, .init = setup, .fini = teardown);

/* ---- fixtures ---------------------------------------------------------------------------- */

static chio_kernel *kernel(uint32_t max_depth)
{
    return kt_read_kernel(db, &g_now, max_depth);
}

#define SCOPE \
    "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\",\"operations\":[\"invoke\"]}]}"

/* A token the kernel key issued to the agent (no delegation chain). */
static char *token(const char *id, uint64_t ttl)
{
    char *t = tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB, SCOPE, IAT, ttl, NULL, 0);

    cr_assert_not_null(t);
    return t;
}

/* Likewise, with a grant of max_invocations @max. */
static char *budget_token(const char *id, uint64_t ttl, int max)
{
    char scope[160], *t;

    snprintf(scope, sizeof(scope),
             "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\",\"operations\":"
             "[\"invoke\"],\"max_invocations\":%d}]}",
             max);
    t = tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB, scope, IAT, ttl, NULL, 0);
    cr_assert_not_null(t);
    return t;
}

static void revoke_id(chio_kernel *k, const char *id)
{
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_revoke_capability(k, id, &err), 0, "%s", err.message);
}

/* `chio receipt verify --receipt-db` passes the store. */
static void verify_clean(void)
{
    const char *argv[] = {"receipt", "verify", "--receipt-db", db, NULL};
    cli_result r = testutil_run_cli(argv, NULL, 0);

    cr_expect_eq(r.status, 0, "verify: %s%s", r.out, r.err);
    testutil_cli_free(&r);
}

/* ---- a revocation acknowledged, then SIGKILL ------------------------------------------------- */

/* Run the victim under @durability until it has said "revoked" and
 * "running" (the budgeted call's tool was dispatched), then SIGKILL it. */
static void run_and_kill(const char *durability)
{
    const char *argv[] = {"revoke_victim", db, durability, NULL};
    posix_spawn_file_actions_t fa;
    char buf[512], *errpath;
    size_t used = 0;
    int p[2], rc, status, revoked = 0, running = 0;
    pid_t pid;

    cr_assert_geq(asprintf(&errpath, "%s/victim.stderr", dir), 0);
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, errpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
    rc = posix_spawn(&pid, REVOKE_VICTIM, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    cr_assert_eq(rc, 0, "cannot run %s: %s (make builds it)", REVOKE_VICTIM, strerror(rc));
    close(p[1]);
    /* The victim ends only when killed: read until both lines came (or it
     * failed: EOF), then kill it. */
    while (!(revoked && running)) {
        ssize_t n = read(p[0], buf + used, sizeof(buf) - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
        buf[used] = '\0';
        revoked = strstr(buf, "revoked\n") != NULL;
        running = strstr(buf, "running\n") != NULL;
        cr_assert_null(strstr(buf, "error"), "victim: %s (see %s)", buf, errpath);
    }
    kill(pid, SIGKILL);
    close(p[0]);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(revoked && running, "victim said only: %.*s (see %s)", (int)used, buf, errpath);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    free(errpath);
}

/* After the kill: a kernel on the store, on the wall clock as the
 * victim's, refuses cap-r (revoked) and cap-b (its one call charged). */
static void check_after_kill(chio_durability durability)
{
    static const char plain[] =
        "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\",\"operations\":[\"invoke\"]}]}";
    static const char budgeted[] = "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\","
                                   "\"operations\":[\"invoke\"],\"max_invocations\":1}]}";
    static const char *const tools[] = {"read"};
    const char *ids[2] = {"cap-r", "cap-b"}, *scopes[2] = {plain, budgeted};
    const chio_code want[2] = {CHIO_CODE_CAPABILITY_REVOKED, CHIO_CODE_BUDGET_EXHAUSTED};
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel_config cfg;
    chio_capability *cap;
    chio_kernel *k;
    chio_error err;
    int i;

    kt_config(&cfg, db); /* the victim's key, the wall clock */
    cfg.durability = durability;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    kt_serve_echo(k, "srv", tools, 1);
    cr_expect_eq(chio_kernel_is_revoked(k, "cap-r"), 1, "an acknowledged revocation was lost");
    for (i = 0; i < 2; i++) {
        /* The same id and grant: the store's state is keyed by them. */
        cr_assert_eq(chio_kernel_issue_capability(k, ids[i], TK_AGENT_PUB, scopes[i],
                                                  strlen(scopes[i]), 0, 3600, &cap, &err),
                     0, "%s", err.message);
        kt_open1(k, chio_capability_json(cap, NULL), sid);
        cr_expect_eq(kt_call_read(k, sid, ids[i]), want[i], "%s after the kill", ids[i]);
        chio_capability_free(cap);
    }
    chio_kernel_free(k);
}

Test(rev29_restart, an_acknowledged_revocation_and_a_charge_survive_sigkill_with_sync)
{
    run_and_kill("sync");
    check_after_kill(CHIO_DURABILITY_SYNC);
}

/* NOSYNC leaves the WAL unsynced, which a process crash does not lose (the
 * revocation itself is synced whatever the setting). */
Test(rev29_restart, an_acknowledged_revocation_and_a_charge_survive_sigkill_with_nosync)
{
    run_and_kill("nosync");
    check_after_kill(CHIO_DURABILITY_NOSYNC);
}

/* ---- what a restart cannot tell: the store put back, the clock ahead ------------------------ */

/* Run @cmd (a shell command line) and fail the test unless it succeeds. */
static void run_sh(char *cmd)
{
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    free(cmd);
}

static void copy_dir(const char *src, const char *dst)
{
    char *cmd;

    cr_assert_geq(asprintf(&cmd, "cp -r '%s' '%s'", src, dst), 0);
    run_sh(cmd);
}

static void put_back(const char *copy, const char *path)
{
    char *cmd;

    cr_assert_geq(asprintf(&cmd, "rm -rf '%s' && mv '%s' '%s'", path, copy, path), 0);
    run_sh(cmd);
}

/* docs/security.md, "What no local check can catch": an older copy of the
 * kernel's own store put back is a consistent log the same key signed.
 * The kernel opens it, `chio receipt verify` passes it, and the budgets
 * and revocations are those of the copy: what came after it (a charge, a
 * revocation, their receipts) is gone without a trace. Pinned here so
 * the page stays exact. */
Test(rev29_restart, an_older_copy_of_the_store_put_back_is_not_detected)
{
    char *b = budget_token("cap-b", 100000, 1), *x = token("cap-x", 100000), *bak,
         sid[CHIO_SESSION_ID_LEN + 1], sid2[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = kernel(CHIO_DEFAULT_MAX_DELEGATION_DEPTH);

    cr_assert_geq(asprintf(&bak, "%s/bak", dir), 0);
    kt_open1(k, x, sid);
    cr_expect_eq(kt_call_read(k, sid, "cap-x"), CHIO_CODE_NONE);
    chio_kernel_free(k);
    copy_dir(db, bak);

    k = kernel(CHIO_DEFAULT_MAX_DELEGATION_DEPTH);
    kt_open1(k, b, sid);
    kt_open1(k, x, sid2);
    cr_expect_eq(kt_call_read(k, sid, "cap-b"), CHIO_CODE_NONE);
    cr_expect_eq(kt_call_read(k, sid, "cap-b"), CHIO_CODE_BUDGET_EXHAUSTED);
    revoke_id(k, "cap-x");
    cr_expect_eq(kt_call_read(k, sid2, "cap-x"), CHIO_CODE_CAPABILITY_REVOKED);
    chio_kernel_free(k);

    put_back(bak, db);
    k = kernel(CHIO_DEFAULT_MAX_DELEGATION_DEPTH);
    kt_open1(k, b, sid);
    kt_open1(k, x, sid2);
    cr_expect_eq(kt_call_read(k, sid, "cap-b"), CHIO_CODE_NONE, "the spent budget is the copy's");
    cr_expect_eq(kt_call_read(k, sid2, "cap-x"), CHIO_CODE_NONE, "the revocation is gone with it");
    chio_kernel_free(k);
    verify_clean();
    free(bak);
    free(b);
    free(x);
}

/* The expiry floor cannot tell a clock that was ahead from one that was
 * right. A restart while the wall clock reads past a budgeted token's
 * expiry drops its row and raises the floor to that expiry; once the
 * clock is right again the token, still valid by it, stays refused
 * (capability_expired), never granted a fresh budget. A token whose state
 * was kept is judged as before. Documented in docs/spec-reading.md. */
Test(rev29_restart, a_restart_with_the_clock_ahead_keeps_refusing_what_it_dropped)
{
    char *b = budget_token("cap-b", 1000, 2), *c = budget_token("cap-c", 100000, 2),
         sid[CHIO_SESSION_ID_LEN + 1], sid2[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = kernel(CHIO_DEFAULT_MAX_DELEGATION_DEPTH);

    kt_open1(k, b, sid);
    kt_open1(k, c, sid2);
    cr_expect_eq(kt_call_read(k, sid, "cap-b"), CHIO_CODE_NONE);
    cr_expect_eq(kt_call_read(k, sid2, "cap-c"), CHIO_CODE_NONE);
    chio_kernel_free(k);

    g_now = IAT + 5000; /* the clock is ahead at the restart */
    k = kernel(CHIO_DEFAULT_MAX_DELEGATION_DEPTH);
    cr_assert_eq(chio_kernel_start(k, NULL), 0);
    chio_kernel_free(k);

    g_now = NOW; /* and right again */
    k = kernel(CHIO_DEFAULT_MAX_DELEGATION_DEPTH);
    kt_open1(k, b, sid);
    kt_open1(k, c, sid2);
    cr_expect_eq(kt_call_read(k, sid, "cap-b"), CHIO_CODE_CAPABILITY_EXPIRED, "a fresh budget");
    cr_expect_eq(kt_call_read(k, sid2, "cap-c"), CHIO_CODE_NONE);
    cr_expect_eq(kt_call_read(k, sid2, "cap-c"), CHIO_CODE_BUDGET_EXHAUSTED, "its count was kept");
    chio_kernel_free(k);
    free(b);
    free(c);
}
