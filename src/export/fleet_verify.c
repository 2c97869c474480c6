/* SPDX-License-Identifier: Apache-2.0 */
/*
 * export/fleet_verify.c - `chio fleet verify`: read the whole stream and,
 * for each kernel key found in its subjects, check every receipt
 * (canonical bytes, signature, id, parameter hash, signed by the subject's
 * key, seq present exactly once, contiguous from 1, no receipt replayed
 * under another seq) and every checkpoint (signature, by that key,
 * numbered from 1 without gaps, batches contiguous from receipt 1, the
 * previous-checkpoint hash chain, the Merkle root recomputed from the
 * receipts it covers), the pinned keys when given, and that the stream
 * still holds every position it gave (nothing purged, deleted or rolled
 * up). Problems are JSON lines naming kernel and seq; then one line per
 * kernel and a summary.
 *
 * One read of the stream: receipts are checked as they come (a state
 * byte per seq from the kernel's first one read on, bounded by the items
 * read, see SEQ_SLACK; a 32-byte leaf hash and an id entry only per valid
 * receipt, see struct kernel: an item that is no receipt costs its state
 * byte, so memory follows the bytes of valid receipts, not the number of
 * items anyone may publish); checkpoints are kept and checked after the
 * last receipt, in stream order (the body only of those with a valid
 * signature: junk on a checkpoints subject costs a record).
 * Public API (receipt, checkpoint, merkle, crypto) and the transport.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/chio.h"
#include "export.h"
#include "transport.h"

#define MAX_PROBLEMS 50 /* problem lines printed per kernel; the counts go on */
/* A receipt is tracked (a leaf and a state byte from the kernel's first
 * seq on) only while its seq is within twice the kernel's receipts read
 * plus this many of the first one: the seq is a header anyone who may
 * publish chooses, and memory follows what was read, not what it claims. */
#define SEQ_SLACK 512
/* Tracked seqs per entry of a kernel's rank index (see struct kernel). */
#define RANK_BLOCK 256

enum { ABSENT = 0, GOOD = 1, BAD = 2 };

/* The leaf of an item judged bad, kept only while its problem line is
 * printed: a second item at its seq is then printed too, and says whether
 * it has the same bytes (same_bytes / different_bytes). */
typedef struct bad_leaf {
    uint64_t at;
    uint8_t leaf[32];
} bad_leaf;

/* A kernel's receipts: state[seq - base] for each tracked seq (ABSENT,
 * GOOD, BAD); the leaf hashes of the GOOD ones alone, in seq order (a
 * receipt below a GOOD one read before it is out_of_order, so GOOD ones
 * arrive in seq order), found by rank: the leaf of GOOD seq s is leaf[rank], rank
 * = rank_at[(s - base) / RANK_BLOCK] (the GOOD seqs in the blocks before)
 * + the GOOD states before s in its block. An item that fails costs a
 * state byte and no leaf (before, 32 bytes per slot, absent ones
 * included: 1-byte junk items took 19 times the stream's bytes). */
typedef struct kernel {
    char key[65];
    uint8_t pub[32];
    int trusted;    /* -1 not checked */
    uint8_t *state; /* cap tracked seqs from base */
    uint64_t cap, max_seq;
    uint8_t *leaf; /* ngood leaf hashes (capgood), 32 bytes each */
    uint64_t ngood, capgood;
    uint64_t *rank_at; /* nrank blocks: the last GOOD seq's block is nrank - 1 */
    uint64_t nrank, caprank;
    bad_leaf *bad; /* at most MAX_PROBLEMS */
    size_t nbad;
    uint64_t base;  /* the first receipt seq read (0: none yet); below it all are missing */
    uint64_t items; /* receipt items read, whatever they held */
    uint64_t receipts, duplicates, invalid;
    uint64_t checkpoints, checkpoints_valid, cp_last, cp_dups, batch_end;
    char prev_sha[65]; /* the previous checkpoint's body hash; "" for none */
    uint64_t problems;
} kernel;

/* A receipt id seen, for replays: the id's first 8 bytes -> (kernel, seq). */
typedef struct seen {
    uint64_t tag;
    uint32_t k;
    uint64_t seq;
} seen;

/* A checkpoint message kept until every receipt has been read. The body
 * is kept only when it is a checkpoint with a valid signature: of any
 * other, what its check will say (memory follows what key holders signed,
 * not what anyone may publish on a checkpoints subject). */
typedef struct held_cp {
    char *subject, *data;
    size_t len;
    uint64_t position, item_seq;
    const char *bad;  /* "unreadable" or "signature" (no body kept); NULL */
    uint64_t bad_end; /* a badly signed one: its batch end, */
    char bad_sha[65]; /* and body hash (the chain goes on from it) */
} held_cp;

typedef struct fv {
    FILE *out, *err;
    held_cp *cps;
    size_t ncps, capcps;
    const uint8_t *trusted;
    size_t ntrusted;
    kernel *k;
    size_t nk, capk;
    seen *ids;
    size_t nids, capids;
    uint64_t foreign; /* messages on subjects that are not a kernel's */
    int oom;
} fv;

static void problem(fv *v, kernel *k, const char *what, const char *seqname, uint64_t seq,
                    const char *reason)
{
    if (k != NULL && k->problems++ >= MAX_PROBLEMS)
        return;
    fprintf(v->out, "{\"kernel\":\"%s\",\"problem\":\"%s\"", k ? k->key : "", what);
    if (reason != NULL)
        fprintf(v->out, ",\"reason\":\"%s\"", reason);
    fprintf(v->out, ",\"%s\":%" PRIu64 "}\n", seqname, seq);
}

/* The kernel of subject chio.<key>.<kind>; NULL when it is not one. */
static kernel *kernel_of(fv *v, const char *subject, const char *kind)
{
    char key[65];
    size_t i, n = strlen(subject);

    if (n != 5 + 64 + 1 + strlen(kind) || strncmp(subject, "chio.", 5) != 0 || subject[69] != '.' ||
        strcmp(subject + 70, kind) != 0)
        return NULL;
    memcpy(key, subject + 5, 64);
    key[64] = '\0';
    for (i = 0; i < 64; i++)
        if (!((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f')))
            return NULL;
    for (i = 0; i < v->nk; i++)
        if (memcmp(v->k[i].key, key, 64) == 0)
            return &v->k[i];
    if (v->nk == v->capk) {
        size_t cap = v->capk ? v->capk * 2 : 8;
        kernel *p = realloc(v->k, cap * sizeof(*p));
        if (p == NULL) {
            v->oom = 1;
            return NULL;
        }
        v->k = p;
        v->capk = cap;
    }
    memset(&v->k[v->nk], 0, sizeof(kernel));
    memcpy(v->k[v->nk].key, key, 65);
    chio_pubkey_from_hex(key, 64, v->k[v->nk].pub);
    v->k[v->nk].trusted = -1;
    if (v->ntrusted > 0) {
        v->k[v->nk].trusted = 0;
        for (i = 0; i < v->ntrusted; i++)
            if (memcmp(v->trusted + 32 * i, v->k[v->nk].pub, 32) == 0)
                v->k[v->nk].trusted = 1;
    }
    return &v->k[v->nk++];
}

/* Room for @n tracked seqs (n is bounded by the caller: no overflow). */
static int grow(kernel *k, uint64_t n)
{
    uint64_t cap = k->cap ? k->cap : 64; /* small: a kernel key costs a publisher nothing */
    uint8_t *state;

    while (cap < n)
        cap *= 2;
    if (cap == k->cap)
        return 0;
    state = realloc(k->state, cap);
    if (state == NULL)
        return -1;
    memset(state + k->cap, ABSENT, cap - k->cap);
    k->state = state;
    k->cap = cap;
    return 0;
}

/* @p with room for one more entry than the @n in use, out of *@cap (each
 * @size bytes): @p itself, or moved; NULL when out of memory (@p is then
 * left as it was). */
static void *room(void *p, uint64_t n, uint64_t *cap, size_t size)
{
    uint64_t c = *cap ? *cap * 2 : 16;

    if (n < *cap)
        return p;
    p = realloc(p, c * size);
    if (p != NULL)
        *cap = c;
    return p;
}

/* Keep @leaf as the leaf of GOOD seq at @at (above every GOOD one kept). */
static int keep_good(kernel *k, uint64_t at, const uint8_t leaf[32])
{
    uint8_t *l = room(k->leaf, k->ngood, &k->capgood, 32);
    uint64_t *r;

    if (l == NULL)
        return -1;
    k->leaf = l;
    /* the blocks up to @at's that held no GOOD seq yet: ngood before them */
    while (k->nrank <= at / RANK_BLOCK) {
        r = room(k->rank_at, k->nrank, &k->caprank, sizeof(*r));
        if (r == NULL)
            return -1;
        k->rank_at = r;
        k->rank_at[k->nrank++] = k->ngood;
    }
    memcpy(k->leaf + k->ngood * 32, leaf, 32);
    k->ngood++;
    return 0;
}

/* The leaf of GOOD seq at @at. */
static const uint8_t *good_leaf(const kernel *k, uint64_t at)
{
    uint64_t i, r = k->rank_at[at / RANK_BLOCK];

    for (i = at - at % RANK_BLOCK; i < at; i++)
        r += k->state[i] == GOOD;
    return k->leaf + r * 32;
}

/* Keep @leaf of the item judged bad at @at when its problem line will be
 * printed (k->problems counts the lines before it). */
static int keep_bad(kernel *k, uint64_t at, const uint8_t leaf[32])
{
    if (k->problems >= MAX_PROBLEMS)
        return 0;
    if (k->bad == NULL && (k->bad = malloc(MAX_PROBLEMS * sizeof(*k->bad))) == NULL)
        return -1;
    k->bad[k->nbad].at = at;
    memcpy(k->bad[k->nbad].leaf, leaf, 32);
    k->nbad++;
    return 0;
}

/* Whether a second item at @at, of leaf @leaf, has the same bytes as the
 * first: asked only while its line is printed, when a BAD first one's
 * leaf was kept too (its line came before this one: keep_bad()). */
static const char *dup_reason(const kernel *k, uint64_t at, const uint8_t leaf[32])
{
    const uint8_t *first = NULL;
    size_t i;

    if (k->state[at] == GOOD)
        first = good_leaf(k, at);
    for (i = 0; first == NULL && i < k->nbad; i++)
        if (k->bad[i].at == at)
            first = k->bad[i].leaf;
    return first != NULL && memcmp(first, leaf, 32) == 0 ? "same_bytes" : "different_bytes";
}

/* Record receipt id @id for (@k, @seq); returns the seq already holding
 * it in the same kernel, or 0. */
static uint64_t id_seen(fv *v, uint32_t kidx, uint64_t seq, const char *id)
{
    uint8_t raw[32];
    uint64_t tag;
    size_t i, mask;

    if (id == NULL || chio_pubkey_from_hex(id, strlen(id), raw) != 0)
        return 0; /* (an id is 32 bytes of hex, as a key is) */
    memcpy(&tag, raw, 8);
    if (v->nids * 2 >= v->capids) {
        size_t cap = v->capids ? v->capids * 2 : 4096, j;
        seen *p = calloc(cap, sizeof(*p));
        if (p == NULL) {
            v->oom = 1;
            return 0;
        }
        for (j = 0; j < v->capids; j++) /* rehash; tag 0 marks a free slot */
            if (v->ids[j].tag != 0) {
                for (i = v->ids[j].tag & (cap - 1); p[i].tag != 0; i = (i + 1) & (cap - 1))
                    ;
                p[i] = v->ids[j];
            }
        free(v->ids);
        v->ids = p;
        v->capids = cap;
    }
    if (tag == 0)
        tag = 1;
    mask = v->capids - 1;
    for (i = tag & mask; v->ids[i].tag != 0; i = (i + 1) & mask)
        if (v->ids[i].tag == tag && v->ids[i].k == kidx && v->ids[i].seq != seq)
            return v->ids[i].seq;
    v->ids[i].tag = tag;
    v->ids[i].k = kidx;
    v->ids[i].seq = seq;
    v->nids++;
    return 0;
}

/* Why a receipt fails; NULL when it is good. */
static const char *check_receipt(fv *v, kernel *k, const chio__xp_msg *m, uint64_t *dup_of)
{
    chio_receipt *r = NULL;
    chio_receipt_report rep;
    const char *why = NULL, *json;
    size_t clen = 0;

    *dup_of = 0;
    if (chio_receipt_parse(m->data, m->len, &r, NULL) != 0)
        return "unreadable";
    memset(&rep, 0, sizeof(rep));
    json = chio_receipt_json(r, &clen);
    if (clen != m->len || memcmp(json, m->data, clen) != 0)
        why = "not_canonical";
    else if (chio_receipt_verify(r, NULL, 0, &rep) != 0)
        why = "unverifiable";
    else if (!rep.signature_valid)
        why = "signature";
    else if (!rep.receipt_id_valid)
        why = "receipt_id";
    else if (!rep.parameter_hash_valid)
        why = "parameter_hash";
    else if (strcmp(chio_receipt_kernel_key_hex(r), k->key) != 0)
        why = "kernel_key_differs_from_subject";
    else if (k->trusted == 0)
        why = "untrusted_key";
    if (why == NULL)
        *dup_of = id_seen(v, (uint32_t)(k - v->k), m->item_seq, chio_receipt_id(r));
    chio_receipt_free(r);
    return why;
}

static int on_receipt(void *vctx, const chio__xp_msg *m)
{
    fv *v = vctx;
    kernel *k = kernel_of(v, m->subject, CHIO__FLEET_RECEIPTS);
    uint64_t seq = m->item_seq, dup_of = 0, at;
    uint8_t leaf[32];
    const char *why;
    int rc;

    if (v->oom)
        return -1;
    if (k == NULL) {
        v->foreign++;
        return 0;
    }
    if (seq == 0) {
        k->invalid++;
        problem(v, k, "invalid_receipt", "position", m->position, "no_seq_header");
        return 0;
    }
    k->items++;
    if (k->base == 0)
        k->base = seq;
    if (seq < k->base || seq - k->base >= 2 * k->items + SEQ_SLACK) {
        /* before the first one read, or far beyond what was read: untracked */
        k->invalid++;
        problem(v, k, "invalid_receipt", "seq", seq,
                seq < k->base ? "out_of_order" : "seq_out_of_range");
        return 0;
    }
    at = seq - k->base;
    if (grow(k, at + 1) != 0) {
        v->oom = 1;
        return -1;
    }
    chio_merkle_leaf_hash(m->data, m->len, leaf);
    if (k->state[at] != ABSENT) {
        k->duplicates++;
        problem(v, k, "duplicate_receipt", "seq", seq,
                k->problems < MAX_PROBLEMS ? dup_reason(k, at, leaf) : NULL);
        return 0;
    }
    k->receipts++;
    why = check_receipt(v, k, m, &dup_of);
    if (why == NULL && seq < k->max_seq)
        why = "out_of_order";
    if (why == NULL && dup_of == 0)
        rc = keep_good(k, at, leaf);
    else
        rc = keep_bad(k, at, leaf);
    if (rc != 0) {
        v->oom = 1;
        return -1;
    }
    if (why == NULL && dup_of != 0) {
        k->duplicates++;
        k->state[at] = BAD;
        problem(v, k, "replayed_receipt", "seq", seq, NULL);
        return 0;
    }
    k->state[at] = why ? BAD : GOOD;
    if (why != NULL) {
        k->invalid++;
        problem(v, k, "invalid_receipt", "seq", seq, why);
    }
    if (seq > k->max_seq)
        k->max_seq = seq;
    return 0;
}

/* Why a checkpoint fails; NULL when it is good. */
static const char *check_checkpoint(kernel *k, const chio__xp_msg *m, const chio_checkpoint *cp)
{
    uint64_t start = chio_checkpoint_batch_start(cp), end = chio_checkpoint_batch_end(cp), i;
    const char *prev = chio_checkpoint_previous_sha256(cp);
    uint8_t root[32];

    if (chio_checkpoint_verify(cp) != 0)
        return "signature";
    if (strcmp(chio_checkpoint_kernel_key_hex(cp), k->key) != 0)
        return "kernel_key_differs_from_subject";
    if (k->trusted == 0)
        return "untrusted_key";
    if (chio_checkpoint_seq(cp) != m->item_seq)
        return "seq_header";
    if (m->item_seq != k->cp_last + 1)
        return "numbering";
    if (start != k->batch_end + 1 || end < start)
        return "batch_range";
    if ((prev == NULL) != (k->prev_sha[0] == '\0') || (prev && strcmp(prev, k->prev_sha) != 0))
        return "previous_checkpoint";
    if (end > k->max_seq || start < k->base)
        return "receipts_missing";
    for (i = start; i <= end; i++)
        if (k->state[i - k->base] != GOOD)
            return k->state[i - k->base] == ABSENT ? "receipts_missing" : "receipts_invalid";
    /* all GOOD: their leaves are kept one after another from start's */
    if (chio_merkle_root(good_leaf(k, start - k->base), (size_t)(end - start + 1), root) != 0 ||
        memcmp(root, chio_checkpoint_merkle_root(cp), 32) != 0)
        return "merkle_root";
    return NULL;
}

/* The held checkpoint message @h, in stream order after every receipt. */
static int on_checkpoint(fv *v, const held_cp *h)
{
    kernel *k = kernel_of(v, h->subject, CHIO__FLEET_CHECKPOINTS);
    chio_checkpoint *cp = NULL;
    chio__xp_msg m;
    const char *why;

    if (v->oom)
        return -1;
    if (k == NULL) {
        v->foreign++;
        return 0;
    }
    if (h->item_seq != 0 && h->item_seq <= k->cp_last) {
        k->duplicates++;
        k->cp_dups++;
        problem(v, k, "duplicate_checkpoint", "checkpoint_seq", h->item_seq, NULL);
        return 0;
    }
    k->checkpoints++;
    if (h->bad != NULL) {
        problem(v, k, "invalid_checkpoint", "checkpoint_seq", h->item_seq, h->bad);
        if (h->item_seq > k->cp_last)
            k->cp_last = h->item_seq;
        if (h->bad_sha[0] != '\0') { /* signed badly: the chain goes on from it */
            k->batch_end = h->bad_end;
            memcpy(k->prev_sha, h->bad_sha, sizeof(k->prev_sha));
        }
        return 0;
    }
    if (chio_checkpoint_parse(h->data, h->len, &cp, NULL) != 0) { /* (parsed when held) */
        problem(v, k, "invalid_checkpoint", "checkpoint_seq", h->item_seq, "unreadable");
        return 0;
    }
    memset(&m, 0, sizeof(m));
    m.subject = h->subject;
    m.data = h->data;
    m.len = h->len;
    m.position = h->position;
    m.item_seq = h->item_seq;
    m.msg_id = "";
    why = check_checkpoint(k, &m, cp);
    if (why == NULL)
        k->checkpoints_valid++;
    else
        problem(v, k, "invalid_checkpoint", "checkpoint_seq", h->item_seq, why);
    /* The chain goes on from this one either way: one bad link is one problem. */
    if (h->item_seq > k->cp_last)
        k->cp_last = h->item_seq;
    k->batch_end = chio_checkpoint_batch_end(cp);
    snprintf(k->prev_sha, sizeof(k->prev_sha), "%s", chio_checkpoint_body_sha256(cp));
    chio_checkpoint_free(cp);
    return 0;
}

/* What the check of checkpoint message @m will say without its body, into
 * @h: unreadable, or not signed by its key; else @h->bad stays NULL. */
static void judge_early(held_cp *h, const chio__xp_msg *m)
{
    chio_checkpoint *cp = NULL;

    h->bad = NULL;
    h->bad_end = 0;
    h->bad_sha[0] = '\0';
    if (chio_checkpoint_parse(m->data, m->len, &cp, NULL) != 0) {
        h->bad = "unreadable";
        return;
    }
    if (chio_checkpoint_verify(cp) != 0) {
        h->bad = "signature";
        h->bad_end = chio_checkpoint_batch_end(cp);
        snprintf(h->bad_sha, sizeof(h->bad_sha), "%s", chio_checkpoint_body_sha256(cp));
    }
    chio_checkpoint_free(cp);
}

static int hold_checkpoint(fv *v, const chio__xp_msg *m)
{
    held_cp *h;

    if (v->ncps == v->capcps) {
        size_t cap = v->capcps ? v->capcps * 2 : 64;
        held_cp *p = realloc(v->cps, cap * sizeof(*p));
        if (p == NULL)
            return -1;
        v->cps = p;
        v->capcps = cap;
    }
    h = &v->cps[v->ncps];
    judge_early(h, m);
    h->subject = strdup(m->subject);
    h->len = h->bad ? 0 : m->len;
    h->data = malloc(h->len ? h->len : 1);
    if (h->subject == NULL || h->data == NULL) {
        free(h->subject);
        free(h->data);
        return -1;
    }
    memcpy(h->data, m->data, h->len);
    h->position = m->position;
    h->item_seq = m->item_seq;
    v->ncps++;
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n > k && s[n - k - 1] == '.' && strcmp(s + n - k, suffix) == 0;
}

static int on_message(void *vctx, const chio__xp_msg *m)
{
    fv *v = vctx;

    if (ends_with(m->subject, CHIO__FLEET_RECEIPTS))
        return on_receipt(v, m);
    if (ends_with(m->subject, CHIO__FLEET_CHECKPOINTS)) {
        if (hold_checkpoint(v, m) != 0) {
            v->oom = 1;
            return -1;
        }
        return 0;
    }
    v->foreign++;
    return 0;
}

/* Read the stream; check the checkpoints after it. Returns 0, 1 (no
 * stream) or -1 after a message. */
static int read_all(fv *v, chio__xp *t)
{
    int rc = chio__xp_read(t, "chio.>", 1, on_message, v);
    size_t i;

    if (v->oom) {
        fprintf(v->err, "chio fleet verify: out of memory\n");
        return -1;
    }
    if (rc != 0 && rc != CHIO__XP_ENOTFOUND) {
        fprintf(v->err, "chio fleet verify: reading the stream: %s\n", chio__xp_errmsg(t));
        return -1;
    }
    if (rc == CHIO__XP_ENOTFOUND)
        return 1;
    for (i = 0; i < v->ncps; i++)
        on_checkpoint(v, &v->cps[i]);
    return v->oom ? -1 : 0;
}

int chio__fleet_verify(const char *urls, const char *stream, const uint8_t *trusted,
                       size_t ntrusted, FILE *out, FILE *err)
{
    fv v;
    chio__xp *t = NULL;
    chio__xp_state st;
    char why[512], hex[65];
    uint64_t receipts = 0, gaps = 0, dups = 0, invalid = 0, cps = 0, cps_valid = 0, kg;
    size_t i, j;
    int rc = CHIO__FLEET_ERROR, clean = 1, missing;

    memset(&v, 0, sizeof(v));
    v.out = out;
    v.err = err;
    v.trusted = trusted;
    v.ntrusted = ntrusted;
    if (chio__xp_open(urls, stream, 5000, &t, why, sizeof(why)) != 0) {
        fprintf(err, "chio fleet verify: %s\n", why);
        return CHIO__FLEET_ERROR;
    }
    missing = read_all(&v, t);
    if (missing < 0)
        goto out;
    if (missing > 0) {
        fprintf(err, "chio fleet verify: no stream %s\n", stream);
        goto out;
    }
    /* A pinned key that published nothing: its host's log is missing. */
    for (j = 0; j < ntrusted; j++) {
        int found = 0;
        for (i = 0; i < v.nk; i++)
            found |= memcmp(v.k[i].pub, trusted + 32 * j, 32) == 0;
        if (!found) {
            chio_hex_encode(trusted + 32 * j, 32, hex);
            fprintf(out, "{\"kernel\":\"%s\",\"ok\":false,\"problem\":\"no_messages\"}\n", hex);
            clean = 0;
        }
    }
    for (i = 0; i < v.nk; i++) {
        kernel *k = &v.k[i];
        uint64_t s;
        int ok;

        /* below the first seq read: all missing (counted, the first named) */
        kg = k->base > 1 ? k->base - 1 : 0;
        for (s = 1; s < k->base && k->problems < MAX_PROBLEMS; s++)
            problem(&v, k, "missing_receipt", "seq", s, NULL);
        for (s = k->base; s != 0 && s <= k->max_seq; s++)
            if (k->state[s - k->base] == ABSENT) {
                kg++;
                problem(&v, k, "missing_receipt", "seq", s, NULL);
            }
        ok = kg == 0 && k->duplicates == 0 && k->invalid == 0 &&
             k->checkpoints_valid == k->checkpoints && k->trusted != 0;
        clean &= ok;
        fprintf(out,
                "{\"checkpoints\":%" PRIu64 ",\"checkpoints_valid\":%" PRIu64
                ",\"duplicates\":%" PRIu64 ",\"gaps\":%" PRIu64 ",\"invalid\":%" PRIu64
                ",\"kernel\":\"%s\",\"last_checkpoint_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64
                ",\"ok\":%s,\"receipts\":%" PRIu64 ",\"trusted\":%s}\n",
                k->checkpoints, k->checkpoints_valid, k->duplicates, kg, k->invalid, k->key,
                k->cp_last, k->max_seq, ok ? "true" : "false", k->receipts,
                k->trusted < 0 ? "null"
                : k->trusted   ? "true"
                               : "false");
        receipts += k->receipts;
        gaps += kg;
        dups += k->duplicates;
        invalid += k->invalid;
        cps += k->checkpoints;
        cps_valid += k->checkpoints_valid;
    }
    /* Positions the stream no longer holds: messages purged, deleted,
     * rolled up or aged out. What is left may be self-consistent (a
     * kernel's subjects cut back to a prefix, the whole stream emptied),
     * so the cut itself is the problem. */
    if (chio__xp_state_get(t, &st) != 0) {
        fprintf(err, "chio fleet verify: reading the stream's state: %s\n", chio__xp_errmsg(t));
        rc = CHIO__FLEET_ERROR;
        goto out;
    }
    if (st.last > st.messages) {
        /* Named by what was removed: the positions before the first one
         * still held, and how many after it (review 11: the line gave the
         * stream's first and last positions alone, which read as the run
         * removed). */
        uint64_t removed = st.last - st.messages, before = st.first > 1 ? st.first - 1 : 0;
        uint64_t inside;

        if (before > removed)
            before = removed; /* an empty stream's first is past its last */
        inside = removed - before;
        fprintf(out,
                "{\"first_held_position\":%" PRIu64 ",\"last_position\":%" PRIu64
                ",\"problem\":\"stream_messages_removed\",\"removed\":%" PRIu64
                ",\"removed_after_first_held\":%" PRIu64 ",\"removed_before_first_held\":%" PRIu64
                "}\n",
                st.messages ? st.first : 0, st.last, removed, inside, before);
        clean = 0;
    }
    if (v.foreign > 0) {
        fprintf(out, "{\"foreign_messages\":%" PRIu64 ",\"problem\":\"foreign_subject\"}\n",
                v.foreign);
        clean = 0;
    }
    fprintf(out,
            "{\"kernels\":%zu,\"receipts\":%" PRIu64 ",\"gaps\":%" PRIu64 ",\"duplicates\":%" PRIu64
            ",\"invalid\":%" PRIu64 ",\"checkpoints\":%" PRIu64 ",\"checkpoints_valid\":%" PRIu64
            "}\n",
            v.nk, receipts, gaps, dups, invalid, cps, cps_valid);
    rc = clean ? CHIO__FLEET_OK : CHIO__FLEET_NEGATIVE;
out:
    fflush(out);
    for (i = 0; i < v.nk; i++) {
        free(v.k[i].state);
        free(v.k[i].leaf);
        free(v.k[i].rank_at);
        free(v.k[i].bad);
    }
    free(v.k);
    free(v.ids);
    for (i = 0; i < v.ncps; i++) {
        free(v.cps[i].subject);
        free(v.cps[i].data);
    }
    free(v.cps);
    chio__xp_close(t);
    return rc;
}
