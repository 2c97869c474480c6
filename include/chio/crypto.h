/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chio/crypto.h - Ed25519 keys, signatures and SHA-256, as chio encodes them.
 *
 * Seeds are 32-byte RFC 8032 Ed25519 seeds written as 64 hex digits. Public
 * keys are 32 bytes (64 lowercase hex), signatures 64 bytes (128 lowercase
 * hex). Everything is computed with OpenSSL libcrypto (EVP).
 *
 * A chio_keypair keeps its seed in one place only (inside the keypair) and
 * wipes it with OPENSSL_cleanse() when freed. Nothing in libchio ever logs,
 * prints or copies the seed elsewhere. The keypair lives in pages of its
 * own, excluded from core dumps (MADV_DONTDUMP) and locked in memory
 * (mlock) where RLIMIT_MEMLOCK allows. OpenSSL keeps one more copy of the
 * private key (32 bytes) in its ordinary heap: when the host has set up
 * OpenSSL's secure heap the key is moved there (excluded from dumps and
 * locked by OpenSSL); otherwise, once per keypair, the library reads its
 * own process memory (/proc/self/mem) for that copy and marks the heap
 * page(s) holding it MADV_DONTDUMP and mlocked until the key is freed (so
 * one or two heap pages per key, with whatever else they hold, are left
 * out of core dumps). The scan reads only pages holding data (pagemap:
 * in RAM or in swap) of anonymous mappings: about 1 ms for a small
 * process plus about 160 ms per GiB the process has written, at key
 * creation, never when signing. Without /proc the copy stays
 * dumpable and chio_keypair_memory_locked() reports dontdump 0 (a kernel
 * logs key_memory_unlocked).
 */
#ifndef CHIO_CRYPTO_H
#define CHIO_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "chio/error.h"
#include "chio/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CHIO_SEED_BYTES        32
#define CHIO_PUBKEY_BYTES      32
#define CHIO_SIGNATURE_BYTES   64
#define CHIO_SHA256_BYTES      32
#define CHIO_PUBKEY_HEX_LEN    64  /* without NUL */
#define CHIO_SIGNATURE_HEX_LEN 128 /* without NUL */
#define CHIO_SHA256_HEX_LEN    64  /* without NUL */

typedef struct chio_keypair chio_keypair;

/*
 * chio_keypair_from_seed_hex - build a keypair from a hex seed, with chio's
 * exact acceptance rules (Keypair::from_seed_hex).
 *
 * @hex, @len: exactly 64 hex digits of either case, optionally preceded by
 * one "0x". No whitespace of any kind is accepted, not even a trailing
 * newline: strip what you read from files before calling.
 * @out: receives the keypair, NULL on failure.
 * @err: optional details (never contains seed material).
 *
 * Returns: 0;
 *   CHIO_ESEED_NEWLINE  the text ends with "\n" (or "\r\n");
 *   CHIO_ESEED_SPACE    any other whitespace anywhere;
 *   CHIO_ESEED_ODD      an odd number of digits;
 *   CHIO_ESEED_NONHEX   a character that is not a hex digit;
 *   CHIO_ESEED_LENGTH   valid hex that does not decode to 32 bytes (empty too);
 *   CHIO_EINVAL (@out NULL, or @hex NULL, whatever @len: a NULL seed is
 *   no empty one), CHIO_ENOMEM, CHIO_ECRYPTO.
 * Checks run in that order, so each input gets one well-defined code.
 * Ownership: caller frees *out with chio_keypair_free(). @hex is borrowed and
 * not copied; the caller should wipe its own copy.
 * Thread-safety: safe from any thread with 32 KiB of stack to spare (the
 * scan for OpenSSL's copy of the key, and the wipe of the stack below it:
 * docs/security.md, "The signing key and core dumps").
 */
CHIO_EXTERN int chio_keypair_from_seed_hex(const char *hex, size_t len, chio_keypair **out,
                                           chio_error *err);

/*
 * chio_keypair_generate - a keypair with a fresh seed from OpenSSL's
 * private DRBG (RAND_priv_bytes).
 * Returns: 0, CHIO_EINVAL (@out NULL), CHIO_ENOMEM, CHIO_ECRYPTO; details
 * in @err (optional); *@out is NULL on failure.
 * Ownership: caller frees *out with chio_keypair_free().
 * Thread-safety: as chio_keypair_from_seed_hex() (32 KiB of stack).
 */
CHIO_EXTERN int chio_keypair_generate(chio_keypair **out, chio_error *err);

/*
 * chio_keypair_free - wipe the seed (OPENSSL_cleanse), unlock and unmap its
 * pages. NULL is ignored.
 * Ownership: takes @kp. Must not race with other calls on @kp.
 */
CHIO_EXTERN void chio_keypair_free(chio_keypair *kp);

/*
 * chio_keypair_lock_memory - make sure the memory holding the seed is
 * mlock()ed, so it is never written to swap. Every keypair already tries
 * this when it is created (and its pages are always excluded from core
 * dumps); this is the strict form, failing when the lock was refused.
 * Unlocked when the keypair is freed.
 * Returns: 0; CHIO_ESYS when mlock fails (usually RLIMIT_MEMLOCK; the
 * message says so); CHIO_EINVAL (@kp NULL). @err optional.
 * Ownership: @kp borrowed. Thread-safety: must not race with other calls
 * on @kp.
 */
CHIO_EXTERN int chio_keypair_lock_memory(chio_keypair *kp, chio_error *err);

/*
 * chio_keypair_memory_locked - how the seed's memory is protected.
 * @dontdump: optional; 1 when no memory a core dump would include holds
 * the seed (the keypair's pages and OpenSSL's copy, see above).
 * @lock_errno: optional; the errno of the refused mlock (EPERM, ENOMEM:
 * RLIMIT_MEMLOCK), 0 when locked.
 * Returns: 1 locked, 0 not locked, CHIO_EINVAL for a NULL keypair.
 * Ownership: @kp borrowed; @dontdump and @lock_errno the caller's.
 * Thread-safety: safe from any thread (not racing chio_keypair_lock_memory()).
 */
CHIO_EXTERN int chio_keypair_memory_locked(const chio_keypair *kp, int *dontdump, int *lock_errno);

/*
 * chio_keypair_write_seed_hex - write the seed as 64 lowercase hex digits
 * plus NUL into @out. Exists only so that `chio keygen` can create a seed
 * file; the caller must OPENSSL_cleanse (or otherwise wipe) @out after use.
 * Returns: 0 or CHIO_EINVAL (@kp or @out NULL). Ownership: @kp borrowed;
 * @out is the caller's (65 bytes).
 */
CHIO_EXTERN int chio_keypair_write_seed_hex(const chio_keypair *kp, char out[65]);

/*
 * chio_keypair_public_hex - the public key as 64 lowercase hex digits.
 * Returns: NUL-terminated string, or NULL when @kp is NULL.
 * Ownership: owned by @kp, valid until chio_keypair_free().
 * Thread-safety: safe from any thread.
 */
CHIO_EXTERN const char *chio_keypair_public_hex(const chio_keypair *kp);

/*
 * chio_keypair_public_key - copy the 32 public-key bytes into @out.
 * Returns: 0 or CHIO_EINVAL (@kp or @out NULL). Ownership: @kp borrowed;
 * @out the caller's. Thread-safety: safe from any thread.
 */
CHIO_EXTERN int chio_keypair_public_key(const chio_keypair *kp, uint8_t out[32]);

/*
 * chio_keypair_sign - Ed25519 signature (RFC 8032, deterministic) of @msg.
 * @sig: receives 64 bytes. @msg may be NULL when @len is 0.
 * Returns: 0, CHIO_EINVAL (@kp or @sig NULL, @msg NULL with @len > 0),
 * CHIO_ENOMEM, CHIO_ECRYPTO. Ownership: all borrowed; @sig the caller's.
 * Thread-safety: safe to call concurrently on one keypair.
 */
CHIO_EXTERN int chio_keypair_sign(const chio_keypair *kp, const void *msg, size_t len,
                                  uint8_t sig[64]);

/*
 * chio_ed25519_verify - check an Ed25519 signature.
 * Returns: 0 when valid, CHIO_EBADSIG when it does not verify (including a
 * public key that is not a valid curve point, and one of small order, under
 * which signatures need no secret key), CHIO_EINVAL (@pub or @sig NULL,
 * @msg NULL with @len > 0), CHIO_ENOMEM, CHIO_ECRYPTO.
 * Ownership: all borrowed. Thread-safety: safe from any thread.
 */
CHIO_EXTERN int chio_ed25519_verify(const uint8_t pub[32], const void *msg, size_t len,
                                    const uint8_t sig[64]);

/*
 * chio_pubkey_from_hex - decode a public key: 64 hex digits of either case,
 * optionally preceded by "0x".
 * Returns: 0, CHIO_EKEY (wrong length or not hex, a NUL inside @len
 * included), CHIO_EINVAL (@hex or @out NULL).
 * On failure @out is left unchanged. Ownership: @hex borrowed, @out the
 * caller's. Thread-safety: safe from any thread.
 */
CHIO_EXTERN int chio_pubkey_from_hex(const char *hex, size_t len, uint8_t out[32]);

/*
 * chio_signature_from_hex - decode a signature: exactly 128 hex digits of
 * either case. Returns: 0, CHIO_ESIGFORMAT, CHIO_EINVAL (@hex or @out
 * NULL). Ownership: @hex borrowed, @out the caller's. Thread-safety: any.
 */
CHIO_EXTERN int chio_signature_from_hex(const char *hex, size_t len, uint8_t out[64]);

/*
 * chio_sha256 / chio_sha256_hex - SHA-256 of @data; the hex form is 64
 * lowercase digits plus NUL. @data may be NULL when @len is 0.
 * Returns: 0, CHIO_EINVAL (@out NULL, @data NULL with @len > 0),
 * CHIO_ECRYPTO. Ownership: @data borrowed, @out the caller's.
 * Thread-safety: safe from any thread.
 */
CHIO_EXTERN int chio_sha256(const void *data, size_t len, uint8_t out[32]);
CHIO_EXTERN int chio_sha256_hex(const void *data, size_t len, char out[65]);

/*
 * chio_hex_encode - lowercase hex of @n bytes into @out (2n chars + NUL).
 * @in may be NULL when @n is 0 (@out becomes "").
 * Returns: 0 or CHIO_EINVAL (@out NULL, @in NULL with @n > 0).
 * Ownership: @in borrowed, @out the caller's (at least 2n + 1 bytes).
 */
CHIO_EXTERN int chio_hex_encode(const uint8_t *in, size_t n, char *out);

#ifdef __cplusplus
}
#endif

#endif /* CHIO_CRYPTO_H */
