/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/export/test_export_host.c - the in-host exporter
 * (include/chio/export_nats.h) against a real JetStream cluster on
 * loopback: a kernel in this process signs while the exporter thread
 * follows its store; the lag (and its Prometheus line) reaches 0 and
 * `chio fleet verify` finds every receipt once. With the only server
 * killed, signing goes on at full speed while the lag grows; once the
 * server is back the exporter catches up and the stream is clean. And
 * examples/host-service --export-nats: agent calls are exported and the
 * admin "metrics" op shows chio_export_lag_receipts.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

/* ---- examples/host-service --export-nats ------------------------------------------------ */

#ifndef CHIO_EXAMPLES_DIR
#define CHIO_EXAMPLES_DIR "build/examples"
#endif
#define HS_SEED  "0909090909090909090909090909090909090909090909090909090909090909"
#define AGENT_PK "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a"

static pid_t spawn_example(const char *const *argv, const char *out)
{
    pid_t pid = fork();

    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fd, 1);
        dup2(fd, 2);
        setenv("CHIO_SIGNING_KEY", HS_SEED, 1);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* One request on a new connection to @path (polled until it listens);
 * the answer line (malloc'd). */
static char *ask(const char *path, const char *req)
{
    struct sockaddr_un a;
    uint64_t deadline = testutil_now_ms() + 20000;
    size_t len = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    int fd = -1;

    cr_assert_not_null(buf);
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    for (;;) {
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        cr_assert_geq(fd, 0);
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
            break;
        close(fd);
        cr_assert_lt(testutil_now_ms(), deadline, "%s does not listen", path);
        testutil_nap_ms(10);
    }
    cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t got;
        cr_assert_eq(poll(&p, 1, 20000), 1, "no answer");
        cr_assert_lt(len + 1, cap);
        got = read(fd, buf + len, cap - len - 1);
        cr_assert_gt(got, 0);
        len += (size_t)got;
        buf[len] = '\0';
        if (memchr(buf, '\n', len) != NULL)
            break;
    }
    close(fd);
    return buf;
}

Test(export_host, host_service_exports_its_receipts)
{
    char *db = NULL, *sock = NULL, *admin = NULL, *out = NULL, *cout = NULL, *req = NULL, *reqs;
    const char *argv[12];
    chio_keypair *kp = NULL;
    chio_capability *cap = NULL;
    long long acked = -1;
    pid_t host, client;
    uint64_t deadline;
    int st = 0;

    urls = fu_cluster_start(nc, 1);
    cr_assert_geq(asprintf(&db, "%s/db", dir), 0);
    cr_assert_geq(asprintf(&sock, "%s/h.sock", dir), 0);
    cr_assert_geq(asprintf(&admin, "%s/a.sock", dir), 0);
    cr_assert_geq(asprintf(&out, "%s/host.log", dir), 0);
    cr_assert_geq(asprintf(&cout, "%s/client.log", dir), 0);
    cr_assert_geq(asprintf(&req, "%s/req.jsonl", dir), 0);
    cr_assert_eq(chio_keypair_from_seed_hex(HS_SEED, 64, &kp, NULL), 0);
    {
        static const char scope[] = "{\"grants\":[{\"server_id\":\"srv-files\",\"tool_name\":"
                                    "\"*\",\"operations\":[\"invoke\"]}]}";
        cr_assert_eq(chio_capability_issue(kp, "cap-x", AGENT_PK, scope, sizeof(scope) - 1,
                                           (uint64_t)time(NULL) - 10, 3600, &cap, NULL),
                     0);
    }
    chio_keypair_free(kp);
    cr_assert_gt(asprintf(&reqs,
                          "{\"op\":\"open_session\",\"session\":\"a\",\"agent\":\"%s\","
                          "\"capabilities\":[%s]}\n"
                          "{\"op\":\"call\",\"session\":\"a\",\"capability_id\":\"cap-x\","
                          "\"server\":\"srv-files\",\"tool\":\"file_read\",\"arguments\":{"
                          "\"path\":\"/workspace/a\"}}\n"
                          "{\"op\":\"call\",\"session\":\"a\",\"capability_id\":\"cap-x\","
                          "\"server\":\"srv-files\",\"tool\":\"file_read\",\"arguments\":{"
                          "\"path\":\"/workspace/b\"}}\n",
                          AGENT_PK, chio_capability_json(cap, NULL)),
                 0);
    chio_capability_free(cap);
    cr_assert_eq(testutil_write_file(req, reqs, strlen(reqs), 0600), 0);
    free(reqs);
    argv[0] = CHIO_EXAMPLES_DIR "/host-service";
    argv[1] = "--receipt-db";
    argv[2] = db;
    argv[3] = "--socket";
    argv[4] = sock;
    argv[5] = "--admin-socket";
    argv[6] = admin;
    argv[7] = "--export-nats";
    argv[8] = urls;
    argv[9] = NULL;
    host = spawn_example(argv, out);
    {
        const char *cargv[] = {CHIO_EXAMPLES_DIR "/agent-client", "--socket", sock, req, NULL};
        char *ping = ask(sock, "{\"op\":\"ping\"}\n"); /* listening */
        free(ping);
        client = spawn_example(cargv, cout);
        cr_assert_eq(waitpid(client, &st, 0), client);
        cr_assert(WIFEXITED(st), "agent-client");
    }
    /* the admin metrics show the lag going to 0 once both receipts are in */
    deadline = testutil_now_ms() + 60000;
    for (;;) {
        char *m = ask(admin, "{\"op\":\"metrics\"}\n"), *at;
        cr_assert_not_null(strstr(m, "\"ok\":true"), "%s", m);
        cr_assert_not_null(strstr(m, "chio_export_lag_receipts "), "%s", m);
        at = strstr(m, "\\nchio_export_acked_seq ");
        acked = at ? strtoll(at + 24, NULL, 10) : -1;
        if (acked >= 2 && strstr(m, "\\nchio_export_lag_receipts 0\\n") != NULL) {
            free(m);
            break;
        }
        cr_assert_lt(testutil_now_ms(), deadline, "never caught up: %s", m);
        free(m);
        testutil_nap_ms(20);
    }
    kill(host, SIGTERM);
    cr_assert_eq(waitpid(host, &st, 0), host);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "host-service exits 0 (see %s)", out);
    verify_clean(acked);
    free(db);
    free(sock);
    free(admin);
    free(out);
    free(cout);
    free(req);
}
