/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/serve/test_rev33_dump.c - review 33, key secrecy: what a core dump
 * of the real services would hold, read from the live processes (every
 * readable mapping /proc/PID/smaps does not flag dd, read through
 * /proc/PID/mem: what the kernel writes into a core). The first two are
 * coverage (they held when written). Searched: the seed as hex (either case) and as its 32
 * bytes, and the Ed25519 expanded secret (SHA-512 of the seed: all 64
 * bytes, the clamped scalar, the nonce prefix).
 *
 *  - `chio serve` after it has signed receipts (its signer thread parked);
 *  - `chio scenario run` in the middle of a step (a stream pausing), the
 *    seed read from the scenario's kernel.signing_seed_hex;
 *  - `chio serve` started with a seed in CHIO_SIGNING_KEY (host-service's
 *    variable, which chio does not read): its environment held the seed
 *    (/proc/PID/environ, and any core dump) for the life of the process;
 *    now every chio command wipes it at start (failed before review 33).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
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
#include "serve/sidecar_proc.h"

#define BEARER "rev33-dump-bearer-0123456789abcdef"

/* What a core dump holds is a question about the programs as shipped:
 * under AddressSanitizer the allocator, its quarantine and its shadow
 * change where the key lives (the scan's control, the seed in the
 * keypair's own dd pages, fails there), so the memory scans run without
 * sanitizers only (make test). */
#if defined(__SANITIZE_ADDRESS__)
#define DUMP_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DUMP_SANITIZED 1
#endif
#endif

static void skip_when_sanitized(void)
{
#ifdef DUMP_SANITIZED
    cr_skip_test("memory scans run without sanitizers (make test)");
#endif
}

/* The forms of one seed searched for. */
enum { F_HEX, F_HEX_UPPER, F_RAW, F_SHA512, F_CLAMPED, F_PREFIX, F_N };

typedef struct seed_forms {
    char hex[65], upper[65];
    uint8_t raw[32], expanded[64], clamped[32];
    const uint8_t *form[F_N];
    size_t len[F_N];
} seed_forms;

static const char *const form_name[F_N] = {
    "hex", "upper-case hex", "raw bytes", "SHA-512 of the seed", "clamped scalar", "nonce prefix"};

/* A fresh random seed and its forms. */
static void new_seed(seed_forms *s)
{
    size_t i;

    cr_assert_eq(RAND_bytes(s->raw, 32), 1);
    testutil_hex(s->raw, 32, s->hex);
    for (i = 0; i < 65; i++)
        s->upper[i] = (char)(s->hex[i] >= 'a' && s->hex[i] <= 'f' ? s->hex[i] - 32 : s->hex[i]);
    SHA512(s->raw, 32, s->expanded);
    memcpy(s->clamped, s->expanded, 32);
    s->clamped[0] &= 248;
    s->clamped[31] &= 63;
    s->clamped[31] |= 64;
    s->form[F_HEX] = (const uint8_t *)s->hex;
    s->form[F_HEX_UPPER] = (const uint8_t *)s->upper;
    s->form[F_RAW] = s->raw;
    s->form[F_SHA512] = s->expanded;
    s->form[F_CLAMPED] = s->clamped;
    s->form[F_PREFIX] = s->expanded + 32;
    for (i = 0; i < F_N; i++)
        s->len[i] = i == F_SHA512 ? 64 : i <= F_HEX_UPPER ? 64 : 32;
}

/* Copies of each form found in @pid's memory: outside dd mappings
 * (dumpable) and inside them. */
typedef struct dump_hits {
    size_t dumpable[F_N], dd[F_N], regions, unread;
} dump_hits;

/* Count the copies in @buf's @n bytes that start before @limit (0: any). */
static void count(const seed_forms *s, const uint8_t *buf, size_t n, size_t limit, int dd,
                  dump_hits *h)
{
    size_t f;

    for (f = 0; f < F_N; f++) {
        const uint8_t *p = buf, *hit;
        while ((hit = memmem(p, n - (size_t)(p - buf), s->form[f], s->len[f])) != NULL) {
            if (limit != 0 && (size_t)(hit - buf) >= limit)
                break;
            if (dd)
                h->dd[f]++;
            else
                h->dumpable[f]++;
            p = hit + 1;
        }
    }
}

/* Read [@a, @b) of @mem in chunks that overlap by 63 bytes (the longest
 * form is 64), counting each copy once. -1 when nothing could be read. */
static int scan_range(int mem, unsigned long a, unsigned long b, const seed_forms *s, int dd,
                      dump_hits *h)
{
    enum { CHUNK = 1 << 20, OVER = 63 };
    uint8_t *buf = malloc(CHUNK + OVER);
    unsigned long at = a;
    int any = 0;

    cr_assert_not_null(buf);
    while (at < b) {
        size_t want = b - at > CHUNK + OVER ? CHUNK + OVER : (size_t)(b - at);
        ssize_t got = pread(mem, buf, want, (off_t)at);
        size_t step;
        if (got <= 0)
            break;
        any = 1;
        /* A full chunk that is not the last: positions past CHUNK are the
         * next read's; only whole copies starting before CHUNK count here. */
        step = (size_t)got == want && at + (unsigned long)got < b ? CHUNK : (size_t)got;
        count(s, buf, step == CHUNK ? CHUNK + OVER : (size_t)got, step == CHUNK ? CHUNK : 0, dd, h);
        at += step;
    }
    free(buf);
    return any ? 0 : -1;
}

/* Scan every readable mapping of @pid that holds resident or swapped
 * pages, as a core dump would take it (dd or not noted). */
static dump_hits scan_pid(pid_t pid, const seed_forms *s)
{
    char path[64], line[1024], name[512], perms[8] = "";
    unsigned long a = 0, b = 0, ta, tb;
    long resident = 0;
    dump_hits h;
    FILE *f;
    int mem;

    memset(&h, 0, sizeof(h));
    snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
    f = fopen(path, "re");
    cr_assert_not_null(f);
    snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
    mem = open(path, O_RDONLY | O_CLOEXEC);
    if (mem < 0) {
        fclose(f);
        cr_skip_test("cannot read the memory of process %d", (int)pid);
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char pm[8];
        if (sscanf(line, "%lx-%lx %7s", &ta, &tb, pm) == 3) {
            a = ta;
            b = tb;
            memcpy(perms, pm, sizeof(perms));
            name[0] = '\0';
            (void)sscanf(line, "%*s %*s %*s %*s %*s %511s", name);
            resident = 0;
        } else if (strncmp(line, "Rss:", 4) == 0 || strncmp(line, "Swap:", 5) == 0) {
            resident += strtol(strchr(line, ':') + 1, NULL, 10);
        } else if (strncmp(line, "VmFlags:", 8) == 0 && perms[0] == 'r' && resident > 0 &&
                   strcmp(name, "[vvar]") != 0 && strcmp(name, "[vsyscall]") != 0) {
            h.regions++;
            if (scan_range(mem, a, b, s, strstr(line, " dd") != NULL, &h) != 0)
                h.unread++;
        }
    }
    close(mem);
    fclose(f);
    return h;
}

static void expect_no_dumpable_copy(const char *who, const dump_hits *h)
{
    size_t f;

    cr_log_info("%s: %zu regions read, %zu unread", who, h->regions, h->unread);
    for (f = 0; f < F_N; f++)
        cr_expect_eq(h->dumpable[f], 0, "%s: a core dump would hold %zu copies of the seed's %s",
                     who, h->dumpable[f], form_name[f]);
    /* The scan works: the keypair's own pages (dd) hold the seed. */
    cr_expect_geq(h->dd[F_RAW], 1, "%s: the seed is in no dd page (scan broken?)", who);
}

/* POST @body to the sidecar's evaluate; its status. */
static unsigned evaluate(const sidecar *sc, const char *body)
{
    char *reply = NULL;
    unsigned status =
        sidecar_post(sc, "/v1/evaluate", "Authorization: Bearer " BEARER "\r\n", body, &reply);

    cr_expect(strstr(reply, "\"receipt\"") != NULL, "no receipt signed: %s", reply);
    free(reply);
    return status;
}

Test(rev33_dump, a_live_sidecar_that_signed_holds_no_dumpable_seed)
{
    seed_forms s;
    char file[80];
    sidecar sc;
    int i;

    skip_when_sanitized();
    new_seed(&s);
    snprintf(file, sizeof(file), "%s\n", s.hex);
    sidecar_start(&sc, file, BEARER "\n");
    for (i = 0; i < 3; i++) /* denied (no such token), each with a signed receipt */
        cr_expect_eq(evaluate(&sc, "{\"capability_id\":\"none\",\"tool_server\":\"s\","
                                   "\"tool_name\":\"t\"}"),
                     200);
    dump_hits h = scan_pid(sc.pid, &s);
    expect_no_dumpable_copy("chio serve", &h);
    sidecar_stop(&sc);
}

/* docs/scenarios.md's token (issuer: the 07.. key, trusted here as a CA),
 * then a call to a stream that pauses a minute before its first chunk. */
#define SCENARIO33                                                                                \
    "{\"schema\":\"chio.scenario.v1\",\"clock\":1710000300,"                                      \
    "\"kernel\":{\"signing_seed_hex\":\"%s\",\"policy_hash\":\"rev33\","                          \
    "\"ca_public_keys\":[\"ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c\"]}," \
    "\"tool_servers\":[{\"server_id\":\"srv\",\"tools\":[\"slow\"],\"behavior\":\"stream\","      \
    "\"chunks\":1,\"chunk_bytes\":4,\"delay_ms\":60000}],"                                        \
    "\"steps\":[{\"op\":\"open_session\",\"session\":\"s1\","                                     \
    "\"agent\":\"66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a\","             \
    "\"capabilities\":[{\"expires_at\":1710001000,\"id\":\"cap-n\",\"issued_at\":1710000000,"     \
    "\"issuer\":\"ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c\","            \
    "\"scope\":{\"grants\":[{\"operations\":[\"invoke\"],\"server_id\":\"*\","                    \
    "\"tool_name\":\"*\"}]},\"signature\":"                                                       \
    "\"e06587751522ef16ed0a758ce463b805e9f5248f784cd56b92e2c4"                                    \
    "55c069e29778b0cbc19dabf594e7e91c36f7adb36dee25f45b5b11660704dd828ddf82bc06\","               \
    "\"subject\":\"66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a\"}]},"        \
    "{\"op\":\"call\",\"session\":\"s1\",\"capability_id\":\"cap-n\",\"server\":\"srv\","         \
    "\"tool\":\"slow\",\"arguments\":{}}]}"

Test(rev33_dump, a_scenario_run_mid_step_holds_no_dumpable_seed)
{
    char *dir, file[4096], out[4096], db[4096], text[4096], *got = NULL;
    seed_forms s;
    uint64_t end;
    pid_t pid;
    int st;

    skip_when_sanitized();
    dir = testutil_tmpdir();
    new_seed(&s);
    snprintf(file, sizeof(file), "%s/s.json", dir);
    snprintf(out, sizeof(out), "%s/out", dir);
    snprintf(db, sizeof(db), "%s/db", dir);
    snprintf(text, sizeof(text), SCENARIO33, s.hex);
    cr_assert_eq(testutil_write_file(file, text, strlen(text), 0600), 0);
    explicit_bzero(text, sizeof(text));
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(o, 1);
        execl(CHIO_TEST_CLI, CHIO_TEST_CLI, "scenario", "run", file, "--receipt-db", db,
              (char *)NULL);
        _exit(127);
    }
    /* Step 0's line: the stream of step 1 has started pausing (or is about to). */
    for (end = testutil_now_ms() + 15000; testutil_now_ms() < end; testutil_nap_ms(5)) {
        free(got);
        got = testutil_read_file(out, NULL);
        if (got != NULL && strstr(got, "\"step\":0}") != NULL)
            break;
    }
    cr_assert(got != NULL && strstr(got, "\"ok\":true") != NULL, "no step ran: %s",
              got ? got : "(nothing)");
    free(got);
    dump_hits h = scan_pid(pid, &s);
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    expect_no_dumpable_copy("chio scenario run", &h);
    testutil_rmrf(dir);
    free(dir);
}

/* CHIO_SIGNING_KEY is host-service's variable; a shell or unit exporting
 * it exported it to chio as well, whose environment (the strings exec put
 * on the stack: /proc/PID/environ, and any core dump) then held the seed
 * for the life of the process. Failed before review 33. Under sanitizers
 * only /proc/PID/environ is checked (the memory scan runs in make test). */
Test(rev33_dump, a_signing_key_in_the_environment_is_wiped_from_chio_serve)
{
    seed_forms key, env;
    char file[80], path[64], *environ_text;
    size_t len = 0;
    sidecar sc;

    new_seed(&key);
    new_seed(&env);
    snprintf(file, sizeof(file), "%s\n", key.hex);
    cr_assert_eq(setenv("CHIO_SIGNING_KEY", env.hex, 1), 0);
    sidecar_start(&sc, file, BEARER "\n");
    snprintf(path, sizeof(path), "/proc/%d/environ", (int)sc.pid);
    environ_text = testutil_read_file(path, &len);
    cr_assert_not_null(environ_text);
    cr_expect_null(memmem(environ_text, len, env.hex, 64),
                   "/proc/PID/environ of chio serve holds the seed");
    free(environ_text);
#ifndef DUMP_SANITIZED /* the memory scan: without sanitizers only (above) */
    dump_hits h = scan_pid(sc.pid, &env);
    cr_expect_eq(h.dumpable[F_HEX] + h.dumpable[F_HEX_UPPER] + h.dumpable[F_RAW], 0,
                 "a core dump of chio serve would hold the environment's seed (%zu hex, %zu raw)",
                 h.dumpable[F_HEX], h.dumpable[F_RAW]);
#endif
    sidecar_stop(&sc);
}
