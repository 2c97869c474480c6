/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/reliability/revoke_victim.c - a kernel that revokes a capability
 * and spends a budget, to be killed.
 *
 *   revoke_victim DIR sync|nosync
 *
 * Opens a kernel on the receipt store DIR with that durability
 * (CHIO_DURABILITY_SYNC or _NOSYNC), the wall clock and the test key (seed
 * 07 x 32); opens a session holding "cap-r" (srv/t) and revokes it; then
 * opens one holding "cap-b" (srv/t, max_invocations 1) and calls it, with
 * a tool that never returns. tests/kernel/test_rev29_restart.c kills it
 * with SIGKILL and checks that a restart still refuses both.
 *
 * Standard output, one line per event, each a single write(2):
 *   revoked          chio_kernel_revoke_capability("cap-r") returned 0
 *   running          the budgeted call's tool was dispatched (it blocks)
 *   error <what>     a step failed (the program exits 3)
 *
 * A single file: the Makefile builds each file in tests/reliability alone
 * against libchio.a. Only the public API is used.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "chio/chio.h"

#define SEED  "0707070707070707070707070707070707070707070707070707070707070707"
#define AGENT "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a"

/* One line, one write(2). */
static void say(const char *line)
{
    char buf[128];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "%s\n", line), off = 0;

    while (off < n) {
        ssize_t w = write(1, buf + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            _exit(1);
        off += (size_t)w;
    }
}

static int blocking_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                         size_t len, chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    (void)args;
    (void)len;
    (void)out;
    say("running");
    for (;;)
        pause();        /* until SIGKILL */
    return CHIO_EINVAL; /* not reached */
}

/* Open a session holding a fresh token @id with grant @scope. */
static int session(chio_kernel *k, const char *id, const char *scope,
                   char sid[CHIO_SESSION_ID_LEN + 1], chio_error *err)
{
    chio_capability *cap = NULL;
    const char *caps[1];
    int rc;

    rc = chio_kernel_issue_capability(k, id, AGENT, scope, strlen(scope), 0, 3600, &cap, err);
    if (rc != 0)
        return rc;
    caps[0] = chio_capability_json(cap, NULL);
    rc = chio_kernel_open_session(k, AGENT, caps, NULL, 1, sid, err);
    chio_capability_free(cap);
    return rc;
}

static int fail(const char *what, const chio_error *err)
{
    char line[96];

    snprintf(line, sizeof(line), "error %s", what);
    say(line);
    fprintf(stderr, "%s: %s\n", what, err->message);
    return 3;
}

int main(int argc, char **argv)
{
    static const char *const tools[] = {"t"};
    static const char plain[] =
        "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\",\"operations\":[\"invoke\"]}]}";
    static const char budgeted[] = "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
                                   "\"operations\":[\"invoke\"],\"max_invocations\":1}]}";
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_keypair *kp = NULL;
    chio_kernel *k = NULL;
    chio_call c;
    chio_response r;
    chio_error err;
    char sid[CHIO_SESSION_ID_LEN + 1];

    if (argc != 3 || (strcmp(argv[2], "sync") != 0 && strcmp(argv[2], "nosync") != 0)) {
        fprintf(stderr, "usage: revoke_victim DIR sync|nosync\n");
        return 2;
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
    chio_error_init(&err);
    if (chio_keypair_from_seed_hex(SEED, 64, &kp, &err) != 0)
        return fail("key", &err);
    chio_kernel_config_init(&cfg);
    cfg.keypair = kp;
    cfg.policy_hash = "policy-revoke";
    cfg.receipt_store_path = argv[1];
    cfg.durability = strcmp(argv[2], "sync") == 0 ? CHIO_DURABILITY_SYNC : CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    if (chio_kernel_new(&cfg, &k, &err) != 0)
        return fail("kernel", &err);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = blocking_tool;
    if (chio_kernel_register_tool_server(k, &ts, &err) != 0)
        return fail("register", &err);
    if (session(k, "cap-r", plain, sid, &err) != 0)
        return fail("session", &err);
    if (chio_kernel_revoke_capability(k, "cap-r", &err) != 0)
        return fail("revoke", &err);
    say("revoked");
    if (session(k, "cap-b", budgeted, sid, &err) != 0)
        return fail("session", &err);
    memset(&c, 0, sizeof(c));
    c.session_id = sid;
    c.capability_id = "cap-b";
    c.server_id = "srv";
    c.tool_name = "t";
    c.arguments_json = "{}";
    c.arguments_len = 2;
    chio_response_init(&r);
    (void)chio_kernel_evaluate(k, &c, &r, &err); /* its tool blocks until the kill */
    return fail("call returned", &err);
}
