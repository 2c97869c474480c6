/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_reclaim.c - issue 11, tables that no longer only grow:
 * closed sessions leave the session table (a bounded set of tombstones
 * answers "closed" for the most recent ones); a call racing a close never
 * touches freed memory (run it under `make asan`); budgets of expired
 * capabilities are dropped and their persisted rows leave the store with
 * them (a live budget's never; rows of the 8-byte form of earlier versions
 * still load), while revocations are kept for good (review 29), also
 * across restarts with a RocksDB store; the
 * bounded CLOCK maps evict and keep serving a hot set; the pattern cache
 * keeps matching when it evicts; chio_kernel_is_revoked refuses NULL.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"
#include "kernel_internal.h"
#include "regex_nfa.h"

#define IAT 1710000000u
#define NOW 1710000300u

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

TestSuite(reclaim, .init = setup, .fini = teardown);

/* ---- fixtures ---------------------------------------------------------------------------- */

static chio_kernel *kernel(uint32_t max_depth)
{
    return kt_read_kernel(db, &g_now, max_depth);
}

static char *token(const char *id, uint64_t ttl, const char *extra)
{
    char scope[256], *t;

    snprintf(scope, sizeof(scope),
             "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\","
             "\"operations\":[\"invoke\"]%s}]}",
             extra ? extra : "");
    t = tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB, scope, IAT, ttl, NULL, 0);
    cr_assert_not_null(t);
    return t;
}

static void open_n(chio_kernel *k, const char *const *toks, size_t n,
                   char sid[CHIO_SESSION_ID_LEN + 1])
{
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, toks, NULL, n, sid, &err), 0, "%s",
                 err.message);
}

/* One call: 0 and the decision code in *code, or the error. */
static int call(chio_kernel *k, const char *sid, const char *cap, const char *args, chio_code *code)
{
    chio_call c;
    chio_response r;
    chio_error err;
    int rc;

    kt_call_init(&c, sid, cap, "read", args);
    chio_error_init(&err);
    chio_response_init(&r);
    rc = chio_kernel_evaluate(k, &c, &r, &err);
    if (rc == 0 && code != NULL)
        *code = r.code;
    chio_response_destroy(&r);
    return rc;
}

static chio_code allowed(chio_kernel *k, const char *sid, const char *cap)
{
    chio_code code = CHIO_CODE_NONE;

    cr_assert_eq(call(k, sid, cap, "{}", &code), 0);
    return code;
}

/* ---- sessions ------------------------------------------------------------------------------ */

Test(reclaim, closed_sessions_leave_the_table_and_recent_ones_answer_closed)
{
    chio_kernel *k = kernel(CHIO_DEFAULT_MAX_DELEGATION_DEPTH);
    char *tok = token("cap-s", 1000, NULL), first[CHIO_SESSION_ID_LEN + 1],
         sid[CHIO_SESSION_ID_LEN + 1];
    const char *caps[1] = {tok};
    chio_session_state st;
    size_t i, n = CHIO__SESSION_TOMBSTONES + 10;
    chio_code code;

    open_n(k, caps, 1, first);
    cr_expect_eq(allowed(k, first, "cap-s"), CHIO_CODE_NONE);
    cr_assert_eq(chio_kernel_close_session(k, first, NULL), 0);
    cr_expect_eq(chio__session_count(k), 0);
    /* Recently closed: "closed", everywhere. */
    cr_expect_eq(call(k, first, "cap-s", "{}", &code), CHIO_ESESSION_CLOSED);
    cr_expect_eq(chio_kernel_session_state(k, first, &st), 0);
    cr_expect_eq(st, CHIO_SESSION_CLOSED);
    cr_expect_eq(chio_kernel_close_session(k, first, NULL), 0, "closing twice is a no-op");
    cr_expect_eq(chio_kernel_begin_draining_session(k, first, NULL), CHIO_ESESSION_CLOSED);
    for (i = 0; i < n; i++) {
        open_n(k, caps, 1, sid);
        cr_assert_eq(chio__session_count(k), 1, "open: one entry");
        cr_assert_eq(chio_kernel_close_session(k, sid, NULL), 0);
        cr_assert_eq(chio__session_count(k), 0, "closed: the table is empty again");
    }
    cr_expect_eq(chio__shmap_count(&k->med.closed), CHIO__SESSION_TOMBSTONES);
    /* The last one is still a tombstone; the first has been forgotten. */
    cr_expect_eq(chio_kernel_session_state(k, sid, &st), 0);
    cr_expect_eq(st, CHIO_SESSION_CLOSED);
    cr_expect_eq(call(k, sid, "cap-s", "{}", &code), CHIO_ESESSION_CLOSED);
    cr_expect_eq(chio_kernel_session_state(k, first, &st), CHIO_ENOSESSION);
    cr_expect_eq(call(k, first, "cap-s", "{}", &code), CHIO_ENOSESSION);
    cr_expect_eq(chio_kernel_close_session(k, first, NULL), CHIO_ENOSESSION);
    chio_kernel_free(k);
    free(tok);
}

typedef struct race {
    chio_kernel *k;
    char sid[CHIO_SESSION_ID_LEN + 1]; /* under mu */
    pthread_mutex_t mu;
    int stop;                         /* atomic */
    uint64_t calls, allowed, refused; /* atomic */
} race;

static void *racing_caller(void *arg)
{
    race *r = arg;
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_code code;
    int rc;

    while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
        pthread_mutex_lock(&r->mu);
        memcpy(sid, r->sid, sizeof(sid));
        pthread_mutex_unlock(&r->mu);
        rc = call(r->k, sid, "cap-r", "{}", &code);
        __atomic_add_fetch(&r->calls, 1, __ATOMIC_RELAXED);
        if (rc == 0) {
            cr_assert_eq(code, CHIO_CODE_NONE);
            __atomic_add_fetch(&r->allowed, 1, __ATOMIC_RELAXED);
        } else {
            cr_assert(rc == CHIO_ESESSION_CLOSED || rc == CHIO_ESESSION_DRAINING ||
                          rc == CHIO_ENOSESSION,
                      "unexpected %s", chio_err_name(rc));
            __atomic_add_fetch(&r->refused, 1, __ATOMIC_RELAXED);
        }
    }
    return NULL;
}

Test(reclaim, a_call_racing_close_never_uses_freed_memory)
{
    race r;
    char *tok = token("cap-r", 1000, NULL);
    const char *caps[1] = {tok};
    pthread_t th[3];
    size_t i;
    int rounds;

    memset(&r, 0, sizeof(r));
    pthread_mutex_init(&r.mu, NULL);
    r.k = kernel(CHIO_DEFAULT_MAX_DELEGATION_DEPTH);
    open_n(r.k, caps, 1, r.sid);
    for (i = 0; i < 3; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, racing_caller, &r), 0);
    for (rounds = 0; rounds < 300; rounds++) {
        char old[CHIO_SESSION_ID_LEN + 1], fresh[CHIO_SESSION_ID_LEN + 1];
        int rc;
        open_n(r.k, caps, 1, fresh);
        pthread_mutex_lock(&r.mu);
        memcpy(old, r.sid, sizeof(old));
        memcpy(r.sid, fresh, sizeof(fresh));
        pthread_mutex_unlock(&r.mu);
        /* Close while callers may be inside it or about to look it up. */
        {
            uint64_t seen = __atomic_load_n(&r.calls, __ATOMIC_RELAXED);
            while (__atomic_load_n(&r.calls, __ATOMIC_RELAXED) < seen + 3)
                sched_yield(); /* let the callers meet this session */
        }
        while ((rc = chio_kernel_close_session(r.k, old, NULL)) == CHIO_ESESSION_ACTIVE)
            sched_yield();
        cr_assert_eq(rc, 0);
    }
    __atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
    for (i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    cr_expect_gt(r.allowed, 0);
    cr_expect_eq(chio__session_count(r.k), 1, "only the last session is open");
    chio_kernel_free(r.k);
    pthread_mutex_destroy(&r.mu);
    free(tok);
}

/* ---- budgets ------------------------------------------------------------------------------- */

Test(reclaim, budgets_of_expired_capabilities_are_dropped)
{
    chio_kernel *k = kernel(CHIO_DEFAULT_MAX_DELEGATION_DEPTH);
    char *a = token("cap-a", 1000, ",\"max_invocations\":3"),
         *b = token("cap-b", 5000, ",\"max_invocations\":3"), sid[CHIO_SESSION_ID_LEN + 1];
    const char *caps[2] = {a, b};

    open_n(k, caps, 2, sid);
    cr_expect_eq(allowed(k, sid, "cap-a"), CHIO_CODE_NONE);
    cr_expect_eq(allowed(k, sid, "cap-b"), CHIO_CODE_NONE);
    cr_expect_eq(chio__shmap_count(&k->med.budgets), 2);
    /* Not yet: the last valid second of cap-a. */
    g_now = IAT + 999;
    cr_expect_eq(chio__reclaim_sweep(k, g_now, 1), 0);
    cr_expect_eq(chio__shmap_count(&k->med.budgets), 2);
    g_now = IAT + 1000; /* cap-a: now == expires_at, invalid from here on */
    cr_expect_eq(chio__reclaim_sweep(k, g_now, 1), 1);
    cr_expect_eq(chio__shmap_count(&k->med.budgets), 1, "cap-b's budget stays");
    cr_expect_eq(allowed(k, sid, "cap-a"), CHIO_CODE_CAPABILITY_EXPIRED);
    cr_expect_eq(chio__shmap_count(&k->med.budgets), 1, "an expired token creates none");
    /* cap-b keeps counting from where it was. */
    cr_expect_eq(allowed(k, sid, "cap-b"), CHIO_CODE_NONE);
    cr_expect_eq(allowed(k, sid, "cap-b"), CHIO_CODE_NONE);
    cr_expect_eq(allowed(k, sid, "cap-b"), CHIO_CODE_BUDGET_EXHAUSTED);
    /* The amortised sweep runs by itself once its period has passed and
     * the tables hold more than sweep_min_rows (here none may stay). */
    k->med.sweep_min_rows = 0;
    g_now = IAT + 5000 + CHIO__SWEEP_SECS + 1;
    cr_assert_eq(chio_kernel_close_session(k, sid, NULL), 0);
    cr_expect_eq(chio__shmap_count(&k->med.budgets), 0);
    chio_kernel_free(k);
    free(a);
    free(b);
}

/* Below CHIO__SWEEP_MIN_ROWS entries the amortised sweep drops nothing, so
 * a clock that steps back (a scenario whose `at` goes back in time) gets
 * kernel.md's answer on the clock alone: the token is valid again and its
 * budget counts on. The sweep dropped cap-a's budget when cap-b's was
 * created after cap-a's expiry, and then denied cap-a capability_expired
 * at a time when it was valid with a call left. Past the bound the sweep
 * runs as before (memory stays bounded). */
Test(reclaim, few_entries_are_kept_so_a_clock_stepping_back_answers_on_the_clock)
{
    chio_kernel *k = kernel(CHIO_DEFAULT_MAX_DELEGATION_DEPTH);
    char *a = token("cap-a", 1000, ",\"max_invocations\":2"),
         *b = token("cap-b", 9000, ",\"max_invocations\":3"),
         *c = token("cap-c", 9000, ",\"max_invocations\":3"), sid[CHIO_SESSION_ID_LEN + 1];
    const char *caps[3] = {a, b, c};

    open_n(k, caps, 3, sid);
    cr_expect_eq(allowed(k, sid, "cap-a"), CHIO_CODE_NONE);
    g_now = IAT + 2000 + CHIO__SWEEP_SECS; /* past cap-a's expiry and a sweep period */
    cr_expect_eq(allowed(k, sid, "cap-a"), CHIO_CODE_CAPABILITY_EXPIRED);
    cr_expect_eq(allowed(k, sid, "cap-b"), CHIO_CODE_NONE, "cap-b's budget is created");
    cr_expect_eq(chio__shmap_count(&k->med.budgets), 2, "cap-a's budget is kept");
    g_now = NOW; /* the clock steps back */
    cr_expect_eq(allowed(k, sid, "cap-a"), CHIO_CODE_NONE, "valid again, one call left");
    cr_expect_eq(allowed(k, sid, "cap-a"), CHIO_CODE_BUDGET_EXHAUSTED);
    /* Past the bound the sweep drops the expired budget, and from then on
     * the floor refuses cap-a whatever the clock says. */
    k->med.sweep_min_rows = 1;
    g_now = IAT + 4000 + 2 * CHIO__SWEEP_SECS;
    cr_expect_eq(allowed(k, sid, "cap-c"), CHIO_CODE_NONE, "cap-c's budget is created");
    cr_expect_eq(chio__shmap_count(&k->med.budgets), 2, "cap-a's budget is dropped");
    g_now = NOW;
    cr_expect_eq(allowed(k, sid, "cap-a"), CHIO_CODE_CAPABILITY_EXPIRED);
    chio_kernel_free(k);
    free(a);
    free(b);
    free(c);
}

/* ---- persisted budgets ---------------------------------------------------------------------- */

/* The budget rows of a store: capability id (the key up to its NUL),
 * count and expiry (0: unknown, the 8-byte form). */
#define MAX_ROWS 8
typedef struct brow {
    char id[32];
    uint64_t count, expires_at;
} brow;
typedef struct brows {
    size_t n;
    brow r[MAX_ROWS];
} brows;

static int budget_row(void *ctx, const char *key, size_t klen, uint64_t count, uint64_t expires_at)
{
    brows *b = ctx;

    (void)klen;
    cr_assert_lt(b->n, MAX_ROWS);
    snprintf(b->r[b->n].id, sizeof(b->r[b->n].id), "%s", key); /* stops at the NUL */
    b->r[b->n].count = count;
    b->r[b->n].expires_at = expires_at;
    b->n++;
    return 0;
}

/* The rows of @s (a serving kernel's store: chio__kernel_store). */
static brows rows_of(chio_store *s)
{
    brows b;

    memset(&b, 0, sizeof(b));
    cr_assert_eq(chio__store_scan_budgets(s, budget_row, &b, NULL), 0);
    return b;
}

/* The rows of the store at db, with no kernel on it. */
static brows rows_at_rest(void)
{
    chio_store *s;
    brows b;

    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    b = rows_of(s);
    chio_store_close(s);
    return b;
}

static const brow *row(const brows *b, const char *id)
{
    size_t i;

    for (i = 0; i < b->n; i++)
        if (strcmp(b->r[i].id, id) == 0)
            return &b->r[i];
    return NULL;
}

/* Write an 8-byte row (the form of earlier versions) for @id's grant 0. */
static void put_old_row(const char *id, uint64_t count)
{
    chio__store_batch *wb = chio__store_batch_new();
    char key[64];
    size_t n = strlen(id);
    chio_store *s;

    cr_assert_not_null(wb);
    memset(key, 0, sizeof(key));
    memcpy(key, id, n); /* then NUL and grant index 0 (big-endian) */
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_WRITE, &s, NULL), 0);
    chio__store_batch_put_budget(wb, s, key, n + 5, count, 0);
    cr_assert_eq(chio__store_write(s, wb, 1, NULL), 0);
    chio__store_batch_free(wb);
    chio_store_close(s);
}

Test(reclaim, expired_budget_rows_leave_the_store_after_a_sweep_and_a_commit)
{
    chio_kernel *k = kernel(CHIO_DEFAULT_MAX_DELEGATION_DEPTH);
    char *a = token("cap-a", 1000, ",\"max_invocations\":3"),
         *b = token("cap-b", 5000, ",\"max_invocations\":3"), sid[CHIO_SESSION_ID_LEN + 1];
    const char *caps[2] = {a, b};
    brows r;

    open_n(k, caps, 2, sid);
    cr_expect_eq(allowed(k, sid, "cap-a"), CHIO_CODE_NONE);
    cr_expect_eq(allowed(k, sid, "cap-b"), CHIO_CODE_NONE);
    r = rows_of(chio__kernel_store(k));
    cr_assert_eq(r.n, 2);
    cr_assert_not_null(row(&r, "cap-a"));
    cr_expect_eq(row(&r, "cap-a")->count, 1);
    cr_expect_eq(row(&r, "cap-a")->expires_at, IAT + 1000, "the row carries the expiry");
    cr_expect_eq(row(&r, "cap-b")->expires_at, IAT + 5000);
    /* cap-a expires; the sweep drops its budget and hands the row's
     * deletion to the commit thread, which writes it with the next group
     * (a call returns once its group is written). */
    g_now = IAT + 1000;
    cr_expect_eq(chio__reclaim_sweep(k, g_now, 1), 1);
    cr_expect_eq(allowed(k, sid, "cap-b"), CHIO_CODE_NONE);
    r = rows_of(chio__kernel_store(k));
    cr_expect_eq(r.n, 1);
    cr_expect_null(row(&r, "cap-a"), "the expired budget's row left the store");
    cr_assert_not_null(row(&r, "cap-b"));
    cr_expect_eq(row(&r, "cap-b")->count, 2);
    cr_assert_eq(chio_kernel_drain(k, NULL), 0);
    chio_kernel_free(k);
    cr_expect_eq(rows_at_rest().n, 1);
    /* A restart with the clock past cap-b's expiry: not loaded, deleted. */
    g_now = IAT + 5000;
    k = kernel(CHIO_DEFAULT_MAX_DELEGATION_DEPTH);
    cr_assert_eq(chio_kernel_start(k, NULL), 0);
    cr_expect_eq(chio__shmap_count(&k->med.budgets), 0);
    cr_expect_eq(rows_of(chio__kernel_store(k)).n, 0, "deleted at start");
    chio_kernel_free(k);
    cr_expect_eq(rows_at_rest().n, 0);
    free(a);
    free(b);
}

Test(reclaim, a_live_budget_row_is_never_deleted_and_still_refuses_across_restart)
{
    chio_kernel *k = kernel(CHIO_DEFAULT_MAX_DELEGATION_DEPTH);
    char *live = token("cap-l", 5000, ",\"max_invocations\":2"),
         *gone = token("cap-x", 1000, ",\"max_invocations\":2"), sid[CHIO_SESSION_ID_LEN + 1];
    const char *caps[2] = {live, gone};
    const brow *l;
    brows r;

    open_n(k, caps, 2, sid);
    cr_expect_eq(allowed(k, sid, "cap-l"), CHIO_CODE_NONE);
    cr_expect_eq(allowed(k, sid, "cap-l"), CHIO_CODE_NONE);
    cr_expect_eq(allowed(k, sid, "cap-x"), CHIO_CODE_NONE);
    /* The last valid second of cap-l: sweeps and commits delete cap-x only. */
    g_now = IAT + 4999;
    cr_expect_eq(chio__reclaim_sweep(k, g_now, 1), 1);
    cr_expect_eq(allowed(k, sid, "cap-l"), CHIO_CODE_BUDGET_EXHAUSTED);
    cr_expect_eq(chio__reclaim_sweep(k, g_now, 1), 0);
    cr_expect_eq(allowed(k, sid, "cap-l"), CHIO_CODE_BUDGET_EXHAUSTED);
    r = rows_of(chio__kernel_store(k));
    cr_expect_eq(r.n, 1);
    cr_expect_null(row(&r, "cap-x"));
    l = row(&r, "cap-l");
    cr_assert_not_null(l, "a live budget's row is never deleted");
    cr_expect_eq(l->count, 2);
    cr_expect_eq(l->expires_at, IAT + 5000);
    cr_assert_eq(chio_kernel_drain(k, NULL), 0);
    chio_kernel_free(k);
    /* Restart still before the expiry: loaded (not deleted), still spent. */
    k = kernel(CHIO_DEFAULT_MAX_DELEGATION_DEPTH);
    open_n(k, caps, 1, sid);
    cr_expect_eq(allowed(k, sid, "cap-l"), CHIO_CODE_BUDGET_EXHAUSTED);
    chio__reclaim_sweep(k, g_now, 1);
    cr_expect_eq(allowed(k, sid, "cap-l"), CHIO_CODE_BUDGET_EXHAUSTED);
    r = rows_of(chio__kernel_store(k));
    cr_expect_eq(r.n, 1);
    cr_assert_not_null(row(&r, "cap-l"));
    cr_expect_eq(row(&r, "cap-l")->count, 2);
    chio_kernel_free(k);
    free(live);
    free(gone);
}

Test(reclaim, old_8_byte_budget_rows_still_load_and_are_kept)
{
    chio_kernel *k = kernel(CHIO_DEFAULT_MAX_DELEGATION_DEPTH);
    char *spent = token("cap-o", 1000, ",\"max_invocations\":2"),
         *up = token("cap-u", 1000, ",\"max_invocations\":3"), sid[CHIO_SESSION_ID_LEN + 1];
    const char *caps[2] = {spent, up};
    brows r;

    cr_assert_eq(chio_kernel_start(k, NULL), 0); /* creates the store */
    chio_kernel_free(k);
    put_old_row("cap-o", 2);
    put_old_row("cap-u", 1);
    r = rows_at_rest();
    cr_assert_eq(r.n, 2);
    cr_expect_eq(row(&r, "cap-o")->expires_at, 0, "the 8-byte form: no known expiry");

    k = kernel(CHIO_DEFAULT_MAX_DELEGATION_DEPTH);
    open_n(k, caps, 2, sid);
    cr_expect_eq(allowed(k, sid, "cap-o"), CHIO_CODE_BUDGET_EXHAUSTED, "the old count loaded");
    cr_expect_eq(allowed(k, sid, "cap-u"), CHIO_CODE_NONE);
    cr_expect_eq(allowed(k, sid, "cap-u"), CHIO_CODE_NONE);
    cr_expect_eq(allowed(k, sid, "cap-u"), CHIO_CODE_BUDGET_EXHAUSTED);
    r = rows_of(chio__kernel_store(k));
    cr_expect_eq(row(&r, "cap-o")->count, 2);
    cr_expect_eq(row(&r, "cap-o")->expires_at, 0, "not charged: still unknown");
    cr_expect_eq(row(&r, "cap-u")->count, 3);
    cr_expect_eq(row(&r, "cap-u")->expires_at, IAT + 1000, "a charge writes the expiry");
    cr_assert_eq(chio_kernel_drain(k, NULL), 0);
    chio_kernel_free(k);

    /* Past both tokens' expiry: cap-u's row (expiry known) is deleted at
     * start, cap-o's (unknown) is kept and loaded. */
    g_now = IAT + 100000;
    k = kernel(CHIO_DEFAULT_MAX_DELEGATION_DEPTH);
    cr_assert_eq(chio_kernel_start(k, NULL), 0);
    cr_expect_eq(chio__shmap_count(&k->med.budgets), 1);
    chio__reclaim_sweep(k, g_now, 1);
    cr_expect_eq(chio__shmap_count(&k->med.budgets), 1, "no known expiry: kept");
    chio_kernel_free(k);
    r = rows_at_rest();
    cr_expect_eq(r.n, 1);
    cr_assert_not_null(row(&r, "cap-o"));
    cr_expect_eq(row(&r, "cap-o")->count, 2);
    free(spent);
    free(up);
}

/* ---- revocations ---------------------------------------------------------------------------- */

typedef struct rec {
    int n;
    int with_expiry;
} rec;

static int count_record(void *ctx, const char *id, size_t len, const char *value, size_t vlen)
{
    rec *r = ctx;

    (void)id;
    (void)len;
    r->n++;
    if (memmem(value, vlen, "\"expires_at\":", 13) != NULL)
        r->with_expiry++;
    return 0;
}

static rec stored(void)
{
    chio_store *s;
    rec r = {0, 0};

    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_assert_eq(chio__store_scan_revocation_records(s, count_record, &r, NULL), 0);
    chio_store_close(s);
    return r;
}

static void revoke_id(chio_kernel *k, const char *id)
{
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_revoke_capability(k, id, &err), 0, "%s", err.message);
}

/* Review 29: a revocation is never dropped, whatever the kernel's
 * delegation depth and however long ago its held tokens expired (an
 * earlier version dropped it then in a kernel refusing delegation, and a
 * later token with the id was allowed: rev29_authz). A row an earlier
 * version stored with a bound is kept too. */
Test(reclaim, revocations_are_kept_after_their_tokens_expire)
{
    static const char old_row[] = "{\"revoked_at\":1710000000,\"expires_at\":1710000500}";
    chio_kernel *k = kernel(0);
    char *a = token("cap-a", 1000, NULL), *b = token("cap-b", 5000, NULL),
         sid[CHIO_SESSION_ID_LEN + 1];
    const char *caps[2] = {a, b};
    rec r;

    open_n(k, caps, 2, sid);
    revoke_id(k, "cap-a");
    revoke_id(k, "cap-b");
    revoke_id(k, "cap-c"); /* held by no session */
    cr_expect_eq(allowed(k, sid, "cap-a"), CHIO_CODE_CAPABILITY_REVOKED);
    g_now = IAT + 6000; /* every held token expired */
    chio__reclaim_sweep(k, g_now, 1);
    cr_expect_eq(chio_kernel_is_revoked(k, "cap-a"), 1);
    cr_expect_eq(chio_kernel_is_revoked(k, "cap-b"), 1);
    cr_expect_eq(chio_kernel_is_revoked(k, "cap-c"), 1);
    cr_expect_eq(allowed(k, sid, "cap-a"), CHIO_CODE_CAPABILITY_EXPIRED, "check 2 first");
    cr_expect_eq(k->nrevocations, 3);
    chio_kernel_free(k);
    r = stored();
    cr_expect_eq(r.n, 3, "every record stays");
    cr_expect_eq(r.with_expiry, 0, "records carry no bound");

    /* Restarted far later, without delegation: every record loads, and so
     * does one an earlier version wrote with a bound long past. */
    testutil_raw_write(db, "revocations", "cap-old", 7, old_row, sizeof(old_row) - 1);
    g_now = IAT + 100000;
    k = kernel(0);
    cr_assert_eq(chio_kernel_start(k, NULL), 0);
    chio__reclaim_sweep(k, g_now, 1);
    cr_expect_eq(chio_kernel_is_revoked(k, "cap-b"), 1);
    cr_expect_eq(chio_kernel_is_revoked(k, "cap-old"), 1, "an old bounded row is kept");
    cr_expect_eq(k->nrevocations, 4);
    chio_kernel_free(k);
    cr_expect_eq(stored().n, 4);
    free(a);
    free(b);
}

/* The kernel clock is the wall clock, which can step back. A budget
 * dropped because its token had expired must not come back to life when
 * the clock then reads a time before that expiry: the token stays expired
 * (not with a fresh budget). A revocation is never dropped (the revoked
 * token is refused by the same floor first). */
Test(reclaim, a_clock_stepping_back_never_revives_what_was_dropped)
{
    chio_kernel *k = kernel(0);
    char *a = token("cap-a", 1000, NULL), *b = token("cap-b", 1000, ",\"max_invocations\":1"),
         *c = token("cap-c", 5000, ",\"max_invocations\":1"), sid[CHIO_SESSION_ID_LEN + 1];
    const char *caps[3] = {a, b, c};

    open_n(k, caps, 3, sid);
    revoke_id(k, "cap-a");
    cr_expect_eq(allowed(k, sid, "cap-a"), CHIO_CODE_CAPABILITY_REVOKED);
    cr_expect_eq(allowed(k, sid, "cap-b"), CHIO_CODE_NONE);
    cr_expect_eq(allowed(k, sid, "cap-b"), CHIO_CODE_BUDGET_EXHAUSTED);
    cr_expect_eq(allowed(k, sid, "cap-c"), CHIO_CODE_NONE);
    g_now = IAT + 1000; /* cap-a and cap-b expire: cap-b's budget goes */
    cr_expect_eq(chio__reclaim_sweep(k, g_now, 1), 1);
    cr_expect_eq(chio_kernel_is_revoked(k, "cap-a"), 1);
    g_now = NOW; /* the clock steps back */
    cr_expect_eq(allowed(k, sid, "cap-a"), CHIO_CODE_CAPABILITY_EXPIRED,
                 "the floor (check 2) answers before the revocation (check 3)");
    cr_expect_eq(allowed(k, sid, "cap-b"), CHIO_CODE_CAPABILITY_EXPIRED, "a fresh budget");
    /* A token whose state was kept is judged by the clock as before. */
    cr_expect_eq(allowed(k, sid, "cap-c"), CHIO_CODE_BUDGET_EXHAUSTED);
    chio_kernel_free(k);
    free(a);
    free(b);
    free(c);
}

/* The floor outlives the process: the rows a sweep deleted are gone from
 * the store, so a kernel restarted with the clock stepped back must still
 * refuse their tokens (from the floor the store kept), and a token whose
 * state was kept is judged as before. */
Test(reclaim, a_restart_with_the_clock_stepped_back_keeps_the_floor)
{
    chio_kernel *k = kernel(0);
    char *a = token("cap-a", 1000, NULL), *b = token("cap-b", 1000, ",\"max_invocations\":1"),
         *c = token("cap-c", 5000, ",\"max_invocations\":1"), sid[CHIO_SESSION_ID_LEN + 1];
    const char *caps[3] = {a, b, c};
    chio_store *s;
    uint64_t floor = 0;
    brows r;

    open_n(k, caps, 3, sid);
    revoke_id(k, "cap-a");
    cr_expect_eq(allowed(k, sid, "cap-b"), CHIO_CODE_NONE);
    cr_expect_eq(allowed(k, sid, "cap-c"), CHIO_CODE_NONE);
    g_now = IAT + 1000; /* cap-a and cap-b expire: cap-b's budget row goes */
    cr_expect_eq(chio__reclaim_sweep(k, g_now, 1), 1);
    cr_expect_eq(allowed(k, sid, "cap-c"), CHIO_CODE_BUDGET_EXHAUSTED); /* commits the deletes */
    cr_assert_eq(chio_kernel_drain(k, NULL), 0);
    chio_kernel_free(k);
    cr_expect_eq(stored().n, 1, "the revocation row stays");
    r = rows_at_rest();
    cr_expect_null(row(&r, "cap-b"), "the budget row was deleted");
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_expect_eq(chio__store_get_meta_u64(s, CHIO__META_EXPIRED_FLOOR, &floor, NULL), 0);
    cr_expect_eq(floor, IAT + 1000, "the floor is in the store");
    chio_store_close(s);

    g_now = NOW; /* the clock steps back across a restart */
    k = kernel(0);
    open_n(k, caps, 3, sid);
    cr_expect_eq(allowed(k, sid, "cap-a"), CHIO_CODE_CAPABILITY_EXPIRED,
                 "the floor (check 2) answers before the revocation (check 3)");
    cr_expect_eq(allowed(k, sid, "cap-b"), CHIO_CODE_CAPABILITY_EXPIRED, "a fresh budget");
    cr_expect_eq(allowed(k, sid, "cap-c"), CHIO_CODE_BUDGET_EXHAUSTED);
    chio_kernel_free(k);
    free(a);
    free(b);
    free(c);
}

/* A revocation row stays in the store as long as the revocation stays in
 * memory: for good, also past every held token's expiry and a restart
 * (review 29; issue 11 had both leave once those tokens expired). */
Test(reclaim, revocation_rows_stay_in_the_store)
{
    chio_kernel *k = kernel(0);
    char *a = token("cap-a", 1000, NULL), sid[CHIO_SESSION_ID_LEN + 1];
    const char *caps[1] = {a};
    rec r;

    open_n(k, caps, 1, sid);
    revoke_id(k, "cap-a");
    g_now = IAT + 1000;
    chio__reclaim_sweep(k, g_now, 1);
    cr_expect_eq(chio_kernel_is_revoked(k, "cap-a"), 1);
    r = (rec){0, 0};
    cr_assert_eq(chio__store_scan_revocation_records(chio__kernel_store(k), count_record, &r, NULL),
                 0);
    cr_expect_eq(r.n, 1, "kept in memory, kept in the store");
    cr_expect_eq(r.with_expiry, 0);
    chio_kernel_free(k);
    g_now = IAT + 100000;
    k = kernel(0);
    cr_assert_eq(chio_kernel_start(k, NULL), 0);
    cr_expect_eq(chio_kernel_is_revoked(k, "cap-a"), 1);
    chio_kernel_free(k);
    cr_expect_eq(stored().n, 1);
    free(a);
}

Test(reclaim, with_delegation_allowed_revocations_carry_no_bound)
{
    chio_kernel *k = kernel(CHIO_DEFAULT_MAX_DELEGATION_DEPTH);
    char *a = token("cap-a", 1000, NULL), sid[CHIO_SESSION_ID_LEN + 1];
    const char *caps[1] = {a};

    open_n(k, caps, 1, sid);
    revoke_id(k, "cap-a");
    g_now = IAT + 100000;
    chio__reclaim_sweep(k, g_now, 1);
    cr_expect_eq(chio_kernel_is_revoked(k, "cap-a"), 1);
    chio_kernel_free(k);
    cr_expect_eq(stored().n, 1);
    cr_expect_eq(stored().with_expiry, 0);
    free(a);
}

Test(reclaim, is_revoked_refuses_null)
{
    chio_kernel *k = kernel(CHIO_DEFAULT_MAX_DELEGATION_DEPTH);

    cr_expect_eq(chio_kernel_is_revoked(k, NULL), CHIO_EINVAL);
    cr_expect_eq(chio_kernel_is_revoked(NULL, "cap-a"), CHIO_EINVAL);
    cr_expect_eq(chio_kernel_is_revoked(k, "cap-a"), 0);
    chio_kernel_free(k);
}

/* ---- bounded maps ---------------------------------------------------------------------------- */

static void key_of(char *buf, size_t cap, const char *kind, unsigned i)
{
    snprintf(buf, cap, "%s-%u", kind, i);
}

Test(reclaim, a_bounded_map_evicts_and_keeps_serving_the_hot_set)
{
    chio__shmap m;
    char key[32];
    unsigned i, hot = 256, cold = 50000, hits = 0, lookups = 0;

    cr_assert_eq(chio__shmap_init(&m, 64 * CHIO__SHMAP_SHARDS, NULL), 0);
    for (i = 0; i < hot; i++) {
        key_of(key, sizeof(key), "hot", i);
        cr_assert_not_null(
            chio__shmap_put_if_absent(&m, key, strlen(key), (void *)(uintptr_t)(i + 1)));
    }
    for (i = 0; i < cold; i++) {
        void *v;
        key_of(key, sizeof(key), "cold", i);
        cr_assert_not_null(chio__shmap_put_if_absent(&m, key, strlen(key), (void *)1));
        key_of(key, sizeof(key), "hot", i % hot);
        v = chio__shmap_get(&m, key, strlen(key));
        lookups++;
        if (v != NULL) {
            cr_assert_eq((uintptr_t)v, i % hot + 1);
            hits++;
        } else {
            chio__shmap_put_if_absent(&m, key, strlen(key), (void *)(uintptr_t)(i % hot + 1));
        }
    }
    cr_expect_leq(chio__shmap_count(&m), 64 * CHIO__SHMAP_SHARDS, "bounded");
    cr_expect_geq(hits * 100, lookups * 99, "hot hit rate %u/%u", hits, lookups);
    /* remove and sweep */
    key_of(key, sizeof(key), "hot", 0);
    cr_expect_eq((uintptr_t)chio__shmap_remove(&m, key, strlen(key), NULL), 1);
    cr_expect_null(chio__shmap_get(&m, key, strlen(key)));
    chio__shmap_destroy(&m);
}

static int drop_odd(void *ctx, const void *key, size_t klen, void *value)
{
    (void)ctx;
    (void)key;
    (void)klen;
    return ((uintptr_t)value & 1u) != 0;
}

Test(reclaim, sweep_and_remove_leave_the_rest)
{
    chio__shmap m;
    char key[32];
    unsigned i;

    cr_assert_eq(chio__shmap_init(&m, 0, NULL), 0);
    for (i = 1; i <= 1000; i++) {
        key_of(key, sizeof(key), "k", i);
        cr_assert_not_null(chio__shmap_put_if_absent(&m, key, strlen(key), (void *)(uintptr_t)i));
    }
    cr_expect_eq(chio__shmap_sweep(&m, drop_odd, NULL), 500);
    cr_expect_eq(chio__shmap_count(&m), 500);
    key_of(key, sizeof(key), "k", 2);
    cr_expect_null(chio__shmap_remove(&m, key, strlen(key), (void *)3), "value must match");
    cr_expect_eq((uintptr_t)chio__shmap_remove(&m, key, strlen(key), (void *)2), 2);
    for (i = 1; i <= 1000; i++) {
        void *v;
        key_of(key, sizeof(key), "k", i);
        v = chio__shmap_get(&m, key, strlen(key));
        cr_expect_eq((uintptr_t)v, (i & 1u) || i == 2 ? 0 : i);
    }
    chio__shmap_destroy(&m);
}

Test(reclaim, the_pattern_cache_is_bounded_and_keeps_matching)
{
    chio_kernel *k = kernel(CHIO_DEFAULT_MAX_DELEGATION_DEPTH);
    char *t = token("cap-re", 1000,
                    ",\"constraints\":[{\"type\":\"regex_match\",\"value\":\"^ab+c$\"}]"),
         sid[CHIO_SESSION_ID_LEN + 1];
    const char *caps[1] = {t};
    chio_code code;
    size_t i;

    /* Fill the cache with other patterns (compiled through the same path). */
    for (i = 0; i < CHIO__REGEX_CACHE_MAX + 500; i++) {
        char pat[32];
        chio__regex *r = calloc(1, sizeof(*r));
        cr_assert_not_null(r);
        snprintf(pat, sizeof(pat), "^x%zu$", i);
        r->err = chio__nfa_compile(pat, &r->nfa);
        r->refs = 1;
        if (chio__shmap_put_if_absent(&k->med.regexes, pat, strlen(pat), r) != r)
            chio__regex_free(r);
    }
    cr_expect_leq(chio__shmap_count(&k->med.regexes), CHIO__REGEX_CACHE_MAX);
    open_n(k, caps, 1, sid);
    cr_assert_eq(call(k, sid, "cap-re", "{\"p\":\"abbc\"}", &code), 0);
    cr_expect_eq(code, CHIO_CODE_NONE);
    cr_assert_eq(call(k, sid, "cap-re", "{\"p\":\"abd\"}", &code), 0);
    cr_expect_eq(code, CHIO_CODE_CONSTRAINT_VIOLATED);
    cr_expect_leq(chio__shmap_count(&k->med.regexes), CHIO__REGEX_CACHE_MAX);
    chio_kernel_free(k);
    free(t);
}
