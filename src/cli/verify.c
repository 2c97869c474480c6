/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/verify.c - the one report and the one `ok` rule of `chio receipt
 * verify` and `chio capability verify` (per document; the store audit is in
 * cmd_store.c). Each kind checks its document's integrity (receipts:
 * signature, id, parameter hash; tokens: signature, time, delegation chain)
 * and, when --trusted-key was given, whether the signer or issuer is one of
 * those keys. ok = intact, and trusted when keys were given. Without keys
 * the trust field and whatever depends on it are null, and the report's
 * "checked" and "not_checked" lists say what was and was not checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* ---- receipts ---------------------------------------------------------------------------- */

static int check_receipt(const char *text, size_t len, const cli_verify_ctx *ctx, svc_buf *b,
                         int *intact, int *trusted, chio_error *err)
{
    chio_receipt *r = NULL;
    chio_receipt_report rep;
    const char *result;
    int rc, authorized;

    memset(&rep, 0, sizeof(rep));
    rc = chio_receipt_parse(text, len, &r, err);
    if (rc != 0)
        return rc;
    rc = chio_receipt_verify(r, ctx->trusted, ctx->ntrusted, &rep);
    if (rc != 0) {
        chio_receipt_free(r);
        return rc;
    }
    *intact = rep.signature_valid && rep.receipt_id_valid && rep.parameter_hash_valid;
    *trusted = rep.signer_trusted;
    /* The library labels the receipt's kind and decision; "Authorized"
     * also needs a trusted signer, so it is given only when that holds. */
    authorized = *intact && *trusted && rep.authorized;
    result = !*intact                                               ? "Invalid"
             : ctx->ntrusted > 0 && !*trusted                       ? "Untrusted"
             : strcmp(rep.result, "Authorized") == 0 && !authorized ? "Allowed"
                                                                    : rep.result;
    svc_buf_printf(b, "\"authorized\":%s,\"boundary_class\":",
                   ctx->ntrusted == 0 ? "null"
                   : authorized       ? "true"
                                      : "false");
    svc_buf_json_cstr(b, rep.boundary_class);
    svc_buf_puts(b, ",\"decision\":");
    svc_buf_json_cstr(b, rep.decision_name);
    svc_buf_puts(b, ",\"id\":");
    svc_buf_json_cstr(b, rep.id);
    svc_buf_printf(b, ",\"parameter_hash_valid\":%s,\"receipt_id_valid\":%s,\"receipt_kind\":",
                   rep.parameter_hash_valid ? "true" : "false",
                   rep.receipt_id_valid ? "true" : "false");
    svc_buf_json_cstr(b, rep.receipt_kind);
    svc_buf_puts(b, ",\"result\":");
    svc_buf_json_cstr(b, result);
    svc_buf_printf(
        b, ",\"signature_valid\":%s,\"signer_key_hex\":", rep.signature_valid ? "true" : "false");
    svc_buf_json_cstr(b, rep.signer_key_hex);
    svc_buf_puts(b, ",\"trust_level\":");
    svc_buf_json_cstr(b, rep.trust_level);
    chio_receipt_free(r);
    return 0;
}

const cli_verifier cli_receipt_verifier = {"receipt verify",
                                           "receipt",
                                           "signer_trusted",
                                           "signer",
                                           "\"signature\",\"receipt_id\",\"parameter_hash\"",
                                           "signature, id and parameter hash",
                                           check_receipt};

/* ---- capability tokens ------------------------------------------------------------------- */

static int check_capability(const char *text, size_t len, const cli_verify_ctx *ctx, svc_buf *b,
                            int *intact, int *trusted, chio_error *err)
{
    chio_capability *cap = NULL;
    chio_capability_report rep;
    int rc;

    memset(&rep, 0, sizeof(rep));
    rc = chio_capability_parse(text, len, &cap, err);
    if (rc != 0)
        return rc;
    rc = chio_capability_verify(cap, ctx->at, ctx->trusted, ctx->ntrusted, ctx->max_depth, &rep);
    if (rc != 0) {
        chio_capability_free(cap);
        return rc;
    }
    *intact = rep.signature_valid && rep.time_status == CHIO_TIME_VALID &&
              rep.delegation_chain_shape_valid;
    *trusted = rep.issuer_trusted;
    svc_buf_printf(b, "\"delegation_chain_shape_valid\":%s,\"id\":",
                   rep.delegation_chain_shape_valid ? "true" : "false");
    svc_buf_json_cstr(b, rep.id);
    svc_buf_printf(
        b, ",\"signature_valid\":%s,\"time_status\":", rep.signature_valid ? "true" : "false");
    svc_buf_json_cstr(b, rep.time_status_name);
    chio_capability_free(cap);
    return 0;
}

const cli_verifier cli_capability_verifier = {"capability verify",
                                              "token",
                                              "issuer_trusted",
                                              "issuer",
                                              "\"signature\",\"time\",\"delegation_chain\"",
                                              "signature, validity time and delegation chain",
                                              check_capability};

/* ---- the shared part ----------------------------------------------------------------------- */

int cli_verify_document(const char *text, size_t len, size_t line, void *vctx)
{
    const cli_verify_ctx *ctx = vctx;
    const cli_verifier *v = ctx->kind;
    svc_buf b = {0};
    chio_error err;
    char *canon = NULL;
    size_t clen = 0;
    int rc, intact = 0, trusted = 0, ok;

    chio_error_init(&err);
    svc_buf_puts(&b, "{");
    rc = v->check(text, len, ctx, &b, &intact, &trusted, &err);
    if (rc != 0) {
        free(b.p);
        return cli_bad_document(v->cmd, rc, &err, line);
    }
    /* The one ok rule: intact, and trusted when trusted keys were given. */
    ok = intact && (ctx->ntrusted == 0 || trusted);
    svc_buf_printf(&b, ",\"checked\":[%s", v->integrity_checks);
    if (ctx->ntrusted > 0)
        svc_buf_printf(&b, ",\"%s\"],\"not_checked\":[]", v->trust);
    else
        svc_buf_printf(&b, "],\"not_checked\":[\"%s\"]", v->trust);
    svc_buf_printf(&b, ",\"ok\":%s,\"%s\":%s}", ok ? "true" : "false", v->trust_field,
                   ctx->ntrusted == 0 ? "null"
                   : trusted          ? "true"
                                      : "false");
    if (b.oom || chio_json_canonicalize(b.p, b.len, &canon, &clen, NULL) != 0) {
        free(b.p);
        return cli_error(v->cmd, "cannot write the report (out of memory)");
    }
    free(b.p);
    if (ctx->reported != NULL)
        (*ctx->reported)++;
    return cli_emit_report(v->cmd, 0, canon, clen, ok);
}

int cli_verify_run(const cli_verify_ctx *ctx, const char *path)
{
    const cli_verifier *v = ctx->kind;
    cli_verify_ctx run = *ctx;
    size_t reported = 0;
    int rc;

    run.reported = &reported;
    rc = cli_run_documents(v->cmd, path, cli_verify_document, &run);
    /* An empty array holds no document: nothing was verified, so exit 0
     * ("every verification passed") would say more than was checked. */
    if (rc == CLI_OK && reported == 0) {
        chio_error err;
        chio_error_init(&err);
        snprintf(err.message, sizeof(err.message),
                 "no %s in the input (an empty array): nothing was verified", v->noun);
        return cli_bad_document(v->cmd, CHIO_EFORMAT, &err, 0);
    }
    /* After the reports, and only when there are some: an unreadable input
     * ends with its own message, not with this note. */
    if (ctx->ntrusted == 0 && reported > 0)
        fprintf(stderr,
                "chio %s: note: no --trusted-key given: each %s was checked against the key it "
                "names itself (%s), not against a key you trust; %s and what depends on it are "
                "null\n",
                v->cmd, v->noun, v->integrity_checks_text, v->trust_field);
    return rc;
}
