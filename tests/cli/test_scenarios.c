/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_scenarios.c - `chio scenario run` against the project's
 * own scenario files (scenarios/NAME.json): each step's output is compared
 * field by field with scenarios/<name>.expected (op, ok, verdict, code,
 * the receipt's decision members, the child receipts' decisions), every
 * receipt must verify under the scenario kernel's key, and error steps
 * must have none. Also: malformed files exit 2 naming the bad member (the
 * exact one, for the kernel's and registration's refusals too), null
 * members count as absent, session labels have no length limit,
 * --receipt-db keeps an auditable store and one the kernel cannot use is
 * refused before any step.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/chio.h"
#include "common/testutil.h"

#ifndef CHIO_SCENARIOS_DIR
#define CHIO_SCENARIOS_DIR "scenarios"
#endif

/* The scenario files' kernel key (seed 07 x 32), and another seed. */
#define SCENARIO_KERNEL_PUB "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"
#define SEED07              "0707070707070707070707070707070707070707070707070707070707070707"
#define SEED0C              "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c"

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

TestSuite(scenarios, .init = setup, .fini = teardown);

/* Split @text into lines (modifies it); returns the count. */
/* The lines of @text (split in place) in @out, at most @max of them: a
 * text with more fails the test rather than losing the rest unseen
 * (before review 45 line 257 and after were dropped, so a scenario's extra
 * or missing steps there went unnoticed). */
static size_t split_lines(char *text, char **out, size_t max)
{
    size_t n = 0;
    char *save = NULL, *l;

    for (l = strtok_r(text, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
        cr_assert_lt(n, max, "more than %zu lines: raise the limit rather than drop the rest", max);
        out[n++] = l;
    }
    return n;
}

static const char *str(const chio_json *obj, const char *key)
{
    return chio_json_string(chio_json_get(obj, key), NULL);
}

/* Every member of @want equals the same member of @got (strings, bools). */
static void expect_members(const chio_json *want, const chio_json *got, const char *where)
{
    size_t i;

    cr_assert_not_null(got, "%s: missing", where);
    for (i = 0; i < chio_json_size(want); i++) {
        const char *k = chio_json_key_at(want, i, NULL);
        char *a = NULL, *b = NULL;
        size_t la, lb;
        chio_json_write_canonical(chio_json_get(want, k), &a, &la);
        if (chio_json_get(got, k) != NULL)
            chio_json_write_canonical(chio_json_get(got, k), &b, &lb);
        cr_expect(b != NULL && strcmp(a, b) == 0, "%s.%s: got %s, want %s", where, k,
                  b ? b : "(absent)", a);
        chio_free(a);
        chio_free(b);
    }
}

static void expect_verifies(const chio_json *receipt, const char *where)
{
    uint8_t pub[32];
    chio_receipt *r;
    chio_receipt_report rep;
    char *text;
    size_t len;

    cr_assert_eq(chio_json_write_canonical(receipt, &text, &len), 0);
    cr_assert_eq(chio_receipt_parse(text, len, &r, NULL), 0, "%s: receipt does not parse", where);
    chio_pubkey_from_hex(SCENARIO_KERNEL_PUB, 64, pub);
    cr_assert_eq(chio_receipt_verify(r, pub, 1, &rep), 0);
    cr_expect(rep.ok, "%s: receipt does not verify", where);
    chio_receipt_free(r);
    chio_free(text);
}

static void check_step(const chio_json *want, const chio_json *got, const char *where)
{
    const chio_json *d, *rec;
    const char *verdict = str(want, "verdict");
    size_t i;

    cr_assert_not_null(got, "%s: no output line", where);
    cr_expect_str_eq(str(got, "op"), str(want, "op"), "%s: op", where);
    if (chio_json_get(want, "ok") != NULL) {
        int a = -1, b = -2;
        chio_json_get_bool(chio_json_get(want, "ok"), &a);
        chio_json_get_bool(chio_json_get(got, "ok"), &b);
        cr_expect_eq(a, b, "%s: ok", where);
        if (!b)
            cr_expect_not_null(str(got, "error"), "%s: ok false needs an error", where);
        return;
    }
    cr_expect_str_eq(str(got, "verdict"), verdict, "%s: verdict", where);
    cr_expect_str_eq(str(got, "code"), str(want, "code"), "%s: code (%s)", where,
                     str(got, "reason") ? str(got, "reason") : "");
    rec = chio_json_get(got, "receipt");
    if (strcmp(verdict, "error") == 0) {
        cr_expect_null(rec, "%s: an error step has a receipt", where);
        return;
    }
    cr_assert_not_null(rec, "%s: no receipt", where);
    expect_verifies(rec, where);
    d = chio_json_get(want, "decision");
    if (d != NULL)
        expect_members(d, chio_json_get(rec, "decision"), where);
    d = chio_json_get(want, "child_decisions");
    if (d != NULL) {
        const chio_json *kids = chio_json_get(got, "child_receipts");
        cr_assert_eq(chio_json_size(kids), chio_json_size(d), "%s: child receipts", where);
        for (i = 0; i < chio_json_size(d); i++) {
            expect_verifies(chio_json_at(kids, i), where);
            expect_members(chio_json_at(d, i), chio_json_get(chio_json_at(kids, i), "decision"),
                           where);
        }
    }
}

static void run_one(const char *name)
{
    char path[1024], epath[1024], *expected, *want_lines[256], *got_lines[256], where[300];
    size_t elen, nwant, ngot, i;
    cli_result r;

    snprintf(path, sizeof(path), "%s/%s.json", CHIO_SCENARIOS_DIR, name);
    snprintf(epath, sizeof(epath), "%s/%s.expected", CHIO_SCENARIOS_DIR, name);
    expected = testutil_read_file(epath, &elen);
    cr_assert_not_null(expected, "missing %s", epath);
    r = testutil_run_cli((const char *const[]){"scenario", "run", path, NULL}, NULL, 0);
    cr_assert_eq(r.status, 0, "%s: exit %d: %s", name, r.status, r.err);
    nwant = split_lines(expected, want_lines, 256);
    ngot = split_lines(r.out, got_lines, 256);
    cr_expect_eq(ngot, nwant, "%s: %zu lines, want %zu", name, ngot, nwant);
    for (i = 0; i < nwant && i < ngot; i++) {
        chio_json_doc *w = NULL, *g = NULL;
        uint64_t step = 99999;
        snprintf(where, sizeof(where), "%s step %zu", name, i);
        cr_assert_eq(chio_json_parse(want_lines[i], strlen(want_lines[i]), &w, NULL), 0);
        cr_assert_eq(chio_json_parse(got_lines[i], strlen(got_lines[i]), &g, NULL), 0,
                     "%s: output is not JSON", where);
        chio_json_get_uint64(chio_json_get(chio_json_root(g), "step"), &step);
        cr_expect_eq(step, i, "%s: step number", where);
        check_step(chio_json_root(w), chio_json_root(g), where);
        chio_json_doc_free(w);
        chio_json_doc_free(g);
    }
    free(expected);
    testutil_cli_free(&r);
}

Test(scenarios, every_project_scenario_matches_its_expected_output)
{
    DIR *d = opendir(CHIO_SCENARIOS_DIR);
    struct dirent *e;
    int n = 0;

    cr_assert_not_null(d, "cannot open %s", CHIO_SCENARIOS_DIR);
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        char name[256];
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0 || len - 5 >= sizeof(name))
            continue;
        memcpy(name, e->d_name, len - 5);
        name[len - 5] = '\0';
        run_one(name);
        n++;
    }
    closedir(d);
    cr_expect_geq(n, 7, "only %d scenario files", n);
}

static void expect_malformed(const char *json, const char *field)
{
    cli_result r = testutil_run_scenario_text(dir, json);

    cr_expect_eq(r.status, 2, "exit %d for %s", r.status, json);
    cr_expect_str_eq(r.out, "", "a malformed file printed steps");
    cr_expect_neq(strstr(r.err, field), NULL, "stderr does not name %s: %s", field, r.err);
    testutil_cli_free(&r);
}

Test(scenarios, malformed_files_exit_2_with_the_path_of_the_bad_field)
{
    expect_malformed("{\"steps\":[{\"op\":\"call\",\"session\":\"s\"}]}", "steps[0].capability_id");
    expect_malformed("{\"steps\":[{\"op\":\"dance\"}]}", "steps[0].op");
    expect_malformed("{\"steps\":[],\"kernel\":{\"max_delegation_depth\":\"four\"}}",
                     "kernel.max_delegation_depth");
    expect_malformed("{\"steps\":[],\"kernel\":{\"signing_seed_hex\":\"abc\"}}",
                     "kernel.signing_seed_hex");
    expect_malformed("{\"steps\":[],\"tool_servers\":[{\"server_id\":\"a\",\"behavior\":\"x\"}]}",
                     "tool_servers[0].behavior");
    expect_malformed("{\"steps\":[],\"guards\":[{\"name\":\"g\",\"type\":\"secret_leak\","
                     "\"patterns\":[\"(\"]}]}",
                     "guards[0]");
    expect_malformed("{\"steps\":[],\"schema\":\"chio.scenario.v2\"}", "schema");
    expect_malformed("{\"stepz\":[]}", "stepz");
    expect_malformed("{\"steps\":[{\"op\":\"open_session\",\"session\":\"s\",\"agent\":\"a\","
                     "\"capabilities\":[1]}]}",
                     "steps[0].capabilities[0]");
    expect_malformed("[1,2", "not JSON");
}

/* The spec asks for the path of the bad field; a member given twice is
 * one, wherever it is (the parser alone gave only a byte offset; in an
 * open_session's token it is that step's failure instead:
 * tests/cli/test_rev29_wire.c). */
Test(scenarios, a_duplicate_member_is_named_by_its_path)
{
    expect_malformed("{\"clock\":1,\"clock\":2,\"steps\":[]}", "clock: duplicate member");
    expect_malformed("{\"steps\":[{\"op\":\"drain\"},{\"op\":\"call\",\"session\":\"a\","
                     "\"session\":\"b\"}]}",
                     "steps[1].session: duplicate member");
    expect_malformed("{\"steps\":[{\"op\":\"drain\",\"x\":[{\"id\":\"a\","
                     "\"scope\":{\"grants\":[],\"grants\":[]}}]}]}",
                     "steps[0].x[0].scope.grants: duplicate member");
    expect_malformed(
        "{\"steps\":[],\"tool_servers\":[{\"server_id\":\"a\",\"tools\":[\"x[\\\"{,\"],"
        "\"tools\":[]}]}",
        "tool_servers[0].tools: duplicate member");
}

/* A string the parser refuses (a lone surrogate) or a number out of range
 * is named by its path too (in a call's arguments it is that call's
 * invalid arguments instead: test_rev29_conf.c; in an open_session's
 * token, that step's failure: tests/cli/test_rev29_wire.c). */
Test(scenarios, an_unreadable_value_is_named_by_its_path)
{
    expect_malformed("{\"steps\":[{\"op\":\"drain\",\"x\":[{\"a\":[1,\"x\\ud800y\"]}]}]}",
                     "steps[0].x[0].a[1]: not JSON");
    expect_malformed("{\"steps\":[{\"op\":\"drain\",\"at\":1e999}]}", "steps[0].at: not JSON");
    expect_malformed("{\"kernel\":{\"policy_hash\":\"\\udc00\"},\"steps\":[]}",
                     "kernel.policy_hash: not JSON");
}

/* docs/spec-reading.md: require_web3_evidence needs a store on disk and
 * checkpoints, not WAL syncs, so the runner's temporary store (written
 * without syncs) meets it once checkpoints are on; web3_required.json has
 * them off and is refused. */
Test(scenarios, require_web3_evidence_is_met_by_the_temporary_store)
{
    char path[512], *text, *at;
    size_t len;
    cli_result r;

    snprintf(path, sizeof(path), "%s/web3_required.json", CHIO_SCENARIOS_DIR);
    text = testutil_read_file(path, &len);
    cr_assert_not_null(text);
    at = strstr(text, "\"checkpoint_batch_size\": 0");
    cr_assert_not_null(at, "web3_required.json changed");
    memcpy(at + strlen("\"checkpoint_batch_size\": "), "5", 1);
    r = testutil_run_scenario_text(dir, text);
    cr_expect_eq(r.status, 0, "%s", r.err);
    cr_expect_neq(strstr(r.out, "\"step\":1,\"verdict\":\"allow\""), NULL, "%s", r.out);
    testutil_cli_free(&r);
    free(text);
}

Test(scenarios, receipt_db_keeps_an_auditable_store)
{
    char *db, *path;
    cli_result r;

    cr_assert_geq(asprintf(&db, "%s/db", dir), 0);
    cr_assert_geq(asprintf(&path, "%s/guards.json", CHIO_SCENARIOS_DIR), 0);
    r = testutil_run_cli((const char *const[]){"scenario", "run", path, "--receipt-db", db, NULL},
                         NULL, 0);
    cr_assert_eq(r.status, 0, "%s", r.err);
    testutil_cli_free(&r);
    r = testutil_run_cli((const char *const[]){"receipt", "list", "--receipt-db", db, NULL}, NULL,
                         0);
    cr_assert_eq(r.status, 0, "%s", r.err);
    {
        size_t n = 0;
        const char *s;
        for (s = r.out; *s; s++)
            n += *s == '\n';
        cr_expect_eq(n, 5, "the guards scenario makes 5 receipts, the store lists %zu", n);
    }
    testutil_cli_free(&r);
    r = testutil_run_cli((const char *const[]){"receipt", "verify", "--receipt-db", db,
                                               "--trusted-key", SCENARIO_KERNEL_PUB, NULL},
                         NULL, 0);
    cr_expect_eq(r.status, 0, "%s%s", r.out, r.err);
    testutil_cli_free(&r);
    free(db);
    free(path);
}

/* Review 24: a refusal names the member at fault, not its parent object,
 * whether the reader or the kernel refuses it; a member of another op's
 * steps is refused like an unknown one. */
Test(scenarios, refusals_name_the_exact_member)
{
    expect_malformed("{\"steps\":[],\"kernel\":{\"policy_hash\":\"\"}}", "kernel.policy_hash");
    expect_malformed("{\"steps\":[],\"kernel\":{\"checkpoint_batch_size\":1048577}}",
                     "kernel.checkpoint_batch_size");
    expect_malformed(
        "{\"steps\":[],\"tool_servers\":[{\"server_id\":\"a\"},{\"server_id\":\"a\"}]}",
        "tool_servers[1].server_id");
    expect_malformed("{\"steps\":[],\"tool_servers\":[{\"server_id\":\"\"}]}",
                     "tool_servers[0].server_id");
    expect_malformed(
        "{\"steps\":[],\"tool_servers\":[{\"server_id\":\"a\",\"tools\":[\"x\",\"\"]}]}",
        "tool_servers[0].tools[1]");
    expect_malformed("{\"steps\":[],\"tool_servers\":[{\"server_id\":\"a\",\"chunk_bytes\":"
                     "67108865}]}",
                     "tool_servers[0].chunk_bytes");
    expect_malformed("{\"steps\":[],\"tool_servers\":[{\"server_id\":\"a\",\"delay_ms\":600001}]}",
                     "tool_servers[0].delay_ms");
    /* A chunk is a JSON string of chunk_bytes bytes, quotes included. */
    expect_malformed("{\"steps\":[],\"tool_servers\":[{\"server_id\":\"a\",\"behavior\":\"stream\","
                     "\"chunk_bytes\":1}]}",
                     "tool_servers[0].chunk_bytes");
    expect_malformed("{\"steps\":[],\"guards\":[{\"name\":\"g\",\"type\":\"forbidden_path\"},"
                     "{\"name\":\"g\",\"type\":\"secret_leak\"}]}",
                     "guards[1].name");
    expect_malformed("{\"steps\":[],\"guards\":[{\"name\":\"\",\"type\":\"forbidden_path\"}]}",
                     "guards[0].name");
    expect_malformed("{\"steps\":[],\"guards\":[{\"name\":\"g\",\"type\":\"secret_leak\","
                     "\"patterns\":[\"a\",\"(\"]}]}",
                     "guards[0].patterns: secret pattern 1 ");
    expect_malformed("{\"steps\":[{\"op\":\"revoke\",\"capability_id\":\"c\",\"session\":\"s\"}]}",
                     "steps[0].session: not a member of a 'revoke' step");
    expect_malformed("{\"steps\":[{\"op\":\"drain\",\"tool\":\"t\"}]}", "steps[0].tool");
}

/* Run @json, expecting exit 0 and @want among the output lines. */
static void expect_runs(const char *json, const char *want)
{
    cli_result r = testutil_run_scenario_text(dir, json);

    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_expect_neq(strstr(r.out, want), NULL, "no %s in:\n%s", want, r.out);
    testutil_cli_free(&r);
}

/* Review 24: null is absent for every optional member, the top-level
 * objects included (scenarios.md), and a session label of any length
 * names its session. */
Test(scenarios, null_members_are_absent_and_labels_have_no_length_limit)
{
    char label[301], *json;

    expect_runs("{\"schema\":null,\"clock\":null,\"kernel\":null,\"tool_servers\":null,"
                "\"guards\":null,\"steps\":[{\"op\":\"drain\",\"at\":null}]}",
                "{\"ok\":true,\"op\":\"drain\",\"step\":0}");
    memset(label, 's', 300);
    label[300] = '\0';
    cr_assert_geq(
        asprintf(&json,
                 "{\"steps\":[{\"op\":\"open_session\",\"session\":\"%s\",\"agent\":\"a\"},"
                 "{\"op\":\"begin_draining\",\"session\":\"%s\"},"
                 "{\"op\":\"close_session\",\"session\":\"%s\"}]}",
                 label, label, label),
        0);
    expect_runs(json, "{\"ok\":true,\"op\":\"begin_draining\",\"step\":1}\n"
                      "{\"ok\":true,\"op\":\"close_session\",\"step\":2}");
    free(json);
}

/* Review 24: a --receipt-db the kernel cannot use (here: another kernel
 * key's store) is refused before any step runs, exit 2, instead of every
 * step failing with internal_error. */
Test(scenarios, a_receipt_db_of_another_key_is_refused_before_any_step)
{
    static const char first[] = "{\"kernel\":{\"signing_seed_hex\":\"" SEED07 "\"},"
                                "\"steps\":[{\"op\":\"revoke\",\"capability_id\":\"c\"}]}";
    static const char other[] = "{\"kernel\":{\"signing_seed_hex\":\"" SEED0C "\"},"
                                "\"steps\":[{\"op\":\"revoke\",\"capability_id\":\"c\"}]}";
    char *db, *path;
    cli_result r;

    cr_assert_geq(asprintf(&db, "%s/db", dir), 0);
    cr_assert_geq(asprintf(&path, "%s/s.json", dir), 0);
    cr_assert_eq(testutil_write_file(path, first, strlen(first), 0644), 0);
    r = testutil_run_cli((const char *const[]){"scenario", "run", path, "--receipt-db", db, NULL},
                         NULL, 0);
    cr_assert_eq(r.status, 0, "%s", r.err);
    testutil_cli_free(&r);
    cr_assert_eq(testutil_write_file(path, other, strlen(other), 0644), 0);
    r = testutil_run_cli((const char *const[]){"scenario", "run", path, "--receipt-db", db, NULL},
                         NULL, 0);
    cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.out);
    cr_expect_str_eq(r.out, "", "steps ran on a store the kernel cannot use");
    cr_expect_neq(strstr(r.err, "cannot use the receipt store"), NULL, "%s", r.err);
    cr_expect_neq(strstr(r.err, "belongs to kernel key"), NULL, "%s", r.err);
    testutil_cli_free(&r);
    free(db);
    free(path);
}
