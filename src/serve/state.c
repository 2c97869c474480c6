/* SPDX-License-Identifier: Apache-2.0 */
/*
 * serve/state.c - the sidecar's state over the public kernel API: building
 * and starting the kernel, the tools it accepts (by default any tool a
 * token's scope names: evaluations run with CHIO_CALL_DECIDE_ONLY, since
 * the host runs the tool after an allow; with --tool only the named ones,
 * registered with a dispatch that does nothing, so any other is denied
 * tool_not_registered), the parameter_hash guard, the cache of one session
 * per token a trusted issuer signed and the tokens this sidecar minted,
 * both bounded by count and, together, by the bytes they hold (an estimate,
 * "the bytes held" below).
 * Locking: s->mu guards both tables; it is never held across a kernel call.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "serve_internal.h"

/* ---- text buffer -------------------------------------------------------------------------- */

/* ---- the parameter_hash guard -------------------------------------------------------------- */

/* The guard runs on the thread that called chio_kernel_evaluate(), so the
 * expected hash travels to it in a thread-local. */
static _Thread_local const char *expected_hash;

void chio__sv_expect_hash(const char *hex)
{
    expected_hash = hex;
}

static int param_hash_guard(void *user, const chio_guard_input *in, chio_guard_verdict *verdict,
                            char *details, size_t cap)
{
    char hex[65];

    (void)user;
    *verdict = CHIO_GUARD_PASS;
    /* The evidence says what was checked: a pass without a hash to compare
     * must not read as a verified hash in the signed receipt. */
    if (expected_hash == NULL) {
        snprintf(details, cap, "no parameter_hash was sent: nothing to compare");
        return 0;
    }
    if (chio_sha256_hex(in->arguments_json, in->arguments_len, hex) != 0)
        return -1;
    if (strcasecmp(hex, expected_hash) != 0) {
        *verdict = CHIO_GUARD_DENY;
        snprintf(details, cap, "parameter_hash does not match the parameters (sha256 %s)", hex);
    } else {
        snprintf(details, cap, "parameter_hash matches the parameters");
    }
    return 0;
}

/* ---- the tools ----------------------------------------------------------------------------- */

static int noop_invoke(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                       size_t len, chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    (void)args;
    (void)len;
    (void)out;
    return 0; /* output null: the host runs the tool itself */
}

/* Group "SERVER:TOOL" pairs by server and register one no-op server each. */
static int register_tools(chio_serve *s, const chio_serve_config *cfg, chio_error *err)
{
    size_t i, j, n;
    int rc;

    s->tool_servers = calloc(cfg->ntools + 1, sizeof(char *));
    s->tool_names = calloc(cfg->ntools + 1, sizeof(char **));
    if (s->tool_servers == NULL || s->tool_names == NULL)
        return CHIO_ENOMEM;
    for (i = 0; i < cfg->ntools; i++) {
        const char *t = cfg->tools[i], *colon = strchr(t, ':');

        if (colon == NULL || colon == t || colon[1] == '\0') {
            snprintf(err->message, sizeof(err->message), "--tool '%s' is not SERVER:TOOL", t);
            return err->code = CHIO_EINVAL;
        }
        for (j = 0; j < s->nservers; j++)
            if (strlen(s->tool_servers[j]) == (size_t)(colon - t) &&
                strncmp(s->tool_servers[j], t, (size_t)(colon - t)) == 0)
                break;
        if (j == s->nservers) {
            s->tool_servers[j] = strndup(t, (size_t)(colon - t));
            s->tool_names[j] = calloc(cfg->ntools + 1, sizeof(char *));
            s->nservers++;
            if (s->tool_servers[j] == NULL || s->tool_names[j] == NULL)
                return CHIO_ENOMEM;
        }
        for (n = 0; s->tool_names[j][n] != NULL; n++)
            ;
        s->tool_names[j][n] = strdup(colon + 1);
        if (s->tool_names[j][n] == NULL)
            return CHIO_ENOMEM;
    }
    for (j = 0; j < s->nservers; j++) {
        chio_tool_server ts;

        memset(&ts, 0, sizeof(ts));
        for (n = 0; s->tool_names[j][n] != NULL; n++)
            ;
        ts.server_id = s->tool_servers[j];
        ts.tool_names = (const char *const *)s->tool_names[j];
        ts.ntools = n;
        ts.invoke = noop_invoke;
        rc = chio_kernel_register_tool_server(s->k, &ts, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The issuers a cached session may hold a token of: the kernel's key and
 * the --ca-key keys. 0 or CHIO_ENOMEM. */
static int trusted_keys(chio_serve *s, const chio_serve_config *cfg)
{
    s->ntrusted = 1 + cfg->n_ca_keys;
    s->trusted = malloc(32 * s->ntrusted);
    if (s->trusted == NULL)
        return CHIO_ENOMEM;
    chio_pubkey_from_hex(chio_kernel_public_hex(s->k), 64, s->trusted);
    if (cfg->n_ca_keys > 0)
        memcpy(s->trusted + 32, cfg->ca_keys, 32 * cfg->n_ca_keys);
    return 0;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

int chio_serve_new(const chio_serve_config *cfg, chio_serve **out, chio_error *err)
{
    chio_kernel_config kc;
    chio_serve *s;
    int rc;

    *out = NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        chio_keypair_free(cfg->keypair);
        return CHIO_ENOMEM;
    }
    pthread_mutex_init(&s->mu, NULL);
    s->max_held = cfg->max_held_bytes ? cfg->max_held_bytes : CHIO_SERVE_DEFAULT_MAX_HELD_BYTES;
    chio_kernel_config_init(&kc);
    kc.keypair = cfg->keypair;
    kc.ca_public_keys = cfg->ca_keys;
    kc.n_ca_public_keys = cfg->n_ca_keys;
    kc.policy_hash = cfg->policy_hash ? cfg->policy_hash : "chio-sidecar";
    kc.checkpoint_batch_size = cfg->checkpoint_batch;
    kc.receipt_store_path = cfg->receipt_db;
    kc.ephemeral_store = cfg->receipt_db == NULL;
    kc.durability = cfg->nosync ? CHIO_DURABILITY_NOSYNC : CHIO_DURABILITY_SYNC;
    if (cfg->quiet)
        kc.log_level = CHIO_LOG_WARN;
    rc = chio_kernel_new(&kc, &s->k, err);
    if (rc != 0)
        goto fail;
    s->decide_only = cfg->ntools == 0;
    rc = register_tools(s, cfg, err);
    if (rc == 0)
        rc = chio_kernel_add_guard(s->k, "parameter_hash", param_hash_guard, NULL, err);
    if (rc == 0)
        rc = chio_kernel_start(s->k, err);
    if (rc == 0)
        rc = chio_kernel_open_session(s->k, "chio-sidecar", NULL, NULL, 0, s->empty_sid, err);
    if (rc == 0)
        rc = trusted_keys(s, cfg);
    if (rc != 0)
        goto fail;
    if (cfg->bearer_token != NULL && cfg->control_token != NULL) {
        s->has_control = 1;
        chio_sha256(cfg->control_token, strlen(cfg->control_token), s->control_hash);
    }
    if (cfg->bearer_token != NULL) {
        s->has_bearer = 1;
        chio_sha256(cfg->bearer_token, strlen(cfg->bearer_token), s->bearer_hash);
    }
    *out = s;
    return 0;
fail:
    if (err->code == 0)
        err->code = rc;
    chio_serve_free(s);
    return rc;
}

static void free_table(chio__sv_entry **t)
{
    size_t i;

    for (i = 0; i < CHIO__SV_BUCKETS; i++) {
        while (t[i] != NULL) {
            chio__sv_entry *e = t[i];

            t[i] = e->next;
            free(e->id);
            free(e->token);
            free(e);
        }
    }
}

void chio_serve_free(chio_serve *s)
{
    size_t i, j;

    if (s == NULL)
        return;
    chio_kernel_free(s->k);
    free_table(s->sessions);
    free_table(s->minted);
    free(s->trusted);
    for (i = 0; i < s->nservers; i++) {
        for (j = 0; s->tool_names[i] && s->tool_names[i][j]; j++)
            free(s->tool_names[i][j]);
        free(s->tool_names[i]);
        free(s->tool_servers[i]);
    }
    free(s->tool_names);
    free(s->tool_servers);
    pthread_mutex_destroy(&s->mu);
    explicit_bzero(s->bearer_hash, sizeof(s->bearer_hash));
    explicit_bzero(s->control_hash, sizeof(s->control_hash));
    free(s);
}

const char *chio_serve_public_hex(const chio_serve *s)
{
    return chio_kernel_public_hex(s->k);
}

void chio_serve_set_draining(chio_serve *s)
{
    __atomic_store_n(&s->draining, 1, __ATOMIC_RELEASE);
}

int chio_serve_drain_kernel(chio_serve *s, chio_error *err)
{
    return chio_kernel_drain(s->k, err);
}

/* Does @authorization carry the token whose SHA-256 is @want? */
static int token_ok(const uint8_t want[32], const char *authorization)
{
    uint8_t h[32];
    unsigned diff = 0;
    size_t i, len;
    const char *t;

    /* RFC 9110: the scheme is case-insensitive and one or more spaces
     * follow it; white space around a field value is not part of it. */
    if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
        return 0;
    for (t = authorization + 7; *t == ' '; t++)
        ;
    for (len = strlen(t); len > 0 && (t[len - 1] == ' ' || t[len - 1] == '\t'); len--)
        ;
    /* Hash first: the comparison then takes the same time for every input
     * length, and compares all 32 bytes whatever the first difference. */
    if (len == 0)
        return 0;
    if (chio_sha256(t, len, h) != 0)
        return -1; /* the sidecar's failure, not a wrong token */
    for (i = 0; i < sizeof(h); i++)
        diff |= (unsigned)(h[i] ^ want[i]);
    return diff == 0;
}

int chio__sv_bearer_ok(const chio_serve *s, const char *authorization)
{
    return s->has_bearer ? token_ok(s->bearer_hash, authorization) : 0;
}

int chio__sv_control_ok(const chio_serve *s, const char *authorization)
{
    if (s->has_control)
        return token_ok(s->control_hash, authorization);
    return chio__sv_bearer_ok(s, authorization);
}

/* ---- the tables ---------------------------------------------------------------------------- */

static size_t bucket(const char *id)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */

    for (; *id; id++)
        h = (h ^ (uint8_t)*id) * 1099511628211ull;
    return (size_t)(h % CHIO__SV_BUCKETS);
}

static chio__sv_entry *find(chio__sv_entry **t, const char *id)
{
    chio__sv_entry *e;

    for (e = t[bucket(id)]; e != NULL; e = e->next)
        if (strcmp(e->id, id) == 0)
            return e;
    return NULL;
}

static chio__sv_entry *insert(chio__sv_entry **t, const char *id)
{
    chio__sv_entry *e = calloc(1, sizeof(*e));
    size_t b = bucket(id);

    if (e == NULL || (e->id = strdup(id)) == NULL) {
        free(e);
        return NULL;
    }
    e->next = t[b];
    t[b] = e;
    return e;
}

/* ---- the bytes held ------------------------------------------------------------------------ */

/*
 * What an entry holds, by an estimate that stays above the heap it takes
 * (measured with mallinfo2 per shape of token: a 441-byte token's session
 * took 4.2 KB; 900 KB tokens took 2.9 MB as one long string, 6.7 MB as
 * 15000 grants, 5.3 MB as 100000 operations). A minted token is its text,
 * id and entry. A cached session holds the kernel's session, the token's
 * text and its parsed JSON (the strings copied, a node for each value):
 * four bytes for each byte of text and 32 for each value. The counts of
 * the tables bound how many entries there are; without this, 65536 tokens
 * of 900 KB each held about 180 GB (review 5 bounds F1).
 */
#define MINTED_BASE       256
#define SESSION_BASE      2048
#define SESSION_PER_BYTE  4
#define SESSION_PER_VALUE 32

/* The values and keys of the JSON text @t: the bytes that open one (a
 * comma, colon or opening bracket outside strings), plus the root. */
static uint64_t json_values(const char *t, size_t len)
{
    uint64_t n = 1;
    size_t i;
    int in_str = 0;

    for (i = 0; i < len; i++) {
        if (in_str) {
            if (t[i] == '\\')
                i++;
            else if (t[i] == '"')
                in_str = 0;
        } else if (t[i] == '"') {
            in_str = 1;
        } else if (t[i] == ',' || t[i] == ':' || t[i] == '[' || t[i] == '{') {
            n++;
        }
    }
    return n;
}

uint64_t chio__sv_minted_cost(const char *id, size_t len)
{
    return MINTED_BASE + (uint64_t)strlen(id) + (uint64_t)len;
}

static uint64_t session_cost(const char *id, const char *json, size_t len)
{
    return SESSION_BASE + (uint64_t)strlen(id) + SESSION_PER_BYTE * (uint64_t)len +
           SESSION_PER_VALUE * json_values(json, len);
}

/* 1 when an entry of @cost fits beside what is held (under s->mu). */
static int fits(const chio_serve *s, uint64_t cost)
{
    return cost <= s->max_held && s->held <= s->max_held - cost;
}

/* 1 when a trusted issuer signed @cap. Only such a token's session is
 * kept: anyone can make up tokens (a kept session holds its parsed token,
 * up to --max-body each), and a token with a new id per call filled the
 * cache, 65536 of them, with the memory of each (the kernel then denies
 * them invalid_signature or untrusted_issuer, with a receipt, either way). */
static int signed_by_trusted(const chio_serve *s, const chio_capability *cap)
{
    chio_capability_report rep;

    /* Depth 0: links are not verified (one signature check, not one per
     * link of a padded chain); the kernel checks them at the call. */
    memset(&rep, 0, sizeof(rep));
    return chio_capability_verify(cap, 0, s->trusted, s->ntrusted, 0, &rep) == 0 &&
           rep.signature_valid && rep.issuer_trusted;
}

/* Take the cached sessions of tokens expired at @now that no call is
 * using out of the table (under s->mu), their ids appended to @ids (each
 * CHIO_SESSION_ID_LEN + 1 bytes) for close_swept(); unless none can have
 * expired (s->sessions_sweep_at is still ahead). An expired token is
 * denied at check 4 whoever sends it, so its session is no longer worth a
 * slot; kept, a sidecar evaluating short-lived tokens filled the cache
 * (65536 sessions, each holding its parsed token) for good, and every
 * later token got a session per call. A session still in use is left
 * for a later sweep, a second on. */
static void sweep_sessions(chio_serve *s, uint64_t now, svc_buf *ids)
{
    uint64_t next = UINT64_MAX;
    chio__sv_entry **pp, *e;
    size_t i;

    if (now < s->sessions_sweep_at)
        return;
    for (i = 0; i < CHIO__SV_BUCKETS; i++) {
        pp = &s->sessions[i];
        while ((e = *pp) != NULL) {
            if (now >= e->expires_at && e->inuse == 0) {
                svc_buf_add(ids, e->sid, sizeof(e->sid));
                if (!ids->oom) { /* without its id noted, it stays */
                    *pp = e->next;
                    s->held -= e->cost;
                    free(e->id);
                    free(e);
                    s->nsessions--;
                    continue;
                }
            }
            if (now >= e->expires_at)
                next = next < now + 1 ? next : now + 1;
            else if (e->expires_at < next)
                next = e->expires_at;
            pp = &e->next;
        }
    }
    s->sessions_sweep_at = next;
}

static void sweep_minted(chio_serve *s, uint64_t now);

/* Close the sessions sweep_sessions() took (no lock held: a kernel call). */
static void close_swept(chio_serve *s, svc_buf *ids)
{
    size_t off;

    for (off = 0; ids->p != NULL && off + CHIO_SESSION_ID_LEN + 1 <= ids->len;
         off += CHIO_SESSION_ID_LEN + 1)
        chio_kernel_close_session(s->k, ids->p + off, NULL);
    free(ids->p);
    ids->p = NULL;
}

void chio__sv_session_done(chio_serve *s, const char *capid)
{
    chio__sv_entry *e;

    pthread_mutex_lock(&s->mu);
    e = find(s->sessions, capid);
    if (e != NULL && e->inuse > 0)
        e->inuse--;
    pthread_mutex_unlock(&s->mu);
}

int chio__sv_session_get(chio_serve *s, const char *json, size_t len, const char *idhint,
                         char sid[CHIO_SESSION_ID_LEN + 1], int *oneoff, char **capid, int *ours,
                         chio_error *err)
{
    chio_capability *cap = NULL;
    chio__sv_entry *e;
    svc_buf swept = {0};
    uint8_t hash[32];
    uint64_t cost;
    int rc, found = 0, keep;

    *oneoff = 0;
    *capid = NULL;
    *ours = 0;
    /* The fast path: these exact bytes are cached under @idhint, so they
     * are that token (its id is the hint) and need no parse. */
    if (idhint != NULL && chio_sha256(json, len, hash) == 0) {
        pthread_mutex_lock(&s->mu);
        e = find(s->sessions, idhint);
        if (e != NULL && memcmp(e->hash, hash, sizeof(hash)) == 0 &&
            (*capid = strdup(idhint)) != NULL) {
            memcpy(sid, e->sid, sizeof(e->sid));
            e->inuse++;
            found = 1;
        }
        pthread_mutex_unlock(&s->mu);
        if (found)
            return 0;
    }
    rc = chio_capability_parse(json, len, &cap, err);
    if (rc != 0)
        return rc;
    /* The token parsed: whatever fails from here on is the sidecar's
     * (memory, randomness for the session id, a draining kernel), never
     * the client's token (review 47: it was a 400 invalid_capability). */
    *ours = 1;
    *capid = strdup(chio_capability_id(cap));
    if (*capid == NULL || chio_sha256(json, len, hash) != 0) {
        rc = CHIO_ENOMEM;
        goto out;
    }
    pthread_mutex_lock(&s->mu);
    e = find(s->sessions, *capid);
    if (e != NULL && memcmp(e->hash, hash, sizeof(hash)) == 0) {
        memcpy(sid, e->sid, sizeof(e->sid));
        e->inuse++;
        found = 1;
    }
    pthread_mutex_unlock(&s->mu);
    if (found)
        goto out;
    rc = chio_kernel_open_session(s->k, chio_capability_subject_hex(cap), &json, &len, 1, sid, err);
    if (rc != 0)
        goto out;
    /* Keep it for the next call with this token, unless the id is cached
     * with other bytes already (or another thread won), the table is full
     * (of unexpired tokens' sessions) or the bytes held leave no room for
     * it (the expired entries are dropped first, in both cases), or no
     * trusted issuer signed it. A token not kept gets this session for
     * its call only, as past the count. */
    keep = signed_by_trusted(s, cap);
    cost = keep ? session_cost(*capid, json, len) : 0;
    pthread_mutex_lock(&s->mu);
    if (keep && (s->nsessions >= CHIO_SERVE_MAX_SESSIONS || !fits(s, cost))) {
        sweep_sessions(s, (uint64_t)time(NULL), &swept);
        sweep_minted(s, (uint64_t)time(NULL));
    }
    if (keep && find(s->sessions, *capid) == NULL && s->nsessions < CHIO_SERVE_MAX_SESSIONS &&
        fits(s, cost) && (e = insert(s->sessions, *capid)) != NULL) {
        memcpy(e->hash, hash, sizeof(hash));
        memcpy(e->sid, sid, sizeof(e->sid));
        e->expires_at = chio_capability_expires_at(cap);
        e->inuse = 1;
        e->cost = cost;
        if (e->expires_at < s->sessions_sweep_at)
            s->sessions_sweep_at = e->expires_at;
        s->nsessions++;
        s->held += cost;
    } else {
        *oneoff = 1;
    }
    pthread_mutex_unlock(&s->mu);
    close_swept(s, &swept);
out:
    chio_capability_free(cap);
    if (rc != 0) {
        free(*capid);
        *capid = NULL;
    }
    return rc;
}

int chio__sv_session_for(chio_serve *s, const char *json, size_t len, const char *idhint,
                         char sid[CHIO_SESSION_ID_LEN + 1], int *oneoff, char **capid,
                         chio_error *err)
{
    int ours;

    return chio__sv_session_get(s, json, len, idhint, sid, oneoff, capid, &ours, err);
}

/* Drop the minted tokens expired at @now or revoked (under s->mu),
 * unless none can be (s->minted_sweep_at, the earliest expiry the last
 * sweep saw, is still ahead; a revoke sets it to 0): a full table of live
 * tokens costs no walk per mint. An expired or revoked token is denied
 * whoever sends it, so its id is no longer worth a slot; kept, a sidecar
 * minting short-lived tokens was full after 65536 mints, and one revoking
 * long-lived ones after 65536 mints however many it had revoked, and
 * answered every later mint 503 until it restarted. */
static void sweep_minted(chio_serve *s, uint64_t now)
{
    uint64_t next = UINT64_MAX;
    chio__sv_entry **pp, *e;
    size_t i;

    if (now < s->minted_sweep_at)
        return;
    for (i = 0; i < CHIO__SV_BUCKETS; i++) {
        pp = &s->minted[i];
        while ((e = *pp) != NULL) {
            if (now >= e->expires_at || e->revoked) {
                *pp = e->next;
                s->held -= e->cost;
                free(e->id);
                free(e->token);
                free(e);
                s->nminted--;
                continue;
            }
            if (e->expires_at < next)
                next = e->expires_at;
            pp = &e->next;
        }
    }
    s->minted_sweep_at = next;
}

int chio__sv_mint_store(chio_serve *s, const char *id, const char *json, size_t len,
                        uint64_t expires_at)
{
    chio__sv_entry *e;
    svc_buf swept = {0};
    uint64_t cost = chio__sv_minted_cost(id, len), now;
    char *copy = malloc(len + 1);
    int rc = 0;

    if (copy == NULL)
        return CHIO_ENOMEM;
    memcpy(copy, json, len);
    copy[len] = '\0';
    pthread_mutex_lock(&s->mu);
    /* Full by count or by bytes: the expired and revoked tokens, and the
     * sessions of expired ones (they share the bytes), go first. */
    if ((e = find(s->minted, id)) == NULL &&
        (s->nminted >= CHIO_SERVE_MAX_SESSIONS || !fits(s, cost))) {
        now = (uint64_t)time(NULL);
        sweep_minted(s, now);
        if (!fits(s, cost))
            sweep_sessions(s, now, &swept);
    }
    /* The same id minted again is refused: replaced, the first token's
     * holder evaluated by id with the second token's subject and scope
     * (and the two shared the id's budgets and revocation). */
    if (e != NULL) {
        e = NULL;
        rc = CHIO__SV_ID_HELD;
    } else if (s->nminted >= CHIO_SERVE_MAX_SESSIONS) {
        rc = CHIO_ELIMIT;
    } else if (!fits(s, cost)) {
        rc = CHIO__SV_NO_ROOM;
    } else if ((e = insert(s->minted, id)) == NULL) {
        rc = CHIO_ENOMEM;
    } else {
        s->nminted++;
    }
    if (rc == 0) {
        e->token = copy;
        e->token_len = len;
        e->expires_at = expires_at;
        e->cost = cost;
        s->held += cost;
        if (expires_at < s->minted_sweep_at)
            s->minted_sweep_at = expires_at;
    }
    pthread_mutex_unlock(&s->mu);
    close_swept(s, &swept);
    if (rc != 0)
        free(copy);
    return rc;
}

void chio__sv_mint_revoked(chio_serve *s, const char *id)
{
    chio__sv_entry *e;

    pthread_mutex_lock(&s->mu);
    e = find(s->minted, id);
    if (e != NULL) {
        e->revoked = 1;
        s->minted_sweep_at = 0; /* the next sweep (a mint into a full table) drops it */
    }
    pthread_mutex_unlock(&s->mu);
}

char *chio__sv_minted(chio_serve *s, const char *id, size_t *len)
{
    chio__sv_entry *e;
    char *copy = NULL;

    pthread_mutex_lock(&s->mu);
    e = find(s->minted, id);
    if (e != NULL && (copy = malloc(e->token_len + 1)) != NULL) {
        memcpy(copy, e->token, e->token_len + 1);
        *len = e->token_len;
    }
    pthread_mutex_unlock(&s->mu);
    return copy;
}
