/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/main.c - `chio`, the libchio command line: dispatch to commands,
 * top-level help and version (docs/cli.md is the reference; tests/cli/
 * test_help.c keeps it and every --help in step). Exit codes: 0 success, 1 a verification
 * failed, 2 bad usage or input. Standard descriptors the caller closed
 * are held open on /dev/null first, and a CHIO_SIGNING_KEY in the
 * environment is wiped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
    "usage: chio <command> [<subcommand>] [options]\n"
    "\n"
    "keys and JSON:\n"
    "  keygen --out FILE [--json]              new random signing seed (mode 0600); prints the\n"
    "                                          public key\n"
    "  pubkey --seed-file FILE [--json]        print the public key of a seed file\n"
    "  canon < in.json                         JSON -> canonical JSON\n"
    "receipts:\n"
    "  receipt sign --seed-file FILE           stdin receipt body -> signed receipt\n"
    "  receipt verify [FILE]                   verify receipts (one per line, or one document)\n"
    "  receipt verify --receipt-db DIR         audit a kernel's receipt log\n"
    "  receipt list --receipt-db DIR           show stored receipts (a table, or JSON Lines)\n"
    "  receipt archive --receipt-db DIR --archive DIR ...\n"
    "                                          move old receipts to an archive log\n"
    "capabilities:\n"
    "  capability issue --seed-file FILE ...   sign a capability token\n"
    "  capability verify --at UNIX [FILE]      verify capability tokens\n"
    "checkpoints (Merkle roots over batches of stored receipts):\n"
    "  checkpoint list --receipt-db DIR        the stored checkpoints\n"
    "  checkpoint prove --receipt-db DIR ...   the inclusion proof of one receipt\n"
    "  checkpoint verify-proof [PROOF]         check an inclusion proof\n"
    "running a kernel:\n"
    "  scenario run FILE                       run a chio.scenario.v1 policy scenario\n"
    "  bench --receipt-db DIR ...              drive a real kernel and measure it\n"
    "  serve --receipt-db DIR --seed-file FILE the kernel as an HTTP sidecar\n"
    "MCP gateway:\n"
    "  mcp serve --policy FILE ... -- CMD ...  guard an MCP server (stdio)\n"
    "  mcp serve-http ... --listen ADDR -- CMD the same over Streamable HTTP\n"
    "fleet audit (NATS JetStream):\n"
    "  export --receipt-db DIR --nats URL      publish a kernel's receipts to the stream\n"
    "  fleet verify --nats URL                 verify every kernel's receipts in the stream\n"
    "  fleet witness --receipt-db DIR --nats URL\n"
    "                                          detect a local log rolled back\n"
    "\n"
    "  chio <command> [<subcommand>] --help    all options of one command (also: chio help\n"
    "                                          <command> [<subcommand>])\n"
    "  chio --version                          library version (also: chio version)\n"
    "The complete reference is docs/cli.md.\n"
    "\n"
    "exit status: 0 success, 1 a verification failed, 2 bad usage or input; serve\n"
    "and mcp also 3 and 4 from their start-up witness (see their --help)\n";

static const char version_usage[] = "usage: chio --version | chio version\n"
                                    "\n"
                                    "Print the library version. No options.\n";

/* `chio version` takes nothing: an argument (`chio version --json`) is bad
 * usage, exit 2, as for every command; before review 48 it was ignored,
 * exit 0. */
static int version(int argc, char **argv)
{
    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        fputs(version_usage, stdout);
        return CLI_OK;
    }
    if (argc >= 1) {
        cli_error("version", "unexpected argument '%s'", argv[0]);
        cli_usage_hint("version", version_usage);
        return CLI_USAGE;
    }
    printf("chio %s\n", chio_version());
    return CLI_OK;
}

/* `chio help [COMMAND [SUBCOMMAND]]` is `chio [COMMAND [SUBCOMMAND]]
 * --help`: before review 48 the words after `help` were ignored and the
 * top-level help printed, exit 0, whatever they named (`chio help
 * recipt` too). The words go first, so an unknown one is named (exit 2). */
static char **help_argv(int argc, char **argv)
{
    char **v = calloc((size_t)argc + 1, sizeof(*v));
    int i;

    if (v == NULL)
        return NULL;
    v[0] = argv[0];
    for (i = 2; i < argc; i++)
        v[i - 1] = argv[i];
    v[argc - 1] = "--help";
    v[argc] = NULL;
    return v;
}

/* A descriptor 0-2 the caller closed (`>&-`) would be handed to the
 * first file opened, and writes meant for stdout or stderr would land in
 * it: a receipt store's LOG took fd 1, and every `chio scenario run` line
 * went into it (review 32). Each closed one is opened on /dev/null, which
 * takes its number (the lowest free), before anything else is opened. */
static void hold_std_fds(void)
{
    int fd;

    for (fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) == -1 && errno == EBADF &&
            open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
            _exit(CLI_USAGE); /* cannot keep the store's files apart from them */
}

extern char **environ;

/* CHIO_SIGNING_KEY holds a kernel's seed (examples/host-service reads
 * it); chio never reads it, but a shell or service unit that exports it
 * for one process exports it for chio too. Each value is wiped where exec
 * put it, which is what /proc/PID/environ and a core dump show, and the
 * variable removed: no chio process holds the seed there, nor hands it to
 * the processes it starts (an MCP server, bench's sidecar). Before any
 * thread starts. */
static void forget_signing_key_env(void)
{
    static const char name[] = "CHIO_SIGNING_KEY=";
    char **e;

    for (e = environ; e != NULL && *e != NULL; e++)
        if (strncmp(*e, name, sizeof(name) - 1) == 0)
            explicit_bzero(*e + sizeof(name) - 1, strlen(*e + sizeof(name) - 1));
    unsetenv("CHIO_SIGNING_KEY");
}

/* What a command prints is its answer: output that could not be written
 * (a full disk, a pipe closed while SIGPIPE is ignored) is an error
 * whatever the command returned, never exit 0 with the answer lost. */
static int output_written(int rc)
{
    int failed = fflush(stdout) != 0, e = errno;

    if (!failed && !ferror(stdout))
        return rc;
    if (failed)
        fprintf(stderr, "chio: cannot write the output: %s\n", strerror(e));
    else
        fprintf(stderr, "chio: cannot write the output\n");
    return CLI_USAGE;
}

int main(int argc, char **argv)
{
    static const cli_subcommand cmds[] = {
        {"keygen", cmd_keygen},         {"pubkey", cmd_pubkey},
        {"canon", cmd_canon},           {"receipt", cmd_receipt},
        {"capability", cmd_capability}, {"checkpoint", cmd_checkpoint},
        {"scenario", cmd_scenario},     {"bench", cmd_bench},
        {"serve", cmd_serve},           {"--version", version},
        {"version", version},           {"mcp", cmd_mcp},
        {"export", cmd_export},         {"fleet", cmd_fleet}};
    char **help = NULL;
    int rc;

    hold_std_fds();
    forget_signing_key_env();
    cli_note_args(argc, argv); /* error lines leave seed-like words out */
    if (argc >= 2 && strcmp(argv[1], "help") == 0) {
        help = argc > 2 ? help_argv(argc, argv) : NULL;
        if (help != NULL)
            argv = help;
        else
            argv[1] = "--help";
    }
    rc = output_written(
        cli_dispatch(NULL, argc - 1, argv + 1, cmds, sizeof(cmds) / sizeof(cmds[0]), usage));
    free(help);
    return rc;
}
