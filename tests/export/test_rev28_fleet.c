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
 * Review 42 also: the witness counts a message without run headers as
 * ignored, and `chio fleet witness --kernel-key` pins the kernel.
 * Since review 42 the last part of an id is a tag keyed by a secret that
 * never leaves the exporter: a per-run nonce, shown in every id the run
 * had published, let any reader of the stream predict a running
 * exporter's next id (fleet_msgid).
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
#include "export/export.h"
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

/* Review 42: every id of one exporter run ended in the same nonce, which
 * every reader of the stream sees in the ids already published. A host
 * that may publish on its own subjects only and holds the kernel's next
 * receipt (its tool caller) could publish it first under the id the
 * running exporter would give it: the exporter took "duplicate" for
 * stored, its position file named the receipt, and the stream never had
 * it at its seq (fleet verify and witness passed; the reviewer's
 * end-to-end run held a --follow exporter with SIGSTOP). Now the last
 * part of an id is a tag keyed by a secret that never leaves the
 * exporter: the same run gives the same id (a retry is a duplicate of
 * itself), and what a reader sees of one run's id says nothing of the
 * next's. No server needed. */
TestSuite(fleet_msgid);

/* The part of @id after its last ':' (the tag). */
static const char *tag_of(const char *id)
{
    const char *t = strrchr(id, ':');

    cr_assert_not_null(t, "%s", id);
    return t + 1;
}

Test(fleet_msgid, a_runs_id_cannot_be_told_from_the_ids_before_it)
{
    uint8_t secret[CHIO__EXPORT_SECRET_LEN], other[CHIO__EXPORT_SECRET_LEN];
    char key[65], a[200], a2[200], b[200], c[200], d[200], e[200], digest[65], forged[200];
    const char *body1 = "{\"receipt\":1}", *body2 = "{\"receipt\":2}";

    memset(key, 'a', 64);
    key[64] = '\0';
    cr_assert_eq(chio__export_secret(secret), 0);
    cr_assert_eq(chio__export_secret(other), 0);
    cr_assert_neq(memcmp(secret, other, sizeof(secret)), 0, "two draws differ");
    cr_assert_eq(chio__export_msg_id(a, sizeof(a), key, 1, 1, 1, body1, strlen(body1), secret), 0);
    cr_assert_eq(chio__export_msg_id(a2, sizeof(a2), key, 1, 1, 1, body1, strlen(body1), secret),
                 0);
    cr_assert_eq(chio__export_msg_id(b, sizeof(b), key, 1, 2, 2, body2, strlen(body2), secret), 0);
    cr_assert_eq(chio__export_msg_id(c, sizeof(c), key, 0, 1, 1, body1, strlen(body1), secret), 0);
    cr_assert_eq(chio__export_msg_id(d, sizeof(d), key, 1, 1, 1, body1, strlen(body1), other), 0);
    cr_expect_str_eq(a, a2, "a retry of the same run has the same id");
    /* key:first-last:digest:tag, the tag 16 hex digits */
    cr_assert_eq(chio_sha256_hex(body2, strlen(body2), digest), 0);
    snprintf(forged, sizeof(forged), "%s:2-2:%.32s:", key, digest);
    cr_expect_eq(strncmp(b, forged, strlen(forged)), 0, "%s", b);
    cr_expect_eq(strlen(tag_of(b)), 16, "%s", b);
    /* What a reader of run 1's id could build for run 2 (the last part
     * reused) is not run 2's id: each run's tag is its own. */
    snprintf(forged, sizeof(forged), "%s:2-2:%.32s:%s", key, digest, tag_of(a));
    cr_expect_str_neq(b, forged, "run 2's id from run 1's: %s", b);
    cr_expect_str_neq(tag_of(a), tag_of(b));
    cr_expect_str_neq(tag_of(a), tag_of(c), "a checkpoint's tag differs from a receipt run's");
    cr_expect_str_neq(a, d, "another exporter run, another tag");
    /* Too small a buffer fails rather than cutting the tag off. */
    cr_expect_neq(chio__export_msg_id(e, 80, key, 1, 1, 1, body1, strlen(body1), secret), 0);
}

/* Review 42: a message without run headers on the kernel's subject (any
 * client that may publish there) was dropped by the witness without being
 * counted, though its JSON line says such items are. */
Test(fleet_rev28, the_witness_counts_a_message_without_run_headers)
{
    char *db = fu_path_in(dir, "db"), key[65], rs[128];
    fu_run v;

    fu_pubkey(0x95, key);
    snprintf(rs, sizeof(rs), "chio.%s.receipts", key);
    fu_fill(db, 0x95, 3, 100, "a");
    export_expect(db, 3, 3);
    rogue_pub_id(rs, "not a run", 9, "rogue-1");
    v = CLI(60000, "fleet", "witness", "--receipt-db", db, "--nats", urls);
    cr_expect_eq(v.status, 0, "no rollback: %s%s", v.out, v.err);
    cr_expect_eq(fu_field(v.out, "stream_items_ignored"), 1, "before: 0; %s", v.out);
    cr_expect_eq(fu_field(v.out, "stream_last_seq"), 3, "%s", v.out);
    fu_run_free(&v);
    free(db);
}

/* Review 42: `chio fleet witness` took the kernel to compare from the
 * store: a store swapped for a new key's log (which never published)
 * compared clean. --kernel-key pins the kernel the log must be of. */
Test(fleet_rev28, the_witness_pinned_to_a_kernel_refuses_another_kernels_store)
{
    char *db = fu_path_in(dir, "db"), *other = fu_path_in(dir, "other"), key[65], upper[67];
    size_t i;
    fu_run v;

    fu_pubkey(0x96, key);
    fu_fill(db, 0x96, 3, 100, "a");
    export_expect(db, 3, 3);
    fu_fill(other, 0x97, 2, 100, "b"); /* the swapped-in log: never published */
    v = CLI(60000, "fleet", "witness", "--receipt-db", other, "--nats", urls);
    cr_expect_eq(v.status, 0, "unpinned it compares clean (documented): %s%s", v.out, v.err);
    fu_run_free(&v);
    v = CLI(60000, "fleet", "witness", "--receipt-db", other, "--nats", urls, "--kernel-key", key);
    cr_expect_eq(v.status, 2, "pinned it is refused: %s%s", v.out, v.err);
    cr_expect_not_null(strstr(v.err, "not of this kernel"), "%s", v.err);
    fu_run_free(&v);
    /* the right store passes, the key given in upper case with 0x */
    snprintf(upper, sizeof(upper), "0x%s", key);
    for (i = 2; upper[i] != '\0'; i++)
        if (upper[i] >= 'a' && upper[i] <= 'f')
            upper[i] = (char)(upper[i] - 'a' + 'A');
    v = CLI(60000, "fleet", "witness", "--receipt-db", db, "--nats", urls, "--kernel-key", upper);
    cr_expect_eq(v.status, 0, "%s%s", v.out, v.err);
    cr_expect_eq(fu_field(v.out, "receipts_compared"), 3, "%s", v.out);
    fu_run_free(&v);
    v = CLI(60000, "fleet", "witness", "--receipt-db", db, "--nats", urls, "--kernel-key", "12");
    cr_expect_eq(v.status, 2, "%s%s", v.out, v.err);
    cr_expect_not_null(strstr(v.err, "is not a public key"), "%s", v.err);
    fu_run_free(&v);
    free(db);
    free(other);
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
