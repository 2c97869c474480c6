/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/serve/test_rev55_held.c - the bytes a real `chio serve` holds for
 * minted tokens and their cached sessions (review 5 bounds F1). They were
 * bounded by count only (65536 of each): a token minted with a 900 KB
 * scope and evaluated once held about 2.9 MB, so one holder of the bearer
 * token could grow the sidecar toward 180 GB; tokens a --ca-key issuer
 * signed, sent inline, were held the same way. --max-held-bytes now bounds
 * both tables together: past it mint is 503 limit_reached, and a new
 * token's session lasts its call only. Each test lowers the budget and
 * watches the process's VmRSS.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chio/chio.h"
#include "common/testutil.h"
#include "serve/sidecar_proc.h"

#define SEED_HEX   "5555555555555555555555555555555555555555555555555555555555555555"
#define ISSUER_HEX "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
#define SUBJECT    "0000000000000000000000000000000000000000000000000000000000000000"
#define BEARER     "rev55-held-bearer-0123456789abcdef"
#define AUTH       "Authorization: Bearer " BEARER "\r\n"
/* The custom constraint value that makes each token about 200 KB. */
#define BIG_VALUE 200000
/* RSS the sidecar may gain past its budget: request buffers, thread
 * arenas, the store's memtable, the allocator's slack. With the budget
 * the tests gained 10 to 14 MiB; without it 45 MiB (100 tokens sent
 * inline) and 136 MiB (200 minted). */
#define RSS_SLACK_KIB (16 * 1024)

/* The sidecar's resident set, KiB (VmRSS in /proc/PID/status). */
static long rss_kib(const sidecar *sc)
{
    char path[64], *text, *p;
    long kib;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)sc->pid);
    text = testutil_read_file(path, NULL);
    cr_assert_not_null(text, "no %s", path);
    p = strstr(text, "VmRSS:");
    cr_assert_not_null(p, "%s", text);
    kib = strtol(p + strlen("VmRSS:"), NULL, 10);
    free(text);
    return kib;
}

/* A scope granting srv/any tool, with a custom constraint of @n bytes. */
static char *big_scope(size_t n)
{
    char *v = malloc(n + 1), *scope;

    cr_assert_not_null(v);
    memset(v, 'v', n);
    v[n] = '\0';
    cr_assert_gt(
        asprintf(&scope,
                 "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"*\",\"operations\":"
                 "[\"invoke\"],\"constraints\":[{\"type\":\"custom\",\"value\":[\"k\",\"%s\"]}]}]}",
                 v),
        0);
    free(v);
    return scope;
}

/* The kernel session the receipt in @answer names (malloc'd). */
static char *receipt_session(const char *answer)
{
    const char *p = strstr(answer, "\"session_id\":\"");

    cr_assert_not_null(p, "%.300s", answer);
    p += strlen("\"session_id\":\"");
    return strndup(p, strcspn(p, "\""));
}

/* Evaluate @body (a capability or capability_id and srv/t): a 200 with a
 * verdict and a receipt; the session its receipt names (malloc'd). */
static char *evaluate(const sidecar *sc, const char *body)
{
    char *reply = NULL, *sid;
    unsigned st = sidecar_post(sc, "/v1/evaluate", AUTH, body, &reply);

    cr_assert_eq(st, 200, "evaluate: %u %.300s", st, reply);
    cr_assert_not_null(strstr(reply, "\"verdict\":\""), "%.300s", reply);
    sid = receipt_session(reply);
    free(reply);
    return sid;
}

Test(rev55_held, minted_tokens_past_the_byte_budget_are_refused_and_rss_stays_bounded)
{
    static const char *const extra[] = {"--max-held-bytes", "16777216", NULL};
    char *scope = big_scope(BIG_VALUE), *body, *reply = NULL, ev[128];
    unsigned st = 0;
    long rss0, rss1;
    int i, minted, refused = 0;
    sidecar sc;

    sidecar_start_with(&sc, SEED_HEX, BEARER, extra);
    rss0 = rss_kib(&sc);
    /* 200 tokens of 200 KB, each evaluated once, held about 170 MB; the
     * budget (16 MiB) holds about 14 of them with their sessions, then
     * their tokens alone, then refuses. */
    for (minted = 0; minted < 200 && !refused; minted++) {
        cr_assert_gt(asprintf(&body,
                              "{\"subject\":\"" SUBJECT "\",\"scope\":%s,\"ttl_secs\":3600,"
                              "\"id\":\"big-%d\"}",
                              scope, minted),
                     0);
        st = sidecar_post(&sc, "/v1/capabilities/mint", AUTH, body, &reply);
        free(body);
        if (st == 503) {
            refused = 1;
            break;
        }
        cr_assert_eq(st, 200, "mint %d: %u %.300s", minted, st, reply);
        free(reply);
        reply = NULL;
        snprintf(ev, sizeof(ev),
                 "{\"capability_id\":\"big-%d\",\"tool_server\":\"srv\",\"tool_name\":\"t\"}",
                 minted);
        free(evaluate(&sc, ev));
    }
    cr_assert(refused, "%d tokens of 200 KB minted within a 16 MiB budget", minted);
    cr_expect(minted >= 10 && minted < 90, "refused after %d", minted);
    /* The count cap's answer, naming the budget. */
    cr_assert_not_null(strstr(reply, "\"code\":\"limit_reached\""), "%s", reply);
    cr_assert_not_null(strstr(reply, "--max-held-bytes (16777216 bytes"), "%s", reply);
    free(reply);
    /* Every token handed out still evaluates, cached session or not. */
    for (i = 0; i < minted; i++) {
        snprintf(ev, sizeof(ev),
                 "{\"capability_id\":\"big-%d\",\"tool_server\":\"srv\",\"tool_name\":\"t\"}", i);
        free(evaluate(&sc, ev));
    }
    rss1 = rss_kib(&sc);
#ifndef __SANITIZE_ADDRESS__ /* ASan's allocator keeps freed memory in quarantine */
    cr_assert_lt(rss1 - rss0, 16 * 1024 + RSS_SLACK_KIB, "RSS %ld KiB -> %ld KiB", rss0, rss1);
#else
    (void)rss0;
    (void)rss1;
#endif
    free(scope);
    sidecar_stop(&sc);
}

Test(rev55_held, a_ca_key_issuers_tokens_past_the_budget_get_a_session_per_call)
{
    const char *extra[] = {"--max-held-bytes", "8388608", "--ca-key", NULL, NULL};
    chio_keypair *issuer = NULL;
    char *scope = big_scope(BIG_VALUE), *body, *sid[2], id[32];
    size_t slen = strlen(scope), tlen;
    int i, kept_first = 0, kept_last = 1;
    long rss0, rss1;
    sidecar sc;

    cr_assert_eq(chio_keypair_from_seed_hex(ISSUER_HEX, 64, &issuer, NULL), 0);
    extra[3] = chio_keypair_public_hex(issuer);
    sidecar_start_with(&sc, SEED_HEX, BEARER, extra);
    rss0 = rss_kib(&sc);
    /* 100 distinct tokens of 200 KB, each sent inline twice: about 65 MB
     * of sessions held before; the budget (8 MiB) keeps the first few. */
    for (i = 0; i < 100; i++) {
        chio_capability *cap = NULL;
        const char *tok;

        snprintf(id, sizeof(id), "ca-%d", i);
        cr_assert_eq(chio_capability_issue(issuer, id, SUBJECT, scope, slen, (uint64_t)time(NULL),
                                           3600, &cap, NULL),
                     0);
        tok = chio_capability_json(cap, &tlen);
        cr_assert_gt(
            asprintf(&body, "{\"capability\":%s,\"tool_server\":\"srv\",\"tool_name\":\"t\"}", tok),
            0);
        sid[0] = evaluate(&sc, body);
        sid[1] = evaluate(&sc, body);
        if (i == 0)
            kept_first = strcmp(sid[0], sid[1]) == 0;
        if (i == 99)
            kept_last = strcmp(sid[0], sid[1]) == 0;
        free(sid[0]);
        free(sid[1]);
        free(body);
        chio_capability_free(cap);
    }
    cr_expect(kept_first, "the first token's session was not kept");
    cr_assert(!kept_last, "a token past the budget was kept");
    rss1 = rss_kib(&sc);
#ifndef __SANITIZE_ADDRESS__ /* ASan's allocator keeps freed memory in quarantine */
    cr_assert_lt(rss1 - rss0, 8 * 1024 + RSS_SLACK_KIB, "RSS %ld KiB -> %ld KiB", rss0, rss1);
#else
    (void)rss0;
    (void)rss1;
#endif
    chio_keypair_free(issuer);
    free(scope);
    sidecar_stop(&sc);
}

Test(rev55_held, max_held_bytes_out_of_range_is_refused_at_start)
{
    static const char *const bad[] = {"0", "1048575", "1099511627777", "12x"};
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *argv[] = {"serve",
                              "--receipt-db",
                              "/nonexistent/db",
                              "--seed-file",
                              "/nonexistent/seed",
                              "--max-held-bytes",
                              bad[i],
                              NULL};
        cli_result r = testutil_run_cli(argv, NULL, 0);

        cr_expect_eq(r.status, 2, "%s: exit %d", bad[i], r.status);
        cr_expect_not_null(strstr(r.err, "--max-held-bytes must be between 1048576 and"), "%s: %s",
                           bad[i], r.err);
        testutil_cli_free(&r);
    }
}
