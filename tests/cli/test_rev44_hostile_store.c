/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_rev44_hostile_store.c - review 44: `chio receipt list`
 * reading a store an attacker wrote into (raw RocksDB puts, no key):
 *
 *  - --format jsonl printed the stored bytes as they were: a receipt
 *    holding a raw ESC (an OSC title, a screen clear), a raw C1 CSI or a
 *    stray 0x9b (CSI to an 8-bit terminal) reached the operator's
 *    terminal. Bytes no kernel writes (C0, DEL and C1 control bytes,
 *    invalid UTF-8) are now left out and named on stderr, like a receipt
 *    holding a line break before;
 *  - --tail after a receipt stored at sequence number UINT64_MAX wrapped
 *    its next number to 0 and printed the whole log again every 100 ms,
 *    forever. It now says nothing can follow and exits;
 *  - --tail followed a log whose tail was cut, or rewritten, under it
 *    without a word: the receipts written under the freed numbers were
 *    never printed. It now names the change and exits 2.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define N 5

static char *dir, *db, *out_path, *err_path;

static void setup(void)
{
    chio_kernel_config cfg;
    chio_kernel *k;

    dir = testutil_tmpdir();
    cr_assert_geq(asprintf(&db, "%s/db", dir), 0);
    cr_assert_geq(asprintf(&out_path, "%s/out", dir), 0);
    cr_assert_geq(asprintf(&err_path, "%s/err", dir), 0);
    kt_config(&cfg, db);
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    kt_sign_range(k, 1, N);
    chio_kernel_free(k);
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
    free(db);
    free(out_path);
    free(err_path);
}

TestSuite(rev44_hostile_store, .init = setup, .fini = teardown);

/* Receipt @seq's stored bytes with @insert put right after its first '{'. */
static void put_spiked(uint64_t seq, const char *insert)
{
    size_t len, n = strlen(insert);
    char *json = testutil_stored(db, 0, seq, &len), *spiked = malloc(len + n);

    cr_assert_not_null(spiked);
    spiked[0] = json[0];
    memcpy(spiked + 1, insert, n);
    memcpy(spiked + 1 + n, json + 1, len - 1);
    testutil_raw_write_seq(db, "receipts", seq, spiked, len + n);
    free(spiked);
    free(json);
}

static char *slurp(const char *p)
{
    size_t len;
    char *s = testutil_read_file(p, &len);

    return s ? s : strdup("");
}

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

static size_t count_lines_text(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static int has_lines(void *arg)
{
    return count_lines(out_path) >= *(size_t *)arg;
}

/* `chio receipt list --receipt-db db --tail --format jsonl`, stdout and
 * stderr to files. */
static pid_t spawn_tail(void)
{
    pid_t pid = fork();

    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(o, 1);
        dup2(e, 2);
        execl(CHIO_TEST_CLI, CHIO_TEST_CLI, "receipt", "list", "--receipt-db", db, "--tail",
              "--format", "jsonl", (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* The exit status of @pid once it ends within @ms; -1 (after killing it)
 * when it does not. */
static int wait_exit(pid_t pid, unsigned ms)
{
    uint64_t end = testutil_now_ms() + ms;
    int st;

    while (testutil_now_ms() < end) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        testutil_nap_ms(20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

Test(rev44_hostile_store, jsonl_leaves_out_escape_sequences_and_invalid_utf8)
{
    const char *argv[] = {"receipt", "list",     "--receipt-db", db,  "--limit",
                          "0",       "--format", "jsonl",        NULL};
    cli_result r;

    put_spiked(2, "\x1b]0;owned\x07\x1b[2J");
    put_spiked(3, "\xc2\x9b"
                  "2J");
    put_spiked(4, "\x9b"
                  "31m");
    r = testutil_run_cli(argv, NULL, 0);
    cr_expect_eq(r.status, 0, "%s", r.err);
    cr_expect_null(memchr(r.out, 0x1b, strlen(r.out)), "an ESC byte reached stdout");
    cr_expect_null(strchr(r.out, '\x9b'), "a 0x9b byte reached stdout");
    cr_expect_eq(count_lines_text(r.out), N - 3, "%s", r.out);
    cr_expect_not_null(strstr(r.err, "receipt 2 is not one line of JSON text"), "%s", r.err);
    cr_expect_not_null(strstr(r.err, "receipt 3 is not one line of JSON text"), "%s", r.err);
    cr_expect_not_null(strstr(r.err, "receipt 4 is not one line of JSON text"), "%s", r.err);
    testutil_cli_free(&r);
}

Test(rev44_hostile_store, tail_stops_after_a_receipt_at_the_last_sequence_number)
{
    size_t len, want = N + 1;
    char *json = testutil_stored(db, 0, 1, &len), *text;
    pid_t tail;
    int st;

    testutil_raw_write_seq(db, "receipts", UINT64_MAX, json, len);
    free(json);
    tail = spawn_tail();
    cr_assert(testutil_wait_until(has_lines, &want, 30000), "the tail printed %zu lines",
              count_lines(out_path));
    st = wait_exit(tail, 30000);
    text = slurp(err_path);
    cr_expect_eq(st, 0, "the tail must end once it printed the last number: %s", text);
    cr_expect_eq(count_lines(out_path), want, "the log was printed again");
    cr_expect_not_null(strstr(text, "nothing can follow"), "%s", text);
    free(text);
}

static void tail_sees_change(int replace)
{
    size_t want = N;
    char *text;
    pid_t tail = spawn_tail();
    int st;

    cr_assert(testutil_wait_until(has_lines, &want, 30000), "the tail printed %zu lines",
              count_lines(out_path));
    if (replace) {
        size_t len;
        char *json = testutil_stored(db, 0, N - 1, &len);
        testutil_raw_write_seq(db, "receipts", N, json, len);
        free(json);
    } else {
        testutil_raw_write_seq(db, "receipts", N, NULL, 0);
    }
    st = wait_exit(tail, 30000);
    text = slurp(err_path);
    cr_expect_eq(st, 2, "the tail must stop on a log changed under it: %s", text);
    cr_expect_not_null(strstr(text, "the log changed under --tail: receipt 5"), "%s", text);
    free(text);
}

Test(rev44_hostile_store, tail_names_a_tail_cut_under_it)
{
    tail_sees_change(0);
}

Test(rev44_hostile_store, tail_names_a_receipt_rewritten_under_it)
{
    tail_sees_change(1);
}
