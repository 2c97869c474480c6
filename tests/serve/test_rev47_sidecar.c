/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/serve/test_rev47_sidecar.c - review 47 of the sidecar, in-process
 * (chio_serve_handle(), the routes as the HTTP layer calls them). Suite
 * rev47_sidecar:
 * - a session the sidecar could not open for a reason of its own (out of
 *   memory, no randomness for the session id) was answered 400
 *   invalid_capability, as if the client's token were malformed: a client
 *   that trusts the 400 drops a good token instead of retrying. Only a
 *   token that does not parse is a 400 now; a failure after it parsed is
 *   the sidecar's (5xx). Likewise a bearer token the sidecar could not
 *   hash (out of memory) was a 401 "missing or wrong": a 500 now.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/failalloc.h"
#include "serve/serve.h"

#define BEARER "Bearer rev47-sidecar-bearer-token"

static chio_serve *srv;

static void setup(void)
{
    chio_serve_config cfg;
    chio_keypair *kp = NULL;
    chio_error err;

    cr_assert_eq(chio_keypair_generate(&kp, NULL), 0);
    memset(&cfg, 0, sizeof(cfg));
    cfg.keypair = kp;
    cfg.nosync = 1;
    cfg.bearer_token = BEARER + 7;
    cfg.quiet = 1;
    chio_error_init(&err);
    cr_assert_eq(chio_serve_new(&cfg, &srv, &err), 0, "%s", err.message);
}

static void teardown(void)
{
    fa_disarm();
    chio_serve_free(srv);
}

TestSuite(rev47_sidecar, .init = setup, .fini = teardown);

typedef struct call {
    const char *path;
    const char *body;
    unsigned status;
    char *text;
    uint64_t nth;  /* 0: no allocation fails */
    uint64_t seen; /* allocations counted */
    uint64_t failed;
    char site[64];
} call;

/* POST @c->path with @c->body; the status and the reply into @c. */
static void *post_thread(void *arg)
{
    call *c = arg;
    chio_serve_request rq;
    chio_serve_reply rep;

    memset(&rq, 0, sizeof(rq));
    memset(&rep, 0, sizeof(rep));
    rq.method = "POST";
    rq.path = c->path;
    rq.authorization = BEARER;
    rq.body = c->body;
    rq.body_len = strlen(c->body);
    if (c->nth > 0)
        fa_arm(c->nth, FA_THIS_THREAD, FA_ONLY_NTH);
    chio_serve_handle(srv, &rq, &rep);
    if (c->nth > 0) {
        c->failed = fa_failures();
        fa_failed_site(c->site, sizeof(c->site));
        c->seen = fa_disarm();
    }
    c->status = rep.status;
    c->text = rep.body != NULL ? strndup(rep.body, rep.body_len) : strdup("");
    free(rep.body);
    return NULL;
}

/* The same on a thread of its own (a fresh one: nothing of OpenSSL's
 * per-thread state is there yet), failing its @nth allocation. */
static void post_on_new_thread(call *c)
{
    pthread_t t;

    cr_assert_eq(pthread_create(&t, NULL, post_thread, c), 0);
    cr_assert_eq(pthread_join(t, NULL), 0);
}

/* A token the sidecar signed, for its first evaluation: the body of an
 * evaluate carrying it whole (so that the sidecar parses it and opens a
 * session for it). */
static char *fresh_token_body(unsigned i)
{
    char body[512], *out = NULL;
    call m = {"/v1/capabilities/mint", body, 0, NULL, 0, 0, 0, ""};
    const char *cap, *end;

    snprintf(body, sizeof(body),
             "{\"subject\":\"%064d\",\"scope\":{\"grants\":[{\"server_id\":\"s\",\"tool_name\":"
             "\"t\",\"operations\":[\"invoke\"]}]},\"id\":\"rev47-%u\"}",
             0, i);
    post_thread(&m);
    cr_assert_eq(m.status, 200, "%s", m.text);
    cap = strstr(m.text, "{\"capability\":");
    end = strstr(m.text, ",\"capability_id\":");
    cr_assert(cap != NULL && end != NULL, "%s", m.text);
    cap += strlen("{\"capability\":");
    cr_assert(asprintf(&out,
                       "{\"capability\":%.*s,\"tool_server\":\"s\",\"tool_name\":\"t\","
                       "\"parameters\":{}}",
                       (int)(end - cap), cap) > 0);
    free(m.text);
    return out;
}

/* Every allocation of an evaluation that opens a session, failed in turn:
 * the token is well formed, so the answer is a decision (200) or the
 * sidecar's own failure (5xx), never a 400 blaming the client's token. */
Test(rev47_sidecar, a_session_the_sidecar_cannot_open_is_no_400)
{
    uint64_t nth;
    unsigned fours = 0;

    cr_assert(fa_active());
    for (nth = 1; nth < 2000; nth++) {
        char *body = fresh_token_body((unsigned)nth);
        call c = {"/v1/evaluate", body, 0, NULL, nth, 0, 0, ""};

        post_on_new_thread(&c);
        if (c.status >= 400 && c.status < 500) {
            fours++;
            cr_expect(0, "allocation %llu (%s) failed: %u %s", (unsigned long long)nth, c.site,
                      c.status, c.text);
        }
        free(c.text);
        free(body);
        if (c.failed == 0)
            break; /* past the last allocation: every one was failed once */
        if (fours > 3)
            break;
    }
    cr_assert_eq(fours, 0);
}
