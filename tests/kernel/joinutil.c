/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/joinutil.c - the joined-literal suites' helpers
 * (joinutil.h).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/joinutil.h"
#include "kernel/kernelutil.h"

#define NOW      1710000300u
#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

char *ju_cmd_args(const char *v)
{
    size_t n = strlen(v), o = 0, i;
    char *a = malloc(2 * n + 16);

    cr_assert_not_null(a);
    o += (size_t)sprintf(a, "{\"cmd\":\"");
    for (i = 0; i < n; i++) {
        if (v[i] == '\n') {
            a[o++] = '\\';
            a[o++] = 'n';
            continue;
        }
        if (v[i] == '\\' || v[i] == '"')
            a[o++] = '\\';
        a[o++] = v[i];
    }
    memcpy(a + o, "\"}", 3);
    return a;
}

void ju_run_rows(const char *const *rows, const int *denied, size_t n)
{
    static const char *const prefixes[] = {"/root/.ssh/", "/etc/shadow"};
    char **args = calloc(n, sizeof(*args));
    size_t i;

    cr_assert_not_null(args);
    for (i = 0; i < n; i++)
        args[i] = ju_cmd_args(rows[i]);
    kt_run_guard_rows_with(NOW, prefixes, NROWS(prefixes), (const char *const *)args, denied, n);
    for (i = 0; i < n; i++)
        free(args[i]);
    free(args);
}

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

/* @sh's value at @n bytes of units, then @tail. */
static char *value_of(const ju_shape *sh, size_t n, const char *tail)
{
    size_t hl = strlen(sh->head), ul = strlen(sh->unit), tl = strlen(tail) + 1, o;
    char *v = malloc(hl + n + tl), *a;

    cr_assert_not_null(v);
    memcpy(v, sh->head, hl);
    for (o = 0; o < n; o++)
        v[hl + o] = sh->unit[o % ul];
    memcpy(v + hl + n, tail, tl);
    a = ju_cmd_args(v);
    free(v);
    return a;
}

/* One call of srv/t with @args on @k, a forbidden_path guard on
 * /etc/shadow: its CPU time; the verdict must be a denial. */
static double timed_call(chio_kernel *k, const char *args, const ju_shape *sh)
{
    static unsigned seq;
    char id[32], sid[CHIO_SESSION_ID_LEN + 1];
    chio_response r;
    chio_error err;
    chio_call c;
    double t0, t;

    snprintf(id, sizeof(id), "cap-join-cost-%u", ++seq);
    kt_grant_session(k, NOW, id, "", sid);
    kt_grant_call(&c, sid, id, args, strlen(args));
    chio_response_init(&r);
    chio_error_init(&err);
    t0 = cpu_now();
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    t = cpu_now() - t0;
    cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED, "\"%s\" + \"%s\"...: %s", sh->head, sh->unit,
                 chio_code_name(r.code));
    chio_response_destroy(&r);
    return t;
}

static double least_time(chio_kernel *k, const ju_shape *sh, size_t n, const char *tail)
{
    char *args = value_of(sh, n, tail);
    double best = 1e9, t;
    int i;

    for (i = 0; i < 3; i++) {
        t = timed_call(k, args, sh);
        best = t < best ? t : best;
    }
    free(args);
    return best;
}

void ju_expect_linear(const ju_shape *shapes, size_t n, const char *tail)
{
    static const char *const tools[] = {"t"};
    static const char *const prefixes[] = {"/etc/shadow"};
    chio_kernel *k = kt_echo_kernel(NULL, clock_fn, "srv", tools, 1);
    size_t i, bytes = 16u << 10;
    double t1, t4;
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_add_forbidden_path_guard(k, "Paths", prefixes, 1, &err), 0, "%s",
                 err.message);
    for (i = 0; i < n; i++) {
        (void)least_time(k, &shapes[i], bytes, tail); /* warm up */
        t1 = least_time(k, &shapes[i], bytes, tail);
        t4 = least_time(k, &shapes[i], 4 * bytes, tail);
        cr_expect_lt(t4, 8 * t1 + 0.005, "\"%s\" + \"%s\": %zu bytes %.4f s, %zu bytes %.4f s",
                     shapes[i].head, shapes[i].unit, bytes, t1, 4 * bytes, t4);
    }
    chio_kernel_free(k);
}
