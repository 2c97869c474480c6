/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_budget_durable.c - max_invocations budgets survive
 * restarts: each charge is committed in its receipt's WriteBatch (column
 * family "budgets", the highest count per budget) and restored at start.
 * A drain and reopen, eight racing threads across a restart, charges that
 * reach the commit thread out of order, and a process killed with SIGKILL
 * part-way (tests/reliability/budget_victim.c) never refill a spent budget.
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

static void open1(chio_kernel *k, const char *tok, char sid[CHIO_SESSION_ID_LEN + 1])
{
    const char *caps[1] = {tok};
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0, "%s",
                 err.message);
}

/* One call; returns the code (CHIO_CODE_NONE on allow). Every decision
 * must come with a receipt. */
static chio_code call(chio_kernel *k, const char *sid, const char *cap)
{
    chio_call c;
    chio_response r;
    chio_error err;
    chio_code code;

    memset(&c, 0, sizeof(c));
    c.session_id = sid;
    c.capability_id = cap;
    c.server_id = "srv";
    c.tool_name = "read";
    c.arguments_json = "{}";
    c.arguments_len = 2;
    chio_error_init(&err);
    chio_response_init(&r);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    cr_assert_not_null(r.receipt, "a decision without a receipt");
    code = r.code;
    if (code == CHIO_CODE_NONE)
        cr_assert_eq(r.verdict, CHIO_VERDICT_ALLOW);
    else
        cr_assert_str_eq(
            chio_json_string(
                chio_json_get(chio_json_get(chio_receipt_root(r.receipt), "decision"), "guard"),
                NULL),
            chio_code_name(code));
    chio_response_destroy(&r);
    return code;
}

static void reopen(chio_kernel **k, char sid[CHIO_SESSION_ID_LEN + 1], const char *tok)
{
    cr_assert_eq(chio_kernel_drain(*k, NULL), 0);
    chio_kernel_free(*k);
    *k = budget_kernel();
    open1(*k, tok, sid);
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

    open1(k, tok, sid);
    for (i = 0; i < 5; i++)
        cr_expect_eq(call(k, sid, "cap-5"), CHIO_CODE_NONE, "call %d", i + 1);
    cr_expect_eq(call(k, sid, "cap-5"), CHIO_CODE_BUDGET_EXHAUSTED);
    reopen(&k, sid, tok);
    /* the next call is denied, with a receipt */
    cr_expect_eq(call(k, sid, "cap-5"), CHIO_CODE_BUDGET_EXHAUSTED);
    reopen(&k, sid, tok);
    cr_expect_eq(call(k, sid, "cap-5"), CHIO_CODE_BUDGET_EXHAUSTED);
    chio_kernel_free(k);
    cr_expect_eq(stored_count(), 5);
    free(tok);
}

Test(budget_durable, a_partly_spent_budget_continues_where_it_stopped)
{
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = budget_token("cap-p", 5);
    chio_kernel *k = budget_kernel();
    int i;

    open1(k, tok, sid);
    for (i = 0; i < 3; i++)
        cr_expect_eq(call(k, sid, "cap-p"), CHIO_CODE_NONE);
    reopen(&k, sid, tok);
    cr_expect_eq(call(k, sid, "cap-p"), CHIO_CODE_NONE);
    cr_expect_eq(call(k, sid, "cap-p"), CHIO_CODE_NONE);
    cr_expect_eq(call(k, sid, "cap-p"), CHIO_CODE_BUDGET_EXHAUSTED);
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
        chio_code c = call(r->k, r->sid, "cap-race");
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

    open1(k, tok, sid);
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

/* ---- charges out of order ------------------------------------------------------------- */

static void sign_with_charge(chio_kernel *k, const char *cap, uint64_t count)
{
    chio__charge ch;
    chio__receipt_fields f;
    chio_receipt *r = NULL;
    chio_error err;
    char params[64];
    size_t n = strlen(cap);

    memset(&ch, 0, sizeof(ch));
    memcpy(ch.key, cap, n + 1); /* NUL, then grant index 0 (big-endian) */
    ch.keylen = (uint32_t)(n + 5);
    ch.count = count;
    chio_error_init(&err);
    cr_assert_eq(chio__kernel_enter(k), 0);
    snprintf(params, sizeof(params), "{\"n\":%llu}", (unsigned long long)count);
    memset(&f, 0, sizeof(f));
    f.timestamp = 1710000000;
    f.capability_id = cap;
    f.tool_server = "srv";
    f.tool_name = "tool";
    f.params = params;
    f.params_len = strlen(params);
    f.params_canonical = 1;
    f.verdict = CHIO_VERDICT_ALLOW;
    f.request_id = "req";
    f.session_id = "sess";
    cr_assert_eq(chio__kernel_sign_entered(k, &f, &ch, &r, &err), 0, "%s", err.message);
    chio__kernel_leave(k);
    chio_receipt_free(r);
}

Test(budget_durable, a_lower_charge_committed_later_never_lowers_the_stored_count)
{
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = budget_token("cap-ooo", 8);
    chio_kernel *k = budget_kernel();

    /* Two racing callers took counts 7 and 6; the receipt of 7 happened to
     * commit first. */
    cr_assert_eq(chio_kernel_start(k, NULL), 0);
    sign_with_charge(k, "cap-ooo", 7);
    sign_with_charge(k, "cap-ooo", 6);
    cr_assert_eq(chio_kernel_drain(k, NULL), 0);
    chio_kernel_free(k);
    cr_expect_eq(stored_count(), 7);
    k = budget_kernel();
    open1(k, tok, sid);
    cr_expect_eq(call(k, sid, "cap-ooo"), CHIO_CODE_NONE);
    cr_expect_eq(call(k, sid, "cap-ooo"), CHIO_CODE_BUDGET_EXHAUSTED);
    chio_kernel_free(k);
    free(tok);
}

/* ---- SIGKILL part-way ---------------------------------------------------------------------- */

#define KILL_MAX     120
#define KILL_THREADS 4

typedef struct vrun {
    int allows, exhausted, errors, done;
} vrun;

/* Run the victim; with @kill_after > 0, SIGKILL it once it has reported
 * that many allows. */
static vrun run_victim(int kill_after)
{
    char max[16], thr[16], *errpath, buf[4096], line[256];
    const char *argv[] = {"budget_victim", db, max, thr, NULL};
    posix_spawn_file_actions_t fa;
    size_t used = 0;
    vrun v = {0, 0, 0, 0};
    pid_t pid;
    int p[2], rc, status, killed = 0;

    snprintf(max, sizeof(max), "%d", KILL_MAX);
    snprintf(thr, sizeof(thr), "%d", KILL_THREADS);
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
            else if (strncmp(line, "error", 5) == 0)
                v.errors++;
            if (kill_after > 0 && !killed && v.allows >= kill_after) {
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
    /* Only calls in flight at a kill (their receipts lost with their
     * charges, never answered) can be granted again: at most THREADS per
     * kill, so the budget is spent to within that. */
    cr_expect_geq(after, KILL_MAX - 3 * KILL_THREADS);
    v = run_victim(0);
    cr_expect_eq(v.allows, 0, "a spent budget stays spent");
}
