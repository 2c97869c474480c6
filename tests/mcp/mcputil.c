/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/mcputil.c - the gateway suites' line log, stored-receipt
 * count and stdio gateway process (mcputil.h).
 */
#include "mcp/mcputil.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chio/store.h"
#include "common/poll.h"
#include "common/testutil.h"

void mt_lines_add(mt_lines *l, int side, const char *line, size_t len)
{
    pthread_mutex_lock(&l->mu);
    if (l->n[side] < 64)
        l->line[side][l->n[side]++] = strndup(line, len);
    pthread_mutex_unlock(&l->mu);
}

/* Under l->mu: a copy of the first line of @side holding @a or @b. */
static char *find_locked(mt_lines *l, int side, const char *a, const char *b)
{
    int i;

    for (i = 0; i < l->n[side]; i++)
        if (l->line[side][i] != NULL &&
            (strstr(l->line[side][i], a) != NULL || (b != NULL && strstr(l->line[side][i], b))))
            return strdup(l->line[side][i]);
    return NULL;
}

/* The first line of @side holding @a or @b, waited for up to @ms. */
static char *wait_either(mt_lines *l, int side, const char *a, const char *b, uint64_t ms)
{
    uint64_t end = testutil_now_ms() + ms;
    char *hit;

    for (;;) {
        pthread_mutex_lock(&l->mu);
        hit = find_locked(l, side, a, b);
        pthread_mutex_unlock(&l->mu);
        if (hit != NULL || testutil_now_ms() >= end)
            return hit;
        testutil_nap_ms(1);
    }
}

char *mt_lines_wait(mt_lines *l, int side, const char *needle, uint64_t ms)
{
    return wait_either(l, side, needle, NULL, ms);
}

int mt_lines_count(mt_lines *l, int side, const char *needle)
{
    int i, c = 0;

    pthread_mutex_lock(&l->mu);
    for (i = 0; i < l->n[side]; i++)
        c += l->line[side][i] != NULL && strstr(l->line[side][i], needle) != NULL;
    pthread_mutex_unlock(&l->mu);
    return c;
}

char *mt_lines_answer(mt_lines *l, int id)
{
    char a[32], b[32];

    snprintf(a, sizeof(a), "\"id\":%d,", id);
    snprintf(b, sizeof(b), "\"id\":%d}", id);
    return wait_either(l, 0, a, b, 10000);
}

void mt_lines_clear(mt_lines *l)
{
    int side, i;

    pthread_mutex_lock(&l->mu);
    for (side = 0; side < 2; side++) {
        for (i = 0; i < l->n[side]; i++)
            free(l->line[side][i]);
        l->n[side] = 0;
    }
    pthread_mutex_unlock(&l->mu);
}

typedef struct {
    const char *a, *b;
    int n;
} hits;

static int visit(void *ctx, uint64_t seq, const char *json, size_t len)
{
    hits *h = ctx;
    char *s = strndup(json, len);

    (void)seq;
    h->n += s != NULL && strstr(s, h->a) != NULL && (h->b == NULL || strstr(s, h->b) != NULL);
    free(s);
    return 0;
}

int mt_stored(const char *dir, const char *a, const char *b)
{
    chio_store *st = NULL;
    hits h = {a, b, 0};

    cr_assert_eq(chio_store_open(dir, CHIO_STORE_READ_ONLY, &st, NULL), 0);
    cr_assert_eq(chio_store_scan(st, 1, visit, &h, NULL), 0);
    chio_store_close(st);
    return h.n;
}

void mt_stdio_start(const char *pol, const char *db, const char *seed, const char *server,
                    const char *rec, const char *err, pid_t *pid, int *in, int *out)
{
    int i[2], o[2];

    cr_assert_eq(pipe2(i, O_CLOEXEC), 0);
    cr_assert_eq(pipe2(o, O_CLOEXEC), 0);
    *pid = fork();
    cr_assert_geq(*pid, 0);
    if (*pid == 0) {
        const char *argv[] = {CHIO_TEST_CLI,  "mcp",  "serve",       "--policy", pol,
                              "--receipt-db", db,     "--seed-file", seed,       "--",
                              "node",         server, NULL};
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        setenv("CHIO_RECORD", rec, 1);
        dup2(i[0], 0);
        dup2(o[1], 1);
        dup2(e, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(i[0]);
    close(o[1]);
    *in = i[1];
    *out = o[0];
}

void mt_stdio_send(int in, const char *line)
{
    cr_assert_eq(write(in, line, strlen(line)), (ssize_t)strlen(line));
    cr_assert_eq(write(in, "\n", 1), 1);
}

int mt_stdio_wait(int out, char **got, size_t *len, const char *needle, unsigned ms)
{
    uint64_t end = testutil_now_ms() + ms;
    char buf[65536];

    while (strstr(*got, needle) == NULL) {
        struct pollfd p = {out, POLLIN, 0};
        uint64_t now = testutil_now_ms();
        ssize_t n;
        if (now >= end || poll(&p, 1, (int)(end - now)) <= 0)
            break;
        n = read(out, buf, sizeof(buf));
        if (n <= 0)
            break;
        *got = realloc(*got, *len + (size_t)n + 1);
        cr_assert_not_null(*got);
        memcpy(*got + *len, buf, (size_t)n);
        *len += (size_t)n;
        (*got)[*len] = '\0';
    }
    return strstr(*got, needle) != NULL;
}

void mt_stdio_stop(pid_t pid, int in, int out, unsigned ms)
{
    uint64_t end = testutil_now_ms() + ms;
    int st;

    close(in);
    while (waitpid(pid, &st, WNOHANG) != pid) {
        if (testutil_now_ms() >= end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        testutil_nap_ms(10);
    }
    close(out);
}

void mt_scripted_start(mt_scripted *s, const char *dir, const char *script, const char *policy,
                       const char *seed_hex)
{
    s->server = testutil_repo_path(script);
    s->seed = testutil_join(dir, "seed");
    s->pol = testutil_join(dir, "policy.json");
    s->db = testutil_join(dir, "db");
    s->err = testutil_join(dir, "gw.err");
    s->rec = testutil_join(dir, "server.rec");
    cr_assert_eq(testutil_write_file(s->seed, seed_hex, strlen(seed_hex), 0600), 0);
    cr_assert_eq(testutil_write_file(s->pol, policy, strlen(policy), 0600), 0);
    mt_stdio_start(s->pol, s->db, s->seed, s->server, s->rec, s->err, &s->pid, &s->in, &s->out);
    s->got = calloc(1, 1);
    cr_assert_not_null(s->got);
    s->len = 0;
}

void mt_scripted_send(mt_scripted *s, const char *line)
{
    mt_stdio_send(s->in, line);
}

int mt_scripted_wait(mt_scripted *s, const char *needle, unsigned ms)
{
    return mt_stdio_wait(s->out, &s->got, &s->len, needle, ms);
}

char *mt_scripted_record(const mt_scripted *s)
{
    char *text = testutil_read_file(s->rec, NULL);

    return text != NULL ? text : strdup("");
}

void mt_scripted_session(mt_scripted *s, const char *init, unsigned ms)
{
    mt_scripted_send(s, init);
    cr_assert(mt_scripted_wait(s, "\"serverInfo\"", ms), "initialize answered: %s", s->got);
    mt_scripted_send(s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
}

void mt_scripted_stop(mt_scripted *s, unsigned ms)
{
    mt_stdio_stop(s->pid, s->in, s->out, ms);
    free(s->got);
    free(s->server);
    free(s->seed);
    free(s->pol);
    free(s->db);
    free(s->err);
    free(s->rec);
}
