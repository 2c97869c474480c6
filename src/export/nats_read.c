/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export/nats_read.c - the NATS transport's reading side (transport.h):
 * a subject read through an ordered push consumer (ephemeral, no acks,
 * flow control) bound to the stream, up to an end confirmed with every
 * server given, with any gap the consumer skipped filled from the stream
 * leader (position by position, a run of positions gone at once);
 * a subject's last message (a stream "get last by subject"); the stream's
 * state from its stream info, asked of each server. Each hands the caller
 * one item at a time. A handle is used by one thread at a time.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/chio.h"
#include "nats_internal.h"

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

int chio__nats_last(chio__xp *t, const char *subject, chio__xp_visit_fn fn, void *ctx)
{
    nats_xp *n = nx(t);
    natsMsg *m = NULL;
    jsErrCode je = 0;
    natsStatus s;
    int rc;

    s = js_GetLastMsg(&m, n->js, n->stream, subject, NULL, &je);
    if (s != NATS_OK)
        return chio__nats_fail(t, chio__nats_code(s, je), subject, s, je);
    rc = deliver(m, natsMsg_GetSequence(m), fn, ctx);
    natsMsg_Destroy(m);
    return rc;
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
    return s == NATS_OK ? 0 : chio__nats_fail(&n->base, chio__nats_code(s, je), filter, s, je);
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

        if (chio__xp_now_ms() < n->url_down_until[i])
            continue;
        e = probe_end(n, n->urls[i], filter, pattern, &asked);
        if (!asked) /* down or unreachable: each probe could cost a second */
            n->url_down_until[i] = chio__xp_now_ms() + PROBE_BACKOFF_MS;
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
    uint64_t deadline = chio__xp_now_ms() + READ_STALL_MS;
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
            rc = chio__nats_fail(&n->base, chio__nats_code(s, je), filter, s, je);
        }
        if ((rc != CHIO__XP_ETIMEOUT && rc != CHIO__XP_ECONNECT) || chio__xp_now_ms() > deadline)
            return rc;
        chio__xp_nap_ms(250);
    }
}

/* A "message get" of the JetStream API (what js_GetMsg asks; the stream
 * leader answers) with the request @body: 1 a message (its position in
 * *@seq), 0 none ("no message found"), 2 a bad request (a server before
 * 2.9, which knows no next_by_subj, reads {"next_by_subj":..} as an
 * empty request), or a transport code. */
static int msg_get(nats_xp *n, const char *body, uint64_t *seq)
{
    static const char api[] = "$JS.API.STREAM.MSG.GET.";
    size_t len = sizeof(api) + strlen(n->stream);
    char *subject = malloc(len), shown[256];
    chio_json_doc *doc = NULL;
    const chio_json *root, *e;
    const char *why = "an answer that is no message and no error";
    natsMsg *reply = NULL;
    natsStatus s = NATS_NO_MEMORY;
    uint64_t code = 0;
    int rc = CHIO__XP_ESERVER;

    if (subject != NULL) {
        snprintf(subject, len, "%s%s", api, n->stream);
        s = natsConnection_Request(&reply, n->nc, subject, body, (int)strlen(body),
                                   REQUEST_WAIT_MS);
    }
    free(subject);
    if (s != NATS_OK)
        return chio__nats_fail(&n->base, chio__nats_code(s, 0), "message get", s, 0);
    if (chio_json_parse(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply), &doc, NULL) ==
        0) {
        root = chio_json_root(doc);
        e = chio_json_get(root, "error");
        if (chio_json_get_uint64(chio_json_get(chio_json_get(root, "message"), "seq"), seq) == 0)
            rc = 1;
        else if (chio_json_get_uint64(chio_json_get(e, "err_code"), &code) == 0)
            rc = code == JS_NO_MESSAGE    ? 0
                 : code == JS_BAD_REQUEST ? 2
                                          : chio__nats_code(NATS_ERR, (jsErrCode)code);
        if (rc < 0 && chio_json_string(chio_json_get(e, "description"), NULL) != NULL)
            why = chio_json_string(chio_json_get(e, "description"), NULL);
    }
    if (rc < 0) {
        chio__xp_shown(shown, sizeof(shown), why);
        chio__xp_fail(&n->base, rc, "message get: %s", shown);
    }
    chio_json_doc_free(doc);
    natsMsg_Destroy(reply);
    return rc;
}

/* The first position at or after @from of a message matching @filter that
 * the stream leader holds, into *@next; 0 when it holds none. One request
 * for a run of positions gone (purged, deleted): asked one by one, 40,000
 * positions purged in the middle of the stream cost every verify 7 s on
 * loopback. A server that knows no next_by_subj (before 2.9) answers
 * @from alone, or "no message" when @from is gone: that answer is
 * checked against one without a seq, which such a server refuses as a
 * bad request, and *@next is then @from (the caller goes on one by
 * one). Returns 0 or a transport code. */
static int next_held(nats_xp *n, const char *filter, uint64_t from, uint64_t *next)
{
    char *quoted = NULL, *body = NULL;
    size_t len = 0;
    int rc = CHIO__XP_ENOMEM;

    *next = from;
    if (chio_json_write_string(filter, strlen(filter), &quoted, &len) == 0 &&
        (body = malloc(len + 64)) != NULL) {
        snprintf(body, len + 64, "{\"seq\":%" PRIu64 ",\"next_by_subj\":%s}", from, quoted);
        rc = msg_get(n, body, next);
        if (rc == 0) { /* none, or a server that ignored next_by_subj? */
            snprintf(body, len + 64, "{\"next_by_subj\":%s}", quoted);
            rc = msg_get(n, body, next);
            *next = rc == 2 ? from : 0;
            rc = rc >= 0 ? 0 : rc;
        } else if (rc > 0) {
            if (rc == 2 || *next < from) /* refused, or not an answer to this */
                *next = from;
            rc = 0;
        }
    }
    chio_free(quoted);
    free(body);
    return rc;
}

/* Whether to ask again after @rc: the cluster did not answer (a leader
 * election after a node died) and @deadline has not passed; naps first. */
static int again(int rc, uint64_t deadline)
{
    if ((rc != CHIO__XP_ETIMEOUT && rc != CHIO__XP_ECONNECT) || chio__xp_now_ms() > deadline)
        return 0;
    chio__xp_nap_ms(250);
    return 1;
}

/* Position @p as the stream leader has it: *@m, NULL when it is gone.
 * Returns 0 or a transport code. */
static int get_at(nats_xp *n, const char *filter, uint64_t p, natsMsg **m)
{
    jsErrCode je = 0;
    natsStatus s = js_GetMsg(m, n->js, n->stream, p, NULL, &je);

    if (s == NATS_OK)
        return 0;
    *m = NULL;
    if (je == JS_NO_MESSAGE || s == NATS_NOT_FOUND)
        return 0;
    return chio__nats_fail(&n->base, chio__nats_code(s, je), filter, s, je);
}

/* Deliver positions @from..@to of the whole stream, those matching
 * @filter, read one by one from the stream leader: the positions a
 * consumer skipped. An ephemeral consumer may sit on a replica that is
 * still catching up after a restart, and a consumer skips positions its
 * server does not hold (as it skips deleted ones); the leader has them.
 * A position the leader does not have either (purged) is skipped, and so
 * is the run of positions gone after it (next_held()). Returns 0, what
 * @fn returned, or a transport code. */
static int fill_gap(nats_xp *n, const char *filter, uint64_t from, uint64_t to,
                    chio__xp_visit_fn fn, void *ctx)
{
    uint64_t p, q, deadline;
    int rc = 0;

    for (p = from; rc == 0 && p <= to; p++) {
        natsMsg *m = NULL;

        deadline = chio__xp_now_ms() + READ_STALL_MS;
        do
            rc = get_at(n, filter, p, &m);
        while (again(rc, deadline));
        if (rc != 0)
            return rc;
        if (m != NULL) {
            if (subject_matches(filter, natsMsg_GetSubject(m)))
                rc = deliver(m, p, fn, ctx);
            natsMsg_Destroy(m);
            continue;
        }
        if (p == to)
            break;
        deadline = chio__xp_now_ms() + READ_STALL_MS;
        do
            rc = next_held(n, filter, p + 1, &q);
        while (again(rc, deadline));
        if (rc != 0 || q == 0 || q > to)
            return rc;
        p = q - 1; /* (q > p) on at q */
    }
    return rc;
}

/* Whether the stream holds position @seq, past the read's end: *@held 1
 * when some server's end (read_end_all(), asked again now) reaches it.
 * The position comes from the delivery's reply subject ($JS.ACK.<stream>.
 * <consumer>.<n>.<stream seq>...), which the server the reader is
 * connected to writes: a hostile server, or whoever is on the path of a
 * connection without TLS, can name any position there (the NATS client
 * takes up to 2^63 - 1). Taken for a stream that grew, it made the read
 * ask the leader for every position up to it, one by one: a verify that
 * never ended. A client on the delivery subject cannot (the server
 * refuses a client's $JS.ACK. reply subject). Returns 0 or a transport
 * code. */
static int stream_holds(nats_xp *n, const char *filter, int pattern, uint64_t seq, int *held)
{
    uint64_t now = 0;
    int rc = read_end_all(n, filter, pattern, &now);

    *held = rc == 0 && seq <= now;
    return rc;
}

/* A read's end is taken as final once END_CONFIRMATIONS more answers,
 * END_CONFIRM_MS apart, name no later position. */
#define END_CONFIRMATIONS 2
#define END_CONFIRM_MS    300
#define END_ROUNDS        20

int chio__nats_read(chio__xp *t, const char *filter, uint64_t from, chio__xp_visit_fn fn, void *ctx)
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
    stall = chio__xp_now_ms() + READ_STALL_MS;
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
            chio__xp_nap_ms(END_CONFIRM_MS);
            rc = read_end_all(n, filter, pattern, &again);
            if (rc != 0)
                break;
            if (again > end) {
                end = again;
                confirmed = 0;
                stall = chio__xp_now_ms() + READ_STALL_MS;
            } else {
                confirmed++;
            }
            continue;
        }
        natsMsg *m = NULL;
        jsMsgMetaData *meta = NULL;

        s = natsSubscription_NextMsg(&m, sub, 1000);
        if (s == NATS_TIMEOUT) {
            if (pattern && chio__xp_now_ms() > stall - READ_STALL_MS + 2000) {
                /* the consumer's server has nothing more: the leader has */
                rc = fill_gap(n, filter, last_seen + 1, end, fn, ctx);
                last_seen = end;
            } else if (chio__xp_now_ms() > stall) {
                rc = chio__xp_fail(t, CHIO__XP_ETIMEOUT,
                                   "%s: no message for %d s (read up to position %" PRIu64
                                   " of %" PRIu64 ")",
                                   filter, READ_STALL_MS / 1000, last_seen, end);
            }
            continue;
        }
        if (s != NATS_OK) {
            rc = chio__nats_fail(t, chio__nats_code(s, 0), filter, s, 0);
            break;
        }
        if (natsMsg_GetMetaData(&meta, m) != NATS_OK) {
            natsMsg_Destroy(m);
            continue; /* not a stream message */
        }
        seq = meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
        if (seq > end) {
            int held = 0;
            rc = stream_holds(n, filter, pattern, seq, &held);
            if (rc != 0 || !held) {
                natsMsg_Destroy(m); /* no position of the stream: not progress either */
                continue;
            }
        }
        stall = chio__xp_now_ms() + READ_STALL_MS;
        if (seq > end && (!pattern || last_seen < end)) {
            /* Past the end asked for, before the read got there (the
             * positions up to it gone): the stream grew meanwhile (it
             * holds the position: stream_holds() above). Take
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
        return chio__nats_fail(&one->base, chio__nats_code(s, je), "stream info", s, je);
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

int chio__nats_state(chio__xp *t, chio__xp_state *st)
{
    nats_xp *n = nx(t);
    int i, rc = ask_state(n, st);

    for (i = 0; rc == 0 && n->nurls > 1 && i < n->nurls; i++) {
        chio__xp_state other;
        int asked = 0;

        if (chio__xp_now_ms() < n->url_down_until[i])
            continue;
        memset(&other, 0, sizeof(other));
        if (probe(n, n->urls[i], ask_state, &other, &asked) == 0 &&
            (other.last > st->last || (other.last == st->last && gone(&other) > gone(st))))
            *st = other;
        if (!asked)
            n->url_down_until[i] = chio__xp_now_ms() + PROBE_BACKOFF_MS;
    }
    return rc;
}
