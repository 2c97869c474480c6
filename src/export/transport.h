/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export/transport.h - the one seam between the fleet tools (the exporter,
 * fleet verify, the witness) and the distributed log they write to and
 * read from. A transport is an append-only log of messages, each with a
 * subject, a body, a position (the stream sequence, growing by one per
 * message across all subjects) and the attributes the fleet tools set: a
 * message id the log deduplicates on and the run of items the message
 * carries (the seqs of its first and last receipt or checkpoint, headers
 * Chio-Seq and Chio-Last-Seq; the body is the items' bytes joined by one
 * '\n', which canonical JSON never contains). Readers see one item at a
 * time: a read splits each message into its items. What a transport
 * must provide is the list below: an append that is refused unless the
 * subject's last position is the one expected (so one writer per subject
 * appends each item once and in order), reading a subject from a position,
 * the last message of a subject, and how many positions the log no
 * longer holds (so that a cut is seen). NATS JetStream is the implementation
 * here (nats.c). Kafka would map a subject to a partition of its own and
 * the position to the offset; it has no conditional append, so its
 * implementation would keep one producer per partition (idempotent, for
 * retries) and check the partition's end offset itself before appending.
 *
 * No type of any client library appears here. Handles are not
 * thread-safe: one thread uses a handle at a time. Layer: above the public
 * API (include/chio/ only), like the CLI.
 */
#ifndef CHIO_EXPORT_TRANSPORT_H
#define CHIO_EXPORT_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

/* XX(NAME, number, text). The code is CHIO__XP_<NAME> = -number. */
#define CHIO__XP_ERRNO_MAP(XX)                                                  \
    XX(EINVAL, 1, "invalid argument")                                           \
    XX(ENOMEM, 2, "out of memory")                                              \
    XX(ECONNECT, 3, "cannot reach the servers")                                 \
    XX(ETIMEOUT, 4, "no answer in time (a publish may still have been stored)") \
    XX(ECONFLICT, 5, "the subject's last position is not the one expected")     \
    XX(ENOTFOUND, 6, "no such stream or message")                               \
    XX(ESERVER, 7, "the server refused the request")                            \
    XX(ETOOBIG, 8, "the message is larger than the servers take")

typedef enum chio__xp_code {
#define CHIO__XP_ENUM(name, num, text) CHIO__XP_##name = -(num),
    CHIO__XP_ERRNO_MAP(CHIO__XP_ENUM)
#undef CHIO__XP_ENUM
} chio__xp_code;

/* "ETIMEOUT" for CHIO__XP_ETIMEOUT, "OK" for 0, "?" otherwise. */
const char *chio__xp_code_name(int rc);

typedef struct chio__xp chio__xp;

/* One item as read back (a message of n items is read as n of these, in
 * order, with the message's subject, position and id). A message whose
 * headers are missing or do not match its body (not as many items as
 * Chio-Seq..Chio-Last-Seq name) is read as one item: its whole body, with
 * item_seq 0. Everything is borrowed for the callback. */
typedef struct chio__xp_msg {
    const char *subject;
    const char *data;
    size_t len;
    uint64_t position;            /* stream sequence of the message, 1-based */
    uint64_t item_seq;            /* Chio-Seq + the item's index; 0 for a malformed message */
    const char *msg_id;           /* the message's deduplication id; "" when absent */
    uint64_t msg_first, msg_last; /* the message's run (0, 0 when malformed) */
    /* The subject's last position the message was appended after, as its
     * writer asked and the log enforced (the exporter always asks; NATS:
     * Nats-Expected-Last-Subject-Sequence); has_expect 0 when not asked. */
    uint64_t expect_last;
    int has_expect;
} chio__xp_msg;

/* Returns 0 to go on; anything else stops the read and is returned. */
typedef int (*chio__xp_visit_fn)(void *ctx, const chio__xp_msg *m);

/* What one append carries: the items item_seq..item_last, their bytes
 * joined by '\n' in @data. */
typedef struct chio__xp_pub {
    const char *subject;
    const char *msg_id;   /* deduplication id (NATS: Nats-Msg-Id) */
    uint64_t item_seq;    /* the first item's seq: the Chio-Seq header */
    uint64_t item_last;   /* the last item's seq (Chio-Last-Seq); 0: item_seq, one item */
    uint64_t expect_last; /* the subject's last position; 0 = the subject is empty */
    const void *data;
    size_t len;
} chio__xp_pub;

/*
 * chio__xp_urls_shown - @urls (comma-separated server URLs) as an error
 * message may quote them, in @out (@cap bytes, cut to fit): a password or
 * token in a URL's userinfo is shown as three stars (alice:***@host for a
 * user and password, ***@host for a token), so credentials reach no log.
 */
void chio__xp_urls_shown(const char *urls, char *out, size_t cap);

/*
 * chio__xp_open - connect to @urls (comma-separated; the scheme picks the
 * transport: nats://) for the stream @stream. Waits up to @timeout_ms for
 * a first connection; afterwards the client reconnects by itself.
 * Returns 0, CHIO__XP_EINVAL (no known scheme, empty list), CHIO__XP_ECONNECT,
 * CHIO__XP_ENOMEM; @why (of @cap bytes) says why.
 * Ownership: close *out with chio__xp_close().
 */
int chio__xp_open(const char *urls, const char *stream, int timeout_ms, chio__xp **out, char *why,
                  size_t cap);

/* Close and free; NULL is ignored. */
void chio__xp_close(chio__xp *t);

/* The last failure's detail (never NULL; "" after success). */
const char *chio__xp_errmsg(const chio__xp *t);

/*
 * chio__xp_ensure_stream - create the stream holding the @nsubjects
 * subject patterns when it is missing (replicated 3 times when the
 * cluster has at least 3 servers, else once); an existing one is used as
 * it is. *replicas (may be NULL) gets its replication; *created whether
 * this call made it. Returns 0, CHIO__XP_ECONNECT, CHIO__XP_ETIMEOUT,
 * CHIO__XP_ESERVER.
 */
int chio__xp_ensure_stream(chio__xp *t, const char *const *subjects, size_t nsubjects,
                           int *replicas, int *created);

/*
 * chio__xp_publish - append one message, only when the subject's last
 * position is @p->expect_last. *position gets the message's position and
 * *duplicate whether the log had it already (same id, deduplicated).
 * Returns 0; CHIO__XP_ECONFLICT (the subject's last position differs:
 * read it again with chio__xp_last); CHIO__XP_ETIMEOUT or
 * CHIO__XP_ECONNECT (unknown whether it was stored: retry the same
 * message, the id makes a second copy impossible); CHIO__XP_ENOTFOUND
 * (no stream takes the subject); CHIO__XP_ETOOBIG (headers and body are
 * more than chio__xp_max_payload(): never stored); CHIO__XP_ESERVER.
 */
int chio__xp_publish(chio__xp *t, const chio__xp_pub *p, uint64_t *position, int *duplicate);

/*
 * chio__xp_max_payload - the largest message (headers and body) the
 * server now connected to and the stream take (NATS: the server's
 * max_payload, or the stream's max_msg_size when less, as last read); 0
 * when unknown. A larger one is refused by chio__xp_publish() with
 * CHIO__XP_ETOOBIG.
 */
uint64_t chio__xp_max_payload(chio__xp *t);

/*
 * chio__xp_last - call @fn with each item of the last message of @subject.
 * Returns what @fn returned; CHIO__XP_ENOTFOUND (the subject is empty or
 * there is no stream), CHIO__XP_ECONNECT, CHIO__XP_ETIMEOUT, CHIO__XP_ESERVER.
 */
int chio__xp_last(chio__xp *t, const char *subject, chio__xp_visit_fn fn, void *ctx);

/*
 * chio__xp_read - call @fn for every item of every message whose subject matches
 * @filter (NATS wildcards: "chio.*.receipts", "chio.>") from position
 * @from on, in position order, up to the stream's end as of the call.
 * Returns 0 after the last one (also when there are none), what @fn
 * returned when it stopped the read, CHIO__XP_ENOTFOUND (no stream),
 * CHIO__XP_ECONNECT, CHIO__XP_ETIMEOUT (the servers stopped answering),
 * CHIO__XP_ENOMEM.
 */
int chio__xp_read(chio__xp *t, const char *filter, uint64_t from, chio__xp_visit_fn fn, void *ctx);

/* What the stream holds. Positions are never reused: every position from
 * 1 to @last held a message once, and last - messages of them are gone
 * (purged, deleted, rolled up, aged out). */
typedef struct chio__xp_state {
    uint64_t first;    /* the first position still held (last + 1 when none is) */
    uint64_t last;     /* the last position given to a message; 0 for none ever */
    uint64_t messages; /* messages held */
} chio__xp_state;

/*
 * chio__xp_state_get - the stream's state, asked through each server
 * given (as a read's end is): the answer with the latest last position
 * wins, and of equal ones the one with the most positions gone (a purge
 * does not move the last position; no answer is ever ahead of the
 * stream). Returns 0,
 * CHIO__XP_ENOTFOUND (no stream), CHIO__XP_ECONNECT, CHIO__XP_ETIMEOUT,
 * CHIO__XP_ESERVER.
 */
int chio__xp_state_get(chio__xp *t, chio__xp_state *st);

/* ---- for implementations (nats.c, nats_read.c): the handle's first member
 * ------------------------- */

typedef struct chio__xp_ops {
    const char *scheme; /* "nats" */
    int (*open)(const char *urls, const char *stream, int timeout_ms, chio__xp **out, char *why,
                size_t cap);
    void (*close)(chio__xp *t);
    int (*ensure_stream)(chio__xp *t, const char *const *subjects, size_t n, int *replicas,
                         int *created);
    int (*publish)(chio__xp *t, const chio__xp_pub *p, uint64_t *position, int *duplicate);
    int (*last)(chio__xp *t, const char *subject, chio__xp_visit_fn fn, void *ctx);
    int (*read)(chio__xp *t, const char *filter, uint64_t from, chio__xp_visit_fn fn, void *ctx);
    int (*state)(chio__xp *t, chio__xp_state *st);
    uint64_t (*max_payload)(chio__xp *t);
} chio__xp_ops;

struct chio__xp {
    const chio__xp_ops *ops;
    char err[512];
};

/* printf into t->err; returns @rc. */
int chio__xp_fail(chio__xp *t, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A server's text (an error it sent) for a message: at most @cap - 5 bytes
 * of @s into @out, each control character (C0, DEL, C1) and each byte that
 * is not UTF-8 shown as '?' (a server's ESC must not reach a terminal, its
 * newline must not add a log line). @cap at least 5. */
void chio__xp_shown(char *out, size_t cap, const char *s);
/* The monotonic clock in milliseconds, and a nap of @ms milliseconds
 * (retry loops, here and in their callers). */
uint64_t chio__xp_now_ms(void);
void chio__xp_nap_ms(unsigned ms);

extern const chio__xp_ops chio__xp_nats;

#endif
