/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/arena.c - bump allocator behind every JSON document: values, keys
 * and strings of one document live in a short list of blocks and are freed
 * together. Blocks double in size up to 1 MiB; a request larger than the
 * next block gets a block of its own. Owned by one thread at a time.
 */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct chio_arena_block {
    chio_arena_block *next;
    size_t cap;
    size_t used;
    int embedded; /* lives inside its owner's allocation: not freed here */
    alignas(16) unsigned char data[];
};

#define ARENA_MIN_BLOCK 1024
#define ARENA_MAX_BLOCK (1024 * 1024)

void chio__arena_init(chio_arena *a, size_t first_block)
{
    a->head = NULL;
    a->next_size = first_block < ARENA_MIN_BLOCK ? ARENA_MIN_BLOCK : first_block;
}

void chio__arena_destroy(chio_arena *a)
{
    chio_arena_block *b = a->head, *next;

    while (b != NULL) {
        next = b->next;
        if (!b->embedded)
            free(b);
        b = next;
    }
    a->head = NULL;
}

size_t chio__arena_block_size(size_t cap)
{
    return sizeof(chio_arena_block) + cap;
}

void chio__arena_init_embedded(chio_arena *a, void *mem, size_t cap)
{
    chio_arena_block *b = mem;

    b->next = NULL;
    b->cap = cap;
    b->used = 0;
    b->embedded = 1;
    a->head = b;
    a->next_size = cap < ARENA_MIN_BLOCK ? ARENA_MIN_BLOCK : cap * 2;
}

static chio_arena_block *arena_grow(chio_arena *a, size_t n)
{
    size_t cap = a->next_size;
    chio_arena_block *b;

    if (cap < n)
        cap = n;
    if (cap > SIZE_MAX - sizeof(*b))
        return NULL;
    b = malloc(sizeof(*b) + cap);
    if (b == NULL)
        return NULL;
    b->cap = cap;
    b->used = 0;
    b->embedded = 0;
    b->next = a->head;
    a->head = b;
    if (a->next_size < ARENA_MAX_BLOCK)
        a->next_size *= 2;
    return b;
}

size_t chio__arena_first_cap(const chio_arena *a)
{
    const chio_arena_block *b = a->head;

    while (b != NULL && b->next != NULL)
        b = b->next; /* the first block is the last in the list */
    return b != NULL ? b->cap : 0;
}

int chio__arena_reset_single(chio_arena *a, size_t max_cap)
{
    chio_arena_block *b = a->head;

    if (b == NULL || b->next != NULL || !b->embedded || b->cap > max_cap)
        return 0;
    b->used = 0;
    a->next_size = b->cap < ARENA_MIN_BLOCK ? ARENA_MIN_BLOCK : b->cap * 2;
    return 1;
}

void *chio__arena_alloc(chio_arena *a, size_t n)
{
    chio_arena_block *b = a->head;
    size_t off;

    if (n > SIZE_MAX - 8)
        return NULL;
    n = (n + 7) & ~(size_t)7;
    if (n == 0)
        n = 8;
    if (b == NULL || b->cap - b->used < n) {
        b = arena_grow(a, n);
        if (b == NULL)
            return NULL;
    }
    off = b->used;
    b->used += n;
    return b->data + off;
}

char *chio__arena_strndup(chio_arena *a, const char *s, size_t len)
{
    char *p;

    if (len == SIZE_MAX)
        return NULL;
    p = chio__arena_alloc(a, len + 1);
    if (p == NULL)
        return NULL;
    if (len != 0)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}
