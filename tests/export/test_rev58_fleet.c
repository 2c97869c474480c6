/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/export/test_rev58_fleet.c - review 17 of the fleet, F1: after a
 * refused publish (someone else appended to the kernel's subject) the
 * exporter read the subject again and compared it with its secondary view
 * of the store without refreshing the view. A receipt the kernel had
 * committed since looked missing, and the exporter ended with "the store
 * was rewound" (exit 1), exporting nothing more:
 *   - a tool caller publishing the receipt it was handed, at its seq;
 *   - a second exporter on the same live store.
 * The view is now refreshed before a kernel item it lacks is called a
 * rollback (a one-shot export's read-only snapshot, by a second look at
 * the store); the exporters go on, as docs/fleet.md says. `chio fleet
 * witness` on a live store reads the same way.
 */
#include <criterion/criterion.h>
#include <nats/nats.h>
#include <pthread.h>
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
    fu_suite_up(&dir, &nc, &urls, 1);
}

static void teardown(void)
{
    fu_suite_down(&dir, &nc, &urls);
}

TestSuite(rev58_fleet, .init = setup, .fini = teardown);

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

/* One receipt signed by @k (parameters name @i); caller frees. */
static chio_receipt *sign_one(chio_kernel *k, unsigned i)
{
    chio_receipt_builder *b = NULL;
    chio_receipt *r = NULL;
    chio_error err;
    char p[64];

    snprintf(p, sizeof(p), "{\"path\":\"/w/%u\"}", i);
    cr_assert_eq(chio_receipt_builder_new(&b), 0);
    cr_assert_eq(chio_receipt_builder_set_capability_id(b, "cap"), 0);
    cr_assert_eq(chio_receipt_builder_set_tool(b, "srv", "file_read"), 0);
    cr_assert_eq(chio_receipt_builder_set_parameters(b, p, strlen(p), NULL), 0);
    cr_assert_eq(chio_receipt_builder_set_decision(b, CHIO_VERDICT_ALLOW, NULL, NULL), 0);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_sign_receipt(k, b, &r, &err), 0, "%s", err.message);
    return r;
}

/* Publish @r at its seq @seq on its kernel's subject (plain NATS: any
 * client of the servers may). */
static void publish_copy(natsConnection *c, const chio_receipt *r, unsigned seq)
{
    size_t len = 0;
    const char *json = chio_receipt_json(r, &len);
    char subject[128], sq[24];
    natsMsg *m = NULL;

    snprintf(subject, sizeof(subject), "chio.%s.receipts", chio_receipt_kernel_key_hex(r));
    snprintf(sq, sizeof(sq), "%u", seq);
    cr_assert_eq(natsMsg_Create(&m, subject, NULL, json, (int)len), NATS_OK);
    cr_assert_eq(natsMsgHeader_Set(m, "Chio-Seq", sq), NATS_OK);
    cr_assert_eq(natsMsgHeader_Set(m, "Chio-Last-Seq", sq), NATS_OK);
    cr_assert_eq(natsConnection_PublishMsg(c, m), NATS_OK);
    cr_assert_eq(natsConnection_Flush(c), NATS_OK);
    natsMsg_Destroy(m);
}

/* Poll until @x has acknowledged @seq with no lag; fails the test when
 * its thread ends first. */
static void caught_up(chio_export_nats *x, uint64_t seq)
{
    chio_export_nats_stats s;
    uint64_t deadline = testutil_now_ms() + 60000;

    for (;;) {
        cr_assert_eq(chio_export_nats_stats_get(x, &s), 0);
        if (s.acked_seq == seq && s.lag == 0)
            return;
        cr_assert(s.running, "the exporter thread ended (exit %d) at acked %llu", s.exit_status,
                  (unsigned long long)s.acked_seq);
        cr_assert_lt(testutil_now_ms(), deadline, "acked %llu of %llu",
                     (unsigned long long)s.acked_seq, (unsigned long long)seq);
        testutil_nap_ms(5);
    }
}

Test(rev58_fleet, a_receipt_its_caller_publishes_right_after_signing_is_no_rollback)
{
    char *db = fu_path_in(dir, "db");
    chio_kernel *k = fu_kernel(db, 0x58, 50);
    chio_export_nats *x = start(db, k);
    chio_export_nats_stats s;
    natsConnection *c = NULL;
    unsigned i;

    cr_assert_eq(natsConnection_ConnectTo(&c, urls), NATS_OK);
    for (i = 1; i <= 1000; i++) {
        chio_receipt *r = sign_one(k, i);
        if (i % 10 == 0)
            publish_copy(c, r, i);
        chio_receipt_free(r);
        cr_assert_eq(chio_export_nats_stats_get(x, &s), 0);
        cr_assert(s.running, "the exporter ended at receipt %u (exit %d)", i, s.exit_status);
    }
    caught_up(x, 1000);
    cr_expect_eq(chio_export_nats_stop(x), 0, "a clean stop");
    natsConnection_Destroy(c);
    chio_kernel_free(k);
    free(db);
}

Test(rev58_fleet, two_exporters_on_one_live_store_both_go_on)
{
    char *db = fu_path_in(dir, "db");
    chio_kernel *k = fu_kernel(db, 0x59, 50);
    chio_export_nats *a = start(db, k), *b = start(db, k);
    unsigned i;

    for (i = 1; i <= 1500; i++) {
        chio_receipt *r = sign_one(k, i);
        chio_receipt_free(r);
    }
    caught_up(a, 1500);
    caught_up(b, 1500);
    cr_expect_eq(chio_export_nats_stop(a), 0, "a clean stop");
    cr_expect_eq(chio_export_nats_stop(b), 0, "a clean stop");
    chio_kernel_free(k);
    free(db);
}

/* A kernel that signs while its callers publish what they are handed:
 * every fifth receipt, about 2,000 a second, until @stop or 4,000. */
typedef struct signer {
    chio_kernel *k;
    natsConnection *c;
    int stop;
    unsigned signed_n;
    unsigned every; /* publish every @every-th receipt (0: none) */
} signer;

static void *sign_and_publish(void *arg)
{
    signer *g = arg;

    while (!__atomic_load_n(&g->stop, __ATOMIC_ACQUIRE) && g->signed_n < 4000) {
        unsigned i = ++g->signed_n;
        chio_receipt *r = sign_one(g->k, i);
        if (g->every != 0 && i % g->every == 0)
            publish_copy(g->c, r, i);
        chio_receipt_free(r);
        testutil_nap_ms(1);
    }
    return NULL;
}

Test(rev58_fleet, a_one_shot_export_of_a_live_store_is_no_rollback)
{
    char *db = fu_path_in(dir, "db");
    signer g = {fu_kernel(db, 0x5a, 50), NULL, 0, 0, 5};
    pthread_t th;
    fu_run r;
    int i;

    cr_assert_eq(natsConnection_ConnectTo(&g.c, urls), NATS_OK);
    for (i = 0; i < 200; i++)
        chio_receipt_free(sign_one(g.k, ++g.signed_n));
    cr_assert_eq(pthread_create(&th, NULL, sign_and_publish, &g), 0);
    for (i = 0; i < 3; i++) {
        r = fu_cli(dir, 120000,
                   (const char *const[]){"export", "--receipt-db", db, "--nats", urls, NULL});
        cr_expect_eq(r.status, 0, "one-shot export %d: %s%s", i, r.out, r.err);
        cr_expect_null(strstr(r.err, "rewound"), "%s", r.err);
        fu_run_free(&r);
    }
    __atomic_store_n(&g.stop, 1, __ATOMIC_RELEASE);
    cr_assert_eq(pthread_join(th, NULL), 0);
    natsConnection_Destroy(g.c);
    chio_kernel_free(g.k);
    free(db);
}

Test(rev58_fleet, the_witness_of_a_live_exported_store_finds_no_rollback)
{
    char *db = fu_path_in(dir, "db");
    signer g = {fu_kernel(db, 0x5b, 50), NULL, 0, 0, 0};
    chio_export_nats *x;
    pthread_t th;
    fu_run r;
    int i;

    for (i = 0; i < 200; i++)
        chio_receipt_free(sign_one(g.k, ++g.signed_n));
    x = start(db, g.k);
    caught_up(x, 200);
    cr_assert_eq(pthread_create(&th, NULL, sign_and_publish, &g), 0);
    for (i = 0; i < 4; i++) {
        r = fu_cli(
            dir, 120000,
            (const char *const[]){"fleet", "witness", "--receipt-db", db, "--nats", urls, NULL});
        cr_expect_eq(r.status, 0, "witness %d: %s%s", i, r.out, r.err);
        cr_expect_not_null(strstr(r.out, "\"rollback\":false"), "%s", r.out);
        fu_run_free(&r);
    }
    __atomic_store_n(&g.stop, 1, __ATOMIC_RELEASE);
    cr_assert_eq(pthread_join(th, NULL), 0);
    cr_expect_eq(chio_export_nats_stop(x), 0);
    chio_kernel_free(g.k);
    free(db);
}
