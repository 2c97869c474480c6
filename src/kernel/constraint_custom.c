/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/constraint_custom.c - the custom [k, v] constraint (check 6; see
 * constraint_custom.h): every object member named k, at any depth, is the
 * string v, there is one, and a member a case-folding decoder (Go's
 * encoding/json) takes for k is v as well; so is every member named k
 * (or so folded) in a string argument that is itself JSON (options a tool
 * parses), up to CHIO__EMBEDDED_MAX layers. Called by constraints.c. No
 * state, no locks; allocation only to parse such JSON.
 */
#include <stdio.h>
#include <string.h>

#include "constraint_custom.h"
#include "constraint_domain.h"
#include "guard_scan.h"
#include "normalize.h"

/* Does a built-in secret_leak guard flag @s (the constraint's own value,
 * which the reason would quote)? Out of memory counts as flagged. */
static int secret_value(chio_kernel *k, const char *s)
{
    size_t gi, pi;

    return k->med.nguards > 0 &&
           chio__secret_scan(k->med.guards, k->med.nguards, s, strlen(s), NULL, &gi, &pi) != 0;
}

typedef struct custom_scan {
    const char *key, *value;
    int agree, other; /* members named key that are / are not the string value */
    int ambiguous;    /* a string holds JSON that cannot be read unambiguously */
} custom_scan;

/* The code point at @s (@n > 0 bytes) as Go's encoding/json folds a
 * member name to match a field (Go 1.21 and later: unicode.ToUpper(
 * unicode.ToLower(r)); before, bytes.EqualFold): ASCII letters to lower
 * case; U+017F (long s) to 's', U+212A (Kelvin sign) to 'k', and U+0130
 * (capital I with dot) and U+0131 (dotless i) to 'i' (ToUpper(ToLower) of
 * each is 'I'); its length in *@len. Any other non-ASCII code point is
 * CUSTOM_WIDE: there are no Unicode case tables here, so two of them are
 * taken to fold alike ("\u041a" and "\u043a", Cyrillic K and k, do),
 * which can only deny. */
#define CUSTOM_WIDE 0x100u
static unsigned fold_at(const char *s, size_t n, size_t *len)
{
    const unsigned char *u = (const unsigned char *)s;

    *len = 1;
    if (n >= 2 && u[0] == 0xc5 && u[1] == 0xbf) {
        *len = 2;
        return 's';
    }
    if (n >= 2 && u[0] == 0xc4 && (u[1] == 0xb0 || u[1] == 0xb1)) {
        *len = 2;
        return 'i';
    }
    if (n >= 3 && u[0] == 0xe2 && u[1] == 0x84 && u[2] == 0xaa) {
        *len = 3;
        return 'k';
    }
    if (u[0] >= 0xc0) {
        /* one code point (arguments are valid UTF-8): its continuation bytes */
        while (*len < n && (u[*len] & 0xc0) == 0x80)
            (*len)++;
        return CUSTOM_WIDE;
    }
    return (unsigned)chio__ascii_lower(u[0]); /* not tolower(): locale-free */
}

/* Does member name @a name the same field as @b to a reader that folds
 * case (Go's encoding/json: {"env": "prod", "ENV": "staging"} sets Env to
 * "staging", the last one)? (May answer yes for names that differ in
 * non-ASCII letters only: see fold_at.) */
static int same_member(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b), la, lb;

    while (na > 0 && nb > 0) {
        if (fold_at(a, na, &la) != fold_at(b, nb, &lb))
            return 0;
        a += la;
        na -= la;
        b += lb;
        nb -= lb;
    }
    return na == 0 && nb == 0;
}

static void count_members(const chio_json *v, custom_scan *cs, int embedded);

/* A string @s (@n bytes) that is itself a JSON object or array, @embedded
 * layers of such JSON above it: its members are counted as well, a tool
 * that parses it reads them ({"env": "prod", "opts": "{\"env\":
 * \"staging\"}"}); one that cannot be read unambiguously (a duplicate
 * key, too deep, too many layers, no memory, JSON only a lenient reader
 * takes) is ambiguous. Text that is not JSON is text. */
static void count_embedded(const char *s, size_t n, custom_scan *cs, int embedded)
{
    chio_json_doc *doc = NULL;
    int rc = chio__embedded_parse(s, n, embedded, &doc);

    if (rc == CHIO__EMBEDDED_AMBIGUOUS) {
        cs->ambiguous = 1;
        cs->other++;
    } else if (rc == 1) {
        count_members(chio_json_root(doc), cs, embedded + 1);
    }
    chio_json_doc_free(doc);
}

/* Counts, anywhere under @v, the members named cs->key (its case folded,
 * see same_member) by whether they are the string cs->value; stops at the
 * first that is not. In JSON held in a string (@embedded > 0) a member
 * that agrees does not count towards "some member is v" (the tool's own
 * member is an argument), one that disagrees does. */
static void count_members(const chio_json *v, custom_scan *cs, int embedded)
{
    size_t i, n, len;
    const char *s;

    switch (chio_json_typeof(v)) {
    case CHIO_JSON_STRING:
        s = chio_json_string(v, &len);
        count_embedded(s, len, cs, embedded);
        return;
    case CHIO_JSON_ARRAY:
        n = chio_json_size(v);
        for (i = 0; i < n && !cs->other; i++)
            count_members(chio_json_at(v, i), cs, embedded);
        return;
    case CHIO_JSON_OBJECT:
        n = chio_json_size(v);
        for (i = 0; i < n && !cs->other; i++) {
            const char *k = chio_json_key_at(v, i, NULL);
            const chio_json *m = chio_json_at(v, i); /* no search by name */
            s = chio_json_string(m, &len);
            /* a member with the very name counts towards "some member
             * is v" (a reader that matches names exactly sees only it);
             * one a case-folding reader takes must not disagree */
            if (same_member(k, cs->key)) {
                if (s == NULL || len != strlen(cs->value) || memcmp(s, cs->value, len) != 0)
                    cs->other++;
                else if (strcmp(k, cs->key) == 0 && embedded == 0)
                    cs->agree++;
            }
            if (!cs->other)
                count_members(m, cs, embedded);
        }
        return;
    default:
        return;
    }
}

/* custom [k, v]: some member k is the string v, and none is anything else
 * (members that disagree are ambiguous: a decoy {"x":{"k":v}} beside the
 * k the tool reads must not pass). */
int chio__custom_holds(chio_kernel *k, const chio__constraint *c, const chio_json *args,
                       char *reason, size_t cap)
{
    custom_scan cs = {c->custom_key, c->custom_value, 0, 0, 0};

    count_members(args, &cs, 0);
    if (cs.agree > 0 && cs.other == 0)
        return 1;
    if (cs.ambiguous)
        snprintf(reason, cap,
                 "custom constraint on key '%.60s': an argument holds JSON that cannot be read "
                 "unambiguously",
                 c->custom_key);
    else if (secret_value(k, c->custom_value))
        snprintf(reason, cap, "custom constraint on key '%.60s' does not hold%s", c->custom_key,
                 cs.other ? " (a member of that name has another value)" : "");
    else
        snprintf(reason, cap, "custom constraint %.60s=%.60s does not hold%s", c->custom_key,
                 c->custom_value, cs.other ? " (a member of that name has another value)" : "");
    return 0;
}
