/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mcp/feed.c - the wrapped server's stdin: the lines the gateway sends it
 * go to a bounded queue, and one sender thread writes them to the pipe in
 * order. No other thread of the gateway ever blocks on a server that
 * stopped reading its input: before review 47 every send wrote the pipe
 * itself, so such a server held the thread that reads its output (there
 * answering one of the server's requests) and the one that reads the
 * client (passing a request on), and `chio mcp serve` read no more of its
 * client and ignored SIGTERM and the end of its input for good. Past
 * CHIO__MCP_FEED_MAX bytes queued a send waits for room while the server
 * reads (a queue with nothing in it always takes one line); once it has
 * read nothing for CHIO__MCP_FEED_STALL_MS the send fails, as a send to a
 * server that has exited does, and so does every send on the full queue
 * until the server reads again. The pipe is non-blocking: the sender waits for room at
 * most 100 ms at a time, so the stop can end it whatever holds the pipe's
 * other end.
 * Locking: f->mu guards the queue and the flags; the sender writes with
 * no lock held, and once started it alone writes or closes the fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcp_internal.h"

/* One line as the server gets it: CR and LF in it written as spaces (the
 * reader ends a line there, see chio__mcp_write_line), then "\n". */
struct chio__mcp_feed_line {
    struct chio__mcp_feed_line *next;
    size_t len;  /* of text, the "\n" included */
    char text[]; /* len bytes */
};

void chio__mcp_feed_init(chio__mcp_feed *f, int fd)
{
    memset(f, 0, sizeof(*f));
    f->fd = fd;
    if (fd >= 0)
        (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    pthread_mutex_init(&f->mu, NULL);
    chio__mcp_cond_init(&f->cv);
}

static void drop_queue(chio__mcp_feed *f)
{
    while (f->head != NULL) {
        struct chio__mcp_feed_line *l = f->head;
        f->head = l->next;
        free(l);
    }
    f->tail = NULL;
    f->queued = 0;
}

/* Write @l whole (no lock held): 0, or -1 when the pipe broke or the
 * stop gave up on it (f->abort). */
static int write_whole(chio__mcp_feed *f, const struct chio__mcp_feed_line *l)
{
    size_t off = 0;

    while (off < l->len) {
        ssize_t w = write(f->fd, l->text + off, l->len - off);
        if (w > 0) {
            off += (size_t)w;
            __atomic_add_fetch(&f->written, (uint64_t)w, __ATOMIC_SEQ_CST);
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p = {f->fd, POLLOUT, 0};
            if (__atomic_load_n(&f->abort, __ATOMIC_SEQ_CST))
                return -1;
            (void)poll(&p, 1, 100);
        } else {
            return -1; /* EPIPE: the server closed its input or exited */
        }
    }
    return 0;
}

/* Hand @l and the lines after it to f->lost, then free them (no lock
 * held): a line the send of took but the server never got (review 47's
 * second pass: the request it carried waited for an answer for good). */
static void tell_lost(chio__mcp_feed *f, struct chio__mcp_feed_line *l)
{
    while (l != NULL) {
        struct chio__mcp_feed_line *next = l->next;
        f->lost(f->lost_user, l->text, l->len - 1);
        free(l);
        l = next;
    }
}

/* Write what is queued, oldest first, until the stop finds the queue
 * empty (or gives up on it); then close the pipe. After a write fails
 * nothing more is taken; what was queued goes to f->lost (when set and
 * the stop has not begun), or is dropped. */
static void *sender_main(void *arg)
{
    chio__mcp_feed *f = arg;

    pthread_mutex_lock(&f->mu);
    for (;;) {
        struct chio__mcp_feed_line *l;
        int rc;
        while (f->head == NULL && !f->closing)
            pthread_cond_wait(&f->cv, &f->mu);
        if (f->head == NULL)
            break;
        l = f->head;
        pthread_mutex_unlock(&f->mu);
        rc = write_whole(f, l);
        pthread_mutex_lock(&f->mu);
        f->head = l->next;
        if (f->head == NULL) {
            f->tail = NULL;
            f->warned = 0; /* drained: a later stall is told again */
        }
        f->queued -= l->len;
        pthread_cond_broadcast(&f->cv); /* room for a waiting send */
        if (rc != 0) {
            f->broken = 1; /* from here every send fails at once */
            if (f->lost != NULL && !f->closing) {
                /* The pipe broke with the stop not begun: @l and what is
                 * queued behind it were sends reported done. */
                f->head = f->tail = NULL;
                f->queued = 0;
                pthread_mutex_unlock(&f->mu);
                tell_lost(f, l);
                pthread_mutex_lock(&f->mu);
                continue;
            }
            drop_queue(f);
        }
        free(l);
    }
    close(f->fd);
    f->fd = -1;
    f->done = 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

int chio__mcp_feed_start(chio__mcp_feed *f)
{
    if (pthread_create(&f->sender, NULL, sender_main, f) != 0)
        return -1;
    f->started = 1;
    return 0;
}

/* A copy of @line as the server gets it (chio__mcp_feed_line). */
static struct chio__mcp_feed_line *line_new(const char *line, size_t len)
{
    struct chio__mcp_feed_line *l = malloc(sizeof(*l) + len + 1);
    size_t i;

    if (l == NULL)
        return NULL;
    l->next = NULL;
    l->len = len + 1;
    for (i = 0; i < len; i++)
        l->text[i] = line[i] == '\r' || line[i] == '\n' ? ' ' : line[i];
    l->text[len] = '\n';
    return l;
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Under f->mu: wait until @n more bytes fit the queue. 0 when they do;
 * -1 when the feed is closing or broken, or the server read nothing for
 * CHIO__MCP_FEED_STALL_MS while the queue was full (then every later send
 * on a full queue fails at once until it reads again). */
static int wait_room(chio__mcp_feed *f, size_t n)
{
    uint64_t mark = __atomic_load_n(&f->written, __ATOMIC_SEQ_CST), t0 = now_ms();

    for (;;) {
        uint64_t w = __atomic_load_n(&f->written, __ATOMIC_SEQ_CST);
        struct timespec ts;
        if (f->closing || f->broken || f->fd < 0)
            return -1;
        if (f->queued == 0 || (n <= CHIO__MCP_FEED_MAX && f->queued <= CHIO__MCP_FEED_MAX - n))
            return 0;
        if (f->stalled && w == f->stall_mark)
            return -1; /* still not reading: no second wait */
        if (w != mark) {
            mark = w;
            t0 = now_ms();
            f->stalled = 0;
        } else if (now_ms() - t0 >= CHIO__MCP_FEED_STALL_MS) {
            f->stalled = 1;
            f->stall_mark = w;
            if (!f->warned) {
                f->warned = 1;
                fprintf(stderr,
                        "chio mcp: the wrapped server does not read its input (%zu bytes wait "
                        "for it); what the gateway sends it fails until it reads\n",
                        f->queued);
            }
            return -1;
        }
        chio__mcp_deadline(&ts, 100);
        pthread_cond_timedwait(&f->cv, &f->mu, &ts);
    }
}

int chio__mcp_feed_send(chio__mcp_feed *f, const char *line, size_t len)
{
    struct chio__mcp_feed_line *l = line_new(line, len);

    if (l == NULL)
        return -1;
    pthread_mutex_lock(&f->mu);
    if (wait_room(f, l->len) != 0) {
        pthread_mutex_unlock(&f->mu);
        free(l);
        return -1;
    }
    if (f->tail != NULL)
        f->tail->next = l;
    else
        f->head = l;
    f->tail = l;
    f->queued += l->len;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return 0;
}

int chio__mcp_feed_close(chio__mcp_feed *f, int ms)
{
    struct timespec ts;
    int done;

    pthread_mutex_lock(&f->mu);
    f->closing = 1;
    pthread_cond_broadcast(&f->cv);
    if (!f->started) {
        drop_queue(f);
        if (f->fd >= 0)
            close(f->fd);
        f->fd = -1;
        f->done = 1;
    }
    chio__mcp_deadline(&ts, ms);
    while (!f->done)
        if (pthread_cond_timedwait(&f->cv, &f->mu, &ts) != 0)
            break;
    done = f->done;
    if (!done) {
        /* The server has not read what was queued in time: the sender
         * gives up within 100 ms and closes the pipe. */
        __atomic_store_n(&f->abort, 1, __ATOMIC_SEQ_CST);
        while (!f->done)
            pthread_cond_wait(&f->cv, &f->mu);
    }
    pthread_mutex_unlock(&f->mu);
    return done;
}

void chio__mcp_feed_free(chio__mcp_feed *f)
{
    if (f->started)
        pthread_join(f->sender, NULL);
    f->started = 0;
    drop_queue(f);
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    /* f->mu and f->cv are not destroyed: a send made during or after the
     * stop (an HTTP handler's) still locks them, and fails (closing). */
}
