/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/export/test_rev28_fleet.c - the exporter against another client
 * that takes its next message id first, and against servers with a small
 * max_payload, on a one-node JetStream server
 * (scripts/nats-cluster.sh). JetStream deduplicates message ids across the
 * whole stream and answers a second message with an id it holds
 * "duplicate", with the first one's position. The id named the run's key,
 * seqs and body digest only, all of which whoever holds the run's bytes
 * knows: a tool caller holds the receipt it was returned, and when the
 * exporter keeps up a run is that one receipt. Published first under that
 * id (on the kernel's subject without run headers, or on another kernel's
 * subject, which per-host NATS credentials allow a compromised host), it
 * made the exporter take the other message for its run: the receipt never
 * reached the stream at its seq, the export said it was done, and on the
 * kernel's own subject the next run was accepted after it (a hole for the
 * rest of a --follow run). Now each exporter run adds an unpredictable
 * nonce to its ids (tests: receipts_published, the witness's
 * stream_last_seq, fleet verify's count of the kernel's receipts).
 * And servers that take smaller messages than the exporter's largest run
 * (max_payload) still get every receipt. Messages are written with the
 * NATS client itself, as an attacker's client would, with the headers it
 * chooses.
 */
#include <criterion/criterion.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

TestSuite(fleet_rev28, .init = setup, .fini = teardown);

#define CLI(timeout_ms, ...) fu_cli(dir, timeout_ms, (const char *const[]){__VA_ARGS__, NULL})

/* Publish @body on @subject as another client, with message id @id and
 * no run headers. */
static void rogue_pub_id(const char *subject, const char *body, size_t len, const char *id)
{
    natsConnection *c = NULL;
    jsCtx *js = NULL;
    natsMsg *m = NULL;
    jsPubAck *pa = NULL;
    jsErrCode je = 0;

    cr_assert_eq(natsConnection_ConnectTo(&c, urls), NATS_OK);
    cr_assert_eq(natsConnection_JetStream(&js, c, NULL), NATS_OK);
    cr_assert_eq(natsMsg_Create(&m, subject, NULL, body, (int)len), NATS_OK);
    cr_assert_eq(natsMsgHeader_Set(m, "Nats-Msg-Id", id), NATS_OK);
    cr_assert_eq(js_PublishMsg(&pa, js, m, NULL, &je), NATS_OK, "publish: %d", (int)je);
    jsPubAck_Destroy(pa);
    natsMsg_Destroy(m);
    jsCtx_Destroy(js);
    natsConnection_Destroy(c);
}

static void export_expect(const char *db, long long published, long long last)
{
    fu_export_expect(dir, urls, db, published, last);
}

/* The stream holds 1..3 of kernel @seed; receipt 4 is signed and not
 * exported yet; whoever holds it publishes it first on @subject (NULL: the
 * kernel's own) under the id the exporter's one-receipt run of 4 had. The
 * export must still put receipt 4 into the stream at seq 4. */
static void id_taken_first(unsigned seed, const char *subject)
{
    char *db = fu_path_in(dir, "db"), key[65], rs[128], id[200], digest[65], *r4;
    size_t len;
    fu_run v;

    fu_pubkey(seed, key);
    snprintf(rs, sizeof(rs), "chio.%s.receipts", key);
    fu_fill(db, seed, 3, 100, "a");
    export_expect(db, 3, 3);
    fu_fill(db, seed, 1, 100, "b");
    r4 = fu_stored_receipt(db, 4, &len);
    cr_assert_eq(chio_sha256_hex(r4, len, digest), 0);
    snprintf(id, sizeof(id), "%s:4-4:%.32s", key, digest);
    rogue_pub_id(subject ? subject : rs, r4, len, id);
    free(r4);
    export_expect(db, 1, 4);
    v = CLI(60000, "fleet", "witness", "--receipt-db", db, "--nats", urls);
    cr_expect_eq(v.status, 0, "%s%s", v.out, v.err);
    cr_expect_eq(fu_field(v.out, "stream_last_seq"), 4, "receipt 4 is in the stream: %s%s", v.out,
                 v.err);
    fu_run_free(&v);
    /* fleet verify names the other client's message, and counts 4 receipts */
    v = CLI(60000, "fleet", "verify", "--nats", urls);
    cr_expect_eq(v.status, 1, "the other client's message is named: %s%s", v.out, v.err);
    cr_expect_eq(fu_field(fu_line(v.out, "{\"checkpoints\""), "receipts"), 4, "%s", v.out);
    cr_expect_eq(fu_field(fu_line(v.out, "{\"checkpoints\""), "gaps"), 0, "%s", v.out);
    fu_run_free(&v);
    free(db);
}

/* On the kernel's own subject, without run headers (a tool caller). */
Test(fleet_rev28, a_receipt_holder_taking_the_runs_id_first_makes_no_hole)
{
    id_taken_first(0x91, NULL);
}

/* On another kernel's subject (a compromised host whose credentials allow
 * only its own subjects still shares the stream's deduplication). */
Test(fleet_rev28, the_runs_id_taken_on_another_subject_makes_no_hole)
{
    char other[128];

    snprintf(other, sizeof(other), "chio.%064d.receipts", 0);
    id_taken_first(0x92, other);
}

/* The servers take messages of at most 16 KiB (max_payload, a common
 * hardening; the default is 1 MiB). The exporter gathered runs of up to
 * 512 KiB whatever the servers took: the client refused each such
 * publish, and the exporter retried the same run until its 60 s stall
 * (for ever under --follow), exporting nothing. Now a run is cut to what
 * the servers take. */
Test(fleet_rev28, runs_fit_the_servers_max_payload)
{
    char *db = fu_path_in(dir, "db"), *conf = fu_path_in(nc, "n1/server.conf");
    FILE *f;
    fu_run v;

    fu_fill(db, 0x93, 120, 1000, "a-receipt-of-some-size");
    fu_cluster_kill(nc, 1);
    f = fopen(conf, "a");
    cr_assert_not_null(f);
    fputs("max_payload: 16384\n", f);
    fclose(f);
    fu_cluster_restart(nc, 1);
    v = CLI(90000, "export", "--receipt-db", db, "--nats", urls);
    cr_expect_eq(v.status, 0, "export: %s%s", v.out, v.err);
    cr_expect_eq(fu_field(v.out, "receipts_published"), 120, "%s%s", v.out, v.err);
    fu_run_free(&v);
    v = CLI(60000, "fleet", "verify", "--nats", urls);
    cr_expect_eq(v.status, 0, "%s%s", v.out, v.err);
    cr_expect_eq(fu_field(fu_line(v.out, "{\"kernels\":"), "receipts"), 120, "%s", v.out);
    fu_run_free(&v);
    free(conf);
    free(db);
}
