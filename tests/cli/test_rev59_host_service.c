/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_rev59_host_service.c - review 19 (net), the findings about
 * examples/host-service, run as a process:
 *  - finding 1: a token given as a JSON object in open_session was
 *    re-serialised (canonical JSON) before the kernel read it, so a token
 *    the kernel refuses as written ("issued_at":1.796585726e+09) opened a
 *    session as an object. The object's bytes as written are the token now,
 *    as in the sidecar (review 45).
 *  - finding 1, Low: a client's token that does not parse was answered
 *    "internal_error" (the library's class of CHIO_EFORMAT, CHIO_EHEX,
 *    CHIO_EKEY); it is the client's invalid_capability now.
 *  - finding 2: every closed or refused agent connection wrote a log line,
 *    so a connect/close loop grew stderr by about 2 MB a second; those
 *    lines are at most one a second now, as in the sidecar and the gateway,
 *    with the count of the lines not shown.
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
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chio/chio.h>

#include "common/poll.h"
#include "common/testutil.h"

#ifndef CHIO_EXAMPLES_DIR
#define CHIO_EXAMPLES_DIR "build/examples"
#endif

#define SEED       "5959595959595959595959595959595959595959595959595959595959595959"
#define AGENT_SEED "4141414141414141414141414141414141414141414141414141414141414141"

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

TestSuite(rev59_host_service, .init = setup, .fini = teardown, .timeout = 120);

/* A running host-service with an agent and an admin socket. */
typedef struct hs {
    pid_t pid;
    char *sock, *admin, *db, *err;
} hs;

static char *slurp(const char *p)
{
    size_t len;
    char *s = testutil_read_file(p, &len);
    return s ? s : strdup("");
}

static int exists(void *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void hs_start(hs *h)
{
    pid_t pid;

    h->sock = testutil_join(dir, "a.sock");
    h->admin = testutil_join(dir, "admin.sock");
    h->db = testutil_join(dir, "receipts");
    h->err = testutil_join(dir, "hs.err");
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int e = open(h->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int o = open("/dev/null", O_WRONLY);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(o, 1);
        dup2(e, 2);
        setenv("CHIO_SIGNING_KEY", SEED, 1);
        execl(CHIO_EXAMPLES_DIR "/host-service", "host-service", "--receipt-db", h->db, "--socket",
              h->sock, "--admin-socket", h->admin, (char *)NULL);
        _exit(127);
    }
    h->pid = pid;
    cr_assert(testutil_wait_until(exists, h->sock, 20000), "no agent socket");
    cr_assert(testutil_wait_until(exists, h->admin, 20000), "no admin socket");
}

/* SIGTERM: exit 0 within 30 s. Returns the service's stderr (caller frees). */
static char *hs_stop(hs *h)
{
    int st = 0, i;
    char *log;

    kill(h->pid, SIGTERM);
    for (i = 0; i < 3000 && waitpid(h->pid, &st, WNOHANG) != h->pid; i++)
        testutil_nap_ms(10);
    if (i == 3000) {
        kill(h->pid, SIGKILL);
        waitpid(h->pid, &st, 0);
    }
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "SIGTERM must drain and exit 0");
    log = slurp(h->err);
    free(h->sock);
    free(h->admin);
    free(h->db);
    free(h->err);
    return log;
}

/* Connect, trying again for up to 10 s while the listener is not up yet. */
static int hs_connect(const char *path)
{
    struct sockaddr_un a;
    int tries;

    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    cr_assert_lt(strlen(path), sizeof(a.sun_path));
    strcpy(a.sun_path, path);
    for (tries = 0; tries < 1000; tries++) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        cr_assert_geq(fd, 0);
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
            return fd;
        cr_assert(errno == ECONNREFUSED || errno == ENOENT || errno == EAGAIN, "connect: %s",
                  strerror(errno));
        close(fd);
        testutil_nap_ms(10);
    }
    cr_assert_fail("cannot connect to %s", path);
    return -1;
}

/* One request line, one response line (caller frees; NULL: none in 20 s). */
static char *hs_ask(int fd, const char *req)
{
    size_t n = strlen(req);

    cr_assert_eq(send(fd, req, n, MSG_NOSIGNAL), (ssize_t)n);
    cr_assert_eq(send(fd, "\n", 1, MSG_NOSIGNAL), 1);
    return testutil_recv_until(fd, "\n", 20000);
}

/* Whether the response to @req holds @want; the response is kept short in
 * the message. */
static void hs_expect(int fd, const char *req, const char *want, const char *what)
{
    char *r = hs_ask(fd, req);

    cr_assert_not_null(r, "%s: no response", what);
    cr_expect_neq(strstr(r, want), NULL, "%s: want %s, got %.300s", what, want, r);
    free(r);
}

/* The agent's public key (hex, static). */
static const char *agent_pk(void)
{
    static char pk[65];
    chio_keypair *kp;

    if (pk[0] == '\0') {
        cr_assert_eq(chio_keypair_from_seed_hex(AGENT_SEED, 64, &kp, NULL), 0);
        snprintf(pk, sizeof(pk), "%s", chio_keypair_public_hex(kp));
        chio_keypair_free(kp);
    }
    return pk;
}

/* A token for the agent signed with the service's key: srv-files, any tool. */
static char *token(const char *cap_id)
{
    static const char scope[] = "{\"grants\":[{\"server_id\":\"srv-files\",\"tool_name\":"
                                "\"*\",\"operations\":[\"invoke\"]}]}";
    chio_keypair *kp;
    chio_capability *cap;
    char *text;

    cr_assert_eq(chio_keypair_from_seed_hex(SEED, 64, &kp, NULL), 0);
    cr_assert_eq(chio_capability_issue(kp, cap_id, agent_pk(), scope, sizeof(scope) - 1,
                                       (uint64_t)time(NULL) - 10, 3600, &cap, NULL),
                 0);
    text = strdup(chio_capability_json(cap, NULL));
    chio_capability_free(cap);
    chio_keypair_free(kp);
    return text;
}

/* @tok with its issued_at integer written as 1.234567890e+09: the same
 * number, which the kernel refuses as written (an unsigned integer field). */
static char *with_float_issued_at(const char *tok)
{
    const char *p = strstr(tok, "\"issued_at\":");
    unsigned long long v;
    char *end, *out;

    cr_assert_not_null(p);
    p += strlen("\"issued_at\":");
    v = strtoull(p, &end, 10);
    cr_assert_gt(v, 1000000000ull);
    cr_assert_geq(asprintf(&out, "%.*s%.9e%s", (int)(p - tok), tok, (double)v, end), 0);
    return out;
}

/* The token text as one JSON string literal. */
static char *as_string(const char *tok)
{
    char *q = NULL, *out;
    size_t n = 0;

    cr_assert_eq(chio_json_write_string(tok, strlen(tok), &q, &n), 0);
    out = strndup(q, n);
    chio_free(q);
    return out;
}

static char *open_req(const char *label, const char *member, const char *entries)
{
    char *req;

    cr_assert_geq(asprintf(&req,
                           "{\"op\":\"open_session\",\"session\":\"%s\",\"agent\":\"%s\","
                           "\"%s\":[%s]}",
                           label, agent_pk(), member, entries),
                  0);
    return req;
}

static void expect_open(int fd, const char *label, const char *member, const char *entries,
                        const char *want, const char *what)
{
    char *req = open_req(label, member, entries);

    hs_expect(fd, req, want, what);
    free(req);
}

static void expect_call(int fd, const char *label, const char *cap_id, const char *want,
                        const char *what)
{
    char *req;

    cr_assert_geq(asprintf(&req,
                           "{\"op\":\"call\",\"session\":\"%s\",\"capability_id\":\"%s\","
                           "\"server\":\"srv-files\",\"tool\":\"file_read\","
                           "\"arguments\":{\"path\":\"/workspace/a\"}}",
                           label, cap_id),
                  0);
    hs_expect(fd, req, want, what);
    free(req);
}

#define OPENED     "{\"ok\":true,\"session\":\"sess-"
#define BAD_TOKEN  "\"code\":\"invalid_capability\""
#define ALLOW      "\"verdict\":\"allow\""
#define UNKNOWN    "\"code\":\"unknown_session\""
#define NOT_ISSUED "'issued_at' must be an unsigned 64-bit integer"

Test(rev59_host_service, a_token_object_is_read_as_written_not_re_serialised)
{
    hs h;
    char *good = token("cap-w"), *bad = with_float_issued_at(good);
    char *good_s = as_string(good), *bad_s = as_string(bad), *spaced;
    int fd;

    /* The same token, spaced out inside: whitespace between members is
     * still the token (the kernel parses it; the signature covers the
     * fields, not the bytes). */
    cr_assert_geq(asprintf(&spaced, " %s ", good), 0);
    hs_start(&h);
    fd = hs_connect(h.sock);

    /* Refused as written, as a string and as an object (before review 19
     * the object opened a session: its canonical copy has an integer). */
    expect_open(fd, "bs", "capabilities", bad_s, BAD_TOKEN, "the float issued_at as a string");
    expect_open(fd, "bs", "capabilities", bad_s, NOT_ISSUED, "the float issued_at as a string");
    expect_open(fd, "bo", "capabilities", bad, BAD_TOKEN, "the float issued_at as an object");
    expect_open(fd, "bo", "capabilities", bad, NOT_ISSUED, "the float issued_at as an object");
    /* The member's name spelt with an escape is the same member. */
    expect_open(fd, "be", "capabilit\\u0069es", bad, BAD_TOKEN,
                "the float issued_at under an escaped member name");
    expect_call(fd, "bo", "cap-w", UNKNOWN, "no session was opened for the refused object");
    expect_call(fd, "be", "cap-w", UNKNOWN, "no session was opened for the refused object");

    /* The token as issued opens a session either way, and is allowed. */
    expect_open(fd, "gs", "capabilities", good_s, OPENED, "the token as a string");
    expect_open(fd, "go", "capabilities", good, OPENED, "the token as an object");
    expect_open(fd, "gw", "capabilit\\u0069es", spaced, OPENED,
                "the token as a spaced object under an escaped member name");
    expect_call(fd, "gs", "cap-w", ALLOW, "a call on the string's session");
    expect_call(fd, "go", "cap-w", ALLOW, "a call on the object's session");
    expect_call(fd, "gw", "cap-w", ALLOW, "a call on the spaced object's session");
    close(fd);
    free(hs_stop(&h));
    free(good);
    free(bad);
    free(good_s);
    free(bad_s);
    free(spaced);
}

Test(rev59_host_service, a_token_that_does_not_parse_is_the_clients_error)
{
    hs h;
    char *good = token("cap-m"), *badkey, *p, *good_s, *both;
    int fd;

    /* The subject key with a character that is not hex. */
    badkey = strdup(good);
    p = strstr(badkey, "\"subject\":\"");
    cr_assert_not_null(p);
    p[strlen("\"subject\":\"") + 3] = 'z';
    good_s = as_string(good);
    hs_start(&h);
    fd = hs_connect(h.sock);
    expect_open(fd, "m1", "capabilities", "\"not a token\"", BAD_TOKEN, "a string not JSON");
    expect_open(fd, "m2", "capabilities", "{\"id\":\"x\"}", BAD_TOKEN, "an object not a token");
    expect_open(fd, "m3", "capabilities", badkey, BAD_TOKEN, "a subject key that is not hex");
    expect_open(fd, "m4", "capabilities", "\"{\\\"id\\\":1}\"", BAD_TOKEN,
                "a string holding a non-token");
    /* The error names the token's index. */
    cr_assert_geq(asprintf(&both, "%s,%s", good_s, badkey), 0);
    expect_open(fd, "m5", "capabilities", both, "\"error\":\"capability 1: ", "the second token");
    /* An entry that is no token at all is a malformed request. */
    expect_open(fd, "m6", "capabilities", "5", "\"code\":\"invalid_request\"", "a number");
    expect_open(fd, "m7", "capabilities", "[]", "\"code\":\"invalid_request\"", "an array");
    /* None of these is the service's fault, and it still serves. */
    expect_open(fd, "ok", "capabilities", good, OPENED, "the token as issued");
    expect_call(fd, "ok", "cap-m", ALLOW, "a call after the refusals");
    expect_call(fd, "m3", "cap-m", UNKNOWN, "no session for a refused token");
    close(fd);
    p = hs_stop(&h);
    cr_expect_null(strstr(p, "internal_error"), "the log names internal_error");
    free(p);
    free(good);
    free(badkey);
    free(good_s);
    free(both);
}

/* ---- the log under a connect/close flood ------------------------------------------------- */

/* The "connections": count in an admin status answer; -1 when none came
 * (admin connections are capped at 4: a refused one is tried again). */
static int hs_agent_connections(const char *admin)
{
    int fd = hs_connect(admin), n = -1;
    char *r = hs_ask(fd, "{\"op\":\"status\"}"), *p;

    close(fd);
    p = r ? strstr(r, "\"connections\":") : NULL;
    if (p != NULL)
        n = atoi(p + strlen("\"connections\":"));
    free(r);
    return n;
}

typedef struct count_arg {
    const char *admin;
    int want;
} count_arg;

static int connections_are(void *arg)
{
    const count_arg *a = arg;
    return hs_agent_connections(a->admin) == a->want;
}

/* The number after @key in @line (0 when absent). */
static unsigned long long number_before(const char *line, const char *key)
{
    const char *p = strstr(line, key);

    while (p != NULL && p > line && p[-1] == ' ')
        p--;
    while (p != NULL && p > line && p[-1] >= '0' && p[-1] <= '9')
        p--;
    return p != NULL ? strtoull(p, NULL, 10) : 0;
}

Test(rev59_host_service, a_connect_close_flood_writes_a_line_a_second)
{
    enum { FLOOD = 3000, FLOOD_MS = 1500 };
    hs h;
    int i, fd, with_count = 0;
    uint64_t t0, t1;
    unsigned long long lines = 0, accounted = 0;
    char *log, *save = NULL, *line;
    count_arg none;

    hs_start(&h);
    /* The service answers first (its listener is up). */
    fd = hs_connect(h.sock);
    hs_expect(fd, "{\"op\":\"ping\"}", "\"ok\":true", "ping");
    close(fd);
    /* At least FLOOD connections, for at least FLOOD_MS: a second starts
     * during the flood, so a line says how many were not shown. */
    t0 = testutil_now_ms();
    for (i = 0; i < FLOOD || testutil_now_ms() - t0 < FLOOD_MS; i++)
        close(hs_connect(h.sock));
    /* The listener's queue is first in, first out, and accepted in order:
     * once this connection is answered, every one before it was taken. */
    fd = hs_connect(h.sock);
    hs_expect(fd, "{\"op\":\"ping\"}", "\"ok\":true", "ping after the flood");
    close(fd);
    /* Every connection has ended (each logs, or counts, before it is
     * counted out). */
    none.admin = h.admin;
    none.want = 0;
    cr_assert(testutil_wait_until(connections_are, &none, 60000),
              "agent connections still open a minute after the flood");
    t1 = testutil_now_ms();
    log = hs_stop(&h);

    /* Each agent connection is one line written or one counted as not
     * shown (in the next line, or in the count written at exit). */
    for (line = strtok_r(log, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        int agent_line = strstr(line, "\"event\":\"connection_closed\"") != NULL &&
                         strstr(line, "\"detail\":\"agent connection") != NULL;
        agent_line |= strstr(line, "\"event\":\"connection_refused\"") != NULL &&
                      strstr(line, "agent connections are open") != NULL;
        if (agent_line) {
            lines++;
            with_count += strstr(line, "lines not shown since the last one") != NULL;
            accounted += 1 + number_before(line, "lines not shown since the last one");
        } else if (strstr(line, "\"event\":\"lines_not_shown\"") != NULL &&
                   strstr(line, "lines about agent connections") != NULL) {
            accounted += number_before(line, "lines about agent connections");
        }
    }
    /* One line a second at most: before review 19, one a connection. */
    cr_expect_leq(lines, (t1 - t0) / 1000 + 2,
                  "%llu agent connection lines in %llu ms for %d connections", lines,
                  (unsigned long long)(t1 - t0), i + 2);
    cr_expect_geq(with_count, 1, "no line says how many were not shown");
    cr_expect_eq(accounted, (unsigned long long)i + 2,
                 "lines written and counted: %llu, connections: %d", accounted, i + 2);
    free(log);
}
