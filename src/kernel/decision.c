/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/decision.c - the decision's receipt: a receipt spec made into the
 * typed fields the one-pass writer signs (chio__receipt_fields_of(),
 * nested requests' child receipts too); the parameters a receipt stores
 * when not the arguments verbatim (a summary, or a copy redacted by the
 * secret_leak guards); the request's fields (chio__mreq_fields()); and the
 * response the caller gets
 * (chio__fill_response(), chio_response_init()/_destroy()). Signing and
 * committing belong to the signer (kernel_internal.h). No locks: a
 * decision belongs to the thread evaluating it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard_scan.h"
#include "request.h"

/* What stands in a receipt for a name a secret_leak guard flags (as the
 * redaction marker of an argument, redact.c). */
#define REDACTED_NAME "[REDACTED:secret_leak]"

/* ---- receipts ------------------------------------------------------------------------------ */

void chio__receipt_fields_of(receipt_spec *sp, chio__receipt_fields *f)
{
    memset(f, 0, sizeof(*f));
    f->timestamp = sp->now;
    f->capability_id = sp->capability_id;
    f->tool_server = sp->server;
    f->tool_name = sp->tool;
    f->params = sp->params;
    f->params_len = sp->params_len;
    f->params_canonical = sp->params_canonical;
    f->params_owned = sp->params_owned;
    sp->params_owned = NULL;
    f->output = sp->output; /* already canonical */
    f->output_len = sp->output_len;
    f->verdict = sp->verdict;
    f->reason = sp->verdict == CHIO_VERDICT_ALLOW ? NULL : sp->reason;
    f->guard = sp->verdict == CHIO_VERDICT_DENY ? sp->guard : NULL;
    f->ev = sp->ev;
    f->nev = sp->nev;
    f->request_id = sp->request_id;
    f->session_id = sp->session_id;
    f->parent_request_id = sp->parent_request_id;
    if (sp->orig_hash != NULL) {
        f->redaction = sp->redaction;
        f->orig_hash = sp->orig_hash;
        f->red_guard = sp->red_guard;
        f->red_reason = sp->red_reason;
        f->red_count = sp->red_count;
    }
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

/* @stored (a summary or a redacted copy, @len bytes) as @sp's parameters,
 * bound to the original arguments' hash. */
static int bind_stored(mreq *r, const char *canon, size_t canon_len, receipt_spec *sp, char *hash,
                       const char *stored, size_t len, chio_error *err)
{
    int rc;

    if (stored == NULL)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    if (r->over_cap) /* never parsed: the hash of the raw text */
        memcpy(hash, r->raw_hash, sizeof(r->raw_hash));
    else if ((rc = chio_sha256_hex(canon, canon_len, hash)) != 0)
        return chio__fail(err, rc, CHIO_NO_OFFSET, "hashing the arguments");
    sp->orig_hash = hash;
    sp->params = stored;
    sp->params_len = len;
    sp->params_canonical = 0; /* a summary or a redacted copy: written canonically */
    return 0;
}

/* Bytes a JSON string of @s takes in a receipt, quotes included, at most:
 * a control character is written \u00XX (six bytes for one), a quote or
 * backslash escaped. 0 for NULL (not written). */
static size_t json_len(const char *s)
{
    size_t n = 2;

    if (s == NULL)
        return 0;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        n += c < 0x20 ? 6 : (c == '"' || c == '\\') ? 2 : 1;
    }
    return n;
}

/* A receipt's bytes besides its parameters and the strings around_params()
 * counts: member names, hashes, the kernel key, the id and signature, the
 * timestamp, the redaction metadata and a summary's reason; far more than
 * they take. */
#define RECEIPT_FIXED ((size_t)16 * 1024)

/* Bytes of @r's receipt besides its parameters, at most. The ids and names
 * an agent chooses are bounded in bytes (64 KiB each, request.c), but a
 * receipt writes them escaped: four of control characters take 1.5 MiB,
 * more than the 1 MiB a receipt keeps free beside arguments of
 * CHIO__MAX_ARGS_BYTES (review 44). */
static size_t around_params(const mreq *r)
{
    size_t i, n = RECEIPT_FIXED;

    n += json_len(r->cap_id) + json_len(r->server) + json_len(r->tool) + json_len(r->request_id) +
         json_len(r->s->id) + json_len(r->reason) + json_len(r->deny_guard) +
         json_len(r->k->policy_hash);
    for (i = 0; i < r->nev; i++)
        n += 64 + json_len(r->ev[i].name) + json_len(r->ev[i].details);
    return n;
}

/* Do parameters of @len bytes fit in @r's receipt beside everything else
 * it writes (chio_receipt_parse() reads at most CHIO_JSON_MAX_INPUT)? */
static int params_fit(const mreq *r, size_t len)
{
    size_t around = around_params(r);

    return around < CHIO_JSON_MAX_INPUT && len <= CHIO_JSON_MAX_INPUT - around;
}

/* Parameters of @len bytes that do not fit beside the rest of the receipt:
 * the summary's reason. */
static void not_beside(mreq *r, size_t len)
{
    snprintf(r->unrecordable, sizeof(r->unrecordable),
             "they are %zu bytes; beside the receipt's other fields (%zu bytes at most, ids and "
             "names written escaped) they do not fit in a receipt",
             len, around_params(r));
}

/*
 * What the receipt stores as parameters when not the arguments verbatim:
 * a summary when they cannot be stored (too deep or too large, or their
 * redacted copy too large), or a copy with every value a secret_leak guard
 * flags replaced by a marker. Denied
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
    if (r->unrecordable[0] == '\0' && args != NULL && r->verdict != CHIO_VERDICT_ALLOW &&
        chio__has_secret_guard(r->k)) {
        rc = chio__redact(r->k, args, owned, &len, &n, &guard);
        if (rc != 0)
            return chio__fail(err, rc, CHIO_NO_OFFSET, "out of memory");
        if (*owned != NULL && len <= CHIO__MAX_ARGS_BYTES && params_fit(r, len)) {
            sp->redaction = CHIO_REDACTION_REDACTED;
            sp->red_guard = guard;
            sp->red_count = n;
            return bind_stored(r, canon, canon_len, sp, hash, *owned, len, err);
        }
        if (*owned != NULL) {
            /* A marker is longer than a short flagged value: a copy too
             * large for a receipt gives way to a summary. */
            free(*owned);
            *owned = NULL;
            if (len > CHIO__MAX_ARGS_BYTES)
                snprintf(r->unrecordable, sizeof(r->unrecordable),
                         "their copy with flagged values redacted is %zu bytes; at most %zu fit "
                         "in a receipt",
                         len, (size_t)CHIO__MAX_ARGS_BYTES);
            else
                not_beside(r, len);
        }
    }
    /* Verbatim (or redacted, above) only when they fit beside the rest: a
     * receipt too large to write would leave the decision with none. */
    if (r->unrecordable[0] == '\0' && !params_fit(r, r->args != NULL ? r->args_len : 2))
        not_beside(r, r->args != NULL ? r->args_len : 2);
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
        return bind_stored(r, canon, canon_len, sp, hash, *owned, len, err);
    }
    return 0;
}

/* The receipt holds the names the call chose (its capability, server and
 * tool) as they are, and its reason may quote them; one a secret_leak
 * guard flags is stored as the redaction marker instead, and the reason
 * is replaced by one that names the code only (review 54: a tool named
 * with a key was stored, and quoted by out_of_scope's reason). The call
 * is not denied for it: a tool the kernel dispatches is one its server
 * listed, so the name tells the server nothing. The request id is the
 * host's (or the kernel's UUIDv7), not the agent's, and is kept. */
static void unquote_flagged_names(mreq *r, receipt_spec *sp)
{
    const char **names[] = {&sp->capability_id, &sp->server, &sp->tool};
    static const char *const what[] = {"capability id", "server id", "tool name"};
    const char *flagged = NULL;
    size_t i;

    if (r->k->med.nguards == 0)
        return;
    for (i = 0; i < 3; i++)
        if (chio__secret_named(r->k, *names[i])) {
            *names[i] = REDACTED_NAME;
            if (flagged == NULL)
                flagged = what[i];
        }
    if (flagged != NULL)
        snprintf(r->reason, sizeof(r->reason),
                 "%s: the reason is not quoted (a secret_leak guard flags the call's %s)",
                 chio_code_name(r->code), flagged);
}

int chio__mreq_fields(mreq *r, chio__receipt_fields *f, char hash[65], chio_error *err)
{
    receipt_spec sp;
    char *owned = NULL;
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
    sp.params_canonical = 1;
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
    unquote_flagged_names(r, &sp);
    rc =
        stored_params(r, chio_json_root(r->args_doc), r->args, r->args_len, &sp, hash, &owned, err);
    /* The receipt is written from text: the parsed arguments go now, and
     * the text the receipt does not store goes too (the writer frees the
     * one it stores once written, before the commit). */
    chio_json_doc_free(r->args_doc);
    r->args_doc = NULL;
    if (rc != 0) {
        free(owned);
        return rc;
    }
    if (owned != NULL) {
        free(r->args);
        sp.params_owned = owned;
    } else {
        sp.params_owned = r->args;
        if (sp.params == NULL) { /* no arguments were given */
            sp.params = "{}";
            sp.params_len = 2;
        }
    }
    r->args = NULL;
    r->args_len = 0;
    chio__receipt_fields_of(&sp, f);
    return 0;
}

/* Move the decision into @resp (receipt added by the caller). */
int chio__fill_response(mreq *r, chio_response *resp)
{
    /* All or nothing: the one allocation first, so a failure leaves every
     * field with @r (chio__mreq_destroy frees them) and @resp empty. */
    char *reason = strdup(r->verdict == CHIO_VERDICT_ALLOW ? "" : r->reason);

    if (reason == NULL)
        return CHIO_ENOMEM;
    resp->verdict = r->verdict;
    resp->code = r->code;
    resp->reason = reason;
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
    return 0;
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
