/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export/nats.c - the NATS JetStream transport (transport.h) on the C
 * client libnats: one connection (reconnecting by itself to any server of
 * the cluster), one JetStream context, one stream. Appends are
 * synchronous publishes carrying Nats-Msg-Id (deduplication within the
 * stream's window), Nats-Expected-Last-Subject-Sequence (always, "0" for an
 * empty subject, so an append lands only right after the message the
 * writer last saw), Nats-Expected-Stream, Chio-Seq and Chio-Last-Seq (the
 * run of items the body carries, joined by '\n'). Reads are ordered
 * push consumers (ephemeral, no acks, flow control) bound to the stream;
 * the last message of a subject is a stream "get last by subject"; both
 * hand the caller one item at a time. The stream's state (positions
 * given, messages held) is its stream info.
 * Only this file sees libnats. A handle is used by one thread at a time.
 */
#include <errno.h>
#include <inttypes.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "transport.h"

#define HDR_MSG_ID      "Nats-Msg-Id"
#define HDR_EXPECT_SUBJ "Nats-Expected-Last-Subject-Sequence"
#define HDR_EXPECT_STRM "Nats-Expected-Stream"
#define HDR_ITEM_SEQ    "Chio-Seq"
#define HDR_ITEM_LAST   "Chio-Last-Seq"

/* The JetStream API error codes used here (libnats's names for the server's numbers). */
#define JS_NO_MESSAGE           JSNoMessageFoundErr             /* 10037 */
#define JS_STREAM_IN_USE        JSStreamNameExistErr            /* 10058 */
#define JS_STREAM_NOT_FOUND     JSStreamNotFoundErr             /* 10059 */
#define JS_WRONG_LAST_SEQ       JSStreamWrongLastSequenceErr    /* 10071 */
#define JS_REPLICAS_UNSUPPORTED JSStreamReplicasNotSupportedErr /* 10074 */

#define REQUEST_WAIT_MS 5000  /* one JetStream API request or publish ack */
#define READ_STALL_MS   30000 /* a read gives up after this long without a message */

typedef struct nats_xp {
    chio__xp base; /* first: the generic handle */
    natsConnection *nc;
    natsOptions *opts;
    jsCtx *js;
    char *stream;
    char *urls[16];              /* the servers as given: a read's end is confirmed with each */
    uint64_t url_down_until[16]; /* a server that could not be asked: skip it till then (ms) */
    int nurls;
    uint64_t first; /* the stream's first position held, as its last pattern read began */
} nats_xp;

static nats_xp *nx(chio__xp *t)
{
    return (nats_xp *)t;
}

/* The client's last error for @s, for people: without the "(file.c:123): "
 * of the client's source it starts with, and "" when it only repeats the
 * status text. It quotes what a server sent (an -ERR line, a JetStream
 * error's description), so it is shown the way a log line may carry a
 * peer's text: each control character (C0, DEL, C1) and each byte that is
 * not UTF-8 as '?' (an ESC from the server must not reach a terminal, a
 * newline must not add a line). Per thread, valid until the next call. */
static const char *last_error_detail(natsStatus s)
{
    static _Thread_local char shown[512];
    const char *last = nats_GetLastError(NULL), *p;

    if (last == NULL)
        return "";
    if (last[0] == '(' && (p = strstr(last, "): ")) != NULL)
        last = p + 3;
    if (strcmp(last, natsStatus_GetText(s)) == 0)
        return "";
    chio__xp_shown(shown, sizeof(shown), last);
    return shown;
}

/* A failure's text: the status, the JetStream code and the client's last error. */
static int fail_status(chio__xp *t, int rc, const char *what, natsStatus s, jsErrCode je)
{
    const char *last = last_error_detail(s);

    if (je != 0)
        return chio__xp_fail(t, rc, "%s: %s (JetStream error %d%s%s)", what, natsStatus_GetText(s),
                             (int)je, last[0] ? ": " : "", last);
    return chio__xp_fail(t, rc, "%s: %s%s%s", what, natsStatus_GetText(s), last[0] ? ": " : "",
                         last);
}

/* Connection trouble (retry later) or a refusal (an answer that will not change). */
static int status_code(natsStatus s, jsErrCode je)
{
    if (je == JS_WRONG_LAST_SEQ)
        return CHIO__XP_ECONFLICT;
    if (je == JS_STREAM_NOT_FOUND || je == JS_NO_MESSAGE || s == NATS_NOT_FOUND)
        return CHIO__XP_ENOTFOUND;
    switch (s) {
    case NATS_MAX_PAYLOAD: /* (the client checks it against the server's INFO) */
        return CHIO__XP_ETOOBIG;
    case NATS_TIMEOUT:
        return CHIO__XP_ETIMEOUT;
    case NATS_NO_MEMORY:
        return CHIO__XP_ENOMEM;
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_NO_SERVER:
    case NATS_NO_RESPONDERS:
    case NATS_IO_ERROR:
    case NATS_STALE_CONNECTION:
    case NATS_SLOW_CONSUMER:
        return CHIO__XP_ECONNECT;
    default:
        return CHIO__XP_ESERVER;
    }
}

/* Handles open in this process: the last close also releases the
 * client library's own threads and memory (it starts again on the next
 * open). Counted under handles_mu from before the first library call of
 * an open to after the last of its close, so that one thread's last close
 * never tears the library down under another thread's open (an in-host
 * exporter and a witness check may run at once). */
static pthread_mutex_t handles_mu = PTHREAD_MUTEX_INITIALIZER;
static int open_handles;

static void nats_close(chio__xp *t)
{
    nats_xp *n = nx(t);

    jsCtx_Destroy(n->js);
    natsConnection_Destroy(n->nc);
    natsOptions_Destroy(n->opts);
    free(n->stream);
    for (int i = 0; i < n->nurls; i++)
        free(n->urls[i]);
    free(n);
    pthread_mutex_lock(&handles_mu);
    if (--open_handles == 0)
        nats_CloseAndWait(2000);
    pthread_mutex_unlock(&handles_mu);
}

static int nats_open(const char *urls, const char *stream, int timeout_ms, chio__xp **out,
                     char *why, size_t cap)
{
    nats_xp *n = calloc(1, sizeof(*n));
    const char *list[16];
    char *copy = strdup(urls), *save = NULL, *tok, shown[512];
    jsOptions jo;
    natsStatus s;
    int count = 0, rc = CHIO__XP_ENOMEM;

    if (n == NULL || copy == NULL) {
        free(n);
        n = NULL;
        goto fail;
    }
    pthread_mutex_lock(&handles_mu);
    open_handles++; /* nats_close() counts it down, on every path */
    pthread_mutex_unlock(&handles_mu);
    n->base.ops = &chio__xp_nats;
    n->stream = strdup(stream);
    if (n->stream == NULL)
        goto fail;
    for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        if (count == 16) {
            snprintf(why, cap, "more than 16 server URLs");
            rc = CHIO__XP_EINVAL;
            goto fail;
        }
        list[count] = tok;
        if ((n->urls[count] = strdup(tok)) == NULL)
            goto fail;
        n->nurls = ++count;
    }
    rc = CHIO__XP_EINVAL;
    if (count == 0) {
        snprintf(why, cap, "no server URL");
        goto fail;
    }
    s = natsOptions_Create(&n->opts);
    if (s == NATS_OK)
        s = natsOptions_SetServers(n->opts, list, count);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(n->opts, timeout_ms > 0 ? timeout_ms : 2000);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(n->opts, -1); /* for ever: callers give up */
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(n->opts, 200);
    if (s == NATS_OK)
        s = natsOptions_SetName(n->opts, "chio");
    if (s != NATS_OK) {
        chio__xp_urls_shown(urls, shown, sizeof(shown));
        snprintf(why, cap, "%s: %s", shown, natsStatus_GetText(s));
        goto fail;
    }
    s = natsConnection_Connect(&n->nc, n->opts);
    if (s != NATS_OK) {
        const char *last = last_error_detail(s);
        chio__xp_urls_shown(urls, shown, sizeof(shown));
        snprintf(why, cap, "cannot connect to %s: %s%s%s", shown, natsStatus_GetText(s),
                 last[0] ? ": " : "", last);
        rc = s == NATS_NO_MEMORY ? CHIO__XP_ENOMEM : CHIO__XP_ECONNECT;
        goto fail;
    }
    jsOptions_Init(&jo);
    jo.Wait = REQUEST_WAIT_MS;
    s = natsConnection_JetStream(&n->js, n->nc, &jo);
    if (s != NATS_OK) {
        chio__xp_urls_shown(urls, shown, sizeof(shown));
        snprintf(why, cap, "%s: no JetStream context: %s", shown, natsStatus_GetText(s));
        rc = CHIO__XP_ECONNECT;
        goto fail;
    }
    free(copy);
    *out = &n->base;
    return 0;
fail:
    free(copy);
    if (n != NULL)
        nats_close(&n->base);
    return rc;
}

/* The cluster's size as the client sees it: every server URL it knows,
 * given or announced by the servers (one per cluster member). */
static int known_servers(nats_xp *n)
{
    char **servers = NULL;
    int count = 0, i;

    if (natsConnection_GetServers(n->nc, &servers, &count) != NATS_OK)
        return 1;
    for (i = 0; i < count; i++)
        free(servers[i]);
    free(servers);
    return count;
}

static int nats_ensure_stream(chio__xp *t, const char *const *subjects, size_t nsubjects,
                              int *replicas, int *created)
{
    nats_xp *n = nx(t);
    jsStreamInfo *si = NULL;
    jsStreamConfig sc;
    jsErrCode je = 0;
    natsStatus s;
    int attempt;

    if (created)
        *created = 0;
    for (attempt = 0; attempt < 3; attempt++) {
        s = js_GetStreamInfo(&si, n->js, n->stream, NULL, &je);
        if (s == NATS_OK) {
            if (replicas)
                *replicas = (int)si->Config->Replicas;
            jsStreamInfo_Destroy(si);
            return 0;
        }
        if (je != JS_STREAM_NOT_FOUND && s != NATS_NOT_FOUND)
            return fail_status(t, status_code(s, je), "stream info", s, je);
        jsStreamConfig_Init(&sc);
        sc.Name = n->stream;
        sc.Subjects = (const char **)subjects;
        sc.SubjectsLen = (int)nsubjects;
        sc.Storage = js_FileStorage;
        sc.Retention = js_LimitsPolicy;
        sc.Replicas = known_servers(n) >= 3 ? 3 : 1;
        sc.Duplicates = (int64_t)120 * 1000000000; /* the dedup window: 2 min */
        sc.DenyDelete = true;                      /* an audit log: no single message removed */
        je = 0;
        s = js_AddStream(&si, n->js, &sc, NULL, &je);
        if (s != NATS_OK && je == JS_REPLICAS_UNSUPPORTED) { /* not clustered after all */
            sc.Replicas = 1;
            je = 0;
            s = js_AddStream(&si, n->js, &sc, NULL, &je);
        }
        if (s == NATS_OK) {
            if (replicas)
                *replicas = (int)si->Config->Replicas;
            if (created)
                *created = 1;
            jsStreamInfo_Destroy(si);
            return 0;
        }
        if (je != JS_STREAM_IN_USE) /* another exporter made it meanwhile: look again */
            return fail_status(t, status_code(s, je), "create stream", s, je);
    }
    return chio__xp_fail(t, CHIO__XP_ESERVER, "stream %s: created and missing in turn", n->stream);
}

static int nats_publish(chio__xp *t, const chio__xp_pub *p, uint64_t *position, int *duplicate)
{
    nats_xp *n = nx(t);
    natsMsg *m = NULL;
    jsPubAck *pa = NULL;
    jsPubOptions po;
    jsErrCode je = 0;
    char expect[24], seq[24], last[24];
    natsStatus s;

    *position = 0;
    *duplicate = 0;
    snprintf(expect, sizeof(expect), "%" PRIu64, p->expect_last);
    snprintf(seq, sizeof(seq), "%" PRIu64, p->item_seq);
    snprintf(last, sizeof(last), "%" PRIu64, p->item_last ? p->item_last : p->item_seq);
    s = natsMsg_Create(&m, p->subject, NULL, p->data, (int)p->len);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, HDR_MSG_ID, p->msg_id);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, HDR_EXPECT_SUBJ, expect);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, HDR_EXPECT_STRM, n->stream);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, HDR_ITEM_SEQ, seq);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, HDR_ITEM_LAST, last);
    if (s != NATS_OK) {
        natsMsg_Destroy(m);
        return fail_status(t, status_code(s, 0), "message", s, 0);
    }
    jsPubOptions_Init(&po);
    po.MaxWait = REQUEST_WAIT_MS;
    s = js_PublishMsg(&pa, n->js, m, &po, &je);
    natsMsg_Destroy(m);
    if (s != NATS_OK)
        return fail_status(t, status_code(s, je), p->subject, s, je);
    *position = pa->Sequence;
    *duplicate = pa->Duplicate;
    jsPubAck_Destroy(pa);
    return 0;
}

/* A header's decimal value; 0 when absent, not a number or too large. */
static uint64_t header_u64(natsMsg *m, const char *name)
{
    const char *v = NULL;
    char *end = NULL;
    unsigned long long x;

    if (natsMsgHeader_Get(m, name, &v) != NATS_OK || v == NULL || v[0] < '0' || v[0] > '9')
        return 0;
    errno = 0;
    x = strtoull(v, &end, 10);
    return end && *end == '\0' && errno == 0 ? (uint64_t)x : 0; /* past 2^64 - 1: none */
}

/* Call @fn with each item of @m (position @position): the body split at
 * '\n' into Chio-Last-Seq - Chio-Seq + 1 items; a message whose body does
 * not hold that many (non-empty) items is one item with seq 0. Returns
 * what @fn returned last (stopping at the first non-zero). */
static int deliver(natsMsg *m, uint64_t position, chio__xp_visit_fn fn, void *ctx)
{
    const char *v = NULL, *data, *p, *end, *nl;
    uint64_t first = header_u64(m, HDR_ITEM_SEQ), last = header_u64(m, HDR_ITEM_LAST), n = 0;
    chio__xp_msg out;
    int rc = 0;

    memset(&out, 0, sizeof(out));
    out.subject = natsMsg_GetSubject(m);
    data = natsMsg_GetData(m);
    out.len = (size_t)natsMsg_GetDataLength(m);
    data = data ? data : "";
    out.position = position;
    out.msg_id = natsMsgHeader_Get(m, HDR_MSG_ID, &v) == NATS_OK && v ? v : "";
    v = NULL;
    out.has_expect = natsMsgHeader_Get(m, HDR_EXPECT_SUBJ, &v) == NATS_OK && v != NULL;
    out.expect_last = header_u64(m, HDR_EXPECT_SUBJ);
    /* the run must name as many items as the body holds, none empty */
    end = data + out.len;
    if (out.len > 0 && data[0] != '\n' && end[-1] != '\n' &&
        memmem(data, out.len, "\n\n", 2) == NULL)
        for (n = 1, p = data; (nl = memchr(p, '\n', (size_t)(end - p))) != NULL; p = nl + 1)
            n++;
    if (first == 0 || last < first || n != last - first + 1) {
        out.data = data;
        return fn(ctx, &out); /* malformed: one item, seq 0 */
    }
    out.msg_first = first;
    out.msg_last = last;
    for (p = data; rc == 0 && p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            nl = end;
        out.data = p;
        out.len = (size_t)(nl - p);
        out.item_seq = first++;
        rc = fn(ctx, &out);
    }
    return rc;
}

static int nats_last(chio__xp *t, const char *subject, chio__xp_visit_fn fn, void *ctx)
{
    nats_xp *n = nx(t);
    natsMsg *m = NULL;
    jsErrCode je = 0;
    natsStatus s;
    int rc;

    s = js_GetLastMsg(&m, n->js, n->stream, subject, NULL, &je);
    if (s != NATS_OK)
        return fail_status(t, status_code(s, je), subject, s, je);
    rc = deliver(m, natsMsg_GetSequence(m), fn, ctx);
    natsMsg_Destroy(m);
    return rc;
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void nap_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};

    nanosleep(&ts, NULL);
}

/* NATS subject matching: "*" is one token, a final ">" one or more. */
static int subject_matches(const char *filter, const char *subject)
{
    for (;;) {
        size_t f = strcspn(filter, "."), n = strcspn(subject, ".");

        if (f == 1 && filter[0] == '>')
            return n > 0;
        if (!(f == 1 && filter[0] == '*') && (f != n || strncmp(filter, subject, f) != 0))
            return 0;
        if (filter[f] == '\0' || subject[n] == '\0')
            return filter[f] == subject[n];
        filter += f + 1;
        subject += n + 1;
    }
}

/* Where a read stops: the position of @subject's last message, or for a
 * pattern the stream's last position (the read then takes every message
 * and keeps those matching). Both are answered by the stream leader; a
 * read stops there and not when its consumer has nothing pending, as the
 * consumer may sit on a replica still catching up (a node just
 * restarted). */
static int read_end(nats_xp *n, const char *filter, int pattern, uint64_t *end)
{
    jsStreamInfo *si = NULL;
    natsMsg *m = NULL;
    jsErrCode je = 0;
    natsStatus s;

    *end = 0;
    if (pattern) {
        s = js_GetStreamInfo(&si, n->js, n->stream, NULL, &je);
        if (s == NATS_OK) {
            *end = si->State.LastSeq;
            n->first = si->State.FirstSeq;
        }
        jsStreamInfo_Destroy(si);
    } else {
        s = js_GetLastMsg(&m, n->js, n->stream, filter, NULL, &je);
        if (s == NATS_OK)
            *end = natsMsg_GetSequence(m);
        natsMsg_Destroy(m);
        if (s != NATS_OK && je == JS_NO_MESSAGE)
            return 0;
    }
    return s == NATS_OK ? 0 : fail_status(&n->base, status_code(s, je), filter, s, je);
}

/* A server that could not be connected to is not asked again for this long. */
#define PROBE_BACKOFF_MS 30000

/* Ask the server at @url alone, on a connection of its own, for one
 * answer: @ask with a handle on it; returns what @ask returned, or -1
 * when no connection was made (*@asked stays 0: a server down or
 * unreachable, which costs up to a second). */
static int probe(nats_xp *n, const char *url, int (*ask)(nats_xp *one, void *arg), void *arg,
                 int *asked)
{
    natsOptions *o = NULL;
    natsConnection *nc = NULL;
    jsOptions jo;
    nats_xp one;
    int rc = -1;

    if (natsOptions_Create(&o) != NATS_OK)
        return -1;
    if (natsOptions_SetURL(o, url) == NATS_OK && natsOptions_SetTimeout(o, 1000) == NATS_OK &&
        natsOptions_SetAllowReconnect(o, false) == NATS_OK &&
        natsConnection_Connect(&nc, o) == NATS_OK) {
        *asked = 1;
        memset(&one, 0, sizeof(one));
        one.base = n->base;
        one.stream = n->stream;
        jsOptions_Init(&jo);
        jo.Wait = 1000;
        if (natsConnection_JetStream(&one.js, nc, &jo) == NATS_OK)
            rc = ask(&one, arg);
        jsCtx_Destroy(one.js);
    }
    natsConnection_Destroy(nc);
    natsOptions_Destroy(o);
    return rc;
}

typedef struct end_q {
    const char *filter;
    int pattern;
    uint64_t end;
} end_q;

static int ask_end(nats_xp *one, void *arg)
{
    end_q *q = arg;

    return read_end(one, q->filter, q->pattern, &q->end);
}

/* The end of the read as the server at @url alone answers it (0 when it
 * cannot be asked). */
static uint64_t probe_end(nats_xp *n, const char *url, const char *filter, int pattern, int *asked)
{
    end_q q = {filter, pattern, 0};

    return probe(n, url, ask_end, &q, asked) == 0 ? q.end : 0;
}

/* The end of the read confirmed with every server given: the largest
 * answer. A JetStream API request goes out through the one server the
 * client is connected to, and the first answer wins; a node restarted a
 * moment ago has answered with its own stale stream for seconds (a read
 * that stopped there read 1,042 of 3,000 receipts and called them
 * clean). Asked through each server, the current leader's answer is
 * among the answers, and no answer is ever ahead of the stream. */
static int read_end_all(nats_xp *n, const char *filter, int pattern, uint64_t *end)
{
    int i, rc = read_end(n, filter, pattern, end);

    for (i = 0; rc == 0 && n->nurls > 1 && i < n->nurls; i++) {
        int asked = 0;
        uint64_t e;

        if (now_ms() < n->url_down_until[i])
            continue;
        e = probe_end(n, n->urls[i], filter, pattern, &asked);
        if (!asked) /* down or unreachable: each probe could cost a second */
            n->url_down_until[i] = now_ms() + PROBE_BACKOFF_MS;
        if (e > *end)
            *end = e;
    }
    return rc;
}

/* The end of the read and its consumer; retried for READ_STALL_MS while
 * the cluster does not answer (a leader election after a node died). */
static int read_start(nats_xp *n, const char *filter, int pattern, uint64_t from, uint64_t *end,
                      natsSubscription **sub)
{
    uint64_t deadline = now_ms() + READ_STALL_MS;
    jsSubOptions so;
    jsErrCode je;
    natsStatus s;
    int rc;

    for (;;) {
        rc = read_end_all(n, filter, pattern, end);
        if (rc == 0 && (*end == 0 || *end < from))
            return 0;
        if (rc == 0) {
            jsSubOptions_Init(&so);
            so.Stream = n->stream;
            so.Ordered = true;
            if (from > 1) {
                so.Config.DeliverPolicy = js_DeliverByStartSequence;
                so.Config.OptStartSeq = from;
            }
            je = 0;
            s = js_SubscribeSync(sub, n->js, pattern ? ">" : filter, NULL, &so, &je);
            if (s == NATS_OK) {
                natsSubscription_SetPendingLimits(*sub, -1, -1); /* flow control bounds it */
                return 0;
            }
            rc = fail_status(&n->base, status_code(s, je), filter, s, je);
        }
        if ((rc != CHIO__XP_ETIMEOUT && rc != CHIO__XP_ECONNECT) || now_ms() > deadline)
            return rc;
        nap_ms(250);
    }
}

/* Deliver positions @from..@to of the whole stream, those matching
 * @filter, read one by one from the stream leader: the positions a
 * consumer skipped. An ephemeral consumer may sit on a replica that is
 * still catching up after a restart, and a consumer skips positions its
 * server does not hold (as it skips deleted ones); the leader has them.
 * A position the leader does not have either (purged) is skipped.
 * Returns 0, what @fn returned, or a transport code. */
static int fill_gap(nats_xp *n, const char *filter, uint64_t from, uint64_t to,
                    chio__xp_visit_fn fn, void *ctx)
{
    uint64_t p;
    int rc = 0;

    for (p = from; rc == 0 && p <= to; p++) {
        uint64_t deadline = now_ms() + READ_STALL_MS;
        natsMsg *m = NULL;
        jsErrCode je;
        natsStatus s;

        for (;;) {
            je = 0;
            s = js_GetMsg(&m, n->js, n->stream, p, NULL, &je);
            if (s == NATS_OK || je == JS_NO_MESSAGE || s == NATS_NOT_FOUND)
                break;
            rc = fail_status(&n->base, status_code(s, je), filter, s, je);
            if ((rc != CHIO__XP_ETIMEOUT && rc != CHIO__XP_ECONNECT) || now_ms() > deadline)
                return rc;
            nap_ms(250);
        }
        rc = 0;
        if (s == NATS_OK && subject_matches(filter, natsMsg_GetSubject(m)))
            rc = deliver(m, p, fn, ctx);
        natsMsg_Destroy(m);
    }
    return rc;
}

/* A read's end is taken as final once END_CONFIRMATIONS more answers,
 * END_CONFIRM_MS apart, name no later position. */
#define END_CONFIRMATIONS 2
#define END_CONFIRM_MS    300
#define END_ROUNDS        20

static int nats_read(chio__xp *t, const char *filter, uint64_t from, chio__xp_visit_fn fn,
                     void *ctx)
{
    nats_xp *n = nx(t);
    natsSubscription *sub = NULL;
    natsStatus s;
    uint64_t end, last_seen = 0, stall, seq;
    int rc, pattern = strpbrk(filter, "*>") != NULL, confirmed = 0, rounds = 0;

    rc = read_start(n, filter, pattern, from, &end, &sub);
    if (rc != 0 || sub == NULL)
        return rc;
    /* A pattern read takes every position: one it did not get is a gap
     * to fill from the leader (fill_gap()); those below the stream's first
     * are gone (purged, aged out) and not asked for one by one. */
    if (pattern)
        last_seen = from > 0 ? from - 1 : 0;
    if (pattern && n->first > 0 && n->first - 1 > last_seen)
        last_seen = n->first - 1 < end ? n->first - 1 : end;
    stall = now_ms() + READ_STALL_MS;
    for (;;) {
        if (rc != 0)
            break;
        if (last_seen >= end) {
            /* A stream that keeps growing (an exporter publishing while
             * this reads) ends the read after END_ROUNDS extensions. */
            if (confirmed >= END_CONFIRMATIONS || rounds++ >= END_ROUNDS)
                break;
            /* The end comes from one answer of the cluster, and a server
             * that is catching up after a restart has answered with an
             * old one: a read that stopped there would miss the newest
             * messages and call the rest clean. Ask again, a little
             * later, until the end holds twice running. */
            uint64_t again = 0;
            nap_ms(END_CONFIRM_MS);
            rc = read_end_all(n, filter, pattern, &again);
            if (rc != 0)
                break;
            if (again > end) {
                end = again;
                confirmed = 0;
                stall = now_ms() + READ_STALL_MS;
            } else {
                confirmed++;
            }
            continue;
        }
        natsMsg *m = NULL;
        jsMsgMetaData *meta = NULL;

        s = natsSubscription_NextMsg(&m, sub, 1000);
        if (s == NATS_TIMEOUT) {
            if (pattern && now_ms() > stall - READ_STALL_MS + 2000) {
                /* the consumer's server has nothing more: the leader has */
                rc = fill_gap(n, filter, last_seen + 1, end, fn, ctx);
                last_seen = end;
            } else if (now_ms() > stall) {
                rc = chio__xp_fail(t, CHIO__XP_ETIMEOUT,
                                   "%s: no message for %d s (read up to position %" PRIu64
                                   " of %" PRIu64 ")",
                                   filter, READ_STALL_MS / 1000, last_seen, end);
            }
            continue;
        }
        if (s != NATS_OK) {
            rc = fail_status(t, status_code(s, 0), filter, s, 0);
            break;
        }
        if (natsMsg_GetMetaData(&meta, m) != NATS_OK) {
            natsMsg_Destroy(m);
            continue; /* not a stream message */
        }
        seq = meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
        stall = now_ms() + READ_STALL_MS;
        if (seq > end && (!pattern || last_seen < end)) {
            /* Past the end asked for, before the read got there (the
             * positions up to it gone): the stream grew meanwhile. Take
             * this one too, or the read would skip it and go on past it
             * once the end is asked again; the new end is confirmed as
             * any is, and a stream that keeps growing still ends the read
             * after END_ROUNDS extensions. */
            if (pattern)
                rc = fill_gap(n, filter, last_seen + 1, end, fn, ctx);
            if (rounds++ >= END_ROUNDS) {
                natsMsg_Destroy(m);
                break;
            }
            last_seen = end;
            end = seq;
            confirmed = 0;
        }
        if (pattern && seq > last_seen + 1)
            rc = fill_gap(n, filter, last_seen + 1, seq - 1 < end ? seq - 1 : end, fn, ctx);
        if (pattern && seq <= last_seen) {
            natsMsg_Destroy(m); /* had it already (from the leader) */
            continue;
        }
        last_seen = seq;
        /* later ones are for the next read; a pattern keeps its subjects */
        if (rc == 0 && last_seen <= end &&
            (!pattern || subject_matches(filter, natsMsg_GetSubject(m))))
            rc = deliver(m, last_seen, fn, ctx);
        natsMsg_Destroy(m);
    }
    natsSubscription_Unsubscribe(sub); /* deletes the ephemeral consumer */
    natsSubscription_Destroy(sub);
    return rc;
}

static int ask_state(nats_xp *one, void *arg)
{
    chio__xp_state *st = arg;
    jsStreamInfo *si = NULL;
    jsErrCode je = 0;
    natsStatus s = js_GetStreamInfo(&si, one->js, one->stream, NULL, &je);

    if (s != NATS_OK)
        return fail_status(&one->base, status_code(s, je), "stream info", s, je);
    st->first = si->State.FirstSeq;
    st->last = si->State.LastSeq;
    st->messages = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    return 0;
}

static uint64_t gone(const chio__xp_state *st)
{
    return st->last > st->messages ? st->last - st->messages : 0;
}

static int nats_state(chio__xp *t, chio__xp_state *st)
{
    nats_xp *n = nx(t);
    int i, rc = ask_state(n, st);

    for (i = 0; rc == 0 && n->nurls > 1 && i < n->nurls; i++) {
        chio__xp_state other;
        int asked = 0;

        if (now_ms() < n->url_down_until[i])
            continue;
        memset(&other, 0, sizeof(other));
        if (probe(n, n->urls[i], ask_state, &other, &asked) == 0 &&
            (other.last > st->last || (other.last == st->last && gone(&other) > gone(st))))
            *st = other;
        if (!asked)
            n->url_down_until[i] = now_ms() + PROBE_BACKOFF_MS;
    }
    return rc;
}

/* The connected server's max_payload (from its INFO); 0 when not connected. */
static uint64_t nats_max_payload(chio__xp *t)
{
    int64_t m = natsConnection_GetMaxPayload(nx(t)->nc);

    return m > 0 ? (uint64_t)m : 0;
}

const chio__xp_ops chio__xp_nats = {"nats",          nats_open, nats_close, nats_ensure_stream,
                                    nats_publish,    nats_last, nats_read,  nats_state,
                                    nats_max_payload};
