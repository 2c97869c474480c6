/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_kernel.c - the kernel core against a real RocksDB in a
 * temporary directory: configuration, lazy start, synchronous, asynchronous
 * and non-blocking signing, drain, reopen (counters and checkpoint chain
 * continue), backpressure on a tiny ring, fail-closed after a failed write,
 * metrics and logs.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/scenarios.h"
#include "kernel_internal.h"

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

static char *db_path(const char *name)
{
    char *p;
    cr_assert_geq(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

TestSuite(kernel, .init = setup, .fini = teardown);

Test(kernel, config_defaults_are_the_upstream_ones)
{
    chio_kernel_config cfg;

    chio_kernel_config_init(&cfg);
    cr_expect_eq(cfg.max_stream_duration_secs, 300);
    cr_expect_eq(CHIO_DEFAULT_MAX_STREAM_DURATION_SECS, 300);
    cr_expect_eq(cfg.max_stream_total_bytes, 256ull * 1024 * 1024);
    cr_expect_eq(cfg.checkpoint_batch_size, 100);
    cr_expect_eq(cfg.retention_config.retention_days, 90);
    cr_expect_eq(cfg.retention_config.max_size_bytes, 10ull << 30);
    cr_expect_eq(cfg.retention_config.enabled, 0);
    cr_expect_eq(cfg.signer_threads, 1);
    cr_expect_geq(cfg.ring_capacity, 1024);
    cr_expect_eq(cfg.ring_capacity & (cfg.ring_capacity - 1), 0);
    cr_expect_eq(cfg.durability, CHIO_DURABILITY_SYNC);
    cr_expect_eq(cfg.allow_sampling, 0);
    cr_expect_eq(cfg.allow_elicitation, 0);
    cr_expect_eq(cfg.require_web3_evidence, 0);
    cr_expect_null(cfg.receipt_store_path);
    cr_expect_eq(cfg.ephemeral_store, 0);
}

static void config_rejected(void (*mutate)(chio_kernel_config *), const char *field)
{
    chio_kernel_config cfg;
    chio_kernel *k = (chio_kernel *)1;
    chio_error err;

    kt_config(&cfg, "/tmp/never-opened");
    mutate(&cfg);
    chio_error_init(&err);
    cr_expect_eq(chio_kernel_new(&cfg, &k, &err), cfg.keypair ? CHIO_ECONFIG : CHIO_ECONFIG);
    cr_expect_null(k);
    cr_expect(strstr(err.message, field) != NULL, "[%s] should name %s", err.message, field);
}

static void no_policy(chio_kernel_config *c)
{
    c->policy_hash = NULL;
}
static void no_store(chio_kernel_config *c)
{
    c->receipt_store_path = NULL;
    c->ephemeral_store = 0;
}
static void both_stores(chio_kernel_config *c)
{
    c->ephemeral_store = 1;
}
static void odd_ring(chio_kernel_config *c)
{
    c->ring_capacity = 1000;
}
static void zero_signers(chio_kernel_config *c)
{
    c->signer_threads = 0;
}
static void bad_durability(chio_kernel_config *c)
{
    c->durability = (chio_durability)7;
}
static void no_keypair(chio_kernel_config *c)
{
    chio_keypair_free(c->keypair);
    c->keypair = NULL;
}

static void low_priority(chio_kernel_config *c)
{
    c->signer_priority = -21;
}
static void high_priority(chio_kernel_config *c)
{
    c->signer_priority = 20;
}
static void huge_checkpoint_batch(chio_kernel_config *c)
{
    c->checkpoint_batch_size = CHIO_MAX_CHECKPOINT_BATCH_SIZE + 1;
}

Test(kernel, invalid_configs_name_the_field)
{
    config_rejected(low_priority, "signer_priority");
    config_rejected(high_priority, "signer_priority");
    config_rejected(huge_checkpoint_batch, "checkpoint_batch_size");
    config_rejected(no_policy, "policy_hash");
    config_rejected(no_store, "receipt_store_path");
    config_rejected(both_stores, "receipt_store_path");
    config_rejected(odd_ring, "ring_capacity");
    config_rejected(zero_signers, "signer_threads");
    config_rejected(bad_durability, "durability");
    config_rejected(no_keypair, "keypair");
}

/* The nice value of this process's threads named @name: each one's, or
 * -100 when they differ, 100 when there is none. */
static int nice_of_threads(const char *name)
{
    char path[300], comm[32], stat[1024];
    int found = 100, nice;
    struct dirent *d;
    DIR *dir_ = opendir("/proc/self/task");
    FILE *f;

    cr_assert_not_null(dir_);
    while ((d = readdir(dir_)) != NULL) {
        if (d->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", d->d_name);
        if ((f = fopen(path, "r")) == NULL)
            continue; /* the thread has exited */
        if (fgets(comm, sizeof(comm), f) == NULL)
            comm[0] = '\0';
        fclose(f);
        comm[strcspn(comm, "\n")] = '\0';
        if (strcmp(comm, name) != 0)
            continue;
        snprintf(path, sizeof(path), "/proc/self/task/%s/stat", d->d_name);
        if ((f = fopen(path, "r")) == NULL)
            continue;
        if (fgets(stat, sizeof(stat), f) != NULL) {
            /* Fields after the ")" that ends the comm start at 3; the
             * nice value is field 19. */
            const char *p = strrchr(stat, ')');
            int field = 2;
            for (; p != NULL && *p != '\0' && field < 19; p++)
                if (*p == ' ')
                    field++;
            if (p != NULL && sscanf(p, "%d", &nice) == 1)
                found = found == 100 || found == nice ? nice : -100;
        }
        fclose(f);
    }
    closedir(dir_);
    return found;
}

Test(kernel, signer_priority_is_applied_to_the_kernel_threads_only)
{
    char *path = db_path("prio");
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_error err;
    /* Lowering priority is always permitted: three steps below whatever
     * this process runs at (it may itself run under nice). */
    int base = getpriority(PRIO_PROCESS, 0);
    int want = base + 3 > 19 ? 19 : base + 3;

    kt_config(&cfg, path);
    cfg.signer_priority = want;
    k = kt_kernel(&cfg);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_start(k, &err), 0, "%s", err.message);
    /* Each thread applies the value to itself as it starts. */
    for (int tries = 0; tries < 2000 && (nice_of_threads("chio-signer") != want ||
                                         nice_of_threads("chio-commit") != want ||
                                         nice_of_threads("chio-complete") != want);
         tries++)
        usleep(1000);
    cr_expect_eq(nice_of_threads("chio-signer"), want);
    cr_expect_eq(nice_of_threads("chio-commit"), want);
    cr_expect_eq(nice_of_threads("chio-complete"), want);
    cr_expect_eq(getpriority(PRIO_PROCESS, 0), base, "the caller's own priority is untouched");
    chio_kernel_free(k);
    free(path);
}

static int checkpoint_thread_named(void *arg)
{
    (void)arg;
    return nice_of_threads("chio-checkpoint") != 100;
}

Test(kernel, checkpoints_are_signed_on_their_own_thread_and_all_written_at_drain)
{
    char *path = db_path("cp");
    char *none = db_path("nocp");
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_receipt *r;
    chio_kernel_metrics m;
    kt_log_report rep;
    int i;

    kt_config(&cfg, path);
    cfg.checkpoint_batch_size = 3;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    k = kt_kernel(&cfg);
    for (i = 0; i < 31; i++) {
        cr_assert_eq(chio_kernel_sign_receipt(k, kt_builder((uint64_t)i), &r, NULL), 0);
        chio_receipt_free(r);
    }
    /* The thread names itself once it runs: poll for the name. */
    cr_expect(testutil_wait_until(checkpoint_thread_named, NULL, 10000),
              "a checkpoint thread runs");
    cr_assert_eq(chio_kernel_drain(k, NULL), 0);
    chio_kernel_metrics_get(k, &m);
    cr_expect_eq(m.checkpoints, 10);
    cr_expect_eq(m.last_checkpoint_seq, 10);
    chio_kernel_free(k);
    rep = kt_check_log(path, 3);
    cr_expect_eq(rep.receipts, 31);
    cr_expect_eq(rep.checkpoints, 10);

    kt_config(&cfg, none);
    cfg.checkpoint_batch_size = 0;
    k = kt_kernel(&cfg);
    cr_assert_eq(chio_kernel_sign_receipt(k, kt_builder(99), &r, NULL), 0);
    chio_receipt_free(r);
    cr_expect_eq(nice_of_threads("chio-checkpoint"), 100, "no checkpoint thread");
    chio_kernel_free(k);
    free(path);
    free(none);
}

Test(kernel, lazy_start_then_sign_and_store)
{
    char *path = db_path("db");
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_kernel_metrics m;
    chio_receipt *r = NULL;
    chio_receipt_report rep;
    chio_error err;
    uint8_t key[32];
    int before, after_new;

    kt_config(&cfg, path);
    cfg.signer_threads = 2;
    before = kt_threads();
    k = kt_kernel(&cfg);
    after_new = kt_threads();
    cr_expect_eq(after_new, before, "construction must start no thread");
    cr_expect_neq(access(path, F_OK), 0, "construction must not open the store");
    chio_kernel_metrics_get(k, &m);
    cr_expect_eq(m.signer_threads_running, 0);

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_sign_receipt(k, kt_builder(1), &r, &err), 0, "%s", err.message);
    chio_kernel_metrics_get(k, &m);
    cr_expect_eq(m.signer_threads_running, 2, "signers start on the first request");
    cr_expect_gt(kt_threads(), after_new);
    cr_expect_eq(m.receipts_signed, 1);
    cr_expect_eq(m.last_seq, 1);
    cr_expect_eq(m.wal_syncs, 1);
    chio_pubkey_from_hex(TEST_PUB, 64, key);
    cr_assert_eq(chio_receipt_verify(r, key, 1, &rep), 0);
    cr_expect(rep.ok);
    cr_expect_str_eq(chio_json_string(chio_json_get(chio_receipt_root(r), "policy_hash"), NULL),
                     "policy-test-v1", "the kernel's policy hash is embedded");
    cr_expect_str_eq(chio_kernel_public_hex(k), TEST_PUB);
    cr_assert_eq(chio_kernel_drain(k, &err), 0);
    chio_kernel_metrics_get(k, &m);
    cr_expect_eq(m.signer_threads_running, 0, "drain joins the threads");
    chio_kernel_free(k);

    /* the committed bytes are exactly what the caller got */
    chio_store *s;
    char *json;
    size_t len, rlen;
    cr_assert_eq(chio_store_open(path, CHIO_STORE_READ_ONLY, &s, &err), 0, "%s", err.message);
    cr_assert_eq(chio_store_get_receipt(s, 1, &json, &len, &err), 0);
    const char *mine = chio_receipt_json(r, &rlen);
    cr_expect_eq(len, rlen);
    cr_expect_eq(memcmp(json, mine, len), 0);
    chio_free(json);
    uint64_t seq = 0;
    cr_expect_eq(chio_store_find_receipt(s, chio_receipt_id(r), &seq, &err), 0);
    cr_expect_eq(seq, 1);
    cr_expect_eq(chio_store_get_receipt(s, 2, &json, &len, &err) == CHIO_ENOTFOUND, 1);
    chio_free(json);
    chio_store_close(s);
    chio_receipt_free(r);
    free(path);
}

Test(kernel, explicit_start_surfaces_store_errors)
{
    char *path = db_path("file-not-dir");
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_error err;
    chio_receipt *r;

    cr_assert_eq(testutil_write_file(path, "x", 1, 0600), 0);
    kt_config(&cfg, path);
    k = kt_kernel(&cfg);
    chio_error_init(&err);
    cr_expect_neq(chio_kernel_start(k, &err), 0);
    cr_expect_neq(err.message[0], '\0');
    cr_expect_neq(chio_kernel_sign_receipt(k, kt_builder(1), &r, &err), 0,
                  "signing fails closed when the store cannot open");
    cr_expect_null(r);
    chio_kernel_free(k);
    free(path);
}

Test(kernel, async_requests_all_complete_before_drain_returns)
{
    char msg[SC_MSG];
    cr_assert_eq(sc_async_drain(dir, msg), 0, "%s", msg);
}

Test(kernel, backpressure_on_a_tiny_ring_loses_nothing)
{
    char msg[SC_MSG];
    cr_assert_eq(sc_backpressure(dir, msg), 0, "%s", msg);
}

Test(kernel, try_sign_reports_would_block_and_consumes_the_builder)
{
    char msg[SC_MSG];
    cr_assert_eq(sc_try_sign(msg), 0, "%s", msg);
}

Test(kernel, reopen_restores_sequence_and_checkpoint_chain)
{
    char *path = db_path("db");
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_kernel_metrics m;
    chio_receipt *r;
    chio_error err;
    int i, run;

    chio_error_init(&err);
    for (run = 0; run < 3; run++) {
        kt_config(&cfg, path);
        cfg.checkpoint_batch_size = 100;
        k = kt_kernel(&cfg);
        for (i = 0; i < 130; i++) {
            cr_assert_eq(
                chio_kernel_sign_receipt(k, kt_builder((uint64_t)(run * 1000 + i)), &r, &err), 0,
                "%s", err.message);
            chio_receipt_free(r);
        }
        /* The checkpoint completed by receipt 100 of this run is written
         * some time after that call returned (signed on its own thread). */
        kt_wait_checkpoint(k, (uint64_t)(run + 1) * 130 / 100);
        chio_kernel_metrics_get(k, &m);
        cr_expect_eq(m.last_seq, (uint64_t)(run + 1) * 130, "run %d", run);
        cr_expect_eq(m.last_checkpoint_seq, (uint64_t)(run + 1) * 130 / 100, "run %d", run);
        chio_kernel_free(k);
    }
    kt_log_report rep = kt_check_log(path, 100);
    cr_expect_eq(rep.receipts, 390);
    cr_expect_eq(rep.first, 1);
    cr_expect_eq(rep.last, 390);
    cr_expect_eq(rep.checkpoints, 3, "checkpoints 1-100, 101-200, 201-300 chain across runs");
    free(path);
}

Test(kernel, smaller_batch_size_on_reopen_catches_up)
{
    char *path = db_path("db");
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_receipt *r;
    int i;

    kt_config(&cfg, path);
    cfg.checkpoint_batch_size = 0; /* disabled */
    k = kt_kernel(&cfg);
    for (i = 0; i < 25; i++) {
        cr_assert_eq(chio_kernel_sign_receipt(k, kt_builder((uint64_t)i), &r, NULL), 0);
        chio_receipt_free(r);
    }
    chio_kernel_free(k);
    kt_config(&cfg, path);
    cfg.checkpoint_batch_size = 10;
    k = kt_kernel(&cfg);
    cr_assert_eq(chio_kernel_start(k, NULL), 0);
    chio_kernel_free(k);
    kt_log_report rep = kt_check_log(path, 10);
    cr_expect_eq(rep.checkpoints, 2, "owed checkpoints are written at start");
    free(path);
}

Test(kernel, a_store_is_pinned_to_the_key_that_created_it_and_carries_a_signed_head)
{
    char *path = db_path("db"), key_hex[65];
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_receipt *r;
    chio_store *s;
    chio_error err;
    chio__record_state st;
    chio__log_head h;
    chio_store_audit_v2 v;
    uint8_t key[32], link[32];
    int i;

    kt_config(&cfg, path);
    cfg.checkpoint_batch_size = 0;
    k = kt_kernel(&cfg);
    for (i = 0; i < 25; i++) {
        cr_assert_eq(chio_kernel_sign_receipt(k, kt_builder((uint64_t)i), &r, NULL), 0);
        chio_receipt_free(r);
    }
    chio_kernel_free(k);
    /* owed checkpoints written at start are named by a new head */
    kt_config(&cfg, path);
    cfg.checkpoint_batch_size = 10;
    k = kt_kernel(&cfg);
    cr_assert_eq(chio_kernel_start(k, NULL), 0);
    chio_kernel_free(k);

    cr_assert_eq(chio_store_open(path, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_assert_eq(chio__store_read_key_record(s, key, key_hex, &st, NULL), 0);
    cr_expect_eq(st, CHIO__RECORD_OK);
    cr_expect_str_eq(key_hex, TEST_PUB);
    cr_assert_eq(chio__store_read_head(s, &h, &st, NULL), 0);
    cr_expect_eq(st, CHIO__RECORD_OK);
    cr_expect_eq(h.last_seq, 25);
    cr_expect_eq(h.chain_from, 1);
    cr_expect_eq(h.checkpoint_seq, 2);
    cr_assert_eq(chio__store_get_chain(s, 25, link, NULL), 0);
    cr_expect_eq(memcmp(link, h.chain, 32), 0);
    memset(&v, 0, sizeof(v));
    v.size = sizeof(v);
    cr_assert_eq(chio_store_audit_log_v2(s, NULL, 0, NULL, NULL, &v, NULL), 0);
    cr_expect_eq(v.pinned_by, CHIO_STORE_PIN_STORE);
    cr_expect_eq(v.base.invalid + v.base.gaps + v.log_problems, 0);
    cr_expect_eq(v.base.checkpoints_valid, 2);
    cr_expect_eq(v.head_seq, 25);
    v.size = 4; /* too small */
    cr_expect_eq(chio_store_audit_log_v2(s, NULL, 0, NULL, NULL, &v, NULL), CHIO_EINVAL);
    chio_store_close(s);

    /* another key cannot continue the log */
    kt_config(&cfg, path);
    chio_keypair_free(cfg.keypair);
    cr_assert_eq(chio_keypair_from_seed_hex(
                     "0909090909090909090909090909090909090909090909090909090909090909", 64,
                     &cfg.keypair, NULL),
                 0);
    k = kt_kernel(&cfg);
    chio_error_init(&err);
    cr_expect_eq(chio_kernel_start(k, &err), CHIO_ECONFIG);
    cr_expect(strstr(err.message, "belongs to kernel key " TEST_PUB) != NULL, "%s", err.message);
    chio_kernel_free(k);
    free(path);
}

Test(kernel, write_failure_fails_closed)
{
    char *path = db_path("db");
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_kernel_metrics m;
    chio_receipt *r = NULL;
    chio_error err;
    int i;

    kt_config(&cfg, path);
    cfg.checkpoint_batch_size = 4;
    k = kt_kernel(&cfg);
    chio_error_init(&err);
    for (i = 0; i < 3; i++) {
        cr_assert_eq(chio_kernel_sign_receipt(k, kt_builder((uint64_t)i), &r, &err), 0);
        chio_receipt_free(r);
    }
    chio__store_fail_writes(chio__kernel_store(k), 1);
    r = NULL;
    cr_expect_eq(chio_kernel_sign_receipt(k, kt_builder(100), &r, &err), CHIO_ESTORE,
                 "a failed write is reported, never success");
    cr_expect_null(r);
    chio__store_fail_writes(chio__kernel_store(k), 0); /* the disk is fine again ... */
    cr_expect_eq(chio_kernel_sign_receipt(k, kt_builder(101), &r, &err), CHIO_EFAILED,
                 "... but the kernel stays failed closed until reopened");
    cr_expect_null(r);
    cr_expect_eq(chio_kernel_sign_receipt_async(k, kt_builder(102), NULL, NULL, &err), CHIO_EINVAL);
    chio_kernel_metrics_get(k, &m);
    cr_expect_eq(m.write_errors, 1);
    cr_expect_eq(m.failed, 1);
    cr_expect_eq(m.receipts_signed, 3);
    cr_expect_eq(chio_kernel_drain(k, &err), CHIO_EFAILED);
    chio_kernel_free(k);
    kt_log_report rep = kt_check_log(path, 4);
    cr_expect_eq(rep.receipts, 3, "nothing uncommitted was reported as committed");

    /* reopened, it continues where the committed log ends */
    kt_config(&cfg, path);
    cfg.checkpoint_batch_size = 4;
    k = kt_kernel(&cfg);
    cr_assert_eq(chio_kernel_sign_receipt(k, kt_builder(200), &r, &err), 0, "%s", err.message);
    chio_receipt_free(r);
    chio_kernel_free(k);
    rep = kt_check_log(path, 4);
    cr_expect_eq(rep.receipts, 4);
    cr_expect_eq(rep.checkpoints, 1);
    free(path);
}

Test(kernel, bad_bodies_are_refused_before_the_queue)
{
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_receipt_builder *b;
    chio_receipt *r = NULL;
    chio_error err;
    chio_kernel_metrics m;

    kt_config(&cfg, NULL);
    k = kt_kernel(&cfg);
    cr_assert_eq(chio_receipt_builder_new(&b), 0);
    chio_receipt_builder_set_capability_id(b, "c");
    chio_receipt_builder_set_tool(b, "s", "t");
    /* no decision on a mediated receipt */
    chio_error_init(&err);
    cr_expect_eq(chio_kernel_sign_receipt(k, b, &r, &err), CHIO_ESEMANTIC);
    cr_expect_null(r);
    cr_expect_eq(chio_kernel_sign_receipt(k, NULL, &r, &err), CHIO_EINVAL);
    chio_kernel_metrics_get(k, &m);
    cr_expect_eq(m.receipts_signed, 0);
    chio_kernel_free(k);
}

typedef struct log_sink {
    pthread_mutex_t mu;
    char *all;
    size_t len;
    int lines, bad;
} log_sink;

static void sink(void *ctx, chio_log_level level, const char *json, size_t len)
{
    log_sink *s = ctx;
    chio_json_doc *d;

    (void)level;
    pthread_mutex_lock(&s->mu);
    if (chio_json_parse(json, len, &d, NULL) != 0)
        s->bad++;
    else
        chio_json_doc_free(d);
    s->all = realloc(s->all, s->len + len + 2);
    memcpy(s->all + s->len, json, len);
    s->len += len;
    s->all[s->len++] = '\n';
    s->all[s->len] = '\0';
    s->lines++;
    pthread_mutex_unlock(&s->mu);
}

Test(kernel, structured_logs_through_the_host_sink)
{
    char *path = db_path("db");
    chio_kernel_config cfg;
    chio_kernel *k;
    log_sink s = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0};
    chio_receipt *r;

    kt_config(&cfg, path);
    cfg.log = sink;
    cfg.log_ctx = &s;
    cfg.log_level = CHIO_LOG_DEBUG;
    cfg.checkpoint_batch_size = 2;
    k = kt_kernel(&cfg);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(chio_kernel_sign_receipt(k, kt_builder((uint64_t)i), &r, NULL), 0);
        chio_receipt_free(r);
    }
    chio_kernel_drain(k, NULL);
    cr_expect_eq(s.bad, 0, "every log line is one JSON object");
    cr_expect(strstr(s.all, "\"event\":\"kernel_started\"") != NULL, "%s", s.all);
    cr_expect(strstr(s.all, "\"event\":\"checkpoint_written\"") != NULL, "%s", s.all);
    cr_expect(strstr(s.all, "\"event\":\"kernel_drained\"") != NULL, "%s", s.all);
    cr_expect_null(strstr(s.all, "0707070707"), "the seed never reaches a log");
    int lines_at_drain = s.lines;
    chio_kernel_free(k);
    cr_expect_eq(s.lines, lines_at_drain, "logs of the drain were delivered before it returned");
    free(s.all);
    free(path);
}

Test(kernel, ephemeral_store_keeps_receipts_in_memory)
{
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_receipt *r;
    chio_kernel_metrics m;
    int i;

    kt_config(&cfg, NULL);
    cfg.checkpoint_batch_size = 5;
    k = kt_kernel(&cfg);
    for (i = 0; i < 12; i++) {
        cr_assert_eq(chio_kernel_sign_receipt(k, kt_builder((uint64_t)i), &r, NULL), 0);
        chio_receipt_free(r);
    }
    chio_kernel_metrics_get(k, &m);
    cr_expect_eq(m.last_seq, 12);
    /* Checkpoints are signed off the commit stage and written with a
     * later group (or by the commit thread on its own): soon, not at once. */
    kt_wait_checkpoint(k, 2);
    chio_kernel_metrics_get(k, &m);
    cr_expect_eq(m.checkpoints, 2);
    chio_kernel_free(k);
}

/* The sentinel's high-water mark (CHIO-RECEIPT-STORE, last_checkpoint N)
 * reaches the newest checkpoint by the time the kernel is freed, with and
 * without WAL syncs on the commits (marks coalesced to one a second
 * meanwhile; without syncs the WAL is synced before the mark moves). */
static unsigned long long sentinel_mark(const char *db)
{
    char *p;
    unsigned long long v = 0;
    FILE *f;

    cr_assert_geq(asprintf(&p, "%s/CHIO-RECEIPT-STORE", db), 0);
    f = fopen(p, "r");
    cr_assert_not_null(f, "no sentinel in %s", db);
    cr_assert_eq(fscanf(f, "%*s last_checkpoint %llu", &v), 1);
    fclose(f);
    free(p);
    return v;
}

Test(kernel, the_sentinel_marks_the_newest_durable_checkpoint)
{
    int sync;

    for (sync = 0; sync <= 1; sync++) {
        char *path = db_path(sync ? "sync" : "nosync");
        chio_kernel_config cfg;
        chio_kernel *k;
        chio_receipt *r;
        int i;

        kt_config(&cfg, path);
        cfg.durability = sync ? CHIO_DURABILITY_SYNC : CHIO_DURABILITY_NOSYNC;
        cfg.checkpoint_batch_size = 2;
        k = kt_kernel(&cfg);
        for (i = 0; i < 20; i++) {
            cr_assert_eq(chio_kernel_sign_receipt(k, kt_builder((uint64_t)i), &r, NULL), 0);
            chio_receipt_free(r);
        }
        chio_kernel_free(k);
        cr_expect_eq(sentinel_mark(path), 10, "%s: mark %llu", sync ? "sync" : "nosync",
                     sentinel_mark(path));
        free(path);
    }
}
