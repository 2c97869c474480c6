/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_cli_store.c - the CLI over a kernel's receipt log: receipt
 * list (filters, --from-seq/--limit/--last/--reverse, the count left out,
 * table and JSON Lines, the terminal default, bad values, exact stored
 * bytes, while the kernel still has the database open), receipt verify --receipt-db (clean,
 * tampered, missing), checkpoint list / prove / verify-proof, and chio bench.
 */
#include <criterion/criterion.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "store_internal.h"

static char *dir, *db;

static void setup(void)
{
    dir = testutil_tmpdir();
    cr_assert_geq(asprintf(&db, "%s/db", dir), 0);
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
    free(db);
}

static cli_result run(const char *in, const char *const *argv)
{
    return testutil_run_cli(argv, in, in ? strlen(in) : 0);
}

#define RUN(in, ...) run(in, (const char *const[]){__VA_ARGS__, NULL})

static size_t lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* @n receipts: every third a deny, tool names alternate, timestamps 1000+i. */
static chio_kernel *fill(uint64_t n, uint64_t batch, int drain)
{
    chio_kernel_config cfg;
    chio_kernel *k;
    uint64_t i;

    kt_config(&cfg, db);
    cfg.checkpoint_batch_size = batch;
    k = kt_kernel(&cfg);
    for (i = 0; i < n; i++) {
        chio_receipt_builder *b = kt_builder(i);
        chio_receipt *r;
        chio_receipt_builder_set_timestamp(b, 1000 + i);
        chio_receipt_builder_set_tool(b, "srv-files", i % 2 ? "file_write" : "file_read");
        if (i % 3 == 2)
            chio_receipt_builder_set_decision(b, CHIO_VERDICT_DENY, "path is forbidden",
                                              "ForbiddenPathGuard");
        cr_assert_eq(chio_kernel_sign_receipt(k, b, &r, NULL), 0);
        chio_receipt_free(r);
    }
    if (drain) {
        chio_kernel_free(k);
        return NULL;
    }
    return k;
}

TestSuite(cli_store, .init = setup, .fini = teardown);

Test(cli_store, list_prints_stored_bytes_oldest_first)
{
    chio_store *s;
    cli_result r;
    char *first;
    size_t len;

    fill(60, 10, 1);
    r = RUN(NULL, "receipt", "list", "--receipt-db", db);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect_eq(lines(r.out), 50, "default limit 50");
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_assert_eq(chio_store_get_receipt(s, 1, &first, &len, NULL), 0);
    cr_expect_eq(strncmp(r.out, first, len), 0, "first line is seq 1, byte for byte");
    cr_expect_eq(r.out[len], '\n');
    chio_free(first);
    chio_store_close(s);
    testutil_cli_free(&r);

    r = RUN(NULL, "receipt", "list", "--receipt-db", db, "--limit", "0");
    cr_expect_eq(lines(r.out), 60);
    testutil_cli_free(&r);
    r = RUN(NULL, "receipt", "list", "--receipt-db", db, "--limit", "3");
    cr_expect_eq(lines(r.out), 3);
    testutil_cli_free(&r);
    r = RUN(NULL, "receipt", "list", "--receipt-db", db, "--outcome", "deny", "--limit", "0");
    cr_expect_eq(lines(r.out), 20);
    cr_expect_null(strstr(r.out, "\"verdict\":\"allow\""));
    testutil_cli_free(&r);
    r = RUN(NULL, "receipt", "list", "--receipt-db", db, "--tool-name", "file_write", "--limit",
            "0");
    cr_expect_eq(lines(r.out), 30);
    testutil_cli_free(&r);
    r = RUN(NULL, "receipt", "list", "--receipt-db", db, "--since", "1010", "--until", "1019",
            "--tool-server", "srv-files");
    cr_expect_eq(lines(r.out), 10);
    cr_expect(strstr(r.out, "\"timestamp\":1010") != NULL);
    testutil_cli_free(&r);
    r = RUN(NULL, "receipt", "list", "--receipt-db", db, "--outcome", "maybe");
    cr_expect_eq(r.status, 2);
    testutil_cli_free(&r);
    r = RUN(NULL, "receipt", "list");
    cr_expect_eq(r.status, 2, "--receipt-db is required");
    testutil_cli_free(&r);
    r = RUN(NULL, "receipt", "list", "--receipt-db", "/nonexistent/db");
    cr_expect_eq(r.status, 2);
    testutil_cli_free(&r);
}

/* Line @i (0-based) of @out equals the stored bytes of receipt @seq. */
static void expect_line_is_seq(const char *out, size_t i, uint64_t seq)
{
    chio_store *s;
    char *want;
    size_t len;
    const char *p = out;

    while (i-- > 0 && p != NULL)
        p = (p = strchr(p, '\n')) ? p + 1 : NULL;
    cr_assert_not_null(p, "no such line");
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_assert_eq(chio_store_get_receipt(s, seq, &want, &len, NULL), 0);
    cr_expect(strncmp(p, want, len) == 0 && p[len] == '\n', "expected seq %llu, got %.80s",
              (unsigned long long)seq, p);
    chio_free(want);
    chio_store_close(s);
}

/* Every line of @out is one whole receipt. */
static void expect_jsonl_receipts(const char *out, size_t n)
{
    const char *p = out, *nl;
    size_t got = 0;

    while ((nl = strchr(p, '\n')) != NULL) {
        chio_receipt *r = NULL;
        cr_expect_eq(chio_receipt_parse(p, (size_t)(nl - p), &r, NULL), 0, "line %zu: %.80s",
                     got + 1, p);
        chio_receipt_free(r);
        got++;
        p = nl + 1;
    }
    cr_expect_eq(*p, '\0', "output ends with a newline");
    cr_expect_eq(got, n);
}

Test(cli_store, list_selects_orders_and_counts)
{
    cli_result r;

    fill(60, 10, 1);
    r = RUN(NULL, "receipt", "list", "--receipt-db", db);
    expect_jsonl_receipts(r.out, 50);
    expect_line_is_seq(r.out, 0, 1);
    expect_line_is_seq(r.out, 49, 50);
    cr_expect_not_null(strstr(r.err, "showed 50 of 60 matching receipts; 10 not shown"), "%s",
                       r.err);
    testutil_cli_free(&r);

    r = RUN(NULL, "receipt", "list", "--receipt-db", db, "--last", "5");
    expect_jsonl_receipts(r.out, 5);
    expect_line_is_seq(r.out, 0, 56);
    expect_line_is_seq(r.out, 4, 60);
    cr_expect_eq(r.err_len, 0, "a limit asked for is not reported: %s", r.err);
    testutil_cli_free(&r);
    r = RUN(NULL, "receipt", "list", "--receipt-db", db, "--last", "5", "--reverse");
    expect_jsonl_receipts(r.out, 5);
    expect_line_is_seq(r.out, 0, 60);
    expect_line_is_seq(r.out, 4, 56);
    testutil_cli_free(&r);
    r = RUN(NULL, "receipt", "list", "--receipt-db", db, "--reverse");
    expect_jsonl_receipts(r.out, 50);
    expect_line_is_seq(r.out, 0, 60);
    expect_line_is_seq(r.out, 49, 11);
    cr_expect_not_null(strstr(r.err, "showed 50 of 60 matching receipts; 10 not shown"), "%s",
                       r.err);
    testutil_cli_free(&r);
    /* the default limit, counted from --from-seq and among filter matches */
    r = RUN(NULL, "receipt", "list", "--receipt-db", db, "--from-seq", "5");
    expect_jsonl_receipts(r.out, 50);
    expect_line_is_seq(r.out, 0, 5);
    cr_expect_not_null(strstr(r.err, "showed 50 of 56 matching receipts; 6 not shown"), "%s",
                       r.err);
    testutil_cli_free(&r);
    r = RUN(NULL, "receipt", "list", "--receipt-db", db, "--tool-name", "file_read");
    expect_jsonl_receipts(r.out, 30);
    cr_expect_eq(r.err_len, 0, "all 30 matches shown: %s", r.err);
    testutil_cli_free(&r);

    /* --from-seq bounds the start; --limit takes the oldest, --last the newest */
    r = RUN(NULL, "receipt", "list", "--receipt-db", db, "--from-seq", "20", "--limit", "3");
    expect_jsonl_receipts(r.out, 3);
    expect_line_is_seq(r.out, 0, 20);
    expect_line_is_seq(r.out, 2, 22);
    cr_expect_eq(r.err_len, 0, "%s", r.err);
    testutil_cli_free(&r);
    r = RUN(NULL, "receipt", "list", "--receipt-db", db, "--from-seq", "20", "--last", "3");
    expect_jsonl_receipts(r.out, 3);
    expect_line_is_seq(r.out, 0, 58);
    testutil_cli_free(&r);
    r = RUN(NULL, "receipt", "list", "--receipt-db", db, "--from-seq", "59", "--last", "10");
    expect_jsonl_receipts(r.out, 2);
    expect_line_is_seq(r.out, 0, 59);
    cr_expect_eq(r.err_len, 0, "nothing left out: %s", r.err);
    testutil_cli_free(&r);

    /* with filters: denies are seqs 3, 6, ..., 60 */
    r = RUN(NULL, "receipt", "list", "--receipt-db", db, "--outcome", "deny", "--last", "2");
    expect_jsonl_receipts(r.out, 2);
    expect_line_is_seq(r.out, 0, 57);
    expect_line_is_seq(r.out, 1, 60);
    cr_expect_eq(r.err_len, 0, "%s", r.err);
    testutil_cli_free(&r);
    r = RUN(NULL, "receipt", "list", "--receipt-db", db, "--outcome", "deny", "--from-seq", "50",
            "--reverse", "--format", "jsonl");
    expect_jsonl_receipts(r.out, 4);
    expect_line_is_seq(r.out, 0, 60);
    expect_line_is_seq(r.out, 3, 51);
    testutil_cli_free(&r);
    r = RUN(NULL, "receipt", "list", "--receipt-db", db, "--limit", "0");
    expect_jsonl_receipts(r.out, 60);
    cr_expect_eq(r.err_len, 0, "%s", r.err);
    testutil_cli_free(&r);
}

Test(cli_store, list_table_format)
{
    cli_result r;
    const char *row;

    fill(6, 10, 1);
    r = RUN(NULL, "receipt", "list", "--receipt-db", db, "--format", "table");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect_eq(lines(r.out), 7, "a header and 6 rows: %s", r.out);
    cr_expect(strncmp(r.out, "     SEQ  TIME (UTC)", 20) == 0, "%s", r.out);
    cr_expect_not_null(strstr(r.out, "CAPABILITY"));
    row = strstr(r.out, "\n       3  ");
    cr_assert_not_null(row, "%s", r.out);
    cr_expect(strncmp(row + 11, "1970-01-01 00:16:42   deny", 26) == 0, "%.120s", row);
    cr_expect_not_null(strstr(row, "guard_denied (ForbiddenPathGuard)"), "%.120s", row);
    cr_expect_not_null(strstr(row, "srv-files/file_read"), "%.120s", row);
    cr_expect_not_null(strstr(r.out, "\n       1  1970-01-01 00:16:40   allow       none "), "%s",
                       r.out);
    cr_expect_null(strstr(r.out, "{\""), "no JSON in the table");
    testutil_cli_free(&r);
    r = RUN(NULL, "receipt", "list", "--receipt-db", db, "--format", "table", "--since", "5000");
    cr_expect_eq(r.status, 0);
    cr_expect_eq(r.out_len, 0);
    cr_expect_not_null(strstr(r.err, "no matching receipts"), "%s", r.err);
    testutil_cli_free(&r);
}

/* Run chio with its stdout on a pseudo-terminal; returns what it wrote. */
static char *run_on_tty(const char *const *args)
{
    const char *argv[16] = {CHIO_TEST_CLI};
    char *out = calloc(1, 65536), *slave;
    size_t len = 0, i;
    ssize_t got;
    int master, fd, status;
    pid_t pid;

    for (i = 0; args[i] != NULL && i < 14; i++)
        argv[i + 1] = args[i];
    master = posix_openpt(O_RDWR | O_NOCTTY);
    cr_assert_geq(master, 0);
    cr_assert_eq(grantpt(master), 0);
    cr_assert_eq(unlockpt(master), 0);
    slave = ptsname(master);
    cr_assert_not_null(slave);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        fd = open(slave, O_RDWR | O_NOCTTY);
        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
            _exit(99);
        execv(CHIO_TEST_CLI, (char *const *)argv);
        _exit(98);
    }
    /* read until the child is gone and the terminal has nothing more (EIO) */
    while (len < 65535 && (got = read(master, out + len, 65535 - len)) > 0)
        len += (size_t)got;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
    close(master);
    return out;
}

Test(cli_store, list_defaults_to_a_table_on_a_terminal_and_format_wins)
{
    char *out;

    fill(3, 10, 1);
    out = run_on_tty((const char *const[]){"receipt", "list", "--receipt-db", db, NULL});
    cr_expect_not_null(strstr(out, "SEQ"), "a terminal gets the table: %s", out);
    cr_expect_null(strstr(out, "{\""), "%s", out);
    free(out);
    out = run_on_tty(
        (const char *const[]){"receipt", "list", "--receipt-db", db, "--format", "jsonl", NULL});
    cr_expect_null(strstr(out, "SEQ"), "--format jsonl wins on a terminal: %s", out);
    cr_expect_not_null(strstr(out, "{\"action\""), "%s", out);
    free(out);
}

Test(cli_store, list_rejects_bad_values)
{
    static const char *const bad[][3] = {
        {"--format", "xml", "--format must be table or jsonl"},
        {"--last", "0", "--last must be a positive integer"},
        {"--last", "x", "--last must be a positive integer"},
        {"--from-seq", "0", "--from-seq must be a sequence number"},
        {"--from-seq", "-3", "--from-seq must be a sequence number"},
        {"--limit", "-1", "--limit must be a non-negative integer"}};
    cli_result r;
    size_t i;

    fill(3, 10, 1);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = RUN(NULL, "receipt", "list", "--receipt-db", db, bad[i][0], bad[i][1]);
        cr_expect_eq(r.status, 2, "%s %s", bad[i][0], bad[i][1]);
        cr_expect_not_null(strstr(r.err, bad[i][2]), "%s %s: %s", bad[i][0], bad[i][1], r.err);
        cr_expect_eq(r.out_len, 0);
        testutil_cli_free(&r);
    }
    r = RUN(NULL, "receipt", "list", "--receipt-db", db, "--limit", "3", "--last", "3");
    cr_expect_eq(r.status, 2);
    cr_expect_not_null(strstr(r.err, "not both"), "%s", r.err);
    testutil_cli_free(&r);
    r = RUN(NULL, "receipt", "list", "--receipt-db", db, "--reverse", "--tail");
    cr_expect_eq(r.status, 2);
    cr_expect_not_null(strstr(r.err, "--reverse cannot be combined with --tail"), "%s", r.err);
    testutil_cli_free(&r);
}

Test(cli_store, list_works_while_the_kernel_has_the_log_open)
{
    chio_kernel *k = fill(7, 100, 0);
    cli_result r = RUN(NULL, "receipt", "list", "--receipt-db", db);

    cr_expect_eq(r.status, 0, "%s", r.err);
    cr_expect_eq(lines(r.out), 7, "a secondary instance sees the live primary's receipts");
    testutil_cli_free(&r);
    r = RUN(NULL, "receipt", "verify", "--receipt-db", db, "--trusted-key", TEST_PUB);
    cr_expect_eq(r.status, 0, "%s%s", r.out, r.err);
    testutil_cli_free(&r);
    chio_kernel_free(k);
}

Test(cli_store, verify_a_clean_log)
{
    cli_result r;

    fill(12, 5, 1);
    r = RUN(NULL, "receipt", "verify", "--receipt-db", db, "--trusted-key", TEST_PUB);
    cr_expect_eq(r.status, 0, "%s", r.out);
    cr_expect_str_eq(r.out, "{\"receipts\":12,\"first_seq\":1,\"last_seq\":12,\"gaps\":0,"
                            "\"invalid\":0,\"checkpoints\":2,\"checkpoints_valid\":2,"
                            "\"signer\":\"" TEST_PUB "\",\"signer_pinned_by\":\"flag\","
                            "\"head_seq\":12,\"chain_from\":1,\"log_problems\":0,"
                            "\"legacy\":false,\"unchained\":0,\"archive\":false}\n");
    testutil_cli_free(&r);
    /* without --trusted-key: pinned to the key the store recorded */
    r = RUN(NULL, "receipt", "verify", "--receipt-db", db);
    cr_expect_eq(r.status, 0, "%s", r.out);
    cr_expect(strstr(r.out, "\"signer\":\"" TEST_PUB "\",\"signer_pinned_by\":\"store\"") != NULL,
              "%s", r.out);
    testutil_cli_free(&r);
    /* a key that is not the kernel's: every receipt and checkpoint untrusted */
    r = RUN(NULL, "receipt", "verify", "--receipt-db", db, "--trusted-key",
            "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a");
    cr_expect_eq(r.status, 1);
    cr_expect(strstr(r.out, "\"invalid\":12") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "\"reason\":\"untrusted\"") != NULL);
    cr_expect(strstr(r.out, "{\"problem\":\"store_key_untrusted\"") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "{\"problem\":\"invalid_log_head\",\"seq\":12,") != NULL, "%s", r.out);
    testutil_cli_free(&r);
}

/* Rewrite or delete receipt @seq in the closed log. */
static void tamper(uint64_t seq, const char *from, const char *to)
{
    chio_store *s;
    chio__store_batch *b;
    char *json, *mod = NULL, *at;
    size_t len;

    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_WRITE, &s, NULL), 0);
    b = chio__store_batch_new();
    cr_assert_eq(chio_store_get_receipt(s, seq, &json, &len, NULL), 0);
    if (from != NULL) {
        at = strstr(json, from);
        cr_assert_not_null(at);
        cr_assert_geq(asprintf(&mod, "%.*s%s%s", (int)(at - json), json, to, at + strlen(from)), 0);
        chio_receipt *r;
        cr_assert_eq(chio_receipt_parse(json, len, &r, NULL), 0);
        chio__store_batch_put_receipt(b, s, seq, mod, strlen(mod), chio_receipt_id(r));
        chio_receipt_free(r);
    }
    cr_assert_eq(chio__store_write(s, b, 1, NULL), 0);
    chio__store_batch_free(b);
    chio_free(json);
    free(mod);
    chio_store_close(s);
}

Test(cli_store, verify_reports_the_tampered_sequence_number)
{
    cli_result r;

    fill(12, 5, 1);
    tamper(3, "\"timestamp\":1002", "\"timestamp\":1003");
    r = RUN(NULL, "receipt", "verify", "--receipt-db", db);
    cr_expect_eq(r.status, 1);
    cr_expect(strstr(r.out, "{\"problem\":\"invalid_receipt\",\"seq\":3,") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "\"problem\":\"invalid_checkpoint\",\"checkpoint_seq\":1,"
                            "\"reason\":\"merkle_root\"") != NULL,
              "%s", r.out);
    cr_expect(strstr(r.out, "\"invalid\":1,\"checkpoints\":2,\"checkpoints_valid\":1,") != NULL,
              "%s", r.out);
    cr_expect_null(strstr(r.out, "\"seq\":4,"), "only the tampered receipt is named");
    testutil_cli_free(&r);
}

Test(cli_store, checkpoint_list_prove_and_verify_proof)
{
    chio_store *s;
    char *json, *proof;
    size_t len;
    chio_receipt *rc;
    cli_result r;

    fill(12, 5, 1);
    r = RUN(NULL, "checkpoint", "list", "--receipt-db", db);
    cr_assert_eq(r.status, 0);
    cr_expect_eq(lines(r.out), 2);
    cr_expect(strstr(r.out, "\"schema\":\"chio.checkpoint_statement.v1\"") != NULL);
    cr_expect(strstr(r.out, "\"previous_checkpoint_sha256\"") != NULL, "the second chains");
    testutil_cli_free(&r);

    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_assert_eq(chio_store_get_receipt(s, 7, &json, &len, NULL), 0);
    chio_store_close(s);
    cr_assert_eq(chio_receipt_parse(json, len, &rc, NULL), 0);
    r = RUN(NULL, "checkpoint", "prove", "--receipt-db", db, "--receipt", chio_receipt_id(rc));
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "\"checkpoint_seq\":2") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "\"receipt_seq\":7") != NULL);
    cr_expect(strstr(r.out, "\"leaf_index\":1") != NULL);
    cr_expect(strstr(r.out, "\"tree_size\":5") != NULL);
    proof = strdup(r.out);
    testutil_cli_free(&r);

    r = RUN(proof, "checkpoint", "verify-proof", "--receipt-db", db, "--trusted-key", TEST_PUB);
    cr_expect_eq(r.status, 0, "%s %s", r.out, r.err);
    cr_expect(strstr(r.out, "\"ok\":true") != NULL);
    cr_expect(strstr(r.out, "\"checkpoint_valid\":true") != NULL);
    testutil_cli_free(&r);

    /* the proof against a different receipt */
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    char *json8;
    size_t len8;
    cr_assert_eq(chio_store_get_receipt(s, 8, &json8, &len8, NULL), 0);
    chio_store_close(s);
    char *f;
    cr_assert_geq(asprintf(&f, "%s/r8.json", dir), 0);
    cr_assert_eq(testutil_write_file(f, json8, len8, 0600), 0);
    r = RUN(proof, "checkpoint", "verify-proof", "--receipt", f);
    cr_expect_eq(r.status, 1, "%s", r.out);
    cr_expect(strstr(r.out, "\"inclusion_valid\":false") != NULL);
    testutil_cli_free(&r);

    /* not covered yet: receipts 11 and 12 */
    r = RUN(NULL, "checkpoint", "prove", "--receipt-db", db, "--seq", "11");
    cr_expect_eq(r.status, 1);
    cr_expect(strstr(r.err, "not covered") != NULL, "%s", r.err);
    testutil_cli_free(&r);
    r = RUN(NULL, "checkpoint", "prove", "--receipt-db", db, "--receipt", "no-such-id");
    cr_expect_eq(r.status, 2);
    testutil_cli_free(&r);
    r = RUN("{}", "checkpoint", "verify-proof", "--receipt", f);
    cr_expect_eq(r.status, 2);
    testutil_cli_free(&r);
    free(f);
    chio_free(json8);
    free(proof);
    chio_receipt_free(rc);
    chio_free(json);
}

/* A seed file (mode 0600) for runs that must share one kernel key: a
 * store is pinned to the key that created it. */
static char *seed_file(void)
{
    char *path;
    FILE *f;

    cr_assert_geq(asprintf(&path, "%s/bench.seed", dir), 0);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(TEST_SEED "\n", f);
    fclose(f);
    cr_assert_eq(chmod(path, 0600), 0);
    return path;
}

Test(cli_store, bench_reports_json_and_continues_a_log)
{
    char *seed = seed_file();
    cli_result r = RUN(NULL, "bench", "--receipt-db", db, "--threads", "4", "--calls", "200",
                       "--durability", "nosync", "--seed-file", seed, "--json");
    const char *keys[] = {
        "calls",         "threads",          "signers",         "durability",
        "calls_per_sec", "raw_sign_per_sec", "ratio_to_raw",    "p50_us",
        "p99_us",        "p999_us",          "avg_batch",       "blocked",
        "raw_sign_us",   "fsync_p50_us",     "cpu_per_call_us", "cpu_per_call_to_sign",
        "limit_per_sec", "ratio_to_limit"};
    double d_raw = 0, d_cpu = 0, d_limit = 0;
    chio_json_doc *d;
    size_t i;
    uint64_t v;

    cr_assert_eq(r.status, 0, "%s %s", r.out, r.err);
    cr_assert_eq(chio_json_parse(r.out, r.out_len, &d, NULL), 0, "%s", r.out);
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        cr_expect_not_null(chio_json_get(chio_json_root(d), keys[i]), "missing %s", keys[i]);
    cr_expect_eq(chio_json_get_uint64(chio_json_get(chio_json_root(d), "calls"), &v), 0);
    cr_expect_eq(v, 200);
    /* full evaluations by default; the limits and CPU are measured */
    cr_expect_str_eq(chio_json_string(chio_json_get(chio_json_root(d), "mode"), NULL), "evaluate");
    cr_expect_eq(chio_json_get_double(chio_json_get(chio_json_root(d), "raw_sign_us"), &d_raw), 0);
    cr_expect_eq(chio_json_get_double(chio_json_get(chio_json_root(d), "cpu_per_call_us"), &d_cpu),
                 0);
    cr_expect_eq(chio_json_get_double(chio_json_get(chio_json_root(d), "limit_per_sec"), &d_limit),
                 0);
    cr_expect(d_raw > 0 && d_cpu > 0 && d_limit > 0, "raw %f cpu %f limit %f", d_raw, d_cpu,
              d_limit);
    chio_json_doc_free(d);
    testutil_cli_free(&r);
    r = RUN(NULL, "bench", "--receipt-db", db, "--threads", "2", "--calls", "50", "--seed-file",
            seed, "--synthetic", "--json");
    cr_assert_eq(r.status, 0);
    cr_expect(strstr(r.out, "\"last_seq\":250") != NULL, "the second run continues: %s", r.out);
    cr_expect(strstr(r.out, "\"mode\":\"synthetic\"") != NULL, "%s", r.out);
    testutil_cli_free(&r);
    /* another key cannot continue the log (it would no longer audit) */
    r = RUN(NULL, "bench", "--receipt-db", db, "--threads", "1", "--calls", "1", "--json");
    cr_expect_neq(r.status, 0, "%s", r.out);
    cr_expect(strstr(r.err, "belongs to kernel key " TEST_PUB) != NULL, "%s", r.err);
    testutil_cli_free(&r);
    free(seed);
    r = RUN(NULL, "receipt", "verify", "--receipt-db", db);
    cr_expect_eq(r.status, 0, "%s", r.out);
    cr_expect(strstr(r.out, "\"receipts\":250") != NULL);
    testutil_cli_free(&r);
    r = RUN(NULL, "bench", "--receipt-db", db, "--threads", "0", "--calls", "5");
    cr_expect_eq(r.status, 2);
    testutil_cli_free(&r);
    r = RUN(NULL, "bench", "--receipt-db", db, "--threads", "1", "--calls", "5", "--rate", "0");
    cr_expect_eq(r.status, 2, "--rate 0 is refused");
    testutil_cli_free(&r);
}

/* --rate paces the calls: 40 calls at 200/s take at least the 0.195 s
 * their schedule spans, and the report says it was an open loop. */
/* A number from a bench --json report (-1 when absent). */
static double get_num(chio_json_doc *d, const char *key)
{
    double v = -1;

    if (chio_json_get_double(chio_json_get(chio_json_root(d), key), &v) != 0)
        return -1;
    return v;
}

Test(cli_store, bench_rate_paces_the_calls)
{
    char *seed = seed_file();
    cli_result r = RUN(NULL, "bench", "--receipt-db", db, "--threads", "2", "--calls", "40",
                       "--rate", "200", "--durability", "nosync", "--seed-file", seed, "--json");
    chio_json_doc *d;
    double el = 0, rate = 0;

    cr_assert_eq(r.status, 0, "%s %s", r.out, r.err);
    cr_assert_eq(chio_json_parse(r.out, r.out_len, &d, NULL), 0, "%s", r.out);
    cr_expect_eq(chio_json_get_double(chio_json_get(chio_json_root(d), "elapsed_sec"), &el), 0);
    cr_expect_eq(chio_json_get_double(chio_json_get(chio_json_root(d), "open_loop_rate"), &rate),
                 0);
    cr_expect_geq(el, 0.19, "40 calls at 200/s in %.3f s", el);
    cr_expect_eq(rate, 200.0);
    /* The paced references: a cold signature and the thread's wake-up
     * lateness; no paced fsync without syncs. */
    cr_expect_gt(get_num(d, "sign_paced_p50_us"), 0.0, "%s", r.out);
    cr_expect_gt(get_num(d, "wake_late_p50_us"), 0.0, "%s", r.out);
    /* The pacing threads sleep with a 1 ns timer slack, not Linux's
     * default 50 us (which a due-time latency would charge to the call). */
    cr_expect_eq(get_num(d, "timer_slack_ns"), 1.0, "%s", r.out);
    cr_expect_eq(get_num(d, "fsync_paced_p50_us"), 0.0, "%s", r.out);
    chio_json_doc_free(d);
    testutil_cli_free(&r);

    /* With WAL syncs the paced fsync is measured too. */
    r = RUN(NULL, "bench", "--receipt-db", db, "--threads", "2", "--calls", "20", "--rate", "200",
            "--durability", "sync", "--seed-file", seed, "--json");
    cr_assert_eq(r.status, 0, "%s %s", r.out, r.err);
    cr_assert_eq(chio_json_parse(r.out, r.out_len, &d, NULL), 0, "%s", r.out);
    cr_expect_gt(get_num(d, "fsync_paced_p50_us"), 0.0, "%s", r.out);
    chio_json_doc_free(d);
    testutil_cli_free(&r);
    free(seed);
}

Test(cli_store, bench_stops_cleanly_on_sigint)
{
    char *out, *outfile;
    const char *argv[] = {CHIO_TEST_CLI,  "bench",  "--receipt-db", db,
                          "--threads",    "4",      "--calls",      "100000000000",
                          "--durability", "nosync", "--json",       NULL};
    pid_t pid;
    int st, fd, running = 0;
    size_t len;
    uint64_t end;
    cli_result r;

    cr_assert_geq(asprintf(&outfile, "%s/bench.out", dir), 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        fd = open(outfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    /* SIGINT once the run is under way: a receipt is committed, so the
     * handler is installed and calls are completing (30 s at most). */
    for (end = testutil_now_ms() + 30000; !running && testutil_now_ms() < end;) {
        r = RUN(NULL, "receipt", "list", "--receipt-db", db, "--limit", "1");
        running = r.status == 0 && r.out_len > 0;
        testutil_cli_free(&r);
        cr_assert_eq(waitpid(pid, &st, WNOHANG), 0, "bench ended before SIGINT");
        if (!running)
            testutil_nap_ms(20);
    }
    cr_assert(running, "bench committed no receipt within 30 s");
    kill(pid, SIGINT);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "bench must drain and exit 0 on SIGINT");
    out = testutil_read_file(outfile, &len);
    cr_assert_not_null(out);
    cr_expect(strstr(out, "\"interrupted\":true") != NULL, "%s", out);
    cr_expect_null(strstr(out, "\"calls\":0,"), "some calls completed: %s", out);
    free(out);
    /* everything acknowledged was committed and the log is consistent */
    r = RUN(NULL, "receipt", "verify", "--receipt-db", db);
    cr_expect_eq(r.status, 0, "%s", r.out);
    testutil_cli_free(&r);
    free(outfile);
}
