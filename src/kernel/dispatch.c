/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/dispatch.c - the tool's side of a call: tool outputs
 * (chio_output_*); dispatch, checks 10 and 11 (plain or streamed); and the
 * tool context (chio_tool_ctx_*): streamed chunks and their limits,
 * cancellation and timeouts. Nested sampling/elicitation requests are
 * nested.c's. Runs on the caller's thread, inside the request
 * (request.h); the host's cancel flag is the only thing read from
 * elsewhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "request.h"

/* ---- outputs ------------------------------------------------------------------------------ */

/* How a failed chio_output_set_json() begins its text. */
#define OUTPUT_INVALID "result is not valid JSON: "

/* Did the streamed tool of @c hear of a limit: a chunk or nested request
 * refused, or chio_tool_ctx_cancelled() saying so? */
static int stream_told(const chio_tool_ctx *c)
{
    return c->limit_hit || __atomic_load_n(&c->duration_told, __ATOMIC_RELAXED);
}

int chio_output_set_json(chio_output *out, const char *json, size_t len)
{
    char *canon;
    size_t clen;
    int rc;

    if (out == NULL || json == NULL)
        return CHIO_EINVAL;
    rc = chio_json_canonicalize(json, len, &canon, &clen, NULL);
    if (rc != 0) {
        snprintf(out->err, sizeof(out->err), OUTPUT_INVALID "%s", chio_strerror(rc));
        if (out->set >= 0 && out->stream != NULL)
            out->failed_untold = !stream_told(out->stream);
        if (out->set >= 0)
            out->set = rc;
        return rc;
    }
    /* A failed answer sticks: a later good one must not turn the call (or
     * the nested reply) back into a success. set holds the first
     * failure's code, which the good one gets. */
    if (out->set < 0) {
        free(canon);
        return out->set;
    }
    free(out->json);
    out->json = canon;
    out->len = clen;
    out->set = 1;
    return 0;
}

void chio_output_set_error(chio_output *out, const char *message)
{
    size_t keep = 0;

    if (out == NULL)
        return;
    /* After a failed set the call fails for that reason, whatever is set
     * later (chio_output_set_json()): the failure's text stays first and
     * the message follows it. Replaced (or cleared), the receipt's reason
     * named only what the tool said, not the answer the kernel refused
     * (review 47). */
    if (out->set < 0) /* its text is OUTPUT_INVALID's, then any message after "; " */
        keep = strcspn(out->err, ";");
    out->err[keep] = '\0';
    if (message != NULL) {
        /* Checked whole: a secret cut in two would not match its pattern. */
        if (out->k != NULL)
            message = chio__tool_error_text(out->k, message);
        snprintf(out->err + keep, sizeof(out->err) - keep, "%s%s", keep > 0 ? "; " : "", message);
        chio__utf8_repair(out->err); /* the cut may split a character */
    }
}

void chio__output_reset(chio_output *out)
{
    chio_kernel *k = out->k; /* kept: the next provider fills it for the same kernel */

    free(out->json);
    memset(out, 0, sizeof(*out));
    out->k = k;
}

/* ---- cancellation -------------------------------------------------------------------------- */

uint64_t chio__mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int chio__is_cancelled(const mreq *r)
{
    /* Relaxed: the host's flag orders nothing else; the call just ends. */
    if (r->cancel != NULL && __atomic_load_n(r->cancel, __ATOMIC_RELAXED) != 0)
        return 1;
    return r->deadline_ns != 0 && chio__mono_ns() >= r->deadline_ns;
}

static int duration_passed(const chio_tool_ctx *c);

/* Also 1 once a streamed call's duration passed: a tool that waits for its
 * upstream between chunks and polls this learns to stop then, not at its
 * next chunk (the call ends incomplete, not cancelled). */
int chio_tool_ctx_cancelled(const chio_tool_ctx *c)
{
    if (c == NULL)
        return 0;
    if (chio__is_cancelled(c->r))
        return 1;
    if (!duration_passed(c))
        return 0;
    /* Relaxed: read on the tool's thread after the tool returned; a thread
     * of the tool's that asked handed its answer to the tool through its
     * own synchronisation, which orders this store before that read. The
     * context lives in the (non-const) request: the cast is sound. */
    __atomic_store_n(&((chio_tool_ctx *)c)->duration_told, 1, __ATOMIC_RELAXED);
    return 1;
}

/* The decision becomes `cancelled`: no output, whatever the tool did. */
void chio__cancel_decision(mreq *r)
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

/* Has a streamed call's max_stream_duration_secs passed? Reads only what
 * was set before the tool was called, so any thread may ask. */
static int duration_passed(const chio_tool_ctx *c)
{
    uint64_t limit = c->k->max_stream_duration_secs;

    /* A limit past UINT64_MAX ms (about 584 million years) never ends a
     * stream; it must not wrap to a small one. */
    return c->streaming && limit != 0 && limit <= UINT64_MAX / 1000u &&
           elapsed_ms(&c->t0) > limit * 1000u;
}

int chio__stream_over_duration(chio_tool_ctx *c)
{
    if (!duration_passed(c))
        return 0;
    snprintf(c->limit_reason, sizeof(c->limit_reason),
             "stream exceeded max_stream_duration_secs (%llu); output truncated",
             (unsigned long long)c->k->max_stream_duration_secs);
    c->limit_hit = 1;
    return 1;
}

/* Is this the thread running @c's tool, while it runs? A chunk or nested
 * request from another thread (a tool's reader thread) would race the
 * call's own; one after the tool returned comes too late for its output. */
int chio__on_tool_thread(const chio_tool_ctx *c)
{
    /* owner first: set before the tool was called and never again, so
     * another thread reads it without a race, and never reads running */
    return pthread_equal(c->owner, pthread_self()) && c->running;
}

/* Nesting depth of canonical JSON text @s (@n bytes) as the reader counts
 * it: "[[1]]" is 2, a scalar 0. Canonical text has no whitespace and its
 * strings escape '"' and '\\', so brackets outside strings are the
 * containers. */
static int canonical_depth(const char *s, size_t n)
{
    int depth = 0, max = 0, in_str = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        if (in_str) {
            if (s[i] == '\\')
                i++;
            else if (s[i] == '"')
                in_str = 0;
        } else if (s[i] == '"') {
            in_str = 1;
        } else if (s[i] == '[' || s[i] == '{') {
            if (++depth > max)
                max = depth;
        } else if (s[i] == ']' || s[i] == '}') {
            depth--;
        }
    }
    return max;
}

int chio_tool_ctx_emit_chunk(chio_tool_ctx *c, const char *json, size_t len)
{
    char *canon;
    size_t clen;
    int rc;

    if (c == NULL || !c->streaming || !chio__on_tool_thread(c))
        return CHIO_EINVAL;
    if (chio__is_cancelled(c->r))
        return CHIO_ECANCELLED;
    if (c->limit_hit || chio__stream_over_duration(c))
        return CHIO_ESTREAM_LIMIT;
    if (json == NULL)
        return CHIO_EINVAL;
    rc = chio_json_canonicalize(json, len, &canon, &clen, NULL);
    if (rc != 0) {
        c->bad_chunk = rc;
        return rc;
    }
    /* The output wraps the chunks in an array: a chunk at the reader's
     * depth limit would make an output chio_json_parse() refuses (and a
     * content_hash no verifier can recompute). */
    if (canonical_depth(canon, clen) > CHIO_JSON_MAX_DEPTH - 1) {
        free(canon);
        c->bad_chunk = CHIO_EJSON_DEPTH;
        return CHIO_EJSON_DEPTH;
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

/* ---- dispatch ------------------------------------------------------------------------------ */

const char *chio__tool_error_text(chio_kernel *k, const char *msg)
{
    chio_json_doc *doc = NULL;
    char *js = NULL, *red = NULL;
    const char *guard = NULL;
    size_t jlen = 0, rlen = 0, n = 0;
    int rc;

    if (msg[0] == '\0' || !chio__has_secret_guard(k))
        return msg;
    rc = chio_json_write_string(msg, strlen(msg), &js, &jlen);
    if (rc == 0)
        rc = chio_json_parse(js, jlen, &doc, NULL);
    if (rc == 0)
        rc = chio__redact(k, chio_json_root(doc), &red, &rlen, &n, &guard);
    chio_json_doc_free(doc);
    chio_free(js);
    free(red);
    if (rc != 0 || n != 0)
        return "[message withheld: a secret_leak guard flagged it]";
    return msg;
}

/* A streamed tool (checks 10 and 11): its output is the JSON array of its
 * chunks, written in place as they come ("[" first, "]" last) and handed
 * over whole, never copied: a stream at its byte limit costs its size
 * once, not twice. */
static int dispatch_stream(mreq *r, const chio__server_reg *srv, chio_output *out, chio_error *err)
{
    chio_tool_ctx *c = &r->tctx;
    int trc, told, failed;

    c->streaming = 1;
    out->stream = c;
    chio__buf_putc(&c->chunks, '[');
    clock_gettime(CLOCK_MONOTONIC, &c->t0);
    trc = srv->s.invoke_stream(srv->s.user, c, r->tool, r->args, r->args_len, out);
    c->running = 0;
    told = stream_told(c); /* before it returned */
    /* A result it failed to set is a failure, as for a plain tool. */
    failed = trc != 0 || out->set < 0;
    if (!c->limit_hit)
        chio__stream_over_duration(c);
    if (c->nested_overflow) {
        snprintf(r->reason, sizeof(r->reason),
                 "tool '%s' failed: it made more than %u nested requests", r->tool,
                 CHIO__MAX_NESTED);
        chio__deny(r, CHIO_CODE_TOOL_ERROR, NULL);
    } else if (c->limit_hit && !c->bad_chunk && !out->failed_untold && (told || !failed)) {
        /* Check 11. The tool was told to stop (CHIO_ESTREAM_LIMIT): what
         * it returns after is not a tool error. A bad chunk came before
         * the limit (none is parsed after it): check 10 then decides, or
         * the output would have a hole where it was. So does a result it
         * failed to set before it heard of the limit, and a failure of a
         * tool that never heard of it (the duration passed unseen):
         * check 10 comes before 11. */
        r->verdict = CHIO_VERDICT_INCOMPLETE;
        r->code = CHIO_CODE_STREAM_LIMIT;
        snprintf(r->reason, sizeof(r->reason), "%s", c->limit_reason);
    } else if (failed || c->bad_chunk) {
        snprintf(r->reason, sizeof(r->reason), "tool '%s' failed%s%s", r->tool,
                 out->err[0] ? ": " : "",
                 out->err[0] ? chio__tool_error_text(r->k, out->err)
                             : (c->bad_chunk ? ": it emitted an invalid chunk" : ""));
        chio__deny(r, CHIO_CODE_TOOL_ERROR, NULL);
    } else {
        r->verdict = CHIO_VERDICT_ALLOW;
    }
    if (r->verdict == CHIO_VERDICT_DENY)
        return 0;
    chio__buf_putc(&c->chunks, ']');
    r->output = chio__buf_detach(&c->chunks, &r->output_len);
    return r->output != NULL ? 0 : chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
}

/* Check 10 and 11: run the tool; sets the verdict, the output and the code. */
int chio__dispatch(mreq *r, const chio__server_reg *srv, chio_error *err)
{
    chio_tool_ctx *c = &r->tctx;
    chio_output out;
    int trc;

    memset(&out, 0, sizeof(out));
    out.k = r->k;
    c->owner = pthread_self();
    c->running = 1;
    if (srv->s.invoke_stream != NULL) {
        int rc = dispatch_stream(r, srv, &out, err);
        chio__output_reset(&out);
        return rc;
    }
    trc = srv->s.invoke(srv->s.user, c, r->tool, r->args, r->args_len, &out);
    c->running = 0;
    if (c->nested_overflow) {
        snprintf(r->reason, sizeof(r->reason),
                 "tool '%s' failed: it made more than %u nested requests", r->tool,
                 CHIO__MAX_NESTED);
        chio__deny(r, CHIO_CODE_TOOL_ERROR, NULL);
    } else if (trc != 0 || out.set < 0) {
        snprintf(r->reason, sizeof(r->reason), "tool '%s' failed%s%s", r->tool,
                 out.err[0] ? ": " : "", chio__tool_error_text(r->k, out.err));
        chio__deny(r, CHIO_CODE_TOOL_ERROR, NULL);
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
    chio__output_reset(&out);
    return 0;
}
