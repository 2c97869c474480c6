/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_rev28_cli.c - review 28 of the files the command line
 * writes and reads, as an attacker on a shared machine sees them (the
 * real build/chio and build/examples/host-service, run as processes):
 *
 *  - `chio export` wrote its position file through DIR/chio-export-
 *    NAME.json.tmp opened with O_CREAT | O_TRUNC and no O_NOFOLLOW: a
 *    link planted there by whoever can write the store's directory (the
 *    kernel's user, while the exporter may run as another) had the
 *    exporter truncate and overwrite the file it pointed to. And a FIFO
 *    planted at the position file's own name held `chio export` forever
 *    at its end (fopen waited for a writer). Now the temporary file is
 *    always a new one of the exporter's own, and only a regular file is
 *    read back.
 *  - host-service wrote --pid-file with fopen("w"), through a planted
 *    link, and waited on a FIFO there; now both are refused at start.
 *  - `chio serve` read --token-file whatever its mode; now a bearer token
 *    group or others may read is refused like a seed file that is.
 *  - closing a secondary store instance (`receipt list --tail`, `export
 *    --follow`) ran system("rm -rf '$TMPDIR/...'"): a quote in $TMPDIR
 *    removed other paths. Now the directory is removed by nftw().
 *  - a named input over the 256 MiB bound was read to the bound first
 *    (about 540 MB resident); now its size refuses it.
 *  - keygen after a short write named a stale errno as the cause.
 *  - bench --compare-sidecar dropped DIR/bench.seed (a signing seed) and
 *    two stores into any directory, a project's too; now DIR must be new,
 *    empty, or hold only what a run keeps there.
 *  - `mcp serve --policy -` took the MCP client's stream for the policy.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "export/fleetutil.h"

#define VICTIM_TEXT "the victim's own bytes\n"

/* ---- chio export's position file (a one-node JetStream server) ------------------------ */

static char *xdir, *xnc, *xurls;

static void export_up(void)
{
    fu_suite_up(&xdir, &xnc, &xurls, 1);
}

static void export_down(void)
{
    fu_suite_down(&xdir, &xnc, &xurls);
}

TestSuite(rev28_cli_export, .init = export_up, .fini = export_down);

/* A file holding VICTIM_TEXT, mode 0600: what a planted link points to. */
static char *victim_in(const char *dir)
{
    char *v = fu_path_in(dir, "victim");

    cr_assert_eq(testutil_write_file(v, VICTIM_TEXT, strlen(VICTIM_TEXT), 0600), 0);
    return v;
}

/* The file at @path still holds exactly VICTIM_TEXT. */
static void victim_intact(const char *path)
{
    size_t len = 0;
    char *text = testutil_read_file(path, &len);

    cr_assert_not_null(text, "%s is gone", path);
    cr_expect(len == strlen(VICTIM_TEXT) && memcmp(text, VICTIM_TEXT, len) == 0,
              "the file a planted link pointed to was written: %.*s", (int)len, text);
    free(text);
}

Test(rev28_cli_export, a_link_planted_at_the_temporary_name_is_never_written_through)
{
    char *db = fu_path_in(xdir, "db"), *victim = victim_in(xdir);
    char *tmp = fu_path_in(db, "chio-export-CHIO.json.tmp");
    struct stat st;
    fu_run r;

    fu_fill(db, 0x28, 12, 4, "a");
    cr_assert_eq(symlink(victim, tmp), 0, "%s", strerror(errno));
    r = fu_cli(xdir, 60000,
               (const char *const[]){"export", "--receipt-db", db, "--nats", xurls, NULL});
    cr_expect_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_expect_eq(fu_field(r.out, "receipts_published"), 12, "%s%s", r.out, r.err);
    victim_intact(victim);
    /* the position is written all the same, to a regular file of its own */
    cr_expect_eq(fu_position(db, "CHIO", "receipt_seq"), 12);
    cr_expect_eq(lstat(tmp, &st), -1, "no temporary file is left");
    fu_run_free(&r);
    free(tmp);
    free(victim);
    free(db);
}

Test(rev28_cli_export, a_fifo_at_the_position_file_does_not_hold_the_exporter)
{
    char *db = fu_path_in(xdir, "db"), *pos = fu_path_in(db, "chio-export-CHIO.json");
    struct stat st;
    fu_run r;

    fu_fill(db, 0x29, 5, 0, "b");
    cr_assert_eq(mkfifo(pos, 0600), 0, "%s", strerror(errno));
    /* It used to wait for a writer forever; fu_cli kills it at 60 s (-1). */
    r = fu_cli(xdir, 60000,
               (const char *const[]){"export", "--receipt-db", db, "--nats", xurls, NULL});
    cr_expect_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_expect_eq(fu_field(r.out, "receipts_published"), 5, "%s%s", r.out, r.err);
    /* replaced by the rename: a regular file with the position now (the
     * test itself must not open a FIFO either) */
    cr_assert_eq(lstat(pos, &st), 0);
    cr_assert(S_ISREG(st.st_mode), "the position file is still a FIFO");
    cr_expect_eq(fu_position(db, "CHIO", "receipt_seq"), 5);
    fu_run_free(&r);
    free(pos);
    free(db);
}

/* ---- the files the serving programs write and read -------------------------------------- */

#define SEED28 "2828282828282828282828282828282828282828282828282828282828282828"

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

TestSuite(rev28_cli, .init = setup, .fini = teardown);

static char *path_in(const char *name)
{
    return fu_path_in(dir, name);
}

/* Run @argv (argv[0] the program's path) with stdin from /dev/null, stderr
 * to the file @err_path, CHIO_SIGNING_KEY set to SEED28; its exit status,
 * or -1 when it was still running after @limit_ms (then killed). */
static int run_until(const char *const *argv, const char *err_path, unsigned limit_ms)
{
    uint64_t end = testutil_now_ms() + limit_ms;
    pid_t pid = fork();
    int st;

    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY),
            e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(in, 0);
        dup2(e, 1);
        dup2(e, 2);
        setenv("CHIO_SIGNING_KEY", SEED28, 1);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    while (testutil_now_ms() < end) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        testutil_nap_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

/* The text of @path (malloc'd; "" when it cannot be read). */
static char *text_of(const char *path)
{
    size_t len;
    char *t = testutil_read_file(path, &len);

    return t != NULL ? t : strdup("");
}

/* host-service wrote its PID file with fopen("w"): a link planted at the
 * path (PID files live in shared directories) had it truncate and write
 * the file the link pointed to, and exit unlinked whatever was at the
 * path then. Now a link or a non-regular file is refused at start. */
Test(rev28_cli, host_service_never_writes_its_pid_file_through_a_planted_link)
{
    char *victim = victim_in(dir), *pidf = path_in("h.pid"), *err = path_in("host.err");
    char *db = path_in("receipts"), *sock = path_in("h.sock"), *fifo = path_in("fifo.pid"), *t;
    const char *argv[] = {CHIO_EXAMPLES_DIR "/host-service",
                          "--receipt-db",
                          db,
                          "--socket",
                          sock,
                          "--pid-file",
                          pidf,
                          NULL};

    cr_assert_eq(symlink(victim, pidf), 0, "%s", strerror(errno));
    cr_expect_eq(run_until(argv, err, 60000), 1);
    t = text_of(err);
    cr_expect_not_null(strstr(t, "symbolic link"), "%s", t);
    free(t);
    victim_intact(victim);
    /* a FIFO there: refused at once, not waited on */
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    argv[6] = fifo;
    cr_expect_eq(run_until(argv, err, 60000), 1);
    t = text_of(err);
    cr_expect_not_null(strstr(t, "not a regular file"), "%s", t);
    free(t);
    free(fifo);
    free(sock);
    free(db);
    free(err);
    free(pidf);
    free(victim);
}

/* chio serve read --token-file whatever its mode: a bearer token any
 * local user could read let them mint tokens signed by the sidecar's key
 * (on loopback, which every local user reaches). Now it is refused like a
 * seed file that is not private, before a port is bound. */
Test(rev28_cli, serve_refuses_a_token_file_others_may_read)
{
    static const unsigned modes[] = {0644, 0640, 0604, 0620, 0602};
    char *seed = path_in("k.seed"), *tok = path_in("bearer"), *err = path_in("serve.err");
    char *db = path_in("db"), *t;
    const char *argv[] = {CHIO_TEST_CLI, "serve",       "--receipt-db", db,  "--seed-file", seed,
                          "--listen",    "127.0.0.1:0", "--token-file", tok, NULL};
    size_t i;

    cr_assert_eq(testutil_write_file(seed, SEED28 "\n", 65, 0600), 0);
    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        cr_assert_eq(testutil_write_file(tok, "secret-bearer-token-28\n", 23, modes[i]), 0);
        cr_assert_eq(chmod(tok, modes[i]), 0);
        cr_expect_eq(run_until(argv, err, 20000), 2, "mode %04o", modes[i]);
        t = text_of(err);
        cr_expect_not_null(strstr(t, "refusing --token-file"), "mode %04o: %s", modes[i], t);
        cr_expect_not_null(strstr(t, "chmod 600"), "%s", t);
        cr_expect_null(strstr(t, "secret-bearer"), "the token is never printed: %s", t);
        cr_expect_null(strstr(t, "listening"), "refused before serving: %s", t);
        free(t);
    }
    free(db);
    free(err);
    free(tok);
    free(seed);
}

/* Start build/chio @argv (argv[0] excluded) with TMPDIR=@tmpdir, stdout
 * and stderr to @out_path; killed with the test's process. */
static pid_t spawn_cli(const char *const *argv, const char *tmpdir, const char *out_path)
{
    const char *args[16];
    size_t i;
    pid_t pid;

    args[0] = CHIO_TEST_CLI;
    for (i = 0; argv[i] != NULL && i < 14; i++)
        args[i + 1] = argv[i];
    args[i + 1] = NULL;
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY),
            o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(in, 0);
        dup2(o, 1);
        dup2(o, 2);
        setenv("TMPDIR", tmpdir, 1);
        execv(args[0], (char *const *)args);
        _exit(127);
    }
    return pid;
}

/* Whether the file at @arg holds the 3 receipts (list --tail's lines). */
static int tail_printed(void *arg)
{
    char *t = text_of(arg), *p = t;
    int lines = 0;

    while ((p = strstr(p, "{\"action\":")) != NULL && strchr(p, '\n') != NULL) {
        lines++;
        p = strchr(p, '\n');
    }
    free(t);
    return lines >= 3;
}

/* A secondary instance (`receipt list --tail`, `export --follow`) keeps
 * its files in $TMPDIR/chio-secondary-XXXXXX, which closing removed with
 * system("rm -rf '<path>'"): a quote in $TMPDIR split the path, and the
 * command removed other directories (here DIR/keep, named inside it).
 * Now the directory is removed entry by entry, links not followed. */
Test(rev28_cli, a_quote_in_tmpdir_never_makes_closing_remove_other_paths)
{
    char *db = path_in("db"), *keep = path_in("keep"), *kept = path_in("keep/file");
    char *out = path_in("tail.out"), *tmpdir, *cmd;
    struct stat st;
    pid_t pid;
    int status;

    fu_fill(db, 0x2a, 3, 0, "t");
    cr_assert_eq(mkdir(keep, 0700), 0);
    cr_assert_eq(testutil_write_file(kept, "kept\n", 5, 0600), 0);
    cr_assert_geq(asprintf(&tmpdir, "%s/x' '%s' 'y", dir, keep), 0);
    cr_assert_geq(asprintf(&cmd, "mkdir -p \"%s\"", tmpdir), 0);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    pid = spawn_cli((const char *const[]){"receipt", "list", "--receipt-db", db, "--tail",
                                          "--format", "jsonl", NULL},
                    tmpdir, out);
    cr_expect(testutil_wait_until(tail_printed, out, 60000), "list --tail printed nothing");
    kill(pid, SIGTERM);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
    cr_expect_eq(stat(kept, &st), 0, "closing the secondary instance removed %s", keep);
    /* and its own directory is gone */
    {
        DIR *d = opendir(tmpdir);
        struct dirent *de;
        int left = 0;

        cr_assert_not_null(d);
        while ((de = readdir(d)) != NULL)
            left += strncmp(de->d_name, "chio-secondary-", 15) == 0;
        closedir(d);
        cr_expect_eq(left, 0, "the secondary instance's directory is left in %s", tmpdir);
    }
    free(cmd);
    free(tmpdir);
    free(out);
    free(kept);
    free(keep);
    free(db);
}

/* Run build/chio @argv (argv[0] excluded), stdout and stderr to
 * @err_path; its exit status (-1 after 60 s, killed), its peak resident
 * memory in KiB in *@maxrss_kb. */
static int run_measured(const char *const *argv, const char *err_path, long *maxrss_kb)
{
    uint64_t end = testutil_now_ms() + 60000;
    pid_t pid = spawn_cli(argv, "/tmp", err_path);
    struct rusage ru;
    int st;

    *maxrss_kb = -1;
    while (testutil_now_ms() < end) {
        if (wait4(pid, &st, WNOHANG, &ru) == pid) {
            *maxrss_kb = ru.ru_maxrss;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        testutil_nap_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

/* A named input over the CLI's bound (256 MiB) was read up to the bound
 * first: about twice the bound in memory (the buffer's last doubling) for
 * a file whose size said no at once. Now its size refuses it. */
Test(rev28_cli, a_file_over_the_input_bound_is_refused_by_its_size)
{
    static const char *const cmds[][4] = {{"receipt", "verify", NULL, NULL},
                                          {"capability", "verify", "--at", "1"},
                                          {"scenario", "run", NULL, NULL},
                                          {"checkpoint", "verify-proof", NULL, NULL}};
    char *huge = path_in("huge.json"), *err = path_in("huge.err"), *t;
    size_t i;
    long rss;
    int fd = open(huge, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, (off_t)300 << 20), 0); /* sparse: no disk taken */
    close(fd);
    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        const char *argv[6] = {cmds[i][0], cmds[i][1], cmds[i][2], cmds[i][3], NULL, NULL};

        argv[cmds[i][2] ? 4 : 2] = huge;
        cr_expect_eq(run_measured(argv, err, &rss), 2, "%s %s", cmds[i][0], cmds[i][1]);
        t = text_of(err);
        cr_expect_not_null(strstr(t, "is larger than 268435456 bytes"), "%s", t);
        free(t);
        cr_expect_lt(rss, 64 * 1024, "%s %s: %ld KiB resident for a refused input", cmds[i][0],
                     cmds[i][1], rss);
    }
    free(err);
    free(huge);
}

/* keygen after a short write (a full disk, a file size limit) removed the
 * file but named a stale errno ("No such file or directory") as the cause.
 * Now it says how much was written, and still leaves no truncated seed. */
Test(rev28_cli, keygen_says_what_a_short_write_was_and_leaves_no_seed)
{
    char *seed = path_in("new.seed"), t[4096];
    struct stat st;
    size_t n = 0;
    ssize_t got;
    int status, p[2];
    pid_t pid;

    /* its output through a pipe: the size limit applies to files only */
    cr_assert_eq(pipe(p), 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct rlimit rl = {10, 10}; /* the seed's 65 bytes do not fit */
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            _exit(126);
        execl(CHIO_TEST_CLI, CHIO_TEST_CLI, "keygen", "--out", seed, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    while (n < sizeof(t) - 1 && (got = read(p[0], t + n, sizeof(t) - 1 - n)) > 0)
        n += (size_t)got;
    t[n] = '\0';
    close(p[0]);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 2, "status %d", status);
    cr_expect_not_null(strstr(t, "only 10 of 65 bytes were written"), "%s", t);
    cr_expect_eq(lstat(seed, &st), -1, "a truncated seed file was left behind");
    free(seed);
}

/* Every entry of @path but "." and "..", joined by spaces (static). */
static const char *entries_of(const char *path)
{
    static char buf[1024];
    struct dirent *de;
    DIR *d = opendir(path);
    size_t o = 0;

    buf[0] = '\0';
    cr_assert_not_null(d, "%s", path);
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", o ? " " : "", de->d_name);
    closedir(d);
    return buf;
}

/* bench --compare-sidecar wrote DIR/bench.seed, a signing seed, and two
 * stores into any directory --receipt-db named, a project's included
 * (where a seed may get committed), though plain bench refuses a
 * directory of other files. Now DIR must be new, empty, or hold only what
 * a run keeps there. */
Test(rev28_cli, bench_compare_sidecar_never_drops_a_seed_among_a_users_files)
{
    char *proj = path_in("project"), *notes = path_in("project/notes.txt");
    const char *argv[] = {"bench",        "--receipt-db", proj, "--compare-sidecar", "--calls", "1",
                          "--durability", "nosync",       NULL};
    cli_result r;

    cr_assert_eq(mkdir(proj, 0700), 0);
    cr_assert_eq(testutil_write_file(notes, "mine\n", 5, 0600), 0);
    r = testutil_run_cli(argv, NULL, 0);
    cr_expect_eq(r.status, 2, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.err, "it holds notes.txt"), "%s", r.err);
    cr_expect_str_eq(entries_of(proj), "notes.txt", "the directory was written to");
    testutil_cli_free(&r);
    free(notes);
    free(proj);
}

/* `chio mcp serve --policy -` read the policy from standard input, which
 * is the MCP client's stream: a client's messages were taken for the
 * policy (and a policy piped in left the client's stream at its end).
 * Now it is bad usage, before anything is read. */
Test(rev28_cli, mcp_serve_never_reads_its_policy_from_the_clients_stream)
{
    static const char msg[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\"}\n";
    char *seed = path_in("k.seed"), *db = path_in("mdb");
    const char *argv[] = {"mcp", "serve", "--policy", "-", "--receipt-db", db, "--seed-file",
                          seed,  "--",    "/bin/cat", NULL};
    struct stat st;
    cli_result r;

    cr_assert_eq(testutil_write_file(seed, SEED28 "\n", 65, 0600), 0);
    r = testutil_run_cli(argv, msg, sizeof(msg) - 1);
    cr_expect_eq(r.status, 2, "%s", r.err);
    cr_expect_not_null(strstr(r.err, "--policy - would read the MCP client's stream"), "%s", r.err);
    cr_expect_eq(r.out_len, 0, "%s", r.out);
    cr_expect_eq(stat(db, &st), -1, "no store was made");
    testutil_cli_free(&r);
    free(db);
    free(seed);
}
