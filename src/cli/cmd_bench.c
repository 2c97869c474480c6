/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/cmd_bench.c - `chio bench`: drive a real kernel and a real receipt
 * store from N caller threads and report throughput, latency and process
 * CPU per call next to the limits measured in the same run: the raw
 * single-thread OpenSSL Ed25519 signing time and a bare 8 KiB
 * write+fdatasync in the store's directory.
 *
 * Each call is a full evaluation by default (one session, a capability
 * token issued by the kernel, an in-process echo tool, the receipt signed
 * and committed); --synthetic signs prepared receipts instead (the signing
 * and commit stages alone). Latency goes into fixed-size log-linear
 * histograms (one per thread, merged at the end), so --calls can be
 * arbitrarily large; SIGINT or SIGTERM stops issuing calls, drains the
 * kernel and reports what was done. An existing database is reopened and
 * continued.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char bench_usage[] =
    "usage: chio bench --receipt-db DIR --threads N --calls M [--signers K]\n"
    "                  [--durability sync|nosync] [--checkpoint-batch N]\n"
    "                  [--ring-capacity N] [--seed-file FILE] [--synthetic]\n"
    "                  [--rate R] [--signer-priority NICE] [--signer-realtime PRIO]\n"
    "                  [--budget] [--json]\n"
    "       chio bench --receipt-db DIR --compare-sidecar --calls M\n"
    "                  [--durability sync|nosync] [--seed-file FILE] [--json]\n"
    "\n"
    "Make M calls through a real kernel and receipt store from N caller\n"
    "threads (synchronous calls): by default full evaluations (a session, a\n"
    "capability token, an in-process echo tool, the receipt signed and\n"
    "committed); with --synthetic, prepared receipts signed and committed.\n"
    "Reports calls/s, p50/p99/p99.9 latency, the group commits, process CPU\n"
    "per call (getrusage over the calls only), how idle the machine's CPUs\n"
    "were over the calls (/proc/stat), and the limits measured in the\n"
    "same run: raw single-thread OpenSSL Ed25519 sign time, a bare 8 KiB\n"
    "write+fdatasync in the store's directory (p50), and\n"
    "  limit = raw sign rate x signers                              (nosync)\n"
    "  limit = min(that, N / (raw sign time + 1.5 x fsync time))   (sync)\n"
    "with achieved / limit, and a signature's CPU with one signing loop per\n"
    "usable CPU at once (a busy neighbour slows a CPU on a VM or with SMT),\n"
    "and the CPU of a thread hand-off (futex wake and sleep), CPUs idle or busy.\n"
    "--rate R paces the calls (open loop: call n is due\n"
    "at n/R s, spread over the N threads; latency counts from when it was due,\n"
    "and --json's in_call_p50_us/in_call_p99_us from when the call started)\n"
    "and adds the paced sign time: a bare sign of a receipt-sized message every\n"
    "N/R s on one thread (p50), the signature as cold as a paced call finds\n"
    "the CPU, and how late that thread's timer woke it (p50: every paced call\n"
    "pays such a wake-up before it starts); with sync durability also the\n"
    "paced fsync, an 8 KiB write+fdatasync every N/R s (p50).\n"
    "--budget gives the grant a max_invocations the run never reaches, so\n"
    "every call also charges an invocation budget (written before the\n"
    "dispatch; synced under --durability sync).\n"
    "--signer-priority sets the kernel threads' nice value\n"
    "(chio_kernel_config.signer_priority; negative values need CAP_SYS_NICE).\n"
    "--signer-realtime runs the signer threads SCHED_FIFO at PRIO (1-99;\n"
    "chio_kernel_config.signer_realtime; needs CAP_SYS_NICE or RLIMIT_RTPRIO);\n"
    "the report says whether the system applied it.\n"
    "The key is random unless --seed-file is given.\n"
    "Ctrl-C stops early and reports.\n"
    "--compare-sidecar runs M allowed evaluations in-process and M through a\n"
    "`chio serve` started on loopback (keep-alive connections), at 1 and 16\n"
    "callers, and prints calls/s, p50 and p99 of each (stores under DIR/inproc\n"
    "and DIR/sidecar, the key in DIR/bench.seed unless --seed-file; DIR must be\n"
    "new, empty or hold only those; --json adds inproc_p50_us, sidecar_p50_us,\n"
    "inproc_calls_per_sec and sidecar_calls_per_sec, at 1 caller).\n"
    "Exit 0 when every call succeeded, 1 when some failed, 2 on bad usage.\n";

/* ---- histogram: exact below 256 us, then 128 buckets per power of two ---------- */

#define SUB      128
#define MAX_EXP  40
#define NBUCKETS (2 * SUB + (MAX_EXP - 7) * SUB)

typedef struct hist {
    uint64_t count[NBUCKETS];
    uint64_t n, max;
} hist;

static size_t bucket(uint64_t v)
{
    int e, shift;
    size_t idx;

    if (v < 2 * SUB)
        return (size_t)v;
    e = 63 - __builtin_clzll(v); /* >= 8 */
    if (e > MAX_EXP)
        return NBUCKETS - 1;
    shift = e - 7;
    idx = 2 * SUB + (size_t)(e - 8) * SUB + (size_t)((v >> shift) - SUB);
    return idx < NBUCKETS ? idx : NBUCKETS - 1;
}

static uint64_t bucket_value(size_t idx)
{
    size_t e;

    if (idx < 2 * SUB)
        return idx;
    e = (idx - 2 * SUB) / SUB + 8;
    return ((uint64_t)((idx - 2 * SUB) % SUB) + SUB) << (e - 7);
}

static void hist_add(hist *h, uint64_t v)
{
    h->count[bucket(v)]++;
    h->n++;
    if (v > h->max)
        h->max = v;
}

static void hist_merge(hist *into, const hist *h)
{
    size_t i;

    for (i = 0; i < NBUCKETS; i++)
        into->count[i] += h->count[i];
    into->n += h->n;
    if (h->max > into->max)
        into->max = h->max;
}

static uint64_t hist_pct(const hist *h, double pct)
{
    uint64_t want = (uint64_t)((double)h->n * pct / 100.0 + 0.5), seen = 0;
    size_t i;

    if (h->n == 0)
        return 0;
    if (want == 0)
        want = 1;
    for (i = 0; i < NBUCKETS; i++) {
        seen += h->count[i];
        if (seen >= want)
            return bucket_value(i);
    }
    return h->max;
}

/* ---- run ------------------------------------------------------------------------------------ */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

typedef struct bench {
    chio_kernel *k;
    uint64_t calls;
    uint64_t next; /* atomic: calls handed out */
    uint64_t run_id;
    int synthetic;
    int budget;   /* the grant carries max_invocations (never reached) */
    double rate;  /* open loop: calls/s scheduled in total; 0 = closed loop */
    double start; /* the schedule's origin (cli_bench_now) */
    char sid[CHIO_SESSION_ID_LEN + 1];
} bench;

typedef struct caller {
    bench *b;
    hist h;       /* latency from the call's due time (closed loop: its start) */
    hist in_call; /* latency from the moment the call started */
    uint64_t ok, errors;
    int first_error;
    size_t receipt_len; /* of the first receipt (the raw rate's message size) */
} caller;

#define BENCH_SERVER "srv-bench"
#define BENCH_CAP    "cap-bench"

static chio_receipt_builder *synthetic(uint64_t run, uint64_t n)
{
    chio_receipt_builder *b;
    char params[128];

    if (chio_receipt_builder_new(&b) != 0)
        return NULL;
    snprintf(params, sizeof(params),
             "{\"path\":\"/workspace/bench/%llu-%llu.txt\",\"mode\":\"read\"}",
             (unsigned long long)run, (unsigned long long)n);
    if (chio_receipt_builder_set_capability_id(b, "cap-bench") != 0 ||
        chio_receipt_builder_set_tool(b, "srv-bench", "echo") != 0 ||
        chio_receipt_builder_set_parameters(b, params, strlen(params), NULL) != 0 ||
        chio_receipt_builder_set_decision(b, CHIO_VERDICT_ALLOW, NULL, NULL) != 0 ||
        chio_receipt_builder_add_evidence(b, "bench", 1, "synthetic allowed call") != 0) {
        chio_receipt_builder_free(b);
        return NULL;
    }
    return b;
}

static int echo(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    return chio_output_set_json(out, args, len);
}

/* One full evaluation of the echo tool; its receipt in *out. */
static int evaluate_one(bench *b, uint64_t n, chio_receipt **out)
{
    char args[128], req[48];
    chio_response r;
    chio_call c;
    int rc;

    snprintf(args, sizeof(args), "{\"path\":\"/workspace/bench/%llu-%llu.txt\",\"mode\":\"read\"}",
             (unsigned long long)b->run_id, (unsigned long long)n);
    snprintf(req, sizeof(req), "bench-%llu", (unsigned long long)n);
    memset(&c, 0, sizeof(c));
    c.session_id = b->sid;
    c.capability_id = BENCH_CAP;
    c.server_id = BENCH_SERVER;
    c.tool_name = "echo";
    c.request_id = req;
    c.arguments_json = args;
    c.arguments_len = strlen(args);
    rc = chio_kernel_evaluate(b->k, &c, &r, NULL);
    if (rc == 0 && r.verdict != CHIO_VERDICT_ALLOW)
        rc = CHIO_EINVAL; /* the bench's grant allows every call */
    if (rc == 0) {
        *out = r.receipt;
        r.receipt = NULL;
    }
    chio_response_destroy(&r);
    return rc;
}

static int sign_one(bench *b, uint64_t n, chio_receipt **out)
{
    chio_receipt_builder *rb = synthetic(b->run_id, n);

    if (rb == NULL)
        return CHIO_ENOMEM;
    return chio_kernel_sign_receipt(b->k, rb, out, NULL);
}

static void *caller_main(void *arg)
{
    caller *c = arg;
    bench *b = c->b;
    chio_receipt *r;

    while (!stop_requested) {
        uint64_t n = __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED);
        double t0, started;
        int rc;

        if (n >= b->calls)
            break;
        t0 = cli_bench_now();
        if (b->rate > 0) {
            /* Open loop: call n is due at start + n / rate; its latency
             * counts from then, so waiting behind a slow system shows. */
            double due = b->start + (double)n / b->rate;
            if (due > t0)
                cli_bench_sleep_until(due);
            t0 = due;
        }
        started = cli_bench_now();
        rc = b->synthetic ? sign_one(b, n, &r) : evaluate_one(b, n, &r);
        if (rc != 0) {
            if (c->errors++ == 0)
                c->first_error = rc;
            if (rc == CHIO_EFAILED || rc == CHIO_EDRAINED)
                break;
            continue;
        }
        {
            double end = cli_bench_now();
            hist_add(&c->h, (uint64_t)((end - t0) * 1e6));
            hist_add(&c->in_call, (uint64_t)((end - started) * 1e6));
        }
        if (c->ok++ == 0)
            chio_receipt_json(r, &c->receipt_len);
        chio_receipt_free(r);
    }
    return NULL;
}

/* Size of a synthetic receipt's signing input, for a fair raw rate. */
static size_t message_size(const chio_keypair *kp)
{
    chio_receipt_builder *b = synthetic(0, 0);
    chio_receipt *r = NULL;
    size_t len = 700;

    chio_receipt_builder_set_policy_hash(b, "bench-policy");
    if (b != NULL && chio_receipt_sign(b, kp, &r, NULL) == 0)
        chio_receipt_json(r, &len);
    chio_receipt_free(r);
    chio_receipt_builder_free(b);
    return len;
}

/* User + system CPU seconds of the whole process so far. */
static double process_cpu_s(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* The evaluation setup: an echo tool, a token the kernel issues to a fresh
 * agent key (one grant, a path_prefix constraint; with --budget also a
 * max_invocations the run never reaches: chio's largest, a u32, against at
 * most 10^7 calls), one session. */
static int setup_session(bench *b, chio_error *err)
{
    static const char *const tools[] = {"echo"};
    char scope[320];
    chio_keypair *agent = NULL;
    chio_capability *cap = NULL;
    chio_tool_server ts;
    const char *caps[1];
    int rc;

    snprintf(scope, sizeof(scope),
             "{\"grants\":[{\"server_id\":\"" BENCH_SERVER "\",\"tool_name\":\"echo\","
             "\"operations\":[\"invoke\"],\"constraints\":[{\"type\":\"path_prefix\","
             "\"value\":\"/workspace\"}]%s}]}",
             b->budget ? ",\"max_invocations\":4294967295" : "");
    memset(&ts, 0, sizeof(ts));
    ts.server_id = BENCH_SERVER;
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = echo;
    rc = chio_kernel_register_tool_server(b->k, &ts, err);
    if (rc == 0)
        rc = chio_keypair_generate(&agent, err);
    if (rc == 0)
        rc = chio_kernel_issue_capability(b->k, BENCH_CAP, chio_keypair_public_hex(agent), scope,
                                          strlen(scope), 0, 30 * 86400, &cap, err);
    if (rc == 0) {
        caps[0] = chio_capability_json(cap, NULL);
        rc = chio_kernel_open_session(b->k, chio_keypair_public_hex(agent), caps, NULL, 1, b->sid,
                                      err);
    }
    chio_capability_free(cap);
    chio_keypair_free(agent);
    return rc;
}

/* A kernel that would not start. Without --seed-file the key is a new
 * random one, so a store left by an earlier run is another key's
 * (CHIO_ECONFIG: a kernel's configuration was checked when it was built,
 * and bench sets no retention): say so, and what to do. */
static int start_error(const char *what, const chio_error *err, const char *seed_file,
                       const char *dir)
{
    if (err->code == CHIO_EBUSY)
        return cli_store_busy("bench", dir, "stop it first or use another --receipt-db", err);
    if (err->code == CHIO_ECONFIG && seed_file == NULL)
        return cli_error("bench",
                         "%s: %s (without --seed-file chio bench signs with a new random key: "
                         "give --seed-file with the key that made %s, or a new --receipt-db)",
                         what, err->message, dir);
    return cli_lib_error("bench", what, err->code, err);
}

/* --compare-sidecar takes --calls, --durability, --seed-file and --json
 * only: an option of the other mode (--threads, --rate, --budget, ...)
 * would not be applied, and before review 48 it was ignored, exit 0, the
 * report read as if it had been. Returns 0 or CLI_USAGE after saying
 * which. */
static int compare_options_only(const cli_opt *opts, size_t nopts)
{
    static const char *const allowed[] = {"receipt-db", "calls", "durability",
                                          "seed-file",  "json",  "compare-sidecar"};
    size_t i, j;

    for (i = 0; i < nopts; i++) {
        int ok = opts[i].value == NULL;

        for (j = 0; !ok && j < sizeof(allowed) / sizeof(allowed[0]); j++)
            ok = strcmp(opts[i].name, allowed[j]) == 0;
        if (!ok)
            return cli_error("bench",
                             "--%s does not apply to --compare-sidecar (it takes --calls, "
                             "--durability, --seed-file and --json)",
                             opts[i].name);
    }
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    cli_opt opts[] = {{"receipt-db", 1, 0, 0, 0, 0},
                      {"threads", 1, 0, 0, 0, 0},
                      {"calls", 1, 0, 0, 0, 0},
                      {"signers", 1, 0, 0, 0, 0},
                      {"durability", 1, 0, 0, 0, 0},
                      {"json", 0, 0, 0, 0, 0},
                      {"checkpoint-batch", 1, 0, 0, 0, 0},
                      {"ring-capacity", 1, 0, 0, 0, 0},
                      {"seed-file", 1, 0, 0, 0, 0},
                      {"synthetic", 0, 0, 0, 0, 0},
                      {"rate", 1, 0, 0, 0, 0},
                      {"signer-priority", 1, 0, 0, 0, 0},
                      {"compare-sidecar", 0, 0, 0, 0, 0},
                      {"budget", 0, 0, 0, 0, 0},
                      {"signer-realtime", 1, 0, 0, 0, 0}};
    const char *pos[1];
    size_t npos;
    uint64_t threads = 0, calls = 0, signers = 1, cpb = CHIO_DEFAULT_CHECKPOINT_BATCH_SIZE,
             ring = CHIO_DEFAULT_RING_CAPACITY, ok = 0, errors = 0;
    chio_kernel_config cfg;
    chio_kernel_metrics m;
    cli_thread_times tt0, tt1;
    chio_keypair *kp = NULL;
    chio_error err;
    caller *cs = NULL;
    pthread_t *ts = NULL;
    hist *all;
    bench b;
    double raw, t0, elapsed, rate, cpu0, cpu, fsync_us, raw_us, cpu_us, limit, paced_us = 0;
    double late_us = 0, fsync_paced_us = 0;
    long slack_ns = 0;
    cli_sign_all_cpus allc;
    double handoff_idle_us = 0, handoff_busy_us = 0;
    size_t msg_len = 0;
    struct sigaction sa;
    int rc, json, first_error = 0, realtime = -1;
    uint64_t i, started = 0;

    rc = cli_parse(argc, argv, opts, 15, pos, 0, &npos, "bench", bench_usage);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    json = opts[5].value != NULL;
    if (opts[0].value == NULL)
        return cli_error("bench", "--receipt-db DIR is required");
    if (opts[12].value != NULL) { /* bench_sidecar.c */
        if (compare_options_only(opts, sizeof(opts) / sizeof(opts[0])) != 0)
            return CLI_USAGE;
        if (!opts[2].value || cli_u64(opts[2].value, &calls) != 0 || calls < 1 || calls > 10000000)
            return cli_error("bench", "--calls must be between 1 and 10000000");
        if (opts[4].value && strcmp(opts[4].value, "sync") != 0 &&
            strcmp(opts[4].value, "nosync") != 0)
            return cli_error("bench", "--durability must be sync or nosync");
        return cli_bench_compare_sidecar(opts[0].value, calls,
                                         opts[4].value && strcmp(opts[4].value, "nosync") == 0,
                                         opts[8].value, opts[5].value != NULL);
    }
    if (cli_check_store_dir("bench", "--receipt-db", opts[0].value) != 0)
        return CLI_USAGE;
    if (!opts[1].value || cli_u64(opts[1].value, &threads) != 0 || threads < 1 || threads > 4096)
        return cli_error("bench", "--threads must be between 1 and 4096");
    if (!opts[2].value || cli_u64(opts[2].value, &calls) != 0 || calls < 1)
        return cli_error("bench", "--calls must be a positive integer");
    if (opts[3].value && (cli_u64(opts[3].value, &signers) != 0 || signers < 1 || signers > 64))
        return cli_error("bench", "--signers must be between 1 and 64");
    if (opts[6].value && cli_u64(opts[6].value, &cpb) != 0)
        return cli_error("bench", "--checkpoint-batch must be a non-negative integer");
    if (opts[7].value && cli_u64(opts[7].value, &ring) != 0)
        return cli_error("bench", "--ring-capacity must be a power of two");
    chio_kernel_config_init(&cfg);
    if (opts[11].value) {
        char *end = NULL;
        long nice = strtol(opts[11].value, &end, 10);
        if (end == opts[11].value || *end != '\0' || nice < -20 || nice > 19)
            return cli_error("bench", "--signer-priority must be a nice value between -20 and 19");
        cfg.signer_priority = (int)nice;
    }
    if (opts[14].value) {
        char *end = NULL;
        long prio = strtol(opts[14].value, &end, 10);
        if (end == opts[14].value || *end != '\0' || prio < 1 || prio > 99)
            return cli_error("bench", "--signer-realtime must be a SCHED_FIFO priority between "
                                      "1 and 99");
        cfg.signer_realtime = (int)prio;
    }
    if (opts[4].value) {
        if (strcmp(opts[4].value, "sync") == 0)
            cfg.durability = CHIO_DURABILITY_SYNC;
        else if (strcmp(opts[4].value, "nosync") == 0)
            cfg.durability = CHIO_DURABILITY_NOSYNC;
        else
            return cli_error("bench", "--durability must be sync or nosync");
    }
    if (opts[8].value) {
        kp = cli_load_seed("bench", opts[8].value); /* says why on failure */
        if (kp == NULL)
            return CLI_USAGE;
    } else if (chio_keypair_generate(&kp, NULL) != 0) {
        return cli_error("bench", "cannot generate a signing key");
    }

    cfg.keypair = kp; /* the kernel owns it from here on */
    cfg.policy_hash = "bench-policy";
    cfg.receipt_store_path = opts[0].value;
    cfg.signer_threads = (uint32_t)signers;
    cfg.ring_capacity = (uint32_t)ring;
    cfg.checkpoint_batch_size = cpb;
    cfg.log_level = CHIO_LOG_WARN;
    chio_error_init(&err);
    memset(&b, 0, sizeof(b));
    if (chio_kernel_new(&cfg, &b.k, &err) != 0)
        return cli_lib_error("bench", "kernel", err.code, &err);
    b.synthetic = opts[9].value != NULL;
    b.budget = opts[13].value != NULL;
    if (b.synthetic && b.budget) {
        chio_kernel_free(b.k);
        return cli_error("bench", "--budget applies to full evaluations, not --synthetic");
    }
    if (opts[10].value != NULL) {
        uint64_t r64 = 0;
        if (cli_u64(opts[10].value, &r64) != 0 || r64 < 1 || r64 > 10000000) {
            chio_kernel_free(b.k);
            return cli_error("bench", "--rate must be between 1 and 10000000 calls/s");
        }
        b.rate = (double)r64;
    }
    if (!b.synthetic && setup_session(&b, &err) != 0) {
        chio_kernel_free(b.k);
        return start_error("setting up the session", &err, opts[8].value, opts[0].value);
    }
    if (chio_kernel_start(b.k, &err) != 0) {
        chio_kernel_free(b.k);
        return start_error("starting the kernel", &err, opts[8].value, opts[0].value);
    }
    b.calls = calls;
    b.run_id = (uint64_t)time(NULL);
    fsync_us = cli_bench_fsync_p50_us(opts[0].value, 0);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    cs = calloc(threads, sizeof(*cs));
    ts = calloc(threads, sizeof(*ts));
    all = calloc(2, sizeof(*all)); /* [0] from the due time, [1] from the call's start */
    if (cs == NULL || ts == NULL || all == NULL) {
        chio_kernel_free(b.k);
        free(cs);
        free(ts);
        free(all);
        return cli_error("bench", "out of memory");
    }
    cli_thread_times_read(&tt0);
    cpu0 = process_cpu_s();
    t0 = cli_bench_now();
    b.start = t0 + 0.001;
    for (i = 0; i < threads; i++) {
        cs[i].b = &b;
        if (pthread_create(&ts[i], NULL, caller_main, &cs[i]) != 0)
            break;
        started++;
    }
    for (i = 0; i < started; i++)
        pthread_join(ts[i], NULL);
    elapsed = cli_bench_now() - t0;
    cpu = process_cpu_s() - cpu0;
    cli_thread_times_read(&tt1);
    if (cfg.signer_realtime != 0)
        realtime = cli_signers_realtime(); /* while the signers still run */
    chio_kernel_drain(b.k, NULL);
    chio_kernel_metrics_get(b.k, &m);
    chio_kernel_free(b.k);

    for (i = 0; i < started; i++) {
        hist_merge(&all[0], &cs[i].h);
        hist_merge(&all[1], &cs[i].in_call);
        ok += cs[i].ok;
        errors += cs[i].errors;
        if (first_error == 0)
            first_error = cs[i].first_error;
        if (msg_len == 0)
            msg_len = cs[i].receipt_len;
    }
    /* The raw limits after the run, with the kernel's threads gone, over
     * messages the size of this run's receipts. */
    raw = 0;
    memset(&allc, 0, sizeof(allc));
    if (chio_keypair_generate(&kp, NULL) == 0) {
        if (msg_len == 0)
            msg_len = message_size(kp);
        raw = cli_bench_raw_sign_rate(kp, msg_len);
        (void)cli_bench_sign_all_cpus(kp, msg_len, &allc); /* zeroed if it could not run */
        cli_bench_handoff(&handoff_idle_us, &handoff_busy_us);
        if (b.rate > 0 && !stop_requested)
            paced_us = cli_bench_paced_sign_us(kp, msg_len, (double)threads / b.rate, &late_us);
    }
    /* The pacing threads' timer slack (cli_bench_sleep_until set it on
     * this thread for the paced sign, as on each caller): 0 unpaced. */
    if (b.rate > 0)
        slack_ns = (long)prctl(PR_GET_TIMERSLACK, 0UL, 0UL, 0UL, 0UL);
    if (b.rate > 0 && !stop_requested && cfg.durability == CHIO_DURABILITY_SYNC)
        fsync_paced_us = cli_bench_fsync_p50_us(opts[0].value, (double)threads / b.rate);
    chio_keypair_free(kp);
    rate = elapsed > 0 ? (double)ok / elapsed : 0;
    raw_us = raw > 0 ? 1e6 / raw : 0;
    cpu_us = ok > 0 ? cpu * 1e6 / (double)ok : 0;
    limit = raw * (double)signers;
    if (cfg.durability == CHIO_DURABILITY_SYNC && raw_us + 1.5 * fsync_us > 0 &&
        (double)threads * 1e6 / (raw_us + 1.5 * fsync_us) < limit)
        limit = (double)threads * 1e6 / (raw_us + 1.5 * fsync_us);
    if (json) {
        printf("{\"mode\":\"%s\",\"open_loop_rate\":%.0f,\"calls\":%llu,\"threads\":%llu,"
               "\"signers\":%llu,"
               "\"durability\":\"%s\",\"calls_per_sec\":%.1f,\"raw_sign_per_sec\":%.1f,"
               "\"ratio_to_raw\":%.4f,\"raw_sign_us\":%.2f,\"fsync_p50_us\":%.1f,"
               "\"cpu_per_call_us\":%.2f,\"cpu_per_call_to_sign\":%.3f,\"limit_per_sec\":%.1f,"
               "\"ratio_to_limit\":%.4f,\"sign_paced_p50_us\":%.1f,\"wake_late_p50_us\":%.1f,"
               "\"timer_slack_ns\":%ld,"
               "\"fsync_paced_p50_us\":%.1f,\"sign_all_cpus\":%d,\"sign_all_cpus_us\":%.2f,"
               "\"sign_all_cpus_per_sec\":%.1f,\"cpu_per_call_to_sign_all_cpus\":%.3f,"
               "\"handoff_idle_cpu_us\":%.2f,\"handoff_busy_cpu_us\":%.2f,\"signer_"
               "priority\":%d,\"signer_realtime\":%d,"
               "\"signer_realtime_applied\":%s,"
               "\"p50_us\":%llu,\"p99_us\":%llu,\"p999_us\":%llu,\"max_us\":%llu,"
               "\"in_call_p50_us\":%llu,\"in_call_p99_us\":%llu,"
               "\"avg_batch\":%.2f,\"max_batch\":%llu,\"blocked\":%llu,\"wal_syncs\":%llu,"
               "\"checkpoints\":%llu,\"last_seq\":%llu,\"errors\":%llu,\"elapsed_sec\":%.3f,",
               b.synthetic ? "synthetic"
               : b.budget  ? "evaluate-budget"
                           : "evaluate",
               b.rate, (unsigned long long)ok, (unsigned long long)threads,
               (unsigned long long)signers,
               cfg.durability == CHIO_DURABILITY_SYNC ? "sync" : "nosync", rate, raw,
               raw > 0 ? rate / raw : 0, raw_us, fsync_us, cpu_us, raw_us > 0 ? cpu_us / raw_us : 0,
               limit, limit > 0 ? rate / limit : 0, paced_us, late_us, slack_ns, fsync_paced_us,
               allc.cpus, allc.cpu_us, allc.per_sec, allc.cpu_us > 0 ? cpu_us / allc.cpu_us : 0,
               handoff_idle_us, handoff_busy_us, cfg.signer_priority, cfg.signer_realtime,
               realtime == 1 ? "true" : "false", (unsigned long long)hist_pct(all, 50),
               (unsigned long long)hist_pct(all, 99), (unsigned long long)hist_pct(all, 99.9),
               (unsigned long long)all->max, (unsigned long long)hist_pct(&all[1], 50),
               (unsigned long long)hist_pct(&all[1], 99), m.avg_batch,
               (unsigned long long)m.max_batch, (unsigned long long)m.blocking_episodes,
               (unsigned long long)m.wal_syncs, (unsigned long long)m.checkpoints,
               (unsigned long long)m.last_seq, (unsigned long long)errors, elapsed);
        cli_thread_times_report(&tt0, &tt1, cpu, elapsed, ok, 1);
        printf("\"interrupted\":%s}\n", stop_requested ? "true" : "false");
    } else {
        printf("chio bench: %s, %llu threads, %llu signer%s, durability %s, %llu calls in %.2f "
               "s%s\n",
               b.synthetic ? "synthetic receipts"
               : b.budget  ? "full evaluations, each charging a budget"
                           : "full evaluations",
               (unsigned long long)threads, (unsigned long long)signers, signers == 1 ? "" : "s",
               cfg.durability == CHIO_DURABILITY_SYNC ? "sync" : "nosync", (unsigned long long)ok,
               elapsed, stop_requested ? " (interrupted)" : "");
        if (b.rate > 0)
            printf("  open loop      %.0f calls/s scheduled; latency from each call's due time\n",
                   b.rate);
        printf("  calls/s        %10.0f   (%.2f of the limit %.0f/s; %.2f of the raw sign rate "
               "%.0f/s)\n",
               rate, limit > 0 ? rate / limit : 0, limit, raw > 0 ? rate / raw : 0, raw);
        printf("  limits         raw sign %.1f us, 8 KiB write+fdatasync p50 %.0f us\n", raw_us,
               fsync_us);
        if (allc.cpus > 0)
            printf("  all CPUs sign  %.1f us CPU per signature with %d CPU%s signing at once "
                   "(%.2fx the raw sign; %.0f/s together)\n",
                   allc.cpu_us, allc.cpus, allc.cpus == 1 ? "" : "s",
                   raw_us > 0 ? allc.cpu_us / raw_us : 0, allc.per_sec);
        if (handoff_busy_us > 0)
            printf("  hand-off       %.1f us CPU per thread wake-and-sleep with every CPU busy, "
                   "%.1f us with a CPU idle\n",
                   handoff_busy_us, handoff_idle_us);
        if (paced_us > 0)
            printf("  paced sign     %.1f us p50 (one sign every %.2f ms on one thread; "
                   "woke %.1f us late, p50)\n",
                   paced_us, 1e3 * (double)threads / b.rate, late_us);
        if (fsync_paced_us > 0)
            printf("  paced fsync    %.0f us p50 (8 KiB write+fdatasync every %.2f ms)\n",
                   fsync_paced_us, 1e3 * (double)threads / b.rate);
        if (cfg.signer_priority != 0)
            printf("  kernel threads nice %d\n", cfg.signer_priority);
        if (cfg.signer_realtime != 0)
            printf("  signer threads SCHED_FIFO %d: %s\n", cfg.signer_realtime,
                   realtime == 1 ? "applied" : "NOT applied (see the warning above)");
        printf("  CPU per call   %.1f us  (%.2fx the raw sign time", cpu_us,
               raw_us > 0 ? cpu_us / raw_us : 0);
        if (allc.cpu_us > 0)
            printf(", %.2fx a signature with all CPUs signing", cpu_us / allc.cpu_us);
        printf(")\n");
        cli_thread_times_report(&tt0, &tt1, cpu, elapsed, ok, 0);
        printf("  latency (us)   p50 %llu  p99 %llu  p99.9 %llu  max %llu\n",
               (unsigned long long)hist_pct(all, 50), (unsigned long long)hist_pct(all, 99),
               (unsigned long long)hist_pct(all, 99.9), (unsigned long long)all->max);
        if (b.rate > 0)
            printf("  in the call    p50 %llu  p99 %llu  (from when the caller started the call,\n"
                   "                 after its own timer woke it)\n",
                   (unsigned long long)hist_pct(&all[1], 50),
                   (unsigned long long)hist_pct(&all[1], 99));
        printf("  group commits  %llu (avg %.1f receipts, max %llu), WAL syncs %llu\n",
               (unsigned long long)m.batches, m.avg_batch, (unsigned long long)m.max_batch,
               (unsigned long long)m.wal_syncs);
        printf("  ring           high water %llu of %llu, blocking episodes %llu\n",
               (unsigned long long)m.ring_high_water, (unsigned long long)m.ring_capacity,
               (unsigned long long)m.blocking_episodes);
        printf("  log            last seq %llu, %llu checkpoints this run\n",
               (unsigned long long)m.last_seq, (unsigned long long)m.checkpoints);
        if (errors > 0)
            printf("  errors         %llu (first: %s)\n", (unsigned long long)errors,
                   chio_errno_name(first_error));
    }
    free(cs);
    free(ts);
    free(all);
    return errors ? CLI_NEGATIVE : CLI_OK;
}
