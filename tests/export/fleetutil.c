/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/export/fleetutil.c - see fleetutil.h.
 */
#include <criterion/criterion.h>
#include <nats/nats.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "export/fleetutil.h"

#define SCRIPT CHIO_SCENARIOS_DIR "/../scripts/nats-cluster.sh"

static pid_t children[32];
static size_t nchildren;

char *fu_cluster_start(const char *dir, int nodes)
{
    char cmd[1024], line[4096];
    FILE *p;
    int st;

    snprintf(cmd, sizeof(cmd), "'%s' start '%s' %d --owner %d", SCRIPT, dir, nodes, (int)getpid());
    p = popen(cmd, "r");
    cr_assert_not_null(p);
    line[0] = '\0';
    if (fgets(line, sizeof(line), p) == NULL)
        line[0] = '\0';
    st = pclose(p);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0 && strncmp(line, "nats://", 7) == 0,
              "the cluster did not start (status %d): %s", st, line);
    line[strcspn(line, "\n")] = '\0';
    return strdup(line);
}

static void script(const char *what, const char *dir, int i)
{
    char cmd[1024];
    int st;

    if (i > 0)
        snprintf(cmd, sizeof(cmd), "'%s' %s '%s' %d", SCRIPT, what, dir, i);
    else
        snprintf(cmd, sizeof(cmd), "'%s' %s '%s'", SCRIPT, what, dir);
    st = system(cmd);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "nats-cluster.sh %s %d failed", what, i);
}

void fu_cluster_stop(const char *dir)
{
    char cmd[1024];

    snprintf(cmd, sizeof(cmd), "'%s' stop '%s' >/dev/null 2>&1", SCRIPT, dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fleet: stopping the cluster under %s failed\n", dir);
}

void fu_cluster_kill(const char *dir, int i)
{
    script("kill", dir, i);
}

void fu_cluster_restart(const char *dir, int i)
{
    script("restart", dir, i);
}

static void quiet(void *ctx, chio_log_level level, const char *json, size_t len)
{
    (void)ctx;
    (void)level;
    (void)json;
    (void)len;
}

static void seed_hex(unsigned seed_byte, char hex[65])
{
    int i;

    for (i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", seed_byte & 0xff);
}

void fu_pubkey(unsigned seed_byte, char hex[65])
{
    chio_keypair *kp = NULL;
    char seed[65];

    seed_hex(seed_byte, seed);
    cr_assert_eq(chio_keypair_from_seed_hex(seed, 64, &kp, NULL), 0);
    memcpy(hex, chio_keypair_public_hex(kp), 65);
    chio_keypair_free(kp);
}

chio_kernel *fu_kernel(const char *db, unsigned seed_byte, uint64_t batch)
{
    chio_kernel_config cfg;
    chio_keypair *kp = NULL;
    chio_kernel *k = NULL;
    chio_error err;
    char seed[65];

    seed_hex(seed_byte, seed);
    cr_assert_eq(chio_keypair_from_seed_hex(seed, 64, &kp, NULL), 0);
    chio_kernel_config_init(&cfg);
    cfg.keypair = kp;
    cfg.policy_hash = "policy-fleet-test";
    cfg.receipt_store_path = db;
    cfg.checkpoint_batch_size = batch;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log = quiet;
    cfg.log_level = CHIO_LOG_ERROR;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_new(&cfg, &k, &err), 0, "kernel: %s", err.message);
    cr_assert_eq(chio_kernel_start(k, &err), 0, "kernel start: %s", err.message);
    return k;
}

void fu_sign(chio_kernel *k, uint64_t n, const char *tag)
{
    uint64_t i;

    for (i = 0; i < n; i++) {
        chio_receipt_builder *b = NULL;
        chio_receipt *r = NULL;
        chio_error err;
        char params[160];

        snprintf(params, sizeof(params), "{\"path\":\"/workspace/%s-%llu\"}", tag,
                 (unsigned long long)i);
        cr_assert_eq(chio_receipt_builder_new(&b), 0);
        cr_assert_eq(chio_receipt_builder_set_capability_id(b, "cap-fleet"), 0);
        cr_assert_eq(chio_receipt_builder_set_tool(b, "srv-files", "file_read"), 0);
        cr_assert_eq(chio_receipt_builder_set_parameters(b, params, strlen(params), NULL), 0);
        cr_assert_eq(chio_receipt_builder_set_decision(b, CHIO_VERDICT_ALLOW, NULL, NULL), 0);
        chio_error_init(&err);
        cr_assert_eq(chio_kernel_sign_receipt(k, b, &r, &err), 0, "sign: %s", err.message);
        chio_receipt_free(r);
    }
}

void fu_fill(const char *db, unsigned seed_byte, uint64_t n, uint64_t batch, const char *tag)
{
    chio_kernel *k = fu_kernel(db, seed_byte, batch);

    fu_sign(k, n, tag);
    chio_kernel_free(k);
}

/* fork + exec @exe with stdout to @out_path and stderr to @err_path (the
 * same file when NULL), killed when the test process dies. */
static pid_t spawn_exe(const char *exe, const char *out_path, const char *err_path,
                       const char *const *argv)
{
    const char *args[32];
    size_t i;
    pid_t pid;

    args[0] = exe;
    for (i = 0; argv[i] != NULL && i < 30; i++)
        args[i + 1] = argv[i];
    args[i + 1] = NULL;
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int fo = open(out_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
        int fe = err_path ? open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600) : fo;
        prctl(PR_SET_PDEATHSIG, SIGKILL);     /* never outlive the test */
        int fi = open("/dev/null", O_RDONLY); /* no program here reads the test's input */
        if (fo < 0 || fe < 0 || fi < 0)
            _exit(127);
        dup2(fi, 0);
        dup2(fo, 1);
        dup2(fe, 2);
        execv(exe, (char *const *)args);
        _exit(127);
    }
    if (nchildren < sizeof(children) / sizeof(children[0]))
        children[nchildren++] = pid;
    return pid;
}

static pid_t spawn_cli(const char *out_path, const char *err_path, const char *const *argv)
{
    return spawn_exe(CHIO_TEST_CLI, out_path, err_path, argv);
}

pid_t fu_spawn(const char *out_path, const char *const *argv)
{
    return spawn_cli(out_path, NULL, argv);
}

void fu_forget(pid_t pid)
{
    size_t i;

    for (i = 0; i < nchildren; i++)
        if (children[i] == pid)
            children[i] = 0;
}

int fu_wait(pid_t pid, unsigned timeout_ms)
{
    uint64_t end = testutil_now_ms() + timeout_ms;
    size_t i;
    int st;

    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        if (testutil_now_ms() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            st = -1;
            break;
        }
        testutil_nap_ms(5);
    }
    for (i = 0; i < nchildren; i++)
        if (children[i] == pid)
            children[i] = 0;
    return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void fu_kill_all(void)
{
    size_t i;

    for (i = 0; i < nchildren; i++)
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
        }
    nchildren = 0;
}

fu_run fu_cli(const char *dir, unsigned timeout_ms, const char *const *argv)
{
    return fu_exe(dir, timeout_ms, CHIO_TEST_CLI, argv);
}

fu_run fu_exe(const char *dir, unsigned timeout_ms, const char *exe, const char *const *argv)
{
    static unsigned n;
    char out[1024], err[1100];
    size_t len;
    fu_run r;

    snprintf(out, sizeof(out), "%s/run-%u-%u.out", dir, (unsigned)getpid(), n++);
    snprintf(err, sizeof(err), "%s.err", out);
    unlink(out);
    r.status = fu_wait(spawn_exe(exe, out, err, argv), timeout_ms);
    r.out = testutil_read_file(out, &len);
    r.err = testutil_read_file(err, &len);
    if (r.out == NULL)
        r.out = strdup("");
    if (r.err == NULL)
        r.err = strdup("");
    return r;
}

void fu_run_free(fu_run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

char *fu_stored_receipt(const char *db, uint64_t seq, size_t *len)
{
    chio_store *s = NULL;
    char *json = NULL, *copy;

    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_assert_eq(chio_store_get_receipt(s, seq, &json, len, NULL), 0);
    copy = strndup(json, *len);
    cr_assert_not_null(copy);
    chio_free(json);
    chio_store_close(s);
    return copy;
}

void fu_export_expect(const char *dir, const char *urls, const char *db, long long published,
                      long long last_seq)
{
    fu_run v = fu_cli(dir, 60000,
                      (const char *const[]){"export", "--receipt-db", db, "--nats", urls, NULL});

    cr_expect_eq(v.status, 0, "export: %s%s", v.out, v.err);
    cr_expect_eq(fu_field(v.out, "receipts_published"), published, "%s%s", v.out, v.err);
    cr_expect_eq(fu_field(v.out, "last_seq"), last_seq, "%s%s", v.out, v.err);
    fu_run_free(&v);
}

long long fu_field(const char *json, const char *name)
{
    char key[80];
    const char *p;

    if (json == NULL)
        return -1;
    snprintf(key, sizeof(key), "\"%s\":", name);
    p = strstr(json, key);
    if (p == NULL)
        return -1;
    p += strlen(key);
    if (*p < '0' || *p > '9')
        return -1;
    return strtoll(p, NULL, 10);
}

const char *fu_line(const char *text, const char *prefix)
{
    static char line[8192];
    const char *p = text;
    size_t n = strlen(prefix);

    while (p != NULL && *p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len >= n && strncmp(p, prefix, n) == 0) {
            snprintf(line, sizeof(line), "%.*s", (int)len, p);
            return line;
        }
        p = e ? e + 1 : NULL;
    }
    return NULL;
}

uint64_t fu_position(const char *db, const char *stream, const char *field)
{
    char path[1024];
    size_t len;
    char *text;
    long long v;

    snprintf(path, sizeof(path), "%s/chio-export-%s.json", db, stream);
    text = testutil_read_file(path, &len);
    v = fu_field(text, field ? field : "receipt_seq");
    free(text);
    return v < 0 ? 0 : (uint64_t)v;
}

/* ---- the serving programs (the start-up witness) ---------------------------------------- */

pid_t fu_spawn_exe(const char *exe, const char *out_path, const char *err_path,
                   const char *const *argv)
{
    return spawn_exe(exe, out_path, err_path, argv);
}

void fu_seed_file(unsigned seed_byte, const char *path)
{
    char hex[65];

    seed_hex(seed_byte, hex);
    cr_assert_eq(testutil_write_file(path, hex, 64, 0600), 0, "%s", path);
}

void fu_seed_env(unsigned seed_byte)
{
    char hex[65];

    seed_hex(seed_byte, hex);
    cr_assert_eq(setenv("CHIO_SIGNING_KEY", hex, 1), 0);
}

int fu_http_status(unsigned port, const char *path)
{
    struct sockaddr_in a;
    char req[512], buf[64];
    size_t got = 0;
    ssize_t n;
    int fd, code = -1;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
             path);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        write(fd, req, strlen(req)) == (ssize_t)strlen(req)) {
        while (got < sizeof(buf) - 1 && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
            got += (size_t)n;
        buf[got] = '\0';
        if (strncmp(buf, "HTTP/1.1 ", 9) == 0)
            code = atoi(buf + 9);
    }
    close(fd);
    return code;
}

void fu_suite_up(char **dir, char **nc, char **urls, int nodes)
{
    *dir = testutil_tmpdir();
    cr_assert_geq(asprintf(nc, "%s/nats", *dir), 0);
    *urls = fu_cluster_start(*nc, nodes);
}

void fu_suite_down(char **dir, char **nc, char **urls)
{
    fu_kill_all();
    fu_cluster_stop(*nc);
    testutil_rmrf(*dir);
    free(*urls);
    free(*nc);
    free(*dir);
    *urls = *nc = *dir = NULL;
}

char *fu_path_in(const char *dir, const char *name)
{
    char *p = NULL;

    cr_assert_geq(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

void fu_rogue_pub(const char *urls, const char *subject, const char *body, size_t len, uint64_t seq)
{
    natsConnection *c = NULL;
    jsCtx *js = NULL;
    natsMsg *m = NULL;
    jsPubAck *pa = NULL;
    jsErrCode je = 0;
    char s[24];

    snprintf(s, sizeof(s), "%llu", (unsigned long long)seq);
    cr_assert_eq(natsConnection_ConnectTo(&c, urls), NATS_OK);
    cr_assert_eq(natsConnection_JetStream(&js, c, NULL), NATS_OK);
    cr_assert_eq(natsMsg_Create(&m, subject, NULL, body, (int)len), NATS_OK);
    cr_assert_eq(natsMsgHeader_Set(m, "Chio-Seq", s), NATS_OK);
    cr_assert_eq(natsMsgHeader_Set(m, "Chio-Last-Seq", s), NATS_OK);
    cr_assert_eq(js_PublishMsg(&pa, js, m, NULL, &je), NATS_OK, "publish: %d", (int)je);
    jsPubAck_Destroy(pa);
    natsMsg_Destroy(m);
    jsCtx_Destroy(js);
    natsConnection_Destroy(c);
}
