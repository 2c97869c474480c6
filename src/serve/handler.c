/* SPDX-License-Identifier: Apache-2.0 */
/*
 * serve/handler.c - the sidecar's routes (docs/sidecar.md): one parsed
 * request in, one reply out, no socket. Evaluate runs the kernel's pipeline
 * (dispatch is a no-op, see state.c) and answers 200 for allows and denies
 * alike with the signed, committed receipt; malformed input is a 400 with
 * {"code","message"}; a kernel that cannot commit is a 503. Control routes
 * (mint, revoke) need the bearer token, or the control token when one of
 * its own is set; evaluate needs the bearer token when one is set.
 * Thread-safety: chio_serve_handle() runs on any number of threads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../svc/svc_b64.h"
#include "../svc/svc_json_span.h"
#include "serve_internal.h"

#define CT_JSON "application/json"
#define CT_PROM "text/plain; version=0.0.4"

/* The route table: X(method, path, handler, needs_bearer). */
#define SERVE_ROUTES(X)                               \
    X("GET", "/chio/live", route_live, 0)             \
    X("GET", "/chio/health", route_health, 0)         \
    X("GET", "/metrics", route_metrics, 0)            \
    X("POST", "/v1/evaluate", route_evaluate, 0)      \
    X("POST", "/v1/receipts/verify", route_verify, 0) \
    X("POST", "/v1/capabilities/mint", route_mint, 1) \
    X("POST", "/v1/capabilities/revoke", route_revoke, 1)

typedef void (*route_fn)(chio_serve *s, const chio_serve_request *rq, chio_serve_reply *out);

void chio_serve_error_reply(chio_serve_reply *out, unsigned status, const char *code,
                            const char *message)
{
    svc_buf b = {0};

    svc_buf_puts(&b, "{\"code\":");
    svc_buf_json_string(&b, code, strlen(code));
    svc_buf_puts(&b, ",\"message\":");
    svc_buf_json_string(&b, message, strlen(message));
    svc_buf_puts(&b, "}");
    out->status = b.oom ? 500 : status;
    out->content_type = CT_JSON;
    if (b.oom) {
        free(b.p);
        b.p = strdup("{\"code\":\"internal_error\",\"message\":\"out of memory\"}");
        b.len = b.p ? strlen(b.p) : 0;
    }
    out->body = b.p;
    out->body_len = b.len;
}

/* Hand a finished buffer over as the reply (500 when it ran out of memory). */
static void reply_buf(chio_serve_reply *out, unsigned status, svc_buf *b, const char *ct)
{
    if (b->oom) {
        free(b->p);
        chio_serve_error_reply(out, 500, "internal_error", "out of memory");
        return;
    }
    out->status = status;
    out->body = b->p;
    out->body_len = b->len;
    out->content_type = ct;
}

/* A kernel error as a reply: a store that cannot commit or a draining
 * kernel is 503, the sidecar's own failure (memory, randomness, the
 * crypto library) 500, anything else 400 (the request's content) unless
 * @ours says the request was read and the failure is the sidecar's. */
static void reply_error_of(chio_serve_reply *out, int rc, const chio_error *err, int ours)
{
    const char *msg = err->message[0] ? err->message : chio_strerror(rc);
    unsigned status = 500;

    const char *code = chio_errno_reason(rc);

    switch (rc) {
    case CHIO_ESTORE:
    case CHIO_EFAILED:
    case CHIO_EDRAINED:
    case CHIO_ECORRUPT:
    case CHIO_EBUSY:
    case CHIO_ELIMIT:
        status = 503;
        break;
    case CHIO_ENOMEM:
    case CHIO_ESYS:
    case CHIO_ECRYPTO:
        status = 500;
        break;
    default:
        if (ours) {
            code = "internal_error";
            break;
        }
        status = 400; /* the request's content: never "internal_error" */
        if (strcmp(code, "internal_error") == 0)
            code = "invalid_request";
    }
    chio_serve_error_reply(out, status, code, msg);
}

static int draining(const chio_serve *s)
{
    return __atomic_load_n(&s->draining, __ATOMIC_ACQUIRE) != 0;
}

/* ---- plain routes ---------------------------------------------------------------------------- */

static void route_live(chio_serve *s, const chio_serve_request *rq, chio_serve_reply *out)
{
    svc_buf b = {0};

    (void)s;
    (void)rq;
    svc_buf_puts(&b, "{\"status\":\"live\"}");
    reply_buf(out, 200, &b, CT_JSON);
}

static void route_health(chio_serve *s, const chio_serve_request *rq, chio_serve_reply *out)
{
    chio_kernel_metrics m;
    svc_buf b = {0};
    const char *status = "ok";

    (void)rq;
    chio_kernel_metrics_get(s->k, &m);
    if (m.failed)
        status = "failed";
    else if (draining(s) || m.draining)
        status = "draining";
    svc_buf_printf(&b, "{\"kernel_key\":\"%s\",\"status\":\"%s\"}", chio_kernel_public_hex(s->k),
                   status);
    reply_buf(out, strcmp(status, "ok") == 0 ? 200 : 503, &b, CT_JSON);
}

static void route_metrics(chio_serve *s, const chio_serve_request *rq, chio_serve_reply *out)
{
    svc_buf b = {0};
    char *text = NULL;
    size_t len = 0;

    (void)rq;
    if (chio_kernel_metrics_prometheus(s->k, &text, &len) != 0) {
        chio_serve_error_reply(out, 500, "internal_error", "cannot render the metrics");
        return;
    }
    svc_buf_add(&b, text, len);
    chio_free(text);
    reply_buf(out, 200, &b, CT_PROM);
}

/* ---- JSON bodies ----------------------------------------------------------------------------- */

/* Parse the body as a JSON object; on failure the 400 is already in @out. */
static chio_json_doc *body_object(const chio_serve_request *rq, chio_serve_reply *out)
{
    chio_json_doc *doc = NULL;
    chio_error err;
    int rc;

    chio_error_init(&err);
    if (rq->body_len == 0) {
        chio_serve_error_reply(out, 400, "invalid_request", "the request needs a JSON body");
        return NULL;
    }
    rc = chio_json_parse(rq->body, rq->body_len, &doc, &err);
    if (rc != 0) {
        chio_serve_error_reply(out, rc == CHIO_ENOMEM ? 500 : 400, "invalid_json",
                               err.message[0] ? err.message : chio_strerror(rc));
        return NULL;
    }
    if (chio_json_typeof(chio_json_root(doc)) != CHIO_JSON_OBJECT) {
        chio_json_doc_free(doc);
        chio_serve_error_reply(out, 400, "invalid_request", "the body must be a JSON object");
        return NULL;
    }
    return doc;
}

/* The string member @key of @obj: NULL when absent; *bad when it is there
 * but not a string without NUL bytes. */
static const char *get_str(const chio_json *obj, const char *key, int *bad)
{
    const chio_json *v = chio_json_get(obj, key);
    const char *s;
    size_t len;

    if (v == NULL)
        return NULL;
    s = chio_json_string(v, &len);
    if (s == NULL || strlen(s) != len) {
        *bad = 1;
        return NULL;
    }
    return s;
}

/* The first of the string members @keys of @obj that holds a NUL
 * (\u0000), or NULL: a name or id the library takes as a C string cannot
 * carry one, and "required strings" would misname the fault (review 8). */
static const char *nul_member(const chio_json *obj, const char *const *keys)
{
    const char *s;
    size_t len;

    for (; *keys != NULL; keys++)
        if ((s = chio_json_string(chio_json_get(obj, *keys), &len)) != NULL && strlen(s) != len)
            return *keys;
    return NULL;
}

/* The members a route reads; anything else in its body is refused (a
 * misspelt "parameters" must not quietly evaluate {}). 1 with the 400 in
 * @out when @obj has another member. */
static int unknown_member(const chio_json *obj, const char *const *known, chio_serve_reply *out)
{
    size_t i, j, n;
    char msg[128];

    for (i = 0; i < chio_json_size(obj); i++) {
        const char *k = chio_json_key_at(obj, i, &n);

        for (j = 0; known[j] != NULL; j++)
            if (strlen(known[j]) == n && memcmp(known[j], k, n) == 0)
                break;
        if (known[j] != NULL)
            continue;
        if (n > 60) /* cut at a character boundary */
            for (n = 60; n > 0 && ((unsigned char)k[n] & 0xc0) == 0x80; n--)
                ;
        snprintf(msg, sizeof(msg), "unknown member \"%.*s\" in the body", (int)n, k);
        chio_serve_error_reply(out, 400, "invalid_request", msg);
        return 1;
    }
    return 0;
}

/* ---- evaluate -------------------------------------------------------------------------------- */

/* The token of an evaluate request as JSON text (malloc'd), from the body's
 * "capability" object (its bytes as written in the body), the
 * X-Chio-Capability header or a minted id. NULL
 * with the 400 in @out, or NULL with *unknown set for an id the sidecar
 * does not know (the kernel then denies it with a receipt). */
static char *evaluate_token(chio_serve *s, const chio_serve_request *rq, const chio_json *root,
                            const char *capid, size_t *len, int *unknown, chio_serve_reply *out)
{
    const chio_json *cap = chio_json_get(root, "capability");
    const char *src;
    char *text = NULL;
    size_t slen = 0;

    /* One token per call: with both, which one the receipt names would be
     * the sidecar's guess, and the header's token would be ignored. */
    if (cap != NULL && rq->capability_header != NULL) {
        chio_serve_error_reply(out, 400, "invalid_request",
                               "give the token once: a capability object or X-Chio-Capability, "
                               "not both");
        return NULL;
    }
    if (cap != NULL) {
        if (chio_json_typeof(cap) != CHIO_JSON_OBJECT) {
            chio_serve_error_reply(out, 400, "invalid_request", "capability must be an object");
            return NULL;
        }
        /* The token's own bytes: re-serialised, "issued_at": -0 or
         * 1.710001e9 (refused as written, as the header's token is) read
         * as an integer and the token was allowed (review 45). */
        src = svc_json_member(rq->body, rq->body_len, "capability", &slen);
        text = src != NULL ? malloc(slen + 1) : NULL;
        if (text == NULL) {
            chio_serve_error_reply(out, 500, "internal_error",
                                   src != NULL ? "out of memory"
                                               : "the capability's text was not found in the body");
            return NULL;
        }
        memcpy(text, src, slen);
        text[slen] = '\0';
        *len = slen;
        return text;
    }
    if (capid == NULL) {
        chio_serve_error_reply(out, 400, "invalid_request",
                               rq->capability_header != NULL
                                   ? "X-Chio-Capability needs the token's capability_id in the body"
                                   : "a capability object or a capability_id is required");
        return NULL;
    }
    if (rq->capability_header != NULL) {
        text = svc_b64url_decode(rq->capability_header, len);
        if (text == NULL)
            chio_serve_error_reply(out, 400, "invalid_request",
                                   "X-Chio-Capability is not base64url");
        return text;
    }
    text = chio__sv_minted(s, capid, len);
    if (text == NULL)
        *unknown = 1;
    return text;
}

static void evaluate_reply(chio_serve_reply *out, const chio_response *r)
{
    svc_buf b = {0};
    const char *rj;
    size_t rlen = 0;

    rj = chio_receipt_json(r->receipt, &rlen);
    svc_buf_puts(&b, "{\"verdict\":");
    svc_buf_json_string(&b, chio_verdict_name(r->verdict), strlen(chio_verdict_name(r->verdict)));
    svc_buf_puts(&b, ",\"code\":");
    svc_buf_json_string(&b, chio_code_name(r->code), strlen(chio_code_name(r->code)));
    svc_buf_puts(&b, ",\"reason\":");
    svc_buf_json_string(&b, r->reason, r->reason ? strlen(r->reason) : 0);
    svc_buf_puts(&b, ",\"receipt\":");
    svc_buf_add(&b, rj, rlen);
    svc_buf_puts(&b, "}");
    reply_buf(out, 200, &b, CT_JSON);
}

static void route_evaluate(chio_serve *s, const chio_serve_request *rq, chio_serve_reply *out)
{
    static const char *const evaluate_members[] = {
        "capability", "capability_id",  "tool_server", "tool_name",
        "parameters", "parameter_hash", "request_id",  NULL};
    static const char *const id_members[] = {"tool_server",    "tool_name",  "capability_id",
                                             "parameter_hash", "request_id", NULL};
    chio_json_doc *doc;
    const chio_json *root, *params;
    const char *server, *tool, *capid, *phash, *reqid, *nul;
    char sid[CHIO_SESSION_ID_LEN + 1], *token = NULL, *args = NULL, *heldid = NULL;
    size_t tlen = 0, alen = 0;
    int bad = 0, unknown = 0, oneoff = 0, ours = 0, rc;
    chio_response resp;
    chio_call call;
    chio_call_options opts;
    chio_error err;

    chio_error_init(&err);
    chio_response_init(&resp);
    if (draining(s)) {
        chio_serve_error_reply(out, 503, "draining", "the sidecar is draining");
        return;
    }
    if ((doc = body_object(rq, out)) == NULL)
        return;
    root = chio_json_root(doc);
    if (unknown_member(root, evaluate_members, out))
        goto done;
    server = get_str(root, "tool_server", &bad);
    tool = get_str(root, "tool_name", &bad);
    capid = get_str(root, "capability_id", &bad);
    phash = get_str(root, "parameter_hash", &bad);
    reqid = get_str(root, "request_id", &bad);
    params = chio_json_get(root, "parameters");
    if (bad && (nul = nul_member(root, id_members)) != NULL) {
        char msg[128];
        snprintf(msg, sizeof(msg),
                 "%s holds a NUL character (\\u0000), which no name or id can "
                 "carry",
                 nul);
        chio_serve_error_reply(out, 400, "invalid_request", msg);
        goto done;
    }
    if (bad || server == NULL || tool == NULL) {
        chio_serve_error_reply(out, 400, "invalid_request",
                               "tool_server and tool_name are required strings (and "
                               "capability_id, parameter_hash, request_id strings when given)");
        goto done;
    }
    /* Any JSON value is the call's arguments, as chio_kernel_evaluate()
     * reads its arguments text in-process: the kernel decides on an array,
     * a string or null too and signs the receipt. Refusing them here was a
     * 400 with no receipt for a call the library allows (review 31). */
    if (params != NULL && chio_json_write_canonical(params, &args, &alen) != 0) {
        chio_serve_error_reply(out, 500, "internal_error", "out of memory");
        goto done;
    }
    token = evaluate_token(s, rq, root, capid, &tlen, &unknown, out);
    if (token == NULL && !unknown)
        goto done;
    if (token != NULL) {
        const chio_json *cj = chio_json_get(root, "capability");
        const char *hint = capid;
        size_t hl;

        if (cj != NULL && (hint = chio_json_string(chio_json_get(cj, "id"), &hl)) != NULL &&
            strlen(hint) != hl)
            hint = NULL;
        rc = chio__sv_session_get(s, token, tlen, hint, sid, &oneoff, &heldid, &ours, &err);
        if (rc != 0) {
            /* Only a token that does not parse is the client's 400; a
             * session the sidecar could not open for it is the
             * sidecar's failure (review 47: "no randomness for the
             * session id" was 400 invalid_capability). */
            if (ours || rc == CHIO_ENOMEM)
                reply_error_of(out, rc, &err, 1);
            else
                chio_serve_error_reply(out, 400, "invalid_capability",
                                       err.message[0] ? err.message : chio_strerror(rc));
            goto done;
        }
        /* A capability_id other than the token's names a capability the
         * token's session does not hold: the kernel denies it
         * unknown_capability with a receipt, as it does in-process for a
         * session holding that token (review 31: it was a 400 with none). */
        if (capid == NULL)
            capid = heldid;
    } else {
        memcpy(sid, s->empty_sid, sizeof(sid)); /* holds nothing: unknown_capability */
    }
    memset(&call, 0, sizeof(call));
    call.session_id = sid;
    call.request_id = reqid;
    call.capability_id = capid;
    call.server_id = server;
    call.tool_name = tool;
    call.arguments_json = args;
    call.arguments_len = alen;
    memset(&opts, 0, sizeof(opts));
    opts.flags = s->decide_only ? CHIO_CALL_DECIDE_ONLY : 0;
    chio__sv_expect_hash(phash);
    rc = chio_kernel_evaluate_ex(s->k, &call, &opts, &resp, &err);
    chio__sv_expect_hash(NULL);
    if (rc != 0)
        reply_error_of(out, rc, &err, 0);
    else
        evaluate_reply(out, &resp);
done:
    if (oneoff)
        chio_kernel_close_session(s->k, sid, NULL);
    else if (heldid != NULL)
        chio__sv_session_done(s, heldid);
    chio_response_destroy(&resp);
    chio_json_doc_free(doc);
    chio_free(args);
    free(token);
    free(heldid);
}

/* ---- receipts/verify ------------------------------------------------------------------------- */

/* The report of `chio receipt verify --trusted-key <this sidecar's key>`. */
static void route_verify(chio_serve *s, const chio_serve_request *rq, chio_serve_reply *out)
{
    chio_receipt *r = NULL;
    chio_receipt_report rep;
    svc_buf b = {0};
    chio_error err;
    uint8_t key[32];
    char *canon = NULL;
    size_t clen = 0;
    int rc, intact, trusted, authorized;
    const char *result;

    chio_error_init(&err);
    memset(&rep, 0, sizeof(rep));
    rc = chio_receipt_parse(rq->body ? rq->body : "", rq->body_len, &r, &err);
    if (rc != 0) {
        const char *code = rc == CHIO_ENOMEM ? "internal_error"
                           : strncmp(chio_errno_name(rc), "CHIO_EJSON_", 11) == 0
                               ? "invalid_json"
                               : "invalid_receipt";
        chio_serve_error_reply(out, rc == CHIO_ENOMEM ? 500 : 400, code,
                               err.message[0] ? err.message : chio_strerror(rc));
        return;
    }
    chio_pubkey_from_hex(chio_kernel_public_hex(s->k), 64, key);
    rc = chio_receipt_verify(r, key, 1, &rep);
    if (rc != 0) {
        chio_receipt_free(r);
        chio_serve_error_reply(out, 500, chio_errno_reason(rc), chio_strerror(rc));
        return;
    }
    intact = rep.signature_valid && rep.receipt_id_valid && rep.parameter_hash_valid;
    trusted = rep.signer_trusted;
    authorized = intact && trusted && rep.authorized;
    result = !intact                                                ? "Invalid"
             : !trusted                                             ? "Untrusted"
             : strcmp(rep.result, "Authorized") == 0 && !authorized ? "Allowed"
                                                                    : rep.result;
    svc_buf_printf(&b, "{\"authorized\":%s,\"boundary_class\":", authorized ? "true" : "false");
    svc_buf_json_string(&b, rep.boundary_class, strlen(rep.boundary_class));
    svc_buf_puts(&b, ",\"checked\":[\"signature\",\"receipt_id\",\"parameter_hash\",\"signer\"]");
    svc_buf_puts(&b, ",\"decision\":");
    svc_buf_json_string(&b, rep.decision_name, strlen(rep.decision_name));
    svc_buf_puts(&b, ",\"id\":");
    svc_buf_json_string(&b, rep.id, strlen(rep.id));
    svc_buf_printf(&b, ",\"not_checked\":[],\"ok\":%s", intact && trusted ? "true" : "false");
    svc_buf_printf(&b, ",\"parameter_hash_valid\":%s,\"receipt_id_valid\":%s,\"receipt_kind\":",
                   rep.parameter_hash_valid ? "true" : "false",
                   rep.receipt_id_valid ? "true" : "false");
    svc_buf_json_string(&b, rep.receipt_kind, strlen(rep.receipt_kind));
    svc_buf_puts(&b, ",\"result\":");
    svc_buf_json_string(&b, result, strlen(result));
    svc_buf_printf(&b, ",\"signature_valid\":%s,\"signer_key_hex\":\"%s\",\"signer_trusted\":%s",
                   rep.signature_valid ? "true" : "false", rep.signer_key_hex,
                   trusted ? "true" : "false");
    svc_buf_puts(&b, ",\"trust_level\":");
    svc_buf_json_string(&b, rep.trust_level, strlen(rep.trust_level));
    svc_buf_puts(&b, "}");
    chio_receipt_free(r);
    if (!b.oom && chio_json_canonicalize(b.p, b.len, &canon, &clen, NULL) == 0) {
        free(b.p);
        b.p = NULL;
        b.len = b.cap = 0;
        svc_buf_add(&b, canon, clen);
        chio_free(canon);
    }
    reply_buf(out, 200, &b, CT_JSON);
}

/* ---- control routes -------------------------------------------------------------------------- */

/* 1 with the reply in @out when a caller's mint @id is revoked (or the
 * revocation list cannot be read): a token minted under it would be
 * denied capability_revoked at every call, the mint's 200 notwithstanding. */
static int id_taken(chio_serve *s, const char *id, chio_serve_reply *out)
{
    int rc = chio_kernel_is_revoked(s->k, id);

    if (rc == 0)
        return 0;
    if (rc == 1)
        chio_serve_error_reply(out, 409, "id_in_use",
                               "that capability id is revoked: pick another id");
    else
        chio_serve_error_reply(out, 503, chio_errno_reason(rc < 0 ? -rc : rc),
                               "cannot read the revocation list");
    return 1;
}

/* The answer to a mint whose token is not kept (chio__sv_mint_store()'s
 * @rc): full by count or by bytes is the same 503 limit_reached, the
 * message naming which; memory is a 500. */
static void mint_refused(const chio_serve *s, chio_serve_reply *out, int rc, const char *id,
                         size_t tlen)
{
    char msg[200];

    if (rc == CHIO__SV_NO_ROOM) {
        snprintf(msg, sizeof(msg),
                 "cannot keep another minted token: the tokens and sessions held would pass "
                 "--max-held-bytes (%llu bytes; this token counts %llu)",
                 (unsigned long long)s->max_held,
                 (unsigned long long)chio__sv_minted_cost(id, tlen));
        rc = CHIO_ELIMIT;
    } else {
        snprintf(msg, sizeof(msg), "cannot keep another minted token%s",
                 rc == CHIO_ELIMIT ? ": " CHIO_SERVE_MAX_MINTED_TEXT " unexpired ones are held"
                                   : "");
    }
    chio_serve_error_reply(out, rc == CHIO_ELIMIT ? 503 : 500, chio_errno_reason(rc), msg);
}

static void route_mint(chio_serve *s, const chio_serve_request *rq, chio_serve_reply *out)
{
    static const char *const mint_members[] = {"subject", "scope", "ttl_secs", "id", NULL};
    chio_json_doc *doc;
    const chio_json *root, *scope, *ttlv;
    const char *subject, *id, *tj;
    char genid[40], *scope_text = NULL;
    uint8_t rnd[16];
    uint64_t ttl = 3600;
    size_t slen = 0, tlen = 0;
    chio_capability *cap = NULL;
    svc_buf b = {0};
    chio_error err;
    int bad = 0, rc;

    chio_error_init(&err);
    if ((doc = body_object(rq, out)) == NULL)
        return;
    root = chio_json_root(doc);
    if (unknown_member(root, mint_members, out))
        goto done;
    subject = get_str(root, "subject", &bad);
    id = get_str(root, "id", &bad);
    scope = chio_json_get(root, "scope");
    ttlv = chio_json_get(root, "ttl_secs");
    if (bad || subject == NULL || scope == NULL || chio_json_typeof(scope) != CHIO_JSON_OBJECT ||
        (ttlv != NULL && (chio_json_get_uint64(ttlv, &ttl) != 0 || ttl == 0))) {
        chio_serve_error_reply(out, 400, "invalid_request",
                               "subject (hex public key) and scope (object) are required; "
                               "ttl_secs a positive integer and id a string when given");
        goto done;
    }
    if (id != NULL && (id[0] == '\0' || strlen(id) > CHIO_SERVE_MAX_ID_LEN)) {
        chio_serve_error_reply(out, 400, "invalid_request",
                               "id must be 1 to 256 bytes (so that it can be revoked)");
        goto done;
    }
    if (id != NULL && id_taken(s, id, out))
        goto done;
    if (id == NULL) {
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
            chio_serve_error_reply(out, 500, "internal_error", "no randomness for the id");
            goto done;
        }
        memcpy(genid, "cap-", 4);
        chio_hex_encode(rnd, sizeof(rnd), genid + 4);
        id = genid;
    }
    if (chio_json_write_canonical(scope, &scope_text, &slen) != 0) {
        chio_serve_error_reply(out, 500, "internal_error", "out of memory");
        goto done;
    }
    rc = chio_kernel_issue_capability(s->k, id, subject, scope_text, slen, 0, ttl, &cap, &err);
    if (rc != 0) {
        reply_error_of(out, rc, &err, 0);
        goto done;
    }
    tj = chio_capability_json(cap, &tlen);
    rc = chio__sv_mint_store(s, id, tj, tlen, chio_capability_expires_at(cap));
    if (rc == CHIO__SV_ID_HELD) {
        chio_serve_error_reply(out, 409, "id_in_use",
                               "a token minted here already has that capability id: pick "
                               "another id");
        goto done;
    }
    if (rc != 0) {
        mint_refused(s, out, rc, id, tlen);
        goto done;
    }
    svc_buf_puts(&b, "{\"capability\":");
    svc_buf_add(&b, tj, tlen);
    svc_buf_puts(&b, ",\"capability_id\":");
    svc_buf_json_string(&b, id, strlen(id));
    svc_buf_puts(&b, "}");
    reply_buf(out, 200, &b, CT_JSON);
done:
    chio_capability_free(cap);
    chio_free(scope_text);
    chio_json_doc_free(doc);
}

static void route_revoke(chio_serve *s, const chio_serve_request *rq, chio_serve_reply *out)
{
    static const char *const revoke_members[] = {"capability_id", NULL};
    chio_json_doc *doc;
    const char *id;
    svc_buf b = {0};
    chio_error err;
    int bad = 0, rc;

    chio_error_init(&err);
    if ((doc = body_object(rq, out)) == NULL)
        return;
    if (unknown_member(chio_json_root(doc), revoke_members, out))
        goto done;
    id = get_str(chio_json_root(doc), "capability_id", &bad);
    if (bad || id == NULL || id[0] == '\0' || strlen(id) > CHIO_SERVE_MAX_ID_LEN) {
        chio_serve_error_reply(out, 400, "invalid_request",
                               "capability_id (1 to 256 bytes) is required");
        goto done;
    }
    rc = chio_kernel_revoke_capability(s->k, id, &err);
    if (rc != 0) {
        reply_error_of(out, rc, &err, 0);
        goto done;
    }
    chio__sv_mint_revoked(s, id); /* persisted: a minted token's slot is free */
    svc_buf_puts(&b, "{\"capability_id\":");
    svc_buf_json_string(&b, id, strlen(id));
    svc_buf_puts(&b, ",\"revoked\":true}");
    reply_buf(out, 200, &b, CT_JSON);
done:
    chio_json_doc_free(doc);
}

/* ---- dispatch -------------------------------------------------------------------------------- */

void chio_serve_handle(chio_serve *s, const chio_serve_request *rq, chio_serve_reply *out)
{
    static const struct {
        const char *method, *path;
        route_fn fn;
        int control;
    } routes[] = {
#define SERVE_ROUTE_ROW(m, p, f, c) {m, p, f, c},
        SERVE_ROUTES(SERVE_ROUTE_ROW)
#undef SERVE_ROUTE_ROW
    };
    size_t i;
    const char *allow = NULL;
    int auth;

    memset(out, 0, sizeof(*out));
    /* A browser's request (it carries Origin; a host service sends none):
     * any web page may POST to a loopback port (a text/plain body needs no
     * CORS preflight, DNS rebinding makes it same-origin), and evaluate
     * without a bearer token would sign and store a receipt for each. */
    if (rq->origin != NULL) {
        chio_serve_error_reply(out, 403, "forbidden",
                               "requests from a browser (an Origin header) are refused");
        return;
    }
    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (strcmp(rq->path, routes[i].path) != 0)
            continue;
        allow = routes[i].method; /* one method per path */
        if (strcmp(rq->method, routes[i].method) != 0)
            continue;
        if (routes[i].control && !s->has_bearer) {
            chio_serve_error_reply(out, 403, "forbidden",
                                   "control routes are off: start chio serve with --token-file");
            return;
        }
        /* With a control token of its own, evaluate's token opens
         * evaluate only: a host that may ask for decisions cannot mint
         * itself a token for anything, nor revoke another's. */
        auth = !s->has_bearer                   ? 1
               : routes[i].control              ? chio__sv_control_ok(s, rq->authorization)
               : routes[i].fn == route_evaluate ? chio__sv_bearer_ok(s, rq->authorization)
                                                : 1;
        if (auth < 0) { /* the token could not be hashed: not the client's fault */
            chio_serve_error_reply(out, 500, "internal_error",
                                   "cannot check the bearer token (out of memory)");
            return;
        }
        if (auth == 0) {
            chio_serve_error_reply(out, 401, "unauthorized",
                                   "Authorization: Bearer <token> is missing or wrong");
            out->challenge = "Bearer realm=\"chio serve\"";
            return;
        }
        if (routes[i].control && draining(s)) {
            chio_serve_error_reply(out, 503, "draining", "the sidecar is draining");
            return;
        }
        routes[i].fn(s, rq, out);
        return;
    }
    if (allow != NULL) {
        chio_serve_error_reply(out, 405, "method_not_allowed", "method not allowed on this path");
        out->allow = allow;
    } else
        chio_serve_error_reply(out, 404, "not_found", "no such route");
}
