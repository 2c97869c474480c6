/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev29_cost.c - review 29 of the cost of the argument
 * checks: arguments a hostile agent shapes so that checking them grows
 * worse than linearly with their size. Each test times real calls
 * (chio_kernel_evaluate, a grant with the constraint or a built-in guard)
 * on an input of size N and of size 4N and compares the two: linear work
 * takes about 4 times as long, quadratic work 16 times. Ratios only, never
 * absolute times, so a slow machine does not fail them; and the process's
 * CPU time (all its threads), not the wall clock, so a busy one does not
 * either: on the wall clock a call that waited for a CPU once or twice
 * among three runs could make 4N look 8 times N (a test's process is its
 * own, Criterion forks one per test).
 *
 * With CHIO_COST_TABLE=1 in the environment, the test cost_table prints
 * the time and peak memory of one call per attack shape and size (each in
 * a child process of its own), the measurement the review reports.
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
#include "kernel/tokens.h"

#define NOW 1710000300u

static uint64_t clock_fn(void *ctx)
{
    (void)ctx;
    return NOW;
}

/* A kernel with the echo tool "t" on server "srv", at NOW, whose calls may
 * carry up to 8 MiB of arguments; @guard 'f' adds a forbidden_path guard,
 * 's' a secret_leak guard, 0 none. */
static chio_kernel *cost_kernel(int guard)
{
    static const char *const tools[] = {"t"};
    static const char *const prefixes[] = {"/etc/", "/root/"};
    static const char *const patterns[] = {"AKIA[0-9A-Z]{16}", "ghp_[A-Za-z0-9]{36}"};
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_error err;

    kt_config(&cfg, NULL);
    cfg.clock = clock_fn;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    cfg.max_argument_bytes = 8u << 20;
    k = kt_kernel(&cfg);
    kt_serve_echo(k, "srv", tools, 1);
    if (guard == 'f')
        cr_assert_eq(chio_kernel_add_forbidden_path_guard(k, "Paths", prefixes, 2, &err), 0, "%s",
                     err.message);
    if (guard == 'F') { /* a long list: 64 prefixes */
        char names[64][32];
        const char *many[64];
        size_t i;
        for (i = 0; i < 64; i++) {
            snprintf(names[i], sizeof(names[i]), "/srv/data/forbidden-%zu/", i);
            many[i] = names[i];
        }
        cr_assert_eq(chio_kernel_add_forbidden_path_guard(k, "Many", many, 64, &err), 0, "%s",
                     err.message);
    }
    if (guard == 'S') { /* a counted class, as secret patterns often are */
        static const char *const counted[] = {"[A-Za-z0-9/+]{40}"};
        cr_assert_eq(chio_kernel_add_secret_leak_guard(k, "Counted", counted, 1, &err), 0, "%s",
                     err.message);
    }
    if (guard == 's')
        cr_assert_eq(chio_kernel_add_secret_leak_guard(k, "Secrets", patterns, 2, &err), 0, "%s",
                     err.message);
    return k;
}

static double now_s(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One call of srv/t with @args (@len bytes) under a grant with
 * @constraint ("" for none); its verdict in *@verdict. Returns the
 * seconds chio_kernel_evaluate took on @clock (CLOCK_PROCESS_CPUTIME_ID
 * for the ratios, CLOCK_MONOTONIC for the table). */
static double timed_call(chio_kernel *k, clockid_t clock, const char *constraint, const char *args,
                         size_t len, int *verdict)
{
    static unsigned n;
    char id[32], sid[CHIO_SESSION_ID_LEN + 1];
    chio_error err;
    chio_response r;
    chio_call c;
    double t0, t;

    snprintf(id, sizeof(id), "cap-rev29-cost-%u", ++n);
    kt_grant_session(k, NOW, id, constraint, sid);
    kt_grant_call(&c, sid, id, args, len);
    chio_response_init(&r);
    chio_error_init(&err);
    t0 = now_s(clock);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    t = now_s(clock) - t0;
    cr_assert_not_null(r.receipt, "no receipt");
    *verdict = r.verdict;
    chio_response_destroy(&r);
    return t;
}

/* ---- attack shapes: arguments of about @n bytes --------------------------------------- */

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        cr_assert_not_null(b->p);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* {"<key of n/2 bytes>": [@item, @item, ...]} up to n bytes: every item is
 * a leaf whose nearest key is the long one. */
static buf long_key_array(size_t n, const char *keych, const char *item)
{
    buf b = {0};
    size_t i;

    puts_(&b, "{\"");
    for (i = 0; i < n / 2; i++)
        puts_(&b, keych);
    puts_(&b, "\":[");
    puts_(&b, item);
    while (b.len < n) {
        puts_(&b, ",");
        puts_(&b, item);
    }
    puts_(&b, "]}");
    return b;
}

/* {"@key": "<@unit repeated to n bytes>@tail"} */
static buf long_value(size_t n, const char *key, const char *head, const char *unit,
                      const char *tail)
{
    buf b = {0};

    puts_(&b, "{\"");
    puts_(&b, key);
    puts_(&b, "\":\"");
    puts_(&b, head);
    while (b.len < n)
        puts_(&b, unit);
    puts_(&b, tail);
    puts_(&b, "\"}");
    return b;
}

/* {"k0": @v, "k1": @v, ...} with keys named @prefix<i>. */
static buf wide_object(size_t n, const char *prefix, const char *v)
{
    buf b = {0};
    char key[64];
    size_t i = 0;

    puts_(&b, "{");
    while (b.len < n) {
        snprintf(key, sizeof(key), "%s\"%s%zu\":%s", i ? "," : "", prefix, i, v);
        puts_(&b, key);
        i++;
    }
    puts_(&b, "}");
    return b;
}

typedef struct shape {
    const char *name;
    int guard;
    const char *constraint;
    buf (*make)(size_t n);
} shape;

#define PP "{\"type\":\"path_prefix\",\"value\":\"/w\"}"
#define DG "{\"type\":\"domain_glob\",\"value\":\"*.example.com\"}"
#define CU "{\"type\":\"custom\",\"value\":[\"env\",\"prod\"]}"
#define RX "{\"type\":\"regex_match\",\"value\":\"(a|b)*c\"}"

static buf mk_key_strings(size_t n)
{
    return long_key_array(n, "a", "\"\"");
}

static buf mk_key_numbers(size_t n)
{
    return long_key_array(n, "a", "0");
}

static buf mk_key_paths(size_t n)
{
    return long_key_array(n, "a", "\"/w/x\"");
}

static buf mk_key_urls(size_t n)
{
    return long_key_array(n, "a", "\"https://a.example.com/\"");
}

static buf mk_words(size_t n)
{
    return long_value(n, "path", "/w/a", " /w/a", "");
}

static buf mk_words_enc(size_t n)
{
    return long_value(n, "path", "/w/a", "%20/w/a", "");
}

static buf mk_look_alikes(size_t n)
{
    return long_value(n, "path", "/w/", "a\xef\xbc\x8f", "");
}

static buf mk_dotdots(size_t n)
{
    buf b = long_value(n / 2, "path", "/w/", "a/", "");

    b.len -= 2; /* reopen the string */
    while (b.len < n)
        puts_(&b, "../");
    puts_(&b, "\"}");
    return b;
}

static buf mk_pct_layers(size_t n)
{
    return long_value(n, "u", "https%25253A%25252F%25252Fa.example.com%25252F", "%252525", "");
}

static buf mk_url_words(size_t n)
{
    return long_value(n, "url", "https://a.example.com/", " https://b.example.com/", "");
}

static buf mk_wide_urls(size_t n)
{
    return wide_object(n, "url", "\"https://a.example.com/x\"");
}

static buf mk_wide_paths(size_t n)
{
    return wide_object(n, "path", "\"/w/a/b\"");
}

static buf mk_custom_wide(size_t n)
{
    buf b = wide_object(n, "e", "{\"env\":\"prod\",\"ENV\":\"prod\"}");

    b.len -= 1;
    puts_(&b, ",\"env\":\"prod\"}");
    return b;
}

static buf mk_shell_words(size_t n)
{
    return long_value(n, "cmd", "cat", " '/tmp/a'", "");
}

static buf mk_secret_layers(size_t n)
{
    return long_value(n, "x", "", "%25252541\\\\u0041\\\\xef\\\\xbc\\\\xa1 ", "");
}

/* {"k": [@item, @item, ...]} up to n bytes. */
static buf many_items(size_t n, const char *item)
{
    buf b = {0};

    puts_(&b, "{\"k\":[");
    puts_(&b, item);
    while (b.len < n) {
        puts_(&b, ",");
        puts_(&b, item);
    }
    puts_(&b, "]}");
    return b;
}

static buf mk_many_a(size_t n)
{
    return many_items(n, "\"a\"");
}

static buf mk_many_pct(size_t n)
{
    return many_items(n, "\"%\"");
}

static buf mk_ghp(size_t n)
{
    return long_value(n, "x", "", "ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_", "");
}

static buf mk_proc_roots(size_t n)
{
    return long_value(n, "path", "", "/proc/1/root", "/tmp/x");
}

static buf mk_alnum39(size_t n)
{
    return long_value(n, "x", "", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ", "");
}

static buf mk_regex(size_t n)
{
    return long_value(n, "x", "", "ab", "");
}

static const shape shapes[] = {
    {"long key, array of \"\" (path_prefix)", 0, PP, mk_key_strings},
    {"long key, array of 0 (path_prefix)", 0, PP, mk_key_numbers},
    {"long key, array of 0 (domain_glob)", 0, DG, mk_key_numbers},
    {"long key, array of paths (forbidden_path)", 'f', "", mk_key_paths},
    {"long key, array of urls (domain_glob)", 0, DG, mk_key_urls},
    {"words /w/a /w/a ... (path_prefix)", 0, PP, mk_words},
    {"words %20-separated (path_prefix)", 0, PP, mk_words_enc},
    {"look-alike slashes (path_prefix)", 0, PP, mk_look_alikes},
    {"a/a/.../../.. (path_prefix)", 0, PP, mk_dotdots},
    {"%25 layers (domain_glob)", 0, DG, mk_pct_layers},
    {"url words (domain_glob)", 0, DG, mk_url_words},
    {"wide object of url keys (domain_glob)", 0, DG, mk_wide_urls},
    {"wide object of path keys (path_prefix)", 0, PP, mk_wide_paths},
    {"wide object, env/ENV members (custom)", 0, CU, mk_custom_wide},
    {"shell-quoted words (forbidden_path)", 'f', "", mk_shell_words},
    {"words (forbidden_path)", 'f', "", mk_words},
    {"escape layers (secret_leak)", 's', "", mk_secret_layers},
    {"long value (regex_match)", 0, RX, mk_regex},
    {"array of \"a\" (secret_leak)", 's', "", mk_many_a},
    {"array of \"%\" (secret_leak)", 's', "", mk_many_pct},
    {"ghp_ near-misses (secret_leak)", 's', "", mk_ghp},
    {"array of \"a\" (forbidden_path)", 'f', "", mk_many_a},
    {"/proc/1/root/... (forbidden_path)", 'f', "", mk_proc_roots},
    {"words, 64 prefixes (forbidden_path)", 'F', "", mk_words},
    {"39-char words, [..]{40} (secret_leak)", 'S', "", mk_alnum39},
    {"words %20, 64 prefixes (forbidden_path)", 'F', "", mk_words_enc},
};

/* The least CPU time of @runs calls of @sh on arguments of about @n
 * bytes (the least: cache misses and the like only ever add time). */
static double least_time(chio_kernel *k, const shape *sh, size_t n, int runs, int *verdict)
{
    buf b = sh->make(n);
    double best = 1e9, t;
    int i;

    for (i = 0; i < runs; i++) {
        t = timed_call(k, CLOCK_PROCESS_CPUTIME_ID, sh->constraint, b.p, b.len, verdict);
        best = t < best ? t : best;
    }
    free(b.p);
    return best;
}

/* Checking 4 times the arguments of @sh must take well under the 16 times
 * as long that quadratic work takes (linear: about 4). Small sizes, so
 * the quadratic code still finishes in a second or so. */
static void expect_linear(const shape *sh, size_t n, int allow)
{
    chio_kernel *k = cost_kernel(sh->guard);
    double t1, t4;
    int v1, v4;

    (void)least_time(k, sh, n, 1, &v1); /* warm up: caches, the first session */
    t1 = least_time(k, sh, n, 3, &v1);
    t4 = least_time(k, sh, 4 * n, 3, &v4);
    cr_expect_eq(v1, allow ? CHIO_VERDICT_ALLOW : CHIO_VERDICT_DENY, "%s: verdict %d", sh->name,
                 v1);
    cr_expect_eq(v4, v1, "%s: verdict %d at 4N, %d at N", sh->name, v4, v1);
    cr_expect_lt(t4, 8 * t1, "%s: %zu bytes took %.4f s, %zu bytes %.4f s (ratio %.1f)", sh->name,
                 n, t1, 4 * n, t4, t4 / t1);
    chio_kernel_free(k);
}

/* A leaf's nearest key was read (six or fifteen case-insensitive
 * searches through it) once per leaf under it: one long key above many
 * short items ({"aaa...": ["", "", ...]}) cost key length times items,
 * minutes for a 256 KiB call. Now once per member. Each row took 16
 * times as long at 4N before. */
Test(rev29_cost, a_long_key_is_read_once_not_once_per_leaf)
{
    size_t i;

    for (i = 0; i < 5; i++) /* the long-key rows; 3 and 4 name allowed paths, hosts */
        expect_linear(&shapes[i], 2048, i >= 3);
}

/* The forbidden_path guard normalised each of its prefixes again for
 * every reading of every word: under a policy of 64 prefixes, a 4 MiB
 * value of short words ("/w/a /w/a ...") took 1.9 s, and 512 KiB 14 times
 * what 2 prefixes take. Now they are normalised once, at registration,
 * and 64 prefixes cost about twice what 2 do (comparing with each is
 * left). */
Test(rev29_cost, forbidden_prefixes_are_normalised_once_not_per_reading)
{
    static const shape few = {"words, 2 prefixes", 'f', "", mk_words};
    static const shape many = {"words, 64 prefixes", 'F', "", mk_words};
    chio_kernel *k2 = cost_kernel('f'), *k64 = cost_kernel('F');
    double t2, t64;
    int v2, v64;

    (void)least_time(k2, &few, 4096, 1, &v2); /* warm up */
    (void)least_time(k64, &many, 4096, 1, &v64);
    t2 = least_time(k2, &few, 512u << 10, 3, &v2);
    t64 = least_time(k64, &many, 512u << 10, 3, &v64);
    cr_expect_eq(v2, CHIO_VERDICT_ALLOW, "verdict %d", v2);
    cr_expect_eq(v64, CHIO_VERDICT_ALLOW, "verdict %d", v64);
    cr_expect_lt(t64, 6 * t2, "2 prefixes: %.4f s, 64 prefixes: %.4f s (ratio %.1f)", t2, t64,
                 t64 / t2);
    chio_kernel_free(k2);
    chio_kernel_free(k64);
}

/* One call of @sh at @n bytes in a child process, killed after @limit
 * seconds: its time in *@t (-1 when killed) and the child's peak RSS in
 * KiB in *@rss. */
static void measure(const shape *sh, size_t n, unsigned limit, double *t, long *rss)
{
    int fd[2], status, verdict = 0;
    struct rusage ru;
    pid_t pid;

    cr_assert_eq(pipe(fd), 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        chio_kernel *k = cost_kernel(sh->guard);
        buf b = sh->make(n);
        double s;
        alarm(limit);
        s = timed_call(k, CLOCK_MONOTONIC, sh->constraint, b.p, b.len, &verdict);
        s = verdict == CHIO_VERDICT_ALLOW ? s : -s - 1e-9; /* the sign says denied */
        if (write(fd[1], &s, sizeof(s)) != (ssize_t)sizeof(s))
            _exit(1);
        _exit(0);
    }
    close(fd[1]);
    if (read(fd[0], t, sizeof(*t)) != (ssize_t)sizeof(*t))
        *t = 0; /* killed */
    close(fd[0]);
    cr_assert_eq(wait4(pid, &status, 0, &ru), pid);
    *rss = ru.ru_maxrss;
    if (*t == 0 && !(WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM))
        *t = 1e9; /* failed, not killed */
}

Test(rev29_cost, cost_table)
{
    static const size_t sizes[] = {256u << 10, 1u << 20, 4u << 20};
    const char *only = getenv("CHIO_COST_ONLY");
    size_t i, j;
    double t;
    long rss;

    if (getenv("CHIO_COST_TABLE") == NULL)
        return;
    for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        if (only != NULL && strstr(shapes[i].name, only) == NULL)
            continue;
        printf("%-44s", shapes[i].name);
        for (j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
            measure(&shapes[i], sizes[j], 20, &t, &rss);
            if (t == 0 || t == 1e9)
                printf("  %4zuK: %s %6ldM", sizes[j] >> 10, t == 0 ? ">20s" : "fail", rss >> 10);
            else
                printf("  %4zuK: %7.3fs%s %4ldM", sizes[j] >> 10, t < 0 ? -t : t, t < 0 ? "d" : "a",
                       rss >> 10);
            fflush(stdout);
        }
        printf("\n");
    }
}
