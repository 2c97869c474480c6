/* SPDX-License-Identifier: Apache-2.0 */
/*
 * serve/serve_internal.h - what state.c (the kernel, its sessions and the
 * minted tokens) and handler.c (the routes) share inside the serve layer: the
 * sidecar's struct, a growing text buffer, and the token-to-session lookup.
 * Locking: one mutex (mu) guards the two tables and the bytes they hold;
 * the kernel is thread-safe.
 */
#ifndef CHIO_SERVE_INTERNAL_H
#define CHIO_SERVE_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "../svc/svc_buf.h"
#include "serve.h"

/* A table entry: a token id, the SHA-256 of its JSON text and either the
 * session holding it (sessions table) or the text itself (minted table). */
typedef struct chio__sv_entry {
    struct chio__sv_entry *next;
    char *id;
    uint8_t hash[32];
    char sid[CHIO_SESSION_ID_LEN + 1];
    char *token; /* minted table only */
    size_t token_len;
    uint64_t expires_at; /* the token's expiry, Unix seconds */
    unsigned inuse;      /* sessions table only: calls on the session now */
    int revoked;         /* minted table only: revoked here, its slot is free */
    uint64_t cost;       /* the bytes it holds, by estimate (state.c), in held */
} chio__sv_entry;

#define CHIO__SV_BUCKETS 4096

struct chio_serve {
    chio_kernel *k;
    pthread_mutex_t mu;
    chio__sv_entry *sessions[CHIO__SV_BUCKETS];
    size_t nsessions;
    uint64_t sessions_sweep_at; /* no cached token expires before (0: unknown) */
    chio__sv_entry *minted[CHIO__SV_BUCKETS];
    size_t nminted;
    uint64_t minted_sweep_at;                /* no minted token expires before (0: unknown) */
    uint64_t held;                           /* the cost of every entry of both tables */
    uint64_t max_held;                       /* --max-held-bytes: held never passes it */
    char empty_sid[CHIO_SESSION_ID_LEN + 1]; /* a session holding no token */
    int has_bearer;
    uint8_t bearer_hash[32];
    int has_control; /* a control token of its own (else the bearer's) */
    uint8_t control_hash[32];
    int draining;        /* atomic */
    char **tool_servers; /* the registered server ids and tool lists (freed at the end) */
    char ***tool_names;
    size_t nservers;
    int decide_only;  /* no --tool: CHIO_CALL_DECIDE_ONLY, any tool in scope */
    uint8_t *trusted; /* the issuers whose tokens a session is kept for: the */
    size_t ntrusted;  /* kernel's key, then the --ca-key keys (32 bytes each) */
};

/*
 * The session that holds the token @json (a token JSON text): a cached one,
 * or a new one (cached when there is room: fewer than CHIO_SERVE_MAX_SESSIONS
 * cached and its cost within max_held; without room, the sessions of
 * expired tokens no call is using are closed, and the expired or revoked
 * minted tokens dropped, first). @idhint
 * (NULL: none) is the id the caller expects; a cache hit under it with the
 * same bytes skips the token's parse. *oneoff is 1 when the caller must
 * close it after its call; 0 when it is cached, and the caller then calls
 * chio__sv_session_done() after its call (until then it is not closed).
 * The token's id goes to @capid (malloc'd).
 * Returns 0, or a chio code: with *ours 0 the token does not parse (the
 * client's error); with *ours 1 it parsed and the sidecar failed (out of
 * memory, no randomness for a session id, a draining kernel).
 */
int chio__sv_session_get(chio_serve *s, const char *json, size_t len, const char *idhint,
                         char sid[CHIO_SESSION_ID_LEN + 1], int *oneoff, char **capid, int *ours,
                         chio_error *err);
/* chio__sv_session_get() without telling whose failure it was. */
int chio__sv_session_for(chio_serve *s, const char *json, size_t len, const char *idhint,
                         char sid[CHIO_SESSION_ID_LEN + 1], int *oneoff, char **capid,
                         chio_error *err);

/* The call on the cached session of token @capid ended. */
void chio__sv_session_done(chio_serve *s, const char *capid);

/* Remember a token this sidecar minted, until @expires_at (Unix seconds):
 * with CHIO_SERVE_MAX_SESSIONS held, or no room for its cost in max_held,
 * the expired ones are dropped first (and the sessions of expired tokens
 * closed). An id already held is never replaced (CHIO__SV_ID_HELD):
 * whoever was given it would evaluate with the new token's subject and
 * scope. Returns 0, CHIO__SV_ID_HELD, CHIO_ELIMIT (that many held, none
 * expired), CHIO__SV_NO_ROOM (its cost does not fit in max_held),
 * CHIO_ENOMEM. */
#define CHIO__SV_ID_HELD 1
#define CHIO__SV_NO_ROOM 2
int chio__sv_mint_store(chio_serve *s, const char *id, const char *json, size_t len,
                        uint64_t expires_at);

/* What a minted token of @len bytes under @id counts against max_held. */
uint64_t chio__sv_minted_cost(const char *id, size_t len);

/* The minted token @id (if held) was revoked: like an expired one, it is
 * dropped when the table is full (any call with it is denied), so that
 * revoked long-lived tokens do not hold the table full for good. */
void chio__sv_mint_revoked(chio_serve *s, const char *id);

/* A copy of a minted token's text (malloc'd), or NULL when unknown. */
char *chio__sv_minted(chio_serve *s, const char *id, size_t *len);

/* Set the parameter_hash the guard expects for this thread's next call
 * (NULL: none). */
void chio__sv_expect_hash(const char *hex);

/* Constant-time check of an Authorization header against the bearer token;
 * 1 when it matches, 0 when it does not (or no bearer token is set), -1
 * when it could not be hashed (the sidecar's failure: a 500, not a 401). */
int chio__sv_bearer_ok(const chio_serve *s, const char *authorization);
/* The same for the control routes: the control token when one is set,
 * else the bearer token. */
int chio__sv_control_ok(const chio_serve *s, const char *authorization);

#endif
