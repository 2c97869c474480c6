/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/main.c - `chio`, the libchio command line: dispatch to subcommands,
 * top-level help and version. Exit codes: 0 success, 1 a verification
 * failed, 2 bad usage or input.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: chio <command> [options]\n"
    "\n"
    "commands:\n"
    "  keygen --out FILE              new random signing seed (mode 0600); prints the public key\n"
    "  pubkey --seed-file FILE        print the public key of a seed file\n"
    "  canon                          stdin JSON -> canonical JSON on stdout\n"
    "  receipt sign --seed-file FILE  stdin receipt body -> signed receipt\n"
    "  receipt verify [FILE]          verify receipts (one per line, or one document)\n"
    "  capability issue ...           sign a capability token\n"
    "  capability verify --at UNIX    verify capability tokens\n"
    "  receipt list --receipt-db DIR  receipts stored by a kernel\n"
    "  receipt verify --receipt-db DIR  audit a kernel's receipt log\n"
    "  checkpoint list|prove|verify-proof  Merkle checkpoints and inclusion proofs\n"
    "  bench --receipt-db DIR ...     drive a real kernel and measure it\n"
    "  scenario run FILE              run a chio.scenario.v1 policy scenario\n"
    "\n"
    "  chio <command> --help          options of one command\n"
    "  chio --version                 library version\n"
    "\n"
    "exit status: 0 success, 1 a verification failed, 2 bad usage or input\n";

int main(int argc, char **argv)
{
    const char *cmd;

    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return CLI_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("chio %s\n", chio_version());
        return CLI_OK;
    }
    if (strcmp(cmd, "keygen") == 0)
        return cmd_keygen(argc - 2, argv + 2);
    if (strcmp(cmd, "pubkey") == 0)
        return cmd_pubkey(argc - 2, argv + 2);
    if (strcmp(cmd, "canon") == 0)
        return cmd_canon(argc - 2, argv + 2);
    if (strcmp(cmd, "receipt") == 0)
        return cmd_receipt(argc - 2, argv + 2);
    if (strcmp(cmd, "capability") == 0)
        return cmd_capability(argc - 2, argv + 2);
    if (strcmp(cmd, "checkpoint") == 0)
        return cmd_checkpoint(argc - 2, argv + 2);
    if (strcmp(cmd, "scenario") == 0)
        return cmd_scenario(argc - 2, argv + 2);
    if (strcmp(cmd, "bench") == 0)
        return cmd_bench(argc - 2, argv + 2);
    fprintf(stderr, "chio: unknown command '%s'\n\n", cmd);
    fputs(usage, stderr);
    return CLI_USAGE;
}
