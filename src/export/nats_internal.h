/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export/nats_internal.h - the NATS JetStream transport's handle and the
 * helpers its two files share: nats.c (connection, stream, publishing,
 * the client's errors) and nats_read.c (reading subjects, the last
 * message, the stream's state). Only these files see libnats.
 */
#ifndef CHIO_EXPORT_NATS_INTERNAL_H
#define CHIO_EXPORT_NATS_INTERNAL_H

#include <nats/nats.h>
#include <stdint.h>

#include "transport.h"

#define HDR_MSG_ID      "Nats-Msg-Id"
#define HDR_EXPECT_SUBJ "Nats-Expected-Last-Subject-Sequence"
#define HDR_EXPECT_STRM "Nats-Expected-Stream"
#define HDR_ITEM_SEQ    "Chio-Seq"
#define HDR_ITEM_LAST   "Chio-Last-Seq"

/* The JetStream API error codes used here (libnats's names for the server's numbers). */
#define JS_NO_MESSAGE           JSNoMessageFoundErr              /* 10037 */
#define JS_BAD_REQUEST          JSBadRequestErr                  /* 10003 */
#define JS_STREAM_IN_USE        JSStreamNameExistErr             /* 10058 */
#define JS_STREAM_NOT_FOUND     JSStreamNotFoundErr              /* 10059 */
#define JS_WRONG_LAST_SEQ       JSStreamWrongLastSequenceErr     /* 10071 */
#define JS_REPLICAS_UNSUPPORTED JSStreamReplicasNotSupportedErr  /* 10074 */
#define JS_MSG_TOO_BIG          JSStreamMessageExceedsMaximumErr /* 10054 */

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
    /* The stream's own limit on one message (its max_msg_size, headers
     * and body; 0: none known), from its stream info: an existing stream
     * is used as it is, and may take less than the servers' max_payload. */
    uint64_t stream_max_msg;
} nats_xp;

static inline nats_xp *nx(chio__xp *t)
{
    return (nats_xp *)t;
}

/* nats.c: a failure's text on @t (the status, the JetStream code and the
 * client's last error), returning @rc; and the transport code for a
 * status: connection trouble (retry later) or a refusal. */
int chio__nats_fail(chio__xp *t, int rc, const char *what, natsStatus s, jsErrCode je);
int chio__nats_code(natsStatus s, jsErrCode je);

/* nats_read.c: the transport's reading operations (transport.h). */
int chio__nats_last(chio__xp *t, const char *subject, chio__xp_visit_fn fn, void *ctx);
int chio__nats_read(chio__xp *t, const char *filter, uint64_t from, chio__xp_visit_fn fn,
                    void *ctx);
int chio__nats_state(chio__xp *t, chio__xp_state *st);

#endif
