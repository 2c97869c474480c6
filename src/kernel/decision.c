/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/decision.c - the decision's receipt: a receipt spec made into a
 * builder (chio__build_receipt(), nested requests' child receipts too);
 * the parameters a receipt stores when not the arguments verbatim (a
 * summary, or a copy redacted by the secret_leak guards); the request's
 * builder (chio__mreq_builder()); and the response the caller gets
 * (chio__fill_response(), chio_response_init()/_destroy()). Signing and
 * committing belong to the signer (kernel_internal.h). No locks: a
 * decision belongs to the thread evaluating it.
 */
#include <stdlib.h>
#include <string.h>

#include "request.h"

/* ---- receipts ------------------------------------------------------------------------------ */

int chio__build_receipt(const receipt_spec *sp, chio_receipt_builder **out, chio_error *err)
{
    chio_receipt_builder *b;
    size_t i;
    int rc;

    *out = NULL;
    rc = chio_receipt_builder_new(&b);
    if (rc != 0) {
        chio_json_doc_free(sp->params_doc);
        return chio__fail(err, rc, CHIO_NO_OFFSET, "out of memory");
    }
    chio__receipt_builder_size_hint(b, sp->params_len);
    rc = chio_receipt_builder_set_timestamp(b, sp->now);
    if (rc == 0)
        rc = chio_receipt_builder_set_capability_id(b, sp->capability_id);
    if (rc == 0)
        rc = chio_receipt_builder_set_tool(b, sp->server, sp->tool);
    if (sp->params_doc != NULL) {
        char phash[65];
        if (rc == 0)
            rc = chio_sha256_hex(sp->params, sp->params_len, phash);
        if (rc == 0)
            rc = chio__receipt_builder_adopt_parameters(b, sp->params_doc, phash);
        else
            chio_json_doc_free(sp->params_doc);
    } else if (rc == 0 && sp->params_v != NULL) {
        char phash[65];
        rc = chio_sha256_hex(sp->params, sp->params_len, phash);
        if (rc == 0)
            rc = chio__receipt_builder_put_parameters(b, sp->params_v, phash);
    } else if (rc == 0) {
        rc = chio_receipt_builder_set_parameters(b, sp->params, sp->params_len, err);
    }
    if (rc == 0 && sp->output != NULL) {
        char hash[65];
        rc = chio_sha256_hex(sp->output, sp->output_len, hash); /* already canonical */
        if (rc == 0)
            rc = chio_receipt_builder_set_content_hash(b, hash);
    }
    if (rc == 0)
        rc = chio_receipt_builder_set_decision(
            b, sp->verdict, sp->verdict == CHIO_VERDICT_ALLOW ? NULL : sp->reason,
            sp->verdict == CHIO_VERDICT_DENY ? sp->guard : NULL);
    for (i = 0; rc == 0 && i < sp->nev; i++)
        rc = chio_receipt_builder_add_evidence(b, sp->ev[i].name, sp->ev[i].passed,
                                               sp->ev[i].details);
    if (rc == 0)
        rc = chio__receipt_builder_set_context(b, sp->request_id, sp->session_id,
                                               sp->parent_request_id);
    if (rc == 0 && sp->orig_hash != NULL) {
        rc = chio_receipt_builder_set_redaction_mode(b, sp->redaction);
        if (rc == 0)
            rc = chio__receipt_builder_set_redaction(b, sp->orig_hash, sp->red_guard, sp->red_count,
                                                     sp->red_reason);
    }
    if (rc != 0) {
        chio_receipt_builder_free(b);
        if (err != NULL && err->code == 0)
            chio__fail(err, rc, CHIO_NO_OFFSET, "building the receipt: %s", chio_strerror(rc));
        return rc;
    }
    *out = b;
    return 0;
}

/* Does the kernel have a built-in secret_leak guard (whose flags redact)? */
int chio__has_secret_guard(const chio_kernel *k)
{
    size_t i;

    for (i = 0; i < k->med.nguards; i++)
        if (k->med.guards[i].builtin && k->med.guards[i].nregexes > 0)
            return 1;
    return 0;
}

/*
 * What the receipt stores as parameters when not the arguments verbatim:
 * a summary when they cannot be stored (too deep or too large), or a copy
 * with every value a secret_leak guard flags replaced by a marker. Denied
 * calls only: an allowed call passed every guard, so nothing is flagged.
 * Fills @sp's parameters and redaction fields; *owned is freed by the
 * caller.
 */
static int stored_params(mreq *r, const chio_json *args, const char *canon, size_t canon_len,
                         receipt_spec *sp, char *hash, char **owned, chio_error *err)
{
    chio_buf b;
    size_t n = 0, len = 0;
    const char *guard = NULL;
    int rc;

    *owned = NULL;
    if (r->unrecordable[0] != '\0') {
        chio__buf_init(&b);
        if (r->over_cap)
            chio__buf_printf(
                &b, "{\"chio_omitted_arguments\":{\"text_bytes\":%zu,\"reason\":", r->raw_len);
        else
            chio__buf_printf(
                &b, "{\"chio_omitted_arguments\":{\"canonical_bytes\":%zu,\"reason\":", canon_len);
        chio__json_write_string(&b, r->unrecordable, strlen(r->unrecordable));
        chio__buf_puts(&b, "}}");
        *owned = chio__buf_detach(&b, &len);
        sp->redaction = CHIO_REDACTION_SUMMARY;
        sp->red_reason = r->unrecordable;
    } else if (args != NULL && r->verdict != CHIO_VERDICT_ALLOW && chio__has_secret_guard(r->k)) {
        rc = chio__redact(r->k, args, owned, &len, &n, &guard);
        if (rc != 0)
            return chio__fail(err, rc, CHIO_NO_OFFSET, "out of memory");
        if (*owned == NULL)
            return 0;
        sp->redaction = CHIO_REDACTION_REDACTED;
        sp->red_guard = guard;
        sp->red_count = n;
    } else {
        return 0;
    }
    if (*owned == NULL)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    if (r->over_cap) /* never parsed: the hash of the raw text */
        memcpy(hash, r->raw_hash, sizeof(r->raw_hash));
    else if ((rc = chio_sha256_hex(canon, canon_len, hash)) != 0)
        return chio__fail(err, rc, CHIO_NO_OFFSET, "hashing the arguments");
    sp->orig_hash = hash;
    sp->params = *owned;
    sp->params_len = len;
    sp->params_v = NULL;
    return 0;
}

int chio__mreq_builder(mreq *r, chio_receipt_builder **out, chio_error *err)
{
    receipt_spec sp;
    char orig_hash[65], *owned = NULL;
    int rc;

    /* Reasons quote agent-controlled names cut to fit ("%.100s"): a cut
     * may split a character, which must not cost the decision its receipt. */
    chio__utf8_repair(r->reason);

    memset(&sp, 0, sizeof(sp));
    sp.capability_id = r->cap_id;
    sp.server = r->server;
    sp.tool = r->tool;
    sp.params = r->args;
    sp.params_len = r->args_len;
    sp.params_v = chio_json_root(r->args_doc);
    sp.output = r->verdict == CHIO_VERDICT_DENY ? NULL : r->output;
    sp.output_len = r->output_len;
    sp.verdict = r->verdict;
    sp.reason = r->reason;
    sp.guard = r->deny_guard;
    sp.ev = r->ev;
    sp.nev = r->nev;
    sp.request_id = r->request_id;
    sp.session_id = r->s->id;
    sp.now = r->now;
    rc = stored_params(r, sp.params_v, r->args, r->args_len, &sp, orig_hash, &owned, err);
    if (rc == 0 && sp.params_v != NULL) {
        /* The receipt takes the parsed arguments over instead of copying
         * them; the call needs neither them nor their canonical text again
         * (the tool and the guards have run), so both go before the
         * receipt's own byte forms are written. */
        sp.params_doc = r->args_doc;
        sp.params_v = NULL;
        r->args_doc = NULL;
    }
    if (rc == 0)
        rc = chio__build_receipt(&sp, out, err);
    free(owned);
    free(r->args);
    r->args = NULL;
    r->args_len = 0;
    return rc;
}

/* Move the decision into @resp (receipt added by the caller). */
int chio__fill_response(mreq *r, chio_response *resp)
{
    resp->verdict = r->verdict;
    resp->code = r->code;
    resp->reason = strdup(r->verdict == CHIO_VERDICT_ALLOW ? "" : r->reason);
    if (r->verdict != CHIO_VERDICT_DENY && r->output != NULL) {
        resp->output = r->output;
        resp->output_len = r->output_len;
        r->output = NULL;
    }
    resp->request_id = r->request_id;
    r->request_id = NULL;
    resp->children = r->tctx.children;
    resp->nchildren = r->tctx.nchildren;
    r->tctx.children = NULL;
    r->tctx.nchildren = 0;
    return resp->reason ? 0 : CHIO_ENOMEM;
}

void chio_response_init(chio_response *r)
{
    if (r != NULL)
        memset(r, 0, sizeof(*r));
}

void chio_response_destroy(chio_response *r)
{
    size_t i;

    if (r == NULL)
        return;
    free(r->reason);
    free(r->output);
    free(r->request_id);
    chio_receipt_free(r->receipt);
    for (i = 0; r->children != NULL && i < r->nchildren; i++)
        chio_receipt_free(r->children[i]);
    free(r->children);
    memset(r, 0, sizeof(*r));
}
