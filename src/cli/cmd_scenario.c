/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/cmd_scenario.c - `chio scenario run FILE [--receipt-db DIR]`: drive a
 * real kernel from a chio.scenario.v1 file (spec/kernel.md "Scenario
 * files") and print one canonical JSON line per step.
 *
 * The file is read and checked whole first (scenario_read.c), so a
 * malformed file prints no step at all: exit 2 with the path of the bad
 * field. This file owns the rest: building the kernel from the model,
 * registering its tool servers (canned behaviours: echo, fail, stream,
 * sample, sample_with_tools, elicit) and guards, then running the steps in
 * order. The kernel uses a temporary RocksDB directory (removed
 * afterwards) unless --receipt-db names one to keep, and a clock the runner
 * sets before each step ("clock", or the step's "at"), read atomically by
 * the kernel's clock callback.
 *
 * A run cut short still removes its temporary store: SIGINT or SIGTERM
 * stops it after the step in progress (a stream's pause and chunks end
 * at once, the tool failing "interrupted", and that step prints no line),
 * and a line that cannot be written (SIGPIPE is ignored: a reader that
 * closed the pipe, a full disk) stops it before the next step; then the
 * store is removed and the signal raised again, so the exit status is
 * the usual one (a write error other than EPIPE exits 2). Before review
 * 32 any of these killed the process and left the store under $TMPDIR.
 *
 * The file may hold the kernel's signing seed (kernel.signing_seed_hex):
 * the file's text is wiped and freed as soon as it is parsed, and the
 * parsed copy of the seed as soon as the keypair is built, so neither
 * sits in ordinary (dumpable) heap while the steps run nor after free.
 */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "scenario_internal.h"

#define CMD "scenario run"

static const char usage[] =
    "usage: chio scenario run FILE [--receipt-db DIR]\n"
    "\n"
    "Run a chio.scenario.v1 file against a real kernel and print one JSON line\n"
    "per step. The receipts go to a temporary RocksDB store, or to DIR (kept).\n"
    "Exit status: 0 the file ran (whatever the verdicts), 2 it is malformed or\n"
    "the receipt store cannot be used (nothing runs then), or a line could not\n"
    "be written. SIGINT, SIGTERM or a closed pipe stop the run after the step\n"
    "in progress and remove the temporary store.\n";

/* ---- stopping (one run per process; set from a signal handler) --------------------------- */

/* The signal (SIGINT, SIGTERM) that asked the run to stop, else 0. */
static volatile sig_atomic_t stop_signal;
/* errno of the first line that could not be written, else 0. */
static int out_errno;

static void on_stop(int sig)
{
    stop_signal = sig;
}

static int stopping(void)
{
    return stop_signal != 0 || out_errno != 0;
}

/* ---- output lines (built with svc_buf, cli.h) ------------------------------------------ */

/* Canonicalise @b and print it as one line; nothing once the run is
 * stopping (a step a signal cut short has no line). */
static void emit_line(svc_buf *b)
{
    char *canon = NULL;
    size_t len;
    int rc = 0;

    errno = 0;
    if (stopping()) {
        /* nothing: the run ends after this step */
    } else if (b->oom || chio_json_canonicalize(b->p, b->len, &canon, &len, NULL) != 0) {
        rc =
            fputs("{\"error\":\"internal: could not render the step\",\"ok\":false}\n", stdout) < 0;
    } else {
        rc = cli_write(canon, len) != 0 || cli_write("\n", 1) != 0;
        chio_free(canon);
    }
    if (!stopping() && (rc != 0 || fflush(stdout) != 0))
        out_errno = errno ? errno : EIO;
    free(b->p);
    memset(b, 0, sizeof(*b));
}

/* ---- tool behaviours ------------------------------------------------------------------------- */

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The stream behaviour's pause before a chunk, as a well-behaved tool
 * waits for its upstream: in steps of at most 10 ms against a monotonic
 * deadline, ending early once chio_tool_ctx_cancelled() says the call is
 * over (its stream duration passed), so the limit ends the wait, not the
 * delay; the chunk after it is then refused. */
static void stream_pause(const chio_tool_ctx *ctx, uint64_t ms)
{
    struct timespec t0, now;
    uint64_t done;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (chio_tool_ctx_cancelled(ctx) || stopping())
            return;
        clock_gettime(CLOCK_MONOTONIC, &now);
        done = (uint64_t)(now.tv_sec - t0.tv_sec) * 1000u +
               (uint64_t)((now.tv_nsec - t0.tv_nsec) / 1000000);
        if (done >= ms)
            return;
        sleep_ms(ms - done < 10 ? ms - done : 10);
    }
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
    if (chunk == NULL)
        return CHIO_ENOMEM;
    /* A JSON string of chunk_bytes - 2 'x': its canonical size is chunk_bytes. */
    chunk[0] = '"';
    memset(chunk + 1, 'x', body);
    chunk[body + 1] = '"';
    chunk[body + 2] = '\0';
    for (i = 0; i < s->chunks && rc == 0; i++) {
        if (s->delay_ms)
            stream_pause(ctx, s->delay_ms);
        if (stopping()) { /* its receipt must not read as a whole stream */
            chio_output_set_error(out, "scenario run was interrupted");
            rc = -1;
            break;
        }
        rc = chio_tool_ctx_emit_chunk(ctx, chunk, body + 2);
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

/* A session label (borrowed from the scenario document, any length) and
 * the id the kernel gave it. */
typedef struct label {
    const char *name;
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
    char id[CHIO_SESSION_ID_LEN + 1];
    chio_error err;
    int rc = 0;

    chio_error_init(&err);
    if (texts == NULL || lens == NULL) {
        snprintf(err.message, sizeof(err.message), "out of memory");
        rc = CHIO_ENOMEM;
    }
    for (j = 0; rc == 0 && j < n; j++) {
        const chio_json *t = chio_json_at(caps, j);
        const lifted_args *raw = chio__scenario_lifted(r->sc, i, j);
        if (raw == NULL && chio_json_typeof(t) == CHIO_JSON_OBJECT)
            raw = chio__scenario_written(r->sc, i, j);
        if (raw != NULL) { /* as written: the kernel reads the token's own bytes */
            texts[j] = raw->text;
            lens[j] = raw->len;
        } else if (chio_json_typeof(t) == CHIO_JSON_STRING) {
            texts[j] = chio_json_string(t, &lens[j]);
        } else {
            /* Never re-serialised: that read -0 or 1.7e9 as an integer. */
            snprintf(err.message, sizeof(err.message),
                     "capabilities[%zu]: its text as written could not be found", j);
            rc = CHIO_EFORMAT;
        }
    }
    if (rc == 0)
        rc = chio_kernel_open_session(r->k, chio_json_string(chio_json_get(o, "agent"), NULL),
                                      texts, lens, n, id, &err);
    if (rc == 0) {
        label *grown = realloc(r->labels, (r->nlabels + 1) * sizeof(*grown));
        if (grown != NULL) {
            r->labels = grown;
            grown[r->nlabels].name = chio_json_string(chio_json_get(o, "session"), NULL);
            memcpy(grown[r->nlabels].id, id, sizeof(id));
            r->nlabels++;
        }
    }
    ok_line(i, "open_session", rc, &err);
    free(texts);
    free(lens);
}

static void run_call(runner *r, size_t i, const chio_json *o)
{
    const chio_json *args = chio_json_get(o, "arguments");
    const lifted_args *raw = chio__scenario_lifted(r->sc, i, CHIO_LIFT_ARGS);
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
    if (raw != NULL) { /* as written: the kernel refuses them itself */
        call.arguments_json = raw->text;
        call.arguments_len = raw->len;
    } else if (args != NULL) {
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
    ok_line(i, chio__scenario_op_name(st->op), rc, &err);
}

/* The path of the kernel field chio_kernel_new() refused. The reader
 * checked every field it can; what is left is the kernel's own check of
 * ca_public_keys (a small-order key, whose index its message names, or
 * too many keys), named like any bad field; else the kernel object. */
static const char *kernel_field(int rc, const chio_error *err, char *path, size_t cap)
{
    size_t i;

    if (rc == CHIO_ECONFIG && sscanf(err->message, "kernel config: ca_public_keys[%zu]", &i) == 1)
        snprintf(path, cap, "kernel.ca_public_keys[%zu]", i);
    else if (rc == CHIO_ECONFIG &&
             strncmp(err->message, "kernel config: n_ca_public_keys", 31) == 0)
        snprintf(path, cap, "kernel.ca_public_keys");
    else
        snprintf(path, cap, "kernel");
    return path;
}

/* Build the kernel and register the servers and guards. */
static int setup(reader *rd, runner *r, const char *dir)
{
    scenario *sc = r->sc;
    chio_error err;
    char path[64];
    size_t i;
    int rc;

    chio_error_init(&err);
    if (sc->seed_hex != NULL) {
        size_t n = strlen(sc->seed_hex);
        rc = chio_keypair_from_seed_hex(sc->seed_hex, n, &sc->cfg.keypair, &err);
        /* The keypair holds the seed now (or it was refused): wipe the
         * parsed copy, which lives in the document's ordinary heap. */
        OPENSSL_cleanse((char *)sc->seed_hex, n);
    } else {
        rc = chio_keypair_generate(&sc->cfg.keypair, &err);
    }
    if (rc != 0)
        return chio__scenario_bad_at(rd, "kernel.signing_seed_hex", err.message);
    sc->cfg.receipt_store_path = dir;
    sc->cfg.clock = runner_clock;
    sc->cfg.clock_ctx = r;
    sc->cfg.log_level = CHIO_LOG_ERROR;
    rc = chio_kernel_new(&sc->cfg, &r->k, &err);
    if (rc != 0)
        return chio__scenario_bad_at(rd, kernel_field(rc, &err, path, sizeof(path)), err.message);
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
            snprintf(path, sizeof(path), "tool_servers[%zu]%s", i,
                     rc == CHIO_EDUPLICATE ? ".server_id" : "");
            return chio__scenario_bad_at(rd, path, err.message);
        }
    }
    for (i = 0; i < sc->nguards; i++) {
        guard_spec *g = &sc->guards[i];
        rc = g->secret ? chio_kernel_add_secret_leak_guard(r->k, g->name, g->list, g->n, &err)
                       : chio_kernel_add_forbidden_path_guard(r->k, g->name, g->list, g->n, &err);
        /* The reader checked the name; a duplicate is the name, any other
         * refusal the pattern or prefix list. */
        if (rc != 0) {
            snprintf(path, sizeof(path), "guards[%zu].%s", i,
                     rc == CHIO_EDUPLICATE ? "name"
                     : g->secret           ? "patterns"
                                           : "prefixes");
            return chio__scenario_bad_at(rd, path, err.message);
        }
    }
    return chio_kernel_set_nested_handler(r->k, nested_answer, NULL, &err);
}

/* Open the store before the first step: a store the kernel cannot use
 * (another kernel key's, a corrupt or busy one) is bad input, refused
 * before anything runs, not an error on every step. */
static int start_store(runner *r, const char *dir)
{
    chio_error err;

    chio_error_init(&err);
    __atomic_store_n(&r->now, r->sc->clock, __ATOMIC_RELAXED); /* for the start's log lines */
    if (chio_kernel_start(r->k, &err) == 0)
        return 0;
    if (err.code == CHIO_EBUSY)
        return cli_store_busy(
            CMD, dir, "stop it first, or leave --receipt-db out for a temporary store", &err);
    if (err.code == CHIO_ECONFIG && r->sc->seed_hex == NULL) /* another key's store */
        return cli_error(CMD,
                         "cannot use the receipt store %s: %s (the file names no "
                         "kernel.signing_seed_hex, so every run signs with a new random key: "
                         "add one, or give a new --receipt-db)",
                         dir, err.message);
    return cli_error(CMD, "cannot use the receipt store %s: %s", dir, err.message);
}

/* Stop on SIGINT and SIGTERM after the step in progress, and see a
 * closed output as a failed write (EPIPE), not a signal that kills the
 * process before its temporary store is removed. */
static void catch_stops(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

/* After the store is removed: end as the stop asked (the signal raised
 * again with its default action), or report a write error; else @rc. */
static int end_run(int rc)
{
    int sig = stop_signal ? stop_signal : out_errno == EPIPE ? SIGPIPE : 0;

    if (sig != 0) {
        signal(sig, SIG_DFL);
        raise(sig);
    }
    if (out_errno != 0)
        return cli_error(CMD, "cannot write the step lines: %s (the steps after were not run)",
                         strerror(out_errno));
    return rc;
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
    rc = chio__scenario_read(&rd, &sc, text, len);
    /* The document keeps its own copies: the text (which may hold the
     * seed) is not needed any more. */
    OPENSSL_cleanse(text, len);
    free(text);
    if (rc != 0) {
        chio__scenario_free(&sc);
        return cli_error(CMD, "%s: malformed scenario: %s", pos[0], rd.msg);
    }
    catch_stops(); /* before the temporary store exists */
    dir = opts[0].value;
    if (dir == NULL) {
        const char *t = getenv("TMPDIR");
        snprintf(tmpdir, sizeof(tmpdir), "%s/chio-scenario-XXXXXX", t && *t ? t : "/tmp");
        if (mkdtemp(tmpdir) == NULL) {
            chio__scenario_free(&sc);
            return cli_error(CMD, "cannot create a temporary directory: %s", strerror(errno));
        }
        dir = tmpdir;
        sc.cfg.durability = CHIO_DURABILITY_NOSYNC; /* thrown away afterwards */
    }
    rc = setup(&rd, &r, dir);
    if (rc != 0) {
        cli_error(CMD, "%s: malformed scenario: %s", pos[0], rd.msg);
        rc = CLI_USAGE;
    } else if (start_store(&r, dir) != 0) {
        rc = CLI_USAGE;
    } else {
        for (i = 0; i < sc.nsteps && !stopping(); i++)
            run_step(&r, i);
        rc = CLI_OK;
    }
    chio_kernel_free(r.k);
    free(r.labels);
    chio__scenario_free(&sc);
    if (tmpdir[0])
        nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return end_run(rc);
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
