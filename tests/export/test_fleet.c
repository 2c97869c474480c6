/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/export/test_fleet.c - `chio export`, `chio fleet verify` and
 * `chio fleet witness` against a real three-node JetStream cluster on
 * loopback (scripts/nats-cluster.sh), real kernels and build/chio run as
 * processes: export then verify clean, runs of receipts one message each;
 * a second export adds nothing; a restart resumes after what the stream
 * holds (also when the position file is behind it); SIGKILL of the exporter mid-run and of a NATS
 * node mid-run, then restarts: no gap, no duplicate; --follow waits for servers that are not up
 * yet; a store put back from an older copy is a rollback (rewound, and forked once its kernel
 * writes on), and the exporter refuses it; a tampered copy of the stream is caught with its kernel
 * and seq; a message whose run headers do not match its body is caught too; and the big run: three
 * kernels with three keys writing while exported with --follow, one node and one exporter SIGKILLed
 * and restarted, then verify counts every receipt once. The big run's size is CHIO_FLEET_RECEIPTS
 * per kernel (default 2000; `make fleet-check` runs 20,000).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "export/fleetutil.h"
#include "export/transport.h"

static char *dir, *nc, *urls;

static void setup(void)
{
    fu_suite_up(&dir, &nc, &urls, 3);
}

static void teardown(void)
{
    fu_suite_down(&dir, &nc, &urls);
}

TestSuite(fleet, .init = setup, .fini = teardown);

static char *path_in(const char *name)
{
    return fu_path_in(dir, name);
}

#define CLI(timeout_ms, ...) fu_cli(dir, timeout_ms, (const char *const[]){__VA_ARGS__, NULL})

/* Export @db (no --follow) and check the summary's counts. */
static void export_ok(const char *db, long long receipts, long long checkpoints)
{
    fu_run r = CLI(60000, "export", "--receipt-db", db, "--nats", urls);

    cr_assert_eq(r.status, 0, "export: %s%s", r.out, r.err);
    cr_expect_eq(fu_field(r.out, "receipts_published"), receipts, "%s", r.out);
    if (checkpoints >= 0)
        cr_expect_eq(fu_field(r.out, "checkpoints_published"), checkpoints, "%s", r.out);
    cr_expect_eq(fu_field(r.out, "duplicates"), 0, "%s", r.out);
    cr_expect_eq(fu_field(r.out, "replicas"), 3, "three servers: three replicas: %s", r.out);
    fu_run_free(&r);
}

/* fleet verify must be clean with these totals. */
static void verify_clean(const char *u, long long kernels, long long receipts,
                         long long checkpoints)
{
    fu_run r = CLI(120000, "fleet", "verify", "--nats", u);
    const char *sum;

    cr_assert_eq(r.status, 0, "fleet verify: %s%s", r.out, r.err);
    sum = fu_line(r.out, "{\"kernels\":");
    cr_assert_not_null(sum, "%s", r.out);
    cr_expect_eq(fu_field(sum, "kernels"), kernels, "%s", sum);
    cr_expect_eq(fu_field(sum, "receipts"), receipts, "%s", sum);
    cr_expect_eq(fu_field(sum, "gaps"), 0, "%s", sum);
    cr_expect_eq(fu_field(sum, "duplicates"), 0, "%s", sum);
    cr_expect_eq(fu_field(sum, "invalid"), 0, "%s", sum);
    if (checkpoints >= 0) /* else: however many, all valid */
        cr_expect_eq(fu_field(sum, "checkpoints"), checkpoints, "%s", sum);
    cr_expect_eq(fu_field(sum, "checkpoints_valid"), fu_field(sum, "checkpoints"), "%s", sum);
    cr_expect_gt(fu_field(sum, "checkpoints"), 0, "%s", sum);
    fu_run_free(&r);
}

Test(fleet, export_verify_again_and_resume)
{
    char *db = path_in("db"), key[65];
    fu_run r;

    fu_pubkey(0x11, key);
    fu_fill(db, 0x11, 300, 25, "a");
    export_ok(db, 300, 12);
    verify_clean(urls, 1, 300, 12);
    /* runs of receipts: 300 receipts in 2 messages (256 + 44), then 12 checkpoints */
    cr_expect_eq(fu_position(db, "CHIO", "receipt_position"), 2, "one message per run");
    cr_expect_eq(fu_position(db, "CHIO", "checkpoint_position"), 14);
    /* the kernel's line */
    r = CLI(60000, "fleet", "verify", "--nats", urls, "--trusted-key", key);
    cr_expect_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, key), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"trusted\":true"), "%s", r.out);
    fu_run_free(&r);
    /* a second run adds nothing */
    export_ok(db, 0, 0);
    verify_clean(urls, 1, 300, 12);
    /* more receipts: only they go */
    fu_fill(db, 0x11, 200, 25, "b");
    export_ok(db, 200, 8);
    verify_clean(urls, 1, 500, 20);
    cr_expect_eq(fu_position(db, "CHIO", "receipt_seq"), 500);
    cr_expect_eq(fu_position(db, "CHIO", "checkpoint_seq"), 20);
    /* A position file behind the stream (a crash after the acknowledgement,
     * before the save): the stream's last message wins, nothing twice. */
    {
        char *pos = path_in("db/chio-export-CHIO.json");
        const char *stale = "{\"checkpoint_seq\":3,\"kernel\":\"x\",\"receipt_seq\":90}\n";
        cr_assert_eq(testutil_write_file(pos, stale, strlen(stale), 0600), 0);
        free(pos);
    }
    export_ok(db, 0, 0);
    cr_expect_eq(fu_position(db, "CHIO", "receipt_seq"), 500, "the file is rewritten");
    verify_clean(urls, 1, 500, 20);
    /* a pinned key that is not the kernel's: exit 1, and the missing one named */
    r = CLI(60000, "fleet", "verify", "--nats", urls, "--trusted-key",
            "1111111111111111111111111111111111111111111111111111111111111111");
    cr_expect_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "\"trusted\":false"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"problem\":\"no_messages\""), "%s", r.out);
    fu_run_free(&r);
    /* usage and unreachable servers: exit 2 */
    r = CLI(30000, "export", "--receipt-db", db);
    cr_expect_eq(r.status, 2, "%s", r.err);
    fu_run_free(&r);
    r = CLI(30000, "export", "--receipt-db", db, "--nats", urls, "--stream", "a.b");
    cr_expect_eq(r.status, 2, "%s", r.err);
    fu_run_free(&r);
    r = CLI(30000, "export", "--receipt-db", db, "--nats", "nats://127.0.0.1:1");
    cr_expect_eq(r.status, 2, "%s", r.err);
    fu_run_free(&r);
    r = CLI(30000, "fleet", "verify", "--nats", urls, "--stream", "NOSUCH");
    cr_expect_eq(r.status, 2, "%s%s", r.out, r.err);
    fu_run_free(&r);
    r = CLI(30000, "fleet", "witness", "--nats", urls);
    cr_expect_eq(r.status, 2, "%s", r.err);
    fu_run_free(&r);
    free(db);
}

Test(fleet, sigkill_exporter_then_resume)
{
    char *db = path_in("db"), *log = path_in("export.log");
    pid_t pid;
    uint64_t at;
    int i;

    fu_fill(db, 0x22, 4000, 100, "k");
    /* runs of 3 (odd, so the kill lands anywhere in a run): slow enough to
     * be killed mid-run */
    pid = fu_spawn(log, (const char *const[]){"export", "--receipt-db", db, "--nats", urls,
                                              "--batch", "3", NULL});
    for (i = 0; i < 30000 && fu_position(db, "CHIO", NULL) < 600; i++)
        testutil_nap_ms(1);
    /* Killed the moment progress is seen, and the position read after: a
     * test thread descheduled between the two let the exporter finish. */
    kill(pid, SIGKILL);
    fu_wait(pid, 10000);
    at = fu_position(db, "CHIO", NULL);
    cr_assert_geq(at, 600, "the exporter made progress");
    cr_assert_lt(at, 4000, "killed mid-run (at %llu)", (unsigned long long)at);
    /* The rest, once, whatever the position file says. */
    {
        fu_run r = CLI(60000, "export", "--receipt-db", db, "--nats", urls);
        cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
        cr_expect_leq(fu_field(r.out, "receipts_published"), (long long)(4000 - at), "%s", r.out);
        cr_expect_eq(fu_field(r.out, "last_seq"), 4000, "%s", r.out);
        fu_run_free(&r);
    }
    verify_clean(urls, 1, 4000, 40);
    free(db);
    free(log);
}

Test(fleet, sigkill_nats_node_during_export)
{
    char *db = path_in("db"), *log = path_in("export.log");
    pid_t pid;
    uint64_t at;
    int i;

    fu_fill(db, 0x33, 3000, 100, "n");
    pid = fu_spawn(log, (const char *const[]){"export", "--receipt-db", db, "--nats", urls,
                                              "--batch", "2", NULL});
    for (i = 0; i < 30000 && fu_position(db, "CHIO", NULL) < 500; i++)
        testutil_nap_ms(1);
    at = fu_position(db, "CHIO", NULL);
    cr_assert_geq(at, 500, "the exporter made progress");
    fu_cluster_kill(nc, 1);
    /* the export goes on with two nodes of three */
    for (i = 0; i < 60000 && fu_position(db, "CHIO", NULL) < at + 600; i++)
        testutil_nap_ms(1);
    cr_expect_geq(fu_position(db, "CHIO", NULL), at + 600 > 3000 ? 3000 : at + 600,
                  "no progress with a node down");
    fu_cluster_restart(nc, 1);
    cr_assert_eq(fu_wait(pid, 120000), 0, "the exporter finished (see %s)", log);
    verify_clean(urls, 1, 3000, 30);
    free(db);
    free(log);
}

Test(fleet, rollback_is_witnessed)
{
    char *db = path_in("db"), *old = path_in("old"), cmd[2048];
    fu_run r;

    fu_fill(db, 0x44, 100, 10, "first");
    export_ok(db, 100, 10);
    snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", db, old);
    cr_assert_eq(system(cmd), 0);
    fu_fill(db, 0x44, 50, 10, "second");
    export_ok(db, 50, 5);
    r = CLI(60000, "fleet", "witness", "--receipt-db", db, "--nats", urls);
    cr_expect_eq(r.status, 0, "equal: %s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "\"rollback\":false"), "%s", r.out);
    fu_run_free(&r);
    /* ahead of the stream is fine */
    fu_fill(db, 0x44, 5, 10, "third");
    r = CLI(60000, "fleet", "witness", "--receipt-db", db, "--nats", urls);
    cr_expect_eq(r.status, 0, "ahead: %s%s", r.out, r.err);
    fu_run_free(&r);
    /* put the old copy back: rewound at 101 */
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mv '%s' '%s'", db, old, db);
    cr_assert_eq(system(cmd), 0);
    r = CLI(60000, "fleet", "witness", "--receipt-db", db, "--nats", urls);
    cr_expect_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "\"rollback\":true"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"reason\":\"rewound\""), "%s", r.out);
    cr_expect_eq(fu_field(r.out, "first_differing_seq"), 101, "%s", r.out);
    cr_expect_eq(fu_field(r.out, "stream_last_seq"), 150, "%s", r.out);
    fu_run_free(&r);
    r = CLI(60000, "export", "--receipt-db", db, "--nats", urls);
    cr_expect_eq(r.status, 1, "the exporter refuses a rewound store: %s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.err, "rewound"), "%s", r.err);
    fu_run_free(&r);
    /* its kernel writes on from there: forked at 101 */
    fu_fill(db, 0x44, 60, 10, "fork");
    r = CLI(60000, "fleet", "witness", "--receipt-db", db, "--nats", urls);
    cr_expect_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "\"reason\":\"forked\""), "%s", r.out);
    cr_expect_eq(fu_field(r.out, "first_differing_seq"), 101, "%s", r.out);
    fu_run_free(&r);
    r = CLI(60000, "export", "--receipt-db", db, "--nats", urls);
    cr_expect_eq(r.status, 1, "the exporter refuses a forked store: %s%s", r.out, r.err);
    fu_run_free(&r);
    verify_clean(urls, 1, 150, 15); /* the stream kept what was published */
    free(db);
    free(old);
}

/* ---- tampering: a copy of the stream with one message changed ------------------------- */

typedef struct copy_ctx {
    chio__xp *to;
    uint64_t last_r, last_c, tamper_seq;
    int tampered;
} copy_ctx;

static int copy_one(void *vctx, const chio__xp_msg *m)
{
    copy_ctx *c = vctx;
    int receipts = strstr(m->subject, ".receipts") != NULL;
    uint64_t *last = receipts ? &c->last_r : &c->last_c, position = 0;
    chio__xp_pub p;
    char *data = malloc(m->len + 1), *at, id[200];
    int dup = 0, rc;

    cr_assert_not_null(data);
    memcpy(data, m->data, m->len);
    data[m->len] = '\0';
    if (receipts && m->item_seq == c->tamper_seq) {
        at = strstr(data, "file_read"); /* the tool's name, same length */
        cr_assert_not_null(at);
        memcpy(at, "file_xead", 9);
        c->tampered = 1;
    }
    memset(&p, 0, sizeof(p));
    p.subject = m->subject;
    /* one item per message in the copy: an id per item */
    cr_assert_neq(m->item_seq, 0, "a well-formed run");
    snprintf(id, sizeof(id), "%s/%llu", m->msg_id, (unsigned long long)m->item_seq);
    p.msg_id = id;
    p.item_seq = m->item_seq;
    p.expect_last = *last;
    p.data = data;
    p.len = m->len;
    rc = chio__xp_publish(c->to, &p, &position, &dup);
    cr_assert_eq(rc, 0, "copy: %s", chio__xp_errmsg(c->to));
    *last = position;
    free(data);
    return 0;
}

Test(fleet, tampered_message_is_caught)
{
    static const char *const subjects[] = {"chio.*.receipts", "chio.*.checkpoints"};
    char *db = path_in("db"), *nc2 = path_in("single"), *single, key[65], why[256], want[200];
    chio__xp *from = NULL, *to = NULL;
    copy_ctx c;
    fu_run r;
    int replicas = 0;

    fu_pubkey(0x55, key);
    fu_fill(db, 0x55, 100, 10, "t");
    export_ok(db, 100, 10);
    single = fu_cluster_start(nc2, 1);
    cr_assert_eq(chio__xp_open(urls, "CHIO", 5000, &from, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(chio__xp_open(single, "CHIO", 5000, &to, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(chio__xp_ensure_stream(to, subjects, 2, &replicas, NULL), 0);
    cr_expect_eq(replicas, 1, "one server: one replica");
    memset(&c, 0, sizeof(c));
    c.to = to;
    c.tamper_seq = 42;
    cr_assert_eq(chio__xp_read(from, "chio.>", 1, copy_one, &c), 0, "%s", chio__xp_errmsg(from));
    cr_assert(c.tampered);
    chio__xp_close(from);
    chio__xp_close(to);
    /* the copy is caught, with kernel and seq; the original is clean */
    r = CLI(60000, "fleet", "verify", "--nats", single);
    cr_expect_eq(r.status, 1, "%s%s", r.out, r.err);
    snprintf(want, sizeof(want), "{\"kernel\":\"%s\",\"problem\":\"invalid_receipt\"", key);
    cr_expect_not_null(strstr(r.out, want), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"reason\":\"signature\",\"seq\":42}"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"reason\":\"receipts_invalid\",\"checkpoint_seq\":5}"),
                       "the checkpoint over 41..50 fails too: %s", r.out);
    cr_expect_eq(fu_field(fu_line(r.out, "{\"kernels\":"), "invalid"), 1, "%s", r.out);
    cr_expect_eq(fu_field(fu_line(r.out, "{\"kernels\":"), "checkpoints_valid"), 9, "%s", r.out);
    fu_run_free(&r);
    verify_clean(urls, 1, 100, 10);
    fu_cluster_stop(nc2);
    free(single);
    free(nc2);
    free(db);
}

/* A message whose run headers do not match its body is caught by fleet
 * verify at its stream position, and the exporter refuses to go on after it. */
typedef struct last_ctx {
    uint64_t position, seq;
    char *data;
    size_t len;
} last_ctx;

static int keep_last(void *vctx, const chio__xp_msg *m)
{
    last_ctx *c = vctx;

    c->position = m->position;
    c->seq = m->item_seq;
    free(c->data);
    c->data = malloc(m->len);
    cr_assert_not_null(c->data);
    memcpy(c->data, m->data, m->len);
    c->len = m->len;
    return 0;
}

Test(fleet, malformed_run_is_caught)
{
    char *db = path_in("db"), key[65], subject[128], why[256];
    chio__xp *t = NULL;
    chio__xp_pub p;
    last_ctx c;
    uint64_t position = 0;
    int dup = 0;
    fu_run r;

    fu_pubkey(0x12, key);
    fu_fill(db, 0x12, 20, 10, "m");
    export_ok(db, 20, 2);
    snprintf(subject, sizeof(subject), "chio.%s.receipts", key);
    memset(&c, 0, sizeof(c));
    cr_assert_eq(chio__xp_open(urls, "CHIO", 5000, &t, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(chio__xp_last(t, subject, keep_last, &c), 0, "%s", chio__xp_errmsg(t));
    cr_assert_eq(c.seq, 20, "the last item of the last run");
    /* headers name 21..23, the body holds one receipt */
    memset(&p, 0, sizeof(p));
    p.subject = subject;
    p.msg_id = "malformed";
    p.item_seq = 21;
    p.item_last = 23;
    p.expect_last = c.position;
    p.data = c.data;
    p.len = c.len;
    cr_assert_eq(chio__xp_publish(t, &p, &position, &dup), 0, "%s", chio__xp_errmsg(t));
    chio__xp_close(t);
    free(c.data);
    r = CLI(60000, "fleet", "verify", "--nats", urls);
    cr_expect_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "\"reason\":\"no_seq_header\""), "%s", r.out);
    cr_expect_eq(fu_field(fu_line(r.out, "{\"kernels\":"), "receipts"), 20, "%s", r.out);
    fu_run_free(&r);
    fu_fill(db, 0x12, 5, 10, "after");
    /* another client's message: the exporter goes on after 20 (before: exit 2,
     * so that one message from anyone stopped a kernel's export for good) */
    r = CLI(60000, "export", "--receipt-db", db, "--nats", urls);
    cr_expect_eq(r.status, 0, "the exporter goes on past a malformed message: %s%s", r.out, r.err);
    cr_expect_eq(fu_field(r.out, "receipts_published"), 5, "%s%s", r.out, r.err);
    cr_expect_eq(fu_field(r.out, "last_seq"), 25, "%s%s", r.out, r.err);
    fu_run_free(&r);
    free(db);
}

/* --follow started while the only server is down: it waits, then exports,
 * follows the live kernel (across a restart of the kernel), and SIGTERM
 * ends it with exit 0 and the position saved. */
Test(fleet, follow_waits_for_the_servers)
{
    char *db = path_in("db"), *nc2 = path_in("single"), *log = path_in("follow.log"), *single;
    chio_kernel *k;
    pid_t pid;
    int i;

    single = fu_cluster_start(nc2, 1);
    k = fu_kernel(db, 0x66, 10);
    fu_sign(k, 40, "early");
    fu_cluster_kill(nc2, 1);
    pid = fu_spawn(log, (const char *const[]){"export", "--receipt-db", db, "--nats", single,
                                              "--follow", NULL});
    fu_sign(k, 40, "while-down");
    fu_cluster_restart(nc2, 1);
    for (i = 0; i < 30000 && fu_position(db, "CHIO", NULL) < 80; i++)
        testutil_nap_ms(1);
    cr_expect_eq(fu_position(db, "CHIO", NULL), 80, "exported once the server came (%s)", log);
    fu_sign(k, 25, "later"); /* the live kernel goes on: followed */
    for (i = 0; i < 30000 && fu_position(db, "CHIO", NULL) < 105; i++)
        testutil_nap_ms(1);
    cr_expect_eq(fu_position(db, "CHIO", NULL), 105);
    /* the kernel restarts on its store: followed on */
    chio_kernel_free(k);
    k = fu_kernel(db, 0x66, 10);
    fu_sign(k, 15, "restarted");
    for (i = 0; i < 30000 && fu_position(db, "CHIO", NULL) < 120; i++)
        testutil_nap_ms(1);
    cr_expect_eq(fu_position(db, "CHIO", NULL), 120, "followed across a kernel restart");
    kill(pid, SIGTERM);
    cr_expect_eq(fu_wait(pid, 30000), 0, "SIGTERM: exit 0");
    chio_kernel_free(k);
    verify_clean(single, 1, 120, -1);
    fu_cluster_stop(nc2);
    free(single);
    free(nc2);
    free(log);
    free(db);
}

/* ---- the big run ---------------------------------------------------------------------- */

typedef struct writer {
    chio_kernel *k;
    uint64_t n;
    char tag[16];
} writer;

static void *write_all(void *arg)
{
    writer *w = arg;

    fu_sign(w->k, w->n, w->tag);
    return NULL;
}

static uint64_t receipts_per_kernel(void)
{
    const char *e = getenv("CHIO_FLEET_RECEIPTS");
    uint64_t n = e ? strtoull(e, NULL, 10) : 0;

    return n > 0 ? n : 2000;
}

Test(fleet, three_kernels_with_kills)
{
    const uint64_t n = receipts_per_kernel(), batch = 100;
    char *db[3], *log[3], keys[3][65];
    writer w[3];
    pthread_t th[3];
    pid_t pid[3];
    uint64_t cps = 0, at;
    int i, j;

    for (i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof(name), "db%d", i);
        db[i] = path_in(name);
        snprintf(name, sizeof(name), "export%d.log", i);
        log[i] = path_in(name);
        fu_pubkey(0x61 + (unsigned)i, keys[i]);
        w[i].k = fu_kernel(db[i], 0x61 + (unsigned)i, batch);
        w[i].n = n;
        snprintf(w[i].tag, sizeof(w[i].tag), "big%d", i);
        pid[i] = fu_spawn(log[i], (const char *const[]){"export", "--receipt-db", db[i], "--nats",
                                                        urls, "--follow", NULL});
    }
    for (i = 0; i < 3; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, write_all, &w[i]), 0);
    /* mid-run: SIGKILL exporter 0 and NATS node 2 */
    for (j = 0; j < 60000 && fu_position(db[0], "CHIO", NULL) < n / 4; j++)
        testutil_nap_ms(1);
    at = fu_position(db[0], "CHIO", NULL);
    cr_assert_geq(at, n / 4, "exporter 0 made progress");
    kill(pid[0], SIGKILL);
    cr_expect_eq(fu_wait(pid[0], 10000), -1);
    fu_cluster_kill(nc, 2);
    at = fu_position(db[1], "CHIO", NULL);
    for (j = 0; j < 60000 && fu_position(db[1], "CHIO", NULL) < (at + 200 < n ? at + 200 : n); j++)
        testutil_nap_ms(1);
    cr_expect_geq(fu_position(db[1], "CHIO", NULL), at + 200 < n ? at + 200 : n,
                  "exporter 1 goes on with a node down");
    fu_cluster_restart(nc, 2);
    pid[0] = fu_spawn(log[0], (const char *const[]){"export", "--receipt-db", db[0], "--nats", urls,
                                                    "--follow", NULL});
    for (i = 0; i < 3; i++) {
        chio_store *s = NULL;
        uint64_t last = 0;
        pthread_join(th[i], NULL);
        chio_kernel_free(w[i].k); /* drains: the last checkpoint too */
        cr_assert_eq(chio_store_open(db[i], CHIO_STORE_READ_ONLY, &s, NULL), 0);
        cr_assert_eq(chio_store_last_checkpoint_seq(s, &last, NULL), 0);
        chio_store_close(s);
        cps += last;
    }
    /* every exporter catches up, then stops cleanly on SIGTERM */
    for (i = 0; i < 3; i++) {
        for (j = 0; j < 300000 && fu_position(db[i], "CHIO", NULL) < n; j++)
            testutil_nap_ms(1);
        cr_expect_eq(fu_position(db[i], "CHIO", NULL), n, "exporter %d caught up (%s)", i, log[i]);
    }
    for (i = 0; i < 3; i++) {
        uint64_t want;
        chio_store *s = NULL;
        cr_assert_eq(chio_store_open(db[i], CHIO_STORE_READ_ONLY, &s, NULL), 0);
        cr_assert_eq(chio_store_last_checkpoint_seq(s, &want, NULL), 0);
        chio_store_close(s);
        for (j = 0; j < 60000 && fu_position(db[i], "CHIO", "checkpoint_seq") < want; j++)
            testutil_nap_ms(1);
        kill(pid[i], SIGTERM);
        cr_expect_eq(fu_wait(pid[i], 30000), 0, "exporter %d exits 0 on SIGTERM", i);
    }
    verify_clean(urls, 3, (long long)(3 * n), (long long)cps);
    {
        fu_run r = CLI(120000, "fleet", "verify", "--nats", urls, "--trusted-key", keys[0],
                       "--trusted-key", keys[1], "--trusted-key", keys[2]);
        cr_expect_eq(r.status, 0, "pinned to the three keys: %s%s", r.out, r.err);
        fu_run_free(&r);
    }
    fprintf(stderr,
            "fleet: 3 kernels x %llu receipts exported with a node and an exporter "
            "SIGKILLed; verified %llu receipts, %llu checkpoints\n",
            (unsigned long long)n, (unsigned long long)(3 * n), (unsigned long long)cps);
    for (i = 0; i < 3; i++) {
        free(db[i]);
        free(log[i]);
    }
}
