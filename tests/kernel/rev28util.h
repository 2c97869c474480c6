/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/rev28util.h - what the review 28 suites share
 * (test_rev28_streams.c, test_rev28_nested.c): a kernel allowing sampling
 * and elicitation, with a streaming tool (srv-stream) and a sampling tool
 * (srv-sample) that follow a plan, a host that answers nested requests,
 * a session holding cap-f for every tool; a call; and the checks of what
 * a streamed output's receipt and a refused nested request's child
 * receipt bind. Criterion helpers: they fail the running test.
 */
#ifndef CHIO_TEST_REV28UTIL_H
#define CHIO_TEST_REV28UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "chio/chio.h"

#define RS_NOW   1710000300u      /* the kernels' fixed clock */
#define NO_BYTES (UINT64_MAX - 1) /* rs_setup()'s stream byte limit 0 */

/* What the tools do, and what they heard. */
typedef struct rs_plan_t {
    const char *const *chunks; /* srv-stream's chunks, NULL-ended (16 at most) */
    int rcs[16];               /* their emit results */
    const char *req;           /* the nested request (srv-sample; srv-stream after its chunks) */
    size_t req_len;
    int elicit;   /* srv-sample: elicitation instead of sampling */
    int repeat;   /* srv-sample: requests made (0: one; 32 at most) */
    int rc;       /* the last one's result */
    int rcs2[32]; /* each one's result */
} rs_plan_t;

typedef int (*rs_tool_fn)(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                          size_t len, chio_output *out);
/* One more tool server for rs_setup() (tool "t"); a NULL server ends a list. */
typedef struct rs_tool {
    const char *server;
    int streaming;
    rs_tool_fn fn;
} rs_tool;

extern rs_plan_t rs_plan;
extern int rs_running, rs_go;     /* srv-sample's hand-off: it sets 2 from 1, then waits for go */
extern unsigned rs_pause_ms;      /* srv-stream's wait between chunks */
extern uint64_t rs_duration;      /* max_stream_duration_secs for rs_setup(); 0: the default */
extern chio_nested_fn rs_handler; /* the nested handler for rs_setup(); NULL: rs_host() */
extern const char *rs_secret;     /* a secret_leak guard's pattern for rs_setup(), or NULL */
extern int rs_host_calls;         /* nested requests rs_host() answered */
extern chio_kernel *rs_k;
extern char rs_sid[CHIO_SESSION_ID_LEN + 1];

/* A chio_clock_fn reading RS_NOW. */
uint64_t rs_clock(void *ctx);
/* The host: answers "ok", counting. */
int rs_host(void *user, chio_nested_kind kind, const char *session_id, const char *req, size_t len,
            chio_output *reply);
/* srv-sample's tool: the hand-off, then rs_plan's nested requests; echoes. */
int rs_sample_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                   chio_output *out);
/* rs_k on @path (NULL: ephemeral), stream byte limit @stream_bytes (0: the
 * default; NO_BYTES: 0), max_argument_bytes @arg_cap (0: the default), the
 * two tools and @extra, the handler and guard above, and the session
 * rs_sid; rs_plan and rs_host_calls zeroed. */
void rs_setup(const char *path, uint64_t stream_bytes, uint64_t arg_cap, const rs_tool *extra);
/* Evaluate tool "t" of @server with arguments {}; a decision is required. */
void rs_call(const char *server, chio_response *r);
/* The receipt's content_hash is the SHA-256 of exactly the output got. */
void rs_expect_hash_binds_output(const chio_response *r);
/* The child receipt of a nested request refused as one no receipt can
 * hold (reason containing @why): the host was not asked, and the receipt
 * (a summary binding the hash) reads back. */
void rs_expect_refused_unrecordable(const chio_response *r, const char *why);

#endif
