/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/core/test_crypto.c - seeds (chio's exact acceptance rules and one
 * distinct code per rejection), known public keys, RFC 8032 signatures,
 * verification failures, SHA-256 and hex decoding; in AddressSanitizer
 * builds, that a live keypair's OpenSSL objects are not leaks.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "chio/crypto.h"
#include "common/testutil.h"

/* gcc defines __SANITIZE_ADDRESS__, clang answers __has_feature. */
#if defined(__SANITIZE_ADDRESS__)
#define CRYPTO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CRYPTO_ASAN 1
#endif
#endif
#ifdef CRYPTO_ASAN
#include <sanitizer/lsan_interface.h>
#endif

#define SEED07 "0707070707070707070707070707070707070707070707070707070707070707"
#define PUB07  "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"
#define SEED0B "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
#define PUB0B  "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a"

static void seed_ok(const char *hex, const char *pub)
{
    chio_keypair *kp = NULL;
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_keypair_from_seed_hex(hex, strlen(hex), &kp, &err), 0, "[%s]: %s", hex,
                 err.message);
    cr_expect_str_eq(chio_keypair_public_hex(kp), pub);
    chio_keypair_free(kp);
}

static void seed_bad(const char *hex, size_t len, int code)
{
    chio_keypair *kp = (chio_keypair *)1;
    chio_error err;
    int rc;

    chio_error_init(&err);
    rc = chio_keypair_from_seed_hex(hex, len, &kp, &err);
    cr_expect_eq(rc, code, "[%.*s]: got %s want %s", (int)len, hex, chio_err_name(rc),
                 chio_err_name(code));
    cr_expect_null(kp);
    cr_expect_eq(err.code, code);
    cr_expect_neq(err.message[0], '\0');
    /* No seed text in messages. */
    cr_expect_null(strstr(err.message, "0707"));
}

Test(seed, accepted_forms)
{
    seed_ok(SEED07, PUB07);
    seed_ok(SEED0B, PUB0B);
    seed_ok("0x" SEED07, PUB07);
    seed_ok("0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B", PUB0B);
    seed_ok("0x0b0B0b0B0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", PUB0B);
}

Test(seed, each_rejection_has_its_code)
{
    seed_bad(SEED07 "\n", 65, CHIO_ESEED_NEWLINE);
    seed_bad(SEED07 "\r\n", 66, CHIO_ESEED_NEWLINE);
    seed_bad(" " SEED07, 65, CHIO_ESEED_SPACE);
    seed_bad(SEED07 " ", 65, CHIO_ESEED_SPACE);
    seed_bad("07070707070707070707070707070707\t07070707070707070707070707070707", 65,
             CHIO_ESEED_SPACE);
    seed_bad(SEED07 "0", 65, CHIO_ESEED_ODD);
    seed_bad("abc", 3, CHIO_ESEED_ODD);
    seed_bad("zz07070707070707070707070707070707070707070707070707070707070707", 64,
             CHIO_ESEED_NONHEX);
    seed_bad("0x0x070707070707070707070707070707070707070707070707070707070707", 64,
             CHIO_ESEED_NONHEX);
    seed_bad("0X" SEED07, 66, CHIO_ESEED_NONHEX); /* only lowercase 0x is a prefix */
    seed_bad("07070707070707070707070707070707070707070707070707070707070707\0"
             "7",
             64, CHIO_ESEED_NONHEX);
    seed_bad("", 0, CHIO_ESEED_LENGTH);
    seed_bad("0x", 2, CHIO_ESEED_LENGTH);
    seed_bad("0707", 4, CHIO_ESEED_LENGTH);
    seed_bad(SEED07 "07", 66, CHIO_ESEED_LENGTH);
    seed_bad(NULL, 0, CHIO_EINVAL);
}

Test(seed, codes_are_distinct_and_named)
{
    int codes[] = {CHIO_ESEED_ODD, CHIO_ESEED_NONHEX, CHIO_ESEED_SPACE, CHIO_ESEED_NEWLINE,
                   CHIO_ESEED_LENGTH};
    size_t i, j;

    for (i = 0; i < 5; i++) {
        cr_expect(strncmp(chio_err_name(codes[i]), "CHIO_ESEED_", 11) == 0);
        cr_expect_str_neq(chio_strerror(codes[i]), "unknown error");
        for (j = i + 1; j < 5; j++)
            cr_expect_neq(codes[i], codes[j]);
    }
    cr_expect_str_eq(chio_err_name(0), "CHIO_OK");
    cr_expect_str_eq(chio_strerror(12345), "unknown error");
}

Test(ed25519, rfc8032_test_1)
{
    static const char *seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    static const char *pub = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    static const char *sig =
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701c"
        "f9b46bd25bf5f0595bbe24655141438e7a100b";
    chio_keypair *kp;
    uint8_t s[64], p[32];
    char hex[129];

    cr_assert_eq(chio_keypair_from_seed_hex(seed, 64, &kp, NULL), 0);
    cr_expect_str_eq(chio_keypair_public_hex(kp), pub);
    cr_assert_eq(chio_keypair_sign(kp, "", 0, s), 0);
    testutil_hex(s, 64, hex);
    cr_expect_str_eq(hex, sig);
    cr_assert_eq(chio_keypair_public_key(kp, p), 0);
    cr_expect_eq(chio_ed25519_verify(p, "", 0, s), 0);
    s[10] ^= 1;
    cr_expect_eq(chio_ed25519_verify(p, "", 0, s), CHIO_EBADSIG);
    chio_keypair_free(kp);
}

Test(ed25519, verify_rejects_wrong_key_message_and_garbage)
{
    chio_keypair *a, *b;
    uint8_t sig[64], pa[32], pb[32], junk[32];

    cr_assert_eq(chio_keypair_from_seed_hex(SEED07, 64, &a, NULL), 0);
    cr_assert_eq(chio_keypair_generate(&b, NULL), 0);
    chio_keypair_public_key(a, pa);
    chio_keypair_public_key(b, pb);
    cr_expect_neq(memcmp(pa, pb, 32), 0);
    cr_assert_eq(chio_keypair_sign(a, "hello", 5, sig), 0);
    cr_expect_eq(chio_ed25519_verify(pa, "hello", 5, sig), 0);
    cr_expect_eq(chio_ed25519_verify(pb, "hello", 5, sig), CHIO_EBADSIG);
    cr_expect_eq(chio_ed25519_verify(pa, "hellp", 5, sig), CHIO_EBADSIG);
    memset(junk, 0xff, sizeof(junk)); /* not a curve point */
    cr_expect_eq(chio_ed25519_verify(junk, "hello", 5, sig), CHIO_EBADSIG);
    cr_expect_eq(chio_ed25519_verify(NULL, "hello", 5, sig), CHIO_EINVAL);
    chio_keypair_free(a);
    chio_keypair_free(b);
}

Test(ed25519, deterministic_and_seed_export)
{
    chio_keypair *kp, *again;
    uint8_t s1[64], s2[64];
    char seed[65];

    cr_assert_eq(chio_keypair_generate(&kp, NULL), 0);
    cr_assert_eq(chio_keypair_write_seed_hex(kp, seed), 0);
    cr_assert_eq(chio_keypair_from_seed_hex(seed, 64, &again, NULL), 0);
    cr_expect_str_eq(chio_keypair_public_hex(kp), chio_keypair_public_hex(again));
    chio_keypair_sign(kp, "m", 1, s1);
    chio_keypair_sign(again, "m", 1, s2);
    cr_expect_eq(memcmp(s1, s2, 64), 0);
    chio_keypair_free(kp);
    chio_keypair_free(again);
    chio_keypair_free(NULL);
}

Test(hex, keys_and_signatures)
{
    uint8_t k[32], s[64];

    cr_expect_eq(chio_pubkey_from_hex(PUB07, 64, k), 0);
    cr_expect_eq(k[0], 0xea);
    cr_expect_eq(chio_pubkey_from_hex(
                     "0xEA4A6C63E29C520ABEF5507B132EC5F9954776AEBEBE7B92421EEA691446D22C", 66, k),
                 0);
    cr_expect_eq(k[31], 0x2c);
    cr_expect_eq(chio_pubkey_from_hex(PUB07, 62, k), CHIO_EKEY); /* truncated */
    cr_expect_eq(chio_pubkey_from_hex(PUB07 "00", 66, k), CHIO_EKEY);
    cr_expect_eq(
        chio_pubkey_from_hex("g"
                             "a4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c",
                             64, k),
        CHIO_EKEY);
    cr_expect_eq(chio_signature_from_hex(PUB07 PUB07, 128, s), 0);
    cr_expect_eq(chio_signature_from_hex(PUB07 PUB07, 126, s), CHIO_ESIGFORMAT);
    cr_expect_eq(chio_signature_from_hex(PUB07, 64, s), CHIO_ESIGFORMAT);
}

Test(sha256, known_answers)
{
    char hex[65];

    cr_assert_eq(chio_sha256_hex("", 0, hex), 0);
    cr_expect_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    cr_assert_eq(chio_sha256_hex("abc", 3, hex), 0);
    cr_expect_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    cr_assert_eq(chio_sha256_hex("null", 4, hex), 0);
    cr_expect_str_eq(hex, "74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b");
    cr_expect_eq(chio_sha256_hex(NULL, 3, hex), CHIO_EINVAL);
}

/* A live keypair's EVP_PKEY and pooled signing context are pointed to only
 * from the keypair's own mmap'd page, which core/key_memory.c registers
 * with LeakSanitizer. It registered it only where __SANITIZE_ADDRESS__ is
 * defined, which clang 14 does not do: in clang ASan builds (the fuzz
 * targets) a leak check while a key lived reported them (fuzz_serve, 6.3M
 * runs, a pooled EVP_MD_CTX from sign_one). */
Test(keypair, live_key_openssl_objects_are_no_leak_in_asan_builds)
{
    chio_keypair *kp = NULL;
    uint8_t sig[64];

    cr_assert_eq(chio_keypair_from_seed_hex(SEED07, 64, &kp, NULL), 0);
    cr_assert_eq(chio_keypair_sign(kp, "m", 1, sig), 0);
#ifdef CRYPTO_ASAN
    cr_expect_eq(__lsan_do_recoverable_leak_check(), 0,
                 "LeakSanitizer reported a live keypair's objects as leaked");
#endif
    chio_keypair_free(kp);
}
