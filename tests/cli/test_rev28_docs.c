/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_rev28_docs.c - review 28, a new user walking the docs: the
 * messages a newcomer sees on the common mistakes the walk hit, run through
 * the real build/chio and build/examples/agent-client:
 *
 *  - `chio scenario run` given a shell glob of scenario files (one FILE is read)
 *    said only "unexpected argument 'scenarios/clock_back.json'"; now it
 *    says the command takes one file and to run it once per file.
 *  - `chio receipt verify --receipt-db ARCHIVE` failed (exit 1, problem
 *    archive_log) without naming the flag that accepts an archive; now its
 *    stderr names --allow-archive, as the legacy case names --allow-legacy.
 *  - `chio checkpoint prove --seq N` for a receipt moved to the archive said
 *    "no receipt with sequence number N"; now it names the seqs the store
 *    holds and that older ones were archived.
 *  - agent-client called a misspelt option an "unexpected argument"; now
 *    it is an unknown option, as chio says.
 *  - a second `chio bench` on one --receipt-db without --seed-file (the
 *    key is random) was refused with "this receipt store belongs to kernel
 *    key ..., not ..." only; now it says that bench signs with a new random
 *    key without --seed-file, and to give that key or a new directory.
 *  - the same for a scenario file without kernel.signing_seed_hex run
 *    twice on one --receipt-db: now the refusal says the file names no
 *    seed, so each run signs with a new random key.
 *  - a store another process holds was, for scenario run, bench, receipt
 *    archive and mcp serve, only RocksDB's "IO error: While lock file:
 *    DIR/LOCK: Resource temporarily unavailable"; now each says the store
 *    is in use by another process and what to do, as chio serve did.
 *  - `chio mcp serve ... npx server` (the server's command without the --
 *    before it) said "unexpected argument 'npx'"; now it says the command
 *    goes after --.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "chio/chio.h"
#include "common/testutil.h"

#ifndef CHIO_EXAMPLES_DIR
#define CHIO_EXAMPLES_DIR "build/examples"
#endif

/* docs/scenarios.md's example token (seed 07.., clock inside its validity),
 * with a checkpoint every 2 receipts and four allowed calls. */
#define CALL                                                                                    \
    "{\"op\":\"call\",\"session\":\"s1\",\"capability_id\":\"cap-g\",\"server\":\"srv-files\"," \
    "\"tool\":\"file_read\"}"
static const char SCENARIO[] =
    "{\"schema\":\"chio.scenario.v1\",\"clock\":1710000300,"
    "\"kernel\":{\"signing_seed_hex\":"
    "\"0707070707070707070707070707070707070707070707070707070707070707\","
    "\"policy_hash\":\"rev28-docs\",\"checkpoint_batch_size\":2},"
    "\"tool_servers\":[{\"server_id\":\"srv-files\",\"tools\":[\"file_read\"]}],"
    "\"steps\":[{\"op\":\"open_session\",\"session\":\"s1\","
    "\"agent\":\"66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a\","
    "\"capabilities\":[{\"id\":\"cap-g\",\"issued_at\":1710000000,\"expires_at\":1710001000,"
    "\"issuer\":\"ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c\","
    "\"subject\":\"66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a\","
    "\"scope\":{\"grants\":[{\"server_id\":\"*\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}]}"
    ","
    "\"signature\":\"01099a400382d92e13de43127db20f14b987bf38089f1918472e4571b5341fc5225ce92ab4a5"
    "a8b4e73ea6f012cbcac59a141a210e5869bfaf1e8b979622df02\"}]}," CALL "," CALL "," CALL "," CALL
    "]}";

static char *dir;

static void up(void)
{
    dir = testutil_tmpdir();
}

static void down(void)
{
    testutil_rmrf(dir);
    free(dir);
}

TestSuite(rev28_docs, .init = up, .fini = down);

/* @name inside the suite's directory (caller frees). */
static char *in_dir(const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);

    cr_assert_not_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static char *scenario_file(void)
{
    char *f = in_dir("sc.json");

    cr_assert_eq(testutil_write_file(f, SCENARIO, strlen(SCENARIO), 0600), 0);
    return f;
}

/* Run the CLI; fail the test unless it exits @status. */
static cli_result run(int status, const char *const *argv)
{
    cli_result r = testutil_run_cli(argv, NULL, 0);

    cr_assert_eq(r.status, status, "%s %s: exit %d, want %d; stderr: %s", argv[0], argv[1],
                 r.status, status, r.err);
    return r;
}

/* A live log of seqs 3-4 and its archive of seqs 1-2 (one checkpoint each). */
static void live_and_archive(char **live, char **arch)
{
    char *sc = scenario_file();
    cli_result r;

    *live = in_dir("live");
    *arch = in_dir("arch");
    r = run(0, (const char *const[]){"scenario", "run", sc, "--receipt-db", *live, NULL});
    testutil_cli_free(&r);
    r = run(0, (const char *const[]){"receipt", "archive", "--receipt-db", *live, "--archive",
                                     *arch, "--max-size", "1", NULL});
    cr_assert(strstr(r.out, "\"receipts_moved\":2") != NULL, "%s", r.out);
    testutil_cli_free(&r);
    free(sc);
}

Test(rev28_docs, a_second_file_says_the_command_takes_one)
{
    char *sc = scenario_file();
    cli_result r = run(2, (const char *const[]){"scenario", "run", sc, "other.json", NULL});

    cr_assert(strstr(r.err, "unexpected argument 'other.json'") != NULL, "%s", r.err);
    cr_assert(strstr(r.err, "takes one file") != NULL, "%s", r.err);
    cr_assert(strstr(r.err, "run it once per file") != NULL, "%s", r.err);
    cr_assert_eq(r.out_len, 0, "no step may run: %s", r.out);
    testutil_cli_free(&r);
    r = run(2, (const char *const[]){"receipt", "verify", sc, "other.json", NULL});
    cr_assert(strstr(r.err, "takes one file") != NULL, "%s", r.err);
    testutil_cli_free(&r);
    free(sc);
}

Test(rev28_docs, an_archive_without_allow_archive_names_the_flag)
{
    char *live, *arch;
    cli_result r;

    live_and_archive(&live, &arch);
    r = run(1, (const char *const[]){"receipt", "verify", "--receipt-db", arch, NULL});
    cr_assert(strstr(r.out, "\"problem\":\"archive_log\"") != NULL, "%s", r.out);
    cr_assert(strstr(r.err, "pass --allow-archive") != NULL, "%s", r.err);
    testutil_cli_free(&r);
    r = run(0, (const char *const[]){"receipt", "verify", "--receipt-db", arch, "--allow-archive",
                                     NULL});
    cr_assert(strstr(r.err, "note:") != NULL, "%s", r.err);
    cr_assert(strstr(r.err, "pass --allow-archive") == NULL, "%s", r.err);
    testutil_cli_free(&r);
    free(live);
    free(arch);
}

Test(rev28_docs, proving_an_archived_seq_says_where_it_went)
{
    char *live, *arch;
    cli_result r;

    live_and_archive(&live, &arch);
    r = run(2,
            (const char *const[]){"checkpoint", "prove", "--receipt-db", live, "--seq", "1", NULL});
    cr_assert(strstr(r.err, "holds seqs 3 to 4") != NULL, "%s", r.err);
    cr_assert(strstr(r.err, "archived") != NULL, "%s", r.err);
    testutil_cli_free(&r);
    r = run(2,
            (const char *const[]){"checkpoint", "prove", "--receipt-db", live, "--seq", "9", NULL});
    cr_assert(strstr(r.err, "holds seqs 3 to 4") != NULL, "%s", r.err);
    cr_assert(strstr(r.err, "archived") == NULL, "a seq past the end was not archived: %s", r.err);
    testutil_cli_free(&r);
    /* where the message points, the proof is */
    r = run(0,
            (const char *const[]){"checkpoint", "prove", "--receipt-db", arch, "--seq", "1", NULL});
    cr_assert(strstr(r.out, "\"receipt_seq\":1") != NULL, "%s", r.out);
    testutil_cli_free(&r);
    free(live);
    free(arch);
}

Test(rev28_docs, agent_client_calls_a_misspelt_option_unknown)
{
    char *errf = in_dir("err.txt"), cmd[1024], *text;
    size_t len = 0;
    int st;

    /* quoted: TMPDIR or the checkout's path may hold a space */
    snprintf(cmd, sizeof(cmd), "'%s/agent-client' --sockt x </dev/null >/dev/null 2>'%s'",
             CHIO_EXAMPLES_DIR, errf);
    st = system(cmd);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2, "status %d", st);
    text = testutil_read_file(errf, &len);
    cr_assert_not_null(text);
    cr_assert(strstr(text, "agent-client: unknown option '--sockt'") != NULL, "%s", text);
    free(text);
    free(errf);
}

/* The message that points at --, for the given command line. */
static void says_dash_dash(const char *const *argv, const char *word)
{
    cli_result r = run(2, argv);
    char want[128];

    snprintf(want, sizeof(want),
             "unexpected argument '%s': the wrapped server's command goes "
             "after --",
             word);
    cr_assert(strstr(r.err, want) != NULL, "%s", r.err);
    cr_assert(strstr(r.err, "takes one file") == NULL, "%s", r.err);
    testutil_cli_free(&r);
}

Test(rev28_docs, an_mcp_server_command_without_the_dash_dash_says_where_it_goes)
{
    says_dash_dash((const char *const[]){"mcp", "serve", "--policy", "p.json", "--receipt-db", "db",
                                         "--seed-file", "k.seed", "npx", "server", NULL},
                   "npx");
    says_dash_dash((const char *const[]){"mcp", "serve-http", "--policy", "p.json", "--receipt-db",
                                         "db", "--seed-file", "k.seed", "--listen", "127.0.0.1:0",
                                         "node", "a.js", NULL},
                   "node");
}

Test(rev28_docs, a_second_bench_run_without_seed_file_says_why_the_store_is_refused)
{
    char *db = in_dir("bench-db");
    const char *const argv[] = {"bench", "--receipt-db", db,       "--threads", "1", "--calls",
                                "2",     "--durability", "nosync", NULL};
    cli_result r = run(0, argv);

    testutil_cli_free(&r);
    r = run(2, argv);
    cr_assert(strstr(r.err, "belongs to kernel key") != NULL, "%s", r.err);
    cr_assert(strstr(r.err, "without --seed-file chio bench signs with a new random key") != NULL,
              "%s", r.err);
    testutil_cli_free(&r);
    free(db);
}

/* The run exits 2 and says the store is in use and what to do. */
static void says_in_use(const char *const *argv, const char *todo)
{
    cli_result r = run(2, argv);

    cr_assert(strstr(r.err, "is in use by another process") != NULL, "%s", r.err);
    cr_assert(strstr(r.err, todo) != NULL, "%s", r.err);
    testutil_cli_free(&r);
}

Test(rev28_docs, a_store_another_process_holds_is_named_in_use)
{
    static const char policy[] =
        "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[]}";
    static const char seed[] = "4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b\n";
    char *sc = scenario_file(), *db = in_dir("held"), *pol = in_dir("policy.json"),
         *key = in_dir("k.seed"), *arch = in_dir("arch");
    chio_store *held = NULL;
    chio_error err;
    cli_result r;

    cr_assert_eq(testutil_write_file(pol, policy, strlen(policy), 0600), 0);
    cr_assert_eq(testutil_write_file(key, seed, strlen(seed), 0600), 0);
    r = run(0, (const char *const[]){"scenario", "run", sc, "--receipt-db", db, NULL});
    testutil_cli_free(&r);
    /* this process holds it, as a running kernel would */
    chio_error_init(&err);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_WRITE, &held, &err), 0, "%s", err.message);
    says_in_use((const char *const[]){"scenario", "run", sc, "--receipt-db", db, NULL},
                "leave --receipt-db out");
    says_in_use((const char *const[]){"bench", "--receipt-db", db, "--threads", "1", "--calls", "1",
                                      "--seed-file", key, NULL},
                "use another --receipt-db");
    says_in_use((const char *const[]){"receipt", "archive", "--receipt-db", db, "--archive", arch,
                                      "--max-size", "1", NULL},
                "chio_kernel_run_retention()");
    says_in_use((const char *const[]){"mcp", "serve", "--policy", pol, "--receipt-db", db,
                                      "--seed-file", key, "--", "/bin/true", NULL},
                "use another --receipt-db");
    chio_store_close(held);
    free(sc);
    free(db);
    free(pol);
    free(key);
    free(arch);
}

Test(rev28_docs, a_scenario_without_a_seed_run_twice_on_one_store_says_why)
{
    static const char text[] = "{\"steps\":[{\"op\":\"drain\"}]}";
    char *f = in_dir("noseed.json"), *db = in_dir("noseed-db");
    cli_result r;

    cr_assert_eq(testutil_write_file(f, text, strlen(text), 0600), 0);
    r = run(0, (const char *const[]){"scenario", "run", f, "--receipt-db", db, NULL});
    testutil_cli_free(&r);
    r = run(2, (const char *const[]){"scenario", "run", f, "--receipt-db", db, NULL});
    cr_assert(strstr(r.err, "belongs to kernel key") != NULL, "%s", r.err);
    cr_assert(strstr(r.err, "names no kernel.signing_seed_hex") != NULL, "%s", r.err);
    testutil_cli_free(&r);
    free(f);
    free(db);
}
