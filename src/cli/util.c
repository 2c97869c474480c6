/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/util.c - the CLI's shared plumbing (see cli.h): option parsing, input
 * reading, seed files, error messages, document splitting, the JSON text
 * builder (svc_buf) and command dispatch.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"

#define CLI_MAX_INPUT ((size_t)256 * 1024 * 1024)
#define MAX_SEED_FILE 4096

/* The test hook of tests/cli/test_help.c: with CHIO_CLI_HELP_NAMES set in
 * the environment, --help also lists on stderr the names the parser or
 * dispatcher really accepts, so that help text and docs/cli.md can be
 * compared with them. */
static int help_names_wanted(void)
{
    const char *e = getenv("CHIO_CLI_HELP_NAMES");
    return e != NULL && e[0] != '\0';
}

/* One name of that list ("--name" for an option). */
static void help_name(const char *prefix, const char *name)
{
    fprintf(stderr, " %s%s", prefix, name);
}

int cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    char *body = NULL, *msg = NULL;
    int n;

    /* Through cli_message_out(): no seed typed on the command line is
     * quoted back (cli/redact_args.c). */
    va_start(ap, fmt);
    n = vasprintf(&body, fmt, ap);
    va_end(ap);
    if (n >= 0) {
        if (asprintf(&msg, "chio %s: %s\n", cmd, body) < 0)
            msg = NULL;
        explicit_bzero(body, (size_t)n);
        free(body);
    }
    cli_message_out(stderr, msg);
    return CLI_USAGE;
}

int cli_lib_error(const char *cmd, const char *what, int rc, const chio_error *err)
{
    const char *msg = err && err->message[0] ? err->message : chio_strerror(rc);
    return cli_error(cmd, "%s: %s (%s)", what, msg, chio_errno_name(rc));
}

int cli_store_busy(const char *cmd, const char *dir, const char *todo, const chio_error *err)
{
    return cli_error(cmd,
                     "receipt store %s is in use by another process (a running kernel: chio "
                     "serve, chio mcp serve, a host service, another run); %s (%s)",
                     dir, todo, err && err->message[0] ? err->message : chio_strerror(CHIO_EBUSY));
}

/* After a usage error: the synopsis (@usage up to its first blank line)
 * and where the rest is, not the whole help, so that the error line above
 * it stays on screen. */
void cli_usage_hint(const char *cmd, const char *usage)
{
    const char *end = strstr(usage, "\n\n");

    fwrite(usage, 1, end ? (size_t)(end - usage) + 1 : strlen(usage), stderr);
    fprintf(stderr, "Run 'chio %s --help' for every option.\n", cmd);
}

cli_opt *cli_find(cli_opt *opts, size_t nopts, const char *name)
{
    size_t i;

    for (i = 0; i < nopts; i++)
        if (strcmp(opts[i].name, name) == 0)
            return &opts[i];
    return NULL;
}

int cli_parse(int argc, char **argv, cli_opt *opts, size_t nopts, const char **pos, size_t maxpos,
              size_t *npos, const char *cmd, const char *usage)
{
    int i, only_pos = 0;

    *npos = 0;
    for (i = 0; i < argc; i++) {
        const char *a = argv[i], *eq, *val = NULL;
        char name[64];
        cli_opt *o;

        if (only_pos || a[0] != '-' || strcmp(a, "-") == 0) {
            if (*npos == maxpos && maxpos == 1) {
                /* a shell glob handed to a one-file command: say why, and what works */
                cli_error(cmd,
                          "unexpected argument '%s': it takes one file ('%s' is already "
                          "given); run it once per file",
                          a, pos[0]);
                cli_usage_hint(cmd, usage);
                return CLI_USAGE;
            }
            if (*npos == maxpos) {
                cli_error(cmd, "unexpected argument '%s'", a);
                cli_usage_hint(cmd, usage);
                return CLI_USAGE;
            }
            pos[(*npos)++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            if (help_names_wanted()) {
                size_t k;
                fputs("options:", stderr);
                for (k = 0; k < nopts; k++)
                    help_name("--", opts[k].name);
                fputc('\n', stderr);
            }
            return -1;
        }
        if (strncmp(a, "--", 2) != 0) {
            cli_error(cmd, "unknown option '%s'", a);
            cli_usage_hint(cmd, usage);
            return CLI_USAGE;
        }
        eq = strchr(a + 2, '=');
        snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - a - 2) : (int)strlen(a + 2), a + 2);
        o = cli_find(opts, nopts, name);
        if (o == NULL) {
            cli_error(cmd, "unknown option '--%s'", name);
            cli_usage_hint(cmd, usage);
            return CLI_USAGE;
        }
        if (o->takes_value) {
            if (eq)
                val = eq + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            else
                return cli_error(cmd, "option '--%s' needs a value", name);
        } else {
            if (eq)
                return cli_error(cmd, "option '--%s' takes no value", name);
            val = "1";
        }
        if (o->value != NULL && !o->repeatable)
            return cli_error(cmd, "option '--%s' given twice", name);
        o->value = val;
        if (o->repeatable) {
            const char **v = realloc(o->values, (o->nvalues + 1) * sizeof(*v));
            if (v == NULL)
                return cli_error(cmd, "out of memory");
            v[o->nvalues++] = val;
            o->values = v;
        }
    }
    return 0;
}

int cli_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if (s == NULL || *s == '\0')
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

/* Wipe the first @n bytes of @buf and free it: an input may hold a seed
 * (a scenario's kernel.signing_seed_hex), and freed heap keeps its bytes. */
static void wipe_free(char *buf, size_t n)
{
    if (buf != NULL)
        OPENSSL_cleanse(buf, n);
    free(buf);
}

/* A buffer of @cap + 1 bytes holding the @n bytes of @buf, which is wiped
 * and freed (not realloc: a moved block would keep its old bytes). */
static char *grow(char *buf, size_t n, size_t cap)
{
    char *p = malloc(cap + 1);

    if (p != NULL && n > 0)
        memcpy(p, buf, n);
    wipe_free(buf, n);
    return p;
}

static char *read_fd(int fd, size_t limit, size_t *len, int *toobig)
{
    char *buf = NULL;
    size_t cap = 0, n = 0;
    ssize_t got;

    *toobig = 0;
    for (;;) {
        if (cap - n < 65536) {
            cap = cap ? cap * 2 : 65536;
            buf = grow(buf, n, cap);
            if (buf == NULL)
                return NULL;
        }
        got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            wipe_free(buf, n);
            return NULL;
        }
        if (got == 0)
            break;
        n += (size_t)got;
        if (n > limit) {
            *toobig = 1;
            wipe_free(buf, n);
            return NULL;
        }
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Whether @fd is a regular file with more than CLI_MAX_INPUT bytes left to
 * read from its offset (stdin redirected from a file starts where the
 * shell left it, usually 0). */
static int regular_and_too_big(int fd)
{
    struct stat st;
    off_t at;

    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    at = lseek(fd, 0, SEEK_CUR);
    if (at < 0 || at > st.st_size)
        at = 0;
    return (uint64_t)(st.st_size - at) > CLI_MAX_INPUT;
}

char *cli_read_input(const char *cmd, const char *path, size_t *len)
{
    int fd = 0, toobig;
    char *buf;

    if (path != NULL && strcmp(path, "-") != 0) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            cli_error(cmd, "cannot open %s: %s", path, strerror(errno));
            return NULL;
        }
    }
    /* A regular file over the bound is refused by its size, before a byte
     * is read (reading it first took twice the bound in memory), named
     * FILE or given on stdin (`< FILE`: before review 48 stdin was read to
     * the bound first, some 540 MB for a 300 MB file). */
    if (regular_and_too_big(fd)) {
        if (fd != 0)
            close(fd);
        cli_error(cmd, "input %s is larger than %zu bytes", fd != 0 ? path : "(stdin)",
                  CLI_MAX_INPUT);
        return NULL;
    }
    /* A newcomer who runs `chio receipt verify` bare would otherwise face a
     * silent wait: say what is being read and how to end it. */
    if (fd == 0 && isatty(0))
        fprintf(stderr,
                "chio %s: reading standard input from the terminal; end it with Ctrl-D "
                "('chio %s --help' shows how to give a file)\n",
                cmd, cmd);
    buf = read_fd(fd, CLI_MAX_INPUT, len, &toobig);
    if (fd != 0)
        close(fd);
    if (buf == NULL) {
        if (toobig)
            cli_error(cmd, "input %s is larger than %zu bytes", path ? path : "(stdin)",
                      CLI_MAX_INPUT);
        else
            cli_error(cmd, "cannot read %s: %s", path ? path : "(stdin)", strerror(errno));
    }
    return buf;
}

int cli_owned_by_us_or_root(const struct stat *st)
{
    return st->st_uid == geteuid() || st->st_uid == 0;
}

int cli_open_secret_file(const char *cmd, const char *label, const char *what, const char *path,
                         int *open_errno)
{
    struct stat st;
    int fd;

    *open_errno = 0;
    /* O_NONBLOCK: opening a FIFO (or a device) must not wait for a writer;
     * O_NOFOLLOW: the secret is the file named, never what a link points
     * to (a link planted at the path could point at any private file the
     * owner checks below accept, another service's seed among them). */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        if (e == ELOOP && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
            cli_error(cmd,
                      "refusing %s %s: it is a symbolic link; give the path of the file itself",
                      label, path);
        else
            *open_errno = e != 0 ? e : EIO; /* the caller says why */
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        cli_error(cmd, "%s %s is not a regular file (a FIFO, device or directory?)", label, path);
        return -1;
    }
    if (st.st_mode & (S_IRGRP | S_IROTH | S_IWGRP | S_IWOTH)) {
        close(fd);
        cli_error(cmd,
                  "refusing %s %s: its mode %04o lets group or others read or write it; "
                  "%s must be private (chmod 600 %s)",
                  label, path, (unsigned)(st.st_mode & 07777), what, path);
        return -1;
    }
    if (!cli_owned_by_us_or_root(&st)) {
        close(fd);
        cli_error(cmd,
                  "refusing %s %s: it belongs to uid %u, neither this user (uid %u) nor "
                  "root, and its owner could replace what it holds (chown it)",
                  label, path, (unsigned)st.st_uid, (unsigned)geteuid());
        return -1;
    }
    return fd;
}

chio_keypair *cli_load_seed(const char *cmd, const char *path)
{
    chio_keypair *kp = NULL;
    chio_error err;
    char buf[MAX_SEED_FILE + 1];
    size_t n = 0;
    ssize_t got;
    int fd, rc, e;

    if (path == NULL) {
        cli_error(cmd, "--seed-file is required");
        return NULL;
    }
    fd = cli_open_secret_file(cmd, "seed file", "a signing seed", path, &e);
    if (fd < 0) {
        if (e != 0 && e != ELOOP && cli_secret_hex(path, NULL) != 0)
            cli_error(cmd,
                      "the --seed-file value opens no file and holds 32 or more hex digits in a "
                      "row, likely the seed itself (not shown). A seed on the command line is "
                      "visible to every local user (ps, /proc/PID/cmdline): keep it in a mode "
                      "0600 file (chio keygen --out FILE) and give that file's path");
        else if (e != 0)
            cli_error(cmd, "cannot open seed file %s: %s", path, strerror(e));
        return NULL;
    }
    while (n <= MAX_SEED_FILE && (got = read(fd, buf + n, MAX_SEED_FILE + 1 - n)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            e = errno;
            close(fd);
            OPENSSL_cleanse(buf, sizeof(buf));
            cli_error(cmd, "cannot read seed file %s: %s", path, strerror(e));
            return NULL;
        }
        n += (size_t)got;
    }
    close(fd);
    if (n > MAX_SEED_FILE) {
        OPENSSL_cleanse(buf, sizeof(buf));
        cli_error(cmd, "seed file %s is too large to be a seed", path);
        return NULL;
    }
    if (n >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
        /* The library would name the length first ("an odd number of hex
         * digits (67)"), its rules' order; the cause is an editor's mark. */
        OPENSSL_cleanse(buf, sizeof(buf));
        cli_error(cmd,
                  "seed file %s starts with a UTF-8 byte-order mark (an editor's, invisible): "
                  "save it without one",
                  path);
        return NULL;
    }
    if (n > 0 && buf[n - 1] == '\n')
        n--; /* exactly one trailing newline, nothing else */
    chio_error_init(&err);
    rc = chio_keypair_from_seed_hex(buf, n, &kp, &err);
    OPENSSL_cleanse(buf, sizeof(buf));
    if (rc != 0) {
        cli_error(cmd, "seed file %s: %s (%s)", path, err.message, chio_errno_name(rc));
        return NULL;
    }
    return kp;
}

/* The file the store layer writes into every directory that holds a log
 * (src/store/sentinel.c); its presence is what makes a directory a store.
 * Only a regular file counts, never followed, as in the library's own
 * check (store_dir.c): anything else under that name is no store here,
 * and the library's open and chio_store_check_dir() refuse it, naming it
 * (CHIO_ESTORE, review 54). */
#define STORE_SENTINEL "CHIO-RECEIPT-STORE"

int cli_store_exists(const char *dir)
{
    struct stat st;
    char *sentinel;
    int found;

    if (asprintf(&sentinel, "%s/" STORE_SENTINEL, dir) < 0)
        return 0;
    found = lstat(sentinel, &st) == 0 && S_ISREG(st.st_mode);
    free(sentinel);
    return found;
}

/* Reading never creates a store: a path that is missing or not a directory
 * is named as such (the store's own "no receipt store" would not say why). */
int cli_store_dir_present(const char *cmd, const char *dir)
{
    struct stat st;

    if (stat(dir, &st) != 0) {
        if (errno == ENOENT)
            cli_error(cmd,
                      "--receipt-db %s: no such directory (a kernel creates its store "
                      "there when it first starts; reading never creates one)",
                      dir);
        else
            cli_error(cmd, "--receipt-db %s: %s", dir, strerror(errno));
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) {
        cli_error(cmd, "--receipt-db %s is not a directory (give the store's directory)", dir);
        return 0;
    }
    return 1;
}

int cli_check_store_dir(const char *cmd, const char *opt, const char *dir)
{
    struct stat st;
    chio_error err;
    int rc;

    if (dir == NULL || dir[0] == '\0')
        return cli_error(cmd, "%s needs a directory", opt);
    if (stat(dir, &st) != 0) {
        int e = errno;
        if (e == ENOENT && lstat(dir, &st) == 0)
            return cli_error(cmd, "%s %s is a symbolic link to nothing", opt, dir);
        if (e == ENOENT)
            return 0; /* created by the store */
        return cli_error(cmd, "%s %s: %s", opt, dir, strerror(e));
    }
    if (!S_ISDIR(st.st_mode))
        return cli_error(cmd, "%s %s is not a directory", opt, dir);
    /* The library's own check: an existing store, or nothing but what a
     * store being made leaves (a kill -9 before its sentinel), which the
     * open finishes making. */
    chio_error_init(&err);
    rc = chio_store_check_dir(dir, &err);
    if (rc == CHIO_ESTORE)
        return cli_error(cmd, "refusing %s %s: %s", opt, dir, err.message);
    if (rc != 0)
        return cli_lib_error(cmd, "store directory", rc, &err);
    return 0;
}

int cli_trusted_keys(const char *cmd, cli_opt *opt, uint8_t **keys, size_t *n)
{
    size_t i;

    *keys = NULL;
    *n = 0;
    if (opt == NULL || opt->nvalues == 0)
        return 0;
    *keys = malloc(32 * opt->nvalues);
    if (*keys == NULL)
        return cli_error(cmd, "out of memory");
    for (i = 0; i < opt->nvalues; i++) {
        const char *h = opt->values[i];
        if (chio_pubkey_from_hex(h, strlen(h), *keys + 32 * i) != 0) {
            free(*keys);
            *keys = NULL;
            return cli_error(cmd,
                             "--trusted-key '%.80s' is not a public key (64 hex digits, optional "
                             "0x prefix)",
                             h);
        }
    }
    *n = opt->nvalues;
    return 0;
}

static int worst(int a, int b)
{
    return a > b ? a : b;
}

/* The elements of the array that is the whole of @text (which parsed), each
 * handed to @fn as its own bytes: a walk of the text, never the parsed
 * value re-serialised (that turned a receipt's -0 or 1710000200.0, refused
 * as written, into 0 or 1710000200 and a valid receipt; review 45). @n is
 * the number of elements the parser saw; a walk that finds another number
 * is refused rather than trusted. */
static int each_element(const char *text, size_t len, size_t n, cli_doc_fn fn, void *ctx)
{
    size_t i = svc_json_skip_ws(text, len, 0) + 1, s, e, k = 0;
    int rc = CLI_OK, more = -1;

    if (i <= len && text[i - 1] == '[')
        while ((more = svc_json_next_element(text, len, &i, &s, &e)) == 1 && ++k <= n)
            rc = worst(rc, fn(text + s, e - s, k, ctx));
    if (more != 0 || k != n) {
        fprintf(stderr, "chio: element %zu of the input array cannot be read as written\n", k + 1);
        return CLI_USAGE;
    }
    return rc;
}

int cli_for_each_document(const char *text, size_t len, cli_doc_fn fn, void *ctx)
{
    chio_json_doc *doc;
    const char *p = text, *end = text + len, *nl;
    size_t line = 0;
    int rc = CLI_OK, any = 0;

    /* One JSON document (possibly pretty-printed), or an array of them. */
    if (chio_json_parse(text, len, &doc, NULL) == 0) {
        const chio_json *root = chio_json_root(doc);
        if (chio_json_typeof(root) == CHIO_JSON_ARRAY) {
            size_t n = chio_json_size(root);
            chio_json_doc_free(doc);
            return each_element(text, len, n, fn, ctx);
        }
        chio_json_doc_free(doc);
        return fn(text, len, 0, ctx);
    }
    /* Otherwise one document per non-empty line. */
    while (p < end) {
        size_t n;
        nl = memchr(p, '\n', (size_t)(end - p));
        n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        line++;
        if (n > 0 && p[n - 1] == '\r')
            n--;
        {
            size_t k = 0;
            while (k < n && (p[k] == ' ' || p[k] == '\t'))
                k++;
            if (k < n) {
                any = 1;
                rc = worst(rc, fn(p, n, line, ctx));
            }
        }
        p = nl ? nl + 1 : end;
    }
    if (!any)
        return fn(text, len, 0, ctx); /* empty input: let the command report it */
    return rc;
}

int cli_write(const void *data, size_t len)
{
    if (len != 0 && fwrite(data, 1, len, stdout) != len)
        return CLI_USAGE;
    return 0;
}

/* ---- a small JSON text builder ----------------------------------------------------------- */

int cli_bad_document(const char *cmd, int rc, const chio_error *err, size_t line)
{
    char where[32];
    svc_buf b = {0};

    svc_buf_printf(&b, "{\"code\":\"%s\",\"error\":", chio_errno_name(rc));
    svc_buf_json_cstr(&b, err && err->message[0] ? err->message : chio_strerror(rc));
    svc_buf_printf(&b, ",\"line\":%zu,\"ok\":false}\n", line);
    if (!b.oom)
        cli_write(b.p, b.len);
    free(b.p);
    snprintf(where, sizeof(where), line ? "line %zu" : "input", line);
    return cli_lib_error(cmd, where, rc, err);
}

int cli_emit_report(const char *cmd, int rc, char *json, size_t len, int ok)
{
    if (rc != 0)
        return cli_error(cmd, "cannot write the report: %s", chio_strerror(rc));
    cli_write(json, len);
    cli_write("\n", 1);
    chio_free(json);
    return ok ? CLI_OK : CLI_NEGATIVE;
}

int cli_run_documents(const char *cmd, const char *path, cli_doc_fn fn, void *ctx)
{
    size_t len;
    char *in = cli_read_input(cmd, path, &len);
    int rc;

    if (in == NULL)
        return CLI_USAGE;
    rc = cli_for_each_document(in, len, fn, ctx);
    free(in);
    return rc;
}

/* The edit distance (insertions, deletions, substitutions) between two
 * short words; words longer than 31 bytes count as far from everything. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i, j, row[32];

    if (la > 31 || lb > 31)
        return SIZE_MAX;
    for (j = 0; j <= lb; j++)
        row[j] = j;
    for (i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

/* The (sub)command a mistyped @word most likely meant: at most two edits
 * away and fewer edits than the name is long; NULL when none is. */
static const char *closest_name(const char *word, const cli_subcommand *subs, size_t nsubs)
{
    const char *best = NULL;
    size_t i, best_d = 3;

    for (i = 0; i < nsubs; i++) {
        size_t d = edit_distance(word, subs[i].name);
        if (subs[i].name[0] != '-' && d < best_d && d < strlen(subs[i].name)) {
            best = subs[i].name;
            best_d = d;
        }
    }
    return best;
}

/* An unknown (sub)command: the error line with a suggestion when a name is
 * close. At the top level only the synopsis follows (the whole help would
 * push the error off the screen); a group's help is short and follows whole. */
static int unknown_name(const char *group, const char *word, const cli_subcommand *subs,
                        size_t nsubs, const char *usage)
{
    const char *near = closest_name(word, subs, nsubs);
    const char *end = strchr(usage, '\n');

    cli_message_printf(stderr, "chio%s%s: unknown %s '%s'%s%s%s\n", group ? " " : "",
                       group ? group : "", group ? "subcommand" : "command", word,
                       near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    if (group != NULL) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    fwrite(usage, 1, end ? (size_t)(end - usage) + 1 : strlen(usage), stderr);
    fputs("Run 'chio --help' for every command.\n", stderr);
    return CLI_USAGE;
}

int cli_dispatch(const char *group, int argc, char **argv, const cli_subcommand *subs, size_t nsubs,
                 const char *usage)
{
    size_t i;

    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        fputs(usage, stdout);
        if (help_names_wanted()) {
            fputs("subcommands:", stderr);
            for (i = 0; i < nsubs; i++)
                help_name("", subs[i].name);
            fputc('\n', stderr);
        }
        return CLI_OK;
    }
    for (i = 0; argc >= 1 && i < nsubs; i++)
        if (strcmp(argv[0], subs[i].name) == 0)
            return subs[i].run(argc - 1, argv + 1);
    if (argc >= 1)
        return unknown_name(group, argv[0], subs, nsubs, usage);
    if (group != NULL)
        cli_error(group, "missing subcommand");
    fputs(usage, stderr);
    return CLI_USAGE;
}

/* Could a kernel have written @json: no control byte, C0, DEL or C1
 * (its JSON writer escapes them all; a raw ESC would draw on the terminal
 * reading the stream, a line break add lines of its own making) and valid
 * UTF-8 (a stray 0x9b is CSI to an 8-bit terminal)? */
int cli_printable_json(const char *json, size_t len)
{
    const unsigned char *p = (const unsigned char *)json;
    size_t i = 0, n, k;

    while (i < len) {
        unsigned char b = p[i];
        uint32_t cp;
        if (b < 0x80) {
            if (b < 0x20 || b == 0x7f)
                return 0;
            i++;
            continue;
        }
        if (b >= 0xc2 && b <= 0xdf)
            n = 1, cp = b & 0x1f;
        else if (b >= 0xe0 && b <= 0xef)
            n = 2, cp = b & 0x0f;
        else if (b >= 0xf0 && b <= 0xf4)
            n = 3, cp = b & 0x07;
        else
            return 0;
        if (len - i <= n)
            return 0;
        for (k = 1; k <= n; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if ((n == 1 && cp <= 0x9f) || (n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return 0;
        i += n + 1;
    }
    return 1;
}
