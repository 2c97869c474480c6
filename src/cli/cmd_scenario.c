/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/cmd_scenario.c - `chio scenario run FILE [--receipt-db DIR]`: drive a
 * real kernel from a chio.scenario.v1 file (spec/kernel.md "Scenario
 * files") and print one canonical JSON line per step.
 *
 * The file is checked whole before anything runs, so a malformed file
 * prints no step at all: exit 2 with the path of the bad field
 * ("steps[3].capability_id: expected a string"). The kernel uses a
 * temporary RocksDB directory (removed afterwards) unless --receipt-db
 * names one to keep, and a clock the runner sets before each step
 * ("clock", or the step's "at").
 */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define CMD "scenario run"

static const char usage[] =
    "usage: chio scenario run FILE [--receipt-db DIR]\n"
    "\n"
    "Run a chio.scenario.v1 file against a real kernel and print one JSON line\n"
    "per step. The receipts go to a temporary RocksDB store, or to DIR (kept).\n"
    "Exit status: 0 the file ran (whatever the verdicts), 2 it is malformed.\n";

/* ---- output lines (built with svc_buf, cli.h) ------------------------------------------ */

/* Canonicalise @b and print it as one line. */
static void emit_line(svc_buf *b)
{
    char *canon = NULL;
    size_t len;

    if (b->oom || chio_json_canonicalize(b->p, b->len, &canon, &len, NULL) != 0) {
        fputs("{\"error\":\"internal: could not render the step\",\"ok\":false}\n", stdout);
    } else {
        cli_write(canon, len);
        cli_write("\n", 1);
        chio_free(canon);
    }
    fflush(stdout);
    free(b->p);
    memset(b, 0, sizeof(*b));
}

/* ---- reading the file (with the path of the bad field) ------------------------------------ */

typedef struct reader {
    char path[256];
    char msg[768];
} reader;

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

static int want_type(reader *rd, const chio_json *v, chio_json_type t, const char *what)
{
    if (v == NULL || chio_json_typeof(v) != t)
        return bad(rd, "expected %s", what);
    return 0;
}

/* Optional member readers: absent (or null) leaves *out unchanged. */
static int opt_u64(reader *rd, const chio_json *obj, const char *base, const char *key,
                   uint64_t *out)
{
    const chio_json *v = chio_json_get(obj, key);

    if (v == NULL || chio_json_typeof(v) == CHIO_JSON_NULL)
        return 0;
    at_key(rd, base, key);
    if (chio_json_get_uint64(v, out) != 0)
        return bad(rd, "expected a non-negative integer");
    return 0;
}

static int opt_bool(reader *rd, const chio_json *obj, const char *base, const char *key, int *out)
{
    const chio_json *v = chio_json_get(obj, key);

    if (v == NULL || chio_json_typeof(v) == CHIO_JSON_NULL)
        return 0;
    at_key(rd, base, key);
    if (chio_json_get_bool(v, out) != 0)
        return bad(rd, "expected true or false");
    return 0;
}

static int opt_str(reader *rd, const chio_json *obj, const char *base, const char *key,
                   const char **out)
{
    const chio_json *v = chio_json_get(obj, key);
    size_t len;

    if (v == NULL || chio_json_typeof(v) == CHIO_JSON_NULL)
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

/* An array of strings (optional; absent = empty). */
static int opt_strv(reader *rd, const chio_json *obj, const char *base, const char *key,
                    const char ***out, size_t *n)
{
    const chio_json *v = chio_json_get(obj, key);
    char arr_path[256];
    size_t i;

    *out = NULL;
    *n = 0;
    if (v == NULL || chio_json_typeof(v) == CHIO_JSON_NULL)
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

/* ---- the scenario model ---------------------------------------------------------------------- */

enum behavior { B_ECHO, B_FAIL, B_STREAM, B_SAMPLE, B_SAMPLE_TOOLS, B_ELICIT };
static const char *const behavior_names[] = {
    "echo", "fail", "stream", "sample", "sample_with_tools", "elicit", NULL};

typedef struct server_spec {
    const char *id;
    const char **tools;
    size_t ntools;
    enum behavior behavior;
    uint64_t chunks, chunk_bytes, delay_ms;
} server_spec;

typedef struct guard_spec {
    const char *name;
    int secret; /* 0 forbidden_path, 1 secret_leak */
    const char **list;
    size_t n;
} guard_spec;

enum op { OP_OPEN, OP_CALL, OP_REVOKE, OP_BEGIN_DRAINING, OP_CLOSE, OP_DRAIN };
static const char *const op_names[] = {"open_session",  "call",  "revoke", "begin_draining",
                                       "close_session", "drain", NULL};

typedef struct step_spec {
    enum op op;
    const chio_json *obj;
    int has_at;
    uint64_t at;
} step_spec;

typedef struct scenario {
    chio_json_doc *doc;
    uint64_t clock;
    chio_kernel_config cfg;
    const char *seed_hex;
    uint8_t *ca;
    server_spec *servers;
    size_t nservers;
    guard_spec *guards;
    size_t nguards;
    step_spec *steps;
    size_t nsteps;
} scenario;

static void scenario_free(scenario *sc)
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
    chio_json_doc_free(sc->doc);
}

static int read_kernel(reader *rd, scenario *sc, const chio_json *kobj)
{
    static const char *const known[] = {
        "signing_seed_hex",        "ca_public_keys",        "policy_hash",
        "max_delegation_depth",    "checkpoint_batch_size", "allow_sampling",
        "allow_sampling_tool_use", "allow_elicitation",     "max_stream_duration_secs",
        "max_stream_total_bytes",  "require_web3_evidence", NULL};
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
    if (depth > UINT32_MAX) {
        free(cas);
        at_key(rd, "kernel", "max_delegation_depth");
        return bad(rd, "out of range");
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
            known_keys(rd, o, base, known) != 0 || req_str(rd, o, base, "server_id", &s->id) != 0 ||
            opt_strv(rd, o, base, "tools", &s->tools, &s->ntools) != 0 ||
            opt_str(rd, o, base, "behavior", &beh) != 0 ||
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
        if (s->chunk_bytes > 64u * 1024 * 1024 || s->chunks > 1000000 || s->delay_ms > 600000) {
            at_key(rd, base, "chunks");
            return bad(rd, "stream sizes out of range (chunks <= 1e6, chunk_bytes <= 64 MiB, "
                           "delay_ms <= 600000)");
        }
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
            known_keys(rd, o, base, known) != 0 || req_str(rd, o, base, "name", &g->name) != 0 ||
            req_str(rd, o, base, "type", &type) != 0)
            return -1;
        if (strcmp(type, "forbidden_path") == 0) {
            if (opt_strv(rd, o, base, "prefixes", &g->list, &g->n) != 0)
                return -1;
        } else if (strcmp(type, "secret_leak") == 0) {
            g->secret = 1;
            if (opt_strv(rd, o, base, "patterns", &g->list, &g->n) != 0)
                return -1;
        } else {
            at_key(rd, base, "type");
            return bad(rd, "unknown guard type '%.60s' (forbidden_path, secret_leak)", type);
        }
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
    st->op = (enum op)j;
    st->obj = o;
    if (chio_json_get(o, "at") != NULL &&
        chio_json_typeof(chio_json_get(o, "at")) != CHIO_JSON_NULL) {
        st->has_at = 1;
        if (opt_u64(rd, o, base, "at", &st->at) != 0)
            return -1;
    }
    switch (st->op) {
    case OP_OPEN: {
        const chio_json *caps = chio_json_get(o, "capabilities");
        if (req_str(rd, o, base, "session", &s) != 0 || req_str(rd, o, base, "agent", &s) != 0)
            return -1;
        at_key(rd, base, "capabilities");
        if (caps != NULL && chio_json_typeof(caps) != CHIO_JSON_NULL &&
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

static int read_scenario(reader *rd, scenario *sc, const char *text, size_t len)
{
    static const char *const known[] = {"schema", "clock", "kernel", "tool_servers",
                                        "guards", "steps", NULL};
    const chio_json *root, *steps, *v;
    const char *schema = NULL;
    chio_error err;
    size_t i;

    chio_error_init(&err);
    if (chio_json_parse(text, len, &sc->doc, &err) != 0) {
        snprintf(rd->msg, sizeof(rd->msg), "(file): not JSON: %.300s", err.message);
        return -1;
    }
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
    v = chio_json_get(root, "kernel");
    if (v != NULL && read_kernel(rd, sc, v) != 0)
        return -1;
    v = chio_json_get(root, "tool_servers");
    if (v != NULL && read_servers(rd, sc, v) != 0)
        return -1;
    v = chio_json_get(root, "guards");
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
    rc = read_scenario(&rd, &sc, text, len);
    if (rc != 0 && msg != NULL && cap > 0)
        snprintf(msg, cap, "%s", rd.msg);
    scenario_free(&sc);
    return rc;
}

/* ---- tool behaviours ------------------------------------------------------------------------- */

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int echo(const char *args, size_t len, chio_output *out)
{
    svc_buf b = {0};
    int rc;

    svc_buf_puts(&b, "{\"echo\":");
    svc_buf_add(&b, args, len);
    svc_buf_puts(&b, "}");
    rc = b.oom ? CHIO_ENOMEM : chio_output_set_json(out, b.p, b.len);
    free(b.p);
    return rc;
}

static int tool_invoke(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                       size_t len, chio_output *out)
{
    const server_spec *s = user;
    static const char sample_req[] =
        "{\"max_tokens\":64,\"messages\":[{\"content\":{\"text\":\"scenario\",\"type\":\"text\"},"
        "\"role\":\"user\"}]}";
    static const char sample_tools_req[] =
        "{\"max_tokens\":64,\"messages\":[{\"content\":{\"text\":\"scenario\",\"type\":\"text\"},"
        "\"role\":\"user\"}],\"tools\":[{\"name\":\"scenario_tool\"}]}";
    static const char elicit_req[] =
        "{\"message\":\"scenario\",\"requested_schema\":{\"type\":\"object\"}}";
    char *reply = NULL;
    size_t rlen;

    (void)tool;
    switch (s->behavior) {
    case B_FAIL:
        chio_output_set_error(out, "scenario tool failed (behavior \"fail\")");
        return -1;
    case B_SAMPLE:
        chio_tool_ctx_sample(ctx, sample_req, sizeof(sample_req) - 1, 0, &reply, &rlen, NULL);
        break;
    case B_SAMPLE_TOOLS:
        chio_tool_ctx_sample(ctx, sample_tools_req, sizeof(sample_tools_req) - 1, 1, &reply, &rlen,
                             NULL);
        break;
    case B_ELICIT:
        chio_tool_ctx_elicit(ctx, elicit_req, sizeof(elicit_req) - 1, &reply, &rlen, NULL);
        break;
    default:
        break;
    }
    /* A refused nested request is on its child receipt; the tool goes on. */
    chio_free(reply);
    return echo(args, len, out);
}

static int tool_stream(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                       size_t len, chio_output *out)
{
    const server_spec *s = user;
    size_t body = s->chunk_bytes >= 2 ? (size_t)s->chunk_bytes - 2 : 0;
    char *chunk = malloc(body + 3);
    uint64_t i;
    int rc = 0;

    (void)tool;
    (void)args;
    (void)len;
    (void)out;
    if (chunk == NULL)
        return CHIO_ENOMEM;
    /* A JSON string of chunk_bytes - 2 'x': its canonical size is chunk_bytes. */
    chunk[0] = '"';
    memset(chunk + 1, 'x', body);
    chunk[body + 1] = '"';
    chunk[body + 2] = '\0';
    for (i = 0; i < s->chunks; i++) {
        if (s->delay_ms)
            sleep_ms(s->delay_ms);
        rc = chio_tool_ctx_emit_chunk(ctx, chunk, body + 2);
        if (rc != 0)
            break;
    }
    free(chunk);
    return rc == CHIO_ESTREAM_LIMIT ? 0 : rc;
}

static int nested_answer(void *user, chio_nested_kind kind, const char *session_id, const char *req,
                         size_t len, chio_output *reply)
{
    static const char sampled[] = "{\"content\":{\"text\":\"scenario reply\",\"type\":\"text\"},"
                                  "\"model\":\"scenario\",\"role\":\"assistant\"}";
    static const char elicited[] = "{\"action\":\"accept\",\"content\":{}}";

    (void)user;
    (void)session_id;
    (void)req;
    (void)len;
    return kind == CHIO_NESTED_ELICITATION
               ? chio_output_set_json(reply, elicited, sizeof(elicited) - 1)
               : chio_output_set_json(reply, sampled, sizeof(sampled) - 1);
}

/* ---- running ----------------------------------------------------------------------------------
 */

typedef struct label {
    char name[128];
    char id[CHIO_SESSION_ID_LEN + 1];
} label;

typedef struct runner {
    scenario *sc;
    chio_kernel *k;
    uint64_t now;
    label *labels;
    size_t nlabels;
} runner;

static uint64_t runner_clock(void *ctx)
{
    return __atomic_load_n(&((runner *)ctx)->now, __ATOMIC_RELAXED);
}

/* The session id of a label; the label itself when unknown (then the
 * kernel answers "unknown session"). */
static const char *session_of(runner *r, const char *name)
{
    size_t i;

    for (i = r->nlabels; i-- > 0;)
        if (strcmp(r->labels[i].name, name) == 0)
            return r->labels[i].id;
    return name;
}

static void ok_line(size_t step, const char *op, int rc, const chio_error *err)
{
    svc_buf b = {0};

    svc_buf_printf(&b, "{\"step\":%zu,\"op\":", step);
    svc_buf_json_cstr(&b, op);
    svc_buf_printf(&b, ",\"ok\":%s", rc == 0 ? "true" : "false");
    if (rc != 0) {
        svc_buf_puts(&b, ",\"error\":");
        svc_buf_json_cstr(&b, err->message[0] ? err->message : chio_strerror(rc));
    }
    svc_buf_puts(&b, "}");
    emit_line(&b);
}

static void run_open(runner *r, size_t i, const chio_json *o)
{
    const chio_json *caps = chio_json_get(o, "capabilities");
    size_t n = caps && chio_json_typeof(caps) == CHIO_JSON_ARRAY ? chio_json_size(caps) : 0, j;
    const char **texts = calloc(n ? n : 1, sizeof(*texts));
    size_t *lens = calloc(n ? n : 1, sizeof(*lens));
    char **owned = calloc(n ? n : 1, sizeof(*owned));
    char id[CHIO_SESSION_ID_LEN + 1];
    chio_error err;
    int rc = 0;

    chio_error_init(&err);
    if (texts == NULL || lens == NULL || owned == NULL) {
        snprintf(err.message, sizeof(err.message), "out of memory");
        rc = CHIO_ENOMEM;
    }
    for (j = 0; rc == 0 && j < n; j++) {
        const chio_json *t = chio_json_at(caps, j);
        if (chio_json_typeof(t) == CHIO_JSON_STRING) {
            texts[j] = chio_json_string(t, &lens[j]);
        } else {
            rc = chio_json_write_canonical(t, &owned[j], &lens[j]);
            texts[j] = owned[j];
        }
    }
    if (rc == 0)
        rc = chio_kernel_open_session(r->k, chio_json_string(chio_json_get(o, "agent"), NULL),
                                      texts, lens, n, id, &err);
    if (rc == 0) {
        label *grown = realloc(r->labels, (r->nlabels + 1) * sizeof(*grown));
        if (grown != NULL) {
            r->labels = grown;
            snprintf(grown[r->nlabels].name, sizeof(grown[r->nlabels].name), "%s",
                     chio_json_string(chio_json_get(o, "session"), NULL));
            memcpy(grown[r->nlabels].id, id, sizeof(id));
            r->nlabels++;
        }
    }
    ok_line(i, "open_session", rc, &err);
    for (j = 0; owned != NULL && j < n; j++)
        chio_free(owned[j]);
    free(owned);
    free(texts);
    free(lens);
}

static void run_call(runner *r, size_t i, const chio_json *o)
{
    const chio_json *args = chio_json_get(o, "arguments");
    chio_response resp;
    chio_call call;
    chio_error err;
    char *argtext = NULL;
    size_t arglen = 0, j;
    svc_buf b = {0};
    int rc = 0;

    memset(&call, 0, sizeof(call));
    chio_error_init(&err);
    chio_response_init(&resp);
    call.session_id = session_of(r, chio_json_string(chio_json_get(o, "session"), NULL));
    call.capability_id = chio_json_string(chio_json_get(o, "capability_id"), NULL);
    call.server_id = chio_json_string(chio_json_get(o, "server"), NULL);
    call.tool_name = chio_json_string(chio_json_get(o, "tool"), NULL);
    call.request_id = chio_json_string(chio_json_get(o, "request_id"), NULL);
    if (args != NULL) {
        rc = chio_json_write_canonical(args, &argtext, &arglen);
        call.arguments_json = argtext;
        call.arguments_len = arglen;
    }
    if (rc == 0)
        rc = chio_kernel_evaluate(r->k, &call, &resp, &err);
    svc_buf_printf(&b, "{\"step\":%zu,\"op\":\"call\",", i);
    if (rc != 0) {
        svc_buf_puts(&b, "\"verdict\":\"error\",\"code\":");
        svc_buf_json_cstr(&b, chio_errno_reason(rc));
        svc_buf_puts(&b, ",\"reason\":");
        svc_buf_json_cstr(&b, err.message[0] ? err.message : chio_strerror(rc));
    } else {
        size_t rlen;
        const char *rj = chio_receipt_json(resp.receipt, &rlen);
        svc_buf_puts(&b, "\"verdict\":");
        svc_buf_json_cstr(&b, chio_verdict_name(resp.verdict));
        svc_buf_puts(&b, ",\"code\":");
        svc_buf_json_cstr(&b, chio_code_name(resp.code));
        svc_buf_puts(&b, ",\"reason\":");
        svc_buf_json_cstr(&b, resp.reason ? resp.reason : "");
        svc_buf_puts(&b, ",\"receipt\":");
        svc_buf_add(&b, rj, rlen);
        if (resp.nchildren > 0) {
            svc_buf_puts(&b, ",\"child_receipts\":[");
            for (j = 0; j < resp.nchildren; j++) {
                const char *cj = chio_receipt_json(resp.children[j], &rlen);
                if (j)
                    svc_buf_puts(&b, ",");
                svc_buf_add(&b, cj, rlen);
            }
            svc_buf_puts(&b, "]");
        }
    }
    svc_buf_puts(&b, "}");
    emit_line(&b);
    chio_response_destroy(&resp);
    chio_free(argtext);
}

static void run_step(runner *r, size_t i)
{
    const step_spec *st = &r->sc->steps[i];
    const chio_json *o = st->obj;
    chio_error err;
    int rc;

    __atomic_store_n(&r->now, st->has_at ? st->at : r->sc->clock, __ATOMIC_RELAXED);
    chio_error_init(&err);
    switch (st->op) {
    case OP_OPEN:
        run_open(r, i, o);
        return;
    case OP_CALL:
        run_call(r, i, o);
        return;
    case OP_REVOKE:
        rc = chio_kernel_revoke_capability(
            r->k, chio_json_string(chio_json_get(o, "capability_id"), NULL), &err);
        break;
    case OP_BEGIN_DRAINING:
        rc = chio_kernel_begin_draining_session(
            r->k, session_of(r, chio_json_string(chio_json_get(o, "session"), NULL)), &err);
        break;
    case OP_CLOSE:
        rc = chio_kernel_close_session(
            r->k, session_of(r, chio_json_string(chio_json_get(o, "session"), NULL)), &err);
        break;
    default:
        rc = chio_kernel_drain(r->k, &err);
        break;
    }
    ok_line(i, op_names[st->op], rc, &err);
}

/* Build the kernel and register the servers and guards. */
static int setup(reader *rd, runner *r, const char *dir)
{
    scenario *sc = r->sc;
    chio_error err;
    size_t i;
    int rc;

    chio_error_init(&err);
    if (sc->seed_hex != NULL)
        rc = chio_keypair_from_seed_hex(sc->seed_hex, strlen(sc->seed_hex), &sc->cfg.keypair, &err);
    else
        rc = chio_keypair_generate(&sc->cfg.keypair, &err);
    if (rc != 0) {
        at_key(rd, "kernel", "signing_seed_hex");
        return bad(rd, "%s", err.message);
    }
    sc->cfg.receipt_store_path = dir;
    sc->cfg.clock = runner_clock;
    sc->cfg.clock_ctx = r;
    sc->cfg.log_level = CHIO_LOG_ERROR;
    rc = chio_kernel_new(&sc->cfg, &r->k, &err);
    if (rc != 0) {
        at_key(rd, "", "kernel");
        return bad(rd, "%s", err.message);
    }
    for (i = 0; i < sc->nservers; i++) {
        server_spec *s = &sc->servers[i];
        chio_tool_server ts;
        memset(&ts, 0, sizeof(ts));
        ts.server_id = s->id;
        ts.tool_names = s->tools;
        ts.ntools = s->ntools;
        ts.invoke = tool_invoke;
        ts.invoke_stream = s->behavior == B_STREAM ? tool_stream : NULL;
        ts.user = s;
        rc = chio_kernel_register_tool_server(r->k, &ts, &err);
        if (rc != 0) {
            snprintf(rd->path, sizeof(rd->path), "tool_servers[%zu]", i);
            return bad(rd, "%s", err.message);
        }
    }
    for (i = 0; i < sc->nguards; i++) {
        guard_spec *g = &sc->guards[i];
        rc = g->secret ? chio_kernel_add_secret_leak_guard(r->k, g->name, g->list, g->n, &err)
                       : chio_kernel_add_forbidden_path_guard(r->k, g->name, g->list, g->n, &err);
        if (rc != 0) {
            snprintf(rd->path, sizeof(rd->path), "guards[%zu]", i);
            return bad(rd, "%s", err.message);
        }
    }
    return chio_kernel_set_nested_handler(r->k, nested_answer, NULL, &err);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int scenario_run(int argc, char **argv)
{
    cli_opt opts[] = {{"receipt-db", 1, 0, NULL, NULL, 0}};
    const char *pos[1];
    size_t npos = 0, len, i;
    char tmpdir[4096] = "", *text;
    const char *dir;
    scenario sc;
    runner r;
    reader rd;
    int rc;

    rc = cli_parse(argc, argv, opts, 1, pos, 1, &npos, CMD, usage);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    if (npos != 1)
        return cli_error(CMD, "expected one scenario FILE (see --help)");
    if (opts[0].value != NULL && cli_check_store_dir(CMD, "--receipt-db", opts[0].value) != 0)
        return CLI_USAGE;
    text = cli_read_input(CMD, pos[0], &len);
    if (text == NULL)
        return CLI_USAGE;
    memset(&sc, 0, sizeof(sc));
    memset(&r, 0, sizeof(r));
    memset(&rd, 0, sizeof(rd));
    r.sc = &sc;
    if (read_scenario(&rd, &sc, text, len) != 0) {
        free(text);
        scenario_free(&sc);
        return cli_error(CMD, "%s: malformed scenario: %s", pos[0], rd.msg);
    }
    dir = opts[0].value;
    if (dir == NULL) {
        const char *t = getenv("TMPDIR");
        snprintf(tmpdir, sizeof(tmpdir), "%s/chio-scenario-XXXXXX", t && *t ? t : "/tmp");
        if (mkdtemp(tmpdir) == NULL) {
            free(text);
            scenario_free(&sc);
            return cli_error(CMD, "cannot create a temporary directory: %s", strerror(errno));
        }
        dir = tmpdir;
        sc.cfg.durability = CHIO_DURABILITY_NOSYNC; /* thrown away afterwards */
    }
    rc = setup(&rd, &r, dir);
    if (rc != 0) {
        cli_error(CMD, "%s: malformed scenario: %s", pos[0], rd.msg);
        rc = CLI_USAGE;
    } else {
        for (i = 0; i < sc.nsteps; i++)
            run_step(&r, i);
        rc = CLI_OK;
    }
    chio_kernel_free(r.k);
    free(r.labels);
    free(text);
    scenario_free(&sc);
    if (tmpdir[0])
        nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}

int cmd_scenario(int argc, char **argv)
{
    static const cli_subcommand subs[] = {{"run", scenario_run}};

    return cli_dispatch("scenario", argc, argv, subs, 1,
                        "usage: chio scenario <subcommand> [options]\n"
                        "\n"
                        "subcommands:\n"
                        "  run FILE [--receipt-db DIR]   run a chio.scenario.v1 policy scenario\n"
                        "\n"
                        "  chio scenario run --help      all options\n");
}
