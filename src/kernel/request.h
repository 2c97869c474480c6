/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/request.h - what the files of the evaluation pipeline
 * (chio/evaluate.h, spec/kernel.md) share, private to src/kernel: the
 * request being mediated (struct mreq), its guard evidence, the tool
 * context, tool outputs and the spec of a receipt, and the functions one
 * of these files calls in another:
 *   codes.c      code and error names, the counters of errors without a
 *                receipt, the key-memory check;
 *   request.c    the request: its lifetime, admission (bound ids, argument
 *                parsing and caps), pre-checks, guards and their evidence,
 *                denials;
 *   dispatch.c   tool outputs, dispatch (checks 10 and 11), the tool
 *                context: streams, cancellation and durations;
 *   nested.c     nested sampling/elicitation and their child receipts;
 *   decision.c   the decision's receipt (receipt spec, stored parameters,
 *                builder) and the response;
 *   evaluate.c   the tool-call entry points: checks 1-10, the decision
 *                log, signing and answering (sync, with options, async);
 *   providers.c  resource reads and prompt gets, and their lists.
 * A request belongs to the thread evaluating it; it holds the kernel and
 * its session from admission until its receipt is queued (evaluate.c).
 */
#ifndef CHIO_KERNEL_REQUEST_H
#define CHIO_KERNEL_REQUEST_H

#include <pthread.h>
#include <time.h>

#include "kernel_internal.h"

#define REASON_CAP 512

/* Canonical arguments (a call's, or a nested request's): the receipt
 * around them (and its evidence) must stay under CHIO_JSON_MAX_INPUT. */
#define CHIO__MAX_ARGS_BYTES (CHIO_JSON_MAX_INPUT - ((size_t)1 << 20))

/* ---- types ---------------------------------------------------------------------------- */

struct chio_output {
    char *json; /* canonical */
    size_t len;
    int set;
    char err[256];
    /* The kernel whose tool, provider or nested handler fills it:
     * chio_output_set_error() checks the whole message against its
     * secret_leak guards before cutting it to err. */
    chio_kernel *k;
    /* A streamed call's context (NULL otherwise), and whether its first
     * failed set came before the tool heard of a limit: that failure is
     * check 10's (a tool error), as a bad chunk before the limit is
     * (review 5 F1). Set and read on the invoking thread. */
    struct chio_tool_ctx *stream;
    int failed_untold;
};

typedef chio__evidence evidence; /* {name, passed, details}: model.h */

struct chio_tool_ctx {
    chio_kernel *k;
    struct mreq *r;
    /* The thread running the tool, while it runs: the stream and nested
     * calls are its alone (dispatch.c and nested.c refuse them elsewhere). Both are
     * written before the tool is called. */
    pthread_t owner;
    int running;
    /* stream state */
    int streaming;
    chio_buf chunks;
    size_t nchunks;
    uint64_t stream_bytes;
    int limit_hit, bad_chunk;
    /* chio_tool_ctx_cancelled() said the duration passed (any thread may
     * ask, so atomic): the tool heard of the limit, as limit_hit means for
     * the tool thread's own chunks and nested requests. */
    int duration_told;
    char limit_reason[160];
    struct timespec t0;
    /* nested requests */
    chio_receipt **children;
    size_t nchildren;
    unsigned nested_seq;
    int nested_overflow;   /* asked for more than CHIO__MAX_NESTED: the call fails */
    int credit_held;       /* the next child receipt's credit, taken ahead (nested.c) */
    int in_nested;         /* a nested request waits for the host (none may start inside it) */
    uint64_t nested_bytes; /* canonical request text the child receipts hold verbatim */
};

/* Most nested requests one call may make; the one past it gets no answer
 * and no child receipt, and the call ends tool_error (its receipt says
 * why), so a looping tool cannot grow the call's receipts without bound. */
#define CHIO__MAX_NESTED 1024u

/* The child receipts of one call are held until it returns: together they
 * store at most this many times max_argument_bytes of request text
 * verbatim (64 MiB by default). A request past it is refused
 * (arguments_rejected) with a summary child receipt, the host not asked. */
#define CHIO__NESTED_BYTES_FACTOR 16u

/* A tool or nested handler that calls the kernel back on its own thread
 * (a sampling handler running the model's tool calls) nests one call's
 * frames in another's: past this depth the call is denied
 * (invalid_request, with its receipt; nothing runs) before the stack runs
 * out. */
#define CHIO__MAX_CALL_DEPTH      16u
#define CHIO__MAX_CALL_DEPTH_TEXT "16"
/* The same for calls nested through several kernels on one thread (a
 * host's handler calling another kernel back): 64 in all. */
#define CHIO__MAX_THREAD_DEPTH      64u
#define CHIO__MAX_THREAD_DEPTH_TEXT "64"

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
    int decide_only;     /* CHIO_CALL_DECIDE_ONLY: no registration check, no dispatch */
    uint64_t revoke_gen; /* chio__revoke_gen() just before check 3 */
    /* Well-formed calls the pipeline refuses before its checks; each still
     * gets a deny receipt (see chio__pre_checks()). */
    const char *cap_id;          /* receipt capability_id: the token's, or as asked */
    const char *invalid_request; /* why the request itself is refused, or NULL */
    char unrecordable[160];      /* why the arguments cannot be stored verbatim, or "" */
    /* Arguments text over max_argument_bytes: never parsed; its length and
     * the SHA-256 of the raw text stand for it in the receipt. */
    int over_cap;
    size_t raw_len;
    char raw_hash[65];
    char *marks[4]; /* markers standing for over-long ids (chio__bound_id()) */
    size_t nmarks;
} mreq;

typedef struct receipt_spec {
    const char *capability_id, *server, *tool;
    const char *params; /* JSON text */
    size_t params_len;
    int params_canonical; /* params is canonical (the call's own arguments) */
    char *params_owned;   /* the text params points into, handed to the receipt writer */
    const char *output;   /* NULL: no output */
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

/* ---- codes.c -------------------------------------------------------------------------- */

/* Count an evaluation that ended in @rc with no receipt, by reason. */
void chio__count_unreceipted(chio_kernel *k, int rc);

/* ---- request.c ------------------------------------------------------------------------ */

void chio__mreq_init(mreq *r, chio_kernel *k);
/* Release the session and the kernel (once). */
void chio__mreq_leave(mreq *r);
/* Release the session only (once); the kernel stays entered. */
void chio__mreq_leave_session(mreq *r);
void chio__mreq_destroy(mreq *r);
/* An over-long id or name becomes a marker and the call is refused. */
int chio__bound_id(mreq *r, const char *what, const char **s, chio_error *err);
/* 1 when the arguments text is over max_argument_bytes, -1 when hashing failed. */
int chio__over_cap(mreq *r, const char *json, size_t len);
/* Parse and canonicalise the arguments (@capped: held to max_argument_bytes). */
int chio__parse_args(mreq *r, const char *json, size_t len, int capped, chio_error *err);
void chio__deny(mreq *r, chio_code code, const char *guard);
/* Admission: everything that ends in an error without a receipt. */
int chio__admit(mreq *r, const char *session_id, const char *capability_id, const char *request_id,
                chio_error *err);
/* chio_call_options.timeout_ms as a monotonic deadline (0 = none; saturates). */
uint64_t chio__deadline_ns(uint64_t timeout_ms);
/* Prompt or resource parameters a receipt cannot store and that were not
 * parsed (@deep: one level too deep, else too large): arguments_rejected. */
int chio__params_unrecordable(mreq *r, char *text, size_t len, int deep, const char *raw,
                              size_t raw_len, chio_error *err);
/* Refusals before checks 1-9; 1 when the call is denied. */
int chio__pre_checks(mreq *r);
/* Check 9: the guards, in registration order. */
int chio__run_guards(mreq *r, const char *server, const char *tool, chio_error *err);

/* ---- dispatch.c ----------------------------------------------------------------------- */

void chio__output_reset(chio_output *out);
uint64_t chio__mono_ns(void);
int chio__is_cancelled(const mreq *r);
/* The decision becomes `cancelled`: no output, whatever the tool did. */
void chio__cancel_decision(mreq *r);
/* Check 10 and 11: run the tool; sets the verdict, the output and the code. */
int chio__dispatch(mreq *r, const chio__server_reg *srv, chio_error *err);
/* A streamed call past max_stream_duration_secs: notes the limit, 1. */
int chio__stream_over_duration(chio_tool_ctx *c);
/* Is this the thread running @c's tool, while it runs? */
int chio__on_tool_thread(const chio_tool_ctx *c);

/* ---- decision.c ----------------------------------------------------------------------- */

/* The receipt fields of @sp: pointers into it, nothing allocated (its
 * params_owned moves to @f). */
void chio__receipt_fields_of(receipt_spec *sp, chio__receipt_fields *f);
/* Does the kernel have a built-in secret_leak guard (whose flags redact)? */
int chio__has_secret_guard(const chio_kernel *k);
/* A tool's or provider's error message as a receipt's reason may quote
 * it: @msg, or a fixed text when a secret_leak guard flags it (or it
 * cannot be checked), as the value would be redacted from a denied call's
 * parameters. Borrowed; never NULL. */
const char *chio__tool_error_text(chio_kernel *k, const char *msg);
/* The receipt of the request's decision, as fields for the signer. The
 * parsed arguments are freed and their text handed to @f (freed once
 * written), so that no copy of large arguments waits for the commit.
 * @hash is storage for the original arguments' hash (redaction). */
int chio__mreq_fields(mreq *r, chio__receipt_fields *f, char hash[65], chio_error *err);
/* Move the decision into @resp (receipt added by the caller). 0, or
 * CHIO_ENOMEM with nothing moved (@resp untouched, @r still owns it all). */
int chio__fill_response(mreq *r, chio_response *resp);

/* ---- evaluate.c ----------------------------------------------------------------------- */

/* Sign synchronously and answer. */
int chio__finish_sync(mreq *r, chio_response *resp, chio_error *err);
#ifdef CHIO_OTEL
/* One span per evaluation (otel.c); @resp is read only when @rc is 0. */
void chio__otel_report(chio_kernel *k, uint64_t start, const chio__session *s, const char *tool,
                       const char *server, const char *cap_id, const char *request_id, int rc,
                       const chio_response *resp);
#endif

#endif
