/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/reliability/budget_victim.c - a kernel spending one invocation
 * budget, to be killed.
 *
 *   budget_victim DIR MAX THREADS [block]
 *
 * Opens a kernel on the receipt store DIR (created or reopened) with
 * durability CHIO_DURABILITY_SYNC and the test key (seed 07 x 32), issues
 * itself a capability "cap-budget" for tool srv/t with max_invocations
 * MAX, and calls it from THREADS threads until every thread has seen
 * budget_exhausted. tests/kernel/test_budget_durable.c kills it with
 * SIGKILL part-way and checks that no restart ever refills the budget.
 * With "block" the tool never returns (it reports "running" and waits to
 * be killed): the kill lands while the tools run.
 *
 * Standard output, one line per event, each a single write(2):
 *   start            the kernel runs and the session is open
 *   running          a tool was dispatched ("block" only; it never returns)
 *   allow            a call was allowed: its receipt is committed
 *   exhausted        a call was denied with budget_exhausted (that thread stops)
 *   error <code>     a call failed (that thread stops)
 *   done             every thread stopped and the kernel drained
 *
 * Exit status: 0 after "done"; 2 bad usage; 3 the kernel did not start.
 * A single file: the Makefile builds each file in tests/reliability alone
 * against libchio.a. Only the public API is used.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "chio/chio.h"

#define SEED  "0707070707070707070707070707070707070707070707070707070707070707"
#define AGENT "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a"

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;
static chio_kernel *k;
static int block;
static char sid[CHIO_SESSION_ID_LEN + 1];

static void say(const char *line)
{
    char buf[128];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "%s\n", line), off = 0;

    pthread_mutex_lock(&out_mu);
    while (off < n) {
        ssize_t w = write(1, buf + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            _exit(1);
        off += (size_t)w;
    }
    pthread_mutex_unlock(&out_mu);
}

static int echo(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    (void)args;
    (void)len;
    if (block) {
        say("running");
        for (;;)
            pause(); /* until SIGKILL */
    }
    return chio_output_set_json(out, "{\"ok\":true}", 11);
}

static void *worker(void *arg)
{
    chio_call c;
    chio_response r;
    chio_error err;
    char line[64];
    int rc;

    (void)arg;
    memset(&c, 0, sizeof(c));
    c.session_id = sid;
    c.capability_id = "cap-budget";
    c.server_id = "srv";
    c.tool_name = "t";
    c.arguments_json = "{}";
    c.arguments_len = 2;
    for (;;) {
        chio_error_init(&err);
        chio_response_init(&r);
        rc = chio_kernel_evaluate(k, &c, &r, &err);
        if (rc != 0) {
            snprintf(line, sizeof(line), "error %s", chio_err_name(rc));
            say(line);
            return NULL;
        }
        if (r.verdict == CHIO_VERDICT_ALLOW) {
            say("allow");
        } else if (r.code == CHIO_CODE_BUDGET_EXHAUSTED) {
            say("exhausted");
            chio_response_destroy(&r);
            return NULL;
        } else {
            snprintf(line, sizeof(line), "error %s", chio_code_name(r.code));
            say(line);
            chio_response_destroy(&r);
            return NULL;
        }
        chio_response_destroy(&r);
    }
}

int main(int argc, char **argv)
{
    static const char *const tools[] = {"t"};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_capability *cap = NULL;
    chio_keypair *kp = NULL;
    chio_error err;
    pthread_t th[64];
    char scope[256];
    const char *caps[1];
    long max, n, i;

    if ((argc != 4 && (argc != 5 || strcmp(argv[4], "block") != 0)) ||
        (max = strtol(argv[2], NULL, 10)) <= 0 || (n = strtol(argv[3], NULL, 10)) <= 0 || n > 64) {
        fprintf(stderr, "usage: budget_victim DIR MAX THREADS [block]\n");
        return 2;
    }
    block = argc == 5;
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
    chio_error_init(&err);
    if (chio_keypair_from_seed_hex(SEED, 64, &kp, &err) != 0)
        return 3;
    chio_kernel_config_init(&cfg);
    cfg.keypair = kp;
    cfg.policy_hash = "policy-budget";
    cfg.receipt_store_path = argv[1];
    cfg.durability = CHIO_DURABILITY_SYNC;
    cfg.checkpoint_batch_size = 10;
    cfg.log_level = CHIO_LOG_ERROR;
    if (chio_kernel_new(&cfg, &k, &err) != 0) {
        fprintf(stderr, "kernel: %s\n", err.message);
        return 3;
    }
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = echo;
    snprintf(scope, sizeof(scope),
             "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\",\"operations\":[\"invoke\"],"
             "\"max_invocations\":%ld}]}",
             max);
    if (chio_kernel_register_tool_server(k, &ts, &err) != 0 ||
        chio_kernel_issue_capability(k, "cap-budget", AGENT, scope, strlen(scope), 0, 3600, &cap,
                                     &err) != 0) {
        fprintf(stderr, "setup: %s\n", err.message);
        return 3;
    }
    caps[0] = chio_capability_json(cap, NULL);
    if (chio_kernel_open_session(k, AGENT, caps, NULL, 1, sid, &err) != 0) {
        fprintf(stderr, "session: %s\n", err.message);
        return 3;
    }
    chio_capability_free(cap);
    say("start");
    for (i = 0; i < n; i++)
        pthread_create(&th[i], NULL, worker, NULL);
    for (i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    chio_kernel_drain(k, NULL);
    chio_kernel_free(k);
    say("done");
    return 0;
}
