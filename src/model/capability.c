/* SPDX-License-Identifier: Apache-2.0 */
/*
 * model/capability.c - chio.capability.v1 tokens (spec/wire-format.md s.4).
 *
 * Owns the token's byte forms:
 *   signed message = canonical(token without "signature",
 *                              with "schema":"chio.capability.v1")
 *   link message   = canonical(delegation link without "signature")
 * A token is held as its JSON document minus the signature member, so the
 * signed message is one merged write. Top-level fields we do not interpret
 * stay in the document (and so in the signed bytes) but grant nothing: they,
 * unknown link fields and link attenuations of a type chio does not know
 * are reported by chio_capability_unknown_field(), and the kernel does not
 * use such a token.
 *
 * Calls the core layer and model/scope.c. No shared state; a token is
 * immutable once parsed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "chio/capability.h"
#include "attenuation.h"
#include "scope.h"

#define WHAT "capability"

static const char *const link_fields[] = {"capability_id", "delegator", "delegatee",
                                          "attenuations",  "timestamp", "scope_hash",
                                          "signature",     NULL};
static const char *const scope_fields[] = {"grants", "resource_grants", "prompt_grants", NULL};
static const char *const top_fields[] = {"schema",    "id",        "issuer",     "subject",
                                         "scope",     "issued_at", "expires_at", "delegation_chain",
                                         "signature", NULL};

typedef struct link_view {
    chio_json *obj;
    const char *capability_id;
    uint8_t delegator[32];
    uint8_t delegatee[32];
    uint64_t timestamp;
    uint8_t signature[64];
    int odd_attenuation;     /* an attenuation chio cannot read (or one it drops a member of) */
    int dropped_attenuation; /* an attenuation member chio drops */
} link_view;

struct chio_capability {
    chio_json_doc *doc;
    chio_json *obj; /* the token without "signature" */
    const char *id;
    const char *issuer_hex, *subject_hex;
    uint8_t issuer[32], subject[32];
    uint64_t issued_at, expires_at;
    uint8_t signature[64];
    chio__scope scope;
    link_view *links;
    size_t nlinks;
    const char *unknown;
    int dropped; /* a member chio's types have no place for (not an odd attenuation) */
    /* The first attenuation of the chain the token's own scope or expiry
     * contradicts, found on first use (contradiction()) and kept: 0 until
     * then, else CONTRA_DONE with the flags and indices below. Atomic: a
     * token is shared by the threads of a session. */
    uint64_t contra;
    char *json;
    size_t json_len;
};

const char *chio_time_status_name(chio_time_status s)
{
#define CHIO__TIME_STATUS_STR(name, str) str,
    static const char *const names[] = {CHIO_TIME_STATUS_MAP(CHIO__TIME_STATUS_STR)};
#undef CHIO__TIME_STATUS_STR

    return (int)s >= 0 && (size_t)s < sizeof(names) / sizeof(names[0]) ? names[s] : NULL;
}

/* ---- parsing ------------------------------------------------------------------------ */

static int read_signature(const chio_json *v, uint8_t out[64], const char *what, chio_error *err)
{
    if (v == NULL)
        return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET, "%s: field 'signature' is missing",
                          what);
    if (v->type != CHIO_JSON_STRING || chio_signature_from_hex(v->v.s, v->n, out) != 0)
        return chio__fail(err, CHIO_ESIGFORMAT, CHIO_NO_OFFSET,
                          "%s: field 'signature' must be 128 hex digits (64 bytes)", what);
    return 0;
}

/* ---- delegation links -------------------------------------------------------------------- */

static int read_link(chio_json_doc *doc, chio_json *l, size_t i, link_view *out, chio_error *err)
{
    char what[48];
    int rc;

    snprintf(what, sizeof(what), WHAT " delegation link %zu", i);
    memset(out, 0, sizeof(*out));
    out->obj = l;
    if (l->type != CHIO_JSON_OBJECT)
        return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET, "%s must be an object", what);
    /* null is "absent" (chio's reader; docs/spec-reading.md). An empty
     * list stays as written: its signatures are checked over both forms
     * (see "Two forms of an empty attenuations list" below). */
    chio__drop_null(l, "attenuations", 0);
    chio__drop_null(l, "scope_hash", 0);
    rc = chio__field_string(l, "capability_id", CHIO__REQUIRED, &out->capability_id, NULL, err,
                            what);
    if (rc == 0)
        rc = chio__field_pubkey(doc, l, "delegator", out->delegator, err, what);
    if (rc == 0)
        rc = chio__field_pubkey(doc, l, "delegatee", out->delegatee, err, what);
    if (rc == 0)
        rc = chio__field_u64(l, "timestamp", CHIO__REQUIRED, &out->timestamp, NULL, err, what);
    if (rc == 0) {
        const char *sh;
        rc = chio__field_string(l, "scope_hash", CHIO__OPTIONAL, &sh, NULL, err, what);
    }
    if (rc == 0) {
        const chio_json *att;
        rc = chio__field_typed(l, "attenuations", CHIO__OPTIONAL, CHIO_JSON_ARRAY, &att, err, what);
        for (uint32_t a = 0; rc == 0 && att != NULL && a < att->n; a++) {
            int how = chio__attenuation_read(&att->v.items[a]);
            out->odd_attenuation |= how != CHIO__ATT_OK;
            out->dropped_attenuation |= how == CHIO__ATT_DROPPED;
        }
    }
    if (rc == 0)
        rc = read_signature(chio_json_get(l, "signature"), out->signature, what, err);
    return rc;
}

/* cap->contra: found (a contradiction, or the work bound reached at that
 * attenuation), over (the bound), link index (29 bits), attenuation index. */
#define CONTRA_DONE    (1ull << 63)
#define CONTRA_FOUND   (1ull << 62)
#define CONTRA_OVER    (1ull << 61)
#define CONTRA_LINK(v) ((long)(((v) >> 32) & 0x1fffffffu))
#define CONTRA_ATT(v)  ((uint32_t)(v))

/* The attenuation of @cap's chain, if any, that the token's own scope or
 * expiry contradicts. Each link is read against the token itself: under
 * chio's rules a child's scope is within its parent's and its expiry no
 * later, so a token chio admits keeps to the attenuations of every link
 * above it, not only the last. The work is bounded
 * (CHIO__ATTENUATION_WORK): a chain whose attenuations take more
 * comparisons against the grants is reported as if contradicted, never
 * checked in part. Found on first use, after the kernel's earlier checks
 * (so an untrusted token costs nothing here), and kept. */
static uint64_t contradiction(const chio_capability *cap)
{
    uint64_t v = __atomic_load_n(&cap->contra, __ATOMIC_ACQUIRE);
    int64_t work = CHIO__ATTENUATION_WORK;
    char why[8];
    size_t i;
    uint32_t a;
    int r;

    if (v != 0)
        return v;
    v = CONTRA_DONE;
    for (i = 0; i < cap->nlinks && !(v & CONTRA_FOUND); i++) {
        const chio_json *att = chio_json_get(cap->links[i].obj, "attenuations");
        for (a = 0; att != NULL && att->type == CHIO_JSON_ARRAY && a < att->n; a++) {
            r = chio__attenuation_contradicted(&att->v.items[a], &cap->scope, cap->expires_at,
                                               &work, why, sizeof(why));
            if (r != 0 || --work < 0) {
                v |= CONTRA_FOUND | (r == 1 ? 0 : CONTRA_OVER) | (uint64_t)i << 32 | a;
                break;
            }
        }
    }
    /* Release: a thread that reads the value reads a finished search. Two
     * threads that race here store the same value. */
    __atomic_store_n(&((chio_capability *)cap)->contra, v, __ATOMIC_RELEASE);
    return v;
}

/* Fill @cap from cap->doc. Normalises keys and optional members in place and
 * removes the signature member from the object. */
static int cap_read(chio_capability *cap, chio_error *err)
{
    chio_json *obj = cap->obj, *scope, *chain;
    const char *schema = NULL, *link_unknown;
    size_t i;
    int rc;

    if (obj->type != CHIO_JSON_OBJECT)
        return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET, WHAT " must be a JSON object");
    chio__drop_null(obj, "delegation_chain", 1);
    cap->unknown = chio__first_unknown_key(obj, top_fields);
    rc = chio__field_string(obj, "schema", CHIO__OPTIONAL, &schema, NULL, err, WHAT);
    if (rc != 0)
        return rc;
    if (schema != NULL && strcmp(schema, CHIO_CAPABILITY_SCHEMA) != 0)
        return chio__fail(err, CHIO_ESCHEMA, CHIO_NO_OFFSET,
                          WHAT ": schema \"%.64s\" is not " CHIO_CAPABILITY_SCHEMA, schema);
    rc = chio__field_string(obj, "id", CHIO__REQUIRED, &cap->id, NULL, err, WHAT);
    if (rc == 0)
        rc = chio__field_pubkey(cap->doc, obj, "issuer", cap->issuer, err, WHAT);
    if (rc == 0)
        rc = chio__field_pubkey(cap->doc, obj, "subject", cap->subject, err, WHAT);
    if (rc == 0)
        rc = chio__field_u64(obj, "issued_at", CHIO__REQUIRED, &cap->issued_at, NULL, err, WHAT);
    if (rc == 0)
        rc = chio__field_u64(obj, "expires_at", CHIO__REQUIRED, &cap->expires_at, NULL, err, WHAT);
    if (rc == 0)
        rc = read_signature(chio_json_get(obj, "signature"), cap->signature, WHAT, err);
    if (rc != 0)
        return rc;
    scope = chio__json_obj_find(obj, "scope", 5);
    if (scope == NULL)
        return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET, WHAT ": field 'scope' is missing");
    rc = chio__scope_read(cap->doc, scope, 0, &cap->scope, err);
    if (rc == 0 && cap->unknown == NULL) /* a kind of grant we do not know */
        cap->unknown = chio__first_unknown_key(scope, scope_fields);
    if (rc != 0)
        return rc;
    cap->dropped = cap->unknown != NULL;
    chain = chio__json_obj_find(obj, "delegation_chain", 16);
    if (chain != NULL) {
        if (chain->type != CHIO_JSON_ARRAY)
            return chio__fail(err, CHIO_EFORMAT, CHIO_NO_OFFSET,
                              WHAT ": field 'delegation_chain' must be an array");
        cap->links = chio__arena_alloc(&cap->doc->arena, chain->n * sizeof(link_view));
        if (cap->links == NULL)
            return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
        cap->nlinks = chain->n;
        for (i = 0; i < chain->n; i++) {
            rc = read_link(cap->doc, &chain->v.items[i], i, &cap->links[i], err);
            if (rc != 0)
                return rc;
            /* A link field we do not interpret is reported like a
             * top-level one: the kernel will not use the token. */
            link_unknown = chio__first_unknown_key(&chain->v.items[i], link_fields);
            cap->dropped |= link_unknown != NULL || cap->links[i].dropped_attenuation;
            if (cap->unknown == NULL)
                cap->unknown = link_unknown;
            if (cap->unknown == NULL && cap->links[i].odd_attenuation)
                cap->unknown = "attenuations";
        }
    }
    cap->issuer_hex = chio_json_string(chio_json_get(obj, "issuer"), NULL);
    cap->subject_hex = chio_json_string(chio_json_get(obj, "subject"), NULL);

    /* The stored form keeps the signature; the object we keep does not. */
    {
        chio_buf b;
        chio__buf_init(&b);
        chio__json_write(&b, obj);
        cap->json = chio__buf_detach(&b, &cap->json_len);
        if (cap->json == NULL)
            return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    }
    chio__json_obj_del(obj, "signature");
    return 0;
}

int chio_capability_parse(const char *json, size_t len, chio_capability **out, chio_error *err)
{
    chio_capability *cap;
    int rc;

    if (out == NULL)
        return chio__fail(err, CHIO_EINVAL, CHIO_NO_OFFSET, "out is NULL");
    *out = NULL;
    cap = calloc(1, sizeof(*cap));
    if (cap == NULL)
        return chio__fail(err, CHIO_ENOMEM, CHIO_NO_OFFSET, "out of memory");
    rc = chio_json_parse(json, len, &cap->doc, err);
    if (rc != 0) {
        free(cap);
        return rc;
    }
    cap->obj = chio__json_doc_root(cap->doc);
    rc = cap_read(cap, err);
    if (rc != 0) {
        chio_capability_free(cap);
        return rc;
    }
    *out = cap;
    return 0;
}

void chio_capability_free(chio_capability *cap)
{
    if (cap == NULL)
        return;
    chio_json_doc_free(cap->doc);
    free(cap->json);
    free(cap);
}

/* ---- byte forms ------------------------------------------------------------------------ */

int chio__capability_signed_message(const chio_json *obj, chio_buf *b)
{
    chio_json_member schema;

    memset(&schema, 0, sizeof(schema));
    schema.key = "schema";
    schema.klen = 6;
    schema.value.type = CHIO_JSON_STRING;
    schema.value.n = (uint32_t)strlen(CHIO_CAPABILITY_SCHEMA);
    schema.value.v.s = CHIO_CAPABILITY_SCHEMA;
    chio__json_write_merged(b, obj, &schema, 1);
    return b->oom ? CHIO_ENOMEM : 0;
}

/* Two forms of an empty attenuations list. wire-format.md omits only
 * empty evidence, actor_chain and delegation_chain lists, so a writer that
 * follows it literally signs a link's "attenuations":[] as written; chio's
 * serializer leaves an empty attenuations list out of a link (and so out
 * of the link's and the token's signed bytes) while its reader takes
 * either. Both forms mean "no attenuation", so a link holding an empty
 * list is accepted when a signature covers either form: as written first,
 * then chio's. Nothing else is ever left out. */
static int empty_attenuations(const chio_json *link)
{
    const chio_json *a = chio_json_get(link, "attenuations");

    return a != NULL && a->type == CHIO_JSON_ARRAY && a->n == 0;
}

static const char *const signature_only[] = {"signature"};
static const char *const signature_and_attenuations[] = {"signature", "attenuations"};

static int verify_link(const link_view *l)
{
    chio_buf b;
    int rc;

    chio__buf_init(&b);
    chio__json_write_except(&b, l->obj, signature_only, 1);
    rc = b.oom ? CHIO_ENOMEM : chio_ed25519_verify(l->delegator, b.data, b.len, l->signature);
    if (rc == CHIO_EBADSIG && empty_attenuations(l->obj)) { /* chio's form */
        b.len = 0;
        chio__json_write_except(&b, l->obj, signature_and_attenuations, 2);
        rc = b.oom ? CHIO_ENOMEM : chio_ed25519_verify(l->delegator, b.data, b.len, l->signature);
    }
    chio__buf_destroy(&b);
    return rc;
}

/* The token's signed message in chio's form: every link's empty
 * attenuations list left out. Shallow copies only (the token may be shared
 * between threads): the copies point into the token's document. */
static int chio_form_message(const chio_capability *cap, chio_buf *b)
{
    const chio_json *chain = chio_json_get(cap->obj, "delegation_chain");
    chio_json tok = *cap->obj, *items = NULL;
    chio_json_member *members = NULL, **link_members = NULL;
    uint32_t i, j, k;
    int rc = CHIO_ENOMEM;

    if (chain == NULL || chain->type != CHIO_JSON_ARRAY || chain->n == 0)
        return CHIO_EINVAL;
    items = calloc(chain->n, sizeof(*items));
    link_members = calloc(chain->n, sizeof(*link_members));
    members = calloc(cap->obj->n, sizeof(*members));
    if (items == NULL || link_members == NULL || members == NULL)
        goto out;
    for (i = 0; i < chain->n; i++) {
        const chio_json *l = &chain->v.items[i];
        items[i] = *l;
        if (!empty_attenuations(l))
            continue;
        link_members[i] = calloc(l->n, sizeof(chio_json_member));
        if (link_members[i] == NULL)
            goto out;
        for (j = 0, k = 0; j < l->n; j++)
            if (!(l->v.members[j].klen == 12 &&
                  memcmp(l->v.members[j].key, "attenuations", 12) == 0))
                link_members[i][k++] = l->v.members[j];
        items[i].v.members = link_members[i];
        items[i].n = k;
    }
    for (i = 0; i < cap->obj->n; i++) {
        members[i] = cap->obj->v.members[i];
        if (&cap->obj->v.members[i].value == chain)
            members[i].value.v.items = items;
    }
    tok.v.members = members;
    rc = chio__capability_signed_message(&tok, b);
out:
    for (i = 0; link_members != NULL && i < chain->n; i++)
        free(link_members[i]);
    free(link_members);
    free(items);
    free(members);
    return rc;
}

/* Does any link of @cap hold an empty attenuations list? */
static int any_empty_attenuations(const chio_capability *cap)
{
    size_t i;

    for (i = 0; i < cap->nlinks; i++)
        if (empty_attenuations(cap->links[i].obj))
            return 1;
    return 0;
}

/* ---- verification ------------------------------------------------------------------------ */

/* With @lazy_chain the links are verified only for a token that passes
 * check 1 (valid signature, trusted issuer) and is within @max_depth: the
 * kernel's order denies any other token before it looks at the links, and
 * each link costs a signature verification that whoever builds the token
 * can make valid with keys of their own (see chio__capability_verify_lazy). */
/* A member of the token, its scope, a grant or a link that chio's types
 * have no place for: chio drops it when it reads the token. (A link's
 * attenuation of a kind chio does not have is not dropped: chio's reader
 * refuses the token, and the kernel does not use it either.) */
static int chio_drops_a_member(const chio_capability *cap)
{
    const chio__scope *sc = &cap->scope;
    uint32_t i;

    if (cap->dropped)
        return 1;
    for (i = 0; i < sc->ngrants; i++) {
        const chio__tool_grant *g = &sc->grants[i];
        if (g->unsupported != NULL && strcmp(g->unsupported, "unknown field") == 0)
            return 1;
        /* a cost cap (MonetaryAmount) holds units and currency only */
        if ((g->max_cost_per_invocation != NULL &&
             chio__money_read(g->max_cost_per_invocation) != CHIO__ATT_OK) ||
            (g->max_total_cost != NULL && chio__money_read(g->max_total_cost) != CHIO__ATT_OK))
            return 1;
    }
    for (i = 0; i < sc->nresources; i++)
        if (sc->resources[i].unsupported_name != NULL)
            return 1;
    for (i = 0; i < sc->nprompts; i++)
        if (sc->prompts[i].unsupported_name != NULL)
            return 1;
    return 0;
}

static int verify_impl(const chio_capability *cap, uint64_t now, const uint8_t *trusted_keys,
                       size_t ntrusted, long max_depth, int lazy_chain, chio_capability_report *rep)
{
    chio_buf b;
    size_t i;
    int rc;

    /* Zeroed first: ok stays 0 on every error, the argument errors too (a
     * host reading ok without its result read its own stack otherwise). */
    if (rep != NULL)
        memset(rep, 0, sizeof(*rep));
    if (cap == NULL || rep == NULL || (trusted_keys == NULL && ntrusted != 0) ||
        ntrusted > SIZE_MAX / 32)
        return CHIO_EINVAL;
    rep->id = cap->id;
    rep->chain_error_link = -1;

    chio__buf_init(&b);
    rc = chio__capability_signed_message(cap->obj, &b);
    if (rc == 0)
        rc = chio_ed25519_verify(cap->issuer, b.data, b.len, cap->signature);
    if (rc == CHIO_EBADSIG && any_empty_attenuations(cap)) { /* chio's form */
        b.len = 0;
        rc = chio_form_message(cap, &b);
        if (rc == 0)
            rc = chio_ed25519_verify(cap->issuer, b.data, b.len, cap->signature);
    }
    if (rc == 0 || rc == CHIO_EBADSIG) {
        /* A member chio's types have no place for is dropped when chio
         * reads the token, so its signature cannot verify there: the
         * public report says so too (the kernel's lazy check goes on to
         * deny such a token as unsupported_grant, which names it). */
        rep->signature_valid = rc == 0 && (lazy_chain || !chio_drops_a_member(cap));
        rc = 0;
    }
    chio__buf_destroy(&b);
    if (rc != 0)
        return rc;

    if (now < cap->issued_at)
        rep->time_status = CHIO_TIME_NOT_YET_VALID;
    else if (now >= cap->expires_at)
        rep->time_status = CHIO_TIME_EXPIRED;
    else
        rep->time_status = CHIO_TIME_VALID;
    rep->time_status_name = chio_time_status_name(rep->time_status);

    for (i = 0; i < ntrusted; i++)
        if (memcmp(trusted_keys + 32 * i, cap->issuer, 32) == 0)
            rep->issuer_trusted = 1;

    /* Chain shape, in chio's order: depth, then per link signature,
     * connectivity and non-decreasing timestamps. */
    rep->delegation_chain_shape_valid = 1;
    if (max_depth >= 0 && cap->nlinks > (size_t)max_depth) {
        rep->delegation_depth_exceeded = 1;
        rep->delegation_chain_shape_valid = 0;
    }
    if (lazy_chain && cap->nlinks > 0 && (!rep->signature_valid || !rep->issuer_trusted))
        rep->delegation_chain_shape_valid = 0; /* not looked at: denied by check 1 */
    for (i = 0; i < cap->nlinks && rep->delegation_chain_shape_valid; i++) {
        const link_view *l = &cap->links[i];
        rc = verify_link(l);
        if (rc != 0 && rc != CHIO_EBADSIG)
            return rc;
        if (rc == CHIO_EBADSIG ||
            (i > 0 && (memcmp(cap->links[i - 1].delegatee, l->delegator, 32) != 0 ||
                       l->timestamp < cap->links[i - 1].timestamp))) {
            rep->delegation_chain_shape_valid = 0;
            rep->chain_error_link = (long)i;
        }
    }

    rep->ok = rep->signature_valid && rep->time_status == CHIO_TIME_VALID &&
              rep->delegation_chain_shape_valid && rep->issuer_trusted;
    return 0;
}

int chio_capability_verify(const chio_capability *cap, uint64_t now, const uint8_t *trusted_keys,
                           size_t ntrusted, long max_depth, chio_capability_report *rep)
{
    return verify_impl(cap, now, trusted_keys, ntrusted, max_depth, 0, rep);
}

int chio__capability_verify_lazy(const chio_capability *cap, const uint8_t *trusted_keys,
                                 size_t ntrusted, long max_depth, chio_capability_report *rep)
{
    return verify_impl(cap, 0, trusted_keys, ntrusted, max_depth, 1, rep);
}

int chio_capability_report_json(const chio_capability_report *rep, char **out, size_t *len)
{
    chio_buf b;

    if (out != NULL) /* NULL on every failure */
        *out = NULL;
    if (rep == NULL || out == NULL)
        return CHIO_EINVAL;
    chio__buf_init(&b);
    chio__buf_printf(&b, "{\"delegation_chain_shape_valid\":%s,\"id\":",
                     rep->delegation_chain_shape_valid ? "true" : "false");
    chio__json_write_string(&b, rep->id ? rep->id : "", rep->id ? strlen(rep->id) : 0);
    chio__buf_printf(&b, ",\"issuer_trusted\":%s,\"ok\":%s,\"signature_valid\":%s,\"time_status\":",
                     rep->issuer_trusted ? "true" : "false", rep->ok ? "true" : "false",
                     rep->signature_valid ? "true" : "false");
    /* The report is the caller's: its text is escaped like the id. */
    chio__json_write_string(&b, rep->time_status_name ? rep->time_status_name : "",
                            rep->time_status_name ? strlen(rep->time_status_name) : 0);
    chio__buf_putc(&b, '}');
    *out = chio__buf_detach(&b, len);
    if (*out == NULL)
        return CHIO_ENOMEM;
    /* The texts are the caller's: a byte of no valid UTF-8 sequence is
     * written as '?', so the result is JSON (review 19 api F2). */
    chio__utf8_repair(*out);
    return 0;
}

/* ---- accessors ------------------------------------------------------------------------ */

const char *chio_capability_json(const chio_capability *cap, size_t *len)
{
    if (cap == NULL)
        return NULL;
    if (len)
        *len = cap->json_len;
    return cap->json;
}

const char *chio_capability_id(const chio_capability *cap)
{
    return cap ? cap->id : NULL;
}

const char *chio_capability_issuer_hex(const chio_capability *cap)
{
    return cap ? cap->issuer_hex : NULL;
}

const char *chio_capability_subject_hex(const chio_capability *cap)
{
    return cap ? cap->subject_hex : NULL;
}

uint64_t chio_capability_issued_at(const chio_capability *cap)
{
    return cap ? cap->issued_at : 0;
}

uint64_t chio_capability_expires_at(const chio_capability *cap)
{
    return cap ? cap->expires_at : 0;
}

size_t chio_capability_delegation_depth(const chio_capability *cap)
{
    return cap ? cap->nlinks : 0;
}

const char *chio_capability_delegation_id(const chio_capability *cap, size_t i)
{
    return cap && i < cap->nlinks ? cap->links[i].capability_id : NULL;
}

const char *chio_capability_unknown_field(const chio_capability *cap)
{
    return cap ? cap->unknown : NULL;
}

/* The first part of @sc the kernel does not enforce, described into @why;
 * 0 when there is none. The wording is the kernel's (authz.c). */
static int scope_unenforced(const chio__scope *sc, char *why, size_t why_cap)
{
    uint32_t i;

    for (i = 0; i < sc->ngrants; i++)
        if (chio__grant_unsupported_why(&sc->grants[i], i, why, why_cap))
            return 1;
    for (i = 0; i < sc->nresources; i++)
        if (sc->resources[i].unsupported_name != NULL) {
            snprintf(why, why_cap,
                     "resource grant %u has a field the kernel does not enforce ('%.60s')", i,
                     sc->resources[i].unsupported_name);
            return 1;
        }
    for (i = 0; i < sc->nprompts; i++)
        if (sc->prompts[i].unsupported_name != NULL) {
            snprintf(why, why_cap,
                     "prompt grant %u has a field the kernel does not enforce ('%.60s')", i,
                     sc->prompts[i].unsupported_name);
            return 1;
        }
    return 0;
}

int chio_capability_unenforced(const chio_capability *cap, char *why, size_t why_cap)
{
    char scratch[1];

    if (cap == NULL || (why == NULL && why_cap > 0))
        return CHIO_EINVAL;
    if (why_cap == 0) {
        why = scratch;
        why_cap = sizeof(scratch);
    }
    why[0] = '\0';
    if (cap->unknown != NULL) {
        snprintf(why, why_cap, "the capability has a field the kernel does not enforce ('%.60s')",
                 cap->unknown);
        return 1;
    }
    return scope_unenforced(&cap->scope, why, why_cap);
}

int chio_capability_contradicts_chain(const chio_capability *cap, long *link, char *why,
                                      size_t why_cap)
{
    const chio_json *att;
    char reason[300];
    int64_t work = CHIO__ATTENUATION_WORK;
    uint64_t v;

    if (cap == NULL || (why == NULL && why_cap > 0))
        return CHIO_EINVAL;
    v = contradiction(cap);
    if (link != NULL)
        *link = v & CONTRA_FOUND ? CONTRA_LINK(v) : -1;
    if (why_cap > 0)
        why[0] = '\0';
    if (!(v & CONTRA_FOUND))
        return 0;
    if (why_cap > 0 && (v & CONTRA_OVER))
        snprintf(why, why_cap,
                 "delegation link %ld, attenuation %u: reading the chain's attenuations against "
                 "the token's grants takes more than %u comparisons; the token is refused rather "
                 "than checked in part",
                 CONTRA_LINK(v), CONTRA_ATT(v), (unsigned)CHIO__ATTENUATION_WORK);
    else if (why_cap > 0) {
        att = chio_json_get(cap->links[CONTRA_LINK(v)].obj, "attenuations");
        (void)chio__attenuation_contradicted(&att->v.items[CONTRA_ATT(v)], &cap->scope,
                                             cap->expires_at, &work, reason, sizeof(reason));
        snprintf(why, why_cap, "delegation link %ld, attenuation %u: %s", CONTRA_LINK(v),
                 CONTRA_ATT(v), reason);
    }
    return 1;
}

const chio_json *chio_capability_root(const chio_capability *cap)
{
    return cap ? cap->obj : NULL;
}

const chio__scope *chio__capability_scope(const chio_capability *cap)
{
    return &cap->scope;
}

const uint8_t *chio__capability_issuer(const chio_capability *cap)
{
    return cap->issuer;
}
