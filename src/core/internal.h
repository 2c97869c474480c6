/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/internal.h - private helpers shared by the core layer and the layers
 * above it: the growable byte buffer, the bump arena, the JSON node layout,
 * the JSON builder and error-record helpers. Nothing here is API; every name
 * starts with chio__ and may change at any time.
 *
 * Locking: none. Every object here belongs to one thread at a time.
 */
#ifndef CHIO_CORE_INTERNAL_H
#define CHIO_CORE_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "chio/error.h"
#include "chio/json.h"

#if defined(__GNUC__) || defined(__clang__)
#define CHIO__PRINTF(f, a) __attribute__((format(printf, f, a)))
#define CHIO__UNUSED       __attribute__((unused))
#else
#define CHIO__PRINTF(f, a)
#define CHIO__UNUSED
#endif

#define CHIO__XSTR(x) #x
#define CHIO__STR(x)  CHIO__XSTR(x)

/* ---- error records ------------------------------------------------------ */

/* 1 when the @n bytes at @p are all zero: the reserved tails of the
 * public input structs (chio/abi.h rule 1). core/abi.c. */
int chio__all_zero(const void *p, size_t n);

/* Fill @err (may be NULL) with @code, @offset and a formatted message, and
 * return @code so callers can write `return chio__fail(err, ...)`. */
int chio__fail(chio_error *err, int code, size_t offset, const char *fmt, ...) CHIO__PRINTF(4, 5);
int chio__vfail(chio_error *err, int code, size_t offset, const char *fmt, va_list ap)
    CHIO__PRINTF(4, 0);

/* ---- growable byte buffer ----------------------------------------------- */

/* Appends never fail loudly: the first allocation failure sets `oom`, later
 * appends are ignored, and the owner checks `oom` once at the end. */
typedef struct chio_buf {
    char *data;
    size_t len;
    size_t cap;
    int oom;
} chio_buf;

void chio__buf_init(chio_buf *b);
void chio__buf_destroy(chio_buf *b);
int chio__buf_reserve(chio_buf *b, size_t extra);
void chio__buf_append(chio_buf *b, const void *data, size_t len);
void chio__buf_putc(chio_buf *b, char c);
void chio__buf_puts(chio_buf *b, const char *s);
void chio__buf_printf(chio_buf *b, const char *fmt, ...) CHIO__PRINTF(2, 3);
/* Hand the NUL-terminated contents to the caller (free with free()) and
 * reset @b. Returns NULL when an append failed earlier. */
char *chio__buf_detach(chio_buf *b, size_t *len);

/* ---- bump arena ------------------------------------------------------------ */

typedef struct chio_arena_block chio_arena_block;
typedef struct chio_arena {
    chio_arena_block *head;
    size_t next_size;
} chio_arena;

void chio__arena_init(chio_arena *a, size_t first_block);
void chio__arena_destroy(chio_arena *a);
/* 8-byte aligned, uninitialised; NULL on allocation failure. */
void *chio__arena_alloc(chio_arena *a, size_t n);
/* An arena whose first block of @cap bytes is @mem (chio__arena_block_size
 * bytes, 16-byte aligned), owned by the caller: one allocation for an
 * object and its first block. */
size_t chio__arena_block_size(size_t cap);
void chio__arena_init_embedded(chio_arena *a, void *mem, size_t cap);
/* Copy @len bytes and add a NUL. */
char *chio__arena_strndup(chio_arena *a, const char *s, size_t len);
/* Capacity of the arena's first block (0 when it has none). */
size_t chio__arena_first_cap(const chio_arena *a);
/* Empty an arena that is one embedded block of at most @max_cap bytes, for
 * reuse; 0 (and nothing changed) otherwise. */
int chio__arena_reset_single(chio_arena *a, size_t max_cap);

/* ---- JSON nodes ------------------------------------------------------------ */

typedef struct chio_json_member chio_json_member;

struct chio_json {
    uint8_t type; /* chio_json_type */
    uint32_t n;   /* string bytes, or element / member count */
    uint32_t cap; /* allocated slots of a built array or object */
    union {
        int b;
        int64_t i;
        uint64_t u;
        double d;
        const char *s;
        chio_json *items;
        chio_json_member *members; /* sorted by chio__json_key_cmp */
    } v;
};

/* The parser's mark, in a CHIO_JSON_INT's n (unused for numbers), of a
 * number written "-0": its value is 0, but chio's serde_json reads the
 * token as a float, so no unsigned field takes it (chio_json_get_uint64,
 * chio__field_u64); canonical output is "0" either way. */
#define CHIO__JSON_MINUS_ZERO 1u

struct chio_json_member {
    const char *key;
    uint32_t klen;
    chio_json value;
};

struct chio_json_doc {
    chio_arena arena;
    chio_json root;
    chio_json_doc *adopted; /* documents whose values this one uses (chio__json_adopt) */
};

/* Order of two keys by UTF-16 code units (valid UTF-8 in, <0 / 0 / >0 out). */
int chio__json_key_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* ---- JSON builder ------------------------------------------------------------
 * Documents built in memory by the model layer. Keys and strings are copied
 * into the document's arena. A slot pointer returned by _obj_put or
 * _arr_push stays valid only until the next put/push on the same container. */

chio_json_doc *chio__json_doc_new(size_t first_block);
/* A document for use inside one call on this thread: the thread's kept
 * scratch document, emptied, when its first block holds @need bytes, else
 * a new one (NULL: out of memory). Give it back with
 * chio__json_doc_scratch_done, which keeps a small one-block document for
 * the thread's next call and frees anything else. */
chio_json_doc *chio__json_doc_scratch(size_t need);
void chio__json_doc_scratch_done(chio_json_doc *doc);
/* Parse into @doc (empty), as chio_json_parse would into a new one. On an
 * error @doc is left for its owner to free or give back. */
int chio__json_parse_into(chio_json_doc *doc, const char *text, size_t len, chio_error *err);
chio_json *chio__json_doc_root(chio_json_doc *doc);

void chio__json_set_null(chio_json *dst);
void chio__json_set_bool(chio_json *dst, int b);
void chio__json_set_int(chio_json *dst, int64_t i);
void chio__json_set_uint(chio_json *dst, uint64_t u);
int chio__json_set_string(chio_json_doc *doc, chio_json *dst, const char *s, size_t len);
int chio__json_set_object(chio_json_doc *doc, chio_json *dst, uint32_t cap);
int chio__json_set_array(chio_json_doc *doc, chio_json *dst, uint32_t cap);
/* Insert (or find) @key; returns the value slot, NULL on allocation failure.
 * A fresh slot holds null. */
chio_json *chio__json_obj_put(chio_json_doc *doc, chio_json *obj, const char *key, size_t klen);
/* Remove @key when present. */
void chio__json_obj_del(chio_json *obj, const char *key);
chio_json *chio__json_arr_push(chio_json_doc *doc, chio_json *arr);
/* Make @dst the root of @src without copying it: @doc takes @src (freed
 * with @doc) and @dst points into it. For large values (a call's
 * arguments) that would otherwise be copied into a receipt. */
void chio__json_adopt(chio_json_doc *doc, chio_json *dst, chio_json_doc *src);
/* Deep-copy @src (from any document) into @dst inside @doc. */
int chio__json_copy(chio_json_doc *doc, chio_json *dst, const chio_json *src);
/* Look up a member slot (mutable). */
chio_json *chio__json_obj_find(chio_json *obj, const char *key, size_t klen);

/* ---- canonical writer ----------------------------------------------------- */

void chio__json_write(chio_buf *b, const chio_json *v);
/* Nesting depth of @v as the reader counts it (a scalar is 0, [] is 1). */
int chio__json_depth(const chio_json *v);
void chio__json_write_string(chio_buf *b, const char *s, size_t len);
/* Write @obj with @extra members merged in (both sorted; @extra wins on an
 * equal key). Used to add "id"/"signature" without copying the body. */
void chio__json_write_merged(chio_buf *b, const chio_json *obj, const chio_json_member *extra,
                             size_t nextra);
/* strtod in the "C" locale, whatever locale the host process set. */
double chio__strtod_c(const char *s);
/* Write @obj without the members named in @skip (any order). */
void chio__json_write_except(chio_buf *b, const chio_json *obj, const char *const *skip,
                             size_t nskip);
/* ECMAScript Number::toString of a finite double; returns the length
 * written to @out (at most 31 bytes plus NUL). */
size_t chio__fmt_double(double d, char out[32]);

/* Valid UTF-8 without NUL bytes (the rules of the JSON reader). */
int chio__utf8_valid(const char *s, size_t len);
/* Make the NUL-terminated @s valid UTF-8 in place, keeping its length:
 * every byte that does not start a complete, valid sequence becomes '?'.
 * For text that was cut to fit a buffer (snprintf "%.Ns" may split a
 * character) before it goes into a signed receipt. */
void chio__utf8_repair(char *s);

/* Test hook: called by chio_keypair_free() with the keypair's memory after
 * it was wiped and before it is freed (NULL: none). */
void chio__keypair_set_free_hook(void (*fn)(const void *mem, size_t len));

/* What key creation did about OpenSSL's own copy of the private key
 * (core/key_memory.c): moved it into OpenSSL's secure heap when the host has
 * one, then scanned the process's writable private memory for the seed
 * outside the keypair's pages and marked those pages MADV_DONTDUMP. */
typedef struct chio__key_dump_state {
    int secure_heap;  /* 1: the key was moved into OpenSSL's secure heap */
    int scanned;      /* 1: the scan ran to the end */
    int scan_errno;   /* why it did not (ENOENT: no /proc), else 0 */
    size_t copies;    /* copies of the seed found outside our pages */
    size_t pages;     /* pages marked MADV_DONTDUMP (and mlock tried) for them */
    size_t unmarked;  /* copies whose page madvise refused: still in a dump */
    size_t unlocked;  /* marked pages mlock refused */
    size_t unread;    /* writable mappings that could not be read through */
    size_t regions;   /* mappings scanned */
    size_t bytes;     /* bytes scanned */
    size_t skipped;   /* bytes of never-written anonymous pages not read (pagemap) */
    uint64_t scan_ns; /* time the scan took */
} chio__key_dump_state;

/* Copy @kp's state into @out; CHIO_EINVAL for NULL arguments. */
struct chio_keypair;
int chio__keypair_dump_state(const struct chio_keypair *kp, chio__key_dump_state *out);

/* ---- key memory (core/key_memory.c) -------------------------------------------
 * The pages holding a keypair, and the heap pages holding OpenSSL's copy of
 * its key, kept out of core dumps and locked in memory where the process
 * may lock it. For core/crypto.c only: its keypair struct starts with a
 * chio__key_mem, which is the start of the keypair's pages. */

/* Heap pages one keypair may hold marked for OpenSSL's copies: one copy,
 * which may straddle two pages, with room for a second. */
#define CHIO__KEY_COPY_PAGES 4

typedef struct chio__key_mem {
    int locked;                /* mlock()ed (at creation, or by chio__key_mem_lock()) */
    int lock_errno;            /* why mlock failed at creation; 0 when locked */
    int dontdump;              /* our pages MADV_DONTDUMP and no copy found left dumpable */
    int own_dd;                /* madvise(MADV_DONTDUMP) of our own pages succeeded */
    chio__key_dump_state dump; /* what the scan for OpenSSL's copies found */
    uintptr_t copy_pages[CHIO__KEY_COPY_PAGES]; /* registered heap pages (refcounted) */
    size_t n_copy_pages;
    size_t map_len; /* the mapping that starts with this struct (whole pages) */
} chio__key_mem;

/* Zeroed pages of their own for an object of @size bytes that starts with
 * a chio__key_mem (filled in): excluded from core dumps and mlocked where
 * permitted (a refusal is recorded in it, not fatal). NULL when out of
 * memory. */
chio__key_mem *chio__key_mem_open(size_t size);
/* Release the marks on OpenSSL's copies, wipe the pages (then call the
 * free hook), unlock and unmap them. Only after the key's EVP_PKEY (and
 * every context referencing it) was freed. NULL is a no-op. */
void chio__key_mem_close(chio__key_mem *km);
/* With a host secure heap, replace *@pkey by a duplicate that keeps its
 * private key there and free the original; recorded in km->dump. */
struct evp_pkey_st; /* OpenSSL's EVP_PKEY */
void chio__key_mem_secure_heap(chio__key_mem *km, struct evp_pkey_st **pkey);
/* Scan this process for copies of @seed (32 bytes) outside @km's pages,
 * mark and lock their pages, and set km->dontdump and km->locked from the
 * outcome. Key creation only. */
void chio__key_mem_protect_copies(chio__key_mem *km, const uint8_t *seed);
/* mlock @km's pages and its marked heap pages unless already locked; 0, or
 * the errno of the refusal (also kept in km->lock_errno). */
int chio__key_mem_lock(chio__key_mem *km);

/* ---- hex ---------------------------------------------------------------------- */

void chio__hex_encode(const uint8_t *in, size_t n, char *out); /* writes 2n chars + NUL */

/* A byte range (not owned). */
typedef struct chio__bytes {
    const void *data;
    size_t len;
} chio__bytes;

/* SHA-256 of @n parts back to back, on a per-thread reused digest context
 * (no allocation after a thread's first hash). 0, CHIO_ECRYPTO or
 * CHIO_ENOMEM. */
int chio__sha256_parts(const chio__bytes *parts, size_t n, uint8_t out[32]);

/* 1 when @pub encodes an Ed25519 point of small order (the torsion
 * subgroup, in any encoding a decoder accepts): no secret key stands
 * behind it, and signatures under it can be made for any message. */
int chio__ed25519_small_order(const uint8_t pub[32]);
/* @n bytes of public randomness for identifiers (request ids), from a
 * per-thread block refilled by RAND_bytes(): never for keys or nonces.
 * 0 or CHIO_ECRYPTO. Fork-safe (a child refills). */
int chio__id_random(uint8_t *out, size_t n);
/* Decode exactly @n bytes from 2n hex digits of either case; 0 or CHIO_EHEX. */
int chio__hex_decode_exact(const char *hex, size_t hexlen, uint8_t *out, size_t n);

#endif /* CHIO_CORE_INTERNAL_H */
