/* SPDX-License-Identifier: Apache-2.0 */
/*
 * model/scope.c - reading a capability scope into typed grants (see
 * scope.h). Unknown operations make the scope invalid (as in chio); unknown
 * constraint types and malformed constraint values are kept as
 * CHIO__CONSTRAINT_UNKNOWN, and a grant that asks for anything the kernel
 * does not enforce (DPoP, cost caps, unknown fields, such constraints, a
 * null where the constraint list goes) is marked unsupported, so that
 * evaluation fails closed on it. The strict reading (issuing) drops
 * the other null optional members but refuses a null constraint list.
 * Calls the core layer and model/fields.c; no state.
 */
#include <stdio.h>
#include <string.h>

#include "scope.h"

#define WHAT "capability scope"

static const char *const op_names[] = {"invoke",    "read_result", "read",
                                       "subscribe", "get",         "delegate"};
static const char *const scope_fields[] = {"grants", "resource_grants", "prompt_grants", NULL};
static const char *const grant_fields[] = {
    "server_id",      "tool_name",       "operations",
    "constraints",    "max_invocations", "max_cost_per_invocation",
    "max_total_cost", "dpop_required",   NULL};
static const char *const resource_fields[] = {"uri_pattern", "operations", NULL};
static const char *const prompt_fields[] = {"prompt_name", "operations", NULL};
static const char *const constraint_fields[] = {"type", "value", NULL};
static const char *const money_fields[] = {"units", "currency", NULL};

static int refuse_unknown(const chio_json *obj, const char *const *known, const char *where,
                          chio_error *err)
{
    const char *k = chio__first_unknown_key(obj, known);

    if (k == NULL)
        return 0;
    return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET, WHAT ": unknown field '%.64s' in %s", k,
                      where);
}

static int read_ops(const chio_json *obj, unsigned *ops, chio_error *err)
{
    const chio_json *arr;
    uint32_t i;
    int j, rc;

    rc = chio__field_typed(obj, "operations", CHIO__REQUIRED, CHIO_JSON_ARRAY, &arr, err, WHAT);
    if (rc != 0)
        return rc;
    *ops = 0;
    for (i = 0; i < arr->n; i++) {
        const chio_json *op = &arr->v.items[i];
        if (op->type != CHIO_JSON_STRING)
            return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET,
                              WHAT ": operations must be strings");
        for (j = 0; j < 6; j++)
            if (strcmp(op->v.s, op_names[j]) == 0 && strlen(op_names[j]) == op->n)
                break;
        if (j == 6)
            return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET,
                              WHAT ": unknown operation \"%.32s\"", op->v.s);
        *ops |= 1u << j;
    }
    return 0;
}

static const char *const constraint_names[] = {"path_prefix", "domain_exact", "domain_glob",
                                               "regex_match", "max_length",   "max_args_size",
                                               "custom"};

/* Is @type (a string) one of the seven constraint types? */
static int known_constraint_type(const chio_json *type)
{
    int k;

    for (k = 0; k < 7; k++)
        if (strlen(constraint_names[k]) == type->n &&
            memcmp(type->v.s, constraint_names[k], type->n) == 0)
            return 1;
    return 0;
}

void chio__constraint_read(const chio_json *c, chio__constraint *out)
{
    static const char *const *const names = constraint_names;
    const chio_json *type = chio_json_get(c, "type"), *value = chio_json_get(c, "value");
    int k;

    memset(out, 0, sizeof(*out));
    out->kind = CHIO__CONSTRAINT_UNKNOWN;
    if (type == NULL || type->type != CHIO_JSON_STRING)
        return;
    out->type_name = type->v.s;
    /* Compared with their length: "max_length\u0000x" is not max_length. */
    for (k = 0; k < 7; k++)
        if (strlen(names[k]) == type->n && memcmp(type->v.s, names[k], type->n) == 0)
            break;
    if (k == 7 || value == NULL)
        return;
    switch (k + 1) {
    case CHIO__CONSTRAINT_PATH_PREFIX:
    case CHIO__CONSTRAINT_DOMAIN_EXACT:
    case CHIO__CONSTRAINT_DOMAIN_GLOB:
    case CHIO__CONSTRAINT_REGEX_MATCH:
        if (value->type != CHIO_JSON_STRING || memchr(value->v.s, 0, value->n))
            return;
        out->str = value->v.s;
        break;
    case CHIO__CONSTRAINT_MAX_LENGTH:
    case CHIO__CONSTRAINT_MAX_ARGS_SIZE:
        if (chio_json_get_uint64(value, &out->num) != 0)
            return;
        break;
    case CHIO__CONSTRAINT_CUSTOM:
        /* A NUL would cut the key or value short where it is compared:
         * ["role","admin\u0000x"] must not hold for "admin". */
        if (value->type != CHIO_JSON_ARRAY || value->n != 2 ||
            value->v.items[0].type != CHIO_JSON_STRING ||
            value->v.items[1].type != CHIO_JSON_STRING ||
            memchr(value->v.items[0].v.s, 0, value->v.items[0].n) ||
            memchr(value->v.items[1].v.s, 0, value->v.items[1].n))
            return;
        out->custom_key = value->v.items[0].v.s;
        out->custom_value = value->v.items[1].v.s;
        break;
    }
    out->kind = (chio__constraint_kind)(k + 1);
}

int chio__constraint_readable(const chio_json *c)
{
    chio__constraint k;

    if (c == NULL || c->type != CHIO_JSON_OBJECT || chio__first_unknown_key(c, constraint_fields))
        return 0;
    chio__constraint_read(c, &k);
    return k.kind != CHIO__CONSTRAINT_UNKNOWN;
}

int chio__operation_named(const chio_json *s)
{
    int j;

    if (s == NULL || s->type != CHIO_JSON_STRING)
        return 0;
    for (j = 0; j < 6; j++)
        if (strlen(op_names[j]) == s->n && memcmp(s->v.s, op_names[j], s->n) == 0)
            return 1;
    return 0;
}

static int read_money(const chio_json *grant, const char *key, int strict, const chio_json **out,
                      chio_error *err)
{
    const chio_json *m;
    uint64_t units;
    const char *cur;
    int rc = chio__field_typed(grant, key, CHIO__OPTIONAL, CHIO_JSON_OBJECT, &m, err, WHAT);

    *out = m;
    if (rc != 0 || m == NULL)
        return rc;
    if (strict && (rc = refuse_unknown(m, money_fields, key, err)) != 0)
        return rc;
    rc = chio__field_u64(m, "units", CHIO__REQUIRED, &units, NULL, err, WHAT);
    return rc ? rc : chio__field_string(m, "currency", CHIO__REQUIRED, &cur, NULL, err, WHAT);
}

static int read_tool_grant(chio_json_doc *doc, chio_json *g, int strict, chio__tool_grant *out,
                           chio_error *err)
{
    static const char *const optional[] = {"constraints", "max_invocations",
                                           "max_cost_per_invocation", "max_total_cost",
                                           "dpop_required"};
    const chio_json *cons;
    uint32_t i;
    int rc, present;
    size_t k;

    memset(out, 0, sizeof(*out));
    if (g->type != CHIO_JSON_OBJECT)
        return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET, WHAT ": each grant must be an object");
    if (strict) {
        /* Dropped, a null list would be signed as no constraints, an
         * allow-all grant; the kernel reads a token holding it as
         * unusable (mark_unsupported). Neither is what was written. */
        cons = chio_json_get(g, "constraints");
        if (cons != NULL && cons->type == CHIO_JSON_NULL)
            return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET,
                              WHAT ": field 'constraints' is null; write [] or leave it out for "
                                   "no constraints (a token holding null is unusable)");
        for (k = 0; k < sizeof(optional) / sizeof(optional[0]); k++)
            chio__drop_null(g, optional[k], k == 0);
        if ((rc = refuse_unknown(g, grant_fields, "a tool grant", err)) != 0)
            return rc;
    }
    rc = chio__field_string(g, "server_id", CHIO__REQUIRED, &out->server_id, NULL, err, WHAT);
    if (rc == 0)
        rc = chio__field_string(g, "tool_name", CHIO__REQUIRED, &out->tool_name, NULL, err, WHAT);
    if (rc == 0)
        rc = read_ops(g, &out->ops, err);
    if (rc == 0)
        rc = chio__field_u64(g, "max_invocations", CHIO__OPTIONAL, &out->max_invocations,
                             &out->has_max_invocations, err, WHAT);
    if (rc == 0 && strict && out->max_invocations > UINT32_MAX) /* chio's u32 */
        rc = chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET,
                        WHAT ": max_invocations %llu is above 4294967295 (chio cannot read it)",
                        (unsigned long long)out->max_invocations);
    if (rc == 0)
        rc = chio__field_bool(g, "dpop_required", CHIO__OPTIONAL, &out->dpop_required, &present,
                              err, WHAT);
    if (rc == 0)
        rc = read_money(g, "max_cost_per_invocation", strict, &out->max_cost_per_invocation, err);
    if (rc == 0)
        rc = read_money(g, "max_total_cost", strict, &out->max_total_cost, err);
    if (rc == 0)
        rc = chio__field_typed(g, "constraints", CHIO__OPTIONAL, CHIO_JSON_ARRAY, &cons, err, WHAT);
    if (rc != 0 || cons == NULL || cons->n == 0)
        return rc;
    out->constraints = chio__arena_alloc(&doc->arena, cons->n * sizeof(chio__constraint));
    if (out->constraints == NULL)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    out->nconstraints = cons->n;
    for (i = 0; i < cons->n; i++) {
        const chio_json *c = &cons->v.items[i];
        if (c->type != CHIO_JSON_OBJECT)
            return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET,
                              WHAT ": each constraint must be an object");
        if (strict) {
            if ((rc = refuse_unknown(c, constraint_fields, "a constraint", err)) != 0)
                return rc;
            if (chio_json_get(c, "type") == NULL ||
                chio_json_get(c, "type")->type != CHIO_JSON_STRING)
                return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET,
                                  WHAT ": constraint 'type' must be a string");
        }
        chio__constraint_read(c, &out->constraints[i]);
        /* A type the kernel knows with a value it cannot read (missing,
         * null, the wrong type) would make the grant unusable: refused
         * when issuing, as a null constraint list is. A type it does not
         * know is signed as written (another reader may know it). */
        if (strict && out->constraints[i].kind == CHIO__CONSTRAINT_UNKNOWN &&
            known_constraint_type(chio_json_get(c, "type")))
            return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET,
                              WHAT ": constraint '%.40s' has no value the kernel can read (a "
                                   "token holding it is unusable)",
                              chio_json_get(c, "type")->v.s);
    }
    return 0;
}

/* Mark @g unusable when it asks for anything the kernel does not enforce
 * (checked in this order; the first one found is reported). */
static void mark_unsupported(const chio_json *obj, chio__tool_grant *g)
{
    const char *unknown = chio__first_unknown_key(obj, grant_fields);
    const chio_json *listed = chio_json_get(obj, "constraints");
    uint32_t i;

    if (unknown != NULL) {
        g->unsupported = "unknown field";
        g->unsupported_name = unknown;
    } else if (g->max_invocations > UINT32_MAX) {
        /* chio reads max_invocations as a u32: it cannot read the token */
        g->unsupported = "max_invocations above 4294967295 (chio cannot read the grant)";
    } else if (listed != NULL && listed->type == CHIO_JSON_NULL) {
        /* Not a list (chio cannot read such a grant): read as "none" it
         * would allow every argument, so it allows nothing. */
        g->unsupported = "constraints null (not a list: chio cannot read the grant)";
    } else if (g->dpop_required) {
        g->unsupported = "dpop_required (no proof-of-possession mechanism)";
    } else if (g->max_cost_per_invocation != NULL) {
        g->unsupported = "max_cost_per_invocation (cost accounting)";
    } else if (g->max_total_cost != NULL) {
        g->unsupported = "max_total_cost (cost accounting)";
    } else {
        for (i = 0; i < g->nconstraints; i++) {
            const chio__constraint *c = &g->constraints[i];
            /* {"type","value","mode":..}: a member we do not read is not enforced */
            const char *extra = chio__first_unknown_key(&listed->v.items[i], constraint_fields);
            if (c->kind != CHIO__CONSTRAINT_UNKNOWN && extra == NULL)
                continue;
            if (extra != NULL) {
                g->unsupported = "a constraint field";
                g->unsupported_name = extra;
            } else {
                g->unsupported =
                    c->type_name ? "constraint type or value" : "constraint without a type";
                g->unsupported_name = c->type_name;
            }
            break;
        }
    }
}

static int read_pattern_grant(chio_json *g, int strict, const char *key, const char *const *known,
                              chio__pattern_grant *out, chio_error *err)
{
    int rc;

    if (g->type != CHIO_JSON_OBJECT)
        return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET, WHAT ": each grant must be an object");
    if (strict && (rc = refuse_unknown(g, known, "a grant", err)) != 0)
        return rc;
    out->unsupported_name = chio__first_unknown_key(g, known);
    rc = chio__field_string(g, key, CHIO__REQUIRED, &out->pattern, NULL, err, WHAT);
    return rc ? rc : read_ops(g, &out->ops, err);
}

int chio__scope_read(chio_json_doc *doc, chio_json *scope, int strict, chio__scope *out,
                     chio_error *err)
{
    chio_json *list;
    uint32_t i;
    int rc, which;

    memset(out, 0, sizeof(*out));
    if (scope->type != CHIO_JSON_OBJECT)
        return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET, WHAT " must be an object");
    if (strict) {
        for (which = 0; which < 3; which++)
            chio__drop_null(scope, scope_fields[which], 1);
        if ((rc = refuse_unknown(scope, scope_fields, "the scope", err)) != 0)
            return rc;
    }
    for (which = 0; which < 3; which++) {
        list = chio__json_obj_find(scope, scope_fields[which], strlen(scope_fields[which]));
        if (list == NULL || (!strict && list->type == CHIO_JSON_NULL))
            continue;
        if (list->type != CHIO_JSON_ARRAY)
            return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET, WHAT ": '%s' must be an array",
                              scope_fields[which]);
        if (list->n == 0)
            continue;
        if (which == 0) {
            out->grants = chio__arena_alloc(&doc->arena, list->n * sizeof(chio__tool_grant));
            if (out->grants == NULL)
                return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
            out->ngrants = list->n;
            for (i = 0; i < list->n; i++) {
                if ((rc = read_tool_grant(doc, &list->v.items[i], strict, &out->grants[i], err)))
                    return rc;
                mark_unsupported(&list->v.items[i], &out->grants[i]);
            }
        } else {
            chio__pattern_grant *g =
                chio__arena_alloc(&doc->arena, list->n * sizeof(chio__pattern_grant));
            if (g == NULL)
                return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
            for (i = 0; i < list->n; i++) {
                rc = which == 1 ? read_pattern_grant(&list->v.items[i], strict, "uri_pattern",
                                                     resource_fields, &g[i], err)
                                : read_pattern_grant(&list->v.items[i], strict, "prompt_name",
                                                     prompt_fields, &g[i], err);
                if (rc != 0)
                    return rc;
            }
            if (which == 1) {
                out->resources = g;
                out->nresources = list->n;
            } else {
                out->prompts = g;
                out->nprompts = list->n;
            }
        }
    }
    return 0;
}

int chio__pattern_matches(const char *pattern, const char *name)
{
    size_t n = strlen(pattern);

    if (strcmp(pattern, "*") == 0)
        return 1;
    if (n > 0 && pattern[n - 1] == '*')
        return strncmp(pattern, name, n - 1) == 0;
    return strcmp(pattern, name) == 0;
}

int chio__grant_unsupported_why(const chio__tool_grant *g, uint32_t i, char *why, size_t cap)
{
    if (g->unsupported == NULL)
        return 0;
    snprintf(why, cap, "grant %u asks for %s%s%.60s%s, which the kernel does not enforce", i,
             g->unsupported, g->unsupported_name ? " '" : "",
             g->unsupported_name ? g->unsupported_name : "", g->unsupported_name ? "'" : "");
    return 1;
}
