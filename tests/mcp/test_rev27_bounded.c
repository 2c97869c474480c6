/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/mcp/test_rev27_bounded.c - the gateway's per-session state stays
 * bounded under a client's floods: requests it passes to the wrapped
 * server (ping, the lists, completion) wait in a table of at most
 * CHIO__MCP_MAX_PASSED_REQUESTS; past it a request is refused (-32603,
 * data.chio.code "limit_reached") with a deny receipt; a passed request
 * the client cancels leaves the table at once (a server does not answer
 * a cancelled request, as MCP asks, so it stayed forever); and a
 * mediated call refused past CHIO__MCP_MAX_WORKERS leaves a receipt too;
 * the server's nested requests (sampling) queued for a call wait in a
 * queue of at most CHIO__MCP_MAX_NESTED_QUEUED, past it refused at once;
 * and the line reader frees the buffer of a long line once it is handled.
 * A gateway over an ephemeral kernel whose client and server are
 * callbacks; the fake server answers initialize and the lists at once and
 * never answers ping or tools/call (the test answers those itself).
 * Suite mcp_bounded.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/poll.h"
#include "mcp/gateway_internal.h"
#include "mcp/http_internal.h"
#include "mcp/mcp.h"
#include "mcp/mcp_internal.h"

static const char policy[] =
    "{\"schema\":\"chio.mcp-policy.v1\",\"server_id\":\"s\",\"grants\":[{\"server_id\":\"s\","
    "\"tool_name\":\"echo\",\"operations\":[\"invoke\"]}],\"kernel\":{\"allow_sampling\":true}}";

/* What each side got: counts, and the last short line of the client. */
static struct {
    pthread_mutex_t mu;
    int limit_errors;    /* client: -32603 limit_reached refusals */
    int results;         /* client: answers with a result */
    int server_requests; /* server: held requests (ping, tools/call) */
    int server_cancels;  /* server: notifications/cancelled */
    char last_held[64];  /* server: the id of the last held request */
    char last_limit[1024];
    int client_samplings; /* client: sampling requests (never answered) */
    int server_errors;    /* server: errors answering its own requests */
} seen = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0, "", "", 0, 0};

static chio_mcp_gateway *gw;
static chio_mcp_policy *pol;
static chio_kernel *kern;

static int to_client(void *user, const char *line, size_t len)
{
    (void)user;
    pthread_mutex_lock(&seen.mu);
    if (memmem(line, len, "\"sampling/createMessage\"", 24) != NULL) {
        seen.client_samplings++;
    } else if (memmem(line, len, "limit_reached", 13) != NULL) {
        seen.limit_errors++;
        if (len < sizeof(seen.last_limit))
            snprintf(seen.last_limit, sizeof(seen.last_limit), "%.*s", (int)len, line);
    } else if (memmem(line, len, "\"result\":", 9) != NULL) {
        seen.results++;
    }
    pthread_mutex_unlock(&seen.mu);
    return 0;
}

static int to_server(void *user, const char *line, size_t len)
{
    chio_json_doc *doc = NULL;
    const chio_json *root;
    const char *method, *id;
    char out[512] = "";

    (void)user;
    if (chio_json_parse(line, len, &doc, NULL) != 0)
        return 0;
    root = chio_json_root(doc);
    method = chio_json_string(chio_json_get(root, "method"), NULL);
    id = chio_json_string(chio_json_get(root, "id"), NULL);
    pthread_mutex_lock(&seen.mu);
    if (method == NULL && chio_json_get(root, "error") != NULL)
        seen.server_errors++;
    if (method != NULL && strcmp(method, "notifications/cancelled") == 0)
        seen.server_cancels++;
    if (method != NULL && id != NULL &&
        (strcmp(method, "ping") == 0 || strcmp(method, "tools/call") == 0)) {
        seen.server_requests++;
        snprintf(seen.last_held, sizeof(seen.last_held), "%s", id);
    } else if (method != NULL && id != NULL && strcmp(method, "tools/list") == 0) {
        snprintf(out, sizeof(out),
                 "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"result\":{\"tools\":[{\"name\":"
                 "\"echo\"}]}}",
                 id);
    } else if (method != NULL && id != NULL) {
        snprintf(out, sizeof(out), "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"result\":{}}", id);
    }
    pthread_mutex_unlock(&seen.mu);
    chio_json_doc_free(doc);
    if (out[0] != '\0')
        chio_mcp_gateway_server_line(gw, out, strlen(out));
    return 0;
}

static int get(int *field)
{
    int v;

    pthread_mutex_lock(&seen.mu);
    v = *field;
    pthread_mutex_unlock(&seen.mu);
    return v;
}

static void client(const char *json)
{
    chio_mcp_gateway_client_line(gw, json, strlen(json));
}

static uint64_t signed_receipts(void)
{
    chio_kernel_metrics m;

    cr_assert_eq(chio_kernel_metrics_get(kern, &m), 0);
    return m.receipts_signed;
}

/* Resident memory in bytes (/proc/self/statm, second field). */
static long long rss_bytes(void)
{
    long long pages = 0, size = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f == NULL)
        return -1;
    if (fscanf(f, "%lld %lld", &size, &pages) != 2)
        pages = -1;
    fclose(f);
    return pages * sysconf(_SC_PAGESIZE);
}

/* A ping whose id is a string of @idlen bytes ending in @n. */
static void big_ping(char *buf, size_t idlen, int n)
{
    int h = snprintf(buf, 64, "{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":\"");

    memset(buf + h, 'x', idlen);
    snprintf(buf + h + idlen - 8, 32, "%08d\"}", n);
}

static void setup(void)
{
    chio_keypair *kp = NULL;

    memset(seen.last_held, 0, sizeof(seen.last_held));
    seen.limit_errors = seen.results = seen.server_requests = seen.server_cancels = 0;
    seen.client_samplings = seen.server_errors = 0;
    cr_assert_eq(chio_mcp_policy_parse(policy, strlen(policy), &pol, NULL), 0);
    cr_assert_eq(chio_keypair_generate(&kp, NULL), 0);
    cr_assert_eq(chio_mcp_kernel_new(pol, kp, NULL, &kern, NULL), 0);
    cr_assert_eq(chio_mcp_gateway_new(pol, kern, to_client, to_server, NULL, &gw), 0);
    client("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}");
    cr_assert_eq(get(&seen.results), 1);
}

static void teardown(void)
{
    chio_mcp_gateway_server_closed(gw);
    chio_mcp_gateway_client_closed(gw);
    chio_mcp_gateway_free(gw);
    cr_expect_eq(chio_kernel_drain(kern, NULL), 0);
    chio_kernel_free(kern);
    chio_mcp_policy_free(pol);
}

TestSuite(mcp_bounded, .init = setup, .fini = teardown);

Test(mcp_bounded, passed_requests_the_server_never_answers_are_bounded)
{
    enum { IDLEN = 16 * 1024, EXTRA = 8 };
    char *line = malloc(IDLEN + 128), answer[160];
    long long before, grown;
    uint64_t receipts;
    int i, n = 3 * CHIO__MCP_MAX_PASSED_REQUESTS;

    cr_assert_not_null(line);
    before = rss_bytes();
    receipts = signed_receipts();
    /* The client floods pings with 16 KiB ids; the server answers none. */
    for (i = 0; i < n; i++) {
        big_ping(line, IDLEN, i);
        client(line);
    }
    grown = rss_bytes() - before;
    cr_assert_eq(get(&seen.server_requests), CHIO__MCP_MAX_PASSED_REQUESTS,
                 "the server got %d pings, not the table's %d", get(&seen.server_requests),
                 CHIO__MCP_MAX_PASSED_REQUESTS);
    cr_assert_eq(get(&seen.limit_errors), n - CHIO__MCP_MAX_PASSED_REQUESTS);
    /* Every refusal leaves a receipt, committed before the answer. */
    cr_assert_eq(signed_receipts() - receipts, (uint64_t)(n - CHIO__MCP_MAX_PASSED_REQUESTS));
#ifndef __SANITIZE_ADDRESS__
    /* The table holds at most 1024 ids of 16 KiB (16 MiB); 3072 kept
     * were 48 MiB. */
    cr_assert_lt(grown, 32ll << 20, "RSS grew %lld bytes", grown);
#else
    (void)grown;
#endif
    /* The server answers one: its slot is free for the next request. */
    snprintf(answer, sizeof(answer), "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"result\":{}}",
             seen.last_held);
    chio_mcp_gateway_server_line(gw, answer, strlen(answer));
    cr_assert_eq(get(&seen.results), 2);
    for (i = 0; i < EXTRA; i++)
        client("{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":\"after\"}");
    cr_assert_eq(get(&seen.server_requests), CHIO__MCP_MAX_PASSED_REQUESTS + 1);
    cr_assert_eq(get(&seen.limit_errors), n - CHIO__MCP_MAX_PASSED_REQUESTS + EXTRA - 1);
    /* The refusal names its bound and its receipt. */
    pthread_mutex_lock(&seen.mu);
    cr_assert(strstr(seen.last_limit, "\"id\":\"after\"") != NULL, "%s", seen.last_limit);
    cr_assert(strstr(seen.last_limit, "\"code\":-32603") != NULL, "%s", seen.last_limit);
    cr_assert(strstr(seen.last_limit, "\"code\":\"limit_reached\",\"receipt_id\":") != NULL, "%s",
              seen.last_limit);
    pthread_mutex_unlock(&seen.mu);
    free(line);
}

Test(mcp_bounded, a_passed_request_the_client_cancels_leaves_the_table)
{
    enum { IDLEN = 16 * 1024 };
    char *line = malloc(IDLEN + 128), *cancel = malloc(IDLEN + 256), answer[160];
    long long before, grown;
    int i, n = 3 * CHIO__MCP_MAX_PASSED_REQUESTS;

    cr_assert_not_null(line);
    before = rss_bytes();
    /* Each ping is cancelled; the server, as MCP asks, answers none. */
    for (i = 0; i < n; i++) {
        big_ping(line, IDLEN, i);
        client(line);
        snprintf(cancel, IDLEN + 256,
                 "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{"
                 "\"requestId\":%s}}",
                 strstr(line, "\"id\":") + 5);
        cancel[strlen(cancel) - 3] = '\0'; /* the ping's own closing brace */
        strcat(cancel, "}}");
        client(cancel);
    }
    grown = rss_bytes() - before;
    cr_assert_eq(get(&seen.server_requests), n);
    cr_assert_eq(get(&seen.server_cancels), n);
    cr_assert_eq(get(&seen.limit_errors), 0, "a cancelled request still held its slot");
#ifndef __SANITIZE_ADDRESS__
    /* Nothing of the cancelled requests is kept: 3072 ids of 16 KiB
     * were 48 MiB. */
    cr_assert_lt(grown, 16ll << 20, "RSS grew %lld bytes", grown);
#else
    (void)grown;
#endif
    /* A late answer to a cancelled request reaches no client. */
    snprintf(answer, sizeof(answer), "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"result\":{}}",
             seen.last_held);
    chio_mcp_gateway_server_line(gw, answer, strlen(answer));
    cr_assert_eq(get(&seen.results), 1);
    free(line);
    free(cancel);
}

/* The tools/call worker threads of the gateway still running. */
static size_t workers(void)
{
    size_t n;

    pthread_mutex_lock(&gw->mu);
    n = gw->nworkers;
    pthread_mutex_unlock(&gw->mu);
    return n;
}

/* For testutil_wait_until: every worker's call reached the server. */
static int all_calls_held(void *arg)
{
    (void)arg;
    return get(&seen.server_requests) == CHIO__MCP_MAX_WORKERS;
}

Test(mcp_bounded, a_call_refused_past_the_worker_cap_leaves_a_receipt)
{
    char line[160];
    uint64_t receipts;
    int i;

    /* CHIO__MCP_MAX_WORKERS calls the server never answers. */
    for (i = 0; i < CHIO__MCP_MAX_WORKERS; i++) {
        snprintf(line, sizeof(line),
                 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{\"name\":"
                 "\"echo\",\"arguments\":{}}}",
                 100 + i);
        client(line);
    }
    cr_assert(testutil_wait_until(all_calls_held, NULL, 10000), "the server got %d calls",
              get(&seen.server_requests));
    receipts = signed_receipts();
    client("{\"jsonrpc\":\"2.0\",\"id\":\"one-too-many\",\"method\":\"tools/call\",\"params\":{"
           "\"name\":\"echo\",\"arguments\":{}}}");
    cr_assert_eq(get(&seen.limit_errors), 1);
    cr_assert_eq(signed_receipts() - receipts, 1, "the refusal left no receipt");
    pthread_mutex_lock(&seen.mu);
    cr_assert(strstr(seen.last_limit, "\"id\":\"one-too-many\"") != NULL, "%s", seen.last_limit);
    cr_assert(strstr(seen.last_limit, "receipt_id") != NULL, "%s", seen.last_limit);
    pthread_mutex_unlock(&seen.mu);
    cr_assert_eq(workers(), CHIO__MCP_MAX_WORKERS);
}

/* For testutil_wait_until: the one call reached the server. */
static int one_call_held(void *arg)
{
    (void)arg;
    return get(&seen.server_requests) == 1;
}

/* For testutil_wait_until: the client got the first sampling request. */
static int one_sampling_sent(void *arg)
{
    (void)arg;
    return get(&seen.client_samplings) == 1;
}

Test(mcp_bounded, nested_requests_queued_for_a_call_are_bounded)
{
    enum { PAD = 16 * 1024 };
    char *line = malloc(PAD + 512);
    long long before, grown;
    int i, h, n = 2000;

    cr_assert_not_null(line);
    client("{\"jsonrpc\":\"2.0\",\"id\":500,\"method\":\"tools/call\",\"params\":{\"name\":"
           "\"echo\",\"arguments\":{}}}");
    cr_assert(testutil_wait_until(one_call_held, NULL, 10000), "the call never reached the server");
    /* The server asks for a sampling from inside the call; the kernel
     * allows it, the client is asked and never answers: the call's
     * thread waits on it and takes no further nested request. */
    before = rss_bytes();
    for (i = 0; i <= n; i++) {
        h = snprintf(line, 512,
                     "{\"jsonrpc\":\"2.0\",\"id\":\"s-%d\",\"method\":\"sampling/createMessage\","
                     "\"params\":{\"maxTokens\":10,\"messages\":[{\"role\":\"user\",\"content\":{"
                     "\"type\":\"text\",\"text\":\"hi\"}}],\"systemPrompt\":\"",
                     i);
        memset(line + h, 'p', PAD);
        strcpy(line + h + PAD, "\"}}");
        chio_mcp_gateway_server_line(gw, line, strlen(line));
        if (i == 0)
            cr_assert(testutil_wait_until(one_sampling_sent, NULL, 10000),
                      "the client never got the first sampling request");
    }
    grown = rss_bytes() - before;
    /* The queue holds CHIO__MCP_MAX_NESTED_QUEUED; each later one is
     * answered with an error at once. */
    cr_assert_eq(get(&seen.server_errors), n - CHIO__MCP_MAX_NESTED_QUEUED,
                 "%d of %d nested requests refused", get(&seen.server_errors), n);
#ifndef __SANITIZE_ADDRESS__
    /* 2000 queued requests of 16 KiB were 32 MiB (and 64 MiB lines each
     * had no bound at all). */
    cr_assert_lt(grown, 16ll << 20, "RSS grew %lld bytes", grown);
#else
    (void)grown;
#endif
    free(line);
}

/* ---- the line reader's buffer --------------------------------------------------------- */

static size_t long_line_len;

static void note_line(chio_mcp_gateway *g, const char *line, size_t len)
{
    (void)g;
    (void)line;
    if (len > long_line_len)
        long_line_len = len;
}

/* Writes @arg's bytes to the pipe's write end, then closes it. */
typedef struct feed {
    int fd;
    const char *p;
    size_t len;
} feed;

static void *feeder(void *arg)
{
    feed *f = arg;
    size_t off = 0;
    ssize_t n;

    while (off < f->len && (n = write(f->fd, f->p + off, f->len - off)) > 0)
        off += (size_t)n;
    close(f->fd);
    return NULL;
}

Test(mcp_bounded, the_line_reader_lets_go_of_a_long_lines_buffer)
{
    enum { LONG = 8 << 20 };
    chio__mcp_reader r = {0};
    char *text = malloc(LONG + 64);
    pthread_t t;
    feed f;
    int fds[2];
    size_t cap_after_long = 0;

    cr_assert_not_null(text);
    /* One line of 8 MiB (a JSON string), then a short one. */
    text[0] = '"';
    memset(text + 1, 'l', LONG - 2);
    text[LONG - 1] = '"';
    strcpy(text + LONG, "\n{}\n");
    cr_assert_eq(pipe(fds), 0);
    f.fd = fds[1];
    f.p = text;
    f.len = strlen(text);
    long_line_len = 0;
    cr_assert_eq(pthread_create(&t, NULL, feeder, &f), 0);
    while (chio__mcp_read_lines(&r, fds[0], gw, note_line) == 1)
        if (long_line_len == LONG && cap_after_long == 0)
            cap_after_long = r.cap + 1; /* + 1: 0 means not seen yet */
    pthread_join(t, NULL);
    close(fds[0]);
    cr_assert_eq(long_line_len, LONG);
    /* The reader kept the 8 MiB buffer for the rest of its life (one per
     * wrapped server, per HTTP session; up to 64 MiB each). */
    cr_assert_leq(cap_after_long - 1, (size_t)1 << 20, "the reader keeps %zu bytes",
                  cap_after_long - 1);
    free(r.buf);
    free(text);
}

/* ---- the wrapped server's stop ------------------------------------------------------ */

static chio__mcp_child helper_child;
static int stop_returned;

static void *stopper(void *arg)
{
    (void)arg;
    chio__mcp_child_stop(&helper_child);
    __atomic_store_n(&stop_returned, 1, __ATOMIC_RELEASE);
    return NULL;
}

Test(mcp_bounded, a_server_whose_helper_keeps_its_output_open_still_stops)
{
    /* The server (cat) exits when its input closes; a helper it started
     * (as a shell wrapper or npx may) keeps its stdout open 6 s more. */
    char *const argv[] = {"/bin/sh", "-c", "sleep 6 2>/dev/null & exec cat", NULL};
    pthread_t t;
    int stopped;

    stop_returned = 0;
    cr_assert_eq(chio__mcp_child_spawn(&helper_child, argv), 0);
    cr_assert_eq(chio__mcp_child_start(&helper_child, gw, NULL, NULL), 0);
    cr_assert_eq(pthread_create(&t, NULL, stopper, NULL), 0);
    /* The stop waited for the end of the output, which the helper held:
     * an HTTP session's teardown hung, its slot, thread and pipe kept
     * until the helper exited (never, for one that lives on). */
    stopped = testutil_wait_until(testutil_flag_set, &stop_returned, 4000);
    pthread_join(t, NULL);
    cr_assert(stopped, "the stop waited for the helper holding the server's output");
}

/* For testutil_wait_until: the gateway saw its server's end. */
static int server_closed(void *arg)
{
    (void)arg;
    return chio_mcp_gateway_server_is_closed(gw);
}

Test(mcp_bounded, a_server_that_exits_while_its_helper_holds_its_output_is_seen_gone)
{
    /* The server (head) exits after one byte of input; its helper keeps
     * its stdout open 6 s more. */
    char *const argv[] = {"/bin/sh", "-c", "sleep 6 2>/dev/null & exec head -c 1 >/dev/null", NULL};
    int gone;

    cr_assert_eq(chio__mcp_child_spawn(&helper_child, argv), 0);
    cr_assert_eq(chio__mcp_child_start(&helper_child, gw, NULL, NULL), 0);
    cr_assert_eq(chio__mcp_child_send(&helper_child, "{}", 2), 0);
    /* The gateway learnt of the exit from the end of the output only:
     * its calls waited on a server that was gone, as long as the helper
     * lived (for ever, for one that lives on). */
    gone = testutil_wait_until(server_closed, NULL, 4000);
    chio__mcp_child_stop(&helper_child);
    cr_assert(gone, "the server's exit went unseen while its helper held the output");
}

Test(mcp_bounded, a_server_request_the_server_cancels_leaves_the_table)
{
    char line[160];
    int i;

    /* The server pings the client and, the client being slow, cancels
     * each ping (as an SDK's request timeout does); MCP's client then
     * does not answer. Each ping's note waited for an answer for good:
     * past 1024, every request of the server to the client was refused. */
    for (i = 0; i < CHIO__MCP_MAX_SERVER_REQUESTS + 10; i++) {
        snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"id\":\"p-%d\",\"method\":\"ping\"}",
                 i);
        chio_mcp_gateway_server_line(gw, line, strlen(line));
        snprintf(line, sizeof(line),
                 "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{"
                 "\"requestId\":\"p-%d\"}}",
                 i);
        chio_mcp_gateway_server_line(gw, line, strlen(line));
    }
    cr_assert_eq(get(&seen.server_errors), 0, "%d of the server's pings were refused",
                 get(&seen.server_errors));
}

/* ---- the HTTP transport's closed streams ---------------------------------------------- */

Test(mcp_bounded, a_stream_closed_for_a_slow_client_lets_go_of_its_queue)
{
    static char *const cat_argv[] = {"cat", NULL};
    enum { STREAMS = 6 };
    httpd h;
    hsess *s = NULL;
    stream *st[STREAMS];
    svc_buf line = {0};
    char id[33];
    long long before, grown;
    size_t held = 0;
    int full = 0, conflict = 0, i, j;

    memset(&h, 0, sizeof(h));
    h.pol = pol;
    h.argv = cat_argv;
    h.max_sessions = 1;
    h.idle_secs = 3600;
    cr_assert_eq(chio_mcp_hub_new(pol, kern, &h.hub), 0);
    cr_assert_eq(chio__mcp_sess_init(&h), 0);
    cr_assert_eq(chio__mcp_sess_create(&h, &s, &full), 0);
    memcpy(id, s->id, sizeof(id));
    chio__mcp_sess_release(s);
    svc_buf_puts(&line, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\","
                        "\"params\":{\"level\":\"info\",\"data\":\"");
    for (i = 0; i < 65536; i++)
        svc_buf_puts(&line, "x");
    svc_buf_puts(&line, "\"}}");
    cr_assert(!line.oom);
    before = rss_bytes();
    /* A client opens the GET stream and never reads; the server's
     * messages fill it past its cap, it is closed, and the client opens
     * another. Each closed stream's response (held by libmicrohttpd
     * until the unread connection goes, up to its 600 s idle timeout)
     * kept its 8 MiB queue. */
    for (i = 0; i < STREAMS; i++) {
        s = chio__mcp_sess_find(&h, id);
        cr_assert_not_null(s);
        st[i] = chio__mcp_stream_open(s, 1, NULL, NULL, &conflict);
        chio__mcp_sess_release(s);
        cr_assert_not_null(st[i], "stream %d", i);
        for (j = 0; j < (int)(CHIO__MCP_STREAM_QUEUE / 65536) + 4; j++)
            chio_mcp_gateway_server_line(s->g, line.p, line.len);
        pthread_mutex_lock(&h.mu);
        cr_assert(st[i]->closed, "stream %d was not closed", i);
        held += st[i]->queued;
        pthread_mutex_unlock(&h.mu);
    }
    grown = rss_bytes() - before;
    cr_expect_eq(held, 0, "closed streams hold %zu bytes queued", held);
#ifndef __SANITIZE_ADDRESS__
    cr_expect_lt(grown, 16ll << 20, "RSS grew %lld bytes", grown);
#else
    (void)grown;
#endif
    for (i = 0; i < STREAMS; i++) {
        cr_expect_eq(chio__mcp_stream_read(st[i], id, 8), -1);
        chio__mcp_stream_release(st[i]);
    }
    chio__mcp_sess_shutdown(&h);
    chio__mcp_sess_fini(&h);
    chio_mcp_hub_free(h.hub);
    free(line.p);
}
