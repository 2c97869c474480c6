/* SPDX-License-Identifier: Apache-2.0 */
/*
 * model/scope.h - the typed view of a capability scope (ChioScope): tool,
 * resource and prompt grants with their operations and constraints. Views
 * point into the token's JSON document and live as long as it does. Shared
 * by capability.c and, later, the kernel's scope check. No state.
 */
#ifndef CHIO_MODEL_SCOPE_H
#define CHIO_MODEL_SCOPE_H

#include <stddef.h>
#include <stdint.h>

#include "chio/capability.h"
#include "model.h"

/* Operation bits. */
enum {
    CHIO__OP_INVOKE = 1u << 0,
    CHIO__OP_READ_RESULT = 1u << 1,
    CHIO__OP_READ = 1u << 2,
    CHIO__OP_SUBSCRIBE = 1u << 3,
    CHIO__OP_GET = 1u << 4,
    CHIO__OP_DELEGATE = 1u << 5
};

typedef enum chio__constraint_kind {
    CHIO__CONSTRAINT_UNKNOWN = 0, /* not understood, or a malformed value: deny */
    CHIO__CONSTRAINT_PATH_PREFIX,
    CHIO__CONSTRAINT_DOMAIN_EXACT,
    CHIO__CONSTRAINT_DOMAIN_GLOB,
    CHIO__CONSTRAINT_REGEX_MATCH,
    CHIO__CONSTRAINT_MAX_LENGTH,
    CHIO__CONSTRAINT_MAX_ARGS_SIZE,
    CHIO__CONSTRAINT_CUSTOM
} chio__constraint_kind;

typedef struct chio__constraint {
    chio__constraint_kind kind;
    const char *type_name;  /* as written in the token */
    const char *str;        /* string value (path/domain/regex) */
    uint64_t num;           /* max_length / max_args_size */
    const char *custom_key; /* custom: [key, value] */
    const char *custom_value;
} chio__constraint;

typedef struct chio__tool_grant {
    const char *server_id; /* "*" matches any */
    const char *tool_name; /* "*" matches any */
    unsigned ops;
    chio__constraint *constraints;
    uint32_t nconstraints;
    int has_max_invocations;
    uint64_t max_invocations;
    const chio_json *max_cost_per_invocation; /* {"units","currency"} or NULL */
    const chio_json *max_total_cost;
    int dpop_required;
    /* Not NULL when the grant asks for something the kernel does not
     * enforce (the grant is then unusable, fail closed): what it is, e.g.
     * "dpop_required", "max_total_cost", "unknown field", "constraint type",
     * with the offending name (a field or constraint type) or NULL. */
    const char *unsupported;
    const char *unsupported_name;
} chio__tool_grant;

typedef struct chio__pattern_grant {
    const char *pattern; /* uri_pattern or prompt_name; "*" or a trailing '*' prefix */
    unsigned ops;
    const char *unsupported_name; /* an unknown field (the grant is unusable), or NULL */
} chio__pattern_grant;

typedef struct chio__scope {
    chio__tool_grant *grants;
    uint32_t ngrants;
    chio__pattern_grant *resources;
    uint32_t nresources;
    chio__pattern_grant *prompts;
    uint32_t nprompts;
} chio__scope;

/* 1 when @c is a constraint the kernel reads: an object of "type" and
 * "value" alone, of a type it knows, the value of that type's shape (as a
 * grant's constraints are read; an attenuation's add_constraint too). */
int chio__constraint_readable(const chio_json *c);
/* @c read as a grant's constraint: kind CHIO__CONSTRAINT_UNKNOWN when the
 * type is not one the kernel knows or the value is not of its shape.
 * Views point into @c's document. */
void chio__constraint_read(const chio_json *c, chio__constraint *out);
/* What tool grant @g (number @i) asks for that the kernel does not
 * enforce, described into @why (the kernel's deny reason and
 * chio_capability_unenforced()'s text); 0 when it asks for nothing such. */
int chio__grant_unsupported_why(const chio__tool_grant *g, uint32_t i, char *why, size_t cap);
/* 1 when @s is a string naming one of the six operations. */
int chio__operation_named(const chio_json *s);

/*
 * Read @scope (an object inside @doc) into @out, allocating the views in the
 * document's arena. With @strict (used when issuing) unknown fields are
 * refused and the object is rewritten in chio's normal form: empty lists
 * and null optional members removed, except a null constraint list, which
 * is refused (dropped, it would be an allow-all grant).
 * Returns 0, CHIO_EFORMAT or CHIO_ENOMEM (details in @err).
 */
int chio__scope_read(chio_json_doc *doc, chio_json *scope, int strict, chio__scope *out,
                     chio_error *err);

/*
 * The kernel's form of chio_capability_verify() (time not judged, @now 0):
 * the same report, except that the delegation links are verified only when
 * the token's signature is valid, its issuer trusted and it has at most
 * @max_depth links (any depth when negative); otherwise
 * delegation_chain_shape_valid is 0 without looking at them. So the work a
 * token costs before it is refused is bounded by the kernel's depth limit,
 * not by its size. Returns as chio_capability_verify().
 */
int chio__capability_verify_lazy(const struct chio_capability *cap, const uint8_t *trusted_keys,
                                 size_t ntrusted, long max_depth, chio_capability_report *rep);

/* Does @pattern cover @name ("*", "prefix*" or exact)? */
int chio__pattern_matches(const char *pattern, const char *name);

#endif
