/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/serve/test_rev27_host.c - the Host header rule against DNS
 * rebinding (src/svc/svc_host.h). A web page whose name is re-pointed at
 * 127.0.0.1 is same-origin with the sidecar: its GETs carry no Origin, so
 * it read /metrics and /chio/health (the counters, the kernel's key), and
 * its POSTs without an Origin reached evaluate. The sidecar answered every
 * Host; it now answers only localhost, loopback addresses, its listen
 * address (any address on a wildcard) and --allow-host names, and refuses
 * the rest 403 from the headers alone (no receipt); an HTTP/1.1 request
 * without a Host, or with two, is 400.
 * Suite serve_host: the real `chio serve`, over raw HTTP/1.x on loopback.
 * Suite svc_host: the rule itself, for listen addresses this machine may
 * not have.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "svc/svc_host.h"

#define BEARER "rev27-host-bearer-0123456789abcdef"

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

TestSuite(serve_host, .init = setup, .fini = teardown);

/* A running sidecar: its pid, port and store. */
typedef struct sidecar {
    pid_t pid;
    unsigned port;
    char *db;
} sidecar;

/* `chio serve` on port 0 of @listen ("127.0.0.1" or "0.0.0.0"; the latter
 * with the bearer token BEARER, as a non-loopback address needs), with
 * --allow-host @allow when not NULL. Waits for its listening line. */
static sidecar start_sidecar(const char *listen, const char *allow)
{
    char *seed, *out, *tokfile, *addr, *key;
    const char *kg[] = {"keygen", "--out", NULL, NULL};
    const char *argv[16];
    cli_result r;
    uint64_t end;
    sidecar sc;
    size_t n = 0;

    cr_assert_geq(asprintf(&seed, "%s/kernel.seed", dir), 0);
    cr_assert_geq(asprintf(&sc.db, "%s/db", dir), 0);
    cr_assert_geq(asprintf(&out, "%s/serve.out", dir), 0);
    cr_assert_geq(asprintf(&tokfile, "%s/bearer", dir), 0);
    cr_assert_geq(asprintf(&addr, "%s:0", listen), 0);
    cr_assert_geq(asprintf(&key, "\"listening\":\"%s:", listen), 0);
    cr_assert_eq(testutil_write_file(tokfile, BEARER "\n", strlen(BEARER) + 1, 0600), 0);
    kg[2] = seed;
    r = testutil_run_cli(kg, NULL, 0);
    cr_assert_eq(r.status, 0);
    testutil_cli_free(&r);
    argv[n++] = CHIO_TEST_CLI;
    argv[n++] = "serve";
    argv[n++] = "--receipt-db";
    argv[n++] = sc.db;
    argv[n++] = "--seed-file";
    argv[n++] = seed;
    argv[n++] = "--listen";
    argv[n++] = addr;
    if (strcmp(listen, "127.0.0.1") != 0) {
        argv[n++] = "--token-file";
        argv[n++] = tokfile;
    }
    if (allow != NULL) {
        argv[n++] = "--allow-host";
        argv[n++] = allow;
    }
    argv[n] = NULL;
    sc.pid = fork();
    cr_assert_geq(sc.pid, 0);
    if (sc.pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(o, 1);
        dup2(o, 2);
        execv(CHIO_TEST_CLI, (char *const *)argv);
        _exit(127);
    }
    sc.port = 0;
    for (end = testutil_now_ms() + 15000; sc.port == 0 && testutil_now_ms() < end;) {
        char *text = testutil_read_file(out, NULL);
        const char *p = text ? strstr(text, key) : NULL;
        if (p != NULL && strchr(p, '}') != NULL)
            sc.port = (unsigned)atoi(p + strlen(key));
        free(text);
        if (sc.port == 0)
            testutil_nap_ms(5);
    }
    cr_assert_neq(sc.port, 0, "chio serve did not start serving within 15 s");
    free(seed);
    free(out);
    free(tokfile);
    free(addr);
    free(key);
    return sc;
}

/* SIGTERM, exit 0, and the number of receipts in its store. */
static size_t stop_sidecar(sidecar *sc)
{
    const char *list[] = {"receipt", "list", "--receipt-db", sc->db, "--format", "jsonl", "--limit",
                          "0",       NULL};
    cli_result r;
    size_t n = 0;
    const char *p;
    int st;

    kill(sc->pid, SIGTERM);
    cr_assert_eq(waitpid(sc->pid, &st, 0), sc->pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "chio serve exits 0 after SIGTERM");
    r = testutil_run_cli(list, NULL, 0);
    cr_assert_eq(r.status, 0, "%s", r.err);
    for (p = r.out; (p = strchr(p, '\n')) != NULL; p++)
        n++;
    testutil_cli_free(&r);
    free(sc->db);
    return n;
}

/* @req sent whole on a new loopback connection; all that comes back until
 * the peer closes (or 5 s pass). */
static char *exchange(unsigned port, const char *req)
{
    char *all;
    int fd = testutil_dial(port);

    cr_assert_geq(fd, 0, "connect to 127.0.0.1:%u", port);
    cr_assert_eq(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
    all = testutil_recv_until(fd, NULL, 5000);
    close(fd);
    return all;
}

/* @method @path with the header line @host ("" for none; "%u" in it is
 * the port), version @version, an evaluate body on a POST; the answer. */
static char *ask(const sidecar *sc, const char *method, const char *path, const char *host,
                 const char *version)
{
    static const char body[] = "{\"capability_id\":\"nope\",\"tool_server\":\"a\","
                               "\"tool_name\":\"b\"}";
    const char *at = strstr(host, "%u");
    char *hostline, *req, *got;
    int post = strcmp(method, "POST") == 0;

    if (at != NULL) /* the port in place of "%u" */
        cr_assert_geq(asprintf(&hostline, "%.*s%u%s", (int)(at - host), host, sc->port, at + 2), 0);
    else
        cr_assert_not_null(hostline = strdup(host));
    cr_assert_geq(asprintf(&req,
                           "%s %s %s\r\n%sConnection: close\r\nAuthorization: Bearer " BEARER
                           "\r\nContent-Length: %zu\r\n\r\n%s",
                           method, path, version, hostline, post ? strlen(body) : 0,
                           post ? body : ""),
                  0);
    got = exchange(sc->port, req);
    free(hostline);
    free(req);
    return got;
}

/* The answer's status code (0 when there is none). */
static int status_of(const char *got)
{
    return strncmp(got, "HTTP/1.", 7) == 0 ? atoi(got + 9) : 0;
}

/* The Host lines of a rebound page, and look-alikes of accepted names. */
static const char *const rebound[] = {
    "Host: rebound.example:%u\r\n",
    "Host: rebound.example\r\n",
    "Host: 127.0.0.1.evil.example\r\n",
    "Host: localhost.evil.example:%u\r\n",
    "Host: localhost:%ux\r\n",
    "Host: [::1\r\n",
    "Host: [::1]x\r\n",
    "Host: localhost:\r\n",
    "Host: \r\n",
    "Host: 10.1.2.3:%u\r\n",
    "Host: [fe80::1]:%u\r\n",
    "Host: chio-sidecar:%u\r\n",
};

/* What a host service or a curl on the machine sends. */
static const char *const loopback[] = {
    "Host: 127.0.0.1:%u\r\n", "Host: localhost:%u\r\n", "Host: LocalHost\r\n",
    "Host: 127.0.0.1\r\n",    "Host: 127.3.2.1:%u\r\n", "Host: [::1]:%u\r\n",
    "Host: [0:0::1]\r\n",
};

Test(serve_host, a_rebound_host_is_403_on_metrics_health_and_evaluate_and_signs_nothing)
{
    static const char *const routes[][2] = {
        {"GET", "/metrics"},      {"GET", "/chio/health"},         {"GET", "/chio/live"},
        {"POST", "/v1/evaluate"}, {"POST", "/v1/receipts/verify"}, {"GET", "/nothing"},
    };
    sidecar sc = start_sidecar("127.0.0.1", NULL);
    size_t i, j;
    char *got;

    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        for (j = 0; j < sizeof(rebound) / sizeof(rebound[0]); j++) {
            got = ask(&sc, routes[i][0], routes[i][1], rebound[j], "HTTP/1.1");
            cr_expect_eq(status_of(got), 403, "%s %s, %s: %s", routes[i][0], routes[i][1],
                         rebound[j], got);
            cr_expect(strstr(got, "{\"code\":\"forbidden\",\"message\":\"the Host header") != NULL,
                      "a short JSON error: %s", got);
            cr_expect(strstr(got, "kernel_key") == NULL && strstr(got, "chio_") == NULL &&
                          strstr(got, "receipt") == NULL,
                      "nothing of the kernel: %s", got);
            free(got);
        }
    /* An HTTP/1.0 request names its Host too when it has one. */
    got = ask(&sc, "GET", "/metrics", "Host: rebound.example\r\n", "HTTP/1.0");
    cr_expect_eq(status_of(got), 403, "%s", got);
    free(got);
    /* The same POST from the machine is evaluated: one receipt in all. */
    got = ask(&sc, "POST", "/v1/evaluate", "Host: 127.0.0.1:%u\r\n", "HTTP/1.1");
    cr_expect_eq(status_of(got), 200, "%s", got);
    cr_expect(strstr(got, "\"verdict\":\"deny\"") != NULL, "%s", got);
    free(got);
    cr_expect_eq(stop_sidecar(&sc), 1, "no receipt for a refused POST");
}

Test(serve_host, loopback_names_are_served_and_look_alikes_are_not)
{
    sidecar sc = start_sidecar("127.0.0.1", NULL);
    size_t i;
    char *got;

    for (i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
        got = ask(&sc, "GET", "/chio/health", loopback[i], "HTTP/1.1");
        cr_expect_eq(status_of(got), 200, "%s: %s", loopback[i], got);
        cr_expect(strstr(got, "\"kernel_key\"") != NULL, "%s", got);
        free(got);
        got = ask(&sc, "GET", "/metrics", loopback[i], "HTTP/1.1");
        cr_expect_eq(status_of(got), 200, "%s: %s", loopback[i], got);
        free(got);
    }
    /* HTTP/1.0 predates Host: a request without one is served. */
    got = ask(&sc, "GET", "/metrics", "", "HTTP/1.0");
    cr_expect_eq(status_of(got), 200, "%s", got);
    free(got);
    got = ask(&sc, "GET", "/chio/health", "Host: localhost.:%u\r\n", "HTTP/1.1");
    cr_expect_eq(status_of(got), 403, "a name is matched whole: %s", got);
    free(got);
    cr_expect_eq(stop_sidecar(&sc), 0);
}

Test(serve_host, http11_without_a_host_or_with_two_is_400)
{
    static const char *const bad[] = {
        "",
        "Host: 127.0.0.1:%u\r\nHost: rebound.example\r\n",
        "Host: localhost\r\nHost: localhost\r\n",
    };
    sidecar sc = start_sidecar("127.0.0.1", NULL);
    size_t i;
    char *got;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        got = ask(&sc, i == 0 ? "GET" : "POST", i == 0 ? "/metrics" : "/v1/evaluate", bad[i],
                  "HTTP/1.1");
        cr_expect_eq(status_of(got), 400, "%zu: %s", i, got);
        cr_expect(strstr(got, "\"code\":\"invalid_request\"") != NULL, "%zu: %s", i, got);
        cr_expect(strstr(got, "Host header") != NULL, "%zu: %s", i, got);
        free(got);
    }
    cr_expect_eq(stop_sidecar(&sc), 0, "nothing evaluated");
}

Test(serve_host, a_wildcard_listen_takes_any_address_and_the_allowed_names)
{
    static const char *const ok[] = {
        "Host: 127.0.0.1:%u\r\n",    "Host: 192.0.2.7:%u\r\n", "Host: [2001:db8::5]:%u\r\n",
        "Host: chio-sidecar:%u\r\n", "Host: CHIO-Sidecar\r\n", "Host: localhost:%u\r\n",
    };
    static const char *const refused[] = {
        "Host: rebound.example:%u\r\n",
        "Host: chio-sidecar.rebound.example:%u\r\n",
        "Host: 192.0.2.7.nip.io:%u\r\n",
    };
    const char *badname[] = {"serve", "--receipt-db", "db",           "--seed-file",
                             "seed",  "--allow-host", "sidecar:9090", NULL};
    sidecar sc = start_sidecar("0.0.0.0", "chio-sidecar");
    cli_result r;
    size_t i;
    char *got;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        got = ask(&sc, "GET", "/chio/health", ok[i], "HTTP/1.1");
        cr_expect_eq(status_of(got), 200, "%s: %s", ok[i], got);
        free(got);
    }
    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        got = ask(&sc, "GET", "/metrics", refused[i], "HTTP/1.1");
        cr_expect_eq(status_of(got), 403, "%s: %s", refused[i], got);
        free(got);
    }
    cr_expect_eq(stop_sidecar(&sc), 0);
    /* A name with a port (or anything but a name) is a usage error. */
    r = testutil_run_cli(badname, NULL, 0);
    cr_expect_eq(r.status, 2, "%s", r.err);
    cr_expect(strstr(r.err, "--allow-host") != NULL, "%s", r.err);
    testutil_cli_free(&r);
}

/* ---- svc_host: the rule ---- */

Test(svc_host, a_listen_address_is_accepted_as_an_address)
{
    static const char *const names[] = {"sidecar.internal"};
    svc_host_rule r;

    svc_host_rule_init(&r, "10.0.0.5", names, 1);
    cr_expect(svc_host_value_ok(&r, "10.0.0.5:9090"));
    cr_expect(svc_host_value_ok(&r, "10.0.0.5"));
    cr_expect(svc_host_value_ok(&r, "Sidecar.Internal:9090"));
    cr_expect(svc_host_value_ok(&r, "localhost:1"));
    cr_expect(!svc_host_value_ok(&r, "10.0.0.6:9090"), "another address");
    cr_expect(!svc_host_value_ok(&r, "[::ffff:10.0.0.5]"), "another family");
    cr_expect(!svc_host_value_ok(&r, "sidecar.internal.evil:9090"));
    cr_expect(!svc_host_value_ok(&r, "10.0.0.5:99999x"));
    svc_host_rule_init(&r, "fd00::1", NULL, 0);
    cr_expect(svc_host_value_ok(&r, "[fd00:0::1]:80"), "the same address written another way");
    cr_expect(!svc_host_value_ok(&r, "[fd00::2]:80"));
    cr_expect(!svc_host_value_ok(&r, "fd00::1"), "an IPv6 Host is bracketed");
    cr_expect(!svc_host_value_ok(&r, "10.0.0.5"));
    svc_host_rule_init(&r, "::", NULL, 0);
    cr_expect(svc_host_value_ok(&r, "[fd00::2]:80"), "a wildcard: any address");
    cr_expect(svc_host_value_ok(&r, "192.0.2.1"));
    cr_expect(!svc_host_value_ok(&r, "sidecar.internal"), "but no name");
    svc_host_rule_init(&r, "127.0.0.1", NULL, 0);
    cr_expect(!svc_host_value_ok(&r, "10.0.0.5"), "loopback listen: loopback names only");
    cr_expect(!svc_host_value_ok(&r, NULL));
    cr_expect(svc_host_name_valid("chio-sidecar_1.example"));
    cr_expect(!svc_host_name_valid("host:80"));
    cr_expect(!svc_host_name_valid(""));
    cr_expect(!svc_host_name_valid("a b"));
}
