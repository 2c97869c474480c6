// SPDX-License-Identifier: Apache-2.0
//
// test_rev28_bindings2.cpp - review 28 (bindings2) regressions of
// bindings/cpp/chio.hpp: queries a host gates on fail closed and report
// libchio's code when it could not answer. Plain main(): prints every
// failed check and exits nonzero when any failed.

#include "chio.hpp"

#include <cstdio>
#include <string>

namespace {

int g_failures = 0;
int g_checks = 0;

#define CHECK(cond)                                                              \
    do {                                                                         \
        g_checks++;                                                              \
        if (!(cond)) {                                                           \
            g_failures++;                                                        \
            std::fprintf(stderr, "FAIL %s:%d: CHECK(%s)\n", __FILE__, __LINE__, #cond); \
        }                                                                        \
    } while (0)

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

} // namespace

int main()
{
    try {
        test_is_revoked_unanswered_throws();
    } catch (const std::exception &e) {
        g_failures++;
        std::fprintf(stderr, "FAIL: uncaught exception: %s\n", e.what());
    }
    std::printf("test_rev28_bindings2: %d checks, %d failed\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}
