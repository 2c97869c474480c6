/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/scenario_read.c - the chio.scenario.v1 reader (spec/kernel.md
 * "Scenario files"): parse a scenario file's text and check it whole into
 * the model of scenario_internal.h, before `chio scenario run`
 * (cmd_scenario.c) runs anything. A malformed file is refused with the path
 * of the bad field ("steps[3].capability_id: expected a string"). Also
 * cli_scenario_check(), the same check for the fuzz target and tests. Calls
 * the public API only (JSON, kernel config defaults, key parsing); no
 * kernel is built here and nothing is shared between threads.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "scenario_internal.h"

/* ---- reading the file (with the path of the bad field) ------------------------------------ */

static int bad(reader *rd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(reader *rd, const char *fmt, ...)
{
    char tmp[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    snprintf(rd->msg, sizeof(rd->msg), "%.255s: %.400s", rd->path[0] ? rd->path : "(top)", tmp);
    return -1;
}

/* Set rd->path to "<base>.<key>" or "<base>[i]". */
static void at_key(reader *rd, const char *base, const char *key)
{
    snprintf(rd->path, sizeof(rd->path), "%.120s%s%.120s", base, base[0] ? "." : "", key);
}

static void at_index(reader *rd, const char *base, size_t i)
{
    snprintf(rd->path, sizeof(rd->path), "%.200s[%zu]", base, i);
}

/* For `chio scenario run`: a kernel refusal at @path, reported like a bad field. */
int chio__scenario_bad_at(reader *rd, const char *path, const char *problem)
{
    snprintf(rd->path, sizeof(rd->path), "%s", path);
    return bad(rd, "%s", problem);
}

static int want_type(reader *rd, const chio_json *v, chio_json_type t, const char *what)
{
    if (v == NULL || chio_json_typeof(v) != t)
        return bad(rd, "expected %s", what);
    return 0;
}

/* Member @key of @obj, or NULL when it is absent or null (the same). */
static const chio_json *present(const chio_json *obj, const char *key)
{
    const chio_json *v = chio_json_get(obj, key);

    return v != NULL && chio_json_typeof(v) != CHIO_JSON_NULL ? v : NULL;
}

/* Optional member readers: absent (or null) leaves *out unchanged. */
static int opt_u64(reader *rd, const chio_json *obj, const char *base, const char *key,
                   uint64_t *out)
{
    const chio_json *v = present(obj, key);

    if (v == NULL)
        return 0;
    at_key(rd, base, key);
    if (chio_json_get_uint64(v, out) != 0)
        return bad(rd, "expected a non-negative integer");
    return 0;
}

static int opt_bool(reader *rd, const chio_json *obj, const char *base, const char *key, int *out)
{
    const chio_json *v = present(obj, key);

    if (v == NULL)
        return 0;
    at_key(rd, base, key);
    if (chio_json_get_bool(v, out) != 0)
        return bad(rd, "expected true or false");
    return 0;
}

static int opt_str(reader *rd, const chio_json *obj, const char *base, const char *key,
                   const char **out)
{
    const chio_json *v = present(obj, key);
    size_t len;

    if (v == NULL)
        return 0;
    at_key(rd, base, key);
    if (chio_json_typeof(v) != CHIO_JSON_STRING)
        return bad(rd, "expected a string");
    *out = chio_json_string(v, &len);
    if (memchr(*out, '\0', len) != NULL)
        return bad(rd, "string contains a NUL character");
    return 0;
}

static int req_str(reader *rd, const chio_json *obj, const char *base, const char *key,
                   const char **out)
{
    *out = NULL;
    if (opt_str(rd, obj, base, key, out) != 0)
        return -1;
    if (*out == NULL) {
        at_key(rd, base, key);
        return bad(rd, "required string is missing");
    }
    return 0;
}

/* A required string that must not be empty (ids and names the kernel
 * refuses when empty). */
static int req_name(reader *rd, const chio_json *obj, const char *base, const char *key,
                    const char **out)
{
    if (req_str(rd, obj, base, key, out) != 0)
        return -1;
    if ((*out)[0] == '\0') {
        at_key(rd, base, key);
        return bad(rd, "must not be empty");
    }
    return 0;
}

/* An array of strings (optional; absent = empty). */
static int opt_strv(reader *rd, const chio_json *obj, const char *base, const char *key,
                    const char ***out, size_t *n)
{
    const chio_json *v = present(obj, key);
    char arr_path[256];
    size_t i;

    *out = NULL;
    *n = 0;
    if (v == NULL)
        return 0;
    at_key(rd, base, key);
    if (want_type(rd, v, CHIO_JSON_ARRAY, "an array of strings") != 0)
        return -1;
    snprintf(arr_path, sizeof(arr_path), "%s", rd->path);
    *n = chio_json_size(v);
    *out = calloc(*n ? *n : 1, sizeof(**out));
    if (*out == NULL)
        return bad(rd, "out of memory");
    for (i = 0; i < *n; i++) {
        size_t len;
        const chio_json *s = chio_json_at(v, i);
        at_index(rd, arr_path, i);
        if (want_type(rd, s, CHIO_JSON_STRING, "a string") != 0)
            goto fail;
        (*out)[i] = chio_json_string(s, &len);
        if (memchr((*out)[i], '\0', len) != NULL) {
            bad(rd, "string contains a NUL character");
            goto fail;
        }
    }
    return 0;
fail: /* the caller owns nothing on failure */
    free(*out);
    *out = NULL;
    *n = 0;
    return -1;
}

static int known_keys(reader *rd, const chio_json *obj, const char *base, const char *const *known)
{
    size_t i, j, n = chio_json_size(obj);

    for (i = 0; i < n; i++) {
        const char *k = chio_json_key_at(obj, i, NULL);
        for (j = 0; known[j] && strcmp(known[j], k) != 0; j++)
            ;
        if (known[j] == NULL) {
            at_key(rd, base, k);
            return bad(rd, "unknown field");
        }
    }
    return 0;
}

/* Parse errors that sit in one member's key or value (too deep: the
 * value the parser stopped in). */
static int in_one_member(int code)
{
    return code == CHIO_EJSON_DUPKEY || code == CHIO_EJSON_UTF8 || code == CHIO_EJSON_SURROGATE ||
           code == CHIO_EJSON_NUMBER || code == CHIO_EJSON_CONTROL || code == CHIO_EJSON_NULKEY ||
           code == CHIO_EJSON_DEPTH;
}

/* The steps of the path named for a value nested too deep: the member
 * that holds it and its first levels ("kernel.ca_public_keys[0][0]"), not
 * the 128 levels to where the parser stopped. */
#define DEPTH_PATH_STEPS 4

/* Report a parse error of @text: by its path, like any bad field, when
 * the error is in one member (a duplicate key, a string with a lone
 * surrogate, invalid UTF-8 or a raw control character, a number out of
 * range, a value nested too deep); a broken structure (truncated, a stray
 * comma, trailing data) is the file's. */
static int parse_error(reader *rd, const char *text, size_t len, const chio_error *err)
{
    if (err->offset != CHIO_NO_OFFSET && in_one_member(err->code))
        chio__scenario_error_path(text, len, err->offset,
                                  err->code == CHIO_EJSON_DEPTH ? DEPTH_PATH_STEPS
                                                                : CHIO_JSON_MAX_DEPTH + 1,
                                  rd->path, sizeof(rd->path));
    if (err->code == CHIO_EJSON_DUPKEY && rd->path[0] != '\0')
        return bad(rd, "duplicate member (it appears twice; %.200s)", err->message);
    if (rd->path[0] != '\0')
        return bad(rd, "not JSON: %.300s", err->message);
    snprintf(rd->msg, sizeof(rd->msg), "(file): not JSON: %.300s", err->message);
    return -1;
}

/* The tokens' text as written (scenario_args.c), for run_open(). */
static int keep_tokens(reader *rd, scenario *sc, const char *text, size_t len)
{
    return chio__scenario_keep_tokens(sc, text, len) != 0 ? bad(rd, "out of memory") : 0;
}

/* Parse the file into sc->doc. A call's arguments the parser refuses for
 * a reason inside them are that call's invalid arguments (kernel.md: an
 * error with no receipt), and such an open_session token is a token the
 * kernel refuses (that step's "ok":false), not a malformed file: they are
 * lifted out (scenario_args.c) and the rest is parsed again, so only
 * errors elsewhere refuse the file. */
static int parse_doc(reader *rd, scenario *sc, const char *text, size_t len)
{
    chio_error err;
    char *work = NULL;
    int rc;

    chio_error_init(&err);
    if (chio_json_parse(text, len, &sc->doc, &err) == 0)
        return keep_tokens(rd, sc, text, len);
    if (!in_one_member(err.code))
        return parse_error(rd, text, len, &err);
    if (chio__scenario_lift_args(sc, text, len, &work) != 0)
        return bad(rd, "out of memory");
    if (sc->nlifted == 0)
        rc = parse_error(rd, text, len, &err);
    else if (chio_json_parse(work, len, &sc->doc, &err) != 0)
        rc = parse_error(rd, work, len, &err);
    else
        rc = keep_tokens(rd, sc, text, len);
    /* The copy may hold the signing seed, like the file's text. */
    OPENSSL_cleanse(work, len);
    free(work);
    return rc;
}

/* ---- the scenario model (types in scenario_internal.h) --------------------------------------- */

static const char *const behavior_names[] = {
    "echo", "fail", "stream", "sample", "sample_with_tools", "elicit", NULL};

static const char *const op_names[] = {"open_session",  "call",  "revoke", "begin_draining",
                                       "close_session", "drain", NULL};

const char *chio__scenario_op_name(enum op op)
{
    return op_names[op];
}

void chio__scenario_free(scenario *sc)
{
    size_t i;

    for (i = 0; i < sc->nservers; i++)
        free(sc->servers[i].tools);
    free(sc->servers);
    for (i = 0; i < sc->nguards; i++)
        free(sc->guards[i].list);
    free(sc->guards);
    free(sc->steps);
    free(sc->ca);
    for (i = 0; i < sc->nlifted; i++)
        free(sc->lifted[i].text);
    free(sc->lifted);
    for (i = 0; i < sc->nwritten; i++)
        free(sc->written[i].text);
    free(sc->written);
    chio_json_doc_free(sc->doc);
}

static int read_kernel(reader *rd, scenario *sc, const chio_json *kobj)
{
    static const char *const known[] = {"signing_seed_hex",
                                        "ca_public_keys",
                                        "policy_hash",
                                        "max_delegation_depth",
                                        "checkpoint_batch_size",
                                        "allow_sampling",
                                        "allow_sampling_tool_use",
                                        "allow_elicitation",
                                        "max_stream_duration_secs",
                                        "max_stream_total_bytes",
                                        "require_web3_evidence",
                                        "retention_config",
                                        NULL};
    chio_kernel_config *c = &sc->cfg;
    const char **cas;
    size_t nca, i;
    uint64_t depth = c->max_delegation_depth;

    at_key(rd, "", "kernel");
    if (want_type(rd, kobj, CHIO_JSON_OBJECT, "an object") != 0 ||
        known_keys(rd, kobj, "kernel", known) != 0 ||
        opt_str(rd, kobj, "kernel", "signing_seed_hex", &sc->seed_hex) != 0 ||
        opt_str(rd, kobj, "kernel", "policy_hash", &c->policy_hash) != 0 ||
        opt_u64(rd, kobj, "kernel", "max_delegation_depth", &depth) != 0 ||
        opt_u64(rd, kobj, "kernel", "checkpoint_batch_size", &c->checkpoint_batch_size) != 0 ||
        opt_bool(rd, kobj, "kernel", "allow_sampling", &c->allow_sampling) != 0 ||
        opt_bool(rd, kobj, "kernel", "allow_sampling_tool_use", &c->allow_sampling_tool_use) != 0 ||
        opt_bool(rd, kobj, "kernel", "allow_elicitation", &c->allow_elicitation) != 0 ||
        opt_u64(rd, kobj, "kernel", "max_stream_duration_secs", &c->max_stream_duration_secs) !=
            0 ||
        opt_u64(rd, kobj, "kernel", "max_stream_total_bytes", &c->max_stream_total_bytes) != 0 ||
        opt_bool(rd, kobj, "kernel", "require_web3_evidence", &c->require_web3_evidence) != 0 ||
        opt_strv(rd, kobj, "kernel", "ca_public_keys", &cas, &nca) != 0)
        return -1;
    /* kernel.md's retention_config: null is "none", its default (keep
     * forever); the runner's store is thrown away, so nothing else fits. */
    if (present(kobj, "retention_config") != NULL) {
        free(cas);
        at_key(rd, "kernel", "retention_config");
        return bad(rd, "only null (none: keep receipts forever) is supported by scenario run");
    }
    if (depth > UINT32_MAX) {
        free(cas);
        at_key(rd, "kernel", "max_delegation_depth");
        return bad(rd, "out of range (at most %u)", UINT32_MAX);
    }
    /* The kernel's own bounds, checked here to name the field (the kernel
     * would refuse them too, but only as "kernel"). */
    if (c->policy_hash[0] == '\0') {
        free(cas);
        at_key(rd, "kernel", "policy_hash");
        return bad(rd, "must not be empty");
    }
    if (c->checkpoint_batch_size > CHIO_MAX_CHECKPOINT_BATCH_SIZE) {
        free(cas);
        at_key(rd, "kernel", "checkpoint_batch_size");
        return bad(rd, "out of range (at most %llu; 0 disables checkpoints)",
                   (unsigned long long)CHIO_MAX_CHECKPOINT_BATCH_SIZE);
    }
    c->max_delegation_depth = (uint32_t)depth;
    sc->ca = malloc(32 * (nca ? nca : 1));
    if (sc->ca == NULL) {
        free(cas);
        return bad(rd, "out of memory");
    }
    for (i = 0; i < nca; i++) {
        if (chio_pubkey_from_hex(cas[i], strlen(cas[i]), sc->ca + 32 * i) != 0) {
            free(cas);
            snprintf(rd->path, sizeof(rd->path), "kernel.ca_public_keys[%zu]", i);
            return bad(rd, "not a public key (64 hex digits)");
        }
    }
    free(cas);
    c->ca_public_keys = nca ? sc->ca : NULL;
    c->n_ca_public_keys = nca;
    return 0;
}

/* Tool names are not empty (the kernel refuses them, without the index). */
static int no_empty(reader *rd, const server_spec *s, const char *base)
{
    char arr_path[256];
    size_t i;

    snprintf(arr_path, sizeof(arr_path), "%s.tools", base);
    for (i = 0; i < s->ntools; i++) {
        if (s->tools[i][0] == '\0') {
            at_index(rd, arr_path, i);
            return bad(rd, "must not be empty");
        }
    }
    return 0;
}

/* What one call of a stream server may cost the runner: the bytes the
 * kernel holds (what it emits, up to kernel.max_stream_total_bytes) and
 * the time its pauses take (up to kernel.max_stream_duration_secs when
 * one is set). Each member alone is bounded below; before review 32 their
 * product was not: 1000000 chunks of 64 MiB under a raised byte limit
 * grew one call's output until memory ran out, and 1000000 pauses of
 * 600 s under no duration limit ran for 19 years. */
#define STREAM_MAX_HELD_BYTES ((uint64_t)1 << 30)
#define STREAM_MAX_PAUSE_MS   600000u

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static int stream_cost(reader *rd, const server_spec *s, const char *base,
                       const chio_kernel_config *c)
{
    uint64_t held = min_u64(s->chunks * s->chunk_bytes, c->max_stream_total_bytes);
    uint64_t pause = s->chunks * s->delay_ms;

    if (c->max_stream_duration_secs != 0)
        pause = min_u64(pause, min_u64(c->max_stream_duration_secs, UINT64_MAX / 1000u) * 1000u);
    if (held > STREAM_MAX_HELD_BYTES) {
        at_key(rd, base, "chunks");
        return bad(rd,
                   "a call would hold %llu bytes (chunks x chunk_bytes, up to "
                   "kernel.max_stream_total_bytes); scenario run holds at most %llu",
                   (unsigned long long)held, (unsigned long long)STREAM_MAX_HELD_BYTES);
    }
    if (pause > STREAM_MAX_PAUSE_MS) {
        at_key(rd, base, "delay_ms");
        return bad(rd,
                   "a call would pause %llu ms (chunks x delay_ms, up to "
                   "kernel.max_stream_duration_secs when not 0); scenario run pauses at most %u",
                   (unsigned long long)pause, STREAM_MAX_PAUSE_MS);
    }
    return 0;
}

/* The stream behaviour's bounds. A chunk is a JSON string of chunk_bytes
 * canonical bytes, its two quotes included, so it has at least 2. The
 * products are checked after these bounds, which keep them in range. */
static int stream_sizes(reader *rd, const server_spec *s, const char *base)
{
    if (s->chunks > 1000000) {
        at_key(rd, base, "chunks");
        return bad(rd, "out of range (at most 1000000)");
    }
    if (s->chunk_bytes < 2 || s->chunk_bytes > 64u * 1024 * 1024) {
        at_key(rd, base, "chunk_bytes");
        return bad(rd, "out of range (2 to 67108864: a chunk is a JSON string, quotes included)");
    }
    if (s->delay_ms > 600000) {
        at_key(rd, base, "delay_ms");
        return bad(rd, "out of range (at most 600000)");
    }
    return 0;
}

/* chunks, chunk_bytes and delay_ms shape a stream only: on a server of
 * another @behavior they would be accepted and ignored (before review 45),
 * so a file that meant a stream would run as something else unnoticed. */
static int stream_only(reader *rd, const chio_json *o, const char *base, const char *behavior)
{
    static const char *const members[] = {"chunks", "chunk_bytes", "delay_ms", NULL};
    size_t i;

    if (strcmp(behavior, "stream") == 0)
        return 0;
    for (i = 0; members[i] != NULL; i++) {
        if (present(o, members[i]) != NULL) {
            at_key(rd, base, members[i]);
            return bad(rd, "only a \"stream\" server takes it (this one's behavior is \"%.60s\")",
                       behavior);
        }
    }
    return 0;
}

static int read_servers(reader *rd, scenario *sc, const chio_json *arr)
{
    static const char *const known[] = {"server_id",   "tools",    "behavior", "chunks",
                                        "chunk_bytes", "delay_ms", NULL};
    size_t i, j;

    at_key(rd, "", "tool_servers");
    if (want_type(rd, arr, CHIO_JSON_ARRAY, "an array") != 0)
        return -1;
    sc->nservers = chio_json_size(arr);
    sc->servers = calloc(sc->nservers ? sc->nservers : 1, sizeof(*sc->servers));
    if (sc->servers == NULL)
        return bad(rd, "out of memory");
    for (i = 0; i < sc->nservers; i++) {
        server_spec *s = &sc->servers[i];
        const chio_json *o = chio_json_at(arr, i);
        const char *beh = "echo";
        char base[64];

        snprintf(base, sizeof(base), "tool_servers[%zu]", i);
        snprintf(rd->path, sizeof(rd->path), "%s", base);
        s->chunks = 1;
        s->chunk_bytes = 16;
        if (want_type(rd, o, CHIO_JSON_OBJECT, "an object") != 0 ||
            known_keys(rd, o, base, known) != 0 ||
            req_name(rd, o, base, "server_id", &s->id) != 0 ||
            opt_strv(rd, o, base, "tools", &s->tools, &s->ntools) != 0 ||
            no_empty(rd, s, base) != 0 || opt_str(rd, o, base, "behavior", &beh) != 0 ||
            opt_u64(rd, o, base, "chunks", &s->chunks) != 0 ||
            opt_u64(rd, o, base, "chunk_bytes", &s->chunk_bytes) != 0 ||
            opt_u64(rd, o, base, "delay_ms", &s->delay_ms) != 0)
            return -1;
        for (j = 0; behavior_names[j] && strcmp(behavior_names[j], beh) != 0; j++)
            ;
        if (behavior_names[j] == NULL) {
            at_key(rd, base, "behavior");
            return bad(rd,
                       "unknown behavior '%.60s' (echo, fail, stream, sample, "
                       "sample_with_tools, elicit)",
                       beh);
        }
        s->behavior = (enum behavior)j;
        if (stream_only(rd, o, base, beh) != 0 || stream_sizes(rd, s, base) != 0 ||
            (s->behavior == B_STREAM && stream_cost(rd, s, base, &sc->cfg) != 0))
            return -1;
    }
    return 0;
}

/* The members of guard @i that its type takes, and a name no guard before
 * it has (the kernel refuses a duplicate too, but only after the lists are
 * checked). A member of the other type would be accepted and ignored
 * (before review 45 it was: a secret_leak guard given "prefixes" guarded
 * nothing the file's author meant). */
static int guard_members(reader *rd, const scenario *sc, size_t i, const chio_json *o,
                         const char *base)
{
    const guard_spec *g = &sc->guards[i];
    const char *other = g->secret ? "prefixes" : "patterns";
    size_t j;

    for (j = 0; j < i; j++) {
        if (strcmp(sc->guards[j].name, g->name) == 0) {
            at_key(rd, base, "name");
            return bad(rd, "duplicate name (guards[%zu] has it; names are unique)", j);
        }
    }
    for (j = 0; chio_code_name((chio_code)j) != NULL; j++) {
        if (strcmp(chio_code_name((chio_code)j), g->name) == 0) {
            at_key(rd, base, "name");
            return bad(rd,
                       "'%s' is a decision code (a receipt names the kernel check that "
                       "denied by its code)",
                       g->name);
        }
    }
    if (present(o, other) != NULL) {
        at_key(rd, base, other);
        return bad(rd, "a %s guard does not take it (%s takes %s)",
                   g->secret ? "secret_leak" : "forbidden_path",
                   g->secret ? "forbidden_path" : "secret_leak", other);
    }
    return 0;
}

/* A guard with no prefix or pattern denies nothing: refused, so that a
 * guard the file names is one that guards something. Checked after every
 * guard's name and members. */
static int guard_lists(reader *rd, const scenario *sc)
{
    size_t i;

    for (i = 0; i < sc->nguards; i++) {
        const guard_spec *g = &sc->guards[i];
        char base[64];
        if (g->n != 0)
            continue;
        snprintf(base, sizeof(base), "guards[%zu]", i);
        at_key(rd, base, g->secret ? "patterns" : "prefixes");
        return bad(rd, "a %s guard needs at least one %s (with none it denies nothing)",
                   g->secret ? "secret_leak" : "forbidden_path", g->secret ? "pattern" : "prefix");
    }
    return 0;
}

static int read_guards(reader *rd, scenario *sc, const chio_json *arr)
{
    static const char *const known[] = {"name", "type", "prefixes", "patterns", NULL};
    size_t i;

    at_key(rd, "", "guards");
    if (want_type(rd, arr, CHIO_JSON_ARRAY, "an array") != 0)
        return -1;
    sc->nguards = chio_json_size(arr);
    sc->guards = calloc(sc->nguards ? sc->nguards : 1, sizeof(*sc->guards));
    if (sc->guards == NULL)
        return bad(rd, "out of memory");
    for (i = 0; i < sc->nguards; i++) {
        guard_spec *g = &sc->guards[i];
        const chio_json *o = chio_json_at(arr, i);
        const char *type;
        char base[64];

        snprintf(base, sizeof(base), "guards[%zu]", i);
        snprintf(rd->path, sizeof(rd->path), "%s", base);
        if (want_type(rd, o, CHIO_JSON_OBJECT, "an object") != 0 ||
            known_keys(rd, o, base, known) != 0 || req_name(rd, o, base, "name", &g->name) != 0 ||
            req_str(rd, o, base, "type", &type) != 0)
            return -1;
        if (strcmp(type, "secret_leak") == 0) {
            g->secret = 1;
        } else if (strcmp(type, "forbidden_path") != 0) {
            at_key(rd, base, "type");
            return bad(rd, "unknown guard type '%.60s' (forbidden_path, secret_leak)", type);
        }
        if (guard_members(rd, sc, i, o, base) != 0 ||
            opt_strv(rd, o, base, g->secret ? "patterns" : "prefixes", &g->list, &g->n) != 0)
            return -1;
    }
    return guard_lists(rd, sc);
}

/* The members each op takes (rows in enum op order); every step may have "at". */
static const char *const op_members[][9] = {
    {"op", "at", "session", "agent", "capabilities", NULL},
    {"op", "at", "session", "capability_id", "server", "tool", "arguments", "request_id", NULL},
    {"op", "at", "capability_id", NULL},
    {"op", "at", "session", NULL},
    {"op", "at", "session", NULL},
    {"op", "at", NULL},
};

/* A member of another op's steps is refused too: a step never carries a
 * member that does nothing (a revoke is not per session, say). */
static int step_members(reader *rd, const chio_json *o, const char *base, enum op op)
{
    size_t i, j, n = chio_json_size(o);

    for (i = 0; i < n; i++) {
        const char *k = chio_json_key_at(o, i, NULL);
        for (j = 0; op_members[op][j] && strcmp(op_members[op][j], k) != 0; j++)
            ;
        if (op_members[op][j] != NULL)
            continue;
        at_key(rd, base, k);
        return bad(rd, "not a member of a '%s' step", op_names[op]);
    }
    return 0;
}

static int read_step(reader *rd, step_spec *st, const chio_json *o, size_t i)
{
    static const char *const known[] = {
        "op", "session",    "agent", "capabilities", "capability_id", "server", "tool", "arguments",
        "at", "request_id", NULL};
    const char *op, *s;
    char base[64];
    size_t j;

    snprintf(base, sizeof(base), "steps[%zu]", i);
    snprintf(rd->path, sizeof(rd->path), "%s", base);
    if (want_type(rd, o, CHIO_JSON_OBJECT, "an object") != 0 ||
        known_keys(rd, o, base, known) != 0 || req_str(rd, o, base, "op", &op) != 0)
        return -1;
    for (j = 0; op_names[j] && strcmp(op_names[j], op) != 0; j++)
        ;
    if (op_names[j] == NULL) {
        at_key(rd, base, "op");
        return bad(rd,
                   "unknown op '%.60s' (open_session, call, revoke, begin_draining, "
                   "close_session, drain)",
                   op);
    }
    if (step_members(rd, o, base, (enum op)j) != 0)
        return -1;
    st->op = (enum op)j;
    st->obj = o;
    if (present(o, "at") != NULL) {
        st->has_at = 1;
        if (opt_u64(rd, o, base, "at", &st->at) != 0)
            return -1;
    }
    switch (st->op) {
    case OP_OPEN: {
        const chio_json *caps = present(o, "capabilities");
        if (req_str(rd, o, base, "session", &s) != 0 || req_str(rd, o, base, "agent", &s) != 0)
            return -1;
        at_key(rd, base, "capabilities");
        if (caps != NULL &&
            want_type(rd, caps, CHIO_JSON_ARRAY, "an array of capability tokens") != 0)
            return -1;
        for (j = 0; caps != NULL && j < chio_json_size(caps); j++) {
            chio_json_type t = chio_json_typeof(chio_json_at(caps, j));
            snprintf(rd->path, sizeof(rd->path), "%s.capabilities[%zu]", base, j);
            if (t != CHIO_JSON_OBJECT && t != CHIO_JSON_STRING)
                return bad(rd, "expected a token object (or its JSON text)");
        }
        return 0;
    }
    case OP_CALL:
        if (req_str(rd, o, base, "session", &s) != 0 ||
            req_str(rd, o, base, "capability_id", &s) != 0 ||
            req_str(rd, o, base, "server", &s) != 0 || req_str(rd, o, base, "tool", &s) != 0 ||
            opt_str(rd, o, base, "request_id", &s) != 0)
            return -1;
        return 0;
    case OP_REVOKE:
        return req_str(rd, o, base, "capability_id", &s);
    case OP_BEGIN_DRAINING:
    case OP_CLOSE:
        return req_str(rd, o, base, "session", &s);
    default:
        return 0;
    }
}

int chio__scenario_read(reader *rd, scenario *sc, const char *text, size_t len)
{
    static const char *const known[] = {"schema", "clock", "kernel", "tool_servers",
                                        "guards", "steps", NULL};
    const chio_json *root, *steps, *v;
    const char *schema = NULL;
    size_t i;

    if (parse_doc(rd, sc, text, len) != 0)
        return -1;
    root = chio_json_root(sc->doc);
    rd->path[0] = '\0';
    if (want_type(rd, root, CHIO_JSON_OBJECT, "a JSON object") != 0 ||
        known_keys(rd, root, "", known) != 0 || opt_str(rd, root, "", "schema", &schema) != 0)
        return -1;
    if (schema != NULL && strcmp(schema, "chio.scenario.v1") != 0) {
        at_key(rd, "", "schema");
        return bad(rd, "expected \"chio.scenario.v1\"");
    }
    sc->clock = (uint64_t)time(NULL);
    if (opt_u64(rd, root, "", "clock", &sc->clock) != 0)
        return -1;
    chio_kernel_config_init(&sc->cfg);
    sc->cfg.policy_hash = "scenario";
    v = present(root, "kernel");
    if (v != NULL && read_kernel(rd, sc, v) != 0)
        return -1;
    v = present(root, "tool_servers");
    if (v != NULL && read_servers(rd, sc, v) != 0)
        return -1;
    v = present(root, "guards");
    if (v != NULL && read_guards(rd, sc, v) != 0)
        return -1;
    steps = chio_json_get(root, "steps");
    at_key(rd, "", "steps");
    if (want_type(rd, steps, CHIO_JSON_ARRAY, "an array of steps") != 0)
        return -1;
    sc->nsteps = chio_json_size(steps);
    sc->steps = calloc(sc->nsteps ? sc->nsteps : 1, sizeof(*sc->steps));
    if (sc->steps == NULL)
        return bad(rd, "out of memory");
    for (i = 0; i < sc->nsteps; i++)
        if (read_step(rd, &sc->steps[i], chio_json_at(steps, i), i) != 0)
            return -1;
    return 0;
}

/* Check a scenario text without running it: 0 when well formed, else -1
 * with "path: problem" in @msg. (The fuzz target and tests use it.) */
int cli_scenario_check(const char *text, size_t len, char *msg, size_t cap)
{
    scenario sc;
    reader rd;
    int rc;

    memset(&sc, 0, sizeof(sc));
    memset(&rd, 0, sizeof(rd));
    rc = chio__scenario_read(&rd, &sc, text, len);
    if (rc != 0 && msg != NULL && cap > 0)
        snprintf(msg, cap, "%s", rd.msg);
    chio__scenario_free(&sc);
    return rc;
}
