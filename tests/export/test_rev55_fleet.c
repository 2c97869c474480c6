/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/export/test_rev55_fleet.c - review 55 (fleet F3, F2): what `chio fleet
 * verify` keeps per item. Any client that may publish on a kernel's
 * receipts subject can send bodies of one-byte items ("a\n" repeated);
 * fleet verify kept a 32-byte leaf hash per tracked seq (absent ones
 * included, in a table doubling), about 19 times the stream's bytes. An
 * item that is no valid receipt now costs a state byte; the leaves of the
 * valid ones are kept in seq order and found by rank. The verdicts stay
 * the same: counted here for junk, duplicates of bad and good items, and
 * checkpoints whose batches follow bad items (their Merkle roots come
 * from the leaves found by rank). And (F2) a run of positions purged
 * inside the stream is skipped with one request, not one per position.
 * Messages are written with the NATS client itself, as an attacker's
 * client would, with the headers it chooses. A one-node JetStream server
 * (scripts/nats-cluster.sh), the real CLI.
 */
#include <criterion/criterion.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

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

TestSuite(fleet_rev55, .init = setup, .fini = teardown);

/* A publisher on its own connection, as any client of the servers. */
typedef struct pub {
    natsConnection *c;
    jsCtx *js;
} pub;

static void pub_open(pub *p)
{
    cr_assert_eq(natsConnection_ConnectTo(&p->c, urls), NATS_OK);
    cr_assert_eq(natsConnection_JetStream(&p->js, p->c, NULL), NATS_OK);
}

static void pub_close(pub *p)
{
    jsCtx_Destroy(p->js);
    natsConnection_Destroy(p->c);
}

/* Publish @body (@len bytes) on @subject with the run headers Chio-Seq
 * @first, Chio-Last-Seq @last. */
static void pub_run(pub *p, const char *subject, const char *body, size_t len, uint64_t first,
                    uint64_t last)
{
    natsMsg *m = NULL;
    jsPubAck *pa = NULL;
    jsErrCode je = 0;
    char a[24], b[24];

    snprintf(a, sizeof(a), "%llu", (unsigned long long)first);
    snprintf(b, sizeof(b), "%llu", (unsigned long long)last);
    cr_assert_eq(natsMsg_Create(&m, subject, NULL, body, (int)len), NATS_OK);
    cr_assert_eq(natsMsgHeader_Set(m, "Chio-Seq", a), NATS_OK);
    cr_assert_eq(natsMsgHeader_Set(m, "Chio-Last-Seq", b), NATS_OK);
    cr_assert_eq(js_PublishMsg(&pa, p->js, m, NULL, &je), NATS_OK, "publish: %d", (int)je);
    jsPubAck_Destroy(pa);
    natsMsg_Destroy(m);
}

/* `chio fleet verify` run to completion: its exit status, its output in
 * *@out (malloc'd) and its peak memory (KiB; the test process's size at
 * the fork is a floor, the same for every run). */
static int verify_rss(long *kib, char **out)
{
    char *log = fu_path_in(dir, "verify.log");
    pid_t pid;
    uint64_t end = testutil_now_ms() + 120000;
    struct rusage ru;
    size_t len;
    int st = -1;

    unlink(log);
    pid = fu_spawn(log, (const char *const[]){"fleet", "verify", "--nats", urls, NULL});
    for (;;) {
        pid_t w = wait4(pid, &st, WNOHANG, &ru);
        cr_assert_geq(w, 0);
        if (w == pid)
            break;
        cr_assert_lt(testutil_now_ms(), end, "fleet verify did not end");
        testutil_nap_ms(5);
    }
    fu_forget(pid); /* reaped here */
    *kib = ru.ru_maxrss;
    *out = testutil_read_file(log, &len);
    cr_assert_not_null(*out);
    free(log);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The line of @out with "kernel":"@key", and "ok" (a per-kernel line). */
static const char *kernel_line(const char *out, const char *key)
{
    static char line[1024];
    char pat[128];
    const char *p;

    snprintf(pat, sizeof(pat), "\"kernel\":\"%s\",\"last_checkpoint_seq\"", key);
    p = strstr(out, pat);
    cr_assert_not_null(p, "no summary line for %s: %.2000s", key, out);
    while (p > out && p[-1] != '\n')
        p--;
    snprintf(line, sizeof(line), "%.*s", (int)strcspn(p, "\n"), p);
    return line;
}

#define ITEMS    400000 /* one-byte items per message: 800 KB, under max_payload */
#define MESSAGES 5

/* 4 MB of one-byte items on a kernel's receipts subject, each message's
 * Chio-Seq as far past the items read as fleet verify still tracks (2 x
 * items + 512): 2,000,000 items over 3,600,513 seqs, then the first
 * message again (400,000 duplicates). Before: a leaf hash per seq, about
 * 70 MB more than a verify of a clean stream (ASan: its quarantine keeps
 * what a table doubling freed). Now: a state byte per seq. */
Test(fleet_rev55, one_byte_junk_items_keep_no_leaf_hashes)
{
    char *db = fu_path_in(dir, "db"), key[65], subject[128], *body, *out;
    const char *line;
    uint64_t seq = 1, items = 0, last = 0;
    long before, after;
    pub p;
    int i;

    fu_fill(db, 0x95, 20, 10, "a");
    fu_export_expect(dir, urls, db, 20, 20); /* creates the stream */
    cr_assert_eq(verify_rss(&before, &out), 0, "%s", out);
    free(out);
    memset(key, 'c', 64);
    key[64] = '\0';
    snprintf(subject, sizeof(subject), "chio.%s.receipts", key);
    body = malloc(2 * ITEMS);
    cr_assert_not_null(body);
    for (i = 0; i < ITEMS; i++)
        memcpy(body + 2 * i, "a\n", 2);
    pub_open(&p);
    for (i = 0; i < MESSAGES; i++) {
        pub_run(&p, subject, body, 2 * ITEMS - 1, seq, seq + ITEMS - 1);
        last = seq + ITEMS - 1;
        items += ITEMS;
        seq = 1 + 2 * items + 513;
    }
    pub_run(&p, subject, body, 2 * ITEMS - 1, 1, ITEMS); /* the first one again */
    pub_close(&p);
    free(body);

    cr_assert_eq(verify_rss(&after, &out), 1, "%.2000s", out);
    line = kernel_line(out, key);
    cr_expect_eq(fu_field(line, "invalid"), (long long)items, "%s", line);
    cr_expect_eq(fu_field(line, "receipts"), (long long)items, "%s", line);
    cr_expect_eq(fu_field(line, "last_seq"), (long long)last, "%s", line);
    cr_expect_eq(fu_field(line, "gaps"), (long long)(last - items), "%s", line);
    cr_expect_eq(fu_field(line, "duplicates"), ITEMS, "%s", line);
    cr_expect(strstr(out, "\"problem\":\"invalid_receipt\",\"reason\":\"unreadable\",\"seq\":1}") !=
                  NULL,
              "%.2000s", out);
    fu_pubkey(0x95, key);
    cr_expect(strstr(kernel_line(out, key), "\"ok\":true") != NULL, "%s", out);
#ifndef __SANITIZE_ADDRESS__
    cr_expect_lt(after - before, 24 * 1024, "%ld KiB more for 4 MB of one-byte items",
                 after - before);
#endif
    fprintf(stderr, "fleet_rev55: %ld KiB more for 4 MB of one-byte items\n", after - before);
    free(out);
    free(db);
}

/* Receipt @seq (checkpoint @seq when @cp) of @db, malloc'd, its length in *@len. */
static char *stored(chio_store *s, int cp, uint64_t seq, size_t *len)
{
    char *json = NULL, *copy;

    if (cp)
        cr_assert_eq(chio_store_get_checkpoint(s, seq, &json, len, NULL), 0);
    else
        cr_assert_eq(chio_store_get_receipt(s, seq, &json, len, NULL), 0);
    copy = strndup(json, *len);
    cr_assert_not_null(copy);
    chio_free(json);
    return copy;
}

/* Receipts @from..@to of @s as one message at their own seqs. */
static void pub_receipts(pub *p, chio_store *s, const char *subject, uint64_t from, uint64_t to)
{
    size_t cap = 0, n = 0, len;
    char *body = NULL;
    uint64_t q;

    for (q = from; q <= to; q++) {
        char *r = stored(s, 0, q, &len);
        if (n + len + 1 > cap) {
            cap = (n + len + 1) * 2;
            body = realloc(body, cap);
            cr_assert_not_null(body);
        }
        if (n > 0)
            body[n++] = '\n';
        memcpy(body + n, r, len);
        n += len;
        free(r);
    }
    pub_run(p, subject, body, n, from, to);
    free(body);
}

static void pub_one(pub *p, const char *subject, const char *item, uint64_t seq)
{
    pub_run(p, subject, item, strlen(item), seq, seq);
}

/* Bad items before good ones of the same kernel: 600 receipts, checkpoints
 * of 100; junk first at seqs 1 and 300 (the receipts come after it, as
 * second items), a good receipt at 450 twice. The duplicates of a bad
 * first item still say same_bytes or different_bytes, and the checkpoints
 * over 101..200 and 301..600 still match their Merkle roots: the leaves
 * of the good receipts are found past the bad seqs (across three blocks of
 * the rank index), those of 1..100 and 201..300 are receipts_invalid. */
Test(fleet_rev55, bad_items_before_good_ones_keep_every_verdict)
{
    char *db = fu_path_in(dir, "db"), *other = fu_path_in(dir, "other"), key[65], rs[128], cs[128],
         *out, *r;
    const char *line;
    chio_store *s = NULL;
    uint64_t q;
    size_t len;
    long kib;
    pub p;

    fu_fill(other, 0x97, 5, 10, "o");
    fu_export_expect(dir, urls, other, 5, 5); /* creates the stream */
    fu_fill(db, 0x96, 600, 100, "a");
    fu_pubkey(0x96, key);
    snprintf(rs, sizeof(rs), "chio.%s.receipts", key);
    snprintf(cs, sizeof(cs), "chio.%s.checkpoints", key);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    pub_open(&p);
    pub_one(&p, rs, "x", 1);
    pub_one(&p, rs, "x", 1);
    pub_one(&p, rs, "y", 1);
    pub_receipts(&p, s, rs, 1, 1);
    pub_receipts(&p, s, rs, 2, 299);
    pub_one(&p, rs, "{\"not\":\"a receipt\"}", 300);
    for (q = 300; q <= 600; q += 50)
        pub_receipts(&p, s, rs, q, q + 49 < 600 ? q + 49 : 600);
    r = stored(s, 0, 450, &len);
    pub_run(&p, rs, r, len, 450, 450);
    free(r);
    for (q = 1; q <= 6; q++) {
        r = stored(s, 1, q, &len);
        pub_run(&p, cs, r, len, q, q);
        free(r);
    }
    pub_close(&p);
    chio_store_close(s);

    cr_assert_eq(verify_rss(&kib, &out), 1, "%.4000s", out);
    line = kernel_line(out, key);
    cr_expect_eq(fu_field(line, "receipts"), 600, "%s", line);
    cr_expect_eq(fu_field(line, "last_seq"), 600, "%s", line);
    cr_expect_eq(fu_field(line, "gaps"), 0, "%s", line);
    cr_expect_eq(fu_field(line, "invalid"), 2, "%s", line);
    cr_expect_eq(fu_field(line, "duplicates"), 5, "seq 1 three times, 300, 450: %s", line);
    cr_expect_eq(fu_field(line, "checkpoints"), 6, "%s", line);
    cr_expect_eq(fu_field(line, "checkpoints_valid"), 4, "%s", line);
#define HAS(text) cr_expect(strstr(out, text) != NULL, "%s in %.4000s", text, out)
    HAS("\"problem\":\"invalid_receipt\",\"reason\":\"unreadable\",\"seq\":1}");
    HAS("\"problem\":\"invalid_receipt\",\"reason\":\"unreadable\",\"seq\":300}");
    HAS("\"problem\":\"duplicate_receipt\",\"reason\":\"same_bytes\",\"seq\":1}");
    HAS("\"problem\":\"duplicate_receipt\",\"reason\":\"different_bytes\",\"seq\":1}");
    HAS("\"problem\":\"duplicate_receipt\",\"reason\":\"different_bytes\",\"seq\":300}");
    HAS("\"problem\":\"duplicate_receipt\",\"reason\":\"same_bytes\",\"seq\":450}");
    HAS("\"problem\":\"invalid_checkpoint\",\"reason\":\"receipts_invalid\",\"checkpoint_seq\":1}");
    HAS("\"problem\":\"invalid_checkpoint\",\"reason\":\"receipts_invalid\",\"checkpoint_seq\":3}");
#undef HAS
    cr_expect(strstr(out, "merkle_root") == NULL, "%.4000s", out);
    fu_pubkey(0x97, key);
    cr_expect(strstr(kernel_line(out, key), "\"ok\":true") != NULL, "%s", out);
    free(out);
    free(db);
    free(other);
}

/* Purge @subject (a retired kernel's, say) from the stream. */
static void purge(pub *p, const char *subject)
{
    jsErrCode je = 0;
    jsOptions o;

    jsOptions_Init(&o);
    o.Stream.Purge.Subject = subject;
    cr_assert_eq(js_PurgeStream(p->js, "CHIO", &o, &je), NATS_OK, "%d", (int)je);
}

/* Review 55 F2: positions purged inside the stream (an operator purges a
 * retired kernel's subjects) are skipped a run at a time. The reader's
 * consumer skips them, and the reader asked the stream leader for each
 * one (js_GetMsg), purged or not: 40,000 of them cost every verify 7 s
 * on loopback. Now the first position gone is asked for, then the next
 * one held (a "message get" with next_by_subj). Counted here by a client
 * on the API subject: 3,000 purged positions, in the middle of the
 * stream and at its end, took 3,000 requests. The positions gone are
 * still reported (stream_messages_removed). */
Test(fleet_rev55, a_run_of_purged_positions_is_skipped_at_once)
{
    char *db = fu_path_in(dir, "db"), key[65], gone1[128], gone2[128], *out;
    natsConnection *c = NULL;
    natsSubscription *sub = NULL;
    natsMsg *m = NULL;
    const char *line;
    long kib, gets = 0;
    pub p;
    int i;

    fu_fill(db, 0x98, 5, 10, "a");
    fu_export_expect(dir, urls, db, 5, 5);
    pub_open(&p);
    memset(key, 'd', 64);
    key[64] = '\0';
    snprintf(gone1, sizeof(gone1), "chio.%s.receipts", key);
    memset(key, 'e', 64);
    snprintf(gone2, sizeof(gone2), "chio.%s.receipts", key);
    for (i = 1; i <= 2000; i++)
        pub_one(&p, gone1, "x", (uint64_t)i);
    fu_fill(db, 0x98, 5, 10, "b");
    fu_export_expect(dir, urls, db, 5, 10); /* after the run */
    for (i = 1; i <= 1000; i++)
        pub_one(&p, gone2, "x", (uint64_t)i); /* the stream's last positions */
    purge(&p, gone1);
    purge(&p, gone2);
    pub_close(&p);

    cr_assert_eq(natsConnection_ConnectTo(&c, urls), NATS_OK);
    cr_assert_eq(natsConnection_SubscribeSync(&sub, c, "$JS.API.STREAM.MSG.GET.CHIO"), NATS_OK);
    cr_assert_eq(natsConnection_Flush(c), NATS_OK);
    cr_assert_eq(verify_rss(&kib, &out), 1, "%.2000s", out);
    cr_assert_eq(natsConnection_Flush(c), NATS_OK);
    while (natsSubscription_NextMsg(&m, sub, 300) == NATS_OK) {
        gets++;
        natsMsg_Destroy(m);
    }
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(c);

    fu_pubkey(0x98, key);
    line = kernel_line(out, key);
    cr_expect(strstr(line, "\"ok\":true") != NULL, "%s", line);
    cr_expect_eq(fu_field(line, "receipts"), 10, "%s", line);
    cr_expect_not_null(strstr(out, "\"first_held_position\":1,"), "%s", out);
    cr_expect_not_null(strstr(out, "\"problem\":\"stream_messages_removed\",\"removed\":3000,"
                                   "\"removed_after_first_held\":3000,"
                                   "\"removed_before_first_held\":0}"),
                       "%s", out);
    cr_expect_lt(gets, 20, "%ld message gets for two runs of purged positions", gets);
    fprintf(stderr, "fleet_rev55: %ld message gets for 3,000 purged positions\n", gets);
    free(out);
    free(db);
}
