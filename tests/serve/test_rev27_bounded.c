/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/serve/test_rev27_bounded.c - the sidecar's table of minted tokens
 * does not fill for good: a sidecar that mints short-lived tokens (one
 * per task, the usual way) kept every one until it restarted, so after
 * CHIO_SERVE_MAX_SESSIONS mints every later mint was 503 limit_reached.
 * Expired tokens now give their slots back when the table is full; a
 * full table of unexpired tokens still refuses (503, limit_reached). The
 * same for the cache of one kernel session per token: the sessions of
 * expired tokens (each holding its parsed token) were kept for good.
 * And the receipt store's open table files stay at its cap as the store
 * grows: RocksDB split its table cache into 64 shards, each keeping at
 * least one file open, so a sidecar's fds grew with its store far past
 * the cap (20 with a store of 28 table files, 41 with 89).
 * The serve layer in-process (chio_serve_handle(), the routes as the HTTP
 * layer calls them): no sockets, so that the 65536 mints take seconds.
 * Suite serve_bounded (an ephemeral kernel), serve_store (one on disk).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/poll.h"
#include "serve/serve.h"
#include "serve/serve_internal.h"

#define BEARER  "Bearer rev27-bounded-bearer-token"
#define SUBJECT "0000000000000000000000000000000000000000000000000000000000000000"
#define SCOPE   "{\"grants\":[{\"server_id\":\"s\",\"tool_name\":\"t\",\"operations\":[\"invoke\"]}]}"

static chio_serve *srv;

static void setup(void)
{
    chio_serve_config cfg;
    chio_keypair *kp = NULL;
    chio_error err;

    cr_assert_eq(chio_keypair_generate(&kp, NULL), 0);
    memset(&cfg, 0, sizeof(cfg));
    cfg.keypair = kp;
    cfg.nosync = 1;
    cfg.bearer_token = BEARER + 7;
    cfg.quiet = 1;
    chio_error_init(&err);
    cr_assert_eq(chio_serve_new(&cfg, &srv, &err), 0, "%s", err.message);
}

static void teardown(void)
{
    chio_serve_free(srv);
}

TestSuite(serve_bounded, .init = setup, .fini = teardown);

/* POST @path with @body; the status, the reply's body in @text (when
 * not NULL, the caller frees it). */
static unsigned post(const char *path, const char *body, char **text)
{
    chio_serve_request rq;
    chio_serve_reply rep;

    memset(&rq, 0, sizeof(rq));
    memset(&rep, 0, sizeof(rep));
    rq.method = "POST";
    rq.path = path;
    rq.authorization = BEARER;
    rq.body = body;
    rq.body_len = strlen(body);
    chio_serve_handle(srv, &rq, &rep);
    if (text != NULL)
        *text = rep.body != NULL ? strndup(rep.body, rep.body_len) : strdup("");
    free(rep.body);
    return rep.status;
}

/* Mint a token for tool s:t living @ttl seconds, id @id (NULL: a random
 * one); the status, the reply in @text as for post(). */
static unsigned mint(unsigned ttl, const char *id, char **text)
{
    char body[512];

    snprintf(body, sizeof(body),
             "{\"subject\":\"%064d\",\"scope\":{\"grants\":[{\"server_id\":\"s\",\"tool_name\":"
             "\"t\",\"operations\":[\"invoke\"]}]},\"ttl_secs\":%u%s%s%s}",
             0, ttl, id ? ",\"id\":\"" : "", id ? id : "", id ? "\"" : "");
    return post("/v1/capabilities/mint", body, text);
}

Test(serve_bounded, expired_minted_tokens_give_their_slots_back)
{
    uint64_t deadline;
    unsigned st = 0;
    char *text = NULL;
    int i;

    /* A long-lived token first: it must survive the sweeps below. */
    cr_assert_eq(mint(3600, "kept-one", NULL), 200);
    for (i = 1; i < CHIO_SERVE_MAX_SESSIONS; i++)
        cr_assert_eq(st = mint(1, NULL, NULL), 200, "mint %d: %u", i, st);
    /* The table is full; once the short-lived tokens expire (within two
     * seconds of their mint), a mint succeeds again. The old table kept
     * them: every mint was 503 until a restart. */
    deadline = testutil_now_ms() + 5000;
    do {
        st = mint(3600, NULL, NULL);
        if (st != 200)
            testutil_nap_ms(50);
    } while (st != 200 && testutil_now_ms() < deadline);
    cr_assert_eq(st, 200, "a full table of expired tokens still refused a mint (%u)", st);
    /* The long-lived token is still known by its id. */
    cr_assert_eq(post("/v1/evaluate",
                      "{\"capability_id\":\"kept-one\",\"tool_server\":\"s\",\"tool_name\":\"t\","
                      "\"parameters\":{}}",
                      &text),
                 200, "%s", text);
    cr_assert(strstr(text, "\"verdict\":\"allow\"") != NULL, "%s", text);
    free(text);
}

/* The cached sessions, read under the sidecar's lock. */
static size_t cached_sessions(void)
{
    size_t n;

    pthread_mutex_lock(&srv->mu);
    n = srv->nsessions;
    pthread_mutex_unlock(&srv->mu);
    return n;
}

/* Evaluate a call with the minted token @id; the verdict must be
 * @verdict. */
static void evaluate_by_id(const char *id, const char *verdict)
{
    char body[512], *text = NULL, want[64];

    snprintf(body, sizeof(body),
             "{\"capability_id\":\"%s\",\"tool_server\":\"s\",\"tool_name\":\"t\","
             "\"parameters\":{}}",
             id);
    snprintf(want, sizeof(want), "\"verdict\":\"%s\"", verdict);
    cr_assert_eq(post("/v1/evaluate", body, &text), 200, "%s", text);
    cr_assert(strstr(text, want) != NULL, "%s: %s", id, text);
    free(text);
}

/* Tokens "short-N" (N in [from, to)) of the sidecar's key, living one
 * second, each given a cached session; on any thread (no assertions). */
typedef struct fill_job {
    int from, to;
    int failed;
    uint64_t last_expiry;
    char why[320];
} fill_job;

static void *fill_sessions(void *arg)
{
    fill_job *j = arg;
    int i;

    for (i = j->from; i < j->to && !j->failed; i++) {
        char id[32], sid[CHIO_SESSION_ID_LEN + 1], *capid = NULL;
        const char *tok;
        chio_capability *cap = NULL;
        size_t len = 0;
        int oneoff = 1;
        chio_error err;

        snprintf(id, sizeof(id), "short-%d", i);
        chio_error_init(&err);
        if (chio_kernel_issue_capability(srv->k, id, SUBJECT, SCOPE, strlen(SCOPE), 0, 1, &cap,
                                         &err) != 0) {
            j->failed = 1;
            snprintf(j->why, sizeof(j->why), "issue %d: %s", i, err.message);
            break;
        }
        tok = chio_capability_json(cap, &len);
        if (chio__sv_session_for(srv, tok, len, id, sid, &oneoff, &capid, &err) != 0 || oneoff) {
            j->failed = 1;
            snprintf(j->why, sizeof(j->why), "token %d got no cached session: %s", i, err.message);
        } else {
            chio__sv_session_done(srv, capid);
        }
        if (chio_capability_expires_at(cap) > j->last_expiry)
            j->last_expiry = chio_capability_expires_at(cap);
        free(capid);
        chio_capability_free(cap);
    }
    return NULL;
}

Test(serve_bounded, the_sessions_of_expired_tokens_leave_the_cache)
{
    uint64_t deadline, last_expiry = 0;
    int i;

    /* A long-lived token first: its session must survive the sweep. */
    cr_assert_eq(mint(3600, "kept-one", NULL), 200);
    evaluate_by_id("kept-one", "allow");
    /* Short-lived tokens of the sidecar's key, each given a cached
     * session as evaluate gives one (the layer's own call: 65535
     * evaluations would take a minute), on two threads. */
    {
        fill_job jobs[2] = {{1, CHIO_SERVE_MAX_SESSIONS / 2, 0, 0, ""},
                            {CHIO_SERVE_MAX_SESSIONS / 2, CHIO_SERVE_MAX_SESSIONS, 0, 0, ""}};
        pthread_t t;

        cr_assert_eq(pthread_create(&t, NULL, fill_sessions, &jobs[1]), 0);
        fill_sessions(&jobs[0]);
        pthread_join(t, NULL);
        for (i = 0; i < 2; i++)
            cr_assert_eq(jobs[i].failed, 0, "%s", jobs[i].why);
        last_expiry =
            jobs[0].last_expiry > jobs[1].last_expiry ? jobs[0].last_expiry : jobs[1].last_expiry;
    }
    cr_assert_eq(cached_sessions(), CHIO_SERVE_MAX_SESSIONS);
    /* Once they all expired, the next new token sweeps them out. */
    deadline = testutil_now_ms() + 5000;
    while ((uint64_t)time(NULL) < last_expiry && testutil_now_ms() < deadline)
        testutil_nap_ms(10);
    cr_assert_eq(mint(3600, "later", NULL), 200);
    evaluate_by_id("later", "allow");
    cr_assert_eq(cached_sessions(), 2, "%zu sessions still cached", cached_sessions());
    evaluate_by_id("kept-one", "allow");
    evaluate_by_id("later", "allow");
    cr_assert_eq(cached_sessions(), 2);
}

Test(serve_bounded, a_table_full_of_live_tokens_refuses_with_503)
{
    unsigned st = 0;
    char *text = NULL;
    int i;

    for (i = 0; i < CHIO_SERVE_MAX_SESSIONS; i++)
        cr_assert_eq(st = mint(3600, NULL, NULL), 200, "mint %d: %u", i, st);
    cr_assert_eq(mint(3600, NULL, &text), 503, "%s", text);
    cr_assert(strstr(text, "\"code\":\"limit_reached\"") != NULL, "%s", text);
    cr_assert(strstr(text, "unexpired") != NULL, "%s", text);
    free(text);
}

/* ---- the store's open files ----------------------------------------------------------- */

static char store_dir[64];

static void store_setup(void)
{
    chio_serve_config cfg;
    chio_keypair *kp = NULL;
    chio_error err;
    char db[96];

    snprintf(store_dir, sizeof(store_dir), "/tmp/rev27-bounded-XXXXXX");
    cr_assert_not_null(mkdtemp(store_dir));
    snprintf(db, sizeof(db), "%s/db", store_dir);
    cr_assert_eq(chio_keypair_generate(&kp, NULL), 0);
    memset(&cfg, 0, sizeof(cfg));
    cfg.keypair = kp;
    cfg.receipt_db = db;
    cfg.nosync = 1;
    cfg.bearer_token = BEARER + 7;
    cfg.quiet = 1;
    chio_error_init(&err);
    cr_assert_eq(chio_serve_new(&cfg, &srv, &err), 0, "%s", err.message);
}

static void store_teardown(void)
{
    char cmd[128];

    chio_serve_free(srv);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", store_dir);
    cr_expect_eq(system(cmd), 0);
}

/* How many of this process's fds name a file in @dir whose name ends
 * in @suffix (NULL: any file there). */
static int fds_in(const char *dir, const char *suffix)
{
    char link[300], target[512];
    struct dirent *d;
    DIR *fds = opendir("/proc/self/fd");
    size_t dl = strlen(dir), tl;
    ssize_t n;
    int count = 0;

    cr_assert_not_null(fds);
    while ((d = readdir(fds)) != NULL) {
        snprintf(link, sizeof(link), "/proc/self/fd/%s", d->d_name);
        n = readlink(link, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        tl = (size_t)n;
        if (strncmp(target, dir, dl) == 0 && target[dl] == '/' &&
            (suffix == NULL ||
             (tl >= strlen(suffix) && strcmp(target + tl - strlen(suffix), suffix) == 0)))
            count++;
    }
    closedir(fds);
    return count;
}

/* Files in @dir named *@suffix. */
static int files_in(const char *dir, const char *suffix)
{
    struct dirent *d;
    DIR *dd = opendir(dir);
    size_t sl = strlen(suffix), l;
    int count = 0;

    cr_assert_not_null(dd);
    while ((d = readdir(dd)) != NULL) {
        l = strlen(d->d_name);
        count += l >= sl && strcmp(d->d_name + l - sl, suffix) == 0;
    }
    closedir(dd);
    return count;
}

TestSuite(serve_store, .init = store_setup, .fini = store_teardown);

Test(serve_store, the_store_keeps_its_table_files_open_up_to_its_cap)
{
    enum { PARAM = 8 * 1024, TABLES = 40 };
    char *body = malloc(PARAM + 256), *text = NULL, db[96];
    uint64_t deadline = testutil_now_ms() + 60000;
    int h, open_tables, calls = 0;

    cr_assert_not_null(body);
    snprintf(db, sizeof(db), "%s/db", store_dir);
    cr_assert_eq(mint(3600, "writer", NULL), 200);
    h = snprintf(body, PARAM + 256,
                 "{\"capability_id\":\"writer\",\"tool_server\":\"s\",\"tool_name\":\"t\","
                 "\"parameters\":{\"pad\":\"");
    memset(body + h, 'p', PARAM);
    strcpy(body + h + PARAM, "\"}}");
    /* Receipts of 8 KiB parameters until the store holds TABLES table
     * files (a 2 MiB memtable flushes to one). */
    while (files_in(db, ".sst") < TABLES && testutil_now_ms() < deadline) {
        cr_assert_eq(post("/v1/evaluate", body, &text), 200, "%s", text);
        free(text);
        calls++;
    }
    cr_assert_geq(files_in(db, ".sst"), TABLES, "%d table files after %d calls",
                  files_in(db, ".sst"), calls);
    open_tables = fds_in(db, ".sst");
    /* The cap is 20 files, 10 of them for table files; a few more may be
     * held open while in use. */
    cr_assert_leq(open_tables, 12, "%d table files open (of %d), after %d calls", open_tables,
                  files_in(db, ".sst"), calls);
    free(body);
}
