/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mcp/mcp_internal.h - helpers shared by the files of the MCP layer: the
 * JSON writers built on the public JSON API (chio_json_write_canonical /
 * chio_json_write_string), the line splitter, the wrapped server's child
 * process (child.c) and what a transport asks the gateway about the
 * message it is sending. No locking: each buffer belongs to one thread.
 */
#ifndef CHIO_MCP_INTERNAL_H
#define CHIO_MCP_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "chio/chio.h"
#include "../svc/svc_buf.h"
#include "../svc/svc_gate.h"
#include "../svc/svc_log.h"
#include "mcp.h"

/* A condition variable whose timed waits count on CLOCK_MONOTONIC: a wall
 * clock stepped back does not stretch a wait (before review 48 every wait
 * here was on the wall clock, and a step back of an hour left session
 * expiry, keepalives and send deadlines asleep for that hour). Every
 * condition a deadline below is waited on is made by this. */
static inline int chio__mcp_cond_init(pthread_cond_t *cv)
{
    return svc_cond_init_monotonic(cv);
}

/* *@ts = CLOCK_MONOTONIC now + @ms milliseconds (the deadline of a
 * pthread_cond_timedwait on a condition made by chio__mcp_cond_init()). */
static inline void chio__mcp_deadline(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* @v in canonical JSON ("null" for NULL). */
void chio__mcp_value(svc_buf *b, const chio_json *v);
/*
 * @obj (an object, or NULL for {}) with member @key set to the raw JSON
 * text @raw (replaced when present, appended otherwise; @raw NULL removes
 * the member).
 */
void chio__mcp_obj_set(svc_buf *b, const chio_json *obj, const char *key, const char *raw);

/* Canonical text of @v, malloc'd (NULL on failure or when @v is NULL). */
char *chio__mcp_dup_value(const chio_json *v);

/* The client request (its id, canonical JSON) that the message being sent
 * on this thread belongs to: the mediated call whose worker thread sends
 * it (a nested sampling or elicitation request, the call's answer), else
 * NULL. For the send callbacks (chio_mcp_send_fn). */
const char *chio__mcp_related_request(void);

/* Longest line accepted from either side (a bigger one is dropped). */
#define CHIO__MCP_MAX_LINE ((size_t)64 * 1024 * 1024)

/* A line splitter over one fd (starts zeroed; the caller frees buf). */
typedef struct chio__mcp_reader {
    char *buf;
    size_t len, cap;
    int skipping;   /* inside an over-long line */
    size_t dropped; /* lines dropped so far (too long, or no memory) */
} chio__mcp_reader;

typedef void (*chio__mcp_line_fn)(chio_mcp_gateway *g, const char *line, size_t len);

/* Read once from @fd and hand complete lines to @fn; 1 = more, 0 = end of
 * input or a read error. A line longer than CHIO__MCP_MAX_LINE (or one no
 * memory could be found for) is dropped, and @fn gets (NULL, 0) at its
 * end, so the reader's side can answer it (a client: a parse error);
 * r->dropped counts it as soon as it is seen (the server's reader stops
 * there: a server that sends such a line broke the protocol). */
int chio__mcp_read_lines(chio__mcp_reader *r, int fd, chio_mcp_gateway *g, chio__mcp_line_fn fn);

/* gateway.c: why the wrapped server is (about to be) taken for gone, a
 * static string that the calls it fails name in place of "the wrapped MCP
 * server exited before answering"; the first reason given counts. Set
 * before chio_mcp_gateway_server_closed(). */
void chio__mcp_server_why(chio_mcp_gateway *g, const char *why);

/* gateway.c: 1 while the gateway still works on the client's request
 * @client_id (canonical JSON): a mediated call's worker has not ended, or a
 * passed request waits for (or is being sent) its answer. An answer is
 * sent before its request stops counting here. */
int chio__mcp_request_in_flight(chio_mcp_gateway *g, const char *client_id);

/* SIGTERM and SIGINT write one byte 's' to @fd from now on; -1 restores
 * the default actions. */
void chio__mcp_signals_to(int fd);
/* 1 once SIGTERM or SIGINT came since chio__mcp_signals_to(). */
int chio__mcp_signalled(void);

/* Bytes queued for the wrapped server's stdin, at most (feed.c); a send
 * past it waits while the server reads, and fails once it has read
 * nothing for CHIO__MCP_FEED_STALL_MS. One line is always taken when none
 * is queued. */
#define CHIO__MCP_FEED_MAX      ((size_t)8 * 1024 * 1024)
#define CHIO__MCP_FEED_STALL_MS 2000

/* feed.c: the wrapped server's stdin, written by a sender thread from a
 * bounded queue (starts with chio__mcp_feed_init()). */
typedef struct chio__mcp_feed {
    int fd; /* the pipe's write end (non-blocking); the sender's once started */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct chio__mcp_feed_line *head, *tail; /* under mu */
    size_t queued;                           /* bytes in the queue; under mu */
    int closing, done, broken, warned;       /* under mu */
    int stalled;                             /* under mu: the server stopped reading */
    uint64_t stall_mark;                     /* under mu: written when it was found so */
    uint64_t written;                        /* atomic: bytes the sender wrote */
    int abort;                               /* atomic: the sender gives up */
    pthread_t sender;
    int started;
    /* Set before the start, or NULL: given (on the sender, no lock held)
     * each line a send took but the pipe broke before the server got it,
     * without its "\n"; the stop's drops are not given. */
    void (*lost)(void *user, const char *line, size_t len);
    void *lost_user;
} chio__mcp_feed;

/* Take @fd (made non-blocking) as the pipe to write. */
void chio__mcp_feed_init(chio__mcp_feed *f, int fd);
/* Start the sender thread: 0, or -1. */
int chio__mcp_feed_start(chio__mcp_feed *f);
/* Queue @line (CR and LF in it sent as spaces, a "\n" added): 0, or -1
 * when the queue stays full (the server does not read), the pipe broke,
 * the feed is closing or no memory was found. Waits
 * CHIO__MCP_FEED_STALL_MS at most on a server that reads nothing. */
int chio__mcp_feed_send(chio__mcp_feed *f, const char *line, size_t len);
/* Stop taking lines; let the sender write what is queued for up to @ms,
 * then (whatever is left dropped) close the pipe. 1 when everything queued
 * was written. */
int chio__mcp_feed_close(chio__mcp_feed *f, int ms);
/* Join the sender and free what is left (after chio__mcp_feed_close());
 * a later send still fails cleanly. */
void chio__mcp_feed_free(chio__mcp_feed *f);

/* The wrapped server: a child process with pipes for stdin and stdout. */
typedef struct chio__mcp_child {
    pid_t pid;
    chio__mcp_feed in; /* its stdin */
    int out;
    int stop[2]; /* a byte here after the stop reaped it: the reader ends */
    int pidfd;   /* readable once the child exited (-1: no pidfd) */
    int live;    /* spawned and not stopped */
    pthread_t reader;
    int reader_started;
    chio_mcp_gateway *g;
    void (*on_exit)(void *user); /* after the output ended, on the reader thread */
    void *user;
} chio__mcp_child;

/* Start @argv; -1 with errno when it cannot run (exec failures included). */
int chio__mcp_child_spawn(chio__mcp_child *c, char *const *argv);
/* Feed the child's lines to @g on a reader thread; at the end of its
 * output, or once the child exited (what it wrote read first: a process
 * it started may hold its stdout on), chio_mcp_gateway_server_closed(g)
 * then @on_exit(@user). */
int chio__mcp_child_start(chio__mcp_child *c, chio_mcp_gateway *g, void (*on_exit)(void *),
                          void *user);
/* Queue one line for its stdin (a newline is added; feed.c): 0, or -1
 * (stopped, the pipe broke, or CHIO__MCP_FEED_MAX bytes wait for a server
 * that does not read). Never blocks for long on the server. */
int chio__mcp_child_send(chio__mcp_child *c, const char *line, size_t len);
/* Let what is queued for its stdin be written (a second at most), close
 * its stdin, wait a second, SIGTERM, two more, SIGKILL; then end
 * the reader (what the server wrote is read first) and join it, even when
 * a process the server started still holds its stdout. Idempotent; a
 * no-op for a child that never started. */
void chio__mcp_child_stop(chio__mcp_child *c);

/* write(2) all of @p (retried on EINTR): 0, or -1 with errno. */
int chio__mcp_write_all(int fd, const char *p, size_t n);
/* @line as one line of newline-delimited JSON, then "\n": a CR or LF in
 * it (whitespace in valid JSON) is written as a space, because the reader
 * ends a line there (Python's text mode at a CR too) and would read the
 * rest as a message of its own. 0, or -1 with errno. */
int chio__mcp_write_line(int fd, const char *line, size_t len);

/* uri.c: @uri as the kernel decides on it and the server gets it: "%2e"
 * and "%2E" read as ".", the path's dot segments removed (RFC 3986 5.2.4);
 * scheme, authority, query and fragment unchanged. Malloc'd; NULL when out
 * of memory. */
char *chio__mcp_uri_normal(const char *uri);

/* messages.c: chio_mcp_gateway_client_line(); 1 when @line was a
 * notifications/cancelled (a notification) that cancelled a request the
 * gateway worked on: no answer to it follows. */
int chio__mcp_client_line_cancels(chio_mcp_gateway *g, const char *line, size_t len);
/* messages.c: why @root is not a JSON-RPC 2.0 message MCP accepts (an
 * object, "jsonrpc" "2.0", a string method, a string or number id, one of
 * the two), or NULL. */
const char *chio__mcp_envelope_problem(const chio_json *root);
/* messages.c: 1 for a JSON-RPC id (or progress token) the gateway takes:
 * a string, or an integer its canonical JSON writes back byte for byte
 * (no fraction, exponent or "-0"; -2^63 to 2^64-1). */
int chio__mcp_exact_id(const chio_json *idv);
/* line_id.c: the N of the "id":"chio-N" member of @line's top-level
 * object, read from its structure alone (a line no JSON parser takes);
 * 0 when there is none. */
unsigned long long chio__mcp_line_id(const char *line, size_t len);
/* refusal.c: the deny receipt of a client request (@root, its id
 * @client_id canonical) that its transport refuses before the gateway
 * sees it (@why; JSON-RPC @code), as for the gateway's own refusals;
 * returns the error's data (the caller frees it), or NULL when no receipt
 * could be committed. */
char *chio__mcp_transport_refusal(chio_mcp_gateway *g, const chio_json *root, const char *client_id,
                                  int code, const char *why);

/* methods.c: how the gateway handles a client request's @method. */
enum { CHIO__MCP_REFUSE = 0, CHIO__MCP_PASS, CHIO__MCP_CHECKED, CHIO__MCP_MEDIATE };
/* The lists whose answers are filtered to what the policy grants. */
enum {
    CHIO__MCP_LIST_TOOLS = 0,
    CHIO__MCP_LIST_RESOURCES,
    CHIO__MCP_LIST_TEMPLATES,
    CHIO__MCP_LIST_PROMPTS,
    CHIO__MCP_LIST_NONE
};
/* CHIO__MCP_MEDIATE (tools/call, resources/read, prompts/get),
 * CHIO__MCP_PASS (sent on; *@list names the list its answer is filtered
 * to, else CHIO__MCP_LIST_NONE), CHIO__MCP_CHECKED (sent on only when
 * chio__mcp_check_request() finds it granted) or CHIO__MCP_REFUSE (never
 * sent: -32601). */
int chio__mcp_client_method(const char *method, int *list);
/* 1 for the client notifications passed to the server. */
int chio__mcp_client_notification_passes(const char *method);
/* feed.c's lost callback (@gw the gateway): a line sent to the server
 * that never reached it. A request of the gateway's it carried ("chio-N")
 * fails now: a mediated call with its receipt, a passed request -32603
 * with a deny receipt. */
void chio__mcp_server_unsent(void *gw, const char *line, size_t len);
/* 1 for the server notifications MCP defines (the only ones passed to
 * the client; resources/updated further filtered). */
int chio__mcp_server_notification_known(const char *method);
/* 1 for the server requests passed to the client (sampling and
 * elicitation are the kernel's, every other one is refused). */
int chio__mcp_server_request_passes(const char *method);
/* NULL when a CHIO__MCP_CHECKED request names what the policy grants
 * (completion/complete: params.ref a granted prompt or resource, and a
 * params.argument with a string name and value, the name one of a
 * template's variables;
 * resources/subscribe and unsubscribe: params.uri a granted resource),
 * else why not (a static string). */
const char *chio__mcp_check_request(const chio_mcp_policy *p, const char *method,
                                    const chio_json *params);
/* 1 when a grant of @p with "get" names prompt @name, or one with "read"
 * matches @uri as uri.c reads it; a URI template is granted when the text
 * before its first "{" falls under a prefix grant. */
int chio__mcp_grants_prompt(const chio_mcp_policy *p, const char *name);
int chio__mcp_grants_resource(const chio_mcp_policy *p, const char *uri);
int chio__mcp_grants_template(const chio_mcp_policy *p, const char *tmpl);
/* 1 when a resources/read of @uri would pass its scope check under the
 * session's token @cap: @uri read as uri.c reads it, then the kernel's own
 * check (chio_capability_grants_read()). The lists and updates use it. */
int chio__mcp_reads_resource(const chio_capability *cap, const char *uri);
/* The params a subscription is sent with: {"uri":U}, @params' "uri" (a
 * string: checked by chio__mcp_check_request()) as uri.c reads it, and
 * no other member; raw JSON (malloc'd), NULL when out of memory. */
char *chio__mcp_normal_uri_params(const chio_json *params);
/* The params a completion/complete (checked by chio__mcp_check_request())
 * is sent with, raw JSON (malloc'd; NULL when out of memory): "ref" (its
 * type, and name or uri), "argument" (name, value) and
 * "context":{"arguments"} with its string members (for a resource
 * template, those it names), nothing else. */
char *chio__mcp_completion_params(const chio_json *params);
/* What the kernel decides for such a completion, malloc'd (NULL when out
 * of memory): for a ref/resource, the template expanded with the
 * argument's and the context's values (as written: "../" stays a path)
 * and read as uri.c reads it; for a ref/prompt, the prompt's arguments
 * (a JSON object: the context's string arguments, then the argument). */
char *chio__mcp_completion_uri(const chio_json *params);
char *chio__mcp_completion_prompt_args(const chio_json *params);
/* 1 when the policy configures a guard (forbidden_path, secret_leak). */
int chio__mcp_policy_has_guards(const chio_mcp_policy *p);
/* 0 for a server notification the client must not see: a
 * notifications/resources/updated whose URI a read under @cap could not
 * have (chio__mcp_reads_resource()). */
int chio__mcp_server_note_passes(const chio_capability *cap, const chio_json *root,
                                 const char *method);
/* @res (a list result object) with its array (tools, resources,
 * resourceTemplates or prompts) cut to the entries the policy grants (a
 * resource: one chio__mcp_reads_resource() under @cap). */
void chio__mcp_filter_list(const chio_mcp_policy *p, const chio_capability *cap, int list,
                           const chio_json *res, svc_buf *out);

#endif /* CHIO_MCP_INTERNAL_H */
