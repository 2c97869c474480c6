/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/nested.c - a tool's nested sampling and elicitation requests
 * (chio_tool_ctx_sample(), chio_tool_ctx_elicit()): each is checked
 * (size, tools asked for, whether its child receipt can be recorded, the
 * call's token not revoked or expired since the dispatch),
 * redacted where a secret_leak guard flags a value, answered by the host
 * and given a signed child receipt before the tool gets the answer. Runs
 * on the tool's thread, inside the request (request.h); dispatch.c owns
 * the tool context it is called with. No shared state of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

/* A tool's nested request is stored as its child receipt's parameters:
 * values a secret_leak guard flags are redacted there too, whatever the
 * verdict (guards do not judge nested requests). */
static int redact_nested(chio_kernel *k, receipt_spec *sp, const char *req, size_t req_len,
                         char *hash, char **redacted, chio_error *err)
{
    chio_json_doc *doc = NULL;
    size_t n = 0, len = 0;
    const char *guard = NULL;
    int rc;

    *redacted = NULL;
    if (!chio__has_secret_guard(k))
        return 0;
    rc = chio_json_parse(req, req_len, &doc, err);
    if (rc == 0)
        rc = chio__redact(k, chio_json_root(doc), redacted, &len, &n, &guard);
    chio_json_doc_free(doc);
    if (rc != 0 || *redacted == NULL)
        return rc;
    rc = chio_sha256_hex(req, req_len, hash);
    if (rc != 0)
        return chio__fail(err, rc, CHIO_NO_OFFSET, "hashing the nested request");
    sp->params = *redacted;
    sp->params_len = len;
    sp->params_canonical = 0;
    sp->redaction = CHIO_REDACTION_REDACTED;
    sp->orig_hash = hash;
    sp->red_guard = guard;
    sp->red_count = n;
    return 0;
}

/* Does a sampling request ask for tool use? Fail closed: a request that
 * is not an object (a host cannot tell where its tools are), or any
 * member at any depth whose name, ASCII case folded and '_' / '-'
 * dropped, starts with "tool" (MCP's "tools", "toolChoice", a tool
 * result's "toolUseId"; "tool_choice", "TOOLS", ...), whatever its
 * value. Until review 54 only the top level and a top-level "params"
 * were read, so '[{"params":{"tools":[1]}}]' and
 * '{"request":{"tools":[]}}' passed as plain sampling. The tool's own
 * with_tools flag is a claim, not the request's content. */
static int names_tool(const char *key, size_t len)
{
    static const char want[] = "tool";
    size_t i, j = 0;

    for (i = 0; i < len && j < sizeof(want) - 1; i++) {
        char ch = key[i];
        if (ch == '_' || ch == '-')
            continue;
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (ch != want[j++])
            return 0;
    }
    return j == sizeof(want) - 1;
}

/* Any member under @v named for tools (names_tool); the parser bounds
 * the depth. */
static int value_asks_tools(const chio_json *v)
{
    size_t i, n, klen;
    const char *key;
    chio_json_type t = chio_json_typeof(v);

    if (t != CHIO_JSON_OBJECT && t != CHIO_JSON_ARRAY)
        return 0;
    n = chio_json_size(v);
    for (i = 0; i < n; i++) {
        key = t == CHIO_JSON_OBJECT ? chio_json_key_at(v, i, &klen) : NULL;
        if (key != NULL && names_tool(key, klen))
            return 1;
        if (value_asks_tools(chio_json_at(v, i)))
            return 1;
    }
    return 0;
}

static int request_asks_tools(const chio_json *root)
{
    return chio_json_typeof(root) != CHIO_JSON_OBJECT || value_asks_tools(root);
}

/* Read the canonical nested request @req: whether a sampling request asks
 * for tool use (*tools), and why a receipt cannot store it verbatim (@why,
 * "" when it can): nested deeper than a receipt read back takes, or too
 * large (a tool server's "1e20" is 21 bytes canonical). Not parsable
 * (cannot happen: canonical already) counts as both, failing closed. */
static void inspect_nested(const char *req, size_t len, int *tools, char *why, size_t cap)
{
    chio_json_doc *doc = NULL;

    why[0] = '\0';
    *tools = 1;
    if (len > CHIO__MAX_ARGS_BYTES) {
        snprintf(why, cap, "it is %zu bytes canonical; at most %zu fit in a receipt", len,
                 (size_t)CHIO__MAX_ARGS_BYTES);
        return;
    }
    if (chio_json_parse(req, len, &doc, NULL) != 0) {
        snprintf(why, cap, "its canonical form does not parse");
        return;
    }
    *tools = request_asks_tools(chio_json_root(doc));
    if (chio__json_depth(chio_json_root(doc)) + CHIO__RECEIPT_PARAMS_DEPTH >
        CHIO__RECEIPT_MAX_DEPTH)
        snprintf(why, cap, "it nests more than %d levels (the receipt adds %d)",
                 CHIO__RECEIPT_MAX_DEPTH - CHIO__RECEIPT_PARAMS_DEPTH, CHIO__RECEIPT_PARAMS_DEPTH);
    chio_json_doc_free(doc);
}

/* A parent request id longer than CHILD_ID_PARENT_MAX bytes is not copied
 * whole into its children's ids: its first CHILD_ID_PREFIX bytes and the
 * SHA-256 of the whole id stand for it, so a child id stays short and the
 * children of two parents never share one. Cut at 150 bytes instead, the
 * first children of two calls whose ids differed only after byte 150 had
 * one request id (review 47). */
#define CHILD_ID_PARENT_MAX 150
#define CHILD_ID_PREFIX     64
#define CHILD_ID_CAP        256

/* The request id of the call's next child receipt, "<parent>/nested-<n>"
 * (n from 1), into @out; 0, or CHIO_ECRYPTO when the parent's id could not
 * be hashed (nothing counted: the caller refuses the request). */
static int child_request_id(chio_tool_ctx *c, char out[CHILD_ID_CAP], chio_error *err)
{
    const char *parent = c->r->request_id;
    size_t n = strlen(parent);
    char hash[65];

    if (n <= CHILD_ID_PARENT_MAX) {
        snprintf(out, CHILD_ID_CAP, "%s/nested-%u", parent, c->nested_seq + 1);
    } else {
        if (chio_sha256_hex(parent, n, hash) != 0)
            return chio__fail(err, CHIO_ECRYPTO, CHIO_NO_OFFSET,
                              "hashing the request id for a nested request");
        snprintf(out, CHILD_ID_CAP, "%.*s~sha256:%s/nested-%u", (int)CHILD_ID_PREFIX, parent, hash,
                 c->nested_seq + 1);
    }
    c->nested_seq++;
    chio__utf8_repair(out); /* the prefix's cut may split a character */
    return 0;
}

static int keep_child(chio_tool_ctx *c, chio_receipt *rec, chio_error *err)
{
    chio_receipt **grown = realloc(c->children, (c->nchildren + 1) * sizeof(*grown));

    if (grown == NULL) {
        chio_receipt_free(rec);
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
    c->children = grown;
    c->children[c->nchildren++] = rec;
    return 0;
}

/* Sign a child receipt, with the credit nested() took ahead when it did. */
static int sign_child(chio_tool_ctx *c, chio__receipt_fields *f, chio_receipt **rec,
                      chio_error *err)
{
    int held = c->credit_held;

    c->credit_held = 0; /* the request's now, whatever the outcome */
    return chio__kernel_sign_entered(c->k, f, held, rec, err);
}

/* A nested request its child receipt cannot store verbatim is refused like
 * such arguments (arguments_rejected) and the host is not asked: its text
 * over max_argument_bytes (never parsed; @hash is the raw text's), or its
 * canonical form too deep or too large for a receipt that reads back
 * (@hash is the canonical form's). The child receipt stores a summary,
 * {"chio_omitted_arguments":{@what:@nbytes,"reason":@why}}, and binds
 * @hash in metadata.redaction. */
static int refuse_unrecordable(chio_tool_ctx *c, chio_nested_kind kind, const char *what,
                               size_t nbytes, const char *hash, const char *why, chio_error *err)
{
    chio_kernel *k = c->k;
    mreq *r = c->r;
    receipt_spec sp;
    chio__receipt_fields f;
    chio_receipt *rec = NULL;
    chio_buf b;
    char child_id[CHILD_ID_CAP], reason[256], *summary;
    size_t slen = 0;
    int rc;

    chio__buf_init(&b);
    chio__buf_printf(&b, "{\"chio_omitted_arguments\":{\"%s\":%zu,\"reason\":", what, nbytes);
    chio__json_write_string(&b, why, strlen(why));
    chio__buf_puts(&b, "}}");
    summary = chio__buf_detach(&b, &slen);
    if (summary == NULL)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    rc = child_request_id(c, child_id, err);
    if (rc != 0) {
        free(summary);
        return rc;
    }
    snprintf(reason, sizeof(reason), "nested request rejected: %s", why);
    memset(&sp, 0, sizeof(sp));
    sp.capability_id = r->cap_id;
    sp.server = r->server;
    sp.tool = kind == CHIO_NESTED_ELICITATION ? "elicitation/create" : "sampling/createMessage";
    sp.params = summary;
    sp.params_len = slen;
    sp.verdict = CHIO_VERDICT_DENY;
    sp.reason = reason;
    sp.guard = chio_code_name(CHIO_CODE_ARGUMENTS_REJECTED);
    sp.request_id = child_id;
    sp.session_id = r->s->id;
    sp.parent_request_id = r->request_id;
    sp.now = chio__kernel_now(k);
    sp.redaction = CHIO_REDACTION_SUMMARY;
    sp.red_reason = why;
    sp.orig_hash = hash;
    chio__receipt_fields_of(&sp, &f);
    rc = sign_child(c, &f, &rec, err);
    free(summary);
    if (rc == 0)
        rc = keep_child(c, rec, err);
    if (rc != 0)
        return rc;
    return chio__fail(err, CHIO_EDENIED, CHIO_NO_OFFSET, "%s request refused: %s",
                      kind == CHIO_NESTED_ELICITATION ? "elicitation" : "sampling", why);
}

/* Text over max_argument_bytes: refused unparsed. */
static int over_cap_nested(chio_tool_ctx *c, chio_nested_kind kind, const char *json, size_t len,
                           chio_error *err)
{
    char why[160], hash[65];

    if (chio_sha256_hex(json, len, hash) != 0)
        return chio__fail(err, CHIO_ECRYPTO, CHIO_NO_OFFSET, "hashing the nested request");
    snprintf(why, sizeof(why), "its text is %zu bytes, over max_argument_bytes (%llu); not parsed",
             len, (unsigned long long)c->k->max_argument_bytes);
    return refuse_unrecordable(c, kind, "text_bytes", len, hash, why, err);
}

/* A canonical form a receipt cannot hold (inspect_nested()'s @why). */
static int unrecordable_nested(chio_tool_ctx *c, chio_nested_kind kind, const char *req, size_t len,
                               const char *why, chio_error *err)
{
    char hash[65];

    if (chio_sha256_hex(req, len, hash) != 0)
        return chio__fail(err, CHIO_ECRYPTO, CHIO_NO_OFFSET, "hashing the nested request");
    return refuse_unrecordable(c, kind, "canonical_bytes", len, hash, why, err);
}

/* The parameters of a nested request's child receipt, into a zeroed @sp:
 * the canonical request, or its copy with the values a secret_leak guard
 * flags redacted (*redacted, freed by the caller). @why (160 bytes) says
 * why they cannot be stored, checked before the host is asked: a redacted
 * copy too large for a receipt (a marker is longer than a short flagged
 * value), or the call's budget of request text held passed. */
static int stored_form(chio_tool_ctx *c, receipt_spec *sp, const char *req, size_t req_len,
                       char *hash, char **redacted, char *why, chio_error *err)
{
    chio_kernel *k = c->k;
    int rc;

    memset(sp, 0, sizeof(*sp));
    sp->params = req;
    sp->params_len = req_len;
    sp->params_canonical = 1; /* canonicalised by the caller */
    rc = redact_nested(k, sp, req, req_len, hash, redacted, err);
    if (rc != 0)
        return rc;
    if (sp->params_len > CHIO__MAX_ARGS_BYTES)
        snprintf(why, 160,
                 "its copy with flagged values redacted is %zu bytes; at most %zu fit in a receipt",
                 sp->params_len, (size_t)CHIO__MAX_ARGS_BYTES);
    else if (sp->params_len > CHIO__NESTED_BYTES_FACTOR * k->max_argument_bytes - c->nested_bytes)
        snprintf(why, 160,
                 "the call's nested requests would hold over %llu bytes together "
                 "(%u x max_argument_bytes)",
                 (unsigned long long)(CHIO__NESTED_BYTES_FACTOR * k->max_argument_bytes),
                 CHIO__NESTED_BYTES_FACTOR);
    return 0;
}

/* Checks 2 and 3 again for a nested request (as just before the
 * dispatch): a token revoked, or expired, while its tool runs asks nothing
 * more of the agent's model or the user under it. The code, with its
 * reason in @reason, or NONE. */
static chio_code token_lapsed(mreq *r, char *reason, size_t cap)
{
    chio_code code;

    if (r->sc == NULL)
        return CHIO_CODE_NONE; /* no token held (not a tool call's request) */
    code = chio__time_since_check(r->k, r->sc->cap, reason, cap);
    if (code == CHIO_CODE_NONE)
        code = chio__revoked_since_check(r->k, r->sc->cap, r->revoke_gen, reason, cap);
    return code;
}

static int nested_request(chio_tool_ctx *c, chio_nested_kind kind, const char *json, size_t len,
                          char **reply, size_t *reply_len, chio_error *err)
{
    chio_kernel *k;
    mreq *r;
    receipt_spec sp;
    chio__receipt_fields f;
    chio_receipt *rec = NULL;
    chio_output out;
    char *req = NULL, *redacted = NULL, child_id[CHILD_ID_CAP], reason[160] = "", req_hash[65],
         why[160];
    size_t req_len;
    chio_code refused = CHIO_CODE_NONE;
    int rc, host_rc = 0, tools;

    if (reply != NULL)
        *reply = NULL;
    if (c == NULL || reply == NULL || json == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL context, request or reply");
    k = c->k;
    r = c->r;
    /* A kernel that already knows its store cannot commit asks no one: the
     * child receipt of an answered request could not be committed, so the
     * user or the agent's model would be asked with no record of it (as
     * a tool is never run then, evaluate.c). */
    if (chio__kernel_failed(k))
        return chio__fail(err, CHIO_EFAILED, CHIO_NO_OFFSET,
                          "kernel failed closed after a receipt store error; the %s request "
                          "was not sent to the host",
                          kind == CHIO_NESTED_ELICITATION ? "elicitation" : "sampling");
    if (c->nchildren >= CHIO__MAX_NESTED) {
        c->nested_overflow = 1;
        return chio__fail(err, CHIO_ELIMIT, CHIO_NO_OFFSET,
                          "more than %u nested requests in one call", CHIO__MAX_NESTED);
    }
    if ((uint64_t)len > k->max_argument_bytes)
        return over_cap_nested(c, kind, json, len, err);
    rc = chio_json_canonicalize(json, len, &req, &req_len, err);
    if (rc != 0)
        return rc;
    inspect_nested(req, req_len, &tools, why, sizeof(why));
    if (kind == CHIO_NESTED_SAMPLING && tools)
        kind = CHIO_NESTED_SAMPLING_WITH_TOOLS;
    rc = why[0] == '\0' ? stored_form(c, &sp, req, req_len, req_hash, &redacted, why, err) : 0;
    if (rc != 0 || why[0] != '\0') { /* before the host is asked: its receipt must read back */
        if (rc == 0)
            rc = unrecordable_nested(c, kind, req, req_len, why, err);
        free(redacted);
        free(req);
        return rc;
    }
    /* Before the host is asked: an answer must get its child receipt. */
    rc = child_request_id(c, child_id, err);
    if (rc != 0) {
        free(redacted);
        free(req);
        return rc;
    }
    c->nested_bytes += sp.params_len;
    if (chio__is_cancelled(r)) {
        /* The call is over for its caller: nothing more goes to the host. */
        refused = CHIO_CODE_CANCELLED;
    } else if ((refused = token_lapsed(r, reason, sizeof(reason))) != CHIO_CODE_NONE) {
        /* reason set: the token was revoked or expired while the tool ran */
    } else if (c->streaming && (c->limit_hit || chio__stream_over_duration(c))) {
        refused = CHIO_CODE_STREAM_LIMIT;
    } else if (kind == CHIO_NESTED_ELICITATION) {
        if (!k->allow_elicitation)
            refused = CHIO_CODE_ELICITATION_NOT_ALLOWED;
    } else if (!k->allow_sampling) {
        refused = CHIO_CODE_SAMPLING_NOT_ALLOWED;
    } else if (kind == CHIO_NESTED_SAMPLING_WITH_TOOLS && !k->allow_sampling_tool_use) {
        refused = CHIO_CODE_SAMPLING_TOOL_USE_NOT_ALLOWED;
    }
    memset(&out, 0, sizeof(out));
    if (refused == CHIO_CODE_CAPABILITY_REVOKED || refused == CHIO_CODE_CAPABILITY_EXPIRED) {
        /* reason set by token_lapsed() */
    } else if (refused == CHIO_CODE_CANCELLED || refused == CHIO_CODE_STREAM_LIMIT) {
        snprintf(reason, sizeof(reason), "%s request refused: the call %s",
                 kind == CHIO_NESTED_ELICITATION ? "elicitation" : "sampling",
                 refused == CHIO_CODE_CANCELLED ? "was cancelled or timed out"
                                                : "passed its stream limit");
    } else if (refused != CHIO_CODE_NONE) {
        snprintf(reason, sizeof(reason), "%s is not allowed by the kernel configuration (%s)",
                 kind == CHIO_NESTED_ELICITATION                      ? "elicitation"
                 : refused == CHIO_CODE_SAMPLING_TOOL_USE_NOT_ALLOWED ? "sampling with tool use"
                                                                      : "sampling",
                 refused == CHIO_CODE_ELICITATION_NOT_ALLOWED ? "allow_elicitation"
                 : refused == CHIO_CODE_SAMPLING_NOT_ALLOWED  ? "allow_sampling"
                                                              : "allow_sampling_tool_use");
    } else if (k->med.nested_fn != NULL) {
        /* The host's error message may quote the request, whose flagged
         * values the child receipt redacts: chio_output_set_error checks
         * it whole against the secret_leak guards, as a tool's. */
        out.k = k;
        host_rc = k->med.nested_fn(k->med.nested_user, kind, r->s->id, req, req_len, &out);
        if (host_rc != 0 || out.set < 0) {
            snprintf(reason, sizeof(reason), "the host could not answer the %s request%s%.100s",
                     kind == CHIO_NESTED_ELICITATION ? "elicitation" : "sampling",
                     out.err[0] ? ": " : "", out.err);
            refused = CHIO_CODE_TOOL_ERROR;
        }
    }
    chio__utf8_repair(reason);
    sp.capability_id = r->cap_id; /* the parameters: stored_form() */
    sp.server = r->server;
    sp.tool = kind == CHIO_NESTED_ELICITATION ? "elicitation/create" : "sampling/createMessage";
    sp.output = refused == CHIO_CODE_NONE ? (out.set > 0 ? out.json : "null") : NULL;
    sp.output_len = refused == CHIO_CODE_NONE ? (out.set > 0 ? out.len : 4) : 0;
    sp.verdict = refused == CHIO_CODE_NONE ? CHIO_VERDICT_ALLOW : CHIO_VERDICT_DENY;
    sp.reason = reason;
    sp.guard = chio_code_name(refused);
    sp.request_id = child_id;
    sp.session_id = r->s->id;
    sp.parent_request_id = r->request_id;
    sp.now = chio__kernel_now(k);
    chio__receipt_fields_of(&sp, &f);
    rc = sign_child(c, &f, &rec, err);
    free(redacted);
    free(req);
    if (rc != 0) {
        chio__output_reset(&out);
        return rc;
    }
    if ((rc = keep_child(c, rec, err)) != 0) {
        chio__output_reset(&out);
        return rc;
    }
    if (refused == CHIO_CODE_TOOL_ERROR) {
        chio__output_reset(&out);
        return chio__fail(err, CHIO_EFAILED, CHIO_NO_OFFSET, "%s", reason);
    }
    if (refused != CHIO_CODE_NONE)
        return chio__fail(err, CHIO_EDENIED, CHIO_NO_OFFSET, "%s", reason);
    if (out.set > 0) {
        *reply = out.json;
        out.json = NULL;
    } else {
        *reply = strdup("null");
        if (*reply == NULL)
            return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
    if (reply_len != NULL) /* optional: the reply is NUL-terminated */
        *reply_len = out.set > 0 ? out.len : 4;
    chio__output_reset(&out);
    return 0;
}

/*
 * A tool runs on the completion thread when a callback submitted its call
 * (chio_kernel_evaluate_async): there a child receipt's credit is taken
 * before the request is looked at, so that a spent budget refuses it
 * (CHIO_EDEADLK) before the host is asked, never a question asked whose
 * receipt cannot be signed. Elsewhere the signing waits for its credit.
 */
static int nested(chio_tool_ctx *c, chio_nested_kind kind, const char *json, size_t len,
                  char **reply, size_t *reply_len, chio_error *err)
{
    int rc, foreign = c != NULL && !chio__on_tool_thread(c);

    /* in_nested is the tool thread's own: read only there (another
     * thread's read would race its writes, and name the wrong mistake). */
    if (c != NULL && (foreign || c->in_nested)) {
        if (reply != NULL)
            *reply = NULL;
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "%s",
                          foreign ? "a nested request from a thread other than the tool's, "
                                    "or after the tool returned"
                                  : "a nested request from inside the host's answer to "
                                    "another of the same call");
    }
    /* A tool of a call submitted from the kernel's log sink runs on the
     * sink's thread, under the log lock. Its child receipt is signed
     * synchronously, and the commit thread may log (checkpoint_written,
     * store_write_failed) before it wakes the waiter: it would wait for
     * the lock this thread holds while this thread waits for it (review
     * 49: a hang). Refused before the host is asked, no child receipt, as
     * a synchronous call from the sink is (kernel.h). */
    if (c != NULL && chio__log_in_sink(c->k)) {
        if (reply != NULL)
            *reply = NULL;
        return chio__fail(err, CHIO_EDEADLK, CHIO_NO_OFFSET,
                          "a nested request from a tool running in the kernel's log sink would "
                          "wait for its child receipt's commit, which may wait for the sink's "
                          "log lock; submit the call from a thread of the host's");
    }
    rc = c != NULL ? chio__kernel_credit_ahead(c->k, err) : 0;
    if (rc < 0) {
        if (reply != NULL)
            *reply = NULL;
        return rc;
    }
    if (c != NULL) {
        c->credit_held = rc;
        c->in_nested = 1; /* one at a time: the credit and the child list are the call's */
    }
    rc = nested_request(c, kind, json, len, reply, reply_len, err);
    if (c != NULL)
        c->in_nested = 0;
    if (c != NULL && c->credit_held) { /* no child receipt was signed */
        c->credit_held = 0;
        chio__credits_release(c->k, 1);
    }
    return rc;
}

int chio_tool_ctx_sample(chio_tool_ctx *ctx, const char *request_json, size_t len, int with_tools,
                         char **reply, size_t *reply_len, chio_error *err)
{
    return nested(ctx, with_tools ? CHIO_NESTED_SAMPLING_WITH_TOOLS : CHIO_NESTED_SAMPLING,
                  request_json, len, reply, reply_len, err);
}

int chio_tool_ctx_elicit(chio_tool_ctx *ctx, const char *request_json, size_t len, char **reply,
                         size_t *reply_len, chio_error *err)
{
    return nested(ctx, CHIO_NESTED_ELICITATION, request_json, len, reply, reply_len, err);
}
