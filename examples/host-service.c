/* SPDX-License-Identifier: Apache-2.0 */
/*
 * examples/host-service.c - a small service that embeds libchio the way the
 * in-process deployment does: build a kernel, register a tool server and
 * guards, open agent sessions, mediate every tool call, drain on shutdown.
 *
 * Traffic: newline-delimited JSON over a Unix socket (mode 0600). One
 * request per line, one response line per request:
 *   {"op":"open_session","session":"label","agent":HEX,"capabilities":[token,...]}
 *   {"op":"call","session":"label-or-id","capability_id":..,"server":..,"tool":..,
 *    "arguments":{..},"request_id":..?}
 *   {"op":"revoke","capability_id":..}
 *   {"op":"close_session","session":..}
 *   {"op":"ping"}
 * Responses: {"ok":true,...} or {"ok":false,"code":..,"error":..}. Session
 * labels are local to a connection; sessions a connection opened are closed
 * when it ends.
 *
 * Environment: CHIO_SIGNING_KEY (required; the kernel's 64-hex-digit seed;
 * wiped and removed from the environment once read), CHIO_POLICY_HASH
 * (default dev-policy-hash). Signals: SIGTERM and SIGINT stop accepting,
 * drain every session, drain the kernel (every receipt committed), flush
 * the logs and exit 0. SIGHUP is logged and ignored: a kernel's policy is
 * fixed when it is built (its hash is in every receipt), so a policy change
 * is a restart with a new CHIO_POLICY_HASH, never a live reload.
 *
 *   host-service [--receipt-db DIR] [--socket PATH] [--pid-file PATH]
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chio/chio.h>

#define MAX_LINE (1u << 20)

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

/* A JSON string (inputs are UTF-8 from the kernel or from parsed JSON). */
static void sb_str(sbuf *b, const char *s)
{
    char esc[8];

    sb_add(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            sb_add(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            sb_add(b, esc, 6);
        } else {
            sb_add(b, s, 1);
        }
    }
    sb_add(b, "\"", 1);
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

typedef struct conn {
    int fd;
    pthread_t thread;
    int done; /* atomic: the thread finished */
    struct conn *next;
} conn;

static struct {
    chio_kernel *k;
    int listen_fd;
    int stopping;       /* atomic */
    pthread_mutex_t mu; /* conns and sessions */
    conn *conns;
    char (*sessions)[CHIO_SESSION_ID_LEN + 1]; /* open sessions, for shutdown */
    size_t nsessions;
} svc = {.mu = PTHREAD_MUTEX_INITIALIZER, .listen_fd = -1};

static void track_session(const char *id, int add)
{
    size_t i;

    pthread_mutex_lock(&svc.mu);
    if (add) {
        svc.sessions = realloc(svc.sessions, (svc.nsessions + 1) * sizeof(*svc.sessions));
        if (svc.sessions == NULL)
            abort();
        memcpy(svc.sessions[svc.nsessions++], id, CHIO_SESSION_ID_LEN + 1);
    } else {
        for (i = 0; i < svc.nsessions; i++) {
            if (strcmp(svc.sessions[i], id) == 0) {
                svc.sessions[i][0] = '\0';
                break;
            }
        }
    }
    pthread_mutex_unlock(&svc.mu);
}

/* ---- requests -------------------------------------------------------------------------------- */

typedef struct label {
    char name[64];
    char id[CHIO_SESSION_ID_LEN + 1];
} label;

typedef struct session_labels {
    label *v;
    size_t n;
} session_labels;

static const char *resolve(const session_labels *l, const char *name)
{
    size_t i;

    for (i = l->n; name != NULL && i-- > 0;)
        if (strcmp(l->v[i].name, name) == 0)
            return l->v[i].id;
    return name;
}

static const char *get_str(const chio_json *o, const char *key)
{
    return chio_json_string(chio_json_get(o, key), NULL);
}

static void fail_reply(sbuf *out, int rc, const chio_error *err)
{
    sb_puts(out, "{\"ok\":false,\"code\":");
    sb_str(out, chio_error_code_name(rc));
    sb_puts(out, ",\"error\":");
    sb_str(out, err && err->message[0] ? err->message : chio_strerror(rc));
    sb_puts(out, "}");
}

static void op_open(const chio_json *req, session_labels *labels, sbuf *out)
{
    const chio_json *caps = chio_json_get(req, "capabilities");
    size_t n = chio_json_size(caps), i;
    const char **texts = calloc(n + 1, sizeof(*texts));
    char **owned = calloc(n + 1, sizeof(*owned));
    size_t *lens = calloc(n + 1, sizeof(*lens));
    char id[CHIO_SESSION_ID_LEN + 1];
    const char *name = get_str(req, "session");
    chio_error err;
    int rc = 0;

    chio_error_init(&err);
    if (texts == NULL || owned == NULL || lens == NULL)
        abort();
    for (i = 0; i < n && rc == 0; i++) {
        const chio_json *t = chio_json_at(caps, i);
        if (chio_json_typeof(t) == CHIO_JSON_STRING) {
            texts[i] = chio_json_string(t, &lens[i]);
        } else {
            rc = chio_json_write_canonical(t, &owned[i], &lens[i]);
            texts[i] = owned[i];
        }
    }
    if (rc == 0)
        rc = chio_kernel_open_session(svc.k, get_str(req, "agent") ? get_str(req, "agent") : "",
                                      texts, lens, n, id, &err);
    if (rc != 0) {
        fail_reply(out, rc, &err);
    } else {
        track_session(id, 1);
        if (name != NULL) {
            labels->v = realloc(labels->v, (labels->n + 1) * sizeof(*labels->v));
            if (labels->v == NULL)
                abort();
            snprintf(labels->v[labels->n].name, sizeof(labels->v[0].name), "%s", name);
            memcpy(labels->v[labels->n++].id, id, sizeof(id));
        }
        sb_puts(out, "{\"ok\":true,\"session\":");
        sb_str(out, id);
        sb_puts(out, "}");
    }
    for (i = 0; i < n; i++)
        chio_free(owned[i]);
    free(owned);
    free(texts);
    free(lens);
}

static void op_call(const chio_json *req, const session_labels *labels, sbuf *out)
{
    const chio_json *args = chio_json_get(req, "arguments");
    char *argtext = NULL;
    size_t arglen = 0, rlen;
    chio_response resp;
    chio_call c;
    chio_error err;
    int rc = 0;

    memset(&c, 0, sizeof(c));
    chio_error_init(&err);
    chio_response_init(&resp);
    c.session_id = resolve(labels, get_str(req, "session"));
    c.capability_id = get_str(req, "capability_id");
    c.server_id = get_str(req, "server");
    c.tool_name = get_str(req, "tool");
    c.request_id = get_str(req, "request_id");
    if (args != NULL)
        rc = chio_json_write_canonical(args, &argtext, &arglen);
    c.arguments_json = argtext;
    c.arguments_len = arglen;
    if (rc == 0)
        rc = chio_kernel_evaluate(svc.k, &c, &resp, &err);
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

static void handle(const char *line, size_t len, session_labels *labels, sbuf *out)
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
        chio_error_init(&err);
        snprintf(err.message, sizeof(err.message), "a request needs an \"op\"");
        fail_reply(out, CHIO_EINVAL, &err);
    } else if (strcmp(op, "open_session") == 0) {
        op_open(req, labels, out);
    } else if (strcmp(op, "call") == 0) {
        op_call(req, labels, out);
    } else if (strcmp(op, "revoke") == 0) {
        rc = chio_kernel_revoke_capability(svc.k, get_str(req, "capability_id"), &err);
        if (rc != 0)
            fail_reply(out, rc, &err);
        else
            sb_puts(out, "{\"ok\":true}");
    } else if (strcmp(op, "close_session") == 0) {
        const char *id = resolve(labels, get_str(req, "session"));
        rc = chio_kernel_close_session(svc.k, id, &err);
        if (rc != 0) {
            fail_reply(out, rc, &err);
        } else {
            track_session(id, 0);
            sb_puts(out, "{\"ok\":true}");
        }
    } else if (strcmp(op, "ping") == 0) {
        sb_puts(out, "{\"ok\":true,\"kernel_key\":");
        sb_str(out, chio_kernel_public_hex(svc.k));
        sb_puts(out, "}");
    } else {
        chio_error_init(&err);
        snprintf(err.message, sizeof(err.message), "unknown op '%.60s'", op);
        fail_reply(out, CHIO_EINVAL, &err);
    }
    chio_json_doc_free(doc);
}

/* ---- connections --------------------------------------------------------------------------- */

static void *serve_conn(void *arg)
{
    conn *c = arg;
    FILE *in = fdopen(dup(c->fd), "r");
    session_labels labels = {NULL, 0};
    char *line = NULL;
    size_t cap = 0, i;
    ssize_t n;

    while (in != NULL && (n = getline(&line, &cap, in)) > 0) {
        sbuf out = {0};
        size_t len = (size_t)n, off = 0;

        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (len == 0)
            continue;
        if (len > MAX_LINE) {
            sb_puts(&out, "{\"ok\":false,\"code\":\"invalid_arguments\",\"error\":\"request "
                          "longer than 1 MiB\"}");
        } else {
            handle(line, len, &labels, &out);
        }
        sb_puts(&out, "\n");
        while (off < out.len) {
            ssize_t w = write(c->fd, out.p + off, out.len - off);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
        free(out.p);
    }
    free(line);
    if (in != NULL)
        fclose(in);
    /* The client is gone: its sessions go too (calls on them have finished). */
    for (i = 0; i < labels.n; i++) {
        if (chio_kernel_close_session(svc.k, labels.v[i].id, NULL) == 0)
            track_session(labels.v[i].id, 0);
    }
    free(labels.v);
    __atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Join the connections whose threads have finished (under svc.mu). */
static void reap_locked(void)
{
    conn **pp = &svc.conns, *c;

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

static void *accept_loop(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&svc.stopping, __ATOMIC_ACQUIRE)) {
        int fd = accept(svc.listen_fd, NULL, NULL);
        conn *c;

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            break; /* the listener was shut down */
        }
        c = calloc(1, sizeof(*c));
        if (c == NULL)
            abort();
        c->fd = fd;
        pthread_mutex_lock(&svc.mu);
        reap_locked();
        if (__atomic_load_n(&svc.stopping, __ATOMIC_ACQUIRE)) {
            pthread_mutex_unlock(&svc.mu);
            close(fd);
            free(c);
            break;
        }
        c->next = svc.conns;
        svc.conns = c;
        if (pthread_create(&c->thread, NULL, serve_conn, c) != 0) {
            svc.conns = c->next;
            close(fd);
            free(c);
        }
        pthread_mutex_unlock(&svc.mu);
    }
    return NULL;
}

static int listen_unix(const char *path)
{
    struct sockaddr_un a;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    mode_t old;

    if (fd < 0 || strlen(path) >= sizeof(a.sun_path))
        return -1;
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    strcpy(a.sun_path, path);
    unlink(path);     /* a stale socket from an earlier run */
    old = umask(077); /* the socket is 0600: only this user may talk to the kernel */
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 64) != 0) {
        umask(old);
        close(fd);
        return -1;
    }
    umask(old);
    return fd;
}

/* ---- start and stop ------------------------------------------------------------------------- */

/* Read the seed, then wipe it from the environment: no copy stays here. */
static chio_keypair *read_signing_key(void)
{
    char *v = getenv("CHIO_SIGNING_KEY");
    chio_keypair *kp = NULL;
    chio_error err;
    int rc;

    if (v == NULL || v[0] == '\0') {
        fprintf(stderr, "host-service: CHIO_SIGNING_KEY is not set: export the kernel's signing "
                        "seed (64 hex digits) in CHIO_SIGNING_KEY\n");
        exit(2);
    }
    chio_error_init(&err);
    rc = chio_keypair_from_seed_hex(v, strlen(v), &kp, &err);
    explicit_bzero(v, strlen(v));
    unsetenv("CHIO_SIGNING_KEY");
    if (rc != 0) {
        fprintf(stderr, "host-service: CHIO_SIGNING_KEY is malformed: %s (%s)\n", err.message,
                chio_err_name(rc));
        exit(2);
    }
    return kp;
}

static void shutdown_service(void)
{
    conn *c, *next;
    size_t i;

    __atomic_store_n(&svc.stopping, 1, __ATOMIC_RELEASE);
    shutdown(svc.listen_fd, SHUT_RDWR); /* accept() returns */
    /* Refuse new calls on every session; calls in flight finish. */
    pthread_mutex_lock(&svc.mu);
    for (i = 0; i < svc.nsessions; i++)
        if (svc.sessions[i][0])
            chio_kernel_begin_draining_session(svc.k, svc.sessions[i], NULL);
    /* Readers see end-of-file after their current request. */
    for (c = svc.conns; c != NULL; c = c->next)
        shutdown(c->fd, SHUT_RD);
    c = svc.conns;
    svc.conns = NULL;
    pthread_mutex_unlock(&svc.mu);
    for (; c != NULL; c = next) {
        next = c->next;
        pthread_join(c->thread, NULL);
        close(c->fd);
        free(c);
    }
    for (i = 0; i < svc.nsessions; i++)
        if (svc.sessions[i][0])
            chio_kernel_close_session(svc.k, svc.sessions[i], NULL);
}

static const char usage[] =
    "usage: host-service [--receipt-db DIR] [--socket PATH] [--pid-file PATH]\n"
    "  CHIO_SIGNING_KEY  the kernel's Ed25519 seed, 64 hex digits (required)\n"
    "  CHIO_POLICY_HASH  policy hash written into every receipt (default dev-policy-hash)\n"
    "defaults: --receipt-db ./state/receipts --socket ./state/host-service.sock\n";

int main(int argc, char **argv)
{
    const char *db = "./state/receipts", *sock = "./state/host-service.sock", *pidfile = NULL;
    const char *policy = getenv("CHIO_POLICY_HASH");
    chio_kernel_config cfg;
    chio_error err;
    pthread_t acceptor;
    sigset_t sigs;
    int i, sig, rc;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--receipt-db") == 0 && i + 1 < argc)
            db = argv[++i];
        else if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
            sock = argv[++i];
        else if (strcmp(argv[i], "--pid-file") == 0 && i + 1 < argc)
            pidfile = argv[++i];
        else {
            fputs(usage, strcmp(argv[i], "--help") == 0 ? stdout : stderr);
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    /* Signals go to one thread (sigwait below); block them before any
     * thread exists so every thread inherits the mask. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    chio_kernel_config_init(&cfg);
    cfg.keypair = read_signing_key();
    cfg.policy_hash = policy && policy[0] ? policy : "dev-policy-hash";
    cfg.receipt_store_path = db;
    chio_error_init(&err);
    rc = chio_kernel_new(&cfg, &svc.k, &err); /* takes the keypair */
    if (rc == 0)
        rc = register_everything(svc.k, &err);
    if (rc == 0)
        rc = chio_kernel_start(svc.k, &err); /* store errors now, not on the first call */
    if (rc != 0) {
        fprintf(stderr, "host-service: %s (%s)\n", err.message, chio_err_name(rc));
        chio_kernel_free(svc.k);
        return 1;
    }
    svc.listen_fd = listen_unix(sock);
    if (svc.listen_fd < 0) {
        fprintf(stderr, "host-service: cannot listen on %s: %s\n", sock, strerror(errno));
        chio_kernel_free(svc.k);
        return 1;
    }
    if (pidfile != NULL) {
        FILE *f = fopen(pidfile, "w");
        if (f == NULL || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
            fprintf(stderr, "host-service: cannot write %s\n", pidfile);
            chio_kernel_free(svc.k);
            return 1;
        }
    }
    pthread_create(&acceptor, NULL, accept_loop, NULL);
    log_line("listening", sock);

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
    shutdown_service();
    pthread_join(acceptor, NULL);
    close(svc.listen_fd);
    unlink(sock);
    rc = chio_kernel_drain(svc.k, &err); /* every receipt committed, logs flushed */
    {
        chio_kernel_metrics m;
        char detail[128];
        chio_kernel_metrics_get(svc.k, &m);
        snprintf(detail, sizeof(detail), "%llu receipts signed, last_seq %llu",
                 (unsigned long long)m.receipts_signed, (unsigned long long)m.last_seq);
        log_line("drained", detail);
    }
    chio_kernel_free(svc.k);
    free(svc.sessions);
    if (pidfile != NULL)
        unlink(pidfile);
    return rc == 0 ? 0 : 1;
}
