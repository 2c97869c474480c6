/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_host.c - the host integration, as separate processes:
 * examples/host-service driven by examples/agent-client over its Unix
 * socket (key handling, a mixed workload, SIGHUP ignored, SIGTERM drain,
 * PID file, receipts audited), the service's authority rules (a session
 * belongs to the connection that opened it, revocation only on the admin
 * socket, bounded ids, lines, sessions and connections, --help), hostile
 * clients (idle connections over the cap, an idle timeout, running out of
 * descriptors, a huge line without a newline, a client that never reads
 * during SIGTERM, socket paths that are not free, a second instance on the
 * same socket or store, the seed in the environment twice), the
 * embedding example, and
 * `chio receipt list --tail` following a running kernel from another
 * process (every committed receipt exactly once, in order).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/poll.h"
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

/* When not 0, the next spawn()ed programs run with this RLIMIT_NOFILE
 * (soft and hard). */
static rlim_t spawn_nofile;

/* Start @argv with stdout and stderr to files and @env_key as
 * CHIO_SIGNING_KEY (NULL: unset). */
static pid_t spawn(const char *const *argv, const char *env_key, const char *out, const char *err)
{
    pid_t pid = fork();

    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        /* A test that fails half-way exits without stopping the service:
         * it goes with the test's process, never outlives the run. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(o, 1);
        dup2(e, 2);
        if (spawn_nofile != 0) {
            struct rlimit rl = {spawn_nofile, spawn_nofile};
            if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
                _exit(126);
        }
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

/* For testutil_wait_until: the file at @arg holds a whole line (the PID
 * file is created before its line is written). */
static int holds_a_line(void *arg)
{
    char *text = slurp(arg);
    int whole = text != NULL && strchr(text, '\n') != NULL;

    free(text);
    return whole;
}

/* 1 once the file @p holds @text, 0 when it still does not after
 * @timeout_ms. */
static int wait_for_text(const char *p, const char *text, unsigned timeout_ms)
{
    uint64_t end = testutil_now_ms() + timeout_ms;
    int found;

    for (;;) {
        char *s = slurp(p);
        found = strstr(s, text) != NULL;
        free(s);
        if (found || testutil_now_ms() >= end)
            return found;
        testutil_nap_ms(10);
    }
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
    cr_assert(testutil_wait_until(holds_a_line, pidf, 5000), "the PID file stayed empty");
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
        const char *want[] = {"\"session\":\"sess-",          "\"verdict\":\"allow\"",
                              "\"code\":\"guard_denied\"",    "\"code\":\"out_of_scope\"",
                              "\"code\":\"forbidden\"",       "\"verdict\":\"allow\"",
                              "\"code\":\"unknown_session\"", "\"code\":\"invalid_arguments\""};
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
    cr_expect(wait_for_text(err, "sighup_ignored", 10000), "SIGHUP not logged: %s", slurp(err));
    cr_expect_eq(waitpid(host, NULL, WNOHANG), 0, "SIGHUP must not stop the service");
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

/* ---- the service's authority rules --------------------------------------------------------- */

/* A running host-service with an agent and an admin socket. */
typedef struct hs {
    pid_t pid;
    char *sock, *admin, *db, *out, *err;
} hs;

/* Start host-service with --admin-socket and the @extra options
 * (NULL-terminated, may be NULL); wait until both sockets exist. */
static void hs_start(hs *h, const char *const *extra)
{
    const char *argv[24] = {CHIO_EXAMPLES_DIR "/host-service"};
    size_t n = 1, i;

    h->sock = path_in("a.sock");
    h->admin = path_in("admin.sock");
    h->db = path_in("receipts");
    h->out = path_in("hs.out");
    h->err = path_in("hs.err");
    argv[n++] = "--receipt-db";
    argv[n++] = h->db;
    argv[n++] = "--socket";
    argv[n++] = h->sock;
    argv[n++] = "--admin-socket";
    argv[n++] = h->admin;
    for (i = 0; extra != NULL && extra[i] != NULL; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    h->pid = spawn(argv, SEED, h->out, h->err);
    cr_assert_eq(wait_for_file(h->sock, 20), 0, "no agent socket: %s", slurp(h->err));
    cr_assert_eq(wait_for_file(h->admin, 5), 0, "no admin socket: %s", slurp(h->err));
}

/* SIGTERM: the service drains and exits 0. Returns its log (stderr);
 * the caller frees it. */
static char *hs_stop(hs *h)
{
    char *log;

    kill(h->pid, SIGTERM);
    cr_expect_eq(wait_exit(h->pid, 30), 0, "SIGTERM must drain and exit 0: %s", slurp(h->err));
    log = slurp(h->err);
    free(h->sock);
    free(h->admin);
    free(h->db);
    free(h->out);
    free(h->err);
    return log;
}

/* Connect, polling for up to 10 s: the socket file appears at bind(),
 * a moment before the service listens (ECONNREFUSED until then). */
static int hs_connect(const char *path)
{
    struct sockaddr_un a;
    int fd = -1, tries, rc = -1, e = 0;

    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    cr_assert_lt(strlen(path), sizeof(a.sun_path));
    strcpy(a.sun_path, path);
    for (tries = 0; tries < 1000 && rc != 0; tries++) {
        if (fd >= 0) {
            close(fd);
            nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        }
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        cr_assert_geq(fd, 0);
        rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
        e = errno;
        if (rc != 0 && e != ECONNREFUSED && e != ENOENT)
            break;
    }
    cr_assert_eq(rc, 0, "connect %s: %s", path, strerror(e));
    return fd;
}

/* Read one response line (without its newline); NULL on end of file or
 * after 20 s. The service answers one line per request, so nothing past
 * the newline is lost. */
static char *hs_read_line(int fd)
{
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);

    cr_assert_not_null(buf);
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t got;
        char *nl;

        if (poll(&p, 1, 20000) <= 0)
            break;
        if (len + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            cr_assert_not_null(buf);
        }
        got = read(fd, buf + len, cap - len - 1);
        if (got <= 0)
            break;
        len += (size_t)got;
        buf[len] = '\0';
        nl = memchr(buf, '\n', len);
        if (nl != NULL) {
            cr_assert_eq((size_t)(nl - buf) + 1, len, "more than one line: %s", buf);
            *nl = '\0';
            return buf;
        }
    }
    free(buf);
    return NULL;
}

/* The service closed @fd: end of file (or a reset) within 5 s. */
static void hs_expect_closed(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    char c;

    cr_assert_eq(poll(&p, 1, 5000), 1, "the service must close the connection");
    cr_expect_leq(read(fd, &c, 1), 0, "data after the last answer");
}

/* Send one request line and return its response (caller frees). */
static char *hs_ask(int fd, const char *req)
{
    size_t n = strlen(req);
    char *line;

    cr_assert_eq(send(fd, req, n, MSG_NOSIGNAL), (ssize_t)n);
    cr_assert_eq(send(fd, "\n", 1, MSG_NOSIGNAL), 1);
    line = hs_read_line(fd);
    cr_assert_not_null(line, "no response to %.200s", req);
    return line;
}

/* hs_ask, then check the response contains @want. */
static void hs_expect(int fd, const char *req, const char *want)
{
    char *r = hs_ask(fd, req);

    cr_expect_neq(strstr(r, want), NULL, "request %.200s: want %s, got %.400s", req, want, r);
    free(r);
}

/* A token for AGENT_PK signed with the service's key: srv-files, any tool. */
static char *token(const char *cap_id)
{
    static const char scope[] = "{\"grants\":[{\"server_id\":\"srv-files\",\"tool_name\":"
                                "\"*\",\"operations\":[\"invoke\"]}]}";
    chio_keypair *kp;
    chio_capability *cap;
    char *text;

    cr_assert_eq(chio_keypair_from_seed_hex(SEED, 64, &kp, NULL), 0);
    cr_assert_eq(chio_capability_issue(kp, cap_id, AGENT_PK, scope, sizeof(scope) - 1,
                                       (uint64_t)time(NULL) - 10, 3600, &cap, NULL),
                 0);
    text = strdup(chio_capability_json(cap, NULL));
    chio_capability_free(cap);
    chio_keypair_free(kp);
    return text;
}

/* Open a session labelled @label holding @cap_id; returns its id. */
static char *hs_open(int fd, const char *label, const char *cap_id)
{
    char *tok = token(cap_id), *req, *r, *id, *p;

    cr_assert_geq(asprintf(&req,
                           "{\"op\":\"open_session\",\"session\":\"%s\",\"agent\":\"%s\","
                           "\"capabilities\":[%s]}",
                           label, AGENT_PK, tok),
                  0);
    r = hs_ask(fd, req);
    p = strstr(r, "\"session\":\"sess-");
    cr_assert_not_null(p, "open_session: %s", r);
    id = strndup(p + 11, CHIO_SESSION_ID_LEN);
    free(r);
    free(req);
    free(tok);
    return id;
}

static char *call_req(const char *session, const char *cap_id)
{
    char *req;

    cr_assert_geq(asprintf(&req,
                           "{\"op\":\"call\",\"session\":\"%s\",\"capability_id\":\"%s\","
                           "\"server\":\"srv-files\",\"tool\":\"file_read\","
                           "\"arguments\":{\"path\":\"/workspace/a\"}}",
                           session, cap_id),
                  0);
    return req;
}

static void hs_expect_call(int fd, const char *session, const char *cap_id, const char *want)
{
    char *req = call_req(session, cap_id);

    hs_expect(fd, req, want);
    free(req);
}

static char *close_req(const char *session)
{
    char *req;

    cr_assert_geq(asprintf(&req, "{\"op\":\"close_session\",\"session\":\"%s\"}", session), 0);
    return req;
}

static char *revoke_req(const char *cap_id)
{
    char *req;

    cr_assert_geq(asprintf(&req, "{\"op\":\"revoke\",\"capability_id\":\"%s\"}", cap_id), 0);
    return req;
}

/* The number after "sessions": in an admin status answer. Admin
 * connections are capped at 4, and the threads of the ones just closed may
 * not have ended yet: a refused connection is tried again. */
static int hs_sessions(const char *admin)
{
    int i, n = -1;

    for (i = 0; i < 100 && n < 0; i++) {
        int fd = hs_connect(admin);
        char *r, *p;

        (void)!send(fd, "{\"op\":\"status\"}\n", 16, MSG_NOSIGNAL);
        r = hs_read_line(fd);
        close(fd);
        p = r ? strstr(r, "\"sessions\":") : NULL;
        if (p != NULL)
            n = atoi(p + 11);
        else
            usleep(20 * 1000);
        free(r);
    }
    cr_assert_geq(n, 0, "no status answer on the admin socket");
    return n;
}

#define ALLOW   "\"verdict\":\"allow\""
#define UNKNOWN "\"code\":\"unknown_session\""

Test(host, a_session_belongs_to_the_connection_that_opened_it)
{
    hs h;
    int a, b;
    char *id, *req, *theirs, *bogus;

    hs_start(&h, NULL);
    a = hs_connect(h.sock);
    b = hs_connect(h.sock);
    id = hs_open(a, "mine", "cap-a");
    hs_expect_call(a, id, "cap-a", ALLOW);

    /* B read A's session id from a receipt: a call on it gets exactly the
     * answer an id that never existed gets. */
    req = call_req(id, "cap-a");
    theirs = hs_ask(b, req);
    free(req);
    req = call_req("sess-AAAAAAAAAAAAAAAAAAAAAA", "cap-a");
    bogus = hs_ask(b, req);
    free(req);
    cr_expect_neq(strstr(theirs, UNKNOWN), NULL, "%s", theirs);
    cr_expect_str_eq(theirs, bogus, "a foreign session must look like no session");
    free(theirs);
    free(bogus);
    hs_expect_call(b, "mine", "cap-a", UNKNOWN); /* labels are per connection too */

    /* Nor can B close it. */
    req = close_req(id);
    theirs = hs_ask(b, req);
    free(req);
    req = close_req("sess-AAAAAAAAAAAAAAAAAAAAAA");
    bogus = hs_ask(b, req);
    free(req);
    cr_expect_neq(strstr(theirs, UNKNOWN), NULL, "%s", theirs);
    cr_expect_str_eq(theirs, bogus);
    free(theirs);
    free(bogus);

    /* A's session still works, by id and by label, and A can close it. */
    hs_expect_call(a, id, "cap-a", ALLOW);
    hs_expect_call(a, "mine", "cap-a", ALLOW);
    req = close_req("mine");
    hs_expect(a, req, "{\"ok\":true}");
    free(req);
    hs_expect_call(a, id, "cap-a", UNKNOWN);
    close(a);
    close(b);
    free(id);
    free(hs_stop(&h));
}

Test(host, revoke_is_refused_on_the_agent_socket)
{
    hs h;
    int a, b;
    char *id, *req, *log;

    hs_start(&h, NULL);
    a = hs_connect(h.sock);
    b = hs_connect(h.sock);
    id = hs_open(a, "s", "cap-r");
    req = revoke_req("cap-r");
    hs_expect(a, req, "\"code\":\"forbidden\"");
    hs_expect(b, req, "\"code\":\"forbidden\"");
    free(req);
    hs_expect(a, "{\"op\":\"status\"}", "\"code\":\"forbidden\"");
    /* No revocation happened. */
    hs_expect_call(a, id, "cap-r", ALLOW);
    close(a);
    close(b);
    free(id);
    log = hs_stop(&h);
    cr_expect_null(strstr(log, "\"event\":\"revoked\""), "%s", log);
    free(log);
}

Test(host, revoke_on_the_admin_socket_works)
{
    hs h;
    int a, adm;
    char *id, *req, *file = path_in("revoke.jsonl"), *cout = path_in("c.out");
    char *cerr = path_in("c.err"), *text;
    pid_t client;

    hs_start(&h, NULL);
    a = hs_connect(h.sock);
    id = hs_open(a, "s", "cap-x");
    hs_expect_call(a, id, "cap-x", ALLOW);

    /* The operator revokes with agent-client --admin-socket. */
    req = revoke_req("cap-x");
    cr_assert_eq(testutil_write_file(file, req, strlen(req), 0600), 0);
    free(req);
    {
        const char *argv[] = {CHIO_EXAMPLES_DIR "/agent-client", "--admin-socket", h.admin, file,
                              NULL};
        client = spawn(argv, NULL, cout, cerr);
    }
    cr_expect_eq(wait_exit(client, 20), 0, "agent-client: %s", slurp(cerr));
    text = slurp(cout);
    cr_expect_str_eq(text, "{\"ok\":true}\n");
    free(text);
    hs_expect_call(a, id, "cap-x", "\"code\":\"capability_revoked\"");

    /* The admin socket is not an agent socket. */
    adm = hs_connect(h.admin);
    hs_expect(adm, "{\"op\":\"open_session\",\"agent\":\"x\",\"capabilities\":[]}",
              "\"code\":\"forbidden\"");
    req = call_req(id, "cap-x");
    hs_expect(adm, req, "\"code\":\"forbidden\"");
    free(req);
    hs_expect(adm, "{\"op\":\"ping\"}", "\"kernel_key\":\"" KERNEL_PK "\"");
    close(adm);
    close(a);
    text = hs_stop(&h);
    cr_expect_neq(strstr(text, "\"event\":\"revoked\",\"detail\":\"cap-x\""), NULL, "%s", text);
    free(text);
    free(id);
    free(file);
    free(cout);
    free(cerr);
}

Test(host, an_over_long_revocation_id_is_refused)
{
    hs h;
    int adm, a;
    char id257[258], id256[257], *req, *sid, *log;

    memset(id257, 'r', 257);
    id257[257] = '\0';
    memset(id256, 's', 256);
    id256[256] = '\0';
    hs_start(&h, NULL);
    adm = hs_connect(h.admin);
    req = revoke_req(id257);
    hs_expect(adm, req, "\"code\":\"too_large\"");
    free(req);
    hs_expect(adm, "{\"op\":\"revoke\"}", "\"code\":\"invalid_request\"");
    hs_expect(adm, "{\"op\":\"revoke\",\"capability_id\":\"\"}", "\"code\":\"invalid_request\"");
    hs_expect(adm, "{\"op\":\"revoke\",\"capability_id\":7}", "\"code\":\"invalid_request\"");
    req = revoke_req(id256); /* the longest id that may be revoked */
    hs_expect(adm, req, "{\"ok\":true}");
    free(req);
    /* A 257-byte capability id could never be revoked, so the kernel
     * refuses a token carrying one (check 3), with a receipt. */
    a = hs_connect(h.sock);
    sid = hs_open(a, "s", id257);
    hs_expect_call(a, sid, id257, "\"code\":\"capability_revoked\"");
    close(a);
    close(adm);
    free(sid);
    log = hs_stop(&h);
    cr_expect_null(strstr(log, id257), "the over-long id reached the kernel: %.300s", log);
    free(log);
}

Test(host, an_over_long_line_is_refused_and_others_are_served)
{
    hs h;
    size_t big = (1u << 20) + 4096, off = 0;
    char *blob = malloc(big + 1), *r, *id, *file = path_in("big.jsonl");
    char *cout = path_in("c.out"), *cerr = path_in("c.err");
    int a, b, c;
    pid_t client;

    cr_assert_not_null(blob);
    memset(blob, 'x', big);
    blob[big] = '\0';
    hs_start(&h, NULL);
    a = hs_connect(h.sock);
    id = hs_open(a, "s", "cap-l");

    /* B sends more than 1 MiB with no newline: one too_large answer, then
     * the service closes B's connection. */
    b = hs_connect(h.sock);
    while (off < big) {
        ssize_t w = send(b, blob + off, big - off, MSG_NOSIGNAL);
        if (w <= 0)
            break; /* the service closed the connection part way */
        off += (size_t)w;
    }
    r = hs_read_line(b);
    cr_assert_not_null(r, "no answer to an over-long line");
    cr_expect_neq(strstr(r, "\"code\":\"too_large\""), NULL, "%s", r);
    free(r);
    hs_expect_closed(b);
    close(b);

    /* Everyone else is still served. */
    hs_expect_call(a, id, "cap-l", ALLOW);
    c = hs_connect(h.sock);
    hs_expect(c, "{\"op\":\"ping\"}", "\"ok\":true");
    close(c);

    /* agent-client prints the answer and reports the closed connection
     * when it tries the next request. */
    blob[big - 1] = '\n';
    {
        static const char ping[] = "{\"op\":\"ping\"}\n";
        char *both = malloc(big + sizeof(ping));
        cr_assert_not_null(both);
        memcpy(both, blob, big);
        memcpy(both + big, ping, sizeof(ping));
        cr_assert_eq(testutil_write_file(file, both, big + sizeof(ping) - 1, 0600), 0);
        free(both);
    }
    {
        const char *argv[] = {CHIO_EXAMPLES_DIR "/agent-client", "--socket", h.sock, file, NULL};
        client = spawn(argv, NULL, cout, cerr);
    }
    cr_expect_eq(wait_exit(client, 20), 1, "agent-client: %s", slurp(cerr));
    r = slurp(cout);
    cr_expect_neq(strstr(r, "\"code\":\"too_large\""), NULL, "%s", r);
    free(r);
    hs_expect_call(a, id, "cap-l", ALLOW);
    close(a);
    free(id);
    free(blob);
    free(file);
    free(cout);
    free(cerr);
    r = hs_stop(&h);
    cr_expect_neq(strstr(r, "line_too_long"), NULL, "%s", r);
    free(r);
}

Test(host, closing_a_connection_closes_its_sessions)
{
    hs h;
    int a, b, i;
    char *id1, *id2, *log;

    hs_start(&h, NULL);
    a = hs_connect(h.sock);
    b = hs_connect(h.sock);
    id1 = hs_open(a, "one", "cap-c");
    id2 = hs_open(a, "two", "cap-c");
    free(hs_open(b, "other", "cap-c"));
    cr_expect_eq(hs_sessions(h.admin), 3);
    close(a);
    for (i = 0; i < 100 && hs_sessions(h.admin) != 1; i++)
        usleep(50 * 1000);
    cr_expect_eq(hs_sessions(h.admin), 1, "A's two sessions must be closed with A");
    hs_expect_call(b, "other", "cap-c", ALLOW);
    hs_expect_call(b, id1, "cap-c", UNKNOWN);
    close(b);
    for (i = 0; i < 100 && hs_sessions(h.admin) != 0; i++)
        usleep(50 * 1000);
    cr_expect_eq(hs_sessions(h.admin), 0);
    free(id1);
    free(id2);
    log = hs_stop(&h);
    /* A's line is the first a client caused; B's may come within the same
     * second, and those lines are at most one a second (review 19): then
     * the count at exit says it was not shown. */
    cr_expect_neq(strstr(log, "agent connection closed; 2 session(s) closed"), NULL, "%s", log);
    cr_expect(strstr(log, "agent connection closed; 1 session(s) closed") != NULL ||
                  strstr(log, "\"1 lines about agent connections not shown") != NULL,
              "%s", log);
    free(log);
}

Test(host, sessions_and_connections_are_bounded)
{
    const char *limits[] = {"--max-sessions-per-connection",
                            "2",
                            "--max-sessions",
                            "3",
                            "--max-connections",
                            "2",
                            NULL};
    hs h;
    int a, b, c, i;
    char *id, *req, *r;

    hs_start(&h, limits);
    a = hs_connect(h.sock);
    b = hs_connect(h.sock);
    free(hs_open(a, "a1", "cap-b"));
    id = hs_open(a, "a2", "cap-b");
    r = hs_ask(a, "{\"op\":\"open_session\",\"agent\":\"" AGENT_PK "\",\"capabilities\":[]}");
    cr_expect_neq(strstr(r, "\"code\":\"too_many_sessions\""), NULL, "per connection: %s", r);
    cr_expect_neq(strstr(r, "--max-sessions-per-connection"), NULL, "%s", r);
    free(r);
    free(hs_open(b, "b1", "cap-b"));
    r = hs_ask(b, "{\"op\":\"open_session\",\"agent\":\"" AGENT_PK "\",\"capabilities\":[]}");
    cr_expect_neq(strstr(r, "\"code\":\"too_many_sessions\""), NULL, "in total: %s", r);
    cr_expect_neq(strstr(r, "--max-sessions)"), NULL, "%s", r);
    free(r);
    /* Closed sessions free their entries: open and close many times. */
    for (i = 0; i < 40; i++) {
        req = close_req("a2");
        hs_expect(a, req, "{\"ok\":true}");
        free(req);
        free(id);
        id = hs_open(a, "a2", "cap-b");
    }
    hs_expect_call(a, "a2", "cap-b", ALLOW);

    /* A third connection is answered too_many_connections and closed. */
    c = hs_connect(h.sock);
    r = hs_read_line(c);
    cr_assert_not_null(r, "no answer on a connection over the limit");
    cr_expect_neq(strstr(r, "\"code\":\"too_many_connections\""), NULL, "%s", r);
    free(r);
    hs_expect_closed(c);
    close(c);
    /* Once B leaves, a new connection is served. */
    close(b);
    for (i = 0; i < 100; i++) {
        c = hs_connect(h.sock);
        /* Until B's thread has ended, this connection may be refused (and
         * closed before the request is even sent). */
        (void)!send(c, "{\"op\":\"ping\"}\n", 14, MSG_NOSIGNAL);
        r = hs_read_line(c);
        close(c);
        if (r != NULL && strstr(r, "\"ok\":true") != NULL)
            break;
        free(r);
        r = NULL;
        usleep(50 * 1000);
    }
    cr_expect_not_null(r, "a connection freed by B must be usable again");
    free(r);
    close(a);
    free(id);
    free(hs_stop(&h));
}

Test(host, help_exits_zero_for_both_programs)
{
    const char *progs[] = {CHIO_EXAMPLES_DIR "/host-service", CHIO_EXAMPLES_DIR "/agent-client"};
    char *out = path_in("o"), *err = path_in("e"), *text;
    size_t i;

    for (i = 0; i < 2; i++) {
        const char *help[] = {progs[i], "--help", NULL};
        const char *bad[] = {progs[i], "--no-such-option", NULL};
        pid_t pid = spawn(help, NULL, out, err);

        cr_expect_eq(wait_exit(pid, 10), 0, "%s --help", progs[i]);
        text = slurp(out);
        cr_expect_eq(strncmp(text, "usage: ", 7), 0, "%s --help printed: %s", progs[i], text);
        cr_expect_neq(strstr(text, "--admin-socket"), NULL, "%s", text);
        free(text);
        pid = spawn(bad, NULL, out, err);
        cr_expect_eq(wait_exit(pid, 10), 2, "%s with a bad option", progs[i]);
        text = slurp(err);
        cr_expect_neq(strstr(text, "usage: "), NULL, "%s", text);
        free(text);
    }
    free(out);
    free(err);
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

/* 1 once the file @p has @n lines or more, 0 when it has fewer after
 * @timeout_ms. */
static int wait_lines(const char *p, size_t n, unsigned timeout_ms)
{
    uint64_t end = testutil_now_ms() + timeout_ms;

    while (count_lines(p) < n) {
        if (testutil_now_ms() >= end)
            return count_lines(p) >= n;
        testutil_nap_ms(10);
    }
    return 1;
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
    /* The tail has printed what was there before more is committed, and
     * catches up every 50 receipts: the rest it prints while following. */
    cr_assert(wait_lines(out, 50, 30000), "the tail printed %zu of the 50 existing receipts: %s",
              count_lines(out), slurp(err));
    for (i = 50; i < want; i++) { /* committed while the tail runs */
        cr_assert_eq(chio_kernel_sign_receipt(k, kt_builder(i), &rec, NULL), 0);
        chio_receipt_free(rec);
        if (i % 50 == 0)
            cr_assert(wait_lines(out, i + 1, 30000), "the tail did not follow to %zu: %zu lines",
                      i + 1, count_lines(out));
    }
    wait_lines(out, want, 10000); /* the count is checked below */
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

/* ---- hostile clients ----------------------------------------------------------------------- */

/* Connect without asserting: -1 when refused. */
static int try_connect(const char *path)
{
    struct sockaddr_un a;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    cr_assert_geq(fd, 0);
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    strcpy(a.sun_path, path);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A ping on a new connection answered ok within @timeout_s (connections may
 * be refused for a while); 0: one try. */
static int hs_ping_new(const char *sock, int timeout_s)
{
    int i;

    for (i = 0; i == 0 || i < timeout_s * 20; i++) {
        int c = try_connect(sock);
        char *r;

        if (c < 0) {
            usleep(50 * 1000);
            continue;
        }
        (void)!send(c, "{\"op\":\"ping\"}\n", 14, MSG_NOSIGNAL);
        r = hs_read_line(c);
        close(c);
        if (r != NULL && strstr(r, "\"ok\":true") != NULL) {
            free(r);
            return 1;
        }
        free(r);
        usleep(50 * 1000);
    }
    return 0;
}

Test(host, idle_connections_over_the_cap_are_refused_and_a_client_is_served)
{
    const char *opts[] = {"--max-connections", "4", "--idle-timeout", "5", NULL};
    char *file = path_in("ping.jsonl"), *cout = path_in("c.out"), *cerr = path_in("c.err"), *text;
    pid_t client;
    int fds[40], answered[40] = {0}, i, refused = 0, n = 0, idle = 0;
    hs h;
    int a;
    char *id, *log;

    hs_start(&h, opts);
    a = hs_connect(h.sock);
    id = hs_open(a, "s", "cap-i");
    /* 40 connections that never send anything: 3 fit, the rest are
     * answered too_many_connections and closed. */
    for (i = 0; i < 40; i++) {
        fds[i] = try_connect(h.sock);
        if (fds[i] >= 0)
            n++;
    }
    for (i = 0; i < 40; i++) {
        struct pollfd p = {fds[i], POLLIN, 0};
        char buf[512];
        ssize_t got;

        if (fds[i] < 0 || poll(&p, 1, 200) != 1)
            continue;
        got = read(fds[i], buf, sizeof(buf) - 1);
        if (got > 0) {
            buf[got] = '\0';
            cr_expect_neq(strstr(buf, "too_many_connections"), NULL, "%s", buf);
            refused++;
            answered[i] = 1;
        }
    }
    cr_expect_geq(refused, 30, "only %d of 40 connections over the cap were refused", refused);
    /* The client that was there first is still served. */
    hs_expect_call(a, id, "cap-i", ALLOW);
    /* agent-client prints the refusal and exits 1. */
    cr_assert_eq(testutil_write_file(file, "{\"op\":\"ping\"}\n", 14, 0600), 0);
    {
        const char *argv[] = {CHIO_EXAMPLES_DIR "/agent-client", "--socket", h.sock, file, NULL};
        client = spawn(argv, NULL, cout, cerr);
    }
    cr_expect_eq(wait_exit(client, 20), 1, "agent-client: %s", slurp(cerr));
    text = slurp(cout);
    cr_expect_neq(strstr(text, "too_many_connections"), NULL, "%s", text);
    free(text);
    /* The idle ones are closed after 5 s; meanwhile A keeps talking, a
     * ping every 100 ms, until a new client is served (15 s at most). */
    {
        uint64_t end = testutil_now_ms() + 15000;
        int served = 0;

        while (!served && testutil_now_ms() < end) {
            hs_expect(a, "{\"op\":\"ping\"}", "\"ok\":true");
            served = hs_ping_new(h.sock, 0);
            if (!served)
                testutil_nap_ms(100);
        }
        cr_expect(served, "a new client must be served once the idle ones are gone");
    }
    hs_expect_call(a, id, "cap-i", ALLOW);
    /* The ones that were let in were told why they were closed. */
    for (i = 0; i < 40; i++) {
        struct pollfd p = {fds[i], POLLIN, 0};
        char buf[512];
        ssize_t got;

        if (fds[i] < 0 || answered[i] || poll(&p, 1, 5000) != 1)
            continue;
        got = read(fds[i], buf, sizeof(buf) - 1);
        if (got > 0) {
            buf[got] = '\0';
            idle += strstr(buf, "\"code\":\"idle_timeout\"") != NULL;
        }
    }
    cr_expect_geq(idle, 1, "no connection let in was closed with idle_timeout");
    for (i = 0; i < 40; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    close(a);
    free(id);
    log = hs_stop(&h);
    /* Its log line may be one not shown: the refusals of the new clients
     * tried meanwhile share the one-a-second limit (review 19). */
    cr_expect(strstr(log, "after the idle timeout") != NULL ||
                  strstr(log, "not shown since the last one") != NULL,
              "%s", log);
    free(log);
    free(file);
    free(cout);
    free(cerr);
    (void)n;
}

Test(host, an_idle_connection_is_closed_after_the_idle_timeout)
{
    const char *opts[] = {"--idle-timeout", "1", NULL};
    struct timespec t0, t1;
    hs h;
    int a, b;
    char *r, *log;
    double s;

    hs_start(&h, opts);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    a = hs_connect(h.sock);
    b = hs_connect(h.sock);
    /* B sends half a request and stops: the clock runs from its last
     * complete request, not from its last byte. */
    cr_assert_eq(send(b, "{\"op\":", 6, MSG_NOSIGNAL), 6);
    r = hs_read_line(a);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_assert_not_null(r, "no idle_timeout answer");
    cr_expect_neq(strstr(r, "\"code\":\"idle_timeout\""), NULL, "%s", r);
    free(r);
    s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_expect(s >= 0.9 && s < 4.0, "closed after %.2f s, want about 1 s", s);
    hs_expect_closed(a);
    r = hs_read_line(b);
    cr_expect(r != NULL && strstr(r, "\"code\":\"idle_timeout\"") != NULL, "%s", r ? r : "none");
    free(r);
    hs_expect_closed(b);
    close(a);
    close(b);
    cr_expect(hs_ping_new(h.sock, 5));
    a = hs_connect(h.admin);
    hs_expect(a, "{\"op\":\"status\"}", "\"max_connections\":256,");
    hs_expect(a, "{\"op\":\"status\"}", "\"idle_timeout_s\":1,\"drain_timeout_s\":10}");
    close(a);
    log = hs_stop(&h);
    cr_expect_neq(strstr(log, "agent connection closed after the idle timeout"), NULL, "%s", log);
    free(log);
}

/* Resident bytes of @pid. */
static size_t rss_of(pid_t pid)
{
    char *p, *text;
    size_t len, size = 0, res = 0;

    cr_assert_geq(asprintf(&p, "/proc/%d/statm", (int)pid), 0);
    text = testutil_read_file(p, &len);
    cr_assert_not_null(text);
    cr_assert_eq(sscanf(text, "%zu %zu", &size, &res), 2);
    free(text);
    free(p);
    return res * (size_t)sysconf(_SC_PAGESIZE);
}

Test(host, a_huge_line_without_newline_is_cut_off_early)
{
    size_t chunk = 1u << 20, sent = 0, limit = 400u << 20, before, after;
    char *blob = malloc(chunk), *r, *id;
    hs h;
    int a, b;

    cr_assert_not_null(blob);
    memset(blob, 'x', chunk);
    hs_start(&h, NULL);
    a = hs_connect(h.sock);
    id = hs_open(a, "s", "cap-h");
    before = rss_of(h.pid);
    /* Up to 400 MiB without a newline: the service stops reading at 1 MiB
     * and closes, so the sender fails long before. */
    b = hs_connect(h.sock);
    while (sent < limit) {
        ssize_t w = send(b, blob, chunk, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        sent += (size_t)w;
    }
    after = rss_of(h.pid);
    cr_expect_lt(sent, 16u << 20, "the service took %zu bytes of one line", sent);
    cr_expect_lt(after, before + (16u << 20), "RSS grew from %zu to %zu bytes", before, after);
    r = hs_read_line(b);
    cr_expect(r != NULL && strstr(r, "\"code\":\"too_large\"") != NULL, "%s", r ? r : "none");
    free(r);
    close(b);
    hs_expect_call(a, id, "cap-h", ALLOW);
    cr_expect(hs_ping_new(h.sock, 5));
    close(a);
    free(id);
    free(blob);
    free(hs_stop(&h));
}

Test(host, sigterm_completes_while_a_client_pipelines_and_never_reads)
{
    const char *opts[] = {"--drain-timeout", "2", NULL};
    static const char ping[] = "{\"op\":\"ping\"}\n";
    char *buf = malloc(64 * 1024), *id, *log;
    struct timespec t0, t1;
    size_t i, sent = 0;
    hs h;
    int a, p, st;
    double s;

    cr_assert_not_null(buf);
    for (i = 0; i + sizeof(ping) - 1 <= 64 * 1024; i += sizeof(ping) - 1)
        memcpy(buf + i, ping, sizeof(ping) - 1);
    hs_start(&h, opts);
    a = hs_connect(h.sock);
    id = hs_open(a, "s", "cap-p");
    /* P opens a session too, then pipelines pings and never reads: its
     * answers fill both socket buffers and the service's send waits. */
    p = hs_connect(h.sock);
    free(hs_open(p, "p", "cap-p"));
    cr_assert_eq(fcntl(p, F_SETFL, O_NONBLOCK), 0);
    for (;;) {
        ssize_t w = send(p, buf, i, MSG_NOSIGNAL);
        if (w > 0) {
            sent += (size_t)w;
            continue;
        }
        if (errno == EAGAIN) {
            struct pollfd q = {p, POLLOUT, 0};
            if (poll(&q, 1, 500) == 1)
                continue;
        }
        break;
    }
    cr_expect_gt(sent, 64 * 1024, "only %zu bytes sent", sent);
    /* Others are served meanwhile. */
    hs_expect_call(a, id, "cap-p", ALLOW);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    kill(h.pid, SIGTERM);
    st = wait_exit(h.pid, 8);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_expect_eq(st, 0, "SIGTERM must complete and exit 0: %s", slurp(h.err));
    cr_expect_lt(s, 5.0, "drain took %.2f s with --drain-timeout 2", s);
    h.pid = 0;
    log = slurp(h.err);
    cr_expect_neq(strstr(log, "\"event\":\"drained\""), NULL, "%s", log);
    free(log);
    close(p);
    close(a);
    free(id);
    free(buf);
    free(h.sock);
    free(h.admin);
    free(h.db);
    free(h.out);
    free(h.err);
}

Test(host, the_service_survives_running_out_of_descriptors)
{
    const char *opts[] = {"--max-connections", "256", NULL};
    int fds[120], i, shed = 0, a;
    char *id, *log;
    hs h;

    spawn_nofile = 48; /* the service needs about 25 of them at rest */
    hs_start(&h, opts);
    spawn_nofile = 0;
    a = hs_connect(h.sock);
    id = hs_open(a, "s", "cap-f");
    for (i = 0; i < 120; i++)
        fds[i] = try_connect(h.sock);
    for (i = 0; i < 120; i++) {
        struct pollfd p = {fds[i], POLLIN, 0};
        char buf[512];
        ssize_t got;

        if (fds[i] < 0 || poll(&p, 1, 100) != 1)
            continue;
        got = read(fds[i], buf, sizeof(buf) - 1);
        if (got > 0) {
            buf[got] = '\0';
            if (strstr(buf, "file descriptors") != NULL)
                shed++;
        }
    }
    cr_expect_gt(shed, 0, "no connection was answered 'out of file descriptors'");
    /* Still alive, and serving again once the connections are gone. */
    cr_expect_eq(kill(h.pid, 0), 0);
    for (i = 0; i < 120; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    cr_expect(hs_ping_new(h.sock, 10), "no service after the descriptors came back");
    hs_expect_call(a, id, "cap-f", ALLOW);
    close(a);
    free(id);
    log = hs_stop(&h);
    cr_expect_neq(strstr(log, "out_of_descriptors"), NULL, "%s", log);
    free(log);
}

Test(host, a_socket_path_that_is_not_a_socket_is_refused_and_kept)
{
    char *out = path_in("o"), *err = path_in("e"), *file = path_in("precious"), *db = path_in("db");
    const char *argv[] = {
        CHIO_EXAMPLES_DIR "/host-service", "--receipt-db", db, "--socket", file, NULL};
    char *text;
    size_t len;

    cr_assert_eq(testutil_write_file(file, "keep me\n", 8, 0600), 0);
    cr_expect_eq(wait_exit(spawn(argv, SEED, out, err), 10), 2);
    text = slurp(err);
    cr_expect_neq(strstr(text, "is not a socket"), NULL, "%s", text);
    free(text);
    text = testutil_read_file(file, &len);
    cr_expect(text != NULL && len == 8 && memcmp(text, "keep me\n", 8) == 0, "file changed");
    free(text);
    free(out);
    free(err);
    free(file);
    free(db);
}

Test(host, a_stale_socket_is_replaced)
{
    char *out = path_in("o"), *err = path_in("e"), *sock = path_in("stale.sock"),
         *db = path_in("db");
    const char *argv[] = {
        CHIO_EXAMPLES_DIR "/host-service", "--receipt-db", db, "--socket", sock, NULL};
    struct sockaddr_un a;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0), i;
    pid_t pid;

    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    strcpy(a.sun_path, sock);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    close(fd); /* a socket file nobody listens on */
    pid = spawn(argv, SEED, out, err);
    for (i = 0; i < 100 && !hs_ping_new(sock, 1); i++)
        usleep(50 * 1000);
    cr_expect_lt(i, 100, "the service did not replace a stale socket: %s", slurp(err));
    kill(pid, SIGTERM);
    cr_expect_eq(wait_exit(pid, 30), 0);
    free(out);
    free(err);
    free(sock);
    free(db);
}

Test(host, a_second_instance_on_a_live_socket_exits_2)
{
    char *out = path_in("o2"), *err = path_in("e2"), *db = path_in("db2"), *text;
    hs h;
    const char *argv[] = {
        CHIO_EXAMPLES_DIR "/host-service", "--receipt-db", db, "--socket", NULL, NULL};

    hs_start(&h, NULL);
    argv[4] = h.sock;
    cr_expect_eq(wait_exit(spawn(argv, SEED, out, err), 10), 2);
    text = slurp(err);
    cr_expect_neq(strstr(text, "already in use"), NULL, "%s", text);
    free(text);
    cr_expect(hs_ping_new(h.sock, 5), "the first instance must still serve");
    free(out);
    free(err);
    free(db);
    free(hs_stop(&h));
}

Test(host, a_second_instance_on_the_same_store_fails_fast)
{
    char *out = path_in("o2"), *err = path_in("e2"), *sock = path_in("b.sock"), *text;
    struct timespec t0, t1;
    hs h;
    const char *argv[] = {
        CHIO_EXAMPLES_DIR "/host-service", "--receipt-db", NULL, "--socket", sock, NULL};
    double s;

    hs_start(&h, NULL);
    argv[2] = h.db;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_expect_eq(wait_exit(spawn(argv, SEED, out, err), 10), 2);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_expect_lt(s, 3.0, "took %.2f s", s);
    text = slurp(err);
    cr_expect_neq(strstr(text, "already in use"), NULL, "%s", text);
    cr_expect_neq(strstr(text, h.db), NULL, "the message must name the store: %s", text);
    free(text);
    cr_expect_neq(access(sock, F_OK), 0, "the second instance must not leave a socket");
    cr_expect(hs_ping_new(h.sock, 5), "the first instance must still serve");
    free(out);
    free(err);
    free(sock);
    free(hs_stop(&h));
}

Test(host, every_copy_of_the_seed_in_the_environment_is_wiped)
{
    char *out = path_in("o"), *err = path_in("e"), *sock = path_in("k.sock"), *db = path_in("db");
    char *proc, *envtext;
    const char *argv[] = {
        CHIO_EXAMPLES_DIR "/host-service", "--receipt-db", db, "--socket", sock, NULL};
    char *envp[] = {"CHIO_SIGNING_KEY=" SEED, "OTHER=1", "CHIO_SIGNING_KEY=" SEED, NULL};
    size_t len;
    pid_t pid = fork();

    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        /* A test that fails half-way exits without stopping the service:
         * it goes with the test's process, never outlives the run. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(o, 1);
        dup2(e, 2);
        execve(argv[0], (char *const *)argv, envp);
        _exit(127);
    }
    cr_assert_eq(wait_for_file(sock, 20), 0, "%s", slurp(err));
    cr_assert_geq(asprintf(&proc, "/proc/%d/environ", (int)pid), 0);
    envtext = testutil_read_file(proc, &len);
    cr_assert_not_null(envtext);
    cr_expect_null(memmem(envtext, len, "0707070707", 10), "a copy of the seed is left");
    cr_expect_not_null(memmem(envtext, len, "OTHER=1", 7));
    free(envtext);
    free(proc);
    kill(pid, SIGTERM);
    cr_expect_eq(wait_exit(pid, 30), 0);
    free(out);
    free(err);
    free(sock);
    free(db);
}
