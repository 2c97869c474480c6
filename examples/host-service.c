/* SPDX-License-Identifier: Apache-2.0 */
/*
 * examples/host-service.c - a small service that embeds libchio the way the
 * in-process deployment does: build a kernel, register a tool server and
 * guards, open agent sessions, mediate every tool call, drain on shutdown.
 *
 * Traffic: newline-delimited JSON over Unix sockets (mode 0600), one
 * request per line, one response line per request. Two sockets, two roles:
 *
 * The agent socket (--socket) is for agents:
 *   {"op":"open_session","session":"label","agent":HEX,"capabilities":[token,...]}
 *     (each token a JSON object, handed to the kernel as its bytes written
 *     in the line, never re-serialised, or a string holding the token's text)
 *   {"op":"call","session":"label-or-id","capability_id":..,"server":..,"tool":..,
 *    "arguments":{..},"request_id":..?}
 *   {"op":"close_session","session":"label-or-id"}
 *   {"op":"ping"}
 * A session belongs to the connection that opened it: only that connection
 * may call on it or close it, and when the connection ends its sessions are
 * closed. A request naming a session this connection did not open gets the
 * same answer as a session that does not exist (unknown_session), so one
 * client cannot learn, use or close another's sessions even when it has
 * read their ids in the receipts. "revoke" is refused here (forbidden).
 *
 * The admin socket (--admin-socket; none unless given) is for the operator:
 *   {"op":"revoke","capability_id":..}       (at most 256 bytes)
 *   {"op":"status"}                          (connection and session counts)
 *   {"op":"metrics"}                         ({"ok":true,"prometheus":TEXT}: the
 *                                            kernel's counters, and with --export-nats
 *                                            the exporter's, chio_export_lag_receipts)
 *   {"op":"ping"}
 * Only root and one more user id (--admin-uid, default this process's own)
 * are served there (checked with SO_PEERCRED), and agent operations are
 * refused on it (forbidden). Both sockets are 0600, so when agents run as
 * the service's own user, pass --admin-uid 0 to make revocation root's alone.
 *
 * Responses: {"ok":true,...} or {"ok":false,"code":..,"error":..}. Codes the
 * service adds to the kernel's: unknown_session, forbidden, invalid_request
 * (a field missing or of the wrong type: no "op"; a call without
 * "capability_id", "server" or "tool" strings, or with a "request_id" that
 * is not one; a "capabilities" entry that is neither an object nor a
 * string; the error names the member), invalid_capability (a token that
 * does not parse as one, as written: the error names its index and the
 * field), too_large (a request line over
 * --max-line bytes: answered, then the connection is closed; a revocation
 * id over 256 bytes), too_many_sessions (--max-sessions-per-connection or
 * --max-sessions reached), too_many_connections (--max-connections agent
 * connections, or 4 admin connections, are open, or the process is out of
 * file descriptors: answered, then closed), idle_timeout (no complete
 * request for --idle-timeout seconds: answered, then closed),
 * session_active (close_session while a call on it is in flight). A line
 * that is not JSON, or an op the socket does not know, is the library's
 * invalid_arguments.
 *
 * Hostile clients: a connection holds at most one request line (--max-line;
 * reading stops as soon as a line passes it) and one response (the next
 * line is not read before the answer is sent); sockets are non-blocking and
 * an answer not taken within 10 s drops the connection; connections beyond
 * --max-connections, or beyond the descriptors left (a reserve descriptor
 * is freed to answer them), are refused; at start the soft RLIMIT_NOFILE is
 * raised toward the hard one, and a default --max-connections is lowered to
 * what fits. The log lines a client can cause (a connection closed or
 * refused, a line too long, a peer refused on the admin socket) are at
 * most one a second, the next line saying how many were not written.
 * --socket and --admin-socket never replace anything but a stale socket: a
 * path that is not a socket, or a socket a live service answers on
 * ("already in use"), exits 2, and so does a receipt store another process
 * holds.
 *
 * Environment: CHIO_SIGNING_KEY (required; the kernel's 64-hex-digit seed;
 * wiped and removed from the environment once read), CHIO_POLICY_HASH
 * (default dev-policy-hash). Signals: SIGTERM and SIGINT stop accepting,
 * drain every session, drain the kernel (every receipt committed), flush
 * the logs and exit 0, within --drain-timeout (10 s) whatever clients do:
 * connections still open then are cut and calls still running cancelled. SIGHUP is logged and
 * ignored: a kernel's policy is fixed when it is built (its hash is in every receipt), so a policy
 * change is a restart with a new CHIO_POLICY_HASH, never a live reload.
 *
 * Threads: main (signals), one acceptor polling both listeners, one thread
 * per connection. svc.mu guards the connection list, the counters and the
 * session table; it is never held across a kernel call that may block on
 * the store (open, evaluate, revoke, close).
 *
 *   host-service [--receipt-db DIR] [--socket PATH] [--admin-socket PATH]
 *                [--admin-uid UID] [--pid-file PATH] [--max-connections N] [--max-sessions N]
 *                [--max-sessions-per-connection N] [--max-line BYTES]
 *                [--idle-timeout SECONDS] [--drain-timeout SECONDS] [--checkpoint-batch N]
 *                [--export-nats URL[,URL...]]
 *                [--witness-nats URL[,URL...]] [--witness-stream NAME] [--witness-optional]
 *
 * --export-nats runs the fleet exporter (chio/export_nats.h, docs/fleet.md)
 * on a thread of its own: every receipt goes to the JetStream stream CHIO
 * without ever holding up a call; its lag is in the metrics. This program
 * links build/libchio_export.a and libnats for it.
 *
 * Start-up witness (--witness-nats): before the kernel opens the store, the
 * store is compared with what this key published to the NATS JetStream
 * stream (src/export/witness.c, linked in by the Makefile; the one part of
 * this example beyond the public API). A store rolled back behind what was
 * published, or apart from it, exits 3; a check that cannot run exits 4,
 * unless --witness-optional lets unreachable servers pass with a warning.
 *
 * Two text helpers the sidecar and the MCP gateway share are linked in too
 * (src/svc/, themselves on the public API only): svc_json_span.c, the walk
 * that finds a token object's bytes in the request line, and svc_log.c,
 * the one-line-a-second limit.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <sys/un.h>
#include <unistd.h>

#include <chio/chio.h>
#include <chio/export_nats.h>

#include "export.h"        /* the start-up witness (src/export/) */
#include "svc_json_span.h" /* a token object's bytes as written (src/svc/) */
#include "svc_log.h"       /* one line a second for what a client causes (src/svc/) */

/* ---- small helpers -------------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 512;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (b->p == NULL)
            abort();
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

/* A JSON string, escaped by the library (invalid UTF-8 becomes U+FFFD). */
static void sb_str(sbuf *b, const char *s)
{
    char *q = NULL;
    size_t n = 0;

    if (chio_json_write_string(s, strlen(s), &q, &n) != 0)
        abort(); /* out of memory, as in sb_add */
    sb_add(b, q, n);
    chio_free(q);
}

static void log_line(const char *event, const char *detail)
{
    sbuf b = {0};

    sb_puts(&b, "{\"component\":\"host-service\",\"event\":");
    sb_str(&b, event);
    if (detail != NULL) {
        sb_puts(&b, ",\"detail\":");
        sb_str(&b, detail);
    }
    sb_puts(&b, "}\n");
    fputs(b.p, stderr);
    free(b.p);
}

/* The lines a peer can cause at will (a connection closed or refused, a
 * line too long, a peer refused on the admin socket): at most one a second
 * for each limiter, the next line written saying how many were not, as the
 * sidecar and the MCP gateway do (src/svc/svc_log.c). Before review 19
 * every one was written, and an agent that connected and closed in a loop
 * grew stderr by about 2 MB a second. Agent connections and peers refused
 * on the admin socket share one limiter; the operator's admin connections
 * have their own, so that a flood of agents hides no operator line. */
static svc_log_limit agent_log, admin_log, fd_log;

static void limited_log_line(svc_log_limit *l, const char *event, const char *detail)
{
    unsigned long long dropped = 0;
    char text[320];

    if (!svc_log_limit_take(l, &dropped))
        return;
    if (dropped == 0) {
        log_line(event, detail);
        return;
    }
    snprintf(text, sizeof(text), "%s (%llu lines not shown since the last one: one a second)",
             detail, dropped);
    log_line(event, text);
}

/* At exit: the lines a limiter held back since its last line (no line of
 * its own may follow to say so). */
static void limited_log_flush(svc_log_limit *l, const char *what)
{
    unsigned long long dropped = __atomic_exchange_n(&l->dropped, 0, __ATOMIC_RELAXED);
    char text[160];

    if (dropped == 0)
        return;
    snprintf(text, sizeof(text), "%llu lines about %s not shown since the last one (one a second)",
             dropped, what);
    log_line("lines_not_shown", text);
}

/* ---- the tool server and its guards -------------------------------------------------- */

/* A pretend file and web service: answers from the arguments. */
static int demo_tools(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                      size_t len, chio_output *out)
{
    sbuf b = {0};
    int rc;

    (void)user;
    (void)ctx;
    sb_puts(&b, "{\"tool\":");
    sb_str(&b, tool);
    sb_puts(&b, ",\"result\":\"ok\",\"arguments\":");
    sb_add(&b, args, len);
    sb_puts(&b, "}");
    rc = chio_output_set_json(out, b.p, b.len);
    free(b.p);
    return rc;
}

static int register_everything(chio_kernel *k, chio_error *err)
{
    static const char *const file_tools[] = {"file_read", "file_write", "list_dir"};
    static const char *const web_tools[] = {"fetch"};
    static const char *const forbidden[] = {"/etc/", "/root/", "/proc/"};
    static const char *const secrets[] = {"AKIA[0-9A-Z]{16}", "-----BEGIN [A-Z ]*PRIVATE KEY-----",
                                          "ghp_[0-9A-Za-z]{36}"};
    chio_tool_server s;
    int rc;

    memset(&s, 0, sizeof(s));
    s.server_id = "srv-files";
    s.tool_names = file_tools;
    s.ntools = 3;
    s.invoke = demo_tools;
    rc = chio_kernel_register_tool_server(k, &s, err);
    if (rc == 0) {
        s.server_id = "srv-web";
        s.tool_names = web_tools;
        s.ntools = 1;
        rc = chio_kernel_register_tool_server(k, &s, err);
    }
    if (rc == 0)
        rc = chio_kernel_add_forbidden_path_guard(k, "ForbiddenPathGuard", forbidden, 3, err);
    if (rc == 0)
        rc = chio_kernel_add_secret_leak_guard(k, "SecretLeakGuard", secrets, 3, err);
    return rc;
}

/* ---- service state ------------------------------------------------------------------------ */

#define MAX_CAPABILITY_ID 256 /* bytes; the library refuses longer ids too */
#define MAX_LABEL         63  /* bytes of a session label */
#define MAX_ADMIN_CONNS   4   /* admin connections are few and short */
#define SEND_TIMEOUT_S    10  /* a response not taken within this is dropped, with the client */
#define FD_HEADROOM       64  /* descriptors kept for the kernel's store, logs and listeners */

typedef struct conn {
    int fd;
    int admin; /* accepted on the admin socket */
    pthread_t thread;
    int done;         /* atomic: the thread finished */
    size_t nsessions; /* sessions this connection holds (under svc.mu) */
    struct conn *next;
} conn;

/* One open session and the connection that owns it. A free slot has no
 * owner; a slot whose id is "" is reserved by an open in progress. */
typedef struct slot {
    conn *owner;
    unsigned long long seq; /* opening order, for labels used twice */
    char id[CHIO_SESSION_ID_LEN + 1];
    char label[MAX_LABEL + 1];
} slot;

static struct {
    chio_kernel *k;
    chio_export_nats *exporter; /* with --export-nats */
    int listen_fd, admin_fd;
    int wake[2];    /* the acceptor's stop signal */
    int stopping;   /* atomic */
    int reserve_fd; /* a spare descriptor, freed to shed connections when out of them */
    unsigned long long drain_deadline; /* atomic: monotonic ms; 0 until SIGTERM */
    int cancel;         /* atomic: 1 once the drain deadline has passed: calls still running end */
    pthread_mutex_t mu; /* everything below */
    conn *conns;
    size_t nconns[2]; /* live agent [0] and admin [1] connections */
    slot *slots;      /* max_sessions entries, reused */
    size_t nsessions; /* slots in use */
    unsigned long long seq;
    /* limits */
    size_t max_conns, max_sessions, max_conn_sessions, max_line;
    size_t idle_timeout_s, drain_timeout_s;
    uid_t admin_uid; /* besides root, the one user served on the admin socket */
} svc = {.mu = PTHREAD_MUTEX_INITIALIZER,
         .listen_fd = -1,
         .admin_fd = -1,
         .wake = {-1, -1},
         .reserve_fd = -1,
         .max_conns = 256,
         .idle_timeout_s = 60,
         .drain_timeout_s = 10,
         .max_sessions = 1024,
         .max_conn_sessions = 16,
         .max_line = 1u << 20};

/* ---- replies ------------------------------------------------------------------------------- */

static const char *get_str(const chio_json *o, const char *key)
{
    return chio_json_string(chio_json_get(o, key), NULL);
}

static void reply_error(sbuf *out, const char *code, const char *message)
{
    sb_puts(out, "{\"ok\":false,\"code\":");
    sb_str(out, code);
    sb_puts(out, ",\"error\":");
    sb_str(out, message);
    sb_puts(out, "}");
}

/* The service's code for a library error: the library's name, except
 * where the service needs a more precise one than "internal_error". */
static const char *error_code(int rc)
{
    switch (rc) {
    case CHIO_ESESSION_ACTIVE:
        return "session_active";
    default:
        return chio_errno_reason(rc);
    }
}

static void fail_reply(sbuf *out, int rc, const chio_error *err)
{
    reply_error(out, error_code(rc), err && err->message[0] ? err->message : chio_strerror(rc));
}

/* The one answer for a session this connection does not hold: it never
 * depends on whether the session exists elsewhere. */
static void reply_unknown_session(sbuf *out)
{
    reply_error(out, "unknown_session", "no session by that name or id is open on this connection");
}

/* ---- the session table ------------------------------------------------------------------- */

/* Reserve a slot for @c. Returns it, or NULL with @why set when a limit is
 * reached. */
static slot *slot_reserve(conn *c, const char *label, char *why, size_t whylen)
{
    slot *s = NULL;
    size_t i;

    pthread_mutex_lock(&svc.mu);
    if (c->nsessions >= svc.max_conn_sessions) {
        snprintf(why, whylen,
                 "this connection already holds %zu sessions, the most allowed "
                 "(--max-sessions-per-connection); close one first",
                 c->nsessions);
    } else if (svc.nsessions >= svc.max_sessions) {
        snprintf(why, whylen,
                 "the service holds %zu sessions, the most allowed (--max-sessions); "
                 "try again later",
                 svc.nsessions);
    } else {
        for (i = 0; i < svc.max_sessions && s == NULL; i++)
            if (svc.slots[i].owner == NULL)
                s = &svc.slots[i];
        assert(s != NULL); /* nsessions < max_sessions */
        s->owner = c;
        s->seq = ++svc.seq;
        s->id[0] = '\0';
        snprintf(s->label, sizeof(s->label), "%s", label ? label : "");
        c->nsessions++;
        svc.nsessions++;
    }
    pthread_mutex_unlock(&svc.mu);
    return s;
}

static void slot_release(slot *s)
{
    pthread_mutex_lock(&svc.mu);
    s->owner->nsessions--;
    svc.nsessions--;
    memset(s, 0, sizeof(*s));
    pthread_mutex_unlock(&svc.mu);
}

/* The open session @c holds under label or id @name (a label wins; the
 * newest of two equal labels wins), or NULL. Only @c's own thread frees
 * @c's slots, so the pointer stays valid for that thread. */
static slot *slot_find(const conn *c, const char *name)
{
    slot *best = NULL;
    size_t i;

    if (name == NULL || name[0] == '\0')
        return NULL;
    pthread_mutex_lock(&svc.mu);
    for (i = 0; i < svc.max_sessions; i++) {
        slot *s = &svc.slots[i];
        if (s->owner == c && s->id[0] && s->label[0] && strcmp(s->label, name) == 0 &&
            (best == NULL || s->seq > best->seq))
            best = s;
    }
    for (i = 0; i < svc.max_sessions && best == NULL; i++) {
        slot *s = &svc.slots[i];
        if (s->owner == c && s->id[0] && strcmp(s->id, name) == 0)
            best = s;
    }
    pthread_mutex_unlock(&svc.mu);
    return best;
}

/* Close every session @c holds (its thread only; no call of @c is in flight,
 * so each close succeeds). Returns how many were closed. */
static size_t close_conn_sessions(conn *c)
{
    size_t i, n = 0;

    for (i = 0; i < svc.max_sessions; i++) {
        slot *s = &svc.slots[i];
        int mine;

        pthread_mutex_lock(&svc.mu);
        mine = s->owner == c && s->id[0];
        pthread_mutex_unlock(&svc.mu);
        if (!mine)
            continue;
        chio_kernel_close_session(svc.k, s->id, NULL);
        slot_release(s);
        n++;
    }
    return n;
}

/* ---- requests -------------------------------------------------------------------------------- */

/* open_session. Each token is a JSON string (its decoded bytes are the
 * token) or a JSON object (the token is the object's bytes as written in
 * the request line, never re-serialised: the canonical copy this service
 * made before review 19 turned "issued_at": 1.796585726e+09, which the
 * kernel refuses as written, into an integer, and the session opened; the
 * sidecar reads a body's token the same way, review 45). A token that does
 * not parse is the client's: invalid_capability, as in the sidecar (before
 * review 19 it was the library's class, internal_error). */
static void op_open(conn *c, const chio_json *req, const char *line, size_t linelen, sbuf *out)
{
    const chio_json *caps = chio_json_get(req, "capabilities");
    const chio_json *label = chio_json_get(req, "session");
    const char *agent = get_str(req, "agent"), *name;
    size_t n = chio_json_size(caps), i, namelen = 0, at = 0, aend = 0, alen = 0, es, ee;
    const char **texts = NULL, *arr = NULL;
    size_t *lens = NULL;
    char why[200], id[CHIO_SESSION_ID_LEN + 1];
    slot *s;
    chio_error err;
    int rc = 0;

    chio_error_init(&err);
    name = chio_json_string(label, &namelen);
    if (label != NULL &&
        (name == NULL || namelen == 0 || namelen > MAX_LABEL || strlen(name) != namelen)) {
        reply_error(out, "invalid_request",
                    "\"session\" must be a label of 1 to 63 bytes (no NUL)");
        return;
    }
    if (caps != NULL && chio_json_typeof(caps) != CHIO_JSON_ARRAY) {
        reply_error(out, "invalid_request", "\"capabilities\" must be an array of tokens");
        return;
    }
    s = slot_reserve(c, name, why, sizeof(why));
    if (s == NULL) {
        reply_error(out, "too_many_sessions", why);
        return;
    }
    texts = calloc(n + 1, sizeof(*texts));
    lens = calloc(n + 1, sizeof(*lens));
    if (texts == NULL || lens == NULL) {
        rc = CHIO_ENOMEM;
        goto out;
    }
    /* The array's elements as written, walked once beside the parsed ones
     * (one walk: looking each one up from the start was quadratic). The
     * line parsed, so the walk finds them; if it does not, nothing is
     * opened. */
    if (n > 0 &&
        ((arr = svc_json_member(line, linelen, "capabilities", &alen)) == NULL || arr[0] != '[')) {
        slot_release(s);
        reply_error(out, "internal_error", "the capabilities' text was not found in the request");
        goto done;
    }
    if (arr != NULL) { /* from past its '[' to its end */
        at = (size_t)(arr - line) + 1;
        aend = (size_t)(arr - line) + alen;
    }
    for (i = 0; i < n; i++) {
        const chio_json *t = chio_json_at(caps, i);
        chio_capability *cap = NULL;

        if (svc_json_next_element(line, aend, &at, &es, &ee) != 1 ||
            (chio_json_typeof(t) == CHIO_JSON_OBJECT && line[es] != '{')) {
            snprintf(why, sizeof(why), "capability %zu: its text was not found in the request", i);
            slot_release(s);
            reply_error(out, "internal_error", why);
            goto done;
        }
        if (chio_json_typeof(t) == CHIO_JSON_STRING) {
            texts[i] = chio_json_string(t, &lens[i]);
        } else if (chio_json_typeof(t) == CHIO_JSON_OBJECT) {
            texts[i] = line + es;
            lens[i] = ee - es;
        } else {
            snprintf(why, sizeof(why),
                     "capability %zu must be a token: a JSON object or a string holding one", i);
            slot_release(s);
            reply_error(out, "invalid_request", why);
            goto done;
        }
        /* The client's token is checked here, so that what does not parse
         * is told apart from what fails in the kernel. */
        rc = chio_capability_parse(texts[i], lens[i], &cap, &err);
        chio_capability_free(cap);
        if (rc == CHIO_ENOMEM)
            goto out;
        if (rc != 0) {
            snprintf(why, sizeof(why), "capability %zu: %.150s", i,
                     err.message[0] ? err.message : chio_strerror(rc));
            slot_release(s);
            reply_error(out, "invalid_capability", why);
            goto done;
        }
    }
    rc = chio_kernel_open_session(svc.k, agent ? agent : "", texts, lens, n, id, &err);
out:
    if (rc != 0) {
        slot_release(s);
        fail_reply(out, rc, &err);
    } else {
        pthread_mutex_lock(&svc.mu); /* shutdown reads ids under the lock */
        memcpy(s->id, id, sizeof(id));
        pthread_mutex_unlock(&svc.mu);
        sb_puts(out, "{\"ok\":true,\"session\":");
        sb_str(out, id);
        sb_puts(out, "}");
    }
done:
    free(texts);
    free(lens);
}

/* The first member a call needs that is missing or not a string (and a
 * request_id that is given but not a string), or NULL: such a call is the
 * client's malformed request, answered invalid_request naming the member,
 * not handed to the kernel as a NULL id (which answered "capability id must
 * be UTF-8" for a capability_id that was simply left out). */
static const char *call_bad_member(const chio_json *req)
{
    static const char *const required[] = {"capability_id", "server", "tool"};
    const chio_json *rid = chio_json_get(req, "request_id");
    size_t i;

    for (i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        if (get_str(req, required[i]) == NULL)
            return required[i];
    if (rid != NULL && chio_json_typeof(rid) != CHIO_JSON_STRING)
        return "request_id";
    return NULL;
}

static void op_call(conn *c, const chio_json *req, sbuf *out)
{
    const chio_json *args = chio_json_get(req, "arguments");
    slot *s = slot_find(c, get_str(req, "session"));
    const char *bad = call_bad_member(req);
    char *argtext = NULL;
    size_t arglen = 0, rlen;
    chio_response resp;
    chio_call call;
    chio_call_options opts;
    chio_error err;
    int rc = 0;

    if (s == NULL) {
        reply_unknown_session(out);
        return;
    }
    if (bad != NULL) {
        char why[96];
        snprintf(why, sizeof(why), "a call needs \"%s\" as a string%s", bad,
                 strcmp(bad, "request_id") == 0 ? " when it is given" : "");
        reply_error(out, "invalid_request", why);
        return;
    }
    memset(&call, 0, sizeof(call));
    memset(&opts, 0, sizeof(opts));
    opts.cancel = &svc.cancel; /* set when the drain deadline passes */
    chio_error_init(&err);
    chio_response_init(&resp);
    call.session_id = s->id;
    call.capability_id = get_str(req, "capability_id");
    call.server_id = get_str(req, "server");
    call.tool_name = get_str(req, "tool");
    call.request_id = get_str(req, "request_id");
    if (args != NULL)
        rc = chio_json_write_canonical(args, &argtext, &arglen);
    call.arguments_json = argtext;
    call.arguments_len = arglen;
    if (rc == 0)
        rc = chio_kernel_evaluate_ex(svc.k, &call, &opts, &resp, &err);
    if (rc != 0) {
        fail_reply(out, rc, &err);
    } else {
        const char *receipt = chio_receipt_json(resp.receipt, &rlen);
        sb_puts(out, "{\"ok\":true,\"verdict\":");
        sb_str(out, chio_verdict_name(resp.verdict));
        sb_puts(out, ",\"code\":");
        sb_str(out, chio_code_name(resp.code));
        sb_puts(out, ",\"reason\":");
        sb_str(out, resp.reason);
        sb_puts(out, ",\"output\":");
        if (resp.output != NULL)
            sb_add(out, resp.output, resp.output_len);
        else
            sb_puts(out, "null");
        sb_puts(out, ",\"receipt_id\":");
        sb_str(out, chio_receipt_id(resp.receipt));
        sb_puts(out, ",\"receipt\":");
        sb_add(out, receipt, rlen);
        sb_puts(out, "}");
    }
    chio_response_destroy(&resp);
    chio_free(argtext);
}

static void op_close(conn *c, const chio_json *req, sbuf *out)
{
    slot *s = slot_find(c, get_str(req, "session"));
    chio_error err;
    int rc;

    if (s == NULL) {
        reply_unknown_session(out);
        return;
    }
    chio_error_init(&err);
    rc = chio_kernel_close_session(svc.k, s->id, &err);
    if (rc != 0) {
        fail_reply(out, rc, &err);
        return;
    }
    slot_release(s);
    sb_puts(out, "{\"ok\":true}");
}

static void op_revoke(const chio_json *req, sbuf *out)
{
    const chio_json *v = chio_json_get(req, "capability_id");
    size_t len = 0;
    const char *id = chio_json_string(v, &len);
    chio_error err;
    char detail[MAX_CAPABILITY_ID + 32];
    int rc;

    if (id == NULL || len == 0 || strlen(id) != len) {
        reply_error(out, "invalid_request",
                    "revoke needs \"capability_id\": a non-empty string without NUL");
        return;
    }
    if (len > MAX_CAPABILITY_ID) {
        reply_error(out, "too_large", "a capability id is at most 256 bytes");
        return;
    }
    chio_error_init(&err);
    rc = chio_kernel_revoke_capability(svc.k, id, &err);
    if (rc != 0) {
        fail_reply(out, rc, &err);
        return;
    }
    snprintf(detail, sizeof(detail), "%s", id);
    log_line("revoked", detail);
    sb_puts(out, "{\"ok\":true}");
}

static void op_status(sbuf *out)
{
    char text[512];

    pthread_mutex_lock(&svc.mu);
    snprintf(text, sizeof(text),
             "{\"ok\":true,\"connections\":%zu,\"admin_connections\":%zu,\"sessions\":%zu,"
             "\"max_connections\":%zu,\"max_sessions\":%zu,\"max_sessions_per_connection\":%zu,"
             "\"max_line\":%zu,\"idle_timeout_s\":%zu,\"drain_timeout_s\":%zu}",
             svc.nconns[0], svc.nconns[1], svc.nsessions, svc.max_conns, svc.max_sessions,
             svc.max_conn_sessions, svc.max_line, svc.idle_timeout_s, svc.drain_timeout_s);
    pthread_mutex_unlock(&svc.mu);
    sb_puts(out, text);
}

/* The kernel's Prometheus text, then the exporter's (chio_export_lag_receipts). */
static void op_metrics(sbuf *out)
{
    char *text = NULL, *more = NULL;
    size_t len = 0;
    sbuf b = {0};

    if (chio_kernel_metrics_prometheus(svc.k, &text, &len) == 0) {
        sb_add(&b, text, len);
        chio_free(text);
    }
    if (svc.exporter != NULL &&
        chio_export_nats_metrics_prometheus(svc.exporter, &more, &len) == 0) {
        sb_add(&b, more, len);
        free(more);
    }
    sb_puts(out, "{\"ok\":true,\"prometheus\":");
    sb_str(out, b.p ? b.p : "");
    sb_puts(out, "}");
    free(b.p);
}

static void handle(conn *c, const char *line, size_t len, sbuf *out)
{
    chio_json_doc *doc = NULL;
    const chio_json *req;
    const char *op;
    chio_error err;
    int rc;

    chio_error_init(&err);
    rc = chio_json_parse(line, len, &doc, &err);
    if (rc != 0) {
        fail_reply(out, rc, &err);
        return;
    }
    req = chio_json_root(doc);
    op = get_str(req, "op");
    if (op == NULL) {
        reply_error(out, "invalid_request", "a request needs an \"op\" string");
    } else if (strcmp(op, "ping") == 0) {
        sb_puts(out, "{\"ok\":true,\"kernel_key\":");
        sb_str(out, chio_kernel_public_hex(svc.k));
        sb_puts(out, "}");
    } else if (c->admin && strcmp(op, "revoke") == 0) {
        op_revoke(req, out);
    } else if (c->admin && strcmp(op, "status") == 0) {
        op_status(out);
    } else if (c->admin && strcmp(op, "metrics") == 0) {
        op_metrics(out);
    } else if (!c->admin && strcmp(op, "open_session") == 0) {
        op_open(c, req, line, len, out);
    } else if (!c->admin && strcmp(op, "call") == 0) {
        op_call(c, req, out);
    } else if (!c->admin && strcmp(op, "close_session") == 0) {
        op_close(c, req, out);
    } else if (!c->admin && (strcmp(op, "revoke") == 0 || strcmp(op, "status") == 0)) {
        reply_error(out, "forbidden",
                    "revoke and status are operator actions: send them on the admin socket "
                    "(host-service --admin-socket)");
    } else if (c->admin && (strcmp(op, "open_session") == 0 || strcmp(op, "call") == 0 ||
                            strcmp(op, "close_session") == 0)) {
        reply_error(out, "forbidden",
                    "agent operations go to the agent socket, not the admin "
                    "socket");
    } else {
        chio_error_init(&err);
        snprintf(err.message, sizeof(err.message), "unknown op '%.60s'", op);
        fail_reply(out, CHIO_EINVAL, &err);
    }
    chio_json_doc_free(doc);
}

/* ---- connections --------------------------------------------------------------------------- */

/* Monotonic milliseconds. */
static unsigned long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000u + (unsigned long long)ts.tv_nsec / 1000000u;
}

/* Milliseconds left until @deadline, also bounded by the drain deadline
 * once SIGTERM has set one; 0 when either has passed. */
static int ms_left(unsigned long long deadline)
{
    unsigned long long now = now_ms(),
                       drain = __atomic_load_n(&svc.drain_deadline, __ATOMIC_ACQUIRE);

    if (drain != 0 && drain < deadline)
        deadline = drain;
    if (deadline <= now)
        return 0;
    return deadline - now > 60000 ? 60000 : (int)(deadline - now);
}

/* Wait until @fd is ready for @events or @deadline passes. 1: ready (or
 * an error or hang-up the next read or send reports); 0: timed out. */
static int wait_fd(int fd, short events, unsigned long long deadline)
{
    for (;;) {
        struct pollfd p = {fd, events, 0};
        int left = ms_left(deadline), n;

        if (left == 0)
            return 0;
        n = poll(&p, 1, left);
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return 1;
    }
}

/* A bounded line reader: never holds more than max_line + 1 bytes, and
 * stops reading as soon as a line passes max_line, newline or not. */
typedef struct reader {
    int fd;
    char *buf;
    size_t cap, len, pos;
} reader;

enum { LINE_OK = 1, LINE_EOF = 0, LINE_ERROR = -1, LINE_TOO_LONG = -2, LINE_IDLE = -3 };

/* The next line (without its newline) in *@line and *@n, valid until the next
 * call; LINE_IDLE when it is not complete by @deadline (monotonic ms). A last
 * line without a newline counts as a line. */
static int read_line(reader *r, const char **line, size_t *n, unsigned long long deadline)
{
    for (;;) {
        char *nl = r->len > r->pos ? memchr(r->buf + r->pos, '\n', r->len - r->pos) : NULL;
        ssize_t got;

        if (nl != NULL) {
            *line = r->buf + r->pos;
            *n = (size_t)(nl - (r->buf + r->pos));
            r->pos = (size_t)(nl - r->buf) + 1;
            return *n > svc.max_line ? LINE_TOO_LONG : LINE_OK;
        }
        if (r->len - r->pos > svc.max_line)
            return LINE_TOO_LONG;
        if (r->pos > 0) { /* keep the partial line at the front */
            memmove(r->buf, r->buf + r->pos, r->len - r->pos);
            r->len -= r->pos;
            r->pos = 0;
        }
        if (r->len == r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 4096;
            char *p;
            if (cap > svc.max_line + 1)
                cap = svc.max_line + 1;
            p = realloc(r->buf, cap);
            if (p == NULL)
                return LINE_ERROR;
            r->buf = p;
            r->cap = cap;
        }
        got = read(r->fd, r->buf + r->len, r->cap - r->len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait_fd(r->fd, POLLIN, deadline))
                return LINE_IDLE;
            continue;
        }
        if (got < 0)
            return LINE_ERROR;
        if (got == 0) {
            if (r->len == r->pos)
                return LINE_EOF;
            *line = r->buf + r->pos;
            *n = r->len - r->pos;
            r->pos = r->len;
            return LINE_OK;
        }
        r->len += (size_t)got;
    }
}

/* Send all of @p by @deadline (and the drain deadline); the descriptor is
 * non-blocking, so a client that does not read cannot hold the thread. */
static int write_all(int fd, const char *p, size_t n, unsigned long long deadline)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait_fd(fd, POLLOUT, deadline))
                return -1;
            continue;
        }
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One connection: read a request, answer it, repeat. At most one request
 * and one response are held at a time (the next line is not read until
 * the answer is sent), so a connection's memory is bounded by --max-line
 * plus one response, whatever the client does. */
static void *serve_conn(void *arg)
{
    conn *c = arg;
    reader r = {c->fd, NULL, 0, 0, 0};
    const char *line = NULL;
    size_t len = 0, closed;
    char detail[160];
    const char *why = "";
    int st;

    for (;;) {
        sbuf out = {0};
        int last = 0;

        if (__atomic_load_n(&svc.stopping, __ATOMIC_ACQUIRE))
            break; /* shutting down: no new request */
        st = read_line(&r, &line, &len, now_ms() + svc.idle_timeout_s * 1000u);
        if (st == LINE_EOF || st == LINE_ERROR)
            break;
        if (__atomic_load_n(&svc.stopping, __ATOMIC_ACQUIRE) && st != LINE_OK)
            break;
        if (st == LINE_IDLE) {
            snprintf(detail, sizeof(detail),
                     "no complete request for %zu s (--idle-timeout); closing the connection",
                     svc.idle_timeout_s);
            reply_error(&out, "idle_timeout", detail);
            why = " after the idle timeout";
            last = 1;
        } else if (st == LINE_TOO_LONG) {
            snprintf(detail, sizeof(detail),
                     "a request line is at most %zu bytes; closing the connection", svc.max_line);
            reply_error(&out, "too_large", detail);
            limited_log_line(c->admin ? &admin_log : &agent_log, "line_too_long", detail);
            last = 1;
        } else {
            while (len > 0 && line[len - 1] == '\r')
                len--;
            if (len == 0)
                continue;
            handle(c, line, len, &out);
        }
        sb_puts(&out, "\n");
        if (write_all(c->fd, out.p, out.len, now_ms() + SEND_TIMEOUT_S * 1000u) != 0) {
            why = " (it did not take its answer in time)";
            last = 1;
        }
        free(out.p);
        if (last)
            break;
        if (r.cap > 65536 && r.len == r.pos) { /* a big line passed: give the memory back */
            free(r.buf);
            r.buf = NULL;
            r.cap = r.len = r.pos = 0;
        }
    }
    free(r.buf);
    /* The peer sees end-of-file now (the descriptor is closed when the
     * thread is joined). */
    shutdown(c->fd, SHUT_RDWR);
    /* The client is gone: its sessions go too (none of its calls is in
     * flight, and no other connection can reach them). */
    closed = close_conn_sessions(c);
    snprintf(detail, sizeof(detail), "%s connection closed%s; %zu session(s) closed",
             c->admin ? "admin" : "agent", why, closed);
    limited_log_line(c->admin ? &admin_log : &agent_log, "connection_closed", detail);
    pthread_mutex_lock(&svc.mu);
    svc.nconns[c->admin]--;
    pthread_mutex_unlock(&svc.mu);
    __atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Join and free the connections of @list whose threads have finished. */
static void reap_list(conn **list)
{
    conn **pp = list, *c;

    while ((c = *pp) != NULL) {
        if (__atomic_load_n(&c->done, __ATOMIC_ACQUIRE)) {
            *pp = c->next;
            pthread_join(c->thread, NULL);
            close(c->fd);
            free(c);
        } else {
            pp = &c->next;
        }
    }
}

/* Join the connections whose threads have finished (under svc.mu). */
static void reap_locked(void)
{
    reap_list(&svc.conns);
}

/* Answer one line on a connection that is not served, then close it. */
static void refuse(int fd, const char *code, const char *message)
{
    sbuf b = {0};

    reply_error(&b, code, message);
    sb_puts(&b, "\n");
    (void)send(fd, b.p, b.len, MSG_NOSIGNAL | MSG_DONTWAIT);
    free(b.p);
    close(fd);
}

/* Out of descriptors (EMFILE, ENFILE): free the reserve descriptor, take
 * the waiting connection, answer it too_many_connections and close it, then
 * take the reserve back. Waiting clients get an answer instead of hanging in
 * the backlog, and the listener does not stay readable for nothing. When
 * the reserve cannot be had either, back off briefly. */
static void shed_one(int lfd)
{
    int fd = -1;

    if (svc.reserve_fd >= 0) {
        close(svc.reserve_fd);
        svc.reserve_fd = -1;
        fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd >= 0)
            refuse(fd, "too_many_connections",
                   "the service is out of file descriptors; try again later");
        svc.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    limited_log_line(&fd_log, "out_of_descriptors",
                     "accept failed with EMFILE/ENFILE: refusing connections until some close");
    if (fd < 0)
        usleep(50 * 1000);
}

static void accept_one(int lfd, int admin)
{
    char why[128];
    conn *c;
    int fd;

    /* Finished connections give their descriptors back first: out of
     * descriptors, this is what lets the service accept again. */
    pthread_mutex_lock(&svc.mu);
    reap_locked();
    pthread_mutex_unlock(&svc.mu);
    fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
        /* EINTR, ECONNABORTED: try again on the next poll. */
        if (errno == EMFILE || errno == ENFILE)
            shed_one(lfd);
        else if (errno == ENOBUFS || errno == ENOMEM)
            usleep(50 * 1000);
        return;
    }
    if (admin) {
        struct ucred cred;
        socklen_t cl = sizeof(cred);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0 ||
            (cred.uid != svc.admin_uid && cred.uid != 0)) {
            limited_log_line(&agent_log, "admin_refused", "peer is neither --admin-uid nor root");
            refuse(fd, "forbidden", "the admin socket serves only root and --admin-uid");
            return;
        }
    }
    pthread_mutex_lock(&svc.mu);
    reap_locked();
    if (svc.nconns[admin] >= (admin ? MAX_ADMIN_CONNS : svc.max_conns)) {
        size_t limit = admin ? MAX_ADMIN_CONNS : svc.max_conns;
        pthread_mutex_unlock(&svc.mu);
        snprintf(why, sizeof(why), "%zu %s connections are open, the most allowed%s", limit,
                 admin ? "admin" : "agent", admin ? "" : " (--max-connections)");
        limited_log_line(admin ? &admin_log : &agent_log, "connection_refused", why);
        refuse(fd, "too_many_connections", why);
        return;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        pthread_mutex_unlock(&svc.mu);
        refuse(fd, "internal_error", "out of memory");
        return;
    }
    c->fd = fd;
    c->admin = admin;
    c->next = svc.conns;
    svc.conns = c;
    svc.nconns[admin]++;
    if (pthread_create(&c->thread, NULL, serve_conn, c) != 0) {
        svc.conns = c->next;
        svc.nconns[admin]--;
        free(c);
        pthread_mutex_unlock(&svc.mu);
        refuse(fd, "internal_error", "cannot start a thread for this connection");
        return;
    }
    pthread_mutex_unlock(&svc.mu);
}

static void *accept_loop(void *arg)
{
    struct pollfd p[3];

    (void)arg;
    p[0].fd = svc.wake[0];
    p[1].fd = svc.listen_fd;
    p[2].fd = svc.admin_fd; /* -1 (ignored by poll) without an admin socket */
    for (;;) {
        int i;

        for (i = 0; i < 3; i++)
            p[i].events = POLLIN;
        if (poll(p, 3, -1) < 0) {
            if (errno != EINTR)
                usleep(50 * 1000); /* ENOMEM: back off, never give up */
            continue;
        }
        if (p[0].revents || __atomic_load_n(&svc.stopping, __ATOMIC_ACQUIRE))
            break;
        if (p[1].revents & POLLIN)
            accept_one(svc.listen_fd, 0);
        if (p[2].revents & POLLIN)
            accept_one(svc.admin_fd, 1);
    }
    return NULL;
}

/* Make sure @path is free to listen on, before anything is started:
 * nothing there, or a stale socket nobody answers on (removed). Anything
 * else ends the process with exit 2: a path that is not a socket is never
 * removed, and a live socket belongs to a running service that a second
 * one must not steal. */
static void claim_socket_path(const char *path)
{
    struct sockaddr_un a;
    struct stat st;
    int fd, rc, e;

    if (strlen(path) >= sizeof(a.sun_path)) {
        fprintf(stderr, "host-service: socket path too long (at most %zu bytes): %s\n",
                sizeof(a.sun_path) - 1, path);
        exit(2);
    }
    if (lstat(path, &st) != 0)
        return; /* nothing there (or a directory we cannot see: bind will say) */
    if (!S_ISSOCK(st.st_mode)) {
        fprintf(stderr,
                "host-service: %s exists and is not a socket; refusing to replace it "
                "(remove it or choose another --socket/--admin-socket path)\n",
                path);
        exit(2);
    }
    /* Non-blocking: a live service with a full backlog answers EAGAIN
     * instead of holding this start up. */
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        fprintf(stderr, "host-service: cannot probe %s: %s\n", path, strerror(errno));
        exit(2);
    }
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    memcpy(a.sun_path, path, strlen(path) + 1);
    rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
    e = errno;
    close(fd);
    if (rc == 0 || e == EAGAIN) { /* EAGAIN: a live listener with a full backlog */
        fprintf(stderr,
                "host-service: %s is already in use: another service is listening "
                "there; stop it first or choose another path\n",
                path);
        exit(2);
    }
    if (e != ECONNREFUSED) {
        fprintf(stderr, "host-service: cannot probe %s: %s\n", path, strerror(e));
        exit(2);
    }
    unlink(path); /* a stale socket: its service is gone */
}

/* Listen on @path (checked by claim_socket_path). Its device and inode go
 * to *@id, so that exit removes the path only while it is still ours. */
static int listen_unix(const char *path, struct stat *id)
{
    struct sockaddr_un a;
    int fd;
    mode_t old;

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    memcpy(a.sun_path, path, strlen(path) + 1);
    old = umask(077); /* the socket is 0600: only this user may talk to the kernel */
    /* bind never replaces an existing path: a service that appeared since
     * the check makes it fail with EADDRINUSE. */
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 128) != 0 ||
        lstat(path, id) != 0) {
        int e = errno;
        umask(old);
        close(fd);
        errno = e;
        return -1;
    }
    umask(old);
    return fd;
}

/* Remove @path if it is still the socket this process bound. */
static void unlink_own(const char *path, const struct stat *id)
{
    struct stat st;

    if (lstat(path, &st) == 0 && st.st_dev == id->st_dev && st.st_ino == id->st_ino)
        unlink(path);
}

/* Write this process's id to @path, mode 0644; its device and inode go to
 * *@id, so that exit removes the path only while it is still this file.
 * PID files often live in shared directories: a symbolic link planted at
 * the path is refused (O_NOFOLLOW), never written through, and only a
 * regular file is written (O_NONBLOCK: a FIFO there cannot hold the start
 * up). A stale file of a crashed run is overwritten. Returns 0, or -1
 * after saying why on stderr. */
static int write_pid_file(const char *path, struct stat *id)
{
    char text[32];
    int n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0644);
    int e;

    if (fd < 0) {
        e = errno;
        /* ELOOP: the path is a link; ENXIO: a FIFO nobody reads */
        fprintf(stderr, "host-service: cannot write the PID file %s: %s\n", path,
                e == ELOOP   ? "it is a symbolic link (refused: give the file's own path)"
                : e == ENXIO ? "not a regular file"
                             : strerror(e));
        return -1;
    }
    if (fstat(fd, id) != 0 || !S_ISREG(id->st_mode)) {
        close(fd);
        fprintf(stderr, "host-service: cannot write the PID file %s: not a regular file\n", path);
        return -1;
    }
    if (ftruncate(fd, 0) != 0 || write(fd, text, (size_t)n) != n) {
        e = errno;
        close(fd);
        fprintf(stderr, "host-service: cannot write the PID file %s: %s\n", path, strerror(e));
        return -1;
    }
    close(fd);
    return 0;
}

/* Descriptors open now (the kernel's store, logs, listeners). */
static size_t fds_in_use(void)
{
    size_t n = 0;
    int fd;

    for (fd = 0; fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) != -1)
            n++;
    return n;
}

/* Fit the connection limit to RLIMIT_NOFILE: raise the soft limit as far as
 * the hard one allows and, when even that is too small, lower a default
 * --max-connections (with a warning) or warn that an explicit one may run
 * out of descriptors (then connections over what fits are shed). */
static void fit_fd_limit(int explicit_max)
{
    struct rlimit rl;
    size_t need = fds_in_use() + FD_HEADROOM + svc.max_conns + MAX_ADMIN_CONNS, have;
    char detail[200];

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
        rlim_t old = rl.rlim_cur;
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = old;
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
        return;
    have = (size_t)rl.rlim_cur;
    if (!explicit_max) {
        size_t fit = have > need - svc.max_conns ? have - (need - svc.max_conns) : 1;
        snprintf(detail, sizeof(detail),
                 "RLIMIT_NOFILE is %zu: --max-connections lowered from %zu to %zu", have,
                 svc.max_conns, fit);
        svc.max_conns = fit;
    } else {
        snprintf(detail, sizeof(detail),
                 "RLIMIT_NOFILE is %zu, fewer than %zu --max-connections need; connections "
                 "over what fits are refused",
                 have, svc.max_conns);
    }
    log_line("fd_limit", detail);
}

/* ---- start and stop ------------------------------------------------------------------------- */

extern char **environ;

/* Wipe the value of every CHIO_SIGNING_KEY=... entry of the environment in
 * place (a variable can appear more than once; getenv sees only the first),
 * then remove the variable. The strings live where the kernel put them at
 * exec, which is what /proc/PID/environ shows. */
static void wipe_signing_key_env(void)
{
    static const char name[] = "CHIO_SIGNING_KEY=";
    char **e;

    for (e = environ; e != NULL && *e != NULL; e++)
        if (strncmp(*e, name, sizeof(name) - 1) == 0)
            explicit_bzero(*e + sizeof(name) - 1, strlen(*e + sizeof(name) - 1));
    unsetenv("CHIO_SIGNING_KEY");
}

/* Read the seed, then wipe it from the environment. The library parses it
 * straight from the environment string (no copy is made here) and keeps it
 * only inside the keypair, which the kernel wipes when freed; the error
 * messages of chio_keypair_from_seed_hex never quote seed characters. */
static chio_keypair *read_signing_key(void)
{
    char *v = getenv("CHIO_SIGNING_KEY");
    chio_keypair *kp = NULL;
    chio_error err;
    int rc;

    if (v == NULL || v[0] == '\0') {
        wipe_signing_key_env();
        fprintf(stderr, "host-service: CHIO_SIGNING_KEY is not set: export the kernel's signing "
                        "seed (64 hex digits) in CHIO_SIGNING_KEY\n");
        exit(2);
    }
    chio_error_init(&err);
    rc = chio_keypair_from_seed_hex(v, strlen(v), &kp, &err);
    wipe_signing_key_env();
    if (rc != 0) {
        fprintf(stderr, "host-service: CHIO_SIGNING_KEY is malformed: %s (%s)\n", err.message,
                chio_errno_name(rc));
        exit(2);
    }
    /* Keep the seed out of swap (best effort: RLIMIT_MEMLOCK may forbid). */
    chio_error_init(&err);
    if (chio_keypair_lock_memory(kp, &err) != 0)
        log_line("key_memory_not_locked", err.message);
    return kp;
}

/* SIGTERM: stop accepting, refuse new calls, let each connection finish
 * the request it is handling, and end within --drain-timeout whatever
 * clients do: writes and waits are bounded by the drain deadline, and any
 * connection still open at the deadline is cut. */
static void shutdown_service(pthread_t acceptor)
{
    conn *c, *next, *left;
    size_t i;
    char b = 1;
    unsigned long long deadline = now_ms() + svc.drain_timeout_s * 1000u;

    /* Stop accepting first, so the connection list only shrinks. */
    __atomic_store_n(&svc.drain_deadline, deadline, __ATOMIC_RELEASE);
    __atomic_store_n(&svc.stopping, 1, __ATOMIC_RELEASE);
    (void)!write(svc.wake[1], &b, 1);
    pthread_join(acceptor, NULL);
    /* Refuse new calls on every session; calls in flight finish. */
    pthread_mutex_lock(&svc.mu);
    for (i = 0; i < svc.max_sessions; i++)
        if (svc.slots[i].owner != NULL && svc.slots[i].id[0])
            chio_kernel_begin_draining_session(svc.k, svc.slots[i].id, NULL);
    /* Readers see end-of-file; each thread then closes the sessions its
     * connection opened. */
    for (c = svc.conns; c != NULL; c = c->next)
        shutdown(c->fd, SHUT_RD);
    left = svc.conns;
    svc.conns = NULL;
    pthread_mutex_unlock(&svc.mu);
    /* Join what ends in time... */
    while (left != NULL && now_ms() < deadline) {
        reap_list(&left);
        if (left != NULL)
            usleep(10 * 1000);
    }
    /* ...then cut the rest: a thread waiting on its client wakes now (its
     * waits are bounded by the deadline too); one inside a kernel call
     * finishes that call first. */
    if (left != NULL) {
        __atomic_store_n(&svc.cancel, 1, __ATOMIC_RELEASE);
        log_line("drain_timeout", "connections still open at --drain-timeout are closed and "
                                  "calls still running are cancelled");
    }
    for (c = left; c != NULL; c = c->next)
        shutdown(c->fd, SHUT_RDWR);
    for (c = left; c != NULL; c = next) {
        next = c->next;
        pthread_join(c->thread, NULL);
        close(c->fd);
        free(c);
    }
    assert(svc.nsessions == 0);
}

static const char usage[] =
    "usage: host-service [--receipt-db DIR] [--socket PATH] [--admin-socket PATH]\n"
    "                    [--admin-uid UID] [--pid-file PATH] [--max-connections N]\n"
    "                    [--max-sessions N] [--max-sessions-per-connection N]\n"
    "                    [--max-line BYTES] [--idle-timeout SECONDS]\n"
    "                    [--drain-timeout SECONDS] [--checkpoint-batch N]\n"
    "                    [--export-nats URL[,URL...]]\n"
    "                    [--witness-nats URL[,URL...]] [--witness-stream NAME]\n"
    "                    [--witness-optional]\n"
    "  --socket PATH        the agent socket (mode 0600): open_session, call,\n"
    "                       close_session, ping (default ./state/host-service.sock)\n"
    "  --admin-socket PATH  the operator's socket (mode 0600): revoke, status, ping\n"
    "                       (default: none, so no revocation while running)\n"
    "  --admin-uid UID      besides root, the user served on the admin socket\n"
    "                       (default: this process's user; 0: root only)\n"
    "  --receipt-db DIR     the RocksDB receipt log (default ./state/receipts)\n"
    "  --pid-file PATH      write the process id there (removed on exit)\n"
    "  --max-connections N  agent connections open at once (default 256, 1-4096;\n"
    "                       lowered to what RLIMIT_NOFILE allows when not given)\n"
    "  --max-sessions N     sessions open in total (default 1024, 1-65536)\n"
    "  --max-sessions-per-connection N   (default 16, 1-65536)\n"
    "  --max-line BYTES     longest request line (default 1048576, 1024-67108864)\n"
    "  --idle-timeout SECONDS  a connection with no complete request for this long\n"
    "                       is closed (default 60, 1-86400)\n"
    "  --drain-timeout SECONDS  SIGTERM ends within this, cutting the connections\n"
    "                       still open (default 10, 1-3600)\n"
    "  --checkpoint-batch N  sign a Merkle checkpoint over every N receipts\n"
    "                       (default 100, 0-1000000; 0: none)\n"
    "  --export-nats URL[,URL...]  publish every receipt to the NATS JetStream stream\n"
    "                       CHIO from a thread of its own (docs/fleet.md); its lag\n"
    "                       is chio_export_lag_receipts in the admin \"metrics\" op\n"
    "  --witness-nats URL[,URL...]  before serving, compare the store with what this\n"
    "                       key published to NATS JetStream; refuse to start when it\n"
    "                       was rolled back (exit 3) or cannot be checked (exit 4)\n"
    "  --witness-stream NAME  the stream (default CHIO)\n"
    "  --witness-optional   start anyway, with a warning, when the servers cannot\n"
    "                       be reached (a rollback still refuses)\n"
    "environment:\n"
    "  CHIO_SIGNING_KEY  the kernel's Ed25519 seed, 64 hex digits (required)\n"
    "  CHIO_POLICY_HASH  policy hash written into every receipt (default dev-policy-hash)\n";

/* A decimal count in [lo, hi] into *@out; 0 on success. */
static int parse_count(const char *s, size_t lo, size_t hi, size_t *out)
{
    char *end;
    unsigned long long v;

    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = (size_t)v;
    return 0;
}

/* Whether every URL of the comma-separated @urls names the one scheme the
 * fleet exporter speaks (nats://) with something after it. The exporter
 * thread finds a bad one only once it runs, and ends (status 2) while
 * the service serves on unexported: refused at start instead (review 48). */
static int nats_urls_ok(const char *urls)
{
    static const char scheme[] = "nats://";
    const char *u = urls;

    for (;;) {
        const char *end = strchr(u, ',');
        size_t len = end != NULL ? (size_t)(end - u) : strlen(u);

        if (len <= sizeof(scheme) - 1 || strncmp(u, scheme, sizeof(scheme) - 1) != 0)
            return 0;
        if (end == NULL)
            return 1;
        u = end + 1;
    }
}

int main(int argc, char **argv)
{
    const char *db = "./state/receipts", *sock = "./state/host-service.sock", *pidfile = NULL;
    const char *admin = NULL, *export_nats = NULL;
    const char *policy = getenv("CHIO_POLICY_HASH");
    chio_kernel_config cfg;
    chio_error err;
    pthread_t acceptor;
    sigset_t sigs;
    struct stat sock_id, admin_id, pid_id;
    size_t n, nseen = 0, cp_batch = CHIO_DEFAULT_CHECKPOINT_BATCH_SIZE;
    const char *seen[32];
    int i, sig, rc, explicit_max = 0;
    chio__witness_startup witness = {"host-service", NULL, NULL, NULL, NULL, 0, 0};

    svc.admin_uid = geteuid();
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        /* Every option once: before review 48 the last of two won
         * (`--socket A --socket B` served on B). */
        for (size_t j = 0; j < nseen; j++)
            if (strcmp(seen[j], a) == 0) {
                fprintf(stderr, "host-service: option %s given twice\n", a);
                fputs(usage, stderr);
                return 2;
            }
        if (nseen < sizeof(seen) / sizeof(seen[0]))
            seen[nseen++] = a;
        /* The start-up witness's options. */
        if (strcmp(a, "--witness-optional") == 0) {
            witness.optional = 1;
            continue;
        }
        if (v != NULL && strcmp(a, "--witness-nats") == 0) {
            witness.urls = v;
            i++;
            continue;
        }
        if (v != NULL && strcmp(a, "--witness-stream") == 0) {
            witness.stream = v;
            i++;
            continue;
        }
        if (v == NULL)
            bad = 1;
        else if (strcmp(a, "--receipt-db") == 0)
            db = v;
        else if (strcmp(a, "--socket") == 0)
            sock = v;
        else if (strcmp(a, "--admin-socket") == 0)
            admin = v;
        else if (strcmp(a, "--admin-uid") == 0 && parse_count(v, 0, 4294967294u, &n) == 0)
            svc.admin_uid = (uid_t)n;
        else if (strcmp(a, "--pid-file") == 0)
            pidfile = v;
        else if (strcmp(a, "--max-connections") == 0)
            bad = parse_count(v, 1, 4096, &svc.max_conns), explicit_max = 1;
        else if (strcmp(a, "--idle-timeout") == 0)
            bad = parse_count(v, 1, 86400, &svc.idle_timeout_s);
        else if (strcmp(a, "--drain-timeout") == 0)
            bad = parse_count(v, 1, 3600, &svc.drain_timeout_s);
        else if (strcmp(a, "--max-sessions") == 0)
            bad = parse_count(v, 1, 65536, &svc.max_sessions);
        else if (strcmp(a, "--max-sessions-per-connection") == 0)
            bad = parse_count(v, 1, 65536, &svc.max_conn_sessions);
        else if (strcmp(a, "--max-line") == 0)
            bad = parse_count(v, 1024, 64u << 20, &svc.max_line);
        else if (strcmp(a, "--checkpoint-batch") == 0)
            bad = parse_count(v, 0, 1000000, &cp_batch);
        else if (strcmp(a, "--export-nats") == 0)
            bad = !nats_urls_ok(v), export_nats = v;
        else
            bad = 1;
        if (bad) {
            fprintf(stderr, "host-service: bad option or value: %s\n", a);
            fputs(usage, stderr);
            return 2;
        }
        i++;
    }
    if (admin != NULL && strcmp(admin, sock) == 0) {
        fprintf(stderr, "host-service: --admin-socket must differ from --socket\n");
        return 2;
    }
    /* Signals go to one thread (sigwait below); block them before any
     * thread exists so every thread inherits the mask. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* The key first (a missing key is the first thing to report), then
     * the socket paths, before anything is started: a path that is not a
     * socket, or a live service's socket, ends here with exit 2. */
    chio_kernel_config_init(&cfg);
    cfg.keypair = read_signing_key();
    claim_socket_path(sock);
    if (admin != NULL)
        claim_socket_path(admin);
    svc.slots = calloc(svc.max_sessions, sizeof(*svc.slots));
    if (svc.slots == NULL || pipe2(svc.wake, O_CLOEXEC) != 0 ||
        (svc.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        fprintf(stderr, "host-service: out of memory or descriptors\n");
        chio_keypair_free(cfg.keypair);
        return 1;
    }
    /* The start-up witness reads the store before the kernel locks it. */
    if ((witness.stream != NULL || witness.optional) && witness.urls == NULL) {
        fprintf(stderr, "host-service: --witness-stream and --witness-optional need "
                        "--witness-nats\n");
        chio_keypair_free(cfg.keypair);
        return 2;
    }
    witness.db = db;
    witness.key_hex = chio_keypair_public_hex(cfg.keypair);
    rc = chio__witness_at_startup(&witness, stderr);
    if (rc != 0) {
        chio_keypair_free(cfg.keypair);
        return rc;
    }
    cfg.policy_hash = policy && policy[0] ? policy : "dev-policy-hash";
    cfg.receipt_store_path = db;
    cfg.checkpoint_batch_size = cp_batch;
    chio_error_init(&err);
    rc = chio_kernel_new(&cfg, &svc.k, &err); /* takes the keypair */
    if (rc == 0)
        rc = register_everything(svc.k, &err);
    if (rc == 0)
        rc = chio_kernel_start(svc.k, &err); /* store errors now, not on the first call */
    if (rc == CHIO_EBUSY) {
        /* Another process (most likely another host-service) holds the
         * store's lock: one writer per store. */
        fprintf(stderr,
                "host-service: the receipt store %s is already in use by another process "
                "(another host-service?); stop it first or use another --receipt-db (%s)\n",
                db, err.message);
        chio_kernel_free(svc.k);
        return 2;
    }
    if (rc != 0) {
        fprintf(stderr, "host-service: %s (%s)\n", err.message, chio_errno_name(rc));
        chio_kernel_free(svc.k);
        return 1;
    }
    if (export_nats != NULL) {
        chio_export_nats_config xc;
        chio_export_nats_config_init(&xc);
        xc.receipt_db = db;
        xc.urls = export_nats;
        xc.kernel = svc.k;
        rc = chio_export_nats_start(&xc, &svc.exporter, &err);
        if (rc != 0) {
            fprintf(stderr, "host-service: --export-nats: %s\n", err.message);
            chio_kernel_free(svc.k);
            return 2;
        }
        log_line("exporting", export_nats);
    }
    fit_fd_limit(explicit_max);
    svc.listen_fd = listen_unix(sock, &sock_id);
    if (svc.listen_fd < 0) {
        int e = errno;
        fprintf(stderr, "host-service: cannot listen on %s: %s\n", sock,
                e == EADDRINUSE ? "already in use" : strerror(e));
        chio_kernel_free(svc.k);
        return e == EADDRINUSE ? 2 : 1;
    }
    if (admin != NULL && (svc.admin_fd = listen_unix(admin, &admin_id)) < 0) {
        int e = errno;
        fprintf(stderr, "host-service: cannot listen on %s: %s\n", admin,
                e == EADDRINUSE ? "already in use" : strerror(e));
        close(svc.listen_fd);
        unlink_own(sock, &sock_id);
        chio_kernel_free(svc.k);
        return e == EADDRINUSE ? 2 : 1;
    }
    if (pidfile != NULL && write_pid_file(pidfile, &pid_id) != 0) {
        chio_kernel_free(svc.k);
        return 1;
    }
    if (pthread_create(&acceptor, NULL, accept_loop, NULL) != 0) {
        fprintf(stderr, "host-service: cannot start the acceptor thread\n");
        chio_kernel_free(svc.k);
        return 1;
    }
    log_line("listening", sock);
    if (admin != NULL)
        log_line("admin_listening", admin);

    for (;;) {
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            log_line("sighup_ignored", "the policy is fixed when the kernel is built; restart "
                                       "with a new CHIO_POLICY_HASH to change it");
            continue;
        }
        break;
    }
    log_line("shutting_down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    shutdown_service(acceptor);
    limited_log_flush(&agent_log, "agent connections");
    limited_log_flush(&admin_log, "admin connections");
    limited_log_flush(&fd_log, "running out of descriptors");
    close(svc.listen_fd);
    unlink_own(sock, &sock_id);
    if (admin != NULL) {
        close(svc.admin_fd);
        unlink_own(admin, &admin_id);
    }
    rc = chio_kernel_drain(svc.k, &err); /* every receipt committed, logs flushed */
    {
        chio_kernel_metrics m;
        char detail[128];
        chio_kernel_metrics_get(svc.k, &m);
        snprintf(detail, sizeof(detail), "%llu receipts signed, last_seq %llu",
                 (unsigned long long)m.receipts_signed, (unsigned long long)m.last_seq);
        log_line("drained", detail);
    }
    if (svc.exporter != NULL) {
        /* what is left stays in the store: the next start publishes it */
        char detail[128];
        snprintf(detail, sizeof(detail), "lag %llu receipts",
                 (unsigned long long)chio_export_nats_lag(svc.exporter));
        chio_export_nats_stop(svc.exporter);
        log_line("export_stopped", detail);
    }
    chio_kernel_free(svc.k);
    free(svc.slots);
    close(svc.wake[0]);
    close(svc.wake[1]);
    close(svc.reserve_fd);
    if (pidfile != NULL)
        unlink_own(pidfile, &pid_id); /* only while it is still the file written */
    return rc == 0 ? 0 : 1;
}
