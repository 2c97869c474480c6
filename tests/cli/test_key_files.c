/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_key_files.c - review 26 of the seed's way to disk: the
 * seed files the CLI writes itself go only into a new file of its own.
 *
 *  - `chio bench --compare-sidecar` makes DIR/bench.seed on a first run.
 *    It checked with access() and then opened with O_CREAT | O_TRUNC and
 *    no O_NOFOLLOW: a dangling symbolic link planted there (access() calls
 *    it absent) made the CLI write the fresh seed to wherever the link
 *    pointed. Now the file is created with O_EXCL | O_NOFOLLOW, and the
 *    run stops with one line naming the path.
 *  - `chio scenario run` kept the file's text and the parsed document,
 *    both holding kernel.signing_seed_hex, in ordinary heap for the whole
 *    run and freed them unwiped: a core dump taken during a run held the
 *    seed's hex twice. The CLI's input reader also grew its buffer with
 *    realloc, once for every input: a moved block kept the file's bytes,
 *    unwiped, in freed heap (seen under ASan, whose realloc always moves;
 *    glibc's mostly grows in place). The test scans the running CLI's
 *    memory as a core dump sees it (resident readable mappings not dd).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

TestSuite(key_files, .init = setup, .fini = teardown);

static char *path(const char *name)
{
    char *p;

    cr_assert_geq(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

Test(key_files, bench_never_writes_its_seed_through_a_planted_link)
{
    char *db = path("bench-db"), *link = path("bench-db/bench.seed");
    char *target = path("stolen.seed");
    const char *const argv[] = {"bench", "--receipt-db", db, "--compare-sidecar", "--calls", "1",
                                NULL};
    struct stat st;
    cli_result r;

    cr_assert_eq(mkdir(db, 0700), 0);
    cr_assert_eq(symlink(target, link), 0); /* dangling: its target does not exist */
    r = testutil_run_cli(argv, NULL, 0);
    cr_expect_neq(r.status, 0, "bench ran through a planted link: %s", r.err);
    cr_expect_neq(lstat(target, &st), 0, "the seed was written to the link's target");
    cr_expect(strstr(r.err, "cannot write") != NULL && strstr(r.err, "bench.seed") != NULL,
              "the refusal does not name the seed file: %s", r.err);
    testutil_cli_free(&r);
    free(db);
    free(link);
    free(target);
}

/* The project's streams scenario cut down to one stream that runs for
 * minutes (100000 chunks, 50 ms apart); kernel seed 07 x 32. */
#define SEED07_HEX "0707070707070707070707070707070707070707070707070707070707070707"
static const char slow_scenario[] =
    "{\"schema\":\"chio.scenario.v1\",\"clock\":1710000300,\"kernel\":{\"signing_seed_hex\":"
    "\"0707070707070707070707070707070707070707070707070707070707070707\"},\"tool_servers\":[{"
    "\"server_id\":\"srv-stream\",\"tools\":[\"big\"],\"behavior\":\"stream\",\"chunks\":100000,"
    "\"chunk_bytes\":20,\"delay_ms\":50}],\"steps\":[{\"op\":\"open_session\",\"session\":\"s1\","
    "\"agent\":\"66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a\","
    "\"capabilities\":[{\"expires_at\":1710001000,\"id\":\"cap-n\",\"issued_at\":1710000000,"
    "\"issuer\":\"ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c\",\"scope\":{"
    "\"grants\":[{\"operations\":[\"invoke\"],\"server_id\":\"*\",\"tool_name\":\"*\"}]},"
    "\"signature\":"
    "\"e06587751522ef16ed0a758ce463b805e9f5248f784cd56b92e2c455c069e29778b0cbc19dabf594e7e91c36f7ad"
    "b36dee25f45b5b11660704dd828ddf82bc06\",\"subject\":"
    "\"66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a\"}]},{\"op\":\"call\","
    "\"session\":\"s1\",\"capability_id\":\"cap-n\",\"server\":\"srv-stream\",\"tool\":\"big\","
    "\"arguments\":{}}]}";

/* Occurrences of @pat (@plen bytes) in [start, end) of @memfd; *bad set
 * when part could not be read. Reads overlap by plen - 1 bytes. */
static size_t count_in(int memfd, unsigned long start, unsigned long end, const char *pat,
                       size_t plen, int *bad)
{
    static char buf[(1 << 16) + 64];
    size_t found = 0, keep = 0;

    while (start < end) {
        size_t want = end - start > (1u << 16) ? (1u << 16) : end - start, have;
        ssize_t n = pread(memfd, buf + keep, want, (off_t)start);
        const char *p = buf, *hit;

        if (n <= 0) {
            *bad = 1;
            return found;
        }
        have = keep + (size_t)n;
        while ((size_t)(buf + have - p) >= plen &&
               (hit = memchr(p, pat[0], (size_t)(buf + have - p) - plen + 1)) != NULL) {
            found += memcmp(hit, pat, plen) == 0;
            p = hit + 1;
        }
        keep = have >= plen - 1 ? plen - 1 : have;
        memmove(buf, buf + have - keep, keep);
        start += (unsigned long)n;
    }
    return found;
}

/* Copies of the seed (hex, upper-case hex, raw) in the memory of @pid that
 * a core dump would hold; -1 when the process could not be read. */
static long dumpable_seed_copies(pid_t pid)
{
    static const char raw[32] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
                                 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
    char name[64], line[512], perms[8] = "";
    unsigned long start = 0, end = 0, inode = 0;
    long resident = 0, anon = 0, found = 0, regions = 0;
    int memfd, have = 0, bad = 0;
    FILE *f;

    snprintf(name, sizeof(name), "/proc/%d/smaps", (int)pid);
    f = fopen(name, "r");
    snprintf(name, sizeof(name), "/proc/%d/mem", (int)pid);
    memfd = open(name, O_RDONLY);
    if (f == NULL || memfd < 0) {
        if (f != NULL)
            fclose(f);
        if (memfd >= 0)
            close(memfd);
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char path[256] = "";
        unsigned long a, b, ino = 0;

        if (sscanf(line, "%lx-%lx %7s %*s %*s %lu %255s", &a, &b, perms, &ino, path) >= 3) {
            start = a;
            end = b;
            inode = ino;
            have = perms[0] == 'r' && strncmp(path, "[vsyscall]", 10) != 0 &&
                   strncmp(path, "[vvar", 5) != 0;
            resident = 0;
            anon = 0;
        } else if (have && (strncmp(line, "Rss:", 4) == 0 || strncmp(line, "Swap:", 5) == 0)) {
            resident += strtol(strchr(line, ':') + 1, NULL, 10);
        } else if (have && strncmp(line, "Anonymous:", 10) == 0) {
            anon = strtol(line + 10, NULL, 10);
        } else if (have && strncmp(line, "VmFlags:", 8) == 0) {
            have = 0;
            if (resident == 0 || strstr(line, " dd") != NULL)
                continue; /* nothing a dump would hold */
            /* A private file mapping the process never wrote holds the
             * file's own bytes, not a copy the process made (libgcc_s's
             * __clz_tab holds 64 bytes of 07, this test's seed). */
            if (inode != 0 && perms[3] == 'p' && anon == 0)
                continue;
            regions++;
            found += (long)count_in(memfd, start, end, SEED07_HEX, 64, &bad);
            found += (long)count_in(memfd, start, end, raw, sizeof(raw), &bad);
        }
    }
    fclose(f);
    close(memfd);
    return bad || regions == 0 ? -1 : found;
}

Test(key_files, a_running_scenario_keeps_no_seed_copy_a_core_dump_would_hold)
{
    char *file = path("slow.json"), *db = path("scenario-db"), *sentinel;
    uint64_t deadline = testutil_now_ms() + 30000;
    int st, ready = 0;
    long copies;
    pid_t pid;

    cr_assert_eq(testutil_write_file(file, slow_scenario, strlen(slow_scenario), 0600), 0);
    cr_assert_geq(asprintf(&sentinel, "%s/CHIO-RECEIPT-STORE", db), 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execl(CHIO_TEST_CLI, "chio", "scenario", "run", file, "--receipt-db", db, (char *)NULL);
        _exit(127);
    }
    /* The store is opened after the kernel is built from the seed: from
     * then on no copy but the keypair's may remain. */
    while (!ready && testutil_now_ms() < deadline && waitpid(pid, &st, WNOHANG) == 0) {
        ready = access(sentinel, F_OK) == 0;
        if (!ready)
            testutil_nap_ms(5); /* a poll interval, not a wait for the condition */
    }
    copies = ready ? dumpable_seed_copies(pid) : -1;
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    cr_assert(ready, "the scenario run did not reach its store");
    cr_expect_eq(copies, 0, "%ld copies of the seed in memory a core dump would hold", copies);
    free(sentinel);
    free(file);
    free(db);
}

/* Whether @path's dynamic section asks for binding at load (BIND_NOW,
 * from -z now), as readelf shows it. */
static int bound_at_load(const char *path)
{
    char cmd[1200], line[512];
    FILE *p;
    int now = 0;

    snprintf(cmd, sizeof(cmd), "readelf -d '%s' 2>&1", path);
    p = popen(cmd, "r");
    cr_assert_not_null(p);
    while (fgets(line, sizeof(line), p) != NULL)
        now |= strstr(line, "BIND_NOW") != NULL;
    pclose(p);
    return now;
}

/* Lazy binding's trampoline saves every vector register on the stack the
 * first time a function is called, bytes of the seed among them while key
 * creation scans for copies (docs/security.md): the CLI and the shared
 * library are bound at load instead. */
Test(key_files, the_cli_and_the_shared_library_are_bound_at_load)
{
    char so[1024];
    const char *slash = strrchr(CHIO_TEST_CLI, '/');

    cr_expect(bound_at_load(CHIO_TEST_CLI), "%s is bound lazily", CHIO_TEST_CLI);
    snprintf(so, sizeof(so), "%.*s/libchio.so", (int)(slash - CHIO_TEST_CLI), CHIO_TEST_CLI);
    if (access(so, R_OK) == 0)
        cr_expect(bound_at_load(so), "%s is bound lazily", so);
}
