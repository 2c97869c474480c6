/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/cmd_fleet.c - `chio fleet verify` and `chio fleet witness`: the
 * options; the checks are src/export/fleet_verify.c and witness.c
 * (docs/fleet.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../export/export.h"
#include "cli.h"

static const char fleet_usage[] =
    "usage: chio fleet <subcommand> ...\n"
    "  verify --nats URL [--stream NAME] [--trusted-key HEX]...\n"
    "                                  verify every kernel's receipts and checkpoints in\n"
    "                                  the stream\n"
    "  witness --receipt-db DIR --nats URL [--stream NAME] [--kernel-key HEX]\n"
    "                                  is the local log behind or apart from what its\n"
    "                                  kernel published (a rollback)?\n";

static const char verify_usage[] =
    "usage: chio fleet verify --nats URL[,URL...] [--stream NAME] [--trusted-key HEX]...\n"
    "\n"
    "Read the whole stream NAME (default CHIO) and, for every kernel key found in\n"
    "its subjects, check every receipt (canonical bytes, signature, id, parameter\n"
    "hash, signed by that key, seq present once and contiguous from 1, no receipt\n"
    "replayed under another seq) and every checkpoint (signature, numbered from 1,\n"
    "batches contiguous, previous-checkpoint chain, Merkle root recomputed from\n"
    "the receipts). With --trusted-key (repeatable) every kernel must be one of\n"
    "those keys and each of those keys must have published.\n"
    "\n"
    "Prints each problem as a JSON line naming kernel and seq (at most 50 per\n"
    "kernel), one line per kernel, and the summary\n"
    "{\"kernels\":..,\"receipts\":..,\"gaps\":..,\"duplicates\":..,\"invalid\":..,\n"
    " \"checkpoints\":..,\"checkpoints_valid\":..}.\n"
    "\n"
    "exit status: 0 every kernel clean, 1 a problem was found, 2 bad usage, an\n"
    "unreachable server or no such stream\n";

static const char witness_usage[] =
    "usage: chio fleet witness --receipt-db DIR --nats URL[,URL...] [--stream NAME]\n"
    "                          [--kernel-key HEX]\n"
    "\n"
    "Compare the local log in DIR with what its kernel published to the stream\n"
    "NAME (default CHIO), receipt by receipt and checkpoint by checkpoint. The\n"
    "local log was rolled back when it lacks a receipt the stream has (rewound,\n"
    "e.g. the directory was put back from an older copy) or holds different bytes\n"
    "at a seq (forked). Prints one JSON line: \"rollback\", \"reason\" (rewound or\n"
    "forked), \"first_differing_seq\", the local and published ends. With\n"
    "--kernel-key the store must be that kernel's log (a store swapped for\n"
    "another key's, which never published, would otherwise compare clean).\n"
    "\n"
    "exit status: 0 the local log equals the stream or is ahead of it, 1 rolled\n"
    "back, 2 bad usage, an unreadable store or an unreachable server\n";

static int fleet_verify(int argc, char **argv)
{
    cli_opt o[] = {
        {"nats", 1, 0, 0, 0, 0}, {"stream", 1, 0, 0, 0, 0}, {"trusted-key", 1, 1, 0, 0, 0}};
    uint8_t *keys = NULL;
    size_t npos, nkeys = 0;
    int rc;

    rc = cli_parse(argc, argv, o, 3, NULL, 0, &npos, "fleet verify", verify_usage);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    if (o[0].value == NULL)
        rc = cli_error("fleet verify", "--nats URL[,URL...] is required");
    else if (o[1].value != NULL && !chio__fleet_stream_name_ok(o[1].value))
        rc = cli_error("fleet verify", "--stream must be 1-64 of A-Z a-z 0-9 _ -");
    else if (cli_trusted_keys("fleet verify", &o[2], &keys, &nkeys) != 0)
        rc = CLI_USAGE;
    else {
        FILE *err = cli_redacting_stream(stderr); /* cli/redact_args.c */

        rc = chio__fleet_verify(o[0].value, o[1].value ? o[1].value : "CHIO", keys, nkeys, stdout,
                                err);
        cli_redacting_close(err, stderr);
    }
    free(keys);
    free(o[2].values); /* the repeatable option's list */
    return rc;
}

static int fleet_witness(int argc, char **argv)
{
    cli_opt o[] = {{"receipt-db", 1, 0, 0, 0, 0},
                   {"nats", 1, 0, 0, 0, 0},
                   {"stream", 1, 0, 0, 0, 0},
                   {"kernel-key", 1, 0, 0, 0, 0}};
    uint8_t key[32];
    char key_hex[65];
    size_t npos;
    FILE *err;
    int rc;

    rc = cli_parse(argc, argv, o, 4, NULL, 0, &npos, "fleet witness", witness_usage);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    if (o[0].value == NULL)
        return cli_error("fleet witness", "--receipt-db DIR is required");
    if (o[1].value == NULL)
        return cli_error("fleet witness", "--nats URL[,URL...] is required");
    if (o[3].value != NULL) {
        if (chio_pubkey_from_hex(o[3].value, strlen(o[3].value), key) != 0)
            return cli_error("fleet witness",
                             "--kernel-key '%.80s' is not a public key (64 hex digits, optional 0x "
                             "prefix)",
                             o[3].value);
        chio_hex_encode(key, sizeof(key), key_hex); /* the store's spelling: lowercase */
    }
    if (!cli_store_dir_present("fleet witness", o[0].value))
        return CLI_USAGE;
    err = cli_redacting_stream(stderr); /* cli/redact_args.c */
    rc = chio__fleet_witness(o[0].value, o[1].value, o[2].value ? o[2].value : "CHIO",
                             o[3].value ? key_hex : NULL, stdout, err);
    cli_redacting_close(err, stderr);
    return rc;
}

int cmd_fleet(int argc, char **argv)
{
    static const cli_subcommand subs[] = {{"verify", fleet_verify}, {"witness", fleet_witness}};
    return cli_dispatch("fleet", argc, argv, subs, sizeof(subs) / sizeof(subs[0]), fleet_usage);
}
