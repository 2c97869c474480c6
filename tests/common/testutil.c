/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/common/testutil.c - see testutil.h.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <rocksdb/c.h>
#include <unistd.h>

#include "chio/store.h"
#include "common/poll.h"
#include "common/testutil.h"
#include "store_internal.h"

extern char **environ;

char *testutil_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0, got;

    if (f == NULL)
        return NULL;
    for (;;) {
        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 8192;
            buf = realloc(buf, cap + 1);
            cr_assert_not_null(buf);
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

chio_json_doc *testutil_load_vectors(const char *name)
{
    const char *dir = getenv("CHIO_VECTORS_DIR");
    char path[1024];
    chio_error err;
    chio_json_doc *doc = NULL;
    size_t len;
    char *text;

    if (dir == NULL || dir[0] == '\0')
        dir = CHIO_VECTORS_DIR_DEFAULT;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    text = testutil_read_file(path, &len);
    cr_assert_not_null(text, "upstream vectors missing: cannot read %s", path);
    chio_error_init(&err);
    cr_assert_eq(chio_json_parse(text, len, &doc, &err), 0, "cannot parse %s: %s", path,
                 err.message);
    free(text);
    return doc;
}

static void drain(int fd, char **buf, size_t *len, size_t *cap)
{
    ssize_t n;

    if (*cap - *len < 4096) {
        *cap = *cap ? *cap * 2 : 8192;
        *buf = realloc(*buf, *cap + 1);
        cr_assert_not_null(*buf);
    }
    n = read(fd, *buf + *len, *cap - *len);
    if (n > 0)
        *len += (size_t)n;
}

cli_result testutil_run_cli(const char *const *argv, const char *in, size_t in_len)
{
    int pin[2], pout[2], perr[2];
    posix_spawn_file_actions_t fa;
    const char *args[64];
    cli_result r;
    size_t i, outcap = 0, errcap = 0, written = 0;
    pid_t pid;
    int st, open_fds = 2;
    struct pollfd pfd[3];

    memset(&r, 0, sizeof(r));
    args[0] = CHIO_TEST_CLI;
    for (i = 0; argv && argv[i] && i < 62; i++)
        args[i + 1] = argv[i];
    args[i + 1] = NULL;
    cr_assert_eq(pipe(pin), 0);
    cr_assert_eq(pipe(pout), 0);
    cr_assert_eq(pipe(perr), 0);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
    posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
    posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
    posix_spawn_file_actions_addclose(&fa, pin[1]);
    posix_spawn_file_actions_addclose(&fa, pout[0]);
    posix_spawn_file_actions_addclose(&fa, perr[0]);
    cr_assert_eq(posix_spawn(&pid, CHIO_TEST_CLI, &fa, NULL, (char *const *)args, environ), 0,
                 "cannot run %s", CHIO_TEST_CLI);
    posix_spawn_file_actions_destroy(&fa);
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    signal(SIGPIPE, SIG_IGN);
    fcntl(pin[1], F_SETFL, O_NONBLOCK);
    if (in == NULL || in_len == 0) {
        close(pin[1]);
        pin[1] = -1;
    }
    while (open_fds > 0 || pin[1] >= 0) {
        pfd[0].fd = pout[0];
        pfd[0].events = POLLIN;
        pfd[1].fd = perr[0];
        pfd[1].events = POLLIN;
        pfd[2].fd = pin[1];
        pfd[2].events = POLLOUT;
        if (poll(pfd, 3, 30000) <= 0) {
            /* Not left running after the test: a CLI that never ends (a
             * server the test expected to refuse its options) outlived
             * the failed test before. */
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            cr_assert_fail("CLI timed out (killed)");
        }
        if (pfd[2].fd >= 0 && (pfd[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t n = write(pin[1], in + written, in_len - written);
            if (n > 0)
                written += (size_t)n;
            if (n < 0 || written == in_len) {
                close(pin[1]);
                pin[1] = -1;
            }
        }
        if (pfd[0].fd >= 0 && (pfd[0].revents & (POLLIN | POLLHUP))) {
            size_t before = r.out_len;
            drain(pout[0], &r.out, &r.out_len, &outcap);
            if (r.out_len == before) {
                close(pout[0]);
                pout[0] = -1;
                open_fds--;
            }
        }
        if (pfd[1].fd >= 0 && (pfd[1].revents & (POLLIN | POLLHUP))) {
            size_t before = r.err_len;
            drain(perr[0], &r.err, &r.err_len, &errcap);
            if (r.err_len == before) {
                close(perr[0]);
                perr[0] = -1;
                open_fds--;
            }
        }
    }
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (r.out == NULL)
        r.out = calloc(1, 1);
    if (r.err == NULL)
        r.err = calloc(1, 1);
    r.out[r.out_len] = '\0';
    r.err[r.err_len] = '\0';
    return r;
}

void testutil_cli_free(cli_result *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof(*r));
}

/* The longest TMPDIR a test directory is made under. Tests put Unix
 * sockets in their directory ("<dir>/hs-admin.sock"), and a socket path
 * has at most 107 bytes: under a longer TMPDIR (a CI workspace path) the
 * services refused to start ("socket path too long") and every host,
 * witness and export-host test failed. The directory is mkdtemp()'s,
 * 0700, so /tmp is as private. */
#define TESTUTIL_TMPDIR_MAX 48

int testutil_dial(unsigned port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    cr_assert_geq(fd, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

char *testutil_recv_until(int fd, const char *until, unsigned ms)
{
    uint64_t end = testutil_now_ms() + ms;
    char *all = calloc(1, 1), buf[4096];
    size_t len = 0;

    cr_assert_not_null(all);
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        uint64_t now = testutil_now_ms();
        ssize_t n;
        if ((until != NULL && strstr(all, until) != NULL) || now >= end)
            break;
        if (poll(&p, 1, (int)(end - now)) <= 0)
            continue;
        if ((n = recv(fd, buf, sizeof(buf), 0)) <= 0)
            break;
        all = realloc(all, len + (size_t)n + 1);
        cr_assert_not_null(all);
        memcpy(all + len, buf, (size_t)n);
        len += (size_t)n;
        all[len] = '\0';
    }
    return all;
}

char *testutil_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *path;

    if (base == NULL || base[0] == '\0' || strlen(base) > TESTUTIL_TMPDIR_MAX)
        base = "/tmp";
    cr_assert_geq(asprintf(&path, "%s/chio-test-XXXXXX", base), 0);
    cr_assert_not_null(mkdtemp(path), "mkdtemp failed: %s", strerror(errno));
    return path;
}

void testutil_rmrf(const char *path)
{
    char *cmd;

    if (path == NULL)
        return;
    cr_assert_geq(asprintf(&cmd, "rm -rf '%s'", path), 0);
    (void)system(cmd);
    free(cmd);
}

int testutil_write_file(const char *path, const void *data, size_t len, unsigned mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, (mode_t)mode);
    ssize_t n;

    if (fd < 0)
        return -1;
    fchmod(fd, (mode_t)mode);
    n = write(fd, data, len);
    close(fd);
    return n == (ssize_t)len ? 0 : -1;
}

void testutil_hex(const uint8_t *in, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* One raw write to column family @cf of the store at @db, synced, as an
 * attacker with the directory would make it: put @val (NULL: delete @key). */
char *testutil_join(const char *dir, const char *name)
{
    char *p = NULL;

    cr_assert_geq(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

char *testutil_repo_path(const char *rel)
{
    const char *root = CHIO_SCENARIOS_DIR; /* <repository>/scenarios */
    char *p = NULL;

    cr_assert_geq(asprintf(&p, "%.*s/%s", (int)(strlen(root) - strlen("/scenarios")), root, rel),
                  0);
    return p;
}

void testutil_raw_write(const char *db, const char *cf, const void *key, size_t klen,
                        const void *val, size_t vlen)
{
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_column_family_handle_t *h[16];
    const rocksdb_options_t *cfo[16];
    rocksdb_t *rdb;
    char *err = NULL, **names;
    size_t n = 0, i, target = 16;

    names = rocksdb_list_column_families(o, db, &n, &err);
    cr_assert_null(err, "list column families: %s", err);
    cr_assert_leq(n, 16);
    for (i = 0; i < n; i++) {
        cfo[i] = o;
        if (strcmp(names[i], cf) == 0)
            target = i;
    }
    cr_assert_lt(target, n, "no column family %s", cf);
    rdb = rocksdb_open_column_families(o, db, (int)n, (const char *const *)names, cfo, h, &err);
    cr_assert_null(err, "open: %s", err);
    rocksdb_writeoptions_set_sync(wo, 1);
    if (val != NULL)
        rocksdb_put_cf(rdb, wo, h[target], key, klen, val, vlen, &err);
    else
        rocksdb_delete_cf(rdb, wo, h[target], key, klen, &err);
    cr_assert_null(err, "write: %s", err);
    for (i = 0; i < n; i++)
        rocksdb_column_family_handle_destroy(h[i]);
    rocksdb_close(rdb);
    rocksdb_list_column_families_destroy(names, n);
    rocksdb_writeoptions_destroy(wo);
    rocksdb_options_destroy(o);
}

void testutil_raw_write_seq(const char *db, const char *cf, uint64_t seq, const void *val,
                            size_t vlen)
{
    unsigned char key[8];

    chio__store_key(seq, key);
    testutil_raw_write(db, cf, key, 8, val, vlen);
}

char *testutil_stored(const char *db, int checkpoint, uint64_t seq, size_t *len)
{
    chio_store *s;
    char *json = NULL;

    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_assert_eq(checkpoint ? chio_store_get_checkpoint(s, seq, &json, len, NULL)
                            : chio_store_get_receipt(s, seq, &json, len, NULL),
                 0);
    chio_store_close(s);
    return json;
}

cli_result testutil_run_scenario_text(const char *dir, const char *json)
{
    char *path;
    cli_result r;

    cr_assert_geq(asprintf(&path, "%s/s.json", dir), 0);
    cr_assert_eq(testutil_write_file(path, json, strlen(json), 0644), 0);
    r = testutil_run_cli((const char *const[]){"scenario", "run", path, NULL}, NULL, 0);
    free(path);
    return r;
}

chio_json_doc *testutil_output_line(const char *out, size_t i)
{
    const char *p = out, *nl;
    chio_json_doc *doc = NULL;

    for (; i > 0 && p != NULL; i--) {
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    if (p == NULL || *p == '\0')
        return NULL;
    nl = strchr(p, '\n');
    if (chio_json_parse(p, nl ? (size_t)(nl - p) : strlen(p), &doc, NULL) != 0)
        return NULL;
    return doc;
}

size_t testutil_stream_chunked(int fd, size_t limit, unsigned ms, int *closed, char **answer)
{
    static char chunk[TESTUTIL_CHUNK_LEN];
    char buf[4096];
    size_t sent = 0, off = 0, alen = 0;
    uint64_t end = testutil_now_ms() + ms;
    struct pollfd pf;
    ssize_t n;

    memcpy(chunk, "10000\r\n", 7);
    memset(chunk + 7, ' ', 65536);
    memcpy(chunk + 7 + 65536, "\r\n", 2);
    *closed = 0;
    *answer = calloc(1, 1);
    cr_assert_not_null(*answer);
    cr_assert_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
    while (sent < limit && testutil_now_ms() < end) {
        pf.fd = fd;
        pf.events = POLLIN | POLLOUT;
        pf.revents = 0;
        if (poll(&pf, 1, 100) <= 0)
            continue;
        if (pf.revents & (POLLIN | POLLHUP | POLLERR)) {
            n = recv(fd, buf, sizeof(buf), 0);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                *closed = 1;
                break;
            }
            if (n > 0 && alen < 4096) {
                char *p = realloc(*answer, alen + (size_t)n + 1);

                cr_assert_not_null(p);
                memcpy(p + alen, buf, (size_t)n);
                alen += (size_t)n;
                p[alen] = '\0';
                *answer = p;
            }
        }
        if (pf.revents & POLLOUT) {
            n = send(fd, chunk + off, TESTUTIL_CHUNK_LEN - off, MSG_NOSIGNAL);
            if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
                *closed = 1;
                break;
            }
            if (n > 0) {
                sent += (size_t)n;
                off = (off + (size_t)n) % TESTUTIL_CHUNK_LEN;
            }
        }
    }
    return sent;
}

const char *testutil_private_tmpfs(const char *mnt, const char *size)
{
    char opts[32];

    if (geteuid() != 0)
        return "needs root to mount a size-limited tmpfs";
    if (unshare(CLONE_NEWNS) != 0)
        return "cannot make a mount namespace (unshare)";
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return "cannot make the mount namespace private";
    snprintf(opts, sizeof(opts), "size=%s", size);
    if (mount("tmpfs", mnt, "tmpfs", 0, opts) != 0)
        return "cannot mount a tmpfs";
    return NULL;
}

void testutil_fill_fs(const char *path)
{
    static char block[4096];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    cr_assert_geq(fd, 0);
    memset(block, 'f', sizeof(block));
    while (write(fd, block, sizeof(block)) == (ssize_t)sizeof(block))
        ;
    while (write(fd, block, 1) == 1)
        ;
    close(fd);
}

void testutil_write_head(const char *db, const char *seed_hex, uint64_t last, uint64_t cp)
{
    chio__log_head h;
    chio_keypair *kp;
    chio_store *s;
    char *json = NULL;
    size_t len = 0;

    memset(&h, 0, sizeof(h));
    h.last_seq = last;
    h.chain_from = 1;
    h.checkpoint_seq = cp;
    h.time = 2000;
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_assert_eq(chio__store_get_chain(s, last, h.chain, NULL), 0);
    chio_store_close(s);
    cr_assert_eq(chio_keypair_from_seed_hex(seed_hex, 64, &kp, NULL), 0);
    cr_assert_eq(chio__log_head_sign(kp, &h, &json, &len), 0);
    chio_keypair_free(kp);
    testutil_raw_write(db, "default", CHIO__META_LOG_HEAD, strlen(CHIO__META_LOG_HEAD), json, len);
    free(json);
}
