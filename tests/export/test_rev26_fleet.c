/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/export/test_rev26_fleet.c - the exporter, the witness and fleet
 * verify against another client on the bus and an edited position file, on
 * a one-node JetStream server (scripts/nats-cluster.sh): a receipt the
 * kernel signed but had not exported yet, published by someone else at its
 * own seq (a tool caller gets its receipts back), before a start or during
 * a --follow run, must not make the exporter skip the receipts before it;
 * a store that archived old receipts and checkpoints (`chio receipt
 * archive`) is no rollback, not even when another client publishes one of
 * the archived receipts again under a later seq; a stream that lost its
 * oldest messages is resumed where it stands; junk on a checkpoints subject
 * is not held by fleet verify; and, as coverage, a host that forks its own
 * checkpoints is caught and an edited position file changes nothing.
 * Messages are written with the NATS client itself, as an attacker's
 * client would, with the headers it chooses.
 */
#include <criterion/criterion.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

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

TestSuite(fleet_rev26, .init = setup, .fini = teardown);

static char *path_in(const char *name)
{
    return fu_path_in(dir, name);
}

#define CLI(timeout_ms, ...) fu_cli(dir, timeout_ms, (const char *const[]){__VA_ARGS__, NULL})

static void rogue_pub(const char *subject, const char *body, size_t len, uint64_t seq)
{
    fu_rogue_pub(urls, subject, body, len, seq);
}

static void export_ok(const char *db, long long published, long long last)
{
    fu_export_expect(dir, urls, db, published, last);
}

/* A caller that got receipt 35 back publishes it at its seq while the
 * exporter is down (the stream holds 1..30). The exporter must publish
 * 31..40, not go on after 35 (a hole of 31..34 it would never fill,
 * although its summary said it was done). */
Test(fleet_rev26, a_receipt_published_ahead_makes_no_hole)
{
    char *db = path_in("db"), key[65], rs[128], *r35;
    size_t len;
    fu_run v;

    fu_pubkey(0x81, key);
    snprintf(rs, sizeof(rs), "chio.%s.receipts", key);
    fu_fill(db, 0x81, 30, 10, "a");
    export_ok(db, 30, 30);
    fu_fill(db, 0x81, 10, 10, "b");
    r35 = fu_stored_receipt(db, 35, &len);
    rogue_pub(rs, r35, len, 35);
    free(r35);
    v = CLI(60000, "export", "--receipt-db", db, "--nats", urls);
    cr_expect_eq(v.status, 0, "export: %s%s", v.out, v.err);
    cr_expect_eq(fu_field(v.out, "receipts_published"), 10, "%s%s", v.out, v.err);
    cr_expect_eq(fu_field(v.out, "last_seq"), 40, "%s%s", v.out, v.err);
    cr_expect(strstr(v.err, "holds receipt 35 but not 31") != NULL, "%s", v.err);
    fu_run_free(&v);
    /* every receipt is in the stream (35 twice: fleet verify names the copy) */
    v = CLI(60000, "fleet", "verify", "--nats", urls);
    cr_expect_eq(v.status, 1, "%s%s", v.out, v.err);
    cr_expect_eq(fu_field(fu_line(v.out, "{\"kernels\":"), "gaps"), 0, "no hole: %s", v.out);
    cr_expect_eq(fu_field(fu_line(v.out, "{\"kernels\":"), "receipts"), 40, "%s", v.out);
    cr_expect(
        strstr(v.out, "\"problem\":\"duplicate_receipt\",\"reason\":\"same_bytes\",\"seq\":35") !=
            NULL,
        "%s", v.out);
    fu_run_free(&v);
    free(db);
}

/* The same within a --follow run: the exporter, paused with all of 1..30
 * published, finds its next append refused (receipt 35 was published
 * ahead of it meanwhile) and reads the subject from its own last message:
 * it goes on after 30, not after 35. */
Test(fleet_rev26, a_receipt_published_ahead_during_a_run_makes_no_hole)
{
    char *db = path_in("db"), *log = path_in("follow.log"), key[65], rs[128], *r35;
    chio_kernel *k;
    size_t len;
    pid_t pid;
    int i;
    fu_run v;

    fu_pubkey(0x87, key);
    snprintf(rs, sizeof(rs), "chio.%s.receipts", key);
    k = fu_kernel(db, 0x87, 10);
    fu_sign(k, 30, "a");
    pid = fu_spawn(
        log, (const char *const[]){"export", "--receipt-db", db, "--nats", urls, "--follow", NULL});
    for (i = 0; i < 30000 && fu_position(db, "CHIO", NULL) < 30; i++)
        testutil_nap_ms(1);
    cr_assert_eq(fu_position(db, "CHIO", NULL), 30, "exported (%s)", log);
    cr_assert_eq(kill(pid, SIGSTOP), 0);
    fu_sign(k, 10, "b");
    r35 = fu_stored_receipt(db, 35, &len);
    rogue_pub(rs, r35, len, 35);
    free(r35);
    cr_assert_eq(kill(pid, SIGCONT), 0);
    for (i = 0; i < 30000 && fu_position(db, "CHIO", NULL) < 40; i++)
        testutil_nap_ms(1);
    cr_expect_eq(fu_position(db, "CHIO", NULL), 40, "exported (%s)", log);
    cr_assert_eq(kill(pid, SIGTERM), 0);
    cr_expect_eq(fu_wait(pid, 15000), 0);
    chio_kernel_free(k);
    v = CLI(60000, "fleet", "verify", "--nats", urls);
    cr_expect_eq(fu_field(fu_line(v.out, "{\"kernels\":"), "gaps"), 0, "no hole: %s", v.out);
    cr_expect_eq(fu_field(fu_line(v.out, "{\"kernels\":"), "receipts"), 40, "%s", v.out);
    fu_run_free(&v);
    free(log);
    free(db);
}

/* `chio receipt archive` moved receipts 1..30 and checkpoints 1..3 out of
 * the live store: no rollback (before: the witness said "rewound from
 * checkpoint 1", and a host with --witness-nats refused to start on it).
 * Another client then publishes archived receipt 5 again under seq 41,
 * beyond the store's end: a replay, not a receipt the store lost (before:
 * "rewound" at 41, and the exporter stopped for good with exit 1). */
Test(fleet_rev26, an_archived_store_is_no_rollback)
{
    char *db = path_in("db"), *arch = path_in("arch"), *old = path_in("old"), key[65], rs[128];
    char cmd[1024], *r5;
    size_t len;
    fu_run v;

    fu_pubkey(0x82, key);
    snprintf(rs, sizeof(rs), "chio.%s.receipts", key);
    fu_fill(db, 0x82, 40, 10, "a");
    export_ok(db, 40, 40);
    r5 = fu_stored_receipt(db, 5, &len);
    snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", db, old);
    cr_assert_eq(system(cmd), 0);
    v = CLI(60000, "receipt", "archive", "--receipt-db", db, "--archive", arch, "--max-size", "1");
    cr_assert_eq(v.status, 0, "%s%s", v.out, v.err);
    cr_assert_eq(fu_field(v.out, "checkpoints_moved"), 3, "%s", v.out);
    fu_run_free(&v);
    v = CLI(60000, "fleet", "witness", "--receipt-db", db, "--nats", urls);
    cr_expect_eq(v.status, 0, "archived, not rewound: %s%s", v.out, v.err);
    cr_expect_eq(fu_field(v.out, "stream_last_checkpoint_seq"), 4, "%s", v.out);
    fu_run_free(&v);
    rogue_pub(rs, r5, len, 41);
    free(r5);
    v = CLI(60000, "fleet", "witness", "--receipt-db", db, "--nats", urls);
    cr_expect_eq(v.status, 0, "a replay is no rollback: %s%s", v.out, v.err);
    cr_expect_eq(fu_field(v.out, "stream_items_ignored"), 1, "%s", v.out);
    cr_expect_eq(fu_field(v.out, "stream_last_seq"), 40, "%s", v.out);
    fu_run_free(&v);
    fu_fill(db, 0x82, 5, 10, "b");
    v = CLI(60000, "export", "--receipt-db", db, "--nats", urls);
    cr_expect_eq(v.status, 0, "the exporter goes on: %s%s", v.out, v.err);
    cr_expect_eq(fu_field(v.out, "receipts_published"), 5, "%s%s", v.out, v.err);
    cr_expect_eq(fu_field(v.out, "last_seq"), 45, "%s%s", v.out, v.err);
    fu_run_free(&v);
    /* a store rolled back for real is still caught: the copy made before
     * the archive lacks 41..45 */
    v = CLI(60000, "fleet", "witness", "--receipt-db", old, "--nats", urls);
    cr_expect_eq(v.status, 1, "%s%s", v.out, v.err);
    cr_expect(strstr(v.out, "\"reason\":\"rewound\"") != NULL, "%s", v.out);
    cr_expect_eq(fu_field(v.out, "first_differing_seq"), 41, "%s", v.out);
    fu_run_free(&v);
    free(db);
    free(arch);
    free(old);
}

/* Checkpoint @seq of @db's kernel (seed 32 x @seed_byte) for receipts
 * @start..@end of the store, chained to @prev, issued at @at: what a host
 * with its own key could sign (malloc'd canonical JSON). */
static char *sign_checkpoint(const char *db, unsigned seed_byte, uint64_t seq, uint64_t start,
                             uint64_t end, const char *prev, uint64_t at, size_t *len)
{
    chio_keypair *kp = NULL;
    chio_checkpoint *cp = NULL;
    uint8_t *leaves = calloc(end - start + 1, 32), root[32];
    const char *json;
    char seed[65], *out;
    uint64_t i;

    cr_assert_not_null(leaves);
    for (i = 0; i < 32; i++)
        snprintf(seed + 2 * i, 3, "%02x", seed_byte);
    cr_assert_eq(chio_keypair_from_seed_hex(seed, 64, &kp, NULL), 0);
    for (i = start; i <= end; i++) {
        size_t n;
        char *r = fu_stored_receipt(db, i, &n);
        chio_merkle_leaf_hash(r, n, leaves + (i - start) * 32);
        free(r);
    }
    cr_assert_eq(chio_merkle_root(leaves, (size_t)(end - start + 1), root), 0);
    cr_assert_eq(chio_checkpoint_sign(kp, seq, start, end, root, at, prev, &cp, NULL), 0);
    json = chio_checkpoint_json(cp, len); /* sets *len: not in the same call */
    out = strndup(json, *len);
    cr_assert_not_null(out);
    chio_checkpoint_free(cp);
    chio_keypair_free(kp);
    free(leaves);
    return out;
}

/* The previous-checkpoint hash of checkpoint @seq of @db. */
static void stored_cp_prev(const char *db, uint64_t seq, char out[65])
{
    chio_store *s = NULL;
    chio_checkpoint *cp = NULL;
    char *json = NULL;
    size_t len;

    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_assert_eq(chio_store_get_checkpoint(s, seq, &json, &len, NULL), 0);
    cr_assert_eq(chio_checkpoint_parse(json, len, &cp, NULL), 0);
    snprintf(out, 65, "%s", chio_checkpoint_previous_sha256(cp));
    chio_checkpoint_free(cp);
    chio_free(json);
    chio_store_close(s);
}

/* A host that holds its own key signs a second checkpoint 4 (the same
 * range, another time: a fork of its history) and a checkpoint 5 whose
 * range overlaps 4's. fleet verify names both; the witness calls the
 * store forked at checkpoint 4 (the key published two histories) and the
 * exporter publishes nothing more. (Coverage: these held before.) */
Test(fleet_rev26, a_host_that_forks_its_checkpoints_is_caught)
{
    char *db = path_in("db"), key[65], cs[128], prev[65], *cp;
    size_t len;
    fu_run v;

    fu_pubkey(0x83, key);
    snprintf(cs, sizeof(cs), "chio.%s.checkpoints", key);
    fu_fill(db, 0x83, 40, 10, "a");
    export_ok(db, 40, 40);
    stored_cp_prev(db, 4, prev);
    cp = sign_checkpoint(db, 0x83, 4, 31, 40, prev, 12345, &len);
    rogue_pub(cs, cp, len, 4);
    free(cp);
    cp = sign_checkpoint(db, 0x83, 5, 35, 40, NULL, 12346, &len);
    rogue_pub(cs, cp, len, 5);
    free(cp);
    v = CLI(60000, "fleet", "verify", "--nats", urls);
    cr_expect_eq(v.status, 1, "%s%s", v.out, v.err);
    cr_expect(strstr(v.out, "\"problem\":\"duplicate_checkpoint\",\"checkpoint_seq\":4") != NULL,
              "%s", v.out);
    cr_expect(strstr(v.out, "\"reason\":\"batch_range\",\"checkpoint_seq\":5") != NULL, "%s",
              v.out);
    fu_run_free(&v);
    v = CLI(60000, "fleet", "witness", "--receipt-db", db, "--nats", urls);
    cr_expect_eq(v.status, 1, "%s%s", v.out, v.err);
    cr_expect(strstr(v.out, "\"reason\":\"forked\"") != NULL, "%s", v.out);
    cr_expect_eq(fu_field(v.out, "first_differing_checkpoint_seq"), 4, "%s", v.out);
    fu_run_free(&v);
    v = CLI(60000, "export", "--receipt-db", db, "--nats", urls);
    cr_expect_eq(v.status, 1, "%s%s", v.out, v.err);
    fu_run_free(&v);
    free(db);
}

/* The position file edited (garbage, far ahead, behind): the exporter
 * publishes exactly what the stream lacks each time, neither skipping nor
 * sending again. (Coverage: the stream, not the file, says where to go on.) */
Test(fleet_rev26, an_edited_position_file_neither_skips_nor_resends)
{
    static const char *const edits[] = {
        "garbage{{{\n",
        "{\"checkpoint_position\":1,\"checkpoint_seq\":99,\"kernel\":\"KEY\","
        "\"receipt_position\":1,\"receipt_seq\":1000}\n",
        "{\"checkpoint_position\":1,\"checkpoint_seq\":0,\"kernel\":\"KEY\","
        "\"receipt_position\":1,\"receipt_seq\":3}\n",
        "{\"kernel\":\"KEY\",\"receipt_position\":-1,\"receipt_seq\":-1}\n"};
    char *db = path_in("db"), key[65], *pos, text[512], *k, tag[16];
    unsigned i;
    fu_run v;

    fu_pubkey(0x84, key);
    cr_assert_geq(asprintf(&pos, "%s/chio-export-CHIO.json", db), 0);
    fu_fill(db, 0x84, 20, 10, "a");
    export_ok(db, 20, 20);
    for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        FILE *f;
        snprintf(text, sizeof(text), "%s", edits[i]);
        if ((k = strstr(text, "KEY")) != NULL) {
            char rest[512];
            snprintf(rest, sizeof(rest), "%s", k + 3);
            snprintf(k, sizeof(text) - (size_t)(k - text), "%s%s", key, rest);
        }
        f = fopen(pos, "w");
        cr_assert_not_null(f);
        fputs(text, f);
        fclose(f);
        snprintf(tag, sizeof(tag), "b%u", i); /* (the same tag and second: the same receipt id) */
        fu_fill(db, 0x84, 5, 10, tag);
        export_ok(db, 5, 25 + 5 * i);
    }
    v = CLI(60000, "fleet", "verify", "--nats", urls);
    cr_expect_eq(v.status, 0, "clean: %s%s", v.out, v.err);
    cr_expect_eq(fu_field(fu_line(v.out, "{\"kernels\":"), "receipts"), 40, "%s", v.out);
    fu_run_free(&v);
    free(pos);
    free(db);
}

/* The oldest messages of the stream removed (aged out with max_age, or
 * purged: here positions 1..2, receipts 1..10): the exporter goes on
 * after what the stream still holds (21..25 published), as before; the
 * run of the kernel's first message still held starts where the removed
 * ones ended (its Nats-Expected-Last-Subject-Sequence names a position
 * the stream no longer holds), which a message another client published
 * ahead cannot claim. */
Test(fleet_rev26, a_stream_that_aged_out_its_oldest_messages_is_resumed)
{
    char *db = path_in("db"), key[65], rs[128], *r23;
    size_t len;
    natsConnection *c = NULL;
    jsCtx *js = NULL;
    jsOptions o;
    fu_run v;

    fu_fill(db, 0x85, 20, 10, "a");
    v = CLI(60000, "export", "--receipt-db", db, "--nats", urls, "--batch", "5");
    cr_assert_eq(v.status, 0, "%s%s", v.out, v.err);
    fu_run_free(&v);
    cr_assert_eq(natsConnection_ConnectTo(&c, urls), NATS_OK);
    cr_assert_eq(natsConnection_JetStream(&js, c, NULL), NATS_OK);
    jsOptions_Init(&o);
    o.Stream.Purge.Sequence = 3; /* positions 1 and 2: receipts 1..10 */
    cr_assert_eq(js_PurgeStream(js, "CHIO", &o, NULL), NATS_OK);
    jsCtx_Destroy(js);
    natsConnection_Destroy(c);
    fu_fill(db, 0x85, 5, 10, "b");
    /* and a receipt published ahead of the exporter still makes no hole */
    fu_pubkey(0x85, key);
    snprintf(rs, sizeof(rs), "chio.%s.receipts", key);
    r23 = fu_stored_receipt(db, 23, &len);
    rogue_pub(rs, r23, len, 23);
    free(r23);
    export_ok(db, 5, 25);
    v = CLI(60000, "fleet", "witness", "--receipt-db", db, "--nats", urls);
    cr_expect_eq(v.status, 0, "%s%s", v.out, v.err);
    cr_expect_eq(fu_field(v.out, "receipts_compared"), 16, "11..25 and the copy of 23: %s", v.out);
    fu_run_free(&v);
    free(db);
}

/* `chio fleet verify` run to completion: its exit status and peak memory (KiB). */
static int verify_rss(long *kib)
{
    char *log = path_in("verify.log");
    pid_t pid = fu_spawn(log, (const char *const[]){"fleet", "verify", "--nats", urls, NULL});
    uint64_t end = testutil_now_ms() + 60000;
    struct rusage ru;
    int st = -1;

    for (;;) {
        pid_t w = wait4(pid, &st, WNOHANG, &ru);
        cr_assert_geq(w, 0);
        if (w == pid)
            break;
        cr_assert_lt(testutil_now_ms(), end, "fleet verify did not end");
        testutil_nap_ms(5);
    }
    free(log);
    fu_forget(pid); /* reaped here */
    *kib = ru.ru_maxrss;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* 40 MB of junk on a checkpoints subject (any client may publish it): fleet
 * verify names it without keeping it. Before: every body was held until
 * the last receipt was read, 40 MB more memory for 40 MB published. */
Test(fleet_rev26, junk_on_a_checkpoints_subject_is_not_held)
{
    char *db = path_in("db"), key[65], cs[128], *big;
    natsConnection *c = NULL;
    jsCtx *js = NULL;
    long before, after;
    size_t n = 100 * 1024;
    int i;

    fu_pubkey(0x86, key);
    snprintf(cs, sizeof(cs), "chio.%s.checkpoints", key);
    fu_fill(db, 0x86, 20, 10, "a");
    export_ok(db, 20, 20);
    cr_assert_eq(verify_rss(&before), 0);
    big = malloc(n);
    cr_assert_not_null(big);
    memset(big, 'y', n);
    cr_assert_eq(natsConnection_ConnectTo(&c, urls), NATS_OK);
    cr_assert_eq(natsConnection_JetStream(&js, c, NULL), NATS_OK);
    for (i = 0; i < 400; i++)
        cr_assert_eq(js_PublishAsync(js, cs, big, (int)n, NULL), NATS_OK);
    cr_assert_eq(js_PublishAsyncComplete(js, NULL), NATS_OK);
    jsCtx_Destroy(js);
    natsConnection_Destroy(c);
    free(big);
    cr_expect_eq(verify_rss(&after), 1, "the junk is named");
#ifndef __SANITIZE_ADDRESS__
    cr_expect_lt(after - before, 16 * 1024, "%ld KiB more for 40 MB of junk", after - before);
#else
    /* ASan's quarantine keeps freed memory resident: the bound is the
     * plain build's to check. */
    fprintf(stderr, "fleet_rev26: %ld KiB more for 40 MB of junk (ASan build)\n", after - before);
#endif
    free(db);
}
