/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/evaluate.c - the pipeline of spec/kernel.md for tool calls,
 * resource reads and prompt gets: admission (kernel, store, session,
 * token, arguments), checks 1-9, dispatch (plain or streamed, with nested
 * sampling/elicitation bridged through the tool context), and the receipt,
 * signed and committed before the caller hears the decision.
 *
 * Everything up to the receipt runs on the caller's thread. A request holds
 * the kernel (chio__kernel_enter: drain waits for it) and its session
 * (chio__session_enter: close waits for it) from admission until its
 * receipt is queued, so a call admitted before a drain still gets its
 * receipt, and a session's tokens outlive every call using them.
 *
 * Fail closed: a guard that errors denies; a receipt that cannot be
 * committed turns the answer into an error (never an allow without a
 * receipt); an allocation failure on the decision path errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel_internal.h"

#define REASON_CAP 512
/* Canonical arguments: the receipt around them (and its evidence) must
 * stay under CHIO_JSON_MAX_INPUT. */
#define MAX_ARGS_BYTES (CHIO_JSON_MAX_INPUT - ((size_t)1 << 20))
#define DETAILS_CAP    512
/* Ids and names (request, capability, server, tool) longer than this are
 * kept out of receipts (a marker with their length and hash instead) and
 * the call is denied as invalid_request: four of them stay far below the
 * 1 MiB a receipt keeps free beside the arguments. */
#define MAX_ID_BYTES ((size_t)64 * 1024)

/* ---- codes ------------------------------------------------------------------------------ */

const char *chio_code_name(chio_code code)
{
    static const char *const names[] = {
#define CHIO__CODE_STR(name, str) str,
        CHIO_CODE_MAP(CHIO__CODE_STR)
#undef CHIO__CODE_STR
    };

    if ((int)code < 0 || code >= CHIO_CODE__COUNT)
        return NULL;
    return names[code];
}

const char *chio_error_code_name(int rc)
{
    switch (rc) {
    case CHIO_ENOSESSION:
        return "unknown_session";
    case CHIO_ESESSION_DRAINING:
        return "session_draining";
    case CHIO_ESESSION_CLOSED:
        return "session_closed";
    case CHIO_EDRAINED:
        return "kernel_drained";
    case CHIO_EWEB3:
        return "web3_evidence_required";
    case CHIO_ENOCAP:
        return "unknown_capability";
    case CHIO_ESESSION_ACTIVE: /* chio_kernel_close_session() with calls in flight */
        return "session_active";
    case CHIO_EDEADLK: /* a wait from the thread it would wait for */
        return "would_deadlock";
    case CHIO_ESERVING: /* registration after serving began */
        return "kernel_serving";
    case CHIO_EDUPLICATE: /* a name registered twice */
        return "duplicate";
    case CHIO_ELIMIT: /* a configured bound (revocations) */
        return "limit_reached";
    case CHIO_ECANCELLED: /* tool context calls after cancellation */
        return "cancelled";
    case CHIO_EDENIED: /* a nested request the kernel refused */
        return "denied";
    case CHIO_ESTREAM_LIMIT: /* chio_tool_ctx_emit_chunk() past a stream limit */
        return "stream_limit";
    case CHIO_ENOTMINE: /* a provider passing on a name */
        return "not_handled";
    case CHIO_ESTORE:
    case CHIO_EFAILED:
    case CHIO_EBUSY:
    case CHIO_ECORRUPT:
        return "store_failure";
    case CHIO_EINVAL:
    case CHIO_EJSON_SYNTAX:
    case CHIO_EJSON_TRUNCATED:
    case CHIO_EJSON_UTF8:
    case CHIO_EJSON_SURROGATE:
    case CHIO_EJSON_DEPTH:
    case CHIO_EJSON_DUPKEY:
    case CHIO_EJSON_NULKEY:
    case CHIO_EJSON_NUMBER:
    case CHIO_EJSON_TRAILING:
    case CHIO_EJSON_CONTROL:
    case CHIO_ETOOBIG:
        return "invalid_arguments";
    default:
        return "internal_error";
    }
}

/* ---- errors without a receipt ------------------------------------------------------------ */

static const char *const unreceipted_names[] = {
#define CHIO__UNRECEIPTED_STR(name) #name,
    CHIO__UNRECEIPTED_MAP(CHIO__UNRECEIPTED_STR)
#undef CHIO__UNRECEIPTED_STR
};

/* Count an evaluation that ended in @rc with no receipt, by reason. */
static void count_unreceipted(chio_kernel *k, int rc)
{
    const char *name = chio_error_code_name(rc);
    size_t i;

    for (i = 0; i < CHIO__UNRECEIPTED_N; i++)
        if (strcmp(name, unreceipted_names[i]) == 0)
            break;
    if (i == CHIO__UNRECEIPTED_N)
        i = CHIO__UNRECEIPTED_N - 1; /* internal_error */
    /* Relaxed: a statistic. */
    __atomic_add_fetch(&k->m_unreceipted[i], 1, __ATOMIC_RELAXED);
}

uint64_t chio_kernel_unreceipted_errors(const chio_kernel *k, const char *reason)
{
    uint64_t sum = 0;
    size_t i;

    if (k == NULL)
        return 0;
    for (i = 0; i < CHIO__UNRECEIPTED_N; i++)
        if (reason == NULL || strcmp(reason, unreceipted_names[i]) == 0)
            sum += __atomic_load_n(&k->m_unreceipted[i], __ATOMIC_RELAXED);
    return sum;
}

const char *chio__unreceipted_name(size_t i)
{
    return i < CHIO__UNRECEIPTED_N ? unreceipted_names[i] : NULL;
}

/* ---- key memory ---------------------------------------------------------------------------- */

int chio__kernel_check_key_memory(chio_kernel *k)
{
    int dontdump = 0, lock_errno = 0;

    /* Relaxed exchange: only "exactly once" matters, nothing is published. */
    if (__atomic_exchange_n(&k->key_memory_checked, 1, __ATOMIC_RELAXED) != 0)
        return 0;
    if (chio_keypair_memory_locked(k->kp, &dontdump, &lock_errno) != 0)
        return 0;
    chio__log(k, CHIO_LOG_WARN, "key_memory_unlocked", strerror(lock_errno),
              "\"dontdump\":%s,\"errno\":%d,\"hint\":\"raise RLIMIT_MEMLOCK (ulimit -l); "
              "lock_key_memory = 1 makes this fatal\"",
              dontdump ? "true" : "false", lock_errno);
    return 1;
}

/* ---- outputs ------------------------------------------------------------------------------ */

struct chio_output {
    char *json; /* canonical */
    size_t len;
    int set;
    char err[256];
};

int chio_output_set_json(chio_output *out, const char *json, size_t len)
{
    char *canon;
    size_t clen;
    int rc;

    if (out == NULL || json == NULL)
        return CHIO_EINVAL;
    rc = chio_json_canonicalize(json, len, &canon, &clen, NULL);
    if (rc != 0) {
        snprintf(out->err, sizeof(out->err), "result is not valid JSON: %s", chio_strerror(rc));
        out->set = -1;
        return rc;
    }
    free(out->json);
    out->json = canon;
    out->len = clen;
    out->set = 1;
    return 0;
}

void chio_output_set_error(chio_output *out, const char *message)
{
    if (out == NULL)
        return;
    out->err[0] = '\0';
    if (message != NULL) {
        snprintf(out->err, sizeof(out->err), "%s", message);
        chio__utf8_repair(out->err); /* the cut may split a character */
    }
}

static void output_reset(chio_output *out)
{
    free(out->json);
    memset(out, 0, sizeof(*out));
}

/* ---- the request being mediated ----------------------------------------------------------- */

typedef struct evidence {
    char *name;
    int passed;
    char *details;
} evidence;

struct chio_tool_ctx {
    chio_kernel *k;
    struct mreq *r;
    /* stream state */
    int streaming;
    chio_buf chunks;
    size_t nchunks;
    uint64_t stream_bytes;
    int limit_hit, bad_chunk;
    char limit_reason[160];
    struct timespec t0;
    /* nested requests */
    chio_receipt **children;
    size_t nchildren;
    unsigned nested_seq;
};

typedef struct mreq {
    chio_kernel *k;
    chio__session *s;
    const chio__session_cap *sc;
    int in_kernel, in_session;
    char *request_id;
    const char *server; /* receipt tool_server */
    const char *tool;   /* receipt tool_name */
    char *args;         /* canonical parameters */
    size_t args_len;
    chio_json_doc *args_doc;
    uint64_t now;
    /* decision */
    chio_verdict verdict;
    chio_code code;
    char reason[REASON_CAP];
    const char *deny_guard; /* decision.guard on deny */
    evidence *ev;
    size_t nev;
    char *output; /* canonical tool output (allow / incomplete) */
    size_t output_len;
    chio_tool_ctx tctx;
    /* cancellation (chio_kernel_evaluate_ex) */
    const int *cancel;
    uint64_t deadline_ns; /* monotonic; 0 = none */
    uint64_t timeout_ms;
    chio__charge charge; /* the budget charge committed with the receipt */
    /* Well-formed calls the pipeline refuses before its checks; each still
     * gets a deny receipt (see pre_checks()). */
    const char *cap_id;          /* receipt capability_id: the token's, or as asked */
    const char *invalid_request; /* why the request itself is refused, or NULL */
    char unrecordable[160];      /* why the arguments cannot be stored verbatim, or "" */
    /* Arguments text over max_argument_bytes: never parsed; its length and
     * the SHA-256 of the raw text stand for it in the receipt. */
    int over_cap;
    size_t raw_len;
    char raw_hash[65];
    char *marks[4]; /* markers standing for over-long ids (bound_id()) */
    size_t nmarks;
} mreq;

static void mreq_init(mreq *r, chio_kernel *k)
{
    memset(r, 0, sizeof(*r));
    r->k = k;
    r->tctx.k = k;
    r->tctx.r = r;
    chio__buf_init(&r->tctx.chunks);
}

/* Release the session and the kernel (once). */
static void mreq_leave(mreq *r)
{
    if (r->in_session)
        chio__session_leave(r->s);
    r->in_session = 0;
    if (r->in_kernel)
        chio__kernel_leave(r->k);
    r->in_kernel = 0;
}

static void mreq_destroy(mreq *r)
{
    size_t i;

    mreq_leave(r);
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

/* An id or name over MAX_ID_BYTES: *s becomes a marker naming its length
 * and SHA-256, and the call is refused (invalid_request, with a receipt). */
static int bound_id(mreq *r, const char *what, const char **s, chio_error *err)
{
    size_t n = strlen(*s);
    char hash[65];

    if (n <= MAX_ID_BYTES)
        return 0;
    if (chio_sha256_hex(*s, n, hash) != 0 ||
        asprintf(&r->marks[r->nmarks], "[omitted %s: %zu bytes, sha256 %s]", what, n, hash) < 0)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    *s = r->marks[r->nmarks++];
    if (r->invalid_request == NULL)
        r->invalid_request = "an id or name is longer than 65536 bytes";
    return 0;
}

/* Strings with an embedded NUL (\u0000) are refused as arguments. */
static int has_nul(void *ctx, const char *key, const char *s, size_t n)
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
static int over_cap(mreq *r, const char *json, size_t len)
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

/* Parse and canonicalise the arguments (@capped: held to
 * max_argument_bytes first; prompt gets check their own text before it is
 * wrapped into the parameters). */
static int parse_args(mreq *r, const char *json, size_t len, int capped, chio_error *err)
{
    chio_error perr;
    int rc;

    if (json == NULL) {
        json = "{}";
        len = 2;
    }
    rc = capped ? over_cap(r, json, len) : 0;
    if (rc != 0)
        return rc > 0 ? 0 : chio__fail(err, CHIO_ECRYPTO, CHIO_NO_OFFSET, "hashing the arguments");
    chio_error_init(&perr);
    rc = chio_json_parse(json, len, &r->args_doc, &perr);
    if (rc != 0)
        return chio__fail(err, rc, perr.offset, "arguments: %s", perr.message);
    if (chio__each_string(chio_json_root(r->args_doc), has_nul, NULL))
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "arguments: a string contains a NUL character");
    rc = chio_json_write_canonical(chio_json_root(r->args_doc), &r->args, &r->args_len);
    if (rc != 0)
        return chio__fail(err, rc, CHIO_NO_OFFSET, "out of memory");
    /* The receipt holds the arguments two levels down and must stay within
     * what chio_receipt_parse() reads back (depth and size). Arguments that
     * do not fit are denied, with a receipt holding a summary and their
     * hash (pre_checks(), mreq_builder()). */
    if (chio__json_depth(chio_json_root(r->args_doc)) + CHIO__RECEIPT_PARAMS_DEPTH >
        CHIO_JSON_MAX_DEPTH)
        snprintf(r->unrecordable, sizeof(r->unrecordable),
                 "they nest more than %d levels (the receipt adds %d)",
                 CHIO_JSON_MAX_DEPTH - CHIO__RECEIPT_PARAMS_DEPTH, CHIO__RECEIPT_PARAMS_DEPTH);
    else if (r->args_len > MAX_ARGS_BYTES)
        snprintf(r->unrecordable, sizeof(r->unrecordable),
                 "they are %zu bytes; at most %zu fit in a receipt", r->args_len,
                 (size_t)MAX_ARGS_BYTES);
    return 0;
}

static void deny(mreq *r, chio_code code, const char *guard)
{
    r->verdict = CHIO_VERDICT_DENY;
    r->code = code;
    r->deny_guard = guard ? guard : chio_code_name(code);
}

/*
 * Admission: everything that ends in an error without a receipt. On 0 the
 * request holds the kernel and the session; mreq_destroy releases them.
 */
static int admit(mreq *r, const char *session_id, const char *capability_id, const char *request_id,
                 chio_error *err)
{
    chio_kernel *k = r->k;
    char uuid[37];
    int rc;

    /* Only what cannot be written into a receipt is refused here. */
    if (request_id != NULL && !chio__utf8_valid(request_id, strlen(request_id)))
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "request id must be UTF-8");
    if (capability_id == NULL || !chio__utf8_valid(capability_id, strlen(capability_id)))
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "capability id must be UTF-8");
    if (request_id != NULL && request_id[0] == '\0') {
        r->invalid_request = "the request id is empty (the receipt carries a fresh one)";
        request_id = NULL;
    }
    if ((request_id != NULL && (rc = bound_id(r, "request id", &request_id, err)) != 0) ||
        (rc = bound_id(r, "capability id", &capability_id, err)) != 0)
        return rc;
    if (request_id == NULL) {
        if (chio__uuid_v7(uuid) != 0)
            return chio__fail(err, CHIO_ECRYPTO, CHIO_NO_OFFSET, "no randomness");
        request_id = uuid;
    }
    r->request_id = strdup(request_id);
    if (r->request_id == NULL)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    rc = chio__kernel_enter(k);
    if (rc != 0)
        return chio__fail(err, rc, CHIO_NO_OFFSET, "kernel is draining or drained");
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
    r->s = chio__session_find(k, session_id); /* a reference: mreq_destroy drops it */
    if (r->s == NULL && chio__session_recently_closed(k, session_id))
        return chio__fail(err, CHIO_ESESSION_CLOSED, CHIO_NO_OFFSET,
                          "session '%.64s' is closed; no new calls", session_id);
    if (r->s == NULL)
        return chio__fail(err, CHIO_ENOSESSION, CHIO_NO_OFFSET, "unknown session '%.64s'",
                          session_id ? session_id : "(null)");
    rc = chio__session_enter(r->s);
    if (rc != 0)
        return chio__fail(err, rc, CHIO_NO_OFFSET, "session '%s' is %s; no new calls", r->s->id,
                          rc == CHIO_ESESSION_CLOSED ? "closed" : "draining");
    r->in_session = 1;
    /* An id the session does not hold is denied with a receipt
     * (unknown_capability, pre_checks()), never a silent probe. */
    r->sc = chio__session_find_cap(r->s, capability_id);
    r->cap_id = r->sc != NULL ? chio_capability_id(r->sc->cap) : capability_id;
    r->now = chio__kernel_now(k);
    return 0;
}

/* Refusals of a well-formed call before checks 1-9, each a deny receipt.
 * Returns 1 when the call is denied. */
static int pre_checks(mreq *r)
{
    if (r->invalid_request != NULL) {
        snprintf(r->reason, sizeof(r->reason), "invalid request: %s", r->invalid_request);
        deny(r, CHIO_CODE_INVALID_REQUEST, NULL);
    } else if (r->sc == NULL) {
        snprintf(r->reason, sizeof(r->reason), "session '%s' holds no capability '%.100s'",
                 r->s->id, r->cap_id);
        deny(r, CHIO_CODE_UNKNOWN_CAPABILITY, NULL);
    } else if (r->unrecordable[0] != '\0') {
        snprintf(r->reason, sizeof(r->reason), "arguments rejected: %s", r->unrecordable);
        deny(r, CHIO_CODE_ARGUMENTS_REJECTED, NULL);
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

/* Check 9: guards in registration order; the first deny stops them. */
static int run_guards(mreq *r, const char *server, const char *tool, chio_error *err)
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
        char details[DETAILS_CAP] = "";
        int rc = g->fn(g->builtin ? (void *)g : g->user, &in, &v, details, sizeof(details));

        details[sizeof(details) - 1] = '\0';
        chio__utf8_repair(details); /* guards' text is not trusted to be UTF-8 */
        if (rc != 0) {
            v = CHIO_GUARD_DENY; /* a failing guard denies */
            snprintf(details, sizeof(details), "guard failed with code %d", rc);
        }
        if (add_evidence(r, g->name, v == CHIO_GUARD_PASS, details) != 0)
            return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
        if (v != CHIO_GUARD_PASS) {
            snprintf(r->reason, sizeof(r->reason), "guard '%.100s' denied the call%s%.380s",
                     g->name, details[0] ? ": " : "", details);
            deny(r, CHIO_CODE_GUARD_DENIED, g->name);
            return 0;
        }
    }
    return 0;
}

/* ---- cancellation -------------------------------------------------------------------------- */

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int is_cancelled(const mreq *r)
{
    /* Relaxed: the host's flag orders nothing else; the call just ends. */
    if (r->cancel != NULL && __atomic_load_n(r->cancel, __ATOMIC_RELAXED) != 0)
        return 1;
    return r->deadline_ns != 0 && mono_ns() >= r->deadline_ns;
}

int chio_tool_ctx_cancelled(const chio_tool_ctx *c)
{
    return c != NULL && is_cancelled(c->r);
}

/* The decision becomes `cancelled`: no output, whatever the tool did. */
static void cancel_decision(mreq *r)
{
    int timed_out = !(r->cancel != NULL && __atomic_load_n(r->cancel, __ATOMIC_RELAXED) != 0);

    r->verdict = CHIO_VERDICT_CANCELLED;
    r->code = CHIO_CODE_CANCELLED;
    r->deny_guard = NULL;
    if (timed_out)
        snprintf(r->reason, sizeof(r->reason), "cancelled: the call's %llu ms timeout passed",
                 (unsigned long long)r->timeout_ms);
    else
        snprintf(r->reason, sizeof(r->reason), "cancelled by the host");
    free(r->output);
    r->output = NULL;
    r->output_len = 0;
}

/* ---- streams -------------------------------------------------------------------------------- */

static uint64_t elapsed_ms(const struct timespec *t0)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)(now.tv_sec - t0->tv_sec) * 1000u +
           (uint64_t)((now.tv_nsec - t0->tv_nsec) / 1000000);
}

static int over_duration(chio_tool_ctx *c)
{
    uint64_t limit = c->k->max_stream_duration_secs;

    if (limit == 0 || elapsed_ms(&c->t0) <= limit * 1000u)
        return 0;
    snprintf(c->limit_reason, sizeof(c->limit_reason),
             "stream exceeded max_stream_duration_secs (%llu); output truncated",
             (unsigned long long)limit);
    c->limit_hit = 1;
    return 1;
}

int chio_tool_ctx_emit_chunk(chio_tool_ctx *c, const char *json, size_t len)
{
    char *canon;
    size_t clen;
    int rc;

    if (c == NULL || !c->streaming)
        return CHIO_EINVAL;
    if (is_cancelled(c->r))
        return CHIO_ECANCELLED;
    if (c->limit_hit || over_duration(c))
        return CHIO_ESTREAM_LIMIT;
    if (json == NULL)
        return CHIO_EINVAL;
    rc = chio_json_canonicalize(json, len, &canon, &clen, NULL);
    if (rc != 0) {
        c->bad_chunk = rc;
        return rc;
    }
    if (c->stream_bytes + clen > c->k->max_stream_total_bytes) {
        snprintf(c->limit_reason, sizeof(c->limit_reason),
                 "stream exceeded max_stream_total_bytes (%llu); output truncated",
                 (unsigned long long)c->k->max_stream_total_bytes);
        c->limit_hit = 1;
        free(canon);
        return CHIO_ESTREAM_LIMIT;
    }
    if (c->nchunks > 0)
        chio__buf_putc(&c->chunks, ',');
    chio__buf_append(&c->chunks, canon, clen);
    free(canon);
    if (c->chunks.oom) {
        c->bad_chunk = CHIO_ENOMEM;
        return CHIO_ENOMEM;
    }
    c->stream_bytes += clen;
    c->nchunks++;
    return 0;
}

const char *chio_tool_ctx_session_id(const chio_tool_ctx *c)
{
    return c ? c->r->s->id : NULL;
}

const char *chio_tool_ctx_request_id(const chio_tool_ctx *c)
{
    return c ? c->r->request_id : NULL;
}

/* ---- receipts ----------------------------------------------------------------------------------
 */

typedef struct receipt_spec {
    const char *capability_id, *server, *tool;
    const char *params; /* canonical text; or: */
    size_t params_len;
    const chio_json *params_v; /* parsed parameters (then params is their canonical text) */
    chio_json_doc *params_doc; /* or: parsed parameters handed to the receipt (taken) */
    const char *output;        /* NULL: no output */
    size_t output_len;
    chio_verdict verdict;
    const char *reason, *guard;
    const evidence *ev;
    size_t nev;
    const char *request_id, *session_id, *parent_request_id;
    uint64_t now;
    /* The stored parameters are a redacted copy or a summary: the original's
     * hash is bound in metadata.redaction. NULL orig_hash = verbatim. */
    chio_redaction_mode redaction;
    const char *orig_hash, *red_guard, *red_reason;
    uint64_t red_count;
} receipt_spec;

static int build_receipt(const receipt_spec *sp, chio_receipt_builder **out, chio_error *err)
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
static int has_secret_guard(const chio_kernel *k)
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
    } else if (args != NULL && r->verdict != CHIO_VERDICT_ALLOW && has_secret_guard(r->k)) {
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

static int mreq_builder(mreq *r, chio_receipt_builder **out, chio_error *err)
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
        rc = build_receipt(&sp, out, err);
    free(owned);
    free(r->args);
    r->args = NULL;
    r->args_len = 0;
    return rc;
}

/* Move the decision into @resp (receipt added by the caller). */
static int fill_response(mreq *r, chio_response *resp)
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

/* ---- nested flows ---------------------------------------------------------------------------- */

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
    if (!has_secret_guard(k))
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
    sp->redaction = CHIO_REDACTION_REDACTED;
    sp->orig_hash = hash;
    sp->red_guard = guard;
    sp->red_count = n;
    return 0;
}

static int nested(chio_tool_ctx *c, chio_nested_kind kind, const char *json, size_t len,
                  char **reply, size_t *reply_len, chio_error *err)
{
    chio_kernel *k;
    mreq *r;
    receipt_spec sp;
    chio_receipt_builder *b;
    chio_receipt *rec = NULL, **grown;
    chio_output out;
    char *req = NULL, *redacted = NULL, child_id[200], reason[160] = "", req_hash[65];
    size_t req_len;
    chio_code refused = CHIO_CODE_NONE;
    int rc, host_rc = 0;

    if (reply != NULL)
        *reply = NULL;
    if (c == NULL || reply == NULL || json == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL context, request or reply");
    k = c->k;
    r = c->r;
    rc = chio_json_canonicalize(json, len, &req, &req_len, err);
    if (rc != 0)
        return rc;
    if (kind == CHIO_NESTED_ELICITATION) {
        if (!k->allow_elicitation)
            refused = CHIO_CODE_ELICITATION_NOT_ALLOWED;
    } else if (!k->allow_sampling) {
        refused = CHIO_CODE_SAMPLING_NOT_ALLOWED;
    } else if (kind == CHIO_NESTED_SAMPLING_WITH_TOOLS && !k->allow_sampling_tool_use) {
        refused = CHIO_CODE_SAMPLING_TOOL_USE_NOT_ALLOWED;
    }
    memset(&out, 0, sizeof(out));
    if (refused != CHIO_CODE_NONE) {
        snprintf(reason, sizeof(reason), "%s is not allowed by the kernel configuration (%s)",
                 kind == CHIO_NESTED_ELICITATION ? "elicitation" : "sampling",
                 refused == CHIO_CODE_ELICITATION_NOT_ALLOWED ? "allow_elicitation"
                 : refused == CHIO_CODE_SAMPLING_NOT_ALLOWED  ? "allow_sampling"
                                                              : "allow_sampling_tool_use");
    } else if (k->med.nested_fn != NULL) {
        host_rc = k->med.nested_fn(k->med.nested_user, kind, r->s->id, req, req_len, &out);
        if (host_rc != 0 || out.set < 0) {
            snprintf(reason, sizeof(reason), "the host could not answer the %s request%s%.100s",
                     kind == CHIO_NESTED_ELICITATION ? "elicitation" : "sampling",
                     out.err[0] ? ": " : "", out.err);
            refused = CHIO_CODE_TOOL_ERROR;
        }
    }
    snprintf(child_id, sizeof(child_id), "%.150s/nested-%u", r->request_id, ++c->nested_seq);
    chio__utf8_repair(child_id);
    chio__utf8_repair(reason);
    memset(&sp, 0, sizeof(sp));
    sp.capability_id = r->cap_id;
    sp.server = r->server;
    sp.tool = kind == CHIO_NESTED_ELICITATION ? "elicitation/create" : "sampling/createMessage";
    sp.params = req;
    sp.params_len = req_len;
    sp.output = refused == CHIO_CODE_NONE ? (out.set > 0 ? out.json : "null") : NULL;
    sp.output_len = refused == CHIO_CODE_NONE ? (out.set > 0 ? out.len : 4) : 0;
    sp.verdict = refused == CHIO_CODE_NONE ? CHIO_VERDICT_ALLOW : CHIO_VERDICT_DENY;
    sp.reason = reason;
    sp.guard = chio_code_name(refused);
    sp.request_id = child_id;
    sp.session_id = r->s->id;
    sp.parent_request_id = r->request_id;
    sp.now = chio__kernel_now(k);
    rc = redact_nested(k, &sp, req, req_len, req_hash, &redacted, err);
    if (rc == 0)
        rc = build_receipt(&sp, &b, err);
    if (rc == 0)
        rc = chio__kernel_sign_entered(k, b, NULL, &rec, err);
    free(redacted);
    free(req);
    if (rc != 0) {
        output_reset(&out);
        return rc;
    }
    grown = realloc(c->children, (c->nchildren + 1) * sizeof(*grown));
    if (grown == NULL) {
        chio_receipt_free(rec);
        output_reset(&out);
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
    c->children = grown;
    c->children[c->nchildren++] = rec;
    if (refused == CHIO_CODE_TOOL_ERROR) {
        output_reset(&out);
        return chio__fail(err, CHIO_EFAILED, CHIO_NO_OFFSET, "%s", reason);
    }
    if (refused != CHIO_CODE_NONE)
        return chio__fail(err, CHIO_EDENIED, CHIO_NO_OFFSET, "%s", reason);
    if (out.set > 0) {
        *reply = out.json;
        *reply_len = out.len;
        out.json = NULL;
    } else {
        *reply = strdup("null");
        *reply_len = 4;
        if (*reply == NULL)
            return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
    output_reset(&out);
    return 0;
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

/* ---- tool calls ------------------------------------------------------------------------------ */

/* Check 10 and 11: run the tool; sets the verdict, the output and the code. */
static int dispatch(mreq *r, const chio__server_reg *srv, chio_error *err)
{
    chio_tool_ctx *c = &r->tctx;
    chio_output out;
    int trc;

    memset(&out, 0, sizeof(out));
    if (srv->s.invoke_stream != NULL) {
        c->streaming = 1;
        clock_gettime(CLOCK_MONOTONIC, &c->t0);
        trc = srv->s.invoke_stream(srv->s.user, c, r->tool, r->args, r->args_len, &out);
        if (!c->limit_hit)
            over_duration(c);
        if (c->limit_hit) {
            chio__buf_putc(&c->chunks, ']');
            r->verdict = CHIO_VERDICT_INCOMPLETE;
            r->code = CHIO_CODE_STREAM_LIMIT;
            snprintf(r->reason, sizeof(r->reason), "%s", c->limit_reason);
        } else if (trc != 0 || c->bad_chunk) {
            snprintf(r->reason, sizeof(r->reason), "tool '%s' failed%s%s", r->tool,
                     out.err[0] ? ": " : "",
                     out.err[0] ? out.err : (c->bad_chunk ? ": it emitted an invalid chunk" : ""));
            deny(r, CHIO_CODE_TOOL_ERROR, NULL);
        } else {
            chio__buf_putc(&c->chunks, ']');
            r->verdict = CHIO_VERDICT_ALLOW;
        }
        if (r->verdict != CHIO_VERDICT_DENY) {
            /* "[" + chunks + "]" */
            size_t n = c->chunks.len;
            r->output = malloc(n + 2);
            if (r->output == NULL || c->chunks.oom) {
                output_reset(&out);
                return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
            }
            r->output[0] = '[';
            memcpy(r->output + 1, c->chunks.data, n);
            r->output[n + 1] = '\0';
            r->output_len = n + 1;
        }
        output_reset(&out);
        return 0;
    }
    trc = srv->s.invoke(srv->s.user, c, r->tool, r->args, r->args_len, &out);
    if (trc != 0 || out.set < 0) {
        snprintf(r->reason, sizeof(r->reason), "tool '%s' failed%s%s", r->tool,
                 out.err[0] ? ": " : "", out.err);
        deny(r, CHIO_CODE_TOOL_ERROR, NULL);
    } else {
        r->verdict = CHIO_VERDICT_ALLOW;
        if (out.set > 0) {
            r->output = out.json;
            r->output_len = out.len;
            out.json = NULL;
        } else {
            r->output = strdup("null");
            r->output_len = 4;
            if (r->output == NULL)
                return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
        }
    }
    output_reset(&out);
    return 0;
}

/* Checks 1-10 of a tool call, after admission. */
static int decide_tool(mreq *r, const chio_call *call, chio_error *err)
{
    chio_kernel *k = r->k;
    const chio__server_reg *srv;
    uint32_t grant = 0;
    chio_code code;
    int rc;

    if (pre_checks(r))
        return 0;
    code = chio__check_token(k, r->sc, r->s->agent, r->now, r->reason, sizeof(r->reason));
    if (code == CHIO_CODE_NONE)
        code = chio__check_tool_scope(k, r->sc->cap, call->server_id, call->tool_name,
                                      chio_json_root(r->args_doc), r->args_len, &grant, r->reason,
                                      sizeof(r->reason));
    if (code != CHIO_CODE_NONE) {
        deny(r, code, NULL);
        return 0;
    }
    srv = chio__find_server(k, call->server_id);
    if (srv == NULL || !chio__server_has_tool(srv, call->tool_name)) {
        snprintf(r->reason, sizeof(r->reason), "%s '%.100s' is not registered",
                 srv == NULL ? "tool server" : "tool",
                 srv == NULL ? call->server_id : call->tool_name);
        deny(r, CHIO_CODE_TOOL_NOT_REGISTERED, NULL);
        return 0;
    }
    code = chio__check_budget(k, r->sc->cap, grant, &r->charge, r->reason, sizeof(r->reason));
    if (code != CHIO_CODE_NONE) {
        deny(r, code, NULL);
        return 0;
    }
    if (run_guards(r, call->server_id, call->tool_name, err) != 0)
        return err ? err->code : CHIO_ENOMEM;
    if (r->verdict == CHIO_VERDICT_DENY)
        return 0;
    if (is_cancelled(r)) { /* not dispatched */
        cancel_decision(r);
        return 0;
    }
    /* A kernel that already knows its store cannot commit never runs a
     * tool (the answer would be an error after the tool's side effects). */
    if (__atomic_load_n(&k->failed, __ATOMIC_SEQ_CST))
        return chio__fail(err, CHIO_EFAILED, CHIO_NO_OFFSET,
                          "kernel failed closed after a receipt store error; tool not run");
    rc = dispatch(r, srv, err);
    if (rc == 0 && is_cancelled(r))
        cancel_decision(r);
    return rc;
}

/* Admission, argument parsing and the decision of a tool call. */
static int prepare_tool(mreq *r, const chio_call *call, chio_error *err)
{
    int rc;

    if (call == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL call");
    if (call->server_id == NULL || call->tool_name == NULL ||
        !chio__utf8_valid(call->server_id, strlen(call->server_id)) ||
        !chio__utf8_valid(call->tool_name, strlen(call->tool_name)))
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "server id and tool name must be UTF-8 strings");
    rc = admit(r, call->session_id, call->capability_id, call->request_id, err);
    if (rc == 0)
        rc = parse_args(r, call->arguments_json, call->arguments_len, 1, err);
    if (rc != 0)
        return rc;
    r->server = call->server_id;
    r->tool = call->tool_name;
    if ((rc = bound_id(r, "server id", &r->server, err)) != 0 ||
        (rc = bound_id(r, "tool name", &r->tool, err)) != 0)
        return rc;
    if (r->invalid_request == NULL && (r->server[0] == '\0' || r->tool[0] == '\0'))
        r->invalid_request = "the server id or the tool name is empty";
    return decide_tool(r, call, err);
}

static void log_decision(mreq *r)
{
    chio__log(r->k, r->verdict == CHIO_VERDICT_ALLOW ? CHIO_LOG_DEBUG : CHIO_LOG_INFO, "decision",
              NULL, "\"verdict\":\"%s\",\"code\":\"%s\"", chio_verdict_name(r->verdict),
              chio_code_name(r->code));
}

/* Sign synchronously and answer. */
static int finish_sync(mreq *r, chio_response *resp, chio_error *err)
{
    chio_receipt_builder *b;
    chio_receipt *rec = NULL;
    int rc = mreq_builder(r, &b, err);

    if (rc == 0)
        rc = chio__kernel_sign_entered(r->k, b, &r->charge, &rec, err);
    mreq_leave(r);
    if (rc != 0)
        return rc; /* no receipt: an error, never a decision */
    log_decision(r);
    if (fill_response(r, resp) != 0) {
        chio_receipt_free(rec);
        chio_response_destroy(resp);
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
    resp->receipt = rec;
    return 0;
}

#ifdef CHIO_OTEL
/* One span per evaluation (otel.c); @resp is read only when @rc is 0.
 * Session strings live as long as the kernel (sessions are never freed
 * while serving), so they may be read after the call returned. */
static void otel_report(chio_kernel *k, uint64_t start, const chio__session *s, const char *tool,
                        const char *server, const char *cap_id, const char *request_id, int rc,
                        const chio_response *resp)
{
    chio__otel_call c;

    memset(&c, 0, sizeof(c));
    c.start_unix_nano = start;
    c.tool = tool;
    c.server = server;
    c.request_id = rc == 0 && resp->request_id ? resp->request_id : request_id;
    c.session_id = s ? s->id : NULL;
    c.agent_id = s ? s->agent : NULL;
    c.capability_id = cap_id;
    c.receipt_id = rc == 0 && resp->receipt ? chio_receipt_id(resp->receipt) : NULL;
    c.verdict = rc == 0 ? chio_verdict_name(resp->verdict) : "error";
    c.code = rc == 0 ? chio_code_name(resp->code) : chio_error_code_name(rc);
    chio__otel_emit(k, &c);
}
#endif

int chio_kernel_evaluate(chio_kernel *k, const chio_call *call, chio_response *resp,
                         chio_error *err)
{
    return chio_kernel_evaluate_ex(k, call, NULL, resp, err);
}

int chio_kernel_evaluate_ex(chio_kernel *k, const chio_call *call, const chio_call_options *opts,
                            chio_response *resp, chio_error *err)
{
    mreq r;
    int rc;
#ifdef CHIO_OTEL
    uint64_t start = chio__otel_now_ns();
#endif

    if (k == NULL || resp == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL kernel or response");
    memset(resp, 0, sizeof(*resp));
    if ((rc = chio__kernel_refuse_reentry(k, err)) != 0) /* from a callback (kernel.h) */
        return rc;
    mreq_init(&r, k);
    if (opts != NULL) {
        r.cancel = opts->cancel;
        r.timeout_ms = opts->timeout_ms;
        if (opts->timeout_ms != 0)
            r.deadline_ns = mono_ns() + opts->timeout_ms * 1000000u;
    }
    rc = prepare_tool(&r, call, err);
    if (rc == 0)
        rc = finish_sync(&r, resp, err);
    if (rc != 0)
        count_unreceipted(k, rc);
#ifdef CHIO_OTEL
    if (call != NULL)
        otel_report(k, start, r.s, call->tool_name, call->server_id, call->capability_id,
                    r.request_id ? r.request_id : call->request_id, rc, resp);
#endif
    mreq_destroy(&r);
    return rc;
}

typedef struct async_eval {
    chio_evaluate_cb cb;
    void *ctx;
    chio_response resp;
    chio_kernel *k;
#ifdef CHIO_OTEL
    uint64_t start;
    const chio__session *s;
    char *tool, *server, *cap_id; /* copies: the caller's strings are gone */
#endif
} async_eval;

static void async_free(async_eval *a)
{
#ifdef CHIO_OTEL
    chio__session_put((chio__session *)a->s);
    free(a->tool);
    free(a->server);
    free(a->cap_id);
#endif
    free(a);
}

static void async_done(void *ctx, int rc, chio_receipt *receipt)
{
    async_eval *a = ctx;
    chio_error err;

    chio_error_init(&err);
    if (rc != 0) {
        count_unreceipted(a->k, rc);
        chio_response_destroy(&a->resp);
        chio__fail(&err, rc, CHIO_NO_OFFSET, "receipt not committed: %s", chio_strerror(rc));
    } else {
        a->resp.receipt = receipt;
    }
#ifdef CHIO_OTEL
    otel_report(a->k, a->start, a->s, a->tool, a->server, a->cap_id, NULL, rc, &a->resp);
#endif
    a->cb(a->ctx, rc, &a->resp, &err);
    chio_response_destroy(&a->resp);
    async_free(a);
}

int chio_kernel_evaluate_async(chio_kernel *k, const chio_call *call, chio_evaluate_cb cb,
                               void *ctx, chio_error *err)
{
    chio_receipt_builder *b = NULL;
    async_eval *a;
    mreq r;
    int rc;

    if (k == NULL || cb == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL kernel or callback");
    /* From a callback: the receipt's credit before the dispatch (kernel.h). */
    if (chio__kernel_on_completer(k) && (rc = chio__kernel_credit_reserve(k, err)) != 0)
        return rc;
    a = calloc(1, sizeof(*a));
    if (a == NULL) {
        chio__kernel_credit_unreserve(k);
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
    a->cb = cb;
    a->ctx = ctx;
    a->k = k;
#ifdef CHIO_OTEL
    a->start = chio__otel_now_ns();
#endif
    mreq_init(&r, k);
    rc = prepare_tool(&r, call, err);
#ifdef CHIO_OTEL
    if (rc == 0) {
        a->s = r.s;
        chio__session_hold(r.s); /* async_free drops it */
        a->tool = strdup(call->tool_name);
        a->server = strdup(call->server_id);
        a->cap_id = strdup(call->capability_id);
        if (a->tool == NULL || a->server == NULL || a->cap_id == NULL)
            rc = chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
#endif
    if (rc == 0)
        rc = mreq_builder(&r, &b, err);
    if (rc == 0 && fill_response(&r, &a->resp) != 0)
        rc = chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    if (rc == 0) {
        log_decision(&r);
        rc = chio__kernel_sign_async_entered(k, b, &r.charge, async_done, a, err);
        b = NULL; /* taken in every case */
        if (rc != 0)
            chio_response_destroy(&a->resp);
    }
    chio_receipt_builder_free(b);
#ifdef CHIO_OTEL
    if (rc != 0 && call != NULL)
        otel_report(k, a->start, r.s, call->tool_name, call->server_id, call->capability_id,
                    r.request_id ? r.request_id : call->request_id, rc, NULL);
#endif
    mreq_destroy(&r);
    chio__kernel_credit_unreserve(k); /* unless the request took it */
    if (rc != 0) {
        count_unreceipted(k, rc);
        async_free(a);
    }
    return rc;
}

/* ---- resources and prompts ------------------------------------------------------------------ */

static int provided(mreq *r, int prompts, const char *name, const char *args, size_t args_len,
                    chio_error *err)
{
    chio_kernel *k = r->k;
    size_t i, n = prompts ? k->med.nprompts : k->med.nresources;
    chio_output out;

    if (__atomic_load_n(&k->failed, __ATOMIC_SEQ_CST)) /* see decide_tool() */
        return chio__fail(err, CHIO_EFAILED, CHIO_NO_OFFSET,
                          "kernel failed closed after a receipt store error; provider not run");
    memset(&out, 0, sizeof(out));
    for (i = 0; i < n; i++) {
        const chio__provider_reg *p = prompts ? &k->med.prompts[i] : &k->med.resources[i];
        int prc = prompts ? p->prompt.get(p->prompt.user, name, args, args_len, &out)
                          : p->resource.read(p->resource.user, name, &out);
        if (prc == CHIO_ENOTMINE) {
            output_reset(&out);
            continue;
        }
        r->server = p->id;
        if (prc != 0 || out.set < 0) {
            snprintf(r->reason, sizeof(r->reason), "%s '%s' failed%s%s",
                     prompts ? "prompt provider" : "resource provider", p->id,
                     out.err[0] ? ": " : "", out.err);
            deny(r, CHIO_CODE_TOOL_ERROR, NULL);
        } else {
            r->verdict = CHIO_VERDICT_ALLOW;
            r->output = out.set > 0 ? out.json : strdup("null");
            r->output_len = out.set > 0 ? out.len : 4;
            out.json = NULL;
            if (r->output == NULL) {
                output_reset(&out);
                return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
            }
        }
        output_reset(&out);
        return 0;
    }
    snprintf(r->reason, sizeof(r->reason), "no %s provider has '%.200s'",
             prompts ? "prompt" : "resource", name);
    deny(r, CHIO_CODE_NOT_FOUND, NULL);
    return 0;
}

/* The common pipeline of a resource read (@prompts 0) or prompt get. */
static int mediate_named(chio_kernel *k, int prompts, const char *session_id,
                         const char *request_id, const char *capability_id, const char *name,
                         const char *args_json, size_t args_len, chio_response *resp,
                         chio_error *err)
{
    chio_buf params;
    mreq r;
    chio_code code;
    char *pargs = NULL;
    size_t pargs_len = 0;
    int rc;

    if (k == NULL || resp == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL kernel or response");
    memset(resp, 0, sizeof(*resp));
    if ((rc = chio__kernel_refuse_reentry(k, err)) != 0) /* from a callback (kernel.h) */
        return rc;
    if (name == NULL || !chio__utf8_valid(name, strlen(name)))
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "%s must be a UTF-8 string",
                          prompts ? "prompt name" : "resource URI");
#ifdef CHIO_OTEL
    uint64_t start = chio__otel_now_ns();
#endif
    mreq_init(&r, k);
    chio__buf_init(&params);
    rc = admit(&r, session_id, capability_id, request_id, err);
    if (rc == 0 && prompts && (rc = over_cap(&r, args_json, args_len)) < 0)
        rc = chio__fail(err, CHIO_ECRYPTO, CHIO_NO_OFFSET, "hashing the arguments");
    else if (rc > 0)
        rc = 0; /* denied below (pre_checks), with a summary as parameters */
    else if (rc == 0 && prompts)
        rc = chio_json_canonicalize(args_json ? args_json : "{}", args_json ? args_len : 2, &pargs,
                                    &pargs_len, err);
    if (rc == 0 && !r.over_cap) {
        /* parameters: {"arguments":..,"name":..} or {"uri":..} */
        if (prompts) {
            chio__buf_puts(&params, "{\"arguments\":");
            chio__buf_append(&params, pargs, pargs_len);
            chio__buf_puts(&params, ",\"name\":");
        } else {
            chio__buf_puts(&params, "{\"uri\":");
        }
        chio__json_write_string(&params, name, strlen(name));
        chio__buf_putc(&params, '}');
        rc = params.oom ? chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory")
                        : parse_args(&r, params.data, params.len, 0, err);
    }
    if (rc != 0)
        goto out;
    if (r.invalid_request == NULL && name[0] == '\0')
        r.invalid_request = prompts ? "the prompt name is empty" : "the resource URI is empty";
    r.server = "*";
    r.tool = prompts ? "prompts/get" : "resources/read";
    if (pre_checks(&r)) {
        code = r.code;
    } else {
        code = chio__check_token(k, r.sc, r.s->agent, r.now, r.reason, sizeof(r.reason));
        if (code == CHIO_CODE_NONE)
            code = chio__check_pattern_scope(r.sc->cap, prompts, name, r.reason, sizeof(r.reason));
    }
    if (code != CHIO_CODE_NONE)
        deny(&r, code, NULL);
    else
        rc = run_guards(&r, "*", r.tool, err);
    if (rc == 0 && r.verdict != CHIO_VERDICT_DENY)
        rc = provided(&r, prompts, name, pargs, pargs_len, err);
    if (rc == 0)
        rc = finish_sync(&r, resp, err);
out:
    if (rc != 0)
        count_unreceipted(k, rc);
#ifdef CHIO_OTEL
    otel_report(k, start, r.s, prompts ? "prompts/get" : "resources/read",
                r.server ? r.server : "*", capability_id, r.request_id ? r.request_id : request_id,
                rc, resp);
#endif
    free(pargs);
    chio__buf_destroy(&params);
    mreq_destroy(&r);
    return rc;
}

int chio_kernel_read_resource(chio_kernel *k, const char *session_id, const char *request_id,
                              const char *capability_id, const char *uri, chio_response *resp,
                              chio_error *err)
{
    return mediate_named(k, 0, session_id, request_id, capability_id, uri, NULL, 0, resp, err);
}

int chio_kernel_get_prompt(chio_kernel *k, const char *session_id, const char *request_id,
                           const char *capability_id, const char *name, const char *arguments_json,
                           size_t arguments_len, chio_response *resp, chio_error *err)
{
    return mediate_named(k, 1, session_id, request_id, capability_id, name, arguments_json,
                         arguments_len, resp, err);
}

static int list_all(chio_kernel *k, int prompts, char **out, size_t *len, chio_error *err)
{
    size_t i, n, count = 0;
    chio_buf b;

    if (k == NULL || out == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL kernel or out");
    n = prompts ? k->med.nprompts : k->med.nresources;
    chio__buf_init(&b);
    chio__buf_putc(&b, '[');
    for (i = 0; i < n; i++) {
        const chio__provider_reg *p = prompts ? &k->med.prompts[i] : &k->med.resources[i];
        int (*list)(void *, chio_output *) = prompts ? p->prompt.list : p->resource.list;
        void *user = prompts ? p->prompt.user : p->resource.user;
        chio_output o;
        chio_json_doc *doc = NULL;
        size_t j;

        if (list == NULL)
            continue;
        memset(&o, 0, sizeof(o));
        if (list(user, &o) != 0 || o.set <= 0 || chio_json_parse(o.json, o.len, &doc, NULL) != 0 ||
            chio_json_typeof(chio_json_root(doc)) != CHIO_JSON_ARRAY) {
            chio_json_doc_free(doc);
            output_reset(&o);
            chio__buf_destroy(&b);
            return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET,
                              "provider '%s' did not list a JSON array", p->id);
        }
        for (j = 0; j < chio_json_size(chio_json_root(doc)); j++) {
            if (count++ > 0)
                chio__buf_putc(&b, ',');
            chio__json_write(&b, chio_json_at(chio_json_root(doc), j));
        }
        chio_json_doc_free(doc);
        output_reset(&o);
    }
    chio__buf_putc(&b, ']');
    *out = chio__buf_detach(&b, len);
    return *out ? 0 : chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
}

int chio_kernel_list_resources(chio_kernel *k, char **out, size_t *len, chio_error *err)
{
    return list_all(k, 0, out, len, err);
}

int chio_kernel_list_prompts(chio_kernel *k, char **out, size_t *len, chio_error *err)
{
    return list_all(k, 1, out, len, err);
}
