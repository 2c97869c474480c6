/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev57_guard_cost.c - review 12 (F2): the cost of the
 * forbidden_path guard's reading of joined literals on quotes that never
 * close. The reading tried every quote byte as a literal's opening quote
 * and scanned to the end of the string for its close, so a value of
 * escaped quotes ("\'\`" repeated: every quote escaped, none closing) cost
 * its length squared: 1 MiB took 49 s on the reviewer's machine, where
 * docs/security.md promises linear readings. Each test makes real calls
 * (chio_kernel_evaluate, a forbidden_path guard on /etc/ and /root/) and
 * holds the CPU time, never the wall clock, to a ratio: of a size to 4
 * times it (linear about 4, quadratic 16), or of a hostile value to an
 * ordinary one of the same size, so a slow or busy machine (or valgrind)
 * does not fail them.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kernel/kernelutil.h"

#define NOW 1710000300u

static uint64_t clock_fn(void *ctx)
{
    (void)ctx;
    return NOW;
}

static double cpu_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A value: @unit repeated to @n bytes, then @tail, under @key. */
typedef struct shape {
    const char *key, *unit, *tail;
    int denied; /* the verdict it had before the fix, at any size */
} shape;

/* {"@key":"<the value of @sh at @n bytes>"}, the value JSON-escaped. */
static char *args_of(const shape *sh, size_t n)
{
    size_t ul = strlen(sh->unit), tl = strlen(sh->tail), cap = 2 * (n + ul + tl) + 64, o = 0;
    size_t i, v = 0;
    char *a = malloc(cap);
    const char *s;

    cr_assert_not_null(a);
    o += (size_t)snprintf(a, cap, "{\"%s\":\"", sh->key);
    for (v = 0; v < n + tl; v++) {
        s = v < n ? &sh->unit[v % ul] : &sh->tail[v - n];
        if (*s == '\\' || *s == '"')
            a[o++] = '\\';
        a[o++] = *s;
    }
    for (i = 0; i < 2; i++)
        a[o++] = "\"}"[i];
    a[o] = '\0';
    return a;
}

/* A kernel with the echo tool srv/t and a forbidden_path guard on /etc/
 * and /root/. */
static chio_kernel *guard_kernel(void)
{
    static const char *const tools[] = {"t"};
    static const char *const prefixes[] = {"/etc/", "/root/"};
    chio_kernel *k = kt_echo_kernel(NULL, clock_fn, "srv", tools, 1);
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_add_forbidden_path_guard(k, "Paths", prefixes, 2, &err), 0, "%s",
                 err.message);
    return k;
}

/* One call of srv/t with @args on @k; its verdict in *@verdict. Returns
 * the CPU time chio_kernel_evaluate took. */
static double timed_call(chio_kernel *k, const char *args, int *verdict)
{
    static unsigned seq;
    char id[32], sid[CHIO_SESSION_ID_LEN + 1];
    chio_response r;
    chio_error err;
    chio_call c;
    double t0, t;

    snprintf(id, sizeof(id), "cap-rev57-cost-%u", ++seq);
    kt_grant_session(k, NOW, id, "", sid);
    kt_grant_call(&c, sid, id, args, strlen(args));
    chio_response_init(&r);
    chio_error_init(&err);
    t0 = cpu_now();
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    t = cpu_now() - t0;
    cr_assert_not_null(r.receipt, "no receipt");
    *verdict = r.verdict;
    chio_response_destroy(&r);
    return t;
}

/* The reviewer's unit (a backslash, a quote, a backtick: both quotes
 * escaped), under a command key and a key that names nothing; each quote
 * kind escaped; all three between letters; and a hit after the escaped
 * quotes, which must still be found: "/ro" + "ot/.ssh/id_rsa" is under
 * /root/ only once the two literals are joined. The last: escaped
 * quotes that a final quote closes. */
static const shape shapes[] = {
    {"cmd", "\\'`", "", 0},
    {"data", "\\'`", "", 0},
    {"cmd", "\\\"", "", 0},
    {"cmd", "\\`", "", 0},
    {"cmd", "a\\'b\\\"c\\`", "", 0},
    {"cmd", "\\'`", " open(\"/ro\" + \"ot/.ssh/id_rsa\")", 1},
    /* review 14: escaped quotes closed by a last quote, which every one
     * of them reached when each was tried as an opener */
    {"cmd", "\\\"", "\"", 0},
};

/* An ordinary value of the same size: short quoted words, every literal
 * closed, read by the same readings. */
static const shape ordinary = {"cmd", "'a' ", "", 0};

static void expect_verdict(const shape *sh, int verdict, size_t n)
{
    cr_expect_eq(verdict, sh->denied ? CHIO_VERDICT_DENY : CHIO_VERDICT_ALLOW,
                 "%s: \"%s\" x %zu bytes: verdict %d", sh->key, sh->unit, n, verdict);
}

/* The least CPU time of @runs calls with @sh at @n bytes. */
static double least_time(chio_kernel *k, const shape *sh, size_t n, int runs)
{
    char *args = args_of(sh, n);
    double best = 1e9, t;
    int i, verdict;

    for (i = 0; i < runs; i++) {
        t = timed_call(k, args, &verdict);
        best = t < best ? t : best;
        expect_verdict(sh, verdict, n);
    }
    free(args);
    return best;
}

/* 128 KiB of each shape took 14 to 16 times what 32 KiB took (8 s against
 * 0.5 s for the reviewer's unit); now about 4. */
Test(rev57_guard_cost, escaped_quotes_cost_linear_time)
{
    chio_kernel *k = guard_kernel();
    size_t i, n = 32u << 10;
    double t1, t4;

    for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        (void)least_time(k, &shapes[i], n, 1); /* warm up */
        t1 = least_time(k, &shapes[i], n, 3);
        t4 = least_time(k, &shapes[i], 4 * n, 3);
        cr_expect_lt(t4, 8 * t1, "%s: \"%s\": %zu bytes took %.4f s, %zu bytes %.4f s (ratio %.1f)",
                     shapes[i].key, shapes[i].unit, n, t1, 4 * n, t4, t4 / t1);
    }
    chio_kernel_free(k);
}

/* One call with @sh at @n bytes in a child process of its own, which may
 * spend @limit seconds of CPU: the CPU time chio_kernel_evaluate took, or
 * -1 when the child was killed at the limit (or failed: *@status says). */
static double child_call(const shape *sh, size_t n, unsigned limit, int *status)
{
    double msg[2] = {0, 0};
    int fd[2];
    ssize_t got;
    pid_t pid;

    cr_assert_eq(pipe(fd), 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct rlimit rl = {limit, limit + 1};
        chio_kernel *k;
        char *args;
        int verdict;
        close(fd[0]);
        if (setrlimit(RLIMIT_CPU, &rl) != 0)
            _exit(2);
        k = guard_kernel();
        args = args_of(sh, n);
        msg[1] = timed_call(k, args, &verdict);
        msg[0] = verdict;
        if (write(fd[1], msg, sizeof(msg)) != (ssize_t)sizeof(msg))
            _exit(1);
        _exit(0);
    }
    close(fd[1]);
    got = read(fd[0], msg, sizeof(msg));
    close(fd[0]);
    cr_assert_eq(waitpid(pid, status, 0), pid);
    if (got != (ssize_t)sizeof(msg))
        return -1;
    expect_verdict(sh, (int)msg[0], n);
    return msg[1];
}

/* 1 MiB of each shape, the reviewer's input first: it took 49 s (75 s of
 * CPU on a busy machine) and is now read in about 4 times what as many
 * bytes of ordinary quoted words take. The bound is 25 times that, and a
 * child spending more than that plus 5 s is killed, so the quadratic code
 * fails in seconds rather than minutes. */
Test(rev57_guard_cost, a_mebibyte_of_escaped_quotes_is_read_within_a_bound)
{
    size_t i, n = 1u << 20;
    double base, t;
    unsigned limit;
    int status;

    base = child_call(&ordinary, n, 60, &status);
    cr_assert_geq(base, 0, "the ordinary value failed (status %d)", status);
    limit = (unsigned)(25 * base) + 5;
    for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        t = child_call(&shapes[i], n, limit, &status);
        cr_expect(t >= 0, "%s: \"%s\" x 1 MiB: killed after %u s of CPU (signal %d)", shapes[i].key,
                  shapes[i].unit, limit, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        if (t >= 0)
            cr_expect_lt(t, 25 * base + 0.5,
                         "%s: \"%s\" x 1 MiB took %.3f s of CPU, ordinary words %.3f s",
                         shapes[i].key, shapes[i].unit, t, base);
    }
}
