/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev48_spec.c - review 48, conformance to
 * spec/kernel.md read as an independent implementation would: the
 * scenario file format (`chio scenario run`) and the pipeline's rules.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define SCOPE_ALL \
    "{\"grants\":[{\"server_id\":\"*\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}]}"

/* A scenario opening session s1 with @tok (steps key spelt @steps_key,
 * capabilities key @caps_key, as written) and calling srv/t with it. */
static char *escaped_scenario(const char *tok, const char *steps_key, const char *caps_key)
{
    char *json;

    cr_assert_geq(asprintf(&json,
                           "{\"schema\":\"chio.scenario.v1\",\"clock\":1710000300,\"kernel\":"
                           "{\"signing_seed_hex\":\"" TK_KERNEL_SEED "\",\"policy_hash\":\"p\"},"
                           "\"tool_servers\":[{\"server_id\":\"srv\",\"tools\":[\"t\"]}],"
                           "\"%s\":[{\"op\":\"open_session\",\"session\":\"s1\",\"agent\":"
                           "\"" TK_AGENT_PUB "\",\"%s\":[%s]},{\"op\":\"call\",\"session\":\"s1\","
                           "\"capability_id\":\"cap-48\",\"server\":\"srv\",\"tool\":\"t\"}]}",
                           steps_key, caps_key, tok),
                  0);
    return json;
}

/*
 * A scenario file is JSON: a member name written with escapes is the
 * same name ("st\u0065ps" is "steps"). The reader accepted such a file,
 * but the walk that finds each token's text as written compared keys as
 * written, so every open_session of the file failed ("its text as written
 * could not be found") and every call after it was unknown_session.
 */
Test(rev48_spec, a_scenario_key_written_with_escapes_is_the_same_key)
{
    static const char *const keys[][2] = {
        {"steps", "capabilities"},
        {"st\\u0065ps", "capabilities"},
        {"steps", "capabilit\\u0069es"},
        {"\\u0073teps", "\\u0063apabilities"},
    };
    char *dir = testutil_tmpdir();
    char *tok =
        tk_token(TK_KERNEL_SEED, "cap-48", TK_AGENT_PUB, SCOPE_ALL, 1710000000, 1000, NULL, 0);
    size_t i;

    cr_assert_not_null(tok);
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char *json = escaped_scenario(tok, keys[i][0], keys[i][1]);
        cli_result r = testutil_run_scenario_text(dir, json);
        cr_expect_eq(r.status, 0, "keys %zu: exit %d: %s", i, r.status, r.err);
        cr_expect(strstr(r.out, "{\"ok\":true,\"op\":\"open_session\",\"step\":0}") != NULL,
                  "keys %zu (%s, %s): the session did not open: %s", i, keys[i][0], keys[i][1],
                  r.out);
        cr_expect(strstr(r.out, "\"step\":1,\"verdict\":\"allow\"") != NULL, "keys %zu: %s", i,
                  r.out);
        testutil_cli_free(&r);
        free(json);
    }
    free(tok);
    testutil_rmrf(dir);
    free(dir);
}

/* The same for a call's "arguments" written with an escape: arguments the
 * parser refuses (a lone surrogate) are that call's invalid arguments, an
 * error with no receipt (kernel.md), whatever the key's spelling; before,
 * the lift compared the key as written and refused the whole file. */
Test(rev48_spec, escaped_arguments_key_still_makes_the_calls_error_not_the_files)
{
    char *dir = testutil_tmpdir(), *json;
    char *tok =
        tk_token(TK_KERNEL_SEED, "cap-48", TK_AGENT_PUB, SCOPE_ALL, 1710000000, 1000, NULL, 0);
    cli_result r;

    cr_assert_not_null(tok);
    cr_assert_geq(
        asprintf(&json,
                 "{\"clock\":1710000300,\"kernel\":{\"signing_seed_hex\":\"" TK_KERNEL_SEED
                 "\"},\"tool_servers\":[{\"server_id\":\"srv\",\"tools\":[\"t\"]}],"
                 "\"steps\":[{\"op\":\"open_session\",\"session\":\"s1\",\"agent\":"
                 "\"" TK_AGENT_PUB "\",\"capabilities\":[%s]},{\"op\":\"call\","
                 "\"session\":\"s1\",\"capability_id\":\"cap-48\",\"server\":\"srv\","
                 "\"tool\":\"t\",\"argum\\u0065nts\":{\"a\":\"\\ud800\"}}]}",
                 tok),
        0);
    r = testutil_run_scenario_text(dir, json);
    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_expect(strstr(r.out, "\"code\":\"invalid_arguments\"") != NULL &&
                  strstr(r.out, "\"step\":1,\"verdict\":\"error\"") != NULL,
              "%s", r.out);
    testutil_cli_free(&r);
    free(json);
    free(tok);
    testutil_rmrf(dir);
    free(dir);
}

/* ---- a session closed while a call is in flight (kernel.md "Sessions") -------------------- */

typedef struct inflight {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int started, go;
    int nested_rc;
    chio_kernel *k;
    const char *sid;
    int rc;
    chio_response resp;
} inflight;

static void wait_flag(inflight *f, int *flag)
{
    struct timespec dl;

    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 60;
    pthread_mutex_lock(&f->mu);
    while (!*flag && pthread_cond_timedwait(&f->cv, &f->mu, &dl) == 0)
        ;
    pthread_mutex_unlock(&f->mu);
}

static void set_flag(inflight *f, int *flag)
{
    pthread_mutex_lock(&f->mu);
    *flag = 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

/* The tool: says it started, waits for the test, then makes a nested
 * sampling request (the call is still in flight) and echoes. */
static int held_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                     chio_output *out)
{
    static const char req[] = "{\"max_tokens\":8,\"messages\":[{\"content\":{\"text\":\"q\","
                              "\"type\":\"text\"},\"role\":\"user\"}]}";
    inflight *f = user;
    char *reply = NULL;
    size_t rlen;

    (void)tool;
    set_flag(f, &f->started);
    wait_flag(f, &f->go);
    f->nested_rc = chio_tool_ctx_sample(ctx, req, sizeof(req) - 1, 0, &reply, &rlen, NULL);
    chio_free(reply);
    return chio_output_set_json(out, args, len);
}

static void *caller(void *arg)
{
    inflight *f = arg;
    chio_call c;

    memset(&c, 0, sizeof(c));
    c.session_id = f->sid;
    c.capability_id = "cap-48";
    c.server_id = "srv";
    c.tool_name = "t";
    c.arguments_json = "{}";
    c.arguments_len = 2;
    f->rc = chio_kernel_evaluate(f->k, &c, &f->resp, NULL);
    return NULL;
}

/*
 * kernel.md: close_session with calls in flight forces the session to
 * draining and fails "cannot close while N request(s) remain active"; a
 * draining session refuses new calls with an error and no receipt; calls
 * already in flight finish normally (here: the tool's nested request is
 * still allowed and the call ends allowed, with its child receipt); then
 * the close succeeds and a second close is a no-op.
 */
Test(rev48_spec, a_session_closed_during_a_call_lets_that_call_finish_normally)
{
    uint64_t now = 1710000300;
    chio_kernel_config cfg;
    chio_kernel_metrics m0, m1;
    char sid[CHIO_SESSION_ID_LEN + 1];
    inflight f;
    pthread_t th;
    chio_response late;
    chio_error err;
    chio_call c;
    chio_kernel *k;
    int rc;

    memset(&f, 0, sizeof(f));
    pthread_mutex_init(&f.mu, NULL);
    pthread_cond_init(&f.cv, NULL);
    kt_config(&cfg, NULL);
    cfg.clock = kt_clock_at;
    cfg.clock_ctx = &now;
    cfg.allow_sampling = 1;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    {
        static const char *const tools[] = {"t"};
        chio_tool_server ts;
        memset(&ts, 0, sizeof(ts));
        ts.server_id = "srv";
        ts.tool_names = tools;
        ts.ntools = 1;
        ts.invoke = held_tool;
        ts.user = &f;
        cr_assert_eq(chio_kernel_register_tool_server(k, &ts, NULL), 0);
    }
    kt_grant_session(k, now, "cap-48", "", sid);
    f.k = k;
    f.sid = sid;
    cr_assert_eq(pthread_create(&th, NULL, caller, &f), 0);
    wait_flag(&f, &f.started);
    cr_assert(f.started, "the tool never started");

    chio_error_init(&err);
    rc = chio_kernel_close_session(k, sid, &err);
    cr_expect_eq(rc, CHIO_ESESSION_ACTIVE, "close with a call in flight: %d (%s)", rc, err.message);
    cr_expect(strstr(err.message, "cannot close while 1 request(s) remain active") != NULL, "%s",
              err.message);

    /* Forced to draining: a new call is an error without a receipt. */
    chio_kernel_metrics_get(k, &m0);
    memset(&c, 0, sizeof(c));
    c.session_id = sid;
    c.capability_id = "cap-48";
    c.server_id = "srv";
    c.tool_name = "t";
    rc = chio_kernel_evaluate(k, &c, &late, NULL);
    cr_expect_eq(rc, CHIO_ESESSION_DRAINING, "a new call on the draining session: %d", rc);
    chio_kernel_metrics_get(k, &m1);
    cr_expect_eq(m1.receipts_signed, m0.receipts_signed, "the refused call left a receipt");

    set_flag(&f, &f.go);
    pthread_join(th, NULL);
    cr_expect_eq(f.rc, 0, "the call in flight failed: %d", f.rc);
    cr_expect_eq(f.resp.verdict, CHIO_VERDICT_ALLOW, "verdict %d code %s", f.resp.verdict,
                 chio_code_name(f.resp.code));
    cr_expect_eq(f.nested_rc, 0, "its nested request was refused: %d", f.nested_rc);
    cr_expect_eq(f.resp.nchildren, 1, "child receipts: %zu", f.resp.nchildren);
    chio_response_destroy(&f.resp);

    cr_expect_eq(chio_kernel_close_session(k, sid, &err), 0, "%s", err.message);
    cr_expect_eq(chio_kernel_close_session(k, sid, &err), 0, "closing a closed session: %s",
                 err.message);
    chio_kernel_free(k);
    pthread_mutex_destroy(&f.mu);
    pthread_cond_destroy(&f.cv);
}
