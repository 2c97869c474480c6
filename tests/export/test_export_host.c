/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/export/test_export_host.c - the in-host exporter
 * (include/chio/export_nats.h) against a real JetStream cluster on
 * loopback: a kernel in this process signs while the exporter thread
 * follows its store; the lag (and its Prometheus line) reaches 0 and
 * `chio fleet verify` finds every receipt once. With the only server
 * killed, signing goes on at full speed while the lag grows; once the
 * server is back the exporter catches up and the stream is clean.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/export_nats.h"
#include "common/poll.h"
#include "common/testutil.h"
#include "export/fleetutil.h"

static char *dir, *nc, *urls;

static void setup(void)
{
    dir = testutil_tmpdir();
    cr_assert_geq(asprintf(&nc, "%s/nats", dir), 0);
}

static void teardown(void)
{
    fu_kill_all();
    fu_cluster_stop(nc);
    testutil_rmrf(dir);
    free(urls);
    free(nc);
    free(dir);
}

TestSuite(export_host, .init = setup, .fini = teardown);

static chio_export_nats *start(const char *db, chio_kernel *k)
{
    chio_export_nats_config cfg;
    chio_export_nats *x = NULL;
    chio_error err;

    chio_export_nats_config_init(&cfg);
    cfg.receipt_db = db;
    cfg.urls = urls;
    cfg.kernel = k;
    cfg.poll_ms = 20;
    chio_error_init(&err);
    cr_assert_eq(chio_export_nats_start(&cfg, &x, &err), 0, "%s", err.message);
    return x;
}

/* Poll until the exporter has acknowledged @seq with no lag. */
static int caught_up(chio_export_nats *x, uint64_t seq, unsigned timeout_ms)
{
    chio_export_nats_stats s;
    uint64_t deadline = testutil_now_ms() + timeout_ms;

    for (;;) {
        cr_assert_eq(chio_export_nats_stats_get(x, &s), 0);
        if (s.acked_seq == seq && s.lag == 0)
            return 1;
        cr_assert(s.running, "the exporter thread ended (exit %d)", s.exit_status);
        if (testutil_now_ms() > deadline)
            return 0;
        testutil_nap_ms(5);
    }
}

static void verify_clean(long long receipts)
{
    fu_run r = fu_cli(dir, 120000, (const char *const[]){"fleet", "verify", "--nats", urls, NULL});
    const char *sum = fu_line(r.out, "{\"kernels\":");

    cr_assert_eq(r.status, 0, "fleet verify: %s%s", r.out, r.err);
    cr_assert_not_null(sum, "%s", r.out);
    cr_expect_eq(fu_field(sum, "kernels"), 1, "%s", sum);
    cr_expect_eq(fu_field(sum, "receipts"), receipts, "%s", sum);
    cr_expect_eq(fu_field(sum, "gaps"), 0, "%s", sum);
    cr_expect_eq(fu_field(sum, "duplicates"), 0, "%s", sum);
    cr_expect_eq(fu_field(sum, "invalid"), 0, "%s", sum);
    cr_expect_eq(fu_field(sum, "checkpoints_valid"), fu_field(sum, "checkpoints"), "%s", sum);
    fu_run_free(&r);
}

Test(export_host, lag_reaches_zero_and_verify_is_clean)
{
    char *db = NULL, *text = NULL;
    chio_export_nats *x;
    chio_export_nats_stats s;
    chio_kernel *k;
    size_t len = 0;

    urls = fu_cluster_start(nc, 3);
    cr_assert_geq(asprintf(&db, "%s/db", dir), 0);
    k = fu_kernel(db, 0x71, 50);
    x = start(db, k);
    fu_sign(k, 1500, "host");
    cr_assert(caught_up(x, 1500, 60000), "lag %llu", (unsigned long long)chio_export_nats_lag(x));
    cr_assert_eq(chio_export_nats_metrics_prometheus(x, &text, &len), 0);
    cr_expect_not_null(strstr(text, "\nchio_export_lag_receipts 0\n"), "%s", text);
    cr_expect_not_null(strstr(text, "\nchio_export_acked_seq 1500\n"), "%s", text);
    cr_expect_not_null(strstr(text, "\nchio_export_running 1\n"), "%s", text);
    cr_expect_eq(len, strlen(text));
    free(text);
    cr_assert_eq(chio_export_nats_stats_get(x, &s), 0);
    cr_expect_eq(s.published, 1500, "each receipt appended once");
    cr_expect_lt(s.messages, 1500, "runs of receipts, not one message each (%llu)",
                 (unsigned long long)s.messages);
    fu_sign(k, 300, "more");
    cr_assert(caught_up(x, 1800, 60000));
    cr_expect_eq(chio_export_nats_stop(x), 0, "a clean stop");
    chio_kernel_free(k);
    verify_clean(1800);
    free(db);
}

Test(export_host, stopped_cluster_never_blocks_signing)
{
    char *db = NULL;
    chio_export_nats *x;
    chio_kernel *k;
    uint64_t t0, took;

    urls = fu_cluster_start(nc, 1);
    cr_assert_geq(asprintf(&db, "%s/db", dir), 0);
    k = fu_kernel(db, 0x72, 50);
    x = start(db, k);
    fu_sign(k, 100, "before");
    cr_assert(caught_up(x, 100, 60000));
    fu_cluster_kill(nc, 1);
    /* the signing path does not wait for the stream: 2000 calls complete
     * while the lag grows (the exporter's publish waits up to 5 s for an
     * acknowledgement that cannot come) */
    t0 = testutil_now_ms();
    fu_sign(k, 2000, "down");
    took = testutil_now_ms() - t0;
    cr_expect_lt(took, 20000, "2000 receipts signed with the servers down in %llu ms",
                 (unsigned long long)took);
    cr_expect_geq(chio_export_nats_lag(x), 2000, "the lag counts what waits: %llu",
                  (unsigned long long)chio_export_nats_lag(x));
    fu_cluster_restart(nc, 1);
    cr_assert(caught_up(x, 2100, 90000), "caught up after the server came back: lag %llu",
              (unsigned long long)chio_export_nats_lag(x));
    cr_expect_eq(chio_export_nats_stop(x), 0);
    chio_kernel_free(k);
    verify_clean(2100);
    free(db);
}

Test(export_host, bad_configuration)
{
    chio_export_nats_config cfg;
    chio_export_nats *x = (chio_export_nats *)1;
    chio_error err;

    chio_export_nats_config_init(&cfg);
    cr_expect_eq(chio_export_nats_start(&cfg, &x, &err), CHIO_EINVAL);
    cr_expect_null(x);
    cfg.receipt_db = dir;
    cfg.urls = "nats://127.0.0.1:1";
    cfg.stream = "a.b";
    cr_expect_eq(chio_export_nats_start(&cfg, &x, &err), CHIO_EINVAL);
    cfg.stream = NULL;
    cfg.max_batch = 257;
    cr_expect_eq(chio_export_nats_start(&cfg, &x, &err), CHIO_EINVAL);
    cr_expect_eq(chio_export_nats_lag(NULL), 0);
    cr_expect_eq(chio_export_nats_stop(NULL), 0);
}
