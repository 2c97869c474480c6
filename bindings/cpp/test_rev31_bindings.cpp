// SPDX-License-Identifier: Apache-2.0
//
// test_rev31_bindings.cpp - review 31 regressions of bindings/cpp/chio.hpp:
// a guard that returns a default-constructed guard_result (`return {};`,
// `chio::guard_result{}`) denies, as a C guard that leaves its verdict
// unset does. Before, the default was `passed = true`: a guard that forgot
// to decide allowed the call. Plain main(): prints every failed check and
// exits nonzero when any failed.

#include "chio.hpp"
#include "test_check.hpp"

#include <cstdio>
#include <string>

namespace
{

const char *const SEED = "0707070707070707070707070707070707070707070707070707070707070707";
const char *const AGENT_SEED = "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c";
const char *const SCOPE =
    R"({"grants":[{"server_id":"srv","tool_name":"*","operations":["invoke"]}]})";

// One call through a kernel whose only guard is @guard; the response.
chio::response call_under(const chio::guard_fn &guard, int *tool_runs)
{
    chio::kernel::config cfg;
    cfg.keypair = chio::keypair::from_seed_hex(SEED);
    cfg.policy_hash = "sha256:rev31-bindings";
    cfg.ephemeral_store = true;
    cfg.log_level = CHIO_LOG_ERROR;
    chio::kernel k(std::move(cfg));
    k.register_tool_server("srv", {"echo"},
                           [tool_runs](const std::string &, const std::string &args) {
                               ++*tool_runs;
                               return args;
                           });
    k.add_guard("forgetful", guard);
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

void test_a_default_guard_result_denies()
{
    const chio::guard_fn forms[] = {
        [](const chio::guard_input &) { return chio::guard_result{}; },
        [](const chio::guard_input &) -> chio::guard_result { return {}; },
        [](const chio::guard_input &) {
            chio::guard_result r;
            r.details = "decided nothing";
            return r;
        },
    };
    for (const chio::guard_fn &g : forms) {
        int runs = 0;
        chio::response r = call_under(g, &runs);
        CHECK(r.verdict() == chio::verdict::deny);
        CHECK(r.code_name() == "guard_denied");
        CHECK(runs == 0);
    }
}

// The named constructors still mean what they say.
void test_pass_and_deny_are_unchanged()
{
    int runs = 0;
    chio::response r =
        call_under([](const chio::guard_input &) { return chio::guard_result::pass(); }, &runs);
    CHECK(r.verdict() == chio::verdict::allow);
    CHECK(runs == 1);
    runs = 0;
    r = call_under([](const chio::guard_input &) { return chio::guard_result::deny("no"); }, &runs);
    CHECK(r.verdict() == chio::verdict::deny);
    CHECK(runs == 0);
}

} // namespace

// Review 32: secret patterns are checked the way the kernel reads them.
static void test_secret_patterns_are_checked()
{
    chio::kernel::check_secret_pattern("\\bAKIA[0-9A-Z]{16}\\b"); // must not throw
    for (const char *bad : {"(a)\\1", "\\d{4}", "x{1,9000}", "[a-"}) {
        bool threw = false;
        try {
            chio::kernel::check_secret_pattern(bad);
        } catch (const chio::error &e) {
            threw = e.code() == CHIO_EINVAL && !e.message().empty();
        }
        CHECK(threw);
    }
}

// Session 33: regex_match patterns are checked as the kernel reads them.
static void test_regex_constraints_are_checked()
{
    chio::kernel::check_regex_constraint("^(?:ab)+$"); // must not throw
    for (const char *bad : {"(", "^\\d+$", "x{1,32767}", "(?i)abc"}) {
        bool threw = false;
        try {
            chio::kernel::check_regex_constraint(bad);
        } catch (const chio::error &e) {
            threw = e.code() == CHIO_EINVAL && !e.message().empty();
        }
        CHECK(threw);
    }
}

int main()
{
    test_a_default_guard_result_denies();
    test_regex_constraints_are_checked();
    test_pass_and_deny_are_unchanged();
    test_secret_patterns_are_checked();
    std::printf("test_rev31_bindings: %d checks, %d failed\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}
