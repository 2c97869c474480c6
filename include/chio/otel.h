/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chio/otel.h - OpenTelemetry spans for evaluations (the upstream crate's
 * `otel` feature). Only in libraries built with `make OTEL=1`, which also
 * defines CHIO_OTEL for consumers (chio.pc carries it); without it nothing
 * of this is compiled into libchio and these symbols do not exist.
 *
 * Every chio_kernel_evaluate() / chio_kernel_evaluate_async() (decision or
 * error) produces one span, following the OpenTelemetry GenAI semantic
 * conventions:
 *   name                   "gen_ai.tool.call"
 *   gen_ai.operation.name  "execute_tool"
 *   gen_ai.tool.name       the tool
 *   gen_ai.tool.call.id    the request id
 *   chio.receipt.id        the receipt id (absent when the call errored)
 *   chio.kernel.id         the kernel's public key (hex)
 *   chio.server.id         the tool server
 *   chio.agent.id          the session's agent
 *   chio.session.id, chio.capability.id, chio.verdict, chio.code
 *   error.type             the code, when the call was not allowed
 * Status: OK when allowed, ERROR otherwise (message = the code).
 * Every attribute value is UTF-8 of at most 64 KiB: a caller's id or name
 * that is not UTF-8 or is longer is "[omitted: N bytes, sha256 HEX]"
 * (" not UTF-8" after the length when it is not UTF-8).
 */
#ifndef CHIO_OTEL_H
#define CHIO_OTEL_H

#include <stddef.h>
#include <stdint.h>

#include "chio/error.h"
#include "chio/export.h"
#include "chio/kernel.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CHIO_SPAN_NAME_TOOL_CALL "gen_ai.tool.call"

/* Frozen (abi.h rule 5): spans carry arrays of these. */
typedef struct chio_span_attr {
    const char *key;
    const char *value; /* every attribute is a string */
} chio_span_attr;

typedef enum chio_span_status {
    CHIO_SPAN_STATUS_UNSET = 0,
    CHIO_SPAN_STATUS_OK = 1,
    CHIO_SPAN_STATUS_ERROR = 2
} chio_span_status;

/* One finished span. Everything is owned by the kernel and valid only
 * during the exporter call; fields may be appended (abi.h rule 4). */
typedef struct chio_span {
    const char *name;
    char trace_id[33]; /* 32 lowercase hex digits */
    char span_id[17];  /* 16 lowercase hex digits */
    uint64_t start_unix_nano, end_unix_nano;
    chio_span_status status;
    const char *status_message; /* "" unless ERROR */
    const chio_span_attr *attrs;
    size_t nattrs;
} chio_span;

/*
 * An exporter: called once per span, on the thread that finished the
 * evaluation (the caller's, or a kernel thread for asynchronous ones),
 * possibly from many threads at once. It must not call back into the
 * kernel and should not block for long.
 */
typedef void (*chio_span_exporter_fn)(void *ctx, const chio_span *span);

/*
 * chio_kernel_set_span_exporter - install @fn (NULL removes it). Build
 * phase only.
 * Returns: 0; CHIO_EINVAL (@k NULL); CHIO_ESERVING once a session is open;
 * CHIO_EDRAINED. @err optional.
 * Ownership: @ctx borrowed until chio_kernel_free().
 */
CHIO_EXTERN int chio_kernel_set_span_exporter(chio_kernel *k, chio_span_exporter_fn fn, void *ctx,
                                              chio_error *err);

/* The default exporter: OTLP/JSON, one ExportTraceServiceRequest object per
 * line, appended to a file. */
typedef struct chio_otel_file_exporter chio_otel_file_exporter;

/*
 * chio_otel_file_exporter_open - open (create, append) @path for spans.
 * Returns 0, CHIO_EINVAL (@path or @out NULL), CHIO_EIO (the message names
 * the file), CHIO_ENOMEM; *@out is NULL on failure. @path borrowed.
 * Ownership: caller closes *out with chio_otel_file_exporter_close() after
 * chio_kernel_free() of every kernel using it.
 */
CHIO_EXTERN int chio_otel_file_exporter_open(const char *path, chio_otel_file_exporter **out,
                                             chio_error *err);

/* Use as chio_kernel_set_span_exporter(k, chio_otel_file_exporter_export, x).
 * A NULL @exporter or @span is ignored; @span is borrowed for the call.
 * Thread-safe: lines from concurrent spans never interleave. */
CHIO_EXTERN void chio_otel_file_exporter_export(void *exporter, const chio_span *span);

/* Flush and close. NULL is ignored. Ownership: takes @x. */
CHIO_EXTERN void chio_otel_file_exporter_close(chio_otel_file_exporter *x);

#ifdef __cplusplus
}
#endif

#endif /* CHIO_OTEL_H */
