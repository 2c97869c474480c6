/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/id_random.c - public randomness for identifiers (request ids): a
 * per-thread block of bytes from RAND_bytes(), handed out a few at a time.
 * Owns nothing else; keys and nonces never come from here.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <openssl/rand.h>

#include "internal.h"

/*
 * Request ids (UUIDv7) take ten random bytes per call. RAND_bytes() costs a
 * DRBG generate (and a getpid() for its fork check) each time, several
 * microseconds on the hot path; a thread keeps a block of 256 bytes from
 * it instead and hands them out. These bytes name things, they protect
 * nothing: never use them for keys or nonces (RAND_priv_bytes() is for
 * those). A fork bumps the generation, so a child never reuses its
 * parent's block.
 */
#define ID_POOL 256

static unsigned id_fork_gen;
static pthread_once_t id_once = PTHREAD_ONCE_INIT;

static void id_on_fork_child(void)
{
    __atomic_add_fetch(&id_fork_gen, 1, __ATOMIC_RELAXED);
}

static void id_register(void)
{
    (void)pthread_atfork(NULL, NULL, id_on_fork_child);
}

int chio__id_random(uint8_t *out, size_t n)
{
    static _Thread_local uint8_t pool[ID_POOL];
    static _Thread_local size_t used = ID_POOL;
    static _Thread_local unsigned gen;
    unsigned now;

    if (n > ID_POOL)
        return RAND_bytes(out, (int)n) == 1 ? 0 : CHIO_ECRYPTO;
    (void)pthread_once(&id_once, id_register);
    now = __atomic_load_n(&id_fork_gen, __ATOMIC_RELAXED);
    if (used + n > ID_POOL || gen != now) {
        if (RAND_bytes(pool, ID_POOL) != 1)
            return CHIO_ECRYPTO;
        used = 0;
        gen = now;
    }
    memcpy(out, pool + used, n);
    memset(pool + used, 0, n); /* handed out once */
    used += n;
    return 0;
}
