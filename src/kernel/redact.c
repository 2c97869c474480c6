/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel/redact.c - redacted copies of arguments and tool output for
 * receipts (see mediate.h). The kernel's built-in secret_leak guards decide
 * what is a secret, with exactly the matching the guards use
 * (guard_scan.c), over every string value, object key and number (a
 * flagged number becomes the marker string). A first pass counts flagged
 * items without allocating beyond the scanner's scratch space; only when
 * something is flagged is a copy built (a JSON document) and written in
 * canonical form.
 *
 * Reads the guard registry, which is immutable while serving; no locks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard_scan.h"
#include "internal.h"
#include "kernel_internal.h"

#define MARKER     "[REDACTED:secret_leak]"
#define KEY_MARKER "[REDACTED:secret_leak:%zu]"

typedef struct count_scan {
    const chio__guard_reg *guards;
    size_t nguards;
    size_t flagged;
    size_t first; /* lowest index of a guard that flagged */
    chio__secret_work work;
} count_scan;

static int count_one(void *ctx, chio__key *key, const char *s, size_t n, int is_key)
{
    count_scan *cs = ctx;
    size_t gi, pi;
    int rc = chio__secret_scan(cs->guards, cs->nguards, s, n, &cs->work, &gi, &pi);

    (void)key;
    (void)is_key;
    if (rc < 0)
        return rc;
    if (rc > 0) {
        cs->flagged++;
        if (gi < cs->first)
            cs->first = gi;
    }
    return 0;
}

typedef struct copier {
    chio_json_doc *doc;
    const chio__guard_reg *guards;
    size_t nguards;
    size_t next_key; /* numbering of key markers, from 1 */
    size_t flagged;  /* keys and values replaced by a marker */
    /* Its own work bound (guard_scan.h): a scan cut off by it flags its
     * string, so this pass may replace more than the count pass found
     * (never less); the receipt counts what this pass replaced. */
    chio__secret_work work;
} copier;

/* 1 when @s is flagged, 0 when not, CHIO_ENOMEM. */
static int flagged(copier *cp, const char *s, size_t n)
{
    size_t gi, pi;
    int rc = chio__secret_scan(cp->guards, cp->nguards, s, n, &cp->work, &gi, &pi);

    cp->flagged += rc > 0;
    return rc;
}

static int copy_redacted(copier *cp, chio_json *dst, const chio_json *src);

static int copy_member(copier *cp, chio_json *obj, const char *key, size_t klen,
                       const chio_json *value)
{
    chio_json *slot = chio__json_obj_put(cp->doc, obj, key, klen);

    return slot == NULL ? CHIO_ENOMEM : copy_redacted(cp, slot, value);
}

/* A flagged key's marker and the index of its member in the source. */
typedef struct key_marker {
    char text[48];
    size_t len;
    size_t src;
} key_marker;

static int marker_cmp(const void *a, const void *b)
{
    const key_marker *x = a, *y = b;

    return chio__json_key_cmp(x->text, x->len, y->text, y->len);
}

/* Is @key (@klen bytes) a key of @src that stays (@keyflag 0)? A binary
 * search: @src's members are sorted by chio__json_key_cmp. */
static int key_stays(const chio_json *src, const unsigned char *keyflag, const char *key,
                     size_t klen)
{
    size_t lo = 0, hi = chio_json_size(src), len;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *k = chio_json_key_at(src, mid, &len);
        int c = chio__json_key_cmp(k, len, key, klen);
        if (c == 0)
            return !keyflag[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* The members whose keys stay (@keyflag[i] 0) and those whose keys are
 * replaced by a marker, numbered in the source's order and never one of
 * the keys that stay, so a marker never collides with a key that is
 * really there. Each key is scanned once (@keyflag). The markers are
 * sorted and merged with the keys that stay, so every member is added at
 * the end of @dst: inserting each marker among the keys (which sort after
 * '[' when they start with a lower-case letter) moved every member after
 * it, and one denied call of 4 MiB holding tens of thousands of flagged
 * keys took seconds of CPU (quadratic). Each value is read by its index,
 * not looked up by its key as a C string. */
static int copy_members(copier *cp, chio_json *dst, const chio_json *src, unsigned char *keyflag)
{
    size_t i, j, n = chio_json_size(src), klen, nmark = 0;
    key_marker *marks = NULL;
    const char *k;
    int rc;

    for (i = 0; i < n; i++) {
        k = chio_json_key_at(src, i, &klen);
        if ((rc = flagged(cp, k, klen)) < 0)
            return rc;
        keyflag[i] = (unsigned char)rc;
        nmark += (size_t)rc;
    }
    if (nmark > 0) {
        if ((marks = malloc(nmark * sizeof(*marks))) == NULL)
            return CHIO_ENOMEM;
        for (i = 0, j = 0; i < n; i++) {
            if (!keyflag[i])
                continue;
            do
                marks[j].len = (size_t)snprintf(marks[j].text, sizeof(marks[j].text), KEY_MARKER,
                                                cp->next_key++);
            while (key_stays(src, keyflag, marks[j].text, marks[j].len));
            marks[j++].src = i;
        }
        qsort(marks, nmark, sizeof(*marks), marker_cmp);
    }
    rc = 0;
    for (i = 0, j = 0; rc == 0;) {
        while (i < n && keyflag[i])
            i++;
        if (i == n && j == nmark)
            break;
        k = i < n ? chio_json_key_at(src, i, &klen) : NULL;
        if (j < nmark &&
            (k == NULL || chio__json_key_cmp(marks[j].text, marks[j].len, k, klen) < 0)) {
            rc = copy_member(cp, dst, marks[j].text, marks[j].len, chio_json_at(src, marks[j].src));
            j++;
        } else {
            rc = copy_member(cp, dst, k, klen, chio_json_at(src, i));
            i++;
        }
    }
    free(marks);
    return rc;
}

static int copy_object(copier *cp, chio_json *dst, const chio_json *src)
{
    size_t n = chio_json_size(src);
    unsigned char small[64], *keyflag = n <= sizeof(small) ? small : malloc(n);
    int rc;

    if (keyflag == NULL)
        return CHIO_ENOMEM;
    rc = chio__json_set_object(cp->doc, dst, (uint32_t)n);
    if (rc == 0)
        rc = copy_members(cp, dst, src, keyflag);
    if (keyflag != small)
        free(keyflag);
    return rc;
}

static int copy_redacted(copier *cp, chio_json *dst, const chio_json *src)
{
    size_t i, n, len;
    const char *s;
    int rc;

    switch (chio_json_typeof(src)) {
    case CHIO_JSON_STRING:
        s = chio_json_string(src, &len);
        if ((rc = flagged(cp, s, len)) < 0)
            return rc;
        return rc ? chio__json_set_string(cp->doc, dst, MARKER, strlen(MARKER))
                  : chio__json_set_string(cp->doc, dst, s, len);
    case CHIO_JSON_ARRAY:
        n = chio_json_size(src);
        rc = chio__json_set_array(cp->doc, dst, (uint32_t)n);
        for (i = 0; rc == 0 && i < n; i++) {
            chio_json *slot = chio__json_arr_push(cp->doc, dst);
            rc = slot == NULL ? CHIO_ENOMEM : copy_redacted(cp, slot, chio_json_at(src, i));
        }
        return rc;
    case CHIO_JSON_OBJECT:
        return copy_object(cp, dst, src);
    case CHIO_JSON_INT:
    case CHIO_JSON_UINT:
    case CHIO_JSON_DOUBLE: {
        char num[32];
        len = chio__number_text(src, num);
        if ((rc = flagged(cp, num, len)) < 0)
            return rc;
        if (rc)
            return chio__json_set_string(cp->doc, dst, MARKER, strlen(MARKER));
        return chio__json_copy(cp->doc, dst, src);
    }
    default:
        return chio__json_copy(cp->doc, dst, src);
    }
}

int chio__redact(chio_kernel *k, const chio_json *v, char **out, size_t *out_len, size_t *nflagged,
                 const char **guard)
{
    count_scan cs = {0};
    copier cp = {0};
    int rc;

    *out = NULL;
    *out_len = 0;
    *nflagged = 0;
    *guard = NULL;
    cs.guards = k->med.guards;
    cs.nguards = k->med.nguards;
    cs.flagged = 0;
    cs.first = SIZE_MAX;
    rc = chio__each_text(v, 1, count_one, &cs);
    chio__secret_work_destroy(&cs.work);
    if (rc < 0)
        return CHIO_ENOMEM;
    if (cs.flagged == 0)
        return 0;

    cp.doc = chio__json_doc_new(4096);
    if (cp.doc == NULL)
        return CHIO_ENOMEM;
    cp.guards = cs.guards;
    cp.nguards = cs.nguards;
    cp.next_key = 1;
    rc = copy_redacted(&cp, chio__json_doc_root(cp.doc), v);
    chio__secret_work_destroy(&cp.work);
    if (rc == 0)
        rc = chio_json_write_canonical(chio__json_doc_root(cp.doc), out, out_len);
    chio_json_doc_free(cp.doc);
    if (rc != 0) {
        *out = NULL;
        *out_len = 0;
        return CHIO_ENOMEM;
    }
    *nflagged = cp.flagged;
    *guard = k->med.guards[cs.first].name;
    return 0;
}
