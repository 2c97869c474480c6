/* SPDX-License-Identifier: Apache-2.0 */
/*
 * model/receipt_builder.c - the public receipt builder: a JSON document of the body
 * under construction, its setters, and the kernel's fast paths (parsed
 * parameters adopted without a copy, request context, redaction). Signing
 * a builder is receipt_sign.c's. No shared state.
 */
#include <stdlib.h>
#include <string.h>

#include "receipt_internal.h"

int chio__receipt_set_str(chio_json_doc *doc, chio_json *obj, const char *key, const char *val)
{
    chio_json *slot = chio__json_obj_put(doc, obj, key, strlen(key));

    if (slot == NULL)
        return CHIO_ENOMEM;
    return chio__json_set_string(doc, slot, val, strlen(val));
}

/* ---- builder --------------------------------------------------------------------------- */

int chio_receipt_builder_new(chio_receipt_builder **out)
{
    chio_receipt_builder *b;
    chio_json *slot;
    char nullhash[65];
    int rc;

    if (out == NULL)
        return CHIO_EINVAL;
    *out = NULL;
    b = calloc(1, sizeof(*b));
    if (b == NULL)
        return CHIO_ENOMEM;
    b->doc = chio__json_doc_new(4096); /* a typical receipt, signed, in one block */
    if (b->doc == NULL) {
        free(b);
        return CHIO_ENOMEM;
    }
    b->body = chio__json_doc_root(b->doc);
    rc = chio__json_set_object(b->doc, b->body, 20);
    if (rc == 0)
        rc = chio__receipt_set_str(b->doc, b->body, "receipt_kind", kind_names[0]);
    if (rc == 0)
        rc = chio__receipt_set_str(b->doc, b->body, "boundary_class", boundary_names[0]);
    if (rc == 0)
        rc = chio__receipt_set_str(b->doc, b->body, "trust_level", trust_names[0]);
    if (rc == 0)
        rc = chio__receipt_set_str(b->doc, b->body, "tool_origin", origin_names[0]);
    if (rc == 0)
        rc = chio__receipt_set_str(b->doc, b->body, "redaction_mode", redaction_names[0]);
    if (rc == 0)
        rc = chio_sha256_hex("null", 4, nullhash);
    if (rc == 0)
        rc = chio__receipt_set_str(b->doc, b->body, "content_hash", nullhash);
    if (rc == 0) {
        slot = chio__json_obj_put(b->doc, b->body, "action", 6);
        rc = slot ? chio__json_set_object(b->doc, slot, 2) : CHIO_ENOMEM;
        if (rc == 0) {
            slot = chio__json_obj_put(b->doc, slot, "parameters", 10);
            rc = slot ? chio__json_set_object(b->doc, slot, 0) : CHIO_ENOMEM;
        }
    }
    if (rc != 0) {
        chio_receipt_builder_free(b);
        return rc;
    }
    *out = b;
    return 0;
}

void chio_receipt_builder_free(chio_receipt_builder *b)
{
    if (b == NULL)
        return;
    chio_json_doc_free(b->doc);
    free(b);
}

static int valid_text(const char *s)
{
    return s != NULL && chio__utf8_valid(s, strlen(s));
}

static int builder_str(chio_receipt_builder *b, const char *key, const char *val)
{
    if (b == NULL || !valid_text(val))
        return CHIO_EINVAL;
    return chio__receipt_set_str(b->doc, b->body, key, val);
}

int chio_receipt_builder_set_timestamp(chio_receipt_builder *b, uint64_t unix_secs)
{
    chio_json *slot;

    if (b == NULL)
        return CHIO_EINVAL;
    slot = chio__json_obj_put(b->doc, b->body, "timestamp", 9);
    if (slot == NULL)
        return CHIO_ENOMEM;
    chio__json_set_uint(slot, unix_secs);
    b->has_timestamp = 1;
    return 0;
}

int chio_receipt_builder_set_capability_id(chio_receipt_builder *b, const char *id)
{
    return builder_str(b, "capability_id", id);
}

int chio_receipt_builder_set_tool(chio_receipt_builder *b, const char *server, const char *tool)
{
    if (b == NULL || !valid_text(server) || !valid_text(tool))
        return CHIO_EINVAL;
    int rc = chio__receipt_set_str(b->doc, b->body, "tool_server", server);
    return rc ? rc : chio__receipt_set_str(b->doc, b->body, "tool_name", tool);
}

int chio_receipt_builder_set_policy_hash(chio_receipt_builder *b, const char *hash)
{
    return builder_str(b, "policy_hash", hash);
}

int chio_receipt_builder_set_tenant_id(chio_receipt_builder *b, const char *tenant)
{
    if (b != NULL && tenant == NULL) {
        chio__json_obj_del(b->body, "tenant_id");
        return 0;
    }
    return builder_str(b, "tenant_id", tenant);
}

/* Parse @json and copy its root into a member of @dst_obj. */
static int put_parsed(chio_receipt_builder *b, chio_json *dst_obj, const char *key,
                      const char *json, size_t len, int need_object, int extra_depth,
                      chio_error *err)
{
    chio_json_doc *tmp;
    chio_json *slot;
    int rc;

    rc = chio_json_parse(json, len, &tmp, err);
    if (rc != 0)
        return rc;
    /* The value sits @extra_depth levels down in the receipt: the signed
     * receipt must still be readable by chio_receipt_parse() and by chio. */
    if (chio__json_depth(chio_json_root(tmp)) + extra_depth > CHIO__RECEIPT_MAX_DEPTH) {
        chio_json_doc_free(tmp);
        return chio__fail(err, CHIO_EJSON_DEPTH, CHIO_NO_OFFSET,
                          WHAT ": %s nests more than %d levels inside a receipt", key,
                          CHIO__RECEIPT_MAX_DEPTH);
    }
    if (need_object && chio_json_root(tmp)->type != CHIO_JSON_OBJECT) {
        chio_json_doc_free(tmp);
        return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET, WHAT ": %s must be a JSON object",
                          key);
    }
    slot = chio__json_obj_put(b->doc, dst_obj, key, strlen(key));
    rc = slot ? chio__json_copy(b->doc, slot, chio_json_root(tmp)) : CHIO_ENOMEM;
    chio_json_doc_free(tmp);
    return rc;
}

int chio_receipt_builder_set_parameters(chio_receipt_builder *b, const char *json, size_t len,
                                        chio_error *err)
{
    if (b == NULL || json == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL argument");
    return put_parsed(b, chio__json_obj_find(b->body, "action", 6), "parameters", json, len, 0,
                      CHIO__RECEIPT_PARAMS_DEPTH, err);
}

int chio_receipt_builder_set_output(chio_receipt_builder *b, const char *json, size_t len,
                                    chio_error *err)
{
    chio_json_doc *tmp;
    char hash[65];
    int rc;

    if (b == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL builder");
    if (json == NULL && len > 0) /* a host's NULL-pointer bug, not "no output" (abi.md) */
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL output with a length of %zu",
                          len);
    if (json == NULL) {
        rc = chio_sha256_hex("null", 4, hash);
    } else {
        rc = chio_json_parse(json, len, &tmp, err);
        if (rc != 0)
            return rc;
        rc = chio__canonical_sha256_hex(chio_json_root(tmp), hash);
        chio_json_doc_free(tmp);
    }
    return rc ? rc : chio__receipt_set_str(b->doc, b->body, "content_hash", hash);
}

int chio_receipt_builder_set_content_hash(chio_receipt_builder *b, const char *hex)
{
    size_t i;

    if (b == NULL || hex == NULL || strlen(hex) != CHIO_SHA256_HEX_LEN)
        return CHIO_EINVAL;
    for (i = 0; i < CHIO_SHA256_HEX_LEN; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
            return CHIO_EINVAL;
    return chio__receipt_set_str(b->doc, b->body, "content_hash", hex);
}

int chio_receipt_builder_set_metadata(chio_receipt_builder *b, const char *json, size_t len,
                                      chio_error *err)
{
    if (b == NULL || json == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "NULL argument");
    return put_parsed(b, b->body, "metadata", json, len, 1, 1, err);
}

int chio_receipt_builder_set_decision(chio_receipt_builder *b, chio_verdict verdict,
                                      const char *reason, const char *guard)
{
    chio_json *d;
    int rc;

    if (b == NULL || (int)verdict < 0 || (int)verdict > CHIO_VERDICT_INCOMPLETE)
        return CHIO_EINVAL;
    if (verdict == CHIO_VERDICT_NONE) {
        if (reason || guard)
            return CHIO_EINVAL;
        chio__json_obj_del(b->body, "decision");
        return 0;
    }
    if (verdict == CHIO_VERDICT_ALLOW && (reason || guard))
        return CHIO_EINVAL;
    if (verdict == CHIO_VERDICT_DENY && (!valid_text(reason) || !valid_text(guard)))
        return CHIO_EINVAL;
    if ((verdict == CHIO_VERDICT_CANCELLED || verdict == CHIO_VERDICT_INCOMPLETE) &&
        (!valid_text(reason) || guard))
        return CHIO_EINVAL;
    d = chio__json_obj_put(b->doc, b->body, "decision", 8);
    if (d == NULL)
        return CHIO_ENOMEM;
    rc = chio__json_set_object(b->doc, d, 3);
    if (rc == 0)
        rc = chio__receipt_set_str(b->doc, d, "verdict", verdict_names[verdict - 1]);
    if (rc == 0 && reason)
        rc = chio__receipt_set_str(b->doc, d, "reason", reason);
    if (rc == 0 && guard)
        rc = chio__receipt_set_str(b->doc, d, "guard", guard);
    return rc;
}

static int builder_enum(chio_receipt_builder *b, const char *key, const char *const *names, int n,
                        int value)
{
    if (b == NULL || value < 0 || value >= n)
        return CHIO_EINVAL;
    return chio__receipt_set_str(b->doc, b->body, key, names[value]);
}

int chio_receipt_builder_set_kind(chio_receipt_builder *b, chio_receipt_kind kind)
{
    static const int boundary[] = {CHIO_BOUNDARY_PREVENT, CHIO_BOUNDARY_DETECT_ONLY,
                                   CHIO_BOUNDARY_ADVISORY_ONLY};
    static const int trust[] = {CHIO_TRUST_MEDIATED, CHIO_TRUST_VERIFIED, CHIO_TRUST_ADVISORY};
    static const int outcome[] = {CHIO_OUTCOME_NONE, CHIO_OUTCOME_OBSERVED, CHIO_OUTCOME_EVALUATED};
    int rc = builder_enum(b, "receipt_kind", kind_names, COUNT(kind_names), (int)kind);

    if (rc == 0)
        rc = chio_receipt_builder_set_boundary_class(b, (chio_boundary_class)boundary[kind]);
    if (rc == 0)
        rc = chio_receipt_builder_set_trust_level(b, (chio_trust_level)trust[kind]);
    if (rc == 0)
        rc = chio_receipt_builder_set_observation_outcome(b,
                                                          (chio_observation_outcome)outcome[kind]);
    return rc;
}

int chio_receipt_builder_set_boundary_class(chio_receipt_builder *b, chio_boundary_class bc)
{
    return builder_enum(b, "boundary_class", boundary_names, COUNT(boundary_names), (int)bc);
}

int chio_receipt_builder_set_trust_level(chio_receipt_builder *b, chio_trust_level t)
{
    return builder_enum(b, "trust_level", trust_names, COUNT(trust_names), (int)t);
}

int chio_receipt_builder_set_observation_outcome(chio_receipt_builder *b,
                                                 chio_observation_outcome o)
{
    if (b != NULL && o == CHIO_OUTCOME_NONE) {
        chio__json_obj_del(b->body, "observation_outcome");
        return 0;
    }
    return builder_enum(b, "observation_outcome", outcome_names, COUNT(outcome_names), (int)o - 1);
}

int chio_receipt_builder_set_tool_origin(chio_receipt_builder *b, chio_tool_origin o)
{
    return builder_enum(b, "tool_origin", origin_names, COUNT(origin_names), (int)o);
}

int chio_receipt_builder_set_redaction_mode(chio_receipt_builder *b, chio_redaction_mode r)
{
    return builder_enum(b, "redaction_mode", redaction_names, COUNT(redaction_names), (int)r);
}

/* Append an empty object to the array @key (created on first use). */
static chio_json *push_item(chio_receipt_builder *b, const char *key)
{
    chio_json *arr = chio__json_obj_put(b->doc, b->body, key, strlen(key)), *it;

    if (arr == NULL)
        return NULL;
    if (arr->type != CHIO_JSON_ARRAY && chio__json_set_array(b->doc, arr, 4) != 0)
        return NULL;
    it = chio__json_arr_push(b->doc, arr);
    if (it == NULL || chio__json_set_object(b->doc, it, 3) != 0)
        return NULL;
    return it;
}

int chio_receipt_builder_add_actor(chio_receipt_builder *b, const char *actor_id,
                                   const char *actor_kind)
{
    chio_json *it;
    int rc;

    if (b == NULL || !valid_text(actor_id) || (actor_kind && !valid_text(actor_kind)))
        return CHIO_EINVAL;
    it = push_item(b, "actor_chain");
    if (it == NULL)
        return CHIO_ENOMEM;
    rc = chio__receipt_set_str(b->doc, it, "actor_id", actor_id);
    if (rc == 0 && actor_kind)
        rc = chio__receipt_set_str(b->doc, it, "actor_kind", actor_kind);
    return rc;
}

int chio_receipt_builder_add_evidence(chio_receipt_builder *b, const char *guard_name, int passed,
                                      const char *details)
{
    chio_json *it, *slot;
    int rc;

    if (b == NULL || !valid_text(guard_name) || (details && !valid_text(details)))
        return CHIO_EINVAL;
    it = push_item(b, "evidence");
    if (it == NULL)
        return CHIO_ENOMEM;
    rc = chio__receipt_set_str(b->doc, it, "guard_name", guard_name);
    if (rc == 0) {
        slot = chio__json_obj_put(b->doc, it, "verdict", 7);
        if (slot == NULL)
            return CHIO_ENOMEM;
        chio__json_set_bool(slot, passed);
    }
    if (rc == 0 && details)
        rc = chio__receipt_set_str(b->doc, it, "details", details);
    return rc;
}

int chio__receipt_builder_set_context(chio_receipt_builder *b, const char *request_id,
                                      const char *session_id, const char *parent_request_id)
{
    chio_json *meta, *ctx;
    int rc;

    meta = chio__json_obj_put(b->doc, b->body, "metadata", 8);
    if (meta == NULL || chio__json_set_object(b->doc, meta, 1) != 0)
        return CHIO_ENOMEM;
    ctx = chio__json_obj_put(b->doc, meta, "receipt_context", 15);
    if (ctx == NULL || chio__json_set_object(b->doc, ctx, 3) != 0)
        return CHIO_ENOMEM;
    rc = chio__receipt_set_str(b->doc, ctx, "request_id", request_id);
    if (rc == 0)
        rc = chio__receipt_set_str(b->doc, ctx, "session_id", session_id);
    if (rc == 0 && parent_request_id != NULL)
        rc = chio__receipt_set_str(b->doc, ctx, "parent_request_id", parent_request_id);
    return rc;
}

int chio__receipt_builder_set_redaction(chio_receipt_builder *b, const char *original_hash,
                                        const char *guard, uint64_t count, const char *reason)
{
    chio_json *meta, *red;
    int rc;

    meta = chio__json_obj_put(b->doc, b->body, "metadata", 8);
    if (meta == NULL)
        return CHIO_ENOMEM;
    if (meta->type != CHIO_JSON_OBJECT && chio__json_set_object(b->doc, meta, 1) != 0)
        return CHIO_ENOMEM;
    red = chio__json_obj_put(b->doc, meta, "redaction", 9);
    if (red == NULL || chio__json_set_object(b->doc, red, 4) != 0)
        return CHIO_ENOMEM;
    rc = chio__receipt_set_str(b->doc, red, "original_parameter_hash", original_hash);
    if (rc == 0 && guard != NULL)
        rc = chio__receipt_set_str(b->doc, red, "guard", guard);
    if (rc == 0 && reason != NULL)
        rc = chio__receipt_set_str(b->doc, red, "reason", reason);
    if (rc == 0 && count > 0) {
        chio_json *slot = chio__json_obj_put(b->doc, red, "redacted_values", 15);
        if (slot == NULL)
            return CHIO_ENOMEM;
        chio__json_set_uint(slot, count);
    }
    return rc;
}
