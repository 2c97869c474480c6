// SPDX-License-Identifier: Apache-2.0
//
// test_c_headers.cpp - the public C headers used from C++: their extern "C"
// guards must give C linkage, so this links against libchio.a and calls it.
//   g++ -std=c++17 -Wall -Wextra -Werror -pedantic -Iinclude bindings/cpp/test_c_headers.cpp
//       build/libchio.a -lcrypto -lck -lrocksdb -lpthread -o test_c_headers_cpp
#define CHIO_WARN_DEPRECATED 1 // the binding and its tests use no deprecated name
#include <chio/chio.h>
#include <chio/chio.h>

#include <cstdio>
#include <cstring>
#include <string>

static_assert(CHIO_ENOSESSION == -72, "ABI: CHIO_ENOSESSION");
static_assert(CHIO_SESSION_ID_LEN == 27, "ABI: session id length");
static_assert(sizeof(chio_error::message) == 256, "ABI: chio_error.message");

namespace {
int failures = 0;
void expect(bool ok, const char *what)
{
    if (!ok) {
        std::fprintf(stderr, "FAIL: %s\n", what);
        failures++;
    }
}
} // namespace

int main()
{
    expect(std::string(chio_strerror(CHIO_ENOSESSION)) == "unknown session", "chio_strerror");
    expect(std::string(chio_strerror(0)) == "success", "chio_strerror(0)");
    expect(std::string(chio_errno_name(CHIO_EJSON_DEPTH)) == "CHIO_EJSON_DEPTH", "chio_errno_name");
    expect(std::string(chio_errno_name(-9999)) == "CHIO_EUNKNOWN", "chio_errno_name(unknown)");
    expect(std::string(chio_code_name(CHIO_CODE_GUARD_DENIED)) == "guard_denied", "chio_code_name");
    expect(std::string(chio_verdict_name(CHIO_VERDICT_ALLOW)) == "allow", "chio_verdict_name");
    expect(std::string(chio_errno_reason(CHIO_ENOSESSION)) == "unknown_session",
           "chio_errno_reason");
    expect(std::string(chio_version()) == CHIO_VERSION_STRING, "chio_version");

    chio_error err;
    chio_error_init(&err);
    chio_keypair *kp = nullptr;
    const char *seed = "0707070707070707070707070707070707070707070707070707070707070707";
    expect(chio_keypair_from_seed_hex(seed, std::strlen(seed), &kp, &err) == 0, "seed");
    expect(kp != nullptr && std::string(chio_keypair_public_hex(kp)) ==
                                "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c",
           "public key");
    chio_keypair_free(kp);
    expect(chio_keypair_from_seed_hex("07", 2, &kp, &err) == CHIO_ESEED_LENGTH &&
               err.code == CHIO_ESEED_LENGTH && kp == nullptr,
           "seed error");

    char *canon = nullptr;
    std::size_t len = 0;
    expect(chio_json_canonicalize("{\"b\":1,\"a\":2}", 13, &canon, &len, nullptr) == 0 &&
               std::string(canon, len) == "{\"a\":2,\"b\":1}",
           "chio_json_canonicalize");
    chio_free(canon);

    std::printf("test_c_headers.cpp: %s\n", failures == 0 ? "ok" : "FAILED");
    return failures == 0 ? 0 : 1;
}
