/* SPDX-License-Identifier: Apache-2.0 */
/*
 * perf/bench_kernel_load.c - the loads of the kernel benchmark, which
 * perf/bench_kernel.c runs and reports: the kernel under test (one session,
 * an in-process echo tool), the naive baseline it is compared with,
 * closed-loop throughput (caller threads calling back to back) and open-loop
 * latency (arrivals on a fixed schedule, latency counted from the scheduled
 * time so queueing shows) with its percentiles and histograms.
 *
 * Linked into build/perf/bench-kernel only (Makefile); bench_kernel.h
 * declares what the two files share, everything else here is static. The
 * worker threads of a run append their samples, 256 at a time, to the
 * caller's chio__bench_lat under its mutex; the caller reads them once every
 * worker has been joined.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench_kernel.h"

#define AGENT "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a"
#define ARGS  "{\"mode\":\"read\",\"path\":\"/workspace/docs/roadmap.md\",\"limit\":4096}"

/* ---- latency samples ---------------------------------------------------------------- */

static void lat_add(chio__bench_lat *l, const uint64_t *v, size_t n)
{
    pthread_mutex_lock(&l->mu);
    if (l->n + n > l->cap) {
        l->cap = (l->n + n) * 2;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
        if (l->v == NULL)
            chio__bench_die("out of memory");
    }
    memcpy(l->v + l->n, v, n * sizeof(*v));
    l->n += n;
    pthread_mutex_unlock(&l->mu);
}

static double pct_us(chio__bench_lat *l, double p)
{
    size_t i;
    if (l->n == 0)
        return 0;
    i = (size_t)(p * (double)(l->n - 1));
    return (double)l->v[i] / 1000.0;
}

static void lat_sort(chio__bench_lat *l)
{
    qsort(l->v, l->n, sizeof(*l->v), chio__bench_cmp_u64);
}

static void lat_reset(chio__bench_lat *l)
{
    l->n = 0;
}

/* ---- a kernel with one session -----------------------------------------------------------------
 */

static int echo(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    return chio_output_set_json(out, args, len);
}

void chio__bench_kernel_open(chio__bench_kernel *b, int signers, chio_durability dur,
                             const char *tag)
{
    static const char *const tools[] = {"file_read"};
    static const char scope[] =
        "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"file_read\",\"operations\":"
        "[\"invoke\"],\"constraints\":[{\"type\":\"path_prefix\",\"value\":\"/workspace\"}]}]}";
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_capability *cap;
    chio_error err;
    const char *caps[1];

    memset(b, 0, sizeof(*b));
    b->dir = chio__bench_new_dir(tag);
    chio_kernel_config_init(&cfg);
    if (chio_keypair_from_seed_hex(CHIO__BENCH_SEED, 64, &cfg.keypair, &err) != 0)
        chio__bench_die("seed");
    cfg.policy_hash = "bench-policy";
    cfg.receipt_store_path = b->dir;
    cfg.signer_threads = (uint32_t)signers;
    cfg.durability = dur;
    cfg.log_level = CHIO_LOG_ERROR;
    if (chio_kernel_new(&cfg, &b->k, &err) != 0)
        chio__bench_die("kernel: %s", err.message);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = echo;
    if (chio_kernel_register_tool_server(b->k, &ts, &err) != 0 ||
        chio_kernel_issue_capability(b->k, "cap-bench", AGENT, scope, sizeof(scope) - 1, 0, 86400,
                                     &cap, &err) != 0)
        chio__bench_die("setup: %s", err.message);
    caps[0] = chio_capability_json(cap, NULL);
    if (chio_kernel_open_session(b->k, AGENT, caps, NULL, 1, b->sid, &err) != 0 ||
        chio_kernel_start(b->k, &err) != 0)
        chio__bench_die("session: %s", err.message);
    chio_capability_free(cap);
}

void chio__bench_kernel_close(chio__bench_kernel *b)
{
    chio_kernel_free(b->k);
    chio__bench_rmrf(b->dir);
    free(b->dir);
}

/* One evaluation; @deny calls a tool outside the grant (out_of_scope). */
int chio__bench_call(chio__bench_kernel *b, int deny)
{
    chio_response r;
    chio_call c;
    int rc;

    memset(&c, 0, sizeof(c));
    c.session_id = b->sid;
    c.capability_id = "cap-bench";
    c.server_id = "srv";
    c.tool_name = deny ? "file_delete" : "file_read";
    c.arguments_json = ARGS;
    c.arguments_len = sizeof(ARGS) - 1;
    rc = chio_kernel_evaluate(b->k, &c, &r, NULL);
    if (rc == 0 && r.verdict != (deny ? CHIO_VERDICT_DENY : CHIO_VERDICT_ALLOW))
        rc = -1;
    chio_response_destroy(&r);
    return rc;
}

/* ---- the naive baseline
 * --------------------------------------------------------------------------- */

void chio__bench_naive_open(chio__bench_naive *n)
{
    chio_error err;

    memset(n, 0, sizeof(*n));
    pthread_mutex_init(&n->mu, NULL);
    n->dir = chio__bench_new_dir("naive");
    if (chio_keypair_from_seed_hex(CHIO__BENCH_SEED, 64, &n->kp, &err) != 0 ||
        chio_store_open(n->dir, CHIO_STORE_READ_WRITE, &n->store, &err) != 0)
        chio__bench_die("naive: %s", err.message);
    n->batch = chio__store_batch_new();
}

void chio__bench_naive_close(chio__bench_naive *n)
{
    chio__store_batch_free(n->batch);
    chio_store_close(n->store);
    chio_keypair_free(n->kp);
    chio__bench_rmrf(n->dir);
    free(n->dir);
}

/* What a straightforward kernel does: build the receipt, then sign it and
 * write it with its own synced write, all under one global mutex. */
static int naive_call(chio__bench_naive *n)
{
    chio_receipt_builder *b;
    chio_receipt *r = NULL;
    size_t len;
    const char *json;
    int rc;

    if (chio_receipt_builder_new(&b) != 0)
        return -1;
    chio_receipt_builder_set_capability_id(b, "cap-bench");
    chio_receipt_builder_set_tool(b, "srv", "file_read");
    chio_receipt_builder_set_parameters(b, ARGS, sizeof(ARGS) - 1, NULL);
    chio_receipt_builder_set_output(b, ARGS, sizeof(ARGS) - 1, NULL);
    chio_receipt_builder_set_policy_hash(b, "bench-policy");
    chio_receipt_builder_set_decision(b, CHIO_VERDICT_ALLOW, NULL, NULL);
    pthread_mutex_lock(&n->mu);
    rc = chio_receipt_sign(b, n->kp, &r, NULL);
    if (rc == 0) {
        json = chio_receipt_json(r, &len);
        chio__store_batch_put_receipt(n->batch, n->store, ++n->seq, json, len, chio_receipt_id(r));
        rc = chio__store_write(n->store, n->batch, 1, NULL);
        chio__store_batch_clear(n->batch);
    }
    pthread_mutex_unlock(&n->mu);
    chio_receipt_free(r);
    chio_receipt_builder_free(b);
    return rc;
}

/* ---- closed-loop throughput
 * -------------------------------------------------------------------------- */

typedef struct run {
    chio__bench_kernel *b;
    chio__bench_naive *nv;
    double until;
    long calls;
    int failed;
    chio__bench_lat *lat;
} run;

static void *closed_thread(void *arg)
{
    run *r = arg;
    uint64_t buf[256];
    size_t nb = 0;

    while (chio__bench_now_s() < r->until) {
        uint64_t t0 = chio__bench_now_ns();
        int rc = r->nv ? naive_call(r->nv) : chio__bench_call(r->b, 0);
        if (rc != 0) {
            r->failed++;
            break;
        }
        buf[nb++] = chio__bench_now_ns() - t0;
        if (nb == 256) {
            lat_add(r->lat, buf, nb);
            nb = 0;
        }
        r->calls++;
    }
    lat_add(r->lat, buf, nb);
    return NULL;
}

static double cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

chio__bench_tp chio__bench_closed_loop(chio__bench_kernel *b, chio__bench_naive *nv, int threads,
                                       double seconds, chio__bench_lat *l)
{
    pthread_t *th = calloc((size_t)threads, sizeof(*th));
    run *rs = calloc((size_t)threads, sizeof(*rs));
    double start, el, cpu0;
    long total = 0;
    chio__bench_tp out;
    int i;

    lat_reset(l);
    /* warm-up: start the pipeline, fill caches */
    for (i = 0; i < 20; i++)
        if ((nv ? naive_call(nv) : chio__bench_call(b, 0)) != 0)
            chio__bench_die("warm-up call failed");
    start = chio__bench_now_s();
    cpu0 = cpu_s();
    for (i = 0; i < threads; i++) {
        rs[i] = (run){b, nv, start + seconds, 0, 0, l};
        if (pthread_create(&th[i], NULL, closed_thread, &rs[i]) != 0)
            chio__bench_die("thread %d: cannot start", i);
    }
    for (i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        total += rs[i].calls;
        if (rs[i].failed)
            chio__bench_die("a call failed");
    }
    el = chio__bench_now_s() - start;
    out.cpu_us = total ? (cpu_s() - cpu0) * 1e6 / (double)total : 0.0;
    lat_sort(l);
    out.rate = (double)total / el;
    out.p50_us = pct_us(l, 0.50);
    out.p99_us = pct_us(l, 0.99);
    free(th);
    free(rs);
    return out;
}

/* ---- open-loop latency
 * ------------------------------------------------------------------------------- */

static void sleep_until_ns(uint64_t t)
{
    struct timespec ts = {(time_t)(t / 1000000000u), (long)(t % 1000000000u)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

typedef struct open_run {
    chio__bench_kernel *b;
    int deny;
    uint64_t t0, interval_ns;
    long total;
    long next; /* atomic: the next arrival index */
    chio__bench_lat *lat;
    int failed;
} open_run;

static void *open_thread(void *arg)
{
    open_run *o = arg;
    uint64_t buf[256];
    size_t nb = 0;

    for (;;) {
        long i = __atomic_fetch_add(&o->next, 1, __ATOMIC_RELAXED);
        uint64_t due;
        if (i >= o->total)
            break;
        due = o->t0 + (uint64_t)i * o->interval_ns;
        sleep_until_ns(due);
        if (chio__bench_call(o->b, o->deny) != 0)
            __atomic_store_n(&o->failed, 1, __ATOMIC_RELAXED);
        /* From the scheduled arrival, not from when a worker got to it:
         * a call that waited for a worker waited in the system. */
        buf[nb++] = chio__bench_now_ns() - due;
        if (nb == 256) {
            lat_add(o->lat, buf, nb);
            nb = 0;
        }
    }
    lat_add(o->lat, buf, nb);
    return NULL;
}

chio__bench_lat_res chio__bench_open_loop(chio__bench_kernel *b, int deny, double rate,
                                          double seconds, chio__bench_lat *l)
{
    enum { WORKERS = 64 };
    pthread_t th[WORKERS];
    open_run o;
    chio__bench_lat_res res;
    size_t i;

    memset(&res, 0, sizeof(res));
    lat_reset(l);
    o.b = b;
    o.deny = deny;
    o.interval_ns = (uint64_t)(1e9 / rate);
    o.total = (long)(rate * seconds);
    o.next = 0;
    o.lat = l;
    o.failed = 0;
    o.t0 = chio__bench_now_ns() + 20 * 1000 * 1000;
    for (i = 0; i < WORKERS; i++)
        pthread_create(&th[i], NULL, open_thread, &o);
    for (i = 0; i < WORKERS; i++)
        pthread_join(th[i], NULL);
    if (o.failed)
        chio__bench_die("an open-loop call failed");
    lat_sort(l);
    res.offered = rate;
    res.p50 = pct_us(l, 0.50);
    res.p99 = pct_us(l, 0.99);
    res.p999 = pct_us(l, 0.999);
    res.max = l->n ? (double)l->v[l->n - 1] / 1000.0 : 0;
    for (i = 0; i < l->n; i++) {
        uint64_t us = l->v[i] / 1000;
        size_t bkt = 0;
        while (us > 1 && bkt < 23) {
            us >>= 1;
            bkt++;
        }
        res.hist[bkt]++;
    }
    return res;
}

void chio__bench_print_hist(const chio__bench_lat_res *r, size_t n)
{
    size_t i, max = 1;

    for (i = 0; i < 24; i++)
        if (r->hist[i] > max)
            max = r->hist[i];
    for (i = 0; i < 24; i++) {
        int bar;
        if (r->hist[i] == 0)
            continue;
        bar = (int)(50.0 * (double)r->hist[i] / (double)max + 0.5);
        printf("      <= %7llu us %7llu %5.1f%% %.*s\n", 1ull << (i + 1),
               (unsigned long long)r->hist[i], 100.0 * (double)r->hist[i] / (double)n, bar,
               "##################################################");
    }
}
