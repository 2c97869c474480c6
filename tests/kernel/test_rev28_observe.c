/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev28_observe.c - review 28: what the kernel and the
 * CLI say besides receipts. The JSON parser's duplicate-key message quotes
 * the key, which whoever wrote the JSON chose: no control character (an
 * ESC there reached the terminal through `chio receipt verify`) and no
 * character cut in half. The kernel's error for arguments with a
 * duplicate key does not quote a key at all when the kernel has
 * secret_leak guards (a receipt would redact such a key; the error goes to
 * the host's logs), and still does without them. Every chio_error message
 * is one line of UTF-8 without control characters. And two guards of what
 * already held: names and arguments an agent makes up add no line to the
 * kernel's log (each line one JSON object, none quoting them) and no
 * sample to its Prometheus text. The Prometheus text is the same whatever
 * decimal point the host's locale writes.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <locale.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "kernel_internal.h" /* chio__kernel_slow_commits */
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NOW    1710000300u
#define SECRET "AKIAABCDEFGHIJKLMNOP"

static uint64_t clock_fn(void *ctx)
{
    (void)ctx;
    return NOW;
}

/* Control characters (C0, DEL, C1) or bytes that are not UTF-8 in @s? */
static int unsafe(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    char *js = NULL;
    size_t jlen = 0, rl = 0, n = strlen(s), i;
    chio_json_doc *doc = NULL;
    int bad = 0;

    for (i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] == 0x7f || (p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f))
            bad = 1;
    /* chio_json_write_string repairs bytes that are not UTF-8: a round
     * trip that changes the text found some */
    cr_assert_eq(chio_json_write_string(s, n, &js, &jlen), 0);
    cr_assert_eq(chio_json_parse(js, jlen, &doc, NULL), 0);
    if (strcmp(chio_json_string(chio_json_root(doc), &rl), s) != 0)
        bad = 1;
    chio_json_doc_free(doc);
    chio_free(js);
    return bad;
}

Test(rev28_observe, a_duplicate_key_is_quoted_without_controls_or_half_characters)
{
    char json[512], key[160];
    chio_json_doc *doc = NULL;
    chio_error err;
    size_t i, o = 0;

    chio_error_init(&err);
    snprintf(json, sizeof(json),
             "{\"a\\u001b[2J\\n\\u007f\\u009bz\":1,"
             "\"a\\u001b[2J\\n\\u007f\\u009bz\":2}");
    cr_assert_eq(chio_json_parse(json, strlen(json), &doc, &err), CHIO_EJSON_DUPKEY);
    cr_expect_eq(unsafe(err.message), 0, "%s", err.message);
    cr_expect_not_null(strstr(err.message, "key \"a?[2J???z\" appears twice"), "%s", err.message);

    /* 'x' then 40 two-byte characters: byte 64 is the first half of one */
    key[o++] = 'x';
    for (i = 0; i < 40; i++) {
        key[o++] = (char)0xc3;
        key[o++] = (char)0xa9;
    }
    key[o] = '\0';
    snprintf(json, sizeof(json), "{\"%s\":1,\"%s\":2}", key, key);
    chio_error_init(&err);
    cr_assert_eq(chio_json_parse(json, strlen(json), &doc, &err), CHIO_EJSON_DUPKEY);
    cr_expect_eq(unsafe(err.message), 0, "%s", err.message);
    cr_expect_not_null(strstr(err.message, "\" appears twice"), "%s", err.message);
}

/* Evaluate @args in a new session of a token allowing everything. */
static int eval(chio_kernel *k, const char *args, chio_error *err)
{
    static unsigned n;
    char sid[CHIO_SESSION_ID_LEN + 1], id[32], *tok;
    const char *caps[1];
    chio_response r;
    chio_call c;
    int rc;

    snprintf(id, sizeof(id), "cap-r28-%u", ++n);
    tok = tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB,
                   "{\"grants\":[{\"server_id\":\"*\",\"tool_name\":\"*\","
                   "\"operations\":[\"invoke\"]}]}",
                   NOW - 10, 1000, NULL, 0);
    cr_assert_not_null(tok);
    caps[0] = tok;
    chio_error_init(err);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, err), 0, "%s",
                 err->message);
    memset(&c, 0, sizeof(c));
    c.session_id = sid;
    c.capability_id = id;
    c.server_id = "srv";
    c.tool_name = "t";
    c.arguments_json = args;
    c.arguments_len = strlen(args);
    chio_error_init(err);
    rc = chio_kernel_evaluate(k, &c, &r, err);
    chio_response_destroy(&r);
    free(tok);
    return rc;
}

static chio_kernel *echo_kernel(void)
{
    static const char *const tools[] = {"t"};
    chio_kernel_config cfg;
    chio_kernel *k;

    kt_config(&cfg, NULL);
    cfg.clock = clock_fn;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    kt_serve_echo(k, "srv", tools, 1);
    return k;
}

Test(rev28_observe, an_argument_error_does_not_quote_a_key_secret_leak_guards_read)
{
    static const char *const patterns[] = {"AKIA[0-9A-Z]{16}"};
    const char *args = "{\"" SECRET "\":1,\"" SECRET "\":2}";
    chio_kernel *k = echo_kernel();
    chio_error err;

    /* without secret_leak guards the key helps the host find the fault */
    cr_expect_eq(eval(k, args, &err), CHIO_EJSON_DUPKEY);
    cr_expect_not_null(strstr(err.message, SECRET), "%s", err.message);
    chio_kernel_free(k);

    k = echo_kernel();
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_add_secret_leak_guard(k, "Secrets", patterns, 1, &err), 0);
    cr_expect_eq(eval(k, args, &err), CHIO_EJSON_DUPKEY);
    cr_expect_null(strstr(err.message, "AKIA"), "the error quotes the secret: %s", err.message);
    cr_expect_not_null(strstr(err.message, "not quoted"), "%s", err.message);
    cr_expect_eq(err.offset, strlen("{\"" SECRET "\":1,"), "%zu", err.offset);
    chio_kernel_free(k);
}

Test(rev28_observe, receipt_verify_prints_no_escape_sequence_from_a_hostile_file)
{
    char *dir = testutil_tmpdir(), path[512];
    const char *text =
        "{\"a\\u001b[2J\\u001b]0;owned\\u0007\":1,\"a\\u001b[2J\\u001b]0;owned\\u0007\":2}";
    const char *argv[] = {"receipt", "verify", path, NULL};
    cli_result r;

    snprintf(path, sizeof(path), "%s/r.json", dir);
    cr_assert_eq(testutil_write_file(path, text, strlen(text), 0644), 0);
    r = testutil_run_cli(argv, NULL, 0);
    cr_expect_neq(r.status, 0);
    cr_expect_not_null(strstr(r.err, "appears twice"), "%s", r.err);
    cr_expect_null(memchr(r.err, 0x1b, r.err_len), "ESC on stderr: %s", r.err);
    cr_expect_null(memchr(r.err, 0x07, r.err_len), "BEL on stderr: %s", r.err);
    cr_expect_null(memchr(r.out, 0x1b, r.out_len), "ESC on stdout: %s", r.out);
    testutil_cli_free(&r);
    testutil_rmrf(dir);
    free(dir);
}

Test(rev28_observe, error_messages_quote_input_without_controls_or_broken_utf8)
{
    /* a schema holding OSC (sets a terminal's title), BEL, CSI, a C1 CSI
     * and 40 two-byte characters: the message quotes 64 bytes of it */
    char json[512], schema[200];
    chio_capability *cap = NULL;
    chio_error err;
    size_t i, o = 0;

    o += (size_t)snprintf(schema, sizeof(schema), "x\\u001b]0;pwned\\u0007\\u001b[2J\\u009bq");
    for (i = 0; i < 40; i++) {
        schema[o++] = (char)0xc3;
        schema[o++] = (char)0xa9;
    }
    schema[o] = '\0';
    snprintf(json, sizeof(json), "{\"schema\":\"%s\",\"id\":\"a\"}", schema);
    chio_error_init(&err);
    cr_assert_eq(chio_capability_parse(json, strlen(json), &cap, &err), CHIO_ESCHEMA);
    cr_expect_eq(unsafe(err.message), 0, "%s", err.message);
    cr_expect_not_null(strstr(err.message, "schema \"x?]0;pwned??[2J?q"), "%s", err.message);
}

Test(rev28_observe, capability_verify_prints_no_escape_sequence_from_a_hostile_token)
{
    char *dir = testutil_tmpdir(), path[512];
    const char *text = "{\"schema\":\"x\\u001b]0;pwned\\u0007\\u001b[2J\",\"id\":\"a\"}";
    const char *argv[] = {"capability", "verify", "--at", "1", path, NULL};
    cli_result r;

    snprintf(path, sizeof(path), "%s/cap.json", dir);
    cr_assert_eq(testutil_write_file(path, text, strlen(text), 0644), 0);
    r = testutil_run_cli(argv, NULL, 0);
    cr_expect_neq(r.status, 0);
    cr_expect_not_null(strstr(r.err, "schema"), "%s", r.err);
    cr_expect_null(memchr(r.err, 0x1b, r.err_len), "ESC on stderr: %s", r.err);
    cr_expect_null(memchr(r.err, 0x07, r.err_len), "BEL on stderr: %s", r.err);
    testutil_cli_free(&r);
    testutil_rmrf(dir);
    free(dir);
}

/* ---- guards: what the kernel's log and metrics already hold to ---------------------------- */

typedef struct sink {
    pthread_mutex_t mu;
    int lines, bad, forged;
} sink;

static void sink_fn(void *ctx, chio_log_level level, const char *json, size_t len)
{
    sink *s = ctx;
    chio_json_doc *doc = NULL;
    int bad;

    (void)level;
    bad = memchr(json, '\n', len) != NULL || chio_json_parse(json, len, &doc, NULL) != 0 ||
          chio_json_typeof(chio_json_root(doc)) != CHIO_JSON_OBJECT;
    pthread_mutex_lock(&s->mu);
    s->lines++;
    s->bad += bad;
    s->forged += memmem(json, len, "forged", 6) != NULL || memchr(json, 0x1b, len) != NULL;
    pthread_mutex_unlock(&s->mu);
    chio_json_doc_free(doc);
}

/* Lines of the Prometheus text of @k. */
static int metrics_lines(chio_kernel *k)
{
    char *text = NULL;
    size_t len = 0, i;
    int n = 0;

    cr_assert_eq(chio_kernel_metrics_prometheus(k, &text, &len), 0);
    for (i = 0; i < len; i++)
        n += text[i] == '\n';
    chio_free(text);
    return n;
}

Test(rev28_observe, hostile_names_add_no_log_line_and_no_metric_sample)
{
    static const char *const tools[] = {"t"};
    const char *hostile = "t\n{\"ts\":1,\"level\":\"error\",\"event\":\"forged\"}\x1b[2J";
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_error err;
    sink s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    char name[64], args[96], sid[CHIO_SESSION_ID_LEN + 1];
    int before, i;

    kt_config(&cfg, NULL);
    cfg.clock = clock_fn;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_DEBUG;
    cfg.log = sink_fn;
    cfg.log_ctx = &s;
    k = kt_kernel(&cfg);
    kt_serve_echo(k, "srv", tools, 1);
    eval(k, "{}", &err); /* started: the counters' lines are all there */
    before = metrics_lines(k);
    /* made-up tools and arguments naming the forged line, and a revocation of such an id */
    for (i = 0; i < 2000; i++) {
        chio_response r;
        chio_call c;
        const char *caps[1];
        char *tok;

        if (i % 500 == 0) {
            tok = tk_token(TK_KERNEL_SEED, "cap-r28-h", TK_AGENT_PUB,
                           "{\"grants\":[{\"server_id\":\"*\",\"tool_name\":\"*\","
                           "\"operations\":[\"invoke\"]}]}",
                           NOW - 10, 1000, NULL, 0);
            caps[0] = tok;
            cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0,
                         "%s", err.message);
            free(tok);
        }
        snprintf(name, sizeof(name), "%s-%d", hostile, i);
        snprintf(args, sizeof(args), "{\"q\":\"\\n{\\\"event\\\":\\\"forged\\\"}\\u001b[2J%d\"}",
                 i);
        memset(&c, 0, sizeof(c));
        c.session_id = sid;
        c.capability_id = "cap-r28-h";
        c.server_id = i % 2 ? "srv" : hostile;
        c.tool_name = name;
        c.arguments_json = args;
        c.arguments_len = strlen(args);
        cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
        chio_response_destroy(&r);
    }
    chio_kernel_revoke_capability(k, hostile, &err);
    cr_expect_eq(metrics_lines(k), before, "the Prometheus text grew with made-up names");
    chio_kernel_free(k);
    cr_expect_gt(s.lines, 0);
    cr_expect_eq(s.bad, 0, "%d of %d log lines are not one JSON object", s.bad, s.lines);
    cr_expect_eq(s.forged, 0, "%d log lines carry the caller's text", s.forged);
}

/* ---- the Prometheus text under a host's locale --------------------------------------------- */

static void signed_cb(void *ctx, int rc, chio_receipt *receipt)
{
    (void)rc;
    chio_receipt_free(receipt);
    __atomic_add_fetch((int *)ctx, 1, __ATOMIC_SEQ_CST);
}

#if defined(__SANITIZE_ADDRESS__)
/* glibc keeps the LOCPATH list newlocale() parses (an argz vector) for the
 * life of the process, so LeakSanitizer reports it when the locale test's
 * process exits under `make asan`: glibc's allocation, not ours. Exported,
 * so that the sanitizer runtime finds it (objects are built hidden). */
const char *__lsan_default_suppressions(void);
__attribute__((visibility("default"))) const char *__lsan_default_suppressions(void)
{
    return "leak:__argz_add_sep\n";
}
#endif

/* A locale whose decimal point is ',' (LC_NUMERIC only), compiled with the
 * system's localedef into @dir; NULL when it cannot be made. */
static locale_t comma_locale(const char *dir)
{
    static const char src[] = "LC_NUMERIC\ndecimal_point \",\"\nthousands_sep \".\"\n"
                              "grouping 3;3\nEND LC_NUMERIC\n";
    char srcpath[512], out[512];
    const char *argv[] = {"localedef", "-c", "-i", srcpath, "-f", "UTF-8", out, NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int st;

    snprintf(srcpath, sizeof(srcpath), "%s/comma.src", dir);
    snprintf(out, sizeof(out), "%s/comma.UTF-8", dir);
    cr_assert_eq(testutil_write_file(srcpath, src, strlen(src), 0644), 0);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    cr_assert_eq(posix_spawnp(&pid, "localedef", &fa, NULL, (char *const *)argv, environ), 0,
                 "localedef cannot run");
    posix_spawn_file_actions_destroy(&fa);
    waitpid(pid, &st, 0); /* exit 1: warnings about the categories not defined */
    setenv("LOCPATH", dir, 1);
    return newlocale(LC_NUMERIC_MASK, "comma.UTF-8", (locale_t)0);
}

Test(rev28_observe, the_prometheus_text_is_the_same_under_a_locale_writing_decimal_commas)
{
    char *dir = testutil_tmpdir(), *text = NULL, probe[16];
    chio_kernel_config cfg;
    chio_kernel_metrics m;
    chio_kernel *k;
    chio_error err;
    locale_t comma = comma_locale(dir), prev;
    uint64_t n = 0, end = testutil_now_ms() + 30000;
    size_t len = 0;
    const char *p;
    int done = 0, sent = 0;

    cr_assert_neq(comma, (locale_t)0, "no locale with a decimal comma could be made");
    prev = uselocale(comma);
    snprintf(probe, sizeof(probe), "%.1f", 1.5);
    cr_assert_str_eq(probe, "1,5", "the locale writes decimal commas");
    uselocale(prev);

    kt_config(&cfg, NULL);
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    chio__kernel_slow_commits(k, 2000); /* receipts wait and group */
    chio_error_init(&err);
    /* bursts of three until the average group is not whole (a batch of 1, then of 2) */
    do {
        int i;
        for (i = 0; i < 3; i++, sent++)
            cr_assert_eq(chio_kernel_sign_receipt_async(k, kt_builder(++n), signed_cb, &done, &err),
                         0, "%s", err.message);
        while (__atomic_load_n(&done, __ATOMIC_SEQ_CST) < sent && testutil_now_ms() < end)
            testutil_nap_ms(1);
        cr_assert_eq(chio_kernel_metrics_get(k, &m), 0);
    } while (m.avg_batch == (double)(uint64_t)m.avg_batch && testutil_now_ms() < end);
    cr_assert_neq(m.avg_batch, (double)(uint64_t)m.avg_batch, "no fractional average in 30 s");

    prev = uselocale(comma);
    cr_assert_eq(chio_kernel_metrics_prometheus(k, &text, &len), 0);
    uselocale(prev);
    p = strstr(text, "\nchio_signing_batch_size_avg ");
    cr_assert_not_null(p, "%s", text);
    p += strlen("\nchio_signing_batch_size_avg ");
    cr_expect(p[strcspn(p, "\n")] == '\n' && memchr(p, ',', strcspn(p, "\n")) == NULL &&
                  memchr(p, '.', strcspn(p, "\n")) != NULL,
              "the average is not a Prometheus number: %.*s", (int)strcspn(p, "\n"), p);
    for (p = text; *p != '\0'; p += strcspn(p, "\n") + 1) /* samples: no comma at all */
        if (*p != '#')
            cr_expect_null(memchr(p, ',', strcspn(p, "\n")), "%.*s", (int)strcspn(p, "\n"), p);
    chio_free(text);
    freelocale(comma);
    chio_kernel_free(k);
    testutil_rmrf(dir);
    free(dir);
}
