/* SPDX-License-Identifier: Apache-2.0 */
/*
 * model/receipt_internal.h - what the receipt files share (private to
 * src/model): the name tables, the typed view of a receipt's fields, the
 * receipt and builder structures, and the reader the others call.
 *   receipt.c          names, reading a receipt object, parsed receipts
 *   receipt_builder.c  the public builder (a JSON document of the body)
 *   receipt_sign.c     the byte forms: signing message, stored form, prep
 *   receipt_verify.c   verification and the report
 */
#ifndef CHIO_MODEL_RECEIPT_INTERNAL_H
#define CHIO_MODEL_RECEIPT_INTERNAL_H

#include "chio/receipt.h"
#include "model.h"

#define WHAT     "receipt"
#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Name tables, in enum order (defined in receipt.c from the X-macros of
 * chio/receipt.h; outcome_names and verdict_names start at value 1). */
#define kind_names                 chio__receipt_kind_names
#define boundary_names             chio__receipt_boundary_names
#define outcome_names              chio__receipt_outcome_names
#define origin_names               chio__receipt_origin_names
#define redaction_names            chio__receipt_redaction_names
#define trust_names                chio__receipt_trust_names
#define verdict_names              chio__receipt_verdict_names
#define CHIO__COUNT_ONE(name, str) +1
enum {
    N_KIND = 0 CHIO_RECEIPT_KIND_MAP(CHIO__COUNT_ONE),
    N_BOUNDARY = 0 CHIO_BOUNDARY_CLASS_MAP(CHIO__COUNT_ONE),
    N_OUTCOME = 0 CHIO_OBSERVATION_OUTCOME_MAP(CHIO__COUNT_ONE),
    N_ORIGIN = 0 CHIO_TOOL_ORIGIN_MAP(CHIO__COUNT_ONE),
    N_REDACTION = 0 CHIO_REDACTION_MODE_MAP(CHIO__COUNT_ONE),
    N_TRUST = 0 CHIO_TRUST_LEVEL_MAP(CHIO__COUNT_ONE),
    N_VERDICT = 0 CHIO_VERDICT_MAP(CHIO__COUNT_ONE)
};
#undef CHIO__COUNT_ONE
extern const char *const kind_names[N_KIND];
extern const char *const boundary_names[N_BOUNDARY];
extern const char *const outcome_names[N_OUTCOME];
extern const char *const origin_names[N_ORIGIN];
extern const char *const redaction_names[N_REDACTION];
extern const char *const trust_names[N_TRUST];
extern const char *const verdict_names[N_VERDICT];

/* Typed view of a receipt's known fields; strings point into the document. */
typedef struct receipt_view {
    const char *id;
    uint64_t timestamp;
    const char *capability_id, *tool_server, *tool_name;
    const char *policy_hash, *content_hash, *tenant_id;
    const chio_json *parameters;
    const char *parameter_hash;
    chio_verdict verdict;
    const char *reason, *guard;
    int kind, boundary, outcome, origin, redaction, trust;
    const char *kernel_key_hex;
    uint8_t kernel_key[CHIO_PUBKEY_BYTES];
    uint8_t signature[CHIO_SIGNATURE_BYTES];
    const char *unknown; /* first unknown field, "" when none */
} receipt_view;

/* The receipt read back from its stored bytes: a document and a view into
 * it. Made by chio_receipt_parse(), or on first need (chio_receipt_root,
 * chio_receipt_verify) for a receipt this library signed. */
typedef struct receipt_parsed {
    chio_json_doc *doc;
    receipt_view v;
} receipt_parsed;

struct chio_receipt {
    receipt_view v; /* typed fields; strings behind the struct (signed here) or in parsed->doc */
    receipt_parsed *parsed; /* atomic: published once, with release */
    char *json;             /* the stored form, NUL-terminated */
    size_t json_len;
    void *owner; /* when set, json lives in it: owner_free(owner) */
    void (*owner_free)(void *owner);
};

struct chio_receipt_builder {
    chio_json_doc *doc;
    chio_json *body;
    int has_timestamp;
};

enum { VIEW_BODY = 0, VIEW_SIGNED = 1 };

/* Read @obj's known fields into @v (strings point into @doc); drops null
 * optionals and empty lists as chio does. VIEW_SIGNED also requires id,
 * kernel_key, signature and parameter_hash. Returns 0 or CHIO_E* with
 * @err. */
int chio__receipt_view_read(chio_json_doc *doc, chio_json *obj, receipt_view *v, int mode,
                            chio_error *err);
/* chio's signable-semantics rule. 0 or CHIO_ESEMANTIC. */
int chio__receipt_check_semantics(const receipt_view *v, chio_error *err);
/* obj[key] = val (a string). 0 or CHIO_ENOMEM. */
int chio__receipt_set_str(chio_json_doc *doc, chio_json *obj, const char *key, const char *val);
/* The receipt read back from its stored bytes (made on first need for a
 * receipt signed here; thread-safe). NULL when out of memory. */
const receipt_parsed *chio__receipt_parsed_of(const chio_receipt *r);

#endif
