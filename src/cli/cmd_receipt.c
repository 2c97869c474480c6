/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/cmd_receipt.c - the `chio receipt` group: `sign` and `verify` here
 * (the per-document report and its ok rule are in verify.c, the store audit
 * in cmd_store.c), `list` in cmd_list.c, `archive` in cmd_store.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char receipt_usage[] =
    "usage: chio receipt <subcommand> [options]\n"
    "\n"
    "subcommands:\n"
    "  sign --seed-file FILE < body.json      sign a receipt body\n"
    "  verify [--trusted-key HEX]... [FILE]   verify receipts (one per line, or one document)\n"
    "  verify --receipt-db DIR [--trusted-key HEX]... [--allow-legacy] [--allow-archive]\n"
    "         [--archive DIR]...              audit a kernel's receipt log (and its archives)\n"
    "  list --receipt-db DIR [...]            show stored receipts (table or JSON Lines)\n"
    "  archive --receipt-db DIR --archive DIR (--older-than UNIX | --max-size BYTES)\n"
    "                                         move old receipts to an archive log\n"
    "\n"
    "  chio receipt <subcommand> --help       all options of one subcommand\n";

static const char sign_usage[] =
    "usage: chio receipt sign --seed-file FILE < body.json\n"
    "\n"
    "Sign a receipt body read from stdin. Any id, signature and kernel_key in the\n"
    "body are replaced; action.parameter_hash is computed when absent and must\n"
    "match when present. Absent receipt_kind, boundary_class, tool_origin,\n"
    "redaction_mode and trust_level default to mediated_decision, prevent,\n"
    "caller_executed, none and mediated; an absent content_hash to\n"
    "sha256_hex(\"null\") (no tool output). Bodies that break the receipt semantic rules or carry\n"
    "unknown fields are refused (exit 2). Prints the signed receipt as canonical\n"
    "JSON and a newline.\n";

static const char verify_usage[] =
    "usage: chio receipt verify [--trusted-key HEX]... [FILE]\n"
    "       chio receipt verify --receipt-db DIR [--trusted-key HEX]... [--allow-legacy]\n"
    "                           [--allow-archive] [--archive DIR]...\n"
    "\n"
    "Verify receipts from FILE or stdin: one JSON receipt per line, or one JSON\n"
    "document (a receipt or an array of receipts). Prints one JSON report per\n"
    "receipt with id, signature_valid, receipt_id_valid, parameter_hash_valid,\n"
    "signer_key_hex, signer_trusted, decision, receipt_kind, boundary_class,\n"
    "trust_level, authorized, result, checked, not_checked and ok.\n"
    "\n"
    "Every receipt's signature (by the kernel_key it names), id and parameter hash\n"
    "are checked. Only --trusted-key (repeatable) says whether that kernel_key is\n"
    "one you trust: without it, signer_trusted and authorized are null, \"signer\"\n"
    "is listed in not_checked, and a note on stderr says so. ok = signature, id\n"
    "and parameter hash valid, and the signer trusted when --trusted-key is given.\n"
    "result: Invalid (a check failed), Untrusted (signer not among --trusted-key),\n"
    "else what the receipt records: Authorized (a mediated allow by a trusted\n"
    "signer; without --trusted-key such a receipt reads Allowed), Allowed, Denied,\n"
    "Cancelled, Incomplete, Observed or Advisory.\n"
    "Exit 0 when every report is ok, 1 when one is not, 2 on unreadable input.\n"
    "\n"
    "With --receipt-db, audit a kernel's receipt log instead: every receipt and\n"
    "checkpoint (signature, Merkle root recomputed from the stored receipts,\n"
    "previous_checkpoint_sha256 chain), sequence contiguity, the id index, the\n"
    "hash chain over every receipt and the signed log head (the tail). Without\n"
    "--trusted-key, everything must be signed by the key the store recorded when\n"
    "it was created (signer_pinned_by \"store\"). A legacy log without a key\n"
    "record, chain and head (written before them, or stripped of them) cannot\n"
    "show a removed tail: it fails (\"legacy\":true) unless --allow-legacy.\n"
    "An archive log (chio receipt archive) has no signed head either, and its\n"
    "mark is not signed: it fails (problem archive_log) unless --allow-archive\n"
    "says you expect one.\n"
    "--archive DIR (repeatable, oldest first) names the archives of the log:\n"
    "each is audited as an archive, then the seams are checked (problems\n"
    "seam_gap, seam_overlap_mismatch, seam_chain_mismatch, seam_key_record,\n"
    "seam_checkpoint_gap, seam_checkpoint_chain, log_start_not_given): every\n"
    "log continues the one before where it ends, its first receipt's hash\n"
    "chain link continuing the older log's last (so a receipt changed,\n"
    "swapped, replayed or cut in an archive shows), what an interrupted pass\n"
    "left in both is the same, and the oldest starts at receipt 1. A last line\n"
    "{\"logs\":N,\"seam_problems\":N} follows the logs' summaries.\n"
    "Prints one JSON line per problem, naming the sequence numbers, then\n"
    "{\"receipts\":N,\"first_seq\":..,\"last_seq\":..,\"gaps\":..,\"invalid\":..,\n"
    "\"checkpoints\":..,\"checkpoints_valid\":..,\"signer\":\"HEX\"|null,\n"
    "\"signer_pinned_by\":\"store\"|\"flag\"|\"none\",\"head_seq\":..,\"chain_from\":..,\n"
    "\"log_problems\":..,\"legacy\":..,\"unchained\":..,\"archive\":..}; exit 0 only\n"
    "when clean.\n";

static int receipt_sign(int argc, char **argv)
{
    cli_opt opts[] = {{"seed-file", 1, 0, 0, 0, 0}};
    const char *pos[1];
    size_t npos, len, outlen;
    chio_keypair *kp;
    chio_receipt *r = NULL;
    chio_error err;
    char *in;
    const char *out;
    int rc;

    rc = cli_parse(argc, argv, opts, 1, pos, 0, &npos, "receipt sign", sign_usage);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    if (opts[0].value == NULL)
        return cli_error("receipt sign", "--seed-file FILE is required");
    kp = cli_load_seed("receipt sign", opts[0].value);
    if (kp == NULL)
        return CLI_USAGE;
    in = cli_read_input("receipt sign", NULL, &len);
    if (in == NULL) {
        chio_keypair_free(kp);
        return CLI_USAGE;
    }
    chio_error_init(&err);
    rc = chio_receipt_sign_json(in, len, kp, &r, &err);
    free(in);
    chio_keypair_free(kp);
    if (rc != 0)
        return cli_lib_error("receipt sign", "cannot sign", rc, &err);
    out = chio_receipt_json(r, &outlen);
    rc = cli_write(out, outlen);
    if (rc == 0)
        rc = cli_write("\n", 1);
    chio_receipt_free(r);
    return rc;
}

/* --receipt-db LIVE [--archive DIR]...: each archive audited (as an
 * archive), then the live log, then the seams between them. The worst
 * result wins. */
static int audit_with_archives(const cli_opt *opts, const uint8_t *keys, size_t nkeys)
{
    int rc = CLI_OK, one;
    size_t i;

    for (i = 0; i < opts[4].nvalues; i++) {
        one = cli_audit_store(opts[4].values[i], keys, nkeys, opts[2].value != NULL, 1);
        rc = one > rc ? one : rc;
    }
    one = cli_audit_store(opts[1].value, keys, nkeys, opts[2].value != NULL, opts[3].value != NULL);
    rc = one > rc ? one : rc;
    if (opts[4].nvalues > 0 && rc != CLI_USAGE) { /* a log that did not open: said once */
        one = cli_audit_seams(opts[1].value, opts[4].values, opts[4].nvalues);
        rc = one > rc ? one : rc;
    }
    return rc;
}

static int receipt_verify(int argc, char **argv)
{
    cli_opt opts[] = {{"trusted-key", 1, 1, 0, 0, 0},
                      {"receipt-db", 1, 0, 0, 0, 0},
                      {"allow-legacy", 0, 0, 0, 0, 0},
                      {"allow-archive", 0, 0, 0, 0, 0},
                      {"archive", 1, 1, 0, 0, 0}};
    const char *pos[1];
    size_t npos;
    cli_verify_ctx ctx;
    uint8_t *keys = NULL;
    int rc;

    memset(&ctx, 0, sizeof(ctx));
    ctx.kind = &cli_receipt_verifier;
    rc = cli_parse(argc, argv, opts, 5, pos, 1, &npos, "receipt verify", verify_usage);
    if (rc == 0)
        rc = cli_trusted_keys("receipt verify", &opts[0], &keys, &ctx.ntrusted);
    free(opts[0].values);
    if (rc != 0) {
        free(opts[4].values);
        return rc < 0 ? CLI_OK : rc;
    }
    ctx.trusted = keys;
    if (opts[1].value != NULL) {
        if (npos > 0)
            rc = cli_error("receipt verify", "give either FILE or --receipt-db, not both");
        else
            rc = audit_with_archives(opts, keys, ctx.ntrusted);
    } else if (opts[2].value != NULL || opts[3].value != NULL || opts[4].value != NULL) {
        rc = cli_error("receipt verify", "--allow-legacy, --allow-archive and --archive apply to "
                                         "--receipt-db only");
    } else {
        rc = cli_verify_run(&ctx, npos ? pos[0] : NULL);
    }
    free(keys);
    free(opts[4].values);
    return rc;
}

int cmd_receipt(int argc, char **argv)
{
    static const cli_subcommand subs[] = {{"sign", receipt_sign},
                                          {"verify", receipt_verify},
                                          {"list", cmd_receipt_list},
                                          {"archive", cmd_receipt_archive}};
    return cli_dispatch("receipt", argc, argv, subs, sizeof(subs) / sizeof(subs[0]), receipt_usage);
}
