/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export/nats.c - the NATS JetStream transport (transport.h) on the C
 * client libnats: one connection (reconnecting by itself to any server of
 * the cluster), one JetStream context, one stream. Appends are
 * synchronous publishes carrying Nats-Msg-Id (deduplication within the
 * stream's window), Nats-Expected-Last-Subject-Sequence (always, "0" for an
 * empty subject, so an append lands only right after the message the
 * writer last saw), Nats-Expected-Stream, Chio-Seq and Chio-Last-Seq (the
 * run of items the body carries, joined by '\n'). Reads (nats_read.c)
 * are ordered push consumers bound to the stream; the stream's state is
 * its stream info.
 * Only this file and nats_read.c see libnats. A handle is used by one
 * thread at a time.
 */
#include <errno.h>
#include <inttypes.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nats_internal.h"

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
int chio__nats_fail(chio__xp *t, int rc, const char *what, natsStatus s, jsErrCode je)
{
    const char *last = last_error_detail(s);

    if (je != 0)
        return chio__xp_fail(t, rc, "%s: %s (JetStream error %d%s%s)", what, natsStatus_GetText(s),
                             (int)je, last[0] ? ": " : "", last);
    return chio__xp_fail(t, rc, "%s: %s%s%s", what, natsStatus_GetText(s), last[0] ? ": " : "",
                         last);
}

/* Connection trouble (retry later) or a refusal (an answer that will not change). */
int chio__nats_code(natsStatus s, jsErrCode je)
{
    if (je == JS_WRONG_LAST_SEQ)
        return CHIO__XP_ECONFLICT;
    if (je == JS_MSG_TOO_BIG) /* the stream's max_msg_size: never stored as it is */
        return CHIO__XP_ETOOBIG;
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

/* Remember the stream's limit on one message from its info @si. */
static void note_stream_limit(nats_xp *n, const jsStreamInfo *si)
{
    n->stream_max_msg = si != NULL && si->Config != NULL && si->Config->MaxMsgSize > 0
                            ? (uint64_t)si->Config->MaxMsgSize
                            : 0;
}

/* Ask the stream's limit on one message again (after it refused one as
 * too large: an operator may have lowered it since). */
static void refresh_stream_limit(nats_xp *n)
{
    jsStreamInfo *si = NULL;

    if (js_GetStreamInfo(&si, n->js, n->stream, NULL, NULL) == NATS_OK)
        note_stream_limit(n, si);
    jsStreamInfo_Destroy(si);
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
            note_stream_limit(n, si);
            jsStreamInfo_Destroy(si);
            return 0;
        }
        if (je != JS_STREAM_NOT_FOUND && s != NATS_NOT_FOUND)
            return chio__nats_fail(t, chio__nats_code(s, je), "stream info", s, je);
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
            note_stream_limit(n, si);
            jsStreamInfo_Destroy(si);
            return 0;
        }
        if (je != JS_STREAM_IN_USE) /* another exporter made it meanwhile: look again */
            return chio__nats_fail(t, chio__nats_code(s, je), "create stream", s, je);
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
        return chio__nats_fail(t, chio__nats_code(s, 0), "message", s, 0);
    }
    jsPubOptions_Init(&po);
    po.MaxWait = REQUEST_WAIT_MS;
    s = js_PublishMsg(&pa, n->js, m, &po, &je);
    natsMsg_Destroy(m);
    if (s != NATS_OK && je == JS_MSG_TOO_BIG)
        refresh_stream_limit(n); /* (the caller cuts the run to the new limit) */
    if (s != NATS_OK)
        return chio__nats_fail(t, chio__nats_code(s, je), p->subject, s, je);
    *position = pa->Sequence;
    *duplicate = pa->Duplicate;
    jsPubAck_Destroy(pa);
    return 0;
}

/* The connected server's max_payload (from its INFO), or the stream's
 * max_msg_size when that is less; 0 when neither is known. */
static uint64_t nats_max_payload(chio__xp *t)
{
    nats_xp *n = nx(t);
    int64_t m = natsConnection_GetMaxPayload(n->nc);
    uint64_t cap = m > 0 ? (uint64_t)m : 0;

    if (n->stream_max_msg != 0 && (cap == 0 || n->stream_max_msg < cap))
        cap = n->stream_max_msg;
    return cap;
}

const chio__xp_ops chio__xp_nats = {
    "nats",          nats_open,       nats_close,       nats_ensure_stream, nats_publish,
    chio__nats_last, chio__nats_read, chio__nats_state, nats_max_payload};
