/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/cmd_serve.c - `chio serve`: the sidecar (src/serve/, docs/sidecar.md).
 * Parses the options, loads the seed and the bearer token, refuses a
 * non-loopback address without a token, runs the start-up witness when
 * --witness-nats is given (src/export/witness.c: a rolled-back store is
 * refused before the kernel opens it), starts the kernel (which locks the
 * store: a second sidecar on it fails here) and the HTTP server (a second
 * one on the port fails there), then waits for SIGTERM or SIGINT and
 * drains: health says 503 for --drain-grace-ms, requests in flight finish,
 * every receipt is committed, exit 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../export/export.h"
#include "../serve/serve.h"
#include "../svc/svc_host.h"
#include "cli.h"

static const char serve_usage[] =
    "usage: chio serve --receipt-db DIR --seed-file FILE [--listen 127.0.0.1:9090]\n"
    "                  [--ca-key HEX]... [--policy-hash H] [--token-file FILE]\n"
    "                  [--control-token-file FILE]\n"
    "                  [--checkpoint-batch N] [--tool SERVER:TOOL]...\n"
    "                  [--durability sync|nosync] [--max-body BYTES]\n"
    "                  [--max-connections N] [--timeout SECS] [--drain-grace-ms MS]\n"
    "                  [--max-held-bytes BYTES]\n"
    "                  [--witness-nats URL[,URL...]] [--witness-stream NAME]\n"
    "                  [--witness-optional] [--allow-host NAME]...\n"
    "\n"
    "Run the kernel as a sidecar over HTTP (docs/sidecar.md): POST /v1/evaluate,\n"
    "POST /v1/receipts/verify, GET /chio/health, GET /chio/live, GET /metrics, and\n"
    "with --token-file POST /v1/capabilities/mint and /v1/capabilities/revoke.\n"
    "Evaluate runs the pipeline without running the tool (the host runs it after\n"
    "an allow) and answers every decision with its signed, committed receipt.\n"
    "\n"
    "Any tool a token's scope names is accepted, unless --tool SERVER:TOOL\n"
    "(repeatable) names the only ones accepted; calls to any other are then\n"
    "denied tool_not_registered. --ca-key (repeatable) trusts a\n"
    "capability issuer besides the sidecar's own key. --token-file holds the\n"
    "bearer token (Authorization: Bearer ...) the control routes and evaluate\n"
    "then require (a private file checked like the seed: mode 0600 or\n"
    "stricter, not a symbolic link; a token that is the seed is refused);\n"
    "without it only a loopback --listen address is accepted.\n"
    "--control-token-file (with --token-file, another token) holds the token\n"
    "mint and revoke require instead: evaluate's token then opens evaluate only,\n"
    "so a host that may ask for decisions cannot mint itself a token.\n"
    "A request's Host must name localhost, a loopback address, the --listen\n"
    "address (any address when it is 0.0.0.0 or [::]) or an --allow-host NAME\n"
    "(repeatable): any other is refused 403 (DNS rebinding).\n"
    "Limits: --max-body (default 1048576 bytes, 413 past it), --max-connections\n"
    "(default 64; it needs N + 80 file descriptors: the soft limit is raised to\n"
    "that, a lower hard limit stops it), --timeout (idle seconds per connection,\n"
    "default 30), --max-held-bytes (the minted tokens and cached sessions held,\n"
    "by estimate: default 536870912; past it mint is 503 limit_reached and a new\n"
    "token's session lasts its call).\n"
    "--listen with port 0 picks a free port. Prints one JSON line on stdout once\n"
    "serving: {\"kernel_key\":..,\"listening\":\"HOST:PORT\"}.\n"
    "SIGTERM or SIGINT drains (health answers 503 for --drain-grace-ms, default\n"
    "0) and exits 0. A second sidecar on the same port or store fails at once.\n"
    "\n"
    "--witness-nats: before the kernel opens the store, compare it with what its\n"
    "key published to the JetStream stream --witness-stream (default CHIO), as\n"
    "`chio fleet witness` does, and refuse to start on a rollback (exit 3) or when\n"
    "the check cannot run (exit 4); --witness-optional starts anyway, with a\n"
    "warning, when the servers cannot be reached (docs/fleet.md).\n";

/* Split HOST:PORT or [V6]:PORT into a numeric address and a port
 * ("localhost" reads as 127.0.0.1). Returns NULL, or what is wrong. */
static const char *parse_listen(const char *s, char *host, size_t cap, uint16_t *port)
{
    const char *colon, *h = s;
    struct in_addr a4;
    struct in6_addr a6;
    size_t hl;
    uint64_t p;
    int v6 = s[0] == '[';

    if (v6) {
        const char *end = strchr(s, ']');

        if (end == NULL || end[1] != ':')
            return "must be HOST:PORT or [IPV6]:PORT";
        h = s + 1;
        hl = (size_t)(end - h);
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return "must be HOST:PORT or [IPV6]:PORT";
        hl = (size_t)(colon - s);
    }
    if (cli_u64(colon + 1, &p) != 0 || p > 65535)
        return "needs a port from 0 to 65535 after the last ':'";
    if (hl == 0 || hl >= cap)
        return "needs a host before the port";
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (!v6 && strcmp(host, "localhost") == 0)
        snprintf(host, cap, "127.0.0.1");
    if (v6 ? inet_pton(AF_INET6, host, &a6) != 1 : inet_pton(AF_INET, host, &a4) != 1)
        return v6 ? "holds no IPv6 address between [ and ]"
                  : "needs a numeric IPv4 address, localhost or [IPV6] as its host";
    *port = (uint16_t)p;
    return NULL;
}

static int is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0;
}

/* Largest --token-file read (a token is one short line). */
#define TOKEN_FILE_MAX 4096

/* 1 when every byte of @t is printable ASCII but the space: a bearer
 * token's characters (RFC 6750). The sidecar refuses a header value
 * holding a control character (svc_http.h), so a token with one was
 * accepted at start and could never be presented (review 47: every
 * request was 400); a byte past ASCII is invisible text (a UTF-8 BOM as
 * Notepad writes it) that no client types (review 6: only a header
 * carrying the BOM's bytes was let in). */
static int token_chars(const char *t, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
            return 0;
    return 1;
}

/* The bearer token: the file's text less one trailing newline. The file
 * gets the seed file's checks (cli_open_secret_file): whoever can read the
 * token can mint tokens signed by the sidecar's key, so it is read only
 * from a private regular file named directly, never through a symbolic
 * link (before review 54 a link was followed, though docs/cli.md said
 * "like the seed"). NULL after printing what is wrong, naming @opt. */
static char *load_token(const char *opt, const char *path)
{
    char buf[TOKEN_FILE_MAX + 1], *t = NULL;
    size_t len = 0;
    ssize_t got;
    int e, fd = cli_open_secret_file("serve", opt, "a bearer token", path, &e);

    if (fd < 0) {
        if (e != 0)
            cli_error("serve", "%s %s: cannot open it: %s", opt, path, strerror(e));
        return NULL;
    }
    while (len <= TOKEN_FILE_MAX && (got = read(fd, buf + len, TOKEN_FILE_MAX + 1 - len)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            cli_error("serve", "%s %s: cannot read it: %s", opt, path, strerror(errno));
            goto out;
        }
        len += (size_t)got;
    }
    if (len > TOKEN_FILE_MAX) {
        cli_error("serve", "%s %s is larger than %d bytes: it must hold one token", opt, path,
                  TOKEN_FILE_MAX);
        goto out;
    }
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
        cli_error("serve",
                  "%s %s starts with a UTF-8 byte-order mark (an editor's, invisible): save it "
                  "without one",
                  opt, path);
        goto out;
    }
    if (len < 16 || !token_chars(buf, len)) {
        cli_error("serve",
                  "%s %s must hold one token of at least 16 characters, no spaces or "
                  "control characters and nothing past ASCII",
                  opt, path);
        goto out;
    }
    t = strndup(buf, len);
    if (t == NULL)
        cli_error("serve", "out of memory");
out:
    close(fd);
    explicit_bzero(buf, sizeof(buf));
    return t;
}

/* 1 when @token, read with the seed rules (64 hex digits, optional 0x,
 * any case), is the seed of @kp: an operator who gave the seed file as a
 * token file would have every client send the signing seed as its bearer
 * token, and the sidecar keep it in ordinary heap, which core dumps hold
 * (review 54). Compared through the public key it makes, so the seed is
 * not written out again. Only the sidecar's own seed is refused: a token
 * of 64 random hex digits (openssl rand -hex 32) is a fine token. -1 when
 * the check itself failed (no memory): the caller refuses to start. */
static int token_is_seed(const char *token, const chio_keypair *kp)
{
    chio_keypair *as_seed = NULL;
    uint8_t a[CHIO_PUBKEY_BYTES], b[CHIO_PUBKEY_BYTES];
    int rc = chio_keypair_from_seed_hex(token, strlen(token), &as_seed, NULL), same;

    if (rc == CHIO_ESEED_NEWLINE || rc == CHIO_ESEED_SPACE || rc == CHIO_ESEED_ODD ||
        rc == CHIO_ESEED_NONHEX || rc == CHIO_ESEED_LENGTH)
        return 0; /* no seed at all */
    if (rc != 0)
        return -1;
    same = chio_keypair_public_key(as_seed, a) == 0 && chio_keypair_public_key(kp, b) == 0 &&
           memcmp(a, b, sizeof(a)) == 0;
    chio_keypair_free(as_seed);
    return same;
}

/* 0 when neither token is the sidecar's seed; else CLI_USAGE after saying
 * which option holds it (never what it holds). */
static int refuse_seed_tokens(const char *token, const char *token_path, const char *control,
                              const char *control_path, const chio_keypair *kp)
{
    const char *opt = NULL, *path = NULL;
    int rc = 0;

    if (token != NULL && (rc = token_is_seed(token, kp)) != 0) {
        opt = "--token-file";
        path = token_path;
    } else if (control != NULL && (rc = token_is_seed(control, kp)) != 0) {
        opt = "--control-token-file";
        path = control_path;
    }
    if (rc == 0)
        return 0;
    if (rc < 0)
        return cli_error("serve",
                         "%s %s: cannot check that it is not the signing seed (out of "
                         "memory?)",
                         opt, path);
    return cli_error("serve",
                     "refusing %s %s: it holds the signing seed of --seed-file, which every client "
                     "would then send as its bearer token; give a token of its own",
                     opt, path);
}

/* --ca-key and --tool values, checked before anything is opened. */
static int check_lists(const cli_opt *ca, const cli_opt *tools)
{
    uint8_t key[32];
    size_t i;

    for (i = 0; i < ca->nvalues; i++)
        if (chio_pubkey_from_hex(ca->values[i], strlen(ca->values[i]), key) != 0)
            return cli_error("serve",
                             "--ca-key '%.80s' is not a public key (64 hex digits, optional 0x "
                             "prefix)",
                             ca->values[i]);
    for (i = 0; i < tools->nvalues; i++) {
        const char *t = tools->values[i], *colon = strchr(t, ':');

        if (colon == NULL || colon == t || colon[1] == '\0')
            return cli_error("serve", "--tool '%.80s' is not SERVER:TOOL (both non-empty)", t);
    }
    return 0;
}

/* Most --allow-host names (each is compared with every request's Host). */
#define SERVE_MAX_ALLOW_HOSTS 64

/* --allow-host: each a DNS or container name without a port. */
static int check_allow_hosts(const cli_opt *names)
{
    size_t i;

    if (names->nvalues > SERVE_MAX_ALLOW_HOSTS)
        return cli_error("serve", "--allow-host is given more than %d times",
                         SERVE_MAX_ALLOW_HOSTS);
    for (i = 0; i < names->nvalues; i++)
        if (!svc_host_name_valid(names->values[i]))
            return cli_error("serve",
                             "--allow-host '%.80s' must be a name of 1 to 253 letters, digits, "
                             "'-', '.' and '_' (no port)",
                             names->values[i]);
    return 0;
}

/* Largest --checkpoint-batch: the kernel keeps a batch's leaves (32 bytes
 * each) in memory until it signs the checkpoint. */
#define SERVE_MAX_CHECKPOINT_BATCH 1000000u

/* File descriptors chio serve needs besides its connections: the store's
 * (at most 20 table files open, its log, manifest, lock and write-ahead
 * log), the listening socket, the standard streams, libmicrohttpd's
 * wake-up pipe. */
#define SERVE_FD_RESERVE 64

/*
 * Room under RLIMIT_NOFILE for @max_connections connections (and
 * libmicrohttpd's slack past them) besides SERVE_FD_RESERVE: the soft
 * limit is raised (up to the hard one) when it is short; 0, or CLI_USAGE
 * after printing why there is no room. Past the limit libmicrohttpd
 * cannot accept at all, so no new connection ever evicts an idle one and
 * clients were locked out by a few held connections (and the store could
 * find no descriptor for a file); review 46.
 */
static int fd_room(unsigned max_connections)
{
    rlim_t need = (rlim_t)max_connections + CHIO_SERVE_CONN_SLACK + SERVE_FD_RESERVE;
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
        return 0;
    if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need) {
        rl.rlim_cur = need;
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
            return 0;
    }
    return cli_error(
        "serve",
        "--max-connections %u needs %llu file descriptors (the connections, %d more "
        "libmicrohttpd takes, %d for the store and the rest) but the limit is %llu "
        "(ulimit -n): lower --max-connections or raise the limit",
        max_connections, (unsigned long long)need, CHIO_SERVE_CONN_SLACK, SERVE_FD_RESERVE,
        (unsigned long long)(rl.rlim_max == RLIM_INFINITY ? rl.rlim_cur : rl.rlim_max));
}

static int serve_run(cli_opt *opts);

int cmd_serve(int argc, char **argv)
{
    cli_opt opts[] = {{"receipt-db", 1, 0, 0, 0, 0},       {"seed-file", 1, 0, 0, 0, 0},
                      {"listen", 1, 0, 0, 0, 0},           {"ca-key", 1, 1, 0, 0, 0},
                      {"policy-hash", 1, 0, 0, 0, 0},      {"token-file", 1, 0, 0, 0, 0},
                      {"checkpoint-batch", 1, 0, 0, 0, 0}, {"tool", 1, 1, 0, 0, 0},
                      {"durability", 1, 0, 0, 0, 0},       {"max-body", 1, 0, 0, 0, 0},
                      {"max-connections", 1, 0, 0, 0, 0},  {"timeout", 1, 0, 0, 0, 0},
                      {"drain-grace-ms", 1, 0, 0, 0, 0},   {"witness-nats", 1, 0, 0, 0, 0},
                      {"witness-stream", 1, 0, 0, 0, 0},   {"witness-optional", 0, 0, 0, 0, 0},
                      {"allow-host", 1, 1, 0, 0, 0},       {"control-token-file", 1, 0, 0, 0, 0},
                      {"max-held-bytes", 1, 0, 0, 0, 0}};
    const size_t nopts = sizeof(opts) / sizeof(opts[0]);
    const char *pos[1];
    size_t npos;
    int rc;

    rc = cli_parse(argc, argv, opts, nopts, pos, 0, &npos, "serve", serve_usage);
    if (rc == 0)
        rc = serve_run(opts);
    else if (rc < 0)
        rc = CLI_OK;      /* --help */
    free(opts[3].values); /* the repeatable options' lists */
    free(opts[7].values);
    free(opts[16].values);
    return rc;
}

/* Everything after the options were read; opts as in cmd_serve(). */
static int serve_run(cli_opt *opts)
{
    char host[64];
    uint64_t v, grace = 0;
    chio_serve_config cfg;
    chio_serve_http_config hc;
    chio_serve *srv = NULL;
    chio_serve_http *http = NULL;
    uint8_t *ca = NULL;
    char *token = NULL, *control = NULL, msg[256];
    const char *what, *listen;
    chio_error err;
    sigset_t set;
    int rc, sig = 0, status = CLI_USAGE;

    memset(&cfg, 0, sizeof(cfg));
    memset(&hc, 0, sizeof(hc));
    hc.max_body = CHIO_SERVE_DEFAULT_MAX_BODY;
    hc.max_connections = CHIO_SERVE_DEFAULT_MAX_CONNECTIONS;
    hc.timeout_secs = CHIO_SERVE_DEFAULT_TIMEOUT_SECS;
    if (opts[0].value == NULL || opts[1].value == NULL)
        return cli_error("serve", "--receipt-db DIR and --seed-file FILE are required");
    listen = opts[2].value ? opts[2].value : "127.0.0.1:9090";
    if ((what = parse_listen(listen, host, sizeof(host), &hc.port)) != NULL)
        return cli_error("serve", "--listen '%.80s' %s", listen, what);
    hc.host = host;
    cfg.checkpoint_batch = CHIO_DEFAULT_CHECKPOINT_BATCH_SIZE;
    if (opts[6].value && (cli_u64(opts[6].value, &cfg.checkpoint_batch) != 0 ||
                          cfg.checkpoint_batch > SERVE_MAX_CHECKPOINT_BATCH))
        return cli_error("serve", "--checkpoint-batch must be between 0 (no checkpoints) and %u",
                         SERVE_MAX_CHECKPOINT_BATCH);
    if (opts[8].value && strcmp(opts[8].value, "sync") != 0 && strcmp(opts[8].value, "nosync"))
        return cli_error("serve", "--durability must be sync or nosync");
    cfg.nosync = opts[8].value && strcmp(opts[8].value, "nosync") == 0;
    if (opts[9].value && (cli_u64(opts[9].value, &v) != 0 || v < 1024 || v > (64u << 20)))
        return cli_error("serve", "--max-body must be between 1024 and 67108864 bytes");
    if (opts[9].value)
        hc.max_body = (size_t)v;
    if (opts[10].value && (cli_u64(opts[10].value, &v) != 0 || v < 1 || v > 4096))
        return cli_error("serve", "--max-connections must be between 1 and 4096");
    if (opts[10].value)
        hc.max_connections = (unsigned)v;
    if (fd_room(hc.max_connections) != 0)
        return CLI_USAGE;
    if (opts[11].value && (cli_u64(opts[11].value, &v) != 0 || v < 1 || v > 3600))
        return cli_error("serve", "--timeout must be between 1 and 3600 seconds");
    if (opts[11].value)
        hc.timeout_secs = (unsigned)v;
    if (opts[18].value && (cli_u64(opts[18].value, &cfg.max_held_bytes) != 0 ||
                           cfg.max_held_bytes < CHIO_SERVE_MIN_HELD_BYTES ||
                           cfg.max_held_bytes > CHIO_SERVE_MAX_HELD_BYTES))
        return cli_error("serve", "--max-held-bytes must be between %llu and %llu bytes",
                         (unsigned long long)CHIO_SERVE_MIN_HELD_BYTES,
                         (unsigned long long)CHIO_SERVE_MAX_HELD_BYTES);
    if (opts[12].value && (cli_u64(opts[12].value, &grace) != 0 || grace > 600000))
        return cli_error("serve", "--drain-grace-ms must be between 0 and 600000");
    if (opts[4].value && opts[4].value[0] == '\0')
        return cli_error("serve", "--policy-hash must not be empty");
    if (check_lists(&opts[3], &opts[7]) != 0)
        return CLI_USAGE;
    if ((opts[14].value || opts[15].value) && opts[13].value == NULL)
        return cli_error("serve", "--witness-stream and --witness-optional need --witness-nats");
    if (opts[14].value && !chio__fleet_stream_name_ok(opts[14].value))
        return cli_error("serve", "--witness-stream must be 1-64 of A-Z a-z 0-9 _ -");
    if (opts[13].value != NULL) {
        char why[300];
        if (!chio__xp_url_ok(opts[13].value, why, sizeof(why)))
            return cli_error("serve", "--witness-nats: %s", why);
    }
    if (check_allow_hosts(&opts[16]) != 0)
        return CLI_USAGE;
    hc.allow_hosts = (const char *const *)opts[16].values;
    hc.n_allow_hosts = opts[16].nvalues;
    if (opts[5].value == NULL && !is_loopback(host))
        return cli_error("serve",
                         "refusing to listen on %s without --token-file: a sidecar reachable "
                         "from other machines needs a bearer token",
                         host);
    if (cli_check_store_dir("serve", "--receipt-db", opts[0].value) != 0)
        return CLI_USAGE;
    if (opts[17].value && opts[5].value == NULL)
        return cli_error("serve", "--control-token-file needs --token-file (the token evaluate "
                                  "takes)");
    if (opts[5].value && (token = load_token("--token-file", opts[5].value)) == NULL)
        return CLI_USAGE;
    if (opts[17].value && (control = load_token("--control-token-file", opts[17].value)) == NULL)
        goto out;
    if (control != NULL && strcmp(control, token) == 0) {
        cli_error("serve", "--control-token-file and --token-file hold the same token: the "
                           "control token must be another, or whoever may evaluate can mint");
        goto out;
    }
    if (cli_trusted_keys("serve", &opts[3], &ca, &cfg.n_ca_keys) != 0)
        goto out;
    cfg.keypair = cli_load_seed("serve", opts[1].value);
    if (cfg.keypair == NULL)
        goto out;
    if (refuse_seed_tokens(token, opts[5].value, control, opts[17].value, cfg.keypair) != 0) {
        chio_keypair_free(cfg.keypair);
        goto out;
    }
    if (opts[13].value != NULL) {
        /* The start-up witness reads the store before the kernel locks it. */
        chio__witness_startup w = {"chio serve",
                                   opts[0].value,
                                   opts[13].value,
                                   opts[14].value,
                                   chio_keypair_public_hex(cfg.keypair),
                                   opts[15].value != NULL,
                                   0};

        FILE *werr = cli_redacting_stream(stderr); /* cli/redact_args.c */

        rc = chio__witness_at_startup(&w, werr);
        cli_redacting_close(werr, stderr);
        if (rc != 0) {
            chio_keypair_free(cfg.keypair);
            status = rc;
            goto out;
        }
    }
    cfg.receipt_db = opts[0].value;
    cfg.ca_keys = ca;
    cfg.policy_hash = opts[4].value;
    cfg.tools = opts[7].values;
    cfg.ntools = opts[7].nvalues;
    cfg.bearer_token = token;
    cfg.control_token = control;

    /* The signals are taken by sigwait below; every thread started from
     * here on (kernel, HTTP) inherits the mask. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    chio_error_init(&err);
    rc = chio_serve_new(&cfg, &srv, &err);
    if (rc == CHIO_EBUSY) {
        cli_error("serve", "receipt store %s is in use by another process (another chio serve?)",
                  opts[0].value);
        goto out;
    }
    if (rc != 0) {
        cli_lib_error("serve", "cannot start the kernel", rc, &err);
        goto out;
    }
    if (chio_serve_http_start(srv, &hc, &http, msg, sizeof(msg)) != 0) {
        cli_error("serve", "%s", msg);
        goto out;
    }
    printf("{\"kernel_key\":\"%s\",\"listening\":\"%s%s%s:%u\"}\n", chio_serve_public_hex(srv),
           strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
           (unsigned)chio_serve_http_port(http));
    fflush(stdout);

    while (sigwait(&set, &sig) != 0)
        ;
    fprintf(stderr, "chio serve: %s, draining\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    chio_serve_set_draining(srv);
    if (grace > 0) {
        struct timespec ts = {(time_t)(grace / 1000), (long)(grace % 1000) * 1000000L};

        while (nanosleep(&ts, &ts) != 0)
            ;
    }
    chio_serve_http_stop(http);
    http = NULL;
    chio_error_init(&err);
    if (chio_serve_drain_kernel(srv, &err) != 0) {
        cli_lib_error("serve", "drain", err.code ? err.code : CHIO_EFAILED, &err);
        status = CLI_NEGATIVE;
        goto out;
    }
    status = CLI_OK;
out:
    chio_serve_http_stop(http);
    chio_serve_free(srv);
    free(ca);
    if (token != NULL) {
        explicit_bzero(token, strlen(token));
        free(token);
    }
    if (control != NULL) {
        explicit_bzero(control, strlen(control));
        free(control);
    }
    return status;
}
