/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/cmd_receipt.c - `chio receipt sign` and `chio receipt verify`.
 *
 * verify prints one JSON report per receipt. `ok` here means: signature, id
 * and parameter hash valid, and, when --trusted-key was given, the signer
 * is one of those keys. (Without trusted keys the library's own report, like
 * chio's, has ok=false because no signer is trusted; the CLI checks
 * integrity only in that case and says so in signer_trusted=false.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char receipt_usage[] =
    "usage: chio receipt archive --receipt-db DIR --archive DIR ...\n"
    "       chio receipt sign --seed-file FILE < body.json\n"
    "       chio receipt verify [--trusted-key HEX]... [FILE]\n";

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
    "\n"
    "Verify receipts from FILE or stdin: one JSON receipt per line, or one JSON\n"
    "document (a receipt or an array of receipts). Prints one JSON report per\n"
    "receipt with id, signature_valid, receipt_id_valid, parameter_hash_valid,\n"
    "signer_trusted, signer_key_hex, result, decision, receipt_kind,\n"
    "boundary_class, trust_level, authorized and ok. ok = signature, id and\n"
    "parameter hash valid, and the signer trusted when --trusted-key is given.\n"
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
    "Prints one JSON line per problem, naming the sequence numbers, then\n"
    "{\"receipts\":N,\"first_seq\":..,\"last_seq\":..,\"gaps\":..,\"invalid\":..,\n"
    "\"checkpoints\":..,\"checkpoints_valid\":..,\"signer\":\"HEX\"|null,\n"
    "\"signer_pinned_by\":\"store\"|\"flag\"|\"none\",\"head_seq\":..,\"chain_from\":..,\n"
    "\"log_problems\":..,\"legacy\":..,\"archive\":..}; exit 0 only when clean.\n";

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

typedef struct verify_ctx {
    const uint8_t *trusted;
    size_t ntrusted;
} verify_ctx;

static int verify_one(const char *text, size_t len, size_t line, void *vctx)
{
    verify_ctx *ctx = vctx;
    chio_receipt *r = NULL;
    chio_receipt_report rep;
    chio_error err;
    char *json = NULL;
    size_t jlen = 0;
    int rc;

    memset(&rep, 0, sizeof(rep));
    chio_error_init(&err);
    rc = chio_receipt_parse(text, len, &r, &err);
    if (rc != 0)
        return cli_bad_document("receipt verify", rc, &err, line);
    rc = chio_receipt_verify(r, ctx->trusted, ctx->ntrusted, &rep);
    /* The CLI's ok: integrity always; trust only when keys were given. */
    rep.ok = rep.signature_valid && rep.receipt_id_valid && rep.parameter_hash_valid &&
             (ctx->ntrusted == 0 || rep.signer_trusted);
    if (rc == 0)
        rc = chio_receipt_report_json(&rep, &json, &jlen);
    chio_receipt_free(r);
    return cli_emit_report("receipt verify", rc, json, jlen, rep.ok);
}

static int receipt_verify(int argc, char **argv)
{
    cli_opt opts[] = {{"trusted-key", 1, 1, 0, 0, 0},
                      {"receipt-db", 1, 0, 0, 0, 0},
                      {"allow-legacy", 0, 0, 0, 0, 0}};
    const char *pos[1];
    size_t npos;
    verify_ctx ctx;
    uint8_t *keys = NULL;
    int rc;

    rc = cli_parse(argc, argv, opts, 3, pos, 1, &npos, "receipt verify", verify_usage);
    if (rc == 0)
        rc = cli_trusted_keys("receipt verify", &opts[0], &keys, &ctx.ntrusted);
    free(opts[0].values);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    ctx.trusted = keys;
    if (opts[1].value != NULL) {
        if (npos > 0)
            rc = cli_error("receipt verify", "give either FILE or --receipt-db, not both");
        else
            rc = cli_audit_store(opts[1].value, keys, ctx.ntrusted, opts[2].value != NULL);
        free(keys);
        return rc;
    }
    rc = cli_run_documents("receipt verify", npos ? pos[0] : NULL, verify_one, &ctx);
    free(keys);
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
