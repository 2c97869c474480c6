/* SPDX-License-Identifier: Apache-2.0 */
/*
 * model/attenuation.c - the attenuations a delegation link declares
 * (wire-format.md s.4, chio's Attenuation variants).
 *
 * Owns two readings of one attenuation:
 *   - how chio reads it: as written, not at all (another "type", a member
 *     missing or of the wrong type: chio refuses the token), or dropping a
 *     member its variant has no place for (so no signature over it
 *     verifies there);
 *   - what it declares about the token that carries it: each variant names
 *     a narrowing (a tool or an operation gone, a constraint added, a
 *     budget, cost cap or expiry lowered). A token whose own scope or
 *     expiry still holds what a link of its chain says was taken away
 *     contradicts its chain, and chio's kernel refuses it
 *     (docs/spec-reading.md, "Delegation chains").
 *
 * Calls the core layer and model/scope.c's constraint reader. No state.
 */
#include <stdio.h>
#include <string.h>

#include "attenuation.h"

typedef enum att_kind { ATT_STR, ATT_OP, ATT_CONSTRAINT, ATT_U32, ATT_U64, ATT_MONEY } att_kind;

typedef enum att_type {
    REMOVE_TOOL,
    REMOVE_OPERATION,
    ADD_CONSTRAINT,
    REDUCE_BUDGET,
    SHORTEN_EXPIRY,
    REDUCE_COST_PER_INVOCATION,
    REDUCE_TOTAL_COST
} att_type;

typedef struct att_variant {
    const char *type;
    const char *names[5]; /* "type", the variant's members, NULL */
    att_kind kinds[3];    /* of names[1..] */
} att_variant;

/* Indexed by att_type. */
#define ATT_GRANT "type", "server_id", "tool_name"
static const att_variant att_variants[] = {
    {"remove_tool", {ATT_GRANT, NULL}, {ATT_STR, ATT_STR}},
    {"remove_operation", {ATT_GRANT, "operation"}, {ATT_STR, ATT_STR, ATT_OP}},
    {"add_constraint", {ATT_GRANT, "constraint"}, {ATT_STR, ATT_STR, ATT_CONSTRAINT}},
    {"reduce_budget", {ATT_GRANT, "max_invocations"}, {ATT_STR, ATT_STR, ATT_U32}},
    {"shorten_expiry", {"type", "new_expires_at", NULL}, {ATT_U64}},
    {"reduce_cost_per_invocation",
     {ATT_GRANT, "max_cost_per_invocation"},
     {ATT_STR, ATT_STR, ATT_MONEY}},
    {"reduce_total_cost", {ATT_GRANT, "max_total_cost"}, {ATT_STR, ATT_STR, ATT_MONEY}},
};
#undef ATT_GRANT
#define NVARIANTS (sizeof(att_variants) / sizeof(att_variants[0]))

static const char *const op_names[] = {"invoke",    "read_result", "read",
                                       "subscribe", "get",         "delegate"};

/* ---- how chio reads an attenuation ------------------------------------------------------ */

/* A MonetaryAmount {units, currency}. */
int chio__money_read(const chio_json *m)
{
    static const char *const members[] = {"units", "currency", NULL};
    const chio_json *c = chio_json_get(m, "currency");
    uint64_t u;

    if (chio_json_get_uint64(chio_json_get(m, "units"), &u) != 0 || c == NULL ||
        c->type != CHIO_JSON_STRING)
        return CHIO__ATT_UNREADABLE;
    return chio__first_unknown_key(m, members) != NULL ? CHIO__ATT_DROPPED : CHIO__ATT_OK;
}

static int att_member(const chio_json *v, att_kind kind)
{
    uint64_t u;

    if (v == NULL)
        return CHIO__ATT_UNREADABLE;
    switch (kind) {
    case ATT_STR:
        return v->type == CHIO_JSON_STRING ? CHIO__ATT_OK : CHIO__ATT_UNREADABLE;
    case ATT_OP:
        return chio__operation_named(v) ? CHIO__ATT_OK : CHIO__ATT_UNREADABLE;
    case ATT_CONSTRAINT:
        /* read as a grant's constraint is (model/scope.c) */
        return chio__constraint_readable(v) ? CHIO__ATT_OK : CHIO__ATT_UNREADABLE;
    case ATT_U32: /* max_invocations is a u32 to chio */
        return chio_json_get_uint64(v, &u) == 0 && u <= UINT32_MAX ? CHIO__ATT_OK
                                                                   : CHIO__ATT_UNREADABLE;
    case ATT_U64:
        return chio_json_get_uint64(v, &u) == 0 ? CHIO__ATT_OK : CHIO__ATT_UNREADABLE;
    default:
        return chio__money_read(v);
    }
}

/* The variant @a names, or NULL. */
static const att_variant *variant_of(const chio_json *a)
{
    const chio_json *t = chio_json_get(a, "type");
    size_t i;

    if (t == NULL || t->type != CHIO_JSON_STRING)
        return NULL;
    for (i = 0; i < NVARIANTS; i++)
        if (strlen(att_variants[i].type) == t->n && memcmp(att_variants[i].type, t->v.s, t->n) == 0)
            return &att_variants[i];
    return NULL;
}

int chio__attenuation_read(const chio_json *a)
{
    const att_variant *var = variant_of(a);
    size_t k;
    int worst = CHIO__ATT_OK, r;

    if (var == NULL)
        return CHIO__ATT_UNREADABLE;
    for (k = 1; var->names[k] != NULL; k++) {
        r = att_member(chio_json_get(a, var->names[k]), var->kinds[k - 1]);
        if (r == CHIO__ATT_UNREADABLE)
            return r;
        if (r == CHIO__ATT_DROPPED)
            worst = r;
    }
    /* a member the variant has no place for */
    return chio__first_unknown_key(a, var->names) != NULL ? CHIO__ATT_DROPPED : worst;
}

/* ---- what an attenuation declares ------------------------------------------------------- */

/* Is the C string @name the JSON string @s, byte for byte? */
static int same_name(const char *name, const chio_json *s)
{
    return strlen(name) == s->n && memcmp(name, s->v.s, s->n) == 0;
}

/* Does grant @g cover the attenuation's target server/tool? As chio reads
 * it: the grant's "*" covers any name; the target's own names are literal
 * (a target "*" is covered only by a grant "*"). */
static int covers(const chio__tool_grant *g, const chio_json *server, const chio_json *tool)
{
    return (strcmp(g->server_id, "*") == 0 || same_name(g->server_id, server)) &&
           (strcmp(g->tool_name, "*") == 0 || same_name(g->tool_name, tool));
}

static int same_constraint(const chio__constraint *a, const chio__constraint *b)
{
    if (a->kind != b->kind || a->kind == CHIO__CONSTRAINT_UNKNOWN)
        return 0;
    switch (a->kind) {
    case CHIO__CONSTRAINT_MAX_LENGTH:
    case CHIO__CONSTRAINT_MAX_ARGS_SIZE:
        return a->num == b->num;
    case CHIO__CONSTRAINT_CUSTOM:
        return strcmp(a->custom_key, b->custom_key) == 0 &&
               strcmp(a->custom_value, b->custom_value) == 0;
    default: /* strings hold no NUL (model/scope.c) */
        return strcmp(a->str, b->str) == 0;
    }
}

static int has_constraint(const chio__tool_grant *g, const chio__constraint *c, int64_t *work)
{
    uint32_t i;

    *work -= g->nconstraints;
    for (i = 0; i < g->nconstraints; i++)
        if (same_constraint(&g->constraints[i], c))
            return 1;
    return 0;
}

/* Is the grant's cost cap @have (NULL: none) within the declared @cap:
 * present, in the same currency and no more units? */
static int money_within(const chio_json *have, const chio_json *cap)
{
    const chio_json *hc, *cc;
    uint64_t hu, cu;

    if (have == NULL)
        return 0;
    hc = chio_json_get(have, "currency");
    cc = chio_json_get(cap, "currency");
    if (hc == NULL || cc == NULL || hc->type != CHIO_JSON_STRING || cc->type != CHIO_JSON_STRING ||
        hc->n != cc->n || memcmp(hc->v.s, cc->v.s, hc->n) != 0)
        return 0;
    return chio_json_get_uint64(chio_json_get(have, "units"), &hu) == 0 &&
           chio_json_get_uint64(chio_json_get(cap, "units"), &cu) == 0 && hu <= cu;
}

/* Does grant @g, which covers the target of @a (of type @t), still hold
 * what @a takes away? */
static int grant_keeps(const chio__tool_grant *g, att_type t, const chio_json *a, int64_t *work)
{
    const chio_json *v;
    chio__constraint c;
    uint64_t n;
    unsigned j;

    switch (t) {
    case REMOVE_TOOL:
        return 1;
    case REMOVE_OPERATION:
        v = chio_json_get(a, "operation");
        for (j = 0; j < 6; j++)
            if (same_name(op_names[j], v))
                return (g->ops & (1u << j)) != 0;
        return 0;
    case ADD_CONSTRAINT:
        chio__constraint_read(chio_json_get(a, "constraint"), &c);
        return !has_constraint(g, &c, work);
    case REDUCE_BUDGET:
        (void)chio_json_get_uint64(chio_json_get(a, "max_invocations"), &n);
        return !g->has_max_invocations || g->max_invocations > n;
    case REDUCE_COST_PER_INVOCATION:
        return !money_within(g->max_cost_per_invocation,
                             chio_json_get(a, "max_cost_per_invocation"));
    case REDUCE_TOTAL_COST:
        return !money_within(g->max_total_cost, chio_json_get(a, "max_total_cost"));
    default:
        return 0;
    }
}

/* What the token still holds against @t, for the reason text. */
static const char *const kept_words[] = {
    "still grants the removed tool",
    "still grants the removed operation on",
    "lacks the added constraint on",
    "has a larger invocation budget than the link allows on",
    "",
    "has a larger (or no) per-invocation cost cap than the link allows on",
    "has a larger (or no) total cost cap than the link allows on",
};

/* The limit grant @g sets on what a reduce_budget (@t) or reduce_total_cost
 * limits: its max_invocations, or the units of its total cost cap;
 * UINT64_MAX when it has none (a cost cap the per-grant reading refused
 * before this is asked). */
static uint64_t grant_limit(const chio__tool_grant *g, att_type t)
{
    uint64_t u;

    if (t == REDUCE_BUDGET)
        return g->has_max_invocations ? g->max_invocations : UINT64_MAX;
    if (g->max_total_cost == NULL ||
        chio_json_get_uint64(chio_json_get(g->max_total_cost, "units"), &u) != 0)
        return UINT64_MAX;
    return u;
}

/* Do the grants covering the target of the reduce_budget or
 * reduce_total_cost @a (of type @t) allow more together than @a does?
 * Asked once each covering grant is within @a on its own. The kernel
 * charges a call to any grant that matches it, one after another
 * (docs/spec-reading.md, "Several grants allowing one call"), so what the
 * token allows on the target is the sum of its covering grants' limits
 * (review 22 caps L1: two grants of 1 under a link's 1 ran 2 calls). Each
 * limit is compared with what is left of the link's before it is added,
 * so the sum never passes the link's and cannot wrap. Returns 1 with the
 * reason in @why, 0, or -1 when *@work runs out (one per grant). */
static int covering_sum_over(const chio_json *a, att_type t, const chio__scope *sc,
                             const chio_json *server, const chio_json *tool, int64_t *work,
                             char *why, size_t why_cap)
{
    const chio_json *m =
        chio_json_get(a, t == REDUCE_BUDGET ? "max_invocations" : "max_total_cost");
    uint64_t limit = 0, sum = 0, have;
    uint32_t g;

    (void)chio_json_get_uint64(t == REDUCE_BUDGET ? m : chio_json_get(m, "units"), &limit);
    for (g = 0; g < sc->ngrants; g++) {
        if (--*work < 0)
            return -1;
        if (!covers(&sc->grants[g], server, tool))
            continue;
        have = grant_limit(&sc->grants[g], t);
        if (have <= limit - sum) {
            sum += have;
            continue;
        }
        snprintf(why, why_cap,
                 "%s: the grants of the token covering %.64s/%.64s together have a larger %s than "
                 "the link allows (over %llu%s at grant %u)",
                 t == REDUCE_BUDGET ? "reduce_budget" : "reduce_total_cost", server->v.s, tool->v.s,
                 t == REDUCE_BUDGET ? "invocation budget" : "total cost cap",
                 (unsigned long long)limit, t == REDUCE_BUDGET ? "" : " units", g);
        return 1;
    }
    return 0;
}

int chio__attenuation_contradicted(const chio_json *a, const chio__scope *sc, uint64_t expires_at,
                                   int64_t *work, char *why, size_t why_cap)
{
    const att_variant *var;
    const chio_json *server, *tool;
    att_type t;
    uint64_t until;
    uint32_t g;
    char op[32] = "";

    if (chio__attenuation_read(a) == CHIO__ATT_UNREADABLE)
        return 0; /* no reading: the token is unusable for that (unknown field) */
    var = variant_of(a);
    t = (att_type)(var - att_variants);
    if (t == SHORTEN_EXPIRY) {
        (void)chio_json_get_uint64(chio_json_get(a, "new_expires_at"), &until);
        if (expires_at <= until)
            return 0;
        snprintf(why, why_cap,
                 "shorten_expiry: the token expires at %llu, after the %llu the link allows",
                 (unsigned long long)expires_at, (unsigned long long)until);
        return 1;
    }
    server = chio_json_get(a, "server_id");
    tool = chio_json_get(a, "tool_name");
    for (g = 0; g < sc->ngrants; g++) {
        if (--*work < 0)
            return -1;
        if (!covers(&sc->grants[g], server, tool) || !grant_keeps(&sc->grants[g], t, a, work))
            continue;
        if (t == REMOVE_OPERATION)
            snprintf(op, sizeof(op), " (%.16s)", chio_json_get(a, "operation")->v.s);
        snprintf(why, why_cap, "%s: grant %u of the token %s %.64s/%.64s%s", var->type, g,
                 kept_words[t], server->v.s, tool->v.s, op);
        return 1;
    }
    if (t == REDUCE_BUDGET || t == REDUCE_TOTAL_COST)
        return covering_sum_over(a, t, sc, server, tool, work, why, why_cap);
    return 0;
}
