/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/request.c - the request being mediated (struct mreq, request.h):
 * its lifetime; admission, everything that ends in an error without a
 * receipt (ids bound in length, the kernel's state, the session); the
 * arguments, parsed and canonicalised, held to max_argument_bytes and to
 * what a receipt can store; the refusals before checks 1-9 (pre-checks),
 * each a deny receipt; check 9, the guards and their evidence; and the
 * deny helper. Runs on the caller's thread; from admission the request
 * holds the kernel (chio__kernel_enter) and its session
 * (chio__session_enter) until chio__mreq_leave().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard_scan.h"
#include "request.h"

#define DETAILS_CAP 512 /* evidence details kept in a receipt, with the NUL */
/* What a guard may write: checked whole against the secret_leak guards
 * before it is cut to DETAILS_CAP, so a secret the cut splits is found. */
#define GUARD_SCRATCH 4096
/* Ids and names (request, capability, server, tool) longer than this are
 * kept out of receipts (a marker with their length and hash instead) and
 * the call is denied as invalid_request: four of them stay far below the
 * 1 MiB a receipt keeps free beside the arguments. */
#define MAX_ID_BYTES ((size_t)64 * 1024)

/* ---- the request being mediated ----------------------------------------------------------- */

void chio__mreq_init(mreq *r, chio_kernel *k)
{
    memset(r, 0, sizeof(*r));
    r->k = k;
    r->tctx.k = k;
    r->tctx.r = r;
    chio__buf_init(&r->tctx.chunks);
}

void chio__mreq_leave_session(mreq *r)
{
    if (r->in_session)
        chio__session_leave(r->s);
    r->in_session = 0;
}

/* Release the session and the kernel (once). */
void chio__mreq_leave(mreq *r)
{
    chio__mreq_leave_session(r);
    if (r->in_kernel)
        chio__kernel_leave(r->k);
    r->in_kernel = 0;
}

void chio__mreq_destroy(mreq *r)
{
    size_t i;

    chio__mreq_leave(r);
    chio__session_put(r->s);
    r->s = NULL;
    free(r->request_id);
    free(r->args);
    chio_json_doc_free(r->args_doc);
    for (i = 0; i < r->nev; i++) {
        free(r->ev[i].name);
        free(r->ev[i].details);
    }
    free(r->ev);
    free(r->output);
    chio__buf_destroy(&r->tctx.chunks);
    for (i = 0; i < r->tctx.nchildren; i++)
        chio_receipt_free(r->tctx.children[i]);
    free(r->tctx.children);
    for (i = 0; i < r->nmarks; i++)
        free(r->marks[i]);
}

/* The bytes @s (@n bytes) takes inside a receipt's JSON string: a control
 * character is written \u00XX (six bytes), a quote or backslash escaped. */
static size_t escaped_len(const char *s, size_t n)
{
    size_t i, e = n;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        e += c < 0x20 ? 5 : (c == '"' || c == '\\') ? 1 : 0;
    }
    return e;
}

/* An id or name over MAX_ID_BYTES as the receipt writes it (escaped: four
 * ids of 64 KiB of control characters took 1.5 MiB, past the 1 MiB a
 * receipt keeps beside arguments of CHIO__MAX_ARGS_BYTES; review 44): *s
 * becomes a marker naming its length and SHA-256, and the call is refused
 * (invalid_request, with a receipt) before any tool runs. */
int chio__bound_id(mreq *r, const char *what, const char **s, chio_error *err)
{
    size_t n = strlen(*s);
    char hash[65];

    if (n <= MAX_ID_BYTES && escaped_len(*s, n) <= MAX_ID_BYTES)
        return 0;
    if (chio_sha256_hex(*s, n, hash) != 0 ||
        asprintf(&r->marks[r->nmarks], "[omitted %s: %zu bytes, sha256 %s]", what, n, hash) < 0)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    *s = r->marks[r->nmarks++];
    if (r->invalid_request == NULL)
        r->invalid_request = "an id or name is longer than 65536 bytes (JSON-escaped)";
    return 0;
}

/* Strings with an embedded NUL (\u0000) are refused as arguments. */
static int has_nul(void *ctx, chio__key *key, const char *s, size_t n)
{
    (void)ctx;
    (void)key;
    return memchr(s, '\0', n) != NULL;
}

/* Arguments text longer than max_argument_bytes is refused before it is
 * parsed: the call is denied (arguments_rejected) with a receipt whose
 * parameters are a summary and whose metadata.redaction binds the SHA-256
 * of the raw text as given (it was never parsed, so it has no canonical
 * form). Returns 1 when @len is over the cap, -1 when hashing failed. */
int chio__over_cap(mreq *r, const char *json, size_t len)
{
    if (json == NULL || (uint64_t)len <= r->k->max_argument_bytes)
        return 0;
    if (chio_sha256_hex(json, len, r->raw_hash) != 0)
        return -1;
    r->over_cap = 1;
    r->raw_len = len;
    snprintf(r->unrecordable, sizeof(r->unrecordable),
             "their text is %zu bytes, over max_argument_bytes (%llu); not parsed", len,
             (unsigned long long)r->k->max_argument_bytes);
    return 1;
}

/* Arguments that are not JSON: the parser's message, except that a
 * duplicate key is not quoted when the kernel has secret_leak guards (the
 * key may be one they flag, which a receipt would redact; hosts log error
 * messages). */
static int parse_error(mreq *r, int rc, const chio_error *perr, chio_error *err)
{
    if (rc == CHIO_EJSON_DUPKEY && chio__has_secret_guard(r->k))
        return chio__fail(err, rc, perr->offset,
                          "arguments: %s at byte %zu (the key is not quoted: the kernel has "
                          "secret_leak guards)",
                          chio_strerror(rc), perr->offset);
    return chio__fail(err, rc, perr->offset, "arguments: %s", perr->message);
}

/* Why arguments cannot be stored verbatim: too deep for a receipt that
 * reads back, or too large. */
static void too_deep(mreq *r)
{
    snprintf(r->unrecordable, sizeof(r->unrecordable),
             "they nest more than %d levels (the receipt adds %d)",
             CHIO__RECEIPT_MAX_DEPTH - CHIO__RECEIPT_PARAMS_DEPTH, CHIO__RECEIPT_PARAMS_DEPTH);
}

static void too_large(mreq *r)
{
    snprintf(r->unrecordable, sizeof(r->unrecordable),
             "they are %zu bytes; at most %zu fit in a receipt", r->args_len,
             (size_t)CHIO__MAX_ARGS_BYTES);
}

/* Parse and canonicalise the arguments (@capped: held to
 * max_argument_bytes first; prompt gets check their own text before it is
 * wrapped into the parameters). */
int chio__parse_args(mreq *r, const char *json, size_t len, int capped, chio_error *err)
{
    chio_error perr;
    int rc;

    /* NULL means {} only with a length of 0: a length with no text is a
     * host's bug (a lost buffer), never a call without arguments. */
    if (json == NULL && len != 0)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "arguments: NULL text with a length of %zu bytes", len);
    if (json == NULL) {
        json = "{}";
        len = 2;
    }
    rc = capped ? chio__over_cap(r, json, len) : 0;
    if (rc != 0)
        return rc > 0 ? 0 : chio__fail(err, CHIO_ECRYPTO, CHIO_NO_OFFSET, "hashing the arguments");
    chio_error_init(&perr);
    rc = chio_json_parse(json, len, &r->args_doc, &perr);
    if (rc != 0)
        return parse_error(r, rc, &perr, err);
    if (chio__each_string(chio_json_root(r->args_doc), has_nul, NULL))
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "arguments: a string contains a NUL character");
    rc = chio_json_write_canonical(chio_json_root(r->args_doc), &r->args, &r->args_len);
    if (rc != 0)
        return chio__fail(err, rc, CHIO_NO_OFFSET, "out of memory");
    /* The receipt holds the arguments two levels down and must stay within
     * what chio_receipt_parse() and chio read back (depth and size).
     * Arguments that do not fit are denied, with a receipt holding a
     * summary and their hash (chio__pre_checks(), chio__mreq_fields()). */
    if (chio__json_depth(chio_json_root(r->args_doc)) + CHIO__RECEIPT_PARAMS_DEPTH >
        CHIO__RECEIPT_MAX_DEPTH)
        too_deep(r);
    else if (r->args_len > CHIO__MAX_ARGS_BYTES)
        too_large(r);
    return 0;
}

/*
 * A prompt get's or resource read's parameters ({"arguments":..,"name":..}
 * or {"uri":..}, canonical, @len bytes; @text is taken) that a receipt
 * cannot store and that were not parsed: one level deeper than the prompt
 * arguments @raw (which parsed at 128 levels, so the parameters did not),
 * or over CHIO__MAX_ARGS_BYTES (a canonical form longer than the text, or
 * a URI that long). Denied arguments_rejected with a summary, as such a
 * tool call's arguments are, unless @raw (NULL for a URI) holds a NUL (an
 * error with no receipt, as for a tool call).
 */
int chio__params_unrecordable(mreq *r, char *text, size_t len, int deep, const char *raw,
                              size_t raw_len, chio_error *err)
{
    chio_json_doc *doc = NULL;
    chio_error perr;
    int rc, nul;

    chio_error_init(&perr);
    rc = raw != NULL ? chio_json_parse(raw, raw_len, &doc, &perr) : 0;
    if (rc != 0) {
        free(text);
        return parse_error(r, rc, &perr, err);
    }
    nul = doc != NULL && chio__each_string(chio_json_root(doc), has_nul, NULL);
    chio_json_doc_free(doc);
    if (nul) {
        free(text);
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "arguments: a string contains a NUL character");
    }
    r->args = text;
    r->args_len = len;
    if (deep)
        too_deep(r);
    else
        too_large(r);
    return 0;
}

/* The monotonic deadline @timeout_ms from now, 0 for none. A timeout too
 * long to count in nanoseconds never passes: it must not wrap around to a
 * deadline already behind us (the call would be cancelled at once). */
uint64_t chio__deadline_ns(uint64_t timeout_ms)
{
    uint64_t now;

    if (timeout_ms == 0)
        return 0;
    now = chio__mono_ns();
    if (timeout_ms > (UINT64_MAX - now) / 1000000u)
        return UINT64_MAX;
    return now + timeout_ms * 1000000u;
}

void chio__deny(mreq *r, chio_code code, const char *guard)
{
    r->verdict = CHIO_VERDICT_DENY;
    r->code = code;
    r->deny_guard = guard ? guard : chio_code_name(code);
}

/* Admission's first half: the kernel (drained, require_web3_evidence,
 * failed closed) and the session (unknown, closed, draining). On 0 the
 * request holds both. */
static int admit_serving(mreq *r, const char *session_id, chio_error *err)
{
    chio_kernel *k = r->k;
    int rc = chio__kernel_enter(k);

    if (rc != 0)
        return chio__fail(err, rc, CHIO_NO_OFFSET, "%s", chio__kernel_enter_refusal(rc));
    r->in_kernel = 1;
    if (k->require_web3_evidence && (k->store_path == NULL || k->checkpoint_batch_size == 0))
        return chio__fail(err, CHIO_EWEB3, CHIO_NO_OFFSET,
                          "require_web3_evidence is set but the kernel has %s",
                          k->store_path == NULL ? "no durable receipt store"
                                                : "checkpoints disabled (checkpoint_batch_size 0)");
    rc = chio__kernel_ensure_started(k, err);
    if (rc != 0)
        return rc;
    chio__kernel_check_key_memory(k);
    if (__atomic_load_n(&k->failed, __ATOMIC_SEQ_CST))
        return chio__fail(err, CHIO_EFAILED, CHIO_NO_OFFSET,
                          "kernel failed closed after a receipt store error");
    r->s = chio__session_find(k, session_id); /* a reference: chio__mreq_destroy drops it */
    if (r->s == NULL && chio__session_recently_closed(k, session_id))
        return chio__fail(err, CHIO_ESESSION_CLOSED, CHIO_NO_OFFSET,
                          "session '%.64s' is closed; no new calls", session_id);
    if (r->s == NULL && chio__secret_named(k, session_id))
        return chio__fail(err, CHIO_ENOSESSION, CHIO_NO_OFFSET,
                          "unknown session (its id is not quoted: a secret_leak guard flags it)");
    if (r->s == NULL)
        return chio__fail(err, CHIO_ENOSESSION, CHIO_NO_OFFSET, "unknown session '%.64s'",
                          session_id ? session_id : "(null)");
    rc = chio__session_enter(r->s);
    if (rc != 0)
        return chio__fail(err, rc, CHIO_NO_OFFSET, "session '%s' is %s; no new calls", r->s->id,
                          rc == CHIO_ESESSION_CLOSED ? "closed" : "draining");
    r->in_session = 1;
    return 0;
}

/* Admission's second half: the ids. Only what cannot be written into a
 * receipt is an error (invalid arguments); an empty or over-long id is
 * marked invalid_request (a deny receipt, chio__pre_checks()). */
static int admit_ids(mreq *r, const char *capability_id, const char *request_id, chio_error *err)
{
    char uuid[37];
    int rc;

    if (request_id != NULL && !chio__utf8_valid(request_id, strlen(request_id)))
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "request id must be UTF-8");
    if (capability_id == NULL) /* left out: say so, not "must be UTF-8" */
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "capability id is NULL: a call names one of the session's tokens");
    if (!chio__utf8_valid(capability_id, strlen(capability_id)))
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "capability id must be UTF-8");
    if (request_id != NULL && request_id[0] == '\0') {
        r->invalid_request = "the request id is empty (the receipt carries a fresh one)";
        request_id = NULL;
    }
    if ((request_id != NULL && (rc = chio__bound_id(r, "request id", &request_id, err)) != 0) ||
        (rc = chio__bound_id(r, "capability id", &capability_id, err)) != 0)
        return rc;
    if (request_id == NULL) {
        if (chio__uuid_v7(uuid) != 0)
            return chio__fail(err, CHIO_ECRYPTO, CHIO_NO_OFFSET, "no randomness");
        request_id = uuid;
    }
    r->request_id = strdup(request_id);
    if (r->request_id == NULL)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    /* An id the session does not hold is denied with a receipt
     * (unknown_capability, chio__pre_checks()), never a silent probe. */
    r->sc = chio__session_find_cap(r->s, capability_id);
    r->cap_id = r->sc != NULL ? chio_capability_id(r->sc->cap) : capability_id;
    return 0;
}

/* A call the kernel or its session refused still names its request in
 * its span (gen_ai.tool.call.id): the caller's id when it is a bounded
 * UTF-8 string, else a fresh one. Best effort: no id on no memory. */
static void refused_request_id(mreq *r, const char *request_id)
{
    char uuid[37];

    if (r->request_id != NULL)
        return;
    if (request_id == NULL || request_id[0] == '\0' || strlen(request_id) > MAX_ID_BYTES ||
        !chio__utf8_valid(request_id, strlen(request_id))) {
        if (chio__uuid_v7(uuid) != 0)
            return;
        request_id = uuid;
    }
    r->request_id = strdup(request_id);
}

/*
 * Admission: everything that ends in an error without a receipt. The
 * kernel and the session answer first, invalid ids after them
 * (docs/spec-reading.md: a call to a kernel or session that does not
 * serve hears that, whatever its arguments). On 0 the request holds the
 * kernel and the session; chio__mreq_destroy releases them.
 */
int chio__admit(mreq *r, const char *session_id, const char *capability_id, const char *request_id,
                chio_error *err)
{
    chio_kernel *k = r->k;
    /* Read before this call enters the kernel (it counts itself then). */
    unsigned depth = chio__kernel_depth(k), thread_depth = chio__thread_depth();
    int rc = admit_serving(r, session_id, err);

    if (rc != 0) {
        refused_request_id(r, request_id);
        return rc;
    }
    rc = admit_ids(r, capability_id, request_id, err);
    if (rc != 0)
        return rc;
    if (r->invalid_request == NULL && depth >= CHIO__MAX_CALL_DEPTH)
        r->invalid_request = "calls on this kernel nest more than " CHIO__MAX_CALL_DEPTH_TEXT
                             " deep on this thread (a tool or nested handler calling back in)";
    if (r->invalid_request == NULL && thread_depth >= CHIO__MAX_THREAD_DEPTH)
        r->invalid_request = "calls on this thread nest more than " CHIO__MAX_THREAD_DEPTH_TEXT
                             " deep through all kernels (a tool or nested handler calling back in)";
    r->now = chio__kernel_now(k);
    return 0;
}

/* Refusals of a well-formed call before checks 1-9, each a deny receipt.
 * Returns 1 when the call is denied. */
int chio__pre_checks(mreq *r)
{
    if (r->invalid_request != NULL) {
        snprintf(r->reason, sizeof(r->reason), "invalid request: %s", r->invalid_request);
        chio__deny(r, CHIO_CODE_INVALID_REQUEST, NULL);
    } else if (r->sc == NULL) {
        snprintf(r->reason, sizeof(r->reason), "session '%s' holds no capability '%.100s'",
                 r->s->id, r->cap_id);
        chio__deny(r, CHIO_CODE_UNKNOWN_CAPABILITY, NULL);
    } else if (r->unrecordable[0] != '\0') {
        snprintf(r->reason, sizeof(r->reason), "arguments rejected: %s", r->unrecordable);
        chio__deny(r, CHIO_CODE_ARGUMENTS_REJECTED, NULL);
    } else {
        return 0;
    }
    return 1;
}

static int add_evidence(mreq *r, const char *name, int passed, const char *details)
{
    evidence *e = realloc(r->ev, (r->nev + 1) * sizeof(*e));

    if (e == NULL)
        return CHIO_ENOMEM;
    r->ev = e;
    e = &r->ev[r->nev];
    e->name = strdup(name);
    e->passed = passed;
    e->details = details && details[0] ? strdup(details) : NULL;
    if (e->name == NULL || (details && details[0] && e->details == NULL)) {
        free(e->name);
        free(e->details);
        return CHIO_ENOMEM;
    }
    if (e->details != NULL)
        chio__utf8_repair(e->details);
    r->nev++;
    return 0;
}

/* A host guard's details go into the receipt (evidence, and the reason
 * when it denies): like a tool's error message, text a secret_leak guard
 * flags (a guard quoting the arguments) is withheld, as the value is
 * redacted from the stored parameters. The built-in guards quote no
 * flagged text themselves. */
/* How much of a guard's details a deny reason quotes. */
#define REASON_DETAILS 380

/* 1 when a secret_leak guard flags the first @n bytes of @details (the
 * scanner's reading of a string, as for an argument; out of memory counts
 * as flagged). */
static int details_flagged(chio_kernel *k, const char *details, size_t n)
{
    size_t gi, pi;

    return n > 0 &&
           chio__secret_scan(k->med.guards, k->med.nguards, details, n, NULL, &gi, &pi) != 0;
}

/* Every text of @details the receipt may keep is scanned: the whole, and
 * the part a deny reason quotes. Called before the cut to DETAILS_CAP and
 * after it: a pattern anchored at the end ("...$") can match the kept
 * part and not the whole (review 47). */
static void host_details(chio_kernel *k, char *details, size_t cap)
{
    size_t n = strlen(details);

    if (details_flagged(k, details, n) ||
        (n > REASON_DETAILS && details_flagged(k, details, REASON_DETAILS)))
        snprintf(details, cap, "[details withheld: a secret_leak guard flagged them]");
}

/* Check 9: guards in registration order; the first deny stops them. */
int chio__run_guards(mreq *r, const char *server, const char *tool, chio_error *err)
{
    chio_kernel *k = r->k;
    chio_guard_input in;
    size_t i;

    memset(&in, 0, sizeof(in));
    in.session_id = r->s->id;
    in.request_id = r->request_id;
    in.agent_id = r->s->agent;
    in.capability_id = chio_capability_id(r->sc->cap);
    in.server_id = server;
    in.tool_name = tool;
    in.arguments_json = r->args;
    in.arguments_len = r->args_len;
    for (i = 0; i < k->med.nguards; i++) {
        const chio__guard_reg *g = &k->med.guards[i];
        chio_guard_verdict v = CHIO_GUARD_DENY;
        char details[GUARD_SCRATCH];
        int rc;

        details[0] = '\0';
        rc = g->fn(g->builtin ? (void *)g : g->user, &in, &v, details, sizeof(details));
        details[sizeof(details) - 1] = '\0';
        if (rc != 0) {
            v = CHIO_GUARD_DENY; /* a failing guard denies */
            snprintf(details, sizeof(details), "guard failed with code %d", rc);
        } else if (v != CHIO_GUARD_PASS && v != CHIO_GUARD_DENY) {
            /* a verdict that is neither denies, and says so (review 12:
             * the receipt told a broken guard from a policy deny by
             * nothing) */
            snprintf(details, sizeof(details), "guard returned an invalid verdict %d", (int)v);
            v = CHIO_GUARD_DENY;
        } else if (!g->builtin) {
            host_details(k, details, sizeof(details)); /* whole, before the cut */
        }
        details[DETAILS_CAP - 1] = '\0';
        chio__utf8_repair(details); /* guards' text is not trusted to be UTF-8 */
        if (rc == 0 && !g->builtin)
            host_details(k, details, sizeof(details)); /* and what the receipt keeps */
        if (add_evidence(r, g->name, v == CHIO_GUARD_PASS, details) != 0)
            return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
        if (v != CHIO_GUARD_PASS) {
            snprintf(r->reason, sizeof(r->reason), "guard '%.100s' denied the call%s%.*s", g->name,
                     details[0] ? ": " : "", REASON_DETAILS, details);
            chio__deny(r, CHIO_CODE_GUARD_DENIED, g->name);
            return 0;
        }
    }
    return 0;
}
