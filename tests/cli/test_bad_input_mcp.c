/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_bad_input_mcp.c - groups C and D of the services' bad
 * input matrix (suite bad_input_svc; the matrix and its rules are
 * described in test_bad_input_svc.c): `chio mcp serve`'s command line and
 * policy files, and the JSON-RPC lines of its client, against the real
 * build/chio wrapping tests/cli/bad_input_mcp_server.mjs under node.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chio/chio.h"
#include "cli/svc_testutil.h"
#include "common/poll.h"
#include "common/testutil.h"

#define SEEDK       SVCTEST_SEEDK
#define DEADLINE_MS SVCTEST_DEADLINE_MS

/* ---- C: chio mcp serve's command line and policy files ------------------------------------ */

#define POLICY_HEAD "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"fake\""
#define GRANT                                                                     \
    "{\"server_id\":\"fake\",\"tool_name\":\"echo\",\"operations\":[\"invoke\"]," \
    "\"constraints\":[{\"type\":\"max_length\",\"value\":64}]}"
#define GOOD_POLICY     POLICY_HEAD ",\"grants\":[" GRANT "]}"
#define POLICY(rest)    POLICY_HEAD ",\"grants\":[" GRANT "]" rest "}"
#define POLICY_GRANT(g) POLICY_HEAD ",\"grants\":[" g "]}"
#define TOOL_GRANT(rest) \
    "{\"server_id\":\"fake\",\"tool_name\":\"echo\",\"operations\":[\"invoke\"]" rest "}"
#define CONSTRAINT(c) POLICY_GRANT(TOOL_GRANT(",\"constraints\":[" c "]"))

typedef struct mcp_row {
    const char *name;
    const char *policy;  /* the policy file's text; NULL: GOOD_POLICY */
    const char *args[8]; /* replace the options when args[0] is set ("@pol", "@db", ...) */
    int status;
    const char *needle;
    const char *bug; /* a known bug elsewhere (see the header) */
} mcp_row;

static const mcp_row mcp_rows[] = {
    /* The control row: the wrapped server starts (and exits with its input). */
    {"a good policy", NULL, {NULL}, 0, "", 0},
    {"no --policy",
     NULL,
     {"--receipt-db", "@db", "--seed-file", "@seed"},
     2,
     "--policy is required",
     0},
    {"no --receipt-db",
     NULL,
     {"--policy", "@pol", "--seed-file", "@seed"},
     2,
     "--receipt-db is required",
     0},
    {"no --seed-file",
     NULL,
     {"--policy", "@pol", "--receipt-db", "@db"},
     2,
     "--seed-file is required",
     0},
    {"an unknown option",
     NULL,
     {"--policy", "@pol", "--receipt-db", "@db", "--seed-file", "@seed", "--verbose"},
     2,
     "unknown option '--verbose'",
     0},
    {"policy file missing",
     NULL,
     {"--policy", "@missing", "--receipt-db", "@db", "--seed-file", "@seed"},
     2,
     "cannot open",
     0},
    {"policy file a directory",
     NULL,
     {"--policy", "@dir", "--receipt-db", "@db", "--seed-file", "@seed"},
     2,
     "not a regular file",
     0},
    {"policy file a FIFO",
     NULL,
     {"--policy", "@fifo", "--receipt-db", "@db", "--seed-file", "@seed"},
     2,
     "--policy",
     0},
    {"seed file world-readable",
     NULL,
     {"--policy", "@pol", "--receipt-db", "@db", "--seed-file", "@wseed"},
     2,
     "refusing seed file",
     0},
    {"--receipt-db holds user files",
     NULL,
     {"--policy", "@pol", "--receipt-db", "@userdir", "--seed-file", "@seed"},
     2,
     "refusing --receipt-db",
     0},
    {"policy empty", "", {NULL}, 2, "CHIO_EJSON_TRUNCATED", 0},
    {"policy not JSON", "policy: strict", {NULL}, 2, "CHIO_EJSON_SYNTAX", 0},
    {"policy truncated", POLICY_HEAD, {NULL}, 2, "CHIO_EJSON_TRUNCATED", 0},
    {"policy 10,000 levels",
     POLICY_HEAD
     ",\"grants\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
     "[[[[[[[[[]]]}",
     {NULL},
     2,
     "CHIO_EJSON_DEPTH",
     0},
    {"policy a duplicate key", POLICY(",\"server_id\":\"x\""), {NULL}, 2, "CHIO_EJSON_DUPKEY", 0},
    {"policy an array", "[" GOOD_POLICY "]", {NULL}, 2, "JSON object", 0},
    {"schema missing", "{\"server_id\":\"fake\",\"grants\":[]}", {NULL}, 2, "schema", 0},
    {"schema wrong",
     "{\"schema\":\"chio.mcp-policy.v2\",\"server_id\":\"fake\",\"grants\":[]}",
     {NULL},
     2,
     "schema",
     0},
    {"schema a number",
     "{\"schema\":1,\"server_id\":\"fake\",\"grants\":[]}",
     {NULL},
     2,
     "schema",
     0},
    {"server_id missing",
     "{\"schema\":\"chio.mcp-policy.v1\",\"grants\":[]}",
     {NULL},
     2,
     "server_id",
     0},
    {"server_id *",
     "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"*\",\"grants\":[]}",
     {NULL},
     2,
     "server_id",
     0},
    {"server_id a number",
     "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":7,\"grants\":[]}",
     {NULL},
     2,
     "server_id",
     0},
    {"grants missing", POLICY_HEAD "}", {NULL}, 2, "grants", 0},
    {"grants an object", POLICY_HEAD ",\"grants\":{}}", {NULL}, 2, "grants", 0},
    {"an unknown member",
     POLICY(",\"allow_everything\":true"),
     {NULL},
     2,
     "unknown member \"allow_everything\"",
     0},
    {"an unknown member in kernel",
     POLICY(",\"kernel\":{\"fast\":1}"),
     {NULL},
     2,
     "unknown member \"fast\" in kernel",
     0},
    {"an unknown member in a guard",
     POLICY(",\"guards\":[{\"name\":\"forbidden_path\",\"prefixes\":[\"/etc\"],\"mode\":1}]"),
     {NULL},
     2,
     "unknown member \"mode\"",
     0},
    {"an unknown member in a grant",
     POLICY_GRANT(TOOL_GRANT(",\"priority\":1")),
     {NULL},
     2,
     "'priority'",
     0},
    {"an unknown member in a constraint",
     CONSTRAINT("{\"type\":\"max_length\",\"value\":5,\"mode\":\"strict\"}"),
     {NULL},
     2,
     "'mode'",
     0},
    {"a grant a string", POLICY_GRANT("\"echo\""), {NULL}, 2, "grant", 0},
    {"a grant without tool_name",
     POLICY_GRANT("{\"server_id\":\"fake\",\"operations\":[\"invoke\"]}"),
     {NULL},
     2,
     "tool_name",
     0},
    {"an unknown operation",
     POLICY_GRANT("{\"server_id\":\"fake\",\"tool_name\":\"echo\",\"operations\":[\"fly\"]}"),
     {NULL},
     2,
     "unknown operation \"fly\"",
     0},
    {"operations a string",
     POLICY_GRANT("{\"server_id\":\"fake\",\"tool_name\":\"echo\",\"operations\":\"invoke\"}"),
     {NULL},
     2,
     "operations",
     0},
    {"max_invocations negative",
     POLICY_GRANT(TOOL_GRANT(",\"max_invocations\":-1")),
     {NULL},
     2,
     "max_invocations",
     0},
    {"an unknown constraint type",
     CONSTRAINT("{\"type\":\"teleport\",\"value\":1}"),
     {NULL},
     2,
     "grants[0].constraints[0].type: unknown constraint type \"teleport\"",
     0},
    {"a constraint without a type", CONSTRAINT("{\"value\":1}"), {NULL}, 2, "type", 0},
    {"max_length a string",
     CONSTRAINT("{\"type\":\"max_length\",\"value\":\"64\"}"),
     {NULL},
     2,
     "grants[0].constraints[0].value",
     0},
    {"max_length negative",
     CONSTRAINT("{\"type\":\"max_length\",\"value\":-1}"),
     {NULL},
     2,
     "grants[0].constraints[0].value",
     0},
    {"path_prefix a number",
     CONSTRAINT("{\"type\":\"path_prefix\",\"value\":1}"),
     {NULL},
     2,
     "grants[0].constraints[0].value",
     0},
    {"custom not a pair",
     CONSTRAINT("{\"type\":\"custom\",\"value\":[\"k\"]}"),
     {NULL},
     2,
     "grants[0].constraints[0].value",
     0},
    {"regex_match invalid",
     CONSTRAINT("{\"type\":\"regex_match\",\"value\":\"(\"}"),
     {NULL},
     2,
     "grants[0].constraints[0].value: the pattern is not one the kernel enforces",
     0},
    /* Checked as the kernel reads it (chio_regex_constraint_check), not
     * as glibc's regcomp does: \d is chio's Unicode digit, which the
     * kernel cannot enforce exactly (every call would be denied), and
     * regcomp took 22 s and 8 GB for a repetition this large. */
    {"regex_match with \\d",
     CONSTRAINT("{\"type\":\"regex_match\",\"value\":\"^\\\\d+$\"}"),
     {NULL},
     2,
     "grants[0].constraints[0].value: the pattern is not one the kernel enforces",
     0},
    {"regex_match too large",
     CONSTRAINT("{\"type\":\"regex_match\",\"value\":\"x{1,32767}\"}"),
     {NULL},
     2,
     "grants[0].constraints[0].value: the pattern is not one the kernel enforces: invalid, too "
     "large",
     0},
    /* chio's non-capturing group: the kernel reads it, regcomp did not. */
    {"regex_match with a non-capturing group",
     CONSTRAINT("{\"type\":\"regex_match\",\"value\":\"^(?:ab)+$\"}"),
     {NULL},
     0,
     "",
     0},
    {"dpop_required",
     POLICY_GRANT(TOOL_GRANT(",\"dpop_required\":true")),
     {NULL},
     2,
     "grants[0].dpop_required",
     0},
    {"a cost cap",
     POLICY_GRANT(TOOL_GRANT(",\"max_total_cost\":{\"units\":5,\"currency\":\"USD\"}")),
     {NULL},
     2,
     "grants[0]: the kernel does no cost accounting",
     0},
    {"resource_grants an object",
     POLICY(",\"resource_grants\":{}"),
     {NULL},
     2,
     "resource_grants",
     0},
    {"a resource grant with an unknown operation",
     POLICY(",\"resource_grants\":[{\"uri_pattern\":\"x\",\"operations\":[\"write\"]}]"),
     {NULL},
     2,
     "unknown operation \"write\"",
     0},
    {"an unknown member in a resource grant",
     POLICY(",\"resource_grants\":[{\"uri_pattern\":\"x\",\"operations\":[\"read\"],\"w\":1}]"),
     {NULL},
     2,
     "'w'",
     0},
    {"a prompt grant with a number",
     POLICY(",\"prompt_grants\":[{\"prompt_name\":5}]"),
     {NULL},
     2,
     "prompt_name",
     0},
    {"guards an object", POLICY(",\"guards\":{}"), {NULL}, 2, "guards", 0},
    {"a guard a string", POLICY(",\"guards\":[\"secret_leak\"]"), {NULL}, 2, "guards", 0},
    {"an unknown guard",
     POLICY(",\"guards\":[{\"name\":\"rate_limit\"}]"),
     {NULL},
     2,
     "unknown guard \"rate_limit\"",
     0},
    {"a guard twice",
     POLICY(",\"guards\":[{\"name\":\"secret_leak\"},{\"name\":\"secret_leak\"}]"),
     {NULL},
     2,
     "twice",
     0},
    {"forbidden_path without prefixes",
     POLICY(",\"guards\":[{\"name\":\"forbidden_path\"}]"),
     {NULL},
     2,
     "forbidden_path.prefixes",
     0},
    {"forbidden_path an empty prefix",
     POLICY(",\"guards\":[{\"name\":\"forbidden_path\",\"prefixes\":[\"\"]}]"),
     {NULL},
     2,
     "forbidden_path.prefixes",
     0},
    {"forbidden_path a number prefix",
     POLICY(",\"guards\":[{\"name\":\"forbidden_path\",\"prefixes\":[5]}]"),
     {NULL},
     2,
     "forbidden_path.prefixes",
     0},
    {"secret_leak an invalid pattern",
     POLICY(",\"guards\":[{\"name\":\"secret_leak\",\"patterns\":[\"ok\",\"[a-\"]}]"),
     {NULL},
     2,
     "secret_leak.patterns[1]: the pattern is not a valid POSIX extended regular expression",
     0},
    {"secret_leak no patterns",
     POLICY(",\"guards\":[{\"name\":\"secret_leak\",\"patterns\":[]}]"),
     {NULL},
     2,
     "secret_leak.patterns",
     0},
    {"kernel an array", POLICY(",\"kernel\":[]"), {NULL}, 2, "kernel must be an object", 0},
    {"kernel.policy_hash empty",
     POLICY(",\"kernel\":{\"policy_hash\":\"\"}"),
     {NULL},
     2,
     "kernel.policy_hash",
     0},
    {"kernel.policy_hash a number",
     POLICY(",\"kernel\":{\"policy_hash\":5}"),
     {NULL},
     2,
     "kernel.policy_hash",
     0},
    {"kernel.allow_sampling a string",
     POLICY(",\"kernel\":{\"allow_sampling\":\"no\"}"),
     {NULL},
     2,
     "kernel.allow_sampling",
     0},
    {"kernel.allow_elicitation 0",
     POLICY(",\"kernel\":{\"allow_elicitation\":0}"),
     {NULL},
     2,
     "kernel.allow_elicitation",
     0},
    {"kernel.checkpoint_batch_size negative",
     POLICY(",\"kernel\":{\"checkpoint_batch_size\":-1}"),
     {NULL},
     2,
     "kernel.checkpoint_batch_size",
     0},
    {"kernel.checkpoint_batch_size overflows",
     POLICY(",\"kernel\":{\"checkpoint_batch_size\":99999999999999999999}"),
     {NULL},
     2,
     "kernel.checkpoint_batch_size",
     0},
    {"kernel.checkpoint_batch_size 1.5",
     POLICY(",\"kernel\":{\"checkpoint_batch_size\":1.5}"),
     {NULL},
     2,
     "kernel.checkpoint_batch_size",
     0},
    {"kernel.max_stream_total_bytes a string",
     POLICY(",\"kernel\":{\"max_stream_total_bytes\":\"1\"}"),
     {NULL},
     2,
     "kernel.max_stream_total_bytes",
     0},
    {"kernel.max_stream_duration_secs 2^64-1",
     POLICY(",\"kernel\":{\"max_stream_duration_secs\":18446744073709551615}"),
     {NULL},
     2,
     "kernel.max_stream_duration_secs",
     0},
    {"kernel.max_stream_duration_secs 1e999",
     POLICY(",\"kernel\":{\"max_stream_duration_secs\":1e999}"),
     {NULL},
     2,
     "CHIO_EJSON_NUMBER",
     0},
};

Test(bad_input_svc, mcp_command_line_and_policies)
{
    char *seed = svctest_file("kernel.seed", SEEDK "\n", 0600),
         *wseed = svctest_file("w.seed", SEEDK, 0644);
    char *pol = svctest_path("policy.json"), *db = svctest_path("db"),
         *marker = svctest_path("started");
    char *fifo = svctest_path("fifo"), *userdir = svctest_path("userdir"),
         *missing = svctest_path("missing");
    char *script, *notes = svctest_path("userdir/notes.txt");
    size_t i, j;

    cr_assert_eq(mkfifo(fifo, 0600), 0);
    cr_assert_eq(mkdir(userdir, 0700), 0);
    cr_assert_eq(testutil_write_file(notes, "mine\n", 5, 0600), 0);
    cr_assert_geq(asprintf(&script, "echo started > '%s'; exec cat", marker), 0);
    for (i = 0; i < sizeof(mcp_rows) / sizeof(mcp_rows[0]); i++) {
        const mcp_row *w = &mcp_rows[i];
        const char *text = w->policy ? w->policy : GOOD_POLICY;
        const char *argv[24] = {CHIO_TEST_CLI, "mcp", "serve"};
        size_t n = 3;
        int fail_ok;
        svctest_ran r;

        unlink(marker);
        cr_assert_eq(testutil_write_file(pol, text, strlen(text), 0600), 0);
        if (w->args[0] == NULL) {
            const char *std[] = {"--policy", pol, "--receipt-db", db, "--seed-file", seed};
            for (j = 0; j < 6; j++)
                argv[n++] = std[j];
        } else {
            for (j = 0; j < 8 && w->args[j] != NULL; j++) {
                const char *a = w->args[j];
                argv[n++] = strcmp(a, "@pol") == 0       ? pol
                            : strcmp(a, "@db") == 0      ? db
                            : strcmp(a, "@seed") == 0    ? seed
                            : strcmp(a, "@wseed") == 0   ? wseed
                            : strcmp(a, "@fifo") == 0    ? fifo
                            : strcmp(a, "@dir") == 0     ? svctest_dir
                            : strcmp(a, "@userdir") == 0 ? userdir
                            : strcmp(a, "@missing") == 0 ? missing
                                                         : a;
            }
        }
        argv[n++] = "--";
        argv[n++] = "/bin/sh";
        argv[n++] = "-c";
        argv[n++] = script;
        argv[n] = NULL;
        r = svctest_run(argv, w->bug ? 2000 : DEADLINE_MS);
        fail_ok = r.status == w->status && strstr(r.err, w->needle) != NULL;
        svctest_row_check(w->bug, fail_ok,
                          "%s: exit %d (want %d) after %llu ms; stderr lacks [%s]: %s", w->name,
                          r.status, w->status, (unsigned long long)r.ms, w->needle, r.err);
        cr_expect_str_empty(r.out, "%s: printed on stdout: %s", w->name, r.out);
        if (w->status == 0)
            cr_expect(svctest_exists(marker), "%s: the wrapped server did not start", w->name);
        else
            cr_expect(!svctest_exists(marker), "%s: the wrapped server was started", w->name);
        svctest_ran_free(&r);
    }
    {
        char *text = testutil_read_file(notes, NULL), *other = svctest_path("userdir/CURRENT");
        cr_expect_str_eq(text, "mine\n", "the user's file changed");
        cr_expect(!svctest_exists(other), "a store was written among the user's files");
        free(text);
        free(other);
    }
    {
        const char *argv[] = {CHIO_TEST_CLI,
                              "mcp",
                              "serve",
                              "--policy",
                              pol,
                              "--receipt-db",
                              db,
                              "--seed-file",
                              seed,
                              "--",
                              "/nonexistent/mcp-server",
                              NULL};
        svctest_ran r;

        cr_assert_eq(testutil_write_file(pol, GOOD_POLICY, strlen(GOOD_POLICY), 0600), 0);
        r = svctest_run(argv, DEADLINE_MS);
        cr_expect_eq(r.status, 2, "a command that does not exist: exit %d", r.status);
        cr_expect_not_null(strstr(r.err, "cannot start the wrapped server /nonexistent/mcp-server"),
                           "%s", r.err);
        cr_expect_null(strstr(r.err, "kernel_started"), "a kernel started: %s", r.err);
        svctest_ran_free(&r);
        argv[9] = NULL; /* nothing after -- */
        r = svctest_run(argv, DEADLINE_MS);
        cr_expect_eq(r.status, 2, "no command: exit %d", r.status);
        cr_expect_not_null(strstr(r.err, "after --"), "%s", r.err);
        svctest_ran_free(&r);
        argv[9] = "--";
        argv[10] = "/"; /* a directory: cannot be run */
        r = svctest_run(argv, DEADLINE_MS);
        cr_expect_eq(r.status, 2, "a directory as the command: exit %d", r.status);
        cr_expect_not_null(strstr(r.err, "cannot start the wrapped server"), "%s", r.err);
        cr_expect_null(strstr(r.err, "kernel_started"), "a kernel started: %s", r.err);
        svctest_ran_free(&r);
    }
    free(seed);
    free(wseed);
    free(pol);
    free(db);
    free(marker);
    free(fifo);
    free(userdir);
    free(missing);
    free(script);
    free(notes);
}

/* A grant the token rules refuse (a misspelt member) stops both commands
 * with one line before anything starts: no store, no kernel, no server. */
Test(bad_input_svc, mcp_bad_grants_stop_before_the_store_is_touched)
{
    static const char text[] =
        POLICY_GRANT("{\"server_id\":\"fake\",\"toolname\":\"echo\",\"operations\":[\"invoke\"]}");
    static const char *const cmds[] = {"serve", "serve-http"};
    char *seed = svctest_file("kernel.seed", SEEDK "\n", 0600),
         *pol = svctest_file("policy.json", text, 0600), *db = svctest_path("db");
    size_t i;

    for (i = 0; i < 2; i++) {
        const char *argv[] = {CHIO_TEST_CLI,  "mcp", cmds[i],       "--policy", pol,
                              "--receipt-db", db,    "--seed-file", seed,       "--listen",
                              "127.0.0.1:0",  "--",  "/bin/cat",    NULL};
        char want[96];
        svctest_ran r;

        if (i == 0) { /* serve has no --listen */
            argv[9] = "--";
            argv[10] = "/bin/cat";
            argv[11] = NULL;
        }
        snprintf(want, sizeof(want),
                 "chio mcp %s: policy: the grants are not a valid scope: ", cmds[i]);
        r = svctest_run(argv, DEADLINE_MS);
        cr_expect_eq(r.status, 2, "%s: exit %d: %s", cmds[i], r.status, r.err);
        cr_expect_eq(strncmp(r.err, want, strlen(want)), 0, "%s: %s", cmds[i], r.err);
        cr_expect_not_null(strstr(r.err, "'toolname'"), "%s", r.err);
        cr_expect_null(strstr(r.err, "kernel_started"), "%s: a kernel started: %s", cmds[i], r.err);
        cr_expect(!svctest_exists(db), "%s: the store was created", cmds[i]);
        svctest_ran_free(&r);
    }
    free(seed);
    free(pol);
    free(db);
}

/* ---- D: chio mcp serve's JSON-RPC lines ------------------------------------------------------ */

typedef struct gateway {
    pid_t pid;
    int in, out; /* its stdin (ours to write), its stdout (ours to read) */
    char *buf;
    size_t len, cap;
    unsigned receipts; /* answers that named a receipt */
} gateway;

static void gateway_start(gateway *g, const char *pol, const char *db, const char *seed)
{
    char *server, *err = svctest_path("gateway.err");
    int in[2], out[2];

    server = testutil_repo_path("tests/cli/bad_input_mcp_server.mjs");
    cr_assert(svctest_exists(server), "%s is missing", server);
    memset(g, 0, sizeof(*g));
    cr_assert_eq(pipe2(in, O_CLOEXEC), 0);
    cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
    g->pid = fork();
    cr_assert_geq(g->pid, 0);
    if (g->pid == 0) {
        const char *argv[] = {CHIO_TEST_CLI,  "mcp",  "serve",       "--policy", pol,
                              "--receipt-db", db,     "--seed-file", seed,       "--",
                              "node",         server, NULL};
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(e, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    g->in = in[1];
    g->out = out[0];
    signal(SIGPIPE, SIG_IGN);
    free(server);
    free(err);
}

/* One line and its newline in one write: under PIPE_BUF bytes the gateway
 * reads it whole. */
static void gateway_send(gateway *g, const char *line, size_t len)
{
    char *all = malloc(len + 1);
    size_t off = 0;
    ssize_t n;

    cr_assert_not_null(all);
    memcpy(all, line, len);
    all[len] = '\n';
    while (off < len + 1 && (n = write(g->in, all + off, len + 1 - off)) > 0)
        off += (size_t)n;
    free(all);
    cr_assert_eq(off, len + 1, "the gateway stopped reading its input");
}

/* The next line from the gateway (malloc'd), or NULL at the deadline or
 * at the end of its output. */
static char *gateway_line(gateway *g, uint64_t end)
{
    for (;;) {
        char *nl = g->buf ? memchr(g->buf, '\n', g->len) : NULL;
        struct pollfd pf = {g->out, POLLIN, 0};
        uint64_t now = testutil_now_ms();
        ssize_t n;

        if (nl != NULL) {
            char *line = strndup(g->buf, (size_t)(nl - g->buf));
            g->len -= (size_t)(nl + 1 - g->buf);
            memmove(g->buf, nl + 1, g->len);
            return line;
        }
        if (now >= end || poll(&pf, 1, (int)(end - now)) <= 0)
            return NULL;
        if (g->cap - g->len < 65536) {
            g->cap = g->cap ? g->cap * 2 : 1 << 20;
            g->buf = realloc(g->buf, g->cap);
            cr_assert_not_null(g->buf);
        }
        n = read(g->out, g->buf + g->len, g->cap - g->len);
        if (n <= 0)
            return NULL;
        g->len += (size_t)n;
    }
}

/* What an answer said: its id (canonical JSON), error code or result. */
typedef struct answer {
    char *id;
    int error; /* 0: a result */
    int is_error, has_receipt;
    char *text; /* the whole line */
} answer;

static answer parse_answer(gateway *g, char *line)
{
    answer a = {NULL, 0, 0, 0, line};
    chio_json_doc *doc = NULL;
    const chio_json *root, *e, *res, *chio;
    const char *jr;
    size_t n;
    int64_t code = 0;

    cr_expect_eq(chio_json_parse(line, strlen(line), &doc, NULL), 0,
                 "not JSON from the gateway: %s", line);
    if (doc == NULL)
        return a;
    root = chio_json_root(doc);
    jr = chio_json_string(chio_json_get(root, "jsonrpc"), NULL);
    cr_expect(jr != NULL && strcmp(jr, "2.0") == 0, "no \"jsonrpc\":\"2.0\": %s", line);
    if (chio_json_get(root, "id") != NULL) {
        char *canon = NULL;
        cr_assert_eq(chio_json_write_canonical(chio_json_get(root, "id"), &canon, &n), 0);
        a.id = strdup(canon);
        chio_free(canon);
    }
    e = chio_json_get(root, "error");
    res = chio_json_get(root, "result");
    cr_expect((e == NULL) != (res == NULL), "an answer has error or result: %s", line);
    if (e != NULL) {
        cr_expect(chio_json_get_int64(chio_json_get(e, "code"), &code) == 0 && code != 0 &&
                      chio_json_string(chio_json_get(e, "message"), NULL) != NULL,
                  "an error without code and message: %s", line);
        a.error = (int)code;
        /* A request the gateway refuses by itself has a deny receipt too
         * (docs/mcp.md, "Receipts of the gateway"). */
        chio = chio_json_get(chio_json_get(e, "data"), "chio");
        a.has_receipt = chio_json_string(chio_json_get(chio, "receipt_id"), &n) != NULL && n == 64;
        g->receipts += (unsigned)a.has_receipt;
    } else if (res != NULL) {
        int b = 0;
        chio_json_get_bool(chio_json_get(res, "isError"), &b);
        a.is_error = b;
        chio = chio_json_get(chio_json_get(res, "_meta"), "chio");
        a.has_receipt = chio_json_string(chio_json_get(chio, "receipt_id"), &n) != NULL && n == 64;
        g->receipts += (unsigned)a.has_receipt;
    }
    chio_json_doc_free(doc);
    return a;
}

static void answer_free(answer *a)
{
    free(a->id);
    free(a->text);
}

/* A line from the client and what must come back. */
typedef struct rpc_row {
    const char *name;
    const char *line;
    const char *id; /* the answer's id as canonical JSON; NULL: no answer */
    int error;      /* the JSON-RPC error; 0 a result; 1 any error */
    char result;    /* for a result: 'A' an allowed call with a receipt, 'D' a deny (isError,
                       receipt), 'R' any other result */
    const char *bug;
} rpc_row;

#define CALL(id, params) \
    "{\"jsonrpc\":\"2.0\",\"id\":" id ",\"method\":\"tools/call\",\"params\":" params "}"
#define ECHO_ARGS(text) "{\"name\":\"echo\",\"arguments\":{\"text\":\"" text "\"}}"

static const rpc_row rpc_rows[] = {
    {"not JSON", "hello", "null", -32700, 0, 0},
    {"truncated", "{\"jsonrpc\":\"2.0\",\"id\":1,", "null", -32700, 0, 0},
    {"invalid UTF-8", "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\",\"x\":\"\xff\"}", "null",
     -32700, 0, 0},
    {"a lone surrogate", "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\",\"x\":\"\\ud800\"}",
     "null", -32700, 0, 0},
    {"a duplicate key", "{\"jsonrpc\":\"2.0\",\"id\":4,\"id\":5,\"method\":\"ping\"}", "null",
     -32700, 0, 0},
    {"2,000 levels", "{deep}", "null", -32700, 0, 0},
    /* MCP (2025-06-18 on) has no batches: the array is one invalid request. */
    {"a batch", "[{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"ping\"}]", "null", -32600, 0, 0},
    {"an empty batch", "[]", "null", -32600, 0, 0},
    {"a number", "42", "null", -32600, 0, 0},
    {"a string", "\"ping\"", "null", -32600, 0, 0},
    {"no jsonrpc, passed on", "{\"id\":10,\"method\":\"ping\"}", "10", -32600, 0, 0},
    {"no jsonrpc, a tools/call",
     "{\"id\":11,\"method\":\"tools/call\",\"params\":" ECHO_ARGS("x") "}", "11", -32600, 0, 0},
    {"jsonrpc 1.0, a tools/call",
     "{\"jsonrpc\":\"1.0\",\"id\":12,\"method\":\"tools/call\",\"params\":" ECHO_ARGS("x") "}",
     "12", -32600, 0, 0},
    {"jsonrpc a number",
     "{\"jsonrpc\":2,\"id\":13,\"method\":\"tools/call\",\"params\":" ECHO_ARGS("x") "}", "13",
     -32600, 0, 0},
    {"id an object", "{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"ping\"}", "null", -32600,
     0, 0},
    {"id an array, a tools/call", CALL("[1]", ECHO_ARGS("x")), "null", -32600, 0, 0},
    {"id true", "{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"ping\"}", "null", -32600, 0, 0},
    {"id null", "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", "null", -32600, 0, 0},
    {"method a number", "{\"jsonrpc\":\"2.0\",\"id\":14,\"method\":5}", "14", -32600, 0, 0},
    {"method null", "{\"jsonrpc\":\"2.0\",\"id\":15,\"method\":null}", "15", -32600, 0, 0},
    /* A mediated method without an id is no MCP request; passed on as a
     * notification it would reach the server undecided (JSON-RPC 2.0
     * servers run notifications, they only do not answer them). */
    {"tools/call without an id",
     "{\"jsonrpc\":\"2.0\",\"method\":\"tools/call\",\"params\":" ECHO_ARGS("x") "}", "null",
     -32600, 0, 0},
    {"resources/read without an id",
     "{\"jsonrpc\":\"2.0\",\"method\":\"resources/read\",\"params\":{\"uri\":\"file:///x\"}}",
     "null", -32600, 0, 0},
    {"prompts/get without an id",
     "{\"jsonrpc\":\"2.0\",\"method\":\"prompts/get\",\"params\":{\"name\":\"p\"}}", "null", -32600,
     0, 0},
    {"an unknown method", "{\"jsonrpc\":\"2.0\",\"id\":16,\"method\":\"nope/nothing\"}", "16",
     -32601, 0, 0},
    {"tools/call without params", "{\"jsonrpc\":\"2.0\",\"id\":17,\"method\":\"tools/call\"}", "17",
     -32602, 0, 0},
    {"tools/call params an array", CALL("18", "[\"echo\"]"), "18", -32602, 0, 0},
    {"tools/call params a string", CALL("19", "\"echo\""), "19", -32602, 0, 0},
    {"tools/call without a name", CALL("20", "{\"arguments\":{}}"), "20", -32602, 0, 0},
    {"tools/call name a number", CALL("21", "{\"name\":5}"), "21", -32602, 0, 0},
    {"tools/call arguments an array", CALL("22", "{\"name\":\"echo\",\"arguments\":[1]}"), "22",
     -32602, 0, 0},
    {"tools/call arguments a string", CALL("23", "{\"name\":\"echo\",\"arguments\":\"x\"}"), "23",
     -32602, 0, 0},
    /* arguments the kernel cannot read: -32602, with the gateway's refusal receipt */
    {"tools/call arguments with \\u0000", CALL("24", ECHO_ARGS("a\\u0000b")), "24", -32602, 0, 0},
    /* a NUL in the name or URI: the kernel and the server would read different names */
    {"tools/call name with \\u0000", CALL("40", "{\"name\":\"echo\\u0000x\"}"), "40", -32602, 0, 0},
    {"resources/read uri with \\u0000",
     "{\"jsonrpc\":\"2.0\",\"id\":41,\"method\":\"resources/read\",\"params\":{\"uri\":\"file:///"
     "x\\u0000y\"}}",
     "41", -32602, 0, 0},
    {"resources/read uri a number",
     "{\"jsonrpc\":\"2.0\",\"id\":25,\"method\":\"resources/read\",\"params\":{\"uri\":5}}", "25",
     -32602, 0, 0},
    /* Well-formed calls the kernel refuses: a deny with a receipt (docs/mcp.md). */
    {"tools/call name empty", CALL("26", "{\"name\":\"\"}"), "26", 0, 'D', 0},
    {"tools/call a tool outside the grants",
     CALL("27", "{\"name\":\"add\",\"arguments\":{\"a\":1,\"b\":2}}"), "27", 0, 'D', 0},
    {"tools/call a constraint violated",
     CALL("28",
          ECHO_ARGS("0123456789012345678901234567890123456789012345678901234567890123456789")),
     "28", 0, 'D', 0},
    {"notifications/cancelled for nothing",
     "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/"
     "cancelled\",\"params\":{\"requestId\":{\"x\":[1]}}}",
     NULL, 0, 0, 0},
    {"an answer to nothing", "{\"jsonrpc\":\"2.0\",\"id\":\"chio-c-999\",\"result\":{}}", NULL, 0,
     0, 0},
    {"a blank line", "", NULL, 0, 0, 0},
};

/* Lines longer than a pipe's atomic write reach the gateway in pieces: the
 * line reader must grow and reuse its buffer across them (a heap overflow
 * once, found by this matrix). */
static const rpc_row long_rows[] = {
    {"10,000 levels", "{deep10k}", "null", -32700, 0, 0},
    {"2 MB of arguments", "{2mcall}", "29", 0, 'A', 0},
    {"2 MB that is not JSON", "{2mjunk}", "null", -32700, 0, 0},
    /* docs/mcp.md: lines over 64 MiB are dropped, and the gateway goes on. */
    {"65 MB on one line", "{65mjunk}", NULL, 0, 0, 0},
};

/* The row's line (templated: {deep}, {2mcall}, {2mjunk}, {65mjunk}). */
static char *rpc_line(const char *t, size_t *len)
{
    svc_buf b = {0};

    if (strcmp(t, "{deep}") == 0 || strcmp(t, "{deep10k}") == 0) {
        size_t n = strcmp(t, "{deep}") == 0 ? 2000 : 10000;
        svctest_repeat(&b, '[', n);
        svctest_repeat(&b, ']', n);
    } else if (strcmp(t, "{2mcall}") == 0) {
        svc_buf_puts(&b, "{\"jsonrpc\":\"2.0\",\"id\":29,\"method\":\"tools/call\",\"params\":{"
                         "\"name\":\"echo\",\"arguments\":{\"text\":\"short\",\"pad\":[");
        for (size_t i = 0; i < 40000; i++)
            svc_buf_puts(&b, i ? ",\"0123456789012345678901234567890123456789\""
                               : "\"0123456789012345678901234567890123456789\"");
        svc_buf_puts(&b, "]}}}");
    } else if (strcmp(t, "{2mjunk}") == 0 || strcmp(t, "{65mjunk}") == 0) {
        svctest_repeat(&b, 'j', strcmp(t, "{2mjunk}") == 0 ? (size_t)2 << 20 : (size_t)65 << 20);
    } else {
        svc_buf_puts(&b, t);
    }
    cr_assert(!b.oom);
    *len = b.len;
    return b.p ? b.p : strdup("");
}

/* Send a good tools/call with id "good-N" and read every line until its
 * answer; the lines before it go to @seen (up to 8). */
static size_t good_call(gateway *g, unsigned n, answer *seen, size_t max, const char *row)
{
    char line[256], want[32];
    uint64_t end = testutil_now_ms() + 20000;
    size_t k = 0;

    snprintf(line, sizeof(line), CALL("\"good-%u\"", ECHO_ARGS("hi %u")), n, n);
    snprintf(want, sizeof(want), "\"good-%u\"", n);
    gateway_send(g, line, strlen(line));
    for (;;) {
        char *l = gateway_line(g, end);
        answer a;

        cr_assert_not_null(l, "after [%s]: no answer to the good call within 20 s", row);
        a = parse_answer(g, l);
        if (a.id != NULL && strcmp(a.id, want) == 0) {
            char text[32];
            snprintf(text, sizeof(text), ": hi %u\"", n);
            cr_expect(a.error == 0 && !a.is_error && a.has_receipt && strstr(l, text) != NULL,
                      "after [%s]: the good call was not allowed and run: %s", row, l);
            answer_free(&a);
            return k;
        }
        if (k < max)
            seen[k++] = a;
        else
            answer_free(&a);
    }
}

/* Start the gateway, check that a call before initialize is an error (no
 * decision), initialize, and make the first good call. */
static void gateway_open(gateway *g, unsigned *n)
{
    char *seed = svctest_file("kernel.seed", SEEDK "\n", 0600), *db = svctest_path("db");
    char *pol = svctest_file("policy.json", GOOD_POLICY, 0600), *l;
    const char *early = CALL("\"early\"", ECHO_ARGS("x"));
    const char *init = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
                       "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":"
                       "{\"name\":\"bad-input\",\"version\":\"1\"}}}";
    const char *done = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
    answer seen[8], a;
    size_t m;

    gateway_start(g, pol, db, seed);
    gateway_send(g, early, strlen(early));
    l = gateway_line(g, testutil_now_ms() + 20000);
    cr_assert_not_null(l, "no answer to a call before initialize");
    a = parse_answer(g, l);
    cr_expect(a.id != NULL && strcmp(a.id, "\"early\"") == 0 && a.error != 0,
              "a call before initialize is an error: %s", l);
    answer_free(&a);
    gateway_send(g, init, strlen(init));
    l = gateway_line(g, testutil_now_ms() + 20000);
    cr_assert_not_null(l, "no answer to initialize");
    a = parse_answer(g, l);
    cr_assert(a.id != NULL && strcmp(a.id, "0") == 0 && a.error == 0, "initialize: %s", l);
    answer_free(&a);
    gateway_send(g, done, strlen(done));
    m = good_call(g, (*n)++, seen, 8, "initialize");
    cr_expect_eq(m, 0, "stray lines after initialize");
    while (m > 0)
        answer_free(&seen[--m]);
    free(seed);
    free(db);
    free(pol);
}

/* 1 when @id (canonical JSON) is the id of a row before row @i. */
static int earlier_id(const rpc_row *rows, size_t i, const char *id)
{
    while (id != NULL && i-- > 0)
        if (rows[i].id != NULL && strcmp(rows[i].id, id) == 0)
            return 1;
    return 0;
}

/* Each row, then a good call; the row's answer is among the lines that
 * came before the good call's (a mediated row may answer just after). */
static void run_rpc_rows(gateway *g, const rpc_row *rows, size_t nrows, unsigned *n)
{
    answer seen[8];
    size_t i, j, m, strays;

    for (i = 0; i < nrows; i++) {
        const rpc_row *w = &rows[i];
        size_t len;
        char *line = rpc_line(w->line, &len);
        answer *hit = NULL;
        int ok;

        gateway_send(g, line, len);
        free(line);
        m = good_call(g, (*n)++, seen, 8, w->name);
        for (;;) { /* a mediated row may answer after the good call */
            char *l;
            for (j = 0; j < m && hit == NULL; j++)
                if (w->id != NULL && seen[j].id != NULL && strcmp(seen[j].id, w->id) == 0)
                    hit = &seen[j];
            if (hit != NULL || w->id == NULL || m == 8)
                break;
            l = gateway_line(g, testutil_now_ms() + (w->bug ? 2000 : 20000));
            if (l == NULL)
                break;
            seen[m++] = parse_answer(g, l);
        }
        for (j = 0, strays = 0; j < m; j++) /* late answers to earlier rows aside */
            strays += &seen[j] != hit && !earlier_id(rows, i, seen[j].id);
        if (w->id == NULL)
            ok = strays == 0;
        else if (hit == NULL)
            ok = 0;
        else if (w->error != 0) /* a refusal the client caused has its receipt */
            ok = (w->error == 1 ? hit->error != 0 : hit->error == w->error) &&
                 (hit->has_receipt || (w->error != -32601 && w->error != -32602));
        else
            ok = hit->error == 0 &&
                 (w->result == 'R' || (hit->has_receipt && hit->is_error == (w->result == 'D')));
        svctest_row_check(w->bug, ok, "%s: want %s%s %d%s; got %zu line(s): %.300s", w->name,
                          w->id ? "id " : "no answer", w->id ? w->id : "", w->error,
                          w->result ? " (a result)" : "", m, m ? seen[0].text : "");
        if (w->bug == NULL)
            cr_expect(strays == 0, "%s: %zu other answers: %.300s", w->name, strays,
                      seen[hit == seen ? 1 : 0].text);
        for (j = 0; j < m; j++)
            answer_free(&seen[j]);
    }
}

/* The client closes its input: the gateway ends with 0, and the store
 * holds one receipt per decision the client was told of. */
static void gateway_close(gateway *g)
{
    char *db = svctest_path("db");
    uint64_t end;
    int st = -1;

    close(g->in);
    for (end = testutil_now_ms() + 20000; testutil_now_ms() < end;) {
        if (waitpid(g->pid, &st, WNOHANG) == g->pid)
            break;
        st = -1;
        testutil_nap_ms(5);
    }
    if (st == -1) {
        kill(g->pid, SIGKILL);
        waitpid(g->pid, &st, 0);
        cr_expect_fail("the gateway did not exit within 20 s of its input's end");
    } else {
        cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the gateway's exit status %d", st);
    }
    close(g->out);
    free(g->buf);
    {
        const char *argv[] = {"receipt", "verify", "--receipt-db", db, NULL};
        cli_result a = testutil_run_cli(argv, NULL, 0);
        char want[48];

        snprintf(want, sizeof(want), "\"receipts\":%u,", g->receipts);
        cr_expect_eq(a.status, 0, "the store does not verify: %s %s", a.out, a.err);
        cr_expect_not_null(strstr(a.out, want), "the store lacks [%s]: %s", want, a.out);
        testutil_cli_free(&a);
    }
    free(db);
}

Test(bad_input_svc, mcp_json_rpc_lines)
{
    gateway g;
    unsigned n = 0;

    gateway_open(&g, &n);
    run_rpc_rows(&g, rpc_rows, sizeof(rpc_rows) / sizeof(rpc_rows[0]), &n);
    gateway_close(&g);
    /* A good call after each row, the denies, and no receipt for a
     * request whose envelope is not JSON-RPC 2.0. */
    cr_expect_geq(g.receipts, 40, "%u receipts", g.receipts);
}

Test(bad_input_svc, mcp_long_lines)
{
    gateway g;
    unsigned n = 0;

    gateway_open(&g, &n);
    run_rpc_rows(&g, long_rows, sizeof(long_rows) / sizeof(long_rows[0]), &n);
    gateway_close(&g);
}

/* A call the server never answers: the client's end of input waits for
 * it (docs/mcp.md), but SIGTERM then still cancels it and the gateway
 * exits 0 (it once went on waiting, deaf to SIGTERM, until SIGKILL). */
Test(bad_input_svc, mcp_sigterm_after_input_end_cancels_a_hung_call)
{
    const char *hung = CALL("\"hung\"", ECHO_ARGS("never answer"));
    gateway g;
    unsigned n = 0;
    uint64_t end;
    int st = -1;

    gateway_open(&g, &n);
    gateway_send(&g, hung, strlen(hung));
    testutil_nap_ms(300);
    close(g.in);
    testutil_nap_ms(500);
    cr_expect_eq(waitpid(g.pid, &st, WNOHANG), 0, "the gateway did not wait for the call");
    kill(g.pid, SIGTERM);
    for (end = testutil_now_ms() + 10000; testutil_now_ms() < end; testutil_nap_ms(5))
        if (waitpid(g.pid, &st, WNOHANG) == g.pid)
            break;
    if (testutil_now_ms() >= end) {
        kill(g.pid, SIGKILL);
        waitpid(g.pid, &st, 0);
        cr_expect_fail("SIGTERM after the input's end: no exit within 10 s");
    } else {
        cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the gateway's exit status %d", st);
    }
    close(g.out);
    free(g.buf);
}
