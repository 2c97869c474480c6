// SPDX-License-Identifier: Apache-2.0
//
// test_rev30_bindings.cpp - review 30 (bindings) regressions of
// bindings/cpp/chio.hpp: a C++ guard's details and a throwing tool's what()
// reach libchio whole, so libchio's secret scan sees all of them and the
// receipt keeps what libchio keeps (the binding no longer cuts them first).
// Plain main():
// prints every failed check and exits nonzero when any failed.

#include "chio.hpp"
#include "test_check.hpp"

#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>

namespace {

const char *const SEED = "0707070707070707070707070707070707070707070707070707070707070707";
const char *const AGENT_SEED = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b";
const char *const SCOPE = R"({"grants":[{"server_id":"srv","tool_name":"*","operations":["invoke"]}]})";

// A kernel with an echo tool and one C++ guard that denies with @details
// (after a secret_leak guard for AWS key ids when @secret_guard); evaluates
// one call and returns the decision.
chio::response deny_with_details(const std::string &details, bool secret_guard = false)
{
    chio::kernel::config cfg;
    cfg.keypair = chio::keypair::from_seed_hex(SEED);
    cfg.policy_hash = "sha256:rev30-bindings";
    cfg.ephemeral_store = true;
    cfg.log_level = CHIO_LOG_ERROR;
    chio::kernel k(std::move(cfg));
    k.register_tool_server("srv", {"echo"},
                           [](const std::string &, const std::string &args) { return args; });
    if (secret_guard)
        k.add_secret_leak_guard("secrets", {"AKIA[0-9A-Z]{16}"});
    k.add_guard("evidence", [details](const chio::guard_input &) {
        return chio::guard_result::deny(details);
    });
    chio::keypair agent = chio::keypair::from_seed_hex(AGENT_SEED);
    chio::capability cap = k.issue_capability(agent.public_hex(), SCOPE, 3600);
    chio::call c;
    c.session_id = k.open_session(agent.public_hex(), cap);
    c.capability_id = cap.id();
    c.server_id = "srv";
    c.tool_name = "echo";
    chio::response r = k.evaluate(c);
    CHECK(r.receipt().verify({k.public_hex()}).ok);
    return r;
}

// libchio keeps up to 511 bytes of a guard's details as the receipt's
// evidence and repairs a character a cut splits (kernel/request.c), also in
// the deny reason (kernel/decision.c). Before: the binding cut every
// guard's details to 380 bytes first (a workaround for libchio 0.1.0), so
// the signed evidence lost everything past byte 380.
void test_guard_evidence_is_not_cut_at_380_bytes()
{
    const std::string details = std::string(300, 'a') + std::string(150, 'b'); // 450 bytes
    chio::response r = deny_with_details(details);
    CHECK(r.verdict() == chio::verdict::deny);
    CHECK(r.code_name() == "guard_denied");
    const std::string json(r.receipt().json());
    CHECK(json.find("\"details\":\"" + details + "\"") != std::string::npos);
}

// chio_output_set_error scans a tool's whole error text for secrets before
// it keeps 255 bytes (evaluate.h, kernel/dispatch.c). Before: the binding
// cut what() to 255 bytes first, so a key id straddling byte 255 reached
// libchio as a prefix the pattern no longer matched, and its first half
// was signed into the receipt's reason.
void test_secret_in_a_long_tool_error_is_withheld()
{
    chio::kernel::config cfg;
    cfg.keypair = chio::keypair::from_seed_hex(SEED);
    cfg.policy_hash = "sha256:rev30-bindings";
    cfg.ephemeral_store = true;
    cfg.log_level = CHIO_LOG_ERROR;
    chio::kernel k(std::move(cfg));
    k.register_tool_server("srv", {"fail"}, [](const std::string &, const std::string &) -> std::string {
        throw std::runtime_error(std::string(245, 'x') + "AKIAABCDEFGHIJKLMNOP"); // bytes 245..265
    });
    k.add_secret_leak_guard("secrets", {"AKIA[0-9A-Z]{16}"});
    chio::keypair agent = chio::keypair::from_seed_hex(AGENT_SEED);
    chio::capability cap = k.issue_capability(agent.public_hex(), SCOPE, 3600);
    chio::call c;
    c.session_id = k.open_session(agent.public_hex(), cap);
    c.capability_id = cap.id();
    c.server_id = "srv";
    c.tool_name = "fail";
    chio::response r = k.evaluate(c);
    CHECK(r.verdict() == chio::verdict::deny);
    CHECK(r.code_name() == "tool_error");
    CHECK(r.reason().find("AKIAABCDEF") == std::string::npos);
    CHECK(r.reason().find("withheld") != std::string::npos);
    CHECK(std::string(r.receipt().json()).find("AKIAABCDEF") == std::string::npos);
    CHECK(r.receipt().verify({k.public_hex()}).ok);
}

// Multi-byte details past libchio's cut still end in a deny with a signed
// receipt (libchio cuts them on a character boundary itself).
void test_long_multibyte_guard_evidence_keeps_its_receipt()
{
    std::string details;
    for (int i = 0; i < 400; i++)
        details += "\xc3\xa9"; // U+00E9, 800 bytes
    chio::response r = deny_with_details(details);
    CHECK(r.verdict() == chio::verdict::deny);
    CHECK(r.code_name() == "guard_denied");
    const std::string json(r.receipt().json());
    // 255 whole characters (510 bytes) fit in the 511 bytes libchio keeps;
    // it marks the cut-off half of the next one with '?'.
    CHECK(json.find("\"details\":\"" + details.substr(0, 510) + "?\"") != std::string::npos);
}

// libchio scans a host guard's whole details for secrets before it cuts
// them (kernel/request.c) and withholds them when a secret_leak guard
// flags them. Before: the binding cut the details at byte 380 first, so a
// key id straddling that byte reached libchio as a prefix the pattern no
// longer matched, and its first half was signed into the receipt.
void test_secret_across_the_old_cut_is_withheld()
{
    const std::string secret = "AKIAABCDEFGHIJKLMNOP";
    const std::string details = std::string(370, 'x') + secret; // crosses byte 380
    chio::response r = deny_with_details(details, true);
    CHECK(r.verdict() == chio::verdict::deny);
    CHECK(r.code_name() == "guard_denied");
    const std::string json(r.receipt().json());
    CHECK(json.find("AKIAABCDEF") == std::string::npos);
    CHECK(json.find("details withheld") != std::string::npos);
}

} // namespace

int main()
{
    try {
        test_guard_evidence_is_not_cut_at_380_bytes();
        test_long_multibyte_guard_evidence_keeps_its_receipt();
        test_secret_across_the_old_cut_is_withheld();
        test_secret_in_a_long_tool_error_is_withheld();
    } catch (const std::exception &e) {
        g_failures++;
        std::fprintf(stderr, "FAIL: uncaught exception: %s\n", e.what());
    }
    std::printf("test_rev30_bindings: %d checks, %d failed\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}
