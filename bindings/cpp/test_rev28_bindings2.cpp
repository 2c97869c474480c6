// SPDX-License-Identifier: Apache-2.0
//
// test_rev28_bindings2.cpp - review 28 (bindings2) regressions of
// bindings/cpp/chio.hpp: queries a host gates on fail closed and report
// libchio's code when it could not answer; chio::error copies without
// throwing. Plain main(): prints every
// failed check and exits nonzero when any failed.

#include "chio.hpp"
#include "test_check.hpp"

#include <cstdio>
#include <exception>
#include <string>
#include <type_traits>

namespace {

const char *const SEED = "0707070707070707070707070707070707070707070707070707070707070707";

chio::kernel ephemeral_kernel()
{
    chio::kernel::config cfg;
    cfg.keypair = chio::keypair::from_seed_hex(SEED);
    cfg.policy_hash = "sha256:rev28-bindings2";
    cfg.ephemeral_store = true;
    cfg.log_level = CHIO_LOG_ERROR;
    return chio::kernel(std::move(cfg));
}

// evaluate.h: chio_kernel_is_revoked answers 1 (revoked), 0 (not) or a
// negative code when it could not ask ("never test for nonzero"). A kernel
// drained before it ever started answers CHIO_EDRAINED. Before: the binding
// tested `!= 0` and reported such a capability as revoked, hiding the code.
void test_is_revoked_unanswered_throws()
{
    chio::kernel k = ephemeral_kernel();
    k.drain(); // never started
    int code = 0;
    try {
        bool revoked = k.is_revoked("cap-never-revoked");
        std::fprintf(stderr, "is_revoked answered %d\n", revoked ? 1 : 0);
    } catch (const chio::error &e) {
        code = e.code();
    }
    CHECK(code == CHIO_EDRAINED);

    chio::kernel live = ephemeral_kernel();
    live.revoke("cap-r");
    CHECK(live.is_revoked("cap-r"));
    CHECK(!live.is_revoked("cap-other"));
}

// README: every kernel method on an empty (moved-from) kernel throws
// chio::error(CHIO_EINVAL). Before: public_hex() returned "", which a host
// could pass on as the key to trust or pin.
void test_moved_from_kernel_public_hex_throws()
{
    chio::kernel k = ephemeral_kernel();
    const std::string key = k.public_hex();
    CHECK(key.size() == 64);
    chio::kernel moved = std::move(k);
    CHECK(moved.public_hex() == key);
    int code = 0;
    try {
        std::string empty = k.public_hex(); // NOLINT(bugprone-use-after-move): the point
        std::fprintf(stderr, "public_hex of a moved-from kernel: '%s'\n", empty.c_str());
    } catch (const chio::error &e) {
        code = e.code();
    }
    CHECK(code == CHIO_EINVAL);
}

// An exception type whose copy can throw ends in std::terminate when it is
// caught by value or copied into an exception_ptr under memory pressure.
// Before: chio::error held its message in a std::string member, so its copy
// constructor could throw (this file did not compile).
static_assert(std::is_nothrow_copy_constructible_v<chio::error>,
              "chio::error must copy without throwing");
static_assert(std::is_nothrow_copy_assignable_v<chio::error>,
              "chio::error must copy-assign without throwing");

void test_error_copies_keep_fields()
{
    const chio::error e(CHIO_ENOSESSION, "no such session", 7);
    chio::error copy = e;
    CHECK(copy.code() == CHIO_ENOSESSION);
    CHECK(copy.message() == "no such session");
    CHECK(copy.offset() == 7);
    CHECK(std::string(copy.what()) == std::string(e.what()));
    std::exception_ptr p = std::make_exception_ptr(e);
    try {
        std::rethrow_exception(p);
    } catch (const chio::error &caught) {
        chio::error byval = caught;
        CHECK(byval.message() == "no such session");
        CHECK(std::string(byval.name()) == "CHIO_ENOSESSION");
    }
}

} // namespace

int main()
{
    try {
        test_is_revoked_unanswered_throws();
        test_error_copies_keep_fields();
        test_moved_from_kernel_public_hex_throws();
    } catch (const std::exception &e) {
        g_failures++;
        std::fprintf(stderr, "FAIL: uncaught exception: %s\n", e.what());
    }
    std::printf("test_rev28_bindings2: %d checks, %d failed\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}
