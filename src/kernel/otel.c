/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/otel.c - OpenTelemetry spans for evaluations (chio/otel.h): the
 * span record handed to the host's exporter, and the default exporter that
 * appends OTLP/JSON lines to a file. Compiled only with CHIO_OTEL
 * (`make OTEL=1`); otherwise this file is empty.
 */
#ifdef CHIO_OTEL

#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chio/otel.h"
#include "guard_scan.h"
#include "kernel_internal.h"

uint64_t chio__otel_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int chio_kernel_set_span_exporter(chio_kernel *k, chio_span_exporter_fn fn, void *ctx,
                                  chio_error *err)
{
    if (k == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL kernel");
    pthread_mutex_lock(&k->med.build_mu);
    /* drained first, as for registration (registry.c, build_lock) */
    if (__atomic_load_n(&k->state, __ATOMIC_SEQ_CST) != KSTATE_RUNNING) {
        pthread_mutex_unlock(&k->med.build_mu);
        return chio__fail(err, CHIO_EDRAINED, CHIO_NO_OFFSET,
                          "kernel is draining or drained: nothing can be set");
    }
    if (__atomic_load_n(&k->med.serving, __ATOMIC_ACQUIRE)) {
        pthread_mutex_unlock(&k->med.build_mu);
        return chio__fail(err, CHIO_ESERVING, CHIO_NO_OFFSET,
                          "kernel is serving: set the span exporter before the first session");
    }
    k->med.span_fn = fn;
    k->med.span_ctx = ctx;
    pthread_mutex_unlock(&k->med.build_mu);
    return 0;
}

static void random_hex(char *out, size_t nbytes)
{
    uint8_t b[16];

    if (RAND_bytes(b, (int)nbytes) != 1)
        memset(b, 0x5a, nbytes); /* ids only need to be unlikely to collide */
    chio__hex_encode(b, nbytes, out);
}

/*
 * The caller's text as an attribute value: as given when it is UTF-8 of at
 * most CHIO__SPAN_MAX_VALUE bytes, else a marker in @mark naming its
 * length and SHA-256 (as a receipt names an overlong id). A call refused
 * for a tool name that is not UTF-8 still gets its span, and neither the
 * exporter nor the OTLP/JSON line may carry invalid UTF-8 or megabytes of
 * an agent's name.
 */
#define CHIO__SPAN_MAX_VALUE ((size_t)64 * 1024)
#define SPAN_MARK_CAP        128

static const char *span_value(const char *v, char mark[SPAN_MARK_CAP])
{
    size_t n;
    char hash[65];
    int utf8;

    if (v == NULL)
        return NULL;
    n = strlen(v);
    utf8 = chio__utf8_valid(v, n);
    if (utf8 && n <= CHIO__SPAN_MAX_VALUE)
        return v;
    if (chio_sha256_hex(v, n, hash) != 0)
        snprintf(hash, sizeof(hash), "unavailable");
    snprintf(mark, SPAN_MARK_CAP, "[omitted: %zu bytes%s, sha256 %s]", n, utf8 ? "" : " not UTF-8",
             hash);
    return mark;
}

/* A name the caller chose (tool, server, capability or agent id) as a span
 * carries it: the receipt's marker when a secret_leak guard flags it, as
 * the receipt stores it (decision.c); spans often leave the host for a
 * collector (review 5 O2: they carried the flagged name verbatim). */
static const char *span_name(const chio_kernel *k, const char *v, char mark[SPAN_MARK_CAP])
{
    if (v != NULL && chio__secret_named(k, v))
        return "[REDACTED:secret_leak]";
    return span_value(v, mark);
}

void chio__otel_emit(chio_kernel *k, const chio__otel_call *c)
{
    chio_span_attr attrs[14];
    char marks[6][SPAN_MARK_CAP];
    chio_span span;
    size_t n = 0;
    int ok;

    if (k->med.span_fn == NULL)
        return;
#define ATTR(k_, v_)               \
    do {                           \
        if ((v_) != NULL) {        \
            attrs[n].key = (k_);   \
            attrs[n].value = (v_); \
            n++;                   \
        }                          \
    } while (0)
    ok = c->verdict != NULL && strcmp(c->verdict, "allow") == 0;
    ATTR("gen_ai.operation.name", "execute_tool");
    ATTR("gen_ai.tool.name", span_name(k, c->tool, marks[0]));
    ATTR("gen_ai.tool.call.id", span_value(c->request_id, marks[1]));
    ATTR("chio.receipt.id", c->receipt_id);
    ATTR("chio.kernel.id", chio_keypair_public_hex(k->kp));
    ATTR("chio.server.id", span_name(k, c->server, marks[2]));
    ATTR("chio.agent.id", span_name(k, c->agent_id, marks[3]));
    ATTR("chio.session.id", span_value(c->session_id, marks[4]));
    ATTR("chio.capability.id", span_name(k, c->capability_id, marks[5]));
    ATTR("chio.verdict", c->verdict);
    ATTR("chio.code", c->code);
    if (!ok)
        ATTR("error.type", c->code);
#undef ATTR
    memset(&span, 0, sizeof(span));
    span.name = CHIO_SPAN_NAME_TOOL_CALL;
    random_hex(span.trace_id, 16);
    random_hex(span.span_id, 8);
    span.start_unix_nano = c->start_unix_nano;
    span.end_unix_nano = chio__otel_now_ns();
    span.status = ok ? CHIO_SPAN_STATUS_OK : CHIO_SPAN_STATUS_ERROR;
    span.status_message = ok ? "" : (c->code ? c->code : "error");
    span.attrs = attrs;
    span.nattrs = n;
    k->med.span_fn(k->med.span_ctx, &span);
}

/* ---- the OTLP/JSON file exporter ---------------------------------------------------------- */

struct chio_otel_file_exporter {
    FILE *f;
    pthread_mutex_t mu;
};

int chio_otel_file_exporter_open(const char *path, chio_otel_file_exporter **out, chio_error *err)
{
    chio_otel_file_exporter *x;

    if (out != NULL) /* NULL on every failure */
        *out = NULL;
    if (path == NULL || out == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL path or out");
    x = calloc(1, sizeof(*x));
    if (x == NULL)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    x->f = fopen(path, "a");
    if (x->f == NULL) {
        free(x);
        return chio__fail(err, CHIO_EIO, CHIO_NO_OFFSET, "cannot open %.200s for spans", path);
    }
    pthread_mutex_init(&x->mu, NULL);
    *out = x;
    return 0;
}

/* One ExportTraceServiceRequest (OTLP/JSON: 64-bit times as strings, ids
 * as hex, span kind INTERNAL). */
void chio_otel_file_exporter_export(void *exporter, const chio_span *s)
{
    chio_otel_file_exporter *x = exporter;
    chio_buf b;
    size_t i;

    if (x == NULL || s == NULL)
        return;
    chio__buf_init(&b);
    chio__buf_puts(&b, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":"
                       "\"service.name\",\"value\":{\"stringValue\":\"libchio\"}}]},"
                       "\"scopeSpans\":[{\"scope\":{\"name\":\"libchio\",\"version\":\"");
    chio__buf_puts(&b, CHIO_VERSION_STRING);
    chio__buf_printf(&b,
                     "\"},\"spans\":[{\"traceId\":\"%s\",\"spanId\":\"%s\",\"name\":", s->trace_id,
                     s->span_id);
    chio__json_write_string(&b, s->name, strlen(s->name));
    chio__buf_printf(&b,
                     ",\"kind\":1,\"startTimeUnixNano\":\"%llu\",\"endTimeUnixNano\":\"%llu\","
                     "\"attributes\":[",
                     (unsigned long long)s->start_unix_nano, (unsigned long long)s->end_unix_nano);
    for (i = 0; i < s->nattrs; i++) {
        chio__buf_puts(&b, i ? ",{\"key\":" : "{\"key\":");
        chio__json_write_string(&b, s->attrs[i].key, strlen(s->attrs[i].key));
        chio__buf_puts(&b, ",\"value\":{\"stringValue\":");
        chio__json_write_string(&b, s->attrs[i].value, strlen(s->attrs[i].value));
        chio__buf_puts(&b, "}}");
    }
    chio__buf_printf(&b, "],\"status\":{\"code\":%d", (int)s->status);
    if (s->status_message && s->status_message[0]) {
        chio__buf_puts(&b, ",\"message\":");
        chio__json_write_string(&b, s->status_message, strlen(s->status_message));
    }
    chio__buf_puts(&b, "}}]}]}]}\n");
    if (!b.oom) {
        pthread_mutex_lock(&x->mu);
        fwrite(b.data, 1, b.len, x->f);
        fflush(x->f);
        pthread_mutex_unlock(&x->mu);
    }
    chio__buf_destroy(&b);
}

void chio_otel_file_exporter_close(chio_otel_file_exporter *x)
{
    if (x == NULL)
        return;
    fclose(x->f);
    pthread_mutex_destroy(&x->mu);
    free(x);
}

#else
/* ISO C wants a translation unit to declare something. */
typedef int chio__otel_disabled;
#endif
