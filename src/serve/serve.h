/* SPDX-License-Identifier: Apache-2.0 */
/*
 * serve/serve.h - the sidecar (`chio serve`): a kernel behind an HTTP API on
 * libmicrohttpd. The layer sits on the public API only (include/chio/), like
 * the CLI; docs/sidecar.md is the user's reference.
 *
 * Two halves: the request handler (handler.c, state.c), a pure function
 * from one parsed request to one reply with no socket in sight (the fuzz
 * target drives it directly), and the HTTP server (http.c) that feeds it
 * from libmicrohttpd and applies the body, connection and time limits.
 */
#ifndef CHIO_SERVE_H
#define CHIO_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "chio/chio.h"

/* Defaults of the limits (docs/sidecar.md). */
#define CHIO_SERVE_DEFAULT_MAX_BODY        ((size_t)1 << 20) /* 1 MiB */
#define CHIO_SERVE_DEFAULT_MAX_CONNECTIONS 64
#define CHIO_SERVE_DEFAULT_TIMEOUT_SECS    30
#define CHIO_SERVE_MAX_SESSIONS            65536   /* cached token sessions; minted tokens */
#define CHIO_SERVE_MAX_MINTED_TEXT         "65536" /* the same, for messages */
#define CHIO_SERVE_MAX_ID_LEN              256     /* a minted id (the kernel revokes up to 256) */
/* The bytes the minted tokens and the cached sessions may hold, by the
 * estimate in state.c (--max-held-bytes): the counts above bound how many,
 * this how large (a 900 KB token held 2.9 MB, 65536 of them 180 GB). */
#define CHIO_SERVE_DEFAULT_MAX_HELD_BYTES ((uint64_t)512 << 20) /* 512 MiB */
#define CHIO_SERVE_MIN_HELD_BYTES         ((uint64_t)1 << 20)   /* --max-held-bytes */
#define CHIO_SERVE_MAX_HELD_BYTES         ((uint64_t)1 << 40)
/* Connections libmicrohttpd takes past --max-connections (http.c). */
#define CHIO_SERVE_CONN_SLACK 16

typedef struct chio_serve chio_serve;

/* What chio_serve_new() needs. Strings are copied; the keypair is taken. */
typedef struct chio_serve_config {
    chio_keypair *keypair;  /* the kernel's signing key (taken in every case) */
    const char *receipt_db; /* RocksDB directory; NULL = ephemeral (fuzzing) */
    const uint8_t *ca_keys; /* n_ca_keys keys of 32 bytes, trusted issuers */
    size_t n_ca_keys;
    const char *policy_hash;   /* NULL = "chio-sidecar" */
    uint64_t checkpoint_batch; /* receipts per checkpoint; 0 = no checkpoints */
    int nosync;                /* 1 = CHIO_DURABILITY_NOSYNC */
    const char *const *tools;  /* "SERVER:TOOL" pairs accepted; none = any in scope */
    size_t ntools;
    const char *bearer_token; /* NULL = no control routes, evaluate open */
    /* NULL = bearer_token also opens the control routes (mint, revoke);
     * else only this one does, and bearer_token only evaluate. Needs
     * bearer_token, and must differ from it. */
    const char *control_token;
    int quiet; /* 1 = kernel logs at warn and above only */
    /* The bytes minted tokens and cached sessions may hold, by estimate;
     * 0 = CHIO_SERVE_DEFAULT_MAX_HELD_BYTES. */
    uint64_t max_held_bytes;
} chio_serve_config;

/*
 * chio_serve_new - build the kernel, register the accepted tools if any
 * were named (with a dispatch that does nothing: the host runs the tool
 * after an allow; with none, any tool a token's scope names is accepted
 * and evaluated with CHIO_CALL_DECIDE_ONLY) and the parameter_hash guard, and start it (the store
 * is opened and locked here, so a second sidecar on one store fails now). Returns 0, or a chio
 * error code with @err filled (CHIO_EBUSY: the store is in use). Ownership: free *out with
 * chio_serve_free().
 */
int chio_serve_new(const chio_serve_config *cfg, chio_serve **out, chio_error *err);

/* Drain the kernel (if not done) and free everything. NULL is ignored. */
void chio_serve_free(chio_serve *s);

/* The kernel's public key hex (owned by @s). */
const char *chio_serve_public_hex(const chio_serve *s);

/* Mark the sidecar draining: health answers 503, evaluate and the control
 * routes answer 503 {"code":"draining"}. Any thread. */
void chio_serve_set_draining(chio_serve *s);

/* Drain the kernel: every receipt committed. Returns 0 or CHIO_EFAILED. */
int chio_serve_drain_kernel(chio_serve *s, chio_error *err);

/* ---- the request handler --------------------------------------------------------------- */

/* One request, as the HTTP layer read it. Everything is borrowed. */
typedef struct chio_serve_request {
    const char *method;            /* "GET", "POST", ... */
    const char *path;              /* "/v1/evaluate" (no query string) */
    const char *authorization;     /* Authorization header or NULL */
    const char *capability_header; /* X-Chio-Capability header or NULL */
    const char *origin;            /* Origin header or NULL (a browser sent it) */
    const char *body;              /* may hold NUL bytes; NULL when body_len is 0 */
    size_t body_len;
} chio_serve_request;

/* The reply. @body is malloc'd (free with free()); content_type static. */
typedef struct chio_serve_reply {
    unsigned status;
    char *body;
    size_t body_len;
    const char *content_type;
    const char *allow;     /* static: the Allow header of a 405, else NULL */
    const char *challenge; /* static: the WWW-Authenticate header of a 401, else NULL */
} chio_serve_reply;

/*
 * chio_serve_handle - answer one request. Always fills @out (a 500 with a
 * JSON body when memory ran out; body NULL only when even that failed).
 * Thread-safety: any number of threads at once.
 */
void chio_serve_handle(chio_serve *s, const chio_serve_request *rq, chio_serve_reply *out);

/* A reply with {"code":@code,"message":@message}; used by http.c too. */
void chio_serve_error_reply(chio_serve_reply *out, unsigned status, const char *code,
                            const char *message);

/* ---- the HTTP server (http.c) ----------------------------------------------------------- */

typedef struct chio_serve_http_config {
    const char *host; /* numeric IPv4 or IPv6 address */
    uint16_t port;
    /* Host names accepted besides the loopback ones and @host (borrowed;
     * svc/svc_host.h). */
    const char *const *allow_hosts;
    size_t n_allow_hosts;
    size_t max_body;
    unsigned max_connections;
    unsigned timeout_secs;
} chio_serve_http_config;

typedef struct chio_serve_http chio_serve_http;

/*
 * chio_serve_http_start - listen and serve @s on threads of libmicrohttpd.
 * Returns 0, or -1 with a message in @msg (address in use, bad address).
 */
int chio_serve_http_start(chio_serve *s, const chio_serve_http_config *cfg, chio_serve_http **out,
                          char *msg, size_t msgcap);

/* The port actually bound (for port 0). */
uint16_t chio_serve_http_port(const chio_serve_http *h);

/* Stop accepting, let requests in flight finish, stop and free. */
void chio_serve_http_stop(chio_serve_http *h);

#endif
