/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chio/evaluate.h - what the kernel mediates: tool servers, resource and
 * prompt providers, guards (build phase); capabilities, revocation and
 * sessions; and the evaluation of tool calls, resource reads and prompt
 * gets, each ending in one signed, persisted receipt.
 *
 * Build phase: register everything with chio_kernel_register_*() and
 * chio_kernel_add_*_guard() before the first chio_kernel_open_session()
 * that succeeds. From then on registration fails with CHIO_ESERVING (and
 * with CHIO_EDRAINED once a drain began); there is no live reload.
 * Registered tables are read without locks while serving.
 *
 * The pipeline (spec/kernel.md "The pipeline, in order") runs on the
 * caller's thread: capability signature and issuer, time, revocation,
 * delegation chain, subject, scope and constraints, tool registration,
 * invocation budget, guards, dispatch, stream limits. Every decision is a
 * signed receipt committed to the store before the caller hears it; the
 * errors listed at chio_kernel_evaluate() are the only outcomes without one.
 */
#ifndef CHIO_EVALUATE_H
#define CHIO_EVALUATE_H

#include <stddef.h>
#include <stdint.h>

#include "chio/capability.h"
#include "chio/error.h"
#include "chio/export.h"
#include "chio/kernel.h"
#include "chio/receipt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- decision codes --------------------------------------------------------------- */

/* XX(NAME, "code string"): the stable codes of the pipeline, in its order. */
#define CHIO_CODE_MAP(XX)                                              \
    XX(NONE, "none")                                                   \
    XX(INVALID_SIGNATURE, "invalid_signature")                         \
    XX(UNTRUSTED_ISSUER, "untrusted_issuer")                           \
    XX(CAPABILITY_EXPIRED, "capability_expired")                       \
    XX(CAPABILITY_NOT_YET_VALID, "capability_not_yet_valid")           \
    XX(CAPABILITY_REVOKED, "capability_revoked")                       \
    XX(DELEGATION_INVALID, "delegation_invalid")                       \
    XX(DELEGATION_DEPTH_EXCEEDED, "delegation_depth_exceeded")         \
    XX(SUBJECT_MISMATCH, "subject_mismatch")                           \
    XX(OUT_OF_SCOPE, "out_of_scope")                                   \
    XX(CONSTRAINT_VIOLATED, "constraint_violated")                     \
    XX(TOOL_NOT_REGISTERED, "tool_not_registered")                     \
    XX(BUDGET_EXHAUSTED, "budget_exhausted")                           \
    XX(GUARD_DENIED, "guard_denied")                                   \
    XX(TOOL_ERROR, "tool_error")                                       \
    XX(STREAM_LIMIT, "stream_limit")                                   \
    XX(SAMPLING_NOT_ALLOWED, "sampling_not_allowed")                   \
    XX(SAMPLING_TOOL_USE_NOT_ALLOWED, "sampling_tool_use_not_allowed") \
    XX(ELICITATION_NOT_ALLOWED, "elicitation_not_allowed")             \
    XX(NOT_FOUND, "not_found")                                         \
    XX(CANCELLED, "cancelled")                                         \
    XX(UNSUPPORTED_GRANT, "unsupported_grant")                         \
    XX(UNKNOWN_CAPABILITY, "unknown_capability")                       \
    XX(ARGUMENTS_REJECTED, "arguments_rejected")                       \
    XX(INVALID_REQUEST, "invalid_request")

/* New codes are appended; there is no count member (abi.h). */
typedef enum chio_code {
#define CHIO__CODE_ENUM(name, str) CHIO_CODE_##name,
    CHIO_CODE_MAP(CHIO__CODE_ENUM)
#undef CHIO__CODE_ENUM
} chio_code;

/* The code's string ("budget_exhausted"); NULL outside the enum. Static,
 * never freed. Thread-safety: any thread. */
CHIO_EXTERN const char *chio_code_name(chio_code code);

/* Deprecated name of chio_errno_reason() (error.h; same result: static,
 * never NULL). */
CHIO_EXTERN const char *chio_error_code_name(int rc) CHIO_DEPRECATED("use chio_errno_reason");

/*
 * chio_kernel_unreceipted_errors - how many evaluations (tool calls,
 * resource reads, prompt gets, sync and async) ended in an error with no
 * receipt, for one @reason (a chio_errno_reason() string:
 * "invalid_arguments", "unknown_session", "session_draining",
 * "session_closed", "kernel_drained", "web3_evidence_required",
 * "store_failure", "internal_error") or for all of them (@reason NULL).
 * Also exported as chio_unreceipted_errors_total{reason=...} by
 * chio_kernel_metrics_prometheus(). 0 for an unknown reason or a NULL
 * kernel. Ownership: @reason borrowed. Thread-safety: any thread, any time.
 */
CHIO_EXTERN uint64_t chio_kernel_unreceipted_errors(const chio_kernel *k, const char *reason);

/* ---- outputs handed from callbacks to the kernel --------------------------------- */

/*
 * A slot a callback fills with its JSON answer (tool output, resource
 * content, prompt, host reply) or an error text. The kernel owns it; the
 * callback only calls the setters below, on its own thread, before it
 * returns.
 */
typedef struct chio_output chio_output;

/* Set the answer: @json is parsed (any JSON value, UTF-8, no NUL) and
 * copied. Returns 0, CHIO_EINVAL (@out or @json NULL; the answer is left
 * as it was) or the chio_json_parse() codes; a bad answer turns the call
 * (or the nested request the reply answers) into a tool error, and that
 * sticks: once a set failed, a later good answer is not taken (it returns
 * the first failure's code, a later bad one its own), so the call fails
 * whatever is set after. Ownership: @json borrowed. */
CHIO_EXTERN int chio_output_set_json(chio_output *out, const char *json, size_t len);

/* Set an error text (copied, truncated to 255 bytes) for the receipt's
 * reason. @message NULL clears it; @out NULL is ignored. After a failed
 * chio_output_set_json() the failure's text stays first ("result is not
 * valid JSON: ...; " then @message; NULL leaves the failure's text alone):
 * the call fails for that reason, whatever is set later. */
CHIO_EXTERN void chio_output_set_error(chio_output *out, const char *message);

/* ---- tool servers ----------------------------------------------------------------- */

typedef struct chio_tool_ctx chio_tool_ctx;

/*
 * A tool server. The kernel copies the struct, the id and the tool names at
 * registration; @user stays the caller's and is passed back to each call.
 *
 * invoke: run @tool on @arguments_json (canonical JSON of the call's
 *   arguments, NUL-terminated). Return 0 with the result set through
 *   chio_output_set_json(); any other return value is a tool error (the
 *   call is denied with code tool_error; chio_output_set_error() gives the
 *   reason). A result that was not set is JSON null.
 * invoke_stream: optional. When set it is used instead of @invoke for every
 *   tool of the server (@invoke may then be NULL); it sends chunks with chio_tool_ctx_emit_chunk()
 * and must stop when that returns CHIO_ESTREAM_LIMIT. The output of a streamed call is the JSON
 * array of its chunks (a result set with chio_output_set_json() is ignored; one it failed to set is
 * a tool error, even when a later set succeeded). Past a limit the tool heard of (a refused chunk
 * or nested request, or chio_tool_ctx_cancelled()) the call is `incomplete` whatever it returns; a
 * failure before that is a tool error. Both run on the caller's thread of chio_kernel_evaluate()
 * (or of chio_kernel_evaluate_async()), possibly on many threads at once.
 */
typedef struct chio_tool_server {
    const char *server_id;
    const char *const *tool_names;
    size_t ntools;
    int (*invoke)(void *user, chio_tool_ctx *ctx, const char *tool, const char *arguments_json,
                  size_t arguments_len, chio_output *out_result);
    int (*invoke_stream)(void *user, chio_tool_ctx *ctx, const char *tool,
                         const char *arguments_json, size_t arguments_len, chio_output *out_result);
    void *user;
    /* CHIO_TOOL_SERVER_* bits; an unknown bit fails registration with
     * CHIO_EINVAL. Took the place of reserved[0]: the struct keeps its size. */
    uintptr_t flags;
    void *reserved[3]; /* zero (abi.h rule 1): registration fails with CHIO_EINVAL otherwise */
} chio_tool_server;

/*
 * CHIO_TOOL_SERVER_ANY_TOOL - the server answers for any tool name, including
 * tools it adds while the kernel serves (an MCP server announcing
 * notifications/tools/list_changed): the registration check passes for
 * every name, so only the capability's scope, the guards and the server's
 * own answer decide. tool_names must then be empty (ntools 0). A call to a
 * tool the server does not have is the server's to refuse (a tool error,
 * with a receipt).
 */
#define CHIO_TOOL_SERVER_ANY_TOOL ((uintptr_t)1)

/*
 * chio_kernel_register_tool_server - add a tool server.
 * Returns: 0; CHIO_ESERVING (a session was opened already); CHIO_EDRAINED
 * (chio_kernel_drain() was called, as for every registration); CHIO_EDUPLICATE
 * (a server with this id is registered: server ids are unique); CHIO_EINVAL
 * (NULL or empty id, the id "*" (grants read it as any server), neither
 * invoke nor invoke_stream, a NULL or non-UTF-8 tool name, a non-zero
 * reserved byte); CHIO_ENOMEM.
 * Ownership: @server and its strings are copied; @server->user is borrowed
 * until chio_kernel_free(). Thread-safety: build phase, one thread.
 */
CHIO_EXTERN int chio_kernel_register_tool_server(chio_kernel *k, const chio_tool_server *server,
                                                 chio_error *err);

/*
 * chio_tool_ctx_emit_chunk - send one chunk (any JSON value) of a streamed
 * result. Returns 0 to go on; CHIO_ESTREAM_LIMIT when the chunk would pass
 * max_stream_total_bytes (it is dropped) or max_stream_duration_secs has
 * passed (the call ends incomplete; stop producing); chio_json_parse()
 * codes for a bad chunk (dropped; the call becomes a tool error, even when
 * a later chunk passes a limit), CHIO_EJSON_DEPTH among them for a chunk
 * nested deeper than CHIO_JSON_MAX_DEPTH - 1 (the output wraps the chunks
 * in one more array, and must stay readable by chio_json_parse());
 * CHIO_EINVAL, the chunk dropped, from any thread but the one running the
 * tool (its own reader thread too), once the tool returned, or for a NULL
 * @ctx or @json.
 * Ownership: @json is copied. Thread-safety: the invoking thread only
 * (checked); the context is gone once the call returns.
 */
CHIO_EXTERN int chio_tool_ctx_emit_chunk(chio_tool_ctx *ctx, const char *json, size_t len);

/*
 * chio_tool_ctx_cancelled - 1 once the host cancelled the call or its
 * timeout passed (see chio_kernel_evaluate_ex()), or, for a streamed call,
 * once max_stream_duration_secs passed; else 0. A long-running or blocking
 * tool should poll it and return; the call then ends with a `cancelled`
 * receipt whatever the tool returns (`incomplete`, with the chunks sent,
 * when only the stream duration passed). 0 for a NULL @ctx. Ownership:
 * @ctx is the kernel's. Thread-safety: any thread while the call runs.
 */
CHIO_EXTERN int chio_tool_ctx_cancelled(const chio_tool_ctx *ctx);

/* The call being served: strings owned by the kernel, valid during the
 * call; NULL for a NULL @ctx. */
CHIO_EXTERN const char *chio_tool_ctx_session_id(const chio_tool_ctx *ctx);
CHIO_EXTERN const char *chio_tool_ctx_request_id(const chio_tool_ctx *ctx);

/* ---- nested flows: sampling and elicitation --------------------------------------- */

typedef enum chio_nested_kind {
    CHIO_NESTED_SAMPLING = 0,            /* sampling/createMessage */
    CHIO_NESTED_SAMPLING_WITH_TOOLS = 1, /* the same, with tool use */
    CHIO_NESTED_ELICITATION = 2          /* elicitation/create */
} chio_nested_kind;

/*
 * The host's answer to an allowed nested request: set the reply with
 * chio_output_set_json() and return 0; any other return, or a reply it
 * failed to set (even when a later set succeeded), is a failure that
 * reaches the tool as CHIO_EFAILED (the child receipt a tool_error deny).
 * Called on the tool's thread.
 */
typedef int (*chio_nested_fn)(void *user, chio_nested_kind kind, const char *session_id,
                              const char *request_json, size_t request_len, chio_output *reply);

/*
 * chio_kernel_set_nested_handler - the host callback for allowed nested
 * requests (build phase). Without one (@fn NULL removes it) an allowed
 * request is answered with JSON null.
 * Returns: 0; CHIO_EINVAL (@k NULL); CHIO_ESERVING (a session was opened);
 * CHIO_EDRAINED. Ownership: @user borrowed until chio_kernel_free().
 */
CHIO_EXTERN int chio_kernel_set_nested_handler(chio_kernel *k, chio_nested_fn fn, void *user,
                                               chio_error *err);

/*
 * chio_tool_ctx_sample / chio_tool_ctx_elicit - from inside a running tool,
 * ask the agent's model for a completion (with tool use when @with_tools)
 * or the user for input. The kernel checks allow_sampling (and
 * allow_sampling_tool_use), or allow_elicitation, and signs a child receipt
 * for the request either way (tool_name "sampling/createMessage" or
 * "elicitation/create", the request as parameters); the child receipts come
 * back in the call's chio_response. A child receipt's request id is the
 * call's, then "/nested-<n>" (n counts the call's nested requests from 1);
 * a call's request id over 150 bytes stands there as its first 64 bytes,
 * "~sha256:" and the SHA-256 (hex) of the whole id, and its
 * parent_request_id is the whole id. @with_tools is a floor, not the
 * kernel's reading: a sampling request that is not a JSON object, or has
 * a member at any depth whose name, case folded and '_'/'-' dropped,
 * starts with "tool" ("tools", "toolChoice", "toolUseId", ...), is
 * sampling with tool use. Once the call is cancelled, past its timeout or past a
 * stream limit, every request is refused (child receipt code `cancelled`
 * or `stream_limit`) and the host is not asked; so is one made after the
 * call's token was revoked (it or an id in its chain) or expired
 * (`capability_revoked` / `capability_expired`). A call makes at most 1024
 * nested requests: the next fails with CHIO_ELIMIT and no child receipt,
 * and the call ends a tool_error deny whatever the tool returns. A
 * request text over max_argument_bytes is refused unparsed, and one whose
 * canonical form is too deep or too large for a receipt is refused too,
 * as is one past the call's budget (its child receipts hold at most 16 x
 * max_argument_bytes of request text together): arguments_rejected, the
 * host not asked, the child receipt stores a summary.
 * @request_json: any JSON value (the request body), @len bytes.
 * @reply: receives the answer; @reply_len: optional, its length (the reply
 * is NUL-terminated). *@reply is NULL on every failure.
 * Returns: 0 with *reply (JSON, free with chio_free()) when allowed;
 * CHIO_EDENIED when refused (the deny child receipt is signed); CHIO_EFAILED
 * when the host handler failed; CHIO_ELIMIT past the per-call cap;
 * chio_json_parse() codes for a bad request; signing errors; CHIO_EDEADLK,
 * before the host is asked and with no child receipt, for a tool of a
 * call submitted from a completion callback (it runs on the completion
 * thread) when the in-flight budget has no credit left for the child
 * receipt; CHIO_EDEADLK too, the host not asked and no child receipt, for
 * a tool of a call submitted from the kernel's log sink (it runs on the
 * sink's thread, under the log lock the commit thread may take before it
 * answers); CHIO_EINVAL, the host not asked and no child receipt, from any
 * thread but the one running the tool, once the tool returned, or from
 * inside the host's answer to another nested request of the same call;
 * CHIO_EINVAL too for a NULL @ctx, @request_json or @reply; CHIO_EFAILED,
 * the host not asked and no child receipt, once the kernel failed closed
 * after a receipt store error (no child receipt could be committed).
 * Ownership: @request_json borrowed (copied into the child receipt); the
 * caller frees *reply. Thread-safety: the invoking thread only (checked).
 */
CHIO_EXTERN int chio_tool_ctx_sample(chio_tool_ctx *ctx, const char *request_json, size_t len,
                                     int with_tools, char **reply, size_t *reply_len,
                                     chio_error *err);
CHIO_EXTERN int chio_tool_ctx_elicit(chio_tool_ctx *ctx, const char *request_json, size_t len,
                                     char **reply, size_t *reply_len, chio_error *err);

/* ---- resource and prompt providers ------------------------------------------------ */

/*
 * A resource provider. list: set a JSON array of resource descriptors.
 * read: set the content of @uri and return 0, or return CHIO_ENOTMINE when
 * the URI is not this provider's (the kernel asks the next one); any other
 * value is a read error. Called on the caller's thread.
 */
typedef struct chio_resource_provider {
    const char *provider_id;
    int (*list)(void *user, chio_output *out);
    int (*read)(void *user, const char *uri, chio_output *out);
    void *user;
    void *reserved[4]; /* zero (abi.h rule 1) */
} chio_resource_provider;

/*
 * A prompt provider. list: set a JSON array of prompt descriptors. get: set
 * the prompt @name rendered with @arguments_json (canonical JSON object) and
 * return 0, or CHIO_ENOTMINE when the name is not this provider's.
 */
typedef struct chio_prompt_provider {
    const char *provider_id;
    int (*list)(void *user, chio_output *out);
    int (*get)(void *user, const char *name, const char *arguments_json, size_t arguments_len,
               chio_output *out);
    void *user;
    void *reserved[4]; /* zero (abi.h rule 1) */
} chio_prompt_provider;

/* Register a provider; same rules, results and ownership as
 * chio_kernel_register_tool_server(): ids unique per kind (CHIO_EDUPLICATE);
 * CHIO_EINVAL for a NULL @k or @p, a NULL, empty or non-UTF-8 id, the id
 * "*" (a receipt's tool_server when no provider answered), no read/get, a
 * non-zero reserved field; @p and its id copied, @p->user
 * borrowed until chio_kernel_free(). */
CHIO_EXTERN int chio_kernel_register_resource_provider(chio_kernel *k,
                                                       const chio_resource_provider *p,
                                                       chio_error *err);
CHIO_EXTERN int chio_kernel_register_prompt_provider(chio_kernel *k, const chio_prompt_provider *p,
                                                     chio_error *err);

/* ---- guards ------------------------------------------------------------------------ */

typedef enum chio_guard_verdict { CHIO_GUARD_PASS = 0, CHIO_GUARD_DENY = 1 } chio_guard_verdict;

/* What a guard sees. Everything is owned by the kernel, valid during the
 * call; fields may be appended (abi.h rule 4). */
typedef struct chio_guard_input {
    const char *session_id;
    const char *request_id;
    const char *agent_id;
    const char *capability_id;
    const char *server_id;
    const char *tool_name;
    const char *arguments_json; /* canonical JSON */
    size_t arguments_len;
} chio_guard_input;

/*
 * A guard: decide pass or deny and optionally write evidence text (UTF-8,
 * NUL-terminated, at most @details_cap bytes with the NUL) into @details.
 * *@verdict is CHIO_GUARD_DENY when the guard is called. Return 0; any
 * other return value is a guard failure and denies (fail closed), and so
 * does a verdict other than CHIO_GUARD_PASS or CHIO_GUARD_DENY, with the
 * details "guard returned an invalid verdict N" in place of the guard's.
 * Called on the caller's thread, possibly on many at once.
 */
typedef int (*chio_guard_fn)(void *user, const chio_guard_input *in, chio_guard_verdict *verdict,
                             char *details, size_t details_cap);

/*
 * chio_kernel_add_guard - append a guard; guards run in the order added and
 * each one adds evidence {guard_name, verdict, details} to the receipt. The
 * first deny stops the chain (later guards do not run).
 * Returns: 0; CHIO_ESERVING; CHIO_EDRAINED; CHIO_EDUPLICATE (a guard with
 * this name); CHIO_EINVAL (@k, @name or @fn NULL, @name empty or not
 * UTF-8, or a decision code's name such as "capability_revoked": a
 * receipt's decision.guard names the kernel check that denied by its
 * code); CHIO_ENOMEM. Ownership: @name copied; @user borrowed until
 * chio_kernel_free().
 */
CHIO_EXTERN int chio_kernel_add_guard(chio_kernel *k, const char *name, chio_guard_fn fn,
                                      void *user, chio_error *err);

/*
 * Built-in guards. forbidden_path denies when any string or object key in
 * the arguments (at any depth), read as a path the way a tool would
 * (decoded, file: URLs, "."/".." and repeated separators resolved; words
 * of running text too), lies at or under one of @prefixes, by whole
 * segments and ASCII case-insensitively; a path that cannot be read
 * unambiguously denies; a string that starts with a prefix as written
 * denies too, and a prefix that cannot itself be read as a path ("../")
 * matches only that way (logged once: forbidden_prefix_as_written).
 * secret_leak denies when any string, key or
 * number matches one of @patterns (POSIX extended regular expressions as
 * chio_secret_pattern_check() describes them; another pattern fails
 * registration with CHIO_EINVAL), also with invisible
 * characters removed, fullwidth letters folded and encodings (%XX, \uXXXX,
 * \xHH, &#NN;) undone, up to four layers (a string still encoded after
 * them denies; so does a string whose search would take more than the
 * guard's work bound, linear in the arguments); the values it flags are
 * redacted in receipts
 * (docs/security.md). Same results and ownership as chio_kernel_add_guard();
 * the lists are copied. CHIO_EINVAL too for a NULL list with @n > 0 or a
 * NULL entry among the first @n.
 */
CHIO_EXTERN int chio_kernel_add_forbidden_path_guard(chio_kernel *k, const char *name,
                                                     const char *const *prefixes, size_t n,
                                                     chio_error *err);
CHIO_EXTERN int chio_kernel_add_secret_leak_guard(chio_kernel *k, const char *name,
                                                  const char *const *patterns, size_t n,
                                                  chio_error *err);

/*
 * chio_secret_pattern_check - would chio_kernel_add_secret_leak_guard()
 * accept @pattern? Secret patterns are POSIX extended regular expressions
 * read byte by byte (the C locale, whatever locale the host set), with
 * glibc's \w \W \s \S and word anchors \b \B \< \>, without
 * back-references or other escaped letters or digits (glibc read \d as
 * the letter d), and at most CHIO_SECRET_PATTERN_MAX_STATES
 * automaton states; the kernel searches them in time linear in the
 * arguments (docs/security.md). For checking a configuration before a
 * kernel is built.
 * Returns: 0; CHIO_EINVAL (@pattern NULL, not read, or too large: the
 * reason in @err); CHIO_ENOMEM. Ownership: @pattern borrowed; nothing
 * outlives the call. Thread-safe; the time and memory it takes are
 * bounded by the pattern's length.
 */
CHIO_EXTERN int chio_secret_pattern_check(const char *pattern, chio_error *err);

/*
 * chio_kernel_secret_flagged - would @k's secret_leak guards flag @text?
 * @text (@len bytes) is read as those guards read a string argument (the
 * same decodings, folds and embedded JSON). For a host that quotes text
 * the kernel never checked (a method name or request id a client chose)
 * in its own receipts, messages or logs: a text a secret_leak guard flags
 * is not quoted (docs/security.md). *@flagged is 1 when a guard flags
 * @text or its search could not finish (out of memory, past the guard's
 * work bound: fail closed), 0 when none does, @len is 0 or @k has no
 * secret_leak guard.
 * Returns: 0; CHIO_EINVAL (@k or @flagged NULL, @text NULL with @len > 0;
 * *@flagged is then 1 where @flagged is not NULL). Ownership: @text
 * borrowed; nothing outlives the call. Thread-safe; time linear in @len,
 * as the guard's search is.
 */
CHIO_EXTERN int chio_kernel_secret_flagged(chio_kernel *k, const char *text, size_t len,
                                           int *flagged);

/*
 * chio_regex_constraint_check - would the kernel enforce a regex_match
 * constraint with @pattern? A token's pattern is read as chio (Rust
 * `regex`) reads it and enforced only where it has an exact reading
 * (docs/security.md, "regex_match"); any other pattern makes check 6 deny
 * every call under its grant (constraint_violated). For checking a grant
 * before a token is issued (the MCP gateway's policy does). The pattern is
 * not searched here; at call time a search is bounded in work.
 * Returns: 0; CHIO_EINVAL (@pattern NULL, not read, or too large: the
 * reason in @err); CHIO_ENOMEM. Ownership: @pattern borrowed; nothing
 * outlives the call. Thread-safe; time and memory bounded by the
 * pattern's length.
 */
CHIO_EXTERN int chio_regex_constraint_check(const char *pattern, chio_error *err);

/*
 * chio_capability_never_allows - whether a tool grant of @cap holds a
 * constraint whose value alone makes check 6 deny every call under the
 * grant, whatever the arguments: a regex_match pattern
 * chio_regex_constraint_check() refuses, a path_prefix that is not a
 * valid prefix ("..") or holds a word break ("C:/w", "/a b"), a
 * domain_exact or domain_glob value that is empty or longer than a host
 * name, a domain_exact value that is no host name as hosts are read (a
 * scheme, port, path, '*', white space, a non-ASCII character or an empty
 * label: "https://example.com", "example.com:443", "*.example.com"), or a
 * domain_glob ending in '.' (hosts are read without their final dot). The kernel denies every call
 * under such a grant (constraint_violated); the other grants stay usable. What the arguments decide
 * is not judged (an empty path_prefix covers relative paths only), nor are grants
 * chio_capability_unenforced() names. Sets *@found to 1 when there is such a constraint, writing
 * the first one's description, NUL-terminated and cut to fit, into @why (when
 * @why_cap > 0), else to 0. Returns 0; CHIO_EINVAL when @cap or @found is
 * NULL, or @why is NULL with @why_cap > 0; CHIO_ENOMEM (*@found 0: a
 * pattern could not be compiled). Ownership: @cap borrowed, @why the
 * caller's. Thread-safety: any thread; nothing outlives the call.
 */
CHIO_EXTERN int chio_capability_never_allows(const chio_capability *cap, int *found, char *why,
                                             size_t why_cap);

/*
 * chio_capability_grants_read - would a resource read of @uri under @cap
 * pass the scope check? The check chio_kernel_read_resource() makes, run
 * alone: a resource grant with "read" whose uri_pattern matches @uri, where
 * a URI that can be read as holding a "." or ".." segment or an empty one
 * (as written, percent-decoded once or more, a backslash as a slash, "..;x"
 * as "..": docs/security.md) is covered only by "*" or an exact pattern,
 * and a grant with a field the kernel does not enforce covers nothing; an
 * empty @uri never passes (a read of it is denied invalid_request). Not
 * checked: the token's signature, issuer, time and revocation, and the
 * guards; no receipt is written. For a host that shows a client only the
 * resources it could read (the MCP gateway's resources/list and resource
 * updates, docs/mcp.md). Sets *@granted to 1 or 0.
 * Returns: 0; CHIO_EINVAL (@cap, @uri or @granted NULL, or @uri not UTF-8,
 * as a read refuses it; *@granted 0 where not NULL). Ownership: all
 * borrowed; nothing outlives the call. Thread-safety: any thread.
 */
CHIO_EXTERN int chio_capability_grants_read(const chio_capability *cap, const char *uri,
                                            int *granted);

/* The most automaton states a secret pattern may have (a counted
 * repetition takes about two states per count: x{1,9000} is too large). */
#define CHIO_SECRET_PATTERN_MAX_STATES 16384

/* ---- capabilities and revocation -------------------------------------------------- */

/*
 * chio_kernel_issue_capability - sign a capability with the kernel's own
 * key (the kernel always trusts itself as an issuer). Arguments as for
 * chio_capability_issue(); @issued_at 0 means the kernel's clock now. An
 * @id longer than CHIO_MAX_REVOCATION_ID_LEN bytes is refused
 * (CHIO_ETOOBIG): a token the kernel could not revoke is denied at check 3.
 * Returns: as chio_capability_issue(), plus CHIO_EINVAL for a NULL @k,
 * CHIO_ETOOBIG, and CHIO_EDRAINED once chio_kernel_drain() was called (a
 * drained kernel answers every call with an error); *@out is NULL on
 * failure.
 * Ownership: every argument borrowed; caller frees *out with
 * chio_capability_free().
 */
CHIO_EXTERN int chio_kernel_issue_capability(chio_kernel *k, const char *id,
                                             const char *subject_hex, const char *scope_json,
                                             size_t scope_len, uint64_t issued_at,
                                             uint64_t ttl_secs, chio_capability **out,
                                             chio_error *err);

/* Bounds of a kernel's revocation list: the longest capability id that can
 * be revoked (bytes, without the NUL) and the most revocations it holds. */
#define CHIO_MAX_REVOCATION_ID_LEN 256
#define CHIO_MAX_REVOCATIONS       1000000

/*
 * chio_kernel_revoke_capability - revoke a capability id. The revocation is
 * written to the receipt store (synced) before it takes effect and is
 * reloaded on the next start; from then on every token whose id, or any
 * capability_id in whose delegation chain, is @capability_id is denied with
 * capability_revoked. That includes a tool call in flight whose tool has
 * not started: check 3 runs again just before the dispatch, so a call
 * whose guards were still running when this returned is denied and its
 * tool never runs (a tool already running finishes; its receipt says
 * allow). Revoking twice is a no-op. Opens the store if needed.
 * The list is bounded: ids longer than CHIO_MAX_REVOCATION_ID_LEN bytes are
 * refused (CHIO_ETOOBIG), and once CHIO_MAX_REVOCATIONS ids are revoked a
 * new one is refused (CHIO_ELIMIT; revoking one already listed still
 * succeeds).
 * Returns: 0; CHIO_EINVAL (@k or @capability_id NULL, an empty or
 * non-UTF-8 id); CHIO_ETOOBIG;
 * CHIO_ELIMIT; CHIO_EDRAINED; store errors (the write failed: the kernel
 * has failed closed, and every later call gets CHIO_EFAILED); CHIO_EFAILED
 * once the kernel has failed closed for any store error, the revocation
 * not written (revoke again after reopening; an id already revoked still
 * answers 0); CHIO_ENOMEM.
 * Ownership: @capability_id copied.
 * Thread-safety: any thread, any time while serving.
 */
CHIO_EXTERN int chio_kernel_revoke_capability(chio_kernel *k, const char *capability_id,
                                              chio_error *err);

/*
 * chio_kernel_is_revoked - is @capability_id on the kernel's revocation list?
 * The list includes the revocations of earlier runs on the same store: a
 * kernel not started yet is started first (as chio_kernel_start(); the
 * store is opened and its revocations loaded).
 * Returns: 1 when it is revoked, 0 when it is not (never revoked; a
 * revocation is never dropped); a negative
 * code when the question cannot be answered: CHIO_EINVAL (@k or
 * @capability_id is NULL), or, for a kernel not started yet, the start's
 * error (store errors, CHIO_EDRAINED when it was drained before it ever
 * started, CHIO_EDEADLK from its log sink or clock). Test `== 1` for
 * revoked and `< 0` for unanswered (a host gating on it refuses then),
 * never for nonzero. Ownership: @capability_id borrowed.
 * Thread-safety: any thread, any time.
 */
CHIO_EXTERN int chio_kernel_is_revoked(chio_kernel *k, const char *capability_id);

/* ---- sessions --------------------------------------------------------------------- */

#define CHIO_SESSION_ID_LEN 27 /* "sess-" + 22 base64url characters */

/* XX(NAME, "name"): the session states, in enum order from 0. */
#define CHIO_SESSION_STATE_MAP(XX)   \
    XX(INITIALIZING, "initializing") \
    XX(READY, "ready")               \
    XX(DRAINING, "draining")         \
    XX(CLOSED, "closed")

typedef enum chio_session_state {
#define CHIO__SESSION_STATE_ENUM(name, str) CHIO_SESSION_##name,
    CHIO_SESSION_STATE_MAP(CHIO__SESSION_STATE_ENUM)
#undef CHIO__SESSION_STATE_ENUM
} chio_session_state;

/* "initializing", "ready", "draining", "closed"; NULL outside the enum.
 * Static strings, never freed. Thread-safety: any thread. */
CHIO_EXTERN const char *chio_session_state_name(chio_session_state s);

/* Most capability tokens one session holds (each is parsed and kept for
 * the session's life). */
#define CHIO_MAX_SESSION_TOKENS 16384

/*
 * chio_kernel_open_session - open a session for @agent_id (the agent's
 * public key as hex; other strings are kept verbatim and then match no
 * capability subject) holding @ncaps capability tokens (JSON texts).
 * Opening the first session closes registration.
 * Each token is parsed (not verified: verification happens per call, so a
 * tampered token is denied with a receipt). Two tokens with one id and
 * different bytes are refused (CHIO_EDUPLICATE); identical copies collapse.
 * At most CHIO_MAX_SESSION_TOKENS tokens (more: CHIO_ETOOBIG).
 * @capability_lens: the byte length of each token, or NULL when every
 * token is NUL-terminated.
 * Returns: 0 with the id in @id_out (CHIO_SESSION_ID_LEN + 1 bytes);
 * CHIO_EINVAL (@k, @agent_id or @id_out NULL, @capabilities_json NULL with
 * @ncaps > 0, a NULL token, a non-UTF-8 @agent_id); CHIO_ETOOBIG (also a
 * token over CHIO_JSON_MAX_INPUT); chio_capability_parse() codes (the
 * message names the token index); CHIO_EDUPLICATE; CHIO_EDRAINED;
 * CHIO_ENOMEM. Ownership: everything is copied. Thread-safety: any thread.
 */
CHIO_EXTERN int chio_kernel_open_session(chio_kernel *k, const char *agent_id,
                                         const char *const *capabilities_json,
                                         const size_t *capability_lens, size_t ncaps,
                                         char id_out[CHIO_SESSION_ID_LEN + 1], chio_error *err);

/*
 * chio_kernel_begin_draining_session - refuse new calls on the session
 * (they get CHIO_ESESSION_DRAINING and no receipt); calls in flight finish.
 * Draining a draining session is a no-op.
 * Returns: 0; CHIO_ENOSESSION (also for a NULL @session_id);
 * CHIO_ESESSION_CLOSED; CHIO_EINVAL (@k NULL). Ownership: @session_id
 * borrowed. Thread-safety: any thread.
 */
CHIO_EXTERN int chio_kernel_begin_draining_session(chio_kernel *k, const char *session_id,
                                                   chio_error *err);

/*
 * chio_kernel_close_session - close a session. With calls in flight the
 * session is forced to draining and the call fails with
 * CHIO_ESESSION_ACTIVE, message "cannot close while N request(s) remain
 * active"; close again once they finish. Closing a closed session is a
 * no-op (0). A closed session releases its tokens and keeps only its id
 * and state (so later calls get CHIO_ESESSION_CLOSED, not "unknown"), for
 * the last 4096 sessions closed: an id closed longer ago is unknown again
 * (CHIO_ENOSESSION, here, for calls and from chio_kernel_session_state()).
 * Returns: 0; CHIO_ENOSESSION (also for a NULL @session_id);
 * CHIO_ESESSION_ACTIVE; CHIO_EINVAL (@k NULL). Ownership: @session_id
 * borrowed. Thread-safety: any thread.
 */
CHIO_EXTERN int chio_kernel_close_session(chio_kernel *k, const char *session_id, chio_error *err);

/* The session's state into *@state (CHIO_SESSION_CLOSED for a closed one).
 * Returns 0, CHIO_ENOSESSION (also for a NULL @session_id) or CHIO_EINVAL
 * (@k or @state NULL). Ownership: @session_id borrowed. Thread-safety: any. */
CHIO_EXTERN int chio_kernel_session_state(chio_kernel *k, const char *session_id,
                                          chio_session_state *state);

/* ---- evaluation --------------------------------------------------------------------- */

/* One tool call. Strings are borrowed for the duration of the call. Zero
 * it before setting fields (abi.h rule 1): a non-zero reserved byte makes
 * the evaluation fail with CHIO_EINVAL. */
typedef struct chio_call {
    const char *session_id;
    const char *request_id;    /* NULL: the kernel generates a UUIDv7; the host's
                                  id is written as given, never checked for
                                  uniqueness. A receipt's id is the hash of its
                                  body: two calls alike in every field, this id
                                  and the second included, get byte-identical
                                  receipts, both in the log (review 19) */
    const char *capability_id; /* one of the session's tokens */
    const char *server_id;
    const char *tool_name;
    const char *arguments_json; /* NULL (with arguments_len 0): {} */
    size_t arguments_len;       /* bytes at arguments_json; a length with a NULL
                                   text is CHIO_EINVAL */
    void *reserved[4];          /* zero */
} chio_call;

/*
 * The answer. Caller-allocated; zero it or chio_response_init() it, and
 * release it with chio_response_destroy(). The library writes every byte,
 * the reserved tail as zeros (abi.h rule 2).
 */
typedef struct chio_response {
    chio_verdict verdict; /* CHIO_VERDICT_ALLOW, _DENY, _INCOMPLETE or _CANCELLED */
    chio_code code;       /* CHIO_CODE_NONE on allow */
    char *reason;         /* "" on allow */
    char *output;         /* canonical JSON of the tool output; NULL when denied */
    size_t output_len;
    char *request_id;        /* the request id used */
    chio_receipt *receipt;   /* the signed, committed receipt */
    chio_receipt **children; /* child receipts of nested requests, in order */
    size_t nchildren;
    void *reserved[4]; /* zero; later fields come from here */
} chio_response;

/* chio_response_init - zero @r (NULL is ignored). */
CHIO_EXTERN void chio_response_init(chio_response *r);
/* chio_response_destroy - free everything @r owns and zero it, so a second
 * call is a no-op; NULL is ignored. A field set to NULL by the caller (to
 * keep it; the caller then frees it) is skipped. */
CHIO_EXTERN void chio_response_destroy(chio_response *r);

/*
 * chio_kernel_evaluate - run the pipeline for @call, dispatch it when
 * allowed, sign and commit the receipt, fill @resp.
 * Returns 0 when a decision was made (allow, deny or incomplete: read
 * resp->verdict); the receipt is committed. Well-formed calls the kernel
 * refuses are decisions too: a capability id the session does not hold
 * (unknown_capability), an empty or over-long request id, server id or
 * tool name, a call made from inside 16 calls on @k on this thread (a tool
 * or nested handler calling back in: nothing runs, before the stack runs
 * out) (invalid_request), arguments too deep or large for a receipt,
 * or whose text is longer than the kernel's max_argument_bytes (4 MiB by
 * default; that text is never parsed, the receipt stores a summary and
 * binds the SHA-256 of the raw text as
 * metadata.redaction.original_parameter_hash) (arguments_rejected). The
 * same cap holds for prompt arguments. Errors, with no receipt (only what
 * cannot be put in one, and what kernel.md lists): CHIO_EINVAL (NULL or
 * non-UTF-8 strings, non-zero reserved bytes in @call or the options, and
 * arguments holding a string with a NUL, \u0000, which no receipt can
 * store);
 * CHIO_ENOSESSION (also for a NULL or malformed session id: it names no
 * session); CHIO_ESESSION_DRAINING; CHIO_ESESSION_CLOSED; CHIO_EDRAINED;
 * CHIO_EWEB3; the chio_json_parse() codes for arguments that are not JSON
 * (malformed, invalid UTF-8, a key with a NUL, deeper than
 * CHIO_JSON_MAX_DEPTH); CHIO_ESTORE / CHIO_EFAILED (the
 * receipt could not be committed: never an allow, and no further tool
 * runs); CHIO_ENOMEM. Each is counted (chio_kernel_unreceipted_errors()).
 * CHIO_EDEADLK (not counted): called from a completion callback
 * (chio_evaluate_cb, chio_sign_cb), where it would wait for the callback's
 * own thread, or from @k's clock (kernel.h); it fails before any check or
 * dispatch. Use chio_kernel_evaluate_async() from a callback.
 * Ownership: @call borrowed; @resp filled, caller destroys it (also after
 * an error: it is then empty). Thread-safety: any number of threads, but
 * not from a completion callback.
 */
CHIO_EXTERN int chio_kernel_evaluate(chio_kernel *k, const chio_call *call, chio_response *resp,
                                     chio_error *err);

/* Options for chio_kernel_evaluate_ex(). Zero = none. */
typedef struct chio_call_options {
    /* The host sets *cancel to nonzero (from any thread) to cancel the call;
     * read atomically. Borrowed for the duration of the call. */
    const int *cancel;
    /* Cancel by itself this many milliseconds after the call started
     * (monotonic clock); 0 = no timeout, and so is a value whose deadline
     * would pass 2^64 nanoseconds (it never wraps to one already passed). */
    uint64_t timeout_ms;
    /* CHIO_CALL_* bits; an unknown bit is CHIO_EINVAL (before any check,
     * no receipt). Took the place of reserved[0]: the struct keeps its size
     * and layout, and a zeroed struct still means "no options". */
    uintptr_t flags;
    /* For chio_kernel_read_resource_ex() and chio_kernel_get_prompt_ex():
     * the id of the one provider the read or get is for, or NULL for every
     * provider in registration order. When set, only that provider is
     * asked (not_found when it answers CHIO_ENOTMINE or no provider has
     * that id), guards see it as the server, and the receipt names it as
     * tool_server whatever the decision, a denial before any provider ran
     * included (the MCP gateway sets its server_id: review 17). A tool
     * call needs NULL; an empty or non-UTF-8 id, "*" or one over 64 KiB
     * is CHIO_EINVAL, nothing signed. Borrowed for the call. Took the place of
     * reserved[0], as flags did: size and layout unchanged. */
    const char *provider;
    void *reserved[2]; /* zero (abi.h rule 1): CHIO_EINVAL otherwise */
} chio_call_options;

/*
 * CHIO_CALL_DECIDE_ONLY - decide, sign and commit, but run nothing: the host
 * runs the tool itself after an allow (the deployment of a sidecar, which
 * answers for tools it cannot reach). Every check of the pipeline runs
 * except the tool's registration (check 7: the kernel has no tool to find;
 * the capability's scope still names the server and tool), and the
 * receipt is what a registered tool that set no result gives: on allow,
 * output JSON `null` and the content hash of `null`. Guards, budgets,
 * cancellation and the timeout apply as for any call. Without the flag an
 * unregistered tool is denied tool_not_registered, as before.
 */
#define CHIO_CALL_DECIDE_ONLY ((uintptr_t)1)

/*
 * chio_kernel_evaluate_ex - chio_kernel_evaluate() with cancellation. A
 * call cancelled before the tool runs is not dispatched; one cancelled while
 * its tool runs ends when the tool returns (tools poll
 * chio_tool_ctx_cancelled(), and streamed chunks are refused with
 * CHIO_ECANCELLED). Either way the decision is verdict `cancelled`, code
 * `cancelled`, with a signed receipt ({"verdict":"cancelled","reason":..})
 * and no output. Results and ownership otherwise as chio_kernel_evaluate();
 * @opts may be NULL and is borrowed for the call (unknown flag bits or a
 * non-zero reserved field: CHIO_EINVAL, nothing signed).
 */
CHIO_EXTERN int chio_kernel_evaluate_ex(chio_kernel *k, const chio_call *call,
                                        const chio_call_options *opts, chio_response *resp,
                                        chio_error *err);

/*
 * Completion of chio_kernel_evaluate_async(): called exactly once, on the
 * kernel's completion thread (never the commit thread) after the receipt
 * was committed (@rc 0) or with an error (@rc < 0, @resp empty, @err says
 * why). @resp and @err are valid during the call only; to keep a field,
 * take it and set it to NULL. From the callback, asynchronous calls work
 * (when the in-flight budget is spent they fail at once with CHIO_EDEADLK,
 * before any check or dispatch) and synchronous ones fail at once with
 * CHIO_EDEADLK (see chio_sign_cb in kernel.h).
 */
typedef void (*chio_evaluate_cb)(void *ctx, int rc, chio_response *resp, const chio_error *err);

/*
 * chio_kernel_evaluate_async - the checks and the dispatch run on the
 * caller's thread; the receipt is signed and committed by the signing
 * pipeline and @cb runs after that, without the caller waiting.
 * Blocks while the kernel's in-flight budget is spent (kernel.h), except
 * from a completion callback or the log sink, where it fails at once with
 * CHIO_EDEADLK, before any check or dispatch. The call stops counting
 * in its session (chio_kernel_close_session()) once its receipt is handed
 * to the signing pipeline, before @cb can run: @cb may close the session.
 * Returns: 0 (@cb will run); or an error of chio_kernel_evaluate() (a
 * NULL @call or @cb is CHIO_EINVAL), and then @cb will not run.
 * Ownership: @call borrowed for this call only (it may be freed once it
 * returns); @ctx the caller's, handed to @cb.
 */
CHIO_EXTERN int chio_kernel_evaluate_async(chio_kernel *k, const chio_call *call,
                                           chio_evaluate_cb cb, void *ctx, chio_error *err);

/*
 * chio_kernel_read_resource / chio_kernel_get_prompt - the same pipeline for
 * a resource read (checked against resource_grants with operation "read")
 * or a prompt get (prompt_grants, operation "get"). Checks 1-5 as for
 * tools, then scope (out_of_scope), guards (they see server "*", or
 * chio_call_options.provider), then the
 * providers in registration order: the first that does not answer
 * CHIO_ENOTMINE serves it (tool_error when it fails; not_found when every
 * one answers CHIO_ENOTMINE). The receipt's tool_server is the
 * answering provider's id ("*" when none; with chio_call_options.provider,
 * that id), tool_name "resources/read" or
 * "prompts/get", parameters {"uri":..} or {"name":..,"arguments":..}.
 * @arguments_json: @arguments_len bytes of JSON, or NULL with a length of
 * 0 for {} (NULL with a length is CHIO_EINVAL); JSON that is not an object
 * ([1], "x", null) is denied invalid_request with a receipt, the providers
 * not asked. @request_id: NULL for a generated one.
 * Results as chio_kernel_evaluate(); a NULL or non-UTF-8 @uri or @name is
 * CHIO_EINVAL, counted like the other errors without a receipt.
 * Ownership: every string borrowed for the call; @resp as for
 * chio_kernel_evaluate(). Thread-safety: any thread, not from a callback.
 */
CHIO_EXTERN int chio_kernel_read_resource(chio_kernel *k, const char *session_id,
                                          const char *request_id, const char *capability_id,
                                          const char *uri, chio_response *resp, chio_error *err);
CHIO_EXTERN int chio_kernel_get_prompt(chio_kernel *k, const char *session_id,
                                       const char *request_id, const char *capability_id,
                                       const char *name, const char *arguments_json,
                                       size_t arguments_len, chio_response *resp, chio_error *err);

/*
 * chio_kernel_read_resource_ex / chio_kernel_get_prompt_ex - the same with
 * cancellation (@opts->cancel, @opts->timeout_ms; @opts may be NULL). A
 * request cancelled before its provider runs is not passed to it; one
 * cancelled while the provider runs ends when the provider returns (a
 * provider that can stop early learns of it from its own host: the kernel
 * passes it no context). Either way the decision is verdict `cancelled`,
 * code `cancelled`, with a signed receipt and no output, as for tools.
 * @opts->flags must be 0 (CHIO_CALL_DECIDE_ONLY is for tool calls) and
 * its reserved bytes zero: CHIO_EINVAL otherwise, nothing signed. @opts
 * borrowed for the call; the rest as chio_kernel_read_resource().
 */
CHIO_EXTERN int chio_kernel_read_resource_ex(chio_kernel *k, const char *session_id,
                                             const char *request_id, const char *capability_id,
                                             const char *uri, const chio_call_options *opts,
                                             chio_response *resp, chio_error *err);
CHIO_EXTERN int chio_kernel_get_prompt_ex(chio_kernel *k, const char *session_id,
                                          const char *request_id, const char *capability_id,
                                          const char *name, const char *arguments_json,
                                          size_t arguments_len, const chio_call_options *opts,
                                          chio_response *resp, chio_error *err);

/*
 * chio_kernel_list_resources / chio_kernel_list_prompts - every provider's
 * list, concatenated into one JSON array (no check, no receipt: listing is
 * discovery). @len optional. The providers' list functions run inside the
 * kernel, as their reads do: chio_kernel_drain() from one fails with
 * CHIO_EDEADLK.
 * Returns: 0; CHIO_EINVAL (@k or @out NULL); CHIO_EFORMAT (a provider's
 * list failed or is not a JSON array; the message names it); CHIO_ELIMIT
 * (a provider's list listing back in: from inside 16 calls on @k, or 64
 * on any kernel, on this thread; no provider is asked); CHIO_EDRAINED once a
 * drain began (no provider is asked); CHIO_EDEADLK from @k's clock;
 * CHIO_ENOMEM. *@out is NULL on failure. Ownership: caller frees *out
 * with chio_free().
 * Thread-safety: any thread (the providers' list callbacks run on it).
 */
CHIO_EXTERN int chio_kernel_list_resources(chio_kernel *k, char **out, size_t *len,
                                           chio_error *err);
CHIO_EXTERN int chio_kernel_list_prompts(chio_kernel *k, char **out, size_t *len, chio_error *err);

#ifdef __cplusplus
}
#endif

#endif /* CHIO_EVALUATE_H */
