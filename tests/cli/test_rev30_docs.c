/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_rev30_docs.c - review 30, a new user walking the docs: the
 * answers a newcomer got on common mistakes, run through the real
 * build/chio, build/examples/host-service and agent-client, and the
 * library:
 *
 *  - `chio checkpoint verify-proof --checkpoint FILE` given another
 *    checkpoint than the proof's (the newest line of `checkpoint list`, the
 *    natural guess) printed "checkpoint_valid":false and nothing else, which
 *    reads as a forged checkpoint; a checkpoint signed by a key that is not
 *    a --trusted-key did the same. Now stderr says which check failed. A
 *    --receipt-db holding no checkpoint the proof names said "pass
 *    --checkpoint FILE or --receipt-db DIR" although --receipt-db was given;
 *    now it says that store holds no such checkpoint.
 *  - host-service answered a call without "capability_id" with
 *    invalid_arguments "capability id must be UTF-8" (the kernel's reading
 *    of a NULL id), and a request without "op" with invalid_arguments,
 *    where its header comment promises invalid_request for a missing or
 *    mistyped field. Now both are invalid_request naming the member.
 *  - chio_kernel_evaluate() with a NULL capability_id said "capability id
 *    must be UTF-8"; now it says the id is NULL.
 *  - bindings/cpp/README.md listed "known libchio issues": a reason cut
 *    inside a character (tool error, guard details, unregistered tool
 *    name) failing the call with no receipt. The library repairs each cut;
 *    the page now says so, and this file pins it.
 *  - chio_export_nats_config's reserved tail said "zero" but nothing
 *    checked it (abi.h rule 1: a field from a newer header must not be
 *    dropped unseen); chio_export_nats_start() now refuses it.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "chio/chio.h"
#include "chio/export_nats.h"
#include "common/poll.h"
#include "common/testutil.h"

#ifndef CHIO_EXAMPLES_DIR
#define CHIO_EXAMPLES_DIR "build/examples"
#endif

#define SEED     "0707070707070707070707070707070707070707070707070707070707070707"
#define AGENT_PK "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a"

/* docs/scenarios.md's example token (seed 07.., clock inside its validity),
 * with a checkpoint every 2 receipts and four allowed calls. */
#define CALL                                                                                    \
    "{\"op\":\"call\",\"session\":\"s1\",\"capability_id\":\"cap-g\",\"server\":\"srv-files\"," \
    "\"tool\":\"file_read\"}"
static const char SCENARIO[] =
    "{\"schema\":\"chio.scenario.v1\",\"clock\":1710000300,"
    "\"kernel\":{\"signing_seed_hex\":\"" SEED "\","
    "\"policy_hash\":\"rev30-docs\",\"checkpoint_batch_size\":2},"
    "\"tool_servers\":[{\"server_id\":\"srv-files\",\"tools\":[\"file_read\"]}],"
    "\"steps\":[{\"op\":\"open_session\",\"session\":\"s1\",\"agent\":\"" AGENT_PK "\","
    "\"capabilities\":[{\"id\":\"cap-g\",\"issued_at\":1710000000,\"expires_at\":1710001000,"
    "\"issuer\":\"ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c\","
    "\"subject\":\"" AGENT_PK "\","
    "\"scope\":{\"grants\":[{\"server_id\":\"*\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}]}"
    ","
    "\"signature\":\"01099a400382d92e13de43127db20f14b987bf38089f1918472e4571b5341fc5225ce92ab4a5"
    "a8b4e73ea6f012cbcac59a141a210e5869bfaf1e8b979622df02\"}]}," CALL "," CALL "," CALL "," CALL
    "]}";

static char *dir;

static void up(void)
{
    dir = testutil_tmpdir();
}

static void down(void)
{
    testutil_rmrf(dir);
    free(dir);
}

TestSuite(rev30_docs, .init = up, .fini = down);

/* @name inside the suite's directory (caller frees). */
static char *in_dir(const char *name)
{
    char *p;

    cr_assert_geq(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

/* Run the CLI; fail the test unless it exits @status. */
static cli_result run(int status, const char *const *argv)
{
    cli_result r = testutil_run_cli(argv, NULL, 0);

    cr_assert_eq(r.status, status, "%s %s: exit %d, want %d; stderr: %s", argv[0], argv[1],
                 r.status, status, r.err);
    return r;
}

/* Write @len bytes of @text to @name in the suite's directory (caller frees
 * the path). */
static char *put(const char *name, const char *text, size_t len)
{
    char *p = in_dir(name);

    cr_assert_eq(testutil_write_file(p, text, len, 0600), 0);
    return p;
}

/* Line @i (0-based, with its newline) of @text, copied (caller frees). */
static char *line_of(const char *text, size_t i)
{
    const char *end;

    while (i-- > 0) {
        text = strchr(text, '\n');
        cr_assert_not_null(text);
        text++;
    }
    end = strchr(text, '\n');
    cr_assert_not_null(end);
    return strndup(text, (size_t)(end - text + 1));
}

/* A store of four receipts and two checkpoints; the proof of receipt 1
 * (checkpoint 1), that receipt and checkpoint 2 in files. */
static void proof_and_files(char **db, char **proof, char **receipt, char **cp2)
{
    char *sc = put("sc.json", SCENARIO, strlen(SCENARIO)), *text;
    cli_result r;

    *db = in_dir("db");
    r = run(0, (const char *const[]){"scenario", "run", sc, "--receipt-db", *db, NULL});
    testutil_cli_free(&r);
    r = run(0,
            (const char *const[]){"checkpoint", "prove", "--receipt-db", *db, "--seq", "1", NULL});
    *proof = put("proof.json", r.out, r.out_len);
    testutil_cli_free(&r);
    r = run(0, (const char *const[]){"receipt", "list", "--receipt-db", *db, "--format", "jsonl",
                                     "--limit", "1", NULL});
    *receipt = put("r1.json", r.out, r.out_len);
    testutil_cli_free(&r);
    r = run(0, (const char *const[]){"checkpoint", "list", "--receipt-db", *db, NULL});
    text = line_of(r.out, 1);
    *cp2 = put("cp2.json", text, strlen(text));
    free(text);
    testutil_cli_free(&r);
    free(sc);
}

Test(rev30_docs, verify_proof_says_why_a_checkpoint_does_not_vouch_for_the_proof)
{
    char *db, *proof, *receipt, *cp2, *empty = in_dir("empty");
    cli_result r;

    proof_and_files(&db, &proof, &receipt, &cp2);
    /* The right checkpoint, from the store: ok. */
    r = run(0,
            (const char *const[]){"checkpoint", "verify-proof", "--receipt-db", db, proof, NULL});
    cr_assert(strstr(r.out, "\"ok\":true") != NULL, "%s", r.out);
    testutil_cli_free(&r);
    /* Another checkpoint of the same log: named, not just "invalid". */
    r = run(1, (const char *const[]){"checkpoint", "verify-proof", "--receipt", receipt,
                                     "--checkpoint", cp2, proof, NULL});
    cr_assert(strstr(r.out, "\"checkpoint_valid\":false") != NULL, "%s", r.out);
    cr_assert(strstr(r.err, "it is checkpoint 2 and the proof names checkpoint 1") != NULL, "%s",
              r.err);
    testutil_cli_free(&r);
    /* The right checkpoint, but --trusted-key names another key. */
    r = run(1, (const char *const[]){"checkpoint", "verify-proof", "--receipt-db", db,
                                     "--trusted-key", AGENT_PK, proof, NULL});
    cr_assert(strstr(r.err, "which is not a --trusted-key") != NULL, "%s", r.err);
    testutil_cli_free(&r);
    /* A store that holds no checkpoint 1: said, not "pass --receipt-db". */
    {
        /* A store of the same key with no checkpoint (a revocation only). */
        static const char one[] =
            "{\"kernel\":{\"signing_seed_hex\":\"" SEED "\",\"checkpoint_batch_size\":0},"
            "\"steps\":[{\"op\":\"revoke\",\"capability_id\":\"x\"}]}";
        char *sc = put("none.json", one, strlen(one));
        r = run(0, (const char *const[]){"scenario", "run", sc, "--receipt-db", empty, NULL});
        testutil_cli_free(&r);
        free(sc);
    }
    r = run(1, (const char *const[]){"checkpoint", "verify-proof", "--receipt", receipt,
                                     "--receipt-db", empty, proof, NULL});
    cr_assert(strstr(r.err, "holds no checkpoint 1") != NULL, "%s", r.err);
    cr_assert(strstr(r.err, "pass --checkpoint FILE or --receipt-db DIR") == NULL, "%s", r.err);
    cr_assert(strstr(r.out, "\"checkpoint_checked\":false") != NULL, "%s", r.out);
    testutil_cli_free(&r);
    free(db), free(proof), free(receipt), free(cp2), free(empty);
}

/* ---- host-service ------------------------------------------------------------------------ */

static int log_says_listening(void *path)
{
    size_t len;
    char *text = testutil_read_file(path, &len);
    int found = text != NULL && strstr(text, "\"event\":\"admin_listening\"") != NULL;

    free(text);
    return found;
}

/* Start host-service on sockets in the suite's directory; wait until it
 * listens. */
static pid_t host_start(const char *sock, const char *errlog)
{
    char *db = in_dir("hs-db"), *admin = in_dir("hs-admin.sock");
    pid_t pid = fork();

    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int e = open(errlog, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives a failed test */
        dup2(e, 2);
        setenv("CHIO_SIGNING_KEY", SEED, 1);
        execl(CHIO_EXAMPLES_DIR "/host-service", "host-service", "--receipt-db", db, "--socket",
              sock, "--admin-socket", admin, (char *)NULL);
        _exit(127);
    }
    cr_assert(testutil_wait_until(log_says_listening, (void *)errlog, 20000),
              "host-service did not start");
    free(db), free(admin);
    return pid;
}

Test(rev30_docs, host_service_names_a_missing_call_member_as_invalid_request)
{
    char *sock = in_dir("hs.sock"), *errlog = in_dir("hs.err"), *out = in_dir("client.out");
    chio_keypair *kp;
    chio_capability *cap;
    char *reqs, *req, *cmd, *text;
    static const char scope[] = "{\"grants\":[{\"server_id\":\"srv-files\",\"tool_name\":\"*\","
                                "\"operations\":[\"invoke\"]}]}";
    const char *want[] = {"\"ok\":true,\"session\"",
                          "\"code\":\"invalid_request\",\"error\":\"a call needs "
                          "\\\"capability_id\\\" as a string\"",
                          "\"code\":\"invalid_request\",\"error\":\"a call needs \\\"server\\\"",
                          "\"code\":\"invalid_request\",\"error\":\"a call needs \\\"tool\\\"",
                          "\"code\":\"invalid_request\",\"error\":\"a call needs "
                          "\\\"request_id\\\" as a string when it is given\"",
                          "\"code\":\"invalid_request\",\"error\":\"a request needs an \\\"op\\\"",
                          "\"verdict\":\"allow\""};
    pid_t host;
    size_t i, len;
    int st;

    cr_assert_eq(chio_keypair_from_seed_hex(SEED, 64, &kp, NULL), 0);
    cr_assert_eq(chio_capability_issue(kp, "cap-h", AGENT_PK, scope, sizeof(scope) - 1,
                                       (uint64_t)time(NULL) - 10, 3600, &cap, NULL),
                 0);
    chio_keypair_free(kp);
    cr_assert_gt(
        asprintf(
            &reqs,
            "{\"op\":\"open_session\",\"session\":\"a\",\"agent\":\"%s\",\"capabilities\":[%s]}\n"
            "{\"op\":\"call\",\"session\":\"a\",\"server\":\"srv-files\",\"tool\":\"file_read\"}\n"
            "{\"op\":\"call\",\"session\":\"a\",\"capability_id\":\"cap-h\",\"tool\":\"file_read\"}"
            "\n"
            "{\"op\":\"call\",\"session\":\"a\",\"capability_id\":\"cap-h\",\"server\":\"srv-"
            "files\","
            "\"tool\":7}\n"
            "{\"op\":\"call\",\"session\":\"a\",\"capability_id\":\"cap-h\",\"server\":\"srv-"
            "files\","
            "\"tool\":\"file_read\",\"request_id\":5}\n"
            "{\"session\":\"a\"}\n"
            "{\"op\":\"call\",\"session\":\"a\",\"capability_id\":\"cap-h\",\"server\":\"srv-"
            "files\","
            "\"tool\":\"file_read\",\"arguments\":{\"path\":\"/workspace/a\"}}\n",
            AGENT_PK, chio_capability_json(cap, NULL)),
        0);
    chio_capability_free(cap);
    req = put("req.jsonl", reqs, strlen(reqs));
    host = host_start(sock, errlog);
    /* quoted: TMPDIR or the checkout's path may hold a space */
    cr_assert_gt(asprintf(&cmd, "'%s/agent-client' --socket '%s' '%s' >'%s' 2>&1",
                          CHIO_EXAMPLES_DIR, sock, req, out),
                 0);
    st = system(cmd);
    kill(host, SIGTERM);
    cr_assert_eq(waitpid(host, NULL, 0), host);
    text = testutil_read_file(out, &len);
    cr_assert_not_null(text);
    cr_assert_eq(WEXITSTATUS(st), 0, "%s", text);
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        char *line = line_of(text, i);
        cr_expect(strstr(line, want[i]) != NULL, "answer %zu: %s (want %s)", i, line, want[i]);
        free(line);
    }
    free(text), free(cmd), free(req), free(reqs), free(sock), free(errlog), free(out);
}

/* ---- the library --------------------------------------------------------------------------- */

static int echo(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                chio_output *out)
{
    (void)user, (void)ctx, (void)tool;
    return chio_output_set_json(out, args, len);
}

Test(rev30_docs, evaluate_with_a_null_capability_id_says_it_is_null)
{
    static const char *const tools[] = {"t"};
    chio_tool_server srv = {.server_id = "srv", .tool_names = tools, .ntools = 1, .invoke = echo};
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_response resp;
    chio_call call;
    chio_error err;
    char sid[CHIO_SESSION_ID_LEN + 1];

    chio_kernel_config_init(&cfg);
    cr_assert_eq(chio_keypair_from_seed_hex(SEED, 64, &cfg.keypair, NULL), 0);
    cfg.policy_hash = "rev30";
    cfg.ephemeral_store = 1;
    cfg.log_level = CHIO_LOG_ERROR;
    cr_assert_eq(chio_kernel_new(&cfg, &k, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_register_tool_server(k, &srv, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_open_session(k, AGENT_PK, NULL, NULL, 0, sid, &err), 0, "%s",
                 err.message);
    memset(&call, 0, sizeof(call));
    call.session_id = sid;
    call.server_id = "srv";
    call.tool_name = "t";
    chio_response_init(&resp);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_evaluate(k, &call, &resp, &err), CHIO_EINVAL);
    cr_expect(strstr(err.message, "capability id is NULL") != NULL, "%s", err.message);
    chio_response_destroy(&resp);
    chio_kernel_free(k);
}

/* bindings/cpp/README.md said three cuts of text in a deny reason (a tool's
 * error at 255 bytes, a guard's details at 380, an unregistered tool name
 * at 100) could split a character and turn the call into CHIO_EINVAL with
 * no receipt. The library repairs each cut: every one is a deny with its
 * receipt, whose reason is valid UTF-8. */
static char long_text[400];

static int failing_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                        size_t len, chio_output *out)
{
    (void)user, (void)ctx, (void)tool, (void)args, (void)len;
    chio_output_set_error(out, long_text);
    return -1;
}

static int wordy_guard(void *user, const chio_guard_input *in, chio_guard_verdict *verdict,
                       char *details, size_t cap)
{
    (void)user;
    cr_assert_gt(cap, 390);
    if (strcmp(in->tool_name, "guarded") != 0) {
        *verdict = CHIO_GUARD_PASS;
        return 0;
    }
    memset(details, 'g', 379); /* a 3-byte character across byte 380 */
    memcpy(details + 379, "\xe2\x82\xac tail", 8);
    *verdict = CHIO_GUARD_DENY;
    return 0;
}

/* Evaluate @tool on @k's session @sid: a deny with code @code and a
 * receipt, the reason valid UTF-8. */
static void expect_deny_receipt(chio_kernel *k, const char *sid, const char *tool, chio_code code)
{
    chio_call call;
    chio_response resp;
    chio_error err;
    chio_json_doc *doc = NULL;
    char *quoted = NULL;
    size_t qlen;

    memset(&call, 0, sizeof(call));
    call.session_id = sid;
    call.capability_id = "cap-u";
    call.server_id = "srv";
    call.tool_name = tool;
    chio_response_init(&resp);
    cr_assert_eq(chio_kernel_evaluate(k, &call, &resp, &err), 0, "%s", err.message);
    cr_expect_eq(resp.verdict, CHIO_VERDICT_DENY);
    cr_expect_eq(resp.code, code, "%s", chio_code_name(resp.code));
    cr_expect_not_null(resp.receipt);
    /* Valid UTF-8: the strict reader takes it as a JSON string unchanged. */
    cr_assert_eq(chio_json_write_string(resp.reason, strlen(resp.reason), &quoted, &qlen), 0);
    cr_expect_eq(chio_json_parse(quoted, qlen, &doc, &err), 0, "%s", err.message);
    cr_expect_null(strstr(quoted, "\\ufffd"), "the reason was not valid UTF-8: %s", quoted);
    chio_json_doc_free(doc);
    chio_free(quoted);
    chio_response_destroy(&resp);
}

Test(rev30_docs, reasons_cut_inside_a_character_still_get_their_receipts)
{
    static const char *const tools[] = {"t", "guarded"};
    static const char scope[] =
        "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}]}";
    chio_tool_server srv = {
        .server_id = "srv", .tool_names = tools, .ntools = 2, .invoke = failing_tool};
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_capability *cap;
    chio_error err;
    char sid[CHIO_SESSION_ID_LEN + 1], name[120];
    const char *tok;

    memset(long_text, 'a', 254); /* a 2-byte character across byte 255 */
    memcpy(long_text + 254, "\xc3\xa9 more", 8);
    memset(name, 'b', 99); /* a 3-byte character across byte 100 */
    memcpy(name + 99, "\xe2\x82\xac-x", 6);
    chio_kernel_config_init(&cfg);
    cr_assert_eq(chio_keypair_from_seed_hex(SEED, 64, &cfg.keypair, NULL), 0);
    cfg.policy_hash = "rev30";
    cfg.ephemeral_store = 1;
    cfg.log_level = CHIO_LOG_ERROR;
    cr_assert_eq(chio_kernel_new(&cfg, &k, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_register_tool_server(k, &srv, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_add_guard(k, "wordy", wordy_guard, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_issue_capability(k, "cap-u", AGENT_PK, scope, sizeof(scope) - 1, 0,
                                              600, &cap, &err),
                 0, "%s", err.message);
    tok = chio_capability_json(cap, NULL);
    cr_assert_eq(chio_kernel_open_session(k, AGENT_PK, &tok, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    expect_deny_receipt(k, sid, "t", CHIO_CODE_TOOL_ERROR);
    expect_deny_receipt(k, sid, "guarded", CHIO_CODE_GUARD_DENIED);
    expect_deny_receipt(k, sid, name, CHIO_CODE_TOOL_NOT_REGISTERED);
    chio_capability_free(cap);
    chio_kernel_free(k);
}

Test(rev30_docs, the_exporter_refuses_a_non_zero_reserved_field)
{
    chio_export_nats_config cfg;
    chio_export_nats *x = (chio_export_nats *)&cfg; /* must come back NULL */
    chio_error err;
    int marker = 0;

    chio_export_nats_config_init(&cfg);
    cfg.receipt_db = dir;
    cfg.urls = "nats://127.0.0.1:1";
    cfg.reserved[3] = &marker;
    chio_error_init(&err);
    cr_assert_eq(chio_export_nats_start(&cfg, &x, &err), CHIO_EINVAL);
    cr_expect_null(x);
    cr_expect(strstr(err.message, "reserved") != NULL, "%s", err.message);
}
