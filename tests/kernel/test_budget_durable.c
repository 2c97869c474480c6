/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_budget_durable.c - max_invocations budgets survive
 * restarts: each charge is written to the store (column family "budgets",
 * the highest count per budget) before its tool is dispatched, and
 * restored at start. A drain and reopen, eight racing threads across a
 * restart, a charge write that fails, and a process killed with SIGKILL
 * part-way or while its tools run (tests/reliability/budget_victim.c)
 * never refill a spent budget.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"
#include "kernel_internal.h"

#define IAT 1710000000u
#define NOW 1710000300u

#define BUDGET_VICTIM CHIO_RELIABILITY_DIR "/budget_victim"

extern char **environ;

static char *dir, *db;

static uint64_t test_clock(void *ctx)
{
    (void)ctx;
    return NOW;
}

static void setup(void)
{
    dir = testutil_tmpdir();
    cr_assert_geq(asprintf(&db, "%s/db", dir), 0);
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
    free(db);
}

TestSuite(budget_durable, .init = setup, .fini = teardown);

/* A kernel on @db with the server srv/read. */
static chio_kernel *budget_kernel(void)
{
    static const char *const tools[] = {"read"};

    return kt_echo_kernel(db, test_clock, "srv", tools, 1);
}

static char *budget_token(const char *id, unsigned max)
{
    char scope[256], *t;

    snprintf(scope, sizeof(scope),
             "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\","
             "\"operations\":[\"invoke\"],\"max_invocations\":%u}]}",
             max);
    t = tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB, scope, IAT, 1000, NULL, 0);
    cr_assert_not_null(t);
    return t;
}

static void reopen(chio_kernel **k, char sid[CHIO_SESSION_ID_LEN + 1], const char *tok)
{
    cr_assert_eq(chio_kernel_drain(*k, NULL), 0);
    chio_kernel_free(*k);
    *k = budget_kernel();
    kt_open1(*k, tok, sid);
}

/* The count stored for @cap's grant 0 (0 when none). */
static int stored_one(void *ctx, const char *key, size_t klen, uint64_t count, uint64_t expires_at)
{
    (void)key;
    (void)klen;
    (void)expires_at;
    *(uint64_t *)ctx = count;
    return 0;
}

static uint64_t stored_count(void)
{
    chio_store *s;
    uint64_t v = 0;

    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_assert_eq(chio__store_scan_budgets(s, stored_one, &v, NULL), 0);
    chio_store_close(s);
    return v;
}

/* ---- drain and reopen --------------------------------------------------------------------- */

Test(budget_durable, a_spent_budget_stays_spent_after_drain_and_reopen)
{
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = budget_token("cap-5", 5);
    chio_kernel *k = budget_kernel();
    int i;

    kt_open1(k, tok, sid);
    for (i = 0; i < 5; i++)
        cr_expect_eq(kt_call_read(k, sid, "cap-5"), CHIO_CODE_NONE, "call %d", i + 1);
    cr_expect_eq(kt_call_read(k, sid, "cap-5"), CHIO_CODE_BUDGET_EXHAUSTED);
    reopen(&k, sid, tok);
    /* the next call is denied, with a receipt */
    cr_expect_eq(kt_call_read(k, sid, "cap-5"), CHIO_CODE_BUDGET_EXHAUSTED);
    reopen(&k, sid, tok);
    cr_expect_eq(kt_call_read(k, sid, "cap-5"), CHIO_CODE_BUDGET_EXHAUSTED);
    chio_kernel_free(k);
    cr_expect_eq(stored_count(), 5);
    free(tok);
}

Test(budget_durable, a_partly_spent_budget_continues_where_it_stopped)
{
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = budget_token("cap-p", 5);
    chio_kernel *k = budget_kernel();
    int i;

    kt_open1(k, tok, sid);
    for (i = 0; i < 3; i++)
        cr_expect_eq(kt_call_read(k, sid, "cap-p"), CHIO_CODE_NONE);
    reopen(&k, sid, tok);
    cr_expect_eq(kt_call_read(k, sid, "cap-p"), CHIO_CODE_NONE);
    cr_expect_eq(kt_call_read(k, sid, "cap-p"), CHIO_CODE_NONE);
    cr_expect_eq(kt_call_read(k, sid, "cap-p"), CHIO_CODE_BUDGET_EXHAUSTED);
    chio_kernel_free(k);
    free(tok);
}

/* ---- racing threads across a restart ---------------------------------------------------- */

typedef struct racer {
    chio_kernel *k;
    const char *sid;
    int calls;
    int allows, exhausted;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    int i;

    for (i = 0; i < r->calls; i++) {
        chio_code c = kt_call_read(r->k, r->sid, "cap-race");
        if (c == CHIO_CODE_NONE)
            r->allows++;
        else if (c == CHIO_CODE_BUDGET_EXHAUSTED)
            r->exhausted++;
    }
    return NULL;
}

static int run_racers(chio_kernel *k, const char *sid, int calls, int *exhausted)
{
    pthread_t th[8];
    racer rs[8];
    int i, allows = 0;

    *exhausted = 0;
    for (i = 0; i < 8; i++) {
        rs[i] = (racer){k, sid, calls, 0, 0};
        cr_assert_eq(pthread_create(&th[i], NULL, race, &rs[i]), 0);
    }
    for (i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        allows += rs[i].allows;
        *exhausted += rs[i].exhausted;
    }
    return allows;
}

Test(budget_durable, eight_racing_threads_get_exactly_n_across_a_restart)
{
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = budget_token("cap-race", 20);
    chio_kernel *k = budget_kernel();
    int allows, exhausted;

    kt_open1(k, tok, sid);
    allows = run_racers(k, sid, 2, &exhausted); /* 16 attempts */
    cr_expect_eq(allows, 16);
    cr_expect_eq(exhausted, 0);
    reopen(&k, sid, tok);
    allows = run_racers(k, sid, 3, &exhausted); /* 24 attempts, 4 left */
    cr_expect_eq(allows, 4, "exactly the rest of the budget after the restart");
    cr_expect_eq(exhausted, 20);
    reopen(&k, sid, tok);
    allows = run_racers(k, sid, 1, &exhausted);
    cr_expect_eq(allows, 0);
    chio_kernel_free(k);
    cr_expect_eq(stored_count(), 20, "the highest count reached the store");
    free(tok);
}

/* ---- the charge is written before the dispatch --------------------------------------------- */

/* A tool that records the count stored for "cap-pre" while it runs. */
static uint64_t seen_stored[8];
static int nseen;

static int peek_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                     chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    if (nseen < 8)
        seen_stored[nseen] = stored_count();
    nseen++;
    return chio_output_set_json(out, args, len);
}

static chio_kernel *peek_kernel(void)
{
    static const char *const tools[] = {"read"};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_kernel *k;
    chio_error err;

    kt_config(&cfg, db);
    cfg.clock = test_clock;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = peek_tool;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0, "%s", err.message);
    return k;
}

Test(budget_durable, the_charge_is_in_the_store_while_the_tool_runs)
{
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = budget_token("cap-pre", 3);
    chio_kernel *k = peek_kernel();
    int i;

    nseen = 0;
    kt_open1(k, tok, sid);
    for (i = 0; i < 3; i++)
        cr_expect_eq(kt_call_read(k, sid, "cap-pre"), CHIO_CODE_NONE);
    cr_expect_eq(kt_call_read(k, sid, "cap-pre"), CHIO_CODE_BUDGET_EXHAUSTED);
    cr_assert_eq(nseen, 3, "the denied call ran no tool");
    for (i = 0; i < 3; i++)
        cr_expect_eq(seen_stored[i], (uint64_t)i + 1,
                     "call %d: the store held %llu while its tool ran (the charge must be "
                     "written before the dispatch)",
                     i + 1, (unsigned long long)seen_stored[i]);
    chio_kernel_free(k);
    free(tok);
}

Test(budget_durable, a_charge_that_cannot_be_written_runs_no_tool_and_fails_closed)
{
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = budget_token("cap-pre", 5);
    chio_kernel *k = peek_kernel();
    chio_call c;
    chio_response r;
    chio_error err;

    nseen = 0;
    kt_open1(k, tok, sid);
    cr_expect_eq(kt_call_read(k, sid, "cap-pre"), CHIO_CODE_NONE);
    chio__store_fail_writes(k->store, 1); /* the next write: the charge's */
    kt_call_init(&c, sid, "cap-pre", "read", "{}");
    chio_error_init(&err);
    chio_response_init(&r);
    cr_expect_eq(chio_kernel_evaluate(k, &c, &r, &err), CHIO_ESTORE,
                 "an unwritten charge is no allow: an error (%s)", err.message);
    cr_expect_not_null(strstr(err.message, "budget charge not written"), "%s", err.message);
    chio_response_destroy(&r);
    cr_expect_eq(nseen, 1, "the tool ran although its charge was not written");
    cr_expect(__atomic_load_n(&k->failed, __ATOMIC_SEQ_CST), "the kernel failed closed");
    chio_kernel_free(k);
    /* Only the written charge counts: four calls left. */
    k = peek_kernel();
    kt_open1(k, tok, sid);
    cr_expect_eq(kt_call_read(k, sid, "cap-pre"), CHIO_CODE_NONE);
    cr_expect_eq(kt_call_read(k, sid, "cap-pre"), CHIO_CODE_NONE);
    cr_expect_eq(kt_call_read(k, sid, "cap-pre"), CHIO_CODE_NONE);
    cr_expect_eq(kt_call_read(k, sid, "cap-pre"), CHIO_CODE_NONE);
    cr_expect_eq(kt_call_read(k, sid, "cap-pre"), CHIO_CODE_BUDGET_EXHAUSTED);
    chio_kernel_free(k);
    free(tok);
}

/* ---- SIGKILL part-way ---------------------------------------------------------------------- */

#define KILL_MAX     120
#define KILL_THREADS 4

typedef struct vrun {
    int allows, exhausted, errors, done, running;
} vrun;

/* Run the victim with budget @nmax and @nthreads threads, its tool
 * blocking when @block; with @kill_after > 0, SIGKILL it once it has
 * reported that many allows, or (@block) that many tools running. */
static vrun run_victim_ex(int nmax, int nthreads, int block, int kill_after)
{
    char max[16], thr[16], *errpath, buf[4096], line[256];
    const char *argv[] = {"budget_victim", db, max, thr, block ? "block" : NULL, NULL};
    posix_spawn_file_actions_t fa;
    size_t used = 0;
    vrun v = {0, 0, 0, 0, 0};
    pid_t pid;
    int p[2], rc, status, killed = 0;

    snprintf(max, sizeof(max), "%d", nmax);
    snprintf(thr, sizeof(thr), "%d", nthreads);
    cr_assert_geq(asprintf(&errpath, "%s/victim.stderr", dir), 0);
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, errpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
    rc = posix_spawn(&pid, BUDGET_VICTIM, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    cr_assert_eq(rc, 0, "cannot run %s: %s (make builds it)", BUDGET_VICTIM, strerror(rc));
    close(p[1]);
    for (;;) {
        ssize_t n = read(p[0], buf, sizeof(buf));
        ssize_t i;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (i = 0; i < n; i++) {
            if (buf[i] != '\n') {
                if (used < sizeof(line) - 1)
                    line[used++] = buf[i];
                continue;
            }
            line[used] = '\0';
            used = 0;
            if (strcmp(line, "allow") == 0)
                v.allows++;
            else if (strcmp(line, "exhausted") == 0)
                v.exhausted++;
            else if (strcmp(line, "done") == 0)
                v.done = 1;
            else if (strcmp(line, "running") == 0)
                v.running++;
            else if (strncmp(line, "error", 5) == 0)
                v.errors++;
            if (kill_after > 0 && !killed && (block ? v.running : v.allows) >= kill_after) {
                kill(pid, SIGKILL);
                killed = 1;
            }
        }
    }
    close(p[0]);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    if (kill_after > 0 && killed) /* or it finished first */
        cr_assert((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
                  (WIFEXITED(status) && WEXITSTATUS(status) == 0));
    else
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "victim exit %d; see %s", status,
                  errpath);
    free(errpath);
    return v;
}

static vrun run_victim(int kill_after)
{
    return run_victim_ex(KILL_MAX, KILL_THREADS, 0, kill_after);
}

/* Allow receipts in the store. */
static int count_allow(void *ctx, uint64_t seq, const char *json, size_t len)
{
    chio_json_doc *d = NULL;
    const char *verdict;

    (void)seq;
    cr_assert_eq(chio_json_parse(json, len, &d, NULL), 0);
    verdict = chio_json_string(
        chio_json_get(chio_json_get(chio_json_root(d), "decision"), "verdict"), NULL);
    if (verdict != NULL && strcmp(verdict, "allow") == 0)
        (*(int *)ctx)++;
    chio_json_doc_free(d);
    return 0;
}

static int stored_allows(void)
{
    chio_store *s;
    int n = 0;

    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_assert_eq(chio_store_scan(s, 1, count_allow, &n, NULL), 0);
    chio_store_close(s);
    return n;
}

Test(budget_durable, sigkill_part_way_never_refills_the_budget, .timeout = 120)
{
    int acked = 0, stored = 0, round, after;
    vrun v;

    /* Three runs killed part-way; every acknowledged allow is stored, and
     * the store never holds more allows than the budget. */
    for (round = 1; round <= 3; round++) {
        v = run_victim(20);
        cr_assert_eq(v.errors, 0);
        acked += v.allows;
        stored = stored_allows();
        cr_expect_geq(stored, acked, "round %d: an acknowledged allow is missing", round);
        cr_expect_leq(stored, KILL_MAX, "round %d: more allows than the budget", round);
        acked = stored; /* what a restart must count as spent (at least) */
        if (v.exhausted > 0 || stored >= KILL_MAX)
            break;
    }
    /* A last run spends whatever is left, then everything is refused. */
    v = run_victim(0);
    cr_assert(v.done);
    cr_expect_eq(v.errors, 0);
    cr_expect_eq(v.exhausted, KILL_THREADS);
    after = stored_allows();
    cr_expect_eq(after, stored + v.allows);
    cr_expect_leq(after, KILL_MAX, "a restart refilled the budget: %d allows for %d", after,
                  KILL_MAX);
    /* Only calls in flight at a kill (charged, their receipts lost, never
     * answered) are wasted: at most THREADS per kill, so the allows reach
     * the budget to within that. */
    cr_expect_geq(after, KILL_MAX - 3 * KILL_THREADS);
    v = run_victim(0);
    cr_expect_eq(v.allows, 0, "a spent budget stays spent");
}

/* The crash the receipt cannot cover: tools running (blocked) when the
 * process is killed, so no receipt was ever committed for them. Their
 * charges were written before the dispatch: a restart on the same store
 * grants nothing more. */
Test(budget_durable, sigkill_while_the_tools_run_keeps_their_charges)
{
    vrun v;

    v = run_victim_ex(3, 3, 1, 3); /* three calls in their tools, killed */
    cr_assert_eq(v.running, 3);
    cr_assert_eq(v.allows, 0, "no call was answered");
    cr_expect_eq(stored_allows(), 0, "no receipt reached the store");
    v = run_victim_ex(3, 2, 0, 0);
    cr_assert(v.done);
    cr_expect_eq(v.errors, 0);
    cr_expect_eq(v.allows, 0, "a restart granted %d more dispatches of a spent budget", v.allows);
    cr_expect_eq(v.exhausted, 2);
}
