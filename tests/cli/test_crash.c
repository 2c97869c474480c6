/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_crash.c - crash durability: a kernel under load
 * (tests/reliability/victim.c, a separate process) is killed with SIGKILL
 * at random moments, again and again on the same store, or stopped with
 * SIGTERM mid-load; after each stop the store is opened read-only and
 * checked against what the victim acknowledged.
 *
 * What must hold after every stop:
 *  - every acknowledged receipt is stored, byte for byte (the victim prints
 *    the sha256 of the bytes it was handed), under a sequence number
 *    assigned in that run, and no sequence number is acknowledged twice;
 *  - sequence numbers run from 1 without a gap and every receipt verifies
 *    under the kernel key;
 *  - every checkpoint verifies, is signed by the kernel key, chains to the
 *    previous one (previous_checkpoint_sha256, contiguous ranges of the
 *    batch size) and matches the Merkle root of its stored receipts; a
 *    checkpoint is committed in the same write as the receipt that closes
 *    its range, so there are exactly last_seq / batch of them;
 *  - the next run continues: it starts from the stored last_seq and
 *    checkpoint, and the chain goes on.
 * After SIGTERM also: the victim exits 0 after draining, every receipt it
 * committed was acknowledged (committed == acknowledged == the last_seq it
 * printed), and the checkpoint of every crossed boundary is there
 * (kernel.md, Drain: "emit the final checkpoint when the receipt count
 * crossed a checkpoint boundary").
 * At the end `chio receipt verify --receipt-db` audits the whole log.
 *
 * The checks are incremental (receipts already verified are compared by
 * hash), so a run costs time in proportion to what it added.
 *
 * Environment: CHIO_CRASH_ITERATIONS (default 20) and CHIO_CRASH_SEED
 * (default 0x5eed) for longer or different runs (`make stress`).
 *
 * No Criterion .timeout: every wait here has its own deadline, and with
 * two timed tests running in parallel Criterion 2.4.1's runner leaks a
 * 48-byte block that `make asan` reports.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

extern char **environ;

#define VICTIM             CHIO_RELIABILITY_DIR "/victim"
#define DEFAULT_ITERATIONS 20
#define DEFAULT_SEED       0x5eedu
#define START_TIMEOUT_MS   30000
#define EXIT_TIMEOUT_MS    30000
/* Checkpoints cut but not yet written when a kill lands: at most 64
 * waiting for their signature plus those signed since the commit stage
 * last took the ready ones (kernel/checkpointer.c). */
#define MAX_OWED_CHECKPOINTS 128

static char *dir;

static void setup(void)
{
    dir = testutil_tmpdir();
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
}

TestSuite(crash, .init = setup, .fini = teardown);

/* ---- what the victims acknowledged, and what the store holds ------------------------------ */

typedef struct ack {
    char id[65];
    char sha[65];
    unsigned run;
} ack;

typedef struct ledger {
    char *db;
    uint64_t batch;
    uint8_t key[32];
    char what[128];   /* the current run, for messages */
    int ever_started; /* a victim has opened the store */

    ack *acks;
    size_t nacks, capacks, acks_checked;

    /* per sequence number (index seq - 1): Merkle leaf, sha256, acked */
    uint8_t *leaves, *shas, *acked;
    uint64_t capseq;
    uint64_t verified; /* receipts 1..verified were fully verified before */
    uint64_t last;     /* last_seq at the latest check */

    /* per checkpoint (index cseq - 1): sha256 of the stored bytes */
    uint8_t *cpshas;
    uint64_t capcp, ncps;
    uint64_t cps_verified;
    char prev_body_sha[65]; /* body sha256 of checkpoint cps_verified */
    uint64_t prev_end;      /* its batch_end_seq */

    /* scan state */
    uint64_t expect, expect_cp;
} ledger;

static void ledger_init(ledger *L, const char *name, uint64_t batch)
{
    memset(L, 0, sizeof(*L));
    cr_assert_geq(asprintf(&L->db, "%s/%s", dir, name), 0);
    L->batch = batch;
    cr_assert_eq(chio_pubkey_from_hex(TEST_PUB, 64, L->key), 0);
}

static void ledger_free(ledger *L)
{
    free(L->db);
    free(L->acks);
    free(L->leaves);
    free(L->shas);
    free(L->acked);
    free(L->cpshas);
}

static void grow_seq(ledger *L, uint64_t seq)
{
    uint64_t cap;

    if (seq <= L->capseq)
        return;
    cap = L->capseq ? L->capseq : 1024;
    while (cap < seq)
        cap *= 2;
    L->leaves = realloc(L->leaves, cap * 32);
    L->shas = realloc(L->shas, cap * 32);
    L->acked = realloc(L->acked, cap);
    cr_assert(L->leaves && L->shas && L->acked);
    memset(L->acked + L->capseq, 0, cap - L->capseq);
    L->capseq = cap;
}

static void grow_cp(ledger *L, uint64_t cseq)
{
    uint64_t cap;

    if (cseq <= L->capcp)
        return;
    cap = L->capcp ? L->capcp * 2 : 256;
    while (cap < cseq)
        cap *= 2;
    L->cpshas = realloc(L->cpshas, cap * 32);
    cr_assert_not_null(L->cpshas);
    L->capcp = cap;
}

static int visit_receipt(void *ctx, uint64_t seq, const char *json, size_t len)
{
    ledger *L = ctx;
    uint8_t sha[32];
    chio_receipt *r = NULL;
    chio_receipt_report rep;

    cr_assert_eq(seq, L->expect, "%s: expected receipt %llu, found %llu (a gap)", L->what,
                 (unsigned long long)L->expect, (unsigned long long)seq);
    L->expect = seq + 1;
    cr_assert_eq(chio_sha256(json, len, sha), 0);
    grow_seq(L, seq);
    if (seq <= L->verified) {
        cr_assert_eq(memcmp(sha, L->shas + 32 * (seq - 1), 32), 0,
                     "%s: receipt %llu changed since it was first checked", L->what,
                     (unsigned long long)seq);
        return 0;
    }
    cr_assert_eq(chio_receipt_parse(json, len, &r, NULL), 0, "%s: receipt %llu does not parse",
                 L->what, (unsigned long long)seq);
    cr_assert_eq(chio_receipt_verify(r, L->key, 1, &rep), 0);
    cr_assert(rep.ok, "%s: receipt %llu does not verify under the kernel key", L->what,
              (unsigned long long)seq);
    chio_receipt_free(r);
    memcpy(L->shas + 32 * (seq - 1), sha, 32);
    cr_assert_eq(chio_merkle_leaf_hash(json, len, L->leaves + 32 * (seq - 1)), 0);
    return 0;
}

static int visit_checkpoint(void *ctx, uint64_t cseq, const char *json, size_t len)
{
    ledger *L = ctx;
    chio_checkpoint *cp = NULL;
    uint8_t sha[32], root[32];
    uint64_t start, end;
    const char *prev;

    cr_assert_eq(cseq, L->expect_cp, "%s: expected checkpoint %llu, found %llu", L->what,
                 (unsigned long long)L->expect_cp, (unsigned long long)cseq);
    L->expect_cp = cseq + 1;
    cr_assert_eq(chio_sha256(json, len, sha), 0);
    grow_cp(L, cseq);
    if (cseq <= L->cps_verified) {
        cr_assert_eq(memcmp(sha, L->cpshas + 32 * (cseq - 1), 32), 0,
                     "%s: checkpoint %llu changed since it was first checked", L->what,
                     (unsigned long long)cseq);
        return 0;
    }
    cr_assert_eq(chio_checkpoint_parse(json, len, &cp, NULL), 0,
                 "%s: checkpoint %llu does not parse", L->what, (unsigned long long)cseq);
    cr_assert_eq(chio_checkpoint_verify(cp), 0, "%s: checkpoint %llu does not verify", L->what,
                 (unsigned long long)cseq);
    cr_assert_str_eq(chio_checkpoint_kernel_key_hex(cp), TEST_PUB);
    cr_assert_eq(chio_checkpoint_seq(cp), cseq);
    prev = chio_checkpoint_previous_sha256(cp);
    if (cseq == 1)
        cr_assert_null(prev, "%s: checkpoint 1 names a previous checkpoint", L->what);
    else
        cr_assert(prev != NULL && strcmp(prev, L->prev_body_sha) == 0,
                  "%s: checkpoint %llu does not chain to checkpoint %llu", L->what,
                  (unsigned long long)cseq, (unsigned long long)(cseq - 1));
    start = chio_checkpoint_batch_start(cp);
    end = chio_checkpoint_batch_end(cp);
    cr_assert_eq(start, L->prev_end + 1, "%s: checkpoint %llu starts at %llu, not %llu", L->what,
                 (unsigned long long)cseq, (unsigned long long)start,
                 (unsigned long long)(L->prev_end + 1));
    cr_assert_eq(end - start + 1, L->batch, "%s: checkpoint %llu covers %llu receipts", L->what,
                 (unsigned long long)cseq, (unsigned long long)(end - start + 1));
    cr_assert_leq(end, L->last,
                  "%s: checkpoint %llu covers receipts up to %llu, the log ends at "
                  "%llu",
                  L->what, (unsigned long long)cseq, (unsigned long long)end,
                  (unsigned long long)L->last);
    cr_assert_eq(chio_merkle_root(L->leaves + 32 * (start - 1), (size_t)(end - start + 1), root),
                 0);
    cr_assert_eq(memcmp(root, chio_checkpoint_merkle_root(cp), 32), 0,
                 "%s: checkpoint %llu: the Merkle root of receipts %llu..%llu differs", L->what,
                 (unsigned long long)cseq, (unsigned long long)start, (unsigned long long)end);
    memcpy(L->prev_body_sha, chio_checkpoint_body_sha256(cp), 65);
    L->prev_end = end;
    memcpy(L->cpshas + 32 * (cseq - 1), sha, 32);
    L->cps_verified = cseq;
    chio_checkpoint_free(cp);
    return 0;
}

/*
 * Open the store read-only and check it against the ledger. Acks from
 * index @run_first on belong to the run that just stopped, which started
 * at @run_start_last: their sequence numbers must be above it.
 */
static void check_log(ledger *L, size_t run_first, uint64_t run_start_last)
{
    chio_store *s = NULL;
    chio_error err;
    uint64_t first = 0, last = 0, lastcp = 0;
    size_t i;
    int rc;

    chio_error_init(&err);
    rc = chio_store_open(L->db, CHIO_STORE_READ_ONLY, &s, &err);
    /* Killed before any run got the store open: nothing to find yet. */
    if (rc == CHIO_ENOTFOUND && !L->ever_started && L->nacks == 0)
        return;
    cr_assert_eq(rc, 0, "%s: the store does not open read-only: %s (%s)", L->what, err.message,
                 chio_err_name(err.code));
    cr_assert_eq(chio_store_seq_range(s, &first, &last, &err), 0, "%s", err.message);
    cr_assert_eq(chio_store_last_checkpoint_seq(s, &lastcp, &err), 0, "%s", err.message);
    cr_assert(last == 0 || first == 1, "%s: the log starts at %llu", L->what,
              (unsigned long long)first);
    cr_assert_geq(last, L->last, "%s: the log shrank from %llu to %llu receipts", L->what,
                  (unsigned long long)L->last, (unsigned long long)last);
    L->last = last;

    /* Receipts: contiguous from 1, new ones verified, old ones unchanged. */
    L->expect = 1;
    cr_assert_eq(chio_store_scan(s, 1, visit_receipt, L, &err), 0, "%s: scan: %s", L->what,
                 err.message);
    cr_assert_eq(L->expect, last + 1, "%s: scanned up to %llu, seq_range says %llu", L->what,
                 (unsigned long long)(L->expect - 1), (unsigned long long)last);
    L->verified = last;

    /* Checkpoints: each closes its range and chains to the one before.
     * They are signed off the commit stage and written in a later group,
     * so a kill can leave the newest full batches without theirs (at most
     * MAX_OWED_CHECKPOINTS); the restart cuts those (checked there). */
    L->expect_cp = 1;
    cr_assert_eq(chio_store_scan_checkpoints(s, 1, visit_checkpoint, L, &err), 0, "%s: scan: %s",
                 L->what, err.message);
    L->ncps = L->expect_cp - 1;
    cr_assert_eq(L->ncps, lastcp);
    cr_assert(L->ncps <= last / L->batch && last / L->batch - L->ncps <= MAX_OWED_CHECKPOINTS,
              "%s: %llu checkpoints for %llu receipts in batches of %llu", L->what,
              (unsigned long long)L->ncps, (unsigned long long)last, (unsigned long long)L->batch);

    /* Every new ack: stored, the same bytes, assigned in its own run, once. */
    for (i = L->acks_checked; i < L->nacks; i++) {
        const ack *a = &L->acks[i];
        uint64_t seq = 0;
        char hex[65];

        cr_assert_eq(chio_store_find_receipt(s, a->id, &seq, &err), 0,
                     "%s: acknowledged receipt %s (run %u) is not in the store", L->what, a->id,
                     a->run);
        cr_assert(seq >= 1 && seq <= last, "%s: receipt %s indexed at %llu", L->what, a->id,
                  (unsigned long long)seq);
        testutil_hex(L->shas + 32 * (seq - 1), 32, hex);
        cr_assert_str_eq(hex, a->sha,
                         "%s: receipt %llu (%s) differs from the bytes its caller was given",
                         L->what, (unsigned long long)seq, a->id);
        if (i >= run_first)
            cr_assert_gt(seq, run_start_last,
                         "%s: receipt %s acknowledged in this run sits at %llu, before the "
                         "run's first sequence number %llu",
                         L->what, a->id, (unsigned long long)seq,
                         (unsigned long long)(run_start_last + 1));
        cr_assert(!L->acked[seq - 1], "%s: sequence number %llu acknowledged twice", L->what,
                  (unsigned long long)seq);
        L->acked[seq - 1] = 1;
    }
    L->acks_checked = L->nacks;
    chio_store_close(s);
}

/* Every ack from the first run on checked again, from a fresh open. */
static void recheck_all_acks(ledger *L)
{
    chio_store *s = NULL;
    size_t i;

    cr_assert_eq(chio_store_open(L->db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    for (i = 0; i < L->nacks; i++) {
        uint64_t seq = 0;
        char *json = NULL, hex[65];
        size_t len = 0;

        cr_assert_eq(chio_store_find_receipt(s, L->acks[i].id, &seq, NULL), 0,
                     "acknowledged receipt %s lost", L->acks[i].id);
        cr_assert_eq(chio_store_get_receipt(s, seq, &json, &len, NULL), 0);
        cr_assert_eq(chio_sha256_hex(json, len, hex), 0);
        cr_assert_str_eq(hex, L->acks[i].sha, "receipt %llu changed", (unsigned long long)seq);
        free(json);
    }
    chio_store_close(s);
}

/* `chio receipt verify --receipt-db` over the whole log: no problem. */
static void audit_with_cli(const ledger *L)
{
    const char *argv[] = {"receipt", "verify", "--receipt-db", L->db, "--trusted-key",
                          TEST_PUB,  NULL};
    cli_result r = testutil_run_cli(argv, NULL, 0);
    char want[512];

    cr_expect_eq(r.status, 0, "receipt verify exit %d: %.2000s %s", r.status, r.out, r.err);
    /* the signed log head covers the last acknowledged receipt too */
    snprintf(want, sizeof(want),
             "{\"receipts\":%llu,\"first_seq\":1,\"last_seq\":%llu,\"gaps\":0,\"invalid\":0,"
             "\"checkpoints\":%llu,\"checkpoints_valid\":%llu,\"signer\":\"" TEST_PUB "\","
             "\"signer_pinned_by\":\"flag\",\"head_seq\":%llu,\"chain_from\":1,"
             "\"log_problems\":0,\"legacy\":false,\"unchained\":0,\"archive\":false}\n",
             (unsigned long long)L->last, (unsigned long long)L->last, (unsigned long long)L->ncps,
             (unsigned long long)L->ncps, (unsigned long long)L->last);
    cr_expect_str_eq(r.out, want, "receipt verify: %s", r.err);
    testutil_cli_free(&r);
}

/* ---- the victim process ----------------------------------------------------------------- */

typedef struct victim {
    pid_t pid;
    int fd;
    char buf[8192];
    size_t len;
    int eof;
    int started, drained;
    uint64_t start_last, start_cp, drained_last, drained_cp;
    size_t first_ack; /* index of this run's first ack in the ledger */
    size_t acks;
    char error[600];
} victim;

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void spawn_victim(victim *v, ledger *L, unsigned threads, unsigned signers)
{
    char t[16], sg[16], b[32], *errpath;
    const char *argv[] = {"victim", L->db, t, "--batch", b, "--signers", sg, NULL};
    posix_spawn_file_actions_t fa;
    int p[2], rc;

    memset(v, 0, sizeof(*v));
    v->first_ack = L->nacks;
    snprintf(t, sizeof(t), "%u", threads);
    snprintf(sg, sizeof(sg), "%u", signers);
    snprintf(b, sizeof(b), "%llu", (unsigned long long)L->batch);
    cr_assert_geq(asprintf(&errpath, "%s/victim.stderr", dir), 0);
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    /* posix_spawn rather than fork: the victim starts from a clean image,
     * and its stdout is the pipe (dup2 clears O_CLOEXEC on the copy). */
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, errpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
    rc = posix_spawn(&v->pid, VICTIM, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    cr_assert_eq(rc, 0, "cannot run %s: %s (make builds it)", VICTIM, strerror(rc));
    close(p[1]);
    v->fd = p[0];
    fcntl(v->fd, F_SETFL, O_NONBLOCK);
    free(errpath);
}

static void add_ack(ledger *L, victim *v, const char *id, const char *sha, unsigned run)
{
    ack *a;

    if (L->nacks == L->capacks) {
        L->capacks = L->capacks ? L->capacks * 2 : 4096;
        L->acks = realloc(L->acks, L->capacks * sizeof(ack));
        cr_assert_not_null(L->acks);
    }
    a = &L->acks[L->nacks++];
    snprintf(a->id, sizeof(a->id), "%s", id);
    snprintf(a->sha, sizeof(a->sha), "%s", sha);
    a->run = run;
    v->acks++;
}

static void on_line(victim *v, ledger *L, char *line, unsigned run)
{
    char id[65], sha[65];
    unsigned long long x, y;

    if (sscanf(line, "ack %64s %64s", id, sha) == 2 && strlen(id) == 64 && strlen(sha) == 64) {
        cr_assert(v->started && !v->drained, "%s: ack outside start..drained: %s", L->what, line);
        add_ack(L, v, id, sha, run);
    } else if (sscanf(line, "start %llu %llu", &x, &y) == 2) {
        v->started = 1;
        L->ever_started = 1;
        v->start_last = x;
        v->start_cp = y;
    } else if (sscanf(line, "drained %llu %llu", &x, &y) == 2) {
        v->drained = 1;
        v->drained_last = x;
        v->drained_cp = y;
    } else if (strncmp(line, "error ", 6) == 0) {
        if (v->error[0] == '\0')
            snprintf(v->error, sizeof(v->error), "%.500s", line);
    } else {
        cr_assert_fail("%s: unexpected line from the victim: '%s'", L->what, line);
    }
}

/* What pump() waits for besides its deadline and EOF. */
enum { UNTIL_DEADLINE = 0, UNTIL_STARTED = 1, UNTIL_ACK = 2 };

/* Read what the victim says until @deadline_ms (monotonic), EOF, or the
 * event @until: it has started, or it has acknowledged a receipt. */
static void pump(victim *v, ledger *L, uint64_t deadline_ms, int until, unsigned run)
{
    while (!v->eof && !(until == UNTIL_STARTED && v->started) &&
           !(until == UNTIL_ACK && v->acks > 0)) {
        uint64_t now = now_ms();
        struct pollfd pfd = {v->fd, POLLIN, 0};
        ssize_t n;
        char *nl;

        if (now >= deadline_ms)
            return;
        if (poll(&pfd, 1, (int)(deadline_ms - now)) <= 0)
            continue;
        n = read(v->fd, v->buf + v->len, sizeof(v->buf) - 1 - v->len);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0) {
            v->eof = 1; /* a torn last line (none expected) is ignored */
            break;
        }
        v->len += (size_t)n;
        v->buf[v->len] = '\0';
        while ((nl = memchr(v->buf, '\n', v->len)) != NULL) {
            *nl = '\0';
            on_line(v, L, v->buf, run);
            v->len -= (size_t)(nl + 1 - v->buf);
            memmove(v->buf, nl + 1, v->len);
        }
        cr_assert_lt(v->len, sizeof(v->buf) - 1, "%s: a line longer than the buffer", L->what);
    }
}

/* Wait for the victim to exit; its wait status. */
static int reap(victim *v, ledger *L, unsigned run)
{
    int st = 0;

    pump(v, L, now_ms() + EXIT_TIMEOUT_MS, 0, run);
    cr_assert(v->eof, "%s: the victim did not close its output", L->what);
    close(v->fd);
    cr_assert_eq(waitpid(v->pid, &st, 0), v->pid);
    return st;
}

static void wait_started(victim *v, ledger *L, unsigned run)
{
    pump(v, L, now_ms() + START_TIMEOUT_MS, 1, run);
    if (!v->started) {
        kill(v->pid, SIGKILL);
        reap(v, L, run);
        cr_assert_fail("%s: the victim did not start (see %s/victim.stderr) %s", L->what, dir,
                       v->error);
    }
}

/* ---- random but reproducible ------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static unsigned long env_ulong(const char *name, unsigned long dflt)
{
    const char *s = getenv(name);
    char *end;
    unsigned long v;

    if (s == NULL || *s == '\0')
        return dflt;
    errno = 0;
    v = strtoul(s, &end, 0);
    cr_assert(errno == 0 && *end == '\0', "%s=%s is not a number", name, s);
    return v;
}

/* ---- the tests ----------------------------------------------------------------------------- */

Test(crash, sigkill_at_random_moments_loses_nothing_acknowledged)
{
    unsigned long iterations = env_ulong("CHIO_CRASH_ITERATIONS", DEFAULT_ITERATIONS);
    unsigned long seed = env_ulong("CHIO_CRASH_SEED", DEFAULT_SEED);
    ledger L;
    victim v;
    unsigned run;
    size_t runs_with_acks = 0, runs_early = 0;
    int st;

    cr_assert_geq(iterations, 1);
    rng_state = seed ? seed : DEFAULT_SEED;
    ledger_init(&L, "db", 10);
    for (run = 1; run <= iterations; run++) {
        unsigned threads = 1 + (unsigned)(rng() % 4), signers = 1 + (unsigned)(rng() % 2);
        /* One run in five is killed 0-250 ms after the exec, whatever it
         * is doing: loading, recovering the store (WAL replay, flush) or
         * signing; the others 20-300 ms into the load. */
        int early = rng() % 5 == 0;
        uint64_t delay = early ? rng() % 251 : 20 + rng() % 281, t0;

        snprintf(L.what, sizeof(L.what), "SIGKILL run %u/%lu (seed %#lx, %u threads, %llu ms%s)",
                 run, iterations, seed, threads, (unsigned long long)delay,
                 early ? " after exec" : "");
        spawn_victim(&v, &L, threads, signers);
        if (early) {
            pump(&v, &L, now_ms() + delay, 0, run);
        } else {
            /* Under load: killed @delay after the start line, and never
             * before the first acknowledgement (waited for, 30 s at most),
             * so every such run checks acknowledged receipts. */
            wait_started(&v, &L, run);
            t0 = now_ms();
            pump(&v, &L, t0 + START_TIMEOUT_MS, UNTIL_ACK, run);
            cr_assert_gt(v.acks, 0, "%s: nothing acknowledged within %d ms: %s", L.what,
                         START_TIMEOUT_MS, v.error);
            pump(&v, &L, t0 + delay, UNTIL_DEADLINE, run);
        }
        /* The reopened kernel continues exactly where the store ends. */
        if (v.started) {
            cr_assert_eq(v.start_last, L.last, "%s: restarted at %llu, the store ended at %llu",
                         L.what, (unsigned long long)v.start_last, (unsigned long long)L.last);
            cr_assert_eq(v.start_cp, L.last / L.batch,
                         "%s: restarted at checkpoint %llu, the store has %llu receipts in "
                         "batches of %llu (owed checkpoints are cut at start)",
                         L.what, (unsigned long long)v.start_cp, (unsigned long long)L.last,
                         (unsigned long long)L.batch);
        }
        cr_assert(!v.eof, "%s: the victim stopped by itself: %s", L.what, v.error);
        kill(v.pid, SIGKILL);
        st = reap(&v, &L, run);
        cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
                  "%s: the victim ended otherwise (status %#x): %s", L.what, st, v.error);
        cr_assert_eq(v.error[0], '\0', "%s: a call failed: %s", L.what, v.error);
        check_log(&L, v.first_ack, v.start_last);
        cr_assert_geq(L.last - v.start_last, v.acks,
                      "%s: %zu acknowledged in this run, only %llu receipts added", L.what, v.acks,
                      (unsigned long long)(L.last - v.start_last));
        runs_with_acks += v.acks > 0;
        runs_early += early;
    }
    cr_assert_geq(runs_with_acks, iterations - runs_early,
                  "only %zu of the %lu runs under load signed anything", runs_with_acks,
                  iterations - runs_early);

    /* After the last kill: one more run continues the log and drains. */
    snprintf(L.what, sizeof(L.what), "final run after %lu kills (seed %#lx)", iterations, seed);
    spawn_victim(&v, &L, 2, 1);
    wait_started(&v, &L, run);
    cr_assert_eq(v.start_last, L.last, "%s", L.what);
    pump(&v, &L, now_ms() + 50, 0, run);
    kill(v.pid, SIGTERM);
    st = reap(&v, &L, run);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: status %#x %s", L.what, st, v.error);
    cr_assert(v.drained, "%s: no drained line", L.what);
    check_log(&L, v.first_ack, v.start_last);
    cr_assert_eq(v.drained_last, L.last);
    recheck_all_acks(&L);
    audit_with_cli(&L);
    if (getenv("CHIO_CRASH_ITERATIONS") != NULL) /* a stress run: say what it did */
        fprintf(stderr,
                "crash: %lu SIGKILLs (seed %#lx): %zu acknowledged receipts, %llu stored, "
                "%llu checkpoints\n",
                iterations, seed, L.nacks, (unsigned long long)L.last, (unsigned long long)L.ncps);
    ledger_free(&L);
}

Test(crash, sigterm_mid_load_drains_and_loses_nothing)
{
    /* A batch size that does not divide the counts evenly: the last
     * checkpoint before the drain point must be there, and no partial one
     * after it. */
    ledger L;
    victim v;
    unsigned run;
    int st;

    rng_state = DEFAULT_SEED + 1;
    ledger_init(&L, "db", 7);
    for (run = 1; run <= 3; run++) {
        uint64_t delay = 100 + rng() % 201, deadline;

        snprintf(L.what, sizeof(L.what), "SIGTERM run %u (%llu ms)", run,
                 (unsigned long long)delay);
        spawn_victim(&v, &L, 4, run == 2 ? 2 : 1);
        wait_started(&v, &L, run);
        cr_assert_eq(v.start_last, L.last, "%s", L.what);
        cr_assert_eq(v.start_cp, L.ncps, "%s", L.what);
        /* Mid-load: the delay has passed and receipts are flowing. */
        deadline = now_ms() + delay;
        pump(&v, &L, deadline, 0, run);
        while (v.acks < 2 * L.batch && !v.eof && now_ms() < deadline + 20000)
            pump(&v, &L, now_ms() + 20, 0, run);
        cr_assert(!v.eof, "%s: the victim stopped by itself: %s", L.what, v.error);
        kill(v.pid, SIGTERM);
        st = reap(&v, &L, run);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "%s: a drained victim must exit 0 (status %#x): %s", L.what, st, v.error);
        cr_assert_eq(v.error[0], '\0', "%s: %s", L.what, v.error);
        cr_assert(v.drained, "%s: no drained line", L.what);
        check_log(&L, v.first_ack, v.start_last);
        /* What it says it committed is what is stored, and every receipt
         * committed in this run was acknowledged to its caller: the drain
         * finished the calls in flight. */
        cr_assert_eq(v.drained_last, L.last, "%s: drained at %llu, the store ends at %llu", L.what,
                     (unsigned long long)v.drained_last, (unsigned long long)L.last);
        cr_assert_eq(v.acks, v.drained_last - v.start_last, "%s: %zu acknowledged, %llu committed",
                     L.what, v.acks, (unsigned long long)(v.drained_last - v.start_last));
        /* The crossed boundary has its checkpoint, ending on it. */
        cr_assert_gt(v.drained_last / L.batch, v.start_last / L.batch,
                     "%s: the run did not cross a checkpoint boundary", L.what);
        cr_assert_eq(v.drained_cp, v.drained_last / L.batch, "%s: drained with checkpoint %llu",
                     L.what, (unsigned long long)v.drained_cp);
        cr_assert_eq(L.ncps, v.drained_last / L.batch, "%s", L.what);
        cr_assert_eq(L.prev_end, (v.drained_last / L.batch) * L.batch,
                     "%s: the last checkpoint ends at %llu", L.what,
                     (unsigned long long)L.prev_end);
    }
    recheck_all_acks(&L);
    audit_with_cli(&L);
    ledger_free(&L);
}
