/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/cmd_mcp.c - `chio mcp serve` and `chio mcp serve-http`: guard an MCP
 * server (stdio, or Streamable HTTP toward the client). Reads the policy
 * (chio.mcp-policy.v1), the seed and the receipt store, builds the kernel
 * and hands over to the MCP layer's stdio transport (src/mcp/), which runs
 * the wrapped server as a child process. With --witness-nats the store is
 * first checked against what its key published (src/export/witness.c).
 * Public API plus the MCP layer and the fleet layer.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../export/export.h"
#include "../mcp/mcp.h"
#include "cli.h"

static const char mcp_usage[] =
    "usage: chio mcp <subcommand> [options]\n"
    "\n"
    "subcommands:\n"
    "  serve --policy FILE --receipt-db DIR --seed-file FILE -- CMD [ARGS...]\n"
    "                                  guard the MCP server CMD; speak MCP on stdin/stdout\n"
    "  serve-http --policy FILE --receipt-db DIR --seed-file FILE --listen ADDR -- CMD ...\n"
    "                                  the same over MCP's Streamable HTTP (/mcp), many sessions\n"
    "\n"
    "  chio mcp <subcommand> --help    all options of one subcommand\n";

/* The start-up witness options, the same in both subcommands. */
#define WITNESS_HELP                                                                  \
    "--witness-nats: before the kernel opens the store, compare it with what its\n"   \
    "key published to the JetStream stream --witness-stream (default CHIO) and\n"     \
    "refuse to start on a rollback (exit 3) or when the check cannot run (exit 4);\n" \
    "--witness-optional starts anyway, with a warning, when the servers cannot\n"     \
    "be reached (docs/fleet.md).\n"

static const char serve_usage[] =
    "usage: chio mcp serve --policy FILE --receipt-db DIR --seed-file FILE\n"
    "                      [--witness-nats URL[,URL...]] [--witness-stream NAME]\n"
    "                      [--witness-optional] -- CMD [ARGS...]\n"
    "\n"
    "Run CMD as an MCP server over stdio and serve its client on stdin/stdout,\n"
    "every tools/call, resources/read and prompts/get decided by the kernel\n"
    "under the policy's grants and guards, with a signed receipt (docs/mcp.md).\n"
    "\n" WITNESS_HELP "\n"
    "exit status: 0 the client closed its input and the server exited, 1 the\n"
    "server died first, 2 bad usage, a policy or store that cannot be used or a\n"
    "server that cannot be started, 3 the store was rolled back, 4 the witness\n"
    "could not check\n";

static const char serve_http_usage[] =
    "usage: chio mcp serve-http --policy FILE --receipt-db DIR --seed-file FILE\n"
    "                           --listen 127.0.0.1:PORT [--max-sessions N]\n"
    "                           [--session-idle-secs SECS] [--witness-nats URL[,URL...]]\n"
    "                           [--witness-stream NAME] [--witness-optional]\n"
    "                           -- CMD [ARGS...]\n"
    "\n"
    "Like `chio mcp serve`, over MCP's Streamable HTTP transport at\n"
    "http://ADDR/mcp (loopback only; port 0 picks one, printed on stderr),\n"
    "until SIGTERM or SIGINT. Each initialize opens a client session with its\n"
    "own CMD process; at most --max-sessions (default 16) at once, each ended\n"
    "after --session-idle-secs unused (default 3600).\n"
    "\n" WITNESS_HELP "\n"
    "exit status: 0 after SIGTERM or SIGINT, 2 bad usage, an address, policy,\n"
    "store or CMD that cannot be used, 3 the store was rolled back, 4 the\n"
    "witness could not check\n";

/* The grants follow the token rules: issue the policy's scope once with
 * the kernel's key, so that a grant the rules refuse (a misspelt member)
 * stops the command before the store is touched or a kernel started (the
 * gateway issues it again for each client session). */
static int check_scope(const char *cmd, const chio_mcp_policy *pol, const chio_keypair *kp)
{
    chio_capability *cap = NULL;
    chio_error err;
    int rc;

    chio_error_init(&err);
    rc = chio_capability_issue(kp, "policy-check", chio_keypair_public_hex(kp), pol->scope_json,
                               pol->scope_len, 1, 1, &cap, &err);
    chio_capability_free(cap);
    return rc == 0 ? 0 : cli_lib_error(cmd, "policy: the grants are not a valid scope", rc, &err);
}

/* serve-http's --listen as the MCP layer reads it (a 127.0.0.0/8 IPv4
 * address, a colon, a port 0-65535), checked here so that a bad one stops
 * the command before the store is created or a kernel started. */
static int listen_ok(const char *listen)
{
    const char *colon = strrchr(listen, ':');
    char host[64], *end;
    unsigned long port;
    struct in_addr a;

    if (colon == NULL || (size_t)(colon - listen) >= sizeof(host) || colon[1] < '0' ||
        colon[1] > '9')
        return 0;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    port = strtoul(colon + 1, &end, 10);
    return *end == '\0' && port <= 65535 && inet_pton(AF_INET, host, &a) == 1 &&
           (ntohl(a.s_addr) >> 24) == 127;
}

static int mcp_run(int argc, char **argv, int http)
{
    /* The HTTP-only options last: serve parses the first 6. */
    cli_opt opts[] = {{"policy", 1, 0, 0, 0, 0},           {"receipt-db", 1, 0, 0, 0, 0},
                      {"seed-file", 1, 0, 0, 0, 0},        {"witness-nats", 1, 0, 0, 0, 0},
                      {"witness-stream", 1, 0, 0, 0, 0},   {"witness-optional", 0, 0, 0, 0, 0},
                      {"listen", 1, 0, 0, 0, 0},           {"max-sessions", 1, 0, 0, 0, 0},
                      {"session-idle-secs", 1, 0, 0, 0, 0}};
    const char *cmd = http ? "mcp serve-http" : "mcp serve";
    const char *usage = http ? serve_http_usage : serve_usage;
    size_t nopts = http ? 9 : 6;
    chio_mcp_http_opts ho = {0};
    uint64_t v;
    const char *pos[1], **words;
    chio_mcp_policy *pol = NULL;
    chio_keypair *kp;
    chio_kernel *k = NULL;
    chio_error err;
    struct stat st;
    char *text;
    size_t npos, len;
    int i, dash = -1, rc;

    for (i = 0; i < argc; i++)
        if (strcmp(argv[i], "--") == 0) {
            dash = i;
            break;
        }
    /* Without --, a word that is no option is the server's command given
     * without it (`chio mcp serve ... npx server`): keep the first to say so. */
    words = dash < 0 ? calloc((size_t)argc + 1, sizeof(*words)) : NULL;
    if (dash < 0 && words == NULL)
        return cli_error(cmd, "out of memory");
    rc = cli_parse(dash < 0 ? argc : dash, argv, opts, nopts, dash < 0 ? words : pos,
                   dash < 0 ? (size_t)argc : 0, &npos, cmd, usage);
    if (rc == 0 && npos > 0) {
        cli_error(cmd,
                  "unexpected argument '%s': the wrapped server's command goes after --, as "
                  "in 'chio %s ... -- %s ...'",
                  words[0], cmd, words[0]);
        cli_usage_hint(cmd, usage);
        rc = CLI_USAGE;
    }
    free(words);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    for (i = 0; i < (int)nopts; i++) /* required: the first three; serve-http's --listen */
        if (opts[i].value == NULL && (i < 3 || i == 6)) {
            cli_error(cmd, "--%s is required", opts[i].name);
            cli_usage_hint(cmd, usage);
            return CLI_USAGE;
        }
    if (dash < 0 || dash + 1 >= argc) {
        cli_error(cmd, "the wrapped server's command goes after --");
        cli_usage_hint(cmd, usage);
        return CLI_USAGE;
    }
    /* before the store is touched or a kernel started */
    if (!chio_mcp_runnable(argv[dash + 1]))
        return cli_error(cmd, "cannot start the wrapped server %s: not an executable file",
                         argv[dash + 1]);
    if (http) {
        ho.listen = opts[6].value;
        if (!listen_ok(ho.listen)) {
            cli_error(cmd,
                      "--listen '%.80s' is not a loopback IPv4 address and port (127.0.0.1:PORT)",
                      ho.listen);
            return CLI_USAGE;
        }
        if (opts[7].value != NULL) {
            if (cli_u64(opts[7].value, &v) != 0 || v < 1 || v > 1024) {
                cli_error(cmd, "--max-sessions must be between 1 and 1024");
                return CLI_USAGE;
            }
            ho.max_sessions = (unsigned)v;
        }
        if (opts[8].value != NULL) {
            if (cli_u64(opts[8].value, &v) != 0 || v < 1 || v > 30 * 86400) {
                cli_error(cmd, "--session-idle-secs must be between 1 and 2592000");
                return CLI_USAGE;
            }
            ho.idle_secs = (unsigned)v;
        }
    }
    if ((opts[4].value || opts[5].value) && opts[3].value == NULL) {
        cli_error(cmd, "--witness-stream and --witness-optional need --witness-nats");
        return CLI_USAGE;
    }
    if (opts[4].value && !chio__fleet_stream_name_ok(opts[4].value)) {
        cli_error(cmd, "--witness-stream must be 1-64 of A-Z a-z 0-9 _ -");
        return CLI_USAGE;
    }
    if (opts[3].value != NULL) {
        char why[300];
        if (!chio__xp_url_ok(opts[3].value, why, sizeof(why))) {
            cli_error(cmd, "--witness-nats: %s", why);
            return CLI_USAGE;
        }
    }
    /* stdio's standard input is the MCP client's stream, never a policy */
    if (!http && strcmp(opts[0].value, "-") == 0) {
        cli_error(cmd, "--policy - would read the MCP client's stream (standard input): give "
                       "the policy's file");
        return CLI_USAGE;
    }
    /* A policy is a file: a FIFO or a device would block or never end. */
    if (opts[0].value != NULL && strcmp(opts[0].value, "-") != 0 && stat(opts[0].value, &st) == 0 &&
        !S_ISREG(st.st_mode)) {
        cli_error(cmd, "--policy %s is not a regular file", opts[0].value);
        return CLI_USAGE;
    }
    text = cli_read_input(cmd, opts[0].value, &len);
    if (text == NULL)
        return CLI_USAGE;
    chio_error_init(&err);
    rc = chio_mcp_policy_parse(text, len, &pol, &err);
    free(text);
    if (rc != 0)
        return cli_lib_error(cmd, "policy", rc, &err);
    if (cli_check_store_dir(cmd, "--receipt-db", opts[1].value) != 0) {
        chio_mcp_policy_free(pol);
        return CLI_USAGE;
    }
    kp = cli_load_seed(cmd, opts[2].value);
    if (kp == NULL) {
        chio_mcp_policy_free(pol);
        return CLI_USAGE;
    }
    if (check_scope(cmd, pol, kp) != 0) {
        chio_keypair_free(kp);
        chio_mcp_policy_free(pol);
        return CLI_USAGE;
    }
    if (opts[3].value != NULL) {
        /* The start-up witness reads the store before the kernel locks it;
         * its lines go to stderr (stdout may be the MCP stream). */
        chio__witness_startup w = {http ? "chio mcp serve-http" : "chio mcp serve",
                                   opts[1].value,
                                   opts[3].value,
                                   opts[4].value,
                                   chio_keypair_public_hex(kp),
                                   opts[5].value != NULL,
                                   0};

        FILE *werr = cli_redacting_stream(stderr); /* cli/redact_args.c */

        rc = chio__witness_at_startup(&w, werr);
        cli_redacting_close(werr, stderr);
        if (rc != 0) {
            chio_keypair_free(kp);
            chio_mcp_policy_free(pol);
            return rc;
        }
    }
    rc = chio_mcp_kernel_new(pol, kp, opts[1].value, &k, &err);
    if (rc != 0) {
        chio_mcp_policy_free(pol);
        if (rc == CHIO_EBUSY)
            return cli_store_busy(cmd, opts[1].value, "stop it first or use another --receipt-db",
                                  &err);
        return cli_lib_error(cmd, "kernel", rc, &err);
    }
    rc = http ? chio_mcp_serve_http(pol, k, &ho, argv + dash + 1)
              : chio_mcp_serve_stdio(pol, k, argv + dash + 1);
    if (chio_kernel_drain(k, &err) != 0 && rc == 0)
        rc = cli_lib_error(cmd, "drain", CHIO_EFAILED, &err);
    chio_kernel_free(k);
    chio_mcp_policy_free(pol);
    return rc == 0 ? CLI_OK : rc == 2 ? CLI_USAGE : CLI_NEGATIVE;
}

static int mcp_serve(int argc, char **argv)
{
    return mcp_run(argc, argv, 0);
}

static int mcp_serve_http(int argc, char **argv)
{
    return mcp_run(argc, argv, 1);
}

int cmd_mcp(int argc, char **argv)
{
    static const cli_subcommand subs[] = {{"serve", mcp_serve}, {"serve-http", mcp_serve_http}};
    return cli_dispatch("mcp", argc, argv, subs, sizeof(subs) / sizeof(subs[0]), mcp_usage);
}
