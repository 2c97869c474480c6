/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/bench_sidecar.c - `chio bench --compare-sidecar`: the same allowed
 * evaluations in-process (a kernel in this process, chio_kernel_evaluate)
 * and through a `chio serve` this command starts on loopback (POST
 * /v1/evaluate on keep-alive connections, one per caller), at 1 and 16
 * callers, in one run; prints calls/s and p50/p99 of each. Both sides
 * register the tool with a dispatch that does nothing (the sidecar cannot
 * run tools), so the difference is the HTTP hop and the request handling.
 * Public API only; the sidecar is this same binary (/proc/self/exe).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define SC_SERVER "srv-bench"
#define SC_CAP    "cap-bench"
#define SC_SCOPE                                                                            \
    "{\"grants\":[{\"server_id\":\"" SC_SERVER "\",\"tool_name\":\"echo\",\"operations\":[" \
    "\"invoke\"],\"constraints\":[{\"type\":\"path_prefix\",\"value\":\"/workspace\"}]}]}"

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct sc_run {
    /* shared */
    chio_kernel *k; /* in-process; NULL = sidecar */
    const char *sid;
    unsigned port;
    const char *token;
    uint64_t calls, next;
    /* per caller */
    double *lat;
    size_t nlat;
    uint64_t errors;
} sc_run;

static int noop(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    (void)args;
    (void)len;
    (void)out;
    return 0;
}

static int inproc_call(sc_run *r, uint64_t n)
{
    char args[128];
    chio_response resp;
    chio_call c;
    int rc;

    snprintf(args, sizeof(args), "{\"path\":\"/workspace/bench/%llu.txt\",\"mode\":\"read\"}",
             (unsigned long long)n);
    memset(&c, 0, sizeof(c));
    c.session_id = r->sid;
    c.capability_id = SC_CAP;
    c.server_id = SC_SERVER;
    c.tool_name = "echo";
    c.arguments_json = args;
    c.arguments_len = strlen(args);
    chio_response_init(&resp);
    rc = chio_kernel_evaluate(r->k, &c, &resp, NULL);
    if (rc == 0 && resp.verdict != CHIO_VERDICT_ALLOW)
        rc = CHIO_EDENIED;
    chio_response_destroy(&resp);
    return rc;
}

/* One POST /v1/evaluate on the kept-alive connection @fd; 0 on an allow. */
static int sidecar_call(sc_run *r, int fd, uint64_t n, char *buf, size_t cap)
{
    char body[4096], *hdr_end = NULL, *cl;
    size_t have = 0, need;
    int blen, len;
    ssize_t got;

    blen = snprintf(body, sizeof(body),
                    "{\"capability\":%s,\"tool_server\":\"" SC_SERVER "\",\"tool_name\":\"echo\","
                    "\"parameters\":{\"path\":\"/workspace/bench/%llu.txt\",\"mode\":\"read\"}}",
                    r->token, (unsigned long long)n);
    len = snprintf(buf, cap,
                   "POST /v1/evaluate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                   "application/json\r\nContent-Length: %d\r\n\r\n%s",
                   blen, body);
    if (blen <= 0 || (size_t)blen >= sizeof(body) || len <= 0 || (size_t)len >= cap ||
        send(fd, buf, (size_t)len, MSG_NOSIGNAL) != len)
        return -1;
    for (;;) {
        got = recv(fd, buf + have, cap - 1 - have, 0);
        if (got <= 0)
            return -1;
        have += (size_t)got;
        buf[have] = '\0';
        if (hdr_end == NULL && (hdr_end = strstr(buf, "\r\n\r\n")) != NULL) {
            cl = strcasestr(buf, "\r\nContent-Length:");
            if (cl == NULL || cl > hdr_end)
                return -1;
            need = (size_t)(hdr_end + 4 - buf) + strtoull(cl + 17, NULL, 10);
            if (need >= cap)
                return -1;
        }
        if (hdr_end != NULL && have >= need)
            break;
    }
    return strncmp(buf, "HTTP/1.1 200", 12) == 0 && strstr(hdr_end, "\"verdict\":\"allow\"") ? 0
                                                                                             : -1;
}

static int dial_loopback(unsigned port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

typedef struct sc_caller {
    sc_run *r;
    double *lat;
    size_t n;
    uint64_t errors;
} sc_caller;

static void *caller_main(void *arg)
{
    sc_caller *c = arg;
    sc_run *r = c->r;
    char *buf = NULL;
    int fd = -1;

    if (r->k == NULL) {
        buf = malloc(16384);
        fd = dial_loopback(r->port);
        if (buf == NULL || fd < 0) {
            c->errors++;
            free(buf);
            if (fd >= 0)
                close(fd);
            return NULL;
        }
    }
    for (;;) {
        uint64_t n = __atomic_fetch_add(&r->next, 1, __ATOMIC_RELAXED);
        double t0;
        int rc;

        if (n >= r->calls)
            break;
        t0 = mono_s();
        rc = r->k ? inproc_call(r, n) : sidecar_call(r, fd, n, buf, 16384);
        if (rc != 0) {
            c->errors++;
            if (r->k == NULL)
                break; /* the connection is in an unknown state */
            continue;
        }
        c->lat[c->n++] = (mono_s() - t0) * 1e6;
    }
    if (fd >= 0)
        close(fd);
    free(buf);
    return NULL;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct sc_result {
    double rate, p50, p99;
    uint64_t ok, errors;
} sc_result;

/* Run r->calls calls from @callers threads; latencies sorted into a result. */
static void run_callers(sc_run *r, unsigned callers, sc_result *out)
{
    sc_caller cs[16];
    pthread_t ts[16];
    double *all, t0, el;
    size_t n = 0, i, j;
    unsigned started = 0;

    memset(out, 0, sizeof(*out));
    memset(cs, 0, sizeof(cs));
    all = calloc(r->calls + 1, sizeof(double));
    r->next = 0;
    for (i = 0; i < callers; i++) {
        cs[i].r = r;
        cs[i].lat = calloc(r->calls + 1, sizeof(double));
    }
    t0 = mono_s();
    for (i = 0; i < callers; i++)
        if (all != NULL && cs[i].lat != NULL &&
            pthread_create(&ts[started], NULL, caller_main, &cs[i]) == 0)
            started++;
    for (i = 0; i < started; i++)
        pthread_join(ts[i], NULL);
    el = mono_s() - t0;
    for (i = 0; i < callers; i++) {
        for (j = 0; all != NULL && j < cs[i].n; j++)
            all[n++] = cs[i].lat[j];
        out->errors += cs[i].errors;
        free(cs[i].lat);
    }
    if (started < callers)
        out->errors++;
    if (all != NULL && n > 0) {
        qsort(all, n, sizeof(double), cmp_dbl);
        out->p50 = all[n / 2];
        out->p99 = all[(size_t)((double)n * 0.99)];
    }
    out->ok = n;
    out->rate = el > 0 ? (double)n / el : 0;
    free(all);
}

/* Start `chio serve` (this binary) on a free loopback port; its port. */
static pid_t start_sidecar(const char *db, const char *seed, int nosync, unsigned *port)
{
    const char *argv[] = {"chio",
                          "serve",
                          "--receipt-db",
                          db,
                          "--seed-file",
                          seed,
                          "--listen",
                          "127.0.0.1:0",
                          "--tool",
                          SC_SERVER ":echo",
                          "--durability",
                          nosync ? "nosync" : "sync",
                          "--max-connections",
                          "64",
                          NULL};
    char line[512];
    int p[2], st;
    size_t have = 0;
    ssize_t got;
    pid_t pid;
    const char *at;

    if (pipe(p) != 0)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(p[1], 1);
        if (devnull >= 0)
            dup2(devnull, 2); /* the kernel's info log would mix with the report */
        close(p[0]);
        execv("/proc/self/exe", (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    while (have < sizeof(line) - 1 &&
           (got = read(p[0], line + have, sizeof(line) - 1 - have)) > 0) {
        have += (size_t)got;
        line[have] = '\0';
        if (strchr(line, '\n') != NULL)
            break;
    }
    close(p[0]);
    line[have] = '\0';
    at = strstr(line, "\"listening\":\"127.0.0.1:");
    if (at == NULL) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        return -1;
    }
    *port = (unsigned)atoi(at + strlen("\"listening\":\"127.0.0.1:"));
    return pid;
}

/* DIR holds what a run keeps there (bench.seed, inproc/, sidecar/): it
 * must be missing, empty, or hold only those, so that a first run never
 * drops a signing seed and two stores among a user's files (a project
 * directory a mistyped --receipt-db named). 0, or CLI_USAGE after saying
 * why. */
static int check_bench_dir(const char *dir)
{
    struct dirent *de;
    DIR *d = opendir(dir);
    const char *other = NULL;
    int rc = 0;

    if (d == NULL)
        return errno == ENOENT ? 0
                               : cli_error("bench", "--receipt-db %s: %s", dir, strerror(errno));
    while (other == NULL && (de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
            strcmp(de->d_name, "bench.seed") != 0 && strcmp(de->d_name, "inproc") != 0 &&
            strcmp(de->d_name, "sidecar") != 0)
            other = de->d_name;
    if (other != NULL)
        rc = cli_error("bench",
                       "refusing --receipt-db %s for --compare-sidecar: it holds %s, not only "
                       "what a run keeps there (bench.seed, inproc, sidecar); give a new or "
                       "empty directory",
                       dir, other);
    closedir(d);
    return rc;
}

int cli_bench_compare_sidecar(const char *dir, uint64_t calls, int nosync, const char *seed_file,
                              int json)
{
    static const unsigned callers[2] = {1, 16};
    char inproc_db[4096], side_db[4096], seed_path[4096], hex[65], sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel_config cfg;
    chio_keypair *kp = NULL, *agent = NULL;
    chio_capability *cap = NULL;
    chio_tool_server ts;
    const char *const tools[] = {"echo"};
    const char *caps[1];
    sc_result in[2], sc[2];
    sc_run r;
    chio_error err;
    unsigned port = 0;
    pid_t pid;
    int st, i, rc = CLI_USAGE;

    if (snprintf(inproc_db, sizeof(inproc_db), "%s/inproc", dir) >= (int)sizeof(inproc_db) ||
        snprintf(side_db, sizeof(side_db), "%s/sidecar", dir) >= (int)sizeof(side_db) ||
        snprintf(seed_path, sizeof(seed_path), "%s/bench.seed", dir) >= (int)sizeof(seed_path))
        return cli_error("bench", "--receipt-db path too long");
    if (check_bench_dir(dir) != 0)
        return CLI_USAGE;
    mkdir(dir, 0700);
    if (cli_check_store_dir("bench", "--receipt-db DIR/inproc", inproc_db) != 0 ||
        cli_check_store_dir("bench", "--receipt-db DIR/sidecar", side_db) != 0)
        return CLI_USAGE;
    /* One key for both sides, the sidecar reads it from a 0600 file: the
     * given one, else DIR/bench.seed (made by the first run: a store is
     * signed by one key, so later runs on DIR reuse it). */
    if (seed_file == NULL && access(seed_path, F_OK) == 0)
        seed_file = seed_path;
    kp = seed_file ? cli_load_seed("bench", seed_file) : NULL; /* says why on failure */
    if (kp == NULL && seed_file != NULL)
        return CLI_USAGE;
    if (kp == NULL && chio_keypair_generate(&kp, NULL) != 0)
        return cli_error("bench", "cannot generate a signing key");
    if (seed_file == NULL) {
        /* O_EXCL | O_NOFOLLOW: a file or link planted at the path after the
         * access() check (or a dangling link, which access() calls absent)
         * never receives the seed; it is written only into a new file. */
        int fd = open(seed_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        int e = fd < 0 ? errno : 0;
        ssize_t w = 64;

        if (fd >= 0) {
            chio_keypair_write_seed_hex(kp, hex);
            w = write(fd, hex, 64);
        }
        if (w != 64) {
            e = w < 0 ? errno : EIO;
            close(fd);
            fd = -1;
            unlink(seed_path);
        }
        if (fd < 0) {
            explicit_bzero(hex, sizeof(hex));
            chio_keypair_free(kp);
            return cli_error("bench", "cannot write %s: %s", seed_path, strerror(e));
        }
        close(fd);
        seed_file = seed_path;
    }
    explicit_bzero(hex, sizeof(hex));
    chio_error_init(&err);
    if (chio_keypair_generate(&agent, &err) != 0 ||
        chio_capability_issue(kp, SC_CAP, chio_keypair_public_hex(agent), SC_SCOPE,
                              sizeof(SC_SCOPE) - 1, (uint64_t)time(NULL), 86400, &cap, &err) != 0) {
        chio_keypair_free(kp);
        chio_keypair_free(agent);
        return cli_lib_error("bench", "issuing the token", err.code, &err);
    }

    /* In-process. */
    memset(&r, 0, sizeof(r));
    chio_kernel_config_init(&cfg);
    cfg.keypair = kp; /* taken */
    cfg.policy_hash = "chio-sidecar";
    cfg.receipt_store_path = inproc_db;
    cfg.durability = nosync ? CHIO_DURABILITY_NOSYNC : CHIO_DURABILITY_SYNC;
    cfg.log_level = CHIO_LOG_WARN;
    memset(&ts, 0, sizeof(ts));
    ts.server_id = SC_SERVER;
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = noop;
    caps[0] = chio_capability_json(cap, NULL);
    if (chio_kernel_new(&cfg, &r.k, &err) != 0 ||
        chio_kernel_register_tool_server(r.k, &ts, &err) != 0 ||
        chio_kernel_open_session(r.k, chio_keypair_public_hex(agent), caps, NULL, 1, sid, &err) !=
            0 ||
        chio_kernel_start(r.k, &err) != 0) {
        cli_lib_error("bench", "in-process kernel", err.code, &err);
        goto out;
    }
    r.sid = sid;
    r.calls = calls;
    for (i = 0; i < 2; i++)
        run_callers(&r, callers[i], &in[i]);
    chio_kernel_drain(r.k, NULL);
    chio_kernel_free(r.k);
    r.k = NULL;

    /* Through the sidecar. */
    pid = start_sidecar(side_db, seed_file, nosync, &port);
    if (pid < 0) {
        cli_error("bench", "could not start chio serve on loopback");
        goto out;
    }
    r.port = port;
    r.token = chio_capability_json(cap, NULL);
    for (i = 0; i < 2; i++)
        run_callers(&r, callers[i], &sc[i]);
    kill(pid, SIGTERM);
    waitpid(pid, &st, 0);

    if (json) {
        printf("{\"mode\":\"compare-sidecar\",\"durability\":\"%s\",\"calls\":%llu,"
               "\"inproc_p50_us\":%.1f,\"inproc_p99_us\":%.1f,\"inproc_calls_per_sec\":%.1f,"
               "\"sidecar_p50_us\":%.1f,\"sidecar_p99_us\":%.1f,\"sidecar_calls_per_sec\":%.1f,"
               "\"inproc_p50_us_16\":%.1f,\"inproc_p99_us_16\":%.1f,"
               "\"inproc_calls_per_sec_16\":%.1f,\"sidecar_p50_us_16\":%.1f,"
               "\"sidecar_p99_us_16\":%.1f,\"sidecar_calls_per_sec_16\":%.1f,\"errors\":%llu}\n",
               nosync ? "nosync" : "sync", (unsigned long long)calls, in[0].p50, in[0].p99,
               in[0].rate, sc[0].p50, sc[0].p99, sc[0].rate, in[1].p50, in[1].p99, in[1].rate,
               sc[1].p50, sc[1].p99, sc[1].rate,
               (unsigned long long)(in[0].errors + in[1].errors + sc[0].errors + sc[1].errors));
    } else {
        printf("chio bench --compare-sidecar: %llu allowed evaluations per run, durability %s\n",
               (unsigned long long)calls, nosync ? "nosync" : "sync");
        printf("  %-8s %-11s %12s %10s %10s\n", "callers", "mode", "calls/s", "p50 us", "p99 us");
        for (i = 0; i < 2; i++) {
            printf("  %-8u %-11s %12.0f %10.1f %10.1f\n", callers[i], "in-process", in[i].rate,
                   in[i].p50, in[i].p99);
            printf("  %-8u %-11s %12.0f %10.1f %10.1f\n", callers[i], "sidecar", sc[i].rate,
                   sc[i].p50, sc[i].p99);
        }
        printf("  the sidecar adds %.1f us to the p50 at 1 caller\n", sc[0].p50 - in[0].p50);
    }
    rc = in[0].errors + in[1].errors + sc[0].errors + sc[1].errors ? CLI_NEGATIVE : CLI_OK;
out:
    chio_kernel_free(r.k);
    chio_capability_free(cap);
    chio_keypair_free(agent);
    return rc;
}
