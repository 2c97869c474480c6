/* SPDX-License-Identifier: Apache-2.0 */
/*
 * perf/bench_core.c - single-thread throughput of the foundation layer,
 * measured against the raw OpenSSL Ed25519 signing rate in the same run
 * (absolute numbers drift on shared machines; the ratios are what to
 * compare). Prints a table, or one JSON object with --json.
 *
 *   build/perf/bench-core [--json] [--seconds S]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chio/chio.h"

static double seconds_per_case = 0.5;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef int (*op_fn)(void *ctx);

/* Run @fn in batches until the time budget is spent; returns ops/s. */
static double rate(op_fn fn, void *ctx)
{
    double start = now_s(), elapsed;
    long n = 0, batch = 16, i;

    do {
        for (i = 0; i < batch; i++)
            if (fn(ctx) != 0) {
                fprintf(stderr, "bench: operation failed\n");
                exit(1);
            }
        n += batch;
        elapsed = now_s() - start;
    } while (elapsed < seconds_per_case);
    return (double)n / elapsed;
}

static const char *receipt_body =
    "{\"timestamp\":1710000200,\"capability_id\":\"cap-bench-0001\",\"tool_server\":\"srv-files\","
    "\"tool_name\":\"file_read\",\"action\":{\"parameters\":{\"path\":\"/workspace/docs/"
    "roadmap.md\",\"mode\":\"read\",\"limit\":4096}},\"decision\":{\"verdict\":\"allow\"},"
    "\"receipt_kind\":\"mediated_decision\",\"boundary_class\":\"prevent\",\"tool_origin\":"
    "\"caller_executed\",\"redaction_mode\":\"none\",\"content_hash\":"
    "\"4062edaf750fb8074e7e83e0c9028c94e32468a8b6f1614774328ef045150f93\",\"policy_hash\":"
    "\"policy-bench-v1\",\"evidence\":[{\"guard_name\":\"ForbiddenPathGuard\",\"verdict\":true,"
    "\"details\":\"path allowed\"}],\"metadata\":{\"receipt_context\":{\"request_id\":\"req-1\","
    "\"session_id\":\"sess-AAAAAAAAAAAAAAAAAAAAAA\"}},\"trust_level\":\"mediated\"}";

typedef struct ctx {
    chio_keypair *kp;
    uint8_t pub[32];
    uint8_t sig[64];
    const char *msg;
    size_t msglen;
    chio_receipt *receipt;
    const char *receipt_json;
    size_t receipt_len;
    const char *cap_json;
    size_t cap_len;
} ctx;

static int op_sign(void *p)
{
    ctx *c = p;
    return chio_keypair_sign(c->kp, c->msg, c->msglen, c->sig);
}

static int op_verify(void *p)
{
    ctx *c = p;
    return chio_ed25519_verify(c->pub, c->msg, c->msglen, c->sig);
}

static int op_sha(void *p)
{
    ctx *c = p;
    uint8_t h[32];
    return chio_sha256(c->receipt_json, c->receipt_len, h);
}

static int op_canon(void *p)
{
    ctx *c = p;
    char *out;
    size_t len;
    int rc = chio_json_canonicalize(c->receipt_json, c->receipt_len, &out, &len, NULL);
    chio_free(out);
    return rc;
}

static int op_receipt_sign(void *p)
{
    ctx *c = p;
    chio_receipt *r;
    int rc = chio_receipt_sign_json(receipt_body, strlen(receipt_body), c->kp, &r, NULL);
    chio_receipt_free(r);
    return rc;
}

static int op_receipt_verify(void *p)
{
    ctx *c = p;
    chio_receipt *r;
    chio_receipt_report rep;
    int rc = chio_receipt_parse(c->receipt_json, c->receipt_len, &r, NULL);
    if (rc == 0)
        rc = chio_receipt_verify(r, c->pub, 1, &rep);
    chio_receipt_free(r);
    return rc != 0 ? rc : rep.ok ? 0 : -1;
}

static int op_cap_verify(void *p)
{
    ctx *c = p;
    chio_capability *cap;
    chio_capability_report rep;
    int rc = chio_capability_parse(c->cap_json, c->cap_len, &cap, NULL);
    if (rc == 0)
        rc = chio_capability_verify(cap, 1710000300, c->pub, 1, 4, &rep);
    chio_capability_free(cap);
    return rc != 0 ? rc : rep.ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *scope = "{\"grants\":[{\"server_id\":\"srv-files\",\"tool_name\":\"file_read\","
                        "\"operations\":[\"invoke\"],\"constraints\":[{\"type\":\"path_prefix\","
                        "\"value\":\"/workspace/\"}]}]}";
    chio_capability *cap;
    ctx c;
    int json = 0, i;
    double sign, verify, sha, canon, rsign, rverify, cverify;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds_per_case = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: bench-core [--json] [--seconds S]\n");
            return 2;
        }
    }
    memset(&c, 0, sizeof(c));
    if (chio_keypair_generate(&c.kp, NULL) != 0)
        return 1;
    chio_keypair_public_key(c.kp, c.pub);
    if (chio_receipt_sign_json(receipt_body, strlen(receipt_body), c.kp, &c.receipt, NULL) != 0)
        return 1;
    c.receipt_json = chio_receipt_json(c.receipt, &c.receipt_len);
    /* The raw rate signs a message of the same size as a receipt's. */
    c.msg = c.receipt_json;
    c.msglen = c.receipt_len;
    chio_keypair_sign(c.kp, c.msg, c.msglen, c.sig);
    if (chio_capability_issue(c.kp, "cap-bench", chio_keypair_public_hex(c.kp), scope,
                              strlen(scope), 1710000200, 600, &cap, NULL) != 0)
        return 1;
    c.cap_json = chio_capability_json(cap, &c.cap_len);

    sign = rate(op_sign, &c);
    verify = rate(op_verify, &c);
    sha = rate(op_sha, &c);
    canon = rate(op_canon, &c);
    rsign = rate(op_receipt_sign, &c);
    rverify = rate(op_receipt_verify, &c);
    cverify = rate(op_cap_verify, &c);

    if (json) {
        printf("{\"receipt_bytes\":%zu,\"raw_sign_per_sec\":%.0f,\"raw_verify_per_sec\":%.0f,"
               "\"sha256_receipt_per_sec\":%.0f,\"canonicalize_receipt_per_sec\":%.0f,"
               "\"receipt_sign_per_sec\":%.0f,\"receipt_verify_per_sec\":%.0f,"
               "\"capability_verify_per_sec\":%.0f,\"ratio_receipt_sign_to_raw\":%.3f,"
               "\"ratio_receipt_verify_to_raw_verify\":%.3f}\n",
               c.receipt_len, sign, verify, sha, canon, rsign, rverify, cverify, rsign / sign,
               rverify / verify);
    } else {
        printf("libchio core benchmarks (1 thread, %.1f s per case, receipt %zu bytes)\n",
               seconds_per_case, c.receipt_len);
        printf("  %-36s %12.0f /s\n", "raw Ed25519 sign (OpenSSL)", sign);
        printf("  %-36s %12.0f /s\n", "raw Ed25519 verify (OpenSSL)", verify);
        printf("  %-36s %12.0f /s\n", "SHA-256 of a receipt", sha);
        printf("  %-36s %12.0f /s\n", "parse + canonicalize a receipt", canon);
        printf("  %-36s %12.0f /s  (%.2f x raw sign)\n", "receipt sign (parse, id, sign, write)",
               rsign, rsign / sign);
        printf("  %-36s %12.0f /s  (%.2f x raw verify)\n", "receipt parse + verify", rverify,
               rverify / verify);
        printf("  %-36s %12.0f /s\n", "capability parse + verify", cverify);
    }
    chio_capability_free(cap);
    chio_receipt_free(c.receipt);
    chio_keypair_free(c.kp);
    return 0;
}
