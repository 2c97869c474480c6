/* SPDX-License-Identifier: Apache-2.0 */
/*
 * perf/bench_tables.c - issue 11: the kernel's tables in a long-running
 * host. Measures, in one run:
 *   sessions    open and close N sessions (1,000,000; --quick 100,000),
 *               each with a distinct token; the growth of the resident set
 *               from the first 1% to the end (target: < 16 MiB);
 *   token cache a working set of H hot tokens (10,000; --quick 1,000)
 *               under a churn of C distinct cold tokens (1,000,000;
 *               --quick 100,000): one hot check after every cold one,
 *               through checks 1-5 (chio__check_token); the hot hit rate
 *               after the first pass over the hot set (target: > 99%) and
 *               the cost of a hit (target: < 2 us).
 * Tokens: the hot ones are signed by the kernel (one Ed25519 signature
 * each). The distinct session and cold tokens are one signed token with
 * its id rewritten (same length), so they cost no signing; their
 * signatures do not verify, which changes nothing here: open_session
 * does not verify, and a cold token's check still pays the full
 * verification and takes a cache entry (its result, "invalid signature",
 * is cached like any other).
 * Prints the figures, and writes them as one JSON object with --json FILE.
 *
 *   build/perf/bench-tables [--quick] [--json FILE]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kernel_internal.h"

#define AGENT "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a"
#define SCOPE \
    "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\",\"operations\":[\"invoke\"]}]}"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double rss_mib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;

    if (f == NULL)
        return 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

static void die(const char *what, const chio_error *err)
{
    fprintf(stderr, "bench-tables: %s: %s\n", what, err ? err->message : "failed");
    exit(1);
}

static int echo(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    return chio_output_set_json(out, args, len);
}

static chio_kernel *kernel(void)
{
    static const char *const tools[] = {"read"};
    static const char seed[] = "0707070707070707070707070707070707070707070707070707070707070707";
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_kernel *k;
    chio_error err;

    chio_error_init(&err);
    chio_kernel_config_init(&cfg);
    if (chio_keypair_from_seed_hex(seed, 64, &cfg.keypair, &err) != 0)
        die("keypair", &err);
    cfg.policy_hash = "bench";
    cfg.ephemeral_store = 1;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    if (chio_kernel_new(&cfg, &k, &err) != 0)
        die("kernel", &err);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = echo;
    if (chio_kernel_register_tool_server(k, &ts, &err) != 0)
        die("register", &err);
    return k;
}

/* A signed token with id @prefix followed by eight digits (rewritten in
 * place by set_id). */
static char *signed_token(chio_kernel *k, const char *id)
{
    chio_capability *cap;
    chio_error err;
    char *json;

    chio_error_init(&err);
    if (chio_kernel_issue_capability(k, id, AGENT, SCOPE, strlen(SCOPE), 0, 86400, &cap, &err) != 0)
        die("issue", &err);
    json = strdup(chio_capability_json(cap, NULL));
    chio_capability_free(cap);
    if (json == NULL)
        die("out of memory", NULL);
    return json;
}

/* Rewrite the eight digits after @prefix in @json to @n. */
static void set_id(char *json, const char *prefix, unsigned n)
{
    char *p = strstr(json, prefix), digits[9];

    if (p == NULL)
        die("token template", NULL);
    snprintf(digits, sizeof(digits), "%08u", n);
    memcpy(p + strlen(prefix), digits, 8);
}

typedef struct figures {
    unsigned sessions;
    double sessions_s, rss_start_mib, rss_end_mib, rss_growth_mib;
    size_t session_entries, tombstones;
    unsigned hot, cold;
    double hit_rate, hit_ns, miss_us, churn_s;
    size_t cache_entries;
} figures;

static void bench_sessions(figures *f)
{
    chio_kernel *k = kernel();
    char *tok = signed_token(k, "sess-tok-00000000"), sid[CHIO_SESSION_ID_LEN + 1];
    const char *caps[1] = {tok};
    unsigned i, warm = f->sessions / 100;
    chio_error err;
    double t0 = now_s();

    chio_error_init(&err);
    for (i = 0; i < f->sessions; i++) {
        set_id(tok, "sess-tok-", i);
        if (chio_kernel_open_session(k, AGENT, caps, NULL, 1, sid, &err) != 0)
            die("open_session", &err);
        if (chio_kernel_close_session(k, sid, &err) != 0)
            die("close_session", &err);
        if (i + 1 == warm)
            f->rss_start_mib = rss_mib();
    }
    f->sessions_s = now_s() - t0;
    f->rss_end_mib = rss_mib();
    f->rss_growth_mib = f->rss_end_mib - f->rss_start_mib;
    f->session_entries = chio__session_count(k);
    f->tombstones = chio__shmap_count(&k->med.closed);
    chio_kernel_free(k);
    free(tok);
}

static void session_cap(const char *json, chio__session_cap *sc)
{
    chio_error err;
    size_t len = strlen(json);

    chio_error_init(&err);
    if (chio_capability_parse(json, len, &sc->cap, &err) != 0)
        die("parse", &err);
    chio_sha256(json, len, sc->hash);
}

static void bench_cache(figures *f)
{
    chio_kernel *k = kernel();
    chio__session_cap *hot = calloc(f->hot, sizeof(*hot)), cold;
    char *tpl = signed_token(k, "cold-tok-00000000"), reason[256], id[32];
    uint64_t now;
    unsigned i, hits = 0, lookups = 0;
    double hit_time = 0, miss_time = 0, t0, t1, start;
    unsigned nmiss = 0;
    chio_code code;

    if (hot == NULL)
        die("out of memory", NULL);
    for (i = 0; i < f->hot; i++) {
        char *t;
        snprintf(id, sizeof(id), "hot-%u", i);
        t = signed_token(k, id);
        session_cap(t, &hot[i]);
        free(t);
    }
    now = (uint64_t)time(NULL) + 1; /* every token is issued by now */
    start = now_s();
    for (i = 0; i < f->cold + f->hot; i++) {
        chio__session_cap *h;
        int present;
        if (i >= f->hot) { /* the first pass over the hot set only warms */
            set_id(tpl, "cold-tok-", i - f->hot + 1); /* 0 is the signed one */
            session_cap(tpl, &cold);
            t0 = now_s();
            code = chio__check_token(k, &cold, AGENT, now, reason, sizeof(reason));
            if (code != CHIO_CODE_INVALID_SIGNATURE)
                die(code == CHIO_CODE_NONE ? "a cold token passed" : reason, NULL);
            miss_time += now_s() - t0;
            nmiss++;
            chio_capability_free(cold.cap);
        }
        h = &hot[i % f->hot];
        present = chio__shmap_get(&k->med.token_cache, h->hash, 32) != NULL;
        t0 = now_s();
        if (chio__check_token(k, h, AGENT, now, reason, sizeof(reason)) != CHIO_CODE_NONE)
            die(reason, NULL);
        t1 = now_s();
        if (i < f->hot)
            continue;
        lookups++;
        if (present) {
            hits++;
            hit_time += t1 - t0;
        }
    }
    f->churn_s = now_s() - start;
    f->hit_rate = lookups ? (double)hits / lookups : 0;
    f->hit_ns = hits ? hit_time / hits * 1e9 : 0;
    f->miss_us = nmiss ? miss_time / nmiss * 1e6 : 0;
    f->cache_entries = chio__shmap_count(&k->med.token_cache);
    for (i = 0; i < f->hot; i++)
        chio_capability_free(hot[i].cap);
    free(hot);
    free(tpl);
    chio_kernel_free(k);
}

int main(int argc, char **argv)
{
    const char *json_path = NULL;
    figures f;
    int i, quick = 0, bad;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = 1;
        } else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
            json_path = argv[++i];
        } else {
            fprintf(stderr, "usage: bench-tables [--quick] [--json FILE]\n");
            return 2;
        }
    }
    memset(&f, 0, sizeof(f));
    f.sessions = quick ? 100000 : 1000000;
    f.hot = quick ? 1000 : 10000;
    f.cold = quick ? 100000 : 1000000;

    bench_sessions(&f);
    printf("sessions     %u opened and closed in %.1f s (%.1f us each)\n", f.sessions, f.sessions_s,
           f.sessions_s / f.sessions * 1e6);
    printf("             RSS %.1f MiB after 1%%, %.1f MiB at the end: growth %.2f MiB "
           "(target < 16)\n",
           f.rss_start_mib, f.rss_end_mib, f.rss_growth_mib);
    printf("             table entries left %zu, tombstones %zu (bound %u)\n", f.session_entries,
           f.tombstones, CHIO__SESSION_TOMBSTONES);
    bench_cache(&f);
    printf("token cache  %u hot under %u cold in %.1f s: hot hit rate %.4f%% (target > 99%%)\n",
           f.hot, f.cold, f.churn_s, f.hit_rate * 100);
    printf("             hit %.0f ns (target < 2000), miss (full verification) %.1f us\n", f.hit_ns,
           f.miss_us);
    printf("             cache entries %zu (bound %u)\n", f.cache_entries, CHIO__TOKEN_CACHE_MAX);

    bad = !(f.rss_growth_mib < 16 && f.hit_rate > 0.99 && f.hit_ns < 2000 &&
            f.session_entries == 0 && f.cache_entries <= CHIO__TOKEN_CACHE_MAX);
    if (json_path != NULL) {
        FILE *out = fopen(json_path, "w");
        if (out == NULL)
            die("cannot write the JSON file", NULL);
        fprintf(out,
                "{\"quick\":%d,\"sessions\":%u,\"sessions_s\":%.6g,\"rss_start_mib\":%.6g,"
                "\"rss_end_mib\":%.6g,\"rss_growth_mib\":%.6g,\"session_entries\":%zu,"
                "\"tombstones\":%zu,\"hot\":%u,\"cold\":%u,\"hot_hit_rate\":%.6g,"
                "\"hit_ns\":%.6g,\"miss_us\":%.6g,\"cache_entries\":%zu,\"churn_s\":%.6g,"
                "\"ok\":%s}\n",
                quick, f.sessions, f.sessions_s, f.rss_start_mib, f.rss_end_mib, f.rss_growth_mib,
                f.session_entries, f.tombstones, f.hot, f.cold, f.hit_rate, f.hit_ns, f.miss_us,
                f.cache_entries, f.churn_s, bad ? "false" : "true");
        fclose(out);
    }
    printf("%s\n", bad ? "FAIL: a target was missed" : "all targets met");
    return bad ? 1 : 0;
}
