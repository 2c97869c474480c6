/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/kernelutil.c - see kernelutil.h.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/poll.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

void kt_config(chio_kernel_config *cfg, const char *path)
{
    cr_assert_eq(sc_config(cfg, path), 0);
}

chio_kernel *kt_kernel(const chio_kernel_config *cfg)
{
    chio_kernel *k = NULL;
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_new(cfg, &k, &err), 0, "kernel: %s", err.message);
    return k;
}

int kt_try_start(const char *db, uint32_t batch, char *msg, size_t cap)
{
    chio_kernel_config cfg;
    chio_kernel *k = NULL;
    chio_error err;
    int rc;

    kt_config(&cfg, db);
    cfg.checkpoint_batch_size = batch;
    cfg.log_level = CHIO_LOG_ERROR;
    chio_error_init(&err);
    rc = chio_kernel_new(&cfg, &k, &err);
    if (rc == 0)
        rc = chio_kernel_start(k, &err);
    snprintf(msg, cap, "%s", err.message);
    chio_kernel_free(k);
    return rc;
}

int kt_echo_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                 chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    return chio_output_set_json(out, args, len);
}

void kt_serve_echo(chio_kernel *k, const char *server, const char *const *tools, size_t ntools)
{
    chio_tool_server ts;
    chio_error err;

    memset(&ts, 0, sizeof(ts));
    ts.server_id = server;
    ts.tool_names = tools;
    ts.ntools = ntools;
    ts.invoke = kt_echo_tool;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0, "%s", err.message);
}

void kt_serve_t(chio_kernel *k, const char *server, int streaming, kt_tool_fn fn)
{
    static const char *const tools[] = {"t"};
    chio_tool_server ts;
    chio_error err;

    memset(&ts, 0, sizeof(ts));
    ts.server_id = server;
    ts.tool_names = tools;
    ts.ntools = 1;
    if (streaming)
        ts.invoke_stream = fn;
    else
        ts.invoke = fn;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0, "%s", err.message);
}

/* An echo kernel on @cfg's store, without WAL syncs, logging errors only,
 * serving @tools on @server. */
static chio_kernel *echo_kernel_from(chio_kernel_config *cfg, const char *server,
                                     const char *const *tools, size_t ntools)
{
    chio_kernel *k;

    cfg->durability = CHIO_DURABILITY_NOSYNC;
    cfg->log_level = CHIO_LOG_ERROR;
    k = kt_kernel(cfg);
    kt_serve_echo(k, server, tools, ntools);
    return k;
}

chio_kernel *kt_echo_kernel(const char *path, chio_clock_fn clock, const char *server,
                            const char *const *tools, size_t ntools)
{
    chio_kernel_config cfg;

    kt_config(&cfg, path);
    cfg.clock = clock;
    return echo_kernel_from(&cfg, server, tools, ntools);
}

chio_kernel *kt_read_kernel(const char *db, uint64_t *now, uint32_t max_depth)
{
    static const char *const tools[] = {"read"};
    chio_kernel_config cfg;

    kt_config(&cfg, db);
    cfg.clock = kt_clock_at;
    cfg.clock_ctx = now;
    cfg.max_delegation_depth = max_depth;
    return echo_kernel_from(&cfg, "srv", tools, 1);
}

void kt_grant_session(chio_kernel *k, uint64_t now, const char *id, const char *constraints,
                      char sid[CHIO_SESSION_ID_LEN + 1])
{
    char scope[1024], *tok;
    const char *caps[1];
    chio_error err;

    cr_assert_lt((size_t)snprintf(scope, sizeof(scope),
                                  "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
                                  "\"operations\":[\"invoke\"],\"constraints\":[%s]}]}",
                                  constraints),
                 sizeof(scope), "constraints too long: %s", constraints);
    tok = tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB, scope, now - 10, 100, NULL, 0);
    cr_assert_not_null(tok, "token for %s", constraints);
    caps[0] = tok;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0, "%s: %s",
                 constraints, err.message);
    free(tok);
}

uint64_t kt_clock_at(void *ctx)
{
    return __atomic_load_n((const uint64_t *)ctx, __ATOMIC_RELAXED);
}

void kt_open1(chio_kernel *k, const char *tok, char sid[CHIO_SESSION_ID_LEN + 1])
{
    const char *caps[1] = {tok};
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0, "%s",
                 err.message);
}

chio_code kt_call_read(chio_kernel *k, const char *sid, const char *cap)
{
    chio_call c;
    chio_response r;
    chio_error err;
    const chio_json *d;
    chio_code code;

    kt_call_init(&c, sid, cap, "read", "{}");
    chio_error_init(&err);
    chio_response_init(&r);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    cr_assert_not_null(r.receipt, "a decision without a receipt");
    d = chio_json_get(chio_receipt_root(r.receipt), "decision");
    code = r.code;
    if (code == CHIO_CODE_NONE) {
        cr_assert_eq(r.verdict, CHIO_VERDICT_ALLOW);
        cr_expect_str_eq(chio_json_string(chio_json_get(d, "verdict"), NULL), "allow");
    } else {
        cr_expect_str_eq(chio_json_string(chio_json_get(d, "verdict"), NULL), "deny");
        cr_expect_str_eq(chio_json_string(chio_json_get(d, "guard"), NULL), chio_code_name(code));
        cr_expect_str_eq(
            chio_json_string(chio_json_get(chio_receipt_root(r.receipt), "capability_id"), NULL),
            cap);
    }
    chio_response_destroy(&r);
    return code;
}

void kt_run_rows(chio_clock_fn clock, uint64_t now, const kt_row *rows, size_t n)
{
    static const char *const tools[] = {"t"};
    chio_kernel *k = kt_echo_kernel(NULL, clock, "srv", tools, 1);
    size_t i;

    for (i = 0; i < n; i++) {
        char id[32], sid[CHIO_SESSION_ID_LEN + 1];
        chio_response r;
        chio_error err;
        chio_call c;
        chio_code want = rows[i].allow == KT_UNUSABLE ? CHIO_CODE_UNSUPPORTED_GRANT
                                                      : CHIO_CODE_CONSTRAINT_VIOLATED;

        snprintf(id, sizeof(id), "cap-row-%zu", i);
        kt_grant_session(k, now, id, rows[i].constraint, sid);
        kt_grant_call(&c, sid, id, rows[i].args, strlen(rows[i].args));
        chio_error_init(&err);
        cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "row %zu: %s", i, err.message);
        if (rows[i].allow == 1)
            cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "row %zu (%s on %.200s): denied: %s", i,
                         rows[i].constraint, rows[i].args, r.reason);
        else
            cr_expect(r.verdict == CHIO_VERDICT_DENY && r.code == want,
                      "row %zu (%s on %.200s): verdict %d code %s", i, rows[i].constraint,
                      rows[i].args, r.verdict, chio_code_name(r.code));
        cr_expect_not_null(r.receipt, "row %zu: no receipt", i);
        chio_response_destroy(&r);
    }
    chio_kernel_free(k);
}

static uint64_t rows_now;

static uint64_t rows_clock(void *ctx)
{
    (void)ctx;
    return rows_now;
}

void kt_run_rows_at(uint64_t now, const kt_row *rows, size_t n)
{
    rows_now = now;
    kt_run_rows(rows_clock, now, rows, n);
}

void kt_run_guard_rows_at(uint64_t now, const char *const *args, const int *denied, size_t n)
{
    static const char *const prefixes[] = {"/etc/", "/root/"};

    kt_run_guard_rows_with(now, prefixes, 2, args, denied, n);
}

void kt_run_guard_rows_with(uint64_t now, const char *const *prefixes, size_t nprefixes,
                            const char *const *args, const int *denied, size_t n)
{
    static const char *const tools[] = {"t"};
    static unsigned seq;
    chio_kernel *k;
    char id[32], sid[CHIO_SESSION_ID_LEN + 1];
    chio_response r;
    chio_error err;
    chio_call c;
    size_t i;

    rows_now = now;
    k = kt_echo_kernel(NULL, rows_clock, "srv", tools, 1);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_add_forbidden_path_guard(k, "Paths", prefixes, nprefixes, &err), 0,
                 "%s", err.message);
    for (i = 0; i < n; i++) {
        snprintf(id, sizeof(id), "cap-guard-%u", __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
        kt_grant_session(k, now, id, "", sid);
        kt_grant_call(&c, sid, id, args[i], strlen(args[i]));
        chio_response_init(&r);
        cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s: %s", args[i], err.message);
        cr_assert_not_null(r.receipt, "%s: no receipt", args[i]);
        if (denied[i])
            cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED, "row %zu (%s): %s", i, args[i],
                         chio_code_name(r.code));
        else
            cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "row %zu (%s): %s", i, args[i], r.reason);
        chio_response_destroy(&r);
    }
    chio_kernel_free(k);
}

void kt_regex_call(chio_kernel *k, uint64_t now, const char *pattern, const char *args,
                   chio_response *r)
{
    static int n;
    char *scope, id[32], sid[CHIO_SESSION_ID_LEN + 1], *tok;
    const char *caps[1];
    chio_error err;
    chio_call c;

    snprintf(id, sizeof(id), "cap-regex-%d", __atomic_fetch_add(&n, 1, __ATOMIC_RELAXED));
    cr_assert(asprintf(&scope,
                       "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
                       "\"operations\":[\"invoke\"],\"constraints\":[{\"type\":"
                       "\"regex_match\",\"value\":\"%s\"}]}]}",
                       pattern) > 0);
    tok = tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB, scope, now - 10, 100, NULL, 0);
    cr_assert_not_null(tok, "token for %s", pattern);
    caps[0] = tok;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    kt_grant_call(&c, sid, id, args, strlen(args));
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_evaluate(k, &c, r, &err), 0, "%s", err.message);
    cr_assert_not_null(r->receipt, "%s: no receipt", pattern);
    free(tok);
    free(scope);
}

static void call_fill(chio_call *c, const char *sid, const char *cap, const char *tool,
                      const char *args, size_t len)
{
    memset(c, 0, sizeof(*c));
    c->session_id = sid;
    c->capability_id = cap;
    c->server_id = "srv";
    c->tool_name = tool;
    c->arguments_json = args;
    c->arguments_len = len;
}

void kt_call_init(chio_call *c, const char *sid, const char *cap, const char *tool,
                  const char *args)
{
    call_fill(c, sid, cap, tool, args, strlen(args));
}

void kt_grant_call(chio_call *c, const char *sid, const char *id, const char *args, size_t len)
{
    call_fill(c, sid, id, "t", args, len);
}

chio_receipt_builder *kt_builder(uint64_t n)
{
    chio_receipt_builder *b = sc_builder(n);
    cr_assert_not_null(b);
    return b;
}

void kt_sign_range(chio_kernel *k, uint64_t from, uint64_t n)
{
    uint64_t i;

    for (i = from; i < from + n; i++) {
        chio_receipt_builder *b = kt_builder(i);
        chio_receipt *r = NULL;
        chio_receipt_builder_set_timestamp(b, 1000 + i);
        cr_assert_eq(chio_kernel_sign_receipt(k, b, &r, NULL), 0);
        chio_receipt_free(r);
    }
}

long kt_status_kib(const char *field)
{
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    FILE *f = fopen("/proc/self/status", "r");

    cr_assert_not_null(f);
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

int kt_reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    int ok;

    if (f == NULL)
        return 0;
    ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

int kt_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;

    cr_assert_not_null(d);
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

typedef struct cp_wait {
    chio_kernel *k;
    uint64_t seq;
} cp_wait;

/* For testutil_wait_until: checkpoint w->seq is written. */
static int checkpoint_written(void *arg)
{
    cp_wait *w = arg;
    chio_kernel_metrics m;

    return chio_kernel_metrics_get(w->k, &m) == 0 && m.last_checkpoint_seq >= w->seq;
}

void kt_wait_checkpoint(chio_kernel *k, uint64_t seq)
{
    cp_wait w = {k, seq};
    chio_kernel_metrics m;

    if (testutil_wait_until(checkpoint_written, &w, 30000))
        return;
    chio_kernel_metrics_get(k, &m);
    cr_assert_fail("checkpoint %llu not written after 30 s (newest: %llu)", (unsigned long long)seq,
                   (unsigned long long)m.last_checkpoint_seq);
}

kt_log_report kt_check_log_owed(const char *path, uint64_t batch_size, uint64_t max_owed)
{
    kt_log_report rep;
    char msg[SC_MSG];

    cr_assert_eq(sc_check_log_owed(path, batch_size, max_owed, &rep, msg), 0, "%s", msg);
    return rep;
}

kt_log_report kt_check_log(const char *path, uint64_t batch_size)
{
    kt_log_report rep;
    char msg[SC_MSG];

    cr_assert_eq(sc_check_log(path, batch_size, &rep, msg), 0, "%s", msg);
    return rep;
}

int kt_bash_compare(const char *const *alpha, size_t nalpha, unsigned seed, int tries,
                    int max_parts, const char *head, const char *tail, const char *setup,
                    const kt_reading *reads, size_t nreads)
{
    char w[200], cmd[512], a[512], b[512];
    size_t alen, blen, r;
    int i, k, compared = 0;

    if (access("/bin/bash", X_OK) != 0)
        cr_skip_test("no /bin/bash");
    for (i = 0; i < tries; i++) {
        int parts = 1 + (int)(rand_r(&seed) % (unsigned)max_parts);
        cr_assert_lt(strlen(head) + strlen(tail) + 16 * (size_t)max_parts, sizeof(w));
        strcpy(w, head);
        for (k = 0; k < parts; k++) {
            const char *piece = alpha[rand_r(&seed) % nalpha];
            cr_assert_lt(strlen(piece), 16, "a piece of at most 15 bytes");
            strcat(w, piece);
        }
        strcat(w, tail);
        snprintf(cmd, sizeof(cmd), "%sprintf '%%s' %s", setup, w);
        if (!kt_bash_output(cmd, a, sizeof(a), &alen))
            continue;
        for (r = 0; r < nreads; r++) {
            blen = reads[r].read(w, strlen(w), b);
            cr_expect(alen == blen && memcmp(a, b, alen) == 0,
                      "%s: bash wrote \"%.*s\" (%zu bytes), %s \"%.*s\" (%zu)", w, (int)alen, a,
                      alen, reads[r].name, (int)blen, b, blen);
        }
        compared++;
    }
    return compared;
}

int kt_bash_output(const char *cmd, char *out, size_t cap, size_t *len)
{
    int fd[2], st;
    ssize_t got;
    pid_t pid;

    cr_assert_eq(pipe(fd), 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(fd[1], 1);
        if (null >= 0)
            dup2(null, 2);
        close(fd[0]);
        execl("/usr/bin/env", "env", "LC_ALL=C.UTF-8", "/bin/bash", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    *len = 0;
    while (*len < cap && (got = read(fd[0], out + *len, cap - *len)) > 0)
        *len += (size_t)got;
    close(fd[0]);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

void kt_make_log(const char *db, uint64_t n, uint32_t batch)
{
    chio_kernel_config cfg;
    chio_kernel *k;

    kt_config(&cfg, db);
    cfg.checkpoint_batch_size = batch;
    cfg.durability = CHIO_DURABILITY_SYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    kt_sign_range(k, 1, n);
    chio_kernel_free(k);
}
