/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/log.c - structured logs: one JSON object per line,
 * {"ts":..,"level":..,"event":..,"msg":..,<fields>}, to the host's sink or
 * to stderr. log_mu serialises sinks (a host sink sees one call at a time);
 * logging is off the hot path. Nothing here ever formats key material:
 * callers pass event names, library messages and numbers only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kernel_internal.h"

static const char *const level_names[] = {"debug", "info", "warn", "error"};

/* The kernels whose sinks this thread is running, innermost first (a
 * sink may call into another kernel, whose sink runs inside it; frames
 * live on the stack of chio__log). A sink that calls back into any of
 * them, directly or through another kernel's sink, would wait for a
 * log_mu its own thread holds: the line such a call logs is dropped
 * instead of hanging the host (a sink still must not call into the
 * kernel; chio_log_fn says why). Before, only the innermost kernel was
 * remembered, so A's sink calling B whose sink called A deadlocked. */
typedef struct sink_frame {
    const chio_kernel *k;
    const struct sink_frame *up;
} sink_frame;

static _Thread_local const sink_frame *in_sink;

static int sink_running(const chio_kernel *k)
{
    const sink_frame *f;

    for (f = in_sink; f != NULL; f = f->up)
        if (f->k == k)
            return 1;
    return 0;
}

void chio__log(chio_kernel *k, chio_log_level level, const char *event, const char *msg,
               const char *fields_fmt, ...)
{
    chio_buf b;
    va_list ap;
    uint64_t ts;

    if (level < k->log_level)
        return;
    /* A line logged from inside the host's clock (a refused call from it)
     * takes the wall clock's time: asking that clock again would recurse. */
    ts = chio__kernel_in_clock(k) ? (uint64_t)time(NULL) : chio__kernel_now(k);
    chio__buf_init(&b);
    chio__buf_printf(&b, "{\"ts\":%llu,\"level\":\"%s\",\"event\":\"%s\"", (unsigned long long)ts,
                     level_names[level], event);
    if (msg != NULL) {
        chio__buf_puts(&b, ",\"msg\":");
        chio__json_write_string(&b, msg, strlen(msg));
    }
    if (fields_fmt != NULL) {
        char tmp[512];
        va_start(ap, fields_fmt);
        vsnprintf(tmp, sizeof(tmp), fields_fmt, ap);
        va_end(ap);
        chio__buf_putc(&b, ',');
        chio__buf_puts(&b, tmp);
    }
    chio__buf_putc(&b, '}');
    if (!b.oom && !sink_running(k)) {
        pthread_mutex_lock(&k->log_mu);
        if (k->log != NULL) {
            sink_frame frame = {k, in_sink}; /* inside sinks of other kernels */
            in_sink = &frame;
            k->log(k->log_ctx, level, b.data, b.len);
            in_sink = frame.up;
        } else {
            /* The line and its newline in one stdio call: stdio locks each
             * call on the stream, so no other kernel's line nor any
             * fprintf(stderr) of the host lands between them (two calls,
             * serialised only by this kernel's log_mu, were split). */
            chio__buf_putc(&b, '\n');
            if (!b.oom)
                fwrite(b.data, 1, b.len, stderr);
        }
        pthread_mutex_unlock(&k->log_mu);
    }
    chio__buf_destroy(&b);
}

int chio__log_in_sink(const chio_kernel *k)
{
    return sink_running(k);
}

void chio__log_flush(chio_kernel *k)
{
    pthread_mutex_lock(&k->log_mu);
    if (k->log == NULL)
        fflush(stderr);
    pthread_mutex_unlock(&k->log_mu);
}
