/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_rev32_scen.c - review 32 of `chio scenario run` against
 * kernel.md's "Scenario files" read literally: a call's arguments nested
 * past what the file's parser reads are that call's (kernel.md: invalid
 * arguments are an error with no receipt; the kernel denies arguments its
 * receipts cannot hold), not a malformed file without a field path; a
 * value nested too deep elsewhere is refused naming its member; a stream
 * server whose calls would hold more than 1 GiB or pause more than ten
 * minutes is refused naming the field, before anything runs, instead of
 * growing until memory runs out or pausing for years. A run cut short (a
 * reader closing the pipe, SIGTERM, a full disk) removes its temporary
 * store and says so by its exit status; a closed stdout is not handed to
 * the store's files.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chio/chio.h"
#include "common/poll.h"
#include "common/testutil.h"

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

TestSuite(rev32_scen, .init = setup, .fini = teardown);

/* docs/scenarios.md's example token (kernel seed 07 x 32, agent seed 0b x
 * 32), valid from 1710000000 to 1710001000, any tool. */
#define KERNEL_PUB "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"
#define AGENT      "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a"
#define TOKEN                                                                                      \
    "{\"id\":\"cap-g\",\"issued_at\":1710000000,\"expires_at\":1710001000,"                        \
    "\"issuer\":\"" KERNEL_PUB "\",\"subject\":\"" AGENT "\","                                     \
    "\"scope\":{\"grants\":[{\"server_id\":\"*\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}" \
    "]},"                                                                                          \
    "\"signature\":\"01099a400382d92e13de43127db20f14b987bf38089f1918472e4571b5341fc5225ce92ab4a"  \
    "5a8b4e73ea6f012cbcac59a141a210e5869bfaf1e8b979622df02\"}"
#define HEAD                                                                               \
    "{\"schema\":\"chio.scenario.v1\",\"clock\":1710000300,\"kernel\":{"                   \
    "\"signing_seed_hex\":"                                                                \
    "\"0707070707070707070707070707070707070707070707070707070707070707\","                \
    "\"policy_hash\":\"p\"},\"tool_servers\":[{\"server_id\":\"srv\",\"tools\":[\"t\"]}]," \
    "\"steps\":[{\"op\":\"open_session\",\"session\":\"s\",\"agent\":\"" AGENT "\","       \
    "\"capabilities\":[" TOKEN "]}"

/* @n nested arrays ("[[...]]"), in a buffer the caller frees. */
static char *nested(size_t n)
{
    char *s = malloc(2 * n + 1);

    cr_assert_not_null(s);
    memset(s, '[', n);
    memset(s + n, ']', n);
    s[2 * n] = '\0';
    return s;
}

/* A scenario opening the session, then a call whose arguments are
 * @depth nested arrays. */
static char *deep_call(size_t depth)
{
    char *args = nested(depth), *json;

    cr_assert_geq(asprintf(&json,
                           HEAD ",{\"op\":\"call\",\"session\":\"s\",\"capability_id\":\"cap-g\","
                                "\"server\":\"srv\",\"tool\":\"t\",\"arguments\":%s}]}",
                           args),
                  0);
    free(args);
    return json;
}

static const char *member(const chio_json *o, const char *key)
{
    return chio_json_string(chio_json_get(o, key), NULL);
}

/* Line 1 of @r is a call with @verdict and @code; a receipt exactly when
 * the verdict is not "error", and then it verifies under the kernel key. */
static void expect_call_line(const cli_result *r, const char *what, const char *verdict,
                             const char *code)
{
    const char *argv[] = {"receipt", "verify", "--trusted-key", KERNEL_PUB, NULL};
    chio_json_doc *d = testutil_output_line(r->out, 1);
    const chio_json *root, *rc;
    char *rtext = NULL;
    size_t rlen = 0;
    cli_result v;

    cr_assert_eq(r->status, 0, "%s: exit %d: %s", what, r->status, r->err);
    cr_assert_not_null(d, "%s: no call line in:\n%s", what, r->out);
    cr_expect_null(testutil_output_line(r->out, 2), "%s: more than two lines", what);
    root = chio_json_root(d);
    cr_expect_str_eq(member(root, "op"), "call", "%s", what);
    cr_expect_str_eq(member(root, "verdict"), verdict, "%s: %s", what, r->out);
    cr_expect_str_eq(member(root, "code"), code, "%s: %s", what, r->out);
    rc = chio_json_get(root, "receipt");
    if (strcmp(verdict, "error") == 0) {
        cr_expect_null(rc, "%s: an error line with a receipt", what);
    } else {
        cr_assert_not_null(rc, "%s: no receipt", what);
        cr_assert_eq(chio_json_write_canonical(rc, &rtext, &rlen), 0);
        v = testutil_run_cli(argv, rtext, rlen);
        cr_expect_eq(v.status, 0, "%s: receipt verify exit %d: %s %s", what, v.status, v.out,
                     v.err);
        testutil_cli_free(&v);
        chio_free(rtext);
    }
    chio_json_doc_free(d);
}

/* kernel.md lists invalid arguments among the errors with no receipt, and
 * docs/scenarios.md makes arguments the parser refuses the call's error,
 * not a malformed file. Arguments 126 levels deep or more pushed the file
 * past the parser's 128 levels (the top object, steps and the step are
 * three), so the whole file was refused, "(file): not JSON", no field
 * named and no step run, though the kernel reads arguments up to 128
 * levels (and denies those past 125, which its receipts cannot hold). Now
 * they go to the kernel as written: 125 allowed, 126 and 128 denied
 * arguments_rejected with a receipt that verifies, 129 and 400 an
 * invalid_arguments error with none. */
Test(rev32_scen, arguments_nested_past_the_files_depth_are_the_calls_not_the_files)
{
    static const struct {
        size_t depth;
        const char *verdict, *code;
    } rows[] = {
        {125, "allow", "none"},
        {126, "deny", "arguments_rejected"},
        {128, "deny", "arguments_rejected"},
        {129, "error", "invalid_arguments"},
        {400, "error", "invalid_arguments"},
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *json = deep_call(rows[i].depth), what[64];
        cli_result r = testutil_run_scenario_text(dir, json);

        snprintf(what, sizeof(what), "arguments %zu deep", rows[i].depth);
        expect_call_line(&r, what, rows[i].verdict, rows[i].code);
        testutil_cli_free(&r);
        free(json);
    }
}

/* A capability token nested past the file's depth is a token the kernel
 * refuses (the step's "ok":false), as docs/scenarios.md says of any token
 * the parser refuses; it too refused the whole file. */
Test(rev32_scen, a_token_nested_past_the_files_depth_fails_its_step)
{
    char *deep = nested(200), *json;
    cli_result r;
    chio_json_doc *d;

    cr_assert_geq(asprintf(&json,
                           "{\"steps\":[{\"op\":\"open_session\",\"session\":\"s\",\"agent\":\"a\","
                           "\"capabilities\":[{\"id\":%s}]}]}",
                           deep),
                  0);
    r = testutil_run_scenario_text(dir, json);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    d = testutil_output_line(r.out, 0);
    cr_assert_not_null(d, "%s", r.out);
    cr_expect_str_eq(member(chio_json_root(d), "op"), "open_session");
    cr_expect(strstr(r.out, "\"ok\":false") != NULL, "%s", r.out);
    cr_expect(strstr(member(chio_json_root(d), "error"), "capability 0") != NULL, "%s", r.out);
    chio_json_doc_free(d);
    testutil_cli_free(&r);
    free(json);
    free(deep);
}

/* Refused (exit 2, nothing printed) naming @field ("field: problem"). */
static void expect_malformed(const char *what, const char *json, const char *field)
{
    cli_result r = testutil_run_scenario_text(dir, json);
    char want[160];

    snprintf(want, sizeof(want), "malformed scenario: %s: ", field);
    cr_expect_eq(r.status, 2, "%s: exit %d: %s", what, r.status, r.err);
    cr_expect_eq(r.out_len, 0, "%s: printed %s", what, r.out);
    cr_expect(strstr(r.err, want) != NULL, "%s: does not name '%s': %s", what, field, r.err);
    testutil_cli_free(&r);
}

/* A value nested too deep outside a call's arguments still refuses the
 * file, now naming the member that holds it (it was "(file)"). */
Test(rev32_scen, a_value_nested_too_deep_elsewhere_is_named)
{
    char *deep = nested(200), *json;

    cr_assert_geq(asprintf(&json, "{\"kernel\":{\"ca_public_keys\":%s},\"steps\":[]}", deep), 0);
    expect_malformed("deep ca_public_keys", json, "kernel.ca_public_keys[0][0]");
    free(json);
    cr_assert_geq(asprintf(&json, "{\"steps\":[],\"tool_servers\":[{\"tools\":%s}]}", deep), 0);
    expect_malformed("deep tools", json, "tool_servers[0].tools[0]");
    free(json);
    free(deep);
}

/* Each stream member was bounded alone, not their product: 1000000
 * chunks of 64 MiB under a raised kernel.max_stream_total_bytes made one
 * call hold its output until memory ran out (64 TiB asked), and 1000000
 * pauses of 600 s under max_stream_duration_secs 0 ran for 19 years. A
 * call may now hold at most 1 GiB (what the kernel keeps: chunks x
 * chunk_bytes up to the byte limit) and pause at most 600 s in all (up to
 * the duration limit when one is set); past that the file is refused
 * before any step, naming the field. The rows that pass run no call. */
Test(rev32_scen, a_stream_that_would_hold_or_pause_too_much_is_refused_naming_the_field)
{
    static const struct {
        const char *kernel, *server, *field; /* field NULL: the file runs */
    } rows[] = {
        {"", "\"chunks\":1000000,\"chunk_bytes\":67108864", NULL},
        {"\"max_stream_total_bytes\":1073741824", "\"chunks\":1000000,\"chunk_bytes\":67108864",
         NULL},
        {"\"max_stream_total_bytes\":1073741825", "\"chunks\":1000000,\"chunk_bytes\":67108864",
         "tool_servers[0].chunks"},
        {"\"max_stream_total_bytes\":18446744073709551615",
         "\"chunks\":16,\"chunk_bytes\":67108864", NULL},
        {"\"max_stream_total_bytes\":18446744073709551615",
         "\"chunks\":1000000,\"chunk_bytes\":67108864", "tool_servers[0].chunks"},
        {"", "\"chunks\":1000000,\"delay_ms\":600000", NULL},
        {"\"max_stream_duration_secs\":0", "\"chunks\":2,\"delay_ms\":300000", NULL},
        {"\"max_stream_duration_secs\":0", "\"chunks\":1000000,\"delay_ms\":600000",
         "tool_servers[0].delay_ms"},
        {"\"max_stream_duration_secs\":600", "\"chunks\":1000000,\"delay_ms\":600000", NULL},
        {"\"max_stream_duration_secs\":18446744073709551615",
         "\"chunks\":1000000,\"delay_ms\":600000", "tool_servers[0].delay_ms"},
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *json, what[32];
        cli_result r;

        cr_assert_geq(asprintf(&json,
                               "{\"kernel\":{%s},\"tool_servers\":[{\"server_id\":\"s\","
                               "\"tools\":[\"t\"],\"behavior\":\"stream\",%s}],\"steps\":[]}",
                               rows[i].kernel, rows[i].server),
                      0);
        snprintf(what, sizeof(what), "row %zu", i);
        if (rows[i].field != NULL) {
            expect_malformed(what, json, rows[i].field);
        } else {
            r = testutil_run_scenario_text(dir, json);
            cr_expect_eq(r.status, 0, "%s: exit %d: %s", what, r.status, r.err);
            testutil_cli_free(&r);
        }
        free(json);
    }
}

/* ---- runs cut short ------------------------------------------------------------------------ */

/* A scenario opening the session, then @calls allowed calls. */
static char *many_calls(size_t calls)
{
    static const char call[] = ",{\"op\":\"call\",\"session\":\"s\",\"capability_id\":\"cap-g\","
                               "\"server\":\"srv\",\"tool\":\"t\",\"arguments\":{}}";
    size_t n = sizeof(HEAD) + calls * (sizeof(call) - 1) + 3, i;
    char *json = malloc(n), *p;

    cr_assert_not_null(json);
    p = json + snprintf(json, n, "%s", HEAD);
    for (i = 0; i < calls; i++)
        p += snprintf(p, n - (size_t)(p - json), "%s", call);
    snprintf(p, n - (size_t)(p - json), "]}");
    return json;
}

/* Start `chio scenario run FILE [ARGS...]` with TMPDIR @tmp and stdout on
 * @out_fd (-1: closed), SIGPIPE at its default as under a shell. */
static pid_t start_run(const char *file, const char *tmp, int out_fd, const char *extra1,
                       const char *extra2)
{
    const char *argv[] = {CHIO_TEST_CLI, "scenario", "run", file, extra1, extra2, NULL};
    pid_t pid = fork();

    cr_assert_neq(pid, -1);
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL);
        setenv("TMPDIR", tmp, 1);
        if (out_fd < 0)
            close(1);
        else if (dup2(out_fd, 1) < 0)
            _exit(127);
        execv(CHIO_TEST_CLI, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Its wait status within @ms (0 when it had not ended: it is killed). */
static int wait_run(pid_t pid, unsigned ms, int *status)
{
    uint64_t end = testutil_now_ms() + ms;

    for (;;) {
        pid_t w = waitpid(pid, status, WNOHANG);
        if (w == pid)
            return 1;
        if (testutil_now_ms() >= end) {
            kill(pid, SIGKILL);
            waitpid(pid, status, 0);
            return 0;
        }
        testutil_nap_ms(5);
    }
}

/* The entries of @path ("." and ".." not counted). */
static size_t entries(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    size_t n = 0;

    cr_assert_not_null(d, "%s", path);
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* A fresh directory under the suite's for TMPDIR, and the scenario file. */
static void prepare(const char *json, char **tmp, char **file)
{
    cr_assert_geq(asprintf(tmp, "%s/tmp", dir), 0);
    cr_assert_geq(asprintf(file, "%s/s.json", dir), 0);
    cr_assert_eq(mkdir(*tmp, 0700), 0);
    cr_assert_eq(testutil_write_file(*file, json, strlen(json), 0644), 0);
}

/* `chio scenario run F | head -c 1`: the reader goes away while lines are
 * still coming, and SIGPIPE killed the run where it stood, leaving its
 * temporary store (a RocksDB directory of receipts) under $TMPDIR. Now the
 * failed write stops the run, the store is removed, and it ends by
 * SIGPIPE as before. */
Test(rev32_scen, a_reader_closing_the_pipe_leaves_no_temporary_store)
{
    char *json = many_calls(300), *tmp, *file, c;
    int p[2], status = 0;
    pid_t pid;

    prepare(json, &tmp, &file);
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0); /* the run holds no read end */
    pid = start_run(file, tmp, p[1], NULL, NULL);
    close(p[1]);
    cr_assert_eq(read(p[0], &c, 1), 1); /* the first byte, then the reader leaves */
    close(p[0]);
    cr_assert(wait_run(pid, 60000, &status), "the run did not end");
    cr_expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE, "status %#x", status);
    cr_expect_eq(entries(tmp), 0, "the temporary store was left in %s", tmp);
    free(json);
    free(tmp);
    free(file);
}

/* SIGTERM during a stream's 600 s pause killed the run at once, leaving
 * its temporary store. Now the pause ends, the step prints no line (the
 * tool failed "interrupted"), the store is removed and the run ends by
 * SIGTERM, within seconds. */
static int has_line(void *path)
{
    size_t len = 0;
    char *text = testutil_read_file(path, &len);
    int yes = text != NULL && memchr(text, '\n', len) != NULL;

    free(text);
    return yes;
}

Test(rev32_scen, sigterm_stops_a_run_and_removes_its_temporary_store)
{
    static const char json[] =
        "{\"clock\":1710000300,\"kernel\":{\"signing_seed_hex\":"
        "\"0707070707070707070707070707070707070707070707070707070707070707\","
        "\"max_stream_duration_secs\":0},\"tool_servers\":[{\"server_id\":\"srv\","
        "\"tools\":[\"t\"],\"behavior\":\"stream\",\"delay_ms\":600000}],"
        "\"steps\":[{\"op\":\"open_session\",\"session\":\"s\",\"agent\":\"" AGENT "\","
        "\"capabilities\":[" TOKEN "]},{\"op\":\"call\",\"session\":\"s\","
        "\"capability_id\":\"cap-g\",\"server\":\"srv\",\"tool\":\"t\"}]}";
    char *tmp, *file, *outp, *out;
    int fd, status = 0;
    uint64_t t0;
    size_t len = 0;
    pid_t pid;

    prepare(json, &tmp, &file);
    cr_assert_geq(asprintf(&outp, "%s/out.txt", dir), 0);
    fd = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    pid = start_run(file, tmp, fd, NULL, NULL);
    close(fd);
    cr_assert(testutil_wait_until(has_line, outp, 30000), "no open_session line");
    t0 = testutil_now_ms();
    kill(pid, SIGTERM);
    cr_assert(wait_run(pid, 30000, &status), "SIGTERM did not end the run");
    cr_expect_lt(testutil_now_ms() - t0, 10000, "the pause ran on");
    cr_expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %#x", status);
    cr_expect_eq(entries(tmp), 0, "the temporary store was left in %s", tmp);
    out = testutil_read_file(outp, &len);
    cr_assert_not_null(out);
    cr_expect(strchr(out, '\n') == out + len - 1, "more than the open_session line: %s", out);
    free(out);
    free(outp);
    free(tmp);
    free(file);
}

/* Lines written to a full disk were lost and the run exited 0, as if it
 * had been read. Now the first failed write stops it: exit 2, saying so,
 * and the temporary store is removed. */
Test(rev32_scen, a_full_disk_for_the_lines_is_exit_2)
{
    char *json = many_calls(3), *tmp, *file, *errp, *err;
    int fd = open("/dev/full", O_WRONLY), status = 0;
    pid_t pid;

    cr_assert_geq(fd, 0);
    prepare(json, &tmp, &file);
    cr_assert_geq(asprintf(&errp, "%s/err.txt", dir), 0);
    pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) { /* stderr to a file, the rest as start_run() */
        int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (e < 0 || dup2(e, 2) < 0 || dup2(fd, 1) < 0)
            _exit(127);
        setenv("TMPDIR", tmp, 1);
        execl(CHIO_TEST_CLI, CHIO_TEST_CLI, "scenario", "run", file, (char *)NULL);
        _exit(127);
    }
    close(fd);
    cr_assert(wait_run(pid, 60000, &status), "the run did not end");
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 2, "status %#x", status);
    err = testutil_read_file(errp, NULL);
    cr_assert_not_null(err);
    cr_expect(strstr(err, "cannot write the step lines") != NULL, "%s", err);
    cr_expect_eq(entries(tmp), 0, "the temporary store was left in %s", tmp);
    free(err);
    free(errp);
    free(json);
    free(tmp);
    free(file);
}

/* With stdout closed (`>&-`) the store's LOG was opened as fd 1 and every
 * step line went into it. Now fd 1 is held on /dev/null first: the store
 * holds no line. */
Test(rev32_scen, a_closed_stdout_is_not_handed_to_the_store)
{
    char *json = many_calls(3), *tmp, *file, *db, *logp, *log;
    int status = 0;
    size_t len = 0;
    pid_t pid;

    prepare(json, &tmp, &file);
    cr_assert_geq(asprintf(&db, "%s/db", dir), 0);
    pid = start_run(file, tmp, -1, "--receipt-db", db);
    cr_assert(wait_run(pid, 60000, &status), "the run did not end");
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
    cr_assert_geq(asprintf(&logp, "%s/LOG", db), 0);
    log = testutil_read_file(logp, &len);
    cr_expect(log == NULL || strstr(log, "\"op\":") == NULL, "step lines in %s", logp);
    free(log);
    free(logp);
    free(db);
    free(json);
    free(tmp);
    free(file);
}
