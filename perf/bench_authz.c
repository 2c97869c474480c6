/* SPDX-License-Identifier: Apache-2.0 */
/*
 * perf/bench_authz.c - what capability verification costs on the call
 * path. Measures, in one run:
 *   cache hit    checks 1-5 of the pipeline for a token the kernel has
 *                verified before (cache lookup by the token hash, time,
 *                revocation of the token and its chain, subject);
 *   cache miss   the same token's full verification (Ed25519 over the
 *                schema-tagged canonical body), what every call would pay
 *                without the cache;
 *   evaluate     a whole allowed tool call through chio_kernel_evaluate()
 *                (ephemeral store, no fsync) for context.
 * Prints ns/op and the miss/hit ratio (compare ratios: absolute times drift
 * on shared machines), or one JSON object with --json.
 *
 *   build/perf/bench-authz [--json] [--seconds S] [--threads N]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel_internal.h"

#define SEED  "0707070707070707070707070707070707070707070707070707070707070707"
#define AGENT "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a"

static double seconds_per_case = 0.5;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct bench {
    chio_kernel *k;
    chio__session *s;
    const chio__session_cap *sc;
    uint64_t now;
    char sid[CHIO_SESSION_ID_LEN + 1];
} bench;

typedef int (*op_fn)(bench *b);

static int op_hit(bench *b)
{
    char reason[256];
    return chio__check_token(b->k, b->sc, b->s->agent, b->now, reason, sizeof(reason)) ==
                   CHIO_CODE_NONE
               ? 0
               : -1;
}

static int op_miss(bench *b)
{
    chio_capability_report rep;
    int rc =
        chio_capability_verify(b->sc->cap, b->now, b->k->med.trusted, b->k->med.ntrusted, -1, &rep);
    return rc == 0 && rep.ok ? 0 : -1;
}

static int op_evaluate(bench *b)
{
    chio_response r;
    chio_call c;
    int rc;

    memset(&c, 0, sizeof(c));
    c.session_id = b->sid;
    c.capability_id = "cap-bench";
    c.server_id = "srv";
    c.tool_name = "read";
    c.arguments_json = "{\"path\":\"/workspace/a.txt\"}";
    c.arguments_len = strlen(c.arguments_json);
    rc = chio_kernel_evaluate(b->k, &c, &r, NULL);
    if (rc == 0 && r.verdict != CHIO_VERDICT_ALLOW)
        rc = -1;
    chio_response_destroy(&r);
    return rc;
}

/* ns per operation of @fn on one thread. */
static double ns_per_op(op_fn fn, bench *b)
{
    double start = now_s(), elapsed;
    long n = 0, batch = 64, i;

    do {
        for (i = 0; i < batch; i++)
            if (fn(b) != 0) {
                fprintf(stderr, "bench-authz: operation failed\n");
                exit(1);
            }
        n += batch;
        elapsed = now_s() - start;
    } while (elapsed < seconds_per_case);
    return elapsed * 1e9 / (double)n;
}

typedef struct mt {
    bench *b;
    op_fn fn;
    double ns;
} mt;

static void *mt_thread(void *arg)
{
    mt *m = arg;
    m->ns = ns_per_op(m->fn, m->b);
    return NULL;
}

/* Aggregate ns per op with @threads threads hammering the same token. */
static double ns_per_op_mt(op_fn fn, bench *b, int threads)
{
    pthread_t th[64];
    mt ms[64];
    double rate = 0;
    int i;

    for (i = 0; i < threads; i++) {
        ms[i] = (mt){b, fn, 0};
        pthread_create(&th[i], NULL, mt_thread, &ms[i]);
    }
    for (i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        rate += 1e9 / ms[i].ns;
    }
    return 1e9 / rate;
}

static int echo(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    return chio_output_set_json(out, args, len);
}

static void setup(bench *b)
{
    static const char *const tools[] = {"read"};
    static const char scope[] =
        "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\",\"operations\":[\"invoke\"],"
        "\"constraints\":[{\"type\":\"path_prefix\",\"value\":\"/workspace\"}]}]}";
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_capability *cap;
    chio_error err;
    const char *caps[1];

    chio_error_init(&err);
    chio_kernel_config_init(&cfg);
    if (chio_keypair_from_seed_hex(SEED, 64, &cfg.keypair, &err) != 0)
        goto fail;
    cfg.policy_hash = "bench";
    cfg.ephemeral_store = 1;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    if (chio_kernel_new(&cfg, &b->k, &err) != 0)
        goto fail;
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = echo;
    if (chio_kernel_register_tool_server(b->k, &ts, &err) != 0 ||
        chio_kernel_issue_capability(b->k, "cap-bench", AGENT, scope, sizeof(scope) - 1, 0, 86400,
                                     &cap, &err) != 0)
        goto fail;
    caps[0] = chio_capability_json(cap, NULL);
    if (chio_kernel_open_session(b->k, AGENT, caps, NULL, 1, b->sid, &err) != 0 ||
        chio_kernel_start(b->k, &err) != 0)
        goto fail;
    chio_capability_free(cap);
    b->s = chio__session_find(b->k, b->sid);
    b->sc = chio__session_find_cap(b->s, "cap-bench");
    b->now = (uint64_t)time(NULL);
    if (op_hit(b) != 0) /* warm the cache */
        goto fail;
    return;
fail:
    fprintf(stderr, "bench-authz: setup failed: %s\n", err.message);
    exit(1);
}

int main(int argc, char **argv)
{
    bench b;
    double hit, miss, hit_mt, eval;
    int json = 0, threads = 2, i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds_per_case = atof(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench-authz [--json] [--seconds S] [--threads N]\n");
            return 2;
        }
    }
    if (threads < 1 || threads > 64 || seconds_per_case <= 0) {
        fprintf(stderr, "bench-authz: --threads 1..64, --seconds > 0\n");
        return 2;
    }
    memset(&b, 0, sizeof(b));
    setup(&b);
    hit = ns_per_op(op_hit, &b);
    miss = ns_per_op(op_miss, &b);
    hit_mt = ns_per_op_mt(op_hit, &b, threads);
    eval = ns_per_op(op_evaluate, &b);
    if (json) {
        printf("{\"cache_hit_ns\":%.1f,\"cache_miss_ns\":%.1f,\"miss_over_hit\":%.1f,"
               "\"cache_hit_ns_aggregate\":%.1f,\"threads\":%d,\"evaluate_ns\":%.1f}\n",
               hit, miss, miss / hit, hit_mt, threads, eval);
    } else {
        printf("capability verification (checks 1-5), one thread:\n");
        printf("  %-34s %10.1f ns/op\n", "cache hit", hit);
        printf("  %-34s %10.1f ns/op\n", "cache miss (full Ed25519 verify)", miss);
        printf("  %-34s %10.1fx\n", "miss / hit", miss / hit);
        printf("  %-34s %10.1f ns/op aggregate (%d threads)\n", "cache hit", hit_mt, threads);
        printf("whole allowed call (chio_kernel_evaluate, ephemeral, no fsync):\n");
        printf("  %-34s %10.1f ns/op\n", "evaluate", eval);
    }
    chio_kernel_free(b.k);
    return 0;
}
