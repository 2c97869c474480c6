/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/export/test_rev23_fleet.c - `chio fleet verify` against a stream
 * that another NATS client wrote into or cut, on a one-node JetStream
 * server (scripts/nats-cluster.sh): a message whose Chio-Seq is absurdly
 * large (2^64 - 1, a number past 2^64, 2^60) is one named problem, read
 * in bounded time and memory; and a stream that lost messages (a
 * subject rolled up to a prefix of what its kernel published, a stream
 * purged whole) is caught, although what is left is self-consistent.
 * Messages are written with the NATS client itself, as an attacker's
 * client would, with the headers it chooses.
 */
#include <criterion/criterion.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "export/fleetutil.h"
#include "export/transport.h"

static char *dir, *nc, *urls;

static void setup(void)
{
    fu_suite_up(&dir, &nc, &urls, 1);
}

static void teardown(void)
{
    fu_suite_down(&dir, &nc, &urls);
}

TestSuite(fleet_rev23, .init = setup, .fini = teardown);

static char *path_in(const char *name)
{
    return fu_path_in(dir, name);
}

#define CLI(timeout_ms, ...) fu_cli(dir, timeout_ms, (const char *const[]){__VA_ARGS__, NULL})

/* A raw JetStream client, as another process on the bus would have. */
typedef struct raw {
    natsConnection *c;
    jsCtx *js;
} raw;

static raw raw_open(void)
{
    raw r = {NULL, NULL};

    cr_assert_eq(natsConnection_ConnectTo(&r.c, urls), NATS_OK);
    cr_assert_eq(natsConnection_JetStream(&r.js, r.c, NULL), NATS_OK);
    return r;
}

static void raw_close(raw *r)
{
    jsCtx_Destroy(r->js);
    natsConnection_Destroy(r->c);
}

/* Make stream @name as the exporter would (with @rollup: roll-ups allowed). */
static void raw_stream(raw *r, const char *name, int rollup)
{
    static const char *subjects[] = {"chio.*.receipts", "chio.*.checkpoints"};
    jsStreamConfig sc;
    jsStreamInfo *si = NULL;

    jsStreamConfig_Init(&sc);
    sc.Name = name;
    sc.Subjects = subjects;
    sc.SubjectsLen = 2;
    sc.Storage = js_FileStorage;
    sc.Duplicates = (int64_t)120 * 1000000000;
    sc.DenyDelete = !rollup;
    sc.AllowRollup = rollup != 0;
    cr_assert_eq(js_AddStream(&si, r->js, &sc, NULL, NULL), NATS_OK);
    jsStreamInfo_Destroy(si);
}

/* Publish @body on @subject with the headers @hdr (name, value pairs, NULL-ended). */
static void raw_pub(raw *r, const char *subject, const char *body, size_t len,
                    const char *const *hdr)
{
    natsMsg *m = NULL;
    jsPubAck *pa = NULL;
    jsErrCode je = 0;

    cr_assert_eq(natsMsg_Create(&m, subject, NULL, body, (int)len), NATS_OK);
    for (; hdr != NULL && hdr[0] != NULL; hdr += 2)
        cr_assert_eq(natsMsgHeader_Set(m, hdr[0], hdr[1]), NATS_OK);
    cr_assert_eq(js_PublishMsg(&pa, r->js, m, NULL, &je), NATS_OK, "publish: %d", (int)je);
    jsPubAck_Destroy(pa);
    natsMsg_Destroy(m);
}

/* The bodies of every message on @subject, in order, joined by '\n'
 * (a run of items, as the exporter writes them). */
static char *raw_join(raw *r, const char *stream, const char *subject, size_t *len)
{
    char *all = NULL;
    size_t n = 0;
    uint64_t p;
    jsStreamInfo *si = NULL;

    cr_assert_eq(js_GetStreamInfo(&si, r->js, stream, NULL, NULL), NATS_OK);
    for (p = si->State.FirstSeq; p <= si->State.LastSeq; p++) {
        natsMsg *m = NULL;
        if (js_GetMsg(&m, r->js, stream, p, NULL, NULL) != NATS_OK)
            continue;
        if (strcmp(natsMsg_GetSubject(m), subject) == 0) {
            int dl = natsMsg_GetDataLength(m);
            all = realloc(all, n + (size_t)dl + 2);
            cr_assert_not_null(all);
            if (n > 0)
                all[n++] = '\n';
            memcpy(all + n, natsMsg_GetData(m), (size_t)dl);
            n += (size_t)dl;
        }
        natsMsg_Destroy(m);
    }
    jsStreamInfo_Destroy(si);
    *len = n;
    return all;
}

/* The messages the server has received from clients (its /varz in_msgs). */
static long long server_in_msgs(void)
{
    char cmd[1024], buf[65536], *port;
    size_t len, n;
    FILE *p;
    long long v;

    cr_assert_geq(asprintf(&port, "%s/n1/mport", nc), 0);
    n = 0;
    {
        char *text = testutil_read_file(port, &len);
        cr_assert_not_null(text);
        snprintf(cmd, sizeof(cmd), "curl -s http://127.0.0.1:%d/varz", atoi(text));
        free(text);
    }
    free(port);
    p = popen(cmd, "r");
    cr_assert_not_null(p);
    n = fread(buf, 1, sizeof(buf) - 1, p);
    pclose(p);
    buf[n] = '\0';
    cr_assert_not_null(strstr(buf, "\"in_msgs\":"), "%s", buf);
    v = strtoll(strstr(buf, "\"in_msgs\":") + 10, NULL, 10); /* (pretty-printed: a space) */
    return v;
}

/* The first @count items of @run (items joined by '\n'): its length. */
static size_t prefix_items(const char *run, size_t len, unsigned count)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (run[i] == '\n' && --count == 0)
            return i;
    return len;
}

/* A Chio-Seq far beyond any receipt: one named problem, at once, in
 * bounded memory. Before: 2^64 - 1 and a number past 2^64 (read as
 * 2^64 - 1) spun for ever doubling a capacity that wrapped to 0; 2^60
 * asked for 2^65 bytes, wrapped, and freed the leaf table twice. */
Test(fleet_rev23, absurd_seq_header_is_one_problem)
{
    static const char *const seqs[] = {"18446744073709551615", "99999999999999999999999",
                                       "1152921504606846976"};
    char *db = path_in("db"), key[65], subject[128], stream[16];
    unsigned i;

    fu_pubkey(0x71, key);
    fu_fill(db, 0x71, 20, 10, "seq");
    snprintf(subject, sizeof(subject), "chio.%s.receipts", key);
    for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
        raw r;
        fu_run v;
        snprintf(stream, sizeof(stream), "SEQ%u", i);
        v = CLI(60000, "export", "--receipt-db", db, "--nats", urls, "--stream", stream);
        cr_assert_eq(v.status, 0, "export: %s%s", v.out, v.err);
        fu_run_free(&v);
        r = raw_open();
        raw_pub(&r, subject, "{}", 2,
                (const char *const[]){"Chio-Seq", seqs[i], "Chio-Last-Seq", seqs[i], NULL});
        raw_close(&r);
        v = CLI(20000, "fleet", "verify", "--nats", urls, "--stream", stream);
        cr_expect_eq(v.status, 1, "Chio-Seq %s: a named problem, exit 1 (got %d): %s%s", seqs[i],
                     v.status, v.out, v.err);
        cr_expect(strstr(v.out, "\"problem\":\"invalid_receipt\"") != NULL, "%s", v.out);
        cr_expect_eq(fu_field(fu_line(v.out, "{\"kernels\":"), "receipts"), 20, "%s", v.out);
        cr_expect_eq(fu_field(fu_line(v.out, "{\"kernels\":"), "gaps"), 0, "%s", v.out);
        fu_run_free(&v);
        r = raw_open(); /* the next stream takes the same subjects */
        cr_assert_eq(js_DeleteStream(r.js, stream, NULL, NULL), NATS_OK);
        raw_close(&r);
    }
    free(db);
}

/* Another client rolls a kernel's subjects up to a prefix of what the
 * kernel published (the stream allows roll-ups: made by someone else
 * before the first exporter, who then uses it as it is), then the whole
 * stream is purged. What is left is self-consistent; only the positions
 * the stream no longer holds show the cut. Before: exit 0 both times. */
Test(fleet_rev23, removed_messages_are_caught)
{
    char *db = path_in("db"), key[65], rs[128], cs[128], *run;
    long long before;
    size_t len;
    int i;
    raw r;
    fu_run v;

    fu_pubkey(0x72, key);
    snprintf(rs, sizeof(rs), "chio.%s.receipts", key);
    snprintf(cs, sizeof(cs), "chio.%s.checkpoints", key);
    r = raw_open();
    raw_stream(&r, "ROLL", 1);
    fu_fill(db, 0x72, 100, 10, "roll");
    v = CLI(60000, "export", "--receipt-db", db, "--nats", urls, "--stream", "ROLL", "--batch",
            "10");
    cr_assert_eq(v.status, 0, "export: %s%s", v.out, v.err);
    fu_run_free(&v);
    v = CLI(60000, "fleet", "verify", "--nats", urls, "--stream", "ROLL");
    cr_assert_eq(v.status, 0, "clean before the cut: %s%s", v.out, v.err);
    fu_run_free(&v);
    /* receipts 1..50 and checkpoints 1..5 put back as one roll-up each */
    run = raw_join(&r, "ROLL", rs, &len);
    raw_pub(
        &r, rs, run, prefix_items(run, len, 50),
        (const char *const[]){"Chio-Seq", "1", "Chio-Last-Seq", "50", "Nats-Rollup", "sub", NULL});
    free(run);
    run = raw_join(&r, "ROLL", cs, &len);
    raw_pub(
        &r, cs, run, prefix_items(run, len, 5),
        (const char *const[]){"Chio-Seq", "1", "Chio-Last-Seq", "5", "Nats-Rollup", "sub", NULL});
    free(run);
    v = CLI(60000, "fleet", "verify", "--nats", urls, "--stream", "ROLL");
    cr_expect_eq(v.status, 1, "a cut stream is not clean: %s%s", v.out, v.err);
    cr_expect(strstr(v.out, "\"problem\":\"stream_messages_removed\"") != NULL, "%s", v.out);
    cr_expect_eq(fu_field(fu_line(v.out, "{\"kernels\":"), "receipts"), 50, "%s", v.out);
    fu_run_free(&v);
    /* everything purged: nothing left to look clean, and the positions
     * purged are not asked for one by one (before: one request each, 0.4
     * ms apiece: hours for a stream with limits that aged out millions) */
    for (i = 0; i < 2000; i++)
        cr_assert_eq(js_PublishAsync(r.js, "chio.x.receipts", "x", 1, NULL), NATS_OK);
    cr_assert_eq(js_PublishAsyncComplete(r.js, NULL), NATS_OK);
    cr_assert_eq(js_PurgeStream(r.js, "ROLL", NULL, NULL), NATS_OK);
    before = server_in_msgs();
    v = CLI(60000, "fleet", "verify", "--nats", urls, "--stream", "ROLL");
    cr_expect_eq(v.status, 1, "a purged stream is not clean: %s%s", v.out, v.err);
    cr_expect(strstr(v.out, "\"problem\":\"stream_messages_removed\"") != NULL, "%s", v.out);
    /* every position gone, all of them before the first held (none) */
    cr_expect(strstr(v.out, "{\"first_held_position\":0,") != NULL, "%s", v.out);
    cr_expect(strstr(v.out, "\"removed_after_first_held\":0,") != NULL, "%s", v.out);
    cr_expect_lt(server_in_msgs() - before, 500, "requests for 2,000 purged positions");
    fu_run_free(&v);
    raw_close(&r);
    free(db);
}

/* Items another client wrote into a kernel's subjects are no rollback of
 * its store: a body that is no receipt at a seq beyond the store's, a
 * receipt re-published under a later Chio-Seq, a receipt with one byte
 * changed at a seq the store holds, a checkpoint under another seq.
 * Before: the witness called the store "forked" (a host would refuse to
 * start on it, for good, after one publish by any client). A store
 * rolled back for real is still caught. */
Test(fleet_rev23, injected_items_are_no_rollback)
{
    char *db = path_in("db"), *old = path_in("old"), key[65], rs[128], cs[128], cmd[1024];
    char *run, *item;
    size_t len, at, end;
    raw r;
    fu_run v;

    fu_pubkey(0x73, key);
    snprintf(rs, sizeof(rs), "chio.%s.receipts", key);
    snprintf(cs, sizeof(cs), "chio.%s.checkpoints", key);
    fu_fill(db, 0x73, 30, 10, "w");
    v = CLI(60000, "export", "--receipt-db", db, "--nats", urls);
    cr_assert_eq(v.status, 0, "export: %s%s", v.out, v.err);
    fu_run_free(&v);
    snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", db, old);
    cr_assert_eq(system(cmd), 0);
    fu_fill(db, 0x73, 10, 10, "w2");
    v = CLI(60000, "export", "--receipt-db", db, "--nats", urls);
    cr_assert_eq(v.status, 0, "export: %s%s", v.out, v.err);
    fu_run_free(&v);
    r = raw_open();
    raw_pub(&r, rs, "{}", 2,
            (const char *const[]){"Chio-Seq", "1000", "Chio-Last-Seq", "1000", NULL});
    run = raw_join(&r, "CHIO", rs, &len);
    at = prefix_items(run, len, 4) + 1; /* receipt 5 */
    end = at + prefix_items(run + at, len - at, 1);
    raw_pub(&r, rs, run + at, end - at,
            (const char *const[]){"Chio-Seq", "41", "Chio-Last-Seq", "41", NULL});
    at = prefix_items(run, len, 2) + 1; /* receipt 3, one byte changed */
    end = at + prefix_items(run + at, len - at, 1);
    item = strndup(run + at, end - at);
    cr_assert_not_null(item);
    item[end - at - 3] = item[end - at - 3] == 'a' ? 'b' : 'a';
    raw_pub(&r, rs, item, end - at,
            (const char *const[]){"Chio-Seq", "3", "Chio-Last-Seq", "3", NULL});
    free(item);
    free(run);
    run = raw_join(&r, "CHIO", cs, &len);
    raw_pub(&r, cs, run, prefix_items(run, len, 1),
            (const char *const[]){"Chio-Seq", "4", "Chio-Last-Seq", "4", NULL});
    free(run);
    /* last: the first run again, headers and all (the same bytes as the store's) */
    run = raw_join(&r, "CHIO", rs, &len);
    raw_pub(&r, rs, run, prefix_items(run, len, 10),
            (const char *const[]){"Chio-Seq", "1", "Chio-Last-Seq", "10", NULL});
    free(run);
    raw_close(&r);
    v = CLI(60000, "fleet", "witness", "--receipt-db", db, "--nats", urls);
    cr_expect_eq(v.status, 0, "no rollback: %s%s", v.out, v.err);
    cr_expect(strstr(v.out, "\"rollback\":false") != NULL, "%s", v.out);
    cr_expect_eq(fu_field(v.out, "stream_items_ignored"), 4, "%s", v.out);
    cr_expect_eq(fu_field(v.out, "stream_last_seq"), 40, "%s", v.out);
    fu_run_free(&v);
    v = CLI(60000, "fleet", "witness", "--receipt-db", old, "--nats", urls);
    cr_expect_eq(v.status, 1, "the old copy is rewound: %s%s", v.out, v.err);
    cr_expect(strstr(v.out, "\"reason\":\"rewound\"") != NULL, "%s", v.out);
    cr_expect_eq(fu_field(v.out, "first_differing_seq"), 31, "%s", v.out);
    fu_run_free(&v);
    /* The exporter goes on after the kernel's own last receipt: 41..45,
     * each once (before: exit 1, "forked" at 3; or, behind a re-published
     * old run, everything after it published again). */
    fu_fill(db, 0x73, 5, 10, "w3");
    v = CLI(60000, "export", "--receipt-db", db, "--nats", urls);
    cr_expect_eq(v.status, 0, "export goes on: %s%s", v.out, v.err);
    cr_expect_eq(fu_field(v.out, "receipts_published"), 5, "%s%s", v.out, v.err);
    cr_expect_eq(fu_field(v.out, "last_seq"), 45, "%s%s", v.out, v.err);
    fu_run_free(&v);
    v = CLI(60000, "fleet", "witness", "--receipt-db", db, "--nats", urls);
    cr_expect_eq(v.status, 0, "%s%s", v.out, v.err);
    cr_expect_eq(fu_field(v.out, "stream_last_seq"), 45, "%s", v.out);
    /* each once, the replayed run, and the two injected at 3 and 41 */
    cr_expect_eq(fu_field(v.out, "receipts_compared"), 45 + 10 + 2, "%s", v.out);
    fu_run_free(&v);
    v = CLI(60000, "fleet", "verify", "--nats", urls);
    cr_expect_eq(v.status, 1, "fleet verify names what was injected: %s%s", v.out, v.err);
    cr_expect(strstr(v.out, "\"reason\":\"seq_out_of_range\",\"seq\":1000}") != NULL, "%s", v.out);
    fu_run_free(&v);
    free(db);
    free(old);
}

/* The kernel under a --follow exporter is restarted on an empty store
 * under the same key: its seqs start at 1 again. The exporter must not go
 * on from where the old store stood (seqs 41.. of the new history after
 * 1..40 of the old: one spliced history that fleet verify, with no
 * checkpoint of the new store yet, calls clean); it reads where the stream
 * stands again and refuses the new store (exit 1). Before: it published
 * 41..60 of the new history. */
Test(fleet_rev23, follow_refuses_a_store_started_again)
{
    char *db = path_in("db"), *log = path_in("follow.log"), cmd[1024];
    chio_kernel *k;
    pid_t pid;
    int i, st;
    fu_run v;

    k = fu_kernel(db, 0x74, 10);
    fu_sign(k, 40, "old");
    pid = fu_spawn(
        log, (const char *const[]){"export", "--receipt-db", db, "--nats", urls, "--follow", NULL});
    for (i = 0; i < 30000 && fu_position(db, "CHIO", NULL) < 40; i++)
        testutil_nap_ms(1);
    cr_assert_eq(fu_position(db, "CHIO", NULL), 40, "exported (%s)", log);
    chio_kernel_free(k);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", db);
    cr_assert_eq(system(cmd), 0);
    k = fu_kernel(db, 0x74, 1000); /* no checkpoint of the new store for a while */
    fu_sign(k, 60, "new");
    st = fu_wait(pid, 15000);
    chio_kernel_free(k);
    {
        size_t len;
        char *text = testutil_read_file(log, &len);
        cr_expect_eq(st, 1, "the exporter refuses the new store (exit 1, got %d): %s", st,
                     text ? text : "");
        free(text);
    }
    v = CLI(60000, "fleet", "verify", "--nats", urls);
    cr_expect_eq(fu_field(fu_line(v.out, "{\"kernels\":"), "receipts"), 40,
                 "only the old history in the stream: %s%s", v.out, v.err);
    fu_run_free(&v);
    free(log);
    free(db);
}

/* Another client publishes first, on any subject of the stream, with the
 * message id the exporter will give its next run (<key>:<first>-<last>
 * was predictable, and JetStream deduplicates ids stream-wide): the
 * server answered the exporter's run "duplicate" and the exporter took the
 * other message for its run, so receipts 1..20 never reached the stream
 * while the export said it was done (exit 0, 0 published), and fleet
 * verify, not knowing the kernel, was clean. Now the id names the run's
 * bytes too: the run is stored. */
Test(fleet_rev23, a_message_id_taken_first_loses_nothing)
{
    char *db = path_in("db"), key[65], rs[128], id[200];
    raw r;
    fu_run v;

    fu_pubkey(0x75, key);
    snprintf(rs, sizeof(rs), "chio.%064d.receipts", 0); /* another kernel's subject */
    snprintf(id, sizeof(id), "%s:1-20", key);
    fu_fill(db, 0x75, 20, 100, "id");
    r = raw_open();
    raw_stream(&r, "CHIO", 0);
    raw_pub(&r, rs, "{}", 2,
            (const char *const[]){"Nats-Msg-Id", id, "Chio-Seq", "1", "Chio-Last-Seq", "1", NULL});
    raw_close(&r);
    v = CLI(60000, "export", "--receipt-db", db, "--nats", urls);
    cr_expect_eq(v.status, 0, "%s%s", v.out, v.err);
    cr_expect_eq(fu_field(v.out, "receipts_published"), 20, "%s%s", v.out, v.err);
    fu_run_free(&v);
    v = CLI(60000, "fleet", "witness", "--receipt-db", db, "--nats", urls);
    cr_expect_eq(fu_field(v.out, "stream_last_seq"), 20, "the run is in the stream: %s%s", v.out,
                 v.err);
    fu_run_free(&v);
    free(db);
}

/* A read of a stream that grows while it runs (fleet verify while the
 * exporters publish) takes every position the stream holds up to where it
 * ends: before, when the position at the end first asked for was gone (a
 * deleted message), the next one past it was dropped, the end moved on and
 * the later ones were read (the dropped run then showed as missing). */
typedef struct grow_ctx {
    raw r;
    uint64_t seen[64];
    size_t n;
    int published;
} grow_ctx;

static int grow_visit(void *vctx, const chio__xp_msg *m)
{
    grow_ctx *g = vctx;

    cr_assert_lt(g->n, 64);
    if (g->n == 0 || g->seen[g->n - 1] != m->position)
        g->seen[g->n++] = m->position;
    if (!g->published) {
        g->published = 1;
        for (int i = 0; i < 3; i++)
            raw_pub(&g->r, "chio.x.receipts", "x", 1, NULL);
    }
    return 0;
}

Test(fleet_rev23, a_growing_stream_is_read_without_a_hole)
{
    static const uint64_t want[] = {1, 2, 3, 4, 6, 7, 8};
    grow_ctx g;
    chio__xp *t = NULL;
    char why[256];
    size_t i;

    memset(&g, 0, sizeof(g));
    g.r = raw_open();
    raw_stream(&g.r, "CHIO", 1); /* single messages may be deleted */
    for (i = 0; i < 5; i++)
        raw_pub(&g.r, "chio.x.receipts", "x", 1, NULL);
    cr_assert_eq(js_DeleteMsg(g.r.js, "CHIO", 5, NULL, NULL), NATS_OK);
    cr_assert_eq(chio__xp_open(urls, "CHIO", 5000, &t, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(chio__xp_read(t, "chio.>", 1, grow_visit, &g), 0, "%s", chio__xp_errmsg(t));
    chio__xp_close(t);
    raw_close(&g.r);
    cr_expect_eq(g.n, 7, "read %zu positions", g.n);
    for (i = 0; i < g.n && i < 7; i++)
        cr_expect_eq(g.seen[i], want[i], "the %zu-th position read is %zu, not %zu", i + 1,
                     (size_t)g.seen[i], (size_t)want[i]);
}
