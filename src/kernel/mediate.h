/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/mediate.h - the mediation half of the kernel (chio/evaluate.h),
 * shared by its files:
 *   registry.c     tool servers, providers, guards, built-in guards;
 *   session.c      the session table and its state machine;
 *   authz.c        checks 1-6 (token, scope), verified-token cache, issuing;
 *   revocation.c   the revocation list (check 3) and the reclaiming sweep;
 *   budget.c       check 8: invocation budgets;
 *   constraints.c  the argument constraints of check 6;
 *   evaluate.c     the pipeline of a tool call (its entry points, sync and async);
 *   request.c      the request: admission, argument caps, pre-checks, guards;
 *   dispatch.c     dispatch, the tool context: streams, cancellation;
 *   nested.c       nested sampling/elicitation and their child receipts;
 *   decision.c     the decision's receipt and the response;
 *   providers.c    resource reads and prompt gets;
 *   codes.c        code and error names, errors without a receipt, key memory.
 * The pipeline's files share request.h.
 * Registries are written in the build phase only and read without locks
 * afterwards (the `serving` flag is the publication point). The concurrent
 * tables are chio__shmap instances owned by struct chio__mediation.
 */
#ifndef CHIO_KERNEL_MEDIATE_H
#define CHIO_KERNEL_MEDIATE_H

#include <stdint.h>

#include "chio/evaluate.h"
#include "normalize.h"
#include "shmap.h"

struct chio_span; /* chio/otel.h, OTEL=1 builds */

/* ---- registries ------------------------------------------------------------------- */

typedef struct chio__server_reg {
    chio_tool_server s; /* s.server_id and s.tool_names point at the copies below */
    char *id;
    char **tools;
} chio__server_reg;

typedef struct chio__provider_reg {
    char *id;
    chio_resource_provider resource; /* one of the two, by table */
    chio_prompt_provider prompt;
} chio__provider_reg;

typedef struct chio__guard_reg {
    char *name;
    chio_guard_fn fn;
    void *user;
    /* built-ins keep their lists here; they get the reg itself as user */
    struct chio_kernel *k; /* the kernel (its other guards: what their evidence may quote) */
    int builtin;
    char **prefixes;
    char **norm_prefixes; /* each normalised once, at registration; NULL: not a path */
    size_t *norm_lens;    /* their lengths */
    /* 1 where the prefix as written ends inside a name ("/etc/shadow",
     * "/root/.ssh/id_"): kernel.md's "starts with" covers "/etc/shadow-",
     * so a reading need only start with it, not hold it as whole segments */
    unsigned char *norm_open;
    size_t nprefixes;
    /* The same guard with only its open prefixes (those norm_open marks),
     * built at registration for the cwd reading of a bare name
     * (guard_path_cwd.c); its arrays point into this guard's, and
     * open_map[i] is the index here of its prefix i. NULL when no prefix
     * is open. */
    struct chio__guard_reg *open_view;
    size_t *open_map;
    struct chio__nfa **regexes; /* secret_leak patterns (regex_nfa.h) */
    size_t nregexes;
} chio__guard_reg;

/* ---- sessions --------------------------------------------------------------------- */

typedef struct chio__session_cap {
    chio_capability *cap;
    uint8_t hash[32]; /* sha256 of the token's canonical bytes: the cache key */
} chio__session_cap;

typedef struct chio__session {
    char id[CHIO_SESSION_ID_LEN + 1];
    char *agent; /* normalised agent id */
    /* One atomic word, so that admission and close read both at once: the
     * state (chio_session_state) in the high 32 bits, the calls between
     * session_enter and session_leave in the low 32 (session.c). */
    uint64_t sw;
    uint32_t refs; /* the table's reference + one per chio__session_find (atomic) */
    chio__session_cap *caps;
    size_t ncaps;
} chio__session;

/* ---- the mediation state of a kernel ------------------------------------------------- */

typedef struct chio__mediation {
    int serving; /* registration closed (atomic; set by the first open_session) */
    pthread_mutex_t build_mu;
    chio__server_reg *servers;
    size_t nservers;
    chio__provider_reg *resources, *prompts;
    size_t nresources, nprompts;
    chio__guard_reg *guards;
    size_t nguards;
    chio_nested_fn nested_fn;
    void *nested_user;
    uint8_t *trusted; /* CA keys then the kernel's own key, 32 bytes each */
    size_t ntrusted;
    chio__shmap sessions;    /* id -> chio__session */
    chio__shmap token_cache; /* sha256(token) -> chio__verified */
    chio__shmap revocations; /* capability id -> (void *)1; never dropped */
    chio__shmap budgets;     /* capability id NUL grant index -> uint64_t counter */
    chio__shmap regexes;     /* pattern -> chio__regex (constraint patterns) */
    chio__shmap held;        /* capability id -> chio__held (budget_held.c) */
    pthread_mutex_t held_mu; /* the held entries' counts and expiries */
    int revocations_loaded;  /* atomic; under the kernel's start_mu */
    /* Issue 11: reclaiming (session.c, budget.c, revocation.c). Closed
     * sessions leave the table; the ids of the last CHIO__SESSION_TOMBSTONES
     * closed ones stay in `closed` (FIFO ring under tomb_mu) so a late call
     * is told "closed"; older ones are unknown. Budgets removed by a sweep
     * wait on retired_budgets (a stack) until the commit thread deletes
     * their rows. */
    chio__shmap closed; /* session id -> (void *)1 */
    pthread_mutex_t tomb_mu;
    char (*tomb_ring)[CHIO_SESSION_ID_LEN + 1];
    size_t tomb_head, tomb_n;
    void *retired_budgets;     /* chio__budget stack (atomic head) */
    uint64_t next_sweep;       /* kernel time of the next budget sweep (atomic) */
    size_t sweep_min_rows;     /* CHIO__SWEEP_MIN_ROWS (tests lower it before any call) */
    size_t sweep_max_budgets;  /* CHIO__BUDGET_SWEEP_MAX (likewise) */
    uint32_t badsig_hold_secs; /* CHIO__BADSIG_HOLD_SECS (likewise) */
    /* The latest expires_at of a budget dropped because its capability
     * had expired (atomic; see chio__expired_floor_raise). */
    uint64_t expired_floor;
#ifdef CHIO_OTEL
    void (*span_fn)(void *ctx, const struct chio_span *span); /* otel.c; build phase */
    void *span_ctx;
#endif
} chio__mediation;

/* Cached result of the expensive, time-independent part of checks 1 and 4. */
typedef struct chio__verified {
    uint8_t sig_ok, issuer_trusted, chain_ok;
} chio__verified;

/* A compiled constraint pattern (err != 0: refused or invalid, denies).
 * Referenced by the pattern cache and by each matcher using it (atomic
 * refs); freed by the last release, so eviction never frees a pattern
 * another thread is matching with. */
typedef struct chio__regex {
    int err; /* 0, or why the pattern did not compile (CHIO_EINVAL, CHIO_ETOOBIG) */
    uint32_t refs;
    struct chio__nfa *nfa; /* regex_nfa.h; NULL unless err is 0 */
} chio__regex;

/* Bounds of the caches (entries; per shard: the bound / CHIO__SHMAP_SHARDS). */
#define CHIO__TOKEN_CACHE_MAX (256u * 1024u)
#define CHIO__REGEX_CACHE_MAX 4096u
/* ...and the pattern cache's bytes (patterns and their automata): 4096
 * of the largest automata a pattern may build (about 190 KiB) would hold
 * some 780 MiB. A pattern evicted is compiled again when next used (tens
 * of microseconds for the largest). */
#define CHIO__REGEX_CACHE_BYTES ((size_t)32 << 20)
/* How long the token cache holds a signature that did not verify (twice
 * in a row) before verifying it again (authz.c): a valid token whose two
 * verifications both failed for lack of memory is usable again at most
 * this long after memory is back; a forged token costs at most two
 * verifications per this long, however often it is presented. Only for a
 * token of HOLD_MIN_BYTES or more (canonical JSON): verifying a smaller
 * one (about 0.3 ms at 64 KiB) costs less than the rest of a call, so
 * its failure is never held and memory short while it was checked never
 * denies it once memory is back. */
#define CHIO__BADSIG_HOLD_SECS      30u
#define CHIO__BADSIG_HOLD_MIN_BYTES ((size_t)64 << 10)
#define CHIO__SESSION_TOMBSTONES    4096u

struct chio_kernel;

/* registry.c */
int chio__mediation_init(struct chio_kernel *k);
void chio__mediation_destroy(struct chio_kernel *k);
const chio__server_reg *chio__find_server(struct chio_kernel *k, const char *id);
int chio__server_has_tool(const chio__server_reg *r, const char *tool);

/* session.c */
void chio__session_free(void *session);
/* The session @id with a reference the caller drops with
 * chio__session_put; NULL when it is not in the table (closed and freed,
 * or never opened: chio__session_recently_closed tells them apart for the
 * last CHIO__SESSION_TOMBSTONES closed). */
chio__session *chio__session_find(struct chio_kernel *k, const char *id);
int chio__session_recently_closed(struct chio_kernel *k, const char *id);
void chio__session_hold(void *session);
void chio__session_put(chio__session *s);
/* Entries in the session table (open, draining and not yet freed). */
size_t chio__session_count(struct chio_kernel *k);
/* Count a call in; 0 or CHIO_ESESSION_DRAINING / CHIO_ESESSION_CLOSED. */
int chio__session_enter(chio__session *s);
void chio__session_leave(chio__session *s);
const chio__session_cap *chio__session_find_cap(const chio__session *s, const char *capability_id);

/* authz.c: checks 1-5 (the token), 6 (scope); budget.c: 8. Each returns
 * CHIO_CODE_NONE on pass, else the code with a reason in @reason. */
chio_code chio__check_token(struct chio_kernel *k, const chio__session_cap *sc, const char *agent,
                            uint64_t now, char *reason, size_t cap);
/* Check 2 again, just before a dispatch (evaluate.c, providers.c) and at
 * a budget's first charge (budget.c), on a fresh clock reading: the guards
 * are host code and may run past expires_at. CHIO_CODE_NONE, or
 * CAPABILITY_EXPIRED / CAPABILITY_NOT_YET_VALID with @reason. */
chio_code chio__time_since_check(struct chio_kernel *k, const chio_capability *cap, char *reason,
                                 size_t cap_reason);
/* Does @sc pass check 1 (signature valid, issuer trusted)? From the
 * verified-token cache when it is there. */
int chio__token_trusted(struct chio_kernel *k, const chio__session_cap *sc);
/* The grants that allow a tool call (check 6), in the order check 8 tries
 * their budgets: chio's resolve_matching_grants order, most specific first
 * (server named exactly, then tool named exactly, then more constraints),
 * ties in token order. Up to CHIO__GRANTS_LOCAL indices live in @local;
 * more are allocated (chio__grant_list_free). */
#define CHIO__GRANTS_LOCAL 16
typedef struct chio__grant_list {
    uint32_t *idx;
    uint32_t n;
    uint32_t local[CHIO__GRANTS_LOCAL];
} chio__grant_list;
void chio__grant_list_free(chio__grant_list *l);
/* Fills @out with every grant that allows @server/@tool with @args (at
 * least one on CHIO_CODE_NONE). */
chio_code chio__check_tool_scope(struct chio_kernel *k, const chio_capability *cap,
                                 const char *server, const char *tool, const chio_json *args,
                                 size_t args_canonical_len, chio__grant_list *out, char *reason,
                                 size_t cap_reason);
/* Check 8: take one invocation of the first grant of @grants (in order)
 * whose max_invocations budget is not spent, or pass at no cost on
 * reaching a grant without one (chio's check_and_increment_budget); the
 * charge is written to the store before returning (budget.c, "Budgets
 * survive restarts"). Returns 0 with *code CHIO_CODE_NONE (pass) or
 * BUDGET_EXHAUSTED when every grant's budget is spent (with a reason), or
 * a store error (the kernel failed closed; the call must not be
 * dispatched). */
int chio__check_budget(struct chio_kernel *k, const chio_capability *cap,
                       const chio__grant_list *grants, chio_code *code, char *reason,
                       size_t cap_reason, chio_error *err);
/* Does a resource (read) or prompt (@prompts, get) grant cover @name?
 * CHIO_CODE_NONE, OUT_OF_SCOPE or UNSUPPORTED_GRANT (with a reason). */
chio_code chio__check_pattern_scope(const chio_capability *cap, int prompts, const char *name,
                                    char *reason, size_t cap_reason);
int chio__revocations_load(struct chio_kernel *k, chio_error *err);

/* revocation.c: drop budgets of expired capabilities (budget.c's
 * chio__budgets_sweep), amortised: at most once per CHIO__SWEEP_SECS of
 * kernel time unless @force; a sweep scheduled further ahead than that
 * (by a clock that has since stepped back) is due at once. Returns the
 * number dropped. Revocations are never dropped (revocation.c, "A
 * revocation is kept"). */
#define CHIO__SWEEP_SECS 60
/* ...and only once the budget and revocation tables hold more than this
 * many entries together (mediation.sweep_min_rows; tests lower it): below
 * it nothing is dropped, so a kernel whose clock steps back (a scenario
 * whose `at` goes back in time) answers on the clock alone, as kernel.md
 * does, and memory stays bounded by this many expired entries. */
#define CHIO__SWEEP_MIN_ROWS 1024
/* Most budgets one sweep drops (each becomes a row deletion in a commit
 * group): bounds the deletion batch. A sweep that drops this many may
 * have left expired ones behind, so the next one is due
 * CHIO__SWEEP_CATCHUP_SECS later instead of CHIO__SWEEP_SECS: budgets
 * created faster than this many per CHIO__SWEEP_SECS (about 1,100 a
 * second) would otherwise outrun the sweep and grow the table for good. */
#define CHIO__BUDGET_SWEEP_MAX   65536
#define CHIO__SWEEP_CATCHUP_SECS 1
/* A budget is dropped once the kernel clock has passed the expires_at of
 * every token charged against it, on the ground that check 2 will refuse
 * those tokens from then on. The clock is the wall clock, which can step
 * back (NTP, an operator, a restored VM, a test clock): a token whose
 * budget was dropped would then pass check 2 again with a fresh budget. So whoever drops raises the
 * floor to the dropped expiry first (before the entry leaves its table), and check 2 refuses every
 * token with expires_at <= floor, whatever the clock says (chio__expired_by_floor). The store keeps
 * the floor (written ahead of the deletions it allows; store_internal.h) and a start reads it back,
 * so a restart with the clock stepped back does not forget it. */
void chio__expired_floor_raise(struct chio_kernel *k, uint64_t expires_at);
int chio__expired_by_floor(struct chio_kernel *k, uint64_t expires_at);
size_t chio__reclaim_sweep(struct chio_kernel *k, uint64_t now, int force);
size_t chio__budgets_sweep(struct chio_kernel *k, uint64_t now);
/* budget_held.c: the ids of budgeted tokens that open sessions hold, so
 * the sweep keeps a budget a held token could still charge.
 * chio__held_add(): note @s's tokens (session open; 0 or CHIO_ENOMEM, with
 * nothing noted). chio__held_remove(): forget them (session close).
 * chio__held_until(): the latest expires_at of a held token of @id, or 0. */
int chio__held_add(struct chio_kernel *k, const chio__session *s);
void chio__held_remove(struct chio_kernel *k, const chio__session *s);
uint64_t chio__held_until(struct chio_kernel *k, const char *id);
void chio__revocation_free(void *value);
/* budget.c: free the retired budgets (destroy); the budgets table's hold. */
void chio__budgets_retired_free(struct chio_kernel *k);
void chio__budget_hold(void *budget);
void chio__regex_hold(void *regex); /* constraints.c: take a reference */
void chio__regex_free(void *regex); /* constraints.c: drop a reference */

/* The work one call's constraints may do, shared by every grant the
 * call's tool matches (authz.c): at most CHIO__CALL_CONSTRAINT_CHECKS
 * constraints are checked, each counted as a reading of the arguments
 * (their canonical length and CHIO__CONSTRAINT_CHECK_BYTES more) out of
 * CHIO__CALL_CONSTRAINT_BYTES plus CHIO__CALL_CONSTRAINT_ARGS readings'
 * worth, and the regex_match searches together take at most
 * CHIO__NFA_WORK_MAX automaton steps (regex_nfa.h). Without it a token
 * holding the same constraint in many grants multiplied one call's CPU
 * by their number (review 54: 100 grants, 12 s on 1 MiB); with it an
 * allowlist of thousands of grants on short arguments is read whole, and
 * 1 MiB of arguments is read about 20 times at most. */
#define CHIO__CALL_CONSTRAINT_CHECKS 4096u
#define CHIO__CALL_CONSTRAINT_BYTES  ((uint64_t)16 << 20)
#define CHIO__CALL_CONSTRAINT_ARGS   4u
#define CHIO__CONSTRAINT_CHECK_BYTES 256u
typedef struct chio__call_work {
    uint32_t checks_left; /* constraints this call may still check */
    uint64_t bytes_left;  /* argument bytes its checks may still read */
    uint64_t regex_left;  /* automaton steps left to its regex searches */
} chio__call_work;

/* constraints.c: 1 when @c holds on @args; else 0 with a reason. The
 * regex steps it takes come out of @w. */
int chio__constraint_holds(struct chio_kernel *k, const void *constraint, const chio_json *args,
                           size_t args_canonical_len, chio__call_work *w, char *reason, size_t cap);
/* constraints.c: 1 when the value of the constraint alone makes check 6
 * deny every call under its grant, whatever the arguments (a pattern the
 * kernel does not enforce, a prefix no path lies under, a host no host
 * matches), with the reason check 6 gives in @reason; 0 when the
 * arguments decide; CHIO_ENOMEM. */
int chio__constraint_never_holds(const void *constraint, char *reason, size_t cap);

/* Reasons an evaluation can end with an error and no receipt: the names
 * of chio_errno_reason(), counted by codes.c (internal_error last,
 * it takes anything else). */
#define CHIO__UNRECEIPTED_MAP(XX) \
    XX(invalid_arguments)         \
    XX(unknown_session)           \
    XX(session_draining)          \
    XX(session_closed)            \
    XX(kernel_drained)            \
    XX(web3_evidence_required)    \
    XX(store_failure)             \
    XX(internal_error)
#define CHIO__UNRECEIPTED_N 8
/* The reason name of counter @i (NULL past the end); for metrics.c. */
const char *chio__unreceipted_name(size_t i);

/* redact.c: the built-in secret_leak guards of @k run over @v (a call's
 * arguments or a tool's output). When they flag some string (a value or an
 * object key), *out receives the canonical JSON of a copy in which every
 * flagged string is replaced by a marker ("[REDACTED:secret_leak]"; keys
 * get a numbered marker so they stay unique), *nflagged the number replaced
 * and *guard the name of the first guard that flagged (static while the
 * kernel lives). Nothing flagged: *out = NULL, *nflagged = 0. Returns 0 or
 * CHIO_ENOMEM. */
int chio__redact(struct chio_kernel *k, const chio_json *v, char **out, size_t *out_len,
                 size_t *nflagged, const char **guard);

#ifdef CHIO_OTEL
/* otel.c: what one evaluation reports. Strings may be NULL (omitted). */
typedef struct chio__otel_call {
    uint64_t start_unix_nano;
    const char *tool, *server, *request_id, *session_id, *agent_id, *capability_id;
    const char *receipt_id; /* NULL when the call ended in an error */
    const char *verdict;    /* "allow", "deny", "incomplete" or "error" */
    const char *code;       /* decision code, or the error's name */
} chio__otel_call;
uint64_t chio__otel_now_ns(void);
void chio__otel_emit(struct chio_kernel *k, const chio__otel_call *c);
#endif

/* Every string leaf of @v (object member values and array items at any
 * depth), with the nearest object key (its name NULL for top-level / array
 * items of a top-level array; one chio__key for the leaves of a member).
 * Stops when @fn returns nonzero and returns that. */
int chio__each_string(const chio_json *v,
                      int (*fn)(void *ctx, chio__key *key, const char *s, size_t len), void *ctx);

#endif
