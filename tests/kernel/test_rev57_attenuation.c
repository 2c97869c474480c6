/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev57_attenuation.c - a delegation link's declared
 * attenuations against the token that carries them (review 9 tokens F1,
 * case B). Before, the kernel read remove_tool, remove_operation,
 * add_constraint, reduce_budget, shorten_expiry and the cost reductions
 * as audit records only: a token whose own scope still granted the tool
 * its link removed was allowed the call. chio's kernel refuses such a
 * token (delegation_invalid), reading each attenuation as:
 *   - remove_tool: no grant covers the target;
 *   - remove_operation: no covering grant holds the operation;
 *   - add_constraint: every covering grant holds that very constraint;
 *   - reduce_budget / reduce_cost_per_invocation / reduce_total_cost:
 *     every covering grant has the limit, no larger (a cost cap in the
 *     same currency);
 *   - shorten_expiry: the token expires no later;
 * where a grant covers a target when its server_id and tool_name are "*"
 * or the target's (the target's own names are literal).
 *
 * Real kernel, RocksDB store and Ed25519; every decision is checked
 * against its stored receipt (kt_call_read).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/chio.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define IAT 1710000000u
#define TTL 1000u

static uint64_t now_v = IAT + 300;

/* A tool grant on @server/@tool with @ops (inside of a JSON array) and
 * @extra members (",..." or ""). */
#define GRANT(server, tool, ops, extra) \
    "{\"server_id\":\"" server "\",\"tool_name\":\"" tool "\",\"operations\":[" ops "]" extra "}"
#define READ_GRANT(extra) GRANT("srv", "read", "\"invoke\"", extra)
#define ATT(type, target, rest) \
    "{\"type\":\"" type "\",\"server_id\":\"" target "\",\"tool_name\":\"read\"" rest "}"
#define MONEY(units, cur) "{\"units\":" #units ",\"currency\":\"" cur "\"}"

/* A token granting @grants (the inside of the grants array), issued at
 * IAT for TTL seconds, whose one delegation link declares @att. */
static char *linked(const char *id, const char *grants, const char *att)
{
    char scope[2048];

    snprintf(scope, sizeof(scope), "{\"grants\":[%s]}", grants);
    return tk_attenuated(id, scope, IAT, TTL, att);
}

typedef struct att_row {
    const char *grants;
    const char *att; /* the link's attenuations */
    chio_code code;  /* of a call of srv/read with {} */
    const char *why; /* in chio_capability_contradicts_chain()'s text, for a contradiction */
} att_row;

static const att_row rows[] = {
    /* remove_tool */
    {READ_GRANT(""), "[" ATT("remove_tool", "srv", "") "]", CHIO_CODE_DELEGATION_INVALID,
     "remove_tool: grant 0 of the token still grants the removed tool srv/read"},
    {GRANT("srv", "*", "\"invoke\"", ""),
     "[{\"type\":\"remove_tool\",\"server_id\":\"srv\",\"tool_name\":\"admin\"}]",
     CHIO_CODE_DELEGATION_INVALID, "srv/admin"},
    {READ_GRANT(""), "[{\"type\":\"remove_tool\",\"server_id\":\"srv\",\"tool_name\":\"admin\"}]",
     CHIO_CODE_NONE, NULL},
    {READ_GRANT(""), "[{\"type\":\"remove_tool\",\"server_id\":\"*\",\"tool_name\":\"*\"}]",
     CHIO_CODE_NONE, NULL},
    {GRANT("*", "*", "\"invoke\"", ""),
     "[{\"type\":\"remove_tool\",\"server_id\":\"*\",\"tool_name\":\"*\"}]",
     CHIO_CODE_DELEGATION_INVALID, "removed tool */*"},
    {GRANT("*", "read", "\"invoke\"", ""), "[" ATT("remove_tool", "srv2", "") "]",
     CHIO_CODE_DELEGATION_INVALID, "srv2/read"},
    /* remove_operation */
    {READ_GRANT(""), "[" ATT("remove_operation", "srv", ",\"operation\":\"invoke\"") "]",
     CHIO_CODE_DELEGATION_INVALID, "removed operation on srv/read (invoke)"},
    {READ_GRANT(""), "[" ATT("remove_operation", "srv", ",\"operation\":\"delegate\"") "]",
     CHIO_CODE_NONE, NULL},
    {GRANT("srv", "read", "\"invoke\",\"delegate\"", ""),
     "[" ATT("remove_operation", "srv", ",\"operation\":\"delegate\"") "]",
     CHIO_CODE_DELEGATION_INVALID, "(delegate)"},
    /* add_constraint: the very constraint, compared by type and value */
    {READ_GRANT(""),
     "[" ATT("add_constraint", "srv", ",\"constraint\":{\"type\":\"max_length\",\"value\":64}") "]",
     CHIO_CODE_DELEGATION_INVALID, "lacks the added constraint on srv/read"},
    {READ_GRANT(",\"constraints\":[{\"type\":\"max_length\",\"value\":64}]"),
     "[" ATT("add_constraint", "srv", ",\"constraint\":{\"type\":\"max_length\",\"value\":64}") "]",
     CHIO_CODE_NONE, NULL},
    {READ_GRANT(",\"constraints\":[{\"type\":\"max_length\",\"value\":65}]"),
     "[" ATT("add_constraint", "srv", ",\"constraint\":{\"type\":\"max_length\",\"value\":64}") "]",
     CHIO_CODE_DELEGATION_INVALID, "add_constraint"},
    {READ_GRANT(",\"constraints\":[{\"type\":\"path_prefix\",\"value\":\"/pub\"}]"),
     "[" ATT("add_constraint", "srv",
             ",\"constraint\":{\"type\":\"path_prefix\",\"value\":\"/pub/\"}") "]",
     CHIO_CODE_DELEGATION_INVALID, "add_constraint"},
    /* held: check 6 then judges the constraint on the call ({} has no "a") */
    {READ_GRANT(",\"constraints\":[{\"type\":\"custom\",\"value\":[\"a\",\"b\"]}]"),
     "[" ATT("add_constraint", "srv",
             ",\"constraint\":{\"type\":\"custom\",\"value\":[\"a\",\"b\"]}") "]",
     CHIO_CODE_CONSTRAINT_VIOLATED, NULL},
    {READ_GRANT(",\"constraints\":[{\"type\":\"custom\",\"value\":[\"a\",\"c\"]}]"),
     "[" ATT("add_constraint", "srv",
             ",\"constraint\":{\"type\":\"custom\",\"value\":[\"a\",\"b\"]}") "]",
     CHIO_CODE_DELEGATION_INVALID, "add_constraint"},
    /* a target no grant covers */
    {READ_GRANT(""),
     "[{\"type\":\"add_constraint\",\"server_id\":\"srv\",\"tool_name\":\"other\","
     "\"constraint\":{\"type\":\"max_length\",\"value\":1}}]",
     CHIO_CODE_NONE, NULL},
    /* reduce_budget */
    {READ_GRANT(""), "[" ATT("reduce_budget", "srv", ",\"max_invocations\":5") "]",
     CHIO_CODE_DELEGATION_INVALID, "larger invocation budget"},
    {READ_GRANT(",\"max_invocations\":6"),
     "[" ATT("reduce_budget", "srv", ",\"max_invocations\":5") "]", CHIO_CODE_DELEGATION_INVALID,
     "reduce_budget"},
    {READ_GRANT(",\"max_invocations\":5"),
     "[" ATT("reduce_budget", "srv", ",\"max_invocations\":5") "]", CHIO_CODE_NONE, NULL},
    {READ_GRANT(""), "[" ATT("reduce_budget", "srv", ",\"max_invocations\":0") "]",
     CHIO_CODE_DELEGATION_INVALID, "reduce_budget"},
    /* shorten_expiry: the token expires at IAT + TTL = 1710001000 */
    {READ_GRANT(""), "[{\"type\":\"shorten_expiry\",\"new_expires_at\":1710000500}]",
     CHIO_CODE_DELEGATION_INVALID, "expires at 1710001000, after the 1710000500"},
    {READ_GRANT(""), "[{\"type\":\"shorten_expiry\",\"new_expires_at\":1710001000}]",
     CHIO_CODE_NONE, NULL},
    /* cost caps: none, another currency or more units contradicts; one
     * within passes check 4, and check 6 refuses the cap it does not
     * enforce */
    {READ_GRANT(""),
     "[" ATT("reduce_cost_per_invocation", "srv",
             ",\"max_cost_per_invocation\":" MONEY(10, "USD")) "]",
     CHIO_CODE_DELEGATION_INVALID, "per-invocation cost cap"},
    {READ_GRANT(",\"max_cost_per_invocation\":" MONEY(5, "EUR")),
     "[" ATT("reduce_cost_per_invocation", "srv",
             ",\"max_cost_per_invocation\":" MONEY(10, "USD")) "]",
     CHIO_CODE_DELEGATION_INVALID, "reduce_cost_per_invocation"},
    {READ_GRANT(",\"max_cost_per_invocation\":" MONEY(5, "USD")),
     "[" ATT("reduce_cost_per_invocation", "srv",
             ",\"max_cost_per_invocation\":" MONEY(10, "USD")) "]",
     CHIO_CODE_UNSUPPORTED_GRANT, NULL},
    {READ_GRANT(",\"max_total_cost\":" MONEY(11, "USD")),
     "[" ATT("reduce_total_cost", "srv", ",\"max_total_cost\":" MONEY(10, "USD")) "]",
     CHIO_CODE_DELEGATION_INVALID, "total cost cap"},
    {READ_GRANT(",\"max_total_cost\":" MONEY(10, "USD")),
     "[" ATT("reduce_total_cost", "srv", ",\"max_total_cost\":" MONEY(10, "USD")) "]",
     CHIO_CODE_UNSUPPORTED_GRANT, NULL},
    /* the second attenuation of a link; one grant of two */
    {READ_GRANT("") "," GRANT("srv", "admin", "\"invoke\"", ""),
     "[" ATT("remove_tool", "srv2", "") ",{\"type\":\"remove_tool\",\"server_id\":\"srv\","
                                        "\"tool_name\":\"admin\"}]",
     CHIO_CODE_DELEGATION_INVALID, "attenuation 1: remove_tool: grant 1"},
};

Test(rev57_attenuation, a_token_that_contradicts_its_links_attenuations_is_refused_on_every_call)
{
    char *dir = testutil_tmpdir(), db[512];
    chio_kernel *k;

    snprintf(db, sizeof(db), "%s/db", dir);
    k = kt_read_kernel(db, &now_v, 4);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char id[32], sid[CHIO_SESSION_ID_LEN + 1], why[400] = "x";
        chio_capability *cap = NULL;
        char *tok;
        long link = -2;
        int rc;

        snprintf(id, sizeof(id), "cap-att-%zu", i);
        tok = linked(id, rows[i].grants, rows[i].att);
        cr_assert_not_null(tok, "row %zu", i);
        cr_assert_eq(chio_capability_parse(tok, strlen(tok), &cap, NULL), 0, "row %zu", i);
        rc = chio_capability_contradicts_chain(cap, &link, why, sizeof(why));
        if (rows[i].code == CHIO_CODE_DELEGATION_INVALID) {
            cr_expect_eq(rc, 1, "row %zu (%s): not found", i, rows[i].att);
            cr_expect_eq(link, 0, "row %zu", i);
            cr_expect_not_null(strstr(why, "delegation link 0, attenuation "), "row %zu: %s", i,
                               why);
            cr_expect_not_null(strstr(why, rows[i].why), "row %zu: '%s' not in '%s'", i,
                               rows[i].why, why);
        } else {
            cr_expect_eq(rc, 0, "row %zu (%s): %s", i, rows[i].att, why);
            cr_expect_eq(link, -1, "row %zu", i);
            cr_expect_str_empty(why, "row %zu", i);
        }
        chio_capability_free(cap);
        kt_open1(k, tok, sid);
        cr_expect_eq(kt_call_read(k, sid, id), rows[i].code, "row %zu (%s): %s", i, rows[i].att,
                     chio_code_name(kt_call_read(k, sid, id)));
        free(tok);
    }
    chio_kernel_free(k);
    testutil_rmrf(dir);
    free(dir);
}

/* The reason of the deny receipt names the link, the attenuation and the
 * grant; a link above the last one is read against the token too (under
 * chio's rules each child is within its parent, so a token chio admits
 * keeps every link's attenuations). */
Test(rev57_attenuation, the_first_link_of_a_chain_binds_the_token_and_the_reason_says_where)
{
    char other[65], sid[CHIO_SESSION_ID_LEN + 1], *tok;
    chio_kernel *k = kt_read_kernel(NULL, &now_v, 4);
    chio_capability *cap = NULL;
    tk_link links[2];
    chio_response r;
    chio_error err;
    chio_call c;
    long link = -2;

    tk_pub(TK_OTHER_SEED, other);
    memset(links, 0, sizeof(links));
    links[0] =
        (tk_link){"cap-root", TK_KERNEL_SEED, other, IAT,
                  "[{\"type\":\"remove_tool\",\"server_id\":\"srv\",\"tool_name\":\"read\"}]"};
    links[1] = (tk_link){"cap-mid", TK_OTHER_SEED, TK_AGENT_PUB, IAT + 1, NULL};
    tok = tk_token(TK_KERNEL_SEED, "cap-two-links", TK_AGENT_PUB,
                   "{\"grants\":[" READ_GRANT("") "]}", IAT, TTL, links, 2);
    cr_assert_not_null(tok);
    cr_assert_eq(chio_capability_parse(tok, strlen(tok), &cap, NULL), 0);
    cr_expect_eq(chio_capability_contradicts_chain(cap, &link, NULL, 0), 1);
    cr_expect_eq(link, 0);
    chio_capability_free(cap);

    kt_open1(k, tok, sid);
    kt_call_init(&c, sid, "cap-two-links", "read", "{}");
    chio_response_init(&r);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    cr_assert_not_null(r.receipt);
    cr_expect_eq(r.verdict, CHIO_VERDICT_DENY);
    cr_expect_eq(r.code, CHIO_CODE_DELEGATION_INVALID, "%s", chio_code_name(r.code));
    cr_expect_not_null(strstr(r.reason, "delegation link 0, attenuation 0: remove_tool: grant 0 "
                                        "of the token still grants the removed tool srv/read"),
                       "%s", r.reason);
    chio_response_destroy(&r);
    free(tok);
    chio_kernel_free(k);
}

/* The refusal is the token's, so a resource read under it is refused too,
 * with a receipt. */
static int docs_read(void *user, const char *uri, chio_output *out)
{
    (void)user;
    (void)uri;
    return chio_output_set_json(out, "{\"text\":\"hello\"}", 16);
}

Test(rev57_attenuation, a_resource_read_under_such_a_token_is_refused_with_a_receipt)
{
    chio_kernel *k = kt_read_kernel(NULL, &now_v, 4);
    chio_resource_provider rp = {.provider_id = "docs", .read = docs_read};
    const char *grants = READ_GRANT("") "],\"resource_grants\":[{\"uri_pattern\":\"*\","
                                        "\"operations\":[\"read\"]}";
    char sid[CHIO_SESSION_ID_LEN + 1], *ok, *bad;
    chio_response r;
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_register_resource_provider(k, &rp, &err), 0, "%s", err.message);
    ok = linked("cap-res-ok", grants, "[]");
    bad = linked("cap-res-bad", grants,
                 "[{\"type\":\"shorten_expiry\",\"new_expires_at\":1710000400}]");
    cr_assert_not_null(ok);
    cr_assert_not_null(bad);

    kt_open1(k, ok, sid);
    chio_response_init(&r);
    cr_assert_eq(chio_kernel_read_resource(k, sid, NULL, "cap-res-ok", "file:///a", &r, &err), 0,
                 "%s", err.message);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", r.reason);
    chio_response_destroy(&r);

    kt_open1(k, bad, sid);
    chio_response_init(&r);
    cr_assert_eq(chio_kernel_read_resource(k, sid, NULL, "cap-res-bad", "file:///a", &r, &err), 0,
                 "%s", err.message);
    cr_assert_not_null(r.receipt);
    cr_expect_eq(r.code, CHIO_CODE_DELEGATION_INVALID, "%s: %s", chio_code_name(r.code), r.reason);
    chio_response_destroy(&r);
    free(ok);
    free(bad);
    chio_kernel_free(k);
}

Test(rev57_attenuation, argument_errors)
{
    char *tok = linked("cap-args", READ_GRANT(""), "[]");
    chio_capability *cap = NULL;
    char why[4] = "zzz";
    long link = 7;

    cr_assert_not_null(tok);
    cr_assert_eq(chio_capability_parse(tok, strlen(tok), &cap, NULL), 0);
    cr_expect_eq(chio_capability_contradicts_chain(NULL, &link, why, sizeof(why)), CHIO_EINVAL);
    cr_expect_eq(chio_capability_contradicts_chain(cap, &link, NULL, 4), CHIO_EINVAL);
    cr_expect_eq(chio_capability_contradicts_chain(cap, &link, why, sizeof(why)), 0);
    cr_expect_eq(link, -1);
    cr_expect_str_empty(why);
    cr_expect_eq(chio_capability_contradicts_chain(cap, NULL, NULL, 0), 0);
    chio_capability_free(cap);
    free(tok);
}

/* Review 11 (delegation) F1: the check compared every attenuation with
 * every grant when the token was parsed, before its signature was
 * looked at: a 1 MB token of an untrusted key held a core for seconds.
 * It now runs on first use (after checks 1 to 4's others, so an
 * untrusted token never reaches it) and makes at most
 * CHIO__ATTENUATION_WORK (2^20) comparisons: a chain that needs more is
 * refused whole, never checked in part. Each grant below covers the
 * attenuations' target and holds their constraint, so nothing
 * contradicts; only the count decides. */
static char *many(const char *id, int ngrants, int natts)
{
    const char *g = "{\"server_id\":\"*\",\"tool_name\":\"*\",\"operations\":[\"invoke\"],"
                    "\"constraints\":[{\"type\":\"max_length\",\"value\":64}]}";
    const char *a = "{\"type\":\"add_constraint\",\"server_id\":\"srv\",\"tool_name\":\"read\","
                    "\"constraint\":{\"type\":\"max_length\",\"value\":64}}";
    size_t cap = 64 + (size_t)ngrants * (strlen(g) + 1), acap = 8 + (size_t)natts * (strlen(a) + 1);
    char *scope = malloc(cap), *att = malloc(acap), *tok;
    size_t o = 0, ao = 0;

    cr_assert(scope != NULL && att != NULL);
    o += (size_t)snprintf(scope, cap, "{\"grants\":[");
    for (int i = 0; i < ngrants; i++)
        o += (size_t)snprintf(scope + o, cap - o, "%s%s", i ? "," : "", g);
    snprintf(scope + o, cap - o, "]}");
    ao += (size_t)snprintf(att, acap, "[");
    for (int i = 0; i < natts; i++)
        ao += (size_t)snprintf(att + ao, acap - ao, "%s%s", i ? "," : "", a);
    snprintf(att + ao, acap - ao, "]");
    tok = tk_attenuated(id, scope, IAT, TTL, att);
    free(scope);
    free(att);
    cr_assert_not_null(tok);
    return tok;
}

Test(rev57_attenuation, a_chain_that_takes_too_many_comparisons_is_refused_whole)
{
    static const struct {
        int grants, atts;
        chio_code code;
    } sizes[] = {{100, 100, CHIO_CODE_NONE}, {2000, 600, CHIO_CODE_DELEGATION_INVALID}};
    chio_kernel *k = kt_read_kernel(NULL, &now_v, 4);

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char id[32], sid[CHIO_SESSION_ID_LEN + 1], why[400];
        char *tok;
        chio_capability *cap = NULL;
        long link = -2;

        snprintf(id, sizeof(id), "cap-many-%zu", i);
        tok = many(id, sizes[i].grants, sizes[i].atts);
        cr_assert_eq(chio_capability_parse(tok, strlen(tok), &cap, NULL), 0);
        cr_expect_eq(chio_capability_contradicts_chain(cap, &link, why, sizeof(why)),
                     sizes[i].code == CHIO_CODE_NONE ? 0 : 1, "row %zu: %s", i, why);
        if (sizes[i].code != CHIO_CODE_NONE) {
            cr_expect_eq(link, 0);
            cr_expect_not_null(strstr(why, "takes more than 1048576 comparisons"), "%s", why);
        }
        /* kept: asked again, the same answer */
        cr_expect_eq(chio_capability_contradicts_chain(cap, NULL, NULL, 0),
                     sizes[i].code == CHIO_CODE_NONE ? 0 : 1);
        chio_capability_free(cap);
        kt_open1(k, tok, sid);
        cr_expect_eq(kt_call_read(k, sid, id), sizes[i].code, "row %zu", i);
        free(tok);
    }
    chio_kernel_free(k);
}
