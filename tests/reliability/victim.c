/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/reliability/victim.c - a kernel under load, to be killed.
 *
 *   victim DIR THREADS [--batch N] [--signers N]
 *
 * Opens a kernel on the receipt store DIR (created or reopened: a killed
 * run's store is continued) with durability CHIO_DURABILITY_SYNC and
 * checkpoint_batch_size N (default 10), the test key (seed 07 x 32), and
 * runs synchronous chio_kernel_sign_receipt() calls from THREADS threads
 * until SIGTERM or SIGINT. tests/cli/test_crash.c drives it.
 *
 * Standard output, one line per event, each written with a single write(2)
 * under a mutex (shorter than PIPE_BUF, so a reader never sees a torn or
 * interleaved line, even when the process is killed):
 *
 *   start <last_seq> <last_checkpoint_seq>    the store is open, counters restored
 *   ack <receipt id> <sha256 of its bytes>    a call returned 0: the receipt is
 *                                             committed; the hash is over
 *                                             chio_receipt_json(), the bytes stored
 *   error <code> <message>                    a call failed (not CHIO_EDRAINED);
 *                                             that thread stops
 *   drained <last_seq> <last_checkpoint_seq>  after SIGTERM/SIGINT: the kernel drained
 *                                             and every thread's acks are printed
 *
 * The public API does not expose a receipt's sequence number, so acks name
 * the receipt id; the harness maps ids to sequence numbers through the
 * store's id index (chio_store_find_receipt).
 *
 * Exit status: 0 after "drained"; 2 bad usage; 3 the kernel did not start;
 * 4 drain failed (the kernel had failed closed).
 *
 * A single file on purpose: the Makefile builds each file in tests/reliability
 * alone against libchio.a. Only the public API is used.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "chio/chio.h"

#define VICTIM_SEED "0707070707070707070707070707070707070707070707070707070707070707"

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;
static volatile int stopping; /* read by workers, set by main (atomic builtins) */

/* One line, one write(2). */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    size_t off = 0;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    pthread_mutex_lock(&out_mu);
    while (off < (size_t)n) {
        ssize_t w = write(1, line + off, (size_t)n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            _exit(1); /* the reader went away */
        off += (size_t)w;
    }
    pthread_mutex_unlock(&out_mu);
}

/* Receipts are logged by the kernel at WARN and above on stderr. */
static void to_stderr(void *ctx, chio_log_level level, const char *json, size_t len)
{
    (void)ctx;
    if (level >= CHIO_LOG_WARN)
        fprintf(stderr, "%.*s\n", (int)len, json);
}

typedef struct worker {
    pthread_t thread;
    chio_kernel *k;
    int index;
    unsigned long long nonce;
} worker;

static chio_receipt_builder *make_body(const worker *w, unsigned long long n)
{
    chio_receipt_builder *b = NULL;
    char params[160];

    /* Unique across threads, runs and restarts: the run nonce is the
     * start time in nanoseconds and the pid. */
    snprintf(params, sizeof(params), "{\"path\":\"/victim/%llx/%d/%llu\"}", w->nonce, w->index, n);
    if (chio_receipt_builder_new(&b) != 0)
        return NULL;
    if (chio_receipt_builder_set_capability_id(b, "cap-victim") != 0 ||
        chio_receipt_builder_set_tool(b, "srv-files", "file_read") != 0 ||
        chio_receipt_builder_set_parameters(b, params, strlen(params), NULL) != 0 ||
        chio_receipt_builder_set_decision(b, CHIO_VERDICT_ALLOW, NULL, NULL) != 0) {
        chio_receipt_builder_free(b);
        return NULL;
    }
    return b;
}

static void *work(void *arg)
{
    worker *w = arg;
    unsigned long long n;

    for (n = 0; !__atomic_load_n(&stopping, __ATOMIC_SEQ_CST); n++) {
        chio_receipt_builder *b = make_body(w, n);
        chio_receipt *r = NULL;
        chio_error err;
        const char *json;
        size_t len = 0;
        char sha[65];
        int rc;

        if (b == NULL) {
            say("error CHIO_ENOMEM cannot build a receipt body");
            break;
        }
        chio_error_init(&err);
        rc = chio_kernel_sign_receipt(w->k, b, &r, &err);
        if (rc == CHIO_EDRAINED)
            break;
        if (rc != 0) {
            say("error %s %s", chio_err_name(rc), err.message);
            break;
        }
        json = chio_receipt_json(r, &len);
        if (json == NULL || chio_sha256_hex(json, len, sha) != 0) {
            say("error CHIO_ENOMEM cannot hash the receipt");
            chio_receipt_free(r);
            break;
        }
        say("ack %s %s", chio_receipt_id(r), sha);
        chio_receipt_free(r);
    }
    return NULL;
}

static int parse_u32(const char *s, uint32_t *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v > 0xffffffffUL)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: victim DIR THREADS [--batch N] [--signers N]\n");
    return 2;
}

int main(int argc, char **argv)
{
    chio_kernel_config cfg;
    chio_kernel_metrics m;
    chio_kernel *k = NULL;
    chio_keypair *kp = NULL;
    chio_error err;
    worker *ws;
    sigset_t set;
    struct timespec now;
    uint32_t threads = 0, batch = 10, signers = 1, i;
    int sig = 0, a, rc;

    if (argc < 3 || parse_u32(argv[2], &threads) != 0 || threads == 0 || threads > 256)
        return usage();
    for (a = 3; a < argc; a++) {
        if (strcmp(argv[a], "--batch") == 0 && a + 1 < argc) {
            if (parse_u32(argv[++a], &batch) != 0)
                return usage();
        } else if (strcmp(argv[a], "--signers") == 0 && a + 1 < argc) {
            if (parse_u32(argv[++a], &signers) != 0 || signers == 0)
                return usage();
        } else {
            return usage();
        }
    }
    /* Die with the harness rather than run on forever. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* Every thread (ours and the kernel's) inherits this mask; only the
     * sigwait below takes SIGTERM and SIGINT. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    chio_error_init(&err);
    chio_kernel_config_init(&cfg);
    if (chio_keypair_from_seed_hex(VICTIM_SEED, 64, &kp, &err) != 0) {
        fprintf(stderr, "victim: key: %s\n", err.message);
        return 3;
    }
    cfg.keypair = kp;
    cfg.policy_hash = "policy-test-v1";
    cfg.receipt_store_path = argv[1];
    cfg.durability = CHIO_DURABILITY_SYNC;
    cfg.checkpoint_batch_size = batch;
    cfg.signer_threads = signers;
    cfg.log = to_stderr;
    cfg.log_level = CHIO_LOG_WARN;
    if (chio_kernel_new(&cfg, &k, &err) != 0) {
        fprintf(stderr, "victim: kernel: %s\n", err.message);
        return 3;
    }
    if (chio_kernel_start(k, &err) != 0) {
        fprintf(stderr, "victim: start: %s (%s)\n", err.message, chio_err_name(err.code));
        chio_kernel_free(k);
        return 3;
    }
    chio_kernel_metrics_get(k, &m);
    say("start %llu %llu", (unsigned long long)m.last_seq,
        (unsigned long long)m.last_checkpoint_seq);

    ws = calloc(threads, sizeof(*ws));
    if (ws == NULL)
        return 3;
    clock_gettime(CLOCK_REALTIME, &now);
    for (i = 0; i < threads; i++) {
        ws[i].k = k;
        ws[i].index = (int)i;
        ws[i].nonce =
            ((unsigned long long)now.tv_sec * 1000000000ULL + (unsigned long long)now.tv_nsec) ^
            ((unsigned long long)getpid() << 40);
        if (pthread_create(&ws[i].thread, NULL, work, &ws[i]) != 0) {
            fprintf(stderr, "victim: cannot start thread %u\n", i);
            return 3;
        }
    }
    while (sigwait(&set, &sig) != 0) {
    }
    __atomic_store_n(&stopping, 1, __ATOMIC_SEQ_CST);
    chio_error_init(&err);
    rc = chio_kernel_drain(k, &err);
    for (i = 0; i < threads; i++)
        pthread_join(ws[i].thread, NULL);
    chio_kernel_metrics_get(k, &m);
    if (rc != 0) {
        say("error %s drain: %s", chio_err_name(rc), err.message);
        chio_kernel_free(k);
        free(ws);
        return 4;
    }
    say("drained %llu %llu", (unsigned long long)m.last_seq,
        (unsigned long long)m.last_checkpoint_seq);
    chio_kernel_free(k);
    free(ws);
    return 0;
}
