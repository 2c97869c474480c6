/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/scenarios.c - see scenarios.h. Plain C: CHECK records the
 * first failed condition in `msg` and jumps to the cleanup label.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/scenarios.h"
#include "kernel_internal.h" /* chio__kernel_slow_commits, in-flight high water */

#define CHECK(cond, ...)                        \
    do {                                        \
        if (!(cond)) {                          \
            snprintf(msg, SC_MSG, __VA_ARGS__); \
            rc = -1;                            \
            goto out;                           \
        }                                       \
    } while (0)

/* Tests that expect errors log them; keep the test output readable. */
static void quiet(void *ctx, chio_log_level level, const char *json, size_t len)
{
    (void)ctx;
    (void)level;
    (void)json;
    (void)len;
}

int sc_fail(char *msg, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, SC_MSG, fmt, ap);
    va_end(ap);
    return -1;
}

uint64_t sc_fixed_clock(void *ctx)
{
    (void)ctx;
    return SC_NOW;
}

int sc_config(chio_kernel_config *cfg, const char *path)
{
    chio_keypair *kp;

    chio_kernel_config_init(cfg);
    if (chio_keypair_from_seed_hex(SC_SEED, 64, &kp, NULL) != 0)
        return -1;
    cfg->keypair = kp;
    cfg->policy_hash = "policy-test-v1";
    cfg->receipt_store_path = path;
    cfg->ephemeral_store = path == NULL;
    cfg->log_level = CHIO_LOG_WARN;
    cfg->log = quiet;
    return 0;
}

chio_receipt_builder *sc_builder(uint64_t n)
{
    chio_receipt_builder *b;
    char params[96];

    if (chio_receipt_builder_new(&b) != 0)
        return NULL;
    snprintf(params, sizeof(params), "{\"path\":\"/workspace/file-%llu\"}", (unsigned long long)n);
    if (chio_receipt_builder_set_capability_id(b, "cap-test") != 0 ||
        chio_receipt_builder_set_tool(b, "srv-files", "file_read") != 0 ||
        chio_receipt_builder_set_parameters(b, params, strlen(params), NULL) != 0 ||
        chio_receipt_builder_set_decision(b, CHIO_VERDICT_ALLOW, NULL, NULL) != 0) {
        chio_receipt_builder_free(b);
        return NULL;
    }
    return b;
}

static chio_kernel *make_kernel(chio_kernel_config *cfg, char *msg)
{
    chio_kernel *k = NULL;
    chio_error err;

    chio_error_init(&err);
    if (chio_kernel_new(cfg, &k, &err) != 0) {
        snprintf(msg, SC_MSG, "chio_kernel_new: %s", err.message);
        return NULL;
    }
    return k;
}

/* ---- checking a stored log --------------------------------------------------------- */

typedef struct range {
    uint64_t seq, start, end;
    uint8_t root[32];
} range;

typedef struct log_scan {
    char *msg;
    uint64_t expect, count, first;
    uint8_t key[32];
    range *cps;
    size_t ncps, cur;
    char prev[65];
    uint8_t *leaves;
    size_t nleaves, capleaves;
} log_scan;

static int scan_fail(log_scan *st, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(st->msg, SC_MSG, fmt, ap);
    va_end(ap);
    return -1;
}

static int visit_checkpoint(void *ctx, uint64_t cseq, const char *json, size_t len)
{
    log_scan *st = ctx;
    chio_checkpoint *cp = NULL;
    range *r;
    int bad = 0;

    if (chio_checkpoint_parse(json, len, &cp, NULL) != 0)
        return scan_fail(st, "checkpoint %llu does not parse", (unsigned long long)cseq);
    if (chio_checkpoint_verify(cp) != 0)
        bad = scan_fail(st, "checkpoint %llu does not verify", (unsigned long long)cseq);
    else if (chio_checkpoint_seq(cp) != cseq || cseq != st->ncps + 1)
        bad = scan_fail(st, "checkpoint sequence %llu out of order", (unsigned long long)cseq);
    else if (strcmp(chio_checkpoint_kernel_key_hex(cp), SC_PUB) != 0)
        bad = scan_fail(st, "checkpoint %llu signed by another key", (unsigned long long)cseq);
    else if (st->ncps == 0 &&
             (chio_checkpoint_previous_sha256(cp) != NULL || chio_checkpoint_batch_start(cp) != 1))
        bad = scan_fail(st, "first checkpoint must start at 1 with no previous");
    else if (st->ncps > 0 && (chio_checkpoint_previous_sha256(cp) == NULL ||
                              strcmp(chio_checkpoint_previous_sha256(cp), st->prev) != 0 ||
                              chio_checkpoint_batch_start(cp) != st->cps[st->ncps - 1].end + 1))
        bad = scan_fail(st, "checkpoint chain broken at %llu", (unsigned long long)cseq);
    if (bad) {
        chio_checkpoint_free(cp);
        return -1;
    }
    memcpy(st->prev, chio_checkpoint_body_sha256(cp), 65);
    r = realloc(st->cps, (st->ncps + 1) * sizeof(range));
    if (r == NULL) {
        chio_checkpoint_free(cp);
        return scan_fail(st, "out of memory");
    }
    st->cps = r;
    r = &st->cps[st->ncps++];
    r->seq = cseq;
    r->start = chio_checkpoint_batch_start(cp);
    r->end = chio_checkpoint_batch_end(cp);
    memcpy(r->root, chio_checkpoint_merkle_root(cp), 32);
    chio_checkpoint_free(cp);
    return 0;
}

static int visit_receipt(void *ctx, uint64_t seq, const char *json, size_t len)
{
    log_scan *st = ctx;
    chio_receipt *r = NULL;
    chio_receipt_report rep;
    uint8_t leaf[32];
    int ok;

    if (seq != st->expect)
        return scan_fail(st, "gap or duplicate: expected seq %llu, found %llu",
                         (unsigned long long)st->expect, (unsigned long long)seq);
    if (st->count == 0)
        st->first = seq;
    st->expect = seq + 1;
    st->count++;
    if (chio_receipt_parse(json, len, &r, NULL) != 0)
        return scan_fail(st, "receipt %llu does not parse", (unsigned long long)seq);
    ok = chio_receipt_verify(r, st->key, 1, &rep) == 0 && rep.ok;
    chio_receipt_free(r);
    if (!ok)
        return scan_fail(st, "receipt %llu does not verify", (unsigned long long)seq);
    if (chio_merkle_leaf_hash(json, len, leaf) != 0)
        return scan_fail(st, "hashing failed");
    if (st->cur < st->ncps && seq >= st->cps[st->cur].start) {
        if (st->nleaves == st->capleaves) {
            size_t cap = st->capleaves ? st->capleaves * 2 : 256;
            uint8_t *p = realloc(st->leaves, cap * 32);
            if (p == NULL)
                return scan_fail(st, "out of memory");
            st->leaves = p;
            st->capleaves = cap;
        }
        memcpy(st->leaves + 32 * st->nleaves++, leaf, 32);
        if (seq == st->cps[st->cur].end) {
            uint8_t root[32];
            if (chio_merkle_root(st->leaves, st->nleaves, root) != 0 ||
                memcmp(root, st->cps[st->cur].root, 32) != 0)
                return scan_fail(st, "checkpoint %llu: Merkle root differs",
                                 (unsigned long long)st->cps[st->cur].seq);
            st->nleaves = 0;
            st->cur++;
        }
    }
    return 0;
}

int sc_check_log_owed(const char *path, uint64_t batch_size, uint64_t max_owed, sc_log_report *rep,
                      char *msg)
{
    chio_store *s = NULL;
    chio_error err;
    log_scan st;
    size_t i;
    int rc = 0;

    memset(&st, 0, sizeof(st));
    memset(rep, 0, sizeof(*rep));
    st.msg = msg;
    st.expect = 1;
    chio_pubkey_from_hex(SC_PUB, 64, st.key);
    chio_error_init(&err);
    CHECK(chio_store_open(path, CHIO_STORE_READ_ONLY, &s, &err) == 0, "open %s: %s", path,
          err.message);
    if (chio_store_scan_checkpoints(s, 1, visit_checkpoint, &st, &err) != 0 ||
        chio_store_scan(s, 1, visit_receipt, &st, &err) != 0) {
        rc = -1;
        goto out;
    }
    CHECK(st.cur == st.ncps, "checkpoint %zu covers receipts that are missing", st.cur + 1);
    if (batch_size > 0) {
        CHECK(st.ncps <= st.count / batch_size && st.count / batch_size - st.ncps <= max_owed,
              "%zu checkpoints for %llu receipts (at most %llu owed)", st.ncps,
              (unsigned long long)st.count, (unsigned long long)max_owed);
        for (i = 0; i < st.ncps; i++)
            CHECK(st.cps[i].end - st.cps[i].start + 1 == batch_size,
                  "checkpoint %zu has the wrong size", i + 1);
    }
    rep->receipts = st.count;
    rep->first = st.first;
    rep->last = st.expect - 1;
    rep->checkpoints = st.ncps;
out:
    free(st.cps);
    free(st.leaves);
    chio_store_close(s);
    return rc;
}

/* ---- callers ------------------------------------------------------------------------ */

typedef struct counter {
    pthread_mutex_t mu;
    int calls, ok;
} counter;

static void count_done(void *ctx, int rc, chio_receipt *r)
{
    counter *c = ctx;
    uint8_t key[32];
    chio_receipt_report rep;
    int good = 0;

    chio_pubkey_from_hex(SC_PUB, 64, key);
    if (rc == 0 && r != NULL && chio_receipt_verify(r, key, 1, &rep) == 0 && rep.ok)
        good = 1;
    chio_receipt_free(r);
    pthread_mutex_lock(&c->mu);
    c->calls++;
    c->ok += good;
    pthread_mutex_unlock(&c->mu);
}

typedef struct worker {
    chio_kernel *k;
    counter *async;
    int index, calls, async_every;
    int ok, failed, queued;
    char **ids;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    chio_receipt *r;
    int i;

    for (i = 0; i < w->calls; i++) {
        uint64_t n = (uint64_t)w->index * 1000000u + (uint64_t)i;
        chio_receipt_builder *b = sc_builder(n);
        if (b == NULL) {
            w->failed++;
            continue;
        }
        if (w->async_every > 0 && i % w->async_every == w->async_every - 1) {
            if (chio_kernel_sign_receipt_async(w->k, b, count_done, w->async, NULL) != 0)
                w->failed++;
            else
                w->queued++;
            continue;
        }
        if (chio_kernel_sign_receipt(w->k, b, &r, NULL) != 0) {
            w->failed++;
            continue;
        }
        if (w->ids != NULL)
            w->ids[w->ok] = strdup(chio_receipt_id(r));
        w->ok++;
        chio_receipt_free(r);
    }
    return NULL;
}

#define STRESS_THREADS 64

int sc_stress(const char *dir, int calls_per_thread, char *msg)
{
    pthread_t t[STRESS_THREADS];
    worker w[STRESS_THREADS];
    counter async = {PTHREAD_MUTEX_INITIALIZER, 0, 0};
    chio_kernel_config cfg;
    chio_kernel *k = NULL;
    chio_kernel_metrics m;
    chio_store *s = NULL;
    sc_log_report rep;
    char path[1024];
    uint64_t total = (uint64_t)STRESS_THREADS * (uint64_t)calls_per_thread, seq;
    int i, j, rc = 0, started = 0, sync_ok = 0, queued = 0;

    memset(w, 0, sizeof(w));
    snprintf(path, sizeof(path), "%s/stress-db", dir);
    CHECK(sc_config(&cfg, path) == 0, "config");
    cfg.signer_threads = 2;
    cfg.checkpoint_batch_size = 100;
    cfg.durability = CHIO_DURABILITY_SYNC;
    k = make_kernel(&cfg, msg);
    if (k == NULL) { /* make_kernel wrote msg */
        rc = -1;
        goto out;
    }
    for (i = 0; i < STRESS_THREADS; i++) {
        w[i] = (worker){k,
                        &async,
                        i,
                        calls_per_thread,
                        10,
                        0,
                        0,
                        0,
                        calloc((size_t)calls_per_thread, sizeof(char *))};
        CHECK(pthread_create(&t[i], NULL, work, &w[i]) == 0, "pthread_create");
        started++;
    }
    for (i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    started = 0;
    for (i = 0; i < STRESS_THREADS; i++) {
        CHECK(w[i].failed == 0, "thread %d: %d calls failed", i, w[i].failed);
        sync_ok += w[i].ok;
        queued += w[i].queued;
    }
    CHECK(chio_kernel_drain(k, NULL) == 0, "drain failed");
    CHECK(async.calls == queued && async.ok == queued, "%d of %d asynchronous calls completed",
          async.ok, queued);
    chio_kernel_metrics_get(k, &m);
    CHECK((uint64_t)(sync_ok + queued) == total, "%d + %d calls of %llu", sync_ok, queued,
          (unsigned long long)total);
    CHECK(m.receipts_signed == total, "kernel signed %llu of %llu",
          (unsigned long long)m.receipts_signed, (unsigned long long)total);
    fprintf(stderr,
            "stress: %llu receipts from %d threads, %llu group commits (avg %.1f, max %llu), "
            "%llu checkpoints, ring high water %llu\n",
            (unsigned long long)m.receipts_signed, STRESS_THREADS, (unsigned long long)m.batches,
            m.avg_batch, (unsigned long long)m.max_batch, (unsigned long long)m.checkpoints,
            (unsigned long long)m.ring_high_water);
    chio_kernel_free(k);
    k = NULL;

    if (sc_check_log(path, 100, &rep, msg) != 0) {
        rc = -1;
        goto out;
    }
    CHECK(rep.receipts == total && rep.first == 1 && rep.last == total,
          "log holds %llu receipts %llu..%llu", (unsigned long long)rep.receipts,
          (unsigned long long)rep.first, (unsigned long long)rep.last);
    CHECK(rep.checkpoints == total / 100, "%llu checkpoints", (unsigned long long)rep.checkpoints);
    /* every synchronous caller's receipt is in the log under its id */
    CHECK(chio_store_open(path, CHIO_STORE_READ_ONLY, &s, NULL) == 0, "reopen");
    for (i = 0; i < STRESS_THREADS; i++)
        for (j = 0; j < w[i].ok; j++)
            CHECK(chio_store_find_receipt(s, w[i].ids[j], &seq, NULL) == 0 && seq >= 1 &&
                      seq <= total,
                  "receipt %s of thread %d is not in the log", w[i].ids[j], i);
out:
    for (i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    for (i = 0; i < STRESS_THREADS; i++) {
        for (j = 0; w[i].ids != NULL && j < w[i].ok; j++)
            free(w[i].ids[j]);
        free(w[i].ids);
    }
    chio_store_close(s);
    chio_kernel_free(k);
    return rc;
}

int sc_backpressure(const char *dir, char *msg)
{
    pthread_t t[16];
    worker w[16];
    chio_kernel_config cfg;
    chio_kernel *k = NULL;
    chio_kernel_metrics m;
    sc_log_report rep;
    char path[1024], *prom = NULL, want[96];
    int i, rc = 0, started = 0;

    snprintf(path, sizeof(path), "%s/backpressure-db", dir);
    CHECK(sc_config(&cfg, path) == 0, "config");
    cfg.ring_capacity = 2; /* one waiting request at a time */
    cfg.max_batch = 1;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.checkpoint_batch_size = 50;
    k = make_kernel(&cfg, msg);
    if (k == NULL) { /* make_kernel wrote msg */
        rc = -1;
        goto out;
    }
    for (i = 0; i < 16; i++) {
        w[i] = (worker){k, NULL, i, 50, 0, 0, 0, 0, NULL};
        CHECK(pthread_create(&t[i], NULL, work, &w[i]) == 0, "pthread_create");
        started++;
    }
    for (i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    started = 0;
    for (i = 0; i < 16; i++)
        CHECK(w[i].failed == 0, "thread %d: %d failures", i, w[i].failed);
    chio_kernel_metrics_get(k, &m);
    CHECK(m.blocking_episodes > 0, "callers never waited for ring space");
    CHECK(m.receipts_signed == 800, "signed %llu of 800", (unsigned long long)m.receipts_signed);
    CHECK(m.ring_high_water <= 1, "ring held %llu", (unsigned long long)m.ring_high_water);
    CHECK(chio_kernel_metrics_prometheus(k, &prom, NULL) == 0, "prometheus");
    snprintf(want, sizeof(want), "chio_signing_queue_block_total %llu\n",
             (unsigned long long)m.blocking_episodes);
    CHECK(strstr(prom, want) != NULL, "prometheus text lacks [%s]", want);
    CHECK(strstr(prom, "chio_receipts_signed_total 800\n") != NULL, "prometheus count");
    chio_kernel_free(k);
    k = NULL;
    if (sc_check_log(path, 50, &rep, msg) != 0) {
        rc = -1;
        goto out;
    }
    CHECK(rep.receipts == 800 && rep.checkpoints == 16, "log: %llu receipts, %llu checkpoints",
          (unsigned long long)rep.receipts, (unsigned long long)rep.checkpoints);
out:
    for (i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    chio_free(prom);
    chio_kernel_free(k);
    return rc;
}

int sc_async_drain(const char *dir, char *msg)
{
    counter c = {PTHREAD_MUTEX_INITIALIZER, 0, 0};
    chio_kernel_config cfg;
    chio_kernel *k = NULL;
    chio_receipt *r = NULL;
    sc_log_report rep;
    chio_error err;
    char path[1024];
    int i, rc = 0;

    snprintf(path, sizeof(path), "%s/async-db", dir);
    CHECK(sc_config(&cfg, path) == 0, "config");
    cfg.checkpoint_batch_size = 10;
    k = make_kernel(&cfg, msg);
    if (k == NULL) { /* make_kernel wrote msg */
        rc = -1;
        goto out;
    }
    chio_error_init(&err);
    for (i = 0; i < 500; i++)
        CHECK(chio_kernel_sign_receipt_async(k, sc_builder((uint64_t)i), count_done, &c, &err) == 0,
              "async %d: %s", i, err.message);
    CHECK(chio_kernel_drain(k, &err) == 0, "drain: %s", err.message);
    CHECK(c.calls == 500 && c.ok == 500, "%d callbacks, %d ok, before drain returned", c.calls,
          c.ok);
    CHECK(chio_kernel_sign_receipt(k, sc_builder(9999), &r, &err) == CHIO_EDRAINED && r == NULL,
          "a call after drain must get CHIO_EDRAINED");
    CHECK(chio_kernel_sign_receipt_async(k, sc_builder(9999), count_done, &c, &err) ==
              CHIO_EDRAINED,
          "an async call after drain must get CHIO_EDRAINED");
    CHECK(chio_kernel_start(k, &err) == CHIO_EDRAINED, "start after drain");
    CHECK(chio_kernel_drain(k, &err) == 0, "drain is idempotent");
    CHECK(c.calls == 500, "no callback for refused calls");
    chio_kernel_free(k);
    k = NULL;
    if (sc_check_log(path, 10, &rep, msg) != 0) {
        rc = -1;
        goto out;
    }
    CHECK(rep.receipts == 500 && rep.checkpoints == 50, "log: %llu receipts, %llu checkpoints",
          (unsigned long long)rep.receipts, (unsigned long long)rep.checkpoints);
out:
    chio_kernel_free(k);
    return rc;
}

typedef struct trier {
    chio_kernel *k;
    int eagain, ok, reused_ok, failed;
} trier;

static void *try_main(void *arg)
{
    trier *t = arg;
    chio_receipt *r;
    int i, rc;

    for (i = 0; i < 200; i++) {
        chio_receipt_builder *b = sc_builder((uint64_t)i);
        rc = chio_kernel_try_sign_receipt(t->k, b, &r, NULL);
        if (rc == CHIO_EAGAIN) {
            t->eagain++;
            /* consumed even so: a retry builds the receipt again */
            if (chio_kernel_sign_receipt(t->k, sc_builder((uint64_t)i), &r, NULL) == 0) {
                t->reused_ok++;
                chio_receipt_free(r);
            } else {
                t->failed++;
            }
        } else if (rc == 0) {
            t->ok++;
            chio_receipt_free(r);
        } else {
            t->failed++;
        }
    }
    return NULL;
}

int sc_try_sign(char *msg)
{
    pthread_t th[8];
    trier t[8];
    chio_kernel_config cfg;
    chio_kernel *k = NULL;
    chio_kernel_metrics m;
    int i, rc = 0, started = 0, eagain = 0, total = 0;

    CHECK(sc_config(&cfg, NULL) == 0, "config");
    cfg.ring_capacity = 2;
    cfg.max_batch = 1;
    k = make_kernel(&cfg, msg);
    if (k == NULL) { /* make_kernel wrote msg */
        rc = -1;
        goto out;
    }
    for (i = 0; i < 8; i++) {
        t[i] = (trier){k, 0, 0, 0, 0};
        CHECK(pthread_create(&th[i], NULL, try_main, &t[i]) == 0, "pthread_create");
        started++;
    }
    for (i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    started = 0;
    for (i = 0; i < 8; i++) {
        CHECK(t[i].failed == 0, "thread %d: %d failures", i, t[i].failed);
        eagain += t[i].eagain;
        total += t[i].ok + t[i].reused_ok;
    }
    CHECK(total == 1600, "%d of 1600 requests signed", total);
    CHECK(eagain > 0, "8 threads on a one-slot ring never saw CHIO_EAGAIN");
    chio_kernel_metrics_get(k, &m);
    CHECK(m.receipts_signed == 1600, "kernel signed %llu", (unsigned long long)m.receipts_signed);
out:
    for (i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    chio_kernel_free(k);
    return rc;
}

/* ---- the in-flight credit budget --------------------------------------------------------- */

typedef struct budget_run {
    chio_kernel *k;
    uint32_t cap;
    uint32_t *calls;    /* per request: callbacks run (atomic) */
    uint32_t over;      /* in-flight counts seen above the budget (atomic) */
    uint32_t failed;    /* callbacks with an error (atomic) */
    uint32_t submit_rc; /* first submission error (atomic) */
    int per_thread, first;
} budget_run;

typedef struct budget_thread {
    budget_run *run;
    int first;
} budget_thread;

typedef struct budget_req {
    budget_run *run;
    uint32_t *calls;
} budget_req;

static void budget_cb(void *ctx, int rc, chio_receipt *r)
{
    budget_req *q = ctx;

    /* Our own credit is still held: the count can be at most the budget. */
    if (chio_kernel_in_flight(q->run->k) > q->run->cap)
        __atomic_add_fetch(&q->run->over, 1, __ATOMIC_RELAXED);
    if (rc != 0)
        __atomic_add_fetch(&q->run->failed, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(q->calls, 1, __ATOMIC_RELAXED);
    chio_receipt_free(r);
    free(q);
}

static void *budget_main(void *arg)
{
    budget_thread *t = arg;
    budget_run *run = t->run;
    int i, rc;

    for (i = 0; i < run->per_thread; i++) {
        int n = t->first + i;
        budget_req *q = malloc(sizeof(*q));
        if (q == NULL) {
            __atomic_store_n(&run->submit_rc, (uint32_t)-CHIO_ENOMEM, __ATOMIC_RELAXED);
            break;
        }
        q->run = run;
        q->calls = &run->calls[n];
        rc = chio_kernel_sign_receipt_async(run->k, sc_builder((uint64_t)n), budget_cb, q, NULL);
        if (rc != 0) {
            free(q);
            __atomic_store_n(&run->submit_rc, (uint32_t)-rc, __ATOMIC_RELAXED);
            break;
        }
        if (chio_kernel_in_flight(run->k) > run->cap)
            __atomic_add_fetch(&run->over, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

int sc_credit_budget(char *msg)
{
    enum { THREADS = 4, CAP = 16, TOTAL = 100 * CAP };
    pthread_t th[THREADS];
    budget_thread bt[THREADS];
    budget_run run;
    chio_kernel_config cfg;
    chio_kernel *k = NULL;
    chio_kernel_metrics m;
    int i, rc = 0, started = 0;
    uint32_t high;

    memset(&run, 0, sizeof(run));
    run.calls = calloc(TOTAL, sizeof(uint32_t));
    CHECK(run.calls != NULL, "out of memory");
    CHECK(sc_config(&cfg, NULL) == 0, "config");
    cfg.ring_capacity = CAP;
    cfg.max_batch = 4;
    cfg.signer_threads = 2;
    k = make_kernel(&cfg, msg);
    if (k == NULL) { /* make_kernel wrote msg */
        rc = -1;
        goto out;
    }
    CHECK(chio_kernel_start(k, NULL) == 0, "start");
    chio__kernel_slow_commits(k, 50); /* a slow disk: 50 us per receipt */
    run.k = k;
    run.cap = CAP;
    run.per_thread = TOTAL / THREADS;
    for (i = 0; i < THREADS; i++) {
        bt[i] = (budget_thread){&run, i * run.per_thread};
        CHECK(pthread_create(&th[i], NULL, budget_main, &bt[i]) == 0, "pthread_create");
        started++;
    }
    for (i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    started = 0;
    CHECK(run.submit_rc == 0, "a submission failed: %s", chio_strerror(-(int)run.submit_rc));
    CHECK(chio_kernel_drain(k, NULL) == 0, "drain");
    CHECK(chio_kernel_in_flight(k) == 0, "%llu still in flight after drain",
          (unsigned long long)chio_kernel_in_flight(k));
    high = chio__kernel_in_flight_high_water(k);
    CHECK(high <= CAP && high >= 2, "in-flight high water %u (budget %d)", high, CAP);
    CHECK(run.over == 0, "%u in-flight samples above the budget", run.over);
    CHECK(run.failed == 0, "%u callbacks with an error", run.failed);
    for (i = 0; i < TOTAL; i++)
        CHECK(run.calls[i] == 1, "request %d: %u callbacks", i, run.calls[i]);
    chio_kernel_metrics_get(k, &m);
    CHECK(m.receipts_signed == TOTAL && m.last_seq == TOTAL, "%llu signed, last seq %llu",
          (unsigned long long)m.receipts_signed, (unsigned long long)m.last_seq);
    CHECK(m.blocking_episodes > 0, "submitters never waited for a credit");
out:
    for (i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    chio_kernel_free(k);
    free(run.calls);
    return rc;
}

/* ---- callbacks that call the kernel again ------------------------------------------------ */

typedef struct reentry {
    chio_kernel *k;
    int sync_rc, try_rc, async_rc; /* what the calls from callback A returned */
    int wrong_thread;              /* a callback ran off the completion thread (atomic) */
    int a_done, b_done;            /* atomic */
} reentry;

static void note_thread(reentry *e)
{
    char name[32] = "";

    pthread_getname_np(pthread_self(), name, sizeof(name));
    if (strcmp(name, "chio-complete") != 0)
        __atomic_store_n(&e->wrong_thread, 1, __ATOMIC_RELAXED);
}

static void reentry_b(void *ctx, int rc, chio_receipt *r)
{
    reentry *e = ctx;

    note_thread(e);
    (void)rc;
    chio_receipt_free(r);
    __atomic_store_n(&e->b_done, rc == 0 ? 1 : 2, __ATOMIC_RELEASE);
}

static void reentry_a(void *ctx, int rc, chio_receipt *r)
{
    reentry *e = ctx;
    chio_receipt *got = NULL;

    note_thread(e);
    chio_receipt_free(r);
    /* Each would wait for this very thread: refused at once. */
    e->sync_rc = chio_kernel_sign_receipt(e->k, sc_builder(1), &got, NULL);
    chio_receipt_free(got);
    got = NULL;
    e->try_rc = chio_kernel_try_sign_receipt(e->k, sc_builder(2), &got, NULL);
    chio_receipt_free(got);
    /* Asynchronous work needs no wait: it works. */
    e->async_rc = chio_kernel_sign_receipt_async(e->k, sc_builder(3), reentry_b, e, NULL);
    __atomic_store_n(&e->a_done, rc == 0 ? 1 : 2, __ATOMIC_RELEASE);
}

/* Wait up to 10 s for *@flag; 1 when set. */
static int wait_flag(const int *flag)
{
    struct timespec nap = {0, 1000 * 1000};
    int i;

    for (i = 0; i < 10000; i++) {
        if (__atomic_load_n(flag, __ATOMIC_ACQUIRE))
            return 1;
        nanosleep(&nap, NULL);
    }
    return 0;
}

int sc_reentrant_callbacks(char *msg)
{
    chio_kernel_config cfg;
    chio_kernel *k = NULL;
    chio_kernel_metrics m;
    reentry e;
    int i, rc = 0, round, durable;

    for (round = 0; round < 2; round++) {
        durable = round == 1; /* quick commits, then synced (slow) ones */
        CHECK(sc_config(&cfg, NULL) == 0, "config");
        cfg.durability = durable ? CHIO_DURABILITY_SYNC : CHIO_DURABILITY_NOSYNC;
        k = make_kernel(&cfg, msg);
        if (k == NULL) { /* make_kernel wrote msg */
            rc = -1;
            goto out;
        }
        if (durable)
            chio__kernel_slow_commits(k, 200);
        for (i = 0; i < 10; i++) {
            memset(&e, 0, sizeof(e));
            e.k = k;
            CHECK(chio_kernel_sign_receipt_async(k, sc_builder(100 + (uint64_t)i), reentry_a, &e,
                                                 NULL) == 0,
                  "submit");
            if (!wait_flag(&e.a_done) || !wait_flag(&e.b_done)) {
                /* Hung: report, and leak the kernel rather than hang in free. */
                snprintf(msg, SC_MSG, "round %d call %d: a callback never finished (a %d, b %d)",
                         round, i, e.a_done, e.b_done);
                return -1;
            }
            CHECK(e.a_done == 1 && e.b_done == 1, "a callback got an error");
            CHECK(e.sync_rc == CHIO_EDEADLK, "sign from a callback: %s", chio_err_name(e.sync_rc));
            CHECK(e.try_rc == CHIO_EDEADLK, "try-sign from a callback: %s",
                  chio_err_name(e.try_rc));
            CHECK(e.async_rc == 0, "async sign from a callback: %s", chio_err_name(e.async_rc));
            CHECK(!e.wrong_thread, "a callback ran off the completion thread");
        }
        CHECK(chio_kernel_drain(k, NULL) == 0, "drain");
        chio_kernel_metrics_get(k, &m);
        CHECK(m.receipts_signed == 20, "%llu receipts signed, want 20",
              (unsigned long long)m.receipts_signed);
        chio_kernel_free(k);
        k = NULL;
    }
out:
    chio_kernel_free(k);
    return rc;
}

int sc_check_log(const char *path, uint64_t batch_size, sc_log_report *rep, char *msg)
{
    return sc_check_log_owed(path, batch_size, 0, rep, msg);
}
