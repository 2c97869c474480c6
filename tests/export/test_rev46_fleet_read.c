/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/export/test_rev46_fleet_read.c - review 46 of the stream reader
 * (src/export/nats_read.c), on a one-node JetStream server
 * (scripts/nats-cluster.sh): a delivery to the reader's ordered consumer
 * that names, in its reply subject ($JS.ACK.<stream>.<consumer>.<n>.
 * <stream seq>.<consumer seq>.<ts>.<pending>), a stream position far past
 * the stream's end (the NATS client takes up to 2^63 - 1). The reader took
 * such a position for a stream that grew, and asked the stream's leader
 * for every position up to it, one by one: `chio fleet verify` never
 * ended.
 *
 * Who can send one: not a client allowed on _INBOX.> (the reader's
 * delivery subject): the server refuses a client's message whose reply
 * subject starts with $JS.ACK. (a "Publish Violation"; pinned below). A
 * server the reader connects to can, or whoever sits on the path of a
 * connection without TLS: here a proxy between `chio fleet verify` and
 * the server writes one extra MSG into what the server sends.
 * Real kernels, stores, server and build/chio processes.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "export/fleetutil.h"

static char *dir, *nc, *urls;

static void setup(void)
{
    fu_suite_up(&dir, &nc, &urls, 1);
}

static void teardown(void)
{
    fu_suite_down(&dir, &nc, &urls);
}

TestSuite(rev46_fleet_read, .init = setup, .fini = teardown);

/* The stream position a forged delivery names: 2^63 - 2. The NATS client
 * reads a delivery's stream seq as a signed 64-bit number (a larger one
 * makes it no JetStream message), and its ordered consumer restarts
 * after it, at 2^63 - 1. */
#define FORGED_SEQ UINT64_C(9223372036854775806)

/* The @i-th '.'-separated token of @s into @out (at most @cap - 1 bytes);
 * 0 when there is none. */
static int token(const char *s, size_t slen, int i, char *out, size_t cap)
{
    const char *end = s + slen, *p = s, *q;

    for (; i > 0 && p != NULL; i--) {
        p = memchr(p, '.', (size_t)(end - p));
        p = p ? p + 1 : NULL;
    }
    if (p == NULL)
        return 0;
    q = memchr(p, '.', (size_t)(end - p));
    q = q ? q : end;
    if (q == p || (size_t)(q - p) >= cap)
        return 0;
    memcpy(out, p, (size_t)(q - p));
    out[q - p] = '\0';
    return 1;
}

/* For a delivery's reply subject @reply whose pending count is @pending:
 * the reply subject of the next delivery, naming FORGED_SEQ, into @out. */
static int forge_reply(const char *reply, size_t len, const char *pending, char *out, size_t cap)
{
    char stream[64], cons[128], dseq[32], ts[32], pend[32];

    if (len < 8 || strncmp(reply, "$JS.ACK.", 8) != 0 ||
        !token(reply, len, 2, stream, sizeof(stream)) ||
        !token(reply, len, 3, cons, sizeof(cons)) || !token(reply, len, 6, dseq, sizeof(dseq)) ||
        !token(reply, len, 7, ts, sizeof(ts)) || !token(reply, len, 8, pend, sizeof(pend)) ||
        strcmp(pend, pending) != 0)
        return 0;
    snprintf(out, cap, "$JS.ACK.%s.%s.1.%" PRIu64 ".%" PRIu64 ".%s.0", stream, cons, FORGED_SEQ,
             (uint64_t)strtoull(dseq, NULL, 10) + 1, ts);
    return 1;
}

/* `chio fleet verify --nats @url` in the background, killed at
 * @deadline_ms; its output, its exit status in *@status (-1: killed) and
 * how long it ran in *@ms. */
static char *verify_timed(const char *url, unsigned deadline_ms, int *status, uint64_t *ms)
{
    static unsigned n;
    char name[64], *out_path, *text;
    uint64_t t0;
    size_t len;
    pid_t pid;

    snprintf(name, sizeof(name), "verify-%u.out", n++);
    out_path = fu_path_in(dir, name);
    t0 = testutil_now_ms();
    pid = fu_spawn(out_path, (const char *const[]){"fleet", "verify", "--nats", url, NULL});
    *status = fu_wait(pid, deadline_ms);
    *ms = testutil_now_ms() - t0;
    text = testutil_read_file(out_path, &len);
    free(out_path);
    return text ? text : strdup("");
}

/* 30 receipts of one kernel exported (a handful of stream positions). */
static void export_30(void)
{
    char *db = fu_path_in(dir, "db");

    fu_fill(db, 0x4b, 30, 10, "r");
    fu_export_expect(dir, urls, db, 30, 30);
    free(db);
}

/* The verify's summary line (a static copy), failing the test without one. */
static const char *summary(const char *out)
{
    static char line[2][4096];
    static int k;
    const char *l = fu_line(out, "{\"kernels\":");

    cr_assert_not_null(l, "no summary: %s", out);
    k ^= 1;
    snprintf(line[k], sizeof(line[k]), "%s", l);
    return line[k];
}

/* ---- a client on _INBOX.> ----------------------------------------------------------------- */

/* A client on _INBOX.> that learns the reader's delivery subject from the
 * answer to its consumer's creation (a JetStream API answer goes to the
 * asker's _INBOX) and, once that consumer has delivered all it holds (a
 * reply naming 0 pending), publishes one message onto the delivery
 * subject with the reply subject the next delivery would have. */
typedef struct spy {
    pthread_mutex_t mu;
    char deliver[256], forged[512], refused[512];
    int fired;
} spy;

static void on_inbox(natsConnection *c, natsSubscription *sub, natsMsg *m, void *arg)
{
    spy *sp = arg;
    const char *reply = natsMsg_GetReply(m), *data = natsMsg_GetData(m), *p;

    (void)sub;
    pthread_mutex_lock(&sp->mu);
    p = data ? strstr(data, "\"deliver_subject\":\"") : NULL;
    if (p != NULL) {
        p += strlen("\"deliver_subject\":\"");
        snprintf(sp->deliver, sizeof(sp->deliver), "%.*s", (int)strcspn(p, "\""), p);
    }
    if (!sp->forged[0] && reply) /* the delivery with 0 pending */
        forge_reply(reply, strlen(reply), "0", sp->forged, sizeof(sp->forged));
    if (!sp->fired && sp->deliver[0] && sp->forged[0] && /* both seen, in either order */
        natsConnection_PublishRequestString(c, sp->deliver, sp->forged, "forged") == NATS_OK) {
        sp->fired = 1;
        natsConnection_Flush(c); /* the server's answer to it comes back first */
    }
    pthread_mutex_unlock(&sp->mu);
    natsMsg_Destroy(m);
}

static void on_error(natsConnection *c, natsSubscription *sub, natsStatus err, void *arg)
{
    spy *sp = arg;
    const char *text = NULL;

    (void)sub;
    natsConnection_GetLastError(c, &text);
    pthread_mutex_lock(&sp->mu);
    snprintf(sp->refused, sizeof(sp->refused), "%d %s", (int)err, text ? text : "");
    pthread_mutex_unlock(&sp->mu);
}

/* Publish a message on a stream subject of its own and purge it (the
 * stream denies deleting one message): the stream's last position is one
 * no consumer delivers, so the reader waits for it (two seconds, then it
 * asks the leader) with its consumer idle. The spy's message would arrive
 * in that wait. */
static void purge_a_tail(void)
{
    natsConnection *c = NULL;
    jsCtx *js = NULL;
    jsPubAck *pa = NULL;
    jsErrCode je = 0;
    jsOptions o;

    cr_assert_eq(natsConnection_ConnectTo(&c, urls), NATS_OK);
    cr_assert_eq(natsConnection_JetStream(&js, c, NULL), NATS_OK);
    cr_assert_eq(js_Publish(&pa, js, "chio.tail.receipts", "x", 1, NULL, &je), NATS_OK, "%d",
                 (int)je);
    jsPubAck_Destroy(pa);
    jsOptions_Init(&o);
    o.Stream.Purge.Subject = "chio.tail.receipts";
    cr_assert_eq(js_PurgeStream(js, "CHIO", &o, &je), NATS_OK, "%d", (int)je);
    jsCtx_Destroy(js);
    natsConnection_Destroy(c);
}

/* Pinned: a client allowed on _INBOX.> sees the reader's delivery subject
 * and can publish there, but not with a $JS.ACK. reply subject, which the
 * server keeps for its own deliveries (nats-server's isReservedReply: the
 * client is told "Permissions Violation for Publish with Reply of ...",
 * the message goes nowhere). The verify ends as it does alone, with the
 * same verdict. */
Test(rev46_fleet_read, a_client_on_the_inbox_cannot_forge_a_delivery)
{
    natsOptions *o = NULL;
    natsConnection *c = NULL;
    natsSubscription *sub = NULL;
    char *base, *out, sum0[4096];
    int st0, st1;
    uint64_t ms0, ms1;
    spy sp;

    export_30();
    purge_a_tail();
    base = verify_timed(urls, 60000, &st0, &ms0);
    cr_assert_neq(st0, -1, "the verify alone ended: %s", base);
    snprintf(sum0, sizeof(sum0), "%s", summary(base));
    cr_assert_eq(fu_field(sum0, "receipts"), 30, "%s", base);

    memset(&sp, 0, sizeof(sp));
    pthread_mutex_init(&sp.mu, NULL);
    cr_assert_eq(natsOptions_Create(&o), NATS_OK);
    cr_assert_eq(natsOptions_SetURL(o, urls), NATS_OK);
    cr_assert_eq(natsOptions_SetErrorHandler(o, on_error, &sp), NATS_OK);
    cr_assert_eq(natsConnection_Connect(&c, o), NATS_OK);
    cr_assert_eq(natsConnection_Subscribe(&sub, c, "_INBOX.>", on_inbox, &sp), NATS_OK);
    cr_assert_eq(natsConnection_Flush(c), NATS_OK);
    out = verify_timed(urls, 60000, &st1, &ms1);
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(c);
    natsOptions_Destroy(o);

    pthread_mutex_lock(&sp.mu);
    cr_log_info("verify: %llu ms alone, %llu ms with a client forging on the inbox (%s on %s)",
                (unsigned long long)ms0, (unsigned long long)ms1, sp.forged, sp.deliver);
    cr_expect(sp.fired, "the spy saw the reader's consumer deliver its last message (%s)",
              sp.deliver);
    cr_expect_not_null(strstr(sp.refused, "Permissions Violation"),
                       "the server refused the spy's message: %s", sp.refused);
    pthread_mutex_unlock(&sp.mu);
    cr_expect_neq(st1, -1, "the verify ended within 60 s: %s", out);
    cr_expect_eq(st1, st0, "the same exit status: %s", out);
    cr_expect_str_eq(summary(out), sum0, "the same verdict: %s", out);
    pthread_mutex_destroy(&sp.mu);
    free(out);
    free(base);
}

/* ---- a server that forges one -------------------------------------------------------------- */

/* A TCP proxy in front of the server that passes every byte and, after
 * the first delivery naming 1 pending (the stream's last position but
 * one), writes in a delivery of its own on the same subscription with the
 * reply subject the next one would have, naming FORGED_SEQ: what a
 * hostile server, or whoever is on the path of a connection without TLS,
 * can send. */
typedef struct mitm {
    atomic_int stop;
    int lfd, injected;
    unsigned port, up_port;
    pthread_t th;
    pthread_mutex_t mu;
    char forged[512];
} mitm;

typedef struct mitm_conn {
    mitm *p;
    int cfd, sfd;
} mitm_conn;

static int write_all(int fd, const char *b, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The length of the first whole protocol operation in @b (@n bytes), 0
 * when it is not all there yet; a MSG or HMSG's reply subject in
 * *@reply / *@rlen, its subject and sid (the line's first two fields) in
 * *@head / *@hlen. */
static size_t op_len(const char *b, size_t n, const char **reply, size_t *rlen, const char **head,
                     size_t *hlen)
{
    const char *eol = memmem(b, n, "\r\n", 2), *f[6];
    size_t lf[6], line, k = 0, i = 0, body;

    *reply = NULL;
    *head = NULL;
    if (eol == NULL)
        return 0;
    line = (size_t)(eol - b);
    if (!(line > 4 && (strncmp(b, "MSG ", 4) == 0 || strncmp(b, "HMSG ", 5) == 0)))
        return line + 2;
    while (i < line && k < 6) { /* the fields of the line */
        while (i < line && b[i] == ' ')
            i++;
        f[k] = b + i;
        while (i < line && b[i] != ' ')
            i++;
        lf[k] = (size_t)(b + i - f[k]);
        k += lf[k] > 0;
    }
    if (k < 4)
        return line + 2;                         /* not one the proxy reads */
    body = (size_t)strtoull(f[k - 1], NULL, 10); /* the last field: the total size */
    if (n < line + 2 + body + 2)
        return 0;
    if (k == (b[0] == 'H' ? 6u : 5u)) { /* with a reply subject */
        *reply = f[3];
        *rlen = lf[3];
    }
    *head = f[1];
    *hlen = (size_t)(f[2] + lf[2] - f[1]);
    return line + 2 + body + 2;
}

static void *mitm_pump(void *arg)
{
    mitm_conn *mc = arg;
    mitm *p = mc->p;
    static const size_t cap = 1 << 22;
    char *buf = malloc(cap), io[65536];
    size_t have = 0;

    while (buf != NULL && !p->stop) {
        struct pollfd pf[2] = {{mc->cfd, POLLIN, 0}, {mc->sfd, POLLIN, 0}};
        ssize_t r;

        if (poll(pf, 2, 100) <= 0)
            continue;
        if (pf[0].revents) { /* client to server: as it is */
            r = read(mc->cfd, io, sizeof(io));
            if (r <= 0 || write_all(mc->sfd, io, (size_t)r) != 0)
                break;
        }
        if (pf[1].revents) { /* server to client: one whole operation at a time */
            r = read(mc->sfd, buf + have, cap - have);
            if (r <= 0)
                break;
            have += (size_t)r;
            for (;;) {
                const char *reply, *head;
                size_t rlen, hlen, n = op_len(buf, have, &reply, &rlen, &head, &hlen);
                char forged[512], op[1024];
                int inject = 0;

                if (n == 0)
                    break;
                pthread_mutex_lock(&p->mu);
                if (!p->injected && reply &&
                    forge_reply(reply, rlen, "1", forged, sizeof(forged))) {
                    p->injected = inject = 1;
                    snprintf(p->forged, sizeof(p->forged), "%s", forged);
                }
                pthread_mutex_unlock(&p->mu);
                if (write_all(mc->cfd, buf, n) != 0)
                    goto out;
                if (inject) {
                    int len = snprintf(op, sizeof(op), "MSG %.*s %s 6\r\nforged\r\n", (int)hlen,
                                       head, forged);
                    if (write_all(mc->cfd, op, (size_t)len) != 0)
                        goto out;
                }
                memmove(buf, buf + n, have - n);
                have -= n;
            }
            if (have == cap)
                break;
        }
    }
out:
    free(buf);
    close(mc->cfd);
    close(mc->sfd);
    free(mc);
    return NULL;
}

static void *mitm_accept(void *arg)
{
    mitm *p = arg;
    pthread_t th[16];
    int nth = 0, i;

    while (!p->stop) {
        struct pollfd pf = {p->lfd, POLLIN, 0};
        struct sockaddr_in a;
        mitm_conn *mc;

        if (poll(&pf, 1, 100) <= 0)
            continue;
        mc = calloc(1, sizeof(*mc));
        if (mc == NULL)
            break;
        mc->p = p;
        mc->cfd = accept(p->lfd, NULL, NULL);
        mc->sfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t)p->up_port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (mc->cfd < 0 || mc->sfd < 0 || connect(mc->sfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
            nth == 16 || pthread_create(&th[nth], NULL, mitm_pump, mc) != 0) {
            if (mc->cfd >= 0)
                close(mc->cfd);
            if (mc->sfd >= 0)
                close(mc->sfd);
            free(mc);
            continue;
        }
        nth++;
    }
    for (i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    return NULL;
}

static void mitm_start(mitm *p, const char *url)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    const char *colon = strrchr(url, ':');

    memset(p, 0, sizeof(*p));
    atomic_init(&p->stop, 0);
    pthread_mutex_init(&p->mu, NULL);
    cr_assert_not_null(colon, "%s", url);
    p->up_port = (unsigned)strtoul(colon + 1, NULL, 10);
    p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(p->lfd, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(p->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(p->lfd, 16), 0);
    cr_assert_eq(getsockname(p->lfd, (struct sockaddr *)&a, &alen), 0);
    p->port = ntohs(a.sin_port);
    cr_assert_eq(pthread_create(&p->th, NULL, mitm_accept, p), 0);
}

static void mitm_stop(mitm *p)
{
    p->stop = 1;
    pthread_join(p->th, NULL);
    close(p->lfd);
    pthread_mutex_destroy(&p->mu);
}

/* The forged delivery names no position the stream holds: the verify
 * ends in about the time it takes without it (the consumer, restarted by
 * the client past the forged position, delivers nothing more, and the
 * last position is asked of the server two seconds later), with the same
 * verdict: the 30 receipts, clean. Before, it went on asking the server
 * for every position after the stream's last, up to 2^63 - 3 (killed at
 * the 60 s deadline). */
Test(rev46_fleet_read, a_forged_delivery_past_the_streams_end_is_dropped)
{
    char *base, *out, sum0[4096], url[64];
    int st0, st1;
    uint64_t ms0, ms1;
    mitm p;

    export_30();
    base = verify_timed(urls, 60000, &st0, &ms0);
    cr_assert_eq(st0, 0, "the verify alone: %s", base);
    snprintf(sum0, sizeof(sum0), "%s", summary(base));
    cr_assert_eq(fu_field(sum0, "receipts"), 30, "%s", base);

    mitm_start(&p, urls);
    snprintf(url, sizeof(url), "nats://127.0.0.1:%u", p.port);
    out = verify_timed(url, 60000, &st1, &ms1);
    mitm_stop(&p);
    cr_log_info("verify: %llu ms alone, %llu ms with a forged delivery (%s)",
                (unsigned long long)ms0, (unsigned long long)ms1, p.forged);
    cr_assert(p.injected, "the proxy saw the delivery of the last position but one: %s", out);
    cr_expect_neq(st1, -1, "the verify ended within 60 s: %s", out);
    cr_expect_eq(st1, 0, "the stream is clean: %s", out);
    cr_expect_str_eq(summary(out), sum0, "the same verdict (the forged one is no receipt): %s",
                     out);
    free(out);
    free(base);
}
