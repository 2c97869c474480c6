/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/export/test_witness.c - the start-up witness (--witness-nats) of
 * the programs that serve a store: examples/host-service, `chio serve`,
 * `chio mcp serve` and `chio mcp serve-http`, run as processes against a
 * real three-node JetStream cluster (scripts/nats-cluster.sh). A store
 * exported, copied aside, written on and exported again, then put back
 * from the copy: each program refuses to start, exit 3, naming "rewound"
 * and seq 101 (a deleted store: seq 1). The same store equal to the
 * stream, then ahead of it: each starts (chio serve answers /chio/live,
 * host-service and serve-http listen, mcp serve runs to its client's end).
 * Servers that cannot be reached: each refuses, exit 4; with
 * --witness-optional chio serve and host-service start with a warning.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "chio/export_nats.h"
#include "export/export.h"
#include "export/fleetutil.h"

#define HOST_SERVICE CHIO_EXAMPLES_DIR "/host-service"
#define SEED         0x51
#define POLICY                                                                              \
    "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"fake\",\"grants\":[{\"server_id\":" \
    "\"fake\",\"tool_name\":\"echo\",\"operations\":[\"invoke\"]}]}"
/* Nothing listens on port 1. */
#define NOWHERE "nats://127.0.0.1:1"

static char *dir, *nc, *urls, *seed, *policy;

static char *path_in(const char *name)
{
    char *p = NULL;

    cr_assert_geq(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

static void setup_common(void)
{
    dir = testutil_tmpdir();
    seed = path_in("seed");
    policy = path_in("policy.json");
    fu_seed_file(SEED, seed);
    fu_seed_env(SEED); /* host-service's key */
    cr_assert_eq(testutil_write_file(policy, POLICY, strlen(POLICY), 0600), 0);
}

static void setup(void)
{
    setup_common();
    cr_assert_geq(asprintf(&nc, "%s/nats", dir), 0);
    urls = fu_cluster_start(nc, 3);
}

static void teardown(void)
{
    fu_kill_all();
    if (nc != NULL)
        fu_cluster_stop(nc);
    testutil_rmrf(dir);
    free(urls);
    free(nc);
    free(seed);
    free(policy);
    free(dir);
    urls = nc = NULL;
}

TestSuite(witness, .init = setup, .fini = teardown);
TestSuite(witness_offline, .init = setup_common, .fini = teardown);

#define CLI(timeout_ms, ...) fu_cli(dir, timeout_ms, (const char *const[]){__VA_ARGS__, NULL})

static void export_ok(const char *db)
{
    fu_run r = CLI(60000, "export", "--receipt-db", db, "--nats", urls);

    cr_assert_eq(r.status, 0, "export: %s%s", r.out, r.err);
    fu_run_free(&r);
}

/* The four programs on @db with the witness on @u (and --witness-optional
 * when @optional), run to their end (the refusals). */
static fu_run run_host(const char *db, const char *u, int optional)
{
    char *sock = path_in("hs.sock");
    fu_run r = fu_exe(dir, 60000, HOST_SERVICE,
                      (const char *const[]){"--receipt-db", db, "--socket", sock, "--witness-nats",
                                            u, optional ? "--witness-optional" : NULL, NULL});

    free(sock);
    return r;
}

static fu_run run_serve(const char *db, const char *u)
{
    return CLI(60000, "serve", "--receipt-db", db, "--seed-file", seed, "--listen", "127.0.0.1:0",
               "--witness-nats", u);
}

static fu_run run_mcp(const char *db, const char *u, int http)
{
    if (http)
        return CLI(60000, "mcp", "serve-http", "--policy", policy, "--receipt-db", db,
                   "--seed-file", seed, "--listen", "127.0.0.1:0", "--witness-nats", u, "--",
                   "/bin/cat");
    return CLI(60000, "mcp", "serve", "--policy", policy, "--receipt-db", db, "--seed-file", seed,
               "--witness-nats", u, "--", "/bin/cat");
}

/* A refusal: @status and the message's parts. */
static void refused(fu_run *r, const char *who, int status, const char *what, const char *seq)
{
    cr_expect_eq(r->status, status, "%s: %s%s", who, r->out, r->err);
    cr_expect_not_null(strstr(r->err, "refusing to start"), "%s: %s", who, r->err);
    cr_expect_not_null(strstr(r->err, what), "%s: %s", who, r->err);
    if (seq != NULL)
        cr_expect_not_null(strstr(r->err, seq), "%s: %s", who, r->err);
    fu_run_free(r);
}

/* Every program refuses @db with @status. */
static void all_refuse(const char *db, const char *u, int status, const char *what, const char *seq)
{
    fu_run r;

    r = run_host(db, u, 0);
    refused(&r, "host-service", status, what, seq);
    r = run_serve(db, u);
    refused(&r, "chio serve", status, what, seq);
    r = run_mcp(db, u, 0);
    refused(&r, "chio mcp serve", status, what, seq);
    r = run_mcp(db, u, 1);
    refused(&r, "chio mcp serve-http", status, what, seq);
}

Test(witness, rolled_back_store_is_refused)
{
    char *db = path_in("db"), *old = path_in("old"), *gone = path_in("gone"), cmd[2048];
    fu_run r;

    cr_assert_eq(CHIO__WITNESS_EXIT_ROLLBACK, 3);
    fu_fill(db, SEED, 100, 10, "first");
    export_ok(db);
    snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", db, old);
    cr_assert_eq(system(cmd), 0);
    fu_fill(db, SEED, 50, 10, "second");
    export_ok(db);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mv '%s' '%s'", db, old, db);
    cr_assert_eq(system(cmd), 0);

    all_refuse(db, urls, 3, "was rolled back (rewound)", "from seq 101 on");
    /* nothing opened the store for writing: it is still the old copy */
    r = CLI(60000, "fleet", "witness", "--receipt-db", db, "--nats", urls);
    cr_expect_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_expect_eq(fu_field(r.out, "local_last_seq"), 100, "%s", r.out);
    cr_expect_eq(fu_field(r.out, "first_differing_seq"), 101, "%s", r.out);
    fu_run_free(&r);
    /* the same check from a host's own code (chio/export_nats.h) */
    {
        chio_export_nats_witness_report rep;
        chio_error err;
        char key[65];

        fu_pubkey(SEED, key);
        chio_error_init(&err);
        cr_assert_eq(chio_export_nats_witness(db, urls, NULL, key, 0, &rep, &err), 0, "%s",
                     err.message);
        cr_expect_eq(rep.rollback, 1);
        cr_expect_str_eq(rep.reason, "rewound");
        cr_expect_eq(rep.first_differing_seq, 101);
        cr_expect_eq(rep.local_last_seq, 100);
        cr_expect_eq(rep.published_last_seq, 150);
        cr_expect_str_eq(rep.kernel, key);
        cr_expect_eq(chio_export_nats_witness(db, urls, "bad name!", key, 0, &rep, &err),
                     CHIO_EINVAL);
        cr_expect_eq(chio_export_nats_witness(db, urls, NULL, "00", 0, &rep, &err), CHIO_EINVAL);
        cr_expect_eq(chio_export_nats_witness(NULL, urls, NULL, key, 0, &rep, &err), CHIO_EINVAL);
    }
    /* a store deleted after its kernel published: rewound from seq 1 */
    r = run_host(gone, urls, 0);
    refused(&r, "host-service, no store", 3, "(rewound)", "from seq 1 on");
    r = run_serve(gone, urls);
    refused(&r, "chio serve, no store", 3, "(rewound)", "from seq 1 on");
    /* the servers cannot excuse a rollback */
    r = run_host(db, urls, 1);
    refused(&r, "host-service --witness-optional", 3, "(rewound)", "from seq 101 on");
    free(db);
    free(old);
    free(gone);
}

/* ---- starting: each program on a store equal to the stream or ahead of it ------------- */

typedef struct grep_ctx {
    const char *path, *needle;
} grep_ctx;

static int file_has(void *v)
{
    grep_ctx *g = v;
    size_t len;
    char *t = testutil_read_file(g->path, &len);
    int yes = t != NULL && strstr(t, g->needle) != NULL;

    free(t);
    return yes;
}

static char *wait_for(const char *path, const char *needle, pid_t pid)
{
    grep_ctx g = {path, needle};
    size_t len;
    char *t;

    t = testutil_wait_until(file_has, &g, 30000) ? testutil_read_file(path, &len) : NULL;
    if (t == NULL) {
        t = testutil_read_file(path, &len);
        kill(pid, SIGKILL);
        cr_assert_fail("no \"%s\" in %s within 30 s: %s", needle, path, t ? t : "");
    }
    return t;
}

/* chio serve starts and answers /chio/live; SIGTERM then exits 0. @warn:
 * the text its start-up line must hold. */
static void serve_starts(const char *db, const char *u, int optional, const char *warn)
{
    char *out = path_in("serve.out"), *err = path_in("serve.err"), *t, *p;
    pid_t pid;
    int st;

    unlink(out);
    pid = fu_spawn_exe(CHIO_TEST_CLI, out, err,
                       (const char *const[]){"serve", "--receipt-db", db, "--seed-file", seed,
                                             "--listen", "127.0.0.1:0", "--witness-nats", u,
                                             optional ? "--witness-optional" : NULL, NULL});
    t = wait_for(out, "\"listening\":\"127.0.0.1:", pid);
    p = strstr(t, "\"listening\":\"127.0.0.1:");
    cr_assert_eq(
        fu_http_status((unsigned)atoi(p + strlen("\"listening\":\"127.0.0.1:")), "/chio/live"), 200,
        "%s", t);
    free(t);
    t = testutil_read_file(err, &(size_t){0});
    cr_expect_not_null(t != NULL ? strstr(t, warn) : NULL, "chio serve: %s", t ? t : "");
    free(t);
    kill(pid, SIGTERM);
    st = fu_wait(pid, 30000);
    t = st != 0 ? testutil_read_file(err, &(size_t){0}) : NULL;
    cr_expect_eq(st, 0, "chio serve after SIGTERM: status %d (-1: no exit within 30 s): %s", st,
                 t != NULL ? t : "");
    free(t);
    free(out);
    free(err);
}

/* host-service starts (logs "listening"); SIGTERM then exits 0. */
static void host_starts(const char *db, const char *u, int optional, const char *warn)
{
    char *out = path_in("hs.log"), *sock = path_in("hs.sock"), *t;
    pid_t pid;

    unlink(out);
    pid = fu_spawn_exe(HOST_SERVICE, out, NULL,
                       (const char *const[]){"--receipt-db", db, "--socket", sock, "--witness-nats",
                                             u, optional ? "--witness-optional" : NULL, NULL});
    t = wait_for(out, "\"event\":\"listening\"", pid);
    cr_expect_not_null(strstr(t, warn), "host-service: %s", t);
    free(t);
    kill(pid, SIGTERM);
    cr_expect_eq(fu_wait(pid, 30000), 0);
    free(out);
    free(sock);
}

Test(witness, equal_or_ahead_starts)
{
    char *db = path_in("db"), *out = path_in("mcp.err"), *t;
    fu_run r;
    pid_t pid;

    fu_fill(db, SEED, 100, 10, "first");
    export_ok(db);
    /* equal */
    serve_starts(db, urls, 0, "matches what kernel");
    host_starts(db, urls, 0, "matches what kernel");
    pid =
        fu_spawn_exe(CHIO_TEST_CLI, out, NULL,
                     (const char *const[]){"mcp", "serve-http", "--policy", policy, "--receipt-db",
                                           db, "--seed-file", seed, "--listen", "127.0.0.1:0",
                                           "--witness-nats", urls, "--", "/bin/cat", NULL});
    t = wait_for(out, "listening on http://", pid);
    cr_expect_not_null(strstr(t, "chio mcp serve-http: witness: receipt store"), "%s", t);
    free(t);
    kill(pid, SIGTERM);
    cr_expect_eq(fu_wait(pid, 30000), 0);
    /* ahead: written on, not exported yet */
    fu_fill(db, SEED, 7, 10, "ahead");
    r = run_mcp(db, urls, 0); /* its client's input is empty: it ends at once, exit 0 */
    cr_expect_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.err, "local last seq 107, published 100"), "%s", r.err);
    fu_run_free(&r);
    serve_starts(db, urls, 0, "local last seq 107, published 100");
    host_starts(db, urls, 0, "local last seq 107, published 100");
    /* a new, empty store directory on a new key: nothing published, nothing to miss */
    fu_seed_file(0x52, seed);
    free(db);
    db = path_in("fresh");
    cr_assert_eq(mkdir(db, 0700), 0);
    serve_starts(db, urls, 0, "local last seq 0, published 0");
    free(db);
    free(out);
}

/* A store with receipts and a stream name the servers do not hold: the
 * check used to pass (nothing published, the store "ahead"), so a
 * mistyped --witness-stream switched it off without a word. Now it cannot
 * run (exit 4, the stream named); an empty store still starts. */
Test(witness, a_missing_stream_is_refused_for_a_store_with_receipts)
{
    char *db = path_in("db"), *fresh = path_in("fresh");
    fu_run r;

    fu_fill(db, SEED, 12, 10, "nostream");
    export_ok(db); /* the CHIO stream exists; NOSUCH does not */
    r = CLI(60000, "serve", "--receipt-db", db, "--seed-file", seed, "--listen", "127.0.0.1:0",
            "--witness-nats", urls, "--witness-stream", "NOSUCH");
    cr_expect_eq(r.status, 4, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.err, "the stream NOSUCH does not exist"), "%s", r.err);
    fu_run_free(&r);
    r = CLI(60000, "fleet", "witness", "--receipt-db", db, "--nats", urls, "--stream", "NOSUCH");
    cr_expect_eq(r.status, 2, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.err, "does not exist"), "%s", r.err);
    fu_run_free(&r);
    r = CLI(60000, "fleet", "witness", "--receipt-db", db, "--nats", urls);
    cr_expect_eq(r.status, 0, "the right stream still compares: %s%s", r.out, r.err);
    fu_run_free(&r);
    /* An empty store has nothing the missing stream could vouch for. */
    cr_assert_eq(mkdir(fresh, 0700), 0);
    {
        char *out = path_in("fresh.out"), *t;
        pid_t pid =
            fu_spawn_exe(CHIO_TEST_CLI, out, NULL,
                         (const char *const[]){"serve", "--receipt-db", fresh, "--seed-file", seed,
                                               "--listen", "127.0.0.1:0", "--witness-nats", urls,
                                               "--witness-stream", "NOSUCH", NULL});
        t = wait_for(out, "\"listening\":\"127.0.0.1:", pid);
        free(t);
        kill(pid, SIGTERM);
        cr_expect_eq(fu_wait(pid, 30000), 0);
        free(out);
    }
    free(db);
    free(fresh);
}

/* ---- servers that cannot be reached --------------------------------------------------- */

Test(witness_offline, unreachable_servers_refuse_unless_optional)
{
    char *db = path_in("db");

    cr_assert_eq(CHIO__WITNESS_EXIT_UNCHECKED, 4);
    fu_fill(db, SEED, 20, 10, "offline");
    all_refuse(db, NOWHERE, 4, "cannot reach the servers", NULL);
    {
        chio_export_nats_witness_report rep;
        chio_error err;

        chio_error_init(&err);
        cr_expect_eq(chio_export_nats_witness(db, NOWHERE, NULL, NULL, 500, &rep, &err), CHIO_EIO,
                     "%s", err.message);
        cr_expect_eq(rep.rollback, 0);
    }
    serve_starts(db, NOWHERE, 1, "warning: witness skipped (--witness-optional)");
    host_starts(db, NOWHERE, 1, "warning: witness skipped (--witness-optional)");
    free(db);
}

/* The fleet commands name an unreachable server in one plain line: no
 * "(conn.c:2088)" of the NATS client's source, no message said twice. */
Test(witness_offline, unreachable_servers_are_named_in_one_plain_line)
{
    char *db = path_in("db");
    size_t i;

    fu_fill(db, SEED, 3, 10, "plain");
    {
        const fu_run rs[] = {
            CLI(30000, "fleet", "verify", "--nats", NOWHERE),
            CLI(30000, "fleet", "witness", "--receipt-db", db, "--nats", NOWHERE),
            CLI(30000, "export", "--receipt-db", db, "--nats", NOWHERE),
        };
        for (i = 0; i < sizeof(rs) / sizeof(rs[0]); i++) {
            fu_run r = rs[i];
            const char *nl = strchr(r.err, '\n');
            cr_expect_eq(r.status, 2, "run %zu: exit %d: %s", i, r.status, r.err);
            cr_expect_not_null(strstr(r.err, "cannot connect to " NOWHERE ": "), "%s", r.err);
            cr_expect(nl != NULL && nl[1] == '\0', "run %zu: not one line: %s", i, r.err);
            cr_expect_null(strstr(r.err, ".c:"), "run %zu: the client's source: %s", i, r.err);
            fu_run_free(&r);
        }
    }
    free(db);
}

/* Credentials in a server URL reach no message: the password or token of
 * the userinfo is shown as "***" (before, `--nats nats://alice:pw@host`
 * put the password in the error line, and so in CI logs and journals). */
Test(witness_offline, credentials_in_server_urls_are_not_shown)
{
    char *db = path_in("db");
    size_t i;

    fu_fill(db, SEED, 3, 10, "plain");
    {
        const char *creds = "nats://alice:s3cretpw@127.0.0.1:1,nats://t0kensecret@127.0.0.1:2";
        const fu_run rs[] = {
            CLI(30000, "fleet", "verify", "--nats", creds),
            CLI(30000, "export", "--receipt-db", db, "--nats", creds),
            CLI(30000, "export", "--receipt-db", db, "--nats", "tls://bob:s3cretpw@127.0.0.1:1"),
        };
        for (i = 0; i < sizeof(rs) / sizeof(rs[0]); i++) {
            fu_run r = rs[i];
            cr_expect_eq(r.status, 2, "run %zu: exit %d: %s", i, r.status, r.err);
            cr_expect_null(strstr(r.err, "s3cretpw"), "run %zu: %s", i, r.err);
            cr_expect_null(strstr(r.err, "t0kensecret"), "run %zu: %s", i, r.err);
            cr_expect_not_null(strstr(r.err, i < 2 ? "alice:***@127.0.0.1:1" : "bob:***@"),
                               "run %zu: the user is still named: %s", i, r.err);
            fu_run_free(&r);
        }
    }
    free(db);
}
