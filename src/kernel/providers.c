/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/providers.c - resource reads and prompt gets
 * (chio_kernel_read_resource(), chio_kernel_get_prompt()) through the same
 * pipeline as a tool call: admission, pre-checks, the token and the
 * pattern scope, the guards, then the first provider that has the name,
 * and a receipt signed before the caller hears the decision; and the
 * merged lists of what providers offer (chio_kernel_list_resources(),
 * chio_kernel_list_prompts()). Runs on the caller's thread; the provider
 * tables are read without locks (written before serving, mediate.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard_scan.h"
#include "request.h"

/* ---- resources and prompts ------------------------------------------------------------------ */

/* Check 6's reason quotes the URI or prompt name; one a secret_leak guard
 * flags is redacted from the stored parameters, so the reason names the
 * code instead (out of memory counts as flagged). */
static void unquote_name(mreq *r, int prompts, const char *name, chio_code code)
{
    size_t gi, pi;

    if (chio__secret_scan(r->k->med.guards, r->k->med.nguards, name, strlen(name), NULL, &gi,
                          &pi) != 0)
        snprintf(r->reason, sizeof(r->reason),
                 "%s: the %s is not quoted (a secret_leak guard flags it)", chio_code_name(code),
                 prompts ? "prompt name" : "resource URI");
}

/* The providers are asked in registration order, or only the one whose
 * id is @only (chio_call_options.provider) when not NULL. */
static int provided(mreq *r, int prompts, const char *only, const char *name, const char *args,
                    size_t args_len, chio_error *err)
{
    chio_kernel *k = r->k;
    size_t i, n = prompts ? k->med.nprompts : k->med.nresources;
    chio_output out;

    if (__atomic_load_n(&k->failed, __ATOMIC_SEQ_CST)) /* see decide_tool(), evaluate.c */
        return chio__fail(err, CHIO_EFAILED, CHIO_NO_OFFSET,
                          "kernel failed closed after a receipt store error; provider not run");
    memset(&out, 0, sizeof(out));
    out.k = k;
    for (i = 0; i < n; i++) {
        const chio__provider_reg *p = prompts ? &k->med.prompts[i] : &k->med.resources[i];
        int prc;
        if (only != NULL && strcmp(p->id, only) != 0)
            continue;
        prc = prompts ? p->prompt.get(p->prompt.user, name, args, args_len, &out)
                      : p->resource.read(p->resource.user, name, &out);
        if (prc == CHIO_ENOTMINE) {
            chio__output_reset(&out);
            continue;
        }
        r->server = p->id;
        if (prc != 0 || out.set < 0) {
            snprintf(r->reason, sizeof(r->reason), "%s '%s' failed%s%s",
                     prompts ? "prompt provider" : "resource provider", p->id,
                     out.err[0] ? ": " : "", chio__tool_error_text(k, out.err));
            chio__deny(r, CHIO_CODE_TOOL_ERROR, NULL);
        } else {
            r->verdict = CHIO_VERDICT_ALLOW;
            r->output = out.set > 0 ? out.json : strdup("null");
            r->output_len = out.set > 0 ? out.len : 4;
            out.json = NULL;
            if (r->output == NULL) {
                chio__output_reset(&out);
                return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
            }
        }
        chio__output_reset(&out);
        return 0;
    }
    if (only != NULL)
        snprintf(r->reason, sizeof(r->reason), "%s provider '%.100s' does not have '%.200s'",
                 prompts ? "prompt" : "resource", only, name);
    else
        snprintf(r->reason, sizeof(r->reason), "no %s provider has '%.200s'",
                 prompts ? "prompt" : "resource", name);
    chio__deny(r, CHIO_CODE_NOT_FOUND, NULL);
    return 0;
}

/* Parse @params (canonical) as the receipt's parameters. Parameters a
 * receipt cannot store, too large for the parser (a canonical form longer
 * than the text) or one level deeper than arguments that parsed, are
 * denied with a receipt (arguments_rejected), as a tool call's are; they
 * were an error with no receipt. */
static int parse_params(mreq *r, chio_buf *params, int prompts, const char *args_json,
                        size_t args_len, chio_error *err)
{
    const char *raw = prompts ? (args_json ? args_json : "{}") : NULL;
    size_t raw_len = args_json ? args_len : 2, len = 0;
    char *text;
    int rc, deep = 0;

    if (params->len <= CHIO__MAX_ARGS_BYTES) {
        rc = chio__parse_args(r, params->data, params->len, 0, err);
        if (rc != CHIO_EJSON_DEPTH || !prompts)
            return rc;
        chio_error_init(err);
        deep = 1;
    }
    text = chio__buf_detach(params, &len);
    if (text == NULL)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    return chio__params_unrecordable(r, text, len, deep, raw, raw_len, err);
}

/* A name or prompt arguments no receipt can hold: an error (invalid
 * arguments), else 0. */
static int invalid_input(int prompts, const char *name, const char *args_json, size_t args_len,
                         chio_error *err)
{
    if (name == NULL || !chio__utf8_valid(name, strlen(name)))
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "%s must be a UTF-8 string",
                          prompts ? "prompt name" : "resource URI");
    /* NULL arguments mean {} only with a length of 0 (as for tool calls). */
    if (args_json == NULL && args_len != 0)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "prompt arguments: NULL text with a length of %zu bytes", args_len);
    return 0;
}

/* A provider id a read or get may name (chio_call_options.provider):
 * what registration takes (evaluate.h), and at most 64 KiB, as a tool
 * call's server id is written in full (review 18: it went into the
 * receipt whatever its size). */
#define PROVIDER_ID_MAX 65536

static int provider_id_ok(const char *id)
{
    size_t n = strnlen(id, PROVIDER_ID_MAX + 1);

    return n > 0 && n <= PROVIDER_ID_MAX && strcmp(id, "*") != 0 && chio__utf8_valid(id, n);
}

/* The common pipeline of a resource read (@prompts 0) or prompt get. */
static int mediate_named(chio_kernel *k, int prompts, const char *session_id,
                         const char *request_id, const char *capability_id, const char *name,
                         const char *args_json, size_t args_len, const chio_call_options *opts,
                         chio_response *resp, chio_error *err)
{
    chio_buf params;
    mreq r;
    const char *only;
    chio_code code;
    char *pargs = NULL;
    size_t pargs_len = 0;
    int rc;

    if (k == NULL || resp == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL kernel or response");
    memset(resp, 0, sizeof(*resp));
    if ((rc = chio__kernel_refuse_reentry(k, err)) != 0) /* from a callback (kernel.h) */
        return rc;
#ifdef CHIO_OTEL
    uint64_t start = chio__otel_now_ns();
#endif
    if (opts != NULL &&
        (!chio__all_zero(opts->reserved, sizeof(opts->reserved)) || opts->flags != 0 ||
         (opts->provider != NULL && !provider_id_ok(opts->provider)))) {
        chio__count_unreceipted(k, CHIO_EINVAL);
#ifdef CHIO_OTEL /* a span for every evaluation counted (review 5 O4) */
        chio__otel_report(k, start, NULL, prompts ? "prompts/get" : "resources/read", "*",
                          capability_id, request_id, CHIO_EINVAL, resp);
#endif
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET,
                          "chio_call_options: flags and reserved must be zero and a provider "
                          "a non-empty UTF-8 id other than \"*\" for %s",
                          prompts ? "a prompt get" : "a resource read");
    }
    only = opts != NULL ? opts->provider : NULL;
    chio__mreq_init(&r, k);
    if (opts != NULL) {
        r.cancel = opts->cancel;
        r.timeout_ms = opts->timeout_ms;
        r.deadline_ns = chio__deadline_ns(opts->timeout_ms);
    }
    chio__buf_init(&params);
    /* The kernel and the session answer before an invalid name or
     * arguments (chio__admit()). */
    rc = chio__admit(&r, session_id, capability_id, request_id, err);
    if (rc == 0)
        rc = invalid_input(prompts, name, args_json, args_len, err);
    if (rc == 0 && prompts && (rc = chio__over_cap(&r, args_json, args_len)) < 0)
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
                        : parse_params(&r, &params, prompts, args_json, args_len, err);
    }
    if (rc != 0)
        goto out;
    /* A prompt provider is handed a JSON object (evaluate.h): arguments
     * of another type ([1], "x", null) are denied with a receipt, the
     * provider not asked (they reached it, review 44). */
    if (r.invalid_request == NULL && prompts && pargs != NULL && pargs[0] != '{')
        r.invalid_request = "the prompt arguments are not a JSON object";
    if (r.invalid_request == NULL && name[0] == '\0')
        r.invalid_request = prompts ? "the prompt name is empty" : "the resource URI is empty";
    r.server = only != NULL ? only : "*";
    r.tool = prompts ? "prompts/get" : "resources/read";
    if (chio__pre_checks(&r)) {
        code = r.code;
    } else {
        r.revoke_gen = chio__revoke_gen(k);
        code = chio__check_token(k, r.sc, r.s->agent, r.now, r.reason, sizeof(r.reason));
        if (code == CHIO_CODE_NONE &&
            (code = chio__check_pattern_scope(r.sc->cap, prompts, name, r.reason,
                                              sizeof(r.reason))) != CHIO_CODE_NONE)
            unquote_name(&r, prompts, name, code);
    }
    if (code != CHIO_CODE_NONE)
        chio__deny(&r, code, NULL);
    else
        rc = chio__run_guards(&r, r.server, r.tool, err);
    /* Checks 2 and 3 again after the guards (host code, any length of
     * time): an expiry passed or a revocation that returned meanwhile
     * stops the read (evaluate.c). */
    if (rc == 0 && r.verdict != CHIO_VERDICT_DENY &&
        ((code = chio__time_since_check(k, r.sc->cap, r.reason, sizeof(r.reason))) !=
             CHIO_CODE_NONE ||
         (code = chio__revoked_since_check(k, r.sc->cap, r.revoke_gen, r.reason,
                                           sizeof(r.reason))) != CHIO_CODE_NONE))
        chio__deny(&r, code, NULL);
    if (rc == 0 && r.verdict != CHIO_VERDICT_DENY) {
        if (chio__is_cancelled(&r)) /* the provider is not asked */
            chio__cancel_decision(&r);
        else if ((rc = provided(&r, prompts, only, name, pargs, pargs_len, err)) == 0 &&
                 chio__is_cancelled(&r))
            chio__cancel_decision(&r); /* whatever it answered */
    }
    if (rc == 0)
        rc = chio__finish_sync(&r, resp, err);
out:
    if (rc != 0)
        chio__count_unreceipted(k, rc);
#ifdef CHIO_OTEL
    chio__otel_report(k, start, r.s, prompts ? "prompts/get" : "resources/read",
                      r.server ? r.server : "*", capability_id,
                      r.request_id ? r.request_id : request_id, rc, resp);
#endif
    free(pargs);
    chio__buf_destroy(&params);
    chio__mreq_destroy(&r);
    return rc;
}

int chio_kernel_read_resource(chio_kernel *k, const char *session_id, const char *request_id,
                              const char *capability_id, const char *uri, chio_response *resp,
                              chio_error *err)
{
    return mediate_named(k, 0, session_id, request_id, capability_id, uri, NULL, 0, NULL, resp,
                         err);
}

int chio_kernel_read_resource_ex(chio_kernel *k, const char *session_id, const char *request_id,
                                 const char *capability_id, const char *uri,
                                 const chio_call_options *opts, chio_response *resp,
                                 chio_error *err)
{
    return mediate_named(k, 0, session_id, request_id, capability_id, uri, NULL, 0, opts, resp,
                         err);
}

int chio_kernel_get_prompt(chio_kernel *k, const char *session_id, const char *request_id,
                           const char *capability_id, const char *name, const char *arguments_json,
                           size_t arguments_len, chio_response *resp, chio_error *err)
{
    return mediate_named(k, 1, session_id, request_id, capability_id, name, arguments_json,
                         arguments_len, NULL, resp, err);
}

int chio_kernel_get_prompt_ex(chio_kernel *k, const char *session_id, const char *request_id,
                              const char *capability_id, const char *name,
                              const char *arguments_json, size_t arguments_len,
                              const chio_call_options *opts, chio_response *resp, chio_error *err)
{
    return mediate_named(k, 1, session_id, request_id, capability_id, name, arguments_json,
                         arguments_len, opts, resp, err);
}

/* Every provider's list, inside the kernel as a read is (entered: drain
 * waits for it, refuses from a provider's list, and after it listing is
 * an error like every call; no provider is asked then). */
/* A provider's list function as registered (its id lives until
 * chio_kernel_free()). */
typedef struct lister {
    int (*list)(void *, chio_output *);
    void *user;
    const char *id;
} lister;

/* The providers' list functions, copied under build_mu: listing may run
 * before the first session opens, while another thread still registers
 * (registration grows the arrays with realloc), and the lock is not held
 * across the callbacks (one that registers would wait for it). NULL with
 * *@n 0 when there are none; CHIO_ENOMEM. */
static int listers(chio_kernel *k, int prompts, lister **out, size_t *n)
{
    size_t i;

    pthread_mutex_lock(&k->med.build_mu);
    *n = prompts ? k->med.nprompts : k->med.nresources;
    *out = *n > 0 ? calloc(*n, sizeof(**out)) : NULL;
    for (i = 0; *out != NULL && i < *n; i++) {
        const chio__provider_reg *p = prompts ? &k->med.prompts[i] : &k->med.resources[i];
        (*out)[i].list = prompts ? p->prompt.list : p->resource.list;
        (*out)[i].user = prompts ? p->prompt.user : p->resource.user;
        (*out)[i].id = p->id;
    }
    pthread_mutex_unlock(&k->med.build_mu);
    return *n > 0 && *out == NULL ? CHIO_ENOMEM : 0;
}

static int list_entered(chio_kernel *k, int prompts, char **out, size_t *len, chio_error *err)
{
    size_t i, n, count = 0;
    lister *ls = NULL;
    chio_buf b;
    int rc;

    if (listers(k, prompts, &ls, &n) != 0)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    chio__buf_init(&b);
    chio__buf_putc(&b, '[');
    for (i = 0; i < n; i++) {
        const lister *p = &ls[i];
        int (*list)(void *, chio_output *) = p->list;
        void *user = p->user;
        chio_output o;
        chio_json_doc *doc = NULL;
        size_t j;

        if (list == NULL)
            continue;
        memset(&o, 0, sizeof(o));
        if (list(user, &o) != 0 || o.set <= 0 || chio_json_parse(o.json, o.len, &doc, NULL) != 0 ||
            chio_json_typeof(chio_json_root(doc)) != CHIO_JSON_ARRAY) {
            chio_json_doc_free(doc);
            chio__output_reset(&o);
            chio__buf_destroy(&b);
            rc = chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET,
                            "provider '%s' did not list a JSON array", p->id);
            free(ls);
            return rc;
        }
        for (j = 0; j < chio_json_size(chio_json_root(doc)); j++) {
            if (count++ > 0)
                chio__buf_putc(&b, ',');
            chio__json_write(&b, chio_json_at(chio_json_root(doc), j));
        }
        chio_json_doc_free(doc);
        chio__output_reset(&o);
    }
    free(ls);
    chio__buf_putc(&b, ']');
    *out = chio__buf_detach(&b, len);
    return *out ? 0 : chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
}

static int list_all(chio_kernel *k, int prompts, char **out, size_t *len, chio_error *err)
{
    unsigned depth, thread_depth;
    int rc;

    if (out != NULL) /* NULL on every failure */
        *out = NULL;
    if (k == NULL || out == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL kernel or out");
    /* Read before this call enters (it counts itself then), as
     * chio__admit() does. */
    depth = chio__kernel_depth(k);
    thread_depth = chio__thread_depth();
    rc = chio__kernel_enter(k);
    if (rc != 0)
        return chio__fail(err, rc, CHIO_NO_OFFSET, "%s", chio__kernel_enter_refusal(rc));
    /* A provider's list (or a tool, guard or handler) that lists its own
     * kernel again, or one that lists through other kernels back here,
     * nests a frame per turn: past the call depths of an evaluation the
     * list is refused before the stack runs out (review 49; it recursed
     * without limit and crashed the host). */
    if (depth >= CHIO__MAX_CALL_DEPTH || thread_depth >= CHIO__MAX_THREAD_DEPTH) {
        chio__kernel_leave(k);
        return chio__fail(err, CHIO_ELIMIT, CHIO_NO_OFFSET,
                          "listing nests more than %s calls on this kernel or %s on this "
                          "thread (a provider's list calling back in); no provider asked",
                          CHIO__MAX_CALL_DEPTH_TEXT, CHIO__MAX_THREAD_DEPTH_TEXT);
    }
    rc = list_entered(k, prompts, out, len, err);
    chio__kernel_leave(k);
    return rc;
}

int chio_kernel_list_resources(chio_kernel *k, char **out, size_t *len, chio_error *err)
{
    return list_all(k, 0, out, len, err);
}

int chio_kernel_list_prompts(chio_kernel *k, char **out, size_t *len, chio_error *err)
{
    return list_all(k, 1, out, len, err);
}
