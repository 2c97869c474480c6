/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/model/receipt_cases.c - the shared receipt field cases
 * (receipt_cases.h).
 */
#include "model/receipt_cases.h"

#include <string.h>

const receipt_case receipt_cases[] = {
    {"allow", CHIO_VERDICT_ALLOW, NULL, NULL, "{\"path\":\"/w/a\"}", "{\"ok\":true}", 0, NULL, NULL,
     NULL, NULL, 0, 0, "read"},
    {"allow, evidence, no output", CHIO_VERDICT_ALLOW, NULL, NULL, "{}", NULL, 3, NULL, NULL, NULL,
     NULL, 0, 0, "read"},
    {"deny", CHIO_VERDICT_DENY, "path \"/etc\" is forbidden\n", "forbidden_path",
     "{\"path\":\"/etc/shadow\"}", NULL, 2, NULL, NULL, NULL, NULL, 0, 0, "read"},
    {"cancelled, nested", CHIO_VERDICT_CANCELLED, "the host cancelled", NULL, "[1,2,3]", NULL, 1,
     "parent-1", NULL, NULL, NULL, 0, 0, "sample"},
    {"incomplete", CHIO_VERDICT_INCOMPLETE, "stream cut", NULL, "\"x\"", "{\"n\":1}", 0, NULL, NULL,
     NULL, NULL, 0, 0, "stream"},
    {"redacted", CHIO_VERDICT_DENY, "secret", "secret_leak", "{\"k\":\"[redacted]\"}", NULL, 1,
     NULL, "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12", "secret_leak", NULL,
     CHIO_REDACTION_REDACTED, 2, "read"},
    {"summary", CHIO_VERDICT_DENY, "too deep", "arguments", "{\"chio_omitted_arguments\":1}", NULL,
     0, NULL, "cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34cd34", NULL,
     "arguments too deep", CHIO_REDACTION_SUMMARY, 0, "read"},
    {"unicode and controls", CHIO_VERDICT_DENY, "caf\xc3\xa9 \xe2\x80\xae\x01\x1f", "g\xc3\xbc",
     "{\"\xc3\xa9\":\"\\u0000\"}", NULL, 2, "p\xc3\xa4", NULL, NULL, NULL, 0, 0, "t\xe2\x82\xac"},
};

const size_t receipt_ncases = sizeof(receipt_cases) / sizeof(receipt_cases[0]);

static chio__evidence evs[] = {{"forbidden_path", 1, "path allowed"},
                               {"secret_leak", 0, NULL},
                               {"custom \"quoted\"", 1, "tab\there"}};

void receipt_case_fill(const receipt_case *c, chio__receipt_fields *f)
{
    memset(f, 0, sizeof(*f));
    f->timestamp = 1710000123;
    f->capability_id = "cap-\xc3\xa9-1";
    f->tool_server = "srv";
    f->tool_name = c->tool;
    f->params = c->params;
    f->params_len = strlen(c->params);
    f->params_canonical = 1;
    f->output = c->output;
    f->output_len = c->output ? strlen(c->output) : 0;
    f->verdict = c->verdict;
    f->reason = c->reason;
    f->guard = c->guard;
    f->ev = evs;
    f->nev = c->nev;
    f->request_id = "req-1";
    f->session_id = "sess-1";
    f->parent_request_id = c->parent;
    f->redaction = c->redaction;
    f->orig_hash = c->orig_hash;
    f->red_guard = c->red_guard;
    f->red_reason = c->red_reason;
    f->red_count = c->red_count;
}
