/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev28_config.c - review 28: the kernel's configuration
 * and lifecycle (spec/kernel.md "Configuration", "Lifecycle") as an
 * independent implementation of the spec checks them. Real kernel, real
 * Ed25519, real RocksDB in a fresh temporary directory.
 *
 *  - checkpoints an earlier run owes (it ran with checkpoint_batch_size 0,
 *    or a larger batch) were caught up at start with every leaf since the
 *    last checkpoint in memory (unbounded, past the 32 MiB that
 *    CHIO_MAX_CHECKPOINT_BATCH_SIZE promises) and a memmove of the rest
 *    after each one cut (quadratic: minutes for a log of a few hundred
 *    thousand receipts, hours for millions). Now they are cut while the
 *    log is read, holding one batch of leaves, and written in chunks.
 *  - a kernel that served and then drained answered registration with
 *    CHIO_ESERVING; after drain every call is refused as drained
 *    (docs/spec-reading.md), registration too.
 * And guards of what held: the keypair is taken over and wiped exactly
 * once whatever chio_kernel_new() answers; building, registering and
 * opening a session start no thread; policy_hash goes into receipts byte
 * for byte, whatever UTF-8 it is.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel_internal.h"

static char *dir;

static void setup(void)
{
    dir = testutil_tmpdir();
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
}

TestSuite(rev28_config, .init = setup, .fini = teardown);

static char *path_in(const char *name)
{
    char *p;

    cr_assert_geq(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

static chio_kernel *kernel_on(const char *path, uint64_t batch)
{
    chio_kernel_config cfg;

    kt_config(&cfg, path);
    cfg.checkpoint_batch_size = batch;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    return kt_kernel(&cfg);
}

static void sign_n(chio_kernel *k, uint64_t from, uint64_t n)
{
    chio_receipt *r;
    chio_error err;
    uint64_t i;

    chio_error_init(&err);
    for (i = from; i < from + n; i++) {
        r = NULL;
        cr_assert_eq(chio_kernel_sign_receipt(k, kt_builder(i), &r, &err), 0, "%s", err.message);
        chio_receipt_free(r);
    }
}

/* ---- owed checkpoints --------------------------------------------------------------------- */

/* 1800 receipts without checkpoints, then a batch of 7: 257 are owed
 * (more than one write's chunk), one receipt stays open. */
#define OWED_RECEIPTS 1800u
#define OWED_BATCH    7u
#define OWED_CPS      (OWED_RECEIPTS / OWED_BATCH)

Test(rev28_config, owed_checkpoints_are_cut_while_reading_holding_one_batch_of_leaves)
{
    char *path = path_in("owed");
    chio_kernel_metrics m;
    chio_kernel *k;
    chio_error err;
    kt_log_report rep;

    k = kernel_on(path, 0);
    sign_n(k, 1, OWED_RECEIPTS);
    chio_kernel_free(k);

    k = kernel_on(path, OWED_BATCH);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_start(k, &err), 0, "%s", err.message);
    /* One batch of leaves at most (the array starts at 128 and doubles):
     * before, every leaf since the last checkpoint was held. */
    cr_expect_leq(k->cap_pending, 128, "%llu leaves' room held for a batch of %u",
                  (unsigned long long)k->cap_pending, OWED_BATCH);
    cr_expect_eq(k->npending, OWED_RECEIPTS - OWED_CPS * OWED_BATCH);
    chio_kernel_metrics_get(k, &m);
    cr_expect_eq(m.last_checkpoint_seq, OWED_CPS);
    cr_expect_eq(m.checkpoints, OWED_CPS);
    /* The open batch goes on where the catch-up left it. */
    sign_n(k, OWED_RECEIPTS + 1, OWED_BATCH);
    kt_wait_checkpoint(k, OWED_CPS + 1);
    cr_assert_eq(chio_kernel_drain(k, &err), 0, "%s", err.message);
    chio_kernel_free(k);
    rep = kt_check_log(path, OWED_BATCH);
    cr_expect_eq(rep.receipts, OWED_RECEIPTS + OWED_BATCH);
    cr_expect_eq(rep.checkpoints, OWED_CPS + 1);
    free(path);
}

Test(rev28_config, a_smaller_batch_on_reopen_catches_up_in_chunks)
{
    char *path = path_in("smaller");
    chio_kernel_metrics m;
    chio_kernel *k;
    chio_error err;
    kt_log_report rep;

    k = kernel_on(path, 1000);
    sign_n(k, 1, 600); /* no checkpoint yet: 600 leaves open */
    chio_kernel_free(k);
    k = kernel_on(path, 1); /* 600 owed, three chunks */
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_start(k, &err), 0, "%s", err.message);
    cr_expect_leq(k->cap_pending, 128);
    cr_expect_eq(k->npending, 0);
    chio_kernel_metrics_get(k, &m);
    cr_expect_eq(m.last_checkpoint_seq, 600);
    chio_kernel_free(k);
    rep = kt_check_log(path, 1);
    cr_expect_eq(rep.checkpoints, 600);
    free(path);
}

Test(rev28_config, a_swapped_receipt_in_the_owed_range_is_refused_before_any_checkpoint)
{
    char *path = path_in("swapped"), *other;
    chio_store *s = NULL;
    chio_kernel *k;
    chio_error err;
    uint64_t last_cp = 99;
    size_t len = 0;

    k = kernel_on(path, 0);
    sign_n(k, 1, 40);
    chio_kernel_free(k);
    /* Receipt 30 replaced by a copy of 31: each verifies, the chain breaks. */
    other = testutil_stored(path, 0, 31, &len);
    cr_assert_not_null(other);
    testutil_raw_write_seq(path, "receipts", 30, other, len);
    free(other);
    k = kernel_on(path, 7); /* five checkpoints owed, the first before receipt 30 */
    chio_error_init(&err);
    cr_expect_eq(chio_kernel_start(k, &err), CHIO_ECORRUPT, "%s", err.message);
    chio_kernel_free(k);
    cr_assert_eq(chio_store_open(path, CHIO_STORE_READ_ONLY, &s, &err), 0, "%s", err.message);
    cr_assert_eq(chio_store_last_checkpoint_seq(s, &last_cp, &err), 0);
    cr_expect_eq(last_cp, 0, "checkpoint %llu was signed over a log that fails its chain",
                 (unsigned long long)last_cp);
    chio_store_close(s);
    free(path);
}

/* ---- registration after drain ------------------------------------------------------------ */

static int rp_read(void *user, const char *uri, chio_output *out)
{
    (void)user;
    (void)uri;
    (void)out;
    return CHIO_ENOTMINE;
}

static int pp_get(void *user, const char *name, const char *args, size_t len, chio_output *out)
{
    (void)user;
    (void)name;
    (void)args;
    (void)len;
    (void)out;
    return CHIO_ENOTMINE;
}

static int pass_guard(void *user, const chio_guard_input *in, chio_guard_verdict *verdict,
                      char *details, size_t cap)
{
    (void)user;
    (void)in;
    (void)details;
    (void)cap;
    *verdict = CHIO_GUARD_PASS;
    return 0;
}

static int null_nested(void *user, chio_nested_kind kind, const char *sid, const char *req,
                       size_t len, chio_output *reply)
{
    (void)user;
    (void)kind;
    (void)sid;
    (void)req;
    (void)len;
    return chio_output_set_json(reply, "null", 4);
}

/* Every registration call on @k answers @want. */
static void registration_answers(chio_kernel *k, int want)
{
    static const char *const tools[] = {"t"};
    chio_resource_provider rp;
    chio_prompt_provider pp;
    chio_tool_server ts;
    chio_error err;

    memset(&ts, 0, sizeof(ts));
    ts.server_id = "late";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = kt_echo_tool;
    memset(&rp, 0, sizeof(rp));
    rp.provider_id = "late-r";
    rp.read = rp_read;
    memset(&pp, 0, sizeof(pp));
    pp.provider_id = "late-p";
    pp.get = pp_get;
    chio_error_init(&err);
    cr_expect_eq(chio_kernel_register_tool_server(k, &ts, &err), want, "%s", err.message);
    cr_expect_eq(chio_kernel_register_resource_provider(k, &rp, &err), want, "%s", err.message);
    cr_expect_eq(chio_kernel_register_prompt_provider(k, &pp, &err), want, "%s", err.message);
    cr_expect_eq(chio_kernel_add_guard(k, "g1", pass_guard, NULL, &err), want, "%s", err.message);
    cr_expect_eq(chio_kernel_add_forbidden_path_guard(k, "g2", NULL, 0, &err), want, "%s",
                 err.message);
    cr_expect_eq(chio_kernel_add_secret_leak_guard(k, "g3", NULL, 0, &err), want, "%s",
                 err.message);
    cr_expect_eq(chio_kernel_set_nested_handler(k, null_nested, NULL, &err), want, "%s",
                 err.message);
}

Test(rev28_config, a_kernel_that_served_and_drained_refuses_registration_as_drained)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = kernel_on(NULL, 100);
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(k, "agent", NULL, NULL, 0, sid, &err), 0, "%s",
                 err.message);
    registration_answers(k, CHIO_ESERVING); /* serving: closed */
    cr_assert_eq(chio_kernel_drain(k, &err), 0, "%s", err.message);
    registration_answers(k, CHIO_EDRAINED); /* drained, served or not */
    chio_kernel_free(k);
}

/* ---- the keypair -------------------------------------------------------------------------- */

static int g_frees, g_wiped;

static void count_free(const void *mem, size_t len)
{
    const unsigned char *p = mem;
    size_t i;

    g_frees++;
    for (i = 0; i < len && p[i] == 0; i++)
        ;
    g_wiped += i == len;
}

static void no_policy(chio_kernel_config *c)
{
    c->policy_hash = NULL;
}
static void empty_policy(chio_kernel_config *c)
{
    c->policy_hash = "";
}
static void latin1_policy(chio_kernel_config *c)
{
    c->policy_hash = "caf\xe9";
}
static void small_order_ca(chio_kernel_config *c)
{
    static const uint8_t keys[64] = {[32] = 1}; /* a zero key (not small order), then 01 00 .. */
    c->ca_public_keys = keys;
    c->n_ca_public_keys = 2;
}
static void ca_without_keys(chio_kernel_config *c)
{
    c->n_ca_public_keys = 1;
}
static void reserved_set(chio_kernel_config *c)
{
    c->reserved[4] = c; /* the last one */
}
static void retention_without_archive(chio_kernel_config *c)
{
    c->retention_config.enabled = 1;
}
static void no_change(chio_kernel_config *c)
{
    (void)c;
}

/* chio_kernel_new() on the test config changed by @mutate: the keypair is
 * freed, wiped, exactly once, by the failed call or by chio_kernel_free(). */
static void keypair_freed_once(void (*mutate)(chio_kernel_config *), int want, int null_out)
{
    chio_kernel_config cfg;
    chio_kernel *k = NULL;
    chio_error err;
    int rc;

    kt_config(&cfg, "/nonexistent/never-opened");
    mutate(&cfg);
    g_frees = g_wiped = 0;
    chio__keypair_set_free_hook(count_free);
    chio_error_init(&err);
    rc = chio_kernel_new(&cfg, null_out ? NULL : &k, &err);
    cr_expect_eq(rc, want, "answered %d (%s), want %d", rc, err.message, want);
    if (rc == 0) {
        cr_expect_eq(g_frees, 0, "the kernel's key was freed while the kernel lives");
        chio_kernel_free(k);
    } else {
        cr_expect_null(k);
    }
    chio__keypair_set_free_hook(NULL);
    cr_expect_eq(g_frees, 1, "the keypair was freed %d times (answer %d)", g_frees, rc);
    cr_expect_eq(g_wiped, g_frees, "a freed keypair was not wiped");
}

Test(rev28_config, the_keypair_is_taken_and_wiped_once_whatever_kernel_new_answers)
{
    keypair_freed_once(no_change, 0, 0);
    keypair_freed_once(no_change, CHIO_EINVAL, 1);
    keypair_freed_once(no_policy, CHIO_ECONFIG, 0);
    keypair_freed_once(empty_policy, CHIO_ECONFIG, 0);
    keypair_freed_once(latin1_policy, CHIO_ECONFIG, 0);
    keypair_freed_once(small_order_ca, CHIO_ECONFIG, 0);
    keypair_freed_once(ca_without_keys, CHIO_ECONFIG, 0);
    keypair_freed_once(reserved_set, CHIO_ECONFIG, 0);
    keypair_freed_once(retention_without_archive, CHIO_ECONFIG, 0);
}

/* ---- build starts no thread ----------------------------------------------------------------- */

Test(rev28_config, building_registering_and_opening_a_session_start_no_thread)
{
    static const char *const prefixes[] = {"/etc/"}, *const patterns[] = {"AKIA[A-Z0-9]{16}"};
    char *path = path_in("threads"), sid[CHIO_SESSION_ID_LEN + 1];
    static const char *const tools[] = {"t"};
    int before = kt_threads();
    chio_kernel *k;
    chio_error err;

    k = kernel_on(path, 100);
    kt_serve_echo(k, "srv", tools, 1);
    cr_assert_eq(chio_kernel_add_forbidden_path_guard(k, "fp", prefixes, 1, &err), 0);
    cr_assert_eq(chio_kernel_add_secret_leak_guard(k, "sl", patterns, 1, &err), 0);
    cr_assert_eq(chio_kernel_set_nested_handler(k, null_nested, NULL, &err), 0);
    cr_assert_eq(chio_kernel_open_session(k, "agent", NULL, NULL, 0, sid, &err), 0, "%s",
                 err.message);
    cr_expect_eq(kt_threads(), before, "the build phase started a thread");
    sign_n(k, 1, 1); /* the first signing request starts them */
    cr_expect_gt(kt_threads(), before);
    chio_kernel_free(k);
    free(path);
}

/* ---- policy_hash verbatim ------------------------------------------------------------------ */

/* A kernel with @policy signs a receipt carrying exactly @policy (not the
 * builder's own), which verifies, also once parsed back. */
static void embedded_verbatim(const char *policy)
{
    chio_kernel_config cfg;
    chio_receipt_builder *b = kt_builder(1);
    chio_receipt *r = NULL, *back = NULL;
    chio_receipt_report rep;
    const char *got, *json;
    chio_kernel *k;
    chio_error err;
    uint8_t key[32];
    size_t len, jlen;

    kt_config(&cfg, NULL);
    cfg.policy_hash = policy;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    cr_assert_eq(chio_receipt_builder_set_policy_hash(b, "the-builder's"), 0);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_sign_receipt(k, b, &r, &err), 0, "%s", err.message);
    got = chio_json_string(chio_json_get(chio_receipt_root(r), "policy_hash"), &len);
    cr_expect(len == strlen(policy) && memcmp(got, policy, len) == 0,
              "policy_hash not verbatim (%zu bytes for %zu)", len, strlen(policy));
    json = chio_receipt_json(r, &jlen);
    cr_assert_eq(chio_receipt_parse(json, jlen, &back, &err), 0, "%s", err.message);
    chio_pubkey_from_hex(TEST_PUB, 64, key);
    cr_assert_eq(chio_receipt_verify(back, key, 1, &rep), 0);
    cr_expect(rep.ok && rep.signature_valid);
    chio_receipt_free(back);
    chio_receipt_free(r);
    chio_kernel_free(k);
}

Test(rev28_config, policy_hash_is_embedded_byte_for_byte)
{
    size_t n = 1u << 20;
    char *big = malloc(n + 1);

    embedded_verbatim("p");
    embedded_verbatim(" leading and trailing spaces ");
    embedded_verbatim("\"quotes\" \\backslash\\ /slash/ \t\n\r\x01\x1f\x7f");
    embedded_verbatim("\xe2\x80\xa8 line separator, \xf0\x9f\x94\x91 key, \xc3\xa9");
    embedded_verbatim("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    cr_assert_not_null(big);
    memset(big, 'h', n);
    big[n] = '\0';
    embedded_verbatim(big); /* 1 MiB: no bound of its own */
    free(big);
}
