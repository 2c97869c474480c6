/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_serve.c - `chio serve` over real HTTP on loopback: the real
 * build/chio process on a port it picks itself (--listen 127.0.0.1:0, read
 * back from its first stdout line), spoken to by the small HTTP/1.1 client
 * below over plain sockets. Every route, the bearer token on and off, the
 * body, connection and idle limits, the 400 matrix, health while draining,
 * SIGTERM exiting 0, a second sidecar on the same port or store failing at
 * once, and the receipt log passing `chio receipt verify --receipt-db`.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chio/chio.h"
#include "common/poll.h"
#include "common/testutil.h"

#define TOKEN "sidecar-test-token-0123456789"

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

TestSuite(serve, .init = setup, .fini = teardown, .timeout = 60);

static char *path_in(const char *name)
{
    char *p;
    cr_assert_geq(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

/* ---- the sidecar process ------------------------------------------------------------------ */

typedef struct sidecar {
    pid_t pid;
    unsigned port;
    char *out, *err;
} sidecar;

/* Start `chio serve` with @extra (NULL-terminated) on a new port, with
 * `--tool srv:echo --tool srv:read` when @tools; returns its exit status
 * when it exits before serving (else 0, serving). */
static int start_tools(sidecar *sc, const char *db, const char *const *extra, int tools)
{
    const char *argv[40] = {CHIO_TEST_CLI, "serve",  "--receipt-db", NULL,     "--seed-file",
                            NULL,          "--tool", "srv:echo",     "--tool", "srv:read"};
    char *seed = path_in("kernel.seed"), *text;
    size_t n = tools ? 10 : 6, i;
    static int runs;
    uint64_t end;
    int st;

    argv[3] = db;
    argv[5] = seed;
    for (i = 0; extra && extra[i]; i++)
        argv[n++] = extra[i];
    for (i = 0; extra && extra[i] && strcmp(extra[i], "--listen") != 0; i++)
        ;
    if (extra == NULL || extra[i] == NULL) {
        argv[n++] = "--listen";
        argv[n++] = "127.0.0.1:0";
    }
    argv[n] = NULL;
    runs++;
    cr_assert_geq(asprintf(&sc->out, "%s/serve%d.out", dir, runs), 0);
    cr_assert_geq(asprintf(&sc->err, "%s/serve%d.err", dir, runs), 0);
    sc->port = 0;
    sc->pid = fork();
    cr_assert_geq(sc->pid, 0);
    if (sc->pid == 0) {
        int o = open(sc->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(sc->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives a failed test */
        dup2(o, 1);
        dup2(e, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    free(seed);
    end = testutil_now_ms() + 15000;
    while (testutil_now_ms() < end) {
        const char *p;
        text = testutil_read_file(sc->out, NULL);
        p = text ? strstr(text, "\"listening\":\"127.0.0.1:") : NULL;
        if (p != NULL && strchr(p, '}') != NULL) {
            sc->port = (unsigned)atoi(p + strlen("\"listening\":\"127.0.0.1:"));
            free(text);
            return 0;
        }
        free(text);
        if (waitpid(sc->pid, &st, WNOHANG) == sc->pid) {
            sc->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        testutil_nap_ms(5);
    }
    cr_assert_fail("chio serve did not start serving within 15 s");
    return -1;
}

static int start(sidecar *sc, const char *db, const char *const *extra)
{
    return start_tools(sc, db, extra, 1);
}

static int wait_exit(sidecar *sc, unsigned timeout_ms)
{
    uint64_t end = testutil_now_ms() + timeout_ms;
    int st;

    while (testutil_now_ms() < end) {
        if (waitpid(sc->pid, &st, WNOHANG) == sc->pid) {
            sc->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        testutil_nap_ms(5);
    }
    kill(sc->pid, SIGKILL);
    waitpid(sc->pid, &st, 0);
    sc->pid = 0;
    return -1;
}

static void stop(sidecar *sc)
{
    if (sc->pid > 0) {
        kill(sc->pid, SIGTERM);
        cr_assert_eq(wait_exit(sc, 15000), 0, "SIGTERM: chio serve exits 0");
    }
    free(sc->out);
    free(sc->err);
}

/* ---- a small HTTP/1.1 client ---------------------------------------------------------------- */

typedef struct reply {
    int status; /* -1: no answer (connection closed or refused) */
    char *body;
} reply;

/* One request on a new connection (Connection: close); @headers are whole
 * "Name: value\r\n" lines or NULL. */
static reply http(unsigned port, const char *method, const char *path, const char *headers,
                  const char *body)
{
    reply r = {-1, NULL};
    char *req, *all, *sep;
    size_t blen = body ? strlen(body) : 0, off = 0;
    ssize_t n;
    int fd = testutil_dial(port), reqlen;

    if (fd < 0)
        return r;
    reqlen = asprintf(&req,
                      "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s"
                      "Content-Length: %zu\r\nContent-Type: application/json\r\n\r\n",
                      method, path, headers ? headers : "", blen);
    cr_assert_geq(reqlen, 0);
    while (off < (size_t)reqlen &&
           (n = send(fd, req + off, (size_t)reqlen - off, MSG_NOSIGNAL)) > 0)
        off += (size_t)n;
    for (off = 0; off < blen && (n = send(fd, body + off, blen - off, MSG_NOSIGNAL)) > 0;)
        off += (size_t)n;
    free(req);
    all = testutil_recv_until(fd, NULL, 30000);
    close(fd);
    if (sscanf(all, "HTTP/1.%*d %d", &r.status) != 1) {
        free(all);
        r.status = -1;
        return r;
    }
    sep = strstr(all, "\r\n\r\n");
    r.body = strdup(sep ? sep + 4 : "");
    free(all);
    return r;
}

static reply post(unsigned port, const char *path, const char *headers, const char *body)
{
    return http(port, "POST", path, headers, body);
}

/* The string member @key of the JSON object @body (malloc'd), or NULL. */
static char *field(const char *body, const char *key)
{
    chio_json_doc *doc = NULL;
    const chio_json *v;
    char *out = NULL;
    size_t len;

    if (body == NULL || chio_json_parse(body, strlen(body), &doc, NULL) != 0)
        return NULL;
    v = chio_json_get(chio_json_root(doc), key);
    if (v != NULL && chio_json_typeof(v) == CHIO_JSON_STRING)
        out = strdup(chio_json_string(v, &len));
    else if (v != NULL && chio_json_write_canonical(v, &out, &len) == 0) {
        char *copy = strdup(out);
        chio_free(out);
        out = copy;
    }
    chio_json_doc_free(doc);
    return out;
}

static void expect_field(const reply *r, const char *key, const char *want)
{
    char *got = field(r->body, key);

    cr_assert_not_null(got, "no %s in %s", key, r->body ? r->body : "(no body)");
    cr_assert_str_eq(got, want, "%s: %s", key, r->body);
    free(got);
}

static void reply_free(reply *r)
{
    free(r->body);
    r->body = NULL;
}

/* ---- keys and tokens ------------------------------------------------------------------------ */

static char *run_out(const char *const *argv)
{
    cli_result r = testutil_run_cli(argv, NULL, 0);
    char *s;

    cr_assert_eq(r.status, 0, "%s: %s", argv[0], r.err);
    s = strdup(r.out);
    s[strcspn(s, "\n")] = '\0';
    testutil_cli_free(&r);
    return s;
}

/* Keys for the kernel and an agent; a token from the kernel's key for the
 * agent, granting srv's tools; returns the token and sets *agent. */
static char *make_token_scope(char **agent, const char *scope)
{
    char *kseed = path_in("kernel.seed"), *aseed = path_in("agent.seed"), *tok;
    const char *kg1[] = {"keygen", "--out", kseed, NULL};
    const char *kg2[] = {"keygen", "--out", aseed, NULL};
    const char *pk[] = {"pubkey", "--seed-file", aseed, NULL};
    char *o1 = run_out(kg1), *o2 = run_out(kg2);

    *agent = run_out(pk);
    {
        const char *iss[] = {"capability", "issue",    "--seed-file", kseed,   "--subject",
                             *agent,       "--scope",  scope,         "--ttl", "3600",
                             "--id",       "cap-test", NULL};
        tok = run_out(iss);
    }
    free(o1);
    free(o2);
    free(kseed);
    free(aseed);
    return tok;
}

static char *make_token(char **agent)
{
    return make_token_scope(agent, "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"echo\","
                                   "\"operations\":[\"invoke\"]}]}");
}

static char *eval_body(const char *tok, const char *tool, const char *extra)
{
    char *b;
    cr_assert_geq(asprintf(&b,
                           "{\"capability\":%s,\"tool_server\":\"srv\",\"tool_name\":\"%s\","
                           "\"parameters\":{\"text\":\"hi\"}%s}",
                           tok, tool, extra ? extra : ""),
                  0);
    return b;
}

static char *b64url(const char *s)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = strlen(s), i, o = 0;
    char *out = malloc(n * 4 / 3 + 4);
    uint32_t acc = 0;
    int bits = 0;

    for (i = 0; i < n; i++) {
        acc = (acc << 8) | (uint8_t)s[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = al[(acc >> bits) & 63];
        }
    }
    if (bits > 0)
        out[o++] = al[(acc << (6 - bits)) & 63];
    out[o] = '\0';
    return out;
}

static int audit_ok(const char *db, const char *want_receipts)
{
    const char *argv[] = {"receipt", "verify", "--receipt-db", db, NULL};
    cli_result r = testutil_run_cli(argv, NULL, 0);
    int ok = r.status == 0 && strstr(r.out, want_receipts) != NULL;

    cr_expect(ok, "audit: status %d out %s err %s", r.status, r.out, r.err);
    testutil_cli_free(&r);
    return ok;
}

/* ---- the tests ------------------------------------------------------------------------------ */

Test(serve, every_route_without_a_token_and_the_log_audits)
{
    char *agent, *tok = make_token(&agent), *db = path_in("db"), *b, *hdr, *enc, *receipt;
    char phash[65], *canon = NULL;
    size_t clen;
    sidecar sc;
    reply r;

    cr_assert_eq(start(&sc, db, NULL), 0);

    r = http(sc.port, "GET", "/chio/live", NULL, NULL);
    cr_assert_eq(r.status, 200);
    expect_field(&r, "status", "live");
    reply_free(&r);
    r = http(sc.port, "GET", "/chio/health", NULL, NULL);
    cr_assert_eq(r.status, 200);
    expect_field(&r, "status", "ok");
    reply_free(&r);

    /* An allow, with the token in the body. */
    b = eval_body(tok, "echo", NULL);
    r = post(sc.port, "/v1/evaluate", NULL, b);
    cr_assert_eq(r.status, 200, "%s", r.body);
    expect_field(&r, "verdict", "allow");
    expect_field(&r, "code", "none");
    receipt = field(r.body, "receipt");
    cr_assert_not_null(receipt);
    reply_free(&r);
    free(b);

    /* The receipt verifies against the sidecar's key; a changed one does not. */
    r = post(sc.port, "/v1/receipts/verify", NULL, receipt);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_not_null(strstr(r.body, "\"ok\":true"), "%s", r.body);
    cr_assert_not_null(strstr(r.body, "\"signer_trusted\":true"), "%s", r.body);
    reply_free(&r);
    {
        char *bad = strdup(receipt), *p = strstr(bad, "\"text\":\"hi\"");
        cr_assert_not_null(p);
        p[9] = 'o'; /* "hi" -> "ho": the parameter hash no longer matches */
        r = post(sc.port, "/v1/receipts/verify", NULL, bad);
        cr_assert_eq(r.status, 200, "%s", r.body);
        cr_assert_not_null(strstr(r.body, "\"ok\":false"), "%s", r.body);
        reply_free(&r);
        free(bad);
    }
    free(receipt);

    /* chio's form: capability_id in the body, the token in X-Chio-Capability. */
    enc = b64url(tok);
    cr_assert_geq(asprintf(&hdr, "X-Chio-Capability: %s\r\n", enc), 0);
    r = post(sc.port, "/v1/evaluate", hdr,
             "{\"capability_id\":\"cap-test\",\"tool_server\":\"srv\",\"tool_name\":\"echo\"}");
    cr_assert_eq(r.status, 200, "%s", r.body);
    expect_field(&r, "verdict", "allow");
    reply_free(&r);
    free(hdr);
    free(enc);

    /* parameter_hash: the right one allows, a wrong one is a deny with a receipt. */
    cr_assert_eq(chio_json_canonicalize("{\"text\":\"hi\"}", 13, &canon, &clen, NULL), 0);
    cr_assert_eq(chio_sha256_hex(canon, clen, phash), 0);
    chio_free(canon);
    cr_assert_geq(asprintf(&hdr, ",\"parameter_hash\":\"%s\"", phash), 0);
    b = eval_body(tok, "echo", hdr);
    r = post(sc.port, "/v1/evaluate", NULL, b);
    cr_assert_eq(r.status, 200, "%s", r.body);
    expect_field(&r, "verdict", "allow");
    reply_free(&r);
    free(b);
    free(hdr);
    b = eval_body(tok, "echo", ",\"parameter_hash\":\"00\"");
    r = post(sc.port, "/v1/evaluate", NULL, b);
    cr_assert_eq(r.status, 200, "%s", r.body);
    expect_field(&r, "verdict", "deny");
    expect_field(&r, "code", "guard_denied");
    cr_assert_not_null(strstr(r.body, "\"receipt\":{"), "%s", r.body);
    reply_free(&r);
    free(b);

    /* Denies: a tool outside the grants, an id the sidecar does not know. */
    b = eval_body(tok, "read", NULL);
    r = post(sc.port, "/v1/evaluate", NULL, b);
    cr_assert_eq(r.status, 200, "%s", r.body);
    expect_field(&r, "verdict", "deny");
    expect_field(&r, "code", "out_of_scope");
    reply_free(&r);
    free(b);
    r = post(sc.port, "/v1/evaluate", NULL,
             "{\"capability_id\":\"nobody\",\"tool_server\":\"srv\",\"tool_name\":\"echo\"}");
    cr_assert_eq(r.status, 200, "%s", r.body);
    expect_field(&r, "code", "unknown_capability");
    reply_free(&r);

    /* A changed token under the same id is not the cached one: denied
     * invalid_signature (with a receipt), and the real one still allows. */
    {
        char *forged = strdup(tok), *p = strstr(forged, "\"echo\"");
        cr_assert_not_null(p);
        memcpy(p, "\"read\"", 6);
        b = eval_body(forged, "read", NULL);
        r = post(sc.port, "/v1/evaluate", NULL, b);
        cr_assert_eq(r.status, 200, "%s", r.body);
        expect_field(&r, "code", "invalid_signature");
        reply_free(&r);
        free(b);
        free(forged);
    }

    /* Control routes are off without a token; unknown paths and methods. */
    r = post(sc.port, "/v1/capabilities/mint", NULL, "{}");
    cr_assert_eq(r.status, 403, "%s", r.body);
    reply_free(&r);
    r = http(sc.port, "GET", "/v1/nothing", NULL, NULL);
    cr_assert_eq(r.status, 404);
    reply_free(&r);
    r = http(sc.port, "GET", "/v1/evaluate", NULL, NULL);
    cr_assert_eq(r.status, 405);
    reply_free(&r);

    /* Metrics count the seven receipts committed above. */
    r = http(sc.port, "GET", "/metrics", NULL, NULL);
    cr_assert_eq(r.status, 200);
    cr_assert_not_null(strstr(r.body, "chio_receipts_signed_total 7"), "%s", r.body);
    reply_free(&r);

    stop(&sc);
    audit_ok(db, "\"receipts\":7,");
    free(tok);
    free(agent);
    free(db);
}

Test(serve, bearer_token_guards_evaluate_and_the_control_routes)
{
    char *agent, *tok = make_token(&agent), *db = path_in("db"), *tf = path_in("token");
    const char *extra[] = {"--token-file", tf, NULL};
    const char *auth = "Authorization: Bearer " TOKEN "\r\n";
    char *b, *id;
    sidecar sc;
    reply r;

    cr_assert_eq(testutil_write_file(tf, TOKEN "\n", strlen(TOKEN) + 1, 0600), 0);
    cr_assert_eq(start(&sc, db, extra), 0);

    b = eval_body(tok, "echo", NULL);
    r = post(sc.port, "/v1/evaluate", NULL, b);
    cr_assert_eq(r.status, 401, "no token: %s", r.body);
    reply_free(&r);
    r = post(sc.port, "/v1/evaluate", "Authorization: Bearer wrong-token-0123456789xx\r\n", b);
    cr_assert_eq(r.status, 401, "wrong token: %s", r.body);
    reply_free(&r);
    r = post(sc.port, "/v1/evaluate", auth, b);
    cr_assert_eq(r.status, 200, "%s", r.body);
    expect_field(&r, "verdict", "allow");
    reply_free(&r);
    free(b);

    /* Mint a token for the agent, evaluate it by id, revoke it. */
    cr_assert_geq(asprintf(&b,
                           "{\"subject\":\"%s\",\"ttl_secs\":600,\"scope\":{\"grants\":[{"
                           "\"server_id\":\"srv\",\"tool_name\":\"*\",\"operations\":["
                           "\"invoke\"]}]}}",
                           agent),
                  0);
    r = post(sc.port, "/v1/capabilities/mint", NULL, b);
    cr_assert_eq(r.status, 401, "mint without the token: %s", r.body);
    reply_free(&r);
    r = post(sc.port, "/v1/capabilities/mint", auth, b);
    cr_assert_eq(r.status, 200, "%s", r.body);
    id = field(r.body, "capability_id");
    cr_assert_not_null(id);
    reply_free(&r);
    free(b);
    cr_assert_geq(asprintf(&b,
                           "{\"capability_id\":\"%s\",\"tool_server\":\"srv\",\"tool_name\":"
                           "\"read\"}",
                           id),
                  0);
    r = post(sc.port, "/v1/evaluate", auth, b);
    cr_assert_eq(r.status, 200, "%s", r.body);
    expect_field(&r, "verdict", "allow");
    reply_free(&r);
    {
        char *rv;
        cr_assert_geq(asprintf(&rv, "{\"capability_id\":\"%s\"}", id), 0);
        r = post(sc.port, "/v1/capabilities/revoke", NULL, rv);
        cr_assert_eq(r.status, 401, "%s", r.body);
        reply_free(&r);
        r = post(sc.port, "/v1/capabilities/revoke", auth, rv);
        cr_assert_eq(r.status, 200, "%s", r.body);
        reply_free(&r);
        free(rv);
    }
    r = post(sc.port, "/v1/evaluate", auth, b);
    cr_assert_eq(r.status, 200, "%s", r.body);
    expect_field(&r, "verdict", "deny");
    expect_field(&r, "code", "capability_revoked");
    reply_free(&r);
    free(b);
    free(id);

    stop(&sc);
    audit_ok(db, "\"receipts\":3,");
    free(tok);
    free(agent);
    free(db);
    free(tf);
}

Test(serve, malformed_requests_are_400_with_code_and_message)
{
    char *agent, *tok = make_token(&agent), *db = path_in("db");
    static const struct {
        const char *header, *body, *code;
    } bad[] = {
        {NULL, "", "invalid_request"},
        {NULL, "{bad", "invalid_json"},
        {NULL, "[1,2]", "invalid_request"},
        {NULL, "{}", "invalid_request"},
        {NULL, "{\"tool_server\":\"srv\",\"tool_name\":7,\"capability_id\":\"x\"}",
         "invalid_request"},
        {NULL, "{\"tool_server\":\"srv\",\"tool_name\":\"echo\",\"capability\":\"str\"}",
         "invalid_request"},
        {NULL, "{\"tool_server\":\"srv\",\"tool_name\":\"echo\",\"capability\":{\"id\":1}}",
         "invalid_capability"},
        {"X-Chio-Capability: !!!\r\n",
         "{\"capability_id\":\"x\",\"tool_server\":\"srv\",\"tool_name\":\"echo\"}",
         "invalid_request"},
        {NULL, "{\"tool_server\":\"srv\",\"tool_name\":\"echo\",\"a\":1,\"a\":2}", "invalid_json"},
    };
    sidecar sc;
    size_t i;
    reply r;

    cr_assert_eq(start(&sc, db, NULL), 0);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *msg;
        r = post(sc.port, "/v1/evaluate", bad[i].header, bad[i].body);
        cr_assert_eq(r.status, 400, "case %zu: %d %s", i, r.status, r.body);
        expect_field(&r, "code", bad[i].code);
        msg = field(r.body, "message");
        cr_assert(msg != NULL && msg[0] != '\0', "case %zu: no message: %s", i, r.body);
        free(msg);
        reply_free(&r);
    }
    r = post(sc.port, "/v1/receipts/verify", NULL, "{\"not\":\"a receipt\"}");
    cr_assert_eq(r.status, 400, "%s", r.body);
    reply_free(&r);
    /* The sidecar still serves, and no receipt was written for any of them. */
    r = http(sc.port, "GET", "/metrics", NULL, NULL);
    cr_assert_not_null(strstr(r.body, "chio_receipts_signed_total 0"), "%s", r.body);
    reply_free(&r);
    stop(&sc);
    free(tok);
    free(agent);
    free(db);
}

Test(serve, body_connection_and_idle_limits)
{
    char *db = path_in("db"), *big, *agent, *tok = make_token(&agent);
    const char *extra[] = {"--max-body", "2048", "--max-connections", "1", "--timeout", "1", NULL};
    sidecar sc;
    reply r;
    int idle, closed = 0;
    uint64_t end;

    cr_assert_eq(start(&sc, db, extra), 0);
    big = malloc(8192);
    memset(big, ' ', 8191);
    big[0] = '{';
    big[8190] = '}';
    big[8191] = '\0';
    r = post(sc.port, "/v1/evaluate", NULL, big);
    cr_assert_eq(r.status, 413, "%d %s", r.status, r.body);
    expect_field(&r, "code", "body_too_large");
    reply_free(&r);
    free(big);

    /* The same without a Content-Length: a chunked body is cut off as it
     * passes the limit. */
    {
        char chunk[4224], buf[512];
        ssize_t n;
        int fd = testutil_dial(sc.port), len;

        cr_assert_geq(fd, 0);
        len = snprintf(
            chunk, sizeof(chunk),
            "POST /v1/evaluate HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
            "Connection: close\r\n\r\n1000\r\n");
        memset(chunk + len, ' ', 4096);
        memcpy(chunk + len + 4096, "\r\n0\r\n\r\n", 7);
        cr_assert_eq(send(fd, chunk, (size_t)len + 4096 + 7, MSG_NOSIGNAL), len + 4096 + 7);
        n = recv(fd, buf, sizeof(buf) - 1, MSG_WAITALL);
        cr_assert_gt(n, 12);
        buf[n] = '\0';
        cr_assert_eq(strncmp(buf, "HTTP/1.1 413", 12), 0, "%s", buf);
        close(fd);
    }

    /* One connection kept: a second one past --max-connections 1 evicts
     * the first while it waits, kept alive, for its next request (slow
     * clients waiting never lock others out), and is served. */
    {
        static const char req[] = "GET /chio/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        struct pollfd pf;
        char buf[512];
        ssize_t n;
        int second;

        idle = testutil_dial(sc.port);
        cr_assert_geq(idle, 0);
        cr_assert_eq(send(idle, req, sizeof(req) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(req) - 1);
        n = recv(idle, buf, sizeof(buf) - 1, 0);
        cr_assert_gt(n, 12);
        cr_assert_eq(strncmp(buf, "HTTP/1.1 200", 12), 0, "the first connection is served");
        second = testutil_dial(sc.port);
        cr_assert_geq(second, 0);
        cr_assert_eq(send(second, req, sizeof(req) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(req) - 1);
        pf.fd = second;
        pf.events = POLLIN;
        cr_assert_eq(poll(&pf, 1, 5000), 1, "the second connection is served");
        n = recv(second, buf, sizeof(buf) - 1, 0);
        cr_assert_gt(n, 12);
        cr_assert_eq(strncmp(buf, "HTTP/1.1 200", 12), 0);
        pf.fd = idle;
        cr_assert_eq(poll(&pf, 1, 5000), 1, "the idle first connection was evicted");
        cr_assert_leq(recv(idle, buf, sizeof(buf), MSG_DONTWAIT), 0, "and closed");
        close(idle);
        close(second);
    }

    /* An idle connection is closed by the server after --timeout 1. */
    idle = testutil_dial(sc.port);
    cr_assert_geq(idle, 0);
    end = testutil_now_ms() + 5000;
    while (testutil_now_ms() < end && !closed) {
        struct pollfd pf = {idle, POLLIN, 0};
        char c;
        if (poll(&pf, 1, 100) == 1)
            closed = recv(idle, &c, 1, 0) == 0;
    }
    close(idle);
    cr_assert(closed, "the idle connection was not closed within 5 s (--timeout 1)");
    stop(&sc);
    free(tok);
    free(agent);
    free(db);
}

Test(serve, health_is_503_while_draining_and_sigterm_exits_0)
{
    char *agent, *tok = make_token(&agent), *db = path_in("db"), *b;
    const char *extra[] = {"--drain-grace-ms", "3000", NULL};
    sidecar sc;
    reply r;
    uint64_t end;
    int seen = 0;

    cr_assert_eq(start(&sc, db, extra), 0);
    b = eval_body(tok, "echo", NULL);
    r = post(sc.port, "/v1/evaluate", NULL, b);
    cr_assert_eq(r.status, 200, "%s", r.body);
    reply_free(&r);
    cr_assert_eq(kill(sc.pid, SIGTERM), 0);
    end = testutil_now_ms() + 2500;
    while (!seen && testutil_now_ms() < end) {
        r = http(sc.port, "GET", "/chio/health", NULL, NULL);
        if (r.status == 503) {
            expect_field(&r, "status", "draining");
            seen = 1;
        }
        reply_free(&r);
    }
    cr_assert(seen, "health never answered 503 during the drain");
    r = post(sc.port, "/v1/evaluate", NULL, b);
    cr_assert_eq(r.status, 503, "evaluate while draining: %d %s", r.status, r.body);
    reply_free(&r);
    r = http(sc.port, "GET", "/chio/live", NULL, NULL);
    cr_assert_eq(r.status, 200, "live while draining");
    reply_free(&r);
    cr_assert_eq(wait_exit(&sc, 15000), 0, "chio serve exits 0 after SIGTERM");
    stop(&sc);
    audit_ok(db, "\"receipts\":1,");
    free(b);
    free(tok);
    free(agent);
    free(db);
}

Test(serve, a_second_sidecar_on_the_port_or_the_store_fails_fast)
{
    char *agent, *tok = make_token(&agent), *db = path_in("db"), *db2 = path_in("db2"), *lst, *err;
    sidecar a, b, c;
    const char *on_port[3] = {"--listen", NULL, NULL};
    uint64_t t0;

    cr_assert_eq(start(&a, db, NULL), 0);
    cr_assert_geq(asprintf(&lst, "127.0.0.1:%u", a.port), 0);
    on_port[1] = lst;
    t0 = testutil_now_ms();
    cr_assert_eq(start(&b, db2, on_port), 2, "same port: exit 2");
    err = testutil_read_file(b.err, NULL);
    cr_assert_not_null(strstr(err, "already in use"), "%s", err);
    free(err);
    cr_assert_neq(start(&c, db, NULL), 0, "same store: refused");
    err = testutil_read_file(c.err, NULL);
    cr_assert_not_null(strstr(err, "in use by another process"), "%s", err);
    free(err);
    cr_assert_lt(testutil_now_ms() - t0, 10000, "both failed at once");
    stop(&b);
    stop(&c);
    stop(&a);
    free(lst);
    free(tok);
    free(agent);
    free(db);
    free(db2);
}

Test(serve, a_non_loopback_address_needs_a_token)
{
    char *agent, *tok = make_token(&agent), *db = path_in("db"), *err;
    const char *extra[] = {"--listen", "0.0.0.0:0", NULL};
    sidecar sc;

    cr_assert_eq(start(&sc, db, extra), 2);
    err = testutil_read_file(sc.err, NULL);
    cr_assert_not_null(strstr(err, "refusing to listen on 0.0.0.0 without --token-file"), "%s",
                       err);
    free(err);
    stop(&sc);
    free(tok);
    free(agent);
    free(db);
}

/* A functional run of `chio bench --compare-sidecar` (20 calls: not a
 * measurement): both sides serve every call, the JSON has the four figures,
 * and a second run reuses the same directory. */
Test(serve, bench_compare_sidecar_runs_both_sides)
{
    char *db = path_in("cmp");
    const char *argv[] = {
        "bench",  "--receipt-db", db,  "--compare-sidecar", "--calls", "20", "--durability",
        "nosync", "--json",       NULL};
    static const char *const keys[] = {"inproc_p50_us", "sidecar_p50_us", "inproc_calls_per_sec",
                                       "sidecar_calls_per_sec"};
    int run;
    size_t i;

    for (run = 0; run < 2; run++) {
        cli_result r = testutil_run_cli(argv, NULL, 0);
        cr_assert_eq(r.status, 0, "run %d: %s %s", run, r.out, r.err);
        for (i = 0; i < 4; i++) {
            char *v = field(r.out, keys[i]);
            cr_assert_not_null(v, "no %s in %s", keys[i], r.out);
            cr_assert_gt(atof(v), 0, "%s: %s", keys[i], r.out);
            free(v);
        }
        {
            char *e = field(r.out, "errors");
            cr_assert_not_null(e);
            cr_assert_str_eq(e, "0", "%s", r.out);
            free(e);
        }
        testutil_cli_free(&r);
    }
    {
        char *side = path_in("cmp/sidecar");
        cr_assert(audit_ok(side, "\"receipts\":80,"), "the sidecar's log audits");
        free(side);
    }
    free(db);
}

/* --ca-key trusts another issuer (without it that token is untrusted),
 * --policy-hash lands in every receipt, --checkpoint-batch N signs a
 * checkpoint every N receipts. */
Test(serve, ca_key_policy_hash_and_checkpoint_batch)
{
    char *agent, *tok = make_token(&agent), *db = path_in("db"), *db2 = path_in("db2");
    char *aseed = path_in("agent.seed"), *other, *b;
    const char *extra[] = {"--ca-key", agent, "--policy-hash", "policy-v7", "--checkpoint-batch",
                           "2",        NULL};
    const char *iss[] = {"capability",
                         "issue",
                         "--seed-file",
                         aseed,
                         "--subject",
                         agent,
                         "--scope",
                         "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"echo\","
                         "\"operations\":[\"invoke\"]}]}",
                         "--ttl",
                         "3600",
                         "--id",
                         "cap-other",
                         NULL};
    sidecar sc;
    reply r;

    other = run_out(iss); /* issued by the agent's own key, not the sidecar's */
    b = eval_body(other, "echo", NULL);
    cr_assert_eq(start(&sc, db2, NULL), 0);
    r = post(sc.port, "/v1/evaluate", NULL, b);
    cr_assert_eq(r.status, 200, "%s", r.body);
    expect_field(&r, "code", "untrusted_issuer");
    reply_free(&r);
    stop(&sc);

    cr_assert_eq(start(&sc, db, extra), 0);
    r = post(sc.port, "/v1/evaluate", NULL, b);
    cr_assert_eq(r.status, 200, "%s", r.body);
    expect_field(&r, "verdict", "allow");
    cr_assert_not_null(strstr(r.body, "\"policy_hash\":\"policy-v7\""), "%s", r.body);
    reply_free(&r);
    r = post(sc.port, "/v1/evaluate", NULL, b);
    cr_assert_eq(r.status, 200, "%s", r.body);
    reply_free(&r);
    stop(&sc);
    {
        const char *argv[] = {"checkpoint", "list", "--receipt-db", db, NULL};
        cli_result cl = testutil_run_cli(argv, NULL, 0);
        cr_assert_eq(cl.status, 0, "%s", cl.err);
        cr_assert_not_null(strstr(cl.out, "\"checkpoint_seq\":1"), "%s", cl.out);
        testutil_cli_free(&cl);
    }
    audit_ok(db, "\"checkpoints\":1,");
    free(b);
    free(other);
    free(aseed);
    free(tok);
    free(agent);
    free(db);
    free(db2);
}

/* Without --tool the sidecar decides for any tool a token's scope names
 * (CHIO_CALL_DECIDE_ONLY): nothing is registered, yet srv/anything is
 * allowed, out-of-scope calls are still denied; with --tool, an in-scope
 * tool that was not named is denied tool_not_registered. */
Test(serve, without_tool_any_tool_in_scope_is_decided_with_tool_only_those)
{
    char *agent, *db = path_in("db"), *db2 = path_in("db2"), *b, *tok;
    const char *want[] = {"anything", "allow", "none", "echo", "allow", "none"};
    sidecar sc;
    reply r;
    size_t i;

    tok = make_token_scope(&agent, "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"*\","
                                   "\"operations\":[\"invoke\"]}]}");
    cr_assert_eq(start_tools(&sc, db, NULL, 0), 0);
    for (i = 0; i < 6; i += 3) {
        b = eval_body(tok, want[i], NULL);
        r = post(sc.port, "/v1/evaluate", NULL, b);
        cr_assert_eq(r.status, 200, "%s", r.body);
        expect_field(&r, "verdict", want[i + 1]);
        expect_field(&r, "code", want[i + 2]);
        /* The receipt binds no output: content_hash = sha256("null"). */
        cr_expect_not_null(
            strstr(r.body, "74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b"),
            "%s", r.body);
        reply_free(&r);
        free(b);
    }
    /* Another server is outside the scope: still a deny with a receipt. */
    cr_assert_geq(asprintf(&b,
                           "{\"capability\":%s,\"tool_server\":\"other\",\"tool_name\":\"x\","
                           "\"parameters\":{}}",
                           tok),
                  0);
    r = post(sc.port, "/v1/evaluate", NULL, b);
    cr_assert_eq(r.status, 200, "%s", r.body);
    expect_field(&r, "verdict", "deny");
    expect_field(&r, "code", "out_of_scope");
    cr_expect_not_null(strstr(r.body, "\"receipt\":{"), "%s", r.body);
    reply_free(&r);
    free(b);
    stop(&sc);
    audit_ok(db, "\"receipts\":3");

    cr_assert_eq(start(&sc, db2, NULL), 0);
    b = eval_body(tok, "anything", NULL);
    r = post(sc.port, "/v1/evaluate", NULL, b);
    cr_assert_eq(r.status, 200, "%s", r.body);
    expect_field(&r, "verdict", "deny");
    expect_field(&r, "code", "tool_not_registered");
    reply_free(&r);
    free(b);
    b = eval_body(tok, "read", NULL);
    r = post(sc.port, "/v1/evaluate", NULL, b);
    expect_field(&r, "verdict", "allow");
    reply_free(&r);
    free(b);
    stop(&sc);
    free(tok);
    free(agent);
    free(db);
    free(db2);
}
