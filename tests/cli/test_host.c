/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_host.c - the host integration, as separate processes:
 * examples/host-service driven by examples/agent-client over its Unix
 * socket (key handling, a mixed workload, SIGHUP ignored, SIGTERM drain,
 * PID file, receipts audited), the embedding example, and
 * `chio receipt list --tail` following a running kernel from another
 * process (every committed receipt exactly once, in order).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"

#ifndef CHIO_EXAMPLES_DIR
#define CHIO_EXAMPLES_DIR "build/examples"
#endif

#define SEED      "0707070707070707070707070707070707070707070707070707070707070707"
#define KERNEL_PK "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"
#define AGENT_PK  "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a"

static char *dir;

static void setup(void)
{
    dir = testutil_tmpdir();
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
}

TestSuite(host, .init = setup, .fini = teardown);

static char *path_in(const char *name)
{
    char *p;
    cr_assert_geq(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

/* Start @argv with stdout and stderr to files and @env_key as
 * CHIO_SIGNING_KEY (NULL: unset). */
static pid_t spawn(const char *const *argv, const char *env_key, const char *out, const char *err)
{
    pid_t pid = fork();

    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(o, 1);
        dup2(e, 2);
        if (env_key)
            setenv("CHIO_SIGNING_KEY", env_key, 1);
        else
            unsetenv("CHIO_SIGNING_KEY");
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static int wait_exit(pid_t pid, int timeout_s)
{
    int st, i;

    for (i = 0; i < timeout_s * 20; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(50 * 1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

static int wait_for_file(const char *p, int timeout_s)
{
    struct stat st;
    int i;

    for (i = 0; i < timeout_s * 20; i++) {
        if (stat(p, &st) == 0)
            return 0;
        usleep(50 * 1000);
    }
    return -1;
}

static char *slurp(const char *p)
{
    size_t len;
    char *s = testutil_read_file(p, &len);
    return s ? s : strdup("");
}

static void expect_key_refused(const char *key, const char *what)
{
    char *out = path_in("o"), *err = path_in("e"), *sock = path_in("s.sock"), *db = path_in("db");
    const char *argv[] = {
        CHIO_EXAMPLES_DIR "/host-service", "--receipt-db", db, "--socket", sock, NULL};
    pid_t pid = spawn(argv, key, out, err);
    char *msg;

    cr_expect_eq(wait_exit(pid, 20), 2, "a %s key must exit 2", what);
    msg = slurp(err);
    cr_expect_neq(strstr(msg, "CHIO_SIGNING_KEY"), NULL, "message must name the variable: %s", msg);
    free(msg);
    free(out);
    free(err);
    free(sock);
    free(db);
}

Test(host, host_service_refuses_a_missing_or_malformed_key)
{
    expect_key_refused(NULL, "missing");
    expect_key_refused("", "empty");
    expect_key_refused("07070707", "short");
    expect_key_refused(SEED "\n", "newline-terminated");
}

Test(host, host_service_serves_a_client_and_drains_on_sigterm)
{
    char *out = path_in("host.out"), *err = path_in("host.err"), *sock = path_in("h.sock");
    char *db = path_in("receipts"), *pidf = path_in("h.pid"), *req = path_in("req.jsonl");
    char *cout = path_in("client.out"), *cerr = path_in("client.err");
    const char *argv[] = {CHIO_EXAMPLES_DIR "/host-service",
                          "--receipt-db",
                          db,
                          "--socket",
                          sock,
                          "--pid-file",
                          pidf,
                          NULL};
    const char *cargv[] = {CHIO_EXAMPLES_DIR "/agent-client", "--socket", sock, req, NULL};
    chio_keypair *kp;
    chio_capability *cap;
    char *text, *environ_text, *proc, *pidtext, *reqs;
    size_t len;
    pid_t host, client;
    cli_result r;
    int n;

    /* A token signed with the service's key. */
    cr_assert_eq(chio_keypair_from_seed_hex(SEED, 64, &kp, NULL), 0);
    {
        static const char scope[] = "{\"grants\":[{\"server_id\":\"srv-files\",\"tool_name\":"
                                    "\"*\",\"operations\":[\"invoke\"]}]}";
        cr_assert_eq(chio_capability_issue(kp, "cap-h", AGENT_PK, scope, sizeof(scope) - 1,
                                           (uint64_t)time(NULL) - 10, 3600, &cap, NULL),
                     0);
    }
    chio_keypair_free(kp);
    n = asprintf(
        &reqs,
        "{\"op\":\"open_session\",\"session\":\"a\",\"agent\":\"%s\",\"capabilities\":[%s]}\n"
        "{\"op\":\"call\",\"session\":\"a\",\"capability_id\":\"cap-h\",\"server\":\"srv-files\","
        "\"tool\":\"file_read\",\"arguments\":{\"path\":\"/workspace/a\"}}\n"
        "{\"op\":\"call\",\"session\":\"a\",\"capability_id\":\"cap-h\",\"server\":\"srv-files\","
        "\"tool\":\"file_read\",\"arguments\":{\"path\":\"/etc/passwd\"}}\n"
        "{\"op\":\"call\",\"session\":\"a\",\"capability_id\":\"cap-h\",\"server\":\"srv-web\","
        "\"tool\":\"fetch\",\"arguments\":{}}\n"
        "{\"op\":\"revoke\",\"capability_id\":\"cap-h\"}\n"
        "{\"op\":\"call\",\"session\":\"a\",\"capability_id\":\"cap-h\",\"server\":\"srv-files\","
        "\"tool\":\"file_read\",\"arguments\":{\"path\":\"/workspace/a\"}}\n"
        "{\"op\":\"call\",\"session\":\"nope\",\"capability_id\":\"cap-h\",\"server\":\"srv-"
        "files\","
        "\"tool\":\"file_read\"}\n"
        "not json\n",
        AGENT_PK, chio_capability_json(cap, NULL));
    cr_assert_gt(n, 0);
    chio_capability_free(cap);
    cr_assert_eq(testutil_write_file(req, reqs, strlen(reqs), 0600), 0);
    free(reqs);

    host = spawn(argv, SEED, out, err);
    cr_assert_eq(wait_for_file(sock, 20), 0, "the service did not listen: %s", slurp(err));
    cr_assert_eq(wait_for_file(pidf, 5), 0);
    pidtext = slurp(pidf);
    cr_expect_eq(atoi(pidtext), host, "PID file holds %s", pidtext);
    free(pidtext);

    /* The seed is gone from the process environment. */
    cr_assert_geq(asprintf(&proc, "/proc/%d/environ", (int)host), 0);
    environ_text = testutil_read_file(proc, &len);
    cr_assert_not_null(environ_text);
    cr_expect_null(memmem(environ_text, len, "07070707070707070707", 20),
                   "the seed is still in /proc/PID/environ");
    free(environ_text);
    free(proc);

    client = spawn(cargv, NULL, cout, cerr);
    cr_expect_eq(wait_exit(client, 30), 0, "client: %s", slurp(cerr));
    text = slurp(cout);
    {
        const char *want[] = {"\"session\":\"sess-",
                              "\"verdict\":\"allow\"",
                              "\"code\":\"guard_denied\"",
                              "\"code\":\"out_of_scope\"",
                              "{\"ok\":true}",
                              "\"code\":\"capability_revoked\"",
                              "\"code\":\"unknown_session\"",
                              "\"code\":\"invalid_arguments\""};
        char *save = NULL, *line = strtok_r(text, "\n", &save);
        size_t i;
        for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
            cr_assert_not_null(line, "response %zu missing", i);
            cr_expect_neq(strstr(line, want[i]), NULL, "response %zu: %s", i, line);
            line = strtok_r(NULL, "\n", &save);
        }
        cr_expect_null(line, "extra response: %s", line ? line : "");
    }
    free(text);

    kill(host, SIGHUP); /* logged and ignored */
    usleep(200 * 1000);
    cr_expect_eq(kill(host, 0), 0, "SIGHUP must not stop the service");
    kill(host, SIGTERM);
    cr_expect_eq(wait_exit(host, 30), 0, "SIGTERM must drain and exit 0: %s", slurp(err));
    cr_expect_neq(access(pidf, F_OK), 0, "PID file left behind");
    cr_expect_neq(access(sock, F_OK), 0, "socket left behind");
    text = slurp(err);
    cr_expect_neq(strstr(text, "sighup_ignored"), NULL);
    cr_expect_neq(strstr(text, "\"receipts_signed\":4"), NULL, "log: %s", text);
    free(text);

    r = testutil_run_cli((const char *const[]){"receipt", "verify", "--receipt-db", db,
                                               "--trusted-key", KERNEL_PK, NULL},
                         NULL, 0);
    cr_expect_eq(r.status, 0, "%s", r.out);
    cr_expect_neq(strstr(r.out, "\"receipts\":4"), NULL, "%s", r.out);
    testutil_cli_free(&r);
    free(out);
    free(err);
    free(sock);
    free(db);
    free(pidf);
    free(req);
    free(cout);
    free(cerr);
}

Test(host, the_embedding_example_runs)
{
    char *out = path_in("o"), *err = path_in("e"), *text;
    const char *argv[] = {CHIO_EXAMPLES_DIR "/embed", NULL};
    pid_t pid = spawn(argv, NULL, out, err);

    cr_expect_eq(wait_exit(pid, 30), 0);
    text = slurp(out);
    cr_expect_eq(strncmp(text, "allow none\n{", 12), 0, "%s", text);
    free(text);
    free(out);
    free(err);
}

/* ---- live tail ----------------------------------------------------------------------------- */

static size_t count_lines(const char *p)
{
    char *s = slurp(p);
    size_t n = 0;
    const char *c;

    for (c = s; *c; c++)
        n += *c == '\n';
    free(s);
    return n;
}

static void tail_case(const char *const *extra)
{
    char *db = path_in("tdb"), *out = path_in("tail.out"), *err = path_in("tail.err");
    const char *argv[16] = {CHIO_TEST_CLI, "receipt", "list", "--receipt-db", db, "--tail"};
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_receipt *rec;
    pid_t tail;
    size_t i, n = 6, want = 250;
    char *text, *save = NULL, *line;
    cli_result all;

    for (i = 0; extra && extra[i]; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    kt_config(&cfg, db);
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    for (i = 0; i < 50; i++) { /* existing receipts */
        cr_assert_eq(chio_kernel_sign_receipt(k, kt_builder(i), &rec, NULL), 0);
        chio_receipt_free(rec);
    }
    tail = spawn(argv, NULL, out, err);
    for (i = 50; i < want; i++) { /* committed while the tail runs */
        cr_assert_eq(chio_kernel_sign_receipt(k, kt_builder(i), &rec, NULL), 0);
        chio_receipt_free(rec);
        if (i % 50 == 0)
            usleep(150 * 1000);
    }
    for (i = 0; i < 200 && count_lines(out) < want; i++)
        usleep(50 * 1000);
    kill(tail, SIGINT);
    cr_expect_eq(wait_exit(tail, 10), 0, "tail must exit 0 on SIGINT: %s", slurp(err));
    chio_kernel_free(k);

    /* The tail's lines are the log, in order, each once. */
    all = testutil_run_cli(
        (const char *const[]){"receipt", "list", "--receipt-db", db, "--limit", "0", NULL}, NULL,
        0);
    cr_assert_eq(all.status, 0);
    text = slurp(out);
    cr_expect_eq(count_lines(out), want, "tail printed %zu lines, want %zu", count_lines(out),
                 want);
    cr_expect_str_eq(text, all.out, "the tail differs from the stored log");
    line = strtok_r(text, "\n", &save);
    cr_expect_not_null(line);
    free(text);
    testutil_cli_free(&all);
    free(db);
    free(out);
    free(err);
}

Test(host, tail_follows_a_running_kernel_exactly_once_in_order)
{
    tail_case(NULL);
}

Test(host, tail_works_with_filters)
{
    const char *extra[] = {"--outcome", "allow", "--tool-name", "file_read", NULL};
    tail_case(extra);
}
